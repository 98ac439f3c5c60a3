/*
 * promise.c - results kept for pipelined calls on the serving side
 * (promise_int.h, doc/protocol.md §13): registered as a request with
 * OPT_KEEP arrives, settled from the reply its serving built, named by
 * later requests (OPT_ON), forgotten on DROP or at the end.
 *
 * Lock order: takes `mu` alone, for the table and the queues; objects
 * are released and errors read after it is released.
 */
#include <pthread.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/object.h"
#include "conn/access_int.h"
#include "conn/conn_int.h"
#include "conn/promise_int.h"

/* A result the peer asked us to keep (a talloc child of its connection). */
struct promise {
	uint64_t rid;              /* the peer's request id */
	bool settled;              /* its request was answered */
	bool dropped;              /* DROP came before it settled: forget
				    * it when it does */
	struct shade_ref *obj;     /* settled with an object we host (one
				    * count), or NULL */
	uint8_t *error;            /* settled with this ERROR message (a
				    * child), or NULL */
	size_t error_len;          /* its length */
	const char *what;          /* settled with something else: what it
				    * is, for the TypeError of a call on it */
	struct frame_queue parked; /* requests naming it that came before
				    * it settled, in order */
};

bool promise_expect(shade_conn *c, uint64_t rid)
{
	struct promise *pr;

	if (rid == 0 || c->promises.count >= c->max_pending)
		return false;
	pr = talloc_zero(c, struct promise);
	if (pr == NULL)
		return false;
	pr->rid = rid;
	/* A request id the peer reuses replaces what it named before. */
	if (hmap_get(&c->promises, rid) != NULL || !hmap_put(&c->promises,
							      rid, pr)) {
		talloc_free(pr);
		return false;
	}
	return true;
}

/* The first promise not settled yet that request m names, by OPT_ON
 * or OPT_AWAIT, or NULL (caller holds mu). */
static struct promise *waits_on(shade_conn *c, const struct msg *m)
{
	struct promise *pr = NULL;
	shade_cbor_dec d;
	uint64_t n = 0, i, rid;

	if (m->on != 0)
		pr = hmap_get(&c->promises, m->on);
	if (pr != NULL && !pr->settled)
		return pr;
	if (m->await_pos == 0)
		return NULL;
	/* [rid...], checked by msg_parse */
	shade_cbor_dec_init(&d, m->d.buf, m->d.len);
	d.pos = m->await_pos;
	shade_cbor_read_array(&d, &n, NULL);
	for (i = 0; i < n; i++) {
		if (shade_cbor_read_uint(&d, &rid, NULL) != SHADE_OK)
			break;
		pr = hmap_get(&c->promises, rid);
		if (pr != NULL && !pr->settled)
			return pr;
	}
	return NULL;
}

bool promise_parked(shade_conn *c, const struct msg *m)
{
	if (m->on == 0 && m->await_pos == 0)
		return false;
	return waits_on(c, m) != NULL;
}

bool promise_park(shade_conn *c, const struct msg *m, uint8_t *frame,
		  size_t len)
{
	struct promise *pr = waits_on(c, m);

	return queue_push(pr, &pr->parked, frame, len, m, true);
}

struct frame_item *promise_unpark(shade_conn *c, uint64_t rid)
{
	struct frame_item *it = NULL;
	struct promise *pr;
	size_t pos = 0;

	while (it == NULL &&
	       hmap_next(&c->promises, &pos, NULL, (void **)&pr))
		if (!pr->settled)
			it = queue_remove(&pr->parked, rid);
	return it;
}

/* Append item it to q (caller holds mu), moved onto owner, counted
 * (queue_len: a worker pool stops reading a connection whose queue
 * looks full). */
static void queue_append(TALLOC_CTX *owner, struct frame_queue *q,
			 struct frame_item *it)
{
	talloc_steal(owner, it);
	it->next = NULL;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		__atomic_store_n(&q->head, it, __ATOMIC_RELEASE);
	q->tail = it;
	queue_count(q, 1);
}

/* Move the requests parked on pr to the queue each nests in: the call
 * of ours it names when that still waits, else the connection's (caller
 * holds mu). */
static void unpark(shade_conn *c, struct promise *pr)
{
	struct promise *next;
	struct frame_item *it;
	struct pending *p;

	while ((it = queue_pop(&pr->parked)) != NULL) {
		next = it->m.await_pos != 0 ? waits_on(c, &it->m) : NULL;
		if (next != NULL && next != pr) { /* it waits on more */
			queue_append(next, &next->parked, it);
			continue;
		}
		p = it->m.in != 0 ? hmap_get(&c->pending, it->m.in) : NULL;
		if (p != NULL && !p->done)
			queue_append(p->owner, &p->nested, it);
		else
			queue_append(c, &c->unnested, it);
	}
	conn_wake_all(c);
}

/* What a RETURN value at d is, when it is no object of ours: a short
 * text for the TypeError of a call on it. */
static const char *return_what(shade_cbor_dec *d, uint64_t *eid)
{
	shade_cbor_dec probe = *d;
	shade_cbor_major major = SHADE_CBOR_UINT;
	uint64_t tag, n;

	*eid = 0;
	if (shade_cbor_peek(&probe, &major, NULL) != SHADE_OK)
		return "none";
	if (major != SHADE_CBOR_TAG)
		return shade_cbor_at_null(&probe) ? "none" : "a value";
	if (shade_cbor_read_tag(&probe, &tag, NULL) != SHADE_OK)
		return "a value";
	if (tag == SHADE_CBOR_TAG_RECEIVER_HOSTED)
		return "an object the caller hosts";
	if (tag != SHADE_CBOR_TAG_SENDER_HOSTED ||
	    shade_cbor_read_array(&probe, &n, NULL) != SHADE_OK || n < 2 ||
	    shade_cbor_read_uint(&probe, eid, NULL) != SHADE_OK)
		return "a value";
	return NULL;
}

void promise_settle(shade_conn *c, uint64_t rid, const shade_buf *reply)
{
	struct promise *pr;
	struct shade_ref *obj = NULL, *old = NULL;
	struct export_entry *e;
	const char *what = "none";
	uint8_t *error = NULL;
	uint64_t eid = 0;
	struct msg m;

	if (reply->status != SHADE_OK ||
	    msg_parse(reply->data, reply->len, &m, NULL) != SHADE_OK) {
		m.op = OP_RETURN; /* settled all the same: "none" */
		m.nfields = 0;
	}
	pthread_mutex_lock(&c->mu);
	pr = hmap_get(&c->promises, rid);
	if (pr == NULL || pr->settled) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (m.op == OP_ERROR) {
		error = talloc_memdup(pr, reply->data, reply->len);
		what = error != NULL ? NULL : "a failure";
	} else if (m.nfields == 1) {
		what = return_what(&m.d, &eid);
	}
	if (what == NULL && error == NULL) {
		/* The object the reply hands out: its export is there (the
		 * reply made it). */
		e = etab_by_eid(&c->exports, eid);
		if (e != NULL)
			obj = shade_ref_retain(e->obj);
		else
			what = "an object no longer exported";
	}
	pr->settled = true;
	pr->obj = obj;
	pr->error = error;
	pr->error_len = error != NULL ? reply->len : 0;
	pr->what = what;
	unpark(c, pr);
	if (pr->dropped) {
		hmap_del(&c->promises, rid);
		old = pr->obj;
		talloc_free(pr);
	}
	pthread_mutex_unlock(&c->mu);
	if (old != NULL)
		shade_ref_release(old);
}

void promise_cancelled(shade_conn *c, uint64_t rid)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	shade_error *e = NULL;

	if (b == NULL)
		return;
	shade_error_set(&e, SHADE_ERR_CANCELLED,
			"request %llu was cancelled before it ran",
			(unsigned long long)rid);
	if (e != NULL) {
		shade_error_push_frame(e, c->side, "", "");
		msg_put_error(b, rid, e, NULL, false);
		promise_settle(c, rid, b);
	}
	talloc_free(e);
	talloc_free(b);
}

/* The error a request naming promise pr gets: its ERROR read again
 * (the arguments with no references), its chain kept. */
static shade_status promise_error(const struct promise *pr, shade_error **err)
{
	struct msg m;
	shade_error *e = NULL;
	shade_status code;

	if (msg_parse(pr->error, pr->error_len, &m, NULL) != SHADE_OK ||
	    msg_read_error(&m, NULL, &e, NULL) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_RUNTIME,
				       "request %llu failed",
				       (unsigned long long)pr->rid);
	code = e->code;
	if (err != NULL && *err == NULL)
		*err = e;
	else
		talloc_free(e);
	return code;
}

/* Read attribute name of obj (a path step): the object it holds,
 * retained in *out. */
static shade_status path_step(shade_conn *c, TALLOC_CTX *tmp,
			      struct shade_ref *obj, const char *name,
			      struct shade_ref **out, shade_error **err)
{
	struct obj_op op;
	shade_value *v = NULL;
	shade_status st;

	memset(&op, 0, sizeof(op));
	op.op = OBJ_OP_GETATTR;
	op.count = UINT64_MAX;
	op.conn = c;
	SHADE_CHECK(obj_resolve(obj, name, 0, &op.member, err));
	SHADE_CHECK(access_check(c, OP_GETATTR, obj, name,
				 obj_shape(obj)->members[op.member].kind >=
					 SHADE_MEMBER_METHOD,
				 err));
	st = obj_perform(tmp, obj, &op, NULL, &v, err);
	if (st == SHADE_OK &&
	    (v == NULL || shade_value_kind(v) != SHADE_REF ||
	     shade_ref_is_proxy(shade_value_as_ref(v))))
		st = shade_error_set(err, SHADE_ERR_TYPE,
				     "'%s' of a kept result is not an object "
				     "this peer hosts", name);
	if (st == SHADE_OK)
		*out = shade_ref_retain(shade_value_as_ref(v));
	talloc_free(v);
	return st;
}

/* The object kept for the peer's request rid, retained in *obj; the
 * kept failure, or `absent` (NotFound for a target, ProtocolError for
 * an argument) when nothing is kept, TypeError when it is no object.
 * `what` names the use for messages. */
static shade_status kept_object(shade_conn *c, uint64_t rid,
				shade_status absent, const char *what,
				struct shade_ref **obj, shade_error **err)
{
	struct promise *pr;
	const char *is = NULL;

	*obj = NULL;
	pthread_mutex_lock(&c->mu);
	pr = hmap_get(&c->promises, rid);
	if (pr != NULL && pr->settled && pr->error != NULL) {
		pthread_mutex_unlock(&c->mu);
		return promise_error(pr, err); /* settled: never changes */
	}
	if (pr != NULL && pr->settled && pr->obj != NULL)
		*obj = shade_ref_retain(pr->obj);
	else if (pr != NULL)
		is = pr->settled ? pr->what : NULL;
	pthread_mutex_unlock(&c->mu);
	if (pr != NULL && *obj == NULL && is == NULL)
		return shade_error_set(err, absent,
				       "%sthe result of request %llu is not "
				       "there yet (option 15 does not name "
				       "it)", what, (unsigned long long)rid);
	if (pr == NULL)
		return shade_error_set(err, absent,
				       "%sno result kept for request %llu",
				       what, (unsigned long long)rid);
	if (*obj == NULL)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%sthe result of request %llu is %s, "
				       "not an object",
				       what, (unsigned long long)rid, is);
	return SHADE_OK;
}

/* Read the n - 1 names at d (the rest of [rid, name...]) on *obj in
 * turn: *obj becomes the last object read (its count moved on); on
 * failure *obj is released and NULL. */
static shade_status walk_path(shade_conn *c, TALLOC_CTX *tmp,
			      shade_cbor_dec *d, uint64_t n,
			      struct shade_ref **obj, shade_error **err)
{
	struct shade_ref *next = NULL;
	shade_status st = SHADE_OK;
	uint64_t i;
	char *name = NULL;

	for (i = 1; i < n && st == SHADE_OK; i++) {
		st = shade_cbor_read_text_dup(tmp, d, &name, NULL, err);
		if (st == SHADE_OK)
			st = path_step(c, tmp, *obj, name, &next, err);
		talloc_free(name);
		name = NULL;
		if (st == SHADE_OK) {
			shade_ref_release(*obj);
			*obj = next;
		}
	}
	if (st != SHADE_OK) {
		shade_ref_release(*obj);
		*obj = NULL;
	}
	return st;
}

shade_status promise_target(shade_conn *c, TALLOC_CTX *tmp, struct msg *m,
			    struct shade_ref **out, shade_error **err)
{
	shade_cbor_dec d;
	uint64_t target, n, rid;

	*out = NULL;
	SHADE_CHECK(shade_cbor_read_uint(&m->d, &target, err));
	SHADE_CHECK(kept_object(c, m->on, SHADE_ERR_NOT_FOUND, "", out, err));
	/* The path: [rid, name...], checked by msg_parse. */
	shade_cbor_dec_init(&d, m->d.buf, m->d.len);
	d.pos = m->on_pos;
	shade_cbor_read_array(&d, &n, NULL);
	shade_cbor_read_uint(&d, &rid, NULL);
	return walk_path(c, tmp, &d, n, out, err);
}

shade_status promise_arg(shade_conn *c, TALLOC_CTX *tmp, shade_cbor_dec *d,
			 struct shade_ref **out, shade_error **err)
{
	uint64_t n, rid;

	*out = NULL;
	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE || n < 1)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "tag 206 is not over [rid, name...]");
	SHADE_CHECK(shade_cbor_read_uint(d, &rid, err));
	SHADE_CHECK(kept_object(c, rid, SHADE_ERR_PROTOCOL, "tag 206: ", out,
				err));
	return walk_path(c, tmp, d, n, out, err);
}

/* Forget promise pr (caller holds mu); its object, if any, is handed
 * back for release after the lock. */
static struct shade_ref *forget(shade_conn *c, struct promise *pr)
{
	struct shade_ref *obj = pr->obj;

	hmap_del(&c->promises, pr->rid);
	talloc_free(pr); /* requests still parked go with it */
	return obj;
}

void promise_drop(shade_conn *c, struct msg *m)
{
	struct shade_ref *objs[16];
	struct promise *pr;
	uint64_t i, rid;
	size_t n = 0, k;

	for (i = 0; i < m->nfields; i++) {
		if (shade_cbor_read_uint(&m->d, &rid, NULL) != SHADE_OK)
			break;
		pthread_mutex_lock(&c->mu);
		pr = hmap_get(&c->promises, rid);
		if (pr != NULL && !pr->settled)
			pr->dropped = true;
		else if (pr != NULL)
			objs[n++] = forget(c, pr);
		pthread_mutex_unlock(&c->mu);
		if (n == 16 || i + 1 == m->nfields) {
			for (k = 0; k < n; k++)
				if (objs[k] != NULL)
					shade_ref_release(objs[k]);
			n = 0;
		}
	}
	for (k = 0; k < n; k++)
		if (objs[k] != NULL)
			shade_ref_release(objs[k]);
}

void promise_clear(shade_conn *c)
{
	struct promise *pr;
	struct shade_ref **objs;
	size_t pos = 0, n = 0, k;

	pthread_mutex_lock(&c->mu);
	objs = talloc_array(NULL, struct shade_ref *, c->promises.count + 1);
	while (hmap_next(&c->promises, &pos, NULL, (void **)&pr)) {
		if (objs != NULL && pr->obj != NULL)
			objs[n++] = pr->obj;
		talloc_free(pr);
	}
	hmap_clear(&c->promises);
	pthread_mutex_unlock(&c->mu);
	for (k = 0; k < n; k++)
		shade_ref_release(objs[k]);
	talloc_free(objs);
}
