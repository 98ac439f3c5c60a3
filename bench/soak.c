/*
 * bench/soak.c - the soak program: many concurrent clients against one
 * shade server, then a check that the server is back where it started.
 *
 * usage: shade-soak [--clients N] [--calls N] [--seconds S]
 *
 * A server process (forked first, before any thread) listens on a Unix
 * socket in a fresh mkdtemp directory and exports `obj` (methods add,
 * apply, fail, make) and `list`, a shared list container.  N client
 * threads, each on its own connection, make up to --calls calls each,
 * cycling through:
 *   plain call      obj.add(a, b) == a + b
 *   callback        obj.apply(fn, x) == fn(x) + 1, fn a local function
 *                   the server calls back (fn(x) = 2x)
 *   container       list.append(v); len(list) >= 4; list[0] == 10;
 *                   del list[-1]   (each client deletes one element per
 *                   append, so the list keeps its three seed elements)
 *   expected error  obj.fail() -> ZeroDivisionError, list[10^9] ->
 *                   IndexError, obj.add("x") -> TypeError; the right code
 *                   counts as expected, anything else as a failure
 *   proxy           obj.make(k) returns a fresh object; its v == k; the
 *                   proxy is released (RELEASE reaches the server)
 * until every client is done or the global deadline (--seconds) passes.
 *
 * A probe connection held by the main thread stays open throughout, so
 * the server's tables are read with the same single connection at start
 * and at end: connection count, export and import entries summed over
 * the server's connections (shade_conn_stats_get), objects made by
 * obj.make still alive, the server's talloc block count, the list's
 * length, and the server's VmRSS and malloc'd bytes (mallinfo2).
 *
 * Exit status: 0 when no unexpected error happened and every table is
 * back at its start value; 1 otherwise; 2 on a setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shade/shade.h"

/* Seed elements of the shared list (list[0] is checked). */
#define SOAK_SEED0 10
#define SOAK_NSEED 3

/* One snapshot of the server's tables and memory. */
typedef struct soak_stats {
	long long conns;        /* shade_server_conn_count */
	long long exports;      /* export entries over all connections */
	long long imports;      /* import entries over all connections */
	long long made_live;    /* obj.make objects not yet freed */
	long long blocks;       /* talloc blocks below the server's context */
	long long list_len;     /* elements in the shared list */
	long long rss_kb;       /* VmRSS of the server process, kB */
	long long heap_bytes;   /* mallinfo2().uordblks of the server */
} soak_stats;

/* Settings and shared counters of one run. */
typedef struct soak_run {
	const char *address;    /* server address, "unix:..." */
	long calls;             /* calls per client */
	double deadline;        /* CLOCK_MONOTONIC seconds: stop here */
	atomic_llong done;      /* calls completed as expected */
	atomic_llong expected;  /* of which expected errors */
	atomic_llong failures;  /* unexpected errors or wrong answers */
	atomic_int timed_out;   /* clients that stopped at the deadline */
	pthread_mutex_t mu;     /* guards first_failure */
	char first_failure[256];/* the first failure, for the report */
} soak_run;

/* ------------------------------------------------------------ utilities */

/* Monotonic time in seconds. */
static double soak_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of this process in kB, or -1. */
static long long self_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ------------------------------------------------------------ server side */

/* Objects made by obj.make and not yet freed (server process). */
static atomic_llong made_live;

/* on_free hook of made objects. */
static void made_freed(void *udata)
{
	(void)udata;
	atomic_fetch_sub(&made_live, 1);
}

/* The integer argument i of args, or a TypeError. */
static shade_status int_arg(const shade_value *args, size_t i, int64_t *out,
			    shade_error **err)
{
	const shade_value *v = shade_seq_at(args, i);

	if (v == NULL || shade_value_kind(v) != SHADE_INT)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "argument %zu must be an int", i);
	*out = shade_value_as_int(v);
	return SHADE_OK;
}

/* Store an int result on mem_ctx. */
static shade_status int_result(TALLOC_CTX *mem_ctx, int64_t v,
			       shade_value **result, shade_error **err)
{
	*result = shade_int(mem_ctx, v);
	return *result ? SHADE_OK
		       : shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
}

/* obj.add(a, b): a + b. */
static shade_status m_add(shade_call_ctx *call)
{
	int64_t a = 0, b = 0;

	SHADE_CHECK(int_arg(call->args, 0, &a, call->err));
	SHADE_CHECK(int_arg(call->args, 1, &b, call->err));
	return int_result(call->mem, a + b, &call->result, call->err);
}

/* obj.apply(fn, x): fn(x) + 1, fn called back in the client. */
static shade_status m_apply(shade_call_ctx *call)
{
	const shade_value *fn = shade_seq_at(call->args, 0);
	shade_value *cargs, *r = NULL;
	int64_t x = 0;

	if (fn == NULL || shade_value_kind(fn) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "apply() takes a callable");
	SHADE_CHECK(int_arg(call->args, 1, &x, call->err));
	cargs = shade_tuple_new(call->mem, 1);
	if (cargs == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM,
				       "out of memory");
	SHADE_CHECK(shade_seq_append_take(cargs, shade_int(call->mem, x),
					  call->err));
	SHADE_CHECK(shade_call(call->mem, shade_value_as_ref(fn), cargs, NULL,
			       &r, call->err));
	if (shade_value_kind(r) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "the callback must return an int");
	return int_result(call->mem, shade_value_as_int(r) + 1, &call->result,
			  call->err);
}

/* obj.fail(): raises ZeroDivisionError. */
static shade_status m_fail(shade_call_ctx *call)
{
	return shade_error_set(call->err, SHADE_ERR_ZERO_DIVISION,
			       "division by zero (1 / 0)");
}

/* obj.make(k): a new object with attribute v = k, owned by the result. */
static shade_status m_make(shade_call_ctx *call)
{
	shade_value v;
	shade_ref *o = NULL;
	int64_t k = 0;

	SHADE_CHECK(int_arg(call->args, 0, &k, call->err));
	v = shade_value_int(k);
	SHADE_CHECK(shade_object_new("soak.Made", NULL, &o, call->err));
	atomic_fetch_add(&made_live, 1);
	shade_object_on_free(o, made_freed, NULL);
	if (shade_object_add_attr(o, "v", &v, false, call->err) != SHADE_OK) {
		shade_ref_release(o);
		return (*call->err)->code;
	}
	call->result = shade_ref_value_take(call->mem, o);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Build the exported objects on server s. */
static shade_status server_setup(shade_server *s, shade_ref **list_out,
				 shade_error **err)
{
	shade_ref *obj = NULL, *list = NULL;
	shade_value *seed;
	shade_status st;
	int i;

	SHADE_CHECK(shade_object_new("soak.Obj", NULL, &obj, err));
	if ((st = shade_object_add_method(obj, "add", m_add, NULL, false,
					  err)) != SHADE_OK ||
	    (st = shade_object_add_method(obj, "apply", m_apply, NULL, false,
					  err)) != SHADE_OK ||
	    (st = shade_object_add_method(obj, "fail", m_fail, NULL, false,
					  err)) != SHADE_OK ||
	    (st = shade_object_add_method(obj, "make", m_make, NULL, false,
					  err)) != SHADE_OK ||
	    (st = shade_server_export(s, "obj", obj, err)) != SHADE_OK) {
		shade_ref_release(obj);
		return st;
	}
	shade_ref_release(obj);
	seed = shade_list_new(NULL, SOAK_NSEED);
	if (seed == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < SOAK_NSEED; i++) {
		shade_value e = shade_value_int(SOAK_SEED0 * (i + 1));

		if ((st = shade_seq_append(seed, &e, err)) != SHADE_OK) {
			talloc_free(seed);
			return st;
		}
	}
	SHADE_CHECK(shade_container_new(seed, &list, err));
	st = shade_server_export(s, "list", list, err);
	*list_out = list; /* our reference, to read its length */
	return st;
}

/* Fill *out from the server's state. */
static void server_stats(shade_server *s, TALLOC_CTX *ctx, shade_ref *list,
			 soak_stats *out)
{
	struct mallinfo2 mi = mallinfo2();
	size_t i, n = shade_server_conn_count(s);

	memset(out, 0, sizeof(*out));
	out->conns = (long long)n;
	for (i = 0; i < n; i++) {
		shade_conn_stats cs;

		shade_conn_stats_get(shade_server_conn(s, i), &cs);
		out->exports += (long long)cs.exports;
		out->imports += (long long)cs.imports;
	}
	out->made_live = atomic_load(&made_live);
	out->blocks = (long long)talloc_total_blocks(ctx);
	out->list_len = (long long)shade_seq_len(shade_container_value(list));
	out->rss_kb = self_rss_kb();
	out->heap_bytes = (long long)mi.uordblks;
}

/*
 * The server process: serve on address, answer 'S' on ctl_in with a
 * stats line on ctl_out, stop on 'Q' or when the parent closes ctl_in.
 * Returns the process exit status.
 */
static int server_main(const char *address, int ctl_in, int ctl_out)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_server *s = NULL;
	shade_ref *list = NULL;
	shade_error *err = NULL;
	int rc = 2;

	if (shade_server_new(ctx, NULL, &s, &err) != SHADE_OK ||
	    server_setup(s, &list, &err) != SHADE_OK ||
	    shade_server_listen(s, address, &err) != SHADE_OK) {
		fprintf(stderr, "soak server: %s\n",
			err ? err->message : "setup failed");
		goto out;
	}
	if (write(ctl_out, "R", 1) != 1)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = ctl_in, .events = POLLIN };
		char cmd;

		if (shade_server_run_once(s, 20, &err) != SHADE_OK) {
			fprintf(stderr, "soak server: %s\n",
				err ? err->message : "loop failed");
			shade_error_clear(&err);
		}
		if (poll(&p, 1, 0) <= 0)
			continue;
		if (read(ctl_in, &cmd, 1) != 1 || cmd == 'Q')
			break;
		if (cmd == 'S') {
			soak_stats st;

			server_stats(s, ctx, list, &st);
			if (write(ctl_out, &st, sizeof(st)) !=
			    (ssize_t)sizeof(st))
				break;
		}
	}
	rc = 0;
out:
	shade_error_free(err);
	shade_ref_release(list);
	talloc_free(ctx);
	return rc;
}

/* ------------------------------------------------------------ clients */

/* Record an unexpected outcome. */
static void soak_fail(soak_run *run, long client, long call, const char *what,
		      const shade_error *err)
{
	if (atomic_fetch_add(&run->failures, 1) == 0) {
		pthread_mutex_lock(&run->mu);
		snprintf(run->first_failure, sizeof(run->first_failure),
			 "client %ld call %ld: %s: %s %s", client, call, what,
			 err ? err->name : "", err ? err->message : "");
		pthread_mutex_unlock(&run->mu);
	}
}

/* The local function handed to obj.apply: twice(x) = 2x. */
static shade_status twice(shade_call_ctx *call)
{
	int64_t x = 0;

	SHADE_CHECK(int_arg(call->args, 0, &x, call->err));
	return int_result(call->mem, 2 * x, &call->result, call->err);
}

/* A tuple of the given ints on mem_ctx, or NULL. */
static shade_value *int_args(TALLOC_CTX *mem_ctx, int n, int64_t a, int64_t b)
{
	shade_value *t = shade_tuple_new(mem_ctx, (size_t)n);
	shade_error *err = NULL;

	if (t == NULL ||
	    shade_seq_append_take(t, shade_int(mem_ctx, a), &err) != SHADE_OK ||
	    (n > 1 &&
	     shade_seq_append_take(t, shade_int(mem_ctx, b), &err) !=
		     SHADE_OK)) {
		shade_error_free(err);
		return NULL;
	}
	return t;
}

/* One client's handles. */
typedef struct soak_client {
	soak_run *run;          /* the run */
	long id;                /* client number */
	pthread_t thread;       /* its thread */
} soak_client;

/* Whether a call returned the int want. */
static bool is_int(shade_status st, const shade_value *r, int64_t want)
{
	return st == SHADE_OK && r != NULL &&
	       shade_value_kind(r) == SHADE_INT &&
	       shade_value_as_int(r) == want;
}

/*
 * Call number k of a client: one operation of the mix.  Returns 1 for an
 * expected error, 0 for a correct answer, -1 for a failure (recorded).
 */
static int soak_op(soak_run *run, long id, long k, TALLOC_CTX *tmp,
		   shade_ref *obj, shade_ref *list, shade_ref *fn)
{
	shade_error *err = NULL;
	shade_value *r = NULL, *args;
	shade_status st;
	int res = 0;
	int64_t a = id * 100000 + k;

	switch (k % 7) {
	case 0: /* plain call */
		args = int_args(tmp, 2, a, 7);
		st = shade_invoke(tmp, obj, "add", args, NULL, &r, &err);
		if (!is_int(st, r, a + 7))
			goto fail;
		break;
	case 1: /* callback */
		args = shade_tuple_new(tmp, 2);
		if (args == NULL ||
		    shade_seq_append_take(args, shade_ref_value(tmp, fn),
					  &err) != SHADE_OK ||
		    shade_seq_append_take(args, shade_int(tmp, a), &err) !=
			    SHADE_OK)
			goto fail;
		st = shade_invoke(tmp, obj, "apply", args, NULL, &r, &err);
		if (!is_int(st, r, 2 * a + 1))
			goto fail;
		break;
	case 2: { /* container */
		shade_value v = shade_value_int(a), zero = shade_value_int(0),
			    last = shade_value_int(-1);
		size_t n = 0;

		if (shade_append(list, &v, &err) != SHADE_OK ||
		    shade_len(list, &n, &err) != SHADE_OK ||
		    n < SOAK_NSEED + 1)
			goto fail;
		st = shade_getitem(tmp, list, &zero, &r, &err);
		if (!is_int(st, r, SOAK_SEED0) ||
		    shade_delitem(list, &last, &err) != SHADE_OK)
			goto fail;
		break;
	}
	case 3: /* expected ZeroDivisionError */
		st = shade_invoke(tmp, obj, "fail", NULL, NULL, &r, &err);
		if (st != SHADE_ERR_ZERO_DIVISION || err == NULL ||
		    err->code != SHADE_ERR_ZERO_DIVISION)
			goto fail;
		res = 1;
		break;
	case 4: { /* expected IndexError */
		shade_value far = shade_value_int(1000000000);

		st = shade_getitem(tmp, list, &far, &r, &err);
		if (st != SHADE_ERR_INDEX || err == NULL ||
		    err->code != SHADE_ERR_INDEX)
			goto fail;
		res = 1;
		break;
	}
	case 5: { /* expected TypeError */
		args = shade_tuple_new(tmp, 2);
		if (args == NULL ||
		    shade_seq_append_take(args, shade_str(tmp, "x"), &err) !=
			    SHADE_OK ||
		    shade_seq_append_take(args, shade_int(tmp, 1), &err) !=
			    SHADE_OK)
			goto fail;
		st = shade_invoke(tmp, obj, "add", args, NULL, &r, &err);
		if (st != SHADE_ERR_TYPE || err == NULL ||
		    err->code != SHADE_ERR_TYPE)
			goto fail;
		res = 1;
		break;
	}
	default: { /* proxy creation and release */
		shade_value *v = NULL;
		shade_ref *made;

		args = int_args(tmp, 1, a, 0);
		st = shade_invoke(tmp, obj, "make", args, NULL, &r, &err);
		if (st != SHADE_OK || shade_value_kind(r) != SHADE_REF)
			goto fail;
		made = shade_value_as_ref(r);
		st = shade_getattr(tmp, made, "v", &v, &err);
		if (!is_int(st, v, a))
			goto fail;
		talloc_free(r); /* drops the proxy: RELEASE to the server */
		r = NULL;
		break;
	}
	}
	shade_error_free(err);
	return res;
fail:
	soak_fail(run, id, k, (const char *[]){ "add", "apply", "container",
						"fail", "getitem", "add(str)",
						"make" }[k % 7],
		  err);
	shade_error_free(err);
	return -1;
}

/* A client thread: connect, run the mix, release everything, leave. */
static void *client_main(void *arg)
{
	soak_client *cl = arg;
	soak_run *run = cl->run;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c = NULL;
	shade_ref *obj = NULL, *list = NULL, *fn = NULL;
	shade_error *err = NULL;
	long k;

	if (ctx == NULL ||
	    shade_connect(ctx, run->address, NULL, &c, &err) != SHADE_OK ||
	    shade_lookup(c, "obj", &obj, &err) != SHADE_OK ||
	    shade_lookup(c, "list", &list, &err) != SHADE_OK ||
	    shade_function_new("twice", twice, NULL, &fn, &err) != SHADE_OK) {
		soak_fail(run, cl->id, -1, "connect", err);
		goto out;
	}
	for (k = 0; k < run->calls; k++) {
		TALLOC_CTX *tmp;
		int res;

		if ((k & 63) == 0 && soak_now() > run->deadline) {
			atomic_fetch_add(&run->timed_out, 1);
			break;
		}
		tmp = talloc_new(ctx);
		res = soak_op(run, cl->id, k, tmp, obj, list, fn);
		talloc_free(tmp);
		if (res >= 0)
			atomic_fetch_add(&run->done, 1);
		if (res == 1)
			atomic_fetch_add(&run->expected, 1);
	}
out:
	shade_error_free(err);
	shade_ref_release(obj);
	shade_ref_release(list);
	shade_ref_release(fn);
	talloc_free(ctx); /* closes the connection */
	return NULL;
}

/* ------------------------------------------------------------ driver */

/* Ask the server for a snapshot. */
static bool query_stats(int ctl_out, int ctl_in, soak_stats *out)
{
	char cmd = 'S';
	size_t got = 0;

	if (write(ctl_out, &cmd, 1) != 1)
		return false;
	while (got < sizeof(*out)) {
		ssize_t n = read(ctl_in, (char *)out + got,
				 sizeof(*out) - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Print one snapshot. */
static void print_stats(const char *when, const soak_stats *s)
{
	printf("soak %-5s conns=%lld exports=%lld imports=%lld made_live=%lld "
	       "talloc_blocks=%lld list_len=%lld rss_kb=%lld heap_bytes=%lld\n",
	       when, s->conns, s->exports, s->imports, s->made_live,
	       s->blocks, s->list_len, s->rss_kb, s->heap_bytes);
}

/* Stop the server child by pid: 'Q', then SIGKILL after 5 s. */
static void stop_server(pid_t pid, int ctl_out)
{
	double until = soak_now() + 5;
	int status;

	if (write(ctl_out, "Q", 1) != 1)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (soak_now() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(10000);
	}
}

int main(int argc, char **argv)
{
	long clients = 100, calls = 10000, i;
	double seconds = 240, t0, t1;
	char dir[] = "/tmp/shade-soak-XXXXXX", path[128], address[160];
	int to_srv[2], from_srv[2];
	soak_client *cls;
	soak_stats s0, s1;
	soak_run run;
	shade_conn *probe = NULL;
	shade_ref *pobj = NULL;
	shade_error *err = NULL;
	TALLOC_CTX *ctx;
	bool same;
	pid_t pid;
	char ready;
	int rc = 2;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--clients") == 0)
			clients = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--calls") == 0)
			calls = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else
			break;
	}
	if (i != argc || clients < 1 || calls < 1 || seconds <= 0) {
		fprintf(stderr, "usage: %s [--clients N] [--calls N] "
				"[--seconds S]\n", argv[0]);
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/soak.sock", dir);
	snprintf(address, sizeof(address), "unix:%s", path);
	if (pipe(to_srv) != 0 || pipe(from_srv) != 0) {
		perror("pipe");
		rmdir(dir);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		rmdir(dir);
		return 2;
	}
	if (pid == 0) {
		close(to_srv[1]);
		close(from_srv[0]);
		_exit(server_main(address, to_srv[0], from_srv[1]));
	}
	close(to_srv[0]);
	close(from_srv[1]);
	ctx = talloc_new(NULL);
	if (read(from_srv[0], &ready, 1) != 1 || ready != 'R') {
		fprintf(stderr, "soak: the server did not start\n");
		goto out;
	}
	/* The probe: one connection open from start to end. */
	if (shade_connect(ctx, address, NULL, &probe, &err) != SHADE_OK ||
	    shade_lookup(probe, "obj", &pobj, &err) != SHADE_OK) {
		fprintf(stderr, "soak: probe: %s\n",
			err ? err->message : "failed");
		goto out;
	}
	if (!query_stats(to_srv[1], from_srv[0], &s0))
		goto out;
	printf("soak clients=%ld calls=%ld deadline=%.0fs address=%s "
	       "server_pid=%d\n", clients, calls, seconds, address, (int)pid);
	print_stats("start", &s0);
	fflush(stdout);

	memset(&run, 0, sizeof(run));
	pthread_mutex_init(&run.mu, NULL);
	run.address = address;
	run.calls = calls;
	t0 = soak_now();
	run.deadline = t0 + seconds;
	cls = talloc_zero_array(ctx, soak_client, (size_t)clients);
	if (cls == NULL)
		goto out;
	for (i = 0; i < clients; i++) {
		cls[i].run = &run;
		cls[i].id = i;
		if (pthread_create(&cls[i].thread, NULL, client_main,
				   &cls[i]) != 0) {
			fprintf(stderr, "soak: pthread_create failed\n");
			clients = i;
			atomic_fetch_add(&run.failures, 1);
			break;
		}
	}
	for (i = 0; i < clients; i++)
		pthread_join(cls[i].thread, NULL);
	t1 = soak_now();

	/* Wait (up to 10 s) for the server to see the clients leave and
	 * the releases land. */
	for (i = 0; i < 1000; i++) {
		if (!query_stats(to_srv[1], from_srv[0], &s1))
			goto out;
		if (s1.conns == s0.conns && s1.made_live == s0.made_live &&
		    s1.exports == s0.exports && s1.imports == s0.imports &&
		    s1.blocks == s0.blocks)
			break;
		usleep(10000);
	}
	print_stats("end", &s1);
	same = s1.conns == s0.conns && s1.exports == s0.exports &&
	       s1.imports == s0.imports && s1.made_live == s0.made_live &&
	       s1.blocks == s0.blocks && s1.list_len == s0.list_len;
	printf("soak calls=%lld expected_errors=%lld unexpected_errors=%lld "
	       "seconds=%.1f calls_per_s=%.0f stopped_at_deadline=%d\n",
	       (long long)atomic_load(&run.done),
	       (long long)atomic_load(&run.expected),
	       (long long)atomic_load(&run.failures), t1 - t0,
	       (double)atomic_load(&run.done) / (t1 - t0),
	       atomic_load(&run.timed_out));
	printf("soak rss_growth_kb=%lld heap_growth_bytes=%lld\n",
	       s1.rss_kb - s0.rss_kb, s1.heap_bytes - s0.heap_bytes);
	if (atomic_load(&run.failures) > 0)
		printf("soak first failure: %s\n", run.first_failure);
	printf("soak verdict: tables %s, %s\n",
	       same ? "back at start" : "NOT back at start",
	       atomic_load(&run.failures) == 0 ? "no unexpected errors"
					       : "UNEXPECTED ERRORS");
	rc = same && atomic_load(&run.failures) == 0 ? 0 : 1;
	pthread_mutex_destroy(&run.mu);
out:
	shade_error_free(err);
	shade_ref_release(pobj);
	talloc_free(ctx);
	stop_server(pid, to_srv[1]);
	close(to_srv[1]);
	close(from_srv[0]);
	unlink(path);
	rmdir(dir);
	return rc;
}
