/*
 * idlc/gen/tmpl.h - the template language of shade-idlc.
 *
 * A template is text with tags:
 *
 *     {{name}}                 the string value `name`
 *     {{#each list}}...{{/each}}   repeat for every item of a list; inside,
 *                              names are looked up in the item first,
 *                              then outwards; {{@index}}, {{@first}},
 *                              {{@last}} describe the loop
 *     {{#if name}}...{{else}}...{{/if}}      a true value: true, a
 *     {{#unless name}}...{{/unless}}          non-empty string or list
 *     {{! comment }}
 *
 * A line that holds only a block tag or a comment disappears from the
 * output, so templates can be indented and commented freely.  An unknown
 * name is an error (a template typo never produces silent output).
 *
 * Values (idlc_tv) are strings, booleans, lists and objects (string keys
 * in insertion order), allocated in an arena; the generators build one
 * tree per output file.
 */
#ifndef IDLC_TMPL_H
#define IDLC_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <talloc.h>

#include "base/arena.h"
#include "base/comp.h"

/* A template value. */
typedef struct idlc_tv idlc_tv;

/* New empty object / list in arena `a` (NULL on out of memory).  Values
 * and their strings live as long as the arena. */
idlc_tv *idlc_tv_obj(idlc_arena *a);
idlc_tv *idlc_tv_list(idlc_arena *a);

/* Set obj[key] to v.  Returns 0 or -1. */
int idlc_tv_set(idlc_tv *obj, const char *key, idlc_tv *v);

/* Set obj[key] to a formatted string.  Returns 0 or -1. */
int idlc_tv_set_str(idlc_tv *obj, const char *key, const char *fmt, ...)
	IDLC_PRINTF(3, 4);

/* Set obj[key] to a boolean.  Returns 0 or -1. */
int idlc_tv_set_bool(idlc_tv *obj, const char *key, bool b);

/* Append v to a list.  Returns 0 or -1. */
int idlc_tv_push(idlc_tv *list, idlc_tv *v);

/* Number of items of a list (0 for other values). */
size_t idlc_tv_len(const idlc_tv *list);

/* Render template `text` (named `name` in messages) with `root`.  On
 * success *out is a new string on mem_ctx and 0 is returned; otherwise
 * -1 and *errmsg (on mem_ctx) says "name:line: what went wrong". */
int idlc_tmpl_render(TALLOC_CTX *mem_ctx, const char *name, const char *text,
		     const idlc_tv *root, char **out, char **errmsg);

/* Same, writing to stream f instead of a string. */
int idlc_tmpl_render_file(TALLOC_CTX *mem_ctx, FILE *f, const char *name,
			  const char *text, const idlc_tv *root,
			  char **errmsg);

#endif /* IDLC_TMPL_H */
