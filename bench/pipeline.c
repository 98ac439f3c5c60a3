/*
 * bench/pipeline.c - promise pipelining figures (shade-bench-pipeline),
 * all measured in one run over AF_UNIX socketpairs, each server side
 * served by a thread of this process:
 *
 *   chain3.sequential   root.next().next().value() as three calls, each
 *                       waited for (us per chain, round trips per chain)
 *   chain3.pipelined    the same chain with the first two calls started
 *                       with opts.promise and the next one made on their
 *                       results (shade_future_ref): one round trip
 *   ratio.chain3        sequential / pipelined time
 *   pipe.futures        add(a, b) through shade_invoke_async, DEPTH in
 *                       flight (calls/s), the pipelined form of today
 *   pipe.futures_ex     the same through shade_invoke_async_ex with
 *                       per-call options (a deadline)
 *   pipe.raw            the raw pipelined ping-pong: DEPTH hand-made
 *                       request frames in one write, answered by a
 *                       thread that parses and answers each (calls/s)
 *   ratio.futures_vs_raw, ratio.futures_ex_vs_futures
 *   arg.sequential      root.depth_of(root.next()): next waited for,
 *                       its result passed (us per call pair, round trips)
 *   arg.pipelined       the same with the promise of next's result as
 *                       the argument (tag 206, doc/protocol.md §13.1):
 *                       one round trip
 *   ratio.arg_seq_vs_pipe
 *
 * Variants run in rotated rounds; each figure is the median of the
 * rounds (min and max beside it).
 */
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"

#define DEPTH 100

/* ------------------------------------------------------------ server */

static shade_status node_new(int64_t depth, shade_ref **out,
			     shade_error **err);

/* node.next(): a new node one deeper. */
static shade_status node_next(shade_call_ctx *call)
{
	shade_ref *n;
	const shade_value *d = shade_object_attr(call->self, "depth");

	SHADE_CHECK(node_new(shade_value_as_int(d) + 1, &n, call->err));
	call->result = shade_ref_value_take(call->mem, n);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* node.value(): its depth. */
static shade_status node_value(shade_call_ctx *call)
{
	const shade_value *d = shade_object_attr(call->self, "depth");

	call->result = shade_int(call->mem, shade_value_as_int(d));
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* node.add(a, b). */
static shade_status node_add(shade_call_ctx *call)
{
	call->result = shade_int(call->mem,
				 shade_value_as_int(shade_seq_at(call->args, 0)) +
				 shade_value_as_int(shade_seq_at(call->args, 1)));
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* node.depth_of(n): the depth of node n (a node of this side). */
static shade_status node_depth_of(shade_call_ctx *call)
{
	const shade_value *a = shade_seq_at(call->args, 0);

	if (a == NULL || shade_value_kind(a) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "depth_of takes a node");
	return shade_getattr(call->mem, shade_value_as_ref(a), "depth",
			     &call->result, call->err);
}

/* A bench.Node of the given depth (next, value, add, depth_of). */
static shade_status node_new(int64_t depth, shade_ref **out,
			     shade_error **err)
{
	shade_value d = shade_value_int(depth);
	shade_ref *n;
	shade_status st;

	SHADE_CHECK(shade_object_new("bench.Node", NULL, &n, err));
	st = shade_object_add_attr(n, "depth", &d, true, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "next", node_next, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "value", node_value, NULL,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "add", node_add, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(n, "depth_of", node_depth_of,
					     NULL, false, err);
	if (st != SHADE_OK) {
		shade_ref_release(n);
		return st;
	}
	*out = n;
	return SHADE_OK;
}

/* The served side of a shade connection. */
static void *serve_main(void *arg)
{
	shade_error *err = NULL;

	shade_conn_serve(arg, 600000, &err);
	shade_error_free(err);
	return NULL;
}

/* The raw peer: answers every add request frame it reads, one write per
 * read. */
static void *raw_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *in = malloc(1 << 16), *out = malloc(1 << 16);
	size_t have = 0;

	while (in != NULL && out != NULL) {
		size_t pos = 0, ol = 0, hdr, len;
		uint64_t id, a, b;
		ssize_t r = read(fd, in + have, (1 << 16) - have);

		if (r <= 0)
			break;
		have += (size_t)r;
		while (bench_frame_split(in + pos, have - pos, &hdr, &len) == 1) {
			if (bench_parse_add_request(in + pos + hdr, len, &id, &a,
						    &b) != 0)
				goto done;
			ol += bench_add_reply_frame(out + ol, id, a + b);
			pos += hdr + len;
		}
		memmove(in, in + pos, have - pos);
		have -= pos;
		if (ol > 0 && bench_write_all(fd, out, ol) != 0)
			break;
	}
done:
	free(in);
	free(out);
	close(fd);
	return NULL;
}

/* ------------------------------------------------------------ clients */

/* The client side. */
typedef struct cli {
	TALLOC_CTX *ctx;     /* owns the connections */
	shade_conn *c;       /* client connection */
	shade_conn *s;       /* server connection (served by th) */
	pthread_t th;        /* serves s */
	shade_ref *root;     /* proxy of the depth-0 node */
	int raw_fd;          /* the raw client's socket */
	pthread_t raw_th;    /* the raw peer */
	uint64_t raw_id;     /* next raw request id */
	uint8_t out[DEPTH * 16];  /* raw requests */
	uint8_t in[DEPTH * 16];   /* raw replies */
	uint8_t want[DEPTH * 16]; /* expected raw replies */
} cli;

/* Fail with what err says. */
static int failed(const char *what, shade_error *err)
{
	fprintf(stderr, "shade-bench-pipeline: %s: %s\n", what,
		err != NULL ? err->message : "?");
	shade_error_free(err);
	return -1;
}

/* root.next().next().value(), each call waited for. */
static int chain_sequential(cli *k)
{
	shade_value *v1 = NULL, *v2 = NULL, *v3 = NULL;
	shade_error *err = NULL;
	int rc = -1;

	if (shade_invoke(k->ctx, k->root, "next", NULL, NULL, &v1, &err) ==
		    SHADE_OK &&
	    shade_invoke(k->ctx, shade_value_as_ref(v1), "next", NULL, NULL,
			 &v2, &err) == SHADE_OK &&
	    shade_invoke(k->ctx, shade_value_as_ref(v2), "value", NULL, NULL,
			 &v3, &err) == SHADE_OK &&
	    shade_value_as_int(v3) == 2)
		rc = 0;
	else
		failed("sequential chain", err);
	talloc_free(v1);
	talloc_free(v2);
	talloc_free(v3);
	return rc;
}

/* The same chain pipelined: one round trip. */
static int chain_pipelined(cli *k)
{
	static const shade_call_opts po = { .promise = true };
	shade_future *f1 = NULL, *f2 = NULL;
	shade_ref *r1 = NULL, *r2 = NULL;
	shade_value *v = NULL;
	shade_error *err = NULL;
	int rc = -1;

	if (shade_invoke_async_ex(k->ctx, k->root, "next", NULL, NULL, &po,
				  &f1, &err) == SHADE_OK &&
	    shade_future_ref(f1, &r1, &err) == SHADE_OK &&
	    shade_invoke_async_ex(k->ctx, r1, "next", NULL, NULL, &po, &f2,
				  &err) == SHADE_OK &&
	    shade_future_ref(f2, &r2, &err) == SHADE_OK &&
	    shade_invoke(k->ctx, r2, "value", NULL, NULL, &v, &err) ==
		    SHADE_OK &&
	    shade_value_as_int(v) == 2)
		rc = 0;
	else
		failed("pipelined chain", err);
	talloc_free(v);
	if (r1 != NULL)
		shade_ref_release(r1);
	if (r2 != NULL)
		shade_ref_release(r2);
	talloc_free(f1);
	talloc_free(f2);
	return rc;
}

/* root.depth_of(root.next()): next waited for and its result passed
 * (pipelined false: two round trips), or its promise passed at once
 * (one round trip). */
static int arg_call(cli *k, bool pipelined)
{
	static const shade_call_opts po = { .promise = true };
	shade_future *f = NULL;
	shade_ref *r = NULL;
	shade_value *args = shade_tuple_new(k->ctx, 1), *v = NULL;
	shade_error *err = NULL;
	shade_status st;
	int rc = -1;

	st = args == NULL ? SHADE_ERR_NOMEM
			  : shade_invoke_async_ex(k->ctx, k->root, "next", NULL,
						  NULL, pipelined ? &po : NULL,
						  &f, &err);
	if (st == SHADE_OK && pipelined)
		st = shade_future_ref(f, &r, &err);
	else if (st == SHADE_OK)
		st = shade_future_wait(args, f, -1, &v, &err);
	if (st == SHADE_OK)
		st = shade_seq_append_take(args, pipelined
					   ? shade_ref_value(args, r) : v, &err);
	v = NULL;
	if (st == SHADE_OK &&
	    shade_invoke(k->ctx, k->root, "depth_of", args, NULL, &v, &err) ==
		    SHADE_OK &&
	    shade_value_as_int(v) == 1)
		rc = 0;
	else
		failed("argument", err);
	talloc_free(v);
	talloc_free(args);
	if (r != NULL)
		shade_ref_release(r);
	talloc_free(f);
	return rc;
}

/* n add calls, DEPTH in flight, through futures (opts: NULL for
 * shade_invoke_async, else shade_invoke_async_ex). */
static int futures(cli *k, long n, const shade_call_opts *opts)
{
	shade_future *fs[DEPTH];
	shade_value *args = shade_tuple_new(k->ctx, 2), *v = NULL;
	shade_error *err = NULL;
	long done = 0, j, m;
	int rc = 0;

	if (args == NULL ||
	    shade_seq_append_take(args, shade_int(k->ctx, 1), &err) != SHADE_OK ||
	    shade_seq_append_take(args, shade_int(k->ctx, 2), &err) != SHADE_OK)
		return failed("args", err);
	while (done < n && rc == 0) {
		m = n - done < DEPTH ? n - done : DEPTH;
		for (j = 0; j < m; j++)
			if ((opts != NULL
				     ? shade_invoke_async_ex(k->ctx, k->root,
							     "add", args, NULL,
							     opts, &fs[j], &err)
				     : shade_invoke_async(k->ctx, k->root, "add",
							  args, NULL, &fs[j],
							  &err)) != SHADE_OK) {
				m = j;
				rc = failed("invoke_async", err);
				err = NULL;
				break;
			}
		for (j = 0; j < m; j++) {
			if (rc == 0 &&
			    (shade_future_wait(k->ctx, fs[j], -1, &v, &err) !=
				     SHADE_OK ||
			     shade_value_as_int(v) != 3)) {
				rc = failed("future", err);
				err = NULL;
			}
			talloc_free(v);
			v = NULL;
			talloc_free(fs[j]);
		}
		done += m;
	}
	talloc_free(args);
	return rc;
}

/* n raw add calls, DEPTH frames a write. */
static int raw(cli *k, long n)
{
	long done = 0;

	while (done < n) {
		long m = n - done < DEPTH ? n - done : DEPTH, j;
		size_t ol = 0, wl = 0;

		for (j = 0; j < m; j++) {
			uint64_t a, b, id = k->raw_id++;

			bench_call_args((uint64_t)(done + j), &a, &b);
			ol += bench_add_request_frame(k->out + ol, id, a, b);
			wl += bench_add_reply_frame(k->want + wl, id, a + b);
		}
		if (bench_exchange(k->raw_fd, k->out, ol, k->in, wl) != 0 ||
		    memcmp(k->in, k->want, wl) != 0) {
			fprintf(stderr, "shade-bench-pipeline: raw exchange "
				"failed\n");
			return -1;
		}
		done += m;
	}
	return 0;
}

/* ------------------------------------------------------------ main */

/* Print one figure: median (min .. max) of its rounds. */
static void print_fig(const char *name, const char *unit,
		      const bench_series *s)
{
	double med, lo, hi;

	bench_series_summary(s, &med, &lo, &hi);
	printf("%-28s %12.2f %-8s (%.2f .. %.2f, %d rounds)\n", name, med,
	       unit, lo, hi, s->n);
}

/* A ratio of two series, round by round. */
static void print_ratio(const char *name, const bench_series *a,
			const bench_series *b)
{
	bench_series r;
	int i;

	memset(&r, 0, sizeof r);
	for (i = 0; i < a->n && i < b->n; i++)
		bench_series_add(&r, a->v[i] / b->v[i]);
	print_fig(name, "x", &r);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int rounds = quick ? 3 : 9, r, sp[2];
	long chains = quick ? 500 : 3000, calls = quick ? 50000 : 300000;
	bench_series seq, pip, fut, futx, rw, aseq, apip;
	shade_conn_stats s0, s1;
	shade_transport *a, *b;
	shade_registry *reg;
	shade_conn_opts so;
	shade_error *err = NULL;
	shade_ref *root;
	shade_call_opts dl = { .timeout_ms = 60000 };
	double t0, t1, trips_seq = 0, trips_pip = 0, trips_aseq = 0;
	double trips_apip = 0;
	cli *k = calloc(1, sizeof(*k));
	long i;

	memset(&seq, 0, sizeof seq);
	memset(&pip, 0, sizeof pip);
	memset(&fut, 0, sizeof fut);
	memset(&futx, 0, sizeof futx);
	memset(&rw, 0, sizeof rw);
	memset(&aseq, 0, sizeof aseq);
	memset(&apip, 0, sizeof apip);
	if (k == NULL || (k->ctx = talloc_new(NULL)) == NULL)
		return 1;
	reg = shade_registry_new(k->ctx);
	if (reg == NULL || node_new(0, &root, &err) != SHADE_OK ||
	    shade_registry_add(reg, "root", root, &err) != SHADE_OK)
		return failed("server", err) ? 1 : 1;
	shade_ref_release(root);
	memset(&so, 0, sizeof so);
	so.names = reg;
	if (shade_transport_pair(k->ctx, NULL, &a, &b, &err) != SHADE_OK ||
	    shade_conn_new(k->ctx, b, true, &so, &k->s, &err) != SHADE_OK ||
	    shade_conn_new(k->ctx, a, false, NULL, &k->c, &err) != SHADE_OK)
		return failed("connect", err) ? 1 : 1;
	if (pthread_create(&k->th, NULL, serve_main, k->s) != 0)
		return 1;
	if (shade_lookup(k->c, "root", &k->root, &err) != SHADE_OK)
		return failed("lookup", err) ? 1 : 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0 ||
	    pthread_create(&k->raw_th, NULL, raw_main,
			   (void *)(intptr_t)sp[1]) != 0)
		return 1;
	k->raw_fd = sp[0];
	k->raw_id = 1;
	/* Warm-up. */
	if (chain_sequential(k) || chain_pipelined(k) ||
	    futures(k, 1000, NULL) || futures(k, 1000, &dl) || raw(k, 1000) ||
	    arg_call(k, false) || arg_call(k, true))
		return 1;
	for (r = 0; r < rounds; r++) {
		int v;

		for (v = 0; v < 7; v++) {
			int which = (v + r) % 7, rc = 0;
			long n = which < 2 || which > 4 ? chains : calls;

			shade_conn_stats_get(k->c, &s0);
			t0 = bench_now();
			for (i = 0; i < n && rc == 0; i++)
				rc = which == 0 ? chain_sequential(k)
				   : which == 1 ? chain_pipelined(k)
				   : which == 5 ? arg_call(k, false)
				   : which == 6 ? arg_call(k, true)
						: 0;
			if (which == 2)
				rc = futures(k, n, NULL);
			else if (which == 3)
				rc = futures(k, n, &dl);
			else if (which == 4)
				rc = raw(k, n);
			t1 = bench_now();
			shade_conn_stats_get(k->c, &s1);
			if (rc != 0)
				return 1;
			if (which == 0) {
				bench_series_add(&seq, (t1 - t0) * 1e6 / n);
				trips_seq = (double)(s1.round_trips -
						     s0.round_trips) / n;
			} else if (which == 1) {
				bench_series_add(&pip, (t1 - t0) * 1e6 / n);
				trips_pip = (double)(s1.round_trips -
						     s0.round_trips) / n;
			} else if (which >= 5) {
				bench_series_add(which == 5 ? &aseq : &apip,
						 (t1 - t0) * 1e6 / n);
				*(which == 5 ? &trips_aseq : &trips_apip) =
					(double)(s1.round_trips -
						 s0.round_trips) / n;
			} else {
				bench_series_add(which == 2 ? &fut
						 : which == 3 ? &futx : &rw,
						 n / (t1 - t0));
			}
		}
	}
	printf("== promise pipelining (AF_UNIX socketpairs, one connection, "
	       "depth %d)\n", DEPTH);
	print_fig("chain3.sequential", "us", &seq);
	printf("%-28s %12.2f %s\n", "chain3.sequential.trips", trips_seq,
	       "round trips per chain");
	print_fig("chain3.pipelined", "us", &pip);
	printf("%-28s %12.2f %s\n", "chain3.pipelined.trips", trips_pip,
	       "round trips per chain");
	print_ratio("ratio.chain3_seq_vs_pipe", &seq, &pip);
	print_fig("pipe.futures", "calls/s", &fut);
	print_fig("pipe.futures_ex", "calls/s", &futx);
	print_fig("pipe.raw", "calls/s", &rw);
	print_ratio("ratio.futures_vs_raw", &fut, &rw);
	print_ratio("ratio.futures_ex_vs_futures", &futx, &fut);
	print_fig("arg.sequential", "us", &aseq);
	printf("%-28s %12.2f %s\n", "arg.sequential.trips", trips_aseq,
	       "round trips per call pair");
	print_fig("arg.pipelined", "us", &apip);
	printf("%-28s %12.2f %s\n", "arg.pipelined.trips", trips_apip,
	       "round trips per call pair");
	print_ratio("ratio.arg_seq_vs_pipe", &aseq, &apip);
	shade_ref_release(k->root);
	shade_conn_close(k->c);
	pthread_join(k->th, NULL);
	close(k->raw_fd);
	pthread_join(k->raw_th, NULL);
	talloc_free(k->ctx);
	free(k);
	return 0;
}
