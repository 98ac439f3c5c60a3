/*
 * idlc/front/lex.h - helpers of the scanner (grammar/idl.l), in idlc/lex.c.
 *
 * They keep the flex actions short: position tracking, line markers,
 * pragmas, doc comments and literal decoding.  Functions that build a
 * value return 0, or -1 on out of memory; malformed literals are reported
 * as errors and still produce a value so that parsing goes on.
 */
#ifndef IDLC_LEX_H
#define IDLC_LEX_H

#include "front/parser.h"

/* Advance the position over text[0..len) and set *loc to its range. */
void idlc_lex_step(idlc_parser *p, idlc_loc *loc, const char *text,
		   size_t len);

/* A token is returned: give it the pending doc comment. */
void idlc_lex_token(idlc_parser *p, idlc_loc *loc);

/* `# N "file" flags` or `#line N "file"`: move the position. */
void idlc_lex_line_marker(idlc_parser *p, const char *text);

/* A '{' (open true) or '}' token at loc: kept for the pragmas. */
void idlc_lex_brace(idlc_parser *p, const idlc_loc *loc, bool open);

/* `#pragma ...`: `prefix`, `ID` and `version` become pending nodes
 * (p->pragmas) that the grammar places among the declarations; the
 * others are ignored. */
void idlc_lex_pragma(idlc_parser *p, const idlc_loc *loc, const char *text);

/* A comment: keep it as pending doc when it is a doc comment. */
void idlc_lex_comment(idlc_parser *p, const char *text, size_t len);

/* An identifier: strip the escape underscore, copy it. */
int idlc_lex_ident(idlc_parser *p, const idlc_loc *loc, const char *text,
		   size_t len, char **out);

/* `@a::b`: the annotation's scoped name. */
int idlc_lex_anno_name(idlc_parser *p, const idlc_loc *loc, const char *text,
		       idlc_scoped_name **out);

/* Integer literal in `base`. */
int idlc_lex_integer(idlc_parser *p, const idlc_loc *loc, const char *text,
		     int base, idlc_expr **out);

/* Floating-point literal. */
int idlc_lex_float(idlc_parser *p, const idlc_loc *loc, const char *text,
		   idlc_expr **out);

/* Fixed-point literal (`1.5d`). */
int idlc_lex_fixed(idlc_parser *p, const idlc_loc *loc, const char *text,
		   idlc_expr **out);

/* Character literal 'c' (text includes the quotes). */
int idlc_lex_char(idlc_parser *p, const idlc_loc *loc, const char *text,
		  size_t len, bool wide, idlc_expr **out);

/* String literal "s" (text includes the quotes). */
int idlc_lex_string(idlc_parser *p, const idlc_loc *loc, const char *text,
		    size_t len, bool wide, idlc_expr **out);

/* A character that cannot start a token. */
void idlc_lex_bad_char(idlc_parser *p, const idlc_loc *loc, unsigned char c);

#endif /* IDLC_LEX_H */
