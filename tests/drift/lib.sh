# Shared by the drift and watch CLI tests: a private emulator per test, and checks.
# Usage: . lib.sh; needs $MDCEMU, $MDCCTL; sets $tmp (removed at exit).
# The emulator plumbing (emu_start, emu_stop, emu_admin) is tests/lib/emu.sh.
set -u
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
pass=0 fail=0
tmp=$(mktemp -d) || exit 1
cleanup() {
	emu_stop
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
# its environment (AZURE_*, MDCCTL_ARM_ENDPOINT, AZURE_AUTHORITY_HOST, MDCCTL_CA_FILE);
# $EMU is its URL. emu_admin METHOD PATH [JSON] is the admin API.
start_emu() {
	emu_start "$tmp/emu" "$1" || exit 1
	EMU=$EMU_URL
	export XDG_CACHE_HOME="$tmp/cache"
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
