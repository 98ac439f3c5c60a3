/*
 * bench/embed.c - a server driven by the user's own loop (doc/api.md
 * "Driving a server from your own loop"): the same server stepped from a
 * plain epoll loop (shade_server_fd, shade_server_timeout_ms,
 * shade_server_step) against shade_server_run, in the same run:
 *
 *   sync       one client making sync add() calls: calls/s, p50, p99;
 *   pipelined  one connection sending 64 add() futures, then waiting for
 *              them, over and over: calls/s;
 *
 * each with the ratio embedded over run (goal: about 1, the host loop
 * adds one epoll_wait of its own per turn).  Both servers run without
 * workers (threads 1: the loop's thread serves) and with one worker per
 * core.  Each server is a child process (fork, before any thread) on
 * a Unix socket in a fresh directory, stopped by pid.
 *
 *   shade-bench-embed [--quick]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"
#include "child.h"

/* The host loop of an embedded server: epoll on its fd, its timeout. */
static void host_loop(shade_server *s)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, shade_server_fd(s), &ev))
		_exit(3);
	for (;;) {
		(void)epoll_wait(ep, &got, 1, shade_server_timeout_ms(s));
		if (shade_server_step(s, NULL) == SHADE_AGAIN)
			break; /* stopped (SIGTERM) */
	}
	close(ep);
}

/* A server child on address (threads as given; embedded: stepped from
 * host_loop); its pid. */
static pid_t server_start(const char *address, unsigned threads,
			  bool embedded)
{
	shade_server_opts so = { 0 };

	so.threads = threads;
	return bench_child_start(address, &so, "calc", NULL, NULL,
				 embedded ? host_loop : NULL);
}

/* Compare doubles, for qsort. */
static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Connect to address, again for up to 2 s while the server's socket
 * exists but does not listen yet; the proxy of calc. */
static shade_status connect_calc(TALLOC_CTX *ctx, const char *address,
				 shade_ref **o)
{
	shade_conn *c = NULL;
	shade_status st = SHADE_ERR_IO;
	int i;

	for (i = 0; i < 2000; i++) {
		st = shade_connect(ctx, address, NULL, &c, NULL);
		if (st == SHADE_OK)
			break;
		usleep(1000);
	}
	return st == SHADE_OK ? shade_lookup(c, "calc", o, NULL) : st;
}

/* Figures of one server. */
struct figs {
	double sync_cps;  /* sync calls/s */
	double p50, p99;  /* sync latency, us */
	double pipe_cps;  /* pipelined calls/s */
};

/* Sync calls for secs, then 64-deep pipelined calls for secs. */
static bool measure(const char *address, double secs, struct figs *f)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_ref *o = NULL;
	shade_value *t = shade_tuple_new(ctx, 2), *r;
	shade_value a = shade_value_int(2), b = shade_value_int(3);
	shade_future *fu[64];
	size_t cap = 1 << 20, n = 0, done = 0;
	double *lat = malloc(sizeof(double) * cap), t0, until;
	bool ok = false;
	int i;

	shade_seq_append(t, &a, NULL);
	shade_seq_append(t, &b, NULL);
	if (lat == NULL || connect_calc(ctx, address, &o) != SHADE_OK)
		goto out;
	t0 = bench_now();
	until = t0 + secs;
	while (bench_now() < until && n < cap) {
		double c0 = bench_now();

		r = NULL;
		if (shade_invoke(ctx, o, "add", t, NULL, &r, NULL) != SHADE_OK)
			goto out;
		talloc_free(r);
		lat[n++] = (bench_now() - c0) * 1e6;
	}
	f->sync_cps = (double)n / (bench_now() - t0);
	qsort(lat, n, sizeof(*lat), cmp_dbl);
	f->p50 = lat[n / 2];
	f->p99 = lat[(size_t)(0.99 * (double)(n - 1))];
	t0 = bench_now();
	until = t0 + secs;
	while (bench_now() < until) {
		for (i = 0; i < 64; i++)
			if (shade_invoke_async(ctx, o, "add", t, NULL, &fu[i],
					       NULL) != SHADE_OK)
				goto out;
		for (i = 0; i < 64; i++) {
			r = NULL;
			if (shade_future_wait(ctx, fu[i], 10000, &r, NULL) !=
			    SHADE_OK)
				goto out;
			talloc_free(r);
			talloc_free(fu[i]);
			done++;
		}
	}
	f->pipe_cps = (double)done / (bench_now() - t0);
	ok = true;
out:
	if (o != NULL)
		shade_ref_release(o);
	free(lat);
	talloc_free(ctx);
	return ok;
}

/* One server: start, measure, stop; false (said why) when it failed. */
static bool one(const char *dir, const char *tag, unsigned threads,
		bool embedded, double secs, struct figs *f)
{
	char *path = talloc_asprintf(NULL, "%s/%s.sock", dir, tag);
	char *addr = talloc_asprintf(path, "unix:%s", path);
	pid_t pid = server_start(addr, threads, embedded);
	struct stat st;
	int i, status;
	bool ok = false;

	for (i = 0; i < 5000 && stat(path, &st) != 0; i++)
		usleep(1000);
	if (i < 5000)
		ok = measure(addr, secs, f);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	unlink(path);
	talloc_free(path);
	if (!ok)
		printf("bench embed.%s n/a (a call failed)\n", tag);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name; /* in the output */
		unsigned threads; /* server option */
	} kinds[] = { { "t1", 1 }, { "workers", SHADE_SERVER_THREADS_CORES } };
	char tmpl[] = "/tmp/shade-bench-embed-XXXXXX";
	double secs = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 0.5 : 2;
	struct figs run, emb;
	unsigned k;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char *rt = talloc_asprintf(NULL, "%s.run", kinds[k].name);
		char *et = talloc_asprintf(rt, "%s.epoll", kinds[k].name);

		if (one(tmpl, rt, kinds[k].threads, false, secs, &run) &&
		    one(tmpl, et, kinds[k].threads, true, secs, &emb)) {
			printf("bench embed.%s.sync %.0f calls/s p50 %.1f us "
			       "p99 %.1f us (shade_server_run)\n", rt,
			       run.sync_cps, run.p50, run.p99);
			printf("bench embed.%s.sync %.0f calls/s p50 %.1f us "
			       "p99 %.1f us (stepped from epoll)\n", et,
			       emb.sync_cps, emb.p50, emb.p99);
			printf("bench embed.%s.sync_ratio %.2f x (epoll over "
			       "run; goal about 1)\n", kinds[k].name,
			       emb.sync_cps / run.sync_cps);
			printf("bench embed.%s.pipelined %.0f calls/s "
			       "(shade_server_run)\n", rt, run.pipe_cps);
			printf("bench embed.%s.pipelined %.0f calls/s "
			       "(stepped from epoll)\n", et, emb.pipe_cps);
			printf("bench embed.%s.pipelined_ratio %.2f x (epoll "
			       "over run; goal about 1)\n", kinds[k].name,
			       emb.pipe_cps / run.pipe_cps);
		}
		talloc_free(rt);
	}
	rmdir(tmpl);
	return 0;
}
