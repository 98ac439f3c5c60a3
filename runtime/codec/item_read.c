/*
 * item_read.c - the CBOR item decoder: a bounds-checked cursor reading
 * heads, integers, strings (definite and indefinite), arrays, maps,
 * tags, simple values and floats, and skipping whole items.  Speaks no
 * values; value_decode.c builds on it.
 *
 * Invariant: every read is bounds-checked against d->len before it
 * happens; a declared length is compared with the bytes left before it
 * is trusted.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "codec/cbor_int.h"

void shade_cbor_dec_init(shade_cbor_dec *d, const void *buf, size_t len)
{
	d->buf = buf;
	d->len = buf ? len : 0;
	d->pos = 0;
	d->depth = 0;
}

/* Check that a definite string of n bytes fits in the input. */
shade_status cbor_check_string(const shade_cbor_dec *d,
			       const struct cbor_head *h, shade_error **err)
{
	if (h->arg > d->len - d->pos)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "string at offset %zu declares %" PRIu64
				       " bytes, only %zu left", h->at, h->arg,
				       d->len - d->pos);
	return SHADE_OK;
}

/* Validate text at the cursor of n bytes. */
shade_status cbor_check_utf8(const shade_cbor_dec *d, size_t n, size_t item_at,
			     shade_error **err)
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
	return d->pos < d->len && d->buf[d->pos] == CBOR_IB_BREAK;
}

bool shade_cbor_at_null(const shade_cbor_dec *d)
{
	return d->pos < d->len && d->buf[d->pos] == CBOR_IB_NULL;
}

shade_status shade_cbor_read_head(shade_cbor_dec *d, shade_cbor_major *major,
				  uint64_t *arg, shade_error **err)
{
	struct cbor_head h;

	SHADE_CHECK(cbor_rd_head(d, &h, err));
	*major = (shade_cbor_major)h.major;
	*arg = h.arg;
	return SHADE_OK;
}

/* shade_cbor_read_uint past its one-byte case. */
static __attribute__((noinline)) shade_status
read_uint_head(shade_cbor_dec *d, uint64_t *out, shade_error **err)
{
	struct cbor_head h;

	SHADE_CHECK(cbor_rd_expect(d, SHADE_CBOR_UINT, &h, err));
	*out = h.arg;
	return SHADE_OK;
}

shade_status shade_cbor_read_uint(shade_cbor_dec *d, uint64_t *out,
				  shade_error **err)
{
	int v = cbor_rd_tiny(d, SHADE_CBOR_UINT);

	if (v >= 0) {
		*out = (uint64_t)v;
		return SHADE_OK;
	}
	return read_uint_head(d, out, err);
}

/* shade_cbor_read_int past its one-byte cases. */
static __attribute__((noinline)) shade_status
read_int_head(shade_cbor_dec *d, int64_t *out, shade_error **err)
{
	struct cbor_head h;

	SHADE_CHECK(cbor_rd_head(d, &h, err));
	if (h.major != SHADE_CBOR_UINT && h.major != SHADE_CBOR_NINT) {
		d->pos = h.at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "expected integer at offset %zu, "
				       "found %s", h.at,
				       cbor_major_name(h.major));
	}
	return cbor_int_of(&h, out, err);
}

shade_status shade_cbor_read_int(shade_cbor_dec *d, int64_t *out,
				 shade_error **err)
{
	int v;

	if ((v = cbor_rd_tiny(d, SHADE_CBOR_UINT)) >= 0) {
		*out = v;
		return SHADE_OK;
	}
	if ((v = cbor_rd_tiny(d, SHADE_CBOR_NINT)) >= 0) {
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
	struct cbor_head h;

	SHADE_CHECK(cbor_rd_expect(d, major, &h, err));
	if (h.arg == SHADE_CBOR_INDEFINITE) {
		d->pos = h.at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "indefinite-length string at offset %zu "
				       "where a definite one is required", h.at);
	}
	SHADE_CHECK(cbor_check_string(d, &h, err));
	if (major == SHADE_CBOR_TEXT)
		SHADE_CHECK(cbor_check_utf8(d, (size_t)h.arg, h.at, err));
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
shade_status cbor_scan_string(shade_cbor_dec *d, const struct cbor_head *h,
			      uint64_t max_len, size_t *total,
			      shade_error **err)
{
	struct cbor_head c;
	size_t sum = 0;

	if (h->arg != SHADE_CBOR_INDEFINITE) {
		SHADE_CHECK(cbor_check_string(d, h, err));
		if (h->arg > max_len)
			return shade_error_set(err, SHADE_ERR_LIMIT,
					       "string at offset %zu of %" PRIu64
					       " bytes exceeds the limit of %"
					       PRIu64, h->at, h->arg, max_len);
		if (h->major == SHADE_CBOR_TEXT)
			SHADE_CHECK(cbor_check_utf8(d, (size_t)h->arg, h->at,
						    err));
		d->pos += (size_t)h->arg;
		*total = (size_t)h->arg;
		return SHADE_OK;
	}
	for (;;) {
		if (shade_cbor_at_break(d)) {
			d->pos++;
			break;
		}
		SHADE_CHECK(cbor_rd_head(d, &c, err));
		if (c.major != h->major || c.arg == SHADE_CBOR_INDEFINITE)
			return shade_error_set(err, SHADE_ERR_MALFORMED,
					       "chunk at offset %zu of the "
					       "indefinite string at offset %zu "
					       "is not a definite %s", c.at,
					       h->at, cbor_major_name(h->major));
		SHADE_CHECK(cbor_check_string(d, &c, err));
		if (c.major == SHADE_CBOR_TEXT)
			SHADE_CHECK(cbor_check_utf8(d, (size_t)c.arg, c.at, err));
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
void cbor_gather_chunks(const shade_cbor_dec *d, size_t from, uint8_t *dst)
{
	shade_cbor_dec c = *d;
	struct cbor_head ch;

	c.pos = from;
	while (c.buf[c.pos] != CBOR_IB_BREAK) {
		/* validated by cbor_scan_string */
		cbor_rd_head(&c, &ch, NULL);
		memcpy(dst, c.buf + c.pos, (size_t)ch.arg);
		dst += ch.arg;
		c.pos += (size_t)ch.arg;
	}
}

shade_status shade_cbor_read_text_dup(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
				      char **out, size_t *len,
				      shade_error **err)
{
	struct cbor_head h;
	size_t total = 0, from;
	char *s;

	SHADE_CHECK(cbor_rd_expect(d, SHADE_CBOR_TEXT, &h, err));
	from = d->pos;
	SHADE_CHECK(cbor_scan_string(d, &h, UINT64_MAX, &total, err));
	s = talloc_size(mem_ctx, total + 1);
	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (h.arg == SHADE_CBOR_INDEFINITE)
		cbor_gather_chunks(d, from, (uint8_t *)s);
	else if (total > 0)
		memcpy(s, d->buf + from, total);
	s[total] = '\0';
	*out = s;
	if (len != NULL)
		*len = total;
	return SHADE_OK;
}

shade_status shade_cbor_read_array(shade_cbor_dec *d, uint64_t *n,
				   shade_error **err)
{
	return cbor_rd_container(d, SHADE_CBOR_ARRAY, 1, n, err);
}

shade_status shade_cbor_read_map(shade_cbor_dec *d, uint64_t *n,
				 shade_error **err)
{
	return cbor_rd_container(d, SHADE_CBOR_MAP, 2, n, err);
}

shade_status shade_cbor_read_tag(shade_cbor_dec *d, uint64_t *tag,
				 shade_error **err)
{
	struct cbor_head h;

	SHADE_CHECK(cbor_rd_expect(d, SHADE_CBOR_TAG, &h, err));
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
double cbor_float_of(const struct cbor_head *h)
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
			      const char *what, struct cbor_head *h,
			      shade_error **err)
{
	SHADE_CHECK(cbor_rd_head(d, h, err));
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
	struct cbor_head h;

	SHADE_CHECK(rd_simple(d, 25, 27, "a float", &h, err));
	*out = cbor_float_of(&h);
	return SHADE_OK;
}

shade_status shade_cbor_read_bool(shade_cbor_dec *d, bool *out,
				  shade_error **err)
{
	struct cbor_head h;

	SHADE_CHECK(rd_simple(d, 20, 21, "a boolean", &h, err));
	*out = h.ai == 21;
	return SHADE_OK;
}

shade_status shade_cbor_read_null(shade_cbor_dec *d, shade_error **err)
{
	struct cbor_head h;

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
shade_status cbor_check_simple(const struct cbor_head *h, shade_error **err)
{
	if (h->ai == 24 && h->arg < 32)
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "two-byte simple value %" PRIu64
				       " at offset %zu", h->arg, h->at);
	if (h->ai == CBOR_AI_INDEF)
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "break outside an indefinite-length "
				       "item at offset %zu", h->at);
	return SHADE_OK;
}

/* Skip one item at nesting `depth`. */
static shade_status skip(shade_cbor_dec *d, unsigned depth, unsigned max_depth,
			 shade_error **err)
{
	struct cbor_head h;
	uint64_t i, n;
	size_t total;

	/* A one-byte integer: the common field, without a struct cbor_head. */
	if (cbor_rd_tiny(d, SHADE_CBOR_UINT) >= 0 ||
	    cbor_rd_tiny(d, SHADE_CBOR_NINT) >= 0)
		return SHADE_OK;
	SHADE_CHECK(cbor_rd_head(d, &h, err));
	switch (h.major) {
	case SHADE_CBOR_UINT:
	case SHADE_CBOR_NINT:
		return SHADE_OK;
	case SHADE_CBOR_BYTES:
	case SHADE_CBOR_TEXT:
		if (h.arg != SHADE_CBOR_INDEFINITE) {
			SHADE_CHECK(cbor_check_string(d, &h, err));
			d->pos += (size_t)h.arg;
			return SHADE_OK;
		}
		return cbor_scan_string(d, &h, UINT64_MAX, &total, err);
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
					       "left", cbor_major_name(h.major),
					       h.at,
					       h.arg, d->len - d->pos);
		for (i = 0; i < h.arg * n; i++)
			SHADE_CHECK(skip(d, depth + 1, max_depth, err));
		return SHADE_OK;
	default:
		return cbor_check_simple(&h, err);
	}
}

shade_status shade_cbor_skip(shade_cbor_dec *d, unsigned max_depth,
			     shade_error **err)
{
	return skip(d, d->depth, max_depth ? max_depth
				 : SHADE_CBOR_DEFAULT_MAX_DEPTH, err);
}
