/*
 * registry.c - the names under which objects are exported (LOOKUP and
 * NAMES answer from it); it holds a count on each object it names.
 */
#include <string.h>

#include <talloc.h>

#include "shade/object.h"


/* One exported name. */
struct reg_entry {
	char *name;      /* the name */
	shade_ref *obj;  /* the object (one count held) */
};

/* Names -> objects, in export order. */
struct shade_registry {
	struct reg_entry *entries; /* talloc array */
	size_t n;                  /* entries used */
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

shade_status shade_registry_add(shade_registry *reg, const char *name,
				shade_ref *obj, shade_error **err)
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
	reg->n++;
	return SHADE_OK;
}

shade_status shade_registry_remove(shade_registry *reg, const char *name,
				   shade_error **err)
{
	long i = registry_find(reg, name);

	if (i < 0)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no export named '%s'", name);
	shade_ref_release(reg->entries[i].obj);
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
