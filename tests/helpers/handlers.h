/*
 * handlers.h - the small member handlers the suites export, written once.
 *
 * Each is a shade_method_fn (shade/object.h); where one reads udata, the
 * comment says what it must point to; the int it points to is read and
 * written atomically (a handler runs on the serving thread while the test
 * reads or sets it).  Results land on call->mem.
 */
#ifndef SHADE_TEST_HANDLERS_H
#define SHADE_TEST_HANDLERS_H

#include "shade/object.h"

/* add(ints...): their sum; TypeError for a non-int, OverflowError past
 * the int64 range. */
shade_status th_add(shade_call_ctx *call);

/* Getter of the int64_t udata points to. */
shade_status th_get_int(shade_call_ctx *call);

/* Setter of the int64_t udata points to: ints only (TypeError). */
shade_status th_set_int(shade_call_ctx *call);

/* plus_one(f): f() + 1, calling the callable f (a callback when f is a
 * proxy); TypeError unless f is a reference and f() an int. */
shade_status th_call_plus_one(shade_call_ctx *call);

/* zeros(...): as many zero bytes as the size_t udata points to (at most
 * 64 KiB), whatever the arguments. */
shade_status th_zeros(shade_call_ctx *call);

/* sleep(): sleeps as many milliseconds as the int udata points to and
 * returns none. */
shade_status th_sleep(shade_call_ctx *call);

#endif /* SHADE_TEST_HANDLERS_H */
