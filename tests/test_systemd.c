/*
 * test_systemd.c - socket activation: a server started by
 * systemd-socket-activate serves the listening socket it passes
 * (Accept=no) and, with --accept, the connected socket of each child
 * (Accept=yes), both through shade_server_listen(s, "systemd:"); the
 * same with LISTEN_FDS/LISTEN_PID set by hand in a forked child; and the
 * refusals (no sockets passed, another process's LISTEN_PID, fd:N that is
 * not listening).
 *
 * The suite's own binary is the activated server: `test_systemd --serve
 * ADDRESS` exports "calc" (add) and "info" (address: the first
 * listener's address, or "" when it has none) and serves until its
 * connections, once there were some, are gone (at most 30 s).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <talloc.h>

#include "shade/shade.h"
#include "helpers/handlers.h"
#include "helpers/testutil.h"
#include "helpers/suite.h"

#define ACTIVATE "/usr/bin/systemd-socket-activate"

/* This program (for the activated server). */
static const char *self;

/* --serve: the activated server.  Returns the exit status. */
static int serve(const char *address)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_server *s;
	shade_ref *calc, *info;
	shade_value *where;
	shade_error *e = NULL;
	int64_t end = tu_now_ms() + 30000;
	bool had = false;
	int rc = 1;

	if (shade_server_new(ctx, NULL, &s, &e) != SHADE_OK ||
	    shade_server_listen(s, address, &e) != SHADE_OK)
		goto done;
	where = shade_str(ctx, shade_server_address(s, 0)
				       ? shade_server_address(s, 0) : "");
	if (shade_object_new("demo.Calc", NULL, &calc, &e) != SHADE_OK)
		goto done;
	shade_object_add_method(calc, "add", th_add, NULL, false, &e);
	shade_server_export(s, "calc", calc, &e);
	shade_ref_release(calc);
	if (shade_object_new("demo.Info", NULL, &info, &e) != SHADE_OK)
		goto done;
	shade_object_add_attr(info, "address", where, true, &e);
	shade_server_export(s, "info", info, &e);
	shade_ref_release(info);
	if (e != NULL)
		goto done;
	while (tu_now_ms() < end) {
		if (shade_server_run_once(s, 50, &e) != SHADE_OK)
			goto done;
		if (shade_server_conn_count(s) > 0)
			had = true;
		else if (had)
			break;
	}
	rc = 0;
done:
	if (e != NULL)
		fprintf(stderr, "serve: %s\n", e->message);
	shade_error_free(e);
	talloc_free(ctx);
	return rc;
}

/* Connect to address (retrying while the server starts, bounded), check
 * calc.add(2, 3) == 5 and return info.address on mem_ctx. */
static char *use_server(TALLOC_CTX *mem_ctx, const char *address)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_value *args = shade_tuple_new(tmp, 2), *r = NULL, *a = NULL;
	shade_value two = shade_value_int(2), three = shade_value_int(3);
	shade_conn *c = NULL;
	shade_ref *calc, *info;
	char *out;
	int i;

	shade_seq_append(args, &two, NULL);
	shade_seq_append(args, &three, NULL);
	for (i = 0; i < 300; i++) {
		shade_error *e = NULL;

		if (shade_connect(tmp, address, NULL, &c, &e) == SHADE_OK)
			break;
		if (i == 299)
			print_message("connect %s: %s\n", address, e->message);
		shade_error_free(e);
		usleep(10000);
	}
	assert_non_null(c);
	assert_ok(shade_lookup(c, "calc", &calc, errp_));
	assert_ok(shade_invoke(tmp, calc, "add", args, NULL, &r, errp_));
	assert_int_equal(shade_value_as_int(r), 5);
	shade_ref_release(calc);
	assert_ok(shade_lookup(c, "info", &info, errp_));
	assert_ok(shade_getattr(tmp, info, "address", &a, errp_));
	shade_ref_release(info);
	out = shade_value_strdup(mem_ctx, a);
	talloc_free(tmp);
	return out;
}

/* Start argv as a child (stdout and stderr kept), its pid. */
static pid_t spawn(char *const argv[])
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static pid_t child_pid;

/* Clean-up after a failed case: stop the child. */
static void stop_child(void)
{
	tu_kill_child(child_pid);
	child_pid = 0;
}

/* Start systemd-socket-activate (with --accept when `accept`) on a
 * Unix socket in a fresh directory, running this program's --serve
 * systemd:; returns the socket's address on ctx once it exists, or NULL
 * when the program is not installed. */
static char *activate(TALLOC_CTX *ctx, bool accept)
{
	char *path = talloc_asprintf(ctx, "%s/s.sock", tu_mkdtemp(ctx));
	char *listen = talloc_asprintf(ctx, "--listen=%s", path);
	char *argv[] = { (char *)ACTIVATE, listen, (char *)self,
			 (char *)"--serve", (char *)"systemd:", NULL, NULL };
	int i;

	if (access(ACTIVATE, X_OK) != 0) {
		/* Debian's systemd package provides it (.ci/run). */
		print_message("skipped: no " ACTIVATE "\n");
		return NULL;
	}
	if (accept) {
		memmove(argv + 2, argv + 1, 4 * sizeof(argv[0]));
		argv[1] = (char *)"--accept";
	}
	suite_case_cleanup = stop_child;
	child_pid = spawn(argv);
	assert_true(child_pid > 0);
	for (i = 0; i < 500 && access(path, F_OK) != 0; i++)
		usleep(10000);
	return talloc_asprintf(ctx, "unix:%s", path);
}

static void test_systemd_activate_accept_no(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *addr = activate(ctx, false);
	shade_conn *keep = NULL;
	int status = -1, i;

	if (addr == NULL) {
		talloc_free(ctx);
		skip();
	}
	/* The server ends when it has no connection left: keep one open
	 * (its first) while the others come and go. */
	for (i = 0; i < 300; i++) {
		if (shade_connect(ctx, addr, NULL, &keep, NULL) == SHADE_OK)
			break;
		usleep(10000);
	}
	assert_non_null(keep);
	/* The server reports the address of the socket it inherited; a
	 * second connection goes to the same listener. */
	assert_string_equal(use_server(ctx, addr), addr);
	assert_string_equal(use_server(ctx, addr), addr);
	talloc_free(keep);
	assert_true(tu_wait_child(child_pid, 30000, &status));
	child_pid = 0;
	assert_int_equal(status, 0);
	talloc_free(ctx);
}

static void test_systemd_activate_accept_yes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *addr = activate(ctx, true);

	if (addr == NULL) {
		talloc_free(ctx);
		skip();
	}
	/* Each connection is a child of its own serving the connected
	 * socket: it has no listener. */
	assert_string_equal(use_server(ctx, addr), "");
	assert_string_equal(use_server(ctx, addr), "");
	stop_child();
	talloc_free(ctx);
}

/* Child body: the listening socket (int *) moved to fd 3 and
 * LISTEN_FDS/LISTEN_PID set as a service manager does, then serve. */
static int by_hand_child(void *arg)
{
	int fd = *(int *)arg;
	char pid[32];

	if (fd != SHADE_LISTEN_FDS_START &&
	    (dup2(fd, SHADE_LISTEN_FDS_START) < 0 || close(fd) < 0))
		return 10;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	return serve("systemd:");
}

static void test_systemd_listen_fds_by_hand(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	char *dir = tu_mkdtemp(ctx);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *addr;
	int fd, status = -1;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s.sock", dir);
	addr = talloc_asprintf(ctx, "unix:%s", sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 8), 0);
	suite_case_cleanup = stop_child;
	child_pid = tu_fork(by_hand_child, &fd);
	assert_true(child_pid > 0);
	close(fd);
	assert_string_equal(use_server(ctx, addr), addr);
	assert_true(tu_wait_child(child_pid, 30000, &status));
	child_pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(sun.sun_path);
	talloc_free(ctx);
}

static void test_systemd_refusals(void **state)
{
	TALLOC_CTX *ctx = talloc_new(*state);
	shade_server *s;
	shade_error *e = NULL;
	int sv[2];
	char *fdaddr;

	assert_ok(shade_server_new(ctx, NULL, &s, errp_));
	/* Nothing passed. */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	assert_int_equal(shade_server_listen(s, "systemd:", &e),
			 SHADE_ERR_INVALID);
	assert_string_equal(e->message, "systemd: no sockets passed "
			    "(LISTEN_FDS and LISTEN_PID do not name this "
			    "process)");
	shade_error_free(e);
	e = NULL;
	/* Passed to another process: not ours, and left alone. */
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", "1", 1);
	assert_int_equal(shade_listen_fds(), 0);
	assert_string_equal(getenv("LISTEN_FDS"), "1");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	/* fd:N that does not listen. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fdaddr = talloc_asprintf(ctx, "fd:%d", sv[0]);
	assert_int_equal(shade_server_listen(s, fdaddr, &e), SHADE_ERR_INVALID);
	assert_string_equal(e->message,
			    talloc_asprintf(ctx, "%s: not a listening socket "
					    "(serve a connected one with "
					    "shade_server_adopt)", fdaddr));
	shade_error_free(e);
	e = NULL;
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(shade_server_listen(s, "fd:x", &e), SHADE_ERR_INVALID);
	assert_string_equal(e->message, "fd:x: expected fd:N");
	shade_error_free(e);
	talloc_free(ctx);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) SUITE_CASE(name)
		T(test_systemd_listen_fds_by_hand),
		T(test_systemd_activate_accept_no),
		T(test_systemd_activate_accept_yes),
		T(test_systemd_refusals),
#undef T
	};

	self = argv[0];
	if (argc == 3 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	return SUITE_RUN("systemd", tests, argc, argv);
}
