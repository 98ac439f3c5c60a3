/*
 * shade/conn.h - connections: the request/reply engine between two peers.
 *
 * A connection runs the protocol of doc/protocol.md over one transport:
 * the HELLO handshake, request ids with any number of requests
 * outstanding, replies in any order, the export table (local objects
 * handed to the peer) and the import table (proxies of the peer's
 * objects), batched RELEASEs, deadlines, CANCEL and BYE.
 *
 * Threads.  A connection may be shared by threads; calls from several
 * threads go out concurrently and each reply reaches its caller.  One
 * waiting thread at a time reads the transport (leader/follower) and hands
 * each reply to the thread waiting for it.
 *
 * Which thread runs a callback.  A request the peer makes while serving a
 * call of ours carries that call's id; it runs on the very thread waiting
 * for that call, which serves such requests while it waits.  So A calls B,
 * B calls back into A during that call, A calls B again, ... at any depth,
 * with no deadlock and no extra thread.  A request that nests in no
 * waiting call runs on whichever thread is reading the connection: a
 * waiting caller, shade_conn_serve(), shade_conn_process() or the server
 * loop (shade/server.h).
 *
 * Memory: a connection is a talloc object; its tables hang below it.
 * Freeing it sends BYE (when still open), closes the transport, drops its
 * exports, fails pending calls and turns its proxies into dead proxies
 * that report ConnectionLost.  Proxies themselves are reference counted
 * (shade/object.h) and may outlive it.
 */
#ifndef SHADE_CONN_H
#define SHADE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/security.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shade_transport;
struct shade_transport_opts;
struct shade_registry;
struct shade_shape_desc;
struct shade_ref;

/* A connection to a peer. Opaque. */
typedef struct shade_conn shade_conn;

/* Protocol version spoken (doc/protocol.md). */
#define SHADE_PROTOCOL_VERSION 1

/* Options; a zeroed struct or NULL means all defaults. */
typedef struct shade_conn_opts {
	const char *side;            /* this peer's name in error chains;
				      * NULL: "client" / "server" */
	int timeout_ms;              /* default deadline of every call that
				      * sets none (Timeout when it passes);
				      * 0: none */
	struct shade_registry *names;/* exported names served to the peer
				      * (LOOKUP, NAMES); borrowed; NULL: none */
	size_t iter_chunk;           /* elements per FORCE chunk when
				      * iterating; 0: 65536 */
	size_t max_pending;          /* outstanding requests; 0: 65536 */
	const struct shade_shape_desc *const *known; /* compiled-in shapes
				      * announced in HELLO (NULL-terminated)
				      * so the peer skips their descriptions */
	const struct shade_transport_opts *transport; /* for shade_connect */
	size_t max_exports;          /* objects handed to the peer; 0: 2^24 */
	size_t max_imports;          /* proxies of the peer's objects;
				      * 0: 2^24 */
	unsigned max_depth;          /* nesting of values; 0: 64 */
	uint64_t max_len;            /* longest string (bytes) / array / map
				      * in a value; 0: 2^31 */
	uint64_t max_items;          /* data items in one decoded value;
				      * 0: none (the frame size bounds it) */
	const struct shade_auth_key *auth; /* accepting side: the keys a
				      * peer may prove (n_auth > 0: every
				      * peer must prove one); connecting
				      * side: prove auth[0] and require the
				      * peer to prove it back (shade/
				      * security.h); borrowed */
	size_t n_auth;               /* keys in auth; 0: no authentication */
	shade_access_fn access;      /* accepting side: decides each LOOKUP
				      * and each request on an object
				      * (shade/security.h); NULL: all
				      * allowed but read-only exports */
	void *access_udata;          /* given to access */
	int auth_timeout_ms;         /* connecting side: bound on the
				      * authentication exchange; 0: 10 s */
	bool postmortem;             /* post-mortem by consent: ask the
				      * peer for a remote traceback with
				      * every failure of our requests
				      * (shade_error.traceback), and answer
				      * the peer's requests that ask with
				      * one (our code's places and attached
				      * values; doc/api.md §14) */
	bool no_pipelining;          /* do not keep results for calls
				      * pipelined on them, nor ask the peer
				      * to (HELLO feature 2 off): calls on a
				      * future's result wait for it */
	bool no_typed_arrays;        /* send every list and tuple as a
				      * CBOR array, and do not announce
				      * that typed arrays are read (HELLO
				      * feature 32 off, doc/protocol.md
				      * 7.4); typed arrays received are
				      * read all the same */
} shade_conn_opts;

/* Counters a user can read (shade_conn_stats_get). */
typedef struct shade_conn_stats {
	uint64_t frames_sent;       /* frames written */
	uint64_t bytes_sent;        /* bytes written, frame heads included */
	uint64_t frames_received;   /* frames read */
	uint64_t bytes_received;    /* bytes read, frame heads included */
	uint64_t requests_sent;     /* requests this side made */
	uint64_t requests_served;   /* requests of the peer this side served */
	uint64_t round_trips;       /* waits for replies (one per call or
				     * per future wait that had to wait) */
	uint64_t releases_sent;     /* RELEASE messages sent */
	uint64_t exports;           /* entries now in the export table */
	uint64_t imports;           /* entries now in the import table */
	uint64_t pending;           /* requests now outstanding */
	uint64_t shapes_sent;       /* shape descriptions sent */
	uint64_t shapes_cached;     /* shape descriptions received */
	uint64_t export_bytes;      /* memory of the export table (its
				     * entry array and two index tables) */
	uint64_t import_bytes;      /* memory of the import table: hash
				     * slots plus the proxies (malloc
				     * chunks) */
	uint64_t requests_expired;  /* peer requests answered Timeout
				     * unstarted: their deadline passed
				     * while they were queued */
	uint64_t requests_cancelled;/* peer requests withdrawn by CANCEL
				     * before they started (no reply) */
	uint64_t promises;          /* results of the peer's requests kept
				     * now for calls pipelined on them
				     * (doc/protocol.md §13) */
} shade_conn_stats;

/*
 * Connect to an address (shade/transport.h: unix:, tcp:, exec:, fd:) and
 * send HELLO without waiting for the answer.  *out is a talloc child of
 * mem_ctx.
 */
SHADE_API shade_status shade_connect(TALLOC_CTX *mem_ctx, const char *address,
				     const shade_conn_opts *opts,
				     shade_conn **out, shade_error **err);

/*
 * Run the protocol over a transport, which the connection takes over
 * (talloc_steal; also on failure, when it is freed).  `accepting` is true
 * for the side that accepted (it waits for HELLO and answers it), false
 * for the connecting side (it sends HELLO at once).
 */
SHADE_API shade_status shade_conn_new(TALLOC_CTX *mem_ctx,
				      struct shade_transport *t,
				      bool accepting,
				      const shade_conn_opts *opts,
				      shade_conn **out, shade_error **err);

/* Send BYE (once) and close the transport.  The object stays valid until
 * freed; later calls fail with ConnectionLost. */
SHADE_API void shade_conn_close(shade_conn *c);

/* True while the connection is usable. */
SHADE_API bool shade_conn_is_open(const shade_conn *c);

/* Copy the counters into *out. */
SHADE_API void shade_conn_stats_get(shade_conn *c, shade_conn_stats *out);

/* Set the default deadline per call (0: none). */
SHADE_API void shade_conn_set_timeout(shade_conn *c, int timeout_ms);

/* Write queued output now: batched requests and replies, and queued
 * RELEASEs (they otherwise ride before the next frame).  On a
 * non-blocking transport, writes what the socket takes. */
SHADE_API shade_status shade_conn_flush(shade_conn *c, shade_error **err);

/* This side's name, as written into error chains (owned by c). */
SHADE_API const char *shade_conn_side(const shade_conn *c);

/* The transport (borrowed). */
SHADE_API struct shade_transport *shade_conn_transport(shade_conn *c);

/*
 * Serve the peer's requests on this thread until the peer says BYE or the
 * connection is lost (SHADE_OK after BYE), or timeout_ms passes (-1:
 * forever; SHADE_ERR_TIMEOUT).  For a process that only answers one peer.
 */
SHADE_API shade_status shade_conn_serve(shade_conn *c, int timeout_ms,
					shade_error **err);

/* ------------------------------------------------------------ embedding */

/* The fd to poll for POLLIN (-1 when closed).  Still owned by c. */
SHADE_API int shade_conn_fd(const shade_conn *c);

/*
 * Process what is readable without blocking: read at most max_frames
 * frames (0: 16) and route them (replies to their callers, requests
 * queued), then serve the queued requests in arrival order and flush
 * output.  A request whose deadline passed while it was queued is
 * answered Timeout without running; one a CANCEL read meanwhile withdrew
 * is dropped unanswered (doc/protocol.md §5.2).
 * SHADE_AGAIN when nothing more can be read now (poll again), SHADE_OK
 * when the frame budget ran out with more maybe buffered (call again),
 * SHADE_ERR_CONNECTION_LOST when the peer left (BYE or loss).
 */
SHADE_API shade_status shade_conn_process(shade_conn *c, unsigned max_frames,
					  shade_error **err);

/* True when output is queued (poll the fd for POLLOUT and call
 * shade_conn_flush). */
SHADE_API bool shade_conn_wants_write(const shade_conn *c);

/* The connection of a proxy, or NULL (local object or lost connection). */
SHADE_API shade_conn *shade_ref_conn(const struct shade_ref *r);

/* Bytes queued for output and not yet written (the server stops reading
 * a connection whose queue passes its limit). */
SHADE_API size_t shade_conn_out_pending(shade_conn *c);

/* ------------------------------------------------------------ deferred
 * replies
 *
 * A handler may answer later: shade_call_defer() takes the reply handle
 * of the request it serves, the handler returns (its return value and
 * result are then ignored) and frees its thread, and any thread answers
 * once, with shade_reply_return() or shade_reply_error(); the caller sees
 * an ordinary reply.  A handle freed unanswered (shade_reply_free)
 * answers RuntimeError.  The peer's CANCEL of the request and the end of
 * the connection mark the handle cancelled (shade_reply_cancelled) and
 * run its callback (shade_reply_on_cancel); it must still be answered or
 * freed (what it then sends is dropped).  The request's arguments live
 * only during the handler: copy what the answer needs.  Answer or free
 * every handle before freeing its connection or server.  Dynamic
 * handlers (shade_call_ctx, shade/object.h) and the implementations of
 * typed skeletons (shade_typed_defer); a oneway request has no reply to
 * defer.  doc/api.md "Threads on a server".
 */

struct shade_call_ctx;
struct shade_value;

/* A deferred reply. Opaque. */
typedef struct shade_reply shade_reply;

/* Called once when the request of r is cancelled or its connection ends
 * (on the thread that read the CANCEL or saw the end, no lock held); it
 * may answer r. */
typedef void (*shade_reply_fn)(shade_reply *r, void *udata);

/* Take the reply handle of the request `call` serves (from inside its
 * handler, on the thread that runs it): the reply is then given through
 * the handle.  NULL when there is nothing to defer (a local call, a
 * oneway request, deferred already) or out of memory. */
SHADE_API shade_reply *shade_call_defer(struct shade_call_ctx *call);

/* shade_call_defer for the implementation function of a typed skeleton
 * (shade-idlc), which is given no shade_call_ctx: mem_ctx is the memory
 * the function was given (it names the request it serves).  type and
 * member (may be NULL) name the deferring object's type and member in
 * the error chain of shade_reply_error.  Whatever the function then
 * returns and puts in its result is ignored; the answer given through
 * the handle is a dynamic value (shade_reply_return) that must match the
 * declared result type, as the caller's stub decodes it.  NULL as
 * shade_call_defer, and when mem_ctx is not that of a request this
 * thread serves from a connection (a local call). */
SHADE_API shade_reply *shade_typed_defer(const void *mem_ctx,
					 const char *type,
					 const char *member);

/* Answer r with result (NULL: none; borrowed) from any thread, and free
 * r.  When result cannot be encoded the caller gets that error instead
 * and so does *err.  SHADE_ERR_INVALID when r was answered already. */
SHADE_API shade_status shade_reply_return(shade_reply *r,
					  const struct shade_value *result,
					  shade_error **err);

/* Answer r with an error (code, printf-style message; the chain names
 * the object and member that deferred) from any thread, and free r. */
SHADE_API shade_status shade_reply_error(shade_reply *r, shade_status code,
					 const char *fmt, ...)
	SHADE_PRINTF(3, 4);

/* Free r; when it was not answered, answer RuntimeError. */
SHADE_API void shade_reply_free(shade_reply *r);

/* True once the request of r was cancelled or its connection ended. */
SHADE_API bool shade_reply_cancelled(const shade_reply *r);

/* Set r's cancel callback (replacing one set before); runs at once when
 * r is cancelled already. */
SHADE_API void shade_reply_on_cancel(shade_reply *r, shade_reply_fn fn,
				     void *udata);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_CONN_H */
