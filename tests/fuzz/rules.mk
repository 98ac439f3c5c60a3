# tests/fuzz/rules.mk - fuzz targets (included by the Makefile).
#
#   make fuzz                    build every target, run each FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=60    (CI)
#   make fuzz FUZZ_TARGETS=conn  only some targets
#   make fuzz-build              build them without running
#   make fuzz-corpus             regenerate the message seed corpora
#   make fuzz-cov                line coverage of runtime/ and idlc/ over
#                                the committed corpora (clang + llvm-cov)
#   FUZZ_EXTRA=-D...             extra flags for the targets; an input
#                                that finds a bug goes in
#                                tests/fuzz/regress/<name>/ with its fix
#
# Each tests/fuzz/fuzz_<name>.c is built with clang
# -fsanitize=fuzzer,address,undefined into $(BUILD)/fuzz/fuzz_<name>,
# against the runtime and the IDL front end compiled the same way.  A run
# reads the committed seeds in tests/fuzz/corpus/<name>/, writes what it
# finds to $(BUILD)/fuzz/corpus/<name>/, and fails on any crash, leak,
# sanitizer report, timeout or out-of-memory; the input that did it is
# left in $(BUILD)/fuzz/crashes/<name>/ (copy it into
# tests/fuzz/regress/<name>/ once fixed: `make check` replays it through
# tests/test_fuzz_replay.c).

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_RSS_MB   ?= 2048
FUZZ_TIMEOUT  ?= 10
FUZZ_MAX_LEN  ?= 16384
FUZZ_TARGETS  ?= frame cbor msg conn client idl
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CPPFLAGS := -D_GNU_SOURCE -Iruntime/include -Iruntime -Iidlc -I$(IDLC_GEN)
FUZZ_EXTRA    ?=
FUZZ_CFLAGS   := -std=c11 -g -O1 -Wall -Wextra $(FUZZ_SANFLAGS) \
	-fsanitize=fuzzer-no-link $(FUZZ_EXTRA)
FUZZ_LIB      := $(FUZZ_DIR)/libfuzzdeps.a
FUZZ_LIB_OBJ  := $(RUNTIME_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
	$(IDLC_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
	$(FUZZ_DIR)/obj/gen/idl.tab.o $(FUZZ_DIR)/obj/gen/idl.lex.o \
	$(FUZZ_DIR)/obj/gen/templates_data.o \
	$(FUZZ_DIR)/obj/tests/fuzz/exports.o \
	$(FUZZ_DIR)/obj/tests/helpers/handlers.o

# The export table is shared with the fault suite and the replay suite.
TEST_EXTRA_OBJ += $(BUILD)/obj/tests/fuzz/exports.o
$(BUILD)/obj/tests/test_fuzz_replay.o: CPPFLAGS += $(IDLC_CPPFLAGS)

.PHONY: fuzz fuzz-build fuzz-corpus fuzz-cov
fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/tests/fuzz/%.o: FUZZ_CFLAGS += -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes
$(IDLC_SRC:%.c=$(FUZZ_DIR)/obj/%.o): | $(IDLC_GENH)

$(FUZZ_DIR)/obj/gen/%.o: $(IDLC_GEN)/%.c $(IDLC_GENH)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SANFLAGS) -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
		log=$(FUZZ_DIR)/fuzz_$$t.log; \
		mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes/$$t; \
		echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
		dict=tests/fuzz/shade.dict; \
		if [ $$t = idl ]; then dict=tests/fuzz/idl.dict; fi; \
		if $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-rss_limit_mb=$(FUZZ_RSS_MB) -timeout=$(FUZZ_TIMEOUT) \
			-max_len=$(FUZZ_MAX_LEN) -dict=$$dict \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t/ \
			$(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t \
			>$$log 2>&1; then \
			grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' $$log; \
			grep -E '^#[0-9]+[[:space:]]+DONE' $$log | tail -1; \
		else \
			fail=1; tail -60 $$log; \
			echo "fuzz_$$t FAILED: input in $(FUZZ_DIR)/crashes/$$t/"; \
		fi; \
	done; \
	if [ $$fail -ne 0 ]; then echo "make fuzz: FAILED"; exit 1; fi

# ---------------------------------------------------------------- corpora
FUZZ_GEN := $(BUILD)/fuzz/gen_corpus
$(FUZZ_GEN): $(BUILD)/obj/tests/fuzz/gen_corpus.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

FUZZ_REC := $(BUILD)/fuzz/record_client
$(FUZZ_REC): $(BUILD)/obj/tests/fuzz/record_client.o \
		$(BUILD)/obj/tests/fuzz/exports.o \
		$(BUILD)/obj/tests/helpers/handlers.o \
		$(BUILD)/obj/tests/helpers/testutil.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-corpus: $(FUZZ_GEN) $(FUZZ_REC)
	$(FUZZ_GEN) tests/fuzz/corpus
	$(FUZZ_REC) tests/fuzz/corpus/client/script
	cp tests/idl/realworld/*.idl tests/fuzz/corpus/idl/

# ---------------------------------------------------------------- coverage
# Runs each target's committed corpus, its regression inputs and what
# `make fuzz` found (in $(FUZZ_DIR)/corpus) once through a build
# instrumented for source-based coverage, then prints llvm-cov's per-file
# report.
FUZZ_COV_DIR   := $(BUILD)/fuzzcov
FUZZ_COV_FLAGS := -std=c11 -g -O0 -fprofile-instr-generate -fcoverage-mapping
FUZZ_COV_OBJ   := $(FUZZ_LIB_OBJ:$(FUZZ_DIR)/obj/%=$(FUZZ_COV_DIR)/obj/%)

$(FUZZ_COV_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_COV_FLAGS) -c $< -o $@
$(FUZZ_COV_DIR)/obj/gen/%.o: $(IDLC_GEN)/%.c $(IDLC_GENH)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_COV_FLAGS) -c $< -o $@
$(IDLC_SRC:%.c=$(FUZZ_COV_DIR)/obj/%.o): | $(IDLC_GENH)
$(FUZZ_COV_DIR)/libcov.a: $(FUZZ_COV_OBJ)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_COV_DIR)/cov_%: $(FUZZ_COV_DIR)/obj/tests/fuzz/fuzz_%.o \
		$(FUZZ_COV_DIR)/obj/tests/fuzz/replay_main.o $(FUZZ_COV_DIR)/libcov.a
	$(FUZZ_CC) -fprofile-instr-generate -o $@ $^ $(LDLIBS)

fuzz-cov: $(FUZZ_TARGETS:%=$(FUZZ_COV_DIR)/cov_%)
	@rm -f $(FUZZ_COV_DIR)/*.profraw
	@for t in $(FUZZ_TARGETS); do \
		LLVM_PROFILE_FILE=$(FUZZ_COV_DIR)/$$t.profraw \
		$(FUZZ_COV_DIR)/cov_$$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t \
			$(FUZZ_DIR)/corpus/$$t || exit 1; \
	done
	llvm-profdata merge -o $(FUZZ_COV_DIR)/all.profdata $(FUZZ_COV_DIR)/*.profraw
	llvm-cov report $(FUZZ_COV_DIR)/cov_$(firstword $(FUZZ_TARGETS)) \
		$(foreach t,$(wordlist 2,99,$(FUZZ_TARGETS)),-object $(FUZZ_COV_DIR)/cov_$(t)) \
		-instr-profile=$(FUZZ_COV_DIR)/all.profdata $(RUNTIME_SRC) $(IDLC_SRC)


