/*
 * bench/bench.h - shared pieces of the shade benchmark programs.
 *
 * The harness is two programs built into $(BUILD)/bench/:
 *
 *   shade-bench          the driver and every client: starts the servers,
 *                        runs the variants in interleaved rounds, prints
 *                        one `bench <name> <value> <unit>` line per figure
 *                        and then a table (bench/bench.c);
 *   shade-bench-server   one server process per variant and transport:
 *                        raw sockets, shade's transport layer alone, or a
 *                        full shade connection (bench/server.c).
 *
 * The raw baselines speak the very bytes shade puts on the wire for
 * add(a, b) (doc/protocol.md §3.3): the request frame
 * `len [3, id, target, member, [a, b]]` and the reply `len [1, id, sum]`,
 * so comparing them with shade isolates shade's own overhead.  They are
 * encoded here by hand, without the shade codec.
 *
 * Entry points of runtime modules that may not be in the library yet are
 * declared weak (bench/weak.h): the programs link with the whole archive,
 * test the function's address at run time and report a figure whose API
 * is missing as `n/a (reason)` instead of failing to build.
 */
#ifndef SHADE_BENCH_H
#define SHADE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest add() request or reply frame we build (head + payload). */
#define BENCH_ADD_FRAME_MAX 40

/* Export id and member index the raw baselines address, as shade does
 * for the first object a client looks up and its first member. */
#define BENCH_ADD_TARGET 1
#define BENCH_ADD_MEMBER 0

/* Most rounds a series keeps. */
#define BENCH_MAX_ROUNDS 64

/* Which socket family a benchmark runs over. */
typedef enum bench_net {
	BENCH_UNIX = 0, /* AF_UNIX stream socket in a fresh mkdtemp dir */
	BENCH_TCP = 1   /* TCP on 127.0.0.1, port chosen by the kernel */
} bench_net;

/* The values of one figure, one per round, and their summary. */
typedef struct bench_series {
	double v[BENCH_MAX_ROUNDS]; /* per-round values, in run order */
	int n;                      /* values stored */
} bench_series;

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Append one round's value (ignored beyond BENCH_MAX_ROUNDS). */
void bench_series_add(bench_series *s, double v);

/* Median, minimum and maximum of s (all 0 when empty). */
void bench_series_summary(const bench_series *s, double *median,
			  double *min, double *max);

/* "unix" or "tcp". */
const char *bench_net_name(bench_net net);

/* ------------------------------------------------------------ sockets */

/*
 * Listen on a Unix socket at `path` or on 127.0.0.1 port 0 (tcp).
 * Returns the listening fd (TCP_NODELAY set, inherited by accepted
 * sockets) or -1 with errno set; *port gets the bound TCP port.
 */
int bench_listen(bench_net net, const char *path, int *port);

/*
 * Connect to "unix:/path" or "tcp:127.0.0.1:port" (only those forms);
 * TCP gets TCP_NODELAY.  Returns the fd or -1 with errno set.
 */
int bench_connect(const char *address);

/* Write all len bytes (EINTR retried); 0 or -1 with errno set. */
int bench_write_all(int fd, const void *buf, size_t len);

/* Read exactly len bytes; 0, or -1 (errno set; ECONNRESET on EOF). */
int bench_read_all(int fd, void *buf, size_t len);

/*
 * Send out[0..outlen) and receive exactly inlen bytes into in, never
 * blocking on a write while replies are waiting to be read (so a large
 * pipelined batch cannot deadlock).  0, or -1 with errno set.
 */
int bench_exchange(int fd, const uint8_t *out, size_t outlen, uint8_t *in,
		   size_t inlen);

/* ------------------------------------------------------------ wire bytes */

/* Write a CBOR head (major type, argument) in shortest form at p; returns
 * its size (1..9). */
size_t bench_cbor_head(uint8_t *p, unsigned major, uint64_t arg);

/*
 * Read a CBOR head of major type `major` at p[0..avail); returns its
 * size and stores the argument in *arg, or 0 when it is incomplete or of
 * another major type.
 */
size_t bench_cbor_get(const uint8_t *p, size_t avail, unsigned major,
		      uint64_t *arg);

/* Encode the payload of `[3, id, target, member, [a, b]]` (a, b >= 0) at
 * p; returns its size. */
size_t bench_add_request_payload(uint8_t *p, uint64_t id, uint64_t a,
				 uint64_t b);

/* Encode the payload of `[1, id, sum]` at p; returns its size. */
size_t bench_add_reply_payload(uint8_t *p, uint64_t id, uint64_t sum);

/* A whole frame (length head + payload) of the request; returns its
 * size. */
size_t bench_add_request_frame(uint8_t *p, uint64_t id, uint64_t a,
			       uint64_t b);

/* A whole frame of the reply; returns its size. */
size_t bench_add_reply_frame(uint8_t *p, uint64_t id, uint64_t sum);

/*
 * Parse an add request payload: 0 and *id, *a, *b set, or -1 when the
 * payload is not exactly that message.
 */
int bench_parse_add_request(const uint8_t *p, size_t len, uint64_t *id,
			    uint64_t *a, uint64_t *b);

/* Parse a reply payload `[1, id, sum]`: 0 or -1. */
int bench_parse_add_reply(const uint8_t *p, size_t len, uint64_t *id,
			  uint64_t *sum);

/*
 * Split one frame off buf[0..avail): 1 with *hdr and *len (payload
 * length) set when it is complete, 0 when more bytes are needed, -1 on a
 * malformed head.
 */
int bench_frame_split(const uint8_t *buf, size_t avail, size_t *hdr,
		      size_t *len);

/* The arguments of call number i: small (one CBOR byte each), varied and
 * checkable, so every request is the size of add(1, 2)'s. */
void bench_call_args(uint64_t i, uint64_t *a, uint64_t *b);

/* ------------------------------------------------------------ processes */

/* A server process started by the driver. */
typedef struct bench_proc {
	pid_t pid;          /* its pid, or -1 once reaped */
	char address[512];  /* what it printed after READY */
} bench_proc;

/*
 * Start `argv` (argv[0] a path) with stdout on a pipe and wait up to
 * timeout_ms for its line "READY <address>".  0 on success; -1 with a
 * message in why[0..whylen) (the child is then stopped and reaped).
 */
int bench_proc_start(bench_proc *p, char *const argv[], int timeout_ms,
		     char *why, size_t whylen);

/* Stop p by its pid (SIGTERM, then SIGKILL after a grace period) and reap
 * it.  Harmless when already stopped. */
void bench_proc_stop(bench_proc *p);

/* Bytes of heap in use in this process (glibc mallinfo2: every malloc
 * chunk, talloc's included, with malloc's own overhead). */
size_t bench_heap_bytes(void);

/* Free the large buffers the library keeps for reuse in this thread (a
 * received frame, a large list's storage: at most four, freed anyway
 * after two idle seconds), so that a heap reading counts what lives, not
 * what waits to be reused. */
void bench_trim_kept(void);

/* Raise RLIMIT_NOFILE's soft limit to its hard limit; returns the new
 * soft limit. */
long bench_raise_nofile(void);

#endif /* SHADE_BENCH_H */
