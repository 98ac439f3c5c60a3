/*
 * future.c - futures: asynchronous invoke, readiness, waiting for one,
 * any or all of them.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "base/clock_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"
#include <pthread.h>

/* Bytes of a reply a future reads into itself (larger ones are blocks
 * of their own): an int or a short string and its message head. */
#define FUTURE_ROOM 128

/* A call in flight. */
struct shade_future {
	shade_conn *c;        /* its connection */
	struct outreq rq;     /* the request; rq.p is the pending */
	bool taken;           /* the result was taken */
	bool oneway;          /* sent with id 0: ready at once, none */
	int64_t deadline;     /* the call's own deadline (clock_now_ms()
			       * value), -1: none; bounds a wait of 0 */
	shade_value *kept;    /* the result, taken by shade_future_ref
			       * when it could not pipeline (a child) */
	uint8_t room[FUTURE_ROOM]; /* a small reply is read or copied
			       * here (rq.slot) instead of into a block:
			       * not cleared */
};

/* Destructor: withdraw an unwaited request (only forget one whose
 * result the peer keeps: calls pipelined on it need it to run), and
 * drop the future's use of a kept result. */
static int future_destructor(shade_future *f)
{
	if (!f->taken && f->rq.p != NULL) {
		if (f->rq.keep)
			conn_detach(f->rq.p);
		else
			conn_abandon(f->rq.p);
	}
	if (f->rq.keep)
		conn_promise_unuse(f->c, f->rq.rid);
	conn_req_unname(&f->rq);
	return 0;
}

/* Start op (INVOKE: name and args; GETATTR: name; CALL: args) on proxy
 * r without waiting. */
static shade_status future_start(TALLOC_CTX *mem_ctx, shade_ref *r,
				 unsigned op, const char *name,
				 const shade_value *args,
				 const shade_value *kwargs,
				 const shade_call_opts *opts,
				 shade_future **out, shade_error **err)
{
	struct api_field fl[3];
	struct proxy *p;
	shade_future *f;
	shade_buf *spare;
	shade_status st;
	unsigned nf = 0, flags = 0;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "asynchronous calls need a proxy");
	SHADE_CHECK(api_live_proxy(r, &p, err));
	fl[nf++] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	if (op != OP_CALL)
		SHADE_CHECK(api_member_field(p, name, &fl[nf++], err));
	if (op != OP_GETATTR) {
		fl[nf] = (struct api_field){
			api_args_kind(p, opts, op == OP_INVOKE ? &fl[1] : NULL),
			0, NULL, args };
		nf++;
	}
	if (op == OP_INVOKE && fl[1].kind == API_FLD_UINT &&
	    p->ref.shape->members[fl[1].u].kind == SHADE_MEMBER_ONEWAY)
		flags |= REQ_ONEWAY; /* a oneway method is never answered */
	if (opts != NULL && opts->oneway)
		flags |= REQ_ONEWAY;
	if (opts != NULL && opts->promise)
		flags |= REQ_KEEP;
	if (opts != NULL && opts->byvalue)
		flags |= REQ_BYVALUE;
	/* Not cleared: conn_req_init clears the request, the room needs
	 * nothing. */
	f = talloc(mem_ctx, shade_future);
	if (f == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	f->c = p->conn;
	f->taken = false;
	f->oneway = (flags & REQ_ONEWAY) != 0;
	f->deadline = -1;
	f->kept = NULL;
	/* The request is encoded into the thread's spare buffer, given
	 * back once sent.  Without options an asynchronous call has no
	 * deadline of its own (a wait of 0 uses the connection's). */
	spare = api_buf_take();
	f->rq.b = spare;
	st = conn_req_init(&f->rq, f->c, f, op, nf, kwargs,
			   opts != NULL && opts->timeout_ms != 0
				   ? opts->timeout_ms
				   : -1,
			   p, flags | (spare != NULL ? REQ_REUSE_BUF : 0), err);
	f->rq.queued = true;
	f->rq.slot = f->room;
	f->rq.slot_cap = sizeof(f->room);
	if (st == SHADE_OK)
		st = api_put_fields(&f->rq, fl, nf, err);
	if (st == SHADE_OK)
		st = conn_req_send(&f->rq, f, err);
	if (st != SHADE_OK) {
		conn_req_unname(&f->rq);
		f->rq.keep = false; /* conn_req_send forgot its use */
		if (f->rq.b != spare) /* conn_req_init failed before */
			api_buf_give(spare);
		api_buf_give(f->rq.b);
		talloc_free(f);
		return st;
	}
	f->deadline = clock_deadline(f->rq.timeout_ms);
	api_buf_give(f->rq.b);
	f->rq.b = NULL;
	talloc_set_destructor(f, future_destructor);
	*out = f;
	return SHADE_OK;
}

shade_status shade_invoke_async_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
				   const char *name, const shade_value *args,
				   const shade_value *kwargs,
				   const shade_call_opts *opts,
				   shade_future **out, shade_error **err)
{
	return future_start(mem_ctx, r, OP_INVOKE, name, args, kwargs, opts,
			    out, err);
}

shade_status shade_invoke_async(TALLOC_CTX *mem_ctx, shade_ref *r,
				const char *name, const shade_value *args,
				const shade_value *kwargs, shade_future **out,
				shade_error **err)
{
	return future_start(mem_ctx, r, OP_INVOKE, name, args, kwargs, NULL,
			    out, err);
}

shade_status shade_getattr_async(TALLOC_CTX *mem_ctx, shade_ref *r,
				 const char *name, const shade_call_opts *opts,
				 shade_future **out, shade_error **err)
{
	return future_start(mem_ctx, r, OP_GETATTR, name, NULL, NULL, opts,
			    out, err);
}

shade_status shade_call_async(TALLOC_CTX *mem_ctx, shade_ref *r,
			      const shade_value *args,
			      const shade_value *kwargs,
			      const shade_call_opts *opts, shade_future **out,
			      shade_error **err)
{
	return future_start(mem_ctx, r, OP_CALL, NULL, args, kwargs, opts,
			    out, err);
}

bool shade_future_ready(shade_future *f)
{
	bool done;

	if (f->rq.p == NULL || f->oneway)
		return true;
	conn_flush_batch(f->c, NULL);
	pthread_mutex_lock(&f->c->mu);
	done = f->rq.p->done;
	pthread_mutex_unlock(&f->c->mu);
	return done;
}

/* The effective timeout of a wait: 0 means the call's own deadline,
 * else the connection default. */
static int wait_timeout(shade_conn *c, int timeout_ms)
{
	if (timeout_ms != 0)
		return timeout_ms;
	return c->timeout_ms > 0 ? c->timeout_ms : -1;
}

/* The timeout of a wait for f (see wait_timeout); *own is set when it
 * is f's own deadline. */
static int future_timeout(shade_future *f, int timeout_ms, bool *own)
{
	*own = timeout_ms == 0 && f->deadline >= 0;
	if (*own)
		return (int)clock_remaining_ms(f->deadline);
	return wait_timeout(f->c, timeout_ms);
}

shade_status shade_future_wait(TALLOC_CTX *mem_ctx, shade_future *f,
			       int timeout_ms, shade_value **out,
			       shade_error **err)
{
	shade_cbor_dec d;
	bool has = false, own;
	shade_value *v = NULL;
	shade_status st;

	if (f->kept != NULL || f->oneway) {
		/* Taken early by shade_future_ref, or never answered. */
		v = f->oneway ? shade_none(mem_ctx)
			      : shade_value_copy(mem_ctx, f->kept);
		if (v == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		if (out != NULL)
			*out = v;
		else
			talloc_free(v);
		return SHADE_OK;
	}
	if (f->taken || f->rq.p == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "future already waited for");
	st = conn_wait(f->c, &f->rq.p, 1, false,
		       future_timeout(f, timeout_ms, &own), NULL, err);
	if (st == SHADE_ERR_TIMEOUT && own) {
		/* The call's own deadline passed: it is over. */
		conn_abandon(f->rq.p);
		f->taken = true;
		f->rq.p = NULL;
	}
	SHADE_CHECK(st);
	f->taken = true;
	SHADE_CHECK(conn_take_reply(f->c, f->rq.p, &d, &has, err));
	if (has)
		SHADE_CHECK(shade_cbor_decode_value(mem_ctx, &d, &f->c->copts,
						    &v, err));
	else if ((v = shade_none(mem_ctx)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	/* the result is taken */
	if (!f->rq.p->reply_in_slot)
		talloc_free(f->rq.p->reply);
	f->rq.p->reply = NULL;
	f->rq.p = NULL;
	if (out != NULL)
		*out = v;
	else
		talloc_free(v);
	return SHADE_OK;
}

shade_status shade_future_ref(shade_future *f, shade_ref **out,
			      shade_error **err)
{
	*out = NULL;
	if (f->oneway)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "a oneway call has no result");
	if (f->rq.keep && f->kept == NULL)
		return conn_promise_new(f->c, f->rq.rid, out, err);
	/* The peer keeps no result: wait for it (today's way). */
	if (f->kept == NULL)
		SHADE_CHECK(shade_future_wait(f, f, 0, &f->kept, err));
	if (shade_value_kind(f->kept) != SHADE_REF)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "the result is %s, not an object",
				       shade_kind_name(shade_value_kind(
					       f->kept)));
	*out = shade_ref_retain(shade_value_as_ref(f->kept));
	return SHADE_OK;
}

shade_status shade_promise_attr(shade_ref *r, const char *name,
				shade_ref **out, shade_error **err)
{
	static const shade_call_opts keep = { .promise = true };
	shade_future *f = NULL;
	shade_value *v = NULL;
	shade_status st;

	*out = NULL;
	SHADE_CHECK(api_check_ref(r, err));
	if (name == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "attribute name is NULL");
	if (shade_ref_is_promise(r))
		return conn_promise_path((const struct proxy *)r, &name, 1,
					 out, err);
	if (shade_ref_is_proxy(r)) {
		st = shade_getattr_async(NULL, r, name, &keep, &f, err);
		if (st == SHADE_OK)
			st = shade_future_ref(f, out, err);
		talloc_free(f);
		return st;
	}
	SHADE_CHECK(shade_getattr(NULL, r, name, &v, err));
	if (shade_value_kind(v) == SHADE_REF)
		*out = shade_ref_retain(shade_value_as_ref(v));
	talloc_free(v);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "attribute '%s' is not an object", name);
	return SHADE_OK;
}

bool shade_ref_is_promise(const shade_ref *r)
{
	return r != NULL && shade_ref_is_proxy(r) &&
	       conn_is_promise((const struct proxy *)r);
}

/* Wait for any or all of fs. */
static shade_status futures_wait(shade_future *const *fs, size_t n, bool all,
				 int timeout_ms, size_t *index,
				 shade_error **err)
{
	struct pending **ps;
	shade_status st;
	size_t i;

	if (n == 0)
		return shade_error_set(err, SHADE_ERR_INVALID, "no futures");
	ps = talloc_array(NULL, struct pending *, n);
	if (ps == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (fs[i]->rq.p == NULL || fs[i]->c != fs[0]->c ||
		    fs[i]->kept != NULL || fs[i]->oneway) {
			talloc_free(ps);
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "future %zu already waited for "
					       "or on another connection", i);
		}
		ps[i] = fs[i]->rq.p;
	}
	st = conn_wait(fs[0]->c, ps, n, all,
		       wait_timeout(fs[0]->c, timeout_ms), index, err);
	talloc_free(ps);
	return st;
}

shade_status shade_future_wait_any(shade_future *const *fs, size_t n,
				   int timeout_ms, size_t *index,
				   shade_error **err)
{
	return futures_wait(fs, n, false, timeout_ms, index, err);
}

shade_status shade_future_wait_all(shade_future *const *fs, size_t n,
				   int timeout_ms, shade_error **err)
{
	return futures_wait(fs, n, true, timeout_ms, NULL, err);
}
