#include "arm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "banned.h"

struct mdc_arm {
	char *endpoint;    /* no trailing slash */
	size_t origin_len; /* length of "https://host[:port]" in endpoint */
	struct mdc_http *http;
	mdc_http_authorize_fn authorize;
	void *authorize_ctx;
	bool read_only;
	bool batch; /* GETs go 20 to a POST /batch (opts.batch, until refused) */
	void (*log)(void *ctx, const char *line); /* opts.http's log hook, verbosity */
	void *log_ctx;
	int verbose;
	struct batch_item *pending; /* queued by mdc_arm_batch_get, not yet sent */
	size_t npending;
	struct chunk *chunks; /* the arena of response trees, newest region first */
	cJSON *tree;          /* the response tree in it, while its callback runs */
};

struct batch_item {
	char *path; /* below the endpoint, with its query */
	char *budget_key;
	mdc_arm_done_fn done;
	void *ctx;
};

struct batch {
	struct mdc_arm *arm;
	struct batch_item *items;
	size_t n;
};

struct call {
	struct mdc_arm *arm;
	mdc_arm_done_fn done;
	void *ctx;
};

struct list {
	struct mdc_arm *arm;
	char *budget_key;
	mdc_arm_page_fn page;
	mdc_arm_list_done_fn done;
	void *ctx;
};

/* ---- response trees ------------------------------------------------------------------ */

/*
 * A response body is parsed into a tree that lives only while its callback runs (bodies are
 * borrowed, arm.h). Those trees are built in an arena, one bump region per client emptied
 * when the tree is dropped, instead of one malloc per node and string: a tenant read parses
 * some 20,000 ARM responses, and freeing their small chunks one by one cost about a third of
 * the client's CPU (glibc consolidates them again on the next large malloc). cJSON takes an
 * allocator only through its process-wide hooks, so the hooks point at the arena for the
 * length of one parse call, and only for the thread that parses (the client is
 * single-threaded; any other thread using cJSON meanwhile still gets malloc and free). A
 * sanitizer build frees the region's memory at every drop, so that a callback keeping a
 * pointer into a borrowed body is still caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_KEEPS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_KEEPS 0
#endif
#endif
#ifndef ARENA_KEEPS
#define ARENA_KEEPS 1
#endif
#define ARENA_FIRST (256u << 10)

struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

static _Thread_local struct mdc_arm *parsing; /* whose arena the hooks fill */

/* Another thread's cJSON calls while the hooks are set (a test's in-process server, say):
 * malloc and free, as without them. */
static void *arena_malloc(size_t n)
{
	struct chunk *c;

	if (!parsing)
		return malloc(n);
	c = parsing->chunks;
	n = (n + 15) & ~(size_t)15;
	if (!c || c->size - c->used < n) {
		size_t size = c ? c->size * 2 : ARENA_FIRST;
		struct chunk *nc;

		while (size < n)
			size *= 2;
		nc = mdc_xmalloc(sizeof(*nc) + size);
		nc->next = c;
		nc->size = size;
		nc->used = 0;
		parsing->chunks = c = nc;
	}
	c->used += n;
	return c->data + c->used - n;
}

static void arena_free(void *p)
{
	if (!parsing)
		free(p);
	/* else: the whole region goes at once, in drop_tree */
}

/* Empties the arena, keeping its largest region for the next tree. */
static void arena_empty(struct mdc_arm *arm, bool keep)
{
	struct chunk *c = arm->chunks, *next;

	arm->chunks = NULL;
	for (; c; c = next) {
		next = c->next;
		if (keep && !arm->chunks) { /* the newest is the largest */
			c->used = 0;
			c->next = NULL;
			arm->chunks = c;
		} else {
			free(c);
		}
	}
}

static cJSON *parse_tree(struct mdc_arm *arm, const char *text, size_t len)
{
	cJSON *root;

	if (arm->tree) /* one arena tree at a time; a nested one is an ordinary tree */
		return cJSON_ParseWithLength(text, len);
	parsing = arm;
	cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = arena_malloc, .free_fn = arena_free});
	root = cJSON_ParseWithLength(text, len);
	cJSON_InitHooks(NULL);
	parsing = NULL;
	if (root)
		arm->tree = root;
	else
		arena_empty(arm, ARENA_KEEPS);
	return root;
}

static void drop_tree(struct mdc_arm *arm, cJSON *root)
{
	if (root && root == arm->tree) {
		arm->tree = NULL;
		arena_empty(arm, ARENA_KEEPS);
	} else {
		cJSON_Delete(root);
	}
}

static cJSON *parse_body(struct mdc_arm *arm, const struct mdc_http_response *resp)
{
	return resp->body.len ? parse_tree(arm, resp->body.ptr, resp->body.len) : NULL;
}

static size_t origin_length(const char *url)
{
	const char *p = strstr(url, "://");

	if (!p)
		return 0;
	p += 3;
	while (*p && *p != '/')
		p++;
	return (size_t)(p - url);
}

int mdc_arm_new(struct mdc_arm **out, const struct mdc_arm_opts *opts, struct mdc_error *err)
{
	struct mdc_arm *arm;
	size_t len;
	int rc;

	*out = NULL;
	if (!opts->endpoint || strncasecmp(opts->endpoint, "https://", 8))
		return mdc_error_set(err, MDC_EINVALID,
		                     "the ARM endpoint must be an https:// URL, not '%s'",
		                     opts->endpoint ? opts->endpoint : "");
	arm = mdc_xcalloc(1, sizeof(*arm));
	len = strlen(opts->endpoint);
	while (len > 8 && opts->endpoint[len - 1] == '/')
		len--;
	arm->endpoint = mdc_xstrndup(opts->endpoint, len);
	arm->origin_len = origin_length(arm->endpoint);
	arm->authorize = opts->authorize;
	arm->authorize_ctx = opts->authorize_ctx;
	arm->read_only = opts->read_only;
	arm->batch = opts->batch;
	arm->log = opts->http.log;
	arm->log_ctx = opts->http.log_ctx;
	arm->verbose = opts->http.verbose;
	rc = mdc_http_new(&arm->http, &opts->http, err);
	if (rc < 0) {
		mdc_arm_free(arm);
		return rc;
	}
	*out = arm;
	return 0;
}

void mdc_arm_free(struct mdc_arm *arm)
{
	if (!arm)
		return;
	mdc_http_free(arm->http);
	for (size_t i = 0; i < arm->npending; i++) {
		free(arm->pending[i].path);
		free(arm->pending[i].budget_key);
	}
	free(arm->pending);
	arena_empty(arm, false);
	free(arm->endpoint);
	free(arm);
}

struct mdc_http *mdc_arm_http(struct mdc_arm *arm)
{
	return arm->http;
}

const char *mdc_arm_endpoint(const struct mdc_arm *arm)
{
	return arm->endpoint;
}

static char *make_url(const struct mdc_arm *arm, const char *path, const char *api_version,
                      const char *extra_query)
{
	struct mdc_buf b = MDC_BUF_INIT;

	mdc_buf_adds(&b, arm->endpoint);
	mdc_buf_adds(&b, path);
	mdc_buf_addch(&b, strchr(path, '?') ? '&' : '?');
	mdc_buf_addf(&b, "api-version=%s", api_version);
	if (extra_query && *extra_query)
		mdc_buf_addf(&b, "&%s", extra_query);
	return mdc_buf_detach(&b);
}

static void call_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *err)
{
	struct call *c = ctx;
	cJSON *body = parse_body(c->arm, resp);

	c->done(c->ctx, resp->status, body, err);
	drop_tree(c->arm, body);
	free(c);
}

static int submit(struct mdc_arm *arm, const char *method, const char *url, const char *body,
                  const char *budget_key,
                  void (*done)(void *, struct mdc_http_response *, const struct mdc_error *),
                  void *ctx, struct mdc_error *err)
{
	struct mdc_http_request req = {
	    .method = method,
	    .url = url,
	    .body = body,
	    .budget_key = budget_key,
	    .authorize = arm->authorize,
	    .authorize_ctx = arm->authorize_ctx,
	    .done = done,
	    .ctx = ctx,
	};

	if (arm->read_only && strcmp(method, "GET"))
		return mdc_error_set(err, MDC_EINTERNAL,
		                     "refusing %s in a read-only run (drift never writes)", method);
	return mdc_http_submit(arm->http, &req, err);
}

int mdc_arm_call(struct mdc_arm *arm, const char *method, const char *path, const char *api_version,
                 const char *body, const char *budget_key, mdc_arm_done_fn done, void *ctx,
                 struct mdc_error *err)
{
	struct call *c = mdc_xcalloc(1, sizeof(*c));
	char *url = make_url(arm, path, api_version, NULL);
	int rc;

	c->arm = arm;
	c->done = done;
	c->ctx = ctx;
	rc = submit(arm, method, url, body, budget_key, call_done, c, err);
	free(url);
	if (rc < 0)
		free(c);
	return rc;
}

static void list_finish(struct list *l, const struct mdc_error *err)
{
	l->done(l->ctx, err);
	free(l->budget_key);
	free(l);
}

static void list_page_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *herr)
{
	struct list *l = ctx;
	struct mdc_error err = MDC_ERROR_INIT;
	cJSON *page = NULL;
	const cJSON *next;

	if (herr) {
		list_finish(l, herr);
		return;
	}
	page = parse_body(l->arm, resp);
	if (!cJSON_IsObject(page)) {
		mdc_error_set(&err, MDC_EHTTP, "GET %s: the response is not a JSON object",
		              resp->url ? resp->url : "");
		goto fail;
	}
	if (l->page(l->ctx, page, &err) < 0)
		goto fail;
	next = cJSON_GetObjectItemCaseSensitive(page, "nextLink");
	if (cJSON_IsString(next) && *next->valuestring) {
		/* nextLink is absolute and already carries api-version (reference §1.1). */
		if (strncasecmp(next->valuestring, l->arm->endpoint, l->arm->origin_len) ||
		    (next->valuestring[l->arm->origin_len] != '/' &&
		     next->valuestring[l->arm->origin_len] != '\0')) {
			mdc_error_set(&err, MDC_EHTTP,
			              "refusing a nextLink to another host than %.*s",
			              (int)l->arm->origin_len, l->arm->endpoint);
			goto fail;
		}
		if (submit(l->arm, "GET", next->valuestring, NULL, l->budget_key, list_page_done, l,
		           &err) < 0)
			goto fail;
		drop_tree(l->arm, page);
		return;
	}
	drop_tree(l->arm, page);
	list_finish(l, NULL);
	return;
fail:
	drop_tree(l->arm, page);
	list_finish(l, &err);
	mdc_error_clear(&err);
}

int mdc_arm_list(struct mdc_arm *arm, const char *path, const char *api_version,
                 const char *extra_query, const char *budget_key, mdc_arm_page_fn page,
                 mdc_arm_list_done_fn done, void *ctx, struct mdc_error *err)
{
	struct list *l = mdc_xcalloc(1, sizeof(*l));
	char *url = make_url(arm, path, api_version, extra_query);
	int rc;

	l->arm = arm;
	l->budget_key = budget_key ? mdc_xstrdup(budget_key) : NULL;
	l->page = page;
	l->done = done;
	l->ctx = ctx;
	rc = submit(arm, "GET", url, NULL, budget_key, list_page_done, l, err);
	free(url);
	if (rc < 0) {
		free(l->budget_key);
		free(l);
	}
	return rc;
}

/* ---- batching (reference §9.5) ------------------------------------------------------ */

#define BATCH_MAX 20 /* ARM's limit per batch (§9.5) */
#define BATCH_API "2020-06-01"

static void batch_item_free(struct batch_item *it)
{
	free(it->path);
	free(it->budget_key);
}

/* Sends one item alone, through the transport's own retries. */
static void resend_alone(struct mdc_arm *arm, struct batch_item *it)
{
	struct mdc_error err = MDC_ERROR_INIT;
	struct call *c = mdc_xcalloc(1, sizeof(*c));
	char *url = mdc_xasprintf("%s%s", arm->endpoint, it->path);

	c->arm = arm;
	c->done = it->done;
	c->ctx = it->ctx;
	if (submit(arm, "GET", url, NULL, it->budget_key, call_done, c, &err) < 0) {
		free(c);
		it->done(it->ctx, 0, NULL, &err);
	}
	free(url);
	mdc_error_clear(&err);
}

/* The headers of a sub-response, names lower case as the transport gives them: all of them
 * for an error, else only those that feed the throttling budget. */
static void sub_headers(struct mdc_kvlist *out, const cJSON *hdrs, bool all)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, hdrs)
	{
		char name[64];
		size_t i;

		if (!cJSON_IsString(h) || !h->string)
			continue;
		for (i = 0; h->string[i] && i < sizeof(name) - 1; i++)
			name[i] = (char)tolower((unsigned char)h->string[i]);
		name[i] = '\0';
		if (h->string[i])
			continue; /* no header the client reads has a name this long */
		if (all || !strncmp(name, "x-ms-ratelimit-remaining-", 25))
			mdc_kvlist_set(out, name, h->valuestring, false);
	}
}

/* One sub-response, completed as if its request had been sent alone. */
static void batch_one(struct mdc_arm *arm, struct batch_item *it, const cJSON *r)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "httpStatusCode");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(r, "content");
	const cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(r, "headers");
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	int status = cJSON_IsNumber(st) ? st->valueint : 0;
	char *text;

	sub_headers(&resp.headers, hdrs, status >= 400);
	mdc_http_budget_note(arm->http, it->budget_key, status, &resp.headers);
	/* Throttled, failed on the server, or missing: again alone, where Retry-After (now
	 * also the pause of its budget) and back-off apply. */
	if (status == 0 || status == 429 || status >= 500) {
		mdc_kvlist_clear(&resp.headers);
		resend_alone(arm, it);
		return;
	}
	if (status < 400) {
		mdc_kvlist_clear(&resp.headers);
		it->done(it->ctx, status, cJSON_IsNull(content) ? NULL : content, NULL);
		return;
	}
	resp.status = status;
	resp.attempts = 1;
	resp.method = "GET";
	resp.url = mdc_xasprintf("%s%s", arm->endpoint, it->path);
	text = content ? cJSON_PrintUnformatted(content) : NULL;
	if (text)
		mdc_buf_adds(&resp.body, text);
	cJSON_free(text);
	mdc_http_response_error(&resp, &err);
	it->done(it->ctx, status, content, &err);
	free(resp.url);
	resp.url = NULL;
	resp.method = NULL;
	mdc_http_response_release(&resp);
	mdc_error_clear(&err);
}

static const cJSON *sub_named(const cJSON *r, const char *name)
{
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(r, "name");

	return cJSON_IsString(nm) && !strcmp(nm->valuestring, name) ? r : NULL;
}

static bool arm_refuses(int status)
{
	return status >= 400 && status < 500 && status != 408 && status != 429;
}

static void arm_log(struct mdc_arm *arm, const struct mdc_http_response *resp)
{
	char line[160];

	if (!arm->log || arm->verbose < 1)
		return;
	snprintf(line, sizeof(line),
	         "arm: POST /batch answered %d: reading with single GETs from now on",
	         resp->status);
	arm->log(arm->log_ctx, line);
}

static void batch_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *herr)
{
	struct batch *b = ctx;
	cJSON *body = herr ? NULL : parse_body(b->arm, resp);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "responses"), *next;

	/* UNCERTAIN (§9.5): a 202 + Location means sub-requests still pending. Not polled:
	 * without "responses" every GET goes alone, as after any unusable answer. */
	if (!cJSON_IsArray(v))
		v = NULL;

	/* An ARM that answers the batch itself with a 4xx (no such endpoint, a policy, a
	 * changed contract) will answer the next one the same: the rest of the run reads with
	 * single GETs. A 408, a 429 or a 5xx is this batch's bad luck only. */
	if (herr && arm_refuses(resp->status) && b->arm->batch) {
		b->arm->batch = false;
		arm_log(b->arm, resp);
	}
	next = v ? v->child : NULL;
	for (size_t i = 0; i < b->n; i++) {
		const cJSON *r = NULL, *it;
		char name[24];

		/* Responses come in request order, each named as its request was. */
		snprintf(name, sizeof(name), "%zu", i);
		for (it = next; !r && it; it = it->next)
			r = sub_named(it, name);
		for (it = v ? v->child : NULL; !r && it && it != next; it = it->next)
			r = sub_named(it, name);
		if (r)
			next = r->next;
		/* A batch that failed as a whole (lost in transit, throttled, or an ARM that
		 * does not take batches) costs a second try of each GET alone, which reports
		 * its own outcome. */
		if (herr)
			resend_alone(b->arm, &b->items[i]);
		else
			batch_one(b->arm, &b->items[i], r);
		batch_item_free(&b->items[i]);
	}
	drop_tree(b->arm, body);
	free(b->items);
	free(b);
}

int mdc_arm_batch_flush(struct mdc_arm *arm, struct mdc_error *err)
{
	struct batch *b;
	cJSON *root, *reqs;
	char *body, *url;
	int rc;

	if (!arm->npending)
		return 0;
	if (!arm->batch) { /* refused since these were queued */
		for (size_t i = 0; i < arm->npending; i++) {
			resend_alone(arm, &arm->pending[i]);
			batch_item_free(&arm->pending[i]);
		}
		arm->npending = 0;
		return 0;
	}
	b = mdc_xcalloc(1, sizeof(*b));
	b->arm = arm;
	b->items = arm->pending;
	b->n = arm->npending;
	arm->pending = NULL;
	arm->npending = 0;
	root = cJSON_CreateObject();
	reqs = cJSON_AddArrayToObject(root, "requests");
	for (size_t i = 0; i < b->n; i++) {
		cJSON *r = cJSON_CreateObject();
		char name[24];

		snprintf(name, sizeof(name), "%zu", i);
		cJSON_AddStringToObject(r, "httpMethod", "GET");
		cJSON_AddStringToObject(r, "name", name);
		cJSON_AddStringToObject(r, "url", b->items[i].path);
		cJSON_AddItemToArray(reqs, r);
	}
	body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	url = mdc_xasprintf("%s/batch?api-version=" BATCH_API, arm->endpoint);
	{
		/* Every sub-request is a GET: the batch may be retried like one. */
		struct mdc_http_request req = {
		    .method = "POST",
		    .url = url,
		    .body = body,
		    .idempotent = true,
		    .authorize = arm->authorize,
		    .authorize_ctx = arm->authorize_ctx,
		    .done = batch_done,
		    .ctx = b,
		};
		rc = mdc_http_submit(arm->http, &req, err);
	}
	cJSON_free(body);
	free(url);
	if (rc < 0) {
		/* Each GET still completes, with the error, as an unsent call would. */
		for (size_t i = 0; i < b->n; i++) {
			b->items[i].done(b->items[i].ctx, 0, NULL, err);
			batch_item_free(&b->items[i]);
		}
		free(b->items);
		free(b);
	}
	return rc;
}

int mdc_arm_batch_get(struct mdc_arm *arm, const char *path, const char *api_version,
                      const char *budget_key, mdc_arm_done_fn done, void *ctx,
                      struct mdc_error *err)
{
	struct batch_item *it;

	/* Alone when batches are off or refused, and when the subscription's budget is paused
	 * or nearly spent: the transport then paces it (§9.2). */
	if (!arm->batch || !mdc_http_budget_take(arm->http, budget_key, "GET"))
		return mdc_arm_call(arm, "GET", path, api_version, NULL, budget_key, done, ctx,
		                    err);
	if (!arm->pending)
		arm->pending = mdc_xcalloc(BATCH_MAX, sizeof(*arm->pending));
	it = &arm->pending[arm->npending++];
	it->path =
	    mdc_xasprintf("%s%capi-version=%s", path, strchr(path, '?') ? '&' : '?', api_version);
	it->budget_key = budget_key ? mdc_xstrdup(budget_key) : NULL;
	it->done = done;
	it->ctx = ctx;
	/* Once queued, the GET reports through done, also when the batch cannot be sent. */
	if (arm->npending == BATCH_MAX)
		mdc_arm_batch_flush(arm, err);
	return 0;
}

int mdc_arm_list_next(struct mdc_arm *arm, const char *next_link, const char *budget_key,
                      mdc_arm_page_fn page, mdc_arm_list_done_fn done, void *ctx,
                      struct mdc_error *err)
{
	struct list *l;
	int rc;

	if (strncasecmp(next_link, arm->endpoint, arm->origin_len) ||
	    (next_link[arm->origin_len] != '/' && next_link[arm->origin_len] != '\0'))
		return mdc_error_set(err, MDC_EHTTP,
		                     "refusing a nextLink to another host than %.*s",
		                     (int)arm->origin_len, arm->endpoint);
	l = mdc_xcalloc(1, sizeof(*l));
	l->arm = arm;
	l->budget_key = budget_key ? mdc_xstrdup(budget_key) : NULL;
	l->page = page;
	l->done = done;
	l->ctx = ctx;
	rc = submit(arm, "GET", next_link, NULL, budget_key, list_page_done, l, err);
	if (rc < 0) {
		free(l->budget_key);
		free(l);
	}
	return rc;
}

int mdc_arm_run(struct mdc_arm *arm, struct mdc_error *err)
{
	int rc = mdc_arm_batch_flush(arm, err);

	return rc < 0 ? rc : mdc_http_run(arm->http, err);
}

struct sync_result {
	int status;
	cJSON *body;
	struct mdc_error err;
	bool done;
};

static void sync_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct sync_result *r = ctx;

	r->status = status;
	r->body = body ? cJSON_Duplicate(body, 1) : NULL;
	if (err) {
		r->err.code = err->code;
		r->err.http_status = err->http_status;
		r->err.arm_code = err->arm_code ? mdc_xstrdup(err->arm_code) : NULL;
		r->err.request_id = err->request_id ? mdc_xstrdup(err->request_id) : NULL;
		r->err.message = err->message ? mdc_xstrdup(err->message) : NULL;
	}
	r->done = true;
}

int mdc_arm_call_sync(struct mdc_arm *arm, const char *method, const char *path,
                      const char *api_version, const char *body, const char *budget_key,
                      int *status, cJSON **body_out, struct mdc_error *err)
{
	struct sync_result r = {0};
	int rc;

	*status = 0;
	if (body_out)
		*body_out = NULL;
	rc = mdc_arm_call(arm, method, path, api_version, body, budget_key, sync_done, &r, err);
	if (rc < 0)
		return rc;
	rc = mdc_arm_run(arm, err);
	if (rc < 0 && !r.done)
		return rc;
	*status = r.status;
	if (body_out)
		*body_out = r.body;
	else
		cJSON_Delete(r.body);
	if (r.err.code) {
		rc = r.err.code;
		mdc_error_move(err, &r.err);
		return rc;
	}
	return 0;
}
