/*
 * registry.c - the names under which objects are exported (LOOKUP and
 * NAMES answer from it); it holds a count on each object it names.  A
 * name may export its object read-only (doc/security.md): that object
 * then refuses sets, invokes and calls, whatever name or reference the
 * peer reaches it by.
 */
#include <string.h>

#include <talloc.h>

#include "shade/object.h"


/* One exported name. */
struct reg_entry {
	char *name;      /* the name */
	shade_ref *obj;  /* the object (one count held) */
	bool readonly;   /* exported read-only */
};

/* Names -> objects, in export order. */
struct shade_registry {
	struct reg_entry *entries; /* talloc array */
	size_t n;                  /* entries used */
	size_t n_readonly;         /* entries exported read-only */
};

/* Destructor: drop the counts the registry holds. */
static int registry_destructor(shade_registry *reg)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		shade_ref_release(reg->entries[i].obj);
	return 0;
}

shade_registry *shade_registry_new(TALLOC_CTX *mem_ctx)
{
	shade_registry *reg = talloc_zero(mem_ctx, shade_registry);

	if (reg != NULL)
		talloc_set_destructor(reg, registry_destructor);
	return reg;
}

/* Index of name in reg, or -1. */
static long registry_find(const shade_registry *reg, const char *name)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		if (strcmp(reg->entries[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Export obj under name, read-only or not. */
static shade_status registry_put(shade_registry *reg, const char *name,
				 shade_ref *obj, bool readonly,
				 shade_error **err)
{
	long i;
	struct reg_entry *e;

	if (reg == NULL || name == NULL || obj == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "registry_add: NULL argument");
	i = registry_find(reg, name);
	if (i >= 0) {
		shade_ref_release(reg->entries[i].obj);
		reg->entries[i].obj = shade_ref_retain(obj);
		reg->n_readonly += (size_t)readonly -
				   (size_t)reg->entries[i].readonly;
		reg->entries[i].readonly = readonly;
		return SHADE_OK;
	}
	e = talloc_realloc(reg, reg->entries, struct reg_entry, reg->n + 1);
	if (e == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	reg->entries = e;
	e[reg->n].name = talloc_strdup(e, name);
	if (e[reg->n].name == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	e[reg->n].obj = shade_ref_retain(obj);
	e[reg->n].readonly = readonly;
	reg->n_readonly += readonly;
	reg->n++;
	return SHADE_OK;
}

shade_status shade_registry_add(shade_registry *reg, const char *name,
				shade_ref *obj, shade_error **err)
{
	return registry_put(reg, name, obj, false, err);
}

shade_status shade_registry_add_readonly(shade_registry *reg,
					 const char *name, shade_ref *obj,
					 shade_error **err)
{
	return registry_put(reg, name, obj, true, err);
}

bool shade_registry_is_readonly(const shade_registry *reg,
				const shade_ref *obj)
{
	size_t i;

	if (reg == NULL || reg->n_readonly == 0)
		return false;
	for (i = 0; i < reg->n; i++)
		if (reg->entries[i].obj == obj && reg->entries[i].readonly)
			return true;
	return false;
}

const char *shade_registry_name_of(const shade_registry *reg,
				   const shade_ref *obj)
{
	size_t i;

	for (i = 0; reg != NULL && i < reg->n; i++)
		if (reg->entries[i].obj == obj)
			return reg->entries[i].name;
	return NULL;
}

shade_status shade_registry_remove(shade_registry *reg, const char *name,
				   shade_error **err)
{
	long i = registry_find(reg, name);

	if (i < 0)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no export named '%s'", name);
	shade_ref_release(reg->entries[i].obj);
	reg->n_readonly -= reg->entries[i].readonly;
	talloc_free(reg->entries[i].name);
	memmove(&reg->entries[i], &reg->entries[i + 1],
		(reg->n - (size_t)i - 1) * sizeof(reg->entries[0]));
	reg->n--;
	return SHADE_OK;
}

shade_ref *shade_registry_get(const shade_registry *reg, const char *name)
{
	long i = reg ? registry_find(reg, name) : -1;

	return i >= 0 ? reg->entries[i].obj : NULL;
}

size_t shade_registry_count(const shade_registry *reg)
{
	return reg ? reg->n : 0;
}

const char *shade_registry_name(const shade_registry *reg, size_t i)
{
	return reg && i < reg->n ? reg->entries[i].name : NULL;
}
