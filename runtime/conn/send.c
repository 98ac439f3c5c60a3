/*
 * send.c - sending: the ordered output queue, batching, RELEASE messages
 * riding along, and flushing to the transport.
 *
 * Every message goes through one ordered output queue, `outb` (guarded
 * by send_mu): it is appended there framed (head + payload) and the queue
 * is handed to the transport in one shade_transport_send_frames() call
 * (one write system call on fd transports).  Batched messages (pipelined
 * requests, replies served in a loop turn) stay queued until a flush; on
 * a non-blocking transport what the socket does not take is queued by
 * the transport, behind which later batches go, and the loop writes it
 * when the socket polls writable: a send that leaves output queued tells
 * the loop (loop_fd_want_write), from any thread.
 *
 * Lock order: `send_mu` first, then `mu` briefly inside it (taking the
 * queued releases, counting them), never the other way round.  Every
 * release of send_mu goes through send_unlock, which closes the
 * transport of a connection that ended while the lock was held.  A failed
 * write ends the connection (conn_lost) after send_mu is released.
 * `out_frames` and `n_rel` are atomic hints read without the locks.
 */
#include <poll.h>
#include <pthread.h>

#include <talloc.h>

#include "base/buf_int.h"
#include "base/clock_int.h"
#include "base/log_int.h"
#include "loop/loop_int.h"
#include "conn/conn_int.h"
#include "conn/send_int.h"
#include "transport/transport_int.h"

/* Batched output written once it reaches this many bytes. */
#define BATCH_BYTES ((size_t)64 << 10)

/* After a send: output left queued (a full socket, or a batch) on a
 * connection a loop serves is that loop's to write; tell it, whatever
 * thread this is (the loop thread in c's own callback sets write
 * interest itself after it, at no cost here). */
static void tell_loop(shade_conn *c)
{
	if (c->watch != NULL && shade_conn_wants_write(c))
		loop_fd_want_write(c->watch);
}

/* Let go of send_mu.  When c ended while this thread sent, its
 * transport was left open for it: closed now (lost.c; t_close is
 * stored before the closer tries send_mu, and read after the unlock,
 * so one of the two closes it). */
static void send_unlock(shade_conn *c)
{
	pthread_mutex_unlock(&c->send_mu);
	if (__atomic_load_n(&c->t_close, __ATOMIC_SEQ_CST) != 0)
		conn_close_transport(c);
}

/* The connection whose batch this thread writes itself (send_hold). */
static _Thread_local const shade_conn *tl_held;

void send_hold(const shade_conn *c)
{
	tl_held = c;
}

/* After a failed write: end the connection (unless the failure was local:
 * out of memory or over the frame limit) and hand e to *err. */
static shade_status send_failed(shade_conn *c, shade_status st, shade_error *e,
				shade_error **err)
{
	if (st != SHADE_ERR_NOMEM && st != SHADE_ERR_LIMIT)
		conn_lost(c, SHADE_ERR_CONNECTION_LOST,
			  e ? e->message : "send failed");
	if (err != NULL && *err == NULL)
		*err = e;
	else
		talloc_free(e);
	return st;
}

/* Append one message (its payload bytes) to the queue, framed.  Caller
 * holds send_mu. */
static shade_status emit_locked(shade_conn *c, const uint8_t *p, size_t len,
				shade_error **err)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	size_t hl;

	if (len > shade_transport_max_frame(c->t))
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "message of %zu bytes over the frame "
				       "limit", len);
	/* No parent: c's children change under mu, this under send_mu
	 * (conn_destructor frees it). */
	if (c->outb == NULL && (c->outb = shade_buf_new(NULL, 4096)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	hl = shade_frame_header_encode(len, head);
	shade_buf_append(c->outb, head, hl);
	shade_buf_append(c->outb, p, len);
	if (c->outb->status != SHADE_OK) {
		shade_buf_reset(c->outb);
		__atomic_store_n(&c->out_frames, 0, __ATOMIC_RELAXED);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	__atomic_add_fetch(&c->out_frames, 1, __ATOMIC_RELAXED);
	return SHADE_OK;
}

/* Queue the pending RELEASE pairs as one message; caller holds send_mu
 * (not mu). */
static shade_status emit_releases(shade_conn *c, shade_error **err)
{
	shade_buf *b;
	uint64_t *rel;
	size_t n, i, drops = 0;
	shade_status st;

	/* A hint read without mu: releases queued meanwhile go with the
	 * next message. */
	if (__atomic_load_n(&c->n_rel, __ATOMIC_RELAXED) == 0)
		return SHADE_OK;
	pthread_mutex_lock(&c->mu);
	rel = c->rel;
	n = c->n_rel;
	c->rel = NULL;
	__atomic_store_n(&c->n_rel, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->mu);
	if (n == 0)
		return SHADE_OK;
	b = shade_buf_new(NULL, 8 + n * 5);
	if (b == NULL) {
		talloc_free(rel);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	/* Pairs (0, rid) are results no longer named: one DROP, then
	 * one RELEASE of the others. */
	for (i = 0; i < n; i += 2)
		drops += rel[i] == 0;
	st = SHADE_OK;
	if (drops > 0) {
		msg_begin(b, OP_DROP, 0, (unsigned)drops, false);
		for (i = 0; i < n; i += 2)
			if (rel[i] == 0)
				shade_cbor_put_uint(b, rel[i + 1]);
		st = b->status != SHADE_OK
			     ? shade_error_set(err, b->status, "out of memory")
			     : emit_locked(c, b->data, b->len, err);
		shade_buf_reset(b);
	}
	if (st == SHADE_OK && n > 2 * drops) {
		msg_begin(b, OP_RELEASE, 0, (unsigned)(n - 2 * drops), false);
		for (i = 0; i < n; i += 2)
			if (rel[i] != 0) {
				shade_cbor_put_uint(b, rel[i]);
				shade_cbor_put_uint(b, rel[i + 1]);
			}
		st = b->status != SHADE_OK
			     ? shade_error_set(err, b->status, "out of memory")
			     : emit_locked(c, b->data, b->len, err);
		if (st == SHADE_OK) {
			pthread_mutex_lock(&c->mu);
			c->st.releases_sent++;
			pthread_mutex_unlock(&c->mu);
		}
	}
	talloc_free(rel);
	talloc_free(b);
	return st;
}

/* Hand the queue to the transport (caller holds send_mu): all of it in
 * one write system call on fd transports; what a non-blocking socket
 * does not take stays queued in the transport (shade_transport_flush,
 * POLLOUT).  SHADE_OK, or a failure. */
static shade_status flush_batch_locked(shade_conn *c, shade_error **err)
{
	shade_status st;

	if (c->outb == NULL || c->outb->len == 0)
		return SHADE_OK;
	st = shade_transport_send_frames(c->t, c->outb->data, c->outb->len,
					 err);
	shade_buf_reset(c->outb);
	__atomic_store_n(&c->out_frames, 0, __ATOMIC_RELAXED);
	return st;
}

shade_status conn_flush_batch(shade_conn *c, shade_error **err)
{
	shade_status st;
	shade_error *e = NULL;

	pthread_mutex_lock(&c->send_mu);
	st = flush_batch_locked(c, &e);
	send_unlock(c);
	if (st < 0)
		return send_failed(c, st, e, err);
	tell_loop(c);
	return SHADE_OK;
}

/* Trace a message sent (its referenced strings copied in for that). */
static void trace_sent(shade_conn *c, const shade_buf *b)
{
	shade_buf *flat;

	if (!buf_has_refs(b)) {
		msg_trace(c->side, shade_transport_address(c->t), "sent",
			  b->data, b->len);
		return;
	}
	flat = shade_buf_new(NULL, buf_total(b));
	if (flat != NULL) {
		int i, n = 2 * (int)b->refs->n + 1;
		struct iovec *iov = talloc_array(flat, struct iovec, n);

		n = iov != NULL ? buf_iov(b, iov, n) : 0;
		for (i = 0; i < n; i++)
			shade_buf_append(flat, iov[i].iov_base, iov[i].iov_len);
		msg_trace(c->side, shade_transport_address(c->t), "sent",
			  flat->data, flat->len);
	}
	talloc_free(flat);
}

/* Write message b, which references strings, from its pieces: one
 * writev of them (a non-blocking transport copies what the socket does
 * not take).  Caller holds send_mu. */
static shade_status send_pieces(shade_conn *c, const shade_buf *b,
				shade_error **err)
{
	struct iovec stack_iov[9], *iov = stack_iov;
	int n = 2 * (int)b->refs->n + 1;
	shade_status st;

	if (buf_total(b) > shade_transport_max_frame(c->t))
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "message of %zu bytes over the frame "
				       "limit", buf_total(b));
	if (n > 9 && (iov = talloc_array(NULL, struct iovec, n)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	n = buf_iov(b, iov, n);
	st = shade_transport_sendv(c->t, iov, n, err);
	if (iov != stack_iov)
		talloc_free(iov);
	return st;
}

/* Queue one message (releases first) and write the queue now (`now`) or
 * once it is large.  A transport failure ends the connection. */
static shade_status put_message(shade_conn *c, const shade_buf *b, bool now,
				shade_error **err)
{
	shade_status st;
	shade_error *e = NULL;

	if (b->status != SHADE_OK)
		return shade_error_set(err, b->status, "out of memory");
	if (LOG_ON(SHADE_LOG_MESSAGES, 1))
		trace_sent(c, b);
	pthread_mutex_lock(&c->send_mu);
	st = emit_releases(c, &e);
	if (st == SHADE_OK && buf_has_refs(b)) {
		/* Large strings referenced where they lie: the batch goes
		 * first, then one writev of the message's pieces. */
		st = flush_batch_locked(c, &e);
		if (st == SHADE_OK)
			st = send_pieces(c, b, &e);
	} else if (st == SHADE_OK && now &&
		   (c->outb == NULL || c->outb->len == 0)) {
		/* Nothing queued before it: straight to the transport,
		 * which frames it in the same single write. */
		st = shade_transport_send(c->t, b->data, b->len, &e);
	} else if (st == SHADE_OK && b->len >= BATCH_BYTES) {
		/* Large: not copied into the batch; the batch goes first,
		 * then the message from its own buffer. */
		st = flush_batch_locked(c, &e);
		if (st == SHADE_OK)
			st = shade_transport_send(c->t, b->data, b->len, &e);
	} else {
		if (st == SHADE_OK)
			st = emit_locked(c, b->data, b->len, &e);
		if (st == SHADE_OK &&
		    (now || c->outb->len >= BATCH_BYTES))
			st = flush_batch_locked(c, &e);
	}
	send_unlock(c);
	if (st < 0)
		return send_failed(c, st, e, err);
	if (now || c != tl_held)
		tell_loop(c);
	return SHADE_OK;
}

/* Add one message to the batch (written by the next flush or wait). */
shade_status send_batched(shade_conn *c, const shade_buf *b,
			  shade_error **err)
{
	return put_message(c, b, false, err);
}

/* Send one message now, after everything queued before it. */
shade_status send_frame(shade_conn *c, const shade_buf *b,
			shade_error **err)
{
	return put_message(c, b, true, err);
}

size_t shade_conn_out_pending(shade_conn *c)
{
	size_t n;

	if (!shade_conn_wants_write(c))
		return 0; /* the usual case, without the lock */
	pthread_mutex_lock(&c->send_mu);
	n = shade_transport_out_pending(c->t) + (c->outb ? c->outb->len : 0);
	send_unlock(c);
	return n;
}

bool shade_conn_wants_write(const shade_conn *c)
{
	return shade_transport_wants_write(c->t) ||
	       __atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0;
}

/* Hand the queue to the transport and write what the transport still
 * holds from before, without waiting (caller holds send_mu): SHADE_OK
 * when all of it went, SHADE_AGAIN when a non-blocking socket kept some,
 * or a failure. */
static shade_status write_out_locked(shade_conn *c, shade_error **err)
{
	shade_status st = flush_batch_locked(c, err);

	if (st == SHADE_OK && shade_transport_wants_write(c->t))
		st = shade_transport_flush(c->t, err);
	return st;
}

/* Write queued output without waiting: what a non-blocking socket does
 * not take stays queued in the transport.  A failure ends c. */
shade_status send_flush_now(shade_conn *c, shade_error **err)
{
	shade_status st;
	shade_error *e = NULL;

	pthread_mutex_lock(&c->send_mu);
	st = emit_releases(c, &e);
	if (st == SHADE_OK)
		st = write_out_locked(c, &e);
	send_unlock(c);
	if (st < 0)
		return send_failed(c, st, e, err);
	tell_loop(c);
	return SHADE_OK;
}

shade_status shade_conn_flush(shade_conn *c, shade_error **err)
{
	SHADE_CHECK(conn_check_open(c, err));
	if (__atomic_load_n(&c->n_rel, __ATOMIC_RELAXED) == 0 &&
	    !shade_conn_wants_write(c))
		return SHADE_OK; /* nothing to write: no lock */
	return send_flush_now(c, err);
}

/* Before waiting for input: write queued output, polling for POLLOUT
 * until the deadline when the transport is non-blocking. */
shade_status send_flush_out(shade_conn *c, int64_t deadline,
			    shade_error **err)
{
	struct pollfd pfd;
	shade_status st;
	shade_error *e = NULL;

	if (!shade_conn_wants_write(c))
		return SHADE_OK; /* the usual case: nothing queued, no lock */
	for (;;) {
		pthread_mutex_lock(&c->send_mu);
		st = write_out_locked(c, &e);
		send_unlock(c);
		if (st < 0)
			return send_failed(c, st, e, err);
		if (st == SHADE_OK)
			return SHADE_OK;
		pfd.fd = shade_transport_write_fd(c->t);
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, clock_remaining_ms(deadline)) == 0)
			return shade_error_set(err, SHADE_ERR_TIMEOUT,
					       "output not drained in time");
	}
}

void conn_refuse(shade_conn *c, shade_status code, const char *why)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	shade_error *e = NULL;

	shade_error_set(&e, code, "%s", why);
	if (b != NULL && e != NULL) {
		msg_put_error(b, 0, e, NULL, false);
		send_frame(c, b, NULL);
	}
	talloc_free(b);
	talloc_free(e);
	conn_lost(c, code, why);
}

bool conn_bye_close(shade_conn *c)
{
	bool bye;

	if (!shade_conn_is_open(c))
		return true;
	pthread_mutex_lock(&c->mu);
	bye = c->bye_seen;
	pthread_mutex_unlock(&c->mu);
	if (!bye || shade_conn_wants_write(c) ||
	    __atomic_load_n(&c->n_rel, __ATOMIC_RELAXED) > 0 ||
	    __atomic_load_n(&c->answering, __ATOMIC_ACQUIRE) > 0 ||
	    (c->pool != NULL &&
	     __atomic_load_n(&c->unnested.head, __ATOMIC_ACQUIRE) != NULL))
		return bye; /* asked again once those are answered (pool.c,
			     * defer.c) */
	conn_lost(c, SHADE_ERR_CONNECTION_LOST, "peer said BYE");
	return true;
}
