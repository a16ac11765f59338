#!/bin/sh
# mdcctl --version and mdcctl version name mdcctl and every linked library.
set -u
mdcctl=$1
pass=0 fail=0
out=$("$mdcctl" --version) || { echo "FAIL --version exit $?"; exit 1; }
out2=$("$mdcctl" version)
for want in '^mdcctl [0-9]+\.[0-9]+\.[0-9]+' 'libcurl: libcurl/[0-9]' 'libgit2: libgit2 [0-9]' \
	'libyaml: [0-9]+\.[0-9]' 'OpenSSL: OpenSSL [0-9]' 'cJSON: +[0-9]+\.[0-9]'; do
	if printf '%s\n' "$out" | grep -Eq "$want"; then echo "ok   $want"; pass=$((pass + 1))
	else echo "FAIL $want"; fail=$((fail + 1)); fi
done
if [ "$out" = "$out2" ]; then echo "ok   version = --version"; pass=$((pass + 1))
else echo "FAIL version differs from --version"; fail=$((fail + 1)); fi
"$mdcctl" version extra >/dev/null 2>&1
if [ $? = 64 ]; then echo "ok   extra argument is a usage error"; pass=$((pass + 1))
else echo "FAIL extra argument"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
