/*
 * Unit tests of mdcemu's Entra ID (entra.c), calling entra_* directly: the token endpoint
 * with secrets, certificate and federated assertions built here with OpenSSL, bearer
 * validation, the managed-identity endpoint and the discovery documents.
 */
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "entra.h"
#include "harness.h"
#include "util.h"

#define BASE       "https://localhost:8443"
#define TID        "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define DOMAIN     "contoso.onmicrosoft.com"
#define SECRET_APP "11111111-1111-4111-8111-111111111111"
#define SECRET_OID "aaaaaaaa-1111-4111-8111-111111111111"
#define SECRET     "s3cr+t/&=% value"
#define CERT_APP   "22222222-2222-4222-8222-222222222222"
#define CERT_OID   "bbbbbbbb-2222-4222-8222-222222222222"
#define MI_APP     "33333333-3333-4333-8333-333333333333"
#define MI_OID     "cccccccc-3333-4333-8333-333333333333"
#define MI_HEADER  "identity-header-value"
#define GH_ISS     "https://token.actions.githubusercontent.com"
#define GH_SUB     "repo:contoso/infra:ref:refs/heads/main"
#define XCHG_AUD   "api://AzureADTokenExchange"
#define ARM_SCOPE  "https://management.azure.com/.default"
#define TOKEN_URL  BASE "/" TID "/oauth2/v2.0/token"

/* Shared fixtures: keys are slow to make, so each is made once. */
static struct entra *emu;
static cJSON *state;
static EVP_PKEY *cert_key, *other_key, *fed_key;
static X509 *cert;

/* ---------------------------------------------------------------- helpers */

static EVP_PKEY *rsa_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	if (!k)
		abort();
	return k;
}

/* The same key and days give the same certificate (and thumbprint) all through the run:
 * the validity counts from one instant taken once, not from each call's clock. */
static X509 *self_signed(EVP_PKEY *key, long not_after_days)
{
	static time_t base;
	X509 *x = X509_new();
	X509_NAME *name;

	if (!base)
		base = time(NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &base);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)not_after_days, 0, &base);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mdcctl-test",
	                           -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		abort();
	return x;
}

static char *cert_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &data);
	s = mdc_xstrndup(data, (size_t)n);
	BIO_free(bio);
	return s;
}

static char *pubkey_pem(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	PEM_write_bio_PUBKEY(bio, k);
	n = BIO_get_mem_data(bio, &data);
	s = mdc_xstrndup(data, (size_t)n);
	BIO_free(bio);
	return s;
}

static char *thumbprint(X509 *x, bool sha256)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), md, &n);
	return mdc_base64url(md, n);
}

/* Signs a JWT with alg RS256 or PS256; takes the two trees. */
static char *sign_jwt(EVP_PKEY *key, bool pss, cJSON *header, cJSON *payload)
{
	char *h = cJSON_PrintUnformatted(header), *p = cJSON_PrintUnformatted(payload);
	char *hb = mdc_base64url(h, strlen(h)), *pb = mdc_base64url(p, strlen(p)), *sb;
	struct mdc_buf b = MDC_BUF_INIT;
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	mdc_buf_addf(&b, "%s.%s", hb, pb);
	EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key);
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)b.ptr, b.len) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	sb = mdc_base64url(sig, siglen);
	mdc_buf_addf(&b, ".%s", sb);
	free(h);
	free(p);
	free(hb);
	free(pb);
	free(sb);
	cJSON_Delete(header);
	cJSON_Delete(payload);
	return mdc_buf_detach(&b);
}

struct assertion_opts {
	const char *alg;       /* header alg, default PS256 (x5t#S256) */
	EVP_PKEY *key;         /* signing key, default cert_key */
	bool pss;              /* padding actually used; default follows alg */
	bool force_padding;    /* use .pss as given even if alg says otherwise */
	X509 *x5t_cert;        /* the certificate named in the header, default cert */
	const char *aud;       /* default TOKEN_URL */
	const char *iss, *sub; /* default CERT_APP */
	long exp_offset;       /* default +600 */
	long nbf_offset;       /* default 0 */
	bool no_jti;
};

/* A certificate client assertion as MSAL builds it. */
static char *cert_assertion(struct assertion_opts o)
{
	cJSON *h = cJSON_CreateObject(), *p = cJSON_CreateObject();
	const char *alg = o.alg ? o.alg : "PS256";
	bool pss = o.force_padding ? o.pss : !strcmp(alg, "PS256");
	X509 *x = o.x5t_cert ? o.x5t_cert : cert;
	char *tp = thumbprint(x, pss || !strcmp(alg, "PS256"));
	char jti[37];
	long now = (long)time(NULL);

	cJSON_AddStringToObject(h, "alg", alg);
	cJSON_AddStringToObject(h, "typ", "JWT");
	cJSON_AddStringToObject(h, !strcmp(alg, "PS256") ? "x5t#S256" : "x5t", tp);
	free(tp);
	mdc_guid_random(jti);
	cJSON_AddStringToObject(p, "aud", o.aud ? o.aud : TOKEN_URL);
	cJSON_AddNumberToObject(p, "exp", (double)(now + (o.exp_offset ? o.exp_offset : 600)));
	cJSON_AddStringToObject(p, "iss", o.iss ? o.iss : CERT_APP);
	if (!o.no_jti)
		cJSON_AddStringToObject(p, "jti", jti);
	cJSON_AddNumberToObject(p, "nbf", (double)(now + o.nbf_offset));
	cJSON_AddStringToObject(p, "sub", o.sub ? o.sub : CERT_APP);
	cJSON_AddNumberToObject(p, "iat", (double)now);
	return sign_jwt(o.key ? o.key : cert_key, pss, h, p);
}

/* A GitHub-Actions-shaped OIDC token (its header names GitHub's own key). */
static char *federated_assertion(EVP_PKEY *key, const char *sub, cJSON *aud, long exp_offset)
{
	cJSON *h = cJSON_CreateObject(), *p = cJSON_CreateObject();
	long now = (long)time(NULL);

	cJSON_AddStringToObject(h, "typ", "JWT");
	cJSON_AddStringToObject(h, "alg", "RS256");
	cJSON_AddStringToObject(h, "x5t", "cgW_sG9vyBKfvJ2oKnhmjkhkzJk");
	cJSON_AddStringToObject(h, "kid", "1F2AB83404C08EC9EA0BB99DAED02186B091DBF4");
	cJSON_AddStringToObject(p, "jti", "9f2a");
	cJSON_AddStringToObject(p, "sub", sub);
	cJSON_AddItemToObject(p, "aud", aud ? aud : cJSON_CreateString(XCHG_AUD));
	cJSON_AddStringToObject(p, "iss", GH_ISS);
	cJSON_AddNumberToObject(p, "nbf", (double)(now - 10));
	cJSON_AddNumberToObject(p, "exp", (double)(now + exp_offset));
	cJSON_AddNumberToObject(p, "iat", (double)(now - 10));
	return sign_jwt(key, false, h, p);
}

static void form_add(struct mdc_buf *b, const char *k, const char *v)
{
	if (b->len)
		mdc_buf_addch(b, '&');
	mdc_buf_adds(b, k);
	mdc_buf_addch(b, '=');
	for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s))
			mdc_buf_addch(b, *s);
		else if (*s == ' ')
			mdc_buf_addch(b, '+');
		else
			mdc_buf_addf(b, "%%%02X", *s);
	}
}

/* POSTs a token request; returns the status and *out the parsed body (caller deletes). */
static int post_token(const char *tenant, cJSON **out, const char *client_id, const char *scope,
                      const char *secret, const char *assertion)
{
	struct mdc_buf f = MDC_BUF_INIT;
	char *body = NULL;
	int status;

	if (client_id)
		form_add(&f, "client_id", client_id);
	if (scope)
		form_add(&f, "scope", scope);
	form_add(&f, "grant_type", "client_credentials");
	if (secret)
		form_add(&f, "client_secret", secret);
	if (assertion) {
		form_add(&f, "client_assertion_type",
		         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
		form_add(&f, "client_assertion", assertion);
	}
	status = entra_token(emu, state, tenant, f.ptr, f.len, &body);
	*out = body ? cJSON_Parse(body) : NULL;
	free(body);
	mdc_buf_release(&f);
	return status;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(it) ? it->valuedouble : -1e18;
}

/* The AADSTS code of an error body, checking every field Entra sends. Returns -1 when the
 * shape is wrong. */
static long aad_code(const cJSON *b)
{
	const cJSON *codes = cJSON_GetObjectItemCaseSensitive(b, "error_codes");
	const char *d = str(b, "error_description"), *uri = str(b, "error_uri");
	char prefix[32], want_uri[128];
	long code;

	if (!cJSON_IsArray(codes) || cJSON_GetArraySize(codes) != 1 || !d || !str(b, "error") ||
	    !mdc_is_guid(str(b, "trace_id")) || !mdc_is_guid(str(b, "correlation_id")) ||
	    !str(b, "timestamp") || strlen(str(b, "timestamp")) != 20 || !uri)
		return -1;
	code = (long)cJSON_GetArrayItem(codes, 0)->valuedouble;
	snprintf(prefix, sizeof(prefix), "AADSTS%ld: ", code);
	snprintf(want_uri, sizeof(want_uri), BASE "/error?code=%ld", code);
	if (strncmp(d, prefix, strlen(prefix)) || !strstr(d, "\r\nTrace ID: ") ||
	    !strstr(d, "\r\nCorrelation ID: ") || !strstr(d, "\r\nTimestamp: ") ||
	    strcmp(uri, want_uri))
		return -1;
	return code;
}

static cJSON *jwt_part(const char *token, int part)
{
	const char *s = token;
	unsigned char *raw = NULL;
	size_t n = 0;
	char *seg;
	cJSON *j;

	for (int i = 0; i < part; i++)
		s = strchr(s, '.') + 1;
	seg = mdc_xstrndup(s, strcspn(s, "."));
	if (mdc_base64url_decode(seg, &raw, &n) < 0)
		abort();
	j = cJSON_ParseWithLength((char *)raw, n);
	free(seg);
	free(raw);
	return j;
}

struct check {
	int status;
	struct entra_caller caller;
	const char *code;
	char *message;
	char *www;
};

static struct check check_bearer_on(const cJSON *st, const char *authorization)
{
	struct check c;
	c.status =
	    entra_check_bearer(emu, st, authorization, &c.caller, &c.code, &c.message, &c.www);
	return c;
}

static void check_release(struct check *c)
{
	free(c->message);
	free(c->www);
}

static char *bearer(const char *token)
{
	return mdc_xasprintf("Bearer %s", token);
}

/* A fresh ARM token for the secret principal. */
static char *arm_token(void)
{
	return entra_issue_token(emu, state, SECRET_APP, "https://management.azure.com");
}

/* ---------------------------------------------------------------- setup */

static void setup(void)
{
	char *pem, *pub;
	X509 *expired;
	char buf[8192];

	emu = entra_new(BASE "/");
	cert_key = rsa_key();
	other_key = rsa_key();
	fed_key = rsa_key();
	cert = self_signed(cert_key, 365);
	expired = self_signed(other_key, -1);
	pem = cert_pem(cert);
	pub = pubkey_pem(fed_key);
	{
		char *epem = cert_pem(expired);
		snprintf(buf, sizeof(buf),
		         "{\"tenantId\":\"" TID "\",\"tenantDomain\":\"" DOMAIN "\","
		         "\"managedIdentityHeader\":\"" MI_HEADER "\",\"principals\":["
		         "{\"objectId\":\"" SECRET_OID "\",\"clientId\":\"" SECRET_APP "\","
		         "\"displayName\":\"mdcctl-ci\",\"secret\":\"s3cr+t/&=%% value\"},"
		         "{\"objectId\":\"" CERT_OID "\",\"clientId\":\"" CERT_APP "\","
		         "\"displayName\":\"mdcctl-cert\",\"certificates\":[],"
		         "\"federatedCredentials\":[{\"issuer\":\"" GH_ISS
		         "\",\"subject\":\"" GH_SUB "\",\"audiences\":[\"" XCHG_AUD
		         "\"],\"publicKey\":\"\"}]},"
		         "{\"objectId\":\"" MI_OID "\",\"clientId\":\"" MI_APP "\","
		         "\"displayName\":\"mdcctl-mi\",\"managedIdentity\":true}]}");
		state = cJSON_Parse(buf);
		cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(state, "principals"), 1);
		cJSON *certs = cJSON_GetObjectItem(p, "certificates");
		cJSON_AddItemToArray(certs, cJSON_CreateString(epem));
		cJSON_AddItemToArray(certs, cJSON_CreateString(pem));
		cJSON *fc = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "federatedCredentials"), 0);
		cJSON_ReplaceItemInObject(fc, "publicKey", cJSON_CreateString(pub));
		free(epem);
	}
	X509_free(expired);
	free(pem);
	free(pub);
}

static void teardown(void)
{
	entra_free(emu);
	cJSON_Delete(state);
	EVP_PKEY_free(cert_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(fed_key);
	X509_free(cert);
}

/* ---------------------------------------------------------------- token endpoint: secret */

TEST(secret_issues_token_with_exact_shape)
{
	struct mdc_buf f = MDC_BUF_INIT;
	char *body = NULL;
	int status;
	const char *want = "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
	                   "\"access_token\":\"";

	form_add(&f, "client_id", SECRET_APP);
	form_add(&f, "scope", ARM_SCOPE);
	form_add(&f, "grant_type", "client_credentials");
	form_add(&f, "client_secret", SECRET);
	status = entra_token(emu, state, TID, f.ptr, f.len, &body);
	mdc_buf_release(&f);
	ASSERT_EQ_INT(200, status);
	ASSERT(body && !strncmp(body, want, strlen(want)));
	ASSERT_EQ_INT('}', body[strlen(body) - 1]);
	free(body);
}

TEST(issued_token_claims)
{
	cJSON *b = NULL, *h, *p;
	int status = post_token(TID, &b, SECRET_APP, ARM_SCOPE, SECRET, NULL);
	const char *tok = str(b, "access_token");

	ASSERT_EQ_INT(200, status);
	h = jwt_part(tok, 0);
	p = jwt_part(tok, 1);
	ASSERT_EQ_STR("JWT", str(h, "typ"));
	ASSERT_EQ_STR("RS256", str(h, "alg"));
	ASSERT(str(h, "kid") && strlen(str(h, "kid")) == 43);
	ASSERT_EQ_STR("https://management.azure.com", str(p, "aud"));
	ASSERT_EQ_STR(BASE "/" TID "/", str(p, "iss"));
	ASSERT_EQ_STR(TID, str(p, "tid"));
	ASSERT_EQ_STR(SECRET_OID, str(p, "oid"));
	ASSERT_EQ_STR(SECRET_OID, str(p, "sub"));
	ASSERT_EQ_STR(SECRET_APP, str(p, "appid"));
	ASSERT_EQ_STR("1", str(p, "appidacr"));
	ASSERT_EQ_STR("app", str(p, "idtyp"));
	ASSERT_EQ_STR("1.0", str(p, "ver"));
	ASSERT(str(p, "uti") && strlen(str(p, "uti")) >= 16);
	ASSERT_EQ_INT(3599, (long)(num(p, "exp") - num(p, "iat")));
	ASSERT((long)num(p, "iat") <= (long)time(NULL) && num(p, "nbf") == num(p, "iat"));
	cJSON_Delete(h);
	cJSON_Delete(p);
	cJSON_Delete(b);
}

TEST(wrong_secret_is_7000215)
{
	cJSON *b = NULL;
	int status = post_token(TID, &b, SECRET_APP, ARM_SCOPE, "s3cr+t/&=% valuE", NULL);
	char *text = cJSON_PrintUnformatted(b);

	ASSERT_EQ_INT(401, status);
	ASSERT_EQ_STR("invalid_client", str(b, "error"));
	ASSERT_EQ_INT(7000215, aad_code(b));
	ASSERT_CONTAINS(str(b, "error_description"), "Invalid client secret provided. Ensure the "
	                                             "secret being sent in the request is the "
	                                             "client secret value, not the client "
	                                             "secret ID");
	ASSERT_NOT_CONTAINS(text, "s3cr");
	free(text);
	cJSON_Delete(b);
}

TEST(no_credential_is_7000218)
{
	cJSON *b = NULL;
	ASSERT_EQ_INT(401, post_token(TID, &b, SECRET_APP, ARM_SCOPE, NULL, NULL));
	ASSERT_EQ_STR("invalid_client", str(b, "error"));
	ASSERT_EQ_INT(7000218, aad_code(b));
	cJSON_Delete(b);
}

TEST(unknown_client_is_700016)
{
	cJSON *b = NULL;
	int status =
	    post_token(TID, &b, "44444444-4444-4444-8444-444444444444", ARM_SCOPE, SECRET, NULL);
	ASSERT_EQ_INT(400, status);
	ASSERT_EQ_STR("unauthorized_client", str(b, "error"));
	ASSERT_EQ_INT(700016, aad_code(b));
	ASSERT_CONTAINS(str(b, "error_description"),
	                "Application with identifier '44444444-4444-4444-8444-444444444444' was "
	                "not found in the directory");
	cJSON_Delete(b);
}

TEST(unknown_tenant_is_90002)
{
	cJSON *b = NULL;
	int status = post_token("0a1b2c3d-0000-4000-8000-000000000009", &b, SECRET_APP, ARM_SCOPE,
	                        SECRET, NULL);
	ASSERT_EQ_INT(400, status);
	ASSERT_EQ_STR("invalid_request", str(b, "error"));
	ASSERT_EQ_INT(90002, aad_code(b));
	ASSERT_CONTAINS(str(b, "error_description"),
	                "Tenant '0a1b2c3d-0000-4000-8000-000000000009' not found.");
	cJSON_Delete(b);
}

TEST(tenant_matches_case_insensitively_and_by_domain)
{
	cJSON *b = NULL;
	ASSERT_EQ_INT(200, post_token("72F988BF-86F1-41AF-91AB-2D7CD011DB47", &b, SECRET_APP,
	                              ARM_SCOPE, SECRET, NULL));
	cJSON_Delete(b);
	ASSERT_EQ_INT(
	    200, post_token("Contoso.onmicrosoft.com", &b, SECRET_APP, ARM_SCOPE, SECRET, NULL));
	cJSON_Delete(b);
}

TEST(other_grant_type_is_unsupported)
{
	const char *form = "grant_type=password&client_id=" SECRET_APP "&scope=" ARM_SCOPE;
	char *body = NULL;
	cJSON *b;

	ASSERT_EQ_INT(400, entra_token(emu, state, TID, form, strlen(form), &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR("unsupported_grant_type", str(b, "error"));
	ASSERT(aad_code(b) > 0);
	cJSON_Delete(b);
}

TEST(scope_rules)
{
	cJSON *b = NULL, *p;

	ASSERT_EQ_INT(400,
	              post_token(TID, &b, SECRET_APP,
	                         "https://management.azure.com/user_impersonation", SECRET, NULL));
	ASSERT_EQ_STR("invalid_scope", str(b, "error"));
	ASSERT_EQ_INT(1002012, aad_code(b));
	cJSON_Delete(b);

	ASSERT_EQ_INT(
	    400, post_token(TID, &b, SECRET_APP, "https://vault.azure.net/.default", SECRET, NULL));
	ASSERT_EQ_STR("invalid_resource", str(b, "error"));
	ASSERT_EQ_INT(500011, aad_code(b));
	cJSON_Delete(b);

	ASSERT_EQ_INT(400, post_token(TID, &b, SECRET_APP, NULL, SECRET, NULL));
	ASSERT_EQ_INT(900144, aad_code(b));
	cJSON_Delete(b);

	/* The legacy resource keeps its trailing slash in aud; the emulator's own URL works. */
	ASSERT_EQ_INT(200,
	              post_token(TID, &b, SECRET_APP,
	                         "https://management.core.windows.net//.default", SECRET, NULL));
	p = jwt_part(str(b, "access_token"), 1);
	ASSERT_EQ_STR("https://management.core.windows.net/", str(p, "aud"));
	cJSON_Delete(p);
	cJSON_Delete(b);
	ASSERT_EQ_INT(200, post_token(TID, &b, SECRET_APP, BASE "/.default", SECRET, NULL));
	p = jwt_part(str(b, "access_token"), 1);
	ASSERT_EQ_STR(BASE, str(p, "aud"));
	cJSON_Delete(p);
	cJSON_Delete(b);
}

TEST(form_decoding_plus_and_percent)
{
	/* "s3cr+t/&=% value" written by hand: %2B for '+', '+' for the space. */
	const char *form = "client_id=" SECRET_APP "&scope=https%3A%2F%2Fmanagement.azure.com%2F."
	                   "default&grant_type=client_credentials&client_secret=s3cr%2Bt%2F%26%3D%"
	                   "25+value";
	char *body = NULL;

	ASSERT_EQ_INT(200, entra_token(emu, state, TID, form, strlen(form), &body));
	free(body);
	/* The length is honoured: the same form cut before the secret's last byte fails. */
	ASSERT_EQ_INT(401, entra_token(emu, state, TID, form, strlen(form) - 1, &body));
	free(body);
}

/* ---------------------------------------------------------------- certificate assertions */

TEST(cert_assertion_ps256_x5t_s256_accepted)
{
	cJSON *b = NULL, *p;
	char *a = cert_assertion((struct assertion_opts){0});
	int status = post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a);

	ASSERT_EQ_INT(200, status);
	p = jwt_part(str(b, "access_token"), 1);
	ASSERT_EQ_STR(CERT_OID, str(p, "oid"));
	ASSERT_EQ_STR("2", str(p, "appidacr"));
	cJSON_Delete(p);
	cJSON_Delete(b);
	free(a);
}

TEST(cert_assertion_rs256_x5t_accepted)
{
	cJSON *b = NULL;
	char *a = cert_assertion((struct assertion_opts){.alg = "RS256"});
	ASSERT_EQ_INT(200, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	cJSON_Delete(b);
	free(a);
}

TEST(cert_assertion_aud_with_tenant_id_when_path_uses_domain)
{
	cJSON *b = NULL;
	char *a = cert_assertion((struct assertion_opts){0});
	ASSERT_EQ_INT(200, post_token(DOMAIN, &b, CERT_APP, ARM_SCOPE, NULL, a));
	cJSON_Delete(b);
	free(a);
	a = cert_assertion((struct assertion_opts){.aud = BASE "/" DOMAIN "/oauth2/v2.0/token"});
	ASSERT_EQ_INT(200, post_token(DOMAIN, &b, CERT_APP, ARM_SCOPE, NULL, a));
	cJSON_Delete(b);
	free(a);
}

static long cert_fail(struct assertion_opts o, int want_status, const char *want_error)
{
	cJSON *b = NULL;
	char *a = cert_assertion(o);
	int status = post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a);
	long code =
	    status == want_status && mdc_streq(str(b, "error"), want_error) ? aad_code(b) : -2;
	if (code == -2)
		fprintf(stderr, "status %d error %s\n", status, str(b, "error"));
	cJSON_Delete(b);
	free(a);
	return code;
}

TEST(cert_assertion_wrong_key_is_700027)
{
	ASSERT_EQ_INT(700027,
	              cert_fail((struct assertion_opts){.key = other_key}, 401, "invalid_client"));
}

TEST(cert_assertion_wrong_padding_is_700027)
{
	/* RS256 in the header but a PSS signature: the verifier must use PKCS#1 v1.5. */
	ASSERT_EQ_INT(
	    700027,
	    cert_fail((struct assertion_opts){.alg = "RS256", .pss = true, .force_padding = true},
	              401, "invalid_client"));
}

TEST(cert_assertion_unregistered_cert_is_700027)
{
	X509 *x = self_signed(other_key, 30);
	cJSON *b = NULL;
	char *a = cert_assertion((struct assertion_opts){.key = other_key, .x5t_cert = x});

	ASSERT_EQ_INT(401, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_INT(700027, aad_code(b));
	ASSERT_CONTAINS(str(b, "error_description"), "is not registered on application");
	cJSON_Delete(b);
	free(a);
	X509_free(x);
}

TEST(cert_assertion_expired_certificate_is_700027)
{
	/* The state's first certificate is over other_key and expired yesterday. */
	X509 *x = self_signed(other_key, -1);
	cJSON *b = NULL;
	char *a = cert_assertion((struct assertion_opts){.key = other_key, .x5t_cert = x});

	ASSERT_EQ_INT(401, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_INT(700027, aad_code(b));
	ASSERT_CONTAINS(str(b, "error_description"), "The key used is expired");
	cJSON_Delete(b);
	free(a);
	X509_free(x);
}

TEST(cert_assertion_wrong_aud_is_700023)
{
	ASSERT_EQ_INT(
	    700023,
	    cert_fail((struct assertion_opts){.aud = "https://login.microsoftonline.com/" TID
	                                             "/oauth2/v2.0/token"},
	              401, "invalid_client"));
}

TEST(cert_assertion_expired_is_700024)
{
	ASSERT_EQ_INT(700024,
	              cert_fail((struct assertion_opts){.exp_offset = -60, .nbf_offset = -660}, 401,
	                        "invalid_client"));
}

TEST(cert_assertion_nbf_skew)
{
	cJSON *b = NULL;
	char *a = cert_assertion((struct assertion_opts){.nbf_offset = 120});
	ASSERT_EQ_INT(200, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	cJSON_Delete(b);
	free(a);
	ASSERT_EQ_INT(700024,
	              cert_fail((struct assertion_opts){.nbf_offset = 400, .exp_offset = 900}, 401,
	                        "invalid_client"));
}

TEST(cert_assertion_wrong_iss_or_sub_is_700021)
{
	ASSERT_EQ_INT(700021,
	              cert_fail((struct assertion_opts){.iss = SECRET_APP}, 401, "invalid_client"));
	ASSERT_EQ_INT(700021,
	              cert_fail((struct assertion_opts){.sub = SECRET_APP}, 401, "invalid_client"));
}

TEST(cert_assertion_malformed_is_50027)
{
	cJSON *b = NULL;

	ASSERT_EQ_INT(50027,
	              cert_fail((struct assertion_opts){.no_jti = true}, 400, "invalid_request"));
	ASSERT_EQ_INT(400, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, "not.a-jwt"));
	ASSERT_EQ_STR("invalid_request", str(b, "error"));
	ASSERT_EQ_INT(50027, aad_code(b));
	cJSON_Delete(b);
}

/* ---------------------------------------------------------------- federated assertions */

TEST(federated_assertion_accepted)
{
	cJSON *b = NULL, *p;
	char *a = federated_assertion(fed_key, GH_SUB, NULL, 300);

	ASSERT_EQ_INT(200, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	p = jwt_part(str(b, "access_token"), 1);
	ASSERT_EQ_STR(CERT_OID, str(p, "oid"));
	cJSON_Delete(p);
	cJSON_Delete(b);
	free(a);

	/* Kubernetes-style tokens carry aud as an array. */
	a = federated_assertion(
	    fed_key, GH_SUB,
	    cJSON_CreateStringArray(
	        (const char *const[]){"https://kubernetes.default.svc", XCHG_AUD}, 2),
	    300);
	ASSERT_EQ_INT(200, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	cJSON_Delete(b);
	free(a);
}

TEST(federated_assertion_no_match_is_70021)
{
	cJSON *b = NULL;
	char *a = federated_assertion(fed_key, "repo:contoso/infra:ref:refs/heads/Main", NULL, 300);

	ASSERT_EQ_INT(400, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_STR("invalid_request", str(b, "error"));
	ASSERT_EQ_INT(70021, aad_code(b));
	ASSERT_CONTAINS(str(b, "error_description"),
	                "Assertion Issuer: '" GH_ISS "'. Assertion Subject: "
	                "'repo:contoso/infra:ref:refs/heads/Main'. Assertion Audience: '" XCHG_AUD
	                "'.");
	cJSON_Delete(b);
	free(a);

	/* A principal without federated credentials has nothing to match. */
	a = federated_assertion(fed_key, GH_SUB, NULL, 300);
	ASSERT_EQ_INT(400, post_token(TID, &b, SECRET_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_INT(70021, aad_code(b));
	cJSON_Delete(b);
	free(a);

	a = federated_assertion(fed_key, GH_SUB, cJSON_CreateString("api://other"), 300);
	ASSERT_EQ_INT(400, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_INT(70021, aad_code(b));
	cJSON_Delete(b);
	free(a);
}

TEST(federated_assertion_wrong_key_or_expired)
{
	cJSON *b = NULL;
	char *a = federated_assertion(other_key, GH_SUB, NULL, 300);

	ASSERT_EQ_INT(401, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_INT(50013, aad_code(b));
	cJSON_Delete(b);
	free(a);

	a = federated_assertion(fed_key, GH_SUB, NULL, -5);
	ASSERT_EQ_INT(401, post_token(TID, &b, CERT_APP, ARM_SCOPE, NULL, a));
	ASSERT_EQ_INT(700024, aad_code(b));
	cJSON_Delete(b);
	free(a);
}

/* ---------------------------------------------------------------- bearer validation */

TEST(issued_token_passes_bearer_check)
{
	cJSON *b = NULL;
	char *auth;
	struct check c;

	ASSERT_EQ_INT(200, post_token(TID, &b, SECRET_APP, ARM_SCOPE, SECRET, NULL));
	auth = bearer(str(b, "access_token"));
	cJSON_Delete(b);
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(0, c.status);
	ASSERT_EQ_STR(SECRET_OID, c.caller.oid);
	ASSERT_EQ_STR(SECRET_APP, c.caller.appid);
	ASSERT_EQ_STR(TID, c.caller.tid);
	ASSERT(!c.code && !c.message && !c.www);
	/* The scheme is case-insensitive. */
	memcpy(auth, "bEARER", 6);
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(0, c.status);
	free(auth);
}

TEST(tampered_token_is_invalid)
{
	char *tok = arm_token(), *auth, *dot;
	struct check c;

	/* Change one character of the payload (its last before the signature). */
	dot = strrchr(tok, '.');
	dot[-1] = dot[-1] == 'A' ? 'B' : 'A';
	auth = bearer(tok);
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("InvalidAuthenticationToken", c.code);
	ASSERT_CONTAINS(c.www,
	                "Bearer authorization_uri=\"" BASE "/" TID "\", error=\"invalid_token\", "
	                "error_description=\"");
	check_release(&c);
	free(auth);
	free(tok);

	c = check_bearer_on(state, "Bearer abc.def");
	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("InvalidAuthenticationToken", c.code);
	ASSERT_EQ_STR("The access token is invalid.", c.message);
	check_release(&c);
}

TEST(token_of_another_issuer_is_invalid)
{
	struct entra *other = entra_new(BASE);
	char *tok = entra_issue_token(other, state, SECRET_APP, "https://management.azure.com");
	char *auth = bearer(tok);
	struct check c = check_bearer_on(state, auth);

	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("InvalidAuthenticationToken", c.code);
	check_release(&c);
	free(auth);
	free(tok);
	entra_free(other);
}

TEST(expired_token_is_expired)
{
	char *tok, *auth;
	struct check c;

	entra_set_token_lifetime(emu, -10);
	tok = arm_token();
	entra_set_token_lifetime(emu, 3599);
	auth = bearer(tok);
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("ExpiredAuthenticationToken", c.code);
	ASSERT(!strncmp(c.message, "The access token expiry UTC time '", 34));
	ASSERT_CONTAINS(c.message, "' is earlier than current UTC time '");
	ASSERT(strstr(c.message, " AM'") || strstr(c.message, " PM'"));
	ASSERT_CONTAINS(c.www, "error=\"invalid_token\"");
	check_release(&c);
	free(auth);
	free(tok);
}

TEST(wrong_audience_is_rejected)
{
	char *tok = entra_issue_token(emu, state, SECRET_APP, "https://api.loganalytics.io");
	char *auth = bearer(tok);
	struct check c = check_bearer_on(state, auth);

	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("InvalidAuthenticationTokenAudience", c.code);
	ASSERT_CONTAINS(c.message, "The access token has been obtained for wrong audience or "
	                           "resource 'https://api.loganalytics.io'.");
	check_release(&c);
	free(auth);
	free(tok);

	/* All four ARM audiences and the emulator's own URL are accepted. */
	const char *ok[] = {"https://management.azure.com/", "https://management.core.windows.net/",
	                    "https://management.core.windows.net", BASE, BASE "/"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		tok = entra_issue_token(emu, state, SECRET_APP, ok[i]);
		auth = bearer(tok);
		c = check_bearer_on(state, auth);
		ASSERT_EQ_INT(0, c.status);
		free(auth);
		free(tok);
	}
}

TEST(missing_or_malformed_header)
{
	struct check c = check_bearer_on(state, NULL);

	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("AuthenticationFailed", c.code);
	ASSERT_EQ_STR("Authentication failed. The 'Authorization' header is missing.", c.message);
	ASSERT_EQ_STR("Bearer authorization_uri=\"" BASE "/" TID "\", error=\"invalid_token\", "
	              "error_description=\"The authentication failed because of missing "
	              "'Authorization' header.\"",
	              c.www);
	check_release(&c);

	c = check_bearer_on(state, "Basic dXNlcjpwYXNz");
	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("AuthenticationFailed", c.code);
	ASSERT_CONTAINS(c.message, "invalid format");
	check_release(&c);
}

TEST(deleted_principal_is_invalid)
{
	cJSON *copy = cJSON_Duplicate(state, 1);
	char *tok = arm_token(), *auth = bearer(tok);
	struct check c;

	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(copy, "principals"), 0);
	c = check_bearer_on(copy, auth);
	ASSERT_EQ_INT(401, c.status);
	ASSERT_EQ_STR("InvalidAuthenticationToken", c.code);
	ASSERT_CONTAINS(c.message, SECRET_OID);
	check_release(&c);
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(0, c.status);
	cJSON_Delete(copy);
	free(auth);
	free(tok);
}

/* ---------------------------------------------------------------- managed identity */

TEST(msi_token_shape)
{
	char *body = NULL, *auth;
	cJSON *b;
	struct check c;
	long expires_on;
	int status = entra_msi_token(emu, state,
	                             "api-version=2019-08-01&resource=https%3A%2F%2Fmanagement."
	                             "azure.com",
	                             MI_HEADER, NULL, &body);

	ASSERT_EQ_INT(200, status);
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_INT(5, cJSON_GetArraySize(b));
	ASSERT_EQ_STR("Bearer", str(b, "token_type"));
	ASSERT_EQ_STR("https://management.azure.com", str(b, "resource"));
	ASSERT_EQ_STR(MI_APP, str(b, "client_id"));
	ASSERT(str(b, "expires_on"));
	expires_on = strtol(str(b, "expires_on"), NULL, 10);
	ASSERT(labs(expires_on - ((long)time(NULL) + 3599)) <= 2);
	auth = bearer(str(b, "access_token"));
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(0, c.status);
	ASSERT_EQ_STR(MI_OID, c.caller.oid);
	ASSERT_EQ_STR(MI_APP, c.caller.appid);
	free(auth);
	cJSON_Delete(b);

	/* client_id naming the identity works; naming a non-MI principal does not. */
	ASSERT_EQ_INT(200, entra_msi_token(emu, state,
	                                   "api-version=2019-08-01&resource=https://"
	                                   "management.azure.com&client_id=" MI_APP,
	                                   MI_HEADER, NULL, &body));
	free(body);
	ASSERT_EQ_INT(400, entra_msi_token(emu, state,
	                                   "api-version=2019-08-01&resource=https://"
	                                   "management.azure.com&client_id=" SECRET_APP,
	                                   MI_HEADER, NULL, &body));
	free(body);
}

TEST(msi_checks_header_and_params)
{
	char *body = NULL;
	cJSON *b;
	const char *q = "api-version=2019-08-01&resource=https://management.azure.com";

	ASSERT_EQ_INT(401, entra_msi_token(emu, state, q, NULL, NULL, &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_INT(401, (long)num(b, "statusCode"));
	ASSERT(str(b, "message"));
	cJSON_Delete(b);
	ASSERT_EQ_INT(401, entra_msi_token(emu, state, q, "identity-header-valuf", NULL, &body));
	free(body);
	ASSERT_EQ_INT(400, entra_msi_token(emu, state,
	                                   "api-version=2018-02-01&resource=https://"
	                                   "management.azure.com",
	                                   MI_HEADER, NULL, &body));
	free(body);
	ASSERT_EQ_INT(
	    400, entra_msi_token(emu, state, "api-version=2019-08-01", MI_HEADER, NULL, &body));
	free(body);
	ASSERT_EQ_INT(400,
	              entra_msi_token(emu, state,
	                              "api-version=2019-08-01&resource=https://vault.azure.net",
	                              MI_HEADER, NULL, &body));
	free(body);
}

/* App Service's 2017-09-01 protocol (MSI_ENDPOINT + MSI_SECRET), which `az login --identity`
 * speaks: the "secret" header, "clientid", and expires_on as a date. */
TEST(msi_2017_protocol)
{
	char *body = NULL, *auth;
	cJSON *b;
	struct check c;
	const char *q = "resource=https://management.core.windows.net/&api-version=2017-09-01";
	struct tm tm = {0};
	bool near = false;

	ASSERT_EQ_INT(401, entra_msi_token(emu, state, q, MI_HEADER, NULL, &body));
	free(body);
	ASSERT_EQ_INT(200, entra_msi_token(emu, state, q, NULL, MI_HEADER, &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR("Bearer", str(b, "token_type"));
	/* an hour from now, as App Service writes it */
	for (int d = -2; d <= 2 && !near; d++) {
		time_t t = time(NULL) + 3599 + d;
		char want[40];

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%m/%d/%Y %H:%M:%S +00:00", &tm);
		near = !strcmp(want, str(b, "expires_on"));
	}
	ASSERT(near);
	auth = bearer(str(b, "access_token"));
	c = check_bearer_on(state, auth);
	ASSERT_EQ_INT(0, c.status);
	ASSERT_EQ_STR(MI_OID, c.caller.oid);
	free(auth);
	cJSON_Delete(b);
	ASSERT_EQ_INT(200, entra_msi_token(emu, state,
	                                   "resource=https://management.core.windows.net/"
	                                   "&api-version=2017-09-01&clientid=" MI_APP,
	                                   NULL, MI_HEADER, &body));
	free(body);
	ASSERT_EQ_INT(400, entra_msi_token(emu, state,
	                                   "resource=https://management.core.windows.net/"
	                                   "&api-version=2017-09-01&clientid=" SECRET_APP,
	                                   NULL, MI_HEADER, &body));
	free(body);
}

/* ---------------------------------------------------------------- discovery */

TEST(openid_configuration_v2)
{
	char *body = NULL;
	cJSON *b;

	ASSERT_EQ_INT(
	    200,
	    entra_discovery(emu, state, "/" TID "/v2.0/.well-known/openid-configuration", &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR(BASE "/" TID "/v2.0", str(b, "issuer"));
	ASSERT_EQ_STR(BASE "/" TID "/oauth2/v2.0/token", str(b, "token_endpoint"));
	ASSERT_EQ_STR(BASE "/" TID "/oauth2/v2.0/authorize", str(b, "authorization_endpoint"));
	ASSERT_EQ_STR(BASE "/" TID "/discovery/v2.0/keys", str(b, "jwks_uri"));
	ASSERT(cJSON_IsArray(cJSON_GetObjectItem(b, "token_endpoint_auth_methods_supported")));
	cJSON_Delete(b);

	/* A domain resolves to the tenant id; "common" keeps the placeholder issuer. */
	ASSERT_EQ_INT(200, entra_discovery(emu, state,
	                                   DOMAIN "/v2.0/.well-known/openid-configuration", &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR(BASE "/" TID "/oauth2/v2.0/token", str(b, "token_endpoint"));
	cJSON_Delete(b);
	ASSERT_EQ_INT(200, entra_discovery(emu, state,
	                                   "/common/v2.0/.well-known/openid-configuration", &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR(BASE "/{tenantid}/v2.0", str(b, "issuer"));
	cJSON_Delete(b);

	/* The v1 document names the issuer of the tokens. */
	ASSERT_EQ_INT(
	    200, entra_discovery(emu, state, "/" TID "/.well-known/openid-configuration", &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR(BASE "/" TID "/", str(b, "issuer"));
	ASSERT_EQ_STR(BASE "/common/discovery/keys", str(b, "jwks_uri"));
	cJSON_Delete(b);
}

TEST(discovery_unknown_tenant_and_path)
{
	char *body = NULL;
	cJSON *b;

	ASSERT_EQ_INT(400,
	              entra_discovery(emu, state,
	                              "/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration",
	                              &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR("invalid_tenant", str(b, "error"));
	ASSERT_EQ_INT(90002, aad_code(b));
	cJSON_Delete(b);
	ASSERT_EQ_INT(404, entra_discovery(emu, state, "/" TID "/oauth2/v2.0/authorize", &body));
	ASSERT(!body);
	ASSERT_EQ_INT(404, entra_discovery(emu, state, "/", &body));
}

TEST(jwks_verifies_issued_tokens)
{
	char *body = NULL, *tok = arm_token();
	cJSON *b, *k, *h;
	unsigned char *der = NULL, *sig = NULL;
	size_t derlen = 0, siglen = 0;
	const unsigned char *dp;
	X509 *x;
	EVP_PKEY *pk;
	EVP_MD_CTX *ctx;
	const char *dot = strrchr(tok, '.');
	int ok;

	ASSERT_EQ_INT(200, entra_discovery(emu, state, "/common/discovery/keys", &body));
	b = cJSON_Parse(body);
	free(body);
	k = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "keys"), 0);
	h = jwt_part(tok, 0);
	ASSERT_EQ_STR("RSA", str(k, "kty"));
	ASSERT_EQ_STR("sig", str(k, "use"));
	ASSERT_EQ_STR("AQAB", str(k, "e"));
	ASSERT_EQ_STR(str(h, "kid"), str(k, "kid"));
	ASSERT(str(k, "n") && strlen(str(k, "n")) == 342);
	ASSERT(str(k, "x5t"));
	/* The x5c certificate's key verifies the token. */
	ASSERT_EQ_INT(0, mdc_base64url_decode(
	                     cJSON_GetArrayItem(cJSON_GetObjectItem(k, "x5c"), 0)->valuestring,
	                     &der, &derlen));
	dp = der;
	x = d2i_X509(NULL, &dp, (long)derlen);
	ASSERT(x);
	pk = X509_get_pubkey(x);
	ASSERT_EQ_INT(0, mdc_base64url_decode(dot + 1, &sig, &siglen));
	ctx = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)tok, (size_t)(dot - tok)) ==
	         1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	X509_free(x);
	free(der);
	free(sig);
	cJSON_Delete(h);
	cJSON_Delete(b);
	free(tok);
	ASSERT(ok);

	ASSERT_EQ_INT(200, entra_discovery(emu, state, "/" TID "/discovery/v2.0/keys", &body));
	free(body);
}

TEST(instance_discovery)
{
	char *body = NULL;
	cJSON *b, *m;

	ASSERT_EQ_INT(200,
	              entra_discovery(emu, state,
	                              "/common/discovery/instance?api-version=1.1&"
	                              "authorization_endpoint=https%3A%2F%2Flocalhost%3A8443%2F" TID
	                              "%2Foauth2%2Fv2.0%2Fauthorize",
	                              &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR(BASE "/" TID "/v2.0/.well-known/openid-configuration",
	              str(b, "tenant_discovery_endpoint"));
	ASSERT_EQ_STR("1.1", str(b, "api-version"));
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "metadata"), 0);
	ASSERT_EQ_STR("localhost:8443", str(m, "preferred_network"));
	ASSERT_EQ_STR("localhost:8443", str(m, "preferred_cache"));
	ASSERT_EQ_STR("localhost:8443",
	              cJSON_GetArrayItem(cJSON_GetObjectItem(m, "aliases"), 0)->valuestring);
	cJSON_Delete(b);

	/* MSAL Python drops the port from the host it sends. */
	ASSERT_EQ_INT(200, entra_discovery(
	                       emu, state,
	                       "/common/discovery/instance?authorization_endpoint=https%3A%2F%"
	                       "2Flocalhost%2F" TID "%2Foauth2%2Fv2.0%2Fauthorize&api-version=1.0",
	                       &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR(BASE "/" TID "/v2.0/.well-known/openid-configuration",
	              str(b, "tenant_discovery_endpoint"));
	cJSON_Delete(b);

	ASSERT_EQ_INT(400,
	              entra_discovery(emu, state,
	                              "/common/discovery/instance?api-version=1.1&"
	                              "authorization_endpoint=https://login.example.com/x/oauth2/"
	                              "v2.0/authorize",
	                              &body));
	b = cJSON_Parse(body);
	free(body);
	ASSERT_EQ_STR("invalid_instance", str(b, "error"));
	cJSON_Delete(b);
}

int main(int argc, char **argv)
{
	int rc;

	setup();
	if (!emu || !state) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	rc = mdc_test_main(argc, argv);
	teardown();
	return rc;
}
