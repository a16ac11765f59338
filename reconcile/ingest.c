/*
 * The Log Analytics check of `drift --verify-ingest` (reference §11).
 */
#include "ingest.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure.h"
#include "buf.h"
#include "banned.h"

/* The connector definitions use exactly this filter for "data received" (§11, VERIFIED);
 * the summarize turns ResourceId (/subscriptions/<id>/...) into the subscription. */
static const char query_text[] =
    "SecurityAlert | where ProductName == \"" MDC_PRODUCT_FILTER_MDC "\" | summarize "
    "LastSeen=max(TimeGenerated), N=count() by SubscriptionId = "
    "tostring(split(ResourceId, '/')[2])";

/* §10.6: AzureCloud and AzureUSGovernment VERIFIED, AzureChinaCloud UNCERTAIN (the most
 * plausible host, following the other China endpoints). */
static const char *const endpoints[MDC_CLOUD_MAX] = {
    [MDC_CLOUD_AZURE] = "https://api.loganalytics.io",
    [MDC_CLOUD_USGOV] = "https://api.loganalytics.us",
    [MDC_CLOUD_CHINA] = "https://api.loganalytics.azure.cn",
};

const char *mdc_ingest_default_endpoint(enum mdc_cloud cloud)
{
	return (unsigned)cloud < MDC_CLOUD_MAX ? endpoints[cloud] : endpoints[0];
}

const char *mdc_ingest_query_text(void)
{
	return query_text;
}

char *mdc_ingest_request_body(int days)
{
	cJSON *o = cJSON_CreateObject();
	char span[32];
	char *s;

	snprintf(span, sizeof(span), "P%dD", days);
	cJSON_AddStringToObject(o, "query", query_text);
	cJSON_AddStringToObject(o, "timespan", span);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		abort();
	return s;
}

static int cmp_row(const void *x, const void *y)
{
	const struct mdc_ingest_row *a = x, *b = y;
	return strcasecmp(a->subscription, b->subscription);
}

static int column(const cJSON *columns, const char *name)
{
	int i = 0;
	const cJSON *c;

	cJSON_ArrayForEach(c, columns)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return i;
		i++;
	}
	return -1;
}

void mdc_ingest_result_free(struct mdc_ingest_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows; i++) {
		free(r->rows[i].subscription);
		free(r->rows[i].last_seen);
	}
	free(r->rows);
	free(r);
}

int mdc_ingest_parse(struct mdc_ingest_result **out, const char *json, size_t len, int days,
                     struct mdc_error *err)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *table, *columns, *rows, *row;
	struct mdc_ingest_result *r = NULL;
	size_t alloc = 0;
	int ci, ni, li, rc = 0;

	*out = NULL;
	table = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "tables"), 0);
	columns = cJSON_GetObjectItemCaseSensitive(table, "columns");
	rows = cJSON_GetObjectItemCaseSensitive(table, "rows");
	if (!cJSON_IsArray(columns) || !cJSON_IsArray(rows)) {
		rc =
		    mdc_error_set(err, MDC_EINVALID,
		                  "unexpected Log Analytics answer: no tables[0].columns and rows");
		goto cleanup;
	}
	ci = column(columns, "SubscriptionId");
	ni = column(columns, "N");
	li = column(columns, "LastSeen");
	if (ci < 0 || ni < 0) {
		rc =
		    mdc_error_set(err, MDC_EINVALID,
		                  "unexpected Log Analytics answer: no SubscriptionId or N column");
		goto cleanup;
	}
	r = mdc_xcalloc(1, sizeof(*r));
	r->days = days;
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *sub = cJSON_GetArrayItem(row, ci), *n = cJSON_GetArrayItem(row, ni);
		const cJSON *last = li >= 0 ? cJSON_GetArrayItem(row, li) : NULL;
		struct mdc_ingest_row *e;
		char guid[37];

		if (!cJSON_IsString(sub))
			continue;
		MDC_ALLOC_GROW(r->rows, r->nrows + 1, alloc);
		e = &r->rows[r->nrows++];
		e->subscription = mdc_xstrdup(
		    mdc_guid_normalize(sub->valuestring, guid) ? guid : sub->valuestring);
		/* long may come as a number or, from some clients, a string */
		e->count = cJSON_IsNumber(n)   ? (long long)n->valuedouble
		           : cJSON_IsString(n) ? strtoll(n->valuestring, NULL, 10)
		                               : 0;
		e->last_seen = cJSON_IsString(last) ? mdc_xstrdup(last->valuestring) : NULL;
	}
	if (r->nrows > 1)
		qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_row);
	*out = r;
cleanup:
	cJSON_Delete(root);
	return rc;
}

int mdc_ingest_customer_id(char **out, struct mdc_arm *arm, const char *workspace_path,
                           struct mdc_error *err)
{
	cJSON *body = NULL;
	const cJSON *cid;
	int status = 0, rc;

	*out = NULL;
	rc = mdc_arm_call_sync(arm, "GET", workspace_path, MDC_API_WORKSPACES, NULL, NULL, &status,
	                       &body, err);
	if (rc < 0) {
		mdc_error_prefix(err, "cannot read the workspace's customer id");
		goto cleanup;
	}
	cid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "properties"),
	                                       "customerId");
	if (!cJSON_IsString(cid) || !*cid->valuestring) {
		rc = mdc_error_set(err, MDC_EINVALID, "workspace '%s' has no properties.customerId",
		                   workspace_path);
		goto cleanup;
	}
	*out = mdc_xstrdup(cid->valuestring);
cleanup:
	cJSON_Delete(body);
	return rc;
}

int mdc_ingest_query(struct mdc_ingest_result **out, struct mdc_http *http, const char *endpoint,
                     const char *customer_id, int days, mdc_http_authorize_fn authorize,
                     void *authorize_ctx, struct mdc_error *err)
{
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_buf url = MDC_BUF_INIT;
	char *body = mdc_ingest_request_body(days);
	size_t n = strlen(endpoint);
	int rc;

	*out = NULL;
	while (n && endpoint[n - 1] == '/')
		n--;
	mdc_buf_add(&url, endpoint, n);
	mdc_buf_addf(&url, "/v1/workspaces/%s/query", customer_id);
	rc = mdc_http_do(http,
	                 &(struct mdc_http_request){
	                     .method = "POST",
	                     .url = url.ptr,
	                     .body = body,
	                     /* a query changes nothing: safe to retry like a GET */
	                     .idempotent = true,
	                     .authorize = authorize,
	                     .authorize_ctx = authorize_ctx,
	                 },
	                 &resp, err);
	if (rc < 0) {
		mdc_error_prefix(err, "cannot query Log Analytics workspace '%s'", customer_id);
		goto cleanup;
	}
	rc = mdc_ingest_parse(out, resp.body.ptr, resp.body.len, days, err);
	if (rc < 0)
		mdc_error_prefix(err, "workspace '%s'", customer_id);
cleanup:
	mdc_http_response_release(&resp);
	mdc_buf_release(&url);
	free(body);
	return rc;
}

void mdc_ingest_connected(struct mdc_strvec *connected, const struct mdc_actual *act)
{
	struct mdc_strvec v = {0};

	for (size_t i = 0; i < act->workspace.nconnectors; i++) {
		const struct mdc_connector *c = &act->workspace.connectors[i];
		if (!mdc_streq_i(c->kind, "AzureSecurityCenter") || !c->subscription_id ||
		    !mdc_streq_i(c->alerts_state, "Enabled"))
			continue;
		if (mdc_strvec_find(&v, c->subscription_id, true) < 0)
			mdc_strvec_push(&v, c->subscription_id);
	}
	mdc_strvec_sort(&v);
	for (size_t i = 0; i < v.n; i++)
		mdc_strvec_push(connected, v.v[i]);
	mdc_strvec_clear(&v);
}

const struct mdc_ingest_row *mdc_ingest_find(const struct mdc_ingest_result *r, const char *sub)
{
	for (size_t i = 0; r && i < r->nrows; i++)
		if (mdc_streq_i(r->rows[i].subscription, sub))
			return &r->rows[i];
	return NULL;
}

void mdc_ingest_silent(struct mdc_strvec *silent, const struct mdc_strvec *connected,
                       const struct mdc_ingest_result *r)
{
	for (size_t i = 0; i < connected->n; i++) {
		const struct mdc_ingest_row *row = mdc_ingest_find(r, connected->v[i]);
		if (!row || row->count <= 0)
			mdc_strvec_push(silent, connected->v[i]);
	}
}
