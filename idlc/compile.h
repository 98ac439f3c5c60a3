/*
 * idlc/compile.h - the pipeline of one compilation (its state is
 * idlc/base/comp.h).
 *
 * Pipeline: preprocess (system cpp, line markers kept) -> scan + parse
 * (grammar/idl.l, grammar/idl.y; actions only call idlc_create_*) ->
 * resolve (declare every name in its scope, in source order, and bind
 * every scoped name) -> check (semantic rules) -> generate (gen/).
 */
#ifndef IDLC_COMPILE_H
#define IDLC_COMPILE_H

#include <talloc.h>

#include "base/comp.h"

/* Create an empty compilation (a top-level talloc context under mem_ctx)
 * with a copy of `opts` (NULL: defaults).  Returns NULL on out of memory. */
idlc_compilation *idlc_compilation_new(TALLOC_CTX *mem_ctx,
				       const idlc_options *opts);

/* Preprocess, parse, resolve and check `file`.  Returns 0 when no error
 * was reported, -1 otherwise (diagnostics are in comp->diags). */
int idlc_compile_file(idlc_compilation *comp, const char *file);

/* Same for an in-memory text named `name` (never preprocessed: line
 * markers and `#pragma` lines are honoured, other directives refused). */
int idlc_compile_string(idlc_compilation *comp, const char *name,
			const char *text);

/* Run the C preprocessor on `file`; the output is stored in
 * comp->pp_text.  Returns 0, or -1 after reporting an error. */
int idlc_preprocess(idlc_compilation *comp, const char *file);

/* Scan and parse comp->pp_text into comp->root.  Returns 0 or -1. */
int idlc_parse(idlc_compilation *comp);

#endif /* IDLC_COMPILE_H */
