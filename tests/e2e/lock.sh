#!/bin/bash
# One apply per workspace per machine: a second apply (from a config or a saved plan)
# fails naming the holder; once the holder is gone, apply runs again.
#   lock.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
gen_tenant 12 17
start_emu --latency-ms 200
write_cfg "$tmp/cfg.yaml"
run plan -f "$tmp/cfg.yaml" -o "$tmp/saved.json"

# The holder's command line carries a credentialed URL (an unused --git-cache here), which
# the lock file and the refusal message must show without its password.
"$mdcctl" apply -f "$tmp/cfg.yaml" --auto-approve --poll-interval 0.2 \
	--git-cache "https://ci:s3cr3t@cache.invalid/x" >"$tmp/h.out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 100); do
	f=$(ls "$XDG_RUNTIME_DIR"/mdcctl/apply-*.lock 2>/dev/null | head -1)
	[ -n "$f" ] && [ -s "$f" ] && break
	sleep 0.1
done
[ -n "$f" ] && grep -q "^pid $pid on .* since .*, command: mdcctl apply -f" "$f" &&
	ok "lock file names pid, host, time, command" || bad "lock file" "$(cat "$f" 2>/dev/null)"

grep -q "s3cr3t" "$f" && bad "lock file" "holds the URL's password" ||
	{ grep -q "https://cache.invalid/x" "$f" && ok "lock file shows the URL without its password" ||
		bad "lock file" "$(cat "$f")"; }
run apply -f "$tmp/cfg.yaml" --auto-approve
grep -q "s3cr3t" "$tmp/err" && bad "refusal" "shows the holder's URL password"
if [ "$rc" = 1 ] && grep -q "is locked by another apply: pid $pid on " "$tmp/err"; then
	ok "second apply refused, naming the holder"
else
	bad "second apply refused" "exit $rc"; show
fi
run apply "$tmp/saved.json"
[ "$rc" = 1 ] && grep -q "locked by another apply: pid $pid" "$tmp/err" && ok "saved plan refused too" || { bad "saved plan refused" "exit $rc"; show; }
kill -0 "$pid" 2>/dev/null && ok "holder still running while refused" || bad "holder running" "it finished too early"

wait "$pid"
hrc=$?
[ "$hrc" = 0 ] && ok "holder finished" || { bad "holder finished" "exit $hrc"; tail "$tmp/h.out"; }
run apply -f "$tmp/cfg.yaml" --auto-approve
[ "$rc" = 0 ] && ok "lock released at exit" || { bad "lock released" "exit $rc"; show; }
finish
