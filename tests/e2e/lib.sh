# Shared by the end-to-end tests of `mdcctl apply` (sourced by bash scripts).
#
#   . lib.sh BUILD_DIR          # sets $mdcctl, $mdcemu, $tmp (removed on exit)
#   gen_tenant N SEED           # $tmp/state.json: a generated tenant
#   start_emu [mdcemu options]  # own port, own TLS dir, a copy of $tmp/state.json; sources
#                               # its env (tests/lib/emu.sh); stopped on exit
#   write_cfg FILE [selector]   # a config for the state's tenant and workspace
#   admin METHOD PATH [BODY]    # the emulator's admin API (/_emulator/...)
#   ok NAME / bad NAME MESSAGE  # count results; finish prints "N passed, N failed"
#
# Every test has its own emulator (port 0), state copy, TLS dir and lock directory
# (XDG_RUNTIME_DIR), so tests run in parallel.
set -u
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
build=$(cd "$1" && pwd)
mdcctl=$build/cmd/mdcctl
mdcemu=$build/tests/emulator/mdcemu
MDCEMU=$mdcemu
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdc-e2e.XXXXXX") || exit 1
pass=0 fail=0
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export NO_COLOR=1

stop_emu() { emu_stop; }
cleanup() {
	stop_emu
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() {
	echo "ok   $1"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL $1: $2"
	fail=$((fail + 1))
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

gen_tenant() {
	"$mdcemu" --generate "$1" --seed "$2" -o "$tmp/state.json" >/dev/null || exit 1
}

# Starts mdcemu on a copy of $tmp/state.json with extra options; waits (bounded) for readiness.
start_emu() {
	emu_start "$tmp/emu" "$tmp/state.json" "$@" || exit 1
}

admin() { emu_admin "$@"; }

# state_py 'python expression over d (the state document)': prints the result.
state_py() {
	admin GET state >"$tmp/now.json"
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$tmp/now.json"
}

# write_cfg FILE [SELECT_YAML [VIRTUALMACHINES_YAML]]: the generated tenant's ids; select
# defaults to every subscription below the tenant root group.
write_cfg() {
	python3 - "$tmp/state.json" "$1" "${2:-}" "${3:-}" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
w = d["workspaces"][0]
sel = sys.argv[3] or "[{managementGroup: %s}]" % d["tenantId"]
vm = sys.argv[4] or "{tier: Standard, subPlan: P2}"
open(sys.argv[2], "w").write("""apiVersion: mdcctl/v1
tenant: %s
workspace: {subscription: %s, resourceGroup: %s, name: %s}
subscriptions:
  select: %s
  defaults:
    connected: true
    bidirectionalSync: true
    plans:
      VirtualMachines: %s
      KeyVaults: Standard
incidentRule: {enabled: true}
""" % (d["tenantId"], w["subscriptionId"], w["resourceGroup"], w["name"], sel, vm))
EOF
}

# The largest number of AzureSecurityCenter connectors pointing at one subscription.
max_asc_per_sub() {
	state_py '
from collections import Counter
c = Counter(x["properties"]["subscriptionId"].lower() for w in d["workspaces"] for x in w.get("dataConnectors", []) if x.get("kind") == "AzureSecurityCenter")
print(max(c.values()) if c else 0)'
}

# Runs mdcctl with a bound on time; output in $tmp/out and $tmp/err, status in $rc.
run() {
	timeout 120 "$mdcctl" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}

show() {
	echo "--- stdout"
	tail -n "${1:-30}" "$tmp/out"
	echo "--- stderr"
	tail -n "${1:-30}" "$tmp/err"
}
