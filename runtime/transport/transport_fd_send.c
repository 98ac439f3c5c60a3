/*
 * transport_fd_send.c - the fd kind's output: header and payload go out
 * in one writev/sendmsg (small frames: one send() from a stack buffer).
 * In non-blocking mode what the fd does not take is copied to the output
 * queue, and later frames are appended behind it to keep the order.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "base/bigbuf_int.h"
#include "base/clock_int.h"
#include "transport/transport_int.h"

/* Frames up to this size are written with one contiguous send(). */
#define SMALL_WRITE 512
/* iovecs of a frame kept on the stack; more are allocated. */
#define STACK_IOV 16

/* One write system call of iov to t->wfd; SIGPIPE never delivered.
 * Returns bytes written or -1 with errno. */
static ssize_t write_once(shade_transport *t, struct iovec *iov, int cnt)
{
	ssize_t n;

	STAT_ADD(t, write_calls, 1);
	if (t->kind->raw_write != NULL) {
		n = t->kind->raw_write(t, iov, cnt);
	} else if (t->wsock) {
		struct msghdr m;

		if (cnt == 1) {
			/* send() costs the kernel less than a sendmsg() of
			 * an iovec array (small frames come here whole:
			 * send_small). */
			n = send(t->wfd, iov[0].iov_base, iov[0].iov_len,
				 MSG_NOSIGNAL);
		} else {
			memset(&m, 0, sizeof(m));
			m.msg_iov = iov;
			m.msg_iovlen = (size_t)cnt;
			n = sendmsg(t->wfd, &m, MSG_NOSIGNAL);
		}
	} else {
		/* A pipe: block SIGPIPE in this thread for the write; if the
		 * write may have raised one and the thread did not already
		 * block it, take it off the pending set before unblocking.
		 * Linux raises SIGPIPE also when the reader goes away in the
		 * middle of a write that returns a partial count. */
		sigset_t pipe_set, old;
		size_t want = 0;
		int e, i;

		for (i = 0; i < cnt; i++)
			want += iov[i].iov_len;
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
		n = writev(t->wfd, iov, cnt);
		e = errno;
		if (((n < 0 && e == EPIPE) || (n >= 0 && (size_t)n < want)) &&
		    !sigismember(&old, SIGPIPE)) {
			struct timespec zero = { 0, 0 };

			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
			       errno == EINTR)
				;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	if (n > 0)
		STAT_ADD(t, bytes_sent, (uint64_t)n);
	return n;
}

/* Drop the first n bytes of the iovec array (*iov, *cnt) in place. */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt > 0) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

/* Write all of iov, waiting for POLLOUT when the fd is non-blocking. */
static shade_status write_all(shade_transport *t, struct iovec *iov, int cnt,
			      shade_error **err)
{
	ssize_t n;

	while (cnt > 0) {
		n = write_once(t, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
		if (n >= 0) {
			iov_advance(&iov, &cnt, (size_t)n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (transport_poll_fd(t->wfd, POLLOUT, -1) < 0)
				return transport_io_fail(t, err, errno, "poll");
			continue;
		}
		return transport_io_fail(t, err, errno, "write");
	}
	return SHADE_OK;
}

/* Make room for n more bytes at the end of the output queue. */
static shade_status out_reserve(shade_transport *t, size_t n, shade_error **err)
{
	size_t used = t->out_end - t->out_start;
	size_t cap;
	uint8_t *p;

	if (t->out_cap - t->out_end >= n)
		return SHADE_OK;
	if (t->out_start > 0 && t->out_cap - used >= n) {
		memmove(t->out, t->out + t->out_start, used);
		OUT_SET(t, out_start, 0);
		OUT_SET(t, out_end, used);
		return SHADE_OK;
	}
	cap = t->out_cap ? t->out_cap : 4096;
	while (cap - used < n)
		cap *= 2;
	p = bigbuf_alloc(cap); /* a large queue's pages are kept */
	if (p == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM,
				       "out of memory queueing %zu bytes", n);
	if (cap >= BIGBUF_MIN)
		cap = bigbuf_cap(p);
	if (used > 0)
		memcpy(p, t->out + t->out_start, used);
	talloc_free(t->out);
	t->out = p;
	t->out_cap = cap;
	OUT_SET(t, out_start, 0);
	OUT_SET(t, out_end, used);
	return SHADE_OK;
}

/* Append iov (the bytes not yet written) to the output queue. */
static shade_status out_append(shade_transport *t, const struct iovec *iov,
			       int cnt, shade_error **err)
{
	size_t total = 0;
	int i;

	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	SHADE_CHECK(out_reserve(t, total, err));
	for (i = 0; i < cnt; i++) {
		memcpy(t->out + t->out_end, iov[i].iov_base, iov[i].iov_len);
		OUT_SET(t, out_end, t->out_end + iov[i].iov_len);
	}
	return SHADE_OK;
}

/* Release the queue's memory once it is empty, so idle connections hold
 * none. */
static void out_trim(shade_transport *t)
{
	if (t->out_start == t->out_end) {
		TALLOC_FREE(t->out);
		t->out_cap = 0;
		OUT_SET(t, out_start, 0);
		OUT_SET(t, out_end, 0);
	}
}

/* Write the queued output (blocking mode: all of it; non-blocking:
 * SHADE_AGAIN when the fd takes no more). */
shade_status transport_fd_flush(shade_transport *t, shade_error **err)
{
	struct iovec iov;
	ssize_t n;

	if (t->out_start == t->out_end)
		return SHADE_OK;
	SHADE_CHECK(transport_check_usable(t, err));
	while (t->out_start < t->out_end) {
		iov.iov_base = t->out + t->out_start;
		iov.iov_len = t->out_end - t->out_start;
		n = write_once(t, &iov, 1);
		if (n >= 0) {
			OUT_SET(t, out_start, t->out_start + (size_t)n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (t->nonblocking)
				return SHADE_AGAIN;
			if (transport_poll_fd(t->wfd, POLLOUT, -1) < 0)
				return transport_io_fail(t, err, errno, "poll");
			continue;
		}
		return transport_io_fail(t, err, errno, "write");
	}
	out_trim(t);
	return SHADE_OK;
}

static shade_status write_or_queue(shade_transport *t, struct iovec *iov,
				   int cnt, shade_error **err);

/* Bytes left of a frame the socket did not take from which a
 * non-blocking send waits a moment before queueing (copying) them. */
#define DRAIN_MIN ((size_t)64 << 10)
/* How long it waits at most, in ms (the clock counts whole ms: one
 * more at most). */
#define DRAIN_MS 1

/* Non-blocking mode, a large frame half written: while the peer reads
 * (the socket takes more within DRAIN_MS), go on writing from where the
 * bytes lie instead of copying the rest into the queue; a peer that
 * does not read costs the caller at most DRAIN_MS + 1 ms.  *iov, *cnt:
 * what is left. */
static shade_status drain_briefly(shade_transport *t, struct iovec **iov,
				  int *cnt, shade_error **err)
{
	int64_t deadline = clock_now_ms() + DRAIN_MS + 1;
	size_t left = 0;
	ssize_t n;
	int i, w;

	for (i = 0; i < *cnt; i++)
		left += (*iov)[i].iov_len;
	while (*cnt > 0 && left >= DRAIN_MIN) {
		w = transport_poll_fd(t->wfd, POLLOUT,
				      clock_remaining_ms(deadline));
		if (w <= 0)
			return SHADE_OK; /* no room in time (or poll failed:
					  * the queue's write will say) */
		n = write_once(t, *iov, *cnt > IOV_MAX ? IOV_MAX : *cnt);
		if (n < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK)
			return transport_io_fail(t, err, errno, "write");
		if (n > 0) {
			iov_advance(iov, cnt, (size_t)n);
			left -= (size_t)n;
		}
	}
	return SHADE_OK;
}

/* Send a frame whose payload is iov[1..cnt-1]; iov[0] is free for the
 * header.  total is the payload size.  With `cork` the frame is only
 * queued. */
static shade_status sendv_frame(shade_transport *t, struct iovec *iov, int cnt,
			       size_t total, bool cork, shade_error **err)
{
	uint8_t hdr[SHADE_FRAME_HEADER_MAX];

	iov[0].iov_base = hdr;
	iov[0].iov_len = shade_frame_header_encode(total, hdr);
	STAT_ADD(t, frames_sent, 1);
	if (cork)
		return out_append(t, iov, cnt, err);
	return write_or_queue(t, iov, cnt, err);
}

/* Write iov (whole frames) behind the queued output: blocking mode writes
 * all of it; non-blocking mode writes what the fd takes with one system
 * call and queues the rest. */
static shade_status write_or_queue(shade_transport *t, struct iovec *iov,
				   int cnt, shade_error **err)
{
	ssize_t n;
	shade_status st;

	if (t->out_start != t->out_end) {
		/* Keep the order: queue behind what is waiting, then write
		 * the whole queue at once (blocking mode: all of it). */
		SHADE_CHECK(out_append(t, iov, cnt, err));
		st = transport_fd_flush(t, err);
		return st == SHADE_AGAIN ? SHADE_OK : st;
	}
	if (!t->nonblocking)
		return write_all(t, iov, cnt, err);
	for (;;) {
		n = write_once(t, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return transport_io_fail(t, err, errno, "write");
		n = 0;
	}
	iov_advance(&iov, &cnt, (size_t)n);
	if (cnt == 0)
		return SHADE_OK;
	SHADE_CHECK(drain_briefly(t, &iov, &cnt, err));
	if (cnt == 0)
		return SHADE_OK;
	return out_append(t, iov, cnt, err);
}

/* Payloads up to this size can take the lean path of send_small(). */
#define SMALL_PAYLOAD (SMALL_WRITE - SHADE_FRAME_HEADER_MAX)

/* True when a frame of len bytes at p can go by send_small(): a valid
 * small payload, a socket and nothing queued.  Everything else takes
 * transport_send_one(). */
static inline bool send_is_small(const shade_transport *t, const void *p,
				 size_t len)
{
	return p != NULL && len - 1 < SMALL_PAYLOAD &&
	       t->wsock && t->out_start == t->out_end && len <= t->max_frame;
}

/* The common send (send_is_small() holds): header and payload copied
 * into one stack buffer and written with one send().  What that does not
 * finish goes on exactly as transport_fd_sendv() would go on: blocking mode
 * writes the rest (polling on EAGAIN), non-blocking mode queues it. */
static shade_status send_small(shade_transport *t, const void *frame,
			       size_t len, shade_error **err)
{
	uint8_t buf[SMALL_WRITE];
	struct iovec iov;
	size_t hl, want;
	ssize_t n;

	SHADE_CHECK(transport_check_usable(t, err));
	hl = transport_header_encode(len, buf);
	memcpy(buf + hl, frame, len);
	want = hl + len;
	STAT_ADD(t, frames_sent, 1);
	STAT_ADD(t, write_calls, 1);
	n = send(t->wfd, buf, want, MSG_NOSIGNAL);
	if (n == (ssize_t)want) {
		STAT_ADD(t, bytes_sent, (uint64_t)n);
		return SHADE_OK;
	}
	iov.iov_base = buf;
	iov.iov_len = want;
	if (n < 0) {
		if (errno == EINTR)
			return write_or_queue(t, &iov, 1, err);
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return transport_io_fail(t, err, errno, "write");
		if (!t->nonblocking &&
		    transport_poll_fd(t->wfd, POLLOUT, -1) < 0)
			return transport_io_fail(t, err, errno, "poll");
		n = 0;
	}
	if (n > 0)
		STAT_ADD(t, bytes_sent, (uint64_t)n);
	iov.iov_base = buf + n;
	iov.iov_len = want - (size_t)n;
	if (t->nonblocking)
		return out_append(t, &iov, 1, err);
	return write_all(t, &iov, 1, err);
}

/* The fd kind's send: the small-frame path when it applies, else the
 * generic one. */
shade_status transport_fd_send(shade_transport *t, const void *frame,
			       size_t len, shade_error **err)
{
	if (send_is_small(t, frame, len))
		return send_small(t, frame, len, err);
	return transport_send_one(t, frame, len, false, err);
}

/* The fd kind's send_frames: one write (or queueing) of them all. */
shade_status transport_fd_send_frames(shade_transport *t, const uint8_t *p,
				      size_t len, uint64_t n, shade_error **err)
{
	struct iovec iov;

	STAT_ADD(t, frames_sent, n);
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	return write_or_queue(t, &iov, 1, err);
}

/* The fd kind's sendv: the payload behind a free iov[0] for the header. */
shade_status transport_fd_sendv(shade_transport *t, const struct iovec *iov,
				int iovcnt, size_t total, bool cork,
				shade_error **err)
{
	struct iovec stack_iov[STACK_IOV + 1];
	struct iovec *v = stack_iov;
	shade_status st;
	int i, cnt = 1;

	if (iovcnt > STACK_IOV) {
		v = talloc_array(NULL, struct iovec, (size_t)iovcnt + 1);
		if (v == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
	}
	for (i = 0; i < iovcnt; i++)
		if (iov[i].iov_len > 0)
			v[cnt++] = iov[i];
	st = sendv_frame(t, v, cnt, total, cork, err);
	if (v != stack_iov)
		talloc_free(v);
	return st;
}

bool transport_last_words(shade_transport *t, const void *frame, size_t len)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	struct iovec iov[2];

	if (t->closer == NULL || !t->nonblocking || t->closed ||
	    t->out_start != t->out_end || len > t->max_frame ||
	    transport_check_usable(t, NULL) != SHADE_OK)
		return false;
	iov[0].iov_base = head;
	iov[0].iov_len = transport_header_encode(len, head);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	if (out_append(t, iov, 2, NULL) != SHADE_OK)
		return false;
	STAT_ADD(t, frames_sent, 1);
	return true;
}
