/*
 * bench/tls.c - the tls: transport beside plain TCP (shade-bench-tls,
 * run by `make bench` after shade-bench).
 *
 * One server (a thread of this program, its own loop) listens on
 * tcp:127.0.0.1:0 and tls:127.0.0.1:0 and exports an adder: the skeleton
 * generated from bench/adder.idl when the stubs built (bench/stubs.h),
 * else a dynamic object.  Certificates are made in a fresh mkdtemp
 * directory by tests/tls_certs.sh (certtool), removed at the end.  Each
 * round, in the same run and interleaved:
 *
 *   typed   CALLS add(a, b) through the generated stub (one round trip
 *           each) over TCP, then over TLS (TLS 1.3): microseconds per
 *           call, and their ratio
 *   connect CONNECTS transport connects, each closed at once: plain TCP,
 *           TLS with a full handshake (no_resume), TLS resuming the
 *           session kept from the previous connect (every one checked
 *           with shade_transport_tls_resumed)
 *
 * Prints `bench tls.<figure> <median> <unit>` per figure, then a table
 * with the range over rounds.
 *
 *   shade-bench-tls [--quick]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"
#include "stubs.h"

/* Calls per typed sample (full, --quick), connects per connect sample,
 * rounds. */
#define CALLS 20000
#define CALLS_QUICK 4000
#define CONNECTS 200
#define CONNECTS_QUICK 50
#define ROUNDS 5
#define ROUNDS_QUICK 2
/* Bound of the certificate script. */
#define CERTS_MS 30000

/* The figures, in print order. */
enum { TYPED_TCP, TYPED_TLS, TYPED_RATIO, CONN_TCP, CONN_FULL, CONN_RESUMED,
       CONN_RATIO, N_FIGS };

/* Name, unit and meaning of each figure. */
static const struct {
	const char *name; /* bench tls.<name> */
	const char *unit; /* its unit */
	const char *what; /* the table's description */
} fig_info[N_FIGS] = {
	{ "typed.tcp_us", "us", "typed add() round trip over tcp:" },
	{ "typed.tls_us", "us", "typed add() round trip over tls: (TLS 1.3)" },
	{ "typed.tls_over_tcp", "x", "tls: / tcp: per call" },
	{ "connect.tcp_us", "us", "tcp: connect + close" },
	{ "connect.tls_full_us", "us", "tls: connect, full handshake" },
	{ "connect.tls_resumed_us", "us", "tls: connect, resumed session" },
	{ "connect.full_over_resumed", "x", "full / resumed handshake" },
};

/* The server thread's state. */
struct srv {
	shade_server *s;       /* the server */
	pthread_t th;          /* runs it */
	const char *tcp;       /* its tcp: address */
	const char *tls;       /* its tls: address */
};

/* Body of the server thread. */
static void *srv_main(void *arg)
{
	struct srv *v = arg;

	shade_server_run(v->s, NULL);
	return NULL;
}

/* The dynamic adder's add(a, b), when the stubs did not build. */
static shade_status dyn_add(shade_call_ctx *call)
{
	int64_t a = shade_value_as_int(shade_seq_at(call->args, 0));
	int64_t b = shade_value_as_int(shade_seq_at(call->args, 1));

	call->result = shade_int(call->mem, a + b);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* Run tests/tls_certs.sh in dir, bounded; 0 or -1. */
static int make_certs(const char *dir)
{
	int64_t end;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "tests/tls_certs.sh", dir,
		      (char *)NULL);
		_exit(127);
	}
	end = (int64_t)(bench_now() * 1000) + CERTS_MS;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if ((int64_t)(bench_now() * 1000) > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(2000);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Remove the files tests/tls_certs.sh made, then dir. */
static void remove_certs(const char *dir)
{
	static const char *const names[] = {
		"ca.pem", "ca.key", "other-ca.pem", "server.pem", "server.key",
		"expired.pem", "expired.key", "stranger.pem", "stranger.key",
		"client.pem", "client.key",
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Microseconds per add() over a connection to address (copts may be
 * NULL), n calls after a warm-up; < 0 on failure. */
static double typed_us(TALLOC_CTX *ctx, const char *address,
		       const shade_conn_opts *copts, long n)
{
	TALLOC_CTX *tmp = talloc_new(ctx);
	shade_error *err = NULL;
	shade_conn *c = NULL;
	shade_ref *ref = NULL;
	void *typed = NULL;
	double t0, us = -1;
	int64_t sum = 0;
	long i;

	if (shade_connect(tmp, address, copts, &c, &err) != SHADE_OK ||
	    shade_lookup(c, "adder", &ref, &err) != SHADE_OK ||
	    (bench_stub_narrow != NULL &&
	     bench_stub_narrow(tmp, ref, &typed, &err) != SHADE_OK))
		goto done;
	t0 = 0;
	for (i = -n / 10; i < n; i++) {
		if (i == 0)
			t0 = bench_now();
		if (typed != NULL) {
			if (bench_stub_add(typed, i, 1, &sum, &err) != SHADE_OK)
				goto done;
		} else {
			shade_value *t = shade_tuple_new(tmp, 2), *r = NULL;

			shade_seq_append_take(t, shade_int(t, i), NULL);
			shade_seq_append_take(t, shade_int(t, 1), NULL);
			if (shade_invoke(tmp, ref, "add", t, NULL, &r, &err) !=
			    SHADE_OK)
				goto done;
			sum = shade_value_as_int(r);
			talloc_free(t);
			talloc_free(r);
		}
		if (sum != i + 1)
			goto done;
	}
	us = (bench_now() - t0) * 1e6 / (double)n;
done:
	if (err != NULL)
		fprintf(stderr, "bench tls: %s: %s\n", address, err->message);
	shade_error_free(err);
	if (ref != NULL)
		shade_ref_release(ref);
	talloc_free(tmp);
	return us;
}

/* Microseconds per transport connect + close to address with topts; with
 * `resumed` every connect must have resumed its session.  < 0 on
 * failure. */
static double connect_us(const char *address,
			 const shade_transport_opts *topts, bool resumed,
			 long n)
{
	shade_error *err = NULL;
	shade_transport *t = NULL;
	double t0 = bench_now();
	long i;

	for (i = 0; i < n; i++) {
		if (shade_transport_connect(NULL, address, topts, &t, &err) !=
		    SHADE_OK) {
			fprintf(stderr, "bench tls: %s: %s\n", address,
				err->message);
			shade_error_free(err);
			return -1;
		}
		if (resumed && !shade_transport_tls_resumed(t)) {
			fprintf(stderr, "bench tls: %s: connect %ld did not "
				"resume\n", address, i);
			talloc_free(t);
			return -1;
		}
		talloc_free(t);
	}
	return (bench_now() - t0) * 1e6 / (double)n;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	long calls = quick ? CALLS_QUICK : CALLS;
	long connects = quick ? CONNECTS_QUICK : CONNECTS;
	int rounds = quick ? ROUNDS_QUICK : ROUNDS, r, f, rc = 1;
	TALLOC_CTX *ctx = talloc_new(NULL);
	char dir[] = "/tmp/shade-bench-tls.XXXXXX";
	shade_tls_opts stls = { 0 }, ctls = { 0 }, full, resume;
	shade_transport_opts sto = { 0 }, cto = { 0 }, fto, rto;
	shade_server_opts so = { 0 };
	shade_conn_opts co = { 0 };
	bench_series s[N_FIGS];
	shade_ref *obj = NULL;
	shade_error *err = NULL;
	struct srv v = { 0 };
	bool started = false;
	double x[N_FIGS], med, lo, hi;

	memset(s, 0, sizeof(s));
	if (mkdtemp(dir) == NULL || make_certs(dir) < 0) {
		fprintf(stderr, "bench tls: cannot make certificates in %s "
			"(certtool, gnutls-bin)\n", dir);
		goto out;
	}
	stls.cert_file = talloc_asprintf(ctx, "%s/server.pem", dir);
	stls.key_file = talloc_asprintf(ctx, "%s/server.key", dir);
	sto.tls = &stls;
	so.transport = &sto;
	ctls.ca_file = talloc_asprintf(ctx, "%s/ca.pem", dir);
	cto.tls = &ctls;
	co.transport = &cto;
	full = ctls;
	full.no_resume = true;
	fto = cto;
	fto.tls = &full;
	resume = ctls;
	rto = cto;
	rto.tls = &resume;
	if (shade_server_new(ctx, &so, &v.s, &err) != SHADE_OK)
		goto out;
	if (bench_stub_serve != NULL) {
		if (bench_stub_serve(&obj, &err) != SHADE_OK)
			goto out;
	} else if (shade_object_new("bench.Adder", NULL, &obj, &err) !=
			   SHADE_OK ||
		   shade_object_add_method(obj, "add", dyn_add, NULL, false,
					   &err) != SHADE_OK) {
		goto out;
	}
	if (shade_server_export(v.s, "adder", obj, &err) != SHADE_OK ||
	    shade_server_listen(v.s, "tcp:127.0.0.1:0", &err) != SHADE_OK ||
	    shade_server_listen(v.s, "tls:127.0.0.1:0", &err) != SHADE_OK)
		goto out;
	v.tcp = shade_server_address(v.s, 0);
	v.tls = shade_server_address(v.s, 1);
	if (pthread_create(&v.th, NULL, srv_main, &v) != 0)
		goto out;
	started = true;
	/* One resumable session to start from. */
	if (connect_us(v.tls, &rto, false, 1) < 0)
		goto out;
	for (r = 0; r < rounds; r++) {
		x[TYPED_TCP] = typed_us(ctx, v.tcp, NULL, calls);
		x[TYPED_TLS] = typed_us(ctx, v.tls, &co, calls);
		x[CONN_TCP] = connect_us(v.tcp, NULL, false, connects);
		x[CONN_FULL] = connect_us(v.tls, &fto, false, connects);
		x[CONN_RESUMED] = connect_us(v.tls, &rto, true, connects);
		for (f = 0; f < N_FIGS; f++)
			if (f != TYPED_RATIO && f != CONN_RATIO && x[f] < 0)
				goto out;
		x[TYPED_RATIO] = x[TYPED_TLS] / x[TYPED_TCP];
		x[CONN_RATIO] = x[CONN_FULL] / x[CONN_RESUMED];
		for (f = 0; f < N_FIGS; f++)
			bench_series_add(&s[f], x[f]);
	}
	for (f = 0; f < N_FIGS; f++) {
		bench_series_summary(&s[f], &med, &lo, &hi);
		printf("bench tls.%s %.2f %s\n", fig_info[f].name, med,
		       fig_info[f].unit);
	}
	printf("\n%-28s %10s %21s  %s\n", "tls figure", "median", "range",
	       "what");
	for (f = 0; f < N_FIGS; f++) {
		bench_series_summary(&s[f], &med, &lo, &hi);
		printf("%-28s %8.2f %-2s %8.2f .. %8.2f  %s\n",
		       fig_info[f].name, med, fig_info[f].unit, lo, hi,
		       fig_info[f].what);
	}
	printf("(%d rounds; typed: %s; %ld calls, %ld connects per sample)\n",
	       rounds, bench_stub_add != NULL ? "generated stub"
					      : "shade_invoke (no stubs)",
	       calls, connects);
	rc = 0;
out:
	if (err != NULL)
		fprintf(stderr, "bench tls: %s\n", err->message);
	shade_error_free(err);
	if (started) {
		shade_server_stop(v.s);
		pthread_join(v.th, NULL);
	}
	if (obj != NULL)
		shade_ref_release(obj);
	talloc_free(ctx);
	remove_certs(dir);
	return rc;
}
