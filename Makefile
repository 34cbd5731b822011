# msc: the two set-up commands are `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=

.PHONY: all deps build demo test test-asan clean

all: build

deps:
	@./scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	./scripts/demo $(BUILD)

test: build
	./scripts/run-tests $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug $(MESON_OPTS)

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	MSC_TEST_QUICK=1 ./scripts/run-tests $(ASAN_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Fuzzing (clang + libFuzzer, build dir build-fuzz; see fuzz/README.md):
# `make fuzz` runs each target FUZZ_SECONDS (default 300) and saves new
# findings into tests/fuzz-regressions/; `make fuzz-ci` is deterministic and bounded (fixed seed
# and run counts, <= 45 s per target) and fails on any finding without touching the tree.
FUZZ_SECONDS ?= 300
.PHONY: fuzz fuzz-ci
fuzz: build
	MSC_BIN=$(BUILD)/cli/msc ./scripts/fuzz --seconds $(FUZZ_SECONDS) --save

fuzz-ci: build
	MSC_BIN=$(BUILD)/cli/msc ./scripts/fuzz --ci

# msc cpu runner vs ONNX Runtime, one table (BENCH_ARGS="--repeat 5 --only resnet")
.PHONY: bench
bench: build
	./scripts/bench $(BUILD)
	benchmarks/prune-bench.sh $(BUILD)/cli/msc
