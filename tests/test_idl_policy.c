/*
 * test_idl_policy.c - what the IDL's copy-policy annotations and doc
 * comments do in the generated code (tests/idl/gen/policy.idl, compiled
 * by shade-idlc at build time as idlc/rules.mk says), over a real Unix
 * socket to a server whose loop runs on a thread: @eager readonly
 * attributes ride with the reference and cost no round trip, only to a
 * peer that compiled the shape in; doc comments are the doc strings of
 * the shape descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "policy.h"
#include "conn/msg_int.h"
#include "helpers/peer.h"
#include "helpers/raw.h"
#include "helpers/testutil.h"
#include "helpers/suite.h"

/* A served pol.Shop; the server's loop thread reads and writes it. */
typedef struct shop {
	const char *name;     /* its name */
	int32_t opened;       /* its opening year */
	unsigned name_reads;  /* get_name calls (atomic) */
	unsigned visit_reads; /* get_visits calls (atomic) */
	uint32_t n_prices;    /* its prices are 100, 101, ... */
} shop;

/* get_name: the shop's name. */
static shade_status shop_get_name(void *self, TALLOC_CTX *mem_ctx,
				  char **out, shade_error **err)
{
	shop *s = self;

	__atomic_add_fetch(&s->name_reads, 1, __ATOMIC_RELAXED);
	*out = talloc_strdup(mem_ctx, s->name);
	return *out ? SHADE_OK : shade_error_set(err, SHADE_ERR_NOMEM,
						 "out of memory");
}

/* get_opened: its year. */
static shade_status shop_get_opened(void *self, int32_t *out,
				    shade_error **err)
{
	(void)err;
	*out = ((shop *)self)->opened;
	return SHADE_OK;
}

/* get_visits: how often it was asked. */
static shade_status shop_get_visits(void *self, int32_t *out,
				    shade_error **err)
{
	shop *s = self;

	(void)err;
	*out = (int32_t)__atomic_add_fetch(&s->visit_reads, 1,
					   __ATOMIC_RELAXED);
	return SHADE_OK;
}

/* get_prices and get_all_prices: n_prices prices, 100 and up. */
static shade_status shop_get_prices(void *self, TALLOC_CTX *mem_ctx,
				    pol_Prices *out, shade_error **err)
{
	shop *s = self;
	uint32_t i;

	out->len = s->n_prices;
	out->items = talloc_array(mem_ctx, int32_t, s->n_prices);
	if (out->items == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < s->n_prices; i++)
		out->items[i] = (int32_t)(100 + i);
	return SHADE_OK;
}

/* pick (@byref xs): reads xs's length and item `at` from the caller, two
 * requests back to it whatever the length. */
static shade_status shop_pick(void *self, shade_ref *xs, int32_t at,
			      int32_t *result, shade_error **err)
{
	shade_value key = shade_value_int(at), *item = NULL;
	size_t len = 0;
	shade_status st;

	(void)self;
	st = shade_len(xs, &len, err);
	if (st == SHADE_OK)
		st = shade_getitem(NULL, xs, &key, &item, err);
	if (st == SHADE_OK && shade_value_kind(item) != SHADE_INT)
		st = shade_error_set(err, SHADE_ERR_TYPE, "not an int");
	if (st == SHADE_OK)
		*result = (int32_t)(item->u.i + 1000 * (int64_t)len);
	talloc_free(item);
	return st;
}

/* pick_copy (xs by value): the same from the copy. */
static shade_status shop_pick_copy(void *self, const pol_Prices *xs,
				   int32_t at, int32_t *result,
				   shade_error **err)
{
	(void)self;
	if (at < 0 || (uint32_t)at >= xs->len)
		return shade_error_set(err, SHADE_ERR_INDEX, "out of range");
	*result = xs->items[at] + 1000 * (int32_t)xs->len;
	return SHADE_OK;
}

/* first(n): prices 100 .. 100+n-1. */
static shade_status shop_first(void *self, TALLOC_CTX *mem_ctx, int32_t n,
			       pol_Prices *result, shade_error **err)
{
	shop s = *(shop *)self;

	s.n_prices = n < 0 ? 0 : (uint32_t)n;
	return shop_get_prices(&s, mem_ctx, result, err);
}

/* An int attribute of r read from the caller. */
static shade_status int_field(shade_ref *r, const char *name, int64_t *out,
			      shade_error **err)
{
	shade_value *v = NULL;
	shade_status st = shade_getattr(NULL, r, name, &v, err);

	if (st == SHADE_OK && shade_value_kind(v) != SHADE_INT)
		st = shade_error_set(err, SHADE_ERR_TYPE, "not an int");
	if (st == SHADE_OK)
		*out = v->u.i;
	talloc_free(v);
	return st;
}

/* area (@byref r): w times h, read as two attributes of r; its label is
 * never read. */
static shade_status shop_area(void *self, shade_ref *r, int32_t *result,
			      shade_error **err)
{
	int64_t w = 0, h = 0;
	shade_status st;

	(void)self;
	st = int_field(r, "w", &w, err);
	if (st == SHADE_OK)
		st = int_field(r, "h", &h, err);
	if (st == SHADE_OK)
		*result = (int32_t)(w * h);
	return st;
}

static shade_status shop_branch(void *self, TALLOC_CTX *mem_ctx,
				const char *name, pol_Shop **result,
				shade_error **err);

/* What serves a pol.Shop. */
static const pol_Shop_impl shop_impl = {
	.get_name = shop_get_name,
	.get_opened = shop_get_opened,
	.get_visits = shop_get_visits,
	.get_prices = shop_get_prices,
	.get_all_prices = shop_get_prices,
	.branch = shop_branch,
	.pick = shop_pick,
	.pick_copy = shop_pick_copy,
	.area = shop_area,
	.first = shop_first,
};

/* The branch, served beside the main shop (set up by srv_start). */
static shop branch_shop = { .name = "Corner", .opened = 2001 };
static shade_ref *branch_ref;

/* branch(name): the branch shop, whatever the name. */
static shade_status shop_branch(void *self, TALLOC_CTX *mem_ctx,
				const char *name, pol_Shop **result,
				shade_error **err)
{
	(void)self;
	(void)name;
	return pol_Shop_narrow(mem_ctx, branch_ref, result, err);
}

/* The main shop. */
static shop main_shop = { .name = "Emporium", .opened = 1887 };

/* A server exporting "shop" (main_shop) on a Unix socket of its own,
 * its loop run by a thread. */
static tp_server *srv_start(TALLOC_CTX *ctx)
{
	tp_server *v = tp_server_new(ctx, NULL);
	shade_ref *ref;

	main_shop.name_reads = main_shop.visit_reads = 0;
	branch_shop.name_reads = branch_shop.visit_reads = 0;
	assert_ok(pol_Shop_serve(&shop_impl, &main_shop, &ref, errp_));
	assert_ok(shade_server_export(v->s, "shop", ref, errp_));
	shade_ref_release(ref);
	assert_ok(pol_Shop_serve(&shop_impl, &branch_shop, &branch_ref,
				 errp_));
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* Stop the server and drop the branch. */
static void srv_stop(tp_server *v)
{
	tp_server_stop(v);
	shade_ref_release(branch_ref);
	branch_ref = NULL;
}

/* Connect to v (compiled-in shapes `known`, or none), look up "shop"
 * and narrow it. */
static pol_Shop *open_shop(TALLOC_CTX *ctx, tp_server *v,
			   const shade_shape_desc *const *known,
			   shade_conn **c)
{
	shade_conn_opts opts = { .known = known };
	shade_ref *ref = NULL;
	pol_Shop *s = NULL;

	assert_ok(shade_connect(ctx, v->addr, &opts, c, errp_));
	assert_ok(shade_lookup(*c, "shop", &ref, errp_));
	assert_ok(pol_Shop_narrow(ctx, ref, &s, errp_));
	shade_ref_release(ref);
	return s;
}

/* Free the shop s, its connection c, stop v and free ctx. */
static void close_shop(TALLOC_CTX *ctx, tp_server *v, shade_conn *c,
		       pol_Shop *s)
{
	talloc_free(s);
	talloc_free(c);
	srv_stop(v);
	talloc_free(ctx);
}

/* What c shared for a call was released by the peer: after one more
 * round trip (the RELEASE comes before its reply) c exports nothing. */
static void assert_released(pol_Shop *s, shade_conn *c)
{
	int32_t n = 0;

	assert_ok(pol_Shop_get_visits(s, &n, errp_));
	assert_int_equal(tp_stats(c).exports, 0);
}

/* Round trips c made so far. */
static uint64_t trips(shade_conn *c)
{
	return tp_stats(c).round_trips;
}

static const shade_shape_desc *const known_shop[] = { &pol_Shop_shape,
						      NULL };

/* A client that compiled pol.Shop in reads the @eager attributes with
 * no round trip (the getter ran on the server when the reference was
 * sent), and the plain one with one. */
static void test_idl_policy_eager_no_round_trip(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c = NULL;
	pol_Shop *s = open_shop(ctx, v, known_shop, &c);
	uint64_t before = trips(c);
	char *name = NULL;
	int32_t year = 0, visits = 0;

	assert_int_equal(__atomic_load_n(&main_shop.name_reads,
					 __ATOMIC_RELAXED), 1);
	assert_ok(pol_Shop_get_name(s, ctx, &name, errp_));
	assert_string_equal(name, "Emporium");
	assert_ok(pol_Shop_get_opened(s, &year, errp_));
	assert_int_equal(year, 1887);
	assert_int_equal(trips(c), before);
	/* read again: still the value that came with the reference */
	assert_ok(pol_Shop_get_opened(s, &year, errp_));
	assert_int_equal(trips(c), before);
	assert_int_equal(__atomic_load_n(&main_shop.name_reads,
					 __ATOMIC_RELAXED), 1);
	assert_ok(pol_Shop_get_visits(s, &visits, errp_));
	assert_int_equal(visits, 1);
	assert_int_equal(trips(c), before + 1);
	print_message("lookup + narrow: %llu round trip(s); name and opened "
		      "(@eager): 0; visits: 1\n", (unsigned long long)before);

	close_shop(ctx, v, c, s);
}

/* A reference in a reply (branch's result) carries the values of the
 * object it names. */
static void test_idl_policy_eager_in_reply(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c = NULL;
	pol_Shop *s = open_shop(ctx, v, known_shop, &c), *b = NULL;
	uint64_t before;
	char *name = NULL;
	int32_t year = 0;

	assert_ok(pol_Shop_branch(s, ctx, "any", &b, errp_));
	before = trips(c);
	assert_ok(pol_Shop_get_name(b, ctx, &name, errp_));
	assert_string_equal(name, "Corner");
	assert_ok(pol_Shop_get_opened(b, &year, errp_));
	assert_int_equal(year, 2001);
	assert_int_equal(trips(c), before);

	talloc_free(b);
	close_shop(ctx, v, c, s);
}

/* A client that did not compile the shape in (a dynamic or older peer)
 * gets the reference as before, without the values: reading one is a
 * round trip and gives the same value. */
static void test_idl_policy_eager_unknown_peer(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c = NULL;
	pol_Shop *s = open_shop(ctx, v, NULL, &c);
	uint64_t before = trips(c);
	char *name = NULL;

	assert_int_equal(__atomic_load_n(&main_shop.name_reads,
					 __ATOMIC_RELAXED), 0);
	assert_ok(pol_Shop_get_name(s, ctx, &name, errp_));
	assert_string_equal(name, "Emporium");
	assert_int_equal(trips(c), before + 1);

	close_shop(ctx, v, c, s);
}

/* The bytes: a peer announcing pol.Shop's fingerprint in HELLO gets
 * 200([eid, fp, null, {0: "Emporium", 1: 1887}]) for LOOKUP "shop". */
static void test_idl_policy_eager_wire(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	uint64_t fp = shade_shape_fp(&pol_Shop_shape);
	struct raw r;
	uint8_t *p = NULL, want[64];
	size_t n = 0, w = 0, i;

	raw_open(&r, ctx, v->path, NULL, NULL);
	/* HELLO [0, 0, 1, 0, [fp]] */
	raw_send_hexf(&r, "850000010081 1b%016llx", (unsigned long long)fp);
	raw_send_lookup(&r, 1, "shop");
	raw_expect_op(&r, OP_HELLO);
	assert_true(raw_next_frame(&r, ctx, &p, &n, 5000));
	/* [1, 1, 200([1, fp, null, {0: "Emporium", 1: 1887}])] */
	memcpy(want, "\x83\x01\x01\xd8\xc8\x84\x01\x1b", 8);
	w = 8;
	for (i = 0; i < 8; i++)
		want[w++] = (uint8_t)(fp >> (56 - 8 * i));
	memcpy(want + w, "\xf6\xa2\x00\x68" "Emporium" "\x01\x19\x07\x5f",
	       16);
	w += 16;
	assert_int_equal(n, w);
	assert_memory_equal(p, want, w);
	raw_close(&r);
	srv_stop(v);
	talloc_free(ctx);
}

/* Read `prices` (@chunk(4)) and `all_prices` (the same, without) from
 * a shop of n prices: the values, and the round trips of each read into
 * *chunked and *whole. */
static void read_prices(TALLOC_CTX *ctx, uint32_t n, uint64_t *chunked,
			uint64_t *whole)
{
	tp_server *v;
	shade_conn *c = NULL;
	pol_Shop *s;
	pol_Prices p = { 0 }, q = { 0 };
	uint64_t t0, t1;
	uint32_t i;

	main_shop.n_prices = n;
	v = srv_start(ctx);
	s = open_shop(ctx, v, NULL, &c);
	t0 = trips(c);
	assert_ok(pol_Shop_get_prices(s, ctx, &p, errp_));
	t1 = trips(c);
	assert_ok(pol_Shop_get_all_prices(s, ctx, &q, errp_));
	*chunked = t1 - t0;
	*whole = trips(c) - t1;
	assert_int_equal(p.len, n);
	assert_int_equal(q.len, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(p.items[i], 100 + (int32_t)i);
		assert_int_equal(q.items[i], 100 + (int32_t)i);
	}
	print_message("%u prices: @chunk(4) %llu round trips, whole %llu\n",
		      (unsigned)n, (unsigned long long)*chunked,
		      (unsigned long long)*whole);
	talloc_free(p.items);
	talloc_free(q.items);
	talloc_free(s);
	talloc_free(c);
	srv_stop(v);
	main_shop.n_prices = 0;
}

/* @chunk(4): the sequence crosses as a remote list read 4 items per
 * round trip (GETATTR, then one FORCE per chunk until one comes back
 * short); without it, one GETATTR brings it whole. */
static void test_idl_policy_chunk(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	uint64_t chunked = 0, whole = 0;

	read_prices(ctx, 10, &chunked, &whole);
	assert_int_equal(chunked, 1 + 3);  /* 4 + 4 + 2 */
	assert_int_equal(whole, 1);
	read_prices(ctx, 8, &chunked, &whole);
	assert_int_equal(chunked, 1 + 3);  /* 4 + 4 + 0 */
	read_prices(ctx, 0, &chunked, &whole);
	assert_int_equal(chunked, 1 + 1);
	assert_int_equal(whole, 1);
	talloc_free(ctx);
}

/* @chunk(3) on an operation's result: INVOKE answers a list reference,
 * 7 items come 3 + 3 + 1, one FORCE each. */
static void test_idl_policy_chunk_result(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c = NULL;
	pol_Shop *s = open_shop(ctx, v, NULL, &c);
	pol_Prices p = { 0 };
	uint64_t t0 = trips(c);
	uint32_t i;

	assert_ok(pol_Shop_first(s, ctx, 7, &p, errp_));
	assert_int_equal(trips(c) - t0, 1 + 3);
	assert_int_equal(p.len, 7);
	for (i = 0; i < p.len; i++)
		assert_int_equal(p.items[i], 100 + (int32_t)i);
	talloc_free(p.items);
	close_shop(ctx, v, c, s);
}

/* @byref: a sequence parameter crosses as a reference to a list the
 * caller shares for the call; the callee reads what it needs (here its
 * length and one item: two requests back to the caller, served while the
 * caller waits) instead of receiving 1 000 items.  @byvalue is the copy. */
static void test_idl_policy_byref_param(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c = NULL;
	pol_Shop *s = open_shop(ctx, v, NULL, &c);
	pol_Prices xs = { 0 };
	shade_conn_stats a, b, d;
	int32_t r = 0;
	uint32_t i;

	xs.len = 1000;
	xs.items = talloc_array(ctx, int32_t, xs.len);
	assert_non_null(xs.items);
	for (i = 0; i < xs.len; i++)
		xs.items[i] = (int32_t)i;
	a = tp_stats(c);
	assert_ok(pol_Shop_pick(s, &xs, 7, &r, errp_));
	assert_int_equal(r, 1000 * 1000 + 7);
	b = tp_stats(c);
	assert_ok(pol_Shop_pick_copy(s, &xs, 7, &r, errp_));
	assert_int_equal(r, 1000 * 1000 + 7);
	d = tp_stats(c);
	/* by reference: LEN and GETITEM served by the caller */
	assert_int_equal(b.requests_served - a.requests_served, 2);
	assert_int_equal(d.requests_served - b.requests_served, 0);
	assert_true(b.bytes_sent - a.bytes_sent < 200);
	assert_true(d.bytes_sent - b.bytes_sent > 2000);
	print_message("1000 items, callee reads one: @byref %llu bytes sent, "
		      "%llu requests served; @byvalue %llu bytes sent\n",
		      (unsigned long long)(b.bytes_sent - a.bytes_sent),
		      (unsigned long long)(b.requests_served -
					   a.requests_served),
		      (unsigned long long)(d.bytes_sent - b.bytes_sent));
	/* the list is released once the callee is done with it */
	assert_released(s, c);

	talloc_free(xs.items);
	close_shop(ctx, v, c, s);
}

/* @byref on a struct parameter: it crosses as a reference to an object
 * whose readonly attributes are its fields (shape "pol.Rect"); the callee
 * reads w and h (two requests back to the caller), the 2 000-byte label
 * never crosses. */
static void test_idl_policy_byref_struct(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v = srv_start(ctx);
	shade_conn *c = NULL;
	pol_Shop *s = open_shop(ctx, v, NULL, &c);
	pol_Rect r = { .w = 6, .h = 7 };
	shade_conn_stats a, b;
	int32_t area = 0;

	r.label = talloc_zero_array(ctx, char, 2001);
	assert_non_null(r.label);
	memset(r.label, 'x', 2000);
	a = tp_stats(c);
	assert_ok(pol_Shop_area(s, &r, &area, errp_));
	b = tp_stats(c);
	assert_int_equal(area, 42);
	assert_int_equal(b.requests_served - a.requests_served, 2);
	assert_true(b.bytes_sent - a.bytes_sent < 200);
	print_message("@byref struct with a 2000-byte label, callee reads w "
		      "and h: %llu bytes sent, %llu requests served\n",
		      (unsigned long long)(b.bytes_sent - a.bytes_sent),
		      (unsigned long long)(b.requests_served -
					   a.requests_served));
	assert_released(s, c);

	talloc_free(r.label);
	close_shop(ctx, v, c, s);
}

/* IDL doc comments (`/ ** ... * /` and `///`) are the doc strings of the
 * shape and of its members; a member without one has NULL. */
static void test_idl_policy_doc_strings(void **state)
{
	const shade_shape_desc *d = &pol_Shop_shape;

	(void)state;
	assert_non_null(d->doc);
	assert_non_null(d->members[pol_Shop_name_INDEX].doc);
	assert_string_equal(d->doc, "A shop; its name and opening year ride "
			    "with every reference.");
	assert_string_equal(d->members[pol_Shop_name_INDEX].doc,
			    "The shop's name.");
	assert_string_equal(d->members[pol_Shop_opened_INDEX].doc,
			    "The year it opened.");
	assert_string_equal(d->members[pol_Shop_branch_INDEX].doc,
			    "Another shop of the same owner.");
	assert_null(d->members[pol_Shop_prices_INDEX].doc);
	assert_string_equal(d->members[pol_Shop_all_prices_INDEX].doc,
			    "Every price, read whole.");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_idl_policy_eager_no_round_trip),
		SUITE_CASE(test_idl_policy_eager_in_reply),
		SUITE_CASE(test_idl_policy_eager_unknown_peer),
		SUITE_CASE(test_idl_policy_eager_wire),
		SUITE_CASE(test_idl_policy_chunk),
		SUITE_CASE(test_idl_policy_chunk_result),
		SUITE_CASE(test_idl_policy_byref_param),
		SUITE_CASE(test_idl_policy_byref_struct),
		SUITE_CASE(test_idl_policy_doc_strings),
	};

	return SUITE_RUN("idl_policy", tests, argc, argv);
}
