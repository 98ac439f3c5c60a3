# idlc/rules.mk - shade-idlc, the IDL compiler (included by the Makefile).
#
# grammar/idl.y and grammar/idl.l are turned into C under
# $(BUILD)/gen/idlc; the compiler is built twice over the same objects:
# $(BUILD)/bin/shade-idlc (with main.c) and $(BUILD)/lib/libidlc.a
# (without), which every test links so that tests/test_idlc_*.c can call
# the front end in process.  An archive only contributes the objects a
# test references, so other suites are unaffected.

IDLC_GEN  := $(BUILD)/gen/idlc
IDLC_SRC  := $(filter-out idlc/main.c,$(sort $(wildcard idlc/*.c idlc/*/*.c)))
IDLC_GENC := $(IDLC_GEN)/idl.tab.c $(IDLC_GEN)/idl.lex.c
IDLC_GENH := $(IDLC_GEN)/idl.tab.h $(IDLC_GEN)/idl.lex.h
IDLC_OBJ  := $(IDLC_SRC:%.c=$(BUILD)/obj/%.o) \
	$(IDLC_GEN)/idl.tab.o $(IDLC_GEN)/idl.lex.o \
	$(IDLC_GEN)/templates_data.o
IDLC_TMPL := $(sort $(wildcard templates/*.tmpl))
IDLC_LIB  := $(BUILD)/lib/libidlc.a
IDLC_BIN  := $(BUILD)/bin/shade-idlc
IDLC_CPPFLAGS := -Iidlc -I$(IDLC_GEN)

PROGRAMS += $(IDLC_BIN)
TEST_EXTRA_OBJ += $(IDLC_LIB)
TEST_EXTRA_DEP += $(IDLC_GENH)

$(IDLC_GEN)/idl.tab.c $(IDLC_GEN)/idl.tab.h &: grammar/idl.y
	@mkdir -p $(IDLC_GEN)
	bison -Wall -Werror -d -o $(IDLC_GEN)/idl.tab.c $<

$(IDLC_GEN)/idl.lex.c $(IDLC_GEN)/idl.lex.h &: grammar/idl.l
	@mkdir -p $(IDLC_GEN)
	flex --header-file=$(IDLC_GEN)/idl.lex.h -o $(IDLC_GEN)/idl.lex.c $<

# The templates are embedded as arrays of line strings (one literal per
# line keeps every literal under the length ISO C guarantees).
$(IDLC_GEN)/templates_data.c: $(IDLC_TMPL) idlc/rules.mk
	@mkdir -p $(IDLC_GEN)
	@{ echo '/* generated from templates/ by idlc/rules.mk */'; \
	  echo '#include <stddef.h>'; \
	  echo 'typedef struct idlc_builtin_template { const char *name; const char *const *lines; } idlc_builtin_template;'; \
	  echo 'extern const idlc_builtin_template idlc_builtin_templates[];'; \
	  n=0; for f in $(IDLC_TMPL); do \
	    echo "static const char *const tmpl_$$n[] = {"; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' \
	        -e 's/^/	"/' -e 's/$$/\\n",/' $$f; \
	    echo '	NULL };'; n=$$((n+1)); \
	  done; \
	  echo 'const idlc_builtin_template idlc_builtin_templates[] = {'; \
	  n=0; for f in $(IDLC_TMPL); do \
	    echo "	{ \"$$(basename $$f)\", tmpl_$$n },"; n=$$((n+1)); \
	  done; \
	  echo '	{ NULL, NULL } };'; } > $@.tmp && mv $@.tmp $@

$(IDLC_GEN)/%.o: $(IDLC_GEN)/%.c $(IDLC_GENH)
	$(CC) $(CPPFLAGS) $(IDLC_CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(IDLC_SRC:%.c=$(BUILD)/obj/%.o): CPPFLAGS += $(IDLC_CPPFLAGS)
$(IDLC_SRC:%.c=$(BUILD)/obj/%.o): | $(IDLC_GENH)
$(BUILD)/obj/idlc/main.o: CPPFLAGS += $(IDLC_CPPFLAGS)
$(BUILD)/obj/idlc/main.o: | $(IDLC_GENH)
$(BUILD)/obj/tests/test_idlc_%.o: CPPFLAGS += $(IDLC_CPPFLAGS)

$(IDLC_LIB): $(IDLC_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The shape fingerprints are computed by the runtime's own shape code:
# the archive contributes shape.o and what it needs, nothing else.
$(IDLC_BIN): $(BUILD)/obj/idlc/main.o $(IDLC_LIB) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -ltalloc -lpthread

-include $(wildcard $(IDLC_GEN)/*.d)

# Generated stubs for the end-to-end suite, built the way a user's
# project would build them: shade-idlc at build time, with -MD.
IDLC_FIX := $(BUILD)/gen/idlc/fixtures

# A multi-target pattern rule: one run writes both files (and NAME.d).
$(IDLC_FIX)/%.h $(IDLC_FIX)/%.c: tests/idl/gen/%.idl $(IDLC_BIN)
	@mkdir -p $(IDLC_FIX)
	$(IDLC_BIN) -MD -o $(IDLC_FIX) $<

# kept: they are intermediate files of these pattern rules
.PRECIOUS: $(IDLC_FIX)/%.h $(IDLC_FIX)/%.c $(IDLC_FIX)/%.o

$(IDLC_FIX)/%.o: $(IDLC_FIX)/%.c $(IDLC_FIX)/%.h
	$(CC) $(CPPFLAGS) -I$(IDLC_FIX) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/tests/test_idlc_stubs.o: $(IDLC_FIX)/bank.h
$(BUILD)/obj/tests/test_idlc_stubs.o: CPPFLAGS += -I$(IDLC_FIX)
$(BUILD)/tests/test_idlc_stubs: $(IDLC_FIX)/bank.o

# The IDL 4 constructs of tests/test_idlc_mapping.c.
$(BUILD)/obj/tests/test_idlc_mapping.o: $(IDLC_FIX)/mapping.h
$(BUILD)/obj/tests/test_idlc_mapping.o: CPPFLAGS += -I$(IDLC_FIX)
$(BUILD)/tests/test_idlc_mapping: $(IDLC_FIX)/mapping.o

-include $(wildcard $(IDLC_FIX)/*.d)

# The copy-policy annotations of tests/test_idl_policy.c.
$(BUILD)/obj/tests/test_idl_policy.o: $(IDLC_FIX)/policy.h
$(BUILD)/obj/tests/test_idl_policy.o: CPPFLAGS += -I$(IDLC_FIX)
$(BUILD)/tests/test_idl_policy: $(IDLC_FIX)/policy.o

# The typed chains of tests/test_pipeline.c.
$(BUILD)/obj/tests/test_pipeline.o: $(IDLC_FIX)/bank.h
$(BUILD)/obj/tests/test_pipeline.o: CPPFLAGS += -I$(IDLC_FIX)
$(BUILD)/tests/test_pipeline: $(IDLC_FIX)/bank.o

# The same cases against the code --no-tables writes for mapping.idl
# (tests/test_idlc_mapping_code.c): tables and code alike on the wire.
IDLC_FIX_CODE := $(BUILD)/gen/idlc/fixtures-code
$(IDLC_FIX_CODE)/mapping.h $(IDLC_FIX_CODE)/mapping.c &: tests/idl/gen/mapping.idl $(IDLC_BIN)
	@mkdir -p $(IDLC_FIX_CODE)
	$(IDLC_BIN) --no-tables -o $(IDLC_FIX_CODE) $<
$(IDLC_FIX_CODE)/mapping.o: $(IDLC_FIX_CODE)/mapping.c $(IDLC_FIX_CODE)/mapping.h
	$(CC) $(CPPFLAGS) -I$(IDLC_FIX_CODE) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/tests/test_idlc_mapping_code.o: $(IDLC_FIX_CODE)/mapping.h tests/test_idlc_mapping.c
$(BUILD)/obj/tests/test_idlc_mapping_code.o: CPPFLAGS += -I$(IDLC_FIX_CODE)
$(BUILD)/tests/test_idlc_mapping_code: $(IDLC_FIX_CODE)/mapping.o

# The typed attribute path and promise arguments of tests/test_pipeline.c.
$(BUILD)/obj/tests/test_pipeline.o: $(IDLC_FIX)/pipe.h
$(BUILD)/tests/test_pipeline: $(IDLC_FIX)/pipe.o
