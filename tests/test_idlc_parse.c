/*
 * test_idlc_parse.c - shade-idlc front end: parse IDL, resolve it, and
 * assert the tree (names, kinds, members, resolved types, constant
 * values, doc comments, annotations), then the real-world style corpus
 * under tests/idl/realworld through the C preprocessor.
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
#include "check/scope.h"

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

/* Compile `text` without the preprocessor; must succeed cleanly. */
static idlc_compilation *compile_ok(void **state, const char *text)
{
	idlc_options opts = { .no_cpp = true, .diag_stream = stderr };
	idlc_compilation *comp = idlc_compilation_new(*state, &opts);

	assert_non_null(comp);
	assert_int_equal(idlc_compile_string(comp, "t.idl", text), 0);
	assert_int_equal(comp->n_errors, 0);
	assert_int_equal(comp->n_warnings, 0);
	return comp;
}

/* Find a declaration by its qualified name "a::b::c". */
static idlc_node *lookup(idlc_compilation *comp, const char *qname)
{
	idlc_scope *s = comp->root_scope;
	idlc_node *n = NULL;
	char part[128];
	const char *p = qname;

	while (*p) {
		const char *e = strstr(p, "::");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		assert_true(len < sizeof(part));
		memcpy(part, p, len);
		part[len] = '\0';
		assert_non_null(s);
		n = idlc_scope_find(s, part, NULL);
		if (n == NULL)
			return NULL;
		s = n->scope;
		p = e ? e + 2 : p + len;
	}
	return n;
}

/* The idx-th child of n. */
static idlc_node *child(const idlc_node *n, int idx)
{
	idlc_node *c = n->children;

	while (c && idx-- > 0)
		c = c->next;
	assert_non_null(c);
	return c;
}

/* Integer value of a constant. */
static long long int_value(idlc_compilation *comp, const char *qname)
{
	idlc_node *n = lookup(comp, qname);

	assert_non_null(n);
	assert_int_equal(n->kind, IDLC_CONST);
	assert_int_equal(n->value.kind, IDLC_V_INT);
	return (long long)n->value.i;
}

/* Modules, structs, members and their resolved types. */
static void test_idlc_parse_struct_members(void **state)
{
	size_t before = talloc_total_blocks(*state);
	idlc_compilation *comp = compile_ok(state,
		"module m {\n"
		"  struct P { long x, y; string<8> name; sequence<P> kids;\n"
		"             unsigned long long big; };\n"
		"  typedef long Mat[2][3];\n"
		"};\n");
	idlc_node *m = comp->root->children, *p, *x, *y, *kids;
	const idlc_type *t;

	assert_int_equal(m->kind, IDLC_MODULE);
	assert_string_equal(m->name, "m");
	p = lookup(comp, "m::P");
	assert_ptr_equal(p, m->children);
	assert_int_equal(p->kind, IDLC_STRUCT);
	x = child(p, 0);
	y = child(p, 1);
	assert_string_equal(x->name, "x");
	assert_string_equal(y->name, "y");
	assert_int_equal(x->type->kind, IDLC_T_LONG);
	assert_ptr_equal(x->type, y->type);
	assert_int_equal(child(p, 2)->type->kind, IDLC_T_STRING);
	assert_int_equal(child(p, 2)->type->bound, 8);
	kids = child(p, 3);
	assert_int_equal(kids->type->kind, IDLC_T_SEQUENCE);
	assert_int_equal(kids->type->bound, 0);
	assert_int_equal(kids->type->elem->kind, IDLC_T_NAMED);
	assert_ptr_equal(kids->type->elem->ref, p);
	assert_int_equal(child(p, 4)->type->kind, IDLC_T_ULLONG);
	assert_ptr_equal(x->parent, p);

	t = lookup(comp, "m::Mat")->type;
	assert_int_equal(t->kind, IDLC_T_ARRAY);
	assert_int_equal(t->bound, 2);
	assert_int_equal(t->elem->kind, IDLC_T_ARRAY);
	assert_int_equal(t->elem->bound, 3);
	assert_int_equal(t->elem->elem->kind, IDLC_T_LONG);

	talloc_free(comp);
	assert_int_equal(talloc_total_blocks(*state), before);
}

/* Constant expressions and literals. */
static void test_idlc_parse_constants(void **state)
{
	idlc_compilation *comp = compile_ok(state,
		"const long A = (1 << 4) | 3;\n"
		"const unsigned long B = ~0;\n"
		"const long C = ~0;\n"
		"const short N = -(1 << 14);\n"
		"const long long D = A * 2 - 1 + 0x10 + 017 + (100 >> 2) % 7;\n"
		"const octet O = 0xff & ~0x0f ^ 1;\n"
		"const unsigned long long U = 0xFFFFFFFFFFFFFFFF;\n"
		"const long long L = -9223372036854775807 - 1;\n"
		"const double F = 1.5e3 / 2;\n"
		"const float G = 2;\n"
		"const string S = \"ab\" \"c\\td\";\n"
		"const string<4> S4 = \"abcd\";\n"
		"const char CH = '\\n';\n"
		"const char CX = '\\x41';\n"
		"const wchar W = L'z';\n"
		"const boolean T = TRUE;\n"
		"const fixed X = 12.50d;\n"
		"enum Color { RED, GREEN, @value(7) BLUE, CYAN };\n"
		"const Color K = BLUE;\n");
	idlc_node *n;

	assert_int_equal(int_value(comp, "A"), 19);
	assert_int_equal(int_value(comp, "B"), 0xffffffffLL);
	assert_int_equal(int_value(comp, "C"), -1);
	assert_int_equal(int_value(comp, "N"), -16384);
	assert_int_equal(int_value(comp, "D"), 19 * 2 - 1 + 16 + 15 + 25 % 7);
	assert_int_equal(int_value(comp, "O"), (0xff & ~0x0f) ^ 1);
	assert_true(lookup(comp, "U")->value.i == ((idlc_int)1 << 64) - 1);
	assert_true(lookup(comp, "L")->value.i == -((idlc_int)1 << 63));
	n = lookup(comp, "F");
	assert_int_equal(n->value.kind, IDLC_V_FLOAT);
	assert_true(n->value.f == 750.0L);
	assert_int_equal(lookup(comp, "G")->value.kind, IDLC_V_FLOAT);
	n = lookup(comp, "S");
	assert_int_equal(n->value.kind, IDLC_V_STRING);
	assert_string_equal(n->value.str, "abc\td");
	assert_int_equal(n->value.len, 5);
	assert_true(lookup(comp, "CH")->value.i == '\n');
	assert_true(lookup(comp, "CX")->value.i == 'A');
	assert_int_equal(lookup(comp, "W")->value.kind, IDLC_V_WCHAR);
	assert_true(lookup(comp, "T")->value.i == 1);
	n = lookup(comp, "X");
	assert_int_equal(n->value.kind, IDLC_V_FIXED);
	assert_string_equal(n->value.str, "12.50");
	assert_true(lookup(comp, "RED")->value.i == 0);
	assert_true(lookup(comp, "GREEN")->value.i == 1);
	assert_true(lookup(comp, "BLUE")->value.i == 7);
	assert_true(lookup(comp, "CYAN")->value.i == 8);
	n = lookup(comp, "K");
	assert_int_equal(n->value.kind, IDLC_V_ENUM);
	assert_ptr_equal(n->value.enumerator, lookup(comp, "BLUE"));
	assert_ptr_equal(n->value.enumerator->parent, lookup(comp, "Color"));
	talloc_free(comp);
}

/* Interfaces: forward declarations, inheritance, attributes,
 * operations, raises, oneway, names inherited from bases. */
static void test_idlc_parse_interfaces(void **state)
{
	idlc_compilation *comp = compile_ok(state,
		"module bank {\n"
		"  interface Account;\n"
		"  exception Overdrawn { long long missing; };\n"
		"  interface Base { typedef long Ident; readonly attribute Ident id; };\n"
		"  interface Account : Base {\n"
		"    attribute long long balance;\n"
		"    void withdraw(in long long amount, out long long left)\n"
		"      raises (Overdrawn);\n"
		"    oneway void ping();\n"
		"    Ident twin(inout Account other);\n"
		"  };\n"
		"};\n");
	idlc_node *fwd = child(comp->root->children, 0);
	idlc_node *acc = lookup(comp, "bank::Account"), *base, *op, *q;

	assert_int_equal(fwd->kind, IDLC_INTERFACE_FWD);
	assert_int_equal(acc->kind, IDLC_INTERFACE);
	assert_ptr_equal(fwd->definition, acc);
	base = lookup(comp, "bank::Base");
	assert_int_equal(acc->n_bases, 1);
	assert_ptr_equal(acc->base_nodes[0], base);
	assert_int_equal(child(base, 1)->kind, IDLC_ATTRIBUTE);
	assert_true(child(base, 1)->flags & IDLC_F_READONLY);
	assert_int_equal(child(acc, 0)->kind, IDLC_ATTRIBUTE);
	assert_false(child(acc, 0)->flags & IDLC_F_READONLY);

	op = lookup(comp, "bank::Account::withdraw");
	assert_int_equal(op->kind, IDLC_OPERATION);
	assert_int_equal(op->type->kind, IDLC_T_VOID);
	q = child(op, 0);
	assert_int_equal(q->dir, IDLC_DIR_IN);
	assert_int_equal(q->type->kind, IDLC_T_LLONG);
	assert_int_equal(child(op, 1)->dir, IDLC_DIR_OUT);
	assert_non_null(op->raises);
	assert_ptr_equal(op->raises->ref, lookup(comp, "bank::Overdrawn"));
	assert_true(lookup(comp, "bank::Account::ping")->flags & IDLC_F_ONEWAY);

	/* Ident resolves through the base interface; Account to itself */
	op = lookup(comp, "bank::Account::twin");
	assert_ptr_equal(op->type->ref, lookup(comp, "bank::Base::Ident"));
	assert_int_equal(child(op, 0)->dir, IDLC_DIR_INOUT);
	assert_ptr_equal(child(op, 0)->type->ref, acc);
	talloc_free(comp);
}

/* Reopened modules share a scope; absolute and relative names. */
static void test_idlc_parse_scopes(void **state)
{
	idlc_compilation *comp = compile_ok(state,
		"module a { struct S { long v; }; module b { struct T "
		"{ long w; }; }; };\n"
		"module a { struct U { S s; b::T t; ::a::S s2; a::b::T t2; }; };\n"
		"struct S { long other; };\n"
		"module a { module b { struct V { S s; ::S top; }; }; };\n");
	idlc_node *u = lookup(comp, "a::U"), *v = lookup(comp, "a::b::V");
	char *q;

	assert_non_null(u);
	assert_ptr_equal(child(u, 0)->type->ref, lookup(comp, "a::S"));
	assert_ptr_equal(child(u, 1)->type->ref, lookup(comp, "a::b::T"));
	assert_ptr_equal(child(u, 2)->type->ref, lookup(comp, "a::S"));
	assert_ptr_equal(child(u, 3)->type->ref, lookup(comp, "a::b::T"));
	/* inner S wins over the global one; ::S names the global one */
	assert_ptr_equal(child(v, 0)->type->ref, lookup(comp, "a::S"));
	assert_ptr_equal(child(v, 1)->type->ref, lookup(comp, "S"));
	q = idlc_qualified_name(comp, child(v, 1), "::");
	assert_string_equal(q, "a::b::V::top");
	talloc_free(q);
	q = idlc_type_name(comp, child(u, 3)->type);
	assert_string_equal(q, "a::b::T");
	talloc_free(q);
	talloc_free(comp);
}

/* Doc comments reach the declarations, annotations are kept. */
static void test_idlc_parse_docs_and_annotations(void **state)
{
	idlc_compilation *comp = compile_ok(state,
		"/** A point.\n"
		" * Two coordinates. */\n"
		"@final struct P {\n"
		"  /** Horizontal. */ @key long x;\n"
		"  /// Vertical,\n"
		"  /// in pixels.\n"
		"  @range(min = 0, max = 10) long y;\n"
		"  // not a doc comment\n"
		"  long z;\n"
		"};\n"
		"/* plain */ struct Q { long w; };\n");
	idlc_node *p = lookup(comp, "P"), *x, *y;
	const idlc_annotation *a;

	assert_string_equal(p->doc, "A point.\nTwo coordinates.");
	assert_non_null(idlc_find_annotation(p, "final"));
	x = child(p, 0);
	y = child(p, 1);
	assert_string_equal(x->doc, "Horizontal.");
	assert_non_null(idlc_find_annotation(x, "key"));
	assert_string_equal(y->doc, "Vertical,\nin pixels.");
	a = idlc_find_annotation(y, "range");
	assert_non_null(a);
	assert_string_equal(a->params->name, "min");
	assert_string_equal(a->params->next->name, "max");
	assert_null(child(p, 2)->doc);
	assert_null(lookup(comp, "Q")->doc);
	talloc_free(comp);
}

/* Unions: discriminator, labels, default. */
static void test_idlc_parse_union(void **state)
{
	idlc_compilation *comp = compile_ok(state,
		"enum K { A, B, C };\n"
		"union U switch (K) { case A: case B: long ab; case C: string c;"
		" default: octet d; };\n");
	idlc_node *u = lookup(comp, "U"), *c0 = child(u, 0);

	assert_int_equal(u->kind, IDLC_UNION);
	assert_ptr_equal(u->type->ref, lookup(comp, "K"));
	assert_non_null(c0->labels->next);
	assert_int_equal(c0->labels->value.kind, IDLC_V_ENUM);
	assert_ptr_equal(c0->labels->next->value.enumerator, lookup(comp, "B"));
	assert_true(child(u, 2)->flags & IDLC_F_DEFAULT_CASE);
	assert_int_equal(child(u, 1)->type->kind, IDLC_T_STRING);
	talloc_free(comp);
}

/* Everything else of the syntax parses into the right kinds. */
static void test_idlc_parse_whole_syntax(void **state)
{
	idlc_compilation *comp = compile_ok(state,
		"native Handle;\n"
		"typedef struct Inline { long a; } Alias;\n"
		"typedef sequence<sequence<long, 3>> Nested;\n"
		"typedef map<string, long> Dict;\n"
		"abstract interface AB {};\n"
		"local interface L : AB {};\n"
		"valuetype V { public long x; private string y; "
		"factory make(in long x); };\n"
		"valuetype Box long;\n"
		"eventtype E { public long t; };\n"
		"component C { provides L port_l; consumes E in_e; };\n"
		"home H manages C { factory build(); };\n"
		"@annotation mark { long level default 1; };\n"
		"@mark(level = 2) struct M { long k; };\n"
		"bitmask Flags { F1, F2 };\n"
		"bitset Bits { bitfield<2> two; bitfield<3>; };\n"
		"typeid V \"IDL:V:1.0\";\n"
		"typeprefix C \"example.org\";\n"
		"interface I { long double ld(in ValueBase v, in any a, "
		"in Object o) context (\"X\"); };\n");
	const idlc_type *t;

	assert_int_equal(lookup(comp, "Handle")->kind, IDLC_NATIVE);
	assert_int_equal(lookup(comp, "Inline")->kind, IDLC_STRUCT);
	assert_ptr_equal(lookup(comp, "Alias")->type->ref,
			 lookup(comp, "Inline"));
	t = lookup(comp, "Nested")->type;
	assert_int_equal(t->elem->kind, IDLC_T_SEQUENCE);
	assert_int_equal(t->elem->bound, 3);
	assert_int_equal(lookup(comp, "Dict")->type->kind, IDLC_T_MAP);
	assert_true(lookup(comp, "AB")->flags & IDLC_F_ABSTRACT);
	assert_true(lookup(comp, "L")->flags & IDLC_F_LOCAL);
	assert_int_equal(lookup(comp, "V")->kind, IDLC_VALUETYPE);
	assert_int_equal(child(lookup(comp, "V"), 2)->kind, IDLC_FACTORY);
	assert_int_equal(lookup(comp, "Box")->kind, IDLC_VALUE_BOX);
	assert_true(lookup(comp, "E")->flags & IDLC_F_EVENT);
	assert_int_equal(child(lookup(comp, "C"), 0)->kind, IDLC_PORT);
	assert_int_equal(lookup(comp, "H")->kind, IDLC_HOME);
	assert_true(lookup(comp, "Flags::F2")->value.i == 2);
	assert_int_equal(lookup(comp, "Bits")->kind, IDLC_BITSET);
	t = lookup(comp, "I::ld")->type;
	assert_int_equal(t->kind, IDLC_T_LDOUBLE);
	assert_int_equal(child(lookup(comp, "I::ld"), 0)->type->kind,
			 IDLC_T_VALUEBASE);
	assert_int_equal(child(lookup(comp, "I::ld"), 2)->type->kind,
			 IDLC_T_OBJECT);
	talloc_free(comp);
}

/* Line markers move positions; #pragma prefix is recorded. */
static void test_idlc_parse_line_markers(void **state)
{
	idlc_options opts = { .no_cpp = true };
	idlc_compilation *comp = idlc_compilation_new(*state, &opts);

	assert_int_equal(idlc_compile_string(comp, "t.idl",
		"# 1 \"t.idl\"\n"
		"#pragma prefix \"example.org\"\n"
		"# 40 \"other.idl\" 1\n"
		"struct S { Unknown u; };\n"), -1);
	assert_string_equal(comp->diags->text,
			    "other.idl:40:12: error: 'Unknown' is not declared");
	assert_string_equal(comp->typeprefix, "example.org");
	assert_string_equal(comp->deps->next->file, "other.idl");
	talloc_free(comp);
}

/* The real-world style corpus passes through cpp without a diagnostic,
 * and dependencies list the included files. */
static void test_idlc_parse_realworld(void **state)
{
	static const char *const files[] = {
		"naming.idl", "events.idl", "dds_types.idl", "values.idl",
		"common.idl",
	};
	const char *dirs[] = { "tests/idl/realworld" };
	size_t i, before = talloc_total_blocks(*state);

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		idlc_options opts = { .include_dirs = dirs,
				      .n_include_dirs = 1,
				      .diag_stream = stderr };
		idlc_compilation *comp = idlc_compilation_new(*state, &opts);
		char *path = talloc_asprintf(comp, "tests/idl/realworld/%s",
					     files[i]);
		assert_int_equal(idlc_compile_file(comp, path), 0);
		assert_int_equal(comp->n_errors + comp->n_warnings, 0);
		if (i == 0) {
			assert_non_null(lookup(comp, "Naming::NamingContext"
					       "::NotFound"));
			assert_string_equal(comp->deps->next->file,
					    "tests/idl/realworld/common.idl");
			assert_null(lookup(comp, "Naming::Binding")->doc);
			assert_string_equal(lookup(comp, "Naming::"
						   "NameComponent")->doc,
					    "One component of a compound "
					    "name.");
		}
		if (i == 2) {
			assert_true(lookup(comp, "Sensors::NEG")->value.i ==
				    -16384);
			assert_string_equal(lookup(comp, "Sensors::VENDOR")
					    ->value.str, "Acme Sensors");
			assert_int_equal(child(lookup(comp, "Sensors::Sample"),
					       3)->type->bound, 4096);
		}
		talloc_free(comp);
	}
	assert_int_equal(talloc_total_blocks(*state), before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idlc_parse_struct_members),
		cmocka_unit_test(test_idlc_parse_constants),
		cmocka_unit_test(test_idlc_parse_interfaces),
		cmocka_unit_test(test_idlc_parse_scopes),
		cmocka_unit_test(test_idlc_parse_docs_and_annotations),
		cmocka_unit_test(test_idlc_parse_union),
		cmocka_unit_test(test_idlc_parse_whole_syntax),
		cmocka_unit_test(test_idlc_parse_line_markers),
		cmocka_unit_test(test_idlc_parse_realworld),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
