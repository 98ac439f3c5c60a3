/*
 * testutil.c - helpers shared by the cmocka suites (see testutil.h).
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "testutil.h"

int64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool tu_under_valgrind(void)
{
	static const char *const vars[] = { "SHADE_VALGRIND", "SHADE_SLOW" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v != NULL && v[0] != '\0' && strcmp(v, "0") != 0)
			return true;
	}
	return false;
}

/* nftw callback: remove one entry, children first. */
static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Destructor of a tu_mkdtemp() string: remove the tree. */
static int tmpdir_destructor(char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

char *tu_mkdtemp(void *mem_ctx)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	path = talloc_asprintf(mem_ctx, "%s/shade-test-XXXXXX", base);
	if (path == NULL)
		return NULL;
	if (mkdtemp(path) == NULL) {
		talloc_free(path);
		return NULL;
	}
	talloc_set_destructor(path, tmpdir_destructor);
	return path;
}

pid_t tu_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		char code[8];

		/* End through exec so that a leak checker tracing this
		 * process does not report the parent's heap at exit. */
		snprintf(code, sizeof(code), "%d", fn(arg) & 0xff);
		execl("/bin/sh", "sh", "-c", "exit \"$0\"", code, (char *)NULL);
		_exit(atoi(code));
	}
	return pid;
}

pid_t tu_fork_ready(int (*fn)(void *arg), tu_ready *arg, char *line,
		    size_t cap, int timeout_ms)
{
	int fds[2];
	size_t got = 0;
	struct pollfd p;
	ssize_t n;
	pid_t pid;
	char *nl;

	if (cap == 0 || pipe(fds) != 0)
		return -1;
	arg->fd = fds[1];
	arg->other_fd = fds[0];
	arg->parent = getpid();
	pid = tu_fork(fn, arg);
	close(fds[1]);
	p.fd = fds[0];
	p.events = POLLIN;
	line[0] = '\0';
	while (pid > 0 && got < cap - 1 && memchr(line, '\n', got) == NULL) {
		p.revents = 0;
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		n = read(fds[0], line + got, cap - 1 - got);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0)
			got += (size_t)n;
		line[got] = '\0';
	}
	close(fds[0]);
	nl = pid > 0 ? memchr(line, '\n', got) : NULL;
	if (nl == NULL) {
		tu_kill_child(pid);
		return -1;
	}
	*nl = '\0';
	return pid;
}

bool tu_ready_child(tu_ready *r)
{
	close(r->other_fd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return getppid() == r->parent;
}

void tu_ready_say(tu_ready *r, const char *line)
{
	if (r->fd < 0)
		return;
	if (dprintf(r->fd, "%s\n", line) < 0)
		perror("tu_ready_say");
	close(r->fd);
	r->fd = -1;
}

pid_t tu_live_child;

void tu_reap_live_child(void)
{
	if (tu_live_child > 0)
		tu_kill_child(tu_live_child);
	tu_live_child = 0;
}

bool tu_stop_child(pid_t pid, int timeout_ms)
{
	int status = 0;

	if (pid == tu_live_child)
		tu_live_child = 0;
	if (pid <= 0 || kill(pid, SIGTERM) != 0)
		return false;
	if (!tu_wait_child(pid, timeout_ms, &status)) {
		tu_kill_child(pid);
		return false;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The child of tu_make_certs: the script in dir. */
static int certs_main(void *arg)
{
	execl("/bin/sh", "sh", "tests/tls_certs.sh", (const char *)arg,
	      (char *)NULL);
	return 127;
}

bool tu_make_certs(const char *dir)
{
	int status = -1;
	pid_t pid = tu_fork(certs_main, (void *)dir);

	if (pid <= 0)
		return false;
	if (!tu_wait_child(pid, 30000, &status)) {
		tu_kill_child(pid);
		return false;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool tu_wait_child(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	struct timespec nap = { 0, 1000000 };
	pid_t r;
	int st;

	if (pid <= 0)
		return false;
	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (status != NULL)
				*status = st;
			return true;
		}
		if (r < 0 && errno != EINTR)
			return false;
		if (tu_now_ms() >= deadline)
			return false;
		nanosleep(&nap, NULL);
	}
}

void tu_kill_child(pid_t pid)
{
	if (pid <= 0)
		return;
	if (tu_wait_child(pid, 0, NULL))
		return;
	kill(pid, SIGKILL);
	tu_wait_child(pid, 10000, NULL);
}

int tu_thread_start(tu_thread *th, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(&th->tid, NULL, fn, arg);

	th->started = rc == 0;
	return rc;
}

bool tu_thread_join(tu_thread *th, int timeout_ms, void **ret)
{
	struct timespec ts;

	if (!th->started)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(th->tid, ret, &ts) != 0)
		return false;
	th->started = false;
	return true;
}

/* The pattern byte at position i for seed. */
static uint8_t pattern_byte(size_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 2654435761u + seed * 40503u;

	x ^= x >> 13;
	return (uint8_t)(x ^ (x >> 7) ^ (uint32_t)(i >> 8));
}

void tu_fill_pattern(uint8_t *buf, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = pattern_byte(i, seed);
}

size_t tu_check_pattern(const uint8_t *buf, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != pattern_byte(i, seed))
			return i;
	return n;
}

int tu_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, 30000) <= 0)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
