#!/bin/sh
# Round trip of mdcctl export against its own emulator:
#   export -> validate -> plan --detailed-exitcode (must exit 0: no changes).
#
#   roundtrip.sh BUILD_DIR gen N SEED        a generated tenant of N subscriptions
#   roundtrip.sh BUILD_DIR file STATE.json   a tenant file (examples/tenant-contoso.json)
#
# Extra checks on the exported file run when EXPECT_EXCLUDED (count of excluded
# subscriptions, or "some") is set. Exit 0 on success; prints what failed otherwise.
set -eu
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
build=$(cd "${1:?usage: roundtrip.sh BUILD_DIR gen N SEED | file STATE}" && pwd)
kind=$2
mdcctl=$build/cmd/mdcctl
MDCEMU=$build/tests/emulator/mdcemu
dir=$(mktemp -d "${TMPDIR:-/tmp}/mdcexport.XXXXXX")
cleanup() {
	emu_stop || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

case $kind in
gen) "$MDCEMU" --generate "$3" --seed "$4" -o "$dir/tenant.json" ;;
file) cp "$3" "$dir/tenant.json" ;;
*) fail "unknown case kind '$kind'" ;;
esac
# STATE_JQ: a jq filter applied to the tenant first (several onboarded workspaces, ...).
if [ -n "${STATE_JQ:-}" ]; then
	jq "$STATE_JQ" "$dir/tenant.json" >"$dir/t2.json" && mv "$dir/t2.json" "$dir/tenant.json"
fi
emu_start "$dir/emu" "$dir/tenant.json" || fail "mdcemu did not start"

# INEXACT=1: make three subscriptions that cannot round-trip, out of band: one connected
# with every plan Free, one whose connector has alerts Disabled, one whose pricings answer
# 403. Each must be excluded with its reason (EXPECT_EXCLUDED=3).
if [ "${INEXACT:-}" = 1 ]; then
	admin() {
		emu_admin POST "$1" "$2" >/dev/null || fail "admin $1 $2"
	}
	st=$dir/tenant.json
	ws=$(jq -r '.workspaces[0] | "/subscriptions/\(.subscriptionId)/resourceGroups/\(.resourceGroup)/providers/Microsoft.OperationalInsights/workspaces/\(.name)"' "$st")
	a=$(jq -r '.workspaces[0].dataConnectors[0].properties.subscriptionId' "$st")
	b=$(jq -r '.workspaces[0].dataConnectors[1].properties.subscriptionId' "$st")
	bname=$(jq -r '.workspaces[0].dataConnectors[1].name' "$st")
	c=$(jq -r --arg a "$a" --arg b "$b" '[.subscriptions[] | select(.state == "Enabled") | .subscriptionId | select(. != $a and . != $b)][1]' "$st")
	for plan in $(jq -r --arg a "$a" '.subscriptions[] | select(.subscriptionId == $a) | .pricings | keys[]' "$st"); do
		admin object "{\"path\":\"/subscriptions/$a/providers/Microsoft.Security/pricings/$plan\",\"body\":{\"pricingTier\":\"Free\"}}"
	done
	admin object "{\"path\":\"$ws/providers/Microsoft.SecurityInsights/dataConnectors/$bname\",\"body\":{\"kind\":\"AzureSecurityCenter\",\"properties\":{\"subscriptionId\":\"$b\",\"dataTypes\":{\"alerts\":{\"state\":\"Disabled\"}}}}}"
	admin faults "{\"path\":\"/subscriptions/$c/providers/Microsoft.Security/pricings\",\"status\":403,\"count\":-1,\"body\":{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"no access\"}}}"
fi

# EXPECT_AMBIGUOUS=1: no workspace can be chosen; export must fail listing candidates.
if [ "${EXPECT_AMBIGUOUS:-}" = 1 ]; then
	if "$mdcctl" export ${EXPORT_ARGS:-} -o "$dir/export.yaml" 2>"$dir/export.err"; then
		fail "export chose a workspace among several candidates"
	fi
	cat "$dir/export.err"
	grep -q "give --workspace RESOURCE_ID" "$dir/export.err" || fail "no --workspace hint"
	[ "$(grep -c '^  /subscriptions/.*/workspaces/' "$dir/export.err")" -ge 2 ] ||
		fail "the candidates are not listed"
	[ ! -e "$dir/export.yaml" ] || fail "a file was written"
	echo "ambiguous workspace refused"
	exit 0
fi
"$mdcctl" export ${EXPORT_ARGS:-} -o "$dir/export.yaml" 2>"$dir/export.err" ||
	fail "export exited $?: $(cat "$dir/export.err")"
cat "$dir/export.err"
head -c 2000 "$dir/export.yaml"
echo "..."
grep -q '^# yaml-language-server: \$schema=' "$dir/export.yaml" || fail "no \$schema comment"
grep -q '^# Exported by mdcctl export at ' "$dir/export.yaml" || fail "no header comment"
grep -q '^  unselected: ignore$' "$dir/export.yaml" || fail "unselected is not ignore"
# No secret of the emulator's principals may reach the file or stderr.
if [ -n "${AZURE_CLIENT_SECRET:-}" ] &&
	grep -qF "$AZURE_CLIENT_SECRET" "$dir/export.yaml" "$dir/export.err"; then
	fail "the client secret leaked into the output"
fi
"$mdcctl" validate -f "$dir/export.yaml" >/dev/null 2>"$dir/validate.err" ||
	fail "validate: $(cat "$dir/validate.err")"

excluded=$(grep -c '^mdcctl export: warning: subscription .* is excluded' "$dir/export.err" || true)
comments=$(grep -c '^    - { id: [0-9a-f-]* }$' "$dir/export.yaml" || true)
case ${EXPECT_EXCLUDED:-} in
"") ;;
some) [ "$excluded" -gt 0 ] || fail "expected excluded subscriptions, got none" ;;
*) [ "$excluded" -eq "$EXPECT_EXCLUDED" ] || fail "expected $EXPECT_EXCLUDED excluded, got $excluded" ;;
esac
# Every exclusion is in the file as an exclude entry under a comment saying why.
[ "$excluded" -le "$comments" ] || fail "$excluded exclusions on stderr, $comments in the file"

set +e
"$mdcctl" plan -f "$dir/export.yaml" --detailed-exitcode >"$dir/plan.txt" 2>"$dir/plan.err"
rc=$?
set -e
if [ $rc -ne 0 ]; then
	cat "$dir/plan.txt" "$dir/plan.err" >&2
	fail "plan of the exported file exited $rc (want 0: no changes)"
fi
if [ "${INEXACT:-}" = 1 ]; then
	for want in "$a|is excluded: it is connected but no Defender plan" \
		"$b|is excluded: its AzureSecurityCenter connector has alerts not Enabled" \
		"$c|is excluded: it could not be read"; do
		grep -F "'${want%%|*}'" "$dir/export.err" | grep -qF "${want#*|}" ||
			fail "stderr does not say: $want"
	done
	for id in "$a" "$b" "$c"; do
		grep -q "^    - { id: $id }$" "$dir/export.yaml" || fail "$id is not excluded in the file"
	done
	grep -q "^    # it is connected but no Defender plan" "$dir/export.yaml" ||
		fail "no comment for the connected subscription without a Standard plan"
fi
tail -1 "$dir/plan.txt"
echo "round trip ok: $excluded excluded"
