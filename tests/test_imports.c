/*
 * test_imports.c - the import table and the lives of proxies, over a
 * real socketpair: an object the peer exports lives exactly as long as
 * some proxy of it does (the RELEASE goes when the last count of the
 * last proxy goes, not before, not never), with thousands of proxies
 * freed in a scrambled order; a reference received more often than a
 * proxy's count of received references holds (65 535) gives the excess
 * back early and still keeps the object; and the table itself (growth
 * by half, removal shifting slots back) finds every proxy it holds.
 *
 * The server's objects count their frees (shade_object_on_free), so each
 * case sees when the server let an object go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "conn/conn_int.h"
#include "conn/import_int.h"
#include "helpers/peer.h"
#include "helpers/suite.h"

/* Server objects made and freed so far (the server's thread writes). */
static long made, freed;

/* Free hook of the server's objects. */
static void on_item_free(void *udata)
{
	(void)udata;
	__atomic_add_fetch(&freed, 1, __ATOMIC_RELAXED);
}

/* A new demo.Item counted by made/freed, or NULL after setting *err. */
static shade_ref *new_item(shade_error **err)
{
	shade_ref *o;

	if (shade_object_new("demo.Item", NULL, &o, err) != SHADE_OK)
		return NULL;
	shade_object_on_free(o, on_item_free, NULL);
	__atomic_add_fetch(&made, 1, __ATOMIC_RELAXED);
	return o;
}

/* The int argument i of a call, or -1. */
static int64_t int_arg(const shade_call_ctx *call, size_t i)
{
	const shade_value *v = shade_seq_at(call->args, i);

	return v != NULL && shade_value_kind(v) == SHADE_INT
		       ? shade_value_as_int(v)
		       : -1;
}

/* twice(n): a list (by value) of 2n references to n new objects, object i at i and
 * at n + i (each reference counted once by the exporter). */
static shade_status twice(shade_call_ctx *call)
{
	int64_t n = int_arg(call, 0), i;
	shade_value *l;

	if (n < 0 || n > 100000)
		return shade_error_set(call->err, SHADE_ERR_VALUE, "bad n");
	l = shade_list_new(call->mem, (size_t)(2 * n));
	for (i = 0; i < 2 * n; i++)
		shade_seq_append_take(l, shade_none(NULL), NULL);
	for (i = 0; i < n; i++) {
		shade_ref *o = new_item(call->err);

		if (o == NULL)
			return SHADE_ERR_NOMEM;
		shade_seq_set_take(l, i, shade_ref_value(NULL, o), NULL);
		shade_seq_set_take(l, n + i,
				   shade_ref_value_take(NULL, o), NULL);
	}
	shade_value_set_byvalue(l, true);
	call->result = l;
	return SHADE_OK;
}

/* same(k): a list (by value) of k references to one new object. */
static shade_status same(shade_call_ctx *call)
{
	int64_t k = int_arg(call, 0), i;
	shade_ref *o;
	shade_value *l;

	if (k < 1 || k > 1000000)
		return shade_error_set(call->err, SHADE_ERR_VALUE, "bad k");
	if ((o = new_item(call->err)) == NULL)
		return SHADE_ERR_NOMEM;
	l = shade_list_new(call->mem, (size_t)k);
	for (i = 0; i < k; i++)
		shade_seq_append_take(l, shade_ref_value(NULL, o), NULL);
	shade_ref_release(o);
	shade_value_set_byvalue(l, true);
	call->result = l;
	return SHADE_OK;
}

/* echo(x): x back. */
static shade_status echo(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, shade_seq_at(call->args, 0));
	return SHADE_OK;
}

/* A peer serving the functions above; the client's proxy of "f" (an
 * object with twice, same and echo). */
static shade_ref *start(tp_peer *pp, TALLOC_CTX *ctx)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *f;

	assert_ok(shade_object_new("demo.Factory", NULL, &f, errp_));
	assert_ok(shade_object_add_method(f, "twice", twice, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(f, "same", same, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(f, "echo", echo, NULL, false,
					  errp_));
	assert_ok(shade_registry_add(reg, "f", f, errp_));
	shade_ref_release(f);
	assert_int_equal(tp_start(pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp->client, "f", &f, errp_));
	return f;
}

/* f.name(n) on ctx. */
static shade_value *call_n(TALLOC_CTX *ctx, shade_ref *f, const char *name,
			   int64_t n)
{
	shade_value *args = shade_tuple_new(ctx, 1), *r = NULL;

	shade_seq_append_take(args, shade_int(NULL, n), NULL);
	assert_ok(shade_invoke(ctx, f, name, args, NULL, &r, errp_));
	talloc_free(args);
	return r;
}

/* Two round trips: a RELEASE queued before is sent and applied. */
static void settle(TALLOC_CTX *ctx, shade_ref *f)
{
	talloc_free(call_n(ctx, f, "echo", 0));
	talloc_free(call_n(ctx, f, "echo", 0));
}

/* Objects the server made that are still alive. */
static long alive(void)
{
	return __atomic_load_n(&made, __ATOMIC_RELAXED) -
	       __atomic_load_n(&freed, __ATOMIC_RELAXED);
}

/* A permutation of 0 .. n-1 on ctx (a fixed seed). */
static size_t *scrambled(TALLOC_CTX *ctx, size_t n, unsigned seed)
{
	size_t *o = talloc_array(ctx, size_t, n), i;

	for (i = 0; i < n; i++)
		o[i] = i;
	for (i = n; i > 1; i--) {
		size_t j, t;

		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % i;
		t = o[i - 1];
		o[i - 1] = o[j];
		o[j] = t;
	}
	return o;
}

/* Thousands of proxies, each received twice in one reply and once more
 * for some, freed in a scrambled order: each server object goes exactly
 * when the last count of its proxy does. */
static void test_imports_lifecycle(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	size_t n = tu_under_valgrind() ? 300 : 3000, i, k;
	size_t checked = tu_under_valgrind() ? 20 : 200;
	shade_ref *f, **held;
	shade_value *list, *r;
	size_t *order;
	shade_conn_stats cs;
	tp_peer pp;

	made = freed = 0;
	f = start(&pp, ctx);
	list = call_n(ctx, f, "twice", (int64_t)n);
	assert_int_equal(shade_value_len(list), 2 * n);
	held = talloc_array(ctx, shade_ref *, n);
	for (i = 0; i < n; i++) {
		held[i] = shade_ref_retain(
			shade_value_as_ref(shade_seq_at(list, i)));
		/* Both references of object i are one proxy. */
		assert_true(shade_ref_same(
			held[i],
			shade_value_as_ref(shade_seq_at(list, n + i))));
	}
	talloc_free(list);
	cs = tp_stats(pp.client);
	assert_int_equal(cs.imports, n + 1);
	settle(ctx, f);
	assert_int_equal(alive(), (long)n);
	/* A third reference to some: the same proxy comes back. */
	order = scrambled(ctx, n, 17);
	for (k = 0; k < checked; k++) {
		shade_value *x = shade_ref_value(ctx, held[order[k]]);
		shade_value *args = shade_tuple_new(ctx, 1);

		shade_seq_append_take(args, x, NULL);
		assert_ok(shade_invoke(ctx, f, "echo", args, NULL, &r, errp_));
		assert_true(shade_ref_same(shade_value_as_ref(r),
					   held[order[k]]));
		talloc_free(r);
		talloc_free(args);
	}
	/* One by one for the first ones: a count more than the last keeps
	 * the object; the last lets it go, once the RELEASE arrives. */
	order = scrambled(ctx, n, 4242);
	for (k = 0; k < checked; k++) {
		shade_ref *p = held[order[k]];

		shade_ref_retain(p);
		shade_ref_release(p);
		settle(ctx, f);
		assert_int_equal(alive(), (long)(n - k));
		shade_ref_release(p);
		settle(ctx, f);
		assert_int_equal(alive(), (long)(n - k - 1));
		cs = tp_stats(pp.client);
		assert_int_equal(cs.imports, n - k);
	}
	/* The rest in a scrambled order. */
	for (; k < n; k++)
		shade_ref_release(held[order[k]]);
	settle(ctx, f);
	assert_int_equal(alive(), 0);
	cs = tp_stats(pp.client);
	assert_int_equal(cs.imports, 1);
	shade_ref_release(f);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* One object received 140 000 times: the proxy's received count (16
 * bits) gives 65 535 back early each time it would overflow, the object
 * lives on, and the last release gives back the rest. */
static void test_imports_count_overflow(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int64_t k = 140000;
	shade_ref *f, *p;
	shade_value *list, *r, *args;
	shade_conn_stats a, b;
	tp_peer pp;
	int i;

	made = freed = 0;
	f = start(&pp, ctx);
	a = tp_stats(pp.client);
	list = call_n(ctx, f, "same", k);
	assert_int_equal(shade_value_len(list), (size_t)k);
	p = shade_ref_retain(shade_value_as_ref(shade_seq_at(list, 0)));
	assert_true(shade_ref_same(p, shade_value_as_ref(
					      shade_seq_at(list, (size_t)k - 1))));
	talloc_free(list);
	settle(ctx, f);
	b = tp_stats(pp.client);
	/* Two early RELEASEs went (65 535 each), the object stays. */
	assert_true(b.releases_sent > a.releases_sent);
	assert_int_equal(alive(), 1);
	/* Sent back and forth, it stays the same proxy. */
	for (i = 0; i < 3; i++) {
		args = shade_tuple_new(ctx, 1);
		shade_seq_append_take(args, shade_ref_value(NULL, p), NULL);
		assert_ok(shade_invoke(ctx, f, "echo", args, NULL, &r, errp_));
		assert_true(shade_ref_same(shade_value_as_ref(r), p));
		talloc_free(r);
		talloc_free(args);
	}
	settle(ctx, f);
	assert_int_equal(alive(), 1);
	shade_ref_release(p);
	settle(ctx, f);
	assert_int_equal(alive(), 0);
	shade_ref_release(f);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* The table alone: proxies with scattered export ids added, found,
 * removed in a scrambled order and added again; every lookup finds the
 * proxy of its id and nothing else. */
static void test_imports_table(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	size_t n = 20000, i, k, *order;
	struct proxy *px = talloc_zero_array(ctx, struct proxy, n);
	struct import_table t;
	uint64_t missing;

	itab_init(&t, ctx);
	assert_null(itab_get(&t, 1));
	for (i = 0; i < n; i++) {
		/* clusters of neighbours and far-apart ids */
		px[i].eid = i % 3 == 0 ? i + 1
				       : (uint64_t)i * UINT64_C(0x9e3779b97f4a7c15) | 1;
		assert_true(itab_add(&t, &px[i]));
	}
	assert_int_equal(t.n, n);
	assert_true(t.n * 8 <= t.cap * 7);
	assert_true(t.cap * 7 <= t.n * 12 + 7 * ITAB_MIN);
	for (i = 0; i < n; i++)
		assert_ptr_equal(itab_get(&t, px[i].eid), &px[i]);
	order = scrambled(ctx, n, 99);
	for (k = 0; k < n / 2; k++)
		itab_del(&t, &px[order[k]]);
	assert_int_equal(t.n, n - n / 2);
	for (k = 0; k < n; k++)
		if (k < n / 2)
			assert_null(itab_get(&t, px[order[k]].eid));
		else
			assert_ptr_equal(itab_get(&t, px[order[k]].eid),
					 &px[order[k]]);
	for (k = 0; k < n / 2; k++)
		assert_true(itab_add(&t, &px[order[k]]));
	for (i = 0; i < n; i++)
		assert_ptr_equal(itab_get(&t, px[i].eid), &px[i]);
	missing = 2 * (uint64_t)n; /* even, past the neighbours */
	assert_null(itab_get(&t, missing));
	k = 0;
	i = 0;
	while (itab_next(&t, &i) != NULL)
		k++;
	assert_int_equal(k, n);
	itab_clear(&t);
	assert_null(itab_get(&t, px[0].eid));
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_imports_lifecycle),
		SUITE_CASE(test_imports_count_overflow),
		SUITE_CASE(test_imports_table),
	};

	return SUITE_RUN("imports", tests, argc, argv);
}
