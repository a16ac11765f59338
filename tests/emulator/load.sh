#!/bin/sh
# The full load run of issue #3: 100 concurrent connections for 30 s (ctest runs 10 s).
#   tests/emulator/load.sh [BUILD_DIR]
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
MDCEMU="$root/$build/tests/emulator/mdcemu" \
MDCEMU_STATE="$root/tests/emulator/testdata/conformance.json" \
MDCEMU_LOAD_SECONDS=${MDCEMU_LOAD_SECONDS:-30} \
	exec "$root/$build/tests/emulator/test_emulator_load"
