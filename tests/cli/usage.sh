#!/bin/sh
# Usage errors of the commands that share the common options: exit 64, one message that
# says what is wrong (an unknown option, or an option without its value), and where help is.
# Offline: every case fails before a config is read or Azure is called.
#   usage.sh MDCCTL
set -u
mdcctl=$1
pass=0 fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9

# check NAME WANT_RC WANT_STDERR ARGS...
check() {
	name=$1 want_rc=$2 want_err=$3
	shift 3
	"$mdcctl" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" = "$want_rc" ] && [ "$(cat "$tmp/err")" = "$want_err" ] && [ ! -s "$tmp/out" ]; then
		echo "ok   $name"; pass=$((pass + 1))
	else
		echo "FAIL $name: exit $rc (want $want_rc)"
		echo "  stderr: $(cat "$tmp/err")"; echo "  want:   $want_err"
		fail=$((fail + 1))
	fi
}

for c in drift watch; do
	try="try 'mdcctl $c --help'"
	check "$c: unknown long option" 64 "mdcctl $c: unknown option '--bogus'
$try" $c --bogus
	check "$c: unknown long option with a value" 64 "mdcctl $c: unknown option '--bogus'
$try" $c --bogus=1
	check "$c: unknown short option" 64 "mdcctl $c: unknown option '-x'
$try" $c -x
	check "$c: unknown short option in a group" 64 "mdcctl $c: unknown option '-x'
$try" $c -vx
	check "$c: -f without a value" 64 "mdcctl $c: option '-f' needs a value
$try" $c -f
	check "$c: -vf without a value" 64 "mdcctl $c: option '-f' needs a value
$try" $c -vf
	check "$c: --file without a value" 64 "mdcctl $c: option '--file' needs a value
$try" $c --file
	check "$c: --git-path without a value" 64 "mdcctl $c: option '--git-path' needs a value
$try" $c --git-path
done
check "drift: --format without a value" 64 "mdcctl drift: option '--format' needs a value
try 'mdcctl drift --help'" drift --format
check "watch: --interval without a value" 64 "mdcctl watch: option '--interval' needs a value
try 'mdcctl watch --help'" watch --interval

# 'mdcctl help COMMAND' is 'mdcctl COMMAND --help'
for c in validate plan apply drift export watch version; do
	"$mdcctl" $c --help >"$tmp/want" 2>&1
	"$mdcctl" help $c >"$tmp/out" 2>&1
	rc=$?
	if [ $rc = 0 ] && cmp -s "$tmp/want" "$tmp/out" && grep -q "^usage: mdcctl $c" "$tmp/out"; then
		echo "ok   help $c"; pass=$((pass + 1))
	else
		echo "FAIL help $c: exit $rc"; head -3 "$tmp/out"; fail=$((fail + 1))
	fi
done
"$mdcctl" bogus >"$tmp/want" 2>&1
"$mdcctl" help bogus >"$tmp/out" 2>&1
rc=$?
if [ $rc = 64 ] && cmp -s "$tmp/want" "$tmp/out" && grep -q "'bogus' is not a command" "$tmp/out"; then
	echo "ok   help of no command"; pass=$((pass + 1))
else
	echo "FAIL help of no command: exit $rc"; cat "$tmp/out"; fail=$((fail + 1))
fi

# --help and the man page give the same default clone cache
man=$(dirname "$0")/../../doc/mdcctl.1
for c in plan drift watch; do
	d=$("$mdcctl" $c --help | sed -n 's/.*--git-cache DIR.*(default \(.*\))$/\1/p')
	if [ -n "$d" ] && grep -qxF ".IR $d )." "$man"; then
		echo "ok   $c --help: --git-cache default $d as in mdcctl(1)"; pass=$((pass + 1))
	else
		echo "FAIL $c --help: --git-cache default '$d' is not in mdcctl(1)"; fail=$((fail + 1))
	fi
done

# the bash completion offers the commands after 'help'
comp=$(dirname "$0")/../../contrib/bash-completion/mdcctl
if command -v bash >/dev/null; then
	got=$(bash -c '. "$1"; COMP_WORDS=(mdcctl help ""); COMP_CWORD=2; _mdcctl; echo "${COMPREPLY[*]}"' _ "$comp")
	if [ "$got" = "validate plan apply drift export watch version" ]; then
		echo "ok   completion of help"; pass=$((pass + 1))
	else
		echo "FAIL completion of help: '$got'"; fail=$((fail + 1))
	fi
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
