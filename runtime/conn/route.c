/*
 * route.c - routing of received frames by the thread that holds the
 * reader role: HELLO, replies to their pendings, CANCEL, RELEASE, BYE,
 * and requests to the queue they nest in (no handler runs here); and
 * conn_read_one, a read without blocking for a loop.
 *
 * Lock order: takes `mu` alone (delivering a reply, queueing a request,
 * reading the reader flag); answers (HELLO, a protocol failure) are sent
 * (send_mu) and the connection ended (conn_lost) after mu is released.
 * route_for_waiter returns with mu held, for the waiter that called it.
 * Replies and queued requests wake the waiters on `cv`.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/conn.h"
#include "shade/tls.h"
#include "base/clock_int.h"
#include "base/log_int.h"
#include "conn/auth_int.h"
#include "conn/conn_int.h"
#include "conn/defer_int.h"
#include "conn/promise_int.h"
#include "conn/refs_int.h"
#include "conn/route_int.h"
#include "conn/send_int.h"
#include "transport/transport_int.h"

/* A feature bit of our HELLO: unless switched off, set on the
 * connecting side, and on the accepting side when the peer's HELLO
 * set it. */
static uint64_t hello_bit(const shade_conn *c, bool off, uint64_t bit)
{
	return !off && (!c->accepting || (c->peer_features & bit)) ? bit : 0;
}

/* Send our HELLO (version, features, known fingerprints). */
shade_status route_send_hello(shade_conn *c, shade_error **err)
{
	shade_buf *b = shade_buf_new(NULL, 32);
	size_t n = 0, i;
	shade_status st;

	if (b == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	while (c->known != NULL && c->known[n] != NULL)
		n++;
	msg_begin(b, OP_HELLO, 0, 2, n > 0);
	shade_cbor_put_uint(b, SHADE_PROTOCOL_VERSION);
	/* The connecting side always reads ERROR's `more` and announces
	 * pipelining; the accepting side says either only to a peer that
	 * said it (older peers' HELLO stays as it was). */
	shade_cbor_put_uint(b, (c->n_auth > 0 ? HELLO_FEATURE_AUTH : 0) |
				       (!c->accepting || c->peer_more
						? HELLO_FEATURE_POSTMORTEM
						: 0) |
				       hello_bit(c, c->no_pipelining,
						 HELLO_FEATURE_PIPELINE) |
				       hello_bit(c, c->no_pipelining,
						 HELLO_FEATURE_PROMISE_ARGS) |
				       hello_bit(c, c->no_typed_arrays,
						 HELLO_FEATURE_TYPED) |
				       hello_bit(c, c->no_typed_arrays,
						 HELLO_FEATURE_TEXTS));
	if (n > 0) {
		shade_cbor_put_array(b, n);
		for (i = 0; i < n; i++)
			shade_cbor_put_uint(b, shade_shape_fp(c->known[i]));
	}
	st = send_frame(c, b, err);
	talloc_free(b);
	return st;
}

/* Send ERROR id 0 with a ProtocolError and end the connection. */
static void protocol_failure(shade_conn *c, const char *why)
{
	conn_refuse(c, SHADE_ERR_PROTOCOL, why);
}

/* Handle a HELLO from the peer. */
static void route_hello(shade_conn *c, struct msg *m)
{
	uint64_t version = 0, features, n = 0, i, fp;
	bool answer;
	char why[96];

	if (shade_cbor_read_uint(&m->d, &version, NULL) != SHADE_OK ||
	    shade_cbor_read_uint(&m->d, &features, NULL) != SHADE_OK) {
		protocol_failure(c, "malformed HELLO");
		return;
	}
	if (version != SHADE_PROTOCOL_VERSION) {
		snprintf(why, sizeof(why), "unsupported protocol version %llu",
			 (unsigned long long)version);
		protocol_failure(c, why);
		return;
	}
	if (c->accepting && !auth_hello(c, features))
		return;
	if (!c->accepting && c->n_auth > 0 &&
	    (features & HELLO_FEATURE_AUTH) == 0) {
		conn_lost(c, SHADE_ERR_PERMISSION,
			  "the peer does not authenticate (no HELLO "
			  "feature 1): refusing to talk to it");
		return;
	}
	pthread_mutex_lock(&c->mu);
	answer = c->accepting && !c->hello_seen;
	c->hello_seen = true;
	c->peer_more = (features & HELLO_FEATURE_POSTMORTEM) != 0;
	c->peer_features = c->no_pipelining
				   ? features & ~(uint64_t)(HELLO_FEATURE_PIPELINE |
						  HELLO_FEATURE_PROMISE_ARGS)
				   : features;
	if ((features & HELLO_FEATURE_TYPED) && !c->no_typed_arrays) {
		/* from now on lists of numbers go as typed arrays; other
		 * threads encoding read the flag atomically */
		__atomic_store_n(&c->copts.typed_arrays, true,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&c->copts_share.typed_arrays, true,
				 __ATOMIC_RELAXED);
	}
	if ((features & HELLO_FEATURE_TEXTS) && !c->no_typed_arrays) {
		/* and lists of short strings as text arrays */
		__atomic_store_n(&c->copts.text_arrays, true,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&c->copts_share.text_arrays, true,
				 __ATOMIC_RELAXED);
	}
	/* A HELLO came through the session: a TLS handshake is complete
	 * and the peer's certificate, if any, verified. */
	c->id.tls_subject = shade_transport_tls_peer(c->t);
	if (c->id.tls_subject != NULL && c->id.tls_subject[0] == '\0')
		c->id.tls_subject = NULL;
	if (m->nfields == 3 &&
	    shade_cbor_read_array(&m->d, &n, NULL) == SHADE_OK &&
	    n != SHADE_CBOR_INDEFINITE)
		for (i = 0; i < n; i++)
			if (shade_cbor_read_uint(&m->d, &fp, NULL) == SHADE_OK &&
			    fp != 0)
				hmap_put(&c->peer_known, fp, (void *)1);
	pthread_mutex_unlock(&c->mu);
	if (answer)
		route_send_hello(c, NULL);
}

/* A frame read onto a waiter's context (`where`, see conn_wait) that
 * goes anywhere else is first moved to a chunk of its own: talloc is not
 * thread-safe, and the waiter keeps allocating from its context (a pool)
 * while another thread frees what goes elsewhere.  m's cursor follows.
 * A frame larger than a pool (CALL_POOL_BYTES) is a block of its own and
 * is only moved. */
uint8_t *route_unpool(uint8_t *frame, size_t len, const void *where,
		      struct msg *m)
{
	uint8_t *f;

	if (where == NULL)
		return frame;
	if (len > CALL_POOL_BYTES) /* too large for a pool: a block of its
				    * own, moved without a copy */
		return talloc_steal(NULL, frame);
	f = talloc_memdup(NULL, frame, len);
	if (f != NULL && m != NULL)
		m->d.buf = f;
	talloc_free(frame);
	return f;
}

/* Hand reply m (id != 0) to its pending (caller holds mu): NULL, or the
 * frame back when nobody waits for it any more (to be freed). */
static uint8_t *deliver_reply(shade_conn *c, struct msg *m, uint8_t *frame,
			      size_t len, const void *where)
{
	struct pending *p = hmap_get(&c->pending, m->id);

	if (p == NULL || p->done)
		return frame;
	if (p->owner != where)
		frame = talloc_steal(p->owner,
				     route_unpool(frame, len, where, m));
	p->reply = frame;
	p->reply_len = len;
	p->m = *m;
	p->done = true;
	hmap_del(&c->pending, m->id);
	/* A reply with references stays known to the connection until
	 * it is taken: one never taken gives them back (conn_abandon). */
	if (!refs_present(frame, len) ||
	    !hmap_put(&c->held, m->id, p))
		pending_unlink(p);
	conn_wake_all(c);
	return NULL;
}

/* A reply nobody waits for any more (late, unknown; NULL: none): the
 * references it carries go back, then it is dropped. */
static void route_drop_reply(shade_conn *c, uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return;
	refs_drop(c, frame, len, 0);
	talloc_free(frame);
}

/* Handle a RETURN or ERROR: hand it to its pending (frame stolen), or
 * drop it when nobody waits any more. */
static void route_reply(shade_conn *c, struct msg *m, uint8_t *frame,
			size_t len, const void *where)
{
	if (m->id == 0) {
		shade_error *e = NULL;

		if (m->op == OP_ERROR &&
		    msg_read_error(m, NULL, &e, NULL) == SHADE_OK) {
			conn_lost(c, e->code, e->message);
			talloc_free(e);
		} else {
			conn_lost(c, SHADE_ERR_PROTOCOL, "reply with id 0");
		}
		talloc_free(frame);
		return;
	}
	pthread_mutex_lock(&c->mu);
	frame = deliver_reply(c, m, frame, len, where);
	pthread_mutex_unlock(&c->mu);
	route_drop_reply(c, frame, len);
}

/* Handle a CANCEL: withdraw request rid if it is still queued (in no
 * call, or nested in one of our calls); one already started or answered
 * is not touched (its reply goes, the peer drops it), except that a
 * deferred reply of it is told (defer.c). */
static void route_cancel(shade_conn *c, uint64_t rid)
{
	struct pending *p;
	struct frame_item *it;
	size_t pos = 0;

	if (rid == 0)
		return;
	pthread_mutex_lock(&c->mu);
	it = queue_remove(&c->unnested, rid);
	while (it == NULL && hmap_next(&c->pending, &pos, NULL, (void **)&p))
		it = queue_remove(&p->nested, rid);
	if (it == NULL)
		it = promise_unpark(c, rid);
	c->st.requests_cancelled += it != NULL;
	if (it != NULL && it->cache == NULL)
		talloc_steal(NULL, it); /* off its owner under the lock */
	pthread_mutex_unlock(&c->mu);
	if (it != NULL) /* it never runs: its references go back */
		refs_drop(c, it->frame, it->len, 0);
	else /* started: a deferred reply hears of it */
		defer_cancel(c, rid);
	if (it != NULL && it->parsed && it->m.keep)
		promise_cancelled(c, rid); /* calls naming it fail */
	item_done(it);
}

/* Route request m (frame taken over, or lying in cached item it's room;
 * `parsed`: msg_parse succeeded): to the result it is pipelined on, to
 * the call it nests in, to the reader (dir) when it is next in line, or
 * to the connection's queue.  An item is given only for a well-formed
 * request pipelined on nothing and nesting in no call. */
static void route_request(shade_conn *c, uint8_t *frame, size_t len,
			  struct msg *m, bool parsed, const void *where,
			  struct direct *dir, struct frame_item *it)
{
	struct pending *p = NULL;

	pthread_mutex_lock(&c->mu);
	if (parsed && m->keep && m->id != 0 &&
	    (c->no_pipelining || !promise_expect(c, m->id)))
		m->keep = false;
	if (parsed && (m->on != 0 || m->await_pos != 0) &&
	    promise_parked(c, m)) {
		/* It names a result not there yet: it waits for it. */
		frame = route_unpool(frame, len, where, m);
		if (frame != NULL) /* freed by it when out of memory */
			promise_park(c, m, frame, len);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (m->in != 0)
		p = hmap_get(&c->pending, m->in);
	if (p != NULL && p->done)
		p = NULL;
	if (p == NULL && dir != NULL && parsed && c->unnested.head == NULL) {
		/* Next in line: the reader may serve it without a queue
		 * (still on `where`, the reader's own context, or in it). */
		dir->frame = frame;
		dir->len = len;
		dir->m = *m;
		dir->item = it;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (it != NULL) {
		queue_push_item(&c->unnested, it, len, m, parsed);
	} else if ((frame = route_unpool(frame, len, where, m)) == NULL) {
		pthread_mutex_unlock(&c->mu);
		protocol_failure(c, "out of memory for a request");
		return;
	} else if (p != NULL) {
		queue_push(p->owner, &p->nested, frame, len, m, parsed);
	} else {
		queue_push(c, &c->unnested, frame, len, m, parsed);
	}
	conn_wake_all(c);
	pthread_mutex_unlock(&c->mu);
}

/*
 * Route one received frame (taken over; m is what msg_parse made of it,
 * `parsed` whether it succeeded), called by the thread that holds
 * the reader role, before it gives the role up (so a waiter never starts
 * reading while its reply is still being routed).  Replies go to their
 * pending; requests nested in a call we wait for go to that call's queue;
 * other requests to the connection's queue (`unnested`).  No handler runs
 * here: requests are served from the queues once the reader role is
 * given up, by a waiter or shade_conn_process.  A BYE ends the
 * connection at once, or, when `drain` (the reader is conn_process),
 * once the requests read before it are answered (send.c,
 * conn_bye_close): nothing after it is read.
 */
static void route_parsed(shade_conn *c, uint8_t *frame, size_t len,
			 struct msg *m, bool parsed, const void *where,
			 struct direct *dir, bool drain)
{
	if (c->accepting && c->hello_seen && conn_auth_pending(c) &&
	    !(parsed && m->op == OP_AUTH)) {
		/* Nothing is served, not even answered, before the peer
		 * proved its key. */
		if (m->op == OP_AUTH)
			protocol_failure(c, "malformed AUTH");
		else
			conn_refuse(c, SHADE_ERR_PERMISSION,
				    "authentication required before any "
				    "request");
		talloc_free(frame);
		return;
	}
	if (!parsed) {
		/* Answered with the same error, but only once HELLO was
		 * exchanged: before it the connection just fails. */
		if (m->id != 0 && (c->hello_seen || !c->accepting) &&
		    (msg_is_request(m->op) || m->op == OP_COUNT_))
			goto request;
		protocol_failure(c, "malformed message");
		talloc_free(frame);
		return;
	}
	if (!c->hello_seen && m->op != OP_HELLO && c->accepting) {
		protocol_failure(c, "first message is not HELLO");
		talloc_free(frame);
		return;
	}
	switch (m->op) {
	case OP_HELLO:
		route_hello(c, m);
		break;
	case OP_AUTH:
		if (c->accepting)
			auth_step(c, m);
		else
			protocol_failure(c, "AUTH outside the handshake");
		break;
	case OP_RETURN:
	case OP_ERROR:
		route_reply(c, m, frame, len, where);
		return;
	case OP_RELEASE:
	case OP_DROP:
		pthread_mutex_lock(&c->mu);
		if (c->unnested.head != NULL ||
		    (c->pool != NULL &&
		     __atomic_load_n(&c->answering, __ATOMIC_ACQUIRE) > 0)) {
			/* Requests read before it wait in the queue (or run
			 * on a worker) and may name what it releases: it
			 * takes its turn. */
			frame = route_unpool(frame, len, where, m);
			if (frame != NULL)
				queue_push(c, &c->unnested, frame, len, m,
					   true);
			pthread_mutex_unlock(&c->mu);
			return;
		}
		pthread_mutex_unlock(&c->mu);
		if (m->op == OP_DROP)
			promise_drop(c, m);
		else
			refs_apply_release(c, m);
		break;
	case OP_CANCEL:
		route_cancel(c, m->id);
		break;
	case OP_BYE:
		pthread_mutex_lock(&c->mu);
		c->bye_seen = true;
		c->bye_sent = true; /* nothing more to say */
		pthread_mutex_unlock(&c->mu);
		if (!drain)
			conn_lost(c, SHADE_ERR_CONNECTION_LOST,
				  "peer said BYE");
		break;
	default:
		goto request;
	}
	talloc_free(frame);
	return;
request:
	route_request(c, frame, len, m, parsed, where, dir, NULL);
}

/* A frame read into a slot (a request's room, a cached item's, the
 * reading thread's scratch) that goes elsewhere: copied into a block of
 * its own, m's cursor following; NULL (c ended) when out of memory. */
static uint8_t *route_copy_out(shade_conn *c, const uint8_t *frame,
			       size_t len, struct msg *m)
{
	uint8_t *f = talloc_memdup(NULL, frame, len);

	if (f == NULL)
		conn_lost(c, SHADE_ERR_NOMEM,
			  "out of memory for a received frame");
	else
		m->d.buf = f;
	return f;
}

/* Parse a received frame and route it (route_parsed).  A frame read
 * into cached item it's room (it: NULL when not) stays there when it is
 * a request the peer may make now, pipelined on nothing and nesting in
 * no call (the usual one); anything else is copied out first.  True
 * when it was taken (queued, or handed over in dir). */
static bool route_frame(shade_conn *c, uint8_t *frame, size_t len,
			const void *where, struct direct *dir,
			struct frame_item *it)
{
	struct msg m;
	shade_error *e = NULL;
	bool parsed = msg_parse(frame, len, &m, &e) == SHADE_OK;

	talloc_free(e);
	if (it != NULL) {
		if (parsed && msg_is_request(m.op) && m.in == 0 &&
		    m.on == 0 && m.await_pos == 0 &&
		    (!c->accepting ||
		     (c->hello_seen && !conn_auth_pending(c)))) {
			it->frame = frame;
			route_request(c, frame, len, &m, true, where, dir, it);
			return true;
		}
		if ((frame = route_copy_out(c, frame, len, &m)) == NULL)
			return false;
		where = NULL;
	}
	route_parsed(c, frame, len, &m, parsed, where, dir, true);
	return false;
}

/* The router of a waiting thread: returns with mu held, which the
 * waiter takes next anyway.  A reply, the frame it usually reads, is
 * delivered under that same lock; anything else is routed first. */
void route_for_waiter(shade_conn *c, uint8_t *frame, size_t len,
		      const void *where, bool in_slot)
{
	struct msg m;
	struct pending *p;
	bool parsed = msg_parse(frame, len, &m, NULL) == SHADE_OK;
	bool reply = parsed && m.id != 0 &&
		     (m.op == OP_RETURN || m.op == OP_ERROR) &&
		     (c->hello_seen || !c->accepting) && !conn_auth_pending(c);

	if (in_slot) {
		/* Read into a slot: a reply to a request with room for it
		 * goes there (copied unless it is there already: no block
		 * allocated, stolen or freed); anything else is copied
		 * out first.  The room of another thread's request is
		 * written under mu while that request is pending: its
		 * thread reads it only once it is done. */
		pthread_mutex_lock(&c->mu);
		p = reply ? hmap_get(&c->pending, m.id) : NULL;
		if (p != NULL && !p->done && p->slot != NULL &&
		    len <= p->slot_cap) {
			if (frame != p->slot)
				memcpy(p->slot, frame, len);
			m.d.buf = p->slot;
			p->reply_in_slot = true;
			deliver_reply(c, &m, p->slot, len, p->owner);
			return;
		}
		pthread_mutex_unlock(&c->mu);
		if ((frame = route_copy_out(c, frame, len, &m)) == NULL) {
			pthread_mutex_lock(&c->mu);
			return;
		}
		where = NULL;
	}
	if (reply) {
		pthread_mutex_lock(&c->mu);
		frame = deliver_reply(c, &m, frame, len, where);
		if (frame == NULL)
			return;
		pthread_mutex_unlock(&c->mu);
		route_drop_reply(c, frame, len);
		pthread_mutex_lock(&c->mu);
		return;
	}
	route_parsed(c, frame, len, &m, parsed, where, NULL, false);
	pthread_mutex_lock(&c->mu);
}

shade_status conn_read_begin(shade_conn *c, shade_error **err)
{
	bool open;

	pthread_mutex_lock(&c->mu);
	open = c->open;
	if (!c->reading && open && !c->bye_seen) {
		c->reading = true;
		pthread_mutex_unlock(&c->mu);
		return SHADE_OK;
	}
	/* After BYE nothing more is read (its requests drain). */
	pthread_mutex_unlock(&c->mu);
	return open ? SHADE_AGAIN : conn_check_open(c, err);
}

shade_status conn_read_next(shade_conn *c, struct direct *dir, void *where,
			    shade_error **err)
{
	struct frame_item *it;
	uint8_t *frame;
	size_t len;
	shade_status st;
	shade_error *e = NULL;

	/* BYE is routed by the reader (this thread), which sets bye_seen;
	 * open is cleared under mu by whichever thread ends c. */
	if (!__atomic_load_n(&c->open, __ATOMIC_ACQUIRE))
		return conn_check_open(c, err);
	if (c->bye_seen)
		return SHADE_AGAIN;
	/* A small request is read into a cached item's room: queued and
	 * served without a heap block of its own.  The reader is the
	 * cache's only taker: no lock. */
	it = item_take(&c->items);
	st = it != NULL ? transport_recv_slot(c->t, it->room, ITEM_ROOM, where,
					     &frame, &len, 0, &e)
			: shade_transport_try_recv(c->t, where, &frame, &len,
						   &e);
	if (st == SHADE_OK && LOG_ON(SHADE_LOG_MESSAGES, 1))
		msg_trace(c->side, shade_transport_address(c->t), "received",
			  frame, len);
	if (st == SHADE_OK &&
	    route_frame(c, frame, len, where, dir,
			it != NULL && frame == it->room ? it : NULL))
		it = NULL;
	item_done(it);
	if (st == SHADE_OK || st == SHADE_AGAIN)
		return st;
	/* The transport is closed when the reader lets go
	 * (conn_read_end). */
	conn_lost(c, SHADE_ERR_CONNECTION_LOST,
		  e ? e->message : "receive failed");
	talloc_free(e);
	return conn_check_open(c, err);
}

void conn_read_end(shade_conn *c)
{
	conn_reader_done(c);
}

shade_status conn_read_one(shade_conn *c, struct direct *dir, void *where,
			   shade_error **err)
{
	shade_status st = conn_read_begin(c, err);

	if (st != SHADE_OK)
		return st;
	st = conn_read_next(c, dir, where, err);
	conn_read_end(c);
	return st;
}

shade_status route_handshake(shade_conn *c, shade_error **err)
{
	int64_t deadline = clock_deadline(c->auth_timeout_ms);
	shade_error *e = NULL;
	shade_status st;
	uint8_t *frame;
	struct msg m;
	size_t len;

	while (conn_auth_pending(c) && shade_conn_is_open(c)) {
		st = shade_transport_recv(c->t, NULL, &frame, &len,
					  clock_remaining_ms(deadline), &e);
		if (st == SHADE_AGAIN) /* 0 ms left */
			st = SHADE_ERR_TIMEOUT;
		if (st != SHADE_OK) {
			conn_lost(c, st == SHADE_ERR_TIMEOUT
					     ? SHADE_ERR_TIMEOUT
					     : SHADE_ERR_CONNECTION_LOST,
				  st == SHADE_ERR_TIMEOUT
					  ? "no answer to authentication in "
					    "time"
					  : e ? e->message : "receive failed");
			TALLOC_FREE(e);
			break;
		}
		if (msg_parse(frame, len, &m, NULL) != SHADE_OK)
			protocol_failure(c, "malformed message");
		else if (m.op == OP_HELLO)
			route_hello(c, &m);
		else if (m.op == OP_AUTH && c->hello_seen)
			auth_step(c, &m);
		else if (m.op == OP_ERROR && m.id == 0) {
			route_reply(c, &m, frame, len, NULL);
			continue;
		} else
			protocol_failure(c, "unexpected message during "
					    "authentication");
		talloc_free(frame);
	}
	if (shade_conn_is_open(c))
		return SHADE_OK;
	/* The reason it ended, with its own code (PermissionDenied...). */
	pthread_mutex_lock(&c->mu);
	st = c->lost ? c->lost->code : SHADE_ERR_CONNECTION_LOST;
	shade_error_set(err, st, "%s",
			c->lost ? c->lost->message : "connection lost");
	pthread_mutex_unlock(&c->mu);
	return st;
}
