/*
 * test_typed_arrays.c - lists and tuples of numbers as RFC 8746 typed
 * arrays (doc/protocol.md 7.4): the bytes the encoder writes (the
 * narrowest int layout, float64, the minimum length, mixed kinds, lists
 * under tag 203), every layout the decoder reads, each malformed or
 * out-of-limit one refused with its own error; then over a Unix socket
 * to a server on a thread: FORCE of a shared list of 100 000 ints, of
 * floats and of short strings with every item checked, the bytes that
 * crossed with and without HELLO feature 32 (shade_conn_opts
 * .no_typed_arrays), a typed array sent as an argument, and a bad one
 * refused for its request while the connection carries on.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "helpers/peer.h"
#include "helpers/raw.h"
#include "helpers/suite.h"
#include "shade/shade.h"

/* Items of the large shared lists. */
#define BIG_N 100000

/* ============================================================ helpers */

/* A tuple (or list) of the n ints v[i]. */
static shade_value *ints(TALLOC_CTX *ctx, bool list, const int64_t *v,
			 size_t n)
{
	shade_value *t = list ? shade_list_new(ctx, n) : shade_tuple_new(ctx, n);
	size_t i;

	assert_non_null(t);
	for (i = 0; i < n; i++) {
		shade_value x = shade_value_int(v[i]);

		assert_ok(shade_seq_append(t, &x, errp_));
	}
	return t;
}

/* The encoding of v with typed arrays on (or off) as hex, on ctx. */
static char *enc_hex(TALLOC_CTX *ctx, const shade_value *v, bool typed)
{
	shade_cbor_opts o = { .typed_arrays = typed };
	size_t len = 0;
	uint8_t *b = shade_cbor_encode(ctx, v, &o, &len, NULL);
	char *h;

	assert_non_null(b);
	h = shade_hex_encode(ctx, b, len);
	assert_non_null(h);
	talloc_free(b);
	return h;
}

/* Encode t with typed arrays on: a typed array under tag 0xd8 `tag`
 * that decodes back to t.  The encoding (on ctx), its length in *len. */
static uint8_t *typed_roundtrip(TALLOC_CTX *ctx, const shade_value *t,
				uint8_t tag, size_t *len)
{
	shade_cbor_opts o = { .typed_arrays = true };
	uint8_t *b = shade_cbor_encode(ctx, t, &o, len, NULL);
	shade_value *back = NULL;

	assert_non_null(b);
	assert_int_equal(b[0], 0xd8);
	assert_int_equal(b[1], tag);
	assert_ok(shade_cbor_decode(ctx, b, *len, NULL, &back, errp_));
	assert_true(shade_value_equal(t, back));
	talloc_free(back);
	return b;
}

/* Decode hex h (opts o, may be NULL); the status, *out the value. */
static shade_status dec_hex(TALLOC_CTX *ctx, const char *h,
			    const shade_cbor_opts *o, shade_value **out,
			    shade_error **err)
{
	size_t n;
	uint8_t *b = shade_hex_decode(ctx, h, &n);
	shade_status st;

	assert_non_null(b);
	st = shade_cbor_decode(ctx, b, n, o, out, err);
	talloc_free(b);
	return st;
}

/* Decoding hex h fails with status want and a message containing
 * `part`; nothing is left allocated. */
static void dec_fails(const char *h, const shade_cbor_opts *o,
		      shade_status want, const char *part)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_value *v = NULL;
	shade_error *e = NULL;

	assert_int_equal(dec_hex(ctx, h, o, &v, &e), want);
	assert_null(v);
	assert_non_null(e);
	if (strstr(e->message, part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e->message, part);
	shade_error_free(e);
	talloc_free(ctx);
}

/* ============================================================ encoding */

/* Each width: the narrowest int layout holding every item, its bytes
 * exactly, and the minimum of 16 items. */
static void test_typed_encode_ints(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int64_t v[16];
	size_t i;

	for (i = 0; i < 16; i++)
		v[i] = (int64_t)i - 8; /* -8 .. 7 */
	assert_string_equal(enc_hex(ctx, ints(ctx, false, v, 16), true),
			    "d84850f8f9fafbfcfdfeff0001020304050607");
	v[15] = 127, v[0] = -128;
	assert_string_equal(enc_hex(ctx, ints(ctx, false, v, 16), true),
			    "d8485080f9fafbfcfdfeff000102030405067f");
	v[15] = 128; /* int16 */
	assert_string_equal(enc_hex(ctx, ints(ctx, false, v, 16), true),
			    "d84d582080fff9fffafffbfffcfffdfffeffffff000001"
			    "0002000300040005000600"
			    "8000");
	v[15] = 32768; /* int32 */
	assert_string_equal(enc_hex(ctx, ints(ctx, false, v, 16), true),
			    "d84e584080fffffff9fffffffafffffffbfffffffcffff"
			    "fffdfffffffeffffffffffffff000000000100000002"
			    "0000000300000004000000050000000600000000800000");
	v[15] = INT64_MIN; /* int64 */
	assert_string_equal(
		enc_hex(ctx, ints(ctx, false, v, 16), true),
		"d84f588080ffffffffffffff"
		"f9fffffffffffffffafffffffffffffffbffffffffffffff"
		"fcfffffffffffffffdfffffffffffffffeffffffffffffff"
		"ffffffffffffffff00000000000000000100000000000000"
		"02000000000000000300000000000000040000000000000005"
		"000000000000000600000000000000"
		"0000000000000080");
	/* 15 items: a CBOR array; the option off: a CBOR array */
	assert_string_equal(enc_hex(ctx, ints(ctx, false, v + 1, 15), false),
			    enc_hex(ctx, ints(ctx, false, v + 1, 15), true));
	assert_string_equal(
		enc_hex(ctx, ints(ctx, false, v, 16), false),
		"90387f262524232221200001020304050"
		"63b7fffffffffffffff");
	talloc_free(ctx);
}

/* Floats as float32 LE when every one fits exactly, else float64 LE
 * (one NaN either way); a list under tag 203; and what stays a CBOR
 * array: mixed kinds. */
static void test_typed_encode_floats_lists(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *t = shade_tuple_new(ctx, 16), *l;
	shade_value x;
	int64_t v[16] = { 0 };
	char *h;
	size_t i;

	for (i = 0; i < 16; i++) {
		x = shade_value_float(i == 1 ? -NAN : (double)i / 2);
		assert_ok(shade_seq_append(t, &x, errp_));
	}
	h = enc_hex(ctx, t, true);
	assert_int_equal(strlen(h), 2 * (2 + 2 + 64));
	/* 0.0, NaN, 1.0 */
	assert_memory_equal(h, "d8555840" "00000000" "0000c07f" "0000803f", 32);
	/* 0.1 has no float: the whole array float64 */
	x = shade_value_float(0.1);
	assert_ok(shade_seq_set(t, 15, &x, errp_));
	h = enc_hex(ctx, t, true);
	assert_int_equal(strlen(h), 2 * (2 + 2 + 128));
	assert_memory_equal(h, "d8565880" "0000000000000000"
			       "000000000000f87f" "000000000000f03f", 56);
	assert_memory_equal(h + 2 * (4 + 120), "9a9999999999b93f", 16);
	/* the same list shared as a list: tag 203 over the typed array */
	l = ints(ctx, true, v, 16);
	assert_string_equal(enc_hex(ctx, l, true),
			    "d8cbd84850" "00000000000000000000000000000000");
	/* one float among ints: mixed, a CBOR array */
	x = shade_value_float(0.5);
	assert_ok(shade_seq_set(l, 3, &x, errp_));
	assert_string_equal(enc_hex(ctx, l, true),
			    enc_hex(ctx, l, false));
	assert_memory_equal(enc_hex(ctx, l, true), "d8cb90000000f93800", 18);
	talloc_free(ctx);
}

/* Arrays of several of the encoder's blocks (4 096 items): an item
 * that needs a wider layout, a float64, a NaN or another kind in a
 * later block (its first item, its last, or the short last block) is
 * found there, and what comes back equals what went, every item in the
 * layout the widest one needs. */
static void test_typed_encode_blocks(void **state)
{
	enum { N = 10000 };
	static const size_t at[] = { 4095, 4096, 5000, 8191, 8192, N - 1 };
	static const struct { int64_t v; uint8_t tag; } wide[] = {
		{ 1000, 0x4d }, { 100000, 0x4e }, { INT64_MIN, 0x4f }
	};
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_cbor_opts o = { .typed_arrays = true };
	shade_value *str = shade_str(ctx, "s"), *t, x;
	uint8_t *b;
	size_t len, i, k, w;
	uint32_t u4, want;
	float f4;

	for (k = 0; k < sizeof at / sizeof at[0]; k++) {
		for (w = 0; w < 3; w++) {
			t = shade_tuple_new(ctx, N);
			for (i = 0; i < N; i++) {
				x = shade_value_int(i == at[k] ? wide[w].v
						    : (int64_t)(i % 200) - 100);
				assert_ok(shade_seq_append(t, &x, errp_));
			}
			b = typed_roundtrip(ctx, t, wide[w].tag, &len);
			/* a str there: no typed array at all */
			assert_ok(shade_seq_set(t, at[k], str, errp_));
			talloc_free(b);
			b = shade_cbor_encode(ctx, t, &o, &len, NULL);
			assert_non_null(b);
			assert_int_equal(b[0], 0x99); /* array, 2-byte count */
			talloc_free(b);
			talloc_free(t);
		}
		/* floats: a NaN there stays float32, the one NaN; 0.1 there
		 * makes all of them float64 */
		t = shade_tuple_new(ctx, N);
		for (i = 0; i < N; i++) {
			x = shade_value_float(i == at[k] ? -NAN : (double)i / 4);
			assert_ok(shade_seq_append(t, &x, errp_));
		}
		b = shade_cbor_encode(ctx, t, &o, &len, NULL);
		assert_non_null(b);
		assert_int_equal(b[1], 0x55);
		/* tag, 3-byte head (40 000 bytes), the floats */
		assert_int_equal(len, 2 + 3 + 4 * (size_t)N);
		memcpy(&u4, b + 5 + 4 * at[k], 4);
		assert_int_equal(u4, 0x7fc00000);
		f4 = (float)(at[k] ^ 1) / 4; /* its neighbour */
		memcpy(&want, &f4, 4);
		memcpy(&u4, b + 5 + 4 * (at[k] ^ 1), 4);
		assert_int_equal(u4, want);
		talloc_free(b);
		x = shade_value_float(0.1);
		assert_ok(shade_seq_set(t, at[k], &x, errp_));
		b = typed_roundtrip(ctx, t, 0x56, &len);
		assert_int_equal(len, 2 + 5 + 8 * (size_t)N); /* 5-byte head */
		talloc_free(b);
		talloc_free(t);
	}
	talloc_free(str);
	talloc_free(ctx);
}

/* ============================================================ decoding */

/* Every integer layout of RFC 8746 (width, signedness, byte order) and
 * half, single and double floats in both orders. */
static void test_typed_decode_layouts(void **state)
{
	static const struct {
		const char *hex;  /* the item */
		int64_t v[2];     /* its two ints (when !flt) */
		double f[2];      /* its two floats (when flt) */
		bool flt;         /* floats */
	} cases[] = {
		{ "d84042ff01", { 255, 1 }, { 0 }, false },       /* uint8 */
		{ "d84442ff01", { 255, 1 }, { 0 }, false },       /* clamped */
		{ "d84842ff01", { -1, 1 }, { 0 }, false },        /* sint8 */
		{ "d84144ff000001", { 65280, 1 }, { 0 }, false }, /* u16 BE */
		{ "d84544ff000001", { 255, 256 }, { 0 }, false }, /* u16 LE */
		{ "d84944fffe0001", { -2, 1 }, { 0 }, false },    /* s16 BE */
		{ "d84d44feff0100", { -2, 1 }, { 0 }, false },    /* s16 LE */
		{ "d8424800000102fffffffe", { 258, 4294967294 }, { 0 },
		  false },                                        /* u32 BE */
		{ "d8464802010000feffffff", { 258, 4294967294 }, { 0 },
		  false },                                        /* u32 LE */
		{ "d84a48fffffffe00000001", { -2, 1 }, { 0 }, false },
		{ "d84e48feffffff01000000", { -2, 1 }, { 0 }, false },
		{ "d84350" "0000000000000102" "7fffffffffffffff",
		  { 258, INT64_MAX }, { 0 }, false },             /* u64 BE */
		{ "d84750" "0201000000000000" "ffffffffffffff7f",
		  { 258, INT64_MAX }, { 0 }, false },             /* u64 LE */
		{ "d84b50" "8000000000000000" "fffffffffffffffe",
		  { INT64_MIN, -2 }, { 0 }, false },              /* s64 BE */
		{ "d84f50" "0000000000000080" "feffffffffffffff",
		  { INT64_MIN, -2 }, { 0 }, false },              /* s64 LE */
		{ "d850443c00c000", { 0 }, { 1.0, -2.0 }, true },  /* f16 BE */
		{ "d85444003c00c0", { 0 }, { 1.0, -2.0 }, true },  /* f16 LE */
		{ "d851483f800000c0000000", { 0 }, { 1.0, -2.0 }, true },
		{ "d855480000803f000000c0", { 0 }, { 1.0, -2.0 }, true },
		{ "d85250" "3ff0000000000000" "c000000000000000", { 0 },
		  { 1.0, -2.0 }, true },                          /* f64 BE */
		{ "d85650" "000000000000f03f" "00000000000000c0", { 0 },
		  { 1.0, -2.0 }, true },                          /* f64 LE */
	};
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ok(dec_hex(ctx, cases[i].hex, NULL, &v, errp_));
		assert_int_equal(shade_value_kind(v), SHADE_TUPLE);
		assert_int_equal(shade_seq_len(v), 2);
		for (int k = 0; k < 2; k++) {
			const shade_value *it = shade_seq_at(v, (size_t)k);

			if (cases[i].flt) {
				assert_int_equal(shade_value_kind(it),
						 SHADE_FLOAT);
				assert_true(it->u.f == cases[i].f[k]);
			} else {
				assert_int_equal(shade_value_kind(it),
						 SHADE_INT);
				if (it->u.i != cases[i].v[k])
					fail_msg("%s item %d: %lld", cases[i].hex,
						 k, (long long)it->u.i);
			}
		}
		talloc_free(v);
	}
	/* tag 203 over a typed array is a list; an empty one is a tuple */
	assert_ok(dec_hex(ctx, "d8cbd8484101", NULL, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_LIST);
	assert_int_equal(shade_seq_at(v, 0)->u.i, 1);
	talloc_free(v);
	assert_ok(dec_hex(ctx, "d84f40", NULL, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_TUPLE);
	assert_int_equal(shade_seq_len(v), 0);
	talloc_free(v);
	talloc_free(ctx);
}

/* Round trip across every width boundary: what comes back equals what
 * went, in the narrowest layout. */
static void test_typed_roundtrip_bounds(void **state)
{
	static const int64_t edges[] = { INT8_MIN, INT8_MAX, INT8_MAX + 1,
					 INT16_MIN, INT16_MAX, INT16_MAX + 1,
					 INT32_MIN, (int64_t)INT32_MAX + 1,
					 INT64_MIN, INT64_MAX };
	static const char tags[] = { 0x48, 0x48, 0x4d, 0x4d, 0x4d, 0x4e, 0x4e,
				     0x4f, 0x4f, 0x4f };
	TALLOC_CTX *ctx = talloc_new(*state);
	int64_t v[40];
	shade_value *t;
	uint8_t *b;
	size_t len, i, k;

	for (k = 0; k < sizeof(edges) / sizeof(edges[0]); k++) {
		for (i = 0; i < 40; i++)
			v[i] = i == 37 ? edges[k] : (int64_t)(i % 7) - 3;
		t = ints(ctx, false, v, 40);
		b = typed_roundtrip(ctx, t, (uint8_t)tags[k], &len);
		talloc_free(b);
		talloc_free(t);
	}
	talloc_free(ctx);
}

/* Each malformed typed array and each limit: its own error and message,
 * nothing allocated left behind (the fixture counts blocks). */
static void test_typed_decode_refused(void **state)
{
	shade_cbor_opts lim = { .max_len = 3 }, items = { .max_items = 4 },
			deep = { .max_depth = 1 };

	(void)state;
	dec_fails("d84e450102030405", NULL, SHADE_ERR_PROTOCOL,
		  "not a multiple of 4");
	dec_fails("d84f820102", NULL, SHADE_ERR_PROTOCOL,
		  "not over a definite byte string");
	dec_fails("d84f5f4101ff", NULL, SHADE_ERR_PROTOCOL,
		  "not over a definite byte string");
	dec_fails("d84c4101", NULL, SHADE_ERR_PROTOCOL,
		  "tag 76 at offset 0 is not supported");
	dec_fails("d857500000000000000000000000000000000000", NULL,
		  SHADE_ERR_PROTOCOL, "tag 87 at offset 0 is not supported");
	dec_fails("d84748ffffffffffffffff", NULL, SHADE_ERR_OVERFLOW,
		  "item 0 of the typed array at offset 0");
	dec_fails("d8435000000000000000018000000000000000", NULL,
		  SHADE_ERR_OVERFLOW, "item 1 of the typed array");
	dec_fails("d84e50010203", NULL, SHADE_ERR_TRUNCATED, "16 bytes");
	dec_fails("d84e50" "00000000000000000000000000000000", &lim,
		  SHADE_ERR_LIMIT, "of 4 items exceeds the limit of 3");
	dec_fails("d84e50" "00000000000000000000000000000000", &items,
		  SHADE_ERR_LIMIT, "more than 4 items");
	dec_fails("81d84e4400000000", &deep, SHADE_ERR_TOO_DEEP,
		  "deeper than 1");
	dec_fails("d8cbd8cb4100", NULL, SHADE_ERR_PROTOCOL,
		  "does not wrap an array");
}

/* ============================================================ over a socket */

/* demo.Box.echo(x): x back. */
static shade_status echo_fn(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, shade_seq_at(call->args, 0));
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

/* Export a shared list of BIG_N items as name: ints i * 37 - 5, floats
 * i / 8, or short strings "s<i>". */
static void export_list(tp_server *v, const char *name, shade_kind kind)
{
	shade_value *l = shade_list_new(NULL, BIG_N), x, *s;
	shade_ref *r;
	char text[16];
	size_t i;

	for (i = 0; i < BIG_N; i++) {
		if (kind == SHADE_STR) {
			snprintf(text, sizeof text, "s%zu", i);
			s = shade_str(NULL, text);
			assert_ok(shade_seq_append(l, s, errp_));
			talloc_free(s);
			continue;
		}
		x = kind == SHADE_INT ? shade_value_int((int64_t)i * 37 - 5)
				      : shade_value_float((double)i / 8);
		assert_ok(shade_seq_append(l, &x, errp_));
	}
	assert_ok(shade_container_new(l, &r, errp_));
	assert_ok(shade_server_export(v->s, name, r, errp_));
	shade_ref_release(r);
}

/* A server exporting "ints", "floats", "strs" and "box" (echo). */
static tp_server *srv_start(TALLOC_CTX *ctx)
{
	tp_server *v = tp_server_new(ctx, NULL);
	shade_ref *box;

	export_list(v, "ints", SHADE_INT);
	export_list(v, "floats", SHADE_FLOAT);
	export_list(v, "strs", SHADE_STR);
	assert_ok(shade_object_new("demo.Box", NULL, &box, errp_));
	assert_ok(shade_object_add_method(box, "echo", echo_fn, NULL, false,
					  errp_));
	assert_ok(shade_server_export(v->s, "box", box, errp_));
	shade_ref_release(box);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* Bytes received so far on c. */
static uint64_t received(shade_conn *c)
{
	shade_conn_stats s;

	memset(&s, 0, sizeof s);
	shade_conn_stats_get(c, &s);
	return s.bytes_received;
}

/* FORCE of `name` on c: every item checked; the bytes its reply took. */
static uint64_t force_checked(TALLOC_CTX *ctx, shade_conn *c, const char *name)
{
	shade_ref *r;
	shade_value *all;
	uint64_t b0;
	char text[16];
	size_t i;

	assert_ok(shade_lookup(c, name, &r, errp_));
	b0 = received(c);
	assert_ok(shade_force(ctx, r, &all, errp_));
	b0 = received(c) - b0;
	assert_int_equal(shade_value_kind(all), SHADE_LIST);
	assert_int_equal(shade_seq_len(all), BIG_N);
	for (i = 0; i < BIG_N; i++) {
		const shade_value *it = shade_seq_at(all, i);

		if (name[0] == 'i') {
			assert_int_equal(shade_value_kind(it), SHADE_INT);
			if (it->u.i != (int64_t)i * 37 - 5)
				fail_msg("item %zu is %lld", i,
					 (long long)it->u.i);
		} else if (name[0] == 'f') {
			assert_int_equal(shade_value_kind(it), SHADE_FLOAT);
			assert_true(it->u.f == (double)i / 8);
		} else {
			snprintf(text, sizeof text, "s%zu", i);
			assert_int_equal(shade_value_kind(it), SHADE_STR);
			assert_string_equal(shade_value_as_str(it, NULL), text);
		}
	}
	talloc_free(all);
	shade_ref_release(r);
	return b0;
}

/* FORCE of 100 000 ints, floats and strings, each item checked: with
 * HELLO feature 32 the ints cross as int32 (4 bytes each), the floats as
 * float32 (each fits); a client that turned it off gets the same values as CBOR
 * items (ints up to 3 699 995: 5 bytes each above 65 535). */
static void test_typed_force_socket(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn_opts off = { .no_typed_arrays = true };
	shade_conn *c, *classic;
	uint64_t b_typed, b_classic, b_f, b_f_classic;

	assert_ok(shade_connect(ctx, v->addr, NULL, &c, errp_));
	assert_ok(shade_connect(ctx, v->addr, &off, &classic, errp_));
	b_typed = force_checked(ctx, c, "ints");
	b_classic = force_checked(ctx, classic, "ints");
	b_f = force_checked(ctx, c, "floats");
	b_f_classic = force_checked(ctx, classic, "floats");
	force_checked(ctx, c, "strs");
	force_checked(ctx, classic, "strs");
	print_message("100000 ints: %llu bytes typed, %llu as CBOR items; "
		      "floats %llu / %llu\n", (unsigned long long)b_typed,
		      (unsigned long long)b_classic, (unsigned long long)b_f,
		      (unsigned long long)b_f_classic);
	/* reply head, tags and byte string head: under 32 bytes */
	assert_true(b_typed >= 4 * BIG_N && b_typed < 4 * BIG_N + 32);
	assert_true(b_classic > (uint64_t)4.5 * BIG_N);
	/* i / 8: every one a float32 */
	assert_true(b_f >= 4 * BIG_N && b_f < 4 * BIG_N + 32);
	assert_true(b_f_classic != b_f);
	shade_conn_close(classic);
	shade_conn_close(c);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* A typed array as an argument goes to the server and back (echo); a
 * bad one written on the socket by a raw peer is refused for its
 * request with a ProtocolError naming the fault, another client's
 * calls and the raw peer's next request still answered. */
static void test_typed_argument_and_bad_peer(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c;
	shade_ref *box;
	shade_value *args, *res, *t;
	shade_error *e = NULL;
	struct raw r;
	int64_t vals[1000];
	size_t i;

	assert_ok(shade_connect(ctx, v->addr, NULL, &c, errp_));
	assert_ok(shade_lookup(c, "box", &box, errp_));
	for (i = 0; i < 1000; i++)
		vals[i] = (int64_t)(i * i) - 500;
	t = ints(ctx, false, vals, 1000);
	args = shade_tuple_new(ctx, 1);
	assert_ok(shade_seq_append(args, t, errp_));
	assert_ok(shade_invoke(ctx, box, "echo", args, NULL, &res, errp_));
	assert_true(shade_value_equal(res, t));
	talloc_free(res);
	/* the raw peer: HELLO with feature 32, LOOKUP box (export 1 on its
	 * connection), then echo(78(h'0102030405')): 5 bytes of int32 */
	raw_open(&r, ctx, v->path, NULL, NULL);
	raw_send_hex(&r, "84 00 00 01 18 20");
	raw_send_lookup(&r, 1, "box");
	raw_reply(&r, 1, &e);
	assert_null(e);
	raw_send_hex(&r, "85 03 02 01 64 65 63 68 6f 81 d8 4e 45 01 02 03 04 05");
	raw_reply(&r, 2, &e);
	assert_non_null(e);
	assert_string_equal(e->name, "ProtocolError");
	assert_non_null(strstr(e->message, "not a multiple of 4"));
	shade_error_free(e);
	e = NULL;
	/* the other client, and the raw peer's next request: answered */
	assert_ok(shade_invoke(ctx, box, "echo", args, NULL, &res, errp_));
	assert_true(shade_value_equal(res, t));
	talloc_free(res);
	raw_send_hex(&r, "85 03 03 01 64 65 63 68 6f 81 d8 48 50 "
			 "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
	raw_reply(&r, 3, &e);
	assert_null(e);
	raw_close(&r);
	talloc_free(args);
	talloc_free(t);
	shade_ref_release(box);
	shade_conn_close(c);
	tp_server_stop(v);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_typed_encode_ints),
		SUITE_CASE(test_typed_encode_floats_lists),
		SUITE_CASE(test_typed_encode_blocks),
		SUITE_CASE(test_typed_decode_layouts),
		SUITE_CASE(test_typed_roundtrip_bounds),
		SUITE_CASE(test_typed_decode_refused),
		SUITE_CASE(test_typed_force_socket),
		SUITE_CASE(test_typed_argument_and_bad_peer),
	};

	return SUITE_RUN("typed_arrays", tests, argc, argv);
}
