/*
 * idlc/base/source.h - what a compilation keeps of its inputs: source
 * texts (for diagnostics), interned names, the files read (for -M).
 */
#ifndef IDLC_BASE_SOURCE_H
#define IDLC_BASE_SOURCE_H

#include <stddef.h>

#include <talloc.h>

typedef struct idlc_compilation idlc_compilation;

/* A source text kept for diagnostics (original file contents). */
typedef struct idlc_source {
	const char *name;           /* file name as in the line markers */
	const char *text;           /* contents, or NULL if unreadable */
	size_t len;                 /* length of text */
	struct idlc_source *next;   /* next source */
} idlc_source;

/* Dependency list entry (files read, from the line markers). */
typedef struct idlc_dep {
	const char *file;        /* file name */
	struct idlc_dep *next;   /* next file */
} idlc_dep;

/* Keep `text` (len bytes, copied) as the contents of `name` for source
 * snippets.  Returns the stored source, or NULL on out of memory. */
idlc_source *idlc_source_add(idlc_compilation *comp, const char *name,
			     const char *text, size_t len);

/* Read the whole file `path` into a new buffer on mem_ctx, followed by
 * two NUL bytes; *len gets its length.  Returns 0, or -1 with errno set. */
int idlc_read_file(TALLOC_CTX *mem_ctx, const char *path, char **out,
		   size_t *len);

/* Intern `name` in the compilation (string kept for its lifetime). */
const char *idlc_intern(idlc_compilation *comp, const char *name, size_t len);

/* Record `file` as a dependency (once). */
void idlc_add_dep(idlc_compilation *comp, const char *file);

/* The make rule "targets: main dep dep..." for the files comp read, then
 * an empty rule per included file (as cpp -MP), on mem_ctx. */
char *idlc_deps_rule(TALLOC_CTX *mem_ctx, const idlc_compilation *comp,
		     const char *targets);

#endif /* IDLC_BASE_SOURCE_H */
