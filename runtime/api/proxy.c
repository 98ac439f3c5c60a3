/*
 * proxy.c - the API on references: member access, calls, containers,
 * discovery, futures and the typed request API for generated stubs.
 * Proxies send one request per operation through the connection layer; local
 * objects are served directly by the object layer (obj_perform, dispatch.c).
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

/* A request field, written in order after op and id. */
struct field {
	enum { FLD_UINT, FLD_TEXT, FLD_VALUE, FLD_ARGS, FLD_NULL } kind;
	uint64_t u;            /* FLD_UINT */
	const char *s;         /* FLD_TEXT */
	const shade_value *v;  /* FLD_VALUE, FLD_ARGS (NULL: empty array) */
};

/* The proxy behind r, after checking its connection is usable. */
static shade_status live_proxy(shade_ref *r, struct proxy **out,
			       shade_error **err)
{
	struct proxy *p = (struct proxy *)r;

	*out = p;
	if (p->conn == NULL)
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "the connection of this proxy is gone");
	return conn_check_open(p->conn, err);
}

/* Write the fields of a request. */
static shade_status put_fields(shade_conn *c, shade_buf *b,
			       const struct field *f, unsigned nf,
			       shade_error **err)
{
	unsigned i;

	for (i = 0; i < nf; i++) {
		switch (f[i].kind) {
		case FLD_UINT:
			shade_cbor_put_uint(b, f[i].u);
			break;
		case FLD_TEXT:
			shade_cbor_put_cstr(b, f[i].s);
			break;
		case FLD_NULL:
			shade_cbor_put_null(b);
			break;
		case FLD_ARGS:
			if (f[i].v == NULL) {
				shade_cbor_put_array(b, 0);
				break;
			}
			if (!shade_value_is_seq(f[i].v))
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "arguments must be a "
						       "tuple");
			/* fall through */
		case FLD_VALUE:
			SHADE_CHECK(shade_cbor_encode_value(b, f[i].v,
							    &c->copts, err));
			break;
		}
	}
	return b->status;
}

/* Wait for rq's reply; on success *d is at the value (has false: none).
 * A timeout withdraws the request. */
static shade_status await_reply(struct outreq *rq, shade_cbor_dec *d,
				bool *has, shade_error **err)
{
	shade_status st;
	struct pending *p = rq->p;

	st = conn_wait(rq->c, &p, 1, false, rq->timeout_ms, NULL, err);
	if (st != SHADE_OK) {
		conn_abandon(p);
		return st;
	}
	return conn_take_reply(rq->c, p, d, has, err);
}

/* One request/reply: send op with fields to c and decode the result
 * onto mem_ctx (a none box when the reply has no value). */
static shade_status roundtrip(TALLOC_CTX *mem_ctx, shade_conn *c, unsigned op,
			      const struct field *f, unsigned nf,
			      const shade_value *kwargs,
			      const shade_call_opts *co, shade_value **out,
			      shade_error **err)
{
	TALLOC_CTX *tmp = talloc_pool(NULL, CALL_POOL_BYTES);
	struct outreq rq;
	shade_cbor_dec d;
	bool has = false, oneway = co != NULL && co->oneway;
	shade_status st;
	shade_value *v = NULL;

	if (tmp == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = conn_req_init(&rq, c, tmp, op, nf, kwargs,
			   co ? co->timeout_ms : 0, oneway, err);
	if (st == SHADE_OK)
		st = put_fields(c, rq.b, f, nf, err);
	if (st == SHADE_OK)
		st = conn_req_send(&rq, tmp, err);
	if (st == SHADE_OK && !oneway)
		st = await_reply(&rq, &d, &has, err);
	if (st == SHADE_OK && has)
		st = shade_cbor_decode_value(mem_ctx, &d, &c->copts, &v, err);
	if (st == SHADE_OK && v == NULL && (v = shade_none(mem_ctx)) == NULL)
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	talloc_free(tmp);
	if (st != SHADE_OK)
		return st;
	if (out != NULL)
		*out = v;
	else
		talloc_free(v);
	return SHADE_OK;
}

/* The member field for name on proxy p: its index when the shape is
 * known (AttributeError locally when absent), else the name. */
static shade_status member_field(struct proxy *p, const char *name,
				 struct field *f, shade_error **err)
{
	uint32_t idx;

	if (name == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "member name is NULL");
	if (p->ref.shape == NULL) {
		f->kind = FLD_TEXT;
		f->s = name;
		return SHADE_OK;
	}
	SHADE_CHECK(obj_resolve(&p->ref, name, 0, &idx, err));
	f->kind = FLD_UINT;
	f->u = idx;
	return SHADE_OK;
}

/* Perform a value-level operation on a local object. */
static shade_status local_op(TALLOC_CTX *mem_ctx, shade_ref *r,
			     struct obj_op *op, const char *name,
			     shade_value **out, shade_error **err)
{
	shade_value *v = NULL;

	if (name != NULL)
		SHADE_CHECK(obj_resolve(r, name, 0, &op->member, err));
	SHADE_CHECK(obj_perform(mem_ctx, r, op, NULL, &v, err));
	if (v == NULL && out != NULL && (v = shade_none(mem_ctx)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (out != NULL)
		*out = v;
	else
		talloc_free(v);
	return SHADE_OK;
}

/* INVOKE (member name) or CALL on a local object; NULL args: none. */
static shade_status local_call(TALLOC_CTX *mem_ctx, shade_ref *r,
			       unsigned opcode, const char *name,
			       const shade_value *args,
			       const shade_value *kwargs, shade_value **out,
			       shade_error **err)
{
	struct obj_op op = { .op = msg_obj_op(opcode), .args = args,
			      .kwargs = kwargs };
	shade_value *empty = NULL;
	shade_status st;

	if (args == NULL) {
		empty = shade_tuple_new(NULL, 0);
		if (empty == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		op.args = empty;
	}
	st = local_op(mem_ctx, r, &op, name, out, err);
	talloc_free(empty);
	return st;
}

/* Check the common arguments. */
static shade_status check_ref(const shade_ref *r, shade_error **err)
{
	if (r == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "reference is NULL");
	return SHADE_OK;
}

/* Take the ref out of a result value (one count for the caller). */
static shade_status take_ref(shade_value *v, shade_ref **out,
			     shade_error **err)
{
	if (shade_value_kind(v) != SHADE_REF) {
		talloc_free(v);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "reply is not a reference");
	}
	*out = shade_ref_retain(shade_value_as_ref(v));
	talloc_free(v);
	return SHADE_OK;
}

/* ------------------------------------------------------------ discovery */

shade_status shade_lookup(shade_conn *c, const char *name, shade_ref **out,
			  shade_error **err)
{
	struct field f = { FLD_TEXT, 0, name, NULL };
	shade_value *v;

	if (c == NULL || name == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "lookup: NULL argument");
	SHADE_CHECK(roundtrip(NULL, c, OP_LOOKUP, &f, 1, NULL, NULL, &v, err));
	return take_ref(v, out, err);
}

/* Copy the str items of a sequence into a talloc array of C strings. */
static shade_status strings_of(TALLOC_CTX *mem_ctx, const shade_value *seq,
			       char ***names, size_t *n, shade_error **err)
{
	size_t i, len = shade_seq_len(seq);
	char **a = talloc_zero_array(mem_ctx, char *, len + 1);

	if (a == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		a[i] = shade_value_strdup(a, shade_seq_at(seq, i));
		if (a[i] == NULL) {
			talloc_free(a);
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "name is not text");
		}
	}
	*names = a;
	*n = len;
	return SHADE_OK;
}

shade_status shade_names(TALLOC_CTX *mem_ctx, shade_conn *c, char ***names,
			 size_t *n, shade_error **err)
{
	shade_value *v;
	shade_status st;

	SHADE_CHECK(roundtrip(NULL, c, OP_NAMES, NULL, 0, NULL, NULL, &v, err));
	st = strings_of(mem_ctx, v, names, n, err);
	talloc_free(v);
	return st;
}

shade_status shade_describe(shade_ref *r, const shade_shape_desc **out,
			    shade_error **err)
{
	TALLOC_CTX *tmp;
	struct proxy *p;
	struct outreq rq;
	shade_cbor_dec d;
	shade_shape_desc *desc;
	const shade_shape_desc *cached = NULL;
	bool has = false;
	shade_status st;

	SHADE_CHECK(check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		if (out != NULL)
			*out = obj_shape(r);
		return SHADE_OK;
	}
	SHADE_CHECK(live_proxy(r, &p, err));
	tmp = talloc_new(NULL);
	st = conn_req_init(&rq, p->conn, tmp, OP_DESCRIBE, 1, NULL, 0, false,
			   err);
	if (st == SHADE_OK) {
		shade_cbor_put_uint(rq.b, p->eid);
		st = conn_req_send(&rq, tmp, err);
	}
	if (st == SHADE_OK)
		st = await_reply(&rq, &d, &has, err);
	if (st == SHADE_OK && !has)
		st = shade_error_set(err, SHADE_ERR_PROTOCOL,
				     "DESCRIBE returned nothing");
	if (st == SHADE_OK)
		st = shape_decode(NULL, &d, &desc, err);
	if (st == SHADE_OK) {
		pthread_mutex_lock(&p->conn->mu);
		cached = conn_cache_shape(p->conn, desc);
		if (cached != NULL)
			p->ref.shape = cached;
		pthread_mutex_unlock(&p->conn->mu);
		if (cached == NULL)
			st = shade_error_set(err, SHADE_ERR_NOMEM,
					     "out of memory");
	}
	talloc_free(tmp);
	if (st == SHADE_OK && out != NULL)
		*out = cached;
	return st;
}

/* r's shape, asking the peer once when a proxy's shape is unknown. */
static shade_status need_shape(shade_ref *r, const shade_shape_desc **out,
			       shade_error **err)
{
	*out = shade_ref_shape(r);
	if (*out != NULL)
		return SHADE_OK;
	if (!shade_ref_is_proxy(r))
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return shade_describe(r, out, err);
}

shade_status shade_dir(TALLOC_CTX *mem_ctx, shade_ref *r, char ***names,
		       size_t *n, shade_error **err)
{
	const shade_shape_desc *d;
	char **a;
	size_t i;

	SHADE_CHECK(check_ref(r, err));
	SHADE_CHECK(need_shape(r, &d, err));
	a = talloc_zero_array(mem_ctx, char *, d->n_members + 1);
	if (a == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < d->n_members; i++)
		if ((a[i] = talloc_strdup(a, d->members[i].name)) == NULL) {
			talloc_free(a);
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		}
	*names = a;
	*n = d->n_members;
	return SHADE_OK;
}

shade_status shade_isinstance(shade_ref *r, shade_ref *t, bool *out,
			      shade_error **err)
{
	const shade_shape_desc *rd, *td;

	SHADE_CHECK(check_ref(r, err));
	SHADE_CHECK(check_ref(t, err));
	SHADE_CHECK(need_shape(t, &td, err));
	if (td->kind != SHADE_SHAPE_TYPE)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "isinstance: '%s' is not a type",
				       td->name);
	SHADE_CHECK(need_shape(r, &rd, err));
	*out = rd->kind != SHADE_SHAPE_TYPE && shade_shape_is_a(rd, td->name);
	return SHADE_OK;
}

shade_status shade_narrow(shade_ref *r, const shade_shape_desc *want,
			  uint32_t *map, shade_error **err)
{
	const shade_shape_desc *d;

	SHADE_CHECK(check_ref(r, err));
	SHADE_CHECK(need_shape(r, &d, err));
	return shade_shape_check(d, want, map, err);
}

/* ------------------------------------------------------------ members */

shade_status shade_getattr(TALLOC_CTX *mem_ctx, shade_ref *r,
			   const char *name, shade_value **out,
			   shade_error **err)
{
	struct field f[2];
	struct proxy *p;

	SHADE_CHECK(check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = OBJ_OP_GETATTR };

		return local_op(mem_ctx, r, &op, name, out, err);
	}
	SHADE_CHECK(live_proxy(r, &p, err));
	f[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(member_field(p, name, &f[1], err));
	return roundtrip(mem_ctx, p->conn, OP_GETATTR, f, 2, NULL, NULL, out,
			 err);
}

shade_status shade_setattr(shade_ref *r, const char *name,
			   const shade_value *v, shade_error **err)
{
	struct field f[3];
	struct proxy *p;

	SHADE_CHECK(check_ref(r, err));
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "setattr: value is NULL");
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = OBJ_OP_SETATTR, .value = v };

		return local_op(NULL, r, &op, name, NULL, err);
	}
	SHADE_CHECK(live_proxy(r, &p, err));
	f[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(member_field(p, name, &f[1], err));
	f[2] = (struct field){ FLD_VALUE, 0, NULL, v };
	return roundtrip(NULL, p->conn, OP_SETATTR, f, 3, NULL, NULL, NULL,
			 err);
}

shade_status shade_invoke_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
			     const char *name, const shade_value *args,
			     const shade_value *kwargs,
			     const shade_call_opts *opts, shade_value **out,
			     shade_error **err)
{
	struct field f[3];
	struct proxy *p;
	shade_call_opts co = { 0, false };

	SHADE_CHECK(check_ref(r, err));
	if (opts != NULL)
		co = *opts;
	if (!shade_ref_is_proxy(r))
		return local_call(mem_ctx, r, OP_INVOKE, name, args, kwargs,
				  out, err);
	SHADE_CHECK(live_proxy(r, &p, err));
	f[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(member_field(p, name, &f[1], err));
	if (f[1].kind == FLD_UINT &&
	    p->ref.shape->members[f[1].u].kind == SHADE_MEMBER_ONEWAY)
		co.oneway = true;
	f[2] = (struct field){ FLD_ARGS, 0, NULL, args };
	return roundtrip(mem_ctx, p->conn, OP_INVOKE, f, 3, kwargs, &co, out,
			 err);
}

shade_status shade_invoke(TALLOC_CTX *mem_ctx, shade_ref *r, const char *name,
			  const shade_value *args, const shade_value *kwargs,
			  shade_value **out, shade_error **err)
{
	return shade_invoke_ex(mem_ctx, r, name, args, kwargs, NULL, out, err);
}

shade_status shade_call_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
			   const shade_value *args, const shade_value *kwargs,
			   const shade_call_opts *opts, shade_value **out,
			   shade_error **err)
{
	struct field f[2];
	struct proxy *p;

	SHADE_CHECK(check_ref(r, err));
	if (!shade_ref_is_proxy(r))
		return local_call(mem_ctx, r, OP_CALL, NULL, args, kwargs, out,
				  err);
	SHADE_CHECK(live_proxy(r, &p, err));
	f[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	f[1] = (struct field){ FLD_ARGS, 0, NULL, args };
	return roundtrip(mem_ctx, p->conn, OP_CALL, f, 2, kwargs, opts, out,
			 err);
}

shade_status shade_call(TALLOC_CTX *mem_ctx, shade_ref *r,
			const shade_value *args, const shade_value *kwargs,
			shade_value **out, shade_error **err)
{
	return shade_call_ex(mem_ctx, r, args, kwargs, NULL, out, err);
}

/* ------------------------------------------------------------ containers */

/* A container operation: op with up to two value fields after target. */
static shade_status container_op(TALLOC_CTX *mem_ctx, shade_ref *r,
				 unsigned opcode, const shade_value *a,
				 const shade_value *b, shade_value **out,
				 shade_error **err)
{
	struct field f[3];
	struct proxy *p;
	unsigned nf = 1;

	SHADE_CHECK(check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = msg_obj_op(opcode) };

		if (opcode == OP_CONTAINS || opcode == OP_APPEND)
			op.value = a;
		else {
			op.key = a;
			op.value = b;
		}
		return local_op(mem_ctx, r, &op, NULL, out, err);
	}
	SHADE_CHECK(live_proxy(r, &p, err));
	f[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	if (a != NULL)
		f[nf++] = (struct field){ FLD_VALUE, 0, NULL, a };
	if (b != NULL)
		f[nf++] = (struct field){ FLD_VALUE, 0, NULL, b };
	return roundtrip(mem_ctx, p->conn, opcode, f, nf, NULL, NULL, out,
			 err);
}

shade_status shade_len(shade_ref *r, size_t *out, shade_error **err)
{
	shade_value *v;

	SHADE_CHECK(container_op(NULL, r, OP_LEN, NULL, NULL, &v, err));
	if (shade_value_kind(v) != SHADE_INT || v->u.i < 0) {
		talloc_free(v);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "LEN returned no count");
	}
	*out = (size_t)v->u.i;
	talloc_free(v);
	return SHADE_OK;
}

shade_status shade_getitem(TALLOC_CTX *mem_ctx, shade_ref *r,
			   const shade_value *key, shade_value **out,
			   shade_error **err)
{
	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "key is NULL");
	return container_op(mem_ctx, r, OP_GETITEM, key, NULL, out, err);
}

shade_status shade_setitem(shade_ref *r, const shade_value *key,
			   const shade_value *v, shade_error **err)
{
	if (key == NULL || v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "key or value is NULL");
	return container_op(NULL, r, OP_SETITEM, key, v, NULL, err);
}

shade_status shade_delitem(shade_ref *r, const shade_value *key,
			   shade_error **err)
{
	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "key is NULL");
	return container_op(NULL, r, OP_DELITEM, key, NULL, NULL, err);
}

shade_status shade_contains(shade_ref *r, const shade_value *v, bool *out,
			    shade_error **err)
{
	shade_value *res;

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	SHADE_CHECK(container_op(NULL, r, OP_CONTAINS, v, NULL, &res, err));
	if (shade_value_kind(res) != SHADE_BOOL) {
		talloc_free(res);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "CONTAINS returned no bool");
	}
	*out = res->u.b;
	talloc_free(res);
	return SHADE_OK;
}

shade_status shade_append(shade_ref *r, const shade_value *v,
			  shade_error **err)
{
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	return container_op(NULL, r, OP_APPEND, v, NULL, NULL, err);
}

shade_status shade_force_range(TALLOC_CTX *mem_ctx, shade_ref *r, size_t start,
			       size_t count, shade_value **out,
			       shade_error **err)
{
	struct field f[3];
	struct proxy *p;
	shade_kind k;

	SHADE_CHECK(check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = OBJ_OP_FORCE, .start = start,
				     .count = count == SIZE_MAX ? UINT64_MAX
								: count };

		return local_op(mem_ctx, r, &op, NULL, out, err);
	}
	SHADE_CHECK(live_proxy(r, &p, err));
	f[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	f[1] = (struct field){ FLD_UINT, start, NULL, NULL };
	if (count == SIZE_MAX)
		f[2] = (struct field){ FLD_NULL, 0, NULL, NULL };
	else
		f[2] = (struct field){ FLD_UINT, count, NULL, NULL };
	SHADE_CHECK(roundtrip(mem_ctx, p->conn, OP_FORCE, f, 3, NULL, NULL,
			      out, err));
	k = shade_value_kind(*out);
	if (k != SHADE_LIST && k != SHADE_DICT) {
		TALLOC_FREE(*out);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "FORCE returned no list or dict");
	}
	return SHADE_OK;
}

shade_status shade_force(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			 shade_error **err)
{
	return shade_force_range(mem_ctx, r, 0, SIZE_MAX, out, err);
}

/* What to extract from a snapshot. */
enum extract { EX_KEYS, EX_VALUES, EX_ITEMS };

/* Force r and build the keys, values or items of the snapshot. */
static shade_status extract(TALLOC_CTX *mem_ctx, shade_ref *r, enum extract ex,
			    shade_value **out, shade_error **err)
{
	shade_value *snap, *res, *pair, *ik;
	const shade_value *k, *v;
	size_t pos = 0, i = 0;
	bool dict;
	shade_status st = SHADE_OK;

	SHADE_CHECK(shade_force(NULL, r, &snap, err));
	dict = shade_value_kind(snap) == SHADE_DICT;
	res = shade_list_new(mem_ctx, shade_value_len(snap));
	while (res != NULL && st == SHADE_OK) {
		if (dict) {
			if (!shade_dict_next(snap, &pos, &k, &v))
				break;
		} else {
			if (i >= shade_seq_len(snap))
				break;
			v = shade_seq_at(snap, i);
			k = v;
		}
		if (ex == EX_KEYS)
			st = shade_seq_append(res, k, err);
		else if (ex == EX_VALUES)
			st = shade_seq_append(res, v, err);
		else {
			pair = shade_tuple_new(NULL, 2);
			ik = dict ? NULL : shade_int(NULL, (int64_t)i);
			if (pair == NULL || (!dict && ik == NULL))
				st = shade_error_set(err, SHADE_ERR_NOMEM,
						     "out of memory");
			if (st == SHADE_OK)
				st = shade_seq_append(pair, dict ? k : ik,
						      err);
			if (st == SHADE_OK)
				st = shade_seq_append(pair, v, err);
			talloc_free(ik);
			if (st == SHADE_OK)
				st = shade_seq_append_take(res, pair, err);
			else
				talloc_free(pair);
		}
		i++;
	}
	talloc_free(snap);
	if (res == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (st != SHADE_OK) {
		talloc_free(res);
		return st;
	}
	*out = res;
	return SHADE_OK;
}

shade_status shade_keys(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			shade_error **err)
{
	return extract(mem_ctx, r, EX_KEYS, out, err);
}

shade_status shade_values(TALLOC_CTX *mem_ctx, shade_ref *r,
			  shade_value **out, shade_error **err)
{
	return extract(mem_ctx, r, EX_VALUES, out, err);
}

shade_status shade_items(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			 shade_error **err)
{
	return extract(mem_ctx, r, EX_ITEMS, out, err);
}

shade_status shade_equal(shade_ref *r, const shade_value *v, bool *out,
			 shade_error **err)
{
	shade_value *snap;

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	SHADE_CHECK(shade_force(NULL, r, &snap, err));
	*out = shade_value_equal(snap, v);
	talloc_free(snap);
	return SHADE_OK;
}

/* Iteration state. */
struct shade_iter {
	shade_ref *r;         /* the container (one count held) */
	size_t chunk;         /* elements per FORCE */
	size_t next;          /* index of the next chunk's first element */
	shade_value *buf;     /* current chunk, or NULL */
	size_t pos;           /* position inside buf (dict: iterator pos) */
	bool end;             /* the last chunk has been fetched */
};

/* Destructor: drop the container's count. */
static int iter_destructor(shade_iter *it)
{
	shade_ref_release(it->r);
	return 0;
}

shade_status shade_iter_new(TALLOC_CTX *mem_ctx, shade_ref *r, size_t chunk,
			    shade_iter **out, shade_error **err)
{
	shade_iter *it;

	SHADE_CHECK(check_ref(r, err));
	it = talloc_zero(mem_ctx, shade_iter);
	if (it == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (chunk == 0) {
		shade_conn *c = shade_ref_conn(r);

		chunk = c ? c->iter_chunk : 65536;
	}
	it->r = shade_ref_retain(r);
	it->chunk = chunk;
	talloc_set_destructor(it, iter_destructor);
	*out = it;
	return SHADE_OK;
}

shade_status shade_iter_next(shade_iter *it, const shade_value **item,
			     shade_error **err)
{
	const shade_value *k;

	*item = NULL;
	for (;;) {
		if (it->buf != NULL) {
			if (shade_value_kind(it->buf) == SHADE_LIST) {
				if (it->pos < shade_seq_len(it->buf)) {
					*item = shade_seq_at(it->buf,
							     it->pos++);
					return SHADE_OK;
				}
			} else if (shade_dict_next(it->buf, &it->pos, &k,
						   NULL)) {
				*item = k;
				return SHADE_OK;
			}
		}
		if (it->end)
			return SHADE_OK;
		TALLOC_FREE(it->buf);
		SHADE_CHECK(shade_force_range(it, it->r, it->next, it->chunk,
					      &it->buf, err));
		it->pos = 0;
		it->next += shade_value_len(it->buf);
		if (shade_value_len(it->buf) < it->chunk)
			it->end = true;
	}
}

/* ------------------------------------------------------------ futures */

/* A call in flight. */
struct shade_future {
	shade_conn *c;        /* its connection */
	struct outreq rq;     /* the request; rq.p is the pending */
	bool taken;           /* the result was taken */
};

/* Destructor: withdraw an unwaited request. */
static int future_destructor(shade_future *f)
{
	if (!f->taken && f->rq.p != NULL)
		conn_abandon(f->rq.p);
	return 0;
}

shade_status shade_invoke_async(TALLOC_CTX *mem_ctx, shade_ref *r,
				const char *name, const shade_value *args,
				const shade_value *kwargs, shade_future **out,
				shade_error **err)
{
	struct field fl[3];
	struct proxy *p;
	shade_future *f;
	shade_status st;

	SHADE_CHECK(check_ref(r, err));
	if (!shade_ref_is_proxy(r))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "asynchronous calls need a proxy");
	SHADE_CHECK(live_proxy(r, &p, err));
	fl[0] = (struct field){ FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(member_field(p, name, &fl[1], err));
	fl[2] = (struct field){ FLD_ARGS, 0, NULL, args };
	f = talloc_zero(mem_ctx, shade_future);
	if (f == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	f->c = p->conn;
	st = conn_req_init(&f->rq, f->c, f, OP_INVOKE, 3, kwargs, -1, false,
			   err);
	f->rq.queued = true;
	if (st == SHADE_OK)
		st = put_fields(f->c, f->rq.b, fl, 3, err);
	if (st == SHADE_OK)
		st = conn_req_send(&f->rq, f, err);
	if (st != SHADE_OK) {
		talloc_free(f);
		return st;
	}
	TALLOC_FREE(f->rq.b);
	talloc_set_destructor(f, future_destructor);
	*out = f;
	return SHADE_OK;
}

bool shade_future_ready(shade_future *f)
{
	bool done;

	if (f->rq.p == NULL)
		return true;
	conn_flush_batch(f->c, NULL);
	pthread_mutex_lock(&f->c->mu);
	done = f->rq.p->done;
	pthread_mutex_unlock(&f->c->mu);
	return done;
}

/* The effective timeout of a wait: 0 means the connection default. */
static int wait_timeout(shade_conn *c, int timeout_ms)
{
	if (timeout_ms != 0)
		return timeout_ms;
	return c->timeout_ms > 0 ? c->timeout_ms : -1;
}

shade_status shade_future_wait(TALLOC_CTX *mem_ctx, shade_future *f,
			       int timeout_ms, shade_value **out,
			       shade_error **err)
{
	shade_cbor_dec d;
	bool has = false;
	shade_value *v = NULL;

	if (f->taken || f->rq.p == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "future already waited for");
	SHADE_CHECK(conn_wait(f->c, &f->rq.p, 1, false,
			      wait_timeout(f->c, timeout_ms), NULL, err));
	f->taken = true;
	SHADE_CHECK(conn_take_reply(f->c, f->rq.p, &d, &has, err));
	if (has)
		SHADE_CHECK(shade_cbor_decode_value(mem_ctx, &d, &f->c->copts,
						    &v, err));
	else if ((v = shade_none(mem_ctx)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	TALLOC_FREE(f->rq.p->reply); /* the result is taken */
	f->rq.p = NULL;
	if (out != NULL)
		*out = v;
	else
		talloc_free(v);
	return SHADE_OK;
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
		if (fs[i]->rq.p == NULL || fs[i]->c != fs[0]->c) {
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

/* ------------------------------------------------------------ typed */

/* A typed call in progress. */
struct shade_request {
	shade_ref *r;           /* the target (one count held) */
	shade_conn *c;          /* its connection, NULL when local */
	struct outreq rq;       /* the request (proxies) */
	shade_buf *args;        /* argument item (local objects) */
	shade_buf *res;         /* result bytes (local objects) */
	uint32_t member;        /* member index */
	shade_dispatch_op op;   /* what is asked */
	bool oneway;            /* no reply wanted */
	shade_cbor_dec out;     /* the result decoder handed out */
	bool sent;              /* shade_request_send was called */
};

static const uint8_t cbor_null[1] = { 0xf6 };

/* Destructor: drop the target's count, withdraw an unfinished call. */
static int request_destructor(shade_request *q)
{
	if (q->rq.p != NULL && !q->rq.p->done)
		conn_abandon(q->rq.p);
	shade_ref_release(q->r);
	return 0;
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

	SHADE_CHECK(check_ref(r, err));
	if ((unsigned)op > SHADE_DISPATCH_SET)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "bad dispatch op %d", (int)op);
	q = talloc_zero(NULL, shade_request);
	if (q == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	q->r = shade_ref_retain(r);
	q->member = member;
	q->op = op;
	q->oneway = opts != NULL && opts->oneway;
	talloc_set_destructor(q, request_destructor);
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
	st = live_proxy(r, &p, err);
	if (st == SHADE_OK) {
		q->c = p->conn;
		st = conn_req_init(&q->rq, q->c, q, opcode[op], nfields[op],
				   NULL, opts ? opts->timeout_ms : 0,
				   q->oneway, err);
	}
	if (st != SHADE_OK) {
		talloc_free(q);
		return st;
	}
	shade_cbor_put_uint(q->rq.b, p->eid);
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
	if (!q->sent)
		SHADE_CHECK(conn_req_send(&q->rq, q, err));
	q->sent = true;
	if (!q->oneway)
		SHADE_CHECK(await_reply(&q->rq, &q->out, &has, err));
	if (!has)
		shade_cbor_dec_init(&q->out, cbor_null, 1);
	*result = &q->out;
	return SHADE_OK;
}

shade_status shade_request_send(shade_request *q, shade_error **err)
{
	if (q->c == NULL || q->sent)
		return SHADE_OK;
	q->rq.queued = true;
	q->sent = true;
	return conn_req_send(&q->rq, q, err);
}

shade_status shade_request_decode_value(TALLOC_CTX *mem_ctx, shade_request *q,
					shade_cbor_dec *d, shade_value **out,
					shade_error **err)
{
	return shade_cbor_decode_value(mem_ctx, d, q->c ? &q->c->copts : NULL,
				       out, err);
}

shade_status shade_request_encode_value(shade_request *q, shade_buf *b,
					const shade_value *v,
					shade_error **err)
{
	return shade_cbor_encode_value(b, v, q->c ? &q->c->copts : NULL, err);
}
