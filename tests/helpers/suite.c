/*
 * suite.c - the one fixture every runtime suite uses (suite.h).
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "object/object_int.h"
#include "suite.h"

TALLOC_CTX *suite_ctx;
TALLOC_CTX *suite_case_ctx;
void (*suite_case_cleanup)(void);

/* The running case's deferred clean-ups (suite_defer), in order. */
static struct {
	void (*fn)(void *); /* the clean-up */
	void *arg;          /* its argument */
} deferred[SUITE_DEFER_MAX];
/* Entries used in deferred. */
static size_t n_deferred;

/* Block count of suite_ctx when the current case started. */
static size_t blocks_before;
/* Live object references when the current case started. */
static long refs_before;

void suite_defer(void (*fn)(void *), void *arg)
{
	if (n_deferred == SUITE_DEFER_MAX)
		fail_msg("suite_defer: more than %d clean-ups", SUITE_DEFER_MAX);
	deferred[n_deferred].fn = fn;
	deferred[n_deferred++].arg = arg;
}

void suite_defer_cancel(void (*fn)(void *), void *arg)
{
	size_t i;

	for (i = n_deferred; i-- > 0;)
		if (deferred[i].fn == fn && deferred[i].arg == arg) {
			memmove(&deferred[i], &deferred[i + 1],
				(n_deferred - i - 1) * sizeof(deferred[0]));
			n_deferred--;
			return;
		}
}

int suite_group_setup(void **state)
{
	suite_ctx = talloc_new(NULL);
	*state = suite_ctx;
	return suite_ctx ? 0 : -1;
}

int suite_group_setup_rows(void **state)
{
	suite_ctx = talloc_new(NULL);
	*state = NULL;
	return suite_ctx ? 0 : -1;
}

int suite_group_teardown(void **state)
{
	(void)state;
	talloc_free(suite_ctx);
	suite_ctx = NULL;
	return 0;
}

int suite_test_setup(void **state)
{
	if (*state == NULL)
		*state = suite_ctx; /* a plain case in a suite_run_rows group */
	blocks_before = talloc_total_blocks(suite_ctx);
	refs_before = obj_live_refs();
	suite_case_ctx = talloc_new(suite_ctx);
	return suite_case_ctx ? 0 : -1;
}

int suite_test_teardown(void **state)
{
	(void)state;
	while (n_deferred > 0) {
		n_deferred--;
		deferred[n_deferred].fn(deferred[n_deferred].arg);
	}
	if (suite_case_cleanup != NULL)
		suite_case_cleanup();
	TALLOC_FREE(suite_case_ctx);
	assert_int_equal(talloc_total_blocks(suite_ctx), blocks_before);
	assert_int_equal(obj_live_refs(), refs_before);
	return 0;
}

/* Apply filter argv[1] when given; false (after saying so) when it
 * names no case of tests: a run of nothing must not pass. */
static bool apply_filter(const char *name, const struct CMUnitTest *tests,
			 size_t n, int argc, char **argv)
{
	size_t i;

	if (argc <= 1)
		return true;
	for (i = 0; i < n; i++)
		if (fnmatch(argv[1], tests[i].name, 0) == 0)
			break;
	if (i == n) {
		fprintf(stderr, "%s: no case matches '%s'\n", name, argv[1]);
		return false;
	}
	cmocka_set_test_filter(argv[1]);
	return true;
}

int suite_run(const char *name, const struct CMUnitTest *tests, size_t n,
	      int argc, char **argv)
{
	if (!apply_filter(name, tests, n, argc, argv))
		return 1;
	return _cmocka_run_group_tests(name, tests, n, suite_group_setup,
				       suite_group_teardown);
}

int suite_run_rows(const char *name, const struct CMUnitTest *tests,
		   size_t n, int argc, char **argv)
{
	if (!apply_filter(name, tests, n, argc, argv))
		return 1;
	return _cmocka_run_group_tests(name, tests, n, suite_group_setup_rows,
				       suite_group_teardown);
}
