/*
 * transport_closer.c - a thread that ends dropped connections: it sends
 * the last bytes queued for a socket (an ERROR explaining the drop) and
 * closes it, off the thread that dropped it.
 *
 * Closing a socket is not cheap when the peer filled it: the kernel
 * frees every buffer still queued (a peer sending garbage has up to a
 * few hundred KiB in flight), and the last write wakes the peer.  On a
 * server under attack that work sat in the loop's turn, and a
 * well-behaved client's request waited behind it.  The closer takes it
 * out of the loop: the loop hands over the fd and goes on; the closer,
 * at idle CPU priority (SCHED_IDLE), does the rest when a CPU has
 * nothing else to do.  At most CLOSER_MAX fds wait; when that many do,
 * the caller closes inline, as before, so a closer that gets no CPU
 * never holds more than CLOSER_MAX descriptors.
 *
 * The thread starts at the first hand-over and is joined when the
 * closer is freed, after it closed everything handed to it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>

#include "transport/transport_int.h"

/* Hand-overs that may wait at once. */
#define CLOSER_MAX 64
/* Last bytes a hand-over carries (an ERROR frame is far smaller). */
#define CLOSER_BYTES_MAX 4096

/* One fd to end. */
struct closer_job {
	int fd;          /* the socket, closed by the thread */
	uint8_t *bytes;  /* last bytes to send first (talloc, top-level),
			  * or NULL */
	size_t n;        /* their length */
};

struct transport_closer {
	pthread_mutex_t mu;                 /* guards all below */
	pthread_cond_t cv;                  /* a job came, or stop */
	struct closer_job q[CLOSER_MAX];    /* jobs waiting, [0, n) */
	unsigned n;                         /* their number */
	bool started;                       /* th runs */
	bool stop;                          /* the closer is being freed */
	pthread_t th;                       /* the thread */
	uint64_t ended;                     /* fds the thread closed, ever
					     * (read atomically) */
};

/* Send job j's last bytes, without waiting, then close its fd. */
static void closer_end(struct closer_job *j)
{
	if (j->n > 0) {
		ssize_t r;

		do
			r = send(j->fd, j->bytes, j->n,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
	}
	close(j->fd);
	talloc_free(j->bytes);
}

/* The thread: take every waiting job, end them, sleep until more come;
 * once stopped, end what is left and return. */
static void *closer_main(void *arg)
{
	struct transport_closer *cl = arg;
	struct closer_job jobs[CLOSER_MAX];
	struct sched_param sp;
	unsigned i, n;

	memset(&sp, 0, sizeof(sp));
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	pthread_mutex_lock(&cl->mu);
	for (;;) {
		while (cl->n == 0 && !cl->stop)
			pthread_cond_wait(&cl->cv, &cl->mu);
		if (cl->n == 0)
			break;
		n = cl->n;
		memcpy(jobs, cl->q, n * sizeof(jobs[0]));
		cl->n = 0;
		pthread_mutex_unlock(&cl->mu);
		for (i = 0; i < n; i++)
			closer_end(&jobs[i]);
		__atomic_add_fetch(&cl->ended, n, __ATOMIC_RELAXED);
		pthread_mutex_lock(&cl->mu);
	}
	pthread_mutex_unlock(&cl->mu);
	return NULL;
}

/* Destructor: stop the thread once it has ended every job, join it. */
static int closer_destructor(struct transport_closer *cl)
{
	pthread_mutex_lock(&cl->mu);
	cl->stop = true;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	if (cl->started)
		pthread_join(cl->th, NULL);
	pthread_cond_destroy(&cl->cv);
	pthread_mutex_destroy(&cl->mu);
	return 0;
}

struct transport_closer *transport_closer_new(void *mem_ctx)
{
	struct transport_closer *cl = talloc_zero(mem_ctx,
						  struct transport_closer);

	if (cl == NULL)
		return NULL;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_cond_init(&cl->cv, NULL);
	talloc_set_destructor(cl, closer_destructor);
	return cl;
}

bool transport_closer_take(struct transport_closer *cl, int fd,
			   const uint8_t *bytes, size_t n)
{
	uint8_t *copy = NULL;
	bool taken = false;

	if (n > CLOSER_BYTES_MAX)
		return false;
	if (n > 0 && (copy = talloc_memdup(NULL, bytes, n)) == NULL)
		return false;
	pthread_mutex_lock(&cl->mu);
	if (!cl->stop && cl->n < CLOSER_MAX &&
	    (cl->started ||
	     (cl->started = pthread_create(&cl->th, NULL, closer_main, cl) ==
			    0))) {
		cl->q[cl->n].fd = fd;
		cl->q[cl->n].bytes = copy;
		cl->q[cl->n].n = n;
		if (cl->n++ == 0)
			pthread_cond_signal(&cl->cv);
		taken = true;
	}
	pthread_mutex_unlock(&cl->mu);
	if (!taken)
		talloc_free(copy);
	return taken;
}

uint64_t transport_closer_ended(const struct transport_closer *cl)
{
	return __atomic_load_n(&cl->ended, __ATOMIC_RELAXED);
}
