#!/bin/sh
# cmake --install into a temporary DESTDIR installs bin/mdcctl, share/man/man1/mdcctl.1 and
# share/bash-completion/completions/mdcctl; the page renders without warnings and the
# completion knows every command the binary lists.
# usage: run_install.sh BUILD_DIR CMAKE
set -u
build=$1 cmake=$2
pass=0 fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

if DESTDIR="$tmp/root" "$cmake" --install "$build" --prefix /usr/local >"$tmp/log" 2>&1; then
	ok "cmake --install"
else
	bad "cmake --install"; cat "$tmp/log"
fi
root=$tmp/root/usr/local
[ -x "$root/bin/mdcctl" ] && ok "bin/mdcctl" || bad "bin/mdcctl"
[ -f "$root/share/man/man1/mdcctl.1" ] && ok "share/man/man1/mdcctl.1" || bad "share/man/man1/mdcctl.1"
comp=$root/share/bash-completion/completions/mdcctl
[ -f "$comp" ] && ok "share/bash-completion/completions/mdcctl" || bad "completion installed"
"$root/bin/mdcctl" --version | grep -q '^mdcctl ' && ok "installed binary runs" || bad "installed binary runs"

# every command of the command table is in the page and in the completion
cmds=$("$root/bin/mdcctl" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$cmds" ] && ok "mdcctl --help lists commands" || bad "mdcctl --help lists commands"
for c in $cmds; do
	grep -q "^\.B mdcctl $c" "$root/share/man/man1/mdcctl.1" && grep -q "^\.B $c\$" "$root/share/man/man1/mdcctl.1" &&
		ok "man page documents $c" || bad "man page documents $c"
	grep -q "commands=\".*\\b$c\\b" "$comp" && ok "completion offers $c" || bad "completion offers $c"
done
for opt in --verify-ingest --ignore --last-plan --since-commit --notify --interval --apply --once; do
	grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$root/share/man/man1/mdcctl.1" &&
		grep -q -- "$opt" "$comp" && ok "option $opt documented and completed" || bad "option $opt"
done
for env in MDCCTL_ARM_ENDPOINT MDCCTL_CA_FILE MDCCTL_LOGANALYTICS_ENDPOINT MDCCTL_GIT_TOKEN AZURE_FEDERATED_TOKEN_FILE NO_COLOR; do
	grep -q "$env" "$root/share/man/man1/mdcctl.1" && ok "man page names $env" || bad "man page names $env"
done

if command -v bash >/dev/null; then
	if bash -c ". '$comp'; COMP_WORDS=(mdcctl drift --for); COMP_CWORD=2; _mdcctl; [ \"\${COMPREPLY[*]}\" = --format ]" &&
		bash -c ". '$comp'; COMP_WORDS=(mdcctl drift --format ''); COMP_CWORD=3; _mdcctl; [ \"\${COMPREPLY[*]}\" = 'text json markdown' ]"; then
		ok "completion completes options and formats"
	else
		bad "completion completes options and formats"
	fi
fi
if command -v man >/dev/null; then
	MANWIDTH=80 man --warnings -E UTF-8 -l "$root/share/man/man1/mdcctl.1" >"$tmp/man.txt" 2>"$tmp/man.err"
	if [ -s "$tmp/man.txt" ] && [ ! -s "$tmp/man.err" ]; then ok "man -l renders without warnings"
	else bad "man -l renders without warnings"; cat "$tmp/man.err"; fi
else
	echo "skip man -l (no man)"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
