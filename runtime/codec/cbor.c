/*
 * cbor.c - CBOR (RFC 8949) encoder and decoder for shade values.
 *
 * The mapping and the error rules are documented in shade/cbor.h.
 *
 * Decoder invariants:
 *   - every read is bounds-checked against d->len before it happens;
 *     a declared length is compared with the bytes left before any
 *     allocation, so memory stays proportional to the input;
 *   - the decoder builds into a temporary talloc context and moves the
 *     result onto the caller's context only on success;
 *   - decoded str/bytes data inside containers is copied into an arena
 *     (chunks hung below the outermost decoded container, flagged
 *     SHADE_VF_BORROWED | SHADE_VF_NUL) instead of one allocation per
 *     string; the chunks never exceed the input left, so a small frame
 *     never causes a large allocation.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "value/value_int.h"

#define IB_FALSE 0xf4
#define IB_TRUE 0xf5
#define IB_NULL 0xf6
#define IB_BREAK 0xff
#define AI_INDEF 31

/* ------------------------------------------------------------ encoding */

/* Room for n bytes at the end of b (fast path inline). */
static inline uint8_t *room(shade_buf *b, size_t n)
{
	if (b->cap - b->len >= n && b->status == SHADE_OK)
		return b->data + b->len;
	return shade_buf_reserve(b, n);
}

/* Write the head (major << 5 | ai, arg) at p; returns its size. */
static inline size_t head_at(uint8_t *p, unsigned major, uint64_t arg)
{
	uint8_t m = (uint8_t)(major << 5);

	if (arg < 24) {
		p[0] = (uint8_t)(m | arg);
		return 1;
	}
	if (arg <= UINT8_MAX) {
		p[0] = m | 24;
		p[1] = (uint8_t)arg;
		return 2;
	}
	if (arg <= UINT16_MAX) {
		p[0] = m | 25;
		p[1] = (uint8_t)(arg >> 8);
		p[2] = (uint8_t)arg;
		return 3;
	}
	if (arg <= UINT32_MAX) {
		p[0] = m | 26;
		p[1] = (uint8_t)(arg >> 24);
		p[2] = (uint8_t)(arg >> 16);
		p[3] = (uint8_t)(arg >> 8);
		p[4] = (uint8_t)arg;
		return 5;
	}
	p[0] = m | 27;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(arg >> (56 - 8 * i));
	return 9;
}

/* Append a head when b has to grow first (kept out of line so that the
 * fast path of put_head needs no stack frame). */
static __attribute__((noinline)) shade_status
put_head_grow(shade_buf *b, unsigned major, uint64_t arg)
{
	uint8_t *p = shade_buf_reserve(b, 9);

	if (p != NULL)
		b->len += head_at(p, major, arg);
	return b->status;
}

/* Append a head. */
static inline shade_status put_head(shade_buf *b, unsigned major, uint64_t arg)
{
	if (b->cap - b->len >= 9 && b->status == SHADE_OK) {
		b->len += head_at(b->data + b->len, major, arg);
		return SHADE_OK;
	}
	return put_head_grow(b, major, arg);
}

/* Append a head followed by n bytes of data. */
static shade_status put_string(shade_buf *b, unsigned major, const void *s,
			       size_t n)
{
	uint8_t *p;

	if (n > SIZE_MAX - 9) {
		b->status = SHADE_ERR_NOMEM;
		return b->status;
	}
	p = room(b, 9 + n);
	if (p != NULL) {
		size_t h = head_at(p, major, n);

		if (n > 0)
			memcpy(p + h, s, n);
		b->len += h + n;
	}
	return b->status;
}

/* Append one byte. */
static inline shade_status put_byte(shade_buf *b, uint8_t c)
{
	uint8_t *p = room(b, 1);

	if (p != NULL) {
		*p = c;
		b->len++;
	}
	return b->status;
}

shade_status shade_cbor_put_head(shade_buf *b, shade_cbor_major major,
				 uint64_t arg)
{
	return put_head(b, (unsigned)major & 7, arg);
}

shade_status shade_cbor_put_uint(shade_buf *b, uint64_t u)
{
	return put_head(b, SHADE_CBOR_UINT, u);
}

shade_status shade_cbor_put_nint(shade_buf *b, uint64_t n)
{
	return put_head(b, SHADE_CBOR_NINT, n);
}

shade_status shade_cbor_put_int(shade_buf *b, int64_t i)
{
	if (i >= 0)
		return put_head(b, SHADE_CBOR_UINT, (uint64_t)i);
	return put_head(b, SHADE_CBOR_NINT, ~(uint64_t)i);
}

shade_status shade_cbor_put_bytes(shade_buf *b, const void *p, size_t len)
{
	return put_string(b, SHADE_CBOR_BYTES, p, len);
}

shade_status shade_cbor_put_text(shade_buf *b, const char *s, size_t len)
{
	return put_string(b, SHADE_CBOR_TEXT, s, len);
}

shade_status shade_cbor_put_cstr(shade_buf *b, const char *s)
{
	return put_string(b, SHADE_CBOR_TEXT, s, strlen(s));
}

shade_status shade_cbor_put_array(shade_buf *b, uint64_t n)
{
	return put_head(b, SHADE_CBOR_ARRAY, n);
}

shade_status shade_cbor_put_map(shade_buf *b, uint64_t n)
{
	return put_head(b, SHADE_CBOR_MAP, n);
}

shade_status shade_cbor_put_tag(shade_buf *b, uint64_t tag)
{
	return put_head(b, SHADE_CBOR_TAG, tag);
}

shade_status shade_cbor_put_simple(shade_buf *b, uint8_t simple)
{
	if (simple >= 24 && simple < 32)
		return SHADE_ERR_INVALID;
	return put_head(b, SHADE_CBOR_SIMPLE, simple);
}

shade_status shade_cbor_put_bool(shade_buf *b, bool v)
{
	return put_byte(b, v ? IB_TRUE : IB_FALSE);
}

shade_status shade_cbor_put_null(shade_buf *b)
{
	return put_byte(b, IB_NULL);
}

/* The half-precision bits of f when f is exactly representable. */
static bool half_exact(float f, uint16_t *out)
{
	uint32_t u, m, sign;
	int e;

	memcpy(&u, &f, sizeof(u));
	sign = (u >> 16) & 0x8000;
	e = (int)((u >> 23) & 0xff);
	m = u & 0x7fffff;
	if (e == 255) {                 /* infinity (NaN handled earlier) */
		*out = (uint16_t)(sign | 0x7c00);
		return m == 0;
	}
	if (e == 0) {                   /* zero, or too small a subnormal */
		*out = (uint16_t)sign;
		return m == 0;
	}
	e -= 127;
	if (e >= -14 && e <= 15) {      /* half normal */
		if (m & 0x1fff)
			return false;
		*out = (uint16_t)(sign | (uint32_t)(e + 15) << 10 | m >> 13);
		return true;
	}
	if (e >= -24 && e < -14) {      /* half subnormal */
		uint32_t sig = m | 0x800000;
		int shift = -e - 1;

		if (sig & ((UINT32_C(1) << shift) - 1))
			return false;
		*out = (uint16_t)(sign | sig >> shift);
		return true;
	}
	return false;
}

/* Write f in its shortest exact form at p (room for 9); returns size. */
static size_t float_at(uint8_t *p, double f)
{
	float s = (float)f;
	uint16_t h;
	uint32_t u32;
	uint64_t u64;

	if (isnan(f)) {
		p[0] = 0xf9;
		p[1] = 0x7e;
		p[2] = 0x00;
		return 3;
	}
	if ((double)s == f) {
		if (half_exact(s, &h)) {
			p[0] = 0xf9;
			p[1] = (uint8_t)(h >> 8);
			p[2] = (uint8_t)h;
			return 3;
		}
		memcpy(&u32, &s, 4);
		p[0] = 0xfa;
		for (int i = 0; i < 4; i++)
			p[1 + i] = (uint8_t)(u32 >> (24 - 8 * i));
		return 5;
	}
	memcpy(&u64, &f, 8);
	p[0] = 0xfb;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(u64 >> (56 - 8 * i));
	return 9;
}

shade_status shade_cbor_put_float(shade_buf *b, double f)
{
	uint8_t *p = room(b, 9);

	if (p != NULL)
		b->len += float_at(p, f);
	return b->status;
}

/* The limit values, defaults filled in. */
static unsigned opt_depth(const shade_cbor_opts *o)
{
	return o && o->max_depth ? o->max_depth : SHADE_CBOR_DEFAULT_MAX_DEPTH;
}

/* Report a failed buffer as SHADE_ERR_NOMEM. */
static shade_status buf_failed(shade_buf *b, shade_error **err)
{
	return shade_error_set(err, b->status, "out of memory after %zu "
			       "encoded bytes", b->len);
}

static shade_status enc(shade_buf *b, const shade_value *v,
			const shade_cbor_opts *o, unsigned depth,
			unsigned max_depth, shade_error **err);

/* Encode an exception as tag 202 [name, message, args, chain]. */
static shade_status enc_exc(shade_buf *b, const shade_error *e,
			    const shade_cbor_opts *o, unsigned depth,
			    unsigned max_depth, shade_error **err)
{
	size_t i;

	/* tag, its array, the chain array and its triples each nest */
	if (depth + 3 + (e->chain_len > 0) > max_depth)
		return shade_error_set(err, SHADE_ERR_TOO_DEEP,
				       "exception nested deeper than %u",
				       max_depth);
	put_head(b, SHADE_CBOR_TAG, SHADE_CBOR_TAG_EXCEPTION);
	put_head(b, SHADE_CBOR_ARRAY, 4);
	shade_cbor_put_cstr(b, e->name ? e->name : "");
	shade_cbor_put_cstr(b, e->message ? e->message : "");
	if (e->args != NULL && shade_value_is_seq(e->args)) {
		shade_value t = *e->args;

		t.tag = SHADE_TUPLE;
		SHADE_CHECK(enc(b, &t, o, depth + 2, max_depth, err));
	} else {
		put_head(b, SHADE_CBOR_ARRAY, 0);
	}
	put_head(b, SHADE_CBOR_ARRAY, e->chain_len);
	for (i = 0; i < e->chain_len; i++) {
		put_head(b, SHADE_CBOR_ARRAY, 3);
		shade_cbor_put_cstr(b, e->chain[i].side ? e->chain[i].side : "");
		shade_cbor_put_cstr(b, e->chain[i].type ? e->chain[i].type : "");
		shade_cbor_put_cstr(b, e->chain[i].member ?
				    e->chain[i].member : "");
	}
	return b->status == SHADE_OK ? SHADE_OK : buf_failed(b, err);
}

/* Encode v at nesting depth `depth`. */
static shade_status enc(shade_buf *b, const shade_value *v,
			const shade_cbor_opts *o, unsigned depth,
			unsigned max_depth, shade_error **err)
{
	uint8_t *p;
	size_t i;

	switch (shade_tag_kind_(v)) {
	case SHADE_NONE:
		put_byte(b, IB_NULL);
		break;
	case SHADE_BOOL:
		put_byte(b, v->u.b ? IB_TRUE : IB_FALSE);
		break;
	case SHADE_INT:
		p = room(b, 9);
		if (p != NULL)
			b->len += v->u.i >= 0
				? head_at(p, SHADE_CBOR_UINT, (uint64_t)v->u.i)
				: head_at(p, SHADE_CBOR_NINT, ~(uint64_t)v->u.i);
		break;
	case SHADE_FLOAT:
		p = room(b, 9);
		if (p != NULL)
			b->len += float_at(p, v->u.f);
		break;
	case SHADE_STR:
		put_string(b, SHADE_CBOR_TEXT, v->u.s, v->len);
		break;
	case SHADE_BYTES:
		put_string(b, SHADE_CBOR_BYTES, v->u.p, v->len);
		break;
	case SHADE_LIST:
		if (depth + 1 > max_depth)
			goto too_deep;
		put_head(b, SHADE_CBOR_TAG, SHADE_CBOR_TAG_LIST);
		depth++;
		/* fall through */
	case SHADE_TUPLE: {
		const struct shade_seq *s = v->u.seq;

		if (depth + 1 > max_depth)
			goto too_deep;
		put_head(b, SHADE_CBOR_ARRAY, s->len);
		for (i = 0; i < s->len && b->status == SHADE_OK; i++) {
			const shade_value *it = &s->items[i];

			/* fast path: integers need no recursion */
			if (shade_tag_kind_(it) == SHADE_INT) {
				p = room(b, 9);
				if (p != NULL)
					b->len += it->u.i >= 0
						? head_at(p, SHADE_CBOR_UINT,
							  (uint64_t)it->u.i)
						: head_at(p, SHADE_CBOR_NINT,
							  ~(uint64_t)it->u.i);
				continue;
			}
			SHADE_CHECK(enc(b, it, o, depth + 1, max_depth, err));
		}
		break;
	}
	case SHADE_DICT: {
		const struct shade_dict *d = v->u.dict;

		if (depth + 1 > max_depth)
			goto too_deep;
		put_head(b, SHADE_CBOR_MAP, d->len);
		for (i = 0; i < d->used && b->status == SHADE_OK; i++) {
			const struct shade_dict_entry *e = &d->entries[i];

			if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
				continue;
			SHADE_CHECK(enc(b, &e->key, o, depth + 1, max_depth,
					err));
			SHADE_CHECK(enc(b, &e->val, o, depth + 1, max_depth,
					err));
		}
		break;
	}
	case SHADE_REF:
		if (o == NULL || o->hooks == NULL ||
		    o->hooks->encode_ref == NULL)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "cannot encode a reference "
					       "without an encode_ref hook");
		SHADE_CHECK(o->hooks->encode_ref(o->hooks->udata, b,
						 v->u.ref, err));
		break;
	case SHADE_EXC:
		return enc_exc(b, v->u.exc, o, depth, max_depth, err);
	default:
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "invalid value tag 0x%02x", v->tag);
	}
	if (b->status != SHADE_OK)
		return buf_failed(b, err);
	return SHADE_OK;
too_deep:
	return shade_error_set(err, SHADE_ERR_TOO_DEEP,
			       "value nested deeper than %u levels", max_depth);
}

shade_status shade_cbor_encode_value(shade_buf *b, const shade_value *v,
				     const shade_cbor_opts *opts,
				     shade_error **err)
{
	if (b->status != SHADE_OK)
		return buf_failed(b, err);
	return enc(b, v, opts, 0, opt_depth(opts), err);
}

uint8_t *shade_cbor_encode(TALLOC_CTX *mem_ctx, const shade_value *v,
			   const shade_cbor_opts *opts, size_t *len,
			   shade_error **err)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	uint8_t *out = NULL;

	if (b == NULL) {
		shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (shade_cbor_encode_value(b, v, opts, err) == SHADE_OK)
		out = shade_buf_steal(mem_ctx, b, len);
	talloc_free(b);
	return out;
}

/* ------------------------------------------------------------ item reads */

void shade_cbor_dec_init(shade_cbor_dec *d, const void *buf, size_t len)
{
	d->buf = buf;
	d->len = buf ? len : 0;
	d->pos = 0;
	d->depth = 0;
}

/* A decoded head. */
struct head {
	size_t at;       /* offset of the initial byte */
	unsigned major;  /* major type */
	unsigned ai;     /* additional information */
	uint64_t arg;    /* argument (INDEFINITE for AI 31) */
};

/* Read a head at the cursor. */
static inline shade_status rd_head(shade_cbor_dec *d, struct head *h,
			    shade_error **err)
{
	const uint8_t *p;
	size_t n;

	h->at = d->pos;
	h->major = h->ai = 0;
	h->arg = 0;
	if (d->pos >= d->len)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "input ends at offset %zu where an "
				       "item was expected", d->pos);
	p = d->buf + d->pos;
	h->major = p[0] >> 5;
	h->ai = p[0] & 31;
	if (h->ai < 24) {
		h->arg = h->ai;
		d->pos++;
		return SHADE_OK;
	}
	if (h->ai == AI_INDEF) {
		if (h->major == SHADE_CBOR_UINT || h->major == SHADE_CBOR_NINT
		    || h->major == SHADE_CBOR_TAG)
			return shade_error_set(err, SHADE_ERR_MALFORMED,
					       "indefinite length with major "
					       "type %u at offset %zu",
					       h->major, h->at);
		h->arg = SHADE_CBOR_INDEFINITE;
		d->pos++;
		return SHADE_OK;
	}
	if (h->ai > 27)
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "reserved additional information %u "
				       "at offset %zu", h->ai, h->at);
	n = (size_t)1 << (h->ai - 24);
	if (d->len - d->pos - 1 < n)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "head at offset %zu needs %zu more "
				       "bytes, input has %zu", h->at, n,
				       d->len - d->pos - 1);
	h->arg = 0;
	for (size_t i = 1; i <= n; i++)
		h->arg = h->arg << 8 | p[i];
	d->pos += 1 + n;
	return SHADE_OK;
}

/* The byte at the cursor when it is a whole item head of major type
 * `major` with its argument inside (additional information < 24): the
 * argument, cursor moved past it; else -1, cursor unmoved.  The common
 * case of every reader, without building a struct head. */
static inline int rd_tiny(shade_cbor_dec *d, unsigned major)
{
	uint8_t b;

	if (d->pos >= d->len)
		return -1;
	b = d->buf[d->pos];
	if ((unsigned)(b >> 5) != major || (b & 31) >= 24)
		return -1;
	d->pos++;
	return b & 31;
}

/* Name of a major type for messages. */
static const char *major_name(unsigned major)
{
	static const char *const names[] = {
		"unsigned integer", "negative integer", "byte string",
		"text string", "array", "map", "tag", "simple value or float"
	};

	return names[major & 7];
}

/* Read a head and require major type `want`. */
static shade_status rd_expect(shade_cbor_dec *d, unsigned want,
			      struct head *h, shade_error **err)
{
	SHADE_CHECK(rd_head(d, h, err));
	if (h->major != want) {
		d->pos = h->at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "expected %s at offset %zu, found %s",
				       major_name(want), h->at,
				       major_name(h->major));
	}
	return SHADE_OK;
}

/* Check that a definite string of n bytes fits in the input. */
static shade_status check_string(const shade_cbor_dec *d, const struct head *h,
				 shade_error **err)
{
	if (h->arg > d->len - d->pos)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "string at offset %zu declares %" PRIu64
				       " bytes, only %zu left", h->at, h->arg,
				       d->len - d->pos);
	return SHADE_OK;
}

/* Validate text at the cursor of n bytes. */
static shade_status check_utf8(const shade_cbor_dec *d, size_t n,
			       size_t item_at, shade_error **err)
{
	size_t bad;

	if (shade_utf8_check(d->buf + d->pos, n, &bad) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_UTF8,
				       "invalid UTF-8 at offset %zu in the text "
				       "string at offset %zu", d->pos + bad,
				       item_at);
	return SHADE_OK;
}

shade_status shade_cbor_peek(const shade_cbor_dec *d, shade_cbor_major *major,
			     shade_error **err)
{
	if (d->pos >= d->len)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "input ends at offset %zu where an "
				       "item was expected", d->pos);
	*major = (shade_cbor_major)(d->buf[d->pos] >> 5);
	return SHADE_OK;
}

bool shade_cbor_at_break(const shade_cbor_dec *d)
{
	return d->pos < d->len && d->buf[d->pos] == IB_BREAK;
}

bool shade_cbor_at_null(const shade_cbor_dec *d)
{
	return d->pos < d->len && d->buf[d->pos] == IB_NULL;
}

shade_status shade_cbor_read_head(shade_cbor_dec *d, shade_cbor_major *major,
				  uint64_t *arg, shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_head(d, &h, err));
	*major = (shade_cbor_major)h.major;
	*arg = h.arg;
	return SHADE_OK;
}

/* shade_cbor_read_uint past its one-byte case. */
static __attribute__((noinline)) shade_status
read_uint_head(shade_cbor_dec *d, uint64_t *out, shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_expect(d, SHADE_CBOR_UINT, &h, err));
	*out = h.arg;
	return SHADE_OK;
}

shade_status shade_cbor_read_uint(shade_cbor_dec *d, uint64_t *out,
				  shade_error **err)
{
	int v = rd_tiny(d, SHADE_CBOR_UINT);

	if (v >= 0) {
		*out = (uint64_t)v;
		return SHADE_OK;
	}
	return read_uint_head(d, out, err);
}

/* An int64 from a major 0/1 head, or SHADE_ERR_OVERFLOW. */
static shade_status int_of(const struct head *h, int64_t *out,
			   shade_error **err)
{
	if (h->arg > INT64_MAX)
		return shade_error_set(err, SHADE_ERR_OVERFLOW,
				       "integer at offset %zu is outside the "
				       "64-bit signed range", h->at);
	*out = h->major == SHADE_CBOR_UINT ? (int64_t)h->arg
					   : -1 - (int64_t)h->arg;
	return SHADE_OK;
}

/* shade_cbor_read_int past its one-byte cases. */
static __attribute__((noinline)) shade_status
read_int_head(shade_cbor_dec *d, int64_t *out, shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_head(d, &h, err));
	if (h.major != SHADE_CBOR_UINT && h.major != SHADE_CBOR_NINT) {
		d->pos = h.at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "expected integer at offset %zu, "
				       "found %s", h.at, major_name(h.major));
	}
	return int_of(&h, out, err);
}

shade_status shade_cbor_read_int(shade_cbor_dec *d, int64_t *out,
				 shade_error **err)
{
	int v;

	if ((v = rd_tiny(d, SHADE_CBOR_UINT)) >= 0) {
		*out = v;
		return SHADE_OK;
	}
	if ((v = rd_tiny(d, SHADE_CBOR_NINT)) >= 0) {
		*out = -1 - (int64_t)v;
		return SHADE_OK;
	}
	return read_int_head(d, out, err);
}

/* Read a definite string of major type `major`, pointing into input. */
static shade_status rd_definite(shade_cbor_dec *d, unsigned major,
				const uint8_t **p, size_t *len,
				shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_expect(d, major, &h, err));
	if (h.arg == SHADE_CBOR_INDEFINITE) {
		d->pos = h.at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "indefinite-length string at offset %zu "
				       "where a definite one is required", h.at);
	}
	SHADE_CHECK(check_string(d, &h, err));
	if (major == SHADE_CBOR_TEXT)
		SHADE_CHECK(check_utf8(d, (size_t)h.arg, h.at, err));
	*p = d->buf + d->pos;
	*len = (size_t)h.arg;
	d->pos += (size_t)h.arg;
	return SHADE_OK;
}

shade_status shade_cbor_read_text(shade_cbor_dec *d, const char **s,
				  size_t *len, shade_error **err)
{
	return rd_definite(d, SHADE_CBOR_TEXT, (const uint8_t **)s, len, err);
}

shade_status shade_cbor_read_bytes(shade_cbor_dec *d, const uint8_t **p,
				   size_t *len, shade_error **err)
{
	return rd_definite(d, SHADE_CBOR_BYTES, p, len, err);
}

/* Measure the string (definite or indefinite) whose head h was just read:
 * validates chunks (and UTF-8 for text) and returns the total length;
 * the cursor ends after the string. */
static shade_status scan_string(shade_cbor_dec *d, const struct head *h,
				uint64_t max_len, size_t *total,
				shade_error **err)
{
	struct head c;
	size_t sum = 0;

	if (h->arg != SHADE_CBOR_INDEFINITE) {
		SHADE_CHECK(check_string(d, h, err));
		if (h->arg > max_len)
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "string at offset %zu of %" PRIu64
					       " bytes exceeds the limit of %"
					       PRIu64, h->at, h->arg, max_len);
		if (h->major == SHADE_CBOR_TEXT)
			SHADE_CHECK(check_utf8(d, (size_t)h->arg, h->at, err));
		d->pos += (size_t)h->arg;
		*total = (size_t)h->arg;
		return SHADE_OK;
	}
	for (;;) {
		if (shade_cbor_at_break(d)) {
			d->pos++;
			break;
		}
		SHADE_CHECK(rd_head(d, &c, err));
		if (c.major != h->major || c.arg == SHADE_CBOR_INDEFINITE)
			return shade_error_set(err, SHADE_ERR_MALFORMED,
					       "chunk at offset %zu of the "
					       "indefinite string at offset %zu "
					       "is not a definite %s", c.at,
					       h->at, major_name(h->major));
		SHADE_CHECK(check_string(d, &c, err));
		if (c.major == SHADE_CBOR_TEXT)
			SHADE_CHECK(check_utf8(d, (size_t)c.arg, c.at, err));
		sum += (size_t)c.arg;
		d->pos += (size_t)c.arg;
		if (sum > max_len)
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "string at offset %zu exceeds "
					       "the limit of %" PRIu64 " bytes",
					       h->at, max_len);
	}
	*total = sum;
	return SHADE_OK;
}

/* Copy the chunks of the indefinite string starting after head h (whose
 * data begins at `from`) into dst. */
static void gather_chunks(const shade_cbor_dec *d, size_t from, uint8_t *dst)
{
	shade_cbor_dec c = *d;
	struct head ch;

	c.pos = from;
	while (c.buf[c.pos] != IB_BREAK) {
		rd_head(&c, &ch, NULL);          /* validated by scan_string */
		memcpy(dst, c.buf + c.pos, (size_t)ch.arg);
		dst += ch.arg;
		c.pos += (size_t)ch.arg;
	}
}

shade_status shade_cbor_read_text_dup(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
				      char **out, size_t *len,
				      shade_error **err)
{
	struct head h;
	size_t total, from;
	char *s;

	SHADE_CHECK(rd_expect(d, SHADE_CBOR_TEXT, &h, err));
	from = d->pos;
	SHADE_CHECK(scan_string(d, &h, UINT64_MAX, &total, err));
	s = talloc_size(mem_ctx, total + 1);
	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (h.arg == SHADE_CBOR_INDEFINITE)
		gather_chunks(d, from, (uint8_t *)s);
	else if (total > 0)
		memcpy(s, d->buf + from, total);
	s[total] = '\0';
	*out = s;
	if (len != NULL)
		*len = total;
	return SHADE_OK;
}

/* rd_container past its one-byte case. */
static __attribute__((noinline)) shade_status
rd_container_head(shade_cbor_dec *d, unsigned major, unsigned per,
		  uint64_t *n, shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_expect(d, major, &h, err));
	if (h.arg != SHADE_CBOR_INDEFINITE &&
	    h.arg > (d->len - d->pos) / per)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "%s at offset %zu declares %" PRIu64
				       " items, only %zu bytes left",
				       major_name(major), h.at, h.arg,
				       d->len - d->pos);
	*n = h.arg;
	return SHADE_OK;
}

/* Read an array or map head; check n (times `per` bytes) fits. */
static inline shade_status rd_container(shade_cbor_dec *d, unsigned major,
					unsigned per, uint64_t *n,
					shade_error **err)
{
	int v = rd_tiny(d, major);

	if (v >= 0) {
		if ((size_t)v * per <= d->len - d->pos) {
			*n = (uint64_t)v;
			return SHADE_OK;
		}
		d->pos--;
	}
	return rd_container_head(d, major, per, n, err);
}

shade_status shade_cbor_read_array(shade_cbor_dec *d, uint64_t *n,
				   shade_error **err)
{
	return rd_container(d, SHADE_CBOR_ARRAY, 1, n, err);
}

shade_status shade_cbor_read_map(shade_cbor_dec *d, uint64_t *n,
				 shade_error **err)
{
	return rd_container(d, SHADE_CBOR_MAP, 2, n, err);
}

shade_status shade_cbor_read_tag(shade_cbor_dec *d, uint64_t *tag,
				 shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_expect(d, SHADE_CBOR_TAG, &h, err));
	*tag = h.arg;
	return SHADE_OK;
}

/* A double from half-precision bits. */
static double half_to_double(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (e == 0)
		v = ldexp(m, -24);
	else if (e != 31)
		v = ldexp(m + 1024, e - 25);
	else
		v = m == 0 ? INFINITY : NAN;
	return (h & 0x8000) ? -v : v;
}

/* The double of a float head (AI 25-27). */
static double float_of(const struct head *h)
{
	if (h->ai == 25)
		return half_to_double((uint16_t)h->arg);
	if (h->ai == 26) {
		uint32_t u = (uint32_t)h->arg;
		float f;

		memcpy(&f, &u, 4);
		return f;
	} else {
		double f;

		memcpy(&f, &h->arg, 8);
		return f;
	}
}

/* Read a major-7 head and require AI in [lo, hi]. */
static shade_status rd_simple(shade_cbor_dec *d, unsigned lo, unsigned hi,
			      const char *what, struct head *h,
			      shade_error **err)
{
	SHADE_CHECK(rd_head(d, h, err));
	if (h->major != SHADE_CBOR_SIMPLE || h->ai < lo || h->ai > hi) {
		d->pos = h->at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "expected %s at offset %zu", what, h->at);
	}
	return SHADE_OK;
}

shade_status shade_cbor_read_float(shade_cbor_dec *d, double *out,
				   shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_simple(d, 25, 27, "a float", &h, err));
	*out = float_of(&h);
	return SHADE_OK;
}

shade_status shade_cbor_read_bool(shade_cbor_dec *d, bool *out,
				  shade_error **err)
{
	struct head h;

	SHADE_CHECK(rd_simple(d, 20, 21, "a boolean", &h, err));
	*out = h.ai == 21;
	return SHADE_OK;
}

shade_status shade_cbor_read_null(shade_cbor_dec *d, shade_error **err)
{
	struct head h;

	return rd_simple(d, 22, 22, "null", &h, err);
}

shade_status shade_cbor_read_break(shade_cbor_dec *d, shade_error **err)
{
	if (shade_cbor_at_break(d)) {
		d->pos++;
		return SHADE_OK;
	}
	if (d->pos >= d->len)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "input ends at offset %zu where a break "
				       "was expected", d->pos);
	return shade_error_set(err, SHADE_ERR_PROTOCOL,
			       "expected a break at offset %zu", d->pos);
}

/* Check the simple value of a major-7 head h (not a float). */
static shade_status check_simple(const struct head *h, shade_error **err)
{
	if (h->ai == 24 && h->arg < 32)
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "two-byte simple value %" PRIu64
				       " at offset %zu", h->arg, h->at);
	if (h->ai == AI_INDEF)
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "break outside an indefinite-length "
				       "item at offset %zu", h->at);
	return SHADE_OK;
}

/* Skip one item at nesting `depth`. */
static shade_status skip(shade_cbor_dec *d, unsigned depth, unsigned max_depth,
			 shade_error **err)
{
	struct head h;
	uint64_t i, n;
	size_t total;

	/* A one-byte integer: the common field, without a struct head. */
	if (rd_tiny(d, SHADE_CBOR_UINT) >= 0 || rd_tiny(d, SHADE_CBOR_NINT) >= 0)
		return SHADE_OK;
	SHADE_CHECK(rd_head(d, &h, err));
	switch (h.major) {
	case SHADE_CBOR_UINT:
	case SHADE_CBOR_NINT:
		return SHADE_OK;
	case SHADE_CBOR_BYTES:
	case SHADE_CBOR_TEXT:
		if (h.arg != SHADE_CBOR_INDEFINITE) {
			SHADE_CHECK(check_string(d, &h, err));
			d->pos += (size_t)h.arg;
			return SHADE_OK;
		}
		return scan_string(d, &h, UINT64_MAX, &total, err);
	case SHADE_CBOR_ARRAY:
	case SHADE_CBOR_MAP:
	case SHADE_CBOR_TAG:
		if (depth + 1 > max_depth)
			return shade_error_set(err, SHADE_ERR_TOO_DEEP,
					       "item at offset %zu nests deeper "
					       "than %u levels", h.at, max_depth);
		if (h.major == SHADE_CBOR_TAG)
			return skip(d, depth + 1, max_depth, err);
		n = h.major == SHADE_CBOR_MAP ? 2 : 1;
		if (h.arg == SHADE_CBOR_INDEFINITE) {
			for (i = 0; !shade_cbor_at_break(d); i++)
				SHADE_CHECK(skip(d, depth + 1, max_depth, err));
			if (n == 2 && (i & 1))
				return shade_error_set(err, SHADE_ERR_MALFORMED,
						       "map at offset %zu has a "
						       "key without a value",
						       h.at);
			d->pos++;
			return SHADE_OK;
		}
		if (h.arg > (d->len - d->pos) / n)
			return shade_error_set(err, SHADE_ERR_TRUNCATED,
					       "%s at offset %zu declares %"
					       PRIu64 " items, only %zu bytes "
					       "left", major_name(h.major), h.at,
					       h.arg, d->len - d->pos);
		for (i = 0; i < h.arg * n; i++)
			SHADE_CHECK(skip(d, depth + 1, max_depth, err));
		return SHADE_OK;
	default:
		return check_simple(&h, err);
	}
}

shade_status shade_cbor_skip(shade_cbor_dec *d, unsigned max_depth,
			     shade_error **err)
{
	return skip(d, d->depth, max_depth ? max_depth
				 : SHADE_CBOR_DEFAULT_MAX_DEPTH, err);
}

/* ------------------------------------------------------------ values */

/* Decoder state for one shade_cbor_decode_value call. */
struct dstate {
	shade_cbor_dec *d;          /* the cursor */
	const shade_cbor_opts *o;   /* caller's options (may be NULL) */
	unsigned max_depth;         /* nesting limit */
	uint64_t max_len;           /* per-item length limit */
	uint64_t max_items;         /* total item limit, 0: none */
	uint64_t items;             /* items decoded so far */
	bool zero_copy;             /* borrow strings from the input */
	TALLOC_CTX *tmp;            /* scratch context handed to hooks */
	TALLOC_CTX *arena_owner;    /* outermost container, or NULL */
	uint8_t *arena;             /* free space in the current chunk */
	size_t arena_left;          /* bytes free there */
	size_t arena_next;          /* size of the next chunk */
	shade_error **err;          /* where failures go */
};

/* Storage for n bytes of string data (n includes the NUL): from the
 * arena when inside a container, else a block of its own on owner.
 * `bound` is an upper limit of all string data still to come. */
static uint8_t *str_storage(struct dstate *s, TALLOC_CTX *owner, size_t n,
			    size_t bound, bool *borrowed)
{
	uint8_t *p;

	if (s->arena_owner == NULL) {
		*borrowed = false;
		return talloc_size(owner, n);
	}
	*borrowed = true;
	if (s->arena_left < n) {
		size_t sz = s->arena_next < bound ? s->arena_next : bound;

		if (sz < n)
			sz = n;
		s->arena = talloc_size(s->arena_owner, sz);
		if (s->arena == NULL) {
			s->arena_left = 0;
			return NULL;
		}
		talloc_set_name_const(s->arena, "shade decode arena");
		s->arena_left = sz;
		if (s->arena_next < ((size_t)1 << 20))
			s->arena_next *= 2;
	}
	p = s->arena;
	s->arena += n;
	s->arena_left -= n;
	return p;
}

static shade_status dec_item(struct dstate *s, TALLOC_CTX *owner,
			     shade_value *out, unsigned depth);

/* Decode the string whose head h was just read into out. */
static shade_status dec_string(struct dstate *s, TALLOC_CTX *owner,
			       shade_value *out, const struct head *h)
{
	shade_cbor_dec *d = s->d;
	size_t from = d->pos, total;
	unsigned kind = h->major == SHADE_CBOR_TEXT ? SHADE_STR : SHADE_BYTES;
	uint8_t *p;
	bool borrowed;

	SHADE_CHECK(scan_string(d, h, s->max_len, &total, s->err));
	if (total > SHADE_STR_MAX)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "string at offset %zu is too long",
				       h->at);
	out->len = (uint32_t)total;
	if (total == 0) {
		out->tag = (uint8_t)(kind | SHADE_VF_BORROWED | SHADE_VF_NUL);
		out->u.s = shade_empty_;
		return SHADE_OK;
	}
	if (s->zero_copy && h->arg != SHADE_CBOR_INDEFINITE) {
		out->tag = (uint8_t)(kind | SHADE_VF_BORROWED);
		out->u.p = d->buf + from;
		return SHADE_OK;
	}
	p = str_storage(s, owner, total + 1, d->len - from + 1, &borrowed);
	if (p == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the string at "
				       "offset %zu", h->at);
	if (h->arg == SHADE_CBOR_INDEFINITE)
		gather_chunks(d, from, p);
	else
		memcpy(p, d->buf + from, total);
	p[total] = '\0';
	out->tag = (uint8_t)(kind | SHADE_VF_NUL |
			     (borrowed ? SHADE_VF_BORROWED : 0));
	out->u.p = p;
	return SHADE_OK;
}

/* Check a container of n items (n per-byte units) at h against the
 * limits; SHADE_OK when it may be built. */
static shade_status check_count(struct dstate *s, const struct head *h,
				uint64_t n, unsigned per)
{
	shade_cbor_dec *d = s->d;

	if (n != SHADE_CBOR_INDEFINITE && n > (d->len - d->pos) / per)
		return shade_error_set(s->err, SHADE_ERR_TRUNCATED,
				       "%s at offset %zu declares %" PRIu64
				       " items, only %zu bytes left",
				       major_name(h->major), h->at, n,
				       d->len - d->pos);
	if (n != SHADE_CBOR_INDEFINITE && n > s->max_len)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "%s at offset %zu of %" PRIu64 " items "
				       "exceeds the limit of %" PRIu64,
				       major_name(h->major), h->at, n,
				       s->max_len);
	return SHADE_OK;
}

/* Fail with SHADE_ERR_TOO_DEEP when children at depth+1 are too deep. */
static shade_status check_depth(struct dstate *s, const struct head *h,
				unsigned depth)
{
	if (depth + 1 > s->max_depth)
		return shade_error_set(s->err, SHADE_ERR_TOO_DEEP,
				       "item at offset %zu nests deeper than "
				       "%u levels", h->at, s->max_depth);
	return SHADE_OK;
}

/* Decode an array (head h read) into out as a tuple. */
static shade_status dec_array(struct dstate *s, TALLOC_CTX *owner,
			      shade_value *out, const struct head *h,
			      unsigned depth)
{
	shade_cbor_dec *d = s->d;
	bool indef = h->arg == SHADE_CBOR_INDEFINITE;
	size_t cap;
	struct shade_seq *q;

	SHADE_CHECK(check_depth(s, h, depth));
	SHADE_CHECK(check_count(s, h, h->arg, 1));
	cap = indef ? 0 : (size_t)h->arg;
	q = shade_seq_alloc_(owner, cap);
	if (q == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the array at "
				       "offset %zu", h->at);
	out->tag = SHADE_TUPLE;
	out->u.seq = q;
	if (s->arena_owner == NULL)
		s->arena_owner = q;
	for (;;) {
		if (indef) {
			if (shade_cbor_at_break(d)) {
				d->pos++;
				break;
			}
			if (q->len >= s->max_len)
				return shade_error_set(s->err, SHADE_ERR_LIMIT,
						       "array at offset %zu "
						       "exceeds %" PRIu64
						       " items", h->at,
						       s->max_len);
			if (shade_seq_reserve_(q, q->len + 1) != SHADE_OK)
				return shade_error_set(s->err, SHADE_ERR_NOMEM,
						       "out of memory");
		} else if (q->len == cap) {
			break;
		}
		/* fast path: integers (major 0 and 1) */
		if (s->max_items == 0 && d->pos < d->len &&
		    d->buf[d->pos] < 0x40) {
			shade_value *slot = &q->items[q->len];
			uint8_t ib = d->buf[d->pos];
			struct head ih;

			if ((ib & 0x1f) < 24) {
				d->pos++;
				shade_slot_int_(slot, ib < 0x20 ? ib
								: 0x1f - ib);
			} else {
				SHADE_CHECK(rd_head(d, &ih, s->err));
				shade_slot_int_(slot, 0);
				SHADE_CHECK(int_of(&ih, &slot->u.i, s->err));
			}
			q->len++;
			continue;
		}
		shade_slot_int_(&q->items[q->len], 0);
		q->items[q->len].tag = SHADE_NONE;
		SHADE_CHECK(dec_item(s, q, &q->items[q->len], depth + 1));
		if (shade_tag_kind_(&q->items[q->len]) == SHADE_REF)
			shade_seq_watch_refs_(q);
		q->len++;
	}
	return SHADE_OK;
}

/* Decode a map (head h read) into out as a dict. */
static shade_status dec_map(struct dstate *s, TALLOC_CTX *owner,
			    shade_value *out, const struct head *h,
			    unsigned depth)
{
	shade_cbor_dec *d = s->d;
	bool indef = h->arg == SHADE_CBOR_INDEFINITE;
	struct shade_dict *m;
	uint64_t i;

	SHADE_CHECK(check_depth(s, h, depth));
	SHADE_CHECK(check_count(s, h, h->arg, 2));
	m = shade_dict_alloc_(owner, indef ? 0 : (size_t)h->arg);
	if (m == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the map at offset "
				       "%zu", h->at);
	out->tag = SHADE_DICT;
	out->u.dict = m;
	if (s->arena_owner == NULL)
		s->arena_owner = m;
	for (i = 0;; i++) {
		shade_value k = shade_value_none(), v = shade_value_none();
		size_t kat = d->pos;
		uint64_t hash;
		shade_status st;

		if (indef) {
			if (shade_cbor_at_break(d)) {
				d->pos++;
				break;
			}
			if (i >= s->max_len)
				return shade_error_set(s->err, SHADE_ERR_LIMIT,
						       "map at offset %zu "
						       "exceeds %" PRIu64
						       " entries", h->at,
						       s->max_len);
		} else if (i == h->arg) {
			break;
		}
		SHADE_CHECK(dec_item(s, m, &k, depth + 1));
		if (!shade_value_hash_(&k, &hash)) {
			shade_slot_clear_(&k);
			return shade_error_set(s->err, SHADE_ERR_TYPE,
					       "map key at offset %zu is a %s, "
					       "which cannot be a dict key",
					       kat,
					       shade_kind_name(shade_value_kind(
						       &k)));
		}
		if (indef && shade_cbor_at_break(d)) {
			shade_slot_clear_(&k);
			return shade_error_set(s->err, SHADE_ERR_MALFORMED,
					       "map at offset %zu has a key "
					       "without a value", h->at);
		}
		st = dec_item(s, m, &v, depth + 1);
		if (st == SHADE_OK)
			st = shade_dict_add_new_(m, &k, &v, hash);
		if (st != SHADE_OK) {
			shade_slot_clear_(&k);
			shade_slot_clear_(&v);
			if (st == SHADE_AGAIN)
				return shade_error_set(s->err,
						       SHADE_ERR_MALFORMED,
						       "duplicate map key at "
						       "offset %zu", kat);
			return shade_error_set(s->err, st, "cannot store the "
					       "map entry at offset %zu", kat);
		}
	}
	return SHADE_OK;
}

/* Decode a bignum (tag 2 or 3, content at the cursor) into an int. */
static shade_status dec_bignum(struct dstate *s, shade_value *out,
			       const struct head *h)
{
	const uint8_t *p;
	size_t len, i;
	uint64_t u = 0;

	SHADE_CHECK(shade_cbor_read_bytes(s->d, &p, &len, s->err));
	while (len > 0 && *p == 0) {
		p++;
		len--;
	}
	if (len > 8)
		goto overflow;
	for (i = 0; i < len; i++)
		u = u << 8 | p[i];
	if (u > INT64_MAX)
		goto overflow;
	*out = shade_value_int(h->arg == SHADE_CBOR_TAG_POS_BIGNUM
			       ? (int64_t)u : -1 - (int64_t)u);
	return SHADE_OK;
overflow:
	return shade_error_set(s->err, SHADE_ERR_OVERFLOW,
			       "bignum at offset %zu is outside the 64-bit "
			       "signed range", h->at);
}

/* Decode the content of tag 202 into an exception. */
static shade_status dec_exc(struct dstate *s, TALLOC_CTX *owner,
			    shade_value *out, const struct head *h,
			    unsigned depth)
{
	shade_cbor_dec *d = s->d;
	shade_error *e = NULL;
	char *name, *msg;
	shade_value args = shade_value_none();
	uint64_t n, i;
	TALLOC_CTX *saved_owner = s->arena_owner;
	uint8_t *saved_arena = s->arena;
	size_t saved_left = s->arena_left;
	shade_status st;

	SHADE_CHECK(rd_container(d, SHADE_CBOR_ARRAY, 1, &n, s->err));
	if (n != 4)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "exception at offset %zu is not a "
				       "4-item array", h->at);
	SHADE_CHECK(check_depth(s, h, depth + 1));
	SHADE_CHECK(shade_cbor_read_text_dup(s->tmp, d, &name, NULL, s->err));
	SHADE_CHECK(shade_cbor_read_text_dup(s->tmp, d, &msg, NULL, s->err));
	shade_error_set_named(&e, shade_status_from_name(name), name, "%s",
			      msg);
	if (e == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory");
	talloc_steal(owner, e);
	out->tag = SHADE_EXC;
	out->u.exc = e;
	/* args: an array, an arena root of its own below the error */
	if (d->pos < d->len && d->buf[d->pos] >> 5 != SHADE_CBOR_ARRAY)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "exception arguments at offset %zu are "
				       "not an array", d->pos);
	s->arena_owner = NULL;
	s->arena_left = 0;
	st = dec_item(s, e, &args, depth + 2);
	s->arena_owner = saved_owner;
	s->arena = saved_arena;
	s->arena_left = saved_left;
	SHADE_CHECK(st);
	e->args = shade_slot_box_(e, &args);
	if (e->args == NULL) {
		shade_slot_clear_(&args);
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory");
	}
	SHADE_CHECK(rd_container(d, SHADE_CBOR_ARRAY, 1, &n, s->err));
	SHADE_CHECK(check_depth(s, h, depth + 2));
	if (n > 0)
		SHADE_CHECK(check_depth(s, h, depth + 3));
	if (n == SHADE_CBOR_INDEFINITE)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "exception chain at offset %zu must "
				       "have a definite length", d->pos);
	for (i = 0; i < n; i++) {
		char *f[3];
		uint64_t three;
		int k;

		SHADE_CHECK(rd_container(d, SHADE_CBOR_ARRAY, 1, &three,
					 s->err));
		if (three != 3)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "exception chain entry before "
					       "offset %zu is not [side, type, "
					       "member]", d->pos);
		for (k = 0; k < 3; k++)
			SHADE_CHECK(shade_cbor_read_text_dup(s->tmp, d, &f[k],
							     NULL, s->err));
		if (shade_error_push_frame(e, f[0], f[1], f[2]) != SHADE_OK)
			return shade_error_set(s->err, SHADE_ERR_NOMEM,
					       "out of memory");
	}
	return SHADE_OK;
}

/* Decode a tagged item (tag head h read). */
static shade_status dec_tag(struct dstate *s, TALLOC_CTX *owner,
			    shade_value *out, const struct head *h,
			    unsigned depth)
{
	shade_cbor_dec *d = s->d;
	const shade_cbor_hooks *hk = s->o ? s->o->hooks : NULL;
	struct shade_ref *ref = NULL;
	shade_status st;
	unsigned saved;

	SHADE_CHECK(check_depth(s, h, depth));
	switch (h->arg) {
	case SHADE_CBOR_TAG_POS_BIGNUM:
	case SHADE_CBOR_TAG_NEG_BIGNUM:
		return dec_bignum(s, out, h);
	case SHADE_CBOR_TAG_SENDER_HOSTED:
	case SHADE_CBOR_TAG_RECEIVER_HOSTED:
		if (hk == NULL || hk->decode_ref == NULL)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "reference (tag %" PRIu64 ") at "
					       "offset %zu but no reference "
					       "hook", h->arg, h->at);
		saved = d->depth;
		d->depth = depth + 1;
		st = hk->decode_ref(hk->udata, s->tmp, h->arg, d, &ref,
				    s->err);
		d->depth = saved;
		if (st != SHADE_OK)
			return st;
		if (ref == NULL)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "reference hook returned no "
					       "reference for offset %zu", h->at);
		out->tag = SHADE_REF;
		out->u.ref = ref;
		return SHADE_OK;
	case SHADE_CBOR_TAG_EXCEPTION:
		return dec_exc(s, owner, out, h, depth);
	case SHADE_CBOR_TAG_LIST:
		if (d->pos < d->len && d->buf[d->pos] >> 5 != SHADE_CBOR_ARRAY)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "tag 203 at offset %zu does not "
					       "wrap an array", h->at);
		SHADE_CHECK(dec_item(s, owner, out, depth + 1));
		out->tag = SHADE_LIST;
		return SHADE_OK;
	default:
		return dec_item(s, owner, out, depth + 1);
	}
}

/* Decode one item at nesting `depth` into the slot out (payload on
 * owner).  On failure out may hold a partial payload below owner (never
 * a ref), which the caller's cleanup frees. */
static shade_status dec_item(struct dstate *s, TALLOC_CTX *owner,
			     shade_value *out, unsigned depth)
{
	shade_cbor_dec *d = s->d;
	struct head h;

	if (s->max_items != 0 && ++s->items > s->max_items)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "more than %" PRIu64 " items (at offset "
				       "%zu)", s->max_items, d->pos);
	SHADE_CHECK(rd_head(d, &h, s->err));
	switch (h.major) {
	case SHADE_CBOR_UINT:
	case SHADE_CBOR_NINT:
		out->tag = SHADE_INT;
		return int_of(&h, &out->u.i, s->err);
	case SHADE_CBOR_BYTES:
	case SHADE_CBOR_TEXT:
		return dec_string(s, owner, out, &h);
	case SHADE_CBOR_ARRAY:
		return dec_array(s, owner, out, &h, depth);
	case SHADE_CBOR_MAP:
		return dec_map(s, owner, out, &h, depth);
	case SHADE_CBOR_TAG:
		return dec_tag(s, owner, out, &h, depth);
	default:
		break;
	}
	switch (h.ai) {
	case 20:
	case 21:
		*out = shade_value_bool(h.ai == 21);
		return SHADE_OK;
	case 22:
		return SHADE_OK;
	case 25:
	case 26:
	case 27:
		*out = shade_value_float(float_of(&h));
		return SHADE_OK;
	default:
		SHADE_CHECK(check_simple(&h, s->err));
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "unsupported simple value %" PRIu64
				       " at offset %zu", h.arg, h.at);
	}
}

shade_status shade_cbor_decode_value(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
				     const shade_cbor_opts *opts,
				     shade_value **out, shade_error **err)
{
	struct dstate s;
	shade_value *box;
	shade_status st;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.d = d;
	s.o = opts;
	s.max_depth = opt_depth(opts);
	s.max_len = opts && opts->max_len ? opts->max_len
					  : SHADE_CBOR_DEFAULT_MAX_LEN;
	s.max_items = opts ? opts->max_items : 0;
	s.zero_copy = opts && opts->zero_copy;
	s.arena_next = 256;
	s.err = err;
	s.tmp = talloc_new(NULL);
	if (s.tmp == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	box = talloc(s.tmp, shade_value);
	if (box == NULL) {
		talloc_free(s.tmp);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*box = shade_value_none();
	st = dec_item(&s, box, box, d->depth);
	if (st == SHADE_OK) {
		if (shade_tag_kind_(box) == SHADE_REF)
			shade_box_watch_ref_(box);
		*out = talloc_steal(mem_ctx, box);
	}
	talloc_free(s.tmp);
	return st;
}

shade_status shade_cbor_decode(TALLOC_CTX *mem_ctx, const void *buf,
			       size_t len, const shade_cbor_opts *opts,
			       shade_value **out, shade_error **err)
{
	shade_cbor_dec d;

	shade_cbor_dec_init(&d, buf, len);
	SHADE_CHECK(shade_cbor_decode_value(mem_ctx, &d, opts, out, err));
	if (d.pos != d.len) {
		talloc_free(*out);
		*out = NULL;
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "trailing bytes at offset %zu (%zu "
				       "bytes after the item)", d.pos,
				       d.len - d.pos);
	}
	return SHADE_OK;
}

/* ------------------------------------------------------------ hex */

/* Value of a hex digit, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *shade_hex_decode(TALLOC_CTX *mem_ctx, const char *hex, size_t *len)
{
	size_t n = 0, i;
	uint8_t *out = talloc_size(mem_ctx, strlen(hex) / 2 + 1);
	int hi = -1;

	if (out == NULL)
		return NULL;
	for (i = 0; hex[i] != '\0'; i++) {
		int v;

		if (hex[i] == ' ' || hex[i] == '\n' || hex[i] == '\t')
			continue;
		v = hexval(hex[i]);
		if (v < 0)
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto bad;
	*len = n;
	return out;
bad:
	talloc_free(out);
	return NULL;
}

char *shade_hex_encode(TALLOC_CTX *mem_ctx, const void *p, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = p;
	char *s = talloc_size(mem_ctx, len * 2 + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = hx[b[i] >> 4];
		s[2 * i + 1] = hx[b[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}
