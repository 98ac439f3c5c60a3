/*
 * shade/transport.h - frames over a channel.
 *
 * The network layer of shade is two functions: send a frame, receive a
 * frame (plus close, and an optional fd for polling).  A frame is one whole
 * message, a non-empty byte buffer.  Users plug in any channel by filling a
 * shade_transport_ops table (shade_transport_new); the built-in transports
 * run over file descriptors:
 *
 *   address          what it is
 *   ---------------  ---------------------------------------------------
 *   unix:/path       Unix stream socket (unix:@name: Linux abstract name)
 *   tcp:host:port    TCP, IPv4 or IPv6 (tcp:[::1]:port), TCP_NODELAY on
 *   tls:host:port    TLS over TCP (shade/tls.h: certificates, checks)
 *   exec:cmd args    spawn cmd, talk over its stdin/stdout (see below)
 *   fd:N  fd:R,W     an already connected fd, or a read fd + a write fd
 *
 * plus shade_transport_pair() (two connected endpoints in one process) and
 * listeners for unix: and tcp: (shade_listener_open).
 *
 * Framing on byte streams: each frame is its payload length as a CBOR
 * unsigned-integer head in shortest form (major type 0: one byte 0x00-0x17
 * for lengths < 24, 0x18 + 1 byte, 0x19 + 2 bytes, 0x1a + 4 bytes, big
 * endian; 0x1b + 8 bytes is understood on input but always over the
 * limit), followed by the payload.  A zero length is a protocol error
 * (SHADE_ERR_PROTOCOL); a length over the transport's maximum frame size
 * (default SHADE_TRANSPORT_DEFAULT_MAX_FRAME) is refused with
 * SHADE_ERR_LIMIT as soon as the header is read, before any allocation.
 * A receiver grows a large frame's buffer as its bytes arrive, so a peer
 * announcing a big frame and sending nothing does not pin that memory.
 *
 * Blocking use (clients): shade_transport_send() writes a frame with one
 * write system call (writev/sendmsg of header + payload; it loops only on
 * partial writes).  shade_transport_recv() reads as much as is available
 * into an input buffer (one read system call for several small frames) and
 * keeps leftover bytes for the next frame; it takes a timeout.
 *
 * Non-blocking use (server loops): after shade_transport_set_nonblocking(),
 * shade_transport_try_recv() never blocks: it does at most one read system
 * call, keeps partial frames across calls and returns SHADE_AGAIN until a
 * whole frame is buffered; shade_transport_send() queues what the socket
 * does not take and shade_transport_flush() writes the queue when the
 * write fd is writable.  shade_transport_out_pending() is the queued byte
 * count: a server stops reading a connection whose queue passes a limit
 * (backpressure).  shade_transport_has_frame() says whether a complete
 * frame is already buffered, which poll() cannot tell.
 *
 * Errors: a peer closing cleanly between frames is SHADE_ERR_CONNECTION_LOST
 * "peer closed"; closing mid-frame is SHADE_ERR_CONNECTION_LOST with a
 * message saying how many bytes of the frame were missing; an exec: child
 * that has exited is SHADE_ERR_EXEC with its exit status or signal; other
 * system call failures are SHADE_ERR_IO with strerror text.  After an error
 * other than SHADE_ERR_TIMEOUT / SHADE_AGAIN the transport is broken and
 * every later call fails with the same code and message (the first
 * failure wins, also across the send and receive sides).
 *
 * Signals: SIGPIPE never kills the process.  Sockets are written with
 * MSG_NOSIGNAL.  Pipes (exec:, fd pairs that are not sockets) are written
 * with SIGPIPE blocked in the calling thread for the duration of the write
 * (two extra rt_sigprocmask calls per write); a SIGPIPE raised by that
 * write is consumed, unless the thread was blocking SIGPIPE itself.  EINTR
 * is retried everywhere.
 *
 * exec: the command line is split on blanks, without a shell: words may be
 * quoted with '...' (literal) or "..." (where \" and \\ are escapes), and a
 * backslash outside quotes escapes the next character; there is no
 * expansion of variables, globs or ~.  The program is looked up on PATH as
 * execvp would, before spawning, so a missing program is SHADE_ERR_EXEC
 * "cannot run" at once.  The child inherits stderr and every fd not marked
 * close-on-exec (shade's own fds all are).  Closing the transport closes
 * the child's stdin and stdout, waits up to the grace period for it to
 * exit, then sends SIGTERM, then SIGKILL, and reaps it, so no zombie is
 * left.  For a shell, write the shell: exec:/bin/sh -c "exit 3".
 *
 * Threads: a transport does not lock its I/O.  One thread may send while
 * another receives on the same transport (the send side and the receive
 * side share no state); concurrent sends, or concurrent receives, must be
 * serialized by the caller.  The two ends of a pair may be used from
 * different threads.  To make this safe the transport keeps its I/O buffers as top-level talloc
 * allocations (not children of the transport), which talloc allows from
 * several threads as long as talloc_enable_null_tracking() is not in use.
 *
 * Memory: every object here is a talloc object; its destructor closes its
 * fds (when owned), stops and reaps its child, and unlinks a Unix listener's
 * socket path, so freeing a parent context releases everything.
 */
#ifndef SHADE_TRANSPORT_H
#define SHADE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shade/error.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default maximum frame payload size: 64 MiB. */
#define SHADE_TRANSPORT_DEFAULT_MAX_FRAME ((size_t)64 << 20)

/* Longest frame header on the wire (0x1b + 8 bytes). */
#define SHADE_FRAME_HEADER_MAX 9

/* A transport: one end of a channel carrying frames. Opaque. */
typedef struct shade_transport shade_transport;

/* A listening socket that accepts transports. Opaque. */
typedef struct shade_listener shade_listener;

/* TLS settings (shade/tls.h). */
struct shade_tls_opts;

/* Options for the constructors.  A zeroed struct, or NULL, means all
 * defaults; every field's 0 is its default. */
typedef struct shade_transport_opts {
	size_t max_frame;       /* max payload bytes; 0: 64 MiB */
	size_t read_buffer;     /* input buffer bytes; 0: 64 KiB */
	int connect_timeout_ms; /* tcp:/unix: connect bound; 0: none */
	int exec_grace_ms;      /* exec: wait before SIGTERM; 0: 500 ms */
	int listen_backlog;     /* listener backlog; 0: SOMAXCONN */
	unsigned unix_mode;     /* permission bits of a unix: listener's
				 * socket file, set exactly (the umask
				 * never widens them); 0: 0600 (owner
				 * only).  Connecting needs write
				 * permission on the file */
	const struct shade_tls_opts *tls; /* tls: settings; NULL: defaults */
} shade_transport_opts;

/* Flags for shade_transport_from_fds(). */
enum {
	SHADE_TRANSPORT_OWN_FDS = 1u << 0 /* close the fd(s) when closed */
};

/* Counters of one transport since it was made (shade_transport_stats). */
typedef struct shade_transport_stats {
	uint64_t frames_sent;     /* frames passed to send (queued or not) */
	uint64_t bytes_sent;      /* bytes written, headers included */
	uint64_t frames_received; /* frames returned by recv/try_recv */
	uint64_t bytes_received;  /* bytes read, headers included */
	uint64_t write_calls;     /* write system calls made */
	uint64_t read_calls;      /* read system calls made */
} shade_transport_stats;

/*
 * A user-supplied channel.  Every callback gets the `impl` pointer given to
 * shade_transport_new().  shade checks frame sizes (non-empty, within the
 * transport's max_frame) on both sides of these callbacks.
 */
typedef struct shade_transport_ops {
	/* Short name for messages and shade_transport_address(), e.g. "tls". */
	const char *name;
	/* Send one whole frame of len > 0 bytes; block until it is handed to
	 * the channel.  Return SHADE_OK or a negative code (set *err). */
	shade_status (*send)(void *impl, const uint8_t *frame, size_t len,
			     shade_error **err);
	/* Receive one whole frame: allocate it on mem_ctx, store it in *frame
	 * and its length in *len.  timeout_ms: -1 waits forever; 0 must not
	 * block and returns SHADE_AGAIN when no frame is ready; > 0 returns
	 * SHADE_ERR_TIMEOUT once it passes.  A channel may ignore timeouts
	 * (always block) if its users never pass one. */
	shade_status (*recv)(void *impl, void *mem_ctx, uint8_t **frame,
			     size_t *len, int timeout_ms, shade_error **err);
	/* Release the channel.  Called exactly once, by shade_transport_close()
	 * or the transport's destructor, before the transport's talloc children
	 * are freed.  May be NULL. */
	void (*close)(void *impl);
	/* An fd that polls readable when recv may make progress, or -1.  May
	 * be NULL (no fd). */
	int (*fd)(void *impl);
} shade_transport_ops;

/* ------------------------------------------------------------ building */

/*
 * Wrap a user channel.  `ops` must outlive the transport (usually a static
 * const table); `impl` is passed back to every callback and is not freed by
 * shade (make it a talloc child of *out, or free it in ops->close).
 * On success *out is a new talloc child of mem_ctx.
 */
SHADE_API shade_status shade_transport_new(void *mem_ctx,
					   const shade_transport_ops *ops,
					   void *impl,
					   const shade_transport_opts *opts,
					   shade_transport **out,
					   shade_error **err);

/*
 * Two connected endpoints in one process, for tests and in-process use.
 * They sit on an AF_UNIX socketpair internally, so each has a pollable fd
 * and each end may be driven by its own thread.  *a and *b are separate
 * talloc children of mem_ctx.
 */
SHADE_API shade_status shade_transport_pair(void *mem_ctx,
					    const shade_transport_opts *opts,
					    shade_transport **a,
					    shade_transport **b,
					    shade_error **err);

/*
 * A transport over connected fds: read frames from rfd, write to wfd (pass
 * the same fd twice for a socket).  With SHADE_TRANSPORT_OWN_FDS the fds
 * are closed when the transport is closed or freed, also when this call
 * fails; without it they are left open.  Sockets are written with
 * MSG_NOSIGNAL; other fds with SIGPIPE blocked around the write.
 */
SHADE_API shade_status shade_transport_from_fds(void *mem_ctx, int rfd,
						int wfd, unsigned flags,
						const shade_transport_opts *opts,
						shade_transport **out,
						shade_error **err);

/*
 * Spawn argv[0] (looked up on PATH) with arguments argv[1..] (NULL
 * terminated) and talk over its stdin and stdout.  Failure to start the
 * program is SHADE_ERR_EXEC.  See the header comment for how the child is
 * stopped.
 */
SHADE_API shade_status shade_transport_exec(void *mem_ctx,
					    const char *const argv[],
					    const shade_transport_opts *opts,
					    shade_transport **out,
					    shade_error **err);

/*
 * Connect to an address string (see the table in the header comment).
 * "fd:N" and "fd:R,W" take ownership of the fds.  A malformed address, an
 * unknown scheme, an unresolvable host or an over-long Unix path is
 * SHADE_ERR_INVALID; a refused or failed connection is
 * SHADE_ERR_CONNECTION_LOST or SHADE_ERR_IO with the system's reason;
 * an expired connect_timeout_ms is SHADE_ERR_TIMEOUT.
 */
SHADE_API shade_status shade_transport_connect(void *mem_ctx,
					       const char *address,
					       const shade_transport_opts *opts,
					       shade_transport **out,
					       shade_error **err);

/* ------------------------------------------------------------ frames */

/*
 * Send one frame of len > 0 bytes.  Blocking mode: returns once all of it
 * is written.  Non-blocking mode: writes what the channel takes now and
 * queues the rest (a copy), returning SHADE_OK; the queue is written by
 * later sends and by shade_transport_flush().  Errors: SHADE_ERR_INVALID
 * (empty frame), SHADE_ERR_LIMIT (over max_frame), SHADE_ERR_CONNECTION_LOST,
 * SHADE_ERR_EXEC, SHADE_ERR_IO.
 */
SHADE_API shade_status shade_transport_send(shade_transport *t,
					    const void *frame, size_t len,
					    shade_error **err);

/*
 * Send one frame made of the concatenation of iov[0..iovcnt-1] (header,
 * body... without copying them together first), still one write system
 * call on fd transports.  Same results as shade_transport_send().
 */
SHADE_API shade_status shade_transport_sendv(shade_transport *t,
					     const struct iovec *iov,
					     int iovcnt, shade_error **err);

/*
 * Queue one frame without writing it (a copy; corking): the next send,
 * sendv or flush writes everything queued, in order, with one system call.
 * For pipelined senders that batch many small frames per write.  User
 * transports send it at once.  Same errors as shade_transport_send().
 */
SHADE_API shade_status shade_transport_queue(shade_transport *t,
					     const void *frame, size_t len,
					     shade_error **err);

/*
 * Send bytes holding one or more whole frames, each already framed (its
 * header as shade_frame_header_encode() writes it, then its payload):
 * a sender that batched several messages writes them all with one write
 * system call on fd transports (user channels get one send per frame).
 * The headers are checked first: bytes ending inside a frame are
 * SHADE_ERR_INVALID, a frame over max_frame SHADE_ERR_LIMIT, and nothing
 * is sent then.  Blocking mode returns once all is written; non-blocking
 * mode writes what the channel takes and queues the rest (a copy) for
 * shade_transport_flush().  len 0 sends nothing.  Other errors as
 * shade_transport_send().
 */
SHADE_API shade_status shade_transport_send_frames(shade_transport *t,
						   const void *frames,
						   size_t len,
						   shade_error **err);

/*
 * Receive one frame: on SHADE_OK *frame is a new talloc allocation on
 * mem_ctx holding *len > 0 bytes (talloc_get_size(*frame) == *len below
 * 128 KiB; a larger frame may sit in a larger block kept from an earlier
 * one, which its free keeps again for the next).
 * timeout_ms: -1 waits forever; 0 does not wait and returns SHADE_AGAIN
 * when no whole frame can be had now; > 0 returns SHADE_ERR_TIMEOUT when
 * it passes.  On AGAIN or TIMEOUT the bytes read so far are kept and the
 * next call continues the frame.  Works in both modes.
 */
SHADE_API shade_status shade_transport_recv(shade_transport *t, void *mem_ctx,
					    uint8_t **frame, size_t *len,
					    int timeout_ms, shade_error **err);

/*
 * shade_transport_recv() with timeout 0: returns a buffered frame, or
 * makes at most one read system call and returns a frame or SHADE_AGAIN.
 * Meant for a server loop on a readable fd: call it a bounded number of
 * times per loop turn, and again later while shade_transport_has_frame().
 */
SHADE_API shade_status shade_transport_try_recv(shade_transport *t,
						void *mem_ctx, uint8_t **frame,
						size_t *len, shade_error **err);

/* True when a complete frame is already buffered, so try_recv returns it
 * without a system call (poll would not report the fd readable). */
SHADE_API bool shade_transport_has_frame(const shade_transport *t);

/* ------------------------------------------------------------ non-blocking */

/*
 * Switch the fds to non-blocking mode (on) or back to blocking (off).  In
 * non-blocking mode send queues instead of blocking.  Switching off first
 * flushes the queue, blocking.  User transports: SHADE_ERR_UNIMPLEMENTED.
 */
SHADE_API shade_status shade_transport_set_nonblocking(shade_transport *t,
						       bool on,
						       shade_error **err);

/*
 * Write queued output without blocking: SHADE_OK when the queue is empty,
 * SHADE_AGAIN when bytes remain (poll the write fd for POLLOUT), or an
 * error.  In blocking mode it writes the whole queue.
 */
SHADE_API shade_status shade_transport_flush(shade_transport *t,
					     shade_error **err);

/* Bytes queued for output and not yet written (by non-blocking sends or
 * shade_transport_queue). */
SHADE_API size_t shade_transport_out_pending(const shade_transport *t);

/* True when output is queued: poll shade_transport_write_fd() for POLLOUT. */
SHADE_API bool shade_transport_wants_write(const shade_transport *t);

/* ------------------------------------------------------------ properties */

/* The fd to poll for readability (POLLIN), or -1 (user transport without
 * one, or closed).  Still owned by the transport. */
SHADE_API int shade_transport_fd(const shade_transport *t);

/* The fd to poll for POLLOUT when output is queued, or -1.  The same as
 * shade_transport_fd() for sockets; the child's stdin for exec:. */
SHADE_API int shade_transport_write_fd(const shade_transport *t);

/* A description of the other end for messages: "tcp:127.0.0.1:40123",
 * "unix:/run/x.sock", "exec:cat", "fd:5,6", "pair", or the user ops name.
 * Owned by the transport; never NULL. */
SHADE_API const char *shade_transport_address(const shade_transport *t);

/* The maximum frame payload accepted and sent. */
SHADE_API size_t shade_transport_max_frame(const shade_transport *t);

/* Change the maximum frame payload size (0: back to the default).  A
 * frame already being received keeps the limit its header was checked
 * against. */
SHADE_API void shade_transport_set_max_frame(shade_transport *t, size_t max);

/* The pid of an exec: child, or -1. */
SHADE_API pid_t shade_transport_child_pid(const shade_transport *t);

/* Copy the transport's counters into *out. */
SHADE_API void shade_transport_stats_get(const shade_transport *t,
					 shade_transport_stats *out);

/*
 * Stop the channel from any thread, waking a thread blocked in recv or
 * send on it: sockets are shut down both ways, an exec: child gets
 * SIGTERM.  The transport is broken from then on (SHADE_ERR_CONNECTION_LOST
 * "transport shut down"); close or free it afterwards, once no thread is
 * inside it.  Plain pipes and user transports: SHADE_ERR_UNIMPLEMENTED.
 */
SHADE_API shade_status shade_transport_shutdown(shade_transport *t,
						shade_error **err);

/*
 * Close the channel now (fds, child) without freeing the object; later
 * sends and receives fail with SHADE_ERR_CONNECTION_LOST "transport
 * closed".  Queued output is dropped: flush first to deliver it.  Freeing
 * the transport closes it too.  Closing twice is harmless.  Not while
 * another thread is inside a call on t: wake it with
 * shade_transport_shutdown() and let it return first.
 */
SHADE_API void shade_transport_close(shade_transport *t);

/* ------------------------------------------------------------ listeners */

/*
 * Listen on "unix:/path", "tcp:host:port", "tls:host:port" (opts->tls
 * names the certificate and key) or "fd:N" (port 0 picks a free port;
 * tcp:[::1]:0 for IPv6; an empty host, "tcp::0" or "tcp:*:0", means all
 * IPv4 addresses).  A Unix path where a stale socket (no listener) lies is
 * replaced; one in use is SHADE_ERR_INVALID "address in use".  "fd:N"
 * takes over an inherited socket that already listens (socket
 * activation; SHADE_ERR_INVALID when N is not one); its address is what
 * the socket is bound to and no file is unlinked at the end.  The listen
 * fd is non-blocking.  On success *out is a talloc child of mem_ctx; freeing
 * it closes the socket and unlinks the Unix path it created.
 */
SHADE_API shade_status shade_listener_open(void *mem_ctx, const char *address,
					   const shade_transport_opts *opts,
					   shade_listener **out,
					   shade_error **err);

/*
 * Accept one connection as a blocking-mode transport, a talloc child of
 * mem_ctx, carrying the listener's options.  timeout_ms: -1 waits, 0
 * returns SHADE_AGAIN when none is pending, > 0 SHADE_ERR_TIMEOUT.  Its
 * socket (shade_transport_fd) is O_NONBLOCK and close-on-exec from the
 * accept on, so entering non-blocking mode costs no system call; the
 * transport's blocking calls wait by polling it.
 */
SHADE_API shade_status shade_listener_accept(shade_listener *l, void *mem_ctx,
					     int timeout_ms,
					     shade_transport **out,
					     shade_error **err);

/* The first fd a service manager passes (systemd's SD_LISTEN_FDS_START). */
#define SHADE_LISTEN_FDS_START 3

/*
 * The sockets a service manager passed to this process (systemd socket
 * activation, sd_listen_fds(3)): when LISTEN_PID is this process and
 * LISTEN_FDS is n > 0, marks fds SHADE_LISTEN_FDS_START .. +n-1
 * close-on-exec, removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from
 * the environment (so children do not take them) and returns n; else 0.
 * Each fd is a listening socket (Accept=no: listen on "fd:N") or a
 * connected one (Accept=yes: shade_transport_connect "fd:N").
 * shade_server_listen(s, "systemd:") does both for every fd.
 */
SHADE_API int shade_listen_fds(void);

/* The listening fd, to poll for POLLIN (a pending connection). */
SHADE_API int shade_listener_fd(const shade_listener *l);

/* The actual bound address, e.g. "tcp:127.0.0.1:40123", "tcp:[::1]:5000"
 * or "unix:/tmp/x.sock"; usable with shade_transport_connect().  Owned by
 * the listener. */
SHADE_API const char *shade_listener_address(const shade_listener *l);

/* ------------------------------------------------------------ framing */

/*
 * Encode the header for a payload of len bytes into out (shortest CBOR
 * unsigned-integer head) and return its size, 1 to SHADE_FRAME_HEADER_MAX.
 */
SHADE_API size_t shade_frame_header_encode(uint64_t len,
					   uint8_t out[SHADE_FRAME_HEADER_MAX]);

/*
 * Decode a frame header from the first avail bytes of buf.  SHADE_OK:
 * *len is the payload length and *hdr_len the header size.  SHADE_AGAIN:
 * more bytes are needed.  SHADE_ERR_PROTOCOL: not a major-type-0 head, not
 * in shortest form, or a zero length.  SHADE_ERR_LIMIT: *len > max.
 * Errors set *err with a message.
 */
SHADE_API shade_status shade_frame_header_decode(const uint8_t *buf,
						 size_t avail, size_t max,
						 uint64_t *len, size_t *hdr_len,
						 shade_error **err);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_TRANSPORT_H */
