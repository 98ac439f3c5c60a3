/*
 * msg_int.h - protocol messages (doc/protocol.md §3): opcodes, building a
 * message into a shade_buf, parsing a frame's header and options.
 *
 * A message is [op, id, field..., ?opts].  msg_parse() reads op and id,
 * checks the field count against the opcode, decodes the trailing opts map
 * when present and leaves the cursor at the first field, so handlers read
 * their fields with the shade_cbor_read_* calls.
 */
#ifndef SHADE_MSG_INT_H
#define SHADE_MSG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "shade/cbor.h"
#include "shade/error.h"
#include "object/object_int.h"

/* Opcodes (wire values). */
enum msg_op {
	OP_HELLO = 0,
	OP_RETURN = 1,
	OP_ERROR = 2,
	OP_INVOKE = 3,
	OP_GETATTR = 4,
	OP_SETATTR = 5,
	OP_CALL = 6,
	OP_LOOKUP = 7,
	OP_NAMES = 8,
	OP_DESCRIBE = 9,
	OP_RELEASE = 10,
	OP_CANCEL = 11,
	OP_BYE = 12,
	OP_LEN = 13,
	OP_GETITEM = 14,
	OP_SETITEM = 15,
	OP_DELITEM = 16,
	OP_CONTAINS = 17,
	OP_APPEND = 18,
	OP_FORCE = 19,
	OP_AUTH = 20,
	OP_DROP = 21,    /* kept results the sender names no more (§13) */
	OP_NAMES_IN = 24,
	OP_TYPEOF = 26,
	OP_COUNT_ = 27 /* one past the last opcode (those between that
			* name no message are unknown, as above it) */
};

/* Option keys of the trailing opts map. */
enum msg_opt_key {
	OPT_IN = 0,      /* uint: receiver's request id this nests in */
	OPT_TIMEOUT = 1, /* uint: milliseconds the caller waits */
	OPT_KWARGS = 2,  /* map: keyword arguments */
	OPT_KEEP = 3,    /* uint 1: keep the result for pipelined calls */
	OPT_ON = 4,      /* [rid, name...]: the target is a kept result */
	OPT_BYVALUE = 5,  /* uint 1: lists and dicts of the result by value */
	OPT_TRACEBACK = 7, /* uint 1: answer a failure with a traceback */
	OPT_AWAIT = 15   /* [rid...]: kept results the arguments name
			  * (tag 206), served once they are all there */
};

/* Keys of ERROR's trailing `more` map (doc/protocol.md §3.2), sent to
 * a peer that announced HELLO feature 8. */
enum msg_more_key {
	MORE_STATUS = 0,    /* int: the status, when the name does not
			     * give it (a user error) */
	MORE_USER_CODE = 1, /* int: the application's code, when not 0 */
	MORE_TRACEBACK = 2  /* reference: the remote traceback */
};

/* Options of a request being built. */
struct msg_opts {
	uint64_t in;                 /* nested-in request id, 0: none */
	uint64_t timeout_ms;         /* 0: none */
	const shade_value *kwargs;   /* dict or NULL (empty dicts omitted) */
	bool traceback;              /* ask for a remote traceback */
	bool byvalue;                /* OPT_BYVALUE: result by value */
	bool keep;                   /* OPT_KEEP: the peer keeps the result */
	uint64_t on;                 /* OPT_ON: the kept result of our
				      * request `on` is the target; 0: none */
	const char *const *on_path;  /* OPT_ON's names after `on` */
	size_t on_n;                 /* their count */
	const uint64_t *await;       /* OPT_AWAIT: the kept results the
				      * arguments name */
	size_t n_await;              /* their count, 0: no OPT_AWAIT */
};

/* A parsed message. */
struct msg {
	unsigned op;              /* opcode */
	uint64_t id;              /* request id (or answered id) */
	uint64_t nfields;         /* fields after op and id, opts excluded */
	shade_cbor_dec d;         /* cursor at the first field */
	uint64_t in;              /* OPT_IN, 0 when absent */
	uint64_t timeout_ms;      /* OPT_TIMEOUT, 0 when absent */
	size_t kwargs_pos;        /* offset of the kwargs map, 0: absent */
	bool traceback;           /* OPT_TRACEBACK: a traceback is wanted */
	bool byvalue;             /* OPT_BYVALUE set (non-zero) */
	bool keep;                /* OPT_KEEP set (to a value other than 0) */
	uint64_t on;              /* OPT_ON's request id, 0 when absent */
	size_t on_pos;            /* offset of the OPT_ON array, 0: absent */
	size_t await_pos;         /* offset of the OPT_AWAIT array, 0:
				   * absent */
};

/* True when op is a request (expects RETURN/ERROR when id != 0). */
SHADE_INTERNAL bool msg_is_request(unsigned op);

/* Name of an opcode for messages ("INVOKE"), never NULL. */
SHADE_INTERNAL const char *msg_op_name(unsigned op);

/* Report one frame sent or received (`dir` "sent"/"received") by the
 * connection named side/address at messages:1 (opcode, id, size) or
 * messages:2 (and its bytes in hex).  Callers test
 * LOG_ON(SHADE_LOG_MESSAGES, 1) first. */
SHADE_INTERNAL void msg_trace(const char *side, const char *address,
			      const char *dir, const uint8_t *frame,
			      size_t len);

/* The object layer's operation for a member or container request op
 * (INVOKE ... FORCE); OBJ_OP_COUNT_ for any other opcode. */
SHADE_INTERNAL enum obj_opcode msg_obj_op(unsigned op);

/* Number of opts entries o needs (0 or 1 trailing item). */
SHADE_INTERNAL unsigned msg_opts_items(const struct msg_opts *o);

/* Write the array head, op and id of a message with nfields fields
 * (plus the opts item when `opts` is true). */
SHADE_INTERNAL shade_status msg_begin(shade_buf *b, unsigned op, uint64_t id,
				      unsigned nfields, bool opts);

/* Count the opts item into the message b starts with, begun (msg_begin)
 * without it: its one-byte array head is one more.  False when that
 * head is not one byte. */
SHADE_INTERNAL bool msg_add_opts_item(shade_buf *b);

/* Check the OPT_AWAIT array at d ([rid...], each a uint other than 0)
 * and skip it. */
SHADE_INTERNAL shade_status msg_skip_await(shade_cbor_dec *d,
					   const char *op,
					   shade_error **err);

/* Write the opts map (only when msg_opts_items(o) is 1); kwargs are
 * encoded with copts (reference hooks). */
SHADE_INTERNAL shade_status msg_put_opts(shade_buf *b, const struct msg_opts *o,
					 const shade_cbor_opts *copts,
					 shade_error **err);

/* Write a whole ERROR message answering id for error e, after adding
 * nothing: the caller pushes its chain frame first.  With `more` (the
 * peer announced HELLO feature 8) the trailing `more` map carries what
 * the name does not say: the status of a user error, the user code and
 * e->traceback (a traceback that cannot travel is left out). */
SHADE_INTERNAL shade_status msg_put_error(shade_buf *b, uint64_t id,
					  const shade_error *e,
					  const shade_cbor_opts *copts,
					  bool more);

/* Parse a frame's header and options into m (see the top of the file).
 * SHADE_ERR_PROTOCOL (and the CBOR codes) for a malformed message; m->op
 * and m->id are filled as far as they could be read (id 0 otherwise). */
SHADE_INTERNAL shade_status msg_parse(const uint8_t *frame, size_t len,
				      struct msg *m, shade_error **err);

/* Read the fields of an ERROR message at m->d into a new error object
 * (*out, owned by the caller); code from the name registry, or from
 * the `more` map, which also gives the user code and (decoded with
 * copts; skipped when copts is NULL) the traceback reference. */
SHADE_INTERNAL shade_status msg_read_error(struct msg *m,
					   const shade_cbor_opts *copts,
					   shade_error **out, shade_error **err);

/* Read a member field: an index (*index set, *name NULL) or a text name
 * copied on mem_ctx. */
SHADE_INTERNAL shade_status msg_read_member(TALLOC_CTX *mem_ctx,
					    shade_cbor_dec *d, uint64_t *index,
					    char **name, shade_error **err);

#endif /* SHADE_MSG_INT_H */
