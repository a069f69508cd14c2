# lowbit: the two commands that matter are `make demo` and `make test`.
# Each installs what is missing (scripts/setup.sh, needs root the first time) and builds.

PRESET ?= release
BUILD_DIR := build/$(PRESET)
LOWBIT := $(BUILD_DIR)/lowbit
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test demo bench asan format format-check clean

all: build

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

test: build
	@ctest --preset $(PRESET)

demo: build
	@bash scripts/demo.sh $(LOWBIT)

bench: build
	@bash bench/run.sh $(BUILD_DIR)

asan:
	@$(MAKE) --no-print-directory test PRESET=asan

FORMAT_FILES = $(shell git ls-files '*.h' '*.cpp' '*.c' 2>/dev/null)

format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	@rm -rf build
