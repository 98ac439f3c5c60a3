/*
 * bench/scale.c - the server at scale (shade-bench-scale, run by `make
 * bench` after shade-bench): one shade server on a thread of this
 * process, on a Unix socket in a fresh directory, and clients on others.
 * Prints one `bench <name> <value> <unit> (goal ...)` line per figure;
 * every ratio is of two values measured in this run.
 *
 *   scale.idle_5000.ratio    a shade client's add() latency with 5 000
 *                            idle connections held over it with none
 *   scale.pipeliner.p99_ratio  that client's p99 while another connection
 *                            pipelines 2 000 000 calls and never reads,
 *                            over its p99 alone
 *   scale.idle_conn.bytes    heap per idle connection, 10 000 held
 *   scale.rss_after_5000.ratio  RSS after 5 000 connections opened and
 *                            closed over RSS before
 *   scale.held_10000_1e6.conn_bytes, .export_bytes  10 000 idle
 *                            connections and 10^6 exports held at once
 *                            (one client holding references to 10^6
 *                            objects the server made): heap per idle
 *                            connection, and the server's export table
 *                            bytes per export (its stats)
 *
 * Idle connections are raw sockets that sent HELLO: no memory of theirs
 * on this side, so the heap and RSS moves are the server's.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"

/* Calls per latency sample. */
#define CALLS 3000

/* The server and its thread. */
static shade_server *srv;
static char sock_path[256];

/* add(a, b). */
static shade_status add_fn(shade_call_ctx *call)
{
	call->result = shade_int(call->mem,
				 shade_value_as_int(shade_seq_at(call->args, 0)) +
				 shade_value_as_int(shade_seq_at(call->args, 1)));
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* make(n): a list of n new objects (each exported as it is sent). */
static shade_status make_fn(shade_call_ctx *call)
{
	int64_t n = shade_value_as_int(shade_seq_at(call->args, 0)), i;
	shade_value *l = shade_list_new(call->mem, (size_t)n);
	shade_ref *o;

	for (i = 0; l != NULL && i < n; i++) {
		if (shade_object_new("bench.Item", NULL, &o, NULL) != SHADE_OK)
			return SHADE_ERR_NOMEM;
		shade_seq_append_take(l, shade_ref_value_take(call->mem, o),
				      NULL);
	}
	if (l != NULL) /* the objects are the figure: the list by value */
		shade_value_set_byvalue(l, true);
	call->result = l;
	return l ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* The server's thread. */
static void *srv_main(void *arg)
{
	(void)arg;
	shade_server_run(srv, NULL);
	return NULL;
}

/* Resident set of this process in bytes (/proc/self/statm). */
static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (size_t)sysconf(_SC_PAGESIZE);
}

/* The HELLO frame: [0, 0, 1, 0]. */
static const uint8_t hello[] = { 0x05, 0x84, 0x00, 0x00, 0x01, 0x00 };

/* A raw connection that said HELLO, or -1. */
static int idle_conn(void)
{
	char addr[300];
	int fd;

	snprintf(addr, sizeof addr, "unix:%s", sock_path);
	fd = bench_connect(addr);
	if (fd >= 0 && bench_write_all(fd, hello, sizeof hello) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A child process holding n idle connections until its stdin-side
 * pipe closes (so they count against its fd limit, not ours); its pid,
 * or -1.  *done is the write end to close. */
static pid_t idle_child(int n, int *done)
{
	int go[2], rd[2];
	pid_t pid;
	char b = 0;

	if (pipe(go) != 0 || pipe(rd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int i;

		close(go[1]);
		for (i = 0; i < n; i++)
			if (idle_conn() < 0)
				_exit(1);
		if (write(rd[1], "R", 1) != 1 || read(go[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(rd[1]);
	if (pid < 0 || read(rd[0], &b, 1) != 1) {
		close(rd[0]);
		close(go[1]);
		return -1;
	}
	close(rd[0]);
	*done = go[1];
	return pid;
}

/* Wait (at most 30 s) until the server holds n connections. */
static void wait_count(size_t n)
{
	double t0 = bench_now();

	while (shade_server_conn_count(srv) != n && bench_now() - t0 < 30)
		usleep(2000);
}

/* A shade client of "calc". */
struct cli {
	shade_conn *c;      /* its connection */
	shade_ref *calc;    /* the proxy */
	TALLOC_CTX *tmp;    /* per call */
};

/* Sort doubles. */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* n calls: mean and p99 latency in us; -1 on failure. */
static int sample(struct cli *k, int n, double *mean, double *p99)
{
	double *lat = calloc((size_t)n, sizeof *lat), sum = 0;
	int i;

	if (lat == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		shade_value *t = shade_tuple_new(k->tmp, 2), *r = NULL;
		shade_value a = shade_value_int(i), b = shade_value_int(1);
		double t0;

		shade_seq_append(t, &a, NULL);
		shade_seq_append(t, &b, NULL);
		t0 = bench_now();
		if (shade_invoke(k->tmp, k->calc, "add", t, NULL, &r, NULL) !=
			    SHADE_OK ||
		    shade_value_as_int(r) != i + 1) {
			free(lat);
			return -1;
		}
		lat[i] = (bench_now() - t0) * 1e6;
		sum += lat[i];
		talloc_free_children(k->tmp);
	}
	qsort(lat, (size_t)n, sizeof *lat, cmp_d);
	*mean = sum / n;
	*p99 = lat[n * 99 / 100];
	free(lat);
	return 0;
}

/* The pipeliner: HELLO, LOOKUP, then 2 000 000 add calls, never
 * reading; stops when its socket is shut down. */
static void *pipeliner(void *arg)
{
	int fd = *(int *)arg;
	static uint8_t buf[1 << 16];
	uint8_t lk[] = { 0x0a, 0x84, 0x07, 0x01, 0x64, 'c', 'a', 'l', 'c' };
	long sent = 0;
	size_t n;

	if (bench_write_all(fd, hello, sizeof hello) != 0 ||
	    bench_write_all(fd, lk, sizeof lk) != 0)
		return NULL;
	while (sent < 2000000) {
		for (n = 0; n + BENCH_ADD_FRAME_MAX <= sizeof buf &&
			    sent < 2000000; sent++) {
			uint64_t a, b;

			bench_call_args((uint64_t)sent, &a, &b);
			n += bench_add_request_frame(buf + n,
						     2 + (uint64_t)sent, a, b);
		}
		if (bench_write_all(fd, buf, n) != 0)
			break;
	}
	return NULL;
}

/* Print a figure against its goal (dir +1: at most, -1: at least). */
static void report(const char *name, double v, const char *unit,
		   int dir, double goal, const char *note)
{
	bool ok = dir > 0 ? v <= goal : v >= goal;

	printf("bench %s %.3g %s (goal %s %g: %s) %s\n", name, v, unit,
	       dir > 0 ? "<=" : ">=", goal, ok ? "met" : "NOT met", note);
	fflush(stdout);
}

/* With n_conns idle connections held (heap0: the heap before them), the
 * client k gets n exports made (make(), 1 000 a call) and holds them;
 * prints the heap per connection then and the export table per export;
 * gives them back.  -1 on failure. */
static int held_exports(struct cli *k, int n, int n_conns, size_t heap0)
{
	TALLOC_CTX *keep = talloc_new(NULL);
	shade_conn_stats st = { 0 };
	size_t heap1, heap2;
	char note[200];
	int got = 0, i;

	heap1 = bench_heap_bytes();
	while (got < n) {
		shade_value *t = shade_tuple_new(k->tmp, 1), *r = NULL;
		shade_value a = shade_value_int(1000);

		shade_seq_append(t, &a, NULL);
		if (shade_invoke(keep, k->calc, "make", t, NULL, &r, NULL) !=
		    SHADE_OK)
			return -1;
		got += 1000;
		talloc_free_children(k->tmp);
	}
	heap2 = bench_heap_bytes();
	/* The server's connection to k: the one with exports. */
	for (i = 0; st.exports == 0 && i <= n_conns; i++) {
		shade_conn *sc = shade_server_conn(srv, (size_t)i);

		if (sc != NULL)
			shade_conn_stats_get(sc, &st);
	}
	snprintf(note, sizeof note, "%d connections and %llu exports held: "
		 "heap +%.1f MiB for the connections, +%.1f MiB for the "
		 "exports (both sides, objects included)", n_conns,
		 (unsigned long long)st.exports, (heap1 - heap0) / 1048576.0,
		 (heap2 - heap1) / 1048576.0);
	report("scale.held_10000_1e6.conn_bytes",
	       (double)(heap1 - heap0) / n_conns, "bytes", 1, 2048, note);
	snprintf(note, sizeof note, "export table %.1f MiB for %llu exports "
		 "(the objects are the application's)",
		 st.export_bytes / 1048576.0, (unsigned long long)st.exports);
	report("scale.held_10000_1e6.export_bytes",
	       st.exports ? (double)st.export_bytes / st.exports : 0, "bytes",
	       1, 64, note);
	talloc_free(keep); /* proxies released: RELEASE frees the exports */
	return st.exports >= (uint64_t)n ? 0 : -1;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int n_idle = 5000, n_mem = quick ? 2000 : 10000;
	int *fds, i, pfd = -1, done = -1;
	pid_t cpid;
	char dir[64] = "/tmp/shade-scale.XXXXXX", addr[300];
	pthread_t th, pt;
	struct cli k;
	shade_ref *calc;
	double m0, p0, m5, p5, mq, pq, mp, pp;
	size_t rss0, rss1, heap0, heap1;
	char note[200];

	signal(SIGPIPE, SIG_IGN);
	if (bench_raise_nofile() < n_idle + 256) {
		printf("bench scale n/a (RLIMIT_NOFILE below %d)\n",
		       n_idle + 256);
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock_path, sizeof sock_path, "%s/s.sock", dir);
	snprintf(addr, sizeof addr, "unix:%s", sock_path);
	fds = calloc((size_t)(n_idle > n_mem ? n_idle : n_mem), sizeof *fds);
	if (fds == NULL ||
	    shade_server_new(NULL, NULL, &srv, NULL) != SHADE_OK ||
	    shade_object_new("bench.Calc", NULL, &calc, NULL) != SHADE_OK ||
	    shade_object_add_method(calc, "add", add_fn, NULL, false, NULL) !=
		    SHADE_OK ||
	    shade_object_add_method(calc, "make", make_fn, NULL, false,
				    NULL) != SHADE_OK ||
	    shade_server_export(srv, "calc", calc, NULL) != SHADE_OK ||
	    shade_server_listen(srv, addr, NULL) != SHADE_OK ||
	    pthread_create(&th, NULL, srv_main, NULL) != 0)
		return 1;
	shade_ref_release(calc);
	k.tmp = talloc_new(NULL);
	if (shade_connect(NULL, addr, NULL, &k.c, NULL) != SHADE_OK ||
	    shade_lookup(k.c, "calc", &k.calc, NULL) != SHADE_OK)
		return 1;
	/* Warm up, then the quiet baseline. */
	if (sample(&k, CALLS, &m0, &p0) != 0 || sample(&k, CALLS, &m0, &p0))
		return 1;
	rss0 = rss_bytes();

	/* 5 000 idle connections held. */
	for (i = 0; i < n_idle; i++)
		if ((fds[i] = idle_conn()) < 0)
			return 1;
	wait_count((size_t)n_idle + 1);
	if (sample(&k, CALLS, &m5, &p5) != 0 || sample(&k, CALLS, &m0, &p0))
		return 1;
	/* again with none, interleaved: the baseline of this moment */
	for (i = 0; i < n_idle; i++)
		close(fds[i]);
	wait_count(1);
	if (sample(&k, CALLS, &m0, &p0) != 0)
		return 1;
	snprintf(note, sizeof note, "%.1f us with %d idle, %.1f us with none",
		 m5, n_idle, m0);
	report("scale.idle_5000.ratio", m5 / m0, "x", 1, 1.2, note);

	/* RSS after the 5 000 came and went (trimmed when quiet). */
	usleep(2500 * 1000);
	rss1 = rss_bytes();
	snprintf(note, sizeof note, "%.1f MiB before, %.1f MiB after",
		 rss0 / 1048576.0, rss1 / 1048576.0);
	report("scale.rss_after_5000.ratio", (double)rss1 / rss0, "x", 1, 1.1,
	       note);

	/* A pipeliner that never reads. */
	if (sample(&k, CALLS, &mq, &pq) != 0)
		return 1;
	pfd = bench_connect(addr);
	if (pfd < 0 || pthread_create(&pt, NULL, pipeliner, &pfd) != 0)
		return 1;
	usleep(100 * 1000);
	if (sample(&k, CALLS, &mp, &pp) != 0)
		return 1;
	shutdown(pfd, SHUT_RDWR);
	pthread_join(pt, NULL);
	close(pfd);
	snprintf(note, sizeof note, "p99 %.1f us beside it, %.1f us quiet "
		 "(means %.1f, %.1f)", pp, pq, mp, mq);
	report("scale.pipeliner.p99_ratio", pp / pq, "x", 1, 2.0, note);

	/* Heap per idle connection, n_mem held, at rest. */
	wait_count(1);
	usleep(1500 * 1000);
	heap0 = bench_heap_bytes();
	cpid = idle_child(n_mem, &done);
	if (cpid < 0)
		return 1;
	wait_count((size_t)n_mem + 1);
	usleep(2500 * 1000); /* past QUIET_MS: buffers given back */
	heap1 = bench_heap_bytes();
	snprintf(note, sizeof note, "%d connections held, heap +%.1f MiB",
		 n_mem, (heap1 - heap0) / 1048576.0);
	report("scale.idle_conn.bytes", (double)(heap1 - heap0) / n_mem,
	       "bytes", 1, 2048, note);

	/* And 10^6 exports beside them, on the bench client's connection. */
	if (held_exports(&k, quick ? 100000 : 1000000, n_mem, heap0) != 0)
		return 1;
	close(done);
	waitpid(cpid, NULL, 0);
	wait_count(1);

	shade_ref_release(k.calc);
	talloc_free(k.c);
	talloc_free(k.tmp);
	shade_server_stop(srv);
	pthread_join(th, NULL);
	talloc_free(srv);
	unlink(sock_path);
	rmdir(dir);
	free(fds);
	return 0;
}
