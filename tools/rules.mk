# tools/rules.mk - `shade`, the command line explorer (included by the
# Makefile; installed with the programs, man page doc/shade.1, bash
# completion tools/shade.bash).
#
# tools/json.o (the strict JSON reader and writer) and tools/monitor.o
# (the relay's printer) are also linked into every test, so
# tests/test_json.c and tests/test_shade_cli.c can reach them.

SHADE_BIN  := $(BUILD)/bin/shade
TOOLS_OBJ  := $(BUILD)/obj/tools/json.o $(BUILD)/obj/tools/monitor.o

PROGRAMS += $(SHADE_BIN)
TEST_EXTRA_OBJ += $(TOOLS_OBJ)

# --idl reads IDL with the compiler's front end (libidlc, idlc/rules.mk).
$(SHADE_BIN): $(BUILD)/obj/tools/shade.o $(BUILD)/obj/tools/idl.o $(TOOLS_OBJ) \
		$(IDLC_LIB) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BUILD)/obj/tools/shade.o $(BUILD)/obj/tools/idl.o: CPPFLAGS += $(IDLC_CPPFLAGS)
$(BUILD)/obj/tools/shade.o $(BUILD)/obj/tools/idl.o: | $(IDLC_GENH)

$(BUILD)/obj/tests/test_shade_cli.o $(BUILD)/obj/tests/test_json.o: CPPFLAGS += -Itools
$(BUILD)/tests/test_shade_cli: | $(SHADE_BIN)

# The bash completion, installed with `make install`.
.PHONY: install-completion
install: install-completion
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
install-completion: all
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 644 tools/shade.bash $(DESTDIR)$(COMPLETIONDIR)/shade

.PHONY: uninstall-completion
uninstall: uninstall-completion
uninstall-completion:
	rm -f $(DESTDIR)$(COMPLETIONDIR)/shade
	-rmdir $(DESTDIR)$(COMPLETIONDIR) \
		$(DESTDIR)$(DATADIR)/bash-completion 2>/dev/null
