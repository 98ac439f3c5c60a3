/*
 * tools/monitor.h - `shade monitor`: a relay between clients and a
 * server that prints every message it forwards (doc/shade.1, MONITOR).
 */
#ifndef SHADE_TOOLS_MONITOR_H
#define SHADE_TOOLS_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

/* One frame as the monitor prints it, on mem_ctx, without a newline:
 * "#CONN > OPCODE ID MESSAGE" (> client to server, < server to client),
 * the message in CBOR diagnostic notation; "#CONN > ? not CBOR (why):
 * h'..'" when the frame is not one well-formed message.  NULL when out
 * of memory. */
char *monitor_format(TALLOC_CTX *mem_ctx, unsigned conn, bool to_server,
		     const uint8_t *frame, size_t len);

/* Listen on listen_addr and relay each client to server_addr, printing
 * every frame on standard output, until SIGINT or SIGTERM.  Returns the
 * exit status: 0 stopped by a signal, 3 cannot listen. */
int monitor_run(const char *listen_addr, const char *server_addr);

#endif /* SHADE_TOOLS_MONITOR_H */
