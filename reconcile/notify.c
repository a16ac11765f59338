/*
 * The drift webhook: build the summary, POST it through the http transport.
 */
#include "notify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "banned.h"

char *mdc_notify_payload(const struct mdc_notify_summary *s)
{
	cJSON *o = cJSON_CreateObject(), *items;
	struct mdc_buf text = MDC_BUF_INIT;
	const char *ws = s->workspace ? strrchr(s->workspace, '/') : NULL;
	char *out;

	mdc_buf_addf(&text, "mdcctl drift: %zu drifted, %zu pending", s->drift, s->pending);
	if (s->silent)
		mdc_buf_addf(&text, ", %zu connected subscription%s silent", s->silent,
		             s->silent == 1 ? "" : "s");
	mdc_buf_addf(&text, " in tenant %s", s->tenant ? s->tenant : "(unknown)");
	if (ws && ws[1])
		mdc_buf_addf(&text, " (workspace %s)", ws + 1);
	if (s->commit)
		mdc_buf_addf(&text, " at commit %.12s", s->commit);
	cJSON_AddStringToObject(o, "text", text.ptr);
	cJSON_AddNumberToObject(o, "drift", (double)s->drift);
	cJSON_AddNumberToObject(o, "pending", (double)s->pending);
	cJSON_AddNumberToObject(o, "silent", (double)s->silent);
	if (s->tenant)
		cJSON_AddStringToObject(o, "tenant", s->tenant);
	else
		cJSON_AddNullToObject(o, "tenant");
	if (s->workspace)
		cJSON_AddStringToObject(o, "workspace", s->workspace);
	else
		cJSON_AddNullToObject(o, "workspace");
	if (s->commit)
		cJSON_AddStringToObject(o, "commit", s->commit);
	else
		cJSON_AddNullToObject(o, "commit");
	items = cJSON_AddArrayToObject(o, "items");
	for (size_t i = 0; s->ids && i < s->ids->n && i < MDC_NOTIFY_MAX_ITEMS; i++)
		cJSON_AddItemToArray(items, cJSON_CreateString(s->ids->v[i]));
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	mdc_buf_release(&text);
	if (!out)
		abort();
	return out;
}

char *mdc_notify_redacted_url(const char *url)
{
	const char *p = strstr(url, "://"), *host, *end, *at;

	if (!p)
		return mdc_xstrdup("(not a URL)");
	host = p + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	return mdc_xasprintf("%.*s://%.*s", (int)(p - url), url, (int)(end - host), host);
}

/* The transport's message, unless it quotes the URL's path (where webhooks keep their
 * secret); then only the kind of failure. */
static const char *safe_reason(const char *url, const struct mdc_error *e)
{
	const char *host = strstr(url, "://"), *path;

	path = host ? host + 3 + strcspn(host + 3, "/?#") : url;
	if (!e->message || (strlen(path) > 1 && strstr(e->message, path)) ||
	    strstr(e->message, url))
		return mdc_errcode_name(e->code);
	return e->message;
}

int mdc_notify_post(const char *url, const char *payload, const struct mdc_notify_opts *o,
                    struct mdc_error *err)
{
	static const struct mdc_notify_opts none = {0};
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error e = MDC_ERROR_INIT;
	char *shown = mdc_notify_redacted_url(url);
	int budget, rc;

	if (!o)
		o = &none;
	budget = o->timeout_ms > 0 ? o->timeout_ms : 15000;
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) {
		rc = mdc_error_set(err, MDC_EINVALID, "cannot notify '%s': not an http(s) URL",
		                   shown);
		goto cleanup;
	}
	/* No log hook: the transport's lines would carry the URL's path (the secret). */
	rc = mdc_http_new(&h,
	                  &(struct mdc_http_opts){
	                      .ca_file = o->ca_file,
	                      .parallelism = 1,
	                      .max_attempts = 3,
	                      .budget_ms = budget,
	                      .timeout_ms = budget < 10000 ? budget : 10000,
	                      .connect_timeout_ms = budget < 5000 ? budget : 5000,
	                      .user_agent = o->user_agent,
	                  },
	                  &e);
	if (rc < 0)
		goto fail;
	/* Not idempotent: a webhook that timed out may have posted; retry only what the
	 * transport knows was refused before acting (connect failures, 429, 503). */
	rc = mdc_http_do(h,
	                 &(struct mdc_http_request){
	                     .method = "POST",
	                     .url = url,
	                     .body = payload,
	                     .content_type = "application/json",
	                 },
	                 &resp, &e);
	if (rc < 0)
		goto fail;
	goto cleanup;
fail:
	if (resp.status)
		rc = mdc_error_set(err, rc, "cannot notify '%s': HTTP status %d", shown,
		                   resp.status);
	else
		rc = mdc_error_set(err, rc, "cannot notify '%s': %s", shown, safe_reason(url, &e));
cleanup:
	mdc_http_response_release(&resp);
	mdc_http_free(h);
	mdc_error_clear(&e);
	free(shown);
	return rc;
}
