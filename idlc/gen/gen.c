/*
 * idlc/gen/gen.c - code generation, the driver: the checked tree
 * becomes a tree of template values (the C mapping is decided by the
 * files listed in gen_int.h), which the templates lay out as FILE.h and
 * FILE.c.  See doc/idl.md for the mapping.
 *
 * Only the declarations of the main file are generated; declarations of
 * included files come from their own generated headers, which the output
 * includes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "gen/gen.h"
#include "gen/gen_int.h"

static int gen_decl(gen *g, const idlc_node *n);

/* Mark with "base NAME" every interface generated here that an
 * interface generated here inherits (they come first in the file): their
 * operations are shared with the interfaces that inherit them.  Returns
 * 0 or -1. */
static int mark_bases(gen *g, const idlc_node *n)
{
	const idlc_node *m;
	size_t i;

	if (n->kind == IDLC_MODULE) {
		for (m = n->children; m; m = m->next)
			if (mark_bases(g, m) < 0)
				return -1;
		return 0;
	}
	if (n->kind != IDLC_INTERFACE)
		return 0;
	if (idlc_gen_once(g, idlc_arena_printf(g->a, "here %s",
					       idlc_gen_c_name(g, n))) < 0)
		return -1;
	for (i = 0; i < n->n_bases; i++) {
		const char *b = idlc_gen_c_name(g, n->base_nodes[i]);
		const char *here = idlc_arena_printf(g->a, "here %s", b);
		const char *base = idlc_arena_printf(g->a, "base %s", b);
		if (here == NULL || base == NULL)
			return -1;
		if (idlc_gen_has(g, here) && idlc_gen_once(g, base) < 0)
			return -1;
	}
	return 0;
}

/* interface: typed reference type, nested declarations, shape, client
 * and server functions. */
static int gen_interface(gen *g, const idlc_node *n)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *o, *functions = idlc_tv_list(g->a);
	const idlc_node *m;
	smember *members;
	size_t nm;

	if (name == NULL || functions == NULL ||
	    idlc_gen_forward(g, name) < 0)
		return -1;
	for (m = n->children; m; m = m->next)
		if (gen_decl(g, m) < 0)
			return -1;
	/* a local interface is implemented and used in one process: no
	 * shape, no stubs, direct calls (locals.c) */
	if (n->flags & IDLC_F_LOCAL)
		return idlc_gen_local_iface(g, n);
	idlc_gen_check_remote(g, n);
	o = idlc_gen_decl_obj(g, "is_interface", name, n->doc);
	if (o == NULL || idlc_gen_shape(g, n, o, &members, &nm) < 0 ||
	    idlc_gen_stubs(g, n, members, nm, o, functions) < 0 ||
	    idlc_gen_skels(g, n, members, nm, o, functions) < 0)
		return -1;
	talloc_free(members);
	G(idlc_tv_set_str(o, "map_size", "%zu", nm ? nm : 1));
	G(idlc_tv_set(o, "functions", functions));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* exception: its struct, and raise/catch helpers when its fields have
 * a typed form. */
static int gen_exception(gen *g, const idlc_node *n)
{
	idlc_tv *o, *functions = idlc_tv_list(g->a);

	if (functions == NULL || idlc_gen_type(g, n, &o) < 0 ||
	    idlc_gen_exception(g, n, functions) < 0)
		return -1;
	G(idlc_tv_set_bool(o, "has_helpers", idlc_tv_len(functions) > 0));
	G(idlc_tv_set(o, "functions", functions));
	return 0;
fail:
	return -1;
}

/* Generate one declaration (and what it contains). */
static int gen_decl(gen *g, const idlc_node *n)
{
	const idlc_node *m;

	if (idlc_gen_has_repo_macro(n)) {
		/* C_REPO_ID: its repository id, before its declaration */
		idlc_tv *o = idlc_gen_decl_obj(g, "is_const",
			idlc_arena_printf(g->a, "%s_REPO_ID",
					  idlc_gen_c_name(g, n)), NULL);
		if (o == NULL || idlc_tv_set_str(o, "value", "%s",
				idlc_gen_c_string(g, n->repo_id,
						  strlen(n->repo_id))) < 0 ||
		    idlc_tv_push(g->decls, o) < 0)
			return -1;
	}
	switch (n->kind) {
	case IDLC_MODULE:
		for (m = n->children; m; m = m->next)
			if (gen_decl(g, m) < 0)
				return -1;
		return 0;
	case IDLC_EXCEPTION:
		return gen_exception(g, n);
	case IDLC_INTERFACE:
		return gen_interface(g, n);
	case IDLC_VALUETYPE:
		return idlc_gen_type(g, n, NULL) < 0 ? -1 :
		       idlc_gen_value(g, n);
	case IDLC_INTERFACE_FWD:
		return n->definition ? 0 :
		       idlc_gen_forward(g, idlc_gen_c_name(g, n));
	default:
		return idlc_gen_type(g, n, NULL);
	}
}

/* ---------------------------------------------------------------- files */

/* Built-in templates (generated from templates/ at build time). */
typedef struct idlc_builtin_template {
	const char *name;          /* file name in templates/ */
	const char *const *lines;  /* its lines, NULL-terminated */
} idlc_builtin_template;
extern const idlc_builtin_template idlc_builtin_templates[];

/* Text of template `name`: from dir when given, else built in. */
static char *template_text(gen *g, const char *dir, const char *name)
{
	char *text = NULL;
	size_t i, j;

	if (dir != NULL) {
		char *path = idlc_arena_printf(g->a, "%s/%s", dir, name);
		size_t len;
		if (path == NULL ||
		    idlc_read_file(g->tmp, path, &text, &len) < 0) {
			idlc_error(g->comp, NULL, "cannot read template '%s': "
				   "%s", path ? path : name, strerror(errno));
			return NULL;
		}
		return text;
	}
	for (i = 0; idlc_builtin_templates[i].name; i++) {
		if (strcmp(idlc_builtin_templates[i].name, name) != 0)
			continue;
		size_t len = 0, l;
		for (j = 0; idlc_builtin_templates[i].lines[j]; j++)
			len += strlen(idlc_builtin_templates[i].lines[j]);
		text = idlc_arena_alloc(g->a, len + 1);
		if (text == NULL)
			return NULL;
		for (len = 0, j = 0; idlc_builtin_templates[i].lines[j]; j++) {
			l = strlen(idlc_builtin_templates[i].lines[j]);
			memcpy(text + len, idlc_builtin_templates[i].lines[j], l);
			len += l;
		}
		text[len] = '\0';
		return text;
	}
	idlc_error(g->comp, NULL, "no built-in template '%s'", name);
	return NULL;
}

/* Base name of a path without directory and extension. */
static char *base_name(TALLOC_CTX *ctx, const char *path)
{
	const char *s = strrchr(path, '/'), *dot;

	s = s ? s + 1 : path;
	dot = strrchr(s, '.');
	return talloc_strndup(ctx, s, dot ? (size_t)(dot - s) : strlen(s));
}

/* The root value of the templates for comp's main file. */
static idlc_tv *build_model(gen *g)
{
	idlc_tv *root = idlc_tv_obj(g->a), *incs = idlc_tv_list(g->a);
	char *base = base_name(g->tmp, g->comp->main_file), *guard;
	const idlc_dep *d;
	const idlc_node *n;

	g->forwards = idlc_tv_list(g->a);
	g->decls = idlc_tv_list(g->a);
	g->codecs = idlc_tv_list(g->a);
	if (!root || !incs || !base || !g->forwards || !g->decls ||
	    !g->codecs)
		return NULL;
	guard = idlc_gen_guard(g, base);
	for (d = g->comp->deps ? g->comp->deps->next : NULL; d; d = d->next) {
		idlc_tv *i = idlc_tv_obj(g->a);
		if (i == NULL)
			return NULL;
		G(idlc_tv_set_str(i, "header", "%s",
				  idlc_gen_include_name(g, d->file)));
		G(idlc_tv_push(incs, i));
	}
	for (n = g->comp->root->children; n; n = n->next)
		if (strcmp(n->loc.file, g->comp->main_file) == 0 &&
		    mark_bases(g, n) < 0)
			return NULL;
	for (n = g->comp->root->children; n; n = n->next)
		if (strcmp(n->loc.file, g->comp->main_file) == 0 &&
		    gen_decl(g, n) < 0)
			return NULL;
	G(idlc_tv_set_str(root, "source", "%s",
			  idlc_gen_comment_safe(g, g->comp->main_file)));
	G(idlc_tv_set_str(root, "base", "%s", base));
	G(idlc_tv_set_str(root, "guard", "%s", guard));
	G(idlc_tv_set_str(root, "version", "%s", IDLC_VERSION));
	G(idlc_tv_set(root, "includes", incs));
	G(idlc_tv_set(root, "forwards", g->forwards));
	G(idlc_tv_set(root, "decls", g->decls));
	G(idlc_tv_set(root, "codecs", g->codecs));
	return root;
fail:
	return NULL;
}

/* Render template `name` into *out, or, when f is not NULL, into f. */
static int render(gen *g, const char *dir, const char *name,
		  const idlc_tv *root, FILE *f, char **out)
{
	char *text = template_text(g, dir, name), *msg = NULL;
	int rc;

	if (text == NULL)
		return -1;
	rc = f ? idlc_tmpl_render_file(g->tmp, f, name, text, root, &msg)
	       : idlc_tmpl_render(g->tmp, name, text, root, out, &msg);
	if (rc < 0)
		idlc_error(g->comp, NULL, "template %s", msg ? msg : name);
	return rc;
}

/* Render both outputs into dir/base.h and dir/base.c, written together:
 * through temporary files renamed only when both are complete. */
static int write_outputs(gen *g, const char *dir, const char *tdir,
			 const idlc_tv *root)
{
	const char *base = base_name(g->tmp, g->comp->main_file);
	const char *ext[2] = { "h", "c" };
	const char *tmpl[2] = { "header.h.tmpl", "source.c.tmpl" };
	char *path[2], *tmp[2];
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		FILE *f;
		path[i] = talloc_asprintf(g->tmp, "%s/%s.%s", dir, base, ext[i]);
		tmp[i] = talloc_asprintf(g->tmp, "%s.tmp", path[i]);
		f = tmp[i] ? fopen(tmp[i], "wb") : NULL;
		if (f == NULL) {
			idlc_error(g->comp, NULL, "cannot write '%s': %s",
				   path[i] ? path[i] : base, strerror(errno));
			rc = -1;
			break;
		}
		setvbuf(f, NULL, _IOFBF, 1u << 16);
		if (render(g, tdir, tmpl[i], root, f, NULL) < 0)
			rc = -1;
		if (fclose(f) != 0 && rc == 0) {
			idlc_error(g->comp, NULL, "cannot write '%s': %s",
				   path[i], strerror(errno));
			rc = -1;
		}
		if (rc < 0) {
			i++;
			break;
		}
	}
	while (rc == 0 && i-- > 0)
		if (rename(tmp[i], path[i]) != 0) {
			idlc_error(g->comp, NULL, "cannot write '%s': %s",
				   path[i], strerror(errno));
			rc = -1;
		}
	if (rc < 0)
		while (i-- > 0)
			remove(tmp[i]);
	return rc;
}

/* Generate; see gen.h. */
int idlc_generate(idlc_compilation *comp, const char *out_dir,
		  const char *templates_dir)
{
	gen g = { .comp = comp };
	idlc_tv *root;
	char *h = NULL, *c = NULL;
	int rc = -1;

	if (comp->root == NULL || comp->n_errors)
		return -1;
	if (idlc_check_subset(comp) < 0)
		return -1;
	/* not under comp: the compilation lives in a talloc pool, which never
	 * reuses the space of what is freed or reallocated in it, and code
	 * generation frees and grows many buffers */
	g.tmp = talloc_new(NULL);
	g.a = g.tmp ? idlc_arena_new(g.tmp) : NULL;
	if (g.a == NULL) {
		talloc_free(g.tmp);
		return -1;
	}
	if (idlc_gen_check_names(&g) < 0)
		goto done;
	root = build_model(&g);
	if (root == NULL) {
		idlc_error(comp, NULL, "out of memory");
		goto done;
	}
	if (comp->n_errors) /* what cannot be generated, reported */
		goto done;
	if (out_dir != NULL) {
		rc = write_outputs(&g, out_dir, templates_dir, root);
		goto done;
	}
	if (render(&g, templates_dir, "header.h.tmpl", root, NULL, &h) < 0 ||
	    render(&g, templates_dir, "source.c.tmpl", root, NULL, &c) < 0)
		goto done;
	comp->out_h = talloc_steal(comp, h);
	comp->out_c = talloc_steal(comp, c);
	rc = 0;
done:
	talloc_free(g.tmp);
	return rc;
}
