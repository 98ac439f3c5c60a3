/*
 * members.c - member access and calls on references: getattr, setattr,
 * invoke and call (local objects directly, proxies by one round trip).
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

shade_status shade_getattr(TALLOC_CTX *mem_ctx, shade_ref *r, const char *name,
			   shade_value **out, shade_error **err)
{
	struct api_field f[2];
	struct proxy *p;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = OBJ_OP_GETATTR };

		return api_local_op(mem_ctx, r, &op, name, out, err);
	}
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(api_member_field(p, name, &f[1], err));
	return api_roundtrip(mem_ctx, p->conn, p, OP_GETATTR, f, 2, NULL, NULL, out,
			     err);
}

shade_status shade_setattr(shade_ref *r, const char *name, const shade_value *v,
			   shade_error **err)
{
	struct api_field f[3];
	struct proxy *p;

	SHADE_CHECK(api_check_ref(r, err));
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "setattr: value is NULL");
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = OBJ_OP_SETATTR, .value = v };

		return api_local_op(NULL, r, &op, name, NULL, err);
	}
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(api_member_field(p, name, &f[1], err));
	f[2] = (struct api_field){ api_args_kind(p, NULL, &f[1]) ==
						   API_FLD_ARGS
					   ? API_FLD_VALUE
					   : API_FLD_VALUE_SHARED,
				   0, NULL, v };
	return api_roundtrip(NULL, p->conn, p, OP_SETATTR, f, 3, NULL, NULL, NULL,
			     err);
}

shade_status shade_invoke_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
			     const char *name, const shade_value *args,
			     const shade_value *kwargs,
			     const shade_call_opts *opts, shade_value **out,
			     shade_error **err)
{
	struct api_field f[3];
	struct proxy *p;
	shade_call_opts co = { .timeout_ms = 0 };

	SHADE_CHECK(api_check_ref(r, err));
	if (opts != NULL)
		co = *opts;
	if (!shade_ref_is_proxy(r))
		return api_local_call(mem_ctx, r, OP_INVOKE, name, args, kwargs,
				      out, err);
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(api_member_field(p, name, &f[1], err));
	if (f[1].kind == API_FLD_UINT &&
	    p->ref.shape->members[f[1].u].kind == SHADE_MEMBER_ONEWAY)
		co.oneway = true;
	f[2] = (struct api_field){ api_args_kind(p, &co, &f[1]), 0, NULL,
				   args };
	return api_roundtrip(mem_ctx, p->conn, p, OP_INVOKE, f, 3, kwargs, &co, out,
			     err);
}

shade_status shade_invoke(TALLOC_CTX *mem_ctx, shade_ref *r, const char *name,
			  const shade_value *args, const shade_value *kwargs,
			  shade_value **out, shade_error **err)
{
	return shade_invoke_ex(mem_ctx, r, name, args, kwargs, NULL, out, err);
}

shade_status shade_call_ex(TALLOC_CTX *mem_ctx, shade_ref *r,
			   const shade_value *args, const shade_value *kwargs,
			   const shade_call_opts *opts, shade_value **out,
			   shade_error **err)
{
	struct api_field f[2];
	struct proxy *p;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r))
		return api_local_call(mem_ctx, r, OP_CALL, NULL, args,
				      kwargs, out, err);
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	f[1] = (struct api_field){ api_args_kind(p, opts, NULL), 0, NULL,
				   args };
	return api_roundtrip(mem_ctx, p->conn, p, OP_CALL, f, 2, kwargs, opts, out,
			     err);
}

shade_status shade_call(TALLOC_CTX *mem_ctx, shade_ref *r,
			const shade_value *args, const shade_value *kwargs,
			shade_value **out, shade_error **err)
{
	return shade_call_ex(mem_ctx, r, args, kwargs, NULL, out, err);
}
