/*
 * log_int.h - the runtime's side of tracing (shade/log.h).
 *
 * log_mask_ packs the level of each category in 4 bits (category c at
 * bits 4c..4c+3); it is 0 when tracing is off or nothing receives the
 * lines, so LOG_ON costs one load and one predictable branch when off.
 * It is read without a lock (relaxed atomic): a change takes effect on
 * the next event of each thread.
 */
#ifndef SHADE_LOG_INT_H
#define SHADE_LOG_INT_H

#include <stdint.h>

#include "shade/log.h"
#include "shade/visibility.h"

/* Levels of the categories, 0 when off (see above). */
SHADE_INTERNAL extern uint32_t log_mask_;

/* True when category cat is on at level lvl or more. */
#define LOG_ON(cat, lvl) \
	(__builtin_expect(__atomic_load_n(&log_mask_, __ATOMIC_RELAXED) \
			  != 0, 0) && log_enabled((cat), (lvl)))

/* The slow half of LOG_ON. */
SHADE_INTERNAL int log_enabled(shade_log_category cat, int lvl);

/* Read SHADE_TRACE once (later calls do nothing). */
SHADE_INTERNAL void log_init(void);

/* Format and report one line of category cat at level lvl (callers test
 * LOG_ON first; it tests again). */
SHADE_INTERNAL void log_emit(shade_log_category cat, int lvl,
			     const char *fmt, ...) SHADE_PRINTF(3, 4);

#endif /* SHADE_LOG_INT_H */
