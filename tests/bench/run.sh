#!/bin/sh
# The read benchmark: reads a whole generated tenant from mdcemu and prints the figures
# (README.md here).
#
#   tests/bench/run.sh BUILD_DIR            5000 subscriptions, 20 ms latency, throttling on
#   tests/bench/run.sh BUILD_DIR --small    200 subscriptions, 5 ms (the ctest, label bench)
#
# BENCH_SUBS, BENCH_LATENCY_MS, BENCH_PARALLELISM and BENCH_SEED override the sizes.
# Exit 1 when the read fails or a request was issued twice; timing is reported, not judged.
set -eu
build=${1:?usage: run.sh BUILD_DIR [--small]}
build=$(cd "$build" && pwd)
subs=${BENCH_SUBS:-5000} latency=${BENCH_LATENCY_MS:-20}
if [ "${2:-}" = "--small" ]; then
	subs=${BENCH_SUBS:-200} latency=${BENCH_LATENCY_MS:-5}
fi
par=${BENCH_PARALLELISM:-32} seed=${BENCH_SEED:-7}
emu=$build/tests/emulator/mdcemu
drv=$build/tests/bench/bench_observe

dir=$(mktemp -d "${TMPDIR:-/tmp}/mdcbench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$emu" --generate "$subs" --seed "$seed" -o "$dir/tenant.json"
"$emu" --state "$dir/tenant.json" --port-file "$dir/port" --tls-dir "$dir/tls" \
	--latency-ms "$latency" --throttle on >"$dir/emu.out" 2>"$dir/emu.err" &
pid=$!
i=0
while ! grep -q listening "$dir/emu.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "bench: mdcemu did not start" >&2
		cat "$dir/emu.err" >&2
		exit 1
	fi
	sleep 0.1
done
# shellcheck disable=SC1091
. "$dir/tls/env"
echo "tenant: $subs subscriptions (seed $seed), latency $latency ms, throttling on, parallelism $par"
"$drv" --state "$dir/tenant.json" --latency-ms "$latency" --parallelism "$par" \
	--emulator "$MDCCTL_ARM_ENDPOINT"
