/*
 * shade/object.h - references and local objects (what a program hands to
 * the other side).
 *
 * A shade_ref is a reference to an object: either a LOCAL object built
 * here (dynamic objects, functions, types, containers, typed objects with
 * a const shape descriptor and a dispatch function) or a PROXY of an
 * object on a peer (shade/proxy.h).  Both are used through the same calls
 * (shade_getattr, shade_invoke, ... in shade/proxy.h), so code does not
 * care where an object lives.
 *
 * Lifetime: a ref is reference counted and not owned by any talloc
 * context.  Every function that hands out a ref (`shade_ref **out`) gives
 * the caller one count, dropped with shade_ref_release().  A SHADE_REF
 * value (shade/value.h) holds its own count, so putting a ref in a value
 * tied to a talloc context (`shade_ref_value_take(ctx, ref)`) makes
 * freeing that context release it.  A connection holds a count on each
 * object it exports; an object lives as long as any count remains.
 *
 * Only the members an object's shape lists are reachable from a peer.
 * Member handlers run on the thread serving the request (see
 * shade/conn.h): a local object used from several threads must protect
 * its own state.
 */
#ifndef SHADE_OBJECT_H
#define SHADE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/shape.h"
#include "shade/value.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shade_ref;
typedef struct shade_ref shade_ref;
struct shade_buf;
struct shade_cbor_dec;
struct shade_conn;

/*
 * The context of one handler call: what the caller asks for, where the
 * handler puts its answer, and who is asking.  The runtime fills one on
 * its stack for each call (no allocation) and passes it by pointer to
 * the method, function, type constructor, getter or setter; the handler
 * reads the `in` fields and sets `result` or reports through `err`.  The
 * struct and everything it points to are valid only during the call:
 * keep none of its pointers (retain self, copy values) past the return.
 *
 * Which fields a handler kind reads (the others are NULL):
 *   method, function, type:  args, kwargs; sets result
 *   getter:                  sets result
 *   setter:                  value
 */
typedef struct shade_call_ctx {
	shade_ref *self;          /* in: the object; the function or type
				   * itself for those (borrowed) */
	const char *member;       /* in: method or attribute name; the
				   * function's or type's name for those */
	const shade_value *args;  /* in: positional arguments, a tuple
				   * (empty, never NULL, for calls; NULL
				   * for getters and setters); borrowed */
	const shade_value *kwargs;/* in: keyword arguments, a dict, or NULL
				   * when there are none; borrowed */
	const shade_value *value; /* in: setters: the new value (borrowed:
				   * copy what you keep); NULL otherwise */
	shade_value *result;      /* out: methods and getters: the result,
				   * allocated on (or stolen onto) mem;
				   * starts NULL, which means none.  It
				   * may borrow from args, kwargs or value
				   * (shade_str_borrow): it is encoded
				   * before they are freed */
	shade_error **err;        /* out: on failure `return
				   * shade_error_set(call->err, CODE, ...)` */
	struct shade_conn *conn;  /* in: the connection the request came
				   * on (borrowed; calls back to the
				   * caller go through it), NULL for a
				   * purely local call */
	void *udata;              /* in: the user data given with the
				   * handler when it was registered */
	TALLOC_CTX *mem;          /* in: context for the result and
				   * scratch memory: the request's own,
				   * freed after the reply, when serving a
				   * peer; the caller's mem_ctx for a
				   * local call (a setter called locally
				   * gets one freed when it returns) */
} shade_call_ctx;

/*
 * A handler: a method, a function body, a type constructor, or an
 * attribute getter or setter.  Return SHADE_OK (with call->result set,
 * or left NULL for none) or a negative code after setting *call->err.
 * Handlers run on the thread serving the request (see shade/conn.h).
 */
typedef shade_status (*shade_method_fn)(shade_call_ctx *call);

/* An attribute getter: a handler that sets call->result. */
typedef shade_method_fn shade_getter_fn;

/* An attribute setter: a handler that reads call->value. */
typedef shade_method_fn shade_setter_fn;

/* Called when an export of obj on connection conn is dropped (its count
 * reached zero or the connection ended). */
typedef void (*shade_unexport_fn)(void *udata, shade_ref *obj,
				  struct shade_conn *conn);

/* ------------------------------------------------------------ refs */

/* Add one count to r (r may be NULL); returns r. */
SHADE_API shade_ref *shade_ref_retain(shade_ref *r);

/* Let a server with worker threads (shade_server_opts.threads) run
 * several requests of one connection on r at once, instead of one after
 * the other in the order they came (doc/api.md "Threads on a server").
 * Its handlers must then protect the object's state themselves.  r may
 * be NULL.  Any thread; takes effect for requests not yet started. */
SHADE_API void shade_ref_set_concurrent(shade_ref *r, bool on);

/* True when shade_ref_set_concurrent(r, true) was called last. */
SHADE_API bool shade_ref_concurrent(const shade_ref *r);

/* Drop one count (r may be NULL).  The last count frees a local object
 * (running its free hook) or, for a proxy, queues a RELEASE. */
SHADE_API void shade_ref_release(shade_ref *r);

/* True for a proxy of a remote object, false for a local object. */
SHADE_API bool shade_ref_is_proxy(const shade_ref *r);

/* The shape of r: a local object's own shape, or a proxy's cached shape
 * (NULL when not known yet; see shade_describe).  Borrowed: valid while
 * r (and, for a proxy, its connection) lives. */
SHADE_API const shade_shape_desc *shade_ref_shape(shade_ref *r);

/* True when a and b are the same object (the same proxy or local object). */
SHADE_API bool shade_ref_same(const shade_ref *a, const shade_ref *b);

/* The qualified type name of r ("" when unknown). */
SHADE_API const char *shade_ref_type_name(shade_ref *r);

/* ------------------------------------------------------------ objects */

/*
 * A new dynamic object of type `type_name` with ancestors `bases` (a
 * NULL-terminated array, nearest first, or NULL).  Add members before
 * handing it out: each addition changes its shape.
 */
SHADE_API shade_status shade_object_new(const char *type_name,
					const char *const *bases,
					shade_ref **out, shade_error **err);

/* Add a stored attribute holding a copy of `initial` (NULL: none);
 * readonly ones cannot be set by a peer.  SHADE_ERR_INVALID when the name
 * exists or obj is not a dynamic object. */
SHADE_API shade_status shade_object_add_attr(shade_ref *obj, const char *name,
					     const shade_value *initial,
					     bool readonly, shade_error **err);

/* Add an attribute served by handlers; setter NULL makes it readonly. */
SHADE_API shade_status shade_object_add_property(shade_ref *obj,
						 const char *name,
						 shade_getter_fn getter,
						 shade_setter_fn setter,
						 void *udata,
						 shade_error **err);

/* Add a method; oneway methods are called without waiting for a reply. */
SHADE_API shade_status shade_object_add_method(shade_ref *obj,
					       const char *name,
					       shade_method_fn fn, void *udata,
					       bool oneway, shade_error **err);

/* Read a stored attribute locally (borrowed view, valid until it is set
 * again); NULL when obj has no stored attribute of that name. */
SHADE_API const shade_value *shade_object_attr(shade_ref *obj,
					       const char *name);

/* Called with udata when obj is freed (its last count is dropped).
 * Free and unexport hooks may run on a connection's reading thread while
 * it handles a RELEASE or the end of the connection: they must not make
 * calls on that connection. */
SHADE_API void shade_object_on_free(shade_ref *obj, void (*fn)(void *udata),
				    void *udata);

/* Called when an export of obj on a connection is dropped. */
SHADE_API void shade_object_on_unexport(shade_ref *obj, shade_unexport_fn fn,
					void *udata);

/* A function (a plain callable) named `name` (for messages). */
SHADE_API shade_status shade_function_new(const char *name, shade_method_fn fn,
					  void *udata, shade_ref **out,
					  shade_error **err);

/*
 * A type object: calling it (shade_call, from either side) runs `ctor`
 * with call->self the type, which returns the new instance (normally a
 * ref value of an object made with shade_instance_new()).  ctor NULL
 * makes a type that cannot be instantiated (used for identity, class
 * members, isinstance): calling it is TypeError "cannot create 'T'
 * instances".  Instances can be checked against the type with
 * shade_isinstance().  A type is an object too: it has members of its
 * own (shade_type_add_attr / _property / _method), a doc string
 * (shade_ref_set_doc) and travels by reference, the same type arriving
 * as the same reference.
 */
SHADE_API shade_status shade_type_new(const char *type_name,
				      const char *const *bases,
				      shade_method_fn ctor, void *udata,
				      shade_ref **out, shade_error **err);

/* What a method defined on a type receives as call->self. */
typedef enum shade_binding {
	SHADE_BIND_INSTANCE = 0, /* the instance it is called through (an
				  * ordinary method); through the type
				  * itself it is TypeError */
	SHADE_BIND_CLASS = 1,    /* the type, whether called through the
				  * type or through any instance (a class
				  * method) */
	SHADE_BIND_STATIC = 2    /* nothing: call->self is NULL (a static
				  * method) */
} shade_binding;

/*
 * Members of a type.  A type's members belong to the type object (GETATTR,
 * INVOKE, SETATTR on the type reach them) and to every instance made
 * with shade_instance_new(): an instance's shape lists its type's
 * members first, in the order they were added, then its own.  Add them
 * before the first instance is made (InvalidArgument after: the shapes
 * of the instances would change under them).
 *
 * A class attribute (shade_type_add_attr) holds one value for the type:
 * read through the type or an instance, written through the type only
 * (readonly through an instance).  InvalidArgument when the name is
 * taken or type is not a local type object.
 */
SHADE_API shade_status shade_type_add_attr(shade_ref *type, const char *name,
					   const shade_value *initial,
					   bool readonly, shade_error **err);

/* A computed attribute of a type (a descriptor): getter and setter run
 * with call->self the object it is read through, the instance or the
 * type.  setter NULL makes it readonly. */
SHADE_API shade_status shade_type_add_property(shade_ref *type,
					       const char *name,
					       shade_getter_fn getter,
					       shade_setter_fn setter,
					       void *udata, shade_error **err);

/* A method of a type; `binding` says what call->self is (above).  All
 * three kinds can be called through an instance; class and static ones
 * through the type too. */
SHADE_API shade_status shade_type_add_method(shade_ref *type,
					     const char *name,
					     shade_method_fn fn, void *udata,
					     shade_binding binding,
					     shade_error **err);

/* A new dynamic object that is an instance of the local type `type`:
 * its type name and bases are the type's, its shape starts with the
 * type's members and its doc is the type's; it holds a count on the
 * type (shade_type_of gives it back).  Add its own members with
 * shade_object_add_attr() and friends. */
SHADE_API shade_status shade_instance_new(shade_ref *type, shade_ref **out,
					  shade_error **err);

/* The type of a local instance made by shade_instance_new() (one count
 * in *out).  TypeError for an object made otherwise (it has a type name
 * but no type object), a type, or a proxy (use shade_type_of() of
 * shade/proxy.h, which asks the peer). */
SHADE_API shade_status shade_object_type(shade_ref *obj, shade_ref **out,
					 shade_error **err);

/* Set the doc string of a local dynamic object or type (member NULL) or
 * of one of its own members (a copy of doc is kept; NULL removes it).
 * The doc is part of the shape and travels with it (DESCRIBE, and the
 * description sent with the first reference).  For a type, before its
 * first instance.  InvalidArgument for a proxy, another kind of object,
 * a member it does not have, or text that is not UTF-8. */
SHADE_API shade_status shade_ref_set_doc(shade_ref *r, const char *member,
					 const char *doc, shade_error **err);

/* The doc string of r (member NULL) or of its member `member`, read from
 * its shape (local, or a proxy's cached shape: no round trip); NULL when
 * there is none or the shape is not known. */
SHADE_API const char *shade_ref_doc(shade_ref *r, const char *member);

/*
 * Special members.  Any object may define methods with these names (its
 * own, or its type's); the container and call operations then work on it
 * as they do on a list or dict, locally and from a peer (the server
 * turns LEN, GETITEM, ... on an object into an INVOKE of the member):
 *
 *   shade_len           __len__()          returns an int >= 0
 *   shade_getitem       __getitem__(key)   returns the item
 *   shade_setitem       __setitem__(key, value)
 *   shade_delitem       __delitem__(key)
 *   shade_contains      __contains__(value) returns a bool
 *   shade_iter_new, shade_force
 *                       __iter__()         returns a list or dict value,
 *                                          or a reference to a local
 *                                          container; called once per
 *                                          chunk fetched
 *   shade_equal         __eq__(value)      returns a bool
 *   shade_call          __call__(args...)  any result
 *   shade_repr          __repr__()         returns a str
 *
 * A result of the wrong kind is TypeError; an object without the member
 * keeps the error it had ("'T' object is not a container", "... is not
 * callable").
 */
#define SHADE_SPECIAL_LEN "__len__"
#define SHADE_SPECIAL_GETITEM "__getitem__"
#define SHADE_SPECIAL_SETITEM "__setitem__"
#define SHADE_SPECIAL_DELITEM "__delitem__"
#define SHADE_SPECIAL_CONTAINS "__contains__"
#define SHADE_SPECIAL_ITER "__iter__"
#define SHADE_SPECIAL_EQ "__eq__"
#define SHADE_SPECIAL_CALL "__call__"
#define SHADE_SPECIAL_REPR "__repr__"

/*
 * A container object sharing a list or dict by reference: peers see its
 * len / items / force through the container operations.  `value` (a
 * SHADE_LIST or SHADE_DICT box) is taken over (talloc_steal) and freed
 * with the object.  (A bare SHADE_LIST or SHADE_DICT value travels by
 * value, as a snapshot.)
 */
SHADE_API shade_status shade_container_new(shade_value *value,
					   shade_ref **out, shade_error **err);

/* The list or dict inside a local container object (borrowed; modify it
 * in place), or NULL. */
SHADE_API shade_value *shade_container_value(shade_ref *obj);

/* ------------------------------------------------------------ registry */

/* Names under which objects and plain values are exported (LOOKUP,
 * NAMES).  A talloc object; it holds a count on each object it names
 * and a copy of each value.  It may hold named registries of its own,
 * namespaces (shade_registry_namespace). */
typedef struct shade_registry shade_registry;

/* A new empty registry on mem_ctx (NULL when out of memory). */
SHADE_API shade_registry *shade_registry_new(TALLOC_CTX *mem_ctx);

/* Export obj under name (replacing an earlier one); retains obj. */
SHADE_API shade_status shade_registry_add(shade_registry *reg,
					  const char *name, shade_ref *obj,
					  shade_error **err);

/* Export a copy of a plain value under name (replacing an earlier
 * export): a LOOKUP of the name returns the value itself (none, bool,
 * int, float, str, bytes, tuple, or a list or dict snapshot).  A ref
 * value exports its object, as shade_registry_add. */
SHADE_API shade_status shade_registry_add_value(shade_registry *reg,
						const char *name,
						const shade_value *value,
						shade_error **err);

/* Export obj under name read-only (replacing an earlier one); retains
 * obj.  Peers may read it (GETATTR of attributes, DESCRIBE, LEN, GETITEM,
 * CONTAINS, FORCE) but every SETATTR, SETITEM, DELITEM, APPEND, INVOKE
 * and CALL on it, and every GETATTR of one of its methods (a bound
 * method would be a way around the rule), is refused with
 * PermissionDenied, however the peer reached it.  Objects it hands out
 * are not read-only unless exported so themselves (doc/security.md). */
SHADE_API shade_status shade_registry_add_readonly(shade_registry *reg,
						   const char *name,
						   shade_ref *obj,
						   shade_error **err);

/* True when obj is exported read-only under some name of reg. */
SHADE_API bool shade_registry_is_readonly(const shade_registry *reg,
					  const shade_ref *obj);

/* The first name obj is exported under in reg (borrowed), or NULL. */
SHADE_API const char *shade_registry_name_of(const shade_registry *reg,
					     const shade_ref *obj);

/* Withdraw a name; SHADE_ERR_NOT_FOUND when absent. */
SHADE_API shade_status shade_registry_remove(shade_registry *reg,
					     const char *name,
					     shade_error **err);

/* The object exported under name (borrowed), or NULL (none, or a
 * plain value). */
SHADE_API shade_ref *shade_registry_get(const shade_registry *reg,
					const char *name);

/* The plain value exported under name (borrowed), or NULL (none, or an
 * object). */
SHADE_API const shade_value *shade_registry_get_value(
	const shade_registry *reg, const char *name);

/* The namespace `name` of reg: a registry of its own (borrowed; a
 * child of reg), made when absent and `create` is true; NULL when
 * absent (or out of memory).  A peer reaches its names with
 * shade_lookup_in / shade_names_in; the names of reg itself are the
 * default namespace.  Namespaces do not nest. */
SHADE_API shade_registry *shade_registry_namespace(shade_registry *reg,
						   const char *name,
						   bool create);

/* Number of names. */
SHADE_API size_t shade_registry_count(const shade_registry *reg);

/* The i-th name in export order (borrowed), or NULL. */
SHADE_API const char *shade_registry_name(const shade_registry *reg,
					  size_t i);

/* ------------------------------------------------------------ typed objects
 *
 * For generated skeletons: an object described by a `static const` shape
 * and served by one dispatch function that reads arguments straight from
 * the request bytes and writes the result straight to the reply.
 */

/* What a dispatch call asks for. */
typedef enum shade_dispatch_op {
	SHADE_DISPATCH_INVOKE = 0, /* call method `member`: `in` is at the
				    * args array; write one result item to
				    * `out`, or nothing for none */
	SHADE_DISPATCH_GET = 1,    /* read attribute `member`: `in` is NULL;
				    * write its value to `out` */
	SHADE_DISPATCH_SET = 2     /* write attribute `member`: `in` is at
				    * the new value; write nothing */
} shade_dispatch_op;

/* Context of one dispatch: gives access to the connection's reference
 * encoding (shade_dispatch_decode_value / _encode_value) and a per-call
 * talloc context freed after the reply is sent. */
typedef struct shade_dispatch_ctx shade_dispatch_ctx;

/*
 * A skeleton's dispatch function.  member is the index in the object's
 * shape descriptor (already checked to be in range and of a kind that
 * allows op).  Consume exactly one item from `in` for INVOKE and SET.
 */
typedef shade_status (*shade_dispatch_fn)(void *self, shade_dispatch_ctx *cx,
					  uint32_t member,
					  shade_dispatch_op op,
					  struct shade_cbor_dec *in,
					  struct shade_buf *out,
					  shade_error **err);

/* A local object with a fixed shape (not copied: it must outlive the
 * object, usually static const) served by dispatch(self, ...). */
SHADE_API shade_status shade_object_new_typed(const shade_shape_desc *shape,
					      shade_dispatch_fn dispatch,
					      void *self, shade_ref **out,
					      shade_error **err);

/*
 * Mark members of a typed object @eager (IDL): the values of these
 * readonly attributes are read through its dispatch each time a
 * reference to it is sent to a peer that compiled its shape in (listed
 * its fingerprint in HELLO), and ride with the reference, so that peer
 * reads them without a round trip (doc/protocol.md §7.2).  members (n
 * indexes into its shape, each a readonly attribute) is not copied: it
 * must outlive the object, usually static const.  SHADE_ERR_INVALID for
 * an object that is not typed or an index that is not a readonly
 * attribute.
 */
SHADE_API shade_status shade_object_typed_eager(shade_ref *obj,
						const uint32_t *members,
						size_t n, shade_error **err);

/* The per-call talloc context of a dispatch (freed after the reply). */
SHADE_API TALLOC_CTX *shade_dispatch_mem(shade_dispatch_ctx *cx);

/* The self pointer of a typed object, or NULL for other refs. */
SHADE_API void *shade_object_typed_self(shade_ref *obj);

/* Decode one value at `in`, references included (they become refs of
 * the dispatch's connection), onto the per-call context. */
SHADE_API shade_status shade_dispatch_decode_value(shade_dispatch_ctx *cx,
						   struct shade_cbor_dec *in,
						   shade_value **out,
						   shade_error **err);

/* Encode one value to `out`, exporting local objects it references. */
SHADE_API shade_status shade_dispatch_encode_value(shade_dispatch_ctx *cx,
						   struct shade_buf *out,
						   const shade_value *v,
						   shade_error **err);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_OBJECT_H */
