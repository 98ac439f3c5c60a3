/*
 * conn.c - the connection engine: handshake, sending requests, waiting
 * for replies (leader/follower reading, nested dispatch), routing frames,
 * serving the peer's requests, the export and import tables with release
 * counting, and the end of a connection.
 *
 * See conn_int.h for the locking and ownership rules and
 * doc/protocol.md for what goes on the wire.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/conn.h"
#include "shade/object.h"
#include "shade/transport.h"
#include "conn/conn_int.h"
#include "transport/transport_int.h"
#include "object/shape_int.h"

/* Default FORCE chunk when iterating, and outstanding request limit. */
#define DEFAULT_ITER_CHUNK 65536u
#define DEFAULT_MAX_PENDING 65536u
#define DEFAULT_MAX_TABLE ((size_t)1 << 24)
/* RELEASE pairs queued before they are sent on their own. */
#define RELEASE_BATCH 64u
/* Batched output written once it reaches this many bytes. */
#define BATCH_BYTES ((size_t)64 << 10)

/* One request being served by this thread (a stack through callbacks):
 * requests we send on `c` while serving carry `rid` as their "in". */
struct serving {
	shade_conn *c;       /* connection the request came on */
	uint64_t rid;        /* the peer's request id */
	struct serving *up;  /* the request served further out */
};

static _Thread_local struct serving *tl_serving;

static void serve_frame(shade_conn *c, TALLOC_CTX *tmp, uint8_t *frame,
			size_t len, const struct msg *pm, int64_t arrived,
			bool batch);
static shade_status send_frame(shade_conn *c, const shade_buf *b,
			       shade_error **err);

/* ------------------------------------------------------------ time */

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1 deadline: -1 = forever), >= 0. */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > 1000000000 ? 1000000000 : (int)left;
}

/* Wake the threads sleeping on cv, if any (caller holds mu). */
static void wake_all(shade_conn *c)
{
	if (c->sleepers > 0)
		pthread_cond_broadcast(&c->cv);
}

/* ------------------------------------------------------------ queues */

/* Append request frame (stolen into a new item, stamped with the time)
 * to q, with its head m as msg_parse left it (`parsed`: it parsed);
 * false when out of memory (the frame is freed). */
static bool queue_push(TALLOC_CTX *owner, struct frame_queue *q,
		       uint8_t *frame, size_t len, const struct msg *m,
		       bool parsed)
{
	struct frame_item *it = talloc_zero(owner, struct frame_item);

	if (it == NULL) {
		talloc_free(frame);
		return false;
	}
	it->frame = talloc_steal(it, frame);
	it->len = len;
	it->rid = m->id;
	it->parsed = parsed;
	it->m = *m;
	it->arrived = now_ms();
	if (q->tail)
		q->tail->next = it;
	else
		__atomic_store_n(&q->head, it, __ATOMIC_RELEASE);
	q->tail = it;
	return true;
}

/* Remove the first item of q (NULL when empty); the caller frees it. */
static struct frame_item *queue_pop(struct frame_queue *q)
{
	struct frame_item *it = q->head;

	if (it != NULL) {
		__atomic_store_n(&q->head, it->next, __ATOMIC_RELEASE);
		if (q->head == NULL)
			q->tail = NULL;
		it->next = NULL;
	}
	return it;
}

/* Remove and free the item of request rid from q; true when found. */
static bool queue_remove(struct frame_queue *q, uint64_t rid)
{
	struct frame_item *it, *prev = NULL;

	for (it = q->head; it != NULL; prev = it, it = it->next) {
		if (it->rid != rid)
			continue;
		if (prev != NULL)
			prev->next = it->next;
		else
			__atomic_store_n(&q->head, it->next, __ATOMIC_RELEASE);
		if (q->tail == it)
			q->tail = prev;
		talloc_free(it);
		return true;
	}
	return false;
}

/* Free every item of q. */
static void queue_clear(struct frame_queue *q)
{
	struct frame_item *it;

	while ((it = queue_pop(q)) != NULL)
		talloc_free(it);
}

/* ------------------------------------------------------------ shapes */

const shade_shape_desc *conn_shape(shade_conn *c, uint64_t fp)
{
	const shade_shape_desc *d = shape_builtin(fp);

	return d ? d : hmap_get(&c->shapes, fp);
}

const shade_shape_desc *conn_cache_shape(shade_conn *c, shade_shape_desc *d)
{
	const shade_shape_desc *old = conn_shape(c, d->fingerprint);

	if (old != NULL) {
		talloc_free(d);
		return old;
	}
	if (!hmap_put(&c->shapes, d->fingerprint, d)) {
		talloc_free(d);
		return NULL;
	}
	talloc_steal(c, d);
	c->st.shapes_cached++;
	return d;
}

/* ------------------------------------------------------------ proxies */

/* Free a proxy whose count reached zero (its import entry is gone). */
static void proxy_free(struct proxy *p)
{
	free(p);
	obj_count(-1);
}

/* Value-model retain for proxies. */
static void proxy_retain(struct shade_ref *r)
{
	struct proxy *p = (struct proxy *)r;
	shade_conn *c = p->conn;

	/* The caller holds a count, so refs is not 0 and the proxy stays
	 * in the import table: no lock needed (see proxy_release). */
	(void)c;
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

/* Queue (eid, n) for RELEASE; caller holds mu.  Returns true when the
 * batch is full and should be sent. */
static bool queue_release(shade_conn *c, uint64_t eid, uint64_t n)
{
	uint64_t *rel;

	rel = talloc_realloc(c, c->rel, uint64_t, c->n_rel + 2);
	if (rel == NULL)
		return false; /* the peer keeps the export until we close */
	c->rel = rel;
	rel[c->n_rel] = eid;
	rel[c->n_rel + 1] = n;
	__atomic_store_n(&c->n_rel, c->n_rel + 2, __ATOMIC_RELAXED);
	return c->n_rel >= 2 * RELEASE_BATCH;
}

/* Value-model release for proxies: the last count forgets the import and
 * queues a RELEASE of everything received for it. */
static void proxy_release(struct shade_ref *r)
{
	struct proxy *p = (struct proxy *)r;
	shade_conn *c = p->conn;
	bool flush = false, last;

	uint32_t n = __atomic_load_n(&r->refs, __ATOMIC_RELAXED);

	if (c == NULL) {
		if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
			proxy_free(p);
		return;
	}
	/* Not the last count: drop it without the lock.  The count only
	 * reaches 0 under mu, where the import table forgets the proxy;
	 * a reference arriving for it adds a count under mu too, so one
	 * that finds it in the table never sees 0. */
	while (n > 1)
		if (__atomic_compare_exchange_n(&r->refs, &n, n - 1, true,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	pthread_mutex_lock(&c->mu);
	last = __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0;
	if (last) {
		struct hmap_slot *sl = hmap_find(&c->imports, p->eid);
		uint64_t received = sl ? sl->aux : 0;

		hmap_del(&c->imports, p->eid);
		if (c->open && received > 0)
			flush = queue_release(c, p->eid, received);
	}
	pthread_mutex_unlock(&c->mu);
	if (last)
		proxy_free(p);
	if (flush)
		shade_conn_flush(c, NULL);
}

/* Value-model describe: 200([eid, "Type"]). */
static char *proxy_describe(TALLOC_CTX *mem_ctx, const struct shade_ref *r)
{
	const struct proxy *p = (const struct proxy *)r;

	return talloc_asprintf(mem_ctx, "200([%llu, \"%s\"])",
			       (unsigned long long)p->eid,
			       r->shape ? r->shape->name : "?");
}

const shade_ref_ops proxy_ops = { proxy_retain, proxy_release,
				  proxy_describe };

shade_conn *shade_ref_conn(const shade_ref *r)
{
	if (r == NULL || r->kind != REF_PROXY)
		return NULL;
	return ((const struct proxy *)r)->conn;
}

/* ------------------------------------------------------------ hooks */

/* Encode hook: a proxy of this connection goes back as tag 201; a local
 * object is exported (same object, same id) and goes as tag 200 with its
 * shape description the first time its fingerprint is sent. */
static shade_status hook_encode(void *udata, shade_buf *b,
				struct shade_ref *ref, shade_error **err)
{
	shade_conn *c = udata;
	const shade_shape_desc *d;
	struct export_entry *e;
	uint64_t fp, eid;
	bool with_shape = false;

	if (ref->kind == REF_PROXY) {
		struct proxy *p = (struct proxy *)ref;

		if (p->conn != c)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "a proxy of another connection "
					       "cannot be passed on");
		shade_cbor_put_tag(b, SHADE_CBOR_TAG_RECEIVER_HOSTED);
		return shade_cbor_put_uint(b, p->eid);
	}
	d = obj_shape(ref);
	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	fp = shade_shape_fp(d);
	pthread_mutex_lock(&c->mu);
	if (!c->open) {
		pthread_mutex_unlock(&c->mu);
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "connection closed");
	}
	e = etab_by_obj(&c->exports, ref);
	if (e == NULL && c->exports.n >= c->max_exports) {
		pthread_mutex_unlock(&c->mu);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%zu objects exported on this "
				       "connection", c->max_exports);
	}
	if (e == NULL) {
		e = etab_add(&c->exports, ref, c->next_eid);
		if (e == NULL) {
			pthread_mutex_unlock(&c->mu);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		c->next_eid++;
		shade_ref_retain(ref);
	}
	e->out++;
	eid = e->eid;
	if (!shape_is_builtin(fp) && hmap_get(&c->shapes_sent, fp) == NULL &&
	    hmap_get(&c->peer_known, fp) == NULL) {
		with_shape = hmap_put(&c->shapes_sent, fp, (void *)1);
		c->st.shapes_sent += with_shape;
	}
	pthread_mutex_unlock(&c->mu);
	shade_cbor_put_tag(b, SHADE_CBOR_TAG_SENDER_HOSTED);
	shade_cbor_put_array(b, with_shape ? 3 : 2);
	shade_cbor_put_uint(b, eid);
	shade_cbor_put_uint(b, fp);
	if (with_shape)
		shape_encode(b, d);
	return b->status;
}

/* Read an export id at d and find that export's object (retained) in
 * *out; `code` (NotFound for targets, ProtocolError for tag 201) when
 * there is none. */
static shade_status read_export(shade_conn *c, shade_cbor_dec *d,
				shade_status code, struct shade_ref **out,
				shade_error **err)
{
	struct export_entry *e;
	uint64_t eid;

	SHADE_CHECK(shade_cbor_read_uint(d, &eid, err));
	pthread_mutex_lock(&c->mu);
	e = etab_by_eid(&c->exports, eid);
	*out = e ? shade_ref_retain(e->obj) : NULL;
	pthread_mutex_unlock(&c->mu);
	if (*out == NULL)
		return shade_error_set(err, code,
				       "no object with export id %llu",
				       (unsigned long long)eid);
	return SHADE_OK;
}

/* Decode hook: tag 201 -> our original object; tag 200 -> the proxy for
 * that export id (the same one while it lives), counting the reference. */
static shade_status hook_decode(void *udata, TALLOC_CTX *mem_ctx,
				uint64_t tag, shade_cbor_dec *d,
				struct shade_ref **out, shade_error **err)
{
	shade_conn *c = udata;
	shade_shape_desc *desc = NULL;
	const shade_shape_desc *shape;
	struct hmap_slot *sl;
	struct proxy *p;
	uint64_t n, eid, fp;

	(void)mem_ctx;
	if (tag == SHADE_CBOR_TAG_RECEIVER_HOSTED)
		return read_export(c, d, SHADE_ERR_PROTOCOL, out, err);
	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n != 2 && n != 3)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "reference 200: %llu fields",
				       (unsigned long long)n);
	SHADE_CHECK(shade_cbor_read_uint(d, &eid, err));
	SHADE_CHECK(shade_cbor_read_uint(d, &fp, err));
	if (eid == 0)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "reference 200 with export id 0");
	if (n == 3)
		SHADE_CHECK(shape_decode(NULL, d, &desc, err));
	pthread_mutex_lock(&c->mu);
	if (desc != NULL) {
		/* Cache under the fingerprint the sender named. */
		desc->fingerprint = fp;
		conn_cache_shape(c, desc);
	}
	shape = conn_shape(c, fp);
	sl = hmap_find(&c->imports, eid);
	p = sl ? sl->val : NULL;
	if (p != NULL) {
		__atomic_add_fetch(&p->ref.refs, 1, __ATOMIC_RELAXED);
		sl->aux++;
		if (p->ref.shape == NULL ||
		    (shape != NULL && p->ref.shape->fingerprint != fp))
			p->ref.shape = shape;
	} else if (c->imports.count >= c->max_imports) {
		pthread_mutex_unlock(&c->mu);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%zu proxies on this connection",
				       c->max_imports);
	} else {
		p = calloc(1, sizeof(*p));
		if (p == NULL || !hmap_put(&c->imports, eid, p)) {
			free(p);
			pthread_mutex_unlock(&c->mu);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		obj_count(1);
		p->ref.head.ops = &proxy_ops;
		p->ref.refs = 1;
		p->ref.kind = REF_PROXY;
		p->ref.shape = shape;
		p->conn = c;
		p->eid = eid;
		hmap_find(&c->imports, eid)->aux = 1;
	}
	pthread_mutex_unlock(&c->mu);
	*out = &p->ref;
	return SHADE_OK;
}

/* ------------------------------------------------------------ ending */

/* Release the objects of dropped exports (no lock held). */
static void release_objs(shade_conn *c, struct shade_ref **objs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		obj_unexported(objs[i], c);
		shade_ref_release(objs[i]);
	}
}

void conn_lost(shade_conn *c, shade_status code, const char *why)
{
	struct shade_ref **objs = NULL;
	size_t n = 0, pos = 0;
	struct pending *p;
	struct proxy *px;

	pthread_mutex_lock(&c->mu);
	if (!c->open) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	__atomic_store_n(&c->open, false, __ATOMIC_RELEASE);
	shade_error_set(&c->lost, code, "%s", why);
	if (c->lost != NULL)
		talloc_steal(c, c->lost);
	/* Fail every pending call. */
	while (hmap_next(&c->pending, &pos, NULL, (void **)&p)) {
		p->done = true;
		p->conn = NULL;
		if (p->reply == NULL && p->fail == NULL) {
			shade_error_set(&p->fail, code, "%s", why);
			if (p->fail != NULL)
				talloc_steal(p->owner, p->fail);
		}
	}
	hmap_clear(&c->pending);
	/* Drop every export. */
	objs = talloc_array(NULL, struct shade_ref *, c->exports.n + 1);
	if (objs != NULL) {
		for (n = 0; n < c->exports.n; n++)
			objs[n] = c->exports.ents[n].obj;
		etab_clear(&c->exports);
	}
	/* Detach every proxy: later use reports ConnectionLost.  Shapes the
	 * connection cached go with it. */
	pos = 0;
	while (hmap_next(&c->imports, &pos, NULL, (void **)&px)) {
		px->conn = NULL;
		if (px->ref.shape != NULL &&
		    !shape_is_builtin(px->ref.shape->fingerprint))
			px->ref.shape = NULL;
	}
	hmap_clear(&c->imports);
	TALLOC_FREE(c->rel);
	__atomic_store_n(&c->n_rel, 0, __ATOMIC_RELAXED);
	queue_clear(&c->unnested);
	wake_all(c);
	pthread_mutex_unlock(&c->mu);
	if (c->server != NULL)
		server_conn_closing(c->server, c);
	shade_transport_close(c->t);
	release_objs(c, objs, n);
	talloc_free(objs);
}

shade_status conn_check_open(shade_conn *c, shade_error **err)
{
	bool open;
	char *why = NULL;

	if (__atomic_load_n(&c->open, __ATOMIC_ACQUIRE))
		return SHADE_OK;
	pthread_mutex_lock(&c->mu);
	open = c->open;
	if (!open && c->lost != NULL)
		why = talloc_strdup(NULL, c->lost->message);
	pthread_mutex_unlock(&c->mu);
	if (open)
		return SHADE_OK;
	shade_error_set(err, SHADE_ERR_CONNECTION_LOST, "connection lost: %s",
			why ? why : "closed");
	talloc_free(why);
	return SHADE_ERR_CONNECTION_LOST;
}

/* Destructor: say BYE, end the connection, free the locks. */
static int conn_destructor(shade_conn *c)
{
	if (!c->mu_ready)
		return 0;
	shade_conn_close(c);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->send_mu);
	pthread_cond_destroy(&c->cv);
	return 0;
}

void shade_conn_close(shade_conn *c)
{
	shade_buf *b;
	bool send_bye;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	send_bye = c->open && !c->bye_sent;
	c->bye_sent = true;
	pthread_mutex_unlock(&c->mu);
	if (send_bye) {
		/* On a non-blocking transport what the socket does not take
		 * now is dropped: a peer that does not read cannot hold the
		 * closing side up. */
		b = shade_buf_new(NULL, 8);
		if (b != NULL) {
			msg_begin(b, OP_BYE, 0, 0, false);
			send_frame(c, b, NULL);
		}
		talloc_free(b);
	}
	conn_lost(c, SHADE_ERR_CONNECTION_LOST, "connection closed");
}

bool shade_conn_is_open(const shade_conn *c)
{
	/* Written under mu, read without it: a snapshot either way. */
	return __atomic_load_n(&c->open, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ sending
 *
 * Every message goes through one ordered output queue, `outb` (guarded
 * by send_mu): it is appended there framed (head + payload) and the queue
 * is handed to the transport in one shade_transport_send_frames() call
 * (one write system call on fd transports).  Batched messages (pipelined
 * requests, replies served in a loop turn) stay queued until a flush; on
 * a non-blocking transport what the socket does not take is queued by
 * the transport, behind which later batches go, and the loop writes it
 * when the socket polls writable.
 */

/* After a failed write: end the connection (unless the failure was local:
 * out of memory or over the frame limit) and hand e to *err. */
static shade_status send_failed(shade_conn *c, shade_status st, shade_error *e,
				shade_error **err)
{
	if (st != SHADE_ERR_NOMEM && st != SHADE_ERR_LIMIT)
		conn_lost(c, SHADE_ERR_CONNECTION_LOST,
			  e ? e->message : "send failed");
	if (err != NULL && *err == NULL)
		*err = e;
	else
		talloc_free(e);
	return st;
}

/* Append one message (its payload bytes) to the queue, framed.  Caller
 * holds send_mu. */
static shade_status emit_locked(shade_conn *c, const uint8_t *p, size_t len,
				shade_error **err)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	size_t hl;

	if (len > shade_transport_max_frame(c->t))
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "message of %zu bytes over the frame "
				       "limit", len);
	if (c->outb == NULL && (c->outb = shade_buf_new(c, 4096)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	hl = shade_frame_header_encode(len, head);
	shade_buf_append(c->outb, head, hl);
	shade_buf_append(c->outb, p, len);
	if (c->outb->status != SHADE_OK) {
		shade_buf_reset(c->outb);
		__atomic_store_n(&c->out_frames, 0, __ATOMIC_RELAXED);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	__atomic_add_fetch(&c->out_frames, 1, __ATOMIC_RELAXED);
	return SHADE_OK;
}

/* Queue the pending RELEASE pairs as one message; caller holds send_mu
 * (not mu). */
static shade_status emit_releases(shade_conn *c, shade_error **err)
{
	shade_buf *b;
	uint64_t *rel;
	size_t n, i;
	shade_status st;

	/* A hint read without mu: releases queued meanwhile go with the
	 * next message. */
	if (__atomic_load_n(&c->n_rel, __ATOMIC_RELAXED) == 0)
		return SHADE_OK;
	pthread_mutex_lock(&c->mu);
	rel = c->rel;
	n = c->n_rel;
	c->rel = NULL;
	__atomic_store_n(&c->n_rel, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->mu);
	if (n == 0)
		return SHADE_OK;
	b = shade_buf_new(NULL, 8 + n * 5);
	if (b == NULL) {
		talloc_free(rel);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	msg_begin(b, OP_RELEASE, 0, (unsigned)n, false);
	for (i = 0; i < n; i++)
		shade_cbor_put_uint(b, rel[i]);
	talloc_free(rel);
	if (b->status != SHADE_OK)
		st = shade_error_set(err, b->status, "out of memory");
	else
		st = emit_locked(c, b->data, b->len, err);
	if (st == SHADE_OK) {
		pthread_mutex_lock(&c->mu);
		c->st.releases_sent++;
		pthread_mutex_unlock(&c->mu);
	}
	talloc_free(b);
	return st;
}

/* Hand the queue to the transport (caller holds send_mu): all of it in
 * one write system call on fd transports; what a non-blocking socket
 * does not take stays queued in the transport (shade_transport_flush,
 * POLLOUT).  SHADE_OK, or a failure. */
static shade_status flush_batch_locked(shade_conn *c, shade_error **err)
{
	shade_status st;

	if (c->outb == NULL || c->outb->len == 0)
		return SHADE_OK;
	st = shade_transport_send_frames(c->t, c->outb->data, c->outb->len,
					 err);
	shade_buf_reset(c->outb);
	__atomic_store_n(&c->out_frames, 0, __ATOMIC_RELAXED);
	return st;
}

shade_status conn_flush_batch(shade_conn *c, shade_error **err)
{
	shade_status st;
	shade_error *e = NULL;

	pthread_mutex_lock(&c->send_mu);
	st = flush_batch_locked(c, &e);
	pthread_mutex_unlock(&c->send_mu);
	if (st < 0)
		return send_failed(c, st, e, err);
	return SHADE_OK;
}

/* Queue one message (releases first) and write the queue now (`now`) or
 * once it is large.  A transport failure ends the connection. */
static shade_status put_message(shade_conn *c, const shade_buf *b, bool now,
				shade_error **err)
{
	shade_status st;
	shade_error *e = NULL;

	if (b->status != SHADE_OK)
		return shade_error_set(err, b->status, "out of memory");
	pthread_mutex_lock(&c->send_mu);
	st = emit_releases(c, &e);
	if (st == SHADE_OK && now && (c->outb == NULL || c->outb->len == 0)) {
		/* Nothing queued before it: straight to the transport,
		 * which frames it in the same single write. */
		st = shade_transport_send(c->t, b->data, b->len, &e);
	} else {
		if (st == SHADE_OK)
			st = emit_locked(c, b->data, b->len, &e);
		if (st == SHADE_OK &&
		    (now || c->outb->len >= BATCH_BYTES))
			st = flush_batch_locked(c, &e);
	}
	pthread_mutex_unlock(&c->send_mu);
	if (st < 0)
		return send_failed(c, st, e, err);
	return SHADE_OK;
}

/* Add one message to the batch (written by the next flush or wait). */
static shade_status queue_frame(shade_conn *c, const shade_buf *b,
				shade_error **err)
{
	return put_message(c, b, false, err);
}

/* Send one message now, after everything queued before it. */
static shade_status send_frame(shade_conn *c, const shade_buf *b,
			       shade_error **err)
{
	return put_message(c, b, true, err);
}


size_t shade_conn_out_pending(shade_conn *c)
{
	size_t n;

	if (!shade_conn_wants_write(c))
		return 0; /* the usual case, without the lock */
	pthread_mutex_lock(&c->send_mu);
	n = shade_transport_out_pending(c->t) + (c->outb ? c->outb->len : 0);
	pthread_mutex_unlock(&c->send_mu);
	return n;
}

/* Write queued output without waiting: what a non-blocking socket does
 * not take stays queued in the transport.  A failure ends c. */
static shade_status flush_now(shade_conn *c, shade_error **err)
{
	shade_status st;
	shade_error *e = NULL;

	pthread_mutex_lock(&c->send_mu);
	st = emit_releases(c, &e);
	if (st == SHADE_OK)
		st = flush_batch_locked(c, &e);
	if (st == SHADE_OK && shade_transport_wants_write(c->t))
		st = shade_transport_flush(c->t, &e);
	pthread_mutex_unlock(&c->send_mu);
	if (st < 0)
		return send_failed(c, st, e, err);
	return SHADE_OK;
}

shade_status shade_conn_flush(shade_conn *c, shade_error **err)
{
	SHADE_CHECK(conn_check_open(c, err));
	if (__atomic_load_n(&c->n_rel, __ATOMIC_RELAXED) == 0 &&
	    !shade_conn_wants_write(c))
		return SHADE_OK; /* nothing to write: no lock */
	return flush_now(c, err);
}

/* Before waiting for input: write queued output, polling for POLLOUT
 * until the deadline when the transport is non-blocking. */
static shade_status flush_out(shade_conn *c, int64_t deadline,
			      shade_error **err)
{
	struct pollfd pfd;
	shade_status st;
	shade_error *e = NULL;

	if (!shade_conn_wants_write(c))
		return SHADE_OK; /* the usual case: nothing queued, no lock */
	for (;;) {
		pthread_mutex_lock(&c->send_mu);
		st = flush_batch_locked(c, &e);
		if (st == SHADE_OK && shade_transport_wants_write(c->t))
			st = shade_transport_flush(c->t, &e);
		pthread_mutex_unlock(&c->send_mu);
		if (st < 0)
			return send_failed(c, st, e, err);
		if (st == SHADE_OK)
			return SHADE_OK;
		pfd.fd = shade_transport_write_fd(c->t);
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, remaining_ms(deadline)) == 0)
			return shade_error_set(err, SHADE_ERR_TIMEOUT,
					       "output not drained in time");
	}
}

/* ------------------------------------------------------------ requests */

shade_status conn_req_init(struct outreq *rq, shade_conn *c, TALLOC_CTX *tmp,
			   unsigned op, unsigned nfields,
			   const shade_value *kwargs, int timeout_ms,
			   bool oneway, shade_error **err)
{
	struct serving *s;

	memset(rq, 0, sizeof(*rq));
	rq->c = c;
	if (timeout_ms == 0)
		timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : -1;
	rq->timeout_ms = timeout_ms;
	for (s = tl_serving; s != NULL; s = s->up)
		if (s->c == c) {
			rq->o.in = s->rid;
			break;
		}
	rq->o.timeout_ms = timeout_ms > 0 ? (uint64_t)timeout_ms : 0;
	rq->o.kwargs = kwargs;
	rq->has_opts = msg_opts_items(&rq->o) > 0;
	/* No lock: the id is taken atomically; the pending limit is
	 * checked where the pending is registered (conn_req_send). */
	SHADE_CHECK(conn_check_open(c, err));
	rq->rid = oneway ? 0 : __atomic_fetch_add(&c->next_rid, 1,
						  __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->st.requests_sent, 1, __ATOMIC_RELAXED);
	rq->b = shade_buf_new(tmp, 64);
	if (rq->b == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return msg_begin(rq->b, op, rq->rid, nfields, rq->has_opts);
}

shade_status conn_req_send(struct outreq *rq, TALLOC_CTX *tmp,
			   shade_error **err)
{
	shade_conn *c = rq->c;
	struct pending *p = NULL;
	shade_status st;

	if (rq->has_opts)
		SHADE_CHECK(msg_put_opts(rq->b, &rq->o, &c->copts, err));
	if (rq->b->status != SHADE_OK)
		return shade_error_set(err, rq->b->status, "out of memory");
	if (rq->rid != 0) {
		p = &rq->pend;
		memset(p, 0, sizeof(*p));
		p->owner = tmp;
		p->conn = c;
		p->rid = rq->rid;
		pthread_mutex_lock(&c->mu);
		if (c->open && c->pending.count >= c->max_pending) {
			pthread_mutex_unlock(&c->mu);
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "%zu requests outstanding",
					       c->max_pending);
		}
		if (!c->open || !hmap_put(&c->pending, p->rid, p)) {
			pthread_mutex_unlock(&c->mu);
			if (conn_check_open(c, err) != SHADE_OK)
				return SHADE_ERR_CONNECTION_LOST;
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		pthread_mutex_unlock(&c->mu);
	}
	st = rq->queued ? queue_frame(c, rq->b, err) : send_frame(c, rq->b, err);
	if (st != SHADE_OK) {
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
	p->conn = NULL;
	queue_clear(&p->nested);
}

void conn_abandon(struct pending *p)
{
	shade_conn *c = p->conn;
	shade_buf *b;
	bool was_open;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	was_open = c->open && !p->done;
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

/* ------------------------------------------------------------ routing */

/* Send our HELLO (version, features, known fingerprints). */
static shade_status send_hello(shade_conn *c, shade_error **err)
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
	shade_cbor_put_uint(b, 0);
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
	shade_buf *b = shade_buf_new(NULL, 64);
	shade_error *e = NULL;

	shade_error_set(&e, SHADE_ERR_PROTOCOL, "%s", why);
	if (b != NULL && e != NULL) {
		msg_put_error(b, 0, e, NULL);
		send_frame(c, b, NULL);
	}
	talloc_free(b);
	talloc_free(e);
	conn_lost(c, SHADE_ERR_PROTOCOL, why);
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
	pthread_mutex_lock(&c->mu);
	answer = c->accepting && !c->hello_seen;
	c->hello_seen = true;
	if (m->nfields == 3 &&
	    shade_cbor_read_array(&m->d, &n, NULL) == SHADE_OK &&
	    n != SHADE_CBOR_INDEFINITE)
		for (i = 0; i < n; i++)
			if (shade_cbor_read_uint(&m->d, &fp, NULL) == SHADE_OK &&
			    fp != 0)
				hmap_put(&c->peer_known, fp, (void *)1);
	pthread_mutex_unlock(&c->mu);
	if (answer)
		send_hello(c, NULL);
}

/* Apply a RELEASE: subtract counts; drop exports reaching zero. */
static void route_release(shade_conn *c, struct msg *m)
{
	struct shade_ref **objs;
	size_t n = 0;
	uint64_t i, eid, cnt;
	struct export_entry *e;

	objs = talloc_array(NULL, struct shade_ref *, m->nfields / 2 + 1);
	if (objs == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < m->nfields; i += 2) {
		if (shade_cbor_read_uint(&m->d, &eid, NULL) != SHADE_OK ||
		    shade_cbor_read_uint(&m->d, &cnt, NULL) != SHADE_OK)
			break;
		e = etab_by_eid(&c->exports, eid);
		if (e == NULL || cnt > e->out)
			continue; /* double or bogus release: ignored */
		e->out -= cnt;
		if (e->out == 0)
			objs[n++] = etab_del(&c->exports, e);
	}
	pthread_mutex_unlock(&c->mu);
	release_objs(c, objs, n);
	talloc_free(objs);
}

/* A frame read onto a waiter's context (`where`, see conn_wait) that
 * goes anywhere else is first moved to a chunk of its own: talloc is not
 * thread-safe, and the waiter keeps allocating from its context (a pool)
 * while another thread frees what goes elsewhere.  m's cursor follows. */
static uint8_t *unpool(uint8_t *frame, size_t len, const void *where,
		       struct msg *m)
{
	uint8_t *f;

	if (where == NULL)
		return frame;
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
		frame = talloc_steal(p->owner, unpool(frame, len, where, m));
	p->reply = frame;
	p->reply_len = len;
	p->m = *m;
	p->done = true;
	hmap_del(&c->pending, m->id);
	p->conn = NULL;
	wake_all(c);
	return NULL;
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
	talloc_free(frame); /* late or unknown: dropped */
}

/* Handle a CANCEL: withdraw request rid if it is still queued (in no
 * call, or nested in one of our calls); one already started or answered
 * is not touched (its reply goes, the peer drops it). */
static void route_cancel(shade_conn *c, uint64_t rid)
{
	struct pending *p;
	size_t pos = 0;
	bool found;

	if (rid == 0)
		return;
	pthread_mutex_lock(&c->mu);
	found = queue_remove(&c->unnested, rid);
	while (!found && hmap_next(&c->pending, &pos, NULL, (void **)&p))
		found = queue_remove(&p->nested, rid);
	c->st.requests_cancelled += found;
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
 * given up, by a waiter or shade_conn_process.
 */
static void route_parsed(shade_conn *c, uint8_t *frame, size_t len,
			 struct msg *m, bool parsed, const void *where,
			 struct direct *dir)
{
	struct pending *p = NULL;

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
	case OP_RETURN:
	case OP_ERROR:
		route_reply(c, m, frame, len, where);
		return;
	case OP_RELEASE:
		pthread_mutex_lock(&c->mu);
		if (c->unnested.head != NULL) {
			/* Requests read before it wait in the queue and may
			 * name what it releases: it takes its turn. */
			frame = unpool(frame, len, where, m);
			if (frame != NULL)
				queue_push(c, &c->unnested, frame, len, m,
					   true);
			pthread_mutex_unlock(&c->mu);
			return;
		}
		pthread_mutex_unlock(&c->mu);
		route_release(c, m);
		break;
	case OP_CANCEL:
		route_cancel(c, m->id);
		break;
	case OP_BYE:
		pthread_mutex_lock(&c->mu);
		c->bye_seen = true;
		c->bye_sent = true; /* nothing more to say */
		pthread_mutex_unlock(&c->mu);
		conn_lost(c, SHADE_ERR_CONNECTION_LOST, "peer said BYE");
		break;
	default:
		goto request;
	}
	talloc_free(frame);
	return;
request:
	pthread_mutex_lock(&c->mu);
	if (m->in != 0)
		p = hmap_get(&c->pending, m->in);
	if (p != NULL && p->done)
		p = NULL;
	if (p == NULL && dir != NULL && parsed && c->unnested.head == NULL) {
		/* Next in line: the reader may serve it without a queue
		 * (still on `where`: the reader's own context). */
		dir->frame = frame;
		dir->len = len;
		dir->m = *m;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if ((frame = unpool(frame, len, where, m)) == NULL) {
		pthread_mutex_unlock(&c->mu);
		protocol_failure(c, "out of memory for a request");
		return;
	}
	if (p != NULL)
		queue_push(p->owner, &p->nested, frame, len, m, parsed);
	else
		queue_push(c, &c->unnested, frame, len, m, parsed);
	wake_all(c);
	pthread_mutex_unlock(&c->mu);
}

/* Parse a received frame and route it (route_parsed). */
static void route_frame(shade_conn *c, uint8_t *frame, size_t len,
			const void *where, struct direct *dir)
{
	struct msg m;
	shade_error *e = NULL;
	bool parsed = msg_parse(frame, len, &m, &e) == SHADE_OK;

	talloc_free(e);
	route_parsed(c, frame, len, &m, parsed, where, dir);
}

/* The router of a waiting thread: returns with mu held, which the
 * waiter takes next anyway.  A reply, the frame it usually reads, is
 * delivered under that same lock; anything else is routed first. */
static void route_for_waiter(shade_conn *c, uint8_t *frame, size_t len,
			     const void *where)
{
	struct msg m;
	bool parsed = msg_parse(frame, len, &m, NULL) == SHADE_OK;

	if (parsed && m.id != 0 && (m.op == OP_RETURN || m.op == OP_ERROR) &&
	    (c->hello_seen || !c->accepting)) {
		pthread_mutex_lock(&c->mu);
		talloc_free(deliver_reply(c, &m, frame, len, where));
		return;
	}
	route_parsed(c, frame, len, &m, parsed, where, NULL);
	pthread_mutex_lock(&c->mu);
}

shade_status conn_read_one(shade_conn *c, struct direct *dir, void *where,
			   shade_error **err)
{
	uint8_t *frame;
	size_t len;
	shade_status st;
	shade_error *e = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->reading || !c->open) {
		bool open = c->open;

		pthread_mutex_unlock(&c->mu);
		return open ? SHADE_AGAIN : conn_check_open(c, err);
	}
	c->reading = true;
	pthread_mutex_unlock(&c->mu);
	st = shade_transport_try_recv(c->t, where, &frame, &len, &e);
	if (st == SHADE_OK)
		route_frame(c, frame, len, where, dir);
	pthread_mutex_lock(&c->mu);
	c->reading = false;
	wake_all(c);
	pthread_mutex_unlock(&c->mu);
	if (st == SHADE_AGAIN)
		return SHADE_AGAIN;
	if (st != SHADE_OK) {
		conn_lost(c, SHADE_ERR_CONNECTION_LOST,
			  e ? e->message : "receive failed");
		talloc_free(e);
		return conn_check_open(c, err);
	}
	return SHADE_OK;
}

/* Serve the requests queued on c in no call, in order, until none is
 * left (each a batched reply).  A handler that calls back on c becomes
 * its reader and serves what comes meanwhile itself. */
static void serve_queued(shade_conn *c)
{
	struct frame_item *it;

	for (;;) {
		if (__atomic_load_n(&c->unnested.head, __ATOMIC_ACQUIRE) == NULL)
			return; /* a hint: the usual empty queue, no lock */
		pthread_mutex_lock(&c->mu);
		it = queue_pop(&c->unnested);
		pthread_mutex_unlock(&c->mu);
		if (it == NULL)
			return;
		serve_frame(c, NULL, talloc_steal(NULL, it->frame), it->len,
			    it->parsed ? &it->m : NULL, it->arrived, true);
		talloc_free(it);
	}
}

/* ------------------------------------------------------------ waiting */

/* True when the wait is satisfied (under mu). */
static bool wait_done(struct pending *const *ps, size_t n, bool all,
		      size_t *which)
{
	size_t i, done = 0;

	for (i = 0; i < n; i++)
		if (ps[i]->done) {
			if (!all) {
				if (which != NULL)
					*which = i;
				return true;
			}
			done++;
		}
	return n > 0 && done == n;
}

/* A nested request for one of ps, or an unnested one (under mu). */
static struct frame_item *wait_work(shade_conn *c, struct pending *const *ps,
				    size_t n)
{
	size_t i;
	struct frame_item *it;

	for (i = 0; i < n; i++)
		if ((it = queue_pop(&ps[i]->nested)) != NULL)
			return it;
	return queue_pop(&c->unnested);
}

/* Wait on cv until the deadline (monotonic clock). */
static void cv_wait(shade_conn *c, int64_t deadline)
{
	struct timespec ts;
	int64_t ms;

	c->sleepers++;
	if (deadline < 0) {
		pthread_cond_wait(&c->cv, &c->mu);
	} else {
		ms = deadline;
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	c->sleepers--;
}

shade_status conn_wait(shade_conn *c, struct pending *const *ps, size_t n,
		       bool all, int timeout_ms, size_t *which,
		       shade_error **err)
{
	void *where;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct frame_item *it;
	uint8_t *frame;
	size_t len;
	shade_status st = SHADE_OK;
	shade_error *e = NULL;
	bool nest;

	pthread_mutex_lock(&c->mu);
	if (n > 0 && !wait_done(ps, n, all, which))
		c->st.round_trips++;
	for (;;) {
		if (wait_done(ps, n, all, which))
			break;
		it = wait_work(c, ps, n);
		if (it != NULL) {
			pthread_mutex_unlock(&c->mu);
			serve_frame(c, NULL, talloc_steal(NULL, it->frame),
				    it->len,
				    it->parsed ? &it->m : NULL, it->arrived,
				    true);
			talloc_free(it);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (!c->open) {
			st = SHADE_ERR_CONNECTION_LOST;
			break;
		}
		if (deadline >= 0 && now_ms() >= deadline) {
			st = SHADE_ERR_TIMEOUT;
			break;
		}
		if (__atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0) {
			/* A hint read without send_mu.  Write what we
			 * queued (replies served above) before sleeping;
			 * what a non-blocking socket does not take is
			 * written by the reader's flush_out. */
			pthread_mutex_unlock(&c->mu);
			conn_flush_batch(c, NULL);
			pthread_mutex_lock(&c->mu);
			if (__atomic_load_n(&c->out_frames,
					    __ATOMIC_RELAXED) == 0)
				continue; /* all written: look again */
		}
		if (c->reading) {
			cv_wait(c, deadline);
			continue;
		}
		c->reading = true;
		/* With one request outstanding, the frame read is almost
		 * surely its reply: read it onto the request's owner, where
		 * it then stays.  With more, each would be copied out. */
		where = n == 1 && c->pending.count <= 1 ? ps[0]->owner : NULL;
		pthread_mutex_unlock(&c->mu);
		nest = c->server != NULL && server_can_nest(c->server);
		if (nest) {
			/* A handler on the server's loop thread: read c
			 * without blocking, then turn the loop for the
			 * other connections until c has more. */
			st = flush_now(c, &e);
			if (st == SHADE_OK)
				st = shade_transport_try_recv(c->t, where,
							      &frame, &len,
							      &e);
		} else {
			st = flush_out(c, deadline, &e);
			if (st == SHADE_OK)
				st = shade_transport_recv(
					c->t, where, &frame, &len,
					remaining_ms(deadline), &e);
		}
		if (st != SHADE_OK && st != SHADE_ERR_TIMEOUT &&
		    st != SHADE_AGAIN)
			conn_lost(c, SHADE_ERR_CONNECTION_LOST,
				  e ? e->message : "receive failed");
		talloc_free(e);
		e = NULL;
		/* Routed while still the reader: requests are queued, so
		 * no handler runs here. */
		if (st == SHADE_OK)
			route_for_waiter(c, frame, len, where);
		else
			pthread_mutex_lock(&c->mu);
		c->reading = false;
		wake_all(c);
		if (nest && st == SHADE_AGAIN && c->open) {
			pthread_mutex_unlock(&c->mu);
			server_nested_turn(c->server, c,
					   remaining_ms(deadline));
			pthread_mutex_lock(&c->mu);
		}
		st = SHADE_OK;
	}
	pthread_mutex_unlock(&c->mu);
	/* Replies batched while serving go before we return. */
	if (__atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0)
		conn_flush_batch(c, NULL);
	if (st == SHADE_ERR_TIMEOUT)
		return shade_error_set(err, SHADE_ERR_TIMEOUT,
				       "no reply within %d ms", timeout_ms);
	if (st == SHADE_ERR_CONNECTION_LOST)
		return conn_check_open(c, err);
	return SHADE_OK;
}

shade_status conn_take_reply(shade_conn *c, struct pending *p,
			     shade_cbor_dec *d,
			     bool *has_value, shade_error **err)
{
	struct msg m;
	shade_error *e = NULL;

	*has_value = false;
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

/* ------------------------------------------------------------ serving */

/* Decode one value field (references through the hooks). */
static shade_status read_value(shade_conn *c, TALLOC_CTX *mem_ctx,
			       shade_cbor_dec *d, shade_value **out,
			       shade_error **err)
{
	return shade_cbor_decode_value(mem_ctx, d, &c->copts, out, err);
}

/* Serve LOOKUP: the named object as a reference. */
static shade_status serve_lookup(shade_conn *c, TALLOC_CTX *tmp,
				 struct msg *m, shade_value **out,
				 shade_error **err)
{
	char *name;
	shade_ref *obj;

	SHADE_CHECK(shade_cbor_read_text_dup(tmp, &m->d, &name, NULL, err));
	obj = c->names ? shade_registry_get(c->names, name) : NULL;
	if (obj == NULL)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no object exported as '%s'", name);
	*out = shade_ref_value(tmp, obj);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Serve NAMES: a tuple of the exported names. */
static shade_status serve_names(shade_conn *c, TALLOC_CTX *tmp,
				shade_value **out, shade_error **err)
{
	size_t i, n = shade_registry_count(c->names);
	shade_value *t = shade_tuple_new(tmp, n);

	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *s = shade_registry_name(c->names, i);

		SHADE_CHECK(shade_seq_append_str(t, s, strlen(s), err));
	}
	*out = t;
	return SHADE_OK;
}

/* Read the fields of a member/container request into op and perform it
 * on target (a local object), or for typed INVOKE/GETATTR/SETATTR write
 * the result straight into rb (then *direct is true). */
static shade_status serve_object(shade_conn *c, TALLOC_CTX *tmp,
				 struct msg *m, struct shade_ref *target,
				 shade_buf *rb, bool *direct,
				 const char **member_name, shade_value **out,
				 shade_error **err)
{
	struct obj_op op;
	uint64_t index = 0, start, count;
	char *name = NULL;
	shade_value *v;
	shade_cbor_dec kd;

	memset(&op, 0, sizeof(op));
	op.op = msg_obj_op(m->op);
	op.count = UINT64_MAX;
	op.conn = c;
	if (m->op == OP_INVOKE || m->op == OP_GETATTR || m->op == OP_SETATTR) {
		SHADE_CHECK(msg_read_member(tmp, &m->d, &index, &name, err));
		SHADE_CHECK(obj_resolve(target, name, index, &op.member, err));
		*member_name = obj_shape(target)->members[op.member].name;
		if (target->kind == REF_TYPED &&
		    (m->op != OP_GETATTR ||
		     obj_shape(target)->members[op.member].kind <
			     SHADE_MEMBER_METHOD)) {
			shade_dispatch_ctx cx = { tmp, &c->copts };
			shade_dispatch_op dop =
				m->op == OP_INVOKE ? SHADE_DISPATCH_INVOKE
				: m->op == OP_GETATTR ? SHADE_DISPATCH_GET
						      : SHADE_DISPATCH_SET;
			size_t mark;

			if (m->op == OP_SETATTR &&
			    obj_shape(target)->members[op.member].kind !=
				    SHADE_MEMBER_ATTR)
				return shade_error_set(
					err, SHADE_ERR_ATTRIBUTE,
					"attribute '%s' is readonly",
					*member_name);
			msg_begin(rb, OP_RETURN, m->id, 1, false);
			mark = rb->len;
			SHADE_CHECK(obj_dispatch_typed(
				target, &cx, op.member, dop,
				dop == SHADE_DISPATCH_GET ? NULL : &m->d, rb,
				err));
			if (rb->len == mark)
				shade_cbor_put_null(rb);
			*direct = true;
			return SHADE_OK;
		}
	}
	switch (m->op) {
	case OP_INVOKE:
	case OP_CALL:
		SHADE_CHECK(read_value(c, tmp, &m->d, &v, err));
		if (shade_value_kind(v) != SHADE_TUPLE)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "arguments are not an array");
		op.args = v;
		if (m->kwargs_pos != 0) {
			shade_cbor_dec_init(&kd, m->d.buf, m->d.len);
			kd.pos = m->kwargs_pos;
			SHADE_CHECK(read_value(c, tmp, &kd, &v, err));
			if (shade_value_kind(v) != SHADE_DICT)
				return shade_error_set(err, SHADE_ERR_PROTOCOL,
						       "kwargs is not a map");
			op.kwargs = v;
		}
		break;
	case OP_SETATTR:
	case OP_CONTAINS:
	case OP_APPEND:
		SHADE_CHECK(read_value(c, tmp, &m->d, &v, err));
		op.value = v;
		break;
	case OP_GETITEM:
	case OP_DELITEM:
	case OP_SETITEM:
		SHADE_CHECK(read_value(c, tmp, &m->d, &v, err));
		op.key = v;
		if (m->op == OP_SETITEM) {
			SHADE_CHECK(read_value(c, tmp, &m->d, &v, err));
			op.value = v;
		}
		break;
	case OP_FORCE:
		SHADE_CHECK(shade_cbor_read_uint(&m->d, &start, err));
		if (shade_cbor_at_null(&m->d)) {
			SHADE_CHECK(shade_cbor_read_null(&m->d, err));
			count = UINT64_MAX;
		} else {
			SHADE_CHECK(shade_cbor_read_uint(&m->d, &count, err));
		}
		op.start = start;
		op.count = count;
		break;
	default:
		break;
	}
	return obj_perform(tmp, target, &op, &c->copts, out, err);
}

/* Turn a handler failure into an ERROR message in rb, adding our frame
 * of the chain. */
static void build_error(shade_conn *c, shade_buf *rb, uint64_t id,
			shade_status code, shade_error *e, const char *type,
			const char *member)
{
	if (e == NULL)
		shade_error_set(&e, code < 0 ? code : SHADE_ERR_RUNTIME,
				"request failed");
	shade_buf_reset(rb);
	if (e == NULL)
		return;
	shade_error_push_frame(e, c->side, type ? type : "",
			       member ? member : "");
	msg_put_error(rb, id, e, &c->copts);
	talloc_free(e);
}

/* Scratch memory for one served request: the connection's own pool when
 * no other request of it holds it (emptied after use, so its memory is
 * reused without going back to malloc), else a pool of its own. */
static TALLOC_CTX *scratch_take(shade_conn *c)
{
	if (!__atomic_exchange_n(&c->scratch_busy, true, __ATOMIC_ACQUIRE)) {
		if (c->scratch == NULL)
			c->scratch = talloc_pool(c, CALL_POOL_BYTES);
		if (c->scratch != NULL)
			return c->scratch;
		__atomic_store_n(&c->scratch_busy, false, __ATOMIC_RELEASE);
	}
	return talloc_pool(NULL, CALL_POOL_BYTES);
}

/* Done with scratch memory from scratch_take. */
static void scratch_give(shade_conn *c, TALLOC_CTX *tmp)
{
	if (tmp == NULL || tmp != c->scratch) {
		talloc_free(tmp);
		return;
	}
	talloc_free_children(tmp);
	__atomic_store_n(&c->scratch_busy, false, __ATOMIC_RELEASE);
}

/* The buffer a served request's reply is built in: the connection's
 * own when no other request of it is using it (a reply is written out
 * before the request ends), else a new one on tmp. */
static shade_buf *reply_buf_take(shade_conn *c, TALLOC_CTX *tmp)
{
	if (!__atomic_exchange_n(&c->rbuf_busy, true, __ATOMIC_ACQUIRE)) {
		if (c->rbuf == NULL)
			c->rbuf = shade_buf_new(c, REPLY_BUF_BYTES);
		if (c->rbuf != NULL) {
			shade_buf_reset(c->rbuf);
			return c->rbuf;
		}
		__atomic_store_n(&c->rbuf_busy, false, __ATOMIC_RELEASE);
	}
	return shade_buf_new(tmp, 64);
}

/* Done with rb: the connection's buffer goes back (dropped when a large
 * reply grew it, so an idle connection keeps a small one). */
static void reply_buf_give(shade_conn *c, shade_buf *rb)
{
	if (rb == NULL || rb != c->rbuf)
		return;
	if (rb->cap > REPLY_BUF_KEEP)
		TALLOC_FREE(c->rbuf);
	__atomic_store_n(&c->rbuf_busy, false, __ATOMIC_RELEASE);
}

/* Serve one request frame (taken over; on tmp when tmp is given, which
 * is then taken over too), read at `arrived`, and send its
 * reply, or add the reply to the batch when `batch` (the server loop
 * flushes it).  A request whose deadline (its timeout counted from
 * `arrived`) has passed is answered Timeout without running. */
static void serve_frame(shade_conn *c, TALLOC_CTX *tmp, uint8_t *frame,
			size_t len, const struct msg *pm, int64_t arrived,
			bool batch)
{
	struct serving me = { c, 0, tl_serving };
	struct shade_ref *target = NULL;
	const char *member = NULL;
	shade_buf *rb;
	shade_value *out = NULL;
	shade_error *e = NULL;
	shade_status st;
	struct msg m;
	bool direct = false, expired = false;

	/* tmp, when given, already holds the frame. */
	if (tmp == NULL && (tmp = scratch_take(c)) != NULL)
		talloc_steal(tmp, frame);
	if (tmp == NULL) {
		talloc_free(frame);
		return;
	}
	rb = reply_buf_take(c, tmp);
	__atomic_add_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	if (rb == NULL)
		goto done;
	if (pm != NULL) {
		m = *pm;
		st = SHADE_OK;
	} else {
		st = msg_parse(frame, len, &m, &e);
	}
	if (st == SHADE_OK && m.op == OP_RELEASE) {
		route_release(c, &m); /* queued behind requests */
		goto done;
	}
	me.rid = m.id;
	tl_serving = &me;
	if (st == SHADE_OK && m.id != 0 && m.timeout_ms > 0 &&
	    now_ms() - arrived >= (int64_t)m.timeout_ms) {
		st = shade_error_set(&e, SHADE_ERR_TIMEOUT,
				     "deadline of %llu ms passed before the "
				     "request started",
				     (unsigned long long)m.timeout_ms);
		expired = true;
	} else if (st == SHADE_OK) {
		switch (m.op) {
		case OP_LOOKUP:
			st = serve_lookup(c, tmp, &m, &out, &e);
			break;
		case OP_NAMES:
			st = serve_names(c, tmp, &out, &e);
			break;
		case OP_DESCRIBE:
			st = read_export(c, &m.d, SHADE_ERR_NOT_FOUND, &target,
					 &e);
			if (st == SHADE_OK) {
				msg_begin(rb, OP_RETURN, m.id, 1, false);
				shape_encode(rb, obj_shape(target));
				direct = true;
			}
			break;
		default:
			st = read_export(c, &m.d, SHADE_ERR_NOT_FOUND, &target,
					 &e);
			if (st == SHADE_OK)
				st = serve_object(c, tmp, &m, target, rb,
						  &direct, &member, &out, &e);
			break;
		}
	}
	tl_serving = me.up;
	__atomic_add_fetch(expired ? &c->st.requests_expired
				   : &c->st.requests_served, 1,
			   __ATOMIC_RELAXED);
	if (m.id == 0)
		goto done;
	if (st == SHADE_OK && !direct) {
		msg_begin(rb, OP_RETURN, m.id, out ? 1 : 0, false);
		if (out != NULL)
			st = shade_cbor_encode_value(rb, out, &c->copts, &e);
	}
	if (st != SHADE_OK) {
		const char *type = "";

		if (target != NULL)
			obj_chain_names(target, &type, &member);
		build_error(c, rb, m.id, st, e, type, member);
	}
	else if (rb->status != SHADE_OK)
		build_error(c, rb, m.id, rb->status, NULL, "", member);
	e = NULL;
	/* Values are freed before the reply goes, so the RELEASEs they
	 * queue ride in front of it. */
	talloc_free(out);
	out = NULL;
	if (rb->status == SHADE_OK &&
	    rb->len > shade_transport_max_frame(c->t)) {
		/* A reply over the frame limit: say so instead. */
		shade_error_set(&e, SHADE_ERR_LIMIT,
				"reply of %zu bytes over the frame limit of "
				"%zu", rb->len, shade_transport_max_frame(c->t));
		build_error(c, rb, m.id, SHADE_ERR_LIMIT, e, "", member);
		e = NULL;
	}
	if (batch)
		queue_frame(c, rb, NULL);
	else
		send_frame(c, rb, NULL);
done:
	talloc_free(out);
	talloc_free(e);
	if (target != NULL)
		shade_ref_release(target);
	reply_buf_give(c, rb);
	scratch_give(c, tmp);
	__atomic_sub_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
}

bool conn_busy(shade_conn *c)
{
	return __atomic_load_n(&c->serving, __ATOMIC_ACQUIRE) > 0;
}

/* ------------------------------------------------------------ public */

shade_status shade_conn_new(TALLOC_CTX *mem_ctx, shade_transport *t,
			    bool accepting, const shade_conn_opts *opts,
			    shade_conn **out, shade_error **err)
{
	shade_conn_opts none;
	shade_conn *c;
	pthread_condattr_t ca;
	size_t i;

	if (opts == NULL) {
		memset(&none, 0, sizeof(none));
		opts = &none;
	}
	c = talloc_zero(mem_ctx, shade_conn);
	if (c == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	c->t = talloc_steal(c, t);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->send_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->mu_ready = true;
	talloc_set_destructor(c, conn_destructor);
	__atomic_store_n(&c->open, true, __ATOMIC_RELEASE);
	c->accepting = accepting;
	c->hello_seen = false;
	c->next_rid = 1;
	c->next_eid = 1;
	hmap_init(&c->pending, c);
	etab_init(&c->exports, c);
	hmap_init(&c->imports, c);
	hmap_init(&c->shapes, c);
	hmap_init(&c->shapes_sent, c);
	hmap_init(&c->peer_known, c);
	c->side = talloc_strdup(c, opts->side ? opts->side
				     : accepting ? "server" : "client");
	c->timeout_ms = opts->timeout_ms;
	c->iter_chunk = opts->iter_chunk ? opts->iter_chunk
					 : DEFAULT_ITER_CHUNK;
	c->max_pending = opts->max_pending ? opts->max_pending
					   : DEFAULT_MAX_PENDING;
	c->names = opts->names;
	c->max_exports = opts->max_exports ? opts->max_exports
					   : DEFAULT_MAX_TABLE;
	c->max_imports = opts->max_imports ? opts->max_imports
					   : DEFAULT_MAX_TABLE;
	c->copts.max_depth = opts->max_depth;
	c->copts.max_len = opts->max_len;
	c->copts.max_items = opts->max_items;
	c->known = opts->known;
	/* Shapes compiled in are known without a description. */
	for (i = 0; c->known != NULL && c->known[i] != NULL; i++) {
		uint64_t fp = shade_shape_fp(c->known[i]);

		if (fp != 0 && hmap_get(&c->shapes, fp) == NULL)
			hmap_put(&c->shapes, fp, (void *)c->known[i]);
	}
	c->hooks.encode_ref = hook_encode;
	c->hooks.decode_ref = hook_decode;
	c->hooks.udata = c;
	c->copts.hooks = &c->hooks;
	if (c->side == NULL) {
		talloc_free(c);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (!accepting && send_hello(c, err) != SHADE_OK) {
		talloc_free(c);
		return err && *err ? (*err)->code : SHADE_ERR_CONNECTION_LOST;
	}
	*out = c;
	return SHADE_OK;
}

shade_status shade_connect(TALLOC_CTX *mem_ctx, const char *address,
			   const shade_conn_opts *opts, shade_conn **out,
			   shade_error **err)
{
	shade_transport *t;

	SHADE_CHECK(shade_transport_connect(mem_ctx, address,
					    opts ? opts->transport : NULL, &t,
					    err));
	return shade_conn_new(mem_ctx, t, false, opts, out, err);
}

void shade_conn_stats_get(shade_conn *c, shade_conn_stats *out)
{
	shade_transport_stats ts;

	/* The transport's counters are relaxed atomics: read from any
	 * thread while others send and receive, each is a value it had. */
	shade_transport_stats_get(c->t, &ts);
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	out->exports = c->exports.n;
	out->imports = c->imports.count;
	out->export_bytes = etab_bytes(&c->exports);
	/* A malloc chunk: the block plus an 8-byte head, in 16-byte steps. */
	out->import_bytes = c->imports.cap * sizeof(struct hmap_slot) +
			    c->imports.count *
				    ((sizeof(struct proxy) + 8 + 15) & ~(size_t)15);
	out->pending = c->pending.count;
	pthread_mutex_unlock(&c->mu);
	out->frames_sent = ts.frames_sent;
	out->bytes_sent = ts.bytes_sent;
	out->frames_received = ts.frames_received;
	out->bytes_received = ts.bytes_received;
}

void shade_conn_set_timeout(shade_conn *c, int timeout_ms)
{
	pthread_mutex_lock(&c->mu);
	c->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&c->mu);
}

const char *shade_conn_side(const shade_conn *c)
{
	return c->side;
}

shade_transport *shade_conn_transport(shade_conn *c)
{
	return c->t;
}

int shade_conn_fd(const shade_conn *c)
{
	return shade_transport_fd(c->t);
}

bool shade_conn_wants_write(const shade_conn *c)
{
	return shade_transport_wants_write(c->t) ||
	       __atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0;
}

shade_status shade_conn_serve(shade_conn *c, int timeout_ms,
			      shade_error **err)
{
	shade_status st;
	bool bye;

	st = conn_wait(c, NULL, 0, false, timeout_ms, NULL, err);
	pthread_mutex_lock(&c->mu);
	bye = c->bye_seen;
	pthread_mutex_unlock(&c->mu);
	if (st == SHADE_ERR_CONNECTION_LOST && bye) {
		shade_error_clear(err);
		return SHADE_OK;
	}
	return st;
}

shade_status conn_process(shade_conn *c, unsigned max_frames, bool level,
			  shade_error **err)
{
	TALLOC_CTX *tmp = NULL;
	struct direct d;
	unsigned i;
	shade_status st = SHADE_OK;

	if (max_frames == 0)
		max_frames = 16;
	for (i = 0; i < max_frames; i++) {
		/* The loop reads onto the scratch pool the request it
		 * serves at once will use. */
		if (level && tmp == NULL)
			tmp = scratch_take(c);
		d.frame = NULL;
		st = conn_read_one(c, level ? &d : NULL, tmp, err);
		if (st != SHADE_OK)
			break;
		if (level && transport_drained(c->t)) {
			/* Nothing more to read this turn: a request handed
			 * over by the router is served at once. */
			if (d.frame != NULL) {
				serve_frame(c, tmp, d.frame, d.len, &d.m,
					    d.m.timeout_ms ? now_ms() : 0,
					    false);
				tmp = NULL;
			}
			st = SHADE_AGAIN;
			break;
		}
		if (d.frame != NULL &&
		    (d.frame = unpool(d.frame, d.len, tmp, &d.m)) != NULL) {
			pthread_mutex_lock(&c->mu);
			queue_push(c, &c->unnested, d.frame, d.len, &d.m,
				   true);
			pthread_mutex_unlock(&c->mu);
		}
	}
	scratch_give(c, tmp);
	/* Served after reading, so a CANCEL read in the same turn
	 * withdraws a request still queued. */
	serve_queued(c);
	if (st < 0)
		return st;
	/* The end of a turn is idle time: replies and releases go now
	 * (what the socket does not take waits for POLLOUT). */
	if (shade_conn_is_open(c))
		shade_conn_flush(c, NULL);
	return st;
}

shade_status shade_conn_process(shade_conn *c, unsigned max_frames,
				shade_error **err)
{
	return conn_process(c, max_frames, false, err);
}
