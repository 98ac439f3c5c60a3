/*
 * test_wire.c - the rules of doc/protocol.md that a second implementation
 * needs and that no other suite pins, checked with hand-built frames on a
 * real Unix socket against the server loop: how nesting depth is counted,
 * what a framing error and a HELLO of another version get, the error
 * names of requests on the wrong target, dict CONTAINS and FORCE, which
 * values may be dict keys, the side name in chains, the category of a
 * user error.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "conn/msg_int.h"
#include "helpers/peer.h"
#include "helpers/raw.h"
#include "helpers/testutil.h"
#include "helpers/suite.h"

/* sink(...): none, whatever it is given. */
static shade_status sink_fn(shade_call_ctx *call)
{
	(void)call;
	return SHADE_OK;
}

/* fail(): a user exception "InsufficientFunds". */
static shade_status fail_fn(shade_call_ctx *call)
{
	(void)call;
	return shade_error_set_named(call->err, SHADE_ERR_USER,
				     "InsufficientFunds", "balance is 0");
}

/* A server on ctx with "obj" (attribute x = 3, methods sink and fail)
 * and "d" (a shared dict {"a": 1, "b": 2, "c": 3}) on a Unix socket, its
 * loop run by a thread; `side` names it in chains (NULL: the
 * default). */
static tp_server *srv_start(TALLOC_CTX *ctx, const char *side)
{
	shade_server_opts so = { .side = side };
	tp_server *v;
	shade_ref *obj, *d;
	shade_value *dict, three = shade_value_int(3);

	v = tp_server_new(ctx, &so);
	assert_ok(shade_object_new("demo.Obj", NULL, &obj, errp_));
	assert_ok(shade_object_add_attr(obj, "x", &three, false, errp_));
	assert_ok(shade_object_add_method(obj, "sink", sink_fn, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(obj, "fail", fail_fn, NULL, false,
					  errp_));
	assert_ok(shade_server_export(v->s, "obj", obj, errp_));
	shade_ref_release(obj);
	dict = shade_dict_new(NULL, 3);
	for (int i = 0; i < 3; i++) {
		shade_value n = shade_value_int(i + 1);
		char key[2] = { (char)('a' + i), 0 };

		assert_ok(shade_dict_set_str(dict, key, &n, errp_));
	}
	assert_ok(shade_container_new(dict, &d, errp_));
	assert_ok(shade_server_export(v->s, "d", d, errp_));
	shade_ref_release(d);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* The error answering request id (the case fails on RETURN). */
static shade_error *error_of(struct raw *r, uint64_t id)
{
	shade_error *e = NULL;

	raw_reply(r, id, &e);
	if (e == NULL)
		fail_msg("request %llu answered RETURN",
			 (unsigned long long)id);
	return e;
}

/* Expect request id to fail with the error name and category. */
static void expect_named(struct raw *r, uint64_t id, const char *name,
			 shade_category cat)
{
	shade_error *e = error_of(r, id);

	assert_string_equal(e->name, name);
	assert_int_equal(e->category, cat);
	shade_error_free(e);
}

/* The value of the RETURN answering request id, onto mem_ctx. */
static shade_value *return_of(struct raw *r, TALLOC_CTX *mem_ctx,
			      uint64_t id)
{
	struct msg m;
	shade_value *v = NULL;

	for (;;) {
		assert_true(raw_next(r, mem_ctx, &m, 5000));
		if (m.id != id || (m.op != OP_RETURN && m.op != OP_ERROR))
			continue;
		assert_int_equal(m.op, OP_RETURN);
		if (m.nfields == 0)
			return shade_none(mem_ctx);
		assert_ok(shade_cbor_decode_value(mem_ctx, &m.d, NULL, &v,
						  errp_));
		return v;
	}
}

/* The frames the server sends before it closes: their opcodes and ids
 * into ops/ids (at most n), the count; fails if it does not close. */
static size_t frames_until_close(struct raw *r, unsigned *ops, uint64_t *ids,
				 size_t n, shade_error **e0)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct msg m;
	size_t k = 0;

	*e0 = NULL;
	while (raw_next(r, tmp, &m, 5000)) {
		if (k < n) {
			ops[k] = m.op;
			ids[k] = m.id;
		}
		if (m.op == OP_ERROR && m.id == 0 && *e0 == NULL)
			assert_ok(msg_read_error(&m, NULL, e0, errp_));
		k++;
	}
	assert_true(r->eof);
	talloc_free(tmp);
	return k;
}

/* INVOKE obj.sink(arg) as request id, arg being `levels` nested arrays
 * (tuples) or tag-203 arrays (lists) around 0. */
static void send_nested(struct raw *r, uint64_t id, int levels, bool list)
{
	char *hex = talloc_asprintf(NULL, "8503%02x010181", (unsigned)id);
	int i;

	for (i = 0; i < levels; i++)
		hex = talloc_asprintf_append(hex, list ? "d8cb81" : "81");
	hex = talloc_asprintf_append(hex, "00");
	raw_send_hex(r, hex);
	talloc_free(hex);
}

/* Depth: the message array is not counted, the argument tuple is level
 * 1, every array, map and tag below it one more; past 64 is TooDeep for
 * that request.  So an argument of 63 nested tuples passes and 64 fail;
 * a list snapshot (tag 203 + array) is two levels: 31 pass, 32 fail. */
static void test_wire_depth(void **state)
{
	tp_server *v;
	struct raw r;
	shade_error *e;

	v = srv_start(*state, NULL);
	raw_open(&r, *state, v->path, NULL, NULL);
	raw_hello_lookup(&r, "obj");
	send_nested(&r, 2, 63, false);
	raw_expect_return(&r, 2);
	send_nested(&r, 3, 64, false);
	e = error_of(&r, 3);
	assert_string_equal(e->name, "TooDeep");
	assert_string_equal(e->message,
			    "item at offset 69 nests deeper than 64 levels");
	shade_error_free(e);
	send_nested(&r, 4, 31, true);
	raw_expect_return(&r, 4);
	send_nested(&r, 5, 32, true);
	expect_named(&r, 5, "TooDeep", SHADE_CAT_FAILED);
	raw_close(&r);
	tp_server_stop(v);
}

/* A framing error (a zero length, a non-shortest head, a head that is
 * not an unsigned integer) closes the connection without any ERROR. */
static void test_wire_framing_error(void **state)
{
	static const char *const bad[] = { "\x00", "\x18\x05", "\x45" };
	static const size_t len[] = { 1, 2, 1 };
	tp_server *v;
	size_t i;

	v = srv_start(*state, NULL);
	for (i = 0; i < 3; i++) {
		struct raw r;
		unsigned ops[4];
		uint64_t ids[4];
		shade_error *e0;
		size_t k;

		raw_open(&r, *state, v->path, NULL, NULL);
		raw_hello_lookup(&r, "obj");
		raw_write(&r, bad[i], len[i]);
		raw_write(&r, "\x84\x04\x02\x01\x00", 5);
		k = frames_until_close(&r, ops, ids, 4, &e0);
		assert_int_equal(k, 0);
		assert_null(e0);
		raw_close(&r);
	}
	tp_server_stop(v);
}

/* A HELLO of version 2: ERROR 0 ProtocolError "unsupported protocol
 * version 2" and the close; the LOOKUP sent behind it is not answered. */
static void test_wire_hello_version(void **state)
{
	tp_server *v;
	struct raw r;
	unsigned ops[4];
	uint64_t ids[4];
	shade_error *e0;

	v = srv_start(*state, NULL);
	raw_open(&r, *state, v->path, NULL, NULL);
	raw_send_hex(&r, "8400000200");
	raw_send_lookup(&r, 1, "obj");
	assert_int_equal(frames_until_close(&r, ops, ids, 4, &e0), 1);
	assert_int_equal(ops[0], OP_ERROR);
	assert_non_null(e0);
	assert_string_equal(e0->name, "ProtocolError");
	assert_string_equal(e0->message, "unsupported protocol version 2");
	assert_int_equal(e0->chain_len, 0);
	shade_error_free(e0);
	raw_close(&r);
	tp_server_stop(v);
}

/* Requests on the wrong target: an unknown export id is NotFound, INVOKE
 * of an attribute TypeError, container operations on an object that is
 * no container TypeError, APPEND on a dict TypeError, an unknown member
 * AttributeError; each names the side in its chain. */
static void test_wire_error_names(void **state)
{
	tp_server *v;
	struct raw r;
	shade_error *e;

	v = srv_start(*state, "vault");
	raw_open(&r, *state, v->path, NULL, NULL);
	raw_hello_lookup(&r, "obj");
	raw_send_hex(&r, "8503021818" "0080");      /* INVOKE eid 24 */
	expect_named(&r, 2, "NotFound", SHADE_CAT_FAILED);
	raw_send_hex(&r, "8404030100");              /* GETATTR x */
	raw_reply(&r, 3, &e);
	if (e != NULL)
		fail_msg("%s: %s", e->name, e->message);
	raw_send_hex(&r, "850304010080");            /* INVOKE x() */
	e = error_of(&r, 4);
	assert_string_equal(e->name, "TypeError");
	assert_string_equal(e->message, "'demo.Obj.x' is not a method");
	assert_int_equal(e->chain_len, 1);
	assert_string_equal(e->chain[0].side, "vault");
	assert_string_equal(e->chain[0].type, "demo.Obj");
	assert_string_equal(e->chain[0].member, "x");
	shade_error_free(e);
	raw_send_hex(&r, "830d0501");                /* LEN obj */
	e = error_of(&r, 5);
	assert_string_equal(e->name, "TypeError");
	assert_string_equal(e->message, "'demo.Obj' object is not a container");
	shade_error_free(e);
	raw_send_hex(&r, "85030601" "63666f6f" "80"); /* INVOKE "foo" */
	expect_named(&r, 6, "AttributeError", SHADE_CAT_FAILED);
	raw_send_lookup(&r, 7, "d");                 /* d: export 2 */
	raw_reply(&r, 7, &e);
	if (e != NULL)
		fail_msg("%s: %s", e->name, e->message);
	raw_send_hex(&r, "8412080201");              /* APPEND d 1 */
	expect_named(&r, 8, "TypeError", SHADE_CAT_FAILED);
	raw_close(&r);
	tp_server_stop(v);
}

/* A user exception keeps its name, and the category the handler's code
 * has (UserError: 0, failed); the default side name is "server". */
static void test_wire_user_error(void **state)
{
	tp_server *v;
	struct raw r;
	shade_error *e;

	v = srv_start(*state, NULL);
	raw_open(&r, *state, v->path, NULL, NULL);
	raw_hello_lookup(&r, "obj");
	raw_send_hex(&r, "850302010280");            /* INVOKE fail() */
	e = error_of(&r, 2);
	assert_string_equal(e->name, "InsufficientFunds");
	assert_int_equal(e->code, SHADE_ERR_REMOTE);
	assert_int_equal(e->category, SHADE_CAT_FAILED);
	assert_string_equal(e->message, "balance is 0");
	assert_int_equal(e->chain_len, 1);
	assert_string_equal(e->chain[0].side, "server");
	assert_string_equal(e->chain[0].member, "fail");
	shade_error_free(e);
	raw_close(&r);
	tp_server_stop(v);
}

/* Dict CONTAINS asks about keys (values are not looked at); a value that
 * cannot be a key is not in it.  Keys are equal only with the same kind:
 * 1, 1.0 and true are three keys.  FORCE returns entries start .. in
 * insertion order as a map, count clipped; GETITEM with an unhashable
 * key is TypeError, a missing one KeyError. */
static void test_wire_dict(void **state)
{
	TALLOC_CTX *tmp = talloc_new(*state);
	tp_server *v;
	struct raw r;
	shade_value *got;
	const shade_value *k, *val;
	size_t pos = 0;
	shade_error *e;

	v = srv_start(*state, NULL);
	raw_open(&r, *state, v->path, NULL, NULL);
	raw_hello_lookup(&r, "d");
	raw_send_hex(&r, "84110201" "6161");         /* "a" in d */
	assert_true(shade_value_as_bool(return_of(&r, tmp, 2)));
	raw_send_hex(&r, "84110301" "01");           /* 1 in d (a value) */
	assert_false(shade_value_as_bool(return_of(&r, tmp, 3)));
	raw_send_hex(&r, "84110401" "d8cb80");       /* [] in d */
	assert_false(shade_value_as_bool(return_of(&r, tmp, 4)));
	raw_send_hex(&r, "840e0501" "d8cb80");       /* d[[]] */
	expect_named(&r, 5, "TypeError", SHADE_CAT_FAILED);
	raw_send_hex(&r, "840e0601" "617a");         /* d["z"] */
	expect_named(&r, 6, "KeyError", SHADE_CAT_FAILED);
	raw_send_hex(&r, "850f070101" "6161");         /* d[1] = "a" */
	raw_reply(&r, 7, &e);
	if (e != NULL)
		fail_msg("%s: %s", e->name, e->message);
	raw_send_hex(&r, "84110801" "f93c00");       /* 1.0 in d */
	assert_false(shade_value_as_bool(return_of(&r, tmp, 8)));
	raw_send_hex(&r, "84110901" "f5");           /* true in d */
	assert_false(shade_value_as_bool(return_of(&r, tmp, 9)));
	raw_send_hex(&r, "84110a01" "01");           /* 1 in d */
	assert_true(shade_value_as_bool(return_of(&r, tmp, 10)));
	raw_send_hex(&r, "85130b010102");            /* FORCE d 1, 2 */
	got = return_of(&r, tmp, 11);
	assert_int_equal(shade_value_kind(got), SHADE_DICT);
	assert_int_equal(shade_value_len(got), 2);
	assert_true(shade_dict_next(got, &pos, &k, &val));
	assert_string_equal(shade_value_cstr(k), "b");
	assert_true(shade_dict_next(got, &pos, &k, &val));
	assert_string_equal(shade_value_cstr(k), "c");
	raw_send_hex(&r, "85130c0103f6");            /* FORCE d 3, null */
	got = return_of(&r, tmp, 12);
	assert_int_equal(shade_value_len(got), 1);
	raw_send_hex(&r, "85130d010909");            /* FORCE d 9, 9 */
	got = return_of(&r, tmp, 13);
	assert_int_equal(shade_value_kind(got), SHADE_DICT);
	assert_int_equal(shade_value_len(got), 0);
	raw_close(&r);
	tp_server_stop(v);
	talloc_free(tmp);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_wire_depth),
		SUITE_CASE(test_wire_framing_error),
		SUITE_CASE(test_wire_hello_version),
		SUITE_CASE(test_wire_error_names),
		SUITE_CASE(test_wire_user_error),
		SUITE_CASE(test_wire_dict),
	};

	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("wire", tests, argc, argv);
}
