/*
 * test_tls.c - the tls: transport over real sockets on 127.0.0.1 (port
 * 0), certificates made for each case in a fresh temporary directory by
 * tests/tls_certs.sh (certtool).
 *
 * Covered: a session end to end (dynamic calls, a typed call through the
 * bank stubs, a callback from the server to a client function, 4 MiB
 * bytes each way) on TLS 1.3; refusals with SHADE_ERR_PERMISSION and a
 * message saying why: an unknown CA, an expired certificate, a wrong
 * host name, a missing client certificate the server requires; the
 * peer's verified subject seen by a handler under mutual TLS; session
 * resumption on the second connect (and none with no_resume); a client
 * that never finishes its handshake and one that does not speak TLS do
 * not hold up the server loop and are dropped; the transport alone in
 * blocking and non-blocking mode.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "bank.h"
#include "bank_impl.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"
#include "shade/shade.h"
#include "shade/tls.h"

/* Bound of every wait. */
#define WAIT_MS 30000
/* The large value. */
#define BIG ((size_t)4 << 20)

/* ------------------------------------------------------------ certs */

/* A fresh directory with the certificates of tests/tls_certs.sh. */
static const char *make_certs(TALLOC_CTX *ctx)
{
	char *dir = tu_mkdtemp(ctx);

	assert_non_null(dir);
	assert_true(tu_make_certs(dir));
	return dir;
}

/* dir/name on ctx. */
static const char *in(TALLOC_CTX *ctx, const char *dir, const char *name)
{
	return talloc_asprintf(ctx, "%s/%s", dir, name);
}

/* ------------------------------------------------------------ server */

/* What the "whoami" handler saw last: the peer's subject in the
 * connection's identity (shade/security.h). */
static char whoami_seen[256];

/* whoami(): the verified subject of the caller's certificate, or "". */
static shade_status whoami(shade_call_ctx *call)
{
	const char *peer = shade_transport_tls_peer(
		shade_conn_transport(call->conn));
	const char *id = shade_conn_identity(call->conn)->tls_subject;

	snprintf(whoami_seen, sizeof(whoami_seen), "%s", id ? id : "(null)");
	call->result = shade_str(call->mem, peer ? peer : "");
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* echo(x): x. */
static shade_status echo(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, shade_seq_at(call->args, 0));
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* A server on a loop thread (tests/helpers/peer.h). */
struct srv {
	tp_server *tp;       /* the server and its loop thread */
	TALLOC_CTX *state;   /* the bank's objects (freed after) */
	const char *address; /* its bound address */
};

/* Start a server on tls:127.0.0.1:0 with certificate `cert` (a name in
 * dir: "server", "expired", "stranger"); with `mutual` it asks for
 * client certificates from ca and requires one when `require`.  The
 * settings live on ctx: the loop thread reads them until it stops. */
static void srv_start(struct srv *v, TALLOC_CTX *ctx, const char *dir,
		      const char *cert, bool mutual, bool require,
		      int idle_ms)
{
	shade_tls_opts *tls = talloc_zero(ctx, shade_tls_opts);
	shade_transport_opts *topts = talloc_zero(ctx, shade_transport_opts);
	shade_server_opts *sopts = talloc_zero(ctx, shade_server_opts);
	shade_ref *calc;

	assert_non_null(tls);
	assert_non_null(topts);
	assert_non_null(sopts);
	memset(v, 0, sizeof(*v));
	v->state = talloc_new(ctx);
	tls->cert_file = in(ctx, dir, talloc_asprintf(ctx, "%s.pem", cert));
	tls->key_file = in(ctx, dir, talloc_asprintf(ctx, "%s.key", cert));
	if (mutual)
		tls->ca_file = in(ctx, dir, "ca.pem");
	tls->require_client_cert = require;
	topts->tls = tls;
	sopts->transport = topts;
	sopts->idle_timeout_ms = idle_ms;
	v->tp = tp_server_new(ctx, sopts);
	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(calc, "call", th_call_plus_one, NULL,
					  false, errp_));
	assert_ok(shade_object_add_method(calc, "echo", echo, NULL, false,
					  errp_));
	assert_ok(shade_object_add_method(calc, "whoami", whoami, NULL, false,
					  errp_));
	assert_ok(shade_server_export(v->tp->s, "calc", calc, errp_));
	shade_ref_release(calc);
	assert_ok(bank_impl_export(v->state, v->tp->s, "ada", 10000, errp_));
	tp_server_listen(v->tp, "tls:127.0.0.1:0");
	v->address = v->tp->addr;
	assert_non_null(strstr(v->address, "tls:127.0.0.1:"));
	tp_server_run(v->tp);
}

/* Stop the loop thread and free the server, then the bank. */
static void srv_stop(struct srv *v)
{
	tp_server_stop(v->tp);
	talloc_free(v->state);
}

/* ------------------------------------------------------------ client */

/* Client settings: trust dir's `ca` ("ca.pem", "other-ca.pem"), send
 * the client certificate when `cert`. */
struct cli {
	shade_tls_opts tls;         /* TLS settings */
	shade_transport_opts topts; /* points at tls */
	shade_conn_opts copts;      /* points at topts */
};

/* Fill c for dir's CA file ca, with the client certificate when cert. */
static void cli_init(struct cli *c, TALLOC_CTX *ctx, const char *dir,
		     const char *ca, bool cert)
{
	memset(c, 0, sizeof(*c));
	c->tls.ca_file = in(ctx, dir, ca);
	if (cert) {
		c->tls.cert_file = in(ctx, dir, "client.pem");
		c->tls.key_file = in(ctx, dir, "client.key");
	}
	c->topts.tls = &c->tls;
	c->copts.transport = &c->topts;
}

/* add(a, b) on calc. */
static int64_t add(TALLOC_CTX *ctx, shade_ref *calc, int64_t a, int64_t b)
{
	shade_value *t = shade_tuple_new(ctx, 2), *r = NULL;
	shade_value va = shade_value_int(a), vb = shade_value_int(b);
	int64_t out;

	shade_seq_append(t, &va, NULL);
	shade_seq_append(t, &vb, NULL);
	assert_ok(shade_invoke(ctx, calc, "add", t, NULL, &r, errp_));
	out = shade_value_as_int(r);
	talloc_free(t);
	talloc_free(r);
	return out;
}

/* The client's callback: 41. */
static shade_status forty_one(shade_call_ctx *call)
{
	call->result = shade_int(call->mem, 41);
	return call->result ? SHADE_OK : SHADE_ERR_NOMEM;
}

/* Connect with c to address and expect a refusal with `code` whose
 * message holds `why`. */
static void expect_refused(TALLOC_CTX *ctx, const char *address,
			   const struct cli *c, shade_status code,
			   const char *why)
{
	shade_error *err = NULL;
	shade_conn *conn = NULL;
	shade_ref *calc = NULL;
	shade_status st;

	st = shade_connect(ctx, address, &c->copts, &conn, &err);
	if (st == SHADE_OK) {
		/* TLS 1.3: the client's handshake is over before the
		 * server has checked its certificate; the refusal comes
		 * with the first answer. */
		st = shade_lookup(conn, "calc", &calc, &err);
		talloc_free(conn);
	}
	assert_non_null(err);
	if (st != code)
		fail_msg("expected %s, got %s: %s", shade_status_name(code),
			 shade_status_name(st), err->message);
	if (strstr(err->message, why) == NULL)
		fail_msg("expected '%s' in: %s", why, err->message);
	shade_error_free(err);
	assert_null(calc);
}

/* ------------------------------------------------------------ cases */

/* Dynamic and typed calls, a callback, 4 MiB each way, over TLS 1.3. */
static void test_tls_end_to_end(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *dir = make_certs(ctx);
	shade_ref *calc, *fn, *ref;
	shade_value *t, *r = NULL;
	bank_Account *acct = NULL;
	shade_conn *conn;
	struct srv v;
	struct cli c;
	uint8_t *big;
	size_t n = 0;
	int64_t bal = 0;
	const uint8_t *p;

	srv_start(&v, ctx, dir, "server", false, false, 0);
	cli_init(&c, ctx, dir, "ca.pem", false);
	assert_ok(shade_connect(ctx, v.address, &c.copts, &conn, errp_));
	assert_string_equal(
		shade_transport_tls_version(shade_conn_transport(conn)),
		"TLS1.3");
	/* the server's verified subject, seen by the client */
	assert_string_equal(
		shade_transport_tls_peer(shade_conn_transport(conn)),
		"CN=localhost");
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	assert_int_equal(add(ctx, calc, 40, 2), 42);

	/* a callback: the server calls the client's function */
	assert_ok(shade_function_new("forty_one", forty_one, NULL, &fn,
				     errp_));
	t = shade_tuple_new(ctx, 1);
	shade_seq_append_take(t, shade_ref_value(ctx, fn), NULL);
	assert_ok(shade_invoke(ctx, calc, "call", t, NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 42);
	talloc_free(r);
	talloc_free(t);
	shade_ref_release(fn);

	/* 4 MiB up and back */
	big = talloc_size(ctx, BIG);
	tu_fill_pattern(big, BIG, 7);
	t = shade_tuple_new(ctx, 1);
	shade_seq_append_take(t, shade_bytes(ctx, big, BIG), NULL);
	assert_ok(shade_invoke(ctx, calc, "echo", t, NULL, &r, errp_));
	p = shade_value_as_bytes(r, &n);
	assert_int_equal(n, BIG);
	assert_int_equal(tu_check_pattern(p, n, 7), BIG);
	talloc_free(r);
	talloc_free(t);
	talloc_free(big);
	shade_ref_release(calc);

	/* a typed call through the generated stubs */
	assert_ok(shade_lookup(conn, "account", &ref, errp_));
	assert_ok(bank_Account_narrow(ctx, ref, &acct, errp_));
	shade_ref_release(ref);
	assert_ok(bank_Account_deposit(acct, 2500, "salary", errp_));
	assert_ok(bank_Account_get_balance(acct, &bal, errp_));
	assert_int_equal(bal, 12500);
	talloc_free(acct);

	talloc_free(conn);
	srv_stop(&v);
	talloc_free(ctx);
}

/* Every refusal is SHADE_ERR_PERMISSION with the reason, and the server
 * goes on serving the next client. */
static void test_tls_refusals(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *dir = make_certs(ctx);
	struct srv good, expired, stranger, strict;
	shade_conn *conn;
	shade_ref *calc;
	struct cli c;

	srv_start(&good, ctx, dir, "server", false, false, 0);
	srv_start(&expired, ctx, dir, "expired", false, false, 0);
	srv_start(&stranger, ctx, dir, "stranger", false, false, 0);
	srv_start(&strict, ctx, dir, "server", true, true, 0);

	/* a CA the client does not trust */
	cli_init(&c, ctx, dir, "ca.pem", false);
	expect_refused(ctx, stranger.address, &c, SHADE_ERR_PERMISSION,
		       "issuer is unknown");
	cli_init(&c, ctx, dir, "other-ca.pem", false);
	expect_refused(ctx, good.address, &c, SHADE_ERR_PERMISSION,
		       "issuer is unknown");
	/* an expired certificate */
	cli_init(&c, ctx, dir, "ca.pem", false);
	expect_refused(ctx, expired.address, &c, SHADE_ERR_PERMISSION,
		       "expired");
	/* a name the certificate does not carry */
	c.tls.server_name = "elsewhere.example";
	expect_refused(ctx, good.address, &c, SHADE_ERR_PERMISSION,
		       "does not match");
	/* ... accepted only when the check is explicitly skipped */
	c.tls.unsafe_skip_host_check = true;
	assert_ok(shade_connect(ctx, good.address, &c.copts, &conn, errp_));
	talloc_free(conn);
	/* no client certificate for a server that requires one (one from
	 * a CA the server does not name is not even sent) */
	cli_init(&c, ctx, dir, "ca.pem", false);
	expect_refused(ctx, strict.address, &c, SHADE_ERR_PERMISSION,
		       "server refused the TLS session (alert: Certificate is "
		       "required)");
	c.tls.cert_file = in(ctx, dir, "stranger.pem");
	c.tls.key_file = in(ctx, dir, "stranger.key");
	expect_refused(ctx, strict.address, &c, SHADE_ERR_PERMISSION,
		       "server refused the TLS session (alert: Certificate is "
		       "required)");

	/* the servers carry on */
	assert_ok(shade_connect(ctx, good.address, &c.copts, &conn, errp_));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	assert_int_equal(add(ctx, calc, 1, 2), 3);
	shade_ref_release(calc);
	talloc_free(conn);
	cli_init(&c, ctx, dir, "ca.pem", true);
	assert_ok(shade_connect(ctx, strict.address, &c.copts, &conn, errp_));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	assert_int_equal(add(ctx, calc, 3, 4), 7);
	shade_ref_release(calc);
	talloc_free(conn);

	srv_stop(&good);
	srv_stop(&expired);
	srv_stop(&stranger);
	srv_stop(&strict);
	talloc_free(ctx);
}

/* Mutual TLS: a handler reads the client's verified subject. */
static void test_tls_peer_identity(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *dir = make_certs(ctx);
	shade_value *t, *r = NULL;
	shade_conn *conn;
	shade_ref *calc;
	struct srv v;
	struct cli c;
	size_t n = 0;

	srv_start(&v, ctx, dir, "server", true, false, 0);
	cli_init(&c, ctx, dir, "ca.pem", true);
	assert_ok(shade_connect(ctx, v.address, &c.copts, &conn, errp_));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	t = shade_tuple_new(ctx, 0);
	assert_ok(shade_invoke(ctx, calc, "whoami", t, NULL, &r, errp_));
	assert_string_equal(shade_value_as_str(r, &n),
			    "CN=client one,O=shade test");
	assert_string_equal(whoami_seen, "CN=client one,O=shade test");
	talloc_free(r);
	r = NULL;
	shade_ref_release(calc);
	talloc_free(conn);

	/* asked for but optional: a client without one is anonymous */
	cli_init(&c, ctx, dir, "ca.pem", false);
	assert_ok(shade_connect(ctx, v.address, &c.copts, &conn, errp_));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	assert_ok(shade_invoke(ctx, calc, "whoami", t, NULL, &r, errp_));
	assert_string_equal(shade_value_as_str(r, &n), "");
	assert_string_equal(whoami_seen, "(null)");
	talloc_free(r);
	shade_ref_release(calc);
	talloc_free(conn);
	talloc_free(t);
	srv_stop(&v);
	talloc_free(ctx);
}

/* One connect to address: whether its session was resumed; a call
 * shows the session works (and brings the server's ticket). */
static bool connect_resumed(TALLOC_CTX *ctx, const char *address,
			    const struct cli *c, const char *want_peer)
{
	shade_conn *conn;
	shade_ref *calc;
	bool resumed;

	assert_ok(shade_connect(ctx, address, &c->copts, &conn, errp_));
	resumed = shade_transport_tls_resumed(shade_conn_transport(conn));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	assert_int_equal(add(ctx, calc, 20, 22), 42);
	if (want_peer != NULL) {
		shade_value *t = shade_tuple_new(ctx, 0), *r = NULL;
		size_t n = 0;

		assert_ok(shade_invoke(ctx, calc, "whoami", t, NULL, &r,
				       errp_));
		assert_string_equal(shade_value_as_str(r, &n), want_peer);
		talloc_free(r);
		talloc_free(t);
	}
	shade_ref_release(calc);
	talloc_free(conn);
	return resumed;
}

/* The second connect to an address resumes the first's session; the
 * client's identity survives resumption; no_resume resumes nothing. */
static void test_tls_resumption(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *dir = make_certs(ctx);
	struct srv v;
	struct cli c;

	srv_start(&v, ctx, dir, "server", true, false, 0);
	cli_init(&c, ctx, dir, "ca.pem", true);
	c.tls.no_resume = true;
	assert_false(connect_resumed(ctx, v.address, &c, NULL));
	assert_false(connect_resumed(ctx, v.address, &c, NULL));
	c.tls.no_resume = false;
	assert_false(connect_resumed(ctx, v.address, &c, NULL));
	assert_true(connect_resumed(ctx, v.address, &c,
				    "CN=client one,O=shade test"));
	assert_true(connect_resumed(ctx, v.address, &c, NULL));
	srv_stop(&v);
	talloc_free(ctx);
}

/* A TCP socket to address (tls:127.0.0.1:port). */
static int raw_connect(const char *address)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(strrchr(address, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* True when the server closes fd within ms (EOF or reset). */
static bool closed_within(int fd, int ms)
{
	int64_t end = tu_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	while (tu_now_ms() < end) {
		p.revents = 0;
		if (poll(&p, 1, (int)(end - tu_now_ms())) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
	return false;
}

/* A client that never finishes its handshake, and one that speaks no
 * TLS, do not hold up the loop: a good client is served meanwhile; the
 * first is dropped on the idle timeout, the second at once. */
static void test_tls_stalled_handshake(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *dir = make_certs(ctx);
	static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
	int silent, half, plain, i;
	uint8_t hello[8] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01 };
	shade_conn *conn;
	shade_ref *calc;
	struct srv v;
	struct cli c;
	int64_t t0;

	srv_start(&v, ctx, dir, "server", false, false,
		  tu_under_valgrind() ? 3000 : 600);
	silent = raw_connect(v.address);
	half = raw_connect(v.address);
	/* the start of a ClientHello record, and then nothing */
	assert_int_equal(write(half, hello, sizeof(hello)), sizeof(hello));
	plain = raw_connect(v.address);
	assert_int_equal(write(plain, junk, sizeof(junk) - 1),
			 sizeof(junk) - 1);
	t0 = tu_now_ms();
	cli_init(&c, ctx, dir, "ca.pem", false);
	assert_ok(shade_connect(ctx, v.address, &c.copts, &conn, errp_));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	for (i = 0; i < 20; i++)
		assert_int_equal(add(ctx, calc, i, 1), i + 1);
	/* served long before the stalled ones time out */
	assert_true(tu_now_ms() - t0 < (tu_under_valgrind() ? 3000 : 600));
	shade_ref_release(calc);
	talloc_free(conn);
	assert_true(closed_within(plain, 2000));
	assert_true(closed_within(silent, WAIT_MS));
	assert_true(closed_within(half, WAIT_MS));
	/* and the server goes on */
	assert_ok(shade_connect(ctx, v.address, &c.copts, &conn, errp_));
	assert_ok(shade_lookup(conn, "calc", &calc, errp_));
	assert_int_equal(add(ctx, calc, 2, 2), 4);
	shade_ref_release(calc);
	talloc_free(conn);
	close(silent);
	close(half);
	close(plain);
	srv_stop(&v);
	talloc_free(ctx);
}

/* The accepting side of test_tls_transport: non-blocking, driven by
 * poll and try_recv; echoes `frames` frames, then ends. */
struct echo_side {
	shade_listener *l;   /* where to accept */
	int frames;          /* frames to echo */
	int turns;           /* try_recv calls made */
	shade_status st;     /* how it ended */
};

/* Body of the echo thread. */
static void *echo_main(void *arg)
{
	struct echo_side *e = arg;
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_transport *t = NULL;
	uint8_t *frame;
	size_t len;
	struct pollfd p;
	int64_t end = tu_now_ms() + WAIT_MS;
	int done = 0;

	e->st = shade_listener_accept(e->l, ctx, WAIT_MS, &t, NULL);
	if (e->st == SHADE_OK)
		e->st = shade_transport_set_nonblocking(t, true, NULL);
	while (e->st >= 0 && done < e->frames && tu_now_ms() < end) {
		frame = NULL;
		e->turns++;
		e->st = shade_transport_try_recv(t, ctx, &frame, &len, NULL);
		if (e->st == SHADE_OK) {
			e->st = shade_transport_send(t, frame, len, NULL);
			talloc_free(frame);
			done++;
			continue;
		}
		if (e->st != SHADE_AGAIN)
			break;
		if (shade_transport_has_frame(t))
			continue;
		e->st = shade_transport_flush(t, NULL);
		if (e->st < 0)
			break;
		p.fd = shade_transport_fd(t);
		p.events = POLLIN | (shade_transport_wants_write(t) ? POLLOUT
								     : 0);
		p.revents = 0;
		poll(&p, 1, 100);
		e->st = SHADE_AGAIN;
	}
	while (e->st >= 0 && shade_transport_wants_write(t) &&
	       tu_now_ms() < end) {
		e->st = shade_transport_flush(t, NULL);
		p.fd = shade_transport_fd(t);
		p.events = POLLOUT;
		p.revents = 0;
		poll(&p, 1, 100);
	}
	if (e->st >= 0 && done == e->frames)
		e->st = SHADE_OK;
	talloc_free(ctx);
	return NULL;
}

/* The transport alone: the accepting side non-blocking, its handshake
 * driven by try_recv on readiness; frames both ways, one larger than a
 * TLS record and than the input buffer; a peer that speaks no TLS is a
 * protocol error; a listener without a certificate is refused. */
static void test_tls_transport(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const char *dir = make_certs(ctx);
	shade_transport_opts so = { 0 }, co = { 0 };
	shade_tls_opts st = { 0 }, ct = { 0 };
	shade_transport *a = NULL, *b = NULL;
	shade_listener *l, *l2 = NULL;
	shade_error *err = NULL;
	struct echo_side e = { 0 };
	tu_thread th;
	uint8_t *frame = NULL, *big;
	size_t len = 0, size = 200000;
	int fd, i;

	st.cert_file = in(ctx, dir, "server.pem");
	st.key_file = in(ctx, dir, "server.key");
	so.tls = &st;
	ct.ca_file = in(ctx, dir, "ca.pem");
	co.tls = &ct;
	assert_ok(shade_listener_open(ctx, "tls:127.0.0.1:0", &so, &l, errp_));
	assert_non_null(strstr(shade_listener_address(l), "tls:127.0.0.1:"));

	/* a listener without a certificate is refused */
	assert_int_equal(shade_listener_open(ctx, "tls:127.0.0.1:0", NULL,
					     &l2, &err), SHADE_ERR_INVALID);
	assert_non_null(strstr(err->message, "needs a certificate"));
	shade_error_clear(&err);

	/* a peer that speaks no TLS */
	fd = raw_connect(shade_listener_address(l));
	assert_int_equal(write(fd, "hello\n", 6), 6);
	assert_ok(shade_listener_accept(l, ctx, WAIT_MS, &b, errp_));
	assert_int_equal(shade_transport_recv(b, ctx, &frame, &len, WAIT_MS,
					      &err), SHADE_ERR_PROTOCOL);
	if (strstr(err->message, "TLS handshake failed") == NULL)
		fail_msg("%s", err->message);
	shade_error_clear(&err);
	talloc_free(b);
	close(fd);

	/* frames both ways, the accepting side non-blocking */
	e.l = l;
	e.frames = 3;
	assert_int_equal(tu_thread_start(&th, echo_main, &e), 0);
	assert_ok(shade_transport_connect(ctx, shade_listener_address(l), &co,
					  &a, errp_));
	big = talloc_size(ctx, size);
	tu_fill_pattern(big, size, 3);
	assert_ok(shade_transport_send(a, "ping", 4, errp_));
	assert_ok(shade_transport_send(a, big, size, errp_));
	assert_ok(shade_transport_send(a, "pong", 4, errp_));
	for (i = 0; i < 3; i++) {
		assert_ok(shade_transport_recv(a, ctx, &frame, &len, WAIT_MS,
					       errp_));
		if (i == 1) {
			assert_int_equal(len, size);
			assert_int_equal(tu_check_pattern(frame, len, 3), size);
		} else {
			assert_int_equal(len, 4);
			assert_memory_equal(frame, i ? "pong" : "ping", 4);
		}
		talloc_free(frame);
	}
	assert_true(tu_thread_join(&th, WAIT_MS, NULL));
	assert_int_equal(e.st, SHADE_OK);
	/* the echo side closed: end of stream */
	assert_int_equal(shade_transport_recv(a, ctx, &frame, &len, WAIT_MS,
					      &err), SHADE_ERR_CONNECTION_LOST);
	shade_error_clear(&err);
	talloc_free(a);
	talloc_free(big);
	talloc_free(l);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_tls_end_to_end),
		SUITE_CASE(test_tls_refusals),
		SUITE_CASE(test_tls_peer_identity),
		SUITE_CASE(test_tls_resumption),
		SUITE_CASE(test_tls_stalled_handshake),
		SUITE_CASE(test_tls_transport),
	};

	return SUITE_RUN("tls", tests, argc, argv);
}
