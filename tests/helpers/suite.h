/*
 * suite.h - the one fixture every runtime suite uses.
 *
 * The group owns one talloc context (passed to each case as *state);
 * every case is wrapped by suite_test_setup/suite_test_teardown, which
 * assert that the context's talloc block count and the number of live
 * object references are back where they were when the case started.
 * A case that wants memory freed for it whatever happens allocates on
 * suite_case_ctx (a child of the group's context made for the case and
 * freed before the check).  SUITE_RUN applies `argv[1]` as a cmocka test
 * filter, so `build/tests/test_x test_x_case` runs one case.
 */
#ifndef SHADE_TEST_SUITE_H
#define SHADE_TEST_SUITE_H

#include <stddef.h>

#include <talloc.h>

#include "shade/error.h"

struct CMUnitTest;

/* The group's context (NULL outside a group). */
extern TALLOC_CTX *suite_ctx;

/* The running case's own context, freed by its teardown (NULL outside a
 * case). */
extern TALLOC_CTX *suite_case_ctx;

/* Run at the start of each case's teardown when set (a suite's own
 * clean-up that must happen even after a failed assertion, such as
 * killing a child process). */
extern void (*suite_case_cleanup)(void);

/* Run fn(arg) at the start of the running case's teardown (before
 * suite_case_cleanup; the last deferred first) unless
 * suite_defer_cancel(fn, arg) was called: the clean-up of something the
 * case made that must not outlive it even when an assertion ends the
 * case early, such as a server's loop thread.  At most SUITE_DEFER_MAX
 * at once. */
#define SUITE_DEFER_MAX 8
void suite_defer(void (*fn)(void *), void *arg);

/* Forget a suite_defer(fn, arg) (the case cleaned up itself). */
void suite_defer_cancel(void (*fn)(void *), void *arg);

/* Group setup: make suite_ctx and hand it to the cases as *state. */
int suite_group_setup(void **state);

/* Group setup for groups whose cases carry their own state (table
 * rows, see SUITE_ROW): make suite_ctx but hand the group no state, as
 * cmocka gives a case the group's state in preference to its own. */
int suite_group_setup_rows(void **state);

/* Group teardown: free suite_ctx and everything left on it. */
int suite_group_teardown(void **state);

/* Case setup: record the block count and the live references, make
 * suite_case_ctx; a case without state gets suite_ctx. */
int suite_test_setup(void **state);

/* Case teardown: run the deferred clean-ups and suite_case_cleanup,
 * free suite_case_ctx, assert the block count and the live references
 * are back. */
int suite_test_teardown(void **state);

/* Run the group `name` of n cases with the fixture, filtered by argv[1]
 * when given; returns the number of failed cases. */
int suite_run(const char *name, const struct CMUnitTest *tests, size_t n,
	      int argc, char **argv);

/* suite_run for a group set up by suite_group_setup_rows: each row
 * gets its own prestate as *state, each SUITE_CASE suite_ctx as in
 * suite_run. */
int suite_run_rows(const char *name, const struct CMUnitTest *tests,
		   size_t n, int argc, char **argv);

/* One case wrapped by the fixture. */
#define SUITE_CASE(f) \
	cmocka_unit_test_setup_teardown(f, suite_test_setup, suite_test_teardown)

/* One table row: the driver f, wrapped by the fixture, gets row as
 * *state (only in a suite_run_rows group).  Name the case after the row
 * by setting .name. */
#define SUITE_ROW(f, row) \
	cmocka_unit_test_prestate_setup_teardown(f, suite_test_setup, \
						 suite_test_teardown, \
						 (void *)(row))

/* suite_run over an array of cases. */
#define SUITE_RUN(name, tests, argc, argv) \
	suite_run(name, tests, sizeof(tests) / sizeof((tests)[0]), argc, argv)

/* Assert a status is SHADE_OK, printing the error otherwise.  `call`
 * may pass `errp_` as its shade_error ** argument. */
#define assert_ok(call) do { \
	shade_error *e_ = NULL; \
	shade_error **errp_ = &e_; \
	shade_status s_ = (call); \
	if (s_ != SHADE_OK) \
		fail_msg("%s: %s: %s", #call, shade_status_name(s_), \
			 e_ ? e_->message : "(no error)"); \
	shade_error_free(e_); \
	(void)errp_; \
} while (0)

#endif /* SHADE_TEST_SUITE_H */
