/*
 * hash.c - hashing, and equality of hashable values (dict keys: none,
 * bool, int, float, str, bytes and tuples of those).  Calls no other
 * file: the dict finds keys with it, compare.c uses it for scalars.
 */
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

/* Bits of a double, every NaN folded to one pattern. */
static uint64_t float_bits(double f)
{
	uint64_t u;

	if (isnan(f))
		return UINT64_C(0x7ff8000000000000);
	memcpy(&u, &f, sizeof(u));
	return u;
}

/* A 64-bit finaliser (splitmix64). */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* Hash len bytes, eight at a time. */
static uint64_t hash_bytes(const uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t h = seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ mix64(w)) * UINT64_C(0x9e3779b97f4a7c15);
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	w = 0;
	if (len > 0)
		memcpy(&w, p, len);
	return mix64(h ^ w ^ ((uint64_t)len << 56));
}

/* Hash v into *h; false when v is not hashable. */
static bool hash_of(const shade_value *v, uint64_t *h)
{
	unsigned k = shade_tag_kind_(v);
	uint64_t seed = UINT64_C(0x51ed270b27a8c3d5) * (k + 1);
	size_t i = 0;

	switch (k) {
	case SHADE_NONE:
		*h = mix64(seed);
		return true;
	case SHADE_BOOL:
		*h = mix64(seed ^ (uint64_t)v->u.b);
		return true;
	case SHADE_INT:
		*h = mix64(seed ^ (uint64_t)v->u.i);
		return true;
	case SHADE_FLOAT:
		*h = mix64(seed ^ float_bits(v->u.f));
		return true;
	case SHADE_STR:
	case SHADE_BYTES:
		*h = hash_bytes(v->u.p, v->len, seed);
		return true;
	case SHADE_TUPLE: {
		uint64_t acc = mix64(seed ^ v->u.seq->len), ih;

		for (i = 0; i < v->u.seq->len; i++) {
			if (!hash_of(&v->u.seq->items[i], &ih))
				return false;
			acc = mix64(acc + ih) ^ (acc >> 17);
		}
		*h = acc;
		return true;
	}
	default:
		return false;
	}
}

bool shade_value_is_hashable(const shade_value *v)
{
	uint64_t h;

	return hash_of(v, &h);
}

uint64_t shade_value_hash(const shade_value *v)
{
	uint64_t h;

	return hash_of(v, &h) ? h : 0;
}

/* Internal: hash for the dict, false when unhashable. */
bool shade_value_hash_(const shade_value *v, uint64_t *h)
{
	return hash_of(v, h);
}

/* Equality of two hashable values (see shade_key_equal_). */
bool shade_key_equal_(const shade_value *a, const shade_value *b)
{
	unsigned k = shade_tag_kind_(a);
	size_t i = 0;

	if (k != shade_tag_kind_(b))
		return false;
	switch (k) {
	case SHADE_NONE:
		return true;
	case SHADE_BOOL:
		return a->u.b == b->u.b;
	case SHADE_INT:
		return a->u.i == b->u.i;
	case SHADE_FLOAT:
		return float_bits(a->u.f) == float_bits(b->u.f);
	case SHADE_STR:
	case SHADE_BYTES:
		return a->len == b->len &&
		       (a->len == 0 || memcmp(a->u.p, b->u.p, a->len) == 0);
	case SHADE_TUPLE:
		if (a->u.seq->len != b->u.seq->len)
			return false;
		for (i = 0; i < a->u.seq->len; i++)
			if (!shade_key_equal_(&a->u.seq->items[i],
					      &b->u.seq->items[i]))
				return false;
		return true;
	default:
		return false;
	}
}
