/*
 * registry.c - the names under which objects and plain values are
 * exported (LOOKUP and NAMES answer from it); it holds a count on each
 * object it names and a copy of each value.  A name may export its
 * object read-only (doc/security.md): that object then refuses sets,
 * invokes and calls, whatever name or reference the peer reaches it by.
 * A registry may hold named registries of its own (namespaces, one
 * level: LOOKUP of [namespace, name], NAMES_IN), each a child of it.
 *
 * Invariant: an entry holds exactly one of obj and value.
 */
#include <string.h>

#include <talloc.h>

#include "shade/object.h"


/* One exported name. */
struct reg_entry {
	char *name;          /* the name */
	shade_ref *obj;      /* the object (one count held), or NULL */
	shade_value *value;  /* a plain value (a child of the entries),
			      * or NULL */
	bool readonly;       /* exported read-only */
};

/* One namespace: a registry of its own under a name. */
struct reg_space {
	char *name;              /* the namespace's name */
	shade_registry *reg;     /* its names (a child of the array) */
};

/* Names -> objects or values, in export order. */
struct shade_registry {
	struct reg_entry *entries; /* talloc array */
	size_t n;                  /* entries used */
	size_t n_readonly;         /* entries exported read-only */
	struct reg_space *spaces;  /* talloc array of namespaces */
	size_t n_spaces;           /* namespaces used */
};

/* Destructor: drop the counts the registry holds. */
static int registry_destructor(shade_registry *reg)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		if (reg->entries[i].obj != NULL)
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

/* Drop what entry e holds (its object's count, its value). */
static void entry_clear(struct reg_entry *e)
{
	if (e->obj != NULL)
		shade_ref_release(e->obj);
	talloc_free(e->value);
	e->obj = NULL;
	e->value = NULL;
}

/* Export obj (or, obj NULL, a copy of value) under name, read-only or
 * not. */
static shade_status registry_put(shade_registry *reg, const char *name,
				 shade_ref *obj, const shade_value *value,
				 bool readonly, shade_error **err)
{
	long i;
	struct reg_entry *e;
	shade_value *copy = NULL;

	if (reg == NULL || name == NULL || (obj == NULL && value == NULL))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "registry_add: NULL argument");
	if (obj == NULL && (copy = shade_value_copy(reg, value)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	i = registry_find(reg, name);
	if (i < 0) {
		e = talloc_realloc(reg, reg->entries, struct reg_entry,
				   reg->n + 1);
		if (e == NULL)
			goto nomem;
		reg->entries = e;
		e[reg->n].name = talloc_strdup(e, name);
		if (e[reg->n].name == NULL)
			goto nomem;
		e[reg->n].obj = NULL;
		e[reg->n].value = NULL;
		e[reg->n].readonly = false;
		i = (long)reg->n++;
	}
	e = &reg->entries[i];
	entry_clear(e);
	e->obj = obj ? shade_ref_retain(obj) : NULL;
	e->value = copy ? talloc_steal(reg->entries, copy) : NULL;
	reg->n_readonly += (size_t)readonly - (size_t)e->readonly;
	e->readonly = readonly;
	return SHADE_OK;
nomem:
	talloc_free(copy);
	return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
}

shade_status shade_registry_add(shade_registry *reg, const char *name,
				shade_ref *obj, shade_error **err)
{
	return registry_put(reg, name, obj, NULL, false, err);
}

shade_status shade_registry_add_value(shade_registry *reg, const char *name,
				      const shade_value *value,
				      shade_error **err)
{
	if (value == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shade_registry_add_value: value is "
				       "NULL");
	/* a reference is an object, exported as one */
	if (shade_value_kind(value) == SHADE_REF)
		return registry_put(reg, name, shade_value_as_ref(value),
				    NULL, false, err);
	return registry_put(reg, name, NULL, value, false, err);
}

shade_status shade_registry_add_readonly(shade_registry *reg,
					 const char *name, shade_ref *obj,
					 shade_error **err)
{
	return registry_put(reg, name, obj, NULL, true, err);
}

bool shade_registry_is_readonly(const shade_registry *reg,
				const shade_ref *obj)
{
	size_t i;

	if (reg == NULL)
		return false;
	for (i = 0; i < reg->n_spaces; i++)
		if (shade_registry_is_readonly(reg->spaces[i].reg, obj))
			return true;
	if (reg->n_readonly == 0)
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
	entry_clear(&reg->entries[i]);
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

const shade_value *shade_registry_get_value(const shade_registry *reg,
					    const char *name)
{
	long i = reg ? registry_find(reg, name) : -1;

	return i >= 0 ? reg->entries[i].value : NULL;
}

shade_registry *shade_registry_namespace(shade_registry *reg,
					 const char *name, bool create)
{
	struct reg_space *sp;
	size_t i;

	if (reg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < reg->n_spaces; i++)
		if (strcmp(reg->spaces[i].name, name) == 0)
			return reg->spaces[i].reg;
	if (!create)
		return NULL;
	sp = talloc_realloc(reg, reg->spaces, struct reg_space,
			    reg->n_spaces + 1);
	if (sp == NULL)
		return NULL;
	reg->spaces = sp;
	sp[reg->n_spaces].name = talloc_strdup(sp, name);
	sp[reg->n_spaces].reg = shade_registry_new(sp);
	if (sp[reg->n_spaces].name == NULL || sp[reg->n_spaces].reg == NULL) {
		talloc_free(sp[reg->n_spaces].name);
		talloc_free(sp[reg->n_spaces].reg);
		return NULL;
	}
	return sp[reg->n_spaces++].reg;
}
