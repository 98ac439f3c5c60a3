/*
 * test_proxy.c - proxies of remote objects: lazy members, bound methods,
 * containers by reference (len one round trip, iteration in chunks,
 * force), discovery (dir, describe), identity in both directions, types
 * and isinstance, keyword arguments, oneway calls, and lifetimes (10 000
 * proxies made and freed leave both tables empty).
 *
 * Every test checks that the group context's talloc blocks and the
 * references alive in the process are back where they started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/peer.h"
#include "object/object_int.h"
#include "helpers/suite.h"

/* The group fixture and assert_ok: helpers/suite.h. */

/* ------------------------------------------------------------ objects */

/* The object make() hands out each time, and the one keeper() returns. */
static shade_ref *keeper;
/* Calls of the oneway method note(). */
static int notes;

/* factory.make(): a new demo.Item. */
static shade_status make(shade_call_ctx *call)
{
	shade_ref *item;
	shade_value n = shade_value_int(1);

	SHADE_CHECK(shade_object_new("demo.Item", NULL, &item, call->err));
	if (shade_object_add_attr(item, "n", &n, true, call->err) != SHADE_OK) {
		shade_ref_release(item);
		return SHADE_ERR_NOMEM;
	}
	call->result = shade_ref_value_take(call->mem, item);
	return SHADE_OK;
}

/* factory.keeper(): always the same object. */
static shade_status get_keeper(shade_call_ctx *call)
{
	call->result = shade_ref_value(call->mem, keeper);
	return SHADE_OK;
}

/* factory.echo(x): x back. */
static shade_status echo(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, shade_seq_at(call->args, 0));
	return SHADE_OK;
}

/* factory.is_keeper(x): whether x arrived as the original keeper. */
static shade_status is_keeper(shade_call_ctx *call)
{
	const shade_value *a = shade_seq_at(call->args, 0);

	call->result = shade_bool(call->mem, shade_value_kind(a) == SHADE_REF &&
					      shade_value_as_ref(a) == keeper);
	return SHADE_OK;
}

/* factory.kw(k=...): the keyword argument k. */
static shade_status kw(shade_call_ctx *call)
{
	const shade_value *k =
		call->kwargs ? shade_dict_get_str(call->kwargs, "k") : NULL;

	if (k == NULL)
		return shade_error_set(call->err, SHADE_ERR_KEY, "no k");
	call->result = shade_value_copy(call->mem, k);
	return SHADE_OK;
}

/* factory.note(): oneway. */
static shade_status note(shade_call_ctx *call)
{
	notes++;
	call->result = NULL;
	return SHADE_OK;
}

/* Constructor of the demo.Point type. */
static shade_status point_ctor(shade_call_ctx *call)
{
	static const char *const bases[] = { "demo.Base", NULL };
	shade_ref *p;

	SHADE_CHECK(shade_object_new("demo.Point", bases, &p, call->err));
	if (shade_seq_len(call->args) > 0)
		shade_object_add_attr(p, "x", shade_seq_at(call->args, 0),
				      false, call->err);
	call->result = shade_ref_value_take(call->mem, p);
	return SHADE_OK;
}

/* Elements of the big list. */
static size_t big_n(void)
{
	return tu_under_valgrind() ? 100000 : 1000000;
}

/* Export ref under name in reg and drop our count. */
static void put(shade_registry *reg, const char *name, shade_ref *ref)
{
	assert_ok(shade_registry_add(reg, name, ref, errp_));
	shade_ref_release(ref);
}

/* The server's objects for this suite. */
static shade_registry *make_registry(TALLOC_CTX *ctx)
{
	static const char *const base_bases[] = { NULL };
	static const char *const point_bases[] = { "demo.Base", NULL };
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *r;
	shade_value *list, *dict;
	shade_value one = shade_value_int(1), two = shade_value_int(2);
	char name[16];
	size_t i;

	assert_ok(shade_object_new("demo.Keeper", NULL, &keeper, errp_));
	assert_ok(shade_object_new("demo.Factory", NULL, &r, errp_));
	assert_ok(shade_object_add_method(r, "make", make, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(r, "keeper", get_keeper, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(r, "echo", echo, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(r, "is_keeper", is_keeper, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(r, "kw", kw, NULL, false, errp_));
	assert_ok(shade_object_add_method(r, "note", note, NULL, true,
					  errp_));
	assert_ok(shade_object_add_attr(r, "label", NULL, false, errp_));
	put(reg, "factory", r);

	list = shade_list_new(NULL, big_n());
	for (i = 0; i < big_n(); i++) {
		shade_value v = shade_value_int((int64_t)i);

		assert_int_equal(shade_seq_append(list, &v, NULL), SHADE_OK);
	}
	assert_ok(shade_container_new(list, &r, errp_));
	put(reg, "biglist", r);
	dict = shade_dict_new(NULL, 4);
	shade_dict_set_str(dict, "a", &one, NULL);
	shade_dict_set_str(dict, "b", &two, NULL);
	assert_ok(shade_container_new(dict, &r, errp_));
	put(reg, "dict", r);

	assert_ok(shade_object_new("demo.Wide", NULL, &r, errp_));
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		assert_ok(shade_object_add_attr(r, name, &one, false, errp_));
	}
	put(reg, "wide", r);
	assert_ok(shade_object_new("demo.Narrow", NULL, &r, errp_));
	assert_ok(shade_object_add_attr(r, "m0", &one, false, errp_));
	put(reg, "narrow", r);

	assert_ok(shade_type_new("demo.Base", base_bases, point_ctor, NULL,
				 &r, errp_));
	put(reg, "Base", r);
	assert_ok(shade_type_new("demo.Point", point_bases, point_ctor, NULL,
				 &r, errp_));
	put(reg, "Point", r);
	assert_ok(shade_type_new("demo.Other", NULL, point_ctor, NULL, &r,
				 errp_));
	put(reg, "Other", r);
	return reg;
}

/* Start peers with the suite's registry. */
static void start(tp_peer *pp, TALLOC_CTX *ctx)
{
	assert_int_equal(tp_start(pp, ctx, make_registry(ctx), NULL, NULL), 0);
}

/* Stop the peers and drop the keeper. */
static void stop(tp_peer *pp)
{
	tp_stop(pp);
	shade_ref_release(keeper);
	keeper = NULL;
}

/* A one-element tuple holding a copy of v. */
static shade_value *tuple1(TALLOC_CTX *ctx, const shade_value *v)
{
	shade_value *t = shade_tuple_new(ctx, 1);

	assert_int_equal(shade_seq_append(t, v, NULL), SHADE_OK);
	return t;
}

/* ------------------------------------------------------------ tests */

static void test_proxy_containers(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_conn_stats a, b;
	shade_ref *list, *dict;
	shade_value *v, *snap;
	shade_value idx = shade_value_int(-1), seven = shade_value_int(7);
	shade_value two_v = shade_value_int(2);
	const shade_value *item;
	shade_iter *it;
	size_t n = 0, count = 0;
	int64_t sum = 0;
	bool has;
	shade_error *err = NULL;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "biglist", &list, errp_));
	/* len: one round trip whose size does not grow with the list. */
	a = tp_stats(pp.client);
	assert_ok(shade_len(list, &n, errp_));
	b = tp_stats(pp.client);
	assert_int_equal(n, big_n());
	assert_int_equal(b.round_trips - a.round_trips, 1);
	assert_true(b.bytes_received - a.bytes_received < 16);
	/* One item, one round trip. */
	assert_ok(shade_getitem(ctx, list, &idx, &v, errp_));
	assert_int_equal(shade_value_as_int(v), (int64_t)big_n() - 1);
	talloc_free(v);
	assert_ok(shade_contains(list, &seven, &has, errp_));
	assert_true(has);
	/* Iteration: a bounded number of round trips (chunks of 65536). */
	a = tp_stats(pp.client);
	assert_ok(shade_iter_new(ctx, list, 0, &it, errp_));
	for (;;) {
		assert_ok(shade_iter_next(it, &item, errp_));
		if (item == NULL)
			break;
		sum += shade_value_as_int(item);
		count++;
	}
	talloc_free(it);
	b = tp_stats(pp.client);
	assert_int_equal(count, big_n());
	assert_true(sum == (int64_t)(big_n() * (big_n() - 1) / 2));
	assert_true(b.round_trips - a.round_trips <= big_n() / 65536 + 1);
	/* Force: the whole list in one round trip. */
	a = tp_stats(pp.client);
	assert_ok(shade_force(ctx, list, &snap, errp_));
	b = tp_stats(pp.client);
	assert_int_equal(shade_value_kind(snap), SHADE_LIST);
	assert_int_equal(shade_seq_len(snap), big_n());
	assert_int_equal(b.round_trips - a.round_trips, 1);
	talloc_free(snap);
	/* Mutation through the reference. */
	assert_ok(shade_append(list, &seven, errp_));
	assert_ok(shade_len(list, &n, errp_));
	assert_int_equal(n, big_n() + 1);
	assert_ok(shade_delitem(list, &idx, errp_));
	assert_ok(shade_len(list, &n, errp_));
	assert_int_equal(n, big_n());
	assert_int_equal(shade_getitem(ctx, list, &seven, &v, &err), SHADE_OK);
	talloc_free(v);
	idx = shade_value_int((int64_t)big_n() * 2);
	assert_int_equal(shade_getitem(ctx, list, &idx, &v, &err),
			 SHADE_ERR_INDEX);
	shade_error_clear(&err);

	/* A dict by reference. */
	assert_ok(shade_lookup(pp.client, "dict", &dict, errp_));
	v = shade_str(ctx, "a");
	assert_ok(shade_getitem(ctx, dict, v, &snap, errp_));
	assert_int_equal(shade_value_as_int(snap), 1);
	talloc_free(snap);
	assert_ok(shade_setitem(dict, v, &seven, errp_));
	assert_ok(shade_force(ctx, dict, &snap, errp_));
	assert_int_equal(shade_value_kind(snap), SHADE_DICT);
	assert_int_equal(shade_value_as_int(shade_dict_get_str(snap, "a")), 7);
	talloc_free(snap);
	talloc_free(v);
	v = shade_str(ctx, "zz");
	assert_int_equal(shade_getitem(ctx, dict, v, &snap, &err),
			 SHADE_ERR_KEY);
	shade_error_clear(&err);
	talloc_free(v);
	assert_int_equal(shade_append(dict, &seven, &err), SHADE_ERR_TYPE);
	shade_error_clear(&err);
	/* keys / values / items / comparison: one round trip each. */
	a = tp_stats(pp.client);
	assert_ok(shade_keys(ctx, dict, &snap, errp_));
	assert_int_equal(shade_seq_len(snap), 2);
	assert_string_equal(shade_value_cstr(shade_seq_at(snap, 1)), "b");
	talloc_free(snap);
	assert_ok(shade_values(ctx, dict, &snap, errp_));
	assert_int_equal(shade_value_as_int(shade_seq_at(snap, 0)), 7);
	talloc_free(snap);
	assert_ok(shade_items(ctx, dict, &snap, errp_));
	assert_int_equal(shade_seq_len(shade_seq_at(snap, 1)), 2);
	assert_int_equal(shade_value_as_int(
				 shade_seq_at(shade_seq_at(snap, 1), 1)), 2);
	talloc_free(snap);
	v = shade_dict_new(ctx, 2);
	shade_dict_set_str(v, "a", &seven, NULL);
	shade_dict_set_str(v, "b", &two_v, NULL);
	assert_ok(shade_equal(dict, v, &has, errp_));
	assert_true(has);
	shade_dict_set_str(v, "b", &seven, NULL);
	assert_ok(shade_equal(dict, v, &has, errp_));
	assert_false(has);
	talloc_free(v);
	b = tp_stats(pp.client);
	assert_int_equal(b.round_trips - a.round_trips, 5);
	shade_ref_release(dict);
	shade_ref_release(list);
	stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_wide_object(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_conn_stats a, b, c, d;
	shade_ref *wide, *narrow;
	shade_value *v;
	char **names;
	size_t n;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "wide", &wide, errp_));
	assert_ok(shade_lookup(pp.client, "narrow", &narrow, errp_));
	a = tp_stats(pp.client);
	assert_ok(shade_getattr(ctx, wide, "m0", &v, errp_));
	b = tp_stats(pp.client);
	talloc_free(v);
	assert_ok(shade_getattr(ctx, narrow, "m0", &v, errp_));
	c = tp_stats(pp.client);
	talloc_free(v);
	/* One request each; the reply does not depend on the 999 others. */
	assert_int_equal(b.frames_sent - a.frames_sent, 1);
	assert_int_equal(b.round_trips - a.round_trips, 1);
	assert_int_equal(b.bytes_received - a.bytes_received,
			 c.bytes_received - b.bytes_received);
	assert_int_equal(b.bytes_sent - a.bytes_sent,
			 c.bytes_sent - b.bytes_sent);
	/* dir is local once the shape is known. */
	assert_ok(shade_dir(ctx, wide, &names, &n, errp_));
	d = tp_stats(pp.client);
	assert_int_equal(n, 1000);
	assert_string_equal(names[999], "m999");
	assert_int_equal(d.frames_sent, c.frames_sent);
	talloc_free(names);
	shade_ref_release(wide);
	shade_ref_release(narrow);
	stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_members_and_methods(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *f, *bound, *item;
	shade_value *v, *r, *kwargs;
	shade_value label = shade_value_int(42);
	const shade_shape_desc *shape;
	shade_conn_stats a, b;
	char **names;
	size_t n;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "factory", &f, errp_));
	/* Attributes: set then get. */
	assert_ok(shade_setattr(f, "label", &label, errp_));
	assert_ok(shade_getattr(ctx, f, "label", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 42);
	talloc_free(v);
	/* A fetched method is a callable reference, called later. */
	assert_ok(shade_getattr(ctx, f, "make", &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_REF);
	bound = shade_ref_retain(shade_value_as_ref(v));
	talloc_free(v);
	assert_ok(shade_call(ctx, bound, NULL, NULL, &r, errp_));
	assert_int_equal(shade_value_kind(r), SHADE_REF);
	item = shade_value_as_ref(r);
	assert_string_equal(shade_ref_type_name(item), "demo.Item");
	assert_ok(shade_getattr(ctx, item, "n", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 1);
	talloc_free(v);
	talloc_free(r);
	shade_ref_release(bound);
	/* Keyword arguments. */
	kwargs = shade_dict_new(ctx, 1);
	shade_dict_set_str(kwargs, "k", &label, NULL);
	assert_ok(shade_invoke(ctx, f, "kw", NULL, kwargs, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 42);
	talloc_free(r);
	talloc_free(kwargs);
	/* A oneway method waits for nothing. */
	notes = 0;
	a = tp_stats(pp.client);
	assert_ok(shade_invoke(ctx, f, "note", NULL, NULL, &r, errp_));
	b = tp_stats(pp.client);
	talloc_free(r);
	assert_int_equal(b.round_trips, a.round_trips);
	assert_ok(shade_getattr(ctx, f, "label", &v, errp_));
	talloc_free(v);
	assert_int_equal(notes, 1);
	/* DESCRIBE is one round trip and gives the same shape. */
	a = tp_stats(pp.client);
	assert_ok(shade_describe(f, &shape, errp_));
	b = tp_stats(pp.client);
	assert_int_equal(b.round_trips - a.round_trips, 1);
	assert_string_equal(shape->name, "demo.Factory");
	assert_ok(shade_dir(ctx, f, &names, &n, errp_));
	assert_int_equal(n, 7);
	assert_string_equal(names[0], "make");
	talloc_free(names);
	/* NAMES lists the exports. */
	assert_ok(shade_names(ctx, pp.client, &names, &n, errp_));
	assert_int_equal(n, 8);
	assert_string_equal(names[0], "factory");
	talloc_free(names);
	shade_ref_release(f);
	stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_identity(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *f, *f2, *k1, *k2, *mine;
	shade_value *r, *args;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "factory", &f, errp_));
	assert_ok(shade_lookup(pp.client, "factory", &f2, errp_));
	assert_true(shade_ref_same(f, f2));
	shade_ref_release(f2);
	/* The same remote object gives the same proxy. */
	assert_ok(shade_invoke(ctx, f, "keeper", NULL, NULL, &r, errp_));
	k1 = shade_ref_retain(shade_value_as_ref(r));
	talloc_free(r);
	assert_ok(shade_invoke(ctx, f, "keeper", NULL, NULL, &r, errp_));
	k2 = shade_value_as_ref(r);
	assert_true(shade_ref_same(k1, k2));
	assert_true(shade_ref_is_proxy(k1));
	talloc_free(r);
	/* A proxy passed back arrives as the original object. */
	r = shade_ref_value(ctx, k1);
	args = tuple1(ctx, r);
	talloc_free(r);
	assert_ok(shade_invoke(ctx, f, "is_keeper", args, NULL, &r, errp_));
	assert_true(shade_value_as_bool(r));
	talloc_free(r);
	/* ... and comes back as the same proxy. */
	assert_ok(shade_invoke(ctx, f, "echo", args, NULL, &r, errp_));
	assert_true(shade_ref_same(shade_value_as_ref(r), k1));
	talloc_free(r);
	talloc_free(args);
	/* Our own object sent and echoed comes back as itself. */
	assert_ok(shade_object_new("client.Thing", NULL, &mine, errp_));
	r = shade_ref_value(ctx, mine);
	args = tuple1(ctx, r);
	talloc_free(r);
	assert_ok(shade_invoke(ctx, f, "echo", args, NULL, &r, errp_));
	assert_true(shade_value_as_ref(r) == mine);
	assert_false(shade_ref_is_proxy(shade_value_as_ref(r)));
	talloc_free(r);
	talloc_free(args);
	shade_ref_release(mine);
	shade_ref_release(k1);
	shade_ref_release(f);
	stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_types(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *point, *base, *other, *f, *p;
	shade_value *r, *args, *x;
	shade_value five = shade_value_int(5);
	shade_conn_stats a, b;
	shade_error *err = NULL;
	bool is;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "Point", &point, errp_));
	assert_ok(shade_lookup(pp.client, "Base", &base, errp_));
	assert_ok(shade_lookup(pp.client, "Other", &other, errp_));
	assert_ok(shade_lookup(pp.client, "factory", &f, errp_));
	/* A type is called to make an instance on its side. */
	args = tuple1(ctx, &five);
	assert_ok(shade_call(ctx, point, args, NULL, &r, errp_));
	talloc_free(args);
	p = shade_ref_retain(shade_value_as_ref(r));
	talloc_free(r);
	assert_ok(shade_getattr(ctx, p, "x", &x, errp_));
	assert_int_equal(shade_value_as_int(x), 5);
	talloc_free(x);
	/* isinstance, bases included, with no round trip. */
	a = tp_stats(pp.client);
	assert_ok(shade_isinstance(p, point, &is, errp_));
	assert_true(is);
	assert_ok(shade_isinstance(p, base, &is, errp_));
	assert_true(is);
	assert_ok(shade_isinstance(p, other, &is, errp_));
	assert_false(is);
	b = tp_stats(pp.client);
	assert_int_equal(b.frames_sent, a.frames_sent);
	assert_int_equal(shade_isinstance(p, f, &is, &err), SHADE_ERR_TYPE);
	shade_error_clear(&err);
	/* A type passed back is the original type. */
	r = shade_ref_value(ctx, point);
	args = tuple1(ctx, r);
	talloc_free(r);
	assert_ok(shade_invoke(ctx, f, "echo", args, NULL, &r, errp_));
	assert_true(shade_ref_same(shade_value_as_ref(r), point));
	talloc_free(r);
	talloc_free(args);
	shade_ref_release(p);
	shade_ref_release(f);
	shade_ref_release(other);
	shade_ref_release(base);
	shade_ref_release(point);
	stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_lifetimes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int i, n = tu_under_valgrind() ? 1000 : 10000;
	shade_conn_stats cs, ss;
	shade_ref *f;
	shade_value *r;
	char **names;
	size_t nn;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "factory", &f, errp_));
	for (i = 0; i < n; i++) {
		assert_ok(shade_invoke(ctx, f, "make", NULL, NULL, &r, errp_));
		talloc_free(r); /* frees the proxy: a RELEASE is queued */
	}
	cs = tp_stats(pp.client);
	assert_int_equal(cs.imports, 1);
	assert_true(cs.releases_sent >= (uint64_t)n / 64 - 1);
	shade_ref_release(f);
	assert_ok(shade_conn_flush(pp.client, errp_));
	/* A round trip after the RELEASEs: the server has applied them. */
	assert_ok(shade_names(ctx, pp.client, &names, &nn, errp_));
	talloc_free(names);
	cs = tp_stats(pp.client);
	ss = tp_stats(pp.server);
	assert_int_equal(cs.imports, 0);
	assert_int_equal(ss.exports, 0);
	assert_int_equal(cs.exports, 0);
	assert_int_equal(ss.imports, 0);
	stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_dead_connection(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *f;
	shade_value *r = NULL;
	shade_error *err = NULL;
	char **names;
	size_t n;
	tp_peer pp;

	start(&pp, ctx);
	assert_ok(shade_lookup(pp.client, "factory", &f, errp_));
	shade_conn_close(pp.client);
	/* Every proxy of the connection reports ConnectionLost on use. */
	assert_int_equal(shade_invoke(ctx, f, "make", NULL, NULL, &r, &err),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_clear(&err);
	/* Its shape went with the connection; dir needs the peer. */
	assert_int_equal(shade_dir(ctx, f, &names, &n, &err),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_clear(&err);
	stop(&pp);
	/* The proxy outlives its connection and is freed alone. */
	shade_ref_release(f);
	talloc_free(ctx);
}

/* A function returning its udata (a tuple of refs) by value. */
static shade_status give_all(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, call->udata);
	return call->result ? SHADE_OK
		       : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

static void test_proxy_memory_per_export_and_proxy(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	size_t i, n = 20000;
	shade_value *objs = shade_tuple_new(ctx, n), *r;
	shade_conn_stats cs, ss;
	shade_ref *fn, *p;
	tp_peer pp;

	for (i = 0; i < n; i++) {
		shade_ref *o;

		assert_ok(shade_object_new("demo.Small", NULL, &o, errp_));
		(void)shade_ref_shape(o); /* the object's own memory */
		assert_int_equal(shade_seq_append_take(
					 objs, shade_ref_value_take(NULL, o),
					 NULL), SHADE_OK);
	}
	assert_ok(shade_function_new("all", give_all, objs, &fn, errp_));
	assert_ok(shade_registry_add(reg, "all", fn, errp_));
	shade_ref_release(fn);
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "all", &p, errp_));
	assert_ok(shade_call(ctx, p, NULL, NULL, &r, errp_));
	cs = tp_stats(pp.client);
	ss = tp_stats(pp.server);
	assert_int_equal(cs.imports, n + 1);
	assert_int_equal(ss.exports, n + 1);
	/* Under 100 bytes each, beyond the object itself. */
	print_message("per export %.1f bytes, per proxy %.1f bytes\n",
		      (double)ss.export_bytes / (double)ss.exports,
		      (double)cs.import_bytes / (double)cs.imports);
	assert_true(ss.export_bytes < 100 * ss.exports);
	assert_true(cs.import_bytes < 100 * cs.imports);
	talloc_free(r);
	shade_ref_release(p);
	tp_stop(&pp);
	talloc_free(ctx);
}

static void test_proxy_table_limits(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_conn_opts co = { .max_imports = 3, .max_exports = 2 };
	shade_ref *f, *mine[3];
	shade_value *r1, *r2, *r3 = NULL, *args;
	shade_error *err = NULL;
	tp_peer pp;
	int i;

	assert_int_equal(tp_start(&pp, ctx, make_registry(ctx), NULL, &co),
			 0);
	assert_ok(shade_lookup(pp.client, "factory", &f, errp_));
	assert_ok(shade_invoke(ctx, f, "make", NULL, NULL, &r1, errp_));
	assert_ok(shade_invoke(ctx, f, "make", NULL, NULL, &r2, errp_));
	/* A fourth proxy is over the limit: the reply is refused. */
	assert_int_equal(shade_invoke(ctx, f, "make", NULL, NULL, &r3, &err),
			 SHADE_ERR_LIMIT);
	shade_error_clear(&err);
	/* Three local objects cannot all be handed out. */
	args = shade_tuple_new(ctx, 3);
	for (i = 0; i < 3; i++) {
		assert_ok(shade_object_new("client.Obj", NULL, &mine[i],
					   errp_));
		shade_seq_append_take(args, shade_ref_value_take(NULL, mine[i]),
				      NULL);
	}
	assert_int_equal(shade_invoke(ctx, f, "echo", args, NULL, &r3, &err),
			 SHADE_ERR_LIMIT);
	shade_error_clear(&err);
	talloc_free(args);
	talloc_free(r1);
	talloc_free(r2);
	shade_ref_release(f);
	stop(&pp);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_proxy_containers),
		T(test_proxy_wide_object),
		T(test_proxy_members_and_methods),
		T(test_proxy_identity),
		T(test_proxy_types),
		T(test_proxy_lifetimes),
		T(test_proxy_dead_connection),
		T(test_proxy_memory_per_export_and_proxy),
		T(test_proxy_table_limits),
#undef T
	};

	return SUITE_RUN("proxy", tests, argc, argv);
}
