/*
 * transport.c - the transport object: allocation and options, sticky
 * failures, the clock, and the public calls.  Each public call checks its
 * arguments (and, where it sends or receives, the sticky failure) and
 * goes through t->kind: the fd kind (transport_fd*.c), a user channel
 * (transport_user.c) or an exec: child (transport_exec.c).
 *
 * See transport_int.h for the invariants of struct shade_transport.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <talloc.h>

#include "base/clock_int.h"
#include "transport/transport_int.h"

/* Smallest input buffer the options may ask for. */
#define MIN_READ_BUFFER ((size_t)64)
/* Grace before SIGTERM for an exec: child when the options say 0. */
#define DEFAULT_EXEC_GRACE_MS 500

/* ------------------------------------------------------------ helpers */

void transport_opts_resolve(const shade_transport_opts *in,
			    shade_transport_opts *out)
{
	shade_transport_opts zero = { 0 };

	*out = in ? *in : zero;
	if (out->max_frame == 0)
		out->max_frame = SHADE_TRANSPORT_DEFAULT_MAX_FRAME;
	if (out->read_buffer == 0)
		out->read_buffer = TRANSPORT_DEFAULT_READ_BUFFER;
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
	int64_t deadline = timeout_ms < 0 ? -1 : clock_now_ms() + timeout_ms;
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

/* Destructor: close the channel. */
static int transport_destructor(shade_transport *t)
{
	shade_transport_close(t);
	pthread_mutex_destroy(&t->lock);
	return 0;
}

shade_transport *transport_alloc(void *mem_ctx, const shade_transport_opts *o,
				 const struct transport_kind *kind)
{
	shade_transport_opts r;
	shade_transport *t;

	transport_opts_resolve(o, &r);
	t = talloc_zero(mem_ctx, shade_transport);
	if (t == NULL)
		return NULL;
	t->kind = kind;
	t->rfd = -1;
	t->wfd = -1;
	t->max_frame = r.max_frame;
	t->in_size = r.read_buffer;
	pthread_mutex_init(&t->lock, NULL);
	t->address = talloc_strdup(t, "?");
	if (t->address == NULL) {
		talloc_free(t);
		return NULL;
	}
	talloc_set_destructor(t, transport_destructor);
	return t;
}

/* Record a sticky failure on t (formatting the message once) and report
 * it through err.  The first failure wins: when t is already broken, that
 * failure is reported instead.  Returns the code reported. */
shade_status
transport_fail(shade_transport *t, shade_error **err, shade_status code,
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

/* The peer went away (EOF, EPIPE, reset); `what` says how.  A kind whose
 * child has exited makes this SHADE_ERR_EXEC with the exit status. */
shade_status transport_peer_gone(shade_transport *t, shade_error **err,
				 const char *what)
{
	char status[256];
	bool exited = false;

	/* The send and the receive side may both get here. */
	pthread_mutex_lock(&t->lock);
	exited = t->kind->exited(t, TRANSPORT_EXEC_EXIT_WAIT_MS, status,
				 sizeof(status));
	pthread_mutex_unlock(&t->lock);
	if (exited)
		return transport_fail(t, err, SHADE_ERR_EXEC, "%s: %s (%s)",
				      t->address, what, status);
	return transport_fail(t, err, SHADE_ERR_CONNECTION_LOST, "%s: %s",
			      t->address, what);
}

/* Map a failed read/write errno to a status. */
shade_status transport_io_fail(shade_transport *t, shade_error **err, int e,
			       const char *op)
{
	char what[160];

	if (e == EPIPE || e == ECONNRESET || e == ENOTCONN) {
		snprintf(what, sizeof(what), "peer closed (%s: %s)", op,
			 strerror(e));
		return transport_peer_gone(t, err, what);
	}
	return transport_fail(t, err, SHADE_ERR_IO, "%s: %s failed: %s",
			      t->address, op, strerror(e));
}

/* transport_check_usable()'s failure: report the sticky error, or "transport
 * closed".  Kept out of line so the usable case pays for no stack frame. */
static __attribute__((cold, noinline)) shade_status
transport_unusable(shade_transport *t, shade_status code, shade_error **err)
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

shade_status transport_check_usable(shade_transport *t,
				    shade_error **err)
{
	shade_status code = __atomic_load_n(&t->broken, __ATOMIC_ACQUIRE);

	if (code < 0 || t->closed)
		return transport_unusable(t, code, err);
	return SHADE_OK;
}

/* ------------------------------------------------------------ sending */

/* sendv, or with `cork` queue the frame without writing it: the checks
 * every kind shares, then the kind's sendv. */
static shade_status sendv_common(shade_transport *t, const struct iovec *iov,
				 int iovcnt, bool cork, shade_error **err)
{
	size_t total = 0;
	int i;

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
	SHADE_CHECK(transport_check_usable(t, err));
	return t->kind->sendv(t, iov, iovcnt, total, cork, err);
}

shade_status transport_send_one(shade_transport *t, const void *frame,
				size_t len, bool cork, shade_error **err)
{
	struct iovec iov;

	iov.iov_base = (void *)frame;
	iov.iov_len = len;
	return sendv_common(t, &iov, 1, cork, err);
}

shade_status shade_transport_send(shade_transport *t, const void *frame,
				  size_t len, shade_error **err)
{
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "sendv: bad arguments");
	return t->kind->send(t, frame, len, err);
}

shade_status shade_transport_sendv(shade_transport *t, const struct iovec *iov,
				   int iovcnt, shade_error **err)
{
	if (t != NULL && iovcnt == 1 && iov != NULL)
		return t->kind->send(t, iov[0].iov_base, iov[0].iov_len, err);
	return sendv_common(t, iov, iovcnt, false, err);
}

shade_status shade_transport_queue(shade_transport *t, const void *frame,
				   size_t len, shade_error **err)
{
	return transport_send_one(t, frame, len, true, err);
}

shade_status shade_transport_send_frames(shade_transport *t, const void *frames,
					 size_t len, shade_error **err)
{
	const uint8_t *p = frames;
	size_t off = 0, hl = 0;
	uint64_t fl = 0, n = 0;
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
	SHADE_CHECK(transport_check_usable(t, err));
	return t->kind->send_frames(t, p, len, n, err);
}

shade_status shade_transport_flush(shade_transport *t, shade_error **err)
{
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL transport");
	return t->kind->flush(t, err);
}

/* ------------------------------------------------------------ receiving */

shade_status shade_transport_recv(shade_transport *t, void *mem_ctx,
				  uint8_t **frame, size_t *len, int timeout_ms,
				  shade_error **err)
{
	if (t == NULL || frame == NULL || len == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "recv: NULL argument");
	SHADE_CHECK(transport_check_usable(t, err));
	return t->kind->recv(t, mem_ctx, frame, len, timeout_ms, err);
}

shade_status transport_recv_slot(shade_transport *t, uint8_t *slot,
				 size_t cap, void *mem_ctx, uint8_t **frame,
				 size_t *len, int timeout_ms,
				 shade_error **err)
{
	shade_status st;

	t->rx_slot = slot;
	t->rx_slot_cap = cap;
	st = shade_transport_recv(t, mem_ctx, frame, len, timeout_ms, err);
	t->rx_slot = NULL;
	return st;
}

shade_status shade_transport_try_recv(shade_transport *t, void *mem_ctx,
				      uint8_t **frame, size_t *len,
				      shade_error **err)
{
	return shade_transport_recv(t, mem_ctx, frame, len, 0, err);
}

bool transport_drained(const shade_transport *t)
{
	return t->kind->drained(t);
}

bool shade_transport_has_frame(const shade_transport *t)
{
	return t != NULL && t->kind->has_frame(t);
}

/* ------------------------------------------------------------ modes */

shade_status shade_transport_set_nonblocking(shade_transport *t, bool on,
					     shade_error **err)
{
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL transport");
	return t->kind->set_nonblocking(t, on, err);
}

size_t shade_transport_out_pending(const shade_transport *t)
{
	return t ? __atomic_load_n(&t->out_end, __ATOMIC_RELAXED) -
			   __atomic_load_n(&t->out_start, __ATOMIC_RELAXED)
		 : 0;
}

bool shade_transport_wants_write(const shade_transport *t)
{
	return t != NULL &&
	       __atomic_load_n(&t->out_end, __ATOMIC_RELAXED) !=
		       __atomic_load_n(&t->out_start, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ properties */

int shade_transport_fd(const shade_transport *t)
{
	if (t == NULL || t->closed)
		return -1;
	return t->kind->fd(t, false);
}

int shade_transport_write_fd(const shade_transport *t)
{
	if (t == NULL || t->closed)
		return -1;
	return t->kind->fd(t, true);
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
	return t ? t->kind->child_pid(t) : -1;
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
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL transport");
	return t->kind->shutdown(t, err);
}

void shade_transport_close(shade_transport *t)
{
	if (t == NULL || t->closed)
		return;
	t->closed = true;
	t->kind->close(t);
}
