/*
 * defer.c - deferred replies (shade_call_defer, shade/conn.h): a handler
 * takes the reply handle of the request it serves and answers later, from
 * any thread; the CANCEL of that request and the end of its connection
 * reach the handle (a flag and a callback).
 *
 * A handle is a malloc block with a count: one for its owner (dropped
 * when it is answered or freed), one for each cancel notice running its
 * callback, so a callback that answers the handle (or a thread answering
 * while the callback runs) never frees it under the other.  A handle not
 * yet answered is in its connection's `deferred` table and holds one
 * count of `serving` (the server does not free the connection) and one
 * of `answering` (a BYE waits for it); answering drops both and asks the
 * loop to look at the connection again.
 *
 * The handle and what the end of a connection does with it (defer_lost,
 * in lost.c) are in defer_int.h.
 *
 * Lock order: takes `mu` alone (the table, `answered`, the callback);
 * replies go through send.c (send_mu) after it is released; callbacks
 * (user code) run with no lock held.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/object.h"
#include "conn/conn_int.h"
#include "conn/defer_int.h"
#include "conn/send_int.h"
#include "conn/serve_int.h"
#include "loop/loop_int.h"
#include "transport/transport_int.h"

/* Take the reply handle of s (the request this thread serves; its
 * object's type and the member, for the error chain). */
static shade_reply *defer_take(struct serving *s, const char *type,
			       const char *member)
{
	shade_reply *r;
	shade_conn *c;
	bool ok;

	if (s == NULL || s->c == NULL || s->rid == 0 || s->deferred)
		return NULL;
	c = s->c;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->type = strdup(type ? type : "");
	r->member = strdup(member ? member : "");
	r->c = c;
	r->rid = s->rid;
	r->refs = 1;
	pthread_mutex_lock(&c->mu);
	ok = r->type != NULL && r->member != NULL &&
	     hmap_get(&c->deferred, r->rid) == NULL &&
	     hmap_put(&c->deferred, r->rid, r);
	if (ok && !c->open)
		r->cancelled = true; /* lost already: nobody listens */
	pthread_mutex_unlock(&c->mu);
	if (!ok) {
		defer_unref(r);
		return NULL;
	}
	__atomic_add_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&c->answering, 1, __ATOMIC_ACQ_REL);
	s->deferred = true;
	return r;
}

shade_reply *shade_call_defer(struct shade_call_ctx *call)
{
	struct serving *s = serve_current;
	const char *type = "", *member;

	if (call == NULL || s == NULL || s->c != call->conn)
		return NULL;
	member = call->member;
	if (call->self != NULL)
		obj_chain_names(call->self, &type, &member);
	return defer_take(s, type, member);
}

shade_reply *shade_typed_defer(const void *mem_ctx, const char *type,
			       const char *member)
{
	struct serving *s = serve_current;

	/* The request's own memory: not a local call made inside it. */
	if (s == NULL || mem_ctx == NULL || mem_ctx != s->mem)
		return NULL;
	return defer_take(s, type, member);
}

/* Give r's answer b (NULL: none, the handle is only dropped) and drop
 * the owner's count.  SHADE_ERR_INVALID when it was answered already. */
static shade_status reply_finish(shade_reply *r, const shade_buf *b)
{
	shade_conn *c = r->c;

	pthread_mutex_lock(&c->mu);
	if (r->answered) {
		pthread_mutex_unlock(&c->mu);
		return SHADE_ERR_INVALID;
	}
	r->answered = true;
	if (hmap_get(&c->deferred, r->rid) == r)
		hmap_del(&c->deferred, r->rid);
	pthread_mutex_unlock(&c->mu);
	if (b != NULL && shade_conn_is_open(c))
		send_frame(c, b, NULL);
	__atomic_sub_fetch(&c->answering, 1, __ATOMIC_ACQ_REL);
	/* The loop writes what the socket did not take and ends a
	 * connection whose BYE waited for this reply. */
	if (c->watch != NULL)
		loop_fd_want_write(c->watch);
	__atomic_sub_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	defer_unref(r);
	return SHADE_OK;
}

/* Write an ERROR for r into b from e (taken over), with our frame. */
static void put_error(shade_reply *r, shade_buf *b, shade_error *e)
{
	shade_buf_reset(b);
	if (e == NULL)
		return;
	shade_error_push_frame(e, r->c->side, r->type, r->member);
	msg_put_error(b, r->rid, e, &r->c->copts, r->c->peer_more);
	talloc_free(e);
}

shade_status shade_reply_return(shade_reply *r, const shade_value *result,
				shade_error **err)
{
	shade_buf *b;
	shade_error *e = NULL;
	shade_status st = SHADE_OK;
	size_t max;

	if (r == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shade_reply_return: no reply handle");
	b = shade_buf_new(NULL, 64);
	if (b == NULL) {
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		shade_reply_free(r);
		return st;
	}
	msg_begin(b, OP_RETURN, r->rid, result != NULL ? 1 : 0, false);
	if (result != NULL)
		st = shade_cbor_encode_value(b, result, &r->c->copts, &e);
	max = shade_transport_max_frame(r->c->t);
	if (st == SHADE_OK && b->status == SHADE_OK && b->len > max)
		st = shade_error_set(&e, SHADE_ERR_LIMIT,
				     "reply of %zu bytes over the frame limit "
				     "of %zu", b->len, max);
	if (st == SHADE_OK && b->status != SHADE_OK)
		st = shade_error_set(&e, b->status, "out of memory");
	if (st != SHADE_OK) {
		/* The caller hears of it; so does the handler. */
		if (e != NULL && err != NULL && *err == NULL)
			shade_error_set(err, e->code, "%s", e->message);
		put_error(r, b, e);
	}
	if (reply_finish(r, b) != SHADE_OK && st == SHADE_OK)
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     "deferred reply answered twice");
	talloc_free(b);
	return st;
}

shade_status shade_reply_error(shade_reply *r, shade_status code,
			       const char *fmt, ...)
{
	char msg[512];
	shade_error *e = NULL;
	shade_buf *b;
	shade_status st;
	va_list ap;

	if (r == NULL)
		return SHADE_ERR_INVALID;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt ? fmt : "", ap);
	va_end(ap);
	b = shade_buf_new(NULL, 64);
	shade_error_set(&e, code < 0 ? code : SHADE_ERR_RUNTIME, "%s", msg);
	if (b != NULL)
		put_error(r, b, e);
	else
		talloc_free(e);
	st = reply_finish(r, b);
	talloc_free(b);
	return st;
}

void shade_reply_free(shade_reply *r)
{
	bool answered;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->c->mu);
	answered = r->answered;
	pthread_mutex_unlock(&r->c->mu);
	if (!answered)
		shade_reply_error(r, SHADE_ERR_RUNTIME,
				  "the handler dropped its deferred reply "
				  "unanswered");
}

bool shade_reply_cancelled(const shade_reply *r)
{
	return r != NULL && __atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE);
}

void shade_reply_on_cancel(shade_reply *r, shade_reply_fn fn, void *udata)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->c->mu);
	r->fn = fn;
	r->udata = udata;
	pthread_mutex_unlock(&r->c->mu);
	defer_tell(r); /* cancelled already: now */
}

void defer_cancel(shade_conn *c, uint64_t rid)
{
	shade_reply *r;

	pthread_mutex_lock(&c->mu);
	r = hmap_get(&c->deferred, rid);
	if (r != NULL) {
		__atomic_store_n(&r->cancelled, true, __ATOMIC_RELEASE);
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
	}
	pthread_mutex_unlock(&c->mu);
	if (r == NULL)
		return;
	defer_tell(r);
	defer_unref(r);
}
