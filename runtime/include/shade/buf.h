/*
 * shade/buf.h - shade_buf, the growable byte buffer encoders write into.
 *
 * Part of the base layer: it needs nothing but talloc and the status
 * codes.  shade/cbor.h includes it, so CBOR users see it as before.
 */
#ifndef SHADE_BUF_H
#define SHADE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growable byte buffer.  The bytes belong to the buffer: the first
 * `cap` given to shade_buf_new() share its allocation, grown storage is
 * a talloc child of it; shade_buf_steal() hands them over as a talloc
 * block of their own.  Errors are sticky: after an allocation failure
 * every append is a no-op, `status` stays SHADE_ERR_NOMEM, so a writer
 * may check once at the end.  The buffers the runtime sends its messages
 * from may reference large strings instead of copying them (`refs`);
 * a buffer from shade_buf_new() never does. */
typedef struct shade_buf {
	uint8_t *data;       /* bytes (owned by this struct, see above) */
	size_t len;          /* bytes written */
	size_t cap;          /* bytes allocated */
	shade_status status; /* SHADE_OK, or the first failure (sticky) */
	struct shade_buf_refs *refs; /* strings referenced, or NULL */
} shade_buf;

/* A new empty buffer on mem_ctx with cap bytes preallocated (0 is
 * fine); NULL when out of memory. */
SHADE_API shade_buf *shade_buf_new(TALLOC_CTX *mem_ctx, size_t cap);

/* Make room for n more bytes; returns a pointer to them (len unchanged)
 * or NULL when out of memory.  Valid until the next growth. */
SHADE_API uint8_t *shade_buf_reserve(shade_buf *b, size_t n);

/* Append n uninitialised bytes and return a pointer to them, or NULL. */
SHADE_API uint8_t *shade_buf_grow(shade_buf *b, size_t n);

/* Append n bytes from p. */
SHADE_API shade_status shade_buf_append(shade_buf *b, const void *p,
					size_t n);

/* Forget the contents (and a sticky error), keep the allocation; a
 * buffer of the runtime's that referenced strings takes no more. */
SHADE_API void shade_buf_reset(shade_buf *b);

/* Hand the bytes over: returns the data block moved onto mem_ctx (len
 * in *len) and leaves b empty.  NULL when b is in error or empty. */
SHADE_API uint8_t *shade_buf_steal(TALLOC_CTX *mem_ctx, shade_buf *b,
				   size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_BUF_H */
