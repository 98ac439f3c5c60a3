/*
 * idlc/front/lex.c - scanner helpers: positions, line markers, pragmas, doc
 * comments, literal decoding.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shade/value.h"

#include "base/comp.h"
#include "front/create.h"
#include "front/keywords.h"
#include "front/lex.h"

/* Advance over the matched text; the token's range is [start, end). */
void idlc_lex_step(idlc_parser *p, idlc_loc *loc, const char *text,
		   size_t len)
{
	size_t i;

	loc->file = p->file;
	loc->first_line = p->line;
	loc->first_column = p->column;
	loc->bol = p->bol;
	loc->doc = NULL;
	for (i = 0; i < len; i++) {
		if (text[i] == '\n') {
			p->line++;
			p->column = 1;
			p->bol = text + i + 1;
		} else {
			p->column++;
		}
	}
	loc->last_line = p->line;
	loc->last_column = p->column;
}

/* The pending doc comment belongs to this token. */
void idlc_lex_token(idlc_parser *p, idlc_loc *loc)
{
	loc->doc = p->doc;
	p->doc = NULL;
}

/* Parse `# N "file" flags...` (the newline is not part of the match, so
 * the next line is N). */
void idlc_lex_line_marker(idlc_parser *p, const char *text)
{
	const char *s = text, *q;
	long line;

	while (*s == ' ' || *s == '\t' || *s == '#')
		s++;
	if (strncmp(s, "line", 4) == 0)
		s += 4;
	line = strtol(s, (char **)&s, 10);
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"' && (q = strchr(s + 1, '"')) != NULL) {
		p->file = idlc_intern(p->comp, s + 1, (size_t)(q - s - 1));
		if (p->file[0] != '<')
			idlc_add_dep(p->comp, p->file);
	}
	/* the newline that follows will advance to `line` */
	p->line = (int)line - 1;
	p->doc = NULL;
}

/* Skip blanks at *s. */
static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

/* The scoped name at *s ("A", "::A::B"; an escaped identifier's '_'
 * dropped) into *out, *s moved past it; -1 when there is none (or on
 * out of memory). */
static int pragma_name(idlc_parser *p, const idlc_loc *loc, const char **s,
		       idlc_scoped_name **out)
{
	const char *c = skip_ws(*s), *start;
	bool absolute = false;

	*out = NULL;
	if (c[0] == ':' && c[1] == ':') {
		absolute = true;
		c = skip_ws(c + 2);
	}
	for (;;) {
		if (*c == '_')
			c++;
		if (!isalpha((unsigned char)*c))
			return -1;
		for (start = c; isalnum((unsigned char)*c) || *c == '_'; c++)
			;
		if (idlc_create_scoped_name(p, loc, *out, absolute,
				idlc_intern(p->comp, start, (size_t)(c - start)),
				out) < 0)
			return -1;
		c = skip_ws(c);
		if (c[0] != ':' || c[1] != ':')
			break;
		c = skip_ws(c + 2);
	}
	*s = c;
	return 0;
}

/* The text of the string literal at *s (no escapes), *s moved past
 * it; NULL when there is none. */
static const char *pragma_string(idlc_parser *p, const char **s)
{
	const char *c = skip_ws(*s), *q;

	if (*c != '"' || (q = strchr(c + 1, '"')) == NULL)
		return NULL;
	*s = q + 1;
	return idlc_intern(p->comp, c + 1, (size_t)(q - c - 1));
}

/* The version at *s ("2.3": digits, a dot, digits), *s moved past it;
 * NULL when there is none. */
static const char *pragma_version(idlc_parser *p, const char **s)
{
	const char *c = skip_ws(*s), *start = c;

	if (!isdigit((unsigned char)*c))
		return NULL;
	while (isdigit((unsigned char)*c))
		c++;
	if (*c != '.' || !isdigit((unsigned char)c[1]))
		return NULL;
	for (c++; isdigit((unsigned char)*c); c++)
		;
	*s = c;
	return idlc_intern(p->comp, start, (size_t)(c - start));
}

/* A '{' (open) or '}': the positions of the open ones, which each
 * pragma records. */
void idlc_lex_brace(idlc_parser *p, const idlc_loc *loc, bool open)
{
	if (!open) {
		if (p->n_braces > 0)
			p->n_braces--;
		return;
	}
	if ((p->n_braces & (p->n_braces + 1)) == 0 || p->braces == NULL) {
		/* grows at 0, 1, 3, 7...: doubling */
		size_t *b = talloc_realloc(p->comp, p->braces, size_t,
					   2 * p->n_braces + 1);
		if (b == NULL)
			return; /* the position is lost, nothing else */
		p->braces = b;
	}
	p->braces[p->n_braces++] = idlc_text_pos(p, loc);
}

/* `#pragma prefix "x"`, `#pragma ID name "id"` and `#pragma version name
 * M.m` become nodes that the grammar places among the declarations
 * (idlc_take_pragmas); other pragmas are ignored. */
void idlc_lex_pragma(idlc_parser *p, const idlc_loc *loc, const char *text)
{
	const char *s = skip_ws(strstr(text, "pragma") + 6), *str = NULL;
	idlc_scoped_name *target = NULL;
	idlc_kind kind;
	idlc_node *n = NULL;
	bool ok;

	if (strncmp(s, "prefix", 6) == 0 && !isalnum((unsigned char)s[6])) {
		kind = IDLC_PRAGMA_PREFIX;
		s += 6;
		ok = (str = pragma_string(p, &s)) != NULL;
		if (ok)
			p->comp->typeprefix = str;
	} else if (strncmp(s, "ID", 2) == 0 && !isalnum((unsigned char)s[2])) {
		kind = IDLC_PRAGMA_ID;
		s += 2;
		ok = pragma_name(p, loc, &s, &target) == 0 &&
		     (str = pragma_string(p, &s)) != NULL && *str;
	} else if (strncmp(s, "version", 7) == 0 &&
		   !isalnum((unsigned char)s[7])) {
		kind = IDLC_PRAGMA_VERSION;
		s += 7;
		ok = pragma_name(p, loc, &s, &target) == 0 &&
		     (str = pragma_version(p, &s)) != NULL;
	} else {
		return;
	}
	s = skip_ws(s);
	if (!ok || (*s != '\0' && strncmp(s, "//", 2) != 0 &&
		    strncmp(s, "/*", 2) != 0)) {
		idlc_error(p->comp, loc, "malformed '#pragma %s': expected %s",
			   kind == IDLC_PRAGMA_PREFIX ? "prefix" :
			   kind == IDLC_PRAGMA_ID ? "ID" : "version",
			   kind == IDLC_PRAGMA_PREFIX ? "a string" :
			   kind == IDLC_PRAGMA_ID ? "a name and a non-empty "
			   "string" : "a name and a version (2.3)");
		return;
	}
	if (p->n_pragmas == p->cap_pragmas) {
		size_t cap = p->cap_pragmas ? 2 * p->cap_pragmas : 8;
		idlc_node **grown = talloc_realloc(p->comp, p->pragmas,
						   idlc_node *, cap);
		if (grown == NULL)
			return; /* out of memory: the pragma is lost */
		p->pragmas = grown;
		p->cap_pragmas = cap;
	}
	if (idlc_create_pragma(p, loc, kind, target, str, &n) == 0)
		p->pragmas[p->n_pragmas++] = n;
}

/* Strip the comment markers and the leading " * " of each line. */
static char *clean_doc(TALLOC_CTX *ctx, const char *text, size_t len)
{
	char *out = talloc_size(ctx, len + 1), *o = out;
	const char *s = text, *end = text + len;
	bool line_start = true;

	if (out == NULL)
		return NULL;
	if (len >= 3 && strncmp(text, "///", 3) == 0) {
		s += 3;
	} else {
		s += 3;       /* slash star star */
		end -= 2;     /* star slash */
	}
	while (s < end) {
		if (line_start) {
			while (s < end && (*s == ' ' || *s == '\t'))
				s++;
			if (s < end && *s == '*' &&
			    !(s + 1 < end && s[1] == '/'))
				s++;
			if (s < end && *s == ' ')
				s++;
			line_start = false;
			continue;
		}
		*o++ = *s;
		if (*s++ == '\n')
			line_start = true;
	}
	while (o > out && isspace((unsigned char)o[-1]))
		o--;
	*o = '\0';
	s = out;
	while (*s == '\n')
		s++;
	if (s != out)
		memmove(out, s, strlen(s) + 1);
	return out;
}

/* Keep doc comments as pending; consecutive `///` lines are joined.
 * `/ * * /` and plain comments are not doc comments. */
void idlc_lex_comment(idlc_parser *p, const char *text, size_t len)
{
	char *doc;
	bool line_doc = text[1] == '/';

	if (!line_doc && (len < 5 || text[2] != '*'))
		return;
	if (line_doc && len > 3 && text[3] == '/')
		return; /* "////" separators */
	doc = clean_doc(p->comp, text, len);
	if (doc == NULL)
		return;
	if (line_doc && p->doc != NULL && p->doc_line == p->line - 1)
		doc = talloc_asprintf(p->comp, "%s\n%s", p->doc, doc);
	p->doc = doc;
	p->doc_line = line_doc ? p->line : 0;
}

/* An identifier: strip the escape underscore, copy it.  An identifier
 * that equals a keyword but for case is remembered (the escaped form
 * `_String` is not): declaring it is refused by the resolve pass (OMG IDL
 * 7.2.3); a use of it, as omniidl, is not. */
int idlc_lex_ident(idlc_parser *p, const idlc_loc *loc, const char *text,
		   size_t len, char **out)
{
	const char *kw = NULL;

	(void)loc;
	if (text[0] == '_') {
		text++;
		len--;
	} else if (len <= 12) {
		kw = idlc_keyword_ignoring_case(text, len);
	}
	*out = talloc_strndup(p->comp, text, len);
	if (*out == NULL)
		return -1;
	return kw ? idlc_keyword_ident_add(p->comp, *out, kw) : 0;
}

/* `@ ::a :: b` -> scoped name a::b, absolute. */
int idlc_lex_anno_name(idlc_parser *p, const idlc_loc *loc, const char *text,
		       idlc_scoped_name **out)
{
	const char *s = text + 1;
	idlc_scoped_name *sn = NULL;
	bool absolute = false;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' ||
	       *s == '\v')
		s++;
	if (s[0] == ':') {
		absolute = true;
		s += 2;
	}
	while (*s) {
		const char *b = s;
		char *id;
		while (isalnum((unsigned char)*s) || *s == '_')
			s++;
		id = talloc_strndup(p->comp, b, (size_t)(s - b));
		if (id == NULL ||
		    idlc_create_scoped_name(p, loc, sn, absolute, id, &sn) < 0)
			return -1;
		while (*s && !isalnum((unsigned char)*s) && *s != '_')
			s++;
	}
	*out = sn;
	return 0;
}

/* Integer literals: exact up to 2^64 - 1. */
int idlc_lex_integer(idlc_parser *p, const idlc_loc *loc, const char *text,
		     int base, idlc_expr **out)
{
	idlc_value v = { .kind = IDLC_V_INT };
	const char *s = text;
	idlc_int max = ((idlc_int)1 << 64) - 1;
	bool over = false;

	if (base == 16)
		s += 2;
	for (; *s; s++) {
		int d = isdigit((unsigned char)*s) ? *s - '0'
			: tolower((unsigned char)*s) - 'a' + 10;
		if (d >= base) {
			idlc_error(p->comp, loc, "invalid digit '%c' in octal "
				   "constant", *s);
			v.i = 0;
			break;
		}
		v.i = v.i * base + d;
		if (v.i > max) {
			over = true;
			v.i = 0;
			break;
		}
	}
	if (over)
		idlc_error(p->comp, loc, "integer literal %s is too large",
			   text);
	return idlc_create_literal(p, loc, &v, out);
}

/* Floating-point literals. */
int idlc_lex_float(idlc_parser *p, const idlc_loc *loc, const char *text,
		   idlc_expr **out)
{
	idlc_value v = { .kind = IDLC_V_FLOAT };

	errno = 0;
	v.f = strtold(text, NULL);
	if (errno == ERANGE && (v.f > 1 || v.f < -1))
		idlc_error(p->comp, loc, "floating-point literal %s is out "
			   "of range", text);
	return idlc_create_literal(p, loc, &v, out);
}

/* Fixed-point literals: keep the text (without the d) and its value. */
int idlc_lex_fixed(idlc_parser *p, const idlc_loc *loc, const char *text,
		   idlc_expr **out)
{
	idlc_value v = { .kind = IDLC_V_FIXED };
	size_t len = strlen(text) - 1, digits = 0, i;

	for (i = 0; i < len; i++)
		if (isdigit((unsigned char)text[i]))
			digits++;
	if (digits > 31)
		idlc_error(p->comp, loc, "fixed-point literal has more than "
			   "31 digits");
	v.str = talloc_strndup(p->comp, text, len);
	if (v.str == NULL)
		return -1;
	v.len = len;
	v.f = strtold(v.str, NULL);
	return idlc_create_literal(p, loc, &v, out);
}

/* Decode one (possibly escaped) character at *s, advancing *s.  Returns
 * the code, or reports an error and returns '?'. */
static uint32_t decode_one(idlc_parser *p, const idlc_loc *loc,
			   const char **s, bool wide)
{
	const char *c = *s;
	uint32_t v = 0;
	int n;

	if (*c != '\\') {
		*s = c + 1;
		return (unsigned char)*c;
	}
	c++;
	*s = c + 1;
	switch (*c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'v': return '\v';
	case 'b': return '\b';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'a': return '\a';
	case '\\': return '\\';
	case '?': return '?';
	case '\'': return '\'';
	case '"': return '"';
	case 'x':
		for (n = 0, c++; n < 2 && isxdigit((unsigned char)*c); n++, c++)
			v = v * 16 + (uint32_t)(isdigit((unsigned char)*c) ?
				*c - '0' : tolower((unsigned char)*c) - 'a' + 10);
		if (n == 0)
			break;
		*s = c;
		return v;
	case 'u':
		if (!wide) {
			idlc_error(p->comp, loc, "\\u escape is only allowed "
				   "in wide literals");
			return '?';
		}
		for (n = 0, c++; n < 4 && isxdigit((unsigned char)*c); n++, c++)
			v = v * 16 + (uint32_t)(isdigit((unsigned char)*c) ?
				*c - '0' : tolower((unsigned char)*c) - 'a' + 10);
		if (n == 0)
			break;
		*s = c;
		return v;
	default:
		if (*c >= '0' && *c <= '7') {
			for (n = 0; n < 3 && *c >= '0' && *c <= '7'; n++, c++)
				v = v * 8 + (uint32_t)(*c - '0');
			*s = c;
			if (v > 255) {
				idlc_error(p->comp, loc, "octal escape is out "
					   "of range");
				return '?';
			}
			return v;
		}
	}
	idlc_error(p->comp, loc, "unknown escape sequence '\\%c'", *c);
	return '?';
}

/* 'c', '\n', L'x'... */
int idlc_lex_char(idlc_parser *p, const idlc_loc *loc, const char *text,
		  size_t len, bool wide, idlc_expr **out)
{
	idlc_value v = { .kind = wide ? IDLC_V_WCHAR : IDLC_V_CHAR };
	const char *s = text + 1, *end = text + len - 1;

	if (s == end) {
		idlc_error(p->comp, loc, "empty character literal");
	} else {
		v.i = decode_one(p, loc, &s, wide);
		if (s != end)
			idlc_error(p->comp, loc, "more than one character in "
				   "a character literal");
	}
	return idlc_create_literal(p, loc, &v, out);
}

/* "..." with escapes, stored as UTF-8. */
int idlc_lex_string(idlc_parser *p, const idlc_loc *loc, const char *text,
		    size_t len, bool wide, idlc_expr **out)
{
	idlc_value v = { .kind = wide ? IDLC_V_WSTRING : IDLC_V_STRING };
	const char *s = text + 1, *end = text + len - 1;
	char *buf = talloc_size(p->comp, len * 2 + 1), *o = buf;

	if (buf == NULL)
		return -1;
	while (s < end) {
		bool esc = *s == '\\';
		uint32_t c = decode_one(p, loc, &s, wide);
		if (c == 0) {
			idlc_error(p->comp, loc, "string literal contains a "
				   "nul character");
			continue;
		}
		if (esc && wide) {
			size_t k = shade_utf8_encode(c, o);
			if (k == 0)
				idlc_error(p->comp, loc, "\\u%04X is not a "
					   "Unicode scalar value", (unsigned)c);
			o += k;
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	v.str = buf;
	v.len = (size_t)(o - buf);
	return idlc_create_literal(p, loc, &v, out);
}

/* Report a stray character. */
void idlc_lex_bad_char(idlc_parser *p, const idlc_loc *loc, unsigned char c)
{
	if (c >= 0x20 && c < 0x7f)
		idlc_error(p->comp, loc, "invalid character '%c'", c);
	else
		idlc_error(p->comp, loc, "invalid character '\\x%02x'", c);
}
