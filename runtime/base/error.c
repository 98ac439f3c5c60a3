/*
 * error.c - the status registry and error objects.
 *
 * Invariant: the registry table is indexed by -code and lists every code
 * from SHADE_OK down to SHADE_STATUS_MIN_ + 1, in order.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "shade/error.h"
#include "base/misuse_int.h"

struct registry_entry {
	const char *name;        /* stable wire name */
	shade_category category; /* what a caller may do */
};

static const struct registry_entry registry[] = {
	{ "Ok", SHADE_CAT_FAILED },
	{ "MemoryError", SHADE_CAT_OVERLOADED },
	{ "InvalidArgument", SHADE_CAT_FAILED },
	{ "ProtocolError", SHADE_CAT_FAILED },
	{ "Truncated", SHADE_CAT_FAILED },
	{ "Malformed", SHADE_CAT_FAILED },
	{ "BadUtf8", SHADE_CAT_FAILED },
	{ "TooDeep", SHADE_CAT_FAILED },
	{ "LimitExceeded", SHADE_CAT_OVERLOADED },
	{ "IOError", SHADE_CAT_DISCONNECTED },
	{ "ConnectionLost", SHADE_CAT_DISCONNECTED },
	{ "Timeout", SHADE_CAT_OVERLOADED },
	{ "Cancelled", SHADE_CAT_FAILED },
	{ "NotFound", SHADE_CAT_FAILED },
	{ "KeyError", SHADE_CAT_FAILED },
	{ "IndexError", SHADE_CAT_FAILED },
	{ "ValueError", SHADE_CAT_FAILED },
	{ "TypeError", SHADE_CAT_FAILED },
	{ "AttributeError", SHADE_CAT_FAILED },
	{ "ZeroDivisionError", SHADE_CAT_FAILED },
	{ "PermissionDenied", SHADE_CAT_FAILED },
	{ "Unimplemented", SHADE_CAT_UNIMPLEMENTED },
	{ "Overloaded", SHADE_CAT_OVERLOADED },
	{ "RemoteError", SHADE_CAT_FAILED },
	{ "ChildError", SHADE_CAT_DISCONNECTED },
	{ "UserError", SHADE_CAT_FAILED },
	{ "RuntimeError", SHADE_CAT_FAILED },
	{ "OverflowError", SHADE_CAT_FAILED },
};

_Static_assert(sizeof(registry) / sizeof(registry[0]) == -SHADE_STATUS_MIN_,
	       "registry must list every status code");

static const struct registry_entry *lookup(shade_status code)
{
	if (code > 0 || code <= SHADE_STATUS_MIN_)
		return &registry[-SHADE_ERR_RUNTIME];
	return &registry[-code];
}

const char *shade_status_name(shade_status code)
{
	return lookup(code)->name;
}

shade_category shade_status_category(shade_status code)
{
	return lookup(code)->category;
}

shade_status shade_status_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return SHADE_ERR_REMOTE;
	for (i = 1; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i].name, name) == 0)
			return (shade_status)-(int)i;
	return SHADE_ERR_REMOTE;
}

const char *shade_category_name(shade_category cat)
{
	switch (cat) {
	case SHADE_CAT_FAILED: return "failed";
	case SHADE_CAT_OVERLOADED: return "overloaded";
	case SHADE_CAT_DISCONNECTED: return "disconnected";
	case SHADE_CAT_UNIMPLEMENTED: return "unimplemented";
	}
	return "failed";
}

static shade_status set_va(shade_error **err, shade_status code,
			   const char *name, const char *fmt, va_list ap)
{
	shade_error *e;

	if (err == NULL || *err != NULL)
		return code;
	e = talloc_zero(NULL, shade_error);
	if (e == NULL)
		return code;
	e->code = code;
	e->category = shade_status_category(code);
	e->name = talloc_strdup(e, name ? name : shade_status_name(code));
	e->message = talloc_vasprintf(e, fmt, ap);
	if (e->name == NULL || e->message == NULL) {
		talloc_free(e);
		return code;
	}
	*err = e;
	return code;
}

shade_status shade_error_set(shade_error **err, shade_status code,
			     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_va(err, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

shade_status shade_error_set_named(shade_error **err, shade_status code,
				   const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_va(err, code, name, fmt, ap);
	va_end(ap);
	return code;
}

shade_status shade_error_push_site(shade_error *e, const char *function,
				   const char *file, unsigned line)
{
	shade_error_site *sites, *st;

	if (e == NULL)
		return SHADE_ERR_INVALID;
	sites = talloc_realloc(e, e->sites, shade_error_site,
			       e->sites_len + 1);
	if (sites == NULL)
		return SHADE_ERR_NOMEM;
	e->sites = sites;
	st = &sites[e->sites_len];
	st->function = talloc_strdup(sites, function ? function : "");
	st->file = talloc_strdup(sites, file ? file : "");
	st->line = line;
	st->values = NULL;
	if (st->function == NULL || st->file == NULL) {
		talloc_free(st->function);
		talloc_free(st->file);
		return SHADE_ERR_NOMEM;
	}
	e->sites_len++;
	return SHADE_OK;
}

shade_status shade_error_raise(shade_error **err, shade_status code,
			       const char *function, const char *file,
			       unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_va(err, code, NULL, fmt, ap);
	va_end(ap);
	/* A site of the error already set too: the raise passed it on. */
	if (err != NULL && *err != NULL)
		shade_error_push_site(*err, function, file, line);
	return code;
}

shade_status shade_error_set_user(shade_error **err, const char *name,
				  int64_t user_code, const char *fmt, ...)
{
	va_list ap;
	bool fresh = err != NULL && *err == NULL;

	va_start(ap, fmt);
	set_va(err, SHADE_ERR_USER, name, fmt, ap);
	va_end(ap);
	if (fresh && *err != NULL)
		(*err)->user_code = user_code;
	return SHADE_ERR_USER;
}

shade_status shade_error_push_frame(shade_error *e, const char *side,
				    const char *type, const char *member)
{
	shade_error_frame *chain, *f;

	chain = talloc_realloc(e, e->chain, shade_error_frame,
			       e->chain_len + 1);
	if (chain == NULL)
		return SHADE_ERR_NOMEM;
	e->chain = chain;
	f = &chain[e->chain_len];
	f->side = talloc_strdup(chain, side ? side : "");
	f->type = talloc_strdup(chain, type ? type : "");
	f->member = talloc_strdup(chain, member ? member : "");
	if (f->side == NULL || f->type == NULL || f->member == NULL) {
		talloc_free(f->side);
		talloc_free(f->type);
		talloc_free(f->member);
		return SHADE_ERR_NOMEM;
	}
	e->chain_len++;
	return SHADE_OK;
}

void shade_error_free(shade_error *e)
{
	talloc_free(e);
}

void shade_error_clear(shade_error **err)
{
	if (err != NULL) {
		talloc_free(*err);
		*err = NULL;
	}
}

shade_status misuse(shade_error **err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
#ifdef SHADE_DEBUG
	fprintf(stderr, "shade: misuse: %s\n", msg);
	abort();
#endif
	return shade_error_set(err, SHADE_ERR_INVALID, "%s", msg);
}
