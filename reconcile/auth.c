/* strptime() for the Azure CLI's local-time expiresOn. */
#define _XOPEN_SOURCE 700

#include "auth.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "http.h"
#include "banned.h"

extern char **environ;

#define DEFAULT_AUTHORITY  "https://login.microsoftonline.com"
#define DEFAULT_ARM        "https://management.azure.com"
#define DEFAULT_IMDS       "http://169.254.169.254"
#define REFRESH_OFFSET_S   300
#define ASSERTION_LIFETIME 600
#define MAX_TOKEN_FILE     (64 << 10)
#define MAX_CERT_FILE      (1 << 20)
#define MAX_AZ_OUTPUT      (1 << 20)
#define IMDS_PROBE_MS      1000
#define DEFAULT_AZ_TIMEOUT 60000

struct mdc_auth {
	enum mdc_auth_kind kind; /* AUTO = IMDS probe pending, then az */
	bool forced;
	bool imds; /* managed identity through IMDS (not App Service) */
	char *tenant, *client_id, *secret, *cert_path, *cert_password, *token_file;
	const char *client_id_var, *secret_var, *cert_var, *token_file_var;
	char *authority, *arm, *scope;
	char *identity_endpoint, *identity_header, *imds_host;
	char *az_path;
	struct mdc_auth_opts o;
	char *ca_file, *user_agent;

	struct mdc_http *http; /* its own client: token requests run inside the ARM loop's hook */
	struct mdc_cert_key *cert;
	struct mdc_buf token;
	long long expires_on;
	char *describe;
};

/* --- small helpers ------------------------------------------------------------------- */

static const char *env_get(const struct mdc_auth_opts *o, const char *name)
{
	const char *v = o->getenv ? o->getenv(o->getenv_ctx, name) : getenv(name);

	return v && *v ? v : NULL;
}

/* The first of two variables that is set; *which names it. */
static char *env_pick(const struct mdc_auth_opts *o, const char *a, const char *b,
                      const char **which)
{
	const char *v = env_get(o, a);

	if (which)
		*which = a;
	if (!v && b && (v = env_get(o, b)) && which)
		*which = b;
	return v ? mdc_xstrdup(v) : NULL;
}

static long long now_s(const struct mdc_auth *a)
{
	return a->o.now ? a->o.now(a->o.now_ctx) : (long long)time(NULL);
}

static void wipe_str(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

static void wipe_buf(struct mdc_buf *b)
{
	if (b->len)
		explicit_bzero(b->ptr, b->len);
	mdc_buf_release(b);
}

static char *strip_slash(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return mdc_xstrndup(s, n);
}

static void url_encode(struct mdc_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			mdc_buf_addch(b, c);
		} else {
			mdc_buf_addch(b, '%');
			mdc_buf_addch(b, hex[c >> 4]);
			mdc_buf_addch(b, hex[c & 15]);
		}
	}
}

static void form_add(struct mdc_buf *b, const char *key, const char *value)
{
	if (b->len)
		mdc_buf_addch(b, '&');
	mdc_buf_adds(b, key);
	mdc_buf_addch(b, '=');
	url_encode(b, value);
}

/* Tenant ids go into the token URL's path: a GUID or a domain name, nothing else. */
static bool valid_tenant(const char *t)
{
	if (!*t || strlen(t) > 256)
		return false;
	for (; *t; t++)
		if (!isalnum((unsigned char)*t) && *t != '-' && *t != '.' && *t != '_')
			return false;
	return true;
}

static void logf_(struct mdc_auth *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct mdc_auth *a, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	if (!a->o.log || a->o.verbose < 1)
		return;
	mdc_buf_adds(&b, "auth: ");
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	a->o.log(a->o.log_ctx, b.ptr);
	mdc_buf_release(&b);
}

/* Replaces every occurrence of secret in s with "***" (defence in depth: no message we
 * build quotes a secret, but a server might echo one back). */
static void redact(char *s, const char *secret)
{
	size_t n;
	char *p;

	if (!s || !secret || (n = strlen(secret)) < 4)
		return;
	while ((p = strstr(s, secret))) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

/* Looks for an executable named name on PATH (from the injected environment). */
static char *find_in_path(const struct mdc_auth_opts *o, const char *name)
{
	const char *path = env_get(o, "PATH"), *p;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n) {
			char *cand = mdc_xasprintf("%.*s/%s", (int)n, p, name);
			struct stat st;
			if (!stat(cand, &st) && S_ISREG(st.st_mode) && !access(cand, X_OK))
				return cand;
			free(cand);
		}
		if (!e)
			return NULL;
		p = e;
	}
}

/* --- names --------------------------------------------------------------------------- */

static const char *const kind_names[MDC_AUTH_KIND_MAX] = {
    "auto", "secret", "certificate", "federated", "managed-identity", "azure-cli",
};

const char *mdc_auth_kind_name(enum mdc_auth_kind kind)
{
	return kind >= 0 && kind < MDC_AUTH_KIND_MAX ? kind_names[kind] : "unknown";
}

int mdc_auth_kind_parse(const char *name, enum mdc_auth_kind *kind, struct mdc_error *err)
{
	for (int i = 0; i < MDC_AUTH_KIND_MAX; i++) {
		if (name && !strcmp(name, kind_names[i])) {
			*kind = (enum mdc_auth_kind)i;
			return 0;
		}
	}
	return mdc_error_set(err, MDC_EINVALID,
	                     "unknown credential kind '%s' (use auto, secret, certificate, "
	                     "federated, managed-identity or azure-cli)",
	                     name ? name : "");
}

/* --- choosing the credential --------------------------------------------------------- */

static int need(struct mdc_auth *a, struct mdc_error *err, const char *what, bool tenant,
                bool client, const char *value, const char *var)
{
	struct mdc_buf miss = MDC_BUF_INIT;
	int ret = 0;

	if (tenant && !a->tenant)
		mdc_buf_adds(&miss, " AZURE_TENANT_ID");
	if (client && !a->client_id)
		mdc_buf_adds(&miss, " AZURE_CLIENT_ID");
	if (var && !value)
		mdc_buf_addf(&miss, " %s", var);
	if (miss.len)
		ret = mdc_error_set(err, MDC_EINVALID, "%s credentials need%s", what, miss.ptr);
	mdc_buf_release(&miss);
	return ret;
}

static void describe(struct mdc_auth *a)
{
	struct mdc_buf b = MDC_BUF_INIT;

	switch (a->kind) {
	case MDC_AUTH_SECRET:
		mdc_buf_addf(&b, "client secret (%s from %s", a->client_id, a->secret_var);
		break;
	case MDC_AUTH_CERTIFICATE:
		mdc_buf_addf(&b, "client certificate %s (%s", a->cert_path, a->client_id);
		if (a->cert) {
			char *subj = mdc_cert_subject(a->cert);
			mdc_buf_addf(&b, ", subject %s", subj);
			free(subj);
		}
		break;
	case MDC_AUTH_FEDERATED:
		mdc_buf_addf(&b, "federated token file %s from %s (%s", a->token_file,
		             a->token_file_var, a->client_id);
		break;
	case MDC_AUTH_MANAGED_IDENTITY:
		if (a->imds)
			mdc_buf_addf(&b, "managed identity via IMDS %s (", a->imds_host);
		else
			mdc_buf_addf(&b, "managed identity via IDENTITY_ENDPOINT %s (",
			             a->identity_endpoint);
		mdc_buf_addf(&b, "%s", a->client_id ? a->client_id : "system-assigned");
		break;
	case MDC_AUTH_AZURE_CLI:
		mdc_buf_addf(&b, "Azure CLI %s (", a->az_path ? a->az_path : "az");
		mdc_buf_addf(&b, "%s", a->tenant ? a->tenant : "its default tenant");
		break;
	default:
		mdc_buf_addf(&b, "managed identity via IMDS %s, else the Azure CLI (",
		             a->imds_host);
		mdc_buf_adds(&b, "not probed yet");
		break;
	}
	if (a->kind == MDC_AUTH_SECRET || a->kind == MDC_AUTH_CERTIFICATE ||
	    a->kind == MDC_AUTH_FEDERATED)
		mdc_buf_addf(&b, ", tenant %s, authority %s", a->tenant, a->authority);
	mdc_buf_addf(&b, ", scope %s)", a->scope);
	free(a->describe);
	a->describe = mdc_buf_detach(&b);
}

int mdc_auth_new(struct mdc_auth **out, const struct mdc_auth_opts *opts, struct mdc_error *err)
{
	static const struct mdc_auth_opts none;
	struct mdc_auth *a = mdc_xcalloc(1, sizeof(*a));
	const struct mdc_auth_opts *o;
	const char *host, *v;
	int ret = 0;

	*out = NULL;
	a->o = opts ? *opts : none;
	o = &a->o;
	a->token = (struct mdc_buf)MDC_BUF_INIT;
	a->ca_file = o->ca_file ? mdc_xstrdup(o->ca_file) : NULL;
	a->user_agent = o->user_agent ? mdc_xstrdup(o->user_agent) : NULL;
	a->o.ca_file = a->ca_file;
	a->o.user_agent = a->user_agent;
	a->o.tenant_id = a->o.authority_host = a->o.arm_endpoint = NULL; /* copied below */

	a->tenant = env_pick(o, "AZURE_TENANT_ID", "ARM_TENANT_ID", NULL);
	if (!a->tenant && opts && opts->tenant_id && *opts->tenant_id)
		a->tenant = mdc_xstrdup(opts->tenant_id);
	a->client_id = env_pick(o, "AZURE_CLIENT_ID", "ARM_CLIENT_ID", &a->client_id_var);
	a->secret = env_pick(o, "AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", &a->secret_var);
	a->cert_path = env_pick(o, "AZURE_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PATH",
	                        &a->cert_var);
	a->cert_password = env_pick(o, "AZURE_CLIENT_CERTIFICATE_PASSWORD",
	                            "ARM_CLIENT_CERTIFICATE_PASSWORD", NULL);
	a->token_file = env_pick(o, "AZURE_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH",
	                         &a->token_file_var);
	a->identity_endpoint = env_pick(o, "IDENTITY_ENDPOINT", NULL, NULL);
	a->identity_header = env_pick(o, "IDENTITY_HEADER", NULL, NULL);
	a->imds_host =
	    strip_slash((v = env_get(o, "AZURE_POD_IDENTITY_AUTHORITY_HOST")) ? v : DEFAULT_IMDS);
	host = opts && opts->authority_host && *opts->authority_host ? opts->authority_host
	       : (v = env_get(o, "AZURE_AUTHORITY_HOST"))            ? v
	                                                             : DEFAULT_AUTHORITY;
	a->authority = strip_slash(host);
	a->arm = strip_slash(opts && opts->arm_endpoint && *opts->arm_endpoint ? opts->arm_endpoint
	                                                                       : DEFAULT_ARM);
	a->scope = mdc_xasprintf("%s/.default", a->arm);

	if (a->tenant && !valid_tenant(a->tenant)) {
		ret = mdc_error_set(err, MDC_EINVALID,
		                    "tenant id '%s' is neither a GUID nor a domain", a->tenant);
		goto cleanup;
	}
	if (strncmp(a->authority, "https://", 8) && strncmp(a->authority, "http://", 7)) {
		ret = mdc_error_set(err, MDC_EINVALID, "authority host '%s' is not a URL",
		                    a->authority);
		goto cleanup;
	}

	a->forced = o->kind != MDC_AUTH_AUTO;
	switch (o->kind) {
	case MDC_AUTH_SECRET:
		ret = need(a, err, "secret", true, true, a->secret, "AZURE_CLIENT_SECRET");
		break;
	case MDC_AUTH_CERTIFICATE:
		ret = need(a, err, "certificate", true, true, a->cert_path,
		           "AZURE_CLIENT_CERTIFICATE_PATH");
		break;
	case MDC_AUTH_FEDERATED:
		ret = need(a, err, "federated", true, true, a->token_file,
		           "AZURE_FEDERATED_TOKEN_FILE");
		break;
	case MDC_AUTH_MANAGED_IDENTITY:
	case MDC_AUTH_AZURE_CLI:
		break;
	case MDC_AUTH_AUTO:
		if (a->tenant && a->client_id && a->secret)
			a->kind = MDC_AUTH_SECRET;
		else if (a->tenant && a->client_id && a->cert_path)
			a->kind = MDC_AUTH_CERTIFICATE;
		else if (a->tenant && a->client_id && a->token_file)
			a->kind = MDC_AUTH_FEDERATED;
		else if (a->identity_endpoint && a->identity_header)
			a->kind = MDC_AUTH_MANAGED_IDENTITY;
		break;
	default:
		ret = mdc_error_set(err, MDC_EINVALID, "unknown credential kind");
		break;
	}
	if (ret < 0)
		goto cleanup;
	if (a->forced)
		a->kind = o->kind;
	if (a->kind == MDC_AUTH_MANAGED_IDENTITY)
		a->imds = !(a->identity_endpoint && a->identity_header);
	if (a->kind == MDC_AUTH_AZURE_CLI || a->kind == MDC_AUTH_AUTO) {
		a->az_path = find_in_path(o, "az");
		if (!a->az_path && a->kind == MDC_AUTH_AZURE_CLI) {
			ret = mdc_error_set(err, MDC_EINVALID,
			                    "azure-cli credentials need 'az' on PATH");
			goto cleanup;
		}
	}
	describe(a);
	*out = a;
	a = NULL;
cleanup:
	mdc_auth_free(a);
	return ret;
}

void mdc_auth_free(struct mdc_auth *a)
{
	if (!a)
		return;
	mdc_http_free(a->http);
	mdc_cert_key_free(a->cert);
	wipe_buf(&a->token);
	wipe_str(a->secret);
	wipe_str(a->cert_password);
	wipe_str(a->identity_header);
	free(a->tenant);
	free(a->client_id);
	free(a->secret);
	free(a->cert_path);
	free(a->cert_password);
	free(a->token_file);
	free(a->authority);
	free(a->arm);
	free(a->scope);
	free(a->identity_endpoint);
	free(a->identity_header);
	free(a->imds_host);
	free(a->az_path);
	free(a->ca_file);
	free(a->user_agent);
	free(a->describe);
	free(a);
}

const char *mdc_auth_describe(const struct mdc_auth *a)
{
	return a->describe;
}

enum mdc_auth_kind mdc_auth_kind(const struct mdc_auth *a)
{
	return a->kind;
}

void mdc_auth_invalidate(struct mdc_auth *a)
{
	wipe_buf(&a->token);
	a->expires_on = 0;
}

/* --- token responses ----------------------------------------------------------------- */

static long long json_number(const cJSON *o, const char *name, bool *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char *end;
	long long n;

	*ok = false;
	if (cJSON_IsNumber(v)) {
		*ok = true;
		return (long long)v->valuedouble;
	}
	if (cJSON_IsString(v) && v->valuestring) {
		errno = 0;
		n = strtoll(v->valuestring, &end, 10);
		if (end != v->valuestring && !*end && !errno) {
			*ok = true;
			return n;
		}
	}
	return 0;
}

/* Stores access_token and its expiry from a token endpoint, managed identity or az reply.
 * The reply body is wiped afterwards by the caller. */
static int take_token(struct mdc_auth *a, const char *body, size_t len, const char *token_key,
                      const char *what, struct mdc_error *err)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *t;
	long long now = now_s(a), exp;
	bool ok;
	int ret = 0;

	t = cJSON_GetObjectItemCaseSensitive(j, token_key);
	if (!cJSON_IsString(t) || !t->valuestring || !*t->valuestring) {
		ret = mdc_error_set(err, MDC_EAUTH, "%s returned no %s", what, token_key);
		goto cleanup;
	}
	/* expires_on (epoch seconds, a number or a string) from managed identity and newer az;
	 * expires_in (seconds) from Entra; expiresOn (local time) from older az. */
	exp = json_number(j, "expires_on", &ok);
	if (!ok) {
		exp = json_number(j, "expires_in", &ok);
		if (ok)
			exp += now;
	}
	if (!ok) {
		const cJSON *eo = cJSON_GetObjectItemCaseSensitive(j, "expiresOn");
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		if (cJSON_IsString(eo) && eo->valuestring &&
		    strptime(eo->valuestring, "%Y-%m-%d %H:%M:%S", &tm)) {
			tm.tm_isdst = -1;
			exp = (long long)mktime(&tm);
			ok = exp > 0;
		}
	}
	if (!ok) /* UNCERTAIN: no expiry at all; assume a short life so it is soon renewed */
		exp = now + 2 * REFRESH_OFFSET_S;
	wipe_buf(&a->token);
	mdc_buf_adds(&a->token, t->valuestring);
	a->expires_on = exp;
cleanup:
	if (j) {
		/* The parsed copy holds the token too. */
		cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, token_key);
		if (cJSON_IsString(tok) && tok->valuestring)
			wipe_str(tok->valuestring);
		cJSON_Delete(j);
	}
	return ret;
}

static const struct {
	const char *code;
	const char *hint;
} hints[] = {
    {"AADSTS7000215", "check that AZURE_CLIENT_SECRET is the secret's value, not its id"},
    {"AADSTS7000222", "the client secret has expired: create a new one"},
    {"AADSTS90002", "check AZURE_TENANT_ID: no such tenant"},
    {"AADSTS900023", "check AZURE_TENANT_ID: not a valid tenant id or domain"},
    {"AADSTS700016",
     "the application AZURE_CLIENT_ID is not in this tenant: check AZURE_CLIENT_ID and "
     "AZURE_TENANT_ID"},
    {"AADSTS700027",
     "the certificate is not registered on the application, or the assertion is badly signed"},
    {"AADSTS700024",
     "the client assertion is outside its validity: check the clock, or the federated token "
     "has expired"},
    {"AADSTS70021",
     "no federated credential of the application matches the token's issuer and subject"},
    {"AADSTS700213",
     "no federated credential of the application matches the token's issuer and subject"},
    {"AADSTS7000229", "the application has no service principal in this tenant"},
};

/* A token request failed: says which credential, the AADSTS code and a hint. */
static int token_error(struct mdc_auth *a, const char *what, struct mdc_error *err)
{
	const char *hint = NULL;

	if (err && err->arm_code)
		for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
			if (!strcmp(err->arm_code, hints[i].code))
				hint = hints[i].hint;
	if (err && err->code != MDC_ENET)
		err->code = MDC_EAUTH;
	mdc_error_prefix(err, "cannot get a token with the %s", what);
	if (hint && err) {
		char *m = mdc_xasprintf("%s (hint: %s)", err->message, hint);
		free(err->message);
		err->message = m;
	}
	if (err) {
		redact(err->message, a->secret);
		redact(err->message, a->identity_header);
	}
	return err ? err->code : MDC_EAUTH;
}

static int ensure_http(struct mdc_auth *a, struct mdc_error *err)
{
	struct mdc_http_opts ho = {
	    .ca_file = a->ca_file,
	    .parallelism = 2,
	    .timeout_ms = a->o.timeout_ms > 0 ? a->o.timeout_ms : 30000,
	    .max_attempts = 4,
	    .budget_ms = 60000,
	    .user_agent = a->user_agent,
	    .verbose = a->o.verbose,
	    .log = a->o.log,
	    .log_ctx = a->o.log_ctx,
	};

	if (a->http)
		return 0;
	return mdc_http_new(&a->http, &ho, err);
}

/* POSTs the client-credentials form to {authority}/{tenant}/oauth2/v2.0/token. */
static int token_endpoint(struct mdc_auth *a, struct mdc_buf *form, const char *what,
                          const char *secret2, struct mdc_error *err)
{
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	char *url = mdc_xasprintf("%s/%s/oauth2/v2.0/token", a->authority, a->tenant);
	int ret;

	if ((ret = ensure_http(a, err)) < 0)
		goto cleanup;
	ret = mdc_http_do(a->http,
	                  &(struct mdc_http_request){
	                      .method = "POST",
	                      .url = url,
	                      .body = form->ptr,
	                      .body_len = form->len,
	                      .content_type = "application/x-www-form-urlencoded",
	                      .idempotent = true, /* a token request changes nothing */
	                      .sensitive = true,
	                  },
	                  &resp, err);
	if (ret < 0) {
		redact(err ? err->message : NULL, secret2);
		ret = token_error(a, what, err);
		goto cleanup;
	}
	ret =
	    take_token(a, resp.body.ptr, resp.body.len, "access_token", "the token endpoint", err);
cleanup:
	wipe_buf(&resp.body);
	mdc_http_response_release(&resp);
	free(url);
	return ret;
}

static void client_form(struct mdc_auth *a, struct mdc_buf *form)
{
	form_add(form, "client_id", a->client_id);
	form_add(form, "scope", a->scope);
	form_add(form, "grant_type", "client_credentials");
}

static int fetch_secret(struct mdc_auth *a, struct mdc_error *err)
{
	struct mdc_buf form = MDC_BUF_INIT;
	int ret;

	client_form(a, &form);
	form_add(&form, "client_secret", a->secret);
	ret = token_endpoint(a, &form, "client secret", NULL, err);
	wipe_buf(&form);
	return ret;
}

static int assertion_form(struct mdc_auth *a, struct mdc_buf *form, const char *assertion,
                          const char *what, struct mdc_error *err)
{
	int ret;

	client_form(a, form);
	form_add(form, "client_assertion_type",
	         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
	form_add(form, "client_assertion", assertion);
	ret = token_endpoint(a, form, what, assertion, err);
	wipe_buf(form);
	return ret;
}

/* The client-assertion JWT of reference §10.1b, PS256 with x5t#S256. */
static int make_assertion(struct mdc_auth *a, struct mdc_buf *jwt, struct mdc_error *err)
{
	cJSON *hdr = cJSON_CreateObject(), *claims = cJSON_CreateObject();
	unsigned char thumb[32], *sig = NULL;
	size_t tlen, siglen;
	char *s = NULL, *b64 = NULL, jti[37];
	long long now = now_s(a);
	int ret = 0;

	tlen = mdc_cert_thumbprint(a->cert, 1, thumb);
	b64 = mdc_base64url(thumb, tlen);
	cJSON_AddStringToObject(hdr, "alg", "PS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	cJSON_AddStringToObject(hdr, "x5t#S256", b64);
	free(b64);
	s = mdc_xasprintf("%s/%s/oauth2/v2.0/token", a->authority, a->tenant);
	cJSON_AddStringToObject(claims, "aud", s);
	free(s);
	cJSON_AddStringToObject(claims, "iss", a->client_id);
	cJSON_AddStringToObject(claims, "sub", a->client_id);
	mdc_guid_random(jti);
	cJSON_AddStringToObject(claims, "jti", jti);
	cJSON_AddNumberToObject(claims, "nbf", (double)now);
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + ASSERTION_LIFETIME));

	s = cJSON_PrintUnformatted(hdr);
	b64 = mdc_base64url(s, strlen(s));
	mdc_buf_adds(jwt, b64);
	free(b64);
	cJSON_free(s);
	mdc_buf_addch(jwt, '.');
	s = cJSON_PrintUnformatted(claims);
	b64 = mdc_base64url(s, strlen(s));
	mdc_buf_adds(jwt, b64);
	free(b64);
	cJSON_free(s);
	if ((ret = mdc_cert_sign(a->cert, MDC_SIG_PS256, jwt->ptr, jwt->len, &sig, &siglen, err)) <
	    0)
		goto cleanup;
	b64 = mdc_base64url(sig, siglen);
	mdc_buf_addch(jwt, '.');
	mdc_buf_adds(jwt, b64);
	free(b64);
cleanup:
	free(sig);
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	return ret;
}

static int fetch_certificate(struct mdc_auth *a, struct mdc_error *err)
{
	struct mdc_buf jwt = MDC_BUF_INIT, form = MDC_BUF_INIT;
	int ret;

	if (!a->cert) {
		struct mdc_buf pem = MDC_BUF_INIT;
		if (mdc_buf_read_file(&pem, a->cert_path, MAX_CERT_FILE) < 0) {
			ret = mdc_error_set(err, MDC_EINVALID, "cannot read %s '%s': %s",
			                    a->cert_var, a->cert_path, strerror(errno));
			wipe_buf(&pem);
			return ret;
		}
		ret = mdc_cert_key_load_pem(&a->cert, pem.ptr, pem.len, a->cert_password, err);
		wipe_buf(&pem);
		if (ret < 0) {
			mdc_error_prefix(err, "%s '%s'", a->cert_var, a->cert_path);
			return ret;
		}
		describe(a);
	}
	if ((ret = make_assertion(a, &jwt, err)) < 0)
		goto cleanup;
	ret = assertion_form(a, &form, jwt.ptr, "client certificate", err);
cleanup:
	wipe_buf(&jwt);
	return ret;
}

static int fetch_federated(struct mdc_auth *a, struct mdc_error *err)
{
	struct mdc_buf tok = MDC_BUF_INIT, form = MDC_BUF_INIT;
	size_t n;
	int ret;

	/* Re-read every time: the file is rotated under us (Kubernetes, GitHub OIDC). */
	if (mdc_buf_read_file(&tok, a->token_file, MAX_TOKEN_FILE) < 0) {
		ret = mdc_error_set(err, MDC_EINVALID, "cannot read %s '%s': %s", a->token_file_var,
		                    a->token_file, strerror(errno));
		wipe_buf(&tok);
		return ret;
	}
	for (n = tok.len; n && isspace((unsigned char)tok.ptr[n - 1]); n--)
		;
	mdc_buf_setlen(&tok, n);
	if (!tok.len) {
		wipe_buf(&tok);
		return mdc_error_set(err, MDC_EINVALID, "%s '%s' is empty", a->token_file_var,
		                     a->token_file);
	}
	ret = assertion_form(a, &form, tok.ptr, "federated token", err);
	wipe_buf(&tok);
	return ret;
}

/* Managed identity: App Service's IDENTITY_ENDPOINT, or IMDS. probe: a short timeout, one
 * attempt (to find out whether IMDS is there at all). */
static int fetch_managed_identity(struct mdc_auth *a, bool probe, struct mdc_error *err)
{
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_kvlist hd = {0};
	struct mdc_buf url = MDC_BUF_INIT;
	bool imds = a->imds || a->kind == MDC_AUTH_AUTO;
	int ret;

	if ((ret = ensure_http(a, err)) < 0)
		return ret;
	if (imds) {
		mdc_buf_addf(&url, "%s/metadata/identity/oauth2/token?api-version=2018-02-01",
		             a->imds_host);
		mdc_kvlist_set(&hd, "Metadata", "true", false);
	} else {
		mdc_buf_addf(&url, "%s%capi-version=2019-08-01", a->identity_endpoint,
		             strchr(a->identity_endpoint, '?') ? '&' : '?');
		mdc_kvlist_set(&hd, "X-IDENTITY-HEADER", a->identity_header, false);
	}
	/* The v1 resource, without /.default (reference §10.2). */
	mdc_buf_adds(&url, "&resource=");
	url_encode(&url, a->arm);
	if (a->client_id) { /* a user-assigned identity */
		mdc_buf_adds(&url, "&client_id=");
		url_encode(&url, a->client_id);
	}
	ret = mdc_http_do(a->http,
	                  &(struct mdc_http_request){
	                      .method = "GET",
	                      .url = url.ptr,
	                      .headers = &hd,
	                      .max_attempts = probe ? 1 : 0,
	                      .timeout_ms = probe ? IMDS_PROBE_MS : 0,
	                  },
	                  &resp, err);
	if (ret < 0) {
		ret = token_error(a, imds ? "managed identity (IMDS)" : "managed identity", err);
		goto cleanup;
	}
	ret = take_token(a, resp.body.ptr, resp.body.len, "access_token",
	                 "the managed identity endpoint", err);
cleanup:
	wipe_buf(&resp.body);
	mdc_http_response_release(&resp);
	wipe_str(hd.n > 0 ? hd.v[0].value : NULL);
	mdc_kvlist_clear(&hd);
	mdc_buf_release(&url);
	return ret;
}

/* Runs argv (no shell), collecting stdout and the first part of stderr, with a timeout. */
static int run_process(const char *path, char *const argv[], int timeout_ms, struct mdc_buf *out,
                       struct mdc_buf *errout, int *status, struct mdc_error *err)
{
	posix_spawn_file_actions_t fa;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, ret = 0, spawned;
	pid_t pid = -1;
	struct timespec start, now;

	if (pipe(outp) < 0 || pipe(errp) < 0) {
		ret = mdc_error_set(err, MDC_EIO, "cannot create a pipe: %s", strerror(errno));
		goto cleanup;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawn_file_actions_addclose(&fa, outp[0]);
	posix_spawn_file_actions_addclose(&fa, errp[0]);
	posix_spawn_file_actions_addclose(&fa, outp[1]);
	posix_spawn_file_actions_addclose(&fa, errp[1]);
	spawned = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (spawned) {
		ret = mdc_error_set(err, MDC_EIO, "cannot run '%s': %s", path, strerror(spawned));
		pid = -1;
		goto cleanup;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pf[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
		long left;
		char buf[4096];
		int open_fds = (outp[0] >= 0) + (errp[0] >= 0);

		if (!open_fds)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
		                     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			kill(pid, SIGKILL);
			ret = mdc_error_set(err, MDC_EAUTH, "'%s' did not finish in %d s", path,
			                    timeout_ms / 1000);
			goto cleanup;
		}
		if (poll(pf, 2, (int)left) < 0 && errno != EINTR) {
			ret = mdc_error_set(err, MDC_EIO, "poll: %s", strerror(errno));
			goto cleanup;
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &errp[0] : &outp[0];
			struct mdc_buf *b = i ? errout : out;
			ssize_t n;
			if (*fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0 && b->len < MAX_AZ_OUTPUT)
				mdc_buf_add(b, buf, (size_t)n);
			else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				close(*fd);
				*fd = -1;
			}
			explicit_bzero(buf, sizeof(buf));
		}
	}
cleanup:
	if (pid > 0) {
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return ret;
}

static int fetch_azure_cli(struct mdc_auth *a, struct mdc_error *err)
{
	struct mdc_buf out = MDC_BUF_INIT, errout = MDC_BUF_INIT;
	char *argv[10];
	int n = 0, status = 0, ret;

	if (!a->az_path)
		return mdc_error_set(err, MDC_EAUTH,
		                     "no credentials: set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
		                     "AZURE_CLIENT_SECRET (or a certificate or federated token "
		                     "file), use a managed identity, or install the Azure CLI and "
		                     "run 'az login'");
	argv[n++] = "az";
	argv[n++] = "account";
	argv[n++] = "get-access-token";
	argv[n++] = "--resource";
	argv[n++] = a->arm;
	argv[n++] = "--output";
	argv[n++] = "json";
	if (a->tenant) {
		argv[n++] = "--tenant";
		argv[n++] = a->tenant;
	}
	argv[n] = NULL;
	logf_(a, "running %s account get-access-token --resource %s", a->az_path, a->arm);
	ret = run_process(a->az_path, argv,
	                  a->o.az_timeout_ms > 0 ? a->o.az_timeout_ms : DEFAULT_AZ_TIMEOUT, &out,
	                  &errout, &status, err);
	if (ret < 0)
		goto cleanup;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char *line = errout.ptr;
		/* The first non-empty line of az's complaint, e.g. "ERROR: Please run 'az login'".
		 */
		while (*line == '\n' || *line == '\r')
			line++;
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) > 300)
			line[300] = '\0';
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		ret = mdc_error_set(
		    err, MDC_EAUTH, "cannot get a token with the Azure CLI: az exited with %d%s%s",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, *line ? ": " : "", line);
		goto cleanup;
	}
	ret = take_token(a, out.ptr, out.len, "accessToken", "az account get-access-token", err);
	if (ret < 0)
		mdc_error_prefix(err, "cannot get a token with the Azure CLI");
cleanup:
	wipe_buf(&out);
	wipe_buf(&errout);
	return ret;
}

static int fetch(struct mdc_auth *a, struct mdc_error *err)
{
	struct mdc_error probe = MDC_ERROR_INIT;
	int ret;

	switch (a->kind) {
	case MDC_AUTH_SECRET:
		return fetch_secret(a, err);
	case MDC_AUTH_CERTIFICATE:
		return fetch_certificate(a, err);
	case MDC_AUTH_FEDERATED:
		return fetch_federated(a, err);
	case MDC_AUTH_MANAGED_IDENTITY:
		return fetch_managed_identity(a, false, err);
	case MDC_AUTH_AZURE_CLI:
		return fetch_azure_cli(a, err);
	default:
		break;
	}
	/* Automatic, nothing configured: IMDS if it answers, else the Azure CLI. */
	ret = fetch_managed_identity(a, true, &probe);
	if (ret == 0) {
		a->kind = MDC_AUTH_MANAGED_IDENTITY;
		a->imds = true;
	} else if (probe.code == MDC_ENET || probe.http_status == 400 || probe.http_status == 404) {
		/* Not there, or no identity assigned: the SDK calls that "unavailable". */
		logf_(a, "IMDS unavailable (%s); using the Azure CLI", probe.message);
		a->kind = MDC_AUTH_AZURE_CLI;
		ret = fetch_azure_cli(a, err);
	} else {
		mdc_error_move(err, &probe);
	}
	mdc_error_clear(&probe);
	describe(a);
	return ret;
}

int mdc_auth_token(struct mdc_auth *a, bool force, struct mdc_buf *token, long long *expires_on,
                   struct mdc_error *err)
{
	long long now = now_s(a);
	int ret;

	if (force || !a->token.len || now >= a->expires_on - REFRESH_OFFSET_S) {
		struct mdc_error e = MDC_ERROR_INIT;
		logf_(a, "fetching a token: %s", a->describe);
		ret = fetch(a, &e);
		if (ret < 0) {
			/* Keep working on a token that is still valid; report only when none is. */
			if (!force && a->token.len && now < a->expires_on) {
				logf_(a,
				      "refresh failed, the current token is valid for %lld s more: "
				      "%s",
				      a->expires_on - now, e.message);
				mdc_error_clear(&e);
			} else {
				if (err)
					mdc_error_move(err, &e);
				mdc_error_clear(&e);
				return ret;
			}
		} else {
			logf_(a, "got a token valid for %lld s", a->expires_on - now);
		}
	}
	mdc_buf_add(token, a->token.ptr, a->token.len);
	if (expires_on)
		*expires_on = a->expires_on;
	return 0;
}

int mdc_auth_authorize(void *ctx, struct mdc_buf *header_value, struct mdc_error *err)
{
	mdc_buf_adds(header_value, "Bearer ");
	return mdc_auth_token(ctx, false, header_value, NULL, err);
}
