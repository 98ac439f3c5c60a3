/*
 * fuzz_frame.c - the frame reader.
 *
 * Input: one selector byte, then a byte stream as a peer would send it.
 * The selector picks the transport's maximum frame size (bits 0-1) and
 * the size of the pieces the stream is written in (bits 2-7; 0: all at
 * once).
 *
 * 1. shade_frame_header_decode() on every prefix of the stream's first
 *    SHADE_FRAME_HEADER_MAX bytes: AGAIN only while bytes are missing, the
 *    same answer once they are there, and an accepted header re-encodes
 *    to the same bytes (shortest form is the only form accepted).
 * 2. The stream written piece by piece into one end of a socketpair whose
 *    other end is a non-blocking fd transport, read with
 *    shade_transport_try_recv() after each piece, then the writer closed.
 *    Every frame delivered must be exactly the next frame of the stream
 *    as the header decoder splits it; the first failure must be the one
 *    the decoder predicts (or ConnectionLost at the end of the stream),
 *    and it must stick.
 * 3. Every frame delivered before the writer stops is sent back through
 *    the same transport (alternately shade_transport_send and
 *    shade_transport_queue, non-blocking, flushed as the peer reads), and
 *    the peer must read back exactly the frames, with shortest heads.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/transport.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Maximum frame sizes the selector chooses from. */
static const size_t ff_max_frames[4] = { 0, 16, 300, 70000 };

/* Check the header decoder on every prefix of buf[0..n-1]. */
static void ff_check_header(const uint8_t *buf, size_t n, size_t max)
{
	shade_status first = SHADE_AGAIN;
	uint64_t len0 = 0;
	size_t hl0 = 0, avail;

	for (avail = 0; avail <= n && avail <= SHADE_FRAME_HEADER_MAX;
	     avail++) {
		uint64_t len = 0;
		size_t hl = 0;
		shade_error *e = NULL;
		shade_status st = shade_frame_header_decode(buf, avail, max,
							    &len, &hl, &e);

		FUZZ_CHECK(st == SHADE_OK || st == SHADE_AGAIN ||
			   st == SHADE_ERR_PROTOCOL || st == SHADE_ERR_LIMIT);
		FUZZ_CHECK((st < 0) == (e != NULL));
		if (e != NULL)
			FUZZ_CHECK(e->code == st && e->message != NULL);
		shade_error_free(e);
		if (first != SHADE_AGAIN) {
			/* More bytes change nothing once decided. */
			FUZZ_CHECK(st == first);
			if (st == SHADE_OK)
				FUZZ_CHECK(len == len0 && hl == hl0);
			continue;
		}
		first = st;
		if (st == SHADE_OK) {
			uint8_t enc[SHADE_FRAME_HEADER_MAX];

			FUZZ_CHECK(hl >= 1 && hl <= avail);
			FUZZ_CHECK(len > 0 && len <= max);
			FUZZ_CHECK(shade_frame_header_encode(len, enc) == hl);
			FUZZ_CHECK(memcmp(enc, buf, hl) == 0);
			len0 = len;
			hl0 = hl;
		}
	}
}

/* The reader's expected position: offset of the next frame header. */
struct ff_expect {
	const uint8_t *s; /* the stream */
	size_t n;         /* its length */
	size_t pos;       /* where the next frame starts */
	size_t max;       /* the transport's maximum frame */
	shade_transport *t; /* the reader, also sending the echoes */
	int peer;         /* the other end of the socketpair */
	bool echo;        /* send delivered frames back */
	unsigned frames;  /* frames delivered */
	shade_buf *want;  /* echoes expected, with heads */
	shade_buf *got;   /* echoes the peer read */
};

/* Check a delivered frame against the stream and advance. */
static void ff_expect_frame(struct ff_expect *x, const uint8_t *f, size_t len)
{
	uint64_t flen = 0;
	size_t hl = 0;
	shade_status st;

	st = shade_frame_header_decode(x->s + x->pos, x->n - x->pos, x->max,
				       &flen, &hl, NULL);
	FUZZ_CHECK(st == SHADE_OK);
	FUZZ_CHECK(flen == len && x->pos + hl + len <= x->n);
	FUZZ_CHECK(memcmp(x->s + x->pos + hl, f, len) == 0);
	x->pos += hl + len;
	x->frames++;
	if (x->echo) {
		uint8_t head[SHADE_FRAME_HEADER_MAX];
		shade_error *e = NULL;
		shade_status sent = x->frames & 1
				? shade_transport_send(x->t, f, len, &e)
				: shade_transport_queue(x->t, f, len, &e);

		FUZZ_CHECK(sent == SHADE_OK && e == NULL);
		shade_buf_append(x->want, head,
				 shade_frame_header_encode(len, head));
		shade_buf_append(x->want, f, len);
	}
}

/* Write queued echoes and read what reached the peer. */
static void ff_pump_echo(struct ff_expect *x)
{
	uint8_t buf[4096];
	ssize_t n;

	if (!x->echo)
		return;
	shade_transport_flush(x->t, NULL);
	while ((n = recv(x->peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		shade_buf_append(x->got, buf, (size_t)n);
}

/* Check the failure that ended the stream (writer closed). */
static void ff_expect_end(const struct ff_expect *x, shade_status got)
{
	uint64_t flen = 0;
	size_t hl = 0;
	shade_status st;

	if (x->pos == x->n) {
		FUZZ_CHECK(got == SHADE_ERR_CONNECTION_LOST);
		return;
	}
	st = shade_frame_header_decode(x->s + x->pos, x->n - x->pos, x->max,
				       &flen, &hl, NULL);
	if (st == SHADE_OK || st == SHADE_AGAIN)
		FUZZ_CHECK(got == SHADE_ERR_CONNECTION_LOST); /* cut short */
	else
		FUZZ_CHECK(got == st);
}

/* Read every frame available now; returns the first failure, SHADE_AGAIN
 * when the reader needs more bytes. */
static shade_status ff_drain(shade_transport *t, struct ff_expect *x)
{
	unsigned guard;

	for (guard = 0; guard < 100000; guard++) {
		uint8_t *f = NULL;
		size_t len = 0;
		shade_error *e = NULL;
		shade_status st = shade_transport_try_recv(t, NULL, &f, &len,
							   &e);

		if (st != SHADE_OK) {
			FUZZ_CHECK(st == SHADE_AGAIN || e != NULL);
			FUZZ_CHECK(f == NULL || st == SHADE_OK);
			shade_error_free(e);
			return st;
		}
		FUZZ_CHECK(f != NULL && len > 0);
		FUZZ_CHECK(talloc_get_size(f) >= len);
		ff_expect_frame(x, f, len);
		talloc_free(f);
	}
	FUZZ_CHECK(!"try_recv never stopped");
	return SHADE_ERR_RUNTIME;
}

/* Write all of p to the non-blocking fd, draining t when the socket is
 * full.  Returns the reader's status (SHADE_AGAIN while it is fine). */
static shade_status ff_write(int fd, const uint8_t *p, size_t n,
			     shade_transport *t, struct ff_expect *x)
{
	shade_status st = SHADE_AGAIN;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			st = ff_drain(t, x);
			ff_pump_echo(x);
			if (st != SHADE_AGAIN)
				return st;
			continue;
		}
		if (w <= 0)
			return SHADE_ERR_IO; /* reader already closed */
		p += w;
		n -= (size_t)w;
	}
	st = ff_drain(t, x);
	ff_pump_echo(x);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx;
	shade_transport_opts opts;
	shade_transport *t = NULL;
	struct ff_expect x;
	size_t chunk, off;
	shade_status st = SHADE_AGAIN;
	int sv[2];

	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.max_frame = ff_max_frames[data[0] & 3];
	chunk = data[0] >> 2;
	chunk = chunk == 0 ? size : chunk * chunk;
	x.s = data + 1;
	x.n = size - 1;
	x.pos = 0;
	x.max = opts.max_frame ? opts.max_frame
			       : SHADE_TRANSPORT_DEFAULT_MAX_FRAME;
	ff_check_header(x.s, x.n, x.max);

	ctx = talloc_new(NULL);
	if (ctx == NULL)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		talloc_free(ctx);
		return 0;
	}
	if (shade_transport_from_fds(ctx, sv[0], sv[0],
				     SHADE_TRANSPORT_OWN_FDS, &opts, &t,
				     NULL) != SHADE_OK ||
	    shade_transport_set_nonblocking(t, true, NULL) != SHADE_OK) {
		close(sv[1]);
		talloc_free(ctx);
		return 0;
	}
	FUZZ_CHECK(shade_transport_max_frame(t) == x.max);
	x.t = t;
	x.peer = sv[1];
	x.echo = true;
	x.frames = 0;
	x.want = shade_buf_new(ctx, 256);
	x.got = shade_buf_new(ctx, 256);
	FUZZ_CHECK(x.want != NULL && x.got != NULL);
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
	for (off = 0; off < x.n && st == SHADE_AGAIN; off += chunk) {
		size_t k = x.n - off < chunk ? x.n - off : chunk;

		st = ff_write(sv[1], x.s + off, k, t, &x);
	}
	if (st == SHADE_AGAIN) {
		/* Every echo reaches the peer, in order. */
		for (off = 0; shade_transport_wants_write(t) && off < 100000;
		     off++)
			ff_pump_echo(&x);
		ff_pump_echo(&x);
		FUZZ_CHECK(!shade_transport_wants_write(t));
		FUZZ_CHECK(x.got->len == x.want->len);
		FUZZ_CHECK(x.want->len == 0 ||
			   memcmp(x.got->data, x.want->data, x.want->len) == 0);
	}
	x.echo = false;
	close(sv[1]);
	/* AGAIN only says one read did not complete a frame: the bytes may
	 * outnumber the input buffer; every call makes progress. */
	for (off = 0; st == SHADE_AGAIN && off <= x.n + 2; off++)
		st = ff_drain(t, &x);
	FUZZ_CHECK(st < 0);
	if (st != SHADE_ERR_IO)
		ff_expect_end(&x, st);
	/* The first failure sticks. */
	{
		uint8_t *f = NULL;
		size_t len;
		shade_error *e = NULL;

		FUZZ_CHECK(shade_transport_try_recv(t, NULL, &f, &len, &e) ==
			   st);
		FUZZ_CHECK(f == NULL && e != NULL && e->code == st);
		shade_error_free(e);
	}
	talloc_free(ctx);
	return 0;
}
