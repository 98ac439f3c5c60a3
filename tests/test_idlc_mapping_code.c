/*
 * test_idlc_mapping_code.c - the cases of test_idlc_mapping.c against
 * the code `shade-idlc --no-tables` writes for tests/idl/gen/mapping.idl
 * (every codec, stub and skeleton as code, no tables; see idlc/rules.mk):
 * both forms behave alike on the wire, in errors and in memory.
 */
#include "test_idlc_mapping.c"
