/*
 * refs_int.h - references across a connection (refs.c): the codec hooks,
 * export lookups and RELEASE.
 */
#ifndef SHADE_REFS_INT_H
#define SHADE_REFS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shade/cbor.h"
#include "shade/error.h"
#include "shade/visibility.h"

struct shade_conn;
struct shade_ref;
struct msg;

/* The frame a thread is serving and how many of its tag-200 references
 * the codec has counted (each becomes a count on a proxy, given back
 * when the proxy goes); set by the server around one request. */
struct refs_tally {
	const uint8_t *buf;       /* the frame being served */
	size_t n;                 /* tag-200 items decoded from it */
	struct refs_tally *up;    /* the request served further out */
};

/* The tally of the request this thread serves innermost, or NULL. */
SHADE_INTERNAL extern _Thread_local struct refs_tally *refs_tally;

/* Install the reference hooks in c's codec options (udata: c). */
SHADE_INTERNAL void refs_init(struct shade_conn *c);

/* Read an export id at d and find that export's object (retained) in
 * *out; `code` (NotFound for targets, ProtocolError for tag 201) when
 * there is none. */
SHADE_INTERNAL shade_status refs_read_export(struct shade_conn *c,
					     shade_cbor_dec *d,
					     shade_status code,
					     struct shade_ref **out,
					     shade_error **err);

/* Apply a RELEASE message m: subtract counts; drop exports reaching
 * zero (their objects released after mu). */
SHADE_INTERNAL void refs_apply_release(struct shade_conn *c, struct msg *m);

/* A received message that is dropped, refused or only partly decoded
 * (buf, len: its whole payload): queue a RELEASE of one count for every
 * tag-200 reference in it after the first `skip` (those the codec
 * counted, in byte order), so the peer does not hold the objects until
 * the connection ends (doc/protocol.md §6.2).  Takes mu. */
SHADE_INTERNAL void refs_drop(struct shade_conn *c, const uint8_t *buf,
			      size_t len, size_t skip);

/* True when buf[0, len) may hold a tag-200 reference: false only when it
 * surely holds none (well-formed items, no tag 200 among their heads). */
SHADE_INTERNAL bool refs_present(const uint8_t *buf, size_t len);

#endif /* SHADE_REFS_INT_H */
