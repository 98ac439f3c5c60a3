/*
 * transport_tls.c - the tls kind: an fd transport over a TCP socket whose
 * bytes go through a GnuTLS session (shade/tls.h).
 *
 * The kind is the fd kind with two slots of its own, raw_read and
 * raw_write, which the fd kind's receive and send paths use instead of
 * read(2) and writev(2): so framing, buffers, queues and every limit are
 * the fd kind's, the same over TLS as over TCP.  The socket is always
 * O_NONBLOCK underneath: "blocking mode" (t->nonblocking false) is the
 * fd kind's polling on EAGAIN, which raw_read/raw_write return when
 * GnuTLS says GNUTLS_E_AGAIN.
 *
 * Invariants of struct tls_state (the kind's state):
 * - until `handshaken`, raw_read steps the handshake (one
 *   gnutls_handshake call, returning EAGAIN while it waits) and
 *   raw_write finishes it (blocking mode) or steps it (non-blocking);
 *   a failed handshake is a sticky failure of t with its reason;
 * - `tx_inflight` > 0: GnuTLS holds a record of that many bytes that it
 *   has not finished writing (GNUTLS_E_AGAIN); the caller has counted
 *   none of them, so they are the first bytes of its next write, and the
 *   next gnutls_record_send is the (NULL, 0) call that finishes them;
 * - decrypted bytes GnuTLS holds (gnutls_record_check_pending) are
 *   drained by raw_read until the caller's buffer is full, and count as
 *   a frame in has_frame, so a readiness-driven loop never waits on a
 *   socket for bytes already read from it.
 *
 * Session resumption: a client keeps the session data of its last
 * session per address and server name in a small process-wide cache
 * (CACHE_SLOTS entries, the oldest replaced), guarded by a mutex; a
 * listener hands out TLS 1.3 session tickets under a key made when it
 * opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <talloc.h>

#include "base/clock_int.h"
#include "shade/tls.h"
#include "transport/transport_int.h"

/* Blocking handshake bound when neither option sets one. */
#define DEFAULT_HANDSHAKE_MS 10000
/* Largest plaintext of one TLS record. */
#define RECORD_MAX 16384
/* Client session data kept (addresses). */
#define CACHE_SLOTS 32
/* GnuTLS calls retried after EINTR or a warning alert, at most. */
#define MAX_RETRIES 16

/* A listener's settings, shared by the sessions it accepts (counted). */
struct tls_server {
	gnutls_certificate_credentials_t cred; /* certificate, key, CA */
	gnutls_priority_t prio;        /* the priority string, parsed */
	gnutls_datum_t ticket_key;     /* session ticket key */
	gnutls_certificate_request_t request; /* ask for client certs? */
	int refs;                      /* listener + live sessions */
};

/* The kind's state of one tls: transport. */
struct tls_state {
	gnutls_session_t s;            /* the session */
	gnutls_certificate_credentials_t cred; /* client: its own */
	struct tls_server *srv;        /* server: the listener's */
	char *cache_key;               /* client: session cache key, or
					* NULL (no_resume) */
	char *peer;                    /* verified peer subject, or NULL */
	size_t tx_inflight;            /* bytes of a record GnuTLS still
					* writes (see the invariants) */
	int64_t deadline;              /* blocking handshake deadline */
	bool handshaken;               /* the handshake finished */
	bool resumed;                  /* the session was resumed */
	bool ticket_saved;             /* client: the ticket is cached */
	bool eof;                      /* the peer ended the stream */
	bool refused;                  /* the handshake failed: alert
					* sent, our side shut down */
	uint8_t early[256];            /* client: bytes that came while
					* waiting for the server's verdict */
	size_t early_len;              /* bytes in `early` */
	unsigned verify_status;        /* server: why the client's
					* certificate was refused */
};

static const struct transport_kind tls_kind;

/* ------------------------------------------------------------ cache */

/* One client session cache entry. */
struct cache_slot {
	char *key;                     /* address + server name, malloc */
	gnutls_datum_t data;           /* session data, malloc */
	uint64_t used;                 /* stamp of the last store */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot cache[CACHE_SLOTS];
static uint64_t cache_clock;

/* Store session data under key, replacing that key's or the oldest. */
static void cache_put(const char *key, const gnutls_datum_t *d)
{
	struct cache_slot *slot = &cache[0];
	unsigned char *copy = malloc(d->size);
	char *k = strdup(key);
	size_t i;

	if (copy == NULL || k == NULL) {
		free(copy);
		free(k);
		return;
	}
	memcpy(copy, d->data, d->size);
	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < CACHE_SLOTS; i++) {
		if (cache[i].key != NULL && strcmp(cache[i].key, key) == 0) {
			slot = &cache[i];
			break;
		}
		if (cache[i].used < slot->used)
			slot = &cache[i];
	}
	free(slot->key);
	free(slot->data.data);
	slot->key = k;
	slot->data.data = copy;
	slot->data.size = d->size;
	slot->used = ++cache_clock;
	pthread_mutex_unlock(&cache_mu);
}

/* Give session s the data kept under key, if any. */
static void cache_apply(const char *key, gnutls_session_t s)
{
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].key != NULL && strcmp(cache[i].key, key) == 0) {
			gnutls_session_set_data(s, cache[i].data.data,
						cache[i].data.size);
			break;
		}
	pthread_mutex_unlock(&cache_mu);
}

/* Client: once the server's session ticket has come, keep it. */
static void save_ticket(struct tls_state *ts)
{
	gnutls_datum_t d = { NULL, 0 };

	if (ts->cache_key == NULL || ts->ticket_saved ||
	    !(gnutls_session_get_flags(ts->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	ts->ticket_saved = true;
	if (gnutls_session_get_data2(ts->s, &d) == 0 && d.size > 0)
		cache_put(ts->cache_key, &d);
	gnutls_free(d.data);
}

/* ------------------------------------------------------------ failures */

/* True for the alerts that say the peer refused our credentials. */
static bool alert_is_refusal(gnutls_alert_description_t a)
{
	switch (a) {
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_REVOKED:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_ACCESS_DENIED:
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

/* Record GnuTLS error r as t's sticky failure with a message saying
 * why; the code reported. */
static shade_status tls_fail(shade_transport *t, shade_error **err, int r)
{
	struct tls_state *ts = t->kind_state;
	const char *side = ts->srv ? "client" : "server";
	gnutls_alert_description_t a;
	gnutls_datum_t why = { NULL, 0 };
	shade_status st;
	unsigned status;

	if (!ts->handshaken && !ts->refused &&
	    r != GNUTLS_E_FATAL_ALERT_RECEIVED &&
	    r != GNUTLS_E_PREMATURE_TERMINATION && r != GNUTLS_E_PULL_ERROR &&
	    r != GNUTLS_E_PUSH_ERROR) {
		/* Tell the peer why, when that is a TLS alert (best
		 * effort: the socket does not block), and end our side so
		 * the alert arrives before the end of the stream. */
		ts->refused = true;
		gnutls_alert_send_appropriate(ts->s, r);
		shutdown(t->wfd, SHUT_WR);
	}
	switch (r) {
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
		status = r == GNUTLS_E_CERTIFICATE_ERROR
			 ? ts->verify_status
			 : gnutls_session_get_verify_cert_status(ts->s);
		if (status == 0 ||
		    gnutls_certificate_verification_status_print(
			    status, GNUTLS_CRT_X509, &why, 0) < 0)
			why.data = NULL;
		st = transport_fail(t, err, SHADE_ERR_PERMISSION,
				    "%s: the %s's certificate is refused: %s",
				    t->address, side,
				    why.data ? (const char *)why.data
					     : "it does not verify");
		gnutls_free(why.data);
		return st;
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		return transport_fail(t, err, SHADE_ERR_PERMISSION,
				      "%s: the %s sent no certificate and "
				      "one is required", t->address, side);
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		a = gnutls_alert_get(ts->s);
		return transport_fail(t, err,
				      alert_is_refusal(a) ? SHADE_ERR_PERMISSION
							  : SHADE_ERR_PROTOCOL,
				      "%s: the %s refused the TLS session "
				      "(alert: %s)", t->address, side,
				      gnutls_alert_get_name(a));
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		return transport_fail(t, err, SHADE_ERR_CONNECTION_LOST,
				      "%s: peer closed during the TLS %s",
				      t->address,
				      ts->handshaken ? "session" : "handshake");
	default:
		return transport_fail(t, err, SHADE_ERR_PROTOCOL,
				      "%s: TLS %s failed: %s", t->address,
				      ts->handshaken ? "session" : "handshake",
				      gnutls_strerror(r));
	}
}

/* ------------------------------------------------------------ handshake */

/* The handshake finished: note the peer's verified subject, whether the
 * session was resumed. */
static void handshake_done(shade_transport *t)
{
	struct tls_state *ts = t->kind_state;
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };
	unsigned n = 0;

	ts->handshaken = true;
	ts->resumed = gnutls_session_is_resumed(ts->s) != 0;
	certs = gnutls_certificate_get_peers(ts->s, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
		ts->peer = talloc_strndup(ts, (const char *)dn.data, dn.size);
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
}

/* One step of the handshake: SHADE_OK once it is done, SHADE_AGAIN while
 * it waits for the socket, or the failure (recorded on t). */
static shade_status handshake_step(shade_transport *t, shade_error **err)
{
	struct tls_state *ts = t->kind_state;
	int r, i;

	/* A warning alert or EINTR: go on, a bounded number of times. */
	for (i = 0; i < MAX_RETRIES; i++) {
		r = gnutls_handshake(ts->s);
		if (r == 0) {
			handshake_done(t);
			return SHADE_OK;
		}
		if (r == GNUTLS_E_AGAIN)
			return SHADE_AGAIN;
		if (r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r))
			break;
	}
	return tls_fail(t, err, r);
}

/* Finish the handshake, waiting on the socket in the direction GnuTLS
 * asks for, until ts->deadline. */
static shade_status handshake_finish(shade_transport *t, shade_error **err)
{
	struct tls_state *ts = t->kind_state;
	shade_status st;
	int w;

	while ((st = handshake_step(t, err)) == SHADE_AGAIN) {
		w = transport_poll_fd(t->rfd,
				      gnutls_record_get_direction(ts->s)
					      ? POLLOUT : POLLIN,
				      clock_remaining_ms(ts->deadline));
		if (w < 0)
			return transport_io_fail(t, err, errno, "poll");
		if (w == 0)
			return transport_fail(t, err, SHADE_ERR_TIMEOUT,
					      "%s: TLS handshake not finished "
					      "in time", t->address);
	}
	return st;
}

/* The listener's check of a client certificate (GnuTLS calls it during
 * the handshake): none is fine here (a listener that requires one has
 * GnuTLS refuse its absence); one sent must verify against the CA. */
static int verify_client(gnutls_session_t s)
{
	struct tls_state *ts = gnutls_session_get_ptr(s);
	unsigned n = 0, status = 0;

	if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0)
		return 0;
	if (gnutls_certificate_verify_peers3(s, NULL, &status) < 0 &&
	    status == 0)
		status = GNUTLS_CERT_INVALID;
	ts->verify_status = status;
	return status == 0 ? 0 : -1;
}

/* Client, TLS 1.3, a certificate asked for: the server checks ours only
 * after our handshake is over.  Wait (until ts->deadline) for its
 * verdict: a session ticket or its first bytes (accepted) or an alert
 * (refused), so a refusal is this connect's failure. */
static shade_status await_verdict(shade_transport *t, shade_error **err)
{
	struct tls_state *ts = t->kind_state;
	ssize_t r;
	int w, i;

	for (i = 0; i < MAX_RETRIES * 64; i++) {
		if (gnutls_session_get_flags(ts->s) &
		    GNUTLS_SFLAGS_SESSION_TICKET)
			return SHADE_OK;
		r = gnutls_record_recv(ts->s, ts->early, sizeof(ts->early));
		if (r > 0) {
			ts->early_len = (size_t)r;
			return SHADE_OK;
		}
		if (r == 0)
			return tls_fail(t, err, GNUTLS_E_PREMATURE_TERMINATION);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r != GNUTLS_E_AGAIN)
			return tls_fail(t, err, (int)r);
		w = transport_poll_fd(t->rfd, POLLIN,
				      clock_remaining_ms(ts->deadline));
		if (w < 0)
			return transport_io_fail(t, err, errno, "poll");
		if (w == 0)
			return transport_fail(t, err, SHADE_ERR_TIMEOUT,
					      "%s: no answer from the server "
					      "to our certificate in time",
					      t->address);
	}
	return SHADE_OK;
}

/* ------------------------------------------------------------ raw I/O */

/* The handshake under raw_read/raw_write: one step, or with `finish`
 * all of it (blocking mode's send).  0 once it is done, else -1 with
 * errno EAGAIN (waiting for the socket) or EPROTO (failed, recorded on
 * t). */
static int handshake_io(shade_transport *t, bool finish)
{
	struct tls_state *ts = t->kind_state;
	shade_status st;

	if (finish)
		ts->deadline = clock_deadline(DEFAULT_HANDSHAKE_MS);
	st = finish ? handshake_finish(t, NULL) : handshake_step(t, NULL);
	if (st == SHADE_OK)
		return 0;
	errno = st == SHADE_AGAIN ? EAGAIN : EPROTO;
	return -1;
}

/* The kind's raw_read: decrypted bytes into buf, stepping the handshake
 * first while it runs. */
static ssize_t tls_read(shade_transport *t, void *buf, size_t n)
{
	struct tls_state *ts = t->kind_state;
	size_t got = 0;
	ssize_t r;
	int retries = 0;

	if (!ts->handshaken && handshake_io(t, false) < 0)
		return -1;
	if (ts->early_len > 0) {
		got = n < ts->early_len ? n : ts->early_len;
		memcpy(buf, ts->early, got);
		memmove(ts->early, ts->early + got, ts->early_len - got);
		ts->early_len -= got;
		return (ssize_t)got;
	}
	if (ts->eof)
		return 0;
	while (got < n) {
		r = gnutls_record_recv(ts->s, (uint8_t *)buf + got, n - got);
		if (r > 0) {
			got += (size_t)r;
			/* Take what GnuTLS holds; the socket waits for the
			 * next read. */
			if (gnutls_record_check_pending(ts->s) == 0)
				break;
			continue;
		}
		if (r == GNUTLS_E_AGAIN)
			break;
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
			ts->eof = true;
			break;
		}
		/* EINTR or a warning alert: go on; renegotiation (TLS 1.2)
		 * is refused as a failure. */
		if (r != GNUTLS_E_REHANDSHAKE && ++retries < MAX_RETRIES &&
		    (r == GNUTLS_E_INTERRUPTED ||
		     !gnutls_error_is_fatal((int)r)))
			continue;
		tls_fail(t, NULL, (int)r);
		if (got > 0)
			break;
		errno = EPROTO;
		return -1;
	}
	save_ticket(ts);
	if (got > 0 || ts->eof)
		return (ssize_t)got;
	errno = EAGAIN;
	return -1;
}

/* The kind's raw_write: iov's bytes as records, as many as the socket
 * takes now.  Records are at most RECORD_MAX bytes; small pieces (a frame
 * header) are gathered with what follows them into one record. */
static ssize_t tls_write(shade_transport *t, const struct iovec *iov,
			 int cnt)
{
	struct tls_state *ts = t->kind_state;
	uint8_t gather[RECORD_MAX];
	size_t done = 0, skip, want, len;
	const uint8_t *p;
	ssize_t r;
	int i, first;

	if (!ts->handshaken && handshake_io(t, !t->nonblocking) < 0)
		return -1;
	for (;;) {
		if (ts->tx_inflight > 0) {
			len = ts->tx_inflight;
			r = gnutls_record_send(ts->s, NULL, 0);
		} else {
			/* The next record: from iov[first] at skip. */
			skip = done;
			first = 0;
			while (first < cnt && skip >= iov[first].iov_len) {
				skip -= iov[first].iov_len;
				first++;
			}
			if (first == cnt)
				break;
			want = iov[first].iov_len - skip;
			p = (const uint8_t *)iov[first].iov_base + skip;
			if (want >= RECORD_MAX || first == cnt - 1) {
				len = want < RECORD_MAX ? want : RECORD_MAX;
			} else {
				len = 0;
				for (i = first; i < cnt && len < RECORD_MAX;
				     i++) {
					want = iov[i].iov_len - (i == first
								? skip : 0);
					if (want > RECORD_MAX - len)
						want = RECORD_MAX - len;
					memcpy(gather + len,
					       (const uint8_t *)iov[i].iov_base +
						       (i == first ? skip : 0),
					       want);
					len += want;
				}
				p = gather;
			}
			r = gnutls_record_send(ts->s, p, len);
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			ts->tx_inflight = len;
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			break;
		}
		if (r < 0) {
			tls_fail(t, NULL, (int)r);
			errno = EPROTO;
			return -1;
		}
		ts->tx_inflight = 0;
		done += (size_t)r;
	}
	if (done == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)done;
}

/* ------------------------------------------------------------ the kind */

/* The kind's send: the generic path (the fd kind's small-frame path
 * writes to the socket itself). */
static shade_status tls_send(shade_transport *t, const void *frame,
			     size_t len, shade_error **err)
{
	return transport_send_one(t, frame, len, false, err);
}

/* The kind's has_frame: a whole frame buffered, or decrypted bytes held
 * by GnuTLS (the socket would not poll readable for them).  Also asked
 * of a closed transport (no session then). */
static bool tls_has_frame(const shade_transport *t)
{
	const struct tls_state *ts = t->kind_state;

	return transport_fd_has_frame(t) ||
	       (ts->handshaken && ts->s != NULL &&
		gnutls_record_check_pending(ts->s) > 0);
}

/* The kind's drained: the fd kind's, unless GnuTLS holds bytes. */
static bool tls_drained(const shade_transport *t)
{
	const struct tls_state *ts = t->kind_state;

	return transport_fd_drained(t) &&
	       !(ts->handshaken && ts->s != NULL &&
		 gnutls_record_check_pending(ts->s) > 0);
}

/* The kind's set_nonblocking: only the mode (the socket always is);
 * leaving it flushes the queue. */
static shade_status tls_set_nonblocking(shade_transport *t, bool on,
					shade_error **err)
{
	SHADE_CHECK(transport_check_usable(t, err));
	if (on == t->nonblocking)
		return SHADE_OK;
	t->nonblocking = on;
	return on ? SHADE_OK : transport_fd_flush(t, err);
}

/* The kind's close: a close_notify when the session is sound (without
 * waiting), the session, then the fd kind's close. */
static void tls_close(shade_transport *t)
{
	struct tls_state *ts = t->kind_state;
	char drain[4096];
	int i;

	/* A refused peer may still be sending: read what came, so that
	 * closing does not reset the connection and lose the alert. */
	for (i = 0; ts->refused && i < 16 &&
		    recv(t->rfd, drain, sizeof(drain), MSG_DONTWAIT) > 0; i++)
		;
	if (ts->handshaken &&
	    __atomic_load_n(&t->broken, __ATOMIC_ACQUIRE) == SHADE_OK &&
	    ts->tx_inflight == 0)
		gnutls_bye(ts->s, GNUTLS_SHUT_WR);
	gnutls_deinit(ts->s);
	ts->s = NULL;
	if (ts->cred != NULL)
		gnutls_certificate_free_credentials(ts->cred);
	ts->cred = NULL;
	transport_tls_server_put(ts->srv);
	ts->srv = NULL;
	transport_fd_close(t);
}

static const struct transport_kind tls_kind = {
	.send = tls_send,
	.sendv = transport_fd_sendv,
	.send_frames = transport_fd_send_frames,
	.recv = transport_fd_recv,
	.has_frame = tls_has_frame,
	.drained = tls_drained,
	.flush = transport_fd_flush,
	.set_nonblocking = tls_set_nonblocking,
	.fd = transport_fd_fd,
	.shutdown = transport_fd_shutdown,
	.close = tls_close,
	.child_pid = transport_fd_child_pid,
	.exited = transport_fd_exited,
	.raw_read = tls_read,
	.raw_write = tls_write,
};

/* ------------------------------------------------------------ setup */

/* Load cert_file + key_file (when given) and ca_file into cred. */
static shade_status load_files(gnutls_certificate_credentials_t cred,
			       const shade_tls_opts *o, bool system_trust,
			       shade_error **err)
{
	int r;

	if ((o->cert_file == NULL) != (o->key_file == NULL))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "tls: cert_file and key_file go "
				       "together");
	if (o->cert_file != NULL) {
		r = gnutls_certificate_set_x509_key_file(
			cred, o->cert_file, o->key_file, GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tls: cannot use certificate %s "
					       "with key %s: %s", o->cert_file,
					       o->key_file, gnutls_strerror(r));
	}
	if (o->ca_file != NULL) {
		r = gnutls_certificate_set_x509_trust_file(
			cred, o->ca_file, GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tls: no CA certificate in %s%s%s",
					       o->ca_file, r < 0 ? ": " : "",
					       r < 0 ? gnutls_strerror(r) : "");
	} else if (system_trust) {
		r = gnutls_certificate_set_x509_system_trust(cred);
		if (r < 0)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tls: cannot load the system's "
					       "trusted CAs: %s",
					       gnutls_strerror(r));
	}
	return SHADE_OK;
}

/* Start the kind on t (an fd transport over a connected socket): its
 * state, the socket non-blocking, a session of the given end. */
static shade_status tls_start(shade_transport *t, unsigned end,
			      const char *priority, shade_error **err)
{
	struct tls_state *ts;
	const char *where = NULL;
	int r, fl;

	fl = fcntl(t->rfd, F_GETFL);
	if (fl < 0 || fcntl(t->rfd, F_SETFL, fl | O_NONBLOCK) < 0)
		return shade_error_set(err, SHADE_ERR_IO, "%s: fcntl: %s",
				       t->address, strerror(errno));
	ts = talloc_zero(t, struct tls_state);
	if (ts == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	r = gnutls_init(&ts->s, end | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (r < 0) {
		talloc_free(ts);
		return shade_error_set(err, SHADE_ERR_NOMEM, "tls: %s",
				       gnutls_strerror(r));
	}
	if (priority != NULL) {
		r = gnutls_priority_set_direct(ts->s, priority, &where);
		if (r < 0) {
			gnutls_deinit(ts->s);
			talloc_free(ts);
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tls: bad priority string at "
					       "'%s': %s", where ? where : "",
					       gnutls_strerror(r));
		}
	}
	gnutls_transport_set_int(ts->s, t->rfd);
	t->kind_state = ts;
	t->kind = &tls_kind;
	return SHADE_OK;
}

shade_status transport_tls_connect(shade_transport *t, const char *host,
				   const shade_transport_opts *o,
				   shade_error **err)
{
	static const shade_tls_opts zero;
	const shade_tls_opts *to = o->tls ? o->tls : &zero;
	const char *name = to->server_name ? to->server_name : host;
	struct tls_state *ts;
	int ms, r;

	SHADE_CHECK(tls_start(t, GNUTLS_CLIENT,
			      to->priority ? to->priority
					   : SHADE_TLS_DEFAULT_PRIORITY,
			      err));
	ts = t->kind_state;
	if (gnutls_certificate_allocate_credentials(&ts->cred) < 0)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	SHADE_CHECK(load_files(ts->cred, to, true, err));
	r = gnutls_credentials_set(ts->s, GNUTLS_CRD_CERTIFICATE, ts->cred);
	if (r >= 0)
		r = gnutls_server_name_set(ts->s, GNUTLS_NAME_DNS, name,
					   strlen(name));
	if (r < 0)
		return shade_error_set(err, SHADE_ERR_INVALID, "%s: tls: %s",
				       t->address, gnutls_strerror(r));
	gnutls_session_set_verify_cert(ts->s,
				       to->unsafe_skip_host_check ? NULL : name,
				       0);
	if (!to->no_resume) {
		/* One identity's session is not another's. */
		ts->cache_key = talloc_asprintf(ts, "%s|%s|%s", t->address,
						name, to->cert_file ? to->cert_file
								    : "");
		if (ts->cache_key == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		cache_apply(ts->cache_key, ts->s);
	}
	ms = to->handshake_timeout_ms > 0 ? to->handshake_timeout_ms
	     : o->connect_timeout_ms > 0  ? o->connect_timeout_ms
					  : DEFAULT_HANDSHAKE_MS;
	ts->deadline = clock_deadline(ms);
	SHADE_CHECK(handshake_finish(t, err));
	if (gnutls_protocol_get_version(ts->s) == GNUTLS_TLS1_3 &&
	    gnutls_certificate_client_get_request_status(ts->s))
		return await_verdict(t, err);
	return SHADE_OK;
}

shade_status transport_tls_accept(shade_transport *t, struct tls_server *srv,
				  shade_error **err)
{
	struct tls_state *ts;
	int r;

	SHADE_CHECK(tls_start(t, GNUTLS_SERVER, NULL, err));
	ts = t->kind_state;
	r = gnutls_priority_set(ts->s, srv->prio);
	if (r >= 0)
		r = gnutls_credentials_set(ts->s, GNUTLS_CRD_CERTIFICATE,
					   srv->cred);
	if (r >= 0)
		r = gnutls_session_ticket_enable_server(ts->s,
							&srv->ticket_key);
	if (r < 0)
		return shade_error_set(err, SHADE_ERR_IO, "%s: tls: %s",
				       t->address, gnutls_strerror(r));
	gnutls_certificate_server_set_request(ts->s, srv->request);
	gnutls_session_set_ptr(ts->s, ts);
	__atomic_add_fetch(&srv->refs, 1, __ATOMIC_RELAXED);
	ts->srv = srv;
	return SHADE_OK;
}

shade_status transport_tls_server_new(const shade_tls_opts *o,
				      struct tls_server **out,
				      shade_error **err)
{
	struct tls_server *srv;
	const char *where = NULL;
	shade_status st;
	int r;

	if (o == NULL || o->cert_file == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "tls: a listener needs a certificate "
				       "and key (shade_tls_opts cert_file, "
				       "key_file)");
	if (o->require_client_cert && o->ca_file == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "tls: require_client_cert needs the "
				       "CA to check them with (ca_file)");
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	srv->refs = 1;
	srv->request = o->require_client_cert ? GNUTLS_CERT_REQUIRE
		       : o->ca_file != NULL   ? GNUTLS_CERT_REQUEST
					      : GNUTLS_CERT_IGNORE;
	if (gnutls_certificate_allocate_credentials(&srv->cred) < 0) {
		free(srv);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	st = load_files(srv->cred, o, false, err);
	if (st < 0)
		goto fail;
	if (srv->request != GNUTLS_CERT_IGNORE)
		gnutls_certificate_set_verify_function(srv->cred,
						       verify_client);
	r = gnutls_priority_init(&srv->prio,
				 o->priority ? o->priority
					     : SHADE_TLS_DEFAULT_PRIORITY,
				 &where);
	if (r < 0) {
		srv->prio = NULL;
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     "tls: bad priority string at '%s': %s",
				     where ? where : "", gnutls_strerror(r));
		goto fail;
	}
	r = gnutls_session_ticket_key_generate(&srv->ticket_key);
	if (r < 0) {
		st = shade_error_set(err, SHADE_ERR_IO, "tls: %s",
				     gnutls_strerror(r));
		goto fail;
	}
	*out = srv;
	return SHADE_OK;
fail:
	transport_tls_server_put(srv);
	return st;
}

void transport_tls_server_put(struct tls_server *srv)
{
	if (srv == NULL || __atomic_sub_fetch(&srv->refs, 1,
					      __ATOMIC_ACQ_REL) > 0)
		return;
	if (srv->ticket_key.data != NULL) {
		gnutls_memset(srv->ticket_key.data, 0, srv->ticket_key.size);
		gnutls_free(srv->ticket_key.data);
	}
	if (srv->prio != NULL)
		gnutls_priority_deinit(srv->prio);
	gnutls_certificate_free_credentials(srv->cred);
	free(srv);
}

/* ------------------------------------------------------------ public */

const char *shade_transport_tls_peer(const shade_transport *t)
{
	const struct tls_state *ts;

	if (t == NULL || t->kind != &tls_kind || t->closed)
		return NULL;
	ts = t->kind_state;
	return ts->handshaken ? ts->peer : NULL;
}

bool shade_transport_tls_resumed(const shade_transport *t)
{
	return t != NULL && t->kind == &tls_kind &&
	       ((const struct tls_state *)t->kind_state)->resumed;
}

const char *shade_transport_tls_version(const shade_transport *t)
{
	const struct tls_state *ts;

	if (t == NULL || t->kind != &tls_kind || t->closed)
		return NULL;
	ts = t->kind_state;
	if (!ts->handshaken)
		return NULL;
	return gnutls_protocol_get_name(gnutls_protocol_get_version(ts->s));
}
