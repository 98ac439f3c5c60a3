# bench/rules.mk - the benchmark harness (included by the Makefile).
#
#   make bench            full run (under five minutes)
#   make bench QUICK=1    short run (under a minute)
#   make bench PIN=0      client and servers on CPU 0 only (stable ratios)
#
# Builds $(BUILD)/bench/shade-bench (driver and clients) and
# $(BUILD)/bench/shade-bench-server, linked with the whole libshade.a so
# that entry points declared weak in bench/weak.h resolve when the library
# has them (figures whose API has not landed print "n/a").  The programs
# are not part of `make all`: only `make bench` builds them.
#
# Typed calls through generated code: bench/adder.idl is compiled by
# shade-idlc into $(BUILD)/bench/gen and linked through bench/stubs.c
# when that works (`make bench-stubs`, which lists the objects in
# $(BUILD)/bench/stubs.list); otherwise the list is empty, the weak
# bench_stub_* functions stay NULL and that figure prints n/a.  The IDL
# compiler's own figure is n/a when it does not build.

BENCH_DIR  := $(BUILD)/bench
BENCH_GEN  := $(BENCH_DIR)/gen
BENCH_BIN  := $(BENCH_DIR)/shade-bench
BENCH_SRV  := $(BENCH_DIR)/shade-bench-server
BENCH_SCALE := $(BENCH_DIR)/shade-bench-scale
BENCH_ATTACK := $(BENCH_DIR)/shade-bench-attack
BENCH_AUTH := $(BENCH_DIR)/shade-bench-auth
BENCH_TLS  := $(BENCH_DIR)/shade-bench-tls
BENCH_UTIL := $(BUILD)/obj/bench/util.o
BENCH_LIST := $(BENCH_DIR)/stubs.list
BENCH_IDLC := $(BUILD)/bin/shade-idlc
BENCH_STUB_OBJ := $(BUILD)/obj/bench/stubs.o $(BUILD)/obj/bench/gen_adder.o
BENCH_LINK := -Wl,--whole-archive $(LIB_A) -Wl,--no-whole-archive

.PHONY: bench bench-programs bench-stubs bench-relink
bench-programs: $(BENCH_BIN) $(BENCH_SRV) $(BENCH_SCALE) $(BENCH_ATTACK) \
	$(BENCH_AUTH) $(BENCH_TLS)

# The programs are relinked every time (two quick links): whether the
# stub objects are in depends on $(BENCH_LIST), which may have changed.
bench-relink:
	@mkdir -p $(BENCH_DIR)
	@test -f $(BENCH_LIST) || : > $(BENCH_LIST)

$(BENCH_BIN): $(BUILD)/obj/bench/bench.o $(BENCH_UTIL) $(LIB_A) bench-relink
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/bench.o $(BENCH_UTIL) $$(cat $(BENCH_LIST)) $(BENCH_LINK) $(LDLIBS)

$(BENCH_SRV): $(BUILD)/obj/bench/server.o $(BENCH_UTIL) $(LIB_A) bench-relink
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/server.o $(BENCH_UTIL) $$(cat $(BENCH_LIST)) $(BENCH_LINK) $(LDLIBS)

# The server at scale (bench/scale.c): its own process, run after the
# others so that its 10 000 connections disturb no other figure.
$(BENCH_SCALE): $(BUILD)/obj/bench/scale.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/scale.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

# The server under attack (bench/attack.c): a probe's latency while
# garbage is written or 1 000 connections flood in, over its quiet one;
# run last, its server a child process of its own.
$(BENCH_ATTACK): $(BUILD)/obj/bench/attack.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/attack.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

# What authentication and access control cost (bench/auth.c): connect
# with and without a key, a call with and without the access hook.
$(BENCH_AUTH): $(BUILD)/obj/bench/auth.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/auth.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)
# tls: beside tcp: (bench/tls.c): the typed call and the handshake,
# full and resumed, in one run; typed through the stubs when they built.
$(BENCH_TLS): $(BUILD)/obj/bench/tls.o $(BENCH_UTIL) $(LIB_A) bench-relink
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/tls.o $(BENCH_UTIL) $$(cat $(BENCH_LIST)) $(BENCH_LINK) $(LDLIBS)

$(BENCH_GEN)/adder.c $(BENCH_GEN)/adder.h &: bench/adder.idl $(BENCH_IDLC)
	@mkdir -p $(BENCH_GEN)
	$(BENCH_IDLC) -o $(BENCH_GEN) bench/adder.idl

$(BUILD)/obj/bench/gen_adder.o: $(BENCH_GEN)/adder.c $(BENCH_GEN)/adder.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BENCH_GEN) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/bench/stubs.o: bench/stubs.c bench/stubs.h $(BENCH_GEN)/adder.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BENCH_GEN) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# Lists the stub objects for the programs' link.
bench-stubs: $(BENCH_STUB_OBJ)
	@mkdir -p $(BENCH_DIR)
	@echo "$(BENCH_STUB_OBJ)" > $(BENCH_LIST)

bench:
	@$(MAKE) --no-print-directory bench-stubs >/dev/null 2>&1 || \
		{ rm -f $(BENCH_LIST); \
		  echo "bench: generated stubs do not build; rtt.stub.unix will be n/a"; }
	@$(MAKE) --no-print-directory bench-programs
	$(if $(PIN),PIN=$(PIN)) $(BENCH_BIN) $(if $(filter 1,$(QUICK)),--quick) --idlc $(BENCH_IDLC) --idl-gen bench/gen_idl.py
	$(BENCH_TLS) $(if $(filter 1,$(QUICK)),--quick)
	$(BENCH_SCALE) $(if $(filter 1,$(QUICK)),--quick)
	$(BENCH_ATTACK) $(if $(filter 1,$(QUICK)),--quick)
	$(BENCH_AUTH) $(if $(filter 1,$(QUICK)),--quick)
	$(BENCH_COPY) $(if $(filter 1,$(QUICK)),--quick)
	SHADE_BUILD=$(BUILD) python3 bench/idlc_bench.py 10000 $(if $(filter 1,$(QUICK)),5,21)

# The soak program (bench/soak.c): SOAK_CLIENTS concurrent clients, each
# making up to SOAK_CALLS calls (callbacks, container operations, expected
# errors, proxy releases) against one server, bounded by SOAK_SECONDS;
# fails when an unexpected error happens or the server's tables do not
# return to their start values.
#
#   make soak             100 clients x 10000 calls, at most 240 s
#   make soak QUICK=1     100 clients x 1000 calls, at most 30 s
SOAK_BIN     := $(BENCH_DIR)/shade-soak
SOAK_CLIENTS ?= 100
SOAK_CALLS   ?= $(if $(filter 1,$(QUICK)),1000,10000)
SOAK_SECONDS ?= $(if $(filter 1,$(QUICK)),30,240)

.PHONY: soak
$(SOAK_BIN): $(BUILD)/obj/bench/soak.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/soak.o $(LIB_A) $(LDLIBS)

soak: $(SOAK_BIN)
	$(SOAK_BIN) --clients $(SOAK_CLIENTS) --calls $(SOAK_CALLS) --seconds $(SOAK_SECONDS)

# The worker pool (bench/pool.c): slow-handler isolation, scaling with
# 1..64 clients and pipelined calls, each with and without workers in one
# run; `make bench` runs it before the other programs.
BENCH_POOL := $(BENCH_DIR)/shade-bench-pool
bench-programs: $(BENCH_POOL)
$(BENCH_POOL): $(BUILD)/obj/bench/pool.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/pool.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

bench: bench-pool
.PHONY: bench-pool
bench-pool: bench-programs
	$(BENCH_POOL) $(if $(filter 1,$(QUICK)),--quick)

# What the copy rules cost (bench/copy.c): a 1 000-element list read
# whole and by one item, by reference (the default) and by value.
BENCH_COPY := $(BENCH_DIR)/shade-bench-copy
bench-programs: $(BENCH_COPY)
$(BENCH_COPY): $(BUILD)/obj/bench/copy.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/copy.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

# Promise pipelining (bench/pipeline.c): a chain of three calls waited
# for one by one and pipelined (time and round trips), and pipelined
# calls/s on one connection against the raw pipelined ping-pong, all in
# one run.  `make bench` runs it first.
BENCH_PIPE := $(BENCH_DIR)/shade-bench-pipeline
$(BENCH_PIPE): $(BUILD)/obj/bench/pipeline.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/pipeline.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

.PHONY: bench-pipeline
bench-pipeline: $(BENCH_PIPE)
	$(BENCH_PIPE) $(if $(filter 1,$(QUICK)),--quick)
bench: bench-pipeline

# A value larger than any frame streamed end to end (bench/stream.c):
# 1 GiB down and up (QUICK=1: 128 MiB) through shade/stream.h readers,
# with the throughput and both processes' peak RSS (goal < 64 MiB).
BENCH_STREAM := $(BENCH_DIR)/shade-bench-stream
bench-programs: $(BENCH_STREAM)
$(BENCH_STREAM): $(BUILD)/obj/bench/stream.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/stream.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

.PHONY: bench-stream
bench-stream: $(BENCH_STREAM)
	$(BENCH_STREAM) $(if $(filter 1,$(QUICK)),--quick)
bench: bench-stream

# Scaling side by side with other RPC servers (bench/peers.c): 1..64
# client processes against one shade server (default options) and the
# ONC RPC and gRPC servers of the peer benchmarks, built here into
# $(BUILD)/peers from $(PEERS_DIR) when their Debian packages are
# installed (libtirpc-dev rpcsvc-proto; libgrpc++-dev libprotobuf-dev
# protobuf-compiler protobuf-compiler-grpc); a peer not built is skipped
# by the bench, which says so.
PEERS_DIR ?= ../shared/bench/peers
PEERS_BUILD := $(abspath $(BUILD))/peers
BENCH_PEERS := $(BENCH_DIR)/shade-bench-peers
bench-programs: $(BENCH_PEERS)
$(BENCH_PEERS): $(BUILD)/obj/bench/peers.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/peers.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

.PHONY: bench-peers peers-build
peers-build:
	@for p in oncrpc grpc; do \
	  $(MAKE) --no-print-directory -f $(PEERS_DIR)/Makefile \
	    BUILD=$(PEERS_BUILD) $(PEERS_BUILD)/$${p}_server \
	    $(PEERS_BUILD)/$${p}_client >$(BENCH_DIR)/peers-$$p.log 2>&1 || \
	  echo "bench: the $$p peer was not built (see $(BENCH_DIR)/peers-$$p.log)"; \
	done
bench-peers: bench-programs peers-build
	$(BENCH_PEERS) $(if $(filter 1,$(QUICK)),--quick) --peers $(PEERS_BUILD)
bench: bench-peers

# A server stepped from the user's own epoll loop against
# shade_server_run (bench/embed.c): sync and pipelined calls/s and their
# ratio, without and with workers, in one run.
BENCH_EMBED := $(BENCH_DIR)/shade-bench-embed
bench-programs: $(BENCH_EMBED)
$(BENCH_EMBED): $(BUILD)/obj/bench/embed.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/embed.o $(BENCH_UTIL) $(LIB_A) $(LDLIBS)

.PHONY: bench-embed
bench-embed: bench-programs
	$(BENCH_EMBED) $(if $(filter 1,$(QUICK)),--quick)
bench: bench-embed
