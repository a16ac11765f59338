/*
 * The Log Analytics query API (reference §11), for the one query mdcctl sends
 * (`drift --verify-ingest`):
 *
 *   POST /v1/workspaces/{customerId}/query   {"query": "...", "timespan": "P7D"}
 *   GET  /v1/workspaces/{customerId}/query?query=...&timespan=P7D
 *
 * The query must be, up to whitespace outside string literals,
 *   SecurityAlert | where ProductName == "<product>" | summarize LastSeen=max(TimeGenerated),
 *   N=count() by SubscriptionId = tostring(split(ResourceId, '/')[2])
 * and is evaluated over the state's "alerts" array:
 *   {"TimeGenerated": "2025-05-01T12:00:00Z" (or "AgeHours": 5, relative to now),
 *    "ProductName": "Azure Security Center", "ResourceId": "/subscriptions/<id>/...",
 *    "AlertName": "...", "AlertSeverity": "High"}
 * Any other query gets 400 BadArgumentError. The answer is tables/columns/rows exactly as
 * §11, rows sorted by SubscriptionId.
 *
 * The bearer token must be for Log Analytics: aud https://api.loganalytics.io (or .us,
 * .azure.cn), or the emulator's own base URL, which is what a client gets when it uses the
 * emulator as its Log Analytics endpoint (tests) — an ARM token is refused. The caller needs
 * Microsoft.OperationalInsights/workspaces/query/read on the workspace (Reader has it).
 *
 * UNCERTAIN: the error codes and texts (BadArgumentError, PathNotFoundError,
 * WorkspaceNotFoundError, InsufficientAccessError, InvalidTokenError) follow the documented
 * {"error":{"message","code","correlationId","innererror"}} shape; the words are plausible.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "emu.h"
#include "entra.h"
#include "banned.h"

#define LA_PREFIX "/v1/workspaces/"

static void la_error(struct emu_resp *r, int status, const char *code, const char *message,
                     const char *inner_code)
{
	cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
	char id[37];

	mdc_guid_random(id);
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "correlationId", id);
	if (inner_code) {
		cJSON *in = cJSON_AddObjectToObject(e, "innererror");
		cJSON_AddStringToObject(in, "code", inner_code);
		cJSON_AddStringToObject(in, "message", message);
	}
	emu_resp_json(r, status, o);
	cJSON_Delete(o);
}

/* The query without whitespace outside '...' and "..." literals. */
static char *squeeze(const char *q)
{
	struct mdc_buf b = MDC_BUF_INIT;
	char quote = 0;

	for (; *q; q++) {
		if (quote) {
			if (*q == quote)
				quote = 0;
		} else if (*q == '"' || *q == '\'') {
			quote = *q;
		} else if (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') {
			continue;
		}
		mdc_buf_addch(&b, *q);
	}
	return mdc_buf_detach(&b);
}

/* The product name of the one supported query shape, in a new string, or NULL. */
static char *query_product(const char *query)
{
	static const char head[] = "SecurityAlert|whereProductName==\"";
	static const char tail[] = "\"|summarizeLastSeen=max(TimeGenerated),N=count()by"
	                           "SubscriptionId=tostring(split(ResourceId,'/')[2])";
	char *s = squeeze(query), *end, *product = NULL;

	if (!strncmp(s, head, sizeof(head) - 1)) {
		end = strchr(s + sizeof(head) - 1, '"');
		if (end && !strcmp(end, tail))
			product = mdc_xstrndup(s + sizeof(head) - 1,
			                       (size_t)(end - s) - (sizeof(head) - 1));
	}
	free(s);
	return product;
}

/* ISO 8601 duration P[nD][T[nH][nM][nS]] in seconds; -1 when not that form. */
static long long duration_s(const char *s)
{
	long long total = 0, n;
	bool time = false, any = false;
	char *end;

	if (*s++ != 'P')
		return -1;
	while (*s) {
		if (*s == 'T' && !time) {
			time = true;
			s++;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		n = strtoll(s, &end, 10);
		switch (*end) {
		case 'D':
			if (time)
				return -1;
			total += n * 86400;
			break;
		case 'H':
			if (!time)
				return -1;
			total += n * 3600;
			break;
		case 'M':
			if (!time)
				return -1;
			total += n * 60;
			break;
		case 'S':
			if (!time)
				return -1;
			total += n;
			break;
		default:
			return -1;
		}
		any = true;
		s = end + 1;
	}
	return any ? total : -1;
}

static bool parse_time(const char *s, time_t *out)
{
	struct tm tm = {0};

	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	                 &tm.tm_min, &tm.tm_sec) != 6)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return true;
}

static time_t alert_time(const cJSON *a, time_t now)
{
	const cJSON *age = cJSON_GetObjectItemCaseSensitive(a, "AgeHours");
	time_t t;

	if (parse_time(emu_str(a, "TimeGenerated"), &t))
		return t;
	if (cJSON_IsNumber(age))
		return now - (time_t)(age->valuedouble * 3600);
	return (time_t)-1;
}

/* split(ResourceId, '/')[2]: "/subscriptions/<id>/..." -> "<id>", as a new string. */
static char *subscription_of(const char *rid)
{
	const char *p = rid;

	if (!p)
		return mdc_xstrdup("");
	for (int i = 0; i < 2; i++) {
		p = strchr(p, '/');
		if (!p)
			return mdc_xstrdup("");
		p++;
	}
	return mdc_xstrndup(p, strcspn(p, "/"));
}

static void answer(struct emu_resp *resp, const cJSON *state, const char *product, long long span)
{
	const cJSON *alerts = cJSON_GetObjectItemCaseSensitive(state, "alerts"), *a;
	cJSON *groups = cJSON_CreateObject(), *g, *o, *t, *cols, *rows;
	time_t now = time(NULL);
	struct mdc_strvec subs = {0};

	cJSON_ArrayForEach(a, alerts)
	{
		time_t at = alert_time(a, now);
		char *sub;

		if (!mdc_streq(emu_str(a, "ProductName"), product) || at == (time_t)-1)
			continue;
		if (span >= 0 && (at < now - span || at > now))
			continue;
		sub = subscription_of(emu_str(a, "ResourceId"));
		g = cJSON_GetObjectItemCaseSensitive(groups, sub);
		if (!g) {
			g = cJSON_AddObjectToObject(groups, sub);
			cJSON_AddNumberToObject(g, "n", 0);
			cJSON_AddNumberToObject(g, "last", 0);
			mdc_strvec_push(&subs, sub);
		}
		cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(g, "n"),
		                     cJSON_GetObjectItemCaseSensitive(g, "n")->valuedouble + 1);
		if ((double)at > cJSON_GetObjectItemCaseSensitive(g, "last")->valuedouble)
			cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(g, "last"),
			                     (double)at);
		free(sub);
	}
	mdc_strvec_sort(&subs);

	o = cJSON_CreateObject();
	t = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "tables"), t);
	cJSON_AddStringToObject(t, "name", "PrimaryResult");
	cols = cJSON_AddArrayToObject(t, "columns");
	static const char *const names[][2] = {
	    {"LastSeen", "datetime"}, {"N", "long"}, {"SubscriptionId", "string"}};
	for (size_t i = 0; i < 3; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", names[i][0]);
		cJSON_AddStringToObject(c, "type", names[i][1]);
		cJSON_AddItemToArray(cols, c);
	}
	rows = cJSON_AddArrayToObject(t, "rows");
	for (size_t i = 0; i < subs.n; i++) {
		cJSON *row = cJSON_CreateArray();
		time_t last;
		struct tm tm;
		char stamp[32];

		g = cJSON_GetObjectItemCaseSensitive(groups, subs.v[i]);
		last = (time_t)cJSON_GetObjectItemCaseSensitive(g, "last")->valuedouble;
		gmtime_r(&last, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddItemToArray(row, cJSON_CreateString(stamp));
		cJSON_AddItemToArray(
		    row, cJSON_CreateNumber(cJSON_GetObjectItemCaseSensitive(g, "n")->valuedouble));
		cJSON_AddItemToArray(row, cJSON_CreateString(subs.v[i]));
		cJSON_AddItemToArray(rows, row);
	}
	emu_resp_json(resp, 200, o);
	cJSON_Delete(o);
	cJSON_Delete(groups);
	mdc_strvec_clear(&subs);
}

static const cJSON *find_workspace(const cJSON *state, const char *customer_id)
{
	const cJSON *ws;

	cJSON_ArrayForEach(ws, cJSON_GetObjectItemCaseSensitive(
	                           state, "workspaces")) if (mdc_streq_i(emu_str(ws, "customerId"),
	                                                                 customer_id)) return ws;
	return NULL;
}

static void handle(struct emu *emu, struct emu_req *req, struct emu_resp *resp, const char *id)
{
	struct entra_caller caller;
	const char *code = NULL, *query, *timespan;
	char *message = NULL, *www = NULL, *product = NULL, *scope = NULL;
	const cJSON *ws;
	cJSON *body = NULL;
	long long span = -1;
	int rc;

	rc = entra_check_bearer_loganalytics(emu->entra, emu->state, req->authorization, &caller,
	                                     &code, &message, &www);
	if (rc) {
		la_error(resp, 401, "InvalidTokenError",
		         message ? message : "Valid authentication was not provided", code);
		if (www)
			emu_resp_header(resp, "WWW-Authenticate", www);
		goto cleanup;
	}
	snprintf(req->oid, sizeof(req->oid), "%s", caller.oid);
	ws = find_workspace(emu->state, id);
	if (!ws) {
		la_error(resp, 404, "WorkspaceNotFoundError", "The workspace could not be found",
		         NULL);
		goto cleanup;
	}
	scope = mdc_xasprintf("/subscriptions/%s/resourceGroups/%s/providers/"
	                      "Microsoft.OperationalInsights/workspaces/%s",
	                      emu_str(ws, "subscriptionId"), emu_str(ws, "resourceGroup"),
	                      emu_str(ws, "name"));
	if (!emu_allowed(emu->state, caller.oid, scope,
	                 "Microsoft.OperationalInsights/workspaces/query/read")) {
		la_error(resp, 403, "InsufficientAccessError",
		         "The provided credentials have insufficient access to perform the "
		         "requested operation",
		         NULL);
		goto cleanup;
	}
	if (!strcmp(req->method, "POST")) {
		body = cJSON_ParseWithLength(req->body, req->body_len);
		if (!cJSON_IsObject(body)) {
			la_error(resp, 400, "BadArgumentError",
			         "The request had some invalid properties", "InvalidJson");
			goto cleanup;
		}
		query = emu_str(body, "query");
		timespan = emu_str(body, "timespan");
	} else {
		query = mdc_kvlist_get(&req->args, "query", false);
		timespan = mdc_kvlist_get(&req->args, "timespan", false);
	}
	if (!query || !*query) {
		la_error(resp, 400, "BadArgumentError", "The request had some invalid properties",
		         "QueryMissing");
		goto cleanup;
	}
	if (timespan && (span = duration_s(timespan)) < 0) {
		/* start/end intervals are valid in Azure; this emulator answers durations only */
		la_error(resp, 400, "BadArgumentError",
		         "The request had some invalid properties: timespan", "InvalidTimespan");
		goto cleanup;
	}
	product = query_product(query);
	if (!product) {
		la_error(resp, 400, "BadArgumentError",
		         "The request had some invalid properties (this emulator evaluates only "
		         "the SecurityAlert ingestion query of mdcctl)",
		         "SyntaxError");
		goto cleanup;
	}
	answer(resp, emu->state, product, span);
cleanup:
	cJSON_Delete(body);
	free(product);
	free(scope);
	free(message);
	free(www);
}

bool emu_loganalytics(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	const char *id, *rest;
	char *cid;

	if (strncmp(req->path, LA_PREFIX, sizeof(LA_PREFIX) - 1))
		return false;
	id = req->path + sizeof(LA_PREFIX) - 1;
	rest = strchr(id, '/');
	if (!rest || strcmp(rest, "/query")) {
		la_error(resp, 404, "PathNotFoundError", "The requested path does not exist", NULL);
		return true;
	}
	if (strcmp(req->method, "POST") && strcmp(req->method, "GET")) {
		la_error(resp, 405, "MethodNotAllowed", "The requested method is not allowed",
		         NULL);
		return true;
	}
	cid = mdc_xstrndup(id, (size_t)(rest - id));
	pthread_mutex_lock(&emu->lock);
	handle(emu, req, resp, cid);
	pthread_mutex_unlock(&emu->lock);
	free(cid);
	return true;
}
