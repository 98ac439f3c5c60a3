/*
 * idlc/gen/tmpl.c - template values and the template renderer (see tmpl.h).
 *
 * Rendering tokenizes the template once (text, names, block tags), pairs
 * the block tags, then walks the tokens with a stack of lookup frames.
 */
#include <stdarg.h>
#include <string.h>

#include "gen/tmpl.h"

/* Kinds of values. */
typedef enum tv_kind { TV_STR, TV_BOOL, TV_LIST, TV_OBJ } tv_kind;

/* A value: a string, a boolean, a list or an object. */
struct idlc_tv {
	tv_kind kind;        /* which of the fields below */
	const char *str;     /* TV_STR */
	size_t slen;         /* TV_STR: length of str */
	bool b;              /* TV_BOOL */
	idlc_tv **items;     /* TV_LIST items, TV_OBJ values */
	const char **keys;   /* TV_OBJ keys */
	size_t n;            /* entries */
	size_t cap;          /* allocated entries */
	idlc_arena *arena;   /* where it and what it holds are allocated */
};

/* A new value of `kind`. */
static idlc_tv *tv_new(idlc_arena *a, tv_kind kind)
{
	idlc_tv *v = idlc_arena_zalloc(a, sizeof(*v));

	if (v) {
		v->kind = kind;
		v->arena = a;
	}
	return v;
}

/* New object; see tmpl.h. */
idlc_tv *idlc_tv_obj(idlc_arena *a)
{
	return tv_new(a, TV_OBJ);
}

/* New list; see tmpl.h. */
idlc_tv *idlc_tv_list(idlc_arena *a)
{
	return tv_new(a, TV_LIST);
}

/* Make room for one more entry. */
static int tv_grow(idlc_tv *v)
{
	size_t cap;
	idlc_tv **items;
	const char **keys;

	if (v->n < v->cap)
		return 0;
	cap = v->cap ? v->cap * 2 : 16;
	items = idlc_arena_alloc(v->arena, cap * sizeof(*items));
	if (items == NULL)
		return -1;
	if (v->n)
		memcpy(items, v->items, v->n * sizeof(*items));
	v->items = items;
	if (v->kind == TV_OBJ) {
		keys = idlc_arena_alloc(v->arena, cap * sizeof(*keys));
		if (keys == NULL)
			return -1;
		if (v->n)
			memcpy(keys, v->keys, v->n * sizeof(*keys));
		v->keys = keys;
	}
	v->cap = cap;
	return 0;
}

/* The two boolean values, shared by every object (never allocated). */
static const idlc_tv tv_true = { .kind = TV_BOOL, .b = true };
static const idlc_tv tv_false = { .kind = TV_BOOL, .b = false };

/* Set obj[key]; see tmpl.h. */
int idlc_tv_set(idlc_tv *obj, const char *key, idlc_tv *v)
{
	size_t i;

	if (v == NULL || obj == NULL)
		return -1;
	for (i = 0; i < obj->n; i++)
		if (obj->keys[i][0] == key[0] &&
		    strcmp(obj->keys[i], key) == 0) {
			obj->items[i] = v;
			return 0;
		}
	if (tv_grow(obj) < 0)
		return -1;
	obj->keys[obj->n] = key;
	obj->items[obj->n++] = v;
	return 0;
}

/* Set a formatted string; see tmpl.h. */
int idlc_tv_set_str(idlc_tv *obj, const char *key, const char *fmt, ...)
{
	idlc_tv *v = tv_new(obj->arena, TV_STR);
	va_list ap;

	if (v == NULL)
		return -1;
	va_start(ap, fmt);
	if (strcmp(fmt, "%s") == 0) {
		/* plain copy: most values are ready-made strings */
		const char *src = va_arg(ap, const char *);
		char *dst;
		v->slen = strlen(src);
		dst = idlc_arena_alloc(obj->arena, v->slen + 1);
		if (dst)
			memcpy(dst, src, v->slen + 1);
		v->str = dst;
	} else {
		v->str = idlc_arena_vprintf(obj->arena, fmt, ap);
		v->slen = v->str ? strlen(v->str) : 0;
	}
	va_end(ap);
	if (v->str == NULL)
		return -1;
	return idlc_tv_set(obj, key, v);
}

/* Set a boolean (shared constant values, nothing allocated); see
 * tmpl.h. */
int idlc_tv_set_bool(idlc_tv *obj, const char *key, bool b)
{
	return idlc_tv_set(obj, key, (idlc_tv *)(b ? &tv_true : &tv_false));
}

/* Append to a list; see tmpl.h. */
int idlc_tv_push(idlc_tv *list, idlc_tv *v)
{
	if (v == NULL || list == NULL || tv_grow(list) < 0)
		return -1;
	list->items[list->n++] = v;
	return 0;
}

/* Length of a list; see tmpl.h. */
size_t idlc_tv_len(const idlc_tv *list)
{
	return list && list->kind == TV_LIST ? list->n : 0;
}

/* ---------------------------------------------------------------- render */

/* Kinds of template tokens. */
typedef enum tok_kind {
	TK_TEXT,   /* literal text */
	TK_VAR,    /* {{name}} */
	TK_EACH,   /* {{#each name}} */
	TK_IF,     /* {{#if name}} */
	TK_UNLESS, /* {{#unless name}} */
	TK_ELSE,   /* {{else}} */
	TK_END     /* {{/each}}, {{/if}}, {{/unless}} */
} tok_kind;

/* One token. */
typedef struct tok {
	tok_kind kind;     /* kind */
	const char *s;     /* text, or the name */
	size_t len;        /* length of s */
	int line;          /* template line of the token */
	size_t other;      /* blocks: index of the matching else, or end */
	size_t end;        /* blocks: index of the matching end */
} tok;

/* One lookup frame. */
typedef struct frame {
	const idlc_tv *v;  /* object looked up */
	size_t index;      /* loop index */
	size_t count;      /* loop length, 0 outside loops */
} frame;

/* Renderer state. */
typedef struct rnd {
	TALLOC_CTX *ctx;   /* where the output and messages go */
	const char *name;  /* template name for messages */
	tok *toks;         /* tokens */
	size_t n;          /* number of tokens */
	size_t tcap;       /* allocated tokens */
	frame st[64];      /* lookup frames, innermost last */
	size_t depth;      /* frames in use */
	FILE *f;           /* output stream, or NULL: into `out` */
	char *out;         /* output buffer (talloc); with a stream, the
			    * bytes not yet written to it */
	size_t len;        /* output length */
	size_t cap;        /* output capacity */
	char *err;         /* first error message */
} rnd;

/* Record an error (the first one wins); returns -1. */
static int fail(rnd *r, int line, const char *fmt, ...) IDLC_PRINTF(3, 4);
static int fail(rnd *r, int line, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (r->err)
		return -1;
	va_start(ap, fmt);
	m = talloc_vasprintf(r->ctx, fmt, ap);
	va_end(ap);
	r->err = talloc_asprintf(r->ctx, "%s:%d: %s", r->name, line,
				 m ? m : "out of memory");
	talloc_free(m);
	return -1;
}

/* Size of the buffer in front of an output stream: one write per 256 KiB
 * instead of one library call per token. */
#define WBUF (256u * 1024u)

/* Write the buffered bytes to the stream. */
static int flush(rnd *r)
{
	size_t len = r->len;

	r->len = 0;
	return len == 0 || fwrite_unlocked(r->out, 1, len, r->f) == len ? 0
									 : -1;
}

/* Append bytes to the output. */
static int emit(rnd *r, const char *s, size_t len)
{
	if (r->f != NULL) { /* one writer per stream: no locking needed */
		if (r->len + len > r->cap && flush(r) < 0)
			return -1;
		if (len > r->cap)
			return fwrite_unlocked(s, 1, len, r->f) == len ? 0 : -1;
		memcpy(r->out + r->len, s, len);
		r->len += len;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = (r->len + len + 1) * 2;
		char *o = talloc_realloc(r->ctx, r->out, char, cap);
		if (o == NULL)
			return -1;
		r->out = o;
		r->cap = cap;
	}
	memcpy(r->out + r->len, s, len);
	r->len += len;
	r->out[r->len] = '\0';
	return 0;
}

/* Add a token. */
static int add_tok(rnd *r, tok_kind kind, const char *s, size_t len, int line)
{
	tok *t;

	if (r->n == r->tcap) {
		size_t cap = r->tcap ? r->tcap * 2 : 64;
		tok *nt = talloc_realloc(r->ctx, r->toks, tok, cap);
		if (nt == NULL)
			return -1;
		r->toks = nt;
		r->tcap = cap;
	}
	t = &r->toks[r->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->s = s;
	t->len = len;
	t->line = line;
	return 0;
}

/* True for the blanks around tags. */
static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split the template into tokens; standalone block lines vanish. */
static int tokenize(rnd *r, const char *text)
{
	const char *p = text, *text_start = text;
	int line = 1, text_line = 1;

	while (*p) {
		const char *open = strstr(p, "{{"), *close, *a, *b, *q;
		tok_kind kind;
		bool block;
		size_t tl;

		if (open == NULL)
			break;
		close = strstr(open + 2, "}}");
		for (q = p; q < open; q++)
			line += *q == '\n';
		if (close == NULL)
			return fail(r, line, "unterminated tag");
		a = open + 2;
		b = close;
		while (a < b && blank(*a))
			a++;
		while (b > a && blank(b[-1]))
			b--;
		block = true;
		if (*a == '!') {
			kind = TK_TEXT; /* comment: nothing emitted */
		} else if (strncmp(a, "#each ", 6) == 0) {
			kind = TK_EACH;
			a += 6;
		} else if (strncmp(a, "#if ", 4) == 0) {
			kind = TK_IF;
			a += 4;
		} else if (strncmp(a, "#unless ", 8) == 0) {
			kind = TK_UNLESS;
			a += 8;
		} else if ((size_t)(b - a) == 4 && strncmp(a, "else", 4) == 0) {
			kind = TK_ELSE;
		} else if (*a == '/') {
			kind = TK_END;
		} else {
			kind = TK_VAR;
			block = false;
		}
		while (a < b && blank(*a))
			a++;
		/* text before the tag */
		tl = (size_t)(open - text_start);
		p = close + 2;
		if (block) {
			const char *ls = open, *le = p;
			while (ls > text_start && blank(ls[-1]))
				ls--;
			while (*le && blank(*le))
				le++;
			if ((ls == text || ls[-1] == '\n') &&
			    (*le == '\n' || *le == '\0')) {
				tl = (size_t)(ls - text_start);
				p = *le ? le + 1 : le;
			}
		}
		if (tl && add_tok(r, TK_TEXT, text_start, tl, text_line) < 0)
			return -1;
		if (!(kind == TK_TEXT) &&
		    add_tok(r, kind, a, (size_t)(b - a), line) < 0)
			return -1;
		for (q = open; q < p; q++)
			line += *q == '\n';
		text_start = p;
		text_line = line;
	}
	if (*text_start &&
	    add_tok(r, TK_TEXT, text_start, strlen(text_start), text_line) < 0)
		return -1;
	return 0;
}

/* Pair block tags with their else and end. */
static int pair_blocks(rnd *r)
{
	size_t stack[64], depth = 0, i;

	for (i = 0; i < r->n; i++) {
		tok *t = &r->toks[i];
		switch (t->kind) {
		case TK_EACH:
		case TK_IF:
		case TK_UNLESS:
			if (depth == 64)
				return fail(r, t->line, "blocks nested too "
					    "deeply");
			stack[depth++] = i;
			t->other = 0;
			break;
		case TK_ELSE:
			if (depth == 0 || r->toks[stack[depth - 1]].kind ==
			    TK_EACH)
				return fail(r, t->line, "{{else}} outside "
					    "{{#if}}");
			r->toks[stack[depth - 1]].other = i;
			break;
		case TK_END:
			if (depth == 0)
				return fail(r, t->line, "{{/%.*s}} without an "
					    "opening tag", (int)t->len - 1,
					    t->s + 1);
			r->toks[stack[--depth]].end = i;
			break;
		default:
			break;
		}
	}
	if (depth)
		return fail(r, r->toks[stack[depth - 1]].line,
			    "block is never closed");
	return 0;
}

/* Look a name up in the frames, innermost first. */
static const idlc_tv *lookup(rnd *r, const tok *t, idlc_tv *scratch)
{
	size_t i, k;

	if (t->s[0] == '@') {
		for (i = r->depth; i-- > 0;)
			if (r->st[i].count)
				break;
		if (i < r->depth) {
			const frame *f = &r->st[i];
			if (t->len == 6 && strncmp(t->s, "@first", 6) == 0)
				return f->index == 0 ? &tv_true : &tv_false;
			if (t->len == 5 && strncmp(t->s, "@last", 5) == 0)
				return f->index + 1 == f->count ? &tv_true
								: &tv_false;
			if (t->len == 6 && strncmp(t->s, "@index", 6) == 0) {
				scratch->kind = TV_STR;
				scratch->str = talloc_asprintf(r->ctx, "%zu",
							       f->index);
				scratch->slen = scratch->str ?
					strlen(scratch->str) : 0;
				return scratch->str ? scratch : NULL;
			}
		}
	}
	for (i = r->depth; i-- > 0;) {
		const idlc_tv *v = r->st[i].v;
		if (v->kind != TV_OBJ)
			continue;
		for (k = 0; k < v->n; k++)
			if (v->keys[k][0] == t->s[0] &&
			    strncmp(v->keys[k], t->s, t->len) == 0 &&
			    v->keys[k][t->len] == '\0')
				return v->items[k];
	}
	fail(r, t->line, "unknown name '%.*s'", (int)t->len, t->s);
	return NULL;
}

/* Truth of a value. */
static bool truthy(const idlc_tv *v)
{
	switch (v->kind) {
	case TV_BOOL: return v->b;
	case TV_STR: return v->str[0] != '\0';
	case TV_LIST: return v->n > 0;
	default: return true;
	}
}

/* Render tokens [from, to). */
static int render(rnd *r, size_t from, size_t to)
{
	size_t i, k;

	for (i = from; i < to; i++) {
		tok *t = &r->toks[i];
		idlc_tv scratch = { 0 };
		const idlc_tv *v;
		switch (t->kind) {
		case TK_TEXT:
			if (emit(r, t->s, t->len) < 0)
				return fail(r, t->line, "cannot write the "
					    "output");
			break;
		case TK_VAR:
			if ((v = lookup(r, t, &scratch)) == NULL)
				return -1;
			if (v->kind == TV_BOOL)
				v = v->b ? &(idlc_tv){ .kind = TV_STR,
						       .str = "true", .slen = 4 }
					 : &(idlc_tv){ .kind = TV_STR,
						       .str = "false", .slen = 5 };
			if (v->kind != TV_STR)
				return fail(r, t->line, "'%.*s' is not a "
					    "string", (int)t->len, t->s);
			if (emit(r, v->str, v->slen) < 0)
				return fail(r, t->line, "cannot write the "
					    "output");
			break;
		case TK_EACH:
			if ((v = lookup(r, t, &scratch)) == NULL)
				return -1;
			if (v->kind != TV_LIST)
				return fail(r, t->line, "'%.*s' is not a list",
					    (int)t->len, t->s);
			if (r->depth == 64)
				return fail(r, t->line, "loops nested too "
					    "deeply");
			for (k = 0; k < v->n; k++) {
				r->st[r->depth++] = (frame){ v->items[k], k,
							     v->n };
				if (render(r, i + 1, t->end) < 0)
					return -1;
				r->depth--;
			}
			i = t->end;
			break;
		case TK_IF:
		case TK_UNLESS: {
			bool c;
			if ((v = lookup(r, t, &scratch)) == NULL)
				return -1;
			c = truthy(v) != (t->kind == TK_UNLESS);
			if (c && render(r, i + 1, t->other ? t->other
							  : t->end) < 0)
				return -1;
			if (!c && t->other && render(r, t->other + 1,
						     t->end) < 0)
				return -1;
			i = t->end;
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

/* Render into r (its stream or its buffer). */
static int render_all(rnd *r, const char *name, const char *text,
		      const idlc_tv *root)
{
	r->name = name;
	r->st[0] = (frame){ root, 0, 0 };
	r->depth = 1;
	if (tokenize(r, text) == 0 && pair_blocks(r) == 0 &&
	    emit(r, "", 0) == 0 && render(r, 0, r->n) == 0)
		return 0;
	return -1;
}

/* Render; see tmpl.h. */
int idlc_tmpl_render(TALLOC_CTX *mem_ctx, const char *name, const char *text,
		     const idlc_tv *root, char **out, char **errmsg)
{
	rnd r = { 0 };
	int rc = -1;

	r.ctx = talloc_new(mem_ctx);
	if (r.ctx == NULL)
		return -1;
	if (render_all(&r, name, text, root) == 0) {
		*out = talloc_steal(mem_ctx, r.out);
		rc = 0;
	} else {
		*errmsg = talloc_steal(mem_ctx, r.err ? r.err :
				       talloc_strdup(r.ctx, "out of memory"));
	}
	talloc_free(r.ctx);
	return rc;
}

/* Render to a stream; see tmpl.h. */
int idlc_tmpl_render_file(TALLOC_CTX *mem_ctx, FILE *f, const char *name,
			  const char *text, const idlc_tv *root,
			  char **errmsg)
{
	rnd r = { 0 };
	int rc = -1;

	r.ctx = talloc_new(mem_ctx);
	if (r.ctx == NULL)
		return -1;
	r.f = f;
	r.cap = WBUF;
	r.out = talloc_size(r.ctx, WBUF);
	if (r.out != NULL && render_all(&r, name, text, root) == 0 &&
	    flush(&r) == 0)
		rc = 0;
	else
		*errmsg = talloc_steal(mem_ctx, r.err ? r.err :
				       talloc_asprintf(r.ctx, "%s: cannot write",
						       name));
	talloc_free(r.ctx);
	return rc;
}
