/*
 * idlc/base/source.c - what a compilation keeps of its inputs: source
 * texts for diagnostics, interned names, and the files read, which -M
 * and -MD turn into a make rule.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/comp.h"

/* Intern a string (a simple copy: names are few and short-lived). */
const char *idlc_intern(idlc_compilation *comp, const char *name, size_t len)
{
	idlc_source *s;

	/* reuse the name of a known source: file names repeat a lot */
	for (s = comp->sources; s; s = s->next)
		if (strlen(s->name) == len && memcmp(s->name, name, len) == 0)
			return s->name;
	{
		idlc_dep *d;
		for (d = comp->deps; d; d = d->next)
			if (strlen(d->file) == len &&
			    memcmp(d->file, name, len) == 0)
				return d->file;
	}
	return talloc_strndup(comp, name, len);
}

/* Record a dependency once. */
void idlc_add_dep(idlc_compilation *comp, const char *file)
{
	idlc_dep *d;

	for (d = comp->deps; d; d = d->next)
		if (strcmp(d->file, file) == 0)
			return;
	d = talloc_zero(comp, idlc_dep);
	if (d == NULL)
		return;
	d->file = talloc_strdup(d, file);
	if (d->file == NULL) {
		talloc_free(d);
		return;
	}
	if (comp->deps_tail)
		comp->deps_tail->next = d;
	else
		comp->deps = d;
	comp->deps_tail = d;
}

/* Keep a copy of a source text for snippets. */
idlc_source *idlc_source_add(idlc_compilation *comp, const char *name,
			     const char *text, size_t len)
{
	idlc_source *s = talloc_zero(comp, idlc_source);

	if (s == NULL)
		return NULL;
	s->name = talloc_strdup(s, name);
	s->text = text ? talloc_memdup(s, text, len + 1) : NULL;
	s->len = len;
	if (s->name == NULL || (text && s->text == NULL)) {
		talloc_free(s);
		return NULL;
	}
	if (text)
		((char *)s->text)[len] = '\0';
	s->next = comp->sources;
	comp->sources = s;
	return s;
}

/* Read a whole file; see base/source.h. */
int idlc_read_file(TALLOC_CTX *mem_ctx, const char *path, char **out,
		   size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n;
	int e;

	*len = 0;
	if (f == NULL)
		return -1;
	do {
		char *nd = talloc_realloc(mem_ctx, data, char, *len + 65536 + 2);
		if (nd == NULL) {
			talloc_free(data);
			fclose(f);
			errno = ENOMEM;
			return -1;
		}
		data = nd;
		n = fread(data + *len, 1, 65536, f);
		*len += n;
	} while (n > 0);
	e = ferror(f) ? EIO : 0;
	fclose(f);
	if (e) {
		talloc_free(data);
		errno = e;
		return -1;
	}
	data[*len] = data[*len + 1] = '\0';
	*out = data;
	return 0;
}

/* Make rule: the targets depend on every file read; see base/source.h. */
char *idlc_deps_rule(TALLOC_CTX *mem_ctx, const idlc_compilation *comp,
		     const char *targets)
{
	char *rule = talloc_asprintf(mem_ctx, "%s:", targets);
	const idlc_dep *d;

	for (d = comp->deps; d && rule; d = d->next)
		rule = talloc_asprintf_append(rule, " \\\n  %s", d->file);
	if (rule)
		rule = talloc_asprintf_append(rule, "\n");
	for (d = comp->deps ? comp->deps->next : NULL; d && rule; d = d->next)
		rule = talloc_asprintf_append(rule, "\n%s:\n", d->file);
	return rule;
}
