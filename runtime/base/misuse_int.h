/*
 * misuse_int.h - a caller's misuse of the API (a NULL where an object or
 * an out-pointer is needed).
 *
 * In a release build the call fails with SHADE_ERR_INVALID and a message
 * naming the function and the argument.  In a debug build (the library
 * compiled with -DSHADE_DEBUG, like SHADE_API_CHECK in shade/value.h) the
 * same message goes to standard error and the program stops at the call
 * (abort), where a debugger shows the caller.
 */
#ifndef SHADE_MISUSE_INT_H
#define SHADE_MISUSE_INT_H

#include "shade/error.h"
#include "shade/visibility.h"

/* Report a misuse described by fmt (see above); returns
 * SHADE_ERR_INVALID with *err set in a release build. */
SHADE_INTERNAL shade_status misuse(shade_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* SHADE_MISUSE_INT_H */
