/*
 * test_protocol.c - the conformance suite: replays every case file of
 * tests/protocol/ (format in tests/protocol/README.md) against the real
 * server over a Unix socket in a fresh temporary directory.
 *
 * One cmocka case per file, named after it without ".case"
 * (`build/tests/test_protocol hello` runs hello.case).  Each case starts
 * a server exporting the objects of tests/fuzz/exports.h (obj, list,
 * dict, fn, type, typed, in that order), connects one raw peer
 * (helpers/raw.h) and plays the file's lines in order; the first
 * mismatch fails the case with the file:line, the expected pattern and
 * the bytes seen.  The server runs its loop on its own thread (a handler
 * may wait for the peer, as in a callback); the bytes of consecutive `>`
 * lines are written in one write, so the server reads them together.
 * Afterwards the server is stopped and freed and the fixture checks that
 * no memory and no reference is left.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/testutil.h"
#include "fuzz/exports.h"
#include "helpers/peer.h"
#include "helpers/raw.h"
#include "helpers/suite.h"

/* Where the case files are, from the top of the tree. */
#define CASE_DIR "tests/protocol"
/* Longest a `<` or `<close` line waits for the server. */
#define EXPECT_MS 5000
/* Most captures one file may name. */
#define MAX_CAPS 32

/* One capture: `$name` bound to one CBOR item's bytes. */
struct cap {
	char *name;    /* without the '$' */
	uint8_t *item; /* the item's bytes */
	size_t len;    /* their count */
};

/* The running case. */
struct pc {
	TALLOC_CTX *ctx;      /* everything of the case */
	const char *file;     /* the case file's path */
	unsigned line;        /* line being played */
	tp_server *srv;       /* the server, its loop on a thread */
	struct raw r;         /* the raw peer */
	uint8_t *out;         /* bytes of `>` lines not yet written */
	size_t nout;          /* their count */
	bool open;            /* r is connected */
	struct cap caps[MAX_CAPS]; /* captures so far */
	size_t ncaps;         /* their count */
};

/* The running case, for the clean-up after a failed assertion. */
static struct pc *pc_running;

/* ------------------------------------------------------------ fixture */

/* Close the peer and free the case (suite_case_cleanup; the server's
 * own clean-up, tp_server_run's, has stopped and freed it). */
static void pc_abort(void)
{
	struct pc *p = pc_running;

	if (p == NULL)
		return;
	pc_running = NULL;
	if (p->open)
		raw_close(&p->r);
	p->open = false;
	talloc_free(p->ctx);
}

/* Start the server with the fixture's exports and connect the peer. */
static void pc_start(struct pc *p, TALLOC_CTX *mem_ctx, const char *file)
{
	static const fz_config cfg = { 4096, 200 };
	/* tracebacks for a peer that asks (postmortem.case) */
	static const shade_conn_opts copts = { .postmortem = true };
	static const shade_server_opts sopts = { .conn = &copts };
	shade_registry *reg;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->ctx = talloc_new(mem_ctx);
	p->file = file;
	p->srv = tp_server_new(p->ctx, &sopts);
	reg = fz_exports_new(p->ctx, &cfg);
	assert_non_null(reg);
	for (i = 0; i < shade_registry_count(reg); i++)
		assert_ok(shade_server_export(
			p->srv->s, shade_registry_name(reg, i),
			shade_registry_get(reg, shade_registry_name(reg, i)),
			errp_));
	talloc_free(reg);
	tp_server_listen(p->srv, NULL);
	pc_running = p;
	tp_server_run(p->srv);
	raw_open(&p->r, p->ctx, p->srv->path, NULL, NULL);
	p->open = true;
}

/* End the case: close the peer, stop and free the server. */
static void pc_stop(struct pc *p)
{
	raw_close(&p->r);
	p->open = false;
	tp_server_stop(p->srv);
	p->srv = NULL;
	pc_running = NULL;
	talloc_free(p->ctx);
}

/* ------------------------------------------------------------ patterns */

/* Kinds of pattern tokens. */
enum tok_kind {
	TOK_BYTE, /* one literal byte */
	TOK_ANY,  /* ??: any one byte */
	TOK_ITEM, /* *: any one CBOR item */
	TOK_CAP,  /* $name: capture, or match a captured item */
	TOK_REST, /* ...: any remaining bytes (last token only) */
};

/* One pattern token. */
struct tok {
	enum tok_kind kind; /* what it matches */
	uint8_t byte;       /* TOK_BYTE: the byte */
	char *name;         /* TOK_CAP: the capture's name */
};

/* Fail the case at the current line. */
static void pc_fail(struct pc *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void pc_fail(struct pc *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = talloc_vasprintf(p->ctx, fmt, ap);
	va_end(ap);
	fail_msg("%s:%u: %s", p->file, p->line, msg ? msg : fmt);
}

/* The capture named name, or NULL. */
static struct cap *pc_cap(struct pc *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ncaps; i++)
		if (strcmp(p->caps[i].name, name) == 0)
			return &p->caps[i];
	return NULL;
}

/* Parse the pattern text s into *toks (on p->ctx); returns the count.
 * Hex may be grouped ("8400" is two bytes). */
static size_t pc_parse(struct pc *p, const char *s, struct tok **toks)
{
	size_t n = 0, cap = 16;
	struct tok *t = talloc_array(p->ctx, struct tok, cap);

	assert_non_null(t);
	while (*s != '\0') {
		const char *w;
		size_t wl, i;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		w = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		wl = (size_t)(s - w);
		if (n + wl + 1 > cap) {
			cap = (n + wl + 1) * 2;
			t = talloc_realloc(p->ctx, t, struct tok, cap);
			assert_non_null(t);
		}
		memset(&t[n], 0, sizeof(t[n]));
		if (wl == 2 && strncmp(w, "??", 2) == 0) {
			t[n++].kind = TOK_ANY;
		} else if (wl == 1 && *w == '*') {
			t[n++].kind = TOK_ITEM;
		} else if (wl == 3 && strncmp(w, "...", 3) == 0) {
			t[n++].kind = TOK_REST;
		} else if (*w == '$' && wl > 1) {
			t[n].kind = TOK_CAP;
			t[n++].name = talloc_strndup(t, w + 1, wl - 1);
		} else {
			if (wl % 2 != 0)
				pc_fail(p, "odd hex \"%.*s\"", (int)wl, w);
			for (i = 0; i < wl; i += 2) {
				char hx[3] = { w[i], w[i + 1], '\0' };
				char *end;

				if (!isxdigit((unsigned char)hx[0]) ||
				    !isxdigit((unsigned char)hx[1]))
					pc_fail(p, "bad token \"%.*s\"",
						(int)wl, w);
				memset(&t[n], 0, sizeof(t[n]));
				t[n].kind = TOK_BYTE;
				t[n++].byte = (uint8_t)strtoul(hx, &end, 16);
			}
		}
	}
	*toks = t;
	return n;
}

/* Bytes to send for the pattern text s: literal bytes and captures
 * only. */
static uint8_t *pc_bytes(struct pc *p, const char *s, size_t *len)
{
	struct tok *t;
	size_t n = pc_parse(p, s, &t), i, o = 0;
	uint8_t *b = talloc_size(p->ctx, 1);

	assert_non_null(b);
	for (i = 0; i < n; i++) {
		const uint8_t *src = &t[i].byte;
		size_t sl = 1;
		struct cap *c;

		if (t[i].kind == TOK_CAP) {
			c = pc_cap(p, t[i].name);
			if (c == NULL)
				pc_fail(p, "$%s is not captured", t[i].name);
			src = c->item;
			sl = c->len;
		} else if (t[i].kind != TOK_BYTE) {
			pc_fail(p, "only bytes and captures can be sent");
		}
		b = talloc_realloc_size(p->ctx, b, o + sl + 1);
		assert_non_null(b);
		memcpy(b + o, src, sl);
		o += sl;
	}
	talloc_free(t);
	*len = o;
	return b;
}

/* Length of the CBOR item at b (n bytes left), 0 if not a whole one. */
static size_t pc_item_len(const uint8_t *b, size_t n)
{
	shade_cbor_dec d;

	shade_cbor_dec_init(&d, b, n);
	if (shade_cbor_skip(&d, 0, NULL) != SHADE_OK)
		return 0;
	return d.pos;
}

/* Does payload b (n bytes) match the tokens?  Binds new captures.  On a
 * mismatch *why says where. */
static bool pc_match(struct pc *p, const struct tok *t, size_t nt,
		     const uint8_t *b, size_t n, char **why)
{
	size_t i, o = 0, il;
	struct cap *c;

	for (i = 0; i < nt; i++) {
		if (t[i].kind == TOK_REST)
			return true;
		if (o >= n) {
			*why = talloc_asprintf(p->ctx,
					       "frame ends at byte %zu", o);
			return false;
		}
		switch (t[i].kind) {
		case TOK_BYTE:
			if (b[o] != t[i].byte) {
				*why = talloc_asprintf(
					p->ctx, "byte %zu is %02x, want %02x",
					o, b[o], t[i].byte);
				return false;
			}
			o++;
			break;
		case TOK_ANY:
			o++;
			break;
		case TOK_ITEM:
		case TOK_CAP:
			il = pc_item_len(b + o, n - o);
			if (il == 0) {
				*why = talloc_asprintf(
					p->ctx, "no CBOR item at byte %zu", o);
				return false;
			}
			if (t[i].kind == TOK_CAP) {
				c = pc_cap(p, t[i].name);
				if (c != NULL &&
				    (c->len != il ||
				     memcmp(c->item, b + o, il) != 0)) {
					*why = talloc_asprintf(
						p->ctx,
						"item at byte %zu is not $%s",
						o, t[i].name);
					return false;
				}
				if (c == NULL) {
					if (p->ncaps == MAX_CAPS)
						pc_fail(p, "too many captures");
					c = &p->caps[p->ncaps++];
					c->name = talloc_strdup(p->ctx,
								t[i].name);
					c->item = talloc_memdup(p->ctx, b + o,
								il);
					c->len = il;
				}
			}
			o += il;
			break;
		case TOK_REST:
			break;
		}
	}
	if (o != n) {
		*why = talloc_asprintf(p->ctx, "%zu bytes more than expected",
				       n - o);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ lines */

/* `> pattern` (frame) or `>raw pattern` (bytes as they are). */
static void pc_send(struct pc *p, const char *s, bool framed)
{
	size_t len, hl;
	uint8_t *b = pc_bytes(p, s, &len), head[SHADE_FRAME_HEADER_MAX];

	if (framed && len == 0)
		pc_fail(p, "empty frame (use >raw)");
	hl = framed ? shade_frame_header_encode(len, head) : 0;
	p->out = talloc_realloc_size(p->ctx, p->out, p->nout + hl + len);
	assert_non_null(p->out);
	memcpy(p->out + p->nout, head, hl);
	memcpy(p->out + p->nout + hl, b, len);
	p->nout += hl + len;
	talloc_free(b);
}

/* Write what the `>` lines since the last flush sent, in one write. */
static void pc_flush(struct pc *p)
{
	if (p->nout > 0)
		raw_write(&p->r, p->out, p->nout);
	p->nout = 0;
}

/* The hex of b (n bytes), for messages. */
static char *pc_hex(struct pc *p, const uint8_t *b, size_t n)
{
	char *h = talloc_strdup(p->ctx, "");
	size_t i;

	for (i = 0; i < n && h != NULL; i++)
		h = talloc_asprintf_append(h, "%s%02x", i ? " " : "", b[i]);
	return h;
}

/* `< pattern`: the next frame matches. */
static void pc_expect(struct pc *p, const char *s)
{
	struct tok *t;
	size_t nt = pc_parse(p, s, &t), n;
	uint8_t *b;
	char *why = NULL;

	if (!raw_next_frame(&p->r, p->ctx, &b, &n, EXPECT_MS))
		pc_fail(p, "want < %s\n  got %s", s,
			p->r.eof ? "the connection closed" : "no frame in 5 s");
	if (getenv("SHADE_PROTO_TRACE") != NULL)
		fprintf(stderr, "%s:%u: < %s\n", p->file, p->line,
			pc_hex(p, b, n));
	if (!pc_match(p, t, nt, b, n, &why))
		pc_fail(p, "want < %s\n  got < %s\n  (%s)", s,
			pc_hex(p, b, n), why);
	talloc_free(t);
	talloc_free(b);
}

/* `<close`: no more frames, then the end of the stream. */
static void pc_expect_close(struct pc *p)
{
	uint8_t *b;
	size_t n;

	if (raw_next_frame(&p->r, p->ctx, &b, &n, EXPECT_MS))
		pc_fail(p, "want the connection closed\n  got < %s",
			pc_hex(p, b, n));
	if (!p->r.eof)
		pc_fail(p, "the connection is still open after %d ms",
			EXPECT_MS);
	if (p->r.len != 0)
		pc_fail(p, "closed after %zu bytes of a partial frame: %s",
			p->r.len, pc_hex(p, p->r.in, p->r.len));
}

/* `<none ms`: no frame and no close within ms. */
static void pc_expect_none(struct pc *p, const char *s)
{
	char *end;
	long ms = strtol(s, &end, 10);
	uint8_t *b;
	size_t n;

	if (end == s || ms <= 0 || ms > 10000)
		pc_fail(p, "<none wants milliseconds (1-10000)");
	if (raw_next_frame(&p->r, p->ctx, &b, &n, (int)ms))
		pc_fail(p, "want nothing for %ld ms\n  got < %s", ms,
			pc_hex(p, b, n));
	if (p->r.eof)
		pc_fail(p, "want nothing for %ld ms\n  got the connection "
			   "closed", ms);
}

/* Play one line. */
static void pc_line(struct pc *p, char *s)
{
	size_t l = strlen(s);

	while (l > 0 && isspace((unsigned char)s[l - 1]))
		s[--l] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return;
	if (*s == '<')
		pc_flush(p);
	if (strncmp(s, ">raw ", 5) == 0)
		pc_send(p, s + 5, false);
	else if (strncmp(s, "> ", 2) == 0)
		pc_send(p, s + 2, true);
	else if (strcmp(s, "<close") == 0)
		pc_expect_close(p);
	else if (strncmp(s, "<none ", 6) == 0)
		pc_expect_none(p, s + 6);
	else if (strncmp(s, "< ", 2) == 0)
		pc_expect(p, s + 2);
	else
		pc_fail(p, "unknown line \"%s\"", s);
}

/* One case: play the file given as the row. */
static void test_protocol_case(void **state)
{
	const char *file = *state;
	static struct pc pc;
	struct pc *p = &pc;
	char buf[4096];
	FILE *f;

	pc_start(p, suite_case_ctx, file);
	f = fopen(file, "r");
	if (f == NULL)
		fail_msg("%s: %s", file, strerror(errno));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		p->line++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			fclose(f);
			pc_fail(p, "line longer than %zu bytes", sizeof(buf));
		}
		pc_line(p, buf);
	}
	fclose(f);
	pc_flush(p);
	pc_stop(p);
}

/* Sort case names. */
static int pc_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	TALLOC_CTX *names = talloc_new(NULL);
	struct CMUnitTest *cases;
	char **files = NULL;
	size_t n = 0, i;
	struct dirent *e;
	DIR *d = opendir(CASE_DIR);
	int rc;

	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", CASE_DIR, strerror(errno));
		talloc_free(names);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l <= 5 || strcmp(e->d_name + l - 5, ".case") != 0)
			continue;
		files = talloc_realloc(names, files, char *, n + 1);
		files[n++] = talloc_asprintf(names, "%s/%s", CASE_DIR,
					     e->d_name);
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "%s: no case files\n", CASE_DIR);
		talloc_free(names);
		return 1;
	}
	qsort(files, n, sizeof(files[0]), pc_cmp);
	cases = talloc_zero_array(names, struct CMUnitTest, n);
	for (i = 0; i < n; i++) {
		const struct CMUnitTest c =
			SUITE_ROW(test_protocol_case, files[i]);
		char *base = talloc_strdup(names, strrchr(files[i], '/') + 1);

		base[strlen(base) - 5] = '\0';
		cases[i] = c;
		cases[i].name = base;
	}
	suite_case_cleanup = pc_abort;
	rc = suite_run_rows("protocol", cases, n, argc, argv);
	talloc_free(names);
	return rc;
}
