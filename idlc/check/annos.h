/*
 * idlc/check/annos.h - annotation applications checked against their
 * declarations.
 */
#ifndef IDLC_CHECK_ANNOS_H
#define IDLC_CHECK_ANNOS_H

#include "ast.h"

typedef struct idlc_compilation idlc_compilation;

/* Check every annotation applied to `n` (not its children): unknown
 * annotations are warned about (errors under -Werror=annotations), the
 * arguments of known ones are checked against the annotation's members.
 * Reports through comp's diagnostics. */
void idlc_check_annotations(idlc_compilation *comp, const idlc_node *n);

#endif /* IDLC_CHECK_ANNOS_H */
