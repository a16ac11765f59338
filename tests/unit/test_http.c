/*
 * The transport against a scripted libmicrohttpd server on 127.0.0.1: retries and their
 * waits, what is and is not retried, error messages, parallelism over reused connections,
 * the authorize hook, throttling budgets, and TLS verification.
 */
#include <curl/curl.h>

#include "harness.h"
#include "http_testutil.h"
#include "http.h"

/* One scripted answer; the last step of a route repeats. */
struct step {
	int status;
	const char *headers; /* "Name: value\n..." */
	const char *body;
	bool reset;
	int delay_ms;
};

#define MAX_HITS 16

struct route {
	const char *path; /* exact, or a prefix when it ends with '*' */
	const struct step *steps;
	int nsteps;
	int hits;
	char auth[MAX_HITS][64];
	char client_id[MAX_HITS][40];
	char correlation[MAX_HITS][40];
	char user_agent[MAX_HITS][64];
	long long at[MAX_HITS];
};

struct script {
	struct route *routes;
	int n;
};

static void copy_hdr(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v ? v : "");
}

static void scripted(void *ctx, const struct ts_request *req, struct ts_reply *rep)
{
	struct script *sc = ctx;

	for (int i = 0; i < sc->n; i++) {
		struct route *r = &sc->routes[i];
		size_t n = strlen(r->path);
		const struct step *st;
		int k;

		if (r->path[n - 1] == '*' ? strncmp(req->path, r->path, n - 1)
		                          : strcmp(req->path, r->path))
			continue;
		k = r->hits < MAX_HITS ? r->hits : MAX_HITS - 1;
		copy_hdr(r->auth[k], sizeof(r->auth[k]), ts_header(req, "Authorization"));
		copy_hdr(r->client_id[k], sizeof(r->client_id[k]),
		         ts_header(req, "x-ms-client-request-id"));
		copy_hdr(r->correlation[k], sizeof(r->correlation[k]),
		         ts_header(req, "x-ms-correlation-request-id"));
		copy_hdr(r->user_agent[k], sizeof(r->user_agent[k]), ts_header(req, "User-Agent"));
		r->at[k] = ts_now_ms();
		st = &r->steps[r->hits < r->nsteps ? r->hits : r->nsteps - 1];
		r->hits++;
		rep->status = st->status;
		rep->reset = st->reset;
		rep->delay_ms = st->delay_ms;
		if (st->body)
			mdc_buf_adds(&rep->body, st->body);
		for (const char *h = st->headers; h && *h;) {
			const char *colon = strchr(h, ':'), *nl = strchr(h, '\n');
			char *k2, *v;
			if (!nl)
				nl = h + strlen(h);
			k2 = mdc_xstrndup(h, (size_t)(colon - h));
			v = mdc_xstrndup(colon + 2, (size_t)(nl - colon - 2));
			mdc_kvlist_set(&rep->headers, k2, v, true);
			free(k2);
			free(v);
			h = *nl ? nl + 1 : nl;
		}
		return;
	}
	rep->status = 404;
	mdc_buf_adds(&rep->body, "{\"error\":{\"code\":\"NotFound\",\"message\":\"no route\"}}");
}

/* Fast retries for the tests: waits the server does not dictate are short. */
static const struct mdc_http_opts fast_opts = {
    .parallelism = 8,
    .backoff_base_ms = 20,
    .backoff_cap_ms = 100,
    .timeout_ms = 5000,
    .user_agent = "mdcctl/test",
};

static char *url_of(struct ts_server *s, const char *path)
{
	return mdc_xasprintf("%s%s", s->base, path);
}

static int do_get(struct mdc_http *h, struct ts_server *s, const char *method, const char *path,
                  struct mdc_http_response *resp, struct mdc_error *err)
{
	char *url = url_of(s, path);
	int ret =
	    mdc_http_do(h, &(struct mdc_http_request){.method = method, .url = url}, resp, err);
	free(url);
	return ret;
}

TEST(retry_after_seconds_on_429)
{
	static const struct step steps[] = {
	    {429, "Retry-After: 1\nx-ms-request-id: r-1\n",
	     "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"slow down\"}}", false, 0},
	    {200, "x-ms-request-id: r-2\n", "{\"value\":[]}", false, 0},
	};
	struct route routes[] = {{.path = "/throttled", .steps = steps, .nsteps = 2}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_stats st;
	int ret;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret = do_get(h, &s, "GET", "/throttled", &resp, &err);
	mdc_http_stats(h, &st);
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(0, ret);
	ASSERT_EQ_INT(200, resp.status);
	ASSERT_EQ_INT(2, resp.attempts);
	ASSERT(resp.elapsed_ms >= 950);
	ASSERT(routes[0].at[1] - routes[0].at[0] >= 950);
	ASSERT_EQ_STR("r-2", resp.request_id);
	ASSERT_EQ_STR("{\"value\":[]}", resp.body.ptr);
	ASSERT_EQ_INT(1, st.throttled);
	ASSERT_EQ_INT(1, st.retries);
	ASSERT_EQ_INT(2, st.attempts);
	mdc_http_response_release(&resp);
}

TEST(retry_after_http_date_on_503)
{
	static char hdr[128];
	static struct step steps[] = {
	    {503, hdr, NULL, false, 0},
	    {200, NULL, "ok", false, 0},
	};
	struct route routes[] = {{.path = "/unavailable", .steps = steps, .nsteps = 2}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	time_t when = time(NULL) + 2;
	struct tm tm;
	char date[64];
	int ret;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(hdr, sizeof(hdr), "Retry-After: %s\n", date);
	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret = do_get(h, &s, "POST", "/unavailable", &resp, &err);
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(0, ret);
	ASSERT_EQ_INT(200, resp.status);
	ASSERT_EQ_INT(2, resp.attempts); /* 503: refused before acting, so POST too */
	ASSERT(routes[0].at[1] - routes[0].at[0] >= 900);
	mdc_http_response_release(&resp);
}

TEST(server_errors_back_off_then_succeed)
{
	static const struct step steps[] = {
	    {500, NULL, NULL, false, 0},
	    {502, NULL, NULL, false, 0},
	    {200, NULL, "fine", false, 0},
	};
	struct route routes[] = {{.path = "/flaky", .steps = steps, .nsteps = 3}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	int ret;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret = do_get(h, &s, "GET", "/flaky", &resp, &err);
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(0, ret);
	ASSERT_EQ_INT(200, resp.status);
	ASSERT_EQ_INT(3, resp.attempts);
	ASSERT_EQ_INT(3, routes[0].hits);
	ASSERT_EQ_STR("fine", resp.body.ptr);
	mdc_http_response_release(&resp);
}

TEST(connection_reset_retried_for_get_not_for_post)
{
	static const struct step steps[] = {
	    {0, NULL, NULL, true, 0},
	    {200, NULL, "after reset", false, 0},
	};
	struct route routes[] = {{.path = "/get", .steps = steps, .nsteps = 2},
	                         {.path = "/post", .steps = steps, .nsteps = 2}};
	struct script sc = {routes, 2};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT, resp2 = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT, err2 = MDC_ERROR_INIT;
	int ret, ret2;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret = do_get(h, &s, "GET", "/get", &resp, &err);
	mdc_http_free(h);
	/* A fresh client: on a reused keep-alive connection that dies before any response
	 * byte, libcurl itself retries once on a new connection (whatever the method). */
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret2 = do_get(h, &s, "POST", "/post", &resp2, &err2);
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(0, ret);
	ASSERT_EQ_INT(2, resp.attempts);
	ASSERT_EQ_STR("after reset", resp.body.ptr);
	ASSERT_EQ_INT(MDC_ENET, ret2);
	ASSERT_EQ_INT(1, resp2.attempts);
	ASSERT_EQ_INT(1, routes[1].hits);
	ASSERT_CONTAINS(err2.message, "POST /post: ");
	mdc_http_response_release(&resp);
	mdc_http_response_release(&resp2);
	mdc_error_clear(&err2);
}

TEST(post_not_retried_on_500_but_flagged_post_is)
{
	static const struct step steps[] = {
	    {500, "x-ms-request-id: abc-500\n",
	     "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"boom.\"}}", false, 0},
	    {200, NULL, "ok", false, 0},
	};
	struct route routes[] = {{.path = "/post", .steps = steps, .nsteps = 2},
	                         {.path = "/query", .steps = steps, .nsteps = 2}};
	struct script sc = {routes, 2};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT, resp2 = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char *url;
	int ret, ret2;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret = do_get(h, &s, "POST", "/post", &resp, &err);
	url = url_of(&s, "/query");
	ret2 = mdc_http_do(
	    h,
	    &(struct mdc_http_request){
	        .method = "POST", .url = url, .body = "{\"query\":\"x\"}", .idempotent = true},
	    &resp2, NULL);
	free(url);
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(MDC_EHTTP, ret);
	ASSERT_EQ_INT(1, resp.attempts);
	ASSERT_EQ_INT(1, routes[0].hits);
	ASSERT_EQ_INT(500, err.http_status);
	ASSERT_EQ_STR("InternalServerError", err.arm_code);
	ASSERT_EQ_STR("abc-500", err.request_id);
	ASSERT_EQ_STR("POST /post: 500 Internal Server Error (InternalServerError): boom "
	              "(x-ms-request-id abc-500)",
	              err.message);
	ASSERT_EQ_INT(0, ret2);
	ASSERT_EQ_INT(2, resp2.attempts);
	mdc_http_response_release(&resp);
	mdc_http_response_release(&resp2);
	mdc_error_clear(&err);
}

TEST(connect_refused_retried_even_for_post)
{
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_opts o = fast_opts;
	int port = ts_closed_port(), ret;
	char *url = mdc_xasprintf("http://127.0.0.1:%d/x?sig=SECRETQUERY", port);

	o.max_attempts = 3;
	ASSERT(port > 0);
	ASSERT_EQ_INT(0, mdc_http_new(&h, &o, &err));
	ret = mdc_http_do(h, &(struct mdc_http_request){.method = "POST", .url = url}, &resp, &err);
	mdc_http_free(h);
	free(url);
	ASSERT_EQ_INT(MDC_ENET, ret);
	ASSERT_EQ_INT(3, resp.attempts);
	ASSERT_EQ_INT(0, resp.status);
	ASSERT_CONTAINS(err.message, "POST /x: ");
	ASSERT_CONTAINS(err.message, "after 3 attempts");
	ASSERT_NOT_CONTAINS(err.message, "SECRETQUERY");
	mdc_http_response_release(&resp);
	mdc_error_clear(&err);
}

TEST(budget_exhausted_reports_status_code_and_request_id)
{
	static const struct step steps[] = {
	    {429, "Retry-After: 1\nx-ms-request-id: 5c1e0000-aaaa\n",
	     "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"The request is being "
	     "throttled as the limit has been reached for operation type - 'List'.\"}}",
	     false, 0},
	};
	struct route routes[] = {{.path = "/subscriptions/s1/providers/Microsoft.Security/pricings",
	                          .steps = steps,
	                          .nsteps = 1}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_opts o = fast_opts;
	long long t0 = ts_now_ms(), took;
	int ret;

	o.budget_ms = 1500;
	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &o, &err));
	ret = do_get(h, &s, "GET",
	             "/subscriptions/s1/providers/Microsoft.Security/"
	             "pricings?api-version=2024-01-01",
	             &resp, &err);
	took = ts_now_ms() - t0;
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(MDC_ETHROTTLED, ret);
	ASSERT_EQ_INT(2, resp.attempts); /* a third wait would end past the budget */
	ASSERT(took < 1500);
	ASSERT_EQ_INT(429, err.http_status);
	ASSERT_EQ_STR("TooManyRequests", err.arm_code);
	ASSERT_EQ_STR("5c1e0000-aaaa", err.request_id);
	ASSERT_CONTAINS(err.message,
	                "GET /subscriptions/s1/providers/Microsoft.Security/pricings: 429 Too Many "
	                "Requests (TooManyRequests): The request is being throttled");
	ASSERT_CONTAINS(err.message, "after 2 attempts (x-ms-request-id 5c1e0000-aaaa)");
	ASSERT_NOT_CONTAINS(err.message, "api-version");
	mdc_http_response_release(&resp);
	mdc_error_clear(&err);
}

TEST(error_bodies_arm_entra_and_garbage)
{
	struct mdc_http_response r = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char *code, *msg;

	static const char arm[] =
	    "{\"a\":[1,{\"b\":\"}\"}],\"error\":{\"details\":[{\"code\":\"x\"}],"
	    "\"code\":\"Conf\\u006cict\",\"message\":\"line\\none\"}}";

	mdc_http_parse_error_body(arm, strlen(arm), &code, &msg);
	ASSERT_EQ_STR("Conflict", code);
	ASSERT_EQ_STR("line", msg);
	free(code);
	free(msg);

	r.status = 401;
	r.method = mdc_xstrdup("POST");
	r.url = mdc_xstrdup("https://login.example/tenant-1/oauth2/v2.0/token?x=1");
	mdc_buf_adds(&r.body,
	             "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: "
	             "Invalid client secret provided.\\r\\nTrace ID: t\\r\\n\","
	             "\"error_codes\":[7000215]}");
	ASSERT_EQ_INT(MDC_EAUTH, mdc_http_response_error(&r, &err));
	ASSERT_EQ_STR("AADSTS7000215", err.arm_code);
	ASSERT_EQ_STR("POST /tenant-1/oauth2/v2.0/token: 401 Unauthorized (AADSTS7000215): Invalid "
	              "client secret provided",
	              err.message);
	mdc_http_response_release(&r);

	r.status = 404;
	r.method = mdc_xstrdup("GET");
	r.url = mdc_xstrdup("http://h/a");
	mdc_buf_adds(&r.body, "<html>not json {\"error\":");
	mdc_kvlist_set(&r.headers, "x-ms-request-id", "rid", false);
	ASSERT_EQ_INT(MDC_ENOTFOUND, mdc_http_response_error(&r, &err));
	ASSERT_EQ_STR("GET /a: 404 Not Found (x-ms-request-id rid)", err.message);
	ASSERT(err.arm_code == NULL);
	mdc_http_response_release(&r);

	r.status = 200;
	ASSERT_EQ_INT(0, mdc_http_response_error(&r, &err));
	mdc_http_response_release(&r);
	mdc_error_clear(&err);

	/* Truncated and deeply nested bodies stop the reader without harm. */
	for (size_t n = 0; n < 40; n++) {
		const char *b = "{\"error\":{\"code\":\"A\",\"message\":\"B\"}}";
		mdc_http_parse_error_body(b, n < strlen(b) ? n : strlen(b), &code, &msg);
		free(code);
		free(msg);
	}
	{
		struct mdc_buf deep = MDC_BUF_INIT;
		for (int i = 0; i < 5000; i++)
			mdc_buf_adds(&deep, "{\"a\":[");
		mdc_http_parse_error_body(deep.ptr, deep.len, &code, &msg);
		ASSERT(code == NULL && msg == NULL);
		mdc_buf_release(&deep);
	}
}

/* --- parallelism and paging --- */

struct par_state {
	struct mdc_http *h;
	struct ts_server *s;
	int done, failed, pages2;
};

static void par_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *err)
{
	struct par_state *p = ctx;

	p->done++;
	if (err || resp->status != 200) {
		p->failed++;
		return;
	}
	if (strstr(resp->url, "/page1/")) {
		/* A callback may submit more requests, as paging with nextLink does. */
		char *url = mdc_xasprintf("%s/page2/%d", p->s->base, p->done);
		mdc_http_submit(p->h,
		                &(struct mdc_http_request){
		                    .method = "GET", .url = url, .done = par_done, .ctx = p},
		                NULL);
		free(url);
	} else {
		p->pages2++;
	}
}

TEST(parallel_requests_reuse_connections)
{
	static const struct step steps[] = {{200, NULL, "{}", false, 30}};
	struct route routes[] = {{.path = "/*", .steps = steps, .nsteps = 1}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct par_state p = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_stats st;
	long long t0;
	long long took;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&p.h, &fast_opts, &err));
	p.s = &s;
	for (int i = 0; i < 50; i++) {
		char *url = mdc_xasprintf("%s/page1/%d", s.base, i);
		ASSERT_EQ_INT(0, mdc_http_submit(
		                     p.h,
		                     &(struct mdc_http_request){
		                         .method = "GET", .url = url, .done = par_done, .ctx = &p},
		                     &err));
		free(url);
	}
	t0 = ts_now_ms();
	ASSERT_EQ_INT(0, mdc_http_run(p.h, &err));
	took = ts_now_ms() - t0;
	mdc_http_stats(p.h, &st);
	mdc_http_free(p.h);
	ts_stop(&s);
	ASSERT_EQ_INT(100, p.done);
	ASSERT_EQ_INT(0, p.failed);
	ASSERT_EQ_INT(50, p.pages2);
	ASSERT_EQ_INT(100, st.requests);
	ASSERT_EQ_INT(100, st.completed);
	ASSERT_EQ_INT(0, st.in_flight);
	ASSERT_EQ_INT(0, st.queued);
	ASSERT(ts_get(&s, &s.connections) <= 8);
	ASSERT(st.connections <= 8);
	ASSERT(ts_get(&s, &s.max_concurrent) >= 4); /* really in parallel */
	ASSERT(ts_get(&s, &s.max_concurrent) <= 8);
	/* 100 x 30 ms one at a time would take 3 s; 8 at a time about 0.4 s. */
	ASSERT(took < 1500);
}

/* --- the authorize hook --- */

struct tokens {
	int calls;
	int fail;
};

static int authorize(void *ctx, struct mdc_buf *value, struct mdc_error *err)
{
	struct tokens *t = ctx;

	t->calls++;
	if (t->fail) {
		/* As mdc_auth_authorize does: the scheme is written before the token fails
		 * (the transport must still free and wipe it; ASan caught a leak here). */
		mdc_buf_adds(value, "Bearer ");
		return mdc_error_set(err, MDC_EAUTH, "no credentials configured");
	}
	mdc_buf_addf(value, "Bearer tok-%d", t->calls);
	return 0;
}

TEST(authorize_hook_called_before_every_attempt)
{
	static const struct step steps[] = {
	    {503, "Retry-After: 0\n", NULL, false, 0},
	    {500, NULL, NULL, false, 0},
	    {200, NULL, "{}", false, 0},
	};
	struct route routes[] = {{.path = "/auth", .steps = steps, .nsteps = 3}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct tokens t = {0, 0};
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char *url;
	int ret;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	url = url_of(&s, "/auth");
	ret = mdc_http_do(h,
	                  &(struct mdc_http_request){.method = "PUT",
	                                             .url = url,
	                                             .body = "{}",
	                                             .authorize = authorize,
	                                             .authorize_ctx = &t},
	                  &resp, &err);
	ASSERT_EQ_INT(0, ret);
	ASSERT_EQ_INT(3, resp.attempts);
	ASSERT_EQ_INT(3, t.calls);
	ASSERT_EQ_STR("Bearer tok-1", routes[0].auth[0]);
	ASSERT_EQ_STR("Bearer tok-2", routes[0].auth[1]);
	ASSERT_EQ_STR("Bearer tok-3", routes[0].auth[2]);
	/* A fresh client request id per attempt, one correlation id for the run. */
	ASSERT(mdc_is_guid(routes[0].client_id[0]));
	ASSERT(strcmp(routes[0].client_id[0], routes[0].client_id[1]) != 0);
	ASSERT_EQ_STR(resp.client_request_id, routes[0].client_id[2]);
	ASSERT_EQ_STR(mdc_http_correlation_id(h), routes[0].correlation[0]);
	ASSERT_EQ_STR(mdc_http_correlation_id(h), routes[0].correlation[2]);
	ASSERT_EQ_STR("mdcctl/test", routes[0].user_agent[0]);
	mdc_http_response_release(&resp);

	/* A hook that fails ends the request with its error, before anything is sent. */
	t.fail = 1;
	ret = mdc_http_do(
	    h,
	    &(struct mdc_http_request){
	        .method = "GET", .url = url, .authorize = authorize, .authorize_ctx = &t},
	    &resp, &err);
	mdc_http_free(h);
	ts_stop(&s);
	free(url);
	ASSERT_EQ_INT(MDC_EAUTH, ret);
	ASSERT_EQ_STR("no credentials configured", err.message);
	ASSERT_EQ_INT(3, routes[0].hits);
	mdc_http_response_release(&resp);
	mdc_error_clear(&err);
}

/* --- throttling budgets --- */

struct timing {
	long long last;
	int n;
};

static void timing_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *err)
{
	struct timing *t = ctx;

	if (!err && resp->status == 200) {
		t->n++;
		t->last = ts_now_ms();
	}
}

TEST(ratelimit_headers_slow_only_that_key)
{
	static const struct step low[] = {
	    {200, "x-ms-ratelimit-remaining-subscription-reads: 0\n", "{}", false, 0}};
	static const struct step high[] = {
	    {200, "x-ms-ratelimit-remaining-subscription-reads: 249\n", "{}", false, 0}};
	struct route routes[] = {{.path = "/subscriptions/a*", .steps = low, .nsteps = 1},
	                         {.path = "/subscriptions/b*", .steps = high, .nsteps = 1}};
	struct script sc = {routes, 2};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct timing ta = {0, 0}, tb = {0, 0};
	const char *keys[] = {"a", "b"};
	long long t0;
	char *url;

	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	/* Learn both budgets. */
	for (int k = 0; k < 2; k++) {
		url = mdc_xasprintf("%s/subscriptions/%s/first", s.base, keys[k]);
		ASSERT_EQ_INT(0,
		              mdc_http_do(h,
		                          &(struct mdc_http_request){
		                              .method = "GET", .url = url, .budget_key = keys[k]},
		                          &resp, &err));
		mdc_http_response_release(&resp);
		free(url);
	}
	t0 = ts_now_ms();
	for (int i = 0; i < 10; i++) {
		for (int k = 0; k < 2; k++) {
			url = mdc_xasprintf("%s/subscriptions/%s/%d", s.base, keys[k], i);
			ASSERT_EQ_INT(
			    0, mdc_http_submit(h,
			                       &(struct mdc_http_request){.method = "GET",
			                                                  .url = url,
			                                                  .budget_key = keys[k],
			                                                  .done = timing_done,
			                                                  .ctx = k ? &tb : &ta},
			                       &err));
			free(url);
		}
	}
	ASSERT_EQ_INT(0, mdc_http_run(h, &err));
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(10, ta.n);
	ASSERT_EQ_INT(10, tb.n);
	/* Key a is empty: its requests are spaced ~40 ms apart (ARM's read refill rate). */
	ASSERT(ta.last - t0 >= 300);
	/* Key b has plenty left: nothing waits. */
	ASSERT(tb.last - t0 < 250);
}

TEST(throttled_key_paused_until_retry_after)
{
	static const struct step first[] = {
	    {429, "Retry-After: 1\n", NULL, false, 0},
	    {200, NULL, "{}", false, 0},
	};
	static const struct step ok[] = {{200, NULL, "{}", false, 0}};
	struct route routes[] = {{.path = "/a/first", .steps = first, .nsteps = 2},
	                         {.path = "/a/*", .steps = ok, .nsteps = 1},
	                         {.path = "/b/*", .steps = ok, .nsteps = 1}};
	struct script sc = {routes, 3};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	struct timing ta = {0, 0}, tb = {0, 0};
	struct mdc_http_opts o = fast_opts;
	long long t0;
	char *url;

	o.parallelism = 1; /* the 429 arrives before the others start */
	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	ASSERT_EQ_INT(0, mdc_http_new(&h, &o, &err));
	t0 = ts_now_ms();
	url = url_of(&s, "/a/first");
	mdc_http_submit(
	    h,
	    &(struct mdc_http_request){
	        .method = "GET", .url = url, .budget_key = "a", .done = timing_done, .ctx = &ta},
	    &err);
	free(url);
	url = url_of(&s, "/a/second");
	mdc_http_submit(
	    h,
	    &(struct mdc_http_request){
	        .method = "GET", .url = url, .budget_key = "a", .done = timing_done, .ctx = &ta},
	    &err);
	free(url);
	url = url_of(&s, "/b/other");
	mdc_http_submit(
	    h,
	    &(struct mdc_http_request){
	        .method = "GET", .url = url, .budget_key = "b", .done = timing_done, .ctx = &tb},
	    &err);
	free(url);
	ASSERT_EQ_INT(0, mdc_http_run(h, &err));
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(2, ta.n);
	ASSERT_EQ_INT(1, tb.n);
	ASSERT(routes[1].at[0] - t0 >= 950); /* /a/second waited for the pause */
	ASSERT(tb.last - t0 < 500);          /* /b did not */
}

/* --- TLS --- */

TEST(https_requires_a_trusted_certificate)
{
	static const struct step steps[] = {{200, NULL, "secure", false, 0}};
	struct route routes[] = {{.path = "/tls", .steps = steps, .nsteps = 1}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct mdc_http *h = NULL;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_opts o = fast_opts;
	char dir[] = "/tmp/mdc-http-XXXXXX", *cert = NULL, *key = NULL, *ca;
	int ret;

	ASSERT(mkdtemp(dir) != NULL);
	ASSERT_EQ_INT(0, ts_make_cert("127.0.0.1", NULL, &cert, &key, NULL, NULL));
	ca = ts_write_temp(dir, "ca.pem", cert);
	ASSERT(ca != NULL);
	if (ts_start(&s, scripted, &sc, cert, key) < 0) {
		fprintf(stderr, "libmicrohttpd has no TLS here; skipped\n");
		goto out;
	}
	ASSERT_EQ_INT(0, mdc_http_new(&h, &fast_opts, &err));
	ret = do_get(h, &s, "GET", "/tls", &resp, &err);
	mdc_http_free(h);
	ASSERT_EQ_INT(MDC_ENET, ret);
	ASSERT_EQ_INT(1, resp.attempts); /* an untrusted certificate is not retried */
	ASSERT_EQ_INT(0, routes[0].hits);
	mdc_http_response_release(&resp);
	mdc_error_clear(&err);

	o.ca_file = ca;
	ASSERT_EQ_INT(0, mdc_http_new(&h, &o, &err));
	ret = do_get(h, &s, "GET", "/tls", &resp, &err);
	mdc_http_free(h);
	ts_stop(&s);
	ASSERT_EQ_INT(0, ret);
	ASSERT_EQ_STR("secure", resp.body.ptr);
	mdc_http_response_release(&resp);
out:
	unlink(ca);
	rmdir(dir);
	free(ca);
	free(cert);
	free(key);
}

/* --- misc --- */

struct reentry {
	struct mdc_http *h;
	int refused;
};

static void reenter_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *err)
{
	struct reentry *re = ctx;
	struct mdc_error e = MDC_ERROR_INIT;
	struct mdc_http_response r = MDC_HTTP_RESPONSE_INIT;

	if (mdc_http_run(re->h, &e) == MDC_EINTERNAL &&
	    mdc_http_do(re->h, &(struct mdc_http_request){.method = "GET", .url = "http://x/"}, &r,
	                &e) == MDC_EINTERNAL)
		re->refused = 1;
	mdc_error_clear(&e);
}

TEST(submit_validation_and_reentry)
{
	static const struct step steps[] = {{204, NULL, NULL, false, 0}};
	struct route routes[] = {{.path = "/r", .steps = steps, .nsteps = 1}};
	struct script sc = {routes, 1};
	struct ts_server s;
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct reentry re = {NULL, 0};
	char *url;

	ASSERT_EQ_INT(0, mdc_http_new(&re.h, NULL, &err));
	ASSERT_EQ_INT(
	    MDC_EINVALID,
	    mdc_http_submit(re.h, &(struct mdc_http_request){.method = "GET", .url = "ftp://x/"},
	                    &err));
	ASSERT_EQ_INT(
	    MDC_EINVALID,
	    mdc_http_submit(re.h, &(struct mdc_http_request){.method = "TRACE", .url = "http://x/"},
	                    &err));
	ASSERT_EQ_INT(MDC_EINVALID,
	              mdc_http_submit(re.h,
	                              &(struct mdc_http_request){.method = "GET",
	                                                         .url = "http://x/\r\nEvil: 1"},
	                              &err));
	ASSERT(strstr(mdc_http_library_version(), "libcurl/") != NULL);
	ASSERT(mdc_is_guid(mdc_http_correlation_id(re.h)));
	ASSERT_EQ_INT(0, ts_start(&s, scripted, &sc, NULL, NULL));
	url = url_of(&s, "/r");
	ASSERT_EQ_INT(0,
	              mdc_http_do(re.h, &(struct mdc_http_request){.method = "DELETE", .url = url},
	                          &resp, &err));
	ASSERT_EQ_INT(204, resp.status);
	mdc_http_response_release(&resp);
	mdc_http_submit(re.h,
	                &(struct mdc_http_request){
	                    .method = "GET", .url = url, .done = reenter_done, .ctx = &re},
	                &err);
	ASSERT_EQ_INT(0, mdc_http_run(re.h, &err));
	mdc_http_free(re.h);
	ts_stop(&s);
	free(url);
	mdc_error_clear(&err);
	ASSERT_EQ_INT(1, re.refused);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
