/*
 * bench/peers.c - scaling side by side with other RPC servers: 1, 4, 16
 * and 64 clients, each a process of its own with one connection making
 * sync add(a, b) calls, against one shade server with one worker per
 * core (the default), the same with threads 1 (no workers: the loop's
 * thread serves) and, in the same run, against the ONC RPC and gRPC
 * servers of the peer benchmarks (../shared/bench/peers, built by `make
 * bench` into $(BUILD)/peers when their Debian packages are installed;
 * a peer that was not built is named and skipped).
 *
 * Every client makes WARM untimed calls, then N timed ones (N shrinks as
 * clients grow, so a step lasts about as long whatever the count).
 * Figures per server and client count:
 *   calls/s  the sum of the clients' calls/s, each over its own timed
 *            calls (peers' clients are programs run by exec, shade's are
 *            forks of this one; the warm-up calls cover their start-up,
 *            so the timed calls of all clients run side by side);
 *   mean     the clients' mean microseconds per call;
 *   p50/p99  shade's only (its clients keep every latency); the peers'
 *            clients print their mean only.
 * And each server's calls/s with 16 clients over 1 client (goal on 2
 * cores: >= 1.6), and shade's (workers) calls/s over each other's at
 * each count.
 *
 * Servers listen on Unix sockets in a fresh directory and are stopped by
 * pid; clients are reaped by pid.  Output: `bench peers.<figure> ...`.
 *
 *   shade-bench-peers [--quick] [--peers DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"
#include "child.h"

/* Client counts, in the order run. */
static const int counts[] = { 1, 4, 16, 64 };
#define N_COUNTS (sizeof(counts) / sizeof(counts[0]))

/* Untimed calls per client before the timed ones. */
#define WARM 200

/* The servers compared. */
enum { SRV_SHADE, SRV_SHADE1, SRV_ONCRPC, SRV_GRPC, N_SRV };

/* Their names in the output, and the peer program prefix. */
static const char *const srv_name[N_SRV] = { "shade", "shade_t1", "oncrpc",
					      "grpc" };

/* Is server `which` a shade one (shade: a worker per core; shade_t1:
 * threads 1, the loop's thread serving)? */
static bool is_shade(int which)
{
	return which == SRV_SHADE || which == SRV_SHADE1;
}

/* One step's figures. */
struct step {
	double calls_s;  /* total calls/s, 0: no figure */
	double mean_us;  /* mean us per call over the clients */
	double p50_us;   /* shade only, else < 0 */
	double p99_us;   /* shade only, else < 0 */
};

/* A peer program: DIR/<name>_<role>, run with stdout into out_path. */
static pid_t peer_spawn(const char *dir, const char *name, const char *role,
			const char *out_path, char *const args[])
{
	char *prog = talloc_asprintf(NULL, "%s/%s_%s", dir, name, role);
	char *argv[8];
	pid_t pid;
	int i, fd;

	argv[0] = prog;
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid == 0) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execv(prog, argv);
		_exit(127);
	}
	talloc_free(prog);
	return pid;
}

/* Wait (bounded, 10 s) until path exists and, when want is not NULL,
 * holds that text. */
static bool wait_file(const char *path, const char *want)
{
	struct stat st;
	char buf[256];
	FILE *f;
	int i;
	bool ok;

	for (i = 0; i < 10000; i++) {
		if (stat(path, &st) == 0) {
			if (want == NULL)
				return true;
			f = fopen(path, "r");
			ok = f != NULL && fgets(buf, sizeof(buf), f) != NULL &&
			     strstr(buf, want) != NULL;
			if (f != NULL)
				fclose(f);
			if (ok)
				return true;
		}
		usleep(1000);
	}
	return false;
}

/* Stop pid and reap it. */
static void stop_pid(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/* Compare doubles, for qsort. */
static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A shade client child: WARM + n sync calls on address, then its
 * latencies (us, n doubles) written to out_path; exit status 0 on
 * success. */
static void shade_client(const char *address, int n, const char *out_path)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_ref *o;
	shade_value *t = shade_tuple_new(ctx, 2), *r;
	shade_value a = shade_value_int(2), b = shade_value_int(3);
	double *lat = talloc_array(ctx, double, (size_t)n), t0 = 0, rate;
	FILE *f;
	int i;

	shade_seq_append(t, &a, NULL);
	shade_seq_append(t, &b, NULL);
	if (lat == NULL ||
	    shade_connect(ctx, address, NULL, &c, NULL) != SHADE_OK ||
	    shade_lookup(c, "adder", &o, NULL) != SHADE_OK)
		_exit(3);
	for (i = -WARM; i < n; i++) {
		double c0 = bench_now();

		if (i == 0)
			t0 = c0;
		r = NULL;
		if (shade_invoke(ctx, o, "add", t, NULL, &r, NULL) != SHADE_OK)
			_exit(4);
		talloc_free(r);
		if (i >= 0)
			lat[i] = (bench_now() - c0) * 1e6;
	}
	rate = (double)n / (bench_now() - t0);
	shade_ref_release(o);
	/* Its calls/s, then its latencies. */
	f = fopen(out_path, "wb");
	if (f == NULL || fwrite(&rate, sizeof(rate), 1, f) != 1 ||
	    fwrite(lat, sizeof(*lat), (size_t)n, f) != (size_t)n)
		_exit(5);
	fclose(f);
	talloc_free(ctx);
	_exit(0);
}

/* One step: k clients of server `which` at address (peers: their
 * programs in dir, Unix socket path), n calls each. */
static struct step run_step(int which, const char *dir, const char *tmp,
			    const char *address, const char *path, int k,
			    int n)
{
	struct step s = { 0, 0, -1, -1 };
	pid_t pids[64];
	char nbuf[16], wbuf[16];
	char *outs[64];
	double sum_rate = 0, sum_mean = 0, *all = NULL, v, rate;
	int i, status, ok = 0;
	size_t n_all = 0;
	FILE *f;

	snprintf(nbuf, sizeof(nbuf), "%d", n);
	snprintf(wbuf, sizeof(wbuf), "%d", WARM);
	for (i = 0; i < k; i++) {
		outs[i] = talloc_asprintf(NULL, "%s/c%d.out", tmp, i);
		if (is_shade(which)) {
			pids[i] = fork();
			if (pids[i] == 0)
				shade_client(address, n, outs[i]);
		} else {
			char *args[] = { "unix", (char *)path, "sync", nbuf,
					 wbuf, "1", NULL };

			pids[i] = peer_spawn(dir, srv_name[which], "client",
					     outs[i], args);
		}
	}
	for (i = 0; i < k; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	if (is_shade(which))
		all = malloc(sizeof(double) * (size_t)n * (size_t)k);
	for (i = 0; i < k; i++) {
		f = fopen(outs[i], is_shade(which) ? "rb" : "r");
		if (f != NULL && is_shade(which) && all != NULL &&
		    fread(&rate, sizeof(rate), 1, f) == 1) {
			size_t got = fread(all + n_all, sizeof(double),
					   (size_t)n, f), j;

			sum_rate += rate;
			for (v = 0, j = 0; j < got; j++)
				v += all[n_all + j];
			if (got > 0)
				sum_mean += v / (double)got;
			n_all += got;
		} else if (f != NULL) {
			char line[512];
			const char *m;

			if (fgets(line, sizeof(line), f) != NULL &&
			    (m = strstr(line, "us_per_call=")) != NULL)
				sum_mean += strtod(m + 12, NULL);
			if ((m = strstr(line, "calls_per_s=")) != NULL)
				sum_rate += strtod(m + 12, NULL);
		}
		if (f != NULL)
			fclose(f);
		unlink(outs[i]);
		talloc_free(outs[i]);
	}
	if (ok == k) {
		s.calls_s = sum_rate;
		s.mean_us = sum_mean / k;
		if (all != NULL && n_all > 0) {
			qsort(all, n_all, sizeof(*all), cmp_dbl);
			s.p50_us = all[(size_t)(0.50 * (double)(n_all - 1))];
			s.p99_us = all[(size_t)(0.99 * (double)(n_all - 1))];
		}
	}
	free(all);
	return s;
}

/* Start server `which` on DIR-less socket path; its pid, or -1 after
 * saying why. */
static pid_t server_up(int which, const char *dir, const char *tmp,
		       const char *address, const char *path)
{
	char *out = talloc_asprintf(NULL, "%s/%s.out", tmp, srv_name[which]);
	char *prog = talloc_asprintf(out, "%s/%s_server", dir, srv_name[which]);
	char *args[] = { "unix", (char *)path, "600", NULL };
	pid_t pid;

	if (is_shade(which)) {
		shade_server_opts so = { 0 };

		so.threads = which == SRV_SHADE1 ? 1
						 : SHADE_SERVER_THREADS_CORES;
		pid = bench_child_start(address, &so, "adder", NULL, NULL,
					NULL);
		if (!wait_file(path, NULL)) {
			stop_pid(pid);
			pid = -1;
		}
	} else if (dir == NULL || access(prog, X_OK) != 0 ||
		   access(talloc_asprintf(out, "%s/%s_client", dir,
					  srv_name[which]),
			  X_OK) != 0) {
		printf("bench peers.%s n/a (not built: %s_server/_client "
		       "missing in %s; its Debian packages are in "
		       "../shared/bench/peers/install-deps.sh)\n",
		       srv_name[which], srv_name[which], dir ? dir : "(none)");
		pid = -1;
	} else {
		pid = peer_spawn(dir, srv_name[which], "server", out, args);
		if (!wait_file(out, "READY")) {
			stop_pid(pid);
			pid = -1;
		}
	}
	if (pid < 0 && (is_shade(which) || access(prog, X_OK) == 0))
		printf("bench peers.%s n/a (server did not start)\n",
		       srv_name[which]);
	talloc_free(out);
	return pid;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	char tmpl[] = "/tmp/shade-bench-peers-XXXXXX";
	struct step st[N_SRV][N_COUNTS];
	bool quick = false;
	int total, i, w;
	unsigned j;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--peers") == 0 && i + 1 < argc)
			dir = argv[++i];
	}
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	total = quick ? 6000 : 20000; /* timed calls per step, all clients */
	printf("bench peers.cores %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	memset(st, 0, sizeof(st));
	for (w = 0; w < N_SRV; w++) {
		char *path = talloc_asprintf(NULL, "%s/%s.sock", tmpl,
					     srv_name[w]);
		char *address = talloc_asprintf(path, "unix:%s", path);
		pid_t pid = server_up(w, dir, tmpl, address, path);

		for (j = 0; pid > 0 && j < N_COUNTS; j++) {
			int n = total / counts[j] < 500 ? 500
							: total / counts[j];

			st[w][j] = run_step(w, dir, tmpl, address, path,
					    counts[j], n);
			if (st[w][j].calls_s <= 0) {
				printf("bench peers.%s.c%d n/a (a client "
				       "failed)\n", srv_name[w], counts[j]);
				continue;
			}
			if (st[w][j].p50_us >= 0)
				printf("bench peers.%s.c%d %.0f calls/s mean "
				       "%.1f us p50 %.1f us p99 %.1f us\n",
				       srv_name[w], counts[j], st[w][j].calls_s,
				       st[w][j].mean_us, st[w][j].p50_us,
				       st[w][j].p99_us);
			else
				printf("bench peers.%s.c%d %.0f calls/s mean "
				       "%.1f us (p50/p99 n/a: its client "
				       "prints its mean only)\n",
				       srv_name[w], counts[j], st[w][j].calls_s,
				       st[w][j].mean_us);
		}
		if (pid > 0)
			stop_pid(pid);
		unlink(path);
		talloc_free(path);
		if (st[w][0].calls_s > 0 && st[w][2].calls_s > 0)
			printf("bench peers.%s.c16_over_c1 %.2f x (goal >= 1.6 "
			       "on 2 cores)\n", srv_name[w],
			       st[w][2].calls_s / st[w][0].calls_s);
	}
	for (w = SRV_SHADE1; w < N_SRV; w++)
		for (j = 0; j < N_COUNTS; j++)
			if (st[0][j].calls_s > 0 && st[w][j].calls_s > 0)
				printf("bench peers.shade_over_%s.c%d %.2f x "
				       "(calls/s)\n", srv_name[w], counts[j],
				       st[0][j].calls_s / st[w][j].calls_s);
	for (w = 0; w < N_SRV; w++) {
		char *out = talloc_asprintf(NULL, "%s/%s.out", tmpl,
					    srv_name[w]);

		unlink(out);
		talloc_free(out);
	}
	rmdir(tmpl);
	return 0;
}
