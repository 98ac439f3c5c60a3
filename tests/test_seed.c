/*
 * test_seed.c - the seed's cases (lib_pypy/distributed's test suite) that
 * this suite ports, named seed_<case>, and the post-mortem, plain
 * values, namespaces, user codes and described fields they lean on.
 *
 * Every case runs against a server in a child process (tu_fork) over a
 * Unix socket in a fresh directory: the child serves one of three
 * profiles (everything, nothing, or the plain values x = 3 and y = 8),
 * says it is ready on a pipe, and is stopped by pid with SIGTERM; it
 * must then exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"

/* Bound on every wait of this suite (ms). */
#define SEED_WAIT_MS 20000

/* ============================================================ the child */

static shade_server *child_server;

/* The client's callable kept by a.meth() for a.perform() (the seed's
 * test_double_reference). */
static shade_ref *held_one;

/* g(), which fcb calls by the pointer it was given (kept while the
 * child serves). */
static shade_ref *child_g;

/* SIGTERM: stop the loop. */
static void child_on_term(int sig)
{
	(void)sig;
	if (child_server != NULL)
		shade_server_stop(child_server);
}

/* Result helper: call->result = an int, or NoMemory. */
static shade_status ret_int(shade_call_ctx *call, int64_t v)
{
	call->result = shade_int(call->mem, v);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Argument i as an int, or TypeError. */
static shade_status arg_int(shade_call_ctx *call, size_t i, int64_t *out)
{
	const shade_value *v;

	if (shade_seq_len(call->args) <= i ||
	    shade_value_kind(v = shade_seq_at(call->args, i)) != SHADE_INT)
		return SHADE_RAISE(call->err, SHADE_ERR_TYPE,
				   "%s: argument %zu is not an int",
				   call->member, i);
	*out = shade_value_as_int(v);
	return SHADE_OK;
}

/* f(x, y): x + y. */
static shade_status fn_add(shade_call_ctx *call)
{
	int64_t x, y;

	SHADE_CHECK(arg_int(call, 0, &x));
	SHADE_CHECK(arg_int(call, 1, &y));
	return ret_int(call, x + y);
}

/* g(): 8. */
static shade_status fn_g(shade_call_ctx *call)
{
	return ret_int(call, 8);
}

/* fcb(x): x + g(), g the function in udata. */
static shade_status fn_fcb(shade_call_ctx *call)
{
	shade_value *r;
	int64_t x;

	SHADE_CHECK(arg_int(call, 0, &x));
	SHADE_CHECK(shade_call(call->mem, call->udata, NULL, NULL, &r,
			       call->err));
	return ret_int(call, x + shade_value_as_int(r));
}

/* relay(cb): cb(), passing its failure on with this frame added. */
static shade_status fn_relay(shade_call_ctx *call)
{
	const shade_value *cb;
	shade_value depth = shade_value_int(1);

	if (shade_seq_len(call->args) != 1 ||
	    shade_value_kind(cb = shade_seq_at(call->args, 0)) != SHADE_REF)
		return SHADE_RAISE(call->err, SHADE_ERR_TYPE,
				   "relay() takes one callable");
	if (shade_call(call->mem, shade_value_as_ref(cb), NULL, NULL,
		       &call->result, call->err) == SHADE_OK)
		return SHADE_OK;
	SHADE_ERROR_FRAME(call->err);
	shade_error_attach(call->err, "depth", &depth);
	return (*call->err)->code;
}

/* a.meth(one): keep the caller's callable. */
static shade_status a_meth(shade_call_ctx *call)
{
	const shade_value *one;

	if (shade_seq_len(call->args) != 1 ||
	    shade_value_kind(one = shade_seq_at(call->args, 0)) != SHADE_REF)
		return SHADE_RAISE(call->err, SHADE_ERR_TYPE,
				   "meth() takes one callable");
	if (held_one != NULL)
		shade_ref_release(held_one);
	held_one = shade_ref_retain(shade_value_as_ref(one));
	return SHADE_OK;
}

/* a.perform(): 1 + len(self.one()). */
static shade_status a_perform(shade_call_ctx *call)
{
	shade_value *r;
	size_t n;

	if (held_one == NULL)
		return SHADE_RAISE(call->err, SHADE_ERR_ATTRIBUTE,
				   "'A' object has no attribute 'one'");
	SHADE_CHECK(shade_call(call->mem, held_one, NULL, NULL, &r,
			       call->err));
	/* the list stays with the caller (lists cross by reference):
	 * len() asks it, as the seed's len(self.one()) does */
	if (shade_value_kind(r) != SHADE_REF)
		return SHADE_RAISE(call->err, SHADE_ERR_TYPE,
				   "one() did not return a shared list");
	SHADE_CHECK(shade_len(shade_value_as_ref(r), &n, call->err));
	return ret_int(call, 1 + (int64_t)n);
}

/* Divide as C must, raising where it happens. */
static shade_status checked_div(int64_t a, int64_t b, int64_t *out,
				shade_error **err)
{
	if (b == 0)
		return SHADE_RAISE(err, SHADE_ERR_ZERO_DIVISION,
				   "division by zero (%lld / %lld)",
				   (long long)a, (long long)b);
	*out = a / b;
	return SHADE_OK;
}

/* raising(): 1 / 0. */
static shade_status fn_raising(shade_call_ctx *call)
{
	int64_t q = 0;

	SHADE_CHECK(checked_div(1, 0, &q, call->err));
	return ret_int(call, q);
}

/* Take amount out of *balance, or raise ValueError with both attached. */
static shade_status withdraw(int64_t *balance, int64_t amount,
			     shade_error **err)
{
	shade_value b = shade_value_int(*balance), a = shade_value_int(amount);

	if (amount <= *balance) {
		*balance -= amount;
		return SHADE_OK;
	}
	SHADE_RAISE(err, SHADE_ERR_VALUE, "insufficient funds");
	shade_error_attach(err, "balance", &b);
	shade_error_attach(err, "amount", &a);
	return SHADE_ERR_VALUE;
}

/* bank.transfer(amount) from an account of 100: withdraw() fails above
 * it; this frame adds its own values. */
static shade_status bank_transfer(shade_call_ctx *call)
{
	int64_t balance = 100, amount;
	shade_value who = shade_value_none();

	SHADE_CHECK(arg_int(call, 0, &amount));
	if (withdraw(&balance, amount, call->err) == SHADE_OK)
		return ret_int(call, balance);
	SHADE_ERROR_FRAME(call->err);
	shade_error_attach(call->err, "account",
			   shade_str(call->mem, "alice"));
	shade_error_attach(call->err, "nothing", &who);
	return (*call->err)->code;
}

/* bank.exports(): objects this connection holds for its peer now. */
static shade_status bank_exports(shade_call_ctx *call)
{
	shade_conn_stats s;

	shade_conn_stats_get(call->conn, &s);
	return ret_int(call, (int64_t)s.exports);
}

/* bank.overdraw(): the user error bank.Overdrawn with the application's
 * code 42 and the fields (100, 250), as a typed exception carries
 * them. */
static shade_status bank_overdraw(shade_call_ctx *call)
{
	shade_value *args = shade_tuple_new(NULL, 2);
	shade_value f0 = shade_value_int(100), f1 = shade_value_int(250);

	if (args == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
	shade_seq_append(args, &f0, NULL);
	shade_seq_append(args, &f1, NULL);
	shade_error_set_user(call->err, "bank.Overdrawn", 42,
			     "balance too low");
	if (*call->err != NULL && (*call->err)->args == NULL)
		(*call->err)->args = talloc_steal(*call->err, args);
	else
		talloc_free(args);
	return SHADE_ERR_USER;
}

/* open(path).read(): the file object's state. */
typedef struct seed_file {
	int fd; /* the open file */
} seed_file;

/* The file object is freed: close its file. */
static void file_free(void *udata)
{
	seed_file *f = udata;

	close(f->fd);
	talloc_free(f);
}

/* file.read(): everything from the current position to the end. */
static shade_status file_read(shade_call_ctx *call)
{
	seed_file *f = call->udata;
	char buf[4096];
	ssize_t n;

	n = read(f->fd, buf, sizeof(buf));
	if (n < 0)
		return SHADE_RAISE(call->err, SHADE_ERR_IO, "read: %s",
				   strerror(errno));
	call->result = shade_bytes(call->mem, buf, (size_t)n);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* open(path): a file object with read(). */
static shade_status fn_open(shade_call_ctx *call)
{
	const shade_value *p;
	shade_ref *obj = NULL;
	seed_file *f;
	char *path;

	if (shade_seq_len(call->args) != 1 ||
	    shade_value_kind(p = shade_seq_at(call->args, 0)) != SHADE_STR)
		return SHADE_RAISE(call->err, SHADE_ERR_TYPE,
				   "open() takes a path");
	path = shade_value_strdup(call->mem, p);
	f = talloc_zero(NULL, seed_file);
	if (path == NULL || f == NULL) {
		talloc_free(f);
		return shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		talloc_free(f);
		return SHADE_RAISE(call->err, SHADE_ERR_IO, "%s: %s", path,
				   strerror(errno));
	}
	if (shade_object_new("io.File", NULL, &obj, call->err) != SHADE_OK) {
		file_free(f);
		return SHADE_ERR_NOMEM;
	}
	shade_object_on_free(obj, file_free, f);
	if (shade_object_add_method(obj, "read", file_read, f, false,
				    call->err) != SHADE_OK) {
		shade_ref_release(obj);
		return SHADE_ERR_NOMEM;
	}
	call->result = shade_ref_value_take(call->mem, obj);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

/* Export a function named name. */
static shade_status export_fn(shade_server *s, const char *name,
			      shade_method_fn fn, void *udata,
			      shade_ref **keep, shade_error **err)
{
	shade_ref *f = NULL;

	SHADE_CHECK(shade_function_new(name, fn, udata, &f, err));
	if (shade_server_export(s, name, f, err) != SHADE_OK) {
		shade_ref_release(f);
		return SHADE_ERR_NOMEM;
	}
	if (keep != NULL)
		*keep = f;
	else
		shade_ref_release(f);
	return SHADE_OK;
}

/* Export the "full" profile's objects. */
static shade_status export_full(shade_server *s, shade_error **err)
{
	shade_ref *a = NULL, *bank = NULL, *sys = NULL;
	shade_value ver = shade_value_int(3), answer = shade_value_int(42);
	shade_value *plat = shade_str(NULL, "linux");
	shade_status st;

	st = export_fn(s, "f", fn_add, NULL, NULL, err);
	if (st == SHADE_OK)
		st = shade_function_new("g", fn_g, NULL, &child_g, err);
	if (st == SHADE_OK)
		st = export_fn(s, "fcb", fn_fcb, child_g, NULL, err);
	if (st == SHADE_OK)
		st = export_fn(s, "raising", fn_raising, NULL, NULL, err);
	if (st == SHADE_OK)
		st = export_fn(s, "open", fn_open, NULL, NULL, err);
	if (st == SHADE_OK)
		st = export_fn(s, "relay", fn_relay, NULL, NULL, err);
	/* a: the seed's test_double_reference */
	if (st == SHADE_OK)
		st = shade_object_new("seed.A", NULL, &a, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(a, "meth", a_meth, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(a, "perform", a_perform, NULL,
					     false, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "a", a, err);
	/* bank: post-mortem, user errors */
	if (st == SHADE_OK)
		st = shade_object_new("seed.Bank", NULL, &bank, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(bank, "transfer", bank_transfer,
					     NULL, false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(bank, "exports", bank_exports,
					     NULL, false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(bank, "overdraw", bank_overdraw,
					     NULL, false, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "bank", bank, err);
	/* sys: a module-like object */
	if (st == SHADE_OK)
		st = shade_object_new("builtins.module", NULL, &sys, err);
	if (st == SHADE_OK)
		st = shade_object_add_attr(sys, "version", &ver, true, err);
	if (st == SHADE_OK)
		st = shade_object_add_attr(sys, "platform", plat, true, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(sys, "exit", fn_g, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "sys", sys, err);
	/* plain values and a namespace */
	if (st == SHADE_OK)
		st = shade_server_export_value(s, "answer", &answer, err);
	if (st == SHADE_OK)
		st = shade_server_export_in(s, "tools", "sys", sys, NULL, err);
	if (st == SHADE_OK)
		st = shade_server_export_in(s, "tools", "answer", NULL, &ver,
					    err);
	talloc_free(plat);
	shade_ref_release(a);
	shade_ref_release(bank);
	shade_ref_release(sys);
	return st;
}

/* What the child gets from the parent. */
typedef struct child_args {
	const char *addr;     /* where to listen */
	const char *profile;  /* "full", "empty" or "items" */
	int ready_fd;         /* write end of the pipe: "ready\n" */
	int other_fd;         /* read end (the parent's), closed here */
	pid_t parent;         /* the test process */
} child_args;

/* The child: serve the profile until SIGTERM; 0 on a clean stop. */
static int child_main(void *arg)
{
	child_args *ca = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts copts = { .postmortem = true };
	shade_server_opts sopts = { .conn = &copts };
	shade_value x = shade_value_int(3), y = shade_value_int(8);
	shade_error *err = NULL;
	struct sigaction sa;
	shade_status st;
	int rc = 1;

	close(ca->other_fd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != ca->parent)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* the full profile gives tracebacks to peers that ask */
	st = shade_server_new(ctx, strcmp(ca->profile, "full") == 0 ? &sopts
								     : NULL,
			      &child_server, &err);
	if (st == SHADE_OK && strcmp(ca->profile, "full") == 0)
		st = export_full(child_server, &err);
	if (st == SHADE_OK && strcmp(ca->profile, "items") == 0) {
		st = shade_server_export_value(child_server, "x", &x, &err);
		if (st == SHADE_OK)
			st = shade_server_export_value(child_server, "y", &y,
						       &err);
	}
	if (st == SHADE_OK)
		st = shade_server_listen(child_server, ca->addr, &err);
	if (st == SHADE_OK && write(ca->ready_fd, "ready\n", 6) == 6) {
		close(ca->ready_fd);
		ca->ready_fd = -1;
		if (shade_server_run(child_server, &err) == SHADE_OK)
			rc = 0;
	}
	if (rc != 0)
		fprintf(stderr, "seed server: %s\n",
			err ? err->message : "failed");
	if (ca->ready_fd >= 0)
		close(ca->ready_fd);
	shade_error_free(err);
	if (held_one != NULL)
		shade_ref_release(held_one);
	held_one = NULL;
	child_server = NULL;
	talloc_free(ctx);
	if (child_g != NULL)
		shade_ref_release(child_g);
	child_g = NULL;
	return rc;
}

/* ============================================================ the parent */

/* A child server and a client connected to it. */
typedef struct seed {
	TALLOC_CTX *ctx;  /* owns everything of the case */
	pid_t pid;        /* the child */
	char *dir;        /* its directory (removed when ctx is freed) */
	char *addr;       /* unix:DIR/s.sock */
	shade_conn *c;    /* the client */
} seed;

/* Start a child serving `profile`, and connect to it (post-mortem on
 * when asked). */
static void seed_start(seed *s, void *state, const char *profile,
		       bool postmortem)
{
	shade_conn_opts opts = { .postmortem = postmortem };
	child_args ca;
	struct pollfd p;
	char buf[8];
	int fds[2];

	memset(s, 0, sizeof(*s));
	s->ctx = talloc_new(state);
	s->dir = tu_mkdtemp(s->ctx);
	assert_non_null(s->dir);
	s->addr = talloc_asprintf(s->ctx, "unix:%s/s.sock", s->dir);
	assert_int_equal(pipe(fds), 0);
	ca.addr = s->addr;
	ca.profile = profile;
	ca.ready_fd = fds[1];
	ca.other_fd = fds[0];
	ca.parent = getpid();
	s->pid = tu_fork(child_main, &ca);
	tu_live_child = s->pid;
	close(fds[1]);
	assert_true(s->pid > 0);
	p.fd = fds[0];
	p.events = POLLIN;
	if (poll(&p, 1, SEED_WAIT_MS) != 1 || read(fds[0], buf, 6) != 6) {
		close(fds[0]);
		fail_msg("the seed server did not start");
	}
	close(fds[0]);
	assert_ok(shade_connect(s->ctx, s->addr, &opts, &s->c, errp_));
}

/* Close the client and stop the child, which must exit 0. */
static void seed_stop(seed *s)
{
	talloc_free(s->ctx);
	if (!tu_stop_child(s->pid, SEED_WAIT_MS))
		fail_msg("the seed server did not stop cleanly");
}

/* Look name up (one round trip); the ref is released with s->ctx. */
static shade_ref *seed_lookup(seed *s, const char *name)
{
	shade_ref *r = NULL;

	assert_ok(shade_lookup(s->c, name, &r, errp_));
	assert_non_null(shade_ref_value_take(s->ctx, r));
	return r;
}

/* A tuple of ints on ctx. */
static shade_value *ints(TALLOC_CTX *ctx, unsigned n, ...)
{
	shade_value *t = shade_tuple_new(ctx, n);
	va_list ap;
	unsigned i;

	assert_non_null(t);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		shade_value v = shade_value_int(va_arg(ap, int));

		assert_int_equal(shade_seq_append(t, &v, NULL), SHADE_OK);
	}
	va_end(ap);
	return t;
}

/* Round trips waited for on c so far. */
static uint64_t round_trips(shade_conn *c)
{
	shade_conn_stats st;

	shade_conn_stats_get(c, &st);
	return st.round_trips;
}

/* The server's exports on our connection (bank.exports()). */
static int64_t server_exports(seed *s, shade_ref *bank)
{
	shade_value *r = NULL;
	int64_t n;

	assert_ok(shade_invoke(s->ctx, bank, "exports", NULL, NULL, &r,
			       errp_));
	n = shade_value_as_int(r);
	talloc_free(r);
	return n;
}

/* Call bank.transfer(250): the failure, with its traceback when the
 * connection asked for one. */
static shade_error *failed_transfer(seed *s, shade_ref *bank)
{
	shade_error *err = NULL;
	shade_value *r = NULL;

	assert_int_equal(shade_invoke(s->ctx, bank, "transfer",
				      ints(s->ctx, 1, 250), NULL, &r, &err),
			 SHADE_ERR_VALUE);
	assert_null(r);
	assert_non_null(err);
	return err;
}

/* Attribute name of a remote frame as a C string (on ctx). */
static char *frame_str(TALLOC_CTX *ctx, shade_ref *frame, const char *name)
{
	shade_value *v = NULL;

	assert_ok(shade_getattr(ctx, frame, name, &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_STR);
	return shade_value_strdup(ctx, v);
}

/* ============================================================ seed cases */

/* test_init: the library starts and a first contact works (HELLO and
 * one request answered). */
static void seed_test_init(void **state)
{
	seed s;
	char **names = NULL;
	size_t n = 0;

	seed_start(&s, *state, "full", false);
	assert_ok(shade_names(s.ctx, s.c, &names, &n, errp_));
	assert_true(n >= 6);
	assert_true(shade_conn_is_open(s.c));
	seed_stop(&s);
}

/* test_protocol_call: a function crosses as a callable: f(3, 2) == 5. */
static void seed_test_protocol_call(void **state)
{
	seed s;
	shade_ref *f;
	shade_value *r = NULL;

	seed_start(&s, *state, "full", false);
	f = seed_lookup(&s, "f");
	assert_ok(shade_call(s.ctx, f, ints(s.ctx, 2, 3, 2), NULL, &r,
			     errp_));
	assert_int_equal(shade_value_as_int(r), 5);
	seed_stop(&s);
}

/* test_simulation_call: what arrives is a function (its shape says so)
 * and fun(2, 3) == 5, each a single round trip. */
static void seed_test_simulation_call(void **state)
{
	seed s;
	shade_ref *f;
	shade_value *r = NULL;
	uint64_t rt;

	seed_start(&s, *state, "full", false);
	rt = round_trips(s.c);
	f = seed_lookup(&s, "f");
	assert_int_equal(round_trips(s.c) - rt, 1);
	assert_non_null(shade_ref_shape(f));
	assert_int_equal(shade_ref_shape(f)->kind, SHADE_SHAPE_FUNCTION);
	assert_ok(shade_call(s.ctx, f, ints(s.ctx, 2, 2, 3), NULL, &r,
			     errp_));
	assert_int_equal(round_trips(s.c) - rt, 2);
	assert_int_equal(shade_value_as_int(r), 5);
	seed_stop(&s);
}

/* test_remote_protocol_call: fun = get_remote("f"); fun(2, 3) == 5. */
static void seed_test_remote_protocol_call(void **state)
{
	seed s;
	shade_value *r = NULL;

	seed_start(&s, *state, "full", false);
	assert_ok(shade_call(s.ctx, seed_lookup(&s, "f"),
			     ints(s.ctx, 2, 2, 3), NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 5);
	seed_stop(&s);
}

/* test_callback: the remote f(x) calls its own g(): f(8) == 16. */
static void seed_test_callback(void **state)
{
	seed s;
	shade_value *r = NULL;

	seed_start(&s, *state, "full", false);
	assert_ok(shade_call(s.ctx, seed_lookup(&s, "fcb"),
			     ints(s.ctx, 1, 8), NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 16);
	seed_stop(&s);
}

/* B() of test_double_reference: returns [1, 2, 3]. */
static shade_status b_call(shade_call_ctx *call)
{
	shade_value *l = shade_list_new(call->mem, 3);
	shade_value v;
	int i;

	for (i = 1; l != NULL && i <= 3; i++) {
		v = shade_value_int(i);
		SHADE_CHECK(shade_seq_append(l, &v, call->err));
	}
	call->result = l;
	return l ? SHADE_OK : shade_error_set(call->err, SHADE_ERR_NOMEM, "oom");
}

/* test_double_reference: the server keeps our callable from one call
 * (a.meth(B())) and calls it back in the next (a.perform() == 4); our
 * export of it lives while the server holds it. */
static void seed_test_double_reference(void **state)
{
	seed s;
	shade_ref *a, *b = NULL;
	shade_value *args, *r = NULL;
	shade_conn_stats st;

	seed_start(&s, *state, "full", false);
	a = seed_lookup(&s, "a");
	assert_ok(shade_function_new("B", b_call, NULL, &b, errp_));
	args = shade_tuple_new(s.ctx, 1);
	assert_int_equal(shade_seq_append_take(args, shade_ref_value(s.ctx, b),
					       NULL), SHADE_OK);
	shade_ref_release(b);
	assert_ok(shade_invoke(s.ctx, a, "meth", args, NULL, &r, errp_));
	talloc_free(args);
	shade_conn_stats_get(s.c, &st);
	assert_int_equal(st.exports, 1); /* B, held by the server */
	assert_ok(shade_invoke(s.ctx, a, "perform", NULL, NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 4);
	seed_stop(&s);
}

/* test_frame: a remote frame's attached values, read by their keys. */
static void seed_test_frame(void **state)
{
	seed s;
	shade_ref *bank, *tb;
	shade_error *err;
	shade_value *frame = NULL, *values = NULL, *keys = NULL, *v = NULL;
	shade_value idx = shade_value_int(0);

	seed_start(&s, *state, "full", true);
	bank = seed_lookup(&s, "bank");
	err = failed_transfer(&s, bank);
	assert_non_null(err->traceback);
	tb = shade_value_as_ref(err->traceback);
	/* frame 0: withdraw(), where the error was raised */
	assert_ok(shade_getitem(s.ctx, tb, &idx, &frame, errp_));
	assert_ok(shade_getattr(s.ctx, shade_value_as_ref(frame), "values",
				&values, errp_));
	assert_ok(shade_keys(s.ctx, shade_value_as_ref(values), &keys,
			     errp_));
	assert_int_equal(shade_seq_len(keys), 2);
	assert_string_equal(shade_value_strdup(s.ctx, shade_seq_at(keys, 0)),
			    "balance");
	assert_string_equal(shade_value_strdup(s.ctx, shade_seq_at(keys, 1)),
			    "amount");
	assert_ok(shade_getitem(s.ctx, shade_value_as_ref(values),
				shade_seq_at(keys, 0), &v, errp_));
	assert_int_equal(shade_value_as_int(v), 100);
	assert_ok(shade_getitem(s.ctx, shade_value_as_ref(values),
				shade_seq_at(keys, 1), &v, errp_));
	assert_int_equal(shade_value_as_int(v), 250);
	shade_error_free(err);
	seed_stop(&s);
}

/* test_remote_exception: 1/0 on the server arrives as
 * ZeroDivisionError, with a traceback to look at. */
static void seed_test_remote_exception(void **state)
{
	seed s;
	shade_error *err = NULL;
	shade_value *r = NULL;
	shade_ref *tb;
	size_t n = 0;

	seed_start(&s, *state, "full", true);
	assert_int_equal(shade_call(s.ctx, seed_lookup(&s, "raising"), NULL,
				    NULL, &r, &err),
			 SHADE_ERR_ZERO_DIVISION);
	assert_string_equal(err->name, "ZeroDivisionError");
	assert_string_equal(err->message, "division by zero (1 / 0)");
	assert_int_equal(err->chain_len, 1);
	assert_string_equal(err->chain[0].member, "raising");
	assert_non_null(err->traceback);
	tb = shade_value_as_ref(err->traceback);
	assert_ok(shade_len(tb, &n, errp_));
	assert_int_equal(n, 1);
	shade_error_free(err);
	seed_stop(&s);
}

/* test_remote_sys: dir() of a remote module-like object lists its
 * members, without a round trip (the shape came with the reference). */
static void seed_test_remote_sys(void **state)
{
	seed s;
	shade_ref *sys;
	char **names = NULL;
	size_t n = 0;
	uint64_t rt;

	seed_start(&s, *state, "full", false);
	sys = seed_lookup(&s, "sys");
	rt = round_trips(s.c);
	assert_ok(shade_dir(s.ctx, sys, &names, &n, errp_));
	assert_int_equal(round_trips(s.c), rt);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "version");
	assert_string_equal(names[1], "platform");
	assert_string_equal(names[2], "exit");
	seed_stop(&s);
}

/* test_remote_file_access: open(path).read() on the server returns the
 * data of a file this test wrote. */
static void seed_test_remote_file_access(void **state)
{
	static const char data[] = "root:x:0:0:root:/root:/bin/sh\n";
	seed s;
	shade_value *args, *file = NULL, *r = NULL;
	char *path;
	size_t len = 0;
	const uint8_t *p;
	FILE *fp;

	seed_start(&s, *state, "full", false);
	path = talloc_asprintf(s.ctx, "%s/passwd", s.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, sizeof(data) - 1, fp),
			 sizeof(data) - 1);
	assert_int_equal(fclose(fp), 0);
	args = shade_tuple_new(s.ctx, 1);
	assert_int_equal(shade_seq_append_str(args, path, strlen(path), NULL),
			 SHADE_OK);
	assert_ok(shade_call(s.ctx, seed_lookup(&s, "open"), args, NULL,
			     &file, errp_));
	assert_int_equal(shade_value_kind(file), SHADE_REF);
	assert_string_equal(shade_ref_type_name(shade_value_as_ref(file)),
			    "io.File");
	assert_ok(shade_invoke(s.ctx, shade_value_as_ref(file), "read", NULL,
			       NULL, &r, errp_));
	assert_int_equal(shade_value_kind(r), SHADE_BYTES);
	p = shade_value_as_bytes(r, &len);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(p, data, len);
	seed_stop(&s);
}

/* test_key_error: looking up a name nothing is exported under is a
 * stable NotFound, on a server exporting nothing. */
static void seed_test_key_error(void **state)
{
	seed s;
	shade_error *err = NULL;
	shade_ref *r = NULL;

	/* asking for a traceback: this server does not give them */
	seed_start(&s, *state, "empty", true);
	assert_int_equal(shade_lookup(s.c, "x", &r, &err),
			 SHADE_ERR_NOT_FOUND);
	assert_null(r);
	assert_null(err->traceback);
	assert_string_equal(err->name, "NotFound");
	assert_string_equal(err->message, "no object exported as 'x'");
	assert_int_equal(err->category, SHADE_CAT_FAILED);
	shade_error_free(err);
	seed_stop(&s);
}

/* test_list_items: the names of a server exporting x = 3 and y = 8 as
 * plain values, and the values themselves. */
static void seed_test_list_items(void **state)
{
	seed s;
	char **names = NULL;
	size_t n = 0;
	shade_value *v = NULL;

	seed_start(&s, *state, "items", false);
	assert_ok(shade_names(s.ctx, s.c, &names, &n, errp_));
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "x");
	assert_string_equal(names[1], "y");
	assert_ok(shade_lookup_value(s.ctx, s.c, NULL, "x", &v, errp_));
	assert_int_equal(shade_value_kind(v), SHADE_INT);
	assert_int_equal(shade_value_as_int(v), 3);
	assert_ok(shade_lookup_value(s.ctx, s.c, NULL, "y", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 8);
	seed_stop(&s);
}

/* ============================================================ post-mortem */

/* The frames of a remote failure: innermost first, where each was
 * (function, file, line) and on which hop (side, type, member). */
static void test_seed_pm_frames(void **state)
{
	seed s;
	shade_ref *bank, *tb, *f;
	shade_error *err;
	shade_value *frame = NULL, *line = NULL;
	size_t n = 0, i;
	static const char *const fn[] = { "withdraw", "bank_transfer" };

	seed_start(&s, *state, "full", true);
	bank = seed_lookup(&s, "bank");
	err = failed_transfer(&s, bank);
	assert_string_equal(err->message, "insufficient funds");
	assert_non_null(err->traceback);
	tb = shade_value_as_ref(err->traceback);
	assert_ok(shade_len(tb, &n, errp_));
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		shade_value idx = shade_value_int((int64_t)i);

		assert_ok(shade_getitem(s.ctx, tb, &idx, &frame, errp_));
		f = shade_value_as_ref(frame);
		assert_string_equal(shade_ref_type_name(f), "shade.Frame");
		assert_string_equal(frame_str(s.ctx, f, "function"), fn[i]);
		assert_string_equal(frame_str(s.ctx, f, "file"),
				    "tests/test_seed.c");
		assert_string_equal(frame_str(s.ctx, f, "side"), "server");
		assert_string_equal(frame_str(s.ctx, f, "type"), "seed.Bank");
		assert_string_equal(frame_str(s.ctx, f, "member"), "transfer");
		assert_ok(shade_getattr(s.ctx, f, "line", &line, errp_));
		assert_true(shade_value_as_int(line) > 100);
	}
	shade_error_free(err);
	seed_stop(&s);
}

/* Lazy: the failure brings one reference and no frame; each attribute
 * read is one round trip; without post-mortem no traceback comes and
 * the server exports nothing for it. */
static void test_seed_pm_lazy(void **state)
{
	seed s, plain;
	shade_ref *bank, *tb;
	shade_error *err;
	shade_value *frame = NULL, *fn = NULL;
	shade_value idx = shade_value_int(1);
	shade_conn_stats st0, st1;
	uint64_t rt;

	seed_start(&s, *state, "full", true);
	bank = seed_lookup(&s, "bank");
	shade_conn_stats_get(s.c, &st0);
	err = failed_transfer(&s, bank);
	shade_conn_stats_get(s.c, &st1);
	assert_int_equal(st1.round_trips - st0.round_trips, 1);
	assert_int_equal(st1.imports - st0.imports, 1); /* the traceback */
	assert_non_null(err->traceback);
	tb = shade_value_as_ref(err->traceback);
	rt = round_trips(s.c);
	assert_ok(shade_getitem(s.ctx, tb, &idx, &frame, errp_));
	assert_ok(shade_getattr(s.ctx, shade_value_as_ref(frame), "function",
				&fn, errp_));
	assert_int_equal(round_trips(s.c) - rt, 2);
	assert_string_equal(shade_value_strdup(s.ctx, fn), "bank_transfer");
	shade_error_free(err);
	seed_stop(&s);

	seed_start(&plain, *state, "full", false);
	bank = seed_lookup(&plain, "bank");
	err = failed_transfer(&plain, bank);
	assert_null(err->traceback);
	assert_int_equal(err->code, SHADE_ERR_VALUE);
	assert_int_equal(server_exports(&plain, bank), 1);
	shade_error_free(err);
	seed_stop(&plain);
}

/* Dropping the error releases the traceback and every frame read: the
 * server's exports and our imports return to where they were. */
static void test_seed_pm_release(void **state)
{
	seed s;
	shade_ref *bank, *tb;
	shade_error *err;
	shade_value *frame = NULL, *values = NULL;
	shade_value idx = shade_value_int(0);
	shade_conn_stats st0, st1;
	TALLOC_CTX *tmp;
	int64_t base;
	int round;

	seed_start(&s, *state, "full", true);
	bank = seed_lookup(&s, "bank");
	base = server_exports(&s, bank);
	assert_int_equal(base, 1);
	shade_conn_stats_get(s.c, &st0);
	for (round = 0; round < 3; round++) {
		err = failed_transfer(&s, bank);
		assert_non_null(err->traceback);
		tb = shade_value_as_ref(err->traceback);
		tmp = talloc_new(s.ctx);
		assert_ok(shade_getitem(tmp, tb, &idx, &frame, errp_));
		assert_ok(shade_getattr(tmp, shade_value_as_ref(frame),
					"values", &values, errp_));
		/* traceback, frame, values */
		assert_int_equal(server_exports(&s, bank), base + 3);
		talloc_free(tmp);
		shade_error_free(err);
		assert_int_equal(server_exports(&s, bank), base);
	}
	shade_conn_stats_get(s.c, &st1);
	assert_int_equal(st1.imports, st0.imports);
	seed_stop(&s);
}

/* The client's callback that fails, for the relay. */
static shade_status broken(shade_call_ctx *call)
{
	return SHADE_RAISE(call->err, SHADE_ERR_KEY, "no such key");
}

/* Each hop adds its frame: a failure of our callback relayed by the
 * server comes back with the callback's hop (side client) first, then
 * the server's frame with its value; the chain names both. */
static void test_seed_pm_relay_hops(void **state)
{
	seed s;
	shade_ref *fn = NULL, *tb, *f;
	shade_error *err = NULL;
	shade_value *args, *r = NULL, *frame = NULL, *values = NULL, *v = NULL;
	shade_value idx0 = shade_value_int(0), idx1 = shade_value_int(1);
	shade_value key = shade_value_none();
	size_t n = 0;

	seed_start(&s, *state, "full", true);
	assert_ok(shade_function_new("broken", broken, NULL, &fn, errp_));
	args = shade_tuple_new(s.ctx, 1);
	assert_int_equal(shade_seq_append_take(args,
					       shade_ref_value_take(s.ctx, fn),
					       NULL), SHADE_OK);
	assert_int_equal(shade_call(s.ctx, seed_lookup(&s, "relay"), args,
				    NULL, &r, &err), SHADE_ERR_KEY);
	assert_int_equal(err->chain_len, 2);
	assert_string_equal(err->chain[0].side, "client");
	assert_string_equal(err->chain[1].side, "server");
	assert_non_null(err->traceback);
	tb = shade_value_as_ref(err->traceback);
	assert_ok(shade_len(tb, &n, errp_));
	assert_int_equal(n, 2);
	assert_ok(shade_getitem(s.ctx, tb, &idx0, &frame, errp_));
	f = shade_value_as_ref(frame);
	assert_string_equal(frame_str(s.ctx, f, "side"), "client");
	assert_string_equal(frame_str(s.ctx, f, "member"), "broken");
	assert_string_equal(frame_str(s.ctx, f, "file"), "");
	assert_ok(shade_getitem(s.ctx, tb, &idx1, &frame, errp_));
	f = shade_value_as_ref(frame);
	assert_string_equal(frame_str(s.ctx, f, "side"), "server");
	assert_string_equal(frame_str(s.ctx, f, "function"), "fn_relay");
	assert_ok(shade_getattr(s.ctx, f, "values", &values, errp_));
	key = *shade_str(s.ctx, "depth");
	assert_ok(shade_getitem(s.ctx, shade_value_as_ref(values), &key, &v,
				errp_));
	assert_int_equal(shade_value_as_int(v), 1);
	shade_error_free(err);
	seed_stop(&s);
}

/* Locally, describe prints the sites and their attached values. */
static void test_seed_pm_describe_sites(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_error *err = NULL;
	int64_t balance = 100;
	char *text;

	assert_int_equal(withdraw(&balance, 250, &err), SHADE_ERR_VALUE);
	SHADE_ERROR_FRAME(&err);
	shade_error_attach(&err, "account", shade_str(ctx, "alice"));
	assert_int_equal(err->sites_len, 2);
	assert_string_equal(err->sites[0].function, "withdraw");
	assert_string_equal(err->sites[1].function,
			    "test_seed_pm_describe_sites");
	text = shade_error_describe(ctx, err);
	assert_non_null(strstr(text, "\n    at withdraw (tests/test_seed.c:"));
	assert_non_null(strstr(text, "\n      balance = 100\n"
				     "      amount = 250\n"));
	assert_non_null(strstr(text, "\n      account = \"alice\""));
	/* NULL arguments are refused, nothing changes */
	assert_int_equal(shade_error_attach(NULL, "x", NULL),
			 SHADE_ERR_INVALID);
	shade_error_free(err);
	talloc_free(ctx);
}

/* ============================================================ the rest */

/* A user error keeps its code end to end: SHADE_ERR_USER, its name, the
 * application's code and its fields, printed by describe. */
static void test_seed_user_code(void **state)
{
	seed s;
	shade_error *err = NULL;
	shade_value *r = NULL;
	char *text;

	seed_start(&s, *state, "full", false);
	assert_int_equal(shade_invoke(s.ctx, seed_lookup(&s, "bank"),
				      "overdraw", NULL, NULL, &r, &err),
			 SHADE_ERR_USER);
	assert_int_equal(err->code, SHADE_ERR_USER);
	assert_string_equal(err->name, "bank.Overdrawn");
	assert_int_equal(err->user_code, 42);
	assert_int_equal(err->category, SHADE_CAT_FAILED);
	assert_int_equal(shade_seq_len(err->args), 2);
	text = shade_error_describe(s.ctx, err);
	assert_string_equal(text,
			    "bank.Overdrawn: balance too low [failed]\n"
			    "  fields [100, 250]\n"
			    "  user code 42\n"
			    "  raised at server in seed.Bank.overdraw");
	shade_error_free(err);
	seed_stop(&s);
}

/* Namespaces: a name in one is found there only, NAMES_IN lists it, an
 * unknown namespace is empty and its names are NotFound; a plain value
 * is read with shade_lookup_value and refused by shade_lookup. */
static void test_seed_registries(void **state)
{
	seed s;
	shade_error *err = NULL;
	shade_ref *r = NULL, *sys;
	shade_value *v = NULL;
	char **names = NULL;
	size_t n = 9;

	seed_start(&s, *state, "full", false);
	sys = seed_lookup(&s, "sys");
	assert_ok(shade_lookup_in(s.c, "tools", "sys", &r, errp_));
	assert_true(shade_ref_same(r, sys));
	shade_ref_release(r);
	assert_ok(shade_lookup_value(s.ctx, s.c, "tools", "answer", &v,
				     errp_));
	assert_int_equal(shade_value_as_int(v), 3);
	assert_ok(shade_lookup_value(s.ctx, s.c, NULL, "answer", &v, errp_));
	assert_int_equal(shade_value_as_int(v), 42);
	assert_ok(shade_names_in(s.ctx, s.c, "tools", &names, &n, errp_));
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "sys");
	assert_string_equal(names[1], "answer");
	assert_ok(shade_names_in(s.ctx, s.c, "nope", &names, &n, errp_));
	assert_int_equal(n, 0);
	assert_int_equal(shade_lookup_in(s.c, "nope", "sys", &r, &err),
			 SHADE_ERR_NOT_FOUND);
	assert_string_equal(err->message, "no object exported as 'nope/sys'");
	shade_error_clear(&err);
	assert_int_equal(shade_lookup_in(s.c, "tools", "f", &r, &err),
			 SHADE_ERR_NOT_FOUND);
	shade_error_clear(&err);
	assert_int_equal(shade_lookup(s.c, "answer", &r, &err), SHADE_ERR_TYPE);
	assert_string_equal(err->message,
			    "'answer' is exported as a value (int), not an "
			    "object: read it with shade_lookup_value");
	shade_error_clear(&err);
	/* the default namespace is what it was */
	assert_ok(shade_names(s.ctx, s.c, &names, &n, errp_));
	assert_int_equal(n, 9);
	assert_string_equal(names[8], "answer");
	seed_stop(&s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(seed_test_init),
		SUITE_CASE(seed_test_protocol_call),
		SUITE_CASE(seed_test_simulation_call),
		SUITE_CASE(seed_test_remote_protocol_call),
		SUITE_CASE(seed_test_callback),
		SUITE_CASE(seed_test_double_reference),
		SUITE_CASE(seed_test_frame),
		SUITE_CASE(seed_test_remote_exception),
		SUITE_CASE(seed_test_remote_sys),
		SUITE_CASE(seed_test_remote_file_access),
		SUITE_CASE(seed_test_key_error),
		SUITE_CASE(seed_test_list_items),
		SUITE_CASE(test_seed_pm_frames),
		SUITE_CASE(test_seed_pm_lazy),
		SUITE_CASE(test_seed_pm_release),
		SUITE_CASE(test_seed_pm_relay_hops),
		SUITE_CASE(test_seed_pm_describe_sites),
		SUITE_CASE(test_seed_user_code),
		SUITE_CASE(test_seed_registries),
	};
	int rc;

	suite_case_cleanup = tu_reap_live_child;
	rc = SUITE_RUN("seed", tests, argc, argv);
	return rc;
}
