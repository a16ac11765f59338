#!/bin/bash
# A saved plan is refused when Azure changed after it was made (the admin API changes an
# object out of band): exit 1, the message names the object, nothing is written. A fresh
# saved plan applies.
#   stale.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
gen_tenant 20 5
start_emu
write_cfg "$tmp/cfg.yaml"

run plan -f "$tmp/cfg.yaml" -o "$tmp/saved.json"
[ "$rc" = 0 ] && ok "plan -o" || { bad "plan -o" "exit $rc"; show; finish; }

# Without a terminal, a config is applied only with --auto-approve; usage errors exit 64.
run apply -f "$tmp/cfg.yaml"
[ "$rc" = 1 ] && grep -q 'stdin is not a terminal' "$tmp/err" && ok "no terminal, no --auto-approve: refused" || { bad "refused without approval" "exit $rc"; show; }
run apply -f "$tmp/cfg.yaml" "$tmp/saved.json"
[ "$rc" = 64 ] && ok "-f and a saved plan: usage error" || bad "usage error" "exit $rc"

# The subscription of the first pricing write, and a connector the plan read.
read -r sub plan_name conn < <(python3 - "$tmp/saved.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
it = next(i for i in p["items"] if i["kind"] == "pricing" and i["request"] and not i["blocked"])
conn = next((k for k in p["fingerprints"] if "/dataConnectors/" in k), "")
print(it["subscription"], it["resource"].rsplit("/", 1)[1], conn)
PY
)

admin POST object "{\"path\":\"/subscriptions/$sub/providers/Microsoft.Security/pricings/$plan_name\",\"body\":{\"pricingTier\":\"Standard\",\"subPlan\":\"P1\"}}" >/dev/null
admin POST reset >/dev/null
run apply "$tmp/saved.json"
want="pricing $plan_name on $sub: changed since the plan was made"
if [ "$rc" = 1 ] && grep -qF "$want" "$tmp/err"; then ok "stale pricing refused, named"; else bad "stale pricing refused" "exit $rc"; show; fi
puts=$(admin GET requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["value"] if r["method"] != "GET" and r["path"].startswith("/subscriptions/")))')
[ "$puts" = 0 ] && ok "nothing written for a stale plan" || bad "nothing written for a stale plan" "$puts writes"

# A Sentinel object: the connector's etag changes.
run plan -f "$tmp/cfg.yaml" -o "$tmp/saved2.json"
if [ -n "$conn" ]; then
	admin POST object "{\"path\":\"$conn\",\"body\":{\"kind\":\"AzureSecurityCenter\",\"properties\":{\"subscriptionId\":\"$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
n=sys.argv[2].rsplit("/",1)[1]
print(next(x["properties"]["subscriptionId"] for x in d["workspaces"][0]["dataConnectors"] if x["name"]==n))' "$tmp/state.json" "$conn")\",\"dataTypes\":{\"alerts\":{\"state\":\"Disabled\"}}}}}" >/dev/null
	run apply "$tmp/saved2.json"
	if [ "$rc" = 1 ] && grep -qF "data connector ${conn##*/}: changed since the plan was made" "$tmp/err"; then
		ok "stale connector refused, named"
	else
		bad "stale connector refused" "exit $rc"; show
	fi
fi

# A fresh saved plan applies, and then Azure matches.
run plan -f "$tmp/cfg.yaml" -o "$tmp/saved3.json"
run apply "$tmp/saved3.json" --format json
if [ "$rc" = 0 ] && grep -q 'is fresh' "$tmp/err" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["counts"]["applied"] > 0 and d["counts"]["failed"] == 0 and d["resume_file"] is None' "$tmp/out"; then
	ok "fresh saved plan applies (--format json)"
else
	bad "fresh saved plan applies" "exit $rc"; show
fi
run plan -f "$tmp/cfg.yaml" --detailed-exitcode
[ "$rc" = 0 ] && ok "converged after the saved plan" || { bad "converged after the saved plan" "exit $rc"; show; }

# Applying the same saved plan twice: its objects changed by its own first run.
run apply "$tmp/saved3.json"
[ "$rc" = 1 ] && grep -q 'changed since the plan was made' "$tmp/err" && ok "an applied saved plan is stale" || { bad "an applied saved plan is stale" "exit $rc"; show; }

# A saved plan made from git: refused once the ref moved (checked when --git is given).
repo=$tmp/repo
git init -q -b main "$repo" && cp "$tmp/cfg.yaml" "$repo/tenant.yaml" &&
	git -C "$repo" add tenant.yaml &&
	git -C "$repo" -c user.name=t -c user.email=t@t commit -q -m one
gitopts="--git $repo --git-ref main --git-path tenant.yaml --git-cache $tmp/gitcache"
run plan $gitopts -o "$tmp/gitplan.json"
[ "$rc" = 0 ] && python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["git_commit"]) == 40' "$tmp/gitplan.json" && ok "plan from git records the commit" || { bad "plan from git" "exit $rc"; show; }
echo "# moved" >>"$repo/tenant.yaml"
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -am two
run apply "$tmp/gitplan.json" $gitopts
if [ "$rc" = 1 ] && grep -q "the config's git ref 'main' moved: the plan was made at" "$tmp/err"; then
	ok "saved plan refused when the git ref moved"
else
	bad "git ref moved" "exit $rc"; show
fi
finish
