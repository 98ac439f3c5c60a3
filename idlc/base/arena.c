/*
 * idlc/base/arena.c - bump allocator (see arena.h).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/arena.h"

/* Size of an ordinary chunk: one huge page where the system has them
 * (a chunk then costs one page fault instead of 512); requests over a
 * quarter of it get memory of their own. */
#define CHUNK (2u * 1024u * 1024u)

/* The arena: the chunk being filled. */
struct idlc_arena {
	char *chunk;  /* current chunk */
	size_t used;  /* bytes used in it */
	size_t size;  /* its size */
	void **all;   /* every chunk (malloc), freed with the arena */
	size_t n_all; /* chunks in all */
	size_t cap;   /* slots in all */
};

/* talloc destructor: free the chunks. */
static int arena_free(idlc_arena *a)
{
	size_t i;

	for (i = 0; i < a->n_all; i++)
		free(a->all[i]);
	free(a->all);
	return 0;
}

/* A new chunk, aligned on and advised to be a huge page; NULL on out of
 * memory. */
static char *chunk_new(idlc_arena *a)
{
	void *p = NULL;

	if (a->n_all == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		void **all = realloc(a->all, cap * sizeof(*all));
		if (all == NULL)
			return NULL;
		a->all = all;
		a->cap = cap;
	}
	if (posix_memalign(&p, CHUNK, CHUNK) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, CHUNK, MADV_HUGEPAGE);
#endif
	a->all[a->n_all++] = p;
	return p;
}

/* New arena; see arena.h. */
idlc_arena *idlc_arena_new(TALLOC_CTX *mem_ctx)
{
	idlc_arena *a = talloc_zero(mem_ctx, idlc_arena);

	if (a)
		talloc_set_destructor(a, arena_free);
	return a;
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
		a->chunk = chunk_new(a);
		if (a->chunk == NULL)
			return NULL;
		a->used = 0;
		a->size = CHUNK;
	}
	p = a->chunk + a->used;
	a->used += need;
	return p;
}

/* True when every conversion of fmt is one idlc_vfmt() formats itself:
 * %s, %.*s, %c, %d, %u, %zu, %llu, %%. */
static bool fmt_simple(const char *fmt)
{
	const char *p;

	for (p = strchr(fmt, '%'); p; p = strchr(p + 1, '%')) {
		p++;
		if (*p == 's' || *p == 'c' || *p == 'd' || *p == 'u' ||
		    *p == '%')
			continue;
		if ((p[0] == '.' && p[1] == '*' && p[2] == 's') ||
		    (p[0] == 'z' && p[1] == 'u')) {
			p += p[0] == '.' ? 2 : 1;
			continue;
		}
		if (p[0] == 'l' && p[1] == 'l' && p[2] == 'u') {
			p += 2;
			continue;
		}
		return false;
	}
	return true;
}

/* Copy len bytes of s to buf at *n as far as cap allows (one byte kept
 * for the terminator); *n counts them all. */
static void put(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
	if (*n + 1 < cap) {
		size_t room = cap - 1 - *n;
		memcpy(buf + *n, s, len < room ? len : room);
	}
	*n += len;
}

/* Decimal digits of v, with a '-' when neg, at the end of tmp[24];
 * returns where they start. */
static char *decimal(char tmp[24], unsigned long long v, bool neg)
{
	char *p = tmp + 24;

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (neg)
		*--p = '-';
	return p;
}

/* Format; see arena.h. */
int idlc_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
	const char *p = fmt, *q;
	char tmp[24], *d;
	size_t n = 0;

	if (!fmt_simple(fmt))
		return vsnprintf(buf, cap, fmt, ap);
	while ((q = strchr(p, '%')) != NULL) {
		put(buf, cap, &n, p, (size_t)(q - p));
		q++;
		if (*q == 's') {
			const char *s = va_arg(ap, const char *);
			put(buf, cap, &n, s, strlen(s));
		} else if (*q == '.') {
			int len = va_arg(ap, int);
			const char *s = va_arg(ap, const char *);
			put(buf, cap, &n, s, len > 0 ? strnlen(s, (size_t)len)
						     : 0);
			q += 2;
		} else if (*q == 'c') {
			char c = (char)va_arg(ap, int);
			put(buf, cap, &n, &c, 1);
		} else if (*q == 'd') {
			int v = va_arg(ap, int);
			d = decimal(tmp, v < 0 ? 0ull - (unsigned long long)v
					       : (unsigned long long)v, v < 0);
			put(buf, cap, &n, d, (size_t)(tmp + 24 - d));
		} else if (*q == 'u' || *q == 'z' || *q == 'l') {
			unsigned long long v =
				*q == 'u' ? va_arg(ap, unsigned) :
				*q == 'z' ? va_arg(ap, size_t) :
					    va_arg(ap, unsigned long long);
			q += *q == 'u' ? 0 : *q == 'z' ? 1 : 2;
			d = decimal(tmp, v, false);
			put(buf, cap, &n, d, (size_t)(tmp + 24 - d));
		} else {
			put(buf, cap, &n, "%", 1);
		}
		p = q + 1;
	}
	put(buf, cap, &n, p, strlen(p));
	if (cap > 0)
		buf[n < cap ? n : cap - 1] = '\0';
	return n > INT_MAX ? -1 : (int)n;
}

/* Room left in the current chunk (0 without one). */
static size_t room(const idlc_arena *a)
{
	return a->chunk ? a->size - a->used : 0;
}

/* True when idlc_arena_alloc(a, size) returns the free end of the
 * current chunk. */
static bool in_place(const idlc_arena *a, size_t size)
{
	size_t need = (size + 15) & ~(size_t)15;

	return a->chunk && need <= CHUNK / 4 && a->used + need <= a->size;
}

/* Format; see arena.h.  The text is formatted straight into the free
 * end of the current chunk; only when it does not fit is it formatted a
 * second time into memory of its own. */
char *idlc_arena_vprintf(idlc_arena *a, const char *fmt, va_list ap)
{
	char *out;
	va_list ap2;
	size_t left = room(a);
	int n;

	va_copy(ap2, ap);
	n = idlc_vfmt(left ? a->chunk + a->used : NULL, left, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	if ((size_t)n < left && in_place(a, (size_t)n + 1))
		return idlc_arena_alloc(a, (size_t)n + 1);
	out = idlc_arena_alloc(a, (size_t)n + 1);
	if (out != NULL)
		idlc_vfmt(out, (size_t)n + 1, fmt, ap);
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
