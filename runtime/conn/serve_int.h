/*
 * serve_int.h - serving the peer's requests (serve.c).
 */
#ifndef SHADE_SERVE_INT_H
#define SHADE_SERVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/visibility.h"

struct shade_conn;
struct msg;

/* One request being served by this thread (a stack through callbacks):
 * requests we send on `c` while serving carry `rid` as their "in". */
struct serving {
	struct shade_conn *c; /* connection the request came on */
	uint64_t rid;         /* the peer's request id */
	struct serving *up;   /* the request served further out */
};

/* The request this thread serves innermost, or NULL. */
SHADE_INTERNAL extern _Thread_local struct serving *serve_current;

/* Serve one request frame (taken over; on tmp when tmp is given, which
 * is then taken over too; pm: its parsed head, or NULL to parse it), read
 * at `arrived`, and send its reply, or add the reply to the batch when
 * `batch`.  A request whose deadline (its timeout counted from `arrived`)
 * has passed is answered Timeout without running. */
SHADE_INTERNAL void serve_frame(struct shade_conn *c, TALLOC_CTX *tmp,
				uint8_t *frame, size_t len,
				const struct msg *pm, int64_t arrived,
				bool batch);

#endif /* SHADE_SERVE_INT_H */
