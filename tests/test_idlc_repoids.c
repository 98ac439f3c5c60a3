/*
 * test_idlc_repoids.c - repository ids (idlc/check/repoid.c, doc/idl.md
 * "Repository ids"): `#pragma prefix`, `#pragma ID`, `#pragma version`,
 * `typeid` and `typeprefix` give the ids CORBA compilers give, in the
 * generated C_REPO_ID macros and valuetype descriptors; contradicting
 * pragmas are refused with file:line.  The expected ids of the first
 * case are omniidl's for the same file (`omniidl -bcxx -Wba`, its
 * _PD_repoId strings and TypeCodes); omniidl does not parse typeid and
 * typeprefix (CORBA 3), whose ids follow the CORBA 3 rule.  A valuetype
 * carrying its id on the wire is test_idlc_mapping's repo_ids case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "compile.h"
#include "gen/gen.h"

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

/* Compile `text` as `name` (no preprocessor); generate in memory when
 * it compiled.  Returns the compilation (on ctx); *rc 0 when both
 * passed. */
static idlc_compilation *compile(TALLOC_CTX *ctx, const char *name,
				 const char *text, int *rc)
{
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);

	assert_non_null(comp);
	*rc = idlc_compile_string(comp, name, text);
	if (*rc == 0)
		*rc = idlc_generate(comp, NULL, NULL);
	return comp;
}

/* The diagnostics of a compilation, one per line. */
static char *diags(TALLOC_CTX *ctx, const idlc_compilation *comp)
{
	char *out = talloc_strdup(ctx, "");
	const idlc_diag *d;

	for (d = comp->diags; d && out; d = d->next)
		out = talloc_asprintf_append(out, "%s%s", *out ? "\n" : "",
					     d->text);
	assert_non_null(out);
	return out;
}

/* `text` compiles and its outputs hold every line of want[0..n). */
static void expect_ids(void **state, const char *name, const char *text,
		       const char *const *want, size_t n)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int rc;
	idlc_compilation *comp = compile(ctx, name, text, &rc);
	size_t i;

	if (rc != 0)
		fail_msg("%s", diags(ctx, comp));
	for (i = 0; i < n; i++)
		if (strstr(comp->out_h, want[i]) == NULL &&
		    strstr(comp->out_c, want[i]) == NULL)
			fail_msg("missing from the output: %s\n%s", want[i],
				 comp->out_h);
	talloc_free(ctx);
}

/* `text` is refused by the check with exactly `expected`, and every
 * talloc block is given back. */
static void expect_refused(void **state, const char *text,
			   const char *expected)
{
	TALLOC_CTX *ctx = *state;
	size_t before = talloc_total_blocks(ctx);
	int rc;
	idlc_compilation *comp = compile(ctx, "t.idl", text, &rc);
	char *got = diags(ctx, comp);

	assert_int_equal(rc, -1);
	assert_string_equal(got, expected);
	assert_null(comp->out_h);
	talloc_free(got);
	talloc_free(comp);
	assert_int_equal(talloc_total_blocks(ctx), before);
}

/* The ids omniidl gives: a prefix for what follows in its scope and the
 * scopes within, replaced inside a module (the names relative to it)
 * and back when the module ends; #pragma ID; #pragma version. */
static void test_idlc_repoids_omniidl(void **state)
{
	static const char *const want[] = {
		"#define M_I_REPO_ID \"IDL:acme.com/M/I:1.0\"",
		"#define M_S_REPO_ID \"IDL:acme.com/M/S:1.0\"",
		"#define M_N_J_REPO_ID \"IDL:inner.org/J:1.0\"",
		"#define M_N_T_REPO_ID \"IDL:inner.org/T:1.0\"",
		"#define M_K_REPO_ID \"LOCAL:k-id\"",
		"#define M_L_REPO_ID \"IDL:acme.com/M/L:2.3\"",
		"#define M_V_REPO_ID \"IDL:acme.com/M/V:1.0\"",
		"#define P_Q_REPO_ID \"IDL:acme.com/P/Q:1.0\"",
		"#define P_R_Z_REPO_ID \"IDL:acme.com/P/R/Z:1.0\"",
		"#define Top_REPO_ID \"IDL:acme.com/Top:1.0\"",
		/* the descriptor's id is the macro's */
		"\t\"IDL:acme.com/M/V:1.0\", \"M.V\", \"M_V\",",
	};

	expect_ids(state, "p.idl",
		"#pragma prefix \"acme.com\"\n"
		"module M {\n"
		"  interface I { void f(); };\n"
		"  struct S { long a; };\n"
		"  module N {\n"
		"#pragma prefix \"inner.org\"\n"
		"    interface J {};\n"
		"    struct T { long b; };\n"
		"  };\n"
		"  interface K {};\n"
		"#pragma ID K \"LOCAL:k-id\"\n"
		"  typedef long L;\n"
		"#pragma version L 2.3\n"
		"  valuetype V { public long x; };\n"
		"};\n"
		"module P {\n"
		"  interface Q {};\n"
		"  module R { interface Z {}; };\n"
		"};\n"
		"interface Top {};\n", want, sizeof(want) / sizeof(want[0]));
}

/* typeprefix names a scope: the prefix of the ids of the scope and what
 * is in it, the scope's name included (every opening of a module);
 * typeid gives an id whole; a module reopened after a #pragma prefix
 * gets it for what it declares then. */
static void test_idlc_repoids_typeid(void **state)
{
	static const char *const want[] = {
		"#define P_Q_REPO_ID \"IDL:pp.net/P/Q:1.0\"",
		"#define P_R_Z_REPO_ID \"IDL:pp.net/P/R/Z:1.0\"",
		"#define P_Y_REPO_ID \"IDL:pp.net/P/Y:1.0\"",
		"#define W_V_REPO_ID \"IDL:custom/V:9.9\"",
		"\t\"IDL:custom/V:9.9\", \"W.V\", \"W_V\",",
		"#define X_A_REPO_ID \"IDL:X/A:1.0\"",
		"#define X_B_REPO_ID \"IDL:later.org/X/B:1.0\"",
	};

	expect_ids(state, "t.idl",
		"module P {\n"
		"  typeprefix P \"pp.net\";\n"
		"  interface Q {};\n"
		"  module R { interface Z {}; };\n"
		"};\n"
		"module P { interface Y {}; };\n"
		"module W { valuetype V { public long x; }; };\n"
		"typeid W::V \"IDL:custom/V:9.9\";\n"
		"module X { struct A { long x; }; };\n"
		"#pragma prefix \"later.org\"\n"
		"module X { struct B { long y; }; };\n",
		want, sizeof(want) / sizeof(want[0]));
}

/* The declaration `outer::inner` of comp's tree (a top-level one when
 * inner is NULL). */
static const idlc_node *find(const idlc_compilation *comp, const char *outer,
			     const char *inner)
{
	const idlc_node *n, *m;

	for (n = comp->root->children; n; n = n->next) {
		if (n->name == NULL || strcmp(n->name, outer) != 0)
			continue;
		if (inner == NULL)
			return n;
		for (m = n->children; m; m = m->next)
			if (m->name && strcmp(m->name, inner) == 0)
				return m;
	}
	fail_msg("no %s::%s", outer, inner ? inner : "");
	return NULL;
}

/* An included file starts without a prefix and its own does not reach
 * the including file, which keeps its own after the #include (a prefix
 * set inside a struct body is refused: test_idlc_diag's
 * pragma_prefix_in_struct). */
static void test_idlc_repoids_files(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	int rc;
	idlc_compilation *comp = compile(ctx, "a.idl",
		"# 1 \"a.idl\"\n"
		"#pragma prefix \"aye.org\"\n"
		"module A1 { struct S1 { long x; }; };\n"
		"# 1 \"b.idl\" 1\n"
		"module B0 { struct BS { long x; }; };\n"
		"#pragma prefix \"bee.org\"\n"
		"module B { struct BS { long x; }; };\n"
		"# 4 \"a.idl\" 2\n"
		"module A2 { struct S2 { long x; }; };\n"
		"module M {\n"
		"  struct S {\n"
		"    long x;\n"
		"  };\n"
		"  struct T { long y; };\n"
		"};\n", &rc);

	assert_int_equal(rc, 0);
	assert_string_equal(find(comp, "A1", "S1")->repo_id,
			    "IDL:aye.org/A1/S1:1.0");
	assert_string_equal(find(comp, "B0", "BS")->repo_id, "IDL:B0/BS:1.0");
	assert_string_equal(find(comp, "B", "BS")->repo_id,
			    "IDL:bee.org/B/BS:1.0");
	assert_string_equal(find(comp, "A2", "S2")->repo_id,
			    "IDL:aye.org/A2/S2:1.0");
	assert_string_equal(find(comp, "M", "T")->repo_id,
			    "IDL:aye.org/M/T:1.0");
	/* what the included file declares is in its own header */
	assert_null(strstr(comp->out_h, "B_BS_REPO_ID"));
	assert_non_null(strstr(comp->out_h, "#define A2_S2_REPO_ID "
			       "\"IDL:aye.org/A2/S2:1.0\""));
	talloc_free(ctx);
}

/* One refused case. */
#define REFUSED(name, idl, expected)                                \
	static void test_idlc_repoids_##name(void **state)          \
	{                                                           \
		expect_refused(state, idl, expected);               \
	}

/* the same id twice is no contradiction */
REFUSED(id_twice,
	"interface A {};\n"
	"#pragma ID A \"IDL:x/A:1.0\"\n"
	"#pragma ID A \"IDL:x/A:1.0\"\n"
	"#pragma ID A \"IDL:y/A:1.0\"\n"
	"typeid A \"IDL:z/A:1.0\";\n",
	"t.idl:4:1: error: the repository id of 'A' is set twice: "
	"\"IDL:y/A:1.0\" here, \"IDL:x/A:1.0\" before\n"
	"t.idl:2:1: note: set here first\n"
	"t.idl:5:1: error: the repository id of 'A' is set twice: "
	"\"IDL:z/A:1.0\" here, \"IDL:x/A:1.0\" before\n"
	"t.idl:2:1: note: set here first")
/* omniidl: "Cannot set version of 'A' to '3.1'", in either order */
REFUSED(id_and_version,
	"module M {\n"
	"  interface A {};\n"
	"#pragma ID A \"IDL:x/A:2.0\"\n"
	"#pragma version A 3.1\n"
	"  interface B {};\n"
	"#pragma version B 4.5\n"
	"#pragma ID B \"IDL:y/B:1.0\"\n"
	"  interface C {};\n"
	"#pragma version C 2.0\n"
	"#pragma ID C \"IDL:c/C:2.0\"\n"
	"};\n",
	"t.idl:4:1: error: the repository id of 'A', \"IDL:x/A:2.0\", does "
	"not have the version 3.1 given by #pragma version\n"
	"t.idl:3:1: note: set here\n"
	"t.idl:7:1: error: the repository id of 'B', \"IDL:y/B:1.0\", does "
	"not have the version 4.5 given by #pragma version\n"
	"t.idl:6:1: note: set here")
REFUSED(version_twice,
	"struct S { long x; };\n"
	"#pragma version S 1.1\n"
	"#pragma version S 1.2\n",
	"t.idl:3:1: error: the version of 'S' is set twice: \"1.2\" here, "
	"\"1.1\" before\n"
	"t.idl:2:1: note: set here first")
REFUSED(undeclared,
	"#pragma ID Nope \"IDL:n:1.0\"\n"
	"module M { struct S { long x; }; };\n"
	"#pragma version M::S::x 1.1\n",
	"t.idl:1:1: error: 'Nope' is not declared\n"
	"t.idl:3:1: error: #pragma version names member 'x', which has no "
	"repository id")
REFUSED(malformed,
	"#pragma prefix acme\n"
	"#pragma ID A\n"
	"#pragma ID A \"\"\n"
	"#pragma version A 2\n"
	"#pragma version A 2.0 x\n"
	"#pragma hh #include \"other\"\n"
	"struct A { long x; };\n",
	"t.idl:1:1: error: malformed '#pragma prefix': expected a string\n"
	"t.idl:2:1: error: malformed '#pragma ID': expected a name and a "
	"non-empty string\n"
	"t.idl:3:1: error: malformed '#pragma ID': expected a name and a "
	"non-empty string\n"
	"t.idl:4:1: error: malformed '#pragma version': expected a name and a "
	"version (2.3)\n"
	"t.idl:5:1: error: malformed '#pragma version': expected a name and a "
	"version (2.3)")
REFUSED(typeprefix_twice,
	"module M { typeprefix M \"a.org\"; };\n"
	"typeprefix M \"b.org\";\n",
	"t.idl:2:1: error: the type prefix of 'M' is set twice: \"b.org\" "
	"here, \"a.org\" before\n"
	"t.idl:1:12: note: set here first")

#define T(name) cmocka_unit_test(test_idlc_repoids_##name)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(omniidl), T(typeid), T(files),
		T(id_twice), T(id_and_version), T(version_twice),
		T(undeclared), T(malformed), T(typeprefix_twice),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
