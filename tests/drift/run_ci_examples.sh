#!/bin/sh
# The pipelines in examples/ci/ reference example configs (examples/*.yaml); each must exist
# and validate, so that a copy-pasted pipeline starts from a working file.
set -u
mdcctl=$1
pass=0 fail=0
paths=$(grep -ohE 'examples/[A-Za-z0-9_.-]+\.ya?ml' examples/ci/*.yml examples/ci/*.yaml 2>/dev/null |
	sort -u)
if [ -z "$paths" ]; then echo "FAIL no examples/*.yaml referenced by examples/ci/"; exit 1; fi
for p in $paths; do
	if [ -f "$p" ] && "$mdcctl" validate -f "$p" >/dev/null; then
		echo "ok   $p validates"; pass=$((pass + 1))
	else
		echo "FAIL $p (referenced by examples/ci/) is missing or invalid"; fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
