/*
 * idlc/check/eval.h - constant expression evaluation.
 */
#ifndef IDLC_CHECK_EVAL_H
#define IDLC_CHECK_EVAL_H

#include "ast.h"

typedef struct idlc_compilation idlc_compilation;
typedef struct idlc_scope idlc_scope;

/* Evaluate `e` for a constant of type `t` (NULL: any); stores the result
 * in *out.  Returns 0, or -1 after reporting an error. */
int idlc_eval(idlc_compilation *comp, idlc_scope *scope, idlc_expr *e,
	      const idlc_type *t, idlc_value *out);

/* Range of an integer type kind (its values lo..hi, its width in bits);
 * false if k is not an integer type.  Also used by the shade tool. */
bool idlc_int_range(idlc_tkind k, idlc_int *lo, idlc_int *hi, int *bits);

#endif /* IDLC_CHECK_EVAL_H */
