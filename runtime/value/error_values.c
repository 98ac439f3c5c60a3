/*
 * error_values.c - the parts of an error object that hold or print
 * values: the values a handler attaches to a site of its error
 * (shade_error_attach) and the description of an error with its
 * arguments, user code, chain and sites (shade_error_describe).
 */
#include <inttypes.h>
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

shade_status shade_error_attach(shade_error **err, const char *name,
				const shade_value *v)
{
	shade_error *e;
	shade_error_site *site;
	shade_value none = shade_value_none();

	if (err == NULL || *err == NULL || name == NULL)
		return SHADE_ERR_INVALID;
	e = *err;
	if (e->sites_len == 0 &&
	    shade_error_push_site(e, "", "", 0) != SHADE_OK)
		return SHADE_ERR_NOMEM;
	site = &e->sites[e->sites_len - 1];
	if (site->values == NULL) {
		site->values = shade_dict_new(e->sites, 4);
		if (site->values == NULL)
			return SHADE_ERR_NOMEM;
	}
	/* a failure here leaves the error as it was */
	return shade_dict_set_str(site->values, name, v ? v : &none, NULL);
}

/* Append " name=value, ..." for the values of one site. */
static char *put_values(char *s, const shade_value *values)
{
	const shade_value *k, *v;
	size_t pos = 0;
	char *text;

	size_t len;
	const char *key;

	while (s != NULL && shade_dict_next(values, &pos, &k, &v)) {
		key = shade_value_as_str(k, &len);
		text = shade_value_diag(s, v);
		s = talloc_asprintf_append(s, "\n      %.*s = %s", (int)len,
					   key, text ? text : "?");
		talloc_free(text);
	}
	return s;
}

char *shade_error_describe(void *mem_ctx, const shade_error *e)
{
	char *s, *args;
	size_t i;

	if (e == NULL)
		return talloc_strdup(mem_ctx, "no error (NULL error object)");
	s = talloc_asprintf(mem_ctx, "%s: %s [%s]", e->name, e->message,
			    shade_category_name(e->category));
	if (s != NULL && e->args != NULL && shade_seq_len(e->args) > 0) {
		/* a declared exception's fields, in order */
		shade_value t = *e->args;

		t.tag = SHADE_TUPLE;
		args = shade_value_diag(s, &t);
		s = talloc_asprintf_append(s, "\n  fields %s",
					   args ? args : "?");
	}
	if (s != NULL && e->user_code != 0)
		s = talloc_asprintf_append(s, "\n  user code %" PRId64,
					   e->user_code);
	for (i = 0; s != NULL && i < e->chain_len; i++) {
		const shade_error_frame *f = &e->chain[i];

		/* " in type.member", " in type", " in member" or nothing */
		s = talloc_asprintf_append(s, "\n  raised at %s%s%s%s%s",
					   f->side,
					   f->type[0] || f->member[0] ? " in " : "",
					   f->type,
					   f->type[0] && f->member[0] ? "." : "",
					   f->member);
	}
	for (i = 0; s != NULL && i < e->sites_len; i++) {
		const shade_error_site *st = &e->sites[i];

		s = talloc_asprintf_append(s, "\n    at %s (%s:%u)",
					   st->function[0] ? st->function
							   : "?",
					   st->file, st->line);
		if (s != NULL && st->values != NULL)
			s = put_values(s, st->values);
	}
	if (s != NULL && e->traceback != NULL)
		s = talloc_asprintf_append(s, "\n  remote traceback available");
	return s;
}
