/*
 * dict_api.c - the public dict API: constructor, lookup, set (copying or
 * taking), delete, iteration.  Storage lives in dict.c.
 */
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

shade_value *shade_dict_new(TALLOC_CTX *mem_ctx, size_t cap_hint)
{
	shade_value *b = talloc(mem_ctx, shade_value);

	if (b == NULL)
		return NULL;
	*b = shade_value_none();
	b->u.dict = shade_dict_alloc_(b, cap_hint);
	if (b->u.dict == NULL) {
		talloc_free(b);
		return NULL;
	}
	b->tag = SHADE_DICT;
	return b;
}

/* Fail with SHADE_ERR_TYPE unless v is a dict. */
static shade_status need_dict(const shade_value *v, shade_error **err)
{
	if (v != NULL && shade_value_kind(v) == SHADE_DICT)
		return SHADE_OK;
	return shade_error_set(err, SHADE_ERR_TYPE, "expected a dict, got %s",
			       v ? shade_kind_name(shade_value_kind(v)) : "NULL");
}

/* Hash key or fail with SHADE_ERR_TYPE. */
static shade_status need_key(const shade_value *key, uint64_t *h,
			     shade_error **err)
{
	if (key != NULL && shade_value_hash_(key, h))
		return SHADE_OK;
	return shade_error_set(err, SHADE_ERR_TYPE,
			       "unhashable dict key of kind %s",
			       key ? shade_kind_name(shade_value_kind(key))
				   : "NULL");
}

/* Fail with SHADE_ERR_KEY naming the key (Python: KeyError(key)). */
static shade_status key_error(const shade_value *key, shade_error **err)
{
	char *s = shade_value_diag(NULL, key);
	shade_status st = shade_error_set(err, SHADE_ERR_KEY, "%s",
					  s ? s : "key not found");

	talloc_free(s);
	return st;
}

size_t shade_dict_len(const shade_value *dict)
{
	return shade_value_kind(dict) == SHADE_DICT ? dict->u.dict->len : 0;
}

const shade_value *shade_dict_get(const shade_value *dict,
				  const shade_value *key)
{
	const struct shade_dict_entry *e;
	uint64_t h;

	if (shade_value_kind(dict) != SHADE_DICT || !shade_value_hash_(key, &h))
		return NULL;
	e = shade_dict_find_(dict->u.dict, key, h);
	return e ? &e->val : NULL;
}

const shade_value *shade_dict_get_str(const shade_value *dict,
				      const char *key)
{
	shade_value k = shade_value_none();
	size_t len = strlen(key);

	if (len > SHADE_STR_MAX)
		return NULL;
	k.tag = SHADE_STR | SHADE_VF_BORROWED | SHADE_VF_NUL;
	k.len = (uint32_t)len;
	k.u.s = key;
	return shade_dict_get(dict, &k);
}

shade_status shade_dict_lookup(const shade_value *dict,
			       const shade_value *key,
			       const shade_value **out, shade_error **err)
{
	const struct shade_dict_entry *e;
	uint64_t h;

	SHADE_CHECK(need_dict(dict, err));
	SHADE_CHECK(need_key(key, &h, err));
	e = shade_dict_find_(dict->u.dict, key, h);
	if (e == NULL)
		return key_error(key, err);
	*out = &e->val;
	return SHADE_OK;
}

/* Store the prepared slots k, v (owned by d) under hash h; on failure
 * both are cleared and err says why. */
static shade_status dict_store(struct shade_dict *d, shade_value *k,
			       shade_value *v, uint64_t h, shade_error **err)
{
	shade_status st = shade_dict_store_(d, k, v, h);

	if (st != SHADE_OK)
		return shade_error_set(err, st, "cannot grow the dict to %zu "
				       "entries", d->len + 1);
	return SHADE_OK;
}

shade_status shade_dict_set(shade_value *dict, const shade_value *key,
			    const shade_value *val, shade_error **err)
{
	struct shade_dict *d;
	shade_value k, v;
	uint64_t h;

	SHADE_CHECK(need_dict(dict, err));
	SHADE_CHECK(need_key(key, &h, err));
	d = dict->u.dict;
	if (shade_slot_copy_(d, &k, key, NULL) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (shade_slot_copy_(d, &v, val, NULL) != SHADE_OK) {
		shade_slot_clear_(&k);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	return dict_store(d, &k, &v, h, err);
}

shade_status shade_dict_set_take(shade_value *dict, shade_value *key,
				 shade_value *val, shade_error **err)
{
	struct shade_dict *d;
	shade_value k, v;
	uint64_t h;
	shade_status st = need_dict(dict, err);

	if (st == SHADE_OK)
		st = need_key(key, &h, err);
	if (st == SHADE_OK && val == NULL)
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     VALUE_NULL_TAKEN);
	if (st == SHADE_OK &&
	    (key == dict || val == dict ||
	     shade_box_contains_(key, dict->u.dict) ||
	     shade_box_contains_(val, dict->u.dict)))
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     "cannot move a container into itself");
	if (st != SHADE_OK) {
		talloc_free(key);
		talloc_free(val);
		return st;
	}
	d = dict->u.dict;
	shade_slot_take_(d, &k, key);
	shade_slot_take_(d, &v, val);
	return dict_store(d, &k, &v, h, err);
}

shade_status shade_dict_set_str(shade_value *dict, const char *key,
				const shade_value *val, shade_error **err)
{
	shade_value k = shade_value_none();
	size_t len, bad;

	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL key");
	len = strlen(key);
	if (len > SHADE_STR_MAX)
		return shade_error_set(err, SHADE_ERR_LIMIT, "key too long");
	if (shade_utf8_check(key, len, &bad) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_UTF8,
				       "invalid UTF-8 at byte offset %zu", bad);
	k.tag = SHADE_STR | SHADE_VF_BORROWED | SHADE_VF_NUL;
	k.len = (uint32_t)len;
	k.u.s = key;
	return shade_dict_set(dict, &k, val, err);
}

shade_status shade_dict_delete(shade_value *dict, const shade_value *key,
			       shade_error **err)
{
	uint64_t h;

	SHADE_CHECK(need_dict(dict, err));
	SHADE_CHECK(need_key(key, &h, err));
	if (!shade_dict_remove_(dict->u.dict, key, h))
		return key_error(key, err);
	return SHADE_OK;
}

bool shade_dict_contains(const shade_value *dict, const shade_value *key)
{
	return shade_dict_get(dict, key) != NULL;
}

bool shade_dict_next(const shade_value *dict, size_t *pos,
		     const shade_value **key, const shade_value **val)
{
	const struct shade_dict *d;

	if (shade_value_kind(dict) != SHADE_DICT)
		return false;
	d = dict->u.dict;
	while (*pos < d->used) {
		const struct shade_dict_entry *e = &d->entries[(*pos)++];

		if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
			continue;
		if (key != NULL)
			*key = &e->key;
		if (val != NULL)
			*val = &e->val;
		return true;
	}
	return false;
}

shade_status shade_value_clear(shade_value *v, shade_error **err)
{
	struct shade_dict *d;
	struct shade_seq *s;
	size_t i;

	if (v != NULL && shade_value_is_seq(v)) {
		s = v->u.seq;
		for (i = 0; i < s->len; i++)
			shade_seq_drop_(s, i);
		s->len = 0;
		shade_seq_tidy_(s);
		return SHADE_OK;
	}
	SHADE_CHECK(need_dict(v, err));
	d = v->u.dict;
	/* Removing leaves holes in place, so the walk sees every entry. */
	for (i = 0; i < d->used && d->len > 0; i++) {
		struct shade_dict_entry *e = &d->entries[i];

		if (shade_tag_kind_(&e->key) != SHADE_DELETED_)
			shade_dict_remove_(d, &e->key, e->hash);
	}
	return SHADE_OK;
}
