/*
 * test_transport.c - frames over every built-in transport.
 *
 * Real sockets, pipes and child processes: every built-in transport moves
 * frames from 1 byte to 16 MiB both ways (a sender thread and a receiving
 * main thread against an echo peer), and the error paths get real broken
 * peers: children that die mid-frame, over-limit and zero-length headers,
 * early-exiting exec: children, bad addresses.  Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "helpers/suite.h"
#include "helpers/testutil.h"
#include "shade/transport.h"
#include "transport/transport_int.h"

#define MIB ((size_t)1 << 20)
/* Bound of any single wait in these tests. */
#define WAIT_MS 30000

/* Frame sizes every transport must carry. */
static const size_t echo_sizes[] = {
	1, 23, 24, 255, 256, 65535, 65536, MIB, 16 * MIB,
};
#define N_SIZES (sizeof(echo_sizes) / sizeof(echo_sizes[0]))

/* ------------------------------------------------------------ fixtures */

/* The running case's context, freed by its teardown. */
#define TCTX(state) ((void)(state), suite_case_ctx)

/* Assert an error's code and that its message contains `needle`; free it. */
static void expect_error(shade_error **err, shade_status got,
			 shade_status code, const char *needle)
{
	if (got != code || *err == NULL ||
	    strstr((*err)->message, needle) == NULL)
		fail_msg("expected %s containing \"%s\", got %s: %s",
			 shade_status_name(code), needle, shade_status_name(got),
			 *err ? (*err)->message : "(no error object)");
	shade_error_clear(err);
}

/* Assert success, printing the error otherwise. */
static void expect_ok(shade_error **err, shade_status st)
{
	if (st != SHADE_OK)
		fail_msg("expected success, got %s: %s", shade_status_name(st),
			 *err ? (*err)->message : "(no error object)");
	assert_null(*err);
}

/* ------------------------------------------------------------ echo rig */

/* An echo peer on its own thread: sends every frame back until the
 * channel fails; remembers how it ended. */
struct echo_peer {
	shade_transport *t;     /* its end (on its own talloc context) */
	shade_status end;       /* the status that ended the loop */
	char message[256];      /* that status' message */
	size_t frames;          /* frames echoed */
};

static void *echo_main(void *arg)
{
	struct echo_peer *e = arg;
	shade_error *err = NULL;
	uint8_t *frame;
	size_t len;
	shade_status st;

	for (;;) {
		void *tmp = talloc_new(NULL);

		st = shade_transport_recv(e->t, tmp, &frame, &len, WAIT_MS,
					  &err);
		if (st == SHADE_OK)
			st = shade_transport_send(e->t, frame, len, &err);
		talloc_free(tmp);
		if (st != SHADE_OK)
			break;
		e->frames++;
	}
	e->end = st;
	snprintf(e->message, sizeof(e->message), "%s",
		 err ? err->message : "");
	shade_error_free(err);
	return NULL;
}

/* A sender thread: sends the prepared frames in order. */
struct sender {
	shade_transport *t;     /* client end; only its send side is used */
	uint8_t **frames;       /* frames to send */
	const size_t *sizes;    /* their sizes */
	size_t count;           /* how many */
	shade_status st;        /* first failure, or SHADE_OK */
	char message[256];      /* its message */
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	shade_error *err = NULL;
	size_t i;

	s->st = SHADE_OK;
	for (i = 0; i < s->count && s->st == SHADE_OK; i++)
		s->st = shade_transport_send(s->t, s->frames[i], s->sizes[i],
					     &err);
	snprintf(s->message, sizeof(s->message), "%s", err ? err->message : "");
	shade_error_free(err);
	return NULL;
}

/*
 * Move every size in echo_sizes through `client` to an echo peer and
 * back: a sender thread sends while this thread receives, so stream
 * echoes (exec:cat) cannot deadlock on full pipes.  `peer` is NULL when
 * the echo is external (exec:).  Frees the client at the end and checks
 * the peer saw a clean close.
 */
static void run_echo(void *ctx, shade_transport *client,
		     struct echo_peer *peer, void *peer_ctx)
{
	void *frames_ctx = talloc_new(NULL);
	uint8_t *frames[N_SIZES];
	struct sender snd;
	tu_thread sth, pth;
	shade_error *err = NULL;
	size_t i, len, bad;
	uint8_t *got;
	shade_status st;

	(void)ctx;
	assert_non_null(frames_ctx);
	for (i = 0; i < N_SIZES; i++) {
		frames[i] = talloc_size(frames_ctx, echo_sizes[i]);
		assert_non_null(frames[i]);
		tu_fill_pattern(frames[i], echo_sizes[i], (uint32_t)i + 1);
	}
	if (peer != NULL)
		assert_int_equal(tu_thread_start(&pth, echo_main, peer), 0);
	snd.t = client;
	snd.frames = frames;
	snd.sizes = echo_sizes;
	snd.count = N_SIZES;
	assert_int_equal(tu_thread_start(&sth, sender_main, &snd), 0);

	for (i = 0; i < N_SIZES; i++) {
		void *tmp = talloc_new(NULL);

		st = shade_transport_recv(client, tmp, &got, &len, WAIT_MS,
					  &err);
		if (st != SHADE_OK)
			fail_msg("%s: frame %zu (%zu bytes): %s: %s",
				 shade_transport_address(client), i,
				 echo_sizes[i], shade_status_name(st),
				 err ? err->message : "");
		assert_int_equal(len, echo_sizes[i]);
		assert_true(talloc_get_size(got) >= len);
		bad = tu_check_pattern(got, len, (uint32_t)i + 1);
		if (bad != len)
			fail_msg("frame of %zu bytes differs at byte %zu", len,
				 bad);
		talloc_free(tmp);
	}
	assert_true(tu_thread_join(&sth, WAIT_MS, NULL));
	if (snd.st != SHADE_OK)
		fail_msg("sender: %s", snd.message);
	talloc_free(frames_ctx);

	talloc_free(client);
	if (peer != NULL) {
		assert_true(tu_thread_join(&pth, WAIT_MS, NULL));
		assert_int_equal(peer->frames, N_SIZES);
		assert_int_equal(peer->end, SHADE_ERR_CONNECTION_LOST);
		assert_non_null(strstr(peer->message, "peer closed"));
		talloc_free(peer_ctx);
	}
}

/* Echo through a listener: connect a client to `address`, accept the
 * peer end, run the echo. */
static void echo_via_listener(void *ctx, const char *address)
{
	shade_listener *l = NULL;
	shade_transport *c = NULL;
	struct echo_peer peer = { 0 };
	void *peer_ctx = talloc_new(NULL);
	shade_error *err = NULL;

	expect_ok(&err, shade_listener_open(ctx, address, NULL, &l, &err));
	expect_ok(&err, shade_transport_connect(ctx, shade_listener_address(l),
						NULL, &c, &err));
	expect_ok(&err, shade_listener_accept(l, peer_ctx, WAIT_MS, &peer.t,
					      &err));
	run_echo(ctx, c, &peer, peer_ctx);
	talloc_free(l);
}

/* ------------------------------------------------------------ framing */

/* Header encoding is the shortest CBOR head; decoding is strict. */
static void test_transport_header(void **state)
{
	static const struct {
		uint64_t len;
		size_t hl;
		uint8_t b0;
	} cases[] = {
		{ 1, 1, 0x01 }, { 23, 1, 0x17 }, { 24, 2, 0x18 },
		{ 255, 2, 0x18 }, { 256, 3, 0x19 }, { 65535, 3, 0x19 },
		{ 65536, 5, 0x1a }, { 0xffffffffu, 5, 0x1a },
		{ 0x100000000ull, 9, 0x1b },
	};
	uint8_t h[SHADE_FRAME_HEADER_MAX];
	shade_error *err = NULL;
	uint64_t len;
	size_t i, hl;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(shade_frame_header_encode(cases[i].len, h),
				 cases[i].hl);
		assert_int_equal(h[0], cases[i].b0);
		assert_int_equal(shade_frame_header_decode(h, cases[i].hl - 1,
							   SIZE_MAX, &len, &hl,
							   &err),
				 SHADE_AGAIN);
		expect_ok(&err, shade_frame_header_decode(h, cases[i].hl,
							  SIZE_MAX, &len, &hl,
							  &err));
		assert_int_equal(len, cases[i].len);
		assert_int_equal(hl, cases[i].hl);
	}
	h[0] = 0x19; h[1] = 0x00; h[2] = 0x10;     /* 16 in 2 bytes */
	expect_error(&err, shade_frame_header_decode(h, 3, 100, &len, &hl, &err),
		     SHADE_ERR_PROTOCOL, "shortest form");
	h[0] = 0x18; h[1] = 0x05;
	expect_error(&err, shade_frame_header_decode(h, 2, 100, &len, &hl, &err),
		     SHADE_ERR_PROTOCOL, "shortest form");
	h[0] = 0x00;
	expect_error(&err, shade_frame_header_decode(h, 1, 100, &len, &hl, &err),
		     SHADE_ERR_PROTOCOL, "zero-length");
	h[0] = 0x41;                               /* byte string */
	expect_error(&err, shade_frame_header_decode(h, 1, 100, &len, &hl, &err),
		     SHADE_ERR_PROTOCOL, "0x41");
	h[0] = 0x1c;
	expect_error(&err, shade_frame_header_decode(h, 1, 100, &len, &hl, &err),
		     SHADE_ERR_PROTOCOL, "reserved");
	h[0] = 0x18; h[1] = 101;
	expect_error(&err, shade_frame_header_decode(h, 2, 100, &len, &hl, &err),
		     SHADE_ERR_LIMIT, "101 bytes exceeds the limit of 100");
}

/* ------------------------------------------------------------ echo tests */

static void test_transport_echo_pair(void **state)
{
	void *ctx = TCTX(state);
	void *peer_ctx = talloc_new(NULL);
	struct echo_peer peer = { 0 };
	shade_transport *a = NULL;
	shade_error *err = NULL;

	/* Both ends on the peer's context first, then move ours: each
	 * thread then works in its own talloc tree. */
	expect_ok(&err, shade_transport_pair(peer_ctx, NULL, &a, &peer.t,
					     &err));
	talloc_steal(ctx, a);
	assert_string_equal(shade_transport_address(a), "pair");
	run_echo(ctx, a, &peer, peer_ctx);
}

static void test_transport_echo_socketpair(void **state)
{
	void *ctx = TCTX(state);
	void *peer_ctx = talloc_new(NULL);
	struct echo_peer peer = { 0 };
	shade_transport *a = NULL;
	shade_error *err = NULL;
	int sv[2];

	char addr[32];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	/* Not owned: freeing the transport leaves the fd open. */
	expect_ok(&err, shade_transport_from_fds(ctx, sv[0], sv[0], 0, NULL,
						 &a, &err));
	talloc_free(a);
	assert_true(fcntl(sv[0], F_GETFD) >= 0);
	/* fd:N takes ownership. */
	snprintf(addr, sizeof(addr), "fd:%d", sv[0]);
	expect_ok(&err, shade_transport_connect(ctx, addr, NULL, &a, &err));
	assert_string_equal(shade_transport_address(a), addr);
	expect_ok(&err, shade_transport_from_fds(peer_ctx, sv[1], sv[1],
						 SHADE_TRANSPORT_OWN_FDS, NULL,
						 &peer.t, &err));
	run_echo(ctx, a, &peer, peer_ctx);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
}

static void test_transport_echo_pipes(void **state)
{
	void *ctx = TCTX(state);
	void *peer_ctx = talloc_new(NULL);
	struct echo_peer peer = { 0 };
	shade_transport *a = NULL;
	shade_error *err = NULL;
	int up[2], down[2];
	char addr[64];

	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	/* Client: reads down[0], writes up[1]; through the fd: address. */
	snprintf(addr, sizeof(addr), "fd:%d,%d", down[0], up[1]);
	expect_ok(&err, shade_transport_connect(ctx, addr, NULL, &a, &err));
	assert_string_equal(shade_transport_address(a), addr);
	expect_ok(&err, shade_transport_from_fds(peer_ctx, up[0], down[1],
						 SHADE_TRANSPORT_OWN_FDS, NULL,
						 &peer.t, &err));
	run_echo(ctx, a, &peer, peer_ctx);
}

static void test_transport_echo_unix(void **state)
{
	void *ctx = TCTX(state);
	char *dir = tu_mkdtemp(ctx);
	char *addr;

	assert_non_null(dir);
	addr = talloc_asprintf(ctx, "unix:%s/echo.sock", dir);
	echo_via_listener(ctx, addr);
	talloc_free(dir);
}

static void test_transport_echo_tcp4(void **state)
{
	echo_via_listener(TCTX(state), "tcp:127.0.0.1:0");
}

/* True when this kernel can bind ::1. */
static bool have_ipv6(void)
{
	struct sockaddr_in6 sa;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr.s6_addr[15] = 1;
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void test_transport_echo_tcp6(void **state)
{
	void *ctx = TCTX(state);
	shade_listener *l = NULL;
	shade_error *err = NULL;

	if (!have_ipv6()) {
		skip();
		return;
	}
	expect_ok(&err, shade_listener_open(ctx, "tcp:[::1]:0", NULL, &l,
					    &err));
	assert_int_equal(strncmp(shade_listener_address(l), "tcp:[::1]:", 10),
			 0);
	talloc_free(l);
	echo_via_listener(ctx, "tcp:[::1]:0");
}

static void test_transport_echo_exec_cat(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *t = NULL;
	shade_error *err = NULL;
	pid_t pid;

	expect_ok(&err, shade_transport_connect(ctx, "exec:cat", NULL, &t,
						&err));
	assert_string_equal(shade_transport_address(t), "exec:cat");
	pid = shade_transport_child_pid(t);
	assert_true(pid > 0);
	run_echo(ctx, t, NULL, NULL);
	/* Freed and reaped: the pid is no child of ours any more. */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ------------------------------------------------------------ syscalls */

/* One write per frame; one read for many buffered small frames. */
static void test_transport_syscall_counts(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_transport_stats sa, sb;
	shade_error *err = NULL;
	uint8_t msg[40], *got;
	struct iovec iov[3];
	size_t len;
	int i;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	for (i = 0; i < 100; i++) {
		tu_fill_pattern(msg, sizeof(msg), (uint32_t)i);
		expect_ok(&err, shade_transport_send(a, msg, sizeof(msg),
						     &err));
	}
	shade_transport_stats_get(a, &sa);
	assert_int_equal(sa.frames_sent, 100);
	assert_int_equal(sa.write_calls, 100);
	assert_int_equal(sa.bytes_sent, 100 * (2 + sizeof(msg)));
	for (i = 0; i < 100; i++) {
		expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000,
						     &err));
		assert_int_equal(len, sizeof(msg));
		assert_int_equal(tu_check_pattern(got, len, (uint32_t)i), len);
		talloc_free(got);
	}
	shade_transport_stats_get(b, &sb);
	assert_int_equal(sb.frames_received, 100);
	assert_true(sb.read_calls <= 2);

	/* sendv: three pieces, one frame, one write. */
	iov[0].iov_base = (void *)"abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = (void *)"defgh";
	iov[2].iov_len = 5;
	expect_ok(&err, shade_transport_sendv(a, iov, 3, &err));
	shade_transport_stats_get(a, &sa);
	assert_int_equal(sa.write_calls, 101);
	expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000, &err));
	assert_int_equal(len, 8);
	assert_memory_equal(got, "abcdefgh", 8);
	talloc_free(got);

	/* Corked frames: 50 queued, then one write for all of them (the
	 * 51st is sent behind them, in order). */
	for (i = 0; i < 50; i++) {
		tu_fill_pattern(msg, sizeof(msg), (uint32_t)i);
		expect_ok(&err, shade_transport_queue(a, msg, sizeof(msg),
						      &err));
	}
	assert_int_equal(shade_transport_out_pending(a), 50 * 42);
	tu_fill_pattern(msg, sizeof(msg), 50);
	expect_ok(&err, shade_transport_send(a, msg, sizeof(msg), &err));
	assert_int_equal(shade_transport_out_pending(a), 0);
	shade_transport_stats_get(a, &sa);
	assert_int_equal(sa.write_calls, 102);
	for (i = 0; i < 51; i++) {
		expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000,
						     &err));
		assert_int_equal(len, sizeof(msg));
		assert_int_equal(tu_check_pattern(got, len, (uint32_t)i), len);
		talloc_free(got);
	}
	expect_ok(&err, shade_transport_queue(a, msg, 1, &err));
	expect_ok(&err, shade_transport_flush(a, &err));
	expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000, &err));
	assert_int_equal(len, 1);
	talloc_free(got);
	talloc_free(a);
	talloc_free(b);
}

/* A raw writer dribbling encoded frames one byte at a time. */
struct dribble {
	int fd;               /* where to write */
	const uint8_t *bytes; /* what */
	size_t n;             /* how many */
};

static void *dribble_main(void *arg)
{
	struct dribble *d = arg;
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (tu_write_all(d->fd, d->bytes + i, 1) < 0)
			break;
		if (i % 97 == 0)
			sched_yield();
	}
	return NULL;
}

/* Partial writes (tiny socket buffers) and partial reads (bytes arriving
 * one at a time, a tiny read buffer). */
/* A transport's first read is short (1 KiB): a peer that opens with a
 * large frame, or with garbage, costs one short read before the reader
 * knows what it is; the reads after it take what the buffer holds. */
static void test_transport_first_read_short(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_transport_stats sb;
	shade_error *err = NULL;
	static uint8_t big[10000];
	uint8_t *got = NULL;
	size_t len = 0;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	tu_fill_pattern(big, sizeof(big), 7);
	expect_ok(&err, shade_transport_send(a, big, sizeof(big), &err));
	expect_ok(&err, shade_transport_send(a, big, 40, &err));
	assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len, &err),
			 SHADE_AGAIN);
	shade_transport_stats_get(b, &sb);
	assert_int_equal(sb.read_calls, 1);
	assert_int_equal(sb.bytes_received, 1024);

	expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000, &err));
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(got, big, sizeof(big));
	talloc_free(got);
	expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000, &err));
	assert_int_equal(len, 40);
	assert_memory_equal(got, big, 40);
	talloc_free(got);
	shade_transport_stats_get(b, &sb);
	assert_int_equal(sb.read_calls, 2);
}

static void test_transport_partial_io(void **state)
{
	void *ctx = TCTX(state);
	void *frames_ctx = talloc_new(ctx);
	static const size_t sizes[] = { 3, 300, 70000, 2 * MIB };
	shade_transport_opts small = { .read_buffer = 64 };
	shade_transport *a = NULL, *b = NULL;
	shade_transport_stats sa, sb;
	shade_error *err = NULL;
	uint8_t *frames[4], *got, *wire;
	struct sender snd;
	struct dribble d;
	tu_thread th;
	size_t i, len, off;
	int sv[2], sz = 4096;

	/* Partial writes and reads of big frames over tiny buffers. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
				    sizeof(sz)), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz,
				    sizeof(sz)), 0);
	expect_ok(&err, shade_transport_from_fds(ctx, sv[0], sv[0],
						 SHADE_TRANSPORT_OWN_FDS, NULL,
						 &a, &err));
	expect_ok(&err, shade_transport_from_fds(ctx, sv[1], sv[1],
						 SHADE_TRANSPORT_OWN_FDS,
						 &small, &b, &err));
	/* Blocking sockets take a whole write in the kernel; an fd that
	 * someone else made non-blocking does not: the blocking-mode send
	 * must loop over partial writes and wait for POLLOUT. */
	assert_int_equal(fcntl(sv[0], F_SETFL,
			       fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
	for (i = 0; i < 4; i++) {
		frames[i] = talloc_size(frames_ctx, sizes[i]);
		tu_fill_pattern(frames[i], sizes[i], (uint32_t)(i + 7));
	}
	snd.t = a;
	snd.frames = frames;
	snd.sizes = sizes;
	snd.count = 4;
	assert_int_equal(tu_thread_start(&th, sender_main, &snd), 0);
	for (i = 0; i < 4; i++) {
		expect_ok(&err, shade_transport_recv(b, frames_ctx, &got, &len,
						     WAIT_MS, &err));
		assert_int_equal(len, sizes[i]);
		assert_int_equal(tu_check_pattern(got, len, (uint32_t)(i + 7)),
				 len);
	}
	assert_true(tu_thread_join(&th, WAIT_MS, NULL));
	assert_int_equal(snd.st, SHADE_OK);
	shade_transport_stats_get(a, &sa);
	shade_transport_stats_get(b, &sb);
	assert_true(sa.write_calls > 4);  /* partial writes happened */
	assert_true(sb.read_calls > 4);   /* and partial reads */

	/* Bytes arriving one at a time: every header and payload split. */
	wire = talloc_size(frames_ctx, 4 * 10 + 3 + 300 + 70000 + 2 * MIB);
	off = 0;
	for (i = 0; i < 3; i++) {
		off += shade_frame_header_encode(sizes[i], wire + off);
		memcpy(wire + off, frames[i], sizes[i]);
		off += sizes[i];
	}
	d.fd = sv[0];
	d.bytes = wire;
	d.n = off;
	assert_int_equal(tu_thread_start(&th, dribble_main, &d), 0);
	for (i = 0; i < 3; i++) {
		expect_ok(&err, shade_transport_recv(b, frames_ctx, &got, &len,
						     WAIT_MS, &err));
		assert_int_equal(len, sizes[i]);
		assert_int_equal(tu_check_pattern(got, len, (uint32_t)(i + 7)),
				 len);
	}
	assert_true(tu_thread_join(&th, WAIT_MS, NULL));
	talloc_free(frames_ctx);
	talloc_free(a);
	talloc_free(b);
}

/* xorshift32: deterministic pseudo-random numbers for the split tests. */
static uint32_t rng_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* A raw writer sending a buffer in chunks of random size. */
struct chunker {
	int fd;               /* where to write */
	const uint8_t *bytes; /* what */
	size_t n;             /* how many */
	uint32_t seed;        /* chunk sizes */
};

static void *chunker_main(void *arg)
{
	struct chunker *c = arg;
	size_t off = 0, k;

	while (off < c->n) {
		k = 1 + rng_next(&c->seed) % 700;
		if (k > c->n - off)
			k = c->n - off;
		if (tu_write_all(c->fd, c->bytes + off, k) < 0)
			break;
		off += k;
	}
	return NULL;
}

/* Streams of random frames cut at random places come out whole, through
 * both the small-frame buffer and the big-frame path (a 256-byte read
 * buffer); random garbage ends in a protocol, limit or lost-connection
 * error, never a crash. */
static void test_transport_random_splits(void **state)
{
	void *ctx = TCTX(state);
	shade_transport_opts o = { .read_buffer = 256, .max_frame = 5000 };
	int rounds = tu_under_valgrind() ? 10 : 60;
	uint32_t seed = 12345;
	shade_error *err = NULL;
	int r;

	for (r = 0; r < rounds; r++) {
		void *rc = talloc_new(ctx);
		shade_transport *a = NULL, *b = NULL;
		size_t sizes[40], i, off = 0, len;
		size_t nframes = 1 + rng_next(&seed) % 40;
		uint32_t base = (uint32_t)r * 64;
		uint8_t *wire = talloc_size(rc, 40 * (5 + 3000)), *got;
		struct chunker ch;
		tu_thread th;

		for (i = 0; i < nframes; i++) {
			sizes[i] = 1 + rng_next(&seed) % 3000;
			off += shade_frame_header_encode(sizes[i], wire + off);
			tu_fill_pattern(wire + off, sizes[i],
					base + (uint32_t)i);
			off += sizes[i];
		}
		expect_ok(&err, shade_transport_pair(rc, &o, &a, &b, &err));
		if (r % 2)
			expect_ok(&err, shade_transport_set_nonblocking(b, true,
									&err));
		ch.fd = shade_transport_fd(a);
		ch.bytes = wire;
		ch.n = off;
		ch.seed = rng_next(&seed) | 1;
		assert_int_equal(tu_thread_start(&th, chunker_main, &ch), 0);
		for (i = 0; i < nframes; i++) {
			expect_ok(&err, shade_transport_recv(b, rc, &got, &len,
							     WAIT_MS, &err));
			assert_int_equal(len, sizes[i]);
			assert_int_equal(tu_check_pattern(got, len,
							  base + (uint32_t)i),
					 len);
		}
		assert_true(tu_thread_join(&th, WAIT_MS, NULL));

		/* Garbage: the reader fails cleanly once the writer is
		 * gone, whatever the bytes. */
		for (i = 0; i < 2000; i++)
			wire[i] = (uint8_t)rng_next(&seed);
		ch.n = 2000;
		assert_int_equal(tu_thread_start(&th, chunker_main, &ch), 0);
		assert_true(tu_thread_join(&th, WAIT_MS, NULL));
		shade_transport_close(a);
		for (i = 0; i < 3000; i++) {
			shade_status st = shade_transport_recv(b, rc, &got,
								&len, WAIT_MS,
								&err);
			if (st == SHADE_OK)
				continue;
			assert_true(st == SHADE_ERR_PROTOCOL ||
				    st == SHADE_ERR_LIMIT ||
				    st == SHADE_ERR_CONNECTION_LOST);
			assert_non_null(err);
			shade_error_clear(&err);
			break;
		}
		assert_true(i < 3000);
		talloc_free(rc);
	}
}

/* ------------------------------------------------------------ broken peers */

/* What a dying child writes before it exits. */
struct dying {
	int fd;               /* its end */
	const uint8_t *bytes; /* header and part of a payload */
	size_t n;             /* how many bytes */
	bool by_signal;       /* die by SIGKILL instead of exiting */
};

static int dying_main(void *arg)
{
	struct dying *d = arg;

	if (tu_write_all(d->fd, d->bytes, d->n) < 0)
		return 2;
	if (d->by_signal)  /* through a shell, so valgrind does not see it */
		execl("/bin/sh", "sh", "-c", "kill -9 $$", (char *)NULL);
	return 0;
}

/* Fork a child that writes `n` bytes of `bytes` to a socketpair and dies;
 * receive on the other end and check the error. */
static void die_mid_frame(void *ctx, const uint8_t *bytes, size_t n,
			  bool by_signal, const char *needle)
{
	shade_transport *t = NULL;
	shade_error *err = NULL;
	struct dying d;
	uint8_t *got;
	size_t len;
	pid_t pid;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	d.fd = sv[1];
	d.bytes = bytes;
	d.n = n;
	d.by_signal = by_signal;
	pid = tu_fork(dying_main, &d);
	assert_true(pid > 0);
	close(sv[1]);
	expect_ok(&err, shade_transport_from_fds(ctx, sv[0], sv[0],
						 SHADE_TRANSPORT_OWN_FDS, NULL,
						 &t, &err));
	expect_error(&err, shade_transport_recv(t, ctx, &got, &len, WAIT_MS,
						&err),
		     SHADE_ERR_CONNECTION_LOST, needle);
	/* Sticky: the next call says the same. */
	expect_error(&err, shade_transport_recv(t, ctx, &got, &len, WAIT_MS,
						&err),
		     SHADE_ERR_CONNECTION_LOST, needle);
	assert_true(tu_wait_child(pid, WAIT_MS, NULL));
	talloc_free(t);
}

static void test_transport_peer_dies_mid_frame(void **state)
{
	void *ctx = TCTX(state);
	uint8_t *buf = talloc_zero_size(ctx, 5 + MIB);
	size_t hl;

	/* Small frame: 1000 promised, 500 sent, clean exit. */
	hl = shade_frame_header_encode(1000, buf);
	die_mid_frame(ctx, buf, hl + 500, false,
		      "peer closed mid-frame: 500 of 1000 payload bytes "
		      "missing");
	/* Big frame (past the read buffer): 1 MiB promised, half sent,
	 * killed by a signal. */
	hl = shade_frame_header_encode(MIB, buf);
	die_mid_frame(ctx, buf, hl + MIB / 2, true,
		      "peer closed mid-frame: 524288 of 1048576 payload bytes "
		      "missing");
	/* Header cut short. */
	buf[0] = 0x1a;
	die_mid_frame(ctx, buf, 3, false, "frame header incomplete (3 byte");
	/* Nothing at all: a clean close between frames. */
	die_mid_frame(ctx, buf, 0, false, "peer closed");
	talloc_free(buf);
}

/* Write raw bytes into one end of a pair and receive on the other. */
static shade_status recv_raw(void *ctx, const uint8_t *bytes, size_t n,
			     size_t max_frame, shade_error **err)
{
	shade_transport_opts o = { .max_frame = max_frame };
	shade_transport *a = NULL, *b = NULL;
	uint8_t *got = NULL;
	size_t len;
	shade_status st;

	expect_ok(err, shade_transport_pair(ctx, &o, &a, &b, err));
	assert_int_equal(tu_write_all(shade_transport_fd(a), bytes, n), 0);
	st = shade_transport_recv(b, ctx, &got, &len, 5000, err);
	assert_null(got);
	talloc_free(a);
	talloc_free(b);
	return st;
}

static void test_transport_over_limit(void **state)
{
	void *ctx = TCTX(state);
	static const uint8_t huge[] = { 0x1b, 0x40, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t four_k[] = { 0x19, 0x10, 0x00, 'x' };
	shade_transport *a = NULL, *b = NULL;
	shade_error *err = NULL;
	uint8_t *buf;

	/* 2^62 bytes announced: allocating would fail with NOMEM (or trip
	 * the sanitizer); the header is refused first. */
	expect_error(&err, recv_raw(ctx, huge, sizeof(huge), 0, &err),
		     SHADE_ERR_LIMIT,
		     "frame of 4611686018427387904 bytes exceeds the limit of "
		     "67108864 bytes");
	expect_error(&err, recv_raw(ctx, four_k, sizeof(four_k), 1000, &err),
		     SHADE_ERR_LIMIT, "4096 bytes exceeds the limit of 1000");

	/* Sending over the limit is refused locally, the transport stays
	 * usable. */
	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	shade_transport_set_max_frame(a, 100);
	assert_int_equal(shade_transport_max_frame(a), 100);
	buf = talloc_zero_size(ctx, 101);
	expect_error(&err, shade_transport_send(a, buf, 101, &err),
		     SHADE_ERR_LIMIT, "101 bytes exceeds the limit of 100");
	expect_ok(&err, shade_transport_send(a, buf, 100, &err));
	shade_transport_set_max_frame(a, 0);
	assert_int_equal(shade_transport_max_frame(a),
			 SHADE_TRANSPORT_DEFAULT_MAX_FRAME);
	talloc_free(buf);
	talloc_free(a);
	talloc_free(b);
}

static void test_transport_zero_length(void **state)
{
	void *ctx = TCTX(state);
	static const uint8_t zero[] = { 0x00, 0x01, 'x' };
	static const uint8_t text[] = { 0x61, 'x' };
	shade_transport *a = NULL, *b = NULL;
	shade_error *err = NULL;

	expect_error(&err, recv_raw(ctx, zero, sizeof(zero), 0, &err),
		     SHADE_ERR_PROTOCOL, "zero-length frame");
	expect_error(&err, recv_raw(ctx, text, sizeof(text), 0, &err),
		     SHADE_ERR_PROTOCOL, "not a CBOR unsigned integer");
	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	expect_error(&err, shade_transport_send(a, "", 0, &err),
		     SHADE_ERR_INVALID, "empty frame");
	talloc_free(a);
	talloc_free(b);
}

/* A pipe whose reader is gone: no SIGPIPE death, a clear error. */
static void test_transport_sigpipe(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *t = NULL;
	shade_error *err = NULL;
	sigset_t pending;
	int p[2], q[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(q, O_CLOEXEC), 0);
	close(p[0]);
	expect_ok(&err, shade_transport_from_fds(ctx, q[0], p[1],
						 SHADE_TRANSPORT_OWN_FDS, NULL,
						 &t, &err));
	expect_error(&err, shade_transport_send(t, "hello", 5, &err),
		     SHADE_ERR_CONNECTION_LOST, "peer closed");
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	talloc_free(t);
	close(q[1]);
}

/* ------------------------------------------------------------ non-blocking */

/* Flush a's queued output (non-blocking) on POLLOUT while b receives
 * until `sent` frames arrived or WAIT_MS passed; frame i must be
 * len_of(i) bytes of tu_fill_pattern(seed i).  Returns frames received. */
static size_t drain_queue(void *ctx, shade_transport *a, shade_transport *b,
			  size_t sent, size_t (*len_of)(size_t))
{
	shade_error *err = NULL;
	size_t received = 0, len;
	int64_t deadline;
	shade_status st;
	uint8_t *got;

	deadline = tu_now_ms() + WAIT_MS;
	while (received < sent && tu_now_ms() < deadline) {
		st = shade_transport_flush(a, &err);
		assert_true(st == SHADE_OK || st == SHADE_AGAIN);
		st = shade_transport_try_recv(b, ctx, &got, &len, &err);
		if (st == SHADE_AGAIN) {
			struct pollfd p[2] = {
				{ .fd = shade_transport_fd(b), .events = POLLIN },
				{ .fd = shade_transport_write_fd(a),
				  .events = shade_transport_wants_write(a)
					    ? POLLOUT : 0 },
			};

			assert_true(poll(p, 2, 1000) > 0);
			continue;
		}
		expect_ok(&err, st);
		assert_int_equal(len, len_of(received));
		assert_int_equal(tu_check_pattern(got, len,
						  (uint32_t)received), len);
		talloc_free(got);
		received++;
	}
	return received;
}

/* Frame sizes of test_transport_output_queue: all 64 KiB. */
static size_t queue_len(size_t i)
{
	(void)i;
	return 65536;
}

/* Frame sizes of test_transport_small_queue: around the header forms
 * and the single-send() limit. */
static size_t small_len(size_t i)
{
	static const size_t sizes[] = { 1, 23, 24, 255, 256, 503, 504 };

	return sizes[i % 7];
}

/* 1 when fd polls readable within timeout_ms, else 0. */
static int poll_in(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0 ? 1 : 0;
}

static void test_transport_try_recv_half_frame(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_error *err = NULL;
	uint8_t wire[3 + 1000], *got = NULL;
	size_t len, i;
	int fd;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	expect_ok(&err, shade_transport_set_nonblocking(b, true, &err));
	fd = shade_transport_fd(a);
	assert_int_equal(shade_frame_header_encode(1000, wire), 3);
	tu_fill_pattern(wire + 3, 1000, 42);

	/* Nothing yet. */
	assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len, &err),
			 SHADE_AGAIN);
	/* Half a frame: AGAIN, and nothing ready. */
	assert_int_equal(tu_write_all(fd, wire, 503), 0);
	assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len, &err),
			 SHADE_AGAIN);
	assert_false(shade_transport_has_frame(b));
	assert_null(got);
	/* The rest arrives: the frame completes. */
	assert_int_equal(tu_write_all(fd, wire + 503, 500), 0);
	assert_int_equal(tu_write_all(fd, wire, 503), 0);  /* next, half */
	assert_int_equal(poll_in(shade_transport_fd(b), WAIT_MS), 1);
	expect_ok(&err, shade_transport_try_recv(b, ctx, &got, &len, &err));
	assert_int_equal(len, 1000);
	assert_int_equal(tu_check_pattern(got, len, 42), len);
	talloc_free(got);
	assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len, &err),
			 SHADE_AGAIN);

	/* Several whole frames in one read: has_frame tells they are
	 * there though the fd is no longer readable. */
	assert_int_equal(tu_write_all(fd, wire + 503, 500), 0);
	for (i = 0; i < 3; i++)
		expect_ok(&err, shade_transport_send(a, "xyz", 3, &err));
	expect_ok(&err, shade_transport_try_recv(b, ctx, &got, &len, &err));
	assert_int_equal(len, 1000);
	talloc_free(got);
	for (i = 0; i < 3; i++) {
		assert_true(shade_transport_has_frame(b));
		expect_ok(&err, shade_transport_try_recv(b, ctx, &got, &len,
							 &err));
		assert_int_equal(len, 3);
		assert_memory_equal(got, "xyz", 3);
		talloc_free(got);
	}
	assert_false(shade_transport_has_frame(b));
	assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len, &err),
			 SHADE_AGAIN);
	assert_null(err);

	/* A big frame, half sent, over non-blocking reads. */
	{
		uint8_t *big = talloc_size(ctx, 5 + 300000);
		size_t hl = shade_frame_header_encode(300000, big);

		tu_fill_pattern(big + hl, 300000, 9);
		assert_int_equal(tu_write_all(fd, big, hl + 150000), 0);
		for (i = 0; i < 200; i++)
			assert_int_equal(shade_transport_try_recv(b, ctx, &got,
								  &len, &err),
					 SHADE_AGAIN);
		assert_int_equal(tu_write_all(fd, big + hl + 150000, 150000),
				 0);
		for (i = 0; i < 1000; i++) {
			shade_status st = shade_transport_try_recv(b, ctx, &got,
								   &len, &err);
			if (st == SHADE_OK)
				break;
			assert_int_equal(st, SHADE_AGAIN);
		}
		assert_true(i < 1000);
		assert_int_equal(len, 300000);
		assert_int_equal(tu_check_pattern(got, len, 9), len);
		talloc_free(got);
		talloc_free(big);
	}
	talloc_free(a);
	talloc_free(b);
}

/* A read that found nothing (EAGAIN) says the fd is drained, whatever
 * the read before it took: a large frame's last read asks exactly for
 * the bytes it lacks and gets them all, which alone says nothing.  A
 * reader that believed more was there read again, or woke another
 * worker to (conn/pool.c), for nothing. */
static void test_transport_drained_after_eagain(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_error *err = NULL;
	uint8_t *big, *got = NULL;
	size_t hl, len = 0, half = 100000, i;
	shade_status st = SHADE_AGAIN;
	int fd;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	expect_ok(&err, shade_transport_set_nonblocking(b, true, &err));
	fd = shade_transport_fd(a);
	big = talloc_size(ctx, 5 + 2 * half);
	hl = shade_frame_header_encode(2 * half, big);
	tu_fill_pattern(big + hl, 2 * half, 5);
	/* In two halves, each read whole by the receiver before the next
	 * comes: the last read takes exactly what the frame lacks. */
	assert_int_equal(tu_write_all(fd, big, hl + half), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len,
							  &err),
				 SHADE_AGAIN);
	assert_true(transport_drained(b));
	assert_int_equal(tu_write_all(fd, big + hl + half, half), 0);
	for (i = 0; i < 1000 && st == SHADE_AGAIN; i++) {
		assert_int_equal(poll_in(shade_transport_fd(b), WAIT_MS), 1);
		st = shade_transport_try_recv(b, ctx, &got, &len, &err);
	}
	expect_ok(&err, st);
	assert_int_equal(len, 2 * half);
	assert_int_equal(tu_check_pattern(got, len, 5), len);
	talloc_free(got);
	/* Nothing more: the next read finds nothing, and says so. */
	assert_int_equal(shade_transport_try_recv(b, ctx, &got, &len, &err),
			 SHADE_AGAIN);
	assert_true(transport_drained(b));
	talloc_free(big);
	talloc_free(a);
	talloc_free(b);
}

static void test_transport_output_queue(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_error *err = NULL;
	uint8_t *frame, *got;
	size_t len, sent = 0, received = 0, prev = 0;
	int sz = 4096;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	assert_int_equal(setsockopt(shade_transport_fd(a), SOL_SOCKET,
				    SO_SNDBUF, &sz, sizeof(sz)), 0);
	expect_ok(&err, shade_transport_set_nonblocking(a, true, &err));
	frame = talloc_size(ctx, 65536);
	/* The peer does not read: sends never block, the queue grows. */
	assert_false(shade_transport_wants_write(a));
	while (sent < 64) {
		tu_fill_pattern(frame, 65536, (uint32_t)sent);
		expect_ok(&err, shade_transport_send(a, frame, 65536, &err));
		sent++;
		assert_true(shade_transport_out_pending(a) >= prev);
		prev = shade_transport_out_pending(a);
	}
	assert_true(shade_transport_out_pending(a) > 32 * 65536);
	assert_true(shade_transport_wants_write(a));
	assert_int_equal(shade_transport_write_fd(a), shade_transport_fd(a));
	assert_int_equal(shade_transport_flush(a, &err), SHADE_AGAIN);

	/* Now the peer reads; flushing on POLLOUT drains the queue. */
	received = drain_queue(ctx, a, b, sent, queue_len);
	assert_int_equal(received, sent);
	assert_int_equal(shade_transport_out_pending(a), 0);
	assert_false(shade_transport_wants_write(a));
	expect_ok(&err, shade_transport_flush(a, &err));
	/* Back to blocking mode: sends complete in place again. */
	expect_ok(&err, shade_transport_set_nonblocking(a, false, &err));
	expect_ok(&err, shade_transport_send(a, "z", 1, &err));
	expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000, &err));
	talloc_free(got);
	talloc_free(frame);
	talloc_free(a);
	talloc_free(b);
}

/* Small frames from a to b (connected sockets), a non-blocking and its
 * peer not reading: the single-send() path queues what the socket refuses
 * (whole frames, or the rest of a frame split by TCP), later frames queue
 * behind, and all arrive in order with the counters matching the bytes on
 * the wire.  Frees a and b. */
static void small_queue(void *ctx, shade_transport *a, shade_transport *b)
{
	shade_transport_stats sa, sb;
	shade_error *err = NULL;
	uint8_t frame[600];
	size_t sent = 0, received = 0, wire = 0, extra = 0, sz;
	int buf = 4096;
	struct iovec iov;

	assert_int_equal(setsockopt(shade_transport_fd(a), SOL_SOCKET,
				    SO_SNDBUF, &buf, sizeof(buf)), 0);
	expect_ok(&err, shade_transport_set_nonblocking(a, true, &err));
	/* Until the socket refuses bytes, then 50 frames more. */
	while (extra < 50 && sent < 100000) {
		sz = small_len(sent);
		tu_fill_pattern(frame, sz, (uint32_t)sent);
		if (sent % 2) {
			expect_ok(&err, shade_transport_send(a, frame, sz,
							     &err));
		} else {
			iov.iov_base = frame;
			iov.iov_len = sz;
			expect_ok(&err, shade_transport_sendv(a, &iov, 1,
							      &err));
		}
		wire += sz + (sz < 24 ? 1 : sz <= 0xff ? 2 : 3);
		sent++;
		if (shade_transport_wants_write(a))
			extra++;
	}
	assert_int_equal(extra, 50);
	received = drain_queue(ctx, a, b, sent, small_len);
	assert_int_equal(received, sent);
	assert_false(shade_transport_wants_write(a));
	shade_transport_stats_get(a, &sa);
	shade_transport_stats_get(b, &sb);
	assert_int_equal(sa.frames_sent, sent);
	assert_int_equal(sa.bytes_sent, wire);
	assert_int_equal(sb.frames_received, sent);
	assert_int_equal(sb.bytes_received, wire);
	talloc_free(a);
	talloc_free(b);
}

/* small_queue() over a socketpair and over TCP (which splits frames). */
static void test_transport_small_queue(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_listener *l = NULL;
	shade_error *err = NULL;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	small_queue(ctx, a, b);
	expect_ok(&err, shade_listener_open(ctx, "tcp:127.0.0.1:0", NULL, &l,
					    &err));
	expect_ok(&err, shade_transport_connect(ctx, shade_listener_address(l),
						NULL, &a, &err));
	expect_ok(&err, shade_listener_accept(l, ctx, WAIT_MS, &b, &err));
	small_queue(ctx, a, b);
	talloc_free(l);
}

/* recv timeouts: 0 does not wait, > 0 waits about that long. */
static void test_transport_recv_timeout(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	shade_error *err = NULL;
	uint8_t *got;
	size_t len;
	int64_t t0, dt;

	expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b, &err));
	assert_int_equal(shade_transport_recv(b, ctx, &got, &len, 0, &err),
			 SHADE_AGAIN);
	t0 = tu_now_ms();
	expect_error(&err, shade_transport_recv(b, ctx, &got, &len, 60, &err),
		     SHADE_ERR_TIMEOUT, "no frame within 60 ms");
	dt = tu_now_ms() - t0;
	assert_true(dt >= 59 && dt < 5000);
	/* A timeout mid-frame keeps the bytes read so far. */
	assert_int_equal(tu_write_all(shade_transport_fd(a), "\x03" "ab", 3),
			 0);
	expect_error(&err, shade_transport_recv(b, ctx, &got, &len, 20, &err),
		     SHADE_ERR_TIMEOUT, "no frame");
	assert_int_equal(tu_write_all(shade_transport_fd(a), "c", 1), 0);
	expect_ok(&err, shade_transport_recv(b, ctx, &got, &len, 5000, &err));
	assert_int_equal(len, 3);
	assert_memory_equal(got, "abc", 3);
	talloc_free(got);
	/* Closed: later calls say so. */
	shade_transport_close(a);
	shade_transport_close(a);
	assert_int_equal(shade_transport_fd(a), -1);
	expect_error(&err, shade_transport_send(a, "x", 1, &err),
		     SHADE_ERR_CONNECTION_LOST, "transport closed");
	expect_error(&err, shade_transport_recv(b, ctx, &got, &len, 5000,
						&err),
		     SHADE_ERR_CONNECTION_LOST, "pair: peer closed");
	talloc_free(a);
	talloc_free(b);
}

/* A receiver blocked in recv. */
struct blocked {
	shade_transport *t;   /* transport it waits on */
	shade_status st;      /* what recv returned */
	char message[256];    /* its message */
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	shade_error *err = NULL;
	void *tmp = talloc_new(NULL);
	uint8_t *got;
	size_t len;

	b->st = shade_transport_recv(b->t, tmp, &got, &len, WAIT_MS, &err);
	snprintf(b->message, sizeof(b->message), "%s",
		 err ? err->message : "");
	shade_error_free(err);
	talloc_free(tmp);
	return NULL;
}

/* shutdown wakes a thread blocked in recv, on a socket and on exec:. */
static void test_transport_shutdown(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *a = NULL, *b = NULL;
	struct blocked bl = { 0 };
	shade_error *err = NULL;
	tu_thread th;
	int i, p[2];

	for (i = 0; i < 2; i++) {
		if (i == 0)
			expect_ok(&err, shade_transport_pair(ctx, NULL, &a, &b,
							     &err));
		else
			expect_ok(&err, shade_transport_connect(ctx,
								"exec:sleep 30",
								NULL, &b, &err));
		bl.t = b;
		assert_int_equal(tu_thread_start(&th, blocked_main, &bl), 0);
		usleep(20000);
		expect_ok(&err, shade_transport_shutdown(b, &err));
		assert_true(tu_thread_join(&th, 5000, NULL));
		assert_int_equal(bl.st, SHADE_ERR_CONNECTION_LOST);
		assert_non_null(strstr(bl.message, "transport shut down"));
		expect_error(&err, shade_transport_send(b, "x", 1, &err),
			     SHADE_ERR_CONNECTION_LOST, "transport shut down");
		talloc_free(b);
		TALLOC_FREE(a);
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	expect_ok(&err, shade_transport_from_fds(ctx, p[0], p[1],
						 SHADE_TRANSPORT_OWN_FDS, NULL,
						 &b, &err));
	expect_error(&err, shade_transport_shutdown(b, &err),
		     SHADE_ERR_UNIMPLEMENTED, "pipes cannot be shut down");
	talloc_free(b);
}

/* ------------------------------------------------------------ exec */

static void test_transport_exec_early_exit(void **state)
{
	void *ctx = TCTX(state);
	shade_transport *t = NULL;
	shade_error *err = NULL;
	uint8_t *got;
	size_t len;
	pid_t pid;

	expect_ok(&err, shade_transport_connect(ctx,
						"exec:/bin/sh -c \"exit 3\"",
						NULL, &t, &err));
	assert_string_equal(shade_transport_address(t),
			    "exec:/bin/sh -c exit 3");
	pid = shade_transport_child_pid(t);
	expect_error(&err, shade_transport_recv(t, ctx, &got, &len, WAIT_MS,
						&err),
		     SHADE_ERR_EXEC, "exited with status 3");
	/* Sending to it fails the same way (sticky), without SIGPIPE. */
	expect_error(&err, shade_transport_send(t, "x", 1, &err),
		     SHADE_ERR_EXEC, "exited with status 3");
	talloc_free(t);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);

	/* Killed by a signal, mid-frame: the frame's shortfall and the
	 * signal are both in the message. */
	expect_ok(&err, shade_transport_connect(ctx,
		"exec:/bin/sh -c 'printf \"\\031\\003\\350\"; "
		"head -c 500 /dev/zero; kill -9 $$'", NULL, &t, &err));
	expect_error(&err, shade_transport_recv(t, ctx, &got, &len, WAIT_MS,
						&err),
		     SHADE_ERR_EXEC, "500 of 1000 payload bytes missing");
	expect_error(&err, shade_transport_recv(t, ctx, &got, &len, WAIT_MS,
						&err),
		     SHADE_ERR_EXEC, "killed by signal 9");
	talloc_free(t);

	/* A send to a child that has exited: EPIPE, then the status. */
	expect_ok(&err, shade_transport_connect(ctx, "exec:true", NULL, &t,
						&err));
	{
		uint8_t *big = talloc_zero_size(ctx, MIB);
		shade_status st = shade_transport_send(t, big, MIB, &err);

		expect_error(&err, st, SHADE_ERR_EXEC,
			     "exited with status 0");
		talloc_free(big);
	}
	talloc_free(t);

	/* A program that does not exist. */
	expect_error(&err, shade_transport_connect(ctx,
						   "exec:/nonexistent/prog x",
						   NULL, &t, &err),
		     SHADE_ERR_EXEC, "cannot run '/nonexistent/prog'");
}

/* Closing stops a child that ignores its stdin, within the grace. */
static void test_transport_exec_close_kills(void **state)
{
	void *ctx = TCTX(state);
	shade_transport_opts o = { .exec_grace_ms = 50 };
	const char *argv[] = { "sleep", "30", NULL };
	shade_transport *t = NULL;
	shade_error *err = NULL;
	int64_t t0;
	pid_t pid;

	expect_ok(&err, shade_transport_exec(ctx, argv, &o, &t, &err));
	pid = shade_transport_child_pid(t);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), 0);
	t0 = tu_now_ms();
	talloc_free(t);
	assert_true(tu_now_ms() - t0 < 5000);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* ------------------------------------------------------------ addresses */

static void test_transport_bad_addresses(void **state)
{
	void *ctx = TCTX(state);
	static const struct {
		const char *address;
		const char *needle;
	} cases[] = {
		{ "tcp:nohost", "expected tcp:host:port" },
		{ "tcp:nohost.invalid:80", "cannot resolve host 'nohost.invalid'" },
		{ "tcp:127.0.0.1:99999", "bad port '99999'" },
		{ "tcp:127.0.0.1:", "bad port ''" },
		{ "tcp:127.0.0.1:0", "cannot connect to port 0" },
		{ "tcp::80", "missing host" },
		{ "tcp:::1:80", "in brackets" },
		{ "tcp:[::1", "missing ']'" },
		{ "bogus:x", "unknown transport 'bogus'" },
		{ "noscheme", "is not an address" },
		{ "unix:", "empty socket path" },
		{ "exec:", "empty command" },
		{ "exec:   ", "empty command" },
		{ "exec:sh -c 'oops", "unterminated quote" },
		{ "fd:abc", "expected fd:N or fd:R,W" },
		{ "fd:3,", "expected fd:N or fd:R,W" },
		{ "fd:987654", "not an open file descriptor" },
	};
	shade_transport *t = NULL;
	shade_listener *l = NULL;
	shade_error *err = NULL;
	char *longpath;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_error(&err, shade_transport_connect(ctx,
							   cases[i].address,
							   NULL, &t, &err),
			     SHADE_ERR_INVALID, cases[i].needle);
		assert_null(t);
	}
	longpath = talloc_asprintf(ctx, "unix:/tmp/%0200d", 7);
	expect_error(&err, shade_transport_connect(ctx, longpath, NULL, &t,
						   &err),
		     SHADE_ERR_INVALID, "socket path is too long (205 bytes, "
					"at most 107)");
	expect_error(&err, shade_listener_open(ctx, longpath, NULL, &l, &err),
		     SHADE_ERR_INVALID, "too long");
	expect_error(&err, shade_listener_open(ctx, "exec:cat", NULL, &l,
					       &err),
		     SHADE_ERR_INVALID, "can only listen on unix:, tcp:, tls: or fd:");
	expect_error(&err, shade_transport_connect(ctx, NULL, NULL, &t, &err),
		     SHADE_ERR_INVALID, "NULL address");
	talloc_free(longpath);
}

static void test_transport_listeners(void **state)
{
	void *ctx = TCTX(state);
	shade_listener *l = NULL, *l2 = NULL;
	shade_transport *c = NULL, *s = NULL;
	shade_error *err = NULL;
	char *dir = tu_mkdtemp(ctx), *addr, *path, *closed;
	struct stat st;
	unsigned port = 0;
	int fd;

	/* tcp port 0: the actual port is reported and reachable. */
	expect_ok(&err, shade_listener_open(ctx, "tcp:127.0.0.1:0", NULL, &l,
					    &err));
	assert_int_equal(sscanf(shade_listener_address(l), "tcp:127.0.0.1:%u",
				&port), 1);
	assert_true(port > 0 && port < 65536);
	assert_true(shade_listener_fd(l) >= 0);
	assert_int_equal(shade_listener_accept(l, ctx, 0, &s, &err),
			 SHADE_AGAIN);
	expect_error(&err, shade_listener_accept(l, ctx, 30, &s, &err),
		     SHADE_ERR_TIMEOUT, "no connection within 30 ms");
	expect_ok(&err, shade_transport_connect(ctx, shade_listener_address(l),
						NULL, &c, &err));
	assert_string_equal(shade_transport_address(c),
			    shade_listener_address(l));
	expect_ok(&err, shade_listener_accept(l, ctx, WAIT_MS, &s, &err));
	assert_int_equal(strncmp(shade_transport_address(s), "tcp:127.0.0.1:",
				 14), 0);
	expect_ok(&err, shade_transport_send(c, "ping", 4, &err));
	{
		uint8_t *got;
		size_t len;

		expect_ok(&err, shade_transport_recv(s, ctx, &got, &len, 5000,
						     &err));
		assert_int_equal(len, 4);
		talloc_free(got);
	}
	/* Port in use. */
	expect_error(&err, shade_listener_open(ctx, shade_listener_address(l),
					       NULL, &l2, &err),
		     SHADE_ERR_INVALID, "address in use");
	closed = talloc_strdup(ctx, shade_listener_address(l));
	talloc_free(c);
	talloc_free(s);
	talloc_free(l);
	/* Nobody listens there any more. */
	expect_error(&err, shade_transport_connect(ctx, closed, NULL, &c,
						   &err),
		     SHADE_ERR_CONNECTION_LOST, "Connection refused");
	talloc_free(closed);

	/* unix: the path exists while listening and is gone after. */
	path = talloc_asprintf(ctx, "%s/l.sock", dir);
	addr = talloc_asprintf(ctx, "unix:%s", path);
	expect_ok(&err, shade_listener_open(ctx, addr, NULL, &l, &err));
	assert_string_equal(shade_listener_address(l), addr);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	expect_error(&err, shade_listener_open(ctx, addr, NULL, &l2, &err),
		     SHADE_ERR_INVALID, "address in use");
	talloc_free(l);
	assert_int_equal(stat(path, &st), -1);
	expect_error(&err, shade_transport_connect(ctx, addr, NULL, &c, &err),
		     SHADE_ERR_CONNECTION_LOST, "No such file");

	/* A stale socket file (no listener) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun,
				      sizeof(sun)), 0);
	}
	close(fd);
	expect_ok(&err, shade_listener_open(ctx, addr, NULL, &l, &err));
	expect_ok(&err, shade_transport_connect(ctx, addr, NULL, &c, &err));
	expect_ok(&err, shade_listener_accept(l, ctx, WAIT_MS, &s, &err));
	assert_string_equal(shade_transport_address(s), addr);
	talloc_free(c);
	talloc_free(s);
	talloc_free(l);

	/* Abstract names. */
	addr = talloc_asprintf(ctx, "unix:@shade-test-%d", (int)getpid());
	expect_ok(&err, shade_listener_open(ctx, addr, NULL, &l, &err));
	expect_ok(&err, shade_transport_connect(ctx, addr, NULL, &c, &err));
	expect_ok(&err, shade_listener_accept(l, ctx, WAIT_MS, &s, &err));
	talloc_free(c);
	talloc_free(s);
	talloc_free(l);
	talloc_free(dir);
}

/* ------------------------------------------------------------ user ops */

/* A user channel: an in-memory queue of frames (one thread). */
struct memq {
	uint8_t *frames[8];   /* queued frames */
	size_t lens[8];       /* their sizes */
	size_t n;             /* how many are queued */
	int closes;           /* close() calls seen */
	bool give_empty;      /* make recv return an empty frame */
};

static shade_status memq_send(void *impl, const uint8_t *frame, size_t len,
			      shade_error **err)
{
	struct memq *q = impl;

	if (q->n == 8)
		return shade_error_set(err, SHADE_ERR_OVERLOADED, "queue full");
	q->frames[q->n] = talloc_memdup(q, frame, len);
	q->lens[q->n++] = len;
	return SHADE_OK;
}

static shade_status memq_recv(void *impl, void *mem_ctx, uint8_t **frame,
			      size_t *len, int timeout_ms, shade_error **err)
{
	struct memq *q = impl;

	if (q->give_empty) {
		*frame = talloc_size(mem_ctx, 1);
		*len = 0;
		return SHADE_OK;
	}
	if (q->n == 0)
		return timeout_ms == 0 ? SHADE_AGAIN
			: shade_error_set(err, SHADE_ERR_TIMEOUT, "empty");
	*frame = talloc_steal(mem_ctx, q->frames[0]);
	*len = q->lens[0];
	memmove(q->frames, q->frames + 1, (q->n - 1) * sizeof(q->frames[0]));
	memmove(q->lens, q->lens + 1, (q->n - 1) * sizeof(q->lens[0]));
	q->n--;
	return SHADE_OK;
}

static void memq_close(void *impl)
{
	((struct memq *)impl)->closes++;
}

static const shade_transport_ops memq_ops = {
	.name = "memq",
	.send = memq_send,
	.recv = memq_recv,
	.close = memq_close,
	.fd = NULL,
};

static void test_transport_user_ops(void **state)
{
	void *ctx = TCTX(state);
	struct memq *q = talloc_zero(ctx, struct memq);
	shade_transport *t = NULL;
	shade_transport_stats s;
	shade_error *err = NULL;
	struct iovec iov[2];
	uint8_t *got;
	size_t len;

	expect_error(&err, shade_transport_new(ctx, NULL, q, NULL, &t, &err),
		     SHADE_ERR_INVALID, "need send and recv");
	expect_ok(&err, shade_transport_new(ctx, &memq_ops, q, NULL, &t, &err));
	assert_string_equal(shade_transport_address(t), "memq");
	assert_int_equal(shade_transport_fd(t), -1);
	assert_int_equal(shade_transport_child_pid(t), -1);
	expect_ok(&err, shade_transport_send(t, "hello", 5, &err));
	iov[0].iov_base = (void *)"wor";
	iov[0].iov_len = 3;
	iov[1].iov_base = (void *)"ld";
	iov[1].iov_len = 2;
	expect_ok(&err, shade_transport_sendv(t, iov, 2, &err));
	expect_ok(&err, shade_transport_recv(t, ctx, &got, &len, -1, &err));
	assert_int_equal(len, 5);
	assert_memory_equal(got, "hello", 5);
	talloc_free(got);
	expect_ok(&err, shade_transport_try_recv(t, ctx, &got, &len, &err));
	assert_memory_equal(got, "world", 5);
	talloc_free(got);
	assert_int_equal(shade_transport_try_recv(t, ctx, &got, &len, &err),
			 SHADE_AGAIN);
	shade_transport_stats_get(t, &s);
	assert_int_equal(s.frames_sent, 2);
	assert_int_equal(s.frames_received, 2);
	expect_error(&err, shade_transport_set_nonblocking(t, true, &err),
		     SHADE_ERR_UNIMPLEMENTED, "no non-blocking mode");
	q->give_empty = true;
	expect_error(&err, shade_transport_recv(t, ctx, &got, &len, -1, &err),
		     SHADE_ERR_PROTOCOL, "empty frame");
	shade_transport_close(t);
	assert_int_equal(q->closes, 1);
	talloc_free(t);
	assert_int_equal(q->closes, 1);
	talloc_free(q);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_transport_header),
		T(test_transport_echo_pair),
		T(test_transport_echo_socketpair),
		T(test_transport_echo_pipes),
		T(test_transport_echo_unix),
		T(test_transport_echo_tcp4),
		T(test_transport_echo_tcp6),
		T(test_transport_echo_exec_cat),
		T(test_transport_syscall_counts),
		T(test_transport_first_read_short),
		T(test_transport_partial_io),
		T(test_transport_random_splits),
		T(test_transport_peer_dies_mid_frame),
		T(test_transport_over_limit),
		T(test_transport_zero_length),
		T(test_transport_sigpipe),
		T(test_transport_try_recv_half_frame),
		T(test_transport_drained_after_eagain),
		T(test_transport_output_queue),
		T(test_transport_small_queue),
		T(test_transport_recv_timeout),
		T(test_transport_shutdown),
		T(test_transport_exec_early_exit),
		T(test_transport_exec_close_kills),
		T(test_transport_bad_addresses),
		T(test_transport_listeners),
		T(test_transport_user_ops),
#undef T
	};

	return SUITE_RUN("transport", tests, argc, argv);
}
