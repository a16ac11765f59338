#!/bin/sh
# mdcctl drift against a private mdcemu: exit codes 0/2/1, GET-only traffic, --ignore,
# drift vs pending (--last-plan, --since-commit), --verify-ingest, --notify.
# usage: run_drift.sh MDCCTL MDCEMU
MDCCTL=$1 MDCEMU=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
A=0a1b2c3d-0000-4000-8000-00000000000a
B=0a1b2c3d-0000-4000-8000-00000000000b
C=0a1b2c3d-0000-4000-8000-00000000000c
start_emu "$here/tenant.json"
cfg=$here/converged.yaml

drift() { "$MDCCTL" drift "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; echo $? >"$tmp/rc"; }
rc() { cat "$tmp/rc"; }
jqo() { jq -e "$@" "$tmp/out" >/dev/null; }

# 1. converged: exit 0, and only GETs (plus the token POST) reached the emulator
emu_admin POST /_emulator/reset >/dev/null
drift -f "$cfg"
check "converged exits 0" [ "$(rc)" = 0 ]
check "converged text says 0 drifted" grep -q '^Drift: 0 drifted, 0 pending, 0 unreadable, 0 ignored.$' "$tmp/out"
emu_admin GET /_emulator/requests >"$tmp/log"
check "requests were logged" jq -e '.count > 5' "$tmp/log"
check "only GETs and the token POST" jq -e '[.value[] | select(.method != "GET" and
	((.method == "POST" and (.path == "/batch" or (.path | test("/oauth2/v2.0/token$")))) | not))] | length == 0' "$tmp/log"
check "reads travelled in ARM /batch requests" jq -e '[.value[] | select(.path == "/batch")] | length > 0' "$tmp/log"
emu_admin POST /_emulator/reset >/dev/null
drift -f "$cfg" --no-arm-batch
emu_admin GET /_emulator/requests >"$tmp/log"
check "--no-arm-batch: the same answer with single GETs only" sh -c "[ $(rc) = 0 ] &&
	jq -e '([.value[] | select(.path == \"/batch\")] | length == 0) and .count > 5' '$tmp/log' >/dev/null"
emu_admin POST /_emulator/reset >/dev/null
MDCCTL_ARM_BATCH=0 drift -f "$cfg"
emu_admin GET /_emulator/requests >"$tmp/log"
check "MDCCTL_ARM_BATCH=0: no /batch either" jq -e '[.value[] | select(.path == "/batch")] | length == 0' "$tmp/log"

# 2. drift out of band: Prod-B VirtualMachines set to Free in the portal -> exit 2
set_pricing $B VirtualMachines Free
emu_admin POST /_emulator/reset >/dev/null
drift -f "$cfg" --format json
check "drift exits 2" [ "$(rc)" = 2 ]
check "json lists the one drifted item" jqo '.format_version == 1 and (.drift | length) == 1 and
	.drift[0].id == "sub/'$B'/pricing/VirtualMachines" and .counts.drift == 1 and
	(.pending | length) == 0 and .ignored == 0 and .baseline == null'
emu_admin GET /_emulator/requests >"$tmp/log"
check "drift with changes still sent only GETs" jq -e '[.value[] | select(.method != "GET" and
	((.method == "POST" and (.path == "/batch" or (.path | test("/oauth2/v2.0/token$")))) | not))] | length == 0' "$tmp/log"
drift -f "$cfg" --format markdown
check "markdown exits 2 and names the item" sh -c "[ $(rc) = 2 ] && grep -q '^### mdcctl drift' '$tmp/out' && grep -q 'VirtualMachines' '$tmp/out'"

# 3. --ignore
drift -f "$cfg" --ignore 'sub/*/pricing/virtualmachines' --format json
check "--ignore (case-insensitive glob) exits 0" [ "$(rc)" = 0 ]
check "--ignore counts the item" jqo '.ignored == 1 and (.drift | length) == 0'
drift -f "$cfg" --ignore 'workspace/*' --format json
check "an unrelated --ignore keeps the drift" sh -c "[ $(rc) = 2 ]"

# 4. errors are 1, never 2: an unreachable ARM endpoint (nothing listens on port 9)
drift -f "$cfg" --arm-endpoint https://127.0.0.1:9
check "unreachable endpoint exits 1" [ "$(rc)" = 1 ]
check "unreachable endpoint says why" grep -q 'mdcctl: error:' "$tmp/err"
drift -f "$here/does-not-exist.yaml"
check "missing file exits 1" [ "$(rc)" = 1 ]
drift -f "$cfg" --format xml
check "bad format is a usage error (64)" [ "$(rc)" = 64 ]
drift -f "$cfg" --since-commit abc --last-plan x
check "--since-commit with --last-plan is a usage error" [ "$(rc)" = 64 ]

# 5. drift vs pending: the config in git gains KeyVaults Standard after the last plan
repo=$tmp/repo
git_repo "$repo" "$cfg"
c1=$(git -C "$repo" rev-parse HEAD)
set_pricing $B VirtualMachines Standard P2  # converge again, then save the "last applied" plan
"$MDCCTL" plan --git "$repo" --git-path cfg.yaml -o "$tmp/last.json" >/dev/null 2>"$tmp/err"
check "plan -o saved the baseline with its commit" jq -e --arg c "$c1" '.git_commit == $c' "$tmp/last.json"
git_commit_file "$repo" "$here/keyvaults.yaml" "KeyVaults Standard"
set_pricing $B VirtualMachines Free       # and someone changes Azure as well
drift --git "$repo" --git-path cfg.yaml --last-plan "$tmp/last.json" --format json
check "--last-plan: exit 2 (drift)" [ "$(rc)" = 2 ]
check "--last-plan: one drift, three pending" jqo '(.drift | map(.id)) == ["sub/'$B'/pricing/VirtualMachines"] and
	(.pending | map(.id) | sort) == ["sub/'$A'/pricing/KeyVaults","sub/'$B'/pricing/KeyVaults","sub/'$C'/pricing/KeyVaults"] and
	.baseline.kind == "last-plan" and .baseline.git_commit == "'$c1'"'
drift -f "$repo/cfg.yaml" --since-commit "$c1" --format json
check "--since-commit on a work tree: same split" jqo '(.drift | length) == 1 and (.pending | length) == 3 and .baseline.kind == "commit"'
set_pricing $B VirtualMachines Standard P2
drift --git "$repo" --git-path cfg.yaml --last-plan "$tmp/last.json" --format text
check "pending only: exit 0" [ "$(rc)" = 0 ]
check "pending only: the text says so" grep -q '^Drift: 0 drifted, 3 pending, 0 unreadable, 0 ignored.$' "$tmp/out"
drift -f "$cfg" --last-plan "$tmp/last.json" --format json
check "same digest as the last plan: nothing pending" sh -c "[ $(rc) = 0 ] && jq -e '(.pending|length) == 0' '$tmp/out' >/dev/null"
jq '.git_commit = null' "$tmp/last.json" >"$tmp/nocommit.json"
drift -f "$here/keyvaults.yaml" --last-plan "$tmp/nocommit.json"
check "changed config without a commit to compare: exit 1" sh -c "[ $(rc) = 1 ] && grep -q 'cannot tell pending changes from drift' '$tmp/err'"

# 6. --verify-ingest: Prod-C's only alert is 400 h old, another product's does not count
drift -f "$cfg" --verify-ingest --loganalytics-endpoint "$EMU" --format json
check "--verify-ingest: a silent subscription exits 2" [ "$(rc)" = 2 ]
check "--verify-ingest: Prod-C is silent, A and B are not" jqo '.ingest.silent == ["'$C'"] and .ingest.days == 7 and
	.ingest.workspace_id == "6a1d1f4e-0000-4000-8000-00000000c0de" and
	([.ingest.connected[] | select(.alerts > 0) | .subscription] | sort) == ["'$A'","'$B'"]'
drift -f "$cfg" --verify-ingest=30 --loganalytics-endpoint "$EMU" --format json
check "--verify-ingest=30: 400 h old alert is inside the window" sh -c "[ $(rc) = 0 ] && jq -e '.ingest.silent == []' '$tmp/out' >/dev/null"
MDCCTL_LOGANALYTICS_ENDPOINT=$EMU drift -f "$cfg" --verify-ingest --ignore 'ingest/*'
check "--ignore 'ingest/*' exits 0" [ "$(rc)" = 0 ]
emu_admin GET /_emulator/requests >"$tmp/log"
check "the Log Analytics query was a POST to /v1/workspaces/{customerId}/query" jq -e '[.value[] |
	select(.method == "POST" and .path == "/v1/workspaces/6a1d1f4e-0000-4000-8000-00000000c0de/query" and .status == 200)] | length >= 1' "$tmp/log"
# the emulator's Log Analytics route itself: audience and query shape
token() {
	curl -sS --max-time 10 --cacert "$MDCCTL_CA_FILE" --data-urlencode "client_id=$AZURE_CLIENT_ID" \
		--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" --data-urlencode "scope=$1/.default" \
		--data-urlencode grant_type=client_credentials "$EMU/$AZURE_TENANT_ID/oauth2/v2.0/token" |
		jq -r .access_token
}
la() { # TOKEN BODY -> status code, body in $tmp/la
	curl -sS --max-time 10 --cacert "$MDCCTL_CA_FILE" -o "$tmp/la" -w '%{http_code}' \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data "$2" \
		"$EMU/v1/workspaces/6a1d1f4e-0000-4000-8000-00000000c0de/query"
}
q='{"query":"SecurityAlert | where ProductName == \"Azure Security Center\" | summarize LastSeen=max(TimeGenerated), N=count() by SubscriptionId = tostring(split(ResourceId, '"'/'"')[2])","timespan":"P1D"}'
check "LA route: an ARM-audience token is refused" [ "$(la "$(token https://management.azure.com)" "$q")" = 401 ]
latok=$(token https://api.loganalytics.io)
check "LA route: a Log Analytics token is accepted" [ "$(la "$latok" "$q")" = 200 ]
check "LA route: tables/columns/rows as in reference §11, P1D keeps only Prod-A" jq -e '.tables[0].name == "PrimaryResult" and
	(.tables[0].columns | map(.name)) == ["LastSeen","N","SubscriptionId"] and
	(.tables[0].columns | map(.type)) == ["datetime","long","string"] and
	(.tables[0].rows | length) == 1 and .tables[0].rows[0][1] == 1 and .tables[0].rows[0][2] == "'$A'"' "$tmp/la"
st=$(la "$latok" '{"query":"Heartbeat | take 1"}')
check "LA route: another query is 400 BadArgumentError" sh -c "[ $st = 400 ] && jq -e '.error.code == \"BadArgumentError\"' '$tmp/la'"
drift -f "$cfg" --verify-ingest --loganalytics-endpoint https://127.0.0.1:9
check "--verify-ingest with Log Analytics unreachable exits 1" [ "$(rc)" = 1 ]

# 7. --notify: one POST with the counts when drift is found; failures keep the exit code
"${PYTHON3:-python3}" "$here/webhook.py" "$tmp/hook" 200 &
extra_pids=$!
i=0; while [ ! -s "$tmp/hook.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
hook=http://127.0.0.1:$(cat "$tmp/hook.port")/hooks/T000/B000/s3cr3tHookPath
drift -f "$cfg" --notify "$hook"
check "--notify without drift: exit 0, nothing posted" sh -c "[ $(rc) = 0 ] && [ ! -s '$tmp/hook.bodies' ]"
set_pricing $A VirtualMachines Free
drift -f "$cfg" --notify "$hook"
check "--notify with drift: exit 2" [ "$(rc)" = 2 ]
check "--notify posted exactly once" [ "$(wc -l <"$tmp/hook.bodies")" = 1 ]
check "--notify body: counts, tenant, items" jq -e '.drift == 1 and .pending == 0 and
	.tenant == "72f988bf-86f1-41af-91ab-2d7cd011db47" and .items == ["sub/'$A'/pricing/VirtualMachines"] and
	(.text | test("1 drifted"))' "$tmp/hook.bodies"
kill $extra_pids 2>/dev/null; wait $extra_pids 2>/dev/null
"${PYTHON3:-python3}" "$here/webhook.py" "$tmp/hook500" 500 &
extra_pids=$!
i=0; while [ ! -s "$tmp/hook500.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
drift -f "$cfg" --notify "http://127.0.0.1:$(cat "$tmp/hook500.port")/hooks/s3cr3tHookPath"
check "a failing webhook (500) keeps exit 2" [ "$(rc)" = 2 ]
check "a failing webhook is reported" grep -q 'cannot notify' "$tmp/err"
check "the webhook's secret path is never printed" sh -c "! grep -q s3cr3t '$tmp/err' '$tmp/out'"
drift -f "$cfg" --notify "http://127.0.0.1:9/hooks/s3cr3tHookPath"
check "an unreachable webhook keeps exit 2" sh -c "[ $(rc) = 2 ] && grep -q 'cannot notify' '$tmp/err' && ! grep -q s3cr3t '$tmp/err'"
check "secrets never printed" sh -c "! grep -rq drift-test-secret '$tmp/out' '$tmp/err'"
finish
