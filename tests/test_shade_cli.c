/*
 * test_shade_cli.c - the `shade` program against a real server: the
 * suite serves "calc" (add, a settable value, a readonly version, bytes,
 * a reference to "calc.child") on a Unix socket in a thread, runs the
 * built binary with real arguments and checks its standard output,
 * standard error and exit status exactly.
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
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "monitor.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/testutil.h"
#include "helpers/suite.h"

/* The value behind calc.value. */
static int64_t value;

/* Give obj a readonly attribute holding a container by reference: the
 * list [1, "two", 3.5] or the dict {"a": 1, "b": [true]}. */
static void add_container(TALLOC_CTX *ctx, shade_ref *obj, const char *name,
			  bool dict)
{
	shade_value *c, *rv, *t = shade_list_new(ctx, 1);
	shade_ref *cr;

	assert_ok(shade_seq_append_take(t, shade_bool(ctx, true), errp_));
	if (dict) {
		c = shade_dict_new(ctx, 2);
		assert_ok(shade_dict_set_take(c, shade_str(ctx, "a"),
					      shade_int(ctx, 1), errp_));
		assert_ok(shade_dict_set_take(c, shade_str(ctx, "b"), t,
					      errp_));
	} else {
		talloc_free(t);
		c = shade_list_new(ctx, 3);
		assert_ok(shade_seq_append_take(c, shade_int(ctx, 1), errp_));
		assert_ok(shade_seq_append_take(c, shade_str(ctx, "two"),
						errp_));
		assert_ok(shade_seq_append_take(c, shade_float(ctx, 3.5),
						errp_));
	}
	assert_ok(shade_container_new(c, &cr, errp_));
	rv = shade_ref_value(ctx, cr);
	shade_ref_release(cr);
	assert_ok(shade_object_add_attr(obj, name, rv, true, errp_));
	talloc_free(rv);
}

/* A server on ctx with "calc" (add, value, version, child) on a Unix
 * socket, its loop run by a thread. */
static tp_server *srv_start(TALLOC_CTX *ctx)
{
	tp_server *v;
	shade_ref *calc, *child;
	shade_value *ver = shade_str(ctx, "1.0"), *blob;
	shade_value *cref;

	__atomic_store_n(&value, 7, __ATOMIC_RELAXED);
	v = tp_server_new(ctx, NULL);
	blob = shade_bytes(v, "\x00\xff", 2);
	assert_ok(shade_object_new("demo.Child", NULL, &child, errp_));
	assert_ok(shade_object_add_attr(child, "blob", blob, true, errp_));
	add_container(v, child, "items", false);
	add_container(v, child, "tags", true);
	cref = shade_ref_value(v, child);
	shade_ref_release(child);
	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_property(calc, "value", th_get_int,
					    th_set_int, &value, errp_));
	assert_ok(shade_object_add_attr(calc, "version", ver, true, errp_));
	assert_ok(shade_object_add_attr(calc, "child", cref, true, errp_));
	assert_ok(shade_server_export(v->s, "calc", calc, errp_));
	shade_ref_release(calc);
	talloc_free(ver);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* What one run printed and how it ended. */
struct run {
	char *out;   /* standard output */
	char *err;   /* standard error */
	int status;  /* exit status, -1 when killed or lost */
};

static struct run run_argv(TALLOC_CTX *ctx, char **argv);

/* Run `shade ARGS...` (NULL-terminated) with output captured, bounded
 * by 30 s. */
static struct run shade_run(TALLOC_CTX *ctx, const char *arg, ...)
{
	const char *build = getenv("SHADE_BUILD");
	char *argv[16];
	int n = 1;
	va_list ap;

	argv[0] = talloc_asprintf(ctx, "%s/bin/shade", build ? build : "build");
	va_start(ap, arg);
	for (; arg != NULL && n < 15; arg = va_arg(ap, const char *))
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	return run_argv(ctx, argv);
}

/* Run argv (argv[0] a path) with output captured, bounded by 30 s. */
static struct run run_argv(TALLOC_CTX *ctx, char **argv)
{
	int o[2], e[2], st;
	struct run r = { talloc_strdup(ctx, ""), talloc_strdup(ctx, ""), -1 };
	struct pollfd pf[2];
	int64_t end = tu_now_ms() + 30000;
	pid_t pid;

	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	pf[0] = (struct pollfd){ .fd = o[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = e[0], .events = POLLIN };
	while ((pf[0].fd >= 0 || pf[1].fd >= 0) && tu_now_ms() < end) {
		char buf[4096];
		int i;

		if (poll(pf, 2, 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			ssize_t k;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			k = read(pf[i].fd, buf, sizeof(buf));
			if (k <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			if (i == 0)
				r.out = talloc_strndup_append(r.out, buf, (size_t)k);
			else
				r.err = talloc_strndup_append(r.err, buf, (size_t)k);
		}
	}
	if (pf[0].fd >= 0)
		close(pf[0].fd);
	if (pf[1].fd >= 0)
		close(pf[1].fd);
	if (tu_wait_child(pid, 30000, &st) && WIFEXITED(st))
		r.status = WEXITSTATUS(st);
	else
		tu_kill_child(pid);
	return r;
}

/* Assert a run's status, output and error text. */
#define assert_run(r, st, o, e) do { \
	struct run r_ = (r); \
	assert_string_equal(r_.out, (o)); \
	assert_string_equal(r_.err, (e)); \
	assert_int_equal(r_.status, (st)); \
} while (0)

static void test_shade_cli_ls_describe(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v;

	v = srv_start(ctx);
	assert_run(shade_run(ctx, v->addr, "ls", NULL), 0, "calc\n", "");
	assert_run(shade_run(ctx, v->addr, "describe", "calc", NULL), 0,
		   "demo.Calc (object)\n"
		   "  add                  method\n"
		   "  value                attribute\n"
		   "  version              readonly\n"
		   "  child                readonly\n", "");
	/* A member, and an object reached through one. */
	assert_run(shade_run(ctx, v->addr, "describe", "calc.add", NULL), 0,
		   "demo.Calc.add                  method\n", "");
	assert_run(shade_run(ctx, v->addr, "describe", "calc.child", NULL), 0,
		   "demo.Child (object)\n"
		   "  blob                 readonly\n"
		   "  items                readonly\n"
		   "  tags                 readonly\n", "");
	assert_run(shade_run(ctx, v->addr, "describe", "calc.nope", NULL), 4,
		   "", "shade: AttributeError: demo.Calc has no member "
		   "'nope'\n");
	assert_run(shade_run(ctx, v->addr, "describe", "nope", NULL), 4, "",
		   "shade: NotFound: no object exported as 'nope'\n");
	tp_server_stop(v);
	talloc_free(ctx);
}

static void test_shade_cli_get_set_call(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v;

	v = srv_start(ctx);
	assert_run(shade_run(ctx, v->addr, "get", "calc.value", NULL), 0,
		   "7\n", "");
	assert_run(shade_run(ctx, v->addr, "set", "calc.value", "42", NULL), 0,
		   "", "");
	assert_run(shade_run(ctx, v->addr, "get", "calc.value", NULL), 0,
		   "42\n", "");
	assert_int_equal(__atomic_load_n(&value, __ATOMIC_RELAXED), 42);
	assert_run(shade_run(ctx, v->addr, "get", "calc.version", NULL), 0,
		   "\"1.0\"\n", "");
	assert_run(shade_run(ctx, v->addr, "get", "calc.child.blob", NULL), 0,
		   "{\"$bytes\": \"00ff\"}\n", "");
	assert_run(shade_run(ctx, "--diag", v->addr, "get", "calc.child.blob",
			     NULL), 0, "h'00ff'\n", "");
	assert_run(shade_run(ctx, v->addr, "call", "calc.add", "1", "2", "39",
			     NULL), 0, "42\n", "");
	/* Arguments in diagnostic notation. */
	assert_run(shade_run(ctx, "--diag-in", v->addr, "call", "calc.add", "1",
			     "-2", NULL), 0, "-1\n", "");
	assert_run(shade_run(ctx, "--diag-in", v->addr, "set", "calc.value",
			     "h'00'", NULL), 1, "",
		   "shade: TypeError: want an int\n");
	assert_run(shade_run(ctx, "--diag-in", v->addr, "call", "calc.add",
			     "1", "h'0'", NULL), 2, "",
		   "shade: usage: argument 2 is not diagnostic notation: "
		   "offset 0: h'...' wants pairs of hex digits\n");
	/* Errors: the server's, a bad argument, a readonly attribute. */
	assert_run(shade_run(ctx, v->addr, "call", "calc.add", "\"x\"", NULL),
		   1, "", "shade: TypeError: add: argument 0 is not an int\n");
	assert_run(shade_run(ctx, v->addr, "call", "calc.add", "[1,", NULL), 2,
		   "", "shade: usage: argument 1 is not JSON: offset 3: "
		   "expected a value\n");
	assert_run(shade_run(ctx, v->addr, "set", "calc.value", "\"x\"", NULL),
		   1, "", "shade: TypeError: want an int\n");
	assert_run(shade_run(ctx, v->addr, "get", "calc.nope", NULL), 4, "",
		   "shade: AttributeError: 'demo.Calc' object has no "
		   "attribute 'nope'\n");
	tp_server_stop(v);
	talloc_free(ctx);
}

/* What tree prints first for calc. */
#define TREE_HEAD "calc = demo.Calc (object)\n" \
		  "  add()\n" \
		  "  value = 7\n" \
		  "  version = \"1.0\"\n" \
		  "  child = demo.Child (object)\n"

static void test_shade_cli_tree(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v;

	v = srv_start(ctx);
	assert_run(shade_run(ctx, v->addr, "tree", NULL), 0,
		   TREE_HEAD
		   "      blob = {\"$bytes\": \"00ff\"}\n"
		   "      items = builtins.list (list, 3 items)\n"
		   "      tags = builtins.dict (dict, 2 items)\n", "");
	/* With --items, the containers' items. */
	assert_run(shade_run(ctx, "--items", v->addr, "tree", "calc", NULL), 0,
		   TREE_HEAD
		   "      blob = {\"$bytes\": \"00ff\"}\n"
		   "      items = builtins.list (list, 3 items)\n"
		   "          [0] = 1\n"
		   "          [1] = \"two\"\n"
		   "          [2] = 3.5\n"
		   "      tags = builtins.dict (dict, 2 items)\n"
		   "          \"a\" = 1\n"
		   "          \"b\" = [true]\n", "");
	assert_run(shade_run(ctx, "--items", "--diag", v->addr, "tree",
			     "calc", "--depth", "1", NULL), 0,
		   TREE_HEAD
		   "      blob = h'00ff'\n"
		   "      items = 200([3, \"builtins.list\"])\n"
		   "      tags = 200([4, \"builtins.dict\"])\n", "");
	/* Depth 0: references are not followed. */
	assert_run(shade_run(ctx, v->addr, "tree", "calc", "--depth", "0",
			     NULL), 0,
		   "calc = demo.Calc (object)\n"
		   "  add()\n"
		   "  value = 7\n"
		   "  version = \"1.0\"\n"
		   "  child = {\"$ref\": \"demo.Child\"}\n",
		   "");
	tp_server_stop(v);
	talloc_free(ctx);
}

/* The whole file at path on ctx (at most 1 MiB), or NULL. */
static char *read_text(TALLOC_CTX *ctx, const char *path)
{
	FILE *f = fopen(path, "r");
	char *t;
	size_t n;

	if (f == NULL)
		return NULL;
	t = talloc_zero_size(ctx, 1 << 20);
	n = t ? fread(t, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	return t ? talloc_realloc(ctx, t, char, n + 1) : NULL;
}

/* Start `shade monitor LISTEN SERVER` with its output in out_path;
 * returns its pid once it listens (its first line is written). */
static pid_t monitor_start(TALLOC_CTX *ctx, const char *listen,
			   const char *server, const char *out_path)
{
	const char *build = getenv("SHADE_BUILD");
	char *bin = talloc_asprintf(ctx, "%s/bin/shade",
				    build ? build : "build");
	int64_t end = tu_now_ms() + 10000;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execl(bin, bin, "monitor", listen, server, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	while (tu_now_ms() < end) {
		char *got = read_text(ctx, out_path);

		if (got != NULL && strchr(got, '\n') != NULL)
			return pid;
		poll(NULL, 0, 10);
	}
	tu_kill_child(pid);
	fail_msg("the monitor did not start");
	return -1;
}

/* The lines of text that start with prefix, in order. */
static char *lines_of(TALLOC_CTX *ctx, const char *text, const char *prefix)
{
	char *got = talloc_strdup(ctx, "");
	const char *p, *nl;

	for (p = text; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			got = talloc_strndup_append(got, p, nl ? (size_t)(nl - p + 1)
								: strlen(p));
	}
	return got;
}

/* The shape fingerprint of demo.Calc as the server sends it. */
#define CALC_FP "5206347757260293160"

/* The relay: calls go through it unchanged and every message is printed
 * exactly; it stops cleanly on SIGINT. */
static void test_shade_cli_monitor(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *out = talloc_asprintf(ctx, "%s/out", dir);
	char *mon = talloc_asprintf(ctx, "unix:%s/m.sock", dir);
	struct run r1, r2;
	tp_server *v;
	char *text;
	pid_t pid;
	int st, killed;

	v = srv_start(ctx);
	pid = monitor_start(ctx, mon, v->addr, out);
	r1 = shade_run(ctx, mon, "call", "calc.add", "1", "2", NULL);
	r2 = shade_run(ctx, mon, "call", "calc.add", "\"x\"", NULL);
	/* Stopped before any assertion can leave it running. */
	killed = kill(pid, SIGINT);
	if (!tu_wait_child(pid, 10000, &st)) {
		tu_kill_child(pid);
		st = -1;
	}
	assert_int_equal(killed, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_run(r1, 0, "3\n", "");
	assert_run(r2, 1, "", "shade: TypeError: add: argument 0 is not an "
		   "int\n");
	/* Each direction in order (the two directions interleave as the
	 * scheduler has it). */
	text = read_text(ctx, out);
	assert_string_equal(lines_of(ctx, text, "l"), talloc_asprintf(ctx,
		"listening on %s, server %s\n", mon, v->addr));
	/* After BYE either side may close first. */
	assert_string_equal(lines_of(ctx, text, "#1 co"), "#1 connected\n");
	assert_true(strcmp(lines_of(ctx, text, "#1 cl"),
			   "#1 closed (client)\n") == 0 ||
		    strcmp(lines_of(ctx, text, "#1 cl"),
			   "#1 closed (server)\n") == 0);
	assert_string_equal(lines_of(ctx, text, "#1 >"),
		"#1 > HELLO 0 [0, 0, 1, 234]\n"
		"#1 > LOOKUP 1 [7, 1, \"calc\", {1: 10000}]\n"
		"#1 > INVOKE 2 [3, 2, 1, 0, [1, 2], {1: 10000}]\n"
		"#1 > RELEASE 0 [10, 0, 1, 1]\n"
		"#1 > BYE 0 [12, 0]\n");
	assert_string_equal(lines_of(ctx, text, "#1 <"),
		"#1 < HELLO 0 [0, 0, 1, 234]\n"
		"#1 < RETURN 1 [1, 1, 200([1, " CALC_FP ", [0, \"demo.Calc\", "
		"[], [[\"add\", 2], [\"value\", 0], [\"version\", 1], "
		"[\"child\", 1]]]])]\n"
		"#1 < RETURN 2 [1, 2, 3]\n");
	assert_string_equal(lines_of(ctx, text, "#2 <"),
		"#2 < HELLO 0 [0, 0, 1, 234]\n"
		"#2 < RETURN 1 [1, 1, 200([1, " CALC_FP ", [0, \"demo.Calc\", "
		"[], [[\"add\", 2], [\"value\", 0], [\"version\", 1], "
		"[\"child\", 1]]]])]\n"
		"#2 < ERROR 2 [2, 2, \"TypeError\", 0, \"add: argument 0 is not "
		"an int\", [], [[\"server\", \"demo.Calc\", \"add\"]]]\n");
	assert_null(strstr(text, "#3"));
	unlink(out);
	tp_server_stop(v);
	rmdir(dir);
	talloc_free(ctx);
}

/* How the monitor prints frames the runtime never sends: indefinite
 * lengths, undefined, integers past int64, unknown opcodes, bad CBOR. */
static void test_shade_cli_monitor_format(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	static const struct {
		const char *frame; /* bytes */
		size_t len;        /* their count */
		const char *line;  /* what is printed */
	} cases[] = {
		{ "\x82\x0c\x00", 3, "#3 > BYE 0 [12, 0]" },
		{ "\x9f\x01\x02\xff", 4, "#3 > RETURN 2 [_ 1, 2]" },
		{ "\x83\x01\x01\xf7", 4, "#3 > RETURN 1 [1, 1, undefined]" },
		{ "\x83\x01\x01\x1b\xff\xff\xff\xff\xff\xff\xff\xff", 12,
		  "#3 > RETURN 1 [1, 1, 18446744073709551615]" },
		{ "\x83\x01\x01\x3b\xff\xff\xff\xff\xff\xff\xff\xff", 12,
		  "#3 > RETURN 1 [1, 1, -1-18446744073709551615]" },
		{ "\x83\x18\x63\x01\xa1\x61\x6b\xd9\x03\xe7\x40", 11,
		  "#3 > unknown 1 [99, 1, {\"k\": 999(h'')}]" },
		{ "\x82\x01", 2, "#3 > ? not CBOR (array at offset 0 declares 2 items, "
		  "only 1 bytes left): h'8201'" },
		{ "\x82\x0c\x00\x00", 4, "#3 > BYE 0 not CBOR (offset 3: bytes "
		  "after the message): h'820c0000'" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(monitor_format(ctx, 3, true,
					(const uint8_t *)cases[i].frame,
					cases[i].len), cases[i].line);
	assert_string_equal(monitor_format(ctx, 4, false,
					   (const uint8_t *)"\x82\x0c\x00", 3),
			    "#4 < BYE 0 [12, 0]");
	talloc_free(ctx);
}

/* What the bash completion offers for the words of a command line (the
 * last one being completed), one per line, with the built shade first
 * on PATH. */
static char *complete(TALLOC_CTX *ctx, const char *words)
{
	const char *build = getenv("SHADE_BUILD");
	char *argv[] = {
		(char *)"/bin/bash", (char *)"--norc", (char *)"-c",
		talloc_asprintf(ctx,
			"PATH=%s/bin:$PATH; source tools/shade.bash; "
			"COMP_WORDS=(shade %s); "
			"COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _shade; "
			"printf '%%s\\n' \"${COMPREPLY[@]}\"",
			build ? build : "build", words),
		NULL
	};
	struct run r = run_argv(ctx, argv);

	assert_int_equal(r.status, 0);
	return r.out;
}

/* tools/shade.bash in bash, against the running server. */
static void test_shade_cli_bash_completion(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	tp_server *v;

	v = srv_start(ctx);
	assert_string_equal(complete(ctx, "--d"), "--diag\n--diag-in\n");
	assert_string_equal(complete(ctx, "mon"), "monitor\n");
	assert_string_equal(complete(ctx, "tc"), "tcp:\n");
	assert_string_equal(complete(ctx, talloc_asprintf(ctx, "%s d",
							  v->addr)),
			    "describe\n");
	/* Names and members come from the server. */
	assert_string_equal(complete(ctx, talloc_asprintf(ctx, "%s call c",
							  v->addr)),
			    "calc\n");
	assert_string_equal(complete(ctx, talloc_asprintf(ctx, "%s get calc.v",
							  v->addr)),
			    "calc.value\ncalc.version\n");
	assert_string_equal(complete(ctx, talloc_asprintf(
				ctx, "%s describe calc.child.", v->addr)),
			    "calc.child.blob\ncalc.child.items\n"
			    "calc.child.tags\n");
	/* Nothing after a full command line, nothing from a dead address. */
	assert_string_equal(complete(ctx, talloc_asprintf(ctx, "%s ls ''",
							  v->addr)), "\n");
	assert_string_equal(complete(ctx, "monitor unix:/a tc"), "tcp:\n");
	assert_string_equal(complete(ctx, "monitor unix:/a unix:/b ''"),
			    "\n");
	assert_string_equal(complete(ctx, "unix:/nonexistent/x get c"), "\n");
	tp_server_stop(v);
	talloc_free(ctx);
}

/* The declarations of the suite's objects. */
static const char calc_idl[] =
	"module demo {\n"
	"    /** A calculator. */\n"
	"    interface Calc {\n"
	"        /** Adds a and b. */\n"
	"        long add(in long a, in long b);\n"
	"        /** The current value. */\n"
	"        attribute long value;\n"
	"        readonly attribute string version;\n"
	"    };\n"
	"};\n";

/* --idl: docs and declared signatures in describe; arguments checked
 * against the declared types before anything is sent. */
static void test_shade_cli_idl(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *idl = talloc_asprintf(ctx, "%s/calc.idl", dir);
	char *bad = talloc_asprintf(ctx, "%s/bad.idl", dir);
	FILE *f = fopen(idl, "w");
	struct run r;
	tp_server *v;

	assert_non_null(f);
	fputs(calc_idl, f);
	fclose(f);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("interface X { void f(in nosuch a); };\n", f);
	fclose(f);
	v = srv_start(ctx);
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "describe", "calc",
			     NULL), 0,
		   "demo.Calc (object)\n"
		   "  A calculator.\n"
		   "  add                  method    long add(in long a, in long "
		   "b)\n"
		   "      Adds a and b.\n"
		   "  value                attribute attribute long value\n"
		   "      The current value.\n"
		   "  version              readonly  readonly attribute string "
		   "version\n"
		   "  child                readonly\n", "");
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "call", "calc.add",
			     "40", "2", NULL), 0, "42\n", "");
	/* 2^40 is no long; a string is no long; the count is declared. */
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "call", "calc.add",
			     "1099511627776", "2", NULL), 2, "",
		   "shade: TypeError: add: parameter 'a': long wants an "
		   "integer from -2147483648 to 2147483647, not "
		   "1099511627776\n");
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "call", "calc.add",
			     "1", "\"x\"", NULL), 2, "",
		   "shade: TypeError: add: parameter 'b': long wants an "
		   "integer, got str\n");
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "call", "calc.add",
			     "1", NULL), 2, "",
		   "shade: TypeError: add takes 2 arguments (a, b), not 1\n");
	/* Without --idl the server adds any number of ints. */
	assert_run(shade_run(ctx, v->addr, "call", "calc.add", "1", NULL), 0,
		   "1\n", "");
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "set", "calc.value",
			     "\"x\"", NULL), 2, "",
		   "shade: TypeError: value: attribute 'value': long wants an "
		   "integer, got str\n");
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "set", "calc.version",
			     "\"2\"", NULL), 2, "",
		   "shade: AttributeError: demo.Calc: attribute 'version' is "
		   "declared readonly\n");
	assert_run(shade_run(ctx, "--idl", idl, v->addr, "set", "calc.value",
			     "5", NULL), 0, "", "");
	assert_int_equal(__atomic_load_n(&value, __ATOMIC_RELAXED), 5);
	/* A file with errors: the compiler's diagnostics, then exit 2. */
	r = shade_run(ctx, "--idl", bad, v->addr, "ls", NULL);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "nosuch"));
	assert_non_null(strstr(r.err, talloc_asprintf(
		ctx, "shade: usage: --idl %s: 1 error\n", bad)));
	tp_server_stop(v);
	unlink(idl);
	unlink(bad);
	rmdir(dir);
	talloc_free(ctx);
}

static void test_shade_cli_usage_and_connection(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *gone = talloc_asprintf(ctx, "unix:%s/none.sock", dir);
	struct run r;

	r = shade_run(ctx, "unix:/x", "frobnicate", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "shade: usage: bad command or "
				      "arguments: frobnicate\n"));
	r = shade_run(ctx, "--bogus", NULL);
	assert_int_equal(r.status, 2);
	assert_run(shade_run(ctx, gone, "ls", NULL), 3, "",
		   talloc_asprintf(ctx, "shade: ConnectionLost: %s: cannot "
				   "connect: No such file or directory\n",
				   gone));
	r = shade_run(ctx, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "usage: shade"));
	rmdir(dir);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_shade_cli_ls_describe),
		T(test_shade_cli_get_set_call),
		T(test_shade_cli_tree),
		T(test_shade_cli_monitor),
		T(test_shade_cli_monitor_format),
		T(test_shade_cli_bash_completion),
		T(test_shade_cli_idl),
		T(test_shade_cli_usage_and_connection),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("shade_cli", tests, argc, argv);
}
