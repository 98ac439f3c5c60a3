/*
 * idlc/gen/text.c - the generators' text: shape names, doc comments, the set of what was emitted once, growing strings and the
 * layout of generated code (indentation, wrapping, temporaries).
 */
#include <stdarg.h>
#include <string.h>

#include "gen/gen_int.h"

/* Qualified name of n joined with sep, in the arena. */
static char *qualified(gen *g, const idlc_node *n, const char *sep)
{
	size_t len = idlc_qualified_name_buf(n, sep, NULL, 0);
	char *out = idlc_arena_alloc(g->a, len + 1);

	if (out)
		idlc_qualified_name_buf(n, sep, out, len + 1);
	return out;
}

/* Shape name of a declaration; see gen_int.h. */
char *idlc_gen_dotted_name(gen *g, const idlc_node *n)
{
	return qualified(g, n, ".");
}

/* The definition behind forward declarations; see gen_int.h. */
const idlc_node *idlc_gen_defn(const idlc_node *n)
{
	while (n && n->definition)
		n = n->definition;
	return n;
}

/* Text safe inside a C comment; see gen_int.h. */
const char *idlc_gen_comment_safe(gen *g, const char *text)
{
	const char *s;
	char *out, *o;

	if (strstr(text, "/*") == NULL && strstr(text, "*/") == NULL)
		return text;
	out = idlc_arena_alloc(g->a, strlen(text) * 2 + 1);
	if (out == NULL)
		return NULL;
	for (s = text, o = out; *s; s++) {
		*o++ = *s;
		/* "/ *" and "* /": no comment opens or closes */
		if ((s[0] == '/' && s[1] == '*') || (s[0] == '*' && s[1] == '/'))
			*o++ = ' ';
	}
	*o = '\0';
	return out;
}

/* A doc comment as a C comment; see gen_int.h. */
char *idlc_gen_doc(gen *g, const char *doc, const char *indent)
{
	size_t in = strlen(indent), lines = 1, len;
	const char *s, *e;
	char *out, *o;

	if (doc == NULL || *doc == '\0')
		return idlc_arena_printf(g->a, "%s", "");
	doc = idlc_gen_comment_safe(g, doc);
	if (doc == NULL)
		return NULL;
	len = strlen(doc);
	for (s = doc; (s = strchr(s, '\n')) != NULL; s++)
		lines++;
	/* written in place (linear however long the comment): the opening
	 * and closing lines, and per line indent " * " text "\n" */
	out = idlc_arena_alloc(g->a, 2 * (in + 5) + lines * (in + 4) + len + 1);
	if (out == NULL)
		return NULL;
	o = out + sprintf(out, "%s/**\n", indent);
	for (s = doc; *s; s = *e ? e + 1 : e) {
		e = strchr(s, '\n');
		if (e == NULL)
			e = s + strlen(s);
		memcpy(o, indent, in);
		o += in;
		*o++ = ' ';
		*o++ = '*';
		if (e > s)
			*o++ = ' ';
		memcpy(o, s, (size_t)(e - s));
		o += e - s;
		*o++ = '\n';
	}
	sprintf(o, "%s */\n", indent);
	return out;
}

/* Hash of a string. */
static uint32_t str_hash(const char *s)
{
	return idlc_gen_hash(s, IDLC_GEN_HASH_SEED);
}

/* Is a name marked done; see gen_int.h. */
bool idlc_gen_has(const gen *g, const char *name)
{
	size_t mask = g->cap_done - 1, i;

	if (g->cap_done == 0)
		return false;
	for (i = str_hash(name) & mask; g->done[i]; i = (i + 1) & mask)
		if (strcmp(g->done[i], name) == 0)
			return true;
	return false;
}

/* Mark a name done; see gen_int.h.  An open-addressing set: generating
 * a large file marks thousands of names. */
int idlc_gen_once(gen *g, const char *name)
{
	size_t mask, i;

	if (name == NULL)
		return -1;
	if ((g->n_done + 1) * 2 > g->cap_done) {
		size_t cap = g->cap_done ? g->cap_done * 2 : 256, k;
		const char **d = idlc_arena_zalloc(g->a, cap * sizeof(*d));
		if (d == NULL)
			return -1;
		for (k = 0; k < g->cap_done; k++) {
			if (g->done[k] == NULL)
				continue;
			for (i = str_hash(g->done[k]) & (cap - 1); d[i];
			     i = (i + 1) & (cap - 1))
				;
			d[i] = g->done[k];
		}
		g->done = d;
		g->cap_done = cap;
	}
	mask = g->cap_done - 1;
	for (i = str_hash(name) & mask; g->done[i]; i = (i + 1) & mask)
		if (strcmp(g->done[i], name) == 0)
			return 1;
	g->done[i] = name;
	g->n_done++;
	return 0;
}

/* Are d's operations shared; see gen_int.h. */
bool idlc_gen_shared(gen *g, const idlc_node *d)
{
	const char *key;

	if (d == NULL || d->kind != IDLC_INTERFACE)
		return false;
	key = idlc_arena_printf(g->a, "base %s", idlc_gen_c_name(g, d));
	return key && idlc_gen_has(g, key);
}

/* Append formatted text; see gen_int.h. */
int idlc_sb_add(gen *g, sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = idlc_vfmt(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (b->s == NULL || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *ns = talloc_realloc(g->tmp, b->s, char, cap < 256 ? 256
								 : cap);
		if (ns == NULL)
			return -1;
		b->s = ns;
		b->cap = cap < 256 ? 256 : cap;
		va_start(ap, fmt);
		idlc_vfmt(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

/* The text of b; see gen_int.h. */
const char *idlc_sbs(const sb *b)
{
	return b->s ? b->s : "";
}

/* Free b's text; see gen_int.h. */
void idlc_sb_free(sb *b)
{
	talloc_free(b->s);
	memset(b, 0, sizeof(*b));
}

/* Indent every line; see gen_int.h. */
char *idlc_gen_indent(gen *g, const char *code, int tabs)
{
	char *out = idlc_arena_printf(g->a, "%s", "");
	const char *s, *e;

	if (code == NULL)
		return NULL;
	for (s = code; out && *s; s = *e ? e + 1 : e) {
		e = strchr(s, '\n');
		if (e == NULL)
			e = s + strlen(s);
		out = idlc_arena_append(g->a, out, "%.*s%.*s\n",
					e > s ? tabs : 0, "\t\t\t\t\t\t\t\t\t\t",
					(int)(e - s), s);
	}
	return out;
}

/* Wrap a parameter list; see gen_int.h. */
const char *idlc_gen_wrap(gen *g, const char *params, size_t width, int tabs)
{
	char *out, *o;
	const char *p;

	if (params == NULL || width <= 80)
		return params;
	out = idlc_arena_alloc(g->a, strlen(params) * (size_t)(tabs + 2) + 1);
	if (out == NULL)
		return NULL;
	for (o = out, p = params; *p; p++) {
		if (p[0] == ',' && p[1] == ' ') {
			*o++ = ',';
			*o++ = '\n';
			memset(o, '\t', (size_t)tabs);
			o += tabs;
			p++;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* True for the characters of a C identifier. */
static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Is `word` used in `code`; see gen_int.h.  A struct member of that
 * name (`v->cx`, `v.cx`) is not a use. */
bool idlc_gen_uses(const char *code, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = strstr(code, word); p; p = strstr(p + 1, word))
		if ((p == code || !ident_char(p[-1])) && !ident_char(p[len]) &&
		    !(p > code && p[-1] == '.') &&
		    !(p - code >= 2 && p[-2] == '-' && p[-1] == '>'))
			return true;
	return false;
}

/* Declarations of the decoding temporaries; see gen_int.h. */
const char *idlc_gen_temps(gen *g, const char *code)
{
	static const char *const names[4] = {
		"idl_i", "idl_u", "idl_f", "idl_r" };
	static const char *const decl[4] = {
		"int64_t idl_i = 0;", "uint64_t idl_u = 0;",
		"double idl_f = 0;", "shade_ref *idl_r = NULL;",
	};
	char *out = idlc_arena_printf(g->a, "%s", "");
	size_t i;

	for (i = 0; out && i < 4; i++)
		if (idlc_gen_uses(code, names[i]))
			out = idlc_arena_append(g->a, out, "\t%s\n", decl[i]);
	return out;
}

/* One function of the generated source; see gen_int.h. */
int idlc_gen_function(gen *g, idlc_tv *list, const char *doc,
		      const char *ret, const char *name, const char *params,
		      const char *body)
{
	idlc_tv *o = idlc_tv_obj(g->a);

	params = idlc_gen_wrap(g, params, strlen(ret) + strlen(name) +
			       strlen(params) + 3, 1);
	if (o == NULL || params == NULL || body == NULL ||
	    idlc_tv_set_str(o, "doc", "%s", doc) < 0 ||
	    idlc_tv_set_str(o, "ret", "%s", ret) < 0 ||
	    idlc_tv_set_str(o, "name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "params", "%s", params) < 0 ||
	    idlc_tv_set_str(o, "body", "%s", body) < 0)
		return -1;
	return idlc_tv_push(list, o);
}
