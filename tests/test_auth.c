/*
 * test_auth.c - authentication, identity and access control over real
 * sockets (doc/security.md): HMAC-SHA-256 against the RFC 4231 vectors,
 * the HELLO/AUTH exchange (success, a wrong secret, a replayed proof, a
 * peer without a key, a server without keys), the peer's SO_PEERCRED
 * identity as the access hook sees it, the hook refusing a lookup and a
 * member call, read-only exports, and the mode of a Unix socket file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "base/hmac_int.h"
#include "conn/msg_int.h"
#include "helpers/peer.h"
#include "helpers/raw.h"
#include "helpers/suite.h"
#include "helpers/testutil.h"

/* ------------------------------------------------------------ HMAC */

/* Decode hex (no blanks) into a new buffer on ctx. */
static uint8_t *unhex(TALLOC_CTX *ctx, const char *hex, size_t *n)
{
	uint8_t *p = shade_hex_decode(ctx, hex, n);

	assert_non_null(p);
	return p;
}

/* RFC 4231 §4.2-4.8: key, data, HMAC-SHA-256 (case 5 is truncated to
 * 128 bits: its first 16 bytes are compared). */
static const struct {
	const char *key, *data, *mac;
} rfc4231[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	  "4869205468657265",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "4a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddddddddddddddddddd",
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
	  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
	{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
	  "546573742057697468205472756e636174696f6e",
	  "a3b6167473100ee06e0c796c2955552b" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa",
	  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	  "65204b6579202d2048617368204b6579204669727374",
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa",
	  "5468697320697320612074657374207573696e672061206c6172676572207468"
	  "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
	  "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
	  "647320746f20626520686173686564206265666f7265206265696e6720757365"
	  "642062792074686520484d414320616c676f726974686d2e",
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
};

static void test_auth_hmac_rfc4231(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	uint8_t out[SHA256_LEN];
	struct hmac_sha256 h;
	size_t i, j, kn, dn, mn;

	for (i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		uint8_t *k = unhex(ctx, rfc4231[i].key, &kn);
		uint8_t *d = unhex(ctx, rfc4231[i].data, &dn);
		uint8_t *m = unhex(ctx, rfc4231[i].mac, &mn);

		hmac_sha256(k, kn, d, dn, out);
		assert_memory_equal(out, m, mn);
		/* The same in pieces of every size crossing a block. */
		for (j = 1; j < dn; j += 7) {
			hmac_sha256_init(&h, k, kn);
			hmac_sha256_update(&h, d, j);
			hmac_sha256_update(&h, d + j, dn - j);
			hmac_sha256_final(&h, out);
			assert_memory_equal(out, m, mn);
		}
	}
	assert_true(ct_equal("abcd", "abcd", 4));
	assert_false(ct_equal("abcd", "abce", 4));
	talloc_free(ctx);
}

/* FIPS 180-4 examples: "abc" and the two-block message. */
static void test_auth_sha256(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	static const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmn"
				 "lmnomnopnopq";
	uint8_t out[SHA256_LEN];
	struct sha256 s;
	size_t n;

	sha256_init(&s);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, out);
	assert_memory_equal(out, unhex(ctx, "ba7816bf8f01cfea414140de5dae2223"
					    "b00361a396177a9cb410ff61f20015ad",
				       &n), 32);
	sha256_init(&s);
	sha256_update(&s, two, strlen(two));
	sha256_final(&s, out);
	assert_memory_equal(out, unhex(ctx, "248d6a61d20638b8e5c026930c3e6039"
					    "a33ce45964ff2167f6ecedd419db06c1",
				       &n), 32);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ a server */

/* The secrets of the tests' keys (32 bytes each). */
static const uint8_t alice_secret[32] = "alice: 32 bytes of shared secret";
static const uint8_t bob_secret[32] = "bob's own 32 bytes, not alice's!";
static const uint8_t wrong_secret[32] = "alice: 32 bytes of WRONG secret!";

static const shade_auth_key server_keys[] = {
	{ "alice", alice_secret, sizeof(alice_secret) },
	{ "bob", bob_secret, sizeof(bob_secret) },
};

/* What the test server counts and what its hook decides and saw. */
struct probe {
	int calls;                 /* handler runs (atomic) */
	int sets;                  /* setter runs (atomic) */
	int hooked;                /* hook calls (atomic) */
	shade_identity seen;       /* identity of the last hook call */
	char seen_key[64];         /* its key, copied */
	const char *deny_name;     /* LOOKUP of this name is refused */
	const char *deny_member;   /* INVOKE of this member too */
	pid_t handler_pid;         /* the peer's pid as a handler saw it */
	char handler_key[64];      /* the peer's key as a handler saw it */
};

/* The server of a case: its thread, address and probe.  The probe
 * lives on the server's block: handlers and the hook use it until the
 * loop thread stops, also when an assertion ends the case early. */
struct srv {
	tp_server *tp;             /* the server and its loop thread */
	const char *address;       /* where it listens */
	struct probe *pr;          /* counters and the hook's settings */
};

/* calc.add(a, b), counted. */
static shade_status h_add(shade_call_ctx *call)
{
	struct probe *pr = call->udata;

	const shade_identity *who = shade_conn_identity(call->conn);

	__atomic_add_fetch(&pr->calls, 1, __ATOMIC_RELAXED);
	pr->handler_pid = who->has_cred ? who->pid : -1;
	snprintf(pr->handler_key, sizeof(pr->handler_key), "%s",
		 who->key ? who->key : "");
	call->result = shade_int(
		call->mem, shade_value_as_int(shade_seq_at(call->args, 0)) +
				   shade_value_as_int(shade_seq_at(call->args, 1)));
	return SHADE_OK;
}

/* calc.level getter: 7. */
static shade_status h_get(shade_call_ctx *call)
{
	call->result = shade_int(call->mem, 7);
	return SHADE_OK;
}

/* calc.level setter, counted. */
static shade_status h_set(shade_call_ctx *call)
{
	struct probe *pr = call->udata;

	__atomic_add_fetch(&pr->sets, 1, __ATOMIC_RELAXED);
	return SHADE_OK;
}

/* The access hook: records the identity, refuses what pr names. */
static bool hook(void *udata, const shade_identity *who,
		 const shade_access *what)
{
	struct probe *pr = udata;

	__atomic_add_fetch(&pr->hooked, 1, __ATOMIC_RELAXED);
	pr->seen = *who;
	snprintf(pr->seen_key, sizeof(pr->seen_key), "%s",
		 who->key ? who->key : "");
	if (what->kind == SHADE_ACCESS_LOOKUP && pr->deny_name != NULL &&
	    strcmp(what->name, pr->deny_name) == 0)
		return false;
	if (what->kind == SHADE_ACCESS_INVOKE && what->member != NULL &&
	    pr->deny_member != NULL &&
	    strcmp(what->member, pr->deny_member) == 0)
		return false;
	return true;
}

/* A server exporting "calc" (add, level) and "other" (the same object
 * read-only when `readonly`), with keys when `keys`, the hook always,
 * listening on address (NULL: a Unix socket in a fresh directory). */
static void srv_start(struct srv *v, TALLOC_CTX *ctx, const char *address,
		      bool keys, bool readonly)
{
	shade_server_opts so;
	shade_conn_opts co;
	struct probe *pr;
	shade_ref *calc;

	memset(v, 0, sizeof(*v));
	memset(&so, 0, sizeof(so));
	memset(&co, 0, sizeof(co));
	pr = talloc_zero(ctx, struct probe);
	assert_non_null(pr);
	co.auth = keys ? server_keys : NULL;
	co.n_auth = keys ? 2 : 0;
	co.access = hook;
	co.access_udata = pr;
	so.conn = &co;
	v->tp = tp_server_new(ctx, &so);
	v->pr = talloc_steal(v->tp, pr);
	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", h_add, pr, false,
					  errp_));
	assert_ok(shade_object_add_property(calc, "level", h_get, h_set, pr,
					    errp_));
	if (readonly)
		assert_ok(shade_server_export_readonly(v->tp->s, "calc", calc,
						       errp_));
	else
		assert_ok(shade_server_export(v->tp->s, "calc", calc, errp_));
	assert_ok(shade_server_export(v->tp->s, "secret", calc, errp_));
	shade_ref_release(calc);
	tp_server_listen(v->tp, address);
	v->address = v->tp->addr;
	tp_server_run(v->tp);
}

/* Stop the loop thread and free the server. */
static void srv_stop(struct srv *v)
{
	tp_server_stop(v->tp);
}

/* Connect to v with key k (NULL: none); the status of shade_connect,
 * its error (if any) in *e. */
static shade_status connect_with(TALLOC_CTX *ctx, struct srv *v,
				 const shade_auth_key *k, shade_conn **c,
				 shade_error **e)
{
	shade_conn_opts co;

	memset(&co, 0, sizeof(co));
	co.auth = k;
	co.n_auth = k ? 1 : 0;
	return shade_connect(ctx, v->address, &co, c, e);
}

/* calc.add(a, b) on c, or the error's code (in *code) when it fails. */
static int64_t add_on(shade_conn *c, const char *name, int64_t a, int64_t b,
		      shade_status *code)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 2), *r = NULL;
	shade_value va = shade_value_int(a), vb = shade_value_int(b);
	shade_error *e = NULL;
	shade_ref *calc = NULL;
	int64_t out = -1;

	shade_seq_append(t, &va, NULL);
	shade_seq_append(t, &vb, NULL);
	*code = shade_lookup(c, name, &calc, &e);
	if (*code == SHADE_OK)
		*code = shade_invoke(tmp, calc, "add", t, NULL, &r, &e);
	if (*code == SHADE_OK)
		out = shade_value_as_int(r);
	shade_ref_release(calc);
	shade_error_free(e);
	talloc_free(tmp);
	return out;
}

/* ------------------------------------------------------------ the exchange */

/* A key proves itself both ways; the handler sees the key's name. */
static void test_auth_hmac_success(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const shade_auth_key bob = { "bob", bob_secret, sizeof(bob_secret) };
	shade_status code;
	shade_conn *c;
	struct srv v;

	srv_start(&v, ctx, NULL, true, false);
	assert_ok(connect_with(ctx, &v, &bob, &c, errp_));
	assert_string_equal(shade_conn_identity(c)->key, "bob");
	assert_int_equal(add_on(c, "calc", 2, 40, &code), 42);
	assert_int_equal(code, SHADE_OK);
	assert_string_equal(v.pr->seen_key, "bob");
	assert_string_equal(v.pr->handler_key, "bob");
	assert_int_equal(v.pr->calls, 1);
	talloc_free(c);
	srv_stop(&v);
	talloc_free(ctx);
}

/* A wrong secret: PermissionDenied at connect, nothing ever served. */
static void test_auth_wrong_secret(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const shade_auth_key bad = { "alice", wrong_secret,
				     sizeof(wrong_secret) };
	const shade_auth_key nobody = { "carol", alice_secret,
					sizeof(alice_secret) };
	shade_error *e = NULL;
	shade_conn *c = NULL;
	struct srv v;

	srv_start(&v, ctx, NULL, true, false);
	assert_int_equal(connect_with(ctx, &v, &bad, &c, &e),
			 SHADE_ERR_PERMISSION);
	assert_null(c);
	assert_string_equal(e->name, "PermissionDenied");
	assert_non_null(strstr(e->message, "authentication failed"));
	TALLOC_FREE(e);
	/* An unknown key name fails the same way, with the same words. */
	assert_int_equal(connect_with(ctx, &v, &nobody, &c, &e),
			 SHADE_ERR_PERMISSION);
	assert_non_null(strstr(e->message, "unknown key or wrong secret"));
	TALLOC_FREE(e);
	assert_int_equal(v.pr->hooked, 0);
	assert_int_equal(v.pr->calls, 0);
	srv_stop(&v);
	talloc_free(ctx);
}

/* Send AUTH [20, 0, step, name, 32 bytes] on r. */
static void raw_auth(struct raw *r, unsigned step, const char *name,
		     const uint8_t *bytes)
{
	char *nh = shade_hex_encode(NULL, name, strlen(name));
	char *bh = shade_hex_encode(NULL, bytes, 32);

	raw_send_hexf(r, "851400%02x%02x%s5820%s", step,
		      0x60u + (unsigned)strlen(name), nh, bh);
	talloc_free(nh);
	talloc_free(bh);
}

/* Read the next frame, expecting AUTH of step with name; its 32 bytes
 * into out. */
static void expect_auth(struct raw *r, TALLOC_CTX *ctx, unsigned step,
			uint8_t out[32])
{
	struct msg m;
	uint64_t s;
	const uint8_t *p;
	const char *name;
	size_t n;

	assert_true(raw_next(r, ctx, &m, 5000));
	if (m.op == OP_ERROR) {
		shade_error *e = NULL;

		assert_ok(msg_read_error(&m, NULL, &e, errp_));
		fail_msg("ERROR instead of AUTH: %s", e->message);
	}
	assert_int_equal(m.op, OP_AUTH);
	assert_ok(shade_cbor_read_uint(&m.d, &s, errp_));
	assert_int_equal(s, step);
	assert_ok(shade_cbor_read_text(&m.d, &name, &n, errp_));
	assert_ok(shade_cbor_read_bytes(&m.d, &p, &n, errp_));
	assert_int_equal(n, 32);
	memcpy(out, p, 32);
}

/* The proof of `alice` in direction label over the nonces (the
 * transcript of doc/protocol.md §3.7, written out here again). */
static void alice_proof(const char *label, const uint8_t cn[32],
			const uint8_t sn[32], uint8_t out[32])
{
	uint8_t t[17 + 3 + 5 + 64];

	memcpy(t, label, 17);
	t[17] = 0;
	t[18] = 1;
	t[19] = 5;
	memcpy(t + 20, "alice", 5);
	memcpy(t + 25, cn, 32);
	memcpy(t + 57, sn, 32);
	hmac_sha256(alice_secret, sizeof(alice_secret), t, sizeof(t), out);
}

/* The example of doc/protocol.md §3.7, byte for byte. */
static void test_auth_protocol_example(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	uint8_t cn[32], sn[32], out[32];
	size_t n;

	memset(cn, 0x11, sizeof(cn));
	memset(sn, 0x22, sizeof(sn));
	alice_proof("shade-auth client", cn, sn, out);
	assert_memory_equal(out, unhex(ctx, "bd5abe3e0da6d00988e4f61cbaa083a9"
					    "f6bbece07c24c4bf563bd3d917bab57b",
				       &n), 32);
	alice_proof("shade-auth server", cn, sn, out);
	assert_memory_equal(out, unhex(ctx, "158fe8b2eebc2b4d7a86c54752cf3293"
					    "0d548ea0696235145f6391e85e28a4f6",
				       &n), 32);
	talloc_free(ctx);
}

/* Expect an ERROR id 0 with name and message (NULL: any), then the
 * close. */
static void expect_error0(struct raw *r, TALLOC_CTX *ctx, const char *name,
			  const char *message)
{
	shade_error *e = NULL;
	struct msg m;

	assert_true(raw_next(r, ctx, &m, 5000));
	assert_int_equal(m.op, OP_ERROR);
	assert_int_equal(m.id, 0);
	assert_ok(msg_read_error(&m, NULL, &e, errp_));
	assert_string_equal(e->name, name);
	if (message != NULL)
		assert_string_equal(e->message, message);
	talloc_free(e);
	raw_expect_closed(r, 0);
}

/* Expect an ERROR id 0 PermissionDenied, then the close. */
static void expect_refused(struct raw *r, TALLOC_CTX *ctx)
{
	expect_error0(r, ctx, "PermissionDenied", NULL);
}

/* A valid proof, captured off the wire and replayed on a new
 * connection with the same client nonce: the server's fresh nonce makes
 * it worthless there.  The first connection, by the book, is served and
 * gets the server's proof. */
static void test_auth_replay(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	uint8_t cn[32], sn1[32], sn2[32], proof[32], sp[32], want[32];
	struct raw r1, r2;
	struct srv v;

	memset(cn, 0x5a, sizeof(cn));
	srv_start(&v, ctx, NULL, true, false);
	raw_open(&r1, ctx, v.address + 5, NULL, NULL);
	raw_send_hex(&r1, "8400000101");
	raw_auth(&r1, 0, "alice", cn);
	raw_expect_op(&r1, OP_HELLO);
	expect_auth(&r1, ctx, 1, sn1);
	alice_proof("shade-auth client", cn, sn1, proof);
	raw_auth(&r1, 2, "alice", proof);
	expect_auth(&r1, ctx, 3, sp);
	alice_proof("shade-auth server", cn, sn1, want);
	assert_memory_equal(sp, want, 32);
	raw_send_lookup(&r1, 1, "calc");
	raw_expect_return(&r1, 1);

	raw_open(&r2, ctx, v.address + 5, NULL, NULL);
	raw_send_hex(&r2, "8400000101");
	raw_auth(&r2, 0, "alice", cn);
	raw_expect_op(&r2, OP_HELLO);
	expect_auth(&r2, ctx, 1, sn2);
	assert_memory_not_equal(sn1, sn2, 32);
	raw_auth(&r2, 2, "alice", proof); /* the captured one */
	raw_send_lookup(&r2, 1, "calc");
	expect_refused(&r2, ctx);
	assert_int_equal(v.pr->hooked, 1); /* r1's LOOKUP only */
	raw_close(&r1);
	raw_close(&r2);
	srv_stop(&v);
	talloc_free(ctx);
}

/* A peer without a key, at a server that requires one: refused at
 * HELLO, its LOOKUP never answered (raw), and a shade client's lookup
 * fails with PermissionDenied. */
static void test_auth_required(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_error *e = NULL;
	shade_ref *calc = NULL;
	shade_status code;
	shade_conn *c;
	struct raw r;
	struct srv v;

	srv_start(&v, ctx, NULL, true, false);
	raw_open(&r, ctx, v.address + 5, NULL, NULL);
	raw_send_hello(&r);
	raw_send_lookup(&r, 1, "calc");
	expect_refused(&r, ctx);
	raw_close(&r);
	/* HELLO with the feature, then a request instead of AUTH. */
	raw_open(&r, ctx, v.address + 5, NULL, NULL);
	raw_send_hex(&r, "8400000101");
	raw_send_lookup(&r, 1, "calc");
	raw_expect_op(&r, OP_HELLO);
	expect_refused(&r, ctx);
	raw_close(&r);

	/* A shade client without a key: its LOOKUP, written behind its
	 * HELLO, fails with the refusal, or with ConnectionLost when the
	 * server had closed before it was written (doc/protocol.md §3.7). */
	assert_ok(connect_with(ctx, &v, NULL, &c, errp_));
	code = shade_lookup(c, "calc", &calc, &e);
	if (code == SHADE_ERR_PERMISSION)
		assert_non_null(strstr(e->message, "authentication required"));
	else
		assert_int_equal(code, SHADE_ERR_CONNECTION_LOST);
	assert_false(shade_conn_is_open(c));
	TALLOC_FREE(e);
	talloc_free(c);
	assert_int_equal(v.pr->hooked, 0);
	srv_stop(&v);
	talloc_free(ctx);
}

/* Malformed AUTH messages: ProtocolError "malformed AUTH" and the close,
 * whether the fields are wrong or their count is. */
static void test_auth_malformed(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	struct raw r;
	struct srv v;

	srv_start(&v, ctx, NULL, true, false);
	/* A 16-byte nonce. */
	raw_open(&r, ctx, v.address + 5, NULL, NULL);
	raw_send_hex(&r, "8400000101");
	raw_send_hex(&r, "85140000656162636465"
			 "5010000000000000000000000000000000");
	raw_expect_op(&r, OP_HELLO);
	expect_error0(&r, ctx, "ProtocolError", "malformed AUTH");
	raw_close(&r);
	/* Four fields. */
	raw_open(&r, ctx, v.address + 5, NULL, NULL);
	raw_send_hex(&r, "8400000101");
	raw_send_hex(&r, "84140000656162636465");
	raw_expect_op(&r, OP_HELLO);
	expect_error0(&r, ctx, "ProtocolError", "malformed AUTH");
	raw_close(&r);
	/* Step 2 first. */
	raw_open(&r, ctx, v.address + 5, NULL, NULL);
	raw_send_hex(&r, "8400000101");
	raw_send_hexf(&r, "85140002656162636465 5820%064d", 0);
	raw_expect_op(&r, OP_HELLO);
	expect_error0(&r, ctx, "ProtocolError", "AUTH step out of order");
	raw_close(&r);
	assert_int_equal(v.pr->hooked, 0);
	srv_stop(&v);
	talloc_free(ctx);
}

/* A client with a key refuses a server that does not prove one back. */
static void test_auth_server_without_keys(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const shade_auth_key alice = { "alice", alice_secret,
				       sizeof(alice_secret) };
	shade_error *e = NULL;
	shade_conn *c = NULL;
	struct srv v;

	srv_start(&v, ctx, NULL, false, false);
	assert_int_equal(connect_with(ctx, &v, &alice, &c, &e),
			 SHADE_ERR_PERMISSION);
	assert_non_null(strstr(e->message, "no HELLO feature 1"));
	TALLOC_FREE(e);
	assert_int_equal(v.pr->hooked, 0);
	srv_stop(&v);
	talloc_free(ctx);
}

/* Write one frame (payload given in hex) on fd. */
static void put_frame(int fd, const char *hex)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	size_t n, hl;
	uint8_t *p = shade_hex_decode(NULL, hex, &n);

	assert_non_null(p);
	hl = shade_frame_header_encode(n, head);
	assert_int_equal(tu_write_all(fd, head, hl), 0);
	assert_int_equal(tu_write_all(fd, p, n), 0);
	talloc_free(p);
}

/* A client proving `alice` over fd (taken over), its exchange bounded
 * by timeout_ms (0: the default): shade_conn_new's status. */
static shade_status alice_over(TALLOC_CTX *ctx, int fd, int timeout_ms,
			       shade_conn **c, shade_error **e)
{
	static const shade_auth_key alice = { "alice", alice_secret,
					      sizeof(alice_secret) };
	shade_transport *t;
	shade_conn_opts co;

	assert_ok(shade_transport_from_fds(ctx, fd, fd,
					   SHADE_TRANSPORT_OWN_FDS, NULL, &t,
					   errp_));
	memset(&co, 0, sizeof(co));
	co.auth = &alice;
	co.n_auth = 1;
	co.auth_timeout_ms = timeout_ms;
	return shade_conn_new(ctx, t, false, &co, c, e);
}

/* An impostor that answers HELLO and a nonce but cannot prove the key
 * (its step 3 is not the HMAC): the client refuses it. */
static void test_auth_impostor_server(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_error *e = NULL;
	shade_conn *c = NULL;
	char *hex;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Its whole side of the exchange, written ahead. */
	put_frame(sv[1], "8400000101");
	hex = talloc_asprintf(ctx, "8514000165616c6963655820%064d", 22);
	put_frame(sv[1], hex);
	hex = talloc_asprintf(ctx, "8514000365616c6963655820%064d", 33);
	put_frame(sv[1], hex);
	assert_int_equal(alice_over(ctx, sv[0], 0, &c, &e),
			 SHADE_ERR_PERMISSION);
	assert_null(c);
	assert_non_null(strstr(e->message, "did not prove the key"));
	TALLOC_FREE(e);
	close(sv[1]);
	talloc_free(ctx);
}

/* A peer that never answers: the exchange ends with Timeout at its
 * bound. */
static void test_auth_timeout(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_error *e = NULL;
	shade_conn *c = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(alice_over(ctx, sv[0], 100, &c, &e),
			 SHADE_ERR_TIMEOUT);
	assert_null(c);
	assert_non_null(strstr(e->message, "authentication"));
	TALLOC_FREE(e);
	close(sv[1]);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ identity */

/* The hook sees the uid, gid and pid of this very process on a Unix
 * socket, and none of them over TCP. */
static void test_auth_peercred(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_status code;
	shade_conn *c;
	struct srv v;

	srv_start(&v, ctx, NULL, false, false);
	assert_ok(connect_with(ctx, &v, NULL, &c, errp_));
	assert_int_equal(add_on(c, "calc", 1, 2, &code), 3);
	assert_true(v.pr->hooked >= 2);
	assert_true(v.pr->seen.has_cred);
	assert_string_equal(v.pr->seen.transport, "unix");
	assert_int_equal(v.pr->seen.uid, getuid());
	assert_int_equal(v.pr->seen.gid, getgid());
	assert_int_equal(v.pr->seen.pid, getpid());
	assert_null(v.pr->seen.key);
	assert_null(v.pr->seen.tls_subject);
	assert_int_equal(v.pr->handler_pid, getpid()); /* handlers see it */
	talloc_free(c);
	srv_stop(&v);

	srv_start(&v, ctx, "tcp:127.0.0.1:0", false, false);
	assert_ok(connect_with(ctx, &v, NULL, &c, errp_));
	assert_int_equal(add_on(c, "calc", 1, 2, &code), 3);
	assert_false(v.pr->seen.has_cred);
	assert_string_equal(v.pr->seen.transport, "tcp");
	talloc_free(c);
	srv_stop(&v);
	talloc_free(ctx);
}

/* An accepting side reads its peer's credentials at the peer's HELLO, or
 * when its identity is asked before: here before any frame, on a Unix
 * socket pair, they are this process's. */
static void test_auth_peercred_before_hello(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	const shade_identity *who;
	shade_transport *t;
	shade_conn *c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_ok(shade_transport_from_fds(ctx, sv[0], sv[0],
					   SHADE_TRANSPORT_OWN_FDS, NULL, &t,
					   errp_));
	assert_ok(shade_conn_new(ctx, t, true, NULL, &c, errp_));
	who = shade_conn_identity(c);
	assert_true(who->has_cred);
	assert_int_equal(who->uid, getuid());
	assert_int_equal(who->pid, getpid());
	assert_ptr_equal(shade_conn_identity(c), who);
	close(sv[1]);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ the hook */

/* The hook refuses LOOKUP of one name (and NAMES leaves it out) and
 * INVOKE of one member: PermissionDenied, the handler never runs. */
static void test_auth_hook_refuses(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char **names = NULL;
	size_t n = 0;
	shade_value *got = NULL;
	shade_error *e = NULL;
	shade_ref *calc;
	shade_status code;
	shade_conn *c;
	struct srv v;

	srv_start(&v, ctx, NULL, false, false);
	v.pr->deny_name = "secret";
	assert_ok(connect_with(ctx, &v, NULL, &c, errp_));
	assert_int_equal(add_on(c, "secret", 1, 2, &code), -1);
	assert_int_equal(code, SHADE_ERR_PERMISSION);
	assert_ok(shade_names(ctx, c, &names, &n, errp_));
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "calc");
	talloc_free(names);
	assert_int_equal(add_on(c, "calc", 1, 2, &code), 3);
	assert_int_equal(v.pr->calls, 1);

	v.pr->deny_member = "add";
	assert_int_equal(add_on(c, "calc", 1, 2, &code), -1);
	assert_int_equal(code, SHADE_ERR_PERMISSION);
	assert_int_equal(v.pr->calls, 1); /* not run */
	assert_true(shade_conn_is_open(c)); /* a refusal, not a close */
	/* Nor by a bound method: GETATTR of it is an INVOKE to the hook;
	 * an attribute is still read. */
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	assert_int_equal(shade_getattr(ctx, calc, "add", &got, &e),
			 SHADE_ERR_PERMISSION);
	TALLOC_FREE(e);
	assert_ok(shade_getattr(ctx, calc, "level", &got, errp_));
	assert_int_equal(shade_value_as_int(got), 7);
	shade_ref_release(calc);
	v.pr->deny_member = NULL;
	assert_int_equal(add_on(c, "calc", 1, 2, &code), 3);
	assert_int_equal(v.pr->calls, 2);
	talloc_free(c);
	srv_stop(&v);
	talloc_free(ctx);
}

/* A read-only export: attributes read, sets and invokes refused
 * (nothing runs), and a bound method is not a way around it. */
static void test_auth_readonly(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value seven = shade_value_int(7), *got = NULL;
	shade_error *e = NULL;
	shade_status code;
	shade_ref *calc;
	shade_conn *c;
	struct srv v;

	srv_start(&v, ctx, NULL, false, true);
	assert_ok(connect_with(ctx, &v, NULL, &c, errp_));
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	assert_ok(shade_getattr(ctx, calc, "level", &got, errp_));
	assert_int_equal(shade_value_as_int(got), 7);
	assert_int_equal(shade_setattr(calc, "level", &seven, &e),
			 SHADE_ERR_PERMISSION);
	assert_non_null(strstr(e->message, "read-only"));
	TALLOC_FREE(e);
	assert_int_equal(v.pr->sets, 0);
	assert_int_equal(add_on(c, "calc", 1, 2, &code), -1);
	assert_int_equal(code, SHADE_ERR_PERMISSION);
	assert_int_equal(shade_getattr(ctx, calc, "add", &got, &e),
			 SHADE_ERR_PERMISSION);
	TALLOC_FREE(e);
	assert_int_equal(v.pr->calls, 0);
	shade_ref_release(calc);
	talloc_free(c);
	srv_stop(&v);
	talloc_free(ctx);
}

/* ------------------------------------------------------------ socket mode */

/* Mode of the socket file of a server listening on path with mode
 * (0: the default) under umask m. */
static unsigned socket_mode(TALLOC_CTX *ctx, const char *path,
			    unsigned mode, mode_t m)
{
	shade_transport_opts to;
	shade_server_opts so;
	shade_server *s;
	struct stat st;
	mode_t old;

	memset(&to, 0, sizeof(to));
	memset(&so, 0, sizeof(so));
	to.unix_mode = mode;
	so.transport = &to;
	assert_ok(shade_server_new(ctx, &so, &s, errp_));
	old = umask(m);
	assert_ok(shade_server_listen(
		s, talloc_asprintf(s, "unix:%s", path), errp_));
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	talloc_free(s);
	return st.st_mode & 07777;
}

/* 0600 by default even under umask 0; the option is honoured exactly
 * even under a umask that would narrow it. */
static void test_auth_socket_mode(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	char *path = talloc_asprintf(ctx, "%s/m.sock", dir);

	assert_int_equal(socket_mode(ctx, path, 0, 0), 0600);
	assert_int_equal(socket_mode(ctx, path, 0, 022), 0600);
	assert_int_equal(socket_mode(ctx, path, 0660, 077), 0660);
	assert_int_equal(socket_mode(ctx, path, 0666, 0), 0666);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		SUITE_CASE(test_auth_hmac_rfc4231),
		SUITE_CASE(test_auth_sha256),
		SUITE_CASE(test_auth_hmac_success),
		SUITE_CASE(test_auth_wrong_secret),
		SUITE_CASE(test_auth_protocol_example),
		SUITE_CASE(test_auth_replay),
		SUITE_CASE(test_auth_required),
		SUITE_CASE(test_auth_malformed),
		SUITE_CASE(test_auth_server_without_keys),
		SUITE_CASE(test_auth_impostor_server),
		SUITE_CASE(test_auth_timeout),
		SUITE_CASE(test_auth_peercred),
		SUITE_CASE(test_auth_peercred_before_hello),
		SUITE_CASE(test_auth_hook_refuses),
		SUITE_CASE(test_auth_readonly),
		SUITE_CASE(test_auth_socket_mode),
	};

	return SUITE_RUN("auth", tests, argc, argv);
}
