/*
 * idlc/check/repoid.h - repository ids of the declarations.
 */
#ifndef IDLC_CHECK_REPOID_H
#define IDLC_CHECK_REPOID_H

typedef struct idlc_compilation idlc_compilation;

/* Give every declaration that has one its repository id (node
 * repo_id) from `#pragma prefix`, `#pragma ID`, `#pragma version`,
 * `typeid` and `typeprefix`, as CORBA compilers do; refuse, with a
 * diagnostic at the pragma, one that sets an id, version or prefix
 * twice differently, an explicit id of another version than a
 * `#pragma version` gives, and one naming what has no id.  Returns 0,
 * or -1 after reporting. */
int idlc_repoids(idlc_compilation *comp);

#endif /* IDLC_CHECK_REPOID_H */
