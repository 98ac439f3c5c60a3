/*
 * idlc/base/diag.c - diagnostics.
 *
 * A diagnostic is recorded on the compilation (tests read them back) and
 * printed as a compiler does:
 *
 *     file:line:col: error: message
 *     <the source line>
 *          ^
 *
 * Positions come from the preprocessed text, where the C preprocessor may
 * have squeezed runs of blanks; the column is mapped back onto the
 * original line by walking both lines in step (diag_map_column).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/comp.h"

/* Source lines for carets come only from regular files of at most this
 * size (a line marker may name a FIFO or a device), and at most this
 * many columns of a line are shown. */
#define SNIPPET_MAX_FILE (64u << 20)
#define SNIPPET_MAX_COLS 160

/* Read `name` for snippets: a regular file up to SNIPPET_MAX_FILE bytes,
 * opened without blocking.  Returns the text (talloc on ctx) or NULL. */
static char *snippet_file(TALLOC_CTX *ctx, const char *name, size_t *len)
{
	int fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size <= SNIPPET_MAX_FILE &&
	    (buf = talloc_size(ctx, (size_t)st.st_size + 2)) != NULL) {
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got,
					 (size_t)st.st_size - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		buf[got] = buf[got + 1] = '\0';
	}
	close(fd);
	*len = got;
	return buf;
}

/* The kept source of `name`, reading the file the first time. */
static idlc_source *source_get(idlc_compilation *comp, const char *name)
{
	idlc_source *s;
	char *buf = NULL;
	size_t len = 0;

	for (s = comp->sources; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	buf = snippet_file(comp, name, &len);
	s = idlc_source_add(comp, name, buf, len);
	talloc_free(buf);
	return s;
}

/* Start and length of line `line` in a text, or NULL. */
static const char *line_of(const char *text, size_t len, int line,
			   size_t *line_len)
{
	const char *s = text, *end = text + len, *e;
	int l = 1;

	if (text == NULL || line < 1)
		return NULL;
	while (l < line) {
		s = memchr(s, '\n', (size_t)(end - s));
		if (s == NULL)
			return NULL;
		s++;
		l++;
	}
	e = memchr(s, '\n', (size_t)(end - s));
	*line_len = e ? (size_t)(e - s) : (size_t)(end - s);
	return s;
}

/* True for the blanks the preprocessor squeezes. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* True for characters of identifiers and numbers. */
static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Map a column of the preprocessed line onto the original line, where
 * the two differ in runs of blanks and in macros expanded to one token.
 * Returns the original column, or `col` itself when the lines differ
 * otherwise. */
static int diag_map_column(const char *orig, size_t olen, const char *pp,
			   size_t plen, int col)
{
	size_t i = 0, j = 0, target = (size_t)(col - 1);

	if (olen == plen && memcmp(orig, pp, olen) == 0)
		return col;
	if (target > plen)
		return col;
	while (j < target) {
		if (is_blank(pp[j])) {
			while (j < target && is_blank(pp[j]))
				j++;
			while (i < olen && is_blank(orig[i]))
				i++;
		} else if (i < olen && orig[i] == pp[j]) {
			i++;
			j++;
		} else if (i < olen && is_word(orig[i]) && is_word(pp[j]) &&
			   (i == 0 || !is_word(orig[i - 1]))) {
			/* a macro name and its one-token expansion */
			while (i < olen && is_word(orig[i]))
				i++;
			while (j < target && is_word(pp[j]))
				j++;
		} else {
			return col;
		}
	}
	while (i < olen && is_blank(orig[i]))
		i++;
	return (int)i + 1;
}

static const char *const severity_names[] = { "note", "warning", "error" };

/* Record and print one diagnostic. */
void idlc_report(idlc_compilation *comp, idlc_severity sev,
		 const idlc_loc *loc, const char *fmt, ...)
{
	idlc_diag *d;
	va_list ap;
	const char *src_line = NULL;
	size_t src_len = 0;
	int col = 0;

	if (sev == IDLC_ERROR)
		comp->n_errors++;
	else if (sev == IDLC_WARNING)
		comp->n_warnings++;
	/* past the error limit nothing more is recorded or printed: the
	 * count goes on, memory and output stay bounded */
	if (comp->opts.error_limit > 0 &&
	    comp->n_errors > comp->opts.error_limit) {
		if (sev == IDLC_ERROR &&
		    comp->n_errors == comp->opts.error_limit + 1 &&
		    comp->opts.diag_stream)
			fprintf(comp->opts.diag_stream, "shade-idlc: error: too "
				"many errors emitted, not reporting more "
				"(-ferror-limit=%d)\n", comp->opts.error_limit);
		return;
	}
	d = talloc_zero(comp, idlc_diag);
	if (d == NULL)
		return;
	d->severity = sev;
	va_start(ap, fmt);
	d->message = talloc_vasprintf(d, fmt, ap);
	va_end(ap);
	if (d->message == NULL) {
		talloc_free(d);
		return;
	}
	if (loc != NULL && loc->file != NULL) {
		idlc_source *s = source_get(comp, loc->file);
		col = loc->first_column;
		if (s && s->text)
			src_line = line_of(s->text, s->len, loc->first_line,
					   &src_len);
		if (src_line && loc->bol) {
			const char *e = strchr(loc->bol, '\n');
			size_t plen = e ? (size_t)(e - loc->bol)
					: strlen(loc->bol);
			col = diag_map_column(src_line, src_len, loc->bol,
					      plen, col);
		}
		d->file = loc->file;
		d->line = loc->first_line;
		d->column = col;
		d->text = talloc_asprintf(d, "%s:%d:%d: %s: %s", loc->file,
					  loc->first_line, col,
					  severity_names[sev], d->message);
	} else {
		d->text = talloc_asprintf(d, "shade-idlc: %s: %s",
					  severity_names[sev], d->message);
	}
	if (d->text == NULL) {
		talloc_free(d);
		return;
	}
	if (comp->diags_tail)
		comp->diags_tail->next = d;
	else
		comp->diags = d;
	comp->diags_tail = d;

	if (comp->opts.diag_stream == NULL)
		return;
	fprintf(comp->opts.diag_stream, "%s\n", d->text);
	if (comp->opts.diag_snippets && src_line != NULL) {
		size_t k, from = 0;
		/* a long line: the SNIPPET_MAX_COLS columns around the caret */
		if (src_len > SNIPPET_MAX_COLS) {
			if ((size_t)col > SNIPPET_MAX_COLS / 2)
				from = (size_t)col - SNIPPET_MAX_COLS / 2;
			if (from > src_len)
				from = src_len;
			src_line += from;
			src_len -= from;
			if (src_len > SNIPPET_MAX_COLS)
				src_len = SNIPPET_MAX_COLS;
		}
		fprintf(comp->opts.diag_stream, "%.*s\n", (int)src_len,
			src_line);
		for (k = 0; k + 1 + from < (size_t)col && k < src_len; k++)
			fputc(src_line[k] == '\t' ? '\t' : ' ',
			      comp->opts.diag_stream);
		fputs("^\n", comp->opts.diag_stream);
	}
}
