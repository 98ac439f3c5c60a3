/*
 * handlers.c - the small member handlers the suites export (handlers.h).
 */
#include <stdint.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "handlers.h"

/* Set call->result to r, or report out of memory when r is NULL. */
static shade_status result(shade_call_ctx *call, shade_value *r)
{
	call->result = r;
	return r ? SHADE_OK
		 : shade_error_set(call->err, SHADE_ERR_NOMEM, "out of memory");
}

shade_status th_add(shade_call_ctx *call)
{
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < shade_seq_len(call->args); i++) {
		const shade_value *a = shade_seq_at(call->args, i);

		if (shade_value_kind(a) != SHADE_INT)
			return shade_error_set(call->err, SHADE_ERR_TYPE,
					       "add: argument %zu is not an int",
					       i);
		if (__builtin_add_overflow(sum, shade_value_as_int(a), &sum))
			return shade_error_set(call->err, SHADE_ERR_OVERFLOW,
					       "add: sum out of range");
	}
	return result(call, shade_int(call->mem, sum));
}

shade_status th_get_int(shade_call_ctx *call)
{
	return result(call, shade_int(call->mem,
				      __atomic_load_n((int64_t *)call->udata,
						      __ATOMIC_RELAXED)));
}

shade_status th_set_int(shade_call_ctx *call)
{
	if (shade_value_kind(call->value) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "want an int");
	__atomic_store_n((int64_t *)call->udata,
			 shade_value_as_int(call->value), __ATOMIC_RELAXED);
	return SHADE_OK;
}

shade_status th_call_plus_one(shade_call_ctx *call)
{
	const shade_value *f = shade_seq_at(call->args, 0);
	shade_value *r = NULL;
	shade_status st;

	if (f == NULL || shade_value_kind(f) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "want a callable");
	SHADE_CHECK(shade_call(call->mem, shade_value_as_ref(f), NULL, NULL,
			       &r, call->err));
	if (shade_value_kind(r) != SHADE_INT)
		st = shade_error_set(call->err, SHADE_ERR_TYPE,
				     "want an int");
	else
		st = result(call,
			    shade_int(call->mem, shade_value_as_int(r) + 1));
	talloc_free(r);
	return st;
}

shade_status th_zeros(shade_call_ctx *call)
{
	static const uint8_t zeros[64 << 10];
	size_t n = *(const size_t *)call->udata;

	if (n > sizeof(zeros))
		n = sizeof(zeros);
	return result(call, shade_bytes(call->mem, zeros, n));
}

shade_status th_sleep(shade_call_ctx *call)
{
	usleep((useconds_t)__atomic_load_n((const int *)call->udata,
					   __ATOMIC_RELAXED) * 1000u);
	return SHADE_OK;
}
