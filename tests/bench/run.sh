#!/bin/sh
# The read benchmark: reads a whole generated tenant from mdcemu and prints the figures
# (README.md here).
#
#   tests/bench/run.sh BUILD_DIR            5000 subscriptions, 20 ms latency, throttling on
#   tests/bench/run.sh BUILD_DIR --small    200 subscriptions, 5 ms (the ctest, label bench)
#
# BENCH_SUBS, BENCH_LATENCY_MS, BENCH_PARALLELISM and BENCH_SEED override the sizes;
# Reads go 20 to an ARM /batch as mdcctl's do (reference §9.5); BENCH_BATCH=0 reads with
# single GETs (mdcctl --no-arm-batch).
# Exit 1 when the read fails or a request was issued twice; timing is reported, not judged.
set -eu
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
build=${1:?usage: run.sh BUILD_DIR [--small]}
build=$(cd "$build" && pwd)
subs=${BENCH_SUBS:-5000} latency=${BENCH_LATENCY_MS:-20}
if [ "${2:-}" = "--small" ]; then
	subs=${BENCH_SUBS:-200} latency=${BENCH_LATENCY_MS:-5}
fi
par=${BENCH_PARALLELISM:-32} seed=${BENCH_SEED:-7}
MDCEMU=$build/tests/emulator/mdcemu
drv=$build/tests/bench/bench_observe

dir=$(mktemp -d "${TMPDIR:-/tmp}/mdcbench.XXXXXX")
cleanup() {
	emu_stop || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$MDCEMU" --generate "$subs" --seed "$seed" -o "$dir/tenant.json"
emu_start "$dir/emu" "$dir/tenant.json" --latency-ms "$latency" --throttle on ||
	{ echo "bench: mdcemu did not start" >&2; exit 1; }
echo "tenant: $subs subscriptions (seed $seed), latency $latency ms, throttling on, parallelism $par"
"$drv" --state "$dir/tenant.json" --latency-ms "$latency" --parallelism "$par" \
	--emulator "$MDCCTL_ARM_ENDPOINT" $([ "${BENCH_BATCH:-1}" = 0 ] && echo --no-batch)
