/*
 * shade/cbor.h - CBOR (RFC 8949) encoding and decoding.
 *
 * Two levels:
 *   - item level, for the protocol layer writing and reading messages one
 *     item at a time: shade_cbor_put_*() append to a shade_buf,
 *     shade_cbor_read_*() consume from a shade_cbor_dec cursor;
 *   - value level: shade_cbor_encode_value() / shade_cbor_decode_value()
 *     convert a whole shade_value.
 *
 * Value <-> CBOR mapping (part of the wire protocol; never change it):
 *   none   null (f6)               bool   false/true (f4/f5)
 *   int    major 0/1, int64 range  float  major 7 half/single/double
 *   str    text string             bytes  byte string
 *   tuple  array                   list   tag 203 wrapping an array
 *   dict   map                     ref    tag 200/201 (hooks, below)
 *   exc    tag 202 wrapping [name, message, args (array), chain (array of
 *          [side, type, member] text triples)]
 *
 * Encoding is deterministic (RFC 8949 §4.2.1 core rules, except that map
 * keys keep the dict's insertion order): shortest heads, definite lengths
 * only, floats in the shortest of half/single/double that holds the value
 * exactly, every NaN as f97e00.
 *
 * Decoding is strict but liberal in form:
 *   - non-minimal heads are accepted;
 *   - well-formed indefinite-length strings, arrays and maps are accepted
 *     (a string's chunks must be definite strings of the same major type,
 *     each text chunk valid UTF-8 by itself);
 *   - the cursor never reads past its buffer; every declared length is
 *     checked against the bytes left BEFORE anything is allocated (an
 *     array of n items needs at least n bytes, a map 2n);
 *   - failures, each with a message naming the byte offset:
 *       SHADE_ERR_TRUNCATED  input ends inside an item, or a declared
 *                            length exceeds the bytes left
 *       SHADE_ERR_MALFORMED  reserved additional info 28-30, a break
 *                            outside an indefinite item, a bad chunk in
 *                            an indefinite string, a two-byte simple
 *                            value below 32, a duplicate map key,
 *                            trailing bytes after a whole frame
 *       SHADE_ERR_UTF8       text that is not valid UTF-8
 *       SHADE_ERR_TOO_DEEP   nesting deeper than opts->max_depth
 *       SHADE_ERR_LIMIT      a string/array/map longer than opts->max_len,
 *                            more than opts->max_items items in all
 *       SHADE_ERR_OVERFLOW   an integer outside int64 (major 0/1 or a
 *                            tag 2/3 bignum)
 *       SHADE_ERR_TYPE       a map key that cannot be a dict key (list,
 *                            dict, ref, exc)
 *       SHADE_ERR_PROTOCOL   well-formed but outside the value model:
 *                            undefined and other simple values, tags
 *                            200/201 without a decode_ref hook, bad
 *                            content under tags 2, 3, 202, 203; at item
 *                            level: an item of another type than asked
 *       SHADE_ERR_NOMEM      out of memory
 *   - other tags are read through: the content is decoded, the tag
 *     dropped.
 */
#ifndef SHADE_CBOR_H
#define SHADE_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/buf.h"
#include "shade/error.h"
#include "shade/value.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tags shade gives meaning to. */
#define SHADE_CBOR_TAG_POS_BIGNUM 2        /* unsigned bignum (RFC 8949) */
#define SHADE_CBOR_TAG_NEG_BIGNUM 3        /* negative bignum (RFC 8949) */
#define SHADE_CBOR_TAG_SENDER_HOSTED 200   /* ref: an object I host */
#define SHADE_CBOR_TAG_RECEIVER_HOSTED 201 /* ref: an object you host */
#define SHADE_CBOR_TAG_EXCEPTION 202       /* [name, msg, args, chain] */
#define SHADE_CBOR_TAG_LIST 203            /* list snapshot: tag(array) */
#define SHADE_CBOR_TAG_VALUE_REF 205       /* typed: an earlier value */
#define SHADE_CBOR_TAG_PROMISE 206         /* ref: the result you keep for
					    * my request [rid, name...] */
/* Typed arrays (RFC 8746): tags 64-87 over a byte string of packed
 * numbers; the ones shade writes (opts->typed_arrays). */
#define SHADE_CBOR_TAG_TYPED_FIRST 64      /* uint8, the lowest */
#define SHADE_CBOR_TAG_SINT8 72            /* int8 */
#define SHADE_CBOR_TAG_SINT16LE 77         /* int16, little-endian */
#define SHADE_CBOR_TAG_SINT32LE 78         /* int32, little-endian */
#define SHADE_CBOR_TAG_SINT64LE 79         /* int64, little-endian */
#define SHADE_CBOR_TAG_FLOAT32LE 85        /* float, little-endian */
#define SHADE_CBOR_TAG_FLOAT64LE 86        /* double, little-endian */
#define SHADE_CBOR_TAG_TYPED_LAST 87       /* float128 LE, the highest */
/* Fewest items a tuple or list needs to be written as a typed array. */
#define SHADE_CBOR_TYPED_MIN 16
/* A text array (doc/protocol.md 7.5): tag 204 over [lengths, texts],
 * a byte string of one length (0-255) a string and a text string of the
 * strings end to end; the same value as the array of those strings. */
#define SHADE_CBOR_TAG_TEXTS 204
/* Longest string a text array holds (its lengths are single bytes). */
#define SHADE_CBOR_TEXTS_MAX 255

/* CBOR major types (the top 3 bits of the initial byte). */
typedef enum shade_cbor_major {
	SHADE_CBOR_UINT = 0,   /* unsigned integer */
	SHADE_CBOR_NINT = 1,   /* negative integer -1-n */
	SHADE_CBOR_BYTES = 2,  /* byte string */
	SHADE_CBOR_TEXT = 3,   /* text string */
	SHADE_CBOR_ARRAY = 4,  /* array */
	SHADE_CBOR_MAP = 5,    /* map */
	SHADE_CBOR_TAG = 6,    /* tag */
	SHADE_CBOR_SIMPLE = 7  /* simple values, floats, break */
} shade_cbor_major;

/* Length returned for an indefinite-length array or map head. */
#define SHADE_CBOR_INDEFINITE UINT64_MAX

/* Defaults used when an option is 0. */
#define SHADE_CBOR_DEFAULT_MAX_DEPTH 64u          /* nesting levels */
#define SHADE_CBOR_DEFAULT_MAX_LEN ((uint64_t)1 << 31) /* per item */

/* ------------------------------------------------------------ hooks */

struct shade_cbor_dec;

/* How references cross the wire; the connection layer supplies them. */
typedef struct shade_cbor_hooks {
	/* Encode the SHADE_REF value's ref as exactly one item (normally
	 * tag 200 or 201 and its content).  NULL: refs are refused with
	 * SHADE_ERR_TYPE. */
	shade_status (*encode_ref)(void *udata, shade_buf *b,
				   struct shade_ref *ref, shade_error **err);
	/* Decode a reference.  Called after tag `tag` (200 or 201) has been
	 * read; must consume exactly the tag's content item from d and set
	 * *out to a ref carrying one holder count, which the decoded value
	 * takes over.  mem_ctx is the decode's temporary context.  NULL:
	 * tags 200/201 are refused with SHADE_ERR_PROTOCOL. */
	shade_status (*decode_ref)(void *udata, TALLOC_CTX *mem_ctx,
				   uint64_t tag, struct shade_cbor_dec *d,
				   struct shade_ref **out, shade_error **err);
	void *udata; /* passed to both functions */
} shade_cbor_hooks;

/* Options for the value-level functions.  All-zero (or a NULL pointer)
 * means the defaults. */
typedef struct shade_cbor_opts {
	unsigned max_depth;   /* nesting limit; 0: 64 (both directions) */
	uint64_t max_len;     /* longest string (bytes) / array / map
			       * (items) decoded; 0: 2^31 */
	uint64_t max_items;   /* total data items in one decode; 0: none */
	bool zero_copy;       /* decoded str/bytes borrow from the input
			       * (SHADE_VF_BORROWED); the caller keeps the
			       * input alive as long as the value */
	const shade_cbor_hooks *hooks; /* reference hooks, or NULL */
	/* Encoding: when set, a list or dict not marked SHADE_VF_BYVALUE is
	 * written by this function (udata: hooks->udata) as one item, a
	 * reference, instead of as a snapshot; exceptions' arguments and
	 * marked values stay snapshots.  NULL: every list and dict by value
	 * (the default).  The connection supplies it (doc/api.md, "Copy
	 * rules"). */
	shade_status (*share)(void *udata, shade_buf *b, const shade_value *v,
			      shade_error **err);
	/* Encoding: when set, a tuple or list of SHADE_CBOR_TYPED_MIN items
	 * or more that are all ints (or all floats) is written as an RFC
	 * 8746 typed array (doc/protocol.md 7.4): the narrowest of int8,
	 * int16, int32, int64 little-endian that holds every item, or
	 * of float32, float64 little-endian that holds every float
	 * exactly.  Only for a peer that reads them (the
	 * connection sets it from HELLO feature 32; read atomically).
	 * Decoding always accepts typed arrays. */
	bool typed_arrays;
	/* Encoding: when set, a tuple or list of SHADE_CBOR_TYPED_MIN items
	 * or more that are all strs of at most SHADE_CBOR_TEXTS_MAX bytes
	 * is written as a text array (SHADE_CBOR_TAG_TEXTS, doc/protocol.md
	 * 7.5).  Only for a peer that reads them (the connection sets it
	 * from HELLO feature 128; read atomically).  Decoding always
	 * accepts text arrays. */
	bool text_arrays;
} shade_cbor_opts;

/* ------------------------------------------------------------ encoding
 *
 * The put functions return b->status after the write (SHADE_OK or
 * SHADE_ERR_NOMEM); the failure is also sticky in b.
 */

/* A head: major type and argument, in the shortest form. */
SHADE_API shade_status shade_cbor_put_head(shade_buf *b,
					   shade_cbor_major major,
					   uint64_t arg);
/* An unsigned integer (major 0). */
SHADE_API shade_status shade_cbor_put_uint(shade_buf *b, uint64_t u);
/* The negative integer -1-n (major 1). */
SHADE_API shade_status shade_cbor_put_nint(shade_buf *b, uint64_t n);
/* A signed integer (major 0 or 1). */
SHADE_API shade_status shade_cbor_put_int(shade_buf *b, int64_t i);
/* A byte string. */
SHADE_API shade_status shade_cbor_put_bytes(shade_buf *b, const void *p,
					    size_t len);
/* A text string of len bytes; s must be valid UTF-8 (not checked). */
SHADE_API shade_status shade_cbor_put_text(shade_buf *b, const char *s,
					   size_t len);
/* A text string from a NUL-terminated UTF-8 C string (not checked). */
SHADE_API shade_status shade_cbor_put_cstr(shade_buf *b, const char *s);
/* An array head announcing n items. */
SHADE_API shade_status shade_cbor_put_array(shade_buf *b, uint64_t n);
/* A map head announcing n pairs. */
SHADE_API shade_status shade_cbor_put_map(shade_buf *b, uint64_t n);
/* A tag head; the tagged item follows. */
SHADE_API shade_status shade_cbor_put_tag(shade_buf *b, uint64_t tag);
/* A simple value (0-19 or 32-255; 20-23 are false/true/null/undefined).
 * Values 24-31 are refused with SHADE_ERR_INVALID (nothing written). */
SHADE_API shade_status shade_cbor_put_simple(shade_buf *b, uint8_t simple);
/* false / true. */
SHADE_API shade_status shade_cbor_put_bool(shade_buf *b, bool v);
/* null. */
SHADE_API shade_status shade_cbor_put_null(shade_buf *b);
/* A float in the shortest exact width; NaN as f97e00. */
SHADE_API shade_status shade_cbor_put_float(shade_buf *b, double f);

/* Append v as one CBOR item.  Fails with SHADE_ERR_TYPE for a ref
 * without an encode_ref hook, SHADE_ERR_TOO_DEEP past opts->max_depth,
 * SHADE_ERR_NOMEM; on failure b may hold a partial item (reset it or
 * truncate b->len back). */
SHADE_API shade_status shade_cbor_encode_value(shade_buf *b,
					       const shade_value *v,
					       const shade_cbor_opts *opts,
					       shade_error **err);

/* Encode v alone into a new talloc byte array on mem_ctx (length in
 * *len).  NULL on failure (*err says why). */
SHADE_API uint8_t *shade_cbor_encode(TALLOC_CTX *mem_ctx,
				     const shade_value *v,
				     const shade_cbor_opts *opts, size_t *len,
				     shade_error **err);

/* ------------------------------------------------------------ decoding */

/* A read cursor over a caller-owned buffer. */
typedef struct shade_cbor_dec {
	const uint8_t *buf; /* start of the input (not owned) */
	size_t len;         /* input length in bytes */
	size_t pos;         /* offset of the next unread byte */
	unsigned depth;     /* nesting of skip/decode in progress */
} shade_cbor_dec;

/* Start reading len bytes at buf (buf may be NULL when len is 0). */
SHADE_API void shade_cbor_dec_init(shade_cbor_dec *d, const void *buf,
				   size_t len);

/* Bytes not yet read. */
static inline size_t shade_cbor_dec_remaining(const shade_cbor_dec *d)
{
	return d->len - d->pos;
}

/* True when every byte has been read. */
static inline bool shade_cbor_dec_done(const shade_cbor_dec *d)
{
	return d->pos >= d->len;
}

/* The major type of the next item (without consuming it).
 * SHADE_ERR_TRUNCATED at the end of input. */
SHADE_API shade_status shade_cbor_peek(const shade_cbor_dec *d,
				       shade_cbor_major *major,
				       shade_error **err);

/* True when the next byte is a break (0xff). */
SHADE_API bool shade_cbor_at_break(const shade_cbor_dec *d);

/* True when the next item is null (f6). */
SHADE_API bool shade_cbor_at_null(const shade_cbor_dec *d);

/* Read a head: major type and argument (the length, value, tag number
 * or simple value; for major 7 the raw 8/16/32/64-bit float bits), and
 * whether it was indefinite (AI 31; *arg is then SHADE_CBOR_INDEFINITE;
 * for major 7 that is a break).  Refuses AI 28-30.  Does not check a
 * declared length against the input. */
SHADE_API shade_status shade_cbor_read_head(shade_cbor_dec *d,
					    shade_cbor_major *major,
					    uint64_t *arg, shade_error **err);

/* An unsigned integer (major 0 only). */
SHADE_API shade_status shade_cbor_read_uint(shade_cbor_dec *d, uint64_t *out,
					    shade_error **err);

/* An integer (major 0 or 1) in int64 range, else SHADE_ERR_OVERFLOW. */
SHADE_API shade_status shade_cbor_read_int(shade_cbor_dec *d, int64_t *out,
					   shade_error **err);

/* A definite text string: *s points INTO the input (not NUL-terminated),
 * validated UTF-8, *len bytes.  Indefinite strings: SHADE_ERR_PROTOCOL
 * (use shade_cbor_read_text_dup). */
SHADE_API shade_status shade_cbor_read_text(shade_cbor_dec *d, const char **s,
					    size_t *len, shade_error **err);

/* A text string (definite or indefinite) copied onto mem_ctx,
 * NUL-terminated; len may be NULL. */
SHADE_API shade_status shade_cbor_read_text_dup(TALLOC_CTX *mem_ctx,
						shade_cbor_dec *d, char **out,
						size_t *len,
						shade_error **err);

/* A definite byte string: *p points INTO the input. */
SHADE_API shade_status shade_cbor_read_bytes(shade_cbor_dec *d,
					     const uint8_t **p, size_t *len,
					     shade_error **err);

/* An array head: *n items, or SHADE_CBOR_INDEFINITE (items follow until
 * a break: see shade_cbor_at_break/read_break).  A definite n larger
 * than the bytes left is SHADE_ERR_TRUNCATED. */
SHADE_API shade_status shade_cbor_read_array(shade_cbor_dec *d, uint64_t *n,
					     shade_error **err);

/* A map head: *n pairs or SHADE_CBOR_INDEFINITE (2n bytes needed). */
SHADE_API shade_status shade_cbor_read_map(shade_cbor_dec *d, uint64_t *n,
					   shade_error **err);

/* A tag head: the tag number; the tagged item follows. */
SHADE_API shade_status shade_cbor_read_tag(shade_cbor_dec *d, uint64_t *tag,
					   shade_error **err);

/* A float (half, single or double) as a double. */
SHADE_API shade_status shade_cbor_read_float(shade_cbor_dec *d, double *out,
					     shade_error **err);

/* false / true. */
SHADE_API shade_status shade_cbor_read_bool(shade_cbor_dec *d, bool *out,
					    shade_error **err);

/* null. */
SHADE_API shade_status shade_cbor_read_null(shade_cbor_dec *d,
					    shade_error **err);

/* The break ending an indefinite item. */
SHADE_API shade_status shade_cbor_read_break(shade_cbor_dec *d,
					     shade_error **err);

/* Skip one whole item (any nesting), checking well-formedness and the
 * depth limit (max_depth 0: the default); text is not UTF-8 checked. */
SHADE_API shade_status shade_cbor_skip(shade_cbor_dec *d, unsigned max_depth,
				       shade_error **err);

/* Decode one item at the cursor into a new box on mem_ctx (*out) and
 * advance past it.  On failure *out is NULL, nothing is left allocated
 * and the cursor position is unspecified. */
SHADE_API shade_status shade_cbor_decode_value(TALLOC_CTX *mem_ctx,
					       shade_cbor_dec *d,
					       const shade_cbor_opts *opts,
					       shade_value **out,
					       shade_error **err);

/* Decode a whole frame: exactly one item filling buf[0..len-1];
 * trailing bytes are SHADE_ERR_MALFORMED. */
SHADE_API shade_status shade_cbor_decode(TALLOC_CTX *mem_ctx, const void *buf,
					 size_t len,
					 const shade_cbor_opts *opts,
					 shade_value **out, shade_error **err);

/* Decode a single hex string (whitespace ignored) into bytes on
 * mem_ctx; NULL when not hex.  A helper for tests and tools. */
SHADE_API uint8_t *shade_hex_decode(TALLOC_CTX *mem_ctx, const char *hex,
				    size_t *len);

/* Lowercase hex of len bytes on mem_ctx; NULL when out of memory. */
SHADE_API char *shade_hex_encode(TALLOC_CTX *mem_ctx, const void *p,
				 size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_CBOR_H */
