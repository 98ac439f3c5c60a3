/*
 * bench/bench.c - shade-bench: the benchmark driver and its clients.
 *
 *   shade-bench [--quick] [--bin DIR] [--idlc PATH] [--idl-gen PATH]
 *   shade-bench --peer-client <typed|dynamic> <unix|tcp> <path|port>
 *               <sync|pipelined> N WARM DEPTH
 *
 * The second form is a client following the contract of
 * ../shared/bench/peers/src/common.h (bench/peers.sh registers it with
 * run-peers.sh beside shade-bench-server's `peer` mode): WARM untimed and
 * N timed add() calls, then one line `peer=shade... us_per_call=...`.
 *
 * Starts one shade-bench-server process per server kind and transport
 * (sockets in a fresh mkdtemp directory, TCP on 127.0.0.1 port 0), opens
 * one client connection to each, then runs every round-trip variant in
 * interleaved rounds: round r runs the variants in an order rotated by r,
 * each for the same number of calls, so a ratio is always taken between
 * measurements of the same time window.  Ratios are computed per round
 * and their median reported.  One-shot figures (bytes, round trips,
 * memory, connections, compiler speed) follow.  Output: one line
 * `bench <name> <value> <unit>` per figure (or `bench <name> n/a
 * (<reason>)`), then a table with medians and min-max.  Every server is
 * stopped by its pid and the directory removed at the end.
 *
 * Environment knobs: ROUNDS, N (calls per variant per round), WARM,
 * DEPTH (calls in flight when pipelined), CONNS (connections to hold),
 * MEM_N (objects for the memory figures), ONLY (run only the round-trip
 * variants whose name contains it, and no one-shot figure: for
 * profiling one path under strace, perf or callgrind; ONLY=echo runs
 * just the large-value echo figures, ONLY=force the container ones), PIN (a CPU
 * number: the driver and every server it starts run on that CPU only,
 * which takes the cross-CPU wake-up of a 2-vCPU VM out of the figures),
 * KEEP (leave the temporary directory, with the generated IDL, behind),
 * VERBOSE (print every value of every figure, in run order, on stderr).
 */
#include "bench.h"
#include "stubs.h"
#include "weak.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include <shade/cbor.h>
#include <shade/transport.h>
#include <shade/value.h>

/* Most figures printed. */
#define MAX_FIGS 112

/* Wait for a server's READY line (ms). */
#define READY_TIMEOUT_MS 20000

/* Seconds a server lives at most. */
#define SERVER_LIFE_S 900

/* ------------------------------------------------------------ settings */

/* What one run does (from --quick and the environment). */
typedef struct settings {
	bool quick;        /* the short run */
	int rounds;        /* interleaved rounds */
	long n;            /* timed calls per sync variant per round */
	long warm;         /* untimed calls per variant before round 0 */
	long depth;        /* calls in flight when pipelined */
	long pipe_n;       /* timed calls per pipelined variant per round */
	long conns;        /* connections server.connections_held opens */
	long mem_n;        /* objects/proxies for the memory figures */
	char bindir[PATH_MAX];  /* where shade-bench-server is */
	char idlc[PATH_MAX];    /* the IDL compiler */
	char idl_gen[PATH_MAX]; /* the IDL generator (bench/gen_idl.py) */
	char dir[64];           /* the mkdtemp directory */
} settings;

/* ------------------------------------------------------------ figures */

/* One figure of the output. */
typedef struct figure {
	char name[64];       /* e.g. "rtt.raw.unix" */
	const char *unit;    /* "us", "calls/s", "x", "bytes", ... */
	bench_series s;      /* per-round values (one for one-shot ones) */
	bool na;             /* not measured: why says why */
	char why[200];       /* reason for n/a, or a note on how measured */
	const char *goal;    /* goal (doc/performance.md) as text, or NULL */
	int goal_dir;        /* +1: value must be <= goal_v; -1: >=; 0: = */
	double goal_v;       /* the goal's number */
} figure;

/* Every figure, in output order. */
static figure figs[MAX_FIGS];
static int nfigs;

/* Servers started, stopped at the end. */
static bench_proc procs[16];
static int nprocs;

/* The figure called name, created (empty) on first use. */
static figure *
fig(const char *name, const char *unit)
{
	int i;

	for (i = 0; i < nfigs; i++)
		if (strcmp(figs[i].name, name) == 0)
			return &figs[i];
	if (nfigs == MAX_FIGS) {
		fprintf(stderr, "bench: too many figures\n");
		return &figs[MAX_FIGS - 1];
	}
	snprintf(figs[nfigs].name, sizeof figs[nfigs].name, "%s", name);
	figs[nfigs].unit = unit;
	return &figs[nfigs++];
}

/* Mark f not measured, with a reason (printf format). */
static void __attribute__((format(printf, 2, 3)))
fig_na(figure *f, const char *fmt, ...)
{
	va_list ap;

	f->na = true;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof f->why, fmt, ap);
	va_end(ap);
}

/* Attach a note on how f was measured (printf format). */
static void __attribute__((format(printf, 2, 3)))
fig_notef(figure *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof f->why, fmt, ap);
	va_end(ap);
}

/* Attach a note on how f was measured. */
static void
fig_note(figure *f, const char *note)
{
	fig_notef(f, "%s", note);
}

/* Set f's goal. */
static void
fig_goal(figure *f, const char *text, int dir, double v)
{
	f->goal = text;
	f->goal_dir = dir;
	f->goal_v = v;
}

/* Record a one-shot value. */
static void
fig_set(const char *name, const char *unit, double v)
{
	figure *f = fig(name, unit);

	bench_series_add(&f->s, v);
}

/* Name a failed shade call in f with the error's message. */
static void
fig_err(figure *f, const char *what, shade_error *err)
{
	fig_na(f, "%s failed: %s", what,
	       err != NULL && err->message != NULL ? err->message : "?");
}

/* ------------------------------------------------------------ variants */

struct variant;

/* Run n calls of a variant starting at call number first; 0 or -1 (with
 * v->why set). */
typedef int (*variant_fn)(struct variant *v, long first, long n);

/* A round-trip variant measured in the interleaved rounds. */
typedef struct variant {
	const char *name;   /* figure name */
	bool pipelined;     /* figure in calls/s instead of us per call */
	variant_fn run;     /* the calls */
	void *state;        /* client state */
	long done;          /* calls made so far (call numbers) */
	bool ok;            /* usable (set up, no failure yet) */
	char why[200];      /* why it is not usable */
	const char *note;   /* how it is measured, when not obvious */
} variant;

/* Raw socket client. */
typedef struct raw_cli {
	int fd;            /* connected socket */
	uint64_t next_id;  /* request id of the next call (from 1) */
	uint8_t *out;      /* DEPTH request frames */
	uint8_t *in;       /* DEPTH reply frames */
	uint8_t *want;     /* the replies expected */
	long depth;        /* batch size when pipelined */
} raw_cli;

/* Client over shade's transport layer. */
typedef struct tr_cli {
	shade_transport *t; /* the transport */
	uint64_t next_id;   /* request id of the next call */
	TALLOC_CTX *tmp;    /* received frames */
} tr_cli;

/* shade connection client. */
typedef struct sh_cli {
	shade_conn *c;      /* the connection */
	shade_ref *adder;   /* proxy of "adder" */
	uint32_t member;    /* index of add in the adder's shape */
	TALLOC_CTX *tmp;    /* per-batch allocations */
	long depth;         /* futures in flight when pipelined */
	shade_future **fs;  /* DEPTH futures */
	shade_request **rqs; /* DEPTH typed requests in flight */
	shade_ref *sadder;  /* proxy of "sadder" (generated skeleton) */
	void *stub;         /* its generated typed reference, or NULL */
} sh_cli;

/* Set v->why from a printf format and mark v unusable; returns -1. */
static int __attribute__((format(printf, 2, 3)))
v_fail(variant *v, const char *fmt, ...)
{
	va_list ap;

	v->ok = false;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof v->why, fmt, ap);
	va_end(ap);
	return -1;
}

/* Raw sync: write one request frame, read its reply frame, compare. */
static int
raw_sync(variant *v, long first, long n)
{
	raw_cli *c = v->state;
	long i;

	for (i = first; i < first + n; i++) {
		uint8_t req[BENCH_ADD_FRAME_MAX], rep[BENCH_ADD_FRAME_MAX];
		uint8_t want[BENCH_ADD_FRAME_MAX];
		uint64_t a, b, id = c->next_id++;
		size_t rl, wl;

		bench_call_args((uint64_t)i, &a, &b);
		rl = bench_add_request_frame(req, id, a, b);
		wl = bench_add_reply_frame(want, id, a + b);
		if (bench_write_all(c->fd, req, rl) != 0 ||
		    bench_read_all(c->fd, rep, wl) != 0)
			return v_fail(v, "raw call: %s", strerror(errno));
		if (memcmp(rep, want, wl) != 0)
			return v_fail(v, "raw call %ld: wrong reply", i);
	}
	return 0;
}

/* Raw pipelined: DEPTH request frames in one write, their replies read
 * back together (the server answers each read with one write). */
static int
raw_pipe(variant *v, long first, long n)
{
	raw_cli *c = v->state;
	long done = 0;

	while (done < n) {
		long k = n - done < c->depth ? n - done : c->depth, j;
		size_t ol = 0, wl = 0;

		for (j = 0; j < k; j++) {
			uint64_t a, b, id = c->next_id++;

			bench_call_args((uint64_t)(first + done + j), &a, &b);
			ol += bench_add_request_frame(c->out + ol, id, a, b);
			wl += bench_add_reply_frame(c->want + wl, id, a + b);
		}
		if (bench_exchange(c->fd, c->out, ol, c->in, wl) != 0)
			return v_fail(v, "raw pipelined: %s", strerror(errno));
		if (memcmp(c->in, c->want, wl) != 0)
			return v_fail(v, "raw pipelined: wrong replies");
		done += k;
	}
	return 0;
}

/* Transport sync: the request payload through shade_transport_send, the
 * reply through shade_transport_recv. */
static int
tr_sync(variant *v, long first, long n)
{
	tr_cli *c = v->state;
	long i;

	for (i = first; i < first + n; i++) {
		uint8_t req[BENCH_ADD_FRAME_MAX], *frame;
		uint64_t a, b, id = c->next_id++, rid, sum;
		size_t len;
		shade_error *err = NULL;

		bench_call_args((uint64_t)i, &a, &b);
		len = bench_add_request_payload(req, id, a, b);
		if (shade_transport_send(c->t, req, len, &err) != SHADE_OK ||
		    shade_transport_recv(c->t, c->tmp, &frame, &len, 10000,
					 &err) != SHADE_OK) {
			v_fail(v, "transport call: %s",
			       err != NULL ? err->message : "?");
			talloc_free(err);
			return -1;
		}
		if (bench_parse_add_reply(frame, len, &rid, &sum) != 0 ||
		    rid != id || sum != a + b)
			return v_fail(v, "transport call %ld: wrong reply", i);
		talloc_free(frame);
	}
	return 0;
}

/* Check a shade add() result against call i's arguments. */
static int
check_sum(variant *v, long i, const shade_value *r)
{
	uint64_t a, b;

	bench_call_args((uint64_t)i, &a, &b);
	if (r == NULL || shade_value_kind(r) != SHADE_INT ||
	    shade_value_as_int(r) != (int64_t)(a + b))
		return v_fail(v, "call %ld: wrong result", i);
	return 0;
}

/* The args tuple (a, b) of call i on ctx. */
static shade_value *
add_args(TALLOC_CTX *ctx, long i)
{
	uint64_t a, b;
	shade_value *t = shade_tuple_new(ctx, 2);

	bench_call_args((uint64_t)i, &a, &b);
	if (t == NULL ||
	    shade_seq_append_take(t, shade_int(ctx, (int64_t)a), NULL) != SHADE_OK ||
	    shade_seq_append_take(t, shade_int(ctx, (int64_t)b), NULL) != SHADE_OK)
		return NULL;
	return t;
}

/* Typed call through the low-level typed-call API (what generated stubs
 * do): arguments written straight into the request, the result read
 * straight from the reply, member addressed by index. */
static int
sh_typed(variant *v, long first, long n)
{
	sh_cli *c = v->state;
	long i;

	for (i = first; i < first + n; i++) {
		shade_request *call = NULL;
		shade_buf *args = NULL;
		shade_cbor_dec *res = NULL;
		shade_error *err = NULL;
		uint64_t a, b;
		int64_t sum = -1;
		shade_status st;

		bench_call_args((uint64_t)i, &a, &b);
		st = shade_request_begin(c->adder, c->member,
					 SHADE_DISPATCH_INVOKE, NULL, &call,
					 &args, &err);
		if (st == SHADE_OK) {
			shade_cbor_put_array(args, 2);
			shade_cbor_put_int(args, (int64_t)a);
			shade_cbor_put_int(args, (int64_t)b);
			st = shade_request_finish(call, &res, &err);
		}
		if (st == SHADE_OK)
			st = shade_cbor_read_int(res, &sum, &err);
		talloc_free(call);
		if (st != SHADE_OK) {
			v_fail(v, "typed call: %s",
			       err != NULL ? err->message : "?");
			talloc_free(err);
			return -1;
		}
		if (sum != (int64_t)(a + b))
			return v_fail(v, "typed call %ld: wrong result", i);
	}
	return 0;
}

/* Pipelined typed calls: DEPTH requests begun and sent without waiting
 * (shade_request_send batches them), then each finished in order. */
static int
sh_typed_pipe(variant *v, long first, long n)
{
	sh_cli *c = v->state;
	long done = 0;
	shade_error *err = NULL;

	while (done < n) {
		long k = n - done < c->depth ? n - done : c->depth, j, sent = 0;
		int rc = 0;

		for (j = 0; j < k && rc == 0; j++) {
			shade_buf *args = NULL;
			uint64_t a, b;

			bench_call_args((uint64_t)(first + done + j), &a, &b);
			if (shade_request_begin(c->adder, c->member,
						SHADE_DISPATCH_INVOKE, NULL,
						&c->rqs[j], &args, &err) != SHADE_OK) {
				rc = -1;
				break;
			}
			sent++;
			shade_cbor_put_array(args, 2);
			shade_cbor_put_int(args, (int64_t)a);
			shade_cbor_put_int(args, (int64_t)b);
			if (shade_request_send(c->rqs[j], &err) != SHADE_OK)
				rc = -1;
		}
		for (j = 0; j < sent; j++) {
			shade_cbor_dec *res = NULL;
			int64_t sum = -1;
			uint64_t a, b;

			bench_call_args((uint64_t)(first + done + j), &a, &b);
			if (rc == 0 &&
			    (shade_request_finish(c->rqs[j], &res, &err) != SHADE_OK ||
			     shade_cbor_read_int(res, &sum, &err) != SHADE_OK))
				rc = -1;
			else if (rc == 0 && sum != (int64_t)(a + b))
				rc = v_fail(v, "typed pipelined call: wrong result");
			talloc_free(c->rqs[j]);
			c->rqs[j] = NULL;
		}
		if (rc != 0) {
			if (v->ok)
				v_fail(v, "typed pipelined call: %s",
				       err != NULL ? err->message : "?");
			talloc_free(err);
			return -1;
		}
		done += k;
	}
	return 0;
}

/* Typed call through the stub shade-idlc generated from
 * bench/adder.idl, to the generated skeleton. */
static int
sh_stub(variant *v, long first, long n)
{
	sh_cli *c = v->state;
	long i;

	for (i = first; i < first + n; i++) {
		shade_error *err = NULL;
		uint64_t a, b;
		int64_t sum = -1;

		bench_call_args((uint64_t)i, &a, &b);
		if (bench_stub_add(c->stub, (int64_t)a, (int64_t)b, &sum,
				   &err) != SHADE_OK) {
			v_fail(v, "bench_Adder_add: %s",
			       err != NULL ? err->message : "?");
			talloc_free(err);
			return -1;
		}
		if (sum != (int64_t)(a + b))
			return v_fail(v, "stub call %ld: wrong result", i);
	}
	return 0;
}

/* Dynamic call: shade_invoke by name with a tuple built per call; the
 * shape arrived with the reference, so the name maps to an index
 * locally. */
static int
sh_dynamic(variant *v, long first, long n)
{
	sh_cli *c = v->state;
	long i;

	for (i = first; i < first + n; i++) {
		shade_value *args = add_args(c->tmp, i), *r = NULL;
		shade_error *err = NULL;

		if (args == NULL)
			return v_fail(v, "out of memory");
		if (shade_invoke(c->tmp, c->adder, "add", args, NULL, &r,
				 &err) != SHADE_OK) {
			v_fail(v, "shade_invoke: %s",
			       err != NULL ? err->message : "?");
			talloc_free(err);
			return -1;
		}
		if (check_sum(v, i, r) != 0)
			return -1;
		talloc_free_children(c->tmp);
	}
	return 0;
}

/* Pipelined asynchronous calls: DEPTH futures started, then waited. */
static int
sh_pipe(variant *v, long first, long n)
{
	sh_cli *c = v->state;
	long done = 0;
	shade_error *err = NULL;

	while (done < n) {
		long k = n - done < c->depth ? n - done : c->depth, j;

		for (j = 0; j < k; j++) {
			shade_value *args = add_args(c->tmp, first + done + j);

			if (args == NULL ||
			    shade_invoke_async(c->tmp, c->adder, "add", args,
					       NULL, &c->fs[j], &err) != SHADE_OK)
				goto fail;
		}
		for (j = 0; j < k; j++) {
			shade_value *r = NULL;

			if (shade_future_wait(c->tmp, c->fs[j], -1, &r, &err) !=
			    SHADE_OK)
				goto fail;
			if (check_sum(v, first + done + j, r) != 0)
				return -1;
		}
		talloc_free_children(c->tmp);
		done += k;
	}
	return 0;
fail:
	v_fail(v, "async call: %s", err != NULL ? err->message : "?");
	talloc_free(err);
	return -1;
}

/* ------------------------------------------------------------ servers */

/* Start shade-bench-server <kind> <net>; returns the proc or NULL with
 * why filled. */
static bench_proc *
start_server(const settings *cfg, const char *kind, bench_net net, char *why,
	     size_t whylen)
{
	char prog[PATH_MAX + 32], life[16];
	char *argv[6];
	bench_proc *p;

	if (nprocs == (int)(sizeof procs / sizeof procs[0])) {
		snprintf(why, whylen, "too many servers");
		return NULL;
	}
	snprintf(prog, sizeof prog, "%s/shade-bench-server", cfg->bindir);
	snprintf(life, sizeof life, "%d", SERVER_LIFE_S);
	argv[0] = prog;
	argv[1] = (char *)kind;
	argv[2] = (char *)bench_net_name(net);
	argv[3] = (char *)cfg->dir;
	argv[4] = life;
	argv[5] = NULL;
	p = &procs[nprocs];
	if (bench_proc_start(p, argv, READY_TIMEOUT_MS, why, whylen) != 0)
		return NULL;
	nprocs++;
	return p;
}

/* On SIGALRM/SIGTERM/SIGINT: kill every server by pid (async-signal
 * safe: kill and _exit only) so none outlives the driver. */
static void
on_fatal_signal(int sig)
{
	int i;

	for (i = 0; i < nprocs; i++)
		if (procs[i].pid > 0)
			kill(procs[i].pid, SIGKILL);
	_exit(128 + sig);
}

/* Stop every server by pid. */
static void
stop_servers(void)
{
	int i;

	for (i = 0; i < nprocs; i++)
		bench_proc_stop(&procs[i]);
}

/* ------------------------------------------------------------ set-up */

/* A raw client on a new connection to a raw server. */
static void
setup_raw(TALLOC_CTX *ctx, const settings *cfg, variant *sync, variant *pipe,
	  bench_net net)
{
	char why[256];
	bench_proc *p = start_server(cfg, "raw", net, why, sizeof why);
	raw_cli *c;

	sync->run = raw_sync;
	pipe->run = raw_pipe;
	pipe->pipelined = true;
	if (p == NULL) {
		v_fail(sync, "%s", why);
		v_fail(pipe, "%s", why);
		return;
	}
	c = talloc_zero(ctx, raw_cli);
	c->fd = bench_connect(p->address);
	c->next_id = 1;
	c->depth = cfg->depth;
	c->out = talloc_array(c, uint8_t, (size_t)cfg->depth * BENCH_ADD_FRAME_MAX);
	c->in = talloc_array(c, uint8_t, (size_t)cfg->depth * BENCH_ADD_FRAME_MAX);
	c->want = talloc_array(c, uint8_t, (size_t)cfg->depth * BENCH_ADD_FRAME_MAX);
	if (c->fd < 0) {
		v_fail(sync, "connect %s: %s", p->address, strerror(errno));
		v_fail(pipe, "%s", sync->why);
		return;
	}
	sync->state = pipe->state = c;
	sync->ok = pipe->ok = true;
}

/* A client over shade's transport layer to a transport server. */
static void
setup_transport(TALLOC_CTX *ctx, const settings *cfg, variant *v,
		bench_net net)
{
	char why[256];
	bench_proc *p = start_server(cfg, "transport", net, why, sizeof why);
	tr_cli *c;
	shade_error *err = NULL;

	v->run = tr_sync;
	if (p == NULL) {
		v_fail(v, "%s", why);
		return;
	}
	c = talloc_zero(ctx, tr_cli);
	c->tmp = talloc_new(c);
	c->next_id = 1;
	if (shade_transport_connect(c, p->address, NULL, &c->t, &err) !=
	    SHADE_OK) {
		v_fail(v, "connect %s: %s", p->address,
		       err != NULL ? err->message : "?");
		talloc_free(err);
		return;
	}
	v->state = c;
	v->ok = true;
}

/* Why the shade connection figures cannot run, or NULL when the API
 * they need is in the library. */
static const char *
shade_missing(void)
{
	if (!BENCH_HAVE(shade_connect) || !BENCH_HAVE(shade_conn_new) ||
	    !BENCH_HAVE(shade_conn_process))
		return "connection API (shade/conn.h) not in libshade yet";
	if (!BENCH_HAVE(shade_lookup) || !BENCH_HAVE(shade_invoke))
		return "proxy API (shade/proxy.h) not in libshade yet";
	if (!BENCH_HAVE(shade_object_new) || !BENCH_HAVE(shade_registry_new))
		return "object API (shade/object.h) not in libshade yet";
	return NULL;
}

/* Open a shade connection to address and look up "adder". */
static int
sh_open(TALLOC_CTX *ctx, const char *address, sh_cli **out, char *why,
	size_t whylen)
{
	sh_cli *c = talloc_zero(ctx, sh_cli);
	shade_error *err = NULL;
	const shade_shape_desc *shape;
	long idx;

	c->tmp = talloc_new(c);
	if (shade_connect(c, address, NULL, &c->c, &err) != SHADE_OK ||
	    shade_lookup(c->c, "adder", &c->adder, &err) != SHADE_OK) {
		snprintf(why, whylen, "connect/lookup %s: %s", address,
			 err != NULL ? err->message : "?");
		talloc_free(err);
		talloc_free(c);
		return -1;
	}
	shape = BENCH_HAVE(shade_ref_shape) ? shade_ref_shape(c->adder) : NULL;
	idx = shape != NULL ? shade_shape_find(shape, "add") : 0;
	c->member = idx >= 0 ? (uint32_t)idx : 0;
	*out = c;
	return 0;
}

/* The shade variants of one transport: typed (and dynamic and pipelined
 * on unix). */
static void
setup_shade(TALLOC_CTX *ctx, const settings *cfg, variant *typed,
	    variant *dyn, variant *pipe, variant *stub, variant *tpipe,
	    bench_net net, bench_proc **server)
{
	char why[256];
	const char *missing = shade_missing();
	bench_proc *p;
	sh_cli *c;

	typed->run = BENCH_HAVE(shade_request_begin) ? sh_typed : sh_dynamic;
	if (!BENCH_HAVE(shade_request_begin))
		typed->note = "shade_invoke (INVOKE by member index, dynamic API): typed-call API not landed";
	if (dyn != NULL)
		dyn->run = sh_dynamic;
	if (pipe != NULL) {
		pipe->run = sh_pipe;
		pipe->pipelined = true;
	}
	if (tpipe != NULL) {
		tpipe->run = sh_typed_pipe;
		tpipe->pipelined = true;
		tpipe->note = "shade_request_begin + shade_request_send, DEPTH in flight";
		if (missing != NULL)
			v_fail(tpipe, "%s", missing);
		else if (!BENCH_HAVE(shade_request_send))
			v_fail(tpipe, "shade_request_send not in libshade yet");
	}
	if (stub != NULL) {
		stub->run = sh_stub;
		stub->note = "generated stub and skeleton (bench/adder.idl)";
	}
	*server = NULL;
	if (stub != NULL && missing == NULL && !BENCH_HAVE(bench_stub_narrow))
		v_fail(stub, "generated stubs not built (make bench-stubs)");
	if (missing != NULL) {
		if (stub != NULL)
			v_fail(stub, "%s", missing);
		v_fail(typed, "%s", missing);
		if (dyn != NULL)
			v_fail(dyn, "%s", missing);
		if (pipe != NULL)
			v_fail(pipe, "%s", missing);
		return;
	}
	p = start_server(cfg, "shade", net, why, sizeof why);
	if (p == NULL || sh_open(ctx, p->address, &c, why, sizeof why) != 0) {
		v_fail(typed, "%s", why);
		if (dyn != NULL)
			v_fail(dyn, "%s", why);
		if (pipe != NULL)
			v_fail(pipe, "%s", why);
		if (stub != NULL)
			v_fail(stub, "%s", why);
		if (tpipe != NULL)
			v_fail(tpipe, "%s", why);
		return;
	}
	*server = p;
	if (tpipe != NULL && BENCH_HAVE(shade_request_send)) {
		c->depth = cfg->depth;
		c->rqs = talloc_zero_array(c, shade_request *, (size_t)cfg->depth);
		tpipe->state = c;
		tpipe->ok = c->rqs != NULL;
	}
	if (stub != NULL && BENCH_HAVE(bench_stub_narrow)) {
		shade_error *err = NULL;

		if (shade_lookup(c->c, "sadder", &c->sadder, &err) != SHADE_OK ||
		    bench_stub_narrow(c, c->sadder, &c->stub, &err) != SHADE_OK) {
			v_fail(stub, "sadder: %s",
			       err != NULL ? err->message : "?");
			talloc_free(err);
		} else {
			stub->state = c;
			stub->ok = true;
		}
	}
	typed->state = c;
	typed->ok = true;
	if (dyn != NULL) {
		dyn->state = c;
		dyn->ok = true;
	}
	if (pipe != NULL) {
		c->depth = cfg->depth;
		c->fs = talloc_zero_array(c, shade_future *, (size_t)cfg->depth);
		pipe->state = c;
		pipe->ok = BENCH_HAVE(shade_invoke_async) &&
			   BENCH_HAVE(shade_future_wait);
		if (!pipe->ok)
			v_fail(pipe, "futures (shade_invoke_async) not in libshade yet");
	}
}

/* ------------------------------------------------------------ rounds */

/* Run every usable variant: warm-up, then cfg->rounds rotated rounds. */
static void
run_rounds(const settings *cfg, variant *vs, int nv)
{
	int r, k;

	const char *only = getenv("ONLY");

	for (k = 0; k < nv; k++) {
		if (only != NULL && *only != '\0' && vs[k].ok &&
		    strstr(vs[k].name, only) == NULL)
			v_fail(&vs[k], "skipped: ONLY=%s", only);
		if (vs[k].ok && vs[k].run(&vs[k], 0, cfg->warm) == 0)
			vs[k].done = cfg->warm;
	}
	for (r = 0; r < cfg->rounds; r++) {
		for (k = 0; k < nv; k++) {
			variant *v = &vs[(k + r) % nv];
			long n = v->pipelined ? cfg->pipe_n : cfg->n;
			double t0, t1;

			if (!v->ok)
				continue;
			t0 = bench_now();
			if (v->run(v, v->done, n) != 0)
				continue;
			t1 = bench_now();
			v->done += n;
			if (t1 <= t0)
				t1 = t0 + 1e-9;
			bench_series_add(&fig(v->name, NULL)->s,
					 v->pipelined ? n / (t1 - t0)
						      : (t1 - t0) * 1e6 / n);
		}
	}
	for (k = 0; k < nv; k++) {
		figure *f = fig(vs[k].name, vs[k].pipelined ? "calls/s" : "us");

		f->unit = vs[k].pipelined ? "calls/s" : "us";
		if (!vs[k].ok)
			fig_na(f, "%s", vs[k].why);
		else if (vs[k].note != NULL)
			fig_note(f, vs[k].note);
	}
}

/* ratio = num / den per round, as a figure. */
static void
ratio(const char *name, const char *num, const char *den)
{
	figure *f = fig(name, "x");
	figure *a = fig(num, NULL), *b = fig(den, NULL);
	int i;

	if (a->na || b->na || a->s.n == 0 || b->s.n == 0) {
		fig_na(f, "needs %s and %s", num, den);
		return;
	}
	for (i = 0; i < a->s.n && i < b->s.n; i++)
		bench_series_add(&f->s, a->s.v[i] / b->s.v[i]);
	if (a->why[0] != '\0')
		fig_note(f, a->why);
}

/* ------------------------------------------------------------ one-shot */

/* Counters of c summed both ways. */
static void
conn_bytes(shade_conn *c, uint64_t *bytes, uint64_t *trips)
{
	shade_conn_stats s;

	memset(&s, 0, sizeof s);
	shade_conn_stats_get(c, &s);
	*bytes = s.bytes_sent + s.bytes_received;
	*trips = s.round_trips;
}

/* bytes.add: request + reply of one add(1, 2) on a warm connection. */
static void
measure_bytes_add(TALLOC_CTX *ctx, const char *address)
{
	figure *f = fig("bytes.add", "bytes");
	sh_cli *c;
	char why[256];
	uint64_t b0, b1, t0, t1;
	shade_value *args, *r = NULL;
	shade_error *err = NULL;
	uint8_t buf[BENCH_ADD_FRAME_MAX];

	fig_goal(f, "<= 24", 1, 24);
	fig_set("bytes.raw.add", "bytes",
		(double)(bench_add_request_frame(buf, 1, 1, 2) +
			 bench_add_reply_frame(buf, 1, 3)));
	if (!BENCH_HAVE(shade_conn_stats_get)) {
		fig_na(f, "shade_conn_stats_get not in libshade yet");
		return;
	}
	if (sh_open(ctx, address, &c, why, sizeof why) != 0) {
		fig_na(f, "%s", why);
		return;
	}
	args = shade_tuple_new(c->tmp, 2);
	shade_seq_append_take(args, shade_int(c->tmp, 1), NULL);
	shade_seq_append_take(args, shade_int(c->tmp, 2), NULL);
	conn_bytes(c->c, &b0, &t0);
	if (shade_invoke(c->tmp, c->adder, "add", args, NULL, &r, &err) !=
	    SHADE_OK) {
		fig_err(f, "add(1, 2)", err);
	} else {
		conn_bytes(c->c, &b1, &t1);
		bench_series_add(&f->s, (double)(b1 - b0));
		fig_note(f, "second request on the connection, after LOOKUP");
	}
	shade_ref_release(c->adder);
	talloc_free(c);
}

/* first_touch: lookup("obj") and read x on a connection that has only
 * exchanged HELLO (and one lookup of another name, so the handshake is
 * out of the count). */
static void
measure_first_touch(TALLOC_CTX *ctx, const char *address)
{
	figure *ft = fig("first_touch.roundtrips", "round trips");
	figure *fb = fig("first_touch.bytes", "bytes");
	sh_cli *c;
	char why[256];
	uint64_t b0, b1, t0, t1;
	shade_ref *obj = NULL;
	shade_value *x = NULL;
	shade_error *err = NULL;

	fig_goal(ft, "= 2", 0, 2);
	fig_goal(fb, "< 200", 1, 199);
	if (!BENCH_HAVE(shade_conn_stats_get) || !BENCH_HAVE(shade_getattr)) {
		fig_na(ft, "connection stats / getattr not in libshade yet");
		fig_na(fb, "%s", ft->why);
		return;
	}
	if (sh_open(ctx, address, &c, why, sizeof why) != 0) {
		fig_na(ft, "%s", why);
		fig_na(fb, "%s", why);
		return;
	}
	conn_bytes(c->c, &b0, &t0);
	if (shade_lookup(c->c, "obj", &obj, &err) != SHADE_OK ||
	    shade_getattr(c->tmp, obj, "x", &x, &err) != SHADE_OK) {
		fig_err(ft, "lookup/getattr", err);
		fig_na(fb, "%s", ft->why);
	} else if (shade_value_kind(x) != SHADE_INT ||
		   shade_value_as_int(x) != 42) {
		fig_na(ft, "obj.x is not 42");
		fig_na(fb, "obj.x is not 42");
	} else {
		conn_bytes(c->c, &b1, &t1);
		bench_series_add(&ft->s, (double)(t1 - t0));
		bench_series_add(&fb->s, (double)(b1 - b0));
	}
	talloc_free(err);
	shade_ref_release(obj);
	shade_ref_release(c->adder);
	talloc_free(c);
}

/* Force the remote list `name` (of len items) on c reps times after one
 * untimed force, adding MB of encoded data (frame heads included) per
 * second to f; a note says MB per force and items per second. */
static void
force_rate(sh_cli *c, const char *name, size_t len, int reps, figure *f)
{
	shade_ref *r = NULL;
	shade_error *err = NULL;
	uint64_t b0, b1, t0, t1;
	int i;

	if (shade_lookup(c->c, name, &r, &err) != SHADE_OK) {
		fig_err(f, name, err);
		talloc_free(err);
		return;
	}
	/* One untimed force first, as the round-trip variants warm up: the
	 * first ones pay for both processes' heaps growing by tens of MB
	 * (page faults), 6-10 MB/s against the steady figure. */
	for (i = -1; i < reps; i++) {
		shade_value *all = NULL;
		double s0, s1;

		conn_bytes(c->c, &b0, &t0);
		s0 = bench_now();
		if (shade_force(c->tmp, r, &all, &err) != SHADE_OK) {
			fig_err(f, "force", err);
			talloc_free(err);
			break;
		}
		s1 = bench_now();
		conn_bytes(c->c, &b1, &t1);
		if (shade_value_len(all) != len) {
			fig_na(f, "force returned %zu elements",
			       shade_value_len(all));
			break;
		}
		if (i >= 0)
			bench_series_add(&f->s,
					 (double)(b1 - b0) / 1e6 / (s1 - s0));
		fig_notef(f, "%.1f MB per force (%zu items, %.0f M items/s), "
			  "decode into values included",
			  (double)(b1 - b0) / 1e6, len,
			  (double)len / 1e6 / (s1 - s0));
		talloc_free_children(c->tmp);
	}
	shade_ref_release(r);
}

/* container.member.bytes: one getitem on the remote list of 10^6 (and on
 * one of 10, to show the size does not depend on the length);
 * force.mb_per_s: force of the whole big list of ints, encoded bytes / s
 * (typed arrays, doc/protocol.md 7.4); force.floats.mb_per_s and
 * force.strs.mb_per_s the same for 10^6 floats and 10^5 short strings;
 * force.classic.mb_per_s the ints on a connection that asked for no
 * typed arrays (each int a CBOR item), the baseline of the same run. */
static void
measure_container(TALLOC_CTX *ctx, const settings *cfg, const char *address)
{
	figure *fm = fig("container.member.bytes", "bytes");
	figure *fs = fig("container.member.bytes.len10", "bytes");
	figure *ff = fig("force.mb_per_s", "MB/s");
	figure *fl = fig("force.floats.mb_per_s", "MB/s");
	figure *fstr = fig("force.strs.mb_per_s", "MB/s");
	figure *fc = fig("force.classic.mb_per_s", "MB/s");
	sh_cli *c, *cc = NULL;
	char why[256];
	shade_ref *big = NULL, *small = NULL;
	shade_error *err = NULL;
	uint64_t b0, b1, t0, t1;
	int i, reps = cfg->quick ? 3 : 7;
	shade_conn_opts classic = { .no_typed_arrays = true };

	fig_goal(fm, "= len10 size", 0, 0);
	fig_goal(ff, ">= 1000", -1, 1000);
	fig_goal(fl, ">= 1000", -1, 1000);
	fig_goal(fstr, ">= 1000", -1, 1000);
	if (!BENCH_HAVE(shade_getitem) || !BENCH_HAVE(shade_force) ||
	    !BENCH_HAVE(shade_conn_stats_get)) {
		fig_na(fm, "container API (shade_getitem/force) not in libshade yet");
		fig_na(fs, "%s", fm->why);
		fig_na(ff, "%s", fm->why);
		fig_na(fl, "%s", fm->why);
		fig_na(fstr, "%s", fm->why);
		fig_na(fc, "%s", fm->why);
		return;
	}
	if (sh_open(ctx, address, &c, why, sizeof why) != 0 ||
	    shade_lookup(c->c, "big", &big, &err) != SHADE_OK ||
	    shade_lookup(c->c, "small", &small, &err) != SHADE_OK) {
		if (why[0] == '\0' || err != NULL)
			snprintf(why, sizeof why, "lookup big/small: %s",
				 err != NULL ? err->message : "?");
		fig_na(fm, "%s", why);
		fig_na(fs, "%s", why);
		fig_na(ff, "%s", why);
		fig_na(fl, "%s", why);
		fig_na(fstr, "%s", why);
		fig_na(fc, "%s", why);
		talloc_free(err);
		return;
	}
	for (i = 0; i < 2; i++) {
		shade_ref *r = i == 0 ? big : small;
		figure *f = i == 0 ? fm : fs;
		shade_value key = { .tag = SHADE_INT, .u.i = 7 };
		shade_value *item = NULL;

		conn_bytes(c->c, &b0, &t0);
		if (shade_getitem(c->tmp, r, &key, &item, &err) != SHADE_OK) {
			fig_err(f, "getitem", err);
			talloc_free(err);
			err = NULL;
			continue;
		}
		conn_bytes(c->c, &b1, &t1);
		bench_series_add(&f->s, (double)(b1 - b0));
		fig_notef(f, "%llu round trip(s)",
			 (unsigned long long)(t1 - t0));
	}
	if (fs->s.n == 1)
		fm->goal_v = fs->s.v[0];
	shade_ref_release(big);
	shade_ref_release(small);
	force_rate(c, "big", 1000000, reps, ff);
	force_rate(c, "bigf", 1000000, reps, fl);
	force_rate(c, "bigs", 100000, reps, fstr);
	/* the baseline: every int a CBOR item */
	cc = talloc_zero(ctx, sh_cli);
	if (cc != NULL)
		cc->tmp = talloc_new(cc);
	if (cc == NULL || cc->tmp == NULL ||
	    shade_connect(cc, address, &classic, &cc->c, &err) != SHADE_OK) {
		fig_err(fc, "connect", err);
		talloc_free(err);
	} else {
		force_rate(cc, "big", 1000000, reps, fc);
	}
	talloc_free(cc);
	shade_ref_release(c->adder);
	talloc_free(c);
}

/* ------------------------------------------------------------ echo */

/* Size of the large-value echo payload. */
#define ECHO_LEN ((size_t)1 << 20)

/* The large-value echo clients. */
typedef struct echo_cli {
	int fd;              /* raw connection to the echo server */
	sh_cli *c;           /* shade connection */
	shade_ref *dyn;      /* proxy of "echo" (dynamic) */
	shade_ref *typed;    /* proxy of "techo" (typed) */
	uint32_t member;     /* index of echo in techo's shape */
	uint8_t *out;        /* the payload (ASCII: a valid string too) */
	uint8_t *in;         /* what came back (raw) */
	shade_value *args[2]; /* (bytes,) and (str,) argument tuples */
} echo_cli;

/* One raw echo: the payload written, the same bytes read back. */
static int
echo_raw(echo_cli *e, char *why, size_t whylen)
{
	if (bench_exchange(e->fd, e->out, ECHO_LEN, e->in, ECHO_LEN) != 0) {
		snprintf(why, whylen, "raw echo: %s", strerror(errno));
		return -1;
	}
	if (memcmp(e->in, e->out, ECHO_LEN) != 0) {
		snprintf(why, whylen, "raw echo: wrong bytes");
		return -1;
	}
	return 0;
}

/* One dynamic echo (str: the string, else the bytes). */
static int
echo_dyn(echo_cli *e, bool str, char *why, size_t whylen)
{
	shade_value *r = NULL;
	shade_error *err = NULL;
	int rc = 0;

	if (shade_invoke(e->c->tmp, e->dyn, "echo", e->args[str], NULL, &r,
			 &err) != SHADE_OK) {
		snprintf(why, whylen, "dynamic echo: %s",
			 err != NULL ? err->message : "?");
		rc = -1;
	} else if (shade_value_kind(r) != (str ? SHADE_STR : SHADE_BYTES) ||
		   shade_value_len(r) != ECHO_LEN ||
		   memcmp(str ? (const void *)shade_value_as_str(r, NULL)
			      : shade_value_as_bytes(r, NULL),
			  e->out, ECHO_LEN) != 0) {
		snprintf(why, whylen, "dynamic echo: wrong result");
		rc = -1;
	}
	talloc_free(err);
	talloc_free_children(e->c->tmp);
	return rc;
}

/* One typed echo: the payload written into the request, the result read
 * in place from the reply. */
static int
echo_typed(echo_cli *e, bool str, char *why, size_t whylen)
{
	shade_request *call = NULL;
	shade_buf *args = NULL;
	shade_cbor_dec *res = NULL;
	shade_error *err = NULL;
	const uint8_t *p = NULL;
	const char *s = NULL;
	size_t len = 0;
	shade_status st;
	int rc = 0;

	st = shade_request_begin(e->typed, e->member, SHADE_DISPATCH_INVOKE,
				 NULL, &call, &args, &err);
	if (st == SHADE_OK) {
		shade_cbor_put_array(args, 1);
		if (str)
			shade_cbor_put_text(args, (const char *)e->out, ECHO_LEN);
		else
			shade_cbor_put_bytes(args, e->out, ECHO_LEN);
		st = shade_request_finish(call, &res, &err);
	}
	if (st == SHADE_OK && str) {
		st = shade_cbor_read_text(res, &s, &len, &err);
		p = (const uint8_t *)s;
	} else if (st == SHADE_OK) {
		st = shade_cbor_read_bytes(res, &p, &len, &err);
	}
	if (st != SHADE_OK) {
		snprintf(why, whylen, "typed echo: %s",
			 err != NULL ? err->message : "?");
		rc = -1;
	} else if (len != ECHO_LEN || memcmp(p, e->out, ECHO_LEN) != 0) {
		snprintf(why, whylen, "typed echo: wrong result");
		rc = -1;
	}
	talloc_free(call);
	talloc_free(err);
	return rc;
}

/* Minor page faults of this process so far. */
static long
minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

/* Set up the echo clients; 0, or -1 with why filled. */
static int
echo_open(TALLOC_CTX *ctx, const settings *cfg, const char *address,
	  echo_cli **out, char *why, size_t whylen)
{
	echo_cli *e = talloc_zero(ctx, echo_cli);
	bench_proc *p = start_server(cfg, "echo", BENCH_UNIX, why, whylen);
	const shade_shape_desc *shape;
	shade_error *err = NULL;
	size_t i;
	long idx;

	e->fd = -1;
	e->out = talloc_array(e, uint8_t, ECHO_LEN + 1);
	e->in = talloc_array(e, uint8_t, ECHO_LEN);
	if (p == NULL || e->out == NULL || e->in == NULL)
		return -1;
	for (i = 0; i < ECHO_LEN; i++)
		e->out[i] = (uint8_t)('a' + (i * 7 + i / 4093) % 26);
	e->out[ECHO_LEN] = '\0';
	e->fd = bench_connect(p->address);
	if (e->fd < 0) {
		snprintf(why, whylen, "connect the echo server: %s",
			 strerror(errno));
		return -1;
	}
	if (sh_open(e, address, &e->c, why, whylen) != 0)
		return -1;
	if (shade_lookup(e->c->c, "echo", &e->dyn, &err) != SHADE_OK ||
	    shade_lookup(e->c->c, "techo", &e->typed, &err) != SHADE_OK) {
		snprintf(why, whylen, "lookup echo/techo: %s",
			 err != NULL ? err->message : "?");
		talloc_free(err);
		return -1;
	}
	shape = shade_ref_shape(e->typed);
	idx = shape != NULL ? shade_shape_find(shape, "echo") : 0;
	e->member = idx >= 0 ? (uint32_t)idx : 0;
	for (i = 0; i < 2; i++) {
		shade_value *v = i == 1 ? shade_str(e, (const char *)e->out)
					: shade_bytes(e, e->out, ECHO_LEN);

		e->args[i] = shade_tuple_new(e, 1);
		if (v == NULL || e->args[i] == NULL ||
		    shade_seq_append_take(e->args[i], v, NULL) != SHADE_OK) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	*out = e;
	return 0;
}

/* echo.*: dynamic and typed echo of 1 MiB bytes and string against the
 * raw echo of the same bytes, in interleaved rounds (ms per call), and
 * the client's minor page faults per call. */
static void
measure_echo(TALLOC_CTX *ctx, const settings *cfg, const char *address)
{
	static const char *const names[5] = {
		"echo.raw.1mib", "echo.dynamic.bytes.1mib",
		"echo.dynamic.str.1mib", "echo.typed.bytes.1mib",
		"echo.typed.str.1mib",
	};
	figure *f[5], *ff;
	echo_cli *e = NULL;
	char why[256] = "";
	int r, k, j, rounds = cfg->quick ? 5 : 11, calls = cfg->quick ? 8 : 24;

	for (k = 0; k < 5; k++)
		f[k] = fig(names[k], "ms");
	ff = fig("echo.dynamic.bytes.client_faults", "faults");
	if (echo_open(ctx, cfg, address, &e, why, sizeof why) != 0) {
		for (k = 0; k < 5; k++)
			fig_na(f[k], "%s", why);
		fig_na(ff, "%s", why);
		goto out;
	}
	for (k = 0; k < 5; k++) /* warm up: buffers, shapes */
		for (j = 0; j < 3; j++)
			if ((k == 0 ? echo_raw(e, why, sizeof why)
				    : k < 3 ? echo_dyn(e, k == 2, why, sizeof why)
					    : echo_typed(e, k == 4, why,
							 sizeof why)) != 0) {
				fig_na(f[k], "%s", why);
				break;
			}
	for (r = 0; r < rounds; r++) {
		for (j = 0; j < 5; j++) {
			long flt0 = minor_faults();
			double t0, t1;
			int i, rc = 0;

			k = (j + r) % 5;
			if (f[k]->na)
				continue;
			t0 = bench_now();
			for (i = 0; i < calls && rc == 0; i++)
				rc = k == 0 ? echo_raw(e, why, sizeof why)
				     : k < 3 ? echo_dyn(e, k == 2, why, sizeof why)
					     : echo_typed(e, k == 4, why, sizeof why);
			t1 = bench_now();
			if (rc != 0) {
				fig_na(f[k], "%s", why);
				continue;
			}
			bench_series_add(&f[k]->s, (t1 - t0) * 1e3 / calls);
			if (k == 1)
				bench_series_add(&ff->s,
						 (double)(minor_faults() - flt0) /
							 calls);
		}
	}
	fig_note(f[0], "1 MiB written to a Unix socket and read back");
out:
	for (k = 1; k < 5; k++) {
		char rn[64];

		snprintf(rn, sizeof rn, "ratio.%s_vs_raw", names[k]);
		ratio(rn, names[k], names[0]);
		fig_goal(fig(rn, "x"), "<= 1.5", 1, 1.5);
	}
	if (e != NULL) {
		shade_ref_release(e->dyn);
		shade_ref_release(e->typed);
		if (e->c != NULL)
			shade_ref_release(e->c->adder);
		if (e->fd >= 0)
			close(e->fd);
		talloc_free(e);
	}
}

/* Call a maker method with one int argument; returns its int result or
 * -1 with err set. */
static int64_t
maker_call(shade_ref *maker, const char *name, int64_t arg, TALLOC_CTX *ctx,
	   shade_value **keep, shade_error **err)
{
	shade_value *args = shade_tuple_new(ctx, 1), *r = NULL;

	shade_seq_append_take(args, shade_int(ctx, arg), NULL);
	if (shade_invoke(ctx, maker, name, args, NULL, &r, err) != SHADE_OK)
		return -1;
	if (keep != NULL) {
		*keep = r;
		return 0;
	}
	return shade_value_kind(r) == SHADE_INT ? shade_value_as_int(r) : -1;
}

/* mem.per_export / mem.per_proxy: the server makes mem_n objects and
 * returns them in a list.  The server's heap grows by the objects plus
 * their exports; this process's by the list plus the proxies.  To count
 * the proxies alone, they are retained into a plain array, the list is
 * freed (the array was there before the first reading).  Heap bytes
 * (mallinfo2) rather than talloc sizes, because proxies are malloc
 * blocks; each side frees the large buffers it keeps for reuse (the
 * frame that carried the list, the list's storage) before each reading,
 * since they belong to no object and go after two idle seconds. */
static void
measure_memory(TALLOC_CTX *ctx, const settings *cfg, const char *address)
{
	figure *fe = fig("mem.per_export.bytes", "bytes");
	figure *fp = fig("mem.per_proxy.bytes", "bytes");
	sh_cli *c;
	char why[256];
	shade_ref *maker = NULL, **held = NULL;
	shade_error *err = NULL;
	shade_value *list = NULL;
	int64_t s0, s1, objsize;
	size_t c0, c1, i, n = (size_t)cfg->mem_n;
	shade_conn_stats st0, st1;

	fig_goal(fe, "< 100", 1, 99.999);
	fig_goal(fp, "< 64", 1, 63.999);
	if (sh_open(ctx, address, &c, why, sizeof why) != 0) {
		fig_na(fe, "%s", why);
		fig_na(fp, "%s", why);
		return;
	}
	held = calloc(n, sizeof *held);
	if (held == NULL) {
		fig_na(fe, "out of memory");
		fig_na(fp, "out of memory");
		goto out;
	}
	if (shade_lookup(c->c, "maker", &maker, &err) != SHADE_OK ||
	    (objsize = maker_call(maker, "objsize", cfg->mem_n, c->tmp, NULL,
				  &err)) < 0 ||
	    (s0 = maker_call(maker, "mem", 0, c->tmp, NULL, &err)) < 0) {
		fig_err(fe, "maker", err);
		fig_na(fp, "%s", fe->why);
		goto out;
	}
	memset(&st0, 0, sizeof st0);
	shade_conn_stats_get(c->c, &st0);
	bench_trim_kept();
	c0 = bench_heap_bytes();
	if (maker_call(maker, "make", cfg->mem_n, ctx, &list, &err) < 0) {
		fig_err(fe, "maker.make", err);
		fig_na(fp, "%s", fe->why);
		goto out;
	}
	s1 = maker_call(maker, "mem", 0, c->tmp, NULL, &err);
	if (s1 < 0 || shade_value_len(list) != n) {
		fig_err(fe, "maker.mem", err);
		fig_na(fp, "%s", fe->why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const shade_value *v = shade_seq_at(list, i);

		held[i] = shade_value_kind(v) == SHADE_REF
				  ? shade_ref_retain(shade_value_as_ref(v))
				  : NULL;
	}
	talloc_free(list);
	list = NULL;
	bench_trim_kept();
	c1 = bench_heap_bytes();
	memset(&st1, 0, sizeof st1);
	shade_conn_stats_get(c->c, &st1);
	bench_series_add(&fe->s, (double)(s1 - s0) / (double)n -
					 (double)objsize);
	fig_notef(fe, "server heap delta / %zu minus %lld bytes of the object",
		  n, (long long)objsize);
	bench_series_add(&fp->s, ((double)c1 - (double)c0) / (double)n);
	fig_notef(fp, "client heap delta / %zu; shade_conn_stats: %.1f",
		  n, ((double)st1.import_bytes - (double)st0.import_bytes) /
			     (double)n);
out:
	if (held != NULL) {
		for (i = 0; i < n; i++)
			shade_ref_release(held[i]);
		free(held);
	}
	talloc_free(err);
	talloc_free(list);
	shade_ref_release(maker);
	shade_ref_release(c->adder);
	talloc_free(c);
}

/* server.connections_held: open cfg->conns shade connections to one
 * server (each looks "adder" up and calls it once), then call add on
 * every one again; reports how many were held and answered. */
static void
measure_connections(TALLOC_CTX *ctx, const settings *cfg, const char *address)
{
	figure *f = fig("server.connections_held", "connections");
	long limit = bench_raise_nofile(), want = cfg->conns, held = 0, i,
	     answered = 0;
	sh_cli **cs;
	char why[256] = "";
	double t0 = bench_now();
	TALLOC_CTX *pool = talloc_new(ctx);

	fig_goal(f, ">= 10000", -1, 10000);
	if (want > limit - 64)
		want = limit - 64;
	cs = talloc_zero_array(pool, sh_cli *, (size_t)want);
	for (i = 0; i < want && bench_now() - t0 < 120; i++) {
		if (sh_open(pool, address, &cs[i], why, sizeof why) != 0)
			break;
		held++;
	}
	for (i = 0; i < held && bench_now() - t0 < 180; i++) {
		shade_value *args = add_args(cs[i]->tmp, i), *r = NULL;
		uint64_t a, b;

		bench_call_args((uint64_t)i, &a, &b);
		if (shade_invoke(cs[i]->tmp, cs[i]->adder, "add", args, NULL,
				 &r, NULL) == SHADE_OK &&
		    shade_value_kind(r) == SHADE_INT &&
		    shade_value_as_int(r) == (int64_t)(a + b))
			answered++;
	}
	bench_series_add(&f->s, (double)held);
	fig_notef(f, "asked %ld (fd limit %ld), %ld answered a call after all were open%s%s",
		 want, limit, answered, why[0] ? "; stopped: " : "", why);
	for (i = 0; i < held; i++)
		shade_ref_release(cs[i]->adder);
	talloc_free(pool);
}

/* Run argv (argv[0] a path) to completion within limit_s, stdout to
 * the file `out` (NULL: /dev/null), stderr to /dev/null; returns the exit
 * status, or -1. */
static int
run_to(char *const argv[], double limit_s, const char *out)
{
	pid_t pid = fork();
	int status;
	double t0 = bench_now();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		int fo = out != NULL ? open(out, O_WRONLY | O_CREAT | O_TRUNC,
					    0600)
				     : dn;

		if (dn < 0 || fo < 0)
			_exit(126);
		dup2(fo, 1);
		dup2(dn, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) { /* bounded by limit_s */
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (bench_now() - t0 > limit_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(500);
	}
}

/* Lines in the file at path, or -1. */
static long
count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	long n = 0;
	int ch;

	if (fp == NULL)
		return -1;
	while ((ch = getc(fp)) != EOF) /* bounded by the file's size */
		n += ch == '\n';
	fclose(fp);
	return n;
}

/* idlc.ms_per_10k_lines: time shade-idlc on the 10 000 lines of IDL
 * bench/gen_idl.py (the compiler's own generator) writes. */
static void
measure_idlc(const settings *cfg)
{
	figure *f = fig("idlc.ms_per_10k_lines", "ms");
	figure *fc = fig("idlc.check_ms_per_10k_lines", "ms");
	char idl[PATH_MAX], out[PATH_MAX];
	char *argv[8];
	long lines;
	int i, reps = cfg->quick ? 3 : 7, rc;

	fig_goal(f, "< 100", 1, 99.999);
	if (access(cfg->idlc, X_OK) != 0) {
		fig_na(f, "%s not built", cfg->idlc);
		fig_na(fc, "%s", f->why);
		return;
	}
	snprintf(idl, sizeof idl, "%s/gen10k.idl", cfg->dir);
	snprintf(out, sizeof out, "%s/idlc-out", cfg->dir);
	mkdir(out, 0700);
	argv[0] = "/usr/bin/env";
	argv[1] = "python3";
	argv[2] = (char *)cfg->idl_gen;
	argv[3] = "10000";
	argv[4] = NULL;
	rc = run_to(argv, 60, idl);
	lines = rc == 0 ? count_lines(idl) : -1;
	if (lines <= 0) {
		fig_na(f, "%s did not write the IDL (exit %d)", cfg->idl_gen, rc);
		fig_na(fc, "%s", f->why);
		return;
	}
	argv[0] = (char *)cfg->idlc;
	for (i = 0; i < reps; i++) {
		double t0, t1;

		argv[1] = "--check";
		argv[2] = idl;
		argv[3] = NULL;
		t0 = bench_now();
		rc = run_to(argv, 60, NULL);
		t1 = bench_now();
		if (rc != 0) {
			fig_na(fc, "shade-idlc --check exited %d on %s", rc, idl);
		} else {
			bench_series_add(&fc->s, (t1 - t0) * 1e3 * 10000.0 / lines);
		}
		argv[1] = "-o";
		argv[2] = out;
		argv[3] = idl;
		argv[4] = NULL;
		t0 = bench_now();
		rc = run_to(argv, 60, NULL);
		t1 = bench_now();
		if (rc != 0) {
			fig_na(f, "shade-idlc -o exited %d on %ld generated lines",
			       rc, lines);
			break;
		}
		bench_series_add(&f->s, (t1 - t0) * 1e3 * 10000.0 / lines);
	}
	if (!f->na)
		fig_notef(f, "%ld lines, C preprocessor included", lines);
}

/* ------------------------------------------------------------ output */

/* Whether f meets its goal (+1), misses it (-1) or has none (0). */
static int
goal_met(const figure *f, double med)
{
	if (f->goal == NULL || f->na || f->s.n == 0)
		return 0;
	if (f->goal_dir > 0)
		return med <= f->goal_v ? 1 : -1;
	if (f->goal_dir < 0)
		return med >= f->goal_v ? 1 : -1;
	return med == f->goal_v ? 1 : -1;
}

/* Format v with a precision fitting its size. */
static void
fmt_num(char *buf, size_t len, double v)
{
	if (v >= 10000 || (v == (double)(long long)v && v < 1e15))
		snprintf(buf, len, "%.0f", v);
	else if (v >= 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

/* Print the `bench` lines, then the table. */
static void
print_results(const settings *cfg)
{
	int i;

	for (i = 0; i < nfigs; i++) {
		figure *f = &figs[i];
		double med, lo, hi;
		char num[32];

		if (f->na || f->s.n == 0) {
			printf("bench %s n/a (%s)\n", f->name,
			       f->why[0] ? f->why : "not measured");
			continue;
		}
		bench_series_summary(&f->s, &med, &lo, &hi);
		fmt_num(num, sizeof num, med);
		printf("bench %s %s %s\n", f->name, num, f->unit);
	}
	if (getenv("VERBOSE") != NULL && *getenv("VERBOSE") != '\0') {
		for (i = 0; i < nfigs; i++) { /* every value, in run order */
			int j;

			fprintf(stderr, "series %s:", figs[i].name);
			for (j = 0; j < figs[i].s.n; j++)
				fprintf(stderr, " %.4g", figs[i].s.v[j]);
			fputc('\n', stderr);
		}
	}
	printf("\n%-40s %12s %23s %-12s %-10s %s\n", "figure", "median",
	       "min-max", "unit", "goal", "note");
	for (i = 0; i < nfigs; i++) {
		figure *f = &figs[i];
		double med, lo, hi;
		char num[32], a[32], b[32], range[64];
		int met;

		if (f->na || f->s.n == 0) {
			printf("%-40s %12s %23s %-12s %-10s %s\n", f->name,
			       "n/a", "", f->unit ? f->unit : "",
			       f->goal ? f->goal : "", f->why);
			continue;
		}
		bench_series_summary(&f->s, &med, &lo, &hi);
		fmt_num(num, sizeof num, med);
		fmt_num(a, sizeof a, lo);
		fmt_num(b, sizeof b, hi);
		if (f->s.n > 1)
			snprintf(range, sizeof range, "%s-%s", a, b);
		else
			range[0] = '\0';
		met = goal_met(f, med);
		printf("%-40s %12s %23s %-12s %-10s %s%s\n", f->name, num,
		       range, f->unit, f->goal ? f->goal : "",
		       met > 0 ? "[met] " : met < 0 ? "[MISSED] " : "",
		       f->why);
	}
	printf("\n%d interleaved rounds of %ld calls (pipelined: %ld, %ld in "
	       "flight); medians, min-max over rounds; %s\n",
	       cfg->rounds, cfg->n, cfg->pipe_n, cfg->depth,
	       getenv("PIN") != NULL && *getenv("PIN") != '\0'
		       ? "client and servers pinned to one CPU (PIN)"
		       : "not pinned");
}

/* ------------------------------------------------------------ main */

/* A positive number from the environment, or def. */
static long
env_num(const char *name, long def, long max)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v <= 0 || v > max) {
		fprintf(stderr, "bench: ignoring %s=%s (want 1..%ld)\n", name,
			s, max);
		return def;
	}
	return v;
}

/* Remove the temporary directory and what the benchmarks left there. */
static void
remove_dir(const settings *cfg)
{
	char cmd[PATH_MAX + 32];
	char *argv[4];

	if (strncmp(cfg->dir, "/tmp/shade-bench.", 17) != 0)
		return;
	if (getenv("KEEP") != NULL && *getenv("KEEP") != '\0') {
		fprintf(stderr, "bench: KEEP set, left %s\n", cfg->dir);
		return;
	}
	snprintf(cmd, sizeof cmd, "%s", cfg->dir);
	argv[0] = "/bin/rm";
	argv[1] = "-rf";
	argv[2] = cmd;
	argv[3] = NULL;
	run_to(argv, 30, NULL);
}

/* Parse the command line into cfg; 0 or 2 (usage). */
static int
parse_args(int argc, char **argv, settings *cfg)
{
	int i;
	char self[PATH_MAX];
	ssize_t n;

	memset(cfg, 0, sizeof *cfg);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(cfg->bindir, sizeof cfg->bindir, "%s", self);
	} else {
		snprintf(cfg->bindir, sizeof cfg->bindir, "build/bench");
	}
	if (strlen(cfg->bindir) + 20 < sizeof cfg->idlc) {
		memcpy(cfg->idlc, cfg->bindir, strlen(cfg->bindir));
		memcpy(cfg->idlc + strlen(cfg->bindir), "/../bin/shade-idlc",
		       sizeof "/../bin/shade-idlc");
	}
	snprintf(cfg->idl_gen, sizeof cfg->idl_gen, "bench/gen_idl.py");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg->quick = true;
		} else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc) {
			snprintf(cfg->bindir, sizeof cfg->bindir, "%s", argv[++i]);
		} else if (strcmp(argv[i], "--idlc") == 0 && i + 1 < argc) {
			snprintf(cfg->idlc, sizeof cfg->idlc, "%s", argv[++i]);
		} else if (strcmp(argv[i], "--idl-gen") == 0 && i + 1 < argc) {
			snprintf(cfg->idl_gen, sizeof cfg->idl_gen, "%s",
				 argv[++i]);
		} else {
			fprintf(stderr, "usage: shade-bench [--quick] [--bin DIR] "
					"[--idlc PATH] [--idl-gen PATH]\n");
			return 2;
		}
	}
	cfg->rounds = (int)env_num("ROUNDS", cfg->quick ? 9 : 21, BENCH_MAX_ROUNDS);
	cfg->n = env_num("N", cfg->quick ? 3000 : 10000, 10000000);
	cfg->warm = env_num("WARM", cfg->quick ? 500 : 2000, 10000000);
	cfg->depth = env_num("DEPTH", 1000, 100000);
	cfg->pipe_n = cfg->n * 10;
	cfg->conns = env_num("CONNS", cfg->quick ? 1000 : 10000, 100000);
	cfg->mem_n = env_num("MEM_N", cfg->quick ? 100000 : 1000000, 2000000);
	return 0;
}

/* The peers contract's client (see the top of this file): returns the
 * exit status. */
static int
peer_client(int argc, char **argv)
{
	TALLOC_CTX *ctx;
	variant v;
	sh_cli *c = NULL;
	char address[600], why[256];
	long n, warm, depth;
	bool pipelined, typed;
	double t0, t1;

	if (argc != 9) {
		fprintf(stderr, "usage: shade-bench --peer-client <typed|dynamic> "
				"<unix|tcp> <path|port> <sync|pipelined> N WARM DEPTH\n");
		return 2;
	}
	typed = strcmp(argv[2], "typed") == 0;
	pipelined = strcmp(argv[5], "pipelined") == 0;
	n = strtol(argv[6], NULL, 10);
	warm = strtol(argv[7], NULL, 10);
	depth = strtol(argv[8], NULL, 10);
	if (n <= 0 || warm < 0 || depth <= 0 || depth > 1000000) {
		fprintf(stderr, "shade-bench: bad N, WARM or DEPTH\n");
		return 2;
	}
	if (strcmp(argv[3], "unix") == 0)
		snprintf(address, sizeof address, "unix:%s", argv[4]);
	else
		snprintf(address, sizeof address, "tcp:127.0.0.1:%s", argv[4]);
	if (shade_missing() != NULL) {
		fprintf(stderr, "shade-bench: %s\n", shade_missing());
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(900);
	ctx = talloc_new(NULL);
	if (sh_open(ctx, address, &c, why, sizeof why) != 0) {
		fprintf(stderr, "shade-bench: %s\n", why);
		talloc_free(ctx);
		return 1;
	}
	memset(&v, 0, sizeof v);
	v.state = c;
	v.ok = true;
	c->depth = depth;
	c->fs = talloc_zero_array(c, shade_future *, (size_t)depth);
	c->rqs = talloc_zero_array(c, shade_request *, (size_t)depth);
	if (pipelined)
		v.run = typed && BENCH_HAVE(shade_request_send) ? sh_typed_pipe
								 : sh_pipe;
	else
		v.run = typed && BENCH_HAVE(shade_request_begin) ? sh_typed
								  : sh_dynamic;
	if (v.run(&v, 0, warm) != 0)
		goto fail;
	t0 = bench_now();
	if (v.run(&v, warm, n) != 0)
		goto fail;
	t1 = bench_now();
	if (t1 <= t0)
		t1 = t0 + 1e-9;
	printf("peer=%s transport=%s mode=%s calls=%ld us_per_call=%.3f "
	       "calls_per_s=%.1f\n", typed ? "shade" : "shade.dynamic",
	       argv[3], pipelined ? "pipelined" : "sync", n,
	       (t1 - t0) * 1e6 / (double)n, (double)n / (t1 - t0));
	shade_ref_release(c->adder);
	talloc_free(ctx);
	return 0;
fail:
	fprintf(stderr, "shade-bench: %s\n", v.why);
	shade_ref_release(c->adder);
	talloc_free(ctx);
	return 1;
}

int
main(int argc, char **argv)
{
	settings cfg;
	TALLOC_CTX *ctx;
	variant vs[12];
	bench_proc *sh_unix = NULL, *sh_tcp = NULL;
	int rc, k;

	if (argc > 1 && strcmp(argv[1], "--peer-client") == 0)
		return peer_client(argc, argv);
	rc = parse_args(argc, argv, &cfg);
	if (rc != 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	alarm(cfg.quick ? 120 : 600);
	ctx = talloc_new(NULL);
	snprintf(cfg.dir, sizeof cfg.dir, "/tmp/shade-bench.XXXXXX");
	if (mkdtemp(cfg.dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	bench_raise_nofile();
	if (getenv("PIN") != NULL && *getenv("PIN") != '\0') {
		cpu_set_t set;
		long cpu = strtol(getenv("PIN"), NULL, 10);

		CPU_ZERO(&set);
		CPU_SET((int)cpu, &set);
		if (cpu < 0 || cpu >= CPU_SETSIZE ||
		    sched_setaffinity(0, sizeof set, &set) != 0)
			fprintf(stderr, "bench: PIN=%s ignored: %s\n",
				getenv("PIN"), strerror(errno));
	}

	memset(vs, 0, sizeof vs);
	vs[0].name = "rtt.raw.unix";
	vs[1].name = "rtt.raw_pipelined.unix";
	vs[2].name = "rtt.raw.tcp";
	vs[3].name = "rtt.raw_pipelined.tcp";
	vs[4].name = "rtt.transport.unix";
	vs[5].name = "rtt.transport.tcp";
	vs[6].name = "rtt.typed.unix";
	vs[7].name = "rtt.dynamic.unix";
	vs[8].name = "pipelined.calls_per_s";
	vs[9].name = "rtt.typed.tcp";
	setup_raw(ctx, &cfg, &vs[0], &vs[1], BENCH_UNIX);
	setup_raw(ctx, &cfg, &vs[2], &vs[3], BENCH_TCP);
	setup_transport(ctx, &cfg, &vs[4], BENCH_UNIX);
	setup_transport(ctx, &cfg, &vs[5], BENCH_TCP);
	vs[10].name = "rtt.stub.unix";
	vs[11].name = "pipelined.typed.calls_per_s";
	setup_shade(ctx, &cfg, &vs[6], &vs[7], &vs[8], &vs[10], &vs[11],
		    BENCH_UNIX, &sh_unix);
	setup_shade(ctx, &cfg, &vs[9], NULL, NULL, NULL, NULL, BENCH_TCP,
		    &sh_tcp);

	/* figure order: round trips first */
	fig("rtt.raw.unix", "us");
	fig("rtt.raw.tcp", "us");
	fig("rtt.transport.unix", "us");
	fig("rtt.transport.tcp", "us");
	fig("rtt.typed.unix", "us");
	fig("rtt.typed.tcp", "us");
	fig("rtt.dynamic.unix", "us");
	fig("rtt.stub.unix", "us");
	run_rounds(&cfg, vs, 12);

	ratio("ratio.transport_vs_raw.unix", "rtt.transport.unix", "rtt.raw.unix");
	ratio("ratio.transport_vs_raw.tcp", "rtt.transport.tcp", "rtt.raw.tcp");
	ratio("ratio.typed_vs_raw.unix", "rtt.typed.unix", "rtt.raw.unix");
	fig_goal(fig("ratio.typed_vs_raw.unix", "x"), "<= 1.05", 1, 1.05);
	ratio("ratio.typed_vs_raw.tcp", "rtt.typed.tcp", "rtt.raw.tcp");
	fig_goal(fig("ratio.typed_vs_raw.tcp", "x"), "<= 1.05", 1, 1.05);
	ratio("ratio.stub_vs_raw.unix", "rtt.stub.unix", "rtt.raw.unix");
	fig_goal(fig("ratio.stub_vs_raw.unix", "x"), "<= 1.10", 1, 1.10);
	ratio("ratio.dynamic_vs_typed.unix", "rtt.dynamic.unix", "rtt.typed.unix");
	fig_goal(fig("ratio.dynamic_vs_typed.unix", "x"), "<= 1.05", 1, 1.05);
	fig_goal(fig("pipelined.calls_per_s", "calls/s"), ">= 1000000", -1, 1e6);
	ratio("ratio.pipelined_vs_raw_pipelined", "pipelined.calls_per_s",
	      "rtt.raw_pipelined.unix");
	fig_goal(fig("pipelined.typed.calls_per_s", "calls/s"), ">= 1000000",
		 -1, 1e6);
	ratio("ratio.pipelined_typed_vs_raw_pipelined",
	      "pipelined.typed.calls_per_s", "rtt.raw_pipelined.unix");
	fig_goal(fig("ratio.pipelined_typed_vs_raw_pipelined", "x"),
		 ">= 0.125", -1, 0.125);
	fig_goal(fig("ratio.pipelined_vs_raw_pipelined", "x"), ">= 0.125",
		 -1, 0.125);

	if (getenv("ONLY") != NULL && *getenv("ONLY") != '\0') {
		/* profiling one variant: no one-shot figures but the echo
		 * ones when ONLY=echo */
		if (strcmp(getenv("ONLY"), "echo") == 0 && sh_unix != NULL)
			measure_echo(ctx, &cfg, sh_unix->address);
		if (strcmp(getenv("ONLY"), "force") == 0 && sh_unix != NULL)
			measure_container(ctx, &cfg, sh_unix->address);
	} else if (sh_unix != NULL) {
		measure_bytes_add(ctx, sh_unix->address);
		measure_first_touch(ctx, sh_unix->address);
		measure_container(ctx, &cfg, sh_unix->address);
		measure_echo(ctx, &cfg, sh_unix->address);
	} else {
		const char *why = shade_missing() ? shade_missing()
						  : "shade server did not start";

		fig_set("bytes.raw.add", "bytes", 14);
		fig_na(fig("bytes.add", "bytes"), "%s", why);
		fig_na(fig("first_touch.roundtrips", "round trips"), "%s", why);
		fig_na(fig("first_touch.bytes", "bytes"), "%s", why);
		fig_na(fig("container.member.bytes", "bytes"), "%s", why);
		fig_na(fig("force.mb_per_s", "MB/s"), "%s", why);
		fig_na(fig("force.floats.mb_per_s", "MB/s"), "%s", why);
		fig_na(fig("force.strs.mb_per_s", "MB/s"), "%s", why);
		fig_na(fig("force.classic.mb_per_s", "MB/s"), "%s", why);
	}
	if (getenv("ONLY") != NULL && *getenv("ONLY") != '\0') {
		/* profiling one variant: no one-shot figures but the memory
		 * ones when ONLY=mem */
		if (strcmp(getenv("ONLY"), "mem") == 0 && sh_unix != NULL)
			measure_memory(ctx, &cfg, sh_unix->address);
	} else if (sh_unix != NULL) {
		measure_idlc(&cfg);
		measure_memory(ctx, &cfg, sh_unix->address);
		measure_connections(ctx, &cfg, sh_unix->address);
	} else {
		const char *why = shade_missing() ? shade_missing()
						  : "shade server did not start";

		measure_idlc(&cfg);
		fig_na(fig("mem.per_export.bytes", "bytes"), "%s", why);
		fig_na(fig("mem.per_proxy.bytes", "bytes"), "%s", why);
		fig_na(fig("server.connections_held", "connections"), "%s", why);
	}

	for (k = 0; k < 12; k++) { /* the shade clients' proxies */
		if ((vs[k].run == sh_typed || vs[k].run == sh_dynamic ||
		     vs[k].run == sh_pipe) && vs[k].state != NULL) {
			sh_cli *c = vs[k].state;

			shade_ref_release(c->adder);
			shade_ref_release(c->sadder);
			c->adder = c->sadder = NULL;
		}
	}
	talloc_free(ctx);
	stop_servers();
	remove_dir(&cfg);
	print_results(&cfg);
	return 0;
}
