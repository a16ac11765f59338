#ifndef MDC_INGEST_H
#define MDC_INGEST_H
/*
 * Whether Defender for Cloud alerts arrive in the Sentinel workspace (`mdcctl drift
 * --verify-ingest`): one Log Analytics query (reference §11) counts SecurityAlert rows with
 * ProductName == "Azure Security Center" per subscription over the last N days, and every
 * subscription that has an enabled AzureSecurityCenter connector but no row is "silent".
 *
 *	char *cid = NULL;
 *	mdc_ingest_customer_id(&cid, arm, workspace_path, &err);        // ARM GET,
 *properties.customerId struct mdc_ingest_result *r = NULL; mdc_ingest_query(&r, http, la_endpoint,
 *cid, 7, mdc_auth_authorize, la_auth, &err); mdc_ingest_silent(&silent, r, actual);
 *	mdc_ingest_result_free(r);
 *
 * The query goes through the http transport (the only libcurl user); the token is the
 * caller's business (an mdc_auth whose "arm_endpoint" is the Log Analytics endpoint, so
 * its scope is {la}/.default).
 */
#include <stdbool.h>
#include <stddef.h>

#include "actual.h"
#include "arm.h"
#include "config.h"
#include "error.h"
#include "http.h"
#include "util.h"

/* The workspace api-version used to read properties.customerId (reference §11). */
#define MDC_API_WORKSPACES "2023-09-01"

/* Rows per subscription, as the query returned them. */
struct mdc_ingest_row {
	char *subscription; /* lower case when it is a GUID, else as returned */
	long long count;
	char *last_seen; /* "2025-05-01T12:00:00Z" as returned, or NULL */
};

struct mdc_ingest_result {
	int days;
	struct mdc_ingest_row *rows; /* sorted by subscription */
	size_t nrows;
};

/* The Log Analytics API endpoint of a cloud (reference §10.6; China UNCERTAIN there).
 * Static string, no trailing slash. */
const char *mdc_ingest_default_endpoint(enum mdc_cloud cloud);

/* The KQL text of the query (§11), static. */
const char *mdc_ingest_query_text(void);

/* The request body for days (1..3650): {"query": ..., "timespan": "P<days>D"}. Caller frees. */
char *mdc_ingest_request_body(int days);

/* Parses a query response ({"tables":[{"columns":[...],"rows":[...]}]}), finding the
 * columns SubscriptionId, N and LastSeen by name. Returns 0 and *out (free with
 * mdc_ingest_result_free), or MDC_EINVALID when the body is not that shape. */
int mdc_ingest_parse(struct mdc_ingest_result **out, const char *json, size_t len, int days,
                     struct mdc_error *err);

/* Reads properties.customerId of the workspace (GET {workspace_path}?api-version=
 * MDC_API_WORKSPACES). *out is a new string (caller frees). Returns 0 or a negative code. */
int mdc_ingest_customer_id(char **out, struct mdc_arm *arm, const char *workspace_path,
                           struct mdc_error *err);

/* POSTs the query to {endpoint}/v1/workspaces/{customer_id}/query with the given
 * authorize hook and parses the answer. Errors name the workspace, never the token.
 * Returns 0 and *out, or a negative code with err filled. */
int mdc_ingest_query(struct mdc_ingest_result **out, struct mdc_http *http, const char *endpoint,
                     const char *customer_id, int days, mdc_http_authorize_fn authorize,
                     void *authorize_ctx, struct mdc_error *err);

/* Appends to connected the (lower-case, sorted, unique) subscription ids of the enabled
 * AzureSecurityCenter connectors in act's workspace (kind and alerts state compared
 * case-insensitively). */
void mdc_ingest_connected(struct mdc_strvec *connected, const struct mdc_actual *act);

/* Appends to silent every id of connected without a row of count > 0 in r. */
void mdc_ingest_silent(struct mdc_strvec *silent, const struct mdc_strvec *connected,
                       const struct mdc_ingest_result *r);

/* Borrowed row of subscription sub (case-insensitive), or NULL. */
const struct mdc_ingest_row *mdc_ingest_find(const struct mdc_ingest_result *r, const char *sub);

void mdc_ingest_result_free(struct mdc_ingest_result *r); /* accepts NULL */

#endif
