/*
 * bench/pool.c - a server's worker pool (shade_server_opts.threads):
 * the figures of doc/api.md "Threads on a server", each measured against
 * the same server without workers in the same run.
 *
 *   isolation   a fast client's p50/p99 of add() while another connection
 *               calls slow() (a handler sleeping 10 ms) over and over,
 *               against its p99 with nothing else running: the ratio,
 *               with and without workers (goal with workers: <= 2);
 *   scaling     1, 4, 16, 64 clients (a thread and a connection each)
 *               making sync add() calls for a while: total calls/s, p50,
 *               p99, and calls/s of 16 clients over 1 client (goal on 2
 *               cores with workers: >= 1.6);
 *   pipelined   one connection keeping 64 add() futures in flight: calls/s
 *               with workers over without (goal: not below 1).
 *
 * Each server is a child process (fork, before any thread), listening on
 * a Unix socket in a fresh directory, stopped by pid.  Output: one
 * `bench pool.<figure> <value> <unit>` line per figure.
 *
 *   shade-bench-pool [--quick] [--threads N] [--scaling K]
 *
 * --scaling K runs only the scaling figure at K clients (a server with
 * one thread, then one with N), for profiling one load.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"
#include "child.h"

/* slow(): a handler that sleeps 10 ms (blocking work of its own). */
static shade_status h_slow(shade_call_ctx *call)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	(void)call;
	nanosleep(&ts, NULL);
	return SHADE_OK;
}

/* Start a server child with `threads` workers on `address`; its pid. */
static pid_t server_start(const char *address, unsigned threads)
{
	shade_server_opts so = { 0 };

	so.threads = threads;
	return bench_child_start(address, &so, "pool", "slow", h_slow, NULL);
}

/* Wait (bounded) until the child's socket exists. */
static bool server_ready(const char *path)
{
	struct stat st;
	int i;

	for (i = 0; i < 5000; i++) {
		if (stat(path, &st) == 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* Stop the child by pid and reap it. */
static void server_stop(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/* A server child and its address. */
struct srv {
	char *path;   /* its socket (talloc; the other strings hang below) */
	char *addr;   /* "unix:" path */
	pid_t pid;    /* the child */
};

/* Start a server child with `threads` workers on DIR/TAG<threads>.sock
 * and wait until it listens; false (after saying why, the child stopped)
 * when it did not start. */
static bool srv_up(struct srv *sv, const char *dir, const char *tag,
		   unsigned threads)
{
	sv->path = talloc_asprintf(NULL, "%s/%s%u.sock", dir, tag, threads);
	sv->addr = talloc_asprintf(sv->path, "unix:%s", sv->path);
	sv->pid = server_start(sv->addr, threads);
	if (server_ready(sv->path))
		return true;
	printf("bench pool.%s.t%u n/a (server did not start)\n", tag,
	       threads);
	server_stop(sv->pid);
	talloc_free(sv->path);
	return false;
}

/* Stop the child of sv and free its strings. */
static void srv_down(struct srv *sv)
{
	server_stop(sv->pid);
	talloc_free(sv->path);
}

/* Compare doubles, for qsort. */
static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of v[0..n) (sorted here). */
static double quantile(double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_dbl);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i];
}

/* One client: a connection, its proxy, its latencies (us). */
struct client {
	const char *address;  /* where */
	const char *method;   /* "add" or "slow" */
	double until;         /* stop at this time (bench_now) */
	int max_calls;        /* or after this many (0: no bound) */
	volatile int *stop;   /* or when this turns non-zero */
	double *lat;          /* latencies (malloc), may be NULL */
	size_t cap;           /* room in lat */
	size_t n;             /* calls made */
	int failed;           /* a call failed */
	pthread_mutex_t *go_mu; /* start together */
	pthread_cond_t *go_cv;  /* start together */
	int *go;                /* start together */
};

/* Connect to address, again for up to 2 s while the server's socket
 * exists but does not listen yet. */
static shade_status bench_connect_retry(TALLOC_CTX *ctx, const char *address,
					shade_conn **c)
{
	shade_status st = SHADE_ERR_IO;
	int i;

	for (i = 0; i < 2000; i++) {
		st = shade_connect(ctx, address, NULL, c, NULL);
		if (st == SHADE_OK)
			break;
		usleep(1000);
	}
	return st;
}

/* Body of a client thread: sync calls until told to stop. */
static void *client_main(void *arg)
{
	struct client *cl = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_ref *o = NULL;
	shade_value *t = shade_tuple_new(ctx, 2), *r;
	shade_value a = shade_value_int(2), b = shade_value_int(3);

	shade_seq_append(t, &a, NULL);
	shade_seq_append(t, &b, NULL);
	if (bench_connect_retry(ctx, cl->address, &c) != SHADE_OK ||
	    shade_lookup(c, "pool", &o, NULL) != SHADE_OK) {
		cl->failed = 1;
		talloc_free(ctx);
		return NULL;
	}
	if (cl->go != NULL) {
		pthread_mutex_lock(cl->go_mu);
		while (!*cl->go)
			pthread_cond_wait(cl->go_cv, cl->go_mu);
		pthread_mutex_unlock(cl->go_mu);
	}
	for (;;) {
		double t0 = bench_now(), t1;

		if (t0 >= cl->until || (cl->stop != NULL && *cl->stop) ||
		    (cl->max_calls > 0 && (int)cl->n >= cl->max_calls))
			break;
		r = NULL;
		if (shade_invoke(ctx, o, cl->method, t, NULL, &r, NULL) !=
		    SHADE_OK) {
			cl->failed = 1;
			break;
		}
		talloc_free(r);
		t1 = bench_now();
		if (cl->lat != NULL && cl->n < cl->cap)
			cl->lat[cl->n] = (t1 - t0) * 1e6;
		cl->n++;
	}
	shade_ref_release(o);
	talloc_free(ctx);
	return NULL;
}

/* Isolation with `threads` workers: the fast client's p99 quiet and
 * beside a slow() caller; prints both and their ratio. */
static void isolation(const char *dir, unsigned threads, int calls)
{
	struct srv sv;
	struct client fast = { 0 }, slow = { 0 };
	volatile int stop = 0;
	pthread_t th;
	double p50q, p99q, p50l, p99l;

	if (!srv_up(&sv, dir, "isolation", threads))
		return;
	fast.address = sv.addr;
	fast.method = "add";
	fast.until = bench_now() + 60;
	fast.max_calls = calls;
	fast.cap = (size_t)calls;
	fast.lat = calloc(fast.cap, sizeof(double));
	client_main(&fast);
	p50q = quantile(fast.lat, fast.n, 0.50);
	p99q = quantile(fast.lat, fast.n, 0.99);
	slow.address = sv.addr;
	slow.method = "slow";
	slow.until = bench_now() + 120;
	slow.stop = &stop;
	pthread_create(&th, NULL, client_main, &slow);
	usleep(50 * 1000); /* the slow calls run */
	fast.n = 0;
	fast.until = bench_now() + 60;
	client_main(&fast);
	stop = 1;
	pthread_join(th, NULL);
	p50l = quantile(fast.lat, fast.n, 0.50);
	p99l = quantile(fast.lat, fast.n, 0.99);
	printf("bench pool.isolation.t%u.quiet.p50 %.1f us\n", threads, p50q);
	printf("bench pool.isolation.t%u.quiet.p99 %.1f us\n", threads, p99q);
	printf("bench pool.isolation.t%u.loaded.p50 %.1f us\n", threads, p50l);
	printf("bench pool.isolation.t%u.loaded.p99 %.1f us\n", threads, p99l);
	printf("bench pool.isolation.t%u.p99_ratio %.2f x (goal <= 2 with "
	       "workers; %zu slow calls meanwhile%s)\n", threads,
	       p99q > 0 ? p99l / p99q : 0, slow.n,
	       fast.failed || slow.failed ? ", A CALL FAILED" : "");
	free(fast.lat);
	srv_down(&sv);
}

/* One scaling round's figures. */
struct round {
	double rate;   /* calls/s */
	double p50;    /* us */
	double p99;    /* us */
	double cpu;    /* the server's CPU time per call, us */
	int failed;    /* a call failed */
};

/* CPU time the process pid has used (user and system), in seconds; 0
 * when /proc cannot say. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's closing parenthesis: fields 3 on; utime and
	 * stime are fields 14 and 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Scaling with `threads` workers: k clients for `secs` against the
 * server child pid on addr; its figures. */
static struct round scaling_run(const char *addr, pid_t pid, int k,
				double secs)
{
	double cpu0;
	struct round out;
	struct client *cl = calloc((size_t)k, sizeof(*cl));
	pthread_t *th = calloc((size_t)k, sizeof(*th));
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	int go = 0, i, failed = 0;
	size_t total = 0, all = 0, cap = 200000 / (size_t)k + 1000, j;
	double t0, t1, *lat, rate;

	for (i = 0; i < k; i++) {
		cl[i].address = addr;
		cl[i].method = "add";
		cl[i].until = 1e300;
		cl[i].cap = cap;
		cl[i].lat = calloc(cap, sizeof(double));
		cl[i].go_mu = &mu;
		cl[i].go_cv = &cv;
		cl[i].go = &go;
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	usleep(100 * 1000 + 2000 * (unsigned)k); /* all connected */
	pthread_mutex_lock(&mu);
	cpu0 = proc_cpu(pid);
	t0 = bench_now();
	for (i = 0; i < k; i++)
		cl[i].until = t0 + secs;
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < k; i++)
		pthread_join(th[i], NULL);
	t1 = bench_now();
	out.cpu = proc_cpu(pid) - cpu0;
	for (i = 0; i < k; i++) {
		total += cl[i].n;
		failed |= cl[i].failed;
	}
	lat = calloc(total + 1, sizeof(double));
	for (i = 0; i < k; i++) {
		for (j = 0; j < cl[i].n && j < cl[i].cap; j++)
			lat[all++] = cl[i].lat[j];
		free(cl[i].lat);
	}
	rate = (double)total / (t1 - t0);
	out.rate = rate;
	out.cpu = total > 0 ? out.cpu * 1e6 / (double)total : 0;
	out.p50 = quantile(lat, all, 0.5);
	out.p99 = quantile(lat, all, 0.99);
	out.failed = failed;
	free(lat);
	free(cl);
	free(th);
	return out;
}

/* Compare rounds by calls/s, for qsort. */
static int cmp_round(const void *a, const void *b)
{
	double x = ((const struct round *)a)->rate;
	double y = ((const struct round *)b)->rate;

	return x < y ? -1 : x > y;
}

/* Print the median of n rounds of k clients (sorted here); its calls/s. */
static double round_print(unsigned threads, int k, struct round *r, int n)
{
	struct round *m;
	int i, failed = 0;

	qsort(r, (size_t)n, sizeof(*r), cmp_round);
	m = &r[n / 2];
	for (i = 0; i < n; i++)
		failed |= r[i].failed;
	printf("bench pool.scaling.t%u.c%d %.0f calls/s p50 %.1f us p99 "
	       "%.1f us server CPU %.1f us/call (median of %d rounds, "
	       "%.0f-%.0f)%s\n", threads, k, m->rate, m->p50, m->p99, m->cpu,
	       n, r[0].rate, r[n - 1].rate, failed ? " (A CALL FAILED)" : "");
	return m->rate;
}

/* Rounds of the scaling figure: each round runs every client count
 * once, starting at a different one, so a change in what else runs on
 * the machine falls on all counts alike and the ratio of medians stays
 * (one pass in a row swung 0.9-2.4 x between runs). */
#define SCALING_ROUNDS 5

/* Scaling: 1, 4, 16, 64 clients against a server with `threads`, in
 * SCALING_ROUNDS interleaved rounds of `secs` each; medians. */
static void scaling(const char *dir, unsigned threads, double secs)
{
	static const int ks[] = { 1, 4, 16, 64 };
	enum { NK = sizeof(ks) / sizeof(ks[0]) };
	struct round r[NK][SCALING_ROUNDS];
	struct srv sv;
	double r1 = 0, r16 = 0, rate;
	int i, j;

	if (!srv_up(&sv, dir, "scaling", threads))
		return;
	for (j = 0; j < SCALING_ROUNDS; j++)
		for (i = 0; i < NK; i++) {
			int x = (i + j) % NK;

			r[x][j] = scaling_run(sv.addr, sv.pid, ks[x],
						 secs);
		}
	for (i = 0; i < NK; i++) {
		rate = round_print(threads, ks[i], r[i], SCALING_ROUNDS);
		if (ks[i] == 1)
			r1 = rate;
		if (ks[i] == 16)
			r16 = rate;
	}
	printf("bench pool.scaling.t%u.c16_over_c1 %.2f x (goal >= 1.6 with "
	       "workers on 2 cores)\n", threads, r1 > 0 ? r16 / r1 : 0);
	srv_down(&sv);
}

/* Pipelined: one connection, `depth` futures in flight, for secs. */
static double pipelined(const char *dir, unsigned threads, int depth,
			double secs)
{
	struct srv sv;
	TALLOC_CTX *ctx;
	shade_future **f;
	shade_value *t, *r;
	shade_value a = shade_value_int(2), b = shade_value_int(3);
	shade_conn *c;
	shade_ref *o = NULL;
	double t0, rate = 0;
	size_t n = 0;
	int i;

	if (!srv_up(&sv, dir, "pipelined", threads))
		return 0;
	ctx = talloc_new(sv.path);
	f = talloc_zero_array(ctx, shade_future *, depth);
	t = shade_tuple_new(ctx, 2);
	shade_seq_append(t, &a, NULL);
	shade_seq_append(t, &b, NULL);
	if (bench_connect_retry(ctx, sv.addr, &c) != SHADE_OK ||
	    shade_lookup(c, "pool", &o, NULL) != SHADE_OK) {
		printf("bench pool.pipelined.t%u n/a (no server)\n", threads);
		goto out;
	}
	t0 = bench_now();
	while (bench_now() - t0 < secs) {
		for (i = 0; i < depth; i++)
			if (shade_invoke_async(ctx, o, "add", t, NULL, &f[i],
					       NULL) != SHADE_OK)
				goto fail;
		for (i = 0; i < depth; i++) {
			r = NULL;
			if (shade_future_wait(ctx, f[i], -1, &r, NULL) !=
			    SHADE_OK)
				goto fail;
			talloc_free(r);
			talloc_free(f[i]);
			n++;
		}
	}
	rate = (double)n / (bench_now() - t0);
	printf("bench pool.pipelined.t%u %.0f calls/s (depth %d)\n", threads,
	       rate, depth);
	goto out;
fail:
	printf("bench pool.pipelined.t%u n/a (a call failed)\n", threads);
out:
	shade_ref_release(o);
	talloc_free(ctx);
	srv_down(&sv);
	return rate;
}

int main(int argc, char **argv)
{
	bool quick = false;
	unsigned threads = 0;
	int only = 0;
	char tmpl[] = "/tmp/shade-bench-pool-XXXXXX";
	double secs, ssecs, p1, pn;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--scaling") == 0 && i + 1 < argc)
			only = atoi(argv[++i]);
	}
	if (threads == 0)
		threads = cores > 1 ? (unsigned)cores : 2;
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	secs = quick ? 0.5 : 2.0;
	/* Rounds of the scaling figure: as long as one pass was. */
	ssecs = secs / SCALING_ROUNDS * 2;
	printf("bench pool.cores %ld\n", cores);
	if (only > 0) {
		struct srv sv;
		unsigned t[2] = { 1, threads };

		for (i = 0; i < 2; i++)
			if (srv_up(&sv, tmpl, "scaling", t[i])) {
				struct round r = scaling_run(
					sv.addr, sv.pid, only, secs);

				round_print(t[i], only, &r, 1);
				srv_down(&sv);
			}
		rmdir(tmpl);
		return 0;
	}
	isolation(tmpl, 1, quick ? 300 : 2000);
	isolation(tmpl, threads, quick ? 300 : 2000);
	scaling(tmpl, 1, ssecs);
	scaling(tmpl, threads, ssecs);
	p1 = pipelined(tmpl, 1, 64, secs);
	pn = pipelined(tmpl, threads, 64, secs);
	printf("bench pool.pipelined.ratio %.2f x (t%u over t1; goal >= 1)\n",
	       p1 > 0 ? pn / p1 : 0, threads);
	rmdir(tmpl);
	return 0;
}
