/*
 * shade/error.h - status codes and error objects.
 *
 * Every fallible shade function returns a shade_status (SHADE_OK, or a
 * negative code) and, when the caller passes a non-NULL `shade_error **err`,
 * fills *err with an error object that says what went wrong.  Codes are
 * stable across versions: new codes are only ever added at the end.
 *
 * Ownership: an error object is a top-level talloc allocation (parent NULL)
 * owned by the caller; release it with shade_error_free() or talloc_free().
 * If *err is already set, a later failure does not overwrite it (the first
 * error wins, as with GError).  No function keeps global error state.
 */
#ifndef SHADE_ERROR_H
#define SHADE_ERROR_H

#include <stddef.h>
#include <stdint.h>

#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shade_value;

/* Status codes.  Zero is success, every failure is negative.  The order
 * is part of the ABI and of the wire protocol's error registry: never
 * renumber, only append. */
typedef enum shade_status {
	SHADE_AGAIN = 1,                /* not an error: would block, retry
					 * when the fd is ready */
	SHADE_OK = 0,
	SHADE_ERR_NOMEM = -1,           /* MemoryError: allocation failed */
	SHADE_ERR_INVALID = -2,         /* InvalidArgument: caller misuse */
	SHADE_ERR_PROTOCOL = -3,        /* ProtocolError: peer broke protocol */
	SHADE_ERR_TRUNCATED = -4,       /* Truncated: input ends mid-item */
	SHADE_ERR_MALFORMED = -5,       /* Malformed: not well-formed CBOR */
	SHADE_ERR_UTF8 = -6,            /* BadUtf8: text is not valid UTF-8 */
	SHADE_ERR_TOO_DEEP = -7,        /* TooDeep: nesting past the limit */
	SHADE_ERR_LIMIT = -8,           /* LimitExceeded: size/count limit */
	SHADE_ERR_IO = -9,              /* IOError: system call failed */
	SHADE_ERR_CONNECTION_LOST = -10,/* ConnectionLost: peer went away */
	SHADE_ERR_TIMEOUT = -11,        /* Timeout: deadline passed */
	SHADE_ERR_CANCELLED = -12,      /* Cancelled: request withdrawn */
	SHADE_ERR_NOT_FOUND = -13,      /* NotFound: no such export */
	SHADE_ERR_KEY = -14,            /* KeyError */
	SHADE_ERR_INDEX = -15,          /* IndexError */
	SHADE_ERR_VALUE = -16,          /* ValueError */
	SHADE_ERR_TYPE = -17,           /* TypeError */
	SHADE_ERR_ATTRIBUTE = -18,      /* AttributeError */
	SHADE_ERR_ZERO_DIVISION = -19,  /* ZeroDivisionError */
	SHADE_ERR_PERMISSION = -20,     /* PermissionDenied */
	SHADE_ERR_UNIMPLEMENTED = -21,  /* Unimplemented: opcode/feature */
	SHADE_ERR_OVERLOADED = -22,     /* Overloaded: try again later */
	SHADE_ERR_REMOTE = -23,         /* RemoteError: unknown remote name */
	SHADE_ERR_EXEC = -24,           /* ChildError: exec: child failed */
	SHADE_ERR_USER = -25,           /* UserError: a declared exception */
	SHADE_ERR_RUNTIME = -26,        /* RuntimeError: generic failure */
	SHADE_ERR_OVERFLOW = -27,       /* OverflowError: value out of range */
	SHADE_STATUS_MIN_ = -28         /* one past the last code */
} shade_status;

/* Error categories (doc/api.md §4, doc/protocol.md §3.2): what a caller
 * may do about it. */
typedef enum shade_category {
	SHADE_CAT_FAILED = 0,        /* a real failure; retrying won't help */
	SHADE_CAT_OVERLOADED = 1,    /* temporary; retry later may succeed */
	SHADE_CAT_DISCONNECTED = 2,  /* the connection is gone; reconnect */
	SHADE_CAT_UNIMPLEMENTED = 3  /* the peer does not support this */
} shade_category;

/* One step of the cross-peer chain: where an error was raised or relayed. */
typedef struct shade_error_frame {
	char *side;    /* peer that raised/relayed it ("server", a name...) */
	char *type;    /* qualified type name of the object, or "" */
	char *member;  /* member being accessed, or "" */
} shade_error_frame;

/* One place in this process that an error was raised at or passed
 * through (SHADE_RAISE, SHADE_ERROR_FRAME): the C counterpart of a
 * traceback entry, with the values the code chose to attach (its
 * "frame locals", shade_error_attach in shade/value.h). */
typedef struct shade_error_site {
	char *function;             /* __func__ of the code, never NULL */
	char *file;                 /* __FILE__, never NULL */
	unsigned line;              /* __LINE__ */
	struct shade_value *values; /* dict name -> value attached, or NULL */
} shade_error_site;

/* An error: stable code, registry name, human message, optional
 * arguments and the chain of peers it crossed (innermost first); the
 * sites it was raised at in this process, the application's own code
 * and, received from a peer that was asked for one, a reference to the
 * remote traceback (doc/api.md "Post-mortem"). */
typedef struct shade_error {
	shade_status code;          /* stable status code */
	shade_category category;    /* what a caller may do about it */
	char *name;                 /* "KeyError", or a remote name kept as is */
	char *message;              /* human-readable text, never NULL */
	struct shade_value *args;   /* tuple of arguments, or NULL */
	shade_error_frame *chain;   /* talloc array, innermost first */
	size_t chain_len;           /* entries in chain */
	shade_error_site *sites;    /* talloc array, innermost first */
	size_t sites_len;           /* entries in sites */
	int64_t user_code;          /* the application's own code, 0: none */
	struct shade_value *traceback; /* a ref value: the remote traceback
				     * (a list of frame objects, read
				     * lazily; released with the error),
				     * or NULL */
} shade_error;

/* Propagate a failure: evaluate `call`, return its status if negative. */
#define SHADE_CHECK(call) do { \
	shade_status shade_check_s_ = (call); \
	if (shade_check_s_ < 0) return shade_check_s_; \
} while (0)

#if defined(__GNUC__)
#define SHADE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SHADE_PRINTF(f, a)
#endif

/* Record an error in *err (if err is non-NULL and *err is still NULL) and
 * return `code`, so `return shade_error_set(err, CODE, "...", ...);` works.
 * The name and category come from the registry for `code`. */
SHADE_API shade_status shade_error_set(shade_error **err, shade_status code,
				       const char *fmt, ...) SHADE_PRINTF(3, 4);

/* Like shade_error_set() but with an explicit name (a remote or user
 * exception name that may not be in the registry). */
SHADE_API shade_status shade_error_set_named(shade_error **err,
					     shade_status code,
					     const char *name,
					     const char *fmt, ...)
	SHADE_PRINTF(4, 5);

/* shade_error_set() that also records where: `function`, `file` and
 * `line` become the error's innermost site.  Use SHADE_RAISE. */
SHADE_API shade_status shade_error_raise(shade_error **err, shade_status code,
					 const char *function,
					 const char *file, unsigned line,
					 const char *fmt, ...)
	SHADE_PRINTF(6, 7);

/* Raise `code` with a message and record the raising site (function,
 * file, line) so a post-mortem can show it:
 * `return SHADE_RAISE(call->err, SHADE_ERR_VALUE, "bad %d", x);` */
#define SHADE_RAISE(err, code, ...) \
	shade_error_raise((err), (code), __func__, __FILE__, __LINE__, \
			  __VA_ARGS__)

/* Record a user error named `name` with the application's own code
 * (kept end to end: the receiver gets SHADE_ERR_USER, the name and
 * user_code, doc/protocol.md §3.2).  Returns SHADE_ERR_USER. */
SHADE_API shade_status shade_error_set_user(shade_error **err,
					    const char *name,
					    int64_t user_code,
					    const char *fmt, ...)
	SHADE_PRINTF(4, 5);

/* Append a site (where the error passed on its way out) to *err when it
 * is set: values attached afterwards go to this site.  Returns
 * SHADE_OK, or SHADE_ERR_NOMEM.  Use SHADE_ERROR_FRAME. */
SHADE_API shade_status shade_error_push_site(shade_error *e,
					     const char *function,
					     const char *file, unsigned line);

/* Record the current function as a site of *err (when err and *err are
 * set), the C counterpart of a traceback entry for a function that
 * passes an error on. */
#define SHADE_ERROR_FRAME(err) \
	((err) != NULL && *(err) != NULL \
		 ? shade_error_push_site(*(err), __func__, __FILE__, __LINE__) \
		 : SHADE_OK)

/* Append one frame to the error's cross-peer chain.  Copies the strings.
 * Returns SHADE_OK or SHADE_ERR_NOMEM. */
SHADE_API shade_status shade_error_push_frame(shade_error *e, const char *side,
					      const char *type,
					      const char *member);

/* Registry: the stable name of a code ("KeyError"), never NULL. */
SHADE_API const char *shade_status_name(shade_status code);

/* Registry: the code for a name; SHADE_ERR_REMOTE for unknown names. */
SHADE_API shade_status shade_status_from_name(const char *name);

/* Registry: the category of a code. */
SHADE_API shade_category shade_status_category(shade_status code);

/* The name of a category ("failed", "overloaded", ...), never NULL. */
SHADE_API const char *shade_category_name(shade_category cat);

/* Format the error, its message, its arguments (a typed exception's
 * fields), its user code, its chain and its sites with their attached
 * values on mem_ctx, one line each, for logs and demos.  Returns NULL
 * only when out of memory.  (Defined with the values, which it
 * prints.) */
SHADE_API char *shade_error_describe(void *mem_ctx, const shade_error *e);

/* Free an error (NULL is fine). */
SHADE_API void shade_error_free(shade_error *e);

/* Free *err and set it to NULL, so the caller can retry. */
SHADE_API void shade_error_clear(shade_error **err);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_ERROR_H */
