/*
 * tools/json.c - strict JSON <-> shade values (json.h).
 *
 * The reader is a recursive descent over a byte range with an explicit
 * depth bound; every read checks the end first, so any input, however
 * cut or garbled, ends in an error naming its offset.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shade/cbor.h"
#include "shade/object.h"
#include "json.h"

/* Reader state. */
struct rd {
	const char *s;     /* text */
	size_t len;        /* its length */
	size_t pos;        /* next byte */
	TALLOC_CTX *ctx;   /* where values go */
	shade_error **err; /* the error out */
	bool diag;         /* CBOR diagnostic notation, not JSON */
};

/* Report a parse error at the current offset. */
static shade_status bad(struct rd *r, const char *what)
{
	return shade_error_set(r->err, SHADE_ERR_VALUE, "offset %zu: %s",
			       r->pos, what);
}

static void skip_ws(struct rd *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
				   r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

static shade_status parse_value(struct rd *r, int depth, shade_value **out);

/* Four hex digits at pos into *u. */
static bool hex4(struct rd *r, unsigned *u)
{
	unsigned v = 0;
	int i;

	if (r->len - r->pos < 4)
		return false;
	for (i = 0; i < 4; i++) {
		char c = r->s[r->pos + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return false;
	}
	r->pos += 4;
	*u = v;
	return true;
}

/* Append code point cp as UTF-8 (the caller checked it is a scalar
 * value). */
static char *put_utf8(char *b, size_t *n, unsigned cp)
{
	char t[4];
	size_t k = shade_utf8_encode(cp, t);

	memcpy(b + *n, t, k);
	*n += k;
	return b;
}

/* A string (pos at the opening quote) into a str box. */
static shade_status parse_string(struct rd *r, shade_value **out)
{
	char *b = talloc_size(NULL, r->len - r->pos + 1);
	size_t n = 0, start = r->pos;
	shade_status st;

	if (b == NULL)
		return shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
	r->pos++;
	for (;;) {
		unsigned char c;

		if (r->pos >= r->len) {
			talloc_free(b);
			return bad(r, "unterminated string");
		}
		c = (unsigned char)r->s[r->pos];
		if (c == '"')
			break;
		if (c < 0x20) {
			talloc_free(b);
			return bad(r, "control character in a string");
		}
		if (c != '\\') {
			b[n++] = (char)c;
			r->pos++;
			continue;
		}
		if (++r->pos >= r->len) {
			talloc_free(b);
			return bad(r, "unterminated string");
		}
		c = (unsigned char)r->s[r->pos++];
		switch (c) {
		case '"': b[n++] = '"'; break;
		case '\\': b[n++] = '\\'; break;
		case '/': b[n++] = '/'; break;
		case 'b': b[n++] = '\b'; break;
		case 'f': b[n++] = '\f'; break;
		case 'n': b[n++] = '\n'; break;
		case 'r': b[n++] = '\r'; break;
		case 't': b[n++] = '\t'; break;
		case 'u': {
			unsigned u, lo;

			if (!hex4(r, &u)) {
				talloc_free(b);
				return bad(r, "bad \\u escape");
			}
			if (u >= 0xdc00 && u <= 0xdfff) {
				talloc_free(b);
				return bad(r, "lone low surrogate");
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				if (r->len - r->pos < 2 || r->s[r->pos] != '\\' ||
				    r->s[r->pos + 1] != 'u') {
					talloc_free(b);
					return bad(r, "lone high surrogate");
				}
				r->pos += 2;
				if (!hex4(r, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					talloc_free(b);
					return bad(r, "lone high surrogate");
				}
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(b, &n, u);
			break;
		}
		default:
			talloc_free(b);
			r->pos--;
			return bad(r, "bad escape");
		}
	}
	if (shade_utf8_check(b, n, NULL) != SHADE_OK) {
		talloc_free(b);
		r->pos = start;
		return bad(r, "string is not valid UTF-8");
	}
	r->pos++;
	*out = shade_strn(r->ctx, b, n);
	st = *out ? SHADE_OK
		  : shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
	talloc_free(b);
	return st;
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static shade_status parse_number(struct rd *r, shade_value **out)
{
	size_t start = r->pos;
	bool is_float = false;
	char buf[64], *end;
	size_t n;

	if (r->pos < r->len && r->s[r->pos] == '-')
		r->pos++;
	if (r->pos >= r->len || r->s[r->pos] < '0' || r->s[r->pos] > '9')
		return bad(r, "expected a digit");
	if (r->s[r->pos] == '0') {
		r->pos++;
		if (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
			return bad(r, "leading zero");
	} else {
		while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
			r->pos++;
	}
	if (r->pos < r->len && r->s[r->pos] == '.') {
		is_float = true;
		r->pos++;
		if (r->pos >= r->len || r->s[r->pos] < '0' || r->s[r->pos] > '9')
			return bad(r, "expected a digit after '.'");
		while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
			r->pos++;
	}
	if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
		is_float = true;
		r->pos++;
		if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-'))
			r->pos++;
		if (r->pos >= r->len || r->s[r->pos] < '0' || r->s[r->pos] > '9')
			return bad(r, "expected a digit in the exponent");
		while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
			r->pos++;
	}
	n = r->pos - start;
	if (n >= sizeof(buf)) {
		r->pos = start;
		return bad(r, "number too long");
	}
	memcpy(buf, r->s + start, n);
	buf[n] = '\0';
	if (!is_float) {
		long long i;

		errno = 0;
		i = strtoll(buf, &end, 10);
		if (errno == 0) {
			*out = shade_int(r->ctx, i);
			goto done;
		}
	}
	*out = shade_float(r->ctx, strtod(buf, &end));
done:
	return *out ? SHADE_OK
		    : shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
}

/* Match a literal word. */
static bool word(struct rd *r, const char *w)
{
	size_t n = strlen(w);

	if (r->len - r->pos < n || memcmp(r->s + r->pos, w, n) != 0)
		return false;
	r->pos += n;
	return true;
}

/* {"$bytes": "hex"} turns into bytes; other objects stay dicts. */
static shade_status maybe_bytes(struct rd *r, shade_value **v)
{
	const shade_value *h;
	uint8_t *p;
	size_t n;
	shade_value *b;

	if (shade_dict_len(*v) != 1 ||
	    (h = shade_dict_get_str(*v, "$bytes")) == NULL)
		return SHADE_OK;
	if (shade_value_kind(h) != SHADE_STR ||
	    (p = shade_hex_decode(NULL, shade_value_cstr(h), &n)) == NULL)
		return bad(r, "\"$bytes\" wants a string of hex digits");
	b = shade_bytes(r->ctx, p, n);
	talloc_free(p);
	if (b == NULL)
		return shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
	talloc_free(*v);
	*v = b;
	return SHADE_OK;
}

static shade_status parse_object(struct rd *r, int depth, shade_value **out)
{
	shade_value *d = shade_dict_new(r->ctx, 4), *k = NULL, *v = NULL;
	shade_status st;

	if (d == NULL)
		return shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
	r->pos++;
	skip_ws(r);
	if (r->pos < r->len && r->s[r->pos] == '}') {
		r->pos++;
		*out = d;
		return SHADE_OK;
	}
	for (;;) {
		skip_ws(r);
		if (r->diag) {
			if ((st = parse_value(r, depth + 1, &k)) != SHADE_OK)
				goto fail;
		} else if (r->pos >= r->len || r->s[r->pos] != '"') {
			st = bad(r, "expected a string key");
			goto fail;
		} else if ((st = parse_string(r, &k)) != SHADE_OK) {
			goto fail;
		}
		if (shade_dict_contains(d, k)) {
			st = bad(r, "duplicate key");
			goto fail;
		}
		skip_ws(r);
		if (r->pos >= r->len || r->s[r->pos] != ':') {
			st = bad(r, "expected ':'");
			goto fail;
		}
		r->pos++;
		if ((st = parse_value(r, depth + 1, &v)) != SHADE_OK)
			goto fail;
		st = shade_dict_set_take(d, k, v, r->err);
		k = v = NULL;
		if (st != SHADE_OK)
			goto fail;
		skip_ws(r);
		if (r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if (r->pos < r->len && r->s[r->pos] == '}') {
			r->pos++;
			break;
		}
		st = bad(r, "expected ',' or '}'");
		goto fail;
	}
	if (!r->diag && (st = maybe_bytes(r, &d)) != SHADE_OK)
		goto fail;
	*out = d;
	return SHADE_OK;
fail:
	talloc_free(k);
	talloc_free(v);
	talloc_free(d);
	return st;
}

/* An array: a list in JSON; in diagnostic notation a tuple, or a list
 * when list is set (under tag 203). */
static shade_status parse_array(struct rd *r, int depth, bool list,
				shade_value **out)
{
	shade_value *l = list || !r->diag ? shade_list_new(r->ctx, 4)
					  : shade_tuple_new(r->ctx, 4);
	shade_value *v;
	shade_status st;

	if (l == NULL)
		return shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
	r->pos++;
	skip_ws(r);
	if (r->pos < r->len && r->s[r->pos] == ']') {
		r->pos++;
		*out = l;
		return SHADE_OK;
	}
	for (;;) {
		if ((st = parse_value(r, depth + 1, &v)) != SHADE_OK ||
		    (st = shade_seq_append_take(l, v, r->err)) != SHADE_OK)
			goto fail;
		skip_ws(r);
		if (r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if (r->pos < r->len && r->s[r->pos] == ']') {
			r->pos++;
			break;
		}
		st = bad(r, "expected ',' or ']'");
		goto fail;
	}
	*out = l;
	return SHADE_OK;
fail:
	talloc_free(l);
	return st;
}

/* The forms diagnostic notation adds: h'hex', 203([...]) for a list,
 * NaN, Infinity, -Infinity; numbers as in JSON. */
static shade_status diag_value(struct rd *r, int depth, shade_value **out)
{
	const char *c = r->s + r->pos;
	size_t left = r->len - r->pos, n = 0;
	uint8_t *p;
	char *hex;

	if (word(r, "NaN"))
		*out = shade_float(r->ctx, NAN);
	else if (word(r, "Infinity"))
		*out = shade_float(r->ctx, INFINITY);
	else if (word(r, "-Infinity"))
		*out = shade_float(r->ctx, -INFINITY);
	else if (word(r, "203([")) {
		shade_status st;

		r->pos--;
		st = parse_array(r, depth, true, out);
		if (st == SHADE_OK && !word(r, ")")) {
			talloc_free(*out);
			*out = NULL;
			return bad(r, "expected ')'");
		}
		return st;
	} else if (left >= 2 && c[0] == 'h' && c[1] == '\'') {
		while (n + 2 < left && c[n + 2] != '\'')
			n++;
		if (n + 2 >= left)
			return bad(r, "unterminated h'...'");
		hex = talloc_strndup(NULL, c + 2, n);
		p = hex && n % 2 == 0 && strspn(hex, "0123456789abcdefABCDEF") == n
			    ? shade_hex_decode(NULL, hex, &n) : NULL;
		talloc_free(hex);
		if (p == NULL)
			return bad(r, "h'...' wants pairs of hex digits");
		r->pos += n * 2 + 3;
		*out = shade_bytes(r->ctx, p, n);
		talloc_free(p);
	} else if (c[0] == '-' || (c[0] >= '0' && c[0] <= '9')) {
		shade_status st = parse_number(r, out);

		if (st == SHADE_OK && r->pos < r->len && r->s[r->pos] == '(') {
			talloc_free(*out);
			*out = NULL;
			r->pos = (size_t)(c - r->s);
			return bad(r, "only tag 203 (a list) is read");
		}
		return st;
	} else
		return bad(r, "not a diagnostic notation value");
	return *out ? SHADE_OK
		    : shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
}

static shade_status parse_value(struct rd *r, int depth, shade_value **out)
{
	skip_ws(r);
	if (depth > JSON_MAX_DEPTH)
		return bad(r, "nested too deep");
	if (r->pos >= r->len)
		return bad(r, "expected a value");
	switch (r->s[r->pos]) {
	case '{':
		return parse_object(r, depth, out);
	case '[':
		return parse_array(r, depth, false, out);
	case '"':
		return parse_string(r, out);
	case 't':
		if (word(r, "true"))
			goto ok_true;
		break;
	case 'f':
		if (word(r, "false"))
			goto ok_false;
		break;
	case 'n':
		if (word(r, "null")) {
			*out = shade_none(r->ctx);
			goto made;
		}
		break;
	default:
		if (r->diag)
			return diag_value(r, depth, out);
		if (r->s[r->pos] == '-' ||
		    (r->s[r->pos] >= '0' && r->s[r->pos] <= '9'))
			return parse_number(r, out);
		break;
	}
	return bad(r, r->diag ? "not a diagnostic notation value"
			      : "not a JSON value");
ok_true:
	*out = shade_bool(r->ctx, true);
	goto made;
ok_false:
	*out = shade_bool(r->ctx, false);
made:
	return *out ? SHADE_OK
		    : shade_error_set(r->err, SHADE_ERR_NOMEM, "out of memory");
}

/* Both readers: one value filling the text. */
static shade_status parse_all(TALLOC_CTX *mem_ctx, const char *text,
			      size_t len, bool diag, shade_value **out,
			      shade_error **err)
{
	struct rd r = { text, len, 0, mem_ctx, err, diag };
	shade_value *v = NULL;
	shade_status st;

	st = parse_value(&r, 0, &v);
	if (st != SHADE_OK)
		return st;
	skip_ws(&r);
	if (r.pos != r.len) {
		talloc_free(v);
		return bad(&r, "text after the value");
	}
	*out = v;
	return SHADE_OK;
}

shade_status json_parse(TALLOC_CTX *mem_ctx, const char *text, size_t len,
			shade_value **out, shade_error **err)
{
	return parse_all(mem_ctx, text, len, false, out, err);
}

shade_status diag_parse(TALLOC_CTX *mem_ctx, const char *text, size_t len,
			shade_value **out, shade_error **err)
{
	return parse_all(mem_ctx, text, len, true, out, err);
}

/* ------------------------------------------------------------ writer */

/* Writer state. */
struct wr {
	char *out;          /* text so far (talloc) */
	int indent;         /* spaces per level, 0: one line */
	shade_error **err;  /* the error out */
	bool failed;        /* an error was reported */
};

static void emit(struct wr *w, const char *s, size_t n)
{
	if (w->out != NULL)
		w->out = talloc_strndup_append_buffer(w->out, s, n);
}

static void emits(struct wr *w, const char *s)
{
	emit(w, s, strlen(s));
}

static void newline(struct wr *w, int depth)
{
	int i;

	if (w->indent == 0)
		return;
	emits(w, "\n");
	for (i = 0; i < depth * w->indent; i++)
		emits(w, " ");
}

static void put_str(struct wr *w, const char *s, size_t n)
{
	size_t i, from = 0;
	char esc[8];

	emits(w, "\"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;

		if (c == '"')
			e = "\\\"";
		else if (c == '\\')
			e = "\\\\";
		else if (c == '\n')
			e = "\\n";
		else if (c == '\t')
			e = "\\t";
		else if (c == '\r')
			e = "\\r";
		else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			e = esc;
		}
		if (e == NULL)
			continue;
		emit(w, s + from, i - from);
		emits(w, e);
		from = i + 1;
	}
	emit(w, s + from, n - from);
	emits(w, "\"");
}

static void put_value(struct wr *w, const shade_value *v, int depth);

static void put_seq(struct wr *w, const shade_value *v, int depth)
{
	size_t i, n = shade_seq_len(v);

	emits(w, "[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			emits(w, w->indent ? "," : ", ");
		newline(w, depth + 1);
		put_value(w, shade_seq_at(v, i), depth + 1);
	}
	if (n > 0)
		newline(w, depth);
	emits(w, "]");
}

static void put_dict(struct wr *w, const shade_value *v, int depth)
{
	const shade_value *k, *x;
	size_t pos = 0;
	bool first = true;

	emits(w, "{");
	while (shade_dict_next(v, &pos, &k, &x)) {
		size_t n;
		const char *s;

		if (shade_value_kind(k) != SHADE_STR) {
			if (!w->failed)
				shade_error_set(w->err, SHADE_ERR_VALUE,
						"a dict key of kind %s has no "
						"JSON form (use --diag)",
						shade_kind_name(
							shade_value_kind(k)));
			w->failed = true;
			return;
		}
		if (!first)
			emits(w, w->indent ? "," : ", ");
		first = false;
		newline(w, depth + 1);
		s = shade_value_as_str(k, &n);
		put_str(w, s, n);
		emits(w, ": ");
		put_value(w, x, depth + 1);
	}
	if (!first)
		newline(w, depth);
	emits(w, "}");
}

static void put_value(struct wr *w, const shade_value *v, int depth)
{
	char num[40];
	size_t n;
	const char *s;
	char *t;

	switch (shade_value_kind(v)) {
	case SHADE_NONE:
		emits(w, "null");
		break;
	case SHADE_BOOL:
		emits(w, shade_value_as_bool(v) ? "true" : "false");
		break;
	case SHADE_INT:
		snprintf(num, sizeof(num), "%lld",
			 (long long)shade_value_as_int(v));
		emits(w, num);
		break;
	case SHADE_FLOAT:
		if (!isfinite(shade_value_as_float(v))) {
			if (!w->failed)
				shade_error_set(w->err, SHADE_ERR_VALUE,
						"the float %g has no JSON form "
						"(use --diag)",
						shade_value_as_float(v));
			w->failed = true;
			return;
		}
		snprintf(num, sizeof(num), "%.17g", shade_value_as_float(v));
		if (strpbrk(num, ".eE") == NULL)
			strcat(num, ".0");
		emits(w, num);
		break;
	case SHADE_STR:
		s = shade_value_as_str(v, &n);
		put_str(w, s, n);
		break;
	case SHADE_BYTES:
		s = (const char *)shade_value_as_bytes(v, &n);
		t = shade_hex_encode(NULL, s, n);
		emits(w, "{\"$bytes\": \"");
		emits(w, t ? t : "");
		emits(w, "\"}");
		talloc_free(t);
		break;
	case SHADE_TUPLE:
	case SHADE_LIST:
		put_seq(w, v, depth);
		break;
	case SHADE_DICT:
		put_dict(w, v, depth);
		break;
	case SHADE_REF:
		s = shade_ref_type_name(shade_value_as_ref(v));
		if (s == NULL)
			s = "?";
		emits(w, "{\"$ref\": ");
		put_str(w, s, strlen(s));
		emits(w, "}");
		break;
	case SHADE_EXC: {
		const shade_error *e = shade_value_as_exc(v);

		emits(w, "{\"$error\": ");
		put_str(w, e->name, strlen(e->name));
		emits(w, ", \"message\": ");
		put_str(w, e->message, strlen(e->message));
		emits(w, "}");
		break;
	}
	}
}

char *json_format(TALLOC_CTX *mem_ctx, const shade_value *v, int indent,
		  shade_error **err)
{
	struct wr w = { talloc_strdup(mem_ctx, ""), indent, err, false };

	put_value(&w, v, 0);
	if (w.failed) {
		talloc_free(w.out);
		return NULL;
	}
	if (w.out == NULL)
		shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return w.out;
}
