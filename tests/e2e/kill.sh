#!/bin/bash
# kill -9 in the middle of apply (slowed by --latency-ms), then a new apply: the lock is
# free again, Azure converges, and no subscription has two connectors (connector names
# are deterministic; existing ones are matched by kind + subscriptionId).
#   kill.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
gen_tenant 24 13
start_emu --latency-ms 150
write_cfg "$tmp/cfg.yaml"

"$mdcctl" apply -f "$tmp/cfg.yaml" --auto-approve --poll-interval 0.2 >"$tmp/k.out" 2>&1 </dev/null &
pid=$!
# Wait (bounded) until connector creates have reached the emulator.
for _ in $(seq 150); do
	n=$(admin GET requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["value"] if r["method"] == "PUT" and "/dataConnectors/" in r["path"]))')
	[ "$n" -ge 2 ] && break
	sleep 0.2
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
echo "killed after $n connector PUTs"
[ "$n" -ge 2 ] && ok "killed in the middle of apply" || bad "killed in the middle" "only $n connector PUTs"

run plan -f "$tmp/cfg.yaml" --detailed-exitcode
[ "$rc" = 2 ] && ok "work was left undone" || bad "work was left undone" "plan exit $rc"

run apply -f "$tmp/cfg.yaml" --auto-approve --poll-interval 0.2 --resume-file "$tmp/resume.json"
if [ "$rc" = 0 ]; then ok "a new apply converges ($(grep '^Apply:' "$tmp/out"))"; else bad "new apply" "exit $rc"; show; fi
run plan -f "$tmp/cfg.yaml" --detailed-exitcode
[ "$rc" = 0 ] && ok "second plan is empty" || { bad "second plan is empty" "exit $rc"; show; }
m=$(max_asc_per_sub)
[ "$m" = 1 ] && ok "no duplicate connector" || bad "no duplicate connector" "max $m per subscription"
finish
