/*
 * idlc/check/check.h - semantic checks over the resolved tree.
 */
#ifndef IDLC_CHECK_CHECK_H
#define IDLC_CHECK_CHECK_H

typedef struct idlc_compilation idlc_compilation;

/* Semantic checks over the resolved tree. */
int idlc_check(idlc_compilation *comp);

/* Refuse, with one diagnostic each, the constructs that are outside the
 * C mapping (components and homes), for code generation. */
int idlc_check_subset(idlc_compilation *comp);

#endif /* IDLC_CHECK_CHECK_H */
