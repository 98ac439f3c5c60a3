/*
 * shade/tls.h - the tls: transport (TLS over TCP, on GnuTLS).
 *
 * "tls:host:port" (tls:[::1]:port for IPv6) connects and listens like
 * tcp: and carries the same frames inside TLS records: nothing above the
 * transport changes.  The settings are a shade_tls_opts that the
 * transport options point at (shade_transport_opts.tls); a listener
 * needs a certificate and its key, a client verifies the server by
 * default.
 *
 * Client: the server's certificate must verify against ca_file (or the
 * system's trust store when ca_file is NULL) and name the host of the
 * address (or server_name); otherwise the connection fails with
 * SHADE_ERR_PERMISSION and a message saying why (issuer unknown,
 * expired, name mismatch).  cert_file and key_file send a client
 * certificate (mutual TLS).  The session data a server hands out (TLS
 * 1.3 session tickets) is kept per address for the process's next
 * connect there, which then resumes the session (no certificate
 * exchange): shade_transport_tls_resumed().
 *
 * Server: cert_file and key_file are required.  With ca_file a client
 * certificate is asked for and, when sent, must verify against it;
 * require_client_cert refuses clients that send none
 * (SHADE_ERR_PERMISSION on both sides).  The peer's verified subject is
 * shade_transport_tls_peer(); a handler reaches it through its call
 * context: shade_transport_tls_peer(shade_conn_transport(ctx->conn)).
 *
 * Non-blocking use: an accepted tls: transport does its handshake as
 * its first reads are made, so a server loop drives it on readiness
 * (try_recv returns SHADE_AGAIN until a frame arrives) and a client that
 * never finishes it costs one session and is closed by the server's idle
 * timeout.  In blocking mode the handshake finishes inside the first
 * receive or send (bounded by handshake_timeout_ms); a client's connect
 * finishes it before returning.
 *
 * Errors: a certificate that does not verify, a missing client
 * certificate, or a peer's alert about ours is SHADE_ERR_PERMISSION; a
 * peer that does not speak TLS is SHADE_ERR_PROTOCOL; a handshake that
 * does not finish in time is SHADE_ERR_TIMEOUT; unreadable or unusable
 * certificate and key files are SHADE_ERR_INVALID at connect or listen.
 */
#ifndef SHADE_TLS_H
#define SHADE_TLS_H

#include <stdbool.h>

#include "shade/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The priority string used when shade_tls_opts.priority is NULL: TLS 1.3
 * first, TLS 1.2 for peers without it, GnuTLS's NORMAL ciphers. */
#define SHADE_TLS_DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Settings of tls: transports.  A zeroed struct is a client that
 * verifies the server against the system's trust store. */
typedef struct shade_tls_opts {
	const char *cert_file;    /* PEM certificate (chain): the server's,
				   * or the client's for mutual TLS */
	const char *key_file;     /* PEM private key of cert_file */
	const char *ca_file;      /* PEM CA certificates the peer's must
				   * verify against; client NULL: the
				   * system's; server NULL: no client
				   * certificates asked for */
	const char *server_name;  /* client: the name the server's
				   * certificate must carry; NULL: the
				   * address's host */
	const char *priority;     /* GnuTLS priority string; NULL:
				   * SHADE_TLS_DEFAULT_PRIORITY */
	bool require_client_cert; /* server: refuse a client without a
				   * certificate (needs ca_file) */
	bool unsafe_skip_host_check; /* client, UNSAFE (tests only): accept
				   * a verified certificate for any name,
				   * so any holder of a certificate from
				   * the CA can pose as the server */
	bool no_resume;           /* client: neither keep nor reuse
				   * session data */
	int handshake_timeout_ms; /* blocking handshake bound; 0: the
				   * connect timeout, else 10 s */
} shade_tls_opts;

/* The verified subject of the peer's certificate as an RFC 4514 string
 * ("CN=client,O=example"), or NULL: not a tls: transport, handshake not
 * finished, or the peer sent no certificate.  Owned by the transport. */
SHADE_API const char *shade_transport_tls_peer(const shade_transport *t);

/* True when t's TLS session was resumed from session data kept by an
 * earlier connection (no certificate exchange); false for other kinds. */
SHADE_API bool shade_transport_tls_resumed(const shade_transport *t);

/* The TLS version in use ("TLS1.3"), or NULL: not a tls: transport or
 * handshake not finished.  Static text. */
SHADE_API const char *shade_transport_tls_version(const shade_transport *t);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_TLS_H */
