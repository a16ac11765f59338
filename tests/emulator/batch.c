/*
 * ARM's batch endpoint (reference §9.5; UNCERTAIN: undocumented, choices in README.md):
 * POST /batch?api-version=2020-06-01 {"requests":[{httpMethod, name, url, content}]}
 * answers 200 {"responses":[{name, httpStatusCode, headers, content, contentLength}]} in
 * request order. emu_arm has already checked the bearer token and the api-version of the
 * batch; every sub-request then goes through emu_serve_sub, the path of a standalone ARM
 * request (faults, token, api-version, throttling, RBAC, registration, request log) as the
 * caller of the batch.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "emu.h"
#include "url.h"
#include "banned.h"

#define BATCH_MAX 20 /* the limit an Azure-Sentinel script states (§9.5) */

/* The ARM path of a sub-request's url, decoded and folded like a standalone request's, with
 * *query pointing into url; NULL when the url is not on this host or is a nested batch. */
static char *sub_path(const struct emu *emu, const char *url, const char **query)
{
	size_t n = strlen(emu->base_url);
	const char *q;
	char *path;

	if (!strncasecmp(url, emu->base_url, n) && url[n] == '/')
		url += n;
	if (url[0] != '/')
		return NULL;
	q = strchr(url, '?');
	*query = q ? q + 1 : "";
	path = emu_pct_decode(url, q ? (size_t)(q - url) : strlen(url), false);
	emu_normalize_path(path);
	if (!strcasecmp(path, "/batch")) {
		free(path);
		return NULL;
	}
	return path;
}

/* Runs one well-formed element of "requests" into r. */
static void run_one(struct emu *emu, const struct emu_req *batch, const cJSON *item,
                    struct emu_resp *r)
{
	const char *method = emu_str(item, "httpMethod"), *url = emu_str(item, "url");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
	struct emu_req req = {0};
	char m[16], *path, *body = NULL;
	size_t i;

	for (i = 0; method[i] && i < sizeof(m) - 1; i++)
		m[i] = (char)toupper((unsigned char)method[i]);
	m[i] = '\0';
	path = sub_path(emu, url, &req.query);
	if (!path || method[i]) {
		char id[37];

		/* UNCERTAIN: ARM's answer for a url on another host (or a nested batch) */
		emu_resp_error(r, 400, "BadRequest",
		               "The batch request '%s %s' is invalid: the url must be relative to "
		               "the Resource Manager endpoint or on '%s'.",
		               method, url, emu->base_url);
		mdc_guid_random(id);
		emu_resp_header(r, "x-ms-request-id", id);
		free(path);
		return;
	}
	if (content && !cJSON_IsNull(content))
		body = cJSON_PrintUnformatted(content);
	req.method = m;
	req.path = path;
	emu_parse_form(&req.args, req.query, strlen(req.query), true);
	req.authorization = batch->authorization;
	req.correlation_id = batch->correlation_id;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	emu_serve_sub(emu, &req, r);
	mdc_kvlist_clear(&req.args);
	free(body);
	free(path);
}

/* The "requests" array of a well-formed body, or NULL. */
static const cJSON *requests_of(const cJSON *doc)
{
	const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(doc, "requests"), *item;

	if (!cJSON_IsObject(doc) || !cJSON_IsArray(reqs))
		return NULL;
	cJSON_ArrayForEach(item, reqs)
	{
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "httpMethod")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "url")))
			return NULL;
	}
	return reqs;
}

static cJSON *response_json(const cJSON *name, const struct emu_resp *r)
{
	cJSON *o = cJSON_CreateObject(), *h, *content = NULL;

	if (cJSON_IsString(name))
		cJSON_AddStringToObject(o, "name", name->valuestring);
	cJSON_AddNumberToObject(o, "httpStatusCode", r->status);
	h = cJSON_AddObjectToObject(o, "headers");
	for (size_t i = 0; i < r->headers.n; i++)
		cJSON_AddStringToObject(h, r->headers.v[i].key, r->headers.v[i].value);
	if (r->body.len || r->status != 204) /* as server.c sets it on a standalone answer */
		cJSON_AddStringToObject(h, "Content-Type", "application/json; charset=utf-8");
	if (r->body.len)
		content = cJSON_ParseWithLength(r->body.ptr, r->body.len);
	cJSON_AddItemToObject(o, "content", content ? content : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "contentLength", (double)r->body.len);
	return o;
}

void emu_batch(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	cJSON *doc = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
	const cJSON *reqs = requests_of(doc), *item;
	cJSON *out, *arr;

	if (!reqs) {
		emu_resp_error(resp, 400, "InvalidRequestContent",
		               "The request content was invalid and could not be deserialized.");
		goto done;
	}
	if (cJSON_GetArraySize(reqs) > BATCH_MAX) {
		/* UNCERTAIN: code and text; only the limit of 20 is reported (§9.5) */
		emu_resp_error(
		    resp, 400, "BadRequest",
		    "The batch request contains %d requests; a batch may contain at most "
		    "%d requests.",
		    cJSON_GetArraySize(reqs), BATCH_MAX);
		goto done;
	}
	/* One after the other in request order, where ARM runs them concurrently: so the
	 * batch's latency (--latency-ms, slept once by server.c) is not multiplied. */
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "responses");
	cJSON_ArrayForEach(item, reqs)
	{
		struct emu_resp r = {0};

		r.body = (struct mdc_buf)MDC_BUF_INIT;
		run_one(emu, req, item, &r);
		cJSON_AddItemToArray(
		    arr, response_json(cJSON_GetObjectItemCaseSensitive(item, "name"), &r));
		mdc_kvlist_clear(&r.headers);
		mdc_buf_release(&r.body);
	}
	emu_resp_json(resp, 200, out);
	cJSON_Delete(out);
done:
	cJSON_Delete(doc);
}
