/*
 * ARM /batch reads (reference §9.5) against a small fake ARM over TLS on 127.0.0.1: answers
 * reach each GET as if it had been sent alone, a batch ARM refuses turns the rest of the run
 * into single GETs, and the sub-responses' throttling headers and 429s steer the
 * subscription's budget as a standalone response's would (§9.2).
 */
#include <cjson/cJSON.h>

#include "harness.h"
#include "http_testutil.h"
#include "arm.h"

struct fake {
	bool refuse;    /* answer POST /batch with 404 */
	int batches;    /* POST /batch received */
	int in_batches; /* GETs received inside them */
	int alone;      /* GETs received alone */
	int throttled;  /* sub-requests answered 429 */
	long long alone_at[64];
	char alone_path[64][96];
};

/* The answer to a GET of path, alone or inside a batch. */
static int answer(struct fake *f, const char *path, cJSON *headers, cJSON **content)
{
	char buf[160];

	if (strstr(path, "/missing/")) {
		*content =
		    cJSON_Parse("{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"gone\"}}");
		cJSON_AddStringToObject(headers, "x-ms-request-id", "r-404");
		return 404;
	}
	if (strstr(path, "/throttle/") && headers && f->throttled == 0) {
		f->throttled++;
		cJSON_AddStringToObject(headers, "Retry-After", "1");
		*content =
		    cJSON_Parse("{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"x\"}}");
		return 429;
	}
	if (strstr(path, "/low/") && headers)
		cJSON_AddStringToObject(headers, "x-ms-ratelimit-remaining-subscription-reads",
		                        "1");
	else if (headers)
		cJSON_AddStringToObject(headers, "x-ms-ratelimit-remaining-subscription-reads",
		                        "240");
	snprintf(buf, sizeof(buf), "{\"path\":\"%.120s\"}", path);
	*content = cJSON_Parse(buf);
	return 200;
}

static void fake_arm(void *ctx, const struct ts_request *req, struct ts_reply *rep)
{
	struct fake *f = ctx;

	if (!strcmp(req->method, "POST") && !strcmp(req->path, "/batch")) {
		cJSON *in = cJSON_ParseWithLength(req->body, req->body_len), *out, *arr, *it;
		char *text;

		f->batches++;
		if (f->refuse) {
			ts_json(
			    rep, 404,
			    "{\"error\":{\"code\":\"NotFound\",\"message\":\"no batch here\"}}");
			cJSON_Delete(in);
			return;
		}
		out = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(out, "responses");
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(in, "requests"))
		{
			cJSON *r = cJSON_CreateObject(), *h = cJSON_CreateObject(), *content = NULL;
			const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(it, "url"));
			char path[128];

			f->in_batches++;
			snprintf(path, sizeof(path), "%.*s", (int)strcspn(url, "?"), url);
			cJSON_AddStringToObject(
			    r, "name", cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")));
			cJSON_AddNumberToObject(r, "httpStatusCode", answer(f, path, h, &content));
			cJSON_AddItemToObject(r, "headers", h);
			cJSON_AddItemToObject(r, "content", content);
			/* in reverse order: names, not positions, pair answers with requests */
			cJSON_InsertItemInArray(arr, 0, r);
		}
		text = cJSON_PrintUnformatted(out);
		ts_json(rep, 200, text);
		free(text);
		cJSON_Delete(out);
		cJSON_Delete(in);
		return;
	}
	if (!strcmp(req->method, "GET")) {
		cJSON *content = NULL, *h = cJSON_CreateObject(), *v;
		int status;
		char *text;

		if (f->alone < 64) {
			f->alone_at[f->alone] = ts_now_ms();
			snprintf(f->alone_path[f->alone], sizeof(f->alone_path[0]), "%s",
			         req->path);
		}
		f->alone++;
		status = answer(f, req->path, NULL, &content);
		text = cJSON_PrintUnformatted(content);
		ts_json(rep, status, text);
		cJSON_ArrayForEach(v, h)
		    mdc_kvlist_set(&rep->headers, v->string, v->valuestring, true);
		free(text);
		cJSON_Delete(content);
		cJSON_Delete(h);
		return;
	}
	ts_json(rep, 405, "{\"error\":{\"code\":\"MethodNotAllowed\",\"message\":\"no\"}}");
}

struct got {
	int n, ok, errors;
	char last_error[256];
};

static void got_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct got *g = ctx;
	const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(body, "path"));

	g->n++;
	if (err) {
		g->errors++;
		snprintf(g->last_error, sizeof(g->last_error), "%d %s", status, err->message);
	} else if (status == 200 && p) {
		g->ok++;
	}
}

/* One GET's own record, to see that its answer is its own. */
struct one {
	struct got *g;
	char path[96];
};

static void one_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct one *o = ctx;
	const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(body, "path"));

	snprintf(o->path, sizeof(o->path), "%s", p ? p : "");
	got_done(o->g, status, body, err);
}

struct rig {
	struct ts_server s;
	struct fake f;
	struct mdc_arm *arm;
	char dir[32];
	char *ca, *cert, *key;
};

static int rig_start(struct rig *r)
{
	struct mdc_error err = MDC_ERROR_INIT;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/mdc-arm-XXXXXX");
	if (!mkdtemp(r->dir) || ts_make_cert("127.0.0.1", NULL, &r->cert, &r->key, NULL, NULL) < 0)
		return -1;
	r->ca = ts_write_temp(r->dir, "ca.pem", r->cert);
	if (!r->ca || ts_start(&r->s, fake_arm, &r->f, r->cert, r->key) < 0)
		return -1;
	rc = mdc_arm_new(&r->arm,
	                 &(struct mdc_arm_opts){.endpoint = r->s.base,
	                                        .http = {.ca_file = r->ca,
	                                                 .parallelism = 4,
	                                                 .backoff_base_ms = 20,
	                                                 .backoff_cap_ms = 100},
	                                        .read_only = true,
	                                        .batch = true},
	                 &err);
	mdc_error_clear(&err);
	return rc;
}

static void rig_stop(struct rig *r)
{
	mdc_arm_free(r->arm);
	ts_stop(&r->s);
	if (r->ca)
		unlink(r->ca);
	rmdir(r->dir);
	free(r->ca);
	free(r->cert);
	free(r->key);
}

static void get(struct rig *r, const char *sub, const char *what, int i, struct got *g)
{
	struct mdc_error err = MDC_ERROR_INIT;
	char *path = mdc_xasprintf("/subscriptions/%s/%s/%d", sub, what, i);

	if (mdc_arm_batch_get(r->arm, path, "2024-01-01", sub, got_done, g, &err) < 0)
		g->errors++;
	free(path);
	mdc_error_clear(&err);
}

static int run(struct rig *r)
{
	struct mdc_error err = MDC_ERROR_INIT;
	int rc = mdc_arm_run(r->arm, &err);

	mdc_error_clear(&err);
	return rc;
}

TEST(batch_answers_reach_each_get_by_name)
{
	struct rig r;
	struct got g = {0};
	struct one one[25];

	ASSERT_EQ_INT(0, rig_start(&r));
	for (int i = 0; i < 25; i++) {
		struct mdc_error err = MDC_ERROR_INIT;
		char *path = mdc_xasprintf("/subscriptions/s1/%s/%d", i == 7 ? "missing" : "ok", i);

		one[i] = (struct one){.g = &g};
		ASSERT_EQ_INT(
		    0, mdc_arm_batch_get(r.arm, path, "2024-01-01", "s1", one_done, &one[i], &err));
		free(path);
	}
	ASSERT_EQ_INT(0, run(&r));
	ASSERT_EQ_INT(2, r.f.batches); /* 20 + 5 */
	ASSERT_EQ_INT(25, r.f.in_batches);
	ASSERT_EQ_INT(0, r.f.alone);
	ASSERT_EQ_INT(25, g.n);
	ASSERT_EQ_INT(24, g.ok);
	ASSERT_EQ_INT(1, g.errors);
	/* each GET got its own answer, though the batch answered in reverse order */
	for (int i = 0; i < 25; i++) {
		char want[64];

		snprintf(want, sizeof(want), "/subscriptions/s1/ok/%d", i);
		ASSERT_EQ_STR(i == 7 ? "" : want, one[i].path);
	}
	/* a sub-response error reads like a standalone one: status, code, message, request id */
	ASSERT_CONTAINS(g.last_error, "404");
	ASSERT_CONTAINS(g.last_error, "ResourceNotFound");
	ASSERT_CONTAINS(g.last_error, "gone");
	ASSERT_CONTAINS(g.last_error, "r-404");
	rig_stop(&r);
}

TEST(batch_refused_once_then_single_gets_for_the_run)
{
	struct rig r;
	struct got g = {0};

	ASSERT_EQ_INT(0, rig_start(&r));
	r.f.refuse = true;
	for (int i = 0; i < 20; i++)
		get(&r, "s1", "ok", i, &g);
	ASSERT_EQ_INT(0, run(&r));
	ASSERT_EQ_INT(1, r.f.batches);
	ASSERT_EQ_INT(20, r.f.alone); /* the refused batch's GETs, again alone */
	for (int i = 0; i < 20; i++)
		get(&r, "s1", "ok", 100 + i, &g);
	ASSERT_EQ_INT(0, run(&r));
	ASSERT_EQ_INT(1, r.f.batches); /* not asked again */
	ASSERT_EQ_INT(40, r.f.alone);
	ASSERT_EQ_INT(40, g.ok);
	ASSERT_EQ_INT(0, g.errors);
	rig_stop(&r);
}

TEST(batch_sub_response_budget_sends_a_spent_subscription_alone)
{
	struct rig r;
	struct got g = {0};

	ASSERT_EQ_INT(0, rig_start(&r));
	get(&r, "low", "low", 0, &g); /* answered "1 read left" */
	get(&r, "s2", "ok", 0, &g);   /* answered "240 left" */
	ASSERT_EQ_INT(0, run(&r));
	ASSERT_EQ_INT(1, r.f.batches);
	for (int i = 1; i <= 3; i++) {
		get(&r, "low", "low", i, &g);
		get(&r, "s2", "ok", i, &g);
	}
	ASSERT_EQ_INT(0, run(&r));
	/* the spent subscription's reads went alone, paced by the transport; the other's
	 * still travelled in a batch */
	ASSERT_EQ_INT(2, r.f.batches);
	ASSERT_EQ_INT(3, r.f.alone);
	for (int i = 0; i < 3; i++)
		ASSERT_CONTAINS(r.f.alone_path[i], "/subscriptions/low/");
	ASSERT_EQ_INT(8, g.ok);
	rig_stop(&r);
}

TEST(batch_sub_429_waits_retry_after_then_goes_alone)
{
	struct rig r;
	struct got g = {0};
	struct mdc_http_stats st;
	long long t0;

	ASSERT_EQ_INT(0, rig_start(&r));
	t0 = ts_now_ms();
	get(&r, "thr", "throttle", 0, &g);
	get(&r, "s2", "ok", 0, &g);
	ASSERT_EQ_INT(0, run(&r));
	ASSERT_EQ_INT(1, r.f.batches);
	ASSERT_EQ_INT(1, r.f.throttled);
	ASSERT_EQ_INT(1, r.f.alone);
	ASSERT_CONTAINS(r.f.alone_path[0], "/subscriptions/thr/throttle/0");
	ASSERT(r.f.alone_at[0] - t0 >= 950); /* the sub-response's Retry-After: 1 */
	ASSERT_EQ_INT(2, g.ok);
	mdc_http_stats(mdc_arm_http(r.arm), &st);
	ASSERT_EQ_INT(1, (int)st.throttled);
	rig_stop(&r);
}

/* Another thread builds, prints and frees cJSON trees all along while the client parses its
 * responses into its arena: neither may see the other's memory. */
static volatile int churn_stop;

static void *churn(void *arg)
{
	long *rounds = arg;

	while (!churn_stop) {
		cJSON *o = cJSON_CreateObject();
		char *text;

		for (int i = 0; i < 20; i++)
			cJSON_AddStringToObject(o, "key",
			                        "a value long enough to be its own chunk");
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		o = cJSON_Parse(text);
		free(text);
		cJSON_Delete(o);
		(*rounds)++;
	}
	return NULL;
}

TEST(other_threads_cjson_is_not_in_the_arena)
{
	struct rig r;
	struct got g = {0};
	pthread_t t;
	long rounds = 0;

	ASSERT_EQ_INT(0, rig_start(&r));
	churn_stop = 0;
	ASSERT_EQ_INT(0, pthread_create(&t, NULL, churn, &rounds));
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 40; i++)
			get(&r, "s1", "ok", k * 100 + i, &g);
		ASSERT_EQ_INT(0, run(&r));
	}
	churn_stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ_INT(400, g.ok);
	ASSERT(rounds > 0);
	rig_stop(&r);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
