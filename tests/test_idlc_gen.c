/*
 * test_idlc_gen.c - shade-idlc templates and generators.
 *
 * The template language on its own; the generated output of
 * tests/idl/gen/bank.idl against the golden files beside it (after a
 * deliberate change of the output, regenerate them with
 *     build/bin/shade-idlc -o tests/idl/gen tests/idl/gen/bank.idl
 * and rename bank.h/bank.c to *.golden); the golden output compiled with
 * -std=c11 -Wall -Wextra -Wpedantic -Werror (cc, and clang when present),
 * its header as C++, and its
 * shape fingerprints checked against the runtime's; refusal of constructs
 * outside the C mapping; --templates; the command line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "compile.h"
#include "gen/gen.h"
#include "gen/tmpl.h"
#include "helpers/testutil.h"

/* Group setup: one talloc context for the suite. */
static int setup(void **state)
{
	*state = talloc_new(NULL);
	return *state ? 0 : -1;
}

/* Group teardown. */
static int teardown(void **state)
{
	talloc_free(*state);
	return 0;
}

/* Render `text` with `root`; returns the output or the error message. */
static char *render(TALLOC_CTX *ctx, const char *text, const idlc_tv *root,
		    int *rc)
{
	char *out = NULL, *msg = NULL;

	*rc = idlc_tmpl_render(ctx, "t.tmpl", text, root, &out, &msg);
	return *rc == 0 ? out : msg;
}

/* Variables, loops with @index/@first/@last, conditionals, comments,
 * and standalone block lines that vanish. */
static void test_idlc_gen_template_language(void **state)
{
	size_t before = talloc_total_blocks(*state);
	TALLOC_CTX *ctx = talloc_new(*state);
	idlc_arena *a = idlc_arena_new(ctx);
	idlc_tv *root = idlc_tv_obj(a), *list = idlc_tv_list(a);
	const char *names[] = { "a", "b", "c" };
	char *out;
	size_t i;
	int rc;

	for (i = 0; i < 3; i++) {
		idlc_tv *o = idlc_tv_obj(a);
		assert_int_equal(idlc_tv_set_str(o, "name", "%s", names[i]), 0);
		assert_int_equal(idlc_tv_set_bool(o, "odd", i % 2), 0);
		assert_int_equal(idlc_tv_push(list, o), 0);
	}
	assert_int_equal(idlc_tv_set(root, "items", list), 0);
	assert_int_equal(idlc_tv_set_str(root, "title", "T%d", 1), 0);
	assert_int_equal(idlc_tv_set(root, "none", idlc_tv_list(a)), 0);
	assert_int_equal(idlc_tv_len(list), 3);

	out = render(ctx, "{{title}}: {{#each items}}{{name}}{{#unless @last}}, "
		     "{{/unless}}{{/each}}.", root, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "T1: a, b, c.");

	out = render(ctx,
		     "{{! a comment line }}\n"
		     "begin\n"
		     "  {{#each items}}\n"
		     "  {{@index}} {{name}} in {{title}}{{#if odd}} odd{{else}}"
		     " even{{/if}}{{#if @first}} first{{/if}}\n"
		     "  {{/each}}\n"
		     "{{#if none}}\n"
		     "never\n"
		     "{{else}}\n"
		     "empty list is false\n"
		     "{{/if}}\n"
		     "end\n", root, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "begin\n"
			    "  0 a in T1 even first\n"
			    "  1 b in T1 odd\n"
			    "  2 c in T1 even\n"
			    "empty list is false\n"
			    "end\n");
	talloc_free(ctx);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* Template errors name the template and the line. */
static void test_idlc_gen_template_errors(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	idlc_tv *root = idlc_tv_obj(idlc_arena_new(ctx));
	int rc;

	assert_int_equal(idlc_tv_set_str(root, "x", "1"), 0);
	assert_string_equal(render(ctx, "a\n{{x}}\n{{nope}}\n", root, &rc),
			    "t.tmpl:3: unknown name 'nope'");
	assert_int_equal(rc, -1);
	assert_string_equal(render(ctx, "{{#if x}}\nno end\n", root, &rc),
			    "t.tmpl:1: block is never closed");
	assert_string_equal(render(ctx, "ok\n{{/each}}\n", root, &rc),
			    "t.tmpl:2: {{/each}} without an opening tag");
	assert_string_equal(render(ctx, "{{#each x}}{{/each}}", root, &rc),
			    "t.tmpl:1: 'x' is not a list");
	assert_string_equal(render(ctx, "{{x", root, &rc),
			    "t.tmpl:1: unterminated tag");
	talloc_free(ctx);
}

/* Compile a file through the whole front end. */
static idlc_compilation *compile_file(TALLOC_CTX *ctx, const char *path)
{
	idlc_options opts = { .diag_stream = stderr };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);

	assert_non_null(comp);
	assert_int_equal(idlc_compile_file(comp, path), 0);
	return comp;
}

/* The whole contents of a file, on ctx. */
static char *slurp(TALLOC_CTX *ctx, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;

	assert_non_null(f);
	do {
		buf = talloc_realloc(ctx, buf, char, len + 4097);
		assert_non_null(buf);
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The output of bank.idl is exactly the golden files. */
static void test_idlc_gen_golden(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	idlc_compilation *comp = compile_file(ctx, "tests/idl/gen/bank.idl");

	assert_int_equal(idlc_generate(comp, NULL, NULL), 0);
	assert_string_equal(comp->out_h,
			    slurp(ctx, "tests/idl/gen/bank.h.golden"));
	assert_string_equal(comp->out_c,
			    slurp(ctx, "tests/idl/gen/bank.c.golden"));
	talloc_free(ctx);
}

/* Run a shell command; returns its exit status. */
static int run(TALLOC_CTX *ctx, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int st;

	va_start(ap, fmt);
	cmd = talloc_vasprintf(ctx, fmt, ap);
	va_end(ap);
	assert_non_null(cmd);
	st = system(cmd);
	talloc_free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The golden output compiles warning-free as C11 (and its header as
 * C++), links with libshade, and its fingerprints are the runtime's. */
static void test_idlc_gen_golden_compiles(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	const char *build = getenv("SHADE_BUILD");
	const char *warn = "-Wall -Wextra -Wpedantic -Werror", *san = "";
	size_t bl;

	assert_non_null(dir);
	if (build == NULL)
		build = "build";
	/* the sanitized library (make check SAN=1) links only that way */
	bl = strlen(build);
	if (bl >= 4 && strcmp(build + bl - 4, "/san") == 0)
		san = "-fsanitize=address,undefined";
	if (bl >= 5 && strcmp(build + bl - 5, "/tsan") == 0)
		san = "-fsanitize=thread";
	assert_int_equal(run(ctx, "cp tests/idl/gen/bank.h.golden %s/bank.h && "
			     "cp tests/idl/gen/bank.c.golden %s/bank.c", dir,
			     dir), 0);
	assert_int_equal(run(ctx, "cc -std=c11 %s %s -Iruntime/include -I%s "
			     "-o %s/fpcheck tests/idl/gen/fpcheck.c %s/bank.c "
			     "%s/lib/libshade.a -ltalloc -lgnutls -lpthread",
			     warn, san, dir, dir, dir, build), 0);
	assert_int_equal(run(ctx, "%s/fpcheck", dir), 0);
	assert_int_equal(run(ctx, "if command -v clang >/dev/null; then clang "
			     "-std=c11 %s -Iruntime/include -I%s -c -o "
			     "%s/bank.o %s/bank.c; fi", warn, dir, dir, dir), 0);
	assert_int_equal(run(ctx, "printf '#include \"bank.h\"\\nint main() "
			     "{ return bank_MAX == 10 ? 0 : 1; }\\n' > "
			     "%s/t.cpp && c++ -std=c++11 %s -Iruntime/include "
			     "-I%s -fsyntax-only %s/t.cpp", dir, warn, dir,
			     dir), 0);
	talloc_free(ctx);
}

/* The real-world style corpus that the C mapping covers generates C
 * that compiles warning-free. */
static void test_idlc_gen_realworld_compiles(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	const char *build = getenv("SHADE_BUILD");
	static const char *const files[] = { "common", "naming", "events" };
	size_t i;

	assert_non_null(dir);
	if (build == NULL)
		build = "build";
	for (i = 0; i < 3; i++) {
		assert_int_equal(run(ctx, "%s/bin/shade-idlc -I "
				     "tests/idl/realworld -o %s "
				     "tests/idl/realworld/%s.idl", build, dir,
				     files[i]), 0);
		assert_int_equal(run(ctx, "cc -std=c11 -Wall -Wextra "
				     "-Wpedantic -Werror -Iruntime/include "
				     "-I%s -c -o %s/%s.o %s/%s.c", dir, dir,
				     files[i], dir, files[i]), 0);
		assert_int_equal(run(ctx, "if command -v clang >/dev/null; "
				     "then clang -std=c11 -Wall -Wextra "
				     "-Wpedantic -Werror -Iruntime/include "
				     "-I%s -c -o %s/%s.o %s/%s.c; fi", dir, dir,
				     files[i], dir, files[i]), 0);
	}
	talloc_free(ctx);
}

/* Generating `idl` fails with exactly the diagnostics want[0..n). */
static void expect_gen_errors(void **state, const char *idl,
			      const char *const *want, size_t n)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);
	const idlc_diag *d;
	size_t i = 0;

	assert_int_equal(idlc_compile_string(comp, "t.idl", idl), 0);
	assert_int_equal(idlc_generate(comp, NULL, NULL), -1);
	for (d = comp->diags; d; d = d->next, i++) {
		assert_true(i < n);
		assert_string_equal(d->text, want[i]);
	}
	assert_int_equal(i, n);
	talloc_free(ctx);
}

/* Only the CORBA Component Model is outside the C mapping: it is
 * refused where code would be generated, with one precise diagnostic
 * each; included files are not generated, so they are not refused. */
static void test_idlc_gen_subset(void **state)
{
	static const char *const want[] = {
		"t.idl:3:11: error: component 'C' is outside the IDL subset "
		"that shade maps to C",
		"t.idl:4:6: error: home 'H' is outside the IDL subset that "
		"shade maps to C",
	};

	expect_gen_errors(state,
		"struct Fine { long a; };\n"
		"union U switch (long) { case 1: long a; };\n"
		"component C {};\n"
		"home H manages C {};\n"
		"# 1 \"inc.idl\"\ncomponent Inc {};\n", want,
		sizeof(want) / sizeof(want[0]));
}

/* A local interface never crosses the wire: a non-local interface that
 * takes, returns or holds one (through a struct and a sequence too) is
 * refused, one diagnostic at each place; a local interface using
 * another is fine. */
static void test_idlc_gen_local_refused(void **state)
{
	static const char *const want[] = {
		"t.idl:4:14: error: parameter 'l' of operation 'take' of "
		"interface 'R' uses a local interface, which cannot cross the "
		"wire",
		"t.idl:5:1: error: the result of operation 'give' of interface "
		"'R' uses a local interface, which cannot cross the wire",
		"t.idl:6:11: error: attribute 'h' of interface 'R' uses a local "
		"interface, which cannot cross the wire",
	};

	expect_gen_errors(state,
		"local interface L { void f(in L other); };\n"
		"struct Holder { sequence<L> ls; };\n"
		"interface R { void fine(in long x);\n"
		"void take(in L l);\n"
		"L give();\n"
		"attribute Holder h; };\n", want,
		sizeof(want) / sizeof(want[0]));
}

/* A custom valuetype (it marshals its own state) and a valuetype that
 * supports an interface have no C mapping: refused, one diagnostic at
 * each, naming the construct; an abstract one's operations and
 * attributes, factories and attributes are mapped (no diagnostic). */
static void test_idlc_gen_value_refused(void **state)
{
	static const char *const want[] = {
		"t.idl:2:18: error: custom valuetype 'C' marshals its own "
		"state, which shade does not map to C (drop 'custom': its state "
		"members then travel)",
		"t.idl:4:22: error: valuetype 'S' supports interface 'I', which "
		"shade does not map to C (serve an implementation of 'I' "
		"instead)",
		"t.idl:5:31: error: valuetype 'A' supports interface 'I', which "
		"shade does not map to C (serve an implementation of 'I' "
		"instead)",
	};

	expect_gen_errors(state,
		"interface I { void f(); };\n"
		"custom valuetype C { public long x; };\n"
		"abstract valuetype B { long g(); attribute long y; };\n"
		"valuetype S supports I { public long x; };\n"
		"abstract valuetype A supports I {};\n"
		"valuetype F : B { attribute long z; factory make(in long z); };\n",
		want, sizeof(want) / sizeof(want[0]));
}

/* The C mapping of the IDL 4 types (doc/idl.md section 3): what the
 * header declares for each. */
static void test_idlc_gen_mapping(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);
	static const char *const want[] = {
		"struct U {\n\t/* the discriminator */\n\tE _d;\n"
		"\t/* the member _d selects */\n\tunion {\n\t\tint32_t a;\n"
		"\t\tchar *b;\n\t} _u;\n};",
		"typedef uint8_t M;\n",
		"#define M_B ((M)UINT64_C(2))\n",
		"struct B {\n\t/* 3 bits */\n\tuint8_t v;\n"
		"\t/* 12 bits */\n\tuint16_t n;\n};",
		"struct D {\n\t/* the base struct's members */\n\tS _base;\n"
		"\tint32_t z;\n};",
		"\tuint32_t len;\n\t/* talloc array of len keys */\n"
		"\tchar **keys;\n",
		"\tuint32_t c;\n\tchar *w;\n\tchar *f;\n\tlong double l;\n"
		"\tT *t;\n\tX *x;\n\tconst shade_shape_desc *tc;\n",
		"struct V {\n\t/* its type and operations */\n"
		"\tshade_value_head _head;\n\tchar *name;\n};",
		"struct X {\n\t/* the boxed value */\n\tchar *value;\n};",
		"typedef void *N;\n",
		"typedef struct L L;\n",
	};
	size_t i;

	assert_int_equal(idlc_compile_string(comp, "t.idl",
		"enum E { E1, E2 };\n"
		"union U switch (E) { case E1: long a; case E2: string b; };\n"
		"@bit_bound(8) bitmask M { A, B };\n"
		"bitset B { bitfield<3> v; bitfield<2>; bitfield<12> n; };\n"
		"struct S { long x; };\n"
		"struct D : S { long z; };\n"
		"union T;\n"
		"valuetype V { public string name; };\n"
		"valuetype X string;\n"
		"native N;\n"
		"local interface L { void f(in N n); };\n"
		"struct Wide { wchar c; wstring w; fixed<5,2> f; long double l;\n"
		"  @external T t; X x; CORBA::TypeCode tc;\n"
		"  map<string, long> m; };\n"
		"union T switch (short) { case 1: long a; };\n"), 0);
	assert_int_equal(idlc_generate(comp, NULL, NULL), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(comp->out_h, want[i]) == NULL)
			fail_msg("missing from the header: %s\n%s", want[i],
				 comp->out_h);
	/* a local interface gets no shape and no stubs */
	assert_null(strstr(comp->out_h, "L_shape"));
	talloc_free(ctx);
}

/* Write text to dir/name. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* What CORBA files rely on: CORBA::TypeCode and CORBA::Principal are
 * predeclared (also inside a reopened `module CORBA`), __OMNIIDL__ is
 * defined (-U removes it); @external lets a member have a forward-
 * declared type, which is otherwise still refused. */
static void test_idlc_gen_corba_names(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	const char *build = getenv("SHADE_BUILD");
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);

	assert_non_null(dir);
	if (build == NULL)
		build = "build";
	assert_int_equal(idlc_compile_string(comp, "t.idl",
		"module CORBA { struct NV { TypeCode t; Principal p; }; };\n"
		"interface I { CORBA::TypeCode f(in ::CORBA::Principal p); };\n"
		"union U;\nstruct S { U u; };\n"), -1);
	assert_non_null(comp->diags);
	assert_string_equal(comp->diags->text, "t.idl:4:12: error: member "
			    "'u' has incomplete type 'U'");
	assert_null(comp->diags->next);
	put(dir, "o.idl", "#ifdef __OMNIIDL__\ntypedef long _Factory;\n"
	    "#else\nthis is not IDL\n#endif\n");
	assert_int_equal(run(ctx, "%s/bin/shade-idlc --check %s/o.idl", build,
			     dir), 0);
	assert_int_equal(run(ctx, "%s/bin/shade-idlc --check -U __OMNIIDL__ "
			     "%s/o.idl 2>/dev/null", build, dir), 1);
	talloc_free(ctx);
}

/* No silent limit: an interface of 1 100 operations gets every stub,
 * shape member and dispatch case; a 300-deep chain lists 299 bases. */
static void test_idlc_gen_no_silent_limit(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);
	char *text = talloc_strdup(ctx, "interface Big {\n"), *p;
	int i, n;

	for (i = 0; i < 1100; i++)
		text = talloc_asprintf_append(text, "long op%d(in long a);\n", i);
	text = talloc_strdup_append(text, "};\ninterface I0 {};\n");
	for (i = 1; i < 300; i++)
		text = talloc_asprintf_append(text, "interface I%d : I%d {};\n",
					      i, i - 1);
	assert_int_equal(idlc_compile_string(comp, "t.idl", text), 0);
	assert_int_equal(idlc_generate(comp, NULL, NULL), 0);
	assert_non_null(strstr(comp->out_h, "Big_op1099_INDEX = 1099"));
	assert_non_null(strstr(comp->out_h, "Big_op1099(Big *self"));
	assert_non_null(strstr(comp->out_c, "case Big_op1099_INDEX:"));
	p = strstr(comp->out_c, "I299_bases[] = {");
	assert_non_null(p);
	for (n = 0; *p != '}'; p++)
		n += *p == '\n';
	assert_int_equal(n, 300); /* 299 names, one line each */
	talloc_free(ctx);
}

/* tests/idl/corpus/: every file passes --check, generates, compiles as
 * C11 with every warning an error, and its header as C++. */
static void test_idlc_gen_corpus(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *build = getenv("SHADE_BUILD");

	if (build == NULL)
		build = "build";
	assert_int_equal(run(ctx, "tests/idl/corpus_check.sh %s/bin/shade-idlc "
			     "corpus -I tests/idl/corpus -- "
			     "tests/idl/corpus/*/*/*.idl "
			     "tests/idl/corpus/*.idl", build), 0);
	talloc_free(ctx);
}

/* The peak resident size in KiB of shell command cmd (-1 when it
 * fails), run from a child process whose only child it is. */
static long peak_kib(const char *cmd)
{
	int fd[2], st;
	long kib = -1;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rusage ru;
		long out = -1;

		close(fd[0]);
		if (system(cmd) == 0 && getrusage(RUSAGE_CHILDREN, &ru) == 0)
			out = ru.ru_maxrss;
		_exit(write(fd[1], &out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(fd[1]);
	if (read(fd[0], &kib, sizeof(kib)) != sizeof(kib))
		kib = -1;
	close(fd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return kib;
}

/* Memory linear in the input: a 1 MiB string constant, a 1 MiB doc
 * comment and 100 000 concatenated literals are generated in well under
 * 256 MiB; each character, line or piece used to be appended by copying
 * the whole text (60 000 characters of a constant took 1.8 GB).  Bounded by ulimit -v too, except under ASan (whose
 * shadow memory needs the address space). */
static void test_idlc_gen_long_string_memory(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *build = getenv("SHADE_BUILD");
	char *dir = tu_mkdtemp(ctx), *text;
	size_t n = 1u << 20, k;
	long kib;
	FILE *f;

	if (build == NULL)
		build = "build";
	assert_non_null(dir);
	text = talloc_size(ctx, n + 1);
	assert_non_null(text);
	memset(text, 'a', n);
	text[n] = '\0';
	text[7] = '?'; /* escaped: \077 */
	f = fopen(talloc_asprintf(ctx, "%s/big.idl", dir), "w");
	assert_non_null(f);
	fprintf(f, "const string S = \"%s\";\n", text);
	/* a 1 MiB doc comment of 100 000 lines, and 100 000 string
	 * literals concatenated (each step used to copy the whole text) */
	memset(text, 'w', n);
	for (k = 0; k + 10 < n; k += 10)
		text[k] = '\n';
	fprintf(f, "/** %s */\nstruct D { long x; };\nconst string C =", text);
	for (k = 0; k < 100000; k++)
		fputs(" \"ab\"", f);
	fputs(";\n", f);
	fclose(f);
	kib = peak_kib(talloc_asprintf(ctx, "%s timeout 120 %s/bin/shade-idlc "
		"-o %s %s/big.idl", strstr(build, "san") ? "" :
		"ulimit -v 1048576 &&", build, dir, dir));
	assert_true(kib > 0);
	if (kib >= 256 * 1024)
		fail_msg("peak %ld KiB", kib);
	assert_int_equal(run(ctx, "grep -c '^#define S \"aaaaaaa\\\\077a*\"$' "
			     "%s/big.h >/dev/null", dir), 0);
	assert_int_equal(run(ctx, "grep '^#define C \"\\(ab\\)*\"$' %s/big.h "
			     "| awk 'length($0) != 200012 { exit 1 } END "
			     "{ exit NR != 1 }'", dir), 0);
	assert_int_equal(run(ctx, "test $(grep -c '^ \\* w\\{9\\}$' %s/big.h) "
			     "-gt 100000", dir), 0);
	assert_int_equal(run(ctx, "rm -rf %s", dir), 0);
	talloc_free(ctx);
}

/* --templates DIR replaces the built-in templates; errors in them are
 * reported with the template's name and line. */
static void test_idlc_gen_templates_dir(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	idlc_compilation *comp;

	assert_non_null(dir);
	put(dir, "header.h.tmpl", "// {{base}}\n{{#each decls}}"
	    "{{#if is_struct}}struct {{c_name}};\n{{/if}}{{/each}}");
	put(dir, "source.c.tmpl", "{{#each decls}}{{#if is_interface}}{{qname}} "
	    "{{fingerprint}}\n{{/if}}{{/each}}");
	comp = compile_file(ctx, "tests/idl/gen/bank.idl");
	assert_int_equal(idlc_generate(comp, NULL, dir), 0);
	assert_string_equal(comp->out_h, "// bank\nstruct bank_Entry;\n"
			    "struct bank_Overdrawn;\nstruct bank_Frozen;\n"
			    "struct bank_Holder;\nstruct bank_Transfer;\n"
			    "struct bank_Grid;\n");
	assert_string_equal(comp->out_c, "bank.Base 0x6bed21eb490bc99c\n"
			    "bank.Account 0xb38dd5ecdff4f2cb\n"
			    "bank.Earning 0x366500d7fe0c54b7\n"
			    "bank.Ledger 0x6f21d289086010d2\n"
			    "broker.Dealer 0xdd38556db2464c7f\n"
			    "broker.Bank 0xc3815df5621d1532\n");

	put(dir, "header.h.tmpl", "ok\n{{#each decls}}{{nope}}{{/each}}\n");
	comp = compile_file(ctx, "tests/idl/gen/bank.idl");
	assert_int_equal(idlc_generate(comp, NULL, dir), -1);
	assert_string_equal(comp->diags->text, "shade-idlc: error: template "
			    "header.h.tmpl:2: unknown name 'nope'");
	talloc_free(ctx);
}

/* The command line: outputs and -MD in -o DIR, -M on stdout, exit codes. */
static void test_idlc_gen_cli(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx), *d;
	const char *build = getenv("SHADE_BUILD");

	assert_non_null(dir);
	if (build == NULL)
		build = "build";
	assert_int_equal(run(ctx, "%s/bin/shade-idlc -MD -o %s "
			     "-I tests/idl/realworld "
			     "tests/idl/realworld/naming.idl", build, dir), 0);
	d = slurp(ctx, talloc_asprintf(ctx, "%s/naming.d", dir));
	assert_string_equal(d, talloc_asprintf(ctx,
		"%s/naming.h %s/naming.c: \\\n"
		"  tests/idl/realworld/naming.idl \\\n"
		"  tests/idl/realworld/common.idl\n\n"
		"tests/idl/realworld/common.idl:\n", dir, dir));
	assert_non_null(strstr(slurp(ctx, talloc_asprintf(ctx, "%s/naming.h",
							  dir)),
			       "#include \"common.h\""));
	assert_int_equal(run(ctx, "%s/bin/shade-idlc -M "
			     "tests/idl/gen/bank.idl > %s/deps", build, dir), 0);
	assert_string_equal(slurp(ctx, talloc_asprintf(ctx, "%s/deps", dir)),
			    "./bank.h ./bank.c: \\\n"
			    "  tests/idl/gen/bank.idl\n");
	assert_int_equal(run(ctx, "%s/bin/shade-idlc --check "
			     "tests/idl/realworld/values.idl", build), 0);
	assert_int_equal(run(ctx, "%s/bin/shade-idlc -o %s "
			     "tests/idl/realworld/values.idl 2>/dev/null",
			     build, dir), 1);
	assert_int_equal(run(ctx, "%s/bin/shade-idlc --bogus 2>/dev/null",
			     build), 2);
	assert_int_equal(run(ctx, "%s/bin/shade-idlc --version > /dev/null",
			     build), 0);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idlc_gen_template_language),
		cmocka_unit_test(test_idlc_gen_template_errors),
		cmocka_unit_test(test_idlc_gen_golden),
		cmocka_unit_test(test_idlc_gen_golden_compiles),
		cmocka_unit_test(test_idlc_gen_realworld_compiles),
		cmocka_unit_test(test_idlc_gen_subset),
		cmocka_unit_test(test_idlc_gen_local_refused),
		cmocka_unit_test(test_idlc_gen_value_refused),
		cmocka_unit_test(test_idlc_gen_mapping),
		cmocka_unit_test(test_idlc_gen_corpus),
		cmocka_unit_test(test_idlc_gen_corba_names),
		cmocka_unit_test(test_idlc_gen_no_silent_limit),
		cmocka_unit_test(test_idlc_gen_long_string_memory),
		cmocka_unit_test(test_idlc_gen_templates_dir),
		cmocka_unit_test(test_idlc_gen_cli),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
