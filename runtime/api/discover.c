/*
 * discover.c - discovery: lookup of published names, the name list,
 * shapes of references (describe, dir), isinstance and narrow.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "base/misuse_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

shade_status shade_lookup_value(TALLOC_CTX *mem_ctx, shade_conn *c,
				const char *ns, const char *name,
				shade_value **out, shade_error **err)
{
	struct api_field f = { API_FLD_TEXT, 0, name, NULL };
	shade_value *pair = NULL;
	shade_status st;

	if (c == NULL || name == NULL || out == NULL)
		return misuse(err, "shade_lookup: %s is NULL",
			      c == NULL ? "conn" : name == NULL ? "name" : "out");
	if (ns != NULL) {
		/* [namespace, name] */
		pair = shade_tuple_new(NULL, 2);
		if (pair == NULL ||
		    shade_seq_append_str(pair, ns, strlen(ns), err) !=
			    SHADE_OK ||
		    shade_seq_append_str(pair, name, strlen(name), err) !=
			    SHADE_OK) {
			talloc_free(pair);
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "shade_lookup_in: bad name");
		}
		f.kind = API_FLD_VALUE;
		f.v = pair;
	}
	st = api_roundtrip(mem_ctx, c, NULL, OP_LOOKUP, &f, 1, NULL, NULL, out,
			   err);
	talloc_free(pair);
	return st;
}

shade_status shade_lookup_in(shade_conn *c, const char *ns, const char *name,
			     shade_ref **out, shade_error **err)
{
	shade_value *v;

	if (c == NULL || name == NULL || out == NULL)
		return misuse(err, "shade_lookup: %s is NULL",
			      c == NULL ? "conn" : name == NULL ? "name" : "out");
	SHADE_CHECK(shade_lookup_value(NULL, c, ns, name, &v, err));
	if (shade_value_kind(v) != SHADE_REF) {
		shade_error_set(err, SHADE_ERR_TYPE,
				"'%s' is exported as a value (%s), not an "
				"object: read it with shade_lookup_value",
				name, shade_kind_name(shade_value_kind(v)));
		talloc_free(v);
		return SHADE_ERR_TYPE;
	}
	return api_take_ref(v, out, err);
}

shade_status shade_lookup(shade_conn *c, const char *name, shade_ref **out,
			  shade_error **err)
{
	return shade_lookup_in(c, NULL, name, out, err);
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

shade_status shade_names_in(TALLOC_CTX *mem_ctx, shade_conn *c, const char *ns,
			    char ***names, size_t *n, shade_error **err)
{
	struct api_field f = { API_FLD_TEXT, 0, ns, NULL };
	shade_value *v;
	shade_status st;

	SHADE_CHECK(api_roundtrip(NULL, c, NULL, ns ? OP_NAMES_IN : OP_NAMES, &f,
				  ns ? 1 : 0, NULL, NULL, &v, err));
	st = strings_of(mem_ctx, v, names, n, err);
	talloc_free(v);
	return st;
}

shade_status shade_names(TALLOC_CTX *mem_ctx, shade_conn *c, char ***names,
			 size_t *n, shade_error **err)
{
	return shade_names_in(mem_ctx, c, NULL, names, n, err);
}

shade_status shade_describe(shade_ref *r, const shade_shape_desc **out,
			    shade_error **err)
{
	TALLOC_CTX *tmp;
	struct proxy *p;
	struct outreq rq;
	shade_cbor_dec d;
	shade_shape_desc *desc = NULL;
	const shade_shape_desc *cached = NULL;
	bool has = false;
	shade_status st;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		if (out != NULL)
			*out = obj_shape(r);
		return SHADE_OK;
	}
	SHADE_CHECK(api_live_proxy(r, &p, err));
	tmp = talloc_new(NULL);
	st = conn_req_init(&rq, p->conn, tmp, OP_DESCRIBE, 1, NULL, 0, p, 0,
			   err);
	if (st == SHADE_OK) {
		shade_cbor_put_uint(rq.b, p->eid);
		st = conn_req_send(&rq, tmp, err);
	}
	if (st == SHADE_OK)
		st = api_await_reply(&rq, &d, &has, err);
	conn_req_unname(&rq); /* answered or given up */
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

	SHADE_CHECK(api_check_ref(r, err));
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

	SHADE_CHECK(api_check_ref(r, err));
	SHADE_CHECK(api_check_ref(t, err));
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

	SHADE_CHECK(api_check_ref(r, err));
	/* A promise takes the declared shape on trust: what it names is
	 * not there yet, and calls on it name members by name, which the
	 * peer checks against the real shape. */
	if (shade_ref_is_proxy(r) && conn_is_promise((struct proxy *)r) &&
	    r->shape == NULL && want != NULL)
		r->shape = want;
	SHADE_CHECK(need_shape(r, &d, err));
	return shade_shape_check(d, want, map, err);
}
