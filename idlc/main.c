/*
 * idlc/main.c - the shade-idlc command line.
 *
 *   shade-idlc [-I DIR]... [-D NAME[=V]]... [-U NAME]... [-o DIR] [--check] [-M | -MD]
 *              [--templates DIR] [--version] [--help] FILE.idl...
 *
 * -o DIR is created, with its missing parents, when it does not exist.
 *
 * Exit status: 0 when every file compiled without error, 1 otherwise, 2
 * on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compile.h"
#include "gen/gen.h"

/* Parsed command line. */
typedef struct cli {
	idlc_options opts;       /* front-end options */
	const char *out_dir;     /* -o */
	const char *templates;   /* --templates */
	bool check_only;         /* --check */
	bool deps_only;          /* -M */
	bool deps_file;          /* -MD */
	const char **files;      /* input files (talloc array) */
	size_t n_files;          /* entries */
} cli;

/* Print the usage text to `f`. */
static void usage(FILE *f)
{
	fputs("usage: shade-idlc [options] FILE.idl...\n"
	      "  -I DIR            add DIR to the #include search path\n"
	      "  -D NAME[=VALUE]   define a preprocessor macro\n"
	      "  -U NAME           undefine a predefined macro "
	      "(__OMNIIDL__)\n"
	      "  -o DIR            write FILE.h and FILE.c into DIR, "
	      "created if missing\n"
	      "                    (default: .)\n"
	      "  --check           parse and check only, write nothing\n"
	      "  -M                print make dependencies, write nothing\n"
	      "  -MD               also write FILE.d beside the outputs\n"
	      "  --templates DIR   use the templates in DIR instead of the "
	      "built-in ones\n"
	      "  --no-cpp          do not run the C preprocessor\n"
	      "  -ferror-limit=N   report at most N errors (default 20, "
	      "0: all)\n"
	      "  -Werror=annotations  unknown annotations are errors\n"
	      "  --no-tables       generate code for every codec and stub, "
	      "no tables\n"
	      "                    (larger output, faster struct calls)\n"
	      "  --version         print the version\n"
	      "  --help            print this help\n", f);
}

/* Append s to a talloc array of strings. */
static bool push(TALLOC_CTX *ctx, const char ***arr, size_t *n, const char *s)
{
	const char **a = talloc_realloc(ctx, *arr, const char *, *n + 1);

	if (a == NULL)
		return false;
	a[(*n)++] = s;
	*arr = a;
	return true;
}

/* Option value: attached ("-Idir") or next argument. */
static const char *value_of(int argc, char **argv, int *i, size_t skip)
{
	if (argv[*i][skip] != '\0')
		return argv[*i] + skip;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* Parse argv; returns 0, 1 (exit 0: help/version) or -1 (usage error). */
static int parse_args(TALLOC_CTX *ctx, cli *c, int argc, char **argv)
{
	int i;
	const char *v;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "-I", 2) == 0) {
			if ((v = value_of(argc, argv, &i, 2)) == NULL ||
			    !push(ctx, &c->opts.include_dirs,
				  &c->opts.n_include_dirs, v))
				goto missing;
		} else if (strncmp(a, "-D", 2) == 0) {
			if ((v = value_of(argc, argv, &i, 2)) == NULL ||
			    !push(ctx, &c->opts.defines, &c->opts.n_defines, v))
				goto missing;
		} else if (strncmp(a, "-U", 2) == 0) {
			if ((v = value_of(argc, argv, &i, 2)) == NULL ||
			    !push(ctx, &c->opts.undefines,
				  &c->opts.n_undefines, v))
				goto missing;
		} else if (strcmp(a, "-o") == 0) {
			if ((c->out_dir = value_of(argc, argv, &i, 2)) == NULL)
				goto missing;
		} else if (strcmp(a, "--templates") == 0) {
			if ((c->templates = value_of(argc, argv, &i, 11)) ==
			    NULL)
				goto missing;
		} else if (strcmp(a, "--check") == 0) {
			c->check_only = true;
		} else if (strcmp(a, "-M") == 0) {
			c->deps_only = true;
		} else if (strcmp(a, "-MD") == 0) {
			c->deps_file = true;
		} else if (strncmp(a, "-ferror-limit=", 14) == 0) {
			char *end;
			long n = strtol(a + 14, &end, 10);
			if (a[14] == '\0' || *end != '\0' || n < 0 ||
			    n > 1000000) {
				fprintf(stderr, "shade-idlc: error: bad value "
					"in '%s'\n", a);
				return -1;
			}
			c->opts.error_limit = (int)n;
		} else if (strcmp(a, "--no-tables") == 0) {
			c->opts.no_tables = true;
		} else if (strcmp(a, "-Werror=annotations") == 0) {
			c->opts.werror_annotations = true;
		} else if (strcmp(a, "--no-cpp") == 0) {
			c->opts.no_cpp = true;
		} else if (strcmp(a, "--version") == 0) {
			printf("shade-idlc %s\n", IDLC_VERSION);
			return 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "shade-idlc: error: unknown option "
				"'%s'\n", a);
			usage(stderr);
			return -1;
		} else if (!push(ctx, &c->files, &c->n_files, a)) {
			return -1;
		}
	}
	if (c->n_files == 0) {
		fprintf(stderr, "shade-idlc: error: no input files\n");
		usage(stderr);
		return -1;
	}
	return 0;
missing:
	fprintf(stderr, "shade-idlc: error: option '%s' needs a value\n",
		argv[i]);
	return -1;
}

/* "dir/base" + ext, where base is the file name without .idl. */
static char *output_path(TALLOC_CTX *ctx, const char *dir, const char *file,
			 const char *ext)
{
	const char *slash = strrchr(file, '/');
	const char *base = slash ? slash + 1 : file;
	const char *dot = strrchr(base, '.');
	size_t len = dot ? (size_t)(dot - base) : strlen(base);

	return talloc_asprintf(ctx, "%s/%.*s%s", dir ? dir : ".", (int)len,
			       base, ext);
}

/* Create dir and its missing parents (mkdir -p); 0 or -1 (reported). */
static int make_dirs(TALLOC_CTX *ctx, const char *dir)
{
	char *p = talloc_strdup(ctx, dir), *s, c;
	struct stat st;
	int rc = 0;

	if (p == NULL)
		return -1;
	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			rc = -1;
		else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = (errno = ENOTDIR, -1);
		*s = c;
		if (c == '\0')
			break;
	}
	if (rc != 0)
		fprintf(stderr, "shade-idlc: error: cannot create directory "
			"'%s': %s\n", p, strerror(errno));
	talloc_free(p);
	return rc;
}

/* Make rule: the outputs depend on every file read. */
static char *deps_rule(TALLOC_CTX *ctx, const cli *c,
		       const idlc_compilation *comp, const char *file)
{
	char *h = output_path(ctx, c->out_dir, file, ".h");
	char *cc = output_path(ctx, c->out_dir, file, ".c");

	return h && cc ? idlc_deps_rule(ctx, comp, talloc_asprintf(ctx, "%s %s",
								  h, cc))
		       : NULL;
}

/* Compile one file; returns 0 or -1. */
static int compile_one(TALLOC_CTX *ctx, const cli *c, const char *file)
{
	idlc_compilation *comp = idlc_compilation_new(ctx, &c->opts);
	int rc = -1;
	char *rule;

	if (comp == NULL)
		return -1;
	if (idlc_compile_file(comp, file) < 0)
		goto done;
	if (c->deps_only || c->deps_file) {
		rule = deps_rule(comp, c, comp, file);
		if (rule == NULL)
			goto done;
		if (c->deps_only) {
			fputs(rule, stdout);
		} else {
			char *dpath = output_path(comp, c->out_dir, file, ".d");
			FILE *f = dpath ? fopen(dpath, "w") : NULL;
			if (f == NULL || fputs(rule, f) < 0) {
				fprintf(stderr, "shade-idlc: error: cannot "
					"write '%s': %s\n", dpath ? dpath : "",
					strerror(errno));
				if (f)
					fclose(f);
				goto done;
			}
			if (fclose(f) != 0)
				goto done;
		}
	}
	if (c->check_only || c->deps_only) {
		rc = 0;
		goto done;
	}
	rc = idlc_generate(comp, c->out_dir ? c->out_dir : ".", c->templates);
done:
	talloc_free(comp);
	return rc;
}

/* Entry point. */
int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	cli c = { 0 };
	int rc, status = 0;
	size_t i;

	if (ctx == NULL)
		return 1;
	c.opts.diag_stream = stderr;
	c.opts.diag_snippets = true;
	c.opts.error_limit = 20;
	rc = parse_args(ctx, &c, argc, argv);
	if (rc != 0) {
		talloc_free(ctx);
		return rc > 0 ? 0 : 2;
	}
	/* -o DIR: made when missing, before anything is written into it */
	if (c.out_dir != NULL && !c.deps_only &&
	    (c.deps_file || !c.check_only) && make_dirs(ctx, c.out_dir) != 0) {
		talloc_free(ctx);
		return 1;
	}
	for (i = 0; i < c.n_files; i++)
		if (compile_one(ctx, &c, c.files[i]) < 0)
			status = 1;
	talloc_free(ctx);
	return status;
}
