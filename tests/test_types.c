/*
 * test_types.c - types as objects and special members.
 *
 * The seed's cases about types (seed_test_*), each over a Unix socket
 * between this process and a child server it forks: class attributes and
 * class methods read and called through an instance, the doc string of a
 * type, a callback, the type of an object arriving as the same reference
 * as the type looked up by name, instantiating a remote type, a computed
 * attribute of a type, isinstance through a chain of bases.  Then the
 * special members (__len__, __getitem__, ...) on objects, locally and
 * remotely, with their round trips counted; non-instantiable types; doc
 * strings carried by DESCRIBE; and the errors of each.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/peer.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"

/* Bound of every wait for the child server. */
#define WAIT_MS 10000

/* ============================================================ handlers */

/* Result helpers: set call->result to an int / bool / str. */
static shade_status ret_int(shade_call_ctx *call, int64_t i)
{
	call->result = shade_int(call->mem, i);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* See ret_int. */
static shade_status ret_bool(shade_call_ctx *call, bool b)
{
	call->result = shade_bool(call->mem, b);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* args[i] as an int, or TypeError. */
static shade_status int_arg(shade_call_ctx *call, size_t i, int64_t *out)
{
	const shade_value *v = call->args && i < shade_seq_len(call->args)
				       ? shade_seq_at(call->args, i)
				       : NULL;

	if (shade_value_kind(v) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "argument %zu is not an int", i);
	*out = v->u.i;
	return SHADE_OK;
}

/* args[i] as a reference, or TypeError. */
static shade_status ref_arg(shade_call_ctx *call, size_t i, shade_ref **out)
{
	const shade_value *v = call->args && i < shade_seq_len(call->args)
				       ? shade_seq_at(call->args, i)
				       : NULL;

	if (shade_value_kind(v) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "argument %zu is not a reference", i);
	*out = shade_value_as_ref(v);
	return SHADE_OK;
}

/* A type whose constructor sets stored attribute `attr` of a new
 * instance to its one int argument (udata: the attribute name). */
static shade_status ctor_one_attr(shade_call_ctx *call)
{
	shade_ref *inst;
	int64_t x;
	shade_value *v;
	shade_status st;

	SHADE_CHECK(int_arg(call, 0, &x));
	SHADE_CHECK(shade_instance_new(call->self, &inst, call->err));
	v = shade_int(NULL, x);
	st = shade_object_add_attr(inst, call->udata, v, false, call->err);
	talloc_free(v);
	if (st != SHADE_OK) {
		shade_ref_release(inst);
		return st;
	}
	call->result = shade_ref_value_take(call->mem, inst);
	return SHADE_OK;
}

/* A.__len__: self.x + 8 (the seed's test_local_obj / test_remote_obj). */
static shade_status a_len(shade_call_ctx *call)
{
	const shade_value *x = shade_object_attr(call->self, "x");

	return ret_int(call, (x ? x->u.i : 0) + 8);
}

/* The seed's class A(x) with __len__; *out the type. */
static shade_status make_type_a(shade_ref **out, shade_error **err)
{
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.A", NULL, ctor_one_attr, "x", out,
				   err));
	st = shade_type_add_method(*out, SHADE_SPECIAL_LEN, a_len, NULL,
				   SHADE_BIND_INSTANCE, err);
	if (st != SHADE_OK)
		shade_ref_release(*out);
	return st;
}

/* Call type t with one int argument; the instance in *out. */
static shade_status instantiate(shade_ref *t, int64_t x, shade_ref **out,
				shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *args = shade_tuple_new(tmp, 1), *res = NULL;
	shade_status st = shade_seq_append_take(args, shade_int(NULL, x), err);

	if (st == SHADE_OK)
		st = shade_call(tmp, t, args, NULL, &res, err);
	if (st == SHADE_OK && shade_value_kind(res) != SHADE_REF)
		st = shade_error_set(err, SHADE_ERR_TYPE, "no instance");
	if (st == SHADE_OK)
		*out = shade_ref_retain(shade_value_as_ref(res));
	talloc_free(tmp);
	return st;
}

/* ============================================================ exports */

/* What a child server exports: built by one of these. */
typedef shade_status (*export_fn)(shade_server *s, shade_error **err);

/* Export r under name and drop the caller's count. */
static shade_status export_take(shade_server *s, const char *name,
				shade_ref *r, shade_error **err)
{
	shade_status st = shade_server_export(s, name, r, err);

	shade_ref_release(r);
	return st;
}

/* Unless st failed: export a new instance of t as "a" and t as "A".
 * Drops the caller's count on t. */
static shade_status export_instance_and_type(shade_server *s, shade_ref *t,
					     shade_status st, shade_error **err)
{
	shade_ref *a;

	if (st == SHADE_OK)
		st = shade_instance_new(t, &a, err);
	if (st == SHADE_OK)
		st = export_take(s, "a", a, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "A", t, err);
	shade_ref_release(t);
	return st;
}

/* echo(x): returns x (the seed's wrap/unwrap through a peer). */
static shade_status fn_echo(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, shade_seq_at(call->args, 0));
	return SHADE_OK;
}

/* test_local_obj: an echo function. */
static shade_status exp_echo(shade_server *s, shade_error **err)
{
	shade_ref *f;

	SHADE_CHECK(shade_function_new("echo", fn_echo, NULL, &f, err));
	return export_take(s, "echo", f, err);
}

/* test_remote_obj: a = A(3). */
static shade_status exp_remote_obj(shade_server *s, shade_error **err)
{
	shade_ref *t, *a;
	shade_status st;

	SHADE_CHECK(make_type_a(&t, err));
	st = instantiate(t, 3, &a, err);
	shade_ref_release(t);
	SHADE_CHECK(st);
	return export_take(s, "a", a, err);
}

/* meth(x): x() + 3, calling back into the client. */
static shade_status a_meth_callback(shade_call_ctx *call)
{
	shade_ref *x;
	shade_value *res = NULL;

	SHADE_CHECK(ref_arg(call, 0, &x));
	SHADE_CHECK(shade_call(call->mem, x, NULL, NULL, &res, call->err));
	if (shade_value_kind(res) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "x() returned no int");
	return ret_int(call, res->u.i + 3);
}

/* A constructor taking nothing. */
static shade_status ctor_plain(shade_call_ctx *call)
{
	shade_ref *inst;

	SHADE_CHECK(shade_instance_new(call->self, &inst, call->err));
	call->result = shade_ref_value_take(call->mem, inst);
	return SHADE_OK;
}

/* test_remote_doc_and_callback: class A: "xxx", meth(x). */
static shade_status exp_doc_callback(shade_server *s, shade_error **err)
{
	shade_ref *t, *a;
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.A", NULL, ctor_plain, NULL, &t, err));
	st = shade_ref_set_doc(t, NULL, "xxx", err);
	if (st == SHADE_OK)
		st = shade_type_add_method(t, "meth", a_meth_callback, NULL,
					   SHADE_BIND_INSTANCE, err);
	if (st == SHADE_OK)
		st = shade_ref_set_doc(t, "meth", "Call x and add 3.", err);
	if (st == SHADE_OK)
		st = shade_instance_new(t, &a, err);
	shade_ref_release(t);
	SHADE_CHECK(st);
	return export_take(s, "a", a, err);
}

/* A.x (a class method): cls.z, where cls must be the type. */
static shade_status a_classmethod_x(shade_call_ctx *call)
{
	const shade_value *z;

	if (call->self == NULL ||
	    shade_ref_shape(call->self)->kind != SHADE_SHAPE_TYPE)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "a class method gets its type");
	z = shade_object_attr(call->self, "z");
	return ret_int(call, z ? z->u.i : -1);
}

/* A.s (a static method): its argument doubled; self must be NULL. */
static shade_status a_static_s(shade_call_ctx *call)
{
	int64_t v;

	if (call->self != NULL)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "a static method gets no object");
	SHADE_CHECK(int_arg(call, 0, &v));
	return ret_int(call, 2 * v);
}

/* test_remote_classmethod: class A: z = 8, classmethod x, staticmethod s. */
static shade_status exp_classmethod(shade_server *s, shade_error **err)
{
	shade_ref *t;
	shade_value *z = shade_int(NULL, 8);
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.A", NULL, ctor_plain, NULL, &t, err));
	st = shade_type_add_attr(t, "z", z, false, err);
	talloc_free(z);
	if (st == SHADE_OK)
		st = shade_type_add_method(t, "x", a_classmethod_x, NULL,
					   SHADE_BIND_CLASS, err);
	if (st == SHADE_OK)
		st = shade_type_add_method(t, "s", a_static_s, NULL,
					   SHADE_BIND_STATIC, err);
	return export_instance_and_type(s, t, st, err);
}

/* A.m(tp): succeeds only when type(self) is tp (a reference compare). */
static shade_status a_m_same_type(shade_call_ctx *call)
{
	shade_ref *tp, *mine;
	bool same;

	SHADE_CHECK(ref_arg(call, 0, &tp));
	SHADE_CHECK(shade_type_of(call->self, &mine, call->err));
	same = shade_ref_same(mine, tp);
	shade_ref_release(mine);
	if (!same)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "type(self) is not tp");
	return ret_bool(call, true);
}

/* test_types_reverse_mapping: a = A(), A. */
static shade_status exp_reverse(shade_server *s, shade_error **err)
{
	shade_ref *t;
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.A", NULL, ctor_plain, NULL, &t, err));
	st = shade_type_add_method(t, "m", a_m_same_type, NULL,
				   SHADE_BIND_INSTANCE, err);
	return export_instance_and_type(s, t, st, err);
}

/* C.x(): self.y. */
static shade_status c_x(shade_call_ctx *call)
{
	const shade_value *y = shade_object_attr(call->self, "y");

	return ret_int(call, y ? y->u.i : -1);
}

/* test_instantiate_remote_type: class C(y) with x(); and N, a type with
 * no constructor. */
static shade_status exp_instantiate(shade_server *s, shade_error **err)
{
	shade_ref *t, *n;
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.C", NULL, ctor_one_attr, "y", &t,
				   err));
	st = shade_type_add_method(t, "x", c_x, NULL, SHADE_BIND_INSTANCE,
				   err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "C", t, err);
	shade_ref_release(t);
	SHADE_CHECK(st);
	SHADE_CHECK(shade_type_new("seed.N", NULL, NULL, NULL, &n, err));
	return export_take(s, "N", n, err);
}

/* getdesc.__get__: 3, when read through an X (udata: the type X). */
static shade_status x_desc_get(shade_call_ctx *call)
{
	shade_ref *t;
	bool same;

	SHADE_CHECK(shade_type_of(call->self, &t, call->err));
	same = shade_ref_same(t, call->udata);
	shade_ref_release(t);
	if (!same)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "type(obj) is not X");
	return ret_int(call, 3);
}

/* test_real_descriptor: class X: x = getdesc(); x = X(). */
static shade_status exp_descriptor(shade_server *s, shade_error **err)
{
	shade_ref *t, *x;
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.X", NULL, ctor_plain, NULL, &t, err));
	st = shade_type_add_property(t, "x", x_desc_get, NULL, t, err);
	if (st == SHADE_OK)
		st = shade_instance_new(t, &x, err);
	shade_ref_release(t);
	SHADE_CHECK(st);
	return export_take(s, "x", x, err);
}

/* test_bases: X, Y(X), Z(Y); exports y = Y(), z = Z(), X and Y. */
static shade_status exp_bases(shade_server *s, shade_error **err)
{
	static const char *const y_bases[] = { "seed.X", NULL };
	static const char *const z_bases[] = { "seed.Y", "seed.X", NULL };
	shade_ref *x, *y, *z, *yi, *zi;
	shade_status st;

	SHADE_CHECK(shade_type_new("seed.X", NULL, ctor_plain, NULL, &x, err));
	SHADE_CHECK(shade_type_new("seed.Y", y_bases, ctor_plain, NULL, &y,
				   err));
	SHADE_CHECK(shade_type_new("seed.Z", z_bases, ctor_plain, NULL, &z,
				   err));
	st = shade_instance_new(y, &yi, err);
	if (st == SHADE_OK)
		st = export_take(s, "y", yi, err);
	if (st == SHADE_OK)
		st = shade_instance_new(z, &zi, err);
	if (st == SHADE_OK)
		st = export_take(s, "z", zi, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "X", x, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "Y", y, err);
	shade_ref_release(x);
	shade_ref_release(y);
	shade_ref_release(z);
	return st;
}

/* ------------------------------------------------------------ the bag
 *
 * demo.Bag: an object over a list of ints, defining every special
 * member through its type; its items live in a shared container held
 * by its stored attribute "items".
 */

/* The list behind a bag. */
static shade_value *bag_items(shade_ref *self)
{
	const shade_value *v = shade_object_attr(self, "items");

	return shade_value_kind(v) == SHADE_REF
		       ? shade_container_value(shade_value_as_ref(v))
		       : NULL;
}

/* __len__ */
static shade_status bag_len(shade_call_ctx *call)
{
	return ret_int(call, (int64_t)shade_seq_len(bag_items(call->self)));
}

/* __getitem__(i) */
static shade_status bag_getitem(shade_call_ctx *call)
{
	const shade_value *got;
	int64_t i;

	SHADE_CHECK(int_arg(call, 0, &i));
	SHADE_CHECK(shade_seq_get(bag_items(call->self), i, &got, call->err));
	call->result = shade_value_copy(call->mem, got);
	return SHADE_OK;
}

/* __setitem__(i, v) */
static shade_status bag_setitem(shade_call_ctx *call)
{
	int64_t i;

	SHADE_CHECK(int_arg(call, 0, &i));
	return shade_seq_set(bag_items(call->self), i,
			     shade_seq_at(call->args, 1), call->err);
}

/* __delitem__(i) */
static shade_status bag_delitem(shade_call_ctx *call)
{
	int64_t i;

	SHADE_CHECK(int_arg(call, 0, &i));
	return shade_seq_delete(bag_items(call->self), i, call->err);
}

/* __contains__(v) */
static shade_status bag_contains(shade_call_ctx *call)
{
	return ret_bool(call, shade_seq_contains(bag_items(call->self),
						 shade_seq_at(call->args, 0)));
}

/* __iter__: the shared container itself. */
static shade_status bag_iter(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem,
					shade_object_attr(call->self, "items"));
	return SHADE_OK;
}

/* __eq__(v): the items equal v. */
static shade_status bag_eq(shade_call_ctx *call)
{
	return ret_bool(call, shade_value_equal(bag_items(call->self),
						shade_seq_at(call->args, 0)));
}

/* __call__(k...): len + the sum of the arguments. */
static shade_status bag_call(shade_call_ctx *call)
{
	int64_t sum = (int64_t)shade_seq_len(bag_items(call->self)), v;
	size_t i;

	for (i = 0; i < shade_seq_len(call->args); i++) {
		SHADE_CHECK(int_arg(call, i, &v));
		sum += v;
	}
	return ret_int(call, sum);
}

/* __repr__: "Bag(n)". */
static shade_status bag_repr(shade_call_ctx *call)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "Bag(%zu)",
		 shade_seq_len(bag_items(call->self)));
	call->result = shade_str(call->mem, buf);
	return SHADE_OK;
}

/* A bag of 0, 10, 20, ... (n items) and its type. */
static shade_status make_bag(int n, shade_ref **out, shade_error **err)
{
	static const struct {
		const char *name;
		shade_method_fn fn;
	} specials[] = {
		{ SHADE_SPECIAL_LEN, bag_len },
		{ SHADE_SPECIAL_GETITEM, bag_getitem },
		{ SHADE_SPECIAL_SETITEM, bag_setitem },
		{ SHADE_SPECIAL_DELITEM, bag_delitem },
		{ SHADE_SPECIAL_CONTAINS, bag_contains },
		{ SHADE_SPECIAL_ITER, bag_iter },
		{ SHADE_SPECIAL_EQ, bag_eq },
		{ SHADE_SPECIAL_CALL, bag_call },
		{ SHADE_SPECIAL_REPR, bag_repr },
	};
	shade_ref *t, *bag = NULL, *cont;
	shade_value *l = shade_list_new(NULL, (size_t)n), *rv;
	shade_status st = SHADE_OK;
	size_t i;

	for (i = 0; st == SHADE_OK && i < (size_t)n; i++)
		st = shade_seq_append_take(l, shade_int(NULL, 10 * (int64_t)i),
					   err);
	if (st != SHADE_OK ||
	    (st = shade_container_new(l, &cont, err)) != SHADE_OK) {
		return st;
	}
	st = shade_type_new("demo.Bag", NULL, NULL, NULL, &t, err);
	for (i = 0; st == SHADE_OK && i < sizeof(specials) / sizeof(*specials);
	     i++)
		st = shade_type_add_method(t, specials[i].name, specials[i].fn,
					   NULL, SHADE_BIND_INSTANCE, err);
	if (st == SHADE_OK)
		st = shade_instance_new(t, &bag, err);
	rv = shade_ref_value_take(NULL, cont);
	if (st == SHADE_OK)
		st = shade_object_add_attr(bag, "items", rv, true, err);
	talloc_free(rv);
	if (t != NULL)
		shade_ref_release(t);
	if (st != SHADE_OK) {
		shade_ref_release(bag);
		return st;
	}
	*out = bag;
	return SHADE_OK;
}

/* __len__ of a liar: a str. */
static shade_status liar_len(shade_call_ctx *call)
{
	call->result = shade_str(call->mem, "three");
	return SHADE_OK;
}

/* A plain dynamic object with a lying __len__ of its own (no type) and
 * an object with no special member at all. */
static shade_status make_liar(shade_ref **liar, shade_ref **plain,
			      shade_error **err)
{
	SHADE_CHECK(shade_object_new("demo.Liar", NULL, liar, err));
	SHADE_CHECK(shade_object_add_method(*liar, SHADE_SPECIAL_LEN,
					    liar_len, NULL, false, err));
	SHADE_CHECK(shade_object_new("demo.Plain", NULL, plain, err));
	return SHADE_OK;
}

/* The shape of demo.Sized, a typed object (a skeleton's dispatch)
 * with a __len__ of its own. */
static const shade_member_desc sized_members[] = {
	{ SHADE_SPECIAL_LEN, SHADE_MEMBER_METHOD, "()->long long", NULL },
};
static const shade_shape_desc sized_shape = {
	SHADE_SHAPE_OBJECT, "demo.Sized", NULL, 0, sized_members, 1, 0, NULL
};

/* Dispatch of demo.Sized: __len__() is *(int *)self, read straight
 * from the request and written straight to the reply. */
static shade_status sized_dispatch(void *self, shade_dispatch_ctx *cx,
				   uint32_t member, shade_dispatch_op op,
				   struct shade_cbor_dec *in,
				   struct shade_buf *out, shade_error **err)
{
	(void)cx;
	if (member != 0 || op != SHADE_DISPATCH_INVOKE)
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE, "no member");
	SHADE_CHECK(shade_cbor_skip(in, 4, err));
	return shade_cbor_put_int(out, *(int *)self);
}

/* The length of every demo.Sized. */
static int sized_len = 42;

/* The special members remotely: bag, liar, plain, sized. */
static shade_status exp_specials(shade_server *s, shade_error **err)
{
	shade_ref *bag, *liar, *plain, *sized;

	SHADE_CHECK(shade_object_new_typed(&sized_shape, sized_dispatch,
					   &sized_len, &sized, err));
	SHADE_CHECK(export_take(s, "sized", sized, err));

	SHADE_CHECK(make_bag(5, &bag, err));
	SHADE_CHECK(export_take(s, "bag", bag, err));
	SHADE_CHECK(make_liar(&liar, &plain, err));
	SHADE_CHECK(export_take(s, "liar", liar, err));
	return export_take(s, "plain", plain, err);
}

/* ============================================================ child */

/* The child's server, for its SIGTERM handler. */
static shade_server *child_server;

/* SIGTERM in the child: stop the loop. */
static void child_on_term(int sig)
{
	(void)sig;
	if (child_server != NULL)
		shade_server_stop(child_server);
}

/* What the child gets from the parent. */
typedef struct child_args {
	export_fn exports;  /* what to export */
	const char *addr;   /* where to listen */
	int ready_fd;       /* write end of the pipe: "ready\n" */
	int other_fd;       /* read end (the parent's), closed here */
	pid_t parent;       /* the test process */
} child_args;

/* The child: export, listen, say so, serve until SIGTERM; 0 on a clean
 * stop. */
static int child_main(void *arg)
{
	child_args *a = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_error *err = NULL;
	struct sigaction sa;
	int rc = 1;

	close(a->other_fd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (shade_server_new(ctx, NULL, &child_server, &err) == SHADE_OK &&
	    a->exports(child_server, &err) == SHADE_OK &&
	    shade_server_listen(child_server, a->addr, &err) == SHADE_OK &&
	    dprintf(a->ready_fd, "ready\n") > 0) {
		close(a->ready_fd);
		a->ready_fd = -1;
		if (shade_server_run(child_server, &err) == SHADE_OK)
			rc = 0;
	}
	if (rc != 0)
		fprintf(stderr, "types server: %s\n",
			err ? err->message : "failed");
	if (a->ready_fd >= 0)
		close(a->ready_fd);
	shade_error_free(err);
	child_server = NULL;
	talloc_free(ctx);
	return rc;
}

/* ============================================================ the parent */

/* The child server of the running case (0: none), killed by the case's
 * teardown when a failed assertion skipped remote_stop. */
static pid_t live_child;

/* Case clean-up: no child outlives its case. */
static void reap_child(void)
{
	if (live_child > 0)
		tu_kill_child(live_child);
	live_child = 0;
}

/* A child server and the connection to it. */
typedef struct remote {
	pid_t pid;    /* the child */
	char *dir;    /* its directory (removes itself when freed) */
	shade_conn *c;/* the client connection */
} remote;

/* Fork a child exporting what fn exports, wait until it listens and
 * connect to it; everything on ctx. */
static void remote_start(TALLOC_CTX *ctx, remote *r, export_fn fn)
{
	char buf[16];
	size_t got = 0;
	int fds[2];
	child_args a;
	struct pollfd p;
	ssize_t n;
	char *addr;

	r->dir = tu_mkdtemp(ctx);
	assert_non_null(r->dir);
	addr = talloc_asprintf(ctx, "unix:%s/types.sock", r->dir);
	assert_non_null(addr);
	assert_int_equal(pipe(fds), 0);
	a = (child_args){ fn, addr, fds[1], fds[0], getpid() };
	r->pid = tu_fork(child_main, &a);
	live_child = r->pid;
	close(fds[1]);
	assert_true(r->pid > 0);
	p.fd = fds[0];
	p.events = POLLIN;
	while (got < sizeof(buf) - 1 && memchr(buf, '\n', got) == NULL) {
		p.revents = 0;
		if (poll(&p, 1, WAIT_MS) <= 0)
			break;
		n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0)
			got += (size_t)n;
	}
	close(fds[0]);
	if (memchr(buf, '\n', got) == NULL)
		fail_msg("the child server did not start");
	assert_ok(shade_connect(ctx, addr, NULL, &r->c, errp_));
}

/* Close the connection, stop the child: it must exit 0 in time. */
static void remote_stop(remote *r)
{
	int status = 0;

	shade_conn_close(r->c);
	assert_int_equal(kill(r->pid, SIGTERM), 0);
	live_child = 0;
	if (!tu_wait_child(r->pid, WAIT_MS, &status)) {
		tu_kill_child(r->pid);
		fail_msg("the child server did not stop");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The object exported as name (asserting it exists). */
static shade_ref *lookup(remote *r, const char *name)
{
	shade_ref *x = NULL;

	assert_ok(shade_lookup(r->c, name, &x, errp_));
	return x;
}

/* r.name as an int (asserting it is one). */
static int64_t getattr_int(shade_ref *r, const char *name)
{
	shade_value *v = NULL;
	int64_t i;

	assert_ok(shade_getattr(NULL, r, name, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_INT);
	i = v->u.i;
	talloc_free(v);
	return i;
}

/* r.name(args) as an int (asserting it is one); args NULL: none. */
static int64_t invoke_int(shade_ref *r, const char *name,
			  const shade_value *args)
{
	shade_value *v = NULL;
	int64_t i;

	assert_ok(shade_invoke(NULL, r, name, args, NULL, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_INT);
	i = v->u.i;
	talloc_free(v);
	return i;
}

/* A one-item tuple holding a copy of v, on ctx. */
static shade_value *tuple1(TALLOC_CTX *ctx, const shade_value *v)
{
	shade_value *t = shade_tuple_new(ctx, 1);

	assert_non_null(t);
	assert_ok(shade_seq_append(t, v, errp_));
	return t;
}

/* Expect st to be `code` with a message containing `text`; frees *ep
 * (the error the call set) and clears it. */
static void expect_error(shade_status st, shade_error **ep, shade_status code,
			 const char *text)
{
	shade_error *e = *ep;

	*ep = NULL;
	assert_int_equal(st, code);
	assert_non_null(e);
	if (strstr(e->message, text) == NULL) {
		shade_error_free(e);
		fail_msg("error lacks '%s'", text);
	}
	shade_error_free(e);
}

/* ============================================================ seed cases */

/* test_local_obj: A(3) used locally, and after a trip through a peer
 * (wrap/unwrap) it comes back as the same local object. */
static void seed_test_local_obj(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_ref *t, *a, *echo, *item;
	shade_value *args, *res = NULL;
	remote r;
	size_t n = 0;

	(void)state;
	assert_ok(make_type_a(&t, errp_));
	assert_ok(instantiate(t, 3, &a, errp_));
	assert_int_equal(getattr_int(a, "x"), 3);
	assert_ok(shade_len(a, &n, errp_));
	assert_int_equal(n, 11);
	remote_start(ctx, &r, exp_echo);
	echo = lookup(&r, "echo");
	args = shade_tuple_new(ctx, 1);
	assert_ok(shade_seq_append_take(args, shade_ref_value(NULL, a),
					errp_));
	assert_ok(shade_call(ctx, echo, args, NULL, &res, errp_));
	assert_int_equal(shade_value_kind(res), SHADE_REF);
	item = shade_value_as_ref(res);
	assert_false(shade_ref_is_proxy(item));
	assert_true(shade_ref_same(item, a));
	assert_int_equal(getattr_int(item, "x"), 3);
	assert_ok(shade_len(item, &n, errp_));
	assert_int_equal(n, 11);
	talloc_free(res);
	talloc_free(args);
	shade_ref_release(echo);
	remote_stop(&r);
	shade_ref_release(a);
	shade_ref_release(t);
}

/* test_remote_obj: xa.x == 3 and len(xa) == 11, one round trip each. */
static void seed_test_remote_obj(void **state)
{
	remote r;
	shade_ref *xa;
	uint64_t before;
	size_t n = 0;

	(void)state;
	remote_start(suite_case_ctx, &r, exp_remote_obj);
	xa = lookup(&r, "a");
	assert_string_equal(shade_ref_type_name(xa), "seed.A");
	assert_int_equal(getattr_int(xa, "x"), 3);
	before = tp_stats(r.c).round_trips;
	assert_ok(shade_len(xa, &n, errp_));
	assert_int_equal(n, 11);
	assert_int_equal(tp_stats(r.c).round_trips - before, 1);
	shade_ref_release(xa);
	remote_stop(&r);
}

/* x(): 1, the client's callback. */
static shade_status fn_one(shade_call_ctx *call)
{
	return ret_int(call, 1);
}

/* test_remote_doc_and_callback: xa.__class__.__doc__ == 'xxx' and
 * xa.meth(x) == 4 with x a function of the client. */
static void seed_test_remote_doc_and_callback(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	remote r;
	shade_ref *xa, *cls = NULL, *x;
	shade_value *args;

	(void)state;
	remote_start(ctx, &r, exp_doc_callback);
	xa = lookup(&r, "a");
	assert_ok(shade_type_of(xa, &cls, errp_));
	assert_true(shade_ref_is_proxy(cls));
	assert_string_equal(shade_ref_doc(cls, NULL), "xxx");
	assert_string_equal(shade_ref_doc(cls, "meth"), "Call x and add 3.");
	/* the instance's shape carries its type's doc too */
	assert_string_equal(shade_ref_doc(xa, NULL), "xxx");
	assert_ok(shade_function_new("x", fn_one, NULL, &x, errp_));
	args = shade_tuple_new(ctx, 1);
	assert_ok(shade_seq_append_take(args, shade_ref_value(NULL, x),
					errp_));
	assert_int_equal(invoke_int(xa, "meth", args), 4);
	talloc_free(args);
	shade_ref_release(x);
	shade_ref_release(cls);
	shade_ref_release(xa);
	remote_stop(&r);
}

/* test_remote_classmethod: xa.x() == 8 (a class method through an
 * instance), xa.z == 8 (a class attribute through it), and the same
 * through the type; a static method; the class attribute written
 * through the type, refused through the instance. */
static void seed_test_remote_classmethod(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	remote r;
	shade_ref *xa, *xA;
	shade_value *nine = shade_int(ctx, 9), *args;
	shade_error *e = NULL;
	uint64_t before;

	(void)state;
	remote_start(ctx, &r, exp_classmethod);
	xa = lookup(&r, "a");
	xA = lookup(&r, "A");
	before = tp_stats(r.c).round_trips;
	assert_int_equal(invoke_int(xa, "x", NULL), 8);
	assert_int_equal(tp_stats(r.c).round_trips - before, 1);
	assert_int_equal(getattr_int(xa, "z"), 8);
	assert_int_equal(invoke_int(xA, "x", NULL), 8);
	assert_int_equal(getattr_int(xA, "z"), 8);
	args = tuple1(ctx, nine);
	assert_int_equal(invoke_int(xa, "s", args), 18);
	assert_int_equal(invoke_int(xA, "s", args), 18);
	/* z is readonly through an instance, writable through the type */
	expect_error(shade_setattr(xa, "z", nine, &e), &e,
		     SHADE_ERR_ATTRIBUTE, "readonly");
	assert_ok(shade_setattr(xA, "z", nine, errp_));
	assert_int_equal(invoke_int(xa, "x", NULL), 9);
	assert_int_equal(getattr_int(xa, "z"), 9);
	shade_ref_release(xA);
	shade_ref_release(xa);
	remote_stop(&r);
}

/* test_types_reverse_mapping: xa.m(xA) where m checks type(self) is tp
 * on the server; and type(xa) on the client is the very proxy xA. */
static void seed_test_types_reverse_mapping(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	remote r;
	shade_ref *xa, *xA, *t = NULL;
	shade_value *args, *res = NULL;

	(void)state;
	remote_start(ctx, &r, exp_reverse);
	xa = lookup(&r, "a");
	xA = lookup(&r, "A");
	args = shade_tuple_new(ctx, 1);
	assert_ok(shade_seq_append_take(args, shade_ref_value(NULL, xA),
					errp_));
	assert_ok(shade_invoke(ctx, xa, "m", args, NULL, &res, errp_));
	assert_int_equal(shade_value_kind(res), SHADE_BOOL);
	assert_true(res->u.b);
	assert_ok(shade_type_of(xa, &t, errp_));
	assert_true(shade_ref_same(t, xA));
	shade_ref_release(t);
	talloc_free(args);
	shade_ref_release(xA);
	shade_ref_release(xa);
	remote_stop(&r);
}

/* test_instantiate_remote_type: xc = xC(3); xc.x() == 3; its type is
 * xC. */
static void seed_test_instantiate_remote_type(void **state)
{
	remote r;
	shade_ref *xC, *xc = NULL, *t = NULL;
	bool is = false;

	(void)state;
	remote_start(suite_case_ctx, &r, exp_instantiate);
	xC = lookup(&r, "C");
	assert_ok(instantiate(xC, 3, &xc, errp_));
	assert_true(shade_ref_is_proxy(xc));
	assert_int_equal(invoke_int(xc, "x", NULL), 3);
	assert_ok(shade_isinstance(xc, xC, &is, errp_));
	assert_true(is);
	assert_ok(shade_type_of(xc, &t, errp_));
	assert_true(shade_ref_same(t, xC));
	shade_ref_release(t);
	shade_ref_release(xc);
	shade_ref_release(xC);
	remote_stop(&r);
}

/* test_real_descriptor: xx.x == 3, computed by a getter of the type X
 * that checks type(obj) is X. */
static void seed_test_real_descriptor(void **state)
{
	remote r;
	shade_ref *xx;

	(void)state;
	remote_start(suite_case_ctx, &r, exp_descriptor);
	xx = lookup(&r, "x");
	assert_int_equal(getattr_int(xx, "x"), 3);
	shade_ref_release(xx);
	remote_stop(&r);
}

/* test_bases: isinstance(xy, xX), and through a chain Z(Y(X)); not the
 * other way round. */
static void seed_test_bases(void **state)
{
	remote r;
	shade_ref *xy, *xz, *xX, *xY;
	bool is = false;

	(void)state;
	remote_start(suite_case_ctx, &r, exp_bases);
	xy = lookup(&r, "y");
	xz = lookup(&r, "z");
	xX = lookup(&r, "X");
	xY = lookup(&r, "Y");
	assert_ok(shade_isinstance(xy, xX, &is, errp_));
	assert_true(is);
	assert_ok(shade_isinstance(xz, xX, &is, errp_));
	assert_true(is);
	assert_ok(shade_isinstance(xz, xY, &is, errp_));
	assert_true(is);
	assert_ok(shade_isinstance(xy, xY, &is, errp_));
	assert_true(is);
	assert_ok(shade_isinstance(xX, xY, &is, errp_));
	assert_false(is);
	shade_ref_release(xY);
	shade_ref_release(xX);
	shade_ref_release(xz);
	shade_ref_release(xy);
	remote_stop(&r);
}

/* ============================================================ specials */

/* Every special member of a bag of 0, 10, 20, 30, 40 through the
 * container calls; c the connection when bag is a proxy (each call
 * then one round trip), NULL when it is local. */
static void exercise_bag(TALLOC_CTX *ctx, shade_ref *bag, shade_conn *c)
{
	shade_value *k = shade_int(ctx, 1), *v = shade_int(ctx, 99), *got;
	shade_value *want, *args;
	const shade_value *item;
	shade_iter *it;
	uint64_t before = c ? tp_stats(c).round_trips : 0;
	size_t n = 0, i;
	bool b = false;
	char *s;

	assert_ok(shade_len(bag, &n, errp_));
	assert_int_equal(n, 5);
	assert_ok(shade_getitem(ctx, bag, k, &got, errp_));
	assert_int_equal(got->u.i, 10);
	assert_ok(shade_setitem(bag, k, v, errp_));
	assert_ok(shade_getitem(ctx, bag, k, &got, errp_));
	assert_int_equal(got->u.i, 99);
	assert_ok(shade_contains(bag, v, &b, errp_));
	assert_true(b);
	assert_ok(shade_delitem(bag, k, errp_));
	assert_ok(shade_contains(bag, v, &b, errp_));
	assert_false(b);
	assert_ok(shade_len(bag, &n, errp_));
	assert_int_equal(n, 4);
	if (c != NULL)
		assert_int_equal(tp_stats(c).round_trips - before, 8);
	/* iteration in chunks of 3: two FORCEs, each calling __iter__ */
	assert_ok(shade_iter_new(ctx, bag, 3, &it, errp_));
	for (i = 0;; i++) {
		assert_ok(shade_iter_next(it, &item, errp_));
		if (item == NULL)
			break;
		assert_int_equal(item->u.i, (int64_t)(i == 0 ? 0 : 10 * (i + 1)));
	}
	assert_int_equal(i, 4);
	talloc_free(it);
	want = shade_list_new(ctx, 4);
	for (i = 0; i < 4; i++)
		assert_ok(shade_seq_append_take(
			want, shade_int(NULL, i == 0 ? 0 : 10 * (int64_t)(i + 1)),
			errp_));
	before = c ? tp_stats(c).round_trips : 0;
	assert_ok(shade_equal(bag, want, &b, errp_));
	assert_true(b);
	assert_ok(shade_equal(bag, k, &b, errp_));
	assert_false(b);
	args = tuple1(ctx, v);
	assert_ok(shade_call(ctx, bag, args, NULL, &got, errp_));
	assert_int_equal(got->u.i, 4 + 99);
	assert_ok(shade_repr(ctx, bag, &s, errp_));
	assert_string_equal(s, "Bag(4)");
	if (c != NULL)
		assert_int_equal(tp_stats(c).round_trips - before, 4);
}

/* The special members on a local object. */
static void test_types_special_local(void **state)
{
	shade_ref *bag;

	(void)state;
	assert_ok(make_bag(5, &bag, errp_));
	exercise_bag(suite_case_ctx, bag, NULL);
	shade_ref_release(bag);
}

/* The special members on a remote object: each one round trip. */
static void test_types_special_remote(void **state)
{
	remote r;
	shade_ref *bag;

	(void)state;
	remote_start(suite_case_ctx, &r, exp_specials);
	bag = lookup(&r, "bag");
	exercise_bag(suite_case_ctx, bag, r.c);
	shade_ref_release(bag);
	remote_stop(&r);
}

/* A typed object with a __len__ in its declared shape: shade_len on it,
 * locally and remotely (one round trip). */
static void test_types_special_typed(void **state)
{
	shade_ref *sized, *rs;
	uint64_t before;
	size_t n = 0;
	remote r;

	(void)state;
	assert_ok(shade_object_new_typed(&sized_shape, sized_dispatch,
					 &sized_len, &sized, errp_));
	assert_ok(shade_len(sized, &n, errp_));
	assert_int_equal(n, 42);
	remote_start(suite_case_ctx, &r, exp_specials);
	rs = lookup(&r, "sized");
	before = tp_stats(r.c).round_trips;
	assert_ok(shade_len(rs, &n, errp_));
	assert_int_equal(n, 42);
	assert_int_equal(tp_stats(r.c).round_trips - before, 1);
	shade_ref_release(rs);
	remote_stop(&r);
	shade_ref_release(sized);
}

/* A special member returning the wrong kind, and an object with none:
 * TypeError, locally and remotely, the connection carrying on. */
static void test_types_special_errors(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_ref *liar, *plain, *rl, *rp;
	shade_error *e = NULL;
	shade_value *out = NULL;
	size_t n = 0;
	char *s = NULL;
	remote r;
	int pass;

	(void)state;
	assert_ok(make_liar(&liar, &plain, errp_));
	remote_start(ctx, &r, exp_specials);
	rl = lookup(&r, "liar");
	rp = lookup(&r, "plain");
	for (pass = 0; pass < 2; pass++) {
		shade_ref *l = pass ? rl : liar, *p = pass ? rp : plain;

		expect_error(shade_len(l, &n, &e), &e, SHADE_ERR_TYPE,
			     "__len__ returned str, not an int >= 0");
		expect_error(shade_len(p, &n, &e), &e, SHADE_ERR_TYPE,
			     "'demo.Plain' object is not a container");
		expect_error(shade_call(ctx, p, NULL, NULL, &out, &e), &e,
			     SHADE_ERR_TYPE,
			     "'demo.Plain' object is not callable");
		assert_ok(shade_repr(ctx, p, &s, errp_));
		assert_string_equal(s, "<demo.Plain object>");
	}
	assert_true(shade_conn_is_open(r.c));
	shade_ref_release(rp);
	shade_ref_release(rl);
	remote_stop(&r);
	shade_ref_release(plain);
	shade_ref_release(liar);
}

/* ============================================================ types */

/* A type with no constructor: made without complaint; calling it is
 * TypeError locally and remotely; it still serves isinstance. */
static void test_types_not_instantiable(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_ref *n, *xN;
	shade_error *e = NULL;
	shade_value *out = NULL;
	remote r;

	(void)state;
	assert_ok(shade_type_new("seed.N", NULL, NULL, NULL, &n, errp_));
	expect_error(shade_call(ctx, n, NULL, NULL, &out, &e), &e,
		     SHADE_ERR_TYPE, "cannot create 'seed.N' instances");
	remote_start(ctx, &r, exp_instantiate);
	xN = lookup(&r, "N");
	expect_error(shade_call(ctx, xN, NULL, NULL, &out, &e), &e,
		     SHADE_ERR_TYPE, "cannot create 'seed.N' instances");
	assert_true(shade_conn_is_open(r.c));
	shade_ref_release(xN);
	remote_stop(&r);
	shade_ref_release(n);
}

/* Misuse of types: an instance method through the type, members added
 * after the first instance, the type of an object that has none (also
 * asked of a peer), a doc on a member that does not exist. */
static void test_types_errors(void **state)
{
	TALLOC_CTX *ctx = suite_case_ctx;
	shade_ref *t, *a, *plain, *liar, *got = NULL, *xp;
	shade_error *e = NULL;
	shade_value *out = NULL;
	remote r;

	(void)state;
	assert_ok(make_type_a(&t, errp_));
	expect_error(shade_invoke(ctx, t, SHADE_SPECIAL_LEN, NULL, NULL, &out,
				  &e),
		     &e, SHADE_ERR_TYPE, "needs an instance");
	assert_ok(shade_ref_set_doc(t, NULL, "A type.", errp_));
	expect_error(shade_ref_set_doc(t, "nope", "x", &e), &e,
		     SHADE_ERR_INVALID, "has no member nope");
	assert_ok(instantiate(t, 1, &a, errp_));
	expect_error(shade_type_add_attr(t, "late", NULL, false, &e), &e,
		     SHADE_ERR_INVALID, "already has instances");
	expect_error(shade_ref_set_doc(t, NULL, "late", &e), &e,
		     SHADE_ERR_INVALID, "already has instances");
	/* an instance may not take a name its type has */
	expect_error(shade_object_add_attr(a, SHADE_SPECIAL_LEN, NULL, false,
					   &e),
		     &e, SHADE_ERR_INVALID, "already has a member");
	assert_ok(shade_type_of(a, &got, errp_));
	assert_true(shade_ref_same(got, t));
	shade_ref_release(got);
	assert_ok(make_liar(&liar, &plain, errp_));
	expect_error(shade_type_of(plain, &got, &e), &e, SHADE_ERR_TYPE,
		     "'demo.Plain' object has no type object");
	remote_start(ctx, &r, exp_specials);
	xp = lookup(&r, "plain");
	expect_error(shade_type_of(xp, &got, &e), &e, SHADE_ERR_TYPE,
		     "'demo.Plain' object has no type object");
	assert_true(shade_conn_is_open(r.c));
	shade_ref_release(xp);
	remote_stop(&r);
	shade_ref_release(plain);
	shade_ref_release(liar);
	shade_ref_release(a);
	shade_ref_release(t);
}

/* Doc strings travel in the shape: DESCRIBE of a remote object gives
 * the type's doc and each member's; a doc changes the fingerprint while
 * a shape without docs keeps the one it had. */
static void test_types_doc_describe(void **state)
{
	static const shade_member_desc m[] = {
		{ "x", SHADE_MEMBER_ATTR, NULL, NULL },
		{ "meth", SHADE_MEMBER_METHOD, NULL, "Does it." },
	};
	static const shade_shape_desc plain = {
		SHADE_SHAPE_OBJECT, "demo.Obj", NULL, 0, m, 1, 0, NULL
	};
	static const shade_member_desc m2[] = {
		{ "x", SHADE_MEMBER_ATTR, NULL, NULL },
		{ "meth", SHADE_MEMBER_METHOD, NULL, NULL },
	};
	static const shade_shape_desc plain2 = {
		SHADE_SHAPE_OBJECT, "demo.Obj", NULL, 0, m2, 2, 0, NULL
	};
	static const shade_shape_desc doc = {
		SHADE_SHAPE_OBJECT, "demo.Obj", NULL, 0, m, 2, 0, "An Obj."
	};
	const shade_shape_desc *d = NULL;
	shade_shape_desc *copy;
	uint8_t *bytes = NULL;
	remote r;
	shade_ref *xa, *cls = NULL;
	uint64_t before;

	(void)state;
	/* doc/protocol.md §8.1: with docs, and without (the docs of the
	 * members it leaves out do not count) */
	assert_true(shade_shape_fp(&doc) == UINT64_C(0xc437c94c963e5180));
	assert_true(shade_shape_fp(&plain) != shade_shape_fp(&doc));
	assert_true(shade_shape_fp(&plain2) == UINT64_C(0xa97a6d863d18078a));
	assert_ok(shade_shape_canonical(suite_case_ctx, &doc, &bytes, errp_));
	assert_non_null(memmem(bytes, talloc_get_size(bytes), "An Obj.", 7));
	assert_non_null(memmem(bytes, talloc_get_size(bytes), "Does it.", 8));
	copy = shade_shape_copy(suite_case_ctx, &doc);
	assert_non_null(copy);
	assert_string_equal(copy->doc, "An Obj.");
	assert_null(copy->members[0].doc);
	assert_string_equal(copy->members[1].doc, "Does it.");
	assert_true(copy->fingerprint == shade_shape_fp(&doc));

	remote_start(suite_case_ctx, &r, exp_doc_callback);
	xa = lookup(&r, "a");
	before = tp_stats(r.c).round_trips;
	assert_ok(shade_describe(xa, &d, errp_));
	assert_int_equal(tp_stats(r.c).round_trips - before, 1);
	assert_string_equal(d->doc, "xxx");
	assert_int_equal(d->n_members, 1);
	assert_string_equal(d->members[0].name, "meth");
	assert_string_equal(d->members[0].doc, "Call x and add 3.");
	assert_ok(shade_type_of(xa, &cls, errp_));
	assert_ok(shade_describe(cls, &d, errp_));
	assert_int_equal(d->kind, SHADE_SHAPE_TYPE);
	assert_string_equal(d->doc, "xxx");
	assert_string_equal(d->members[0].doc, "Call x and add 3.");
	shade_ref_release(cls);
	shade_ref_release(xa);
	remote_stop(&r);
}

#define T(name) SUITE_CASE(name)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(seed_test_local_obj),
		T(seed_test_remote_obj),
		T(seed_test_remote_doc_and_callback),
		T(seed_test_remote_classmethod),
		T(seed_test_types_reverse_mapping),
		T(seed_test_instantiate_remote_type),
		T(seed_test_real_descriptor),
		T(seed_test_bases),
		T(test_types_special_local),
		T(test_types_special_remote),
		T(test_types_special_typed),
		T(test_types_special_errors),
		T(test_types_not_instantiable),
		T(test_types_errors),
		T(test_types_doc_describe),
	};

	suite_case_cleanup = reap_child;
	return SUITE_RUN("types", tests, argc, argv);
}
