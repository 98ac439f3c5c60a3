/*
 * test_misuse.c - what a caller gets for using the API wrongly: a defined
 * error with a stable code and a message saying what was wrong, never a
 * crash or a silent drop.
 *
 * NULL out-pointers and objects (shade_connect, shade_conn_new,
 * shade_lookup, shade_error_describe); text that is not UTF-8 reported at
 * construction (shade_str_new) and, when shade_str()'s NULL is handed on
 * anyway, a message that names the cause; keyword arguments to a typed
 * method (examples/greeter.idl), over a socketpair and on the local
 * object; the chain of a failed LOOKUP; the default deadline a
 * connection option sets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "greeter.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"
#include "shade/shade.h"

/* How long calc.sleep sleeps, and the deadline that cuts it short. */
static int sleep_ms = 1000;
#define DEADLINE_MS 100

/* greet(name): "hello, NAME" (the example's own behaviour). */
static shade_status greet(void *self, TALLOC_CTX *mem_ctx, const char *name,
			  char **result, shade_error **err)
{
	(void)self;
	*result = talloc_asprintf(mem_ctx, "hello, %s", name);
	return *result ? SHADE_OK
		       : shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
}

static const hello_Greeter_impl greeter_impl = { .greet = greet };

/* "greeter" (typed, hello.Greeter) and "calc" (sleep) on one registry;
 * *greeter (may be NULL) gets a count on the typed object. */
static shade_registry *make_registry(TALLOC_CTX *ctx, shade_ref **greeter)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *g, *calc;

	assert_non_null(reg);
	assert_ok(hello_Greeter_serve(&greeter_impl, NULL, &g, errp_));
	assert_ok(shade_registry_add(reg, "greeter", g, errp_));
	if (greeter != NULL)
		*greeter = g;
	else
		shade_ref_release(g);
	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "sleep", th_sleep, &sleep_ms,
					  false, errp_));
	assert_ok(shade_registry_add(reg, "calc", calc, errp_));
	shade_ref_release(calc);
	return reg;
}

/* A one-element tuple holding the C string s. */
static shade_value *args1(TALLOC_CTX *ctx, const char *s)
{
	shade_value *t = shade_tuple_new(ctx, 1);

	assert_non_null(t);
	assert_ok(shade_seq_append_str(t, s, strlen(s), errp_));
	return t;
}

/* shade_connect and shade_conn_new with out == NULL: InvalidArgument, the
 * transport untouched (connect) or freed (conn_new), no crash. */
static void test_misuse_connect_null_out(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_transport *a, *b;
	shade_error *err = NULL;
	char addr[32];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(addr, sizeof(addr), "fd:%d", sv[0]);
	assert_int_equal(shade_connect(ctx, addr, NULL, NULL, &err),
			 SHADE_ERR_INVALID);
	assert_string_equal(err->message, "shade_connect: out is NULL");
	shade_error_clear(&err);
	assert_int_equal(shade_connect(ctx, NULL, NULL, NULL, &err),
			 SHADE_ERR_INVALID);
	assert_string_equal(err->message, "shade_connect: address is NULL");
	shade_error_clear(&err);
	/* the fd was not taken: it still talks to its peer */
	assert_int_equal(write(sv[0], "x", 1), 1);
	close(sv[0]);
	close(sv[1]);

	assert_ok(shade_transport_pair(ctx, NULL, &a, &b, errp_));
	assert_int_equal(shade_conn_new(ctx, a, false, NULL, NULL, &err),
			 SHADE_ERR_INVALID);
	assert_string_equal(err->message, "shade_conn_new: out is NULL");
	shade_error_clear(&err);
	talloc_free(b);
	talloc_free(ctx);
}

/* shade_lookup with out == NULL: InvalidArgument before anything is sent;
 * the connection carries on. */
static void test_misuse_lookup_null_out(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx, NULL);
	shade_error *err = NULL;
	shade_ref *g;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_int_equal(shade_lookup(pp.client, "greeter", NULL, &err),
			 SHADE_ERR_INVALID);
	assert_string_equal(err->message, "shade_lookup: out is NULL");
	shade_error_clear(&err);
	assert_int_equal(tp_stats(pp.client).requests_sent, 0);
	assert_ok(shade_lookup(pp.client, "greeter", &g, errp_));
	shade_ref_release(g);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* shade_error_describe(ctx, NULL): a text saying so, not a crash. */
static void test_misuse_describe_null(void **state)
{
	char *s = shade_error_describe(*state, NULL);

	assert_string_equal(s, "no error (NULL error object)");
	talloc_free(s);
}

/* Text that is not UTF-8: shade_str_new says so at construction, with the
 * byte offset; shade_str's NULL handed to a _take function names its
 * likely cause. */
static void test_misuse_str_invalid_utf8(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *v = NULL, *t = shade_tuple_new(ctx, 1);
	shade_error *err = NULL;

	assert_int_equal(shade_str_new(ctx, "ab\xff" "c", &v, &err),
			 SHADE_ERR_UTF8);
	assert_null(v);
	assert_string_equal(err->name, "BadUtf8");
	assert_string_equal(err->message, "invalid UTF-8 at byte offset 2");
	shade_error_clear(&err);
	assert_int_equal(shade_str_new(ctx, NULL, &v, &err),
			 SHADE_ERR_INVALID);
	shade_error_clear(&err);
	assert_ok(shade_str_new(ctx, "caf\xc3\xa9", &v, errp_));
	assert_string_equal(shade_value_cstr(v), "caf\xc3\xa9");

	assert_null(shade_str(ctx, "\xc0\x80"));
	assert_int_equal(shade_seq_append_take(t, shade_str(ctx, "\xc0\x80"),
					       &err),
			 SHADE_ERR_INVALID);
	assert_non_null(strstr(err->message, "shade_str_new() says why"));
	shade_error_clear(&err);
	talloc_free(ctx);
}

/* Keyword arguments to a typed method are refused with a TypeError that
 * names the method, over the wire and on the local object; the same call
 * by position works and the connection carries on. */
static void test_misuse_typed_kwargs(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_ref *local, *g;
	shade_registry *reg = make_registry(ctx, &local);
	shade_value *kw = shade_dict_new(ctx, 1), *r = NULL;
	shade_value yes = shade_value_bool(true);
	shade_error *err = NULL;
	const char *want = "hello.Greeter.greet() takes no keyword arguments "
			   "(a typed method: pass them by position)";
	tp_peer pp;

	assert_ok(shade_dict_set_str(kw, "loud", &yes, errp_));
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_ok(shade_lookup(pp.client, "greeter", &g, errp_));
	assert_int_equal(shade_invoke(ctx, g, "greet", args1(ctx, "ada"), kw,
				      &r, &err),
			 SHADE_ERR_TYPE);
	assert_null(r);
	assert_string_equal(err->name, "TypeError");
	assert_string_equal(err->message, want);
	shade_error_clear(&err);
	assert_ok(shade_invoke(ctx, g, "greet", args1(ctx, "ada"), NULL, &r,
			       errp_));
	assert_string_equal(shade_value_cstr(r), "hello, ada");

	assert_int_equal(shade_invoke(ctx, local, "greet", args1(ctx, "bob"),
				      kw, &r, &err),
			 SHADE_ERR_TYPE);
	assert_string_equal(err->message, want);
	shade_error_clear(&err);
	shade_ref_release(g);
	shade_ref_release(local);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* A LOOKUP of a name nobody exported: NotFound, and the chain names the
 * request instead of "in ?". */
static void test_misuse_missing_export_chain(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx, NULL);
	shade_error *err = NULL;
	shade_ref *r = NULL;
	tp_peer pp;

	assert_int_equal(tp_start(&pp, ctx, reg, NULL, NULL), 0);
	assert_int_equal(shade_lookup(pp.client, "greter", &r, &err),
			 SHADE_ERR_NOT_FOUND);
	assert_null(r);
	assert_int_equal(err->chain_len, 1);
	assert_string_equal(err->chain[0].member, "LOOKUP");
	assert_string_equal(shade_error_describe(ctx, err),
			    "NotFound: no object exported as 'greter' [failed]\n"
			    "  raised at server in LOOKUP");
	shade_error_clear(&err);
	tp_stop(&pp);
	talloc_free(ctx);
}

/* shade_conn_opts.timeout_ms is the deadline of every call that sets
 * none: a call the server takes 1 s to answer fails with Timeout; the
 * connection carries on, and with the default lifted the call answers. */
static void test_misuse_default_deadline(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_registry *reg = make_registry(ctx, NULL);
	shade_conn_opts co = { .timeout_ms = DEADLINE_MS };
	shade_error *err = NULL;
	shade_value *r = NULL;
	shade_ref *calc;
	tp_peer pp;

	__atomic_store_n(&sleep_ms, 1000, __ATOMIC_RELAXED);
	assert_int_equal(tp_start(&pp, ctx, reg, NULL, &co), 0);
	assert_ok(shade_lookup(pp.client, "calc", &calc, errp_));
	assert_int_equal(shade_invoke(ctx, calc, "sleep", NULL, NULL, &r,
				      &err),
			 SHADE_ERR_TIMEOUT);
	assert_null(r);
	assert_non_null(strstr(err->message, "100 ms"));
	shade_error_clear(&err);
	/* no default deadline: the same call waits for its answer */
	__atomic_store_n(&sleep_ms, 10, __ATOMIC_RELAXED);
	shade_conn_set_timeout(pp.client, 0);
	assert_ok(shade_invoke(ctx, calc, "sleep", NULL, NULL, &r, errp_));
	assert_int_equal(shade_value_kind(r), SHADE_NONE);
	shade_ref_release(calc);
	tp_stop(&pp);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_misuse_connect_null_out),
		SUITE_CASE(test_misuse_lookup_null_out),
		SUITE_CASE(test_misuse_describe_null),
		SUITE_CASE(test_misuse_str_invalid_utf8),
		SUITE_CASE(test_misuse_typed_kwargs),
		SUITE_CASE(test_misuse_missing_export_chain),
		SUITE_CASE(test_misuse_default_deadline),
	};

	return SUITE_RUN("misuse", tests, argc, argv);
}
