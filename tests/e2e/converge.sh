#!/bin/bash
# apply converges a generated tenant: every selected subscription connected, plans set,
# sync on, provider registered where it was not; the second plan is empty; no twin
# connectors; a second apply has nothing to do.
#   converge.sh BUILD_DIR SUBSCRIPTIONS SEED
. "$(dirname "$0")/lib.sh" "$1"
n=$2 seed=$3
gen_tenant "$n" "$seed"
start_emu --register-polls 2
write_cfg "$tmp/cfg.yaml"

run plan -f "$tmp/cfg.yaml" --detailed-exitcode
if [ "$rc" = 2 ] && grep -q 'to add' "$tmp/out"; then ok "plan has changes"; else bad "plan has changes" "exit $rc"; show; fi
grep -q 'register' "$tmp/out" && ok "plan registers a provider" || bad "plan registers a provider" "no register item"

run apply -f "$tmp/cfg.yaml" --auto-approve --poll-interval 0.2 --resume-file "$tmp/resume.json"
if [ "$rc" = 0 ] && grep -q '^Apply: .* 0 failed, 0 skipped' "$tmp/out"; then
	ok "apply converges ($(grep '^Apply:' "$tmp/out"))"
else
	bad "apply converges" "exit $rc"; show
fi
[ ! -e "$tmp/resume.json" ] && ok "no resume file on success" || bad "no resume file on success" "written"
grep -q 'applied   sub/.*/provider/Microsoft.SecurityInsights (register)' "$tmp/out" &&
	ok "provider registration polled to Registered" || bad "provider registration" "no applied register line"

run plan -f "$tmp/cfg.yaml" --detailed-exitcode
if [ "$rc" = 0 ] && grep -q 'Plan: 0 to add, 0 to change, 0 to remove, 0 blocked.' "$tmp/out"; then
	ok "second plan is empty"
else
	bad "second plan is empty" "exit $rc"; show 60
fi

m=$(max_asc_per_sub)
[ "$m" = 1 ] && ok "one connector per subscription" || bad "one connector per subscription" "max $m"

# Every selected, enabled subscription is connected with alerts Enabled.
missing=$(state_py '
subs = [s for s in d["subscriptions"] if s.get("state", "Enabled") == "Enabled"]
con = {x["properties"]["subscriptionId"].lower() for w in d["workspaces"] for x in w.get("dataConnectors", []) if x.get("kind") == "AzureSecurityCenter" and x["properties"].get("dataTypes", {}).get("alerts", {}).get("state") == "Enabled"}
print(sum(1 for s in subs if s["subscriptionId"].lower() not in con))')
[ "$missing" = 0 ] && ok "every enabled subscription connected" || bad "every enabled subscription connected" "$missing missing"

run apply -f "$tmp/cfg.yaml" --auto-approve
if [ "$rc" = 0 ] && grep -q 'Nothing to apply' "$tmp/out"; then ok "second apply has nothing to do"; else bad "second apply" "exit $rc"; show; fi
finish
