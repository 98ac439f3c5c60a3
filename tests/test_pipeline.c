/*
 * test_pipeline.c - promise pipelining (doc/protocol.md §13) and the
 * asynchronous call forms with per-call options, over a socketpair whose
 * server side a thread serves: a dynamic chain of three calls in one
 * round trip, an error in the middle of a chain reaching its end with
 * the chain of where it was raised, an unused pipelined result released
 * with no round trip of its own and nothing left on the server, a peer
 * that keeps no results (the client waits instead), an attribute read
 * pipelined on, deadlines and oneway on asynchronous calls, a pending
 * result passed as an argument (dynamic, typed and raw tag 206 bytes,
 * with its failure and bad request ids), and the attribute path of a
 * promise (shade_promise_attr, I_get_attr_async).
 *
 * Every test checks that the group context's talloc blocks and the
 * references alive in the process are back where they started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "bank.h"
#include "pipe.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/raw.h"
#include "helpers/suite.h"

/* ------------------------------------------------------------ objects */

/* Calls of the oneway method bump(). */
static int bumps;
/* Milliseconds node.sleep() sleeps. */
static int sleep_ms = 400;

static shade_status node_new(int64_t depth, shade_ref **out,
			     shade_error **err);

/* node.next(): a new node one deeper. */
static shade_status node_next(shade_call_ctx *call)
{
	shade_ref *n;
	const shade_value *d = shade_object_attr(call->self, "depth");

	SHADE_CHECK(node_new(shade_value_as_int(d) + 1, &n, call->err));
	call->result = shade_ref_value_take(call->mem, n);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* node.value(): its depth. */
static shade_status node_value(shade_call_ctx *call)
{
	const shade_value *d = shade_object_attr(call->self, "depth");

	call->result = shade_int(call->mem, shade_value_as_int(d));
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* node.broken(): fails (a node it would have made never exists). */
static shade_status node_broken(shade_call_ctx *call)
{
	return shade_error_set(call->err, SHADE_ERR_VALUE, "no next node");
}

/* node.bump(): oneway, counts its calls. */
static shade_status node_bump(shade_call_ctx *call)
{
	(void)call;
	__atomic_add_fetch(&bumps, 1, __ATOMIC_RELAXED);
	return SHADE_OK;
}

/* node.bumps(): how many bump() calls ran. */
static shade_status node_bumps(shade_call_ctx *call)
{
	call->result = shade_int(call->mem,
				 __atomic_load_n(&bumps, __ATOMIC_RELAXED));
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* node.depth_of(n): the depth of node n, an object of this side, or
 * TypeError. */
static shade_status node_depth_of(shade_call_ctx *call)
{
	const shade_value *a = shade_seq_at(call->args, 0);
	shade_value *d = NULL;
	shade_ref *n;

	if (a == NULL || shade_value_kind(a) != SHADE_REF ||
	    shade_ref_is_proxy(n = shade_value_as_ref(a)))
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "depth_of takes a node of this side");
	SHADE_CHECK(shade_getattr(call->mem, n, "depth", &d, call->err));
	call->result = d;
	return SHADE_OK;
}

/* node.me(): the node itself. */
static shade_status node_me(shade_call_ctx *call)
{
	call->result = shade_ref_value(call->mem, call->self);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* A demo.Node of the given depth: attribute depth, methods next, value,
 * broken, sleep, bump (oneway), bumps; at depth 0 also an attribute
 * `child` holding a node of depth 10 (for paths). */
static shade_status node_new(int64_t depth, shade_ref **out,
			     shade_error **err)
{
	shade_value d = shade_value_int(depth);
	shade_ref *n, *child = NULL;
	shade_status st;

	SHADE_CHECK(shade_object_new("demo.Node", NULL, &n, err));
	st = shade_object_add_attr(n, "depth", &d, true, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "next", node_next, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "value", node_value, NULL,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "broken", node_broken, NULL,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "sleep", th_sleep, &sleep_ms,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "bump", node_bump, NULL, true,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "bumps", node_bumps, NULL,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "depth_of", node_depth_of,
					     NULL, false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "me", node_me, NULL, false,
					     err);
	if (st == SHADE_OK && depth == 0) {
		st = node_new(10, &child, err);
		if (st == SHADE_OK) {
			shade_value *cv = shade_ref_value(NULL, child);

			st = cv == NULL ? SHADE_ERR_NOMEM
					: shade_object_add_attr(n, "child", cv,
								true, err);
			talloc_free(cv);
			shade_ref_release(child);
		}
	}
	if (st != SHADE_OK) {
		shade_ref_release(n);
		return st;
	}
	*out = n;
	return SHADE_OK;
}

/* ------------------------------------------------------------ fixture */

/* A client and a served server exporting a depth-0 node as "root". */
struct fx {
	TALLOC_CTX *ctx;        /* the case's */
	shade_registry *reg;    /* the server's names */
	tp_peer pp;             /* the connections */
	shade_ref *root;        /* the client's proxy of root */
};

/* Start fx; sopts may be NULL. */
static void fx_start(struct fx *fx, void **state, const shade_conn_opts *sopts)
{
	shade_ref *root;

	memset(fx, 0, sizeof(*fx));
	fx->ctx = talloc_new(*state);
	fx->reg = shade_registry_new(fx->ctx);
	assert_non_null(fx->reg);
	assert_ok(node_new(0, &root, errp_));
	assert_ok(shade_registry_add(fx->reg, "root", root, errp_));
	shade_ref_release(root);
	assert_int_equal(tp_start(&fx->pp, fx->ctx, fx->reg, sopts, NULL), 0);
	assert_ok(shade_lookup(fx->pp.client, "root", &fx->root, errp_));
}

/* Stop fx, freeing everything. */
static void fx_stop(struct fx *fx)
{
	shade_ref_release(fx->root);
	tp_stop(&fx->pp);
	talloc_free(fx->ctx);
}

/* Round trips the client made so far. */
static uint64_t trips(struct fx *fx)
{
	return tp_stats(fx->pp.client).round_trips;
}

/* One synchronous call (a round trip that also carries what is queued),
 * then the server's counters once it has handled it. */
static shade_conn_stats server_after_call(struct fx *fx)
{
	shade_value *v = NULL;

	assert_ok(shade_invoke(NULL, fx->root, "value", NULL, NULL, &v,
			       errp_));
	talloc_free(v);
	return tp_stats(fx->pp.server);
}

static const shade_call_opts promise = { .promise = true };

/* The server's tables are back to s0 (a RELEASE the last reply caused
 * rides with one more call). */
static void fx_expect_clean(struct fx *fx, shade_conn_stats s0)
{
	shade_conn_stats s = server_after_call(fx);

	if (s.promises != 0 || s.exports != s0.exports)
		s = server_after_call(fx); /* the RELEASE came after */
	assert_int_equal(s.promises, 0);
	assert_int_equal(s.exports, s0.exports);
}

/* The arguments (r): a tuple on ctx holding a count of r. */
static shade_value *args_of(TALLOC_CTX *ctx, shade_ref *r)
{
	shade_value *args = shade_tuple_new(ctx, 1);

	assert_non_null(args);
	assert_ok(shade_seq_append_take(args, shade_ref_value(ctx, r),
					errp_));
	return args;
}

/* ------------------------------------------------------------ cases */

/* root.next().next().next().value(): three calls pipelined on results
 * not yet there, and the last waited for: one round trip. */
static void test_pipeline_dynamic_chain(void **state)
{
	struct fx fx;
	shade_future *f1, *f2, *f3;
	shade_ref *r1, *r2, *r3;
	shade_value *v = NULL;
	uint64_t before;
	shade_conn_stats s0, s;

	fx_start(&fx, state, NULL);
	s0 = server_after_call(&fx);
	before = trips(&fx);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "next", NULL, NULL,
					&promise, &f1, errp_));
	assert_ok(shade_future_ref(f1, &r1, errp_));
	assert_true(shade_ref_is_promise(r1));
	assert_ok(shade_invoke_async_ex(fx.ctx, r1, "next", NULL, NULL,
					&promise, &f2, errp_));
	assert_ok(shade_future_ref(f2, &r2, errp_));
	assert_ok(shade_invoke_async_ex(fx.ctx, r2, "next", NULL, NULL,
					&promise, &f3, errp_));
	assert_ok(shade_future_ref(f3, &r3, errp_));
	assert_ok(shade_invoke(fx.ctx, r3, "value", NULL, NULL, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 3);
	assert_int_equal(trips(&fx) - before, 1);
	/* The futures still give their own results. */
	talloc_free(v);
	assert_ok(shade_future_wait(fx.ctx, f2, -1, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_REF);
	assert_false(shade_ref_is_promise(shade_value_as_ref(v)));
	talloc_free(v);
	assert_int_equal(trips(&fx) - before, 1);
	assert_int_equal(tp_stats(fx.pp.server).promises, 3);
	shade_ref_release(r1);
	shade_ref_release(r2);
	shade_ref_release(r3);
	talloc_free(f1);
	talloc_free(f2);
	talloc_free(f3);
	s = server_after_call(&fx);
	assert_int_equal(s.promises, 0);
	assert_int_equal(s.exports, s0.exports);
	fx_stop(&fx);
}

/* root.broken().next().value(): the failure of the first call reaches
 * the last with the chain of where it was raised, in one round trip. */
static void test_pipeline_error_mid_chain(void **state)
{
	struct fx fx;
	shade_future *f1, *f2;
	shade_ref *r1, *r2;
	shade_value *v = NULL;
	shade_error *e = NULL;
	uint64_t before;

	fx_start(&fx, state, NULL);
	before = trips(&fx);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "broken", NULL, NULL,
					&promise, &f1, errp_));
	assert_ok(shade_future_ref(f1, &r1, errp_));
	assert_ok(shade_invoke_async_ex(fx.ctx, r1, "next", NULL, NULL,
					&promise, &f2, errp_));
	assert_ok(shade_future_ref(f2, &r2, errp_));
	assert_int_equal(shade_invoke(fx.ctx, r2, "value", NULL, NULL, &v,
				      &e),
			 SHADE_ERR_VALUE);
	assert_int_equal(trips(&fx) - before, 1);
	assert_non_null(e);
	assert_string_equal(e->message, "no next node");
	assert_int_equal(e->chain_len, 3);
	assert_string_equal(e->chain[0].type, "demo.Node");
	assert_string_equal(e->chain[0].member, "broken");
	assert_string_equal(e->chain[1].member, "INVOKE");
	assert_string_equal(e->chain[2].member, "INVOKE");
	shade_error_free(e);
	e = NULL;
	/* The middle call's own future reports the same failure. */
	assert_int_equal(shade_future_wait(fx.ctx, f2, -1, &v, &e),
			 SHADE_ERR_VALUE);
	assert_int_equal(e->chain_len, 2);
	shade_error_free(e);
	shade_ref_release(r1);
	shade_ref_release(r2);
	talloc_free(f1);
	talloc_free(f2);
	assert_int_equal(server_after_call(&fx).promises, 0);
	fx_stop(&fx);
}

/* A pipelined result nobody named: releasing it costs no round trip of
 * its own (the DROP rides with the next message) and leaves the
 * server's tables as they were. */
static void test_pipeline_release_unused(void **state)
{
	struct fx fx;
	shade_future *f;
	shade_ref *r;
	uint64_t before, frames;
	shade_conn_stats s0, s;

	fx_start(&fx, state, NULL);
	s0 = server_after_call(&fx);
	before = trips(&fx);
	frames = tp_stats(fx.pp.client).frames_sent;
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "next", NULL, NULL,
					&promise, &f, errp_));
	assert_ok(shade_future_ref(f, &r, errp_));
	shade_ref_release(r);
	talloc_free(f);
	assert_int_equal(trips(&fx) - before, 0);
	s = server_after_call(&fx);
	assert_int_equal(trips(&fx) - before, 1);
	/* The call, the DROP (and the RELEASE of the node its reply handed
	 * out, when that reply came before the free) went with the next
	 * call: at most four frames, one round trip. */
	assert_true(tp_stats(fx.pp.client).frames_sent - frames <= 4);
	if (s.promises != 0 || s.exports != s0.exports)
		fx_expect_clean(&fx, s0);
	fx_stop(&fx);
}

/* A peer that keeps no results: shade_future_ref waits (today's
 * behaviour), the chain still works, one round trip per step. */
static void test_pipeline_peer_without_feature(void **state)
{
	struct fx fx;
	shade_conn_opts so;
	shade_future *f1;
	shade_ref *r1;
	shade_value *v = NULL;
	uint64_t before;

	memset(&so, 0, sizeof(so));
	so.no_pipelining = true;
	fx_start(&fx, state, &so);
	before = trips(&fx);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "next", NULL, NULL,
					&promise, &f1, errp_));
	assert_ok(shade_future_ref(f1, &r1, errp_));
	assert_false(shade_ref_is_promise(r1));
	assert_int_equal(trips(&fx) - before, 1);
	assert_ok(shade_invoke(fx.ctx, r1, "value", NULL, NULL, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 1);
	assert_int_equal(trips(&fx) - before, 2);
	talloc_free(v);
	/* The future keeps its result for a wait. */
	assert_ok(shade_future_wait(fx.ctx, f1, -1, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_REF);
	talloc_free(v);
	shade_ref_release(r1);
	talloc_free(f1);
	assert_int_equal(tp_stats(fx.pp.server).promises, 0);
	fx_stop(&fx);
}

/* An attribute read without waiting, and a call pipelined on the
 * object it holds: root.child.value() in one round trip. */
static void test_pipeline_getattr_chain(void **state)
{
	struct fx fx;
	shade_future *f1;
	shade_ref *r1;
	shade_value *v = NULL;
	uint64_t before;

	fx_start(&fx, state, NULL);
	before = trips(&fx);
	assert_ok(shade_getattr_async(fx.ctx, fx.root, "child", &promise, &f1,
				      errp_));
	assert_ok(shade_future_ref(f1, &r1, errp_));
	assert_ok(shade_invoke(fx.ctx, r1, "value", NULL, NULL, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 10);
	assert_int_equal(trips(&fx) - before, 1);
	talloc_free(v);
	shade_ref_release(r1);
	talloc_free(f1);
	fx_stop(&fx);
}

/* Per-call options on an asynchronous call: its own deadline bounds a
 * wait of 0 (Timeout, the call withdrawn), and a oneway call is ready at
 * once with none and never answered. */
static void test_pipeline_async_options(void **state)
{
	struct fx fx;
	shade_call_opts co = { .timeout_ms = 50 };
	shade_call_opts ow = { .oneway = true };
	shade_future *f;
	shade_value *v = NULL;
	shade_error *e = NULL;
	uint64_t replies;

	fx_start(&fx, state, NULL);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "sleep", NULL, NULL,
					&co, &f, errp_));
	assert_int_equal(shade_future_wait(fx.ctx, f, 0, &v, &e),
			 SHADE_ERR_TIMEOUT);
	shade_error_free(e);
	e = NULL;
	/* Over: a second wait is refused. */
	assert_int_equal(shade_future_wait(fx.ctx, f, 0, &v, &e),
			 SHADE_ERR_INVALID);
	shade_error_free(e);
	talloc_free(f);
	/* Oneway. */
	replies = tp_stats(fx.pp.client).frames_received;
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "bumps", NULL, NULL,
					&ow, &f, errp_));
	assert_true(shade_future_ready(f));
	assert_ok(shade_future_wait(fx.ctx, f, -1, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_NONE);
	assert_int_equal(tp_stats(fx.pp.client).pending, 0);
	talloc_free(v);
	talloc_free(f);
	__atomic_store_n(&bumps, 0, __ATOMIC_RELAXED);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "bump", NULL, NULL,
					&ow, &f, errp_));
	talloc_free(f);
	assert_ok(shade_invoke(fx.ctx, fx.root, "bumps", NULL, NULL, &v,
			       errp_));
	assert_int_equal(shade_value_as_int(v), 1);
	talloc_free(v);
	/* The sleep's late reply (dropped) and the last call's, nothing
	 * for the two oneway calls. */
	assert_true(tp_stats(fx.pp.client).frames_received - replies <= 2);
	fx_stop(&fx);
}

/* root.depth_of(root.next()): the promise goes as the argument, the
 * call at once; one round trip, the server's tables as they were after.
 * Then a path: root.depth_of(root.me().child) and root.me().child.value()
 * (the attribute read at the server, shade_promise_attr), one round trip
 * for both. */
static void test_pipeline_promise_argument(void **state)
{
	struct fx fx;
	shade_future *f1, *f2, *f3;
	shade_ref *r1, *r2, *child;
	shade_value *args, *v = NULL;
	uint64_t before, frames;
	shade_conn_stats s0;

	fx_start(&fx, state, NULL);
	s0 = server_after_call(&fx);
	before = trips(&fx);
	frames = tp_stats(fx.pp.client).frames_sent;
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "next", NULL, NULL,
					&promise, &f1, errp_));
	assert_ok(shade_future_ref(f1, &r1, errp_));
	args = args_of(fx.ctx, r1);
	assert_ok(shade_invoke(fx.ctx, fx.root, "depth_of", args, NULL, &v,
			       errp_));
	assert_int_equal(shade_value_as_int(v), 1);
	assert_int_equal(trips(&fx) - before, 1);
	assert_int_equal(tp_stats(fx.pp.client).frames_sent - frames, 2);
	talloc_free(v);
	talloc_free(args);
	/* The future still gives its own result. */
	assert_ok(shade_future_wait(fx.ctx, f1, -1, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_REF);
	talloc_free(v);
	assert_int_equal(trips(&fx) - before, 1);
	shade_ref_release(r1);
	talloc_free(f1);

	/* A path: root.me().child, as an argument and as a target. */
	before = trips(&fx);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "me", NULL, NULL,
					&promise, &f2, errp_));
	assert_ok(shade_future_ref(f2, &r2, errp_));
	assert_ok(shade_promise_attr(r2, "child", &child, errp_));
	assert_true(shade_ref_is_promise(child));
	assert_int_equal(trips(&fx) - before, 0);
	args = args_of(fx.ctx, child);
	assert_ok(shade_invoke_async(fx.ctx, fx.root, "depth_of", args, NULL,
				     &f3, errp_));
	assert_ok(shade_invoke(fx.ctx, child, "value", NULL, NULL, &v,
			       errp_));
	assert_int_equal(shade_value_as_int(v), 10);
	talloc_free(v);
	assert_ok(shade_future_wait(fx.ctx, f3, -1, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 10);
	assert_int_equal(trips(&fx) - before, 1);
	talloc_free(v);
	talloc_free(args);
	talloc_free(f3);
	shade_ref_release(child);
	shade_ref_release(r2);
	talloc_free(f2);
	fx_expect_clean(&fx, s0);
	fx_stop(&fx);
}

/* A promise with a path outlives its connection: calls on it fail
 * ConnectionLost, and releasing it frees it (with its path). */
static void test_pipeline_promise_path_after_close(void **state)
{
	struct fx fx;
	shade_future *f;
	shade_ref *r, *late, *later = NULL;
	shade_value *v = NULL;
	shade_error *e = NULL;

	fx_start(&fx, state, NULL);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "me", NULL, NULL,
					&promise, &f, errp_));
	assert_ok(shade_future_ref(f, &r, errp_));
	assert_ok(shade_promise_attr(r, "child", &late, errp_));
	shade_ref_release(r);
	talloc_free(f);
	fx_stop(&fx);
	assert_int_equal(shade_invoke(NULL, late, "value", NULL, NULL, &v,
				      &e),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_free(e);
	e = NULL;
	assert_int_equal(shade_promise_attr(late, "child", &later, &e),
			 SHADE_ERR_CONNECTION_LOST);
	assert_null(later);
	shade_error_free(e);
	shade_ref_release(late);
}

/* root.depth_of(root.broken()): the failure of the call whose result is
 * the argument is the call's, with the chain of where it was raised
 * and then the call's own frame; one round trip.  A promise in a
 * keyword argument is refused before anything is sent. */
static void test_pipeline_promise_argument_error(void **state)
{
	struct fx fx;
	shade_future *f1;
	shade_ref *r1;
	shade_value *args, *kw, *v = NULL;
	shade_error *e = NULL;
	uint64_t before, frames;

	fx_start(&fx, state, NULL);
	before = trips(&fx);
	assert_ok(shade_invoke_async_ex(fx.ctx, fx.root, "broken", NULL, NULL,
					&promise, &f1, errp_));
	assert_ok(shade_future_ref(f1, &r1, errp_));
	args = args_of(fx.ctx, r1);
	assert_int_equal(shade_invoke(fx.ctx, fx.root, "depth_of", args, NULL,
				      &v, &e),
			 SHADE_ERR_VALUE);
	assert_int_equal(trips(&fx) - before, 1);
	assert_string_equal(e->message, "no next node");
	assert_int_equal(e->chain_len, 2);
	assert_string_equal(e->chain[0].type, "demo.Node");
	assert_string_equal(e->chain[0].member, "broken");
	assert_string_equal(e->chain[1].type, "demo.Node");
	assert_string_equal(e->chain[1].member, "depth_of");
	shade_error_free(e);
	e = NULL;
	/* As a keyword argument: refused here, nothing sent. */
	kw = shade_dict_new(fx.ctx, 1);
	assert_ok(shade_dict_set_take(kw, shade_str(fx.ctx, "n"),
				      shade_ref_value(fx.ctx, r1), errp_));
	frames = tp_stats(fx.pp.client).frames_sent;
	assert_int_equal(shade_invoke(fx.ctx, fx.root, "depth_of", NULL, kw,
				      &v, &e),
			 SHADE_ERR_TYPE);
	assert_int_equal(tp_stats(fx.pp.client).frames_sent, frames);
	shade_error_free(e);
	talloc_free(kw);
	talloc_free(args);
	shade_ref_release(r1);
	talloc_free(f1);
	assert_int_equal(server_after_call(&fx).promises, 0);
	fx_stop(&fx);
}

/* Tag 206 over the wire from a raw peer: naming a result nobody kept,
 * or one dropped, is a ProtocolError of that request only (the
 * connection carries on); with option 15 naming a result kept and
 * pending, the request waits for it and gets the object. */
static void test_pipeline_promise_argument_raw(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = tp_server_new(ctx, NULL);
	shade_ref *root;
	shade_error *e = NULL;
	struct raw r;

	assert_ok(node_new(0, &root, errp_));
	assert_ok(shade_server_export(v->s, "root", root, errp_));
	shade_ref_release(root);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	raw_open(&r, ctx, v->path, NULL, NULL);
	raw_hello_lookup(&r, "root"); /* export 1 */
	/* [3, 2, 1, "depth_of", [206([99])]]: nothing kept under 99 */
	raw_send_hex(&r, "85 03 02 01 68 64657074685f6f66 81 d8ce 81 1863");
	raw_reply(&r, 2, &e);
	assert_non_null(e);
	assert_int_equal(e->code, SHADE_ERR_PROTOCOL);
	assert_string_equal(e->message,
			    "tag 206: no result kept for request 99");
	shade_error_free(e);
	e = NULL;
	/* [3, 3, 1, "next", [], {3: 1}], DROP [21, 0, 3], then
	 * [3, 4, 1, "depth_of", [206([3])]]: dropped */
	raw_send_hex(&r, "86 03 03 01 64 6e657874 80 a1 03 01");
	raw_expect_return(&r, 3);
	raw_send_hex(&r, "83 15 00 03");
	raw_send_hex(&r, "85 03 04 01 68 64657074685f6f66 81 d8ce 81 03");
	raw_expect_error(&r, 4, SHADE_ERR_PROTOCOL);
	/* [3, 5, 1, "next", [], {3: 1}] and, at once,
	 * [3, 6, 1, "depth_of", [206([5])], {15: [5]}]: depth 1 */
	raw_send_hex(&r, "86 03 05 01 64 6e657874 80 a1 03 01");
	raw_send_hex(&r, "86 03 06 01 68 64657074685f6f66 81 d8ce 81 05"
			 " a1 0f 81 05");
	raw_expect_return(&r, 5);
	raw_reply(&r, 6, &e);
	assert_null(e);
	/* option 15 naming request 0: a ProtocolError of the request */
	raw_send_hex(&r, "86 03 07 01 68 64657074685f6f66 81 d8ce 81 05"
			 " a1 0f 81 00");
	raw_expect_error(&r, 7, SHADE_ERR_PROTOCOL);
	raw_close(&r);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ typed */

/* The accounts broker.Bank.open() makes (at most four a case). */
static int64_t balances[4];
static int n_accounts;

/* bank.Account.balance and pipe.Leaf.depth (get): the int64_t at
 * self. */
static shade_status acct_balance(void *self, int64_t *out, shade_error **err)
{
	(void)err;
	*out = *(int64_t *)self;
	return SHADE_OK;
}

static const bank_Account_impl acct_impl = {
	.get_balance = acct_balance,
};

/* broker.Bank.open(who, initial): a new account holding initial; a
 * negative initial is refused. */
static shade_status bk_open(void *self, TALLOC_CTX *mem_ctx, const char *who,
			    int64_t initial, bank_Account **result,
			    shade_error **err)
{
	shade_ref *ref = NULL;
	shade_status st;

	(void)self;
	(void)who;
	if (initial < 0)
		return shade_error_set(err, SHADE_ERR_VALUE, "initial %lld is "
				       "negative", (long long)initial);
	if (n_accounts == 4)
		return shade_error_set(err, SHADE_ERR_LIMIT, "bank full");
	balances[n_accounts] = initial;
	st = bank_Account_serve(&acct_impl, &balances[n_accounts++], &ref,
				err);
	if (st == SHADE_OK)
		st = bank_Account_narrow(mem_ctx, ref, result, err);
	shade_ref_release(ref);
	return st;
}

static const broker_Bank_impl bank_impl = {
	.open = bk_open,
};

/* Export typed object obj (its count taken) as `name` on a new peer pp
 * on ctx: the client's reference to it (one count). */
static shade_ref *typed_start(TALLOC_CTX *ctx, tp_peer *pp, shade_ref *obj,
			      const char *name)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *ref = NULL;

	assert_non_null(reg);
	assert_ok(shade_registry_add(reg, name, obj, errp_));
	shade_ref_release(obj);
	assert_int_equal(tp_start(pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp->client, name, &ref, errp_));
	return ref;
}

/* End a typed case: one more call carries the DROPs, after which the
 * server keeps no result; pp stopped, ctx freed. */
static void typed_stop(TALLOC_CTX *ctx, tp_peer *pp, const char *name)
{
	shade_ref *ref = NULL;

	assert_ok(shade_lookup(pp->client, name, &ref, errp_));
	shade_ref_release(ref);
	assert_int_equal(tp_stats(pp->server).promises, 0);
	tp_stop(pp);
	talloc_free(ctx);
}

/* bank.open(...).balance through generated stubs: the future-returning
 * form gives a typed reference at once, and reading from it costs the
 * one round trip of the whole chain; a failure of open reaches the read
 * with its chain. */
static void test_pipeline_typed_chain(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *obj = NULL, *ref = NULL;
	broker_Bank *bank = NULL;
	bank_Account *acct = NULL;
	shade_error *e = NULL;
	int64_t bal = 0;
	uint64_t before;
	tp_peer pp;

	n_accounts = 0;
	assert_ok(broker_Bank_serve(&bank_impl, NULL, &obj, errp_));
	ref = typed_start(ctx, &pp, obj, "bank");
	assert_ok(broker_Bank_narrow(ctx, ref, &bank, errp_));
	shade_ref_release(ref);
	before = tp_stats(pp.client).round_trips;
	assert_ok(broker_Bank_open_async(bank, ctx, "x", 7, &acct, errp_));
	assert_true(shade_ref_is_promise(acct->ref));
	assert_int_equal(tp_stats(pp.client).round_trips - before, 0);
	assert_ok(bank_Account_get_balance(acct, &bal, errp_));
	assert_int_equal(bal, 7);
	assert_int_equal(tp_stats(pp.client).round_trips - before, 1);
	TALLOC_FREE(acct);
	/* A failure of open reaches the call made on its result. */
	assert_ok(broker_Bank_open_async(bank, ctx, "y", -1, &acct, errp_));
	assert_int_equal(bank_Account_get_balance(acct, &bal, &e),
			 SHADE_ERR_VALUE);
	assert_int_equal(tp_stats(pp.client).round_trips - before, 2);
	assert_true(e->chain_len >= 2);
	assert_string_equal(e->chain[0].type, "broker.Bank");
	assert_string_equal(e->chain[0].member, "open");
	shade_error_free(e);
	TALLOC_FREE(acct);
	TALLOC_FREE(bank);
	typed_stop(ctx, &pp, "bank");
}

/* The trees pipe.Tree.grow() makes (at most eight a case) and the depth
 * of each one's leaf. */
static int64_t depths[8];
static int n_trees;

static const pipe_Leaf_impl leaf_impl = {
	.get_depth = acct_balance,
};

static const pipe_Tree_impl tree_impl;

/* pipe.Tree.leaf (get): a leaf of the tree's depth. */
static shade_status tree_leaf(void *self, TALLOC_CTX *mem_ctx,
			      pipe_Leaf **out, shade_error **err)
{
	shade_ref *ref = NULL;
	shade_status st = pipe_Leaf_serve(&leaf_impl, self, &ref, err);

	if (st == SHADE_OK)
		st = pipe_Leaf_narrow(mem_ctx, ref, out, err);
	shade_ref_release(ref);
	return st;
}

/* pipe.Tree.grow(n): a tree n deeper; a negative n is refused. */
static shade_status tree_grow(void *self, TALLOC_CTX *mem_ctx, int64_t n,
			      pipe_Tree **result, shade_error **err)
{
	shade_ref *ref = NULL;
	shade_status st;

	if (n < 0)
		return shade_error_set(err, SHADE_ERR_VALUE, "cannot grow %lld",
				       (long long)n);
	if (n > 100)
		return shade_error_set(err, SHADE_ERR_TYPE, "too deep");
	if (n_trees == 8)
		return shade_error_set(err, SHADE_ERR_LIMIT, "forest full");
	depths[n_trees] = *(int64_t *)self + n;
	st = pipe_Tree_serve(&tree_impl, &depths[n_trees++], &ref, err);
	if (st == SHADE_OK)
		st = pipe_Tree_narrow(mem_ctx, ref, result, err);
	shade_ref_release(ref);
	return st;
}

/* pipe.Tree.depth_of(l): the depth of a leaf served here. */
static shade_status tree_depth_of(void *self, pipe_Leaf *l, int64_t *result,
				  shade_error **err)
{
	int64_t *d = l != NULL ? pipe_Leaf_served_self(l->ref) : NULL;

	(void)self;
	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "not a leaf of this side");
	*result = *d;
	return SHADE_OK;
}

static const pipe_Tree_impl tree_impl = {
	.get_leaf = tree_leaf,
	.grow = tree_grow,
	.depth_of = tree_depth_of,
};

/* tree.grow(5).leaf.depth through generated stubs: the future-returning
 * forms of the operation and of the attribute give typed references at
 * once (the attribute's a promise with a path, no message), and the
 * read costs the one round trip of the chain.  tree.depth_of(
 * tree.grow(7).leaf): a typed promise as an argument, one round trip.
 * A failure of grow reaches the end of the chain with its chain. */
static void test_pipeline_typed_attr_path(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *obj = NULL, *ref = NULL;
	pipe_Tree *tree = NULL, *t2 = NULL;
	pipe_Leaf *leaf = NULL;
	shade_error *e = NULL;
	int64_t d = 0;
	uint64_t before;
	tp_peer pp;

	n_trees = 1;
	depths[0] = 0;
	assert_ok(pipe_Tree_serve(&tree_impl, &depths[0], &obj, errp_));
	ref = typed_start(ctx, &pp, obj, "tree");
	assert_ok(pipe_Tree_narrow(ctx, ref, &tree, errp_));
	shade_ref_release(ref);
	before = tp_stats(pp.client).round_trips;
	assert_ok(pipe_Tree_grow_async(tree, ctx, 5, &t2, errp_));
	assert_ok(pipe_Tree_get_leaf_async(t2, ctx, &leaf, errp_));
	assert_true(shade_ref_is_promise(leaf->ref));
	assert_int_equal(tp_stats(pp.client).round_trips - before, 0);
	assert_ok(pipe_Leaf_get_depth(leaf, &d, errp_));
	assert_int_equal(d, 5);
	assert_int_equal(tp_stats(pp.client).round_trips - before, 1);
	TALLOC_FREE(leaf);
	TALLOC_FREE(t2);
	/* A typed promise as an argument. */
	assert_ok(pipe_Tree_grow_async(tree, ctx, 7, &t2, errp_));
	assert_ok(pipe_Tree_get_leaf_async(t2, ctx, &leaf, errp_));
	assert_ok(pipe_Tree_depth_of(tree, leaf, &d, errp_));
	assert_int_equal(d, 7);
	assert_int_equal(tp_stats(pp.client).round_trips - before, 2);
	TALLOC_FREE(leaf);
	TALLOC_FREE(t2);
	/* A failure of grow reaches the read at the end. */
	assert_ok(pipe_Tree_grow_async(tree, ctx, -1, &t2, errp_));
	assert_ok(pipe_Tree_get_leaf_async(t2, ctx, &leaf, errp_));
	assert_int_equal(pipe_Leaf_get_depth(leaf, &d, &e), SHADE_ERR_VALUE);
	assert_int_equal(tp_stats(pp.client).round_trips - before, 3);
	assert_true(e->chain_len >= 2);
	assert_string_equal(e->chain[0].type, "pipe.Tree");
	assert_string_equal(e->chain[0].member, "grow");
	shade_error_free(e);
	e = NULL;
	TALLOC_FREE(leaf);
	TALLOC_FREE(t2);
	/* ... and the call it is passed to, as it was raised (a TypeError
	 * is not taken for a bad argument of depth_of). */
	assert_ok(pipe_Tree_grow_async(tree, ctx, 1000, &t2, errp_));
	assert_ok(pipe_Tree_get_leaf_async(t2, ctx, &leaf, errp_));
	assert_int_equal(pipe_Tree_depth_of(tree, leaf, &d, &e),
			 SHADE_ERR_TYPE);
	assert_int_equal(tp_stats(pp.client).round_trips - before, 4);
	assert_string_equal(e->message, "too deep");
	assert_true(e->chain_len >= 2);
	assert_string_equal(e->chain[0].member, "grow");
	assert_string_equal(e->chain[e->chain_len - 1].member, "depth_of");
	shade_error_free(e);
	TALLOC_FREE(leaf);
	TALLOC_FREE(t2);
	TALLOC_FREE(tree);
	typed_stop(ctx, &pp, "tree");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_pipeline_dynamic_chain),
		SUITE_CASE(test_pipeline_error_mid_chain),
		SUITE_CASE(test_pipeline_release_unused),
		SUITE_CASE(test_pipeline_peer_without_feature),
		SUITE_CASE(test_pipeline_getattr_chain),
		SUITE_CASE(test_pipeline_async_options),
		SUITE_CASE(test_pipeline_typed_chain),
		SUITE_CASE(test_pipeline_promise_argument),
		SUITE_CASE(test_pipeline_promise_argument_error),
		SUITE_CASE(test_pipeline_promise_argument_raw),
		SUITE_CASE(test_pipeline_promise_path_after_close),
		SUITE_CASE(test_pipeline_typed_attr_path),
	};

	return suite_run("pipeline", tests, sizeof(tests) / sizeof(tests[0]),
			 argc, argv);
}
