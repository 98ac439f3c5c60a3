/*
 * idlc/front/parser.h - parser state shared by the scanner, the grammar
 * actions and compile.c.
 */
#ifndef IDLC_FRONT_PARSER_H
#define IDLC_FRONT_PARSER_H

#include "base/comp.h"

/* Parser state shared by the scanner and the parser (flex extra). */
typedef struct idlc_parser {
	idlc_compilation *comp;  /* the compilation */
	const char *file;        /* current file (from line markers) */
	int line;                /* current line */
	int column;              /* current column */
	const char *bol;         /* start of the current line */
	const char *doc;         /* pending doc comment, or NULL */
	int doc_line;            /* line where the pending `///` doc ended */
	const char *cursor;      /* scanner position in the text */
	const char *text;        /* the scanned text */
	idlc_node **pragmas;     /* #pragma prefix/ID/version nodes scanned
				  * and not yet placed in a declaration
				  * list (idlc_take_pragmas), in order
				  * (talloc array of cap_pragmas) */
	size_t n_pragmas;        /* entries in pragmas */
	size_t cap_pragmas;      /* entries allocated */
	char *concat;            /* the text of the last string literals
				  * concatenated (talloc, grown by
				  * doubling), or NULL */
	size_t concat_cap;       /* bytes allocated for concat */
	size_t *braces;          /* positions of the open '{' (talloc) */
	size_t n_braces;         /* entries in braces */
} idlc_parser;

#endif /* IDLC_FRONT_PARSER_H */
