/*
 * mdcemu conformance: drives the emulator over HTTPS with plain libcurl requests and
 * checks status codes, bodies and headers against reference/azure-api.md.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "emutest.h"
#include "harness.h"
#include "util.h"

#define TENANT      "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OWNER_OID   "11111111-1111-4111-8111-111111111111"
#define AUDITOR_OID "22222222-2222-4222-8222-222222222222"
#define SOC         "4f7c3d2a-0000-4000-8000-000000000001"
#define SUB1        "0a1b2c3d-0000-4000-8000-000000000001"
#define SUB2        "0a1b2c3d-0000-4000-8000-000000000002"
#define SUB3        "0a1b2c3d-0000-4000-8000-000000000003"
#define SUB4        "0a1b2c3d-0000-4000-8000-000000000004"
#define SUB5        "0a1b2c3d-0000-4000-8000-000000000005"
#define WS                                                                                         \
	"/subscriptions/" SOC                                                                      \
	"/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-soc"
#define SI   WS "/providers/Microsoft.SecurityInsights"
#define V_SI "api-version=2025-09-01"
#define V_PR "api-version=2024-01-01"

static struct emutest emu;
static char *owner, *auditor;
static int started;

static void stop_all(void)
{
	emutest_stop(&emu);
	free(owner);
	free(auditor);
	curl_global_cleanup();
}

static int up(void)
{
	static const char *const args[] = {"--page-size", "2", "--register-polls", "2", NULL};

	if (started)
		return started > 0;
	started = -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(stop_all);
	if (emutest_start(&emu, args) < 0)
		return 0;
	owner =
	    emutest_token(&emu, TENANT, "aaaaaaaa-1111-4111-8111-111111111111", "ci-secret-one");
	auditor = emutest_token(&emu, TENANT, "bbbbbbbb-2222-4222-8222-222222222222",
	                        "auditor-secret-two");
	if (!owner || !auditor)
		return 0;
	started = 1;
	return 1;
}

#define UP() ASSERT(up())

static const char *jstr(const cJSON *o, const char *path)
{
	/* "a.b.c" walk; array index as digits */
	char buf[256], *save = NULL, *tok;
	const cJSON *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(tok))
		                         : cJSON_GetObjectItemCaseSensitive(cur, tok);
	return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL, *tok;
	const cJSON *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(tok))
		                         : cJSON_GetObjectItemCaseSensitive(cur, tok);
	return cur;
}

static long get(const char *path, const char *token, struct emuresp *r)
{
	emutest_req(&emu, "GET", path, token, NULL, NULL, r);
	return r->status;
}

static long put(const char *path, const char *token, const char *body, struct emuresp *r)
{
	emutest_req(&emu, "PUT", path, token, body, NULL, r);
	return r->status;
}

/* --------------------------------------------------------------- process and env file */

TEST(env_file_points_at_the_emulator)
{
	struct mdc_buf b = MDC_BUF_INIT;
	char path[300];

	UP();
	snprintf(path, sizeof(path), "%s/tls/env", emu.dir);
	ASSERT_EQ_INT(0, mdc_buf_read_file(&b, path, 1 << 20));
	ASSERT_CONTAINS(b.ptr, "AZURE_TENANT_ID='" TENANT "'");
	ASSERT_CONTAINS(b.ptr, "AZURE_CLIENT_ID='aaaaaaaa-1111-4111-8111-111111111111'");
	ASSERT_CONTAINS(b.ptr, "AZURE_CLIENT_SECRET='ci-secret-one'");
	ASSERT_CONTAINS(b.ptr, emu.base);
	ASSERT_CONTAINS(b.ptr, "MDCCTL_CA_FILE='/");
	ASSERT_CONTAINS(b.ptr, "IDENTITY_ENDPOINT='https://localhost:");
	ASSERT_CONTAINS(b.ptr, "IDENTITY_HEADER='test-identity-header'");
	mdc_buf_release(&b);
}

TEST(refuses_non_loopback_listen)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int devnull = open("/dev/null", 1);
		dup2(devnull, 2);
		execl(getenv("MDCEMU"), "mdcemu", "--state", getenv("MDCEMU_STATE"), "--listen",
		      "0.0.0.0:0", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	ASSERT(WIFEXITED(status));
	ASSERT(WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 127);
}

/* --------------------------------------------------------------- auth and api-version */

TEST(missing_bearer_is_401_with_www_authenticate)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(401, get("/subscriptions?api-version=2022-12-01", NULL, &r));
	ASSERT(jstr(r.json, "error.code"));
	ASSERT(!strcmp(jstr(r.json, "error.code"), "AuthenticationFailed") ||
	       !strcmp(jstr(r.json, "error.code"), "InvalidAuthenticationToken"));
	ASSERT(emuresp_header(&r, "www-authenticate"));
	ASSERT_CONTAINS(emuresp_header(&r, "www-authenticate"), "Bearer");
	emuresp_free(&r);
	ASSERT_EQ_INT(401, get("/subscriptions?api-version=2022-12-01", "not.a.jwt", &r));
	emuresp_free(&r);
}

TEST(api_version_missing_and_unknown)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(
	    400, get("/subscriptions/" SUB1 "/providers/Microsoft.Security/pricings", owner, &r));
	ASSERT_EQ_STR("MissingApiVersionParameter", jstr(r.json, "error.code"));
	ASSERT_CONTAINS(jstr(r.json, "error.message"), "api-version");
	emuresp_free(&r);
	ASSERT_EQ_INT(400, get("/subscriptions/" SUB1
	                       "/providers/Microsoft.Security/pricings?api-version=2099-01-01",
	                       owner, &r));
	ASSERT_EQ_STR("InvalidApiVersionParameter", jstr(r.json, "error.code"));
	ASSERT_CONTAINS(jstr(r.json, "error.message"), "2099-01-01");
	ASSERT_CONTAINS(jstr(r.json, "error.message"), "2024-01-01");
	emuresp_free(&r);
	/* older versions the SDKs and the CLI send */
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB1
	                       "/providers/Microsoft.Security/pricings?api-version=2022-03-01",
	                       owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB1
	                       "/providers/Microsoft.Security/settings?api-version=2021-07-01",
	                       owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(SI "/dataConnectors?api-version=2022-09-01-preview", owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(SI "/dataConnectors?api-version=2025-10-01-preview", owner, &r));
	emuresp_free(&r);
	/* Microsoft.Resources 2025-04-01: what @azure/arm-resources 7 and Azure.ResourceManager
	 * (package-resources-2025-04) send for providers */
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB1
	                       "/providers/Microsoft.SecurityInsights?api-version=2025-04-01",
	                       owner, &r));
	emuresp_free(&r);
}

TEST(common_headers_on_every_arm_response)
{
	static const char *const hdrs[] = {
	    "x-ms-correlation-request-id: 0f6a5c4e-1111-4222-8333-444455556666",
	    "x-ms-client-request-id: 9e8d7c6b-1111-4222-8333-444455556666", NULL};
	struct emuresp r;

	UP();
	emutest_req(&emu, "GET", "/subscriptions/" SUB1 "?api-version=2022-12-01", owner, NULL,
	            hdrs, &r);
	ASSERT_EQ_INT(200, r.status);
	ASSERT(mdc_is_guid(emuresp_header(&r, "x-ms-request-id")));
	ASSERT_EQ_STR("0f6a5c4e-1111-4222-8333-444455556666",
	              emuresp_header(&r, "x-ms-correlation-request-id"));
	ASSERT_EQ_STR("9e8d7c6b-1111-4222-8333-444455556666",
	              emuresp_header(&r, "x-ms-client-request-id"));
	ASSERT(emuresp_header(&r, "x-ms-routing-request-id"));
	ASSERT(strchr(emuresp_header(&r, "x-ms-routing-request-id"), ':'));
	ASSERT(atoi(emuresp_header(&r, "x-ms-ratelimit-remaining-subscription-reads")) > 0);
	ASSERT(emuresp_header(&r, "x-ms-ratelimit-remaining-subscription-global-reads"));
	ASSERT_EQ_STR("no-cache", emuresp_header(&r, "cache-control"));
	ASSERT_EQ_STR("application/json; charset=utf-8", emuresp_header(&r, "content-type"));
	emuresp_free(&r);
	/* a generated correlation id when the client sends none; headers on errors too */
	ASSERT_EQ_INT(404, get("/subscriptions/ffffffff-0000-4000-8000-000000000000?api-version="
	                       "2022-12-01",
	                       owner, &r));
	ASSERT(mdc_is_guid(emuresp_header(&r, "x-ms-correlation-request-id")));
	ASSERT(mdc_is_guid(emuresp_header(&r, "x-ms-request-id")));
	ASSERT_EQ_STR("SubscriptionNotFound", jstr(r.json, "error.code"));
	emuresp_free(&r);
}

TEST(odd_paths_get_arm_answers)
{
	struct emuresp r;

	UP();
	/* double and trailing slashes name the same resource, with the same RBAC */
	ASSERT_EQ_INT(200, get("//subscriptions//" SUB1
	                       "/providers/Microsoft.Security/pricings/Arm/?" V_PR,
	                       owner, &r));
	ASSERT_EQ_STR("/subscriptions/" SUB1 "/providers/Microsoft.Security/pricings/Arm",
	              jstr(r.json, "id"));
	emuresp_free(&r);
	/* %00 must not cut the name short ("Arm%00x" is not "Arm") */
	ASSERT_EQ_INT(404, get("/subscriptions/" SUB1
	                       "/providers/Microsoft.Security/pricings/Arm%00x?" V_PR,
	                       owner, &r));
	ASSERT(jstr(r.json, "error.code"));
	emuresp_free(&r);
	ASSERT_EQ_INT(400,
	              get("/subscriptions/" SUB1
	                  "/providers/Microsoft.Security/pricings/Arm?api-version=2024-01-01%00x",
	                  owner, &r));
	ASSERT_EQ_STR("InvalidApiVersionParameter", jstr(r.json, "error.code"));
	emuresp_free(&r);
	/* libcurl folds the dot segment; what is left is no route ARM knows */
	get("/subscriptions/" SUB1 "/../%?" V_PR, owner, &r);
	ASSERT(r.status == 400 || r.status == 404);
	ASSERT(jstr(r.json, "error.code"));
	ASSERT(mdc_is_guid(emuresp_header(&r, "x-ms-request-id")));
	emuresp_free(&r);
}

TEST(malformed_and_huge_bodies_get_arm_errors)
{
	size_t n = (64u << 20) + 4096;
	char *big = mdc_xmalloc(n + 1);
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(400,
	              put("/subscriptions/" SUB1 "/providers/Microsoft.Security/settings/Sentinel?"
	                  "api-version=2022-05-01",
	                  owner, "{\"kind\":", &r));
	ASSERT(jstr(r.json, "error.code"));
	emuresp_free(&r);
	/* too large: an ARM error body, not a dropped connection */
	memset(big, 'a', n);
	big[n] = 0;
	put("/subscriptions/" SUB1 "/providers/Microsoft.Security/settings/Sentinel?"
	    "api-version=2022-05-01",
	    owner, big, &r);
	free(big);
	ASSERT_EQ_INT(413, r.status);
	ASSERT(jstr(r.json, "error.code"));
	ASSERT(mdc_is_guid(emuresp_header(&r, "x-ms-request-id")));
	emuresp_free(&r);
	/* and the emulator still answers */
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB1 "?api-version=2022-12-01", owner, &r));
	emuresp_free(&r);
}

/* --------------------------------------------------------------- subscriptions, MGs */

static int count_pages(const char *token, int *pages, char *ids, size_t idslen)
{
	struct emuresp r;
	char *next = mdc_xstrdup("/subscriptions?api-version=2022-12-01");
	int n = 0;

	*pages = 0;
	ids[0] = 0;
	while (next && *pages < 20) {
		const cJSON *v, *link;

		get(next, token, &r);
		free(next);
		next = NULL;
		if (r.status != 200) {
			emuresp_free(&r);
			return -1;
		}
		(*pages)++;
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(r.json, "value"))
		{
			n++;
			snprintf(ids + strlen(ids), idslen - strlen(ids), "%s,",
			         jstr(v, "subscriptionId"));
		}
		link = cJSON_GetObjectItem(r.json, "nextLink");
		if (cJSON_IsString(link))
			next = mdc_xstrdup(link->valuestring);
		emuresp_free(&r);
	}
	free(next);
	return n;
}

TEST(subscriptions_are_paged_with_absolute_next_link)
{
	struct emuresp r;
	char ids[2048];
	int pages;

	UP();
	ASSERT_EQ_INT(200, get("/subscriptions?api-version=2022-12-01", owner, &r));
	ASSERT_EQ_INT(2, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	ASSERT(jstr(r.json, "nextLink"));
	ASSERT(!strncmp(jstr(r.json, "nextLink"), emu.base, strlen(emu.base)));
	ASSERT_CONTAINS(jstr(r.json, "nextLink"), "api-version=2022-12-01");
	ASSERT_CONTAINS(jstr(r.json, "nextLink"), "$skiptoken=");
	ASSERT_EQ_STR("/subscriptions/" SOC, jstr(r.json, "value.0.id"));
	ASSERT_EQ_STR("Enabled", jstr(r.json, "value.0.state"));
	ASSERT_EQ_STR(TENANT, jstr(r.json, "value.0.tenantId"));
	ASSERT_EQ_STR("prod", jstr(r.json, "value.0.tags.env"));
	ASSERT(jstr(r.json, "value.0.subscriptionPolicies.quotaId"));
	emuresp_free(&r);
	ASSERT_EQ_INT(6, count_pages(owner, &pages, ids, sizeof(ids)));
	ASSERT_EQ_INT(3, pages);
	/* the auditor sees the sandbox subscriptions (Reader on mg-sandbox) and Prod-Web */
	ASSERT_EQ_INT(4, count_pages(auditor, &pages, ids, sizeof(ids)));
	ASSERT_CONTAINS(ids, SUB2);
	ASSERT_CONTAINS(ids, SUB5);
	ASSERT_NOT_CONTAINS(ids, SUB1);
	ASSERT_NOT_CONTAINS(ids, SOC);
}

TEST(subscription_get_and_not_found)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB4 "?api-version=2022-12-01", owner, &r));
	ASSERT_EQ_STR("Disabled", jstr(r.json, "state"));
	ASSERT_EQ_STR("Old", jstr(r.json, "displayName"));
	emuresp_free(&r);
	ASSERT_EQ_INT(404, get("/subscriptions/" SUB1 "?api-version=2022-12-01", auditor, &r));
	ASSERT_EQ_STR("SubscriptionNotFound", jstr(r.json, "error.code"));
	emuresp_free(&r);
}

TEST(tenants_list)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(200, get("/tenants?api-version=2022-12-01", owner, &r));
	ASSERT_EQ_STR(TENANT, jstr(r.json, "value.0.tenantId"));
	ASSERT_EQ_STR("/tenants/" TENANT, jstr(r.json, "value.0.id"));
	ASSERT_EQ_STR("Home", jstr(r.json, "value.0.tenantCategory"));
	ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "nextLink")));
	ASSERT(emuresp_header(&r, "x-ms-ratelimit-remaining-tenant-reads"));
	emuresp_free(&r);
}

/* Every page of GET /providers/Microsoft.Management/managementGroups as "|name|..." */
static char *mg_names(const char *token)
{
	char *next = mdc_xstrdup("/providers/Microsoft.Management/managementGroups"
	                         "?api-version=2021-04-01");
	struct mdc_buf all = MDC_BUF_INIT;
	struct emuresp r;

	mdc_buf_adds(&all, "|");
	for (int pages = 0; next && pages < 20; pages++) {
		const cJSON *v, *link;

		if (get(next, token, &r) != 200) {
			emuresp_free(&r);
			break;
		}
		free(next);
		next = NULL;
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(r.json, "value"))
		{
			if (!strcmp(jstr(v, "type"), "Microsoft.Management/managementGroups") &&
			    !strcmp(jstr(v, "properties.tenantId"), TENANT))
				mdc_buf_addf(&all, "%s|", jstr(v, "name"));
		}
		link = cJSON_GetObjectItem(r.json, "nextLink");
		if (cJSON_IsString(link))
			next = mdc_xstrdup(link->valuestring);
		emuresp_free(&r);
	}
	free(next);
	return mdc_buf_detach(&all);
}

TEST(management_groups_list_what_the_caller_may_read)
{
	char *all;

	UP();
	all = mg_names(owner);
	ASSERT_CONTAINS(all, "|" TENANT "|");
	ASSERT_CONTAINS(all, "|mg-prod|");
	ASSERT_CONTAINS(all, "|mg-sandbox|");
	free(all);
	/* a Reader on mg-sandbox sees mg-sandbox, not its parent or its siblings */
	all = mg_names(auditor);
	ASSERT_CONTAINS(all, "|mg-sandbox|");
	ASSERT_NOT_CONTAINS(all, "|mg-prod|");
	ASSERT_NOT_CONTAINS(all, "|" TENANT "|");
	free(all);
}

TEST(management_group_descendants_flat_and_paged)
{
	struct emuresp r;
	char *next = mdc_xstrdup("/providers/Microsoft.Management/managementGroups/" TENANT
	                         "/descendants?api-version=2023-04-01");
	struct mdc_buf all = MDC_BUF_INIT;
	int pages = 0;

	UP();
	while (next && pages < 20) {
		const cJSON *v, *link;

		ASSERT_EQ_INT(200, get(next, owner, &r));
		free(next);
		next = NULL;
		pages++;
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(r.json, "value"))
		{
			mdc_buf_addf(&all, "%s|%s|%s\n", jstr(v, "type"), jstr(v, "name"),
			             jstr(v, "properties.parent.id"));
		}
		link = cJSON_GetObjectItem(r.json, "nextLink");
		if (cJSON_IsString(link))
			next = mdc_xstrdup(link->valuestring);
		emuresp_free(&r);
	}
	ASSERT(pages > 1);
	ASSERT_CONTAINS(all.ptr, "Microsoft.Management/managementGroups|mg-prod-eu|/providers/"
	                         "Microsoft.Management/managementGroups/mg-prod\n");
	ASSERT_CONTAINS(all.ptr, "Microsoft.Management/managementGroups/subscriptions|" SUB2
	                         "|/providers/Microsoft.Management/managementGroups/mg-prod-eu\n");
	ASSERT_NOT_CONTAINS(all.ptr, "|" TENANT "|");
	mdc_buf_release(&all);
	/* a Reader on mg-sandbox cannot read mg-prod */
	ASSERT_EQ_INT(403, get("/providers/Microsoft.Management/managementGroups/mg-prod/"
	                       "descendants?api-version=2023-04-01",
	                       auditor, &r));
	ASSERT_EQ_STR("AuthorizationFailed", jstr(r.json, "error.code"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get("/providers/Microsoft.Management/managementGroups/mg-sandbox/"
	                       "descendants?api-version=2023-04-01",
	                       auditor, &r));
	emuresp_free(&r);
}

TEST(workspaces_list_per_subscription)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(200, get("/subscriptions/" SOC "/providers/Microsoft.OperationalInsights/"
	                       "workspaces?api-version=2023-09-01",
	                       owner, &r));
	ASSERT_EQ_INT(1, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	ASSERT_EQ_STR(WS, jstr(r.json, "value.0.id"));
	ASSERT_EQ_STR("law-soc", jstr(r.json, "value.0.name"));
	ASSERT_EQ_STR("Microsoft.OperationalInsights/workspaces", jstr(r.json, "value.0.type"));
	ASSERT(jstr(r.json, "value.0.location"));
	ASSERT(jstr(r.json, "value.0.properties.customerId"));
	emuresp_free(&r);
	/* a subscription without workspaces: an empty list */
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB1 "/providers/Microsoft.OperationalInsights/"
	                       "workspaces?api-version=2023-09-01",
	                       owner, &r));
	ASSERT_EQ_INT(0, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	emuresp_free(&r);
	/* the auditor (Reader on mg-sandbox) sees the sandbox workspace, not the SOC's */
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB3 "/providers/Microsoft.OperationalInsights/"
	                       "workspaces?api-version=2023-09-01",
	                       auditor, &r));
	ASSERT_EQ_STR("law-sbx", jstr(r.json, "value.0.name"));
	emuresp_free(&r);
	ASSERT(get("/subscriptions/" SOC "/providers/Microsoft.OperationalInsights/"
	           "workspaces?api-version=2023-09-01",
	           auditor, &r) >= 400);
	emuresp_free(&r);
	emutest_req(&emu, "POST",
	            "/subscriptions/" SOC "/providers/Microsoft.OperationalInsights/"
	            "workspaces?api-version=2023-09-01",
	            owner, "{}", NULL, &r);
	ASSERT_EQ_INT(405, r.status);
	emuresp_free(&r);
}

/* --------------------------------------------------------------- pricings */

TEST(pricings_list_has_every_plan_with_string_booleans)
{
	struct emuresp r;
	const cJSON *v;
	int n = 0, dns = 0;

	UP();
	ASSERT_EQ_INT(
	    200,
	    get("/subscriptions/" SUB1 "/providers/Microsoft.Security/pricings?" V_PR, owner, &r));
	ASSERT(!cJSON_GetObjectItem(r.json, "nextLink"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(r.json, "value"))
	{
		n++;
		ASSERT_EQ_STR("Microsoft.Security/pricings", jstr(v, "type"));
		if (!strcmp(jstr(v, "name"), "VirtualMachines")) {
			ASSERT_EQ_STR("/subscriptions/" SUB1
			              "/providers/Microsoft.Security/pricings/VirtualMachines",
			              jstr(v, "id"));
			ASSERT_EQ_STR("Standard", jstr(v, "properties.pricingTier"));
			ASSERT_EQ_STR("P2", jstr(v, "properties.subPlan"));
			ASSERT_EQ_STR("False", jstr(v, "properties.enforce"));
			ASSERT_EQ_STR("AgentlessVmScanning",
			              jstr(v, "properties.extensions.0.name"));
			ASSERT_EQ_STR("True", jstr(v, "properties.extensions.0.isEnabled"));
		} else if (!strcmp(jstr(v, "name"), "Dns")) {
			dns = 1;
			ASSERT(cJSON_IsTrue(jget(v, "properties.deprecated")));
			ASSERT_EQ_STR("VirtualMachines", jstr(v, "properties.replacedBy.0"));
		} else if (!strcmp(jstr(v, "name"), "Arm")) {
			ASSERT_EQ_STR("Free", jstr(v, "properties.pricingTier"));
			ASSERT(!jget(v, "properties.subPlan"));
			ASSERT(!jget(v, "properties.extensions"));
		}
	}
	ASSERT(n >= 16);
	ASSERT(dns);
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB1 "/providers/Microsoft.Security/pricings?" V_PR
	                       "&$filter=name%20in%20(VirtualMachines,Arm)",
	                       owner, &r));
	ASSERT_EQ_INT(2, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	emuresp_free(&r);
}

#define PRICING(sub, plan)                                                                         \
	"/subscriptions/" sub "/providers/Microsoft.Security/pricings/" plan "?" V_PR

TEST(pricing_put_fills_server_fields_and_default_extensions)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(200, put(PRICING(SUB2, "VirtualMachines"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Standard\"}}", &r));
	ASSERT_EQ_STR("VirtualMachines", jstr(r.json, "name"));
	ASSERT_EQ_STR("Standard", jstr(r.json, "properties.pricingTier"));
	ASSERT_EQ_STR("P2", jstr(r.json, "properties.subPlan"));
	ASSERT(jstr(r.json, "properties.enablementTime"));
	ASSERT_EQ_STR("PT0S", jstr(r.json, "properties.freeTrialRemainingTime"));
	ASSERT_EQ_STR("AgentlessVmScanning", jstr(r.json, "properties.extensions.0.name"));
	ASSERT_EQ_STR("True", jstr(r.json, "properties.extensions.0.isEnabled"));
	ASSERT_EQ_STR("Succeeded", jstr(r.json, "properties.extensions.0.operationStatus.code"));
	ASSERT_EQ_STR("MdeDesignatedSubscription", jstr(r.json, "properties.extensions.1.name"));
	ASSERT_EQ_STR("False", jstr(r.json, "properties.extensions.1.isEnabled"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, put(PRICING(SUB2, "KeyVaults"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Standard\",\"subPlan\":"
	                       "\"PerKeyVault\",\"enforce\":\"True\"}}",
	                       &r));
	ASSERT_EQ_STR("PerKeyVault", jstr(r.json, "properties.subPlan"));
	ASSERT_EQ_STR("True", jstr(r.json, "properties.enforce"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(PRICING(SUB2, "KeyVaults"), owner, &r));
	ASSERT_EQ_STR("Standard", jstr(r.json, "properties.pricingTier"));
	emuresp_free(&r);
	/* "off" is PUT Free */
	ASSERT_EQ_INT(200, put(PRICING(SUB2, "KeyVaults"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Free\"}}", &r));
	ASSERT_EQ_STR("Free", jstr(r.json, "properties.pricingTier"));
	emuresp_free(&r);
}

TEST(pricing_put_errors)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(400,
	              put(PRICING(SUB5, "StorageAccounts"), owner,
	                  "{\"properties\":{\"pricingTier\":\"Free\",\"extensions\":[{\"name\":"
	                  "\"OnUploadMalwareScanning\",\"isEnabled\":\"True\"}]}}",
	                  &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(400, put(PRICING(SUB5, "VirtualMachines"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Standard\",\"subPlan\":\"P9\"}}",
	                       &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(500, put(PRICING(SUB5, "VirtualMachines"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Standard\",\"extensions\":[{"
	                       "\"name\":\"AgentlessVmScanning\",\"isEnabled\":\"False\","
	                       "\"additionalExtensionProperties\":{\"ExclusionTags\":\"[]\"}}]}}",
	                       &r));
	ASSERT_CONTAINS(jstr(r.json, "error.message"),
	                "can't be updated while the extension is disabled");
	emuresp_free(&r);
	emutest_req(&emu, "DELETE", PRICING(SUB5, "VirtualMachines"), owner, NULL, NULL, &r);
	ASSERT_EQ_INT(400, r.status);
	emuresp_free(&r);
	/* a disabled subscription is read-only */
	ASSERT_EQ_INT(409, put(PRICING(SUB4, "Arm"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Standard\"}}", &r));
	ASSERT_EQ_STR("ReadOnlyDisabledSubscription", jstr(r.json, "error.code"));
	emuresp_free(&r);
}

TEST(reader_gets_exact_authorization_failed)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(200, get(PRICING(SUB3, "KeyVaults"), auditor, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(403, put(PRICING(SUB3, "KeyVaults"), auditor,
	                       "{\"properties\":{\"pricingTier\":\"Free\"}}", &r));
	ASSERT_EQ_STR("AuthorizationFailed", jstr(r.json, "error.code"));
	ASSERT_EQ_STR("The client '" AUDITOR_OID "' with object id '" AUDITOR_OID
	              "' does not have authorization to perform action "
	              "'Microsoft.Security/pricings/write' over scope '/subscriptions/" SUB3
	              "/providers/Microsoft.Security/pricings/KeyVaults' or the scope is invalid. "
	              "If access was recently granted, please refresh your credentials.",
	              jstr(r.json, "error.message"));
	emuresp_free(&r);
}

struct par {
	const char *url, *body, *token;
	long status;
};

static void *par_put(void *arg)
{
	struct par *p = arg;
	struct emuresp r;

	emutest_req(&emu, "PUT", p->url, p->token, p->body, NULL, &r);
	p->status = r.status;
	emuresp_free(&r);
	return NULL;
}

TEST(overlapping_pricing_writes_get_409)
{
	struct par a = {PRICING(SUB5, "Arm"), "{\"properties\":{\"pricingTier\":\"Standard\"}}",
	                NULL, 0};
	struct par b = {PRICING(SUB5, "KeyVaults"),
	                "{\"properties\":{\"pricingTier\":\"Standard\"}}", NULL, 0};
	pthread_t ta, tb;
	struct emuresp r;

	UP();
	a.token = b.token = owner;
	pthread_create(&ta, NULL, par_put, &a);
	usleep(50 * 1000);
	pthread_create(&tb, NULL, par_put, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ASSERT_EQ_INT(200, a.status);
	ASSERT_EQ_INT(409, b.status);
	/* sequential writes never collide */
	ASSERT_EQ_INT(200, put(PRICING(SUB5, "KeyVaults"), owner,
	                       "{\"properties\":{\"pricingTier\":\"Standard\"}}", &r));
	emuresp_free(&r);
}

/* --------------------------------------------------------------- settings */

#define SETTING(sub)                                                                               \
	"/subscriptions/" sub                                                                      \
	"/providers/Microsoft.Security/settings/Sentinel?api-version=2022-05-01"

TEST(sentinel_setting_defaults_false_and_updates)
{
	struct emuresp r;
	const cJSON *v;
	int found = 0;

	UP();
	ASSERT_EQ_INT(200, get(SETTING(SUB2), owner, &r));
	ASSERT_EQ_STR("Sentinel", jstr(r.json, "name"));
	ASSERT_EQ_STR("AlertSyncSettings", jstr(r.json, "kind"));
	ASSERT_EQ_STR("Microsoft.Security/settings", jstr(r.json, "type"));
	ASSERT(cJSON_IsFalse(jget(r.json, "properties.enabled")));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, put(SETTING(SUB2), owner,
	                       "{\"kind\":\"AlertSyncSettings\",\"properties\":{\"enabled\":true}}",
	                       &r));
	ASSERT(cJSON_IsTrue(jget(r.json, "properties.enabled")));
	ASSERT_EQ_STR("/subscriptions/" SUB2 "/providers/Microsoft.Security/settings/Sentinel",
	              jstr(r.json, "id"));
	emuresp_free(&r);
	ASSERT_EQ_INT(
	    400, put(SETTING(SUB2), owner,
	             "{\"kind\":\"DataExportSettings\",\"properties\":{\"enabled\":true}}", &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get("/subscriptions/" SUB2
	                       "/providers/Microsoft.Security/settings?api-version=2022-05-01",
	                       owner, &r));
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(r.json, "value"))
	{
		if (!strcmp(jstr(v, "name"), "Sentinel")) {
			found = 1;
			ASSERT(cJSON_IsTrue(jget(v, "properties.enabled")));
		}
	}
	ASSERT(found);
	emuresp_free(&r);
}

/* --------------------------------------------------------------- providers */

TEST(provider_register_polls_then_registered)
{
	struct emuresp r;
	const char *p =
	    "/subscriptions/" SUB3 "/providers/Microsoft.SecurityInsights?api-version=2022-12-01";

	UP();
	ASSERT_EQ_INT(200, get(p, owner, &r));
	ASSERT_EQ_STR("NotRegistered", jstr(r.json, "registrationState"));
	ASSERT_EQ_STR("Microsoft.SecurityInsights", jstr(r.json, "namespace"));
	emuresp_free(&r);
	/* Reader cannot register */
	emutest_req(&emu, "POST",
	            "/subscriptions/" SUB3
	            "/providers/Microsoft.SecurityInsights/register?api-version=2022-12-01",
	            auditor, NULL, NULL, &r);
	ASSERT_EQ_INT(403, r.status);
	ASSERT_CONTAINS(jstr(r.json, "error.message"),
	                "Microsoft.SecurityInsights/register/action");
	emuresp_free(&r);
	emutest_req(&emu, "POST",
	            "/subscriptions/" SUB3
	            "/providers/Microsoft.SecurityInsights/register?api-version=2022-12-01",
	            owner, NULL, NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	ASSERT_EQ_STR("Registering", jstr(r.json, "registrationState"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(p, owner, &r));
	ASSERT_EQ_STR("Registering", jstr(r.json, "registrationState"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(p, owner, &r));
	ASSERT_EQ_STR("Registering", jstr(r.json, "registrationState"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(p, owner, &r));
	ASSERT_EQ_STR("Registered", jstr(r.json, "registrationState"));
	emuresp_free(&r);
	/* idempotent */
	emutest_req(&emu, "POST",
	            "/subscriptions/" SUB3
	            "/providers/Microsoft.SecurityInsights/register?api-version=2022-12-01",
	            owner, NULL, NULL, &r);
	ASSERT_EQ_STR("Registered", jstr(r.json, "registrationState"));
	emuresp_free(&r);
	/* put it back for the other tests */
	emutest_req(&emu, "POST", "/_emulator/object", NULL,
	            "{\"path\":\"/subscriptions/" SUB3 "/providers/Microsoft.SecurityInsights\","
	            "\"body\":{\"registrationState\":\"NotRegistered\"}}",
	            NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	emuresp_free(&r);
}

/* --------------------------------------------------------------- permissions */

TEST(permissions_follow_inherited_assignments)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(200,
	              get("/subscriptions/" SUB1
	                  "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
	                  owner, &r));
	ASSERT_EQ_STR("*", jstr(r.json, "value.0.actions.0"));
	ASSERT(cJSON_IsArray(jget(r.json, "value.0.notActions")));
	ASSERT(cJSON_IsArray(jget(r.json, "value.0.dataActions")));
	emuresp_free(&r);
	ASSERT_EQ_INT(200,
	              get("/subscriptions/" SUB3
	                  "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
	                  auditor, &r));
	ASSERT_EQ_STR("*/read", jstr(r.json, "value.0.actions.0"));
	ASSERT_EQ_INT(1, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	emuresp_free(&r);
	ASSERT_EQ_INT(200,
	              get("/subscriptions/" SUB1
	                  "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
	                  auditor, &r));
	ASSERT_EQ_INT(0, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(WS "/providers/Microsoft.Authorization/permissions?api-version="
	                          "2022-04-01",
	                       owner, &r));
	ASSERT_EQ_STR("*", jstr(r.json, "value.0.actions.0"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get("/subscriptions/" SOC "/resourceGroups/rg-soc/providers/"
	                       "Microsoft.Authorization/permissions?api-version=2022-04-01",
	                       owner, &r));
	emuresp_free(&r);
}

/* --------------------------------------------------------------- Sentinel */

#define ASC_BODY(sub, etag)                                                                        \
	"{" etag "\"kind\":\"AzureSecurityCenter\",\"properties\":{\"subscriptionId\":\"" sub      \
	"\",\"dataTypes\":{\"alerts\":{\"state\":\"Enabled\"}}}}"

TEST(data_connectors_crud_with_etags)
{
	struct emuresp r;
	char etag1[64], body[512];

	UP();
	ASSERT_EQ_INT(200, get(SI "/dataConnectors?" V_SI, owner, &r));
	ASSERT_EQ_INT(1, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	ASSERT_EQ_STR("AzureSecurityCenter", jstr(r.json, "value.0.kind"));
	ASSERT_EQ_STR(SI "/dataConnectors/asc-prod-payments", jstr(r.json, "value.0.id"));
	ASSERT_EQ_STR("Microsoft.SecurityInsights/dataConnectors", jstr(r.json, "value.0.type"));
	emuresp_free(&r);
	ASSERT_EQ_INT(404, get(SI "/dataConnectors/nope?" V_SI, owner, &r));
	ASSERT_EQ_STR("NotFound", jstr(r.json, "error.code"));
	emuresp_free(&r);
	/* create */
	ASSERT_EQ_INT(201, put(SI "/dataConnectors/c1?" V_SI, owner, ASC_BODY(SUB1, ""), &r));
	ASSERT(jstr(r.json, "etag"));
	ASSERT(jstr(r.json, "etag")[0] == '"');
	snprintf(etag1, sizeof(etag1), "%s", jstr(r.json, "etag"));
	ASSERT_EQ_STR(SUB1, jstr(r.json, "properties.subscriptionId"));
	emuresp_free(&r);
	/* update without etag: last writer wins, new etag */
	ASSERT_EQ_INT(200, put(SI "/dataConnectors/c1?" V_SI, owner, ASC_BODY(SUB1, ""), &r));
	ASSERT(strcmp(etag1, jstr(r.json, "etag")));
	emuresp_free(&r);
	/* stale etag */
	{
		cJSON *b = cJSON_Parse(ASC_BODY(SUB1, ""));
		char *s;

		cJSON_AddStringToObject(b, "etag", etag1);
		s = cJSON_PrintUnformatted(b);
		snprintf(body, sizeof(body), "%s", s);
		free(s);
		cJSON_Delete(b);
	}
	ASSERT_EQ_INT(409, put(SI "/dataConnectors/c1?" V_SI, owner, body, &r));
	emuresp_free(&r);
	/* current etag works */
	ASSERT_EQ_INT(200, get(SI "/dataConnectors/c1?" V_SI, owner, &r));
	{
		cJSON *b = cJSON_Parse(ASC_BODY(SUB1, ""));
		char *s;

		cJSON_AddStringToObject(b, "etag", jstr(r.json, "etag"));
		s = cJSON_PrintUnformatted(b);
		snprintf(body, sizeof(body), "%s", s);
		free(s);
		cJSON_Delete(b);
	}
	emuresp_free(&r);
	ASSERT_EQ_INT(200, put(SI "/dataConnectors/c1?" V_SI, owner, body, &r));
	emuresp_free(&r);
	emutest_req(&emu, "DELETE", SI "/dataConnectors/c1?" V_SI, owner, NULL, NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	ASSERT(emuresp_header(&r, "x-ms-ratelimit-remaining-subscription-deletes"));
	emuresp_free(&r);
	emutest_req(&emu, "DELETE", SI "/dataConnectors/c1?" V_SI, owner, NULL, NULL, &r);
	ASSERT_EQ_INT(204, r.status);
	emuresp_free(&r);
}

TEST(connector_prerequisites)
{
	struct emuresp r;

	UP();
	/* no Standard plan on the MDC subscription (earlier tests turned some on) */
	emutest_req(&emu, "POST", "/_emulator/object", NULL,
	            "{\"path\":\"/subscriptions/" SUB5 "\",\"body\":{\"pricings\":{}}}", NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	emuresp_free(&r);
	ASSERT_EQ_INT(400, put(SI "/dataConnectors/c2?" V_SI, owner, ASC_BODY(SUB5, ""), &r));
	emuresp_free(&r);
	/* MDC subscription without Microsoft.SecurityInsights registered: exact body */
	ASSERT_EQ_INT(409, put(SI "/dataConnectors/c3?" V_SI, owner, ASC_BODY(SUB3, ""), &r));
	ASSERT_EQ_STR(
	    "{\"error\":{\"code\":\"MissingSubscriptionRegistration\",\"message\":\"The "
	    "subscription is not registered to use namespace "
	    "'Microsoft.SecurityInsights'. See https://aka.ms/rps-not-found for how to "
	    "register subscriptions.\",\"details\":[{\"code\":"
	    "\"MissingSubscriptionRegistration\",\"target\":\"Microsoft.SecurityInsights\","
	    "\"message\":\"The subscription is not registered to use namespace "
	    "'Microsoft.SecurityInsights'. See https://aka.ms/rps-not-found for how to "
	    "register subscriptions.\"}]}}",
	    r.body);
	emuresp_free(&r);
	/* a workspace whose own subscription is not registered */
	ASSERT_EQ_INT(409, get("/subscriptions/" SUB3 "/resourceGroups/rg-sbx/providers/"
	                       "Microsoft.OperationalInsights/workspaces/law-sbx/providers/"
	                       "Microsoft.SecurityInsights/dataConnectors?" V_SI,
	                       owner, &r));
	ASSERT_EQ_STR("MissingSubscriptionRegistration", jstr(r.json, "error.code"));
	emuresp_free(&r);
	/* unknown workspace */
	ASSERT_EQ_INT(404, get("/subscriptions/" SOC "/resourceGroups/rg-soc/providers/"
	                       "Microsoft.OperationalInsights/workspaces/nope/providers/"
	                       "Microsoft.SecurityInsights/dataConnectors?" V_SI,
	                       owner, &r));
	emuresp_free(&r);
}

#define NEWWS                                                                                      \
	"/subscriptions/" SUB5 "/resourceGroups/rg-new/providers/Microsoft.OperationalInsights/"   \
	"workspaces/law-new/providers/Microsoft.SecurityInsights"

TEST(onboarding_state_gates_sentinel_calls)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(400, get(NEWWS "/alertRules?" V_SI, owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(404, get(NEWWS "/onboardingStates/default?" V_SI, owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(201, put(NEWWS "/onboardingStates/default?" V_SI, owner,
	                       "{\"properties\":{\"customerManagedKey\":false}}", &r));
	ASSERT_EQ_STR("Microsoft.SecurityInsights/onboardingStates", jstr(r.json, "type"));
	ASSERT_EQ_STR("default", jstr(r.json, "name"));
	ASSERT(cJSON_IsFalse(jget(r.json, "properties.customerManagedKey")));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(NEWWS "/onboardingStates/default?" V_SI, owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(NEWWS "/alertRules?" V_SI, owner, &r));
	emuresp_free(&r);
}

TEST(incident_rule_create_and_validation)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(201, put(SI "/alertRules/r1?" V_SI, owner,
	                       "{\"kind\":\"MicrosoftSecurityIncidentCreation\",\"properties\":{"
	                       "\"displayName\":\"MDC\",\"enabled\":true,\"productFilter\":\"Azure "
	                       "Security Center\",\"severitiesFilter\":[\"High\",\"Medium\"]}}",
	                       &r));
	ASSERT_EQ_STR("Microsoft.SecurityInsights/alertRules", jstr(r.json, "type"));
	ASSERT(cJSON_IsNull(jget(r.json, "properties.displayNamesFilter")));
	ASSERT(cJSON_IsNull(jget(r.json, "properties.displayNamesExcludeFilter")));
	ASSERT(jstr(r.json, "properties.lastModifiedUtc"));
	ASSERT(jstr(r.json, "etag"));
	emuresp_free(&r);
	ASSERT_EQ_INT(400, put(SI "/alertRules/r2?" V_SI, owner,
	                       "{\"kind\":\"MicrosoftSecurityIncidentCreation\",\"properties\":{"
	                       "\"displayName\":\"x\",\"enabled\":true,\"productFilter\":"
	                       "\"Microsoft Defender for Cloud\"}}",
	                       &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(400, put(SI "/alertRules/r1?" V_SI, owner,
	                       "{\"kind\":\"Fusion\",\"properties\":{\"enabled\":true}}", &r));
	emuresp_free(&r);
}

TEST(token_of_another_tenant_is_401_invalid_authentication_token_tenant)
{
	struct emuresp r;

	UP();
	emutest_req(&emu, "POST", "/_emulator/object", NULL,
	            "{\"path\":\"/subscriptions/" SUB4
	            "\",\"body\":{\"tenantId\":\"33e40745-8982-4a7c-a955-13d954023ced\"}}",
	            NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	emuresp_free(&r);
	ASSERT_EQ_INT(401, get(PRICING(SUB4, "Arm"), owner, &r));
	ASSERT_EQ_STR("InvalidAuthenticationTokenTenant", jstr(r.json, "error.code"));
	ASSERT_CONTAINS(jstr(r.json, "error.message"), "33e40745-8982-4a7c-a955-13d954023ced");
	ASSERT_CONTAINS(emuresp_header(&r, "www-authenticate"), "invalid_token");
	ASSERT(mdc_is_guid(emuresp_header(&r, "x-ms-request-id")));
	emuresp_free(&r);
	emutest_req(&emu, "POST", "/_emulator/object", NULL,
	            "{\"path\":\"/subscriptions/" SUB4 "\",\"body\":{\"tenantId\":\"" TENANT "\"}}",
	            NULL, &r);
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(PRICING(SUB4, "Arm"), owner, &r));
	emuresp_free(&r);
}

TEST(content_hub_catalog_and_install)
{
	struct emuresp r;

	UP();
	ASSERT_EQ_INT(
	    200, get(SI "/contentProductPackages/"
	                "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud?" V_SI,
	             owner, &r));
	ASSERT_EQ_STR("3.0.3", jstr(r.json, "properties.version"));
	emuresp_free(&r);
	ASSERT_EQ_INT(
	    404, get(SI "/contentPackages/"
	                "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud?" V_SI,
	             owner, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(400, put(SI "/contentPackages/x?" V_SI, owner,
	                       "{\"properties\":{\"contentId\":\"x\"}}", &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(
	    201, put(SI "/contentPackages/"
	                "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud?" V_SI,
	             owner,
	             "{\"properties\":{\"contentId\":\"azuresentinel.azure-sentinel-"
	             "solution-microsoftdefenderforcloud\",\"contentProductId\":\"p\","
	             "\"contentKind\":\"Solution\",\"version\":\"3.0.3\",\"displayName\":"
	             "\"Microsoft Defender for Cloud\"}}",
	             &r));
	ASSERT_EQ_STR("3.0.3", jstr(r.json, "properties.installedVersion"));
	emuresp_free(&r);
	/* §8.2: the catalog item shows installedVersion once installed */
	ASSERT_EQ_INT(
	    200, get(SI "/contentProductPackages/"
	                "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud?" V_SI,
	             owner, &r));
	ASSERT_EQ_STR("3.0.3", jstr(r.json, "properties.installedVersion"));
	ASSERT_EQ_STR("3.0.3", jstr(r.json, "properties.version"));
	emuresp_free(&r);
}

TEST(managed_identity_token_and_scoped_role)
{
	static const char *const hdr[] = {"X-IDENTITY-HEADER: test-identity-header", NULL};
	struct emuresp r;
	char *tok;

	UP();
	emutest_req(&emu, "GET",
	            "/msi/token?api-version=2019-08-01&resource=https://management.azure.com", NULL,
	            NULL, hdr, &r);
	ASSERT_EQ_INT(200, r.status);
	ASSERT(jstr(r.json, "access_token"));
	tok = mdc_xstrdup(jstr(r.json, "access_token"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(SI "/dataConnectors?" V_SI, tok, &r));
	emuresp_free(&r);
	ASSERT_EQ_INT(403, get(PRICING(SUB1, "VirtualMachines"), tok, &r));
	emuresp_free(&r);
	free(tok);
}

/* --------------------------------------------------------------- admin, throttle, faults */

TEST(out_of_band_edit_makes_client_etag_stale)
{
	struct emuresp r;
	char etag[64], body[512];

	UP();
	ASSERT_EQ_INT(200, get(SI "/dataConnectors/asc-prod-payments?" V_SI, owner, &r));
	snprintf(etag, sizeof(etag), "%s", jstr(r.json, "etag"));
	emuresp_free(&r);
	emutest_req(&emu, "POST", "/_emulator/object", NULL,
	            "{\"path\":\"" SI "/dataConnectors/asc-prod-payments\",\"body\":{\"kind\":"
	            "\"AzureSecurityCenter\",\"properties\":{\"subscriptionId\":\"" SUB1
	            "\",\"dataTypes\":{\"alerts\":{\"state\":\"Disabled\"}}}}}",
	            NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(SI "/dataConnectors/asc-prod-payments?" V_SI, owner, &r));
	ASSERT_EQ_STR("Disabled", jstr(r.json, "properties.dataTypes.alerts.state"));
	ASSERT(strcmp(etag, jstr(r.json, "etag")));
	emuresp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"etag\":\"%s\",\"kind\":\"AzureSecurityCenter\",\"properties\":{"
	         "\"subscriptionId\":\"" SUB1 "\",\"dataTypes\":{\"alerts\":{\"state\":"
	         "\"Enabled\"}}}}",
	         "\\\"0300bf09-0000-0000-0000-5c37296e0000\\\"");
	ASSERT_EQ_INT(409, put(SI "/dataConnectors/asc-prod-payments?" V_SI, owner, body, &r));
	emuresp_free(&r);
}

TEST(tight_bucket_answers_429_with_retry_after)
{
	struct emuresp r;
	int got429 = 0;

	UP();
	emutest_req(&emu, "POST", "/_emulator/throttle", NULL,
	            "{\"reads\":{\"burst\":3,\"perSecond\":0.5}}", NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	emuresp_free(&r);
	for (int i = 0; i < 5 && !got429; i++) {
		get(PRICING(SUB2, "Arm"), owner, &r);
		if (r.status == 429) {
			got429 = 1;
			ASSERT(i == 3);
			ASSERT(atoi(emuresp_header(&r, "retry-after")) >= 1);
			ASSERT_EQ_STR("TooManyRequests", jstr(r.json, "error.code"));
			ASSERT_CONTAINS(jstr(r.json, "error.message"),
			                "The request is being throttled as the limit has been "
			                "reached for operation type");
		} else {
			ASSERT_EQ_INT(200, r.status);
			ASSERT_EQ_INT(2 - i,
			              atoi(emuresp_header(
			                  &r, "x-ms-ratelimit-remaining-subscription-reads")));
		}
		emuresp_free(&r);
	}
	ASSERT(got429);
	/* another subscription has its own bucket */
	ASSERT_EQ_INT(200, get(PRICING(SUB1, "Arm"), owner, &r));
	emuresp_free(&r);
	emutest_req(&emu, "POST", "/_emulator/throttle", NULL,
	            "{\"reads\":{\"burst\":250,\"perSecond\":25}}", NULL, &r);
	emuresp_free(&r);
}

TEST(targeted_faults_fire_count_times)
{
	struct emuresp r;

	UP();
	emutest_req(&emu, "POST", "/_emulator/faults", NULL,
	            "{\"path\":\"/subscriptions/" SUB2 "/providers/Microsoft.Security/settings\","
	            "\"method\":\"GET\",\"status\":503,\"count\":1}",
	            NULL, &r);
	emuresp_free(&r);
	ASSERT_EQ_INT(503, get(SETTING(SUB2), owner, &r));
	ASSERT(emuresp_header(&r, "retry-after"));
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(SETTING(SUB2), owner, &r));
	emuresp_free(&r);
	emutest_req(&emu, "POST", "/_emulator/faults", NULL,
	            "{\"pathRegex\":\"/settings/Sentinel$\",\"status\":\"reset\",\"count\":1}",
	            NULL, &r);
	emuresp_free(&r);
	get(SETTING(SUB2), owner, &r);
	ASSERT(r.curl_error != 0);
	ASSERT_EQ_INT(0, r.status);
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get(SETTING(SUB2), owner, &r));
	emuresp_free(&r);
	/* an injected 429 names the operation type as ARM's throttling does */
	emutest_req(&emu, "POST", "/_emulator/faults", NULL,
	            "{\"pathRegex\":\"/settings/Sentinel$\",\"status\":429,\"count\":2}", NULL, &r);
	emuresp_free(&r);
	ASSERT_EQ_INT(429, get(SETTING(SUB2), owner, &r));
	ASSERT_CONTAINS(r.body, "operation type - 'Read'");
	emuresp_free(&r);
	ASSERT_EQ_INT(429, put(SETTING(SUB2), owner,
	                       "{\"kind\":\"AlertSyncSettings\",\"properties\":{\"enabled\":true}}",
	                       &r));
	ASSERT_CONTAINS(r.body, "operation type - 'Write'");
	emuresp_free(&r);
}

TEST(request_log_records_principal_and_status)
{
	struct emuresp r;
	const cJSON *e;
	int seen = 0;

	UP();
	emutest_req(&emu, "POST", "/_emulator/reset", NULL, NULL, NULL, &r);
	emuresp_free(&r);
	get(PRICING(SUB1, "VirtualMachines"), owner, &r);
	emuresp_free(&r);
	get(PRICING(SUB1, "VirtualMachines"), NULL, &r);
	emuresp_free(&r);
	ASSERT_EQ_INT(200, get("/_emulator/requests", NULL, &r));
	ASSERT_EQ_INT(2, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "value")));
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "value"))
	{
		ASSERT_EQ_STR("GET", jstr(e, "method"));
		ASSERT_EQ_STR("/subscriptions/" SUB1
		              "/providers/Microsoft.Security/pricings/VirtualMachines",
		              jstr(e, "path"));
		ASSERT_EQ_STR(V_PR, jstr(e, "query"));
		if (cJSON_GetObjectItem(e, "status")->valueint == 200) {
			ASSERT_EQ_STR(OWNER_OID, jstr(e, "principal"));
			seen++;
		} else {
			ASSERT_EQ_INT(401, cJSON_GetObjectItem(e, "status")->valueint);
			seen++;
		}
		ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(e, "durationMs")));
	}
	ASSERT_EQ_INT(2, seen);
	emuresp_free(&r);
}

/* ------------------------------------------------------------------- ARM batch (§9.5) */

#define BATCH       "/batch?api-version=2020-06-01"
#define PRICINGS(s) "/subscriptions/" s "/providers/Microsoft.Security/pricings?" V_PR
#define SETTINGS(s)                                                                                \
	"/subscriptions/" s "/providers/Microsoft.Security/settings?api-version=2022-05-01"

static void add_get(cJSON *doc, const char *name, const char *url)
{
	cJSON *reqs = cJSON_GetObjectItem(doc, "requests"), *item = cJSON_CreateObject();

	if (!reqs)
		reqs = cJSON_AddArrayToObject(doc, "requests");
	cJSON_AddStringToObject(item, "httpMethod", "GET");
	cJSON_AddStringToObject(item, "name", name);
	cJSON_AddStringToObject(item, "url", url);
	cJSON_AddItemToArray(reqs, item);
}

/* POSTs doc (and frees it) as a batch. */
static long post_batch(const char *path, const char *token, cJSON *doc, struct emuresp *r)
{
	char *body = cJSON_PrintUnformatted(doc);

	emutest_req(&emu, "POST", path, token, body, NULL, r);
	free(body);
	cJSON_Delete(doc);
	return r->status;
}

TEST(batch_sub_responses_equal_standalone_requests)
{
	static const char *const urls[] = {PRICINGS(SUB1), PRICINGS(SUB2), SETTINGS(SUB1),
	                                   SETTINGS(SUB2)};
	static const char *const names[] = {"p1", "p2", "s1", "s2"};
	cJSON *doc = cJSON_CreateObject();
	struct emuresp b, r, log;
	const cJSON *e;

	UP();
	emutest_req(&emu, "POST", "/_emulator/reset", NULL, NULL, NULL, &r);
	emuresp_free(&r);
	for (int i = 0; i < 4; i++)
		add_get(doc, names[i], urls[i]);
	ASSERT_EQ_INT(200, post_batch(BATCH, owner, doc, &b));
	ASSERT_EQ_INT(4, cJSON_GetArraySize(cJSON_GetObjectItem(b.json, "responses")));

	/* the log: each sub-request as a standalone one, in order, then the batch POST */
	ASSERT_EQ_INT(200, get("/_emulator/requests", NULL, &log));
	ASSERT_EQ_INT(5, cJSON_GetObjectItem(log.json, "count")->valueint);
	for (int i = 0; i < 4; i++) {
		char want[256];

		e = cJSON_GetArrayItem(cJSON_GetObjectItem(log.json, "value"), i);
		snprintf(want, sizeof(want), "%s", urls[i]);
		*strchr(want, '?') = '\0';
		ASSERT_EQ_STR("GET", jstr(e, "method"));
		ASSERT_EQ_STR(want, jstr(e, "path"));
		ASSERT_EQ_STR(strchr(urls[i], '?') + 1, jstr(e, "query"));
		ASSERT_EQ_STR(OWNER_OID, jstr(e, "principal"));
		ASSERT_EQ_INT(200, cJSON_GetObjectItem(e, "status")->valueint);
	}
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(log.json, "value"), 4);
	ASSERT_EQ_STR("POST", jstr(e, "method"));
	ASSERT_EQ_STR("/batch", jstr(e, "path"));
	emuresp_free(&log);

	for (int i = 0; i < 4; i++) {
		const cJSON *sr = cJSON_GetArrayItem(cJSON_GetObjectItem(b.json, "responses"), i);

		ASSERT_EQ_INT(200, get(urls[i], owner, &r));
		ASSERT_EQ_STR(names[i], jstr(sr, "name"));
		ASSERT_EQ_INT(r.status, cJSON_GetObjectItem(sr, "httpStatusCode")->valueint);
		ASSERT(cJSON_Compare(r.json, cJSON_GetObjectItem(sr, "content"), true));
		ASSERT_EQ_INT(strlen(r.body), cJSON_GetObjectItem(sr, "contentLength")->valueint);
		ASSERT(jstr(sr, "headers.x-ms-request-id"));
		ASSERT(jstr(sr, "headers.x-ms-ratelimit-remaining-subscription-reads"));
		ASSERT_EQ_STR("application/json; charset=utf-8", jstr(sr, "headers.Content-Type"));
		emuresp_free(&r);
	}
	emuresp_free(&b);
}

TEST(batch_sub_request_without_role_is_its_own_403)
{
	cJSON *doc = cJSON_CreateObject();
	struct emuresp b;

	UP();
	add_get(doc, "denied", PRICING(SUB1, "VirtualMachines"));
	add_get(doc, "allowed", PRICING(SUB3, "KeyVaults"));
	ASSERT_EQ_INT(200, post_batch(BATCH, auditor, doc, &b));
	ASSERT_EQ_STR("denied", jstr(b.json, "responses.0.name"));
	ASSERT_EQ_INT(403, jget(b.json, "responses.0.httpStatusCode")->valueint);
	ASSERT_EQ_STR("AuthorizationFailed", jstr(b.json, "responses.0.content.error.code"));
	ASSERT_CONTAINS(jstr(b.json, "responses.0.content.error.message"),
	                "'Microsoft.Security/pricings/read' over scope '/subscriptions/" SUB1);
	ASSERT_EQ_STR("gateway", jstr(b.json, "responses.0.headers.x-ms-failure-cause"));
	ASSERT_EQ_INT(200, jget(b.json, "responses.1.httpStatusCode")->valueint);
	ASSERT_EQ_STR("KeyVaults", jstr(b.json, "responses.1.content.name"));
	emuresp_free(&b);
}

TEST(batch_limits_and_bad_requests)
{
	cJSON *doc = cJSON_CreateObject();
	struct emuresp b;
	char other[128], abs[256];

	UP();
	for (int i = 0; i < 21; i++)
		add_get(doc, "n", PRICINGS(SUB1));
	ASSERT_EQ_INT(400, post_batch(BATCH, owner, doc, &b));
	ASSERT_EQ_STR("BadRequest", jstr(b.json, "error.code"));
	ASSERT_CONTAINS(jstr(b.json, "error.message"), "at most 20 requests");
	emuresp_free(&b);

	emutest_req(&emu, "POST", BATCH, owner, "{\"requests\":[{\"url\":1}]}", NULL, &b);
	ASSERT_EQ_INT(400, b.status);
	ASSERT_EQ_STR("InvalidRequestContent", jstr(b.json, "error.code"));
	emuresp_free(&b);
	ASSERT_EQ_INT(400, post_batch("/batch?api-version=2015-01-01", owner,
	                              cJSON_Parse("{\"requests\":[]}"), &b));
	ASSERT_EQ_STR("InvalidApiVersionParameter", jstr(b.json, "error.code"));
	emuresp_free(&b);
	ASSERT_EQ_INT(401, post_batch(BATCH, NULL, cJSON_Parse("{\"requests\":[]}"), &b));
	ASSERT(emuresp_header(&b, "www-authenticate"));
	emuresp_free(&b);

	/* per sub-request: a wrong api-version, an absolute url on this host, another host */
	snprintf(abs, sizeof(abs), "%s%s", emu.base, PRICINGS(SUB2));
	snprintf(other, sizeof(other), "https://management.azure.com%s", "/subscriptions");
	doc = cJSON_CreateObject();
	add_get(doc, "badver",
	        "/subscriptions/" SUB1
	        "/providers/Microsoft.Security/pricings?api-version=2099-01-01");
	add_get(doc, "abs", abs);
	add_get(doc, "other", other);
	ASSERT_EQ_INT(200, post_batch(BATCH, owner, doc, &b));
	ASSERT_EQ_INT(400, jget(b.json, "responses.0.httpStatusCode")->valueint);
	ASSERT_EQ_STR("InvalidApiVersionParameter", jstr(b.json, "responses.0.content.error.code"));
	ASSERT_EQ_INT(200, jget(b.json, "responses.1.httpStatusCode")->valueint);
	ASSERT(cJSON_IsArray(jget(b.json, "responses.1.content.value")));
	ASSERT_EQ_INT(400, jget(b.json, "responses.2.httpStatusCode")->valueint);
	ASSERT_EQ_STR("BadRequest", jstr(b.json, "responses.2.content.error.code"));
	ASSERT(jstr(b.json, "responses.2.headers.x-ms-request-id"));
	emuresp_free(&b);
}

TEST(admin_state_and_save)
{
	struct emuresp r;
	struct mdc_buf b = MDC_BUF_INIT;
	char path[300], body[400];

	UP();
	ASSERT_EQ_INT(200, get("/_emulator/state", NULL, &r));
	ASSERT_EQ_STR(TENANT, jstr(r.json, "tenantId"));
	ASSERT(cJSON_IsArray(cJSON_GetObjectItem(r.json, "roleDefinitions")));
	emuresp_free(&r);
	snprintf(path, sizeof(path), "%s/saved.json", emu.dir);
	snprintf(body, sizeof(body), "{\"path\":\"%s\"}", path);
	emutest_req(&emu, "POST", "/_emulator/save", NULL, body, NULL, &r);
	ASSERT_EQ_INT(200, r.status);
	emuresp_free(&r);
	ASSERT_EQ_INT(0, mdc_buf_read_file(&b, path, 16 << 20));
	ASSERT_CONTAINS(b.ptr, "\"tenantId\"");
	mdc_buf_release(&b);
}

/* --------------------------------------------------------------- latency, generator */

struct lat {
	struct emutest *t;
	long status;
};

static void *lat_get(void *arg)
{
	struct lat *l = arg;
	struct emuresp r;

	emutest_req(l->t, "GET", "/_emulator/health", NULL, NULL, NULL, &r);
	emuresp_free(&r);
	emutest_req(l->t, "GET", "/tenants?api-version=2022-12-01", NULL, NULL, NULL, &r);
	l->status = r.status;
	emuresp_free(&r);
	return NULL;
}

TEST(latency_is_served_concurrently)
{
	static const char *const args[] = {"--latency-ms", "400", NULL};
	struct emutest t;
	pthread_t th[64];
	struct lat l[64];
	struct timespec a, b;
	double secs;

	ASSERT(up());
	ASSERT_EQ_INT(0, emutest_start(&t, args));
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 64; i++) {
		l[i] = (struct lat){&t, 0};
		pthread_create(&th[i], NULL, lat_get, &l[i]);
	}
	for (int i = 0; i < 64; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ASSERT_EQ_INT(0, emutest_stop(&t));
	for (int i = 0; i < 64; i++)
		ASSERT_EQ_INT(401, l[i].status); /* no token: but only after the latency */
	ASSERT(secs >= 0.4);
	ASSERT(secs < 8.0); /* serialised it would take 25.6 s */
}

TEST(generate_is_deterministic)
{
	char cmd[1024];
	struct mdc_buf a = MDC_BUF_INIT, b = MDC_BUF_INIT;
	cJSON *doc;

	snprintf(cmd, sizeof(cmd),
	         "'%s' --generate 40 --seed 7 -o /tmp/mdcemu-gen-a.$PPID.json && '%s' --generate "
	         "40 --seed 7 -o /tmp/mdcemu-gen-b.$PPID.json",
	         getenv("MDCEMU"), getenv("MDCEMU"));
	ASSERT_EQ_INT(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "/tmp/mdcemu-gen-a.%d.json", (int)getpid());
	ASSERT_EQ_INT(0, mdc_buf_read_file(&a, cmd, 64 << 20));
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "/tmp/mdcemu-gen-b.%d.json", (int)getpid());
	ASSERT_EQ_INT(0, mdc_buf_read_file(&b, cmd, 64 << 20));
	unlink(cmd);
	ASSERT(a.len > 1000 && a.len == b.len && !memcmp(a.ptr, b.ptr, a.len));
	doc = cJSON_Parse(a.ptr);
	ASSERT_EQ_INT(40, cJSON_GetArraySize(cJSON_GetObjectItem(doc, "subscriptions")));
	ASSERT_CONTAINS(a.ptr, "NotRegistered");
	ASSERT_CONTAINS(a.ptr, "\"Standard\"");
	ASSERT_CONTAINS(a.ptr, "AzureSecurityCenter");
	ASSERT_CONTAINS(a.ptr, "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud");
	cJSON_Delete(doc);
	mdc_buf_release(&a);
	mdc_buf_release(&b);
}

TEST(random_faults_cover_every_kind)
{
	static const char *const args[] = {"--fault-rate", "1", "--seed", "42", NULL};
	struct emutest t;
	struct emuresp r;
	int seen[5] = {0}; /* 429, 500, 503, reset, slow (then 401: no token) */

	ASSERT(up());
	ASSERT_EQ_INT(0, emutest_start(&t, args));
	for (int i = 0; i < 30; i++) {
		emutest_req(&t, "GET", "/tenants?api-version=2022-12-01", NULL, NULL, NULL, &r);
		if (r.status == 429) {
			seen[0]++;
			if (!emuresp_header(&r, "retry-after"))
				seen[0] = -100;
		} else if (r.status == 500) {
			seen[1]++;
		} else if (r.status == 503) {
			seen[2]++;
		} else if (r.status == 0) {
			seen[3]++;
		} else if (r.status == 401) {
			seen[4]++;
		} else {
			seen[0] = -100;
		}
		emuresp_free(&r);
	}
	ASSERT_EQ_INT(0, emutest_stop(&t));
	for (int i = 0; i < 5; i++)
		ASSERT(seen[i] > 0);
}

/* Last: SIGTERM saves nothing unasked and exits 0 (under ASan: without a leak report). */
TEST(sigterm_exits_cleanly)
{
	UP();
	ASSERT_EQ_INT(0, emutest_stop(&emu));
	started = 0;
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
