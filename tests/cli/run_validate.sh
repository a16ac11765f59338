#!/bin/sh
# run_validate.sh MDCCTL CASE: runs `mdcctl validate -f CASE.yaml` and compares the exit
# status and stderr with CASE.expected ("exit N" then the exact stderr lines).
set -u
mdcctl=$1 case=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$mdcctl" validate -f "$case.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
printf 'exit %s\n' "$rc" >"$tmp/got"
cat "$tmp/err" >>"$tmp/got"
cat "$tmp/got"
if ! cmp -s "$case.expected" "$tmp/got"; then
	echo "--- differs from $case.expected:"
	diff "$case.expected" "$tmp/got"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ -s "$tmp/out" ]; then
	echo "unexpected stdout:"; cat "$tmp/out"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
