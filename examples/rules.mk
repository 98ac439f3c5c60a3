# examples/rules.mk - the demo programs and `make demo`.
#
# Dynamic part (no IDL): demo_server and demo_client over a Unix socket.
# Typed part: examples/bank.idl compiled by shade-idlc at build time into
# $(BUILD)/gen/examples/bank.{h,c}, the way a user's project would do it:
# -MD writes bank.d, included below, so the stubs are generated again
# whenever bank.idl (or anything it includes) changes, and the programs
# that include bank.h are rebuilt through their own -MMD dependencies.
#
# `make demo` runs the dynamic demo, then starts bank_server in a fresh
# temporary directory, waits until its socket accepts connections
# (demo_wait, bounded), runs the typed, audit, dynamic and narrowing
# clients against it, stops the server by pid and fails if any step did;
# then the post-mortem demo (postmortem_server, postmortem_client): a
# client walks the frames of a remote failure, printing their values.

# shade-idlc itself is built by idlc/rules.mk (included after this file,
# so its variables are not set yet when these rules are read).
EX_IDLC := $(BUILD)/bin/shade-idlc
EX_GEN  := $(BUILD)/gen/examples

EX_MAIN := $(BUILD)/obj/examples/example.o

# The examples are built with the programs (`make`) but not installed as
# programs (they are not in PROGRAMS): `make install` puts their sources
# with the docs (share/doc/shade/examples).
DEMO_PROGRAMS := $(BUILD)/bin/demo_server $(BUILD)/bin/demo_client
programs: $(DEMO_PROGRAMS)

# The post-mortem demo: a client walks a remote traceback.
PM_PROGRAMS := $(BUILD)/bin/postmortem_server $(BUILD)/bin/postmortem_client
programs: $(PM_PROGRAMS)

$(PM_PROGRAMS): $(BUILD)/bin/%: $(BUILD)/obj/examples/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

BANK_CLIENTS  := bank_client bank_audit bank_narrow
BANK_TYPED    := bank_server $(BANK_CLIENTS)
BANK_PROGRAMS := $(BANK_TYPED:%=$(BUILD)/bin/%) $(BUILD)/bin/bank_dynamic \
	$(BUILD)/bin/demo_wait
programs: $(BANK_PROGRAMS)

$(BUILD)/bin/demo_%: $(BUILD)/obj/examples/demo_%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Generated stubs: one run writes both files (and bank.d).
$(EX_GEN)/bank.h $(EX_GEN)/bank.c &: examples/bank.idl $(EX_IDLC)
	@mkdir -p $(EX_GEN)
	$(EX_IDLC) -MD -o $(EX_GEN) $<

$(EX_GEN)/bank.o: $(EX_GEN)/bank.c $(EX_GEN)/bank.h
	$(CC) $(CPPFLAGS) -I$(EX_GEN) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# Programs using the typed API: compiled against bank.h, linked with the
# generated bank.o.  bank_dynamic uses no IDL and links the library only.
# The clients share example.o (their main()).
# bank_impl.o (the objects behind the server) is shared with the
# end-to-end suite.
EX_IMPL := $(BUILD)/obj/examples/bank_impl.o
$(BANK_TYPED:%=$(BUILD)/obj/examples/%.o) $(EX_IMPL): $(EX_GEN)/bank.h
$(BANK_TYPED:%=$(BUILD)/obj/examples/%.o) $(EX_IMPL): CPPFLAGS += -I$(EX_GEN)

$(BUILD)/bin/bank_server: $(BUILD)/obj/examples/bank_server.o $(EX_IMPL) \
		$(EX_GEN)/bank.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BANK_CLIENTS:%=$(BUILD)/bin/%): $(BUILD)/bin/%: $(BUILD)/obj/examples/%.o \
		$(EX_MAIN) $(EX_GEN)/bank.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/bank_dynamic: $(BUILD)/obj/examples/bank_dynamic.o $(EX_MAIN) \
		$(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The end-to-end suite serves and calls the same bank.idl.
$(BUILD)/obj/tests/test_typed_e2e.o: $(EX_GEN)/bank.h
$(BUILD)/obj/tests/test_typed_e2e.o: CPPFLAGS += -I$(EX_GEN) -Iexamples
$(BUILD)/tests/test_typed_e2e: $(EX_IMPL) $(EX_GEN)/bank.o
$(BUILD)/obj/tests/test_tls.o: $(EX_GEN)/bank.h
$(BUILD)/obj/tests/test_tls.o: CPPFLAGS += -I$(EX_GEN) -Iexamples
$(BUILD)/tests/test_tls: $(EX_IMPL) $(EX_GEN)/bank.o

# The tutorial's example (doc/tutorial.md): greeter.idl, a typed server,
# a typed client and a dynamic one.  The misuse suite serves the same
# interface.
GREETER := greeter_server greeter_client
programs: $(GREETER:%=$(BUILD)/bin/%) $(BUILD)/bin/greeter_dynamic

$(EX_GEN)/greeter.h $(EX_GEN)/greeter.c &: examples/greeter.idl $(EX_IDLC)
	$(EX_IDLC) -MD -o $(EX_GEN) $<

$(EX_GEN)/greeter.o: $(EX_GEN)/greeter.c $(EX_GEN)/greeter.h
	$(CC) $(CPPFLAGS) -I$(EX_GEN) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(GREETER:%=$(BUILD)/obj/examples/%.o): $(EX_GEN)/greeter.h
$(GREETER:%=$(BUILD)/obj/examples/%.o): CPPFLAGS += -I$(EX_GEN)

$(GREETER:%=$(BUILD)/bin/%): $(BUILD)/bin/%: $(BUILD)/obj/examples/%.o \
		$(EX_GEN)/greeter.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/greeter_dynamic: $(BUILD)/obj/examples/greeter_dynamic.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/test_misuse.o: $(EX_GEN)/greeter.h
$(BUILD)/obj/tests/test_misuse.o: CPPFLAGS += -I$(EX_GEN)
$(BUILD)/tests/test_misuse: $(EX_GEN)/greeter.o

-include $(wildcard $(EX_GEN)/*.d)

# Each part runs its server in a fresh directory, waits for it with
# demo_wait, runs the clients, and stops the server by pid.
demo: $(DEPS_STAMP) all
	@dir=$$(mktemp -d) || exit 1; bin=$(BUILD)/bin; \
	echo "== dynamic: demo_server and demo_client"; \
	$$bin/demo_server unix:$$dir/demo.sock & pid=$$!; \
	$$bin/demo_wait unix:$$dir/demo.sock && \
	$$bin/demo_client unix:$$dir/demo.sock; rc=$$?; \
	kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; \
	if [ $$rc -eq 0 ]; then \
	  echo "== typed: bank_server (examples/bank.idl)"; \
	  $$bin/bank_server unix:$$dir/bank.sock & pid=$$!; \
	  $$bin/demo_wait unix:$$dir/bank.sock; rc=$$?; \
	  for c in bank_client bank_audit bank_dynamic bank_narrow; do \
	    [ $$rc -eq 0 ] || break; \
	    echo "-- $$c"; \
	    $$bin/$$c unix:$$dir/bank.sock || { rc=1; echo "$$c FAILED"; }; \
	  done; \
	  kill $$pid 2>/dev/null; \
	  wait $$pid || { rc=1; echo "bank_server did not stop cleanly"; }; \
	fi; \
	if [ $$rc -eq 0 ]; then \
	  echo "== post-mortem: postmortem_server and postmortem_client"; \
	  $$bin/postmortem_server unix:$$dir/pm.sock & pid=$$!; \
	  $$bin/demo_wait unix:$$dir/pm.sock && \
	  $$bin/postmortem_client unix:$$dir/pm.sock || rc=1; \
	  kill $$pid 2>/dev/null; \
	  wait $$pid || { rc=1; echo "postmortem_server did not stop cleanly"; }; \
	fi; \
	rm -rf "$$dir"; \
	if [ $$rc -eq 0 ]; then echo "demo: OK"; else echo "demo: FAILED"; fi; \
	exit $$rc

# The loop examples (examples/README.md, doc/api.md "Driving a server
# from your own loop"): a server and a client of it driven by a GLib main
# loop and by a libuv loop, sharing embed.c; tests/test_embed.c runs
# them.  The flags are asked of pkg-config when used (`make deps`
# installs the packages first).  -isystem: the libraries' headers are
# not held to this tree's warnings.
EMBED_GLIB_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags glib-2.0))
EMBED_GLIB_LIBS   = $(shell pkg-config --libs glib-2.0)
EMBED_UV_CFLAGS   = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libuv))
EMBED_UV_LIBS     = $(shell pkg-config --libs libuv)
EMBED := embed_glib embed_uv
programs: $(EMBED:%=$(BUILD)/bin/%)

$(BUILD)/obj/examples/embed_glib.o: CPPFLAGS += $(EMBED_GLIB_CFLAGS)
$(BUILD)/obj/examples/embed_uv.o: CPPFLAGS += $(EMBED_UV_CFLAGS)

$(BUILD)/bin/embed_glib: $(BUILD)/obj/examples/embed_glib.o \
		$(BUILD)/obj/examples/embed.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(EMBED_GLIB_LIBS)

$(BUILD)/bin/embed_uv: $(BUILD)/obj/examples/embed_uv.o \
		$(BUILD)/obj/examples/embed.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(EMBED_UV_LIBS)

# The suite runs both programs (order-only: they are not linked in).
$(BUILD)/tests/test_embed: | $(EMBED:%=$(BUILD)/bin/%)

# test_pool defers the reply of a typed skeleton (hello.Greeter).
$(BUILD)/obj/tests/test_pool.o: $(EX_GEN)/greeter.h
$(BUILD)/obj/tests/test_pool.o: CPPFLAGS += -I$(EX_GEN)
$(BUILD)/tests/test_pool: $(EX_GEN)/greeter.o
