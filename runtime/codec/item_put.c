/*
 * item_put.c - the CBOR item encoder: heads, integers, strings, simple
 * values and shortest-width floats appended to a shade_buf.  Speaks no
 * values; value_encode.c builds on it.  The inline fast paths
 * (cbor_put_head, cbor_room...) live in cbor_int.h.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "codec/cbor_int.h"

/* Append a head followed by n bytes of data. */
shade_status cbor_put_string(shade_buf *b, unsigned major, const void *s,
			     size_t n)
{
	uint8_t *p;

	if (n > SIZE_MAX - 9) {
		b->status = SHADE_ERR_NOMEM;
		return b->status;
	}
	p = cbor_room(b, 9 + n);
	if (p != NULL) {
		size_t h = cbor_head_at(p, major, n);

		if (n > 0)
			memcpy(p + h, s, n);
		b->len += h + n;
	}
	return b->status;
}

shade_status shade_cbor_put_head(shade_buf *b, shade_cbor_major major,
				 uint64_t arg)
{
	return cbor_put_head(b, (unsigned)major & 7, arg);
}

shade_status shade_cbor_put_uint(shade_buf *b, uint64_t u)
{
	return cbor_put_head(b, SHADE_CBOR_UINT, u);
}

shade_status shade_cbor_put_nint(shade_buf *b, uint64_t n)
{
	return cbor_put_head(b, SHADE_CBOR_NINT, n);
}

shade_status shade_cbor_put_int(shade_buf *b, int64_t i)
{
	cbor_put_int(b, i);
	return b->status;
}

shade_status shade_cbor_put_bytes(shade_buf *b, const void *p, size_t len)
{
	return cbor_put_string(b, SHADE_CBOR_BYTES, p, len);
}

shade_status shade_cbor_put_text(shade_buf *b, const char *s, size_t len)
{
	return cbor_put_string(b, SHADE_CBOR_TEXT, s, len);
}

shade_status shade_cbor_put_cstr(shade_buf *b, const char *s)
{
	return cbor_put_string(b, SHADE_CBOR_TEXT, s, strlen(s));
}

shade_status shade_cbor_put_array(shade_buf *b, uint64_t n)
{
	return cbor_put_head(b, SHADE_CBOR_ARRAY, n);
}

shade_status shade_cbor_put_map(shade_buf *b, uint64_t n)
{
	return cbor_put_head(b, SHADE_CBOR_MAP, n);
}

shade_status shade_cbor_put_tag(shade_buf *b, uint64_t tag)
{
	return cbor_put_head(b, SHADE_CBOR_TAG, tag);
}

shade_status shade_cbor_put_simple(shade_buf *b, uint8_t simple)
{
	if (simple >= 24 && simple < 32)
		return SHADE_ERR_INVALID;
	return cbor_put_head(b, SHADE_CBOR_SIMPLE, simple);
}

shade_status shade_cbor_put_bool(shade_buf *b, bool v)
{
	return cbor_put_byte(b, v ? CBOR_IB_TRUE : CBOR_IB_FALSE);
}

shade_status shade_cbor_put_null(shade_buf *b)
{
	return cbor_put_byte(b, CBOR_IB_NULL);
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
size_t cbor_float_at(uint8_t *p, double f)
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
	uint8_t *p = cbor_room(b, 9);

	if (p != NULL)
		b->len += cbor_float_at(p, f);
	return b->status;
}
