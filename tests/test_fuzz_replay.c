/*
 * test_fuzz_replay.c - every fuzz corpus file and every saved regression
 * input, replayed through the fuzz targets' own entry points under the
 * normal build (no libFuzzer), so `make check`, `make check SAN=1` and
 * `make valgrind` keep them passing.
 *
 * The targets are #included with LLVMFuzzerTestOneInput renamed, and
 * FUZZ_FAIL turned into a cmocka failure naming the broken invariant.
 * For each target the suite replays tests/fuzz/corpus/<target>/ and
 * tests/fuzz/regress/<target>/ (inputs that once found a bug).  An
 * input of a bug not fixed yet is not kept aside: it goes to regress/
 * with its fix.
 *
 * Each case checks that the talloc blocks of the group context and the
 * references alive in the process are back where they started.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "object/object_int.h"

/* Which input is being replayed (for failure messages). */
static char replay_path[1024];

#define FUZZ_FAIL(what) \
	fail_msg("%s: invariant broken: %s (%s:%d)", replay_path, what, \
		 __FILE__, __LINE__)

#define LLVMFuzzerTestOneInput fuzz_frame_one
#include "fuzz/fuzz_frame.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cbor_one
#include "fuzz/fuzz_cbor.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_msg_one
#include "fuzz/fuzz_msg.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_conn_one
#include "fuzz/fuzz_conn.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_client_one
#include "fuzz/fuzz_client.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_idl_one
#include "fuzz/fuzz_idl.c"
#include "helpers/suite.h"
#undef LLVMFuzzerTestOneInput

/* A fuzz entry point. */
typedef int (*replay_fn)(const uint8_t *data, size_t size);

/* The group fixture and assert_ok: helpers/suite.h. */

/* Read a whole file onto ctx; NULL when it cannot be read. */
static uint8_t *read_input(TALLOC_CTX *ctx, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = talloc_size(ctx, (size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			talloc_free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* Replay every file of dir (absent: none) through fn; returns how many. */
static unsigned replay_dir(TALLOC_CTX *ctx, const char *dir, replay_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		uint8_t *buf;
		size_t len = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(replay_path, sizeof(replay_path), "%s/%s", dir,
			 de->d_name);
		buf = read_input(ctx, replay_path, &len);
		if (buf == NULL)
			fail_msg("cannot read %s", replay_path);
		fn(buf, len);
		talloc_free(buf);
		n++;
	}
	closedir(d);
	return n;
}

/* Replay the corpus and regression inputs of one target. */
static void replay_target(void **state, const char *name, replay_fn fn)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char dir[256];
	unsigned n;

	snprintf(dir, sizeof(dir), "tests/fuzz/corpus/%s", name);
	n = replay_dir(ctx, dir, fn);
	snprintf(dir, sizeof(dir), "tests/fuzz/regress/%s", name);
	replay_dir(ctx, dir, fn);
	/* Run from the top of the tree: the seeds must be there. */
	assert_true(n > 0);
	talloc_free(ctx);
}

static void test_fuzz_replay_frame(void **state)
{
	replay_target(state, "frame", fuzz_frame_one);
}

static void test_fuzz_replay_cbor(void **state)
{
	replay_target(state, "cbor", fuzz_cbor_one);
}

static void test_fuzz_replay_msg(void **state)
{
	replay_target(state, "msg", fuzz_msg_one);
}

static void test_fuzz_replay_conn(void **state)
{
	replay_target(state, "conn", fuzz_conn_one);
}

static void test_fuzz_replay_client(void **state)
{
	replay_target(state, "client", fuzz_client_one);
}

static void test_fuzz_replay_idl(void **state)
{
	replay_target(state, "idl", fuzz_idl_one);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest all[] = {
		SUITE_CASE(test_fuzz_replay_frame),
		SUITE_CASE(test_fuzz_replay_cbor),
		SUITE_CASE(test_fuzz_replay_msg),
		SUITE_CASE(test_fuzz_replay_conn),
		SUITE_CASE(test_fuzz_replay_client),
		SUITE_CASE(test_fuzz_replay_idl),
	};
	int rc;

	talloc_enable_null_tracking();
	rc = SUITE_RUN("fuzz_replay", all, argc, argv);
	talloc_disable_null_tracking();
	return rc;
}
