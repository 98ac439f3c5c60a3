/*
 * box.c - boxes of scalars, strings, bytes, refs and exceptions (each a
 * talloc-allocated shade_value owning its payload), and the generic
 * accessors: length, kind names, strdup, free.  Containers are made by
 * seq_api.c and dict_api.c.
 */
#include <stdarg.h>
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

/* A new box on mem_ctx holding the scalar v. */
static shade_value *box_scalar(TALLOC_CTX *mem_ctx, shade_value v)
{
	shade_value *b = talloc(mem_ctx, shade_value);

	if (b != NULL)
		*b = v;
	return b;
}

shade_value *shade_none(TALLOC_CTX *mem_ctx)
{
	return box_scalar(mem_ctx, shade_value_none());
}

shade_value *shade_bool(TALLOC_CTX *mem_ctx, bool b)
{
	return box_scalar(mem_ctx, shade_value_bool(b));
}

shade_value *shade_int(TALLOC_CTX *mem_ctx, int64_t i)
{
	return box_scalar(mem_ctx, shade_value_int(i));
}

shade_value *shade_float(TALLOC_CTX *mem_ctx, double f)
{
	return box_scalar(mem_ctx, shade_value_float(f));
}

/* Check and box text; borrow it instead of copying when `borrow`. */
static shade_value *box_text(TALLOC_CTX *mem_ctx, const char *s, size_t len,
			     bool borrow, shade_error **err)
{
	shade_value *b;
	size_t bad;

	if (s == NULL && len > 0) {
		shade_error_set(err, SHADE_ERR_INVALID, "NULL text");
		return NULL;
	}
	if (len > SHADE_STR_MAX) {
		shade_error_set(err, SHADE_ERR_LIMIT,
				"text of %zu bytes exceeds the limit", len);
		return NULL;
	}
	if (shade_utf8_check(s, len, &bad) != SHADE_OK) {
		shade_error_set(err, SHADE_ERR_UTF8,
				"invalid UTF-8 at byte offset %zu", bad);
		return NULL;
	}
	b = talloc(mem_ctx, shade_value);
	if (b == NULL)
		goto nomem;
	if (borrow && len > 0) {
		*b = shade_value_none();
		b->tag = SHADE_STR | SHADE_VF_BORROWED;
		b->len = (uint32_t)len;
		b->u.s = s;
		return b;
	}
	if (shade_slot_set_data_(b, b, SHADE_STR, s, len) != SHADE_OK) {
		talloc_free(b);
		goto nomem;
	}
	return b;
nomem:
	shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return NULL;
}

shade_value *shade_str(TALLOC_CTX *mem_ctx, const char *s)
{
	if (s == NULL)
		return NULL;
	return box_text(mem_ctx, s, strlen(s), false, NULL);
}

shade_status shade_str_new(TALLOC_CTX *mem_ctx, const char *s,
			   shade_value **out, shade_error **err)
{
	shade_error *e = NULL;
	shade_status st;

	if (out == NULL || s == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shade_str_new: %s is NULL",
				       out == NULL ? "out" : "s");
	*out = box_text(mem_ctx, s, strlen(s), false, &e);
	if (*out != NULL)
		return SHADE_OK;
	st = e != NULL ? e->code : SHADE_ERR_NOMEM;
	if (err != NULL && *err == NULL)
		*err = e;             /* the caller's first error wins */
	else
		shade_error_free(e);
	return st;
}

shade_value *shade_strn(TALLOC_CTX *mem_ctx, const char *s, size_t len)
{
	return box_text(mem_ctx, s, len, false, NULL);
}

shade_value *shade_str_checked(TALLOC_CTX *mem_ctx, const char *s, size_t len,
			       shade_error **err)
{
	return box_text(mem_ctx, s, len, false, err);
}

shade_value *shade_str_borrow(TALLOC_CTX *mem_ctx, const char *s, size_t len,
			      shade_error **err)
{
	return box_text(mem_ctx, s, len, true, err);
}

shade_value *shade_str_printf(TALLOC_CTX *mem_ctx, const char *fmt, ...)
{
	va_list ap;
	char *s;
	shade_value *b;

	va_start(ap, fmt);
	s = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return NULL;
	b = box_text(mem_ctx, s, strlen(s), false, NULL);
	talloc_free(s);
	return b;
}

/* Box len bytes at p, copying unless `borrow`. */
static shade_value *box_bytes(TALLOC_CTX *mem_ctx, const void *p, size_t len,
			      bool borrow)
{
	shade_value *b;

	if ((p == NULL && len > 0) || len > SHADE_STR_MAX)
		return NULL;
	b = talloc(mem_ctx, shade_value);
	if (b == NULL)
		return NULL;
	if (borrow && len > 0) {
		*b = shade_value_none();
		b->tag = SHADE_BYTES | SHADE_VF_BORROWED;
		b->len = (uint32_t)len;
		b->u.p = p;
		return b;
	}
	if (shade_slot_set_data_(b, b, SHADE_BYTES, p, len) != SHADE_OK) {
		talloc_free(b);
		return NULL;
	}
	return b;
}

shade_value *shade_bytes(TALLOC_CTX *mem_ctx, const void *p, size_t len)
{
	return box_bytes(mem_ctx, p, len, false);
}

shade_value *shade_bytes_borrow(TALLOC_CTX *mem_ctx, const void *p, size_t len)
{
	return box_bytes(mem_ctx, p, len, true);
}

shade_value *shade_ref_value_take(TALLOC_CTX *mem_ctx, struct shade_ref *ref)
{
	shade_value *b;

	if (ref == NULL)
		return NULL;
	b = talloc(mem_ctx, shade_value);
	if (b == NULL) {
		shade_ref_release_(ref);
		return NULL;
	}
	*b = shade_value_none();
	b->tag = SHADE_REF;
	b->u.ref = ref;
	shade_box_watch_ref_(b);
	return b;
}

shade_value *shade_ref_value(TALLOC_CTX *mem_ctx, struct shade_ref *ref)
{
	if (ref == NULL)
		return NULL;
	shade_ref_retain_(ref);
	return shade_ref_value_take(mem_ctx, ref);
}

shade_value *shade_exc_take(TALLOC_CTX *mem_ctx, shade_error *e)
{
	shade_value *b;

	if (e == NULL)
		return NULL;
	b = talloc(mem_ctx, shade_value);
	if (b == NULL) {
		talloc_free(e);
		return NULL;
	}
	*b = shade_value_none();
	b->tag = SHADE_EXC;
	b->u.exc = talloc_steal(b, e);
	return b;
}

shade_value *shade_exc(TALLOC_CTX *mem_ctx, const shade_error *e)
{
	shade_error *c;

	if (e == NULL)
		return NULL;
	c = shade_error_copy_(NULL, e);
	if (c == NULL)
		return NULL;
	return shade_exc_take(mem_ctx, c);
}

void shade_value_free(shade_value *v)
{
	talloc_free(v);
}

size_t shade_value_len(const shade_value *v)
{
	switch (shade_tag_kind_(v)) {
	case SHADE_STR:
	case SHADE_BYTES:
		return v->len;
	case SHADE_TUPLE:
	case SHADE_LIST:
		return v->u.seq->len;
	case SHADE_DICT:
		return v->u.dict->len;
	default:
		return 0;
	}
}

char *shade_value_strdup(TALLOC_CTX *mem_ctx, const shade_value *v)
{
	if (shade_tag_kind_(v) != SHADE_STR)
		return NULL;
	return talloc_strndup(mem_ctx, v->u.s, v->len);
}

const char *shade_kind_name(shade_kind kind)
{
	static const char *const names[] = {
		"none", "bool", "int", "float", "str", "bytes",
		"tuple", "list", "dict", "ref", "exc"
	};

	if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
		return names[kind];
	return "invalid";
}
