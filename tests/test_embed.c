/*
 * test_embed.c - servers and connections driven by a loop that is not
 * shade's, over real sockets: a server under a plain epoll loop of the
 * test (shade_server_fd, shade_server_timeout_ms, shade_server_step)
 * answering clients on threads, its idle timer firing through that loop,
 * frames a client pipelined past a step's budget shown by a timeout of
 * 0, a stop from another thread waking it, a handler refused a step of
 * its own server; 50 pipelined futures completed by
 * an edge-triggered epoll loop on shade_conn_fd alone (shade_conn_process
 * reads until the socket and the transport are empty); and the GLib and
 * libuv examples (examples/embed_glib.c, embed_uv.c) serving real clients,
 * closing an idle one through their loop's timer and stopping on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"

/* Bounds of the waits, scaled up under valgrind and sanitizers. */
static int bound_ms(int ms)
{
	return tu_under_valgrind() ? ms * 10 : ms;
}

/* A fresh server on ctx exporting "calc" (add, call: f() + 1). */
static shade_server *calc_server(TALLOC_CTX *ctx,
				 const shade_server_opts *opts)
{
	shade_server *s;
	shade_ref *calc;

	assert_ok(shade_server_new(ctx, opts, &s, errp_));
	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(calc, "plus_one", th_call_plus_one,
					  NULL, false, errp_));
	assert_ok(shade_server_export(s, "calc", calc, errp_));
	shade_ref_release(calc);
	return s;
}

/* (a, b) on ctx. */
static shade_value *pair(TALLOC_CTX *ctx, int64_t a, int64_t b)
{
	shade_value *t = shade_tuple_new(ctx, 2);
	shade_value va = shade_value_int(a), vb = shade_value_int(b);

	shade_seq_append(t, &va, NULL);
	shade_seq_append(t, &vb, NULL);
	return t;
}

/* How many of f[0..n) have their answer. */
static size_t futures_ready(shade_future *const *f, size_t n)
{
	size_t i, done = 0;

	for (i = 0; i < n; i++)
		done += shade_future_ready(f[i]);
	return done;
}

/* Assert f[0..n) are all answered, f[i] with i + plus (add(i, plus)),
 * and free them. */
static void futures_take(TALLOC_CTX *ctx, shade_future **f, size_t n,
			 int64_t plus)
{
	shade_value *r;
	size_t i;

	assert_int_equal(futures_ready(f, n), n);
	for (i = 0; i < n; i++) {
		assert_ok(shade_future_wait(ctx, f[i], 0, &r, errp_));
		assert_int_equal(shade_value_as_int(r), (int64_t)i + plus);
		talloc_free(r);
		talloc_free(f[i]);
	}
}

/* ------------------------------------------------------------ clients */

/* Clients on threads of their own, each on its own connection. */
struct clients {
	const char *address;  /* the server's */
	int calls;            /* add() calls each makes */
	int running;          /* threads not finished (atomic) */
	int failed;           /* wrong or failed answers (atomic) */
	int64_t ids;          /* hands each client its own addend
			       * (atomic) */
	tu_thread th[4];      /* the threads */
};

/* seven(): 7 (the callback of calc.plus_one). */
static shade_status seven(shade_call_ctx *call)
{
	call->result = shade_int(call->mem, 7);
	return SHADE_OK;
}

/* One client: `calls` calls add(i, k) and one plus_one(seven), which
 * the server answers by calling back into this client; each wrong or
 * failed answer counts in failed.  No cmocka asserts off the test's
 * thread. */
static void *client_main(void *arg)
{
	struct clients *k = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c = NULL;
	shade_ref *calc = NULL, *fn = NULL;
	shade_value *args, *r = NULL;
	int64_t id = __atomic_add_fetch(&k->ids, 1000, __ATOMIC_RELAXED);
	int bad = 0, i;

	if (shade_connect(ctx, k->address, NULL, &c, NULL) != SHADE_OK ||
	    shade_lookup(c, "calc", &calc, NULL) != SHADE_OK) {
		bad = k->calls + 1;
		goto out;
	}
	for (i = 0; i < k->calls; i++) {
		args = pair(ctx, i, id);
		if (shade_invoke(ctx, calc, "add", args, NULL, &r, NULL) !=
			    SHADE_OK ||
		    shade_value_as_int(r) != i + id)
			bad++;
		talloc_free(args);
		TALLOC_FREE(r);
	}
	args = shade_tuple_new(ctx, 1);
	if (shade_function_new("seven", seven, NULL, &fn, NULL) != SHADE_OK ||
	    shade_seq_append_take(args, shade_ref_value(ctx, fn), NULL) !=
		    SHADE_OK ||
	    shade_invoke(ctx, calc, "plus_one", args, NULL, &r, NULL) !=
		    SHADE_OK ||
	    shade_value_as_int(r) != 8)
		bad++;
	talloc_free(args);
	TALLOC_FREE(r);
out:
	if (fn != NULL)
		shade_ref_release(fn);
	if (calc != NULL)
		shade_ref_release(calc);
	talloc_free(ctx); /* the connection: BYE */
	__atomic_add_fetch(&k->failed, bad, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&k->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start the client threads against address. */
static void clients_start(struct clients *k, const char *address, int calls)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	k->address = address;
	k->calls = calls;
	k->running = (int)(sizeof(k->th) / sizeof(k->th[0]));
	for (i = 0; i < sizeof(k->th) / sizeof(k->th[0]); i++)
		assert_int_equal(tu_thread_start(&k->th[i], client_main, k),
				 0);
}

/* True once every client thread finished. */
static bool clients_done(struct clients *k)
{
	return __atomic_load_n(&k->running, __ATOMIC_ACQUIRE) == 0;
}

/* Join the client threads; assert every answer was right. */
static void clients_join(struct clients *k)
{
	size_t i;

	for (i = 0; i < sizeof(k->th) / sizeof(k->th[0]); i++)
		assert_true(tu_thread_join(&k->th[i], bound_ms(20000), NULL));
	assert_int_equal(k->failed, 0);
}

/* ------------------------------------------------------------ epoll */

/* The host loop: an epoll set holding the server's fd (level-triggered,
 * data 0) and maybe a connection's (edge-triggered, data 1). */
struct host {
	int ep;               /* the set */
	shade_server *s;      /* the server, or NULL */
	shade_conn *c;        /* the connection, or NULL */
	shade_status conn_st; /* the last of its shade_conn_process */
};

/* An epoll set for s (may be NULL) and c (may be NULL). */
static void host_init(struct host *h, shade_server *s, shade_conn *c)
{
	struct epoll_event ev;

	memset(h, 0, sizeof(*h));
	h->s = s;
	h->c = c;
	h->conn_st = SHADE_AGAIN;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(h->ep >= 0);
	if (s != NULL) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = 0;
		/* -1 with the poll(2) backend: the timeout drives it. */
		if (shade_server_fd(s) >= 0)
			assert_int_equal(epoll_ctl(h->ep, EPOLL_CTL_ADD,
						   shade_server_fd(s), &ev),
					 0);
	}
	if (c != NULL) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
		ev.data.u32 = 1;
		assert_int_equal(epoll_ctl(h->ep, EPOLL_CTL_ADD,
					   shade_conn_fd(c), &ev), 0);
	}
}

/* One turn of the host loop, waiting at most cap_ms (-1: no cap) beyond
 * what the server's timeout allows: step the server when its fd fired
 * or its timeout passed; on an event of the connection, process it until
 * shade_conn_process stops saying SHADE_OK (doc/api.md), then flush. */
static void host_turn(struct host *h, int cap_ms)
{
	struct epoll_event ev[4];
	int sms = h->s != NULL ? shade_server_timeout_ms(h->s) : -1;
	int ms = sms, n, i;
	bool step = false;

	if (cap_ms >= 0 && (ms < 0 || ms > cap_ms))
		ms = cap_ms;
	n = epoll_wait(h->ep, ev, 4, ms);
	/* The server's timeout passed. */
	step = n == 0 && sms >= 0 && ms == sms;
	assert_true(n >= 0 || errno == EINTR);
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == 0) {
			step = true;
			continue;
		}
		do
			h->conn_st = shade_conn_process(h->c, 0, NULL);
		while (h->conn_st == SHADE_OK);
		if (h->conn_st == SHADE_AGAIN && shade_conn_wants_write(h->c))
			assert_ok(shade_conn_flush(h->c, errp_));
	}
	if (h->s != NULL && step)
		assert_ok(shade_server_step(h->s, errp_));
}

/* A server under the test's own epoll loop answers clients on four
 * threads (sync calls, and a handler that calls back into its client,
 * waiting inside a step); then it has nothing left to do. */
static void test_embed_epoll_server(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	shade_server *s = calc_server(ctx, NULL);
	struct clients k;
	struct host h;
	int64_t end;

	assert_ok(shade_server_listen(
		s, talloc_asprintf(ctx, "unix:%s/e.sock", dir), errp_));
	host_init(&h, s, NULL);
	/* A server at rest: its tick timer is the only thing due. */
	assert_true(shade_server_timeout_ms(s) > 0);
	assert_true(shade_server_timeout_ms(s) <= 1000);
	clients_start(&k, shade_server_address(s, 0), 25);
	end = tu_now_ms() + bound_ms(20000);
	while (!clients_done(&k) && tu_now_ms() < end)
		host_turn(&h, 50);
	clients_join(&k);
	/* They said BYE: the server frees them in the next steps. */
	end = tu_now_ms() + bound_ms(5000);
	while (shade_server_conn_count(s) > 0 && tu_now_ms() < end)
		host_turn(&h, 50);
	assert_int_equal(shade_server_conn_count(s), 0);
	close(h.ep);
	talloc_free(ctx);
}

/* The idle timeout is a timer of the server: with nothing on any
 * socket, only the timeout the host loop takes from
 * shade_server_timeout_ms wakes it, and the step closes the idle
 * connection; the client, driven by the same loop, sees the end. */
static void test_embed_idle_timer(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	shade_server_opts so = { .idle_timeout_ms = 100 };
	shade_server *s = calc_server(ctx, &so);
	shade_conn *c;
	struct host h;
	int64_t end;

	assert_ok(shade_server_listen(
		s, talloc_asprintf(ctx, "unix:%s/i.sock", dir), errp_));
	assert_ok(shade_connect(ctx, shade_server_address(s, 0), NULL, &c,
				errp_));
	assert_ok(shade_transport_set_nonblocking(shade_conn_transport(c),
						  true, errp_));
	host_init(&h, s, c);
	end = tu_now_ms() + bound_ms(5000);
	while (h.conn_st != SHADE_ERR_CONNECTION_LOST && tu_now_ms() < end)
		host_turn(&h, (int)(end - tu_now_ms()));
	assert_int_equal(h.conn_st, SHADE_ERR_CONNECTION_LOST);
	assert_false(shade_conn_is_open(c));
	/* The server frees its side in a later step. */
	while (shade_server_conn_count(s) > 0 && tu_now_ms() < end)
		host_turn(&h, 50);
	assert_int_equal(shade_server_conn_count(s), 0);
	close(h.ep);
	talloc_free(ctx);
}

/* A client connecting and looking up "calc" on a thread (the lookup
 * waits for an answer the test's loop must serve meanwhile). */
struct looker {
	const char *address;  /* the server's */
	TALLOC_CTX *ctx;      /* owns the connection */
	shade_conn *c;        /* the connection */
	shade_ref *calc;      /* the reference */
	int done;             /* the thread finished (atomic) */
	int64_t result;       /* what calc.step() answered */
	tu_thread th;         /* the thread */
};

/* The looker's thread. */
static void *look_main(void *arg)
{
	struct looker *lk = arg;

	if (shade_connect(lk->ctx, lk->address, NULL, &lk->c, NULL) ==
	    SHADE_OK)
		shade_lookup(lk->c, "calc", &lk->calc, NULL);
	__atomic_store_n(&lk->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Listen on unix:DIR/NAME, run fn(lk) on a thread against it while the
 * host loop h (made here for s) drives s, until lk->done reaches
 * `until`; join the thread. */
static void looker_run(struct looker *lk, struct host *h, shade_server *s,
		       TALLOC_CTX *ctx, const char *name,
		       void *(*fn)(void *), int until)
{
	char *dir = tu_mkdtemp(ctx);
	int64_t end;

	assert_ok(shade_server_listen(
		s, talloc_asprintf(ctx, "unix:%s/%s", dir, name), errp_));
	lk->address = shade_server_address(s, 0);
	lk->ctx = ctx;
	host_init(h, s, NULL);
	assert_int_equal(tu_thread_start(&lk->th, fn, lk), 0);
	end = tu_now_ms() + bound_ms(5000);
	while (__atomic_load_n(&lk->done, __ATOMIC_ACQUIRE) != until &&
	       tu_now_ms() < end)
		host_turn(h, 50);
	assert_true(tu_thread_join(&lk->th, bound_ms(5000), NULL));
}

/* Frames a client pipelined stay in the server's transport past a step
 * (4 frames a turn): the fd does not announce them, so the timeout is 0
 * after every such step, and the host loop, taking no other wake-up,
 * completes all 50 calls. */
static void test_embed_buffered_frames(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	/* The loop's read budget: no workers. */
	shade_server_opts so = { .frames_per_turn = 4, .threads = 1 };
	shade_server *s = calc_server(ctx, &so);
	struct looker lk = { 0 };
	shade_future *f[50];
	struct host h;
	int64_t end;
	size_t i, buffered = 0;

	looker_run(&lk, &h, s, ctx, "b.sock", look_main, 1);
	assert_non_null(lk.calc);
	for (i = 0; i < 50; i++) {
		shade_value *t = pair(ctx, (int64_t)i, 2);

		assert_ok(shade_invoke_async(ctx, lk.calc, "add", t, NULL,
					     &f[i], errp_));
		talloc_free(t);
	}
	assert_ok(shade_conn_flush(lk.c, errp_)); /* one write */
	assert_ok(shade_transport_set_nonblocking(shade_conn_transport(lk.c),
						  true, errp_));
	close(h.ep);
	host_init(&h, s, lk.c);
	end = tu_now_ms() + bound_ms(5000);
	while (futures_ready(f, 50) < 50 && tu_now_ms() < end) {
		host_turn(&h, -1);
		for (i = 0; i < shade_server_conn_count(s); i++) {
			shade_conn *sc = shade_server_conn(s, i);

			if (!shade_transport_has_frame(
				    shade_conn_transport(sc)))
				continue;
			buffered++;
			assert_int_equal(shade_server_timeout_ms(s), 0);
		}
	}
	assert_true(buffered > 0);
	futures_take(ctx, f, 50, 2);
	shade_ref_release(lk.calc);
	talloc_free(lk.c);
	close(h.ep);
	talloc_free(ctx);
}

/* The stopping thread. */
static void *stop_main(void *arg)
{
	shade_server_stop(arg);
	return NULL;
}

/* shade_server_stop from another thread makes the server's fd readable
 * and its timeout 0; the next step says SHADE_AGAIN, and so does every
 * later one. */
static void test_embed_stop_wakes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server *s = calc_server(ctx, NULL);
	struct pollfd p = { shade_server_fd(s), POLLIN, 0 };
	tu_thread th;

	/* The poll(2) backend has no fd: its timeout stands in. */
	assert_true(p.fd >= 0 || shade_server_timeout_ms(s) <= 10);
	assert_ok(shade_server_step(s, errp_));
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_true(shade_server_timeout_ms(s) > 0);
	assert_int_equal(tu_thread_start(&th, stop_main, s), 0);
	assert_int_equal(poll(&p, 1, bound_ms(5000)), p.fd >= 0);
	assert_true(tu_thread_join(&th, bound_ms(5000), NULL));
	assert_int_equal(shade_server_timeout_ms(s), 0);
	assert_int_equal(shade_server_step(s, NULL), SHADE_AGAIN);
	assert_int_equal(shade_server_step(s, NULL), SHADE_AGAIN);
	talloc_free(ctx);
}

/* calc.step(): shade_server_step on its own server (udata) from inside
 * a handler; returns the status as an int. */
static shade_status step_inside(shade_call_ctx *call)
{
	shade_status st = shade_server_step(call->udata, NULL);

	call->result = shade_int(call->mem, st);
	return SHADE_OK;
}

/* The client of the step-inside case: calc.step() into *out. */
static void *step_client(void *arg)
{
	struct looker *lk = arg;
	shade_value *r = NULL;

	look_main(lk);
	if (lk->calc != NULL &&
	    shade_invoke(lk->ctx, lk->calc, "step", NULL, NULL, &r, NULL) ==
		    SHADE_OK)
		lk->result = shade_value_as_int(r);
	__atomic_store_n(&lk->done, 2, __ATOMIC_RELEASE);
	return NULL;
}

/* A server whose handlers run on the loop's thread (no workers). */
static const shade_server_opts loop_only = { .threads = 1 };

/* A handler may not step its own server (it runs inside a step):
 * SHADE_ERR_INVALID, and the server goes on. */
static void test_embed_step_from_handler(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server *s = calc_server(ctx, &loop_only);
	struct looker lk = { 0 };
	shade_ref *calc = shade_registry_get(shade_server_registry(s),
					     "calc");
	struct host h;

	assert_ok(shade_object_add_method(calc, "step", step_inside, s, false,
					  errp_));
	looker_run(&lk, &h, s, ctx, "h.sock", step_client, 2);
	assert_int_equal(lk.result, SHADE_ERR_INVALID);
	shade_ref_release(lk.calc);
	talloc_free(lk.c);
	close(h.ep);
	talloc_free(ctx);
}

/* The server thread of the client-side case. */
static void *run_main(void *arg)
{
	shade_server_run(arg, NULL);
	return NULL;
}

/* shade_conn_process does what doc/api.md says: it returns SHADE_AGAIN
 * only once the socket said EAGAIN and the transport holds no whole
 * frame.  An edge-triggered epoll loop on shade_conn_fd alone (no other
 * wake-up, no timeout doing the work) completes 50 pipelined futures:
 * had it stopped early, the frames left behind would announce nothing
 * and the loop would stall. */
static void test_embed_conn_process_edge(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	shade_server *s = calc_server(ctx, NULL);
	shade_future *f[50];
	shade_ref *calc;
	shade_conn *c;
	struct host h;
	tu_thread th;
	int64_t end;
	size_t i;

	assert_ok(shade_server_listen(
		s, talloc_asprintf(ctx, "unix:%s/p.sock", dir), errp_));
	assert_int_equal(tu_thread_start(&th, run_main, s), 0);
	assert_ok(shade_connect(ctx, shade_server_address(s, 0), NULL, &c,
				errp_));
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	assert_ok(shade_transport_set_nonblocking(shade_conn_transport(c),
						  true, errp_));
	for (i = 0; i < 50; i++) {
		shade_value *t = pair(ctx, (int64_t)i, 1);

		assert_ok(shade_invoke_async(ctx, calc, "add", t, NULL, &f[i],
					     errp_));
		talloc_free(t);
	}
	/* Queued, not written: the loop writes them when the fd says it
	 * can take them. */
	assert_true(shade_conn_wants_write(c));
	host_init(&h, NULL, c);
	end = tu_now_ms() + bound_ms(5000);
	while (futures_ready(f, 50) < 50 && tu_now_ms() < end) {
		host_turn(&h, (int)(end - tu_now_ms()));
		assert_int_equal(h.conn_st, SHADE_AGAIN);
	}
	futures_take(ctx, f, 50, 1);
	shade_ref_release(calc);
	close(h.ep);
	talloc_free(c);
	shade_server_stop(s);
	assert_true(tu_thread_join(&th, bound_ms(5000), NULL));
	talloc_free(ctx);
}

/* ------------------------------------------------------------ examples */

/* A loop example running as a child, its stdout on a pipe. */
struct child {
	pid_t pid;            /* its pid, or -1 once reaped */
	int out;              /* its stdout */
	char buf[512];        /* what it printed so far */
	size_t len;           /* bytes in buf */
};

/* Teardown: kill the child if the case ended early. */
static void child_cleanup(void *arg)
{
	struct child *ch = arg;

	if (ch->pid > 0)
		tu_kill_child(ch->pid);
	ch->pid = -1;
	if (ch->out >= 0)
		close(ch->out);
	ch->out = -1;
}

/* Start $SHADE_BUILD/bin/<prog> with args (NULL-terminated). */
static void child_start(struct child *ch, const char *prog, ...)
{
	const char *build = getenv("SHADE_BUILD");
	char path[256];
	char *argv[12];
	int p[2], n = 0;
	va_list ap;

	snprintf(path, sizeof(path), "%s/bin/%s", build ? build : "build",
		 prog);
	argv[n++] = path;
	va_start(ap, prog);
	while (n < 11 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	memset(ch, 0, sizeof(*ch));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ch->pid = fork();
	assert_true(ch->pid >= 0);
	if (ch->pid == 0) {
		dup2(p[1], 1);
		execv(path, argv);
		_exit(127);
	}
	close(p[1]);
	ch->out = p[0];
	suite_defer(child_cleanup, ch);
}

/* Wait (bounded) until the child printed a line starting with `want`;
 * true when it did. */
static bool child_wait_line(struct child *ch, const char *want, int ms)
{
	int64_t end = tu_now_ms() + ms;
	size_t wl = strlen(want);

	for (;;) {
		char *line = ch->buf;
		struct pollfd p = { ch->out, POLLIN, 0 };
		ssize_t r;
		char *nl;

		while ((nl = memchr(line, '\n', ch->len - (line - ch->buf))) !=
		       NULL) {
			if ((size_t)(nl - line) >= wl &&
			    memcmp(line, want, wl) == 0)
				return true;
			line = nl + 1;
		}
		if (tu_now_ms() >= end || ch->len == sizeof(ch->buf) - 1)
			return false;
		if (poll(&p, 1, (int)(end - tu_now_ms())) <= 0)
			continue;
		r = read(ch->out, ch->buf + ch->len,
			 sizeof(ch->buf) - 1 - ch->len);
		if (r <= 0)
			return false;
		ch->len += (size_t)r;
		ch->buf[ch->len] = '\0';
	}
}

/* Wait (bounded) for the child to end with status 0. */
static void child_exits_ok(struct child *ch)
{
	int status;

	assert_true(tu_wait_child(ch->pid, bound_ms(5000), &status));
	ch->pid = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	suite_defer_cancel(child_cleanup, ch);
	child_cleanup(ch);
}

/* A client that sends nothing after its HELLO: the server's idle timer,
 * run by the example's loop, closes it long before `bound` ms. */
static void idle_client_closed(const char *address, int bound)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_status st;
	int64_t t0 = tu_now_ms();

	assert_ok(shade_connect(ctx, address, NULL, &c, errp_));
	st = shade_conn_serve(c, bound, NULL);
	assert_true(st == SHADE_OK || st == SHADE_ERR_CONNECTION_LOST);
	assert_true(tu_now_ms() - t0 < bound);
	talloc_free(ctx);
}

/* Run example prog: it calls itself through its loop (50 answers),
 * serves four clients on threads (sync calls and a callback), closes an
 * idle client on its timer and ends with status 0 on SIGTERM. */
static void example_serves(TALLOC_CTX *ctx, const char *prog,
			   const char *loop)
{
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/x.sock", dir);
	char *want = talloc_asprintf(ctx, "50 calls answered through the %s "
				     "loop", loop);
	char *idle = talloc_asprintf(ctx, "%d", bound_ms(300));
	struct child *ch = talloc_zero(ctx, struct child);
	struct clients k;

	child_start(ch, prog, "--serve", "--idle", idle, addr, NULL);
	assert_true(child_wait_line(ch, want, bound_ms(10000)));
	assert_true(child_wait_line(ch, "serving unix:", bound_ms(10000)));
	clients_start(&k, addr, 20);
	clients_join(&k);
	idle_client_closed(addr, bound_ms(5000));
	assert_int_equal(kill(ch->pid, SIGTERM), 0);
	child_exits_ok(ch);
}

/* The GLib example serves real clients through the GLib main loop. */
static void test_embed_glib_example(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);

	example_serves(ctx, "embed_glib", "GLib");
	talloc_free(ctx);
}

/* The libuv example serves real clients through the libuv loop. */
static void test_embed_uv_example(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);

	example_serves(ctx, "embed_uv", "libuv");
	talloc_free(ctx);
}

/* Without --serve each example calls itself over TCP (port 0, the
 * bound address read back) through its loop and ends with status 0. */
static void test_embed_examples_tcp(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *progs[] = { "embed_glib", "embed_uv" };
	const char *loops[] = { "GLib", "libuv" };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct child *ch = talloc_zero(ctx, struct child);
		char *want = talloc_asprintf(ctx, "200 calls answered through "
					     "the %s loop", loops[i]);

		child_start(ch, progs[i], "--calls", "200", "tcp:127.0.0.1:0",
			    NULL);
		assert_true(child_wait_line(ch, want, bound_ms(10000)));
		child_exits_ok(ch);
	}
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_embed_epoll_server),
		T(test_embed_idle_timer),
		T(test_embed_buffered_frames),
		T(test_embed_stop_wakes),
		T(test_embed_step_from_handler),
		T(test_embed_conn_process_edge),
		T(test_embed_glib_example),
		T(test_embed_uv_example),
		T(test_embed_examples_tcp),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("embed", tests, argc, argv);
}
