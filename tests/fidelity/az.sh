#!/bin/sh
# ctest fidelity_az_cli: the Azure CLI (Debian's azure-cli, unchanged) against mdcemu.
# Usage: az.sh MDCEMU SOURCE_DIR
#   The CLI signs in with `az login --identity` through App Service's managed identity
#   endpoint (MSI_ENDPOINT + MSI_SECRET, the protocol this CLI speaks: its service principal
#   login needs MSAL instance discovery at login.microsoftonline.com, which no test may
#   reach), to a cloud registered with the emulator's endpoints, then reads and writes
#   Defender plans and settings, reads a provider and permissions, lists management groups
#   and reports an ARM error. Expected values come from the state file, not from the
#   emulator. The identity is made Owner of the tenant root group in a private copy of
#   tenant.json.
set -u
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
MDCEMU=$1 src=$2

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
check() { _n=$1; shift; if "$@" >/dev/null 2>&1; then ok "$_n"; else bad "$_n"; fi; }
die() { echo "FAIL $*"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }

command -v az >/dev/null 2>&1 || die "az is not installed (Debian: apt-get install azure-cli; scripts/deps.sh does)"

tmp=$(mktemp -d) || exit 1
cleanup() {
	emu_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

state=$tmp/tenant.json
root=$(jq -r .tenantId "$src/tenant.json")
mi=$(jq -r '.principals[] | select(.managedIdentity == true) | .objectId' "$src/tenant.json")
jq --arg mi "$mi" --arg root "$root" '.roleAssignments |= map(select(.principalId != $mi)) +
	[{principalId: $mi, roleDefinitionName: "Owner",
	  scope: ("/providers/Microsoft.Management/managementGroups/" + $root)}]' \
	"$src/tenant.json" >"$state" || die "cannot write $state"
emu_start "$tmp/emu" "$state" || die "mdcemu did not start"

# The CLI's own state in a private directory; nothing may leave the machine: every
# proxy-aware request to another host goes to a closed loopback port, and telemetry is off.
E=$EMU_URL
mi_endpoint=$IDENTITY_ENDPOINT mi_secret=$IDENTITY_HEADER
unset AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_AUTHORITY_HOST \
	AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE IDENTITY_ENDPOINT IDENTITY_HEADER
export AZURE_CONFIG_DIR="$tmp/az" AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_NO_COLOR=true \
	AZURE_CORE_ONLY_SHOW_ERRORS=true AZURE_EXTENSION_DIR="$tmp/az/ext" \
	REQUESTS_CA_BUNDLE="$tmp/emu/tls/ca.pem" \
	HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	NO_PROXY=localhost,127.0.0.1 no_proxy=localhost,127.0.0.1 \
	MSI_ENDPOINT="$mi_endpoint" MSI_SECRET="$mi_secret" APPSETTING_WEBSITE_SITE_NAME=mdcemu
az_() { timeout 120 az "$@" >"$tmp/out" 2>"$tmp/err"; }
out() { jq -e "$@" "$tmp/out"; }

A=$(jq -r '.subscriptions[0].subscriptionId' "$state")

az_ cloud register -n mdcemu --endpoint-resource-manager "$E/" \
	--endpoint-active-directory "$E" \
	--endpoint-active-directory-resource-id https://management.core.windows.net/ \
	--endpoint-active-directory-graph-resource-id https://graph.windows.net/ \
	--endpoint-management https://management.core.windows.net/ &&
	az_ cloud set -n mdcemu && ok "az cloud register/set the emulator's endpoints" ||
	{ bad "az cloud register"; cat "$tmp/err"; }

# login: every enabled subscription of the tenant, as the state file has them
want=$(jq -c '[.subscriptions[] | select(.state == "Enabled") | .displayName] | sort' "$state")
if az_ login --identity -o json; then
	check "az login --identity lists the tenant's subscriptions" out --argjson w "$want" \
		--arg t "$root" '([.[].name] | sort) == $w and all(.[]; .tenantId == $t and
		.user.type == "servicePrincipal" and .environmentName == "mdcemu")'
else
	bad "az login --identity" "$(tail -3 "$tmp/err")"
fi

# Defender plans: read what the state holds, write one, read it back
tier=$(jq -r --arg s "$A" '.subscriptions[] | select(.subscriptionId == $s) |
	.pricings.VirtualMachines.pricingTier' "$state")
az_ security pricing show -n VirtualMachines --subscription "$A" -o json &&
	check "az security pricing show: VirtualMachines is $tier" out --arg t "$tier" \
		'.pricingTier == $t and .name == "VirtualMachines"' ||
	bad "az security pricing show" "$(tail -3 "$tmp/err")"
az_ security pricing list --subscription "$A" -o json &&
	check "az security pricing list: every plan, VirtualMachines among them" out \
		'(.value | length) > 5 and any(.value[]; .name == "VirtualMachines")' ||
	bad "az security pricing list" "$(tail -3 "$tmp/err")"
az_ security pricing create -n KeyVaults --tier standard --subscription "$A" -o json &&
	check "az security pricing create: KeyVaults Standard" out \
		'.pricingTier == "Standard" and .name == "KeyVaults"' ||
	bad "az security pricing create" "$(tail -3 "$tmp/err")"
az_ security pricing show -n KeyVaults --subscription "$A" -o json &&
	check "az security pricing show: the write stuck" out '.pricingTier == "Standard"' ||
	bad "az security pricing show after create" "$(tail -3 "$tmp/err")"

# settings: Sentinel as the state has it
sync=$(jq -r --arg s "$A" '.subscriptions[] | select(.subscriptionId == $s) |
	.settings.Sentinel.enabled' "$state")
az_ security setting list --subscription "$A" -o json &&
	check "az security setting list: Sentinel enabled=$sync" out --argjson e "$sync" \
		'any(.[]; .name == "Sentinel" and .enabled == $e)' ||
	bad "az security setting list" "$(tail -3 "$tmp/err")"

# a provider, and az rest on the permissions API
reg=$(jq -r --arg s "$A" '.subscriptions[] | select(.subscriptionId == $s) |
	.providers["Microsoft.SecurityInsights"]' "$state")
az_ provider show -n Microsoft.SecurityInsights --subscription "$A" -o json &&
	check "az provider show: Microsoft.SecurityInsights $reg" out --arg r "$reg" \
		'.registrationState == $r and .namespace == "Microsoft.SecurityInsights"' ||
	bad "az provider show" "$(tail -3 "$tmp/err")"
az_ rest --method get \
	--url "$E/subscriptions/$A/providers/Microsoft.Authorization/permissions?api-version=2022-04-01" &&
	check "az rest: the Owner's permissions are *" out 'any(.value[]; .actions | index("*"))' ||
	bad "az rest permissions" "$(tail -3 "$tmp/err")"

# management groups (the CLI registers Microsoft.Management first, as on Azure)
want=$(jq -c '[.managementGroups[].name] | sort' "$state")
az_ account management-group list -o json &&
	check "az account management-group list: the state's groups" out --argjson w "$want" \
		'([.[].name] | sort) == $w' ||
	bad "az account management-group list" "$(tail -3 "$tmp/err")"

# an ARM error reaches the CLI's user with its code and message
if az_ security pricing create -n NotAPlan --tier standard --subscription "$A" -o json; then
	bad "an unknown plan is refused"
else
	check "an unknown plan: the CLI shows the ARM error code" grep -Eq '\((InvalidInputJson|BadRequest|InvalidPricingName|NotFound|ResourceNotFound)\)|Code: ' "$tmp/err"
fi

# mdcemu must stop cleanly (under ASan: no leak)
emu_stop
erc=$?
[ "$erc" = 0 ] && ok "mdcemu exits 0 on SIGTERM" || { bad "mdcemu exited $erc"; tail -20 "$tmp/emu/emu.err"; }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
