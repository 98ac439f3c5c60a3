/*
 * idlc/base/arena.h - a bump allocator for the generators.
 *
 * Code generation builds a large, short-lived tree of small strings and
 * template values; allocating them one by one with talloc costs more
 * than the rest of the compiler (every object is visited when freed).
 * An arena hands out memory from big chunks and frees them all at once:
 * the arena is a talloc object, its chunks are its only children.
 */
#ifndef IDLC_ARENA_H
#define IDLC_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include <talloc.h>

#include "base/attr.h"

typedef struct idlc_arena idlc_arena;

/* A new arena on mem_ctx (free it with talloc_free), or NULL. */
idlc_arena *idlc_arena_new(TALLOC_CTX *mem_ctx);

/* size bytes aligned for any type (not cleared); NULL on out of
 * memory.  The memory lives as long as the arena. */
void *idlc_arena_alloc(idlc_arena *a, size_t size);

/* Same, cleared to zero. */
void *idlc_arena_zalloc(idlc_arena *a, size_t size);

/* A formatted string in the arena, or NULL. */
char *idlc_arena_printf(idlc_arena *a, const char *fmt, ...)
	IDLC_PRINTF(2, 3);

/* Same with a va_list. */
char *idlc_arena_vprintf(idlc_arena *a, const char *fmt, va_list ap)
	IDLC_PRINTF(2, 0);

/* vsnprintf() for the generators: writes at most cap bytes of the
 * formatted text (terminated when cap > 0) to buf and returns its full
 * length, or -1.  %s, %.*s, %c, %d, %u, %zu, %llu and %% are formatted
 * here, several times faster than the C library does; a format with
 * any other conversion goes to vsnprintf(). */
int idlc_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
	IDLC_PRINTF(3, 0);

/* A new string: s (may be NULL: then NULL is returned) followed by the
 * formatted text. */
char *idlc_arena_append(idlc_arena *a, const char *s, const char *fmt, ...)
	IDLC_PRINTF(3, 4);

#endif /* IDLC_ARENA_H */
