/*
 * test_object.c - local objects and the API generated code uses: dynamic
 * objects used locally, hooks, the registry, a typed object (a `static
 * const` shape descriptor and a dispatch function) called through the
 * typed request API locally and over a connection, shapes announced in
 * HELLO, and narrowing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "object/object_int.h"
#include "helpers/suite.h"

/* The group fixture and assert_ok: helpers/suite.h. */

/* ------------------------------------------------------------ typed */

/* What shade-idlc emits for:
 *   module calc { interface Adder : Base {
 *     long long add(in long long a, in long long b);
 *     readonly attribute long long total;
 *     oneway void reset(); }; };                                     */
static const char *const adder_bases[] = { "calc.Base" };
static const shade_member_desc adder_members[] = {
	{ "add", SHADE_MEMBER_METHOD,
	  "long long add(in long long a, in long long b)", NULL },
	{ "total", SHADE_MEMBER_READONLY, "long long", NULL },
	{ "reset", SHADE_MEMBER_ONEWAY, NULL, NULL },
};
static const shade_shape_desc calc_Adder_shape = {
	SHADE_SHAPE_OBJECT, "calc.Adder", adder_bases, 1, adder_members, 3,
	UINT64_C(0x2ebc73574fe46563), NULL
};

/* The skeleton's object. */
struct adder {
	int64_t total; /* sum of everything added */
};

/* The skeleton's dispatch: reads arguments from the request, writes the
 * result into the reply. */
static shade_status adder_dispatch(void *self, shade_dispatch_ctx *cx,
				   uint32_t member, shade_dispatch_op op,
				   shade_cbor_dec *in, shade_buf *out,
				   shade_error **err)
{
	struct adder *a = self;
	uint64_t n;
	int64_t x, y;

	(void)cx;
	switch (member) {
	case 0: /* add */
		SHADE_CHECK(shade_cbor_read_array(in, &n, err));
		if (n != 2)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "add() takes 2 arguments");
		SHADE_CHECK(shade_cbor_read_int(in, &x, err));
		SHADE_CHECK(shade_cbor_read_int(in, &y, err));
		a->total += x + y;
		return shade_cbor_put_int(out, x + y);
	case 1: /* total */
		if (op != SHADE_DISPATCH_GET)
			return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
					       "total is readonly");
		return shade_cbor_put_int(out, a->total);
	case 2: /* reset */
		SHADE_CHECK(shade_cbor_skip(in, 0, err));
		a->total = 0;
		return SHADE_OK;
	}
	return shade_error_set(err, SHADE_ERR_ATTRIBUTE, "no member %u",
			       member);
}

/* Typed add(a, b) through the request API. */
static int64_t typed_add(shade_ref *r, uint32_t member, int64_t a, int64_t b)
{
	shade_request *q;
	shade_buf *args;
	shade_cbor_dec *res;
	int64_t sum = 0;

	assert_ok(shade_request_begin(r, member, SHADE_DISPATCH_INVOKE, NULL,
				      &q, &args, errp_));
	shade_cbor_put_array(args, 2);
	shade_cbor_put_int(args, a);
	shade_cbor_put_int(args, b);
	assert_ok(shade_request_finish(q, &res, errp_));
	assert_ok(shade_cbor_read_int(res, &sum, errp_));
	talloc_free(q);
	return sum;
}

/* Typed read of attribute `member`. */
static int64_t typed_get(shade_ref *r, uint32_t member)
{
	shade_request *q;
	shade_buf *args;
	shade_cbor_dec *res;
	int64_t v = 0;

	assert_ok(shade_request_begin(r, member, SHADE_DISPATCH_GET, NULL, &q,
				      &args, errp_));
	assert_ok(shade_request_finish(q, &res, errp_));
	assert_ok(shade_cbor_read_int(res, &v, errp_));
	talloc_free(q);
	return v;
}

static void test_object_fingerprint_agrees(void **state)
{
	uint64_t fp;

	(void)state;
	assert_ok(shade_shape_fingerprint(&calc_Adder_shape, &fp, errp_));
	assert_true(fp == calc_Adder_shape.fingerprint);
	assert_true(shade_shape_fp(&calc_Adder_shape) == fp);
	assert_int_equal(shade_shape_find(&calc_Adder_shape, "total"), 1);
	assert_int_equal(shade_shape_find(&calc_Adder_shape, "nope"), -1);
	assert_true(shade_shape_is_a(&calc_Adder_shape, "calc.Base"));
	assert_false(shade_shape_is_a(&calc_Adder_shape, "calc.Other"));
}

static void test_object_typed_local(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	struct adder a = { 0 };
	shade_ref *r;
	shade_value *args = shade_tuple_new(ctx, 2), *v;
	shade_value one = shade_value_int(1), two = shade_value_int(2);

	shade_seq_append(args, &one, NULL);
	shade_seq_append(args, &two, NULL);
	assert_ok(shade_object_new_typed(&calc_Adder_shape, adder_dispatch,
					 &a, &r, errp_));
	assert_ptr_equal(shade_object_typed_self(r), &a);
	assert_ptr_equal(shade_ref_shape(r), &calc_Adder_shape);
	assert_int_equal(typed_add(r, 0, 20, 22), 42);
	assert_int_equal(typed_get(r, 1), 42);
	/* The dynamic API reaches it too. */
	assert_ok(shade_invoke(ctx, r, "add", args, NULL, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 3);
	talloc_free(v);
	assert_ok(shade_getattr(ctx, r, "total", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 45);
	talloc_free(v);
	talloc_free(args);
	shade_ref_release(r);
	talloc_free(ctx);
}

static void test_object_typed_remote(void **state)
{
	static const shade_shape_desc *const known[] = { &calc_Adder_shape,
							 NULL };
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_conn_opts copts = { .known = known };
	struct adder a = { 0 };
	shade_conn_stats s0, s1, s2;
	uint32_t map[3];
	shade_ref *r, *proxy;
	shade_value *v;
	tp_peer pp;

	assert_ok(shade_object_new_typed(&calc_Adder_shape, adder_dispatch,
					 &a, &r, errp_));
	assert_ok(shade_registry_add(reg, "adder", r, errp_));
	shade_ref_release(r);
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, &copts), 0);
	assert_ok(shade_lookup(pp.client, "adder", &proxy, errp_));
	s0 = tp_stats(pp.client);
	/* Announced in HELLO: the description did not travel. */
	assert_int_equal(s0.shapes_cached, 0);
	assert_ptr_equal(shade_ref_shape(proxy), &calc_Adder_shape);
	/* Narrowing: fast path, no round trip. */
	assert_ok(shade_narrow(proxy, &calc_Adder_shape, map, errp_));
	assert_int_equal(map[2], 2);
	s1 = tp_stats(pp.client);
	assert_int_equal(s1.frames_sent, s0.frames_sent);
	/* add(1, 2) typed: 14 bytes on the wire in all. */
	assert_int_equal(typed_add(proxy, map[0], 1, 2), 3);
	s2 = tp_stats(pp.client);
	assert_int_equal((s2.bytes_sent + s2.bytes_received) -
				 (s1.bytes_sent + s1.bytes_received), 14);
	assert_int_equal(typed_get(proxy, map[1]), 3);
	/* Pipelined: 100 requests batched into a few writes. */
	{
		shade_request *q[100];
		shade_transport_stats t0, t1;
		shade_cbor_dec *res;
		int64_t sum;
		int i;

		shade_transport_stats_get(shade_conn_transport(pp.client), &t0);
		for (i = 0; i < 100; i++) {
			shade_buf *args;

			assert_ok(shade_request_begin(proxy, map[0],
						      SHADE_DISPATCH_INVOKE,
						      NULL, &q[i], &args,
						      errp_));
			shade_cbor_put_array(args, 2);
			shade_cbor_put_int(args, i);
			shade_cbor_put_int(args, 1);
			assert_ok(shade_request_send(q[i], errp_));
		}
		for (i = 0; i < 100; i++) {
			assert_ok(shade_request_finish(q[i], &res, errp_));
			assert_ok(shade_cbor_read_int(res, &sum, errp_));
			assert_int_equal(sum, i + 1);
			talloc_free(q[i]);
		}
		shade_transport_stats_get(shade_conn_transport(pp.client), &t1);
		assert_int_equal(t1.frames_sent - t0.frames_sent, 100);
		assert_true(t1.write_calls - t0.write_calls <= 2);
	}
	/* Dynamic calls on a typed object. */
	assert_ok(shade_invoke(ctx, proxy, "reset", NULL, NULL, &v, errp_));
	talloc_free(v);
	assert_ok(shade_getattr(ctx, proxy, "total", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 0);
	talloc_free(v);
	shade_ref_release(proxy);
	tp_stop(&pp);
	talloc_free(ctx);
}

static void test_object_narrow_structural(void **state)
{
	static const shade_member_desc want_m[] = {
		{ "add", SHADE_MEMBER_METHOD, NULL, NULL },
		{ "total", SHADE_MEMBER_READONLY, NULL, NULL },
	};
	static const shade_shape_desc want = {
		SHADE_SHAPE_OBJECT, "calc.Small", NULL, 0, want_m, 2, 0, NULL
	};
	shade_ref *obj;
	shade_error *err = NULL;
	uint32_t map[2];

	(void)state;
	/* A dynamic object with more members, in another order. */
	assert_ok(shade_object_new("other.Thing", NULL, &obj, errp_));
	assert_ok(shade_object_add_attr(obj, "extra", NULL, false, errp_));
	assert_ok(shade_object_add_attr(obj, "total", NULL, false, errp_));
	assert_int_equal(shade_narrow(obj, &want, map, &err), SHADE_ERR_TYPE);
	assert_non_null(strstr(err->message, "add"));
	shade_error_clear(&err);
	assert_ok(shade_object_add_method(obj, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_narrow(obj, &want, map, errp_));
	assert_int_equal(map[0], 2);
	assert_int_equal(map[1], 1);
	/* The typed request API works on it through the map. */
	assert_int_equal(typed_add(obj, map[0], 5, 6), 11);
	/* A method where an attribute is wanted is refused. */
	assert_int_equal(shade_shape_check(shade_ref_shape(obj),
					   &calc_Adder_shape, NULL, &err),
			 SHADE_ERR_TYPE);
	shade_error_clear(&err);
	shade_ref_release(obj);
}

/* ------------------------------------------------------------ dynamic */

/* A getter/setter pair over an int64 in udata. */
/* Free hook: counts. */
static void on_free(void *udata)
{
	(*(int *)udata)++;
}

static void test_object_dynamic_local(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	static const char *const bases[] = { "demo.A", "demo.Root", NULL };
	int64_t backing = 5;
	int freed = 0;
	shade_ref *obj;
	shade_value *v, *args;
	shade_value ten = shade_value_int(10);
	shade_error *err = NULL;
	const shade_shape_desc *d;

	assert_ok(shade_object_new("demo.B", bases, &obj, errp_));
	shade_object_on_free(obj, on_free, &freed);
	assert_ok(shade_object_add_attr(obj, "a", &ten, false, errp_));
	assert_ok(shade_object_add_attr(obj, "ro", &ten, true, errp_));
	assert_ok(shade_object_add_property(obj, "p", th_get_int, th_set_int, &backing,
					    errp_));
	assert_ok(shade_object_add_method(obj, "add", th_add, NULL, false,
					  errp_));
	assert_int_equal(shade_object_add_attr(obj, "a", NULL, false, &err),
			 SHADE_ERR_INVALID);
	shade_error_clear(&err);
	d = shade_ref_shape(obj);
	assert_string_equal(d->name, "demo.B");
	assert_int_equal(d->n_bases, 2);
	assert_int_equal(d->n_members, 4);
	assert_int_equal(d->members[1].kind, SHADE_MEMBER_READONLY);
	assert_true(d->fingerprint != 0);
	/* Local access through the same calls as for proxies. */
	assert_ok(shade_getattr(ctx, obj, "p", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 5);
	talloc_free(v);
	assert_ok(shade_setattr(obj, "p", &ten, errp_));
	assert_int_equal(backing, 10);
	assert_int_equal(shade_setattr(obj, "ro", &ten, &err),
			 SHADE_ERR_ATTRIBUTE);
	shade_error_clear(&err);
	assert_ok(shade_setattr(obj, "a", &ten, errp_));
	assert_int_equal(shade_value_as_int(shade_object_attr(obj, "a")), 10);
	args = shade_tuple_new(ctx, 2);
	shade_seq_append(args, &ten, NULL);
	shade_seq_append(args, &ten, NULL);
	assert_ok(shade_invoke(ctx, obj, "add", args, NULL, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 20);
	talloc_free(v);
	talloc_free(args);
	assert_int_equal(shade_getattr(ctx, obj, "missing", &v, &err),
			 SHADE_ERR_ATTRIBUTE);
	shade_error_clear(&err);
	assert_int_equal(shade_call(ctx, obj, NULL, NULL, &v, &err),
			 SHADE_ERR_TYPE);
	shade_error_clear(&err);
	assert_int_equal(freed, 0);
	shade_ref_release(obj);
	assert_int_equal(freed, 1);
	talloc_free(ctx);
}

/* What a handler saw of its call context (for test_object_call_ctx). */
struct seen {
	shade_ref *self;         /* call->self */
	char member[16];         /* call->member */
	size_t n_args;           /* length of call->args, or SIZE_MAX */
	bool kwargs;             /* call->kwargs was given */
	bool value;              /* call->value was given */
	shade_conn *conn;        /* call->conn */
	int calls;               /* handler runs */
};

/* A method, getter and setter at once: records its context in udata. */
static shade_status record(shade_call_ctx *call)
{
	struct seen *s = call->udata;

	s->self = call->self;
	snprintf(s->member, sizeof(s->member), "%s", call->member);
	s->n_args = call->args ? shade_seq_len(call->args) : SIZE_MAX;
	s->kwargs = call->kwargs != NULL;
	s->value = call->value != NULL;
	s->conn = call->conn;
	s->calls++;
	assert_null(call->result);
	assert_non_null(call->mem);
	if (call->value == NULL)
		call->result = shade_int(call->mem, 7);
	return SHADE_OK;
}

/* Check one recorded call and forget it. */
static void seen_check(struct seen *s, shade_ref *self, const char *member,
		       size_t n_args, bool value, shade_conn *conn)
{
	assert_int_equal(s->calls, 1);
	assert_ptr_equal(s->self, self);
	assert_string_equal(s->member, member);
	assert_int_equal(s->n_args, n_args);
	assert_int_equal(s->value, value);
	assert_false(s->kwargs);
	assert_ptr_equal(s->conn, conn);
	memset(s, 0, sizeof(*s));
}

/* The call context a handler gets: its member name, self, arguments or
 * value, udata, and the connection (NULL for a local call). */
static void test_object_call_ctx(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_value seven = shade_value_int(7);
	struct seen s = { 0 };
	shade_ref *obj, *fn, *proxy;
	shade_value *v;
	tp_peer pp;
	int pass;

	assert_ok(shade_object_new("demo.Rec", NULL, &obj, errp_));
	assert_ok(shade_object_add_method(obj, "m", record, &s, false, errp_));
	assert_ok(shade_object_add_property(obj, "p", record, record, &s,
					    errp_));
	assert_ok(shade_function_new("f", record, &s, &fn, errp_));
	assert_ok(shade_registry_add(reg, "obj", obj, errp_));
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "obj", &proxy, errp_));
	for (pass = 0; pass < 2; pass++) {
		shade_ref *r = pass == 0 ? obj : proxy;
		shade_conn *conn = pass == 0 ? NULL : pp.server;

		assert_ok(shade_invoke(ctx, r, "m", NULL, NULL, &v, errp_));
		assert_int_equal(shade_value_as_int(v), 7);
		seen_check(&s, obj, "m", 0, false, conn);
		assert_ok(shade_getattr(ctx, r, "p", &v, errp_));
		assert_int_equal(shade_value_as_int(v), 7);
		seen_check(&s, obj, "p", SIZE_MAX, false, conn);
		assert_ok(shade_setattr(r, "p", &seven, errp_));
		seen_check(&s, obj, "p", SIZE_MAX, true, conn);
	}
	assert_ok(shade_call(ctx, fn, NULL, NULL, &v, errp_));
	seen_check(&s, fn, "f", 0, false, NULL);
	shade_ref_release(proxy);
	tp_stop(&pp);
	shade_ref_release(fn);
	shade_ref_release(obj);
	talloc_free(ctx);
}

static void test_object_container_and_registry(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_value *list = shade_list_new(NULL, 4), *v;
	shade_value one = shade_value_int(1), idx = shade_value_int(0);
	shade_ref *c;
	shade_error *err = NULL;
	size_t n;
	bool has;

	assert_ok(shade_container_new(list, &c, errp_));
	assert_ok(shade_append(c, &one, errp_));
	assert_ok(shade_len(c, &n, errp_));
	assert_int_equal(n, 1);
	assert_ok(shade_contains(c, &one, &has, errp_));
	assert_true(has);
	assert_ok(shade_getitem(ctx, c, &idx, &v, errp_));
	assert_int_equal(shade_value_as_int(v), 1);
	talloc_free(v);
	assert_int_equal(shade_seq_len(shade_container_value(c)), 1);
	assert_ptr_equal(shade_ref_shape(c), &shade_shape_list);
	assert_int_equal(shade_container_new(shade_int(NULL, 1), &c, &err),
			 SHADE_ERR_TYPE);
	shade_error_clear(&err);
	/* Registry: add, replace, list, remove. */
	assert_ok(shade_registry_add(reg, "a", c, errp_));
	assert_ok(shade_registry_add(reg, "b", c, errp_));
	assert_ok(shade_registry_add(reg, "a", c, errp_));
	assert_int_equal(shade_registry_count(reg), 2);
	assert_string_equal(shade_registry_name(reg, 1), "b");
	assert_ptr_equal(shade_registry_get(reg, "b"), c);
	assert_ok(shade_registry_remove(reg, "a", errp_));
	assert_int_equal(shade_registry_remove(reg, "a", &err),
			 SHADE_ERR_NOT_FOUND);
	shade_error_clear(&err);
	assert_null(shade_registry_get(reg, "a"));
	talloc_free(reg);
	shade_ref_release(c);
	talloc_free(ctx);
}

/* Unexport hook: counts. */
static void on_unexport(void *udata, shade_ref *obj, shade_conn *conn)
{
	(void)obj;
	(void)conn;
	(*(int *)udata)++;
}

static void test_object_unexport_hook(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *obj, *proxy;
	shade_value *v = NULL;
	shade_error *err = NULL;
	char **names;
	size_t n;
	int dropped = 0;
	tp_peer pp;

	assert_ok(shade_object_new("demo.Watched", NULL, &obj, errp_));
	shade_object_on_unexport(obj, on_unexport, &dropped);
	assert_ok(shade_registry_add(reg, "w", obj, errp_));
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "w", &proxy, errp_));
	assert_ok(shade_lookup(pp.client, "w", &proxy, errp_));
	shade_ref_release(proxy);
	shade_ref_release(proxy);
	/* The RELEASE rides before the next request. */
	assert_ok(shade_names(ctx, pp.client, &names, &n, errp_));
	talloc_free(names);
	assert_int_equal(dropped, 1);
	assert_int_equal(tp_stats(pp.server).exports, 0);
	/* A peer that leaves while holding a proxy: its export is dropped
	 * as soon as the server sees it go, the proxy reports the loss. */
	assert_ok(shade_lookup(pp.client, "w", &proxy, errp_));
	shade_conn_close(pp.client);
	assert_true(tu_thread_join(&pp.th, 10000, NULL));
	assert_int_equal(dropped, 2);
	assert_int_equal(tp_stats(pp.server).exports, 0);
	assert_int_equal(shade_getattr(ctx, proxy, "x", &v, &err),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_clear(&err);
	shade_ref_release(proxy);
	tp_stop(&pp);
	shade_ref_release(obj);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_object_fingerprint_agrees),
		T(test_object_typed_local),
		T(test_object_typed_remote),
		T(test_object_narrow_structural),
		T(test_object_dynamic_local),
		T(test_object_call_ctx),
		T(test_object_container_and_registry),
		T(test_object_unexport_hook),
#undef T
	};

	return SUITE_RUN("object", tests, argc, argv);
}
