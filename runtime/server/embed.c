/*
 * embed.c - a server driven by the user's own loop (see shade/server.h,
 * "embedding"): the loop's epoll set is the one fd to watch (a member
 * of another epoll set, a GLib source's fd, a libuv poll handle), its
 * timers and the work no event announces give the timeout, and a step
 * is one turn that does not wait.
 *
 * With the poll(2) backend the loop has no fd standing for its watches
 * (each wait builds its pollfd array), so the timeout is capped at
 * POLL_BACKEND_MS instead: a host that steps on the timeout serves
 * everything, each event answered within that much.
 */
#include "shade/server.h"
#include "loop/loop_int.h"
#include "server/server_int.h"

/* The longest timeout given with the poll(2) backend (no fd). */
#define POLL_BACKEND_MS 10

int shade_server_fd(const shade_server *s)
{
	return loop_host_fd(server_loop(s));
}

int shade_server_timeout_ms(const shade_server *s)
{
	const struct loop *l = server_loop(s);
	int ms = loop_next_ms(l);

	if (loop_host_fd(l) < 0 && (ms < 0 || ms > POLL_BACKEND_MS))
		ms = POLL_BACKEND_MS;
	return ms;
}

shade_status shade_server_step(shade_server *s, shade_error **err)
{
	return shade_server_run_once(s, 0, err);
}
