/* The reference's example bodies (reference/azure-api.md) parsed into the actual model. */
#include <stdlib.h>

#include "harness.h"
#include "armjson.h"
#include "config.h"

static cJSON *J(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (!j) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		abort();
	}
	return j;
}

TEST(subscription_list_entry)
{
	struct mdc_actual *a = mdc_actual_new();
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_sub_actual *s = NULL;
	cJSON *j = J("{\"id\":\"/subscriptions/291BBA3F-E0A5-47BC-A099-3BDCB2A50A05\","
	             "\"subscriptionId\":\"291BBA3F-E0A5-47BC-A099-3BDCB2A50A05\","
	             "\"tenantId\":\"31c75423-32d6-4322-88b7-c478bdde4858\","
	             "\"displayName\":\"Example Subscription\",\"state\":\"Enabled\","
	             "\"tags\":{\"tagKey1\":\"tagValue1\"}}");

	ASSERT_EQ_INT(0, mdc_armjson_subscription(a, j, &s, &err));
	ASSERT_EQ_STR("291bba3f-e0a5-47bc-a099-3bdcb2a50a05", s->id);
	ASSERT_EQ_STR("Example Subscription", s->display_name);
	ASSERT_EQ_STR("Enabled", s->state);
	ASSERT_EQ_STR("tagValue1", mdc_kvlist_get(&s->tags, "tagKey1", false));
	ASSERT_EQ_INT(1, a->nsubs);
	cJSON_Delete(j);
	j = J("{\"displayName\":\"no id\"}");
	ASSERT_EQ_INT(MDC_EINVALID, mdc_armjson_subscription(a, j, &s, &err));
	ASSERT_CONTAINS(err.message, "subscriptionId");
	cJSON_Delete(j);
	mdc_error_clear(&err);
	mdc_actual_free(a);
}

TEST(descendants_both_type_spellings)
{
	struct mdc_descendant d;
	struct mdc_error err = MDC_ERROR_INIT;
	cJSON *g = J("{\"id\":\"/providers/Microsoft.Management/managementGroups/mg-prod\","
	             "\"type\":\"Microsoft.Management/managementGroups\",\"name\":\"mg-prod\","
	             "\"properties\":{\"displayName\":\"Prod\",\"parent\":{\"id\":"
	             "\"/providers/Microsoft.Management/managementGroups/root\"}}}");
	cJSON *s1 =
	    J("{\"id\":\"/subscriptions/20000000-0004-0000-0000-00000000000A\","
	      "\"type\":\"Microsoft.Management/managementGroups/subscriptions\","
	      "\"name\":\"20000000-0004-0000-0000-00000000000A\",\"properties\":{\"parent\":"
	      "{\"id\":\"/providers/Microsoft.Management/managementGroups/mg-prod\"}}}");
	cJSON *s2 =
	    J("{\"id\":\"/subscriptions/20000000-0004-0000-0000-00000000000b\","
	      "\"type\":\"/subscriptions\",\"name\":\"20000000-0004-0000-0000-00000000000b\"}");

	ASSERT_EQ_INT(0, mdc_armjson_descendant(&d, g, &err));
	ASSERT_EQ_INT(MDC_DESC_GROUP, d.kind);
	ASSERT_EQ_STR("mg-prod", d.name);
	ASSERT_EQ_STR("root", d.parent);
	mdc_descendant_clear(&d);
	ASSERT_EQ_INT(0, mdc_armjson_descendant(&d, s1, &err));
	ASSERT_EQ_INT(MDC_DESC_SUBSCRIPTION, d.kind);
	ASSERT_EQ_STR("20000000-0004-0000-0000-00000000000a", d.name);
	ASSERT_EQ_STR("mg-prod", d.parent);
	mdc_descendant_clear(&d);
	ASSERT_EQ_INT(0, mdc_armjson_descendant(&d, s2, &err));
	ASSERT_EQ_INT(MDC_DESC_SUBSCRIPTION, d.kind);
	ASSERT(d.parent == NULL);
	mdc_descendant_clear(&d);
	/* Found by fuzz_json: a subscription type with a short id and no name. */
	cJSON_Delete(s2);
	s2 = J("{\"id\":\"/subscript01\",\"type\":\"/subscriptions\"}");
	ASSERT_EQ_INT(0, mdc_armjson_descendant(&d, s2, &err));
	ASSERT_EQ_STR("subscript01", d.name);
	mdc_descendant_clear(&d);
	cJSON_Delete(g);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

TEST(pricing_with_string_booleans_and_operation_status)
{
	struct mdc_actual *a = mdc_actual_new();
	struct mdc_sub_actual *s = mdc_actual_add_sub(a, "20ff7fc3-e762-44dd-bd96-b71116dcdc23");
	struct mdc_error err = MDC_ERROR_INIT;
	const struct mdc_pricing *p;
	cJSON *j = J(
	    "{\"value\":[{\"id\":\"/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/providers/"
	    "Microsoft.Security/pricings/VirtualMachines\",\"name\":\"VirtualMachines\","
	    "\"type\":\"Microsoft.Security/pricings\",\"properties\":{\"pricingTier\":\"Standard\","
	    "\"subPlan\":\"P2\",\"freeTrialRemainingTime\":\"PT0S\",\"enforce\":\"False\","
	    "\"extensions\":[{\"name\":\"AgentlessVmScanning\",\"isEnabled\":\"True\","
	    "\"additionalExtensionProperties\":{\"ExclusionTags\":\"[]\",\"cap\":5000},"
	    "\"operationStatus\":{\"code\":\"Failed\",\"message\":\"Failed assigning roles\"}},"
	    "{\"name\":\"MdeDesignatedSubscription\",\"isEnabled\":\"false\"}]}},"
	    "{\"name\":\"Dns\",\"properties\":{\"pricingTier\":\"Free\",\"deprecated\":true,"
	    "\"replacedBy\":[\"VirtualMachines\"]}}]}");

	ASSERT_EQ_INT(0, mdc_armjson_pricings(s, j, &err));
	ASSERT(s->pricings_read);
	ASSERT_EQ_INT(2, s->npricings);
	p = mdc_sub_pricing(s, "virtualmachines");
	ASSERT(p != NULL);
	ASSERT_EQ_STR("Standard", p->tier);
	ASSERT_EQ_STR("P2", p->sub_plan);
	ASSERT_EQ_STR("False", p->enforce);
	ASSERT_EQ_INT(2, p->nexts);
	ASSERT(p->exts[0].enabled);
	ASSERT(!p->exts[1].enabled);
	ASSERT_EQ_STR("Failed", p->exts[0].op_code);
	ASSERT_EQ_STR("5000", mdc_kvlist_get(&p->exts[0].properties, "cap", false));
	ASSERT_CONTAINS(p->fingerprint, "sha256:");
	p = mdc_sub_pricing(s, "Dns");
	ASSERT(p->deprecated);
	ASSERT_EQ_STR("VirtualMachines", p->replaced_by.v[0]);
	cJSON_Delete(j);
	mdc_actual_free(a);
}

TEST(sentinel_setting)
{
	struct mdc_actual *a = mdc_actual_new();
	struct mdc_sub_actual *s = mdc_actual_add_sub(a, "20ff7fc3-e762-44dd-bd96-b71116dcdc23");
	struct mdc_error err = MDC_ERROR_INIT;
	cJSON *on = J("{\"name\":\"Sentinel\",\"type\":\"Microsoft.Security/settings\","
	              "\"kind\":\"AlertSyncSettings\",\"properties\":{\"enabled\":true}}");
	cJSON *wrong = J("{\"name\":\"MCAS\",\"kind\":\"DataExportSettings\","
	                 "\"properties\":{\"enabled\":true}}");

	ASSERT_EQ_INT(MDC_UNSET, s->sync_enabled);
	ASSERT_EQ_INT(0, mdc_armjson_sentinel_setting(s, on, &err));
	ASSERT_EQ_INT(MDC_TRUE, s->sync_enabled);
	ASSERT(s->sync_fingerprint != NULL);
	ASSERT_EQ_INT(MDC_EINVALID, mdc_armjson_sentinel_setting(s, wrong, &err));
	cJSON_Delete(on);
	cJSON_Delete(wrong);
	mdc_error_clear(&err);
	mdc_actual_free(a);
}

TEST(provider_and_permissions)
{
	enum mdc_provider_state st = MDC_PROVIDER_UNKNOWN;
	struct mdc_permissions perms = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	cJSON *prov = J("{\"namespace\":\"Microsoft.SecurityInsights\",\"registrationState\":"
	                "\"Registering\"}");
	cJSON *page = J("{\"value\":[{\"actions\":[\"*\"],\"notActions\":["
	                "\"Microsoft.Authorization/*/Delete\",\"Microsoft.Authorization/*/Write\"],"
	                "\"dataActions\":[],\"notDataActions\":[]}],\"nextLink\":null}");

	ASSERT_EQ_INT(0, mdc_armjson_provider(&st, prov, &err));
	ASSERT_EQ_INT(MDC_PROVIDER_REGISTERING, st);
	ASSERT_EQ_INT(0, mdc_armjson_permissions(&perms, page, &err));
	ASSERT(perms.read);
	ASSERT_EQ_INT(1, perms.n);
	ASSERT(mdc_permissions_allow(&perms, "Microsoft.Security/pricings/write"));
	ASSERT(!mdc_permissions_allow(&perms, "Microsoft.Authorization/roleAssignments/write"));
	ASSERT(mdc_armjson_next_link(page) == NULL);
	for (size_t i = 0; i < perms.n; i++) {
		mdc_strvec_clear(&perms.v[i].actions);
		mdc_strvec_clear(&perms.v[i].not_actions);
	}
	free(perms.v);
	cJSON_Delete(prov);
	cJSON_Delete(page);
}

TEST(connectors_rules_packages)
{
	struct mdc_actual *a = mdc_actual_new();
	struct mdc_workspace_actual *w = &a->workspace;
	struct mdc_error err = MDC_ERROR_INIT;
	cJSON *conns = J(
	    "{\"value\":[{\"name\":\"763f9fa1-c2d3-4fa2-93e9-bccd4899aa12\",\"kind\":"
	    "\"AzureSecurityCenter\",\"etag\":\"\\\"0300bf09-0000-0000-0000-5c37296e0000\\\"\","
	    "\"properties\":{\"subscriptionId\":\"C0688291-89D7-4BED-87A2-A7B1BFF43F4C\","
	    "\"dataTypes\":{\"alerts\":{\"state\":\"Enabled\"}}}},{\"name\":\"mtp\",\"kind\":"
	    "\"MicrosoftThreatProtection\",\"properties\":{\"tenantId\":"
	    "\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"dataTypes\":{\"incidents\":{\"state\":"
	    "\"Enabled\"},\"alerts\":{\"state\":\"Enabled\"}}}}],\"nextLink\":\"https://x/next\"}");
	cJSON *rules = J(
	    "{\"value\":[{\"name\":\"5e9d\",\"kind\":\"MicrosoftSecurityIncidentCreation\","
	    "\"etag\":\"\\\"2600\\\"\",\"properties\":{\"productFilter\":\"Azure Security Center\","
	    "\"severitiesFilter\":[\"High\",\"Medium\"],\"displayNamesFilter\":null,"
	    "\"displayNamesExcludeFilter\":[\"Test alert\"],\"displayName\":\"Create incidents\","
	    "\"enabled\":true,\"alertRuleTemplateName\":\"90586451-7ba8-4c1e-9904-7d1b7c3cc4d6\"}}]"
	    "}");
	cJSON *pkgs =
	    J("{\"value\":[{\"name\":\"azuresentinel.azure-sentinel-solution-"
	      "microsoftdefenderforcloud\",\"properties\":{\"contentId\":\"x\","
	      "\"contentProductId\":\"x-sl-abc\",\"contentKind\":\"Solution\",\"version\":"
	      "\"3.0.3\",\"installedVersion\":\"3.0.2\",\"displayName\":\"Microsoft Defender "
	      "for Cloud\"}}]}");

	ASSERT_EQ_INT(0, mdc_armjson_connectors(w, conns, &err));
	ASSERT_EQ_INT(2, w->nconnectors);
	ASSERT_EQ_STR("c0688291-89d7-4bed-87a2-a7b1bff43f4c", w->connectors[0].subscription_id);
	ASSERT_EQ_STR("Enabled", w->connectors[0].alerts_state);
	ASSERT_EQ_STR("\"0300bf09-0000-0000-0000-5c37296e0000\"", w->connectors[0].etag);
	ASSERT_EQ_STR("Enabled", w->connectors[1].incidents_state);
	ASSERT_EQ_STR("https://x/next", mdc_armjson_next_link(conns));
	ASSERT_EQ_INT(0, mdc_armjson_alert_rules(w, rules, &err));
	ASSERT_EQ_INT(1, w->nrules);
	ASSERT_EQ_INT(MDC_SEV_HIGH | MDC_SEV_MEDIUM, w->rules[0].severities);
	ASSERT_EQ_INT(0, w->rules[0].include_names.n);
	ASSERT_EQ_STR("Test alert", w->rules[0].exclude_names.v[0]);
	ASSERT(w->rules[0].enabled);
	ASSERT_EQ_INT(0, mdc_armjson_packages(&w->installed, &w->ninstalled, pkgs, 0, &err));
	ASSERT_EQ_STR("3.0.2", w->installed[0].version);
	ASSERT_EQ_INT(0, mdc_armjson_packages(&w->catalog, &w->ncatalog, pkgs, 1, &err));
	ASSERT_EQ_STR("3.0.3", w->catalog[0].version);
	cJSON_Delete(conns);
	cJSON_Delete(rules);
	cJSON_Delete(pkgs);
	mdc_actual_free(a);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
