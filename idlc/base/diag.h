/*
 * idlc/base/diag.h - diagnostics: "file:line:col: error: message", the
 * source line and a caret; recorded on the compilation too.
 */
#ifndef IDLC_BASE_DIAG_H
#define IDLC_BASE_DIAG_H

#include "base/attr.h"

typedef struct idlc_compilation idlc_compilation;
typedef struct idlc_loc idlc_loc;

/* Severity of a diagnostic. */
typedef enum idlc_severity {
	IDLC_NOTE,    /* note attached to the previous diagnostic */
	IDLC_WARNING, /* warning */
	IDLC_ERROR    /* error */
} idlc_severity;

/* One recorded diagnostic. */
typedef struct idlc_diag {
	idlc_severity severity;  /* severity */
	const char *file;        /* file name */
	int line;                /* line (1-based) */
	int column;              /* column (1-based), 0 when unknown */
	const char *message;     /* message text */
	const char *text;        /* "file:line:col: error: message" */
	struct idlc_diag *next;  /* next diagnostic */
} idlc_diag;

/* Report a diagnostic at `loc` (NULL: no location).  Records it, prints
 * it (and the source line with a caret) to opts.diag_stream. */
void idlc_report(idlc_compilation *comp, idlc_severity sev,
		 const idlc_loc *loc, const char *fmt, ...) IDLC_PRINTF(4, 5);
#define idlc_error(c, l, ...) idlc_report((c), IDLC_ERROR, (l), __VA_ARGS__)
#define idlc_warning(c, l, ...) idlc_report((c), IDLC_WARNING, (l), __VA_ARGS__)
#define idlc_note(c, l, ...) idlc_report((c), IDLC_NOTE, (l), __VA_ARGS__)

#endif /* IDLC_BASE_DIAG_H */
