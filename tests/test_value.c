/*
 * test_value.c - the value model: kinds, constructors, containers,
 * ownership, equality, hashing and the diagnostic printer.
 *
 * Each test works on the group's talloc context and checks that the
 * context's block count is back where it started once it has freed
 * what it made.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/value.h"
#include "helpers/suite.h"

/* Assert that v prints as the diagnostic text `want`. */
#define assert_diag(ctx, v, want) do { \
	char *d_ = shade_value_diag((ctx), (v)); \
	assert_non_null(d_); \
	assert_string_equal(d_, (want)); \
	talloc_free(d_); \
} while (0)

/* The group fixture: helpers/suite.h. */

/* ------------------------------------------------------------ a fake ref */

/* A reference with a holder count, as the object layer would make. */
struct shade_ref {
	shade_ref_head head; /* must be first */
	int holders;         /* retain - release balance */
	int id;              /* printed by describe */
};

static void fake_retain(struct shade_ref *r)
{
	r->holders++;
}

static void fake_release(struct shade_ref *r)
{
	r->holders--;
}

static char *fake_describe(TALLOC_CTX *mem_ctx, const struct shade_ref *r)
{
	return talloc_asprintf(mem_ctx, "200(%d)", r->id);
}

static const shade_ref_ops fake_ops = {
	fake_retain, fake_release, fake_describe
};

/* ------------------------------------------------------------ scalars */

/* None, bool, int, float: boxes, kinds, accessors. */
static void test_value_scalars(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *n = shade_none(ctx), *t = shade_bool(ctx, true);
	shade_value *i = shade_int(ctx, INT64_MIN), *f = shade_float(ctx, -2.5);
	shade_value s = shade_value_int(7);

	assert_non_null(n);
	assert_int_equal(shade_value_kind(n), SHADE_NONE);
	assert_int_equal(shade_value_kind(t), SHADE_BOOL);
	assert_true(shade_value_as_bool(t));
	assert_int_equal(shade_value_kind(i), SHADE_INT);
	assert_true(shade_value_as_int(i) == INT64_MIN);
	assert_int_equal(shade_value_kind(f), SHADE_FLOAT);
	assert_true(shade_value_as_float(f) == -2.5);
	assert_int_equal(shade_value_as_int(&s), 7);
	assert_int_equal(sizeof(shade_value), 16);
	assert_string_equal(shade_kind_name(SHADE_DICT), "dict");
	assert_string_equal(shade_kind_name(SHADE_EXC), "exc");
	assert_string_equal(shade_kind_name((shade_kind)14), "invalid");
	assert_int_equal(shade_value_len(i), 0);
	assert_diag(ctx, n, "null");
	assert_diag(ctx, t, "true");
	assert_diag(ctx, i, "-9223372036854775808");
	assert_diag(ctx, f, "-2.5");
	talloc_free(n);
	talloc_free(t);
	shade_value_free(i);
	shade_value_free(f);
	shade_value_free(NULL);
}

/* Text is validated on construction; bad UTF-8 is refused. */
static void test_value_str(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *s = shade_str(ctx, "h\xc3\xa9llo");
	shade_value *z = shade_strn(ctx, "a\0b", 3);
	shade_value *e = shade_str(ctx, "");
	shade_value *p = shade_str_printf(ctx, "%d-%s", 42, "x");
	shade_error *err = NULL;
	size_t len;
	char *dup;

	assert_non_null(s);
	assert_int_equal(shade_value_kind(s), SHADE_STR);
	assert_string_equal(shade_value_as_str(s, &len), "h\xc3\xa9llo");
	assert_int_equal(len, 6);
	assert_string_equal(shade_value_cstr(s), "h\xc3\xa9llo");
	assert_false(shade_value_is_borrowed(s));
	assert_int_equal(shade_value_len(z), 3);
	assert_memory_equal(shade_value_as_str(z, NULL), "a\0b", 3);
	dup = shade_value_strdup(ctx, z);
	assert_string_equal(dup, "a");
	talloc_free(dup);
	assert_int_equal(shade_value_len(e), 0);
	assert_string_equal(shade_value_cstr(e), "");
	assert_string_equal(shade_value_cstr(p), "42-x");
	assert_diag(ctx, z, "\"a\\u0000b\"");
	assert_diag(ctx, s, "\"h\\u00e9llo\"");

	/* bad UTF-8: overlong, surrogate, truncated, stray continuation */
	assert_null(shade_str(ctx, "\xc0\xaf"));
	assert_null(shade_str(ctx, "\xed\xa0\x80"));
	assert_null(shade_str(ctx, "ab\xe2\x82"));
	assert_null(shade_str(ctx, "\x80"));
	assert_null(shade_str(ctx, "\xf4\x90\x80\x80"));
	assert_null(shade_str(ctx, NULL));
	assert_null(shade_str_checked(ctx, "abc\xff", 4, &err));
	assert_non_null(err);
	assert_int_equal(err->code, SHADE_ERR_UTF8);
	assert_string_equal(err->message, "invalid UTF-8 at byte offset 3");
	shade_error_clear(&err);
	assert_int_equal(shade_utf8_check("\xf0\x9f\x98\x80", 4, NULL),
			 SHADE_OK);

	talloc_free(s);
	talloc_free(z);
	talloc_free(e);
	talloc_free(p);
}

/* Long ASCII runs are checked a block at a time: a bad byte, a good
 * multibyte sequence or a truncated one is found at every position of
 * the block and every alignment, and its offset is the one reported. */
static void test_value_utf8_runs(void **state)
{
	enum { N = 200 };
	uint8_t buf[N + 8];
	size_t at, k, len, bad;

	(void)state;
	for (at = 0; at < 8; at++) {
		uint8_t *p = buf + at;

		memset(buf, 'a', sizeof buf);
		assert_int_equal(shade_utf8_check(p, N, NULL), SHADE_OK);
		for (k = 0; k < N; k++) {
			p[k] = 0xff;
			bad = SIZE_MAX;
			assert_int_equal(shade_utf8_check(p, N, &bad),
					 SHADE_ERR_UTF8);
			assert_int_equal(bad, k);
			p[k] = 0x80; /* a stray continuation byte */
			assert_int_equal(shade_utf8_check(p, N, &bad),
					 SHADE_ERR_UTF8);
			assert_int_equal(bad, k);
			p[k] = 'a';
		}
		for (k = 0; k + 2 <= N; k++) {
			memcpy(p + k, "\xc3\xa9", 2);
			assert_int_equal(shade_utf8_check(p, N, NULL),
					 SHADE_OK);
			/* cut after its first byte */
			len = k + 1;
			bad = SIZE_MAX;
			assert_int_equal(shade_utf8_check(p, len, &bad),
					 SHADE_ERR_UTF8);
			assert_int_equal(bad, k);
			memcpy(p + k, "aa", 2);
		}
	}
}

/* shade_value_borrow: a str or bytes box pointing at the source's bytes
 * (the cstr too when the source has its NUL); other kinds copied. */
static void test_value_borrow_of_value(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *s = shade_str(ctx, "h\xc3\xa9llo");
	shade_value *y = shade_bytes(ctx, "\x00\x01\x02", 3);
	shade_value *l = shade_list_new(ctx, 1);
	shade_value *z = shade_str(ctx, "");
	shade_value *bs, *by, *bl, *e;

	assert_ok(shade_seq_append_take(l, shade_int(ctx, 7), NULL));
	bs = shade_value_borrow(ctx, s);
	by = shade_value_borrow(ctx, y);
	bl = shade_value_borrow(ctx, l);
	e = shade_value_borrow(ctx, z);
	assert_non_null(bs);
	assert_true(shade_value_is_borrowed(bs));
	assert_ptr_equal(shade_value_as_str(bs, NULL),
			 shade_value_as_str(s, NULL));
	assert_string_equal(shade_value_cstr(bs), "h\xc3\xa9llo");
	assert_true(shade_value_equal(bs, s));
	assert_int_equal(shade_value_kind(by), SHADE_BYTES);
	assert_true(shade_value_is_borrowed(by));
	assert_ptr_equal(shade_value_as_bytes(by, NULL),
			 shade_value_as_bytes(y, NULL));
	assert_int_equal(shade_value_len(by), 3);
	assert_int_equal(shade_value_kind(bl), SHADE_LIST);  /* a copy */
	assert_ptr_not_equal(bl, l);
	assert_true(shade_value_equal(bl, l));
	assert_int_equal(shade_value_len(e), 0);
	assert_null(shade_value_borrow(ctx, NULL));
	talloc_free(bs);  /* the source keeps its bytes */
	assert_string_equal(shade_value_cstr(s), "h\xc3\xa9llo");
	talloc_free(by);
	talloc_free(bl);
	talloc_free(e);
	talloc_free(z);
	talloc_free(s);
	talloc_free(y);
	talloc_free(l);
}

/* Borrowed text and bytes point at the caller's memory; copies own. */
static void test_value_borrow_and_bytes(void **state)
{
	TALLOC_CTX *ctx = *state;
	char text[] = "frame text";
	uint8_t raw[] = { 0, 1, 0xfe, 0xff };
	shade_value *b = shade_str_borrow(ctx, text, 5, NULL);
	shade_value *y = shade_bytes(ctx, raw, sizeof(raw));
	shade_value *yb = shade_bytes_borrow(ctx, raw, 2);
	shade_value *c;
	size_t len;

	assert_non_null(b);
	assert_true(shade_value_is_borrowed(b));
	assert_ptr_equal(shade_value_as_str(b, &len), text);
	assert_int_equal(len, 5);
	assert_null(shade_value_cstr(b));           /* not NUL-terminated */
	c = shade_value_copy(ctx, b);
	assert_false(shade_value_is_borrowed(c));
	assert_string_equal(shade_value_cstr(c), "frame");
	assert_true(shade_value_equal(b, c));
	text[0] = 'F';                               /* the copy is its own */
	assert_false(shade_value_equal(b, c));
	assert_int_equal(shade_value_kind(y), SHADE_BYTES);
	assert_memory_equal(shade_value_as_bytes(y, &len), raw, 4);
	assert_int_equal(len, 4);
	assert_diag(ctx, y, "h'0001feff'");
	assert_diag(ctx, yb, "h'0001'");
	assert_true(shade_value_is_borrowed(yb));
	talloc_free(b);
	talloc_free(c);
	talloc_free(y);
	talloc_free(yb);
}

/* ------------------------------------------------------------ sequences */

/* Tuples and lists: append, get with negative indexes, set, insert,
 * delete, contains, index and type errors. */
static void test_value_seq_ops(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *l = shade_list_new(ctx, 0);
	shade_value one = shade_value_int(1), two = shade_value_int(2);
	const shade_value *got;
	shade_error *err = NULL;
	shade_value *s;
	int64_t i;

	for (i = 0; i < 5; i++) {
		shade_value v = shade_value_int(i * 10);

		assert_int_equal(shade_seq_append(l, &v, NULL), SHADE_OK);
	}
	assert_int_equal(shade_seq_len(l), 5);
	assert_int_equal(shade_value_len(l), 5);
	assert_int_equal(shade_seq_get(l, -1, &got, NULL), SHADE_OK);
	assert_int_equal(shade_value_as_int(got), 40);
	assert_int_equal(shade_value_as_int(shade_seq_at(l, 1)), 10);
	assert_null(shade_seq_at(l, 5));
	assert_int_equal(shade_seq_get(l, 5, &got, &err), SHADE_ERR_INDEX);
	assert_string_equal(err->message, "index 5 out of range (length 5)");
	shade_error_clear(&err);
	assert_int_equal(shade_seq_get(l, -6, &got, NULL), SHADE_ERR_INDEX);

	assert_int_equal(shade_seq_set(l, -2, &one, NULL), SHADE_OK);
	assert_int_equal(shade_seq_insert(l, 0, &two, NULL), SHADE_OK);
	assert_int_equal(shade_seq_insert(l, 100, &two, NULL), SHADE_OK);
	assert_int_equal(shade_seq_insert(l, -100, &one, NULL), SHADE_OK);
	assert_diag(ctx, l, "203([1, 2, 0, 10, 20, 1, 40, 2])");
	assert_int_equal(shade_seq_delete(l, 0, NULL), SHADE_OK);
	assert_int_equal(shade_seq_delete(l, -1, NULL), SHADE_OK);
	assert_int_equal(shade_seq_delete(l, 6, NULL), SHADE_ERR_INDEX);
	assert_diag(ctx, l, "203([2, 0, 10, 20, 1, 40])");
	assert_true(shade_seq_contains(l, &one));
	assert_false(shade_seq_contains(l, &(shade_value){ SHADE_INT, { 0 },
				 0, { .i = 99 } }));

	s = shade_str(ctx, "x");
	assert_int_equal(shade_seq_append(s, &one, &err), SHADE_ERR_TYPE);
	assert_string_equal(err->message, "expected a tuple or list, got str");
	shade_error_clear(&err);
	assert_int_equal(shade_seq_len(s), 0);

	/* appending a view of the list's own item while it grows */
	assert_int_equal(shade_seq_append(l, shade_seq_at(l, 0), NULL),
			 SHADE_OK);
	assert_int_equal(shade_seq_append_str(l, "t\xc3\xa9", 3, NULL),
			 SHADE_OK);
	assert_int_equal(shade_seq_append_str(l, "\xff", 1, &err),
			 SHADE_ERR_UTF8);
	shade_error_clear(&err);
	assert_diag(ctx, l, "203([2, 0, 10, 20, 1, 40, 2, \"t\\u00e9\"])");
	talloc_free(s);
	talloc_free(l);
}

/* Inserting copies; _take moves and frees the box even on failure. */
static void test_value_seq_ownership(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *t = shade_tuple_new(ctx, 2);
	shade_value *inner = shade_list_new(ctx, 0);
	shade_value *str = shade_str(ctx, "kept");
	shade_error *err = NULL;
	size_t blocks;
	const shade_value *items[3];
	shade_value *made;

	assert_int_equal(shade_seq_append(inner, str, NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(t, inner, NULL), SHADE_OK);
	/* the copy in t is independent of inner */
	assert_int_equal(shade_seq_delete(inner, 0, NULL), SHADE_OK);
	assert_diag(ctx, t, "[203([\"kept\"])]");
	assert_diag(ctx, inner, "203([])");

	/* take: the box goes away, its payload lives on in t */
	blocks = talloc_total_blocks(ctx);
	assert_int_equal(shade_seq_append_take(t, str, NULL), SHADE_OK);
	assert_int_equal(talloc_total_blocks(ctx), blocks - 1);
	assert_int_equal(shade_seq_set_take(t, 0, shade_int(ctx, 5), NULL),
			 SHADE_OK);
	assert_diag(ctx, t, "[5, \"kept\"]");
	/* failures still free the box */
	blocks = talloc_total_blocks(ctx);
	assert_int_equal(shade_seq_set_take(t, 9, shade_int(ctx, 5), &err),
			 SHADE_ERR_INDEX);
	shade_error_clear(&err);
	assert_int_equal(shade_seq_append_take(inner, shade_str(ctx, "z"),
					       NULL), SHADE_OK);
	assert_int_equal(shade_seq_append_take(t, t, &err), SHADE_ERR_INVALID);
	shade_error_clear(&err);
	/* t was freed by the failed self-move: rebuild */
	t = shade_list_new(ctx, 0);
	assert_int_equal(shade_seq_append_take(t, inner, NULL), SHADE_OK);

	items[0] = t;
	items[1] = NULL;
	items[2] = &(shade_value){ SHADE_BOOL, { 0 }, 0, { .b = false } };
	made = shade_tuple_from(ctx, 3, items);
	assert_diag(ctx, made, "[203([203([\"z\"])]), null, false]");
	talloc_free(made);
	talloc_free(t);
}

/* A list's short strings lie together in its text chunks: replacing
 * and deleting items leaves dead text that is rewritten away once it
 * passes the live text, so the list's size stays bounded; the items
 * keep their values through every rewrite, and clearing frees it all. */
static void test_value_seq_text_chunks(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *l = shade_list_new(ctx, 0);
	shade_value *c;
	char text[32];
	size_t i, r, base, peak = 0, blocks;
	const shade_value *a, *b;

	blocks = talloc_total_blocks(ctx);
	for (i = 0; i < 1000; i++) {
		snprintf(text, sizeof text, "item %zu", i);
		assert_int_equal(shade_seq_append_str(l, text, strlen(text),
						      NULL), SHADE_OK);
	}
	/* 1 000 strings in a few chunks, not a block each */
	assert_true(talloc_total_blocks(ctx) - blocks < 30);
	a = shade_seq_at(l, 0);
	b = shade_seq_at(l, 1);
	assert_ptr_equal(a->u.s + a->len + 1, b->u.s);
	base = talloc_total_size(l);
	/* 50 rounds replacing every item: 50 times the live text dropped */
	for (r = 0; r < 50; r++) {
		for (i = 0; i < 1000; i++) {
			shade_value *v;

			snprintf(text, sizeof text, "r%zu/%zu", r, i);
			v = shade_str(ctx, text);
			assert_int_equal(shade_seq_set(l, (int64_t)i, v, NULL),
					 SHADE_OK);
			talloc_free(v);
		}
		if (talloc_total_size(l) > peak)
			peak = talloc_total_size(l);
	}
	/* dead text at most the live text plus 4 KiB, plus one chunk */
	assert_true(peak < base + 2 * 12 * 1000 + 4096 + 65536);
	for (i = 0; i < 1000; i++) {
		snprintf(text, sizeof text, "r49/%zu", i);
		assert_string_equal(shade_value_cstr(shade_seq_at(l, i)), text);
	}
	/* deleting: the survivors keep their values */
	for (i = 0; i < 900; i++)
		assert_int_equal(shade_seq_delete(l, 0, NULL), SHADE_OK);
	assert_int_equal(shade_seq_len(l), 100);
	assert_string_equal(shade_value_cstr(shade_seq_at(l, 0)), "r49/900");
	assert_string_equal(shade_value_cstr(shade_seq_at(l, 99)), "r49/999");
	/* a copy holds its own text, equal */
	c = shade_value_copy(ctx, l);
	assert_non_null(c);
	assert_true(shade_value_equal(c, l));
	assert_ptr_not_equal(shade_seq_at(c, 5)->u.s, shade_seq_at(l, 5)->u.s);
	/* bytes too, and a clear frees the chunks */
	assert_int_equal(shade_seq_append(l, &(shade_value){ SHADE_BYTES,
			 { 0 }, 3, { .p = (const uint8_t *)"a\0b" } }, NULL),
			 SHADE_OK);
	assert_int_equal(shade_seq_at(l, 100)->len, 3);
	assert_memory_equal(shade_seq_at(l, 100)->u.p, "a\0b", 3);
	assert_int_equal(shade_value_clear(l, NULL), SHADE_OK);
	talloc_free(c);
	/* what is left: the list and its block of slots */
	assert_int_equal(talloc_total_blocks(ctx), blocks + 1);
	talloc_free(l);
}

/* ------------------------------------------------------------ dicts */

/* Set, get, replace in place, delete, re-add at the end, iterate. */
static void test_value_dict_order(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *d = shade_dict_new(ctx, 0);
	shade_value *ka = shade_str(ctx, "a"), *kb = shade_str(ctx, "b");
	shade_value one = shade_value_int(1), two = shade_value_int(2);
	shade_value three = shade_value_int(3);
	const shade_value *k, *v;
	shade_error *err = NULL;
	size_t pos = 0, n = 0;

	assert_int_equal(shade_dict_set(d, ka, &one, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d, kb, &two, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d, &one, &three, NULL), SHADE_OK);
	assert_diag(ctx, d, "{\"a\": 1, \"b\": 2, 1: 3}");
	assert_int_equal(shade_dict_set(d, ka, &three, NULL), SHADE_OK);
	assert_diag(ctx, d, "{\"a\": 3, \"b\": 2, 1: 3}");
	assert_int_equal(shade_dict_len(d), 3);
	assert_int_equal(shade_value_as_int(shade_dict_get_str(d, "b")), 2);
	assert_null(shade_dict_get_str(d, "c"));
	assert_true(shade_dict_contains(d, &one));
	/* int 1, float 1.0 and true are different keys */
	assert_false(shade_dict_contains(d, &(shade_value){ SHADE_FLOAT,
				{ 0 }, 0, { .f = 1.0 } }));
	assert_false(shade_dict_contains(d, &(shade_value){ SHADE_BOOL,
				{ 0 }, 0, { .b = true } }));
	assert_int_equal(shade_dict_delete(d, ka, NULL), SHADE_OK);
	assert_int_equal(shade_dict_delete(d, ka, &err), SHADE_ERR_KEY);
	assert_string_equal(err->message, "\"a\"");
	shade_error_clear(&err);
	assert_int_equal(shade_dict_lookup(d, ka, &v, &err), SHADE_ERR_KEY);
	shade_error_clear(&err);
	assert_int_equal(shade_dict_set(d, ka, &one, NULL), SHADE_OK);
	assert_diag(ctx, d, "{\"b\": 2, 1: 3, \"a\": 1}");
	assert_int_equal(shade_dict_set_str(d, "c", &two, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set_str(d, "\xc3", &two, &err),
			 SHADE_ERR_UTF8);
	shade_error_clear(&err);
	while (shade_dict_next(d, &pos, &k, &v))
		n++;
	assert_int_equal(n, 4);
	assert_int_equal(shade_dict_lookup(d, kb, &v, NULL), SHADE_OK);
	assert_int_equal(shade_value_as_int(v), 2);
	talloc_free(ka);
	talloc_free(kb);
	talloc_free(d);
}

/* Only immutable values are keys; tuples of them are. */
static void test_value_dict_keys(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *d = shade_dict_new(ctx, 4);
	shade_value *l = shade_list_new(ctx, 0);
	shade_value *t = shade_tuple_new(ctx, 2);
	shade_value *bad = shade_tuple_new(ctx, 1);
	shade_value none = shade_value_none(), nan = shade_value_float(NAN);
	shade_error *err = NULL;

	assert_int_equal(shade_dict_set(d, l, &none, &err), SHADE_ERR_TYPE);
	assert_string_equal(err->message, "unhashable dict key of kind list");
	shade_error_clear(&err);
	assert_int_equal(shade_seq_append(bad, l, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d, bad, &none, NULL), SHADE_ERR_TYPE);
	assert_false(shade_value_is_hashable(bad));
	assert_int_equal(shade_value_hash(bad), 0);
	assert_int_equal(shade_dict_set(d, d, &none, NULL), SHADE_ERR_TYPE);
	assert_null(shade_dict_get(d, l));

	assert_int_equal(shade_seq_append_str(t, "x", 1, NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(t, &nan, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d, t, t, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d, &none, &none, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d, &nan, &nan, NULL), SHADE_OK);
	/* NaN keys are found again (NaN equals NaN in the value model) */
	assert_non_null(shade_dict_get(d, &nan));
	assert_non_null(shade_dict_get(d, t));
	assert_diag(ctx, d, "{[\"x\", NaN]: [\"x\", NaN], null: null, "
		    "NaN: NaN}");
	/* the key is a copy: changing t does not change the dict */
	assert_int_equal(shade_seq_append(t, &none, NULL), SHADE_OK);
	assert_null(shade_dict_get(d, t));
	assert_int_equal(shade_dict_set(shade_str(d, "x"), &none, &none, &err),
			 SHADE_ERR_TYPE);
	assert_string_equal(err->message, "expected a dict, got str");
	shade_error_clear(&err);
	talloc_free(l);
	talloc_free(t);
	talloc_free(bad);
	talloc_free(d);
}

/* Many entries with deletions in between: the index grows, holes are
 * compacted, order is kept, every key is found. */
static void test_value_dict_rehash(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *d = shade_dict_new(ctx, 0);
	const int n = 20000;
	const shade_value *k, *v;
	size_t pos = 0;
	int i, expect;

	for (i = 0; i < n; i++) {
		shade_value key = shade_value_int(i), val = shade_value_int(-i);

		assert_int_equal(shade_dict_set(d, &key, &val, NULL), SHADE_OK);
		if (i % 3 == 0) {
			shade_value old = shade_value_int(i / 2);

			if (shade_dict_contains(d, &old))
				assert_int_equal(shade_dict_delete(d, &old,
								   NULL),
						 SHADE_OK);
		}
	}
	for (i = 0; i < n; i++) {
		shade_value key = shade_value_int(i);
		const shade_value *got = shade_dict_get(d, &key);

		if (got != NULL)
			assert_int_equal(shade_value_as_int(got), -i);
	}
	/* iteration is in increasing key order (insertion order) */
	expect = -1;
	while (shade_dict_next(d, &pos, &k, &v)) {
		assert_true(shade_value_as_int(k) > expect);
		expect = (int)shade_value_as_int(k);
	}
	/* empty it completely, then reuse */
	pos = 0;
	for (i = 0; i < n; i++) {
		shade_value key = shade_value_int(i);

		if (shade_dict_contains(d, &key))
			assert_int_equal(shade_dict_delete(d, &key, NULL),
					 SHADE_OK);
	}
	assert_int_equal(shade_dict_len(d), 0);
	assert_false(shade_dict_next(d, &pos, &k, &v));
	for (i = 0; i < 100; i++) {
		shade_value key = shade_value_int(i);

		assert_int_equal(shade_dict_set(d, &key, &key, NULL), SHADE_OK);
	}
	assert_int_equal(shade_dict_len(d), 100);
	talloc_free(d);
}

/* Moving boxes into a dict. */
static void test_value_dict_take(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *d = shade_dict_new(ctx, 0);
	shade_value *l = shade_list_new(ctx, 0);
	shade_error *err = NULL;

	assert_int_equal(shade_seq_append_take(l, shade_str(ctx, "v"), NULL),
			 SHADE_OK);
	assert_int_equal(shade_dict_set_take(d, shade_str(ctx, "k"), l, NULL),
			 SHADE_OK);
	assert_int_equal(shade_dict_set_take(d, shade_list_new(ctx, 0),
					     shade_none(ctx), &err),
			 SHADE_ERR_TYPE);
	shade_error_clear(&err);
	assert_int_equal(shade_dict_set_take(d, shade_int(ctx, 1), d, &err),
			 SHADE_ERR_INVALID);
	shade_error_clear(&err);
	/* d is gone with the failed self-move */
	d = shade_dict_new(ctx, 0);
	assert_int_equal(shade_dict_set_take(d, shade_int(ctx, 1),
					     shade_int(ctx, 2), NULL), SHADE_OK);
	assert_int_equal(shade_dict_set_take(d, shade_int(ctx, 1),
					     shade_int(ctx, 3), NULL), SHADE_OK);
	assert_diag(ctx, d, "{1: 3}");
	talloc_free(d);
}

/* ------------------------------------------------------------ equality */

/* Structural equality and consistent hashes. */
static void test_value_equal_hash(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value i1 = shade_value_int(1), f1 = shade_value_float(1.0);
	shade_value b1 = shade_value_bool(true), z = shade_value_float(0.0);
	shade_value nz = shade_value_float(-0.0);
	shade_value n1 = shade_value_float(NAN), n2 = shade_value_float(-NAN);
	shade_value *t = shade_tuple_new(ctx, 0), *l = shade_list_new(ctx, 0);
	shade_value *d1 = shade_dict_new(ctx, 0), *d2 = shade_dict_new(ctx, 0);
	shade_value *s1 = shade_str(ctx, "abcdefghijklmnopq");
	shade_value *s2 = shade_strn(ctx, "abcdefghijklmnopqr", 17);
	shade_value *by = shade_bytes(ctx, "abcdefghijklmnopq", 17);
	shade_value *t2;

	assert_false(shade_value_equal(&i1, &f1));
	assert_false(shade_value_equal(&i1, &b1));
	assert_false(shade_value_equal(&z, &nz));
	assert_true(shade_value_equal(&n1, &n2));
	assert_true(shade_value_hash(&n1) == shade_value_hash(&n2));
	assert_true(shade_value_equal(s1, s2));
	assert_true(shade_value_hash(s1) == shade_value_hash(s2));
	assert_false(shade_value_equal(s1, by));
	assert_false(shade_value_hash(s1) == shade_value_hash(by));
	assert_false(shade_value_equal(t, l));
	assert_int_equal(shade_seq_append(t, s1, NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(t, &i1, NULL), SHADE_OK);
	t2 = shade_value_copy(ctx, t);
	assert_true(shade_value_equal(t, t2));
	assert_true(shade_value_hash(t) == shade_value_hash(t2));
	assert_int_equal(shade_seq_set(t2, 1, &f1, NULL), SHADE_OK);
	assert_false(shade_value_equal(t, t2));
	assert_false(shade_value_hash(t) == shade_value_hash(t2));

	/* dicts: same pairs in another order are equal */
	assert_int_equal(shade_dict_set(d1, &i1, s1, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d1, &f1, t, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set(d2, &f1, t, NULL), SHADE_OK);
	assert_false(shade_value_equal(d1, d2));
	assert_int_equal(shade_dict_set(d2, &i1, s1, NULL), SHADE_OK);
	assert_true(shade_value_equal(d1, d2));
	assert_int_equal(shade_dict_set(d2, &i1, s2, NULL), SHADE_OK);
	assert_true(shade_value_equal(d1, d2));
	assert_int_equal(shade_dict_set(d2, &i1, &i1, NULL), SHADE_OK);
	assert_false(shade_value_equal(d1, d2));
	assert_false(shade_value_is_hashable(d1));

	talloc_free(t);
	talloc_free(t2);
	talloc_free(l);
	talloc_free(d1);
	talloc_free(d2);
	talloc_free(s1);
	talloc_free(s2);
	talloc_free(by);
}

/* ------------------------------------------------------------ diag */

/* The printer's exact output for every kind. */
static void test_value_diag(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_value *d = shade_dict_new(ctx, 0);
	shade_value *l = shade_list_new(ctx, 0);
	shade_value *t = shade_tuple_new(ctx, 0);
	static const struct {
		double f;          /* value */
		const char *text;  /* expected diagnostic */
	} floats[] = {
		{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0, "1.0" },
		{ 1.1, "1.1" }, { 100000.0, "100000.0" },
		{ 1e15, "1000000000000000.0" }, { 1e16, "1.0e+16" },
		{ 1.0e+300, "1.0e+300" }, { 0.00001, "0.00001" },
		{ 0.000001, "1.0e-6" }, { 5.960464477539063e-8,
					  "5.960464477539063e-8" },
		{ 3.4028234663852886e+38, "3.4028234663852886e+38" },
		{ -4.1, "-4.1" }, { 123.456, "123.456" },
		{ INFINITY, "Infinity" }, { -INFINITY, "-Infinity" },
		{ NAN, "NaN" },
	};
	size_t i;

	for (i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
		shade_value f = shade_value_float(floats[i].f);

		assert_diag(ctx, &f, floats[i].text);
	}
	assert_int_equal(shade_seq_append_take(t, shade_str(ctx,
			 "q\"\\\n\t\r\x01\x7f\xf0\x9f\x98\x80"), NULL), SHADE_OK);
	assert_int_equal(shade_seq_append_take(t, shade_bytes(ctx, "", 0),
					       NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(l, t, NULL), SHADE_OK);
	assert_int_equal(shade_dict_set_take(d, shade_int(ctx, -7), l, NULL),
			 SHADE_OK);
	assert_int_equal(shade_dict_set_take(d, shade_str(ctx, ""),
					     shade_dict_new(ctx, 0), NULL),
			 SHADE_OK);
	assert_diag(ctx, d, "{-7: 203([[\"q\\\"\\\\\\n\\t\\r\\u0001\\u007f"
		    "\\ud83d\\ude00\", h'']]), \"\": {}}");
	talloc_free(t);
	talloc_free(d);
}

/* ------------------------------------------------------------ refs, exc */

/* A ref is retained by every value holding it and released when that
 * value goes, whether a box, a copy, a list slot or a dict value. */
static void test_value_refs(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct shade_ref r = { { &fake_ops }, 1, 7 };
	shade_value *v = shade_ref_value(ctx, &r);
	shade_value *l = shade_list_new(ctx, 0);
	shade_value *d = shade_dict_new(ctx, 0);
	shade_value *c, *k = shade_str(ctx, "r");

	assert_int_equal(r.holders, 2);
	assert_ptr_equal(shade_value_as_ref(v), &r);
	assert_diag(ctx, v, "200(7)");
	c = shade_value_copy(ctx, v);
	assert_int_equal(r.holders, 3);
	assert_true(shade_value_equal(v, c));
	assert_false(shade_value_is_hashable(v));
	assert_int_equal(shade_seq_append(l, v, NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(l, v, NULL), SHADE_OK);
	assert_int_equal(r.holders, 5);
	assert_int_equal(shade_seq_delete(l, 0, NULL), SHADE_OK);
	assert_int_equal(r.holders, 4);
	assert_int_equal(shade_dict_set(d, k, v, NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(l, d, NULL), SHADE_OK);
	assert_int_equal(r.holders, 6);
	assert_diag(ctx, l, "203([200(7), {\"r\": 200(7)}])");
	talloc_free(l);
	assert_int_equal(r.holders, 4);
	assert_int_equal(shade_dict_set_take(d, shade_int(ctx, 0), c, NULL),
			 SHADE_OK);
	assert_int_equal(r.holders, 4);
	assert_int_equal(shade_dict_set(d, k, k, NULL), SHADE_OK);
	assert_int_equal(r.holders, 3);
	talloc_free(d);
	assert_int_equal(r.holders, 2);
	talloc_free(v);
	assert_int_equal(r.holders, 1);
	v = shade_ref_value_take(ctx, &r);
	assert_int_equal(r.holders, 1);
	talloc_free(v);
	assert_int_equal(r.holders, 0);
	talloc_free(k);
}

/* Exceptions: copied, compared, printed. */
static void test_value_exc(void **state)
{
	TALLOC_CTX *ctx = *state;
	shade_error *e = NULL;
	shade_value *x, *y;

	shade_error_set(&e, SHADE_ERR_KEY, "no %s", "balance");
	assert_non_null(e);
	e->args = shade_tuple_new(e, 1);
	assert_int_equal(shade_seq_append_take(e->args, shade_str(ctx,
			 "balance"), NULL), SHADE_OK);
	assert_int_equal(shade_error_push_frame(e, "server", "bank.Account",
						"get"), SHADE_OK);
	x = shade_exc(ctx, e);
	assert_non_null(x);
	assert_int_equal(shade_value_kind(x), SHADE_EXC);
	assert_int_equal(shade_value_as_exc(x)->code, SHADE_ERR_KEY);
	assert_diag(ctx, x, "202([\"KeyError\", \"no balance\", [\"balance\"], "
		    "[[\"server\", \"bank.Account\", \"get\"]]])");
	y = shade_exc_take(ctx, e);
	assert_true(shade_value_equal(x, y));
	assert_false(shade_value_is_hashable(x));
	talloc_free(y);
	y = shade_value_copy(ctx, x);
	assert_true(shade_value_equal(x, y));
	assert_string_equal(shade_value_as_exc(y)->chain[0].member, "get");
	talloc_free(x);
	talloc_free(y);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(f) SUITE_CASE(f)
		T(test_value_scalars),
		T(test_value_str),
		T(test_value_utf8_runs),
		T(test_value_borrow_and_bytes),
		T(test_value_borrow_of_value),
		T(test_value_seq_ops),
		T(test_value_seq_ownership),
		T(test_value_seq_text_chunks),
		T(test_value_dict_order),
		T(test_value_dict_keys),
		T(test_value_dict_rehash),
		T(test_value_dict_take),
		T(test_value_equal_hash),
		T(test_value_diag),
		T(test_value_refs),
		T(test_value_exc),
#undef T
	};
	int failed;

	talloc_enable_null_tracking();
	failed = SUITE_RUN("value", tests, argc, argv);
	talloc_disable_null_tracking();
	return failed;
}
