/*
 * tools/monitor.c - `shade monitor LISTEN SERVER` (monitor.h): a relay
 * that accepts clients on LISTEN, connects each to SERVER, forwards every
 * frame both ways unchanged and prints each one in readable form.
 *
 * One thread, one poll loop over the listener and both transports of
 * every relayed connection, all non-blocking.  Bounded: at most
 * MONITOR_MAX_CONNS connections at once (the listener is not polled
 * while full), at most MONITOR_MAX_QUEUED bytes queued towards one side
 * (the other side is not read until they drain), at most
 * MONITOR_FRAMES_PER_TURN frames read from one side per loop turn.  A
 * frame is printed from its raw CBOR, so a message the runtime would
 * refuse is still shown (and still forwarded): the monitor judges
 * nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "shade/shade.h"
#include "shade/cbor.h"
#include "shade/transport.h"
#include "monitor.h"

/* Most connections relayed at once. */
#define MONITOR_MAX_CONNS 64
/* Most bytes queued towards one side before its peer is no longer read. */
#define MONITOR_MAX_QUEUED (4u << 20)
/* Most frames taken from one side per loop turn. */
#define MONITOR_FRAMES_PER_TURN 64
/* Deepest CBOR nesting printed. */
#define MONITOR_MAX_DEPTH 64

/* Set by SIGINT / SIGTERM. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The protocol's opcodes (doc/protocol.md, section 3). */
static const char *const op_names[] = {
	"HELLO", "RETURN", "ERROR", "INVOKE", "GETATTR", "SETATTR", "CALL",
	"LOOKUP", "NAMES", "DESCRIBE", "RELEASE", "CANCEL", "BYE", "LEN",
	"GETITEM", "SETITEM", "DELITEM", "CONTAINS", "APPEND", "FORCE"
};

/* One relayed connection. */
struct relay {
	unsigned n;             /* connection number, from 1 */
	shade_transport *t[2];  /* [0] the client, [1] the server */
};

/* Append one CBOR item at d to *s in diagnostic notation. */
static shade_status item_diag(char **s, shade_cbor_dec *d, unsigned depth,
			      shade_error **err)
{
	shade_cbor_dec save = *d;
	shade_cbor_major major;
	shade_value *v = NULL;
	uint64_t arg, i;
	bool map;

	if (depth > MONITOR_MAX_DEPTH)
		return shade_error_set(err, SHADE_ERR_TOO_DEEP,
				       "offset %zu: nested too deep", d->pos);
	SHADE_CHECK(shade_cbor_peek(d, &major, err));
	if (major == SHADE_CBOR_TAG) {
		SHADE_CHECK(shade_cbor_read_tag(d, &arg, err));
		*s = talloc_asprintf_append_buffer(*s, "%" PRIu64 "(", arg);
		SHADE_CHECK(item_diag(s, d, depth + 1, err));
		*s = talloc_strdup_append_buffer(*s, ")");
		return SHADE_OK;
	}
	if (major == SHADE_CBOR_ARRAY || major == SHADE_CBOR_MAP) {
		map = major == SHADE_CBOR_MAP;
		SHADE_CHECK(map ? shade_cbor_read_map(d, &arg, err)
				: shade_cbor_read_array(d, &arg, err));
		*s = talloc_strdup_append_buffer(*s, map ? "{" : "[");
		if (arg == SHADE_CBOR_INDEFINITE)
			*s = talloc_strdup_append_buffer(*s, "_ ");
		for (i = 0; arg == SHADE_CBOR_INDEFINITE ?
			     !shade_cbor_at_break(d) : i < arg; i++) {
			if (i > 0)
				*s = talloc_strdup_append_buffer(*s, ", ");
			SHADE_CHECK(item_diag(s, d, depth + 1, err));
			if (map) {
				*s = talloc_strdup_append_buffer(*s, ": ");
				SHADE_CHECK(item_diag(s, d, depth + 1, err));
			}
		}
		if (arg == SHADE_CBOR_INDEFINITE)
			SHADE_CHECK(shade_cbor_read_break(d, err));
		*s = talloc_strdup_append_buffer(*s, map ? "}" : "]");
		return SHADE_OK;
	}
	/* A scalar: the runtime's own printer; what it cannot hold
	 * (integers past int64, undefined, other simple values) by hand. */
	if (shade_cbor_decode_value(NULL, d, NULL, &v, NULL) == SHADE_OK) {
		char *t = shade_value_diag(NULL, v);

		*s = talloc_strdup_append_buffer(*s, t ? t : "?");
		talloc_free(t);
		talloc_free(v);
		return SHADE_OK;
	}
	*d = save;
	SHADE_CHECK(shade_cbor_read_head(d, &major, &arg, err));
	if (major == SHADE_CBOR_UINT)
		*s = talloc_asprintf_append_buffer(*s, "%" PRIu64, arg);
	else if (major == SHADE_CBOR_NINT)
		*s = talloc_asprintf_append_buffer(*s, "-1-%" PRIu64, arg);
	else if (major == SHADE_CBOR_SIMPLE && arg == 23)
		*s = talloc_strdup_append_buffer(*s, "undefined");
	else if (major == SHADE_CBOR_SIMPLE && arg != SHADE_CBOR_INDEFINITE)
		*s = talloc_asprintf_append_buffer(*s, "simple(%" PRIu64 ")",
						   arg);
	else
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "offset %zu: not a data item", save.pos);
	return SHADE_OK;
}

char *monitor_format(TALLOC_CTX *mem_ctx, unsigned conn, bool to_server,
		     const uint8_t *frame, size_t len)
{
	const char *op = "?";
	char *body = talloc_strdup(NULL, ""), *line;
	shade_error *e = NULL;
	shade_cbor_dec d;
	uint64_t n, code = 0, id = 0;

	/* The opcode and id: the first two items of the message array. */
	shade_cbor_dec_init(&d, frame, len);
	if (shade_cbor_read_array(&d, &n, NULL) == SHADE_OK && n >= 2 &&
	    shade_cbor_read_uint(&d, &code, NULL) == SHADE_OK &&
	    shade_cbor_read_uint(&d, &id, NULL) == SHADE_OK)
		op = code < sizeof(op_names) / sizeof(op_names[0])
			     ? op_names[code] : "unknown";
	shade_cbor_dec_init(&d, frame, len);
	if (item_diag(&body, &d, 0, &e) == SHADE_OK && !shade_cbor_dec_done(&d))
		shade_error_set(&e, SHADE_ERR_MALFORMED,
				"offset %zu: bytes after the message", d.pos);
	if (e != NULL) {
		char *hex = shade_hex_encode(NULL, frame, len);

		talloc_free(body);
		body = talloc_asprintf(NULL, "not CBOR (%s): h'%s'",
				       e->message, hex ? hex : "");
		talloc_free(hex);
		shade_error_free(e);
	}
	line = strcmp(op, "?") == 0
		? talloc_asprintf(mem_ctx, "#%u %s ? %s", conn,
				  to_server ? ">" : "<", body)
		: talloc_asprintf(mem_ctx, "#%u %s %s %" PRIu64 " %s", conn,
				  to_server ? ">" : "<", op, id, body);
	talloc_free(body);
	return line;
}

/* End relay r: write what is queued to each side while it takes it, then
 * close both. */
static void relay_end(struct relay **rs, size_t *n, size_t k, const char *why)
{
	struct relay *r = rs[k];

	shade_transport_flush(r->t[0], NULL);
	shade_transport_flush(r->t[1], NULL);
	printf("#%u closed (%s)\n", r->n, why);
	talloc_free(r);
	rs[k] = rs[--*n];
}

/* Move up to MONITOR_FRAMES_PER_TURN frames from side `from` of r to the
 * other side, printing each.  False when either side is done. */
static bool relay_pump(struct relay *r, int from, const char **why)
{
	int i;

	for (i = 0; i < MONITOR_FRAMES_PER_TURN; i++) {
		shade_error *e = NULL;
		uint8_t *frame = NULL;
		size_t len = 0;
		shade_status st;
		char *line;

		if (shade_transport_out_pending(r->t[!from]) >
		    MONITOR_MAX_QUEUED)
			return true;
		st = shade_transport_try_recv(r->t[from], NULL, &frame, &len,
					      &e);
		if (st == SHADE_AGAIN)
			return true;
		if (st != SHADE_OK) {
			shade_error_free(e);
			*why = from == 0 ? "client" : "server";
			return false;
		}
		line = monitor_format(NULL, r->n, from == 0, frame, len);
		if (line != NULL)
			printf("%s\n", line);
		talloc_free(line);
		st = shade_transport_send(r->t[!from], frame, len, &e);
		talloc_free(frame);
		shade_error_free(e);
		if (st != SHADE_OK) {
			*why = from == 0 ? "server" : "client";
			return false;
		}
		if (!shade_transport_has_frame(r->t[from]) && i > 0)
			return true;
	}
	return true;
}

/* Accept one client and connect it to the server. */
static void relay_accept(TALLOC_CTX *ctx, shade_listener *l,
			 const char *server, unsigned *count,
			 struct relay **rs, size_t *n)
{
	struct relay *r = talloc_zero(ctx, struct relay);
	shade_error *e = NULL;

	if (r == NULL)
		return;
	if (shade_listener_accept(l, r, 0, &r->t[0], &e) != SHADE_OK) {
		shade_error_free(e);
		talloc_free(r);
		return;
	}
	r->n = ++*count;
	if (shade_transport_connect(r, server, NULL, &r->t[1], &e) != SHADE_OK ||
	    shade_transport_set_nonblocking(r->t[0], true, &e) != SHADE_OK ||
	    shade_transport_set_nonblocking(r->t[1], true, &e) != SHADE_OK) {
		printf("#%u refused: %s: %s\n", r->n, e ? e->name : "?",
		       e ? e->message : "?");
		shade_error_free(e);
		talloc_free(r);
		return;
	}
	printf("#%u connected\n", r->n);
	rs[(*n)++] = r;
}

/* Poll slots of one relay: read fds of both sides, write fds of both. */
#define SLOTS 4

int monitor_run(const char *listen_addr, const char *server_addr)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct relay *rs[MONITOR_MAX_CONNS];
	struct pollfd pf[1 + SLOTS * MONITOR_MAX_CONNS];
	struct sigaction sa;
	shade_listener *l = NULL;
	shade_error *e = NULL;
	unsigned count = 0;
	size_t n = 0, k;
	int j;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (shade_listener_open(ctx, listen_addr, NULL, &l, &e) != SHADE_OK) {
		fprintf(stderr, "shade: %s: %s\n", e->name, e->message);
		shade_error_free(e);
		talloc_free(ctx);
		return 3;
	}
	printf("listening on %s, server %s\n", shade_listener_address(l),
	       server_addr);
	while (!stop_flag) {
		pf[0] = (struct pollfd){ .fd = n < MONITOR_MAX_CONNS ?
					 shade_listener_fd(l) : -1,
					 .events = POLLIN };
		for (k = 0; k < n; k++)
			for (j = 0; j < 2; j++) {
				shade_transport *t = rs[k]->t[j];
				bool room = shade_transport_out_pending(
					rs[k]->t[!j]) <= MONITOR_MAX_QUEUED;

				pf[1 + k * SLOTS + (size_t)j] = (struct pollfd){
					.fd = room ? shade_transport_fd(t) : -1,
					.events = POLLIN };
				pf[1 + k * SLOTS + 2 + (size_t)j] =
					(struct pollfd){
					.fd = shade_transport_wants_write(t)
						? shade_transport_write_fd(t)
						: -1,
					.events = POLLOUT };
			}
		if (poll(pf, 1 + n * SLOTS, 200) < 0 && errno != EINTR)
			break;
		for (k = n; k-- > 0;) {
			const char *why = NULL;
			bool ok = true;

			for (j = 0; j < 2 && ok; j++) {
				struct pollfd *p = &pf[1 + k * SLOTS + (size_t)j];
				struct pollfd *w = &pf[1 + k * SLOTS + 2 +
						       (size_t)j];

				if (w->revents != 0 &&
				    shade_transport_flush(rs[k]->t[j], NULL) <
					    SHADE_OK) {
					why = j == 0 ? "client" : "server";
					ok = false;
				}
				if (ok && (p->revents != 0 ||
					   shade_transport_has_frame(
						   rs[k]->t[j])))
					ok = relay_pump(rs[k], j, &why);
			}
			if (!ok)
				relay_end(rs, &n, k, why);
		}
		if (pf[0].revents & POLLIN)
			relay_accept(ctx, l, server_addr, &count, rs, &n);
	}
	while (n > 0)
		relay_end(rs, &n, n - 1, "monitor stopped");
	talloc_free(ctx);
	return 0;
}
