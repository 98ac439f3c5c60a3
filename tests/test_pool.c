/*
 * test_pool.c - a server with worker threads (shade_server_opts.threads),
 * deferred replies and cancel, over real Unix sockets: a blocking handler
 * holds only its own connection, one connection's requests run in order,
 * the concurrent option lets them run at once, callbacks nested in a
 * full pool never wait for a free worker, a deferred reply answered from
 * another thread, a deferred handler told of a CANCEL and of the loss of
 * its connection, a dropped handle answering RuntimeError, and a queued
 * request withdrawn by CANCEL never running.
 *
 * No case asserts a speed: each blocks a handler on a gate the case
 * holds and shows what completes while it is provably still blocked.
 * Every wait is bounded.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"
#include "greeter.h"

/* How long any wait of a case may last, ms. */
#define BOUND_MS 10000

/* A gate handlers block on until the case opens it, counting who
 * entered, who is inside and the most inside at once. */
struct gate {
	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv;  /* changed */
	int open;           /* handlers may pass (1) */
	int entered;        /* handlers that reached it */
	int inside;         /* handlers inside now */
	int most;           /* most inside at once */
	int order[64];      /* the argument of each record(i), in the
			     * order they ran */
	int n_order;        /* entries in order */
	shade_reply *held[4]; /* deferred replies kept by handlers */
	int n_held;         /* entries in held */
	int cancelled;      /* cancel callbacks that ran */
};

/* The one gate of the process (the handlers' udata). */
static struct gate g;

/* Reset the gate for a case. */
static void gate_reset(void)
{
	pthread_mutex_lock(&g.mu);
	g.open = 0;
	g.entered = g.inside = g.most = g.n_order = g.n_held = 0;
	g.cancelled = 0;
	pthread_mutex_unlock(&g.mu);
}

/* Open the gate. */
static void gate_open(void)
{
	pthread_mutex_lock(&g.mu);
	g.open = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

/* Wait (bounded) until *field reaches n; true when it did. */
static bool gate_wait_for(const int *field, int n)
{
	int64_t end = tu_now_ms() + BOUND_MS;
	bool ok;

	pthread_mutex_lock(&g.mu);
	while (*field < n && tu_now_ms() < end) {
		pthread_mutex_unlock(&g.mu);
		usleep(1000);
		pthread_mutex_lock(&g.mu);
	}
	ok = *field >= n;
	pthread_mutex_unlock(&g.mu);
	return ok;
}

/* Read a counter of the gate under its lock. */
static int gate_get(const int *field)
{
	int v;

	pthread_mutex_lock(&g.mu);
	v = *field;
	pthread_mutex_unlock(&g.mu);
	return v;
}

/* Enter the gate, wait (bounded) until *field reaches n, leave; whether
 * it did.  Counts who entered, who is inside and the most at once. */
static bool enter_wait(const int *field, int n)
{
	int64_t end = tu_now_ms() + BOUND_MS;
	bool ok;

	pthread_mutex_lock(&g.mu);
	g.entered++;
	g.inside++;
	if (g.inside > g.most)
		g.most = g.inside;
	while (*field < n && tu_now_ms() < end) {
		pthread_mutex_unlock(&g.mu);
		usleep(1000);
		pthread_mutex_lock(&g.mu);
	}
	ok = *field >= n;
	g.inside--;
	pthread_mutex_unlock(&g.mu);
	return ok;
}

/* block(): wait until the gate opens; returns whether it did. */
static shade_status h_block(shade_call_ctx *call)
{
	call->result = shade_bool(call->mem, enter_wait(&g.open, 1));
	return SHADE_OK;
}

/* pair(): wait until a second caller is inside too; returns whether one
 * was. */
static shade_status h_pair(shade_call_ctx *call)
{
	call->result = shade_bool(call->mem, enter_wait(&g.most, 2));
	return SHADE_OK;
}

/* record(i): note i, and how many ran at once (a short pause inside, so
 * two running together would overlap). */
static shade_status h_record(shade_call_ctx *call)
{
	int64_t i = shade_value_as_int(shade_seq_at(call->args, 0));

	pthread_mutex_lock(&g.mu);
	g.inside++;
	if (g.inside > g.most)
		g.most = g.inside;
	if (g.n_order < 64)
		g.order[g.n_order++] = (int)i;
	pthread_mutex_unlock(&g.mu);
	usleep(200);
	pthread_mutex_lock(&g.mu);
	g.inside--;
	pthread_mutex_unlock(&g.mu);
	return SHADE_OK;
}

/* A deferred reply's cancel callback: count it, answer Cancelled. */
static void on_cancel(shade_reply *r, void *udata)
{
	(void)udata;
	pthread_mutex_lock(&g.mu);
	g.cancelled++;
	pthread_mutex_unlock(&g.mu);
	shade_reply_error(r, SHADE_ERR_CANCELLED, "withdrawn");
}

/* later(): defer the reply and keep the handle in the gate (answered
 * by the case); with udata set, answer Cancelled when cancelled. */
static shade_status h_later(shade_call_ctx *call)
{
	shade_reply *r = shade_call_defer(call);

	if (r == NULL)
		return shade_error_set(call->err, SHADE_ERR_RUNTIME,
				       "nothing to defer");
	/* A second defer of the same request gives nothing. */
	if (shade_call_defer(call) != NULL)
		return shade_error_set(call->err, SHADE_ERR_RUNTIME,
				       "deferred twice");
	pthread_mutex_lock(&g.mu);
	g.held[g.n_held < 4 ? g.n_held++ : 3] = r;
	g.entered++;
	pthread_mutex_unlock(&g.mu);
	if (call->udata != NULL)
		shade_reply_on_cancel(r, on_cancel, NULL);
	return SHADE_OK;
}

/* drop(): defer the reply, then free the handle unanswered. */
static shade_status h_drop(shade_call_ctx *call)
{
	shade_reply_free(shade_call_defer(call));
	return SHADE_OK;
}

/* The size of big()'s result. */
#define BIG_BYTES ((size_t)256 << 10)

/* big(): BIG_BYTES of zeros, counted as entered in the gate. */
static shade_status h_big(shade_call_ctx *call)
{
	static const uint8_t zeros[BIG_BYTES];

	pthread_mutex_lock(&g.mu);
	g.entered++;
	pthread_mutex_unlock(&g.mu);
	call->result = shade_bytes(call->mem, zeros, sizeof(zeros));
	return call->result != NULL ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* The object every case serves: "svc" with the handlers above, add (the
 * sum of its arguments) and call (its callback's result + 1), both of
 * helpers/handlers.c. */
static shade_ref *svc_new(void)
{
	shade_ref *o;

	assert_ok(shade_object_new("test.Pool", NULL, &o, errp_));
	assert_ok(shade_object_add_method(o, "block", h_block, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "pair", h_pair, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "record", h_record, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "later", h_later, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "later_cancel", h_later, &g,
					  false, errp_));
	assert_ok(shade_object_add_method(o, "drop", h_drop, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "big", h_big, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(o, "call", th_call_plus_one, NULL,
					  false, errp_));
	return o;
}

/* The workers of a server made with default options on this thread:
 * one per core of its CPU affinity, none on one core. */
static unsigned default_workers(void)
{
	cpu_set_t set;
	int n;

	CPU_ZERO(&set);
	assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
	n = CPU_COUNT(&set);
	return n > 1 ? (unsigned)n : 0;
}

/* A running server with `threads` workers (all: concurrent for every
 * object) exporting a svc object as "svc" and a second one, marked
 * concurrent, as "csvc". */
static tp_server *pool_server(TALLOC_CTX *ctx, unsigned threads, bool all)
{
	shade_server_opts so = { 0 };
	tp_server *v;
	shade_ref *o, *co;

	so.threads = threads;
	so.concurrent = all;
	v = tp_server_new(ctx, &so);
	assert_int_equal(shade_server_threads(v->s),
			 threads == 0 ? default_workers()
				      : threads > 1 ? threads : 0);
	o = svc_new();
	co = svc_new();
	assert_ok(shade_server_export(v->s, "svc", o, errp_));
	assert_ok(shade_server_export_concurrent(v->s, "csvc", co, errp_));
	assert_true(shade_ref_concurrent(co));
	assert_false(shade_ref_concurrent(o));
	shade_ref_release(o);
	shade_ref_release(co);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* A client of v with a bounded default deadline, and its proxy of
 * `name`. */
static shade_conn *client(TALLOC_CTX *ctx, tp_server *v, const char *name,
			  shade_ref **obj)
{
	shade_conn_opts co = { 0 };
	shade_conn *c;

	co.timeout_ms = BOUND_MS;
	assert_ok(shade_connect(ctx, v->addr, &co, &c, errp_));
	assert_ok(shade_lookup(c, name, obj, errp_));
	return c;
}

/* One case's server and first client. */
struct fx {
	TALLOC_CTX *ctx;  /* the case's context */
	tp_server *v;     /* the server */
	shade_conn *c;    /* a client */
	shade_ref *o;     /* its proxy of the object named */
};

/* Reset the gate, start a server with `threads` workers (all: every
 * object concurrent) and a client of `name`. */
static void fx_start(struct fx *x, void **state, unsigned threads, bool all,
		     const char *name)
{
	gate_reset();
	x->ctx = talloc_new(*state);
	x->v = pool_server(x->ctx, threads, all);
	x->c = client(x->ctx, x->v, name, &x->o);
}

/* Release the client, stop the server, free the case's context. */
static void fx_end(struct fx *x)
{
	shade_ref_release(x->o);
	talloc_free(x->c);
	tp_server_stop(x->v);
	talloc_free(x->ctx);
}

/* A call of name(i) (i < 0: no argument), its result's truth or int;
 * -100 - code when it failed. */
static int64_t call_int(shade_ref *o, const char *name, int64_t i)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 1), *r = NULL;
	shade_value vi = shade_value_int(i);
	shade_status st;
	int64_t out;

	if (i >= 0)
		shade_seq_append(t, &vi, NULL);
	st = shade_invoke(tmp, o, name, t, NULL, &r, NULL);
	if (st != SHADE_OK)
		out = -100 + st;
	else if (shade_value_kind(r) == SHADE_BOOL)
		out = shade_value_as_bool(r);
	else if (shade_value_kind(r) == SHADE_INT)
		out = shade_value_as_int(r);
	else
		out = 0;
	talloc_free(tmp);
	return out;
}

/* Start name(i) without waiting (written at once). */
static shade_future *start(TALLOC_CTX *ctx, shade_conn *c, shade_ref *o,
			   const char *name, int64_t i)
{
	shade_value *t = shade_tuple_new(ctx, 1);
	shade_value vi = shade_value_int(i);
	shade_future *f;

	if (i >= 0)
		shade_seq_append(t, &vi, NULL);
	assert_ok(shade_invoke_async(ctx, o, name, t, NULL, &f, errp_));
	assert_ok(shade_conn_flush(c, errp_));
	return f;
}

/* The truth of a future's result; -100 - code when it failed. */
static int64_t wait_int(shade_future *f, shade_status *code)
{
	shade_value *r = NULL;
	shade_error *e = NULL;
	shade_status st = shade_future_wait(NULL, f, BOUND_MS, &r, &e);
	int64_t out;

	if (code != NULL)
		*code = st;
	out = st != SHADE_OK ? -100 + st
	      : shade_value_kind(r) == SHADE_BOOL ? shade_value_as_bool(r)
	      : shade_value_kind(r) == SHADE_INT ? shade_value_as_int(r)
						  : 0;
	talloc_free(r);
	shade_error_free(e);
	return out;
}

/* A thread calling svc.block() on a connection of its own. */
struct blocker {
	tp_server *v;       /* the server */
	int64_t result;     /* block()'s result */
};

/* Body of a blocker thread. */
static void *blocker_main(void *arg)
{
	struct blocker *b = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts co = { 0 };
	shade_conn *c;
	shade_ref *o = NULL;

	b->result = -1;
	co.timeout_ms = BOUND_MS;
	if (shade_connect(ctx, b->v->addr, &co, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "svc", &o, NULL) == SHADE_OK)
		b->result = call_int(o, "block", -1);
	shade_ref_release(o);
	talloc_free(ctx);
	return NULL;
}

/* While one connection's handler is blocked on the gate, calls on two
 * other connections complete (with `threads` workers); the blocked
 * handler was still inside when they did. */
static void isolation(void **state, unsigned threads)
{
	struct fx x;
	struct blocker b = { 0 };
	tu_thread th = { 0 };
	shade_ref *o2;
	shade_conn *c2;
	int i;

	fx_start(&x, state, threads, false, "svc");
	b.v = x.v;
	c2 = client(x.ctx, x.v, "svc", &o2);
	assert_int_equal(tu_thread_start(&th, blocker_main, &b), 0);
	assert_true(gate_wait_for(&g.entered, 1));
	for (i = 0; i < 20; i++) {
		assert_int_equal(call_int(x.o, "add", i), i);
		assert_int_equal(call_int(o2, "add", i), i);
	}
	/* The blocked handler never left meanwhile. */
	assert_int_equal(gate_get(&g.inside), 1);
	gate_open();
	assert_true(tu_thread_join(&th, BOUND_MS, NULL));
	assert_int_equal(b.result, 1);
	shade_ref_release(o2);
	talloc_free(c2);
	fx_end(&x);
}

/* The above with 2 workers. */
static void test_pool_isolation(void **state)
{
	isolation(state, 2);
}

/* A server made with default options has one worker per core (none on
 * one core), so the blocked handler above holds only its own
 * connection there too. */
static void test_pool_default_isolation(void **state)
{
	if (default_workers() == 0)
		skip(); /* one core: the default is the single loop */
	isolation(state, 0);
}

/* In a child: the workers of a default server made while talloc's
 * null tracking is on (the exit code). */
static int tracked_workers(void *arg)
{
	shade_server *s = NULL;
	unsigned n;

	(void)arg;
	talloc_enable_null_tracking();
	if (shade_server_new(NULL, NULL, &s, NULL) != SHADE_OK)
		return 100;
	n = shade_server_threads(s);
	talloc_free(s);
	return (int)n;
}

/* In a child: the workers of a default server made on a thread allowed
 * only the first `arg` of the cores it may run on (the exit code; 100:
 * no such cores). */
static int pinned_workers(void *arg)
{
	int want = *(const int *)arg, have = 0, cpu;
	cpu_set_t all, set;
	shade_server *s = NULL;
	unsigned n;

	CPU_ZERO(&all);
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof all, &all) != 0)
		return 100;
	for (cpu = 0; cpu < CPU_SETSIZE && have < want; cpu++)
		if (CPU_ISSET(cpu, &all)) {
			CPU_SET(cpu, &set);
			have++;
		}
	if (have < want || sched_setaffinity(0, sizeof set, &set) != 0 ||
	    shade_server_new(NULL, NULL, &s, NULL) != SHADE_OK)
		return 100;
	n = shade_server_threads(s);
	talloc_free(s);
	return (int)n;
}

/* A server started on fewer cores than the machine has (taskset -c 0)
 * counts the cores it may run on: on one it has no workers, on two it
 * has two. */
static void test_pool_threads_follow_affinity(void **state)
{
	static const int cores[2] = { 1, 2 };
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int status = 0, i;
	pid_t pid;

	(void)state;
	for (i = 0; i < 2; i++) {
		if (cores[i] > online)
			break;
		pid = tu_fork(pinned_workers, (void *)&cores[i]);
		assert_true(pid > 0);
		assert_true(tu_wait_child(pid, BOUND_MS, &status));
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status),
				 cores[i] > 1 ? cores[i] : 0);
	}
}

/* The default number of workers, and the single loop the default falls
 * back to while talloc's null tracking is on (its list of blocks
 * without a parent has no lock: shade/server.h); threads 1 asks for no
 * workers. */
static void test_pool_default_threads(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server_opts one = { .threads = 1 };
	shade_server *s;
	int status = 0;
	pid_t pid;

	assert_ok(shade_server_new(ctx, NULL, &s, errp_));
	assert_int_equal(shade_server_threads(s), default_workers());
	talloc_free(s);
	assert_ok(shade_server_new(ctx, &one, &s, errp_));
	assert_int_equal(shade_server_threads(s), 0);
	talloc_free(s);
	talloc_free(ctx);
	/* In a process of its own: blocks made meanwhile stay linked. */
	pid = tu_fork(tracked_workers, NULL);
	assert_true(pid > 0);
	assert_true(tu_wait_child(pid, BOUND_MS, &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A client asks for 40 results of 256 KiB and reads none: with two
 * workers the server stops starting its requests once the unsent output
 * passes max_output (64 KiB), a burst of replies (16) later at most;
 * once the client reads, every result arrives. */
static void test_pool_backpressure(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server_opts so = { .threads = 2, .max_output = 64 * 1024 };
	shade_future *f[40];
	shade_value *r = NULL;
	shade_ref *o, *svc;
	shade_conn *c;
	tp_server *v;
	int i, n, last = -1, still = 0;
	int64_t end;

	gate_reset();
	v = tp_server_new(ctx, &so);
	svc = svc_new();
	assert_ok(shade_server_export(v->s, "svc", svc, errp_));
	shade_ref_release(svc);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	c = client(ctx, v, "svc", &o);
	for (i = 0; i < 40; i++)
		f[i] = start(ctx, c, o, "big", -1);
	/* Until the count stood still for 300 ms (5 s at most). */
	end = tu_now_ms() + 5000;
	while (still < 6 && tu_now_ms() < end) {
		usleep(50 * 1000);
		n = gate_get(&g.entered);
		still = n == last ? still + 1 : 0;
		last = n;
	}
	print_message("%d of 40 started before the client read\n", last);
	assert_true(last > 0);
	assert_true(last <= 18); /* the first burst and the one that filled */
	for (i = 0; i < 40; i++) {
		assert_ok(shade_future_wait(ctx, f[i], BOUND_MS, &r, errp_));
		assert_int_equal(shade_value_kind(r), SHADE_BYTES);
		assert_int_equal(shade_value_len(r), BIG_BYTES);
		talloc_free(r);
		r = NULL;
	}
	assert_int_equal(gate_get(&g.entered), 40);
	shade_ref_release(o);
	talloc_free(c);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* 40 calls pipelined on one connection run one at a time, in the order
 * they were sent, even with 4 workers. */
static void test_pool_order(void **state)
{
	struct fx x;
	shade_future *f[40];
	int i;

	fx_start(&x, state, 4, false, "svc");
	for (i = 0; i < 40; i++)
		f[i] = start(x.ctx, x.c, x.o, "record", i);
	for (i = 0; i < 40; i++)
		assert_int_equal(wait_int(f[i], NULL), 0);
	assert_int_equal(gate_get(&g.n_order), 40);
	for (i = 0; i < 40; i++)
		assert_int_equal(g.order[i], i);
	assert_int_equal(gate_get(&g.most), 1);
	fx_end(&x);
}

/* Two pair() calls on one connection meet inside when the object is
 * concurrent, or the server is (in order they could not: the order case
 * above shows at most one inside). */
static void concurrent_case(void **state, bool all, const char *name)
{
	struct fx x;
	shade_future *f1, *f2;

	fx_start(&x, state, 2, all, name);
	f1 = start(x.ctx, x.c, x.o, "pair", -1);
	f2 = start(x.ctx, x.c, x.o, "pair", -1);
	assert_int_equal(wait_int(f1, NULL), 1);
	assert_int_equal(wait_int(f2, NULL), 1);
	assert_int_equal(gate_get(&g.most), 2);
	fx_end(&x);
}

static void test_pool_concurrent_object(void **state)
{
	concurrent_case(state, false, "csvc");
}

static void test_pool_concurrent_server(void **state)
{
	concurrent_case(state, true, "svc");
}

/* A callback that waits until `want` callbacks are inside (every worker
 * of the server is then waiting in call()), then calls svc.add back on
 * its own connection: A -> B -> A -> B. */
struct nest {
	tp_server *v;       /* the server */
	int64_t result;     /* call()'s result */
};

/* The callback: meet the others, then add(40) on the server. */
static shade_status cb_meet_then_add(shade_call_ctx *call)
{
	shade_ref *o = call->udata;
	int64_t end = tu_now_ms() + BOUND_MS, r;

	pthread_mutex_lock(&g.mu);
	g.entered++;
	while (g.entered < 2 && tu_now_ms() < end) {
		pthread_mutex_unlock(&g.mu);
		usleep(1000);
		pthread_mutex_lock(&g.mu);
	}
	pthread_mutex_unlock(&g.mu);
	r = call_int(o, "add", 40);
	call->result = shade_int(call->mem, r);
	return SHADE_OK;
}

/* Body of a nesting client: svc.call(cb) where cb calls svc.add. */
static void *nest_main(void *arg)
{
	struct nest *n = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts co = { 0 };
	shade_conn *c;
	shade_ref *o = NULL, *fn = NULL;
	shade_value *t, *r = NULL;

	n->result = -1;
	co.timeout_ms = BOUND_MS;
	if (shade_connect(ctx, n->v->addr, &co, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "svc", &o, NULL) == SHADE_OK &&
	    shade_function_new("meet", cb_meet_then_add, o, &fn, NULL) ==
		    SHADE_OK) {
		t = shade_tuple_new(ctx, 1);
		shade_seq_append_take(t, shade_ref_value(ctx, fn), NULL);
		if (shade_invoke(ctx, o, "call", t, NULL, &r, NULL) ==
		    SHADE_OK)
			n->result = shade_value_as_int(r);
	}
	shade_ref_release(fn);
	shade_ref_release(o);
	talloc_free(ctx);
	return NULL;
}

/* Two clients each call svc.call(cb) on a server of 2 workers: both
 * workers wait in call() for their callbacks, which meet (so both are
 * provably waiting at once) and then call svc.add(40) back: served by
 * the waiting workers themselves; call() adds 1: 41 each. */
static void test_pool_nested_full(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v;
	struct nest n1 = { 0 }, n2 = { 0 };
	tu_thread t1 = { 0 }, t2 = { 0 };

	gate_reset();
	v = pool_server(ctx, 2, false);
	n1.v = n2.v = v;
	assert_int_equal(tu_thread_start(&t1, nest_main, &n1), 0);
	assert_int_equal(tu_thread_start(&t2, nest_main, &n2), 0);
	assert_true(tu_thread_join(&t1, BOUND_MS + 2000, NULL));
	assert_true(tu_thread_join(&t2, BOUND_MS + 2000, NULL));
	assert_int_equal(gate_get(&g.entered), 2);
	assert_int_equal(n1.result, 41);
	assert_int_equal(n2.result, 41);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* A callback: wait until the gate opens; 1 when it did. */
static shade_status cb_gate(shade_call_ctx *call)
{
	call->result = shade_int(call->mem, enter_wait(&g.open, 1));
	return SHADE_OK;
}

/* Body of a client that calls svc.call(cb) right after an add() (so
 * the worker that served the add still reads its connection, linger),
 * cb waiting on the gate: the server's handler waits for cb's answer. */
static void *linger_nest_main(void *arg)
{
	struct nest *n = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts co = { 0 };
	shade_conn *c;
	shade_ref *o = NULL, *fn = NULL;
	shade_value *t, *r = NULL;

	n->result = -1;
	co.timeout_ms = BOUND_MS;
	if (shade_connect(ctx, n->v->addr, &co, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "svc", &o, NULL) == SHADE_OK &&
	    shade_function_new("wait", cb_gate, NULL, &fn, NULL) ==
		    SHADE_OK &&
	    call_int(o, "add", 1) == 1) {
		t = shade_tuple_new(ctx, 1);
		shade_seq_append_take(t, shade_ref_value(ctx, fn), NULL);
		if (shade_invoke(ctx, o, "call", t, NULL, &r, NULL) ==
		    SHADE_OK)
			n->result = shade_value_as_int(r);
	}
	shade_ref_release(fn);
	shade_ref_release(o);
	talloc_free(ctx);
	return NULL;
}

/* A worker that read its quiet connection itself (linger) and whose
 * handler there waits for a callback no longer counts as coming back
 * for new work: with the two other workers of 3 blocked in block(),
 * a call of a fourth connection is served (by a thread started for
 * it) while all three are still held, not once the callback ends. */
static void test_pool_linger_wait_starves_none(void **state)
{
	struct fx x;
	struct blocker b1 = { 0 }, b2 = { 0 };
	struct nest n = { 0 };
	tu_thread t1 = { 0 }, t2 = { 0 }, tn = { 0 };

	fx_start(&x, state, 3, false, "svc");
	b1.v = b2.v = n.v = x.v;
	assert_int_equal(tu_thread_start(&t1, blocker_main, &b1), 0);
	assert_true(gate_wait_for(&g.entered, 1));
	assert_int_equal(tu_thread_start(&tn, linger_nest_main, &n), 0);
	assert_true(gate_wait_for(&g.entered, 2)); /* cb waits */
	assert_int_equal(tu_thread_start(&t2, blocker_main, &b2), 0);
	assert_true(gate_wait_for(&g.entered, 3));
	assert_int_equal(call_int(x.o, "add", 5), 5);
	/* Served while all three were held. */
	assert_int_equal(gate_get(&g.inside), 3);
	gate_open();
	assert_true(tu_thread_join(&t1, BOUND_MS, NULL));
	assert_true(tu_thread_join(&t2, BOUND_MS, NULL));
	assert_true(tu_thread_join(&tn, BOUND_MS, NULL));
	assert_int_equal(b1.result, 1);
	assert_int_equal(b2.result, 1);
	assert_int_equal(n.result, 2); /* cb's true, plus one */
	fx_end(&x);
}

/* Connections the owned-read case calls round-robin. */
#define OWNED_CONNS 3

/* The client of the owned-read case: OWNED_CONNS connections, one call
 * on each while the server's loop turns (`warm`), then ROUNDS calls on
 * each in turn once the loop stopped turning (`paused`): `ok` counts
 * those answered. */
struct owned_client {
	const char *addr;   /* the server's address */
	int warm;           /* the first calls were answered (atomic) */
	int paused;         /* the loop no longer turns (atomic) */
	int ok;             /* calls answered meanwhile (atomic) */
	int done;           /* finished (atomic) */
};

/* Rounds of calls made while the loop does not turn. */
#define OWNED_ROUNDS 5

/* Body of the owned-read case's client thread. */
static void *owned_main(void *arg)
{
	struct owned_client *oc = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts co = { 0 };
	shade_conn *c[OWNED_CONNS];
	shade_ref *o[OWNED_CONNS] = { NULL };
	int i, r, n = 0;
	int64_t end;

	co.timeout_ms = BOUND_MS;
	for (i = 0; i < OWNED_CONNS; i++)
		if (shade_connect(ctx, oc->addr, &co, &c[i], NULL) != SHADE_OK ||
		    shade_lookup(c[i], "svc", &o[i], NULL) != SHADE_OK ||
		    call_int(o[i], "add", i) != i)
			goto out;
	__atomic_store_n(&oc->warm, 1, __ATOMIC_RELEASE);
	end = tu_now_ms() + BOUND_MS;
	while (!__atomic_load_n(&oc->paused, __ATOMIC_ACQUIRE) &&
	       tu_now_ms() < end)
		usleep(200);
	/* Each connection was last used a few calls ago. */
	for (r = 0; r < OWNED_ROUNDS; r++)
		for (i = 0; i < OWNED_CONNS; i++)
			if (call_int(o[i], "add", r) == r)
				__atomic_store_n(&oc->ok, ++n, __ATOMIC_RELEASE);
out:
	for (i = 0; i < OWNED_CONNS; i++)
		shade_ref_release(o[i]);
	__atomic_store_n(&oc->done, 1, __ATOMIC_RELEASE);
	talloc_free(ctx);
	return NULL;
}

/* Turn s's loop (as a host loop would: its fd, its timeout, a step)
 * until *flag is set or BOUND_MS passed; whether it was set. */
static bool step_until(shade_server *s, const int *flag)
{
	int64_t end = tu_now_ms() + BOUND_MS;
	struct pollfd pf;
	int to;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (tu_now_ms() >= end)
			return false;
		pf = (struct pollfd){ .fd = shade_server_fd(s), .events = POLLIN };
		to = shade_server_timeout_ms(s);
		if (to < 0 || to > 10)
			to = 10;
		(void)poll(&pf, 1, to);
		assert_ok(shade_server_step(s, errp_));
	}
	return true;
}

/* Connections the workers have served are read by the workers too: once
 * each of three connections made a call, calls on all three, in turn,
 * are answered while the server's loop does not turn at all (the thread
 * that reads a request serves it; two workers, so a worker reading one
 * connection of its own would leave one to the loop). */
static void test_pool_owned_read_without_loop(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server_opts so = { 0 };
	struct owned_client oc = { 0 };
	tu_thread th = { 0 };
	shade_ref *o;
	tp_server *v;
	int64_t end;

	gate_reset();
	so.threads = 2;
	v = tp_server_new(ctx, &so);
	o = svc_new();
	assert_ok(shade_server_export(v->s, "svc", o, errp_));
	shade_ref_release(o);
	tp_server_listen(v, NULL);
	oc.addr = v->addr;
	assert_int_equal(tu_thread_start(&th, owned_main, &oc), 0);
	assert_true(step_until(v->s, &oc.warm));
	/* The loop stops turning: only the workers read from now on. */
	__atomic_store_n(&oc.paused, 1, __ATOMIC_RELEASE);
	end = tu_now_ms() + BOUND_MS;
	while (__atomic_load_n(&oc.ok, __ATOMIC_ACQUIRE) <
		       OWNED_CONNS * OWNED_ROUNDS &&
	       tu_now_ms() < end)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&oc.ok, __ATOMIC_ACQUIRE),
			 OWNED_CONNS * OWNED_ROUNDS);
	/* The loop turns again for the goodbyes. */
	assert_true(step_until(v->s, &oc.done));
	assert_true(tu_thread_join(&th, BOUND_MS, NULL));
	talloc_free(ctx);
}

/* A thread answering the deferred replies held in the gate. */
static void *answerer_main(void *arg)
{
	int i, n = *(int *)arg;

	if (!gate_wait_for(&g.n_held, n))
		return NULL;
	for (i = 0; i < n; i++) {
		shade_value v = shade_value_int(100 + i);

		shade_reply_return(g.held[i], &v, NULL);
	}
	return NULL;
}

/* Two deferred calls on one connection hold neither a worker nor the
 * connection's order (the second starts while the first is unanswered);
 * with both unanswered, calls on a second connection complete; then
 * another thread answers them in order and the callers see ordinary
 * replies. */
static void test_pool_defer_other_thread(void **state)
{
	struct fx x;
	shade_future *f1, *f2;
	shade_ref *o2;
	shade_conn *c2;
	tu_thread th = { 0 };
	int two = 2, i;

	fx_start(&x, state, 2, false, "svc");
	c2 = client(x.ctx, x.v, "svc", &o2);
	f1 = start(x.ctx, x.c, x.o, "later", -1);
	f2 = start(x.ctx, x.c, x.o, "later", -1);
	assert_true(gate_wait_for(&g.n_held, 2));
	/* Both held, none answered: the workers are free. */
	for (i = 0; i < 10; i++)
		assert_int_equal(call_int(o2, "add", i), i);
	assert_false(shade_future_ready(f1));
	assert_false(shade_future_ready(f2));
	assert_false(shade_reply_cancelled(g.held[0]));
	assert_int_equal(tu_thread_start(&th, answerer_main, &two), 0);
	assert_true(tu_thread_join(&th, BOUND_MS, NULL));
	assert_int_equal(wait_int(f1, NULL), 100);
	assert_int_equal(wait_int(f2, NULL), 101);
	shade_ref_release(o2);
	talloc_free(c2);
	fx_end(&x);
}

/* hello.Greeter's greet, typed: defers its reply (kept in the gate,
 * answered by the case); not with a memory context other than its own
 * (that of a local call). */
static shade_status greet_later(void *self, TALLOC_CTX *mem_ctx,
				const char *name, char **result,
				shade_error **err)
{
	TALLOC_CTX *other = talloc_new(NULL);
	shade_reply *r;

	(void)self;
	(void)name;
	r = shade_typed_defer(other, "hello.Greeter", "greet");
	talloc_free(other);
	if (r != NULL)
		return shade_error_set(err, SHADE_ERR_RUNTIME, "wrong ctx");
	r = shade_typed_defer(mem_ctx, "hello.Greeter", "greet");
	if (r == NULL)
		return shade_error_set(err, SHADE_ERR_RUNTIME,
				       "nothing to defer");
	if (shade_typed_defer(mem_ctx, "hello.Greeter", "greet") != NULL)
		return shade_error_set(err, SHADE_ERR_RUNTIME,
				       "deferred twice");
	pthread_mutex_lock(&g.mu);
	g.held[g.n_held < 4 ? g.n_held++ : 3] = r;
	pthread_mutex_unlock(&g.mu);
	*result = NULL; /* ignored: the answer goes through r */
	return SHADE_OK;
}

/* A typed call of greet through the generated stub, on a thread. */
struct typed_call {
	shade_ref *ref;      /* the proxy of the greeter */
	const char *name;    /* its argument */
	char *result;        /* what came back (talloc, NULL) */
	shade_status st;     /* how it ended */
	int done;            /* it returned (atomic) */
};

/* Body of the thread making a typed_call. */
static void *typed_call_main(void *arg)
{
	struct typed_call *tc = arg;
	hello_Greeter *gr = NULL;
	char *res = NULL;

	tc->st = hello_Greeter_narrow(NULL, tc->ref, &gr, NULL);
	if (tc->st == SHADE_OK)
		tc->st = hello_Greeter_greet(gr, gr, tc->name, &res, NULL);
	if (res != NULL)
		tc->result = talloc_strdup(NULL, res);
	talloc_free(gr);
	__atomic_store_n(&tc->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The implementation of a typed skeleton defers (shade_typed_defer); the
 * case answers from its own thread, once with a value and once with an
 * error, and the generated stub gets them as ordinary replies; the
 * worker was free meanwhile. */
static void test_pool_typed_defer(void **state)
{
	static const hello_Greeter_impl impl = { .greet = greet_later };
	struct fx x;
	struct typed_call tc = { 0 };
	tu_thread th = { 0 };
	shade_ref *gref, *gp;
	shade_conn *gc;
	shade_value *v;

	fx_start(&x, state, 2, false, "svc");
	assert_ok(hello_Greeter_serve(&impl, NULL, &gref, errp_));
	assert_ok(shade_server_export(x.v->s, "greeter", gref, errp_));
	shade_ref_release(gref);
	gc = client(x.ctx, x.v, "greeter", &gp);
	tc.ref = gp;
	tc.name = "bob";
	assert_int_equal(tu_thread_start(&th, typed_call_main, &tc), 0);
	assert_true(gate_wait_for(&g.n_held, 1));
	/* Held, not answered: the caller waits, the workers serve. */
	assert_int_equal(call_int(x.o, "add", 7), 7);
	assert_int_equal(__atomic_load_n(&tc.done, __ATOMIC_ACQUIRE), 0);
	v = shade_str(x.ctx, "later, bob");
	assert_ok(shade_reply_return(g.held[0], v, errp_));
	assert_true(tu_thread_join(&th, BOUND_MS, NULL));
	assert_int_equal(tc.st, SHADE_OK);
	assert_string_equal(tc.result, "later, bob");
	talloc_free(tc.result);
	/* An error given through the handle reaches the stub. */
	memset(&tc, 0, sizeof(tc));
	tc.ref = gp;
	tc.name = "ann";
	assert_int_equal(tu_thread_start(&th, typed_call_main, &tc), 0);
	assert_true(gate_wait_for(&g.n_held, 2));
	assert_ok(shade_reply_error(g.held[1], SHADE_ERR_VALUE, "no %s",
				    "ann"));
	assert_true(tu_thread_join(&th, BOUND_MS, NULL));
	assert_int_equal(tc.st, SHADE_ERR_VALUE);
	assert_null(tc.result);
	shade_ref_release(gp);
	talloc_free(gc);
	fx_end(&x);
}

/* The same without workers: a deferred reply frees the loop's thread. */
static void test_pool_defer_no_workers(void **state)
{
	struct fx x;
	shade_future *f;
	tu_thread th = { 0 };
	int one = 1;

	fx_start(&x, state, 1, false, "svc");
	f = start(x.ctx, x.c, x.o, "later", -1);
	assert_true(gate_wait_for(&g.n_held, 1));
	assert_int_equal(call_int(x.o, "add", 5), 5);
	assert_int_equal(tu_thread_start(&th, answerer_main, &one), 0);
	assert_true(tu_thread_join(&th, BOUND_MS, NULL));
	assert_int_equal(wait_int(f, NULL), 100);
	fx_end(&x);
}

/* A deferred reply dropped unanswered answers RuntimeError. */
static void test_pool_defer_dropped(void **state)
{
	struct fx x;

	fx_start(&x, state, 2, false, "svc");
	assert_int_equal(call_int(x.o, "drop", -1),
			 -100 + SHADE_ERR_RUNTIME);
	assert_int_equal(call_int(x.o, "add", 1), 1);
	fx_end(&x);
}

/* Freeing an unwaited future sends CANCEL: the deferred handler is told
 * (flag and callback, which answers; the caller dropped it). */
static void test_pool_defer_sees_cancel(void **state)
{
	struct fx x;
	shade_future *f;

	fx_start(&x, state, 2, false, "svc");
	f = start(x.ctx, x.c, x.o, "later_cancel", -1);
	assert_true(gate_wait_for(&g.n_held, 1));
	assert_false(shade_reply_cancelled(g.held[0]));
	talloc_free(f); /* CANCEL */
	assert_ok(shade_conn_flush(x.c, errp_));
	assert_true(gate_wait_for(&g.cancelled, 1));
	/* The connection goes on. */
	assert_int_equal(call_int(x.o, "add", 1), 1);
	fx_end(&x);
}

/* A client that vanishes (its socket shut down) while its call is
 * deferred: the handler's callback runs; the handle, answered by it,
 * leaks nothing (the fixture counts blocks and references). */
static void test_pool_defer_sees_loss(void **state)
{
	struct fx x;
	shade_future *f;

	fx_start(&x, state, 2, false, "svc");
	f = start(x.ctx, x.c, x.o, "later_cancel", -1);
	assert_true(gate_wait_for(&g.n_held, 1));
	shutdown(shade_conn_fd(x.c), SHUT_RDWR);
	assert_true(gate_wait_for(&g.cancelled, 1));
	talloc_free(f);
	shade_ref_release(x.o);
	talloc_free(x.c);
	/* The server goes on serving others. */
	x.c = client(x.ctx, x.v, "svc", &x.o);
	assert_int_equal(call_int(x.o, "add", 3), 3);
	fx_end(&x);
}

/* The server's counters of its only connection (bounded wait for one). */
static uint64_t server_cancelled(tp_server *v)
{
	shade_conn_stats st;
	shade_conn *sc = shade_server_conn(v->s, 0);

	if (sc == NULL)
		return 0;
	shade_conn_stats_get(sc, &st);
	return st.requests_cancelled;
}

/* block() holds the connection's order; record(7) waits behind it and
 * is withdrawn by CANCEL: once block() ends, record never ran. */
static void cancel_queued_case(void **state, unsigned threads)
{
	struct fx x;
	shade_future *fb, *fr;
	int64_t end;

	fx_start(&x, state, threads, false, "svc");
	fb = start(x.ctx, x.c, x.o, "block", -1);
	assert_true(gate_wait_for(&g.entered, 1));
	fr = start(x.ctx, x.c, x.o, "record", 7);
	talloc_free(fr); /* CANCEL */
	assert_ok(shade_conn_flush(x.c, errp_));
	if (threads > 1) {
		/* Read by the loop while block() runs. */
		end = tu_now_ms() + BOUND_MS;
		while (server_cancelled(x.v) == 0 && tu_now_ms() < end)
			usleep(1000);
		assert_int_equal(server_cancelled(x.v), 1);
	}
	gate_open();
	assert_int_equal(wait_int(fb, NULL), 1);
	assert_int_equal(call_int(x.o, "add", 1), 1);
	assert_int_equal(gate_get(&g.n_order), 0);
	assert_int_equal(server_cancelled(x.v), 1);
	fx_end(&x);
}

/* A user channel over one end of a socketpair (frames as a 4-byte
 * length and the bytes), whose server side can hold one send: the send
 * armed next waits (at most HOLD_MS) before it writes, counting itself
 * inside; close notes a close made while a send is inside. */
struct chan {
	int fd;            /* its end of the socketpair */
	int armed;         /* the next send is held (1), atomic */
	int in_send;       /* a held send is inside (1), atomic */
	int closing;       /* close began (1), atomic */
	int overlaps;      /* closes made while a send was inside, atomic */
};

/* How long a held send waits for a close to come, ms. */
#define HOLD_MS 300

/* Write all of p (wr) or read all of it, or false (end, error). */
static bool chan_io(int fd, void *p, size_t n, bool wr)
{
	uint8_t *b = p;
	ssize_t k;

	while (n > 0) {
		k = wr ? write(fd, b, n) : read(fd, b, n);
		if (k <= 0)
			return false;
		b += k;
		n -= (size_t)k;
	}
	return true;
}

static shade_status chan_send(void *impl, const uint8_t *frame, size_t len,
			      shade_error **err)
{
	struct chan *ch = impl;
	uint32_t n = (uint32_t)len;
	int64_t end;

	if (__atomic_exchange_n(&ch->armed, 0, __ATOMIC_ACQ_REL)) {
		__atomic_store_n(&ch->in_send, 1, __ATOMIC_RELEASE);
		end = tu_now_ms() + HOLD_MS;
		while (!__atomic_load_n(&ch->closing, __ATOMIC_ACQUIRE) &&
		       tu_now_ms() < end)
			usleep(1000);
		usleep(20000); /* a close under way would run meanwhile */
		__atomic_store_n(&ch->in_send, 0, __ATOMIC_RELEASE);
	}
	if (!chan_io(ch->fd, &n, sizeof(n), true) ||
	    !chan_io(ch->fd, (void *)frame, len, true))
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "chan: write failed");
	return SHADE_OK;
}

static shade_status chan_recv(void *impl, void *mem_ctx, uint8_t **frame,
			      size_t *len, int timeout_ms, shade_error **err)
{
	struct chan *ch = impl;
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	uint32_t n;
	uint8_t *f;

	if (poll(&pfd, 1, timeout_ms) == 0)
		return timeout_ms == 0 ? SHADE_AGAIN
				       : shade_error_set(err, SHADE_ERR_TIMEOUT,
							 "chan: timeout");
	if (!chan_io(ch->fd, &n, sizeof(n), false) ||
	    (f = talloc_size(mem_ctx, n)) == NULL)
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "chan: peer closed");
	if (!chan_io(ch->fd, f, n, false)) {
		talloc_free(f);
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "chan: peer closed mid-frame");
	}
	*frame = f;
	*len = n;
	return SHADE_OK;
}

static void chan_close(void *impl)
{
	struct chan *ch = impl;

	__atomic_store_n(&ch->closing, 1, __ATOMIC_RELEASE);
	usleep(20000); /* a send that may start would start meanwhile */
	if (__atomic_load_n(&ch->in_send, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&ch->overlaps, 1, __ATOMIC_ACQ_REL);
	close(ch->fd);
}

static int chan_fd(void *impl)
{
	return ((struct chan *)impl)->fd;
}

/* The channel's functions. */
static const shade_transport_ops chan_ops = {
	.name = "chan",
	.send = chan_send,
	.recv = chan_recv,
	.close = chan_close,
	.fd = chan_fd,
};

/* A thread doing a LOOKUP on c (its result ignored). */
static void *lookup_main(void *arg)
{
	shade_ref *o = NULL;

	if (shade_lookup(arg, "svc", &o, NULL) == SHADE_OK)
		shade_ref_release(o);
	return NULL;
}

/* The connection's transport is closed only once no thread sends on
 * it (lost.c): one thread's request is held inside the channel's send
 * when another thread, reading for its own call, sees the peer hang up
 * and ends the connection; the close waits for the send to leave. */
static void test_pool_close_waits_for_send(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_conn_opts co = { .timeout_ms = BOUND_MS };
	struct chan *ch = talloc_zero(ctx, struct chan);
	tu_thread reader = { 0 }, sender = { 0 };
	shade_transport *t;
	shade_conn *c;
	int64_t end;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ch->fd = sv[1];
	assert_ok(shade_transport_new(ctx, &chan_ops, ch, NULL, &t, errp_));
	assert_ok(shade_conn_new(ctx, t, false, &co, &c, errp_));
	/* A caller reading for its reply, which never comes. */
	assert_int_equal(tu_thread_start(&reader, lookup_main, c), 0);
	usleep(20000);
	/* A second caller, its request held in the send. */
	__atomic_store_n(&ch->armed, 1, __ATOMIC_RELEASE);
	assert_int_equal(tu_thread_start(&sender, lookup_main, c), 0);
	end = tu_now_ms() + BOUND_MS;
	while (!__atomic_load_n(&ch->in_send, __ATOMIC_ACQUIRE) &&
	       tu_now_ms() < end)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&ch->in_send, __ATOMIC_ACQUIRE), 1);
	close(sv[0]); /* the reader sees the end */
	assert_true(tu_thread_join(&reader, BOUND_MS, NULL));
	assert_true(tu_thread_join(&sender, BOUND_MS, NULL));
	assert_false(shade_conn_is_open(c));
	assert_int_equal(__atomic_load_n(&ch->closing, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(__atomic_load_n(&ch->overlaps, __ATOMIC_ACQUIRE), 0);
	talloc_free(ctx);
}

/* Clients pipelining calls with 48 KiB replies on a server with two
 * workers, freed while its workers are replying: every call gets its
 * reply or ConnectionLost, and nothing races (run under TSan, ASan). */
struct flood {
	const char *addr;   /* the server's address */
	int ready;          /* clients connected, atomic */
	int done;           /* calls answered (either way), atomic */
	int bad;            /* calls that failed otherwise, atomic */
	int last_bad;       /* the code of the last of those, atomic */
};

/* Calls pipelined by one flooding client. */
#define FLOOD_CALLS 48

/* Body of a flooding client. */
static void *flood_main(void *arg)
{
	struct flood *fl = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts co = { .timeout_ms = BOUND_MS };
	shade_future *f[FLOOD_CALLS];
	shade_conn *c;
	shade_ref *o = NULL;
	shade_status st;
	int i, n = 0;

	if (shade_connect(ctx, fl->addr, &co, &c, NULL) != SHADE_OK ||
	    shade_lookup(c, "svc", &o, NULL) != SHADE_OK) {
		__atomic_add_fetch(&fl->bad, 1, __ATOMIC_ACQ_REL);
		__atomic_add_fetch(&fl->ready, 1, __ATOMIC_ACQ_REL);
		talloc_free(ctx);
		return NULL;
	}
	__atomic_add_fetch(&fl->ready, 1, __ATOMIC_ACQ_REL);
	for (i = 0; i < FLOOD_CALLS; i++)
		if (shade_invoke_async(ctx, o, "zeros", NULL, NULL, &f[n],
				       NULL) == SHADE_OK)
			n++;
	(void)shade_conn_flush(c, NULL);
	for (i = 0; i < n; i++) {
		st = shade_future_wait(NULL, f[i], BOUND_MS, NULL, NULL);
		if (st != SHADE_OK && st != SHADE_ERR_CONNECTION_LOST)
			__atomic_store_n(&fl->last_bad, st, __ATOMIC_RELEASE);
		__atomic_add_fetch(st == SHADE_OK ||
					   st == SHADE_ERR_CONNECTION_LOST
				   ? &fl->done : &fl->bad, 1, __ATOMIC_ACQ_REL);
	}
	shade_ref_release(o);
	talloc_free(ctx);
	return NULL;
}

/* One server freed while replying to 4 flooding clients. */
static void free_while_replying(void **state)
{
	static size_t big = 48u << 10;
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server_opts so = { .threads = 2 };
	struct flood fl = { 0 };
	tu_thread th[4];
	shade_ref *o = svc_new();
	tp_server *v;
	int64_t end;
	int i;

	gate_reset();
	assert_ok(shade_object_add_method(o, "zeros", th_zeros, &big, false,
					  errp_));
	v = tp_server_new(ctx, &so);
	assert_ok(shade_server_export(v->s, "svc", o, errp_));
	shade_ref_release(o);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	fl.addr = v->addr;
	memset(th, 0, sizeof(th));
	for (i = 0; i < 4; i++)
		assert_int_equal(tu_thread_start(&th[i], flood_main, &fl), 0);
	/* Free it once every client is in and replies flow. */
	end = tu_now_ms() + BOUND_MS;
	while ((__atomic_load_n(&fl.ready, __ATOMIC_ACQUIRE) < 4 ||
		__atomic_load_n(&fl.done, __ATOMIC_ACQUIRE) < 8) &&
	       tu_now_ms() < end)
		usleep(200);
	tp_server_stop(v);
	for (i = 0; i < 4; i++)
		assert_true(tu_thread_join(&th[i], BOUND_MS, NULL));
	assert_int_equal(__atomic_load_n(&fl.last_bad, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(__atomic_load_n(&fl.bad, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(__atomic_load_n(&fl.done, __ATOMIC_ACQUIRE),
			 4 * FLOOD_CALLS);
	talloc_free(ctx);
}

/* Rounds of free_while_replying: the race it shows needs a worker
 * inside a send at the moment the server closes (about one round in
 * ten hit it under TSan before lost.c closed only unused transports). */
static void test_pool_free_while_replying(void **state)
{
	int i;

	for (i = 0; i < 10; i++)
		free_while_replying(state);
}

static void test_pool_cancel_queued(void **state)
{
	cancel_queued_case(state, 2);
}

static void test_pool_cancel_queued_no_workers(void **state)
{
	cancel_queued_case(state, 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_pool_isolation),
		T(test_pool_order),
		T(test_pool_concurrent_object),
		T(test_pool_concurrent_server),
		T(test_pool_default_isolation),
		T(test_pool_default_threads),
		T(test_pool_threads_follow_affinity),
		T(test_pool_backpressure),
		T(test_pool_nested_full),
		T(test_pool_defer_other_thread),
		T(test_pool_typed_defer),
		T(test_pool_defer_no_workers),
		T(test_pool_defer_dropped),
		T(test_pool_defer_sees_cancel),
		T(test_pool_defer_sees_loss),
		T(test_pool_cancel_queued),
		T(test_pool_cancel_queued_no_workers),
		T(test_pool_linger_wait_starves_none),
		T(test_pool_close_waits_for_send),
		T(test_pool_free_while_replying),
		T(test_pool_owned_read_without_loop),
#undef T
	};

	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("pool", tests, argc, argv);
}
