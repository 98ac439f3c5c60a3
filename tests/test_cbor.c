/*
 * test_cbor.c - the CBOR codec: RFC 8949 Appendix A, every value kind
 * round-tripping, deterministic encoding, strict decoding of malformed
 * input, the item-level API, zero-copy decoding, allocation counts, and
 * a cross-check against an independent implementation (Python cbor2,
 * driven through tests/cbor_crosscheck.py) in both directions.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/cbor.h"
#include "shade/value.h"
#include "helpers/testutil.h"
#include "helpers/suite.h"

/* The group fixture: helpers/suite.h. */

/* Bytes of a hex string on ctx (the test fails on bad hex). */
static uint8_t *unhex(TALLOC_CTX *ctx, const char *hex, size_t *len)
{
	uint8_t *b = shade_hex_decode(ctx, hex, len);

	assert_non_null(b);
	return b;
}

/* Decode hex as a whole frame with opts; returns the status, *out the
 * value (on ctx) and *err the error. */
static shade_status decode_hex(TALLOC_CTX *ctx, const char *hex,
			       const shade_cbor_opts *opts, shade_value **out,
			       shade_error **err)
{
	size_t len;
	uint8_t *b = unhex(ctx, hex, &len);
	shade_status st = shade_cbor_decode(ctx, b, len, opts, out, err);

	talloc_free(b);
	return st;
}

/* Encode v and return its hex on ctx (the test fails on error). */
static char *enc_hex(TALLOC_CTX *ctx, const shade_value *v,
		     const shade_cbor_opts *opts)
{
	size_t len;
	shade_error *err = NULL;
	uint8_t *b = shade_cbor_encode(ctx, v, opts, &len, &err);
	char *h;

	if (b == NULL)
		fail_msg("encode failed: %s", err ? err->message : "?");
	h = shade_hex_encode(ctx, b, len);
	talloc_free(b);
	return h;
}

/* ------------------------------------------------------------ Appendix A */

/* ------------------------------------------------------------ decode rows */

/* One decoding vector: bytes in, and the value or the error out. */
struct dec_row {
	const char *hex;             /* the input */
	const shade_cbor_opts *opts; /* decoder options, NULL: defaults */
	shade_status st;             /* the status it must produce */
	const char *diag;            /* SHADE_OK: the value in diagnostic
				      * notation, NULL: not checked */
	bool reencode;               /* SHADE_OK: check our encoding of it */
	const char *reenc;           /* that encoding, NULL: `hex` itself */
	const char *msg;             /* failure: text the message holds */
	bool exact;                  /* failure: msg is the whole message */
	const char *what;            /* what the row is about, or NULL */
};

/* An RFC 8949 Appendix A example: decodes to d (or is refused with s,
 * the message naming offset 0) and re-encodes to r, or to the input
 * when r is NULL. */
#define A(h, d, r, s) { .hex = (h), .st = (s), .diag = (d), \
			.reencode = true, .reenc = (r), .msg = "offset 0" }
/* A malformed input: refused with s, the message naming the offset. */
#define M(h, s, w) { .hex = (h), .st = (s), .msg = "offset", .what = (w) }
/* An input refused with s and exactly the message m. */
#define E(h, s, m) { .hex = (h), .st = (s), .msg = (m), .exact = true }
/* An input that decodes to d and re-encodes to r. */
#define D(h, d, r) { .hex = (h), .st = SHADE_OK, .diag = (d), \
		     .reencode = true, .reenc = (r) }
/* An input decoded with options o: status s. */
#define L(h, o, s) { .hex = (h), .opts = (o), .st = (s) }

/* RFC 8949 Appendix A, with the refusals our value model makes. */
static const struct dec_row appendix_a[] = {
	A("00", "0", NULL, SHADE_OK),
	A("01", "1", NULL, SHADE_OK),
	A("0a", "10", NULL, SHADE_OK),
	A("17", "23", NULL, SHADE_OK),
	A("1818", "24", NULL, SHADE_OK),
	A("1819", "25", NULL, SHADE_OK),
	A("1864", "100", NULL, SHADE_OK),
	A("1903e8", "1000", NULL, SHADE_OK),
	A("1a000f4240", "1000000", NULL, SHADE_OK),
	A("1b000000e8d4a51000", "1000000000000", NULL, SHADE_OK),
	/* outside int64: refused */
	A("1bffffffffffffffff", NULL, NULL, SHADE_ERR_OVERFLOW),
	A("c249010000000000000000", NULL, NULL, SHADE_ERR_OVERFLOW),
	A("3bffffffffffffffff", NULL, NULL, SHADE_ERR_OVERFLOW),
	A("c349010000000000000000", NULL, NULL, SHADE_ERR_OVERFLOW),
	A("20", "-1", NULL, SHADE_OK),
	A("29", "-10", NULL, SHADE_OK),
	A("3863", "-100", NULL, SHADE_OK),
	A("3903e7", "-1000", NULL, SHADE_OK),
	A("f90000", "0.0", NULL, SHADE_OK),
	A("f98000", "-0.0", NULL, SHADE_OK),
	A("f93c00", "1.0", NULL, SHADE_OK),
	A("fb3ff199999999999a", "1.1", NULL, SHADE_OK),
	A("f93e00", "1.5", NULL, SHADE_OK),
	A("f97bff", "65504.0", NULL, SHADE_OK),
	A("fa47c35000", "100000.0", NULL, SHADE_OK),
	A("fa7f7fffff", "3.4028234663852886e+38", NULL, SHADE_OK),
	A("fb7e37e43c8800759c", "1.0e+300", NULL, SHADE_OK),
	A("f90001", "5.960464477539063e-8", NULL, SHADE_OK),
	A("f90400", "0.00006103515625", NULL, SHADE_OK),
	A("f9c400", "-4.0", NULL, SHADE_OK),
	A("fbc010666666666666", "-4.1", NULL, SHADE_OK),
	A("f97c00", "Infinity", NULL, SHADE_OK),
	A("f97e00", "NaN", NULL, SHADE_OK),
	A("f9fc00", "-Infinity", NULL, SHADE_OK),
	A("fa7f800000", "Infinity", "f97c00", SHADE_OK),
	A("fa7fc00000", "NaN", "f97e00", SHADE_OK),
	A("faff800000", "-Infinity", "f9fc00", SHADE_OK),
	A("fb7ff0000000000000", "Infinity", "f97c00", SHADE_OK),
	A("fb7ff8000000000000", "NaN", "f97e00", SHADE_OK),
	A("fbfff0000000000000", "-Infinity", "f9fc00", SHADE_OK),
	A("f4", "false", NULL, SHADE_OK),
	A("f5", "true", NULL, SHADE_OK),
	A("f6", "null", NULL, SHADE_OK),
	/* undefined and other simple values are outside the value model */
	A("f7", NULL, NULL, SHADE_ERR_PROTOCOL),
	A("f0", NULL, NULL, SHADE_ERR_PROTOCOL),
	A("f8ff", NULL, NULL, SHADE_ERR_PROTOCOL),
	/* unknown tags are read through */
	A("c074323031332d30332d32315432303a30343a30305a",
	  "\"2013-03-21T20:04:00Z\"",
	  "74323031332d30332d32315432303a30343a30305a", SHADE_OK),
	A("c11a514b67b0", "1363896240", "1a514b67b0", SHADE_OK),
	A("c1fb41d452d9ec200000", "1363896240.5", "fb41d452d9ec200000",
	  SHADE_OK),
	A("d74401020304", "h'01020304'", "4401020304", SHADE_OK),
	A("d818456449455446", "h'6449455446'", "456449455446", SHADE_OK),
	A("d82076687474703a2f2f7777772e6578616d706c652e636f6d",
	  "\"http://www.example.com\"",
	  "76687474703a2f2f7777772e6578616d706c652e636f6d", SHADE_OK),
	A("40", "h''", NULL, SHADE_OK),
	A("4401020304", "h'01020304'", NULL, SHADE_OK),
	A("60", "\"\"", NULL, SHADE_OK),
	A("6161", "\"a\"", NULL, SHADE_OK),
	A("6449455446", "\"IETF\"", NULL, SHADE_OK),
	A("62225c", "\"\\\"\\\\\"", NULL, SHADE_OK),
	A("62c3bc", "\"\\u00fc\"", NULL, SHADE_OK),
	A("63e6b0b4", "\"\\u6c34\"", NULL, SHADE_OK),
	A("64f0908591", "\"\\ud800\\udd51\"", NULL, SHADE_OK),
	A("80", "[]", NULL, SHADE_OK),
	A("83010203", "[1, 2, 3]", NULL, SHADE_OK),
	A("8301820203820405", "[1, [2, 3], [4, 5]]", NULL, SHADE_OK),
	A("98190102030405060708090a0b0c0d0e0f101112131415161718181819",
	  "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
	  "19, 20, 21, 22, 23, 24, 25]", NULL, SHADE_OK),
	A("a0", "{}", NULL, SHADE_OK),
	A("a201020304", "{1: 2, 3: 4}", NULL, SHADE_OK),
	A("a26161016162820203", "{\"a\": 1, \"b\": [2, 3]}", NULL, SHADE_OK),
	A("826161a161626163", "[\"a\", {\"b\": \"c\"}]", NULL, SHADE_OK),
	A("a56161614161626142616361436164614461656145",
	  "{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", "
	  "\"e\": \"E\"}", NULL, SHADE_OK),
	/* indefinite lengths: accepted, re-encoded definite */
	A("5f42010243030405ff", "h'0102030405'", "450102030405", SHADE_OK),
	A("7f657374726561646d696e67ff", "\"streaming\"",
	  "6973747265616d696e67", SHADE_OK),
	A("9fff", "[]", "80", SHADE_OK),
	A("9f018202039f0405ffff", "[1, [2, 3], [4, 5]]", "8301820203820405",
	  SHADE_OK),
	A("9f01820203820405ff", "[1, [2, 3], [4, 5]]", "8301820203820405",
	  SHADE_OK),
	A("83018202039f0405ff", "[1, [2, 3], [4, 5]]", "8301820203820405",
	  SHADE_OK),
	A("83019f0203ff820405", "[1, [2, 3], [4, 5]]", "8301820203820405",
	  SHADE_OK),
	A("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
	  "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
	  "19, 20, 21, 22, 23, 24, 25]",
	  "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
	  SHADE_OK),
	A("bf61610161629f0203ffff", "{\"a\": 1, \"b\": [2, 3]}",
	  "a26161016162820203", SHADE_OK),
	A("826161bf61626163ff", "[\"a\", {\"b\": \"c\"}]", "826161a161626163",
	  SHADE_OK),
	A("bf6346756ef563416d7421ff", "{\"Fun\": true, \"Amt\": -2}",
	  "a26346756ef563416d7421", SHADE_OK),
};

/* ------------------------------------------------------------ encoding */

/* One encoding vector: a value out, its bytes. */
struct enc_row {
	bool is_float;    /* the value is f, not i */
	int64_t i;        /* the integer */
	double f;         /* the float */
	const char *hex;  /* its encoding */
};

/* Heads take the shortest form. */
#define I(v, h) { .i = (v), .hex = (h) }
/* Floats take the shortest exact width. */
#define F(v, h) { .is_float = true, .f = (v), .hex = (h) }

static const struct enc_row heads[] = {
	I(0, "00"), I(23, "17"), I(24, "1818"), I(255, "18ff"),
	I(256, "190100"), I(65535, "19ffff"), I(65536, "1a00010000"),
	I(4294967295, "1affffffff"), I(4294967296, "1b0000000100000000"),
	I(INT64_MAX, "1b7fffffffffffffff"), I(-24, "37"),
	I(-25, "3818"), I(-256, "38ff"), I(-257, "390100"),
	I(INT64_MIN, "3b7fffffffffffffff"),
	/* floats */
	F(0.0, "f90000"), F(-0.0, "f98000"), F(1.0, "f93c00"),
	F(65504.0, "f97bff"), F(65505.0, "fa477fe100"),
	F(5.960464477539063e-8, "f90001"),
	F(2.9802322387695312e-8, "fa33000000"),
	F(6.097555160522461e-5, "f903ff"),
	F(1.0e-40, "fb37a16c262777579c"),
	F(16777216.0, "fa4b800000"), F(16777217.0, "fb4170000010000000"),
	F(0.1, "fb3fb999999999999a"), F(0.5, "f93800"),
	/* every NaN is the one half-width quiet NaN */
	F(-NAN, "f97e00"),
};

/* The driver of every encoding row; *state is the row. */
static void test_cbor_encode(void **state)
{
	const struct enc_row *t = *state;
	shade_value v = t->is_float ? shade_value_float(t->f)
				    : shade_value_int(t->i);
	char *h = enc_hex(suite_case_ctx, &v, NULL);

	if (strcmp(h, t->hex) != 0) {
		if (t->is_float)
			fail_msg("%.17g encoded %s, want %s", t->f, h, t->hex);
		fail_msg("%lld encoded %s, want %s", (long long)t->i, h,
			 t->hex);
	}
	talloc_free(h);
}

/* ------------------------------------------------------------ values */

/* Fake references for the hooks: an id and a holder count. */
struct shade_ref {
	shade_ref_head head; /* must be first */
	int holders;         /* retain - release balance */
	uint64_t id;         /* what crosses the wire */
};

static void fake_retain(struct shade_ref *r)
{
	r->holders++;
}

static void fake_release(struct shade_ref *r)
{
	r->holders--;
}

static const shade_ref_ops fake_ops = { fake_retain, fake_release, NULL };

/* The table the hooks resolve ids in. */
static struct shade_ref fake_refs[4] = {
	{ { &fake_ops }, 0, 0 }, { { &fake_ops }, 0, 1 },
	{ { &fake_ops }, 0, 2 }, { { &fake_ops }, 0, 3 },
};

/* Hook: write tag 200 and the id. */
static shade_status enc_ref(void *udata, shade_buf *b, struct shade_ref *ref,
			    shade_error **err)
{
	(void)udata;
	(void)err;
	shade_cbor_put_tag(b, SHADE_CBOR_TAG_SENDER_HOSTED);
	return shade_cbor_put_uint(b, ref->id);
}

/* Hook: read the id and hand out a ref with one holder for the value. */
static shade_status dec_ref(void *udata, TALLOC_CTX *mem_ctx, uint64_t tag,
			    shade_cbor_dec *d, struct shade_ref **out,
			    shade_error **err)
{
	uint64_t id;

	(void)udata;
	(void)mem_ctx;
	if (tag != SHADE_CBOR_TAG_SENDER_HOSTED)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no receiver-hosted objects here");
	SHADE_CHECK(shade_cbor_read_uint(d, &id, err));
	if (id >= 4)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no object %llu", (unsigned long long)id);
	fake_refs[id].holders++;
	*out = &fake_refs[id];
	return SHADE_OK;
}

static const shade_cbor_hooks fake_hooks = { enc_ref, dec_ref, NULL };

/* A value holding every kind, built on ctx. */
static shade_value *every_kind(TALLOC_CTX *ctx)
{
	shade_value *t = shade_tuple_new(ctx, 12);
	shade_value *l = shade_list_new(ctx, 2);
	shade_value *d = shade_dict_new(ctx, 2);
	shade_value *k = shade_tuple_new(ctx, 2);
	shade_error *e = NULL;

	assert_int_equal(shade_seq_append_take(t, shade_none(ctx), NULL), 0);
	assert_int_equal(shade_seq_append_take(t, shade_bool(ctx, true), NULL),
			 0);
	assert_int_equal(shade_seq_append_take(t, shade_int(ctx, -123456789),
					       NULL), 0);
	assert_int_equal(shade_seq_append_take(t, shade_float(ctx, 2.5), NULL),
			 0);
	assert_int_equal(shade_seq_append_take(t, shade_str(ctx,
			 "\xe2\x82\xac uro"), NULL), 0);
	assert_int_equal(shade_seq_append_take(t, shade_bytes(ctx, "\0\1", 2),
					       NULL), 0);
	assert_int_equal(shade_seq_append_take(l, shade_int(ctx, 1), NULL), 0);
	assert_int_equal(shade_seq_append_take(l, shade_list_new(ctx, 0),
					       NULL), 0);
	assert_int_equal(shade_seq_append_take(t, l, NULL), 0);
	assert_int_equal(shade_seq_append_take(k, shade_int(ctx, 1), NULL), 0);
	assert_int_equal(shade_seq_append_take(k, shade_str(ctx, "k"), NULL),
			 0);
	assert_int_equal(shade_dict_set_take(d, k, shade_float(ctx, -0.0),
					     NULL), 0);
	assert_int_equal(shade_dict_set_take(d, shade_bytes(ctx, "b", 1),
					     shade_dict_new(ctx, 0), NULL), 0);
	assert_int_equal(shade_seq_append_take(t, d, NULL), 0);
	shade_error_set(&e, SHADE_ERR_VALUE, "bad amount");
	e->args = shade_tuple_new(e, 1);
	assert_int_equal(shade_seq_append_take(e->args, shade_int(ctx, -5),
					       NULL), 0);
	assert_int_equal(shade_error_push_frame(e, "server", "bank.Account",
						"withdraw"), 0);
	assert_int_equal(shade_seq_append_take(t, shade_exc_take(ctx, e),
					       NULL), 0);
	assert_int_equal(shade_seq_append_take(t, shade_ref_value(ctx,
			 &fake_refs[2]), NULL), 0);
	assert_int_equal(shade_seq_append_take(t, shade_tuple_new(ctx, 0),
					       NULL), 0);
	return t;
}

/* Every kind survives encode + decode, and the bytes are the mapping of
 * cbor.h exactly. */
static void test_cbor_every_kind_round_trip(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_cbor_opts opts = { .hooks = &fake_hooks };
	shade_value *v = every_kind(ctx), *back = NULL;
	shade_error *err = NULL;
	size_t len;
	uint8_t *b;
	char *h;

	assert_int_equal(fake_refs[2].holders, 1);
	h = enc_hex(ctx, v, &opts);
	assert_string_equal(h,
		"8b" "f6" "f5" "3a075bcd14" "f94100" "67" "e282ac" "20" "75726f"
		"420001" "d8cb" "82" "01" "d8cb80"
		"a2" "82016" "16b" "f98000" "4162" "a0"
		"d8ca84" "6a" "56616c75654572726f72" "6a" "62616420616d6f756e74"
		"8124" "81" "83" "66736572766572" "6c" "62616e6b2e4163636f756e74"
		"68" "7769746864726177"
		"d8c802" "80");
	talloc_free(h);
	b = shade_cbor_encode(ctx, v, &opts, &len, NULL);
	assert_int_equal(shade_cbor_decode(ctx, b, len, &opts, &back, &err),
			 SHADE_OK);
	assert_int_equal(fake_refs[2].holders, 2);
	assert_true(shade_value_equal(v, back));
	assert_int_equal(shade_value_kind(shade_seq_at(back, 6)), SHADE_LIST);
	assert_int_equal(shade_value_as_exc(shade_seq_at(back, 8))->code,
			 SHADE_ERR_VALUE);
	talloc_free(back);
	assert_int_equal(fake_refs[2].holders, 1);

	/* no hooks: refs are refused both ways */
	assert_null(shade_cbor_encode(ctx, v, NULL, &len, &err));
	assert_int_equal(err->code, SHADE_ERR_TYPE);
	shade_error_clear(&err);
	assert_int_equal(shade_cbor_decode(ctx, b, len, NULL, &back, &err),
			 SHADE_ERR_PROTOCOL);
	assert_null(back);
	shade_error_clear(&err);
	/* a hook failure comes through as is, nothing leaks */
	assert_int_equal(decode_hex(ctx, "82d8c801d8c809", &opts, &back, &err),
			 SHADE_ERR_NOT_FOUND);
	assert_int_equal(fake_refs[1].holders, 0);
	shade_error_clear(&err);
	assert_int_equal(decode_hex(ctx, "d8c901", &opts, &back, &err),
			 SHADE_ERR_NOT_FOUND);
	shade_error_clear(&err);
	talloc_free(b);
	talloc_free(v);
	assert_int_equal(fake_refs[2].holders, 0);
}

/* The encoder's nesting limit matches the decoder's. */
static void test_cbor_encode_depth(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *v = shade_int(ctx, 1);
	shade_cbor_opts opts = { .max_depth = 10 };
	shade_error *err = NULL;
	shade_value *back = NULL;
	size_t len;
	uint8_t *b;
	int i;

	for (i = 0; i < 10; i++) {
		shade_value *t = shade_tuple_new(ctx, 1);

		assert_int_equal(shade_seq_append_take(t, v, NULL), SHADE_OK);
		v = t;
	}
	b = shade_cbor_encode(ctx, v, &opts, &len, &err);
	assert_non_null(b);
	assert_int_equal(shade_cbor_decode(ctx, b, len, &opts, &back, NULL),
			 SHADE_OK);
	talloc_free(back);
	talloc_free(b);
	{
		shade_value *t = shade_list_new(ctx, 1);

		assert_int_equal(shade_seq_append_take(t, v, NULL), SHADE_OK);
		v = t;
	}
	assert_null(shade_cbor_encode(ctx, v, &opts, &len, &err));
	assert_int_equal(err->code, SHADE_ERR_TOO_DEEP);
	shade_error_clear(&err);
	talloc_free(v);
}

/* ------------------------------------------------------------ malformed */

/* Each malformed input gets its exact status and a message naming the
 * byte offset; nothing is allocated for it. */
static const struct dec_row malformed[] = {
	M("", SHADE_ERR_TRUNCATED, "empty input"),
	M("18", SHADE_ERR_TRUNCATED, "head missing its 1-byte argument"),
	M("1901", SHADE_ERR_TRUNCATED, "head missing half its argument"),
	M("1b000000", SHADE_ERR_TRUNCATED, "8-byte argument cut short"),
	M("6261", SHADE_ERR_TRUNCATED, "text shorter than declared"),
	M("5affffffff00", SHADE_ERR_TRUNCATED, "length > remaining input"),
	M("7b8000000000000000", SHADE_ERR_TRUNCATED, "text of 2^63 bytes"),
	M("9b8000000000000000", SHADE_ERR_TRUNCATED, "array of 2^63 items"),
	M("bb4000000000000000", SHADE_ERR_TRUNCATED, "map of 2^62 pairs"),
	M("830102", SHADE_ERR_TRUNCATED, "array missing an item"),
	M("9f01", SHADE_ERR_TRUNCATED, "indefinite array without break"),
	M("8118", SHADE_ERR_TRUNCATED, "array item head cut short"),
	M("1c", SHADE_ERR_MALFORMED, "reserved additional info 28"),
	M("823c00", SHADE_ERR_MALFORMED, "reserved info 28 in an array"),
	M("82003f", SHADE_ERR_MALFORMED, "indefinite negative integer"),
	M("5d", SHADE_ERR_MALFORMED, "reserved additional info 29"),
	M("fe", SHADE_ERR_MALFORMED, "reserved additional info 30"),
	M("ff", SHADE_ERR_MALFORMED, "break outside indefinite item"),
	M("8201ff", SHADE_ERR_MALFORMED, "break inside definite array"),
	M("1f", SHADE_ERR_MALFORMED, "indefinite unsigned integer"),
	M("df00", SHADE_ERR_MALFORMED, "indefinite tag"),
	M("5f6161ff", SHADE_ERR_MALFORMED, "text chunk in byte string"),
	M("7f7f6161ffff", SHADE_ERR_MALFORMED, "nested indefinite text"),
	M("5f01ff", SHADE_ERR_MALFORMED, "integer chunk in byte string"),
	M("bf01ff", SHADE_ERR_MALFORMED, "indefinite map, key without value"),
	M("f818", SHADE_ERR_MALFORMED, "two-byte simple value below 32"),
	M("a201020103", SHADE_ERR_MALFORMED, "duplicate map key"),
	M("a282016161008201616101", SHADE_ERR_MALFORMED,
	  "duplicate tuple map key"),
	M("bf616101616102ff", SHADE_ERR_MALFORMED,
	  "duplicate key in indefinite map"),
	M("0000", SHADE_ERR_MALFORMED, "trailing bytes"),
	M("62c0af", SHADE_ERR_UTF8, "overlong UTF-8"),
	M("63eda080", SHADE_ERR_UTF8, "UTF-8 surrogate"),
	M("62e282", SHADE_ERR_UTF8, "truncated UTF-8 sequence"),
	M("6180", SHADE_ERR_UTF8, "stray continuation byte"),
	M("64f4908080", SHADE_ERR_UTF8, "code point above U+10FFFF"),
	M("7f61c361bcff", SHADE_ERR_UTF8, "code point split over chunks"),
	/* a list of short strings, read as one run: what one item gets
	 * wrong is still found */
	M("85616161616161616162c328", SHADE_ERR_UTF8,
	  "invalid UTF-8 in a run of short strings"),
	M("856161616161616161636162", SHADE_ERR_TRUNCATED,
	  "last of a run of short strings cut short"),
	M("856161616161616161", SHADE_ERR_TRUNCATED,
	  "run of short strings missing an item"),
	M("1b8000000000000000", SHADE_ERR_OVERFLOW, "uint above int64"),
	M("3b8000000000000000", SHADE_ERR_OVERFLOW, "nint below int64"),
	M("82003b8000000000000000", SHADE_ERR_OVERFLOW,
	  "nint below int64 in an array"),
	M("c249010000000000000000", SHADE_ERR_OVERFLOW, "bignum 2^64"),
	M("c2488000000000000000", SHADE_ERR_OVERFLOW, "bignum 2^63"),
	M("c3488000000000000000", SHADE_ERR_OVERFLOW, "bignum -2^63-1"),
	M("a1d8cb8000", SHADE_ERR_TYPE, "list as map key"),
	M("a1a000", SHADE_ERR_TYPE, "dict as map key"),
	M("a181d8cb8000", SHADE_ERR_TYPE, "tuple holding a list as map key"),
	M("f7", SHADE_ERR_PROTOCOL, "undefined"),
	M("f3", SHADE_ERR_PROTOCOL, "unassigned simple value 19"),
	M("f820", SHADE_ERR_PROTOCOL, "simple value 32"),
	M("d8c801", SHADE_ERR_PROTOCOL, "tag 200 without a hook"),
	M("d8c901", SHADE_ERR_PROTOCOL, "tag 201 without a hook"),
	M("d8cb01", SHADE_ERR_PROTOCOL, "tag 203 around an integer"),
	M("d8ca80", SHADE_ERR_PROTOCOL, "exception that is not 4 items"),
	M("d8ca846141616201808101", SHADE_ERR_PROTOCOL,
	  "exception chain entry not a triple"),
	M("c201", SHADE_ERR_PROTOCOL, "bignum around an integer"),
};

_Static_assert(sizeof(malformed) / sizeof(malformed[0]) >= 25,
	       "at least 25 malformed inputs");

/* A few messages, exactly. */
static const struct dec_row messages[] = {
	E("8301021c", SHADE_ERR_MALFORMED,
	  "reserved additional information 28 at offset 3"),
	E("82017b8000000000000000", SHADE_ERR_TRUNCATED,
	  "string at offset 2 declares 9223372036854775808 bytes, "
	  "only 0 left"),
	E("a201000100", SHADE_ERR_MALFORMED, "duplicate map key at offset 3"),
	E("a1a000", SHADE_ERR_TYPE,
	  "map key at offset 1 is a dict, which cannot be a dict key"),
	E("a1d8cb8000", SHADE_ERR_TYPE,
	  "map key at offset 1 is a list, which cannot be a dict key"),
	E("8263616263", SHADE_ERR_TRUNCATED,
	  "input ends at offset 5 where an item was expected"),
	E("83616164e282ac80", SHADE_ERR_UTF8,
	  "invalid UTF-8 at offset 7 in the text string at offset 3"),
	E("0102", SHADE_ERR_MALFORMED,
	  "trailing bytes at offset 1 (1 bytes after the item)"),
	E("8561616161616161616280ff", SHADE_ERR_UTF8,
	  "invalid UTF-8 at offset 10 in the text string at offset 9"),
};

/* Nesting: 64 levels pass, 65 fail; the limit is configurable. */
static void test_cbor_depth_limit(void **state)
{
	TALLOC_CTX *ctx = *state;
	char hex[2 * 200 + 3];
	shade_value *v = NULL;
	shade_error *err = NULL;
	shade_cbor_opts opts = { .max_depth = 3 };
	shade_cbor_dec d;
	int n;

	for (n = 64; n <= 65; n++) {
		memset(hex, 0, sizeof(hex));
		for (int i = 0; i < n; i++)
			memcpy(hex + 2 * i, "81", 2);
		memcpy(hex + 2 * n, "00", 2);
		if (n == 64) {
			assert_int_equal(decode_hex(ctx, hex, NULL, &v, NULL),
					 SHADE_OK);
			talloc_free(v);
		} else {
			assert_int_equal(decode_hex(ctx, hex, NULL, &v, &err),
					 SHADE_ERR_TOO_DEEP);
			assert_string_equal(err->message, "item at offset 64 "
					    "nests deeper than 64 levels");
			shade_error_clear(&err);
		}
	}
	/* tags count as levels: a chain of 200 tags is refused */
	memset(hex, 0, sizeof(hex));
	for (n = 0; n < 200; n++)
		memcpy(hex + 2 * n, "c6", 2);
	memcpy(hex + 400, "00", 2);
	assert_int_equal(decode_hex(ctx, hex, NULL, &v, NULL),
			 SHADE_ERR_TOO_DEEP);
	assert_int_equal(decode_hex(ctx, "818181", &opts, &v, NULL),
			 SHADE_ERR_TRUNCATED);
	assert_int_equal(decode_hex(ctx, "8181818100", &opts, &v, NULL),
			 SHADE_ERR_TOO_DEEP);
	assert_int_equal(decode_hex(ctx, "81818100", &opts, &v, NULL),
			 SHADE_OK);
	talloc_free(v);
	/* skip honours the same rule */
	shade_cbor_dec_init(&d, "\x81\x81\x81\x81\x00", 5);
	assert_int_equal(shade_cbor_skip(&d, 3, NULL), SHADE_ERR_TOO_DEEP);
	shade_cbor_dec_init(&d, "\x81\x81\x81\x00", 4);
	assert_int_equal(shade_cbor_skip(&d, 3, NULL), SHADE_OK);
	assert_true(shade_cbor_dec_done(&d));
}

/* Length and item-count limits, and a depth limit of 3. */
static const shade_cbor_opts max_len_3 = { .max_len = 3 };
static const shade_cbor_opts max_items_5 = { .max_items = 5 };

static const struct dec_row limits[] = {
	L("8401020304", &max_len_3, SHADE_ERR_LIMIT),
	L("9f01020304ff", &max_len_3, SHADE_ERR_LIMIT),
	L("a401010202030304", &max_len_3, SHADE_ERR_TRUNCATED),
	L("a40101020203030404", &max_len_3, SHADE_ERR_LIMIT),
	L("6461626364", &max_len_3, SHADE_ERR_LIMIT),
	L("7f626162626364ff", &max_len_3, SHADE_ERR_LIMIT),
	L("83010203", &max_len_3, SHADE_OK),
	L("8201 8102", &max_items_5, SHADE_OK),
	L("820183020304", &max_items_5, SHADE_ERR_LIMIT),
	/* text arrays (doc/protocol.md 7.5): strings, and their count */
	L("d8cc82 43 010203 66 616263646566", &max_len_3, SHADE_OK),
	L("d8cc82 44 01010101 64 61626364", &max_len_3, SHADE_ERR_LIMIT),
	L("d8cc82 42 0401 65 6162636465", &max_len_3, SHADE_ERR_LIMIT),
	L("d8cc82 44 01010101 64 61626364", &max_items_5, SHADE_OK),
	L("d8cc82 46 010101010101 66 616263646566", &max_items_5,
	  SHADE_ERR_LIMIT),
	L("d8cc82 42 0101 62 61", &max_len_3, SHADE_ERR_TRUNCATED),
};

/* Bignums inside int64 are ints; tags 2/3 at the very edges; heads and
 * floats wider than they need are read and re-encoded shortest. */
static const struct dec_row bignums[] = {
	D("c240", "0", "00"),
	D("c340", "-1", "20"),
	D("c2487fffffffffffffff", "9223372036854775807",
	  "1b7fffffffffffffff"),
	D("c3487fffffffffffffff", "-9223372036854775808",
	  "3b7fffffffffffffff"),
	D("c24a00000000000000000005", "5", "05"),
	D("3b7fffffffffffffff", "-9223372036854775808", NULL),
	D("1b7fffffffffffffff", "9223372036854775807", NULL),
	D("1800", "0", "00"),
	D("1a00000001", "1", "01"),
	D("f93c00", "1.0", NULL),
	D("fa3f800000", "1.0", "f93c00"),
};

/* The driver of every decoding row; *state is the row. */
static void test_cbor_decode(void **state)
{
	const struct dec_row *t = *state;
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_value *v = NULL;
	shade_error *err = NULL;
	shade_status st = decode_hex(ctx, t->hex, t->opts, &v, &err);
	char *d, *h;

	if (st != t->st)
		fail_msg("%s%s%s%s: %s (%s), want %s", t->hex,
			 t->what ? " (" : "", t->what ? t->what : "",
			 t->what ? ")" : "", shade_status_name(st),
			 err ? err->message : "", shade_status_name(t->st));
	if (st != SHADE_OK) {
		assert_null(v);
		assert_non_null(err);
		if (t->exact)
			assert_string_equal(err->message, t->msg);
		else if (t->msg != NULL && strstr(err->message, t->msg) == NULL)
			fail_msg("%s: message without \"%s\": %s", t->hex,
				 t->msg, err->message);
		shade_error_free(err);
		return;
	}
	if (t->diag != NULL) {
		d = shade_value_diag(ctx, v);
		if (strcmp(d, t->diag) != 0)
			fail_msg("%s: decoded %s, want %s", t->hex, d, t->diag);
		talloc_free(d);
	}
	if (t->reencode) {
		h = enc_hex(ctx, v, t->opts);
		if (strcmp(h, t->reenc ? t->reenc : t->hex) != 0)
			fail_msg("%s: re-encoded %s", t->hex, h);
		talloc_free(h);
	}
	talloc_free(v);
}

/* ------------------------------------------------------------ item API */

/* Write a message item by item and read it back the same way. */
static void test_cbor_item_api(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_buf *b = shade_buf_new(ctx, 0);
	shade_cbor_dec d;
	shade_cbor_major major;
	shade_error *err = NULL;
	uint64_t u, n;
	int64_t i;
	const char *s;
	const uint8_t *p;
	char *dup;
	size_t len;
	double f;
	bool flag;

	shade_cbor_put_array(b, 10);
	shade_cbor_put_uint(b, 7);
	shade_cbor_put_int(b, -300);
	shade_cbor_put_cstr(b, "get");
	shade_cbor_put_bytes(b, "\xff", 1);
	shade_cbor_put_map(b, 1);
	shade_cbor_put_text(b, "k", 1);
	shade_cbor_put_null(b);
	shade_cbor_put_tag(b, 1000);
	shade_cbor_put_float(b, 0.25);
	shade_cbor_put_bool(b, true);
	shade_cbor_put_simple(b, 16);
	assert_int_equal(shade_cbor_put_simple(b, 25), SHADE_ERR_INVALID);
	shade_cbor_put_nint(b, 0);
	shade_cbor_put_head(b, SHADE_CBOR_BYTES, 0);
	assert_int_equal(b->status, SHADE_OK);
	dup = shade_hex_encode(ctx, b->data, b->len);
	assert_string_equal(dup, "8a" "07" "39012b" "63676574" "41ff" "a1"
			    "616b" "f6" "d903e8" "f93400" "f5" "f0" "20" "40");
	talloc_free(dup);

	shade_cbor_dec_init(&d, b->data, b->len);
	assert_int_equal(shade_cbor_read_array(&d, &n, NULL), SHADE_OK);
	assert_int_equal(n, 10);
	assert_int_equal(shade_cbor_read_uint(&d, &u, NULL), SHADE_OK);
	assert_int_equal(u, 7);
	/* a type mismatch leaves the cursor where it was */
	assert_int_equal(shade_cbor_read_uint(&d, &u, &err),
			 SHADE_ERR_PROTOCOL);
	assert_string_equal(err->message, "expected unsigned integer at "
			    "offset 2, found negative integer");
	shade_error_clear(&err);
	assert_int_equal(shade_cbor_read_int(&d, &i, NULL), SHADE_OK);
	assert_int_equal(i, -300);
	assert_int_equal(shade_cbor_peek(&d, &major, NULL), SHADE_OK);
	assert_int_equal(major, SHADE_CBOR_TEXT);
	assert_int_equal(shade_cbor_read_text(&d, &s, &len, NULL), SHADE_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "get", 3);
	assert_ptr_equal(s, b->data + 6);                  /* zero-copy */
	assert_int_equal(shade_cbor_read_bytes(&d, &p, &len, NULL), SHADE_OK);
	assert_int_equal(p[0], 0xff);
	assert_int_equal(shade_cbor_read_map(&d, &n, NULL), SHADE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(shade_cbor_read_text_dup(ctx, &d, &dup, NULL, NULL),
			 SHADE_OK);
	assert_string_equal(dup, "k");
	talloc_free(dup);
	assert_true(shade_cbor_at_null(&d));
	assert_int_equal(shade_cbor_read_null(&d, NULL), SHADE_OK);
	assert_int_equal(shade_cbor_read_tag(&d, &u, NULL), SHADE_OK);
	assert_int_equal(u, 1000);
	assert_int_equal(shade_cbor_read_bool(&d, &flag, NULL),
			 SHADE_ERR_PROTOCOL);
	assert_int_equal(shade_cbor_read_float(&d, &f, NULL), SHADE_OK);
	assert_true(f == 0.25);
	assert_int_equal(shade_cbor_read_bool(&d, &flag, NULL), SHADE_OK);
	assert_true(flag);
	assert_int_equal(shade_cbor_read_head(&d, &major, &u, NULL), SHADE_OK);
	assert_int_equal(major, SHADE_CBOR_SIMPLE);
	assert_int_equal(u, 16);
	assert_int_equal(shade_cbor_skip(&d, 0, NULL), SHADE_OK);
	assert_int_equal(shade_cbor_skip(&d, 0, NULL), SHADE_OK);
	assert_true(shade_cbor_dec_done(&d));
	assert_int_equal(shade_cbor_dec_remaining(&d), 0);
	assert_int_equal(shade_cbor_read_int(&d, &i, &err),
			 SHADE_ERR_TRUNCATED);
	shade_error_clear(&err);
	assert_int_equal(shade_cbor_peek(&d, &major, NULL),
			 SHADE_ERR_TRUNCATED);

	/* indefinite items through the item API */
	shade_cbor_dec_init(&d, "\x7f\x62\x61\x62\x61\x63\xff\x9f\x01\xff"
			    "\x5f\xff", 12);
	assert_int_equal(shade_cbor_read_text_dup(ctx, &d, &dup, &len, NULL),
			 SHADE_OK);
	assert_string_equal(dup, "abc");
	assert_int_equal(len, 3);
	talloc_free(dup);
	assert_int_equal(shade_cbor_read_array(&d, &n, NULL), SHADE_OK);
	assert_true(n == SHADE_CBOR_INDEFINITE);
	assert_false(shade_cbor_at_break(&d));
	assert_int_equal(shade_cbor_read_int(&d, &i, NULL), SHADE_OK);
	assert_true(shade_cbor_at_break(&d));
	assert_int_equal(shade_cbor_read_break(&d, NULL), SHADE_OK);
	assert_int_equal(shade_cbor_read_bytes(&d, &p, &len, NULL),
			 SHADE_ERR_PROTOCOL);
	assert_int_equal(shade_cbor_skip(&d, 0, NULL), SHADE_OK);
	assert_int_equal(shade_cbor_read_break(&d, NULL), SHADE_ERR_TRUNCATED);
	/* a declared count larger than the input */
	shade_cbor_dec_init(&d, "\x9a\x00\x01\x00\x00\x01", 6);
	assert_int_equal(shade_cbor_read_array(&d, &n, NULL),
			 SHADE_ERR_TRUNCATED);
	talloc_free(b);
}

/* The growable buffer: reserve, grow, reset, steal. */
static void test_cbor_buf(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_buf *b = shade_buf_new(ctx, 4);
	uint8_t *p, *out;
	size_t len, i;

	p = shade_buf_reserve(b, 100);
	assert_non_null(p);
	assert_int_equal(b->len, 0);
	assert_true(b->cap >= 100);
	for (i = 0; i < 1000; i++)
		assert_int_equal(shade_buf_append(b, "ab", 2), SHADE_OK);
	assert_int_equal(b->len, 2000);
	p = shade_buf_grow(b, 3);
	memcpy(p, "xyz", 3);
	assert_memory_equal(b->data + 2000, "xyz", 3);
	shade_buf_reset(b);
	assert_int_equal(b->len, 0);
	shade_cbor_put_uint(b, 500);
	out = shade_buf_steal(ctx, b, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "\x19\x01\xf4", 3);
	assert_int_equal(b->len, 0);
	assert_null(shade_buf_steal(ctx, b, &len));
	shade_cbor_put_uint(b, 1);
	assert_int_equal(b->len, 1);
	talloc_free(out);
	talloc_free(b);
}

/* A buffer's first bytes share its allocation: one talloc block until it
 * grows (then the bytes move to a child of it, kept whole); stealing
 * inline bytes hands over a copy that outlives the buffer. */
static void test_cbor_buf_inline(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_buf *b = shade_buf_new(ctx, 16);
	size_t blocks = talloc_total_blocks(ctx), len, i;
	uint8_t *out;

	assert_int_equal(blocks, 2); /* ctx and the buffer */
	for (i = 0; i < 16; i++)
		assert_int_equal(shade_buf_append(b, "a", 1), SHADE_OK);
	assert_int_equal(talloc_total_blocks(ctx), blocks);
	assert_int_equal(shade_buf_append(b, "bc", 2), SHADE_OK);
	assert_int_equal(talloc_total_blocks(ctx), blocks + 1);
	assert_int_equal(b->len, 18);
	assert_memory_equal(b->data, "aaaaaaaaaaaaaaaabc", 18);
	talloc_free(b);
	assert_int_equal(talloc_total_blocks(ctx), 1);

	b = shade_buf_new(ctx, 16);
	shade_cbor_put_uint(b, 500);
	out = shade_buf_steal(ctx, b, &len);
	talloc_free(b);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "\x19\x01\xf4", 3);
	assert_int_equal(talloc_get_size(out), 3);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ zero copy */

/* Zero-copy strings point into the frame; default ones do not, and
 * strings inside containers share a few arena blocks. */
static void test_cbor_zero_copy(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_cbor_opts zc = { .zero_copy = true };
	shade_value *l = shade_list_new(ctx, 1000), *v = NULL;
	uint8_t *b;
	size_t len, i, n;
	const char *s;

	for (i = 0; i < 1000; i++) {
		char txt[16];

		snprintf(txt, sizeof(txt), "item%zu", i);
		assert_int_equal(shade_seq_append_str(l, txt, strlen(txt), NULL),
				 SHADE_OK);
	}
	b = shade_cbor_encode(ctx, l, NULL, &len, NULL);
	assert_int_equal(shade_cbor_decode(ctx, b, len, &zc, &v, NULL),
			 SHADE_OK);
	s = shade_value_as_str(shade_seq_at(v, 999), &n);
	assert_true(shade_value_is_borrowed(shade_seq_at(v, 999)));
	assert_true((const uint8_t *)s > b && (const uint8_t *)s < b + len);
	assert_memory_equal(s, "item999", n);
	assert_true(talloc_total_blocks(v) <= 3);
	assert_true(shade_value_equal(l, v));
	talloc_free(v);

	assert_int_equal(shade_cbor_decode(ctx, b, len, NULL, &v, NULL),
			 SHADE_OK);
	s = shade_value_as_str(shade_seq_at(v, 999), &n);
	assert_false((const uint8_t *)s >= b && (const uint8_t *)s < b + len);
	assert_string_equal(shade_value_cstr(shade_seq_at(v, 999)), "item999");
	assert_true(talloc_total_blocks(v) < 16);
	assert_true(shade_value_equal(l, v));
	/* the frame can go: the default decode owns its strings */
	talloc_free(b);
	assert_string_equal(shade_value_cstr(shade_seq_at(v, 0)), "item0");
	talloc_free(v);

	/* a top-level string of its own; an empty one allocates nothing */
	assert_int_equal(decode_hex(ctx, "6161", NULL, &v, NULL), SHADE_OK);
	assert_string_equal(shade_value_cstr(v), "a");
	assert_false(shade_value_is_borrowed(v));
	talloc_free(v);
	assert_int_equal(decode_hex(ctx, "60", &zc, &v, NULL), SHADE_OK);
	assert_int_equal(talloc_total_blocks(v), 1);
	talloc_free(v);
	talloc_free(l);
}

/* Decoding 10^6 integers is a couple of allocations, not 10^6. */
static void test_cbor_big_array_allocations(void **state)
{
	TALLOC_CTX *ctx = *state;
	const size_t n = 1000000;
	shade_buf *b = shade_buf_new(ctx, 0);
	shade_value *v = NULL;
	size_t i;

	shade_cbor_put_array(b, n);
	for (i = 0; i < n; i++)
		shade_cbor_put_uint(b, i);
	assert_int_equal(shade_cbor_decode(ctx, b->data, b->len, NULL, &v,
					   NULL), SHADE_OK);
	assert_int_equal(shade_seq_len(v), n);
	/* the box, the seq and its slots (a block of their own when large,
	 * kept for reuse once freed) */
	assert_true(talloc_total_blocks(v) <= 3);
	assert_int_equal(shade_value_as_int(shade_seq_at(v, n - 1)), n - 1);
	shade_buf_reset(b);
	assert_int_equal(shade_cbor_encode_value(b, v, NULL, NULL), SHADE_OK);
	assert_int_equal(b->len, 5 + 24 + 2 * 232 + 3 * 65280 +
			 5 * (n - 65536));
	talloc_free(v);
	talloc_free(b);
}

static uint64_t rng_state;
static uint64_t rng(void);
static shade_value *gen_value(TALLOC_CTX *ctx, int depth);

/* Mutated encodings (bytes flipped, inserted, cut) never crash, never
 * leak, never leave a ref held: each decode either succeeds or fails
 * with a status, and skip agrees with decode on well-formedness. */
/* Lists of short strings (the runs the encoder and decoder take in one
 * loop) of every length 0-23, with longer, non-ASCII and non-string
 * items among them: the encoding is exactly the one item by item, the
 * decoded list equals the original, and each string is NUL-terminated
 * where its length says. */
static void test_cbor_short_string_runs(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *l = shade_list_new(ctx, 0), *out = NULL;
	shade_buf *want = shade_buf_new(ctx, 64);
	shade_cbor_opts opts = { 0 };
	char text[40];
	uint8_t *got;
	size_t i, n = 3000, len, k;

	for (i = 0; i < n; i++) {
		shade_value *v;

		k = (i * 7) % 24;
		memset(text, 'a' + (int)(i % 26), sizeof text);
		text[k] = '\0';
		if (i % 97 == 5)
			v = shade_str(NULL, "\xc3\xa9t\xc3\xa9"); /* not ASCII */
		else if (i % 131 == 7)
			v = shade_str(NULL, "a string of thirty-one bytes..");
		else if (i % 50 == 49)
			v = shade_int(NULL, (int64_t)i);
		else if (i % 211 == 3)
			v = shade_bytes(NULL, text, k);
		else
			v = shade_str(NULL, text);
		assert_ok(shade_seq_append_take(l, v, errp_));
	}
	shade_value_set_byvalue(l, true);
	/* the encoding item by item */
	shade_cbor_put_tag(want, SHADE_CBOR_TAG_LIST);
	shade_cbor_put_array(want, n);
	for (i = 0; i < n; i++)
		assert_ok(shade_cbor_encode_value(want, shade_seq_at(l, i),
						  &opts, errp_));
	got = shade_cbor_encode(ctx, l, &opts, &len, NULL);
	assert_non_null(got);
	assert_int_equal(len, want->len);
	assert_memory_equal(got, want->data, len);
	assert_ok(shade_cbor_decode(ctx, got, len, &opts, &out, errp_));
	assert_true(shade_value_equal(out, l));
	for (i = 0; i < n; i++) {
		const shade_value *v = shade_seq_at(out, i);

		if (shade_value_kind(v) == SHADE_STR)
			assert_int_equal(strlen(shade_value_as_str(v, NULL)),
					 shade_value_len(v));
	}
	talloc_free(out);
	talloc_free(got);
	talloc_free(l);
	talloc_free(want);
	/* only short strings, 20 000 of them: runs longer than one call
	 * takes, and the arena's chunks filled to their last bytes */
	l = shade_list_new(ctx, 0);
	for (i = 0; i < 20000; i++) {
		k = (i * 7 + i / 3) % 24;
		memset(text, 'A' + (int)(i % 26), sizeof text);
		text[k] = '\0';
		assert_ok(shade_seq_append_str(l, text, k, errp_));
	}
	shade_value_set_byvalue(l, true);
	got = shade_cbor_encode(ctx, l, &opts, &len, NULL);
	assert_non_null(got);
	assert_ok(shade_cbor_decode(ctx, got, len, &opts, &out, errp_));
	assert_true(shade_value_equal(out, l));
	for (i = 0; i < 20000; i++)
		assert_int_equal(strlen(shade_value_as_str(shade_seq_at(out, i),
							    NULL)),
				 (i * 7 + i / 3) % 24);
	talloc_free(out);
	talloc_free(got);
	talloc_free(l);
}

/* Text arrays (doc/protocol.md 7.5): a list of strings of 0-255 bytes,
 * ASCII and not, written with opts.text_arrays as tag 204 over
 * [lengths, texts] and read back equal, every string NUL-terminated;
 * without the option, or with a longer string or another kind among
 * them, the same list is a CBOR array. */
static void test_cbor_text_arrays(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *l = shade_list_new(ctx, 0), *out = NULL;
	shade_cbor_opts on = { .text_arrays = true }, off = { 0 };
	char text[300];
	uint8_t *got, *plain;
	size_t i, k, n = 5000, len, plen, total = 0;

	for (i = 0; i < n; i++) {
		k = i % 7 == 0 ? (i * 13) % 256 : (i * 5) % 24;
		memset(text, 'a' + (int)(i % 26), k);
		if (i % 11 == 0 && k >= 2)
			memcpy(text + k - 2, "\xc3\xa9", 2); /* é at the end */
		assert_ok(shade_seq_append_str(l, text, k, errp_));
		total += k;
	}
	shade_value_set_byvalue(l, true);
	got = shade_cbor_encode(ctx, l, &on, &len, NULL);
	assert_non_null(got);
	/* tag 203, tag 204, array of 2, lengths, texts */
	assert_memory_equal(got, "\xd8\xcb\xd8\xcc\x82\x59\x13\x88", 8);
	assert_int_equal(len, 8 + n + 5 + total);
	assert_int_equal(got[8 + n], 0x7a); /* text head, 4-byte length */
	assert_ok(shade_cbor_decode(ctx, got, len, &off, &out, errp_));
	assert_int_equal(shade_value_kind(out), SHADE_LIST);
	assert_true(shade_value_equal(out, l));
	for (i = 0; i < n; i++)
		assert_int_equal(strlen(shade_value_as_str(shade_seq_at(out, i),
							    NULL)),
				 shade_value_len(shade_seq_at(l, i)));
	/* encoded again from what was read: the same bytes */
	plain = shade_cbor_encode(ctx, out, &on, &plen, NULL);
	assert_int_equal(plen, len);
	assert_memory_equal(plain, got, len);
	talloc_free(plain);
	talloc_free(out);
	talloc_free(got);
	/* off: a CBOR array */
	got = shade_cbor_encode(ctx, l, &off, &len, NULL);
	assert_memory_equal(got, "\xd8\xcb\x99\x13\x88", 5);
	talloc_free(got);
	/* a string of 256 bytes, or an int, among them: a CBOR array */
	memset(text, 'z', 256);
	assert_ok(shade_seq_set_take(l, 3, shade_strn(ctx, text, 256), errp_));
	got = shade_cbor_encode(ctx, l, &on, &len, NULL);
	assert_memory_equal(got, "\xd8\xcb\x99\x13\x88", 5);
	talloc_free(got);
	assert_ok(shade_seq_set_take(l, 3, shade_int(ctx, 3), errp_));
	got = shade_cbor_encode(ctx, l, &on, &len, NULL);
	assert_memory_equal(got, "\xd8\xcb\x99\x13\x88", 5);
	talloc_free(got);
	talloc_free(l);
	/* strings of 0-23 bytes only (written in one pass), of 16 to 64 KiB
	 * and more of text in all: every width of the texts' head */
	for (n = 16; n <= 64000; n *= 4) {
		l = shade_list_new(ctx, 0);
		for (i = 0, total = 0; i < n; i++) {
			k = (i * 7) % 24;
			memset(text, 'a' + (int)(i % 26), k);
			assert_ok(shade_seq_append_str(l, text, k, errp_));
			total += k;
		}
		got = shade_cbor_encode(ctx, l, &on, &len, NULL);
		assert_non_null(got);
		/* tag 203, tag 204, array of 2, two heads */
		assert_int_equal(len, 5 + (n < 24 ? 1 : n < 256 ? 2 : n < 65536
					   ? 3 : 5) + n +
				 (total < 24 ? 1 : total < 256 ? 2
				  : total < 65536 ? 3 : 5) + total);
		assert_ok(shade_cbor_decode(ctx, got, len, &off, &out, errp_));
		assert_int_equal(shade_value_kind(out), SHADE_LIST);
		assert_true(shade_seq_len(out) == n);
		for (i = 0; i < n; i++)
			assert_true(shade_value_equal(shade_seq_at(out, i),
						      shade_seq_at(l, i)));
		talloc_free(out);
		talloc_free(got);
		talloc_free(l);
	}
}

static void test_cbor_mutations(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_cbor_opts opts = { .hooks = &fake_hooks };
	shade_cbor_opts zc = { .hooks = &fake_hooks, .zero_copy = true,
			       .max_depth = 8 };
	const int rounds = tu_under_valgrind() ? 300 : 3000;
	int i, ok = 0, k;

	rng_state = 42;
	for (i = 0; i < rounds; i++) {
		shade_value *v = i % 10 ? gen_value(ctx, 0) : every_kind(ctx);
		size_t len, j;
		uint8_t *b = shade_cbor_encode(ctx, v, &opts, &len, NULL);
		int edits = 1 + (int)(rng() % 3);

		assert_non_null(b);
		b = talloc_realloc_size(ctx, b, len + 8);
		for (k = 0; k < edits; k++) {
			j = rng() % len;
			switch (rng() % 4) {
			case 0:
				b[j] = (uint8_t)rng();
				break;
			case 1:
				b[j] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 2:
				memmove(b + j + 1, b + j, len - j);
				b[j] = (uint8_t)rng();
				len++;
				break;
			default:
				len = j + 1;
				break;
			}
		}
		for (k = 0; k < 2; k++) {
			shade_value *out = NULL;
			shade_error *err = NULL;
			shade_cbor_dec d;
			shade_status st = shade_cbor_decode(ctx, b, len,
							    k ? &zc : &opts,
							    &out, &err);

			if (st == SHADE_OK) {
				ok++;
				assert_null(err);
				shade_cbor_dec_init(&d, b, len);
				if (shade_cbor_skip(&d, k ? 8 : 0, &err))
					fail_msg("%d %s: %s", k, shade_hex_encode(ctx, b, len), err->message);
				assert_true(shade_cbor_dec_done(&d));
			} else {
				assert_null(out);
				assert_non_null(err);
				assert_int_equal(err->code, st);
			}
			talloc_free(out);
			shade_error_free(err);
		}
		talloc_free(b);
		talloc_free(v);
	}
	for (k = 0; k < 4; k++)
		assert_int_equal(fake_refs[k].holders, 0);
	assert_true(ok > 0);
}

/* ------------------------------------------------------------ cross-check */

/* Path of the Python interpreter that has cbor2 (Debian's). */
#define PYTHON "/usr/bin/python3"
/* The script, relative to the top of the tree. */
#define SCRIPT "tests/cbor_crosscheck.py"
/* Bound on any single wait for the script. */
#define WAIT_MS 20000

/* A running script. */
struct peer {
	pid_t pid;   /* the child */
	int to;      /* its stdin */
	int from;    /* its stdout */
};

/* Start the script with args; fails the test when it cannot. */
static void peer_start(struct peer *p, const char *a1, const char *a2,
		       const char *a3)
{
	int in[2], out[2];

	if (access(PYTHON, X_OK) != 0)
		fail_msg(PYTHON " is missing: the cross-check needs Debian's "
			 "python3 with python3-cbor2");
	if (access(SCRIPT, R_OK) != 0)
		fail_msg(SCRIPT " not found: run the suite from the top of "
			 "the tree");
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(PYTHON, "python3", SCRIPT, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->to = in[1];
	p->from = out[0];
}

/* Read exactly n bytes from the script within WAIT_MS; false at EOF. */
static bool peer_read(struct peer *p, void *buf, size_t n)
{
	uint8_t *d = buf;
	int64_t deadline = tu_now_ms() + WAIT_MS;

	while (n > 0) {
		struct pollfd pfd = { p->from, POLLIN, 0 };
		int64_t left = deadline - tu_now_ms();
		ssize_t r;

		if (left <= 0)
			fail_msg("the cross-check script did not answer in "
				 "time");
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (pfd.revents == 0)
			continue;
		r = read(p->from, d, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		d += r;
		n -= (size_t)r;
	}
	return true;
}

/* End the script: close its input, reap it, check it exited 0. */
static void peer_finish(struct peer *p)
{
	int status = 0;

	close(p->to);
	if (!tu_wait_child(p->pid, WAIT_MS, &status)) {
		tu_kill_child(p->pid);
		close(p->from);
		fail_msg("the cross-check script did not exit");
	}
	close(p->from);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		fail_msg("the cbor2 module is missing for " PYTHON
			 " (install python3-cbor2)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the cross-check script failed (status 0x%x)", status);
}

/* Read one frame from the script onto ctx; NULL at end of output. */
static uint8_t *peer_frame(TALLOC_CTX *ctx, struct peer *p, size_t *len)
{
	uint8_t head[4], *b;

	if (!peer_read(p, head, 4))
		return NULL;
	*len = (size_t)head[0] << 24 | (size_t)head[1] << 16 |
	       (size_t)head[2] << 8 | head[3];
	b = talloc_size(ctx, *len + 1);
	assert_non_null(b);
	if (!peer_read(p, b, *len))
		fail_msg("the cross-check script ended inside a frame");
	return b;
}

/* A small deterministic generator (xorshift64*). */

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* Append code point c as UTF-8. */
static size_t put_utf8(char *p, uint32_t c)
{
	if (c < 0x80) {
		p[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		p[0] = (char)(0xc0 | c >> 6);
		p[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		p[0] = (char)(0xe0 | c >> 12);
		p[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		p[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | c >> 18);
	p[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	p[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Random text (no NUL when `c_string`) as a box on ctx. */
static shade_value *gen_text(TALLOC_CTX *ctx, bool c_string)
{
	char buf[64];
	size_t n = 0, i, count = rng() % 10;

	for (i = 0; i < count; i++) {
		uint32_t c;

		switch (rng() % 4) {
		case 0:
			c = (uint32_t)(rng() % 0x80);
			break;
		case 1:
			c = 0x80 + (uint32_t)(rng() % 0x780);
			break;
		case 2:
			c = 0x800 + (uint32_t)(rng() % 0xf800);
			if (c >= 0xd800 && c <= 0xdfff)
				c = 0xfffd;
			break;
		default:
			c = 0x10000 + (uint32_t)(rng() % 0x100000);
			break;
		}
		if (c == 0 && c_string)
			c = '0';
		n += put_utf8(buf + n, c);
	}
	return shade_strn(ctx, buf, n);
}

/* A random int64 of varied magnitude. */
static int64_t gen_int(void)
{
	static const int bits[] = { 4, 8, 16, 32, 63 };
	uint64_t u = rng() & ((UINT64_C(1) << bits[rng() % 5]) - 1);

	return rng() % 2 ? (int64_t)u : -1 - (int64_t)u;
}

/* A random double: special, exactly single, or any.  No exact halves of
 * magnitude 32768..65504: cbor2 5.4.6 encodes those as singles (see
 * cbor_crosscheck.py). */
static double gen_float(void)
{
	static const double special[] = {
		0.0, -0.0, 1.5, 6.103515625e-5, 1e300, -4.1, INFINITY, -INFINITY,
		NAN, 100000.0, 5.960464477539063e-8
	};
	uint64_t u = rng();

	switch (rng() % 4) {
	case 0:
		return special[u % (sizeof(special) / sizeof(special[0]))];
	case 1: {
		uint32_t bits = (uint32_t)(u % 0x7f800000);
		float f;

		memcpy(&f, &bits, 4);
		return f;
	}
	default: {
		double f;

		u &= UINT64_C(0x7fffffffffffffff);
		memcpy(&f, &u, 8);
		return f;
	}
	}
}

static shade_value *gen_value(TALLOC_CTX *ctx, int depth);

/* Random bytes, fewer than max (<= 16), as a box on ctx. */
static shade_value *gen_bytes(TALLOC_CTX *ctx, size_t max)
{
	uint8_t raw[16];
	size_t i, n = rng() % max;

	for (i = 0; i < n; i++)
		raw[i] = (uint8_t)rng();
	return shade_bytes(ctx, raw, n);
}

/* A random hashable key (no bool/float: Python would merge 1, 1.0 and
 * True into one key). */
static shade_value *gen_key(TALLOC_CTX *ctx, int depth)
{
	size_t i, n;
	shade_value *t;

	switch (rng() % (depth < 3 ? 5 : 4)) {
	case 0:
		return shade_int(ctx, gen_int());
	case 1:
		return gen_text(ctx, false);
	case 2:
		return gen_bytes(ctx, 6);
	case 3:
		return shade_none(ctx);
	default:
		n = rng() % 3;
		t = shade_tuple_new(ctx, n);
		for (i = 0; i < n; i++)
			assert_int_equal(shade_seq_append_take(t, gen_key(ctx,
					 depth + 1), NULL), SHADE_OK);
		return t;
	}
}

/* One key/value pair and the key's encoding, for canonical ordering. */
struct pair {
	shade_value *k;    /* key box */
	shade_value *v;    /* value box */
	uint8_t *enc;      /* key's encoding */
	size_t len;        /* its length */
};

/* Canonical (RFC 7049) key order: shorter encoding first, then bytes. */
static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->enc, y->enc, x->len);
}

/* A random dict whose keys are inserted in canonical order, so its
 * deterministic encoding is also the canonical one. */
static shade_value *gen_dict(TALLOC_CTX *ctx, int depth)
{
	struct pair p[5];
	size_t n = rng() % 5, i, j, m = 0;
	shade_value *d = shade_dict_new(ctx, n);

	for (i = 0; i < n; i++) {
		p[m].k = gen_key(ctx, depth + 1);
		p[m].v = gen_value(ctx, depth + 1);
		p[m].enc = shade_cbor_encode(ctx, p[m].k, NULL, &p[m].len, NULL);
		for (j = 0; j < m; j++)
			if (shade_value_equal(p[j].k, p[m].k))
				break;
		if (j < m) {
			talloc_free(p[m].k);
			talloc_free(p[m].v);
			talloc_free(p[m].enc);
		} else {
			m++;
		}
	}
	qsort(p, m, sizeof(p[0]), pair_cmp);
	for (i = 0; i < m; i++) {
		talloc_free(p[i].enc);
		assert_int_equal(shade_dict_set_take(d, p[i].k, p[i].v, NULL),
				 SHADE_OK);
	}
	return d;
}

/* A random exception. */
static shade_value *gen_exc(TALLOC_CTX *ctx, int depth)
{
	static const char *const names[] = {
		"KeyError", "ValueError", "bank.Overdrawn", "NoSuchError"
	};
	shade_error *e = NULL;
	shade_value *msg = gen_text(ctx, true);
	size_t i, n;

	shade_error_set_named(&e, SHADE_ERR_USER, names[rng() % 4], "%s",
			      shade_value_cstr(msg));
	talloc_free(msg);
	assert_non_null(e);
	n = rng() % 3;
	e->args = shade_tuple_new(e, n);
	for (i = 0; i < n; i++)
		assert_int_equal(shade_seq_append_take(e->args, gen_value(ctx,
				 depth + 1), NULL), SHADE_OK);
	n = rng() % 3;
	for (i = 0; i < n; i++) {
		shade_value *a = gen_text(ctx, true), *b = gen_text(ctx, true);

		assert_int_equal(shade_error_push_frame(e, shade_value_cstr(a),
				 shade_value_cstr(b), "m"), SHADE_OK);
		talloc_free(a);
		talloc_free(b);
	}
	return shade_exc_take(ctx, e);
}

/* A random value of any kind but ref. */
static shade_value *gen_value(TALLOC_CTX *ctx, int depth)
{
	size_t i, n;
	shade_value *s;

	switch (rng() % (depth < 4 ? 11 : 6)) {
	case 0:
		return shade_none(ctx);
	case 1:
		return shade_bool(ctx, rng() % 2);
	case 2:
		return shade_int(ctx, gen_int());
	case 3:
		return shade_float(ctx, gen_float());
	case 4:
		return gen_text(ctx, false);
	case 5:
		return gen_bytes(ctx, 12);
	case 6:
	case 7:
		n = rng() % 5;
		s = rng() % 2 ? shade_tuple_new(ctx, n) : shade_list_new(ctx, n);
		for (i = 0; i < n; i++)
			assert_int_equal(shade_seq_append_take(s, gen_value(ctx,
					 depth + 1), NULL), SHADE_OK);
		return s;
	case 8:
	case 9:
		return gen_dict(ctx, depth);
	default:
		return gen_exc(ctx, depth);
	}
}

/* C -> cbor2 -> C: our bytes decode in cbor2 and its canonical
 * re-encoding is byte-identical; its bytes decode back to our value. */
static void test_cbor_crosscheck_to_python(void **state)
{
	TALLOC_CTX *ctx = *state;
	const int count = tu_under_valgrind() ? 60 : 300;
	struct peer p;
	int i;

	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	peer_start(&p, "echo", NULL, NULL);
	for (i = 0; i < count; i++) {
		shade_value *v = gen_value(ctx, 0), *back = NULL;
		shade_error *err = NULL;
		size_t len, rlen;
		uint8_t *b = shade_cbor_encode(ctx, v, NULL, &len, &err);
		uint8_t head[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
				    (uint8_t)(len >> 8), (uint8_t)len };
		uint8_t *r;

		assert_non_null(b);
		if (tu_write_all(p.to, head, 4) != 0 ||
		    tu_write_all(p.to, b, len) != 0)
			peer_finish(&p);
		r = peer_frame(ctx, &p, &rlen);
		if (r == NULL) {
			peer_finish(&p);
			fail_msg("the cross-check script stopped");
		}
		if (rlen != len || memcmp(r, b, len) != 0) {
			char *d = shade_value_diag(ctx, v);

			fail_msg("value %d %s:\n ours  %s\n cbor2 %s", i, d,
				 shade_hex_encode(ctx, b, len),
				 shade_hex_encode(ctx, r, rlen));
		}
		assert_int_equal(shade_cbor_decode(ctx, r, rlen, NULL, &back,
						   &err), SHADE_OK);
		assert_true(shade_value_equal(v, back));
		talloc_free(back);
		talloc_free(r);
		talloc_free(b);
		talloc_free(v);
	}
	peer_finish(&p);
}

/* cbor2 -> C: values generated and encoded (canonically) by cbor2
 * decode here, and re-encode to the very same bytes, with or without
 * zero-copy. */
static void test_cbor_crosscheck_from_python(void **state)
{
	TALLOC_CTX *ctx = *state;
	const char *count = tu_under_valgrind() ? "60" : "300";
	shade_cbor_opts zc = { .zero_copy = true };
	struct peer p;
	uint8_t *b;
	size_t len;
	int n = 0;

	peer_start(&p, "generate", "8949", count);
	while ((b = peer_frame(ctx, &p, &len)) != NULL) {
		shade_value *v = NULL, *z = NULL;
		shade_error *err = NULL;
		size_t olen;
		uint8_t *o;

		if (shade_cbor_decode(ctx, b, len, NULL, &v, &err) != SHADE_OK)
			fail_msg("frame %d %s: %s", n,
				 shade_hex_encode(ctx, b, len), err->message);
		o = shade_cbor_encode(ctx, v, NULL, &olen, NULL);
		if (olen != len || memcmp(o, b, len) != 0)
			fail_msg("frame %d:\n cbor2 %s\n ours  %s", n,
				 shade_hex_encode(ctx, b, len),
				 shade_hex_encode(ctx, o, olen));
		assert_int_equal(shade_cbor_decode(ctx, b, len, &zc, &z, NULL),
				 SHADE_OK);
		assert_true(shade_value_equal(v, z));
		talloc_free(z);
		talloc_free(o);
		talloc_free(v);
		talloc_free(b);
		n++;
	}
	peer_finish(&p);
	assert_int_equal(n, atoi(count));
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The decoding tables, each a prefix of its rows' case names. */
static const struct {
	const char *name;             /* case name prefix */
	const struct dec_row *rows;   /* the rows */
	size_t n;                     /* their count */
} dec_tables[] = {
	{ "test_cbor_appendix_a", appendix_a, N(appendix_a) },
	{ "test_cbor_malformed", malformed, N(malformed) },
	{ "test_cbor_error_messages", messages, N(messages) },
	{ "test_cbor_count_limits", limits, N(limits) },
	{ "test_cbor_bignum_edges", bignums, N(bignums) },
};

/* The cases that are functions. */
static const struct CMUnitTest functions[] = {
	SUITE_CASE(test_cbor_every_kind_round_trip),
	SUITE_CASE(test_cbor_encode_depth),
	SUITE_CASE(test_cbor_depth_limit),
	SUITE_CASE(test_cbor_item_api),
	SUITE_CASE(test_cbor_buf),
	SUITE_CASE(test_cbor_buf_inline),
	SUITE_CASE(test_cbor_zero_copy),
	SUITE_CASE(test_cbor_big_array_allocations),
	SUITE_CASE(test_cbor_short_string_runs),
	SUITE_CASE(test_cbor_text_arrays),
	SUITE_CASE(test_cbor_mutations),
	SUITE_CASE(test_cbor_crosscheck_to_python),
	SUITE_CASE(test_cbor_crosscheck_from_python),
};

/* The case name of row i of a table: prefix, index and input. */
static const char *row_name(TALLOC_CTX *mem_ctx, const char *prefix,
			    size_t i, const char *hex)
{
	char *name = talloc_asprintf(mem_ctx, "%s_%02zu_", prefix, i);

	for (; *hex != '\0'; hex++)
		if (*hex != ' ')
			name = talloc_asprintf_append(name, "%c", *hex);
	assert_non_null(name);
	return name;
}

/* One cmocka case per row (named after its table, index and input, so
 * `test_cbor 'test_cbor_malformed*'` runs one table), then the
 * functions. */
int main(int argc, char **argv)
{
	TALLOC_CTX *names = talloc_new(NULL);
	struct CMUnitTest *cases;
	size_t n = 0, i, k;
	int failed;

	for (k = 0; k < N(dec_tables); k++)
		n += dec_tables[k].n;
	n += N(heads) + N(functions);
	cases = talloc_array(names, struct CMUnitTest, n);
	assert_non_null(cases);
	n = 0;
	for (k = 0; k < N(dec_tables); k++)
		for (i = 0; i < dec_tables[k].n; i++) {
			const struct dec_row *t = &dec_tables[k].rows[i];
			const struct CMUnitTest c =
				SUITE_ROW(test_cbor_decode, t);

			cases[n] = c;
			cases[n++].name = row_name(names, dec_tables[k].name,
						   i, t->hex);
		}
	for (i = 0; i < N(heads); i++) {
		const struct CMUnitTest c =
			SUITE_ROW(test_cbor_encode, &heads[i]);

		cases[n] = c;
		cases[n++].name = row_name(names,
					   "test_cbor_deterministic_heads", i,
					   heads[i].hex);
	}
	for (i = 0; i < N(functions); i++)
		cases[n++] = functions[i];

	signal(SIGPIPE, SIG_IGN);
	talloc_enable_null_tracking();
	failed = suite_run_rows("cbor", cases, n, argc, argv);
	talloc_disable_null_tracking();
	talloc_free(names);
	return failed;
}
