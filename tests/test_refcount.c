/*
 * test_refcount.c - references carried by messages that are dropped,
 * refused, cancelled or late are given back (doc/protocol.md §6.2), on
 * both sides of a real socketpair: each case counts the exports of the
 * side that sent the references before and after.
 *
 * Server side (the client's object `tok` rides in a request that never
 * runs): unknown target, unknown member, wrong field count, deadline
 * passed, cancelled behind a running handler (which also shows that
 * freeing an unwaited future withdraws the call).  Client side (a new
 * server object rides in a reply nobody takes): a reply after the
 * caller's timeout, a future freed unwaited, a typed request freed
 * unfinished, a late ERROR with the object in its arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "conn/conn_int.h"
#include "conn/msg_int.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"

static int sleep_ms = 200;  /* calc.sleep() */
static int slow_ms;         /* calc.make() and calc.raise_new() */
static int marks;           /* calc.mark() runs */

/* make(): a new object (a reference the reply carries), after slow_ms. */
static shade_status make_new(shade_call_ctx *call)
{
	shade_ref *o;

	usleep((useconds_t)slow_ms * 1000u);
	SHADE_CHECK(shade_object_new("demo.New", NULL, &o, call->err));
	call->result = shade_ref_value(call->mem, o);
	shade_ref_release(o);
	return SHADE_OK;
}

/* raise_new(): ValueError whose argument is a new object, after slow_ms. */
static shade_status raise_new(shade_call_ctx *call)
{
	shade_ref *o;

	usleep((useconds_t)slow_ms * 1000u);
	SHADE_CHECK(shade_object_new("demo.New", NULL, &o, call->err));
	shade_error_set(call->err, SHADE_ERR_VALUE, "with an object");
	(*call->err)->args = shade_tuple_new(*call->err, 1);
	shade_seq_append_take((*call->err)->args, shade_ref_value(NULL, o),
			      NULL);
	shade_ref_release(o);
	return SHADE_ERR_VALUE;
}

/* mark(...): counts its runs. */
static shade_status mark(shade_call_ctx *call)
{
	marks++;
	call->result = NULL;
	return SHADE_OK;
}

/* Member indexes of calc (declaration order). */
enum { M_ADD, M_SLEEP, M_MAKE, M_RAISE, M_MARK };

/* A peer serving "calc" on its own thread, and calc's proxy. */
static shade_ref *start(tp_peer *pp, TALLOC_CTX *ctx)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *calc;

	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(calc, "sleep", th_sleep, &sleep_ms,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "make", make_new, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "raise_new", raise_new, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "mark", mark, NULL, false,
					  errp_));
	assert_ok(shade_registry_add(reg, "calc", calc, errp_));
	shade_ref_release(calc);
	assert_int_equal(tp_start(pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp->client, "calc", &calc, errp_));
	return calc;
}

/* Two round trips: whatever either side dropped before is read, its
 * RELEASE sent and applied. */
static void settle(shade_ref *calc)
{
	shade_value *r = NULL;
	int i;

	for (i = 0; i < 2; i++) {
		assert_ok(shade_invoke(NULL, calc, "add", NULL, NULL, &r,
				       errp_));
		talloc_free(r);
	}
}

/* Exports now in c's table. */
static uint64_t exports(shade_conn *c)
{
	shade_conn_stats st;

	shade_conn_stats_get(c, &st);
	return st.exports;
}

/* Send INVOKE on target, member `member`, args (encoded with c's
 * references), then `extra` more uint fields (a wrong field count), with
 * a timeout option when timeout_ms > 0; wait for the reply and return
 * its code. */
static shade_status odd_invoke(shade_conn *c, uint64_t target,
			       const char *member, const shade_value *args,
			       unsigned extra, int timeout_ms)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct outreq rq;
	shade_cbor_dec d;
	bool has;
	shade_error *e = NULL;
	shade_status st;
	unsigned i;

	assert_ok(conn_req_init(&rq, c, tmp, OP_INVOKE, 3 + extra, NULL,
				timeout_ms > 0 ? timeout_ms : -1, NULL, 0,
				errp_));
	shade_cbor_put_uint(rq.b, target);
	shade_cbor_put_cstr(rq.b, member);
	assert_ok(shade_cbor_encode_value(rq.b, args, &c->copts, errp_));
	for (i = 0; i < extra; i++)
		shade_cbor_put_uint(rq.b, 7);
	assert_ok(conn_req_send(&rq, tmp, errp_));
	assert_ok(conn_wait(c, &rq.p, 1, false, 5000, NULL, errp_));
	st = conn_take_reply(c, rq.p, &d, &has, &e);
	shade_error_free(e);
	talloc_free(tmp);
	return st;
}

/* Server side: the client's object rides in requests that never run. */
static void test_refcount_requests_not_run(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *calc, *tok;
	shade_value *args;
	shade_future *slow, *f;
	shade_value *r = NULL;
	shade_conn_stats st;
	uint64_t eid;
	tp_peer pp;

	calc = start(&pp, ctx);
	eid = ((struct proxy *)calc)->eid;
	assert_ok(shade_object_new("demo.Tok", NULL, &tok, errp_));
	args = shade_tuple_new(ctx, 1);
	assert_ok(shade_seq_append_take(args, shade_ref_value(NULL, tok),
					errp_));
	assert_int_equal(exports(pp.client), 0);

	/* Unknown target, unknown member, wrong field count. */
	assert_int_equal(odd_invoke(pp.client, 999, "add", args, 0, 0),
			 SHADE_ERR_NOT_FOUND);
	settle(calc);
	assert_int_equal(exports(pp.client), 0);
	assert_int_equal(odd_invoke(pp.client, eid, "nope", args, 0, 0),
			 SHADE_ERR_ATTRIBUTE);
	settle(calc);
	assert_int_equal(exports(pp.client), 0);
	assert_int_equal(odd_invoke(pp.client, eid, "mark", args, 2, 0),
			 SHADE_ERR_PROTOCOL);
	settle(calc);
	assert_int_equal(exports(pp.client), 0);
	assert_int_equal(marks, 0);

	/* Deadline passed while queued behind sleep (both in one write). */
	assert_ok(shade_invoke_async(ctx, calc, "sleep", NULL, NULL, &slow,
				     errp_));
	assert_int_equal(odd_invoke(pp.client, eid, "mark", args, 0, 20),
			 SHADE_ERR_TIMEOUT);
	assert_ok(shade_future_wait(ctx, slow, 5000, &r, errp_));
	talloc_free(r);
	talloc_free(slow);
	settle(calc);
	assert_int_equal(exports(pp.client), 0);
	assert_int_equal(marks, 0);

	/* Cancelled behind a running handler: freeing the unwaited future
	 * withdraws the call and the reference comes back. */
	assert_ok(shade_invoke_async(ctx, calc, "sleep", NULL, NULL, &slow,
				     errp_));
	assert_ok(shade_conn_flush(pp.client, errp_));
	usleep(50 * 1000); /* sleep runs */
	assert_ok(shade_invoke_async(ctx, calc, "mark", args, NULL, &f,
				     errp_));
	assert_int_equal(exports(pp.client), 1);
	talloc_free(f);
	assert_ok(shade_future_wait(ctx, slow, 5000, &r, errp_));
	talloc_free(r);
	talloc_free(slow);
	settle(calc);
	assert_int_equal(marks, 0);
	assert_int_equal(exports(pp.client), 0);
	shade_conn_stats_get(pp.server, &st);
	assert_int_equal(st.requests_cancelled, 1);
	assert_int_equal(st.requests_expired, 1);

	/* The same object in a request that runs is counted as usual. */
	assert_ok(shade_invoke(ctx, calc, "mark", args, NULL, &r, errp_));
	talloc_free(r);
	assert_int_equal(marks, 1);
	settle(calc);
	assert_int_equal(exports(pp.client), 0);
	marks = 0;
	talloc_free(args);
	shade_ref_release(tok);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* Client side: a new server object rides in replies nobody takes. */
static void test_refcount_replies_not_taken(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_call_opts co = { .timeout_ms = 30 };
	shade_ref *calc;
	shade_value *r = NULL;
	shade_error *err = NULL;
	shade_future *f;
	shade_request *q;
	shade_buf *a;
	uint64_t base;
	tp_peer pp;

	calc = start(&pp, ctx);
	base = exports(pp.server); /* calc */

	/* The reply comes after the caller's deadline. */
	slow_ms = 150;
	assert_int_equal(shade_invoke_ex(ctx, calc, "make", NULL, NULL, &co,
					 &r, &err), SHADE_ERR_TIMEOUT);
	shade_error_clear(&err);
	usleep(200 * 1000);
	settle(calc);
	assert_int_equal(exports(pp.server), base);

	/* So does an ERROR with the object in its arguments. */
	assert_int_equal(shade_invoke_ex(ctx, calc, "raise_new", NULL, NULL,
					 &co, &r, &err), SHADE_ERR_TIMEOUT);
	shade_error_clear(&err);
	usleep(200 * 1000);
	settle(calc);
	assert_int_equal(exports(pp.server), base);
	slow_ms = 0;

	/* A future whose reply arrived (read by the next call) is freed
	 * unwaited. */
	assert_ok(shade_invoke_async(ctx, calc, "make", NULL, NULL, &f,
				     errp_));
	settle(calc);
	assert_int_equal(exports(pp.server), base + 1);
	talloc_free(f);
	settle(calc);
	assert_int_equal(exports(pp.server), base);

	/* A typed request sent, answered, and freed unfinished. */
	assert_ok(shade_request_begin(calc, M_MAKE, SHADE_DISPATCH_INVOKE,
				      NULL, &q, &a, errp_));
	shade_cbor_put_array(a, 0);
	assert_ok(shade_request_send(q, errp_));
	settle(calc);
	assert_int_equal(exports(pp.server), base + 1);
	talloc_free(q);
	settle(calc);
	assert_int_equal(exports(pp.server), base);

	/* A reply taken is counted as usual: its proxy gives it back. */
	assert_ok(shade_invoke(ctx, calc, "make", NULL, NULL, &r, errp_));
	assert_int_equal(exports(pp.server), base + 1);
	talloc_free(r);
	settle(calc);
	assert_int_equal(exports(pp.server), base);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_refcount_requests_not_run),
		SUITE_CASE(test_refcount_replies_not_taken),
	};

	return SUITE_RUN("refcount", tests, argc, argv);
}
