/*
 * Unit tests of the apply engine's offline parts: dependency order and skipping
 * (mdc_apply_schedule, the bookkeeping mdc_apply uses), the resume file, the lock.
 * The network paths are covered end to end in tests/e2e/.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include <cjson/cJSON.h>

#include "harness.h"

#define REQ(path)                                                                                  \
	"\"request\": {\"method\": \"PUT\", \"path\": \"" path "\", \"api_version\": \"x\"}"

/* A: register; B after A; C after B; D alone; E noop; F after E; G blocked; H after G
 * (not blocked itself: an edited plan); I after an id the plan does not hold. */
static const char plan_json[] =
    "{\"format_version\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"workspace\": \"/w\","
    " \"items\": ["
    "{\"id\": \"A\", \"kind\": \"provider\", \"action\": \"register\", \"subscription\": \"s1\","
    " \"resource\": \"/subscriptions/s1/providers/Microsoft.SecurityInsights\", " REQ(
        "/a") "},"
              "{\"id\": \"B\", \"kind\": \"pricing\", \"action\": \"update\", \"subscription\": "
              "\"s1\","
              " \"depends_on\": [\"A\"], \"resource\": \"/b\", " REQ(
                  "/b") "},"
                        "{\"id\": \"C\", \"kind\": \"connector\", \"action\": \"create\", "
                        "\"subscription\": \"s1\","
                        " \"depends_on\": [\"B\"], \"resource\": \"/c\", " REQ(
                            "/c") "},"
                                  "{\"id\": \"D\", \"kind\": \"sync\", \"action\": \"update\", "
                                  "\"subscription\": \"s2\","
                                  " \"resource\": \"/d\", " REQ(
                                      "/d") "},"
                                            "{\"id\": \"E\", \"kind\": \"pricing\", \"action\": "
                                            "\"noop\", \"subscription\": \"s2\","
                                            " \"resource\": \"/e\"},"
                                            "{\"id\": \"F\", \"kind\": \"connector\", \"action\": "
                                            "\"update\", \"subscription\": \"s2\","
                                            " \"depends_on\": [\"E\", \"D\"], \"resource\": "
                                            "\"/f\", " REQ(
                                                "/f") "},"
                                                      "{\"id\": \"G\", \"kind\": \"pricing\", "
                                                      "\"action\": \"update\", \"subscription\": "
                                                      "\"s3\","
                                                      " \"blocked\": \"missing permission\", "
                                                      "\"resource\": \"/g\", " REQ(
                                                          "/g") "},"
                                                                "{\"id\": \"H\", \"kind\": "
                                                                "\"sync\", \"action\": \"update\", "
                                                                "\"subscription\": \"s3\","
                                                                " \"depends_on\": [\"G\"], "
                                                                "\"resource\": \"/h\", " REQ(
                                                                    "/h") "},"
                                                                          "{\"id\": \"I\", "
                                                                          "\"kind\": "
                                                                          "\"incident-rule\", "
                                                                          "\"action\": \"create\","
                                                                          " \"depends_on\": "
                                                                          "[\"nope\"], "
                                                                          "\"resource\": "
                                                                          "\"/i\", " REQ("/i") "}"
                                                                                               "]}";

enum { A, B, C, D, E, F, G, H, I, N };

static struct mdc_plan *load(void)
{
	struct mdc_plan *p = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	if (mdc_plan_from_json(&p, plan_json, strlen(plan_json), &err) < 0) {
		fprintf(stderr, "plan: %s\n", err.message);
		mdc_error_clear(&err);
		return NULL;
	}
	return p;
}

static long pos(const size_t *order, size_t n, size_t item)
{
	for (size_t i = 0; i < n; i++)
		if (order[i] == item)
			return (long)i;
	return -1;
}

TEST(schedule_runs_dependencies_first)
{
	struct mdc_plan *p = load();
	size_t order[N], n;
	bool skipped[N];

	ASSERT(p);
	ASSERT_EQ_INT(N, p->nitems);
	n = mdc_apply_schedule(order, p, NULL, NULL, skipped);
	/* A B C D F I run; E is a noop, G blocked, H waits for the blocked G. */
	ASSERT_EQ_INT(6, n);
	ASSERT(pos(order, n, A) >= 0 && pos(order, n, A) < pos(order, n, B));
	ASSERT(pos(order, n, B) < pos(order, n, C));
	ASSERT(pos(order, n, D) >= 0 && pos(order, n, D) < pos(order, n, F));
	ASSERT(pos(order, n, I) >= 0); /* an unknown dependency does not hold it back */
	ASSERT_EQ_INT(-1, pos(order, n, E));
	ASSERT_EQ_INT(-1, pos(order, n, G));
	ASSERT_EQ_INT(-1, pos(order, n, H));
	ASSERT(skipped[H]);
	ASSERT(!skipped[G] && !skipped[E] && !skipped[A]);
	mdc_plan_free(p);
}

TEST(schedule_skips_what_waits_for_a_failure)
{
	struct mdc_plan *p = load();
	size_t order[N], n;
	bool failed[N] = {false}, skipped[N];

	ASSERT(p);
	failed[A] = true;
	n = mdc_apply_schedule(order, p, NULL, failed, skipped);
	/* A runs and fails; B and C (transitively) are skipped; the rest goes on. */
	ASSERT(pos(order, n, A) >= 0);
	ASSERT_EQ_INT(-1, pos(order, n, B));
	ASSERT_EQ_INT(-1, pos(order, n, C));
	ASSERT(skipped[B] && skipped[C]);
	ASSERT(pos(order, n, D) >= 0 && pos(order, n, F) >= 0 && pos(order, n, I) >= 0);
	ASSERT(!skipped[D] && !skipped[F]);
	mdc_plan_free(p);
}

TEST(schedule_resume_treats_done_items_as_satisfied)
{
	struct mdc_plan *p = load();
	size_t order[N], n;
	bool done[N] = {false};

	ASSERT(p);
	done[A] = done[B] = done[D] = true;
	n = mdc_apply_schedule(order, p, done, NULL, NULL);
	ASSERT_EQ_INT(3, n); /* C, F, I */
	ASSERT(pos(order, n, C) >= 0 && pos(order, n, F) >= 0 && pos(order, n, I) >= 0);
	ASSERT_EQ_INT(-1, pos(order, n, A));
	mdc_plan_free(p);
}

TEST(resume_file_round_trip)
{
	struct mdc_plan *p = load(), *q = NULL;
	struct mdc_apply_result res = {0};
	struct mdc_apply_item_result items[N];
	struct mdc_error err = MDC_ERROR_INIT;
	bool before[N] = {false}, *done = NULL, *attempted = NULL;
	char *json;

	ASSERT(p);
	memset(items, 0, sizeof(items));
	res.items = items;
	res.nitems = N;
	before[A] = true; /* done by an earlier run */
	items[A].status = MDC_APPLY_DONE;
	items[B].status = MDC_APPLY_APPLIED;
	items[C].status = MDC_APPLY_FAILED;
	items[C].message = "409 Conflict again";
	items[D].status = MDC_APPLY_UNCHANGED;
	items[F].status = MDC_APPLY_SKIPPED;
	items[F].message = "skipped: D failed";
	json = mdc_apply_resume_to_json(p, &res, before, 0);
	ASSERT(mdc_apply_is_resume(json, strlen(json)));
	ASSERT(!mdc_apply_is_resume(plan_json, strlen(plan_json)));
	ASSERT(strstr(json, "\"409 Conflict again\""));
	ASSERT_EQ_INT(0,
	              mdc_apply_resume_from_json(&q, &done, &attempted, json, strlen(json), &err));
	ASSERT_EQ_INT(N, q->nitems);
	ASSERT(done[A] && done[B] && done[D]);
	ASSERT(!done[C] && !done[E] && !done[F] && !done[I]);
	ASSERT(attempted[C]);  /* failed: its write was tried */
	ASSERT(!attempted[F]); /* skipped: never sent */
	ASSERT(!attempted[A]);
	ASSERT(!strcmp(q->items[C].req.path, "/c"));
	free(json);
	free(done);
	free(attempted);
	mdc_plan_free(q);
	mdc_plan_free(p);
}

TEST(resume_file_with_unknown_item_is_refused)
{
	static const char bad[] =
	    "{\"resume_format_version\": 1, \"done\": [\"Z\"], \"plan\": "
	    "{\"format_version\": 1, \"created_at\": \"2026-01-02T03:04:05Z\","
	    " \"items\": []}}";
	struct mdc_plan *q = NULL;
	bool *done = NULL, *attempted = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT(mdc_apply_resume_from_json(&q, &done, &attempted, bad, strlen(bad), &err) < 0);
	ASSERT(err.message && strstr(err.message, "'Z'"));
	ASSERT(!q && !done && !attempted);
	mdc_error_clear(&err);
}

TEST(lock_refuses_a_second_holder_and_names_it)
{
	char dir[] = "/tmp/mdc-lock-test.XXXXXX", want[64];
	struct mdc_apply_lock *l1 = NULL, *l2 = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	ASSERT_EQ_INT(
	    0, mdc_apply_lock_acquire(&l1, "/subscriptions/X/ws", "mdcctl apply -f a", &err));
	/* The same workspace in another case is the same lock. */
	ASSERT_EQ_INT(MDC_EBUSY,
	              mdc_apply_lock_acquire(&l2, "/subscriptions/x/WS", "mdcctl apply b", &err));
	snprintf(want, sizeof(want), "pid %ld on ", (long)getpid());
	ASSERT(err.message && strstr(err.message, want));
	ASSERT(strstr(err.message, "command: mdcctl apply -f a"));
	mdc_error_clear(&err);
	/* Another workspace is independent. */
	ASSERT_EQ_INT(0, mdc_apply_lock_acquire(&l2, "/subscriptions/y/ws", "c", &err));
	mdc_apply_lock_release(l2);
	mdc_apply_lock_release(l1);
	ASSERT_EQ_INT(0, mdc_apply_lock_acquire(&l1, "/subscriptions/x/ws", "d", &err));
	mdc_apply_lock_release(l1);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		ASSERT_EQ_INT(0, system(cmd));
	}
}

TEST(status_names)
{
	ASSERT(!strcmp(mdc_apply_status_name(MDC_APPLY_APPLIED), "applied"));
	ASSERT(!strcmp(mdc_apply_status_name(MDC_APPLY_SKIPPED), "skipped"));
	ASSERT(!strcmp(mdc_apply_status_name(MDC_APPLY_STATUS_MAX), "?"));
}

TEST(extensions_put_keeps_what_it_does_not_name)
{
	static const char planned[] =
	    "{\"properties\":{\"pricingTier\":\"Standard\",\"extensions\":[{\"name\":"
	    "\"MdeDesignatedSubscription\",\"isEnabled\":\"True\"}]}}";
	cJSON *read = cJSON_Parse(
	    "{\"name\":\"VirtualMachines\",\"properties\":{\"pricingTier\":\"Standard\","
	    "\"extensions\":[{\"name\":\"AgentlessVmScanning\",\"isEnabled\":\"True\","
	    "\"additionalExtensionProperties\":{\"ExclusionTags\":\"[]\"},\"operationStatus\":"
	    "{\"code\":\"Succeeded\"}},{\"name\":\"MdeDesignatedSubscription\",\"isEnabled\":"
	    "\"False\"},{\"name\":\"Other\",\"isEnabled\":\"False\","
	    "\"additionalExtensionProperties\":{\"x\":\"1\"}}]}}");
	char *merged = mdc_apply_merge_extensions(planned, read);

	ASSERT(merged != NULL);
	/* The planned extension wins; the others come as read, without operationStatus, and
	 * a disabled one without its properties (reference §2.7: a 500 otherwise). */
	ASSERT_EQ_STR("{\"properties\":{\"pricingTier\":\"Standard\",\"extensions\":["
	              "{\"name\":\"MdeDesignatedSubscription\",\"isEnabled\":\"True\"},"
	              "{\"name\":\"AgentlessVmScanning\",\"isEnabled\":\"True\","
	              "\"additionalExtensionProperties\":{\"ExclusionTags\":\"[]\"}},"
	              "{\"name\":\"Other\",\"isEnabled\":\"False\"}]}}",
	              merged);
	free(merged);
	ASSERT(mdc_apply_merge_extensions("{\"properties\":{}}", read) == NULL);
	cJSON_Delete(read);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
