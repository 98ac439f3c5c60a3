/*
 * idlc/check/resolve.h - the resolve pass.
 */
#ifndef IDLC_CHECK_RESOLVE_H
#define IDLC_CHECK_RESOLVE_H

typedef struct idlc_compilation idlc_compilation;

/* Declare and resolve every name, evaluate constants. */
int idlc_resolve(idlc_compilation *comp);

#endif /* IDLC_CHECK_RESOLVE_H */
