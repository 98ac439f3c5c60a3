/*
 * bench/util.c - timing, statistics, sockets, hand-made wire bytes and
 * server processes for the benchmark programs (see bench/bench.h).
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Append one round's value to s. */
void
bench_series_add(bench_series *s, double v)
{
	if (s->n < BENCH_MAX_ROUNDS)
		s->v[s->n++] = v;
}

/* qsort comparison of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median (mean of the middle two for an even count), min and max. */
void
bench_series_summary(const bench_series *s, double *median, double *min,
		     double *max)
{
	double tmp[BENCH_MAX_ROUNDS];

	if (s->n == 0) {
		*median = *min = *max = 0;
		return;
	}
	memcpy(tmp, s->v, (size_t)s->n * sizeof tmp[0]);
	qsort(tmp, (size_t)s->n, sizeof tmp[0], cmp_double);
	*min = tmp[0];
	*max = tmp[s->n - 1];
	*median = s->n % 2 ? tmp[s->n / 2]
			   : (tmp[s->n / 2 - 1] + tmp[s->n / 2]) / 2;
}

/* "unix" or "tcp". */
const char *
bench_net_name(bench_net net)
{
	return net == BENCH_UNIX ? "unix" : "tcp";
}

/* ------------------------------------------------------------ sockets */

/* Turn Nagle's algorithm off on fd; 0 or -1. */
static int
set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Listen on a Unix path or 127.0.0.1:0; see bench.h. */
int
bench_listen(bench_net net, const char *path, int *port)
{
	int fd = socket(net == BENCH_UNIX ? AF_UNIX : AF_INET,
			SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, saved;

	if (fd < 0)
		return -1;
	if (net == BENCH_UNIX) {
		struct sockaddr_un un;

		memset(&un, 0, sizeof un);
		un.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof un.sun_path) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		strcpy(un.sun_path, path);
		if (bind(fd, (struct sockaddr *)&un, sizeof un) != 0)
			goto fail;
	} else {
		struct sockaddr_in in;
		socklen_t len = sizeof in;

		memset(&in, 0, sizeof in);
		in.sin_family = AF_INET;
		in.sin_port = 0;
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof one) != 0 ||
		    set_nodelay(fd) != 0 ||
		    bind(fd, (struct sockaddr *)&in, sizeof in) != 0 ||
		    getsockname(fd, (struct sockaddr *)&in, &len) != 0)
			goto fail;
		*port = ntohs(in.sin_port);
	}
	if (listen(fd, 4096) != 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Connect to "unix:/path" or "tcp:127.0.0.1:port"; see bench.h. */
int
bench_connect(const char *address)
{
	int fd, saved;

	if (strncmp(address, "unix:", 5) == 0) {
		struct sockaddr_un un;

		memset(&un, 0, sizeof un);
		un.sun_family = AF_UNIX;
		if (strlen(address + 5) >= sizeof un.sun_path) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(un.sun_path, address + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&un, sizeof un) != 0)
			goto fail;
		return fd;
	}
	if (strncmp(address, "tcp:127.0.0.1:", 14) == 0) {
		struct sockaddr_in in;
		long port = strtol(address + 14, NULL, 10);

		if (port <= 0 || port > 65535) {
			errno = EINVAL;
			return -1;
		}
		memset(&in, 0, sizeof in);
		in.sin_family = AF_INET;
		in.sin_port = htons((uint16_t)port);
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (set_nodelay(fd) != 0 ||
		    connect(fd, (struct sockaddr *)&in, sizeof in) != 0)
			goto fail;
		return fd;
	}
	errno = EINVAL;
	return -1;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Write all of buf; see bench.h. */
int
bench_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) { /* each pass writes bytes or fails */
		ssize_t w = send(fd, p + done, len - done, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* Read exactly len bytes; see bench.h. */
int
bench_read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) { /* each pass reads bytes or fails */
		ssize_t r = read(fd, p + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Pipelined exchange without write/read deadlock; see bench.h. */
int
bench_exchange(int fd, const uint8_t *out, size_t outlen, uint8_t *in,
	       size_t inlen)
{
	size_t sent = 0, got = 0;

	while (got < inlen) { /* each pass moves bytes or sleeps in poll */
		bool moved = false;
		ssize_t r;

		if (sent < outlen) {
			ssize_t w = send(fd, out + sent, outlen - sent,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0) {
				sent += (size_t)w;
				moved = true;
			} else if (w < 0 && errno != EAGAIN &&
				   errno != EWOULDBLOCK && errno != EINTR) {
				return -1;
			}
		}
		r = recv(fd, in + got, inlen - got,
			 sent < outlen ? MSG_DONTWAIT : 0);
		if (r > 0) {
			got += (size_t)r;
			moved = true;
		} else if (r == 0) {
			errno = ECONNRESET;
			return -1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			   errno != EINTR) {
			return -1;
		}
		if (!moved && sent < outlen) {
			struct pollfd pf = { .fd = fd, .events = POLLIN | POLLOUT };

			if (poll(&pf, 1, 10000) < 0 && errno != EINTR)
				return -1;
		}
	}
	return sent == outlen ? 0 : -1;
}

/* ------------------------------------------------------------ wire bytes */

/* CBOR head in shortest form; see bench.h. */
size_t
bench_cbor_head(uint8_t *p, unsigned major, uint64_t arg)
{
	uint8_t mt = (uint8_t)(major << 5);
	size_t n, i;

	if (arg < 24) {
		p[0] = (uint8_t)(mt | arg);
		return 1;
	}
	if (arg <= 0xff) {
		p[0] = mt | 24;
		n = 1;
	} else if (arg <= 0xffff) {
		p[0] = mt | 25;
		n = 2;
	} else if (arg <= 0xffffffffu) {
		p[0] = mt | 26;
		n = 4;
	} else {
		p[0] = mt | 27;
		n = 8;
	}
	for (i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* Read a CBOR head of one major type; see bench.h. */
size_t
bench_cbor_get(const uint8_t *p, size_t avail, unsigned major, uint64_t *arg)
{
	unsigned info;
	size_t n, i;
	uint64_t v = 0;

	if (avail < 1 || (p[0] >> 5) != major)
		return 0;
	info = p[0] & 31;
	if (info < 24) {
		*arg = info;
		return 1;
	}
	if (info > 27)
		return 0;
	n = (size_t)1 << (info - 24);
	if (avail < 1 + n)
		return 0;
	for (i = 0; i < n; i++)
		v = (v << 8) | p[1 + i];
	*arg = v;
	return 1 + n;
}

/* [3, id, target, member, [a, b]]; see bench.h. */
size_t
bench_add_request_payload(uint8_t *p, uint64_t id, uint64_t a, uint64_t b)
{
	size_t n = 0;

	n += bench_cbor_head(p + n, 4, 5);
	n += bench_cbor_head(p + n, 0, 3);
	n += bench_cbor_head(p + n, 0, id);
	n += bench_cbor_head(p + n, 0, BENCH_ADD_TARGET);
	n += bench_cbor_head(p + n, 0, BENCH_ADD_MEMBER);
	n += bench_cbor_head(p + n, 4, 2);
	n += bench_cbor_head(p + n, 0, a);
	n += bench_cbor_head(p + n, 0, b);
	return n;
}

/* [1, id, sum]; see bench.h. */
size_t
bench_add_reply_payload(uint8_t *p, uint64_t id, uint64_t sum)
{
	size_t n = 0;

	n += bench_cbor_head(p + n, 4, 3);
	n += bench_cbor_head(p + n, 0, 1);
	n += bench_cbor_head(p + n, 0, id);
	n += bench_cbor_head(p + n, 0, sum);
	return n;
}

/* Prefix a payload built at p + 9 with its length head; returns the
 * frame size with the frame moved to p. */
static size_t
frame_at(uint8_t *p, size_t payload_len)
{
	uint8_t head[9];
	size_t h = bench_cbor_head(head, 0, payload_len);

	memmove(p + h, p + 9, payload_len);
	memcpy(p, head, h);
	return h + payload_len;
}

/* Request frame; see bench.h. */
size_t
bench_add_request_frame(uint8_t *p, uint64_t id, uint64_t a, uint64_t b)
{
	return frame_at(p, bench_add_request_payload(p + 9, id, a, b));
}

/* Reply frame; see bench.h. */
size_t
bench_add_reply_frame(uint8_t *p, uint64_t id, uint64_t sum)
{
	return frame_at(p, bench_add_reply_payload(p + 9, id, sum));
}

/* Read one expected unsigned head at *pos, advancing; false on mismatch. */
static bool
take(const uint8_t *p, size_t len, size_t *pos, unsigned major, uint64_t *v)
{
	size_t n = bench_cbor_get(p + *pos, len - *pos, major, v);

	*pos += n;
	return n > 0;
}

/* Parse [3, id, target, member, [a, b]]; see bench.h. */
int
bench_parse_add_request(const uint8_t *p, size_t len, uint64_t *id,
			uint64_t *a, uint64_t *b)
{
	size_t pos = 0;
	uint64_t v, target, member;

	if (!take(p, len, &pos, 4, &v) || v != 5 ||
	    !take(p, len, &pos, 0, &v) || v != 3 ||
	    !take(p, len, &pos, 0, id) ||
	    !take(p, len, &pos, 0, &target) ||
	    !take(p, len, &pos, 0, &member) ||
	    !take(p, len, &pos, 4, &v) || v != 2 ||
	    !take(p, len, &pos, 0, a) || !take(p, len, &pos, 0, b))
		return -1;
	return pos == len ? 0 : -1;
}

/* Parse [1, id, sum]; see bench.h. */
int
bench_parse_add_reply(const uint8_t *p, size_t len, uint64_t *id,
		      uint64_t *sum)
{
	size_t pos = 0;
	uint64_t v;

	if (!take(p, len, &pos, 4, &v) || v != 3 ||
	    !take(p, len, &pos, 0, &v) || v != 1 ||
	    !take(p, len, &pos, 0, id) || !take(p, len, &pos, 0, sum))
		return -1;
	return pos == len ? 0 : -1;
}

/* Split a frame off a buffer; see bench.h. */
int
bench_frame_split(const uint8_t *buf, size_t avail, size_t *hdr, size_t *len)
{
	uint64_t n;
	size_t h;

	if (avail == 0)
		return 0;
	if ((buf[0] >> 5) != 0 || (buf[0] & 31) > 27)
		return -1;
	h = bench_cbor_get(buf, avail, 0, &n);
	if (h == 0)
		return 0;
	if (n == 0 || n > (1u << 24))
		return -1;
	if (avail - h < n)
		return 0;
	*hdr = h;
	*len = (size_t)n;
	return 1;
}

/* Arguments of call i; see bench.h. */
void
bench_call_args(uint64_t i, uint64_t *a, uint64_t *b)
{
	*a = i % 16;
	*b = 2;
}

/* ------------------------------------------------------------ processes */

/* Start a server and wait for READY; see bench.h. */
int
bench_proc_start(bench_proc *p, char *const argv[], int timeout_ms,
		 char *why, size_t whylen)
{
	int fds[2];
	char line[400];
	size_t have = 0;
	double deadline = bench_now() + timeout_ms / 1000.0;

	p->pid = -1;
	p->address[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	p->pid = fork();
	if (p->pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (p->pid == 0) {
		/* the server dies with the driver, whatever ends it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		execv(argv[0], argv);
		fprintf(stderr, "bench: exec %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while (have < sizeof line - 1) { /* bounded by size and deadline */
		struct pollfd pf = { .fd = fds[0], .events = POLLIN };
		int left = (int)((deadline - bench_now()) * 1000);
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			snprintf(why, whylen, "%s: no READY within %d ms",
				 argv[0], timeout_ms);
			goto fail;
		}
		r = read(fds[0], line + have, 1);
		if (r <= 0) {
			snprintf(why, whylen, "%s exited before READY",
				 argv[0]);
			goto fail;
		}
		if (line[have] == '\n')
			break;
		have++;
	}
	line[have] = '\0';
	close(fds[0]);
	if (strncmp(line, "READY", 5) != 0) {
		snprintf(why, whylen, "%s said '%s'", argv[0], line);
		bench_proc_stop(p);
		return -1;
	}
	snprintf(p->address, sizeof p->address, "%s",
		 line[5] == ' ' ? line + 6 : "");
	return 0;
fail:
	close(fds[0]);
	bench_proc_stop(p);
	return -1;
}

/* Stop by pid and reap; see bench.h. */
void
bench_proc_stop(bench_proc *p)
{
	int i, status;

	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	for (i = 0; i < 100; i++) { /* up to 2 s of grace */
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = -1;
			return;
		}
		usleep(20000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = -1;
}

/* Heap bytes in use; see bench.h. */
size_t
bench_heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* The library's large buffers kept by this thread for reuse
 * (runtime/base/bigbuf_int.h): an internal of libshade, which the
 * programs link whole; weak, so a library without it leaves NULL. */
#pragma weak bigbuf_trim
void bigbuf_trim(void);

/* Free this thread's kept buffers; see bench.h. */
void
bench_trim_kept(void)
{
	if (bigbuf_trim != NULL)
		bigbuf_trim();
}

/* Soft RLIMIT_NOFILE up to the hard limit; see bench.h. */
long
bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}
