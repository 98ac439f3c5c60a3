/*
 * hex.c - hex strings to bytes and back, a helper for tests and tools.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"

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
