/*
 * tools/idl.h - declared types for the shade explorer (`shade --idl
 * FILE`): the compiler's front end reads the file; an object's interface
 * is found by its type name (module path joined with dots, "bank.Account");
 * its members' docs and declared signatures are shown, and JSON arguments
 * are checked and converted to the declared parameter types.
 */
#ifndef SHADE_TOOLS_IDL_H
#define SHADE_TOOLS_IDL_H

#include <stdbool.h>
#include <stddef.h>

#include <talloc.h>

#include "shade/value.h"

/* A read IDL file (opaque). */
typedef struct tool_idl tool_idl;

/* Read, parse and check the IDL file at path into *out (on mem_ctx).
 * Diagnostics go to standard error; SHADE_ERR_INVALID "FILE: N errors"
 * when it has errors. */
shade_status tool_idl_load(TALLOC_CTX *mem_ctx, const char *path,
			   tool_idl **out, shade_error **err);

/* The declared signature of member `member` of the interface named
 * type_name ("bank.Account"), e.g. "Money withdraw(in Money amount, in
 * string memo, out Money left) raises (Overdrawn)" or "readonly attribute
 * string owner"; NULL when undeclared.  *doc (may be NULL) gets its doc
 * comment or NULL.  On mem_ctx. */
char *tool_idl_member(TALLOC_CTX *mem_ctx, const tool_idl *idl,
		      const char *type_name, const char *member,
		      const char **doc);

/* The doc comment of the interface type_name, or NULL. */
const char *tool_idl_doc(const tool_idl *idl, const char *type_name);

/* Convert args (a tuple of the values given on the command line) in
 * place to the declared in/inout parameters of method `member` of
 * type_name: count checked, each value checked against its declared type
 * (integers in range, strings, booleans, sequences, structs as dicts;
 * `any` and undeclared types pass), ints widened to floats where floats
 * are declared.  SHADE_ERR_TYPE naming the parameter when one does not
 * fit.  SHADE_OK and nothing done when the member is undeclared. */
shade_status tool_idl_args(const tool_idl *idl, const char *type_name,
			   const char *member, shade_value *args,
			   shade_error **err);

/* The same for the value written to attribute `member` (*v may be
 * replaced by a converted value on the same context). */
shade_status tool_idl_attr(const tool_idl *idl, const char *type_name,
			   const char *member, shade_value **v,
			   shade_error **err);

#endif /* SHADE_TOOLS_IDL_H */
