/*
 * proxy.c - what every operation on a reference shares: request fields,
 * the round trip of one request through the connection layer, the
 * member field of a name, local dispatch for objects served here
 * (the object layer), and taking a ref out of a reply.
 *
 * The files of runtime/api, each one concern: proxy.c (this),
 * discover.c, members.c, containers.c, iter.c, future.c, request.c.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "codec/cbor_int.h"
#include "api/api_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

/* Write the fields of a request. */
shade_status api_put_fields(struct outreq *rq, const struct api_field *f,
			    unsigned nf, shade_error **err)
{
	shade_buf *b = rq->b;
	unsigned i;

	for (i = 0; i < nf; i++) {
		switch (f[i].kind) {
		case API_FLD_UINT:
			shade_cbor_put_uint(b, f[i].u);
			break;
		case API_FLD_TEXT:
			shade_cbor_put_cstr(b, f[i].s);
			break;
		case API_FLD_NULL:
			shade_cbor_put_null(b);
			break;
		case API_FLD_ARGS_SHARED:
		case API_FLD_ARGS:
			if (f[i].v == NULL) {
				shade_cbor_put_array(b, 0);
				break;
			}
			if (!shade_value_is_seq(f[i].v))
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "arguments must be a "
						       "tuple");
			/* fall through */
		case API_FLD_VALUE:
		case API_FLD_VALUE_SHARED:
			SHADE_CHECK(shade_cbor_encode_value(
				b, f[i].v,
				conn_req_copts(rq, f[i].kind ==
							   API_FLD_ARGS_SHARED ||
						   f[i].kind ==
							   API_FLD_VALUE_SHARED),
				err));
			break;
		}
	}
	return b->status;
}

/* Wait for rq's reply; on success *d is at the value (has false: none).
 * A timeout withdraws the request. */
shade_status api_await_reply(struct outreq *rq, shade_cbor_dec *d, bool *has,
			     shade_error **err)
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
shade_status api_roundtrip(TALLOC_CTX *mem_ctx, shade_conn *c,
			   const struct proxy *target, unsigned op,
			   const struct api_field *f, unsigned nf,
			   const shade_value *kwargs, const shade_call_opts *co,
			   shade_value **out, shade_error **err)
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
			   co ? co->timeout_ms : 0, target,
			   (oneway ? REQ_ONEWAY : 0) |
				   (co != NULL && co->byvalue ? REQ_BYVALUE
							      : 0),
			   err);
	if (st == SHADE_OK)
		st = api_put_fields(&rq, f, nf, err);
	if (st == SHADE_OK)
		st = conn_req_send(&rq, tmp, err);
	if (st == SHADE_OK && !oneway)
		st = api_await_reply(&rq, &d, &has, err);
	conn_req_unname(&rq); /* answered or given up */
	if (st == SHADE_OK && has) {
		/* Large strings of the result stay in the reply frame, which
		 * the result takes over (no copy). */
		struct cbor_views views = { rq.pend.reply, rq.pend.reply_len,
					    false, NULL };

		st = cbor_decode_value_views(mem_ctx, &d, &c->copts,
					     rq.p == &rq.pend ? &views : NULL,
					     &v, err);
		if (views.adopted)
			rq.pend.reply = NULL;
	}
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
shade_status api_member_field(struct proxy *p, const char *name,
			      struct api_field *f, shade_error **err)
{
	uint32_t idx;

	if (name == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "member name is NULL");
	if (p->ref.shape == NULL || conn_is_promise(p)) {
		f->kind = API_FLD_TEXT;
		f->s = name;
		return SHADE_OK;
	}
	SHADE_CHECK(obj_resolve(&p->ref, name, 0, &idx, err));
	f->kind = API_FLD_UINT;
	f->u = idx;
	return SHADE_OK;
}

int api_args_kind(struct proxy *p, const shade_call_opts *co,
		  const struct api_field *m)
{
	const shade_shape_desc *d = p->ref.shape;

	if ((co != NULL && co->byvalue) || obj_moves_by_value(&p->ref))
		return API_FLD_ARGS;
	if (m != NULL && m->kind == API_FLD_UINT && d != NULL &&
	    m->u < d->n_members && d->members[m->u].signature != NULL)
		return API_FLD_ARGS;
	return API_FLD_ARGS_SHARED;
}

/* Perform a value-level operation on a local object. */
shade_status api_local_op(TALLOC_CTX *mem_ctx, shade_ref *r, struct obj_op *op,
			  const char *name, shade_value **out,
			  shade_error **err)
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
shade_status api_local_call(TALLOC_CTX *mem_ctx, shade_ref *r, unsigned opcode,
			    const char *name, const shade_value *args,
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
	st = api_local_op(mem_ctx, r, &op, name, out, err);
	talloc_free(empty);
	return st;
}

/* Take the ref out of a result value (one count for the caller). */
shade_status api_take_ref(shade_value *v, shade_ref **out, shade_error **err)
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
