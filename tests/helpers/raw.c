/*
 * raw.c - a raw-protocol peer for the suites (raw.h).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "shade/shade.h"
#include "conn/msg_int.h"
#include "raw.h"
#include "testutil.h"

/* How long the raw_expect_* calls wait for the server. */
#define RAW_WAIT_MS 5000

void raw_open(struct raw *r, TALLOC_CTX *mem_ctx, const char *path,
	      raw_turn_fn turn, void *udata)
{
	struct sockaddr_un sa;

	memset(r, 0, sizeof(*r));
	r->turn = turn;
	r->udata = udata;
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sa.sun_path));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	r->in = talloc_size(mem_ctx, 0);
	assert_non_null(r->in);
}

void raw_close(struct raw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	TALLOC_FREE(r->in);
	r->len = 0;
}

void raw_write(struct raw *r, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(r->fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

void raw_send_hex(struct raw *r, const char *hex)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	size_t len, hl;
	uint8_t *p = shade_hex_decode(NULL, hex, &len);

	if (p == NULL)
		fail_msg("bad hex: %s", hex);
	hl = shade_frame_header_encode(len, head);
	raw_write(r, head, hl);
	raw_write(r, p, len);
	talloc_free(p);
}

void raw_send_hexf(struct raw *r, const char *fmt, ...)
{
	va_list ap;
	char *hex;

	va_start(ap, fmt);
	hex = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	assert_non_null(hex);
	raw_send_hex(r, hex);
	talloc_free(hex);
}

void raw_send_hello(struct raw *r)
{
	raw_send_hex(r, "8400000100");
}

void raw_send_lookup(struct raw *r, uint64_t id, const char *name)
{
	char *hex = shade_hex_encode(NULL, name, strlen(name));

	assert_true(id < 24 && strlen(name) < 24);
	raw_send_hexf(r, "8307%02x%02x%s", (unsigned)id,
		      0x60u + (unsigned)strlen(name), hex);
	talloc_free(hex);
}

/* Read what is there without blocking. */
static void raw_pump(struct raw *r)
{
	uint8_t buf[65536];
	ssize_t n;

	while (!r->eof) {
		n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			r->eof = true;
			return;
		}
		r->in = talloc_realloc_size(NULL, r->in, r->len + (size_t)n);
		assert_non_null(r->in);
		memcpy(r->in + r->len, buf, (size_t)n);
		r->len += (size_t)n;
	}
}

/* Let about 5 ms pass for the server: turn its loop, or wait for input. */
static void raw_wait(struct raw *r)
{
	struct pollfd p = { r->fd, POLLIN, 0 };

	if (r->turn != NULL)
		r->turn(r->udata, 5);
	else
		(void)poll(&p, 1, 5);
}

bool raw_next_frame(struct raw *r, TALLOC_CTX *mem_ctx, uint8_t **payload,
		    size_t *len, int ms)
{
	int64_t end = tu_now_ms() + ms;

	for (;;) {
		uint64_t flen;
		size_t hl;

		if (shade_frame_header_decode(r->in, r->len, SIZE_MAX, &flen,
					      &hl, NULL) == SHADE_OK &&
		    r->len - hl >= flen) {
			*payload = talloc_memdup(mem_ctx, r->in + hl, flen);
			assert_non_null(*payload);
			*len = flen;
			memmove(r->in, r->in + hl + flen, r->len - hl - flen);
			r->len -= hl + flen;
			return true;
		}
		if (r->eof || tu_now_ms() > end)
			return false;
		raw_wait(r);
		raw_pump(r);
	}
}

bool raw_next(struct raw *r, TALLOC_CTX *mem_ctx, struct msg *m, int ms)
{
	uint8_t *p;
	size_t n;

	if (!raw_next_frame(r, mem_ctx, &p, &n, ms))
		return false;
	assert_int_equal(msg_parse(p, n, m, NULL), SHADE_OK);
	return true;
}

void raw_reply(struct raw *r, uint64_t id, shade_error **e)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct msg m;

	*e = NULL;
	for (;;) {
		if (!raw_next(r, tmp, &m, RAW_WAIT_MS))
			fail_msg("no reply to request %llu",
				 (unsigned long long)id);
		if (m.op == OP_ERROR && m.id == id) {
			assert_int_equal(msg_read_error(&m, NULL, e, NULL),
					 SHADE_OK);
			break;
		}
		if (m.op == OP_RETURN && m.id == id)
			break;
	}
	talloc_free(tmp);
}

void raw_expect_error(struct raw *r, uint64_t id, shade_status code)
{
	shade_error *e = NULL;

	raw_reply(r, id, &e);
	if (e == NULL)
		fail_msg("request %llu: RETURN, want %s",
			 (unsigned long long)id, shade_status_name(code));
	if (e->code != code)
		fail_msg("request %llu: %s (%s), want %s",
			 (unsigned long long)id, e->name, e->message,
			 shade_status_name(code));
	shade_error_free(e);
}

void raw_expect_return(struct raw *r, uint64_t id)
{
	shade_error *e = NULL;

	raw_reply(r, id, &e);
	if (e != NULL)
		fail_msg("request %llu: %s (%s)", (unsigned long long)id,
			 e->name, e->message);
}

void raw_expect_op(struct raw *r, unsigned op)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct msg m;

	if (!raw_next(r, tmp, &m, RAW_WAIT_MS))
		fail_msg("no frame, want %s", msg_op_name(op));
	if (m.op != op)
		fail_msg("got %s, want %s", msg_op_name(m.op),
			 msg_op_name(op));
	talloc_free(tmp);
}

void raw_expect_closed(struct raw *r, shade_status code)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct msg m;

	while (raw_next(r, tmp, &m, RAW_WAIT_MS)) {
		if (m.op == OP_HELLO)
			continue;
		if (m.op != OP_ERROR || m.id != 0)
			fail_msg("got %s %llu, want the connection closed",
				 msg_op_name(m.op), (unsigned long long)m.id);
		if (code != 0) {
			shade_error *e = NULL;

			assert_int_equal(msg_read_error(&m, NULL, &e, NULL),
					 SHADE_OK);
			if (e->code != code)
				fail_msg("closed with %s (%s), want %s",
					 e->name, e->message,
					 shade_status_name(code));
			shade_error_free(e);
		}
	}
	talloc_free(tmp);
	if (!r->eof)
		fail_msg("the connection is still open after %d ms",
			 RAW_WAIT_MS);
}

void raw_hello_lookup(struct raw *r, const char *name)
{
	raw_send_hello(r);
	raw_send_lookup(r, 1, name);
	raw_expect_op(r, OP_HELLO);
	raw_expect_return(r, 1);
}
