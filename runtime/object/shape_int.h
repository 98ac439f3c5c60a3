/*
 * shape_int.h - shape helpers shared inside the runtime.
 */
#ifndef SHADE_SHAPE_INT_H
#define SHADE_SHAPE_INT_H

#include "shade/cbor.h"
#include "shade/shape.h"

/* Append the canonical CBOR array of d to b (no checks). */
SHADE_INTERNAL shade_status shape_encode(shade_buf *b,
					 const shade_shape_desc *d);

/* Decode a shape description array at d into a new descriptor on mem_ctx
 * (every string below it), fingerprint computed from the bytes read.
 * SHADE_ERR_PROTOCOL for anything that is not a valid description. */
SHADE_INTERNAL shade_status shape_decode(void *mem_ctx, shade_cbor_dec *d,
					 shade_shape_desc **out,
					 shade_error **err);

/* FNV-1a 64 of len bytes. */
SHADE_INTERNAL uint64_t shape_fnv1a(const uint8_t *p, size_t len);

/* True for the fingerprints of the built-in shapes. */
SHADE_INTERNAL bool shape_is_builtin(uint64_t fp);

/* The built-in shape with fingerprint fp, or NULL. */
SHADE_INTERNAL const shade_shape_desc *shape_builtin(uint64_t fp);

#endif /* SHADE_SHAPE_INT_H */
