/*
 * mdcemu's Microsoft Entra ID (reference §10, §7.3): the v2.0 token endpoint for the client
 * credentials grant (secret, certificate assertion, federated assertion), the App Service
 * managed-identity endpoint, the discovery documents MSAL fetches, and the validation of the
 * bearer tokens that ARM requests carry.
 *
 * Issued access tokens are shaped like the v1 tokens Entra issues for ARM (ARM's resource
 * application accepts v1 tokens): ver "1.0", appid, appidacr, idtyp "app", iss
 * "{base}/{tid}/" standing in for "https://sts.windows.net/{tid}/", signed RS256 with the
 * emulator's own key, published at {base}/common/discovery/keys.
 */
#include "entra.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "url.h"
#include "util.h"
#include "banned.h"

#define DEFAULT_LIFETIME 3599
/* Clock skew Entra tolerates on a client assertion's nbf (and ARM on a token's nbf). */
#define SKEW 300

#define ASSERTION_TYPE_JWT "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CERT_DOC           "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
#define WIF_DOC            "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

struct entra {
	char *base_url; /* "https://localhost:PORT", no trailing slash */
	char *host;     /* "localhost:PORT" */
	EVP_PKEY *key;
	char *kid; /* RFC 7638 JWK thumbprint (SHA-256) of the public key */
	char *x5t; /* base64url SHA-1 of the self-signed certificate over the key */
	char *n, *e_exp;
	char *x5c; /* standard base64 of the certificate DER */
	int lifetime;
};

/* ---------------------------------------------------------------- small helpers */

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static char *json_print(cJSON *root)
{
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!s)
		abort();
	return s;
}

/* "2023-06-02 21:00:26Z", the form of Entra's error timestamps. */
static void fmt_entra_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* "2024-10-02T22:05:03.0000000Z", the form inside AADSTS700024's message. */
static void fmt_iso7(time_t t, char out[40])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S.0000000Z", &tm);
}

/* "5/14/2023 3:04:05 PM", .NET's en-US general format that ARM's messages use. */
static void fmt_dotnet(time_t t, char out[40])
{
	struct tm tm;
	int h;

	gmtime_r(&t, &tm);
	h = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
	snprintf(out, 40, "%d/%d/%d %d:%02d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900,
	         h, tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
}

/* Parses "a=1&b=2"; the first occurrence of a name wins. */
static void parse_form(struct mdc_kvlist *kl, const char *s, size_t len)
{
	emu_parse_form(kl, s, len, false);
}

static const char *form_get(const struct mdc_kvlist *kl, const char *key)
{
	const char *v = mdc_kvlist_get(kl, key, false);
	return v && *v ? v : NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* ---------------------------------------------------------------- state lookups */

static const char *state_tenant(const cJSON *state)
{
	return json_str(state, "tenantId");
}

/* The tenant id that a path segment names (the id, or the optional "tenantDomain" of the
 * state, both case-insensitive), or NULL. */
static const char *resolve_tenant(const cJSON *state, const char *tenant)
{
	const char *tid = state_tenant(state);
	const char *domain = json_str(state, "tenantDomain");

	if (!tid || !tenant || !*tenant)
		return NULL;
	if (mdc_streq_i(tenant, tid) || (domain && mdc_streq_i(tenant, domain)))
		return tid;
	return NULL;
}

static const cJSON *find_principal(const cJSON *state, const char *field, const char *value)
{
	const cJSON *p;

	if (!value)
		return NULL;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(state, "principals"))
	{
		if (mdc_streq_i(json_str(p, field), value))
			return p;
	}
	return NULL;
}

/* ---------------------------------------------------------------- JWT */

struct jwt {
	cJSON *header;
	cJSON *payload;
	const char *input; /* the signing input "b64(header).b64(payload)", borrowed */
	size_t input_len;
	unsigned char *sig;
	size_t sig_len;
};

static void jwt_release(struct jwt *j)
{
	cJSON_Delete(j->header);
	cJSON_Delete(j->payload);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

static cJSON *decode_json_segment(const char *s, size_t len)
{
	char *seg = mdc_xstrndup(s, len);
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	cJSON *json = NULL;

	if (len && mdc_base64url_decode(seg, &raw, &rawlen) == 0)
		json = cJSON_ParseWithLength((const char *)raw, rawlen);
	free(seg);
	free(raw);
	if (json && !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

/* Splits and decodes a compact JWS. Returns 0, or -1 when it is not one. */
static int jwt_parse(const char *token, struct jwt *j)
{
	const char *d1, *d2;
	char *sig;
	int rc;

	memset(j, 0, sizeof(*j));
	if (!token || !(d1 = strchr(token, '.')) || !(d2 = strchr(d1 + 1, '.')) ||
	    strchr(d2 + 1, '.') || !d2[1])
		return -1;
	j->header = decode_json_segment(token, (size_t)(d1 - token));
	j->payload = decode_json_segment(d1 + 1, (size_t)(d2 - d1 - 1));
	sig = mdc_xstrdup(d2 + 1);
	rc = mdc_base64url_decode(sig, &j->sig, &j->sig_len);
	free(sig);
	if (!j->header || !j->payload || rc < 0) {
		jwt_release(j);
		return -1;
	}
	j->input = token;
	j->input_len = (size_t)(d2 - token);
	return 0;
}

/* Checks a JWS signature. Returns 1 valid, 0 invalid, -1 unsupported alg or key type. */
static int jws_verify(EVP_PKEY *pk, const char *alg, const struct jwt *j)
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	bool pss;
	int ok;

	if (!alg || strlen(alg) != 5 || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		return -1;
	if (!strncmp(alg, "RS", 2))
		pss = false;
	else if (!strncmp(alg, "PS", 2))
		pss = true;
	else
		return -1;
	if (!strcmp(alg + 2, "256"))
		md = EVP_sha256();
	else if (!strcmp(alg + 2, "384"))
		md = EVP_sha384();
	else if (!strcmp(alg + 2, "512"))
		md = EVP_sha512();
	else
		return -1;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		abort();
	ok = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pk) == 1;
	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
	ok = ok && EVP_DigestVerify(ctx, j->sig, j->sig_len, (const unsigned char *)j->input,
	                            j->input_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 1 : 0;
}

static char *jwt_sign(struct entra *e, cJSON *header, cJSON *payload)
{
	struct mdc_buf b = MDC_BUF_INIT;
	char *h = json_print(header), *p = json_print(payload), *s;
	char *hb = mdc_base64url(h, strlen(h)), *pb = mdc_base64url(p, strlen(p));
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	mdc_buf_addf(&b, "%s.%s", hb, pb);
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, e->key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b.ptr, b.len) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	s = mdc_base64url(sig, siglen);
	mdc_buf_addf(&b, ".%s", s);
	free(s);
	free(h);
	free(p);
	free(hb);
	free(pb);
	return mdc_buf_detach(&b);
}

static bool claim_time(const cJSON *payload, const char *name, time_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(payload, name);
	if (!cJSON_IsNumber(it))
		return false;
	*out = (time_t)it->valuedouble;
	return true;
}

/* ---------------------------------------------------------------- issuer */

/* The audiences ARM accepts, and so the resources a token can be issued for (besides Log
 * Analytics, §11). InvalidAuthenticationTokenAudience lists the same four public ones. */
static const char *const arm_audiences[] = {
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
};

static bool is_arm_audience(struct entra *e, const char *aud)
{
	size_t n;

	if (!aud)
		return false;
	for (size_t i = 0; i < sizeof(arm_audiences) / sizeof(*arm_audiences); i++)
		if (!strcmp(aud, arm_audiences[i]))
			return true;
	n = strlen(e->base_url);
	return !strncmp(aud, e->base_url, n) && (!aud[n] || !strcmp(aud + n, "/"));
}

static bool is_known_resource(struct entra *e, const char *resource)
{
	return is_arm_audience(e, resource) || !strcmp(resource, "https://api.loganalytics.io") ||
	       !strcmp(resource, "https://api.loganalytics.io/");
}

static char *issue_token(struct entra *e, const char *tid, const cJSON *principal, const char *aud,
                         const char *appidacr, time_t now)
{
	cJSON *h = cJSON_CreateObject(), *p = cJSON_CreateObject();
	unsigned char rnd[16];
	char *iss = mdc_xasprintf("%s/%s/", e->base_url, tid), *uti, *token;
	const char *oid = json_str(principal, "objectId");

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	uti = mdc_base64url(rnd, sizeof(rnd));
	cJSON_AddStringToObject(h, "typ", "JWT");
	cJSON_AddStringToObject(h, "alg", "RS256");
	cJSON_AddStringToObject(h, "x5t", e->x5t);
	cJSON_AddStringToObject(h, "kid", e->kid);
	cJSON_AddStringToObject(p, "aud", aud);
	cJSON_AddStringToObject(p, "iss", iss);
	cJSON_AddNumberToObject(p, "iat", (double)now);
	cJSON_AddNumberToObject(p, "nbf", (double)now);
	cJSON_AddNumberToObject(p, "exp", (double)(now + e->lifetime));
	cJSON_AddStringToObject(p, "appid", json_str(principal, "clientId"));
	cJSON_AddStringToObject(p, "appidacr", appidacr);
	cJSON_AddStringToObject(p, "idp", iss);
	cJSON_AddStringToObject(p, "idtyp", "app");
	cJSON_AddStringToObject(p, "oid", oid ? oid : "");
	cJSON_AddStringToObject(p, "sub", oid ? oid : "");
	cJSON_AddStringToObject(p, "tid", tid);
	cJSON_AddStringToObject(p, "uti", uti);
	cJSON_AddStringToObject(p, "ver", "1.0");
	token = jwt_sign(e, h, p);
	free(iss);
	free(uti);
	return token;
}

static char *bn_param_b64(EVP_PKEY *key, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *s;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
		return NULL;
	n = BN_num_bytes(bn);
	if (n <= 0 || n > (int)sizeof(buf)) {
		BN_free(bn);
		return NULL;
	}
	BN_bn2bin(bn, buf);
	BN_free(bn);
	s = mdc_base64url(buf, (size_t)n);
	return s;
}

/* A self-signed certificate over the signing key, so that the JWKS can carry x5t/x5c like
 * Entra's. */
static int make_cert(struct entra *e)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int derlen, rc = -1;
	char *b64 = NULL;

	if (!x)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"mdcemu token signing", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_set_pubkey(x, e->key) != 1 || X509_sign(x, e->key, EVP_sha256()) <= 0)
		goto cleanup;
	if (X509_digest(x, EVP_sha1(), md, &mdlen) != 1)
		goto cleanup;
	e->x5t = mdc_base64url(md, mdlen);
	derlen = i2d_X509(x, &der);
	if (derlen <= 0)
		goto cleanup;
	b64 = mdc_xmalloc((size_t)(derlen + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)b64, der, derlen);
	e->x5c = b64;
	rc = 0;
cleanup:
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

struct entra *entra_new(const char *base_url)
{
	struct entra *e;
	struct mdc_buf jwk = MDC_BUF_INIT;
	unsigned char md[32];
	const char *host;
	size_t n;

	if (!base_url)
		return NULL;
	e = mdc_xcalloc(1, sizeof(*e));
	n = strlen(base_url);
	while (n && base_url[n - 1] == '/')
		n--;
	e->base_url = mdc_xstrndup(base_url, n);
	host = strstr(e->base_url, "://");
	e->host = mdc_xstrdup(host ? host + 3 : e->base_url);
	e->lifetime = DEFAULT_LIFETIME;
	e->key = EVP_RSA_gen(2048);
	if (!e->key)
		goto fail;
	e->n = bn_param_b64(e->key, OSSL_PKEY_PARAM_RSA_N);
	e->e_exp = bn_param_b64(e->key, OSSL_PKEY_PARAM_RSA_E);
	if (!e->n || !e->e_exp || make_cert(e) < 0)
		goto fail;
	/* RFC 7638: the members in lexicographic order, no whitespace. */
	mdc_buf_addf(&jwk, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e->e_exp, e->n);
	mdc_sha256(jwk.ptr, jwk.len, md);
	mdc_buf_release(&jwk);
	e->kid = mdc_base64url(md, sizeof(md));
	return e;
fail:
	entra_free(e);
	return NULL;
}

void entra_free(struct entra *e)
{
	if (!e)
		return;
	EVP_PKEY_free(e->key);
	free(e->base_url);
	free(e->host);
	free(e->kid);
	free(e->x5t);
	free(e->n);
	free(e->e_exp);
	free(e->x5c);
	free(e);
}

void entra_set_token_lifetime(struct entra *e, int seconds)
{
	e->lifetime = seconds;
}

char *entra_issue_token(struct entra *e, const cJSON *state, const char *client_id,
                        const char *resource)
{
	const cJSON *p = find_principal(state, "clientId", client_id);
	const char *tid = state_tenant(state);

	if (!p || !tid || !resource)
		return NULL;
	return issue_token(e, tid, p, resource, "1", time(NULL));
}

/* ---------------------------------------------------------------- token endpoint */

/* Entra's error body: error, error_description ("AADSTSnnn: text\r\nTrace ID: ...\r\n
 * Correlation ID: ...\r\nTimestamp: ..."), error_codes, timestamp, trace_id,
 * correlation_id, error_uri. Returns status. */
static int aad_error(struct entra *e, char **body, int status, const char *error, long code,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int aad_error(struct entra *e, char **body, int status, const char *error, long code,
                     const char *fmt, ...)
{
	struct mdc_buf d = MDC_BUF_INIT;
	char trace[37], corr[37], ts[32];
	cJSON *root = cJSON_CreateObject(), *codes = cJSON_CreateArray();
	char *uri;
	va_list ap;

	mdc_guid_random(trace);
	mdc_guid_random(corr);
	fmt_entra_time(time(NULL), ts);
	mdc_buf_addf(&d, "AADSTS%ld: ", code);
	va_start(ap, fmt);
	mdc_buf_vaddf(&d, fmt, ap);
	va_end(ap);
	mdc_buf_addf(&d, "\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", trace, corr,
	             ts);
	cJSON_AddStringToObject(root, "error", error);
	cJSON_AddStringToObject(root, "error_description", d.ptr);
	cJSON_AddItemToArray(codes, cJSON_CreateNumber((double)code));
	cJSON_AddItemToObject(root, "error_codes", codes);
	cJSON_AddStringToObject(root, "timestamp", ts);
	cJSON_AddStringToObject(root, "trace_id", trace);
	cJSON_AddStringToObject(root, "correlation_id", corr);
	uri = mdc_xasprintf("%s/error?code=%ld", e->base_url, code);
	cJSON_AddStringToObject(root, "error_uri", uri);
	free(uri);
	mdc_buf_release(&d);
	*body = json_print(root);
	return status;
}

static int tenant_not_found(struct entra *e, char **body, const char *error, const char *tenant)
{
	return aad_error(e, body, 400, error, 90002,
	                 "Tenant '%s' not found. Check to make sure you have the correct tenant ID "
	                 "and are signing into the correct cloud. Check with your subscription "
	                 "administrator, this may happen if there are no active subscriptions for "
	                 "the tenant.",
	                 tenant ? tenant : "");
}

static int missing_param(struct entra *e, char **body, const char *name)
{
	return aad_error(e, body, 400, "invalid_request", 900144,
	                 "The request body must contain the following parameter: '%s'.", name);
}

/* Upper-case hex of a thumbprint, as Entra prints "Thumbprint of key used by client". */
static void hex_upper(const unsigned char *p, size_t n, char *out, size_t outsize)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 2 < outsize; i++) {
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
}

/* A certificate registered on a principal: PEM, or bare base64 DER (Graph's keyCredentials
 * form). Returns NULL when it does not parse. */
static X509 *load_cert(const char *text)
{
	X509 *x = NULL;

	if (!strncmp(text, "-----BEGIN", 10)) {
		BIO *bio = BIO_new_mem_buf(text, -1);
		if (bio)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		unsigned char *der = NULL;
		size_t len = 0;
		if (mdc_base64url_decode(text, &der, &len) == 0) {
			const unsigned char *p = der;
			x = d2i_X509(NULL, &p, (long)len);
		}
		free(der);
	}
	return x;
}

static EVP_PKEY *load_public_key(const char *text)
{
	EVP_PKEY *pk = NULL;
	BIO *bio;

	if (!text)
		return NULL;
	if (strstr(text, "BEGIN CERTIFICATE")) {
		X509 *x = load_cert(text);
		if (x)
			pk = X509_get_pubkey(x);
		X509_free(x);
		return pk;
	}
	bio = BIO_new_mem_buf(text, -1);
	if (bio)
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pk;
}

/* The registered certificate whose SHA-256 (x5t#S256) or SHA-1 (x5t) thumbprint is tp. */
static X509 *find_cert(const cJSON *principal, const unsigned char *tp, size_t tplen, bool sha256)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(principal, "certificates"))
	{
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		X509 *x;

		if (!cJSON_IsString(c) || !(x = load_cert(c->valuestring)))
			continue;
		if (X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), md, &mdlen) == 1 &&
		    mdlen == tplen && !CRYPTO_memcmp(md, tp, tplen))
			return x;
		X509_free(x);
	}
	return NULL;
}

/* The assertion's audiences: "aud" is a string or an array of strings. */
static bool aud_matches(const cJSON *payload, bool (*match)(const char *, const void *),
                        const void *arg)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(payload, "aud"), *it;

	if (cJSON_IsString(aud))
		return match(aud->valuestring, arg);
	cJSON_ArrayForEach(it, aud)
	{
		if (cJSON_IsString(it) && match(it->valuestring, arg))
			return true;
	}
	return false;
}

static const char *first_aud(const cJSON *payload)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(payload, "aud");

	if (cJSON_IsString(aud))
		return aud->valuestring;
	if (cJSON_IsArray(aud) && cJSON_IsString(cJSON_GetArrayItem(aud, 0)))
		return cJSON_GetArrayItem(aud, 0)->valuestring;
	return "";
}

struct token_aud {
	const char *base, *tenant, *tid;
};

/* The token endpoint URL of the authority used, with the tenant as sent or as its id; the
 * v1 endpoint (.../oauth2/token) is accepted too (UNCERTAIN: Entra accepts several forms). */
static bool token_aud_match(const char *aud, const void *arg)
{
	const struct token_aud *t = arg;
	const char *tenants[] = {t->tenant, t->tid};
	bool ok = false;

	for (int i = 0; i < 2 && !ok; i++) {
		char *v2 = mdc_xasprintf("%s/%s/oauth2/v2.0/token", t->base, tenants[i]);
		char *v1 = mdc_xasprintf("%s/%s/oauth2/token", t->base, tenants[i]);
		ok = mdc_streq_i(aud, v2) || mdc_streq_i(aud, v1);
		free(v2);
		free(v1);
	}
	return ok;
}

static bool list_has(const char *aud, const void *arg)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, (const cJSON *)arg)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, aud))
			return true;
	}
	return false;
}

/* AADSTS700024 when the assertion is outside [nbf - skew, exp]. Returns 0 when in range. */
static int check_assertion_time(struct entra *e, char **body, const struct jwt *j, time_t now)
{
	time_t exp = 0, nbf = 0;
	bool has_nbf = claim_time(j->payload, "nbf", &nbf);
	char cur[40], from[40], to[40];

	if (claim_time(j->payload, "exp", &exp) && exp > now && (!has_nbf || nbf <= now + SKEW))
		return 0;
	fmt_iso7(now, cur);
	fmt_iso7(has_nbf ? nbf : 0, from);
	fmt_iso7(exp, to);
	return aad_error(e, body, 401, "invalid_client", 700024,
	                 "Client assertion is not within its valid time range. Current time: %s, "
	                 "assertion valid from %s, expiry time of assertion %s. Review the "
	                 "documentation at " CERT_DOC " .",
	                 cur, from, to);
}

/*
 * A certificate credential (Entra "certificate credentials"): header alg PS256 with
 * x5t#S256 or RS256 with x5t, claims aud = the token endpoint, iss = sub = client_id, jti,
 * nbf, exp. Returns 0 when valid, else the HTTP status with *body set.
 */
static int check_cert_assertion(struct entra *e, char **body, const cJSON *principal,
                                const char *client_id, X509 *cert, const char *tp_hex,
                                const struct jwt *j, const struct token_aud *ta, time_t now)
{
	const char *alg = json_str(j->header, "alg");
	EVP_PKEY *pk;
	int v;

	/* UNCERTAIN text; the reason mirrors what Entra prints for an expired key. */
	if (X509_cmp_time(X509_get0_notAfter(cert), NULL) < 0)
		return aad_error(
		    e, body, 401, "invalid_client", 700027,
		    "Client assertion contains an invalid signature. [Reason - The key "
		    "used is expired., Thumbprint of key used by client: '%s', Please "
		    "visit the Azure Portal, Graph Explorer or directly use MS Graph to "
		    "see configured keys for app Id '%s'. Review the documentation at " CERT_DOC
		    ".]",
		    tp_hex, client_id);
	pk = X509_get_pubkey(cert);
	v = pk ? jws_verify(pk, alg, j) : -1;
	EVP_PKEY_free(pk);
	if (v < 0)
		return aad_error(e, body, 400, "invalid_request", 5002738,
		                 "Invalid JWT token. '%s' is not a supported signature algorithm. "
		                 "Supported signing algorithms are: 'RS256, RS384, RS512, PS256, "
		                 "PS384, PS512'",
		                 alg ? alg : "");
	if (v == 0)
		return aad_error(
		    e, body, 401, "invalid_client", 700027,
		    "Client assertion contains an invalid signature. [Reason - The "
		    "provided signature value did not match the expected signature "
		    "value., Thumbprint of key used by client: '%s', Please visit the "
		    "Azure Portal, Graph Explorer or directly use MS Graph to see "
		    "configured keys for app Id '%s'. Review the documentation at " CERT_DOC ".]",
		    tp_hex, client_id);
	if (!mdc_streq_i(json_str(j->payload, "iss"), client_id) ||
	    !mdc_streq_i(json_str(j->payload, "sub"), client_id))
		return aad_error(
		    e, body, 401, "invalid_client", 700021,
		    "Client assertion application identifier doesn't match 'client_id' "
		    "parameter. Review the documentation at " CERT_DOC " .");
	if (!aud_matches(j->payload, token_aud_match, ta))
		return aad_error(
		    e, body, 401, "invalid_client", 700023,
		    "Client assertion audience claim does not match Realm issuer. Review "
		    "the documentation at " CERT_DOC " .");
	v = check_assertion_time(e, body, j, now);
	if (v)
		return v;
	/* UNCERTAIN code and text for a missing jti. */
	if (!json_str(j->payload, "jti"))
		return aad_error(e, body, 400, "invalid_request", 50027,
		                 "JWT token is invalid or malformed. The 'jti' claim is missing.");
	(void)principal;
	return 0;
}

/*
 * A federated credential (workload identity federation): the assertion's iss + sub + aud
 * must match one of the principal's federatedCredentials (case-sensitive, as Entra matches
 * since 2024), and its signature must verify with that entry's publicKey (standing in for
 * the issuer's OIDC JWKS, which the emulator cannot fetch).
 */
static int check_federated_assertion(struct entra *e, char **body, const cJSON *principal,
                                     const struct jwt *j, time_t now)
{
	const char *iss = json_str(j->payload, "iss"), *sub = json_str(j->payload, "sub");
	const char *alg = json_str(j->header, "alg");
	const cJSON *fc, *match = NULL;
	EVP_PKEY *pk;
	int v;

	cJSON_ArrayForEach(fc, cJSON_GetObjectItemCaseSensitive(principal, "federatedCredentials"))
	{
		if (iss && sub && mdc_streq(json_str(fc, "issuer"), iss) &&
		    mdc_streq(json_str(fc, "subject"), sub) &&
		    aud_matches(j->payload, list_has,
		                cJSON_GetObjectItemCaseSensitive(fc, "audiences"))) {
			match = fc;
			break;
		}
	}
	if (!match)
		return aad_error(e, body, 400, "invalid_request", 70021,
		                 "No matching federated identity record found for presented "
		                 "assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. "
		                 "Assertion Audience: '%s'. " WIF_DOC,
		                 iss ? iss : "", sub ? sub : "", first_aud(j->payload));
	pk = load_public_key(json_str(match, "publicKey"));
	v = pk ? jws_verify(pk, alg, j) : 0;
	EVP_PKEY_free(pk);
	/* UNCERTAIN: the code Entra returns when a federated token's signature does not
	 * verify against the issuer's keys. */
	if (v < 0)
		return aad_error(e, body, 400, "invalid_request", 5002738,
		                 "Invalid JWT token. '%s' is not a supported signature algorithm. "
		                 "Supported signing algorithms are: 'RS256, RS384, RS512, PS256, "
		                 "PS384, PS512'",
		                 alg ? alg : "");
	if (v == 0)
		return aad_error(e, body, 401, "invalid_client", 50013,
		                 "Assertion failed signature validation. [Reason - The key was not "
		                 "found.]");
	return check_assertion_time(e, body, j, now);
}

/* Dispatches a client assertion to the certificate or the federated check. */
static int check_assertion(struct entra *e, char **body, const cJSON *principal,
                           const char *client_id, const char *assertion, const struct token_aud *ta,
                           time_t now)
{
	struct jwt j;
	const char *x5t256, *x5t, *iss;
	unsigned char *tp = NULL;
	size_t tplen = 0;
	X509 *cert = NULL;
	char tp_hex[130] = "";
	int rc;

	/* UNCERTAIN code: Entra answers AADSTS50027 for a JWT it cannot parse. */
	if (jwt_parse(assertion, &j) < 0)
		return aad_error(e, body, 400, "invalid_request", 50027,
		                 "JWT token is invalid or malformed.");
	x5t256 = json_str(j.header, "x5t#S256");
	x5t = json_str(j.header, "x5t");
	iss = json_str(j.payload, "iss");
	if (x5t256 || x5t) {
		if (mdc_base64url_decode(x5t256 ? x5t256 : x5t, &tp, &tplen) == 0) {
			hex_upper(tp, tplen, tp_hex, sizeof(tp_hex));
			cert = find_cert(principal, tp, tplen, x5t256 != NULL);
		}
	}
	/*
	 * A certificate assertion names a registered certificate and is issued by the client
	 * itself; anything else issued by someone else (GitHub, Kubernetes; their tokens may
	 * carry an x5t of their own key) is a federated assertion.
	 */
	if (cert) {
		rc = check_cert_assertion(e, body, principal, client_id, cert, tp_hex, &j, ta, now);
	} else if (iss && !mdc_streq_i(iss, client_id)) {
		rc = check_federated_assertion(e, body, principal, &j, now);
	} else if (!x5t256 && !x5t) {
		rc = aad_error(e, body, 400, "invalid_request", 50027,
		               "Invalid JWT token. No certificate thumbprint specified in token "
		               "header.");
	} else {
		rc =
		    aad_error(e, body, 401, "invalid_client", 700027,
		              "The certificate with identifier used to sign the client assertion "
		              "is not registered on application. [Reason - The key was not found., "
		              "Thumbprint of key used by client: '%s', Please visit the Azure "
		              "Portal, Graph Explorer or directly use MS Graph to see configured "
		              "keys for app Id '%s'. Review the documentation at " CERT_DOC " .]",
		              tp_hex, client_id);
	}
	X509_free(cert);
	free(tp);
	jwt_release(&j);
	return rc;
}

/* The resource of a client-credentials scope: exactly one "<resource>/.default" (OIDC
 * scopes MSAL may add are ignored). Returns a new string, or NULL when invalid. */
static char *scope_resource(const char *scope)
{
	char *copy = mdc_xstrdup(scope), *save = NULL, *tok, *res = NULL;
	bool bad = false;

	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "openid") || !strcmp(tok, "profile") ||
		    !strcmp(tok, "offline_access") || !strcmp(tok, "email"))
			continue;
		if (res || !ends_with(tok, "/.default") || strlen(tok) == strlen("/.default")) {
			bad = true;
			break;
		}
		res = mdc_xstrndup(tok, strlen(tok) - strlen("/.default"));
	}
	free(copy);
	if (bad) {
		free(res);
		return NULL;
	}
	return res;
}

int entra_token(struct entra *e, const cJSON *state, const char *tenant, const char *form,
                size_t len, char **body)
{
	struct mdc_kvlist kl = {0};
	const char *tid, *grant, *client_id, *scope, *secret, *assertion, *atype;
	const cJSON *principal;
	char *resource = NULL, *token = NULL;
	const char *acr = "1";
	time_t now = time(NULL);
	int rc;

	*body = NULL;
	parse_form(&kl, form ? form : "", form ? len : 0);
	tid = resolve_tenant(state, tenant);
	if (!tid) {
		/* UNCERTAIN: client credentials need a tenant; Entra's answer for the
		 * multi-tenant aliases is taken to be AADSTS50059. */
		if (tenant &&
		    (!strcasecmp(tenant, "common") || !strcasecmp(tenant, "organizations") ||
		     !strcasecmp(tenant, "consumers")))
			rc = aad_error(e, body, 400, "invalid_request", 50059,
			               "No tenant-identifying information found in either the "
			               "request or implied by any provided credentials.");
		else
			rc = tenant_not_found(e, body, "invalid_request", tenant);
		goto cleanup;
	}
	grant = form_get(&kl, "grant_type");
	if (!grant) {
		rc = missing_param(e, body, "grant_type");
		goto cleanup;
	}
	/* The emulator serves the client credentials grant only (UNCERTAIN code for the
	 * grants Entra has but the emulator lacks). */
	if (strcmp(grant, "client_credentials")) {
		rc = aad_error(e, body, 400, "unsupported_grant_type", 70003,
		               "The app requested an unsupported grant type '%s'.", grant);
		goto cleanup;
	}
	client_id = form_get(&kl, "client_id");
	if (!client_id) {
		rc = missing_param(e, body, "client_id");
		goto cleanup;
	}
	principal = find_principal(state, "clientId", client_id);
	if (!principal) {
		rc = aad_error(e, body, 400, "unauthorized_client", 700016,
		               "Application with identifier '%s' was not found in the directory "
		               "'%s'. This can happen if the application has not been installed by "
		               "the administrator of the tenant or consented to by any user in the "
		               "tenant. You may have sent your authentication request to the wrong "
		               "tenant.",
		               client_id, tid);
		goto cleanup;
	}
	scope = form_get(&kl, "scope");
	if (!scope) {
		rc = missing_param(e, body, "scope");
		goto cleanup;
	}
	resource = scope_resource(scope);
	if (!resource) {
		rc = aad_error(e, body, 400, "invalid_scope", 1002012,
		               "The provided value for scope %s is not valid. Client credential "
		               "flows must have a scope value with /.default suffixed to the "
		               "resource identifier (application ID URI).",
		               scope);
		goto cleanup;
	}
	if (!is_known_resource(e, resource)) {
		rc = aad_error(e, body, 400, "invalid_resource", 500011,
		               "The resource principal named %s was not found in the tenant named "
		               "%s. This can happen if the application has not been installed by "
		               "the administrator of the tenant or consented to by any user in the "
		               "tenant. You might have sent your authentication request to the "
		               "wrong tenant.",
		               resource, tid);
		goto cleanup;
	}

	secret = form_get(&kl, "client_secret");
	assertion = form_get(&kl, "client_assertion");
	atype = form_get(&kl, "client_assertion_type");
	if (assertion) {
		struct token_aud ta = {e->base_url, tenant, tid};
		if (!atype) {
			rc = missing_param(e, body, "client_assertion_type");
			goto cleanup;
		}
		/* UNCERTAIN code for an assertion type other than jwt-bearer. */
		if (strcmp(atype, ASSERTION_TYPE_JWT)) {
			rc = aad_error(e, body, 400, "invalid_request", 50027,
			               "JWT token is invalid or malformed. Unsupported "
			               "client_assertion_type '%s'.",
			               atype);
			goto cleanup;
		}
		rc = check_assertion(e, body, principal, client_id, assertion, &ta, now);
		if (rc)
			goto cleanup;
		acr = "2";
	} else if (secret) {
		const char *want = json_str(principal, "secret");
		if (!want || strlen(want) != strlen(secret) ||
		    CRYPTO_memcmp(want, secret, strlen(want))) {
			rc = aad_error(e, body, 401, "invalid_client", 7000215,
			               "Invalid client secret provided. Ensure the secret being "
			               "sent in the request is the client secret value, not the "
			               "client secret ID, for a secret added to app '%s'.",
			               json_str(principal, "clientId"));
			goto cleanup;
		}
	} else {
		rc = aad_error(e, body, 401, "invalid_client", 7000218,
		               "The request body must contain the following parameter: "
		               "'client_assertion' or 'client_secret'.");
		goto cleanup;
	}

	token = issue_token(e, tid, principal, resource, acr, now);
	{
		cJSON *root = cJSON_CreateObject();
		cJSON_AddStringToObject(root, "token_type", "Bearer");
		cJSON_AddNumberToObject(root, "expires_in", e->lifetime);
		cJSON_AddNumberToObject(root, "ext_expires_in", e->lifetime);
		cJSON_AddStringToObject(root, "access_token", token);
		*body = json_print(root);
	}
	rc = 200;
cleanup:
	free(token);
	free(resource);
	mdc_kvlist_clear(&kl);
	return rc;
}

/* ---------------------------------------------------------------- managed identity */

/* App Service's error shape (UNCERTAIN): {"statusCode":N,"message":"...","correlationId":"..."} */
static int msi_error(char **body, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int msi_error(char **body, int status, const char *fmt, ...)
{
	struct mdc_buf m = MDC_BUF_INIT;
	cJSON *root = cJSON_CreateObject();
	char corr[37];
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&m, fmt, ap);
	va_end(ap);
	mdc_guid_random(corr);
	cJSON_AddNumberToObject(root, "statusCode", status);
	cJSON_AddStringToObject(root, "message", m.ptr);
	cJSON_AddStringToObject(root, "correlationId", corr);
	mdc_buf_release(&m);
	*body = json_print(root);
	return status;
}

int entra_msi_token(struct entra *e, const cJSON *state, const char *query,
                    const char *identity_header, const char *secret, char **body)
{
	struct mdc_kvlist kl = {0};
	const char *want = json_str(state, "managedIdentityHeader");
	const char *version, *resource, *cid, *pid, *tid = state_tenant(state), *given;
	const cJSON *p, *principal = NULL;
	time_t now = time(NULL);
	char *token, expires_on[40];
	bool legacy;
	cJSON *root;
	int rc;

	*body = NULL;
	parse_form(&kl, query ? query : "", query ? strlen(query) : 0);
	version = form_get(&kl, "api-version");
	legacy = version && !strcmp(version, "2017-09-01");
	given = legacy ? secret : identity_header;
	/* UNCERTAIN: App Service's status for a missing or wrong X-IDENTITY-HEADER (or, in
	 * 2017-09-01, secret); 401 is taken because the header is the caller's credential.
	 * Both protocols share the one value, as IDENTITY_HEADER and MSI_SECRET do. */
	if (!want || !given || strlen(want) != strlen(given) ||
	    CRYPTO_memcmp(want, given, strlen(want))) {
		rc = msi_error(body, 401, "The %s header is missing or invalid.",
		               legacy ? "secret" : "X-IDENTITY-HEADER");
		goto cleanup;
	}
	if (!version || (!legacy && strcmp(version, "2019-08-01"))) {
		rc = msi_error(body, 400,
		               "The api-version '%s' is not supported; use 2019-08-01 or "
		               "2017-09-01.",
		               version ? version : "");
		goto cleanup;
	}
	resource = form_get(&kl, "resource");
	if (!resource) {
		rc = msi_error(body, 400, "The 'resource' query parameter is required.");
		goto cleanup;
	}
	if (!tid || !is_known_resource(e, resource)) {
		rc = msi_error(body, 400,
		               "AADSTS500011: The resource principal named %s was not found in the "
		               "tenant named %s.",
		               resource, tid ? tid : "");
		goto cleanup;
	}
	cid = form_get(&kl, legacy ? "clientid" : "client_id");
	pid = form_get(&kl, "principal_id");
	if (!pid)
		pid = form_get(&kl, "object_id");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(state, "principals"))
	{
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "managedIdentity")))
			continue;
		if ((cid && !mdc_streq_i(json_str(p, "clientId"), cid)) ||
		    (pid && !mdc_streq_i(json_str(p, "objectId"), pid)))
			continue;
		principal = p;
		break;
	}
	/* mi_res_id (a resource id) is not modelled: such requests find no identity. */
	if (!principal || form_get(&kl, "mi_res_id")) {
		rc = msi_error(body, 400, "Unable to load the proper Managed Identity.");
		goto cleanup;
	}
	token = issue_token(e, tid, principal, resource, "2", now);
	if (legacy) { /* "11/05/2021 15:18:31 +00:00" (2017-09-01; the Azure CLI's sample) */
		time_t exp = now + e->lifetime;
		struct tm tm;

		gmtime_r(&exp, &tm);
		strftime(expires_on, sizeof(expires_on), "%m/%d/%Y %H:%M:%S +00:00", &tm);
	} else {
		snprintf(expires_on, sizeof(expires_on), "%lld", (long long)now + e->lifetime);
	}
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "access_token", token);
	cJSON_AddStringToObject(root, "expires_on", expires_on);
	cJSON_AddStringToObject(root, "resource", resource);
	cJSON_AddStringToObject(root, "token_type", "Bearer");
	cJSON_AddStringToObject(root, "client_id", json_str(principal, "clientId"));
	free(token);
	*body = json_print(root);
	rc = 200;
cleanup:
	mdc_kvlist_clear(&kl);
	return rc;
}

/* ---------------------------------------------------------------- discovery */

static cJSON *string_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

#define STRINGS(...)                                                                               \
	string_array((const char *const[]){__VA_ARGS__},                                           \
	             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void add_url(cJSON *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_url(cJSON *o, const char *key, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, key, b.ptr);
	mdc_buf_release(&b);
}

/* {tenant}/v2.0/.well-known/openid-configuration (v2) or {tenant}/.well-known/... (v1).
 * seg is the tenant used in the endpoints: the tenant id, or the alias for common etc. */
static char *openid_configuration(struct entra *e, const char *seg, const char *issuer_tid, bool v2)
{
	cJSON *o = cJSON_CreateObject();
	const char *b = e->base_url, *ver = v2 ? "/v2.0" : "";

	add_url(o, "token_endpoint", "%s/%s/oauth2%s/token", b, seg, ver);
	cJSON_AddItemToObject(
	    o, "token_endpoint_auth_methods_supported",
	    STRINGS("client_secret_post", "private_key_jwt", "client_secret_basic"));
	if (v2)
		add_url(o, "jwks_uri", "%s/%s/discovery/v2.0/keys", b, seg);
	else
		add_url(o, "jwks_uri", "%s/common/discovery/keys", b);
	cJSON_AddItemToObject(o, "response_modes_supported",
	                      STRINGS("query", "fragment", "form_post"));
	cJSON_AddItemToObject(o, "subject_types_supported", STRINGS("pairwise"));
	cJSON_AddItemToObject(o, "id_token_signing_alg_values_supported", STRINGS("RS256"));
	cJSON_AddItemToObject(o, "response_types_supported",
	                      STRINGS("code", "id_token", "code id_token", "id_token token"));
	cJSON_AddItemToObject(o, "scopes_supported",
	                      STRINGS("openid", "profile", "email", "offline_access"));
	/* v2 issuer is {base}/{tid}/v2.0; v1 is {base}/{tid}/, the iss of issued tokens
	 * (Entra's "https://sts.windows.net/{tid}/"). */
	if (v2)
		add_url(o, "issuer", "%s/%s/v2.0", b, issuer_tid);
	else
		add_url(o, "issuer", "%s/%s/", b, issuer_tid);
	cJSON_AddBoolToObject(o, "request_uri_parameter_supported", 0);
	add_url(o, "userinfo_endpoint", "%s/oidc/userinfo", b);
	add_url(o, "authorization_endpoint", "%s/%s/oauth2%s/authorize", b, seg, ver);
	add_url(o, "device_authorization_endpoint", "%s/%s/oauth2%s/devicecode", b, seg, ver);
	cJSON_AddBoolToObject(o, "http_logout_supported", 1);
	cJSON_AddBoolToObject(o, "frontchannel_logout_supported", 1);
	add_url(o, "end_session_endpoint", "%s/%s/oauth2%s/logout", b, seg, ver);
	cJSON_AddItemToObject(o, "claims_supported",
	                      STRINGS("sub", "iss", "cloud_instance_name",
	                              "cloud_instance_host_name", "cloud_graph_host_name",
	                              "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
	                              "nonce", "preferred_username", "name", "tid", "ver",
	                              "at_hash", "c_hash", "email"));
	add_url(o, "kerberos_endpoint", "%s/%s/kerberos", b, seg);
	cJSON_AddStringToObject(o, "tenant_region_scope", "NA");
	/* The cloud host names point at the emulator so that no client wanders off to the
	 * real cloud. */
	cJSON_AddStringToObject(o, "cloud_instance_name", e->host);
	cJSON_AddStringToObject(o, "cloud_graph_host_name", e->host);
	cJSON_AddStringToObject(o, "msgraph_host", e->host);
	cJSON_AddStringToObject(o, "rbac_url", e->base_url);
	return json_print(o);
}

static char *jwks(struct entra *e)
{
	cJSON *root = cJSON_CreateObject(), *keys = cJSON_CreateArray(), *k = cJSON_CreateObject();

	cJSON_AddStringToObject(k, "kty", "RSA");
	cJSON_AddStringToObject(k, "use", "sig");
	cJSON_AddStringToObject(k, "kid", e->kid);
	cJSON_AddStringToObject(k, "x5t", e->x5t);
	cJSON_AddStringToObject(k, "n", e->n);
	cJSON_AddStringToObject(k, "e", e->e_exp);
	cJSON_AddItemToObject(k, "x5c", STRINGS(e->x5c));
	cJSON_AddItemToArray(keys, k);
	cJSON_AddItemToObject(root, "keys", keys);
	return json_print(root);
}

/* MSAL's instance discovery: {base}/common/discovery/instance?api-version=1.1&
 * authorization_endpoint={base}/{tenant}/oauth2/v2.0/authorize. */
static int instance_discovery(struct entra *e, const char *query, char **body)
{
	struct mdc_kvlist kl = {0};
	const char *ae;
	char *tenant = NULL;
	cJSON *root, *md, *m;
	int rc;

	parse_form(&kl, query, strlen(query));
	ae = form_get(&kl, "authorization_endpoint");
	/* MSAL Python builds the URL from the authority's host name without its port
	 * ("https://localhost/{tenant}/..."), so the port is not compared. */
	if (ae && strstr(ae, "://")) {
		const char *h = strstr(ae, "://") + 3, *end = h + strcspn(h, ":/");
		size_t ours = strcspn(e->host, ":");
		if ((size_t)(end - h) == ours && !strncasecmp(h, e->host, ours)) {
			const char *t = strchr(end, '/'), *slash;
			if (t) {
				t++;
				slash = strchr(t, '/');
				tenant =
				    slash ? mdc_xstrndup(t, (size_t)(slash - t)) : mdc_xstrdup(t);
			}
		}
	}
	if (!tenant || !*tenant) {
		rc = aad_error(e, body, 400, "invalid_instance", 50049,
		               "Unknown or invalid instance.");
		goto cleanup;
	}
	root = cJSON_CreateObject();
	add_url(root, "tenant_discovery_endpoint", "%s/%s/v2.0/.well-known/openid-configuration",
	        e->base_url, tenant);
	cJSON_AddStringToObject(root, "api-version", "1.1");
	md = cJSON_CreateArray();
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "preferred_network", e->host);
	cJSON_AddStringToObject(m, "preferred_cache", e->host);
	cJSON_AddItemToObject(m, "aliases", STRINGS(e->host));
	cJSON_AddItemToArray(md, m);
	cJSON_AddItemToObject(root, "metadata", md);
	*body = json_print(root);
	rc = 200;
cleanup:
	free(tenant);
	mdc_kvlist_clear(&kl);
	return rc;
}

static bool is_alias(const char *t)
{
	return !strcasecmp(t, "common") || !strcasecmp(t, "organizations") ||
	       !strcasecmp(t, "consumers");
}

int entra_discovery(struct entra *e, const cJSON *state, const char *path, char **body)
{
	const char *q, *p, *slash, *rest, *tid;
	char *tenant;
	int rc = 404;

	*body = NULL;
	if (!path)
		return 404;
	p = path[0] == '/' ? path + 1 : path;
	q = strchr(p, '?');
	slash = strchr(p, '/');
	if (!slash || (q && slash > q))
		return 404;
	tenant = mdc_xstrndup(p, (size_t)(slash - p));
	rest = slash; /* "/v2.0/.well-known/..." etc., query included */
	{
		size_t n = q ? (size_t)(q - rest) : strlen(rest);
		char *r = mdc_xstrndup(rest, n);
		bool v2conf = !strcmp(r, "/v2.0/.well-known/openid-configuration");
		bool v1conf = !strcmp(r, "/.well-known/openid-configuration");
		bool keys = !strcmp(r, "/discovery/keys") || !strcmp(r, "/discovery/v2.0/keys");
		bool instance = !strcmp(r, "/discovery/instance") && !strcasecmp(tenant, "common");

		free(r);
		if (instance) {
			rc = instance_discovery(e, q ? q + 1 : "", body);
		} else if (v2conf || v1conf || keys) {
			tid = resolve_tenant(state, tenant);
			if (!tid && !is_alias(tenant)) {
				rc = tenant_not_found(e, body, "invalid_tenant", tenant);
			} else if (keys) {
				*body = jwks(e);
				rc = 200;
			} else {
				/* Like Entra, a multi-tenant alias keeps "{tenantid}" in its
				 * issuer. */
				*body = openid_configuration(e, tid ? tid : tenant,
				                             tid ? tid : "{tenantid}", v2conf);
				rc = 200;
			}
		}
	}
	free(tenant);
	return rc;
}

/* ---------------------------------------------------------------- bearer validation */

static int bearer_fail(struct entra *e, const cJSON *state, const char *tid, const char *code,
                       const char *desc, const char **out_code, char **message, char **www, ...)
    __attribute__((format(printf, 5, 9)));
static int bearer_fail(struct entra *e, const cJSON *state, const char *tid, const char *code,
                       const char *desc, const char **out_code, char **message, char **www, ...)
{
	struct mdc_buf m = MDC_BUF_INIT, w = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, www);
	mdc_buf_vaddf(&m, desc, ap);
	va_end(ap);
	if (!tid)
		tid = state_tenant(state);
	mdc_buf_addf(&w,
	             "Bearer authorization_uri=\"%s/%s\", error=\"invalid_token\", "
	             "error_description=\"",
	             e->base_url, tid ? tid : "common");
	/* Real ARM words the missing-header case differently in the challenge. */
	if (!strcmp(code, "AuthenticationFailed") && strstr(m.ptr, "is missing"))
		mdc_buf_adds(&w, "The authentication failed because of missing 'Authorization' "
		                 "header.");
	else
		for (const char *s = m.ptr; *s; s++)
			mdc_buf_addch(&w, *s == '"' ? '\'' : *s);
	mdc_buf_addch(&w, '"');
	*out_code = code;
	*message = mdc_buf_detach(&m);
	*www = mdc_buf_detach(&w);
	return 401;
}

#define FAIL(code, ...) bearer_fail(e, state, tid, code, __VA_ARGS__)

/* The audiences the Log Analytics query API accepts (§10.6, §11): its public hosts, and the
 * emulator's own base URL so that tests need only one endpoint. */
static bool is_la_audience(struct entra *e, const char *aud)
{
	static const char *const la[] = {"https://api.loganalytics.io",
	                                 "https://api.loganalytics.us",
	                                 "https://api.loganalytics.azure.cn"};
	size_t n;

	if (!aud)
		return false;
	for (size_t i = 0; i < sizeof(la) / sizeof(*la); i++) {
		n = strlen(la[i]);
		if (!strncmp(aud, la[i], n) && (!aud[n] || !strcmp(aud + n, "/")))
			return true;
	}
	n = strlen(e->base_url);
	return !strncmp(aud, e->base_url, n) && (!aud[n] || !strcmp(aud + n, "/"));
}

static int check_bearer(struct entra *e, const cJSON *state, const char *authorization,
                        bool loganalytics, struct entra_caller *caller, const char **code,
                        char **message, char **www_authenticate);

int entra_check_bearer(struct entra *e, const cJSON *state, const char *authorization,
                       struct entra_caller *caller, const char **code, char **message,
                       char **www_authenticate)
{
	return check_bearer(e, state, authorization, false, caller, code, message,
	                    www_authenticate);
}

int entra_check_bearer_loganalytics(struct entra *e, const cJSON *state, const char *authorization,
                                    struct entra_caller *caller, const char **code, char **message,
                                    char **www_authenticate)
{
	return check_bearer(e, state, authorization, true, caller, code, message, www_authenticate);
}

static int check_bearer(struct entra *e, const cJSON *state, const char *authorization,
                        bool loganalytics, struct entra_caller *caller, const char **code,
                        char **message, char **www_authenticate)
{
	struct jwt j = {0};
	const char *tok, *tid = NULL, *aud, *oid;
	time_t now = time(NULL), exp = 0, nbf = 0;
	char a[40], b[40];
	int rc;

	*code = NULL;
	*message = NULL;
	*www_authenticate = NULL;
	memset(caller, 0, sizeof(*caller));
	if (!authorization || !*authorization)
		return FAIL("AuthenticationFailed",
		            "Authentication failed. The 'Authorization' header is missing.", code,
		            message, www_authenticate);
	if (strncasecmp(authorization, "Bearer ", 7))
		return FAIL("AuthenticationFailed",
		            "Authentication failed. The 'Authorization' header is provided in an "
		            "invalid format.",
		            code, message, www_authenticate);
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	/* UNCERTAIN text for a token ARM cannot parse or verify. */
	if (jwt_parse(tok, &j) < 0)
		return FAIL("InvalidAuthenticationToken", "The access token is invalid.", code,
		            message, www_authenticate);
	tid = json_str(j.payload, "tid");
	if (!mdc_streq(json_str(j.header, "alg"), "RS256") ||
	    (json_str(j.header, "kid") && !mdc_streq(json_str(j.header, "kid"), e->kid)) ||
	    jws_verify(e->key, "RS256", &j) != 1) {
		rc = FAIL("InvalidAuthenticationToken",
		          "The access token is invalid. The signature could not be verified.", code,
		          message, www_authenticate);
		goto cleanup;
	}
	/* No skew on exp: a token past its exp is refused at once (ARM's own tolerance is
	 * UNCERTAIN). */
	if (!claim_time(j.payload, "exp", &exp) || exp <= now) {
		fmt_dotnet(exp, a);
		fmt_dotnet(now, b);
		rc = FAIL("ExpiredAuthenticationToken",
		          "The access token expiry UTC time '%s' is earlier than current UTC time "
		          "'%s'.",
		          code, message, www_authenticate, a, b);
		goto cleanup;
	}
	if (claim_time(j.payload, "nbf", &nbf) && nbf > now + SKEW) {
		fmt_dotnet(nbf, a);
		fmt_dotnet(now, b);
		rc = FAIL("InvalidAuthenticationToken",
		          "The access token validity start UTC time '%s' is later than current UTC "
		          "time '%s'.",
		          code, message, www_authenticate, a, b);
		goto cleanup;
	}
	aud = json_str(j.payload, "aud");
	if (loganalytics && !is_la_audience(e, aud)) {
		/* UNCERTAIN text: Log Analytics' own wording for a token of another audience. */
		rc = FAIL("InvalidAuthenticationTokenAudience",
		          "The access token has been obtained for wrong audience or resource '%s'. "
		          "It should be 'https://api.loganalytics.io' (or '%s').",
		          code, message, www_authenticate, aud ? aud : "", e->base_url);
		goto cleanup;
	}
	if (!loganalytics && !is_arm_audience(e, aud)) {
		/* ARM's real code for this case is InvalidAuthenticationTokenAudience. */
		rc =
		    FAIL("InvalidAuthenticationTokenAudience",
		         "The access token has been obtained for wrong audience or resource '%s'. "
		         "It should exactly match with one of the allowed audiences "
		         "'https://management.core.windows.net/','https://"
		         "management.core.windows.net','https://management.azure.com/','https://"
		         "management.azure.com','%s/','%s'.",
		         code, message, www_authenticate, aud ? aud : "", e->base_url, e->base_url);
		goto cleanup;
	}
	oid = json_str(j.payload, "oid");
	/* UNCERTAIN: a deleted principal's still-valid token; refused here so that tests
	 * of removal need not wait an hour. */
	if (!oid || !find_principal(state, "objectId", oid) || !tid) {
		rc = FAIL("InvalidAuthenticationToken",
		          "The access token is invalid. The principal '%s' does not exist in the "
		          "tenant.",
		          code, message, www_authenticate, oid ? oid : "");
		goto cleanup;
	}
	snprintf(caller->oid, sizeof(caller->oid), "%s", oid);
	snprintf(caller->appid, sizeof(caller->appid), "%s",
	         json_str(j.payload, "appid") ? json_str(j.payload, "appid") : "");
	snprintf(caller->tid, sizeof(caller->tid), "%s", tid);
	rc = 0;
cleanup:
	jwt_release(&j);
	return rc;
}
