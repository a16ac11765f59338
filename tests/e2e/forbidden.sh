#!/bin/bash
# A principal without write access on one subscription (Reader there, Owner elsewhere):
# the plan shows that subscription blocked with the missing permission, apply leaves it
# alone (no write is even tried) and applies the others.
#   forbidden.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
gen_tenant 12 31
victim=$(python3 - "$tmp/state.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
me = d["principals"][0]["objectId"]
ws = d["workspaces"][0]["subscriptionId"]
subs = [s["subscriptionId"] for s in d["subscriptions"] if s.get("state", "Enabled") == "Enabled"]
victim = next(s for s in subs if s != ws)
root = next(a["scope"] for a in d["roleAssignments"] if a["principalId"] == me)
d["roleAssignments"] = [a for a in d["roleAssignments"] if a["principalId"] != me]
d["roleAssignments"].append({"principalId": me, "roleDefinitionName": "Reader", "scope": root})
for s in subs:
    if s != victim:
        d["roleAssignments"].append({"principalId": me, "roleDefinitionName": "Owner", "scope": "/subscriptions/" + s})
json.dump(d, open(p, "w"))
print(victim)
PY
)
start_emu
write_cfg "$tmp/cfg.yaml"

run plan -f "$tmp/cfg.yaml" --detailed-exitcode
if [ "$rc" = 2 ] && grep -q "missing permission 'Microsoft.Security/pricings/write' on the subscription" "$tmp/out"; then
	ok "plan shows the subscription blocked with the missing permission"
else
	bad "plan blocked" "exit $rc"; show 60
fi

run apply -f "$tmp/cfg.yaml" --auto-approve --poll-interval 0.2 --resume-file "$tmp/resume.json"
if grep -q '^Apply: [1-9][0-9]* applied, .* 0 failed, 0 skipped, [1-9][0-9]* blocked' "$tmp/out"; then
	ok "apply applies the others ($(grep '^Apply:' "$tmp/out"))"
else
	bad "apply others" "exit $rc"; show
fi
# Not converged while the blocked items remain: exit 1, said once, and no resume file
# (nothing was attempted that a second run could finish).
if [ "$rc" = 1 ] && grep -q '^mdcctl: error: [1-9][0-9]* items are blocked (listed above)' "$tmp/err" &&
	[ ! -e "$tmp/resume.json" ]; then
	ok "blocked items left: exit 1, no resume file"
else
	bad "blocked exit" "exit $rc"; cat "$tmp/err"
fi
grep -q "($victim) .* [1-9][0-9]*\$" "$tmp/out" && ok "the table counts its blocked items" || { bad "table" "no blocked row for $victim"; show; }
writes=$(admin GET requests | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['value'] if r['method'] != 'GET' and r['path'].startswith('/subscriptions/$victim/')))")
[ "$writes" = 0 ] && ok "no write tried on the blocked subscription" || bad "no write on blocked" "$writes"
forb=$(admin GET requests | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['value'] if r['status'] == 403))")
[ "$forb" = 0 ] && ok "no 403 answered" || bad "no 403" "$forb"

run plan -f "$tmp/cfg.yaml"
if grep -q 'Plan: 0 to add, 0 to change, 0 to remove, [1-9][0-9]* blocked.' "$tmp/out"; then
	ok "only the blocked subscription is left"
else
	bad "only blocked left" "$(grep '^Plan:' "$tmp/out")"; show 40
fi
finish
