/*
 * value_encode.c - shade values to CBOR: the deterministic encoding of
 * every kind (mapping in shade/cbor.h), references through the
 * encode_ref hook, exceptions as tag 202.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "codec/cbor_int.h"
#include "value/value_int.h"

/* Report a failed buffer as SHADE_ERR_NOMEM. */
static shade_status buf_failed(shade_buf *b, shade_error **err)
{
	return shade_error_set(err, b->status, "out of memory after %zu "
			       "encoded bytes", b->len);
}

static shade_status enc(shade_buf *b, const shade_value *v,
			const shade_cbor_opts *o, unsigned depth,
			unsigned max_depth, shade_error **err);

/* Encode an exception as tag 202 [name, message, args, chain]. */
static shade_status enc_exc(shade_buf *b, const shade_error *e,
			    const shade_cbor_opts *o, unsigned depth,
			    unsigned max_depth, shade_error **err)
{
	shade_cbor_opts snap;
	size_t i;

	/* An exception's arguments travel by value (doc/protocol.md §3.2). */
	if (o != NULL && o->share != NULL) {
		snap = *o;
		snap.share = NULL;
		o = &snap;
	}
	/* tag, its array, the chain array and its triples each nest */
	if (depth + 3 + (e->chain_len > 0) > max_depth)
		return shade_error_set(err, SHADE_ERR_TOO_DEEP,
				       "exception nested deeper than %u",
				       max_depth);
	cbor_put_head(b, SHADE_CBOR_TAG, SHADE_CBOR_TAG_EXCEPTION);
	cbor_put_head(b, SHADE_CBOR_ARRAY, 4);
	shade_cbor_put_cstr(b, e->name ? e->name : "");
	shade_cbor_put_cstr(b, e->message ? e->message : "");
	if (e->args != NULL && shade_value_is_seq(e->args)) {
		shade_value t = *e->args;

		t.tag = SHADE_TUPLE;
		SHADE_CHECK(enc(b, &t, o, depth + 2, max_depth, err));
	} else {
		cbor_put_head(b, SHADE_CBOR_ARRAY, 0);
	}
	cbor_put_head(b, SHADE_CBOR_ARRAY, e->chain_len);
	for (i = 0; i < e->chain_len; i++) {
		cbor_put_head(b, SHADE_CBOR_ARRAY, 3);
		shade_cbor_put_cstr(b, e->chain[i].side ? e->chain[i].side : "");
		shade_cbor_put_cstr(b, e->chain[i].type ? e->chain[i].type : "");
		shade_cbor_put_cstr(b, e->chain[i].member ?
				    e->chain[i].member : "");
	}
	return b->status == SHADE_OK ? SHADE_OK : buf_failed(b, err);
}

/* For a list or dict v under options o that share: NULL when v is to
 * be shared, else (v marked SHADE_VF_BYVALUE) o without sharing, in
 * *snap, so that everything inside the snapshot is a snapshot too. */
static const shade_cbor_opts *by_value(const shade_cbor_opts *o,
				       const shade_value *v,
				       shade_cbor_opts *snap)
{
	if (!(v->tag & SHADE_VF_BYVALUE))
		return NULL;
	*snap = *o;
	snap->share = NULL;
	return snap;
}

/* Encode v at nesting depth `depth`. */
static shade_status enc(shade_buf *b, const shade_value *v,
			const shade_cbor_opts *o, unsigned depth,
			unsigned max_depth, shade_error **err)
{
	const shade_cbor_opts *share_o = o;
	shade_cbor_opts snap;
	uint8_t *p;
	size_t i;

	switch (shade_tag_kind_(v)) {
	case SHADE_NONE:
		cbor_put_byte(b, CBOR_IB_NULL);
		break;
	case SHADE_BOOL:
		cbor_put_byte(b, v->u.b ? CBOR_IB_TRUE : CBOR_IB_FALSE);
		break;
	case SHADE_INT:
		cbor_put_int(b, v->u.i);
		break;
	case SHADE_FLOAT:
		p = cbor_room(b, 9);
		if (p != NULL)
			b->len += cbor_float_at(p, v->u.f);
		break;
	case SHADE_STR:
		cbor_put_string(b, SHADE_CBOR_TEXT, v->u.s, v->len);
		break;
	case SHADE_BYTES:
		cbor_put_string(b, SHADE_CBOR_BYTES, v->u.p, v->len);
		break;
	case SHADE_LIST:
		if (o != NULL && o->share != NULL && (o = by_value(o, v, &snap))
						     == NULL)
			goto shared;
		if (depth + 1 > max_depth)
			goto too_deep;
		cbor_put_head(b, SHADE_CBOR_TAG, SHADE_CBOR_TAG_LIST);
		depth++;
		/* fall through */
	case SHADE_TUPLE: {
		const struct shade_seq *s = v->u.seq;

		if (depth + 1 > max_depth)
			goto too_deep;
		cbor_put_head(b, SHADE_CBOR_ARRAY, s->len);
		for (i = 0; i < s->len && b->status == SHADE_OK; i++) {
			const shade_value *it = &s->items[i];

			/* fast path: integers need no recursion */
			if (shade_tag_kind_(it) == SHADE_INT) {
				cbor_put_int(b, it->u.i);
				continue;
			}
			SHADE_CHECK(enc(b, it, o, depth + 1, max_depth, err));
		}
		break;
	}
	case SHADE_DICT: {
		const struct shade_dict *d = v->u.dict;

		if (o != NULL && o->share != NULL && (o = by_value(o, v, &snap))
						     == NULL)
			goto shared;
		if (depth + 1 > max_depth)
			goto too_deep;
		cbor_put_head(b, SHADE_CBOR_MAP, d->len);
		for (i = 0; i < d->used && b->status == SHADE_OK; i++) {
			const struct shade_dict_entry *e = &d->entries[i];

			if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
				continue;
			SHADE_CHECK(enc(b, &e->key, o, depth + 1, max_depth,
					err));
			SHADE_CHECK(enc(b, &e->val, o, depth + 1, max_depth,
					err));
		}
		break;
	}
	case SHADE_REF:
		if (o == NULL || o->hooks == NULL ||
		    o->hooks->encode_ref == NULL)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "cannot encode a reference "
					       "without an encode_ref hook");
		SHADE_CHECK(o->hooks->encode_ref(o->hooks->udata, b,
						 v->u.ref, err));
		break;
	case SHADE_EXC:
		return enc_exc(b, v->u.exc, o, depth, max_depth, err);
	default:
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "invalid value tag 0x%02x", v->tag);
	}
	if (b->status != SHADE_OK)
		return buf_failed(b, err);
	return SHADE_OK;
shared:
	/* By reference: the hook writes one item (a tag 200). */
	return share_o->share(share_o->hooks ? share_o->hooks->udata : NULL, b,
			      v, err);
too_deep:
	return shade_error_set(err, SHADE_ERR_TOO_DEEP,
			       "value nested deeper than %u levels", max_depth);
}

shade_status shade_cbor_encode_value(shade_buf *b, const shade_value *v,
				     const shade_cbor_opts *opts,
				     shade_error **err)
{
	if (b->status != SHADE_OK)
		return buf_failed(b, err);
	return enc(b, v, opts, 0, cbor_opt_depth(opts), err);
}

uint8_t *shade_cbor_encode(TALLOC_CTX *mem_ctx, const shade_value *v,
			   const shade_cbor_opts *opts, size_t *len,
			   shade_error **err)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	uint8_t *out = NULL;

	if (b == NULL) {
		shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (shade_cbor_encode_value(b, v, opts, err) == SHADE_OK)
		out = shade_buf_steal(mem_ctx, b, len);
	talloc_free(b);
	return out;
}
