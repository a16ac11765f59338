#ifndef MDC_AUTH_H
#define MDC_AUTH_H
/*
 * The credential chain (reference §10): the Azure SDK order, the first one configured wins,
 * unless a kind is forced:
 *
 *   1. secret            AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET
 *   2. certificate       ... + AZURE_CLIENT_CERTIFICATE_PATH (PEM with the key; optional
 *                        AZURE_CLIENT_CERTIFICATE_PASSWORD): a PS256 client assertion
 *   3. federated         ... + AZURE_FEDERATED_TOKEN_FILE (re-read for every token)
 *   4. managed-identity  IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service), else IMDS
 *                        (AZURE_POD_IDENTITY_AUTHORITY_HOST or http://169.254.169.254)
 *   5. azure-cli         az account get-access-token --resource <arm> --output json
 *
 * Terraform's ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_CLIENT_CERTIFICATE_PATH,
 * ARM_CLIENT_CERTIFICATE_PASSWORD and ARM_OIDC_TOKEN_FILE_PATH stand in for unset AZURE_
 * names. In automatic mode, when nothing of 1-4 is configured, IMDS is probed (1 s) at the
 * first token request and the Azure CLI is used when IMDS does not answer, as
 * DefaultAzureCredential does.
 *
 * The token (scope {arm}/.default) is kept in memory and fetched again 300 s before it
 * expires, also in the middle of a run: pass mdc_auth_authorize as the transport's
 * authorize hook. Secrets, assertions and tokens never appear in error messages or logs.
 *
 * Not thread-safe: one thread uses an mdc_auth (the one that runs the transport loop).
 */
#include <stdbool.h>

#include "buf.h"
#include "error.h"

enum mdc_auth_kind {
	MDC_AUTH_AUTO = 0,
	MDC_AUTH_SECRET,
	MDC_AUTH_CERTIFICATE,
	MDC_AUTH_FEDERATED,
	MDC_AUTH_MANAGED_IDENTITY,
	MDC_AUTH_AZURE_CLI,
	MDC_AUTH_KIND_MAX
};

/* A getenv-like lookup; returns a borrowed string or NULL. */
typedef const char *(*mdc_auth_getenv_fn)(void *ctx, const char *name);

struct mdc_auth_opts {
	enum mdc_auth_kind kind;    /* MDC_AUTH_AUTO: the chain */
	const char *tenant_id;      /* used when AZURE_TENANT_ID and ARM_TENANT_ID are unset */
	const char *authority_host; /* wins over AZURE_AUTHORITY_HOST; default
	                               https://login.microsoftonline.com */
	const char *arm_endpoint;   /* default https://management.azure.com; the scope is
	                               {arm_endpoint}/.default */
	const char *ca_file;        /* for the token endpoints (a private CA), or NULL */
	int timeout_ms;             /* per token request; 0 = 30000 */
	int az_timeout_ms;          /* for the az process; 0 = 60000 */
	const char *user_agent;
	mdc_auth_getenv_fn getenv; /* NULL = the process environment */
	void *getenv_ctx;
	long long (*now)(void *ctx); /* epoch seconds; NULL = time() (tests move the clock) */
	void *now_ctx;
	int verbose; /* log lines (never with secrets): 1 = token fetches */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
};

struct mdc_auth;

/* Chooses the credential from opts and the environment (no network, no files read yet).
 * Returns 0 and sets *out (free with mdc_auth_free), or MDC_EINVALID with err saying which
 * variables are missing (e.g. a forced kind that is not configured, or nothing at all). */
int mdc_auth_new(struct mdc_auth **out, const struct mdc_auth_opts *opts, struct mdc_error *err);
/* Wipes the cached token and frees. NULL ok. */
void mdc_auth_free(struct mdc_auth *a);

/* The current access token, fetched when there is none, when it expires within 300 s, or
 * when force is true. Appends it to *token (the caller wipes and releases it) and, when
 * expires_on is not NULL, stores its expiry (epoch s). If a refresh fails while the cached
 * token is still valid, that token is returned. Returns 0, or MDC_EAUTH (token endpoint
 * refused: message with the AADSTS code and a hint), MDC_ENET, MDC_EINVALID (unreadable
 * certificate or token file) with err filled. */
int mdc_auth_token(struct mdc_auth *a, bool force, struct mdc_buf *token, long long *expires_on,
                   struct mdc_error *err);
/* The transport's authorize hook (mdc_http_authorize_fn): ctx is the struct mdc_auth;
 * appends "Bearer <token>". */
int mdc_auth_authorize(void *ctx, struct mdc_buf *header_value, struct mdc_error *err);
/* Forgets the cached token (after a 401, say); the next call fetches a new one. */
void mdc_auth_invalidate(struct mdc_auth *a);

/* Which credential is used, for -v, without secrets: e.g. "client secret (AZURE_CLIENT_ID
 * 0a1b..., tenant 72f9..., authority https://login.microsoftonline.com)". Borrowed, valid
 * until the next call on a. */
const char *mdc_auth_describe(const struct mdc_auth *a);
/* The kind in use (MDC_AUTH_AUTO only while the IMDS/az probe has not run yet). */
enum mdc_auth_kind mdc_auth_kind(const struct mdc_auth *a);
/* "secret", "certificate", "federated", "managed-identity", "azure-cli" ("auto"). Static. */
const char *mdc_auth_kind_name(enum mdc_auth_kind kind);
/* Parses a name above into *kind; returns 0 or MDC_EINVALID with err listing the names. */
int mdc_auth_kind_parse(const char *name, enum mdc_auth_kind *kind, struct mdc_error *err);

#endif
