#!/bin/bash
# Secrets never reach output, logs or files (issue 6): every command runs at the highest
# verbosity (-v -v) against a private mdcemu with each credential kind of the chain — a
# client secret, a certificate (client assertion) and a federated token file — and every
# byte it wrote (stdout, stderr, plan files, resume files, snapshots, the export, the git
# cache, the lock directory) is searched for the client secret, the certificate's private
# key, the federated assertion, the git token and any access token.
#   secrets.sh MDCCTL MDCEMU STATE CONFIG
set -u
# shellcheck source=SCRIPTDIR/../lib/emu.sh
. "$(dirname "$0")/../lib/emu.sh"
mdcctl=$1 MDCEMU=$2 state=$3 config=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdc-secrets.XXXXXX") || exit 1
pass=0 fail=0
cleanup() {
	emu_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# Nothing may leave loopback: should the chain ever fall through to IMDS, it finds a closed
# port. Credentials of the caller's shell must not mix in.
export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9
unset AZURE_CLIENT_CERTIFICATE_PATH AZURE_CLIENT_CERTIFICATE_PASSWORD AZURE_FEDERATED_TOKEN_FILE \
	ARM_CLIENT_ID ARM_CLIENT_SECRET ARM_TENANT_ID ARM_OIDC_TOKEN_FILE_PATH \
	ARM_CLIENT_CERTIFICATE_PATH ARM_CLIENT_CERTIFICATE_PASSWORD IDENTITY_ENDPOINT IDENTITY_HEADER
export NO_COLOR=1 XDG_CACHE_HOME=$tmp/cache XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$tmp/out" "$tmp/files" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
GIT_TOKEN=ghp_secrets-test-git-token-0123456789abcdef
export MDCCTL_GIT_TOKEN=$GIT_TOKEN

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# ---- credentials: a certificate and a federated issuer key, registered on principal 1 ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/cert.key" -out "$tmp/cert.crt" \
	-days 2 -subj /CN=mdcctl-secrets-test >/dev/null 2>&1 || { echo "openssl req failed"; exit 1; }
cat "$tmp/cert.key" "$tmp/cert.crt" >"$tmp/cert.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/oidc.key" 2>/dev/null &&
	openssl pkey -in "$tmp/oidc.key" -pubout -out "$tmp/oidc.pub" 2>/dev/null ||
	{ echo "openssl genpkey failed"; exit 1; }
issuer=https://token.actions.githubusercontent.com
subject=repo:contoso/mdc-config:ref:refs/heads/main
jq --rawfile cert "$tmp/cert.crt" --rawfile pub "$tmp/oidc.pub" --arg iss "$issuer" --arg sub "$subject" \
	'.principals[0].certificates = [$cert] |
	 .principals[0].federatedCredentials = [{issuer: $iss, subject: $sub,
		audiences: ["api://AzureADTokenExchange"], publicKey: $pub}]' \
	"$state" >"$tmp/state.json" || exit 1
cp "$tmp/state.json" "$tmp/state.orig.json"

now=$(date +%s)
hdr=$(printf '{"alg":"RS256","typ":"JWT","kid":"secrets-test"}' | b64url)
pay=$(printf '{"iss":"%s","sub":"%s","aud":"api://AzureADTokenExchange","iat":%s,"nbf":%s,"exp":%s,"jti":"secrets-test-%s"}' \
	"$issuer" "$subject" "$now" "$((now - 60))" "$((now + 3600))" "$$" | b64url)
sig=$(printf '%s.%s' "$hdr" "$pay" | openssl dgst -sha256 -sign "$tmp/oidc.key" -binary | b64url)
assertion=$hdr.$pay.$sig
printf '%s' "$assertion" >"$tmp/federated.jwt"

# ---- the emulator: port 0, its own state copy, bounded start ----
emu_start "$tmp/emu" "$tmp/state.json" || exit 1
unset IDENTITY_ENDPOINT IDENTITY_HEADER
emu=$EMU_URL
secret=$AZURE_CLIENT_SECRET
[ -n "$secret" ] || { echo "the emulator's env file has no AZURE_CLIENT_SECRET"; exit 1; }
admin() { # METHOD PATH [BODY-FILE]
	emu_admin "$1" "$2" ${3:+"@$3"}
}

# An access token as the emulator issues them: every token it signs starts with the same
# JOSE header, so that prefix finds any of them, whenever it was issued.
token=$(curl -sS --max-time 20 --cacert "$MDCCTL_CA_FILE" \
	--data-urlencode grant_type=client_credentials --data-urlencode "client_id=$AZURE_CLIENT_ID" \
	--data-urlencode "client_secret=$secret" --data-urlencode "scope=$emu/.default" \
	"$emu/$AZURE_TENANT_ID/oauth2/v2.0/token" | jq -r .access_token)
case $token in
eyJ*.*.*) ok "the token endpoint issues tokens" ;;
*) bad "the token endpoint issues tokens: got '$token'"; exit 1 ;;
esac
token_prefix=${token%%.*}

# ---- a git source, so that --git and the clone cache are covered ----
git init -q -b main "$tmp/repo" && cp "$config" "$tmp/repo/cfg.yaml" &&
	git -C "$tmp/repo" add cfg.yaml &&
	git -C "$tmp/repo" -c user.email=t@example.com -c user.name=t commit -q -m cfg || exit 1

# run NAME EXPECTED-EXIT-CODES ARGS...: one command, -v -v, bounded in time; output kept.
run() {
	name=$1 want=$2
	shift 2
	timeout 120 "$mdcctl" "$@" >"$tmp/out/$kind.$name.out" 2>"$tmp/out/$kind.$name.err" </dev/null
	rc=$?
	case " $want " in
	*" $rc "*) ok "$kind: $name exits $rc" ;;
	*)
		bad "$kind: $name exits $rc (want $want)"
		tail -5 "$tmp/out/$kind.$name.err"
		;;
	esac
}

for kind in secret certificate federated; do
	# each kind starts from the same tenant, so that each one writes as well as reads
	admin PUT state "$tmp/state.orig.json" >/dev/null
	admin DELETE faults >/dev/null
	unset AZURE_CLIENT_SECRET AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE
	case $kind in
	secret) export AZURE_CLIENT_SECRET=$secret ;;
	certificate) export AZURE_CLIENT_CERTIFICATE_PATH=$tmp/cert.pem ;;
	federated) export AZURE_FEDERATED_TOKEN_FILE=$tmp/federated.jwt ;;
	esac
	f=$tmp/files/$kind
	mkdir -p "$f"
	v="-v -v --auth $kind"

	run validate "0" validate -f "$config"
	run plan "0 2" plan $v -f "$config" -o "$f/plan.json" --save-actual "$f/actual.json" --detailed-exitcode
	grep -q "^mdcctl: credential: .*$kind" "$tmp/out/$kind.plan.err" &&
		ok "$kind: -v names the credential" || bad "$kind: -v names the credential"
	run plan-json "0" plan $v -f "$config" --format json
	run plan-markdown "0" plan $v -f "$config" --format markdown
	run plan-git "0" plan $v --git "file://$tmp/repo" --git-path cfg.yaml
	run drift "2" drift $v -f "$config" --format json
	run drift-text "2" drift $v -f "$config" --last-plan "$f/plan.json"
	run drift-ingest "0 1 2" drift $v -f "$config" --verify-ingest=30 --loganalytics-endpoint "$emu"
	run export "0" export $v -o "$f/export.yaml"
	run watch "0" watch $v --git "file://$tmp/repo" --git-path cfg.yaml --once
	# a write that keeps failing leaves a resume file behind
	echo '{"pathRegex": "/pricings/", "method": "PUT", "status": 400, "count": -1,
		"body": {"error": {"code": "BadRequest", "message": "injected by secrets.sh"}}}' >"$tmp/fault.json"
	admin POST faults "$tmp/fault.json" >/dev/null
	run apply-partial "1" apply $v -f "$config" --auto-approve --poll-interval 0.2 --resume-file "$f/resume.json"
	[ -s "$f/resume.json" ] && ok "$kind: the failed apply left a resume file" ||
		bad "$kind: the failed apply left a resume file"
	admin DELETE faults >/dev/null
	run apply-resume "0 1" apply $v "$f/resume.json" --auto-approve --poll-interval 0.2
	run apply-saved "0 1" apply $v "$f/plan.json" --auto-approve --poll-interval 0.2
	# exit 1: the example's Data-Analytics subscription stays blocked (Reader only)
	run apply "1" apply $v -f "$config" --auto-approve --poll-interval 0.2 --resume-file "$f/resume2.json"
	run watch-apply "0" watch $v --git "file://$tmp/repo" --git-path cfg.yaml --once --apply
	# the example's Data-Analytics subscription stays blocked: still drift
	run drift-after "2" drift $v -f "$config"
done

# An invalid secret and an unusable assertion: the token endpoint's errors are reported
# without echoing what was sent.
kind=errors
unset AZURE_CLIENT_SECRET AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE
AZURE_CLIENT_SECRET=$secret-but-wrong run bad-secret "1" plan -v -v -f "$config"
printf '%s' "$hdr.$pay.$sig$sig" >"$tmp/bad.jwt"
AZURE_FEDERATED_TOKEN_FILE=$tmp/bad.jwt run bad-assertion "1" plan -v -v -f "$config"

# ---- the search ----
key_line=$(sed -n 2p "$tmp/cert.key")
n=$(find "$tmp/out" "$tmp/files" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" -type f | wc -l)
[ "$n" -gt 60 ] && ok "searching $n files" || bad "searching $n files: fewer than expected"
[ -n "$(find "$XDG_CACHE_HOME" -type f)" ] && ok "the git cache was written" || bad "the git cache was written"
leak() { # NAME STRING
	if grep -rlaF -e "$2" "$tmp/out" "$tmp/files" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" >"$tmp/hits"; then
		bad "$1 found in: $(tr '\n' ' ' <"$tmp/hits")"
	else
		ok "no $1 anywhere"
	fi
}
leak "client secret" "$secret"
leak "certificate private key" "$key_line"
leak "federated assertion" "$assertion"
leak "federated assertion signature" "$sig"
leak "federated assertion claims" "$hdr.$pay"
leak "git token" "$GIT_TOKEN"
leak "access token (emulator's JOSE header)" "$token_prefix"
leak "access token" "$token"
if grep -rlaE 'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}' "$tmp/out" "$tmp/files" "$XDG_CACHE_HOME" \
	"$XDG_RUNTIME_DIR" >"$tmp/hits"; then
	bad "a JWT found in: $(tr '\n' ' ' <"$tmp/hits")"
else
	ok "no JWT of any issuer anywhere"
fi
if grep -rlaiE 'client_secret=|client_assertion=|authorization: *bearer [^*<]' "$tmp/out" "$tmp/files" >"$tmp/hits"; then
	bad "request credentials found in: $(tr '\n' ' ' <"$tmp/hits")"
else
	ok "no request credentials (form fields, Authorization header) anywhere"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
