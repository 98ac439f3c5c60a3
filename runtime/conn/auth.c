/*
 * auth.c - the shared-secret authentication of HELLO (doc/protocol.md
 * §3.7): nonces from getrandom(2), proofs HMAC-SHA-256 over a
 * transcript with a direction label, compared in constant time; and
 * the peer's identity (shade_conn_identity).
 *
 * Both sides prove: the connecting side first (step 2), the accepting
 * side only to a peer that proved (step 3), so an accepting side never
 * answers a proof request from a stranger with a proof of its own.
 *
 * Lock order: takes no lock.  Only the reader (route.c) or the thread
 * creating the connection calls in; sends go through send.c (send_mu).
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/conn.h"
#include "shade/security.h"
#include "base/hmac_int.h"
#include "base/log_int.h"
#include "conn/auth_int.h"
#include "conn/conn_int.h"
#include "conn/send_int.h"
#include "transport/transport_int.h"

/* The direction labels of the transcript (protocol.md §3.7). */
#define LABEL_CLIENT "shade-auth client"
#define LABEL_SERVER "shade-auth server"

/* The message every failed proof gets, whatever failed: a prober learns
 * nothing about which key names exist. */
#define AUTH_FAILED "authentication failed: unknown key or wrong secret"

shade_status auth_init(shade_conn *c, const shade_conn_opts *opts,
		       shade_error **err)
{
	struct transport_peer p;
	size_t i, n;

	for (i = 0; i < opts->n_auth; i++) {
		const shade_auth_key *k = &opts->auth[i];

		n = k->name ? strlen(k->name) : 0;
		if (n == 0 || n > SHADE_AUTH_NAME_MAX)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "auth key %zu: its name must "
					       "have 1-%d bytes", i,
					       SHADE_AUTH_NAME_MAX);
		if (k->secret == NULL ||
		    k->secret_len < SHADE_AUTH_SECRET_MIN ||
		    k->secret_len > SHADE_AUTH_SECRET_MAX)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "auth key '%s': the secret "
					       "must have %d-%d bytes",
					       k->name, SHADE_AUTH_SECRET_MIN,
					       SHADE_AUTH_SECRET_MAX);
	}
	c->auth = opts->n_auth > 0 ? opts->auth : NULL;
	c->n_auth = opts->n_auth;
	c->auth_timeout_ms = opts->auth_timeout_ms > 0 ? opts->auth_timeout_ms
						       : 10000;
	c->auth_key = -1;
	c->auth_state = c->n_auth == 0 ? AUTH_DONE
			: c->accepting ? AUTH_WANT_START
				       : AUTH_WANT_NONCE;
	c->access = opts->access;
	c->access_udata = opts->access_udata;
	transport_peer(c->t, !c->accepting, &p);
	c->id.transport = p.kind;
	c->id_cred = !c->accepting;
	c->id.has_cred = p.has_cred;
	c->id.uid = p.uid;
	c->id.gid = p.gid;
	c->id.pid = p.pid;
	return SHADE_OK;
}

/* Read c's peer credentials if they are not read yet. */
static void auth_read_cred(shade_conn *c)
{
	struct transport_peer p;

	pthread_mutex_lock(&c->mu);
	if (!c->id_cred) {
		transport_peer(c->t, true, &p);
		c->id.has_cred = p.has_cred;
		c->id.uid = p.uid;
		c->id.gid = p.gid;
		c->id.pid = p.pid;
		__atomic_store_n(&c->id_cred, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->mu);
}

const shade_identity *shade_conn_identity(const shade_conn *c)
{
	/* Asked before the peer's HELLO: read the credentials now. */
	if (!__atomic_load_n(&c->id_cred, __ATOMIC_ACQUIRE))
		auth_read_cred((shade_conn *)c);
	return &c->id;
}

/* The proof of key k in direction label over c's nonces. */
static void auth_proof(const shade_conn *c, const shade_auth_key *k,
		       const char *label, uint8_t out[SHA256_LEN])
{
	struct hmac_sha256 h;
	uint8_t head[3];
	size_t n = strlen(k->name);

	head[0] = 0;
	head[1] = SHADE_PROTOCOL_VERSION;
	head[2] = (uint8_t)n;
	hmac_sha256_init(&h, k->secret, k->secret_len);
	hmac_sha256_update(&h, label, strlen(label));
	hmac_sha256_update(&h, head, sizeof(head));
	hmac_sha256_update(&h, k->name, n);
	hmac_sha256_update(&h, c->cnonce, AUTH_NONCE_LEN);
	hmac_sha256_update(&h, c->snonce, AUTH_NONCE_LEN);
	hmac_sha256_final(&h, out);
}

/* Send AUTH [20, 0, step, name, bytes]. */
static shade_status auth_send(shade_conn *c, unsigned step, const char *name,
			      const uint8_t *bytes, size_t n,
			      shade_error **err)
{
	shade_buf *b = shade_buf_new(NULL, 96);
	shade_status st;

	if (b == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	msg_begin(b, OP_AUTH, 0, 3, false);
	shade_cbor_put_uint(b, step);
	shade_cbor_put_text(b, name, strlen(name));
	shade_cbor_put_bytes(b, bytes, n);
	st = b->status != SHADE_OK
		     ? shade_error_set(err, b->status, "out of memory")
		     : send_frame(c, b, err);
	talloc_free(b);
	return st;
}

shade_status auth_start(shade_conn *c, shade_error **err)
{
	if (!random_bytes(c->cnonce, AUTH_NONCE_LEN))
		return shade_error_set(err, SHADE_ERR_IO,
				       "getrandom: no random bytes");
	return auth_send(c, 0, c->auth[0].name, c->cnonce, AUTH_NONCE_LEN,
			 err);
}

bool auth_hello(shade_conn *c, uint64_t features)
{
	auth_read_cred(c);
	if (c->n_auth == 0 || (features & HELLO_FEATURE_AUTH) != 0)
		return true;
	conn_refuse(c, SHADE_ERR_PERMISSION,
		    "authentication required: this peer serves only peers "
		    "that prove a key (HELLO feature 1, AUTH)");
	return false;
}

/* The fields of an AUTH message: step, name (NUL-terminated into name),
 * and the 32 bytes that follow it. */
static bool auth_read(struct msg *m, uint64_t *step,
		      char name[SHADE_AUTH_NAME_MAX + 1],
		      uint8_t bytes[AUTH_NONCE_LEN])
{
	const char *s;
	const uint8_t *p;
	size_t n, k;

	if (m->nfields != 3 ||
	    shade_cbor_read_uint(&m->d, step, NULL) != SHADE_OK ||
	    shade_cbor_read_text(&m->d, &s, &n, NULL) != SHADE_OK ||
	    n == 0 || n > SHADE_AUTH_NAME_MAX || memchr(s, 0, n) != NULL ||
	    shade_cbor_read_bytes(&m->d, &p, &k, NULL) != SHADE_OK ||
	    k != AUTH_NONCE_LEN)
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	memcpy(bytes, p, AUTH_NONCE_LEN);
	return true;
}

/* Accepting side: step 0 (key name, client nonce) or 2 (client proof). */
static void auth_serve(shade_conn *c, uint64_t step, const char *name,
		       const uint8_t *bytes)
{
	uint8_t want[SHA256_LEN];
	const shade_auth_key *k;
	size_t i;

	if (step == 0 && c->auth_state == AUTH_WANT_START) {
		for (i = 0; i < c->n_auth; i++)
			if (strcmp(c->auth[i].name, name) == 0)
				c->auth_key = (int)i;
		/* An unknown name gets a nonce all the same and fails at
		 * its proof, with the one message. */
		memcpy(c->cnonce, bytes, AUTH_NONCE_LEN);
		if (!random_bytes(c->snonce, AUTH_NONCE_LEN)) {
			conn_refuse(c, SHADE_ERR_IO,
				    "getrandom: no random bytes");
			return;
		}
		c->auth_state = AUTH_WANT_PROOF;
		auth_send(c, 1, name, c->snonce, AUTH_NONCE_LEN, NULL);
		return;
	}
	if (step != 2 || c->auth_state != AUTH_WANT_PROOF) {
		conn_refuse(c, SHADE_ERR_PROTOCOL, "AUTH step out of order");
		return;
	}
	k = c->auth_key >= 0 ? &c->auth[c->auth_key] : NULL;
	if (k != NULL)
		auth_proof(c, k, LABEL_CLIENT, want);
	if (k == NULL || strcmp(k->name, name) != 0 ||
	    !ct_equal(want, bytes, SHA256_LEN)) {
		wipe(want, sizeof(want));
		if (LOG_ON(SHADE_LOG_ERRORS, 1))
			log_emit(SHADE_LOG_ERRORS, 1, "%s: %s: %s (key '%s')",
				 c->side, shade_transport_address(c->t),
				 AUTH_FAILED, name);
		conn_refuse(c, SHADE_ERR_PERMISSION, AUTH_FAILED);
		return;
	}
	c->id.key = talloc_strdup(c, k->name);
	if (c->id.key == NULL) {
		conn_refuse(c, SHADE_ERR_NOMEM, "out of memory");
		return;
	}
	auth_proof(c, k, LABEL_SERVER, want);
	c->auth_state = AUTH_DONE;
	auth_send(c, 3, k->name, want, SHA256_LEN, NULL);
	wipe(want, sizeof(want));
}

/* Connecting side: step 1 (server nonce) or 3 (server proof).  A
 * failure here closes without an ERROR: the peer may be an impostor,
 * and the reason is for our caller. */
static void auth_answer(shade_conn *c, uint64_t step, const char *name,
			const uint8_t *bytes)
{
	const shade_auth_key *k = &c->auth[0];
	uint8_t want[SHA256_LEN];

	if (strcmp(name, k->name) != 0) {
		conn_lost(c, SHADE_ERR_PROTOCOL,
			  "AUTH names another key than ours");
		return;
	}
	if (step == 1 && c->auth_state == AUTH_WANT_NONCE) {
		memcpy(c->snonce, bytes, AUTH_NONCE_LEN);
		auth_proof(c, k, LABEL_CLIENT, want);
		c->auth_state = AUTH_WANT_SERVER;
		auth_send(c, 2, k->name, want, SHA256_LEN, NULL);
		wipe(want, sizeof(want));
		return;
	}
	if (step != 3 || c->auth_state != AUTH_WANT_SERVER) {
		conn_lost(c, SHADE_ERR_PROTOCOL, "AUTH step out of order");
		return;
	}
	auth_proof(c, k, LABEL_SERVER, want);
	if (!ct_equal(want, bytes, SHA256_LEN)) {
		wipe(want, sizeof(want));
		conn_lost(c, SHADE_ERR_PERMISSION,
			  "authentication failed: the peer did not prove "
			  "the key (an impostor, or another secret)");
		return;
	}
	wipe(want, sizeof(want));
	c->id.key = c->auth[0].name;
	c->auth_state = AUTH_DONE;
}

void auth_step(shade_conn *c, struct msg *m)
{
	char name[SHADE_AUTH_NAME_MAX + 1];
	uint8_t bytes[AUTH_NONCE_LEN];
	uint64_t step;

	if (c->n_auth == 0) {
		conn_refuse(c, SHADE_ERR_PERMISSION,
			    "this peer holds no keys: it does not "
			    "authenticate");
		return;
	}
	if (c->auth_state == AUTH_DONE) {
		conn_refuse(c, SHADE_ERR_PROTOCOL,
			    "AUTH after authentication completed");
		return;
	}
	if (!auth_read(m, &step, name, bytes)) {
		conn_refuse(c, SHADE_ERR_PROTOCOL, "malformed AUTH");
		return;
	}
	if (c->accepting)
		auth_serve(c, step, name, bytes);
	else
		auth_answer(c, step, name, bytes);
}
