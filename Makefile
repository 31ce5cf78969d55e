# Thin wrapper: every target installs what is missing first (idempotent).
#   make demo            install, build, run onnxpress on the bundled sample model
#   make test            install, build, run every test (ctest)
#   make test-sanitize   unit and conformance tests under AddressSanitizer + UBSan (build-asan/)
#   make fuzz            build the libFuzzer targets (clang, ASan+UBSan) and run each FUZZ_SECONDS (docs/fuzzing.md)
#   make corpus          quantize the real-model corpus with every tool and score it (bench/corpus/README.md)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
# CI builds treat warnings in onnxpress's own code as errors.
CMAKE_FLAGS ?= $(if $(CI),-DONNXPRESS_WERROR=ON)

.PHONY: all deps build test demo test-sanitize fuzz corpus clean

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
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target onnxpress_unit_tests onnxpress_conformance onnxpress_fuzz_targets
	@cd $(ASAN_BUILD) && ONNXPRESS_CONFORMANCE_STRIDE=10 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -E '^cli\.'

# Fuzzing (issue 17), not part of `make test`: the targets in tests/fuzz/, built with
# clang's libFuzzer under ASan and UBSan at -O1 (unity batches, no PCH), run one after
# another for FUZZ_SECONDS each. Findings land in $(FUZZ_BUILD)/fuzz/findings/; each
# becomes a regression input in tests/fuzz/regressions/, which `make test` replays.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= model_loader npy pipeline recipe runtime
fuzz:
	@./scripts/install-deps.sh clang libclang-rt-14-dev libomp-14-dev
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DONNXPRESS_FUZZ=ON -DONNXPRESS_BUILD_TESTS=OFF -DONNXPRESS_PCH=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 > $(FUZZ_BUILD).configure.log 2>&1 || { cat $(FUZZ_BUILD).configure.log; exit 1; }
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target onnxpress_fuzz_targets
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Real-model corpus (issue 13), not part of `make test`. Installs what is missing
# (the Debian packages and pip packages that bench/corpus/tasks/*.py declare, into
# bench/.venv-peers; skipped while the list is unchanged), then runs every corpus
# model through every tool with $(BUILD)/bin/onnxpress (built first, as for `make test`).
# CORPUS_ARGS goes to run.py, e.g. CORPUS_ARGS="--models ppocr_rec --tools ours-static".
PEERS_VENV ?= bench/.venv-peers
CORPUS_ARGS ?=
corpus: build
	@missing=$$(for p in $$(/usr/bin/python3 bench/corpus/corpus.py apt-requirements); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "corpus: apt-get install $$missing" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@test -x $(PEERS_VENV)/bin/python || /usr/bin/python3 -m venv $(PEERS_VENV)
	@/usr/bin/python3 bench/corpus/corpus.py pip-requirements > $(PEERS_VENV)/corpus-requirements.new
	@if ! cmp -s $(PEERS_VENV)/corpus-requirements.new $(PEERS_VENV)/corpus-requirements.txt; then \
	  $(PEERS_VENV)/bin/pip install -q --disable-pip-version-check -r $(PEERS_VENV)/corpus-requirements.new && \
	  { $(PEERS_VENV)/bin/pip install -q --disable-pip-version-check nncf || echo "corpus: nncf did not install; its rows will say so" >&2; } && \
	  mv $(PEERS_VENV)/corpus-requirements.new $(PEERS_VENV)/corpus-requirements.txt; fi
	@$(PEERS_VENV)/bin/python bench/corpus/run.py --binary $(BUILD)/bin/onnxpress $(CORPUS_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BUILD).configure.log $(ASAN_BUILD).configure.log $(FUZZ_BUILD).configure.log
