/*
 * request.c - our requests: building one (conn_req_init), registering its
 * pending and sending it (conn_req_send), withdrawing it (conn_abandon)
 * and reading its reply (conn_take_reply).
 *
 * Lock order: takes `mu` alone, to register or forget a pending; sending
 * (send_mu) happens after it is released.  The request id and the sent
 * counter are atomic: building a request takes no lock.
 */
#include <pthread.h>
#include <string.h>

#include <talloc.h>

#include "base/buf_int.h"
#include "conn/conn_int.h"
#include "conn/refs_int.h"
#include "conn/send_int.h"
#include "conn/serve_int.h"

shade_status conn_req_init(struct outreq *rq, shade_conn *c, TALLOC_CTX *tmp,
			   unsigned op, unsigned nfields,
			   const shade_value *kwargs, int timeout_ms,
			   const struct proxy *target, unsigned flags,
			   shade_error **err)
{
	struct serving *s;
	bool oneway = (flags & REQ_ONEWAY) != 0;
	shade_buf *b = (flags & REQ_REUSE_BUF) ? rq->b : NULL;

	memset(rq, 0, sizeof(*rq));
	rq->c = c;
	if (timeout_ms == 0)
		timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : -1;
	rq->timeout_ms = timeout_ms;
	for (s = serve_current; s != NULL; s = s->up)
		if (s->c == c) {
			rq->o.in = s->rid;
			break;
		}
	rq->o.timeout_ms = timeout_ms > 0 ? (uint64_t)timeout_ms : 0;
	rq->o.kwargs = kwargs;
	/* the accepting side asks only a peer that reads `more` */
	rq->o.traceback = c->postmortem && (!c->accepting || c->peer_more);
	rq->o.byvalue = (flags & REQ_BYVALUE) != 0;
	if (target != NULL && conn_is_promise(target)) {
		const struct promise_ref *pr =
			(const struct promise_ref *)target;

		rq->o.on = pr->rid;
		rq->o.on_path = (const char *const *)pr->path;
		rq->o.on_n = pr->n_path;
	}
	rq->keep = rq->o.keep = (flags & REQ_KEEP) && !oneway &&
				conn_can_pipeline(c);
	rq->has_opts = msg_opts_items(&rq->o) > 0;
	/* No lock: the id is taken atomically; the pending limit is
	 * checked where the pending is registered (conn_req_send). */
	SHADE_CHECK(conn_check_open(c, err));
	if (rq->o.on != 0) {
		/* The result it is pipelined on stays kept until it is
		 * answered (conn_req_unname). */
		struct hmap_slot *sl;

		pthread_mutex_lock(&c->mu);
		sl = hmap_find(&c->uses, rq->o.on);
		if (sl != NULL) {
			sl->val = (void *)((uintptr_t)sl->val + 1);
			rq->on_held = true;
		}
		pthread_mutex_unlock(&c->mu);
	}
	rq->rid = oneway ? 0 : __atomic_fetch_add(&c->next_rid, 1,
						  __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->st.requests_sent, 1, __ATOMIC_RELAXED);
	rq->b = b != NULL ? b : shade_buf_new(tmp, 64);
	if (rq->b == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	/* Large argument strings are written from where they lie: they
	 * stay put until conn_req_send has sent the request. */
	buf_refs_enable(rq->b, NULL, 0);
	return msg_begin(rq->b, op, rq->rid, nfields, rq->has_opts);
}

shade_status conn_req_send(struct outreq *rq, TALLOC_CTX *tmp,
			   shade_error **err)
{
	shade_conn *c = rq->c;
	struct pending *p = NULL;
	shade_status st;

	if (rq->n_named > 0) {
		/* Its fields name kept results: it waits for them. */
		rq->o.await = rq->named;
		rq->o.n_await = rq->n_named;
		if (!rq->has_opts && !msg_add_opts_item(rq->b))
			return shade_error_set(err, SHADE_ERR_RUNTIME,
					       "no room for options");
		rq->has_opts = true;
	}
	/* Keyword arguments are encoded with the connection's options:
	 * a promise is refused there (option 15 is written). */
	if (rq->has_opts)
		SHADE_CHECK(msg_put_opts(rq->b, &rq->o, &c->copts, err));
	if (rq->b->status != SHADE_OK)
		return shade_error_set(err, rq->b->status, "out of memory");
	if (rq->rid != 0) {
		p = &rq->pend; /* zero since conn_req_init */
		p->owner = tmp;
		p->conn = c;
		p->rid = rq->rid;
		p->slot = rq->slot;
		p->slot_cap = rq->slot_cap;
		pthread_mutex_lock(&c->mu);
		if (c->open && c->pending.count >= c->max_pending) {
			pthread_mutex_unlock(&c->mu);
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "%zu requests outstanding",
					       c->max_pending);
		}
		if (!c->open || !hmap_put(&c->pending, p->rid, p) ||
		    (rq->keep && !hmap_put(&c->uses, p->rid, (void *)1))) {
			hmap_del(&c->pending, p->rid);
			pthread_mutex_unlock(&c->mu);
			if (conn_check_open(c, err) != SHADE_OK)
				return SHADE_ERR_CONNECTION_LOST;
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		if (rq->wait_now && !c->reading && c->pool == NULL &&
		    c->loop == NULL && c->unnested.head == NULL &&
		    c->pending.count == 1) {
			/* Nobody else reads or waits: this thread, which
			 * waits next, is the reader from now on
			 * (conn_wait_reply), without taking mu again. */
			c->reading = true;
			c->st.round_trips++;
			rq->reader = true;
		}
		pthread_mutex_unlock(&c->mu);
	}
	st = rq->queued ? send_batched(c, rq->b, err)
			 : send_frame(c, rq->b, err);
	if (st != SHADE_OK && rq->reader) {
		conn_reader_done(c);
		rq->reader = false;
	}
	if (st != SHADE_OK) {
		if (rq->keep) { /* never sent: nothing to DROP */
			pthread_mutex_lock(&c->mu);
			hmap_del(&c->uses, p->rid);
			pthread_mutex_unlock(&c->mu);
		}
		if (p != NULL)
			conn_abandon(p);
		return st;
	}
	rq->p = p;
	return SHADE_OK;
}

/* Forget p in the pending table (under mu). */
static void pending_forget(struct pending *p)
{
	shade_conn *c = p->conn;

	if (c != NULL && hmap_get(&c->pending, p->rid) == p)
		hmap_del(&c->pending, p->rid);
	pending_unlink(p);
	/* Requests nested in it are served as nesting in no call
	 * (doc/protocol.md §5.1). */
	if (c != NULL && p->nested.head != NULL) {
		queue_move(c, &c->unnested, &p->nested);
		conn_wake_all(c);
	}
}

/* Forget p's reply in the table of replies not taken (under mu). */
static void pending_unhold(struct pending *p)
{
	shade_conn *c = p->conn;

	if (hmap_get(&c->held, p->rid) == p)
		hmap_del(&c->held, p->rid);
	pending_unlink(p);
}

void conn_abandon(struct pending *p)
{
	shade_conn *c = pending_conn(p);
	shade_buf *b;
	bool was_open;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (p->done) {
		/* Its reply came and nobody took it. */
		pending_unhold(p);
		pthread_mutex_unlock(&c->mu);
		refs_drop(c, p->reply, p->reply_len, 0);
		if (!p->reply_in_slot)
			talloc_free(p->reply);
		p->reply = NULL;
		return;
	}
	was_open = c->open;
	pending_forget(p);
	pthread_mutex_unlock(&c->mu);
	if (!was_open)
		return;
	b = shade_buf_new(NULL, 16);
	if (b != NULL) {
		msg_begin(b, OP_CANCEL, p->rid, 0, false);
		send_frame(c, b, NULL);
	}
	talloc_free(b);
}

void conn_detach(struct pending *p)
{
	shade_conn *c = pending_conn(p);

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (p->done) {
		pthread_mutex_unlock(&c->mu);
		conn_abandon(p); /* its reply came: given back */
		return;
	}
	pending_forget(p);
	pthread_mutex_unlock(&c->mu);
}

shade_status conn_take_reply(shade_conn *c, struct pending *p,
			     shade_cbor_dec *d,
			     bool *has_value, shade_error **err)
{
	struct msg m;
	shade_error *e = NULL;

	*has_value = false;
	if (pending_conn(p) != NULL) {
		pthread_mutex_lock(&c->mu);
		if (p->conn != NULL)
			pending_unhold(p);
		pthread_mutex_unlock(&c->mu);
	}
	if (p->reply == NULL) {
		if (p->fail != NULL) {
			shade_status code = p->fail->code;

			if (err != NULL && *err == NULL)
				*err = talloc_steal(NULL, p->fail);
			p->fail = NULL;
			return code;
		}
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "connection lost");
	}
	m = p->m;
	if (m.op == OP_ERROR) {
		shade_status code;

		SHADE_CHECK(msg_read_error(&m, &c->copts, &e, err));
		code = e->code;
		if (err != NULL && *err == NULL)
			*err = e;
		else
			talloc_free(e);
		return code;
	}
	*d = m.d;
	*has_value = m.nfields == 1;
	return SHADE_OK;
}
