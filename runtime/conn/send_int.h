/*
 * send_int.h - sending messages on a connection (send.c): every message
 * goes through one ordered output queue; see send.c.
 */
#ifndef SHADE_SEND_INT_H
#define SHADE_SEND_INT_H

#include <stdint.h>

#include "shade/cbor.h"
#include "shade/error.h"
#include "shade/visibility.h"

struct shade_conn;

/* Send one message now, after everything queued before it (releases
 * first).  A transport failure ends the connection. */
SHADE_INTERNAL shade_status send_frame(struct shade_conn *c,
				       const shade_buf *b, shade_error **err);

/* This thread writes c's batch itself before it waits or is done
 * (conn_flush_batch), c NULL: no longer.  Meanwhile send_batched on c
 * does not ask c's loop to write it (a wake-up of the loop's thread per
 * reply a worker batches).  Thread-local. */
SHADE_INTERNAL void send_hold(const struct shade_conn *c);

/* Add one message to the batch (written by the next flush or wait, or
 * once the batch is large). */
SHADE_INTERNAL shade_status send_batched(struct shade_conn *c,
					 const shade_buf *b,
					 shade_error **err);

/* Write queued output and releases without waiting: what a non-blocking
 * socket does not take stays queued in the transport.  A failure ends
 * c. */
SHADE_INTERNAL shade_status send_flush_now(struct shade_conn *c,
					   shade_error **err);

/* Before waiting for input: write queued output, polling for POLLOUT
 * until deadline (clock_now_ms() value, -1: none) when the transport is
 * non-blocking. */
SHADE_INTERNAL shade_status send_flush_out(struct shade_conn *c,
					   int64_t deadline,
					   shade_error **err);

#endif /* SHADE_SEND_INT_H */
