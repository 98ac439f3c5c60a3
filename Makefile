# shade - top-level GNU Makefile.
#
#   make              build libshade (.a, .so) and the programs
#   make check        run every cmocka suite      (SAN=1: ASan + UBSan build,
#                                                 SAN=thread: ThreadSanitizer)
#   make valgrind     run every suite under valgrind, failing on leaks
#   make demo         a server and a client over a real Unix socket
#   make bench        benchmarks (QUICK=1 for a short run)
#   make install      PREFIX=/usr/local DESTDIR=
#   make deps         install missing Debian packages (root) or print how
#
# Objects go out of tree under build/ (build/san/ for SAN=1).  Each
# component adds its own rules in a <folder>/rules.mk fragment included
# below; this file owns the runtime library and the generic test rules.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     ?= -O1
LTO     ?= 0
else ifeq ($(SAN),thread)
BUILD   ?= build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT     ?= -O1
LTO     ?= 0
else
BUILD   ?= build
SANFLAGS :=
OPT     ?= -O2
LTO     ?= 1
endif
# Link-time optimization: the runtime is one concern per file, and the
# calls of the hot paths cross files (api -> conn -> transport); LTO
# inlines across them as a single file would (doc/performance.md).  Fat
# objects keep libshade.a usable by builds without LTO.  LTO=0 turns it
# off.
ifeq ($(LTO),1)
LTOFLAGS := -flto=auto -ffat-lto-objects
# The installed archive keeps only the ordinary code: LTO bytecode is
# tied to this compiler's version.
STRIP_LTO := strip --remove-section='.gnu.lto_*' \
	--remove-section='.gnu.debuglto_*' -N __gnu_lto_v1 -N __gnu_lto_slim
else
LTOFLAGS :=
endif

WARN     := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Iruntime/include -Iruntime
CFLAGS   += -std=c11 $(WARN) $(OPT) $(LTOFLAGS) -g -fPIC -fvisibility=hidden $(SANFLAGS)
LDFLAGS  += $(SANFLAGS) $(LTOFLAGS)
LDLIBS   += -ltalloc -lpthread
# Every compile writes the headers it read to <object>.d, so touching any
# header rebuilds every object that includes it, generated ones too.
DEPFLAGS  = -MMD -MP -MF $@.d

# ---------------------------------------------------------------- runtime
RUNTIME_SRC := $(sort $(wildcard runtime/*/*.c))
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A  := $(BUILD)/lib/libshade.a
LIB_SO := $(BUILD)/lib/libshade.so

# Stamp of `make deps` (see below); targets that need the packages use it.
DEPS_STAMP := $(BUILD)/deps.ok

# Programs in build/bin, appended to by the fragments.
PROGRAMS :=
# Extra objects linked into every test (fragments may append).
TEST_EXTRA_OBJ :=
# Extra prerequisites of every test binary (generated headers...).
TEST_EXTRA_DEP :=

.PHONY: all check check-layers valgrind demo bench install clean deps fuzz
# Keep intermediate objects (test objects are built through pattern chains).
.SECONDARY:
all: $(LIB_A) $(LIB_SO) programs

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB_A): $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libshade.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---------------------------------------------------------------- fragments
include $(sort $(wildcard */rules.mk */*/rules.mk))

programs: $(PROGRAMS)
.PHONY: programs

# ---------------------------------------------------------------- tests
# Every tests/test_<name>.c is one cmocka suite, linked statically.
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
TEST_HELPER_OBJ := $(TEST_HELPER_SRC:%.c=$(BUILD)/obj/%.o)

# The archive goes last: objects a fragment adds as extra prerequisites
# (generated stubs...) may need any member of it.
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPER_OBJ) $(TEST_EXTRA_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) $(LDLIBS) -lcmocka

$(BUILD)/obj/tests/%.o: $(TEST_EXTRA_DEP)

# Suites run from the top of the tree with SHADE_BUILD set, so they can
# find programs and fixtures.  Each prints cmocka's summary lines.
check: $(DEPS_STAMP) all $(TEST_BIN)
	@tests/check_layers.sh $(BUILD)
	@fail=0; for t in $(TEST_BIN); do \
		echo "== $$t"; \
		SHADE_BUILD=$(BUILD) $(if $(filter thread,$(SAN)),SHADE_SLOW=1) ./$$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "make check: FAILED"; exit 1; fi

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	--track-fds=no --trace-children=no
valgrind: $(DEPS_STAMP) all $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do \
		echo "== valgrind $$t"; \
		SHADE_BUILD=$(BUILD) SHADE_VALGRIND=1 $(VALGRIND) ./$$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "make valgrind: FAILED"; exit 1; fi

# Includes and calls follow the layers (doc/architecture.md).
check-layers: all
	@tests/check_layers.sh $(BUILD)

# ---------------------------------------------------------------- deps
# `make deps` always looks; the other targets look once per build tree
# (the stamp is remade when this Makefile changes the package list).
DEB_PACKAGES := gcc g++ make flex bison libtalloc-dev libcmocka-dev \
	python3-cbor2 valgrind pkg-config
$(DEPS_STAMP): Makefile
	@$(MAKE) --no-print-directory deps
	@mkdir -p $(dir $@) && touch $@
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && apt-get install -y $$missing; \
		else \
			echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/include/shade $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 runtime/include/shade/*.h $(DESTDIR)$(PREFIX)/include/shade/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	$(if $(LTOFLAGS),$(STRIP_LTO) $(DESTDIR)$(PREFIX)/lib/libshade.a)
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libshade.so.0
	ln -sf libshade.so.0 $(DESTDIR)$(PREFIX)/lib/libshade.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
		shade.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/shade.pc
	for p in $(PROGRAMS); do install -m 755 $$p $(DESTDIR)$(PREFIX)/bin/; done
	for m in $(wildcard doc/*.1); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.o.d' 2>/dev/null)
