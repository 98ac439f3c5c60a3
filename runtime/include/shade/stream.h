/*
 * shade/stream.h - values larger than a frame, in chunks: a stream
 * object serves bytes from a source function a chunk at a time, and a
 * reader pulls them from a stream, local or remote, with a bounded
 * number of chunks in flight.  Neither side ever holds more than the
 * chunks in flight, so a 1 GiB value crosses in a few MiB of memory.
 *
 *     // server: a stream object over a source, returned by a method
 *     shade_stream_new(my_source, state, my_free, &stream, &err);
 *     call->result = shade_ref_value_take(call->mem, stream);
 *
 *     // client: read the stream the method returned
 *     shade_stream_reader *rd;
 *     shade_stream_open(ctx, shade_value_as_ref(res), NULL, &rd, &err);
 *     while ((st = shade_stream_read(rd, &p, &n, &err)) == SHADE_OK &&
 *            n > 0)
 *             consume(p, n);
 *     talloc_free(rd);
 *
 * An upload is the same the other way round: the client makes a stream
 * object over its source and passes it as an argument; the server's
 * method reads it with a reader while the client's call waits (the
 * client serves the reads meanwhile, doc/api.md §7).
 *
 * On the wire a stream is an ordinary object of type "shade.Stream"
 * with two methods, read(offset, max) and close() (doc/protocol.md
 * §14): any peer that can INVOKE can read one.
 */
#ifndef SHADE_STREAM_H
#define SHADE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/object.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest chunk a reader asks for and a stream serves (4 MiB). */
#define SHADE_STREAM_CHUNK_MAX ((size_t)4 << 20)
/* Chunk and window when a reader's options leave them 0. */
#define SHADE_STREAM_DEFAULT_CHUNK ((size_t)256 << 10)
#define SHADE_STREAM_DEFAULT_WINDOW 4u
/* Most chunks a reader keeps in flight. */
#define SHADE_STREAM_WINDOW_MAX 64u

/* The source of a stream object: write up to max bytes of the value's
 * next bytes at buf and set *n to how many (fewer than max only at the
 * end: 0 once everything was given).  A failure reaches the reader as
 * the error of its read. */
typedef shade_status (*shade_stream_source_fn)(void *udata, uint8_t *buf,
					       size_t max, size_t *n,
					       shade_error **err);

/* Make a stream object (type "shade.Stream", one count in *out) serving
 * the bytes source gives, in order.  done(udata), when not NULL, runs
 * once when the object is freed (its last count dropped: the reader
 * closed it, its peer released it or its connection ended). */
SHADE_API shade_status shade_stream_new(shade_stream_source_fn source,
					void *udata, void (*done)(void *udata),
					shade_ref **out, shade_error **err);

/* How a reader pulls (all-zero: the defaults). */
typedef struct shade_stream_opts {
	size_t chunk;      /* bytes asked per read, at most
			    * SHADE_STREAM_CHUNK_MAX and the connection's
			    * frame limit less 64; 0: 256 KiB */
	unsigned window;   /* reads in flight, at most
			    * SHADE_STREAM_WINDOW_MAX; 0: 4 */
	int timeout_ms;    /* bound on the wait for one chunk; 0: the
			    * connection's default, -1: none */
} shade_stream_opts;

/* A reader of one stream (a talloc object: freeing it closes it). */
typedef struct shade_stream_reader shade_stream_reader;

/* Start reading stream (a proxy of a remote stream or a local one; the
 * reader takes a count of its own) with opts (NULL: the defaults):
 * window reads go out at once. */
SHADE_API shade_status shade_stream_open(TALLOC_CTX *mem_ctx, shade_ref *stream,
					 const shade_stream_opts *opts,
					 shade_stream_reader **out,
					 shade_error **err);

/* The next chunk: *data and *len (valid until the next read or the
 * reader is freed); *len 0 at the end.  A chunk that breaks the rules
 * (not bytes, longer than asked, data after a short chunk) is
 * SHADE_ERR_PROTOCOL; the stream's source's failure, a lost connection
 * or a timeout come as they are.  After a failure the reader only
 * fails. */
SHADE_API shade_status shade_stream_read(shade_stream_reader *rd,
					 const uint8_t **data, size_t *len,
					 shade_error **err);

/* Bytes read so far. */
SHADE_API uint64_t shade_stream_offset(const shade_stream_reader *rd);

/* Stop reading: withdraw the reads in flight, tell the stream to close
 * (its source is freed when nothing else holds it) and drop the
 * reader's count.  Freeing the reader does the same; the reader stays
 * allocated until freed. */
SHADE_API void shade_stream_close(shade_stream_reader *rd);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_STREAM_H */
