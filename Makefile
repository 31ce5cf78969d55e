# Thin wrapper: every target installs what is missing first (idempotent).
#   make demo            install, build, run onnxpress on the bundled sample model
#   make test            install, build, run every test (ctest)
#   make test-sanitize   unit and conformance tests under AddressSanitizer + UBSan (build-asan/)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
# CI builds treat warnings in onnxpress's own code as errors.
CMAKE_FLAGS ?= $(if $(CI),-DONNXPRESS_WERROR=ON)

.PHONY: all deps build test demo test-sanitize clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@./scripts/demo.sh $(BUILD)/bin/onnxpress

# The sanitizer stage builds the library, the unit tests and the conformance
# runner at -O0 -g1 (quickest to compile; line numbers in reports) and runs them
# (conformance on every 10th case). The CLI tests drive the same library code end
# to end over many samples and run once, in the release stage. No precompiled
# header here (GCC 12 rejects Eigen's _mm_prefetch at -O0 when one is in use);
# unity batches of 8 files instead, which halve this build. So names in anonymous
# namespaces must be unique within a layer.
test-sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DONNXPRESS_SANITIZE=ON -DONNXPRESS_PCH=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 $(CMAKE_FLAGS) > $(ASAN_BUILD).configure.log 2>&1 || { cat $(ASAN_BUILD).configure.log; exit 1; }
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target onnxpress_unit_tests onnxpress_conformance
	@cd $(ASAN_BUILD) && ONNXPRESS_CONFORMANCE_STRIDE=10 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -E '^cli\.'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BUILD).configure.log $(ASAN_BUILD).configure.log
