/*
 * traceback.c - a post-mortem traceback as objects a peer can walk:
 * a list shared by reference (shape builtins.list) of `shade.Frame`
 * objects, innermost first, each with the readonly attributes function,
 * file, line, side, type, member and values (a dict shared by
 * reference: the values the code attached to that site): a frame for
 * each hop the error crossed before this peer (from its chain, without
 * a place), then one per site of this peer (or one for its hop).  Nothing is
 * copied to the peer until it reads it (doc/api.md "Post-mortem").
 */
#include <string.h>

#include <talloc.h>

#include "shade/object.h"
#include "shade/value.h"
#include "object/object_int.h"

/* Add a readonly attribute holding v (taken: freed here). */
static shade_status add_ro(shade_ref *f, const char *name, shade_value *v,
			   shade_error **err)
{
	shade_status st;

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shade_object_add_attr(f, name, v, true, err);
	talloc_free(v);
	return st;
}

/* One frame object: where (function, file, line), on which hop (side,
 * type, member), and a shared dict of the values attached (a copy of
 * `values`, or empty). */
static shade_status frame_new(const char *function, const char *file,
			      unsigned line, const char *side,
			      const char *type, const char *member,
			      const shade_value *values, shade_ref **out,
			      shade_error **err)
{
	shade_ref *f = NULL, *dict = NULL;
	shade_value *d;
	shade_status st;

	d = values ? shade_value_copy(NULL, values) : shade_dict_new(NULL, 0);
	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shade_container_new(d, &dict, err);
	if (st != SHADE_OK) {
		talloc_free(d);
		return st;
	}
	st = shade_object_new("shade.Frame", NULL, &f, err);
	if (st == SHADE_OK)
		st = add_ro(f, "function", shade_str(NULL, function), err);
	if (st == SHADE_OK)
		st = add_ro(f, "file", shade_str(NULL, file), err);
	if (st == SHADE_OK)
		st = add_ro(f, "line", shade_int(NULL, (int64_t)line), err);
	if (st == SHADE_OK)
		st = add_ro(f, "side", shade_str(NULL, side), err);
	if (st == SHADE_OK)
		st = add_ro(f, "type", shade_str(NULL, type), err);
	if (st == SHADE_OK)
		st = add_ro(f, "member", shade_str(NULL, member), err);
	if (st == SHADE_OK)
		st = add_ro(f, "values", shade_ref_value(NULL, dict), err);
	shade_ref_release(dict);
	if (st != SHADE_OK) {
		shade_ref_release(f);
		return st;
	}
	*out = f;
	return SHADE_OK;
}

/* Append a frame of those arguments to list. */
static shade_status append_frame(shade_value *list, const char *function,
				 const char *file, unsigned line,
				 const char *side, const char *type,
				 const char *member, const shade_value *values,
				 shade_error **err)
{
	shade_ref *f = NULL;

	SHADE_CHECK(frame_new(function, file, line, side, type, member, values,
			      &f, err));
	return shade_seq_append_take(list, shade_ref_value_take(NULL, f), err);
}

shade_status obj_traceback_new(const shade_error *e, const char *side,
			       const char *type, const char *member,
			       shade_ref **out, shade_error **err)
{
	shade_value *list = shade_list_new(NULL, e->sites_len + e->chain_len);
	shade_ref *tb = NULL;
	shade_status st = SHADE_OK;
	size_t i;

	if (list == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	/* The hops the error crossed before this one (a relayed error):
	 * a frame each, named by its chain entry (the last entry is this
	 * hop's own). */
	for (i = 0; st == SHADE_OK && i + 1 < e->chain_len; i++) {
		const shade_error_frame *h = &e->chain[i];

		st = append_frame(list, h->member, "", 0, h->side, h->type,
				  h->member, NULL, err);
	}
	for (i = 0; st == SHADE_OK && i < e->sites_len; i++) {
		const shade_error_site *s = &e->sites[i];

		st = append_frame(list, s->function, s->file, s->line, side,
				  type, member, s->values, err);
	}
	/* Raised here without a site: the hop itself is this hop's frame. */
	if (st == SHADE_OK && e->sites_len == 0)
		st = append_frame(list, member, "", 0, side, type, member,
				  NULL, err);
	if (st == SHADE_OK)
		st = shade_container_new(list, &tb, err);
	if (st != SHADE_OK) {
		talloc_free(list);
		return st;
	}
	*out = tb;
	return SHADE_OK;
}
