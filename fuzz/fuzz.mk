# fuzz.mk: compiles the project with clang + libFuzzer + ASan + UBSan and links
# one binary per fuzz target. Driven by fuzz/build.sh, which passes:
#   SRCDIR   the repository root
#   OUT      the build dir (build-fuzz)
#   SOURCES  project .c files relative to SRCDIR (from the meson.build lists)
#   TARGETS  target names (fuzz/fuzz-NAME.c -> OUT/fuzz-NAME)
#   INCS     -I flags: every directory of core/ ops/ runtime/ holding headers
CC := clang
PKGS := glib-2.0 gmodule-2.0 json-glib-1.0 inih libprotobuf-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -ldl -lm -lpthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wno-unused-parameter \
  -DMSC_FUZZING=1 $(SAN) -I$(OUT)/gen -I$(SRCDIR) $(INCS) $(PKG_CFLAGS)

OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(SOURCES)) $(OUT)/obj/gen/onnx.pb-c.o
BINS := $(patsubst %,$(OUT)/fuzz-%,$(TARGETS))

all: $(BINS)

$(OUT)/libmsc-fuzz.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OUT)/obj/gen/onnx.pb-c.o: $(OUT)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(OUT)/obj/%.o: $(SRCDIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(OUT)/fuzz-%: $(SRCDIR)/fuzz/fuzz-%.c $(OUT)/libmsc-fuzz.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d $< -o $@ -Wl,--whole-archive $(OUT)/libmsc-fuzz.a -Wl,--no-whole-archive $(PKG_LIBS)

-include $(OBJS:.o=.d) $(BINS:=.d)
