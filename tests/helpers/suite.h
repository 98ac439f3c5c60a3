/*
 * suite.h - the group fixture shared by the runtime suites.
 *
 * The group owns one talloc context (passed to each case as *state);
 * every case is wrapped by suite_test_setup/suite_test_teardown, which
 * assert that the context's talloc block count and the number of live
 * object references are back where they were when the case started.
 */
#ifndef SHADE_TEST_SUITE_H
#define SHADE_TEST_SUITE_H

#include <talloc.h>

#include "shade/error.h"

/* The group's context (NULL outside a group). */
extern TALLOC_CTX *suite_ctx;

/* Group setup: make suite_ctx and hand it to the cases as *state. */
int suite_group_setup(void **state);

/* Group teardown: free suite_ctx and everything left on it. */
int suite_group_teardown(void **state);

/* Case setup: record the block count and the live references. */
int suite_test_setup(void **state);

/* Case teardown: assert both are back where the case started. */
int suite_test_teardown(void **state);

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
