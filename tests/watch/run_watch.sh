#!/bin/sh
# mdcctl watch against a private mdcemu and a local git repository: one JSON line per
# cycle, a commit between cycles changes the plan, report-only watches only read, --apply
# converges, backoff when the git remote is down, SIGTERM exits 0 promptly.
# usage: run_watch.sh MDCCTL MDCEMU
MDCCTL=$1 MDCEMU=$2
here=$(cd "$(dirname "$0")/../drift" && pwd)
. "$here/lib.sh"
start_emu "$here/tenant.json"
repo=$tmp/repo
git_repo "$repo" "$here/converged.yaml"
c1=$(git -C "$repo" rev-parse HEAD)

# wait_lines FILE N SECONDS: until FILE has N lines (bounded)
wait_lines() {
	i=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ] && [ $i -lt $(($3 * 10)) ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]
}
# wait_exit PID SECONDS: until PID exits (bounded); its status in $wrc
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; wrc=timeout; return 1; fi
	wait "$1"; wrc=$?
}

# 1. two cycles, a commit in between (report only)
emu_admin POST /_emulator/reset >/dev/null
"$MDCCTL" watch --git "$repo" --git-path cfg.yaml --interval 1s >"$tmp/w.out" 2>"$tmp/w.err" &
wpid=$!
check "first cycle line" wait_lines "$tmp/w.out" 1 30
check "first cycle: commit c1, no changes, no error" jq -e --arg c "$c1" 'select(input_line_number == 1) |
	.commit == $c and .changes == 0 and .blocked == 0 and .applied == 0 and .failed == 0 and
	.error == null and (.duration_ms | type) == "number" and (.time | test("^[0-9-]+T[0-9:]+Z$"))' "$tmp/w.out"
git_commit_file "$repo" "$here/keyvaults.yaml" "KeyVaults Standard"
c2=$(git -C "$repo" rev-parse HEAD)
i=0
while ! grep -q "$c2" "$tmp/w.out" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "a later cycle sees commit c2 with three changes, applies nothing" sh -c \
	"grep '$c2' '$tmp/w.out' | head -1 | jq -e '.changes == 3 and .applied == 0 and .error == null' >/dev/null"
check "every line is one JSON object" jq -e -s 'length >= 2 and all(.[]; has("time") and has("commit") and
	has("changes") and has("blocked") and has("applied") and has("failed") and has("duration_ms") and has("error"))' "$tmp/w.out"
kill -TERM $wpid
check "SIGTERM: exit 0 within 15 s" wait_exit $wpid 15
check "SIGTERM: status 0" [ "$wrc" = 0 ]
emu_admin GET /_emulator/requests >"$tmp/log"
check "report-only watch sent only GETs (and the token POST)" jq -e '[.value[] | select(.method != "GET" and
	((.method == "POST" and (.path == "/batch" or (.path | test("/oauth2/v2.0/token$")))) | not))] | length == 0' "$tmp/log"

# 2. --apply --once converges; drift then finds nothing
"$MDCCTL" watch --git "$repo" --git-path cfg.yaml --apply --once >"$tmp/a.out" 2>"$tmp/a.err"
arc=$?
check "--apply --once exits 0" [ "$arc" = 0 ]
check "--apply applied the three changes" jq -e '.changes == 3 and .applied == 3 and .failed == 0 and .error == null' "$tmp/a.out"
"$MDCCTL" drift --git "$repo" --git-path cfg.yaml >/dev/null 2>&1
check "after watch --apply, drift exits 0" [ $? = 0 ]

# 3. the git remote is down: errors, and the waits grow (1 s interval -> 2 s, 4 s, ...)
"$MDCCTL" watch --git "$tmp/no-such-repo" --git-path cfg.yaml --interval 1s >"$tmp/b.out" 2>"$tmp/b.err" &
bpid=$!
sleep 5
kill -TERM $bpid
wait_exit $bpid 15
check "remote down: exit 0 on SIGTERM" [ "$wrc" = 0 ]
n=$(wc -l <"$tmp/b.out")
check "remote down: every line carries the error" jq -e -s 'length >= 1 and all(.[]; .error != null and .commit == null)' "$tmp/b.out"
check "remote down: backed off (2 or 3 cycles in 5 s, not 5)" [ "$n" -ge 2 ] && [ "$n" -le 3 ]

# 4. SIGINT while sleeping a long interval ends at once
"$MDCCTL" watch -f "$here/converged.yaml" --interval 1h >"$tmp/c.out" 2>"$tmp/c.err" &
cpid=$!
wait_lines "$tmp/c.out" 1 30
kill -INT $cpid
check "SIGINT during a 1 h wait: exit within 5 s" wait_exit $cpid 5
check "SIGINT: status 0" [ "$wrc" = 0 ]
check "a file source has commit null" jq -e '.commit == null and .changes == 0' "$tmp/c.out"

# 5. usage
"$MDCCTL" watch -f "$here/converged.yaml" >/dev/null 2>&1
check "no --interval is a usage error" [ $? = 64 ]
"$MDCCTL" watch -f "$here/converged.yaml" --interval 10x >/dev/null 2>&1
check "a bad duration is a usage error" [ $? = 64 ]
finish
