/*
 * diag.c - the diagnostic printer: a value in RFC 8949 diagnostic
 * notation (shortest round-trip floats, escaped text, hex bytes), for
 * messages, logs and tests.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/buf.h"
#include "shade/value.h"
#include "value/value_int.h"

/* Append a C string to the diagnostic buffer. */
static void put_s(shade_buf *b, const char *s)
{
	shade_buf_append(b, s, strlen(s));
}

/* Shortest decimal digits of finite f > 0 that read back as f: digits
 * into ds (no trailing zeros), returns the exponent e of d.ddd x 10^e. */
static int shortest_digits(double f, char *ds, size_t dslen)
{
	char tmp[64], cand[24];
	int prec, e = 0, k;

	for (prec = 1; prec <= 17; prec++) {
		long long m;
		char *x;
		size_t i, n = 0;

		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		x = strchr(tmp, 'e');
		e = atoi(x + 1);
		for (i = 0; tmp + i < x; i++)
			if (tmp[i] != '.')
				ds[n++] = tmp[i];
		ds[n] = '\0';
		m = atoll(ds);
		/* the correctly rounded digits, then their neighbours (the
		 * shortest round-tripping string is not always the rounded
		 * one next to a power of two) */
		for (k = 0; k < 3; k++) {
			long long c = m + (k == 1 ? 1 : k == 2 ? -1 : 0);
			int ce = e;

			if (c <= 0)
				continue;
			snprintf(cand, sizeof(cand), "%lld", c);
			if (strlen(cand) > (size_t)prec) {      /* 99 + 1 */
				cand[prec] = '\0';
				ce++;
			}
			snprintf(tmp, sizeof(tmp), "%.1s.%se%d", cand,
				 cand[1] ? cand + 1 : "0", ce);
			if (strtod(tmp, NULL) == f) {
				if (strlen(cand) < dslen)
					memcpy(ds, cand, strlen(cand) + 1);
				e = ce;
				goto found;
			}
		}
	}
found:
	for (k = (int)strlen(ds) - 1; k > 0 && ds[k] == '0'; k--)
		ds[k] = '\0';
	return e;
}

/* Append a float in the notation of RFC 8949 Appendix A: shortest
 * round-trip digits, fixed notation for exponents -5..15, otherwise
 * d.ddde+x; always a point. */
static void put_float(shade_buf *b, double f)
{
	char ds[32], out[64];
	int e, n, i, len;

	if (isnan(f)) {
		put_s(b, "NaN");
		return;
	}
	if (isinf(f)) {
		put_s(b, f < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (signbit(f))
		put_s(b, "-");
	f = fabs(f);
	if (f == 0) {
		put_s(b, "0.0");
		return;
	}
	e = shortest_digits(f, ds, sizeof(ds));
	n = (int)strlen(ds);
	if (e >= -5 && e < 16) {
		len = 0;
		if (e < 0) {
			len += snprintf(out, sizeof(out), "0.");
			for (i = 0; i < -e - 1; i++)
				out[len++] = '0';
			snprintf(out + len, sizeof(out) - (size_t)len, "%s", ds);
		} else {
			for (i = 0; i <= e; i++)
				out[len++] = i < n ? ds[i] : '0';
			out[len++] = '.';
			if (n > e + 1)
				snprintf(out + len, sizeof(out) - (size_t)len,
					 "%s", ds + e + 1);
			else
				snprintf(out + len, sizeof(out) - (size_t)len,
					 "0");
		}
	} else {
		snprintf(out, sizeof(out), "%.1s.%se%c%d", ds,
			 n > 1 ? ds + 1 : "0", e < 0 ? '-' : '+', abs(e));
	}
	put_s(b, out);
}

/* Append text as a JSON-style string literal, non-ASCII as \uXXXX. */
static void put_text(shade_buf *b, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	char tmp[16];

	shade_buf_append(b, "\"", 1);
	while (i < len) {
		uint32_t c = p[i];
		size_t n = 1, k;

		if (c >= 0x80) {
			n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			c &= n == 4 ? 0x07 : n == 3 ? 0x0f : 0x1f;
			for (k = 1; k < n && i + k < len; k++)
				c = (c << 6) | (p[i + k] & 0x3f);
		}
		i += n;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			shade_buf_append(b, tmp, 2);
		} else if (c == '\n') {
			put_s(b, "\\n");
		} else if (c == '\t') {
			put_s(b, "\\t");
		} else if (c == '\r') {
			put_s(b, "\\r");
		} else if (c < 0x20 || (c >= 0x7f && c < 0x10000)) {
			snprintf(tmp, sizeof(tmp), "\\u%04" PRIx32, c);
			put_s(b, tmp);
		} else if (c >= 0x10000) {
			c -= 0x10000;
			snprintf(tmp, sizeof(tmp), "\\u%04" PRIx32 "\\u%04" PRIx32,
				 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
			put_s(b, tmp);
		} else {
			tmp[0] = (char)c;
			shade_buf_append(b, tmp, 1);
		}
	}
	shade_buf_append(b, "\"", 1);
}

/* Append bytes as h'..'. */
static void put_hex(shade_buf *b, const uint8_t *p, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t *d;
	size_t i = 0;

	put_s(b, "h'");
	d = shade_buf_grow(b, len * 2);
	if (d != NULL)
		for (i = 0; i < len; i++) {
			d[2 * i] = (uint8_t)hx[p[i] >> 4];
			d[2 * i + 1] = (uint8_t)hx[p[i] & 15];
		}
	put_s(b, "'");
}

static void put_diag(shade_buf *b, const shade_value *v);

/* Append the exception as 202([name, message, args, chain]). */
static void put_exc(shade_buf *b, const shade_error *e)
{
	size_t i = 0;
	const char *name = e->name ? e->name : "";
	const char *msg = e->message ? e->message : "";

	put_s(b, "202([");
	put_text(b, name, strlen(name));
	put_s(b, ", ");
	put_text(b, msg, strlen(msg));
	put_s(b, ", ");
	if (e->args != NULL && shade_value_is_seq(e->args)) {
		shade_value t = *e->args;

		t.tag = SHADE_TUPLE;
		put_diag(b, &t);
	} else {
		put_s(b, "[]");
	}
	put_s(b, ", [");
	for (i = 0; i < e->chain_len; i++) {
		const char *f[3] = { e->chain[i].side, e->chain[i].type,
				     e->chain[i].member };
		int k;

		put_s(b, i ? ", [" : "[");
		for (k = 0; k < 3; k++) {
			const char *s = f[k] ? f[k] : "";

			if (k)
				put_s(b, ", ");
			put_text(b, s, strlen(s));
		}
		put_s(b, "]");
	}
	put_s(b, "]])");
}

/* Append v in diagnostic notation. */
static void put_diag(shade_buf *b, const shade_value *v)
{
	char tmp[32];
	size_t i = 0;

	switch (shade_tag_kind_(v)) {
	case SHADE_NONE:
		put_s(b, "null");
		break;
	case SHADE_BOOL:
		put_s(b, v->u.b ? "true" : "false");
		break;
	case SHADE_INT:
		snprintf(tmp, sizeof(tmp), "%" PRId64, v->u.i);
		put_s(b, tmp);
		break;
	case SHADE_FLOAT:
		put_float(b, v->u.f);
		break;
	case SHADE_STR:
		put_text(b, v->u.s, v->len);
		break;
	case SHADE_BYTES:
		put_hex(b, v->u.p, v->len);
		break;
	case SHADE_LIST:
	case SHADE_TUPLE:
		if (shade_tag_kind_(v) == SHADE_LIST)
			put_s(b, "203(");
		put_s(b, "[");
		for (i = 0; i < v->u.seq->len; i++) {
			if (i)
				put_s(b, ", ");
			put_diag(b, &v->u.seq->items[i]);
		}
		put_s(b, "]");
		if (shade_tag_kind_(v) == SHADE_LIST)
			put_s(b, ")");
		break;
	case SHADE_DICT: {
		const struct shade_dict *d = v->u.dict;
		bool first = true;

		put_s(b, "{");
		for (i = 0; i < d->used; i++) {
			if (shade_tag_kind_(&d->entries[i].key) ==
			    SHADE_DELETED_)
				continue;
			if (!first)
				put_s(b, ", ");
			first = false;
			put_diag(b, &d->entries[i].key);
			put_s(b, ": ");
			put_diag(b, &d->entries[i].val);
		}
		put_s(b, "}");
		break;
	}
	case SHADE_REF: {
		const shade_ref_head *h = (const shade_ref_head *)v->u.ref;
		char *s = NULL;

		if (h->ops != NULL && h->ops->describe != NULL)
			s = h->ops->describe(NULL, v->u.ref);
		if (s != NULL) {
			put_s(b, s);
			talloc_free(s);
		} else {
			snprintf(tmp, sizeof(tmp), "ref(%p)", (void *)v->u.ref);
			put_s(b, tmp);
		}
		break;
	}
	case SHADE_EXC:
		put_exc(b, v->u.exc);
		break;
	default:
		put_s(b, "invalid");
		break;
	}
}

char *shade_value_diag(TALLOC_CTX *mem_ctx, const shade_value *v)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	char *s = NULL;
	size_t len;

	if (b == NULL)
		return NULL;
	put_diag(b, v);
	shade_buf_append(b, "", 1);
	s = (char *)shade_buf_steal(mem_ctx, b, &len);
	talloc_free(b);
	return s;
}
