/*
 * request.c - the typed request API generated stubs use: begin a call
 * by member index, write the argument item, send, and read the result
 * item (local objects dispatched in place).
 *
 * A call to a proxy is one talloc block plus its argument buffer, and
 * freeing it does not give them back: its destructor parks both on the
 * calling thread's list of spare requests (at most REQ_CACHE_MAX), and
 * the next call begun on that thread takes them from there, so a call
 * on the common path allocates nothing for itself.  Only what hangs
 * below the block (the reply frame, anything the caller put on it) is
 * freed.  A parked block holds nothing of its call (no target, no
 * connection, no pending); the list is freed when its thread exits.
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

/* Bytes of a reply a request reads into itself (larger ones are blocks
 * of their own). */
#define REQ_SLOT_BYTES 128

/* A typed call in progress. */
struct shade_request {
	shade_ref *r;           /* the target (one count held) */
	shade_conn *c;          /* its connection, NULL when local */
	shade_buf *args;        /* argument item (local objects) */
	shade_buf *res;         /* result bytes (local objects) */
	uint32_t member;        /* member index */
	shade_dispatch_op op;   /* what is asked */
	bool oneway;            /* no reply wanted */
	shade_cbor_dec out;     /* the result decoder handed out */
	bool sent;              /* shade_request_send was called */
	uint8_t *eager;         /* GET answered by the @eager value that
				 * came with the reference, or NULL */
	size_t eager_len;       /* its length */
	shade_buf *spare;       /* the argument buffer it keeps for its
				 * next use (not a child of it), or NULL */
	shade_request *next;    /* next on the thread's spare list */
	/* Not cleared when the block is taken for a call (request_take): */
	struct outreq rq;       /* the request (proxies: conn_req_init
				 * clears it; p, keep and b read by the
				 * destructor) */
	uint8_t frame[REQ_SLOT_BYTES]; /* a small reply is read here
				 * (rq.slot) */
};

/* Spare requests a thread keeps at most, and the largest argument
 * buffer kept with one (bytes allocated). */
#define REQ_CACHE_MAX 64
#define REQ_KEEP_BUF ((size_t)1024)

/* The calling thread's spare requests (parked by request_destructor). */
static _Thread_local shade_request *tl_spare;
static _Thread_local unsigned tl_n_spare;  /* blocks on tl_spare */
static _Thread_local bool tl_spare_keyed;  /* spare_key set for it */
static _Thread_local shade_buf *tl_buf;    /* api_buf_take's spare */
static _Thread_local unsigned long tl_buf_reused; /* times handed out */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;
static unsigned long n_parked;             /* on all threads (atomic) */

/* Free the spare list at *slot (a thread's tl_spare). */
static void spare_free(void *slot)
{
	shade_request **head = slot, *q;

	while ((q = *head) != NULL) {
		*head = q->next;
		talloc_set_destructor(q, NULL);
		talloc_free(q->spare);
		talloc_free(q);
		__atomic_sub_fetch(&n_parked, 1, __ATOMIC_RELAXED);
	}
	if (head == &tl_spare) {
		TALLOC_FREE(tl_buf);
		tl_n_spare = 0;
		/* A block parked after this (a later thread-exit
		 * destructor freeing a call) keys the thread again. */
		tl_spare_keyed = false;
	}
}

/* Once: the key whose destructor frees a thread's spare list. */
static void spare_init(void)
{
	spare_ok = pthread_key_create(&spare_key, spare_free) == 0;
}

/* At exit, the exiting thread's list (thread-exit keys do not run for
 * the thread that calls exit). */
static __attribute__((destructor)) void spare_atexit(void)
{
	spare_free(&tl_spare);
}

void api_request_trim(void)
{
	spare_free(&tl_spare);
}

unsigned long api_requests_parked(void)
{
	return __atomic_load_n(&n_parked, __ATOMIC_RELAXED);
}

static int request_destructor(shade_request *q);

/* Whether what the thread keeps is freed at its exit (its key set). */
static bool spare_keyed(void)
{
	if (!tl_spare_keyed) {
		pthread_once(&spare_once, spare_init);
		if (!spare_ok || pthread_setspecific(spare_key, &tl_spare) != 0)
			return false;
		tl_spare_keyed = true;
	}
	return true;
}

/* Empty b; whether it may be kept for reuse (it did not grow past
 * REQ_KEEP_BUF nor reference strings). */
static bool buf_keepable(shade_buf *b)
{
	shade_buf_reset(b);
	return b->cap <= REQ_KEEP_BUF && b->refs == NULL;
}

shade_buf *api_buf_take(void)
{
	shade_buf *b = tl_buf;

	tl_buf = NULL;
	tl_buf_reused += b != NULL;
	return b;
}

unsigned long api_bufs_reused(void)
{
	return tl_buf_reused;
}

void api_buf_give(shade_buf *b)
{
	if (b == NULL)
		return;
	if (tl_buf != NULL || !buf_keepable(b) || !spare_keyed()) {
		talloc_free(b); /* grown or used for references: not kept */
		return;
	}
	if (talloc_parent(b) != NULL)
		talloc_steal(NULL, b);
	tl_buf = b;
}

/* Park q (its call is over) on the thread's spare list: true, or false
 * when it is to be freed (the list is full, q has a parent that frees
 * it with itself, or the thread cannot have it freed at its exit). */
static bool request_park(shade_request *q)
{
	shade_buf *b = q->spare;

	if (tl_n_spare >= REQ_CACHE_MAX || talloc_parent(q) != NULL ||
	    !spare_keyed())
		return false;
	if (b != NULL && !buf_keepable(b)) {
		talloc_free(b); /* grown or used for references: not kept */
		q->spare = NULL;
	}
	/* The reply frame and what the caller hung on the call. */
	talloc_free_children(q);
	q->next = tl_spare;
	tl_spare = q;
	tl_n_spare++;
	__atomic_add_fetch(&n_parked, 1, __ATOMIC_RELAXED);
	return true;
}

/* A request block: a spare of the thread, emptied (its argument buffer
 * kept), or a new one; NULL when out of memory. */
static shade_request *request_take(void)
{
	shade_request *q = tl_spare;
	shade_buf *b;

	if (q == NULL) {
		q = talloc_zero(NULL, shade_request);
		if (q != NULL)
			talloc_set_destructor(q, request_destructor);
		return q;
	}
	tl_spare = q->next;
	tl_n_spare--;
	__atomic_sub_fetch(&n_parked, 1, __ATOMIC_RELAXED);
	b = q->spare;
	memset(q, 0, offsetof(shade_request, spare));
	q->spare = b;
	/* What the destructor reads before conn_req_init clears the
	 * rest. */
	q->rq.p = NULL;
	q->rq.keep = false;
	q->rq.b = NULL;
	return q;
}

static const uint8_t cbor_null[1] = { 0xf6 };

/* Destructor: drop the target's count, withdraw an unfinished call (only
 * forget one whose result the peer keeps: calls pipelined on it need it
 * to run) and drop the call's use of a kept result. */
static int request_destructor(shade_request *q)
{
	if (q->rq.p != NULL && q->rq.keep)
		conn_detach(q->rq.p);
	else if (q->rq.p != NULL)
		conn_abandon(q->rq.p); /* a no-op once the reply was taken */
	if (q->rq.keep)
		conn_promise_unuse(q->c, q->rq.rid);
	if (q->c != NULL)
		conn_req_unname(&q->rq);
	shade_ref_release(q->r);
	q->r = NULL;
	if (q->rq.b != NULL && q->rq.b == q->spare &&
	    request_park(q))
		return -1; /* kept: talloc_free(q) leaves it be */
	talloc_free(q->spare);
	return 0;
}

/* Whether a typed call must ask for its result by value (OPT_BYVALUE):
 * the declared type of the result is what it is, so a sequence or a
 * struct must not come as a reference.  A member the peer's shape
 * declares with a signature is served by generated code, which writes
 * its result by value anyway: no option needed, no byte spent.  Any
 * other (a dynamic object serving the interface, an unknown shape)
 * would apply the default copy rule to its result. */
static bool typed_result_by_value(const struct proxy *p, uint32_t member,
				  shade_dispatch_op op)
{
	const shade_shape_desc *d = p->ref.shape;

	if (op == SHADE_DISPATCH_SET)
		return false;
	return d == NULL || member >= d->n_members ||
	       d->members[member].signature == NULL;
}

shade_status shade_request_begin(shade_ref *r, uint32_t member,
				 shade_dispatch_op op,
				 const shade_call_opts *opts,
				 shade_request **out, shade_buf **args,
				 shade_error **err)
{
	static const unsigned opcode[] = { OP_INVOKE, OP_GETATTR, OP_SETATTR };
	static const unsigned nfields[] = { 3, 2, 3 };
	shade_request *q;
	struct proxy *p;
	shade_status st;

	SHADE_CHECK(api_check_ref(r, err));
	if ((unsigned)op > SHADE_DISPATCH_SET)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "bad dispatch op %d", (int)op);
	q = request_take();
	if (q == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	q->r = shade_ref_retain(r);
	q->member = member;
	q->op = op;
	q->oneway = opts != NULL && opts->oneway;
	if (!shade_ref_is_proxy(r)) {
		q->args = shade_buf_new(q, 64);
		if (q->args == NULL) {
			talloc_free(q);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		*args = q->args;
		*out = q;
		return SHADE_OK;
	}
	st = api_live_proxy(r, &p, err);
	if (st == SHADE_OK && op == SHADE_DISPATCH_GET &&
	    conn_proxy_eager(p->conn, p, member, q, &q->eager,
			     &q->eager_len)) {
		/* no message: finish reads the value that came with r */
		memset(&q->rq, 0, sizeof(q->rq));
		q->args = shade_buf_new(q, 8);
		if (q->args == NULL) {
			talloc_free(q);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		q->c = p->conn;
		*args = q->args;
		*out = q;
		return SHADE_OK;
	}
	if (st == SHADE_OK && q->spare == NULL &&
	    (q->spare = shade_buf_new(NULL, 64)) == NULL)
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (st == SHADE_OK) {
		q->c = p->conn;
		q->rq.b = q->spare;
		st = conn_req_init(&q->rq, q->c, q, opcode[op], nfields[op],
				   NULL, opts ? opts->timeout_ms : 0, p,
				   REQ_REUSE_BUF | (q->oneway ? REQ_ONEWAY : 0) |
					   (typed_result_by_value(p, member, op)
						    ? REQ_BYVALUE
						    : 0) |
					   (opts && opts->promise ? REQ_KEEP
								  : 0),
				   err);
	}
	if (st != SHADE_OK) {
		talloc_free(q);
		return st;
	}
	q->rq.slot = q->frame;
	q->rq.slot_cap = sizeof(q->frame);
	shade_cbor_put_uint(q->rq.b, p->eid);
	if (conn_is_promise(p) && p->ref.shape != NULL &&
	    member < p->ref.shape->n_members)
		/* The declared shape it was narrowed to: the peer's real
		 * one may differ, so the member goes by name. */
		shade_cbor_put_cstr(q->rq.b, p->ref.shape->members[member].name);
	else
		shade_cbor_put_uint(q->rq.b, member);
	*args = q->rq.b;
	*out = q;
	return SHADE_OK;
}

/* Finish a typed call on a local object. */
static shade_status request_local(shade_request *q, shade_error **err)
{
	shade_cbor_dec in;
	shade_value *a = NULL, *v = NULL;
	struct obj_op op;
	shade_status st;
	static const unsigned opcode[] = { OP_INVOKE, OP_GETATTR, OP_SETATTR };

	q->res = shade_buf_new(q, 64);
	if (q->res == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	shade_cbor_dec_init(&in, q->args->data, q->args->len);
	if (q->r->kind == REF_TYPED) {
		shade_dispatch_ctx cx = { q, NULL };

		return obj_dispatch_typed(q->r, &cx, q->member, q->op,
					  q->op == SHADE_DISPATCH_GET ? NULL
								      : &in,
					  q->res, err);
	}
	if (q->op != SHADE_DISPATCH_GET)
		SHADE_CHECK(shade_cbor_decode_value(q, &in, NULL, &a, err));
	memset(&op, 0, sizeof(op));
	op.op = msg_obj_op(opcode[q->op]);
	op.member = q->member;
	op.args = a;
	op.value = a;
	st = obj_perform(q, q->r, &op, NULL, &v, err);
	if (st == SHADE_OK && v != NULL)
		st = shade_cbor_encode_value(q->res, v, NULL, err);
	return st;
}

shade_status shade_request_finish(shade_request *q, shade_cbor_dec **result,
				  shade_error **err)
{
	bool has = false;

	if (q->eager != NULL) {
		shade_cbor_dec_init(&q->out, q->eager, q->eager_len);
		*result = &q->out;
		return SHADE_OK;
	}
	if (q->c == NULL) {
		SHADE_CHECK(request_local(q, err));
		if (q->res->len > 0)
			shade_cbor_dec_init(&q->out, q->res->data,
					    q->res->len);
		else
			shade_cbor_dec_init(&q->out, cbor_null, 1);
		*result = &q->out;
		return SHADE_OK;
	}
	if (!q->sent) {
		q->rq.wait_now = !q->oneway;
		SHADE_CHECK(conn_req_send(&q->rq, q, err));
	}
	q->sent = true;
	if (!q->oneway) {
		/* api_await_reply, reading at once when the send made this
		 * thread the reader */
		shade_status st = conn_wait_reply(&q->rq, err);

		if (st != SHADE_OK) {
			conn_abandon(q->rq.p);
			return st;
		}
		SHADE_CHECK(conn_take_reply(q->c, q->rq.p, &q->out, &has,
					    err));
	}
	if (!has)
		shade_cbor_dec_init(&q->out, cbor_null, 1);
	*result = &q->out;
	return SHADE_OK;
}

shade_status shade_request_send(shade_request *q, shade_error **err)
{
	if (q->c == NULL || q->sent || q->eager != NULL)
		return SHADE_OK;
	q->rq.queued = true;
	q->sent = true;
	return conn_req_send(&q->rq, q, err);
}

shade_status shade_request_promise(shade_request *q, shade_ref **out,
				   shade_error **err)
{
	shade_cbor_dec *res;
	shade_value *v = NULL;
	shade_status st;

	*out = NULL;
	if (q->c != NULL && q->rq.keep) {
		SHADE_CHECK(shade_request_send(q, err));
		return conn_promise_new(q->c, q->rq.rid, out, err);
	}
	/* A local object, or a peer that keeps no results: the call
	 * itself, waited for. */
	SHADE_CHECK(shade_request_finish(q, &res, err));
	st = shade_request_decode_value(NULL, q, res, &v, err);
	if (st == SHADE_OK && shade_value_kind(v) == SHADE_REF)
		*out = shade_ref_retain(shade_value_as_ref(v));
	else if (st == SHADE_OK && shade_value_kind(v) != SHADE_NONE)
		st = shade_error_set(err, SHADE_ERR_TYPE,
				     "the result is %s, not an object",
				     shade_kind_name(shade_value_kind(v)));
	talloc_free(v);
	return st;
}

shade_status shade_request_decode_value(TALLOC_CTX *mem_ctx, shade_request *q,
					shade_cbor_dec *d, shade_value **out,
					shade_error **err)
{
	return shade_cbor_decode_value(mem_ctx, d, q->c ? &q->c->copts : NULL,
				       out, err);
}

shade_status shade_request_encode_value(shade_request *q, shade_buf *b,
					const shade_value *v, shade_error **err)
{
	return shade_cbor_encode_value(b, v,
				       q->c ? conn_req_copts(&q->rq, false)
					    : NULL,
				       err);
}
