/*
 * compare.c - equality of any two values: the dispatcher over the
 * kinds, which hands itself to seq.c and dict.c for the containers'
 * items; scalars and strings go to hash.c's key equality.
 */
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

/* Equality of two optional strings. */
static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Equality of two errors (name, message, args, chain). */
static bool exc_equal(const shade_error *a, const shade_error *b)
{
	size_t i = 0;
	shade_value none = shade_value_none();

	if (a == b)
		return true;
	if (!str_eq(a->name, b->name) || !str_eq(a->message, b->message))
		return false;
	if (a->chain_len != b->chain_len)
		return false;
	for (i = 0; i < a->chain_len; i++)
		if (!str_eq(a->chain[i].side, b->chain[i].side) ||
		    !str_eq(a->chain[i].type, b->chain[i].type) ||
		    !str_eq(a->chain[i].member, b->chain[i].member))
			return false;
	/* a missing args tuple equals an empty one */
	if ((a->args ? shade_value_len(a->args) : 0) == 0 &&
	    (b->args ? shade_value_len(b->args) : 0) == 0)
		return true;
	return shade_value_equal(a->args ? a->args : &none,
				 b->args ? b->args : &none);
}

bool shade_value_equal(const shade_value *a, const shade_value *b)
{
	unsigned k = shade_tag_kind_(a);

	if (k != shade_tag_kind_(b))
		return false;
	switch (k) {
	case SHADE_NONE:
	case SHADE_BOOL:
	case SHADE_INT:
	case SHADE_FLOAT:
	case SHADE_STR:
	case SHADE_BYTES:
		return shade_key_equal_(a, b);
	case SHADE_TUPLE:
	case SHADE_LIST:
		return shade_seq_equal_(a->u.seq, b->u.seq, shade_value_equal);
	case SHADE_DICT:
		return shade_dict_equal_(a->u.dict, b->u.dict,
					 shade_value_equal);
	case SHADE_REF:
		return a->u.ref == b->u.ref;
	case SHADE_EXC:
		return exc_equal(a->u.exc, b->u.exc);
	default:
		return false;
	}
}
