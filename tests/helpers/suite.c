/*
 * suite.c - the group fixture shared by the runtime suites (suite.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "object/object_int.h"
#include "suite.h"

TALLOC_CTX *suite_ctx;

/* Block count of suite_ctx when the current case started. */
static size_t blocks_before;
/* Live object references when the current case started. */
static long refs_before;

int suite_group_setup(void **state)
{
	suite_ctx = talloc_new(NULL);
	*state = suite_ctx;
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
	(void)state;
	blocks_before = talloc_total_blocks(suite_ctx);
	refs_before = obj_live_refs();
	return 0;
}

int suite_test_teardown(void **state)
{
	(void)state;
	assert_int_equal(talloc_total_blocks(suite_ctx), blocks_before);
	assert_int_equal(obj_live_refs(), refs_before);
	return 0;
}
