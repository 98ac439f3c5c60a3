/*
 * idlc/arena.c - bump allocator (see arena.h).
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"

/* Size of an ordinary chunk; larger requests get a chunk of their own. */
#define CHUNK (256u * 1024u)

/* The arena: the chunk being filled. */
struct idlc_arena {
	char *chunk;  /* current chunk (a talloc child of the arena) */
	size_t used;  /* bytes used in it */
	size_t size;  /* its size */
};

/* New arena; see arena.h. */
idlc_arena *idlc_arena_new(TALLOC_CTX *mem_ctx)
{
	return talloc_zero(mem_ctx, idlc_arena);
}

/* Allocate zeroed; see arena.h. */
void *idlc_arena_zalloc(idlc_arena *a, size_t size)
{
	void *p = idlc_arena_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

/* Allocate; see arena.h. */
void *idlc_arena_alloc(idlc_arena *a, size_t size)
{
	size_t need = (size + 15) & ~(size_t)15;
	char *p;

	if (need > CHUNK / 4) {
		p = talloc_size(a, need);
		return p;
	}
	if (a->chunk == NULL || a->used + need > a->size) {
		a->chunk = talloc_size(a, CHUNK);
		if (a->chunk == NULL)
			return NULL;
		a->used = 0;
		a->size = CHUNK;
	}
	p = a->chunk + a->used;
	a->used += need;
	return p;
}

/* Format; see arena.h. */
char *idlc_arena_vprintf(idlc_arena *a, const char *fmt, va_list ap)
{
	char small[1024], *out;
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0 || (out = idlc_arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	if ((size_t)n < sizeof(small))
		memcpy(out, small, (size_t)n + 1);
	else
		vsnprintf(out, (size_t)n + 1, fmt, ap);
	return out;
}

/* Format; see arena.h. */
char *idlc_arena_printf(idlc_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = idlc_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

/* Append; see arena.h. */
char *idlc_arena_append(idlc_arena *a, const char *s, const char *fmt, ...)
{
	va_list ap;
	char *tail, *out;
	size_t ls, lt;

	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	tail = idlc_arena_vprintf(a, fmt, ap);
	va_end(ap);
	if (tail == NULL)
		return NULL;
	ls = strlen(s);
	lt = strlen(tail);
	out = idlc_arena_alloc(a, ls + lt + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, ls);
	memcpy(out + ls, tail, lt + 1);
	return out;
}
