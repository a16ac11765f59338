/*
 * The credential chain against a libmicrohttpd token endpoint on 127.0.0.1 that checks the
 * form fields and verifies client assertions with OpenSSL, a managed-identity endpoint,
 * and a fake `az` on a temporary PATH. The environment is injected, never the process's.
 */
#include <cjson/cJSON.h>
#include <sys/stat.h>

#include "harness.h"
#include "http_testutil.h"
#include "auth.h"
#include "crypto.h"

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define CLIENT "0a1b2c3d-0000-4000-8000-00000000c11e"
#define SECRET "s3cr3t-VALUE-do-not-print"

/* --- injected environment and clock --- */

struct env {
	const char *kv[24][2];
	long long now;
};

static const char *env_lookup(void *ctx, const char *name)
{
	struct env *e = ctx;

	for (int i = 0; i < 24 && e->kv[i][0]; i++)
		if (!strcmp(e->kv[i][0], name))
			return e->kv[i][1];
	return NULL;
}

static void env_set(struct env *e, const char *name, const char *value)
{
	int i;

	for (i = 0; i < 23 && e->kv[i][0] && strcmp(e->kv[i][0], name); i++)
		;
	e->kv[i][0] = name;
	e->kv[i][1] = value;
}

static long long env_now(void *ctx)
{
	return ((struct env *)ctx)->now;
}

static struct mdc_auth_opts opts_for(struct env *e)
{
	return (struct mdc_auth_opts){.getenv = env_lookup,
	                              .getenv_ctx = e,
	                              .now = env_now,
	                              .now_ctx = e,
	                              .timeout_ms = 5000};
}

/* --- the fake Entra ID --- */

struct entra {
	char base[64];
	int token_requests, msi_requests;
	int expires_in;
	char last_error[256];
	struct mdc_kvlist form; /* of the last token request */
	char tenant_path[128];  /* path of the last token request */
	char msi_header[64], msi_query_resource[128], msi_api[32], metadata[16];
	EVP_PKEY *cert_key; /* to verify assertions */
	char x5t_s256[64];
	char last_assertion[128];
};

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 32) - 'a' + 10;
}

static void parse_form(struct mdc_kvlist *kl, const char *s, size_t len)
{
	struct mdc_buf k = MDC_BUF_INIT, v = MDC_BUF_INIT, *cur = &k;

	mdc_kvlist_clear(kl);
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '&';
		if (c == '&') {
			if (k.len)
				mdc_kvlist_set(kl, k.ptr, v.ptr, false);
			mdc_buf_reset(&k);
			mdc_buf_reset(&v);
			cur = &k;
		} else if (c == '=' && cur == &k) {
			cur = &v;
		} else if (c == '%' && i + 2 < len) {
			mdc_buf_addch(cur, hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			mdc_buf_addch(cur, c == '+' ? ' ' : c);
		}
	}
	mdc_buf_release(&k);
	mdc_buf_release(&v);
}

static void token_reply(struct entra *en, struct ts_reply *rep, const char *token)
{
	char *body = mdc_xasprintf("{\"token_type\":\"Bearer\",\"expires_in\":%d,"
	                           "\"ext_expires_in\":%d,\"access_token\":\"%s\"}",
	                           en->expires_in, en->expires_in, token);
	ts_json(rep, 200, body);
	free(body);
}

static void aad_error(struct entra *en, struct ts_reply *rep, int status, const char *error,
                      const char *code, const char *text)
{
	char *body =
	    mdc_xasprintf("{\"error\":\"%s\",\"error_description\":\"%s: %s\\r\\nTrace ID: "
	                  "abc\\r\\nCorrelation ID: def\",\"error_codes\":[1]}",
	                  error, code, text);
	snprintf(en->last_error, sizeof(en->last_error), "%s", text);
	ts_json(rep, status, body);
	free(body);
}

/* Checks a client assertion as Entra does (reference §10.1b). Returns NULL or what is
 * wrong. */
static const char *check_assertion(struct entra *en, const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char *raw = NULL, *sig = NULL;
	size_t rawlen, siglen;
	char *part, *aud;
	cJSON *h = NULL, *c = NULL;
	const char *why = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;

	if (!d2)
		return "not a JWT";
	part = mdc_xstrndup(jwt, (size_t)(d1 - jwt));
	if (mdc_base64url_decode(part, &raw, &rawlen) < 0)
		why = "header not base64url";
	free(part);
	if (why)
		return why;
	h = cJSON_ParseWithLength((char *)raw, rawlen);
	free(raw);
	part = mdc_xstrndup(d1 + 1, (size_t)(d2 - d1 - 1));
	if (mdc_base64url_decode(part, &raw, &rawlen) < 0)
		why = "claims not base64url";
	free(part);
	if (why)
		goto out;
	c = cJSON_ParseWithLength((char *)raw, rawlen);
	free(raw);
	if (!h || !c) {
		why = "not JSON";
		goto out;
	}
	if (!mdc_streq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "alg")), "PS256") ||
	    !mdc_streq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "typ")), "JWT"))
		why = "alg/typ";
	else if (!mdc_streq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "x5t#S256")), en->x5t_s256))
		why = "x5t#S256";
	if (why)
		goto out;
	aud = mdc_xasprintf("%s/%s/oauth2/v2.0/token", en->base, TENANT);
	if (!mdc_streq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "aud")), aud))
		why = "aud";
	free(aud);
	if (!why && (!mdc_streq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "iss")), CLIENT) ||
	             !mdc_streq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sub")), CLIENT)))
		why = "iss/sub";
	if (!why && !mdc_is_guid(cJSON_GetStringValue(cJSON_GetObjectItem(c, "jti"))))
		why = "jti";
	if (!why && (cJSON_GetNumberValue(cJSON_GetObjectItem(c, "exp")) -
	                     cJSON_GetNumberValue(cJSON_GetObjectItem(c, "nbf")) !=
	                 600 ||
	             cJSON_GetNumberValue(cJSON_GetObjectItem(c, "iat")) !=
	                 cJSON_GetNumberValue(cJSON_GetObjectItem(c, "nbf"))))
		why = "exp/nbf/iat";
	if (why)
		goto out;
	if (mdc_base64url_decode(d2 + 1, &sig, &siglen) < 0) {
		why = "signature not base64url";
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, en->cert_key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 ||
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(d2 - jwt)) != 1)
		why = "PS256 signature";
out:
	EVP_MD_CTX_free(md);
	free(sig);
	cJSON_Delete(h);
	cJSON_Delete(c);
	return why;
}

static void entra_handler(void *ctx, const struct ts_request *req, struct ts_reply *rep)
{
	struct entra *en = ctx;
	char *want_path = mdc_xasprintf("/%s/oauth2/v2.0/token", TENANT);

	if (!strcmp(req->method, "POST") && strstr(req->path, "/oauth2/v2.0/token")) {
		const char *v;
		en->token_requests++;
		snprintf(en->tenant_path, sizeof(en->tenant_path), "%s", req->path);
		parse_form(&en->form, req->body, req->body_len);
		if (strcmp(req->path, want_path)) {
			aad_error(en, rep, 400, "invalid_request", "AADSTS90002",
			          "Tenant 'x' not found");
		} else if (!mdc_streq(ts_header(req, "Content-Type"),
		                      "application/x-www-form-urlencoded") ||
		           !mdc_streq(mdc_kvlist_get(&en->form, "grant_type", false),
		                      "client_credentials") ||
		           !mdc_streq(mdc_kvlist_get(&en->form, "scope", false),
		                      "https://management.azure.com/.default")) {
			aad_error(en, rep, 400, "invalid_request", "AADSTS900144", "bad form");
		} else if (!mdc_streq(mdc_kvlist_get(&en->form, "client_id", false), CLIENT)) {
			aad_error(en, rep, 400, "unauthorized_client", "AADSTS700016",
			          "Application not found in the directory");
		} else if ((v = mdc_kvlist_get(&en->form, "client_secret", false))) {
			if (!strcmp(v, SECRET))
				token_reply(en, rep, "tok-secret");
			else
				aad_error(en, rep, 401, "invalid_client", "AADSTS7000215",
				          "Invalid client secret provided");
		} else if ((v = mdc_kvlist_get(&en->form, "client_assertion", false))) {
			const char *why;
			if (!mdc_streq(mdc_kvlist_get(&en->form, "client_assertion_type", false),
			               "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
				aad_error(en, rep, 400, "invalid_request", "AADSTS1",
				          "assertion type");
			else if (!strncmp(v, "fed-", 4)) { /* a federated token from the file */
				snprintf(en->last_assertion, sizeof(en->last_assertion), "%s", v);
				token_reply(en, rep, "tok-federated");
			} else if ((why = check_assertion(en, v)))
				aad_error(en, rep, 401, "invalid_client", "AADSTS700027", why);
			else
				token_reply(en, rep, "tok-certificate");
		} else {
			aad_error(en, rep, 400, "invalid_request", "AADSTS7000216",
			          "no credential");
		}
	} else if (!strcmp(req->method, "GET") && !strcmp(req->path, "/msi/token")) {
		char *body = mdc_xasprintf("{\"access_token\":\"tok-msi\",\"expires_on\":\"%lld\","
		                           "\"resource\":\"https://management.azure.com\","
		                           "\"token_type\":\"Bearer\"}",
		                           (long long)time(NULL) + 3600);
		en->msi_requests++;
		snprintf(en->msi_header, sizeof(en->msi_header), "%s",
		         ts_header(req, "X-IDENTITY-HEADER") ? ts_header(req, "X-IDENTITY-HEADER")
		                                             : "");
		snprintf(en->msi_api, sizeof(en->msi_api), "%s",
		         ts_arg(req, "api-version") ? ts_arg(req, "api-version") : "");
		snprintf(en->msi_query_resource, sizeof(en->msi_query_resource), "%s",
		         ts_arg(req, "resource") ? ts_arg(req, "resource") : "");
		ts_json(rep, 200, body);
		free(body);
	} else if (!strcmp(req->method, "GET") &&
	           !strcmp(req->path, "/metadata/identity/oauth2/token")) {
		en->msi_requests++;
		snprintf(en->metadata, sizeof(en->metadata), "%s",
		         ts_header(req, "Metadata") ? ts_header(req, "Metadata") : "");
		snprintf(en->msi_api, sizeof(en->msi_api), "%s",
		         ts_arg(req, "api-version") ? ts_arg(req, "api-version") : "");
		snprintf(en->msi_query_resource, sizeof(en->msi_query_resource), "%s",
		         ts_arg(req, "resource") ? ts_arg(req, "resource") : "");
		ts_json(rep, 200,
		        "{\"access_token\":\"tok-imds\",\"expires_in\":\"86399\","
		        "\"token_type\":\"Bearer\"}");
	} else {
		rep->status = 404;
	}
	free(want_path);
}

static int start_entra(struct ts_server *s, struct entra *en)
{
	memset(en, 0, sizeof(*en));
	en->expires_in = 3599;
	if (ts_start(s, entra_handler, en, NULL, NULL) < 0)
		return -1;
	snprintf(en->base, sizeof(en->base), "%s", s->base);
	return 0;
}

static void stop_entra(struct ts_server *s, struct entra *en)
{
	ts_stop(s);
	mdc_kvlist_clear(&en->form);
	EVP_PKEY_free(en->cert_key);
}

static void secret_env(struct env *e, struct entra *en)
{
	env_set(e, "AZURE_TENANT_ID", TENANT);
	env_set(e, "AZURE_CLIENT_ID", CLIENT);
	env_set(e, "AZURE_CLIENT_SECRET", SECRET);
	env_set(e, "AZURE_AUTHORITY_HOST", en->base);
}

/* --- tests --- */

TEST(secret_posts_the_form_and_caches_the_token)
{
	struct ts_server s;
	struct entra en;
	struct env e = {.now = 1700000000};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	long long exp = 0;

	ASSERT_EQ_INT(0, start_entra(&s, &en));
	secret_env(&e, &en);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_SECRET, mdc_auth_kind(a));
	ASSERT_CONTAINS(mdc_auth_describe(a), "client secret");
	ASSERT_CONTAINS(mdc_auth_describe(a), CLIENT);
	ASSERT_NOT_CONTAINS(mdc_auth_describe(a), SECRET);
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, &exp, &err));
	ASSERT_EQ_STR("tok-secret", tok.ptr);
	ASSERT_EQ_INT(1700000000 + 3599, exp);
	ASSERT_EQ_STR(SECRET, mdc_kvlist_get(&en.form, "client_secret", false));
	ASSERT_EQ_STR(CLIENT, mdc_kvlist_get(&en.form, "client_id", false));
	mdc_buf_reset(&tok);
	ASSERT_EQ_INT(0, mdc_auth_authorize(a, &tok, &err));
	ASSERT_EQ_STR("Bearer tok-secret", tok.ptr);
	ASSERT_EQ_INT(1, en.token_requests); /* cached */
	mdc_auth_free(a);
	stop_entra(&s, &en);
	mdc_buf_release(&tok);
}

TEST(token_refreshed_300s_before_expiry)
{
	struct ts_server s;
	struct entra en;
	struct env e = {.now = 1700000000};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(0, start_entra(&s, &en));
	secret_env(&e, &en);
	en.expires_in = 301;
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_INT(1, en.token_requests);
	e.now += 1; /* 300 s left: time to refresh */
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_INT(2, en.token_requests);
	en.expires_in = 3600;
	ASSERT_EQ_INT(0, mdc_auth_token(a, true, &tok, NULL, &err)); /* forced */
	ASSERT_EQ_INT(3, en.token_requests);
	e.now += 3000;
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_INT(3, en.token_requests);
	mdc_auth_invalidate(a);
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_INT(4, en.token_requests);
	mdc_auth_free(a);
	stop_entra(&s, &en);
	mdc_buf_release(&tok);
}

TEST(token_errors_carry_aadsts_code_and_hint_not_the_secret)
{
	struct ts_server s;
	struct entra en;
	struct env e = {.now = 1700000000};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(0, start_entra(&s, &en));
	secret_env(&e, &en);
	env_set(&e, "AZURE_CLIENT_SECRET", "wrong-secret-value");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_EAUTH, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_STR("AADSTS7000215", err.arm_code);
	ASSERT_EQ_INT(401, err.http_status);
	ASSERT_CONTAINS(err.message, "cannot get a token with the client secret");
	ASSERT_CONTAINS(err.message, "AADSTS7000215");
	ASSERT_CONTAINS(err.message, "Invalid client secret provided");
	ASSERT_CONTAINS(err.message, "secret's value, not its id");
	ASSERT_NOT_CONTAINS(err.message, "wrong-secret-value");
	ASSERT_EQ_INT(0, tok.len);
	mdc_auth_free(a);
	mdc_error_clear(&err);

	/* Another tenant: AADSTS90002. */
	env_set(&e, "AZURE_CLIENT_SECRET", SECRET);
	env_set(&e, "AZURE_TENANT_ID", "contoso.onmicrosoft.com");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_EAUTH, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_CONTAINS(err.message, "AADSTS90002");
	ASSERT_CONTAINS(err.message, "check AZURE_TENANT_ID");
	ASSERT_NOT_CONTAINS(err.message, SECRET);
	mdc_auth_free(a);
	mdc_error_clear(&err);

	/* Another application: AADSTS700016. */
	env_set(&e, "AZURE_TENANT_ID", TENANT);
	env_set(&e, "AZURE_CLIENT_ID", "11111111-2222-4333-8444-555555555555");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_EAUTH, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_CONTAINS(err.message, "AADSTS700016");
	ASSERT_CONTAINS(err.message, "not in this tenant");
	mdc_auth_free(a);
	mdc_error_clear(&err);

	/* A path-breaking tenant never reaches the URL. */
	env_set(&e, "AZURE_TENANT_ID", "../evil?x=");
	ASSERT_EQ_INT(MDC_EINVALID, mdc_auth_new(&a, &o, &err));
	mdc_error_clear(&err);
	stop_entra(&s, &en);
	mdc_buf_release(&tok);
}

TEST(certificate_assertion_is_ps256_with_x5t_s256)
{
	struct ts_server s;
	struct entra en;
	struct env e = {.now = 0};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT, pem = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char dir[] = "/tmp/mdc-auth-XXXXXX", *cert = NULL, *key = NULL, *path, *b64;
	unsigned char der_md[32];
	unsigned int mdlen = 0;
	X509 *x509 = NULL;

	o.now = NULL; /* Entra-like checks use real time only loosely; keep the real clock */
	ASSERT(mkdtemp(dir) != NULL);
	ASSERT_EQ_INT(0, start_entra(&s, &en));
	ASSERT_EQ_INT(
	    0, ts_make_cert("mdcctl-test", "pem-pass-phrase", &cert, &key, &en.cert_key, &x509));
	X509_digest(x509, EVP_sha256(), der_md, &mdlen);
	b64 = mdc_base64url(der_md, mdlen);
	snprintf(en.x5t_s256, sizeof(en.x5t_s256), "%s", b64);
	free(b64);
	X509_free(x509);
	/* Key first, then the certificate: the order PEM bundles come in varies. */
	mdc_buf_adds(&pem, key);
	mdc_buf_adds(&pem, cert);
	path = ts_write_temp(dir, "client.pem", pem.ptr);

	env_set(&e, "AZURE_TENANT_ID", TENANT);
	env_set(&e, "AZURE_CLIENT_ID", CLIENT);
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PATH", path);
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PASSWORD", "pem-pass-phrase");
	env_set(&e, "AZURE_AUTHORITY_HOST", en.base);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_CERTIFICATE, mdc_auth_kind(a));
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_STR("tok-certificate", tok.ptr);
	ASSERT_CONTAINS(mdc_auth_describe(a), "CN=mdcctl-test");
	ASSERT_NOT_CONTAINS(mdc_auth_describe(a), "pem-pass-phrase");
	/* A fresh assertion (new jti) each time. */
	ASSERT_EQ_INT(0, mdc_auth_token(a, true, &tok, NULL, &err));
	ASSERT_EQ_INT(2, en.token_requests);
	/* The endpoint really checks: another thumbprint is refused, with Entra's hint. */
	snprintf(en.x5t_s256, sizeof(en.x5t_s256), "not-this-certificate");
	ASSERT_EQ_INT(MDC_EAUTH, mdc_auth_token(a, true, &tok, NULL, &err));
	ASSERT_EQ_STR("AADSTS700027", err.arm_code);
	ASSERT_CONTAINS(err.message, "x5t#S256");
	ASSERT_CONTAINS(err.message, "certificate is not registered");
	mdc_error_clear(&err);
	mdc_auth_free(a);

	/* The wrong password: a clear error that does not quote it. */
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PASSWORD", "not-the-pass-phrase");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT(mdc_auth_token(a, false, &tok, NULL, &err) < 0);
	ASSERT_CONTAINS(err.message, "wrong password");
	ASSERT_NOT_CONTAINS(err.message, "not-the-pass-phrase");
	mdc_auth_free(a);
	mdc_error_clear(&err);

	/* No password for an encrypted key: never a terminal prompt, an error. */
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PASSWORD", NULL);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT(mdc_auth_token(a, false, &tok, NULL, &err) < 0);
	ASSERT_CONTAINS(err.message, "encrypted");
	ASSERT_EQ_INT(3, en.token_requests);
	mdc_auth_free(a);
	mdc_error_clear(&err);

	stop_entra(&s, &en);
	unlink(path);
	rmdir(dir);
	free(path);
	free(cert);
	free(key);
	mdc_buf_release(&pem);
	mdc_buf_release(&tok);
}

TEST(federated_token_file_reread_on_every_request)
{
	struct ts_server s;
	struct entra en;
	struct env e = {.now = 1700000000};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char dir[] = "/tmp/mdc-auth-XXXXXX", *path;

	ASSERT(mkdtemp(dir) != NULL);
	ASSERT_EQ_INT(0, start_entra(&s, &en));
	path = ts_write_temp(dir, "token", "fed-first\n");
	env_set(&e, "ARM_TENANT_ID", TENANT); /* Terraform's names */
	env_set(&e, "ARM_CLIENT_ID", CLIENT);
	env_set(&e, "ARM_OIDC_TOKEN_FILE_PATH", path);
	env_set(&e, "AZURE_AUTHORITY_HOST", en.base);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_FEDERATED, mdc_auth_kind(a));
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, NULL, &err));
	ASSERT_EQ_STR("tok-federated", tok.ptr);
	ASSERT_EQ_STR("fed-first", en.last_assertion);
	free(ts_write_temp(dir, "token", "fed-rotated"));
	ASSERT_EQ_INT(0, mdc_auth_token(a, true, &tok, NULL, &err));
	ASSERT_EQ_STR("fed-rotated", en.last_assertion);
	unlink(path);
	ASSERT_EQ_INT(MDC_EINVALID, mdc_auth_token(a, true, &tok, NULL, &err));
	ASSERT_CONTAINS(err.message, "ARM_OIDC_TOKEN_FILE_PATH");
	mdc_auth_free(a);
	stop_entra(&s, &en);
	rmdir(dir);
	free(path);
	mdc_error_clear(&err);
	mdc_buf_release(&tok);
}

TEST(chain_order_aliases_and_forced_kinds)
{
	struct env e = {.now = 1};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	enum mdc_auth_kind k;

	env_set(&e, "PATH", "/nonexistent");
	env_set(&e, "AZURE_TENANT_ID", TENANT);
	env_set(&e, "AZURE_CLIENT_ID", CLIENT);
	env_set(&e, "AZURE_CLIENT_SECRET", SECRET);
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PATH", "/x/cert.pem");
	env_set(&e, "AZURE_FEDERATED_TOKEN_FILE", "/x/token");
	env_set(&e, "IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token");
	env_set(&e, "IDENTITY_HEADER", "h");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_SECRET, mdc_auth_kind(a));
	mdc_auth_free(a);
	env_set(&e, "AZURE_CLIENT_SECRET", NULL);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_CERTIFICATE, mdc_auth_kind(a));
	mdc_auth_free(a);
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PATH", NULL);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_FEDERATED, mdc_auth_kind(a));
	mdc_auth_free(a);
	env_set(&e, "AZURE_FEDERATED_TOKEN_FILE", NULL);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_MANAGED_IDENTITY, mdc_auth_kind(a));
	ASSERT_CONTAINS(mdc_auth_describe(a), "IDENTITY_ENDPOINT");
	mdc_auth_free(a);
	env_set(&e, "IDENTITY_HEADER", NULL);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_AUTO, mdc_auth_kind(a)); /* IMDS, else az: decided later */
	mdc_auth_free(a);

	/* Terraform's names stand in for unset AZURE_ ones; AZURE_ ones win. */
	env_set(&e, "ARM_CLIENT_SECRET", "arm-secret");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_SECRET, mdc_auth_kind(a));
	ASSERT_CONTAINS(mdc_auth_describe(a), "ARM_CLIENT_SECRET");
	mdc_auth_free(a);
	env_set(&e, "AZURE_CLIENT_SECRET", SECRET);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_CONTAINS(mdc_auth_describe(a), "AZURE_CLIENT_SECRET");
	mdc_auth_free(a);
	env_set(&e, "AZURE_TENANT_ID", NULL);
	env_set(&e, "ARM_TENANT_ID", NULL);
	o.tenant_id = TENANT; /* the config's tenant: */
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_SECRET, mdc_auth_kind(a));
	ASSERT_CONTAINS(mdc_auth_describe(a), TENANT);
	ASSERT_CONTAINS(mdc_auth_describe(a), "https://login.microsoftonline.com");
	mdc_auth_free(a);

	/* A forced kind that is not configured says what is missing. */
	o.kind = MDC_AUTH_CERTIFICATE;
	ASSERT_EQ_INT(MDC_EINVALID, mdc_auth_new(&a, &o, &err));
	ASSERT_CONTAINS(err.message, "AZURE_CLIENT_CERTIFICATE_PATH");
	o.kind = MDC_AUTH_AZURE_CLI;
	ASSERT_EQ_INT(MDC_EINVALID, mdc_auth_new(&a, &o, &err));
	ASSERT_CONTAINS(err.message, "'az' on PATH");
	o.kind = MDC_AUTH_SECRET; /* forced, even with other things configured */
	env_set(&e, "AZURE_CLIENT_CERTIFICATE_PATH", "/x/cert.pem");
	o.authority_host = "https://login.microsoftonline.us/";
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_SECRET, mdc_auth_kind(a));
	ASSERT_CONTAINS(mdc_auth_describe(a), "authority https://login.microsoftonline.us,");
	mdc_auth_free(a);

	ASSERT_EQ_INT(0, mdc_auth_kind_parse("managed-identity", &k, &err));
	ASSERT_EQ_INT(MDC_AUTH_MANAGED_IDENTITY, k);
	ASSERT_EQ_INT(MDC_EINVALID, mdc_auth_kind_parse("password", &k, &err));
	ASSERT_EQ_STR("azure-cli", mdc_auth_kind_name(MDC_AUTH_AZURE_CLI));
	mdc_error_clear(&err);
}

TEST(managed_identity_app_service_and_imds)
{
	struct ts_server s;
	struct entra en;
	struct env e = {.now = 1700000000};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char *endpoint;
	long long exp = 0;

	o.now = NULL;
	ASSERT_EQ_INT(0, start_entra(&s, &en));
	endpoint = mdc_xasprintf("%s/msi/token", en.base);
	env_set(&e, "IDENTITY_ENDPOINT", endpoint);
	env_set(&e, "IDENTITY_HEADER", "identity-header-value");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_MANAGED_IDENTITY, mdc_auth_kind(a));
	ASSERT_NOT_CONTAINS(mdc_auth_describe(a), "identity-header-value");
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, &exp, &err));
	ASSERT_EQ_STR("tok-msi", tok.ptr);
	ASSERT(exp > (long long)time(NULL) + 3000);
	ASSERT_EQ_STR("identity-header-value", en.msi_header);
	ASSERT_EQ_STR("2019-08-01", en.msi_api);
	ASSERT_EQ_STR("https://management.azure.com", en.msi_query_resource);
	mdc_auth_free(a);

	/* IMDS, at the host AZURE_POD_IDENTITY_AUTHORITY_HOST names (never 169.254.169.254). */
	env_set(&e, "IDENTITY_ENDPOINT", NULL);
	env_set(&e, "IDENTITY_HEADER", NULL);
	env_set(&e, "AZURE_POD_IDENTITY_AUTHORITY_HOST", en.base);
	o.kind = MDC_AUTH_MANAGED_IDENTITY;
	mdc_buf_reset(&tok);
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_CONTAINS(mdc_auth_describe(a), "IMDS");
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, &exp, &err));
	ASSERT_EQ_STR("tok-imds", tok.ptr);
	ASSERT_EQ_STR("true", en.metadata);
	ASSERT_EQ_STR("2018-02-01", en.msi_api);
	ASSERT_EQ_STR("https://management.azure.com", en.msi_query_resource);
	mdc_auth_free(a);
	stop_entra(&s, &en);
	free(endpoint);
	mdc_buf_release(&tok);
}

TEST(azure_cli_fallback_when_imds_does_not_answer)
{
	struct env e = {.now = 1700000000};
	struct mdc_auth_opts o = opts_for(&e);
	struct mdc_auth *a = NULL;
	struct mdc_buf tok = MDC_BUF_INIT, args = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char dir[] = "/tmp/mdc-auth-XXXXXX", *az, *argsfile, *imds, *script;
	long long exp = 0;

	ASSERT(mkdtemp(dir) != NULL);
	argsfile = mdc_xasprintf("%s/args", dir);
	script = mdc_xasprintf("#!/bin/sh\n"
	                       "echo \"$@\" > '%s'\n"
	                       "if [ \"$MDC_FAKE_AZ_FAIL\" = 1 ]; then\n"
	                       "  echo \"ERROR: Please run 'az login' to setup account.\" >&2\n"
	                       "  exit 1\n"
	                       "fi\n"
	                       "printf '{\\n  \"accessToken\": \"tok-az\",\\n  \"expiresOn\": "
	                       "\"2023-11-14 22:13:20.000000\",\\n  \"expires_on\": 1700003600,\\n"
	                       "  \"tokenType\": \"Bearer\"\\n}\\n'\n",
	                       argsfile);
	az = ts_write_temp(dir, "az", script);
	ASSERT(az != NULL);
	chmod(az, 0755);
	imds = mdc_xasprintf("http://127.0.0.1:%d", ts_closed_port());
	env_set(&e, "PATH", dir);
	env_set(&e, "AZURE_POD_IDENTITY_AUTHORITY_HOST", imds);

	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_AUTH_AUTO, mdc_auth_kind(a));
	ASSERT_EQ_INT(0, mdc_auth_token(a, false, &tok, &exp, &err));
	ASSERT_EQ_STR("tok-az", tok.ptr);
	ASSERT_EQ_INT(1700003600, exp);
	ASSERT_EQ_INT(MDC_AUTH_AZURE_CLI, mdc_auth_kind(a));
	ASSERT_CONTAINS(mdc_auth_describe(a), "Azure CLI");
	ASSERT_EQ_INT(0, mdc_buf_read_file(&args, argsfile, 4096));
	ASSERT_EQ_STR("account get-access-token --resource https://management.azure.com --output "
	              "json\n",
	              args.ptr);
	mdc_auth_free(a);

	/* az failing: its complaint reaches the message. */
	setenv("MDC_FAKE_AZ_FAIL", "1", 1);
	o.kind = MDC_AUTH_AZURE_CLI;
	o.tenant_id = TENANT;
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_EAUTH, mdc_auth_token(a, false, &tok, &exp, &err));
	unsetenv("MDC_FAKE_AZ_FAIL");
	ASSERT_CONTAINS(err.message, "az exited with 1: ERROR: Please run 'az login'");
	mdc_buf_reset(&args);
	ASSERT_EQ_INT(0, mdc_buf_read_file(&args, argsfile, 4096));
	ASSERT_CONTAINS(args.ptr, "--tenant " TENANT);
	mdc_auth_free(a);
	mdc_error_clear(&err);

	/* Nothing at all: no IMDS, no az. */
	o.kind = MDC_AUTH_AUTO;
	env_set(&e, "PATH", "/nonexistent");
	ASSERT_EQ_INT(0, mdc_auth_new(&a, &o, &err));
	ASSERT_EQ_INT(MDC_EAUTH, mdc_auth_token(a, false, &tok, &exp, &err));
	ASSERT_CONTAINS(err.message, "no credentials");
	mdc_auth_free(a);
	mdc_error_clear(&err);

	unlink(az);
	unlink(argsfile);
	rmdir(dir);
	free(az);
	free(argsfile);
	free(imds);
	free(script);
	mdc_buf_release(&tok);
	mdc_buf_release(&args);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
