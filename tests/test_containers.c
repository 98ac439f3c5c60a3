/*
 * test_containers.c - lists and dicts with methods, and the copy rules
 * by default: the methods of builtins.list and builtins.dict called
 * remotely (one round trip each) and taken as bound methods that cross
 * the wire and are called later; bare lists and dicts crossing by
 * reference as arguments and results, by value per call
 * (shade_call_opts.byvalue) and per value (shade_value_set_byvalue),
 * SETATTR included;
 * what each costs in round trips and bytes (shade_conn_stats).
 *
 * The seed's cases (PyPy lib_pypy/distributed/test/test_distributed.py)
 * are the seed_* cases.  Every case talks over a Unix socket in a fresh
 * directory to a server in a child process (child_main), stopped by pid
 * with SIGTERM when the case ends.
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

#include "helpers/peer.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"
#include "shade/shade.h"

/* Bound on every wait for the child. */
#define WAIT_MS 20000

/* ============================================================ the child */

/* The child's server. */
static shade_server *child_server;
/* What box.store() keeps, until box.drop(). */
static shade_ref *stored;

/* box.echo(x): x back. */
static shade_status box_echo(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, shade_seq_at(call->args, 0));
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

/* box.kind(x): "int", "dict"..., for a list "list:KIND" (the kind of
 * its first item) or "list" when empty, for a reference "ref:TYPE:proxy"
 * or "ref:TYPE:local". */
static shade_status box_kind(shade_call_ctx *call)
{
	const shade_value *x = shade_seq_at(call->args, 0);
	shade_ref *r;

	if (shade_value_kind(x) == SHADE_LIST && shade_seq_len(x) > 0) {
		call->result = shade_str_printf(
			call->mem, "list:%s",
			shade_kind_name(shade_value_kind(shade_seq_at(x, 0))));
	} else if (shade_value_kind(x) != SHADE_REF) {
		call->result = shade_str(call->mem,
					 shade_kind_name(shade_value_kind(x)));
	} else {
		r = shade_value_as_ref(x);
		call->result = shade_str_printf(call->mem, "ref:%s:%s",
						shade_ref_type_name(r),
						shade_ref_is_proxy(r) ? "proxy"
								      : "local");
	}
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

/* box.length(x): len(x) of a list reference (a call back to its owner). */
static shade_status box_length(shade_call_ctx *call)
{
	const shade_value *x = shade_seq_at(call->args, 0);
	size_t n = 0;

	if (shade_value_kind(x) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "length: not a reference");
	SHADE_CHECK(shade_len(shade_value_as_ref(x), &n, call->err));
	call->result = shade_int(call->mem, (int64_t)n);
	return SHADE_OK;
}

/* box.make(what): a fresh bare value: "list" [1, 2, 3], "dict"
 * {"a": 3}, "big" [0 .. 999], "marked" [1, 2, 3] marked by value. */
static shade_status box_make(shade_call_ctx *call)
{
	const shade_value *w = shade_seq_at(call->args, 0);
	const char *what = shade_value_kind(w) == SHADE_STR ? w->u.s : "";
	shade_value *v;
	int64_t i, n = strcmp(what, "big") == 0 ? 1000 : 3;

	if (strcmp(what, "dict") == 0) {
		v = shade_dict_new(call->mem, 1);
		SHADE_CHECK(shade_dict_set_str(v, "a",
					       &(shade_value){ .tag = SHADE_INT,
							       .u.i = 3 },
					       call->err));
		call->result = v;
		return SHADE_OK;
	}
	v = shade_list_new(call->mem, (size_t)n);
	for (i = 0; v != NULL && i < n; i++) {
		shade_value x = shade_value_int(n == 3 ? i + 1 : i);

		SHADE_CHECK(shade_seq_append(v, &x, call->err));
	}
	if (v == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
	if (strcmp(what, "marked") == 0)
		shade_value_set_byvalue(v, true);
	call->result = v;
	return SHADE_OK;
}

/* box.store(f): keep f (a reference) for fire(). */
static shade_status box_store(shade_call_ctx *call)
{
	const shade_value *x = shade_seq_at(call->args, 0);

	if (shade_value_kind(x) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "store: not a reference");
	shade_ref_release(stored);
	stored = shade_ref_retain(shade_value_as_ref(x));
	return SHADE_OK;
}

/* box.fire(x): call what store() kept with x; its result back. */
static shade_status box_fire(shade_call_ctx *call)
{
	if (stored == NULL)
		return shade_error_set(call->err, SHADE_ERR_VALUE,
				       "nothing stored");
	return shade_call(call->mem, stored, call->args, NULL, &call->result,
			  call->err);
}

/* box.drop(): forget what store() kept. */
static shade_status box_drop(shade_call_ctx *call)
{
	(void)call;
	shade_ref_release(stored);
	stored = NULL;
	return SHADE_OK;
}

/* box.exports(): the entries of this connection's export table. */
static shade_status box_exports(shade_call_ctx *call)
{
	shade_conn_stats s;

	shade_conn_stats_get(call->conn, &s);
	call->result = shade_int(call->mem, (int64_t)s.exports);
	return SHADE_OK;
}

/* The list [1, 2, 3] or the dict {"a": 3}, shared, exported as name. */
static shade_status export_container(TALLOC_CTX *ctx, const char *name,
				     bool dict, shade_error **err)
{
	shade_value *v = dict ? shade_dict_new(ctx, 1) : shade_list_new(ctx, 3);
	shade_ref *r;
	shade_status st;
	int64_t i;

	for (i = 1; !dict && i <= 3; i++) {
		shade_value x = shade_value_int(i);

		SHADE_CHECK(shade_seq_append(v, &x, err));
	}
	if (dict)
		SHADE_CHECK(shade_dict_set_str(v, "a",
					       &(shade_value){ .tag = SHADE_INT,
							       .u.i = 3 },
					       err));
	SHADE_CHECK(shade_container_new(v, &r, err));
	st = shade_server_export(child_server, name, r, err);
	shade_ref_release(r);
	return st;
}

/* The box object with its methods, exported as "box". */
static shade_status export_box(shade_error **err)
{
	static const struct {
		const char *name;
		shade_method_fn fn;
	} meths[] = {
		{ "echo", box_echo },   { "kind", box_kind },
		{ "length", box_length }, { "make", box_make },
		{ "store", box_store }, { "fire", box_fire },
		{ "drop", box_drop },   { "exports", box_exports },
	};
	shade_ref *box;
	shade_status st = SHADE_OK;
	size_t i;

	SHADE_CHECK(shade_object_new("demo.Box", NULL, &box, err));
	for (i = 0; st == SHADE_OK && i < sizeof(meths) / sizeof(meths[0]);
	     i++)
		st = shade_object_add_method(box, meths[i].name, meths[i].fn,
					     NULL, false, err);
	if (st == SHADE_OK)
		st = shade_object_add_attr(box, "slot", NULL, false, err);
	if (st == SHADE_OK)
		st = shade_server_export(child_server, "box", box, err);
	shade_ref_release(box);
	return st;
}

/* What the child gets from the parent. */
typedef struct child_args {
	tu_ready ready;   /* the pipe: a line once listening */
	const char *addr; /* where to listen */
} child_args;

/* The child's server: no workers. */
static const shade_server_opts loop_only = { .threads = 1 };

/* The child: serve l, d and box until SIGTERM; 0 on a clean stop. */
static int child_main(void *arg)
{
	child_args *a = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_error *err = NULL;
	int rc = 1;

	if (!tu_ready_child(&a->ready))
		return 1;
	/* Handlers on the loop's thread: the child reads what they
	 * recorded (box_drop) once the loop returns. */
	if (shade_server_new(ctx, &loop_only, &child_server, &err) ==
		    SHADE_OK &&
	    export_container(ctx, "l", false, &err) == SHADE_OK &&
	    export_container(ctx, "d", true, &err) == SHADE_OK &&
	    export_box(&err) == SHADE_OK &&
	    shade_server_listen(child_server, a->addr, &err) == SHADE_OK) {
		rc = tp_serve_child(child_server, &a->ready, "ready",
				    "containers server");
	} else {
		fprintf(stderr, "containers server: %s\n",
			err ? err->message : "failed");
		tu_ready_say(&a->ready, "failed");
	}
	shade_error_free(err);
	shade_ref_release(stored);
	stored = NULL;
	child_server = NULL;
	talloc_free(ctx);
	return rc;
}

/* ============================================================ the parent */

/* A child server and the parent's connection to it. */
typedef struct peer {
	pid_t pid;       /* the child */
	char *dir;       /* its directory (removes itself when freed) */
	shade_conn *c;   /* the parent's connection */
	shade_ref *box;  /* the child's "box" */
} peer;

/* Start the child, connect and look up "box"; everything on ctx. */
static void start(TALLOC_CTX *ctx, peer *p)
{
	char line[16];
	child_args a;
	char *addr;

	p->dir = tu_mkdtemp(ctx);
	assert_non_null(p->dir);
	addr = talloc_asprintf(ctx, "unix:%s/c.sock", p->dir);
	assert_non_null(addr);
	a.addr = addr;
	p->pid = tu_fork_ready(child_main, &a.ready, line, sizeof(line),
			       WAIT_MS);
	tu_live_child = p->pid;
	if (p->pid <= 0 || strcmp(line, "ready") != 0)
		fail_msg("the server did not start");
	assert_ok(shade_connect(ctx, addr, NULL, &p->c, errp_));
	assert_ok(shade_lookup(p->c, "box", &p->box, errp_));
}

/* Close the connection and stop the child: it must exit 0. */
static void stop(peer *p)
{
	shade_ref_release(p->box);
	p->box = NULL;
	TALLOC_FREE(p->c);
	if (!tu_stop_child(p->pid, WAIT_MS))
		fail_msg("the server did not stop cleanly");
}

/* A tuple of n ints on ctx. */
static shade_value *ints(TALLOC_CTX *ctx, bool list, size_t n, ...)
{
	shade_value *t = list ? shade_list_new(ctx, n) : shade_tuple_new(ctx, n);
	va_list ap;
	size_t i;

	assert_non_null(t);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		shade_value x = shade_value_int(va_arg(ap, int));

		assert_int_equal(shade_seq_append(t, &x, NULL), SHADE_OK);
	}
	va_end(ap);
	return t;
}

/* A tuple holding one copy of v, on ctx. */
static shade_value *args1(TALLOC_CTX *ctx, const shade_value *v)
{
	const shade_value *items[1] = { v };
	shade_value *t = shade_tuple_from(ctx, 1, items);

	assert_non_null(t);
	return t;
}

/* box.NAME(x) with opts; the result on ctx. */
static shade_value *box_call(TALLOC_CTX *ctx, peer *p, const char *name,
			     const shade_value *x, const shade_call_opts *opts)
{
	shade_value *r = NULL;

	assert_ok(shade_invoke_ex(ctx, p->box, name,
				  x ? args1(ctx, x) : NULL, NULL, opts, &r,
				  errp_));
	return r;
}

/* box.kind(x) as a C string. */
static const char *kind_of(TALLOC_CTX *ctx, peer *p, const shade_value *x,
			   const shade_call_opts *opts)
{
	shade_value *r = box_call(ctx, p, "kind", x, opts);

	assert_int_equal(shade_value_kind(r), SHADE_STR);
	return r->u.s;
}

/* The int in v. */
static int64_t as_int(const shade_value *v)
{
	assert_int_equal(shade_value_kind(v), SHADE_INT);
	return v->u.i;
}

/* The proxy named name on p's connection. */
static shade_ref *lookup(peer *p, const char *name)
{
	shade_ref *r = NULL;

	assert_ok(shade_lookup(p->c, name, &r, errp_));
	return r;
}

/* Assert that the last call failed with code and a message containing
 * `text`, and forget the error. */
static void assert_failed(shade_status st, shade_error **err,
			  shade_status code, const char *text)
{
	assert_int_equal(st, code);
	assert_non_null(*err);
	if (strstr((*err)->message, text) == NULL)
		fail_msg("message '%s' lacks '%s'", (*err)->message, text);
	shade_error_free(*err);
	*err = NULL;
}

/* ============================================================ seed cases */

/*
 * test_protocol: str, int, text, big int, float and tuple make the round
 * trip unchanged; a list and a dict arrive as a list and a dict (by
 * reference, of the built-in list and dict shapes, forced into equal
 * values; or as values with the by-value option); a function arrives as
 * a function.
 */
static void seed_test_protocol(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_call_opts bv = { .byvalue = true };
	shade_value *vals[6], *r, *snap, *want;
	shade_error *err = NULL;
	shade_ref *f;
	peer p;
	size_t i;

	start(ctx, &p);
	vals[0] = shade_str(ctx, "aaa");
	vals[1] = shade_int(ctx, 3);
	vals[2] = shade_str(ctx, "a\xc3\xa4");
	vals[3] = shade_int(ctx, INT64_C(344444444444444444));
	vals[4] = shade_float(ctx, 1.2);
	vals[5] = ints(ctx, false, 0);
	assert_int_equal(shade_seq_append_str(vals[5], "aa", 2, NULL), 0);
	for (i = 0; i < 6; i++) {
		assert_non_null(vals[i]);
		r = box_call(ctx, &p, "echo", vals[i], NULL);
		assert_true(shade_value_equal(r, vals[i]));
	}
	/* A list: by reference (a proxy of builtins.list), equal to
	 * [1, 2, 3] when forced. */
	r = box_call(ctx, &p, "make", shade_str(ctx, "list"), NULL);
	assert_int_equal(shade_value_kind(r), SHADE_REF);
	assert_true(shade_ref_is_proxy(shade_value_as_ref(r)));
	assert_string_equal(shade_ref_type_name(shade_value_as_ref(r)),
			    "builtins.list");
	assert_ok(shade_force(ctx, shade_value_as_ref(r), &snap, errp_));
	want = ints(ctx, true, 3, 1, 2, 3);
	assert_true(shade_value_equal(snap, want));
	/* The same by value: a list. */
	r = box_call(ctx, &p, "make", shade_str(ctx, "list"), &bv);
	assert_int_equal(shade_value_kind(r), SHADE_LIST);
	assert_true(shade_value_equal(r, want));
	/* A dict, both ways. */
	r = box_call(ctx, &p, "make", shade_str(ctx, "dict"), NULL);
	assert_int_equal(shade_value_kind(r), SHADE_REF);
	assert_string_equal(shade_ref_type_name(shade_value_as_ref(r)),
			    "builtins.dict");
	assert_ok(shade_force(ctx, shade_value_as_ref(r), &snap, errp_));
	assert_int_equal(shade_value_kind(snap), SHADE_DICT);
	assert_int_equal(as_int(shade_dict_get_str(snap, "a")), 3);
	r = box_call(ctx, &p, "make", shade_str(ctx, "dict"), &bv);
	assert_int_equal(shade_value_kind(r), SHADE_DICT);
	assert_true(shade_value_equal(r, snap));
	/* A function crosses as a function. */
	assert_ok(shade_function_new("demo.f", box_echo, NULL, &f, errp_));
	assert_string_equal(kind_of(ctx, &p, shade_ref_value_take(ctx, f),
				    NULL),
			    "ref:builtins.function:proxy");
	(void)err;
	stop(&p);
	talloc_free(ctx);
}

/*
 * test_method_of_false_obj: `[].append` taken as a bound method crosses
 * the wire as a function and is called later by the peer, appending to
 * the list it was taken from; and the same with the peer's list, whose
 * bound method this side takes and calls later.
 */
static void seed_test_method_of_false_obj(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *m, *seven = shade_int(ctx, 7), *got, *want;
	shade_ref *lst, *l;
	shade_conn_stats s0, s1;
	size_t n = 0;
	peer p;

	start(ctx, &p);
	/* Our own empty list; its append, taken locally. */
	assert_ok(shade_container_new(shade_list_new(NULL, 0), &lst, errp_));
	assert_ok(shade_getattr(ctx, lst, "append", &m, errp_));
	assert_int_equal(shade_value_kind(m), SHADE_REF);
	assert_string_equal(shade_ref_type_name(shade_value_as_ref(m)),
			    "builtins.function");
	/* It arrives at the peer as a function, is kept, and called later:
	 * the call comes back here and appends 7. */
	assert_string_equal(kind_of(ctx, &p, m, NULL),
			    "ref:builtins.function:proxy");
	box_call(ctx, &p, "store", m, NULL);
	talloc_free(m);
	box_call(ctx, &p, "fire", seven, NULL);
	want = ints(ctx, true, 1, 7);
	assert_true(shade_value_equal(shade_container_value(lst), want));
	box_call(ctx, &p, "drop", NULL, NULL);

	/* The peer's list: its append as a bound method (one round trip),
	 * called later from here, then handed back to the peer, which gets
	 * its own bound method and calls it. */
	l = lookup(&p, "l");
	s0 = tp_stats(p.c);
	assert_ok(shade_getattr(ctx, l, "append", &m, errp_));
	s1 = tp_stats(p.c);
	assert_int_equal(s1.round_trips - s0.round_trips, 1);
	assert_true(shade_ref_is_proxy(shade_value_as_ref(m)));
	assert_string_equal(shade_ref_type_name(shade_value_as_ref(m)),
			    "builtins.function");
	assert_ok(shade_call(ctx, shade_value_as_ref(m), args1(ctx, seven),
			     NULL, NULL, errp_));
	assert_string_equal(kind_of(ctx, &p, m, NULL),
			    "ref:builtins.function:local");
	box_call(ctx, &p, "store", m, NULL);
	talloc_free(m);
	box_call(ctx, &p, "fire", shade_int(ctx, 8), NULL);
	box_call(ctx, &p, "drop", NULL, NULL);
	assert_ok(shade_force(ctx, l, &got, errp_));
	want = ints(ctx, true, 5, 1, 2, 3, 7, 8);
	assert_true(shade_value_equal(got, want));
	assert_ok(shade_len(l, &n, errp_));
	assert_int_equal(n, 5);
	shade_ref_release(l);
	shade_ref_release(lst);
	stop(&p);
	talloc_free(ctx);
}

/*
 * test_protocol_run: a remote [1, 2, 3]: len 3, item 2 is 3, `+= [1, 1,
 * 1]` in one round trip, then len 6.
 */
static void seed_test_protocol_run(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *two = shade_int(ctx, 2), *item;
	shade_conn_stats s0, s1;
	shade_ref *l;
	size_t n = 0;
	peer p;

	start(ctx, &p);
	l = lookup(&p, "l");
	assert_ok(shade_len(l, &n, errp_));
	assert_int_equal(n, 3);
	assert_ok(shade_getitem(ctx, l, two, &item, errp_));
	assert_int_equal(as_int(item), 3);
	s0 = tp_stats(p.c);
	assert_ok(shade_extend(l, ints(ctx, true, 3, 1, 1, 1), errp_));
	s1 = tp_stats(p.c);
	assert_int_equal(s1.round_trips - s0.round_trips, 1);
	assert_int_equal(s1.requests_sent - s0.requests_sent, 1);
	assert_int_equal(s1.frames_sent - s0.frames_sent, 1);
	assert_ok(shade_len(l, &n, errp_));
	assert_int_equal(n, 6);
	shade_ref_release(l);
	stop(&p);
	talloc_free(ctx);
}

/*
 * test_remote_dict: a remote {"a": 3}: its keys and values equal the
 * local dict's, and it equals the local dict.
 */
static void seed_test_remote_dict(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *d = shade_dict_new(ctx, 1), *keys, *vals, *lk, *lv;
	shade_value three = shade_value_int(3);
	shade_ref *xd;
	bool eq = false;
	peer p;

	start(ctx, &p);
	assert_ok(shade_dict_set_str(d, "a", &three, errp_));
	xd = lookup(&p, "d");
	assert_ok(shade_keys(ctx, xd, &keys, errp_));
	assert_ok(shade_values(ctx, xd, &vals, errp_));
	lk = shade_list_new(ctx, 1);
	lv = ints(ctx, true, 1, 3);
	assert_ok(shade_seq_append_str(lk, "a", 1, errp_));
	assert_true(shade_value_equal(keys, lk));
	assert_true(shade_value_equal(vals, lv));
	/* keys() and values() as the dict's own methods: the same. */
	assert_ok(shade_invoke(ctx, xd, "keys", NULL, NULL, &keys, errp_));
	assert_ok(shade_invoke(ctx, xd, "values", NULL, NULL, &vals, errp_));
	assert_true(shade_value_equal(keys, lk));
	assert_true(shade_value_equal(vals, lv));
	assert_ok(shade_equal(xd, d, &eq, errp_));
	assert_true(eq);
	assert_ok(shade_dict_set_str(d, "b", &three, errp_));
	assert_ok(shade_equal(xd, d, &eq, errp_));
	assert_false(eq);
	shade_ref_release(xd);
	stop(&p);
	talloc_free(ctx);
}

/* ============================================================ methods */

/* The round trips c waited for since s0. */
static uint64_t trips_since(shade_conn *c, const shade_conn_stats *s0)
{
	return tp_stats(c).round_trips - s0->round_trips;
}

/*
 * Every list method on the peer's list, one round trip each, and its
 * errors; DESCRIBE-free dir; the cycle guard.
 */
static void test_containers_list_methods(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *one = shade_int(ctx, 1), *nine = shade_int(ctx, 9);
	shade_value *got, *want, *r;
	shade_conn_stats s0;
	shade_error *err = NULL;
	shade_ref *l;
	char **names;
	size_t n = 0;
	peer p;

	start(ctx, &p);
	l = lookup(&p, "l");                             /* [1, 2, 3] */
	/* The shape lists the methods; dir is local. */
	s0 = tp_stats(p.c);
	assert_ok(shade_dir(ctx, l, &names, &n, errp_));
	assert_int_equal(trips_since(p.c, &s0), 0);
	assert_int_equal(n, 9);
	assert_string_equal(names[0], "append");
	assert_string_equal(names[8], "reverse");

	s0 = tp_stats(p.c);
	assert_ok(shade_append(l, nine, errp_));         /* [1, 2, 3, 9] */
	assert_ok(shade_invoke(ctx, l, "append", args1(ctx, one), NULL, NULL,
			       errp_));                  /* [1, 2, 3, 9, 1] */
	assert_ok(shade_insert(l, 0, nine, errp_));      /* [9, 1, 2, 3, 9, 1] */
	assert_ok(shade_insert(l, -100, one, errp_));    /* [1, 9, 1, 2, 3, 9, 1] */
	assert_ok(shade_count(l, one, &n, errp_));
	assert_int_equal(n, 3);
	assert_ok(shade_index(l, nine, &n, errp_));
	assert_int_equal(n, 1);
	assert_ok(shade_remove(l, nine, errp_));         /* [1, 1, 2, 3, 9, 1] */
	assert_ok(shade_pop(ctx, l, NULL, &r, errp_));   /* [1, 1, 2, 3, 9] */
	assert_int_equal(as_int(r), 1);
	assert_ok(shade_pop(ctx, l, one, &r, errp_));    /* [1, 2, 3, 9] */
	assert_int_equal(as_int(r), 1);
	assert_ok(shade_reverse(l, errp_));              /* [9, 3, 2, 1] */
	assert_int_equal(trips_since(p.c, &s0), 10);
	assert_ok(shade_force(ctx, l, &got, errp_));
	want = ints(ctx, true, 4, 9, 3, 2, 1);
	assert_true(shade_value_equal(got, want));

	/* Errors, each with its code and message. */
	assert_failed(shade_remove(l, shade_int(ctx, 42), &err), &err,
		      SHADE_ERR_VALUE, "list.remove(x): x not in list");
	assert_failed(shade_index(l, shade_int(ctx, 42), &n, &err), &err,
		      SHADE_ERR_VALUE, "list.index(x): x not in list");
	assert_failed(shade_pop(ctx, l, shade_int(ctx, 10), &r, &err), &err,
		      SHADE_ERR_INDEX, "pop index out of range");
	assert_failed(shade_invoke(ctx, l, "insert", args1(ctx, one), NULL,
				   NULL, &err),
		      &err, SHADE_ERR_TYPE,
		      "list.insert() takes 2 arguments (1 given)");
	assert_failed(shade_invoke(ctx, l, "sort", NULL, NULL, NULL, &err),
		      &err, SHADE_ERR_ATTRIBUTE, "has no attribute 'sort'");
	assert_failed(shade_extend(l, shade_int(ctx, 1), &err), &err,
		      SHADE_ERR_TYPE, "'int' object is not iterable");
	/* A list may not be made to hold itself. */
	r = shade_ref_value(ctx, l);
	assert_failed(shade_invoke(ctx, l, "append", args1(ctx, r), NULL,
				   NULL, &err),
		      &err, SHADE_ERR_VALUE, "reference cycle");
	talloc_free(r);

	assert_ok(shade_clear(l, errp_));
	assert_ok(shade_len(l, &n, errp_));
	assert_int_equal(n, 0);
	assert_failed(shade_pop(ctx, l, NULL, &r, &err), &err,
		      SHADE_ERR_INDEX, "pop from empty list");
	/* A dict has no list methods. */
	shade_ref_release(l);
	l = lookup(&p, "d");
	assert_failed(shade_extend(l, one, &err), &err, SHADE_ERR_ATTRIBUTE,
		      "'builtins.dict' object has no attribute 'extend'");
	shade_ref_release(l);
	stop(&p);
	talloc_free(ctx);
}

/* Every dict method on the peer's dict, one round trip each. */
static void test_containers_dict_methods(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *a = shade_str(ctx, "a"), *b = shade_str(ctx, "b");
	shade_value *five = shade_int(ctx, 5), *r, *other, *kw, *pairs;
	shade_value *want, *got;
	shade_value seven = shade_value_int(7);
	shade_conn_stats s0;
	shade_error *err = NULL;
	shade_ref *d;
	size_t n = 0;
	peer p;

	start(ctx, &p);
	d = lookup(&p, "d");                              /* {"a": 3} */
	s0 = tp_stats(p.c);
	assert_ok(shade_get(ctx, d, a, NULL, &r, errp_));
	assert_int_equal(as_int(r), 3);
	assert_ok(shade_get(ctx, d, b, five, &r, errp_));
	assert_int_equal(as_int(r), 5);
	assert_ok(shade_get(ctx, d, b, NULL, &r, errp_));
	assert_int_equal(shade_value_kind(r), SHADE_NONE);
	assert_ok(shade_setdefault(ctx, d, a, five, &r, errp_));
	assert_int_equal(as_int(r), 3);
	assert_ok(shade_setdefault(ctx, d, b, five, &r, errp_)); /* b: 5 */
	assert_int_equal(as_int(r), 5);
	other = shade_dict_new(ctx, 1);
	assert_ok(shade_dict_set_str(other, "c", &seven, errp_));
	kw = shade_dict_new(ctx, 1);
	assert_ok(shade_dict_set_str(kw, "e", &seven, errp_));
	assert_ok(shade_update(d, other, kw, errp_));   /* c: 7, e: 7 */
	pairs = shade_list_new(ctx, 1);
	{
		shade_value *pair = shade_tuple_new(ctx, 2);

		assert_ok(shade_seq_append_str(pair, "f", 1, errp_));
		assert_ok(shade_seq_append(pair, &seven, errp_));
		assert_ok(shade_seq_append_take(pairs, pair, errp_));
	}
	assert_ok(shade_update(d, pairs, NULL, errp_));  /* f: 7 */
	assert_ok(shade_pop(ctx, d, b, &r, errp_));      /* b gone */
	assert_int_equal(as_int(r), 5);
	assert_ok(shade_invoke(ctx, d, "pop", ints(ctx, false, 2, 99, 0),
			       NULL, &r, errp_));
	assert_int_equal(as_int(r), 0);
	assert_int_equal(trips_since(p.c, &s0), 9);
	/* keys, values, items: lists by value, in insertion order. */
	assert_ok(shade_invoke(ctx, d, "items", NULL, NULL, &got, errp_));
	assert_int_equal(shade_value_kind(got), SHADE_LIST);
	assert_int_equal(shade_seq_len(got), 4);
	want = shade_tuple_new(ctx, 2);
	assert_ok(shade_seq_append_str(want, "f", 1, errp_));
	assert_ok(shade_seq_append(want, &seven, errp_));
	assert_true(shade_value_equal(shade_seq_at(got, 3), want));
	assert_ok(shade_invoke(ctx, d, "values", NULL, NULL, &got, errp_));
	want = ints(ctx, true, 4, 3, 7, 7, 7);
	assert_true(shade_value_equal(got, want));

	assert_failed(shade_pop(ctx, d, b, &r, &err), &err, SHADE_ERR_KEY,
		      "\"b\"");
	assert_failed(shade_get(ctx, d, shade_list_new(ctx, 0), NULL, &r,
				&err),
		      &err, SHADE_ERR_TYPE, "unhashable type: 'list'");
	assert_failed(shade_update(d, ints(ctx, true, 1, 1), NULL, &err),
		      &err, SHADE_ERR_VALUE, "is not a pair");
	assert_failed(shade_invoke(ctx, d, "get", NULL, NULL, NULL, &err),
		      &err, SHADE_ERR_TYPE,
		      "dict.get() takes 1 to 2 arguments (0 given)");
	assert_ok(shade_clear(d, errp_));
	assert_ok(shade_len(d, &n, errp_));
	assert_int_equal(n, 0);
	shade_ref_release(d);
	stop(&p);
	talloc_free(ctx);
}

/* The methods on a local container run directly, with no connection. */
static void test_containers_local_methods(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *want, *m, *r;
	shade_ref *l;
	size_t n = 0;

	assert_ok(shade_container_new(ints(NULL, true, 3, 3, 1, 2), &l,
				      errp_));
	assert_ok(shade_extend(l, ints(ctx, false, 2, 5, 6), errp_));
	assert_ok(shade_reverse(l, errp_));
	want = ints(ctx, true, 5, 6, 5, 2, 1, 3);
	assert_true(shade_value_equal(shade_container_value(l), want));
	/* l.extend(l): the items as they were, once. */
	r = shade_ref_value(ctx, l);
	assert_ok(shade_invoke(ctx, l, "extend", args1(ctx, r), NULL, NULL,
			       errp_));
	assert_ok(shade_len(l, &n, errp_));
	assert_int_equal(n, 10);
	/* A bound method taken and called locally. */
	assert_ok(shade_getattr(ctx, l, "clear", &m, errp_));
	assert_ok(shade_call(ctx, shade_value_as_ref(m), NULL, NULL, NULL,
			     errp_));
	assert_ok(shade_len(l, &n, errp_));
	assert_int_equal(n, 0);
	talloc_free(r);
	talloc_free(m);
	shade_ref_release(l);
	talloc_free(ctx);
}

/* ============================================================ copy rules */

/*
 * The default: a bare list argument crosses by reference (the peer
 * reads it by calling back: len is one nested round trip), exported
 * while the peer holds it; a bare list result comes by reference and
 * is released when dropped.  Immutables and tuples by value.
 */
static void test_containers_byref_default(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *l5 = ints(ctx, true, 5, 1, 2, 3, 4, 5), *r;
	shade_conn_stats s0, s1;
	peer p;

	start(ctx, &p);
	assert_string_equal(kind_of(ctx, &p, l5, NULL),
			    "ref:builtins.list:proxy");
	assert_string_equal(kind_of(ctx, &p, shade_dict_new(ctx, 0), NULL),
			    "ref:builtins.dict:proxy");
	assert_string_equal(kind_of(ctx, &p, ints(ctx, false, 1, 1), NULL),
			    "tuple");
	/* The peer reads the argument through a call back to us. */
	s0 = tp_stats(p.c);
	r = box_call(ctx, &p, "length", l5, NULL);
	s1 = tp_stats(p.c);
	assert_int_equal(as_int(r), 5);
	assert_int_equal(s1.round_trips - s0.round_trips, 1);
	assert_int_equal(s1.requests_served - s0.requests_served, 1);
	/* Our export of it went once the peer dropped it. */
	assert_ok(shade_conn_flush(p.c, errp_));
	r = box_call(ctx, &p, "echo", shade_int(ctx, 0), NULL);
	assert_int_equal(tp_stats(p.c).exports, 0);
	/* A bare result: the peer exports it while we hold it. */
	r = box_call(ctx, &p, "make", shade_str(ctx, "big"), NULL);
	assert_int_equal(shade_value_kind(r), SHADE_REF);
	assert_int_equal(as_int(box_call(ctx, &p, "exports", NULL, NULL)), 2);
	talloc_free(r);
	assert_ok(shade_conn_flush(p.c, errp_));
	assert_int_equal(as_int(box_call(ctx, &p, "exports", NULL, NULL)), 1);
	stop(&p);
	talloc_free(ctx);
}

/*
 * SETATTR follows the default too: a bare list stored in the peer's
 * attribute is a reference to a container of ours (exported while the
 * peer keeps it), and read back it arrives as that container; marked by
 * value it is stored as a list, and read back it comes as a reference
 * to the peer's.
 */
static void test_containers_setattr(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *l5 = ints(ctx, true, 5, 1, 2, 3, 4, 5), *r, *snap;
	shade_ref *mine;
	peer p;

	start(ctx, &p);
	assert_ok(shade_setattr(p.box, "slot", l5, errp_));
	assert_int_equal(tp_stats(p.c).exports, 1);
	assert_ok(shade_getattr(ctx, p.box, "slot", &r, errp_));
	assert_int_equal(shade_value_kind(r), SHADE_REF);
	mine = shade_value_as_ref(r);
	assert_false(shade_ref_is_proxy(mine));
	assert_true(shade_value_equal(shade_container_value(mine), l5));
	talloc_free(r);
	/* Replaced by a marked list: the peer lets ours go. */
	shade_value_set_byvalue(l5, true);
	assert_ok(shade_setattr(p.box, "slot", l5, errp_));
	assert_int_equal(tp_stats(p.c).exports, 0);
	assert_ok(shade_getattr(ctx, p.box, "slot", &r, errp_));
	assert_int_equal(shade_value_kind(r), SHADE_REF);
	assert_true(shade_ref_is_proxy(shade_value_as_ref(r)));
	assert_ok(shade_force(ctx, shade_value_as_ref(r), &snap, errp_));
	assert_true(shade_value_equal(snap, l5));
	talloc_free(r);
	stop(&p);
	talloc_free(ctx);
}

/* By value per call: the option covers the arguments and the result. */
static void test_containers_byvalue_per_call(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_call_opts bv = { .byvalue = true };
	shade_value *l5 = ints(ctx, true, 5, 1, 2, 3, 4, 5), *r;
	peer p;

	start(ctx, &p);
	assert_string_equal(kind_of(ctx, &p, l5, &bv), "list:int");
	assert_string_equal(kind_of(ctx, &p, shade_dict_new(ctx, 0), &bv),
			    "dict");
	r = box_call(ctx, &p, "make", shade_str(ctx, "big"), &bv);
	assert_int_equal(shade_value_kind(r), SHADE_LIST);
	assert_int_equal(shade_seq_len(r), 1000);
	r = box_call(ctx, &p, "echo", l5, &bv);
	assert_true(shade_value_equal(r, l5));
	assert_int_equal(as_int(box_call(ctx, &p, "exports", NULL, NULL)), 1);
	assert_int_equal(tp_stats(p.c).exports, 0);
	stop(&p);
	talloc_free(ctx);
}

/* By value per value: a marked list crosses as a list both ways, what
 * it holds as values too; the mark survives copies. */
static void test_containers_byvalue_per_value(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *l5 = ints(ctx, true, 5, 1, 2, 3, 4, 5), *r, *t;
	peer p;

	start(ctx, &p);
	shade_value_set_byvalue(l5, true);
	assert_true(shade_value_is_byvalue(l5));
	assert_string_equal(kind_of(ctx, &p, l5, NULL), "list:int");
	/* Inside a tuple too, and in a copy. */
	t = args1(ctx, l5);
	assert_true(shade_value_is_byvalue(shade_seq_at(t, 0)));
	assert_string_equal(kind_of(ctx, &p, t, NULL), "tuple");
	r = box_call(ctx, &p, "make", shade_str(ctx, "marked"), NULL);
	assert_int_equal(shade_value_kind(r), SHADE_LIST);
	assert_true(shade_value_equal(r, ints(ctx, true, 3, 1, 2, 3)));
	/* [[1, 2, 3, 4, 5]] marked: the inner list crosses by value too. */
	shade_value_set_byvalue(l5, false);
	t = shade_list_new(ctx, 1);
	assert_ok(shade_seq_append(t, l5, errp_));
	assert_string_equal(kind_of(ctx, &p, t, NULL),
			    "ref:builtins.list:proxy");
	shade_value_set_byvalue(t, true);
	assert_string_equal(kind_of(ctx, &p, t, NULL), "list:list");
	assert_false(shade_value_is_byvalue(l5));
	assert_string_equal(kind_of(ctx, &p, l5, NULL),
			    "ref:builtins.list:proxy");
	stop(&p);
	talloc_free(ctx);
}

/*
 * What the defaults cost: a 1 000-element list read whole and read by
 * one item, by reference (the result is a reference: FORCE or one
 * GETITEM after it) against by value (the whole list in the reply).
 */
static void test_containers_cost(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_call_opts bv = { .byvalue = true };
	shade_value *what = shade_str(ctx, "big"), *r, *item, *snap;
	shade_value *k = shade_int(ctx, 500);
	shade_conn_stats s0, s1;
	uint64_t ref_one, ref_whole, val;
	peer p;

	start(ctx, &p);
	/* By reference, one item: 2 round trips, a few dozen bytes. */
	s0 = tp_stats(p.c);
	r = box_call(ctx, &p, "make", what, NULL);
	assert_ok(shade_getitem(ctx, shade_value_as_ref(r), k, &item, errp_));
	talloc_free(r);
	assert_ok(shade_conn_flush(p.c, errp_));
	s1 = tp_stats(p.c);
	assert_int_equal(as_int(item), 500);
	assert_int_equal(s1.round_trips - s0.round_trips, 2);
	ref_one = (s1.bytes_sent - s0.bytes_sent) +
		  (s1.bytes_received - s0.bytes_received);
	/* By reference, whole: 2 round trips, the list once. */
	s0 = tp_stats(p.c);
	r = box_call(ctx, &p, "make", what, NULL);
	assert_ok(shade_force(ctx, shade_value_as_ref(r), &snap, errp_));
	talloc_free(r);
	assert_ok(shade_conn_flush(p.c, errp_));
	s1 = tp_stats(p.c);
	assert_int_equal(shade_seq_len(snap), 1000);
	assert_int_equal(s1.round_trips - s0.round_trips, 2);
	ref_whole = (s1.bytes_sent - s0.bytes_sent) +
		    (s1.bytes_received - s0.bytes_received);
	/* By value: 1 round trip, the list in it. */
	s0 = tp_stats(p.c);
	r = box_call(ctx, &p, "make", what, &bv);
	s1 = tp_stats(p.c);
	assert_int_equal(shade_seq_len(r), 1000);
	assert_int_equal(s1.round_trips - s0.round_trips, 1);
	val = (s1.bytes_sent - s0.bytes_sent) +
	      (s1.bytes_received - s0.bytes_received);
	print_message("1000-element list: by reference one item %llu bytes, "
		      "whole %llu bytes; by value %llu bytes\n",
		      (unsigned long long)ref_one,
		      (unsigned long long)ref_whole,
		      (unsigned long long)val);
	/* [0 .. 999] is 2 007 bytes as a typed array (doc/protocol.md 7.4,
	 * both sides set HELLO feature 32): tag 203 and tag 77 two bytes
	 * each, the byte string head 3, then 1000 int16 (as a CBOR array
	 * it would be 2 725: 24 + 232 * 2 + 744 * 3 after the heads). */
	assert_true(val > 2007 && val < 2007 + 40);
	assert_true(ref_one < 80);
	assert_true(ref_whole > 2007 && ref_whole < val + 60);
	stop(&p);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(seed_test_protocol),
		SUITE_CASE(seed_test_method_of_false_obj),
		SUITE_CASE(seed_test_protocol_run),
		SUITE_CASE(seed_test_remote_dict),
		SUITE_CASE(test_containers_list_methods),
		SUITE_CASE(test_containers_dict_methods),
		SUITE_CASE(test_containers_local_methods),
		SUITE_CASE(test_containers_byref_default),
		SUITE_CASE(test_containers_setattr),
		SUITE_CASE(test_containers_byvalue_per_call),
		SUITE_CASE(test_containers_byvalue_per_value),
		SUITE_CASE(test_containers_cost),
	};
	int rc;

	suite_case_cleanup = tu_reap_live_child;
	rc = SUITE_RUN("containers", tests, argc, argv);
	return rc;
}
