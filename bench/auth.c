/*
 * bench/auth.c - what authentication and access control cost
 * (shade-bench-auth, run by `make bench` after shade-bench-attack).
 *
 * One server on a Unix socket in a fresh mkdtemp directory, its loop on
 * a thread of this process, exports add(a, b) twice: on a connection
 * with keys and an access hook (allowing everything) and on one with
 * neither, each through its own listener.  In interleaved rounds the
 * client measures, on each:
 *
 *   connect   shade_connect (with the key: HELLO, AUTH and both
 *             proofs), LOOKUP, one add, close: microseconds each
 *   call      add(a, b) on an open connection: microseconds each (the
 *             keyed listener's connections pass the hook on every call)
 *
 * and, alone, HMAC-SHA-256 proofs per second over a transcript of the
 * size the exchange signs (89 bytes).  Prints `bench auth.<name> <value>
 * <unit>` per figure (the median over rounds) and the ratios of the
 * keyed figures over the plain ones measured in the same rounds.
 *
 *   shade-bench-auth [--quick]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "base/hmac_int.h"
#include "bench.h"

/* Connections per round, calls per round, rounds (full, --quick). */
#define CONNS 400
#define CONNS_QUICK 100
#define CALLS 20000
#define CALLS_QUICK 4000
#define ROUNDS 7
#define ROUNDS_QUICK 3
/* HMAC proofs timed. */
#define PROOFS 200000

/* The key both sides hold (32 bytes). */
static const uint8_t secret[32] = "bench: thirty-two bytes secret!";
static const shade_auth_key key = { "bench", secret, sizeof(secret) };

/* A server thread. */
struct srv {
	shade_server *s;     /* the server */
	pthread_t th;        /* runs the loop */
};

/* add(a, b). */
static shade_status add_fn(shade_call_ctx *call)
{
	int64_t a = shade_value_as_int(shade_seq_at(call->args, 0));
	int64_t b = shade_value_as_int(shade_seq_at(call->args, 1));

	call->result = shade_int(call->mem, a + b);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* The hook: allows everything (its cost is the figure). */
static bool allow(void *udata, const shade_identity *who,
		  const shade_access *what)
{
	(void)udata;
	return who != NULL && what != NULL;
}

/* Body of the loop thread. */
static void *loop_main(void *arg)
{
	shade_server_run(arg, NULL);
	return NULL;
}

/* A server on dir/name exporting add, keyed or not; exits on failure. */
static void srv_start(TALLOC_CTX *ctx, struct srv *v, const char *dir,
		      bool keyed)
{
	shade_server_opts so;
	shade_conn_opts co;
	shade_ref *obj;

	memset(&so, 0, sizeof(so));
	memset(&co, 0, sizeof(co));
	if (keyed) {
		co.auth = &key;
		co.n_auth = 1;
		co.access = allow;
	}
	so.conn = &co;
	if (shade_server_new(ctx, &so, &v->s, NULL) != SHADE_OK ||
	    shade_object_new("bench.Adder", NULL, &obj, NULL) != SHADE_OK ||
	    shade_object_add_method(obj, "add", add_fn, NULL, false, NULL) !=
		    SHADE_OK ||
	    shade_server_export(v->s, "adder", obj, NULL) != SHADE_OK ||
	    shade_server_listen(v->s,
				talloc_asprintf(ctx, "unix:%s/%s.sock", dir,
						keyed ? "keyed" : "plain"),
				NULL) != SHADE_OK ||
	    pthread_create(&v->th, NULL, loop_main, v->s) != 0) {
		fprintf(stderr, "bench-auth: cannot start the server\n");
		exit(1);
	}
	shade_ref_release(obj);
}

/* One add(1, 2) on obj; exits on failure. */
static void add_once(shade_ref *obj)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 2), *r = NULL;
	shade_value a = shade_value_int(1), b = shade_value_int(2);

	shade_seq_append(t, &a, NULL);
	shade_seq_append(t, &b, NULL);
	if (shade_invoke(tmp, obj, "add", t, NULL, &r, NULL) != SHADE_OK ||
	    shade_value_as_int(r) != 3) {
		fprintf(stderr, "bench-auth: add failed\n");
		exit(1);
	}
	talloc_free(tmp);
}

/* Connect to address (with the key when keyed) and look add up. */
static shade_conn *open_adder(const char *address, bool keyed,
			      shade_ref **obj)
{
	shade_conn_opts co;
	shade_conn *c;

	memset(&co, 0, sizeof(co));
	co.auth = keyed ? &key : NULL;
	co.n_auth = keyed ? 1 : 0;
	if (shade_connect(NULL, address, &co, &c, NULL) != SHADE_OK ||
	    shade_lookup(c, "adder", obj, NULL) != SHADE_OK) {
		fprintf(stderr, "bench-auth: cannot connect to %s\n", address);
		exit(1);
	}
	return c;
}

/* Microseconds per connect + LOOKUP + add + close. */
static double time_connects(const char *address, bool keyed, int n)
{
	double t0 = bench_now();
	shade_ref *obj;
	shade_conn *c;
	int i;

	for (i = 0; i < n; i++) {
		c = open_adder(address, keyed, &obj);
		add_once(obj);
		shade_ref_release(obj);
		talloc_free(c);
	}
	return (bench_now() - t0) * 1e6 / n;
}

/* Microseconds per add on one open connection. */
static double time_calls(const char *address, bool keyed, int n)
{
	shade_ref *obj;
	shade_conn *c = open_adder(address, keyed, &obj);
	double t0 = bench_now();
	int i;

	for (i = 0; i < n; i++)
		add_once(obj);
	t0 = (bench_now() - t0) * 1e6 / n;
	shade_ref_release(obj);
	talloc_free(c);
	return t0;
}

/* Print one figure's median and range. */
static double report(const char *name, const bench_series *s,
		     const char *unit)
{
	double med, lo, hi;

	bench_series_summary(s, &med, &lo, &hi);
	printf("bench auth.%s %.2f %s (range %.2f-%.2f over %d rounds)\n",
	       name, med, unit, lo, hi, s->n);
	return med;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int conns = quick ? CONNS_QUICK : CONNS;
	int calls = quick ? CALLS_QUICK : CALLS;
	int rounds = quick ? ROUNDS_QUICK : ROUNDS;
	TALLOC_CTX *ctx = talloc_new(NULL);
	char tmpl[] = "/tmp/shade-bench-auth.XXXXXX";
	bench_series cp = { { 0 }, 0 }, ck = { { 0 }, 0 };
	bench_series lp = { { 0 }, 0 }, lk = { { 0 }, 0 };
	uint8_t t[89], out[SHA256_LEN];
	struct srv plain, keyed;
	char *pa, *ka, *path;
	double t0, conn_p, conn_k, call_p, call_k;
	int r, i;

	if (mkdtemp(tmpl) == NULL) {
		perror("bench-auth: mkdtemp");
		return 1;
	}
	srv_start(ctx, &plain, tmpl, false);
	srv_start(ctx, &keyed, tmpl, true);
	pa = talloc_strdup(ctx, shade_server_address(plain.s, 0));
	ka = talloc_strdup(ctx, shade_server_address(keyed.s, 0));
	for (r = 0; r < rounds; r++) {
		bench_series_add(&cp, time_connects(pa, false, conns));
		bench_series_add(&ck, time_connects(ka, true, conns));
		bench_series_add(&lp, time_calls(pa, false, calls));
		bench_series_add(&lk, time_calls(ka, true, calls));
	}
	memset(t, 0x5a, sizeof(t));
	t0 = bench_now();
	for (i = 0; i < PROOFS; i++) {
		hmac_sha256(secret, sizeof(secret), t, sizeof(t), out);
		t[0] ^= out[0];
	}
	t0 = bench_now() - t0;

	conn_p = report("connect.plain", &cp, "us");
	conn_k = report("connect.hmac", &ck, "us");
	call_p = report("call.plain", &lp, "us");
	call_k = report("call.hook", &lk, "us");
	printf("bench auth.connect.hmac_ratio %.2f x (connect, LOOKUP, one "
	       "call and close with the key and the hook, over without)\n",
	       conn_k / conn_p);
	printf("bench auth.handshake_cost %.1f us (the difference)\n",
	       conn_k - conn_p);
	printf("bench auth.call.hook_ratio %.3f x (a call through the access "
	       "hook on an authenticated connection, over a plain one)\n",
	       call_k / call_p);
	printf("bench auth.hmac_sha256 %.0f proofs/s (89-byte transcript, "
	       "%.2f us each)\n", PROOFS / t0, t0 * 1e6 / PROOFS);

	shade_server_stop(plain.s);
	shade_server_stop(keyed.s);
	pthread_join(plain.th, NULL);
	pthread_join(keyed.th, NULL);
	talloc_free(ctx);
	path = talloc_asprintf(NULL, "%s", tmpl);
	rmdir(path);
	talloc_free(path);
	return 0;
}
