/*
 * The observer against mdcemu: selectors resolve as documented, management-group ancestry,
 * notes for what cannot be managed, one bad subscription isolated, faults retried to a
 * complete read, and no request issued twice.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "emutest.h"
#include "arm.h"
#include "auth.h"
#include "config.h"
#include "observe.h"

#define TENANT   "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define PAYMENTS "0a1b2c3d-0000-4000-8000-000000000001"
#define WEB_EU   "0a1b2c3d-0000-4000-8000-000000000002"
#define RED      "0a1b2c3d-0000-4000-8000-000000000003"
#define BLUE     "0a1b2c3d-0000-4000-8000-000000000004"
#define OLD      "0a1b2c3d-0000-4000-8000-000000000005"
#define GUEST    "0a1b2c3d-0000-4000-8000-000000000006"

static const char *fake_env(void *ctx, const char *name)
{
	struct emutest *t = ctx;

	if (!strcmp(name, "AZURE_TENANT_ID"))
		return TENANT;
	if (!strcmp(name, "AZURE_CLIENT_ID"))
		return "aaaaaaaa-1111-4111-8111-111111111111";
	if (!strcmp(name, "AZURE_CLIENT_SECRET"))
		return "observe-test-secret";
	if (!strcmp(name, "AZURE_AUTHORITY_HOST"))
		return t->base;
	return NULL;
}

struct rig {
	struct emutest emu;
	struct mdc_auth *auth;
	struct mdc_arm *arm;
	struct mdc_config *cfg;
	struct mdc_actual *act;
};

/* An ASSERT returns early: the emulator of a failed test is stopped at exit, so that it
 * does not hold ctest's output pipe open. */
static struct emutest live[8]; /* copies of the running emulators, pid 0 when stopped */

static void stop_live(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i].pid > 0)
			emutest_stop(&live[i]);
}

/* Rigs read through ARM /batch when MDC_TEST_BATCH=1 (ctest runs the suite both ways). */
static bool rig_batch;

static int rig_start(struct rig *r, const char *const *emu_args, const char *yaml)
{
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_diags diags = {0};
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (emutest_start(&r->emu, emu_args) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i].pid <= 0) {
			live[i] = r->emu;
			break;
		}
	if (mdc_auth_new(&r->auth,
	                 &(struct mdc_auth_opts){.arm_endpoint = r->emu.base,
	                                         .ca_file = r->emu.ca,
	                                         .getenv = fake_env,
	                                         .getenv_ctx = &r->emu},
	                 &err) < 0)
		goto out;
	if (mdc_arm_new(&r->arm,
	                &(struct mdc_arm_opts){.endpoint = r->emu.base,
	                                       .http = {.ca_file = r->emu.ca,
	                                                .parallelism = 8,
	                                                .backoff_base_ms = 50,
	                                                .backoff_cap_ms = 400},
	                                       .authorize = mdc_auth_authorize,
	                                       .authorize_ctx = r->auth,
	                                       .read_only = true,
	                                       .batch = rig_batch},
	                &err) < 0)
		goto out;
	if (mdc_config_parse(&r->cfg, yaml, strlen(yaml), "test.yaml", &diags) < 0) {
		for (size_t i = 0; i < diags.n; i++)
			fprintf(stderr, "%u:%u: %s\n", diags.v[i].pos.line, diags.v[i].pos.col,
			        diags.v[i].message);
		goto out;
	}
	rc = 0;
out:
	if (err.message)
		fprintf(stderr, "rig: %s\n", err.message);
	mdc_error_clear(&err);
	mdc_diags_clear(&diags);
	return rc;
}

static void rig_stop(struct rig *r)
{
	mdc_actual_free(r->act);
	mdc_config_free(r->cfg);
	mdc_arm_free(r->arm);
	mdc_auth_free(r->auth);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i].pid == r->emu.pid)
			live[i].pid = 0;
	emutest_stop(&r->emu);
}

static struct mdc_sub_actual *sub(struct mdc_actual *a, const char *id)
{
	return (struct mdc_sub_actual *)mdc_actual_find_sub(a, id);
}

static bool has_note(const struct mdc_actual *a, const char *needle)
{
	for (size_t i = 0; i < a->nnotes; i++)
		if (strstr(a->notes[i].message, needle))
			return true;
	return false;
}

static const char base_yaml[] =
    "apiVersion: mdcctl/v1\n"
    "tenant: " TENANT "\n"
    "workspace: {subscription: 4f7c3d2a-0000-4000-8000-000000000001, resourceGroup: rg-soc, "
    "name: law-soc}\n"
    "subscriptions:\n"
    "  select:\n"
    "    - managementGroup: mg-prod\n"
    "    - tag: {team: red}\n"
    "    - id: " OLD "\n"
    "    - id: " GUEST "\n"
    "    - id: 0a1b2c3d-0000-4000-8000-0000000000ff\n"
    "  exclude:\n"
    "    - id: " BLUE "\n"
    "  defaults:\n"
    "    connected: true\n"
    "    plans: {VirtualMachines: Standard}\n";

TEST(selectors_ancestry_and_details)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_sub_actual *s;

	ASSERT(rig_start(&r, NULL, base_yaml) == 0);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	/* Every visible subscription of the tenant is present; the guest tenant's is not. */
	ASSERT_EQ_INT(6, r.act->nsubs);
	ASSERT(sub(r.act, GUEST) == NULL);
	/* Below mg-prod-eu, below mg-prod: ancestry nearest first, known up to the groups
	 * the config names (their descendants are what is read). */
	s = sub(r.act, WEB_EU);
	ASSERT(s && s->ancestors.n == 2);
	ASSERT_EQ_STR("mg-prod-eu", s->ancestors.v[0]);
	ASSERT_EQ_STR("mg-prod", s->ancestors.v[1]);
	ASSERT(s->pricings_read && s->npricings >= 14);
	ASSERT_EQ_INT(MDC_PROVIDER_NOT_REGISTERED, s->insights_provider);
	ASSERT(s->perms.read);
	ASSERT(mdc_permissions_allow(&s->perms, "Microsoft.Security/pricings/write"));
	/* Details of a selected subscription. */
	s = sub(r.act, PAYMENTS);
	ASSERT_EQ_STR("Standard", mdc_sub_pricing(s, "VirtualMachines")->tier);
	ASSERT_EQ_STR("P2", mdc_sub_pricing(s, "VirtualMachines")->sub_plan);
	ASSERT_EQ_INT(MDC_TRUE, s->sync_enabled);
	ASSERT_EQ_INT(MDC_PROVIDER_REGISTERED, s->insights_provider);
	/* Selected by tag. */
	ASSERT(sub(r.act, RED)->pricings_read);
	/* Excluded and unselected: present with tags, details not read. */
	s = sub(r.act, BLUE);
	ASSERT(s && !s->pricings_read && s->sync_enabled == MDC_UNSET);
	ASSERT_EQ_STR("blue", mdc_kvlist_get(&s->tags, "team", false));
	ASSERT(!sub(r.act, "4f7c3d2a-0000-4000-8000-000000000001")->pricings_read);
	/* Disabled, other tenant, not visible: notes, no reads. */
	ASSERT(!sub(r.act, OLD)->pricings_read);
	ASSERT(has_note(r.act, "'" OLD "' is Disabled"));
	ASSERT(has_note(r.act, "'" GUEST "' belongs to another tenant"));
	ASSERT(has_note(r.act, "'0a1b2c3d-0000-4000-8000-0000000000ff' is not visible"));
	/* The workspace's Sentinel objects. */
	ASSERT(r.act->workspace.read && r.act->workspace.onboarded);
	ASSERT_EQ_INT(1, r.act->workspace.nconnectors);
	ASSERT_EQ_STR(PAYMENTS, r.act->workspace.connectors[0].subscription_id);
	ASSERT_EQ_INT(1, r.act->workspace.nrules);
	ASSERT_EQ_INT(MDC_SEV_HIGH, r.act->workspace.rules[0].severities);
	ASSERT(r.act->workspace.ncatalog == 1 || r.act->workspace.ncatalog == 0);
	mdc_error_clear(&err);
	rig_stop(&r);
}

TEST(no_request_twice)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct emuresp log = {0};
	const cJSON *v, *it;
	struct mdc_strvec seen = {0};
	int dups = 0;

	ASSERT(rig_start(&r, (const char *const[]){"--page-size", "2", NULL}, base_yaml) == 0);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT_EQ_INT(0, emutest_req(&r.emu, "GET", "/_emulator/requests", NULL, NULL, NULL, &log));
	v = cJSON_GetObjectItem(log.json, "value");
	cJSON_ArrayForEach(it, v)
	{
		char *key =
		    mdc_xasprintf("%s %s?%s", cJSON_GetObjectItem(it, "method")->valuestring,
		                  cJSON_GetObjectItem(it, "path")->valuestring,
		                  cJSON_GetStringValue(cJSON_GetObjectItem(it, "query"))
		                      ? cJSON_GetObjectItem(it, "query")->valuestring
		                      : "");
		if (mdc_strvec_find(&seen, key, false) >= 0 && strncmp(key, "POST /batch?", 12)) {
			fprintf(stderr, "requested twice: %s\n", key);
			dups++;
		}
		mdc_strvec_push_owned(&seen, key);
	}
	ASSERT_EQ_INT(0, dups);
	/* Paging was exercised (page size 2, six subscriptions), and every request but the
	 * token POST to Entra ID (and the batch envelopes, whose GETs are logged one by one)
	 * was a GET. */
	ASSERT(seen.n >= 3 + 4 * 4);
	ASSERT(mdc_strvec_find(&seen, "GET /subscriptions?api-version=2022-12-01", false) >= 0);
	for (size_t i = 0; i < seen.n; i++)
		ASSERT(!strncmp(seen.v[i], "GET ", 4) || strstr(seen.v[i], "/oauth2/") ||
		       (rig_batch && !strncmp(seen.v[i], "POST /batch?", 12)));
	mdc_strvec_clear(&seen);
	emuresp_free(&log);
	mdc_error_clear(&err);
	rig_stop(&r);
}

TEST(one_bad_subscription_is_isolated)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct emuresp resp = {0};
	const char fault[] = "{\"path\":\"/subscriptions/" RED "/providers/Microsoft.Security/"
	                     "pricings\",\"status\":403,\"count\":-1,\"body\":{\"error\":{\"code\":"
	                     "\"AuthorizationFailed\",\"message\":\"no\"}}}";

	ASSERT(rig_start(&r, NULL, base_yaml) == 0);
	ASSERT_EQ_INT(0,
	              emutest_req(&r.emu, "POST", "/_emulator/faults", NULL, fault, NULL, &resp));
	ASSERT(resp.status < 300);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT_EQ_INT(MDC_EFORBIDDEN, sub(r.act, RED)->error.code);
	ASSERT_EQ_INT(403, sub(r.act, RED)->error.http_status);
	ASSERT_EQ_STR("AuthorizationFailed", sub(r.act, RED)->error.arm_code);
	ASSERT_EQ_INT(0, sub(r.act, PAYMENTS)->error.code);
	ASSERT(sub(r.act, PAYMENTS)->pricings_read);
	ASSERT(sub(r.act, WEB_EU)->pricings_read);
	emuresp_free(&resp);
	mdc_error_clear(&err);
	rig_stop(&r);
}

/* No subscription has a read error (each one found is printed), the three selected ones'
 * pricings and the workspace were read. */
static bool read_everything(struct mdc_actual *act)
{
	bool all = true;

	for (size_t i = 0; i < act->nsubs; i++) {
		const struct mdc_sub_actual *s = &act->subs[i];
		if (s->error.code) {
			fprintf(stderr, "%s: %s\n", s->id, s->error.message);
			all = false;
		}
	}
	return all && sub(act, PAYMENTS)->pricings_read && sub(act, WEB_EU)->pricings_read &&
	       sub(act, RED)->pricings_read && act->workspace.read;
}

TEST(faults_still_give_a_complete_read)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_stats st;

	ASSERT(rig_start(&r,
	                 (const char *const[]){"--fault-rate", "0.2", "--seed", "5", "--page-size",
	                                       "1", NULL},
	                 base_yaml) == 0);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT(read_everything(r.act));
	mdc_http_stats(mdc_arm_http(r.arm), &st);
	ASSERT(st.retries > 0);
	mdc_error_clear(&err);
	rig_stop(&r);
}

/* A 429 storm: buckets of two reads refilled at four a second, so that most of every
 * subscription's reads are throttled at first; the read still completes, politely. */
TEST(throttle_storm_still_gives_a_complete_read)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct emuresp resp = {0};
	struct mdc_http_stats st;

	ASSERT(rig_start(&r, (const char *const[]){"--throttle", "on", NULL}, base_yaml) == 0);
	ASSERT_EQ_INT(0, emutest_req(&r.emu, "POST", "/_emulator/throttle", NULL,
	                             "{\"reads\":{\"burst\":2,\"perSecond\":4}}", NULL, &resp));
	ASSERT(resp.status < 300);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT(read_everything(r.act) && sub(r.act, RED)->perms.read);
	mdc_http_stats(mdc_arm_http(r.arm), &st);
	ASSERT(st.throttled > 0);
	emuresp_free(&resp);
	mdc_error_clear(&err);
	rig_stop(&r);
}

TEST(workspace_not_onboarded)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	static const char yaml[] =
	    "apiVersion: mdcctl/v1\n"
	    "tenant: " TENANT "\n"
	    "workspace: {subscription: " RED ", resourceGroup: rg-sbx, name: law-sbx}\n"
	    "subscriptions:\n"
	    "  select: [{id: " RED "}]\n"
	    "  defaults: {connected: true, plans: {VirtualMachines: Standard}}\n";

	ASSERT(rig_start(&r, NULL, yaml) == 0);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT(r.act->workspace.read);
	ASSERT(!r.act->workspace.onboarded);
	ASSERT_EQ_INT(0, r.act->workspace.nconnectors);
	mdc_error_clear(&err);
	rig_stop(&r);
}

TEST(missing_workspace_is_a_workspace_error)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	static const char yaml[] =
	    "apiVersion: mdcctl/v1\n"
	    "tenant: " TENANT "\n"
	    "workspace: {subscription: " RED ", resourceGroup: rg-nowhere, name: law-none}\n"
	    "subscriptions:\n"
	    "  select: [{id: " RED "}]\n"
	    "  defaults: {connected: true, plans: {VirtualMachines: Standard}}\n";

	ASSERT(rig_start(&r, NULL, yaml) == 0);
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT(!r.act->workspace.read);
	ASSERT_EQ_INT(404, r.act->workspace.error.http_status);
	ASSERT_CONTAINS(r.act->workspace.error.message, "does not exist");
	ASSERT(sub(r.act, RED)->pricings_read);
	mdc_error_clear(&err);
	rig_stop(&r);
}

TEST(read_only_client_refuses_writes)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	int status = 0;

	ASSERT(rig_start(&r, NULL, base_yaml) == 0);
	ASSERT(mdc_arm_call_sync(r.arm, "PUT",
	                         "/subscriptions/" RED
	                         "/providers/Microsoft.Security/settings/Sentinel",
	                         "2022-05-01", "{}", RED, &status, NULL, &err) < 0);
	ASSERT_CONTAINS(err.message, "read-only");
	ASSERT_EQ_INT(0, status);
	mdc_error_clear(&err);
	rig_stop(&r);
}

/* Reads the same through ARM /batch, in fewer HTTP requests, or through single GETs when
 * ARM refuses batches. */
static void check_batched_read(int *mdc_failed_, bool refuse)
{
	struct rig r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct emuresp resp = {0}, log = {0};
	struct mdc_http_stats st;
	const cJSON *it;
	int batches = 0, pricing_gets = 0;

	bool was = rig_batch;

	rig_batch = true;
	ASSERT(rig_start(&r, NULL, base_yaml) == 0);
	rig_batch = was;
	if (refuse) {
		ASSERT_EQ_INT(0, emutest_req(&r.emu, "POST", "/_emulator/faults", NULL,
		                             "{\"path\":\"/batch\",\"status\":404,\"count\":-1}",
		                             NULL, &resp));
		emuresp_free(&resp);
	}
	ASSERT_EQ_INT(0, mdc_observe(&r.act, r.arm, r.cfg, NULL, &err));
	ASSERT_EQ_STR("P2", mdc_sub_pricing(sub(r.act, PAYMENTS), "VirtualMachines")->sub_plan);
	ASSERT_EQ_INT(MDC_TRUE, sub(r.act, PAYMENTS)->sync_enabled);
	ASSERT_EQ_INT(MDC_PROVIDER_NOT_REGISTERED, sub(r.act, WEB_EU)->insights_provider);
	ASSERT(sub(r.act, WEB_EU)->perms.read);
	ASSERT(sub(r.act, RED)->pricings_read && !sub(r.act, BLUE)->pricings_read);
	for (size_t i = 0; i < r.act->nsubs; i++)
		ASSERT_EQ_INT(0, r.act->subs[i].error.code);
	ASSERT_EQ_INT(0, emutest_req(&r.emu, "GET", "/_emulator/requests", NULL, NULL, NULL, &log));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(log.json, "value"))
	{
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(it, "path"));
		batches += path && !strcmp(path, "/batch");
		pricing_gets +=
		    path && strstr(path, "/providers/Microsoft.Security/pricings") != NULL;
	}
	/* Three selected, enabled subscriptions x 4 reads fit one batch. */
	ASSERT_EQ_INT(1, batches);
	ASSERT_EQ_INT(3, pricing_gets);
	mdc_http_stats(mdc_arm_http(r.arm), &st);
	if (!refuse)
		ASSERT(st.requests < 3 + 4 * 3); /* fewer HTTP requests than single GETs */
	emuresp_free(&log);
	mdc_error_clear(&err);
	rig_stop(&r);
}

TEST(batch_reads_the_same_in_fewer_requests)
{
	check_batched_read(mdc_failed_, false);
}

TEST(batch_refused_falls_back_to_single_gets)
{
	check_batched_read(mdc_failed_, true);
}

int main(int argc, char **argv)
{
	const char *b = getenv("MDC_TEST_BATCH");
	int rc;

	rig_batch = b && !strcmp(b, "1");
	rc = mdc_test_main(argc, argv);

	stop_live();
	return rc;
}
