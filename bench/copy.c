/*
 * bench/copy.c - what the copy rules cost (shade-bench-copy, run by
 * `make bench` after shade-bench-auth).
 *
 * One server on a Unix socket in a fresh mkdtemp directory, its loop on
 * a thread of this process, exports big.get(): a fresh bare list of the
 * 1 000 ints 0 .. 999.  Under the default copy rule the result crosses
 * by reference (the client reads it through the reference); with
 * shade_call_opts.byvalue it crosses whole in the reply.  In interleaved
 * rounds the client measures four ways of using the list:
 *
 *   byref.whole    get(), then shade_force on the reference
 *   byref.item     get(), then shade_getitem(500) on the reference
 *   byvalue.whole  get() by value
 *   byvalue.item   get() by value, then item 500 read locally
 *
 * each as microseconds per use (median over rounds), and, counted by
 * shade_conn_stats, round trips and bytes on the wire per use (both
 * directions, frame heads included; the RELEASE of a reference rides
 * with the next request and is counted there).  Prints `bench
 * copy.<name> <value> <unit>` per figure and the ratios by reference
 * over by value measured in the same run.
 *
 *   shade-bench-copy [--quick]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"
#include "bench.h"

/* Uses per round, rounds (full, --quick). */
#define USES 4000
#define USES_QUICK 500
#define ROUNDS 7
#define ROUNDS_QUICK 3
/* Items in the list. */
#define ITEMS 1000

/* The four ways of using the list. */
enum way { BYREF_WHOLE, BYREF_ITEM, BYVALUE_WHOLE, BYVALUE_ITEM, WAYS };

static const char *const way_names[WAYS] = {
	"byref.whole", "byref.item", "byvalue.whole", "byvalue.item"
};

/* big.get(): a fresh list of ITEMS ints. */
static shade_status get_fn(shade_call_ctx *call)
{
	shade_value *l = shade_list_new(call->mem, ITEMS);
	int64_t i;

	for (i = 0; l != NULL && i < ITEMS; i++) {
		shade_value x = shade_value_int(i);

		if (shade_seq_append(l, &x, call->err) != SHADE_OK)
			return SHADE_ERR_NOMEM;
	}
	call->result = l;
	return l ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* Body of the loop thread. */
static void *loop_main(void *arg)
{
	shade_server_run(arg, NULL);
	return NULL;
}

/* Die with a message. */
static void die(const char *what)
{
	fprintf(stderr, "bench-copy: %s\n", what);
	exit(1);
}

/* One use of the list the way w; exits on failure or a wrong item. */
static void use_once(shade_ref *big, enum way w)
{
	static const shade_call_opts bv = { .byvalue = true };
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *r = NULL, *v = NULL, k = shade_value_int(500);
	const shade_value *item = NULL;
	bool byvalue = w == BYVALUE_WHOLE || w == BYVALUE_ITEM;

	if (shade_invoke_ex(tmp, big, "get", NULL, NULL, byvalue ? &bv : NULL,
			    &r, NULL) != SHADE_OK)
		die("get failed");
	switch (w) {
	case BYREF_WHOLE:
		if (shade_value_kind(r) != SHADE_REF ||
		    shade_force(tmp, shade_value_as_ref(r), &v, NULL) !=
			    SHADE_OK)
			die("force failed");
		item = shade_seq_at(v, 500);
		break;
	case BYREF_ITEM:
		if (shade_value_kind(r) != SHADE_REF ||
		    shade_getitem(tmp, shade_value_as_ref(r), &k, &v, NULL) !=
			    SHADE_OK)
			die("getitem failed");
		item = v;
		break;
	default:
		if (shade_value_kind(r) != SHADE_LIST)
			die("no list by value");
		item = shade_seq_at(r, 500);
		break;
	}
	if (item == NULL || shade_value_as_int(item) != 500)
		die("wrong item");
	talloc_free(tmp);
}

/* Microseconds per use over n uses the way w; adds the round trips and
 * bytes they cost to *trips and *bytes. */
static double time_uses(shade_conn *c, shade_ref *big, enum way w, int n,
			uint64_t *trips, uint64_t *bytes)
{
	shade_conn_stats s0, s1;
	double t0;
	int i;

	shade_conn_stats_get(c, &s0);
	t0 = bench_now();
	for (i = 0; i < n; i++)
		use_once(big, w);
	t0 = (bench_now() - t0) * 1e6 / n;
	shade_conn_stats_get(c, &s1);
	*trips += s1.round_trips - s0.round_trips;
	*bytes += (s1.bytes_sent - s0.bytes_sent) +
		  (s1.bytes_received - s0.bytes_received);
	return t0;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int uses = quick ? USES_QUICK : USES;
	int rounds = quick ? ROUNDS_QUICK : ROUNDS;
	TALLOC_CTX *ctx = talloc_new(NULL);
	char tmpl[] = "/tmp/shade-bench-copy.XXXXXX";
	bench_series t[WAYS];
	uint64_t trips[WAYS] = { 0 }, bytes[WAYS] = { 0 };
	double med[WAYS], lo, hi, per_trips[WAYS], per_bytes[WAYS];
	shade_server *s;
	shade_conn *c;
	shade_ref *obj, *big;
	pthread_t th;
	char *addr;
	int r, w;

	memset(t, 0, sizeof(t));
	if (mkdtemp(tmpl) == NULL) {
		perror("bench-copy: mkdtemp");
		return 1;
	}
	addr = talloc_asprintf(ctx, "unix:%s/copy.sock", tmpl);
	if (shade_server_new(ctx, NULL, &s, NULL) != SHADE_OK ||
	    shade_object_new("bench.Big", NULL, &obj, NULL) != SHADE_OK ||
	    shade_object_add_method(obj, "get", get_fn, NULL, false, NULL) !=
		    SHADE_OK ||
	    shade_server_export(s, "big", obj, NULL) != SHADE_OK ||
	    shade_server_listen(s, addr, NULL) != SHADE_OK ||
	    pthread_create(&th, NULL, loop_main, s) != 0)
		die("cannot start the server");
	shade_ref_release(obj);
	if (shade_connect(ctx, addr, NULL, &c, NULL) != SHADE_OK ||
	    shade_lookup(c, "big", &big, NULL) != SHADE_OK)
		die("cannot connect");
	for (r = 0; r < rounds; r++)
		for (w = 0; w < WAYS; w++)
			bench_series_add(&t[w], time_uses(c, big, (enum way)w,
							  uses, &trips[w],
							  &bytes[w]));
	for (w = 0; w < WAYS; w++) {
		bench_series_summary(&t[w], &med[w], &lo, &hi);
		per_trips[w] = (double)trips[w] / ((double)uses * rounds);
		per_bytes[w] = (double)bytes[w] / ((double)uses * rounds);
		printf("bench copy.%s %.2f us (range %.2f-%.2f over %d "
		       "rounds), %.2f round trips, %.0f bytes per use\n",
		       way_names[w], med[w], lo, hi, t[w].n, per_trips[w],
		       per_bytes[w]);
	}
	printf("bench copy.whole_ratio %.2f x time, %.2f x bytes (a %d-item "
	       "list read whole: by reference over by value)\n",
	       med[BYREF_WHOLE] / med[BYVALUE_WHOLE],
	       per_bytes[BYREF_WHOLE] / per_bytes[BYVALUE_WHOLE], ITEMS);
	printf("bench copy.item_ratio %.2f x time, %.3f x bytes (one item of "
	       "it: by reference over by value)\n",
	       med[BYREF_ITEM] / med[BYVALUE_ITEM],
	       per_bytes[BYREF_ITEM] / per_bytes[BYVALUE_ITEM]);

	shade_ref_release(big);
	talloc_free(c);
	shade_server_stop(s);
	pthread_join(th, NULL);
	talloc_free(ctx);
	addr = talloc_asprintf(NULL, "%s", tmpl);
	rmdir(addr);
	talloc_free(addr);
	return 0;
}
