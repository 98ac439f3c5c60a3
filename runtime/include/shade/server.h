/*
 * shade/server.h - one loop serving many connections.
 *
 * A server owns a registry of exported names, listeners (unix:, tcp:) and
 * the connections it accepted.  shade_server_run() waits on them all with
 * one epoll(7) set (no thread per connection; a turn costs in the
 * connections with something to do, not in those held): each turn it
 * accepts pending connections, reads at most `frames_per_turn` frames
 * from each ready connection in turn and serves them, and writes queued
 * output, so a busy, pipelining or half-sent connection never holds the
 * others up by more than its share.  A connection whose unsent output
 * passes `max_output` bytes is not read until it drains (backpressure);
 * a closed or broken one is dropped with everything it held; the
 * requests read before a BYE are answered before the connection ends.
 * When accept fails (out of file descriptors) the listeners pause with a
 * back-off, told to the log, while connected clients go on being served
 * (doc/limits.md).
 *
 * Threads (doc/api.md "Threads on a server"): with `threads` workers
 * (SHADE_SERVER_THREADS_CORES: one per core the process may run on) the
 * workers run the handlers, and read the connections they served
 * themselves (the thread that reads a request serves it; the loop's
 * thread accepts, and reads new and quiet connections); requests of
 * different connections never wait for each other, those of one
 * connection run one at a time in the order they came unless the server
 * or the target object is concurrent.  A handler that calls back into
 * its client waits on its own worker while another thread reads the
 * answer, and serves the requests nested in that call itself, so
 * A -> B -> A -> B never needs a free worker.  A handler may answer
 * later from any thread (shade_call_defer, shade/conn.h).  Workers are
 * the default (one per core of the process's CPU affinity; none on one
 * core, or while talloc's null tracking is on: its list of blocks made
 * without a parent has no lock).  Without workers (threads 1) requests
 * are served on the thread running the loop; a handler that calls back
 * keeps the loop going while it waits (nested turns, at
 * most 8 deep), and one that blocks in code of its own holds the loop.
 *
 * Embedding instead: skip shade_server_run and let your own loop (GLib,
 * libuv, epoll...) drive the whole server through one fd, a step
 * function and a timeout (below; doc/api.md "Driving a server from your
 * own loop"), or drive single connections with shade_conn_fd() and
 * shade_conn_process() (conn.h).
 */
#ifndef SHADE_SERVER_H
#define SHADE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shade_transport;
struct shade_transport_opts;
struct shade_conn_opts;
struct shade_registry;
struct shade_ref;
struct shade_value;
struct shade_conn;

/* shade_server_opts.threads: one worker per core the process may run on
 * (its CPU affinity, as nproc(1) counts). */
#define SHADE_SERVER_THREADS_CORES 0xffffffffu

/* A server loop. Opaque. */
typedef struct shade_server shade_server;

/* Options; zeroed or NULL means the defaults. */
typedef struct shade_server_opts {
	const char *side;           /* name in error chains; NULL: "server" */
	int timeout_ms;             /* default deadline of callbacks; 0: none */
	unsigned frames_per_turn;   /* frames read per connection per turn;
				     * 0: 16 */
	size_t max_output;          /* unsent bytes before a connection is
				     * not read any more; 0: 4 MiB */
	size_t max_conns;           /* connections held; 0: 65536 */
	const struct shade_transport_opts *transport; /* listener options */
	const struct shade_conn_opts *conn; /* options of every accepted or
				     * adopted connection (copied; what it
				     * points to is borrowed); NULL: the
				     * defaults.  Its side, timeout_ms and
				     * names give way to the server's when
				     * NULL / 0 / NULL */
	int idle_timeout_ms;        /* close a connection that completed no
				     * frame for this long while nothing of
				     * it is pending (no handler running, no
				     * request of ours outstanding); half a
				     * frame counts as idle; 0: none */
	size_t max_input_held;      /* bytes all connections together may
				     * hold in frames not yet whole; past
				     * it the connection holding most is
				     * refused (LimitExceeded); 0: 256 MiB */
	unsigned threads;           /* worker threads running handlers;
				     * 0 (the default) or
				     * SHADE_SERVER_THREADS_CORES: one per
				     * core the process may run on, its
				     * CPU affinity (none on one core; 0:
				     * none while talloc null tracking is
				     * on, doc/api.md "Threads on a
				     * server"); 1: none, handlers run on
				     * the thread turning the loop */
	bool concurrent;            /* with workers: the requests of one
				     * connection may run at once instead of
				     * one after the other in order (per
				     * object: shade_ref_set_concurrent) */
} shade_server_opts;

/* A new server on mem_ctx (its listeners and connections hang below). */
SHADE_API shade_status shade_server_new(TALLOC_CTX *mem_ctx,
					const shade_server_opts *opts,
					shade_server **out, shade_error **err);

/* The registry of exported names (borrowed). */
SHADE_API struct shade_registry *shade_server_registry(shade_server *s);

/* Export obj under name (retains it). */
SHADE_API shade_status shade_server_export(shade_server *s, const char *name,
					   struct shade_ref *obj,
					   shade_error **err);

/* Export a copy of a plain value under name: a peer's LOOKUP
 * (shade_lookup_value) returns the value itself
 * (shade_registry_add_value). */
SHADE_API shade_status shade_server_export_value(shade_server *s,
						 const char *name,
						 const struct shade_value *value,
						 shade_error **err);

/* Export obj (or, obj NULL, a copy of value) under name in the
 * namespace ns, made on first use: peers reach it with shade_lookup_in
 * and list it with shade_names_in; the default namespace is unchanged
 * (shade_registry_namespace). */
SHADE_API shade_status shade_server_export_in(shade_server *s, const char *ns,
					      const char *name,
					      struct shade_ref *obj,
					      const struct shade_value *value,
					      shade_error **err);
/* Export obj under name (retains it), its requests of one connection
 * run at once by the server's workers (shade_ref_set_concurrent). */
SHADE_API shade_status shade_server_export_concurrent(shade_server *s,
						      const char *name,
						      struct shade_ref *obj,
						      shade_error **err);

/* Worker threads running the server's handlers (0: none, the loop's
 * thread runs them). */
SHADE_API unsigned shade_server_threads(const shade_server *s);

/* Export obj under name read-only (retains it): peers may read it but
 * every set, invoke or call on it is PermissionDenied
 * (shade_registry_add_readonly, shade/object.h; doc/security.md). */
SHADE_API shade_status shade_server_export_readonly(shade_server *s,
						    const char *name,
						    struct shade_ref *obj,
						    shade_error **err);

/* Listen on an address ("unix:/path", "tcp:127.0.0.1:0", "fd:3" for an
 * inherited listening socket, ...).  "systemd:" serves every socket the
 * service manager passed (shade_listen_fds(), transport.h): listening
 * ones as listeners (Accept=no), a connected one as an accepted
 * connection (Accept=yes); SHADE_ERR_INVALID when none was passed. */
SHADE_API shade_status shade_server_listen(shade_server *s,
					   const char *address,
					   shade_error **err);

/* The bound address of listener i (in listen order), or NULL. */
SHADE_API const char *shade_server_address(shade_server *s, size_t i);

/* Serve an already connected transport (taken over) as an accepted
 * connection; *out (may be NULL) is the connection, owned by the server. */
SHADE_API shade_status shade_server_adopt(shade_server *s,
					  struct shade_transport *t,
					  struct shade_conn **out,
					  shade_error **err);

/* One loop turn: wait up to timeout_ms (-1: forever) for activity, then
 * serve what is ready.  SHADE_OK, or SHADE_AGAIN when the server was
 * stopped.  Not from one of the server's handlers (SHADE_ERR_INVALID). */
SHADE_API shade_status shade_server_run_once(shade_server *s, int timeout_ms,
					     shade_error **err);

/* Run turns until shade_server_stop(). */
SHADE_API shade_status shade_server_run(shade_server *s, shade_error **err);

/* Make shade_server_run return (from any thread or a signal handler). */
SHADE_API void shade_server_stop(shade_server *s);

/* Number of connections held now. */
SHADE_API size_t shade_server_conn_count(shade_server *s);

/* Connection i (0 <= i < shade_server_conn_count), borrowed: valid until
 * the next loop turn. */
SHADE_API struct shade_conn *shade_server_conn(shade_server *s, size_t i);

/* ------------------------------------------------------------ embedding
 *
 * A host loop drives the server with three calls: watch
 * shade_server_fd() for input (level-triggered), wake up after
 * shade_server_timeout_ms(), and call shade_server_step() when either
 * happened.  Ask for the timeout again after every step and after any
 * other call on the server (listen, adopt: a connection may have input
 * already).  All three are for the one thread that drives the server;
 * shade_server_stop() may come from any thread and makes the fd
 * readable.
 */

/* The fd to watch for input (POLLIN, G_IO_IN, UV_READABLE; never for
 * output): it polls readable, level-triggered, while any listener,
 * connection or wake-up of the server has something to do.  It stays
 * the same for the server's life and is owned by it (do not close it).
 * -1 when the library was built with the poll(2) backend (off Linux,
 * or -DSHADE_LOOP_POLL), which keeps no such fd: then step on the
 * timeout alone, which is never longer than 10 ms there. */
SHADE_API int shade_server_fd(const shade_server *s);

/* Milliseconds until shade_server_step must run even if the fd stays
 * quiet: 0 when work is waiting that no fd event announces (a frame
 * already buffered, output handed over by another thread, a stop), else
 * the time to the next timer (idle policy, back-off, buffer trimming);
 * -1 when nothing is due. */
SHADE_API int shade_server_timeout_ms(const shade_server *s);

/* Do the work that is ready without waiting for more: one turn of the
 * server's loop (shade_server_run_once with timeout 0): accepts, reads
 * and serves what the connections sent, writes what they can take, runs
 * the timers that are due.  A handler that calls back into its client
 * waits inside the step (serving the other connections meanwhile).
 * SHADE_OK; SHADE_AGAIN once shade_server_stop was called (stop
 * watching); SHADE_ERR_INVALID from one of the server's handlers. */
SHADE_API shade_status shade_server_step(shade_server *s, shade_error **err);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_SERVER_H */
