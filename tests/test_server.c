/*
 * test_server.c - the server loop over real Unix and TCP sockets: many
 * clients on one loop, a client killed in the middle of a call, a client
 * stalled halfway through a frame, a client that floods requests and
 * never reads (backpressure), and a connection driven by the caller's own
 * poll loop (embedding).
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "conn/msg_int.h"
#include "object/object_int.h"
#include "helpers/suite.h"

/* The group fixture and assert_ok: helpers/suite.h. */

/* Size of calc.blob()'s answer. */
static size_t blob_size = 1024;

/* A server on ctx with "calc" (add, call, blob) listening on address;
 * its loop runs on a thread when `thread`, else the case turns it. */
static tp_server *srv_start(TALLOC_CTX *ctx, const char *address,
			    const shade_server_opts *opts, bool thread)
{
	tp_server *v = tp_server_new(ctx, opts);
	shade_ref *calc;

	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(calc, "call", th_call_plus_one, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "blob", th_zeros, &blob_size,
					  false, errp_));
	assert_ok(shade_server_export(v->s, "calc", calc, errp_));
	shade_ref_release(calc);
	tp_server_listen(v, address);
	if (thread)
		tp_server_run(v);
	return v;
}

/* add(a, b) through a fresh lookup on c. */
static int64_t add_on(shade_conn *c, int64_t a, int64_t b)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 2), *r = NULL;
	shade_value va = shade_value_int(a), vb = shade_value_int(b);
	shade_ref *calc;
	int64_t out;

	shade_seq_append(t, &va, NULL);
	shade_seq_append(t, &vb, NULL);
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	assert_ok(shade_invoke(tmp, calc, "add", t, NULL, &r, errp_));
	out = shade_value_as_int(r);
	shade_ref_release(calc);
	talloc_free(tmp);
	return out;
}

/* Several clients on one loop, over an address family. */
static void many_clients(TALLOC_CTX *ctx, const char *address)
{
	tp_server *v;
	shade_conn *c[5];
	int i;

	v = srv_start(ctx, address, NULL, true);
	for (i = 0; i < 5; i++)
		assert_ok(shade_connect(ctx, shade_server_address(v->s, 0), NULL,
					&c[i], errp_));
	for (i = 0; i < 5; i++)
		assert_int_equal(add_on(c[i], i, 100), 100 + i);
	for (i = 4; i >= 0; i--)
		assert_int_equal(add_on(c[i], i, 1), 1 + i);
	for (i = 0; i < 5; i++)
		talloc_free(c[i]);
	tp_server_stop(v);
}

static void test_server_unix_clients(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/s.sock", dir);

	many_clients(ctx, addr);
	talloc_free(ctx);
}

static void test_server_tcp_clients(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);

	many_clients(ctx, "tcp:127.0.0.1:0");
	talloc_free(ctx);
}

/* How long the client function of killed_client blocks (th_sleep). */
static int slow_ms = 30000;

/* Child: connect, call calc.call(slow_fn) and never answer in time. */
static int killed_client(void *arg)
{
	const char *address = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_ref *calc, *fn;
	shade_value *t, *r = NULL;

	if (shade_connect(ctx, address, NULL, &c, NULL) != SHADE_OK ||
	    shade_lookup(c, "calc", &calc, NULL) != SHADE_OK ||
	    shade_function_new("slow", th_sleep, &slow_ms, &fn, NULL) != SHADE_OK)
		return 1;
	t = shade_tuple_new(ctx, 1);
	shade_seq_append_take(t, shade_ref_value(ctx, fn), NULL);
	shade_invoke(ctx, calc, "call", t, NULL, &r, NULL);
	return 3;
}

/* A client callback that answers only after 500 ms; sets *udata first. */
static shade_status late_answer(shade_call_ctx *call)
{
	__atomic_store_n((int *)call->udata, 1, __ATOMIC_RELEASE);
	usleep(500 * 1000);
	call->result = shade_int(call->mem, 41);
	return SHADE_OK;
}

/* Client A: calc.call(late_answer) on its own connection. */
struct slow_caller {
	const char *address; /* where to connect */
	int in_callback;     /* the callback started (atomic) */
	int64_t result;      /* what the call returned, -1 on failure */
	int64_t took_ms;     /* how long the call took */
};

/* Body of client A. */
static void *slow_caller_main(void *arg)
{
	struct slow_caller *a = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_ref *calc = NULL, *fn = NULL;
	shade_value *t, *r = NULL;
	int64_t t0 = tu_now_ms();

	a->result = -1;
	if (shade_connect(ctx, a->address, NULL, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "calc", &calc, NULL) == SHADE_OK &&
	    shade_function_new("late", late_answer, &a->in_callback, &fn,
			       NULL) == SHADE_OK) {
		t = shade_tuple_new(ctx, 1);
		shade_seq_append_take(t, shade_ref_value(ctx, fn), NULL);
		if (shade_invoke(ctx, calc, "call", t, NULL, &r, NULL) ==
		    SHADE_OK)
			a->result = shade_value_as_int(r);
	}
	a->took_ms = tu_now_ms() - t0;
	talloc_free(r);
	if (calc != NULL)
		shade_ref_release(calc);
	if (fn != NULL)
		shade_ref_release(fn);
	talloc_free(ctx);
	return NULL;
}

/* Start client A (a slow callback) on a thread; return once its
 * callback runs, so the server's handler for it is waiting. */
static void slow_caller_start(struct slow_caller *a, tu_thread *th,
			      const char *address)
{
	int64_t end = tu_now_ms() + 5000;

	a->address = address;
	assert_int_equal(tu_thread_start(th, slow_caller_main, a), 0);
	while (!__atomic_load_n(&a->in_callback, __ATOMIC_ACQUIRE) &&
	       tu_now_ms() < end)
		usleep(1000);
	assert_true(__atomic_load_n(&a->in_callback, __ATOMIC_ACQUIRE));
}

/* A client callback that answers at once: 41. */
static shade_status quick_answer(shade_call_ctx *call)
{
	call->result = shade_int(call->mem, 41);
	return call->result != NULL ? SHADE_OK
				    : shade_error_set(call->err,
						      SHADE_ERR_NOMEM, "memory");
}

/* A server without workers serves a lone request as soon as its turn
 * has read it, on the loop's thread: a handler there that calls back
 * into its client (the loop reads the answer in a nested turn) gets it,
 * call after call; so does one with adds queued behind it (served in
 * the nested turn).  The loop gives the reader's place back before it
 * serves (else the nested turn could not read: the callback's deadline
 * would pass).  Only one calling back is in flight at a time: a second
 * one, served by the first's wait, would call back in a call the client
 * does not wait for yet (doc/api.md, "Which thread runs what on a
 * server"). */
static void test_server_loop_callback(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/l.sock", dir);
	shade_server_opts so = { .threads = 1, .timeout_ms = 5000 };
	shade_future *fs[8];
	shade_ref *calc = NULL, *fn = NULL;
	shade_value *t, *r;
	shade_conn *c;
	tp_server *v;
	int i;

	v = srv_start(ctx, addr, &so, true);
	assert_int_equal(shade_server_threads(v->s), 0);
	assert_ok(shade_connect(ctx, addr, NULL, &c, errp_));
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	assert_ok(shade_function_new("quick", quick_answer, NULL, &fn, errp_));
	t = shade_tuple_new(ctx, 1);
	assert_ok(shade_seq_append_take(t, shade_ref_value(ctx, fn), errp_));
	for (i = 0; i < 5; i++) {
		r = NULL;
		assert_ok(shade_invoke(ctx, calc, "call", t, NULL, &r, errp_));
		assert_int_equal(shade_value_as_int(r), 42);
		talloc_free(r);
	}
	assert_ok(shade_invoke_async(ctx, calc, "call", t, NULL, &fs[0],
				     errp_));
	for (i = 1; i < 8; i++) {
		shade_value *two = shade_tuple_new(ctx, 2);

		assert_ok(shade_seq_append_take(two, shade_int(ctx, i), errp_));
		assert_ok(shade_seq_append_take(two, shade_int(ctx, 1), errp_));
		assert_ok(shade_invoke_async(ctx, calc, "add", two, NULL,
					     &fs[i], errp_));
		talloc_free(two);
	}
	for (i = 0; i < 8; i++) {
		r = NULL;
		assert_ok(shade_future_wait(ctx, fs[i], 10000, &r, errp_));
		assert_int_equal(shade_value_as_int(r), i == 0 ? 42 : i + 1);
		talloc_free(r);
		talloc_free(fs[i]);
	}
	shade_ref_release(calc);
	shade_ref_release(fn);
	talloc_free(t);
	shade_conn_close(c);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* While a handler waits 500 ms for client A to answer its callback (and
 * a second one for client A2, nested in the first wait), the loop keeps
 * serving client B: B's 20 calls each finish well under 500 ms, and both
 * A and A2 get their answers. */
static void test_server_callback_does_not_starve(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/n.sock", dir);
	struct slow_caller a = { 0 }, a2 = { 0 };
	tp_server *v;
	tu_thread th = { 0 }, th2 = { 0 };
	shade_conn *b;
	int64_t t0, lat, worst = 0;
	int i;

	v = srv_start(ctx, addr, NULL, true);
	assert_ok(shade_connect(ctx, addr, NULL, &b, errp_));
	assert_int_equal(add_on(b, 1, 2), 3);
	slow_caller_start(&a, &th, addr);
	slow_caller_start(&a2, &th2, addr);
	t0 = tu_now_ms();
	for (i = 0; i < 20; i++) {
		int64_t c0 = tu_now_ms();

		assert_int_equal(add_on(b, i, 1), i + 1);
		lat = tu_now_ms() - c0;
		if (lat > worst)
			worst = lat;
	}
	print_message("B: 20 calls in %lld ms during A's callback, slowest "
		      "%lld ms\n", (long long)(tu_now_ms() - t0),
		      (long long)worst);
	assert_true(worst < (tu_under_valgrind() ? 400 : 150));
	assert_true(tu_thread_join(&th, 10000, NULL));
	assert_true(tu_thread_join(&th2, 10000, NULL));
	print_message("A's call took %lld ms, A2's %lld ms\n",
		      (long long)a.took_ms, (long long)a2.took_ms);
	assert_int_equal(a.result, 42);
	assert_int_equal(a2.result, 42);
	/* A's answer is picked up once A2's handler, nested above, ends. */
	assert_true(a.took_ms < 3000 && a2.took_ms < 3000);
	talloc_free(b);
	tp_server_stop(v);
	talloc_free(ctx);
}

static void test_server_client_killed_mid_call(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/k.sock", dir);
	tp_server *v;
	shade_conn *good;
	pid_t pid;
	int64_t t0;
	int status;

	v = srv_start(ctx, addr, NULL, true);
	assert_ok(shade_connect(ctx, addr, NULL, &good, errp_));
	assert_int_equal(add_on(good, 1, 2), 3);
	pid = tu_fork(killed_client, addr);
	assert_true(pid > 0);
	/* Let the child get into its call, then kill it. */
	usleep(300 * 1000);
	tu_kill_child(pid);
	/* The good client is still served, promptly. */
	t0 = tu_now_ms();
	assert_int_equal(add_on(good, 20, 22), 42);
	assert_true(tu_now_ms() - t0 < 5000);
	assert_int_equal(add_on(good, 1, 1), 2);
	talloc_free(good);
	tp_server_stop(v);
	(void)status;
	talloc_free(ctx);
}

/* Turn the loop (this thread) until `done` or ms pass. */
static void turn_until(shade_server *s, int ms, int *done)
{
	int64_t end = tu_now_ms() + ms;

	while (tu_now_ms() < end &&
	       !(done && __atomic_load_n(done, __ATOMIC_ACQUIRE)))
		assert_ok(shade_server_run_once(s, 10, errp_));
}

/* A well-behaved client thread: `n` adds, each checked. */
struct good {
	const char *address; /* where to connect */
	int n;               /* calls to make */
	int ok;              /* correct answers */
	int64_t worst_ms;    /* slowest call */
	int done;            /* finished (atomic) */
};

/* Body of the well-behaved client. */
static void *good_main(void *arg)
{
	struct good *g = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	int i;

	if (shade_connect(ctx, g->address, NULL, &c, NULL) == SHADE_OK)
		for (i = 0; i < g->n; i++) {
			int64_t t0 = tu_now_ms();

			if (add_on(c, i, 1) == i + 1)
				g->ok++;
			if (tu_now_ms() - t0 > g->worst_ms)
				g->worst_ms = tu_now_ms() - t0;
		}
	talloc_free(ctx);
	__atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A client that makes `n` calls on one lookup, then waits for `leave`. */
struct steady {
	const char *address; /* where to connect */
	int n;               /* calls to make */
	int ok;              /* correct answers */
	int done;            /* calls made (atomic) */
	int leave;           /* may disconnect (atomic) */
};

/* Body of the steady client. */
static void *steady_main(void *arg)
{
	struct steady *g = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_value *t = shade_tuple_new(ctx, 2), *r = NULL;
	shade_value one = shade_value_int(1);
	shade_ref *calc = NULL;
	shade_conn *c;
	int64_t end = tu_now_ms() + 20000;
	int i;

	shade_seq_append(t, &one, NULL);
	shade_seq_append(t, &one, NULL);
	if (shade_connect(ctx, g->address, NULL, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "calc", &calc, NULL) == SHADE_OK)
		for (i = 0; i < g->n; i++) {
			if (shade_invoke(ctx, calc, "add", t, NULL, &r,
					 NULL) == SHADE_OK &&
			    shade_value_as_int(r) == 2)
				g->ok++;
			talloc_free(r);
			r = NULL;
		}
	__atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&g->leave, __ATOMIC_ACQUIRE) &&
	       tu_now_ms() < end)
		usleep(1000);
	shade_ref_release(calc);
	talloc_free(ctx);
	return NULL;
}

/* The loop reads each request of a one-at-a-time client with one read
 * system call: a short read emptied the socket, so it polls instead of
 * reading again for EAGAIN. */
static void test_server_one_read_per_request(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	tp_server *v;
	struct steady g = { NULL, 200, 0, 0, 0 };
	shade_transport_stats ts;
	tu_thread th;

	v = srv_start(ctx, talloc_asprintf(ctx, "unix:%s/s.sock", dir), NULL,
		  false);
	g.address = shade_server_address(v->s, 0);
	assert_int_equal(tu_thread_start(&th, steady_main, &g), 0);
	turn_until(v->s, 20000, &g.done);
	assert_int_equal(g.ok, g.n);
	assert_int_equal(shade_server_conn_count(v->s), 1);
	shade_transport_stats_get(
		shade_conn_transport(shade_server_conn(v->s, 0)), &ts);
	/* HELLO and LOOKUP (maybe one read), 200 INVOKEs. */
	assert_true(ts.frames_received >= (uint64_t)g.n + 2);
	assert_true(ts.read_calls <= (uint64_t)g.n + 4);
	__atomic_store_n(&g.leave, 1, __ATOMIC_RELEASE);
	assert_true(tu_thread_join(&th, 10000, NULL));
	turn_until(v->s, 200, NULL);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* A connection over an fd the server does not own fails in a turn (its
 * peer sends garbage) while the fd stays open and turns readable again:
 * the loop took the fd out of its event set before the end, so it
 * neither hears of it (a freed record) nor spins on it. */
static void test_server_conn_end_keeps_fd(void **state)
{
	static const uint8_t junk[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v;
	shade_transport *t;
	int sv[2], i;
	int64_t t0;

	v = srv_start(ctx, "tcp:127.0.0.1:0", NULL, false);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_ok(shade_transport_from_fds(ctx, sv[0], sv[0], 0, NULL, &t,
					   errp_));
	assert_ok(shade_server_adopt(v->s, t, NULL, errp_));
	assert_ok(shade_server_run_once(v->s, 0, errp_)); /* registered */
	assert_int_equal(write(sv[1], junk, sizeof(junk)), sizeof(junk));
	for (i = 0; i < 100 && shade_server_conn_count(v->s) > 0; i++)
		assert_ok(shade_server_run_once(v->s, 10, errp_));
	assert_int_equal(shade_server_conn_count(v->s), 0);
	assert_int_equal(write(sv[1], junk, sizeof(junk)), sizeof(junk));
	t0 = tu_now_ms();
	for (i = 0; i < 3; i++)
		assert_ok(shade_server_run_once(v->s, 50, errp_));
	assert_true(tu_now_ms() - t0 >= 140);
	close(sv[0]);
	close(sv[1]);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* A connection over a regular file (which epoll refuses) is still
 * served: the loop reads it every turn, as poll would report it ready.
 * The file holds garbage, so the connection ends in the first turns. */
static void test_server_regular_file_conn(void **state)
{
	static const uint8_t junk[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *path = talloc_asprintf(ctx, "%s/in", dir);
	tp_server *v;
	shade_transport *t;
	int fd, out, i;

	v = srv_start(ctx, "tcp:127.0.0.1:0", NULL, false);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(out >= 0);
	assert_ok(shade_transport_from_fds(ctx, fd, out, SHADE_TRANSPORT_OWN_FDS,
					   NULL, &t, errp_));
	assert_ok(shade_server_adopt(v->s, t, NULL, errp_));
	for (i = 0; i < 100 && shade_server_conn_count(v->s) > 0; i++)
		assert_ok(shade_server_run_once(v->s, 10, errp_));
	assert_int_equal(shade_server_conn_count(v->s), 0);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* Turn the loop once (not waiting) and raise *max to the largest unsent
 * output of its connections. */
static void turn_note_output(shade_server *s, size_t *max)
{
	size_t j;

	assert_ok(shade_server_run_once(s, 0, errp_));
	for (j = 0; j < shade_server_conn_count(s); j++) {
		size_t q = shade_conn_out_pending(shade_server_conn(s, j));

		if (q > *max)
			*max = q;
	}
}

static void test_server_half_frame_and_flood(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/f.sock", dir);
	/* The loop's read budget: no workers. */
	shade_server_opts so = { .threads = 1, .frames_per_turn = 4,
				 .max_output = 64 * 1024 };
	static const uint8_t half[] = { 0x18, 0x64, 0x85, 0x03 };
	/* HELLO, then INVOKE calc(eid 1) member 0 [1, 2] with id 1.. */
	static const uint8_t hello[] = { 0x05, 0x84, 0x00, 0x00, 0x01, 0x00 };
	static const uint8_t lookup[] = { 0x08, 0x83, 0x07, 0x01, 0x64,
					  'c', 'a', 'l', 'c' };
	uint8_t call[16];
	tp_server *v;
	struct good g = { NULL, 50, 0, 0, 0 };
	shade_transport *stall, *flood;
	tu_thread th;
	int i, fd;
	size_t max_pending = 0, k;

	v = srv_start(ctx, addr, &so, false);
	/* A client that sends half a frame and stops. */
	assert_ok(shade_transport_connect(ctx, addr, NULL, &stall, errp_));
	fd = shade_transport_fd(stall);
	assert_int_equal(tu_write_all(fd, hello, sizeof(hello)), 0);
	assert_int_equal(tu_write_all(fd, half, sizeof(half)), 0);
	/* A client that floods requests and never reads a reply. */
	assert_ok(shade_transport_connect(ctx, addr, NULL, &flood, errp_));
	assert_ok(shade_transport_set_nonblocking(flood, true, errp_));
	fd = shade_transport_fd(flood);
	assert_int_equal(tu_write_all(fd, hello, sizeof(hello)), 0);
	assert_int_equal(tu_write_all(fd, lookup, sizeof(lookup)), 0);
	/* [3, id, 1, 2, [1, 2]] (blob) with a 2-byte id: 11 bytes. */
	call[0] = 0x0a;
	call[1] = 0x85;
	call[2] = 0x03;
	call[3] = 0x19;
	call[6] = 0x01;
	call[7] = 0x02;
	call[8] = 0x82;
	call[9] = 0x01;
	call[10] = 0x02;
	for (i = 0; i < 20000; i++) {
		call[4] = (uint8_t)((i + 2) >> 8);
		call[5] = (uint8_t)(i + 2);
		if (write(fd, call, 11) != 11)
			break;
		if (i % 256 == 0)
			assert_ok(shade_server_run_once(v->s, 0, errp_));
	}
	/* A well-behaved client meanwhile. */
	g.address = addr;
	assert_int_equal(tu_thread_start(&th, good_main, &g), 0);
	turn_until(v->s, 20000, &g.done);
	assert_true(tu_thread_join(&th, 10000, NULL));
	assert_int_equal(g.ok, g.n);
	assert_true(g.worst_ms < 2000);
	/* The flooder's unsent replies stayed bounded by the limit (plus
	 * one turn's worth of replies). */
	for (k = 0; k < 50; k++)
		turn_note_output(v->s, &max_pending);
	assert_true(max_pending > 0);
	assert_true(max_pending <= so.max_output + 4 * 1100);
	assert_int_equal(shade_server_conn_count(v->s), 2);
	talloc_free(stall);
	talloc_free(flood);
	turn_until(v->s, 200, NULL);
	assert_int_equal(shade_server_conn_count(v->s), 0);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* Client thread for the embedding test: one add on a pair end. */
struct embed {
	shade_conn *client; /* the client connection */
	int64_t sum;        /* the answer */
	int done;           /* finished (atomic) */
};

/* Body of the embedding client. */
static void *embed_main(void *arg)
{
	struct embed *e = arg;

	e->sum = add_on(e->client, 40, 2);
	__atomic_store_n(&e->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_server_embedded_conn(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_conn_opts so = { .names = reg };
	shade_transport *a, *b;
	shade_conn *server;
	struct embed e = { NULL, 0, 0 };
	shade_ref *calc;
	tu_thread th;
	int64_t end;

	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_registry_add(reg, "calc", calc, errp_));
	shade_ref_release(calc);
	assert_ok(shade_transport_pair(ctx, NULL, &a, &b, errp_));
	assert_ok(shade_transport_set_nonblocking(b, true, errp_));
	assert_ok(shade_conn_new(ctx, b, true, &so, &server, errp_));
	assert_ok(shade_conn_new(ctx, a, false, NULL, &e.client, errp_));
	assert_int_equal(tu_thread_start(&th, embed_main, &e), 0);
	/* The caller's own loop: poll the fd, process what is readable. */
	end = tu_now_ms() + 10000;
	while (!__atomic_load_n(&e.done, __ATOMIC_ACQUIRE) &&
	       tu_now_ms() < end) {
		struct pollfd p = { shade_conn_fd(server), POLLIN, 0 };

		if (poll(&p, 1, 10) > 0) {
			shade_status st = shade_conn_process(server, 0, NULL);

			assert_true(st == SHADE_OK || st == SHADE_AGAIN);
		}
	}
	assert_true(tu_thread_join(&th, 10000, NULL));
	assert_int_equal(e.sum, 42);
	talloc_free(e.client);
	assert_int_equal(shade_conn_process(server, 0, NULL),
			 SHADE_ERR_CONNECTION_LOST);
	talloc_free(ctx);
}

/* Write as many INVOKE calc.add(1, 2) requests (ids from *next) as fd
 * takes without blocking, at most `max` in all; the count written. */
static size_t pipeline_adds(int fd, uint64_t *next, size_t max)
{
	uint8_t args[3] = { 0x82, 0x01, 0x02 };
	uint8_t frame[13];
	size_t n = 0;

	while (n < max) {
		/* [3, id, 1, 0, [1, 2]] with a four-byte id: 12 bytes */
		frame[0] = 0x0c;
		frame[1] = 0x85;
		frame[2] = 0x03;
		frame[3] = 0x1a;
		frame[4] = (uint8_t)(*next >> 24);
		frame[5] = (uint8_t)(*next >> 16);
		frame[6] = (uint8_t)(*next >> 8);
		frame[7] = (uint8_t)*next;
		frame[8] = 0x01;
		frame[9] = 0x00;
		memcpy(frame + 10, args, 3);
		if (write(fd, frame, 13) != 13)
			break;
		(*next)++;
		n++;
	}
	return n;
}

/* A client that pipelines requests and never reads (doc/limits.md,
 * "unsent output per connection"): the server answers until its unsent
 * output passes max_output, then stops reading that connection, so the
 * client's writes block; no reply is dropped: once the client reads,
 * every request it wrote is answered, in order, and the server's queue
 * never held more than the limit plus one turn of replies. */
static void test_server_pipeliner_never_reads(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/p.sock", dir);
	/* The loop's budget and output limit: no workers. */
	shade_server_opts so = { .max_output = 64 * 1024, .threads = 1 };
	static const uint8_t hello[] = { 0x05, 0x84, 0x00, 0x00, 0x01, 0x00 };
	static const uint8_t lookup[] = { 0x08, 0x83, 0x07, 0x01, 0x64,
					  'c', 'a', 'l', 'c' };
	const size_t cap = 2000000;
	tp_server *v;
	shade_transport *t;
	uint64_t next = 2, want = 1;
	size_t written = 0, stalls = 0, max_q = 0, got = 0, len = 0;
	uint8_t *in = talloc_size(ctx, 1 << 20);
	int fd, k;
	int64_t end;

	v = srv_start(ctx, addr, &so, false);
	assert_ok(shade_transport_connect(ctx, addr, NULL, &t, errp_));
	assert_ok(shade_transport_set_nonblocking(t, true, errp_));
	fd = shade_transport_fd(t);
	assert_int_equal(tu_write_all(fd, hello, sizeof(hello)), 0);
	assert_int_equal(tu_write_all(fd, lookup, sizeof(lookup)), 0);
	/* Write until 200 turns of the server in a row take nothing. */
	end = tu_now_ms() + 20000;
	while (stalls < 200 && written < cap && tu_now_ms() < end) {
		size_t n = pipeline_adds(fd, &next, cap - written);

		written += n;
		stalls = n == 0 ? stalls + 1 : 0;
		turn_note_output(v->s, &max_q);
	}
	/* The server stopped reading: the client could not write them all,
	 * and the queue stayed at the limit plus one turn (16 replies). */
	assert_int_equal(stalls, 200);
	assert_true(written > 1000);
	assert_true(written < cap);
	assert_true(max_q > so.max_output);
	assert_true(max_q <= so.max_output + 16 * 16);
	assert_int_equal(shade_server_conn_count(v->s), 1);
	/* Now read: every request written is answered, in order. */
	end = tu_now_ms() + 30000;
	while (want < written + 2 && tu_now_ms() < end) {
		ssize_t r;
		size_t pos = 0;

		assert_ok(shade_server_run_once(v->s, 0, errp_));
		r = read(fd, in + len, (1 << 20) - len);
		if (r > 0)
			len += (size_t)r;
		for (k = 0; k < 100000; k++) {
			uint64_t flen;
			size_t hl;
			struct msg m;

			if (shade_frame_header_decode(in + pos, len - pos,
						      SIZE_MAX, &flen, &hl,
						      NULL) != SHADE_OK ||
			    len - pos - hl < flen)
				break;
			assert_ok(msg_parse(in + pos + hl, flen, &m, errp_));
			if (m.op == OP_RETURN) {
				assert_int_equal(m.id, want);
				want++;
				got++;
			}
			pos += hl + flen;
		}
		memmove(in, in + pos, len - pos);
		len -= pos;
	}
	assert_int_equal(got, written + 1); /* and the LOOKUP */
	talloc_free(t);
	turn_until(v->s, 200, NULL);
	assert_int_equal(shade_server_conn_count(v->s), 0);
	tp_server_stop(v);
	talloc_free(ctx);
}

/* calc.blob(v) on c; v is freed with tmp, which this frees; the
 * status. */
static shade_status blob_of(TALLOC_CTX *tmp, shade_conn *c, shade_value *v,
			    shade_error **err)
{
	/* By value: the limits apply to what the request carries. */
	shade_call_opts bv = { .byvalue = true };
	shade_value *t, *r = NULL;
	shade_ref *calc;
	shade_status st;

	t = shade_tuple_new(tmp, 1);
	assert_ok(shade_seq_append_take(t, v, errp_));
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	st = shade_invoke_ex(tmp, calc, "blob", t, NULL, &bv, &r, err);
	shade_ref_release(calc);
	talloc_free(tmp);
	return st;
}

/* calc.blob(v) where v is a list nested `depth` deep; the status. */
static shade_status blob_nested(shade_conn *c, int depth, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *v = shade_int(tmp, 1);
	int i;

	for (i = 0; i < depth; i++) {
		shade_value *l = shade_list_new(tmp, 1);

		assert_ok(shade_seq_append_take(l, v, errp_));
		v = l;
	}
	return blob_of(tmp, c, v, err);
}

/* calc.blob(s) with a string of n bytes; the status. */
static shade_status blob_str(shade_conn *c, size_t n, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	char *s = talloc_zero_array(tmp, char, n + 1);

	memset(s, 'x', n);
	return blob_of(tmp, c, shade_str(tmp, s), err);
}

/* calc.blob(l) with a list of n ints; the status. */
static shade_status blob_ints(shade_conn *c, size_t n, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *l = shade_list_new(tmp, n);
	size_t i;

	for (i = 0; i < n; i++)
		assert_ok(shade_seq_append_take(l, shade_int(tmp, (int64_t)i),
						errp_));
	return blob_of(tmp, c, l, err);
}

/* Call f(c, n, &e) and check it fails with code and error name. */
static void expect_refused(shade_status (*f)(shade_conn *, size_t,
					      shade_error **),
			   shade_conn *c, size_t n, shade_status code,
			   const char *name)
{
	shade_error *e = NULL;

	assert_int_equal(f(c, n, &e), code);
	assert_non_null(e);
	assert_string_equal(e->name, name);
	shade_error_free(e);
}

/* The server's connection options reach the connections it accepts:
 * with max_depth 6 a request nested 8 deep is answered TooDeep (the
 * connection stays usable) while a default server serves it, and so
 * are a string over max_len and a list over max_items; with
 * max_exports 1 a second object handed out is refused LimitExceeded. */
static void test_server_conn_opts(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *a1 = talloc_asprintf(ctx, "unix:%s/d.sock", dir);
	char *a2 = talloc_asprintf(ctx, "unix:%s/s.sock", dir);
	char *a3 = talloc_asprintf(ctx, "unix:%s/e.sock", dir);
	shade_conn_opts shallow = { .max_depth = 6, .max_len = 32,
				    .max_items = 14 };
	shade_conn_opts few = { .max_exports = 1 };
	shade_server_opts so1 = { .conn = &shallow };
	shade_server_opts so2 = { .conn = &few };
	tp_server *def, *shal, *ex;
	shade_conn *c1, *c2, *c3;
	shade_ref *calc, *other, *got = NULL;
	shade_error *e = NULL;

	def = srv_start(ctx, a1, NULL, true);
	shal = srv_start(ctx, a2, &so1, true);
	ex = srv_start(ctx, a3, &so2, false);
	assert_ok(shade_object_new("demo.Other", NULL, &other, errp_));
	assert_ok(shade_server_export(ex->s, "other", other, errp_));
	shade_ref_release(other);
	tp_server_run(ex);

	assert_ok(shade_connect(ctx, a1, NULL, &c1, errp_));
	assert_ok(blob_nested(c1, 8, errp_));
	assert_ok(blob_str(c1, 40, errp_));
	assert_ok(blob_ints(c1, 20, errp_));
	assert_ok(shade_connect(ctx, a2, NULL, &c2, errp_));
	assert_ok(blob_nested(c2, 2, errp_));
	assert_int_equal(blob_nested(c2, 8, &e), SHADE_ERR_TOO_DEEP);
	assert_non_null(e);
	assert_string_equal(e->name, "TooDeep");
	shade_error_free(e);
	e = NULL;
	assert_int_equal(add_on(c2, 2, 3), 5);
	assert_ok(blob_str(c2, 8, errp_));
	expect_refused(blob_str, c2, 40, SHADE_ERR_LIMIT, "LimitExceeded");
	assert_ok(blob_ints(c2, 2, errp_));
	expect_refused(blob_ints, c2, 20, SHADE_ERR_LIMIT, "LimitExceeded");
	assert_int_equal(add_on(c2, 2, 3), 5);

	assert_ok(shade_connect(ctx, a3, NULL, &c3, errp_));
	assert_ok(shade_lookup(c3, "calc", &calc, errp_));
	assert_int_equal(shade_lookup(c3, "other", &got, &e), SHADE_ERR_LIMIT);
	assert_null(got);
	shade_error_free(e);
	/* calc again is the entry it already has. */
	assert_int_equal(add_on(c3, 1, 1), 2);
	shade_ref_release(calc);
	talloc_free(c1);
	talloc_free(c2);
	talloc_free(c3);
	tp_server_stop(def);
	tp_server_stop(shal);
	tp_server_stop(ex);
	talloc_free(ctx);
}

/* Wait (at most limit_ms) until the peer closes fd; the ms it took, or
 * -1 when it stayed open. */
static int64_t wait_closed(int fd, int64_t t0, int limit_ms)
{
	int64_t end = t0 + limit_ms;
	char buf[256];

	while (tu_now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return tu_now_ms() - t0;
	}
	return -1;
}

/* A client calling every `every_ms`, `n` times, on its own connection. */
struct active {
	const char *address; /* where to connect */
	int every_ms;        /* pause between calls */
	int n;               /* calls to make */
	int ok;              /* correct answers */
	bool open;           /* still connected after the last call */
};

/* Body of the active client. */
static void *active_main(void *arg)
{
	struct active *a = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	int i;

	if (shade_connect(ctx, a->address, NULL, &c, NULL) == SHADE_OK) {
		for (i = 0; i < a->n; i++) {
			if (add_on(c, i, 1) == i + 1)
				a->ok++;
			usleep((useconds_t)a->every_ms * 1000);
		}
		a->open = shade_conn_is_open(c);
	}
	talloc_free(ctx);
	return NULL;
}

/* idle_timeout_ms closes a client that sends nothing and one that sent
 * half a frame after about that long, while a client calling every
 * quarter of it stays connected throughout. */
static void test_server_idle_timeout(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/i.sock", dir);
	const int idle = 300;
	shade_server_opts so = { .idle_timeout_ms = idle };
	static const uint8_t hello[] = { 0x05, 0x84, 0x00, 0x00, 0x01, 0x00 };
	static const uint8_t half[] = { 0x18, 0x64, 0x85, 0x03 };
	shade_transport *silent, *slow;
	struct active a = { addr, idle / 4, 16, 0, false };
	tu_thread th = { 0 };
	tp_server *v;
	int64_t t0, took_silent, took_slow;
	int limit = tu_under_valgrind() ? 10 * idle : 4 * idle;

	v = srv_start(ctx, addr, &so, true);
	assert_int_equal(tu_thread_start(&th, active_main, &a), 0);
	t0 = tu_now_ms();
	assert_ok(shade_transport_connect(ctx, addr, NULL, &silent, errp_));
	assert_ok(shade_transport_connect(ctx, addr, NULL, &slow, errp_));
	assert_int_equal(tu_write_all(shade_transport_fd(slow), hello,
				      sizeof(hello)), 0);
	assert_int_equal(tu_write_all(shade_transport_fd(slow), half,
				      sizeof(half)), 0);
	took_silent = wait_closed(shade_transport_fd(silent), t0, limit);
	took_slow = wait_closed(shade_transport_fd(slow), t0, limit);
	print_message("idle %d ms: silent closed after %lld ms, half frame "
		      "after %lld ms\n", idle, (long long)took_silent,
		      (long long)took_slow);
	assert_true(took_silent >= idle && took_silent <= limit);
	assert_true(took_slow >= idle && took_slow <= limit);
	/* The active client calls every idle/4 for 4 * idle, unharmed. */
	assert_true(tu_thread_join(&th, 30000, NULL));
	assert_int_equal(a.ok, a.n);
	assert_true(a.open);
	talloc_free(silent);
	talloc_free(slow);
	tp_server_stop(v);
	talloc_free(ctx);
}

static void test_server_exec_stdio(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *build = getenv("SHADE_BUILD");
	char *addr = talloc_asprintf(ctx, "exec:%s/bin/demo_server --stdio",
				     build ? build : "build");
	shade_conn *c;
	shade_ref *x;
	shade_value *z;

	/* The demo server spoken to over a child's stdin/stdout, the way
	 * exec:ssh host app --stdio reaches another machine. */
	assert_ok(shade_connect(ctx, addr, NULL, &c, errp_));
	assert_ok(shade_lookup(c, "x", &x, errp_));
	assert_ok(shade_getattr(ctx, x, "z", &z, errp_));
	assert_int_equal(shade_value_as_int(z), 3);
	shade_ref_release(x);
	talloc_free(ctx); /* BYE; the child ends and is reaped */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_server_unix_clients),
		T(test_server_tcp_clients),
		T(test_server_client_killed_mid_call),
		T(test_server_callback_does_not_starve),
		T(test_server_loop_callback),
		T(test_server_half_frame_and_flood),
		T(test_server_pipeliner_never_reads),
		T(test_server_one_read_per_request),
		T(test_server_conn_end_keeps_fd),
		T(test_server_regular_file_conn),
		T(test_server_embedded_conn),
		T(test_server_exec_stdio),
		T(test_server_conn_opts),
		T(test_server_idle_timeout),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("server", tests, argc, argv);
}
