/*
 * test_typed_e2e.c - typed and dynamic peers end to end over real
 * sockets, with examples/bank.idl (stubs generated at build time, see
 * examples/rules.mk).
 *
 * The server is a shade_server in a child process (forked per test, so
 * every test starts from a fresh bank), listening on a Unix socket in a
 * fresh directory and on tcp:127.0.0.1:0.  It serves the example's own
 * typed objects (examples/bank_impl.c: "account" held by ada, "auditor")
 * and "dynacct", an account held by bob built with the dynamic object
 * API, exposing the same members without any IDL.  The child tells the
 * parent its TCP address through a pipe once it listens (no start-up
 * race) and is stopped with SIGTERM, reaped by pid within a bound, and
 * must exit 0.
 *
 * Covered: typed client against the typed and the dynamic server, over
 * both transports; dynamic client against the typed server; `any` and
 * `Object` in both directions (an undeclared client object used by the
 * server during a typed call, handed back as itself; a server object
 * returned as Object and narrowed); exceptions with fields; round trips
 * counted with shade_conn_stats_get.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "bank.h"
#include "bank_impl.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"
#include "shade/shade.h"

/* Bound on every wait for the child. */
#define E2E_WAIT_MS 20000

/* ============================================================ the child */

/* What stands behind "dynacct", the dynamic account (child side). */
typedef struct dyn_acct {
	int64_t balance;        /* in cents */
	int64_t limit;          /* overdraft allowed */
	shade_value *history;   /* list of (memo, amount) tuples */
} dyn_acct;

/* args[i] as an int, or TypeError. */
static shade_status int_arg(const shade_value *args, size_t i, int64_t *out,
			    shade_error **err)
{
	const shade_value *v = shade_seq_len(args) > i ? shade_seq_at(args, i)
						       : NULL;

	if (v == NULL || shade_value_kind(v) != SHADE_INT)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "argument %zu must be an int", i);
	*out = shade_value_as_int(v);
	return SHADE_OK;
}

/* args[i] as a string, or TypeError. */
static shade_status str_arg(const shade_value *args, size_t i,
			    const char **out, shade_error **err)
{
	const shade_value *v = shade_seq_len(args) > i ? shade_seq_at(args, i)
						       : NULL;

	if (v == NULL || shade_value_kind(v) != SHADE_STR)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "argument %zu must be a string", i);
	*out = shade_value_cstr(v);
	return SHADE_OK;
}

/* The (amount, memo) arguments of deposit and withdraw. */
static shade_status amount_memo(const shade_value *args, int64_t *amount,
				const char **memo, shade_error **err)
{
	SHADE_CHECK(int_arg(args, 0, amount, err));
	return str_arg(args, 1, memo, err);
}

/* Append (memo, amount) to the dynamic account's history. */
static shade_status dyn_record(dyn_acct *d, const char *memo, int64_t amount,
			       shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 2);
	shade_status st = SHADE_ERR_NOMEM;

	if (t != NULL &&
	    shade_seq_append_take(t, shade_str(tmp, memo), err) == SHADE_OK &&
	    shade_seq_append_take(t, shade_int(tmp, amount), err) == SHADE_OK)
		st = shade_seq_append(d->history, t, err);
	talloc_free(tmp);
	return st == SHADE_ERR_NOMEM && (err == NULL || *err == NULL) ?
		       shade_error_set(err, st, "out of memory") : st;
}

/* Setter of limit (udata is the field): an int, not negative. */
static shade_status dyn_set_limit(shade_call_ctx *call)
{
	if (shade_value_kind(call->value) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "limit must be an int");
	if (shade_value_as_int(call->value) < 0)
		return shade_error_set(
			call->err, SHADE_ERR_VALUE, "limit %lld is negative",
			(long long)shade_value_as_int(call->value));
	*(int64_t *)call->udata = shade_value_as_int(call->value);
	return SHADE_OK;
}

/* deposit(amount, memo) */
static shade_status dyn_deposit(shade_call_ctx *call)
{
	dyn_acct *d = call->udata;
	const char *memo;
	int64_t amount;

	SHADE_CHECK(amount_memo(call->args, &amount, &memo, call->err));
	if (amount <= 0)
		return shade_error_set(call->err, SHADE_ERR_VALUE,
				       "deposit of %lld is not positive",
				       (long long)amount);
	SHADE_CHECK(dyn_record(d, memo, amount, call->err));
	d->balance += amount;
	call->result = NULL;
	return SHADE_OK;
}

/* withdraw(amount, memo) -> (taken, left), or bank.Overdrawn raised by
 * hand: the name and the fields (missing, owner) as the arguments. */
static shade_status dyn_withdraw(shade_call_ctx *call)
{
	dyn_acct *d = call->udata;
	const char *memo;
	int64_t amount;
	shade_value *fields, *r;

	SHADE_CHECK(amount_memo(call->args, &amount, &memo, call->err));
	if (amount > d->balance + d->limit) {
		shade_error_set_named(
			call->err, SHADE_ERR_USER, "bank.Overdrawn",
			"%lld missing",
			(long long)(amount - (d->balance + d->limit)));
		fields = shade_tuple_new(*call->err, 2);
		if (fields != NULL &&
		    shade_seq_append_take(
			    fields,
			    shade_int(fields, amount - (d->balance + d->limit)),
			    NULL) == SHADE_OK &&
		    shade_seq_append_take(
			    fields,
			    shade_value_copy(
				    fields,
				    shade_object_attr(call->self, "owner")),
			    NULL) == SHADE_OK)
			(*call->err)->args = fields;
		return SHADE_ERR_USER;
	}
	SHADE_CHECK(dyn_record(d, memo, -amount, call->err));
	d->balance -= amount;
	r = shade_tuple_new(call->mem, 2);
	if (r == NULL ||
	    shade_seq_append_take(r, shade_int(call->mem, amount), call->err) !=
		    SHADE_OK ||
	    shade_seq_append_take(r, shade_int(call->mem, d->balance),
				  call->err) != SHADE_OK)
		return shade_error_set(call->err, SHADE_ERR_NOMEM,
				       "out of memory");
	call->result = r;
	return SHADE_OK;
}

/* history(max) -> the last max (memo, amount) tuples, oldest first */
static shade_status dyn_history(shade_call_ctx *call)
{
	dyn_acct *d = call->udata;
	size_t n = shade_seq_len(d->history), first, i;
	int64_t max;
	shade_value *r;

	SHADE_CHECK(int_arg(call->args, 0, &max, call->err));
	first = max >= 0 && (size_t)max < n ? n - (size_t)max : 0;
	r = shade_list_new(call->mem, n - first);
	for (i = first; r != NULL && i < n; i++)
		SHADE_CHECK(shade_seq_append(r, shade_seq_at(d->history, i),
					     call->err));
	call->result = r;
	return r ? SHADE_OK
		 : shade_error_set(call->err, SHADE_ERR_NOMEM, "out of memory");
}

/* Build "dynacct" (owner bob, 100.00) with the dynamic object API: the
 * members of bank.Account by name and kind, no signatures. */
static shade_status dyn_account(TALLOC_CTX *ctx, dyn_acct *d, shade_ref **out,
				shade_error **err)
{
	shade_value none = shade_value_none();
	shade_ref *o;
	shade_status st;

	d->balance = 10000;
	d->history = shade_list_new(ctx, 4);
	SHADE_CHECK(shade_object_new("bank.Account", NULL, &o, err));
	st = shade_object_add_attr(o, "owner", shade_str(ctx, "bob"), true,
				   err);
	if (st == SHADE_OK)
		st = shade_object_add_property(o, "balance", th_get_int,
					       NULL, &d->balance, err);
	if (st == SHADE_OK)
		st = shade_object_add_property(o, "limit", th_get_int,
					       dyn_set_limit, &d->limit, err);
	if (st == SHADE_OK)
		st = shade_object_add_attr(o, "note", &none, false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "deposit", dyn_deposit, d,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "withdraw", dyn_withdraw, d,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "history", dyn_history, d,
					     false, err);
	if (st != SHADE_OK) {
		shade_ref_release(o);
		return st;
	}
	*out = o;
	return SHADE_OK;
}

/* What the child gets from the parent. */
typedef struct child_args {
	tu_ready ready;         /* the pipe: the TCP address, one line */
	const char *unix_addr;  /* where to listen besides tcp:127.0.0.1:0 */
} child_args;

/* The child: serve until SIGTERM; 0 on a clean stop. */
static int child_main(void *arg)
{
	child_args *a = arg;
	TALLOC_CTX *ctx = talloc_new(NULL), *state = talloc_new(NULL);
	shade_error *err = NULL;
	shade_ref *dyn = NULL;
	dyn_acct d = { 0 };
	shade_server *child_server = NULL;
	const char *tcp;
	int rc = 1;

	/* die with the parent, whatever happens to it */
	if (!tu_ready_child(&a->ready))
		return 1;
	if (shade_server_new(ctx, NULL, &child_server, &err) == SHADE_OK &&
	    bank_impl_export(state, child_server, "ada", 10000, &err) ==
		    SHADE_OK &&
	    dyn_account(state, &d, &dyn, &err) == SHADE_OK &&
	    shade_server_export(child_server, "dynacct", dyn, &err) ==
		    SHADE_OK &&
	    shade_server_listen(child_server, a->unix_addr, &err) == SHADE_OK &&
	    shade_server_listen(child_server, "tcp:127.0.0.1:0", &err) ==
		    SHADE_OK &&
	    (tcp = shade_server_address(child_server, 1)) != NULL) {
		rc = tp_serve_child(child_server, &a->ready, tcp,
				    "e2e server");
	} else {
		fprintf(stderr, "e2e server: %s\n",
			err ? err->message : "failed");
		tu_ready_say(&a->ready, "failed");
	}
	shade_error_free(err);
	shade_ref_release(dyn);
	talloc_free(ctx);
	talloc_free(state);
	return rc;
}

/* ============================================================ the parent */

/* A running child server. */
typedef struct e2e_server {
	pid_t pid;          /* the child */
	char *dir;          /* its directory (removes itself when freed) */
	char *unix_addr;    /* "unix:<dir>/bank.sock" */
	char *tcp_addr;     /* "tcp:127.0.0.1:<port>", as it bound it */
} e2e_server;

/* Start the child server; everything on ctx. */
static void srv_start(TALLOC_CTX *ctx, e2e_server *s)
{
	char buf[128];
	child_args a;

	s->dir = tu_mkdtemp(ctx);
	assert_non_null(s->dir);
	s->unix_addr = talloc_asprintf(ctx, "unix:%s/bank.sock", s->dir);
	assert_non_null(s->unix_addr);
	a.unix_addr = s->unix_addr;
	/* the TCP address, one line, once the child listens on both */
	s->pid = tu_fork_ready(child_main, &a.ready, buf, sizeof(buf),
			       E2E_WAIT_MS);
	tu_live_child = s->pid;
	if (s->pid <= 0)
		fail_msg("the server did not report its address");
	s->tcp_addr = talloc_strdup(ctx, buf);
	assert_non_null(s->tcp_addr);
	assert_non_null(strstr(s->tcp_addr, "tcp:127.0.0.1:"));
}

/* Stop the child with SIGTERM; it must exit 0 within the bound. */
static void srv_stop(e2e_server *s)
{
	if (!tu_stop_child(s->pid, E2E_WAIT_MS))
		fail_msg("the server did not stop cleanly");
}

/*
 * The typed client's whole session against an account exported as
 * `name` held by `owner` with 100.00: every typed call is exactly one
 * round trip, narrowing none; values, out parameters, the sequence of
 * structs, `any`, and the declared exception with its fields.
 */
static void exercise_account(TALLOC_CTX *ctx, const char *address,
			     const char *name, const char *owner)
{
	shade_conn *c = NULL;
	shade_ref *ref = NULL;
	shade_error *err = NULL;
	bank_Account *acct = NULL;
	bank_Overdrawn ov;
	bank_History h;
	shade_value *note = NULL, *inner, *got = NULL;
	int64_t v = 0, left = 0, took = 0;
	uint64_t rt0, calls = 0;
	char *s = NULL;

	assert_int_equal(shade_connect(ctx, address, NULL, &c, &err),
			 SHADE_OK);
	rt0 = tp_stats(c).round_trips;
	assert_int_equal(shade_lookup(c, name, &ref, &err), SHADE_OK);
	assert_int_equal(tp_stats(c).round_trips - rt0, 1);
	assert_int_equal(bank_Account_narrow(ctx, ref, &acct, &err), SHADE_OK);
	shade_ref_release(ref);
	/* the shape came with the lookup: narrowing sends nothing */
	assert_int_equal(tp_stats(c).round_trips - rt0, 1);
	rt0 = tp_stats(c).round_trips;

	assert_int_equal(bank_Account_get_owner(acct, ctx, &s, &err), SHADE_OK);
	calls++;
	assert_string_equal(s, owner);
	assert_int_equal(bank_Account_get_balance(acct, &v, &err), SHADE_OK);
	calls++;
	assert_int_equal(v, 10000);

	assert_int_equal(bank_Account_deposit(acct, 2500, "salary", &err),
			 SHADE_OK);
	calls++;
	assert_int_equal(bank_Account_withdraw(acct, 4000, "rent", &left,
					       &took, &err), SHADE_OK);
	calls++;
	assert_int_equal(took, 4000);
	assert_int_equal(left, 8500);

	/* the declared exception, its fields intact */
	assert_int_equal(bank_Account_withdraw(acct, 20000, "car", &left,
					       &took, &err), SHADE_ERR_USER);
	calls++;
	assert_non_null(err);
	assert_string_equal(err->name, bank_Overdrawn_NAME);
	assert_true(bank_Overdrawn_catch(ctx, err, &ov));
	assert_int_equal(ov.missing, 11500);
	assert_string_equal(ov.owner, owner);
	shade_error_clear(&err);
	assert_int_equal(bank_Account_get_balance(acct, &v, &err), SHADE_OK);
	calls++;
	assert_int_equal(v, 8500);

	/* standard errors keep their codes through typed calls */
	assert_int_equal(bank_Account_deposit(acct, -5, "oops", &err),
			 SHADE_ERR_VALUE);
	calls++;
	assert_string_equal(err->name, "ValueError");
	assert_false(bank_Overdrawn_catch(ctx, err, &ov));
	shade_error_clear(&err);
	assert_int_equal(bank_Account_set_limit(acct, -1, &err),
			 SHADE_ERR_VALUE);
	calls++;
	shade_error_clear(&err);

	/* a writable attribute, then a withdrawal into the overdraft */
	assert_int_equal(bank_Account_set_limit(acct, 20000, &err), SHADE_OK);
	calls++;
	assert_int_equal(bank_Account_get_limit(acct, &v, &err), SHADE_OK);
	calls++;
	assert_int_equal(v, 20000);
	assert_int_equal(bank_Account_withdraw(acct, 20000, "car", &left,
					       &took, &err), SHADE_OK);
	calls++;
	assert_int_equal(left, -11500);

	/* a sequence of structs */
	assert_int_equal(bank_Account_history(acct, ctx, 2, &h, &err),
			 SHADE_OK);
	calls++;
	assert_int_equal(h.len, 2);
	assert_string_equal(h.items[0].memo, "rent");
	assert_int_equal(h.items[0].amount, -4000);
	assert_string_equal(h.items[1].memo, "car");
	assert_int_equal(h.items[1].amount, -20000);
	assert_int_equal(bank_Account_history(acct, ctx, 100, &h, &err),
			 SHADE_OK);
	calls++;
	assert_int_equal(h.len, 3);
	assert_string_equal(h.items[0].memo, "salary");
	assert_int_equal(h.items[0].amount, 2500);
	assert_int_equal(bank_Account_history(acct, ctx, 0, &h, &err),
			 SHADE_OK);
	calls++;
	assert_int_equal(h.len, 0);

	/* any: none first, then a nested value, back equal */
	assert_int_equal(bank_Account_get_note(acct, ctx, &got, &err),
			 SHADE_OK);
	calls++;
	assert_int_equal(shade_value_kind(got), SHADE_NONE);
	note = shade_dict_new(ctx, 2);
	inner = shade_list_new(ctx, 3);
	assert_int_equal(shade_seq_append_take(inner, shade_int(ctx, -7), &err),
			 SHADE_OK);
	assert_int_equal(shade_seq_append_take(inner, shade_float(ctx, 2.5),
					       &err), SHADE_OK);
	assert_int_equal(shade_seq_append_take(inner, shade_bytes(ctx, "\0\1",
								   2), &err),
			 SHADE_OK);
	assert_int_equal(shade_dict_set_str(note, "items", inner, &err),
			 SHADE_OK);
	assert_int_equal(shade_dict_set_str(note, "by", shade_str(ctx, "é"),
					    &err), SHADE_OK);
	assert_int_equal(bank_Account_set_note(acct, note, &err), SHADE_OK);
	calls++;
	assert_int_equal(bank_Account_get_note(acct, ctx, &got, &err),
			 SHADE_OK);
	calls++;
	assert_int_equal(shade_value_kind(got), SHADE_DICT);
	assert_true(shade_value_equal(got, note));

	/* exactly one round trip per typed call, errors included */
	assert_int_equal(tp_stats(c).round_trips - rt0, calls);
	talloc_free(acct);
	talloc_free(c);
}

/* One typed session with a fresh server, over TCP or the Unix socket,
 * against the account exported as name. */
static void session(void **state, bool tcp, const char *name,
		    const char *owner)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	e2e_server s;

	srv_start(ctx, &s);
	exercise_account(ctx, tcp ? s.tcp_addr : s.unix_addr, name, owner);
	srv_stop(&s);
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* Typed client and typed server over a Unix socket. */
static void test_typed_e2e_typed_unix(void **state)
{
	session(state, false, "account", "ada");
}

/* Typed client and typed server over TCP on 127.0.0.1. */
static void test_typed_e2e_typed_tcp(void **state)
{
	session(state, true, "account", "ada");
}

/* The same typed session against the dynamic server (no IDL there: the
 * narrowing is structural, by names and kinds), over a Unix socket. */
static void test_typed_e2e_dynamic_server_unix(void **state)
{
	session(state, false, "dynacct", "bob");
}

/* The same over TCP. */
static void test_typed_e2e_dynamic_server_tcp(void **state)
{
	session(state, true, "dynacct", "bob");
}

/* The dynamic server's shape has no signatures, so its fingerprint is
 * not the declared one: narrowing is then a structural check, still
 * local. */
static void test_typed_e2e_dynamic_shape(void **state)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_conn *c = NULL;
	shade_ref *ref = NULL;
	shade_error *err = NULL;
	bank_Account *acct = NULL;
	const shade_shape_desc *shape;
	e2e_server s;

	srv_start(ctx, &s);
	assert_int_equal(shade_connect(ctx, s.unix_addr, NULL, &c, &err),
			 SHADE_OK);
	assert_int_equal(shade_lookup(c, "dynacct", &ref, &err), SHADE_OK);
	shape = shade_ref_shape(ref);
	assert_non_null(shape);
	assert_int_equal(shape->n_members, 7);
	assert_null(shape->members[shade_shape_find(shape, "withdraw")]
			    .signature);
	assert_true(shade_shape_fp(shape) != bank_Account_shape.fingerprint);
	assert_int_equal(tp_stats(c).round_trips, 1);
	assert_int_equal(bank_Account_narrow(ctx, ref, &acct, &err), SHADE_OK);
	assert_int_equal(tp_stats(c).round_trips, 1);
	shade_ref_release(ref);
	talloc_free(acct);
	talloc_free(c);

	srv_stop(&s);
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* A tuple of an int and a string on ctx. */
static shade_value *int_str(TALLOC_CTX *ctx, int64_t i, const char *s)
{
	shade_value *t = shade_tuple_new(ctx, 2);

	assert_non_null(t);
	assert_int_equal(shade_seq_append_take(t, shade_int(ctx, i), NULL),
			 SHADE_OK);
	assert_int_equal(shade_seq_append_take(t, shade_str(ctx, s), NULL),
			 SHADE_OK);
	return t;
}

/* A dynamic client (no stubs) against the typed server: discovery with
 * the declared kinds and signatures, calls by name, out parameters as
 * [result, out], structs as arrays, the exception with its fields, and
 * wrong arguments refused by the skeleton. */
static void test_typed_e2e_dynamic_client(void **state)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	static const char *const expect[] = {
		"owner", "balance", "limit", "note", "deposit", "withdraw",
		"history" };
	shade_conn *c = NULL;
	shade_ref *ref = NULL;
	shade_error *err = NULL;
	const shade_shape_desc *shape;
	shade_value *out = NULL, *args;
	bank_Overdrawn ov;
	char **names = NULL;
	size_t n = 0, i;
	uint64_t rt0;
	e2e_server s;

	srv_start(ctx, &s);
	assert_int_equal(shade_connect(ctx, s.tcp_addr, NULL, &c, &err),
			 SHADE_OK);
	assert_int_equal(shade_lookup(c, "account", &ref, &err), SHADE_OK);
	rt0 = tp_stats(c).round_trips;

	/* discovery is local */
	assert_int_equal(shade_dir(ctx, ref, &names, &n, &err), SHADE_OK);
	assert_int_equal(n, 7);
	for (i = 0; i < n; i++)
		assert_string_equal(names[i], expect[i]);
	shape = shade_ref_shape(ref);
	assert_string_equal(shape->name, "bank.Account");
	assert_int_equal(shape->fingerprint, bank_Account_shape.fingerprint);
	assert_int_equal(shape->members[1].kind, SHADE_MEMBER_READONLY);
	assert_int_equal(shape->members[2].kind, SHADE_MEMBER_ATTR);
	assert_string_equal(shape->members[5].signature,
			    "(in long long,in string,out long long)->long long");
	assert_string_equal(shape->members[6].signature,
			    "(in unsigned long)->sequence<bank.Entry>");
	assert_int_equal(tp_stats(c).round_trips, rt0);

	/* calls by name */
	assert_int_equal(shade_invoke(ctx, ref, "deposit",
				      int_str(ctx, 700, "gift"), NULL, &out,
				      &err), SHADE_OK);
	assert_int_equal(shade_value_kind(out), SHADE_NONE);
	assert_int_equal(shade_invoke(ctx, ref, "withdraw",
				      int_str(ctx, 200, "tea"), NULL, &out,
				      &err), SHADE_OK);
	assert_int_equal(shade_value_len(out), 2);
	assert_int_equal(shade_value_as_int(shade_seq_at(out, 0)), 200);
	assert_int_equal(shade_value_as_int(shade_seq_at(out, 1)), 10500);
	assert_int_equal(shade_getattr(ctx, ref, "balance", &out, &err),
			 SHADE_OK);
	assert_int_equal(shade_value_as_int(out), 10500);
	assert_int_equal(shade_setattr(ref, "limit", shade_int(ctx, 100),
				       &err), SHADE_OK);
	assert_int_equal(shade_getattr(ctx, ref, "limit", &out, &err),
			 SHADE_OK);
	assert_int_equal(shade_value_as_int(out), 100);

	/* a sequence of structs: a list of [memo, amount] arrays */
	args = shade_tuple_new(ctx, 1);
	assert_int_equal(shade_seq_append_take(args, shade_int(ctx, 5), &err),
			 SHADE_OK);
	assert_int_equal(shade_invoke(ctx, ref, "history", args, NULL, &out,
				      &err), SHADE_OK);
	assert_int_equal(shade_value_len(out), 2);
	assert_string_equal(shade_value_cstr(shade_seq_at(shade_seq_at(out, 1),
							  0)), "tea");
	assert_int_equal(shade_value_as_int(shade_seq_at(shade_seq_at(out, 1),
							 1)), -200);

	/* the declared exception reaches a dynamic caller too */
	assert_int_equal(shade_invoke(ctx, ref, "withdraw",
				      int_str(ctx, 99999, "yacht"), NULL,
				      &out, &err), SHADE_ERR_USER);
	assert_string_equal(err->name, "bank.Overdrawn");
	assert_int_equal(shade_value_len(err->args), 2);
	assert_true(bank_Overdrawn_catch(ctx, err, &ov));
	assert_int_equal(ov.missing, 99999 - 10500 - 100);
	assert_string_equal(ov.owner, "ada");
	assert_true(err->chain_len >= 1);
	shade_error_clear(&err);

	/* the skeleton checks what it decodes */
	assert_int_equal(shade_invoke(ctx, ref, "deposit",
				      int_str(ctx, 1, "x"), NULL, &out, &err),
			 SHADE_OK);
	args = shade_tuple_new(ctx, 2);
	assert_int_equal(shade_seq_append_take(args, shade_str(ctx, "ten"),
					       &err), SHADE_OK);
	assert_int_equal(shade_seq_append_take(args, shade_str(ctx, "x"),
					       &err), SHADE_OK);
	assert_int_not_equal(shade_invoke(ctx, ref, "deposit", args, NULL,
					  &out, &err), SHADE_OK);
	assert_non_null(err);
	shade_error_clear(&err);
	assert_int_not_equal(shade_setattr(ref, "balance", shade_int(ctx, 1),
					   &err), SHADE_OK);
	shade_error_clear(&err);
	assert_int_equal(shade_getattr(ctx, ref, "balance", &out, &err),
			 SHADE_OK);
	assert_int_equal(shade_value_as_int(out), 10501);

	shade_ref_release(ref);
	talloc_free(c);
	srv_stop(&s);
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* What stands behind the client's undeclared book. */
typedef struct book {
	unsigned title_reads;  /* times the server read the title */
	unsigned total_calls;  /* times the server called total() */
	unsigned page_reads;   /* times anyone read pages */
	bool fail;             /* total() raises KeyError */
} book;

/* An attribute of the book that counts its reads. */
typedef struct counted {
	const char *text;      /* its value */
	unsigned *reads;       /* incremented on each read */
} counted;

/* Getter of a counted attribute (title, pages). */
static shade_status book_attr(shade_call_ctx *call)
{
	counted *a = call->udata;

	(*a->reads)++;
	call->result = shade_str(call->mem, a->text);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* book.total(): -42, or KeyError when asked to fail */
static shade_status book_total(shade_call_ctx *call)
{
	book *b = call->udata;

	b->total_calls++;
	if (b->fail)
		return shade_error_set(call->err, SHADE_ERR_KEY, "no total");
	call->result = shade_int(call->mem, -42);
	return SHADE_OK;
}

/* `any` and `Object` both ways: the client's undeclared object passed to
 * a typed operation and used by the server member by member while the
 * client waits (laziness counted), handed back as itself; an error in
 * the callback crossing both peers; a server object returned as Object
 * and narrowed without a round trip; a reference inside an `any`. */
static void test_typed_e2e_any_and_object(void **state)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_conn *c = NULL;
	shade_ref *ref = NULL, *mine = NULL, *back = NULL, *w = NULL;
	shade_error *err = NULL;
	bank_Auditor *aud = NULL;
	bank_Account *acct = NULL, *via = NULL;
	shade_conn_stats s0, s1;
	shade_value *note, *got = NULL;
	book b = { 0 };
	counted title = { "ledger", &b.title_reads };
	counted pages = { "many pages", &b.page_reads };
	int64_t total = 0, v = 0;
	char *verdict = NULL;
	e2e_server s;

	srv_start(ctx, &s);
	assert_int_equal(shade_connect(ctx, s.unix_addr, NULL, &c, &err),
			 SHADE_OK);
	assert_int_equal(shade_lookup(c, "auditor", &ref, &err), SHADE_OK);
	assert_int_equal(bank_Auditor_narrow(ctx, ref, &aud, &err), SHADE_OK);
	shade_ref_release(ref);

	assert_int_equal(shade_object_new("client.Book", NULL, &mine, &err),
			 SHADE_OK);
	assert_int_equal(shade_object_add_property(mine, "title", book_attr,
						   NULL, &title, &err),
			 SHADE_OK);
	assert_int_equal(shade_object_add_property(mine, "pages", book_attr,
						   NULL, &pages, &err),
			 SHADE_OK);
	assert_int_equal(shade_object_add_method(mine, "total", book_total,
						 &b, false, &err), SHADE_OK);

	/* Object in: one round trip for us, two requests served for the
	 * server (title, total), pages never read */
	shade_conn_stats_get(c, &s0);
	assert_int_equal(bank_Auditor_audit(aud, ctx, mine, &total, &verdict,
					    &err), SHADE_OK);
	shade_conn_stats_get(c, &s1);
	assert_string_equal(verdict, "ledger: in the red");
	assert_int_equal(total, -42);
	assert_int_equal(s1.round_trips - s0.round_trips, 1);
	assert_int_equal(s1.requests_sent - s0.requests_sent, 1);
	assert_int_equal(s1.requests_served - s0.requests_served, 2);
	assert_int_equal(b.title_reads, 1);
	assert_int_equal(b.total_calls, 1);
	assert_int_equal(b.page_reads, 0);
	assert_int_equal(s1.exports, 1);

	/* Object out: our own object comes back as itself */
	assert_int_equal(bank_Auditor_last_book(aud, &back, &err), SHADE_OK);
	assert_true(shade_ref_same(back, mine));
	assert_false(shade_ref_is_proxy(back));
	shade_ref_release(back);

	/* an error raised in our callback crosses the server and back */
	b.fail = true;
	assert_int_equal(bank_Auditor_audit(aud, ctx, mine, &total, &verdict,
					    &err), SHADE_ERR_KEY);
	assert_string_equal(err->name, "KeyError");
	assert_true(err->chain_len >= 2);
	shade_error_clear(&err);
	assert_int_equal(b.total_calls, 2);

	/* a server object as Object, narrowed: no round trip, the same
	 * proxy as the one a lookup gives */
	assert_int_equal(bank_Auditor_watched(aud, &w, &err), SHADE_OK);
	assert_true(shade_ref_is_proxy(w));
	shade_conn_stats_get(c, &s0);
	assert_int_equal(bank_Account_narrow(ctx, w, &via, &err), SHADE_OK);
	shade_conn_stats_get(c, &s1);
	assert_int_equal(s1.round_trips - s0.round_trips, 0);
	assert_int_equal(s1.frames_sent - s0.frames_sent, 0);
	assert_int_equal(shade_lookup(c, "account", &ref, &err), SHADE_OK);
	assert_true(shade_ref_same(ref, w));
	assert_int_equal(bank_Account_narrow(ctx, ref, &acct, &err), SHADE_OK);
	shade_ref_release(ref);
	shade_ref_release(w);
	assert_int_equal(bank_Account_deposit(via, 1, "via", &err), SHADE_OK);
	assert_int_equal(bank_Account_get_balance(acct, &v, &err), SHADE_OK);
	assert_int_equal(v, 10001);

	/* any holding a reference to our object: it comes back as itself */
	note = shade_list_new(ctx, 2);
	assert_int_equal(shade_seq_append_take(note, shade_str(ctx, "mine"),
					       &err), SHADE_OK);
	assert_int_equal(shade_seq_append_take(note, shade_ref_value(ctx, mine),
					       &err), SHADE_OK);
	assert_int_equal(bank_Account_set_note(acct, note, &err), SHADE_OK);
	assert_int_equal(bank_Account_get_note(acct, ctx, &got, &err),
			 SHADE_OK);
	assert_int_equal(shade_value_len(got), 2);
	assert_int_equal(shade_value_kind(shade_seq_at(got, 1)), SHADE_REF);
	assert_true(shade_ref_same(shade_value_as_ref(shade_seq_at(got, 1)),
				   mine));
	assert_int_equal(b.page_reads, 0);

	talloc_free(via);
	talloc_free(acct);
	talloc_free(aud);
	talloc_free(c);
	shade_ref_release(mine);
	srv_stop(&s);
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* Shapes announced in HELLO: the lookup reply carries no description,
 * the compiled-in shape is used, and narrowing is the fingerprint
 * comparison alone; without the announcement the description travels
 * and is cached. */
static void test_typed_e2e_known_shapes(void **state)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	static const shade_shape_desc *const known[] = {
		&bank_Account_shape, &bank_Auditor_shape, NULL };
	shade_conn_opts opts = { .known = known };
	shade_conn *c = NULL, *plain = NULL;
	shade_ref *ref = NULL;
	shade_error *err = NULL;
	bank_Account *acct = NULL;
	shade_conn_stats sk, sp;
	int64_t v = 0;
	e2e_server s;

	srv_start(ctx, &s);
	assert_int_equal(shade_connect(ctx, s.tcp_addr, &opts, &c, &err),
			 SHADE_OK);
	assert_int_equal(shade_lookup(c, "account", &ref, &err), SHADE_OK);
	assert_ptr_equal(shade_ref_shape(ref), &bank_Account_shape);
	assert_int_equal(bank_Account_narrow(ctx, ref, &acct, &err), SHADE_OK);
	shade_ref_release(ref);
	assert_int_equal(bank_Account_get_balance(acct, &v, &err), SHADE_OK);
	assert_int_equal(v, 10000);
	shade_conn_stats_get(c, &sk);
	talloc_free(acct);

	assert_int_equal(shade_connect(ctx, s.tcp_addr, NULL, &plain, &err),
			 SHADE_OK);
	assert_int_equal(shade_lookup(plain, "account", &ref, &err), SHADE_OK);
	assert_int_equal(bank_Account_narrow(ctx, ref, &acct, &err), SHADE_OK);
	shade_ref_release(ref);
	assert_int_equal(bank_Account_get_balance(acct, &v, &err), SHADE_OK);
	shade_conn_stats_get(plain, &sp);
	talloc_free(acct);

	assert_int_equal(sk.shapes_cached, 0);
	assert_int_equal(sp.shapes_cached, 1);
	assert_int_equal(sk.round_trips, 2);
	assert_int_equal(sp.round_trips, 2);
	assert_true(sk.bytes_received < sp.bytes_received);
	print_message("lookup + narrow + get_balance: %llu bytes received "
		      "with the shape announced, %llu without\n",
		      (unsigned long long)sk.bytes_received,
		      (unsigned long long)sp.bytes_received);

	talloc_free(c);
	talloc_free(plain);
	srv_stop(&s);
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* Bytes and round trips of one call, typed and dynamic, on c. */
typedef struct call_cost {
	uint64_t bytes;   /* sent and received */
	uint64_t trips;   /* round trips */
} call_cost;

/* The cost of what happened on c since *before. */
static call_cost cost_since(shade_conn *c, const shade_conn_stats *before)
{
	shade_conn_stats now;
	call_cost k;

	shade_conn_stats_get(c, &now);
	k.bytes = now.bytes_sent - before->bytes_sent + now.bytes_received -
		  before->bytes_received;
	k.trips = now.round_trips - before->round_trips;
	return k;
}

/* The same operation through a typed stub and by name: one round trip
 * each and the same bytes on the wire; time per call measured over both
 * transports (printed, not asserted). */
static void test_typed_e2e_wire_cost(void **state)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	int n = tu_under_valgrind() ? 50 : 2000, i, t;
	shade_conn *c = NULL;
	shade_ref *ref = NULL;
	shade_error *err = NULL;
	bank_Account *acct = NULL;
	shade_conn_stats s0;
	call_cost typed, dyn;
	shade_value *out = NULL, *args;
	TALLOC_CTX *tmp;
	int64_t v = 0, t0, t_typed, t_dyn;
	e2e_server s;

	srv_start(ctx, &s);
	for (t = 0; t < 2; t++) {
		const char *addr = t ? s.tcp_addr : s.unix_addr;

		assert_int_equal(shade_connect(ctx, addr, NULL, &c, &err),
				 SHADE_OK);
		assert_int_equal(shade_lookup(c, "account", &ref, &err),
				 SHADE_OK);
		assert_int_equal(bank_Account_narrow(ctx, ref, &acct, &err),
				 SHADE_OK);
		args = int_str(ctx, 100, "x");

		shade_conn_stats_get(c, &s0);
		assert_int_equal(bank_Account_deposit(acct, 100, "x", &err),
				 SHADE_OK);
		typed = cost_since(c, &s0);
		shade_conn_stats_get(c, &s0);
		assert_int_equal(shade_invoke(ctx, ref, "deposit", args, NULL,
					      &out, &err), SHADE_OK);
		dyn = cost_since(c, &s0);
		assert_int_equal(typed.trips, 1);
		assert_int_equal(dyn.trips, 1);
		/* the same request and reply on the wire */
		assert_true(typed.bytes > 0);
		assert_int_equal(typed.bytes, dyn.bytes);

		t0 = tu_now_ms();
		for (i = 0; i < n; i++)
			assert_int_equal(bank_Account_get_balance(acct, &v,
								  &err),
					 SHADE_OK);
		t_typed = tu_now_ms() - t0;
		tmp = talloc_new(ctx);
		t0 = tu_now_ms();
		for (i = 0; i < n; i++)
			assert_int_equal(shade_getattr(tmp, ref, "balance",
						       &out, &err), SHADE_OK);
		t_dyn = tu_now_ms() - t0;
		talloc_free(tmp);
		assert_int_equal(v, 10000 + 200 * (t + 1));
		print_message("%s: deposit(100, \"x\") %llu bytes typed, "
			      "%llu by name; balance read %.1f us typed, "
			      "%.1f us by name (%d calls)\n",
			      t ? "tcp" : "unix",
			      (unsigned long long)typed.bytes,
			      (unsigned long long)dyn.bytes,
			      1000.0 * (double)t_typed / n,
			      1000.0 * (double)t_dyn / n, n);
		shade_ref_release(ref);
		talloc_free(acct);
		talloc_free(c);
	}
	srv_stop(&s);
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_typed_e2e_typed_unix),
		SUITE_CASE(test_typed_e2e_typed_tcp),
		SUITE_CASE(test_typed_e2e_dynamic_server_unix),
		SUITE_CASE(test_typed_e2e_dynamic_server_tcp),
		SUITE_CASE(test_typed_e2e_dynamic_shape),
		SUITE_CASE(test_typed_e2e_dynamic_client),
		SUITE_CASE(test_typed_e2e_any_and_object),
		SUITE_CASE(test_typed_e2e_known_shapes),
		SUITE_CASE(test_typed_e2e_wire_cost),
	};
	int rc;

	suite_case_cleanup = tu_reap_live_child;
	rc = SUITE_RUN("typed_e2e", tests, argc, argv);
	return rc;
}
