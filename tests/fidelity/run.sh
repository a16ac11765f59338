#!/bin/sh
# ctest fidelity_sdk_js: the official Azure SDK for JavaScript against mdcemu.
# Usage: run.sh MDCEMU SOURCE_DIR WORK_DIR
#   installs the pinned packages (package-lock.json) with `npm ci` into WORK_DIR/npm, again
#   only when package*.json change; starts mdcemu (free loopback port, own state copy, own TLS
#   dir, --page-size 1); runs sdk.mjs with node trusting the emulator's CA; stops mdcemu.
set -u
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
MDCEMU=$1 src=$2 work=$3

die() { echo "FAIL $*"; echo "0 passed, 1 failed"; exit 1; }

command -v node >/dev/null 2>&1 || die "node is not installed: this test needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is not installed: this test needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 20 ] 2>/dev/null || die "node $(node --version 2>/dev/null) is too old: the pinned SDK packages need Node.js >= 20"

# ---- the SDK packages, exactly as locked ----
npmdir=$work/npm
mkdir -p "$npmdir" || die "cannot create $npmdir"
stamp=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ ! -d "$npmdir/node_modules" ] || [ "$(cat "$npmdir/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -f "$npmdir/.stamp"
	cp "$src/package.json" "$src/package-lock.json" "$npmdir/" || die "cannot copy package*.json"
	echo "npm ci in $npmdir"
	(cd "$npmdir" && npm ci --no-audit --no-fund --engine-strict --loglevel=error) ||
		die "npm ci failed (the npm registry must be reachable the first time)"
	echo "$stamp" >"$npmdir/.stamp"
fi
# the scripts sit beside node_modules so that their imports resolve there
cp "$src/sdk.mjs" "$src/guard.mjs" "$npmdir/" || die "cannot copy the scripts"

# ---- a private emulator ----
tmp=$(mktemp -d) || exit 1
cleanup() {
	emu_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

emu_start "$tmp" "$src/tenant.json" --page-size 1 || die "mdcemu did not start"

# ---- the SDK run ----
# Nothing may leave the machine: the SDKs are pointed at the emulator for ARM and Entra, any
# proxy-aware request to another host goes to a closed loopback port (HTTPS_PROXY; only
# loopback is exempt through NO_PROXY), and guard.mjs refuses every non-loopback connect().
# Credentials or options from the caller's environment must not leak in.
unset AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_AUTHORITY_HOST \
	AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE IDENTITY_ENDPOINT IDENTITY_HEADER \
	MSI_ENDPOINT MSI_SECRET NODE_OPTIONS NODE_TLS_REJECT_UNAUTHORIZED
rc=0
(cd "$npmdir" &&
	EMU="$EMU_URL" FIDELITY_STATE="$tmp/state.json" \
	NODE_EXTRA_CA_CERTS="$tmp/tls/ca.pem" \
	HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	NO_PROXY=localhost,127.0.0.1 no_proxy=localhost,127.0.0.1 \
	AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9 \
	timeout 300 node --import ./guard.mjs sdk.mjs) || rc=$?

# mdcemu must stop cleanly (under ASan: no leak)
emu_stop
erc=$?
if [ "$erc" != 0 ]; then
	echo "FAIL mdcemu exited $erc on SIGTERM:"
	tail -20 "$tmp/emu.err"
	[ "$rc" = 0 ] && { echo "0 passed, 1 failed"; rc=1; }
fi
exit $rc
