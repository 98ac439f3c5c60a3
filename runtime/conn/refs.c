/*
 * refs.c - references across the connection: the shape cache, proxies
 * (objects the peer hosts) with their import table and release counting,
 * the codec hooks that turn references into tags 200/201 and back while
 * keeping the export table, and RELEASE applied to exports.
 *
 * Lock order: takes `mu` alone, for the tables; a proxy's count drops
 * without it unless it is the last (the import table forgets the proxy
 * under mu).  Objects are released (user free hooks) and a full release
 * batch flushed (send_mu) only after mu is released.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/conn.h"
#include "shade/object.h"
#include "conn/conn_int.h"
#include "conn/promise_int.h"
#include "conn/refs_int.h"
#include "object/shape_int.h"

/* RELEASE pairs queued before they are sent on their own. */
#define RELEASE_BATCH 64u

_Thread_local struct refs_tally *refs_tally;

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

/* Free a proxy whose count reached zero (its import entry is gone). */
static void proxy_free(struct proxy *p)
{
	if (conn_is_promise(p))
		talloc_free(((struct promise_ref *)p)->path);
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

/* Drop one use of rid (caller holds mu): at the last, queue its DROP
 * (the pair (0, rid) in the release queue, send.c).  True when the batch
 * is full. */
static bool unuse_locked(shade_conn *c, uint64_t rid)
{
	struct hmap_slot *sl = hmap_find(&c->uses, rid);
	uintptr_t n;

	if (sl == NULL)
		return false;
	n = (uintptr_t)sl->val;
	if (n > 1) {
		sl->val = (void *)(n - 1);
		return false;
	}
	hmap_del(&c->uses, rid);
	return c->open && queue_release(c, 0, rid);
}

void conn_promise_unuse(shade_conn *c, uint64_t rid)
{
	bool flush;

	pthread_mutex_lock(&c->mu);
	flush = unuse_locked(c, rid);
	pthread_mutex_unlock(&c->mu);
	if (flush)
		shade_conn_flush(c, NULL);
}

bool conn_can_pipeline(shade_conn *c)
{
	bool yes;

	pthread_mutex_lock(&c->mu);
	yes = c->hello_seen && (c->peer_features & HELLO_FEATURE_PIPELINE);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

/* A promise of rid's result, then the attribute path names[0..n). */
static shade_status promise_new(shade_conn *c, uint64_t rid,
				const char *const *names, size_t n,
				shade_ref **out, shade_error **err)
{
	struct promise_ref *pr = calloc(1, sizeof(*pr));
	struct hmap_slot *sl;
	size_t i;

	if (pr == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (n > 0 && (pr->path = talloc_array(NULL, char *, n)) == NULL) {
		free(pr);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		if ((pr->path[i] = talloc_strdup(pr->path, names[i])) == NULL) {
			talloc_free(pr->path);
			free(pr);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
	pr->n_path = n;
	pr->p.ref.head.ops = &proxy_ops;
	pr->p.ref.refs = 1;
	pr->p.ref.kind = REF_PROXY;
	pr->p.conn = c;
	pr->rid = rid;
	pthread_mutex_lock(&c->mu);
	sl = hmap_find(&c->uses, rid);
	if (!c->open || sl == NULL || !hmap_put(&c->promise_refs,
						(uintptr_t)pr, pr)) {
		bool open = c->open;

		pthread_mutex_unlock(&c->mu);
		talloc_free(pr->path);
		free(pr);
		if (!open)
			return conn_check_open(c, err);
		return shade_error_set(err, sl == NULL ? SHADE_ERR_INVALID
						       : SHADE_ERR_NOMEM,
				       sl == NULL ? "the result of request "
						    "%llu is not kept"
						  : "out of memory",
				       (unsigned long long)rid);
	}
	sl->val = (void *)((uintptr_t)sl->val + 1);
	pthread_mutex_unlock(&c->mu);
	obj_count(1);
	*out = &pr->p.ref;
	return SHADE_OK;
}

shade_status conn_promise_new(shade_conn *c, uint64_t rid, shade_ref **out,
			      shade_error **err)
{
	return promise_new(c, rid, NULL, 0, out, err);
}

shade_status conn_promise_path(const struct proxy *of,
			       const char *const *names, size_t n,
			       shade_ref **out, shade_error **err)
{
	const struct promise_ref *pr = (const struct promise_ref *)of;
	const char **all;
	shade_status st;
	size_t i;

	*out = NULL;
	if (of->conn == NULL)
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "connection closed");
	all = talloc_array(NULL, const char *, pr->n_path + n + 1);
	if (all == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < pr->n_path; i++)
		all[i] = pr->path[i];
	for (i = 0; i < n; i++)
		all[pr->n_path + i] = names[i];
	st = promise_new(of->conn, pr->rid, all, pr->n_path + n, out, err);
	talloc_free(all);
	return st;
}

/* The last count of promise p (connection c) is gone: forget it, drop
 * its use of the result it names. */
static void promise_release(shade_conn *c, struct promise_ref *pr)
{
	bool flush;

	pthread_mutex_lock(&c->mu);
	hmap_del(&c->promise_refs, (uintptr_t)pr);
	flush = unuse_locked(c, pr->rid);
	pthread_mutex_unlock(&c->mu);
	proxy_free(&pr->p);
	if (flush)
		shade_conn_flush(c, NULL);
}

/* Value-model release for proxies: the last count forgets the import and
 * queues a RELEASE of everything received for it. */
static void proxy_release(struct shade_ref *r)
{
	struct proxy *p = (struct proxy *)r;
	shade_conn *c = p->conn;
	bool flush = false, last;

	uint32_t n = __atomic_load_n(&r->refs, __ATOMIC_RELAXED);

	if (c != NULL && conn_is_promise(p)) {
		/* A promise is held by one thread at a time: no
		 * table finds it by a key a message carries. */
		if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
			promise_release(c, (struct promise_ref *)p);
		return;
	}
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
		uint64_t received = r->received;

		itab_del(&c->imports, p);
		talloc_free(hmap_del(&c->eager, p->eid));
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

	if (conn_is_promise(p)) {
		const struct promise_ref *pr = (const struct promise_ref *)p;
		char *s = talloc_asprintf(mem_ctx, "promise(%llu)",
					  (unsigned long long)pr->rid);
		size_t i;

		for (i = 0; s != NULL && i < pr->n_path; i++)
			s = talloc_asprintf_append(s, ".%s", pr->path[i]);
		return s;
	}
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
	bool with_shape = false, eager = false;

	if (ref->kind == REF_PROXY) {
		struct proxy *p = (struct proxy *)ref;

		if (p->conn != c)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "a proxy of another connection "
					       "cannot be passed on");
		if (conn_is_promise(p))
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "a promise can be passed only "
					       "as an argument of a call on "
					       "its connection: wait for its "
					       "result first");
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
	/* @eager values only to a peer that compiled the shape in: one
	 * that predates them refuses a fourth field (§7.2). */
	eager = obj_has_eager(ref) && hmap_get(&c->peer_known, fp) != NULL;
	pthread_mutex_unlock(&c->mu);
	shade_cbor_put_tag(b, SHADE_CBOR_TAG_SENDER_HOSTED);
	shade_cbor_put_array(b, eager ? 4 : with_shape ? 3 : 2);
	shade_cbor_put_uint(b, eid);
	shade_cbor_put_uint(b, fp);
	if (with_shape)
		shape_encode(b, d);
	else if (eager)
		shade_cbor_put_null(b);
	if (eager)
		obj_eager_put(ref, b);
	return b->status;
}

/* Read an export id at d and find that export's object (retained) in
 * *out; `code` (NotFound for targets, ProtocolError for tag 201) when
 * there is none. */
shade_status refs_read_export(shade_conn *c, shade_cbor_dec *d,
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

/* The fourth field of a tag 200: the map {member index: value} of the
 * object's @eager values, checked (uint keys) and copied (a talloc byte
 * array on NULL) into *out; an empty map gives NULL. */
static shade_status read_eager(shade_cbor_dec *d, uint8_t **out,
			       shade_error **err)
{
	size_t from = d->pos;
	uint64_t n, i, k;

	SHADE_CHECK(shade_cbor_read_map(d, &n, err));
	for (i = 0; i < n; i++) {
		SHADE_CHECK(shade_cbor_read_uint(d, &k, err));
		SHADE_CHECK(shade_cbor_skip(d, 0, err));
	}
	if (n == 0)
		return SHADE_OK;
	*out = talloc_memdup(NULL, d->buf + from, d->pos - from);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Keep the @eager values that came with a reference to import eid (the
 * newest replace the older ones); caller holds mu.  Takes eager. */
static void keep_eager(shade_conn *c, uint64_t eid, uint8_t *eager)
{
	void *old = hmap_get(&c->eager, eid);

	if (!hmap_put(&c->eager, eid, eager)) {
		talloc_free(eager); /* read with GETATTR instead */
		return;
	}
	talloc_steal(c, eager);
	talloc_free(old);
}

bool conn_proxy_eager(shade_conn *c, struct proxy *p, uint32_t member,
		      TALLOC_CTX *mem_ctx, uint8_t **out, size_t *len)
{
	shade_cbor_dec d;
	const uint8_t *eager;
	uint64_t n, i, k;
	size_t from;
	bool found = false;

	pthread_mutex_lock(&c->mu);
	eager = hmap_get(&c->eager, p->eid);
	shade_cbor_dec_init(&d, eager, eager ? talloc_get_size(eager) : 0);
	if (eager != NULL && shade_cbor_read_map(&d, &n, NULL) == SHADE_OK)
		for (i = 0; i < n && !found; i++) {
			if (shade_cbor_read_uint(&d, &k, NULL) != SHADE_OK)
				break;
			from = d.pos;
			if (shade_cbor_skip(&d, 0, NULL) != SHADE_OK)
				break;
			if (k != member)
				continue;
			*len = d.pos - from;
			*out = talloc_memdup(mem_ctx, d.buf + from, *len);
			found = *out != NULL;
		}
	pthread_mutex_unlock(&c->mu);
	return found;
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
	struct proxy *p;
	uint64_t n, eid, fp;
	uint8_t *eager = NULL;
	shade_status st;

	if (tag == SHADE_CBOR_TAG_RECEIVER_HOSTED)
		return refs_read_export(c, d, SHADE_ERR_PROTOCOL, out, err);
	if (tag == SHADE_CBOR_TAG_PROMISE)
		return promise_arg(c, mem_ctx, d, out, err);
	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n < 2 || n > 4)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "reference 200: %llu fields",
				       (unsigned long long)n);
	SHADE_CHECK(shade_cbor_read_uint(d, &eid, err));
	SHADE_CHECK(shade_cbor_read_uint(d, &fp, err));
	if (eid == 0)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "reference 200 with export id 0");
	if (n == 4 && shade_cbor_at_null(d))
		SHADE_CHECK(shade_cbor_read_null(d, err));
	else if (n >= 3)
		SHADE_CHECK(shape_decode(NULL, d, &desc, err));
	if (n == 4) {
		st = read_eager(d, &eager, err);
		if (st != SHADE_OK) {
			talloc_free(desc);
			return st;
		}
	}
	pthread_mutex_lock(&c->mu);
	if (desc != NULL) {
		/* Cache under the fingerprint the sender named. */
		desc->fingerprint = fp;
		conn_cache_shape(c, desc);
	}
	shape = conn_shape(c, fp);
	p = itab_get(&c->imports, eid);
	if (p != NULL) {
		__atomic_add_fetch(&p->ref.refs, 1, __ATOMIC_RELAXED);
		if (p->ref.received == UINT16_MAX) {
			/* The count no longer fits: give back all but this
			 * one now (§6.1); the batch goes with the next
			 * frame. */
			if (c->open)
				queue_release(c, eid, UINT16_MAX);
			p->ref.received = 1;
		} else {
			p->ref.received++;
		}
		if (p->ref.shape == NULL ||
		    (shape != NULL && p->ref.shape->fingerprint != fp))
			p->ref.shape = shape;

	} else if (c->imports.n >= c->max_imports) {
		pthread_mutex_unlock(&c->mu);
		talloc_free(eager);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%zu proxies on this connection",
				       c->max_imports);
	} else {
		p = calloc(1, sizeof(*p));
		if (p != NULL)
			p->eid = eid;
		if (p == NULL || !itab_add(&c->imports, p)) {
			free(p);
			talloc_free(eager);
			pthread_mutex_unlock(&c->mu);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
		obj_count(1);
		p->ref.head.ops = &proxy_ops;
		p->ref.refs = 1;
		p->ref.kind = REF_PROXY;
		p->ref.shape = shape;
		p->ref.received = 1;
		p->conn = c;
	}
	if (eager != NULL)
		keep_eager(c, eid, eager);
	else if (n == 4) /* none now: forget older ones */
		talloc_free(hmap_del(&c->eager, eid));
	pthread_mutex_unlock(&c->mu);
	if (refs_tally != NULL && refs_tally->buf == d->buf)
		refs_tally->n++;
	*out = &p->ref;
	return SHADE_OK;
}

/* Share hook (copts_share): a bare list or dict crosses by reference.
 * A container object holding a copy of it is made and exported like any
 * local object, so it lives while the peer holds the reference and is
 * freed when the peer releases it. */
static shade_status hook_share(void *udata, shade_buf *b, const shade_value *v,
			       shade_error **err)
{
	shade_value *copy = shade_value_copy(NULL, v);
	shade_ref *r;
	shade_status st;

	if (copy == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	SHADE_CHECK(shade_container_new(copy, &r, err)); /* takes copy */
	st = hook_encode(udata, b, r, err);
	shade_ref_release(r);
	return st;
}

/* Write promise pr as tag 206 [rid, name...] into the fields of rq
 * (doc/protocol.md §13), noting its result in rq->named with one use
 * taken. */
static shade_status put_promise(struct outreq *rq, shade_buf *b,
				const struct promise_ref *pr, shade_error **err)
{
	shade_conn *c = rq->c;
	struct hmap_slot *sl = NULL;
	bool takes, known = false;
	size_t i;

	if (b != rq->b)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "a promise can be passed only as an "
				       "argument of a call, not inside a "
				       "value shared by reference");
	pthread_mutex_lock(&c->mu);
	takes = c->hello_seen &&
		(c->peer_features & HELLO_FEATURE_PROMISE_ARGS);
	for (i = 0; i < rq->n_named && !known; i++)
		known = rq->named[i] == pr->rid;
	if (takes && !known && rq->n_named < REQ_MAX_NAMED &&
	    (sl = hmap_find(&c->uses, pr->rid)) != NULL) {
		sl->val = (void *)((uintptr_t)sl->val + 1);
		rq->named[rq->n_named++] = pr->rid;
	}
	pthread_mutex_unlock(&c->mu);
	if (!takes)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "the peer takes no promise as an "
				       "argument (HELLO feature 64): wait "
				       "for its result first");
	if (!known && sl == NULL)
		return rq->n_named == REQ_MAX_NAMED
			       ? shade_error_set(err, SHADE_ERR_LIMIT,
						 "more than %d promises in "
						 "the arguments of one call",
						 REQ_MAX_NAMED)
			       : shade_error_set(err, SHADE_ERR_INVALID,
						 "the result of request %llu "
						 "is not kept",
						 (unsigned long long)pr->rid);
	shade_cbor_put_tag(b, SHADE_CBOR_TAG_PROMISE);
	shade_cbor_put_array(b, 1 + pr->n_path);
	shade_cbor_put_uint(b, pr->rid);
	for (i = 0; i < pr->n_path; i++)
		shade_cbor_put_cstr(b, pr->path[i]);
	return b->status;
}

/* Encode hook of a request's fields (udata: the outreq): a promise of
 * its connection goes as tag 206, anything else as hook_encode. */
static shade_status req_encode(void *udata, shade_buf *b,
			       struct shade_ref *ref, shade_error **err)
{
	struct outreq *rq = udata;
	struct proxy *p = (struct proxy *)ref;

	if (ref->kind == REF_PROXY && p->conn == rq->c && conn_is_promise(p))
		return put_promise(rq, b, (const struct promise_ref *)p, err);
	return hook_encode(rq->c, b, ref, err);
}

/* Share hook of a request's fields (udata: the outreq). */
static shade_status req_share(void *udata, shade_buf *b,
			      const shade_value *v, shade_error **err)
{
	return hook_share(((struct outreq *)udata)->c, b, v, err);
}

const shade_cbor_opts *conn_req_copts(struct outreq *rq, bool share)
{
	shade_conn *c = rq->c;

	if (!rq->enc_ready) {
		rq->enc.hooks = c->hooks;
		rq->enc.hooks.encode_ref = req_encode;
		rq->enc.hooks.decode_ref = NULL; /* encoding only */
		rq->enc.hooks.udata = rq;
		/* Field by field: typed_arrays is set by the reader thread
		 * on HELLO (read atomically). */
		memset(&rq->enc.copts, 0, sizeof(rq->enc.copts));
		rq->enc.copts.max_depth = c->copts.max_depth;
		rq->enc.copts.max_len = c->copts.max_len;
		rq->enc.copts.max_items = c->copts.max_items;
		rq->enc.copts.zero_copy = c->copts.zero_copy;
		rq->enc.copts.hooks = &rq->enc.hooks;
		rq->enc.copts.typed_arrays = __atomic_load_n(
			&c->copts.typed_arrays, __ATOMIC_RELAXED);
		rq->enc.share = rq->enc.copts;
		rq->enc.share.share = req_share;
		rq->enc_ready = true;
	}
	return share ? &rq->enc.share : &rq->enc.copts;
}

void conn_req_unname(struct outreq *rq)
{
	bool flush = false;
	size_t i;

	if (rq->n_named == 0 && !rq->on_held)
		return;
	pthread_mutex_lock(&rq->c->mu);
	for (i = 0; i < rq->n_named; i++)
		flush |= unuse_locked(rq->c, rq->named[i]);
	if (rq->on_held)
		flush |= unuse_locked(rq->c, rq->o.on);
	rq->n_named = 0;
	rq->on_held = false;
	pthread_mutex_unlock(&rq->c->mu);
	if (flush)
		shade_conn_flush(rq->c, NULL);
}

/* Install the reference hooks in c's codec options (udata: c), and the
 * sharing options beside them. */
void refs_init(shade_conn *c)
{
	c->hooks.encode_ref = hook_encode;
	c->hooks.decode_ref = hook_decode;
	c->hooks.udata = c;
	c->copts.hooks = &c->hooks;
	c->copts_share = c->copts;
	c->copts_share.share = hook_share;
}

/* Apply a RELEASE: subtract counts; drop exports reaching zero. */
void refs_apply_release(shade_conn *c, struct msg *m)
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
	lost_release_objs(c, objs, n);
	talloc_free(objs);
}

/* Queue one more reference of eid for RELEASE, added to a pair already
 * queued for it when there is one; caller holds mu.  True when the
 * batch is full. */
static bool queue_release_one(shade_conn *c, uint64_t eid)
{
	size_t i;

	for (i = 0; i < c->n_rel; i += 2)
		if (c->rel[i] == eid) {
			c->rel[i + 1]++;
			return false;
		}
	return queue_release(c, eid, 1);
}

bool refs_present(const uint8_t *buf, size_t len)
{
	shade_cbor_dec d;
	shade_cbor_major mj;
	uint64_t arg;
	unsigned k;

	/* The heads tell, string contents skipped in one step each, so a
	 * large string costs nothing.  After 32 heads (a long list) one
	 * vector scan of the rest first: tag 200's head is 0xd8 0xc8, so
	 * no 0xd8 byte there rules it out. */
	if (buf == NULL || len < 2)
		return false;
	if (len <= 256 && memchr(buf, 0xd8, len - 1) == NULL)
		return false; /* a small message: one scan is cheaper */
	shade_cbor_dec_init(&d, buf, len);
	for (k = 0; !shade_cbor_dec_done(&d); k++) {
		if (k == 32 && memchr(buf + d.pos, 0xd8, len - d.pos) == NULL)
			return false;
		if (shade_cbor_read_head(&d, &mj, &arg, NULL) != SHADE_OK)
			return true; /* malformed: assume it may */
		if ((mj == SHADE_CBOR_BYTES || mj == SHADE_CBOR_TEXT) &&
		    arg != SHADE_CBOR_INDEFINITE) {
			if (arg > shade_cbor_dec_remaining(&d))
				return true;
			d.pos += arg;
		} else if (mj == SHADE_CBOR_TAG &&
			   arg == SHADE_CBOR_TAG_SENDER_HOSTED) {
			return true;
		}
	}
	return false;
}

/* The tag-200 references in buf[0, len) are found by walking its heads
 * in byte order: every data item starts with one, and the content of a
 * string is the only thing that is not a head. */
void refs_drop(shade_conn *c, const uint8_t *buf, size_t len, size_t skip)
{
	shade_cbor_dec d;
	shade_cbor_major mj;
	uint64_t arg, n, eid;
	bool flush = false;

	if (!refs_present(buf, len))
		return; /* the usual case: no tag 200 at all */
	shade_cbor_dec_init(&d, buf, len);
	pthread_mutex_lock(&c->mu);
	while (!shade_cbor_dec_done(&d) &&
	       shade_cbor_read_head(&d, &mj, &arg, NULL) == SHADE_OK) {
		if ((mj == SHADE_CBOR_BYTES || mj == SHADE_CBOR_TEXT) &&
		    arg != SHADE_CBOR_INDEFINITE) {
			if (arg > shade_cbor_dec_remaining(&d))
				break;
			d.pos += arg;
			continue;
		}
		if (mj != SHADE_CBOR_TAG || arg != SHADE_CBOR_TAG_SENDER_HOSTED)
			continue;
		if (shade_cbor_read_array(&d, &n, NULL) != SHADE_OK ||
		    (n != 2 && n != 3) ||
		    shade_cbor_read_uint(&d, &eid, NULL) != SHADE_OK || eid == 0)
			continue;
		if (skip > 0) {
			skip--; /* counted by the codec: its proxy gives it back */
			continue;
		}
		if (c->open)
			flush |= queue_release_one(c, eid);
	}
	pthread_mutex_unlock(&c->mu);
	if (flush)
		shade_conn_flush(c, NULL);
}
