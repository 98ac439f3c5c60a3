/*
 * runtime/api/typed.c - what the code shade-idlc generates calls (see
 * shade/typed.h): range-checked integers, sequence and array heads,
 * references on either side, typed references and served objects.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/typed.h"
#include "object/object_int.h"

/* The layout every generated typed reference starts with; map has
 * shape->n_members entries. */
typedef struct typed_head {
	shade_ref *ref;  /* the object; one count held */
	uint32_t map[];  /* member indexes in the object's shape */
} typed_head;

/* Read an integer in [lo, hi]; see shade/typed.h. */
shade_status shade_typed_get_int(struct shade_cbor_dec *d, int64_t lo,
				 int64_t hi, int64_t *out, shade_error **err)
{
	shade_status st = shade_cbor_read_int(d, out, err);

	if (st == SHADE_OK && (*out < lo || *out > hi))
		return shade_error_set(err, SHADE_ERR_OVERFLOW, "integer %lld "
				       "out of range", (long long)*out);
	return st;
}

/* Read an unsigned integer up to hi; see shade/typed.h. */
shade_status shade_typed_get_uint(struct shade_cbor_dec *d, uint64_t hi,
				  uint64_t *out, shade_error **err)
{
	shade_status st = shade_cbor_read_uint(d, out, err);

	if (st == SHADE_OK && *out > hi)
		return shade_error_set(err, SHADE_ERR_OVERFLOW, "integer %llu "
				       "out of range", (unsigned long long)*out);
	return st;
}

/* Encode a bitmask holding only its flags; see shade/typed.h. */
shade_status shade_typed_put_bits(struct shade_buf *b, uint64_t u,
				  uint64_t flags, const char *name,
				  shade_error **err)
{
	if ((u & ~flags) != 0)
		return shade_error_set(err, SHADE_ERR_VALUE, "bitmask %s: 0x%llx "
				       "has bits that are none of its flags "
				       "(0x%llx)", name, (unsigned long long)u,
				       (unsigned long long)flags);
	return shade_cbor_put_uint(b, u);
}

/* Read a bitmask holding only its flags; see shade/typed.h. */
shade_status shade_typed_get_bits(struct shade_cbor_dec *d, uint64_t hi,
				  uint64_t flags, const char *name,
				  uint64_t *out, shade_error **err)
{
	uint64_t u = 0;
	shade_status st = shade_typed_get_uint(d, hi, &u, err);

	if (st == SHADE_OK && (u & ~flags) != 0)
		st = shade_error_set(err, SHADE_ERR_VALUE, "bitmask %s: 0x%llx "
				     "has bits that are none of its flags "
				     "(0x%llx)", name, (unsigned long long)u,
				     (unsigned long long)flags);
	if (st == SHADE_OK)
		*out = u;
	return st;
}

/* Read a sequence head, tagged list snapshot or bare array; see
 * shade/typed.h. */
shade_status shade_typed_read_seq(struct shade_cbor_dec *d, uint64_t *n,
				  shade_error **err)
{
	shade_cbor_major major = SHADE_CBOR_UINT;
	uint64_t tag = 0;
	shade_status st = shade_cbor_peek(d, &major, err);

	if (st == SHADE_OK && major == SHADE_CBOR_TAG) {
		st = shade_cbor_read_tag(d, &tag, err);
		if (st == SHADE_OK && tag != SHADE_CBOR_TAG_LIST)
			return shade_error_set(err, SHADE_ERR_TYPE, "expected "
					       "a sequence, got tag %llu",
					       (unsigned long long)tag);
	}
	return st == SHADE_OK ? shade_cbor_read_array(d, n, err) : st;
}

/* Read an array head of exactly n items; see shade/typed.h. */
shade_status shade_typed_get_array(struct shade_cbor_dec *d, uint64_t n,
				   shade_error **err)
{
	uint64_t got = 0;
	shade_status st = shade_typed_read_seq(d, &got, err);

	if (st == SHADE_OK && got != n)
		return shade_error_set(err, SHADE_ERR_TYPE, "expected %llu "
				       "values, got %llu", (unsigned long long)n,
				       (unsigned long long)got);
	return st;
}

/* Encode a reference or null; see shade/typed.h. */
shade_status shade_typed_put_ref(shade_dispatch_ctx *cx, shade_request *call,
				 struct shade_buf *b, shade_ref *r,
				 shade_error **err)
{
	shade_value *v;
	shade_status st;

	if (r == NULL)
		return shade_cbor_put_null(b);
	v = shade_ref_value(NULL, r);
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = cx ? shade_dispatch_encode_value(cx, b, v, err)
		: shade_request_encode_value(call, b, v, err);
	shade_value_free(v);
	return st;
}

/* Decode one value that must be a reference or null onto mem_ctx
 * (client side; the server decodes onto its per-call context). */
static shade_status get_ref_value(shade_dispatch_ctx *cx, shade_request *call,
				  TALLOC_CTX *mem_ctx,
				  struct shade_cbor_dec *d, shade_value **v,
				  shade_error **err)
{
	shade_status st = cx ? shade_dispatch_decode_value(cx, d, v, err)
			     : shade_request_decode_value(mem_ctx, call, d, v,
							  err);

	if (st < 0)
		return st;
	if (shade_value_kind(*v) != SHADE_REF &&
	    shade_value_kind(*v) != SHADE_NONE) {
		st = shade_error_set(err, SHADE_ERR_TYPE, "expected an object "
				     "reference, got %s",
				     shade_kind_name(shade_value_kind(*v)));
		shade_value_free(*v);
		*v = NULL;
	}
	return st;
}

/* Decode a reference with a count for the caller; see shade/typed.h. */
shade_status shade_typed_get_ref(shade_dispatch_ctx *cx, shade_request *call,
				 struct shade_cbor_dec *d, shade_ref **out,
				 shade_error **err)
{
	shade_value *v = NULL;
	shade_status st = get_ref_value(cx, call, NULL, d, &v, err);

	*out = NULL;
	if (st < 0)
		return st;
	if (shade_value_kind(v) == SHADE_REF)
		*out = shade_ref_retain(shade_value_as_ref(v));
	shade_value_free(v);
	return st;
}

/* Decode a reference owned by mem_ctx; see shade/typed.h. */
shade_status shade_typed_get_ref_on(shade_dispatch_ctx *cx,
				    shade_request *call, TALLOC_CTX *mem_ctx,
				    struct shade_cbor_dec *d, shade_ref **out,
				    shade_error **err)
{
	shade_value *v = NULL;
	shade_status st = get_ref_value(cx, call, mem_ctx, d, &v, err);

	*out = NULL;
	if (st < 0)
		return st;
	if (shade_value_kind(v) == SHADE_REF) {
		*out = shade_value_as_ref(v);
		return st;
	}
	shade_value_free(v);
	return st;
}

/* talloc destructor of a typed reference: drop its count. */
static int typed_free(typed_head *t)
{
	shade_ref_release(t->ref);
	return 0;
}

/* Allocate and fill a typed reference; see shade/typed.h. */
shade_status shade_typed_narrow(TALLOC_CTX *mem_ctx, shade_ref *ref,
				const shade_shape_desc *shape, size_t size,
				void **out, shade_error **err)
{
	typed_head *t;
	shade_status st;

	if (size < sizeof(*t) + shape->n_members * sizeof(t->map[0]))
		return shade_error_set(err, SHADE_ERR_INVALID, "%s: typed "
				       "reference too small", shape->name);
	t = talloc_named_const(mem_ctx, size, shape->name);
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	memset(t, 0, size);
	st = shade_narrow(ref, shape, t->map, err);
	if (st < 0) {
		talloc_free(t);
		return st;
	}
	t->ref = shade_ref_retain(ref);
	talloc_set_destructor(t, typed_free);
	*out = t;
	return SHADE_OK;
}

/* Free a servant with its object. */
static void servant_free(void *p)
{
	talloc_free(p);
}

/* Serve a generated implementation table; see shade/typed.h. */
shade_status shade_typed_serve(const shade_shape_desc *shape,
			       shade_dispatch_fn dispatch, const void *impl,
			       void *self, shade_ref **out, shade_error **err)
{
	shade_typed_servant *sv = talloc(NULL, shade_typed_servant);
	shade_status st;

	if (sv == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	sv->impl = impl;
	sv->self = self;
	st = shade_object_new_typed(shape, dispatch, sv, out, err);
	if (st < 0) {
		talloc_free(sv);
		return st;
	}
	shade_object_on_free(*out, servant_free, sv);
	return SHADE_OK;
}

/* The self of a served typed object; see shade/typed.h. */
void *shade_typed_served_self(shade_ref *ref, const shade_shape_desc *shape)
{
	const shade_typed_servant *sv;

	if (ref == NULL || shade_ref_is_proxy(ref) ||
	    shade_ref_shape(ref) != shape)
		return NULL;
	sv = shade_object_typed_self(ref);
	return sv ? sv->self : NULL;
}

/* talloc_report_depth_cb() callback: append each direct child of the
 * context to the array in `priv` (references are skipped). */
static void collect_child(const void *ptr, int depth, int max_depth,
			  int is_ref, void *priv)
{
	const void ***list = priv;
	size_t n;

	(void)max_depth;
	if (depth != 1 || is_ref || *list == NULL)
		return;
	n = talloc_array_length(*list);
	*list = talloc_realloc(NULL, *list, const void *, n + 1);
	if (*list != NULL)
		(*list)[n] = ptr;
}

/* Move the children of tmp onto mem_ctx; see shade/typed.h. */
shade_status shade_typed_adopt(TALLOC_CTX *mem_ctx, TALLOC_CTX *tmp,
			       shade_error **err)
{
	const void **list = talloc_array(NULL, const void *, 0);
	size_t i;

	if (list == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	talloc_report_depth_cb(tmp, 0, 1, collect_child, &list);
	if (list == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < talloc_array_length(list); i++)
		talloc_steal(mem_ctx, list[i]);
	talloc_free(list);
	return SHADE_OK;
}

/* Encode a string argument, refusing NULL; see shade/typed.h. */
shade_status shade_typed_put_str(struct shade_buf *b, const char *s,
				 const char *what, shade_error **err)
{
	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_VALUE, "string argument "
				       "'%s' is NULL", what);
	return shade_cbor_put_cstr(b, s);
}

/* The number of characters (code points) of the UTF-8 text s[0..len). */
static uint64_t utf8_chars(const char *s, size_t len)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/* Encode a bounded string; see shade/typed.h. */
shade_status shade_typed_put_bstr(struct shade_buf *b, const char *s,
				  uint64_t bound, const char *what,
				  shade_error **err)
{
	uint64_t n;

	if (s == NULL && what != NULL)
		return shade_typed_put_str(b, s, what, err);
	if (s == NULL)
		s = "";
	n = utf8_chars(s, strlen(s));
	if (n > bound)
		return shade_error_set(err, SHADE_ERR_LIMIT, "string<%llu>%s%s%s: "
				       "%llu characters", (unsigned long long)bound,
				       what ? " '" : "", what ? what : "",
				       what ? "'" : "", (unsigned long long)n);
	return shade_cbor_put_cstr(b, s);
}

/* Decode a bounded string; see shade/typed.h. */
shade_status shade_typed_get_bstr(TALLOC_CTX *mem_ctx,
				  struct shade_cbor_dec *d, uint64_t bound,
				  char **out, shade_error **err)
{
	char *s = NULL;
	size_t len = 0;
	uint64_t n;
	shade_status st = shade_cbor_read_text_dup(mem_ctx, d, &s, &len, err);

	if (st != SHADE_OK)
		return st;
	n = utf8_chars(s, len);
	if (n > bound) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_LIMIT, "string<%llu>: %llu "
				       "characters", (unsigned long long)bound,
				       (unsigned long long)n);
	}
	*out = s;
	return SHADE_OK;
}

/* Name the argument that failed to decode; see shade/typed.h. */
shade_status shade_typed_bad_arg(shade_status st, const char *param,
				 shade_error **err)
{
	char *why;

	if (st != SHADE_ERR_PROTOCOL && st != SHADE_ERR_TYPE)
		return st;
	if (err == NULL)
		return SHADE_ERR_TYPE;
	if (*err != NULL && (*err)->chain_len > 0)
		return st; /* raised elsewhere (a kept result's failure,
			    * doc/protocol.md §13.1): it goes on as it is */
	why = talloc_strdup(NULL, *err && (*err)->message ? (*err)->message
							  : "bad value");
	shade_error_free(*err);
	*err = NULL;
	st = shade_error_set(err, SHADE_ERR_TYPE, "argument '%s': %s", param,
			     why ? why : "bad value");
	talloc_free(why);
	return st;
}

/* A count held by a per-call context (shade_typed_release_later). */
typedef struct held_ref {
	shade_ref *r; /* the reference, one count */
} held_ref;

/* Release a held count when its context goes. */
static int held_ref_free(held_ref *h)
{
	shade_ref_release(h->r);
	return 0;
}

/* Release after the reply; see shade/typed.h. */
void shade_typed_release_later(shade_dispatch_ctx *cx, shade_ref *r)
{
	held_ref *h;

	if (r == NULL)
		return;
	h = talloc(shade_dispatch_mem(cx), held_ref);
	if (h == NULL) {
		shade_ref_release(r);
		return;
	}
	h->r = r;
	talloc_set_destructor(h, held_ref_free);
}

/* Write a reference to r, a new object shared for the peer, to out (in
 * a reply when cx, else in call's arguments) and drop the caller's count:
 * once sent, the export holds it (the server's only after the reply is
 * out). */
static shade_status put_shared(shade_dispatch_ctx *cx, shade_request *call,
			       struct shade_buf *out, shade_ref *r,
			       shade_error **err)
{
	shade_value *v = shade_ref_value(NULL, r);
	shade_status st;

	if (v == NULL)
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	else
		st = cx ? shade_dispatch_encode_value(cx, out, v, err)
			: shade_request_encode_value(call, out, v, err);
	shade_value_free(v);
	if (cx != NULL)
		shade_typed_release_later(cx, r);
	else
		shade_ref_release(r);
	return st;
}

/* Share a sequence as a list; see shade/typed.h. */
shade_status shade_typed_put_list(shade_dispatch_ctx *cx, shade_request *call,
				  struct shade_buf *out,
				  const struct shade_buf *items,
				  shade_error **err)
{
	shade_buf *b = shade_buf_new(NULL, items->len + 3);
	shade_value *list = NULL;
	shade_ref *r = NULL;
	shade_status st;

	if (b == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	/* tag 203 makes the array a list snapshot */
	shade_cbor_put_tag(b, SHADE_CBOR_TAG_LIST);
	shade_buf_append(b, items->data, items->len);
	st = b->status != SHADE_OK ? shade_error_set(err, SHADE_ERR_NOMEM,
						     "out of memory")
		: shade_cbor_decode(NULL, b->data, b->len, NULL, &list, err);
	talloc_free(b);
	if (st == SHADE_OK)
		st = shade_container_new(list, &r, err);
	if (st != SHADE_OK) {
		talloc_free(list);
		return st;
	}
	return put_shared(cx, call, out, r, err);
}

/* Dispatch of a struct shared by reference: GET of field `member` copies
 * that item of the encoded array (self, a talloc byte array). */
static shade_status fields_dispatch(void *self, shade_dispatch_ctx *cx,
				    uint32_t member, shade_dispatch_op op,
				    struct shade_cbor_dec *in,
				    struct shade_buf *out, shade_error **err)
{
	shade_cbor_dec d;
	uint64_t n, i;
	size_t from;

	(void)cx;
	(void)in;
	if (op != SHADE_DISPATCH_GET)
		return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
				       "a shared struct has only fields");
	shade_cbor_dec_init(&d, self, talloc_get_size(self));
	SHADE_CHECK(shade_cbor_read_array(&d, &n, err));
	if (member >= n)
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
				       "no field %u", (unsigned)member);
	for (i = 0; i < member; i++)
		SHADE_CHECK(shade_cbor_skip(&d, 0, err));
	from = d.pos;
	SHADE_CHECK(shade_cbor_skip(&d, 0, err));
	return shade_buf_append(out, d.buf + from, d.pos - from);
}

/* Free the encoded fields with their object. */
static void fields_free(void *p)
{
	talloc_free(p);
}

/* Share a struct as an object of its fields; see shade/typed.h. */
shade_status shade_typed_put_fields(shade_dispatch_ctx *cx,
				    shade_request *call, struct shade_buf *out,
				    const shade_shape_desc *shape,
				    const struct shade_buf *fields,
				    shade_error **err)
{
	uint8_t *blob = talloc_memdup(NULL, fields->data, fields->len);
	shade_ref *r = NULL;
	shade_status st;

	if (blob == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shade_object_new_typed(shape, fields_dispatch, blob, &r, err);
	if (st != SHADE_OK) {
		talloc_free(blob);
		return st;
	}
	shade_object_on_free(r, fields_free, blob);
	return put_shared(cx, call, out, r, err);
}

/* One chunk of a list as a decoder; see shade/typed.h. */
shade_status shade_typed_force(TALLOC_CTX *mem_ctx, shade_ref *list,
			       uint64_t start, uint64_t count,
			       struct shade_cbor_dec **out, shade_error **err)
{
	shade_value *snap = NULL;
	shade_error *e = NULL;
	shade_cbor_dec *d;
	uint8_t *bytes;
	size_t len = 0;
	shade_status st;

	if (list == NULL)
		return shade_error_set(err, SHADE_ERR_TYPE, "no list");
	st = shade_force_range(NULL, list, (size_t)start,
			       count > SIZE_MAX - 1 ? SIZE_MAX - 1
						    : (size_t)count,
			       &snap, err);
	if (st != SHADE_OK)
		return st;
	if (shade_value_kind(snap) != SHADE_LIST) {
		talloc_free(snap);
		return shade_error_set(err, SHADE_ERR_TYPE, "expected a list");
	}
	d = talloc(mem_ctx, shade_cbor_dec);
	bytes = d ? shade_cbor_encode(d, snap, NULL, &len, &e) : NULL;
	talloc_free(snap);
	if (d == NULL || bytes == NULL) {
		talloc_free(d);
		st = e ? shade_error_set(err, e->code, "%s", e->message)
		       : shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		shade_error_free(e);
		return st;
	}
	shade_cbor_dec_init(d, bytes, len);
	*out = d;
	return SHADE_OK;
}

/* Append a chunk of items; see shade/typed.h. */
shade_status shade_typed_seq_append(TALLOC_CTX *mem_ctx, void *items,
				    uint32_t *len, void *more, uint32_t n,
				    size_t size, shade_error **err)
{
	void **all = items;
	char *grown;

	if (n == 0) {
		talloc_free(more);
		return SHADE_OK;
	}
	if (n > UINT32_MAX - *len) {
		talloc_free(more);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "more than %u items", UINT32_MAX);
	}
	grown = talloc_realloc_size(mem_ctx, *all, (*len + (size_t)n) * size);
	if (grown == NULL) {
		talloc_free(more);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	memcpy(grown + *len * size, more, n * size);
	talloc_free(more);
	*all = grown;
	*len += n;
	return SHADE_OK;
}

/* Raise an exception from its encoded fields; see shade/typed.h. */
shade_status shade_typed_raise(shade_error **err, const char *name,
			       const struct shade_buf *b)
{
	return shade_typed_raise_cx(NULL, err, name, b);
}

/* Start catching an exception; see shade/typed.h. */
TALLOC_CTX *shade_typed_catch_begin(const shade_error *err, const char *name,
				    struct shade_cbor_dec *d)
{
	shade_dispatch_ctx *cx;

	return shade_typed_catch_begin_cx(err, name, d, &cx);
}

/* Finish catching an exception; see shade/typed.h. */
bool shade_typed_catch_end(TALLOC_CTX *mem_ctx, TALLOC_CTX *mem, bool ok)
{
	TALLOC_CTX *tmp = talloc_parent(mem);

	if (ok && shade_typed_adopt(mem_ctx, mem, NULL) != SHADE_OK)
		ok = false;
	talloc_free(tmp);
	return ok;
}

/* A local dispatch context (references as obj_local_copts); see
 * shade/typed.h. */
shade_dispatch_ctx *shade_typed_local_cx(TALLOC_CTX *mem_ctx,
					 TALLOC_CTX *mem)
{
	shade_dispatch_ctx *cx = talloc_zero(mem_ctx, shade_dispatch_ctx);

	if (cx == NULL)
		return NULL;
	cx->copts = obj_local_copts(cx);
	if (cx->copts == NULL) {
		talloc_free(cx);
		return NULL;
	}
	cx->mem = mem ? mem : (TALLOC_CTX *)cx;
	return cx;
}

/* Raise from fields written through a local context; see
 * shade/typed.h. */
shade_status shade_typed_raise_cx(shade_dispatch_ctx *cx, shade_error **err,
				  const char *name, const struct shade_buf *b)
{
	shade_value *args = NULL;
	shade_error *e = NULL;
	shade_status st;

	if (err == NULL || *err != NULL)
		return SHADE_ERR_USER;
	st = shade_cbor_decode(NULL, b->data, b->len, cx ? cx->copts : NULL,
			       &args, &e);
	if (st < 0) {
		*err = e;
		return st;
	}
	shade_error_set_named(err, SHADE_ERR_USER, name, "%s", name);
	if (*err == NULL) {
		shade_value_free(args);
		return SHADE_ERR_USER;
	}
	(*err)->args = talloc_steal(*err, args);
	return SHADE_ERR_USER;
}

/* Start catching an exception whose fields may hold references; see
 * shade/typed.h. */
TALLOC_CTX *shade_typed_catch_begin_cx(const shade_error *err,
				       const char *name,
				       struct shade_cbor_dec *d,
				       shade_dispatch_ctx **cx)
{
	TALLOC_CTX *tmp, *mem;
	uint8_t *data = NULL;
	size_t len = 0;

	*cx = NULL;
	if (err == NULL || err->name == NULL || strcmp(err->name, name) != 0 ||
	    err->args == NULL)
		return NULL;
	tmp = talloc_new(NULL);
	mem = tmp ? talloc_new(tmp) : NULL;
	*cx = mem ? shade_typed_local_cx(tmp, mem) : NULL;
	if (*cx != NULL)
		data = shade_cbor_encode(tmp, err->args, (*cx)->copts, &len,
					 NULL);
	if (data == NULL) {
		*cx = NULL;
		talloc_free(tmp);
		return NULL;
	}
	shade_cbor_dec_init(d, data, len);
	return mem;
}

/* Encode a wchar; see shade/typed.h. */
shade_status shade_typed_put_wchar(struct shade_buf *b, uint32_t c,
				   shade_error **err)
{
	char u[4];
	size_t n = shade_utf8_encode(c, u);

	if (n == 0)
		return shade_error_set(err, SHADE_ERR_VALUE, "wchar U+%04X is "
				       "not a Unicode scalar value",
				       (unsigned)c);
	return shade_cbor_put_text(b, u, n);
}

/* Decode a wchar; see shade/typed.h. */
shade_status shade_typed_get_wchar(struct shade_cbor_dec *d, uint32_t *out,
				   shade_error **err)
{
	static const unsigned char lead_bits[5] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
	const unsigned char *u;
	const char *s = NULL;
	size_t len = 0, i;
	uint32_t c;
	shade_status st = shade_cbor_read_text(d, &s, &len, err);

	if (st < 0)
		return st;
	u = (const unsigned char *)s;
	i = len == 0 ? 0 : u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ?
	    3 : 4;
	/* the reader checked the UTF-8: one character is one sequence */
	if (len == 0 || i != len)
		return shade_error_set(err, SHADE_ERR_TYPE, "expected one "
				       "character for a wchar, got %zu bytes "
				       "of text", len);
	c = u[0] & lead_bits[len];
	for (i = 1; i < len; i++)
		c = (c << 6) | (u[i] & 0x3F);
	*out = c;
	return SHADE_OK;
}

/* The canonical text of fixed<digits, scale> decimal s[0..len) into out
 * (room for len + scale + 3 bytes): an optional '-', the integer digits
 * without leading zeros ("0" when none), then '.' and exactly `scale`
 * fraction digits when scale > 0.  SHADE_ERR_VALUE when s is not a
 * decimal, SHADE_ERR_OVERFLOW when it needs more digits or more
 * fraction digits than the type has (a fraction digit that is not a
 * trailing zero). */
static shade_status fixed_canon(const char *s, size_t len, unsigned digits,
				unsigned scale, char *out)
{
	size_t i = 0, ib, ie, fb, fe, o = 0, k;
	bool neg = false, zero = true;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (ib = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		;
	ie = i;
	fb = fe = i;
	if (i < len && s[i] == '.') {
		for (fb = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		fe = i;
	}
	if (i != len || (ie == ib && fe == fb))
		return SHADE_ERR_VALUE;
	while (ib < ie && s[ib] == '0')
		ib++;
	while (fe > fb && (size_t)(fe - fb) > scale && s[fe - 1] == '0')
		fe--;
	if (fe - fb > scale || (ie - ib) + scale > digits)
		return SHADE_ERR_OVERFLOW;
	for (k = ib; k < ie; k++)
		zero = zero && s[k] == '0';
	for (k = fb; k < fe; k++)
		zero = zero && s[k] == '0';
	if (neg && !zero)
		out[o++] = '-';
	if (ib == ie)
		out[o++] = '0';
	memcpy(out + o, s + ib, ie - ib);
	o += ie - ib;
	if (scale > 0) {
		out[o++] = '.';
		memcpy(out + o, s + fb, fe - fb);
		o += fe - fb;
		for (k = fe - fb; k < scale; k++)
			out[o++] = '0';
	}
	out[o] = '\0';
	return SHADE_OK;
}

/* Encode a fixed; see shade/typed.h. */
shade_status shade_typed_put_fixed(struct shade_buf *b, const char *s,
				   unsigned digits, unsigned scale,
				   shade_error **err)
{
	char *canon;
	shade_status st;

	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_VALUE, "fixed<%u,%u> "
				       "value is NULL", digits, scale);
	canon = talloc_size(NULL, strlen(s) + scale + 3);
	if (canon == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = fixed_canon(s, strlen(s), digits, scale, canon);
	if (st == SHADE_OK)
		st = shade_cbor_put_cstr(b, canon);
	else
		shade_error_set(err, st, "'%s' is not a fixed<%u,%u> decimal",
				s, digits, scale);
	talloc_free(canon);
	return st;
}

/* Decode a fixed; see shade/typed.h. */
shade_status shade_typed_get_fixed(TALLOC_CTX *mem_ctx,
				   struct shade_cbor_dec *d, unsigned digits,
				   unsigned scale, char **out,
				   shade_error **err)
{
	const char *s = NULL;
	size_t len = 0;
	char *canon;
	shade_status st = shade_cbor_read_text(d, &s, &len, err);

	if (st < 0)
		return st;
	canon = talloc_size(mem_ctx, len + scale + 3);
	if (canon == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = fixed_canon(s, len, digits, scale, canon);
	if (st == SHADE_OK) {
		*out = canon;
		return SHADE_OK;
	}
	talloc_free(canon);
	return shade_error_set(err, st == SHADE_ERR_VALUE ? SHADE_ERR_TYPE : st,
			       "'%.*s' is not a fixed<%u,%u> decimal",
			       (int)(len > 40 ? 40 : len), s, digits, scale);
}

/* Encode a long double; see shade/typed.h. */
shade_status shade_typed_put_ldouble(struct shade_buf *b, long double v,
				     shade_error **err)
{
	double f = (double)v;

	if (isinf(f) && !isinf(v))
		return shade_error_set(err, SHADE_ERR_OVERFLOW, "long double "
				       "%Lg is out of the range of a double",
				       v);
	return shade_cbor_put_float(b, f);
}

/* ------------------------------------------------------------ valuetypes */

/* One registered valuetype: its descriptor and operations table. */
typedef struct value_factory {
	const shade_valuetype_info *info; /* the type */
	const void *ops;                  /* its V_ops table */
} value_factory;

/* The process's factory registry, guarded by value_mu (registration is
 * rare, lookups happen once per decoded value). */
static pthread_mutex_t value_mu = PTHREAD_MUTEX_INITIALIZER;
static value_factory *value_regs;     /* array of n_value_regs entries */
static size_t n_value_regs;           /* registered types */

/* Register a valuetype's operations; see shade/typed.h. */
shade_status shade_typed_value_register(const shade_valuetype_info *info,
					const void *ops)
{
	value_factory *grown;
	shade_status st = SHADE_OK;
	size_t i;

	pthread_mutex_lock(&value_mu);
	for (i = 0; i < n_value_regs; i++)
		if (value_regs[i].info == info)
			break;
	if (i == n_value_regs) {
		grown = realloc(value_regs, (n_value_regs + 1) *
				sizeof(*value_regs));
		if (grown == NULL) {
			st = SHADE_ERR_NOMEM;
			goto done;
		}
		value_regs = grown;
		n_value_regs++;
	}
	value_regs[i].info = info;
	value_regs[i].ops = ops;
done:
	pthread_mutex_unlock(&value_mu);
	return st;
}

/* The registered entry whose repository id is id[0..len), or NULL;
 * call with value_mu held. */
static const value_factory *value_find(const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < n_value_regs; i++)
		if (strlen(value_regs[i].info->repo_id) == len &&
		    memcmp(value_regs[i].info->repo_id, id, len) == 0)
			return &value_regs[i];
	return NULL;
}

/* A valuetype's operations table; see shade/typed.h. */
const void *shade_typed_value_ops(const shade_valuetype_info *info)
{
	const void *ops = NULL;
	size_t i;

	pthread_mutex_lock(&value_mu);
	for (i = 0; i < n_value_regs; i++)
		if (value_regs[i].info == info)
			ops = value_regs[i].ops;
	pthread_mutex_unlock(&value_mu);
	return ops;
}

/* True when info is `want` or derives from it (by repository id, so
 * that two generated files describing one type agree). */
static bool value_derives(const shade_valuetype_info *info,
			  const shade_valuetype_info *want)
{
	for (; info; info = info->base)
		if (info == want || strcmp(info->repo_id, want->repo_id) == 0)
			return true;
	return false;
}

/* How many values the calling thread is putting inside one another. */
static _Thread_local unsigned value_put_depth;

/* The calling thread's innermost share scope (shade/typed.h). */
static _Thread_local shade_typed_share *share_top;

/* Open a share scope; see shade/typed.h. */
void shade_typed_share_begin(shade_typed_share *s, const void *msg)
{
	memset(s, 0, sizeof(*s));
	s->msg = msg;
	s->prev = share_top;
	share_top = s;
}

/* Close a share scope; see shade/typed.h. */
void shade_typed_share_end(shade_typed_share *s)
{
	if (share_top == s)
		share_top = s->prev;
	TALLOC_FREE(s->seen);
	TALLOC_FREE(s->slots);
	s->n = s->cap = s->n_slots = 0;
}

/* The scope covering msg (a buffer or a decoder), or NULL. */
static shade_typed_share *share_of(const void *msg)
{
	return share_top != NULL && share_top->msg == msg ? share_top : NULL;
}

/* The slot of value v in s's hash (its index + 1 there, or 0 free). */
static size_t share_slot(const shade_typed_share *s, const void *v)
{
	size_t h = ((uintptr_t)v >> 4) * (size_t)0x9E3779B97F4A7C15ull;
	size_t mask = s->n_slots - 1;

	for (h &= mask; s->slots[h] != 0 && s->seen[s->slots[h] - 1] != v;
	     h = (h + 1) & mask)
		;
	return h;
}

/* Append v to s (the next index); when `hash`, index it for lookups. */
static shade_status share_add(shade_typed_share *s, void *v, bool hash,
			      shade_error **err)
{
	size_t k;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		void **seen = cap > UINT32_MAX - 1 ? NULL :
			talloc_realloc(NULL, s->seen, void *, cap);
		if (seen == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		s->seen = seen;
		s->cap = cap;
	}
	s->seen[s->n++] = v;
	if (!hash)
		return SHADE_OK;
	if (s->n * 2 > s->n_slots) { /* keep the hash at most half full */
		size_t n = s->n_slots ? s->n_slots * 2 : 32;
		uint32_t *slots = talloc_zero_array(NULL, uint32_t, n);
		if (slots == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		TALLOC_FREE(s->slots);
		s->slots = slots;
		s->n_slots = n;
		for (k = 0; k < s->n; k++)
			s->slots[share_slot(s, s->seen[k])] = (uint32_t)k + 1;
	} else {
		s->slots[share_slot(s, v)] = (uint32_t)s->n;
	}
	return SHADE_OK;
}

/* Encode a value; see shade/typed.h. */
shade_status shade_typed_put_value(shade_dispatch_ctx *cx, shade_request *call,
				   struct shade_buf *b, const void *v,
				   const shade_valuetype_info *declared,
				   shade_error **err)
{
	const shade_value_head *h = v;
	const shade_valuetype_info *info, *i;
	uint64_t n_ids = 1;
	shade_status st;

	shade_typed_share *sh = share_of(b);
	size_t at;

	if (v == NULL)
		return shade_cbor_put_null(b);
	if (sh != NULL && sh->n_slots > 0 &&
	    sh->slots[at = share_slot(sh, v)] != 0) {
		/* met before in this message: tag 205 over its index */
		st = shade_cbor_put_tag(b, SHADE_CBOR_TAG_VALUE_REF);
		return st == SHADE_OK ? shade_cbor_put_uint(b,
				sh->slots[at] - 1) : st;
	}
	info = h->info ? h->info : declared;
	if (info->put_state == NULL)
		return shade_error_set(err, SHADE_ERR_TYPE, "value type '%s' "
				       "has no typed form", info->name);
	/* A value that holds itself, directly or through others, would
	 * nest without end; no peer could read past the depth limit. */
	if (value_put_depth >= SHADE_CBOR_DEFAULT_MAX_DEPTH)
		return shade_error_set(err, SHADE_ERR_LIMIT, "value of type "
				       "'%s' nested deeper than %u values "
				       "(a cycle?)", info->name,
				       SHADE_CBOR_DEFAULT_MAX_DEPTH);
	for (i = info; i->truncatable && i->base; i = i->base)
		n_ids++;
	st = sh != NULL ? share_add(sh, (void *)(uintptr_t)v, true, err)
			: SHADE_OK;
	if (st == SHADE_OK)
		st = shade_cbor_put_array(b, 2);
	if (st == SHADE_OK)
		st = shade_cbor_put_array(b, n_ids);
	for (i = info; st == SHADE_OK && n_ids-- > 0; i = i->base)
		st = shade_cbor_put_cstr(b, i->repo_id);
	if (st == SHADE_OK)
		st = shade_cbor_put_array(b, info->n_state);
	if (st == SHADE_OK) {
		value_put_depth++;
		st = info->put_state(cx, call, b, v, err);
		value_put_depth--;
	}
	return st;
}

/* Read a value's type list and choose the type to decode it as:
 * *chosen (NULL when none fits; *first then the most-derived id on
 * mem), *exact when it is the most-derived type. */
static shade_status value_choose(TALLOC_CTX *mem, struct shade_cbor_dec *d,
				 const shade_valuetype_info *declared,
				 const shade_valuetype_info **chosen,
				 bool *exact, char **first, shade_error **err)
{
	const value_factory *f;
	const char *id;
	size_t len;
	uint64_t n, k;
	shade_status st = shade_typed_get_array(d, 2, err);

	if (st == SHADE_OK)
		st = shade_cbor_read_array(d, &n, err);
	if (st != SHADE_OK)
		return st;
	if (n == 0 || n == SHADE_CBOR_INDEFINITE)
		return shade_error_set(err, SHADE_ERR_TYPE, "a value's type "
				       "list must be a non-empty array");
	*chosen = NULL;
	for (k = 0; k < n; k++) {
		st = shade_cbor_read_text(d, &id, &len, err);
		if (st != SHADE_OK)
			return st;
		if (k == 0 && (*first = talloc_strndup(mem, id, len)) == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		if (*chosen != NULL)
			continue;
		*exact = k == 0;
		if (strlen(declared->repo_id) == len &&
		    memcmp(declared->repo_id, id, len) == 0) {
			*chosen = declared;
			continue;
		}
		pthread_mutex_lock(&value_mu);
		f = value_find(id, len);
		if (f && value_derives(f->info, declared))
			*chosen = f->info;
		pthread_mutex_unlock(&value_mu);
	}
	return SHADE_OK;
}

/* Decode the back-reference (tag 205 over an index) at d into the
 * value of scope sh it names, declared as `declared`. */
static shade_status value_backref(shade_typed_share *sh,
				  struct shade_cbor_dec *d,
				  const shade_valuetype_info *declared,
				  void **out, shade_error **err)
{
	const shade_value_head *h;
	size_t at = d->pos;
	uint64_t tag, k;
	shade_status st = shade_cbor_read_tag(d, &tag, err);

	if (st == SHADE_OK)
		st = shade_cbor_read_uint(d, &k, err);
	if (st != SHADE_OK)
		return st;
	if (sh == NULL)
		return shade_error_set(err, SHADE_ERR_PROTOCOL, "value "
				       "back-reference (tag 205) at offset %zu "
				       "outside a message's values", at);
	if (k >= sh->n || sh->seen[k] == NULL)
		return shade_error_set(err, SHADE_ERR_PROTOCOL, "value "
				       "back-reference %llu at offset %zu names "
				       "no value decoded before it (%zu were)",
				       (unsigned long long)k, at, sh->n);
	h = sh->seen[k];
	if (!value_derives(h->info, declared))
		return shade_error_set(err, SHADE_ERR_TYPE, "value "
				       "back-reference %llu names a '%s', not "
				       "a '%s'", (unsigned long long)k,
				       h->info->name, declared->name);
	*out = sh->seen[k];
	return SHADE_OK;
}

/* Decode a value; see shade/typed.h. */
shade_status shade_typed_get_value(shade_dispatch_ctx *cx, shade_request *call,
				   TALLOC_CTX *mem_ctx, struct shade_cbor_dec *d,
				   const shade_valuetype_info *declared,
				   void **out, shade_error **err)
{
	TALLOC_CTX *tmp;
	const shade_valuetype_info *chosen = NULL;
	shade_value_head *h;
	char *first = NULL;
	bool exact = false;
	uint64_t n = 0, k;
	void *v = NULL;
	shade_status st;

	shade_typed_share *sh = share_of(d);
	size_t slot = 0;

	*out = NULL;
	if (shade_cbor_at_null(d))
		return shade_cbor_read_null(d, err);
	if (d->pos < d->len && d->buf[d->pos] ==
	    (SHADE_CBOR_TAG << 5 | 24) && d->pos + 1 < d->len &&
	    d->buf[d->pos + 1] == SHADE_CBOR_TAG_VALUE_REF)
		return value_backref(sh, d, declared, out, err);
	tmp = talloc_new(NULL);
	if (tmp == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = value_choose(tmp, d, declared, &chosen, &exact, &first, err);
	if (st == SHADE_OK && chosen == NULL)
		st = shade_error_set(err, SHADE_ERR_TYPE, "value of type '%s' "
				     "is not a '%s' and cannot be truncated "
				     "to it", first, declared->name);
	if (st == SHADE_OK)
		st = shade_typed_read_seq(d, &n, err);
	if (st == SHADE_OK && (n == SHADE_CBOR_INDEFINITE ||
			       (exact ? n != chosen->n_state :
				n < chosen->n_state)))
		st = shade_error_set(err, SHADE_ERR_TYPE, "value '%s' has %llu "
				     "state members, expected %s%u", first,
				     (unsigned long long)n, exact ? "" :
				     "at least ", (unsigned)chosen->n_state);
	if (st == SHADE_OK) {
		v = talloc_zero_size(tmp, chosen->size);
		if (v == NULL)
			st = shade_error_set(err, SHADE_ERR_NOMEM,
					     "out of memory");
	}
	if (st == SHADE_OK && sh != NULL) {
		/* its index, before its state: a value may hold itself */
		slot = sh->n;
		st = share_add(sh, v, false, err);
	}
	if (st == SHADE_OK) {
		talloc_set_name_const(v, chosen->c_name);
		h = v;
		h->info = chosen;
		h->ops = shade_typed_value_ops(chosen);
		st = chosen->get_state == NULL ? shade_error_set(err,
			SHADE_ERR_TYPE, "value type '%s' has no typed form",
			chosen->name) : chosen->get_state(cx, call, v, d, v, err);
	}
	/* truncation: the derived types' state members are skipped */
	for (k = chosen ? chosen->n_state : 0; st == SHADE_OK && k < n; k++)
		st = shade_cbor_skip(d, 0, err);
	if (st == SHADE_OK)
		*out = talloc_steal(mem_ctx, v);
	else if (sh != NULL && v != NULL && slot < sh->n &&
		 sh->seen[slot] == v)
		for (k = slot; k < sh->n; k++) /* freed below with v */
			sh->seen[k] = NULL;
	talloc_free(tmp);
	return st;
}
