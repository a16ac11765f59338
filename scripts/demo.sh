#!/bin/sh
# The README's main job (`make demo`): start the local Azure emulator with the example
# tenant, validate every example, then plan, apply and plan again against it.
#   scripts/demo.sh [BUILD_DIR]      (default: build, as `make build` makes it)
set -eu
cd "$(dirname "$0")/.."
# emu_start, emu_stop: the emulator plumbing shared with the shell tests
# shellcheck source=tests/lib/emu.sh
. tests/lib/emu.sh
build=$(cd "${1:-build}" && pwd)
mdcctl=$build/cmd/mdcctl
MDCEMU=$build/tests/emulator/mdcemu
for b in "$mdcctl" "$MDCEMU"; do
	[ -x "$b" ] || { echo "demo: $b is missing; run 'make build' first" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mdcctl-demo.XXXXXX")
stop() {
	emu_stop || true
	rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

step() {
	if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
		printf '\n\033[1m==> %s\033[0m\n' "$*"
	else
		printf '\n==> %s\n' "$*"
	fi
}

step "validate every example"
for f in examples/*.yaml; do
	"$mdcctl" validate -f "$f"
	echo "$f: valid"
done

step "start mdcemu (the local Azure emulator) with examples/tenant-contoso.json"
# The emulator changes its own copy of the tenant, never the example. emu_start sources its
# env file: AZURE_* credentials of the emulator's first principal, MDCCTL_ARM_ENDPOINT,
# AZURE_AUTHORITY_HOST and MDCCTL_CA_FILE; mdcctl talks to the emulator as to Azure.
emu_start "$work/emu" examples/tenant-contoso.json || { echo "demo: mdcemu did not start" >&2; exit 1; }
cat "$work/emu/emu.out"
# Locks live with the demo, not with real applies of this user.
export XDG_RUNTIME_DIR="$work/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"

step "mdcctl plan -f examples/contoso.yaml"
rc=0
"$mdcctl" plan -f examples/contoso.yaml --detailed-exitcode || rc=$?
[ $rc = 2 ] || { echo "demo: expected changes (exit 2), got exit $rc" >&2; exit 1; }

step "mdcctl apply -f examples/contoso.yaml --auto-approve"
# Data-Analytics stays blocked: the demo's principal has only Reader on it, so apply
# applies everything else and exits 1 (not converged). The registration poll is
# shortened for the emulator (Azure: the default 5 s).
rc=0
"$mdcctl" apply -f examples/contoso.yaml --auto-approve --poll-interval 0.2 \
	--resume-file "$work/resume.json" || rc=$?
[ $rc = 1 ] && [ ! -e "$work/resume.json" ] ||
	{ echo "demo: expected apply to exit 1 for the blocked items only, got exit $rc" >&2; exit 1; }

step "mdcctl plan -f examples/contoso.yaml (again: nothing left but the blocked subscription)"
rc=0
"$mdcctl" plan -f examples/contoso.yaml --detailed-exitcode >"$work/plan2.txt" || rc=$?
cat "$work/plan2.txt"
if [ $rc -le 2 ] && grep -q '^Plan: 0 to add, 0 to change, 0 to remove' "$work/plan2.txt"; then
	printf '\ndemo: converged (plan exit %s: only blocked items remain)\n' "$rc"
else
	echo "demo: the second plan still has changes" >&2
	exit 1
fi
