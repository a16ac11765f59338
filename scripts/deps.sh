#!/bin/sh
# Installs the Debian packages mdcctl builds and tests with, when any is missing.
# Uses sudo only when not root.
set -eu
pkgs="build-essential cmake pkg-config git curl ca-certificates \
 libyaml-dev libcurl4-openssl-dev libcjson-dev libssl-dev libgit2-dev libmicrohttpd-dev \
 clang libclang-rt-14-dev python3 python3-yaml python3-jsonschema jq openssl man-db \
 azure-cli ${MDC_EXTRA_PKGS:-}"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
