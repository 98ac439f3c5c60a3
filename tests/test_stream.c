/*
 * test_stream.c - streams (shade/stream.h) over a Unix socket whose
 * frames are limited to 256 KiB on both sides: a 6 MiB value read from
 * the server in 64 KiB chunks, four in flight, every byte checked; an
 * upload (the client's stream read by the server's method through
 * calls back); a reader closed mid-stream (the server's source freed,
 * at most the window read ahead); the server process killed mid-stream
 * (ConnectionLost, nothing leaks); a peer answering bad chunks (not
 * bytes, too long, data after the end) refused with ProtocolError; a
 * source's failure reaching the reader; a local stream; a chunk that
 * cannot fit a frame refused.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "helpers/peer.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"
#include "shade/shade.h"

/* Frame limit of every connection here. */
#define FRAME ((size_t)256 << 10)
/* Chunk the readers ask for. */
#define CHUNK ((size_t)64 << 10)
/* Bound on every wait. */
#define WAIT_MS 20000

/* ============================================================ sources */

/* Byte i of the pattern with seed s. */
static uint8_t pat(uint64_t i, unsigned s)
{
	return (uint8_t)((i ^ (i >> 8) ^ (i >> 17)) * 31u + s);
}

/* Sources freed on the server (in-process server thread). */
static int srv_done;
/* Bytes the server's sources gave. */
static uint64_t srv_given;

/* A pattern source: len bytes, seed, failing at fail_at (0: never). */
struct gen {
	uint64_t len;      /* bytes in all */
	uint64_t pos;      /* bytes given */
	unsigned seed;     /* the pattern's seed */
	uint64_t fail_at;  /* fail once pos reaches it (0: never) */
	int *done;         /* incremented when freed (may be NULL) */
};

/* shade_stream_source_fn over a struct gen. */
static shade_status gen_source(void *udata, uint8_t *buf, size_t max,
			       size_t *n, shade_error **err)
{
	struct gen *g = udata;
	size_t i, k = g->len - g->pos < max ? (size_t)(g->len - g->pos) : max;

	if (g->fail_at != 0 && g->pos >= g->fail_at)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "disk gone at byte %llu",
				       (unsigned long long)g->pos);
	/* give at most 10 000 bytes a call: the stream must gather them */
	if (k > 10000)
		k = 10000;
	for (i = 0; i < k; i++)
		buf[i] = pat(g->pos + i, g->seed);
	g->pos += k;
	if (g->done == &srv_done)
		__atomic_add_fetch(&srv_given, k, __ATOMIC_SEQ_CST);
	*n = k;
	return SHADE_OK;
}

/* done hook: count and free. */
static void gen_done(void *udata)
{
	struct gen *g = udata;

	if (g->done != NULL)
		__atomic_add_fetch(g->done, 1, __ATOMIC_SEQ_CST);
	talloc_free(g);
}

/* A stream of len pattern bytes (seed), failing at fail_at. */
static shade_ref *gen_stream(uint64_t len, unsigned seed, uint64_t fail_at,
			     int *done)
{
	struct gen *g = talloc_zero(NULL, struct gen);
	shade_ref *s;

	assert_non_null(g);
	g->len = len;
	g->seed = seed;
	g->fail_at = fail_at;
	g->done = done;
	assert_ok(shade_stream_new(gen_source, g, gen_done, &s, errp_));
	return s;
}

/* Read all of rd, checking each byte against the pattern (seed); the
 * bytes read, or fails the case. */
static uint64_t read_all(shade_stream_reader *rd, unsigned seed)
{
	const uint8_t *p;
	size_t n, i;
	uint64_t off = 0;

	for (;;) { /* ends: the stream is finite, each read waits bounded */
		assert_ok(shade_stream_read(rd, &p, &n, errp_));
		if (n == 0)
			return off;
		assert_true(n <= CHUNK);
		for (i = 0; i < n; i++)
			if (p[i] != pat(off + i, seed))
				fail_msg("byte %llu is %u, want %u",
					 (unsigned long long)(off + i), p[i],
					 pat(off + i, seed));
		off += n;
		assert_int_equal(shade_stream_offset(rd), off);
	}
}

/* ============================================================ the server */

/* src.open(len, seed[, fail_at]): a new pattern stream. */
static shade_status open_fn(shade_call_ctx *call)
{
	const shade_value *a = call->args;
	size_t n = shade_seq_len(a);
	shade_ref *s;

	if (n < 2)
		return shade_error_set(call->err, SHADE_ERR_TYPE, "open: args");
	s = gen_stream((uint64_t)shade_seq_at(a, 0)->u.i,
		       (unsigned)shade_seq_at(a, 1)->u.i,
		       n > 2 ? (uint64_t)shade_seq_at(a, 2)->u.i : 0,
		       &srv_done);
	call->result = shade_ref_value_take(call->mem, s);
	return SHADE_OK;
}

/* src.sink(stream, seed): read the caller's stream whole, checking the
 * pattern; its length. */
static shade_status sink_fn(shade_call_ctx *call)
{
	const shade_value *s = shade_seq_at(call->args, 0);
	unsigned seed = (unsigned)shade_seq_at(call->args, 1)->u.i;
	shade_stream_opts o = { .chunk = CHUNK, .window = 3 };
	shade_stream_reader *rd;
	const uint8_t *p;
	size_t n, i;
	uint64_t off = 0;
	shade_status st;

	if (shade_value_kind(s) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "sink: not a stream");
	SHADE_CHECK(shade_stream_open(call->mem, shade_value_as_ref(s), &o,
				      &rd, call->err));
	while ((st = shade_stream_read(rd, &p, &n, call->err)) == SHADE_OK &&
	       n > 0) {
		for (i = 0; i < n; i++)
			if (p[i] != pat(off + i, seed))
				return shade_error_set(call->err,
						       SHADE_ERR_VALUE,
						       "byte %llu differs",
						       (unsigned long long)
							       (off + i));
		off += n;
	}
	talloc_free(rd);
	SHADE_CHECK(st);
	call->result = shade_int(call->mem, (int64_t)off);
	return SHADE_OK;
}

/* bad.read(offset, max): what a misbehaving stream answers, by the
 * object's mode attribute: "str" a str, "long" max + 1 bytes, "after"
 * a short chunk then data. */
static shade_status bad_read(shade_call_ctx *call)
{
	const char *mode = call->udata;
	int64_t off = shade_seq_at(call->args, 0)->u.i;
	int64_t max = shade_seq_at(call->args, 1)->u.i;
	static uint8_t zeros[CHUNK + 1];

	if (strcmp(mode, "str") == 0)
		call->result = shade_str(call->mem, "not bytes");
	else if (strcmp(mode, "long") == 0)
		call->result = shade_bytes(call->mem, zeros, (size_t)max + 1);
	else /* "after": 10 bytes at 0, then full chunks */
		call->result = shade_bytes(call->mem, zeros,
					   off == 0 ? 10 : (size_t)max);
	return SHADE_OK;
}

/* A "shade.Stream" object whose read misbehaves as mode says. */
static shade_ref *bad_stream(const char *mode)
{
	shade_ref *o;

	assert_ok(shade_object_new("shade.Stream", NULL, &o, errp_));
	assert_ok(shade_object_add_method(o, "read", bad_read, (void *)mode,
					  false, errp_));
	return o;
}

/* The server's objects: "src" (open, sink), "bad_str", "bad_long",
 * "bad_after". */
static void export_all(shade_server *s)
{
	shade_ref *src, *b;
	static const char *const modes[] = { "str", "long", "after" };
	char name[16];

	assert_ok(shade_object_new("demo.Src", NULL, &src, errp_));
	assert_ok(shade_object_add_method(src, "open", open_fn, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(src, "sink", sink_fn, NULL, false,
					  errp_));
	assert_ok(shade_server_export(s, "src", src, errp_));
	shade_ref_release(src);
	for (size_t i = 0; i < 3; i++) {
		b = bad_stream(modes[i]);
		snprintf(name, sizeof name, "bad_%s", modes[i]);
		assert_ok(shade_server_export(s, name, b, errp_));
		shade_ref_release(b);
	}
}

/* Frames of FRAME bytes at most. */
static const shade_transport_opts frame_opts = { .max_frame = FRAME };

/* A server on a thread with the objects, frames limited. */
static tp_server *srv_start(TALLOC_CTX *ctx)
{
	shade_server_opts so = { .transport = &frame_opts };
	tp_server *v = tp_server_new(ctx, &so);

	export_all(v->s);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* A client of v, frames limited. */
static shade_conn *cli(TALLOC_CTX *ctx, const char *addr)
{
	shade_conn_opts co = { .transport = &frame_opts };
	shade_conn *c;

	assert_ok(shade_connect(ctx, addr, &co, &c, errp_));
	return c;
}

/* src.open(len, seed) on c: the stream reference (one count). */
static shade_ref *open_remote(TALLOC_CTX *ctx, shade_conn *c, int64_t len,
			      int64_t seed, int64_t fail_at)
{
	shade_ref *src, *s;
	shade_value *args = shade_tuple_new(ctx, 3), *res;
	shade_value x;

	assert_ok(shade_lookup(c, "src", &src, errp_));
	x = shade_value_int(len);
	assert_ok(shade_seq_append(args, &x, errp_));
	x = shade_value_int(seed);
	assert_ok(shade_seq_append(args, &x, errp_));
	x = shade_value_int(fail_at);
	if (fail_at != 0)
		assert_ok(shade_seq_append(args, &x, errp_));
	assert_ok(shade_invoke(ctx, src, "open", args, NULL, &res, errp_));
	assert_int_equal(shade_value_kind(res), SHADE_REF);
	s = shade_ref_retain(shade_value_as_ref(res));
	talloc_free(res);
	talloc_free(args);
	shade_ref_release(src);
	return s;
}

/* Wait (bounded) until srv_done reaches want. */
static void wait_done(int want)
{
	int64_t end = tu_now_ms() + WAIT_MS;

	while (__atomic_load_n(&srv_done, __ATOMIC_SEQ_CST) < want &&
	       tu_now_ms() < end)
		usleep(2000);
	assert_int_equal(__atomic_load_n(&srv_done, __ATOMIC_SEQ_CST), want);
}

/* A case's server, client and context. */
struct fx {
	TALLOC_CTX *ctx; /* everything of the case */
	tp_server *v;    /* the server, its loop on a thread */
	shade_conn *c;   /* the client */
};

/* Start a case: context, server, client. */
static void fx_start(void **state, struct fx *f)
{
	f->ctx = talloc_new(*state);
	f->v = srv_start(f->ctx);
	f->c = cli(f->ctx, f->v->addr);
}

/* End a case: close the client, stop the server, free it all. */
static void fx_stop(struct fx *f)
{
	if (f->c != NULL)
		shade_conn_close(f->c);
	tp_server_stop(f->v);
	talloc_free(f->ctx);
}

/* A reader (chunk CHUNK, window) of src.open(len, seed, fail_at). */
static shade_stream_reader *open_reader(struct fx *f, int64_t len,
					int64_t seed, int64_t fail_at,
					unsigned window)
{
	shade_stream_opts o = { .chunk = CHUNK, .window = window };
	shade_stream_reader *rd;
	shade_ref *s = open_remote(f->ctx, f->c, len, seed, fail_at);

	assert_ok(shade_stream_open(f->ctx, s, &o, &rd, errp_));
	shade_ref_release(s);
	return rd;
}

/* ============================================================ cases */

/* 6 MiB + 5 bytes, 24 times the frame limit, read in 64 KiB chunks with
 * four in flight: every byte in order, then the end; the source is
 * freed on the server once the reader is. */
static void test_stream_download(void **state)
{
	struct fx f;
	shade_stream_reader *rd;
	const uint8_t *p;
	size_t n;
	int done0 = __atomic_load_n(&srv_done, __ATOMIC_SEQ_CST);

	fx_start(state, &f);
	rd = open_reader(&f, (6 << 20) + 5, 7, 0, 4);
	assert_int_equal(read_all(rd, 7), (6 << 20) + 5);
	/* the end stays the end */
	assert_ok(shade_stream_read(rd, &p, &n, errp_));
	assert_int_equal(n, 0);
	talloc_free(rd);
	assert_ok(shade_conn_flush(f.c, errp_));
	wait_done(done0 + 1);
	fx_stop(&f);
}

/* An upload: the client's 3 MiB stream passed to src.sink, which reads
 * it back through calls to the client while the client's call waits. */
static void test_stream_upload(void **state)
{
	struct fx f;
	int done = 0;
	shade_ref *src, *s = gen_stream((3 << 20) + 1, 9, 0, &done);
	shade_value *args, *res, seed, *sv;

	fx_start(state, &f);
	args = shade_tuple_new(f.ctx, 2);
	sv = shade_ref_value_take(f.ctx, s);
	assert_ok(shade_lookup(f.c, "src", &src, errp_));
	assert_ok(shade_seq_append(args, sv, errp_));
	talloc_free(sv);
	seed = shade_value_int(9);
	assert_ok(shade_seq_append(args, &seed, errp_));
	assert_ok(shade_invoke(f.ctx, src, "sink", args, NULL, &res, errp_));
	assert_int_equal(shade_value_kind(res), SHADE_INT);
	assert_int_equal(res->u.i, (3 << 20) + 1);
	talloc_free(res);
	talloc_free(args);
	shade_ref_release(src);
	shade_conn_close(f.c);
	/* the stream object is freed with its last count: the export ended
	 * with the connection */
	assert_int_equal(done, 1);
	f.c = NULL;
	fx_stop(&f);
}

/* Closed after three chunks of a 100 MiB stream: the server's source is
 * freed, it gave at most what was in flight, and the connection goes
 * on (another stream read whole). */
static void test_stream_cancel(void **state)
{
	struct fx f;
	shade_stream_reader *rd;
	const uint8_t *p;
	size_t n;
	int i, done0 = __atomic_load_n(&srv_done, __ATOMIC_SEQ_CST);
	uint64_t given0 = __atomic_load_n(&srv_given, __ATOMIC_SEQ_CST);

	fx_start(state, &f);
	rd = open_reader(&f, (int64_t)100 << 20, 3, 0, 4);
	for (i = 0; i < 3; i++) {
		assert_ok(shade_stream_read(rd, &p, &n, errp_));
		assert_int_equal(n, CHUNK);
		assert_int_equal(p[5], pat((uint64_t)i * CHUNK + 5, 3));
	}
	shade_stream_close(rd);
	assert_int_equal(shade_stream_read(rd, &p, &n, NULL),
			 SHADE_ERR_INVALID);
	talloc_free(rd);
	assert_ok(shade_conn_flush(f.c, errp_));
	wait_done(done0 + 1);
	/* the three chunks read and at most the four in flight after them */
	assert_true(__atomic_load_n(&srv_given, __ATOMIC_SEQ_CST) - given0 <=
		    7 * CHUNK);
	/* the connection carries on */
	rd = open_reader(&f, 100000, 4, 0, 4);
	assert_int_equal(read_all(rd, 4), 100000);
	talloc_free(rd);
	fx_stop(&f);
}

/* A source failing at 1 MiB: the reader gets its error (name and
 * message), then only fails. */
static void test_stream_source_fails(void **state)
{
	struct fx f;
	shade_stream_reader *rd;
	shade_error *e = NULL;
	const uint8_t *p;
	size_t n;
	uint64_t got = 0;
	shade_status st;
	int turns = 0;

	fx_start(state, &f);
	rd = open_reader(&f, 4 << 20, 5, 1 << 20, 2);
	while ((st = shade_stream_read(rd, &p, &n, &e)) == SHADE_OK &&
	       turns++ < 100)
		got += n;
	assert_int_equal(st, SHADE_ERR_VALUE);
	assert_non_null(strstr(e->message, "disk gone at byte 1048576"));
	assert_int_equal(got, 1 << 20);
	shade_error_free(e);
	e = NULL;
	assert_int_equal(shade_stream_read(rd, &p, &n, &e), SHADE_ERR_VALUE);
	shade_error_free(e);
	talloc_free(rd);
	fx_stop(&f);
}

/* Peers that answer bad chunks: each refused with ProtocolError. */
static void test_stream_bad_chunks(void **state)
{
	static const struct {
		const char *name; /* export */
		const char *msg;  /* in the error */
	} cases[] = {
		{ "bad_str", "is str, not bytes" },
		{ "bad_long", "more than the 65536 asked" },
	};
	struct fx f;
	shade_stream_opts o = { .chunk = CHUNK, .window = 2 };
	shade_stream_reader *rd;
	shade_ref *s;
	shade_error *e = NULL;
	const uint8_t *p;
	size_t n, i;

	fx_start(state, &f);
	for (i = 0; i < 3; i++) {
		assert_ok(shade_lookup(f.c, i < 2 ? cases[i].name : "bad_after",
				       &s, errp_));
		assert_ok(shade_stream_open(f.ctx, s, &o, &rd, errp_));
		shade_ref_release(s);
		if (i < 2) {
			assert_int_equal(shade_stream_read(rd, &p, &n, &e),
					 SHADE_ERR_PROTOCOL);
			assert_non_null(strstr(e->message, cases[i].msg));
			shade_error_free(e);
			e = NULL;
		} else {
			/* a short chunk is the end: what follows is not read */
			assert_ok(shade_stream_read(rd, &p, &n, errp_));
			assert_int_equal(n, 10);
			assert_ok(shade_stream_read(rd, &p, &n, errp_));
			assert_int_equal(n, 0);
		}
		talloc_free(rd);
	}
	/* still answering */
	rd = open_reader(&f, 1000, 1, 0, 2);
	assert_int_equal(read_all(rd, 1), 1000);
	talloc_free(rd);
	fx_stop(&f);
}

/* A local stream (no connection): read in chunks one call each; a
 * chunk that cannot fit the frame limit of a remote one is refused. */
static void test_stream_local_and_limits(void **state)
{
	struct fx f;
	shade_stream_opts o = { .chunk = CHUNK, .window = 4 }, big = { 0 };
	shade_stream_reader *rd;
	int done = 0;
	shade_ref *s = gen_stream(300000, 2, 0, &done);

	fx_start(state, &f);
	assert_ok(shade_stream_open(f.ctx, s, &o, &rd, errp_));
	assert_int_equal(read_all(rd, 2), 300000);
	talloc_free(rd);
	shade_ref_release(s);
	assert_int_equal(done, 1);
	s = open_remote(f.ctx, f.c, 10, 1, 0);
	big.chunk = FRAME;
	assert_int_equal(shade_stream_open(f.ctx, s, &big, &rd, NULL),
			 SHADE_ERR_INVALID);
	big.chunk = SHADE_STREAM_CHUNK_MAX + 1;
	assert_int_equal(shade_stream_open(f.ctx, s, &big, &rd, NULL),
			 SHADE_ERR_INVALID);
	shade_ref_release(s);
	fx_stop(&f);
}

/* ============================================================ lost peer */

/* What the child gets. */
typedef struct child_args {
	tu_ready ready;    /* the pipe: a line once listening */
	const char *addr;  /* where to listen */
} child_args;

/* The child: a server with the objects until killed. */
static int child_main(void *arg)
{
	child_args *a = arg;
	shade_server_opts so = { .transport = &frame_opts };
	shade_server *s;
	shade_error *err = NULL;

	if (!tu_ready_child(&a->ready) ||
	    shade_server_new(NULL, &so, &s, &err) != SHADE_OK)
		return 1;
	export_all(s);
	if (shade_server_listen(s, a->addr, &err) != SHADE_OK)
		return 1;
	tu_ready_say(&a->ready, "ready");
	shade_server_run(s, &err);
	return 0;
}

/* The server process killed after two chunks of a 100 MiB stream: the
 * reader fails with ConnectionLost within the bound, and only fails. */
static void test_stream_peer_lost(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *addr = talloc_asprintf(ctx, "unix:%s/s.sock", dir);
	char line[32];
	child_args a = { .addr = addr };
	shade_stream_opts o = { .chunk = CHUNK, .window = 4,
				.timeout_ms = WAIT_MS };
	shade_stream_reader *rd;
	shade_conn *c;
	shade_ref *s;
	shade_error *e = NULL;
	const uint8_t *p;
	size_t n;
	shade_status st = SHADE_OK;
	pid_t pid;
	int i;

	pid = tu_fork_ready(child_main, &a.ready, line, sizeof line, WAIT_MS);
	assert_true(pid > 0);
	c = cli(ctx, addr);
	s = open_remote(ctx, c, (int64_t)100 << 20, 6, 0);
	assert_ok(shade_stream_open(ctx, s, &o, &rd, errp_));
	shade_ref_release(s);
	for (i = 0; i < 2; i++)
		assert_ok(shade_stream_read(rd, &p, &n, errp_));
	kill(pid, SIGKILL);
	assert_true(tu_wait_child(pid, WAIT_MS, NULL));
	/* chunks already received may still come; then the loss */
	for (i = 0; i < 8 && st == SHADE_OK; i++)
		st = shade_stream_read(rd, &p, &n, &e);
	assert_int_equal(st, SHADE_ERR_CONNECTION_LOST);
	shade_error_free(e);
	e = NULL;
	assert_int_equal(shade_stream_read(rd, &p, &n, &e),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_free(e);
	talloc_free(rd);
	shade_conn_close(c);
	rmdir(dir);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_stream_download),
		SUITE_CASE(test_stream_upload),
		SUITE_CASE(test_stream_cancel),
		SUITE_CASE(test_stream_source_fails),
		SUITE_CASE(test_stream_bad_chunks),
		SUITE_CASE(test_stream_local_and_limits),
		SUITE_CASE(test_stream_peer_lost),
	};

	suite_case_cleanup = tu_reap_live_child;
	return SUITE_RUN("stream", tests, argc, argv);
}
