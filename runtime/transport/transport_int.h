/*
 * transport_int.h - internals shared by the transport modules.
 *
 * transport.c owns the object, the framing and the fd I/O;
 * transport_addr.c parses addresses, connects and listens;
 * transport_exec.c spawns, watches and reaps exec: children.
 *
 * Invariants of struct shade_transport (fd kinds, ops == NULL):
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

#include "shade/transport.h"

struct shade_transport {
	const shade_transport_ops *ops; /* user channel, NULL for fd kinds */
	void *impl;                     /* user channel state */
	int rfd;                        /* fd frames are read from, or -1 */
	int wfd;                        /* fd frames are written to, or -1 */
	bool own_fds;                   /* close rfd/wfd when closing */
	bool rsock;                     /* rfd is a socket: MSG_DONTWAIT */
	bool wsock;                     /* wfd is a socket: MSG_NOSIGNAL */
	bool nonblocking;               /* fds are O_NONBLOCK, sends queue */
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
	uint8_t *out;                   /* output queue (non-blocking mode) */
	size_t out_cap;                 /* bytes allocated for `out` */
	size_t out_start;               /* first queued byte */
	size_t out_end;                 /* one past the last queued byte */
	/* Fields the send and receive paths only touch on failure, behind
	 * the hot ones above so those share fewer cache lines. */
	char *address;                  /* description of the other end */
	pid_t pid;                      /* exec: child, -1 if none */
	bool reaped;                    /* the child has been waited for */
	int child_status;               /* its wait status once reaped */
	int exec_grace_ms;              /* wait before SIGTERM on close */
	pthread_mutex_t lock;           /* guards broken_msg and reaping */
	char broken_msg[256];           /* message of the sticky failure */
};

/* Resolved options: defaults filled in. */
SHADE_INTERNAL void transport_opts_resolve(const shade_transport_opts *in,
					   shade_transport_opts *out);

/* Allocate a transport on mem_ctx with options applied, no channel yet
 * (rfd = wfd = pid = -1).  NULL when out of memory. */
SHADE_INTERNAL shade_transport *transport_alloc(void *mem_ctx,
						const shade_transport_opts *o);

/* Attach fds to a fresh transport: records ownership and whether wfd is a
 * socket. */
SHADE_INTERNAL void transport_attach_fds(shade_transport *t, int rfd,
					 int wfd, bool own);

/* True when the last read emptied the fd (a short read) and no whole
 * frame is buffered: another read now would most likely find nothing.
 * A level-triggered poll loop can wait instead of reading again
 * (epoll(7): a short read on a stream exhausts it). */
SHADE_INTERNAL bool transport_drained(const shade_transport *t);

/* Wait until fd polls for `events` or timeout_ms passes (-1: forever),
 * retrying EINTR with the remaining time.  1 ready, 0 timeout, -1 error
 * (errno set). */
SHADE_INTERNAL int transport_poll_fd(int fd, short events, int timeout_ms);

/* exec: if the child has exited (waiting up to wait_ms for it), reap it,
 * write "exec:cmd exited with status N" (or "killed by signal N (name)")
 * into buf and return true; false if it still runs or there is none. */
SHADE_INTERNAL bool transport_exec_exited(shade_transport *t, int wait_ms,
					  char *buf, size_t bufsz);

/* exec: stop the child (grace, SIGTERM, SIGKILL) and reap it.  The pipes
 * must already be closed.  No-op without a child. */
SHADE_INTERNAL void transport_exec_stop(shade_transport *t);

/* exec: split a command line into a NULL-terminated argv on mem_ctx (see
 * transport.h for the rules).  SHADE_ERR_INVALID on an unterminated quote
 * or an empty command. */
SHADE_INTERNAL shade_status transport_split_command(void *mem_ctx,
						    const char *cmd,
						    char ***argv_out,
						    shade_error **err);

#endif /* SHADE_TRANSPORT_INT_H */
