/*
 * test_trace.c - tracing (shade/log.h) over real Unix sockets: the log
 * callback receives a line for a failing handler, a refused request, a
 * connection limit hit, a connection dropped on bad bytes and an idle
 * connection closed; messages and lifetimes lines at their levels;
 * nothing when off; SHADE_TRACE read from the environment; bad specs
 * refused.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/handlers.h"
#include "helpers/peer.h"
#include "helpers/testutil.h"
#include "helpers/suite.h"

/* Lines the callback received (guarded by lines_mu). */
static pthread_mutex_t lines_mu = PTHREAD_MUTEX_INITIALIZER;
static char lines[64][512];
static int n_lines;

/* The log callback: keep "CATEGORY LEVEL: LINE". */
static void keep_line(void *udata, shade_log_category cat, int level,
		      const char *line)
{
	(void)udata;
	pthread_mutex_lock(&lines_mu);
	if (n_lines < 64)
		snprintf(lines[n_lines++], sizeof(lines[0]), "%s %d: %s",
			 shade_log_category_name(cat), level, line);
	pthread_mutex_unlock(&lines_mu);
}

/* The number of lines kept that contain all of the words given (NULL
 * ends the list). */
static int count_lines(const char *word, ...)
{
	int i, n = 0;

	pthread_mutex_lock(&lines_mu);
	for (i = 0; i < n_lines; i++) {
		va_list ap;
		const char *w = word;
		bool all = true;

		va_start(ap, word);
		while (w != NULL) {
			if (strstr(lines[i], w) == NULL)
				all = false;
			w = va_arg(ap, const char *);
		}
		va_end(ap);
		n += all;
	}
	pthread_mutex_unlock(&lines_mu);
	return n;
}

/* Wait (bounded) until count_lines(word, NULL) > 0. */
static bool wait_line(const char *word)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (count_lines(word, NULL) > 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* Forget the lines, install the callback and the levels of spec. */
static void trace_start(const char *spec)
{
	pthread_mutex_lock(&lines_mu);
	n_lines = 0;
	pthread_mutex_unlock(&lines_mu);
	assert_ok(shade_trace_set(spec, errp_));
	shade_log_set(keep_line, NULL);
}

/* Back to off (also run when a case fails). */
static void trace_stop(void)
{
	shade_log_set(NULL, NULL);
	shade_trace_set("off", NULL);
}

/* A server on ctx with "calc" (add) on a Unix socket in a fresh
 * directory, its loop run by a thread. */
static tp_server *srv_start(TALLOC_CTX *ctx, const shade_server_opts *opts)
{
	tp_server *v = tp_server_new(ctx, opts);
	shade_ref *calc;

	assert_ok(shade_object_new("demo.Calc", NULL, &calc, errp_));
	assert_ok(shade_object_add_method(calc, "add", th_add, NULL, false,
					  errp_));
	assert_ok(shade_server_export(v->s, "calc", calc, errp_));
	shade_ref_release(calc);
	tp_server_listen(v, NULL);
	tp_server_run(v);
	return v;
}

/* calc.add(args) on c: its status, the error freed. */
static shade_status add_on(shade_conn *c, const shade_value *a)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *t = shade_tuple_new(tmp, 1), *r = NULL;
	shade_ref *calc = NULL;
	shade_error *e = NULL;
	shade_status st;

	shade_seq_append(t, a, NULL);
	st = shade_lookup(c, "calc", &calc, &e);
	if (st == SHADE_OK)
		st = shade_invoke(tmp, calc, "add", t, NULL, &r, &e);
	if (calc != NULL)
		shade_ref_release(calc);
	shade_error_free(e);
	talloc_free(tmp);
	return st;
}

static void test_trace_handler_failure_and_refusal(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value one = shade_value_int(1);
	shade_value *s = shade_str(ctx, "x");
	tp_server *v;
	shade_conn *c;
	shade_ref *r = NULL;
	shade_error *e = NULL;

	suite_case_cleanup = trace_stop;
	trace_start("errors");
	v = srv_start(ctx, NULL);
	assert_ok(shade_connect(ctx, v->addr, NULL, &c, errp_));
	assert_int_equal(add_on(c, &one), SHADE_OK);
	assert_int_equal(count_lines("errors", NULL), 0);
	/* A handler that fails. */
	assert_int_equal(add_on(c, s), SHADE_ERR_TYPE);
	assert_true(wait_line("TypeError"));
	assert_int_equal(count_lines("errors 1: server: ", "on demo.Calc.add",
				     "refused: TypeError: add: argument 0 "
				     "is not an int", NULL), 1);
	/* A request refused: no such export. */
	assert_int_equal(shade_lookup(c, "nope", &r, &e), SHADE_ERR_NOT_FOUND);
	shade_error_free(e);
	assert_true(wait_line("NotFound"));
	assert_int_equal(count_lines("errors 1: server: ", "refused: NotFound",
				     "nope", NULL), 1);
	/* Only errors were on. */
	assert_int_equal(count_lines("messages", NULL), 0);
	assert_int_equal(count_lines("lifetimes", NULL), 0);
	talloc_free(c);
	tp_server_stop(v);
	trace_stop();
	talloc_free(ctx);
}

static void test_trace_limit_hit(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server_opts so = { .max_conns = 1 };
	shade_value one = shade_value_int(1);
	tp_server *v;
	shade_conn *c1, *c2;
	shade_status st;

	suite_case_cleanup = trace_stop;
	trace_start("errors:1");
	v = srv_start(ctx, &so);
	assert_ok(shade_connect(ctx, v->addr, NULL, &c1, errp_));
	assert_int_equal(add_on(c1, &one), SHADE_OK);
	/* The server closes the second connection as soon as it accepts
	 * it: the client sees the loss at its HELLO or at its first call. */
	st = shade_connect(ctx, v->addr, NULL, &c2, NULL);
	if (st == SHADE_OK)
		st = add_on(c2, &one);
	else
		c2 = NULL;
	assert_int_equal(st, SHADE_ERR_CONNECTION_LOST);
	assert_true(wait_line("limit"));
	assert_int_equal(count_lines("errors 1: server: ", "connection "
				     "refused: limit of 1 connections "
				     "reached", NULL), 1);
	talloc_free(c2);
	talloc_free(c1);
	tp_server_stop(v);
	trace_stop();
	talloc_free(ctx);
}

static void test_trace_dropped_and_idle(void **state)
{
	static const uint8_t junk[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server_opts so = { .idle_timeout_ms = 100 };
	shade_value one = shade_value_int(1);
	shade_transport *t;
	tp_server *v;
	shade_conn *c;

	suite_case_cleanup = trace_stop;
	trace_start("errors");
	v = srv_start(ctx, &so);
	/* Bad bytes: the server drops the connection and says why. */
	assert_ok(shade_transport_connect(ctx, v->addr, NULL, &t, errp_));
	assert_int_equal(tu_write_all(shade_transport_fd(t), junk,
				      sizeof(junk)), 0);
	assert_true(wait_line("dropped"));
	assert_int_equal(count_lines("errors 1: server: ", "connection "
				     "dropped: ConnectionLost", NULL), 1);
	talloc_free(t);
	/* A connection that goes quiet is closed after idle_timeout_ms. */
	assert_ok(shade_connect(ctx, v->addr, NULL, &c, errp_));
	assert_int_equal(add_on(c, &one), SHADE_OK);
	assert_true(wait_line("idle"));
	assert_int_equal(count_lines("errors 1: server: ", "idle for 100 ms, "
				     "closing", NULL), 1);
	talloc_free(c);
	tp_server_stop(v);
	trace_stop();
	talloc_free(ctx);
}

static void test_trace_messages_and_lifetimes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value one = shade_value_int(1);
	tp_server *v;
	shade_conn *c;

	suite_case_cleanup = trace_stop;
	trace_start("messages:2,lifetimes");
	assert_int_equal(shade_log_level(SHADE_LOG_MESSAGES), 2);
	assert_int_equal(shade_log_level(SHADE_LOG_ERRORS), 0);
	v = srv_start(ctx, NULL);
	assert_ok(shade_connect(ctx, v->addr, NULL, &c, errp_));
	assert_int_equal(add_on(c, &one), SHADE_OK);
	assert_true(wait_line("received RETURN"));
	/* Both sides, each request and reply, the bytes at level 2:
	 * LOOKUP "calc" is [7, 1, "calc"] = 83 07 01 64 63616c63. */
	assert_int_equal(count_lines("messages 1: client: ", "sent LOOKUP "
				     "id 1, 8 bytes: 8307016463616c63", NULL),
			 1);
	assert_int_equal(count_lines("messages 1: server: ", "received "
				     "LOOKUP id 1", NULL), 1);
	assert_int_equal(count_lines("messages 1: client: ", "sent INVOKE",
				     NULL), 1);
	assert_int_equal(count_lines("messages 1: server: ", "sent RETURN",
				     NULL), 2);
	assert_int_equal(count_lines("lifetimes 1: client: ", "connection "
				     "opened", NULL), 1);
	assert_true(wait_line("connection accepted"));
	talloc_free(c);
	assert_true(wait_line("server: unix:"));
	assert_true(wait_line("connection ended"));
	assert_int_equal(count_lines("errors", NULL), 0);
	tp_server_stop(v);
	trace_stop();
	talloc_free(ctx);
}

static void test_trace_off(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_value *s = shade_str(ctx, "x");
	tp_server *v;
	shade_conn *c;

	/* Levels chosen "off" stay off when a callback comes: nothing is
	 * reported. */
	suite_case_cleanup = trace_stop;
	trace_stop();
	pthread_mutex_lock(&lines_mu);
	n_lines = 0;
	pthread_mutex_unlock(&lines_mu);
	shade_log_set(keep_line, NULL);
	assert_int_equal(shade_log_level(SHADE_LOG_ERRORS), 0);
	v = srv_start(ctx, NULL);
	assert_ok(shade_connect(ctx, v->addr, NULL, &c, errp_));
	assert_int_equal(add_on(c, s), SHADE_ERR_TYPE);
	talloc_free(c);
	tp_server_stop(v);
	assert_int_equal(n_lines, 0);
	trace_stop();
	talloc_free(ctx);
}

static void test_trace_bad_spec(void **state)
{
	shade_error *e = NULL;

	(void)state;
	assert_int_equal(shade_trace_set("errors,bogus:2", &e),
			 SHADE_ERR_INVALID);
	assert_string_equal(e->message, "trace: 'bogus:2' is not "
			    "CATEGORY[:LEVEL] (categories: errors, messages, "
			    "lifetimes, all; levels 0-3)");
	shade_error_free(e);
	e = NULL;
	assert_int_equal(shade_trace_set("messages:9", &e), SHADE_ERR_INVALID);
	shade_error_free(e);
	e = NULL;
	assert_int_equal(shade_trace_set("errors:", &e), SHADE_ERR_INVALID);
	shade_error_free(e);
	assert_ok(shade_trace_set("all:2,messages:0", errp_));
	assert_int_equal(shade_log_level(SHADE_LOG_LIFETIMES), 2);
	assert_int_equal(shade_log_level(SHADE_LOG_MESSAGES), 0);
	assert_ok(shade_trace_set("off", errp_));
	assert_int_equal(shade_log_level(SHADE_LOG_LIFETIMES), 0);
	assert_string_equal(shade_log_category_name(SHADE_LOG_LIFETIMES),
			    "lifetimes");
}

/* Child body: SHADE_TRACE=lifetimes in the environment before anything
 * reads it; a connection over a socketpair must report its opening
 * through the callback and no error line.  Exit 0 when it did. */
static int env_child(void *arg)
{
	shade_transport *t;
	shade_conn *c;
	int sv[2];

	(void)arg;
	setenv("SHADE_TRACE", "lifetimes", 1);
	pthread_mutex_lock(&lines_mu);
	n_lines = 0;
	pthread_mutex_unlock(&lines_mu);
	shade_log_set(keep_line, NULL);
	if (shade_log_level(SHADE_LOG_LIFETIMES) != 1 ||
	    shade_log_level(SHADE_LOG_ERRORS) != 0)
		return 2;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    shade_transport_from_fds(NULL, sv[0], sv[0],
				     SHADE_TRANSPORT_OWN_FDS, NULL, &t,
				     NULL) != SHADE_OK ||
	    shade_conn_new(NULL, t, true, NULL, &c, NULL) != SHADE_OK)
		return 3;
	close(sv[1]);
	talloc_free(c);
	return count_lines("lifetimes 1: server: ", "connection accepted",
			   NULL) == 1 ? 0 : 4;
}

static void test_trace_environment(void **state)
{
	pid_t pid;
	int status = -1;

	(void)state;
	pid = tu_fork(env_child, NULL);
	assert_true(pid > 0);
	assert_true(tu_wait_child(pid, 30000, &status));
	assert_int_equal(status, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_trace_environment),
		T(test_trace_handler_failure_and_refusal),
		T(test_trace_limit_hit),
		T(test_trace_dropped_and_idle),
		T(test_trace_messages_and_lifetimes),
		T(test_trace_off),
		T(test_trace_bad_spec),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("trace", tests, argc, argv);
}
