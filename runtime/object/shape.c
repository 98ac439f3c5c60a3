/*
 * shape.c - shape descriptors: canonical form, fingerprints, decoding
 * from the wire and the structural narrowing check.
 *
 * The canonical form is written in shape.h and doc/protocol.md §8; the
 * fingerprints of the three built-in shapes are pinned by the tests.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/shape.h"
#include "object/shape_int.h"

const shade_shape_desc shade_shape_function = {
	SHADE_SHAPE_FUNCTION, "builtins.function", NULL, 0, NULL, 0,
	UINT64_C(0x68c10fbcb07e79f1), NULL
};

/* The methods of a shared list and of a shared dict (doc/protocol.md
 * §3.4): their order is their member index on the wire. */
static const shade_member_desc list_members[] = {
	{ "append", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "extend", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "insert", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "pop", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "remove", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "index", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "count", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "clear", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "reverse", SHADE_MEMBER_METHOD, NULL, NULL },
};

static const shade_member_desc dict_members[] = {
	{ "get", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "setdefault", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "update", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "pop", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "keys", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "values", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "items", SHADE_MEMBER_METHOD, NULL, NULL },
	{ "clear", SHADE_MEMBER_METHOD, NULL, NULL },
};

const shade_shape_desc shade_shape_list = {
	SHADE_SHAPE_LIST, "builtins.list", NULL, 0, list_members,
	sizeof(list_members) / sizeof(list_members[0]),
	UINT64_C(0x87a6048d63c0d557), NULL
};

const shade_shape_desc shade_shape_dict = {
	SHADE_SHAPE_DICT, "builtins.dict", NULL, 0, dict_members,
	sizeof(dict_members) / sizeof(dict_members[0]),
	UINT64_C(0xa8e43758c8732aee), NULL
};

uint64_t shape_fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = SHADE_FNV64_OFFSET;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= SHADE_FNV64_PRIME;
	}
	return h;
}

const shade_shape_desc *shape_builtin(uint64_t fp)
{
	if (fp == shade_shape_function.fingerprint)
		return &shade_shape_function;
	if (fp == shade_shape_list.fingerprint)
		return &shade_shape_list;
	if (fp == shade_shape_dict.fingerprint)
		return &shade_shape_dict;
	return NULL;
}

bool shape_is_builtin(uint64_t fp)
{
	return shape_builtin(fp) != NULL;
}

shade_status shape_encode(shade_buf *b, const shade_shape_desc *d)
{
	size_t i;

	shade_cbor_put_array(b, d->doc ? 5 : 4);
	shade_cbor_put_uint(b, (uint64_t)d->kind);
	shade_cbor_put_cstr(b, d->name);
	shade_cbor_put_array(b, d->n_bases);
	for (i = 0; i < d->n_bases; i++)
		shade_cbor_put_cstr(b, d->bases[i]);
	shade_cbor_put_array(b, d->n_members);
	for (i = 0; i < d->n_members; i++) {
		const shade_member_desc *m = &d->members[i];

		shade_cbor_put_array(b, m->doc ? 4 : m->signature ? 3 : 2);
		shade_cbor_put_cstr(b, m->name);
		shade_cbor_put_uint(b, (uint64_t)m->kind);
		if (m->signature)
			shade_cbor_put_cstr(b, m->signature);
		else if (m->doc)
			shade_cbor_put_null(b);
		if (m->doc)
			shade_cbor_put_cstr(b, m->doc);
	}
	if (d->doc)
		shade_cbor_put_cstr(b, d->doc);
	return b->status;
}

/* Check that a name is present and valid UTF-8. */
static shade_status check_name(const char *s, const char *what,
			       shade_error **err)
{
	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shape: %s is NULL", what);
	if (shade_utf8_check(s, strlen(s), NULL) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shape: %s is not UTF-8", what);
	return SHADE_OK;
}

/* Validate every field of d before encoding it. */
static shade_status shape_validate(const shade_shape_desc *d,
				   shade_error **err)
{
	size_t i;

	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "shape is NULL");
	if ((unsigned)d->kind > SHADE_SHAPE_DICT)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shape: kind %d out of range",
				       (int)d->kind);
	SHADE_CHECK(check_name(d->name, "name", err));
	if (d->n_bases > 0 && d->bases == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shape %s: bases is NULL", d->name);
	if (d->n_members > 0 && d->members == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shape %s: members is NULL", d->name);
	for (i = 0; i < d->n_bases; i++)
		SHADE_CHECK(check_name(d->bases[i], "base name", err));
	for (i = 0; i < d->n_members; i++) {
		const shade_member_desc *m = &d->members[i];

		SHADE_CHECK(check_name(m->name, "member name", err));
		if ((unsigned)m->kind > SHADE_MEMBER_ONEWAY)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "shape %s: member %s: kind %d "
					       "out of range", d->name,
					       m->name, (int)m->kind);
		if (m->signature != NULL)
			SHADE_CHECK(check_name(m->signature, "signature",
					       err));
		if (m->doc != NULL)
			SHADE_CHECK(check_name(m->doc, "member doc", err));
	}
	if (d->doc != NULL)
		SHADE_CHECK(check_name(d->doc, "doc", err));
	return SHADE_OK;
}

shade_status shade_shape_canonical(void *mem_ctx, const shade_shape_desc *d,
				   uint8_t **out, shade_error **err)
{
	shade_buf *b;
	size_t len;

	SHADE_CHECK(shape_validate(d, err));
	b = shade_buf_new(NULL, 64);
	if (b == NULL || shape_encode(b, d) != SHADE_OK) {
		talloc_free(b);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*out = shade_buf_steal(mem_ctx, b, &len);
	talloc_free(b);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

shade_status shade_shape_fingerprint(const shade_shape_desc *d, uint64_t *out,
				     shade_error **err)
{
	uint8_t *bytes;

	SHADE_CHECK(shade_shape_canonical(NULL, d, &bytes, err));
	*out = shape_fnv1a(bytes, talloc_get_size(bytes));
	talloc_free(bytes);
	return SHADE_OK;
}

uint64_t shade_shape_fp(const shade_shape_desc *d)
{
	uint64_t fp = 0;

	if (d->fingerprint != 0)
		return d->fingerprint;
	if (shade_shape_fingerprint(d, &fp, NULL) != SHADE_OK)
		return 0;
	return fp;
}

long shade_shape_find(const shade_shape_desc *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_members; i++)
		if (strcmp(d->members[i].name, name) == 0)
			return (long)i;
	return -1;
}

shade_shape_desc *shade_shape_copy(void *mem_ctx, const shade_shape_desc *d)
{
	shade_shape_desc *c = talloc_zero(mem_ctx, shade_shape_desc);
	const char **bases;
	shade_member_desc *members;
	size_t i;
	bool ok = true;

	if (c == NULL)
		return NULL;
	c->kind = d->kind;
	c->name = talloc_strdup(c, d->name);
	bases = talloc_zero_array(c, const char *, d->n_bases + 1);
	members = talloc_zero_array(c, shade_member_desc, d->n_members + 1);
	ok = c->name != NULL && bases != NULL && members != NULL;
	for (i = 0; ok && i < d->n_bases; i++)
		ok = (bases[i] = talloc_strdup(bases, d->bases[i])) != NULL;
	for (i = 0; ok && i < d->n_members; i++) {
		members[i].kind = d->members[i].kind;
		ok = (members[i].name = talloc_strdup(
			      members, d->members[i].name)) != NULL;
		if (ok && d->members[i].signature != NULL)
			ok = (members[i].signature = talloc_strdup(
				      members, d->members[i].signature)) !=
			     NULL;
		if (ok && d->members[i].doc != NULL)
			ok = (members[i].doc = talloc_strdup(
				      members, d->members[i].doc)) != NULL;
	}
	if (ok && d->doc != NULL)
		ok = (c->doc = talloc_strdup(c, d->doc)) != NULL;
	if (!ok) {
		talloc_free(c);
		return NULL;
	}
	c->bases = bases;
	c->n_bases = d->n_bases;
	c->members = members;
	c->n_members = d->n_members;
	c->fingerprint = shade_shape_fp(d);
	return c;
}

bool shade_shape_is_a(const shade_shape_desc *d, const char *type)
{
	size_t i;

	if (strcmp(d->name, type) == 0)
		return true;
	for (i = 0; i < d->n_bases; i++)
		if (strcmp(d->bases[i], type) == 0)
			return true;
	return false;
}

/* True when a member of kind `have` can serve a wanted kind `want`. */
static bool kind_compatible(shade_member_kind have, shade_member_kind want)
{
	if (have == want)
		return true;
	if (want == SHADE_MEMBER_READONLY && have == SHADE_MEMBER_ATTR)
		return true;
	if (want == SHADE_MEMBER_ONEWAY && have == SHADE_MEMBER_METHOD)
		return true;
	return false;
}

shade_status shade_shape_check(const shade_shape_desc *have,
			       const shade_shape_desc *want, uint32_t *map,
			       shade_error **err)
{
	size_t i;

	if (have == NULL || want == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shape check: NULL shape");
	if (have->fingerprint != 0 && have->fingerprint == shade_shape_fp(want)) {
		for (i = 0; map != NULL && i < want->n_members; i++)
			map[i] = (uint32_t)i;
		return SHADE_OK;
	}
	for (i = 0; i < want->n_members; i++) {
		const shade_member_desc *w = &want->members[i];
		long j = shade_shape_find(have, w->name);

		if (j < 0)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "%s has no member %s required "
					       "by %s", have->name, w->name,
					       want->name);
		if (!kind_compatible(have->members[j].kind, w->kind))
			return shade_error_set(
				err, SHADE_ERR_TYPE,
				"%s.%s is a %s, %s wants a %s", have->name,
				w->name,
				shade_member_kind_name(have->members[j].kind),
				want->name, shade_member_kind_name(w->kind));
		if (w->signature != NULL && have->members[j].signature != NULL &&
		    strcmp(w->signature, have->members[j].signature) != 0)
			return shade_error_set(
				err, SHADE_ERR_TYPE,
				"%s.%s has type %s, %s wants %s", have->name,
				w->name, have->members[j].signature,
				want->name, w->signature);
		if (map != NULL)
			map[i] = (uint32_t)j;
	}
	return SHADE_OK;
}

const char *shade_member_kind_name(shade_member_kind kind)
{
	switch (kind) {
	case SHADE_MEMBER_ATTR: return "attribute";
	case SHADE_MEMBER_READONLY: return "readonly";
	case SHADE_MEMBER_METHOD: return "method";
	case SHADE_MEMBER_ONEWAY: return "oneway";
	}
	return "unknown";
}

/* Read a text item as a NUL-terminated copy on mem_ctx. */
static shade_status read_str(void *mem_ctx, shade_cbor_dec *d, char **out,
			     shade_error **err)
{
	return shade_cbor_read_text_dup(mem_ctx, d, out, NULL, err);
}

/* Read a definite array head of at most max items. */
static shade_status read_count(shade_cbor_dec *d, uint64_t max, uint64_t *n,
			       shade_error **err)
{
	SHADE_CHECK(shade_cbor_read_array(d, n, err));
	if (*n == SHADE_CBOR_INDEFINITE || *n > max)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "shape description: bad array length");
	return SHADE_OK;
}

/* Decode the fields of a description into c (allocated by the caller). */
static shade_status shape_decode_fields(shade_shape_desc *c,
					shade_cbor_dec *d, shade_error **err)
{
	uint64_t n, nf, k, i;
	const char **bases;
	shade_member_desc *members;
	char *s;

	SHADE_CHECK(read_count(d, 5, &n, err));
	if (n != 4 && n != 5)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "shape description: %u fields, want 4 "
				       "or 5", (unsigned)n);
	nf = n;
	SHADE_CHECK(shade_cbor_read_uint(d, &k, err));
	if (k > SHADE_SHAPE_DICT)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "shape description: kind %u",
				       (unsigned)k);
	c->kind = (shade_shape_kind)k;
	SHADE_CHECK(read_str(c, d, &s, err));
	c->name = s;
	SHADE_CHECK(read_count(d, 1u << 16, &n, err));
	bases = talloc_zero_array(c, const char *, n + 1);
	if (bases == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	c->bases = bases;
	for (i = 0; i < n; i++) {
		SHADE_CHECK(read_str(bases, d, &s, err));
		bases[i] = s;
		c->n_bases++;
	}
	SHADE_CHECK(read_count(d, 1u << 20, &n, err));
	members = talloc_zero_array(c, shade_member_desc, n + 1);
	if (members == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	c->members = members;
	for (i = 0; i < n; i++) {
		uint64_t f, mk;

		SHADE_CHECK(read_count(d, 4, &f, err));
		if (f < 2)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "shape description: member "
					       "with %u fields", (unsigned)f);
		SHADE_CHECK(read_str(members, d, &s, err));
		members[i].name = s;
		SHADE_CHECK(shade_cbor_read_uint(d, &mk, err));
		if (mk > SHADE_MEMBER_ONEWAY)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "shape description: member "
					       "kind %u", (unsigned)mk);
		members[i].kind = (shade_member_kind)mk;
		if (f == 4 && shade_cbor_at_null(d)) {
			SHADE_CHECK(shade_cbor_read_null(d, err));
		} else if (f >= 3) {
			SHADE_CHECK(read_str(members, d, &s, err));
			members[i].signature = s;
		}
		if (f == 4) {
			SHADE_CHECK(read_str(members, d, &s, err));
			members[i].doc = s;
		}
		c->n_members++;
	}
	if (nf == 5) {
		SHADE_CHECK(read_str(c, d, &s, err));
		c->doc = s;
	}
	return SHADE_OK;
}

shade_status shape_decode(void *mem_ctx, shade_cbor_dec *d,
			  shade_shape_desc **out, shade_error **err)
{
	shade_shape_desc *c = talloc_zero(NULL, shade_shape_desc);
	size_t start = d->pos;
	shade_status st;

	if (c == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shape_decode_fields(c, d, err);
	if (st != SHADE_OK) {
		talloc_free(c);
		return st;
	}
	c->fingerprint = shape_fnv1a(d->buf + start, d->pos - start);
	*out = talloc_steal(mem_ctx, c);
	return SHADE_OK;
}
