/*
 * shade/proxy.h - using objects, remote or local, through references.
 *
 * shade_lookup() gives a reference to an object a peer exports by name.
 * Every other call here works on any shade_ref: on a proxy it sends one
 * request and waits for its reply (one round trip); on a local object it
 * runs the member directly.  Values returned carry references as SHADE_REF
 * values (proxies, or the original local object when the peer passed back
 * something we host).
 *
 * Round trips: lookup 1; getattr 1 per call (no cache of values: an
 * attribute may change); setattr 1; invoke 1; call 1; len, getitem,
 * setitem, delitem, contains, append 1 each, and every list or dict
 * method (extend, pop, update...) 1; force 1; iteration one per
 * chunk.  dir, isinstance and reading the shape are local once the shape
 * arrived with the reference; a member absent from a complete shape is
 * AttributeError with no round trip.
 *
 * Copy rules (doc/api.md): immutable values cross by value; a bare list
 * or dict in the arguments or the result of invoke, call, setattr and
 * getattr crosses by reference (a container the sender exports while the
 * peer holds it), unless the call's options say byvalue, the value is
 * marked (shade_value_set_byvalue), the target is a list or dict, or the
 * member is declared in IDL.
 *
 * Ownership: results are allocated on the caller's mem_ctx; refs handed
 * out through `shade_ref **` carry one count for the caller.
 */
#ifndef SHADE_PROXY_H
#define SHADE_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/error.h"
#include "shade/object.h"
#include "shade/value.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-call options; NULL or zeroed means the defaults.  Every call form
 * takes them: the _ex forms, the asynchronous ones and typed requests. */
typedef struct shade_call_opts {
	int timeout_ms; /* deadline for this call; 0: the connection's
			 * default; -1: wait forever */
	bool oneway;    /* send without waiting; the result is none */
	bool byvalue;   /* lists and dicts of the arguments and of the
			 * result cross by value (snapshots), not by
			 * reference (doc/api.md, "Copy rules") */
	bool promise;   /* asynchronous forms: ask the peer to keep the
			 * result so that calls can be made on it before
			 * it returns (shade_future_ref, promise
			 * pipelining); ignored by a peer without it */
} shade_call_opts;

/* The object the peer exports under name (LOOKUP): one round trip.
 * NotFound when there is none; TypeError when the name exports a
 * plain value (shade_lookup_value reads it). */
SHADE_API shade_status shade_lookup(shade_conn *c, const char *name,
				    shade_ref **out, shade_error **err);

/* The names the peer exports (NAMES): a talloc array of *n strings on
 * mem_ctx. One round trip. */
SHADE_API shade_status shade_names(TALLOC_CTX *mem_ctx, shade_conn *c,
				   char ***names, size_t *n,
				   shade_error **err);

/* The object the peer exports under name in its namespace `ns` (NULL:
 * the default one, as shade_lookup): one round trip (LOOKUP of [ns,
 * name]).  NotFound when there is none; TypeError when the name
 * exports a plain value (shade_lookup_value reads it). */
SHADE_API shade_status shade_lookup_in(shade_conn *c, const char *ns,
				       const char *name, shade_ref **out,
				       shade_error **err);

/* Whatever the peer exports under name in namespace ns (NULL: the
 * default one): a plain value as itself, an object as a ref value, on
 * mem_ctx.  One round trip.  NotFound when there is none. */
SHADE_API shade_status shade_lookup_value(TALLOC_CTX *mem_ctx, shade_conn *c,
					  const char *ns, const char *name,
					  shade_value **out,
					  shade_error **err);

/* The names of the peer's namespace ns (NAMES_IN; NULL: the default
 * namespace, as shade_names): a talloc array of *n strings on mem_ctx,
 * none for a namespace the peer does not have.  One round trip. */
SHADE_API shade_status shade_names_in(TALLOC_CTX *mem_ctx, shade_conn *c,
				      const char *ns, char ***names,
				      size_t *n, shade_error **err);

/* Read member `name`: an attribute's value, or for a method a bound
 * method (a callable reference).  One round trip on a proxy. */
SHADE_API shade_status shade_getattr(TALLOC_CTX *mem_ctx, shade_ref *r,
				     const char *name, shade_value **out,
				     shade_error **err);

/* Write attribute `name` (a copy of v travels). One round trip. */
SHADE_API shade_status shade_setattr(shade_ref *r, const char *name,
				     const shade_value *v, shade_error **err);

/*
 * Call method `name` with args (a tuple, or NULL for none) and kwargs (a
 * dict or NULL): one round trip (INVOKE).  *out gets the result on
 * mem_ctx (a none box for none); out may be NULL to discard it.
 */
SHADE_API shade_status shade_invoke(TALLOC_CTX *mem_ctx, shade_ref *r,
				    const char *name, const shade_value *args,
				    const shade_value *kwargs,
				    shade_value **out, shade_error **err);

/* shade_invoke() with per-call options (NULL: defaults). */
SHADE_API shade_status shade_invoke_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
					 const char *name,
					 const shade_value *args,
					 const shade_value *kwargs,
					 const shade_call_opts *opts,
					 shade_value **out, shade_error **err);

/* Call a callable (function, bound method, type): one round trip. */
SHADE_API shade_status shade_call(TALLOC_CTX *mem_ctx, shade_ref *r,
				  const shade_value *args,
				  const shade_value *kwargs,
				  shade_value **out, shade_error **err);

/* shade_call() with per-call options. */
SHADE_API shade_status shade_call_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
					const shade_value *args,
					const shade_value *kwargs,
					const shade_call_opts *opts,
					shade_value **out, shade_error **err);

/* The member names of r's shape, a talloc array of *n strings on
 * mem_ctx.  Local when the shape is known; otherwise one DESCRIBE. */
SHADE_API shade_status shade_dir(TALLOC_CTX *mem_ctx, shade_ref *r,
				 char ***names, size_t *n, shade_error **err);

/* Ask the peer for r's shape again (DESCRIBE, one round trip) and cache
 * it; *out (may be NULL) is borrowed like shade_ref_shape(). */
SHADE_API shade_status shade_describe(shade_ref *r,
				      const shade_shape_desc **out,
				      shade_error **err);

/* Whether instance r is an instance of type t (a type reference): t's
 * name equals r's type or one of its bases.  Local once both shapes are
 * known. */
SHADE_API shade_status shade_isinstance(shade_ref *r, shade_ref *t,
					bool *out, shade_error **err);

/*
 * The type object of r (one count in *out): for a proxy one round trip
 * (TYPEOF), the same type arriving as the same reference (so
 * shade_ref_same() compares types, "type(x) is T"); for a local instance
 * its type (shade_object_type).  TypeError when r has no type object.
 */
SHADE_API shade_status shade_type_of(shade_ref *r, shade_ref **out,
				     shade_error **err);

/*
 * A printable form of r, a new string on mem_ctx: what its __repr__
 * member returns when its shape lists one (one round trip on a proxy;
 * TypeError when it returns no str), else "<T object>" with T its type
 * name (no round trip).
 */
SHADE_API shade_status shade_repr(TALLOC_CTX *mem_ctx, shade_ref *r,
				  char **out, shade_error **err);

/* ------------------------------------------------------------ containers
 *
 * On a list or dict these are its own operations; on any other object
 * they call the special members of its shape (__len__, __getitem__, ...,
 * shade/object.h), on the server's side for a proxy: the round trips are
 * the same.
 */

/* len(r): one round trip. */
SHADE_API shade_status shade_len(shade_ref *r, size_t *out, shade_error **err);

/* r[key] into *out on mem_ctx: one round trip. */
SHADE_API shade_status shade_getitem(TALLOC_CTX *mem_ctx, shade_ref *r,
				     const shade_value *key, shade_value **out,
				     shade_error **err);

/* r[key] = v: one round trip. */
SHADE_API shade_status shade_setitem(shade_ref *r, const shade_value *key,
				     const shade_value *v, shade_error **err);

/* del r[key]: one round trip. */
SHADE_API shade_status shade_delitem(shade_ref *r, const shade_value *key,
				     shade_error **err);

/* v in r (list: an element; dict: a key): one round trip. */
SHADE_API shade_status shade_contains(shade_ref *r, const shade_value *v,
				      bool *out, shade_error **err);

/* r.append(v) (lists): one round trip. */
SHADE_API shade_status shade_append(shade_ref *r, const shade_value *v,
				    shade_error **err);

/* A by-value snapshot of the whole container (SHADE_LIST or SHADE_DICT
 * on mem_ctx): one round trip. */
SHADE_API shade_status shade_force(TALLOC_CTX *mem_ctx, shade_ref *r,
				   shade_value **out, shade_error **err);

/* Snapshot of elements [start, start+count) (count SIZE_MAX: to the end). */
SHADE_API shade_status shade_force_range(TALLOC_CTX *mem_ctx, shade_ref *r,
					 size_t start, size_t count,
					 shade_value **out, shade_error **err);

/* The keys (dict) or the elements (list) of r as a new SHADE_LIST on
 * mem_ctx: one round trip (a whole snapshot). */
SHADE_API shade_status shade_keys(TALLOC_CTX *mem_ctx, shade_ref *r,
				  shade_value **out, shade_error **err);

/* The values of a dict (the elements of a list) as a SHADE_LIST: one
 * round trip. */
SHADE_API shade_status shade_values(TALLOC_CTX *mem_ctx, shade_ref *r,
				    shade_value **out, shade_error **err);

/* The (key, value) pairs of a dict as a SHADE_LIST of 2-tuples (for a
 * list: (index, element)): one round trip. */
SHADE_API shade_status shade_items(TALLOC_CTX *mem_ctx, shade_ref *r,
				   shade_value **out, shade_error **err);

/* Compare the container r with a value (a list or dict, compared with
 * shade_value_equal): one round trip.  An object whose shape lists
 * __eq__ is compared by calling it with v (one round trip; TypeError
 * when it returns no bool). */
SHADE_API shade_status shade_equal(shade_ref *r, const shade_value *v,
				   bool *out, shade_error **err);

/*
 * Methods of a list or dict (members of builtins.list / builtins.dict,
 * doc/protocol.md §3.4), each one INVOKE: one round trip on a proxy, a
 * direct call on a local container.  Their arguments cross by value: the
 * container stores copies.  shade_getattr(mem_ctx, r, "append", &m, &err)
 * takes any of them as a bound method to call later or pass on.
 */

/* r.extend(items) (lists): append every item of items (a tuple, list or
 * dict: its keys), in one round trip. */
SHADE_API shade_status shade_extend(shade_ref *r, const shade_value *items,
				    shade_error **err);

/* r.insert(index, v) (lists): index counts from the end when negative
 * and is clipped to the list, as in Python. */
SHADE_API shade_status shade_insert(shade_ref *r, int64_t index,
				    const shade_value *v, shade_error **err);

/* r.pop(key) into *out on mem_ctx: for a list key is the index (NULL: the
 * last item; IndexError when empty or out of range), for a dict the key
 * (KeyError when absent). */
SHADE_API shade_status shade_pop(TALLOC_CTX *mem_ctx, shade_ref *r,
				 const shade_value *key, shade_value **out,
				 shade_error **err);

/* r.remove(v) (lists): drop the first item equal to v; ValueError when
 * there is none. */
SHADE_API shade_status shade_remove(shade_ref *r, const shade_value *v,
				    shade_error **err);

/* r.index(v) (lists): the position of the first item equal to v;
 * ValueError when there is none. */
SHADE_API shade_status shade_index(shade_ref *r, const shade_value *v,
				   size_t *out, shade_error **err);

/* r.count(v) (lists): how many items equal v. */
SHADE_API shade_status shade_count(shade_ref *r, const shade_value *v,
				   size_t *out, shade_error **err);

/* r.clear(): remove every item (list) or entry (dict). */
SHADE_API shade_status shade_clear(shade_ref *r, shade_error **err);

/* r.reverse() (lists): reverse the items in place. */
SHADE_API shade_status shade_reverse(shade_ref *r, shade_error **err);

/* r.get(key, dflt) (dicts) into *out on mem_ctx: the value under key, or
 * a copy of dflt (NULL: none) when absent. */
SHADE_API shade_status shade_get(TALLOC_CTX *mem_ctx, shade_ref *r,
				 const shade_value *key,
				 const shade_value *dflt, shade_value **out,
				 shade_error **err);

/* r.setdefault(key, dflt) (dicts): the value under key; when absent,
 * dflt (NULL: none) is stored under key first and returned. */
SHADE_API shade_status shade_setdefault(TALLOC_CTX *mem_ctx, shade_ref *r,
					const shade_value *key,
					const shade_value *dflt,
					shade_value **out, shade_error **err);

/* r.update(other, **kwargs) (dicts): store every entry of other (a dict,
 * or a tuple or list of key/value pairs; NULL: none) and then of kwargs
 * (a dict or NULL), in one round trip. */
SHADE_API shade_status shade_update(shade_ref *r, const shade_value *other,
				    const shade_value *kwargs,
				    shade_error **err);

/* An iterator over a container, fetching chunks (one round trip each). */
typedef struct shade_iter shade_iter;

/* Start iterating r; chunk 0 uses the connection's default.  *out is a
 * talloc child of mem_ctx. */
SHADE_API shade_status shade_iter_new(TALLOC_CTX *mem_ctx, shade_ref *r,
				      size_t chunk, shade_iter **out,
				      shade_error **err);

/* The next element (a list item, or a dict key) as a borrowed view valid
 * until the next call; *item NULL at the end. */
SHADE_API shade_status shade_iter_next(shade_iter *it, const shade_value **item,
				       shade_error **err);

/* ------------------------------------------------------------ futures */

/* A call in flight. */
typedef struct shade_future shade_future;

/* Start method `name` without waiting; *out (a talloc child of mem_ctx)
 * is the future.  Requests started this way are batched: they are written
 * together when some thread waits on the connection, when
 * shade_future_ready() or shade_conn_flush() is called, or once 64 KiB
 * are queued.  Freeing an unwaited future abandons the reply (and
 * withdraws the call, unless it was started with opts->promise: calls
 * pipelined on it may still need it).  Requests the peer nests in such a
 * call are served by the thread that waits for its future.  A future
 * must be waited for or freed before its connection is freed.  r may be
 * a promise (shade_future_ref): the call then goes at once, pipelined on
 * the result it names. */
SHADE_API shade_status shade_invoke_async(TALLOC_CTX *mem_ctx, shade_ref *r,
					  const char *name,
					  const shade_value *args,
					  const shade_value *kwargs,
					  shade_future **out,
					  shade_error **err);

/* shade_invoke_async() with per-call options (NULL: defaults):
 * timeout_ms travels with the request (the peer answers Timeout when it
 * passes before the call starts) and bounds shade_future_wait() with
 * timeout 0; oneway sends with id 0 and the future is ready at once
 * with none; promise keeps the result on the peer for
 * shade_future_ref(). */
SHADE_API shade_status shade_invoke_async_ex(TALLOC_CTX *mem_ctx,
					     shade_ref *r, const char *name,
					     const shade_value *args,
					     const shade_value *kwargs,
					     const shade_call_opts *opts,
					     shade_future **out,
					     shade_error **err);

/* Read member `name` of r without waiting (GETATTR), like
 * shade_invoke_async_ex(). */
SHADE_API shade_status shade_getattr_async(TALLOC_CTX *mem_ctx, shade_ref *r,
					   const char *name,
					   const shade_call_opts *opts,
					   shade_future **out,
					   shade_error **err);

/* Call callable r without waiting (CALL), like shade_invoke_async_ex(). */
SHADE_API shade_status shade_call_async(TALLOC_CTX *mem_ctx, shade_ref *r,
					const shade_value *args,
					const shade_value *kwargs,
					const shade_call_opts *opts,
					shade_future **out, shade_error **err);

/*
 * A reference to the result of f before it returns (promise
 * pipelining, doc/protocol.md §13): calls made on *out (any call form,
 * dynamic or typed) go at once and name f's result, which the peer
 * uses as their target when it exists, so `a.b().c(x)` costs one round
 * trip.  An error of f reaches every call made on *out with its chain.
 * f must have been started with opts->promise on a peer that keeps
 * results; otherwise (an older peer) this waits for f's result and
 * gives the object it returned (f keeps the result for
 * shade_future_wait).  *out carries one count.  A promise may also be
 * passed as an argument of a call on its connection (not as a keyword
 * argument, at most 8 in one call): the call goes at once and the peer
 * passes the result when it exists (a peer without HELLO feature 64:
 * TypeError, wait for the result instead).  Releasing it (and freeing f) tells the peer
 * to forget the result with the next message: no round trip of its
 * own.  TypeError (when it waited) if the result is not a reference.
 */
SHADE_API shade_status shade_future_ref(shade_future *f, shade_ref **out,
					shade_error **err);

/* A reference to attribute `name` of the object r stands for, without
 * waiting (*out, one count).  When r is a promise, *out is a promise of
 * the attribute of its result and costs no message: the peer reads the
 * attribute where the result is when a call made on *out, or passing
 * *out as an argument, reaches it (option 4's path, doc/protocol.md
 * §13), so `a.b().c.d(x)` costs one round trip; a failure of that read
 * reaches that call.  When r is another proxy, its attribute is read
 * with opts->promise (one message, no wait; a peer that keeps no
 * results: read and waited for); a local object's is read at once.
 * TypeError when what is read is not an object. */
SHADE_API shade_status shade_promise_attr(shade_ref *r, const char *name,
					  shade_ref **out, shade_error **err);

/* True when r is a promise (a reference made by shade_future_ref or a
 * typed future-returning call that names a result not yet waited for). */
SHADE_API bool shade_ref_is_promise(const shade_ref *r);

/* Wait for a future (timeout_ms -1: forever, 0: the connection default)
 * and take its result onto mem_ctx (out may be NULL).  A future gives its
 * result once. */
SHADE_API shade_status shade_future_wait(TALLOC_CTX *mem_ctx, shade_future *f,
					 int timeout_ms, shade_value **out,
					 shade_error **err);

/* True when the future's reply has arrived (never blocks). */
SHADE_API bool shade_future_ready(shade_future *f);

/* Wait until at least one of fs[0..n-1] (all on one connection) is ready;
 * *index is its position.  SHADE_ERR_TIMEOUT when timeout_ms passes. */
SHADE_API shade_status shade_future_wait_any(shade_future *const *fs, size_t n,
					     int timeout_ms, size_t *index,
					     shade_error **err);

/* Wait until all of fs[0..n-1] (one connection) are ready. */
SHADE_API shade_status shade_future_wait_all(shade_future *const *fs, size_t n,
					     int timeout_ms, shade_error **err);

/* ------------------------------------------------------------ typed calls
 *
 * For generated stubs: the arguments are written straight into the
 * request and the result is read straight from the reply.
 *
 *     shade_request *call; shade_buf *args; shade_cbor_dec *res;
 *     shade_request_begin(ref, 0, SHADE_DISPATCH_INVOKE, NULL, &call,
 *                         &args, &err);
 *     shade_cbor_put_array(args, 2);
 *     shade_cbor_put_int(args, a); shade_cbor_put_int(args, b);
 *     st = shade_request_finish(call, &res, &err);  // one round trip
 *     if (st == SHADE_OK) shade_cbor_read_int(res, &sum, &err);
 *     talloc_free(call);
 */

/* One typed call in progress (a talloc object). */
typedef struct shade_request shade_request;

/* Begin INVOKE of method index `member` of r's shape (or a GETATTR /
 * SETATTR when `op` says so): *args is where the caller writes exactly one
 * item (the argument array for INVOKE, the value for SETATTR, nothing for
 * GETATTR).  *out is a talloc child of NULL: free it after finish.
 * Bytes and text of 64 KiB or more written into *args of a remote call
 * are not copied: the request is written from where they lie, so they
 * must stay unchanged until shade_request_send() or
 * shade_request_finish() returns. */
SHADE_API shade_status shade_request_begin(shade_ref *r, uint32_t member,
					shade_dispatch_op op,
					const shade_call_opts *opts,
					shade_request **out,
					struct shade_buf **args,
					shade_error **err);

/* Send the request now without waiting (pipelining): it is batched with
 * other requests sent this way and written at the latest when some
 * thread waits on the connection (shade_request_finish, a future wait)
 * or on shade_conn_flush.  Local objects run at finish.  Optional. */
SHADE_API shade_status shade_request_send(shade_request *call,
					  shade_error **err);

/* Send the request (unless sent), wait for the reply and set *result to a decoder
 * positioned at the result item (null when the peer returned none),
 * valid until the call is freed.  On failure *err is filled. */
SHADE_API shade_status shade_request_finish(shade_request *call,
					 struct shade_cbor_dec **result,
					 shade_error **err);

/* Send a typed call begun with opts->promise and give a reference to
 * its result before it returns (*out, one count; a promise when the
 * peer keeps results, else the call waits and *out is the reference it
 * returned, or NULL for none).  The call may be freed at once: it is
 * not withdrawn.  What generated future-returning stubs call. */
SHADE_API shade_status shade_request_promise(shade_request *call,
					     shade_ref **out,
					     shade_error **err);

/* Decode one value from a typed call's result decoder (references
 * become proxies of the call's connection), on mem_ctx. */
SHADE_API shade_status shade_request_decode_value(TALLOC_CTX *mem_ctx,
					       shade_request *call,
					       struct shade_cbor_dec *d,
					       shade_value **out,
					       shade_error **err);

/* Encode a value into a typed call's arguments (exporting local objects
 * it references on the call's connection). */
SHADE_API shade_status shade_request_encode_value(shade_request *call,
					       struct shade_buf *b,
					       const shade_value *v,
					       shade_error **err);

/* Narrowing: check r's shape against a declared descriptor (structural;
 * no round trip when the fingerprints match or the shape is cached).
 * map (want->n_members entries, may be NULL) receives the member indexes
 * to use with shade_request_begin. */
SHADE_API shade_status shade_narrow(shade_ref *r, const shade_shape_desc *want,
				    uint32_t *map, shade_error **err);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_PROXY_H */
