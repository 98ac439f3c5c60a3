/*
 * transport_int.h - internals shared by the transport modules.
 *
 * A transport is one object (struct shade_transport) behind a kind table
 * (struct transport_kind): the public calls in transport.c check their
 * arguments and the sticky failure, then go through t->kind, so the
 * common paths have no per-kind branches.  The files, lowest first:
 *   transport_frame.c    frame headers (encode, parse)
 *   transport.c          the object: allocation, sticky failures,
 *                        the public calls dispatching through t->kind
 *   transport_fd_send.c  fd kind, output: writes, the queue, small sends
 *   transport_fd_recv.c  fd kind, input: buffers, frames out of them
 *   transport_fd.c       fd kind: its table, from_fds/pair, modes, close
 *   transport_user.c     user channel kind (shade_transport_ops)
 *   transport_exec.c     exec kind: spawn, watch and reap a child
 *   transport_tls.c      tls kind: an fd kind whose bytes go through
 *                        a GnuTLS session (raw_read, raw_write)
 *   transport_addr.c     addresses: parse, connect, listen, accept
 *   transport_peer.c     the peer's kind and credentials (SO_PEERCRED)
 *
 * Invariants of struct shade_transport (the fd state, used by the fd and
 * exec kinds; a user channel leaves it zero):
 * - input: bytes [in_start, in_end) of `in` are read and not yet consumed;
 *   while `big` is set, a frame too large for `in` is being received
 *   directly into it and `in` is empty;
 * - output: bytes [out_start, out_end) of `out` are queued, only ever in
 *   non-blocking mode (leaving it flushes them);
 * - once `broken` is negative every send/recv returns it with broken_msg.
 * - the buffers `in`, `big` and `out` are top-level talloc allocations,
 *   not children of the transport: the send side and the receive side run
 *   in different threads and must not touch one talloc parent at once.
 */
#ifndef SHADE_TRANSPORT_INT_H
#define SHADE_TRANSPORT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shade/transport.h"

/* Size of the input buffer when the options say 0. */
#define TRANSPORT_DEFAULT_READ_BUFFER ((size_t)64 << 10)
/* How long EOF/EPIPE on an exec: transport waits for the child's exit
 * status before reporting a plain lost connection. */
#define TRANSPORT_EXEC_EXIT_WAIT_MS 200

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

/* What one kind of transport does.  Every slot is filled; the public
 * calls have checked t (not NULL), their arguments and, where they say
 * so, that t is usable (not closed, not broken). */
struct transport_kind {
	/* Send the frame of len bytes at frame (arguments not checked yet:
	 * the kind may take a fast path first, else it calls
	 * transport_send_one()). */
	shade_status (*send)(shade_transport *t, const void *frame, size_t len,
			     shade_error **err);
	/* Send (cork: only queue) one frame whose payload is iov, total
	 * bytes; checked, usable. */
	shade_status (*sendv)(shade_transport *t, const struct iovec *iov,
			      int iovcnt, size_t total, bool cork,
			      shade_error **err);
	/* Send the n whole frames (headers included) in p[0..len-1];
	 * checked, usable. */
	shade_status (*send_frames)(shade_transport *t, const uint8_t *p,
				    size_t len, uint64_t n, shade_error **err);
	/* Receive one frame onto mem_ctx (shade_transport_recv); usable. */
	shade_status (*recv)(shade_transport *t, void *mem_ctx,
			     uint8_t **frame, size_t *len, int timeout_ms,
			     shade_error **err);
	/* A whole frame is buffered (shade_transport_has_frame). */
	bool (*has_frame)(const shade_transport *t);
	/* The last read emptied the fd and no frame is buffered
	 * (transport_drained). */
	bool (*drained)(const shade_transport *t);
	/* Write queued output (shade_transport_flush). */
	shade_status (*flush)(shade_transport *t, shade_error **err);
	/* Enter or leave non-blocking mode. */
	shade_status (*set_nonblocking)(shade_transport *t, bool on,
					shade_error **err);
	/* The fd to poll for reading (write: for writing), or -1; t is
	 * open. */
	int (*fd)(const shade_transport *t, bool write);
	/* Shut the channel down both ways (shade_transport_shutdown). */
	shade_status (*shutdown)(shade_transport *t, shade_error **err);
	/* Release the channel; t->closed is already set. */
	void (*close)(shade_transport *t);
	/* The child process, or -1. */
	pid_t (*child_pid)(const shade_transport *t);
	/* The peer went away: if that was a child that has exited (waiting
	 * up to wait_ms for it), write how into buf and return true. */
	bool (*exited)(shade_transport *t, int wait_ms, char *buf,
		       size_t bufsz);
	/* NULL for plain fds.  Else the fd kind's receive path reads its
	 * bytes with this instead of read(2): at most n bytes into buf;
	 * bytes read, 0 at end of stream, -1 with errno (EAGAIN: nothing
	 * now; poll the read fd).  A failure it records on t itself
	 * (transport_fail) is what the caller reports. */
	ssize_t (*raw_read)(shade_transport *t, void *buf, size_t n);
	/* NULL for plain fds.  Else the fd kind's send path writes with
	 * this instead of writev(2), with the same contract as raw_read. */
	ssize_t (*raw_write)(shade_transport *t, const struct iovec *iov,
			     int cnt);
};

struct shade_transport {
	const struct transport_kind *kind; /* what this transport is */
	void *kind_state;               /* the kind's own state (user
					 * channel, exec child), or NULL */
	int rfd;                        /* fd frames are read from, or -1 */
	int wfd;                        /* fd frames are written to, or -1 */
	bool own_fds;                   /* close rfd/wfd when closing */
	bool rsock;                     /* rfd is a socket: MSG_DONTWAIT */
	bool wsock;                     /* wfd is a socket: MSG_NOSIGNAL */
	bool nonblocking;               /* fds are O_NONBLOCK, sends queue */
	bool fd_nonblock;               /* the fds are O_NONBLOCK already
					 * (an accepted socket), whatever
					 * the mode: blocking calls poll */
	bool closed;                    /* the channel has been closed */
	bool drained;                   /* the last read of a stream fd
					 * returned less than it asked for:
					 * the fd held no more bytes then */
	shade_status broken;            /* sticky failure, SHADE_OK if none;
					 * read and set atomically */
	shade_transport_stats stats;    /* counters */
	size_t max_frame;               /* largest payload accepted/sent */
	size_t in_size;                 /* capacity to give `in` */
	uint8_t *in;                    /* input buffer (in_alloc, lazily) */
	size_t in_start;                /* first unconsumed byte of `in` */
	size_t in_end;                  /* one past the last byte read */
	size_t in_need;                 /* whole size of the frame at
					 * in_start once its header is
					 * known, else 0 */
	uint8_t *big;                   /* large frame being received */
	size_t big_len;                 /* its payload length */
	size_t big_have;                /* payload bytes received so far */
	size_t big_cap;                 /* bytes allocated for it */
	uint8_t *rx_slot;               /* during transport_recv_slot: where
					 * a small frame goes instead of a
					 * new block, or NULL */
	size_t rx_slot_cap;             /* bytes at rx_slot */
	uint8_t *out;                   /* output queue (non-blocking mode) */
	size_t out_cap;                 /* bytes allocated for `out` */
	size_t out_start;               /* first queued byte */
	size_t out_end;                 /* one past the last queued byte */
	/* Fields the send and receive paths only touch on failure, behind
	 * the hot ones above so those share fewer cache lines. */
	char *address;                  /* description of the other end */
	pthread_mutex_t lock;           /* guards broken_msg and the kind's
					 * cold state (exec: reaping) */
	char broken_msg[256];           /* message of the sticky failure */
};

/* The kinds (tables in transport_fd.c, transport_user.c). */
SHADE_INTERNAL extern const struct transport_kind transport_fd_kind;

/* TLS server settings loaded once per listener (transport_tls.c). */
struct tls_server;

/* ---------------------------------------------------------------- frame */

/* The frame header of a len-byte payload into out; its size.  Inline, so
 * the small-frame send path gets it without a call. */
static inline size_t transport_header_encode(uint64_t len,
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

/* The usual frame header, decoded without transport_header_parse(): a
 * payload of 1 to 255 bytes, within max, in a 1- or 2-byte head.  False
 * (nothing written) for anything else, which transport_header_parse()
 * then handles. */
static inline bool transport_header_quick(const uint8_t *buf, size_t avail,
					  size_t max, uint64_t *len,
					  size_t *hdr_len)
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

/* shade_frame_header_decode() writing its message into msg instead of an
 * error object, so the receive path can keep it as the sticky message. */
SHADE_INTERNAL shade_status transport_header_parse(const uint8_t *buf,
						   size_t avail, size_t max,
						   uint64_t *len,
						   size_t *hdr_len, char *msg,
						   size_t msgsz);

/* ---------------------------------------------------------------- object */

/* Resolved options: defaults filled in. */
SHADE_INTERNAL void transport_opts_resolve(const shade_transport_opts *in,
					   shade_transport_opts *out);

/* Allocate a transport of the given kind on mem_ctx with options applied,
 * no channel yet (rfd = wfd = -1).  NULL when out of memory. */
SHADE_INTERNAL shade_transport *transport_alloc(
	void *mem_ctx, const shade_transport_opts *o,
	const struct transport_kind *kind);

/* Record a sticky failure on t (formatting the message once) and report
 * it through err.  The first failure wins: when t is already broken, that
 * failure is reported instead.  Returns the code reported. */
SHADE_INTERNAL shade_status transport_fail(shade_transport *t,
					   shade_error **err,
					   shade_status code,
					   const char *fmt, ...)
	SHADE_PRINTF(4, 5);

/* The peer went away (EOF, EPIPE, reset); `what` says how.  When the
 * kind reports an exited child this becomes SHADE_ERR_EXEC with its exit
 * status. */
SHADE_INTERNAL shade_status transport_peer_gone(shade_transport *t,
						shade_error **err,
						const char *what);

/* Map a failed read/write errno to a status. */
SHADE_INTERNAL shade_status transport_io_fail(shade_transport *t,
					      shade_error **err, int e,
					      const char *op);

/* Fail with the sticky error, or "transport closed", if t is unusable
 * (transport.c; inlined into its own send and receive paths). */
SHADE_INTERNAL shade_status transport_check_usable(shade_transport *t,
						   shade_error **err);

/* The generic send of one frame (or, with cork, its queueing): checks
 * the arguments and t, then t->kind->sendv. */
SHADE_INTERNAL shade_status transport_send_one(shade_transport *t,
					       const void *frame, size_t len,
					       bool cork, shade_error **err);

/* True when the last read emptied the fd (a short read) and no whole
 * frame is buffered: another read now would most likely find nothing.
 * A level-triggered poll loop can wait instead of reading again
 * (epoll(7): a short read on a stream exhausts it). */
SHADE_INTERNAL bool transport_drained(const shade_transport *t);

/* Wait until fd polls for `events` or timeout_ms passes (-1: forever),
 * retrying EINTR with the remaining time.  1 ready, 0 timeout, -1 error
 * (errno set). */
SHADE_INTERNAL int transport_poll_fd(int fd, short events, int timeout_ms);

/* ---------------------------------------------------------------- fd kind */

/* Attach fds to a fresh fd-kind transport: records ownership and whether
 * each is a socket. */
SHADE_INTERNAL void transport_attach_fds(shade_transport *t, int rfd,
					 int wfd, bool own);

/* A transport of the fd kind over socket fd (owned: closed on failure),
 * named address (stolen), with no system call: the caller knows fd is a
 * socket, open, and whether it is O_NONBLOCK already (nonblock). */
SHADE_INTERNAL shade_status transport_adopt_socket(
	void *mem_ctx, int fd, char *address, bool nonblock,
	const shade_transport_opts *opts, shade_transport **out,
	shade_error **err);

/* The fd kind's slots, for kinds built on it (exec). */
SHADE_INTERNAL shade_status transport_fd_send(shade_transport *t,
					      const void *frame, size_t len,
					      shade_error **err);
SHADE_INTERNAL shade_status transport_fd_sendv(shade_transport *t,
					       const struct iovec *iov,
					       int iovcnt, size_t total,
					       bool cork, shade_error **err);
SHADE_INTERNAL shade_status transport_fd_send_frames(shade_transport *t,
						     const uint8_t *p,
						     size_t len, uint64_t n,
						     shade_error **err);
SHADE_INTERNAL shade_status transport_fd_flush(shade_transport *t,
					       shade_error **err);
SHADE_INTERNAL shade_status transport_fd_recv(shade_transport *t,
					      void *mem_ctx, uint8_t **frame,
					      size_t *len, int timeout_ms,
					      shade_error **err);
SHADE_INTERNAL bool transport_fd_has_frame(const shade_transport *t);
SHADE_INTERNAL bool transport_fd_drained(const shade_transport *t);
SHADE_INTERNAL shade_status transport_fd_set_nonblocking(shade_transport *t,
							 bool on,
							 shade_error **err);
SHADE_INTERNAL int transport_fd_fd(const shade_transport *t, bool write);
SHADE_INTERNAL void transport_fd_close(shade_transport *t);
SHADE_INTERNAL shade_status transport_fd_shutdown(shade_transport *t,
						  shade_error **err);
SHADE_INTERNAL pid_t transport_fd_child_pid(const shade_transport *t);
SHADE_INTERNAL bool transport_fd_exited(shade_transport *t, int wait_ms,
					char *buf, size_t bufsz);

/* Shut down whichever of t's fds are sockets; true when one was. */
SHADE_INTERNAL bool transport_fd_shutdown_sockets(shade_transport *t);

/* shade_transport_recv, except that a frame of at most cap bytes is
 * copied into slot (*frame == slot, no allocation) on the kinds that
 * read through the fd input buffer; a larger one, or one of another
 * kind, is allocated on mem_ctx as usual. */
SHADE_INTERNAL shade_status transport_recv_slot(shade_transport *t,
					       uint8_t *slot, size_t cap,
					       void *mem_ctx, uint8_t **frame,
					       size_t *len, int timeout_ms,
					       shade_error **err);

/* Give back the input buffer (NULL is fine; see transport_fd_recv.c). */
SHADE_INTERNAL void transport_in_release(uint8_t *p, size_t size);

/* ---------------------------------------------------------------- tls */

/* Load a listener's TLS settings (certificate, key, CA, ticket key) from
 * o (NULL: none, which is SHADE_ERR_INVALID).  *out is released with
 * transport_tls_server_put(); sessions accepted with it keep it alive. */
SHADE_INTERNAL shade_status transport_tls_server_new(
	const struct shade_tls_opts *o, struct tls_server **out,
	shade_error **err);

/* Drop a reference to a listener's TLS settings (NULL is fine). */
SHADE_INTERNAL void transport_tls_server_put(struct tls_server *srv);

/* Turn a freshly accepted fd transport into a tls: one whose handshake
 * (server side) runs with its first reads.  On failure t is unchanged
 * and the caller frees it. */
SHADE_INTERNAL shade_status transport_tls_accept(shade_transport *t,
						 struct tls_server *srv,
						 shade_error **err);

/* Turn a freshly connected fd transport into a tls: one and finish the
 * client handshake with `host` (the address's host) as the name to
 * check, bounded by the options.  On failure the caller frees t. */
SHADE_INTERNAL shade_status transport_tls_connect(
	shade_transport *t, const char *host, const shade_transport_opts *o,
	shade_error **err);

/* ---------------------------------------------------------------- exec */

/* Split a command line into a NULL-terminated argv on mem_ctx (see
 * transport.h for the rules).  SHADE_ERR_INVALID on an unterminated quote
 * or an empty command. */
SHADE_INTERNAL shade_status transport_split_command(void *mem_ctx,
						    const char *cmd,
						    char ***argv_out,
						    shade_error **err);

/* Set a bound of the output queue (out_start, out_end).  Only the
 * sending side writes them (sends are serialized), but any thread may
 * read them as a hint (shade_transport_wants_write, _out_pending), so
 * they are written and read whole: relaxed atomics, no lock. */
#define OUT_SET(t, field, v) \
	__atomic_store_n(&(t)->field, (size_t)(v), __ATOMIC_RELAXED)

/* What a transport knows of its peer (transport_peer.c). */
struct transport_peer {
	const char *kind;   /* "unix", "tcp", "exec", "fd", ... (static, or
			     * the transport's address: lives as long as t) */
	bool has_cred;      /* uid, gid, pid are set (SO_PEERCRED) */
	uid_t uid;          /* peer's effective user id */
	gid_t gid;          /* peer's effective group id */
	pid_t pid;          /* peer's process id */
};

/* Fill *out with what t knows of its peer: its kind (from the address's
 * prefix when it has one, else getsockname) and, when `cred` is set and
 * t is a Unix socket, the credentials (one getsockopt). */
SHADE_INTERNAL void transport_peer(const shade_transport *t, bool cred,
				   struct transport_peer *out);

#endif /* SHADE_TRANSPORT_INT_H */
