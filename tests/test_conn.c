/*
 * test_conn.c - messages on the wire and the connection engine: exact
 * bytes of the examples in doc/protocol.md, round trips and bytes counted
 * with the statistics, callbacks nested three deep, threads sharing a
 * connection, futures, deadlines, connection loss, bad input from a peer.
 *
 * Every test checks that the talloc blocks of the group's context and
 * the references alive in the process are back where they started.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "conn/export_int.h"
#include "conn/msg_int.h"
#include "object/object_int.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"

/* The group fixture and assert_ok: helpers/suite.h. */

/* The bytes of b as lowercase hex. */
static char *hex_of(TALLOC_CTX *ctx, const shade_buf *b)
{
	return shade_hex_encode(ctx, b->data, b->len);
}

/* ------------------------------------------------------------ messages */

static void test_conn_msg_add_bytes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_buf *b = shade_buf_new(ctx, 16);
	struct msg m;
	uint64_t target, member, n;
	shade_error *err = NULL;

	/* INVOKE add(1, 2) on export 1, member 0: 8 bytes + 1 head. */
	msg_begin(b, OP_INVOKE, 1, 3, false);
	shade_cbor_put_uint(b, 1);
	shade_cbor_put_uint(b, 0);
	shade_cbor_put_array(b, 2);
	shade_cbor_put_int(b, 1);
	shade_cbor_put_int(b, 2);
	assert_string_equal(hex_of(ctx, b), "8503010100820102");
	assert_int_equal(msg_parse(b->data, b->len, &m, &err), SHADE_OK);
	assert_int_equal(m.op, OP_INVOKE);
	assert_int_equal(m.id, 1);
	assert_int_equal(m.nfields, 3);
	assert_int_equal(m.in, 0);
	assert_int_equal(shade_cbor_read_uint(&m.d, &target, &err), SHADE_OK);
	assert_int_equal(shade_cbor_read_uint(&m.d, &member, &err), SHADE_OK);
	assert_int_equal(shade_cbor_read_array(&m.d, &n, &err), SHADE_OK);
	assert_int_equal(target, 1);
	assert_int_equal(member, 0);
	assert_int_equal(n, 2);

	/* RETURN 3: 4 bytes + 1 head; together 14 bytes with heads. */
	shade_buf_reset(b);
	msg_begin(b, OP_RETURN, 1, 1, false);
	shade_cbor_put_int(b, 3);
	assert_string_equal(hex_of(ctx, b), "83010103");
	talloc_free(ctx);
}

static void test_conn_msg_opts(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_buf *b = shade_buf_new(ctx, 16);
	struct msg_opts o = { .in = 1 };
	struct msg m;
	shade_error *err = NULL;

	/* The callback example of doc/protocol.md §5.1. */
	msg_begin(b, OP_CALL, 1, 2, msg_opts_items(&o) > 0);
	shade_cbor_put_uint(b, 1);
	shade_cbor_put_array(b, 0);
	assert_int_equal(msg_put_opts(b, &o, NULL, &err), SHADE_OK);
	assert_string_equal(hex_of(ctx, b), "8506010180a10001");
	assert_int_equal(msg_parse(b->data, b->len, &m, &err), SHADE_OK);
	assert_int_equal(m.op, OP_CALL);
	assert_int_equal(m.in, 1);
	assert_int_equal(m.nfields, 2);

	/* Timeout and an unknown key are read / skipped. */
	shade_buf_reset(b);
	msg_begin(b, OP_NAMES, 7, 0, true);
	shade_cbor_put_map(b, 2);
	shade_cbor_put_uint(b, 1);
	shade_cbor_put_uint(b, 250);
	shade_cbor_put_uint(b, 9);
	shade_cbor_put_cstr(b, "later");
	assert_int_equal(msg_parse(b->data, b->len, &m, &err), SHADE_OK);
	assert_int_equal(m.timeout_ms, 250);
	talloc_free(ctx);
}

static void test_conn_msg_bad(void **state)
{
	static const char *const bad[] = {
		"a10102",         /* not an array */
		"81 01",          /* array of one */
		"83 18 63 01 00", /* unknown opcode 99 */
		"82 03 01",       /* INVOKE without fields */
		"87 04 01 01 00 00 00 00", /* GETATTR with too many fields */
		"83 0a 00 01",    /* RELEASE with an odd count */
		"82 20 01",       /* negative opcode */
		"83 04",          /* truncated */
	};
	TALLOC_CTX *ctx = talloc_new(*state);
	size_t i, len;
	struct msg m;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *p = shade_hex_decode(ctx, bad[i], &len);
		shade_error *err = NULL;

		assert_non_null(p);
		assert_true(msg_parse(p, len, &m, &err) < 0);
		assert_non_null(err);
		shade_error_free(err);
	}
	talloc_free(ctx);
}

static void test_conn_msg_error_roundtrip(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_buf *b = shade_buf_new(ctx, 64);
	shade_error *e = NULL, *back = NULL, *err = NULL;
	struct msg m;

	shade_error_set(&e, SHADE_ERR_ZERO_DIVISION, "division by zero");
	assert_int_equal(shade_error_push_frame(e, "server", "demo.X",
						"raising"), SHADE_OK);
	assert_int_equal(msg_put_error(b, 3, e, NULL, false), SHADE_OK);
	/* The example of doc/protocol.md §3.2, without its 2-byte head. */
	assert_string_equal(
		hex_of(ctx, b),
		"870203715a65726f4469766973696f6e4572726f720070646976"
		"6973696f6e206279207a65726f80818366736572766572666465"
		"6d6f2e586772616973696e67");
	assert_int_equal(msg_parse(b->data, b->len, &m, &err), SHADE_OK);
	assert_int_equal(msg_read_error(&m, NULL, &back, &err), SHADE_OK);
	assert_int_equal(back->code, SHADE_ERR_ZERO_DIVISION);
	assert_string_equal(back->name, "ZeroDivisionError");
	assert_int_equal(back->chain_len, 1);
	assert_string_equal(back->chain[0].member, "raising");

	/* An unknown name stays as RemoteError with its name kept. */
	shade_error_free(back);
	back = NULL;
	talloc_free(e->name);
	e->name = talloc_strdup(e, "bank.Overdrawn");
	shade_buf_reset(b);
	msg_put_error(b, 4, e, NULL, false);
	assert_int_equal(msg_parse(b->data, b->len, &m, &err), SHADE_OK);
	assert_int_equal(msg_read_error(&m, NULL, &back, &err), SHADE_OK);
	assert_int_equal(back->code, SHADE_ERR_REMOTE);
	assert_string_equal(back->name, "bank.Overdrawn");
	shade_error_free(back);
	shade_error_free(e);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ shapes */

static void test_conn_shape_fingerprints(void **state)
{
	static const shade_member_desc members[] = {
		{ "x", SHADE_MEMBER_ATTR, NULL, NULL },
		{ "meth", SHADE_MEMBER_METHOD, NULL, NULL },
	};
	static const shade_shape_desc obj = {
		SHADE_SHAPE_OBJECT, "demo.Obj", NULL, 0, members, 2, 0, NULL
	};
	const shade_shape_desc *builtins[] = {
		&shade_shape_function, &shade_shape_list, &shade_shape_dict
	};
	uint8_t *bytes;
	uint64_t fp;
	size_t i;

	(void)state;
	assert_int_equal(shade_shape_fingerprint(&obj, &fp, NULL), SHADE_OK);
	assert_true(fp == UINT64_C(0xa97a6d863d18078a));
	assert_int_equal(shade_shape_canonical(NULL, &obj, &bytes, NULL),
			 SHADE_OK);
	assert_int_equal(talloc_get_size(bytes), 24);
	talloc_free(bytes);
	for (i = 0; i < 3; i++) {
		assert_int_equal(shade_shape_fingerprint(builtins[i], &fp,
							 NULL), SHADE_OK);
		assert_true(fp == builtins[i]->fingerprint);
	}
}

/* ------------------------------------------------------------ engine */

/* A method that divides 1 by its argument, refusing zero. */
static shade_status divide(shade_call_ctx *call)
{
	int64_t d;

	if (shade_seq_len(call->args) != 1 ||
	    shade_value_kind(shade_seq_at(call->args, 0)) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "want one int");
	d = shade_value_as_int(shade_seq_at(call->args, 0));
	if (d == 0)
		return shade_error_set(call->err, SHADE_ERR_ZERO_DIVISION,
				       "division by zero");
	call->result = shade_int(call->mem, 100 / d);
	return SHADE_OK;
}

/* A method raising ValueError with the object itself as argument. */
static shade_status raise_ref(shade_call_ctx *call)
{
	shade_error_set(call->err, SHADE_ERR_VALUE, "bad object");
	(*call->err)->args = shade_tuple_new(*call->err, 1);
	shade_seq_append_take((*call->err)->args,
			      shade_ref_value(NULL, call->self), NULL);
	return SHADE_ERR_VALUE;
}

static int64_t seven = 7;
static int sleep_ms = 300;
/* Size of calc.big()'s answer. */
static size_t big_size = 4096;

/* The server's objects: "obj" (demo.Obj: x = 3, meth) and "calc"
 * (add, plus_one(callable), divide, sleep, counter property). */
static shade_registry *make_registry(TALLOC_CTX *ctx)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *obj, *calc;
	shade_value three = shade_value_int(3);

	assert_non_null(reg);
	assert_ok(shade_object_new("demo.Obj", NULL, &obj, errp_));
	assert_ok(shade_object_add_attr(obj, "x", &three, false, errp_));
	assert_ok(shade_object_add_method(obj, "meth", th_add, NULL, false,
					  errp_));
	assert_ok(shade_registry_add(reg, "obj", obj, errp_));
	shade_ref_release(obj);
	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(calc, "plus_one", th_call_plus_one,
					  NULL, false, errp_));
	assert_ok(shade_object_add_method(calc, "divide", divide, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "sleep", th_sleep, &sleep_ms,
					  false, errp_));
	assert_ok(shade_object_add_property(calc, "seven", th_get_int, NULL,
					    &seven, errp_));
	assert_ok(shade_object_add_method(calc, "big", th_zeros, &big_size,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "raise_ref", raise_ref, NULL,
					  false, errp_));
	assert_ok(shade_registry_add(reg, "calc", calc, errp_));
	shade_ref_release(calc);
	return reg;
}

/* A tuple of two ints on ctx. */
static shade_value *pair(TALLOC_CTX *ctx, int64_t a, int64_t b)
{
	shade_value *t = shade_tuple_new(ctx, 2);
	shade_value va = shade_value_int(a), vb = shade_value_int(b);

	assert_non_null(t);
	assert_int_equal(shade_seq_append(t, &va, NULL), SHADE_OK);
	assert_int_equal(shade_seq_append(t, &vb, NULL), SHADE_OK);
	return t;
}

static void test_conn_first_contact(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_conn_stats s;
	shade_ref *obj;
	shade_value *x;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "obj", &obj, errp_));
	assert_ok(shade_getattr(ctx, obj, "x", &x, errp_));
	assert_int_equal(shade_value_as_int(x), 3);
	s = tp_stats(pp.client);
	/* Exactly two round trips, and the 73 bytes of doc/protocol.md §10
	 * but for one byte in each HELLO: libshade's feature bits are 42
	 * (2, 8 and 32), a two-byte uint. */
	assert_int_equal(s.round_trips, 2);
	assert_int_equal(s.frames_sent, 3);
	assert_int_equal(s.frames_received, 3);
	assert_int_equal(s.bytes_sent + s.bytes_received, 75);
	assert_int_equal(s.shapes_cached, 1);
	talloc_free(x);
	shade_ref_release(obj);
	tp_stop(&pp);
	talloc_free(ctx);
}

static void test_conn_add_bytes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_conn_stats a, b;
	shade_ref *calc;
	shade_value *args = pair(ctx, 1, 2), *r;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	a = tp_stats(pp.client);
	assert_ok(shade_invoke(ctx, calc, "add", args, NULL, &r, errp_));
	b = tp_stats(pp.client);
	assert_int_equal(shade_value_as_int(r), 3);
	/* INVOKE 9 bytes + RETURN 5 bytes, frame heads included. */
	assert_int_equal(b.bytes_sent - a.bytes_sent, 9);
	assert_int_equal(b.bytes_received - a.bytes_received, 5);
	assert_int_equal(b.round_trips - a.round_trips, 1);
	talloc_free(r);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

static void test_conn_errors_and_absent_members(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_conn_stats a, b;
	shade_ref *calc, *none = NULL;
	shade_value *zero = shade_tuple_new(ctx, 1), *r = NULL;
	shade_value z = shade_value_int(0);
	shade_error *err = NULL;
	tp_peer pp;

	assert_int_equal(shade_seq_append(zero, &z, NULL), SHADE_OK);
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	/* LOOKUP of a missing name is NotFound. */
	assert_int_equal(shade_lookup(pp.client, "nope", &none, &err),
			 SHADE_ERR_NOT_FOUND);
	assert_string_equal(err->name, "NotFound");
	shade_error_clear(&err);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));

	/* A remote ZeroDivisionError with its chain. */
	assert_int_equal(shade_invoke(ctx, calc, "divide", zero, NULL, &r,
				      &err), SHADE_ERR_ZERO_DIVISION);
	assert_string_equal(err->name, "ZeroDivisionError");
	assert_int_equal(err->category, SHADE_CAT_FAILED);
	assert_int_equal(err->chain_len, 1);
	assert_string_equal(err->chain[0].side, "server");
	assert_string_equal(err->chain[0].type, "demo.Calc");
	assert_string_equal(err->chain[0].member, "divide");
	shade_error_clear(&err);

	/* An absent member of a complete shape fails locally. */
	a = tp_stats(pp.client);
	assert_int_equal(shade_getattr(ctx, calc, "nothing", &r, &err),
			 SHADE_ERR_ATTRIBUTE);
	shade_error_clear(&err);
	assert_int_equal(shade_invoke(ctx, calc, "nothing", NULL, NULL, &r,
				      &err), SHADE_ERR_ATTRIBUTE);
	shade_error_clear(&err);
	b = tp_stats(pp.client);
	assert_int_equal(b.frames_sent, a.frames_sent);
	assert_int_equal(b.round_trips, a.round_trips);

	/* A reply over the server's frame limit comes back as an error. */
	shade_transport_set_max_frame(shade_conn_transport(pp.server), 1024);
	assert_int_equal(shade_invoke(ctx, calc, "big", NULL, NULL, &r, &err),
			 SHADE_ERR_LIMIT);
	assert_int_equal(err->category, SHADE_CAT_OVERLOADED);
	shade_error_clear(&err);
	shade_transport_set_max_frame(shade_conn_transport(pp.server), 0);
	assert_ok(shade_invoke(ctx, calc, "big", NULL, NULL, &r, errp_));
	assert_int_equal(shade_value_len(r), 4096);
	talloc_free(r);

	/* Error arguments travel by the copy rules: a reference too. */
	assert_int_equal(shade_invoke(ctx, calc, "raise_ref", NULL, NULL, &r,
				      &err), SHADE_ERR_VALUE);
	assert_int_equal(shade_seq_len(err->args), 1);
	assert_true(shade_ref_same(
		shade_value_as_ref(shade_seq_at(err->args, 0)), calc));
	shade_error_clear(&err);

	/* A readonly property cannot be set; it can be read. */
	assert_int_equal(shade_setattr(calc, "seven", &z, &err),
			 SHADE_ERR_ATTRIBUTE);
	shade_error_clear(&err);
	assert_ok(shade_getattr(ctx, calc, "seven", &r, errp_));
	assert_int_equal(shade_value_as_int(r), 7);
	talloc_free(r);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(zero);
	talloc_free(ctx);
}

/* A client function returning 1, counting its calls. */
static shade_status one(shade_call_ctx *call)
{
	(*(int *)call->udata)++;
	call->result = shade_int(call->mem, 1);
	return call->result
		       ? SHADE_OK
		       : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

static void test_conn_callback(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_ref *calc, *fn;
	shade_value *args, *r;
	shade_conn_stats a, b;
	int calls = 0;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	assert_ok(shade_function_new("one", one, &calls, &fn, errp_));
	args = shade_tuple_new(ctx, 1);
	assert_non_null(args);
	assert_int_equal(shade_seq_append_take(args, shade_ref_value(ctx, fn),
					       NULL), SHADE_OK);
	a = tp_stats(pp.client);
	assert_ok(shade_invoke(ctx, calc, "plus_one", args, NULL, &r, errp_));
	b = tp_stats(pp.client);
	assert_int_equal(shade_value_as_int(r), 2);
	assert_int_equal(calls, 1);
	/* One round trip waited; the callback was served meanwhile. */
	assert_int_equal(b.round_trips - a.round_trips, 1);
	assert_int_equal(b.requests_served - a.requests_served, 1);
	talloc_free(r);
	talloc_free(args);
	/* The server released the function: our export is gone. */
	assert_ok(shade_getattr(ctx, calc, "seven", &r, errp_));
	talloc_free(r);
	assert_int_equal(tp_stats(pp.client).exports, 0);
	shade_ref_release(fn);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* Three levels: client calls server.plus_one(f) -> server calls client f
 * -> f calls server.add(20, 22) -> 42, +1 = 43. */
struct deep {
	shade_ref *calc; /* the server's calc proxy */
	int depth;       /* deepest nesting seen */
};

/* The client function of test_conn_nested_three_levels. */
static shade_status deep_fn(shade_call_ctx *call)
{
	struct deep *d = call->udata;
	shade_value *t = shade_tuple_new(call->mem, 2);
	shade_value a = shade_value_int(20), b = shade_value_int(22);

	d->depth = 3;
	shade_seq_append(t, &a, NULL);
	shade_seq_append(t, &b, NULL);
	return shade_invoke(call->mem, d->calc, "add", t, NULL, &call->result,
			    call->err);
}

static void test_conn_nested_three_levels(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	struct deep d = { NULL, 0 };
	shade_ref *fn;
	shade_value *args, *r;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &d.calc, errp_));
	assert_ok(shade_function_new("deep", deep_fn, &d, &fn, errp_));
	args = shade_tuple_new(ctx, 1);
	shade_seq_append_take(args, shade_ref_value_take(ctx, fn), NULL);
	assert_ok(shade_invoke(ctx, d.calc, "plus_one", args, NULL, &r,
			       errp_));
	assert_int_equal(shade_value_as_int(r), 43);
	assert_int_equal(d.depth, 3);
	talloc_free(r);
	talloc_free(args);
	shade_ref_release(d.calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* A client function that fails, to see the chain cross both peers. */
static shade_status failing(shade_call_ctx *call)
{
	return shade_error_set_named(call->err, SHADE_ERR_USER, "app.Broken",
				     "callback broke");
}

static void test_conn_error_chain_through_callback(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_ref *calc, *fn;
	shade_value *args, *r = NULL;
	shade_error *err = NULL;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	assert_ok(shade_function_new("bad", failing, NULL, &fn, errp_));
	args = shade_tuple_new(ctx, 1);
	shade_seq_append_take(args, shade_ref_value_take(ctx, fn), NULL);
	assert_int_equal(shade_invoke(ctx, calc, "plus_one", args, NULL, &r,
				      &err), SHADE_ERR_USER);
	assert_string_equal(err->name, "app.Broken");
	assert_int_equal(err->chain_len, 2);
	assert_string_equal(err->chain[0].side, "client");
	assert_string_equal(err->chain[0].type, "builtins.function");
	assert_string_equal(err->chain[0].member, "bad");
	assert_string_equal(err->chain[1].side, "server");
	assert_string_equal(err->chain[1].member, "plus_one");
	shade_error_free(err);
	talloc_free(args);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ threads */

/* One client thread: n adds on a shared proxy, checking each result. */
struct worker {
	shade_ref *calc; /* shared proxy */
	int base;        /* distinct numbers per thread */
	int ok;          /* correct results */
};

/* Body of a worker thread. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	int i, n = tu_under_valgrind() ? 20 : 200;

	for (i = 0; i < n; i++) {
		shade_value *t = shade_tuple_new(ctx, 2), *r = NULL;
		shade_value a = shade_value_int(w->base), b = shade_value_int(i);
		shade_error *err = NULL;

		shade_seq_append(t, &a, NULL);
		shade_seq_append(t, &b, NULL);
		if (shade_invoke(ctx, w->calc, "add", t, NULL, &r, &err) ==
			    SHADE_OK &&
		    shade_value_as_int(r) == w->base + i)
			w->ok++;
		shade_error_free(err);
		talloc_free(t);
		talloc_free(r);
	}
	talloc_free(ctx);
	return NULL;
}

static void test_conn_threads_share_connection(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	struct worker w[4];
	tu_thread th[4];
	shade_ref *calc;
	int i, n = tu_under_valgrind() ? 20 : 200;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ calc, 1000 * (i + 1), 0 };
		assert_int_equal(tu_thread_start(&th[i], worker_main, &w[i]),
				 0);
	}
	for (i = 0; i < 4; i++) {
		assert_true(tu_thread_join(&th[i], 60000, NULL));
		assert_int_equal(w[i].ok, n);
	}
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

static void test_conn_futures(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_future *f[100];
	shade_ref *calc;
	shade_value *r;
	shade_conn_stats a, b;
	shade_error *err = NULL;
	size_t i, which;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	a = tp_stats(pp.client);
	for (i = 0; i < 100; i++) {
		shade_value *t = pair(ctx, (int64_t)i, 1);

		assert_ok(shade_invoke_async(ctx, calc, "add", t, NULL, &f[i],
					     errp_));
		talloc_free(t);
	}
	assert_ok(shade_future_wait_any(f, 100, -1, &which, errp_));
	assert_true(which < 100);
	assert_ok(shade_future_wait_all(f, 100, -1, errp_));
	b = tp_stats(pp.client);
	assert_true(b.round_trips - a.round_trips <= 2);
	for (i = 0; i < 100; i++) {
		assert_true(shade_future_ready(f[i]));
		assert_ok(shade_future_wait(ctx, f[i], -1, &r, errp_));
		assert_int_equal(shade_value_as_int(r), (int64_t)i + 1);
		talloc_free(r);
		talloc_free(f[i]);
	}
	/* A wait may time out and be tried again. */
	assert_ok(shade_invoke_async(ctx, calc, "sleep", NULL, NULL, &f[0],
				     errp_));
	assert_int_equal(shade_future_wait(ctx, f[0], 30, &r, &err),
			 SHADE_ERR_TIMEOUT);
	shade_error_clear(&err);
	assert_ok(shade_future_wait(ctx, f[0], -1, &r, errp_));
	talloc_free(r);
	talloc_free(f[0]);
	/* A future freed unwaited: its late reply is dropped. */
	assert_ok(shade_invoke_async(ctx, calc, "sleep", NULL, NULL, &f[0],
				     errp_));
	assert_true(shade_future_ready(f[0]) == false);
	talloc_free(f[0]);
	{
		shade_value *t = pair(ctx, 20, 22);

		assert_ok(shade_invoke(ctx, calc, "add", t, NULL, &r, errp_));
		assert_int_equal(shade_value_as_int(r), 42);
		talloc_free(r);
		talloc_free(t);
	}
	assert_int_equal(tp_stats(pp.client).pending, 0);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* Requests batched by futures leave in one write system call, through
 * the transport's public shade_transport_send_frames(). */
static void test_conn_batch_one_write(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_transport *ta, *tb;
	shade_transport_stats s0, s1;
	shade_future *f[50];
	shade_ref *calc;
	shade_value *r;
	shade_error *err = NULL;
	uint8_t frames[32], *got;
	size_t n, i, len;
	tp_peer pp;

	/* The transport call itself: three frames, one write. */
	assert_ok(shade_transport_pair(ctx, NULL, &ta, &tb, errp_));
	n = 0;
	for (i = 0; i < 3; i++) {
		n += shade_frame_header_encode(2, frames + n);
		frames[n++] = (uint8_t)i;
		frames[n++] = 0xff;
	}
	shade_transport_stats_get(ta, &s0);
	assert_ok(shade_transport_send_frames(ta, frames, n, errp_));
	shade_transport_stats_get(ta, &s1);
	assert_int_equal(s1.write_calls - s0.write_calls, 1);
	assert_int_equal(s1.frames_sent - s0.frames_sent, 3);
	assert_int_equal(s1.bytes_sent - s0.bytes_sent, n);
	for (i = 0; i < 3; i++) {
		assert_ok(shade_transport_recv(tb, ctx, &got, &len, 1000,
					       errp_));
		assert_int_equal(len, 2);
		assert_int_equal(got[0], i);
		talloc_free(got);
	}
	/* Bytes ending inside a frame: nothing is sent. */
	assert_int_equal(shade_transport_send_frames(ta, frames, n - 1, &err),
			 SHADE_ERR_INVALID);
	shade_error_clear(&err);
	frames[0] = 0x00; /* a zero length */
	assert_int_equal(shade_transport_send_frames(ta, frames, n, &err),
			 SHADE_ERR_PROTOCOL);
	shade_error_clear(&err);
	shade_transport_stats_get(ta, &s0);
	assert_int_equal(s0.write_calls, s1.write_calls);
	assert_ok(shade_transport_send_frames(ta, frames, 0, errp_));
	talloc_free(ta);
	talloc_free(tb);

	/* A connection's batch: 50 pipelined requests, one write. */
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	shade_transport_stats_get(shade_conn_transport(pp.client), &s0);
	for (i = 0; i < 50; i++) {
		shade_value *t = pair(ctx, (int64_t)i, 1);

		assert_ok(shade_invoke_async(ctx, calc, "add", t, NULL, &f[i],
					     errp_));
		talloc_free(t);
	}
	shade_transport_stats_get(shade_conn_transport(pp.client), &s1);
	assert_int_equal(s1.write_calls, s0.write_calls);
	assert_ok(shade_conn_flush(pp.client, errp_));
	shade_transport_stats_get(shade_conn_transport(pp.client), &s1);
	assert_int_equal(s1.write_calls - s0.write_calls, 1);
	assert_int_equal(s1.frames_sent - s0.frames_sent, 50);
	assert_ok(shade_future_wait_all(f, 50, 10000, errp_));
	for (i = 0; i < 50; i++) {
		assert_ok(shade_future_wait(ctx, f[i], -1, &r, errp_));
		assert_int_equal(shade_value_as_int(r), (int64_t)i + 1);
		talloc_free(r);
		talloc_free(f[i]);
	}
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* The embedding loop of doc/api.md §6, as a user writes it from the doc:
 * poll the fd (and POLLOUT while output waits), then call
 * shade_conn_process when it is readable, until it says SHADE_AGAIN,
 * then flush.  50 futures
 * in flight all complete through it (a budget of 4 frames per call, so
 * most calls end with frames still buffered in the transport). */
static void test_conn_process_user_loop(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_future *f[50];
	shade_ref *calc;
	shade_value *r;
	shade_status st;
	int64_t end;
	size_t i, done = 0;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	assert_ok(shade_transport_set_nonblocking(
		shade_conn_transport(pp.client), true, errp_));
	for (i = 0; i < 50; i++) {
		shade_value *t = pair(ctx, (int64_t)i, 1);

		assert_ok(shade_invoke_async(ctx, calc, "add", t, NULL, &f[i],
					     errp_));
		talloc_free(t);
	}
	assert_ok(shade_conn_flush(pp.client, errp_));
	end = tu_now_ms() + 3000;
	while (done < 50 && tu_now_ms() < end) {
		struct pollfd p = { shade_conn_fd(pp.client), POLLIN, 0 };

		if (shade_conn_wants_write(pp.client))
			p.events |= POLLOUT;
		assert_true(poll(&p, 1, 100) >= 0);
		if (p.revents & POLLIN) {
			do
				st = shade_conn_process(pp.client, 4, NULL);
			while (st == SHADE_OK);
			assert_int_equal(st, SHADE_AGAIN);
		}
		if (shade_conn_wants_write(pp.client))
			assert_ok(shade_conn_flush(pp.client, errp_));
		for (done = 0, i = 0; i < 50; i++)
			done += shade_future_ready(f[i]);
	}
	assert_int_equal(done, 50);
	for (i = 0; i < 50; i++) {
		assert_ok(shade_future_wait(ctx, f[i], 0, &r, errp_));
		assert_int_equal(shade_value_as_int(r), (int64_t)i + 1);
		talloc_free(r);
		talloc_free(f[i]);
	}
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* A receiver-side handler's runs and how long each takes. */
struct runs {
	int n;        /* times it started */
	int sleep_ms; /* sleep in each run */
};

/* work.slow() / work.mark(): count the run (udata: struct runs), sleep,
 * return none. */
static shade_status work_run(shade_call_ctx *call)
{
	struct runs *r = call->udata;

	r->n++;
	usleep((useconds_t)r->sleep_ms * 1000u);
	call->result = NULL;
	return SHADE_OK;
}

/* Append message b to out, framed. */
static void raw_frame(shade_buf *out, const shade_buf *b)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];

	assert_int_equal(b->status, SHADE_OK);
	shade_buf_append(out, head, shade_frame_header_encode(b->len, head));
	shade_buf_append(out, b->data, b->len);
}

/* Append to out, framed: INVOKE id on export 1, method `name`, no
 * arguments, with a timeout option when timeout_ms > 0; or CANCEL id
 * when name is NULL. */
static void raw_put(shade_buf *out, uint64_t id, const char *name,
		    uint64_t timeout_ms)
{
	shade_buf *b = shade_buf_new(out, 32);
	struct msg_opts o = { .timeout_ms = timeout_ms };

	if (name == NULL) {
		msg_begin(b, OP_CANCEL, id, 0, false);
	} else {
		msg_begin(b, OP_INVOKE, id, 3, msg_opts_items(&o) > 0);
		shade_cbor_put_uint(b, 1);
		shade_cbor_put_cstr(b, name);
		shade_cbor_put_array(b, 0);
		if (msg_opts_items(&o) > 0)
			assert_ok(msg_put_opts(b, &o, NULL, errp_));
	}
	raw_frame(out, b);
	talloc_free(b);
}

/* Send out's frames in one write, let the receiver process them, and
 * empty out. */
static void raw_flush(shade_transport *t, shade_buf *out, shade_conn *rc)
{
	assert_ok(shade_transport_send_frames(t, out->data, out->len,
					      errp_));
	shade_buf_reset(out);
	assert_ok(shade_conn_process(rc, 0, errp_) < 0 ? SHADE_ERR_IO
							: SHADE_OK);
}

/* Read the next frame on t: a reply; its id, and its error code
 * (SHADE_OK for RETURN). */
static uint64_t raw_reply(TALLOC_CTX *ctx, shade_transport *t,
			  shade_status *code)
{
	uint8_t *frame;
	size_t len;
	struct msg m;
	shade_error *e = NULL;
	uint64_t id;

	assert_ok(shade_transport_recv(t, ctx, &frame, &len, 5000, errp_));
	assert_ok(msg_parse(frame, len, &m, errp_));
	*code = SHADE_OK;
	if (m.op == OP_ERROR) {
		assert_ok(msg_read_error(&m, NULL, &e, errp_));
		*code = e->code;
		shade_error_free(e);
	} else {
		assert_int_equal(m.op, OP_RETURN);
	}
	id = m.id;
	talloc_free(frame);
	return id;
}

/* Send HELLO and LOOKUP (id 1) of `name` on t to rc, and read the HELLO
 * and the reply: the object named is export 1. */
static void raw_open(TALLOC_CTX *ctx, shade_buf *out, shade_transport *t,
		     shade_conn *rc, const char *name)
{
	shade_buf *b = shade_buf_new(ctx, 32);
	shade_status code;
	uint8_t *frame;
	size_t len;

	msg_begin(b, OP_HELLO, 0, 2, false);
	shade_cbor_put_uint(b, SHADE_PROTOCOL_VERSION);
	shade_cbor_put_uint(b, 0);
	raw_frame(out, b);
	shade_buf_reset(b);
	msg_begin(b, OP_LOOKUP, 1, 1, false);
	shade_cbor_put_cstr(b, name);
	raw_frame(out, b);
	talloc_free(b);
	raw_flush(t, out, rc);
	assert_ok(shade_transport_recv(t, ctx, &frame, &len, 5000, errp_));
	talloc_free(frame); /* HELLO */
	assert_int_equal(raw_reply(ctx, t, &code), 1);
	assert_int_equal(code, SHADE_OK);
}

/* The receiver honours deadlines and CANCEL, over real frames: a request
 * whose deadline passed while it was queued is answered Timeout without
 * running; a CANCEL for a queued request removes it (no reply); a CANCEL
 * for one already served changes nothing. */
static void test_conn_receiver_deadline_and_cancel(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_conn_opts so = { .names = reg };
	shade_transport *ta, *tb;
	shade_buf *out = shade_buf_new(ctx, 256);
	struct runs slow = { 0, 100 }, mark = { 0, 0 };
	shade_conn_stats st;
	shade_ref *work;
	shade_conn *rc;
	shade_status code;

	assert_ok(shade_object_new("demo.Work", NULL, &work, errp_));
	assert_ok(shade_object_add_method(work, "slow", work_run, &slow,
					  false, errp_));
	assert_ok(shade_object_add_method(work, "mark", work_run, &mark,
					  false, errp_));
	assert_ok(shade_registry_add(reg, "work", work, errp_));
	shade_ref_release(work);
	assert_ok(shade_transport_pair(ctx, NULL, &ta, &tb, errp_));
	assert_ok(shade_transport_set_nonblocking(tb, true, errp_));
	assert_ok(shade_conn_new(ctx, tb, true, &so, &rc, errp_));

	raw_open(ctx, out, ta, rc, "work");
	shade_conn_stats_get(rc, &st);
	assert_int_equal(st.exports, 1);

	/* slow (100 ms) then mark with a 20 ms deadline, read together:
	 * mark's deadline passes while slow runs. */
	raw_put(out, 2, "slow", 0);
	raw_put(out, 3, "mark", 20);
	raw_flush(ta, out, rc);
	assert_int_equal(raw_reply(ctx, ta, &code), 2);
	assert_int_equal(code, SHADE_OK);
	assert_int_equal(raw_reply(ctx, ta, &code), 3);
	assert_int_equal(code, SHADE_ERR_TIMEOUT);
	assert_int_equal(slow.n, 1);
	assert_int_equal(mark.n, 0);
	/* A deadline not reached: it runs. */
	raw_put(out, 4, "mark", 5000);
	raw_flush(ta, out, rc);
	assert_int_equal(raw_reply(ctx, ta, &code), 4);
	assert_int_equal(code, SHADE_OK);
	assert_int_equal(mark.n, 1);

	/* slow, mark, CANCEL mark: mark is withdrawn unanswered. */
	raw_put(out, 5, "slow", 0);
	raw_put(out, 6, "mark", 0);
	raw_put(out, 6, NULL, 0);
	raw_flush(ta, out, rc);
	assert_int_equal(raw_reply(ctx, ta, &code), 5);
	assert_int_equal(code, SHADE_OK);
	raw_put(out, 7, "mark", 0);
	raw_flush(ta, out, rc);
	assert_int_equal(raw_reply(ctx, ta, &code), 7); /* none for 6 */
	assert_int_equal(code, SHADE_OK);
	assert_int_equal(slow.n, 2);
	assert_int_equal(mark.n, 2);

	/* CANCEL of a request already answered, and of one never sent:
	 * ignored. */
	raw_put(out, 7, NULL, 0);
	raw_put(out, 99, NULL, 0);
	raw_put(out, 8, "mark", 0);
	raw_flush(ta, out, rc);
	assert_int_equal(raw_reply(ctx, ta, &code), 8);
	assert_int_equal(mark.n, 3);

	/* CANCEL sent while its request runs (so read after it started):
	 * the request completes and is answered. */
	raw_put(out, 9, "slow", 0);
	assert_ok(shade_transport_send_frames(ta, out->data, out->len,
					      errp_));
	shade_buf_reset(out);
	raw_put(out, 9, NULL, 0);
	/* Read request 9 alone and run it; the CANCEL follows. */
	assert_int_equal(shade_conn_process(rc, 1, NULL), SHADE_OK);
	raw_flush(ta, out, rc);
	assert_int_equal(raw_reply(ctx, ta, &code), 9);
	assert_int_equal(code, SHADE_OK);
	assert_int_equal(slow.n, 3);

	shade_conn_stats_get(rc, &st);
	assert_int_equal(st.requests_expired, 1);
	assert_int_equal(st.requests_cancelled, 1);
	assert_int_equal(st.requests_served, 7); /* lookup + 6 ran */
	assert_true(shade_conn_is_open(rc));
	talloc_free(rc);
	talloc_free(ta);
	talloc_free(reg);
	talloc_free(out);
	talloc_free(ctx);
}

static void test_conn_deadline_and_late_reply(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_call_opts co = { .timeout_ms = 50 };
	shade_ref *calc;
	shade_value *r = NULL, *args = pair(ctx, 2, 3);
	shade_error *err = NULL;
	int64_t t0;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	t0 = tu_now_ms();
	assert_int_equal(shade_invoke_ex(ctx, calc, "sleep", NULL, NULL, &co,
					 &r, &err), SHADE_ERR_TIMEOUT);
	assert_true(tu_now_ms() - t0 < 250);
	assert_int_equal(err->category, SHADE_CAT_OVERLOADED);
	shade_error_clear(&err);
	/* The late reply is dropped; the next call gets its own. */
	assert_ok(shade_invoke(ctx, calc, "add", args, NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 5);
	talloc_free(r);
	/* The connection's default deadline applies to calls without one. */
	shade_conn_set_timeout(pp.client, 50);
	assert_int_equal(shade_invoke(ctx, calc, "sleep", NULL, NULL, &r,
				      &err), SHADE_ERR_TIMEOUT);
	shade_error_clear(&err);
	shade_conn_set_timeout(pp.client, 0);
	assert_ok(shade_invoke(ctx, calc, "add", args, NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 5);
	assert_int_equal(tp_stats(pp.client).pending, 0);
	talloc_free(r);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ exports */

/* Objects the export test hands out. */
#define N_PICK 100

/* pick.get(i): the i-th object of udata (an array of N_PICK). */
static shade_status pick_get(shade_call_ctx *call)
{
	shade_ref **objs = call->udata;
	const shade_value *a = shade_seq_at(call->args, 0);
	int64_t i = a != NULL && shade_value_kind(a) == SHADE_INT
			    ? shade_value_as_int(a)
			    : -1;

	if (i < 0 || i >= N_PICK)
		return shade_error_set(call->err, SHADE_ERR_INVALID,
				       "bad index");
	call->result = shade_ref_value(call->mem, objs[i]);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "no memory");
}

/* Append to out, framed: INVOKE id target.get(arg) when ref is 0, else
 * INVOKE id target.get with a tag-201 reference to export ref as its
 * argument; GETATTR id target.x when arg < 0. */
static void raw_get(shade_buf *out, uint64_t id, uint64_t target,
		    int64_t arg, uint64_t ref)
{
	shade_buf *b = shade_buf_new(out, 32);

	if (arg < 0 && ref == 0) {
		msg_begin(b, OP_GETATTR, id, 2, false);
		shade_cbor_put_uint(b, target);
		shade_cbor_put_cstr(b, "x");
	} else {
		msg_begin(b, OP_INVOKE, id, 3, false);
		shade_cbor_put_uint(b, target);
		shade_cbor_put_cstr(b, "get");
		shade_cbor_put_array(b, 1);
		if (ref != 0) {
			shade_cbor_put_tag(b, SHADE_CBOR_TAG_RECEIVER_HOSTED);
			shade_cbor_put_uint(b, ref);
		} else {
			shade_cbor_put_uint(b, (uint64_t)arg);
		}
	}
	raw_frame(out, b);
	talloc_free(b);
}

/* Append to out, framed: one RELEASE of n (export id, count) pairs. */
static void raw_release(shade_buf *out, const uint64_t *pairs, size_t n)
{
	shade_buf *b = shade_buf_new(out, 32);
	size_t i;

	msg_begin(b, OP_RELEASE, 0, (unsigned)(2 * n), false);
	for (i = 0; i < 2 * n; i++)
		shade_cbor_put_uint(b, pairs[i]);
	raw_frame(out, b);
	talloc_free(b);
}

/* Read the next frame on t, a reply to id: for RETURN, the export id of
 * the tag-200 reference it carries (*val: 0) or the int it carries
 * (*eid: 0); *code its error code (SHADE_OK for RETURN). */
static void raw_value(TALLOC_CTX *ctx, shade_transport *t, uint64_t id,
		      uint64_t *eid, int64_t *val, shade_status *code)
{
	uint8_t *frame;
	size_t len;
	struct msg m;
	shade_error *e = NULL;
	uint64_t tag, n, fp;

	*eid = 0;
	*val = 0;
	assert_ok(shade_transport_recv(t, ctx, &frame, &len, 5000, errp_));
	assert_ok(msg_parse(frame, len, &m, errp_));
	assert_int_equal(m.id, id);
	*code = SHADE_OK;
	if (m.op == OP_ERROR) {
		assert_ok(msg_read_error(&m, NULL, &e, errp_));
		*code = e->code;
		shade_error_free(e);
	} else if (shade_cbor_read_tag(&m.d, &tag, NULL) == SHADE_OK) {
		assert_int_equal(m.op, OP_RETURN);
		assert_int_equal(tag, SHADE_CBOR_TAG_SENDER_HOSTED);
		assert_ok(shade_cbor_read_array(&m.d, &n, errp_));
		assert_ok(shade_cbor_read_uint(&m.d, eid, errp_));
		assert_ok(shade_cbor_read_uint(&m.d, &fp, errp_));
	} else {
		assert_int_equal(m.op, OP_RETURN);
		assert_ok(shade_cbor_read_int(&m.d, val, errp_));
	}
	talloc_free(frame);
}

/* One request written raw to rc; its reply read back (see raw_value). */
static void raw_ask(TALLOC_CTX *ctx, shade_buf *out, shade_transport *t,
		    shade_conn *rc, uint64_t *id, uint64_t target, int64_t arg,
		    uint64_t ref, uint64_t *eid, int64_t *val,
		    shade_status *code)
{
	raw_get(out, ++*id, target, arg, ref);
	raw_flush(t, out, rc);
	raw_value(ctx, t, *id, eid, val, code);
}

/* The export table over real frames, through growth and churn: each
 * object gets one id however often it is sent, ids are small, count up
 * from 1 and are never reused; a RELEASE drops an export only once every
 * reference handed out came back; an id whose export died is NotFound as
 * a target and ProtocolError as a tag-201 reference (never another
 * object), while every live id still reaches its own object. */
static void test_conn_export_ids(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = shade_registry_new(ctx);
	shade_conn_opts so = { .names = reg };
	shade_transport *ta, *tb;
	shade_buf *out = shade_buf_new(ctx, 256);
	shade_ref *objs[N_PICK], *pick;
	uint64_t eids[N_PICK], rel[N_PICK + 2], id = 1, eid, again, max = 1;
	shade_conn_stats st;
	shade_conn *rc;
	shade_status code;
	int64_t val;
	size_t i;

	for (i = 0; i < N_PICK; i++) {
		shade_value x = shade_value_int((int64_t)i);

		assert_ok(shade_object_new("demo.Item", NULL, &objs[i], errp_));
		assert_ok(shade_object_add_attr(objs[i], "x", &x, true,
						errp_));
	}
	assert_ok(shade_object_new("demo.Pick", NULL, &pick, errp_));
	assert_ok(shade_object_add_method(pick, "get", pick_get, objs, false,
					  errp_));
	assert_ok(shade_registry_add(reg, "pick", pick, errp_));
	shade_ref_release(pick);
	assert_ok(shade_transport_pair(ctx, NULL, &ta, &tb, errp_));
	assert_ok(shade_transport_set_nonblocking(tb, true, errp_));
	assert_ok(shade_conn_new(ctx, tb, true, &so, &rc, errp_));
	raw_open(ctx, out, ta, rc, "pick"); /* export 1 */

	/* Each object once: fresh ids 2, 3, ... */
	for (i = 0; i < N_PICK; i++) {
		raw_ask(ctx, out, ta, rc, &id, 1, (int64_t)i, 0, &eids[i],
			&val, &code);
		assert_int_equal(code, SHADE_OK);
		assert_int_equal(eids[i], i + 2);
		max = eids[i];
	}
	/* The same object again: the same id, one more reference out. */
	raw_ask(ctx, out, ta, rc, &id, 1, 5, 0, &again, &val, &code);
	assert_int_equal(again, eids[5]);
	/* A reference given back arrives as the original object. */
	raw_ask(ctx, out, ta, rc, &id, 1, 0, eids[7], &eid, &val, &code);
	assert_int_equal(code, SHADE_ERR_INVALID); /* get(<object>) */
	shade_conn_stats_get(rc, &st);
	assert_int_equal(st.exports, N_PICK + 1);

	/* Release the even ones, and 5 once of its twice. */
	for (i = 0; i < N_PICK; i += 2) {
		rel[i] = eids[i];
		rel[i + 1] = 1;
	}
	rel[N_PICK] = eids[5];
	rel[N_PICK + 1] = 1;
	raw_release(out, rel, N_PICK / 2 + 1);
	raw_flush(ta, out, rc);
	shade_conn_stats_get(rc, &st);
	assert_int_equal(st.exports, N_PICK / 2 + 1);

	/* Every live id still names its own object; dead ones nothing. */
	for (i = 0; i < N_PICK; i++) {
		raw_ask(ctx, out, ta, rc, &id, eids[i], -1, 0, &eid, &val,
			&code);
		if (i % 2 == 1) {
			assert_int_equal(code, SHADE_OK);
			assert_int_equal(val, (int64_t)i);
		} else {
			assert_int_equal(code, SHADE_ERR_NOT_FOUND);
		}
	}
	raw_ask(ctx, out, ta, rc, &id, 1, 0, eids[4], &eid, &val, &code);
	assert_int_equal(code, SHADE_ERR_PROTOCOL);
	raw_ask(ctx, out, ta, rc, &id, 0, -1, 0, &eid, &val, &code);
	assert_int_equal(code, SHADE_ERR_NOT_FOUND); /* 0 is no id */

	/* A dropped object sent again gets a new id, not its old one. */
	for (i = 0; i < N_PICK; i += 2) {
		raw_ask(ctx, out, ta, rc, &id, 1, (int64_t)i, 0, &eid, &val,
			&code);
		assert_int_equal(eid, max + 1);
		max = eid;
		raw_ask(ctx, out, ta, rc, &id, eid, -1, 0, &again, &val,
			&code);
		assert_int_equal(val, (int64_t)i);
	}
	raw_ask(ctx, out, ta, rc, &id, eids[0], -1, 0, &eid, &val, &code);
	assert_int_equal(code, SHADE_ERR_NOT_FOUND);
	shade_conn_stats_get(rc, &st);
	assert_int_equal(st.exports, N_PICK + 1);
	assert_true(st.export_bytes < 100 * st.exports);

	/* A release of more than was handed out is ignored. */
	rel[0] = eids[1];
	rel[1] = 2;
	raw_release(out, rel, 1);
	raw_ask(ctx, out, ta, rc, &id, eids[1], -1, 0, &eid, &val, &code);
	assert_int_equal(val, 1);

	/* A request and the RELEASE of its target read in one batch: the
	 * request, read first, is served first; then the id is dead. */
	rel[0] = eids[3];
	rel[1] = 1;
	raw_get(out, ++id, eids[3], -1, 0);
	raw_release(out, rel, 1);
	raw_flush(ta, out, rc);
	raw_value(ctx, ta, id, &eid, &val, &code);
	assert_int_equal(code, SHADE_OK);
	assert_int_equal(val, 3);
	raw_ask(ctx, out, ta, rc, &id, eids[3], -1, 0, &eid, &val, &code);
	assert_int_equal(code, SHADE_ERR_NOT_FOUND);

	/* The end of the connection drops every export's count. */
	talloc_free(rc);
	talloc_free(ta);
	for (i = 0; i < N_PICK; i++) {
		shade_ref *o = objs[i];

		assert_int_equal(o->refs, 1);
		shade_ref_release(o);
	}
	talloc_free(reg);
	talloc_free(out);
	talloc_free(ctx);
}

/* The export table alone under random churn, against a plain model:
 * after every add or removal, each live entry is found by id and by
 * object, and each dead one by neither (the removal moves the last entry
 * into the hole and repoints both index tables). */
static void test_conn_export_table_churn(void **state)
{
	enum { SLOTS = 3000, STEPS = 20000 };
	TALLOC_CTX *ctx = talloc_new(*state);
	char *addr = talloc_zero_array(ctx, char, SLOTS);
	uint64_t *live = talloc_zero_array(ctx, uint64_t, SLOTS);
	struct export_table t;
	struct export_entry *e;
	uint64_t next = 1, seed = 12345;
	size_t step, i, n = 0;

	assert_non_null(addr);
	assert_non_null(live);
	etab_init(&t, ctx);
	for (step = 0; step < STEPS; step++) {
		struct shade_ref *obj;

		seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
		i = (size_t)(seed >> 33) % SLOTS;
		obj = (struct shade_ref *)(void *)&addr[i];
		e = etab_by_obj(&t, obj);
		if (live[i] == 0) {
			assert_null(e);
			e = etab_add(&t, obj, next);
			assert_non_null(e);
			assert_int_equal(e->out, 0);
			live[i] = next++;
			n++;
		} else {
			assert_non_null(e);
			assert_int_equal(e->eid, live[i]);
			assert_ptr_equal(etab_del(&t, e), obj);
			live[i] = 0;
			n--;
		}
		assert_int_equal(t.n, n);
		if (step % 97 != 0 && step != STEPS - 1)
			continue;
		for (i = 0; i < SLOTS; i++) {
			obj = (struct shade_ref *)(void *)&addr[i];
			e = etab_by_obj(&t, obj);
			if (live[i] == 0) {
				assert_null(e);
				continue;
			}
			assert_non_null(e);
			assert_int_equal(e->eid, live[i]);
			assert_ptr_equal(etab_by_eid(&t, live[i]), e);
		}
		assert_null(etab_by_eid(&t, 0));
		assert_null(etab_by_eid(&t, next));
	}
	assert_true(etab_bytes(&t) > 0);
	etab_clear(&t);
	assert_int_equal(t.n, 0);
	assert_null(etab_by_eid(&t, 1));
	assert_int_equal(etab_bytes(&t), 0);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ loss */

/* Server thread for the loss test: serve one request, then drop. */
static void *drop_main(void *arg)
{
	tp_peer *pp = arg;
	shade_transport *t = shade_conn_transport(pp->server);
	uint8_t *frame;
	size_t len;
	int i;

	/* Read HELLO and the request, then close without answering. */
	for (i = 0; i < 2; i++)
		if (shade_transport_recv(t, NULL, &frame, &len, 10000, NULL) ==
		    SHADE_OK)
			talloc_free(frame);
	shade_transport_close(t);
	return NULL;
}

static void test_conn_loss_fails_pending(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_transport *a, *b;
	shade_conn *client;
	shade_ref *obj = NULL;
	shade_error *err = NULL;
	tp_peer pp;

	memset(&pp, 0, sizeof(pp));
	assert_int_equal(shade_transport_pair(ctx, NULL, &a, &b, NULL),
			 SHADE_OK);
	assert_ok(shade_conn_new(ctx, b, true, NULL, &pp.server, errp_));
	assert_ok(shade_conn_new(ctx, a, false, NULL, &client, errp_));
	assert_int_equal(tu_thread_start(&pp.th, drop_main, &pp), 0);
	assert_int_equal(shade_lookup(client, "x", &obj, &err),
			 SHADE_ERR_CONNECTION_LOST);
	assert_int_equal(err->category, SHADE_CAT_DISCONNECTED);
	shade_error_clear(&err);
	assert_false(shade_conn_is_open(client));
	assert_true(tu_thread_join(&pp.th, 10000, NULL));
	/* Later calls fail at once. */
	assert_int_equal(shade_lookup(client, "x", &obj, &err),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_clear(&err);
	talloc_free(ctx);
}

static void test_conn_bad_version(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_transport *a, *b;
	shade_conn *server;
	shade_error *err = NULL;
	uint8_t *frame;
	size_t len, hl;
	/* [0, 0, 9, 0]: HELLO of protocol version 9. */
	static const uint8_t hello9[] = { 0x84, 0x00, 0x00, 0x09, 0x00 };
	uint64_t plen;

	assert_int_equal(shade_transport_pair(ctx, NULL, &a, &b, NULL),
			 SHADE_OK);
	assert_ok(shade_conn_new(ctx, b, true, NULL, &server, errp_));
	assert_int_equal(shade_transport_send(a, hello9, sizeof(hello9), NULL),
			 SHADE_OK);
	assert_int_equal(shade_conn_serve(server, 5000, &err),
			 SHADE_ERR_CONNECTION_LOST);
	shade_error_clear(&err);
	/* The peer got ERROR id 0 with ProtocolError. */
	assert_int_equal(shade_transport_recv(a, ctx, &frame, &len, 5000,
					      NULL), SHADE_OK);
	assert_true(len > 4);
	assert_int_equal(frame[0], 0x87);
	assert_int_equal(frame[1], OP_ERROR);
	assert_int_equal(frame[2], 0);
	(void)hl;
	(void)plen;
	talloc_free(ctx);
}

/* Send the frame given in hex on t and read one reply: its opcode, id
 * and, for ERROR, its name (on ctx). */
static void exchange(TALLOC_CTX *ctx, shade_transport *t, const char *hex,
		     unsigned *op, uint64_t *id, char **name)
{
	size_t len;
	uint8_t *p = shade_hex_decode(ctx, hex, &len), *frame;
	shade_error *e = NULL;
	struct msg m;

	assert_non_null(p);
	assert_int_equal(shade_transport_send(t, p, len, NULL), SHADE_OK);
	assert_int_equal(shade_transport_recv(t, ctx, &frame, &len, 10000,
					      NULL), SHADE_OK);
	assert_int_equal(msg_parse(frame, len, &m, NULL), SHADE_OK);
	*op = m.op;
	*id = m.id;
	*name = NULL;
	if (m.op == OP_ERROR) {
		assert_int_equal(msg_read_error(&m, NULL, &e, NULL), SHADE_OK);
		*name = talloc_strdup(ctx, e->name);
		shade_error_free(e);
	}
}

/* Body of the server thread of test_conn_bad_input. */
static void *serve_one(void *arg)
{
	shade_conn *c = arg;

	shade_conn_serve(c, 20000, NULL);
	return NULL;
}

static void test_conn_bad_input(void **state)
{
	static const struct {
		const char *hex;     /* request frame */
		unsigned op;         /* reply opcode */
		uint64_t id;         /* reply id */
		const char *name;    /* error name, or NULL */
	} cases[] = {
		{ "84 00 00 01 00", OP_HELLO, 0, NULL },
		{ "83 07 01 64 63616c63", OP_RETURN, 1, NULL },
		/* a target never handed out */
		{ "85 03 02 18 63 00 80", OP_ERROR, 2, "NotFound" },
		/* an absent member, by name and by index */
		{ "84 04 03 01 64 6e6f7065", OP_ERROR, 3, "AttributeError" },
		{ "84 04 04 01 19 01f4", OP_ERROR, 4, "AttributeError" },
		/* an unknown opcode */
		{ "82 18 19 05", OP_ERROR, 5, "Unimplemented" },
		/* a reference 201 to something never exported */
		{ "85 03 06 01 00 81 d8c9 18 4d", OP_ERROR, 6, "ProtocolError" },
		/* arguments that are not an array */
		{ "85 03 07 01 00 63 616263", OP_ERROR, 7, "ProtocolError" },
		/* fields of the wrong type */
		{ "83 07 08 01", OP_ERROR, 8, "ProtocolError" },
		/* a double release and a bogus one are ignored: NAMES works */
		{ "86 0a 00 01 05 18 2a 01", OP_COUNT_, 0, NULL },
		{ "82 08 09", OP_RETURN, 9, NULL },
		/* not a message at all: ERROR id 0, then the end */
		{ "a1 01 02", OP_ERROR, 0, "ProtocolError" },
	};
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx);
	shade_conn_opts so = { .names = reg };
	shade_transport *a, *b;
	shade_conn *server;
	tu_thread th;
	unsigned op;
	uint64_t id;
	char *name;
	size_t i, len;
	uint8_t *frame, *p;

	assert_ok(shade_transport_pair(ctx, NULL, &a, &b, errp_));
	assert_ok(shade_conn_new(ctx, b, true, &so, &server, errp_));
	assert_int_equal(tu_thread_start(&th, serve_one, server), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].op == OP_COUNT_) {
			/* No reply expected. */
			p = shade_hex_decode(ctx, cases[i].hex, &len);
			assert_int_equal(shade_transport_send(a, p, len, NULL),
					 SHADE_OK);
			continue;
		}
		exchange(ctx, a, cases[i].hex, &op, &id, &name);
		assert_int_equal(op, cases[i].op);
		assert_int_equal(id, cases[i].id);
		if (cases[i].name != NULL)
			assert_string_equal(name, cases[i].name);
	}
	/* The server closed the connection after the last one. */
	assert_int_equal(shade_transport_recv(a, ctx, &frame, &len, 10000,
					      NULL), SHADE_ERR_CONNECTION_LOST);
	assert_true(tu_thread_join(&th, 10000, NULL));
	assert_false(shade_conn_is_open(server));
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_conn_msg_add_bytes),
		T(test_conn_msg_opts),
		T(test_conn_msg_bad),
		T(test_conn_msg_error_roundtrip),
		T(test_conn_shape_fingerprints),
		T(test_conn_first_contact),
		T(test_conn_add_bytes),
		T(test_conn_errors_and_absent_members),
		T(test_conn_callback),
		T(test_conn_nested_three_levels),
		T(test_conn_error_chain_through_callback),
		T(test_conn_threads_share_connection),
		T(test_conn_futures),
		T(test_conn_process_user_loop),
		T(test_conn_batch_one_write),
		T(test_conn_receiver_deadline_and_cancel),
		T(test_conn_export_ids),
		T(test_conn_export_table_churn),
		T(test_conn_deadline_and_late_reply),
		T(test_conn_loss_fails_pending),
		T(test_conn_bad_version),
		T(test_conn_bad_input),
#undef T
	};

	return SUITE_RUN("conn", tests, argc, argv);
}
