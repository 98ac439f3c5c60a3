/*
 * transport_exec.c - exec: transports: spawn a command and talk over its
 * stdin and stdout through two pipes.
 *
 * The program is looked up on PATH here, then started with posix_spawn
 * (no shell), with its signal mask
 * emptied and SIGPIPE back to its default action, so a parent that ignores
 * or blocks signals does not pass that on.  An exec: transport is an fd
 * transport over the two pipes with a kind of its own: the kind's state
 * keeps the child; an EOF or EPIPE looks at whether the child exited to
 * report its status, shutting down sends SIGTERM, and closing stops
 * (grace, SIGTERM, SIGKILL) and reaps it.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "base/clock_int.h"
#include "transport/transport_int.h"

extern char **environ;

/* How long to wait after SIGTERM before SIGKILL. */
#define TERM_WAIT_MS 200

/* The exec kind's state: the child.  pid, reaped and child_status are
 * guarded by the transport's lock where both the send and the receive
 * side may reap. */
struct exec_child {
	pid_t pid;          /* the child, -1 if none */
	bool reaped;        /* the child has been waited for */
	int child_status;   /* its wait status once reaped */
	int grace_ms;       /* wait before SIGTERM on close */
};

static const struct transport_kind exec_kind;

/* Describe a wait status into buf. */
static void describe_status(const struct exec_child *t, char *buf, size_t n)
{
	int s = t->child_status;

	if (WIFEXITED(s))
		snprintf(buf, n, "child %d exited with status %d", (int)t->pid,
			 WEXITSTATUS(s));
	else if (WIFSIGNALED(s))
		snprintf(buf, n, "child %d killed by signal %d (%s)",
			 (int)t->pid, WTERMSIG(s), strsignal(WTERMSIG(s)));
	else
		snprintf(buf, n, "child %d ended (status unavailable)",
			 (int)t->pid);
}

/* Reap the child if it has exited, waiting up to wait_ms (-1: forever).
 * True once reaped. */
static bool reap(struct exec_child *t, int wait_ms)
{
	int64_t deadline = clock_deadline(wait_ms);
	long nap_us = 500;
	struct timespec ts;
	pid_t r;
	int st;

	if (t->pid <= 0)
		return false;
	if (t->reaped)
		return true;
	for (;;) {
		r = waitpid(t->pid, &st, wait_ms < 0 ? 0 : WNOHANG);
		if (r == t->pid) {
			t->child_status = st;
			t->reaped = true;
			return true;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* ECHILD: someone else reaped it (SIGCHLD ignored,
			 * or a waitpid(-1) elsewhere). */
			t->child_status = -1;
			t->reaped = true;
			return true;
		}
		if (clock_remaining_ms(deadline) == 0)
			return false;
		ts.tv_sec = 0;
		ts.tv_nsec = nap_us * 1000;
		nanosleep(&ts, NULL);
		if (nap_us < 16000)
			nap_us *= 2;
	}
}

/* The kind's exited: if the child has exited (waiting up to wait_ms for
 * it), reap it, write "child N exited with status S" (or "killed by
 * signal...") into buf and return true; false if it still runs. */
static bool exec_exited(shade_transport *tr, int wait_ms, char *buf,
			size_t bufsz)
{
	struct exec_child *t = tr->kind_state;

	if (t == NULL || !reap(t, wait_ms))
		return false;
	describe_status(t, buf, bufsz);
	return true;
}

/* Stop the child (grace, SIGTERM, SIGKILL) and reap it.  The pipes must
 * already be closed.  No-op without a child. */
static void exec_stop(struct exec_child *t)
{
	if (t == NULL || t->pid <= 0 || t->reaped)
		return;
	if (reap(t, t->grace_ms))
		return;
	kill(t->pid, SIGTERM);
	if (reap(t, TERM_WAIT_MS))
		return;
	kill(t->pid, SIGKILL);
	reap(t, -1);
}

shade_status transport_split_command(void *mem_ctx, const char *cmd,
				     char ***argv_out, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	char **argv = NULL, *word, *w;
	const char *p = cmd;
	size_t n = 0;
	shade_status st = SHADE_OK;

	if (tmp == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	word = talloc_size(tmp, strlen(cmd) + 1);
	argv = talloc_array(tmp, char *, 1);
	if (word == NULL || argv == NULL) {
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		w = word;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '\'') {
				for (p++; *p != '\0' && *p != '\''; p++)
					*w++ = *p;
				if (*p == '\0')
					goto unterminated;
				p++;
			} else if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; p++) {
					if (*p == '\\' &&
					    (p[1] == '"' || p[1] == '\\'))
						p++;
					*w++ = *p;
				}
				if (*p == '\0')
					goto unterminated;
				p++;
			} else if (*p == '\\' && p[1] != '\0') {
				*w++ = p[1];
				p += 2;
			} else {
				*w++ = *p++;
			}
		}
		argv = talloc_realloc(tmp, argv, char *, n + 2);
		if (argv == NULL ||
		    (argv[n] = talloc_strndup(argv, word,
					      (size_t)(w - word))) == NULL) {
			st = shade_error_set(err, SHADE_ERR_NOMEM,
					     "out of memory");
			goto done;
		}
		n++;
	}
	if (n == 0) {
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     "exec:%s: empty command", cmd);
		goto done;
	}
	argv[n] = NULL;
	*argv_out = talloc_steal(mem_ctx, argv);
	goto done;
unterminated:
	st = shade_error_set(err, SHADE_ERR_INVALID,
			     "exec:%s: unterminated quote", cmd);
done:
	talloc_free(tmp);
	return st;
}

/* Make a CLOEXEC pipe whose fds are both above 2, so dup2 onto the child's
 * stdin/stdout never meets an fd already in place. */
static int pipe_above_stdio(int fds[2])
{
	int i, nfd;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		if (fds[i] > 2)
			continue;
		nfd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (nfd < 0) {
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
		close(fds[i]);
		fds[i] = nfd;
	}
	return 0;
}

/* Is path an executable regular file?  0 or an errno value. */
static int executable(const char *path)
{
	struct stat st;

	if (access(path, X_OK) < 0)
		return errno;
	if (stat(path, &st) < 0)
		return errno;
	return S_ISDIR(st.st_mode) ? EACCES : 0;
}

/*
 * Find the program as execvp would: name itself when it has a '/', else
 * the first executable dir/name along $PATH (default "/bin:/usr/bin", an
 * empty entry is the current directory).  Done before spawning so that a
 * missing program is reported with its reason even where posix_spawn
 * cannot report exec failures.  *path is on mem_ctx; returns 0 or an errno
 * value.
 */
static int find_program(void *mem_ctx, const char *name, char **path)
{
	const char *dirs = getenv("PATH"), *p, *end;
	int e, found_err = ENOENT;
	char *cand;

	if (strchr(name, '/') != NULL) {
		e = executable(name);
		if (e == 0 && (*path = talloc_strdup(mem_ctx, name)) == NULL)
			e = ENOMEM;
		return e;
	}
	if (dirs == NULL || dirs[0] == '\0')
		dirs = "/bin:/usr/bin";
	for (p = dirs;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		cand = talloc_asprintf(mem_ctx, "%.*s%s%s", (int)(end - p), p,
				       end == p ? "" : "/", name);
		if (cand == NULL)
			return ENOMEM;
		e = executable(cand);
		if (e == 0) {
			*path = cand;
			return 0;
		}
		talloc_free(cand);
		if (e == EACCES)
			found_err = EACCES;
		if (*end == '\0')
			return found_err;
	}
}

/* The address string "exec:word word ..." for messages. */
static char *join_argv(void *mem_ctx, const char *const argv[])
{
	char *s = talloc_strdup(mem_ctx, "exec:");
	size_t i;

	for (i = 0; s != NULL && argv[i] != NULL; i++)
		s = talloc_asprintf_append(s, "%s%s", i ? " " : "", argv[i]);
	return s;
}

shade_status shade_transport_exec(void *mem_ctx, const char *const argv[],
				  const shade_transport_opts *opts,
				  shade_transport **out, shade_error **err)
{
	int to_child[2] = { -1, -1 }, from_child[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	shade_transport_opts o;
	struct exec_child *x;
	shade_transport *t;
	char *path = NULL;
	pid_t pid;
	int rc;

	if (out == NULL || argv == NULL || argv[0] == NULL || argv[0][0] == 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "exec: empty command");
	t = transport_alloc(mem_ctx, opts, &exec_kind);
	if (t == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	x = talloc_zero(t, struct exec_child);
	talloc_free(t->address);
	t->address = join_argv(t, argv);
	if (x == NULL || t->address == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	transport_opts_resolve(opts, &o);
	x->pid = -1;
	x->grace_ms = o.exec_grace_ms;
	t->kind_state = x;
	rc = find_program(t, argv[0], &path);
	if (rc != 0) {
		shade_error_set(err, SHADE_ERR_EXEC, "%s: cannot run '%s': %s",
				t->address, argv[0], strerror(rc));
		talloc_free(t);
		return SHADE_ERR_EXEC;
	}
	if (pipe_above_stdio(to_child) < 0 || pipe_above_stdio(from_child) < 0) {
		rc = errno;
		if (to_child[0] >= 0) {
			close(to_child[0]);
			close(to_child[1]);
		}
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_IO, "exec: pipe: %s",
				       strerror(rc));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv,
			 environ);
	talloc_free(path);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(to_child[0]);
	close(from_child[1]);
	if (rc != 0) {
		close(to_child[1]);
		close(from_child[0]);
		shade_error_set(err, SHADE_ERR_EXEC, "%s: cannot run '%s': %s",
				t->address, argv[0], strerror(rc));
		talloc_free(t);
		return SHADE_ERR_EXEC;
	}
	transport_attach_fds(t, from_child[0], to_child[1], true);
	x->pid = pid;
	*out = t;
	return SHADE_OK;
}

/* The kind's shutdown: the pipes stay, the child gets SIGTERM. */
static shade_status exec_shutdown(shade_transport *t, shade_error **err)
{
	struct exec_child *x = t->kind_state;
	bool done;

	if (t->closed)
		return SHADE_OK;
	transport_fail(t, NULL, SHADE_ERR_CONNECTION_LOST,
		       "%s: transport shut down", t->address);
	done = transport_fd_shutdown_sockets(t);
	pthread_mutex_lock(&t->lock);
	if (x->pid > 0 && !x->reaped)
		done = kill(x->pid, SIGTERM) == 0 || done;
	pthread_mutex_unlock(&t->lock);
	if (!done)
		return shade_error_set(err, SHADE_ERR_IO, "%s: shutdown: %s",
				       t->address, strerror(errno));
	return SHADE_OK;
}

/* The kind's close: the pipes and buffers, then the child. */
static void exec_close(shade_transport *t)
{
	transport_fd_close(t);
	exec_stop(t->kind_state);
}

/* The kind's child_pid. */
static pid_t exec_child_pid(const shade_transport *t)
{
	const struct exec_child *x = t->kind_state;

	return x != NULL ? x->pid : -1;
}

/* An fd transport over the pipes, with the child's shutdown, close and
 * exit status. */
static const struct transport_kind exec_kind = {
	.send = transport_fd_send,
	.sendv = transport_fd_sendv,
	.send_frames = transport_fd_send_frames,
	.recv = transport_fd_recv,
	.has_frame = transport_fd_has_frame,
	.drained = transport_fd_drained,
	.flush = transport_fd_flush,
	.set_nonblocking = transport_fd_set_nonblocking,
	.fd = transport_fd_fd,
	.shutdown = exec_shutdown,
	.close = exec_close,
	.child_pid = exec_child_pid,
	.exited = exec_exited,
};
