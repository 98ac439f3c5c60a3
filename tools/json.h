/*
 * tools/json.h - a small, strict JSON reader and writer for shade values
 * (RFC 8259), used by the shade command line tool.
 *
 * Mapping: null, true/false, integers that fit int64 (others, and numbers
 * with a fraction or exponent, are floats), strings (valid UTF-8, \u
 * escapes with surrogate pairs), arrays as lists, objects as dicts with
 * string keys.  Two objects of one member carry the kinds JSON lacks:
 * {"$bytes": "00ff"} (hex) for bytes, and on output only {"$ref":
 * "demo.Calc"} for a reference and {"$error": "KeyError", "message":
 * "..."} for an exception.  Tuples print as arrays.
 *
 * The reader refuses anything else: trailing text, leading zeros, bare
 * words, control characters in strings, lone surrogates, nesting past
 * JSON_MAX_DEPTH, duplicate keys; errors name the byte offset.
 */
#ifndef SHADE_TOOLS_JSON_H
#define SHADE_TOOLS_JSON_H

#include <stddef.h>

#include <talloc.h>

#include "shade/value.h"

/* Deepest nesting the reader accepts. */
#define JSON_MAX_DEPTH 64

/* Parse the len bytes at text as one JSON value into *out (a box on
 * mem_ctx).  SHADE_ERR_VALUE with "offset N: what" when it is not JSON. */
shade_status json_parse(TALLOC_CTX *mem_ctx, const char *text, size_t len,
			shade_value **out, shade_error **err);

/* Parse the len bytes at text as one value in CBOR diagnostic notation
 * (RFC 8949 section 8) into *out: numbers, strings and null/true/false
 * as in JSON, plus NaN, Infinity, -Infinity, h'00ff' (bytes), [..] (a
 * tuple), 203([..]) (a list), {k: v} with keys of any hashable kind.
 * The same strictness and errors as json_parse(). */
shade_status diag_parse(TALLOC_CTX *mem_ctx, const char *text, size_t len,
			shade_value **out, shade_error **err);

/* v as JSON text on mem_ctx (indent > 0: pretty, that many spaces per
 * level; 0: one line).  NULL with *err set when v holds something JSON
 * cannot carry (a float that is not finite, a dict key that is not a
 * string: SHADE_ERR_VALUE) or out of memory. */
char *json_format(TALLOC_CTX *mem_ctx, const shade_value *v, int indent,
		  shade_error **err);

#endif /* SHADE_TOOLS_JSON_H */
