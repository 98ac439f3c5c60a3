/*
 * transport_addr.c - address strings, connecting and listening.
 *
 * Address grammar (see shade/transport.h):
 *   unix:/path | unix:@abstract | tcp:host:port | tcp:[v6addr]:port |
 *   tls:host:port | tls:[v6addr]:port | exec:command args | fd:N | fd:R,W
 * Every parse failure is SHADE_ERR_INVALID with the address in the text.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <talloc.h>

#include "base/clock_int.h"
#include "transport/transport_int.h"

struct shade_listener {
	int fd;                    /* listening socket, -1 once closed */
	char *address;             /* actual bound address string */
	char *unix_path;           /* socket file to unlink, or NULL */
	dev_t dev;                 /* device of that file */
	ino_t ino;                 /* inode of that file */
	bool is_tcp;               /* accepted sockets get TCP_NODELAY */
	struct tls_server *tls;    /* tls: settings, or NULL */
	shade_transport_opts opts; /* options for accepted transports */
};

/* ------------------------------------------------------------ parsing */

/* Fill a sockaddr_un for "path" or "@abstract"; *len is its size. */
static shade_status parse_unix(const char *path, struct sockaddr_un *sun,
			       socklen_t *len, shade_error **err)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n == 0 || (path[0] == '@' && n == 1))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "unix:%s: empty socket path", path);
	if (n >= sizeof(sun->sun_path))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "unix:%.32s...: socket path is too long "
				       "(%zu bytes, at most %zu)", path, n,
				       sizeof(sun->sun_path) - 1);
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		sun->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)sizeof(*sun);
	}
	return SHADE_OK;
}

/* Split "host:port" or "[v6]:port" into host (on mem_ctx) and port text
 * (on mem_ctx).  An empty host stays empty. */
static shade_status parse_hostport(void *mem_ctx, const char *spec,
				   bool listening, char **host, char **port,
				   shade_error **err)
{
	const char *colon, *end;
	char *stop;
	unsigned long v;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tcp:%s: missing ']' after an "
					       "IPv6 address", spec);
		if (end[1] != ':')
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tcp:%s: expected tcp:[addr]:port",
					       spec);
		*host = talloc_strndup(mem_ctx, spec + 1,
				       (size_t)(end - spec - 1));
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tcp:%s: expected tcp:host:port",
					       spec);
		if (memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "tcp:%s: write IPv6 addresses in "
					       "brackets, as tcp:[::1]:port",
					       spec);
		*host = talloc_strndup(mem_ctx, spec, (size_t)(colon - spec));
	}
	if (*host == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	errno = 0;
	v = strtoul(colon + 1, &stop, 10);
	if (colon[1] < '0' || colon[1] > '9' || *stop != '\0' || errno ||
	    v > 65535)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "tcp:%s: bad port '%s' (expected 0 to "
				       "65535)", spec, colon + 1);
	if (v == 0 && !listening)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "tcp:%s: cannot connect to port 0", spec);
	if ((*host)[0] == '\0' && !listening)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "tcp:%s: missing host", spec);
	*port = talloc_asprintf(mem_ctx, "%lu", v);
	if (*port == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Resolve a tcp: address.  *res is freed by the caller (freeaddrinfo). */
static shade_status resolve_tcp(const char *spec, bool listening,
				struct addrinfo **res, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct addrinfo hints;
	char *host = NULL, *port = NULL;
	shade_status st;
	int rc;

	if (tmp == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = parse_hostport(tmp, spec, listening, &host, &port, err);
	if (st < 0)
		goto done;
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		host = talloc_strdup(tmp, "0.0.0.0");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICSERV | (listening ? AI_PASSIVE : 0);
	rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0)
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     "tcp:%s: cannot resolve host '%s': %s",
				     spec, host,
				     rc == EAI_SYSTEM ? strerror(errno)
						      : gai_strerror(rc));
done:
	talloc_free(tmp);
	return st;
}

/* "tcp:1.2.3.4:5" or "tcp:[::1]:5" for a socket address, on mem_ctx. */
static char *format_inet(void *mem_ctx, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		return talloc_asprintf(mem_ctx, "tcp:[%s]:%u", ip,
				       ntohs(s6->sin6_port));
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		return talloc_asprintf(mem_ctx, "tcp:%s:%u", ip,
				       ntohs(s4->sin_port));
	}
	return talloc_strdup(mem_ctx, "unix:");
}

/* ------------------------------------------------------------ connecting */

/* Map a connect() errno to a status and message. */
static shade_status connect_fail(const char *address, int e, shade_error **err)
{
	shade_status code = SHADE_ERR_IO;

	switch (e) {
	case ECONNREFUSED:
	case ENOENT:
	case ECONNRESET:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EADDRNOTAVAIL:
	case ECONNABORTED:
		code = SHADE_ERR_CONNECTION_LOST;
		break;
	case ETIMEDOUT:
		code = SHADE_ERR_TIMEOUT;
		break;
	default:
		break;
	}
	return shade_error_set(err, code, "%s: cannot connect: %s", address,
			       strerror(e));
}

/* Connect a fresh socket of (family) to sa within timeout_ms (0: no
 * bound).  Returns the blocking, CLOEXEC fd or -1 with errno. */
static int connect_socket(int family, const struct sockaddr *sa,
			  socklen_t len, int timeout_ms)
{
	int fd, e, r;
	socklen_t elen = sizeof(e);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS && errno != EINTR &&
		    errno != EAGAIN)
			goto fail;
		r = transport_poll_fd(fd, POLLOUT,
				      timeout_ms > 0 ? timeout_ms : -1);
		if (r < 0)
			goto fail;
		if (r == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			goto fail;
		if (e != 0) {
			errno = e;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Turn Nagle off on a TCP socket. */
static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Wrap a connected socket in a transport named `address`. */
static shade_status wrap_socket(void *mem_ctx, int fd, const char *address,
				const shade_transport_opts *opts,
				shade_transport **out, shade_error **err)
{
	shade_transport *t;

	SHADE_CHECK(shade_transport_from_fds(mem_ctx, fd, fd,
					     SHADE_TRANSPORT_OWN_FDS, opts, &t,
					     err));
	talloc_free(t->address);
	t->address = talloc_strdup(t, address);
	if (t->address == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*out = t;
	return SHADE_OK;
}

static shade_status connect_unix(void *mem_ctx, const char *address,
				 const shade_transport_opts *o,
				 shade_transport **out, shade_error **err)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	SHADE_CHECK(parse_unix(address + 5, &sun, &len, err));
	fd = connect_socket(AF_UNIX, (struct sockaddr *)&sun, len,
			    o->connect_timeout_ms);
	if (fd < 0)
		return connect_fail(address, errno, err);
	return wrap_socket(mem_ctx, fd, address, o, out, err);
}

static shade_status connect_tcp(void *mem_ctx, const char *address,
				const shade_transport_opts *o,
				shade_transport **out, shade_error **err)
{
	struct addrinfo *res = NULL, *ai;
	char *name = NULL;
	shade_status st;
	int fd = -1, e = ECONNREFUSED;

	SHADE_CHECK(resolve_tcp(address + 4, false, &res, err));
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = connect_socket(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				    o->connect_timeout_ms);
		if (fd < 0)
			e = errno;
		else
			name = format_inet(NULL, ai->ai_addr);
	}
	freeaddrinfo(res);
	if (fd < 0)
		return connect_fail(address, e, err);
	set_nodelay(fd);
	if (name == NULL) {
		close(fd);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	st = wrap_socket(mem_ctx, fd, name, o, out, err);
	talloc_free(name);
	return st;
}

/* tcp:, then TLS over it with the address's host as the name to
 * check; the transport's address says tls:. */
static shade_status connect_tls(void *mem_ctx, const char *address,
				const shade_transport_opts *o,
				shade_transport **out, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	char *host = NULL, *port = NULL;
	shade_transport *t = NULL;
	shade_status st;

	if (tmp == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = parse_hostport(tmp, address + 4, false, &host, &port, err);
	if (st == SHADE_OK)
		st = connect_tcp(mem_ctx, address, o, &t, err);
	if (st == SHADE_OK) {
		memcpy(t->address, "tls", 3);
		st = transport_tls_connect(t, host, o, err);
		if (st < 0)
			talloc_free(t);
		else
			*out = t;
	}
	talloc_free(tmp);
	return st;
}

/* "fd:N" or "fd:R,W". */
static shade_status connect_fd(void *mem_ctx, const char *address,
			       const shade_transport_opts *o,
			       shade_transport **out, shade_error **err)
{
	const char *p = address + 3;
	char *stop;
	long r, w;

	errno = 0;
	r = strtol(p, &stop, 10);
	if (stop == p || *p < '0' || *p > '9' || errno || r > INT_MAX)
		goto bad;
	w = r;
	if (*stop == ',') {
		p = stop + 1;
		w = strtol(p, &stop, 10);
		if (stop == p || *p < '0' || *p > '9' || errno || w > INT_MAX)
			goto bad;
	}
	if (*stop != '\0')
		goto bad;
	if (fcntl((int)r, F_GETFD) < 0 || fcntl((int)w, F_GETFD) < 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: not an open file descriptor",
				       address);
	return shade_transport_from_fds(mem_ctx, (int)r, (int)w,
					SHADE_TRANSPORT_OWN_FDS, o, out, err);
bad:
	return shade_error_set(err, SHADE_ERR_INVALID,
			       "%s: expected fd:N or fd:R,W", address);
}

static shade_status connect_exec(void *mem_ctx, const char *address,
				 const shade_transport_opts *o,
				 shade_transport **out, shade_error **err)
{
	char **argv = NULL;
	shade_status st;

	SHADE_CHECK(transport_split_command(NULL, address + 5, &argv, err));
	st = shade_transport_exec(mem_ctx, (const char *const *)argv, o, out,
				  err);
	talloc_free(argv);
	return st;
}

shade_status shade_transport_connect(void *mem_ctx, const char *address,
				     const shade_transport_opts *opts,
				     shade_transport **out, shade_error **err)
{
	shade_transport_opts o;
	const char *colon;

	if (address == NULL || out == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "connect: NULL address");
	transport_opts_resolve(opts, &o);
	if (strncmp(address, "unix:", 5) == 0)
		return connect_unix(mem_ctx, address, &o, out, err);
	if (strncmp(address, "tcp:", 4) == 0)
		return connect_tcp(mem_ctx, address, &o, out, err);
	if (strncmp(address, "tls:", 4) == 0)
		return connect_tls(mem_ctx, address, &o, out, err);
	if (strncmp(address, "exec:", 5) == 0)
		return connect_exec(mem_ctx, address, &o, out, err);
	if (strncmp(address, "fd:", 3) == 0)
		return connect_fd(mem_ctx, address, &o, out, err);
	colon = strchr(address, ':');
	if (colon == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "'%s' is not an address: expected "
				       "unix:, tcp:, tls:, exec: or fd:",
				       address);
	return shade_error_set(err, SHADE_ERR_INVALID,
			       "%s: unknown transport '%.*s' (expected unix:, "
			       "tcp:, tls:, exec: or fd:)", address,
			       (int)(colon - address), address);
}

/* ------------------------------------------------------------ listeners */

static int listener_destructor(shade_listener *l)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	transport_tls_server_put(l->tls);
	l->tls = NULL;
	/* Unlink only the file this listener made, not a successor's. */
	if (l->unix_path != NULL && stat(l->unix_path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->unix_path);
	return 0;
}

/* Bind fd to a Unix path, replacing a stale socket file nobody listens
 * on.  Returns 0 or -1 with errno. */
static int bind_unix(int fd, const struct sockaddr_un *sun, socklen_t len,
		     const char *path)
{
	struct stat st;
	int probe;

	if (bind(fd, (const struct sockaddr *)sun, len) == 0)
		return 0;
	if (errno != EADDRINUSE || path[0] == '@')
		return -1;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		errno = EADDRINUSE;
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -1;
	if (connect(probe, (const struct sockaddr *)sun, len) == 0 ||
	    errno != ECONNREFUSED) {
		close(probe);
		errno = EADDRINUSE;
		return -1;
	}
	close(probe);
	if (unlink(path) < 0)
		return -1;
	return bind(fd, (const struct sockaddr *)sun, len);
}

static shade_status listen_unix(shade_listener *l, const char *address,
				shade_error **err)
{
	const char *path = address + 5;
	mode_t mode = l->opts.unix_mode ? (mode_t)(l->opts.unix_mode & 07777)
					: 0600;
	struct sockaddr_un sun;
	struct stat st;
	socklen_t len;

	SHADE_CHECK(parse_unix(path, &sun, &len, err));
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return shade_error_set(err, SHADE_ERR_IO, "%s: socket: %s",
				       address, strerror(errno));
	/* The file bind makes takes the socket's mode less the umask:
	 * never wider than `mode` from the first instant; chmod then sets
	 * exactly `mode` (a umask may have narrowed it). */
	if (fchmod(l->fd, mode) < 0)
		return shade_error_set(err, SHADE_ERR_IO, "%s: fchmod: %s",
				       address, strerror(errno));
	if (bind_unix(l->fd, &sun, len, path) < 0)
		return shade_error_set(err, errno == EADDRINUSE
					       ? SHADE_ERR_INVALID
					       : SHADE_ERR_IO,
				       "%s: cannot bind: %s", address,
				       errno == EADDRINUSE ? "address in use"
							   : strerror(errno));
	if (path[0] != '@') {
		l->unix_path = talloc_strdup(l, path);
		if (l->unix_path == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		if (chmod(path, mode) < 0)
			return shade_error_set(err, SHADE_ERR_IO,
					       "%s: chmod: %s", address,
					       strerror(errno));
		if (stat(path, &st) == 0) {
			l->dev = st.st_dev;
			l->ino = st.st_ino;
		}
	}
	l->address = talloc_strdup(l, address);
	if (l->address == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

static shade_status listen_tcp(shade_listener *l, const char *address,
			       shade_error **err)
{
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, e = EADDRNOTAVAIL;

	SHADE_CHECK(resolve_tcp(address + 4, true, &res, err));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		l->fd = socket(ai->ai_family,
			       SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (l->fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(l->fd);
		l->fd = -1;
	}
	freeaddrinfo(res);
	if (l->fd < 0)
		return shade_error_set(err, e == EADDRINUSE ? SHADE_ERR_INVALID
							    : SHADE_ERR_IO,
				       "%s: cannot bind: %s", address,
				       e == EADDRINUSE ? "address in use"
						       : strerror(e));
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0)
		return shade_error_set(err, SHADE_ERR_IO,
				       "%s: getsockname: %s", address,
				       strerror(errno));
	l->is_tcp = true;
	l->address = format_inet(l, (struct sockaddr *)&ss);
	if (l->address == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* "fd:N": an inherited socket already listening (systemd Accept=no).
 * The listener owns the fd from now on; its address is what the socket
 * is bound to.  No file is unlinked when it closes. */
static shade_status listen_fd(shade_listener *l, const char *address,
			      shade_error **err)
{
	const char *p = address + 3;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int yes = 0, fl;
	socklen_t yl = sizeof(yes);
	char *stop;
	long n;

	errno = 0;
	n = strtol(p, &stop, 10);
	if (stop == p || *p < '0' || *p > '9' || *stop != '\0' || errno ||
	    n > INT_MAX)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: expected fd:N", address);
	if (getsockopt((int)n, SOL_SOCKET, SO_ACCEPTCONN, &yes, &yl) < 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: not a socket: %s", address,
				       strerror(errno));
	if (!yes)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: not a listening socket (serve a "
				       "connected one with "
				       "shade_server_adopt)", address);
	if (getsockname((int)n, (struct sockaddr *)&ss, &sl) < 0)
		return shade_error_set(err, SHADE_ERR_IO,
				       "%s: getsockname: %s", address,
				       strerror(errno));
	fl = fcntl((int)n, F_GETFL);
	if (fl < 0 || fcntl((int)n, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl((int)n, F_SETFD, FD_CLOEXEC) < 0)
		return shade_error_set(err, SHADE_ERR_IO, "%s: fcntl: %s",
				       address, strerror(errno));
	l->fd = (int)n;
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)&ss;
		size_t len = sl > offsetof(struct sockaddr_un, sun_path)
			? sl - offsetof(struct sockaddr_un, sun_path) : 0;

		if (len > 0 && sun->sun_path[0] == '\0')
			l->address = talloc_asprintf(l, "unix:@%.*s",
						     (int)len - 1,
						     sun->sun_path + 1);
		else
			l->address = talloc_asprintf(l, "unix:%s",
						     sun->sun_path);
	} else {
		l->is_tcp = true;
		l->address = format_inet(l, (struct sockaddr *)&ss);
	}
	if (l->address == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

int shade_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *stop;
	long n, i;

	if (pid == NULL || fds == NULL)
		return 0;
	errno = 0;
	if (strtol(pid, &stop, 10) != (long)getpid() || *stop != '\0')
		return 0;
	n = strtol(fds, &stop, 10);
	if (errno || *stop != '\0' || n <= 0 || n > INT_MAX - 3)
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++)
		fcntl(SHADE_LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
	return (int)n;
}

shade_status shade_listener_open(void *mem_ctx, const char *address,
				 const shade_transport_opts *opts,
				 shade_listener **out, shade_error **err)
{
	shade_listener *l;
	shade_status st;

	if (address == NULL || out == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "listen: NULL address");
	if (strncmp(address, "unix:", 5) != 0 &&
	    strncmp(address, "tcp:", 4) != 0 &&
	    strncmp(address, "tls:", 4) != 0 &&
	    strncmp(address, "fd:", 3) != 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: can only listen on unix:, tcp:, "
				       "tls: or fd: addresses", address);
	l = talloc_zero(mem_ctx, shade_listener);
	if (l == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	l->fd = -1;
	transport_opts_resolve(opts, &l->opts);
	talloc_set_destructor(l, listener_destructor);
	if (address[0] == 'u') {
		st = listen_unix(l, address, err);
	} else if (address[0] == 'f') {
		st = listen_fd(l, address, err);
	} else {
		st = listen_tcp(l, address, err);
		if (st == SHADE_OK && address[1] == 'l') {
			memcpy(l->address, "tls", 3);
			st = transport_tls_server_new(l->opts.tls, &l->tls,
						      err);
		}
	}
	l->opts.tls = NULL; /* the caller's; loaded into l->tls */
	if (st == SHADE_OK && listen(l->fd, l->opts.listen_backlog) < 0)
		st = shade_error_set(err, SHADE_ERR_IO, "%s: listen: %s",
				     address, strerror(errno));
	if (st < 0) {
		talloc_free(l);
		return st;
	}
	*out = l;
	return SHADE_OK;
}

shade_status shade_listener_accept(shade_listener *l, void *mem_ctx,
				   int timeout_ms, shade_transport **out,
				   shade_error **err)
{
	int64_t deadline = clock_deadline(timeout_ms);
	struct sockaddr_storage ss;
	socklen_t sl;
	shade_status st;
	char *name;
	int fd, r;

	if (l == NULL || out == NULL || l->fd < 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "accept: no listener");
	for (;;) {
		sl = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return shade_error_set(err, SHADE_ERR_IO,
					       "%s: accept: %s", l->address,
					       strerror(errno));
		if (timeout_ms == 0)
			return SHADE_AGAIN;
		r = transport_poll_fd(l->fd, POLLIN,
				      clock_remaining_ms(deadline));
		if (r < 0)
			return shade_error_set(err, SHADE_ERR_IO,
					       "%s: poll: %s", l->address,
					       strerror(errno));
		if (r == 0)
			return shade_error_set(err, SHADE_ERR_TIMEOUT,
					       "%s: no connection within %d ms",
					       l->address, timeout_ms);
	}
	if (l->is_tcp) {
		set_nodelay(fd);
		name = format_inet(NULL, (struct sockaddr *)&ss);
	} else {
		name = talloc_strdup(NULL, l->address);
	}
	if (name == NULL) {
		close(fd);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (l->tls != NULL)
		memcpy(name, "tls", 3);
	/* The listener knows what fd is (a socket of its family, open,
	 * O_NONBLOCK): no system call to find out. */
	st = transport_adopt_socket(mem_ctx, fd, name, true, &l->opts, out,
				    err);
	if (st == SHADE_OK && l->tls != NULL &&
	    (st = transport_tls_accept(*out, l->tls, err)) < 0)
		talloc_free(*out);
	return st;
}

int shade_listener_fd(const shade_listener *l)
{
	return l ? l->fd : -1;
}

const char *shade_listener_address(const shade_listener *l)
{
	return l && l->address ? l->address : "(null)";
}
