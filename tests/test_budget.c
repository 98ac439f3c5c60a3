/*
 * test_budget.c - the per-call budget of typed calls, over a real
 * socketpair: a freed call's block and argument buffer are parked on the
 * thread and taken by its next call (the same block, nothing leaked),
 * a call freed while in flight is parked without its late reply reaching
 * the call that reuses the block, parked blocks outlive the connection
 * they served, a thread's blocks are freed when it exits, and a thousand
 * calls in flight leave at most the cache's bound parked; on the server,
 * requests are read into a bounded cache of items, reused.
 */
#include <pthread.h>
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
#include "api/api_int.h"
#include "conn/conn_int.h"

/* The cache's bound (REQ_CACHE_MAX in runtime/api/request.c) and the
 * largest argument buffer it keeps (REQ_KEEP_BUF). */
#define CACHE_MAX 64
#define KEEP_BUF 1024

/* Typed add(a, b) -> a + b; a == -1 sleeps 200 ms first (a call still
 * running when the client gives it up); a == -2 answers b bytes of a
 * pattern instead; a == -3 fails with KeyError. */
static shade_status typed_add(void *self, shade_dispatch_ctx *cx,
			      uint32_t member, shade_dispatch_op op,
			      struct shade_cbor_dec *in, struct shade_buf *out,
			      shade_error **err)
{
	uint64_t n = 0;
	int64_t a = 0, b = 0;
	shade_cbor_major major = SHADE_CBOR_UINT;
	shade_status st;

	(void)self;
	(void)cx;
	if (member != 0 || op != SHADE_DISPATCH_INVOKE)
		return shade_error_set(err, SHADE_ERR_INVALID, "no such member");
	st = shade_cbor_read_array(in, &n, err);
	if (st == SHADE_OK && n != 2)
		st = shade_error_set(err, SHADE_ERR_TYPE, "two arguments");
	if (st == SHADE_OK)
		st = shade_cbor_read_int(in, &a, err);
	if (st == SHADE_OK)
		st = shade_cbor_peek(in, &major, err);
	if (st == SHADE_OK && major == SHADE_CBOR_BYTES) {
		const uint8_t *p = NULL;
		size_t len = 0;

		st = shade_cbor_read_bytes(in, &p, &len, err);
		b = (int64_t)len;
	} else if (st == SHADE_OK) {
		st = shade_cbor_read_int(in, &b, err);
	}
	if (st != SHADE_OK)
		return st;
	if (a == -1)
		usleep(200 * 1000);
	if (a == -2) {
		uint8_t *p = shade_buf_reserve(out, (size_t)b + 16);

		if (p == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM, "memory");
		tu_fill_pattern(p, (size_t)b, (uint32_t)b);
		/* written after the head, moved into place */
		memmove(p + 9, p, (size_t)b);
		out->len += 9 + (size_t)b;
		p[0] = 0x5b; /* bytes, 8-byte length */
		for (n = 0; n < 8; n++)
			p[1 + n] = (uint8_t)((uint64_t)b >> (56 - 8 * n));
		return SHADE_OK;
	}
	if (a == -3)
		return shade_error_set(err, SHADE_ERR_KEY, "no key %lld",
				       (long long)b);
	return shade_cbor_put_int(out, a + b);
}

static const shade_member_desc add_members[] = {
	{ "add", SHADE_MEMBER_METHOD, "(in long a, in long b)->long", NULL },
};
static const shade_shape_desc add_shape = {
	SHADE_SHAPE_OBJECT, "test.Add", NULL, 0, add_members, 1, 0, NULL
};

/* A peer whose server exports "add" (typed); *adder its proxy.  The
 * registry is a child of the peer's context (freed by tp_stop). */
static void start(tp_peer *pp, TALLOC_CTX *ctx, shade_ref **adder)
{
	shade_registry *reg = shade_registry_new(NULL);
	shade_ref *o = NULL;

	assert_non_null(reg);
	assert_ok(shade_object_new_typed(&add_shape, typed_add, NULL, &o,
					 errp_));
	assert_ok(shade_registry_add(reg, "add", o, errp_));
	shade_ref_release(o);
	assert_int_equal(tp_start(pp, ctx, reg, NULL, NULL), 0);
	talloc_steal(pp->ctx, reg);
	assert_ok(shade_lookup(pp->client, "add", adder, errp_));
}

/* Begin add(a, b) on r: the call, its argument buffer in *args. */
static shade_request *begin_add(shade_ref *r, int64_t a, int64_t b,
				shade_buf **args)
{
	shade_request *q = NULL;
	shade_buf *in = NULL;

	assert_ok(shade_request_begin(r, 0, SHADE_DISPATCH_INVOKE, NULL, &q,
				      &in, errp_));
	shade_cbor_put_array(in, 2);
	shade_cbor_put_int(in, a);
	shade_cbor_put_int(in, b);
	if (args != NULL)
		*args = in;
	return q;
}

/* Finish q and check its result is want. */
static void finish_add(shade_request *q, int64_t want)
{
	shade_cbor_dec *res = NULL;
	int64_t got = 0;

	assert_ok(shade_request_finish(q, &res, errp_));
	assert_ok(shade_cbor_read_int(res, &got, errp_));
	assert_int_equal(got, want);
}

/* A freed call is parked and the next call takes the same block and
 * argument buffer; a thousand calls in a row park one block, no more. */
static void test_request_reused(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *q, *q2;
	shade_buf *args = NULL, *args2 = NULL;
	unsigned long base;
	int i;

	start(&pp, ctx, &adder);
	q = begin_add(adder, 2, 3, &args);
	finish_add(q, 5);
	base = api_requests_parked();
	talloc_free(q);
	assert_int_equal(api_requests_parked(), base + 1);
	q2 = begin_add(adder, 40, 2, &args2);
	assert_ptr_equal(q2, q);
	assert_ptr_equal(args2, args);
	assert_int_equal(api_requests_parked(), base);
	finish_add(q2, 42);
	talloc_free(q2);
	for (i = 0; i < 1000; i++) {
		q = begin_add(adder, i, 7, NULL);
		assert_ptr_equal(q, q2);
		/* nothing of the last call left on it */
		assert_int_equal(talloc_total_blocks(q), 1);
		finish_add(q, i + 7);
		/* what the caller hangs on the call goes with it */
		assert_non_null(talloc_size(q, 100));
		talloc_free(q);
	}
	assert_int_equal(api_requests_parked(), base + 1);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* Arguments over the kept size: the buffer grew, and is not kept. */
static void test_large_arguments_not_kept(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *q = NULL;
	shade_buf *args = NULL;
	uint8_t big[4 * KEEP_BUF];

	memset(big, 'x', sizeof(big));
	start(&pp, ctx, &adder);
	assert_ok(shade_request_begin(adder, 0, SHADE_DISPATCH_INVOKE, NULL,
				      &q, &args, errp_));
	shade_cbor_put_array(args, 2);
	shade_cbor_put_int(args, 1);
	shade_cbor_put_bytes(args, big, sizeof(big));
	assert_true(args->cap > KEEP_BUF);
	finish_add(q, 1 + (int64_t)sizeof(big));
	talloc_free(q);
	q = begin_add(adder, 1, 2, &args);
	assert_true(args->cap <= KEEP_BUF);
	finish_add(q, 3);
	talloc_free(q);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* Replies of every size around the room a request keeps for one (128
 * bytes), and past the size a large string is referenced at, arrive
 * whole, call after call on reused blocks. */
static void test_reply_sizes(void **state)
{
	static const int64_t sizes[] = { 0, 1, 100, 117, 118, 119, 127, 128,
					 129, 1000, 70000, 5 };
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *q;
	shade_cbor_dec *res = NULL;
	const uint8_t *got = NULL;
	size_t i, len = 0;
	int round;

	start(&pp, ctx, &adder);
	for (round = 0; round < 2; round++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			q = begin_add(adder, -2, sizes[i], NULL);
			assert_ok(shade_request_finish(q, &res, errp_));
			assert_ok(shade_cbor_read_bytes(res, &got, &len,
							errp_));
			assert_int_equal(len, (size_t)sizes[i]);
			assert_int_equal(tu_check_pattern(got, len,
							  (uint32_t)len),
					 len);
			talloc_free(q);
		}
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* Replies of every size read while many calls are outstanding (into
 * the reading thread's scratch, then the request's own room, or a block
 * of their own when larger), and a future's reply among them. */
static void test_replies_in_flight(void **state)
{
	static const int64_t sizes[] = { 0, 100, 119, 128, 129, 300, 1000,
					 5 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *qs[N];
	shade_future *f = NULL;
	shade_value *args, *v = NULL;
	shade_cbor_dec *res = NULL;
	const uint8_t *got = NULL;
	size_t i, len = 0;
	int64_t sum = 0;

	start(&pp, ctx, &adder);
	args = shade_tuple_new(ctx, 2);
	assert_non_null(args);
	assert_ok(shade_seq_append_take(args, shade_int(ctx, 30), errp_));
	assert_ok(shade_seq_append_take(args, shade_int(ctx, 12), errp_));
	for (i = 0; i < N; i++) {
		qs[i] = begin_add(adder, -2, sizes[i], NULL);
		assert_ok(shade_request_send(qs[i], errp_));
		if (i == N / 2)
			assert_ok(shade_invoke_async(ctx, adder, "add", args,
						     NULL, &f, errp_));
	}
	for (i = N; i-- > 0;) {
		assert_ok(shade_request_finish(qs[i], &res, errp_));
		assert_ok(shade_cbor_read_bytes(res, &got, &len, errp_));
		assert_int_equal(len, (size_t)sizes[i]);
		assert_int_equal(tu_check_pattern(got, len, (uint32_t)len),
				 len);
	}
	assert_ok(shade_future_wait(ctx, f, -1, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_INT);
	sum = shade_value_as_int(v);
	assert_int_equal(sum, 42);
	for (i = 0; i < N; i++)
		talloc_free(qs[i]);
	talloc_free(v);
	talloc_free(f);
	talloc_free(args);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* The dynamic call add(a, b) on r without waiting: its future on ctx. */
static shade_future *add_async(TALLOC_CTX *ctx, shade_ref *r, int64_t a,
			       int64_t b)
{
	shade_value *args = shade_tuple_new(NULL, 2);
	shade_future *f = NULL;

	assert_non_null(args);
	assert_ok(shade_seq_append_take(args, shade_int(args, a), errp_));
	assert_ok(shade_seq_append_take(args, shade_int(args, b), errp_));
	assert_ok(shade_invoke_async(ctx, r, "add", args, NULL, &f, errp_));
	talloc_free(args);
	return f;
}

/* A future keeps room for a small reply: with 64 of them answered (read
 * by the wait for the last one, in a batch), every small reply, an
 * ERROR too, lies in its future's room and only the 1 000-byte one is a
 * block of its own; each gives its result, and a future freed unwaited
 * with its reply in its room gives it back. */
static void test_future_replies_in_room(void **state)
{
	enum { N = 64, BIG = 10, ERR = 20, UNWAITED = 30 };
	TALLOC_CTX *ctx = *state, *fctx = talloc_new(ctx);
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_future *fs[N];
	shade_error *e = NULL;
	shade_value *v;
	size_t len = 0;
	int i;

	start(&pp, ctx, &adder);
	for (i = 0; i < N; i++)
		fs[i] = add_async(fctx, adder, i == BIG ? -2 : i == ERR ? -3 : i,
				  i == BIG ? 1000 : 7);
	v = NULL;
	assert_ok(shade_future_wait(ctx, fs[N - 1], -1, &v, errp_));
	assert_int_equal(shade_value_as_int(v), N - 1 + 7);
	talloc_free(v);
	for (i = 0; i < N; i++)
		assert_true(shade_future_ready(fs[i]));
	/* the context, the futures, and one reply block: the large one */
	assert_int_equal(talloc_total_blocks(fctx), 1 + N + 1);
	talloc_free(fs[UNWAITED]);
	for (i = 0; i < N - 1; i++) {
		if (i == UNWAITED)
			continue;
		v = NULL;
		if (i == ERR) {
			assert_int_equal(shade_future_wait(ctx, fs[i], -1, &v,
							   &e),
					 SHADE_ERR_KEY);
			assert_non_null(e);
			assert_string_equal(e->message, "no key 7");
			shade_error_clear(&e);
			continue;
		}
		assert_ok(shade_future_wait(ctx, fs[i], -1, &v, errp_));
		if (i == BIG) {
			assert_int_equal(shade_value_kind(v), SHADE_BYTES);
			assert_int_equal(tu_check_pattern(
						 shade_value_as_bytes(v, &len),
						 1000, 1000),
					 1000);
			assert_int_equal(len, 1000);
		} else {
			assert_int_equal(shade_value_as_int(v), i + 7);
		}
		talloc_free(v);
	}
	talloc_free(fctx);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* A future's request is encoded into the calling thread's spare
 * buffer, given back once sent: 100 futures one after the other take
 * it 100 times; an argument of 2 KiB grows it past what is kept, so the
 * next future finds none. */
static void test_future_buffer_reused(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_future *f;
	shade_value *args, *v;
	unsigned long before;
	uint8_t big[2048];
	int i;

	start(&pp, ctx, &adder);
	f = add_async(ctx, adder, 1, 1); /* the spare, once it is sent */
	talloc_free(f);
	before = api_bufs_reused();
	for (i = 0; i < 100; i++) {
		f = add_async(ctx, adder, i, 1);
		v = NULL;
		assert_ok(shade_future_wait(ctx, f, -1, &v, errp_));
		assert_int_equal(shade_value_as_int(v), i + 1);
		talloc_free(v);
		talloc_free(f);
	}
	assert_int_equal(api_bufs_reused() - before, 100);
	/* add(-2, <2 KiB of bytes>): b is their length */
	memset(big, 7, sizeof big);
	args = shade_tuple_new(ctx, 2);
	assert_ok(shade_seq_append_take(args, shade_int(args, 0), errp_));
	assert_ok(shade_seq_append_take(args, shade_bytes(args, big,
							  sizeof big), errp_));
	assert_ok(shade_invoke_async(ctx, adder, "add", args, NULL, &f,
				     errp_));
	v = NULL;
	assert_ok(shade_future_wait(ctx, f, -1, &v, errp_));
	assert_int_equal(shade_value_as_int(v), (int64_t)sizeof big);
	talloc_free(v);
	talloc_free(f);
	talloc_free(args);
	before = api_bufs_reused();
	f = add_async(ctx, adder, 2, 3);
	assert_int_equal(api_bufs_reused() - before, 0);
	talloc_free(f);
	api_request_trim();
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* An ERROR read into the request's own room gives its code and message;
 * the block serves the next call. */
static void test_error_reply(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *q, *q2;
	shade_cbor_dec *res = NULL;
	shade_error *err = NULL;

	start(&pp, ctx, &adder);
	q = begin_add(adder, -3, 17, NULL);
	assert_int_equal(shade_request_finish(q, &res, &err), SHADE_ERR_KEY);
	assert_non_null(err);
	assert_non_null(strstr(err->message, "no key 17"));
	shade_error_free(err);
	talloc_free(q);
	q2 = begin_add(adder, 1, 1, NULL);
	assert_ptr_equal(q2, q);
	finish_add(q2, 2);
	talloc_free(q2);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* A call freed while the server still runs it is withdrawn and parked;
 * the call that takes its block next gets its own reply, not the late
 * one, and so do the calls after it. */
static void test_freed_in_flight(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *slow, *q;
	int i;

	start(&pp, ctx, &adder);
	slow = begin_add(adder, -1, 1000, NULL);
	assert_ok(shade_request_send(slow, errp_));
	assert_ok(shade_conn_flush(pp.client, errp_));
	/* the server is inside the handler when the CANCEL comes: its
	 * reply still goes, late */
	usleep(50 * 1000);
	talloc_free(slow);
	q = begin_add(adder, 20, 22, NULL);
	assert_ptr_equal(q, slow);
	finish_add(q, 42);
	talloc_free(q);
	for (i = 0; i < 20; i++) {
		q = begin_add(adder, i, i, NULL);
		finish_add(q, 2 * i);
		talloc_free(q);
	}
	assert_int_equal(tp_stats(pp.client).pending, 0);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* Blocks parked by calls on a connection outlive it (they hold nothing
 * of it) and serve calls on the next one. */
static void test_conn_freed_with_parked(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *qs[8];
	unsigned long base;
	int i;

	start(&pp, ctx, &adder);
	for (i = 0; i < 8; i++) {
		qs[i] = begin_add(adder, i, 1, NULL);
		assert_ok(shade_request_send(qs[i], errp_));
	}
	base = api_requests_parked();
	for (i = 0; i < 8; i++)
		finish_add(qs[i], i + 1);
	for (i = 0; i < 8; i++)
		talloc_free(qs[i]);
	assert_int_equal(api_requests_parked(), base + 8);
	shade_ref_release(adder);
	tp_stop(&pp);
	base = api_requests_parked();
	start(&pp, ctx, &adder);
	for (i = 0; i < 8; i++) {
		qs[i] = begin_add(adder, i, 2, NULL);
		assert_ok(shade_request_send(qs[i], errp_));
	}
	assert_int_equal(api_requests_parked(), base - 8);
	for (i = 0; i < 8; i++) {
		finish_add(qs[i], i + 2);
		talloc_free(qs[i]);
	}
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* What a calling thread reports. */
struct caller {
	shade_ref *adder;        /* the proxy it calls */
	int rounds;              /* rounds of 16 calls to make */
	bool sync;               /* one call at a time (begin, finish)
				  * instead of 16 in flight */
	unsigned long parked;    /* parked blocks just before it returns */
	int wrong;               /* results not as expected */
};

/* One round of a caller: 16 calls in flight, finished, freed. */
static void caller_round(struct caller *cl, int round)
{
	shade_request *qs[16];
	shade_buf *in = NULL;
	shade_cbor_dec *res = NULL;
	int64_t got;
	int i;

	for (i = 0; i < 16; i++) {
		qs[i] = NULL;
		if (shade_request_begin(cl->adder, 0, SHADE_DISPATCH_INVOKE,
					NULL, &qs[i], &in, NULL) != SHADE_OK) {
			cl->wrong++;
			continue;
		}
		shade_cbor_put_array(in, 2);
		shade_cbor_put_int(in, i);
		shade_cbor_put_int(in, 100 + round);
		if (shade_request_send(qs[i], NULL) != SHADE_OK)
			cl->wrong++;
	}
	for (i = 0; i < 16; i++) {
		got = -1;
		if (qs[i] == NULL ||
		    shade_request_finish(qs[i], &res, NULL) != SHADE_OK ||
		    shade_cbor_read_int(res, &got, NULL) != SHADE_OK ||
		    got != i + 100 + round)
			cl->wrong++;
	}
	for (i = 0; i < 16; i++)
		talloc_free(qs[i]);
}

/* One round of a caller, one call at a time: a thread alone on its
 * connection reads its reply at once (it took the reader role as it
 * sent), two of them take turns or wait for each other. */
static void caller_round_sync(struct caller *cl, int round)
{
	shade_request *q;
	shade_buf *in = NULL;
	shade_cbor_dec *res = NULL;
	int64_t got;
	int i;

	for (i = 0; i < 16; i++) {
		q = NULL;
		got = -1;
		if (shade_request_begin(cl->adder, 0, SHADE_DISPATCH_INVOKE,
					NULL, &q, &in, NULL) == SHADE_OK) {
			shade_cbor_put_array(in, 2);
			shade_cbor_put_int(in, i);
			shade_cbor_put_int(in, 1000 + round);
			if (shade_request_finish(q, &res, NULL) != SHADE_OK ||
			    shade_cbor_read_int(res, &got, NULL) != SHADE_OK)
				got = -1;
		}
		if (got != i + 1000 + round)
			cl->wrong++;
		talloc_free(q);
	}
}

/* Thread: its rounds, then the count of parked blocks (16 of them its
 * own). */
static void *caller_main(void *arg)
{
	struct caller *cl = arg;
	int round;

	for (round = 0; round < cl->rounds; round++) {
		if (cl->sync)
			caller_round_sync(cl, round);
		else
			caller_round(cl, round);
	}
	cl->parked = api_requests_parked();
	return NULL;
}

/* A thread's parked blocks are freed when it exits. */
static void test_thread_exit_frees_cache(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	struct caller cl;
	tu_thread th;
	unsigned long base;

	memset(&cl, 0, sizeof(cl));
	start(&pp, ctx, &cl.adder);
	cl.rounds = 1;
	base = api_requests_parked();
	assert_int_equal(tu_thread_start(&th, caller_main, &cl), 0);
	assert_true(tu_thread_join(&th, 30000, NULL));
	assert_int_equal(cl.wrong, 0);
	assert_int_equal(cl.parked, base + 16);
	assert_int_equal(api_requests_parked(), base);
	shade_ref_release(cl.adder);
	tp_stop(&pp);
}

/* Two threads on one connection, 16 calls in flight each or (sync) one
 * at a time: whichever reads copies the other's replies into its
 * requests' own room; every result is its own call's. */
static void two_threads(TALLOC_CTX *ctx, bool sync)
{
	tp_peer pp;
	struct caller cl[2];
	tu_thread th[2];
	shade_ref *adder = NULL;
	int i;

	start(&pp, ctx, &adder);
	for (i = 0; i < 2; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].adder = adder;
		/* In flight: enough rounds for a reply to come while a
		 * waiter writes, with mu let go (wait.c). */
		cl[i].rounds = sync ? 50 : 1000;
		cl[i].sync = sync;
		assert_int_equal(tu_thread_start(&th[i], caller_main, &cl[i]),
				 0);
	}
	for (i = 0; i < 2; i++)
		assert_true(tu_thread_join(&th[i], 60000, NULL));
	assert_int_equal(cl[0].wrong, 0);
	assert_int_equal(cl[1].wrong, 0);
	shade_ref_release(adder);
	tp_stop(&pp);
}

static void test_two_threads_one_conn(void **state)
{
	two_threads(*state, false);
}

static void test_two_threads_sync_calls(void **state)
{
	two_threads(*state, true);
}

/* A call that fails once it took the reader role as it sent (its write
 * fails) gives the role back: nothing is left reading the connection,
 * and the next call fails at once. */
static void test_failed_call_leaves_reader_role(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *q;
	shade_buf *in = NULL;
	shade_cbor_dec *res = NULL;
	shade_error *err = NULL;
	int64_t t0;

	start(&pp, ctx, &adder);
	q = begin_add(adder, 1, 2, NULL);
	finish_add(q, 3);
	talloc_free(q);
	/* our end of the socket shut for writing: the next request's
	 * write fails (EPIPE), the server's thread sees the end */
	assert_int_equal(shutdown(shade_transport_fd(
					  shade_conn_transport(pp.client)),
				  SHUT_WR),
			 0);
	t0 = tu_now_ms();
	q = begin_add(adder, 3, 4, NULL);
	assert_int_not_equal(shade_request_finish(q, &res, &err), SHADE_OK);
	shade_error_free(err);
	err = NULL;
	talloc_free(q);
	assert_false(__atomic_load_n(&pp.client->reading, __ATOMIC_ACQUIRE));
	if (shade_request_begin(adder, 0, SHADE_DISPATCH_INVOKE, NULL, &q,
				&in, &err) == SHADE_OK) {
		assert_int_not_equal(shade_request_finish(q, &res, &err),
				     SHADE_OK);
		talloc_free(q);
	}
	shade_error_free(err);
	assert_false(__atomic_load_n(&pp.client->reading, __ATOMIC_ACQUIRE));
	assert_true(tu_now_ms() - t0 < 10000);
	shade_ref_release(adder);
	tp_stop(&pp);
}

/* A thousand add(i, round) calls sent, then finished and freed (qs: room
 * for them); none parked while they are in flight when `parked0`. */
static void in_flight(shade_ref *adder, shade_request **qs, int round,
		      bool parked0)
{
	int i;

	for (i = 0; i < 1000; i++) {
		qs[i] = begin_add(adder, i, round, NULL);
		assert_ok(shade_request_send(qs[i], errp_));
	}
	if (parked0)
		assert_int_equal(api_requests_parked(), 0);
	for (i = 0; i < 1000; i++)
		finish_add(qs[i], i + round);
	for (i = 0; i < 1000; i++)
		talloc_free(qs[i]);
}

/* A thousand calls in flight, freed: at most the cache's bound stays
 * parked; all of them taken again by the next thousand. */
static void test_many_in_flight_bounded(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request **qs;
	int round;

	api_request_trim();
	assert_int_equal(api_requests_parked(), 0);
	qs = talloc_array(ctx, shade_request *, 1000);
	assert_non_null(qs);
	start(&pp, ctx, &adder);
	for (round = 0; round < 2; round++) {
		in_flight(adder, qs, round, true);
		assert_int_equal(api_requests_parked(), CACHE_MAX);
	}
	shade_ref_release(adder);
	tp_stop(&pp);
	talloc_free(qs);
}

/* The server reads a small request into an item of the connection's
 * cache and gives the item back once it is served: two rounds of a
 * thousand requests in flight are served by at most ITEM_CACHE_MAX
 * items, kept between the rounds and after them. */
static void test_server_items_reused(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request **qs;
	unsigned made = 0;
	int round;

	qs = talloc_array(ctx, shade_request *, 1000);
	assert_non_null(qs);
	start(&pp, ctx, &adder);
	for (round = 0; round < 2; round++) {
		in_flight(adder, qs, round, false);
		if (round == 0)
			made = __atomic_load_n(&pp.server->items.n,
					       __ATOMIC_RELAXED);
	}
	assert_true(made >= 1);
	assert_true(made <= ITEM_CACHE_MAX);
	made = __atomic_load_n(&pp.server->items.n, __ATOMIC_RELAXED);
	assert_true(made >= 1);
	assert_true(made <= ITEM_CACHE_MAX);
	shade_ref_release(adder);
	tp_stop(&pp);
	talloc_free(qs);
}

/* A call freed with a parent it was moved onto is freed, not parked
 * (the parent's free cannot be refused). */
static void test_stolen_call_freed(void **state)
{
	TALLOC_CTX *ctx = *state;
	tp_peer pp;
	shade_ref *adder = NULL;
	shade_request *q;
	TALLOC_CTX *parent;
	unsigned long base;

	start(&pp, ctx, &adder);
	base = api_requests_parked();
	parent = talloc_new(ctx);
	assert_non_null(parent);
	q = begin_add(adder, 5, 6, NULL);
	talloc_steal(parent, q);
	finish_add(q, 11);
	talloc_free(parent);
	assert_true(api_requests_parked() <= base);
	shade_ref_release(adder);
	tp_stop(&pp);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_request_reused),
		SUITE_CASE(test_large_arguments_not_kept),
		SUITE_CASE(test_reply_sizes),
		SUITE_CASE(test_replies_in_flight),
		SUITE_CASE(test_future_replies_in_room),
		SUITE_CASE(test_future_buffer_reused),
		SUITE_CASE(test_error_reply),
		SUITE_CASE(test_freed_in_flight),
		SUITE_CASE(test_conn_freed_with_parked),
		SUITE_CASE(test_thread_exit_frees_cache),
		SUITE_CASE(test_two_threads_one_conn),
		SUITE_CASE(test_two_threads_sync_calls),
		SUITE_CASE(test_failed_call_leaves_reader_role),
		SUITE_CASE(test_many_in_flight_bounded),
		SUITE_CASE(test_stolen_call_freed),
		SUITE_CASE(test_server_items_reused),
	};

	return SUITE_RUN("budget", tests, argc, argv);
}
