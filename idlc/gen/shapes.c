/*
 * idlc/gen/shapes.c - shape descriptors of interfaces: ancestors,
 * members in index order with their signatures, and the fingerprint,
 * computed by the runtime's own shape code (runtime/shape.c) from the
 * same descriptor the generated code holds.
 */
#include <string.h>

#include "gen/gen_int.h"

/* IDL spelling of a type for shape signatures: typedefs resolved,
 * declared types by their dotted qualified name. */
static char *sig_type(gen *g, const idlc_type *t)
{
	char *e;

	t = idlc_type_unalias(t);
	switch (t->kind) {
	case IDLC_T_SEQUENCE:
		e = sig_type(g, t->elem);
		if (t->bound)
			return idlc_arena_printf(g->a, "sequence<%s,%llu>", e,
					       (unsigned long long)t->bound);
		return idlc_arena_printf(g->a, "sequence<%s>", e);
	case IDLC_T_ARRAY:
		return idlc_arena_printf(g->a, "%s[%llu]",
				       sig_type(g, t->elem),
				       (unsigned long long)t->bound);
	case IDLC_T_NAMED:
		return idlc_gen_dotted_name(g, idlc_gen_defn(t->ref));
	default:
		return idlc_type_name(g->tmp, t);
	}
}

/* Signature of an operation: "(in T,out U)->R". */
static char *sig_op(gen *g, const idlc_node *op)
{
	static const char *const dirs[] = { "", "in", "out", "inout" };
	char *s = idlc_arena_printf(g->a, "%s", "(");
	const idlc_node *q;

	for (q = op->children; s && q; q = q->next)
		s = idlc_arena_append(g->a, s, "%s%s %s", q == op->children ?
					   "" : ",", dirs[q->dir],
					   sig_type(g, q->type));
	return s ? idlc_arena_append(g->a, s, ")->%s", sig_type(g, op->type))
		 : NULL;
}

/* Append the fields of struct st (its base's first) to *out as shape
 * members "{ name, SHADE_MEMBER_READONLY, sig, NULL }"; *n counts them. */
static int field_members(gen *g, const idlc_node *st, char **out, size_t *n,
			 int depth)
{
	const idlc_node *m;

	if (depth > 64)
		return -1;
	if (st->n_bases > 0 &&
	    field_members(g, idlc_gen_defn(st->base_nodes[0]), out, n,
			  depth + 1) < 0)
		return -1;
	for (m = st->children; m; m = m->next) {
		if (m->kind != IDLC_MEMBER)
			continue;
		*out = idlc_arena_append(g->a, *out, "\t{ \"%s\", "
					 "SHADE_MEMBER_READONLY, \"%s\", NULL "
					 "},\n", m->name, sig_type(g, m->type));
		if (*out == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

/* The shape of struct st shared by reference; see gen_int.h. */
char *idlc_gen_fields_shape(gen *g, const idlc_node *st)
{
	char *members = idlc_arena_printf(g->a, "%s", "");
	size_t n = 0;

	if (members == NULL || field_members(g, st, &members, &n, 0) < 0)
		return NULL;
	return idlc_arena_printf(g->a, "static const shade_member_desc "
		"idl_fields[] = {\n%s};\nstatic const shade_shape_desc idl_shape "
		"= {\n\tSHADE_SHAPE_OBJECT, \"%s\", NULL, 0, idl_fields, %zu, 0, "
		"NULL\n};\n", members, idlc_gen_dotted_name(g, st), n);
}

/* ---------------------------------------------------------------- shapes */

/* A doc comment as the descriptor holds it (the fingerprint covers it):
 * NULL for none. */
static const char *raw_doc(const char *doc)
{
	return doc != NULL && *doc != '\0' ? doc : NULL;
}

/* A descriptor's doc field: the IDL doc comment as a C string literal,
 * or "NULL" when there is none; NULL when out of memory. */
static const char *doc_string(gen *g, const char *doc)
{
	if (doc == NULL || *doc == '\0')
		return "NULL";
	return idlc_gen_c_string(g, doc, strlen(doc));
}

/* Collect ancestors nearest first (breadth first, no duplicates). */
static size_t collect_bases(const idlc_node *n, const idlc_node **out,
			    size_t max)
{
	size_t count = 0, head = 0, i, j;

	for (i = 0; i < n->n_bases && count < max; i++)
		out[count++] = n->base_nodes[i];
	while (head < count) {
		const idlc_node *b = out[head++];
		for (i = 0; i < b->n_bases; i++) {
			for (j = 0; j < count; j++)
				if (out[j] == b->base_nodes[i])
					break;
			if (j == count && count < max)
				out[count++] = b->base_nodes[i];
		}
	}
	return count;
}

/* Add the members of n (own ones, after those of its bases, depth
 * first) that are not there yet. */
static void collect_members(gen *g, const idlc_node *n, smember *out,
			    size_t *count, size_t max,
			    const idlc_node **seen, size_t *n_seen)
{
	const idlc_node *m;
	size_t i;

	for (i = 0; i < *n_seen; i++)
		if (seen[i] == n)
			return;
	seen[(*n_seen)++] = n; /* room for n and every ancestor */
	for (i = 0; i < n->n_bases; i++)
		collect_members(g, n->base_nodes[i], out, count, max, seen,
				n_seen);
	for (m = n->children; m && *count < max; m = m->next) {
		smember *s = &out[*count];
		if (m->kind == IDLC_ATTRIBUTE) {
			s->kind = (m->flags & IDLC_F_READONLY) ?
				  SHADE_MEMBER_READONLY : SHADE_MEMBER_ATTR;
			s->sig = sig_type(g, m->type);
		} else if (m->kind == IDLC_OPERATION) {
			s->kind = (m->flags & IDLC_F_ONEWAY) ?
				  SHADE_MEMBER_ONEWAY : SHADE_MEMBER_METHOD;
			s->sig = sig_op(g, m);
		} else {
			continue;
		}
		s->name = m->name;
		s->node = m;
		(*count)++;
	}
}

/* Shape descriptor of an interface; see gen_int.h. */
int idlc_gen_shape(gen *g, const idlc_node *n, idlc_tv *o, smember **out,
		   size_t *out_n)
{
	static const char *const kinds[] = {
		[SHADE_MEMBER_ATTR] = "SHADE_MEMBER_ATTR",
		[SHADE_MEMBER_READONLY] = "SHADE_MEMBER_READONLY",
		[SHADE_MEMBER_METHOD] = "SHADE_MEMBER_METHOD",
		[SHADE_MEMBER_ONEWAY] = "SHADE_MEMBER_ONEWAY" };
	const idlc_node **bases = NULL, **seen;
	const char **base_names;
	smember *members;
	shade_member_desc *md;
	shade_shape_desc d = { .kind = SHADE_SHAPE_OBJECT };
	size_t nb, nm = 0, n_seen = 0, i, cap = 64, max_members;
	idlc_tv *bl = idlc_tv_list(g->a), *ml = idlc_tv_list(g->a);
	char *qname = idlc_gen_dotted_name(g, n);
	uint64_t fp = 0;
	const idlc_node *c;
	const char *doc;

	if (bl == NULL || ml == NULL || qname == NULL)
		return -1;
	/* every ancestor, however many: grow until they fit */
	for (;;) {
		bases = talloc_realloc(g->tmp, bases, const idlc_node *, cap);
		if (bases == NULL)
			return -1;
		nb = collect_bases(n, bases, cap);
		if (nb < cap)
			break;
		cap *= 2;
	}
	/* every member of n and its ancestors, however many */
	max_members = 0;
	for (i = 0; i <= nb; i++)
		for (c = (i < nb ? bases[i] : n)->children; c; c = c->next)
			max_members++;
	seen = talloc_array(g->tmp, const idlc_node *, nb + 1);
	base_names = talloc_array(g->tmp, const char *, nb + 1);
	members = talloc_array(g->tmp, smember, max_members + 1);
	md = talloc_array(g->tmp, shade_member_desc, max_members + 1);
	if (seen == NULL || base_names == NULL || members == NULL ||
	    md == NULL)
		return -1;
	collect_members(g, n, members, &nm, max_members, seen, &n_seen);
	for (i = 0; i < nb; i++) {
		idlc_tv *b = idlc_tv_obj(g->a);
		base_names[i] = idlc_gen_dotted_name(g, bases[i]);
		if (b == NULL || base_names[i] == NULL)
			return -1;
		G(idlc_tv_set_str(b, "qname", "%s", base_names[i]));
		G(idlc_tv_push(bl, b));
	}
	for (i = 0; i < nm; i++) {
		idlc_tv *m = idlc_tv_obj(g->a);
		md[i].name = members[i].name;
		md[i].kind = members[i].kind;
		md[i].signature = members[i].sig;
		md[i].doc = raw_doc(members[i].node->doc);
		if (m == NULL || members[i].sig == NULL)
			return -1;
		G(idlc_tv_set_str(m, "name", "%s", members[i].name));
		G(idlc_tv_set_str(m, "kind", "%s", kinds[members[i].kind]));
		G(idlc_tv_set_str(m, "sig", "%s", members[i].sig));
		G(idlc_tv_set_str(m, "index", "%zu", i));
		doc = doc_string(g, members[i].node->doc);
		if (doc == NULL)
			return -1;
		G(idlc_tv_set_str(m, "doc", "%s", doc));
		G(idlc_tv_push(ml, m));
	}
	d.name = qname;
	d.bases = base_names;
	d.n_bases = nb;
	d.members = md;
	d.n_members = nm;
	d.doc = raw_doc(n->doc);
	if (shade_shape_fingerprint(&d, &fp, NULL) != SHADE_OK) {
		idlc_error(g->comp, &n->name_loc, "interface '%s': no shape "
			   "fingerprint (a name is not UTF-8?)", qname);
		return -1;
	}
	G(idlc_tv_set_str(o, "qname", "%s", qname));
	if ((doc = doc_string(g, n->doc)) == NULL)
		return -1;
	G(idlc_tv_set_str(o, "shape_doc", "%s", doc));
	G(idlc_tv_set(o, "bases", bl));
	G(idlc_tv_set_str(o, "n_bases", "%zu", nb));
	G(idlc_tv_set(o, "shape_members", ml));
	G(idlc_tv_set_str(o, "n_members", "%zu", nm));
	G(idlc_tv_set_str(o, "fingerprint", "0x%016llx",
			  (unsigned long long)fp));
	talloc_free(md);
	talloc_free(seen);
	talloc_free(bases);
	*out = members;
	*out_n = nm;
	return 0;
fail:
	return -1;
}

