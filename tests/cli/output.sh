#!/bin/bash
# Standard output that cannot be written (a full disk: /dev/full) fails every command with
# exit 1 and one message that names the cause, never "Success"; drift exits 1, not 2.
#   output.sh MDCCTL MDCEMU STATE CONFIG
set -u
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
mdcctl=$1 MDCEMU=$2 state=$3 config=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdc-output.XXXXXX") || exit 1
pass=0 fail=0
cleanup() {
	emu_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

export NO_COLOR=1 XDG_CACHE_HOME=$tmp/cache XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# a private emulator; emu_start also keeps the caller's credentials and IMDS out
emu_start "$tmp" "$state" || exit 1
unset IDENTITY_ENDPOINT IDENTITY_HEADER

if [ ! -w /dev/full ]; then
	echo "no /dev/full: skipped"
	echo "0 passed, 0 failed"
	exit 0
fi

full=$(printf '%s' "mdcctl: error: cannot write output: $(
	python3 -c 'import errno, os; print(os.strerror(errno.ENOSPC))' 2>/dev/null ||
		echo 'No space left on device')")
# full NAME ARGS...: ARGS with stdout on /dev/full exit 1 with the message and its cause.
full() {
	name=$1 want=$full
	shift
	timeout 60 "$mdcctl" "$@" >/dev/full 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" = 1 ] && [ "$(grep -c 'cannot write' "$tmp/err")" = 1 ] &&
		grep -q "^$want" "$tmp/err" && ! grep -q 'Success' "$tmp/err"; then
		ok "$name > /dev/full: exit 1, '$(grep 'cannot write' "$tmp/err")'"
	else
		bad "$name > /dev/full: exit $rc"
		sed 's/^/    /' "$tmp/err" | tail -5
	fi
}
full "--help" --help
full "version" version
full "plan --help" plan --help
full "validate --format json" validate -f "$config" --format json
full "drift (drift found)" drift -f "$config"
full "drift --format json" drift -f "$config" --format json
full "export" export
full "plan" plan -f "$config"
full "plan --detailed-exitcode" plan -f "$config" --detailed-exitcode
full "plan --format json" plan -f "$config" --format json
full "watch --once" watch -f "$config" --once

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
