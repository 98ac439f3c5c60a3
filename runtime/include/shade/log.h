/*
 * shade/log.h - tracing: what the runtime reports, and where it goes
 * (doc/api.md §12 "Tracing").
 *
 * The runtime reports events in three categories, each with a level
 * (0 off, 1, 2, 3 more detail):
 *
 *   errors     1: a handler failed or a request was refused (the error
 *                 sent back), a limit was hit, a connection was dropped
 *                 for a reason other than an orderly close
 *   messages   1: one line per frame sent or received (opcode, id, size)
 *              2: the same with the frame in hexadecimal
 *   lifetimes  1: connections opened and closed
 *
 * Off by default: nothing is formatted and the only cost on a call is
 * one predictable branch.  Two ways to turn it on:
 *
 *   - the SHADE_TRACE environment variable, read once when the first
 *     connection or server is made (or by shade_log_set): a comma
 *     separated list of CATEGORY[:LEVEL] ("errors,messages:2"; "all"
 *     names every category; the level defaults to 1); lines go to
 *     standard error as `shade[PID] CATEGORY: TEXT` unless a callback is
 *     set;
 *   - shade_log_set(fn, udata): lines go to fn.  When neither SHADE_TRACE
 *     nor shade_trace_set() chose levels, setting a callback turns on
 *     errors:1.
 *
 * Lines are one line of UTF-8 text without a newline, e.g.
 *   `server: refused INVOKE id 3 on calc.div: ZeroDivisionError: division by zero`
 * The callback may run on any thread that uses a connection, possibly
 * several at once; it must not call back into the connection that
 * reported the line.
 */
#ifndef SHADE_LOG_H
#define SHADE_LOG_H

#include "shade/error.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The categories of events (stable numbers). */
typedef enum shade_log_category {
	SHADE_LOG_ERRORS = 0,    /* failures, refusals, limits, drops */
	SHADE_LOG_MESSAGES = 1,  /* every frame sent and received */
	SHADE_LOG_LIFETIMES = 2, /* connections opened and closed */
	SHADE_LOG_CATEGORIES_ = 3 /* number of categories */
} shade_log_category;

/* Receives one line: its category, the level it needs and the text
 * (borrowed for the call, no newline). */
typedef void (*shade_log_fn)(void *udata, shade_log_category cat, int level,
			     const char *line);

/* Send the lines to fn (NULL: back to standard error when SHADE_TRACE
 * chose levels, else off).  Reads SHADE_TRACE first if not yet done. */
SHADE_API void shade_log_set(shade_log_fn fn, void *udata);

/* Choose the levels from a spec in SHADE_TRACE's syntax ("" or "off":
 * everything off).  SHADE_ERR_INVALID naming the bad word, levels
 * unchanged, when the spec does not parse. */
SHADE_API shade_status shade_trace_set(const char *spec, shade_error **err);

/* The level of category cat now (0: off or no sink). */
SHADE_API int shade_log_level(shade_log_category cat);

/* The name of a category ("errors", "messages", "lifetimes"; "?" when out
 * of range). */
SHADE_API const char *shade_log_category_name(shade_log_category cat);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_LOG_H */
