#!/bin/bash
# ARM behaviours apply must handle, each forced with the emulator's targeted faults:
# pricing 409 Conflict (wait and PUT again), a stale etag on a Sentinel write (re-read,
# re-plan the item, PUT again; twice = failure), a failed extension operationStatus
# (HTTP 200 but the item fails), a 403 on one subscription's write (the others applied,
# dependents skipped, resume file), and the resume finishing the job.
#   targeted.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
gen_tenant 12 21
opts="--poll-interval 0.2 --conflict-wait 0.2 --resume-file $tmp/resume.json"

# first_item KIND ACTION FIELD: a field ("resource", "id", "subscription") of the first
# item of the saved plan $tmp/saved.json that applies.
first_item() {
	python3 - "$tmp/saved.json" "$1" "$2" "$3" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for i in p["items"]:
    if i["kind"] == sys.argv[2] and i["action"] == sys.argv[3] and i["request"] and not i["blocked"]:
        print(i[sys.argv[4]]); break
PY
}

fresh_emu() {
	stop_emu
	start_emu "$@"
	write_cfg "$tmp/cfg.yaml" "" "${vm:-}"
	run plan -f "$tmp/cfg.yaml" -o "$tmp/saved.json"
	rm -f "$tmp/resume.json"
}

# 1. Pricing 409 Conflict: waits and PUTs again.
fresh_emu
admin POST faults '{"pathRegex": "/pricings/", "method": "PUT", "status": 409, "count": 2}' >/dev/null
run apply -f "$tmp/cfg.yaml" --auto-approve $opts
if [ "$rc" = 0 ] && grep -q 'retrying .*409 Conflict: another pricing update is in progress' "$tmp/out"; then
	ok "pricing 409: waited and retried"
else
	bad "pricing 409" "exit $rc"; show
fi

# 2. A stale etag on a Sentinel write, once: re-read, re-planned, applied.
fresh_emu
conn=$(first_item connector create resource)
admin POST faults "{\"path\": \"$conn\", \"method\": \"PUT\", \"status\": 409, \"count\": 1}" >/dev/null
run apply -f "$tmp/cfg.yaml" --auto-approve $opts
if [ "$rc" = 0 ] && grep -q 'retrying .*409 Conflict (stale etag): re-reading the object' "$tmp/out"; then
	ok "stale etag once: re-read and applied"
else
	bad "stale etag once" "exit $rc"; show
fi
gets=$(admin GET requests | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['value'] if r['method'] == 'GET' and r['path'] == '$conn'))")
[ "$gets" -ge 1 ] && ok "the object was re-read (GET)" || bad "the object was re-read" "no GET of $conn"

# 3. Twice: the item fails, what depends on it is skipped, the rest is applied; resume.
fresh_emu
conn=$(first_item connector create resource)
conn_id=$(first_item connector create id)
conn_sub=$(first_item connector create subscription)
admin POST faults "{\"path\": \"$conn\", \"method\": \"PUT\", \"status\": 409, \"count\": 2}" >/dev/null
run apply -f "$tmp/cfg.yaml" --auto-approve $opts
if [ "$rc" = 1 ] && grep -qF "failed    $conn_id (create): 409 Conflict again after re-reading the object" "$tmp/out"; then
	ok "stale etag twice: the item fails"
else
	bad "stale etag twice" "exit $rc"; show
fi
grep -qF "skipped   sub/$conn_sub/sync (update): skipped: $conn_id failed" "$tmp/out" &&
	ok "its dependent is skipped, naming it" || { bad "dependent skipped" "no skip line"; show; }
grep -q '^Apply: [1-9][0-9]* applied, 0 unchanged, 1 failed, 1 skipped' "$tmp/out" &&
	ok "the other items are applied" || { bad "others applied" "$(grep '^Apply' "$tmp/out")"; }
grep -q "^    failed: $conn_id" "$tmp/out" && ok "the subscription's row names the failure" || bad "table failure" "no row"
[ -s "$tmp/resume.json" ] && ok "resume file written" || bad "resume file written" "missing"
run apply "$tmp/resume.json" $opts
if [ "$rc" = 0 ] && grep -q '^Apply: 2 applied, 0 unchanged, 0 failed, 0 skipped' "$tmp/out"; then
	ok "resume applies only what was left"
else
	bad "resume" "exit $rc"; show
fi
run plan -f "$tmp/cfg.yaml" --detailed-exitcode
[ "$rc" = 0 ] && ok "converged after resume" || { bad "converged after resume" "exit $rc"; show; }

# 4. 403 on one subscription's pricing write: that subscription fails, others applied.
fresh_emu
psub=$(first_item pricing update subscription)
admin POST faults "{\"path\": \"/subscriptions/$psub/providers/Microsoft.Security/pricings/\", \"method\": \"PUT\", \"status\": 403, \"count\": -1, \"body\": {\"error\": {\"code\": \"AuthorizationFailed\", \"message\": \"The client does not have authorization to perform action 'Microsoft.Security/pricings/write'.\"}}}" >/dev/null
run apply -f "$tmp/cfg.yaml" --auto-approve $opts
if [ "$rc" = 1 ] && grep -q "^  failed    sub/$psub/pricing/.*403.*AuthorizationFailed" "$tmp/out"; then
	ok "403: the item fails with the ARM code"
else
	bad "403" "exit $rc"; show
fi
others=$(grep -c "^  applied   sub/" "$tmp/out")
grep "^  applied   sub/$psub" "$tmp/out" | grep -q pricing && bad "403 sub" "a pricing of $psub applied"
[ "$others" -gt 5 ] && ok "other subscriptions applied ($others items)" || bad "others applied" "$others"
admin DELETE faults >/dev/null

# 5. Someone else connects a subscription between plan and apply: the create becomes
#    "already connected" (matched by kind + subscriptionId, never by name), no twin.
fresh_emu
conn_id=$(first_item connector create id)
conn_sub=$(first_item connector create subscription)
ws=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["workspace"])' "$tmp/saved.json")
admin POST object "{\"path\": \"$ws/providers/Microsoft.SecurityInsights/dataConnectors/someone-else\", \"body\": {\"kind\": \"AzureSecurityCenter\", \"properties\": {\"subscriptionId\": \"$conn_sub\", \"dataTypes\": {\"alerts\": {\"state\": \"Enabled\"}}}}}" >/dev/null
run apply "$tmp/saved.json" $opts
if [ "$rc" = 0 ] && grep -qF "unchanged $conn_id (create): connector 'someone-else' already connects the subscription" "$tmp/out"; then
	ok "an existing connector of the subscription is adopted, not twinned"
else
	bad "existing connector adopted" "exit $rc"; show
fi
m=$(max_asc_per_sub)
[ "$m" = 1 ] && ok "no twin after a concurrent create" || bad "no twin" "max $m"

# 6. A registration that never finishes: bounded, a failure naming the state.
fresh_emu --register-polls 100000
reg=$(first_item provider register id)
run apply -f "$tmp/cfg.yaml" --auto-approve $opts --register-timeout 1
if [ "$rc" = 1 ] && grep -qF "failed    $reg (register): Microsoft.SecurityInsights still Registering after 1 s" "$tmp/out"; then
	ok "registration bounded: still Registering is a failure"
else
	bad "registration bound" "exit $rc"; show
fi

# 7. A Failed extension operationStatus in a 200 answer fails the item.
vm="{tier: Standard, subPlan: P2, extensions: {AgentlessVmScanning: true}}"
fresh_emu
esub=$(first_item pricing update subscription)
admin POST object "{\"path\": \"/subscriptions/$esub\", \"body\": {\"failingExtensions\": [\"AgentlessVmScanning\"]}}" >/dev/null
run apply -f "$tmp/cfg.yaml" --auto-approve $opts
if [ "$rc" = 1 ] && grep -q "^  failed    sub/$esub/pricing/VirtualMachines.*extension 'AgentlessVmScanning' failed: Failed assigning roles" "$tmp/out"; then
	ok "failed extension reported per item"
else
	bad "failed extension" "exit $rc"; show
fi
vm=
finish
