/*
 * served.c - what a server loop asks of a connection it serves: the
 * frames received (its idle clock), the input memory held (its share of
 * the server's cap), whether it is engaged (not idle whatever the peer
 * sends) and trimming the buffers a connection at rest keeps for speed.
 *
 * Locking: the counters are relaxed atomics of the transport; the input
 * buffer fields belong to the reader, which is the loop thread calling;
 * `mu` is taken to count pendings, `send_mu` to drop an empty output
 * queue.  Calls none of the other files of the engine.
 */
#include <pthread.h>

#include <talloc.h>

#include "conn/conn_int.h"
#include "transport/transport_int.h"

uint64_t conn_frames_in(const shade_conn *c)
{
	return STAT_GET(c->t, frames_received);
}

size_t conn_input_held(const shade_conn *c)
{
	const shade_transport *t = c->t;

	return (t->in != NULL ? t->in_size : 0) +
	       (t->big != NULL ? t->big_cap : 0);
}

bool conn_engaged(shade_conn *c)
{
	size_t pending;

	if (__atomic_load_n(&c->serving, __ATOMIC_ACQUIRE) > 0)
		return true;
	pthread_mutex_lock(&c->mu);
	pending = c->pending.count;
	pthread_mutex_unlock(&c->mu);
	return pending > 0;
}

void conn_trim(shade_conn *c)
{
	if (!__atomic_exchange_n(&c->rbuf_busy, true, __ATOMIC_ACQUIRE)) {
		TALLOC_FREE(c->rbuf);
		__atomic_store_n(&c->rbuf_busy, false, __ATOMIC_RELEASE);
	}
	if (!__atomic_exchange_n(&c->scratch_busy, true, __ATOMIC_ACQUIRE)) {
		TALLOC_FREE(c->scratch);
		__atomic_store_n(&c->scratch_busy, false, __ATOMIC_RELEASE);
	}
	pthread_mutex_lock(&c->send_mu);
	if (c->outb != NULL && c->outb->len == 0)
		TALLOC_FREE(c->outb);
	if (c->t->out != NULL && c->t->out_start == c->t->out_end) {
		/* The transport's queue, written under send_mu too. */
		TALLOC_FREE(c->t->out);
		c->t->out_cap = 0;
		OUT_SET(c->t, out_start, 0);
		OUT_SET(c->t, out_end, 0);
	}
	pthread_mutex_unlock(&c->send_mu);
	/* It ended while we held send_mu: the close is ours (lost.c). */
	if (__atomic_load_n(&c->t_close, __ATOMIC_SEQ_CST) != 0)
		conn_close_transport(c);
}

bool conn_pool_full(shade_conn *c)
{
	size_t pending;

	if (c->pool == NULL || queue_len(&c->unnested) < POOL_QUEUE_MAX)
		return false;
	pthread_mutex_lock(&c->mu);
	pending = c->pending.count;
	pthread_mutex_unlock(&c->mu);
	return pending == 0;
}

bool conn_pool_throttle(shade_conn *c)
{
	bool full;

	if (c->pool == NULL)
		return false;
	/* Under mu, as the worker takes from the queue and then looks at
	 * the flag (pool.c let_go): it sees the flag set, or this sees
	 * the queue it left. */
	pthread_mutex_lock(&c->mu);
	full = queue_len(&c->unnested) >= POOL_QUEUE_MAX &&
	       c->pending.count == 0;
	c->pool_throttled = full;
	pthread_mutex_unlock(&c->mu);
	return full;
}
