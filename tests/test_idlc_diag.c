/*
 * test_idlc_diag.c - shade-idlc diagnostics: each case compiles a piece
 * of IDL and asserts the exact `file:line:col: severity: message` lines
 * (notes left out), plus the preprocessor paths (include files, columns
 * mapped back through squeezed blanks, missing preprocessor).
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

/* Errors and warnings of a compilation, one per line, on ctx. */
static char *render(TALLOC_CTX *ctx, const idlc_compilation *comp)
{
	char *out = talloc_strdup(ctx, "");
	const idlc_diag *d;

	for (d = comp->diags; d && out; d = d->next)
		if (d->severity != IDLC_NOTE)
			out = talloc_asprintf_append(out, "%s%s",
						     *out ? "\n" : "", d->text);
	return out;
}

/* Compile `text` as "t.idl" (no preprocessor) and compare the rendered
 * diagnostics with `expected`; errors must make the compilation fail.
 * The compilation must give back every talloc block it took. */
static void expect_diags_opts(void **state, const idlc_options *opts,
			      const char *text, const char *expected)
{
	TALLOC_CTX *ctx = *state;
	size_t before = talloc_total_blocks(ctx);
	idlc_compilation *comp = idlc_compilation_new(ctx, opts);
	int rc;
	char *got;

	assert_non_null(comp);
	rc = idlc_compile_string(comp, "t.idl", text);
	got = render(ctx, comp);
	assert_non_null(got);
	assert_string_equal(got, expected);
	assert_int_equal(rc, comp->n_errors ? -1 : 0);
	talloc_free(got);
	talloc_free(comp);
	assert_int_equal(talloc_total_blocks(ctx), before);
}

/* expect_diags_opts with the default options (no preprocessor). */
static void expect_diags(void **state, const char *text, const char *expected)
{
	idlc_options opts = { .no_cpp = true };

	expect_diags_opts(state, &opts, text, expected);
}

/* One test case per diagnostic. */
#define DIAG(name, idl, expected)                                   \
	static void test_idlc_diag_##name(void **state)             \
	{                                                           \
		expect_diags(state, idl, expected);                 \
	}

/* ---------------------------------------------------------------- lexical */
DIAG(invalid_char, "struct $ { long x; };",
     "t.idl:1:8: error: invalid character '$'\n"
     "t.idl:1:10: error: syntax error, unexpected '{', expecting identifier")
DIAG(unterminated_string, "const string s = \"abc\n;",
     "t.idl:1:18: error: unterminated string literal")
DIAG(unterminated_comment, "struct S { long x; };\n/* never closed\n",
     "t.idl:2:1: error: unterminated comment")
DIAG(empty_char, "const char c = '';",
     "t.idl:1:16: error: empty character literal")
DIAG(long_char, "const char c = 'ab';",
     "t.idl:1:16: error: more than one character in a character literal")
DIAG(bad_escape, "const string s = \"a\\qb\";",
     "t.idl:1:18: error: unknown escape sequence '\\q'")
DIAG(surrogate_escape, "const wstring W = L\"a\\uD800b\";",
     "t.idl:1:19: error: \\uD800 is not a Unicode scalar value")
DIAG(bad_octal, "const long X = 08;",
     "t.idl:1:16: error: invalid digit '8' in octal constant")
DIAG(literal_too_large, "const long long X = 18446744073709551616;",
     "t.idl:1:21: error: integer literal 18446744073709551616 is too large")
DIAG(directive_without_cpp, "#include \"x.idl\"\nstruct S { long x; };",
     "t.idl:1:1: error: preprocessor directive not expanded: run the file "
     "through the C preprocessor")
DIAG(fixed_too_many_digits,
     "const fixed F = 12345678901234567890123456789012.5d;",
     "t.idl:1:17: error: fixed-point literal has more than 31 digits")

/* ---------------------------------------------------------------- syntax */
DIAG(missing_semicolon, "struct S { long x; }\nstruct T { long y; };",
     "t.idl:2:1: error: syntax error, unexpected struct, expecting ';'")
DIAG(missing_type, "interface I { void f(in x); };",
     "t.idl:1:26: error: syntax error, unexpected ')', expecting identifier")
DIAG(several_errors,
     "struct A { long; };\nstruct B { long x; };\nconst long C = ;\n",
     "t.idl:1:16: error: syntax error, unexpected ';', expecting identifier\n"
     "t.idl:3:16: error: syntax error, unexpected ';'")
DIAG(readonly_setraises,
     "exception E {};\ninterface I { readonly attribute long a "
     "setraises (E); };",
     "t.idl:2:15: error: use raises, not getraises/setraises, on a readonly "
     "attribute")
DIAG(raises_on_writable,
     "exception E {};\ninterface I { attribute long a raises (E); };",
     "t.idl:2:15: error: use getraises/setraises, not raises, on a writable "
     "attribute")
DIAG(raises_with_two_names,
     "exception E {};\ninterface I { readonly attribute long a, b "
     "raises (E); };",
     "t.idl:2:42: error: an attribute with a raises clause must be declared "
     "alone")
DIAG(factory_out_param,
     "valuetype V { factory make(out long x); };",
     "t.idl:1:28: error: parameter 'x' of factory 'make' must be 'in'")

/* ---------------------------------------------------------------- names */
DIAG(redefinition,
     "struct S { long x; };\nstruct S { long y; };",
     "t.idl:2:8: error: redefinition of 'S'")
DIAG(redefinition_reopened_module,
     "module m { struct A { long x; }; };\n"
     "module m { struct A { long y; }; };",
     "t.idl:2:19: error: redefinition of 'A'")
DIAG(different_kind,
     "interface I;\nstruct I { long x; };",
     "t.idl:2:8: error: 'I' is already declared as an interface\n"
     "t.idl:1:11: warning: interface 'I' is forward-declared but never "
     "defined")
DIAG(case_clash,
     "struct S { long value; long Value; };",
     "t.idl:1:29: error: 'Value' clashes with 'value' (names that differ "
     "only in case collide)")
DIAG(same_name_as_scope,
     "module M { interface M {}; };",
     "t.idl:1:22: error: 'M' has the same name as the enclosing module")
DIAG(duplicate_param,
     "interface A { void f(in long a, in long a); };",
     "t.idl:1:41: error: redefinition of 'a'")
DIAG(undeclared_type, "struct S { Foo x; };",
     "t.idl:1:12: error: 'Foo' is not declared")
DIAG(undeclared_in_scope,
     "module m { struct S { long x; }; };\nstruct T { m::Q q; };",
     "t.idl:2:12: error: 'Q' is not declared in 'm'")
DIAG(did_you_mean,
     "struct Point { long x; };\nstruct T { point p; };",
     "t.idl:2:12: error: 'point' is not declared (did you mean 'Point'?)")
DIAG(not_a_scope,
     "module m { const long c = 1; };\nstruct T { m::c::x q; };",
     "t.idl:2:12: error: 'c' is a constant, not a scope")
DIAG(not_a_type,
     "const long C = 1;\nstruct S { C x; };",
     "t.idl:2:12: error: 'C' is a constant, not a type")
DIAG(exception_as_type,
     "exception E { long code; };\nstruct S { E e; };",
     "t.idl:2:12: error: 'E' is an exception, not a type")
DIAG(absolute_name,
     "module m { struct S { long x; }; };\nstruct T { ::S s; };",
     "t.idl:2:12: error: '::S' is not declared")
DIAG(unknown_annotation, "@frobnicate struct S { long x; };",
     "t.idl:1:1: warning: unknown annotation '@frobnicate' ignored")

/* ---------------------------------------------------------------- IDL rules */
/* An identifier equal to a keyword but for case (OMG IDL 7.2.3). */
#define KW_RESERVED "(identifiers that differ from a keyword only in case " \
	"are reserved; write '_"
DIAG(keyword_case, "struct String { long x; };",
     "t.idl:1:8: error: 'String' collides with the keyword 'string' "
     KW_RESERVED "String')")
DIAG(keyword_case_int8, "const uint8 INT8 = 1;",
     "t.idl:1:13: error: 'INT8' collides with the keyword 'int8' "
     KW_RESERVED "INT8')")
DIAG(keyword_case_member, "struct S { long Any; };",
     "t.idl:1:17: error: 'Any' collides with the keyword 'any' "
     KW_RESERVED "Any')")
/* escaped, it is the way to declare the name; a use may be unescaped */
DIAG(keyword_case_escaped,
     "typedef Object _Factory;\ntypedef sequence<Factory> Factories;", "")
/* the keywords CORBA 2 files use as names: warnings */
DIAG(keyword_case_newer, "struct EventType { long x; };\ninterface Map {};",
     "t.idl:1:8: warning: 'EventType' collides with the keyword "
     "'eventtype' " KW_RESERVED "EventType')\n"
     "t.idl:2:11: warning: 'Map' collides with the keyword 'map' "
     KW_RESERVED "Map')")
/* a member named like its struct but for case */
DIAG(scope_name_case, "struct Point { long point; };",
     "t.idl:1:21: error: 'point' clashes with the enclosing struct 'Point' "
     "(names that differ only in case collide)")
DIAG(scope_name_case_module, "module shop { interface Shop {}; };",
     "t.idl:1:25: error: 'Shop' clashes with the enclosing module 'shop' "
     "(names that differ only in case collide)")

/* Annotation arguments checked against the annotation's declaration. */
DIAG(anno_wrong_name, "struct S { @range(minimum = 0) long x; };",
     "t.idl:1:19: error: '@range' has no argument 'minimum'\n"
     "t.idl:1:12: error: '@range' needs its argument 'min'\n"
     "t.idl:1:12: error: '@range' needs its argument 'max'")
DIAG(anno_wrong_type, "struct S { @id(\"seven\") long x; };",
     "t.idl:1:16: error: cannot use a string as a constant of type "
     "unsigned long")
DIAG(anno_negative, "@bit_bound(-1) bitmask M { A };",
     "t.idl:1:12: error: constant value -1 is out of range for unsigned "
     "short")
DIAG(anno_out_of_range, "@bit_bound(65) bitmask M { A };",
     "t.idl:1:12: error: argument 'value' of '@bit_bound' is out of range "
     "(1..64)")
DIAG(anno_enum, "@extensibility(SOMETIMES) struct S { long x; };",
     "t.idl:1:16: error: argument 'value' of '@extensibility' must be one "
     "of FINAL, APPENDABLE, MUTABLE")
DIAG(anno_twice, "struct S { @range(min = 0, min = 1, max = 2) long x; };",
     "t.idl:1:28: error: argument 'min' of '@range' is given twice")
DIAG(anno_positional, "struct S { @range(1) long x; };\n@final(1) struct T "
     "{ long y; };",
     "t.idl:1:19: error: '@range' takes named arguments\n"
     "t.idl:2:8: error: '@final' takes no arguments")
DIAG(anno_good, "@extensibility(MUTABLE) @topic(name = \"t\") struct S {\n"
     "  @key @id(7) @range(min = 0, max = 9) long x;\n"
     "  @optional(FALSE) @unit(\"m\") long y; };\n"
     "@bit_bound(8) bitmask M { @position(3) A };", "")
DIAG(anno_declared,
     "@annotation tag { long level; string note; };\n"
     "struct S { @tag(level = 1, note = \"x\") long a;\n"
     "  @tag(depth = 1) long b; @tag(level = \"high\") long c;\n"
     "  @tag(3) long d; };",
     "t.idl:3:8: error: '@tag' has no argument 'depth'\n"
     "t.idl:3:40: error: cannot use a string as a constant of type long\n"
     "t.idl:4:8: error: '@tag' takes named arguments")

/* shade's copy-policy annotations: their arguments and targets. */
DIAG(policy_good,
     "typedef sequence<long> L; struct P { long x; };\n"
     "interface I { @eager readonly attribute string n;\n"
     "  @chunk(16) readonly attribute L l; @chunk(1) L f();\n"
     "  void g(@byref in L a, @byvalue in P p); };\n"
     "struct Q { @byref L m; @byvalue P p; };", "")
DIAG(policy_chunk_zero,
     "interface I { @chunk(0) readonly attribute sequence<long> l; };",
     "t.idl:1:22: error: argument 'value' of '@chunk' is out of range "
     "(1..4294967295)")
DIAG(policy_chunk_missing,
     "interface I { @chunk readonly attribute sequence<long> l; };",
     "t.idl:1:15: error: '@chunk' needs its argument 'value'")
DIAG(policy_chunk_type,
     "interface I { @chunk(4) readonly attribute long n; };",
     "t.idl:1:15: error: '@chunk' applies to an attribute or operation of "
     "a sequence type, not to attribute 'n'")
DIAG(policy_chunk_ref,
     "interface I { @chunk(2) readonly attribute sequence<Object> l; };",
     "t.idl:1:15: error: '@chunk' sequence 'l' may hold a reference, which "
     "a shared list does not carry")
DIAG(policy_eager_args,
     "interface I { @eager(1) readonly attribute long n; };",
     "t.idl:1:22: error: '@eager' takes no arguments")
DIAG(policy_eager_writable,
     "interface I { @eager attribute long n; };",
     "t.idl:1:15: error: '@eager' applies to a readonly attribute: 'n' "
     "is writable")
DIAG(policy_eager_target,
     "interface I { @eager void f(); };",
     "t.idl:1:15: error: '@eager' applies to a readonly attribute, not to "
     "operation 'f'")
DIAG(policy_eager_ref,
     "struct S { any a; };\n"
     "interface I { @eager readonly attribute S s; };",
     "t.idl:2:15: error: '@eager' attribute 's' may hold a reference, "
     "which cannot ride with another reference")
DIAG(policy_byref_type,
     "interface I { void f(@byref in long n); };",
     "t.idl:1:22: error: '@byref' applies to a parameter, member or "
     "attribute of a struct or sequence type, not to parameter 'n'")
DIAG(policy_byref_ref,
     "typedef sequence<any> L;\n"
     "interface I { void f(@byref in L a); };",
     "t.idl:2:22: error: '@byref' 'a' may hold a reference, which a "
     "shared list or struct does not carry")
DIAG(policy_byref_both,
     "typedef sequence<long> L;\n"
     "interface I { void f(@byref @byvalue in L a); };",
     "t.idl:2:22: error: 'a' is both '@byref' and '@byvalue'")

/* Unknown annotations: a warning, an error under -Werror=annotations. */
static void test_idlc_diag_unknown_annotation_werror(void **state)
{
	idlc_options opts = { .no_cpp = true, .werror_annotations = true };

	expect_diags_opts(state, &opts, "@frobnicate struct S { long x; };",
			  "t.idl:1:1: error: unknown annotation '@frobnicate' "
			  "[-Werror=annotations]");
}

/* The check pass runs after resolution errors. */
DIAG(check_after_resolve_oneway,
     "interface I { void f(in Missing m); oneway long g(); };",
     "t.idl:1:25: error: 'Missing' is not declared\n"
     "t.idl:1:44: error: oneway operation 'g' must return void")
DIAG(check_after_resolve_labels,
     "struct S { Missing m; };\n"
     "union U switch (long) { case 1: long a; case 1: long b; };",
     "t.idl:1:12: error: 'Missing' is not declared\n"
     "t.idl:2:41: error: duplicate case label 1")
DIAG(forward_never_defined,
     "interface Later;\ninterface Now { void f(in Later l); };",
     "t.idl:1:11: warning: interface 'Later' is forward-declared but never "
     "defined")
DIAG(forward_defined_later,
     "interface Later;\ninterface Now { void f(in Later l); };\n"
     "interface Later {};", "")

/* ---------------------------------------------------------------- inheritance */
DIAG(self_inheritance, "interface A : A {};",
     "t.idl:1:15: error: interface 'A' cannot inherit from itself")
DIAG(forward_base, "interface B;\ninterface A : B {};",
     "t.idl:2:15: error: interface 'A' cannot inherit from 'B', which is "
     "only forward-declared\n"
     "t.idl:1:11: warning: interface 'B' is forward-declared but never "
     "defined")
DIAG(base_not_interface, "struct S { long x; };\ninterface A : S {};",
     "t.idl:2:15: error: 'S' is a struct, not an interface")
DIAG(base_twice, "interface A {};\ninterface B : A, A {};",
     "t.idl:2:18: error: 'A' is listed twice as a base of 'B'")
DIAG(local_base, "local interface L {};\ninterface R : L {};",
     "t.idl:2:15: error: interface 'R' cannot inherit from local "
     "interface 'L'")
DIAG(abstract_base, "interface C {};\nabstract interface A : C {};",
     "t.idl:2:24: error: abstract interface 'A' cannot inherit from "
     "non-abstract interface 'C'")
DIAG(forward_mismatch, "local interface L;\ninterface L {};",
     "t.idl:2:11: error: 'L' does not match its forward declaration "
     "(local and abstract must agree)")
DIAG(member_redefined_in_derived,
     "interface A { void f(); };\ninterface B : A { void f(); };",
     "t.idl:2:24: error: 'f' is already declared in base interface 'A'")
DIAG(member_from_two_bases,
     "interface A { attribute long x; };\n"
     "interface B { attribute long x; };\n"
     "interface C : A, B {};",
     "t.idl:3:11: error: 'x' is inherited from both 'A' and 'B'")

/* ---------------------------------------------------------------- operations */
DIAG(oneway_result, "interface I { oneway long f(); };",
     "t.idl:1:22: error: oneway operation 'f' must return void")
DIAG(oneway_out, "interface I { oneway void f(out long x); };",
     "t.idl:1:38: error: oneway operation 'f' cannot have out parameter 'x'")
DIAG(oneway_inout, "interface I { oneway void f(inout long x); };",
     "t.idl:1:40: error: oneway operation 'f' cannot have inout parameter "
     "'x'")
DIAG(oneway_raises,
     "exception E {};\ninterface I { oneway void f() raises (E); };",
     "t.idl:2:39: error: oneway operation 'f' cannot raise exceptions")
DIAG(raises_not_exception,
     "struct S { long a; };\ninterface I { void f() raises (S); };",
     "t.idl:2:32: error: 'S' in raises clause is a struct, not an exception")
DIAG(raises_twice,
     "exception E {};\ninterface I { void f() raises (E, E); };",
     "t.idl:2:35: error: 'E' is listed twice in raises clause")

/* ---------------------------------------------------------------- types */
DIAG(sequence_bound_zero, "typedef sequence<long, 0> S;",
     "t.idl:1:24: error: sequence bound must be positive, got 0")
DIAG(array_size_negative, "typedef long A[-1];",
     "t.idl:1:16: error: array size must be positive, got -1")
DIAG(string_bound_zero, "typedef string<0> S;",
     "t.idl:1:16: error: string bound must be positive, got 0")
DIAG(self_containing, "struct S { long a; S t; };",
     "t.idl:1:20: error: struct 'S' cannot contain itself (use a sequence)")
DIAG(incomplete_member, "struct S;\nstruct T { S s; };",
     "t.idl:2:12: error: member 's' has incomplete type 'S'")
DIAG(fixed_scale, "typedef fixed<5, 7> F;",
     "t.idl:1:18: error: fixed-point scale must be between 0 and the "
     "number of digits")

/* ---------------------------------------------------------------- constants */
DIAG(octet_overflow, "const octet O = 256;",
     "t.idl:1:17: error: constant value 256 is out of range for octet")
DIAG(long_overflow, "const long L = 2147483647 + 1;",
     "t.idl:1:16: error: constant value 2147483648 is out of range for long")
DIAG(unsigned_negative, "const unsigned short U = -1;",
     "t.idl:1:26: error: constant value -1 is out of range for "
     "unsigned short")
DIAG(expression_overflow,
     "const unsigned long long X = 0xFFFFFFFFFFFFFFFF * 2;",
     "t.idl:1:30: error: integer overflow in constant expression")
DIAG(division_by_zero, "const long D = 10 / (3 - 3);",
     "t.idl:1:16: error: division by zero in constant expression")
DIAG(modulo_by_zero, "const long D = 10 % 0;",
     "t.idl:1:16: error: division by zero in constant expression")
DIAG(shift_count, "const long long X = 1 << 64;",
     "t.idl:1:21: error: shift count 64 is out of range (0 to 63)")
DIAG(string_for_long, "const long x = \"a\";",
     "t.idl:1:16: error: cannot use a string as a constant of type long")
DIAG(int_for_string, "const string s = 5;",
     "t.idl:1:18: error: cannot use an integer as a constant of type string")
DIAG(complement_float, "const long x = ~1.5;",
     "t.idl:1:16: error: operator '~' needs an integer operand, not a "
     "floating-point value")
DIAG(float_modulo, "const double d = 1.5 % 2;",
     "t.idl:1:18: error: operator '%' needs integer operands")
DIAG(string_bound_exceeded, "const string<3> s = \"abcd\";",
     "t.idl:1:21: error: string constant of length 4 exceeds the bound 3")
DIAG(undeclared_constant, "const long X = Y + 1;",
     "t.idl:1:16: error: 'Y' is not declared")
DIAG(type_as_constant, "struct S { long x; };\nconst long X = S;",
     "t.idl:2:16: error: 'S' is a struct, not a constant")
DIAG(wrong_enumerator,
     "enum Color { RED, GREEN };\nenum Size { SMALL };\n"
     "const Color c1 = SMALL;",
     "t.idl:3:18: error: 'SMALL' is not an enumerator of 'Color'")
DIAG(float_range, "const float f = 1e39;",
     "t.idl:1:17: error: constant value 1e+39 is out of range for float")
DIAG(bool_for_char, "const char c = TRUE;",
     "t.idl:1:16: error: cannot use a boolean as a constant of type char")

/* ---------------------------------------------------------------- unions */
DIAG(duplicate_label,
     "union U switch (long) { case 1: long a; case 1: long b; };",
     "t.idl:1:41: error: duplicate case label 1")
DIAG(two_defaults,
     "union U switch (long) { default: long a; default: long b; };",
     "t.idl:1:42: error: more than one default label in union 'U'")
DIAG(bad_discriminator,
     "union U switch (double) { case 1: long a; };",
     "t.idl:1:17: error: 'double' cannot be the discriminator of union 'U'")
DIAG(label_type,
     "union U switch (short) { case 70000: long a; };",
     "t.idl:1:31: error: constant value 70000 is out of range for short")

/* ---------------------------------------------------------------- imports */
DIAG(import_string, "import \"other.idl\";",
     "t.idl:1:1: warning: import of \"other.idl\" is ignored: use #include")
DIAG(import_unknown, "import ::Nowhere;",
     "t.idl:1:8: error: '::Nowhere' is not declared")

/* ---------------------------------------------------------------- pragmas */
/* a prefix inside a struct, union or exception body names nothing
 * (omniidl refuses it too); in a module or interface it is kept */
DIAG(pragma_prefix_in_struct,
     "module M {\n"
     "  struct S {\n"
     "#pragma prefix \"in.s\"\n"
     "    long x;\n"
     "  };\n"
     "  union U switch (long) {\n"
     "    case 1:\n"
     "#pragma prefix \"in.u\"\n"
     "      long a;\n"
     "  };\n"
     "  exception E {\n"
     "#pragma prefix \"in.e\"\n"
     "    long c;\n"
     "  };\n"
     "#pragma prefix \"ok.m\"\n"
     "  interface I {\n"
     "#pragma prefix \"ok.i\"\n"
     "  };\n"
     "};\n"
     "struct T {\n"
     "#pragma prefix \"in.t\"\n"
     "  long y;\n"
     "};\n",
     "t.idl:3:1: error: '#pragma prefix' inside a struct, union or "
     "exception body sets the prefix of nothing: put it before the "
     "declaration\n"
     "t.idl:8:1: error: '#pragma prefix' inside a struct, union or "
     "exception body sets the prefix of nothing: put it before the "
     "declaration\n"
     "t.idl:12:1: error: '#pragma prefix' inside a struct, union or "
     "exception body sets the prefix of nothing: put it before the "
     "declaration\n"
     "t.idl:21:1: error: '#pragma prefix' inside a struct, union or "
     "exception body sets the prefix of nothing: put it before the "
     "declaration")

/* Nesting past the parser's stack: one clear error, no crash. */
static void test_idlc_diag_too_deep(void **state)
{
	char *text = talloc_strdup(*state, "const long x = ");
	char *want;
	int i;

	for (i = 0; i < 20000; i++)
		text = talloc_strdup_append(text, "(");
	text = talloc_strdup_append(text, "1;");
	want = talloc_asprintf(*state, "t.idl:1:%d: error: declarations or "
			       "expressions nested too deeply", 16 + 9992);
	expect_diags(state, text, want);
	talloc_free(text);
	talloc_free(want);
}

/* A long chain of operators (a left-deep tree the parser accepts):
 * one "expression too deep" error, evaluated in bounded stack; 999
 * operators still evaluate. */
static void test_idlc_diag_expr_too_deep(void **state)
{
	char *text = talloc_strdup(*state, "const long long x = 1");
	char *ok = talloc_strdup(*state, "const long long x = 1");
	int i;

	for (i = 0; i < 30000; i++)
		text = talloc_strdup_append(text, "+1");
	for (i = 0; i < 999; i++)
		ok = talloc_strdup_append(ok, "+1");
	text = talloc_strdup_append(text, ";");
	ok = talloc_strdup_append(ok, ";");
	expect_diags(state, text, "t.idl:1:21: error: expression too deep "
		     "(more than 1000 nested operations)");
	expect_diags(state, ok, "");
	talloc_free(text);
	talloc_free(ok);
}

/* The error limit: past it nothing more is recorded, the count goes
 * on; with no limit every error is kept. */
static void test_idlc_diag_error_limit(void **state)
{
	TALLOC_CTX *ctx = *state;
	idlc_options opts = { .no_cpp = true, .error_limit = 20 };
	idlc_compilation *comp = idlc_compilation_new(ctx, &opts);
	char *text = talloc_strdup(ctx, "");
	const idlc_diag *d;
	int i, n = 0;

	for (i = 0; i < 1000; i++)
		text = talloc_asprintf_append(text, "struct S%d { X%d a; };\n",
					      i, i);
	assert_int_equal(idlc_compile_string(comp, "t.idl", text), -1);
	for (d = comp->diags; d; d = d->next)
		n++;
	assert_int_equal(n, 20);
	assert_int_equal(comp->n_errors, 1000);
	talloc_free(comp);
	opts.error_limit = 0;
	comp = idlc_compilation_new(ctx, &opts);
	assert_int_equal(idlc_compile_string(comp, "t.idl", text), -1);
	for (n = 0, d = comp->diags; d; d = d->next)
		n++;
	assert_int_equal(n, 1000);
	talloc_free(comp);
	talloc_free(text);
}

/* ---------------------------------------------------------------- cpp */

/* Write `text` to dir/name. */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Compile dir/main.idl through cpp; compare with the expected lines, in
 * which "@" stands for the directory. */
static void expect_file_diags(void **state, const char *dir,
			      const idlc_options *opts, const char *expected)
{
	TALLOC_CTX *ctx = *state;
	idlc_compilation *comp = idlc_compilation_new(ctx, opts);
	char *path = talloc_asprintf(ctx, "%s/main.idl", dir);
	char *want = talloc_strdup(ctx, ""), *got;
	const char *s;

	assert_non_null(comp);
	for (s = expected; *s; s++)
		want = *s == '@' ? talloc_asprintf_append(want, "%s", dir)
				 : talloc_asprintf_append(want, "%c", *s);
	idlc_compile_file(comp, path);
	got = render(ctx, comp);
	assert_string_equal(got, want);
	talloc_free(got);
	talloc_free(want);
	talloc_free(path);
	talloc_free(comp);
}

/* An error in an included file points into that file. */
static void test_idlc_diag_cpp_include_location(void **state)
{
	char *dir = tu_mkdtemp(*state);
	idlc_options opts = { 0 };

	assert_non_null(dir);
	write_file(dir, "inc.idl", "// included\n\nstruct Inc {\n"
		   "    Missing m;\n};\n");
	write_file(dir, "main.idl", "#include \"inc.idl\"\n"
		   "struct Main { Inc i; Nope n; };\n");
	expect_file_diags(state, dir, &opts,
			  "@/inc.idl:4:5: error: 'Missing' is not declared\n"
			  "@/main.idl:2:22: error: 'Nope' is not declared");
	talloc_free(dir);
}

/* Columns survive the preprocessor squeezing blanks and tabs. */
static void test_idlc_diag_cpp_columns(void **state)
{
	char *dir = tu_mkdtemp(*state);
	idlc_options opts = { 0 };

	assert_non_null(dir);
	write_file(dir, "main.idl", "#define N 4\n"
		   "module   m  {\n"
		   "\tstruct    S {\t\tlong    x[N];   Bad   y; };\n"
		   "};\n");
	expect_file_diags(state, dir, &opts,
			  "@/main.idl:3:33: error: 'Bad' is not declared");
	talloc_free(dir);
}

/* -I paths and -D macros reach the preprocessor. */
static void test_idlc_diag_cpp_include_dirs(void **state)
{
	char *dir = tu_mkdtemp(*state), *sub;
	const char *dirs[1], *defs[1] = { "SIZE=0" };
	idlc_options opts = { 0 };

	assert_non_null(dir);
	sub = talloc_asprintf(dir, "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	dirs[0] = sub;
	opts.include_dirs = dirs;
	opts.n_include_dirs = 1;
	opts.defines = defs;
	opts.n_defines = 1;
	write_file(sub, "lib.idl", "typedef sequence<long, SIZE> Seq;\n");
	write_file(dir, "main.idl", "#include <lib.idl>\n");
	expect_file_diags(state, dir, &opts,
			  "@/sub/lib.idl:1:24: error: sequence bound must be "
			  "positive, got 0");
	talloc_free(dir);
}

/* A missing include is the preprocessor's error, kept as a diagnostic. */
static void test_idlc_diag_cpp_missing_include(void **state)
{
	char *dir = tu_mkdtemp(*state);
	idlc_options opts = { 0 };

	assert_non_null(dir);
	write_file(dir, "main.idl", "#include \"absent.idl\"\n");
	expect_file_diags(state, dir, &opts,
			  "@/main.idl:1:10: error: absent.idl: No such file "
			  "or directory");
	talloc_free(dir);
}

/* No preprocessor: a clear error, no crash. */
static void test_idlc_diag_cpp_not_found(void **state)
{
	char *dir = tu_mkdtemp(*state);
	idlc_options opts = { .cpp = "/nonexistent/cpp" };

	assert_non_null(dir);
	write_file(dir, "main.idl", "struct S { long x; };\n");
	expect_file_diags(state, dir, &opts,
			  "shade-idlc: error: cannot run the C preprocessor "
			  "'/nonexistent/cpp': No such file or directory "
			  "(install cpp, or set SHADE_IDLC_CPP)");
	talloc_free(dir);
}

#define T(name) cmocka_unit_test(test_idlc_diag_##name)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(invalid_char), T(unterminated_string),
		T(unterminated_comment), T(empty_char), T(long_char),
		T(bad_escape), T(surrogate_escape), T(bad_octal),
		T(literal_too_large),
		T(directive_without_cpp), T(fixed_too_many_digits),
		T(missing_semicolon), T(missing_type), T(several_errors),
		T(readonly_setraises), T(raises_on_writable),
		T(raises_with_two_names), T(factory_out_param),
		T(redefinition), T(redefinition_reopened_module),
		T(different_kind), T(case_clash), T(same_name_as_scope),
		T(duplicate_param), T(undeclared_type),
		T(undeclared_in_scope), T(did_you_mean), T(not_a_scope),
		T(not_a_type), T(exception_as_type), T(absolute_name),
		T(unknown_annotation),
		T(keyword_case), T(keyword_case_int8), T(keyword_case_member),
		T(keyword_case_escaped), T(keyword_case_newer),
		T(scope_name_case), T(scope_name_case_module),
		T(anno_wrong_name), T(anno_wrong_type), T(anno_negative),
		T(anno_out_of_range), T(anno_enum), T(anno_twice),
		T(anno_positional), T(anno_good), T(anno_declared),
		T(policy_good), T(policy_chunk_zero), T(policy_chunk_missing),
		T(policy_chunk_type), T(policy_chunk_ref), T(policy_eager_args),
		T(policy_eager_writable), T(policy_eager_target),
		T(policy_eager_ref), T(policy_byref_type), T(policy_byref_ref),
		T(policy_byref_both),
		T(unknown_annotation_werror), T(check_after_resolve_oneway),
		T(check_after_resolve_labels), T(forward_never_defined),
		T(forward_defined_later),
		T(self_inheritance), T(forward_base), T(base_not_interface),
		T(base_twice), T(local_base), T(abstract_base),
		T(forward_mismatch), T(member_redefined_in_derived),
		T(member_from_two_bases),
		T(oneway_result), T(oneway_out), T(oneway_inout),
		T(oneway_raises), T(raises_not_exception), T(raises_twice),
		T(sequence_bound_zero), T(array_size_negative),
		T(string_bound_zero), T(self_containing),
		T(incomplete_member), T(fixed_scale),
		T(octet_overflow), T(long_overflow), T(unsigned_negative),
		T(expression_overflow), T(division_by_zero),
		T(modulo_by_zero), T(shift_count), T(string_for_long),
		T(int_for_string), T(complement_float), T(float_modulo),
		T(string_bound_exceeded), T(undeclared_constant),
		T(type_as_constant), T(wrong_enumerator), T(float_range),
		T(bool_for_char),
		T(duplicate_label), T(two_defaults), T(bad_discriminator),
		T(label_type),
		T(import_string), T(import_unknown), T(pragma_prefix_in_struct), T(too_deep), T(expr_too_deep), T(error_limit),
		T(cpp_include_location), T(cpp_columns),
		T(cpp_include_dirs), T(cpp_missing_include),
		T(cpp_not_found),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
