/*
 * Unit tests of the pure parts of reconcile/ingest and reconcile/notify: the query text and
 * body, parsing the §11 answer, connected and silent subscriptions, the webhook payload and
 * the redaction of webhook URLs.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ingest.h"
#include "notify.h"

TEST(query_body_is_the_reference_query)
{
	char *b = mdc_ingest_request_body(7);
	cJSON *o = cJSON_Parse(b);

	ASSERT(o);
	ASSERT_EQ_STR("P7D", cJSON_GetObjectItem(o, "timespan")->valuestring);
	ASSERT_EQ_STR("SecurityAlert | where ProductName == \"Azure Security Center\" | summarize "
	              "LastSeen=max(TimeGenerated), N=count() by SubscriptionId = "
	              "tostring(split(ResourceId, '/')[2])",
	              cJSON_GetObjectItem(o, "query")->valuestring);
	cJSON_Delete(o);
	free(b);
}

TEST(default_endpoints)
{
	ASSERT_EQ_STR("https://api.loganalytics.io", mdc_ingest_default_endpoint(MDC_CLOUD_AZURE));
	ASSERT_EQ_STR("https://api.loganalytics.us", mdc_ingest_default_endpoint(MDC_CLOUD_USGOV));
}

TEST(parses_the_reference_answer_by_column_name)
{
	/* columns in another order than §11's example: found by name */
	static const char json[] =
	    "{\"tables\":[{\"name\":\"PrimaryResult\",\"columns\":["
	    "{\"name\":\"SubscriptionId\",\"type\":\"string\"},{\"name\":\"N\",\"type\":\"long\"},"
	    "{\"name\":\"LastSeen\",\"type\":\"datetime\"}],\"rows\":["
	    "[\"C0688291-89D7-4BED-87A2-A7B1BFF43F4C\",3,\"2025-05-01T12:00:00Z\"],"
	    "[\"0a1b2c3d-0000-4000-8000-00000000000a\",\"2\",null]]}]}";
	struct mdc_ingest_result *r = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(0, mdc_ingest_parse(&r, json, strlen(json), 7, &err));
	ASSERT_EQ_INT(2, r->nrows);
	ASSERT_EQ_STR("0a1b2c3d-0000-4000-8000-00000000000a", r->rows[0].subscription);
	ASSERT_EQ_INT(2, r->rows[0].count);
	ASSERT(r->rows[0].last_seen == NULL);
	ASSERT_EQ_STR("c0688291-89d7-4bed-87a2-a7b1bff43f4c", r->rows[1].subscription);
	ASSERT_EQ_INT(3, r->rows[1].count);
	ASSERT_EQ_STR("2025-05-01T12:00:00Z", r->rows[1].last_seen);
	ASSERT(mdc_ingest_find(r, "C0688291-89d7-4bed-87a2-a7b1bff43f4c") == &r->rows[1]);
	mdc_ingest_result_free(r);
}

TEST(refuses_other_shapes)
{
	struct mdc_ingest_result *r = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT(mdc_ingest_parse(&r, "{\"error\":{}}", 12, 7, &err) < 0);
	ASSERT(r == NULL);
	ASSERT_CONTAINS(err.message, "unexpected Log Analytics answer");
	mdc_error_clear(&err);
	ASSERT(mdc_ingest_parse(&r, "{\"tables\":[{\"columns\":[{\"name\":\"X\"}],\"rows\":[]}]}",
	                        49, 7, &err) < 0);
	mdc_error_clear(&err);
}

TEST(connected_and_silent)
{
	struct mdc_actual *a = mdc_actual_new();
	struct mdc_connector cs[4] = {
	    {.kind = "AzureSecurityCenter", .subscription_id = "bbbb", .alerts_state = "Enabled"},
	    {.kind = "azuresecuritycenter", .subscription_id = "aaaa", .alerts_state = "enabled"},
	    {.kind = "AzureSecurityCenter", .subscription_id = "cccc", .alerts_state = "Disabled"},
	    {.kind = "MicrosoftThreatProtection", .tenant_id = "t", .alerts_state = "Enabled"},
	};
	struct mdc_ingest_row rows[1] = {{.subscription = "AAAA", .count = 4}};
	struct mdc_ingest_result r = {.days = 7, .rows = rows, .nrows = 1};
	struct mdc_strvec connected = {0}, silent = {0};

	a->workspace.connectors = cs;
	a->workspace.nconnectors = 4;
	mdc_ingest_connected(&connected, a);
	ASSERT_EQ_INT(2, connected.n);
	ASSERT_EQ_STR("aaaa", connected.v[0]);
	ASSERT_EQ_STR("bbbb", connected.v[1]);
	mdc_ingest_silent(&silent, &connected, &r);
	ASSERT_EQ_INT(1, silent.n);
	ASSERT_EQ_STR("bbbb", silent.v[0]);
	a->workspace.connectors = NULL;
	a->workspace.nconnectors = 0;
	mdc_actual_free(a);
	mdc_strvec_clear(&connected);
	mdc_strvec_clear(&silent);
}

TEST(payload_counts_and_first_twenty_items)
{
	struct mdc_strvec ids = {0};
	char *p;
	cJSON *o;

	for (int i = 0; i < 25; i++) {
		char id[32];
		snprintf(id, sizeof(id), "sub/%02d/sync", i);
		mdc_strvec_push(&ids, id);
	}
	p = mdc_notify_payload(&(struct mdc_notify_summary){
	    .tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47",
	    .workspace = "/subscriptions/x/resourceGroups/rg/providers/"
	                 "Microsoft.OperationalInsights/workspaces/law-soc",
	    .drift = 24,
	    .pending = 1,
	    .ids = &ids,
	});
	o = cJSON_Parse(p);
	ASSERT(o);
	ASSERT_EQ_INT(24, cJSON_GetObjectItem(o, "drift")->valuedouble);
	ASSERT_EQ_INT(1, cJSON_GetObjectItem(o, "pending")->valuedouble);
	ASSERT_EQ_INT(20, cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")));
	ASSERT_EQ_STR("sub/19/sync",
	              cJSON_GetArrayItem(cJSON_GetObjectItem(o, "items"), 19)->valuestring);
	ASSERT_EQ_STR("mdcctl drift: 24 drifted, 1 pending in tenant "
	              "72f988bf-86f1-41af-91ab-2d7cd011db47 (workspace law-soc)",
	              cJSON_GetObjectItem(o, "text")->valuestring);
	ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "commit")));
	cJSON_Delete(o);
	free(p);
	mdc_strvec_clear(&ids);
}

TEST(webhook_urls_are_redacted)
{
	char *s =
	    mdc_notify_redacted_url("https://user:pw@hooks.slack.com/services/T0/B0/SECRET?x=1");
	ASSERT_EQ_STR("https://hooks.slack.com", s);
	free(s);
	s = mdc_notify_redacted_url("http://127.0.0.1:8080/hook");
	ASSERT_EQ_STR("http://127.0.0.1:8080", s);
	free(s);
}

TEST(post_failure_never_names_the_path)
{
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT(mdc_notify_post("http://127.0.0.1:9/hooks/SECRET", "{}",
	                       &(struct mdc_notify_opts){.timeout_ms = 3000}, &err) < 0);
	ASSERT_CONTAINS(err.message, "cannot notify 'http://127.0.0.1:9'");
	ASSERT_NOT_CONTAINS(err.message, "SECRET");
	mdc_error_clear(&err);
	ASSERT(mdc_notify_post("ftp://x/SECRET", "{}", NULL, &err) == MDC_EINVALID);
	ASSERT_NOT_CONTAINS(err.message, "SECRET");
	mdc_error_clear(&err);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
