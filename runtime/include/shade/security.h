/*
 * shade/security.h - who is on the other end of a connection, and what
 * the accepting side lets it do (doc/security.md).
 *
 * Authentication: a connecting side given a key (shade_conn_opts.auth,
 * n_auth 1) proves in HELLO that it holds the key's secret, and the
 * accepting side proves the same back (mutual; HMAC-SHA-256 over fresh
 * nonces from both sides, no secret on the wire; doc/protocol.md §3.7).
 * An accepting side given keys refuses every peer that does not prove
 * one of them: PermissionDenied, then the connection closes; nothing is
 * served before.
 *
 * Identity: what the accepting side knows of its peer (transport kind,
 * the uid/gid/pid of a Unix-socket peer by SO_PEERCRED, the key it
 * proved), readable by handlers (shade_call_ctx.conn) and given to the
 * access hook.
 *
 * Access control: the hook (shade_conn_opts.access) decides each
 * LOOKUP (and which names NAMES lists) and each request on an object;
 * a refusal is PermissionDenied and nothing runs.  Objects exported
 * read-only (shade_registry_add_readonly, shade/object.h) refuse sets,
 * invokes and calls without a hook.
 */
#ifndef SHADE_SECURITY_H
#define SHADE_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shade_conn;
struct shade_ref;

/* Shortest and longest secret of a key (bytes). */
#define SHADE_AUTH_SECRET_MIN 16
#define SHADE_AUTH_SECRET_MAX 1024
/* Longest key name (bytes of UTF-8). */
#define SHADE_AUTH_NAME_MAX 255

/* A shared-secret key: the name travels (so the accepting side knows
 * which secret to check), the secret never does. */
typedef struct shade_auth_key {
	const char *name;           /* 1-255 bytes of text, unique among
				     * the keys an accepting side holds */
	const uint8_t *secret;      /* the secret bytes (borrowed: keep
				     * them while connections use them) */
	size_t secret_len;          /* 16-1024 bytes; use 32 random ones */
} shade_auth_key;

/* What the accepting side knows of its peer.  Strings belong to the
 * connection and live as long as it does. */
typedef struct shade_identity {
	const char *transport;      /* kind: "unix", "tcp", "exec", "fd",
				     * or a user channel's name */
	bool has_cred;              /* uid, gid and pid below are known:
				     * a Unix-socket peer (SO_PEERCRED, as
				     * the kernel saw it when it connected) */
	uid_t uid;                  /* the peer's effective user id (0
				     * unless has_cred: test it first) */
	gid_t gid;                  /* the peer's effective group id (0
				     * unless has_cred) */
	pid_t pid;                  /* the peer's process id (0 unless
				     * has_cred) */
	const char *key;            /* name of the key the peer proved, or
				     * NULL when it did not authenticate */
	const char *tls_subject;    /* the subject of the peer's TLS
				     * certificate, or NULL when not TLS
				     * or none was presented */
} shade_identity;

/* What a peer asks for, as the access hook sees it. */
typedef enum shade_access_kind {
	SHADE_ACCESS_LOOKUP = 0,    /* LOOKUP of `name`, or listing `name`
				     * in a NAMES reply */
	SHADE_ACCESS_GET = 1,       /* reading: GETATTR of an attribute,
				     * DESCRIBE, LEN, GETITEM, CONTAINS,
				     * FORCE */
	SHADE_ACCESS_SET = 2,       /* writing: SETATTR, SETITEM,
				     * DELITEM, APPEND */
	SHADE_ACCESS_INVOKE = 3     /* running code: INVOKE, CALL, and
				     * GETATTR of a method (the bound
				     * method it returns runs it) */
} shade_access_kind;

/* One request as the access hook sees it (borrowed, valid during the
 * hook only). */
typedef struct shade_access {
	shade_access_kind kind;     /* what it does */
	unsigned op;                /* its wire opcode (doc/protocol.md §3) */
	const char *name;           /* LOOKUP: the name asked; otherwise a
				     * name the target is exported under,
				     * or NULL when it was only handed out */
	struct shade_ref *target;   /* the object (NULL for LOOKUP) */
	const char *member;         /* GETATTR, SETATTR, INVOKE: the
				     * member's name as the shape lists it;
				     * NULL otherwise */
} shade_access;

/*
 * The access hook: return true to let the request run, false to refuse
 * it (PermissionDenied, nothing runs).  Called on the thread serving the
 * request, before any argument is decoded; it must not call back into
 * the connection.
 */
typedef bool (*shade_access_fn)(void *udata, const shade_identity *who,
				const shade_access *what);

/* What c knows of its peer (owned by c; never NULL).  An accepting side
 * reads the peer's credentials (has_cred, uid, gid, pid) when the peer's
 * HELLO arrives, or at the first call of this before it. */
SHADE_API const shade_identity *shade_conn_identity(
	const struct shade_conn *c);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_SECURITY_H */
