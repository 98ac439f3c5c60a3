/*
 * clock_int.h - the runtime's one clock: milliseconds on the monotonic
 * clock, deadlines built from it and the time left until them.
 *
 * A deadline is a clock_now_ms() value, or -1 for none (wait forever).
 * The monotonic clock never jumps with the wall clock, so a deadline set
 * before a settimeofday() still ends on time.  Condition variables that
 * wait for a deadline must use CLOCK_MONOTONIC too
 * (pthread_condattr_setclock) and clock_timespec() to convert it.
 */
#ifndef SHADE_CLOCK_INT_H
#define SHADE_CLOCK_INT_H

#include <stdint.h>

#include "shade/visibility.h"

struct timespec;

/* Milliseconds on the monotonic clock. */
SHADE_INTERNAL int64_t clock_now_ms(void);

/* The deadline timeout_ms from now, or -1 when timeout_ms is negative
 * (none). */
SHADE_INTERNAL int64_t clock_deadline(int timeout_ms);

/* Milliseconds left until deadline, for poll(2) and the like: -1 when
 * deadline is -1 (none), else between 0 and INT_MAX. */
SHADE_INTERNAL int clock_remaining_ms(int64_t deadline);

/* Deadline (a clock_now_ms() value, not -1) as an absolute time on
 * CLOCK_MONOTONIC in *ts, for pthread_cond_timedwait. */
SHADE_INTERNAL void clock_timespec(int64_t deadline, struct timespec *ts);

#endif /* SHADE_CLOCK_INT_H */
