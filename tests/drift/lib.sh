# Shared by the drift and watch CLI tests: a private emulator per test, and checks.
# Usage: . lib.sh; needs $MDCEMU, $MDCCTL; sets $tmp (removed at exit).
set -u
pass=0 fail=0
tmp=$(mktemp -d) || exit 1
emu_pid=
cleanup() {
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	[ -n "${extra_pids:-}" ] && for p in $extra_pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
# check NAME CONDITION-COMMAND...
check() { name=$1; shift; if "$@" >/dev/null; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

# start_emu STATE: starts mdcemu on a free loopback port with a copy of STATE and exports
# its environment (AZURE_*, MDCCTL_ARM_ENDPOINT, AZURE_AUTHORITY_HOST, MDCCTL_CA_FILE).
start_emu() {
	mkdir -p "$tmp/emu"
	cp "$1" "$tmp/emu/state.json"
	"$MDCEMU" --state "$tmp/emu/state.json" --port-file "$tmp/emu/port" \
		--tls-dir "$tmp/emu/tls" >"$tmp/emu/out" 2>&1 &
	emu_pid=$!
	i=0
	while ! grep -q listening "$tmp/emu/out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
			echo "mdcemu did not start:"; cat "$tmp/emu/out"; exit 1
		fi
		sleep 0.1
	done
	. "$tmp/emu/tls/env"
	EMU=$MDCCTL_ARM_ENDPOINT
	# unrelated credentials of the developer's shell must not win over the emulator's
	unset AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE ARM_CLIENT_ID ARM_CLIENT_SECRET
	export XDG_CACHE_HOME="$tmp/cache"
}

# emu_admin METHOD PATH [JSON]: the emulator's admin API (no auth, loopback).
emu_admin() {
	if [ $# -gt 2 ]; then
		curl -sS --max-time 10 --cacert "$MDCCTL_CA_FILE" -X "$1" -H 'Content-Type: application/json' \
			--data "$3" "$EMU$2"
	else
		curl -sS --max-time 10 --cacert "$MDCCTL_CA_FILE" -X "$1" "$EMU$2"
	fi
}

# set_pricing SUB PLAN TIER [SUBPLAN]: changes a pricing out of band (as someone in the
# portal would); the body replaces the stored properties.
set_pricing() {
	sp=${4:+",\"subPlan\":\"$4\""}
	emu_admin POST /_emulator/object "{\"path\":\"/subscriptions/$1/providers/Microsoft.Security/pricings/$2\",\"body\":{\"pricingTier\":\"$3\"$sp}}" >/dev/null
}

# git_repo DIR FILE: a repository with FILE committed as cfg.yaml; prints nothing.
git_repo() {
	mkdir -p "$1"
	git -C "$1" init -q -b main
	git -C "$1" config user.email test@example.com
	git -C "$1" config user.name test
	cp "$2" "$1/cfg.yaml"
	git -C "$1" add cfg.yaml
	git -C "$1" commit -q -m initial
}
git_commit_file() { # DIR FILE MESSAGE
	cp "$2" "$1/cfg.yaml"
	git -C "$1" commit -q -am "$3"
}
