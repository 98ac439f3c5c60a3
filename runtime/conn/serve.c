/*
 * serve.c - serving the peer's requests: LOOKUP, NAMES, DESCRIBE, TYPEOF
 * and the object operations on our exports, errors turned into ERROR
 * replies,
 * the reusable scratch pool and reply buffer, and conn_process, which
 * reads what is readable and serves it (a loop's turn on a connection).
 *
 * Lock order: takes `mu` alone, to pop the queue; handlers (user code)
 * run with no lock held; replies go through send.c (send_mu).  The
 * scratch pool and reply buffer are claimed with atomic exchanges
 * (`scratch_busy`, `rbuf_busy`); `serving` counts handlers running
 * (atomic), so a loop leaves a connection with a handler alone.
 */
#include <pthread.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/conn.h"
#include "shade/object.h"
#include "base/buf_int.h"
#include "base/clock_int.h"
#include "base/log_int.h"
#include "codec/cbor_int.h"
#include "conn/access_int.h"
#include "conn/conn_int.h"
#include "conn/promise_int.h"
#include "conn/refs_int.h"
#include "conn/route_int.h"
#include "conn/send_int.h"
#include "conn/serve_int.h"
#include "object/shape_int.h"
#include "transport/transport_int.h"

_Thread_local struct serving *serve_current;

/* Decode one value field (references through the hooks). */
static shade_status read_value(shade_conn *c, TALLOC_CTX *mem_ctx,
			       shade_cbor_dec *d, shade_value **out,
			       shade_error **err)
{
	return shade_cbor_decode_value(mem_ctx, d, &c->copts, out, err);
}

/* Decode a call's arguments (a tuple) or keyword arguments: large strings
 * are borrowed from the request frame, which lives on mem_ctx as they do
 * (handlers borrow their arguments: they copy what they keep). */
static shade_status read_args(shade_conn *c, TALLOC_CTX *mem_ctx,
			      shade_cbor_dec *d, shade_value **out,
			      shade_error **err)
{
	struct cbor_views borrow = { NULL, 0, false, NULL };

	return cbor_decode_value_views(mem_ctx, d, &c->copts, &borrow, out,
				       err);
}

/* Read LOOKUP's name field: text (the default namespace) or the array
 * [namespace, name]; *reg is the registry it names (NULL: none), *what
 * the name the access hook sees ("namespace/name" in a namespace). */
static shade_status read_lookup_name(shade_conn *c, TALLOC_CTX *tmp,
				     shade_cbor_dec *d, shade_registry **reg,
				     char **name, char **what,
				     shade_error **err)
{
	shade_cbor_major major = SHADE_CBOR_TEXT;
	uint64_t n;
	char *ns;

	*reg = c->names;
	SHADE_CHECK(shade_cbor_peek(d, &major, err));
	if (major != SHADE_CBOR_ARRAY) {
		SHADE_CHECK(shade_cbor_read_text_dup(tmp, d, name, NULL, err));
		*what = *name;
		return SHADE_OK;
	}
	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n != 2)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "LOOKUP: a name in a namespace is "
				       "[namespace, name]");
	SHADE_CHECK(shade_cbor_read_text_dup(tmp, d, &ns, NULL, err));
	SHADE_CHECK(shade_cbor_read_text_dup(tmp, d, name, NULL, err));
	*reg = shade_registry_namespace(c->names, ns, false);
	*what = talloc_asprintf(tmp, "%s/%s", ns, *name);
	if (*what == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Serve LOOKUP: the named object as a reference, or the plain value
 * exported under the name. */
static shade_status serve_lookup(shade_conn *c, TALLOC_CTX *tmp,
				 struct msg *m, shade_value **out,
				 shade_error **err)
{
	char *name, *what;
	shade_registry *reg;
	shade_ref *obj;
	const shade_value *v;

	SHADE_CHECK(read_lookup_name(c, tmp, &m->d, &reg, &name, &what, err));
	if (!access_lookup(c, what))
		return shade_error_set(err, SHADE_ERR_PERMISSION,
				       "access denied: LOOKUP of '%s'", what);
	obj = reg ? shade_registry_get(reg, name) : NULL;
	v = obj == NULL && reg ? shade_registry_get_value(reg, name) : NULL;
	if (obj == NULL && v == NULL)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no object exported as '%s'", what);
	*out = obj ? shade_ref_value(tmp, obj) : shade_value_copy(tmp, v);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Serve NAMES (ns NULL) or NAMES_IN: a tuple of the names of the
 * default namespace or of namespace ns that the peer may look up (none
 * for a namespace that does not exist). */
static shade_status serve_names(shade_conn *c, TALLOC_CTX *tmp,
				const char *ns, shade_value **out,
				shade_error **err)
{
	shade_registry *reg =
		ns ? shade_registry_namespace(c->names, ns, false) : c->names;
	size_t i, n = shade_registry_count(reg);
	shade_value *t = shade_tuple_new(tmp, n);
	char *what;

	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *s = shade_registry_name(reg, i);

		what = ns ? talloc_asprintf(tmp, "%s/%s", ns, s) : (char *)s;
		if (what == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		if (access_lookup(c, what))
			SHADE_CHECK(shade_seq_append_str(t, s, strlen(s), err));
	}
	*out = t;
	return SHADE_OK;
}

/* Serve TYPEOF: the type object of the target, by reference. */
static shade_status serve_typeof(shade_conn *c, TALLOC_CTX *tmp,
				 struct msg *m, struct shade_ref **target,
				 shade_value **out, shade_error **err)
{
	shade_ref *t = NULL;

	SHADE_CHECK(refs_read_export(c, &m->d, SHADE_ERR_NOT_FOUND, target,
				     err));
	SHADE_CHECK(access_check(c, m->op, *target, NULL, false, err));
	SHADE_CHECK(shade_object_type(*target, &t, err));
	*out = shade_ref_value_take(tmp, t);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
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
	shade_status st;

	memset(&op, 0, sizeof(op));
	op.op = msg_obj_op(m->op);
	op.count = UINT64_MAX;
	op.conn = c;
	if (m->op == OP_INVOKE || m->op == OP_GETATTR || m->op == OP_SETATTR) {
		SHADE_CHECK(msg_read_member(tmp, &m->d, &index, &name, err));
		SHADE_CHECK(obj_resolve(target, name, index, &op.member, err));
		*member_name = obj_shape(target)->members[op.member].name;
		SHADE_CHECK(access_check(
			c, m->op, target, *member_name,
			obj_shape(target)->members[op.member].kind >=
				SHADE_MEMBER_METHOD,
			err));
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

			if (m->op == OP_INVOKE && m->kwargs_pos != 0)
				return shade_error_set(
					err, SHADE_ERR_TYPE,
					"%s.%s() takes no keyword arguments "
					"(a typed method: pass them by "
					"position)",
					obj_shape(target)->name, *member_name);
			if (m->op == OP_SETATTR &&
			    obj_shape(target)->members[op.member].kind !=
				    SHADE_MEMBER_ATTR)
				return shade_error_set(
					err, SHADE_ERR_ATTRIBUTE,
					"attribute '%s' is readonly",
					*member_name);
			msg_begin(rb, OP_RETURN, m->id, 1, false);
			mark = rb->len;
			/* Large strings of the request frame the handler
			 * writes back (it lives until the reply is sent)
			 * are referenced, not copied; others are copied:
			 * the handler's own may be gone once it returns. */
			buf_refs_enable(rb, m->d.buf, m->d.len);
			SHADE_CHECK(obj_dispatch_typed(
				target, &cx, op.member, dop,
				dop == SHADE_DISPATCH_GET ? NULL : &m->d, rb,
				err));
			if (rb->len == mark)
				shade_cbor_put_null(rb);
			*direct = true;
			return SHADE_OK;
		}
	} else {
		SHADE_CHECK(access_check(c, m->op, target, NULL, false, err));
	}
	switch (m->op) {
	case OP_INVOKE:
	case OP_CALL:
		SHADE_CHECK(read_args(c, tmp, &m->d, &v, err));
		if (shade_value_kind(v) != SHADE_TUPLE)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "arguments are not an array");
		op.args = v;
		if (m->kwargs_pos != 0) {
			shade_cbor_dec_init(&kd, m->d.buf, m->d.len);
			kd.pos = m->kwargs_pos;
			st = read_args(c, tmp, &kd, &v, err);
			m->d.pos = kd.pos; /* the last item: read */
			SHADE_CHECK(st);
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
		op.view = true; /* the reply is encoded, then freed */
		break;
	default:
		break;
	}
	return obj_perform(tmp, target, &op, &c->copts, out, err);
}

/* Give e a traceback of this hop for the peer (it asked for one): the
 * frames of e's sites, or of the hop.  A traceback e brought from
 * elsewhere is replaced.  Without memory e goes without one. */
static void attach_traceback(shade_conn *c, shade_error *e, const char *type,
			     const char *member)
{
	shade_ref *tb = NULL;

	if (obj_traceback_new(e, c->side, type, member, &tb, NULL) !=
	    SHADE_OK)
		return;
	talloc_free(e->traceback);
	e->traceback = shade_ref_value_take(e, tb);
}

/* Whether the result of request m on target crosses with the default
 * copy rule (lists and dicts by reference): the result of a method, a
 * call or an attribute, unless the caller asked for values (OPT_BYVALUE)
 * or the target is a container, whose items come out as copies. */
static bool reply_shares(const struct msg *m, struct shade_ref *target)
{
	if (m->byvalue || target == NULL || obj_moves_by_value(target))
		return false;
	return m->op == OP_INVOKE || m->op == OP_CALL || m->op == OP_GETATTR;
}

/* The target of request m: an export named by its target field, or the
 * result of an earlier request it is pipelined on (OPT_ON). */
static shade_status read_target(shade_conn *c, TALLOC_CTX *tmp,
				struct msg *m, struct shade_ref **target,
				shade_error **err)
{
	if (m->on != 0)
		return promise_target(c, tmp, m, target, err);
	return refs_read_export(c, &m->d, SHADE_ERR_NOT_FOUND, target, err);
}

/* Turn a handler failure into an ERROR message in rb, adding our frame
 * of the chain (and, when the request asked for it, a traceback). */
static void build_error(shade_conn *c, shade_buf *rb, uint64_t id,
			shade_status code, shade_error *e, const char *type,
			const char *member, bool traceback)
{
	if (e == NULL)
		shade_error_set(&e, code < 0 ? code : SHADE_ERR_RUNTIME,
				"request failed");
	shade_buf_reset(rb);
	if (e == NULL)
		return;
	if (LOG_ON(SHADE_LOG_ERRORS, 1))
		log_emit(SHADE_LOG_ERRORS, 1,
			 "%s: %s: request %llu%s%s%s%s refused: %s: %s",
			 c->side, shade_transport_address(c->t),
			 (unsigned long long)id, type && *type ? " on " : "",
			 type ? type : "", member && *member ? "." : "",
			 member ? member : "", e->name, e->message);
	shade_error_push_frame(e, c->side, type ? type : "",
			       member ? member : "");
	if (traceback && c->peer_more && c->postmortem)
		attach_traceback(c, e, type ? type : "", member ? member : "");
	msg_put_error(rb, id, e, &c->copts, c->peer_more);
	talloc_free(e);
}

/* Scratch memory for one served request: the connection's own pool when
 * no other request of it holds it (emptied after use, so its memory is
 * reused without going back to malloc), else a pool of its own. */
static TALLOC_CTX *scratch_take(shade_conn *c)
{
	if (!__atomic_exchange_n(&c->scratch_busy, true, __ATOMIC_ACQUIRE)) {
		if (c->scratch == NULL)
			/* No parent: c's children change under mu only
			 * (conn_destructor frees it). */
			c->scratch = talloc_pool(NULL, CALL_POOL_BYTES);
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
			c->rbuf = shade_buf_new(NULL, REPLY_BUF_BYTES); /* as scratch */
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

/* Serve one request frame, read at `arrived`, and send its reply, or
 * add the reply to the batch when `batch` (the server loop flushes it).
 * tmp is the request's scratch memory (taken over; NULL: taken here);
 * the frame lies on tmp, or is the caller's until this returns.  A
 * request whose deadline (its timeout counted from `arrived`) has
 * passed is answered Timeout without running. */
static void serve_frame(shade_conn *c, TALLOC_CTX *tmp, uint8_t *frame,
			size_t len, const struct msg *pm, int64_t arrived,
			bool batch)
{
	struct serving me = { c, 0, serve_current, false, NULL };
	struct refs_tally tally = { frame, 0, refs_tally };
	struct shade_ref *target = NULL;
	const char *member = NULL;
	shade_buf *rb;
	shade_value *out = NULL;
	shade_error *e = NULL;
	shade_status st;
	struct msg m;
	bool direct = false, expired = false;

	if (tmp == NULL && (tmp = scratch_take(c)) == NULL)
		return;
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
	if (st == SHADE_OK && (m.op == OP_RELEASE || m.op == OP_DROP)) {
		if (m.op == OP_DROP) /* queued behind requests */
			promise_drop(c, &m);
		else
			refs_apply_release(c, &m);
		goto done;
	}
	me.rid = m.id;
	me.mem = tmp;
	serve_current = &me;
	tally.buf = m.d.buf; /* msg_parse set it even when it failed */
	refs_tally = &tally;
	if (st == SHADE_OK && m.id != 0 && m.timeout_ms > 0 &&
	    clock_now_ms() - arrived >= (int64_t)m.timeout_ms) {
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
			st = serve_names(c, tmp, NULL, &out, &e);
			break;
		case OP_NAMES_IN: {
			char *ns = NULL;

			st = shade_cbor_read_text_dup(tmp, &m.d, &ns, NULL,
						      &e);
			if (st == SHADE_OK)
				st = serve_names(c, tmp, ns, &out, &e);
			break;
		}
		case OP_DESCRIBE:
			st = read_target(c, tmp, &m, &target, &e);
			if (st == SHADE_OK)
				st = access_check(c, m.op, target, NULL, false,
						  &e);
			if (st == SHADE_OK) {
				msg_begin(rb, OP_RETURN, m.id, 1, false);
				shape_encode(rb, obj_shape(target));
				direct = true;
			}
			break;
		case OP_TYPEOF:
			st = serve_typeof(c, tmp, &m, &target, &out, &e);
			break;
		default:
			st = read_target(c, tmp, &m, &target, &e);
			if (st == SHADE_OK)
				st = serve_object(c, tmp, &m, target, rb,
						  &direct, &member, &out, &e);
			break;
		}
	}
	serve_current = me.up;
	refs_tally = tally.up;
	/* References the request carried and nothing decoded (it did not
	 * run, failed before or while reading its fields, or had fields
	 * nobody read) go back to the peer. */
	if (st != SHADE_OK || m.d.pos < m.d.len)
		refs_drop(c, m.d.buf, m.d.len, tally.n);
	__atomic_add_fetch(expired ? &c->st.requests_expired
				   : &c->st.requests_served, 1,
			   __ATOMIC_RELAXED);
	/* A deferred request is answered through its handle (defer.c),
	 * whatever the handler returned. */
	if (m.id == 0 || me.deferred)
		goto done;
	if (st == SHADE_OK && !direct) {
		msg_begin(rb, OP_RETURN, m.id, out ? 1 : 0, false);
		/* The result's large strings are referenced: it is freed
		 * after the reply is sent, unless a pipelined call keeps
		 * the reply's bytes (promise_settle copies them). */
		if (!m.keep)
			buf_refs_enable(rb, NULL, 0);
		if (out != NULL)
			st = shade_cbor_encode_value(
				rb, out,
				reply_shares(&m, target) ? &c->copts_share
							 : &c->copts,
				&e);
	}
	if (st != SHADE_OK) {
		const char *type = "";

		/* The chain names the object, or else the request that
		 * found none ("raised at server in LOOKUP"). */
		if (target != NULL)
			obj_chain_names(target, &type, &member);
		else if (member == NULL && m.op < OP_COUNT_)
			member = msg_op_name(m.op);
		build_error(c, rb, m.id, st, e, type, member, m.traceback);
	}
	else if (rb->status != SHADE_OK)
		build_error(c, rb, m.id, rb->status, NULL, "", member,
			    m.traceback);
	e = NULL;
	/* Values are freed before the reply goes, so the RELEASEs they
	 * queue ride in front of it; one whose strings the reply
	 * references goes after it. */
	if (!buf_has_refs(rb)) {
		talloc_free(out);
		out = NULL;
	}
	if (rb->status == SHADE_OK &&
	    buf_total(rb) > shade_transport_max_frame(c->t)) {
		/* A reply over the frame limit: say so instead. */
		shade_error_set(&e, SHADE_ERR_LIMIT,
				"reply of %zu bytes over the frame limit of "
				"%zu", buf_total(rb),
				shade_transport_max_frame(c->t));
		build_error(c, rb, m.id, SHADE_ERR_LIMIT, e, "", member,
			    false);
		e = NULL;
	}
	if (m.keep) { /* calls pipelined on its result may go on */
		buf_flatten(rb); /* a typed handler's: the bytes are kept */
		promise_settle(c, m.id, rb);
	}
	if (batch)
		send_batched(c, rb, NULL);
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

void serve_item(shade_conn *c, struct frame_item *it)
{
	TALLOC_CTX *tmp = NULL;

	/* A frame of its own lives on the scratch, freed with it. */
	if (it->cache == NULL && (tmp = scratch_take(c)) != NULL)
		talloc_steal(tmp, it->frame);
	serve_frame(c, tmp, it->frame, it->len, it->parsed ? &it->m : NULL,
		    it->arrived, true);
	item_done(it);
}

bool conn_busy(shade_conn *c)
{
	return __atomic_load_n(&c->serving, __ATOMIC_ACQUIRE) > 0;
}

unsigned serve_catch_up(shade_conn *c, const struct frame_queue *q,
			unsigned max)
{
	bool sock;
	unsigned i;

	pthread_mutex_lock(&c->mu);
	sock = q->head != NULL &&
	       clock_now_ms() - q->head->arrived >= CATCH_UP_AFTER_MS;
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < max; i++) {
		if (!sock && !shade_transport_has_frame(c->t))
			break;
		if (conn_read_one(c, NULL, NULL, NULL) != SHADE_OK)
			break;
		sock = false; /* one read of the socket; then its buffer */
	}
	return i;
}

/* Serve the requests queued on c in no call, in order, until none is
 * left (each a batched reply), reading at most `budget` more frames to
 * catch up before each (the rest of the turn's frame budget).  A handler
 * that calls back on c becomes its reader and serves what comes
 * meanwhile itself. */
static void serve_queued(shade_conn *c, unsigned budget)
{
	struct frame_item *it;

	for (;;) {
		if (__atomic_load_n(&c->unnested.head, __ATOMIC_ACQUIRE) == NULL)
			return; /* a hint: the usual empty queue, no lock */
		if (budget > 0)
			budget -= serve_catch_up(c, &c->unnested, budget);
		pthread_mutex_lock(&c->mu);
		it = queue_pop(&c->unnested);
		pthread_mutex_unlock(&c->mu);
		if (it == NULL)
			return;
		serve_item(c, it);
	}
}

shade_status conn_process(shade_conn *c, unsigned max_frames, bool level,
			  shade_error **err)
{
	TALLOC_CTX *tmp = NULL;
	struct direct d;
	unsigned i = 0;
	shade_status st;
	bool reading;

	/* With a worker pool (pool.c) requests stay queued for it. */
	bool direct = level && c->pool == NULL;

	if (max_frames == 0)
		max_frames = 16;
	/* The turn's frames are read with one hand-over of the reader
	 * role, given back before anything is served. */
	st = conn_read_begin(c, err);
	reading = st == SHADE_OK;
	for (; reading && i < max_frames; i++) {
		/* The loop reads onto the scratch pool the request it
		 * serves at once will use. */
		if (direct && tmp == NULL)
			tmp = scratch_take(c);
		d.frame = NULL;
		st = conn_read_next(c, direct ? &d : NULL, tmp, err);
		if (st != SHADE_OK)
			break;
		if (level && transport_drained(c->t)) {
			/* Nothing more to read this turn: a request handed
			 * over by the router is served at once. */
			conn_read_end(c);
			reading = false;
			if (d.frame != NULL) {
				serve_frame(c, tmp, d.frame, d.len, &d.m,
					    d.m.timeout_ms ? clock_now_ms() : 0,
					    false);
				item_done(d.item);
				tmp = NULL;
			}
			st = SHADE_AGAIN;
			break;
		}
		if (d.frame == NULL)
			continue;
		/* More to read: it waits its turn in the queue. */
		if (d.item == NULL &&
		    (d.frame = route_unpool(d.frame, d.len, tmp, &d.m)) == NULL)
			continue;
		pthread_mutex_lock(&c->mu);
		if (d.item != NULL)
			queue_push_item(&c->unnested, d.item, d.len, &d.m,
					true);
		else
			queue_push(c, &c->unnested, d.frame, d.len, &d.m,
				   true);
		pthread_mutex_unlock(&c->mu);
	}
	if (reading)
		conn_read_end(c);
	scratch_give(c, tmp);
	/* Served after reading, so a CANCEL read in the same turn
	 * withdraws a request still queued. */
	if (c->pool == NULL)
		serve_queued(c, max_frames - i);
	if (st < 0)
		return st;
	/* The end of a turn is idle time: replies and releases go now
	 * (what the socket does not take waits for POLLOUT). */
	if (shade_conn_is_open(c))
		shade_conn_flush(c, NULL);
	/* After BYE: ends once its replies are out (else when a later
	 * flush writes them). */
	if (conn_bye_close(c) && !shade_conn_is_open(c) && st == SHADE_AGAIN)
		return conn_check_open(c, err);
	return st;
}

shade_status shade_conn_process(shade_conn *c, unsigned max_frames,
				shade_error **err)
{
	return conn_process(c, max_frames, false, err);
}
