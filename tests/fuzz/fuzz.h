/*
 * fuzz.h - what every fuzz target shares.
 *
 * Each tests/fuzz/fuzz_<target>.c defines LLVMFuzzerTestOneInput().  Built
 * by `make fuzz` with clang -fsanitize=fuzzer,address,undefined it is a
 * libFuzzer program; tests/test_fuzz_replay.c #includes the same sources
 * with LLVMFuzzerTestOneInput renamed and replays every corpus file and
 * every saved regression input through them under `make check`.
 *
 * Targets are silent (no output), free everything they allocate before
 * returning and check invariants with FUZZ_CHECK.  A broken invariant is
 * a bug of the code under test: under libFuzzer it traps, so the input is
 * saved as a crash; under the replay suite it fails the cmocka test.
 * Static names in a target carry the target's prefix (ff_, fc_, fm_,
 * fx_, fi_) because the replay suite compiles all of them into one file.
 */
#ifndef SHADE_FUZZ_H
#define SHADE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How a broken invariant is reported; the replay suite overrides it. */
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(what) do { \
	fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
		__LINE__, what); \
	__builtin_trap(); \
} while (0)
#endif

/* Check an invariant of the code under test. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) \
		FUZZ_FAIL(#cond); \
} while (0)

#endif /* SHADE_FUZZ_H */
