/*
 * test_bigvals.c - large values over a real socketpair: bytes and
 * strings of several hundred KiB to a few MiB echoed both ways through
 * dynamic and typed calls, the kept-buffer cache reused call after call
 * and bounded, and a received large frame still refused when truncated,
 * over the frame limit, or announced larger than what arrives (no
 * allocation for the announced size).
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "helpers/peer.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"
#include "shade/shade.h"
#include "base/bigbuf_int.h"
#include "base/buf_int.h"
#include "codec/cbor_int.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define WAIT_MS 30000

/* Sizes echoed: below the cache's threshold, at it, 1 MiB, past 2 MiB. */
static const size_t sizes[] = { 100 * KIB, 128 * KIB, MIB, 2 * MIB + 7 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* len bytes of printable ASCII (valid UTF-8), different per seed. */
static uint8_t *pattern(TALLOC_CTX *ctx, size_t len, unsigned seed)
{
	uint8_t *p = talloc_array(ctx, uint8_t, len + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)('a' + (i * 7 + i / 4093 + seed) % 26);
	p[len] = '\0';
	return p;
}

/* echo(x): a copy of x. */
static shade_status dyn_echo(shade_call_ctx *call)
{
	const shade_value *x = shade_seq_at(call->args, 0);

	if (x == NULL)
		return shade_error_set(call->err, SHADE_ERR_TYPE, "one argument");
	call->result = shade_value_copy(call->mem, x);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM, "memory");
}

/* echo_borrow(x): x, its bytes borrowed from the request's argument
 * (encoded and written before the arguments are freed). */
static shade_status dyn_echo_borrow(shade_call_ctx *call)
{
	const shade_value *x = shade_seq_at(call->args, 0);

	if (x == NULL)
		return shade_error_set(call->err, SHADE_ERR_TYPE, "one argument");
	call->result = shade_value_borrow(call->mem, x);
	if (call->result == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM, "memory");
	if (!shade_value_is_borrowed(call->result))
		return shade_error_set(call->err, SHADE_ERR_INVALID,
				       "the result is a copy");
	return SHADE_OK;
}

/* Typed echo: [x] with x bytes or text, written back. */
static shade_status typed_echo(void *self, shade_dispatch_ctx *cx,
			       uint32_t member, shade_dispatch_op op,
			       struct shade_cbor_dec *in, struct shade_buf *out,
			       shade_error **err)
{
	uint64_t n = 0;
	const uint8_t *p = NULL;
	const char *s = NULL;
	size_t len = 0;
	shade_status st;

	(void)self;
	(void)cx;
	if (member != 0 || op != SHADE_DISPATCH_INVOKE)
		return shade_error_set(err, SHADE_ERR_INVALID, "no such member");
	st = shade_cbor_read_array(in, &n, err);
	if (st == SHADE_OK && n != 1)
		st = shade_error_set(err, SHADE_ERR_TYPE, "one argument");
	if (st != SHADE_OK)
		return st;
	if ((in->buf[in->pos] >> 5) == SHADE_CBOR_TEXT) {
		st = shade_cbor_read_text(in, &s, &len, err);
		return st ? st : shade_cbor_put_text(out, s, len);
	}
	st = shade_cbor_read_bytes(in, &p, &len, err);
	return st ? st : shade_cbor_put_bytes(out, p, len);
}

static const shade_member_desc echo_members[] = {
	{ "echo", SHADE_MEMBER_METHOD, "(in any x)->any", NULL },
};
static const shade_shape_desc echo_shape = {
	SHADE_SHAPE_OBJECT, "test.Echo", NULL, 0, echo_members, 1, 0, NULL
};

/* Peers whose server exports "echo" (dynamic) and "techo" (typed). */
static void start(tp_peer *pp, TALLOC_CTX *ctx, shade_ref **dyn,
		  shade_ref **typed)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *o = NULL;

	assert_non_null(reg);
	assert_ok(shade_object_new("test.DynEcho", NULL, &o, errp_));
	assert_ok(shade_object_add_method(o, "echo", dyn_echo, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "echo_borrow", dyn_echo_borrow,
					  NULL, false, errp_));
	assert_ok(shade_registry_add(reg, "echo", o, errp_));
	shade_ref_release(o);
	assert_ok(shade_object_new_typed(&echo_shape, typed_echo, NULL, &o,
					 errp_));
	assert_ok(shade_registry_add(reg, "techo", o, errp_));
	shade_ref_release(o);
	assert_int_equal(tp_start(pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp->client, "echo", dyn, errp_));
	assert_ok(shade_lookup(pp->client, "techo", typed, errp_));
}

/* One dynamic echo of len bytes (str or bytes), checked. */
static void echo_dynamic_by(TALLOC_CTX *ctx, shade_ref *dyn,
			    const char *method, size_t len, bool str,
			    unsigned seed)
{
	TALLOC_CTX *tmp = talloc_new(ctx);
	uint8_t *p = pattern(tmp, len, seed);
	shade_value *args = shade_tuple_new(tmp, 1), *r = NULL;
	const void *got;

	assert_ok(shade_seq_append_take(args,
					str ? shade_str(tmp, (const char *)p)
					    : shade_bytes(tmp, p, len),
					errp_));
	assert_ok(shade_invoke(tmp, dyn, method, args, NULL, &r, errp_));
	assert_int_equal(shade_value_kind(r), str ? SHADE_STR : SHADE_BYTES);
	assert_int_equal(shade_value_len(r), len);
	got = str ? (const void *)shade_value_as_str(r, NULL)
		  : (const void *)shade_value_as_bytes(r, NULL);
	assert_memory_equal(got, p, len);
	talloc_free(tmp);
}

/* One dynamic echo (the copying handler) of len bytes, checked. */
static void echo_dynamic(TALLOC_CTX *ctx, shade_ref *dyn, size_t len,
			 bool str, unsigned seed)
{
	echo_dynamic_by(ctx, dyn, "echo", len, str, seed);
}

/* One typed echo of len bytes (text or bytes), checked in place. */
static void echo_typed(TALLOC_CTX *ctx, shade_ref *typed, size_t len,
		       bool str, unsigned seed)
{
	uint8_t *p = pattern(ctx, len, seed);
	shade_request *call = NULL;
	shade_buf *args = NULL;
	shade_cbor_dec *res = NULL;
	const uint8_t *got = NULL;
	const char *s = NULL;
	size_t n = 0;

	assert_ok(shade_request_begin(typed, 0, SHADE_DISPATCH_INVOKE, NULL,
				      &call, &args, errp_));
	shade_cbor_put_array(args, 1);
	if (str)
		shade_cbor_put_text(args, (const char *)p, len);
	else
		shade_cbor_put_bytes(args, p, len);
	assert_ok(shade_request_finish(call, &res, errp_));
	if (str) {
		assert_ok(shade_cbor_read_text(res, &s, &n, errp_));
		got = (const uint8_t *)s;
	} else {
		assert_ok(shade_cbor_read_bytes(res, &got, &n, errp_));
	}
	assert_int_equal(n, len);
	assert_memory_equal(got, p, len);
	talloc_free(call);
	talloc_free(p);
}

/* Large bytes and strings both ways, dynamic and typed, each size three
 * times: every result is the value sent.  So is the result of a handler
 * that borrows its argument (shade_value_borrow), small ones too: the
 * request frame it points into is freed only after the reply is
 * written (ASan's run of this suite checks that). */
static void test_echo_large_values(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	static const size_t small[] = { 1, 23, 300 };
	tp_peer pp;
	shade_ref *dyn = NULL, *typed = NULL;
	size_t i;
	unsigned k;

	(void)state;
	start(&pp, ctx, &dyn, &typed);
	for (i = 0; i < N_SIZES; i++)
		for (k = 0; k < 3; k++) {
			echo_dynamic(ctx, dyn, sizes[i], k == 1, k + (unsigned)i);
			echo_typed(ctx, typed, sizes[i], k != 1, k + (unsigned)i);
			echo_dynamic_by(ctx, dyn, "echo_borrow", sizes[i],
					k != 1, k + 9 * (unsigned)i);
		}
	for (i = 0; i < 3; i++)
		for (k = 0; k < 2; k++)
			echo_dynamic_by(ctx, dyn, "echo_borrow", small[i],
					k == 1, k + (unsigned)i);
	shade_ref_release(dyn);
	shade_ref_release(typed);
	tp_stop(&pp);
}

/* After a first call of 1 MiB, the next ones take their large buffers
 * from the blocks this thread kept, and only those they cannot do
 * without: the reply frame, and for a dynamic call the argument value
 * echo_dynamic() builds.  The request needs none (its 1 MiB argument is
 * written from where it lies, not copied into a large encoding) and a
 * dynamic result none either (a view of the reply frame it took over). */
static void test_echo_reuses_buffers(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	tp_peer pp;
	shade_ref *dyn = NULL, *typed = NULL;
	unsigned long before;

	(void)state;
	start(&pp, ctx, &dyn, &typed);
	echo_dynamic(ctx, dyn, MIB, false, 1);
	assert_true(bigbuf_kept() >= 1);
	before = bigbuf_reused();
	echo_dynamic(ctx, dyn, MIB, false, 2);
	echo_dynamic(ctx, dyn, MIB, true, 3);
	assert_int_equal(bigbuf_reused() - before, 4);
	before = bigbuf_reused();
	echo_typed(ctx, typed, MIB, false, 4);
	assert_int_equal(bigbuf_reused() - before, 1);
	shade_ref_release(dyn);
	shade_ref_release(typed);
	tp_stop(&pp);
	bigbuf_trim();
	assert_int_equal(bigbuf_kept(), 0);
}

/* A list mixing large strings and small items, echoed dynamically: the
 * request and the reply each reference the large strings (written from
 * where they lie, between the pieces of the encoding) and every item
 * comes back in its place. */
static void test_echo_list_of_large_strings(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	TALLOC_CTX *tmp = talloc_new(ctx);
	tp_peer pp;
	shade_ref *dyn = NULL, *typed = NULL;
	uint8_t *a = pattern(tmp, 300 * KIB, 5), *b = pattern(tmp, MIB, 6);
	shade_value *list = shade_list_new(tmp, 4), *args, *r = NULL;
	shade_call_opts byvalue = { 0, false, true, false };
	const shade_value *it;
	size_t n = 0;

	(void)state;
	start(&pp, ctx, &dyn, &typed);
	assert_ok(shade_seq_append_take(list, shade_bytes(tmp, a, 300 * KIB),
					errp_));
	assert_ok(shade_seq_append_take(list, shade_str(tmp, "between"),
					errp_));
	assert_ok(shade_seq_append_take(list, shade_str(tmp, (const char *)b),
					errp_));
	assert_ok(shade_seq_append_take(list, shade_int(tmp, 7), errp_));
	args = shade_tuple_new(tmp, 1);
	assert_ok(shade_seq_append_take(args, list, errp_));
	assert_ok(shade_invoke_ex(tmp, dyn, "echo", args, NULL, &byvalue, &r,
				  errp_));
	assert_int_equal(shade_value_kind(r), SHADE_LIST);
	assert_int_equal(shade_value_len(r), 4);
	it = shade_seq_at(r, 0);
	assert_int_equal(shade_value_kind(it), SHADE_BYTES);
	assert_memory_equal(shade_value_as_bytes(it, &n), a, 300 * KIB);
	assert_int_equal(n, 300 * KIB);
	assert_string_equal(shade_value_as_str(shade_seq_at(r, 1), NULL),
			    "between");
	it = shade_seq_at(r, 2);
	assert_int_equal(shade_value_kind(it), SHADE_STR);
	assert_memory_equal(shade_value_as_str(it, &n), b, MIB);
	assert_int_equal(n, MIB);
	assert_int_equal(shade_value_as_int(shade_seq_at(r, 3)), 7);
	talloc_free(tmp);
	shade_ref_release(dyn);
	shade_ref_release(typed);
	tp_stop(&pp);
}

/* Encode [1, "x", a, b, small] into b with or without references. */
static void put_mixed(shade_buf *b, const uint8_t *a, const uint8_t *c)
{
	shade_cbor_put_array(b, 5);
	shade_cbor_put_uint(b, 1);
	shade_cbor_put_text(b, "x", 1);
	shade_cbor_put_bytes(b, a, 100 * KIB);
	shade_cbor_put_text(b, (const char *)c, BUF_REF_MIN);
	shade_cbor_put_bytes(b, a, 10);
}

/* A buffer that references large strings stands for the same bytes as
 * one that copies them: its pieces in order (the strings between the
 * encoded parts), and flattened; only strings of the allowed region are
 * referenced, and a reset buffer references none. */
static void test_buffer_references(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	uint8_t *a = pattern(ctx, 100 * KIB, 1);
	uint8_t *c = pattern(ctx, BUF_REF_MIN, 2);
	shade_buf *plain = shade_buf_new(ctx, 0), *ref = shade_buf_new(ctx, 0);
	shade_buf *joined = shade_buf_new(ctx, 0);
	struct iovec iov[8];
	int n, i;

	(void)state;
	put_mixed(plain, a, c);
	assert_null(plain->refs);
	assert_ok(buf_refs_enable(ref, NULL, 0));
	put_mixed(ref, a, c);
	assert_ok(ref->status);
	assert_true(buf_has_refs(ref));
	assert_true(ref->len < 64);
	assert_int_equal(buf_total(ref), plain->len);
	assert_int_equal(buf_iov(ref, iov, 4), -1);
	n = buf_iov(ref, iov, 8);
	assert_int_equal(n, 5);
	assert_ptr_equal(iov[1].iov_base, a);
	assert_ptr_equal(iov[3].iov_base, c);
	for (i = 0; i < n; i++)
		shade_buf_append(joined, iov[i].iov_base, iov[i].iov_len);
	assert_int_equal(joined->len, plain->len);
	assert_memory_equal(joined->data, plain->data, plain->len);
	assert_ok(buf_flatten(ref));
	assert_false(buf_has_refs(ref));
	assert_int_equal(ref->len, plain->len);
	assert_memory_equal(ref->data, plain->data, plain->len);

	shade_buf_reset(ref);
	assert_ok(buf_refs_enable(ref, c, BUF_REF_MIN));
	put_mixed(ref, a, c); /* a lies outside the region: copied */
	assert_int_equal(ref->refs->n, 1);
	assert_int_equal(buf_total(ref), plain->len);
	n = buf_iov(ref, iov, 8);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[1].iov_base, c);

	shade_buf_reset(ref);
	put_mixed(ref, a, c);
	assert_false(buf_has_refs(ref));
	assert_int_equal(ref->len, plain->len);
	assert_memory_equal(ref->data, plain->data, plain->len);
}

/* A frame as the transport hands it over: a block of its own holding
 * the encoding of b, with one byte to spare; *len its length. */
static uint8_t *frame_of(TALLOC_CTX *ctx, const shade_buf *b, size_t *len)
{
	uint8_t *f = talloc_size(ctx, b->len + 1);

	assert_non_null(f);
	memcpy(f, b->data, b->len);
	*len = b->len;
	return f;
}

/* Decoded with views, a large string alone is a view of the frame, which
 * its box takes over (NUL kept: the frame ends with it); moved into a
 * list, the frame goes along; inside a container, the frame goes below
 * the container and several strings share it; a decoding that fails
 * gives the frame back where it was. */
static void test_decode_views(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	TALLOC_CTX *a = talloc_new(ctx), *b = talloc_new(ctx);
	uint8_t *p = pattern(ctx, 200 * KIB, 3), *f;
	shade_buf *enc = shade_buf_new(ctx, 0);
	shade_value *v = NULL, *list = shade_list_new(b, 1);
	const shade_value *it;
	struct cbor_views views;
	shade_cbor_dec d;
	size_t len, n;

	(void)state;
	shade_cbor_put_text(enc, (const char *)p, 200 * KIB);
	f = frame_of(a, enc, &len);
	views = (struct cbor_views){ f, len, false, NULL };
	shade_cbor_dec_init(&d, f, len);
	assert_ok(cbor_decode_value_views(a, &d, NULL, &views, &v, errp_));
	assert_true(views.adopted);
	assert_ptr_equal(talloc_parent(f), v);
	assert_ptr_equal(shade_value_as_str(v, &n), f + len - 200 * KIB);
	assert_int_equal(n, 200 * KIB);
	assert_non_null(shade_value_cstr(v));
	assert_int_equal(strlen(shade_value_cstr(v)), 200 * KIB);
	assert_ok(shade_seq_append_take(list, v, errp_));
	talloc_free(a); /* the list holds the string, and so the frame */
	it = shade_seq_at(list, 0);
	assert_memory_equal(shade_value_as_str(it, NULL), p, 200 * KIB);

	a = talloc_new(ctx);
	shade_buf_reset(enc);
	shade_cbor_put_array(enc, 3);
	shade_cbor_put_bytes(enc, p, 100 * KIB);
	shade_cbor_put_text(enc, (const char *)p, 150 * KIB);
	shade_cbor_put_uint(enc, 9);
	f = frame_of(a, enc, &len);
	views = (struct cbor_views){ f, len, false, NULL };
	shade_cbor_dec_init(&d, f, len);
	assert_ok(cbor_decode_value_views(b, &d, NULL, &views, &v, errp_));
	assert_true(views.adopted);
	talloc_free(a);
	assert_memory_equal(shade_value_as_bytes(shade_seq_at(v, 0), NULL), p,
			    100 * KIB);
	assert_memory_equal(shade_value_as_str(shade_seq_at(v, 1), NULL), p,
			    150 * KIB);
	assert_int_equal(shade_value_as_int(shade_seq_at(v, 2)), 9);

	a = talloc_new(ctx);
	shade_buf_reset(enc);
	shade_cbor_put_array(enc, 2);
	shade_cbor_put_bytes(enc, p, 100 * KIB);
	shade_cbor_put_simple(enc, 30); /* reserved: refused */
	f = frame_of(a, enc, &len);
	views = (struct cbor_views){ f, len, false, NULL };
	shade_cbor_dec_init(&d, f, len);
	v = NULL;
	assert_true(cbor_decode_value_views(b, &d, NULL, &views, &v, NULL) <
		    0);
	assert_null(v);
	assert_false(views.adopted);
	assert_ptr_equal(talloc_parent(f), a);
	talloc_free(a);
	talloc_free(b);
}

/* A dynamic call's large result is the reply frame's bytes, taken over:
 * a C string all the same, and it outlives the call when moved into a
 * list of the caller's. */
static void test_echo_result_is_view(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	TALLOC_CTX *tmp = talloc_new(ctx);
	tp_peer pp;
	shade_ref *dyn = NULL, *typed = NULL;
	uint8_t *p = pattern(ctx, MIB, 8);
	shade_value *args = shade_tuple_new(tmp, 1), *r = NULL;
	shade_value *keep = shade_list_new(ctx, 1);

	(void)state;
	start(&pp, ctx, &dyn, &typed);
	assert_ok(shade_seq_append_take(args, shade_str(tmp, (const char *)p),
					errp_));
	assert_ok(shade_invoke(tmp, dyn, "echo", args, NULL, &r, errp_));
	assert_non_null(shade_value_cstr(r));
	assert_string_equal(shade_value_cstr(r), (const char *)p);
	assert_ok(shade_seq_append_take(keep, r, errp_));
	talloc_free(tmp);
	assert_memory_equal(shade_value_as_str(shade_seq_at(keep, 0), NULL), p,
			    MIB);
	shade_ref_release(dyn);
	shade_ref_release(typed);
	tp_stop(&pp);
}

/* A list of 100 000 ints (1.6 MB of slots) built and echoed twice: the
 * second time its items and its encoding come from kept blocks, and
 * every element arrives. */
static void test_echo_large_list(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_call_opts bv = { .byvalue = true };
	tp_peer pp;
	shade_ref *dyn = NULL, *typed = NULL;
	unsigned long before = 0;
	size_t i, n = 100000;
	int round;

	(void)state;
	start(&pp, ctx, &dyn, &typed);
	for (round = 0; round < 2; round++) {
		TALLOC_CTX *tmp = talloc_new(ctx);
		shade_value *list = shade_list_new(tmp, 0), *r = NULL;
		shade_value *args = shade_tuple_new(tmp, 1);

		before = bigbuf_reused();
		for (i = 0; i < n; i++) {
			shade_value iv = shade_value_int((int64_t)(i * 3));

			assert_ok(shade_seq_append(list, &iv, errp_));
		}
		assert_ok(shade_seq_append_take(args, list, errp_));
		/* By value both ways: the large frame is what is tested. */
		assert_ok(shade_invoke_ex(tmp, dyn, "echo", args, NULL, &bv, &r,
					  errp_));
		assert_int_equal(shade_value_kind(r), SHADE_LIST);
		assert_int_equal(shade_seq_len(r), n);
		for (i = 0; i < n; i++)
			assert_int_equal(shade_value_as_int(shade_seq_at(r, i)),
					 (int64_t)(i * 3));
		talloc_free(tmp);
	}
	assert_true(bigbuf_reused() - before >= 2);
	shade_ref_release(dyn);
	shade_ref_release(typed);
	tp_stop(&pp);
	bigbuf_trim();
}

/* A large encoding handed out whole (shade_cbor_encode, which steals
 * the buffer) is a block of exactly its length, though it grew in a
 * kept block: talloc_get_size() is the length callers rely on. */
static void test_large_encoding_exact_size(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	uint8_t *p = pattern(ctx, MIB, 5), *out;
	shade_value *v = shade_bytes(ctx, p, MIB);
	size_t len = 0;

	(void)state;
	out = shade_cbor_encode(ctx, v, NULL, &len, NULL);
	assert_non_null(out);
	assert_int_equal(len, MIB + 5);
	assert_int_equal(talloc_get_size(out), len);
	assert_memory_equal(out + 5, p, MIB);
	talloc_free(out);
	talloc_free(v);
	talloc_free(p);
	bigbuf_trim();
}

/* The cache is bounded: at most BIGBUF_KEEP blocks, none larger than
 * BIGBUF_KEEP_MAX, the smaller given up for a larger one; a block kept
 * is handed out again only for a size it holds. */
static void test_cache_bounded(void **state)
{
	void *b[BIGBUF_KEEP + 1], *huge, *again;
	unsigned i;

	(void)state;
	bigbuf_trim();
	huge = bigbuf_alloc(BIGBUF_KEEP_MAX + 1);
	assert_non_null(huge);
	talloc_free(huge);
	assert_int_equal(bigbuf_kept(), 0);
	for (i = 0; i <= BIGBUF_KEEP; i++) {
		b[i] = bigbuf_alloc(BIGBUF_MIN * (i + 1));
		assert_non_null(b[i]);
	}
	for (i = 0; i <= BIGBUF_KEEP; i++)
		talloc_free(b[i]);
	assert_int_equal(bigbuf_kept(), BIGBUF_KEEP);
	/* the smallest went: nothing kept holds only BIGBUF_MIN... */
	again = bigbuf_alloc(BIGBUF_MIN * (BIGBUF_KEEP + 1) + 1);
	assert_int_equal(bigbuf_kept(), BIGBUF_KEEP); /* too large: fresh */
	talloc_free(again);
	/* ...and a small request takes the smallest kept block */
	again = bigbuf_alloc(BIGBUF_MIN);
	assert_true(bigbuf_cap(again) >= BIGBUF_MIN * 2);
	talloc_free(again);
	/* a kept block freed as a child of its parent is kept too */
	again = talloc_steal(suite_case_ctx, bigbuf_alloc(BIGBUF_MIN));
	assert_non_null(talloc_new(again)); /* a child, freed with it */
	bigbuf_trim();
	talloc_free_children(suite_case_ctx);
	assert_int_equal(bigbuf_kept(), 1);
	bigbuf_trim();
	assert_int_equal(bigbuf_kept(), 0);
}

/* A socketpair whose one end is a transport (max_frame max) and the other
 * a raw fd in *raw. */
static shade_transport *raw_pair(TALLOC_CTX *ctx, size_t max, int *raw)
{
	shade_transport_opts o = { 0 };
	shade_transport *t = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	o.max_frame = max;
	assert_ok(shade_transport_from_fds(ctx, sv[0], sv[0],
					   SHADE_TRANSPORT_OWN_FDS, &o, &t,
					   errp_));
	*raw = sv[1];
	return t;
}

/* A non-blocking send of a 1 MiB frame to a peer that reads nothing
 * does not wait for it: what the socket does not take is queued (the
 * send returns, the loop goes on) and the whole frame arrives once the
 * peer reads and the queue is flushed. */
static void test_large_send_to_idle_peer(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	uint8_t *p = pattern(ctx, MIB, 9), *got = talloc_size(ctx, MIB + 5);
	int raw = -1, spins = 0;
	shade_transport *t = raw_pair(ctx, 2 * MIB, &raw);
	size_t have = 0;
	shade_status st;

	(void)state;
	assert_ok(shade_transport_set_nonblocking(t, true, errp_));
	assert_ok(shade_transport_send(t, p, MIB, errp_));
	assert_true(shade_transport_out_pending(t) > 0);
	while (have < MIB + 5) { /* bounded: 1 MiB in socket-sized steps */
		ssize_t r = read(raw, got + have, MIB + 5 - have);

		assert_true(r > 0);
		have += (size_t)r;
		st = shade_transport_flush(t, NULL);
		assert_true(st == SHADE_OK || st == SHADE_AGAIN);
		assert_true(++spins < 100000);
	}
	assert_int_equal(shade_transport_out_pending(t), 0);
	assert_int_equal(got[0], 0x1a);
	assert_memory_equal(got + 5, p, MIB);
	close(raw);
	shade_transport_close(t);
}

/* Write a 5-byte frame header announcing len, then n pattern bytes. */
static void write_partial(int fd, size_t len, size_t n)
{
	uint8_t head[5] = { 0x1a, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			    (uint8_t)(len >> 8), (uint8_t)len };
	uint8_t *p = pattern(NULL, n, 0);

	assert_int_equal(tu_write_all(fd, head, 5), 0);
	assert_int_equal(tu_write_all(fd, p, n), 0);
	talloc_free(p);
}

/* A large frame cut short is refused, saying how much was missing, also
 * when its buffer is a kept one. */
static void test_truncated_large_frame(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	void *keep = bigbuf_alloc(2 * MIB);
	shade_transport *t;
	shade_error *err = NULL;
	uint8_t *f = NULL;
	size_t len = 0;
	int raw;

	(void)state;
	talloc_free(keep); /* a kept block the frame will use */
	assert_int_equal(bigbuf_kept(), 1);
	t = raw_pair(ctx, 0, &raw);
	write_partial(raw, MIB, 100 * KIB);
	close(raw);
	assert_int_equal(shade_transport_recv(t, ctx, &f, &len, WAIT_MS, &err),
			 SHADE_ERR_CONNECTION_LOST);
	assert_non_null(strstr(err->message, "peer closed mid-frame"));
	assert_non_null(strstr(err->message, "of 1048576 payload bytes missing"));
	assert_null(f);
	shade_error_free(err);
	shade_transport_close(t);
	bigbuf_trim();
}

/* A frame over the limit is refused from its header alone. */
static void test_large_frame_over_limit(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_transport *t;
	shade_error *err = NULL;
	uint8_t *f = NULL;
	size_t len = 0;
	int raw;

	(void)state;
	t = raw_pair(ctx, MIB, &raw);
	write_partial(raw, MIB + 1, 16);
	assert_int_equal(shade_transport_recv(t, ctx, &f, &len, WAIT_MS, &err),
			 SHADE_ERR_LIMIT);
	assert_null(f);
	shade_error_free(err);
	close(raw);
	shade_transport_close(t);
}

/* A header announcing 512 MiB followed by a few bytes allocates nothing
 * near that size: the buffer grows with what arrives. */
static void test_announced_size_not_allocated(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_transport *t;
	shade_error *err = NULL;
	uint8_t *f = NULL;
	size_t len = 0, before, after;
	int raw;

	(void)state;
	bigbuf_trim();
	t = raw_pair(ctx, (size_t)1 << 30, &raw);
	before = mallinfo2().uordblks + mallinfo2().hblkhd;
	write_partial(raw, (size_t)512 << 20, 100 * KIB);
	assert_int_equal(shade_transport_recv(t, ctx, &f, &len, 200, &err),
			 SHADE_ERR_TIMEOUT);
	after = mallinfo2().uordblks + mallinfo2().hblkhd;
	assert_true(after < before + 16 * MIB);
	assert_null(f);
	shade_error_free(err);
	close(raw);
	shade_transport_close(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_echo_large_values),
		SUITE_CASE(test_echo_reuses_buffers),
		SUITE_CASE(test_echo_large_list),
		SUITE_CASE(test_echo_list_of_large_strings),
		SUITE_CASE(test_buffer_references),
		SUITE_CASE(test_decode_views),
		SUITE_CASE(test_echo_result_is_view),
		SUITE_CASE(test_large_encoding_exact_size),
		SUITE_CASE(test_cache_bounded),
		SUITE_CASE(test_truncated_large_frame),
		SUITE_CASE(test_large_frame_over_limit),
		SUITE_CASE(test_announced_size_not_allocated),
		SUITE_CASE(test_large_send_to_idle_peer),
	};

	return SUITE_RUN("bigvals", tests, argc, argv);
}
