/*
 * server_int.h - what the server layer's other files (embed.c) need of
 * server.c's private state.
 */
#ifndef SHADE_SERVER_INT_H
#define SHADE_SERVER_INT_H

#include <stdint.h>

#include "shade/server.h"
#include "shade/visibility.h"

struct loop;

/* The server's event loop (borrowed; a child of s). */
SHADE_INTERNAL struct loop *server_loop(const shade_server *s);

/* Sockets of dropped connections that s's closer thread ended (sent
 * their last words and closed) rather than the loop's thread. */
SHADE_INTERNAL uint64_t server_closed_later(const shade_server *s);

#endif /* SHADE_SERVER_INT_H */
