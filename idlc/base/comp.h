/*
 * idlc/base/comp.h - the state of one compilation: its options, the
 * talloc root of everything, the diagnostics and the generated text.
 * Every stage reads and writes it; idlc/compile.h runs the stages.
 */
#ifndef IDLC_BASE_COMP_H
#define IDLC_BASE_COMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <talloc.h>

#include "ast.h"
#include "base/diag.h"
#include "base/source.h"
#include "shade/version.h"

#define IDLC_VERSION SHADE_VERSION_STRING

/* Options of a compilation. */
typedef struct idlc_options {
	const char **include_dirs; /* -I directories (talloc array or NULL) */
	size_t n_include_dirs;     /* entries */
	const char **defines;      /* -D NAME[=V] (talloc array or NULL) */
	size_t n_defines;          /* entries */
	const char **undefines;    /* -U NAME (talloc array or NULL) */
	size_t n_undefines;        /* entries */
	bool no_cpp;               /* parse the text as is, no preprocessor */
	FILE *diag_stream;         /* where to print diagnostics, or NULL */
	bool diag_snippets;        /* print the source line and caret */
	const char *cpp;           /* preprocessor command (default "cpp") */
	int error_limit;           /* report at most this many errors (0:
				    * no limit; the command line: 20) */
	bool werror_annotations;   /* unknown annotations are errors */
	bool no_tables;            /* codecs and stubs as code, never as
				    * tables (--no-tables) */
} idlc_options;

/* One compilation: the talloc root of everything below. */
struct idlc_compilation {
	idlc_options opts;        /* copy of the options */
	const char *main_file;    /* the file (or name) compiled */
	idlc_node *root;          /* IDLC_SPECIFICATION node, or NULL */
	idlc_scope *root_scope;   /* global scope */
	idlc_scope *anno_scope;   /* declared @annotation names */
	idlc_diag *diags;         /* diagnostics in emission order */
	idlc_diag *diags_tail;    /* last diagnostic */
	int n_errors;             /* errors reported */
	int n_warnings;           /* warnings reported */
	idlc_source *sources;     /* texts kept for snippets */
	idlc_dep *deps;           /* files read (main file first) */
	idlc_dep *deps_tail;      /* last dependency */
	const char *typeprefix;   /* last `#pragma prefix`, or NULL */
	char *out_h;              /* generated header text, or NULL */
	char *out_c;              /* generated source text, or NULL */
	char *pp_text;            /* preprocessed text being scanned */
	size_t pp_len;            /* its length */
	const char **kw_idents;   /* identifiers written that equal a
				   * keyword but for case, and the keyword:
				   * (name, keyword) pairs, open addressing
				   * keyed on the name's address */
	size_t kw_slots;          /* pairs in kw_idents (a power of 2) */
	size_t kw_used;           /* pairs used */
};

#endif /* IDLC_BASE_COMP_H */
