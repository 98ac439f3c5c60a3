/*
 * test_pipeline.c - promise pipelining (doc/protocol.md §13) and the
 * asynchronous call forms with per-call options, over a socketpair whose
 * server side a thread serves: a dynamic chain of three calls in one
 * round trip, an error in the middle of a chain reaching its end with
 * the chain of where it was raised, an unused pipelined result released
 * with no round trip of its own and nothing left on the server, a peer
 * that keeps no results (the client waits instead), an attribute read
 * pipelined on, and deadlines and oneway on asynchronous calls.
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
#include "helpers/handlers.h"
#include "helpers/peer.h"
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
		s = server_after_call(&fx); /* the RELEASE came after */
	assert_int_equal(s.promises, 0);
	assert_int_equal(s.exports, s0.exports);
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

/* ------------------------------------------------------------ typed */

/* The accounts broker.Bank.open() makes (at most four a case). */
static int64_t balances[4];
static int n_accounts;

/* bank.Account.balance (get). */
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

/* bank.open(...).balance through generated stubs: the future-returning
 * form gives a typed reference at once, and reading from it costs the
 * one round trip of the whole chain; a failure of open reaches the read
 * with its chain. */
static void test_pipeline_typed_chain(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *obj = NULL, *ref = NULL;
	broker_Bank *bank = NULL;
	bank_Account *acct = NULL;
	shade_error *e = NULL;
	int64_t bal = 0;
	uint64_t before;
	tp_peer pp;

	n_accounts = 0;
	assert_ok(broker_Bank_serve(&bank_impl, NULL, &obj, errp_));
	assert_ok(shade_registry_add(reg, "bank", obj, errp_));
	shade_ref_release(obj);
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "bank", &ref, errp_));
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
	/* The DROPs go with the next call. */
	assert_ok(shade_lookup(pp.client, "bank", &ref, errp_));
	shade_ref_release(ref);
	TALLOC_FREE(bank);
	assert_int_equal(tp_stats(pp.server).promises, 0);
	tp_stop(&pp);
	talloc_free(ctx);
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
	};

	return suite_run("pipeline", tests, sizeof(tests) / sizeof(tests[0]),
			 argc, argv);
}
