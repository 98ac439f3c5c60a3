/*
 * test_json.c - the strict JSON reader and writer of the shade tool
 * (tools/json.h): round trips of every kind, exact errors for bad text,
 * and no crash or leak on every prefix of a document, on pseudo-random
 * bytes and on deep nesting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "json.h"
#include "helpers/suite.h"

/* Parse text and format it again on one line. */
static char *again(TALLOC_CTX *ctx, const char *text)
{
	shade_value *v = NULL;
	char *out;

	assert_ok(json_parse(ctx, text, strlen(text), &v, errp_));
	out = json_format(ctx, v, 0, NULL);
	talloc_free(v);
	return out;
}

/* A reader: json_parse or diag_parse. */
typedef shade_status (*parse_fn)(TALLOC_CTX *, const char *, size_t,
				 shade_value **, shade_error **);

/* The error message a reader gives for text (always a ValueError, or a
 * dict's own error for a key that cannot be one). */
static char *error_with(parse_fn parse, TALLOC_CTX *ctx, const char *text,
			size_t len)
{
	shade_value *v = NULL;
	shade_error *e = NULL;
	char *msg;

	assert_int_not_equal(parse(ctx, text, len, &v, &e), SHADE_OK);
	assert_null(v);
	msg = talloc_strdup(ctx, e->message);
	shade_error_free(e);
	return msg;
}

/* The error message json_parse gives for text. */
static char *error_of(TALLOC_CTX *ctx, const char *text, size_t len)
{
	return error_with(json_parse, ctx, text, len);
}

static void test_json_round_trip(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);

	assert_string_equal(again(ctx, " [1, -2, 0.5, 1e3, true, false, null,"
				  " \"a\\u00e9\\ud83d\\ude00\\n\"] "),
			    "[1, -2, 0.5, 1000.0, true, false, null, "
			    "\"a\xc3\xa9\xf0\x9f\x98\x80\\n\"]");
	assert_string_equal(again(ctx, "{\"k\": {\"$bytes\": \"00ff\"}, "
				  "\"n\": []}"),
			    "{\"k\": {\"$bytes\": \"00ff\"}, \"n\": []}");
	assert_string_equal(again(ctx, "9223372036854775807"),
			    "9223372036854775807");
	/* Past int64: a float. */
	assert_string_equal(again(ctx, "9223372036854775808"),
			    "9.2233720368547758e+18");
	assert_string_equal(again(ctx, "\"\\u0001\""), "\"\\u0001\"");
	talloc_free(ctx);
}

static void test_json_errors(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *v = shade_float(ctx, 1.0 / 0.0);
	shade_error *e = NULL;

	assert_string_equal(error_of(ctx, "[1,", 3),
			    "offset 3: expected a value");
	assert_string_equal(error_of(ctx, "01", 2), "offset 1: leading zero");
	assert_string_equal(error_of(ctx, "1 2", 3),
			    "offset 2: text after the value");
	assert_string_equal(error_of(ctx, "nul", 3),
			    "offset 0: not a JSON value");
	assert_string_equal(error_of(ctx, "\"\\ud800\"", 8),
			    "offset 7: lone high surrogate");
	assert_string_equal(error_of(ctx, "\"a\tb\"", 5),
			    "offset 2: control character in a string");
	assert_string_equal(error_of(ctx, "{\"a\":1,\"a\":2}", 13),
			    "offset 10: duplicate key");
	assert_string_equal(error_of(ctx, "\"\xff\"", 3),
			    "offset 0: string is not valid UTF-8");
	assert_string_equal(error_of(ctx, "{\"$bytes\": \"0g\"}", 16),
			    "offset 16: \"$bytes\" wants a string of hex digits");
	assert_string_equal(error_of(ctx, "[1\0]", 4),
			    "offset 2: expected ',' or ']'");
	/* No JSON form. */
	assert_null(json_format(ctx, v, 0, &e));
	assert_string_equal(e->message, "the float inf has no JSON form "
			    "(use --diag)");
	shade_error_free(e);
	talloc_free(ctx);
}

static void test_json_bad_input_is_safe(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	static const char doc[] = "{\"a\": [1, 2.5e-3, \"x\\u00e9\\ud83d"
		"\\ude00\", {\"$bytes\": \"0aff\"}, null, true], \"b\": -0}";
	static const char alphabet[] = "[]{},:\"\\0123456789.eE-+tfnul "
		"\x80\xff";
	char deep[200], buf[64];
	uint32_t x = 12345;
	size_t i, j;

	/* Every proper prefix is refused, cleanly. */
	for (i = 0; i < sizeof(doc) - 1; i++)
		assert_non_null(error_of(ctx, doc, i));
	for (i = 0; i < 20000; i++) {
		shade_value *v = NULL;
		shade_error *e = NULL;
		size_t n = 1 + i % sizeof(buf);

		for (j = 0; j < n; j++) {
			x = x * 1103515245u + 12345u;
			buf[j] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		if (json_parse(ctx, buf, n, &v, &e) == SHADE_OK)
			talloc_free(v);
		shade_error_free(e);
	}
	memset(deep, '[', sizeof(deep));
	assert_string_equal(error_of(ctx, deep, sizeof(deep)),
			    "offset 65: nested too deep");
	talloc_free(ctx);
}

/* Parse text as diagnostic notation and print it back with the
 * runtime's printer. */
static char *diag_again(TALLOC_CTX *ctx, const char *text)
{
	shade_value *v = NULL;
	char *out;

	assert_ok(diag_parse(ctx, text, strlen(text), &v, errp_));
	out = shade_value_diag(ctx, v);
	talloc_free(v);
	return out;
}

/* The error diag_parse gives for text. */
static char *diag_error(TALLOC_CTX *ctx, const char *text)
{
	return error_with(diag_parse, ctx, text, strlen(text));
}

static void test_json_diag_notation(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	static const char doc[] = "{\"a\": 203([1, -2, h'00ff']), 7: [1.5, "
		"\"x\"], \"n\": [null, true, NaN, -Infinity]}";
	static const char *const bad[][2] = {
		{ "h'0'", "offset 0: h'...' wants pairs of hex digits" },
		{ "h'zz'", "offset 0: h'...' wants pairs of hex digits" },
		{ "h'00", "offset 0: unterminated h'...'" },
		{ "203([1]", "offset 7: expected ')'" },
		{ "200([1, \"T\"])", "offset 0: only tag 203 (a list) is read" },
		{ "undefined", "offset 0: not a diagnostic notation value" },
		{ "{1: 2, 1: 3}", "offset 8: duplicate key" },
		{ "1 2", "offset 2: text after the value" },
	};
	size_t i;

	/* What the runtime prints reads back the same. */
	assert_string_equal(diag_again(ctx, doc), doc);
	assert_string_equal(diag_again(ctx, " h'' "), "h''");
	assert_string_equal(diag_again(ctx, "[]"), "[]");
	assert_string_equal(diag_again(ctx, "203([])"), "203([])");
	assert_string_equal(diag_again(ctx, "Infinity"), "Infinity");
	/* Strict, each with the offset. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(diag_error(ctx, bad[i][0]), bad[i][1]);
	/* A key that cannot be one: the dict's own error. */
	assert_non_null(diag_error(ctx, "{203([1]): 2}"));
	/* Every proper prefix is refused, cleanly. */
	for (i = 0; i < sizeof(doc) - 1; i++)
		assert_non_null(error_with(diag_parse, ctx, doc, i));
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_json_round_trip),
		T(test_json_errors),
		T(test_json_bad_input_is_safe),
		T(test_json_diag_notation),
#undef T
	};

	return SUITE_RUN("json", tests, argc, argv);
}
