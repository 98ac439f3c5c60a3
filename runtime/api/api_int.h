/*
 * api_int.h - internals shared by the files of runtime/api.  Not
 * installed.
 */
#ifndef SHADE_API_INT_H
#define SHADE_API_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/proxy.h"
#include "conn/conn_int.h"
#include "object/object_int.h"

/* A request field, written in order after op and id. */
struct api_field {
	enum {
		API_FLD_UINT,  /* u as an unsigned integer */
		API_FLD_TEXT,  /* s as a text string */
		API_FLD_VALUE, /* v encoded as a value */
		API_FLD_ARGS,  /* v, a tuple or list, as an array */
		API_FLD_NULL,  /* null */
		API_FLD_ARGS_SHARED, /* as API_FLD_ARGS, lists and dicts
				      * by reference (the default copy
				      * rule) */
		API_FLD_VALUE_SHARED /* as API_FLD_VALUE, the same */
	} kind;                /* what the field is */
	uint64_t u;            /* API_FLD_UINT */
	const char *s;         /* API_FLD_TEXT */
	const shade_value *v;  /* API_FLD_VALUE, API_FLD_ARGS (NULL: empty
				* array) */
};

/* The proxy behind r, after checking its connection is usable. */
static inline shade_status api_live_proxy(shade_ref *r, struct proxy **out,
					  shade_error **err)
{
	struct proxy *p = (struct proxy *)r;

	*out = p;
	if (p->conn == NULL)
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "the connection of this proxy is gone");
	return conn_check_open(p->conn, err);
}

/* True when r is an object (no list or dict) whose known shape lists
 * the special member `name` (shade/object.h). */
static inline bool api_has_special(shade_ref *r, const char *name)
{
	const shade_shape_desc *d = shade_ref_shape(r);

	return d != NULL && d->kind != SHADE_SHAPE_LIST &&
	       d->kind != SHADE_SHAPE_DICT && shade_shape_find(d, name) >= 0;
}

/* Check the common arguments. */
static inline shade_status api_check_ref(const shade_ref *r, shade_error **err)
{
	if (r == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "reference is NULL");
	return SHADE_OK;
}

/* Write the fields of request rq into rq->b (promises of its connection
 * in values become tag 206, conn_req_copts). */
SHADE_INTERNAL shade_status api_put_fields(struct outreq *rq,
					   const struct api_field *f,
					   unsigned nf, shade_error **err);

/* Requests parked on all threads' spare lists (request.c: freed typed
 * calls kept for the next call). */
SHADE_INTERNAL unsigned long api_requests_parked(void);

/* Free the calling thread's spare requests and spare buffer (as its
 * exit does). */
SHADE_INTERNAL void api_request_trim(void);

/* The calling thread's spare request buffer (emptied, no parent), or
 * NULL: for a request whose buffer goes as soon as it is sent (a
 * future's).  api_buf_give hands b back once it is sent: kept as the
 * thread's spare when there is none and b stayed small and referenced
 * no string, else freed.  NULL is fine. */
SHADE_INTERNAL struct shade_buf *api_buf_take(void);
SHADE_INTERNAL void api_buf_give(struct shade_buf *b);

/* Times api_buf_take handed out the calling thread's spare (tests). */
SHADE_INTERNAL unsigned long api_bufs_reused(void);

/* Wait for rq's reply; on success *d is at the value (has false: none).
 * A timeout withdraws the request. */
SHADE_INTERNAL shade_status api_await_reply(struct outreq *rq,
					    shade_cbor_dec *d, bool *has,
					    shade_error **err);

/* One request/reply: send op with fields to c and decode the result
 * onto mem_ctx (a none box when the reply has no value).  target: the
 * proxy it is for (a promise pipelines it), or NULL. */
SHADE_INTERNAL shade_status api_roundtrip(TALLOC_CTX *mem_ctx, shade_conn *c,
					  const struct proxy *target,
					  unsigned op,
					  const struct api_field *f,
					  unsigned nf,
					  const shade_value *kwargs,
					  const shade_call_opts *co,
					  shade_value **out, shade_error **err);

/* The member field for name on proxy p: its index when the shape is
 * known (AttributeError locally when absent), else the name (always the
 * name on a promise: its shape, if any, is only the declared one). */
SHADE_INTERNAL shade_status api_member_field(struct proxy *p, const char *name,
					     struct api_field *f,
					     shade_error **err);

/* The kind of an argument field to proxy p for member field m (NULL for
 * CALL): API_FLD_ARGS_SHARED under the default copy rule, API_FLD_ARGS
 * when the call's options ask for values, p is a container (whose
 * methods store copies) or the member is declared with a signature
 * (IDL: its parameters travel as their declared types). */
SHADE_INTERNAL int api_args_kind(struct proxy *p, const shade_call_opts *co,
				 const struct api_field *m);

/* Perform a value-level operation on a local object. */
SHADE_INTERNAL shade_status api_local_op(TALLOC_CTX *mem_ctx, shade_ref *r,
					 struct obj_op *op, const char *name,
					 shade_value **out, shade_error **err);

/* INVOKE (member name) or CALL on a local object; NULL args: none. */
SHADE_INTERNAL shade_status api_local_call(TALLOC_CTX *mem_ctx, shade_ref *r,
					   unsigned opcode, const char *name,
					   const shade_value *args,
					   const shade_value *kwargs,
					   shade_value **out,
					   shade_error **err);

/* Take the ref out of a result value (one count for the caller). */
SHADE_INTERNAL shade_status api_take_ref(shade_value *v, shade_ref **out,
					 shade_error **err);

#endif /* SHADE_API_INT_H */
