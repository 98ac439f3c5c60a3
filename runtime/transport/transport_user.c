/*
 * transport_user.c - the user channel kind: frames go through the
 * caller's shade_transport_ops (send, recv, fd, close), one whole frame
 * per call; there is no queue, no non-blocking mode and no shutdown.
 */
#include <string.h>

#include <talloc.h>

#include "transport/transport_int.h"

/* The kind's state: the caller's channel. */
struct user_channel {
	const shade_transport_ops *ops; /* the channel's functions */
	void *impl;                     /* their state (the caller's) */
};

static const struct transport_kind user_kind;

shade_status shade_transport_new(void *mem_ctx, const shade_transport_ops *ops,
				 void *impl, const shade_transport_opts *opts,
				 shade_transport **out, shade_error **err)
{
	struct user_channel *u;
	shade_transport *t;

	if (out == NULL || ops == NULL || ops->send == NULL || ops->recv == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "transport ops need send and recv");
	t = transport_alloc(mem_ctx, opts, &user_kind);
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	u = talloc(t, struct user_channel);
	if (u == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	u->ops = ops;
	u->impl = impl;
	t->kind_state = u;
	talloc_free(t->address);
	t->address = talloc_strdup(t, ops->name ? ops->name : "user");
	if (t->address == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*out = t;
	return SHADE_OK;
}

/* Concatenate iov for a user channel's send(). */
static shade_status user_send(shade_transport *t, const struct iovec *iov,
			      int iovcnt, size_t total, shade_error **err)
{
	const struct user_channel *u = t->kind_state;
	uint8_t *buf;
	size_t off = 0;
	shade_status st;
	int i;

	STAT_ADD(t, frames_sent, 1);
	if (iovcnt == 1) {
		st = u->ops->send(u->impl, iov[0].iov_base, total, err);
	} else {
		buf = talloc_size(NULL, total);
		if (buf == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		for (i = 0; i < iovcnt; i++) {
			memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		st = u->ops->send(u->impl, buf, total, err);
		talloc_free(buf);
	}
	if (st == SHADE_OK)
		STAT_ADD(t, bytes_sent, total);
	return st;
}

/* The kind's send: the generic path (checks, then user_sendv). */
static shade_status user_send_one(shade_transport *t, const void *frame,
				  size_t len, shade_error **err)
{
	return transport_send_one(t, frame, len, false, err);
}

/* The kind's sendv: sent at once (a user channel has no queue, so a
 * corked frame goes out too). */
static shade_status user_sendv(shade_transport *t, const struct iovec *iov,
			       int iovcnt, size_t total, bool cork,
			       shade_error **err)
{
	(void)cork;
	return user_send(t, iov, iovcnt, total, err);
}

/* The kind's send_frames: one frame per call of the channel's send. */
static shade_status user_send_frames(shade_transport *t, const uint8_t *p,
				     size_t len, uint64_t n, shade_error **err)
{
	struct iovec iov;
	uint64_t fl;
	size_t off, hl;

	(void)n;
	for (off = 0; off < len; off += hl + (size_t)fl) {
		shade_frame_header_decode(p + off, len - off, SIZE_MAX,
					  &fl, &hl, NULL);
		iov.iov_base = (void *)(p + off + hl);
		iov.iov_len = (size_t)fl;
		SHADE_CHECK(user_send(t, &iov, 1, (size_t)fl, err));
	}
	return SHADE_OK;
}

/* Receive through a user channel, checking the frame it returns. */
static shade_status user_recv(shade_transport *t, void *mem_ctx,
			      uint8_t **frame, size_t *len, int timeout_ms,
			      shade_error **err)
{
	const struct user_channel *u = t->kind_state;
	uint8_t *f = NULL;
	size_t l = 0;
	shade_status st;

	st = u->ops->recv(u->impl, mem_ctx, &f, &l, timeout_ms, err);
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

/* Nothing is buffered here: the channel hands whole frames. */
static bool user_nothing_buffered(const shade_transport *t)
{
	(void)t;
	return false;
}

/* Nothing to flush: sends go out at once. */
static shade_status user_flush(shade_transport *t, shade_error **err)
{
	(void)t;
	(void)err;
	return SHADE_OK;
}

/* User channels have no non-blocking mode. */
static shade_status user_set_nonblocking(shade_transport *t, bool on,
					 shade_error **err)
{
	(void)on;
	return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
			       "%s: user transports have no non-blocking "
			       "mode", t->address);
}

/* The channel's fd (one for both directions), or -1. */
static int user_fd(const shade_transport *t, bool write)
{
	const struct user_channel *u = t->kind_state;

	(void)write;
	return u->ops->fd ? u->ops->fd(u->impl) : -1;
}

/* User channels cannot be shut down. */
static shade_status user_shutdown(shade_transport *t, shade_error **err)
{
	return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
			       "%s: user transports cannot be shut down",
			       t->address);
}

/* Close the channel through its close(). */
static void user_close(shade_transport *t)
{
	const struct user_channel *u = t->kind_state;

	if (u != NULL && u->ops->close != NULL)
		u->ops->close(u->impl);
}

/* No child behind a user channel. */
static pid_t user_child_pid(const shade_transport *t)
{
	(void)t;
	return -1;
}

/* No child behind a user channel. */
static bool user_exited(shade_transport *t, int wait_ms, char *buf,
			size_t bufsz)
{
	(void)t;
	(void)wait_ms;
	(void)buf;
	(void)bufsz;
	return false;
}

static const struct transport_kind user_kind = {
	.send = user_send_one,
	.sendv = user_sendv,
	.send_frames = user_send_frames,
	.recv = user_recv,
	.has_frame = user_nothing_buffered,
	.drained = user_nothing_buffered,
	.flush = user_flush,
	.set_nonblocking = user_set_nonblocking,
	.fd = user_fd,
	.shutdown = user_shutdown,
	.close = user_close,
	.child_pid = user_child_pid,
	.exited = user_exited,
};
