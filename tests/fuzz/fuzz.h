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
 * Static names in a target carry the target's prefix (ff_, fc_, fm_, fl_,
 * fx_, fi_) because the replay suite compiles all of them into one file.
 */
#ifndef SHADE_FUZZ_H
#define SHADE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/transport.h"

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

/* Check a status against its error object: none on success, one
 * carrying the same code and a message on failure (freed here).
 * Returns st. */
static inline shade_status fuzz_status(shade_status st, shade_error *e)
{
	if (st == SHADE_OK) {
		FUZZ_CHECK(e == NULL);
	} else {
		FUZZ_CHECK(st < 0);
		FUZZ_CHECK(e != NULL && e->code == st && e->message != NULL);
		shade_error_free(e);
	}
	return st;
}

/*
 * The next frame of a byte stream s[0..n-1] at *pos (frames with their
 * length heads, as on a socket), copied onto mem_ctx: what a user
 * transport's recv hands the connection.  At the end of the stream, or
 * when it stops inside a frame: ConnectionLost, as a closed socket; a
 * bad head: the header decoder's error.  Either way the stream is then
 * used up.
 */
static inline shade_status fuzz_next_frame(const uint8_t *s, size_t n,
					   size_t *pos, size_t max,
					   void *mem_ctx, uint8_t **frame,
					   size_t *len, shade_error **err)
{
	uint64_t flen = 0;
	size_t hl = 0;
	shade_status st;

	if (*pos >= n)
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "peer closed");
	st = shade_frame_header_decode(s + *pos, n - *pos, max, &flen, &hl,
				       err);
	if (st == SHADE_AGAIN || (st == SHADE_OK && flen > n - *pos - hl)) {
		*pos = n;
		return shade_error_set(err, SHADE_ERR_CONNECTION_LOST,
				       "peer closed mid-frame");
	}
	if (st != SHADE_OK) {
		*pos = n;
		return st;
	}
	*frame = talloc_memdup(mem_ctx, s + *pos + hl, flen);
	if (*frame == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	*len = flen;
	*pos += hl + flen;
	return SHADE_OK;
}

#endif /* SHADE_FUZZ_H */
