#!/bin/sh
# Options, exit codes, stdin and --format json of `mdcctl validate`.
set -u
mdcctl=$1
pass=0 fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# check NAME WANT_RC WANT_STDOUT WANT_STDERR -- ARGS...
check() {
	name=$1 want_rc=$2 want_out=$3 want_err=$4
	shift 5
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out") err=$(cat "$tmp/err")
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] && [ "$err" = "$want_err" ]; then
		echo "ok   $name"; pass=$((pass + 1))
	else
		echo "FAIL $name: exit $rc (want $want_rc)"
		echo "  stdout: $out"; echo "  want:   $want_out"
		echo "  stderr: $err"; echo "  want:   $want_err"
		fail=$((fail + 1))
	fi
}

for f in examples/minimal.yaml examples/contoso.yaml examples/tenant-mode.yaml; do
	check "valid $f" 0 "" "" -- "$mdcctl" validate -f "$f"
done
check "missing -f" 64 "" "mdcctl validate: missing -f FILE (or --git URL --git-path PATH)
try 'mdcctl validate --help'" -- "$mdcctl" validate
check "bad format" 64 "" "mdcctl validate: unknown format 'xml' (text or json)
try 'mdcctl validate --help'" -- "$mdcctl" validate -f x --format xml
check "unknown option" 64 "" "mdcctl validate: unknown option '--bogus'
try 'mdcctl validate --help'" -- "$mdcctl" validate --bogus
check "option without value" 64 "" "mdcctl validate: option '-f' needs a value
try 'mdcctl validate --help'" -- "$mdcctl" validate -f
check "extra argument" 64 "" "mdcctl validate: unexpected argument 'extra'
try 'mdcctl validate --help'" -- "$mdcctl" validate -f x extra
check "missing file" 1 "" "nope.yaml: error: cannot read 'nope.yaml': No such file or directory" -- "$mdcctl" validate -f nope.yaml

"$mdcctl" validate --help >"$tmp/out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q '^usage: mdcctl validate (-f FILE | --git URL --git-path PATH)' "$tmp/out"; then
	echo "ok   --help"; pass=$((pass + 1))
else
	echo "FAIL --help (exit $rc)"; cat "$tmp/out"; fail=$((fail + 1))
fi

# stdin, text and json
printf 'apiVersion: mdcctl/v1\ntenant: 1\n' >"$tmp/in.yaml"
"$mdcctl" validate -f - <"$tmp/in.yaml" >"$tmp/out" 2>"$tmp/err"; rc=$?
want="<stdin>:1:1: error: missing required key 'workspace'
<stdin>:1:1: error: missing required key 'subscriptions'
<stdin>:2:9: error: 'tenant' must be a string, not a number"
cat "$tmp/err"
if [ $rc = 1 ] && [ "$(cat "$tmp/err")" = "$want" ]; then
	echo "ok   stdin text"; pass=$((pass + 1))
else
	echo "FAIL stdin text (exit $rc)"; fail=$((fail + 1))
fi
"$mdcctl" validate -f - --format json <"$tmp/in.yaml" >"$tmp/out" 2>"$tmp/err"; rc=$?
want='{"valid":false,"diagnostics":[{"severity":"error","line":1,"column":1,"message":"missing required key '"'workspace'"'"},{"severity":"error","line":1,"column":1,"message":"missing required key '"'subscriptions'"'"},{"severity":"error","line":2,"column":9,"message":"'"'tenant'"' must be a string, not a number"}]}'
cat "$tmp/out"
if [ $rc = 1 ] && [ "$(cat "$tmp/out")" = "$want" ] && [ ! -s "$tmp/err" ]; then
	echo "ok   stdin json"; pass=$((pass + 1))
else
	echo "FAIL stdin json (exit $rc)"; echo "want $want"; fail=$((fail + 1))
fi
check "json valid" 0 '{"valid":true,"diagnostics":[]}' "" -- "$mdcctl" validate --format json -f examples/minimal.yaml

# --git: the file at a commit of a repository, diagnostics named by its path there.
repo=$tmp/repo
(
	export HOME=$tmp GIT_CONFIG_NOSYSTEM=1
	git init -q -b main "$repo" && cp examples/minimal.yaml "$repo/tenant.yaml" &&
		sed 's/VirtualMachines/VirtualMachine/' examples/minimal.yaml >"$repo/bad.yaml" &&
		git -C "$repo" add . &&
		git -C "$repo" -c user.name=t -c user.email=t@example.com commit -qm c
) || echo "FAIL: cannot build the test repository"
check "git valid" 0 "" "" -- env HOME="$tmp" "$mdcctl" validate --git "file://$repo" \
	--git-ref main --git-path tenant.yaml --git-cache "$tmp/cache"
"$mdcctl" validate --git "file://$repo" --git-path bad.yaml --git-cache "$tmp/cache" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 1 ] && grep -q "^bad.yaml:[0-9]*:[0-9]*: error: unknown plan 'VirtualMachine' (did you mean 'VirtualMachines'?)" "$tmp/err"; then
	echo "ok   git invalid names the path in the repository"; pass=$((pass + 1))
else
	echo "FAIL git invalid (exit $rc)"; cat "$tmp/err"; fail=$((fail + 1))
fi
"$mdcctl" validate --git "file://$repo" --git-path nowhere.yaml --git-cache "$tmp/cache" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 1 ] && grep -q "cannot read 'nowhere.yaml'" "$tmp/err"; then
	echo "ok   git missing path"; pass=$((pass + 1))
else
	echo "FAIL git missing path (exit $rc)"; cat "$tmp/err"; fail=$((fail + 1))
fi
check "git and -f together" 64 "" "mdcctl validate: give either -f FILE or --git URL, not both
try 'mdcctl validate --help'" -- "$mdcctl" validate -f examples/minimal.yaml --git "file://$repo" --git-path tenant.yaml

echo "$pass passed, $fail failed"
[ $fail = 0 ]
