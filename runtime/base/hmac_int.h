/*
 * hmac_int.h - SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104), a
 * comparison whose time does not depend on the bytes compared, and
 * random bytes from the kernel (getrandom(2)): what the authentication
 * of doc/security.md needs, in the runtime's own code so that plain
 * transports depend on no crypto library (doc/security.md says why).
 */
#ifndef SHADE_HMAC_INT_H
#define SHADE_HMAC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shade/visibility.h"

/* Bytes of a SHA-256 digest (and of an HMAC-SHA-256 tag). */
#define SHA256_LEN 32
/* Bytes of a SHA-256 block. */
#define SHA256_BLOCK 64

/* A running SHA-256. */
struct sha256 {
	uint32_t h[8];               /* chaining state */
	uint64_t bytes;              /* message bytes so far */
	uint8_t buf[SHA256_BLOCK];   /* partial block */
	size_t n;                    /* bytes in buf */
};

/* A running HMAC-SHA-256: the inner hash and the outer key block. */
struct hmac_sha256 {
	struct sha256 inner;         /* H((K ^ ipad) || message ...) */
	uint8_t opad[SHA256_BLOCK];  /* K ^ opad */
};

/* Start a SHA-256. */
SHADE_INTERNAL void sha256_init(struct sha256 *s);

/* Hash n more bytes. */
SHADE_INTERNAL void sha256_update(struct sha256 *s, const void *p, size_t n);

/* Finish: the digest into out (s is wiped). */
SHADE_INTERNAL void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* Start an HMAC-SHA-256 with key (any length). */
SHADE_INTERNAL void hmac_sha256_init(struct hmac_sha256 *h, const void *key,
				     size_t key_len);

/* Authenticate n more bytes. */
SHADE_INTERNAL void hmac_sha256_update(struct hmac_sha256 *h, const void *p,
				       size_t n);

/* Finish: the tag into out (h is wiped). */
SHADE_INTERNAL void hmac_sha256_final(struct hmac_sha256 *h,
				      uint8_t out[SHA256_LEN]);

/* HMAC-SHA-256 of one message in one call. */
SHADE_INTERNAL void hmac_sha256(const void *key, size_t key_len,
				const void *msg, size_t n,
				uint8_t out[SHA256_LEN]);

/* True when a and b (n bytes each) are equal; the time taken depends on
 * n only, never on where they differ. */
SHADE_INTERNAL bool ct_equal(const void *a, const void *b, size_t n);

/* Fill p with n random bytes from getrandom(2); false (errno set) when
 * the kernel gives none. */
SHADE_INTERNAL bool random_bytes(void *p, size_t n);

/* Overwrite n bytes at p with zeros in a way the compiler keeps. */
SHADE_INTERNAL void wipe(void *p, size_t n);

#endif /* SHADE_HMAC_INT_H */
