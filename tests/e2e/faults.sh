#!/bin/bash
# Under 10% injected faults (429, 500, 503, resets, slow bodies) apply converges in one
# run or, at worst, ends with a resume file that `mdcctl apply RESUMEFILE` finishes.
#   faults.sh BUILD_DIR SUBSCRIPTIONS SEED
. "$(dirname "$0")/lib.sh" "$1"
gen_tenant "$2" "$3"
start_emu --fault-rate 0.1 --seed "$3"
write_cfg "$tmp/cfg.yaml"
opts="--poll-interval 0.2 --conflict-wait 0.2 --resume-file $tmp/resume.json"

run apply -f "$tmp/cfg.yaml" --auto-approve $opts
echo "first run: exit $rc, $(grep "^Apply:" "$tmp/out")"; grep -E "^  failed" "$tmp/out"
if [ "$rc" = 0 ]; then
	ok "converged in one run"
elif [ "$rc" = 1 ] && [ -s "$tmp/resume.json" ] && grep -q "apply $tmp/resume.json" "$tmp/err"; then
	ok "partial failure left a resume file"
	for attempt in 1 2 3; do
		run apply "$tmp/resume.json" $opts
		echo "resume $attempt: exit $rc, $(grep '^Apply:' "$tmp/out")"
		[ "$rc" = 0 ] && break
	done
	if [ "$rc" = 0 ] && [ ! -e "$tmp/resume.json" ]; then ok "the resume file finished the job"; else bad "resume" "exit $rc"; show; fi
else
	bad "apply under faults" "exit $rc"; show
fi

run plan -f "$tmp/cfg.yaml" --detailed-exitcode
[ "$rc" = 0 ] && ok "second plan is empty" || { bad "second plan is empty" "exit $rc"; show 40; }
m=$(max_asc_per_sub)
[ "$m" = 1 ] && ok "no twin connector" || bad "no twin connector" "max $m"
retries=$(admin GET requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["value"] if r["status"] in (0, 429, 500, 503)))')
[ "$retries" -gt 0 ] && ok "faults were injected ($retries)" || bad "faults were injected" "none"
finish
