/*
 * conn_int.h - the connection engine's insides, shared with the api
 * layer (proxies) and the server.
 *
 * The engine is one concern per file, each calling only those listed
 * after it: lifetime.c (new, close, getters), wait.c (waiting, nested
 * turns), serve.c (serving the peer's requests, conn_process), access.c
 * (access control of served requests), route.c (routing received
 * frames), auth.c (the authentication exchange, the peer's identity),
 * request.c (our requests), refs.c (shapes,
 * proxies, reference hooks, RELEASE), defer.c (deferred replies),
 * send.c (output queue, batching), lost.c (the end of a connection),
 * promise.c (results kept for pipelined calls), queue.c (frame
 * queues); export.c and msg.c are the export table and the message
 * format; pool.c (the worker pool of a server, calling serve.c) is
 * called by the server only; served.c
 * answers what a server loop asks of a connection (counters, memory held,
 * trimming), calling none of the others.
 *
 * Locking: `mu` guards every table, queue, flag and counter of the
 * connection, except what the call path touches on every call: the
 * request id, the sent/served counters and proxy counts other than the
 * last are atomic, and `open`, `n_rel` and a queue's head are written
 * under mu with atomic stores so that hints can read them without it.
 * `send_mu` serializes writes to the transport (taken before `mu` when
 * both are needed, never the other way round).  No user code (handlers,
 * free hooks) runs while `mu` is held.  At most one thread reads the
 * transport at a time (`reading`); the others wait on `cv`, which is
 * broadcast whenever a reply, a nested request or the end of the
 * connection arrives, or the reader leaves.
 *
 * Ownership: pendings live inside their request (a call's frame, a
 * typed request or a future), the connection only points at them;
 * proxies are reference counted and detached (conn = NULL) when the connection ends;
 * exports live inside the `exports` table (no allocation of their own;
 * export_int.h) and hold one count on their object.  An export lives
 * while references handed out for it are not all released (`out` > 0);
 * export ids count up from 1 and are never reused on a connection, so an
 * id the peer gave back after the export died finds nothing (NotFound or
 * ProtocolError), never another object.
 */
#ifndef SHADE_CONN_INT_H
#define SHADE_CONN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "shade/cbor.h"
#include "shade/conn.h"
#include "shade/security.h"
#include "shade/transport.h"
#include "conn/export_int.h"
#include "conn/import_int.h"
#include "base/hmap_int.h"
#include "conn/msg_int.h"
#include "conn/queue_int.h"
#include "object/object_int.h"

struct loop;
struct loop_fd;

/* Bytes of an authentication nonce (doc/protocol.md §3.7). */
#define AUTH_NONCE_LEN 32

/* HELLO feature bits (doc/protocol.md §3.1). */
#define HELLO_FEATURE_AUTH 1u
#define HELLO_FEATURE_PIPELINE 2u /* promise pipelining (§13) */
#define HELLO_FEATURE_POSTMORTEM 8u /* reads ERROR's `more` map */
#define HELLO_FEATURE_TYPED 32u /* reads typed arrays (protocol 7.4) */
#define HELLO_FEATURE_PROMISE_ARGS 64u /* takes kept results as arguments
					* (tag 206, option 15, §13) */
#define HELLO_FEATURE_TEXTS 128u /* reads text arrays (protocol 7.5) */

/* Where a connection is in the authentication exchange. */
enum auth_state {
	AUTH_DONE = 0,        /* authenticated, or none asked for */
	AUTH_WANT_START,      /* accepting: waits for AUTH step 0 */
	AUTH_WANT_PROOF,      /* accepting: sent step 1, waits for step 2 */
	AUTH_WANT_NONCE,      /* connecting: sent step 0, waits for step 1 */
	AUTH_WANT_SERVER      /* connecting: sent step 2, waits for step 3 */
};

/* A request of ours waiting for its reply (inside its struct outreq). */
struct pending {
	void *owner;                /* talloc context of the reply, the
				     * failure and nested requests: the
				     * request's owner */
	struct shade_conn *conn;    /* NULL once the connection dropped it
				     * (on its reply, unless the reply
				     * carries references: `held`);
				     * set to NULL under the connection's
				     * mu, read without it only through
				     * pending_conn */
	uint64_t rid;               /* our request id */
	bool done;                  /* reply arrived or the request failed */
	uint8_t *reply;             /* RETURN/ERROR frame (on owner, or
				     * in slot: reply_in_slot) */
	uint8_t *slot;              /* room of the request's own where
				     * its waiter reads a small reply
				     * (conn_wait), or NULL */
	size_t slot_cap;            /* bytes at slot */
	bool reply_in_slot;         /* reply is slot (not a talloc
				     * block: never freed) */
	size_t reply_len;           /* its length */
	struct msg m;               /* the reply parsed, cursor into
				     * reply */
	shade_error *fail;          /* failure without a reply (lost...) */
	struct frame_queue nested;  /* peer requests nested in this call */
};

/* A proxy: a reference to an object the peer hosts.  Proxies are plain
 * malloc blocks (not talloc chunks): a client may hold millions, and the
 * talloc header would double their size (doc/api.md §9). */
struct proxy {
	struct shade_ref ref;   /* common part; must be first */
	struct shade_conn *conn;/* its connection; NULL once that ended */
	uint64_t eid;           /* the peer's export id; 0: a promise
				 * (struct promise_ref) */
};

/* The bytes of the @eager value of member `member` that came with the
 * last reference to proxy p of live connection c, copied onto mem_ctx
 * (*out, *len); false when none came. */
SHADE_INTERNAL bool conn_proxy_eager(struct shade_conn *c, struct proxy *p,
				     uint32_t member,
				     TALLOC_CTX *mem_ctx, uint8_t **out,
				     size_t *len);

/* A promise: a reference to the result of a request of ours that the
 * peer keeps (OPT_KEEP) and that calls may target before it returns
 * (OPT_ON, doc/protocol.md §13).  A proxy with eid 0 that is in no
 * import table; while it lives it holds one use of `rid` (`uses`). */
struct promise_ref {
	struct proxy p;         /* common part (p.eid 0); must be first */
	uint64_t rid;           /* the request whose result it names */
	char **path;            /* attribute names read on that result in
				 * turn (a talloc array), or NULL */
	size_t n_path;          /* their count */
};

/* p's connection, read without its mu (a hint: NULL for good once
 * read NULL; else checked again under that mu). */
static inline struct shade_conn *pending_conn(const struct pending *p)
{
	return __atomic_load_n(&p->conn, __ATOMIC_ACQUIRE);
}

/* The connection lets go of p (under the connection's mu). */
static inline void pending_unlink(struct pending *p)
{
	__atomic_store_n(&p->conn, NULL, __ATOMIC_RELEASE);
}

/* True when r is a promise (struct promise_ref). */
static inline bool conn_is_promise(const struct proxy *p)
{
	return p->eid == 0;
}

/* A connection. */
struct shade_conn {
	shade_transport *t;             /* the transport (child of this) */
	pthread_mutex_t mu;             /* guards the fields below */
	pthread_mutex_t send_mu;        /* serializes sends */
	pthread_cond_t cv;              /* state changed */
	unsigned sleepers;              /* threads waiting on cv */
	bool mu_ready;                  /* mutexes initialised */
	bool reading;                   /* a thread reads the transport */
	int t_close;                    /* it ended while a thread read or
					 * sent: the last of them closes the
					 * transport (conn_close_transport;
					 * atomic, changed under mu) */
	bool open;                      /* usable */
	bool accepting;                 /* accepted side: answers HELLO */
	bool hello_seen;                /* the peer's HELLO arrived */
	bool bye_seen;                  /* the peer said BYE */
	bool bye_sent;                  /* we said BYE */
	shade_error *lost;              /* why it ended (child of this) */
	uint64_t next_rid;              /* next request id */
	uint64_t next_eid;              /* next export id (from 1; 0 is
					 * never an export id) */
	struct hmap pending;            /* rid -> struct pending */
	struct hmap held;               /* rid -> struct pending: replies
					 * arrived with references in them
					 * and not taken yet (the pending
					 * keeps conn set until taken or
					 * abandoned) */
	struct export_table exports;    /* our objects the peer may name,
					 * by eid and by object (one count
					 * held on each) */
	struct import_table imports;    /* peer eid -> struct proxy (weak;
					 * each proxy's ref.received counts
					 * the tag-200 references to give back
					 * in RELEASE) */
	struct hmap shapes;             /* fp -> shade_shape_desc (cache) */
	struct hmap shapes_sent;        /* fp -> non-NULL: description sent */
	struct hmap peer_known;         /* fp -> non-NULL: peer knows it */
	struct hmap eager;              /* eid of an import -> the CBOR map
					 * {member: value} of the @eager
					 * values that came with its last
					 * reference (talloc on this) */
	uint64_t *rel;                  /* queued RELEASE pairs (eid, n) */
	size_t n_rel;                   /* uint64s used in rel */
	struct frame_queue unnested;    /* peer requests nesting in no call */
	struct item_cache items;        /* spare request items of the reader
					 * (queue_int.h) */
	uint64_t peer_features;         /* HELLO feature bits of the peer */
	bool no_pipelining;             /* HELLO feature 2 off (options) */
	bool no_typed_arrays;           /* HELLO feature 32 off (options) */
	struct hmap promises;           /* peer rid -> struct promise: the
					 * results the peer asked us to keep
					 * (promise.c) */
	struct hmap uses;               /* our rid -> count: futures and
					 * promises that may still name the
					 * result the peer keeps for it; at 0
					 * a DROP is queued (in `rel` as the
					 * pair (0, rid)) */
	struct hmap promise_refs;       /* (uintptr_t)promise -> promise:
					 * live promises, detached when c
					 * ends */
	shade_conn_stats st;            /* request counters (frames: t) */
	const char *side;               /* our side name: a child of this,
					 * or its server's (conn_set_loop) */
	int timeout_ms;                 /* default deadline; 0: none */
	size_t iter_chunk;              /* FORCE chunk when iterating */
	size_t max_pending;             /* outstanding request limit */
	size_t max_exports;             /* export table limit */
	size_t max_imports;             /* import table limit */
	shade_registry *names;          /* exported names, borrowed */
	const shade_shape_desc *const *known; /* announced shapes */
	shade_cbor_hooks hooks;         /* reference hooks (udata: this) */
	shade_cbor_opts copts;          /* codec options using hooks */
	shade_cbor_opts copts_share;    /* the same, lists and dicts by
					 * reference (the default copy rule
					 * of arguments and results) */
	struct loop *loop;              /* the loop serving it, or NULL:
					 * a wait asks it for nested turns */
	struct loop_fd *watch;          /* its watch in that loop */
	int serving;                    /* requests of this connection
					 * being served now, on any thread
					 * (atomic) */
	shade_buf *outb;                /* framed messages not yet handed
					 * to the transport (async requests,
					 * batched replies); guarded by
					 * send_mu */
	unsigned out_frames;            /* frames in outb */
	shade_buf *rbuf;                /* reply buffer of a served request,
					 * reused (or NULL) */
	bool rbuf_busy;                 /* rbuf is in use (atomic) */
	void *scratch;                  /* scratch pool of a served request,
					 * reused (or NULL) */
	bool scratch_busy;              /* scratch is in use (atomic) */
	/* Authentication and access (auth.c, access.c; shade/security.h).
	 * auth_state and the nonces are touched by the reader only. */
	const shade_auth_key *auth;     /* keys (borrowed), or NULL */
	size_t n_auth;                  /* keys in auth */
	int auth_timeout_ms;            /* connecting side's bound */
	uint8_t auth_state;             /* enum auth_state */
	int auth_key;                   /* accepting side: index of the key
					 * the peer named, -1: none */
	uint8_t cnonce[AUTH_NONCE_LEN]; /* the connecting side's nonce */
	uint8_t snonce[AUTH_NONCE_LEN]; /* the accepting side's nonce */
	shade_identity id;              /* what we know of the peer */
	bool id_cred;                   /* id's credentials were read (an
					 * accepting side reads them at the
					 * peer's HELLO, under mu) */
	shade_access_fn access;         /* access hook, or NULL */
	void *access_udata;             /* for access */
	/* Post-mortem (doc/protocol.md §3.2). */
	bool postmortem;                /* our requests ask for a remote
					 * traceback (OPT_TRACEBACK), and the
					 * peer's that ask get one */
	bool peer_more;                 /* the peer's HELLO had feature 8:
					 * our ERRORs carry `more` */
	/* Worker pool and deferred replies (pool.c, defer.c). */
	struct conn_pool *pool;         /* the worker pool that serves its
					 * requests (set once, before use),
					 * or NULL: the reader serves them */
	struct shade_conn *pool_next;   /* next on the pool's ready list
					 * (pool's mu) */
	bool pool_queued;               /* on that list (pool's mu) */
	bool pool_excl;                 /* an ordered request of it runs on
					 * a worker (pool's mu) */
	unsigned pool_running;          /* its requests running on workers
					 * (pool's mu) */
	unsigned answering;             /* requests started on a worker or
					 * deferred and not answered yet: a
					 * BYE waits for them (atomic) */
	struct hmap deferred;           /* rid -> struct shade_reply:
					 * deferred replies not yet given */
	void *pool_owner;               /* its pool, while the pool's
					 * workers read it (pool.c, "owned"),
					 * or NULL: its loop leaves its
					 * input alone meanwhile (atomic) */
	unsigned pool_slot;             /* its slot in the pool while owned
					 * (pool's mu) */
	bool pool_want_own;             /* a worker would have owned it but
					 * its loop was busy with it: the
					 * loop offers it when done (mu) */
	bool pool_loop_busy;            /* its loop handles an event of it
					 * (pool_loop_enter): no worker
					 * takes it to read meanwhile (mu) */
	bool pool_throttled;            /* its loop stopped reading it for
					 * its full queue (conn_pool_throttle):
					 * a worker tells the loop once it
					 * served some (mu) */
};

/* Is an authentication exchange unfinished on c: nothing but AUTH may
 * pass (read by the reader). */
static inline bool conn_auth_pending(const shade_conn *c)
{
	return c->auth_state != AUTH_DONE;
}

/* Bytes of the talloc pool that holds the scratch of one dynamic call or
 * one served request (its message buffer, small decoded values): one
 * malloc instead of one per piece.  Typed requests are not pools: with
 * a thousand in flight, blocks of this size leave malloc's fast caches
 * (pipelined typed calls: 1.3 million/s as pools, 2.1 million/s not). */
#define CALL_POOL_BYTES 512

/* A connection's reusable reply buffer: its first size, and the size
 * past which it is dropped after use. */
#define REPLY_BUF_BYTES 256
#define REPLY_BUF_KEEP ((size_t)16 << 10)

/* Wake the threads sleeping on cv, if any (caller holds mu). */
static inline void conn_wake_all(shade_conn *c)
{
	if (c->sleepers > 0)
		pthread_cond_broadcast(&c->cv);
}

/* The value-model ops of proxies. */
SHADE_INTERNAL extern const shade_ref_ops proxy_ops;

/* Most kept results the fields of one request may name (tag 206). */
#define REQ_MAX_NAMED 8

/* A request being built: fields are written into b between conn_req_init
 * and conn_req_send. */
struct outreq {
	shade_conn *c;          /* the connection */
	shade_buf *b;           /* the message (on the caller's tmp ctx) */
	struct msg_opts o;      /* options written after the fields */
	bool has_opts;          /* o is written */
	uint64_t rid;           /* request id, 0 for oneway */
	int timeout_ms;         /* effective deadline, -1: none */
	struct pending *p;      /* &pend once sent, NULL for oneway */
	bool keep;              /* the peer keeps the result (o.keep):
				 * one use of rid counted */
	struct pending pend;    /* the pending of a two-way request */
	bool queued;            /* batch it (written by the next flush or
				 * wait) instead of writing it now */
	uint64_t named[REQ_MAX_NAMED]; /* kept results its fields name
				 * (tag 206): one use of each counted */
	size_t n_named;         /* entries in named */
	bool on_held;           /* one use of o.on counted (its target is
				 * a promise) */
	uint8_t *slot;          /* copied to pend.slot when sent: room in
				 * the request for a small reply, or NULL */
	size_t slot_cap;        /* bytes at slot */
	bool wait_now;          /* its thread waits for the reply right
				 * after sending it (conn_wait_reply):
				 * it may take the reader role as it
				 * registers the request */
	bool reader;            /* it took it: conn_wait_reply reads at
				 * once */
	bool enc_ready;         /* enc below is filled */
	struct {
		shade_cbor_hooks hooks;     /* the connection's, udata: this
					     * request (promises allowed) */
		shade_cbor_opts copts;      /* c->copts with those hooks */
		shade_cbor_opts share;      /* c->copts_share with them */
	} enc;                  /* what its fields are encoded with
				 * (conn_req_copts) */
};

/* Flags of conn_req_init (a bool `oneway` passes as REQ_ONEWAY). */
#define REQ_ONEWAY 1u  /* id 0: no reply wanted */
#define REQ_BYVALUE 2u /* OPT_BYVALUE: the result's lists and dicts by
			* value */
#define REQ_KEEP 4u    /* ask the peer to keep the result (OPT_KEEP) for
			* pipelined calls, when it has the feature */
#define REQ_REUSE_BUF 8u /* write into rq->b as the caller set it (an
			  * empty buffer it keeps) instead of a new one on
			  * tmp */

/* Start a request op with nfields fixed fields on tmp.  timeout_ms: 0
 * the connection default, -1 none.  target: the proxy the request is
 * for, or NULL; a promise adds OPT_ON (the target field is then 0).
 * flags: REQ_*.  ConnectionLost when closed. */
SHADE_INTERNAL shade_status conn_req_init(struct outreq *rq, shade_conn *c,
					  TALLOC_CTX *tmp, unsigned op,
					  unsigned nfields,
					  const shade_value *kwargs,
					  int timeout_ms,
					  const struct proxy *target,
					  unsigned flags, shade_error **err);

/* Does c's peer keep results for pipelined calls (HELLO feature 2)? */
SHADE_INTERNAL bool conn_can_pipeline(shade_conn *c);

/* A promise of the result of our request rid (kept by the peer: rq was
 * sent with REQ_KEEP): *out holds one count and one use of rid. */
SHADE_INTERNAL shade_status conn_promise_new(shade_conn *c, uint64_t rid,
					     shade_ref **out,
					     shade_error **err);

/* The codec options rq's fields are encoded with: the connection's
 * (share: c->copts_share), except that a promise of the same
 * connection may be written as tag 206 (noted in rq->named, one use of
 * its result taken).  For encoding into rq->b only. */
SHADE_INTERNAL const shade_cbor_opts *conn_req_copts(struct outreq *rq,
						     bool share);

/* Drop the uses of the kept results rq named, as its target or in its
 * fields (its reply was taken, or it is given up): none is dropped
 * (DROP) while a request naming it may still be served.  Safe to call
 * twice. */
SHADE_INTERNAL void conn_req_unname(struct outreq *rq);

/* A promise of the attribute path names[0..n) read on the result that
 * promise `of` names (which it need not be alive for): one more use of
 * that result. */
SHADE_INTERNAL shade_status conn_promise_path(const struct proxy *of,
					      const char *const *names,
					      size_t n, shade_ref **out,
					      shade_error **err);

/* Drop one use of rid (a future or request that named it is gone):
 * at the last, a DROP rides with the next message. */
SHADE_INTERNAL void conn_promise_unuse(shade_conn *c, uint64_t rid);

/* Finish the message, register the pending (owned by tmp) and send. */
SHADE_INTERNAL shade_status conn_req_send(struct outreq *rq, TALLOC_CTX *tmp,
					  shade_error **err);

/* Write the batched output now (takes send_mu). */
SHADE_INTERNAL shade_status conn_flush_batch(shade_conn *c, shade_error **err);

/* Wait for a pending's reply (or any/all of several: `all`), serving
 * nested requests meanwhile.  timeout_ms -1: forever. */
SHADE_INTERNAL shade_status conn_wait(shade_conn *c, struct pending *const *ps,
				      size_t n, bool all, int timeout_ms,
				      size_t *which, shade_error **err);

/* Wait for the reply of rq (sent, two-way) as conn_wait does, reading
 * at once when conn_req_send gave this thread the reader role (one lock
 * less: rq->wait_now). */
SHADE_INTERNAL shade_status conn_wait_reply(struct outreq *rq,
					    shade_error **err);

/* Take a finished pending's reply: on RETURN, *d is positioned at the
 * value (has_value false when the RETURN had none); on ERROR, the
 * peer's error (its arguments decoded with c's references) lands in *err
 * and its code is returned.  c must be the pending's connection. */
SHADE_INTERNAL shade_status conn_take_reply(shade_conn *c, struct pending *p,
					    shade_cbor_dec *d, bool *has_value,
					    shade_error **err);

/* Withdraw a pending (the caller gave up): forget it, send CANCEL; when
 * its reply came and was not taken, give back the references in it. */
SHADE_INTERNAL void conn_abandon(struct pending *p);

/* Forget a pending without withdrawing its request (one whose result
 * the peer keeps for pipelined calls must still run): its reply, when
 * it comes, is dropped and its references given back. */
SHADE_INTERNAL void conn_detach(struct pending *p);

/* Release the objects of exports c dropped (objs[0 .. n), one count
 * each), telling each it is no longer exported on c; no lock held. */
SHADE_INTERNAL void lost_release_objs(shade_conn *c, struct shade_ref **objs,
				      size_t n);

/* Fail with ConnectionLost (setting *err) unless c is open. */
SHADE_INTERNAL shade_status conn_check_open(shade_conn *c, shade_error **err);

/* Mark the connection lost with a copy of e's text (or a generic one),
 * fail pendings, drop exports, detach proxies, close the transport. */
SHADE_INTERNAL void conn_lost(shade_conn *c, shade_status code,
			      const char *why);

/* shade_conn_process for a level-triggered poll loop (`level`): stop
 * reading once a short read emptied the fd, instead of reading again
 * for the EAGAIN that proves it; poll reports what comes next. */
SHADE_INTERNAL shade_status conn_process(shade_conn *c, unsigned max_frames,
					 bool level, shade_error **err);

/* Close the transport of c, which ended (conn_lost), when no thread
 * uses it: with send_mu held and no reader (`reading`, or the loop's
 * thread inside an event of c: pool_loop_busy); else `t_close` stays
 * set and the thread that stops sending or reading calls this again.
 * No lock held. */
SHADE_INTERNAL void conn_close_transport(shade_conn *c);

/* The reader of c stops reading (caller holds mu, `reading` was set):
 * false, or true when c ended meanwhile and the caller must call
 * conn_close_transport once it released mu. */
static inline bool conn_reader_leave(shade_conn *c)
{
	c->reading = false;
	return __atomic_load_n(&c->t_close, __ATOMIC_ACQUIRE) != 0;
}

/* conn_reader_leave as a whole (no lock held): under mu, the reader
 * stops and whoever waits for the role is woken; then the transport is
 * closed when c ended meanwhile. */
SHADE_INTERNAL void conn_reader_done(shade_conn *c);

/* Send ERROR id 0 with code and why, then end c (conn_lost). */
SHADE_INTERNAL void conn_refuse(shade_conn *c, shade_status code,
				const char *why);

/* After the peer's BYE (read by conn_process, which reads nothing after
 * it): end c once the replies to the requests read before it and the
 * queued releases are written.  True when c said BYE or is closed (it
 * needs no input interest any more). */
SHADE_INTERNAL bool conn_bye_close(shade_conn *c);

/* Frames received on c so far (a counter of its transport). */
SHADE_INTERNAL uint64_t conn_frames_in(const shade_conn *c);

/* conn_pool_full for c's loop, which stops reading c when true: then
 * the next worker done with c asks the loop to look at it again (pool.c
 * let_go).  Loop thread. */
SHADE_INTERNAL bool conn_pool_throttle(shade_conn *c);

/* Bytes c's transport holds for input not yet whole: its input buffer
 * and a large frame being received (0 for a connection at rest). */
SHADE_INTERNAL size_t conn_input_held(const shade_conn *c);

/* True when c has requests of ours outstanding or a handler running:
 * it is not idle whatever its peer sends. */
SHADE_INTERNAL bool conn_engaged(shade_conn *c);

/* Requests a connection served by a worker pool may have queued before
 * its server stops reading it until its workers catch up. */
#define POOL_QUEUE_MAX 1024u

/* True when c is served by a worker pool that has POOL_QUEUE_MAX of its
 * requests queued and c waits for no reply of its peer (a handler of c
 * waiting for one needs c read): its server stops reading it. */
SHADE_INTERNAL bool conn_pool_full(shade_conn *c);

/* Give back the memory a connection at rest keeps for speed: its reply
 * buffer, its scratch pool and an empty output queue (loop thread, no
 * handler of c running). */
SHADE_INTERNAL void conn_trim(shade_conn *c);

/* True while a request of c is being served (a handler of c is on some
 * thread's stack): the server loop then leaves c to that handler. */
SHADE_INTERNAL bool conn_busy(shade_conn *c);

/* Record that loop serves c through watch w (set once, before c is
 * used): c leaves the loop as it ends, and a wait on c on the loop's
 * thread asks it for nested turns instead of blocking.  side (or NULL):
 * the loop's owner's copy of c's side name, which outlives c; c uses it
 * instead of its own when they are equal. */
SHADE_INTERNAL void conn_set_loop(shade_conn *c, struct loop *loop,
				  struct loop_fd *w, const char *side);

/* The cached shape for fp (or a built-in), or NULL. */
SHADE_INTERNAL const shade_shape_desc *conn_shape(shade_conn *c, uint64_t fp);

/* Cache shape d (stolen) under its fingerprint unless one is there;
 * returns the cached one. */
SHADE_INTERNAL const shade_shape_desc *conn_cache_shape(shade_conn *c,
							shade_shape_desc *d);

#endif /* SHADE_CONN_INT_H */
