/*
 * object_int.h - the insides of references (struct shade_ref), local
 * objects and the one operation entry point (obj_perform) shared by the
 * connection's request server and the local path of the proxy API.
 *
 * Files: ref.c (references, local objects, shapes), typeobj.c (types,
 * instances, doc strings), dispatch.c (the operations), methods.c (the
 * methods of shared lists and dicts), typed_object.c (typed objects),
 * registry.c (exported names), traceback.c (post-mortem tracebacks as
 * objects), shape.c (shape descriptors).  The object layer knows
 * nothing of the
 * wire: it has its own operation codes (enum obj_opcode), to which the
 * connection maps the protocol's.
 *
 * Invariants:
 * - every struct shade_ref starts with the value model's shade_ref_head;
 *   head.ops is obj_local_ops for local objects and proxy_ops for proxies;
 * - `refs` counts holders; a local object is freed when it reaches 0; a
 *   proxy's count is changed only under its connection's lock while the
 *   connection lives (the import table looks it up weakly);
 * - a local object's members never shrink, so member indexes handed out
 *   in a shape stay valid; adding a member makes a new shape.
 */
#ifndef SHADE_OBJECT_INT_H
#define SHADE_OBJECT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "shade/cbor.h"
#include "shade/object.h"
#include "shade/shape.h"
#include "shade/value.h"

/* What a shade_ref is. */
enum ref_kind {
	REF_PROXY = 0,     /* a remote object (struct proxy, conn_int.h) */
	REF_DYNAMIC = 1,   /* dynamic object with registered members */
	REF_FUNCTION = 2,  /* plain callable */
	REF_TYPE = 3,      /* type object, callable to create instances */
	REF_CONTAINER = 4, /* list or dict shared by reference */
	REF_BOUND = 5,     /* bound method: target + member */
	REF_TYPED = 6      /* const shape + dispatch function */
};

/* Common beginning of every reference. */
struct shade_ref {
	shade_ref_head head;           /* value-model ops; must be first */
	uint32_t refs;                 /* holder count */
	uint8_t kind;                  /* enum ref_kind */
	bool concurrent;               /* a server's workers may run its
				        * requests of one connection at once
				        * (shade_ref_set_concurrent) */
	uint16_t received;             /* a proxy: references received for
					* it not yet given back (conn/refs.c);
					* in the padding, so a proxy is 40
					* bytes */
	const shade_shape_desc *shape; /* own shape, or a proxy's cached one */
};

/* One member of a dynamic object. */
struct obj_member {
	char *name;             /* member name */
	shade_member_kind kind; /* attribute, readonly, method, oneway */
	shade_value *stored;    /* stored attribute value, or NULL */
	shade_getter_fn get;    /* property getter, or NULL */
	shade_setter_fn set;    /* property setter, or NULL */
	shade_method_fn fn;     /* method handler, or NULL */
	void *udata;            /* for the handlers */
	shade_binding bind;     /* a type's method: what it receives */
	char *doc;              /* doc string, or NULL */
};

/* A local object of any kind but REF_PROXY. */
struct local_obj {
	struct shade_ref ref;          /* common part; must be first */
	char *type_name;               /* qualified type name */
	char **bases;                  /* ancestors, nearest first */
	size_t n_bases;                /* entries in bases */
	struct obj_member *members;    /* dynamic members (talloc array) */
	size_t n_members;              /* entries in members */
	shade_shape_desc *own_shape;   /* built shape, NULL until needed */
	shade_method_fn fn;            /* function body or type constructor */
	void *udata;                   /* for fn */
	shade_value *value;            /* container: the list or dict */
	struct shade_ref *target;      /* bound method: the object */
	uint32_t member;               /* bound method: member index */
	shade_dispatch_fn dispatch;    /* typed: skeleton dispatch */
	void *self;                    /* typed: skeleton's object */
	void (*on_free)(void *);       /* free hook */
	void *free_udata;              /* for on_free */
	shade_unexport_fn on_unexport; /* export-dropped hook */
	void *unexport_udata;          /* for on_unexport */
	const uint32_t *eager;         /* typed: members whose values ride
					* with each reference sent (IDL
					* @eager), or NULL */
	size_t n_eager;                /* entries in eager */
	struct shade_ref *type;        /* instance: its type (one count) */
	char *doc;                     /* doc string, or NULL */
	bool has_instances;            /* type: an instance was made, so its
					* members and doc are fixed */
};

/* Context of one dispatch (public as an opaque type in object.h). */
struct shade_dispatch_ctx {
	TALLOC_CTX *mem;             /* per-call memory */
	const shade_cbor_opts *copts;/* value codec options with ref hooks */
};

/* What an operation does to a local object. */
enum obj_opcode {
	OBJ_OP_GETATTR = 0,  /* read attribute `member` */
	OBJ_OP_SETATTR = 1,  /* write attribute `member` with `value` */
	OBJ_OP_INVOKE = 2,   /* call method `member` with args, kwargs */
	OBJ_OP_CALL = 3,     /* call a function, type or bound method */
	OBJ_OP_LEN = 4,      /* container: number of items */
	OBJ_OP_GETITEM = 5,  /* container: item at `key` */
	OBJ_OP_SETITEM = 6,  /* container: store `value` at `key` */
	OBJ_OP_DELITEM = 7,  /* container: remove the item at `key` */
	OBJ_OP_CONTAINS = 8, /* container: is `value` an item (list) or key */
	OBJ_OP_APPEND = 9,   /* list: append `value` */
	OBJ_OP_FORCE = 10,   /* container: snapshot [start, start+count) */
	OBJ_OP_COUNT_        /* number of operations; not one itself */
};

/* One operation on an object. */
struct obj_op {
	enum obj_opcode op;        /* what to do */
	uint32_t member;           /* resolved member index */
	const shade_value *args;   /* tuple (INVOKE, CALL) */
	const shade_value *kwargs; /* dict or NULL */
	const shade_value *key;    /* GETITEM, SETITEM, DELITEM */
	const shade_value *value;  /* SETATTR, SETITEM, CONTAINS, APPEND */
	uint64_t start;            /* FORCE */
	uint64_t count;            /* FORCE; UINT64_MAX: to the end */
	struct shade_conn *conn;   /* connection asking, NULL when local */
	bool view;                 /* FORCE of a whole list: the result may
				    * be a view of the container's items,
				    * which the caller only encodes and
				    * frees before the container can change
				    * (serving a request) */
};

/* The name of op for messages ("GETATTR"), "unknown" out of range. */
SHADE_INTERNAL const char *obj_op_name(enum obj_opcode op);

/* Allocate a local object of the given kind with one count (the caller
 * fills in what the kind needs); InvalidArgument for a bad type name. */
SHADE_INTERNAL shade_status obj_local_new(enum ref_kind kind,
					  const char *type_name,
					  const char *const *bases,
					  struct local_obj **out,
					  shade_error **err);

/* Codec options (on owner) whose references stay in this process: each
 * crosses the bytes as tag 200 over its index in a table that holds a
 * count until owner is freed, and decodes to the same object.  NULL
 * when out of memory. */
SHADE_INTERNAL const shade_cbor_opts *obj_local_copts(TALLOC_CTX *owner);

/* Serve a value-level operation on typed object o through its dispatch:
 * encode `in` (NULL: none; copts NULL: references stay local,
 * obj_local_copts), dispatch, decode the output onto mem_ctx (*out NULL
 * when the dispatch wrote nothing). */
SHADE_INTERNAL shade_status obj_typed_by_value(TALLOC_CTX *mem_ctx,
					       struct local_obj *o,
					       uint32_t member,
					       shade_dispatch_op dop,
					       const shade_value *in,
					       const shade_cbor_opts *copts,
					       shade_value **out,
					       shade_error **err);

/* Member i of local object o's shape: a type's own member, or for an
 * instance of a type first the type's members (*owner the type), then
 * its own (*owner o).  i must be in range. */
SHADE_INTERNAL struct obj_member *obj_member_at(struct local_obj *o,
						uint32_t i,
						struct local_obj **owner);

/* Add a stored attribute holding a copy of initial (NULL: none) to o,
 * a dynamic object or a type (dropping its cached shape);
 * InvalidArgument for a bad or taken name. */
SHADE_INTERNAL shade_status obj_add_attr(struct local_obj *o, const char *name,
					 const shade_value *initial,
					 bool readonly, shade_error **err);

/* Add an attribute served by getter (and setter, NULL: readonly) to o. */
SHADE_INTERNAL shade_status obj_add_property(struct local_obj *o,
					     const char *name,
					     shade_getter_fn getter,
					     shade_setter_fn setter,
					     void *udata, shade_error **err);

/* Add a method of the given kind (method or oneway) and binding to o. */
SHADE_INTERNAL shade_status obj_add_method(struct local_obj *o,
					   const char *name,
					   shade_method_fn fn, void *udata,
					   shade_member_kind kind,
					   shade_binding bind,
					   shade_error **err);

/* The value-model ops of local objects. */
SHADE_INTERNAL extern const shade_ref_ops obj_local_ops;

/* The shape of a local object, built on first use; NULL only when out of
 * memory. */
SHADE_INTERNAL const shade_shape_desc *obj_shape(struct shade_ref *r);

/* Resolve a member given by index (name NULL) or name against r's shape,
 * checking it exists: AttributeError otherwise. */
SHADE_INTERNAL shade_status obj_resolve(struct shade_ref *r, const char *name,
					uint64_t index, uint32_t *out,
					shade_error **err);

/* Perform op on local object r; the result (or NULL for none) lands on
 * mem_ctx.  copts: codec options with reference hooks, used by typed
 * objects to encode/decode (may be NULL for purely local use). */
SHADE_INTERNAL shade_status obj_perform(TALLOC_CTX *mem_ctx,
					struct shade_ref *r,
					const struct obj_op *op,
					const shade_cbor_opts *copts,
					shade_value **out, shade_error **err);

/* Typed fast path for INVOKE/GETATTR/SETATTR: dispatch straight from the
 * request decoder to the reply buffer. */
/* True when r is a typed object with @eager members. */
SHADE_INTERNAL bool obj_has_eager(const struct shade_ref *r);

/* Append to b the CBOR map {member index: value} of r's @eager members,
 * each read through its dispatch (GET) now; a member whose getter fails
 * or whose value holds a reference is left out (the peer then reads it
 * with GETATTR).  Returns b's status. */
SHADE_INTERNAL shade_status obj_eager_put(struct shade_ref *r, shade_buf *b);

SHADE_INTERNAL shade_status obj_dispatch_typed(struct shade_ref *r,
					       shade_dispatch_ctx *cx,
					       uint32_t member,
					       shade_dispatch_op op,
					       shade_cbor_dec *in,
					       shade_buf *out,
					       shade_error **err);

/* Run method `member` of builtins.list or builtins.dict (shape.c's
 * member order) on the list or dict c, in place (methods.c); the result
 * (NULL for none) lands on mem_ctx. */
SHADE_INTERNAL shade_status obj_container_method(TALLOC_CTX *mem_ctx,
						 shade_value *c,
						 uint32_t member,
						 const shade_value *args,
						 const shade_value *kwargs,
						 shade_value **out,
						 shade_error **err);

/* What method `member` of container c stores, for the cycle guard: 0
 * nothing, 1 its arguments, 2 the items of its iterable argument (and
 * its keyword arguments). */
SHADE_INTERNAL int obj_container_method_stores(const shade_value *c,
					       uint32_t member);

/* True when values moving to and from r travel by value whatever the
 * default: r is a shared container or a bound method of one (its items
 * are plain data; what goes in or comes out is a copy). */
SHADE_INTERNAL bool obj_moves_by_value(const struct shade_ref *r);

/* Where an error raised by r counts as raised, for the error chain:
 * *type gets the type name and, for functions and bound methods, *member
 * the function or method name (left alone otherwise). */
SHADE_INTERNAL void obj_chain_names(struct shade_ref *r, const char **type,
				    const char **member);

/* A post-mortem traceback of e (traceback.c): a list container of
 * `shade.Frame` objects, innermost first: one per hop of e's chain
 * before its last entry (this hop's), then one per site of e (one for
 * the hop when e has none), each naming side, type and member; *out
 * holds one count. */
SHADE_INTERNAL shade_status obj_traceback_new(const shade_error *e,
					      const char *side,
					      const char *type,
					      const char *member,
					      struct shade_ref **out,
					      shade_error **err);

/* Tell r's owner an export of it on conn was dropped. */
SHADE_INTERNAL void obj_unexported(struct shade_ref *r, struct shade_conn *conn);

/* Count a reference made (+1) or freed (-1); obj_live_refs() is the
 * number alive in the process, for leak checks in the tests. */
SHADE_INTERNAL void obj_count(int delta);

/* Local objects and proxies alive in the process. */
SHADE_INTERNAL long obj_live_refs(void);

/* True when r is a local object (not a proxy). */
static inline bool obj_is_local(const struct shade_ref *r)
{
	return r->kind != REF_PROXY;
}

#endif /* SHADE_OBJECT_INT_H */
