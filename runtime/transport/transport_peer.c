/*
 * transport_peer.c - what a transport knows of the other end: its kind
 * and, on a Unix socket, the credentials the kernel recorded when the
 * peer connected (SO_PEERCRED).  Read once, by the connection, for
 * shade_conn_identity (shade/security.h).
 */
#include <string.h>
#include <sys/socket.h>

#include "transport/transport_int.h"

/* The kind named by an address's prefix ("exec:ls" -> "exec"), or
 * NULL when it has none.  Only prefixes the address grammar knows. */
static const char *prefix_kind(const char *address)
{
	static const char *const kinds[] = { "unix", "tcp", "exec", "fd",
					     "tls" };
	size_t i, n;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i]);
		if (strncmp(address, kinds[i], n) == 0 && address[n] == ':')
			return kinds[i];
	}
	return NULL;
}

void transport_peer(const shade_transport *t, bool cred,
		    struct transport_peer *out)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	const char *kind = t->address ? prefix_kind(t->address) : NULL;
	int fd = t->rfd;
	bool unix_sock = kind != NULL && strcmp(kind, "unix") == 0;
	bool known = unix_sock || (kind != NULL && strcmp(kind, "tcp") == 0);

	memset(out, 0, sizeof(*out));
	/* "unix:" and "tcp:" say the socket's family: no system call to
	 * find it; the other kinds may stand on a Unix socket. */
	if (fd >= 0 && !known &&
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_UNIX) {
			unix_sock = true;
			if (kind == NULL)
				kind = "unix";
		} else if (kind == NULL &&
			   (ss.ss_family == AF_INET ||
			    ss.ss_family == AF_INET6)) {
			kind = "tcp";
		}
	}
	if (cred && unix_sock && fd >= 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 &&
	    ul == sizeof(uc) && uc.pid > 0) {
		out->has_cred = true;
		out->uid = uc.uid;
		out->gid = uc.gid;
		out->pid = uc.pid;
	}
	if (kind == NULL)
		kind = t->address != NULL && t->address[0] != '\0' ? t->address
								   : "fd";
	out->kind = kind;
}
