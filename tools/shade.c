/*
 * tools/shade.c - `shade`, the explorer: look at and use the objects a
 * running shade server exports, with no IDL (doc/shade.1).
 *
 *   shade [--diag] [--diag-in] [--items] [--idl FILE] [--timeout MS]
 *         ADDRESS COMMAND [ARGS...]
 *     ls                       the exported names
 *     describe NAME[.MEMBER]   the shape: type, bases, members, signatures
 *     get NAME.ATTR[.ATTR...]  an attribute's value
 *     set NAME.ATTR JSON       write an attribute
 *     call NAME[.METHOD] JSON...  call, one JSON value per argument
 *     tree [NAME] [--depth N]  names, members and attribute values,
 *                              following references N levels (default 2)
 *   shade monitor LISTEN SERVER  relay clients to SERVER, printing every
 *                              message (tools/monitor.c)
 *
 * Exit status (stable, for scripts): 0 done; 1 the server answered with
 * an error; 2 usage (bad command line or argument JSON); 3 cannot
 * connect or the connection was lost; 4 no such name or member; 5 the
 * result has no JSON form (try --diag).  Errors are one line on standard
 * error: `shade: NAME: MESSAGE` (NAME the error's registry name).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/shade.h"
#include "idl.h"
#include "json.h"
#include "monitor.h"

enum {
	EXIT_OK = 0,
	EXIT_REMOTE = 1,
	EXIT_USAGE = 2,
	EXIT_CONN = 3,
	EXIT_NOT_FOUND = 4,
	EXIT_NO_JSON = 5
};

/* Options. */
struct opts {
	bool diag;       /* print results in CBOR diagnostic notation */
	bool diag_in;    /* read arguments in CBOR diagnostic notation */
	int timeout_ms;  /* per call; 0: 10 s */
	int depth;       /* tree: levels of references followed */
	bool items;      /* tree: print the items of containers */
	tool_idl *idl;   /* --idl: declared types, or NULL */
};

static void usage(FILE *f)
{
	fputs("usage: shade [--diag] [--diag-in] [--items] [--idl FILE] "
	      "[--timeout MS]\n"
	      "             ADDRESS COMMAND [ARGS...]\n"
	      "       shade monitor LISTEN_ADDRESS SERVER_ADDRESS\n"
	      "  ls                          the exported names\n"
	      "  describe NAME[.MEMBER...]   type, bases, members, signatures\n"
	      "  get NAME.ATTR[.ATTR...]     an attribute's value (JSON)\n"
	      "  set NAME.ATTR JSON          write an attribute\n"
	      "  call NAME[.METHOD...] [JSON...]  call with JSON arguments\n"
	      "  tree [NAME] [--depth N]     members and values, following "
	      "references\n"
	      "monitor: relay clients on LISTEN_ADDRESS to the server, printing "
	      "every\n  message (#CONN >|< OPCODE ID MESSAGE), until SIGINT or "
	      "SIGTERM\n"
	      "--diag     print results in CBOR diagnostic notation\n"
	      "--diag-in  read arguments in it: h'00ff', [1, 2] a tuple, "
	      "203([1, 2]) a list\n"
	      "--items    tree: print the items of lists and dicts held by "
	      "reference\n"
	      "--idl FILE declared types: describe shows docs and signatures; "
	      "call and set\n"
	      "           check arguments against them (exit 2 naming the "
	      "parameter)\n"
	      "ADDRESS: unix:PATH, tcp:HOST:PORT, exec:COMMAND, fd:N\n"
	      "exit: 0 ok, 1 remote error, 2 usage, 3 connection, "
	      "4 not found, 5 no JSON form\n", f);
}

/* Report e (or a message) and map it to an exit status. */
static int fail(const shade_error *e)
{
	fprintf(stderr, "shade: %s: %s\n", e ? e->name : "RuntimeError",
		e ? e->message : "failed");
	if (e == NULL)
		return EXIT_REMOTE;
	switch (e->code) {
	case SHADE_ERR_CONNECTION_LOST:
	case SHADE_ERR_IO:
	case SHADE_ERR_TIMEOUT:
		return EXIT_CONN;
	case SHADE_ERR_NOT_FOUND:
	case SHADE_ERR_ATTRIBUTE:
		return EXIT_NOT_FOUND;
	default:
		return EXIT_REMOTE;
	}
}

/* A usage error with a message. */
static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "shade: usage: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* Print v as JSON (pretty) or diagnostic notation. */
static int print_value(const struct opts *o, const shade_value *v)
{
	shade_error *e = NULL;
	char *t = o->diag ? shade_value_diag(NULL, v)
			  : json_format(NULL, v, 2, &e);

	if (t == NULL) {
		int rc = e && e->code == SHADE_ERR_VALUE ? EXIT_NO_JSON
							 : EXIT_REMOTE;
		fail(e);
		shade_error_free(e);
		return rc;
	}
	printf("%s\n", t);
	talloc_free(t);
	return EXIT_OK;
}

/* Split "a.b.c" into a talloc array of parts (*n of them). */
static char **split_path(TALLOC_CTX *ctx, const char *path, size_t *n)
{
	char *copy = talloc_strdup(ctx, path), *p, *save = NULL;
	char **parts = talloc_array(ctx, char *, strlen(path) + 1);

	*n = 0;
	if (copy == NULL || parts == NULL)
		return NULL;
	for (p = strtok_r(copy, ".", &save); p; p = strtok_r(NULL, ".", &save))
		parts[(*n)++] = p;
	return parts;
}

/* Resolve parts[0..upto) to a reference: lookup of parts[0], then
 * getattr of each next part (each must give a reference). */
static shade_status resolve(TALLOC_CTX *ctx, shade_conn *c, char **parts,
			    size_t upto, shade_ref **out, shade_error **err)
{
	shade_ref *r;
	size_t i;

	SHADE_CHECK(shade_lookup(c, parts[0], &r, err));
	for (i = 1; i < upto; i++) {
		shade_value *v = NULL;
		shade_status st = shade_getattr(ctx, r, parts[i], &v, err);

		shade_ref_release(r);
		if (st != SHADE_OK)
			return st;
		if (shade_value_kind(v) != SHADE_REF) {
			talloc_free(v);
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "%s is a %s, not an object",
					       parts[i], shade_kind_name(
						       shade_value_kind(v)));
		}
		r = shade_ref_retain(shade_value_as_ref(v));
		talloc_free(v);
	}
	*out = r;
	return SHADE_OK;
}

static const char *const shape_kinds[] = {
	"object", "function", "type", "list", "dict"
};

/* Print one member line of type `type`: with --idl, the declared
 * signature (in place of the server's) and the doc comment below. */
static void print_member(const struct opts *o, const char *type,
			 const shade_member_desc *m, const char *indent)
{
	const char *doc = NULL;
	char *decl = tool_idl_member(NULL, o->idl, type, m->name, &doc);
	const char *sig = decl ? decl : m->signature;

	if (sig != NULL)
		printf("%s%-20s %-9s %s\n", indent, m->name,
		       shade_member_kind_name(m->kind), sig);
	else
		printf("%s%-20s %s\n", indent, m->name,
		       shade_member_kind_name(m->kind));
	if (doc != NULL)
		printf("%s    %s\n", indent, doc);
	talloc_free(decl);
}

/* Print a shape: "TYPE (kind) : BASES" then its members. */
static void print_shape(const shade_shape_desc *d, const char *indent)
{
	size_t i;

	printf("%s%s (%s)", indent, d->name,
	       (unsigned)d->kind < 5 ? shape_kinds[d->kind] : "?");
	for (i = 0; i < d->n_bases; i++)
		printf("%s%s", i ? ", " : " : ", d->bases[i]);
	printf("\n");
}

static int cmd_ls(shade_conn *c)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_error *e = NULL;
	char **names;
	size_t n, i;
	int rc = EXIT_OK;

	if (shade_names(tmp, c, &names, &n, &e) != SHADE_OK)
		rc = fail(e);
	else
		for (i = 0; i < n; i++)
			printf("%s\n", names[i]);
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

static int cmd_describe(const struct opts *o, shade_conn *c,
			const char *path)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	const shade_shape_desc *d;
	shade_error *e = NULL;
	shade_ref *r = NULL;
	shade_value *v = NULL;
	size_t n, i;
	char **parts = split_path(tmp, path, &n);
	int rc = EXIT_OK;
	long k;

	if (n == 0) {
		talloc_free(tmp);
		return usage_error("describe: '%s' is not NAME[.MEMBER...]",
				   path);
	}
	/* The object named by all parts but the last; the last is one of
	 * its members: a method or a plain attribute is described as a
	 * member, an attribute holding an object as that object. */
	if (resolve(tmp, c, parts, n > 1 ? n - 1 : 1, &r, &e) != SHADE_OK ||
	    shade_describe(r, &d, &e) != SHADE_OK) {
		rc = fail(e);
		goto done;
	}
	if (n > 1) {
		k = shade_shape_find(d, parts[n - 1]);
		if (k < 0) {
			shade_error_set(&e, SHADE_ERR_ATTRIBUTE,
					"%s has no member '%s'", d->name,
					parts[n - 1]);
			rc = fail(e);
			goto done;
		}
		if (d->members[k].kind == SHADE_MEMBER_METHOD ||
		    d->members[k].kind == SHADE_MEMBER_ONEWAY ||
		    shade_getattr(tmp, r, parts[n - 1], &v, &e) != SHADE_OK ||
		    shade_value_kind(v) != SHADE_REF) {
			shade_error_free(e);
			e = NULL;
			printf("%s.", d->name);
			print_member(o, d->name, &d->members[k], "");
			goto done;
		}
		shade_ref_release(r);
		r = shade_ref_retain(shade_value_as_ref(v));
		if (shade_describe(r, &d, &e) != SHADE_OK) {
			rc = fail(e);
			goto done;
		}
	}
	print_shape(d, "");
	if (tool_idl_doc(o->idl, d->name) != NULL)
		printf("  %s\n", tool_idl_doc(o->idl, d->name));
	for (i = 0; i < d->n_members; i++)
		print_member(o, d->name, &d->members[i], "  ");
done:
	if (r != NULL)
		shade_ref_release(r);
	talloc_free(v);
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

static int cmd_get(const struct opts *o, shade_conn *c, const char *path)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_error *e = NULL;
	shade_ref *r = NULL;
	shade_value *v = NULL;
	size_t n;
	char **parts = split_path(tmp, path, &n);
	int rc;

	if (n < 2) {
		talloc_free(tmp);
		return usage_error("get: '%s' is not NAME.ATTR[.ATTR...]", path);
	}
	if (resolve(tmp, c, parts, n - 1, &r, &e) != SHADE_OK ||
	    shade_getattr(tmp, r, parts[n - 1], &v, &e) != SHADE_OK)
		rc = fail(e);
	else
		rc = print_value(o, v);
	if (r != NULL)
		shade_ref_release(r);
	talloc_free(v);
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

/* Parse an argument (JSON, or diagnostic notation with --diag-in);
 * prints the error itself. */
static shade_value *arg_json(const struct opts *o, TALLOC_CTX *ctx,
			     const char *what, int i, const char *text)
{
	shade_value *v = NULL;
	shade_error *e = NULL;

	if ((o->diag_in ? diag_parse : json_parse)(ctx, text, strlen(text),
						   &v, &e) != SHADE_OK) {
		fprintf(stderr, "shade: usage: %s %d is not %s: %s\n", what,
			i, o->diag_in ? "diagnostic notation" : "JSON",
			e ? e->message : "?");
		shade_error_free(e);
		return NULL;
	}
	return v;
}

/* With --idl: check (and widen) the arguments of r.member (args, a
 * tuple) or the value written to it (*v) against the declarations of
 * r's type.  EXIT_OK, or EXIT_USAGE after printing why (the parameter
 * named), or the error of describing r. */
static int declared(const struct opts *o, shade_ref *r, const char *member,
		    shade_value *args, shade_value **v)
{
	const shade_shape_desc *d;
	shade_error *e = NULL;
	int rc = EXIT_OK;

	if (o->idl == NULL)
		return EXIT_OK;
	if (shade_describe(r, &d, &e) != SHADE_OK) {
		rc = fail(e);
	} else if ((args ? tool_idl_args(o->idl, d->name, member, args, &e)
			 : tool_idl_attr(o->idl, d->name, member, v, &e)) !=
		   SHADE_OK) {
		fprintf(stderr, "shade: %s: %s\n", e->name, e->message);
		rc = EXIT_USAGE;
	}
	shade_error_free(e);
	return rc;
}

static int cmd_set(const struct opts *o, shade_conn *c, const char *path,
		   const char *json)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_error *e = NULL;
	shade_ref *r = NULL;
	shade_value *v;
	size_t n;
	char **parts = split_path(tmp, path, &n);
	int rc = EXIT_OK;

	if (n < 2) {
		talloc_free(tmp);
		return usage_error("set: '%s' is not NAME.ATTR[.ATTR...]", path);
	}
	if ((v = arg_json(o, tmp, "value", 1, json)) == NULL) {
		talloc_free(tmp);
		return EXIT_USAGE;
	}
	if (resolve(tmp, c, parts, n - 1, &r, &e) != SHADE_OK)
		rc = fail(e);
	else if ((rc = declared(o, r, parts[n - 1], NULL, &v)) == EXIT_OK &&
		 shade_setattr(r, parts[n - 1], v, &e) != SHADE_OK)
		rc = fail(e);
	if (r != NULL)
		shade_ref_release(r);
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

static int cmd_call(const struct opts *o, shade_conn *c, const char *path,
		    int argc, char **argv)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *args = shade_tuple_new(tmp, (size_t)argc), *out = NULL;
	shade_error *e = NULL;
	shade_ref *r = NULL;
	size_t n;
	char **parts = split_path(tmp, path, &n);
	shade_status st;
	int rc, i;

	if (n == 0) {
		talloc_free(tmp);
		return usage_error("call: '%s' is not NAME[.METHOD...]", path);
	}
	for (i = 0; i < argc; i++) {
		shade_value *v = arg_json(o, tmp, "argument", i + 1,
					  argv[i]);

		if (v == NULL) {
			talloc_free(tmp);
			return EXIT_USAGE;
		}
		shade_seq_append_take(args, v, NULL);
	}
	if (n == 1) {
		st = shade_lookup(c, parts[0], &r, &e);
		if (st == SHADE_OK)
			st = shade_call(tmp, r, args, NULL, &out, &e);
	} else {
		st = resolve(tmp, c, parts, n - 1, &r, &e);
		if (st == SHADE_OK &&
		    (rc = declared(o, r, parts[n - 1], args, NULL)) != EXIT_OK)
			goto done;
		if (st == SHADE_OK)
			st = shade_invoke(tmp, r, parts[n - 1], args, NULL,
					  &out, &e);
	}
	rc = st == SHADE_OK ? print_value(o, out) : fail(e);
done:
	if (r != NULL)
		shade_ref_release(r);
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

/* A value on one line for tree: JSON, or diagnostic notation with
 * --diag or when it has no JSON form. */
static char *one_line(const struct opts *o, TALLOC_CTX *ctx,
		      const shade_value *v)
{
	shade_error *e = NULL;
	char *t = o->diag ? NULL : json_format(ctx, v, 0, &e);

	shade_error_free(e);
	if (t == NULL)
		t = shade_value_diag(ctx, v);
	return t ? t : talloc_strdup(ctx, "?");
}

/* Most items tree prints of one container. */
#define TREE_MAX_ITEMS 100

/* tree: a list or dict held by reference: "TYPE (list, N items)", and
 * with --items its first TREE_MAX_ITEMS items, one per line. */
static int tree_container(const struct opts *o, shade_ref *r,
			  const shade_shape_desc *d, const char *indent)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	bool list = d->kind == SHADE_SHAPE_LIST;
	shade_value *items = NULL;
	shade_error *e = NULL;
	size_t n = 0, i, k;
	int rc = EXIT_OK;

	if (shade_len(r, &n, &e) != SHADE_OK) {
		rc = fail(e);
		goto done;
	}
	printf("%s (%s, %zu item%s)\n", d->name, list ? "list" : "dict", n,
	       n == 1 ? "" : "s");
	if (!o->items || n == 0)
		goto done;
	/* A list: a snapshot of its first items; a dict: its pairs. */
	if ((list ? shade_force_range(tmp, r, 0, TREE_MAX_ITEMS, &items, &e)
		  : shade_items(tmp, r, &items, &e)) != SHADE_OK) {
		rc = fail(e);
		goto done;
	}
	k = shade_seq_len(items);
	for (i = 0; i < k && i < TREE_MAX_ITEMS; i++) {
		const shade_value *it = shade_seq_at(items, i);

		if (list)
			printf("%s  [%zu] = %s\n", indent, i,
			       one_line(o, tmp, it));
		else
			printf("%s  %s = %s\n", indent,
			       one_line(o, tmp, shade_seq_at(it, 0)),
			       one_line(o, tmp, shade_seq_at(it, 1)));
	}
	if (n > i)
		printf("%s  ... %zu more\n", indent, n - i);
done:
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

/* tree: one object's members, attribute values, and the objects they
 * refer to down to `depth` more levels. */
static int tree_of(const struct opts *o, shade_ref *r, int depth,
		   const char *indent)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	const shade_shape_desc *d;
	shade_error *e = NULL;
	char *deeper = talloc_asprintf(tmp, "%s    ", indent);
	size_t i;
	int rc = EXIT_OK;

	if (shade_describe(r, &d, &e) != SHADE_OK) {
		rc = fail(e);
		goto done;
	}
	if (d->kind == SHADE_SHAPE_LIST || d->kind == SHADE_SHAPE_DICT) {
		rc = tree_container(o, r, d, indent);
		goto done;
	}
	print_shape(d, "");
	for (i = 0; i < d->n_members; i++) {
		const shade_member_desc *m = &d->members[i];
		shade_value *v = NULL;

		if (m->kind == SHADE_MEMBER_METHOD ||
		    m->kind == SHADE_MEMBER_ONEWAY) {
			printf("%s  %s()\n", indent, m->name);
			continue;
		}
		if (shade_getattr(tmp, r, m->name, &v, &e) != SHADE_OK) {
			printf("%s  %s = <%s: %s>\n", indent, m->name,
			       e->name, e->message);
			shade_error_free(e);
			e = NULL;
			continue;
		}
		if (shade_value_kind(v) == SHADE_REF && depth > 0) {
			printf("%s  %s = ", indent, m->name);
			fflush(stdout);
			tree_of(o, shade_value_as_ref(v), depth - 1, deeper);
			continue;
		}
		printf("%s  %s = %s\n", indent, m->name, one_line(o, tmp, v));
	}
done:
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

static int cmd_tree(const struct opts *o, shade_conn *c, const char *name)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_error *e = NULL;
	char **names = NULL;
	size_t n = 1, i;
	int rc = EXIT_OK;

	if (name == NULL &&
	    shade_names(tmp, c, &names, &n, &e) != SHADE_OK) {
		rc = fail(e);
		n = 0;
	}
	for (i = 0; i < n; i++) {
		shade_ref *r;
		const char *nm = name ? name : names[i];

		if (shade_lookup(c, nm, &r, &e) != SHADE_OK) {
			rc = fail(e);
			break;
		}
		printf("%s = ", nm);
		rc = tree_of(o, r, o->depth, "");
		shade_ref_release(r);
		if (rc != EXIT_OK)
			break;
	}
	shade_error_free(e);
	talloc_free(tmp);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { .timeout_ms = 10000, .depth = 2 };
	shade_conn_opts co = { .side = "shade" };
	shade_error *e = NULL;
	shade_conn *c = NULL;
	const char *addr, *cmd, *idl_path = NULL;
	int i = 1, rc;

	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--diag") == 0) {
			o.diag = true;
		} else if (strcmp(argv[i], "--idl") == 0 && i + 1 < argc) {
			idl_path = argv[++i];
		} else if (strcmp(argv[i], "--items") == 0) {
			o.items = true;
		} else if (strcmp(argv[i], "--diag-in") == 0) {
			o.diag_in = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			o.timeout_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "shade: usage: unknown option '%s'\n",
				argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - i == 3 && strcmp(argv[i], "monitor") == 0)
		return monitor_run(argv[i + 1], argv[i + 2]);
	if (argc - i < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	addr = argv[i++];
	cmd = argv[i++];
	if (strcmp(cmd, "tree") == 0 && i + 1 < argc &&
	    strcmp(argv[argc - 2], "--depth") == 0) {
		o.depth = atoi(argv[argc - 1]);
		argc -= 2;
	}
	if (!((strcmp(cmd, "ls") == 0 && argc == i) ||
	      (strcmp(cmd, "describe") == 0 && argc == i + 1) ||
	      (strcmp(cmd, "get") == 0 && argc == i + 1) ||
	      (strcmp(cmd, "set") == 0 && argc == i + 2) ||
	      (strcmp(cmd, "call") == 0 && argc >= i + 1) ||
	      (strcmp(cmd, "tree") == 0 && argc <= i + 1))) {
		fprintf(stderr, "shade: usage: bad command or arguments: %s\n",
			cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (idl_path != NULL &&
	    tool_idl_load(NULL, idl_path, &o.idl, &e) != SHADE_OK) {
		fprintf(stderr, "shade: usage: --idl %s\n", e->message);
		shade_error_free(e);
		return EXIT_USAGE;
	}
	co.timeout_ms = o.timeout_ms;
	if (shade_connect(NULL, addr, &co, &c, &e) != SHADE_OK) {
		fprintf(stderr, "shade: %s: %s\n", e ? e->name : "IOError",
			e ? e->message : "cannot connect");
		shade_error_free(e);
		talloc_free(o.idl);
		return EXIT_CONN;
	}
	if (strcmp(cmd, "ls") == 0)
		rc = cmd_ls(c);
	else if (strcmp(cmd, "describe") == 0)
		rc = cmd_describe(&o, c, argv[i]);
	else if (strcmp(cmd, "get") == 0)
		rc = cmd_get(&o, c, argv[i]);
	else if (strcmp(cmd, "set") == 0)
		rc = cmd_set(&o, c, argv[i], argv[i + 1]);
	else if (strcmp(cmd, "call") == 0)
		rc = cmd_call(&o, c, argv[i], argc - i - 1, argv + i + 1);
	else
		rc = cmd_tree(&o, c, i < argc ? argv[i] : NULL);
	talloc_free(c);
	talloc_free(o.idl);
	return rc;
}
