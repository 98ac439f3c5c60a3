/*
 * bench/stubs.c - glue between the benchmark programs and the code
 * shade-idlc generates from bench/adder.idl (see bench/stubs.h).
 */
#include "stubs.h"

#include "adder.h"

/* The servant's add: a + b. */
static shade_status
servant_add(void *self, int64_t a, int64_t b, int64_t *result,
	    shade_error **err)
{
	(void)self;
	(void)err;
	*result = a + b;
	return SHADE_OK;
}

/* The implementation table handed to the skeleton. */
static const bench_Adder_impl adder_impl = { servant_add };

/* Serve an adder through the generated skeleton; see stubs.h. */
shade_status
bench_stub_serve(shade_ref **out, shade_error **err)
{
	return bench_Adder_serve(&adder_impl, NULL, out, err);
}

/* Narrow through the generated code; see stubs.h. */
shade_status
bench_stub_narrow(TALLOC_CTX *mem_ctx, shade_ref *ref, void **typed,
		  shade_error **err)
{
	bench_Adder *t = NULL;
	shade_status st = bench_Adder_narrow(mem_ctx, ref, &t, err);

	*typed = t;
	return st;
}

/* Call the generated stub; see stubs.h. */
shade_status
bench_stub_add(void *typed, int64_t a, int64_t b, int64_t *sum,
	       shade_error **err)
{
	return bench_Adder_add(typed, a, b, sum, err);
}
