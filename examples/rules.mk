# examples/rules.mk - the seed demo: a server and a client over a Unix
# socket.  `make demo` starts the server in a fresh temporary directory,
# runs the client, stops the server by pid and exits with the client's
# status.

DEMO_PROGRAMS := $(BUILD)/bin/demo_server $(BUILD)/bin/demo_client
PROGRAMS += $(DEMO_PROGRAMS)

$(BUILD)/bin/demo_%: $(BUILD)/obj/examples/demo_%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

demo: deps all
	@dir=$$(mktemp -d) || exit 1; \
	$(BUILD)/bin/demo_server unix:$$dir/demo.sock & pid=$$!; \
	$(BUILD)/bin/demo_client unix:$$dir/demo.sock; rc=$$?; \
	kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; \
	rm -rf "$$dir"; exit $$rc
