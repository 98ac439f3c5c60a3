/*
 * transport.c - the transport object, frame headers and fd I/O.
 *
 * Receiving: small frames are read into the input buffer `in`, as many
 * bytes as the fd has (one read for several frames), and copied out one at
 * a time.  A frame whose header says it does not fit in `in` switches to
 * "big" mode: its bytes are read straight into a buffer of its own that
 * grows geometrically as they arrive (so an announced size allocates
 * nothing up front) and that is handed to the caller whole.
 *
 * Sending: header and payload go out in one writev/sendmsg.  In
 * non-blocking mode what the fd does not take is copied to the output
 * queue, and later frames are appended behind it to keep the order.
 *
 * See transport_int.h for the invariants of struct shade_transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "base/clock_int.h"
#include "transport/transport_int.h"

#define DEFAULT_READ_BUFFER ((size_t)64 << 10)
/* Frames up to this size are written with one contiguous send(). */
#define SMALL_WRITE 512
#define MIN_READ_BUFFER ((size_t)64)
#define DEFAULT_EXEC_GRACE_MS 500
/* How long EOF/EPIPE on an exec: transport waits for the child's exit
 * status before reporting a plain lost connection. */
#define EXEC_EXIT_WAIT_MS 200
/* iovecs of a frame kept on the stack; more are allocated. */
#define STACK_IOV 16
/* Counters are read from any thread, but each has one writer at a time:
 * the send side's (frames_sent, bytes_sent, write_calls) are only written
 * by a send, the receive side's by a receive, and the caller serializes
 * sends and serializes receives (transport.h, "Threads").  So a relaxed
 * load and a relaxed store suffice: no locked read-modify-write, and a
 * concurrent reader still sees a whole value, never a data race. */
#define STAT_ADD(t, field, n)                                              \
	__atomic_store_n(&(t)->stats.field,                                \
			 __atomic_load_n(&(t)->stats.field, __ATOMIC_RELAXED) \
				 + (uint64_t)(n),                          \
			 __ATOMIC_RELAXED)
/* Read one counter (see STAT_ADD). */
#define STAT_GET(t, field) __atomic_load_n(&(t)->stats.field, __ATOMIC_RELAXED)

/* ------------------------------------------------------------ helpers */

void transport_opts_resolve(const shade_transport_opts *in,
			    shade_transport_opts *out)
{
	shade_transport_opts zero = { 0 };

	*out = in ? *in : zero;
	if (out->max_frame == 0)
		out->max_frame = SHADE_TRANSPORT_DEFAULT_MAX_FRAME;
	if (out->read_buffer == 0)
		out->read_buffer = DEFAULT_READ_BUFFER;
	if (out->read_buffer < MIN_READ_BUFFER)
		out->read_buffer = MIN_READ_BUFFER;
	if (out->exec_grace_ms <= 0)
		out->exec_grace_ms = DEFAULT_EXEC_GRACE_MS;
	if (out->connect_timeout_ms < 0)
		out->connect_timeout_ms = 0;
	if (out->listen_backlog <= 0)
		out->listen_backlog = SOMAXCONN;
}

int transport_poll_fd(int fd, short events, int timeout_ms)
{
	int64_t deadline = clock_deadline(timeout_ms);
	struct pollfd p;
	int r;

	for (;;) {
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, clock_remaining_ms(deadline));
		if (r >= 0)
			return r > 0 ? 1 : 0;
		if (errno != EINTR)
			return -1;
	}
}

static int transport_destructor(shade_transport *t)
{
	shade_transport_close(t);
	pthread_mutex_destroy(&t->lock);
	return 0;
}

shade_transport *transport_alloc(void *mem_ctx, const shade_transport_opts *o)
{
	shade_transport_opts r;
	shade_transport *t;

	transport_opts_resolve(o, &r);
	t = talloc_zero(mem_ctx, shade_transport);
	if (t == NULL)
		return NULL;
	t->rfd = -1;
	t->wfd = -1;
	t->pid = -1;
	t->max_frame = r.max_frame;
	t->in_size = r.read_buffer;
	t->exec_grace_ms = r.exec_grace_ms;
	pthread_mutex_init(&t->lock, NULL);
	t->address = talloc_strdup(t, "?");
	if (t->address == NULL) {
		talloc_free(t);
		return NULL;
	}
	talloc_set_destructor(t, transport_destructor);
	return t;
}

void transport_attach_fds(shade_transport *t, int rfd, int wfd, bool own)
{
	struct stat st;

	t->rfd = rfd;
	t->wfd = wfd;
	t->own_fds = own;
	t->wsock = fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode);
	t->rsock = rfd == wfd ? t->wsock
			      : fstat(rfd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Record a sticky failure on t (formatting the message once) and report
 * it through err.  The first failure wins: when t is already broken, that
 * failure is reported instead.  Returns the code reported. */
static shade_status SHADE_PRINTF(4, 5)
fail(shade_transport *t, shade_error **err, shade_status code,
     const char *fmt, ...)
{
	char msg[sizeof(t->broken_msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&t->lock);
	if (t->broken == SHADE_OK) {
		memcpy(t->broken_msg, msg, sizeof(msg));
		__atomic_store_n(&t->broken, code, __ATOMIC_RELEASE);
	} else {
		code = t->broken;
		memcpy(msg, t->broken_msg, sizeof(msg));
	}
	pthread_mutex_unlock(&t->lock);
	return shade_error_set(err, code, "%s", msg);
}

/* The peer went away (EOF, EPIPE, reset); `what` says how.  For exec:
 * transports whose child has exited this becomes SHADE_ERR_EXEC with the
 * exit status. */
static shade_status peer_gone(shade_transport *t, shade_error **err,
			      const char *what)
{
	char status[256];
	bool exited = false;

	if (t->pid > 0) {
		/* The send and the receive side may both get here. */
		pthread_mutex_lock(&t->lock);
		exited = transport_exec_exited(t, EXEC_EXIT_WAIT_MS, status,
					       sizeof(status));
		pthread_mutex_unlock(&t->lock);
	}
	if (exited)
		return fail(t, err, SHADE_ERR_EXEC, "%s: %s (%s)", t->address,
			    what, status);
	return fail(t, err, SHADE_ERR_CONNECTION_LOST, "%s: %s", t->address,
		    what);
}

/* Map a failed read/write errno to a status. */
static shade_status io_fail(shade_transport *t, shade_error **err, int e,
			    const char *op)
{
	char what[160];

	if (e == EPIPE || e == ECONNRESET || e == ENOTCONN) {
		snprintf(what, sizeof(what), "peer closed (%s: %s)", op,
			 strerror(e));
		return peer_gone(t, err, what);
	}
	return fail(t, err, SHADE_ERR_IO, "%s: %s failed: %s", t->address, op,
		    strerror(e));
}

/* check_usable()'s failure: report the sticky error, or "transport
 * closed".  Kept out of line so the usable case pays for no stack frame. */
static __attribute__((noinline, cold)) shade_status
unusable(shade_transport *t, shade_status code, shade_error **err)
{
	char msg[sizeof(t->broken_msg)];

	if (code < 0) {
		pthread_mutex_lock(&t->lock);
		memcpy(msg, t->broken_msg, sizeof(msg));
		pthread_mutex_unlock(&t->lock);
		return shade_error_set(err, code, "%s", msg);
	}
	return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
			       "%s: transport closed", t->address);
}

/* Fail with the sticky error, or "transport closed", if t is unusable. */
static inline shade_status check_usable(shade_transport *t, shade_error **err)
{
	shade_status code = __atomic_load_n(&t->broken, __ATOMIC_ACQUIRE);

	if (code < 0 || t->closed)
		return unusable(t, code, err);
	return SHADE_OK;
}

/* ------------------------------------------------------------ framing */

/* The frame header of a len-byte payload into out; its size.  Inline, so
 * the small-frame send path gets it without a call. */
static inline size_t header_encode(uint64_t len,
				   uint8_t out[SHADE_FRAME_HEADER_MAX])
{
	size_t n, i;

	if (len < 24) {
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len <= 0xff) {
		out[0] = 0x18;
		n = 1;
	} else if (len <= 0xffff) {
		out[0] = 0x19;
		n = 2;
	} else if (len <= 0xffffffffu) {
		out[0] = 0x1a;
		n = 4;
	} else {
		out[0] = 0x1b;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return n + 1;
}

size_t shade_frame_header_encode(uint64_t len,
				 uint8_t out[SHADE_FRAME_HEADER_MAX])
{
	return header_encode(len, out);
}

/* shade_frame_header_decode() writing its message into msg instead of an
 * error object, so the receive path can keep it as the sticky message. */
static shade_status header_parse(const uint8_t *buf, size_t avail, size_t max,
				 uint64_t *len, size_t *hdr_len, char *msg,
				 size_t msgsz)
{
	uint8_t ib;
	size_t n, i;
	uint64_t v = 0;
	uint64_t min;

	if (avail == 0)
		return SHADE_AGAIN;
	ib = buf[0];
	if ((ib >> 5) != 0) {
		snprintf(msg, msgsz,
			 "bad frame header: initial byte 0x%02x is not a "
			 "CBOR unsigned integer", ib);
		return SHADE_ERR_PROTOCOL;
	}
	ib &= 0x1f;
	if (ib < 24) {
		v = ib;
		n = 0;
		min = 0;
	} else if (ib <= 27) {
		n = (size_t)1 << (ib - 24);
		min = ib == 24 ? 24 : ((uint64_t)1 << (4 * n)) ;
		if (avail < 1 + n)
			return SHADE_AGAIN;
		for (i = 0; i < n; i++)
			v = (v << 8) | buf[1 + i];
	} else {
		snprintf(msg, msgsz,
			 "bad frame header: initial byte 0x%02x has reserved "
			 "additional information %u", buf[0], ib);
		return SHADE_ERR_PROTOCOL;
	}
	if (v < min) {
		snprintf(msg, msgsz,
			 "bad frame header: length %llu not in shortest form "
			 "(%zu-byte argument)", (unsigned long long)v, n);
		return SHADE_ERR_PROTOCOL;
	}
	if (v == 0) {
		snprintf(msg, msgsz, "bad frame header: zero-length frame");
		return SHADE_ERR_PROTOCOL;
	}
	*len = v;
	*hdr_len = 1 + n;
	if (v > max) {
		snprintf(msg, msgsz,
			 "frame of %llu bytes exceeds the limit of %zu bytes",
			 (unsigned long long)v, max);
		return SHADE_ERR_LIMIT;
	}
	return SHADE_OK;
}

/* The usual frame header, decoded without header_parse(): a payload of 1
 * to 255 bytes, within max, in a 1- or 2-byte head.  False (nothing
 * written) for anything else, which header_parse() then handles. */
static inline bool header_quick(const uint8_t *buf, size_t avail, size_t max,
				uint64_t *len, size_t *hdr_len)
{
	uint8_t ib = buf[0];

	if (ib - 1u < 23u && ib <= max) {
		*len = ib;
		*hdr_len = 1;
		return true;
	}
	if (ib == 0x18 && avail >= 2 && buf[1] >= 24 && buf[1] <= max) {
		*len = buf[1];
		*hdr_len = 2;
		return true;
	}
	return false;
}

shade_status shade_frame_header_decode(const uint8_t *buf, size_t avail,
				       size_t max, uint64_t *len,
				       size_t *hdr_len, shade_error **err)
{
	char msg[160];
	shade_status st;

	if (buf == NULL && avail > 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "frame header buffer is NULL");
	st = header_parse(buf, avail, max, len, hdr_len, msg, sizeof(msg));
	if (st < 0)
		return shade_error_set(err, st, "%s", msg);
	return st;
}

/* ------------------------------------------------------------ construction */

shade_status shade_transport_new(void *mem_ctx, const shade_transport_ops *ops,
				 void *impl, const shade_transport_opts *opts,
				 shade_transport **out, shade_error **err)
{
	shade_transport *t;

	if (out == NULL || ops == NULL || ops->send == NULL || ops->recv == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "transport ops need send and recv");
	t = transport_alloc(mem_ctx, opts);
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	t->ops = ops;
	t->impl = impl;
	talloc_free(t->address);
	t->address = talloc_strdup(t, ops->name ? ops->name : "user");
	if (t->address == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*out = t;
	return SHADE_OK;
}

shade_status shade_transport_from_fds(void *mem_ctx, int rfd, int wfd,
				      unsigned flags,
				      const shade_transport_opts *opts,
				      shade_transport **out, shade_error **err)
{
	bool own = (flags & SHADE_TRANSPORT_OWN_FDS) != 0;
	shade_transport *t;

	if (out == NULL || rfd < 0 || wfd < 0 ||
	    fcntl(rfd, F_GETFD) < 0 || fcntl(wfd, F_GETFD) < 0) {
		if (own) {
			if (rfd >= 0)
				close(rfd);
			if (wfd >= 0 && wfd != rfd)
				close(wfd);
		}
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "fd:%d,%d: not an open file descriptor",
				       rfd, wfd);
	}
	t = transport_alloc(mem_ctx, opts);
	if (t != NULL) {
		talloc_free(t->address);
		t->address = rfd == wfd ? talloc_asprintf(t, "fd:%d", rfd)
					: talloc_asprintf(t, "fd:%d,%d", rfd,
							  wfd);
		if (t->address == NULL)
			TALLOC_FREE(t);
	}
	if (t == NULL) {
		if (own) {
			close(rfd);
			if (wfd != rfd)
				close(wfd);
		}
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	transport_attach_fds(t, rfd, wfd, own);
	*out = t;
	return SHADE_OK;
}

shade_status shade_transport_pair(void *mem_ctx,
				  const shade_transport_opts *opts,
				  shade_transport **a, shade_transport **b,
				  shade_error **err)
{
	shade_transport *ta = NULL, *tb = NULL;
	int sv[2];
	shade_status st;

	if (a == NULL || b == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "pair needs two out pointers");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return shade_error_set(err, SHADE_ERR_IO, "socketpair: %s",
				       strerror(errno));
	st = shade_transport_from_fds(mem_ctx, sv[0], sv[0],
				      SHADE_TRANSPORT_OWN_FDS, opts, &ta, err);
	if (st < 0) {
		close(sv[1]);
		return st;
	}
	st = shade_transport_from_fds(mem_ctx, sv[1], sv[1],
				      SHADE_TRANSPORT_OWN_FDS, opts, &tb, err);
	if (st < 0) {
		talloc_free(ta);
		return st;
	}
	talloc_free(ta->address);
	ta->address = talloc_strdup(ta, "pair");
	talloc_free(tb->address);
	tb->address = talloc_strdup(tb, "pair");
	if (ta->address == NULL || tb->address == NULL) {
		talloc_free(ta);
		talloc_free(tb);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*a = ta;
	*b = tb;
	return SHADE_OK;
}

/* ------------------------------------------------------------ writing */

/* One write system call of iov to t->wfd; SIGPIPE never delivered.
 * Returns bytes written or -1 with errno. */
static ssize_t write_once(shade_transport *t, struct iovec *iov, int cnt)
{
	ssize_t n;

	STAT_ADD(t, write_calls, 1);
	if (t->wsock) {
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
				return io_fail(t, err, errno, "poll");
			continue;
		}
		return io_fail(t, err, errno, "write");
	}
	return SHADE_OK;
}

/* Make room for n more bytes at the end of the output queue. */
static shade_status out_reserve(shade_transport *t, size_t n,
				shade_error **err)
{
	size_t used = t->out_end - t->out_start;
	size_t cap;
	uint8_t *p;

	if (t->out_cap - t->out_end >= n)
		return SHADE_OK;
	if (t->out_start > 0 && t->out_cap - used >= n) {
		memmove(t->out, t->out + t->out_start, used);
		t->out_start = 0;
		t->out_end = used;
		return SHADE_OK;
	}
	cap = t->out_cap ? t->out_cap : 4096;
	while (cap - used < n)
		cap *= 2;
	p = talloc_size(NULL, cap);
	if (p == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM,
				       "out of memory queueing %zu bytes", n);
	if (used > 0)
		memcpy(p, t->out + t->out_start, used);
	talloc_free(t->out);
	t->out = p;
	t->out_cap = cap;
	t->out_start = 0;
	t->out_end = used;
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
		t->out_end += iov[i].iov_len;
	}
	return SHADE_OK;
}

/* Release the queue's memory once it is empty, so idle connections hold
 * none. */
static void out_trim(shade_transport *t)
{
	if (t->out_start == t->out_end) {
		TALLOC_FREE(t->out);
		t->out_cap = t->out_start = t->out_end = 0;
	}
}

shade_status shade_transport_flush(shade_transport *t, shade_error **err)
{
	struct iovec iov;
	ssize_t n;

	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL transport");
	if (t->ops != NULL || t->out_start == t->out_end)
		return SHADE_OK;
	SHADE_CHECK(check_usable(t, err));
	while (t->out_start < t->out_end) {
		iov.iov_base = t->out + t->out_start;
		iov.iov_len = t->out_end - t->out_start;
		n = write_once(t, &iov, 1);
		if (n >= 0) {
			t->out_start += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (t->nonblocking)
				return SHADE_AGAIN;
			if (transport_poll_fd(t->wfd, POLLOUT, -1) < 0)
				return io_fail(t, err, errno, "poll");
			continue;
		}
		return io_fail(t, err, errno, "write");
	}
	out_trim(t);
	return SHADE_OK;
}

static shade_status write_or_queue(shade_transport *t, struct iovec *iov,
				   int cnt, shade_error **err);

/* Send a frame whose payload is iov[1..cnt-1]; iov[0] is free for the
 * header.  total is the payload size.  With `cork` the frame is only
 * queued. */
static shade_status send_frame(shade_transport *t, struct iovec *iov, int cnt,
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
		st = shade_transport_flush(t, err);
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
			return io_fail(t, err, errno, "write");
		n = 0;
	}
	iov_advance(&iov, &cnt, (size_t)n);
	if (cnt == 0)
		return SHADE_OK;
	return out_append(t, iov, cnt, err);
}

/* Payloads up to this size can take the lean path of send_small(). */
#define SMALL_PAYLOAD (SMALL_WRITE - SHADE_FRAME_HEADER_MAX)

/* True when a frame of len bytes at p (t not NULL) can go by
 * send_small(): a valid small payload, an fd socket and nothing queued.
 * Everything else takes sendv_common(). */
static inline bool send_is_small(const shade_transport *t, const void *p,
				 size_t len)
{
	return p != NULL && len - 1 < SMALL_PAYLOAD && t->ops == NULL &&
	       t->wsock && t->out_start == t->out_end && len <= t->max_frame;
}

/* The common send (send_is_small() holds): header and payload copied
 * into one stack buffer and written with one send().  What that does not
 * finish goes on exactly as sendv_common() would go on: blocking mode
 * writes the rest (polling on EAGAIN), non-blocking mode queues it. */
static shade_status send_small(shade_transport *t, const void *frame,
			       size_t len, shade_error **err)
{
	uint8_t buf[SMALL_WRITE];
	struct iovec iov;
	size_t hl, want;
	ssize_t n;

	SHADE_CHECK(check_usable(t, err));
	hl = header_encode(len, buf);
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
			return io_fail(t, err, errno, "write");
		if (!t->nonblocking &&
		    transport_poll_fd(t->wfd, POLLOUT, -1) < 0)
			return io_fail(t, err, errno, "poll");
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

/* Concatenate iov for a user channel's send(). */
static shade_status user_send(shade_transport *t, const struct iovec *iov,
			      int iovcnt, size_t total, shade_error **err)
{
	uint8_t *buf;
	size_t off = 0;
	shade_status st;
	int i;

	STAT_ADD(t, frames_sent, 1);
	if (iovcnt == 1) {
		st = t->ops->send(t->impl, iov[0].iov_base, total, err);
	} else {
		buf = talloc_size(NULL, total);
		if (buf == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		for (i = 0; i < iovcnt; i++) {
			memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		st = t->ops->send(t->impl, buf, total, err);
		talloc_free(buf);
	}
	if (st == SHADE_OK)
		STAT_ADD(t, bytes_sent, total);
	return st;
}

/* sendv, or with `cork` queue the frame without writing it. */
static shade_status sendv_common(shade_transport *t, const struct iovec *iov,
				 int iovcnt, bool cork, shade_error **err)
{
	struct iovec stack_iov[STACK_IOV + 1];
	struct iovec *v = stack_iov;
	size_t total = 0;
	shade_status st;
	int i, cnt = 1;

	if (t == NULL || iovcnt < 0 || (iovcnt > 0 && iov == NULL))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "sendv: bad arguments");
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > 0 && iov[i].iov_base == NULL)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "sendv: iov[%d] is NULL", i);
		if (iov[i].iov_len > SIZE_MAX - total)
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "sendv: frame size overflows");
		total += iov[i].iov_len;
	}
	if (total == 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: cannot send an empty frame",
				       t->address);
	if (total > t->max_frame)
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%s: frame of %zu bytes exceeds the "
				       "limit of %zu bytes",
				       t->address, total, t->max_frame);
	SHADE_CHECK(check_usable(t, err));
	if (t->ops != NULL)
		return user_send(t, iov, iovcnt, total, err);
	if (iovcnt > STACK_IOV) {
		v = talloc_array(NULL, struct iovec, (size_t)iovcnt + 1);
		if (v == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
	}
	for (i = 0; i < iovcnt; i++)
		if (iov[i].iov_len > 0)
			v[cnt++] = iov[i];
	st = send_frame(t, v, cnt, total, cork, err);
	if (v != stack_iov)
		talloc_free(v);
	return st;
}

shade_status shade_transport_sendv(shade_transport *t, const struct iovec *iov,
				   int iovcnt, shade_error **err)
{
	if (t != NULL && iovcnt == 1 && iov != NULL &&
	    send_is_small(t, iov[0].iov_base, iov[0].iov_len))
		return send_small(t, iov[0].iov_base, iov[0].iov_len, err);
	return sendv_common(t, iov, iovcnt, false, err);
}

shade_status shade_transport_queue(shade_transport *t, const void *frame,
				   size_t len, shade_error **err)
{
	struct iovec iov;

	iov.iov_base = (void *)frame;
	iov.iov_len = len;
	return sendv_common(t, &iov, 1, true, err);
}

shade_status shade_transport_send_frames(shade_transport *t,
					const void *frames, size_t len,
					shade_error **err)
{
	const uint8_t *p = frames;
	size_t off = 0, hl;
	uint64_t fl, n = 0;
	struct iovec iov;
	shade_status st;

	if (t == NULL || (len > 0 && frames == NULL))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "send_frames: bad arguments");
	while (off < len) {
		st = shade_frame_header_decode(p + off, len - off,
					       t->max_frame, &fl, &hl, err);
		if (st == SHADE_AGAIN || (st == SHADE_OK &&
					  fl > len - off - hl))
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "%s: send_frames: bytes end "
					       "inside a frame", t->address);
		if (st != SHADE_OK)
			return st;
		off += hl + (size_t)fl;
		n++;
	}
	if (n == 0)
		return SHADE_OK;
	SHADE_CHECK(check_usable(t, err));
	if (t->ops != NULL) {
		/* User channels take one frame per call. */
		for (off = 0; off < len; off += hl + (size_t)fl) {
			shade_frame_header_decode(p + off, len - off, SIZE_MAX,
						  &fl, &hl, NULL);
			iov.iov_base = (void *)(p + off + hl);
			iov.iov_len = (size_t)fl;
			SHADE_CHECK(user_send(t, &iov, 1, (size_t)fl, err));
		}
		return SHADE_OK;
	}
	STAT_ADD(t, frames_sent, n);
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	return write_or_queue(t, &iov, 1, err);
}

shade_status shade_transport_send(shade_transport *t, const void *frame,
				  size_t len, shade_error **err)
{
	struct iovec iov;

	if (t != NULL && send_is_small(t, frame, len))
		return send_small(t, frame, len, err);
	iov.iov_base = (void *)frame;
	iov.iov_len = len;
	return sendv_common(t, &iov, 1, false, err);
}

/* ------------------------------------------------------------ reading */

/* Input buffers.  A non-blocking transport gives its buffer back when
 * it is empty (an idle server connection holds none) and takes one again
 * at its next read.  Each thread keeps one spare buffer of the default
 * size, so a loop answering one request at a time does not go to the
 * allocator for 64 KiB twice per request.  Plain malloc: the spare
 * belongs to no talloc context; it is freed when its thread exits. */
static _Thread_local uint8_t *tl_spare;   /* this thread's spare */
static _Thread_local bool tl_spare_keyed; /* spare_key set for it */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

/* At thread exit: free the thread's spare (the key's value points at
 * tl_spare, still valid while key destructors run). */
static void spare_exit(void *slot)
{
	free(*(uint8_t **)slot);
	*(uint8_t **)slot = NULL;
}

static void spare_init(void)
{
	spare_ok = pthread_key_create(&spare_key, spare_exit) == 0;
}

/* A buffer of size bytes, the thread's spare when it fits; NULL when out
 * of memory. */
static uint8_t *in_alloc(size_t size)
{
	uint8_t *p = tl_spare;

	if (p != NULL && size == DEFAULT_READ_BUFFER) {
		tl_spare = NULL;
		return p;
	}
	return malloc(size);
}

/* in_release() when the buffer cannot simply become the spare of a
 * thread already set up for one. */
static __attribute__((noinline)) void in_release_slow(uint8_t *p,
							size_t size)
{
	if (p == NULL || size != DEFAULT_READ_BUFFER || tl_spare != NULL) {
		free(p);
		return;
	}
	if (!tl_spare_keyed) {
		/* Once per thread: have the spare freed when it exits. */
		pthread_once(&spare_once, spare_init);
		if (!spare_ok || pthread_setspecific(spare_key, &tl_spare) != 0) {
			free(p);
			return;
		}
		tl_spare_keyed = true;
	}
	tl_spare = p;
}

/* Give back a buffer from in_alloc (NULL is fine). */
static inline void in_release(uint8_t *p, size_t size)
{
	if (p != NULL && size == DEFAULT_READ_BUFFER && tl_spare == NULL &&
	    tl_spare_keyed)
		tl_spare = p;
	else
		in_release_slow(p, size);
}

/* Release the input buffer if it holds nothing, in non-blocking mode, so
 * idle server connections hold no buffer. */
static inline void in_trim(shade_transport *t)
{
	if (t->in_start == t->in_end) {
		t->in_start = t->in_end = 0;
		t->in_need = 0;
		if (t->nonblocking) {
			in_release(t->in, t->in_size);
			t->in = NULL;
		}
	}
}

/* Take a complete frame out of the buffered input if there is one:
 * SHADE_OK (frame on mem_ctx), SHADE_AGAIN (more bytes needed), or a
 * protocol/limit failure.  No system call. */
static shade_status rx_extract(shade_transport *t, void *mem_ctx,
			       uint8_t **frame, size_t *len, shade_error **err)
{
	size_t avail, hl, have, cap;
	uint64_t flen;
	char msg[160];
	shade_status st;
	uint8_t *p;

	if (t->big != NULL) {
		if (t->big_have < t->big_len)
			return SHADE_AGAIN;
		*frame = talloc_steal(mem_ctx, t->big);
		*len = t->big_len;
		t->big = NULL;
		t->big_len = t->big_have = t->big_cap = 0;
		STAT_ADD(t, frames_received, 1);
		return SHADE_OK;
	}
	avail = t->in_end - t->in_start;
	if (avail == 0)
		return SHADE_AGAIN;
	if (!header_quick(t->in + t->in_start, avail, t->max_frame, &flen,
			  &hl)) {
		st = header_parse(t->in + t->in_start, avail, t->max_frame,
				  &flen, &hl, msg, sizeof(msg));
		if (st == SHADE_AGAIN)
			return SHADE_AGAIN;
		if (st < 0)
			return fail(t, err, st, "%s: %s", t->address, msg);
	}
	if (hl + flen <= avail) {
		p = talloc_size(mem_ctx, flen);
		if (p == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory for a frame of "
					       "%zu bytes", (size_t)flen);
		memcpy(p, t->in + t->in_start + hl, flen);
		t->in_start += hl + flen;
		t->in_need = 0;
		in_trim(t);
		*frame = p;
		*len = flen;
		STAT_ADD(t, frames_received, 1);
		return SHADE_OK;
	}
	if (hl + flen <= t->in_size) {
		t->in_need = hl + flen;
		return SHADE_AGAIN;
	}
	/* Big frame: give it a buffer of its own, sized for what has come
	 * so far and grown as more arrives. */
	have = avail - hl;
	cap = t->in_size > have * 2 ? t->in_size : have * 2;
	if (cap > flen)
		cap = flen;
	p = talloc_size(NULL, cap);
	if (p == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM,
				       "out of memory for a frame of %zu bytes",
				       (size_t)flen);
	memcpy(p, t->in + t->in_start + hl, have);
	t->big = p;
	t->big_len = flen;
	t->big_have = have;
	t->big_cap = cap;
	t->in_start = t->in_end = 0;
	t->in_need = 0;
	in_trim(t);
	return SHADE_AGAIN;
}

/* Where the next read goes: *buf, at most *n bytes. */
static shade_status rx_room(shade_transport *t, uint8_t **buf, size_t *n,
			    shade_error **err)
{
	size_t used, cap;
	uint8_t *p;

	if (t->big != NULL) {
		if (t->big_have == t->big_cap) {
			cap = t->big_cap * 2;
			if (cap > t->big_len || cap < t->big_cap)
				cap = t->big_len;
			p = talloc_realloc_size(NULL, t->big, cap);
			if (p == NULL)
				return shade_error_set(err, SHADE_ERR_NOMEM,
						       "out of memory for a "
						       "frame of %zu bytes",
						       t->big_len);
			t->big = p;
			t->big_cap = cap;
		}
		*buf = t->big + t->big_have;
		*n = t->big_cap - t->big_have;
		return SHADE_OK;
	}
	if (t->in == NULL) {
		t->in = in_alloc(t->in_size);
		if (t->in == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		t->in_start = t->in_end = 0;
	}
	used = t->in_end - t->in_start;
	if (t->in_start > 0 &&
	    (t->in_end == t->in_size || t->in_start + t->in_need > t->in_size)) {
		memmove(t->in, t->in + t->in_start, used);
		t->in_start = 0;
		t->in_end = used;
	}
	*buf = t->in + t->in_end;
	*n = t->in_size - t->in_end;
	return SHADE_OK;
}

/* The fd reached end of file: say how much of a frame was missing. */
static shade_status rx_eof(shade_transport *t, shade_error **err)
{
	char what[200];
	size_t avail = t->in_end - t->in_start;
	size_t hl = 0;
	uint64_t flen = 0;

	if (avail > 0 && t->in_need > 0)
		header_parse(t->in + t->in_start, avail, t->max_frame, &flen,
			     &hl, what, sizeof(what));
	if (t->big != NULL)
		snprintf(what, sizeof(what),
			 "peer closed mid-frame: %zu of %zu payload bytes "
			 "missing", t->big_len - t->big_have, t->big_len);
	else if (avail > 0 && t->in_need > 0)
		snprintf(what, sizeof(what),
			 "peer closed mid-frame: %zu of %zu payload bytes "
			 "missing", t->in_need - avail, (size_t)flen);
	else if (avail > 0)
		snprintf(what, sizeof(what),
			 "peer closed mid-frame: frame header incomplete "
			 "(%zu byte(s) received)", avail);
	else
		snprintf(what, sizeof(what), "peer closed");
	return peer_gone(t, err, what);
}

/* Receive through a user channel, checking the frame it returns. */
static shade_status user_recv(shade_transport *t, void *mem_ctx,
			      uint8_t **frame, size_t *len, int timeout_ms,
			      shade_error **err)
{
	uint8_t *f = NULL;
	size_t l = 0;
	shade_status st;

	st = t->ops->recv(t->impl, mem_ctx, &f, &l, timeout_ms, err);
	if (st != SHADE_OK)
		return st;
	if (f == NULL || l == 0 || l > t->max_frame) {
		talloc_free(f);
		if (l > t->max_frame)
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "%s: frame of %zu bytes exceeds "
					       "the limit of %zu bytes",
					       t->address, l, t->max_frame);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s: channel returned an empty frame",
				       t->address);
	}
	STAT_ADD(t, frames_received, 1);
	STAT_ADD(t, bytes_received, l);
	*frame = f;
	*len = l;
	return SHADE_OK;
}

/* How long recv may still wait: timeout_ms itself when it is 0 or -1,
 * else what is left until deadline. */
static inline int wait_ms(int timeout_ms, int64_t deadline)
{
	return timeout_ms > 0 ? clock_remaining_ms(deadline) : timeout_ms;
}

shade_status shade_transport_recv(shade_transport *t, void *mem_ctx,
				  uint8_t **frame, size_t *len, int timeout_ms,
				  shade_error **err)
{
	int64_t deadline;
	bool did_read = false, bounded;
	shade_status st;
	uint8_t *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int w;

	if (t == NULL || frame == NULL || len == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "recv: NULL argument");
	SHADE_CHECK(check_usable(t, err));
	if (t->ops != NULL)
		return user_recv(t, mem_ctx, frame, len, timeout_ms, err);
	/* Only a positive timeout needs the clock: 0 never waits and -1
	 * waits as long as it takes. */
	deadline = timeout_ms > 0 ? clock_now_ms() + timeout_ms : -1;
	/* A bounded wait on a blocking fd: sockets try a MSG_DONTWAIT read
	 * first (one system call when data is there), other fds poll
	 * first. */
	bounded = !t->nonblocking && timeout_ms >= 0;
	for (;;) {
		st = rx_extract(t, mem_ctx, frame, len, err);
		if (st != SHADE_AGAIN)
			return st;
		if (timeout_ms == 0 && did_read)
			return SHADE_AGAIN;
		SHADE_CHECK(rx_room(t, &buf, &n, err));
		if (bounded && !t->rsock) {
			w = transport_poll_fd(t->rfd, POLLIN,
					      wait_ms(timeout_ms, deadline));
			if (w < 0)
				return io_fail(t, err, errno, "poll");
			if (w == 0)
				goto timed_out;
		}
		STAT_ADD(t, read_calls, 1);
		if (bounded && t->rsock)
			r = recv(t->rfd, buf, n, MSG_DONTWAIT);
		else
			r = read(t->rfd, buf, n);
		if (r > 0) {
			STAT_ADD(t, bytes_received, (uint64_t)r);
			t->drained = (size_t)r < n;
			if (t->big != NULL)
				t->big_have += (size_t)r;
			else
				t->in_end += (size_t)r;
			did_read = true;
			continue;
		}
		if (r == 0)
			return rx_eof(t, err);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return io_fail(t, err, errno, "read");
		did_read = true;
		if (timeout_ms == 0)
			return SHADE_AGAIN;
		w = transport_poll_fd(t->rfd, POLLIN,
				      wait_ms(timeout_ms, deadline));
		if (w < 0)
			return io_fail(t, err, errno, "poll");
		if (w == 0)
			goto timed_out;
	}
timed_out:
	in_trim(t);
	if (timeout_ms == 0)
		return SHADE_AGAIN;
	return shade_error_set(err, SHADE_ERR_TIMEOUT,
			       "%s: no frame within %d ms", t->address,
			       timeout_ms);
}

shade_status shade_transport_try_recv(shade_transport *t, void *mem_ctx,
				      uint8_t **frame, size_t *len,
				      shade_error **err)
{
	return shade_transport_recv(t, mem_ctx, frame, len, 0, err);
}

/* shade_transport_has_frame() for an fd transport. */
static inline bool frame_ready(const shade_transport *t)
{
	size_t avail, hl;
	uint64_t flen;
	char msg[8];
	shade_status st;

	if (t->big != NULL)
		return t->big_have == t->big_len;
	avail = t->in_end - t->in_start;
	if (avail == 0)
		return false;
	if (t->in_need > 0)
		return avail >= t->in_need;
	if (header_quick(t->in + t->in_start, avail, t->max_frame, &flen, &hl))
		return hl + flen <= avail;
	st = header_parse(t->in + t->in_start, avail, t->max_frame, &flen, &hl,
			  msg, sizeof(msg));
	/* A bad header counts as "ready": try_recv reports it at once. */
	return st < 0 || (st == SHADE_OK && hl + flen <= avail);
}

bool transport_drained(const shade_transport *t)
{
	return t->ops == NULL && t->drained && !frame_ready(t);
}

bool shade_transport_has_frame(const shade_transport *t)
{
	return t != NULL && t->ops == NULL && frame_ready(t);
}

/* ------------------------------------------------------------ modes */

/* Set or clear O_NONBLOCK on fd. */
static int set_fd_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

shade_status shade_transport_set_nonblocking(shade_transport *t, bool on,
					     shade_error **err)
{
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL transport");
	if (t->ops != NULL)
		return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
				       "%s: user transports have no "
				       "non-blocking mode", t->address);
	SHADE_CHECK(check_usable(t, err));
	if (on == t->nonblocking)
		return SHADE_OK;
	if (!on) {
		t->nonblocking = false;
		SHADE_CHECK(shade_transport_flush(t, err));
	}
	if (set_fd_nonblock(t->rfd, on) < 0 ||
	    (t->wfd != t->rfd && set_fd_nonblock(t->wfd, on) < 0))
		return io_fail(t, err, errno, "fcntl");
	t->nonblocking = on;
	return SHADE_OK;
}

size_t shade_transport_out_pending(const shade_transport *t)
{
	return t ? t->out_end - t->out_start : 0;
}

bool shade_transport_wants_write(const shade_transport *t)
{
	return t != NULL && t->out_end != t->out_start;
}

/* ------------------------------------------------------------ properties */

int shade_transport_fd(const shade_transport *t)
{
	if (t == NULL || t->closed)
		return -1;
	if (t->ops != NULL)
		return t->ops->fd ? t->ops->fd(t->impl) : -1;
	return t->rfd;
}

int shade_transport_write_fd(const shade_transport *t)
{
	if (t == NULL || t->closed)
		return -1;
	if (t->ops != NULL)
		return t->ops->fd ? t->ops->fd(t->impl) : -1;
	return t->wfd;
}

const char *shade_transport_address(const shade_transport *t)
{
	return t ? t->address : "(null)";
}

size_t shade_transport_max_frame(const shade_transport *t)
{
	return t ? t->max_frame : 0;
}

void shade_transport_set_max_frame(shade_transport *t, size_t max)
{
	if (t != NULL)
		t->max_frame = max ? max : SHADE_TRANSPORT_DEFAULT_MAX_FRAME;
}

pid_t shade_transport_child_pid(const shade_transport *t)
{
	return t ? t->pid : -1;
}

void shade_transport_stats_get(const shade_transport *t,
			       shade_transport_stats *out)
{
	if (out == NULL)
		return;
	if (t == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	out->frames_sent = STAT_GET(t, frames_sent);
	out->bytes_sent = STAT_GET(t, bytes_sent);
	out->frames_received = STAT_GET(t, frames_received);
	out->bytes_received = STAT_GET(t, bytes_received);
	out->write_calls = STAT_GET(t, write_calls);
	out->read_calls = STAT_GET(t, read_calls);
}

shade_status shade_transport_shutdown(shade_transport *t, shade_error **err)
{
	bool done = false;

	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL transport");
	if (t->ops != NULL)
		return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
				       "%s: user transports cannot be shut down",
				       t->address);
	if (t->closed)
		return SHADE_OK;
	if (!t->rsock && !t->wsock && t->pid <= 0)
		return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
				       "%s: pipes cannot be shut down",
				       t->address);
	fail(t, NULL, SHADE_ERR_CONNECTION_LOST, "%s: transport shut down",
	     t->address);
	if (t->rsock)
		done = shutdown(t->rfd, SHUT_RDWR) == 0;
	if (t->wsock && t->wfd != t->rfd)
		done = shutdown(t->wfd, SHUT_RDWR) == 0 || done;
	pthread_mutex_lock(&t->lock);
	if (t->pid > 0 && !t->reaped)
		done = kill(t->pid, SIGTERM) == 0 || done;
	pthread_mutex_unlock(&t->lock);
	if (!done)
		return shade_error_set(err, SHADE_ERR_IO, "%s: shutdown: %s",
				       t->address, strerror(errno));
	return SHADE_OK;
}

void shade_transport_close(shade_transport *t)
{
	if (t == NULL || t->closed)
		return;
	t->closed = true;
	if (t->ops != NULL) {
		if (t->ops->close != NULL)
			t->ops->close(t->impl);
		return;
	}
	if (t->own_fds) {
		if (t->wfd >= 0 && t->wfd != t->rfd)
			close(t->wfd);
		if (t->rfd >= 0)
			close(t->rfd);
	}
	t->rfd = t->wfd = -1;
	transport_exec_stop(t);
	in_release(t->in, t->in_size);
	t->in = NULL;
	TALLOC_FREE(t->big);
	TALLOC_FREE(t->out);
	t->in_start = t->in_end = t->in_need = 0;
	t->big_len = t->big_have = t->big_cap = 0;
	t->out_cap = t->out_start = t->out_end = 0;
}
