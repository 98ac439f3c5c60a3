/*
 * test_error.c - the status registry and error objects.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/error.h"
#include "helpers/suite.h"

/* Every code has a distinct name that maps back to the same code. */
static void test_error_registry_round_trip(void **state)
{
	int c;

	(void)state;
	for (c = SHADE_ERR_NOMEM; c > SHADE_STATUS_MIN_; c--) {
		const char *name = shade_status_name((shade_status)c);
		shade_status back = shade_status_from_name(name);

		assert_non_null(name);
		assert_int_equal(back, c);
	}
	assert_string_equal(shade_status_name(SHADE_ERR_KEY), "KeyError");
	assert_string_equal(shade_status_name(SHADE_ERR_ZERO_DIVISION),
			    "ZeroDivisionError");
	assert_int_equal(shade_status_from_name("NoSuchThingError"),
			 SHADE_ERR_REMOTE);
	assert_int_equal(shade_status_from_name(NULL), SHADE_ERR_REMOTE);
}

/* Categories as doc/protocol.md (ERROR) and doc/api.md list them. */
static void test_error_categories(void **state)
{
	(void)state;
	assert_int_equal(shade_status_category(SHADE_ERR_CONNECTION_LOST),
			 SHADE_CAT_DISCONNECTED);
	assert_int_equal(shade_status_category(SHADE_ERR_OVERLOADED),
			 SHADE_CAT_OVERLOADED);
	assert_int_equal(shade_status_category(SHADE_ERR_UNIMPLEMENTED),
			 SHADE_CAT_UNIMPLEMENTED);
	assert_int_equal(shade_status_category(SHADE_ERR_KEY),
			 SHADE_CAT_FAILED);
	assert_string_equal(shade_category_name(SHADE_CAT_DISCONNECTED),
			    "disconnected");
	/* Out-of-range codes degrade to RuntimeError, never crash. */
	assert_string_equal(shade_status_name((shade_status)-1000),
			    "RuntimeError");
}

/* The first error wins; the return value is the code; clear resets. */
static void test_error_set_first_wins(void **state)
{
	shade_error *err = NULL;
	size_t before;

	(void)state;
	before = talloc_total_blocks(NULL);
	assert_int_equal(shade_error_set(&err, SHADE_ERR_KEY, "no key %d", 7),
			 SHADE_ERR_KEY);
	assert_non_null(err);
	assert_int_equal(err->code, SHADE_ERR_KEY);
	assert_string_equal(err->name, "KeyError");
	assert_string_equal(err->message, "no key 7");
	assert_int_equal(shade_error_set(&err, SHADE_ERR_VALUE, "later"),
			 SHADE_ERR_VALUE);
	assert_string_equal(err->message, "no key 7");
	shade_error_clear(&err);
	assert_null(err);
	/* A NULL out-parameter is allowed and allocates nothing. */
	assert_int_equal(shade_error_set(NULL, SHADE_ERR_IO, "x"), SHADE_ERR_IO);
	assert_int_equal(talloc_total_blocks(NULL), before);
}

/* Named errors keep an unknown remote name; the chain is described. */
static void test_error_named_chain_describe(void **state)
{
	shade_error *err = NULL;
	char *text;

	(void)state;
	shade_error_set_named(&err, SHADE_ERR_REMOTE, "bank.Overdrawn",
			      "balance %d", -5);
	assert_string_equal(err->name, "bank.Overdrawn");
	assert_int_equal(shade_error_push_frame(err, "server", "Account",
						"withdraw"), SHADE_OK);
	assert_int_equal(shade_error_push_frame(err, "client", NULL, NULL),
			 SHADE_OK);
	assert_int_equal(err->chain_len, 2);
	text = shade_error_describe(NULL, err);
	assert_string_equal(text,
			    "bank.Overdrawn: balance -5 [failed]\n"
			    "  raised at server in Account.withdraw\n"
			    "  raised at client");
	talloc_free(text);
	shade_error_free(err);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_error_registry_round_trip),
		SUITE_CASE(test_error_categories),
		SUITE_CASE(test_error_set_first_wins),
		SUITE_CASE(test_error_named_chain_describe),
	};
	int failed;

	talloc_enable_null_tracking();
	failed = SUITE_RUN("error", tests, argc, argv);
	talloc_disable_null_tracking();
	return failed;
}
