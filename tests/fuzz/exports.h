/*
 * exports.h - the export table served by the conn fuzz target and the
 * fault-injection suite: one object of every kind a peer can reach.
 *
 * Names, in export order (a peer's LOOKUPs number them 1, 2, ... in the
 * order it looks them up):
 *
 *   obj    dynamic object "fuzz.Obj": attribute x (int 3), readonly
 *          attribute ro ("fixed"), property p (get/set an int), methods
 *          add(ints...) -> int (OverflowError past int64), fail() ->
 *          ValueError, echo(args...) -> the args tuple, call(f, args...)
 *          -> f(args...) (a callback into the caller), big(n) -> n bytes
 *          (at most cfg->big_max), sleep(ms) -> none after at most
 *          cfg->sleep_max_ms, oneway ping()
 *   list   container list [1, "a", 2.5]
 *   dict   container dict {"k": 1, 2: "two"}
 *   fn     function add(ints...)
 *   type   type "fuzz.Obj" whose constructor makes a new fuzz.Obj
 *   typed  typed object "fuzz.Counter" (static shape, dispatch
 *          function): attribute value, readonly step, method inc(n)
 */
#ifndef SHADE_FUZZ_EXPORTS_H
#define SHADE_FUZZ_EXPORTS_H

#include <stddef.h>

#include <talloc.h>

#include "shade/shade.h"

/* Bounds on what a peer can make the handlers do. */
typedef struct fz_config {
	size_t big_max;   /* largest reply big(n) builds, bytes */
	int sleep_max_ms; /* longest sleep(ms) honoured */
} fz_config;

/* A registry on mem_ctx exporting the objects above (it holds the only
 * counts on them: freeing it frees them once no connection exports them).
 * cfg is copied.  NULL when out of memory. */
shade_registry *fz_exports_new(TALLOC_CTX *mem_ctx, const fz_config *cfg);

/* The shape of the typed object (for narrowing tests). */
extern const shade_shape_desc fz_counter_shape;

#endif /* SHADE_FUZZ_EXPORTS_H */
