/*
 * bench/attack.c - a well-behaved client's latency while the server is
 * attacked (shade-bench-attack, run by `make bench` after
 * shade-bench-scale).
 *
 * The server is this program run again as `--server DIR` (a child process
 * started by pid, on a Unix socket in a fresh mkdtemp directory, stopped
 * by pid).  A probe (a shade client in this process) calls add(a, b) on
 * it; each round measures the probe's median and p99 latency quiet, then
 * during an attack made by a forked child process, then quiet again, then
 * during the other attack:
 *
 *   garbage   connect, write random bytes or frames with a valid head and
 *             random payload or a huge length head, until the server
 *             stops taking them (it dropped the connection); close;
 *             reconnect; repeat
 *   flood     open 1 000 connections as fast as possible (every fourth
 *             sends half a HELLO), close them all, repeat
 *
 * Each attack runs twice.  First the attacker runs at idle CPU priority
 * (SCHED_IDLE): it stands for a remote machine, so its own work (its
 * connects and writes) takes no CPU the server or the probe wants, yet
 * it still attacks as fast as the server's spare CPU lets it (its rate
 * is printed).  These are the goal's figures: they measure what the
 * server does with the attack's traffic.  Then the same attack runs at
 * normal priority on the same CPUs (the `_shared` figures, printed for
 * information, with no goal): on a two-CPU machine the attacker then
 * takes a CPU from the server or the probe for a scheduler slice now and
 * then, which no fairness inside the server can prevent.
 *
 * Prints `bench attack.<case>.<p50|p99>_ratio <value> x` per figure (the
 * attack's latency over the quiet one just before it, in the same run,
 * median over the rounds), then a table with the range over rounds and
 * the goal: a well-behaved client within 2x its quiet latency, which
 * applies to every figure, the median (p50) and the p99 alike.  Below
 * it, per case: the attacker's rate, and, during the samples under
 * attack, the share of the time the server process ran, the share it
 * was ready to run but waited for a CPU (/proc/PID/schedstat) and how
 * often the kernel took its CPU away (involuntary context switches), and
 * the share the probe waited for a CPU (the shares are approximate: the
 * kernel counts a wait when it ends).  A server kept busy by an attack
 * and preempted for a scheduler slice (milliseconds, while other
 * programs of the machine run), or a probe waiting for a CPU, makes a
 * call that late, which the p99 shows and no fairness inside the server
 * can prevent.
 *
 *   shade-bench-attack [--quick]
 *
 * Every loop is bounded: the probe makes CALLS calls per sample, each
 * with a deadline; an attacker stops after ATTACK_MAX_S seconds by
 * itself and is stopped by pid as soon as its sample is taken.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"

/* Probe calls per sample (full, --quick) and rounds. */
#define CALLS 2000
#define CALLS_QUICK 600
#define ROUNDS 5
#define ROUNDS_QUICK 2
/* An attacker ends by itself after this long (it is stopped sooner). */
#define ATTACK_MAX_S 60
/* The attack runs this long before the probe's sample starts. */
#define WARMUP_US 100000
/* Connections of one flood wave. */
#define FLOOD_CONNS 1000
/* Deadline of one probe call. */
#define CALL_TIMEOUT_MS 10000
/* The goal of every ratio. */
#define GOAL 2.0
/* The cases: two attacks, the attacker at idle priority, then sharing. */
#define NCASES 4

/* What an attacker did, shared with the driver (MAP_SHARED). */
struct tally {
	volatile long conns; /* connections opened */
	volatile long bytes; /* bytes written */
};

/* The HELLO frame: [0, 0, 1, 0]. */
static const uint8_t hello[] = { 0x05, 0x84, 0x00, 0x00, 0x01, 0x00 };

/* ------------------------------------------------------------ server */

/* add(a, b). */
static shade_status add_fn(shade_call_ctx *call)
{
	int64_t a = shade_value_as_int(shade_seq_at(call->args, 0));
	int64_t b = shade_value_as_int(shade_seq_at(call->args, 1));

	call->result = shade_int(call->mem, a + b);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* The server process: exports "calc" on unix:DIR/s.sock, says READY and
 * serves until it is stopped by pid. */
static int server_main(const char *dir)
{
	char addr[300];
	shade_server *srv;
	shade_ref *calc;

	bench_raise_nofile();
	snprintf(addr, sizeof addr, "unix:%s/s.sock", dir);
	if (shade_server_new(NULL, NULL, &srv, NULL) != SHADE_OK ||
	    shade_object_new("bench.Calc", NULL, &calc, NULL) != SHADE_OK ||
	    shade_object_add_method(calc, "add", add_fn, NULL, false, NULL) !=
		    SHADE_OK ||
	    shade_server_export(srv, "calc", calc, NULL) != SHADE_OK ||
	    shade_server_listen(srv, addr, NULL) != SHADE_OK)
		return 1;
	shade_ref_release(calc);
	printf("READY %s\n", addr);
	fflush(stdout);
	shade_server_run(srv, NULL);
	talloc_free(srv);
	return 0;
}

/* ------------------------------------------------------------ attackers */

/* xorshift64: the attacker's random bytes. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Connect with a send deadline of 100 ms (so a write to a server that
 * stopped reading cannot hold the attacker); fd or -1. */
static int attack_connect(const char *addr)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int fd = bench_connect(addr);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Garbage: one connection after another, each sent (after a HELLO, every
 * other time) up to 64 chunks of one kind: random bytes, frames with a
 * valid length head and a random payload, or a length head of 4 GiB.
 * A chunk is written without waiting: once the socket takes no more (the
 * server stopped reading it), the attacker closes and reconnects, so how
 * soon the server closes a socket it dropped never slows the attack (a
 * remote attacker would not wait for it either). */
static void garbage(const char *addr, struct tally *t)
{
	static uint8_t buf[4096];
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	double end = bench_now() + ATTACK_MAX_S;
	long round;

	for (round = 0; bench_now() < end; round++) {
		int fd = attack_connect(addr), i, kind = (int)(round % 3);
		size_t n, j;
		ssize_t w;

		if (fd < 0) {
			usleep(1000);
			continue;
		}
		t->conns++;
		if (round % 2 && bench_write_all(fd, hello, sizeof hello) != 0)
			goto next;
		for (i = 0; i < 64; i++) {
			for (j = 0; j < sizeof buf; j += 8) {
				uint64_t r = next_rand(&seed);

				memcpy(buf + j, &r, 8);
			}
			n = sizeof buf;
			if (kind == 1) { /* a frame of 200 random bytes */
				buf[0] = 0x18;
				buf[1] = 200;
				n = 202;
			} else if (kind == 2) { /* 4 GiB announced */
				memcpy(buf, "\x1a\xff\xff\xff\xff", 5);
				n = 5 + 64;
			}
			/* Never waits: what the socket does not take at once
			 * ends the connection (see above). */
			w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				t->bytes += (long)w;
			if (w != (ssize_t)n)
				break;
		}
	next:
		close(fd);
	}
}

/* Flood: waves of FLOOD_CONNS connections opened as fast as possible,
 * every fourth sending half a HELLO, then all closed. */
static void flood(const char *addr, struct tally *t)
{
	static int fds[FLOOD_CONNS];
	double end = bench_now() + ATTACK_MAX_S;

	while (bench_now() < end) {
		int n, i;

		for (n = 0; n < FLOOD_CONNS && bench_now() < end; n++) {
			fds[n] = attack_connect(addr);
			if (fds[n] < 0)
				break;
			t->conns++;
			if (n % 4 == 3 &&
			    bench_write_all(fds[n], hello, sizeof hello / 2) ==
				    0)
				t->bytes += (long)sizeof hello / 2;
		}
		for (i = 0; i < n; i++)
			close(fds[i]);
		if (n < FLOOD_CONNS)
			usleep(1000); /* refused or out of fds: a breath */
	}
}

/* Fork an attacker (fn on addr) that dies with this process, with idle
 * CPU priority (SCHED_IDLE) when `idle`; its pid or -1. */
static pid_t attack_start(void (*fn)(const char *, struct tally *),
			  const char *addr, struct tally *t, bool idle)
{
	pid_t pid;

	t->conns = t->bytes = 0;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (idle) {
			struct sched_param sp = { 0 };

			sched_setscheduler(0, SCHED_IDLE, &sp);
		}
		fn(addr, t);
		_exit(0);
	}
	return pid;
}

/* ------------------------------------------------------------ probe */

/* The probe's connection and proxy. */
struct probe {
	shade_conn *c;   /* its connection */
	shade_ref *calc; /* "calc" */
	TALLOC_CTX *tmp; /* per call */
	char why[120];   /* the failure, when a sample failed */
};

/* Ascending doubles, for qsort. */
static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* n calls of add(i, 2); their median and p99 latency in us in *p50 and
 * *p99.  0, or -1 with pr->why set. */
static int probe_sample(struct probe *pr, int n, double *p50, double *p99)
{
	double *lat = calloc((size_t)n, sizeof *lat);
	int i;

	if (lat == NULL) {
		snprintf(pr->why, sizeof pr->why, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		shade_value *args = shade_tuple_new(pr->tmp, 2), *r = NULL;
		shade_value a = shade_value_int(i), b = shade_value_int(2);
		shade_status st;
		double t0;

		shade_seq_append(args, &a, NULL);
		shade_seq_append(args, &b, NULL);
		t0 = bench_now();
		st = shade_invoke(pr->tmp, pr->calc, "add", args, NULL, &r,
				  NULL);
		lat[i] = (bench_now() - t0) * 1e6;
		talloc_free_children(pr->tmp);
		if (st != SHADE_OK || r == NULL) {
			snprintf(pr->why, sizeof pr->why,
				 "probe call %d failed (status %d)", i,
				 (int)st);
			free(lat);
			return -1;
		}
	}
	qsort(lat, (size_t)n, sizeof *lat, by_value);
	*p50 = lat[n / 2];
	*p99 = lat[n * 99 / 100];
	free(lat);
	return 0;
}

/* ------------------------------------------------------------ server */

/* What the kernel says of a process (/proc/PID/schedstat, status). */
struct proc_use {
	double cpu_s;   /* seconds it ran on a CPU */
	double wait_s;  /* seconds it was runnable but waited for a CPU */
	long preempted; /* involuntary context switches */
};

/* Read pid's use; 0, or -1 when it cannot be read. */
static int proc_use(pid_t pid, struct proc_use *u)
{
	char path[64], line[256];
	unsigned long long run = 0, wait = 0;
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	ok = fscanf(f, "%llu %llu", &run, &wait) == 2;
	fclose(f);
	u->cpu_s = (double)run / 1e9;
	u->wait_s = (double)wait / 1e9;
	u->preempted = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "nonvoluntary_ctxt_switches: %ld",
			   &u->preempted) == 1)
			break;
	fclose(f);
	return ok && u->preempted >= 0 ? 0 : -1;
}

/* ------------------------------------------------------------ figures */

/* One attack's figures over the rounds. */
struct attack_case {
	const char *name;                           /* "garbage", "flood",
						     * with "_shared" */
	void (*fn)(const char *, struct tally *);   /* the attacker */
	bool idle;                                  /* attacker at idle CPU
						     * priority: the goal's
						     * figures; else it
						     * shares the CPUs */
	bench_series p50, p99;                      /* ratios per round */
	bench_series q50, q99, a50, a99;            /* us, quiet and under it */
	long conns, bytes;                          /* attacker's totals */
	double attack_s;                            /* seconds it ran */
	double server_cpu_s;                        /* server CPU during the
						     * samples under attack */
	double server_wait_s;                       /* and waiting for one */
	double probe_wait_s;                        /* the probe's wait for a
						     * CPU meanwhile */
	long preempted;                             /* server's involuntary
						     * switches meanwhile */
	double sampled_s;                           /* seconds of samples
						     * under attack */
	bool use_ok;                                /* those were read */
	char why[200];                              /* set when it failed */
};

/* One round of case k: a quiet sample, then one under attack.  0 or -1
 * (k->why set). */
static int run_case(struct attack_case *k, struct probe *pr, int calls,
		    const char *addr, struct tally *t, pid_t server)
{
	double q50, q99, a50, a99, t0, t1, t2;
	struct proc_use u0, u1, p0, p1;
	bool use_ok;
	pid_t pid;
	int rc;

	if (probe_sample(pr, calls, &q50, &q99) != 0) {
		snprintf(k->why, sizeof k->why, "quiet: %s", pr->why);
		return -1;
	}
	t0 = bench_now();
	pid = attack_start(k->fn, addr, t, k->idle);
	if (pid < 0) {
		snprintf(k->why, sizeof k->why, "fork: %s", strerror(errno));
		return -1;
	}
	usleep(WARMUP_US);
	use_ok = proc_use(server, &u0) == 0 && proc_use(getpid(), &p0) == 0;
	t1 = bench_now();
	rc = probe_sample(pr, calls, &a50, &a99);
	use_ok = use_ok && proc_use(server, &u1) == 0 &&
		 proc_use(getpid(), &p1) == 0;
	t2 = bench_now();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	k->attack_s += bench_now() - t0;
	if (use_ok) {
		k->server_cpu_s += u1.cpu_s - u0.cpu_s;
		k->server_wait_s += u1.wait_s - u0.wait_s;
		k->probe_wait_s += p1.wait_s - p0.wait_s;
		k->preempted += u1.preempted - u0.preempted;
		k->sampled_s += t2 - t1;
		k->use_ok = true;
	}
	k->conns += t->conns;
	k->bytes += t->bytes;
	if (rc != 0) {
		snprintf(k->why, sizeof k->why, "under attack: %s", pr->why);
		return -1;
	}
	bench_series_add(&k->p50, a50 / q50);
	bench_series_add(&k->p99, a99 / q99);
	bench_series_add(&k->q50, q50);
	bench_series_add(&k->q99, q99);
	bench_series_add(&k->a50, a50);
	bench_series_add(&k->a99, a99);
	return 0;
}

/* Median of s. */
static double med(const bench_series *s)
{
	double m, lo, hi;

	bench_series_summary(s, &m, &lo, &hi);
	return m;
}

/* Print one figure's `bench` line and write its table row (printed
 * after every line) into row[0..rowlen). */
static void figure(const char *name, bool goal, const bench_series *ratio,
		   const bench_series *quiet, const bench_series *under,
		   const char *why, char *row, size_t rowlen)
{
	const char *g = goal ? "<= 2" : "(none)";

	double m, lo, hi;
	char range[64], note[160];

	if (ratio->n == 0) {
		printf("bench %s n/a (%s)\n", name, why);
		snprintf(row, rowlen, "%-40s %12s %23s %-12s %-10s %s", name,
			 "n/a", "", "x", g, why);
		return;
	}
	bench_series_summary(ratio, &m, &lo, &hi);
	printf("bench %s %.3g x\n", name, m);
	snprintf(range, sizeof range, "%.3g-%.3g", lo, hi);
	snprintf(note, sizeof note, "%.1f us under attack, %.1f us quiet",
		 med(under), med(quiet));
	snprintf(row, rowlen, "%-40s %12.3g %23s %-12s %-10s %s%s", name, m,
		 ratio->n > 1 ? range : "", "x", g,
		 !goal ? "" : m <= GOAL ? "[met] " : "[MISSED] ", note);
}

int main(int argc, char **argv)
{
	struct attack_case cases[NCASES] = {
		{ .name = "garbage", .fn = garbage, .idle = true },
		{ .name = "flood", .fn = flood, .idle = true },
		{ .name = "garbage_shared", .fn = garbage },
		{ .name = "flood_shared", .fn = flood },
	};
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int calls = quick ? CALLS_QUICK : CALLS;
	int rounds = quick ? ROUNDS_QUICK : ROUNDS, r, i;
	char dir[64] = "/tmp/shade-attack.XXXXXX", why[300];
	char rows[2 * NCASES][512];
	char self[4096], *sargv[4];
	struct tally *t;
	struct probe pr = { 0 };
	bench_proc sp = { .pid = -1 };
	ssize_t len;

	if (argc > 2 && strcmp(argv[1], "--server") == 0)
		return server_main(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	if (bench_raise_nofile() < FLOOD_CONNS + 64) {
		printf("bench attack n/a (RLIMIT_NOFILE below %d)\n",
		       FLOOD_CONNS + 64);
		return 0;
	}
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (len <= 0 || t == MAP_FAILED || mkdtemp(dir) == NULL) {
		fprintf(stderr, "shade-bench-attack: setup: %s\n",
			strerror(errno));
		return 1;
	}
	self[len] = '\0';
	sargv[0] = self;
	sargv[1] = "--server";
	sargv[2] = dir;
	sargv[3] = NULL;
	if (bench_proc_start(&sp, sargv, 10000, why, sizeof why) != 0) {
		fprintf(stderr, "shade-bench-attack: %s\n", why);
		rmdir(dir);
		return 1;
	}
	pr.tmp = talloc_new(NULL);
	if (shade_connect(NULL, sp.address, NULL, &pr.c, NULL) != SHADE_OK ||
	    shade_lookup(pr.c, "calc", &pr.calc, NULL) != SHADE_OK) {
		fprintf(stderr, "shade-bench-attack: cannot reach %s\n",
			sp.address);
		bench_proc_stop(&sp);
		return 1;
	}
	shade_conn_set_timeout(pr.c, CALL_TIMEOUT_MS);
	{ /* warm up */
		double a, b;

		if (probe_sample(&pr, calls, &a, &b) != 0) {
			fprintf(stderr, "shade-bench-attack: %s\n", pr.why);
			bench_proc_stop(&sp);
			return 1;
		}
	}
	for (r = 0; r < rounds; r++) /* the cases interleaved */
		for (i = 0; i < NCASES; i++)
			if (cases[i].why[0] == '\0')
				run_case(&cases[i], &pr, calls, sp.address, t,
					 sp.pid);

	for (i = 0; i < NCASES; i++) {
		char name[64];

		snprintf(name, sizeof name, "attack.%s.p50_ratio",
			 cases[i].name);
		figure(name, cases[i].idle, &cases[i].p50, &cases[i].q50, &cases[i].a50,
		       cases[i].why, rows[2 * i], sizeof rows[0]);
		snprintf(name, sizeof name, "attack.%s.p99_ratio",
			 cases[i].name);
		figure(name, cases[i].idle, &cases[i].p99, &cases[i].q99, &cases[i].a99,
		       cases[i].why, rows[2 * i + 1], sizeof rows[0]);
	}
	printf("\n%-40s %12s %23s %-12s %-10s %s\n", "figure", "median",
	       "min-max", "unit", "goal", "note");
	for (i = 0; i < 2 * NCASES; i++)
		printf("%s\n", rows[i]);
	printf("\ngoal: a well-behaved client within 2x its quiet latency, "
	       "p50 and p99 alike, <= %.0f, with the attacker at idle CPU "
	       "priority\n(standing for a remote machine: its own work takes "
	       "no CPU from the server or the probe); the _shared rows, the\n"
	       "attacker at normal priority on the same two CPUs, have no "
	       "goal: no server can keep a local process off its CPU\n",
	       GOAL);
	printf("%d rounds of %d probe calls per sample (quiet, then under "
	       "attack, in this run)\n", rounds, calls);
	for (i = 0; i < NCASES; i++) {
		struct attack_case *k = &cases[i];

		printf("  %-14s %ld connections in %.2f s (%.0f connects/s), "
		       "%ld KiB written", k->name, k->conns, k->attack_s,
		       k->attack_s > 0 ? k->conns / k->attack_s : 0.0,
		       k->bytes / 1024);
		if (k->use_ok && k->sampled_s > 0)
			printf("; during the samples under attack the server "
			       "ran %.0f%% of the time, waited for a CPU "
			       "%.0f%% (preempted %ld times); the probe "
			       "waited for a CPU %.0f%%",
			       100 * k->server_cpu_s / k->sampled_s,
			       100 * k->server_wait_s / k->sampled_s,
			       k->preempted,
			       100 * k->probe_wait_s / k->sampled_s);
		printf("\n");
	}

	shade_ref_release(pr.calc);
	talloc_free(pr.c);
	talloc_free(pr.tmp);
	bench_proc_stop(&sp);
	{
		char path[128];

		snprintf(path, sizeof path, "%s/s.sock", dir);
		unlink(path);
	}
	rmdir(dir);
	munmap(t, sizeof *t);
	return 0;
}
