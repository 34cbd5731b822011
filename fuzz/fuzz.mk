# fuzz.mk: compiles the project with clang + libFuzzer + ASan + UBSan and links
# one binary per fuzz target. Driven by fuzz/build.sh, which passes:
#   SRCDIR   the repository root
#   OUT      the build dir (build-fuzz)
#   SOURCES  project .c files relative to SRCDIR (from the meson.build lists)
#   TARGETS  target names (fuzz/fuzz-NAME.c -> OUT/fuzz-NAME)
#   INCS     -I flags: every directory of core/ ops/ runtime/ holding headers
CC := clang
PKGS := glib-2.0 gmodule-2.0 json-glib-1.0 inih libprotobuf-c
# libraries of newer runtime sources, when installed (image datasets,
# .tar.gz exports); the top meson.build makes them required
PKGS += $(foreach p,gdk-pixbuf-2.0 libarchive,$(shell pkg-config --exists $(p) && echo $(p)))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -ldl -lm -lpthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wno-unused-parameter \
  -DMSC_FUZZING=1 -I$(OUT)/gen -I$(SRCDIR) $(INCS) $(PKG_CFLAGS)
CFLAGS := $(BASE_CFLAGS) $(SAN)
# Sources compiled without instrumentation: the unrolled SIMD conv templates
# of the `cpu` runner take over 20 minutes each under ASan+UBSan+coverage
# and no fuzz target reaches them (they serve the cpu runner plugin only).
LIGHT ?= ops/kernels/f32-%

OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(SOURCES)) $(OUT)/obj/gen/onnx.pb-c.o
BINS := $(patsubst %,$(OUT)/fuzz-%,$(TARGETS))

all: $(BINS)

$(OUT)/libmsc-fuzz.a: $(OBJS)
	@rm -f $@
	@echo "AR $(notdir $@)"
	@ar rcs $@ $^

$(OUT)/obj/gen/onnx.pb-c.o: $(OUT)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

LIGHT_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(filter $(LIGHT),$(SOURCES)))
$(LIGHT_OBJS): OBJ_FLAGS := $(BASE_CFLAGS) -w
OBJ_FLAGS ?= $(CFLAGS) -fsanitize=fuzzer-no-link

$(OUT)/obj/%.o: $(SRCDIR)/%.c
	@mkdir -p $(dir $@)
	@echo "CC $*.c"
	@$(CC) $(OBJ_FLAGS) -MMD -MP -c $< -o $@

$(OUT)/fuzz-%: $(SRCDIR)/fuzz/fuzz-%.c $(OUT)/libmsc-fuzz.a
	@echo "LINK fuzz-$*"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d $< -o $@ -Wl,--whole-archive $(OUT)/libmsc-fuzz.a -Wl,--no-whole-archive $(PKG_LIBS)

-include $(OBJS:.o=.d) $(BINS:=.d)
