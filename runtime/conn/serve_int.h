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
	bool deferred;        /* its handler took the reply handle
			       * (shade_call_defer): no reply here */
	void *mem;            /* its per-call memory, the mem_ctx a typed
			       * implementation gets (shade_typed_defer) */
};

/* The request this thread serves innermost, or NULL. */
SHADE_INTERNAL extern _Thread_local struct serving *serve_current;

/* Frames a catch-up reads at most, and how long (ms) the next queued
 * request must have waited for it to ask the socket too. */
#define CATCH_UP_FRAMES 64u
#define CATCH_UP_AFTER_MS 1

/* Before the next request queued on q (a queue of c) starts: read, without
 * blocking, at most max frames that arrived meanwhile, so that a CANCEL
 * sent after it withdraws it wherever it waits (doc/protocol.md §3.6).
 * Frames the transport holds already are read; the socket is read once
 * more when that request has waited CATCH_UP_AFTER_MS or longer (behind
 * a running handler).  No lock held; reads nothing while another thread
 * reads.  Returns the frames read. */
SHADE_INTERNAL unsigned serve_catch_up(struct shade_conn *c,
				       const struct frame_queue *q,
				       unsigned max);

/* Serve queued request it (taken over: a cached item goes back to its
 * cache, any other is freed) and add its reply to the batch.  A request
 * whose deadline (its timeout counted from when it was read) has passed
 * is answered Timeout without running. */
SHADE_INTERNAL void serve_item(struct shade_conn *c, struct frame_item *it);

#endif /* SHADE_SERVE_INT_H */
