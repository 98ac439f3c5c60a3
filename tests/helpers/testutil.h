/*
 * testutil.h - helpers shared by the cmocka suites.
 *
 * Temporary directories that remove themselves, children forked to run a
 * function and reaped by pid within a time bound, threads joined within a
 * time bound, deterministic byte patterns, and the monotonic clock.  Every
 * wait here is bounded; nothing calls exit() in the test process itself.
 */
#ifndef SHADE_TESTUTIL_H
#define SHADE_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Milliseconds on the monotonic clock. */
int64_t tu_now_ms(void);

/* True when the suite runs under valgrind or another tool that slows it
 * several times (SHADE_VALGRIND or SHADE_SLOW set; `make check
 * SAN=thread` sets SHADE_SLOW): tests may scale sizes and counts down and
 * bounds up, never skip a case. */
bool tu_under_valgrind(void);

/* A fresh directory under $TMPDIR (or /tmp) on mem_ctx; freeing the
 * returned string removes the directory and everything in it.  NULL on
 * failure. */
char *tu_mkdtemp(void *mem_ctx);

/* Fork a child that runs fn(arg) and ends with its return value as exit
 * status (it never returns into cmocka; it ends by exec'ing /bin/sh so
 * valgrind does not report the inherited heap).  Returns the pid, or -1. */
pid_t tu_fork(int (*fn)(void *arg), void *arg);

/* Wait up to timeout_ms for child pid to end; store its wait status in
 * *status (may be NULL).  Returns true if it ended and was reaped. */
bool tu_wait_child(pid_t pid, int timeout_ms, int *status);

/* Kill child pid with SIGKILL (if still running) and reap it. */
void tu_kill_child(pid_t pid);

/* A child that serves something and says when it is ready: the pipe
 * between it and the test (tu_fork_ready). */
typedef struct tu_ready {
	int fd;       /* the child's write end: one line once it serves
		       * (tu_ready_say), closed by it */
	int other_fd; /* the test's read end, closed in the child */
	pid_t parent; /* the test process */
} tu_ready;

/* Fork a child that runs fn(arg), arg's first member being a tu_ready
 * the child uses; wait up to timeout_ms for its line into line[cap]
 * (newline removed).  The pid, or -1 when it did not say it (then it is
 * killed). */
pid_t tu_fork_ready(int (*fn)(void *arg), tu_ready *arg, char *line,
		    size_t cap, int timeout_ms);

/* In the child, first: close the test's end and die with the test;
 * false when the test is gone already. */
bool tu_ready_child(tu_ready *r);

/* In the child: say the line (a newline is added) and close the pipe. */
void tu_ready_say(tu_ready *r, const char *line);

/* SIGTERM child pid and reap it within timeout_ms (killed if it did not
 * end), forgetting it as tu_live_child; true when it exited with
 * status 0. */
bool tu_stop_child(pid_t pid, int timeout_ms);

/* The child of the running case that its clean-up kills (0: none): a
 * suite sets it when it starts one and clears it once it stopped it. */
extern pid_t tu_live_child;

/* Kill and reap tu_live_child if set (a suite_case_cleanup). */
void tu_reap_live_child(void);

/* A thread that runs fn(arg). */
typedef struct tu_thread {
	pthread_t tid;   /* the thread */
	bool started;    /* pthread_create succeeded */
} tu_thread;

/* Start fn(arg) on a new thread.  Returns 0 or an errno value. */
int tu_thread_start(tu_thread *th, void *(*fn)(void *), void *arg);

/* Join th within timeout_ms; true if it finished.  A thread that does not
 * finish in time is left running (the test then fails). */
bool tu_thread_join(tu_thread *th, int timeout_ms, void **ret);

/* Make the TLS certificates of tests/tls_certs.sh (a CA, a server's,
 * an expired one, one from an unknown CA, a client's) in dir, waiting at
 * most 30 s; the suite runs from the top of the tree.  True on success. */
bool tu_make_certs(const char *dir);

/* Fill buf with n bytes of a pattern determined by seed and position. */
void tu_fill_pattern(uint8_t *buf, size_t n, uint32_t seed);

/* Index of the first byte of buf that differs from the pattern, or n
 * when all n bytes match. */
size_t tu_check_pattern(const uint8_t *buf, size_t n, uint32_t seed);

/* Write all n bytes to fd, retrying EINTR and partial writes and waiting
 * (up to 30 s each time) for POLLOUT on a non-blocking fd.  Returns 0 or
 * -1 with errno.  Writing to a pipe without a reader raises SIGPIPE. */
int tu_write_all(int fd, const void *buf, size_t n);

#endif /* SHADE_TESTUTIL_H */
