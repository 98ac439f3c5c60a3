/*
 * fuzz_cbor.c - the CBOR value decoder and encoder.
 *
 * Input: one CBOR item, as a frame payload.
 *
 * 1. shade_cbor_decode() with the default limits.  On success:
 *    - shade_cbor_skip() accepts the same bytes and stops at their end;
 *    - the value encodes, the encoding decodes to an equal value, and
 *      encoding that again gives the same bytes (deterministic encoding);
 *    - copy, equality, hashing and diagnostic notation work on it.
 *    On failure the status is one of the decoder's documented codes and
 *    comes with an error object naming it.
 * 2. The same bytes again, zero-copy and with tight limits (depth 8,
 *    64 items, strings of 256 bytes): success there implies success with
 *    the defaults, to an equal value.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/value.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True for the codes the decoder documents. */
static bool fc_decode_code(shade_status st)
{
	switch (st) {
	case SHADE_ERR_TRUNCATED:
	case SHADE_ERR_MALFORMED:
	case SHADE_ERR_UTF8:
	case SHADE_ERR_TOO_DEEP:
	case SHADE_ERR_LIMIT:
	case SHADE_ERR_OVERFLOW:
	case SHADE_ERR_TYPE:
	case SHADE_ERR_PROTOCOL:
	case SHADE_ERR_NOMEM:
		return true;
	default:
		return false;
	}
}

/* Decode with opts; check the failure's shape.  Returns the status. */
static shade_status fc_decode(TALLOC_CTX *ctx, const uint8_t *data,
			      size_t size, const shade_cbor_opts *opts,
			      shade_value **out)
{
	shade_error *e = NULL;
	shade_status st;

	*out = NULL;
	st = shade_cbor_decode(ctx, data, size, opts, out, &e);
	if (st == SHADE_OK) {
		FUZZ_CHECK(*out != NULL && e == NULL);
	} else {
		FUZZ_CHECK(*out == NULL);
		FUZZ_CHECK(fc_decode_code(st));
		FUZZ_CHECK(e != NULL && e->code == st && e->message != NULL);
		shade_error_free(e);
	}
	return st;
}

/* Round-trip v through the encoder and check the results. */
static void fc_roundtrip(TALLOC_CTX *ctx, const shade_value *v)
{
	uint8_t *enc, *enc2;
	size_t len = 0, len2 = 0;
	shade_value *back = NULL, *copy;
	shade_error *e = NULL;
	char *diag;

	enc = shade_cbor_encode(ctx, v, NULL, &len, &e);
	FUZZ_CHECK(enc != NULL && e == NULL);
	FUZZ_CHECK(shade_cbor_decode(ctx, enc, len, NULL, &back, &e) ==
		   SHADE_OK);
	FUZZ_CHECK(shade_value_equal(v, back));
	enc2 = shade_cbor_encode(ctx, back, NULL, &len2, &e);
	FUZZ_CHECK(enc2 != NULL);
	FUZZ_CHECK(len2 == len && memcmp(enc, enc2, len) == 0);

	copy = shade_value_copy(ctx, v);
	FUZZ_CHECK(copy != NULL && shade_value_equal(v, copy));
	if (shade_value_is_hashable(v))
		FUZZ_CHECK(shade_value_is_hashable(copy) &&
			   shade_value_hash(v) == shade_value_hash(back));
	diag = shade_value_diag(ctx, v);
	FUZZ_CHECK(diag != NULL);
	talloc_free(diag);
	talloc_free(copy);
	talloc_free(enc2);
	talloc_free(back);
	talloc_free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_cbor_opts tight;
	shade_value *v = NULL, *w = NULL;
	shade_cbor_dec d;
	shade_status st, st2, sk;

	if (ctx == NULL)
		return 0;
	st = fc_decode(ctx, data, size, NULL, &v);

	shade_cbor_dec_init(&d, data, size);
	sk = shade_cbor_skip(&d, 0, NULL);
	if (st == SHADE_OK) {
		FUZZ_CHECK(sk == SHADE_OK && d.pos == size);
		fc_roundtrip(ctx, v);
	}

	memset(&tight, 0, sizeof(tight));
	tight.max_depth = 8;
	tight.max_len = 256;
	tight.max_items = 64;
	tight.zero_copy = true;
	st2 = fc_decode(ctx, data, size, &tight, &w);
	if (st2 == SHADE_OK) {
		FUZZ_CHECK(st == SHADE_OK);
		FUZZ_CHECK(shade_value_equal(v, w));
	}
	talloc_free(w);
	talloc_free(v);
	talloc_free(ctx);
	return 0;
}
