/*
 * test_idlc_names.c - the C names of generated code (idlc/gen/names.c,
 * doc/idl.md "C names"): names reserved in C, C++ or the C library get a
 * '_'; declarations whose C names would still collide are refused with a
 * diagnostic naming both; doc comments and the banner's path never open
 * or close a comment; a generated #include keeps the folders of the IDL
 * include.  tests/idl/corpus/cnames.idl and times.idl compile the same
 * cases with cc and c++ (test_idlc_gen).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <talloc.h>

#include "compile.h"
#include "gen/gen.h"
#include "helpers/testutil.h"

/* Group setup: one talloc context for the whole suite. */
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

/* Compile `text` as `name` (no preprocessor) and generate in memory;
 * returns the compilation (on ctx) and whether generation succeeded. */
static idlc_compilation *generate(TALLOC_CTX *ctx, const char *name,
				  const char *text, int *rc)
{
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);

	assert_non_null(comp);
	assert_int_equal(idlc_compile_string(comp, name, text), 0);
	*rc = idlc_generate(comp, NULL, NULL);
	return comp;
}

/* The errors of a compilation, one per line (notes left out). */
static char *errors(TALLOC_CTX *ctx, const idlc_compilation *comp)
{
	char *out = talloc_strdup(ctx, "");
	const idlc_diag *d;

	for (d = comp->diags; d && out; d = d->next)
		if (d->severity == IDLC_ERROR)
			out = talloc_asprintf_append(out, "%s%s",
						     *out ? "\n" : "", d->text);
	assert_non_null(out);
	return out;
}

/* `text` is refused at generation with exactly `expected`; nothing is
 * generated and every talloc block is given back. */
static void expect_refused(void **state, const char *text,
			   const char *expected)
{
	TALLOC_CTX *ctx = *state;
	size_t before = talloc_total_blocks(ctx);
	int rc;
	idlc_compilation *comp = generate(ctx, "t.idl", text, &rc);
	char *got = errors(ctx, comp);

	assert_string_equal(got, expected);
	assert_int_equal(rc, -1);
	assert_null(comp->out_h);
	talloc_free(got);
	talloc_free(comp);
	assert_int_equal(talloc_total_blocks(ctx), before);
}

/* One refused case. */
#define REFUSED(name, idl, expected)                                \
	static void test_idlc_names_##name(void **state)            \
	{                                                           \
		expect_refused(state, idl, expected);               \
	}

REFUSED(scoped_join,
	"module a { struct b_c { long x; }; };\n"
	"module a_b { struct c { long y; }; };",
	"t.idl:2:21: error: 'a_b::c' and 'a::b_c' both have the C name "
	"'a_b_c' (rename one)")
REFUSED(operation_helpers,
	"interface Widget {\n  void narrow();\n  long serve(in long x);\n"
	"  string shape();\n};",
	"t.idl:2:8: error: 'Widget::narrow' and the narrow function of "
	"'Widget' both have the C name 'Widget_narrow' (rename one)\n"
	"t.idl:3:8: error: 'Widget::serve' and the serve function of 'Widget' "
	"both have the C name 'Widget_serve' (rename one)\n"
	"t.idl:4:10: error: 'Widget::shape' and the shape descriptor of "
	"'Widget' both have the C name 'Widget_shape' (rename one)")
REFUSED(interface_helper,
	"interface Widget {};\ninterface Widget_narrow {};",
	"t.idl:2:11: error: 'Widget_narrow' and the narrow function of "
	"'Widget' both have the C name 'Widget_narrow' (rename one)")
REFUSED(accessor,
	"interface I {\n  attribute long x;\n  void get_x();\n};",
	"t.idl:3:8: error: 'I::get_x' and 'I::x' both have the C name "
	"'I_get_x' (rename one)")
REFUSED(exception_helper,
	"exception E { long code; };\nstruct E_raise { long x; };",
	"t.idl:2:8: error: 'E_raise' and the raise function of 'E' both have "
	"the C name 'E_raise' (rename one)")
REFUSED(value_helpers,
	"valuetype V { public long x; void f(); };\n"
	"struct V_ops { long a; };\nconst long V_f = 1;",
	"t.idl:2:8: error: 'V_ops' and the operations table of 'V' both have "
	"the C name 'V_ops' (rename one)\n"
	"t.idl:3:12: error: 'V_f' and the operation's call of 'V::f' both "
	"have the C name 'V_f' (rename one)")
REFUSED(repo_id_macro,
	"struct S { long x; };\ntypedef long S_REPO_ID;",
	"t.idl:2:14: error: 'S_REPO_ID' and the repository id macro of 'S' "
	"both have the C name 'S_REPO_ID' (rename one)")
REFUSED(macro_member,
	"const long width = 3;\nstruct Box { long width; };",
	"t.idl:1:12: error: 'width' is the macro 'width', which would replace "
	"the name of 'Box::width' (rename one)")

/* Reserved names get a '_' wherever they are used; the output has them
 * as such. */
static void test_idlc_names_reserved(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int rc;
	idlc_compilation *comp = generate(ctx, "t.idl",
		"struct size_t { long FILE; long EOF; };\n"
		"typedef long uint32_t;\n"
		"const long NULL = 0;\n"
		"const long INT32_MAX = 5;\n"
		"const long len = 1;\n"
		"enum Stream { stdin, stdout };\n"
		"struct class { long new; size_t delete; };\n"
		"module delete { struct this { long x; }; };\n"
		"interface Tools { long free(in long cx, in long self); };\n",
		&rc);
	static const char *const want[] = {
		"struct size_t_ {\n\tint32_t FILE_;\n\tint32_t EOF_;\n};",
		"typedef int32_t uint32_t_;",
		"#define NULL_ INT32_C(0)",
		"#define INT32_MAX_ INT32_C(5)",
		"#define len_ INT32_C(1)",
		"\tstdin_ = 0,\n\tstdout_ = 1",
		"struct class_ {\n\tint32_t new_;\n\tsize_t_ delete_;\n};",
		"struct delete_this {",
		"shade_status Tools_free(Tools *self,\n\tint32_t cx,\n"
		"\tint32_t self_,",
	};
	size_t i;

	assert_int_equal(rc, 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(comp->out_h, want[i]) == NULL)
			fail_msg("missing from the header: %s\n%s", want[i],
				 comp->out_h);
	talloc_free(ctx);
}

/* A doc comment and the banner's path never open or close a comment. */
static void test_idlc_names_comments(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int rc;
	idlc_compilation *comp = generate(ctx, "dir*/t.idl",
		"/** Opens /* here, and a/ *b. */\nstruct Doc { long x; };\n",
		&rc);

	assert_int_equal(rc, 0);
	assert_non_null(strstr(comp->out_h, "from dir* /t.idl."));
	assert_non_null(strstr(comp->out_c, "from dir* /t.idl."));
	assert_non_null(strstr(comp->out_h, " * Opens / * here, and a/ *b.\n"));
	/* the only comment openers are at the start of a comment line */
	assert_null(strstr(comp->out_h, "dir*/"));
	assert_null(strstr(comp->out_h, "Opens /*"));
	talloc_free(ctx);
}

/* Write text to dir/name, making its folders. */
static void put(TALLOC_CTX *ctx, const char *dir, const char *name,
		const char *text)
{
	char *path = talloc_asprintf(ctx, "%s/%s", dir, name), *p;
	FILE *f;

	assert_non_null(path);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	talloc_free(path);
}

/* The include guard of a generated header (on ctx). */
static char *guard(TALLOC_CTX *ctx, const char *h)
{
	const char *g = strstr(h, "#ifndef ");
	char *line;

	assert_non_null(g);
	line = talloc_strndup(ctx, g, strcspn(g, "\n"));
	assert_non_null(line);
	return line;
}

/* Two Time.idl in different folders: each #include keeps its folder,
 * relative to the main file or to the -I directory that found it, and
 * the two headers have different guards. */
static void test_idlc_names_include_folders(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx), *main_idl, *inc;
	const char *incs[1];
	idlc_options opts = { .n_include_dirs = 1 };
	idlc_compilation *comp, *ta, *tb;

	assert_non_null(dir);
	inc = talloc_asprintf(ctx, "%s/inc", dir);
	put(ctx, dir, "a/msg/Time.idl", "module ta { struct Time { long s; }; };\n");
	put(ctx, dir, "inc/b/msg/Time.idl",
	    "module tb { struct Time { long s; }; };\n");
	put(ctx, dir, "main.idl", "#include \"a/msg/Time.idl\"\n"
	    "#include <b/msg/Time.idl>\n"
	    "struct Both { ta::Time a; tb::Time b; };\n");
	incs[0] = inc;
	opts.include_dirs = incs;
	main_idl = talloc_asprintf(ctx, "%s/main.idl", dir);
	comp = idlc_compilation_new(ctx, &opts);
	assert_int_equal(idlc_compile_file(comp, main_idl), 0);
	assert_int_equal(idlc_generate(comp, NULL, NULL), 0);
	assert_non_null(strstr(comp->out_h, "#include \"a/msg/Time.h\"\n"
			       "#include \"b/msg/Time.h\"\n"));

	ta = idlc_compilation_new(ctx, NULL);
	tb = idlc_compilation_new(ctx, NULL);
	assert_int_equal(idlc_compile_file(ta, talloc_asprintf(ctx,
			 "%s/a/msg/Time.idl", dir)), 0);
	assert_int_equal(idlc_compile_file(tb, talloc_asprintf(ctx,
			 "%s/inc/b/msg/Time.idl", dir)), 0);
	assert_int_equal(idlc_generate(ta, NULL, NULL), 0);
	assert_int_equal(idlc_generate(tb, NULL, NULL), 0);
	assert_non_null(strstr(ta->out_h, "#ifndef SHADE_IDL_TIME_"));
	assert_non_null(strstr(tb->out_h, "#ifndef SHADE_IDL_TIME_"));
	assert_string_not_equal(guard(ctx, ta->out_h), guard(ctx, tb->out_h));
	talloc_free(ctx);
}

#define T(name) cmocka_unit_test(test_idlc_names_##name)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(scoped_join), T(operation_helpers), T(interface_helper),
		T(accessor), T(exception_helper), T(value_helpers),
		T(macro_member), T(repo_id_macro),
		T(reserved), T(comments), T(include_folders),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
