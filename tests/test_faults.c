/*
 * test_faults.c - the fault-injection matrix (doc/limits.md), over real
 * Unix sockets against the real server loop (shade/server.h), then again
 * over TLS (tls:127.0.0.1:0, certificates from tests/tls_certs.sh): there
 * the misbehaving peer's raw bytes reach the server through a relay
 * thread that carries them inside a TLS session, so the server's TLS
 * transport meets every fault the plain one does.
 *
 * Every row starts a server exporting the objects of tests/fuzz/exports.h
 * and a well-behaved client thread that keeps calling obj.add() on it.
 * The loop is turned by the test thread (shade_server_run_once), which
 * also plays the misbehaving peer over a raw socket.  For each row:
 *   - the misbehaving connection gets an ERROR for its request, or is
 *     closed;
 *   - where a shade caller is on the receiving end, it gets the row's
 *     stable error code;
 *   - once the misbehaving peer is gone, the server's talloc block count
 *     and the live references are back where they were before it came;
 *   - the well-behaved client completes every call, none slower than
 *     GOOD_WORST_MS.
 *
 * This suite does not enable talloc null tracking: its client thread
 * allocates on NULL while the test thread does, and talloc's null context
 * is not thread-safe (shade/transport.h).  Without null tracking there is
 * no null context to leak.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/testutil.h"
#include "fuzz/exports.h"
#include "conn/msg_int.h"
#include "object/object_int.h"
#include "helpers/raw.h"
#include "helpers/suite.h"

/* Slowest call the well-behaved client may see while a peer misbehaves
 * (four times that under valgrind or ThreadSanitizer; three times over
 * TLS, where the server encrypts and the relay thread decrypts every
 * byte of the bad peer's flood on the same cores: under ASan one server
 * turn of test_faults_stops_reading_large_reply, sixteen 1 MiB replies,
 * takes 1.2 to 1.7 s over Unix sockets already). */
#define GOOD_WORST_MS \
	((tu_under_valgrind() ? 8000 : 2000) * (fx_tls ? 3 : 1))
/* Server output limit in these tests (backpressure). */
#define MAX_OUTPUT ((size_t)256 << 10)

/* The rows run over TLS (the second group). */
static bool fx_tls;

/* The next fx_start makes a server without workers (threads 1): for
 * the rows that count what one turn of the loop holds. */
static bool fx_single_loop;

/* The well-behaved client, on its own thread. */
struct good {
	char *address;          /* where to connect */
	shade_tls_opts tls;     /* over TLS: trust the row's CA */
	shade_transport_opts topts; /* over TLS: points at tls */
	shade_conn_opts copts;  /* over TLS: points at topts */
	pthread_mutex_t mu;     /* guards the fields below */
	pthread_cond_t cv;      /* state changed */
	bool stop;              /* asked to finish */
	bool pause;             /* asked to stay idle */
	bool idle;              /* idle (paused, or not started calling) */
	int calls;              /* calls made */
	int ok;                 /* correct answers */
	int64_t worst_ms;       /* slowest call */
	shade_status first_err; /* first failure, SHADE_OK if none */
	tu_thread th;           /* the thread */
};

/* The TLS relay of a raw peer: a Unix socket the peer connects to,
 * whose bytes go both ways inside a TLS session with the server. */
struct relay {
	int lfd;            /* listening Unix socket */
	const char *port;   /* the server's TCP port */
	const char *ca;     /* the CA file */
	tu_thread th;       /* runs relay_main */
};

/* One row's fixture. */
struct fx {
	TALLOC_CTX *ctx;   /* everything of the row */
	char *dir;         /* temporary directory */
	char *path;        /* server socket path (over TLS: the relay's) */
	struct relay relay; /* over TLS: the raw peer's relay */
	shade_server_opts so; /* server options (over TLS: points at ...) */
	shade_transport_opts topts; /* ... these, pointing at ... */
	shade_tls_opts tls; /* ... the certificate and key */
	TALLOC_CTX *sctx;  /* the server's context */
	shade_server *s;   /* the server */
	struct good g;     /* the well-behaved client */
	size_t blocks0;    /* server blocks with the good client alone */
	long refs0;        /* live references then */
};

/* ------------------------------------------------------------ good client */

/* add(a, b) on obj; returns true when the answer is right. */
static bool good_add(shade_ref *obj, int64_t a, int64_t b, shade_status *st)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 2), *r = NULL;
	bool ok = false;

	shade_seq_append_take(t, shade_int(t, a), NULL);
	shade_seq_append_take(t, shade_int(t, b), NULL);
	*st = shade_invoke(tmp, obj, "add", t, NULL, &r, NULL);
	if (*st == SHADE_OK)
		ok = shade_value_kind(r) == SHADE_INT &&
		     shade_value_as_int(r) == a + b;
	talloc_free(tmp);
	return ok;
}

/* Body of the well-behaved client. */
static void *good_main(void *arg)
{
	struct good *g = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c = NULL;
	shade_ref *obj = NULL;
	shade_status st = SHADE_OK;
	int i = 0;

	if (shade_connect(ctx, g->address, fx_tls ? &g->copts : NULL, &c,
			  NULL) != SHADE_OK ||
	    shade_lookup(c, "obj", &obj, NULL) != SHADE_OK)
		st = SHADE_ERR_CONNECTION_LOST;
	for (;;) {
		int64_t t0, dt;
		bool ok;

		pthread_mutex_lock(&g->mu);
		if (st != SHADE_OK && g->first_err == SHADE_OK)
			g->first_err = st;
		while (g->pause && !g->stop) {
			g->idle = true;
			pthread_cond_broadcast(&g->cv);
			pthread_cond_wait(&g->cv, &g->mu);
		}
		g->idle = false;
		if (g->stop || st != SHADE_OK) {
			pthread_mutex_unlock(&g->mu);
			break;
		}
		pthread_mutex_unlock(&g->mu);
		t0 = tu_now_ms();
		ok = good_add(obj, i, 1, &st);
		dt = tu_now_ms() - t0;
		pthread_mutex_lock(&g->mu);
		g->calls++;
		g->ok += ok;
		if (dt > g->worst_ms)
			g->worst_ms = dt;
		pthread_mutex_unlock(&g->mu);
		i++;
	}
	shade_ref_release(obj);
	talloc_free(ctx);
	pthread_mutex_lock(&g->mu);
	g->idle = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* ------------------------------------------------------------ the loop */

/* Turn the server loop for about ms milliseconds. */
static void fx_turn(struct fx *f, int ms)
{
	int64_t end = tu_now_ms() + ms;

	do
		assert_ok(shade_server_run_once(f->s, 5, errp_));
	while (tu_now_ms() < end);
}

/* Turn until the server holds n connections (at most 10 s). */
static void fx_turn_until_conns(struct fx *f, size_t n)
{
	int64_t end = tu_now_ms() + 10000;

	while (shade_server_conn_count(f->s) != n && tu_now_ms() < end)
		fx_turn(f, 5);
	assert_int_equal(shade_server_conn_count(f->s), n);
}

/* Ask the good client to pause (pause) or resume, turning the loop until
 * it is idle when pausing. */
static void fx_pause(struct fx *f, bool pause)
{
	int64_t end = tu_now_ms() + 10000;
	bool idle;

	pthread_mutex_lock(&f->g.mu);
	f->g.pause = pause;
	pthread_cond_broadcast(&f->g.cv);
	pthread_mutex_unlock(&f->g.mu);
	if (!pause)
		return;
	do {
		fx_turn(f, 5);
		pthread_mutex_lock(&f->g.mu);
		idle = f->g.idle;
		pthread_mutex_unlock(&f->g.mu);
	} while (!idle && tu_now_ms() < end);
	assert_true(idle);
	fx_turn(f, 20); /* let its last releases arrive */
}

/* The fixture of the running case.  It is not on the case's stack: the
 * good client's thread uses it, and after a failed assertion cmocka
 * leaves the case's frame before fx_abort runs. */
static struct fx the_fx;

/* the_fx between fx_start and fx_stop (fx_abort has work to do). */
static struct fx *fx_running;

/* Case clean-up (suite_case_cleanup): after a failed assertion, free the
 * server and stop the good client (it sees its connection lost) so the
 * next case starts clean. */
static void fx_abort(void)
{
	struct fx *f = fx_running;

	if (f == NULL)
		return;
	fx_running = NULL;
	pthread_mutex_lock(&f->g.mu);
	f->g.stop = true;
	f->g.pause = false;
	pthread_cond_broadcast(&f->g.cv);
	pthread_mutex_unlock(&f->g.mu);
	TALLOC_FREE(f->sctx);
	if (f->g.th.started)
		tu_thread_join(&f->g.th, 10000, NULL);
	if (f->relay.th.started) {
		/* the server is gone: the relay ends within a poll */
		tu_thread_join(&f->relay.th, 70000, NULL);
		close(f->relay.lfd);
	}
	talloc_free(f->ctx);
}

/* ------------------------------------------------------------ TLS */

/* A TCP socket connected to 127.0.0.1:port, non-blocking; -1 on
 * failure. */
static int tcp_connect(const char *port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Carry bytes both ways between the raw peer's socket b and the TLS
 * session s on tcp until either side ends (or a minute passes), each
 * direction through a buffer of one record, never blocking: a side that
 * does not read holds up only its own direction. */
static void relay_pump(int b, int tcp, gnutls_session_t s)
{
	uint8_t up[16384], down[16384];
	size_t up_len = 0, down_off = 0, down_len = 0;
	bool inflight = false;
	int64_t end = tu_now_ms() + 60000;
	struct pollfd p[2];
	ssize_t n;

	while (tu_now_ms() < end) {
		p[0].fd = b;
		p[0].events = (up_len == 0 ? POLLIN : 0) |
			      (down_off < down_len ? POLLOUT : 0);
		p[1].fd = tcp;
		p[1].events = (down_len == 0 ? POLLIN : 0) |
			      (up_len > 0 ? POLLOUT : 0);
		p[0].revents = p[1].revents = 0;
		if (!(down_len == 0 && gnutls_record_check_pending(s) > 0))
			poll(p, 2, 100);
		if (up_len == 0) {
			n = recv(b, up, sizeof(up), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				return; /* the peer left */
			if (n > 0)
				up_len = (size_t)n;
		}
		if (up_len > 0) {
			n = inflight ? gnutls_record_send(s, NULL, 0)
				     : gnutls_record_send(s, up, up_len);
			inflight = n == GNUTLS_E_AGAIN;
			if (n > 0)
				up_len = 0;
			else if (n != GNUTLS_E_AGAIN)
				return;
		}
		if (down_len == 0) {
			n = gnutls_record_recv(s, down, sizeof(down));
			if (n > 0)
				down_len = (size_t)n;
			else if (n != GNUTLS_E_AGAIN)
				return; /* the server closed */
		}
		if (down_off < down_len) {
			n = send(b, down + down_off, down_len - down_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				return;
			if (n > 0)
				down_off += (size_t)n;
			if (down_off == down_len)
				down_off = down_len = 0;
		}
	}
}

/* Body of the relay thread: accept the raw peer, connect to the server
 * over TLS (verifying it), pump, close both. */
static void *relay_main(void *arg)
{
	struct relay *rl = arg;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	struct pollfd p = { rl->lfd, POLLIN, 0 };
	int64_t end = tu_now_ms() + 10000;
	int b = -1, tcp = -1, r;

	if (poll(&p, 1, 10000) != 1 ||
	    (b = accept4(rl->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 ||
	    (tcp = tcp_connect(rl->port)) < 0 ||
	    gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(cred, rl->ca,
						   GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		goto done;
	gnutls_session_set_verify_cert(s, "127.0.0.1", 0);
	gnutls_transport_set_int(s, tcp);
	while ((r = gnutls_handshake(s)) == GNUTLS_E_AGAIN &&
	       tu_now_ms() < end) {
		p.fd = tcp;
		p.events = gnutls_record_get_direction(s) ? POLLOUT : POLLIN;
		poll(&p, 1, 100);
	}
	if (r == 0)
		relay_pump(b, tcp, s);
done:
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (tcp >= 0)
		close(tcp);
	if (b >= 0)
		close(b);
	return NULL;
}

/* Over TLS: listen on the row's Unix path and start the relay to the
 * server (the raw peer then connects to that path). */
static void relay_start(struct fx *f)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	f->relay.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->relay.lfd >= 0);
	assert_int_equal(bind(f->relay.lfd, (struct sockaddr *)&sun,
			      sizeof(sun)), 0);
	assert_int_equal(listen(f->relay.lfd, 1), 0);
	f->relay.port = strrchr(f->g.address, ':') + 1;
	f->relay.ca = f->g.tls.ca_file;
	assert_int_equal(tu_thread_start(&f->relay.th, relay_main, &f->relay),
			 0);
}

/* Over TLS: wait for the relay to end (its peer or the server gone). */
static void relay_join(struct fx *f)
{
	if (!f->relay.th.started)
		return;
	assert_true(tu_thread_join(&f->relay.th, 70000, NULL));
	f->relay.th.started = false;
	close(f->relay.lfd);
}

/* Start a row: server, exports, good client, baseline. */
static void fx_start(struct fx *f, TALLOC_CTX *mem_ctx,
		     int callback_timeout_ms)
{
	static const fz_config cfg = { (size_t)8 << 20, 2000 };
	shade_server_opts *so;
	shade_registry *reg;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->ctx = talloc_new(mem_ctx);
	f->dir = tu_mkdtemp(f->ctx);
	assert_non_null(f->dir);
	f->path = talloc_asprintf(f->ctx, "%s/s.sock", f->dir);
	f->sctx = talloc_new(f->ctx);
	so = &f->so;
	so->max_output = MAX_OUTPUT;
	so->threads = fx_single_loop ? 1 : 0;
	fx_single_loop = false;
	so->timeout_ms = callback_timeout_ms;
	if (fx_tls) {
		assert_true(tu_make_certs(f->dir));
		f->tls.cert_file = talloc_asprintf(f->ctx, "%s/server.pem",
						   f->dir);
		f->tls.key_file = talloc_asprintf(f->ctx, "%s/server.key",
						  f->dir);
		f->topts.tls = &f->tls;
		so->transport = &f->topts;
		f->g.tls.ca_file = talloc_asprintf(f->ctx, "%s/ca.pem",
						   f->dir);
		f->g.topts.tls = &f->g.tls;
		f->g.copts.transport = &f->g.topts;
	}
	assert_ok(shade_server_new(f->sctx, so, &f->s, errp_));
	reg = fz_exports_new(f->ctx, &cfg);
	assert_non_null(reg);
	for (i = 0; i < shade_registry_count(reg); i++)
		assert_ok(shade_server_export(
			f->s, shade_registry_name(reg, i),
			shade_registry_get(reg, shade_registry_name(reg, i)),
			errp_));
	talloc_free(reg);
	if (fx_tls) {
		assert_ok(shade_server_listen(f->s, "tls:127.0.0.1:0", errp_));
		f->g.address = talloc_strdup(f->ctx,
					     shade_server_address(f->s, 0));
	} else {
		assert_ok(shade_server_listen(
			f->s, talloc_asprintf(f->ctx, "unix:%s", f->path),
			errp_));
		f->g.address = talloc_asprintf(f->ctx, "unix:%s", f->path);
	}
	pthread_mutex_init(&f->g.mu, NULL);
	pthread_cond_init(&f->g.cv, NULL);
	f->g.pause = true;
	assert_int_equal(tu_thread_start(&f->g.th, good_main, &f->g), 0);
	fx_running = f;
	fx_turn_until_conns(f, 1);
	fx_pause(f, false);
	fx_turn(f, 50);
	fx_pause(f, true);
	f->blocks0 = talloc_total_blocks(f->sctx);
	f->refs0 = obj_live_refs();
	fx_pause(f, false);
}

/* Check the server is back to its baseline once the bad peer is gone. */
static void fx_check_clean(struct fx *f)
{
	fx_turn_until_conns(f, 1);
	fx_pause(f, true);
	assert_int_equal(talloc_total_blocks(f->sctx), f->blocks0);
	assert_int_equal(obj_live_refs(), f->refs0);
	fx_pause(f, false);
}

/* End a row: the good client must have been served throughout. */
static void fx_stop(struct fx *f)
{
	int64_t end = tu_now_ms() + 10000;

	relay_join(f);	bool idle;

	fx_turn(f, 50);
	pthread_mutex_lock(&f->g.mu);
	f->g.stop = true;
	pthread_cond_broadcast(&f->g.cv);
	pthread_mutex_unlock(&f->g.mu);
	do {
		fx_turn(f, 5);
		pthread_mutex_lock(&f->g.mu);
		idle = f->g.idle;
		pthread_mutex_unlock(&f->g.mu);
	} while (!idle && tu_now_ms() < end);
	fx_turn(f, 20);
	assert_true(tu_thread_join(&f->g.th, 10000, NULL));
	fx_running = NULL;
	pthread_cond_destroy(&f->g.cv);
	pthread_mutex_destroy(&f->g.mu);
	if (f->g.first_err != SHADE_OK)
		fail_msg("good client failed: %s",
			 shade_status_name(f->g.first_err));
	assert_true(f->g.calls > 0);
	assert_int_equal(f->g.ok, f->g.calls);
	if (f->g.worst_ms > GOOD_WORST_MS)
		fail_msg("good client waited %lld ms for a call",
			 (long long)f->g.worst_ms);
	talloc_free(f->ctx);
}

/* ------------------------------------------------------------ raw peer */

/* raw_turn_fn over a row's fixture. */
static void fx_turn_cb(void *udata, int ms)
{
	fx_turn(udata, ms);
}

/* Connect a raw peer (helpers/raw.h) to the row's server and turn until
 * the server holds it. */
static void fx_raw_open(struct fx *f, struct raw *r)
{
	if (fx_tls)
		relay_start(f);
	raw_open(r, f->ctx, f->path, fx_turn_cb, f);
	fx_turn_until_conns(f, 2);
}

/* ------------------------------------------------------------ script rows */

/* What one step of a script does. */
enum step_kind {
	S_END = 0,    /* the script is over */
	S_OBJ,        /* HELLO, LOOKUP obj as request 1 (export 1), answered */
	S_HELLO,      /* send HELLO only */
	S_SEND,       /* send one frame, payload `hex` */
	S_WRITE,      /* write the `n` bytes of `hex` as they are */
	S_DEEP,       /* send echo (request id) of an int nested n deep */
	S_TURN,       /* turn the loop for ms */
	S_ERROR,      /* expect ERROR code for request id */
	S_RETURN,     /* expect RETURN for request id */
	S_OP,         /* expect the next frame to be opcode id */
	S_CLOSED,     /* expect the server to close (ERROR code first if
		       * code != 0) */
};

/* One step of a script. */
struct step {
	enum step_kind k;   /* what it does */
	const char *hex;    /* S_SEND: hex payload; S_WRITE: raw bytes */
	size_t n;           /* S_WRITE: byte count; S_DEEP: depth */
	uint64_t id;        /* request id (S_OP: the opcode) */
	shade_status code;  /* S_ERROR, S_CLOSED: the expected code */
	int ms;             /* S_TURN: how long */
};

#define OBJ()            { .k = S_OBJ }
#define HELLO()          { .k = S_HELLO }
#define SEND(h)          { .k = S_SEND, .hex = (h) }
#define WRITE(b)         { .k = S_WRITE, .hex = (b), .n = sizeof(b) - 1 }
#define DEEP(i, depth)   { .k = S_DEEP, .id = (i), .n = (depth) }
#define TURN(t)          { .k = S_TURN, .ms = (t) }
#define ERROR(i, c)      { .k = S_ERROR, .id = (i), .code = (c) }
#define RETURN(i)        { .k = S_RETURN, .id = (i) }
#define OP(o)            { .k = S_OP, .id = (o) }
#define CLOSED(c)        { .k = S_CLOSED, .code = (c) }

/* A fault that is a script: one raw peer plays the steps against the
 * row's server (callbacks waiting callback_ms), then leaves; the server
 * must be back to its baseline and the good client served throughout. */
struct script {
	const char *name;        /* the cmocka case name */
	int callback_ms;         /* the server's callback timeout, 0: none */
	struct step steps[12];   /* ended by S_END */
};

static const struct script scripts[] = {
	{ "test_faults_garbage", 0, {
		WRITE("\xff\xfe\x00garbage that is no frame\0"),
		CLOSED(0),
	} },
	{ "test_faults_garbage_framed", 0, {
		/* well-framed garbage after a good start */
		OBJ(), SEND("ffffff"), CLOSED(SHADE_ERR_PROTOCOL),
	} },
	{ "test_faults_truncated_then_close", 0, {
		/* a 100-byte frame of which 10 bytes come, then the peer
		 * leaves */
		OBJ(),
		WRITE("\x18\x64\x85\x03\x02\x01\x63\x61\x64\x64\x82\x01"),
		TURN(50),
	} },
	{ "test_faults_oversized_length", 0, {
		/* 2 GiB announced: refused at the header, nothing allocated */
		OBJ(), WRITE("\x1a\x7f\xff\xff\xff\x85"), CLOSED(0),
	} },
	{ "test_faults_nesting_past_limit", 0, {
		OBJ(),
		DEEP(2, 10), RETURN(2),
		DEEP(3, SHADE_CBOR_DEFAULT_MAX_DEPTH + 16),
		ERROR(3, SHADE_ERR_TOO_DEEP),
		/* the connection still serves */
		SEND("8404040100"), RETURN(4),
	} },
	{ "test_faults_unknown_opcode", 0, {
		OBJ(),
		SEND("821705"), ERROR(5, SHADE_ERR_UNIMPLEMENTED),
		SEND("8318630601"), ERROR(6, SHADE_ERR_UNIMPLEMENTED),
		SEND("8404070100"), RETURN(7),
	} },
	{ "test_faults_auth_unasked", 0, {
		/* AUTH step 0 to a server without keys (protocol.md 3.7) */
		HELLO(), SEND("8514000065616c69636558200000000000000000000000000000000000000000000000000000000000000000"),
		CLOSED(SHADE_ERR_PERMISSION),
	} },
	{ "test_faults_auth_after_requests", 0, {
		/* the same once served: refused and closed all the same */
		OBJ(), SEND("8514000265616c69636558200000000000000000000000000000000000000000000000000000000000000000"),
		CLOSED(SHADE_ERR_PERMISSION),
	} },
	{ "test_faults_auth_before_hello", 0, {
		SEND("8514000065616c69636558200000000000000000000000000000000000000000000000000000000000000000"),
		CLOSED(SHADE_ERR_PROTOCOL),
	} },
	{ "test_faults_reference_never_handed_out", 0, {
		OBJ(),
		/* GETATTR on export 7, never handed out */
		SEND("8404020700"), ERROR(2, SHADE_ERR_NOT_FOUND),
		/* echo(201(9)): a "you host it" reference to nothing */
		SEND("850303016465636 86f81d8c909"),
		ERROR(3, SHADE_ERR_PROTOCOL),
		SEND("8404040100"), RETURN(4),
	} },
	{ "test_faults_double_release", 0, {
		OBJ(),
		SEND("840a000101"), SEND("840a000101"),
		/* the export is gone after the first; the second is ignored */
		SEND("8404020100"), ERROR(2, SHADE_ERR_NOT_FOUND),
		/* a new LOOKUP hands out a fresh export */
		SEND("830703636f626a"), RETURN(3),
	} },
	{ "test_faults_release_more_than_handed_out", 0, {
		OBJ(),
		SEND("830702636f626a"), RETURN(2),
		/* two handed out; releasing five is ignored... */
		SEND("840a000105"), SEND("8404030100"), RETURN(3),
		/* ...and the two are still good */
		SEND("840a000102"), SEND("8404040100"),
		ERROR(4, SHADE_ERR_NOT_FOUND),
	} },
	{ "test_faults_reply_never_requested", 0, {
		OBJ(),
		SEND("83011863 05"),
		SEND("87021862684b65794572726f7200616b8080"),
		SEND("8404020100"), RETURN(2),
	} },
	{ "test_faults_member_absent", 0, {
		/* by name and by an index past the shape */
		OBJ(),
		SEND("8503020166616273656e7480"),
		ERROR(2, SHADE_ERR_ATTRIBUTE),
		SEND("850303011863 80"), ERROR(3, SHADE_ERR_ATTRIBUTE),
	} },
	{ "test_faults_slowloris", 0, {
		/* half a frame, then silence while the good client calls */
		OBJ(), WRITE("\x18\x40\x85\x03\x02"), TURN(1000),
	} },
	{ "test_faults_callback_unanswered", 3000, {
		/* obj.call(200([1, fp])): a callback the peer never answers;
		 * the caller gets Timeout once its deadline passes, and other
		 * clients are served meanwhile (the waiting handler turns the
		 * loop for them) */
		OBJ(),
		SEND("8503020164" "63616c6c" "81d8c882011b68c10fbcb07e79f1"),
		OP(OP_CALL), TURN(3500), ERROR(2, SHADE_ERR_TIMEOUT),
	} },
	{ "test_faults_request_before_hello", 0, {
		/* [5, 15, <malformed>] as the very first frame ends the
		 * connection (protocol.md §3.1: the accepting side says
		 * HELLO before anything else) */
		SEND("83050f1c"), CLOSED(0),
	} },
	{ "test_faults_trailing_bytes", 0, {
		/* bytes after a message's last field are a protocol error
		 * (protocol.md §2); GETATTR [4, 2, 1, 0] and a stray 0 */
		OBJ(), SEND("840402010000"), ERROR(2, SHADE_ERR_PROTOCOL),
	} },
	{ "test_faults_self_reference", 0, {
		/* an object made to hold a reference to itself would leave
		 * a cycle the counts never free: the store is refused */
		HELLO(),
		/* LOOKUP type (export 1), CALL it: a new fuzz.Obj (export 2) */
		SEND("8307016474797065"), RETURN(1),
		SEND("8406020180"), RETURN(2),
		/* obj.x = the object itself: refused; then both references
		 * go back and nothing may stay alive */
		SEND("8505030261 78d8c902"), ERROR(3, SHADE_ERR_VALUE),
		SEND("860a0001010201"),
	} },
};

/* Send INVOKE echo (request id) whose argument nests depth arrays deep. */
static void raw_send_deep(struct raw *r, uint64_t id, size_t depth)
{
	char *hex = talloc_asprintf(NULL, "8503%02x0164656368 6f81",
				    (unsigned)id);
	size_t i;

	for (i = 0; i < depth; i++)
		hex = talloc_asprintf_append(hex, "81");
	hex = talloc_asprintf_append(hex, "00");
	raw_send_hex(r, hex);
	talloc_free(hex);
}

/* Play one step. */
static void play(struct fx *f, struct raw *r, const struct step *s)
{
	switch (s->k) {
	case S_OBJ:
		raw_hello_lookup(r, "obj");
		break;
	case S_HELLO:
		raw_send_hello(r);
		break;
	case S_SEND:
		raw_send_hex(r, s->hex);
		break;
	case S_WRITE:
		raw_write(r, s->hex, s->n);
		break;
	case S_DEEP:
		raw_send_deep(r, s->id, s->n);
		break;
	case S_TURN:
		fx_turn(f, s->ms);
		break;
	case S_ERROR:
		raw_expect_error(r, s->id, s->code);
		break;
	case S_RETURN:
		raw_expect_return(r, s->id);
		break;
	case S_OP:
		raw_expect_op(r, (unsigned)s->id);
		break;
	case S_CLOSED:
		raw_expect_closed(r, s->code);
		break;
	case S_END:
		break;
	}
}

#define N_SCRIPTS (sizeof(scripts) / sizeof(scripts[0]))

/* The driver of every script row; *state is the row. */
static void test_faults_script(void **state)
{
	const struct script *sc = *state;
	const struct step *s;
	struct fx *f = &the_fx;
	struct raw r;

	/* a row, not some other state cmocka handed over */
	assert_true(sc >= scripts && sc < scripts + N_SCRIPTS);

	fx_start(f, suite_case_ctx, sc->callback_ms);
	fx_raw_open(f, &r);
	for (s = sc->steps; s->k != S_END; s++)
		play(f, &r, s);
	raw_close(&r);
	fx_check_clean(f);
	fx_stop(f);
}

/* ------------------------------------------------------------ functions */

static void test_faults_flood(void **state)
{
	struct fx *f = &the_fx;
	struct raw r;
	uint8_t call[12];
	size_t worst = 0;
	int i, k;

	(void)state;

	fx_start(f, suite_case_ctx, 0);
	fx_raw_open(f, &r);
	raw_hello_lookup(&r, "obj");
	/* [3, id, 1, 3, [1, 2]] (add) with 2-byte ids, never read. */
	memcpy(call, "\x0a\x85\x03\x19\x00\x00\x01\x03\x82\x01\x02", 11);
	for (i = 0; i < 20000; i++) {
		call[4] = (uint8_t)((i + 2) >> 8);
		call[5] = (uint8_t)(i + 2);
		if (send(r.fd, call, 11, MSG_DONTWAIT | MSG_NOSIGNAL) != 11)
			break;
		if (i % 512 == 0)
			fx_turn(f, 1);
	}
	for (k = 0; k < 100; k++) {
		shade_conn *c;
		size_t j, n;

		fx_turn(f, 5);
		for (j = 0; j < shade_server_conn_count(f->s); j++) {
			c = shade_server_conn(f->s, j);
			n = shade_conn_out_pending(c);
			if (n > worst)
				worst = n;
		}
	}
	/* Unsent replies stay bounded by the limit plus one turn's worth. */
	assert_true(worst <= MAX_OUTPUT + 64 * 1024);
	raw_close(&r);
	fx_check_clean(f);
	fx_stop(f);
}

/* The dying peer's thread: wait for the server's callback request on
 * fd, then close the socket without answering. */
static void *die_on_call_main(void *arg)
{
	int fd = *(int *)arg;
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[256];

	if (poll(&p, 1, 10000) == 1)
		(void)recv(fd, buf, sizeof(buf), 0);
	close(fd);
	return NULL;
}

static void test_faults_client_dies_mid_call(void **state)
{
	struct fx *f = &the_fx;
	struct raw r;
	tu_thread th;

	(void)state;

	fx_start(f, suite_case_ctx, 5000);
	fx_raw_open(f, &r);
	raw_hello_lookup(&r, "obj");
	/* obj.call(200([1, fp])): the server calls back our export 1 and
	 * waits for the answer on this connection; the peer dies instead
	 * (on its own thread: this one is inside the server's handler). */
	assert_int_equal(tu_thread_start(&th, die_on_call_main, &r.fd), 0);
	raw_send_hex(&r, "8503020164" "63616c6c" "81d8c882011b68c10fbcb07e79f1");
	fx_turn(f, 100);
	assert_true(tu_thread_join(&th, 10000, NULL));
	r.fd = -1;
	raw_close(&r);
	fx_check_clean(f);
	fx_stop(f);
}

/* Ask for twenty 1 MiB replies without reading any; return the most
 * output the server held for one connection meanwhile. */
static size_t flood_big_replies(struct fx *f, struct raw *r)
{
	size_t worst = 0;
	int i, k;

	for (i = 0; i < 20; i++) {
		char hex[64];

		snprintf(hex, sizeof(hex), "8503%02x0163626967811a00100000",
			 (unsigned)(i + 2));
		raw_send_hex(r, hex);
	}
	for (k = 0; k < 200; k++) {
		size_t j, n;

		fx_turn(f, 5);
		for (j = 0; j < shade_server_conn_count(f->s); j++) {
			n = shade_conn_out_pending(shade_server_conn(f->s, j));
			if (n > worst)
				worst = n;
		}
	}
	return worst;
}

static void test_faults_stops_reading_large_reply(void **state)
{
	struct fx *f = &the_fx;
	struct raw r;
	size_t worst, total = 0;
	int64_t end;
	TALLOC_CTX *tmp;
	struct msg m;

	(void)state;

	/* One turn's worth of replies is the bound asserted below. */
	fx_single_loop = true;
	fx_start(f, suite_case_ctx, 0);
	fx_raw_open(f, &r);
	raw_hello_lookup(&r, "obj");
	worst = flood_big_replies(f, &r);
	/* The server stopped reading once its output passed the limit:
	 * at most the limit plus one turn of replies is held. */
	assert_true(worst > MAX_OUTPUT);
	assert_true(worst <= MAX_OUTPUT + 16 * ((size_t)1 << 20) + 4096);
	/* The peer reads again: every reply arrives. */
	tmp = talloc_new(NULL);
	/* (over TLS every byte also crosses the relay thread) */
	end = tu_now_ms() + 20000 * (tu_under_valgrind() ? 4 : 1);
	while (total < 20 && tu_now_ms() < end)
		if (raw_next(&r, tmp, &m, 1000) && m.op == OP_RETURN)
			total++;
	talloc_free(tmp);
	assert_int_equal(total, 20);
	raw_close(&r);
	fx_check_clean(f);
	fx_stop(f);
}

/* A peer that stops reading and then leaves: its connection and queued
 * replies are freed. */
static void test_faults_stops_reading_then_leaves(void **state)
{
	struct fx *f = &the_fx;
	struct raw r;

	(void)state;

	fx_single_loop = true; /* as the row above */
	fx_start(f, suite_case_ctx, 0);
	fx_raw_open(f, &r);
	raw_hello_lookup(&r, "obj");
	assert_true(flood_big_replies(f, &r) > MAX_OUTPUT);
	raw_close(&r);
	fx_check_clean(f);
	fx_stop(f);
}

/* ------------------------------------------------------------ local side */

/* A client thread's job, run while the test thread turns the loop. */
struct job {
	struct fx *f;                 /* the row */
	void (*fn)(struct job *);     /* the body */
	shade_status got;             /* the status it observed */
	uint64_t round_trips;         /* round trips it spent */
	int done;                     /* finished (atomic: read by the
				       * thread that turns the loop) */
};

/* Thread body: run the job. */
static void *job_main(void *arg)
{
	struct job *j = arg;

	j->fn(j);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Run fn on a client thread, turning the loop until it is done. */
static void fx_job(struct fx *f, struct job *j)
{
	tu_thread th;
	int64_t end = tu_now_ms() + 20000;

	j->f = f;
	j->done = 0;
	assert_int_equal(tu_thread_start(&th, job_main, j), 0);
	while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE) &&
	       tu_now_ms() < end)
		fx_turn(f, 5);
	assert_true(tu_thread_join(&th, 10000, NULL));
}

/* Invoke obj.absent(): AttributeError without a round trip. */
static void job_absent(struct job *j)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_ref *obj = NULL;
	shade_conn_stats a, b;

	j->got = SHADE_OK;
	if (shade_connect(ctx, j->f->g.address, NULL, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "obj", &obj, NULL) == SHADE_OK) {
		shade_conn_stats_get(c, &a);
		j->got = shade_invoke(ctx, obj, "absent", NULL, NULL, NULL,
				      NULL);
		shade_conn_stats_get(c, &b);
		j->round_trips = b.round_trips - a.round_trips;
	}
	shade_ref_release(obj);
	talloc_free(ctx);
}

/* Invoke obj.echo() with an argument nested past the depth limit. */
static void job_deep(struct job *j)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c;
	shade_ref *obj = NULL;
	shade_value *v = shade_int(ctx, 1);
	unsigned i;

	for (i = 0; i < SHADE_CBOR_DEFAULT_MAX_DEPTH + 8; i++) {
		shade_value *t = shade_tuple_new(ctx, 1);

		shade_seq_append_take(t, v, NULL);
		v = t;
	}
	j->got = SHADE_OK;
	if (shade_connect(ctx, j->f->g.address, NULL, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "obj", &obj, NULL) == SHADE_OK)
		j->got = shade_invoke(ctx, obj, "echo", v, NULL, NULL, NULL);
	shade_ref_release(obj);
	talloc_free(ctx);
}

/* Two slow calls outstanding with max_pending 2: the third is refused. */
static void job_pending_limit(struct job *j)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn_opts co;
	shade_conn *c;
	shade_ref *obj = NULL;
	shade_future *fs[3] = { NULL, NULL, NULL };
	shade_value *t = shade_tuple_new(ctx, 1);
	int i;

	memset(&co, 0, sizeof(co));
	co.max_pending = 2;
	shade_seq_append_take(t, shade_int(t, 200), NULL);
	j->got = SHADE_OK;
	if (shade_connect(ctx, j->f->g.address, &co, &c, NULL) == SHADE_OK &&
	    shade_lookup(c, "obj", &obj, NULL) == SHADE_OK) {
		for (i = 0; i < 3; i++) {
			shade_status st = shade_invoke_async(
				ctx, obj, "sleep", t, NULL, &fs[i], NULL);

			if (st != SHADE_OK) {
				j->got = st;
				break;
			}
		}
		for (i = 0; i < 3; i++)
			if (fs[i] != NULL)
				shade_future_wait(ctx, fs[i], 5000, NULL,
						  NULL);
	}
	shade_ref_release(obj);
	talloc_free(ctx);
}

static void test_faults_local_errors(void **state)
{
	struct fx *f = &the_fx;
	struct job j;

	(void)state;

	fx_start(f, suite_case_ctx, 0);
	memset(&j, 0, sizeof(j));
	j.fn = job_absent;
	fx_job(f, &j);
	assert_int_equal(j.got, SHADE_ERR_ATTRIBUTE);
	assert_int_equal(j.round_trips, 0);
	fx_check_clean(f);

	j.fn = job_deep;
	fx_job(f, &j);
	assert_int_equal(j.got, SHADE_ERR_TOO_DEEP);
	fx_check_clean(f);

	j.fn = job_pending_limit;
	fx_job(f, &j);
	assert_int_equal(j.got, SHADE_ERR_LIMIT);
	fx_check_clean(f);
	fx_stop(f);
}

/* The server dies in the middle of a call: the caller gets
 * ConnectionLost. */
struct dying {
	shade_conn *client;   /* the caller's connection */
	shade_status got;     /* what its call returned */
};

/* Thread body: lookup is not needed; CALL export 1 directly. */
static void *dying_main(void *arg)
{
	struct dying *d = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_ref *obj = NULL;

	d->got = shade_lookup(d->client, "obj", &obj, NULL);
	shade_ref_release(obj);
	talloc_free(ctx);
	return NULL;
}

static void test_faults_server_dies_mid_call(void **state)
{
	TALLOC_CTX *ctx = talloc_new(suite_case_ctx);
	shade_transport *a, *b;
	struct dying d;
	tu_thread th;
	uint8_t *frame;
	size_t len;
	int got = 0;

	(void)state;

	assert_ok(shade_transport_pair(ctx, NULL, &a, &b, errp_));
	assert_ok(shade_conn_new(ctx, a, false, NULL, &d.client, errp_));
	d.got = SHADE_OK;
	assert_int_equal(tu_thread_start(&th, dying_main, &d), 0);
	/* Read HELLO and the LOOKUP, then die without answering. */
	while (got < 2) {
		assert_ok(shade_transport_recv(b, ctx, &frame, &len, 5000,
					       errp_));
		talloc_free(frame);
		got++;
	}
	talloc_free(b);
	assert_true(tu_thread_join(&th, 10000, NULL));
	assert_int_equal(d.got, SHADE_ERR_CONNECTION_LOST);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ main */

/* The cases that are functions, run after the script rows; the first
 * N_OVER_TLS of them meet the server through its socket and run over
 * TLS too. */
static const struct CMUnitTest functions[] = {
	SUITE_CASE(test_faults_flood),
	SUITE_CASE(test_faults_client_dies_mid_call),
	SUITE_CASE(test_faults_stops_reading_large_reply),
	SUITE_CASE(test_faults_stops_reading_then_leaves),
#define N_OVER_TLS 4
	SUITE_CASE(test_faults_local_errors),
	SUITE_CASE(test_faults_server_dies_mid_call),
};

#define N_FUNCTIONS (sizeof(functions) / sizeof(functions[0]))

/* One cmocka case per script row (named after the row, so it can be run
 * alone), then the functions. */
int main(int argc, char **argv)
{
	struct CMUnitTest cases[N_SCRIPTS + N_FUNCTIONS];
	size_t i;
	int failed;

	suite_case_cleanup = fx_abort;
	for (i = 0; i < N_SCRIPTS; i++) {
		const struct CMUnitTest c =
			SUITE_ROW(test_faults_script, &scripts[i]);

		cases[i] = c;
		cases[i].name = scripts[i].name;
	}
	for (i = 0; i < N_FUNCTIONS; i++)
		cases[N_SCRIPTS + i] = functions[i];
	failed = suite_run_rows("faults", cases, N_SCRIPTS + N_FUNCTIONS,
				argc, argv);
	/* Again over TLS: every row and function that meets the server
	 * through its socket. */
	fx_tls = true;
	failed += suite_run_rows("faults over tls", cases,
				 N_SCRIPTS + N_OVER_TLS, argc, argv);
	return failed;
}
