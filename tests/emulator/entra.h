#ifndef MDCEMU_ENTRA_H
#define MDCEMU_ENTRA_H
/*
 * mdcemu's Microsoft Entra ID: the token endpoint, the managed-identity endpoint, and the
 * validation of the bearer tokens ARM requests carry (reference §10, §7.3).
 *
 * The emulator's state is one cJSON document (format in tests/emulator/README.md). The
 * parts read here:
 *   "tenantId": "<guid>"
 *   "principals": [ {
 *       "objectId": "<guid>", "clientId": "<guid>", "displayName": "...",
 *       "secret": "...",                      optional: client secret
 *       "certificates": ["-----BEGIN CERTIFICATE-----..."],  optional: for client assertions
 *       "federatedCredentials": [ { "issuer": "...", "subject": "...",
 *            "audiences": ["api://AzureADTokenExchange"], "publicKey": "-----BEGIN PUBLIC
 * KEY-----..." } ], "managedIdentity": true                optional: served by the MI endpoint } ]
 *   "managedIdentityHeader": "..."            the X-IDENTITY-HEADER value the MI endpoint expects
 *
 * Thread safety: the functions only read `state`; the caller holds the state lock.
 */
#include <cjson/cJSON.h>
#include <stddef.h>

struct entra;

/* Creates the issuer with a fresh RSA-2048 signing key. base_url is the emulator's own
 * "https://localhost:PORT" (the authority host and one accepted token audience).
 * Returns NULL on failure. */
struct entra *entra_new(const char *base_url);
void entra_free(struct entra *e);

/* Sets the lifetime of the access tokens issued from now on (default 3599 s; tests use a
 * negative value to mint tokens that are already expired). */
void entra_set_token_lifetime(struct entra *e, int seconds);

/* Mints an access token for the principal whose clientId is client_id, with aud = resource
 * (e.g. "https://management.azure.com"), as the token endpoint would. For tests and the
 * admin API. Returns a malloc'd JWT (caller frees), or NULL when no such principal. */
char *entra_issue_token(struct entra *e, const cJSON *state, const char *client_id,
                        const char *resource);

/* Handles POST {base}/{tenant}/oauth2/v2.0/token with an x-www-form-urlencoded body.
 * Returns the HTTP status; *body gets the JSON response (malloc'd, caller frees):
 * an access token, or Entra's error body with the AADSTS code. */
int entra_token(struct entra *e, const cJSON *state, const char *tenant, const char *form,
                size_t len, char **body);

/* Handles GET {base}/msi/token?api-version=2019-08-01&resource=...[&client_id=...]
 * (App Service, IDENTITY_ENDPOINT + X-IDENTITY-HEADER), and the older App Service protocol
 * api-version=2017-09-01 [&clientid=...] (MSI_ENDPOINT + a "secret" header, which the
 * Azure CLI's `az login --identity` still speaks; expires_on is then a date). query is the
 * raw query string; identity_header and secret the headers' values (each may be NULL). */
int entra_msi_token(struct entra *e, const cJSON *state, const char *query,
                    const char *identity_header, const char *secret, char **body);

/* Handles the discovery documents MSAL-based clients fetch:
 * GET {base}/{tenant}/v2.0/.well-known/openid-configuration and {base}/common/discovery/keys.
 * Also {tenant}/.well-known/openid-configuration (v1), {tenant}/discovery[/v2.0]/keys and
 * MSAL's instance discovery {base}/common/discovery/instance?...: path is the request path
 * with its query string ("/common/discovery/instance?api-version=1.1&..."). An unknown
 * tenant gets 400 invalid_tenant (AADSTS90002). Returns 404 (body NULL) for other paths. */
int entra_discovery(struct entra *e, const cJSON *state, const char *path, char **body);

struct entra_caller {
	char oid[64];   /* object id of the principal */
	char appid[64]; /* client id */
	char tid[64];   /* tenant id */
};

/*
 * Validates an ARM request's Authorization header value ("Bearer <jwt>"): signature with
 * the emulator's key, exp/nbf, audience (https://management.azure.com[/],
 * https://management.core.windows.net/, or base_url[/]), and that the principal exists.
 * Returns 0 and fills *caller, or 401 and sets *code ("AuthenticationFailed",
 * "InvalidAuthenticationToken", "ExpiredAuthenticationToken",
 * "InvalidAuthenticationTokenAudience"; a static string) and *message (malloc'd,
 * caller frees) for ARM's error body; *www_authenticate gets the WWW-Authenticate header
 * value (malloc'd).
 */
int entra_check_bearer(struct entra *e, const cJSON *state, const char *authorization,
                       struct entra_caller *caller, const char **code, char **message,
                       char **www_authenticate);

/* The same checks for a Log Analytics query (loganalytics.c): the audience must be
 * https://api.loganalytics.io (.us, .azure.cn), with or without a final slash, or base_url[/]
 * (for tests); an ARM token is refused. */
int entra_check_bearer_loganalytics(struct entra *e, const cJSON *state, const char *authorization,
                                    struct entra_caller *caller, const char **code, char **message,
                                    char **www_authenticate);

#endif
