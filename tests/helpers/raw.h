/*
 * raw.h - a raw-protocol peer for the suites: a real Unix socket to a
 * server, hand-built frames written on it (hex payloads, or a few
 * builders for the usual requests), and the server's frames read back
 * and parsed.  It speaks the wire format of protocol.md directly, so a
 * suite can send what no shade client would.
 *
 * Whoever runs the server decides how waiting works: when the server's
 * loop is turned by the test thread itself (shade_server_run_once), pass
 * a `turn` callback that turns it for about ms milliseconds; when the
 * server runs on its own thread or process, pass NULL and the peer just
 * polls its socket.  Every wait is bounded; the raw_expect_* calls fail
 * the running cmocka case.
 */
#ifndef SHADE_TEST_RAW_H
#define SHADE_TEST_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/error.h"

struct msg;

/* Turn the server's loop for about ms milliseconds. */
typedef void (*raw_turn_fn)(void *udata, int ms);

/* A raw peer: a socket and what it has read. */
struct raw {
	int fd;            /* the socket, -1 once closed */
	uint8_t *in;       /* bytes read and not consumed (talloc) */
	size_t len;        /* their count */
	bool eof;          /* the server closed */
	raw_turn_fn turn;  /* turns the server's loop, or NULL */
	void *udata;       /* for turn */
};

/* Connect r to the Unix socket at path; its buffer lives on mem_ctx.
 * turn/udata say how to wait (see above; turn may be NULL). */
void raw_open(struct raw *r, TALLOC_CTX *mem_ctx, const char *path,
	      raw_turn_fn turn, void *udata);

/* Close the socket (if still open) and free the buffer. */
void raw_close(struct raw *r);

/* Write n bytes as they are (errors, such as the server having closed,
 * are ignored: what the server did is checked by reading). */
void raw_write(struct raw *r, const void *p, size_t n);

/* Send one frame whose payload is given in hex (blanks allowed). */
void raw_send_hex(struct raw *r, const char *hex);

/* raw_send_hex of a printf-formatted hex string. */
void raw_send_hexf(struct raw *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Send HELLO [0, 0, version 1, features 0]. */
void raw_send_hello(struct raw *r);

/* Send LOOKUP [7, id, name] (name shorter than 24 bytes). */
void raw_send_lookup(struct raw *r, uint64_t id, const char *name);

/* The next frame the server sent, its payload as bytes (copied onto
 * mem_ctx, not parsed), waiting at most ms.  False at EOF (r->eof set)
 * or timeout. */
bool raw_next_frame(struct raw *r, TALLOC_CTX *mem_ctx, uint8_t **payload,
		    size_t *len, int ms);

/* The next frame the server sent, parsed into *m with its payload copied
 * onto mem_ctx, waiting at most ms.  False at EOF or timeout. */
bool raw_next(struct raw *r, TALLOC_CTX *mem_ctx, struct msg *m, int ms);

/* Wait (5 s at most) for the answer to request id, skipping other
 * frames: RETURN leaves *e NULL, ERROR sets *e to the error (the caller
 * frees it).  Fails the case at EOF or timeout. */
void raw_reply(struct raw *r, uint64_t id, shade_error **e);

/* Expect request id to be answered with an ERROR of code. */
void raw_expect_error(struct raw *r, uint64_t id, shade_status code);

/* Expect request id to be answered with RETURN. */
void raw_expect_return(struct raw *r, uint64_t id);

/* Expect the next frame to have opcode op (within 5 s). */
void raw_expect_op(struct raw *r, unsigned op);

/* Expect the server to close the connection within 5 s, after at most
 * HELLO and ERRORs with id 0; those must carry code when code != 0. */
void raw_expect_closed(struct raw *r, shade_status code);

/* HELLO, then LOOKUP name as request 1: expects the server's HELLO and
 * the RETURN (the object is then the peer's export 1). */
void raw_hello_lookup(struct raw *r, const char *name);

#endif /* SHADE_TEST_RAW_H */
