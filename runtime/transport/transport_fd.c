/*
 * transport_fd.c - the fd kind: its table, transports over given fds
 * (from_fds, pair), non-blocking mode, shutdown and close.  Its output
 * and input live in transport_fd_send.c and transport_fd_recv.c; exec:
 * transports (transport_exec.c) and the address kinds (transport_addr.c)
 * are fd transports too.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>

#include "transport/transport_int.h"

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
	t = transport_alloc(mem_ctx, opts, &transport_fd_kind);
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

shade_status transport_adopt_socket(void *mem_ctx, int fd, char *address,
				    bool nonblock,
				    const shade_transport_opts *opts,
				    shade_transport **out, shade_error **err)
{
	shade_transport *t = transport_alloc(mem_ctx, opts, &transport_fd_kind);

	if (t == NULL) {
		close(fd);
		talloc_free(address);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	talloc_free(t->address);
	t->address = talloc_steal(t, address);
	t->rfd = t->wfd = fd;
	t->own_fds = true;
	t->rsock = t->wsock = true;
	t->fd_nonblock = nonblock;
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

/* Set or clear O_NONBLOCK on fd. */
static int set_fd_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

/* The fd kind's set_nonblocking: O_NONBLOCK on both fds (leaving the
 * mode flushes the queue first). */
shade_status transport_fd_set_nonblocking(shade_transport *t, bool on,
					  shade_error **err)
{
	SHADE_CHECK(transport_check_usable(t, err));
	if (on == t->nonblocking)
		return SHADE_OK;
	if (!on) {
		t->nonblocking = false;
		SHADE_CHECK(transport_fd_flush(t, err));
	}
	/* An accepted socket is O_NONBLOCK from the start: nothing to do
	 * to enter the mode. */
	if (on != t->fd_nonblock &&
	    (set_fd_nonblock(t->rfd, on) < 0 ||
	     (t->wfd != t->rfd && set_fd_nonblock(t->wfd, on) < 0)))
		return transport_io_fail(t, err, errno, "fcntl");
	t->fd_nonblock = on;
	t->nonblocking = on;
	return SHADE_OK;
}

int transport_fd_fd(const shade_transport *t, bool write)
{
	return write ? t->wfd : t->rfd;
}

bool transport_fd_shutdown_sockets(shade_transport *t)
{
	bool done = false;

	if (t->rsock)
		done = shutdown(t->rfd, SHUT_RDWR) == 0;
	if (t->wsock && t->wfd != t->rfd)
		done = shutdown(t->wfd, SHUT_RDWR) == 0 || done;
	return done;
}

/* The fd kind's shutdown: sockets only (pipes cannot be). */
shade_status transport_fd_shutdown(shade_transport *t, shade_error **err)
{
	if (t->closed)
		return SHADE_OK;
	if (!t->rsock && !t->wsock)
		return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
				       "%s: pipes cannot be shut down",
				       t->address);
	transport_fail(t, NULL, SHADE_ERR_CONNECTION_LOST,
		       "%s: transport shut down", t->address);
	if (!transport_fd_shutdown_sockets(t))
		return shade_error_set(err, SHADE_ERR_IO, "%s: shutdown: %s",
				       t->address, strerror(errno));
	return SHADE_OK;
}

void transport_set_closer(shade_transport *t, struct transport_closer *cl)
{
	if (t->kind == &transport_fd_kind)
		t->closer = cl;
}

/* Hand t's socket to its closer when closing it here would cost: input
 * the peer sent is still unread (the kernel frees it at close), or bytes
 * are queued (the last words, which wake the peer).  True when taken. */
static bool fd_close_later(shade_transport *t)
{
	size_t queued = t->out_end - t->out_start;

	return t->closer != NULL && t->own_fds && t->rfd >= 0 &&
	       t->rfd == t->wfd && (!t->drained || queued > 0) &&
	       transport_closer_take(t->closer, t->rfd,
				     t->out != NULL ? t->out + t->out_start
						    : NULL,
				     queued);
}

/* The fd kind's close: the fds (when owned; perhaps by the closer) and
 * the buffers. */
void transport_fd_close(shade_transport *t)
{
	if (!fd_close_later(t) && t->own_fds) {
		if (t->wfd >= 0 && t->wfd != t->rfd)
			close(t->wfd);
		if (t->rfd >= 0)
			close(t->rfd);
	}
	t->rfd = t->wfd = -1;
	transport_in_release(t->in, t->in_size);
	t->in = NULL;
	TALLOC_FREE(t->big);
	TALLOC_FREE(t->out);
	t->in_start = t->in_end = t->in_need = 0;
	t->big_len = t->big_have = t->big_cap = 0;
	t->out_cap = 0;
	OUT_SET(t, out_start, 0);
	OUT_SET(t, out_end, 0);
}

/* No child behind an fd transport. */
pid_t transport_fd_child_pid(const shade_transport *t)
{
	(void)t;
	return -1;
}

/* No child behind an fd transport. */
bool transport_fd_exited(shade_transport *t, int wait_ms, char *buf,
			 size_t bufsz)
{
	(void)t;
	(void)wait_ms;
	(void)buf;
	(void)bufsz;
	return false;
}

const struct transport_kind transport_fd_kind = {
	.send = transport_fd_send,
	.sendv = transport_fd_sendv,
	.send_frames = transport_fd_send_frames,
	.recv = transport_fd_recv,
	.has_frame = transport_fd_has_frame,
	.drained = transport_fd_drained,
	.flush = transport_fd_flush,
	.set_nonblocking = transport_fd_set_nonblocking,
	.fd = transport_fd_fd,
	.shutdown = transport_fd_shutdown,
	.close = transport_fd_close,
	.child_pid = transport_fd_child_pid,
	.exited = transport_fd_exited,
};
