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
# are not part of `make all`: only `make bench` builds them.  The IDL
# compiler is built too when it can be; its figure is n/a otherwise.

BENCH_DIR  := $(BUILD)/bench
BENCH_BIN  := $(BENCH_DIR)/shade-bench
BENCH_SRV  := $(BENCH_DIR)/shade-bench-server
BENCH_UTIL := $(BUILD)/obj/bench/util.o
BENCH_LINK := -Wl,--whole-archive $(LIB_A) -Wl,--no-whole-archive

.PHONY: bench bench-programs
bench-programs: $(BENCH_BIN) $(BENCH_SRV)

$(BENCH_BIN): $(BUILD)/obj/bench/bench.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/bench.o $(BENCH_UTIL) $(BENCH_LINK) $(LDLIBS)

$(BENCH_SRV): $(BUILD)/obj/bench/server.o $(BENCH_UTIL) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/bench/server.o $(BENCH_UTIL) $(BENCH_LINK) $(LDLIBS)

bench: bench-programs
	-@$(MAKE) --no-print-directory $(BUILD)/bin/shade-idlc >/dev/null 2>&1 || \
		echo "bench: shade-idlc does not build; its figure will be n/a"
	$(if $(PIN),PIN=$(PIN)) $(BENCH_BIN) $(if $(filter 1,$(QUICK)),--quick) --idlc $(BUILD)/bin/shade-idlc
