# Thin wrapper over CMake for the README's two commands.
#   make demo   plan and apply the example tenant against the local emulator
#   make test   install what is missing, build, and run every test plain and under ASan/UBSan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Tests talk to loopback only. Should a test ever fall through the credential chain to
# managed identity, IMDS is this closed loopback port, never 169.254.169.254.
export AZURE_POD_IDENTITY_AUTHORITY_HOST = http://127.0.0.1:9

.PHONY: all deps build demo test test-plain test-asan test-fuzz bench clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

demo: build
	./scripts/demo.sh build

test: deps test-plain test-asan test-fuzz

test-plain:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)
	cd build && ctest --output-on-failure -j$(JOBS)

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMDC_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -LE slow

test-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMDC_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	cd build-fuzz && ctest --output-on-failure -L fuzz

bench: build
	./tests/bench/run.sh build

clean:
	rm -rf build build-asan build-fuzz
