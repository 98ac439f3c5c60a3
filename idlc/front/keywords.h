/*
 * idlc/front/keywords.h - IDL keywords and the identifiers that equal one
 * of them but for case.
 */
#ifndef IDLC_FRONT_KEYWORDS_H
#define IDLC_FRONT_KEYWORDS_H

#include <stddef.h>

typedef struct idlc_compilation idlc_compilation;

/* The keyword of the scanner (grammar/idl.l) that text[0..len) equals
 * ignoring case, or NULL. */
const char *idlc_keyword_ignoring_case(const char *text, size_t len);

/* Remember that the identifier `name` (the scanner's copy) equals the
 * keyword `kw` but for case.  Returns 0, -1 on out of memory. */
int idlc_keyword_ident_add(idlc_compilation *comp, const char *name,
			   const char *kw);

/* The keyword that the scanner's identifier `name` equals but for case,
 * or NULL. */
const char *idlc_keyword_ident(const idlc_compilation *comp,
			       const char *name);

#endif /* IDLC_FRONT_KEYWORDS_H */
