/*
 * idlc/compile.c - a compilation: preprocess, parse, resolve, check.
 *
 * The C preprocessor runs as a child process (`cpp -C`, comments kept so
 * that doc comments reach the scanner; line markers kept so diagnostics
 * name the right file and line).  Its standard output is the text to
 * scan; its standard error is turned into diagnostics.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compile.h"
#include "check/check.h"
#include "check/repoid.h"
#include "check/resolve.h"
#include "check/scope.h"
#include "front/create.h"
#include "front/parser.h"
#include "idl.tab.h"
#include "idl.lex.h"

extern char **environ;

/* Advise the system to back the whole 2 MiB pages inside [p, p + len)
 * with huge pages: filling the tree then costs a page fault per 2 MiB
 * instead of one per 4 KiB.  Only a hint; nothing changes without
 * transparent huge pages. */
static void huge_pages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2u << 20;
	uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(huge - 1);

	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}

/* Create a compilation; see its header. */
idlc_compilation *idlc_compilation_new(TALLOC_CTX *mem_ctx,
				       const idlc_options *opts)
{
	/* the tree lives in a pool: many small objects, freed together */
	idlc_compilation *comp = talloc_pooled_object(mem_ctx,
						      idlc_compilation, 1,
						      32u << 20);

	if (comp == NULL)
		return NULL;
	huge_pages(comp, 32u << 20);
	memset(comp, 0, sizeof(*comp));
	if (opts)
		comp->opts = *opts;
	return comp;
}

/* Growable byte buffer on a talloc context. */
typedef struct buf {
	char *data;  /* bytes (talloc) */
	size_t len;  /* used */
	size_t cap;  /* allocated */
} buf;

/* Read what is available on fd into b; returns bytes read, 0 at EOF, -1
 * on error (EINTR/EAGAIN count as 1: try again). */
static ssize_t buf_read(TALLOC_CTX *ctx, buf *b, int fd)
{
	ssize_t n;

	if (b->cap - b->len < 65536 + 2) {
		size_t ncap = b->cap ? b->cap * 2 : 1 << 17;
		char *nd = talloc_realloc(ctx, b->data, char, ncap);
		if (nd == NULL)
			return -1;
		b->data = nd;
		b->cap = ncap;
	}
	n = read(fd, b->data + b->len, b->cap - b->len - 2);
	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 1 : -1;
	b->len += (size_t)n;
	return n;
}

/* Turn one line of the preprocessor's stderr into a diagnostic. */
static void cpp_diag(idlc_compilation *comp, char *line)
{
	char *p1, *p2, *p3, *msg;
	idlc_loc loc = { 0 };
	idlc_severity sev = IDLC_ERROR;

	/* skip the empty lines, the source excerpts ("    1 | ...") and
	 * the closing remark */
	if (*line == '\0' || *line == ' ' ||
	    strcmp(line, "compilation terminated.") == 0)
		return;
	p1 = strstr(line, ": ");
	if (p1) {
		msg = p1 + 2;
		*p1 = '\0';
		if (strncmp(msg, "fatal error: ", 13) == 0)
			msg += 13;
		else if (strncmp(msg, "error: ", 7) == 0)
			msg += 7;
		else if (strncmp(msg, "warning: ", 9) == 0) {
			msg += 9;
			sev = IDLC_WARNING;
		} else if (strncmp(msg, "note: ", 6) == 0) {
			msg += 6;
			sev = IDLC_NOTE;
		}
		p2 = strchr(line, ':');
		p3 = p2 ? strchr(p2 + 1, ':') : NULL;
		if (p2 && p3) {
			*p2 = *p3 = '\0';
			loc.file = idlc_intern(comp, line, strlen(line));
			loc.first_line = loc.last_line = atoi(p2 + 1);
			loc.first_column = loc.last_column = atoi(p3 + 1);
			idlc_report(comp, sev, &loc, "%s", msg);
			return;
		}
		idlc_report(comp, sev, NULL, "%s", msg);
		return;
	}
	idlc_report(comp, sev, NULL, "%s", line);
}

/* Split a command string on blanks into argv (talloc'd). */
static char **split_command(TALLOC_CTX *ctx, const char *cmd, size_t extra,
			    size_t *argc)
{
	char *copy = talloc_strdup(ctx, cmd), *tok, *save = NULL;
	char **argv = talloc_array(ctx, char *, strlen(cmd) + extra + 2);

	*argc = 0;
	if (copy == NULL || argv == NULL)
		return NULL;
	for (tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save))
		argv[(*argc)++] = tok;
	return argv;
}

/* True when `prog` names an executable file, directly or on $PATH. */
static bool program_exists(const char *prog)
{
	const char *path = getenv("PATH"), *s, *e;
	char full[4096];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	for (s = path ? path : "/usr/bin:/bin"; *s; s = *e ? e + 1 : e) {
		e = strchr(s, ':');
		if (e == NULL)
			e = s + strlen(s);
		if (snprintf(full, sizeof(full), "%.*s/%s", (int)(e - s), s,
			     prog) < (int)sizeof(full) &&
		    access(full, X_OK) == 0)
			return true;
	}
	return false;
}

/* Run the preprocessor; see its header. */
int idlc_preprocess(idlc_compilation *comp, const char *file)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	const char *cmd = comp->opts.cpp ? comp->opts.cpp : getenv("SHADE_IDLC_CPP");
	char **argv;
	size_t argc, i;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc = -1, status, e;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	buf ob = { 0 }, eb = { 0 };
	bool out_open = true, err_open = true;

	if (tmp == NULL)
		return -1;
	if (cmd == NULL || *cmd == '\0')
		cmd = "cpp";
	argv = split_command(tmp, cmd, 10 + 2 * (comp->opts.n_include_dirs +
						 comp->opts.n_defines +
						 comp->opts.n_undefines), &argc);
	if (argv == NULL)
		goto done;
	argv[argc++] = "-x";
	argv[argc++] = "c";
	argv[argc++] = "-C";
	argv[argc++] = "-undef";
	argv[argc++] = "-nostdinc";
	argv[argc++] = "-D__SHADE_IDLC__=1";
	/* what CORBA files test to select the IDL that a CORBA 2.3 or
	 * later compiler accepts (escaped identifiers, ir.idl); -U undoes */
	argv[argc++] = "-D__OMNIIDL__=1";
	for (i = 0; i < comp->opts.n_include_dirs; i++)
		argv[argc++] = talloc_asprintf(tmp, "-I%s",
					       comp->opts.include_dirs[i]);
	for (i = 0; i < comp->opts.n_defines; i++)
		argv[argc++] = talloc_asprintf(tmp, "-D%s",
					       comp->opts.defines[i]);
	for (i = 0; i < comp->opts.n_undefines; i++)
		argv[argc++] = talloc_asprintf(tmp, "-U%s",
					       comp->opts.undefines[i]);
	argv[argc++] = (char *)file;
	argv[argc] = NULL;
	for (i = 0; i < argc; i++)
		if (argv[i] == NULL)
			goto done;

	if (!program_exists(argv[0])) {
		idlc_error(comp, NULL, "cannot run the C preprocessor '%s': %s "
			   "(install cpp, or set SHADE_IDLC_CPP)", argv[0],
			   strerror(ENOENT));
		goto done;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		idlc_error(comp, NULL, "cannot create a pipe: %s",
			   strerror(errno));
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (e != 0) {
		idlc_error(comp, NULL, "cannot run the C preprocessor '%s': %s "
			   "(install cpp, or set SHADE_IDLC_CPP)", argv[0],
			   strerror(e));
		goto done;
	}
	while (out_open || err_open) {
		struct pollfd pf[2] = { { out_open ? out[0] : -1, POLLIN, 0 },
					{ err_open ? err[0] : -1, POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (out_open && pf[0].revents) {
			ssize_t n = buf_read(tmp, &ob, out[0]);
			if (n < 0)
				break;
			out_open = n != 0;
		}
		if (err_open && pf[1].revents) {
			ssize_t n = buf_read(tmp, &eb, err[0]);
			if (n < 0)
				break;
			err_open = n != 0;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (eb.len > 0) {
		char *line, *save = NULL;
		eb.data[eb.len] = '\0';
		for (line = strtok_r(eb.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			cpp_diag(comp, line);
	}
	if (out_open || err_open) {
		idlc_error(comp, NULL, "reading the C preprocessor's output "
			   "failed");
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (comp->n_errors == 0)
			idlc_error(comp, NULL, "the C preprocessor failed on "
				   "'%s'", file);
		goto done;
	}
	if (ob.data == NULL && (ob.data = talloc_size(tmp, 2)) == NULL)
		goto done;
	ob.data[ob.len] = ob.data[ob.len + 1] = '\0';
	comp->pp_text = talloc_steal(comp, ob.data);
	comp->pp_len = ob.len;
	rc = 0;
done:
	for (i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	talloc_free(tmp);
	return rc;
}

/* The parser's error callback: bison's message at the token. */
void idl_yyerror(IDL_YYLTYPE *loc, idlc_parser *p, void *scanner,
		 const char *msg)
{
	(void)scanner;
	if (strcmp(msg, "memory exhausted") == 0)
		msg = "declarations or expressions nested too deeply";
	idlc_error(p->comp, loc, "%s", msg);
}

/* Scan and parse comp->pp_text (which ends with two NUL bytes). */
int idlc_parse(idlc_compilation *comp)
{
	idlc_parser p = { 0 };
	yyscan_t scanner;
	YY_BUFFER_STATE b;
	int rc;

	p.comp = comp;
	p.file = comp->main_file;
	p.line = 1;
	p.column = 1;
	p.text = comp->pp_text;
	p.bol = comp->pp_text;
	if (idl_yylex_init_extra(&p, &scanner) != 0)
		return -1;
	b = idl_yy_scan_buffer(comp->pp_text, comp->pp_len + 2, scanner);
	if (b == NULL) {
		idl_yylex_destroy(scanner);
		return -1;
	}
	rc = idl_yyparse(&p, scanner);
	idl_yy_delete_buffer(b, scanner);
	idl_yylex_destroy(scanner);
	if (rc == 2 && comp->n_errors == 0)
		idlc_error(comp, NULL, "out of memory");
	return (rc != 0 || comp->n_errors) ? -1 : 0;
}

/* Run the passes after parsing. */
static int run_passes(idlc_compilation *comp)
{
	idlc_parse(comp);
	if (comp->root == NULL)
		return -1;
	/* the check pass runs after resolution errors too: it skips what
	 * did not resolve (a NULL ref) and reports the rest */
	idlc_resolve(comp);
	if (comp->root_scope != NULL) {
		idlc_check(comp);
		idlc_repoids(comp);
	}
	return comp->n_errors ? -1 : 0;
}

/* Read `file` into comp->pp_text (two NUL bytes after the end). */
static int read_whole(idlc_compilation *comp, const char *file)
{
	if (idlc_read_file(comp, file, &comp->pp_text, &comp->pp_len) < 0) {
		idlc_error(comp, NULL, "cannot open '%s': %s", file,
			   strerror(errno));
		return -1;
	}
	return 0;
}

/* Compile a file; see its header. */
int idlc_compile_file(idlc_compilation *comp, const char *file)
{
	comp->main_file = talloc_strdup(comp, file);
	if (comp->main_file == NULL)
		return -1;
	idlc_add_dep(comp, file);
	if (comp->opts.no_cpp) {
		if (read_whole(comp, file) < 0 ||
		    idlc_source_add(comp, comp->main_file, comp->pp_text,
				    comp->pp_len) == NULL)
			return -1;
	} else if (idlc_preprocess(comp, file) < 0) {
		return -1;
	}
	return run_passes(comp);
}

/* Compile a string; see its header. */
int idlc_compile_string(idlc_compilation *comp, const char *name,
			const char *text)
{
	size_t len = strlen(text);

	comp->main_file = talloc_strdup(comp, name);
	comp->pp_text = talloc_size(comp, len + 2);
	if (comp->main_file == NULL || comp->pp_text == NULL)
		return -1;
	memcpy(comp->pp_text, text, len);
	comp->pp_text[len] = comp->pp_text[len + 1] = '\0';
	comp->pp_len = len;
	idlc_add_dep(comp, name);
	if (idlc_source_add(comp, name, text, len) == NULL)
		return -1;
	return run_passes(comp);
}
