/*
 * idlc/check/eval.c - constant expressions.
 *
 * Integers are computed on 128 bits; every intermediate result must fit
 * in [INT64_MIN, UINT64_MAX] (IDL evaluates in long long or unsigned long
 * long), and the final value must fit the declared type.  Floating-point
 * and fixed-point values are computed in long double.  `~` complements
 * within the width of the target type when it is unsigned.
 */
#include <float.h>
#include <string.h>

#include "base/comp.h"
#include "check/eval.h"
#include "check/scope.h"

static const idlc_int INT64_LO = -((idlc_int)1 << 63);
static const idlc_int UINT64_HI = ((idlc_int)1 << 64) - 1;

/* "an integer", "a string"... for messages. */
static const char *vkind_name(idlc_vkind k)
{
	switch (k) {
	case IDLC_V_INT: return "an integer";
	case IDLC_V_FLOAT: return "a floating-point value";
	case IDLC_V_FIXED: return "a fixed-point value";
	case IDLC_V_CHAR: return "a character";
	case IDLC_V_WCHAR: return "a wide character";
	case IDLC_V_STRING: return "a string";
	case IDLC_V_WSTRING: return "a wide string";
	case IDLC_V_BOOL: return "a boolean";
	case IDLC_V_ENUM: return "an enumerator";
	default: return "nothing";
	}
}

static const char *const op_names[] = {
	[IDLC_OP_OR] = "|", [IDLC_OP_XOR] = "^", [IDLC_OP_AND] = "&",
	[IDLC_OP_SHL] = "<<", [IDLC_OP_SHR] = ">>", [IDLC_OP_ADD] = "+",
	[IDLC_OP_SUB] = "-", [IDLC_OP_MUL] = "*", [IDLC_OP_DIV] = "/",
	[IDLC_OP_MOD] = "%", [IDLC_OP_NEG] = "-", [IDLC_OP_POS] = "+",
	[IDLC_OP_NOT] = "~",
};

bool idlc_int_range(idlc_tkind k, idlc_int *lo, idlc_int *hi, int *bits)
{
	switch (k) {
	case IDLC_T_OCTET: case IDLC_T_UINT8:
		*lo = 0; *hi = 255; *bits = 8; return true;
	case IDLC_T_INT8:
		*lo = -128; *hi = 127; *bits = 8; return true;
	case IDLC_T_SHORT:
		*lo = -32768; *hi = 32767; *bits = 16; return true;
	case IDLC_T_USHORT:
		*lo = 0; *hi = 65535; *bits = 16; return true;
	case IDLC_T_LONG:
		*lo = -((idlc_int)1 << 31); *hi = ((idlc_int)1 << 31) - 1;
		*bits = 32; return true;
	case IDLC_T_ULONG:
		*lo = 0; *hi = ((idlc_int)1 << 32) - 1; *bits = 32;
		return true;
	case IDLC_T_LLONG:
		*lo = INT64_LO; *hi = ((idlc_int)1 << 63) - 1; *bits = 64;
		return true;
	case IDLC_T_ULLONG:
		*lo = 0; *hi = UINT64_HI; *bits = 64; return true;
	default:
		return false;
	}
}

/* Evaluation context. */
typedef struct ev {
	idlc_compilation *comp; /* for diagnostics */
	idlc_scope *scope;      /* where names are resolved */
	idlc_tkind target;      /* kind of the constant's type */
	int depth;              /* operators being evaluated (nesting) */
	bool too_deep;          /* "expression too deep" was reported */
} ev;

/* Nesting of operators evaluated recursively; deeper is refused, so any
 * input evaluates in bounded stack. */
#define IDLC_MAX_EXPR_DEPTH 1000

static int eval(ev *x, const idlc_expr *e, idlc_value *out);

/* Check an intermediate integer result. */
static int int_result(ev *x, const idlc_expr *e, idlc_int v, idlc_value *out)
{
	if (v < INT64_LO || v > UINT64_HI) {
		idlc_error(x->comp, &e->loc, "integer overflow in constant "
			   "expression");
		return -1;
	}
	out->kind = IDLC_V_INT;
	out->i = v;
	return 0;
}

/* A name in an expression: a constant or an enumerator. */
static int eval_name(ev *x, const idlc_expr *e, idlc_value *out)
{
	idlc_node *n = idlc_scope_resolve(x->comp, x->scope, e->name);
	char *s;

	if (n == NULL)
		return -1;
	if (n->kind == IDLC_CONST || n->kind == IDLC_ENUMERATOR ||
	    n->kind == IDLC_BIT_VALUE) {
		if (n->value.kind == IDLC_V_NONE)
			return -1; /* already reported */
		*out = n->value;
		return 0;
	}
	s = idlc_scoped_name_str(x->comp, e->name);
	idlc_error(x->comp, &e->loc, "'%s' is a %s, not a constant", s,
		   idlc_kind_name(n->kind));
	talloc_free(s);
	return -1;
}

/* Unary operators. */
static int eval_unary(ev *x, const idlc_expr *e, idlc_value *out)
{
	idlc_value a;
	idlc_int lo, hi;
	int bits;

	if (eval(x, e->lhs, &a) < 0)
		return -1;
	if (e->op == IDLC_OP_NOT) {
		if (a.kind != IDLC_V_INT) {
			idlc_error(x->comp, &e->loc, "operator '~' needs an "
				   "integer operand, not %s",
				   vkind_name(a.kind));
			return -1;
		}
		if (idlc_int_range(x->target, &lo, &hi, &bits) && lo == 0)
			return int_result(x, e, hi - a.i, out);
		return int_result(x, e, -a.i - 1, out);
	}
	if (a.kind == IDLC_V_INT) {
		return int_result(x, e, e->op == IDLC_OP_NEG ? -a.i : a.i,
				  out);
	}
	if (a.kind == IDLC_V_FLOAT || a.kind == IDLC_V_FIXED) {
		*out = a;
		if (e->op == IDLC_OP_NEG) {
			out->f = -a.f;
			if (a.kind == IDLC_V_FIXED)
				out->str = talloc_asprintf(x->comp, "-%s",
							   a.str);
		}
		return 0;
	}
	idlc_error(x->comp, &e->loc, "operator '%s' cannot be applied to %s",
		   op_names[e->op], vkind_name(a.kind));
	return -1;
}

/* Binary operators on integers. */
static int eval_int_binary(ev *x, const idlc_expr *e, idlc_int a, idlc_int b,
			   idlc_value *out)
{
	char buf[48];

	switch (e->op) {
	case IDLC_OP_OR: return int_result(x, e, a | b, out);
	case IDLC_OP_XOR: return int_result(x, e, a ^ b, out);
	case IDLC_OP_AND: return int_result(x, e, a & b, out);
	case IDLC_OP_SHL:
	case IDLC_OP_SHR:
		if (b < 0 || b >= 64) {
			idlc_error(x->comp, &e->loc, "shift count %s is out "
				   "of range (0 to 63)", idlc_int_str(buf, b));
			return -1;
		}
		return int_result(x, e, e->op == IDLC_OP_SHL ? a << b : a >> b,
				  out);
	case IDLC_OP_ADD: return int_result(x, e, a + b, out);
	case IDLC_OP_SUB: return int_result(x, e, a - b, out);
	case IDLC_OP_MUL:
		if (a != 0 && (b > UINT64_HI || b < -UINT64_HI ||
			       a > UINT64_HI || a < -UINT64_HI)) {
			idlc_error(x->comp, &e->loc, "integer overflow in "
				   "constant expression");
			return -1;
		}
		return int_result(x, e, a * b, out);
	case IDLC_OP_DIV:
	case IDLC_OP_MOD:
		if (b == 0) {
			idlc_error(x->comp, &e->loc, "division by zero in "
				   "constant expression");
			return -1;
		}
		return int_result(x, e, e->op == IDLC_OP_DIV ? a / b : a % b,
				  out);
	default:
		return -1;
	}
}

/* Binary operators. */
static int eval_binary(ev *x, const idlc_expr *e, idlc_value *out)
{
	idlc_value a, b;
	long double fa, fb;
	bool fixed;

	if (eval(x, e->lhs, &a) < 0 || eval(x, e->rhs, &b) < 0)
		return -1;
	if (a.kind == IDLC_V_INT && b.kind == IDLC_V_INT)
		return eval_int_binary(x, e, a.i, b.i, out);
	if ((a.kind != IDLC_V_INT && a.kind != IDLC_V_FLOAT &&
	     a.kind != IDLC_V_FIXED) ||
	    (b.kind != IDLC_V_INT && b.kind != IDLC_V_FLOAT &&
	     b.kind != IDLC_V_FIXED)) {
		idlc_error(x->comp, &e->loc, "operator '%s' cannot be applied "
			   "to %s", op_names[e->op],
			   vkind_name(a.kind == IDLC_V_INT ||
				      a.kind == IDLC_V_FLOAT ||
				      a.kind == IDLC_V_FIXED ? b.kind
							     : a.kind));
		return -1;
	}
	if (e->op < IDLC_OP_ADD || e->op == IDLC_OP_MOD) {
		idlc_error(x->comp, &e->loc, "operator '%s' needs integer "
			   "operands", op_names[e->op]);
		return -1;
	}
	fixed = a.kind == IDLC_V_FIXED || b.kind == IDLC_V_FIXED;
	fa = a.kind == IDLC_V_INT ? (long double)a.i : a.f;
	fb = b.kind == IDLC_V_INT ? (long double)b.i : b.f;
	memset(out, 0, sizeof(*out));
	out->kind = fixed ? IDLC_V_FIXED : IDLC_V_FLOAT;
	switch (e->op) {
	case IDLC_OP_ADD: out->f = fa + fb; break;
	case IDLC_OP_SUB: out->f = fa - fb; break;
	case IDLC_OP_MUL: out->f = fa * fb; break;
	default:
		if (fb == 0) {
			idlc_error(x->comp, &e->loc, "division by zero in "
				   "constant expression");
			return -1;
		}
		out->f = fa / fb;
	}
	if (fixed)
		out->str = talloc_asprintf(x->comp, "%.31Lg", out->f);
	return 0;
}

/* Evaluate any expression (no type conversion yet). */
static int eval(ev *x, const idlc_expr *e, idlc_value *out)
{
	int rc;

	switch (e->op) {
	case IDLC_OP_LITERAL:
		*out = e->value;
		return 0;
	case IDLC_OP_NAME:
		return eval_name(x, e, out);
	default:
		break;
	}
	if (x->depth >= IDLC_MAX_EXPR_DEPTH) {
		if (!x->too_deep)
			idlc_error(x->comp, &e->loc, "expression too deep "
				   "(more than %d nested operations)",
				   IDLC_MAX_EXPR_DEPTH);
		x->too_deep = true;
		return -1;
	}
	x->depth++;
	if (e->op == IDLC_OP_NEG || e->op == IDLC_OP_POS ||
	    e->op == IDLC_OP_NOT)
		rc = eval_unary(x, e, out);
	else
		rc = eval_binary(x, e, out);
	x->depth--;
	return rc;
}

/* Report a kind mismatch. */
static int mismatch(ev *x, const idlc_expr *e, const idlc_value *v,
		    const idlc_type *t)
{
	char *tn = idlc_type_name(x->comp, t);

	idlc_error(x->comp, &e->loc, "cannot use %s as a constant of type %s",
		   vkind_name(v->kind), tn);
	talloc_free(tn);
	return -1;
}

/* Evaluate and convert to `t`; see its header. */
int idlc_eval(idlc_compilation *comp, idlc_scope *scope, idlc_expr *e,
	      const idlc_type *t, idlc_value *out)
{
	ev x = { comp, scope, IDLC_T_VOID, 0, false };
	const idlc_type *u = t ? idlc_type_unalias(t) : NULL;
	idlc_value v;
	idlc_int lo, hi;
	int bits;
	char buf[48];

	if (u)
		x.target = u->kind;
	memset(out, 0, sizeof(*out));
	if (eval(&x, e, &v) < 0)
		return -1;
	if (u == NULL) {
		*out = v;
		return 0;
	}
	if (idlc_int_range(u->kind, &lo, &hi, &bits)) {
		if (v.kind != IDLC_V_INT)
			return mismatch(&x, e, &v, t);
		if (v.i < lo || v.i > hi) {
			char *tn = idlc_type_name(comp, t);
			idlc_error(comp, &e->loc, "constant value %s is out of "
				   "range for %s", idlc_int_str(buf, v.i), tn);
			talloc_free(tn);
			return -1;
		}
		*out = v;
		return 0;
	}
	switch (u->kind) {
	case IDLC_T_FLOAT:
	case IDLC_T_DOUBLE:
	case IDLC_T_LDOUBLE:
		if (v.kind == IDLC_V_INT) {
			v.kind = IDLC_V_FLOAT;
			v.f = (long double)v.i;
		}
		if (v.kind != IDLC_V_FLOAT)
			return mismatch(&x, e, &v, t);
		if ((u->kind == IDLC_T_FLOAT &&
		     (v.f > FLT_MAX || v.f < -FLT_MAX)) ||
		    (u->kind == IDLC_T_DOUBLE &&
		     (v.f > DBL_MAX || v.f < -DBL_MAX))) {
			idlc_error(comp, &e->loc, "constant value %Lg is out "
				   "of range for %s", v.f,
				   u->kind == IDLC_T_FLOAT ? "float"
							   : "double");
			return -1;
		}
		break;
	case IDLC_T_FIXED:
		if (v.kind == IDLC_V_INT) {
			v.kind = IDLC_V_FIXED;
			v.f = (long double)v.i;
			v.str = idlc_int_str(buf, v.i);
			v.str = talloc_strdup(comp, v.str);
		}
		if (v.kind != IDLC_V_FIXED)
			return mismatch(&x, e, &v, t);
		break;
	case IDLC_T_CHAR:
		if (v.kind != IDLC_V_CHAR)
			return mismatch(&x, e, &v, t);
		break;
	case IDLC_T_WCHAR:
		if (v.kind == IDLC_V_CHAR)
			v.kind = IDLC_V_WCHAR;
		if (v.kind != IDLC_V_WCHAR)
			return mismatch(&x, e, &v, t);
		break;
	case IDLC_T_BOOLEAN:
		if (v.kind != IDLC_V_BOOL)
			return mismatch(&x, e, &v, t);
		break;
	case IDLC_T_STRING:
	case IDLC_T_WSTRING:
		if (v.kind == IDLC_V_STRING && u->kind == IDLC_T_WSTRING)
			v.kind = IDLC_V_WSTRING;
		if (v.kind != (u->kind == IDLC_T_STRING ? IDLC_V_STRING
							: IDLC_V_WSTRING))
			return mismatch(&x, e, &v, t);
		if (u->bound && v.len > u->bound) {
			idlc_error(comp, &e->loc, "string constant of length "
				   "%zu exceeds the bound %llu", v.len,
				   (unsigned long long)u->bound);
			return -1;
		}
		break;
	case IDLC_T_NAMED:
		if (u->ref && u->ref->kind == IDLC_ENUM) {
			if (v.kind != IDLC_V_ENUM)
				return mismatch(&x, e, &v, t);
			if (v.enumerator->parent != u->ref) {
				idlc_error(comp, &e->loc, "'%s' is not an "
					   "enumerator of '%s'",
					   v.enumerator->name, u->ref->name);
				return -1;
			}
			break;
		}
		/* fall through */
	default: {
		char *tn = idlc_type_name(comp, t);
		idlc_error(comp, &t->loc, "%s is not a valid constant type",
			   tn);
		talloc_free(tn);
		return -1;
	}
	}
	*out = v;
	return 0;
}
