/*
 * mdc_export_build on literal actual states: factoring into defaults and group / tag / id
 * overrides, exclusions with reasons, quoting, the workspace's rule and solution. Every
 * successful build has already passed export's own check (the file parses and reproduces
 * each subscription), so rc == 0 is itself an assertion of exactness.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "export.h"
#include "harness.h"

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define WSSUB  "4f7c3d2a-0000-4000-8000-000000000001"

static char *sub_id(int i)
{
	return mdc_xasprintf("0a1b2c3d-0000-4000-8000-%012d", i);
}

static struct mdc_actual *tenant(void)
{
	struct mdc_actual *a = mdc_actual_new();

	a->tenant = mdc_xstrdup(TENANT);
	a->workspace.subscription = mdc_xstrdup(WSSUB);
	a->workspace.resource_group = mdc_xstrdup("rg-soc");
	a->workspace.name = mdc_xstrdup("law-soc");
	a->workspace.onboarded = true;
	a->workspace.read = true;
	return a;
}

/* A read, Enabled subscription below groups (nearest first, NULL-terminated) with every
 * plan Free except `std` (NULL-terminated "Plan" or "Plan/SubPlan"). */
static struct mdc_sub_actual *add(struct mdc_actual *a, int i, const char *const *groups,
                                  const char *const *std)
{
	static const char *const plans[] = {"VirtualMachines", "KeyVaults", "Arm", "SqlServers"};
	char *id = sub_id(i);
	struct mdc_sub_actual *s = mdc_actual_add_sub(a, id);

	free(id);
	s->display_name = mdc_xasprintf("sub-%d", i);
	s->tenant_id = mdc_xstrdup(TENANT);
	s->state = mdc_xstrdup("Enabled");
	s->pricings_read = true;
	s->sync_enabled = MDC_FALSE;
	s->insights_provider = MDC_PROVIDER_REGISTERED;
	for (size_t g = 0; groups && groups[g]; g++)
		mdc_strvec_push(&s->ancestors, groups[g]);
	mdc_strvec_push(&s->ancestors, TENANT);
	s->npricings = 4;
	s->pricings = mdc_xcalloc(4, sizeof(*s->pricings));
	for (size_t p = 0; p < 4; p++) {
		s->pricings[p].name = mdc_xstrdup(plans[p]);
		s->pricings[p].tier = mdc_xstrdup("Free");
		for (size_t k = 0; std && std[k]; k++) {
			const char *slash = strchr(std[k], '/');
			size_t n = slash ? (size_t)(slash - std[k]) : strlen(std[k]);
			if (strlen(plans[p]) == n && !strncmp(plans[p], std[k], n)) {
				free(s->pricings[p].tier);
				s->pricings[p].tier = mdc_xstrdup("Standard");
				if (slash)
					s->pricings[p].sub_plan = mdc_xstrdup(slash + 1);
			}
		}
	}
	return s;
}

static void connect(struct mdc_actual *a, int i, const char *alerts)
{
	struct mdc_workspace_actual *w = &a->workspace;
	struct mdc_connector *c;

	w->connectors = mdc_xrealloc(w->connectors, (w->nconnectors + 1) * sizeof(*c));
	c = &w->connectors[w->nconnectors++];
	memset(c, 0, sizeof(*c));
	c->name = mdc_xasprintf("conn-%d", i);
	c->kind = mdc_xstrdup("AzureSecurityCenter");
	c->subscription_id = sub_id(i);
	c->alerts_state = mdc_xstrdup(alerts);
}

/* The scope: the whole tenant below its root group. */
static struct mdc_config *scope(void)
{
	static const char y[] =
	    "apiVersion: mdcctl/v1\n"
	    "tenant: " TENANT "\n"
	    "workspace: {subscription: " WSSUB ", resourceGroup: rg-soc, name: law-soc}\n"
	    "subscriptions:\n  select: [{managementGroup: " TENANT "}]\n";
	struct mdc_config *cfg = NULL;
	struct mdc_diags d = {0};

	mdc_config_parse(&cfg, y, strlen(y), "scope", &d);
	mdc_diags_clear(&d);
	return cfg;
}

static int build(struct mdc_export_result *r, struct mdc_actual *a, struct mdc_error *err)
{
	struct mdc_config *cfg = scope();
	int rc;

	mdc_actual_sort(a);
	rc = mdc_export_build(r, cfg, a, &(struct mdc_export_opts){.now = 1700000000}, err);
	mdc_config_free(cfg);
	return rc;
}

static const char *const MG_A[] = {"mg-a", "mg-top", NULL};
static const char *const MG_B[] = {"mg-b", "mg-top", NULL};
static const char *const MG_C[] = {"mg-c", NULL};
static const char *const VM_P2[] = {"VirtualMachines/P2", NULL};
static const char *const KV[] = {"KeyVaults/PerKeyVault", NULL};

TEST(a_group_that_differs_becomes_one_group_override)
{
	struct mdc_actual *a = tenant();
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;

	for (int i = 1; i <= 3; i++)
		add(a, i, MG_A, VM_P2);
	for (int i = 4; i <= 6; i++)
		add(a, i, MG_B, NULL);
	for (int i = 7; i <= 10; i++)
		add(a, i, MG_C, NULL);
	ASSERT_EQ_INT(0, build(&r, a, &err));
	ASSERT_CONTAINS(r.yaml, "# yaml-language-server: $schema=../schema/mdcctl.schema.json\n");
	ASSERT_CONTAINS(r.yaml,
	                "# Exported by mdcctl export at 2023-11-14T22:13:20Z from tenant " TENANT);
	ASSERT_CONTAINS(r.yaml,
	                "  defaults:\n    connected: false\n    bidirectionalSync: false\n"
	                "    plans:\n      VirtualMachines: Free\n    otherPlans: unmanaged\n");
	ASSERT_CONTAINS(r.yaml,
	                "    - match: { managementGroup: \"mg-a\" }   # 3 subscriptions\n"
	                "      plans:\n        VirtualMachines: { tier: Standard, subPlan: P2 }\n");
	ASSERT_NOT_CONTAINS(r.yaml, "match: { id:");
	ASSERT_NOT_CONTAINS(r.yaml, "KeyVaults"); /* Free everywhere: not named */
	ASSERT_CONTAINS(r.yaml, "  unselected: ignore\n");
	ASSERT_EQ_INT(1, r.noverrides);
	ASSERT_EQ_INT(10, r.nsubs);
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(nested_groups_are_written_parent_first_and_singletons_by_id)
{
	struct mdc_actual *a = tenant();
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	const char *top, *b, *id;

	/* mg-top (a and b) mostly Standard KeyVaults, mg-b inside it mostly Free */
	for (int i = 1; i <= 4; i++)
		add(a, i, MG_A, KV);
	add(a, 5, MG_B, NULL);
	add(a, 6, MG_B, NULL);
	add(a, 7, MG_B, KV);
	for (int i = 8; i <= 16; i++)
		add(a, i, MG_C, NULL);
	ASSERT_EQ_INT(0, build(&r, a, &err));
	top = strstr(r.yaml, "managementGroup: \"mg-top\"");
	b = strstr(r.yaml, "managementGroup: \"mg-b\"");
	id = strstr(r.yaml, "match: { id: 0a1b2c3d-0000-4000-8000-000000000007 }   # sub-7");
	ASSERT(top && b && id);
	ASSERT(top < b && b < id);
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(a_tag_shared_by_scattered_subscriptions_becomes_a_tag_override)
{
	struct mdc_actual *a = tenant();
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;

	for (int i = 1; i <= 12; i++) {
		struct mdc_sub_actual *s = add(a, i, i % 2 ? MG_A : MG_C, NULL);
		if (i % 4 == 1) { /* 1, 5, 9: spread over groups, one tag, sync on */
			mdc_kvlist_set(&s->tags, "Team", "true", true);
			s->sync_enabled = MDC_TRUE;
		}
	}
	ASSERT_EQ_INT(0, build(&r, a, &err));
	/* tag values are quoted: "true" stays a string */
	ASSERT_CONTAINS(r.yaml, "    - match: { tag: { \"Team\": \"true\" } }   # 3 subscriptions\n"
	                        "      bidirectionalSync: true\n");
	ASSERT_NOT_CONTAINS(r.yaml, "match: { id:");
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(connected_majority_keeps_a_standard_plan_in_defaults)
{
	struct mdc_actual *a = tenant();
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	static const char *const ARM[] = {"Arm/PerSubscription", NULL};

	/* most are connected, but with different Standard plans: no plan's majority is
	 * Standard, and validation refuses connected: true without one */
	for (int i = 1; i <= 9; i++) {
		add(a, i, NULL, i <= 3 ? VM_P2 : i <= 6 ? KV : ARM);
		if (i != 9)
			connect(a, i, "Enabled");
	}
	ASSERT_EQ_INT(0, build(&r, a, &err));
	ASSERT_CONTAINS(r.yaml, "    connected: true\n");
	ASSERT_EQ_INT(0, r.nexcluded);
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(what_cannot_round_trip_is_excluded_with_a_reason)
{
	struct mdc_actual *a = tenant();
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_sub_actual *s;

	for (int i = 1; i <= 6; i++)
		add(a, i, MG_A, VM_P2);
	add(a, 7, MG_A, NULL); /* connected, every plan Free */
	connect(a, 7, "Enabled");
	add(a, 8, MG_A, VM_P2); /* connector with alerts Disabled */
	connect(a, 8, "Disabled");
	s = add(a, 9, MG_A, VM_P2); /* unreadable */
	s->error.code = MDC_EFORBIDDEN;
	s->error.message = mdc_xstrdup("403 Forbidden (AuthorizationFailed)");
	s = add(a, 10, MG_A, VM_P2); /* connected, provider not registered */
	connect(a, 10, "Enabled");
	s->insights_provider = MDC_PROVIDER_NOT_REGISTERED;
	s = add(a, 11, MG_A, NULL); /* Disabled: observe did not read it; left out silently */
	s->pricings_read = false;
	free(s->state);
	s->state = mdc_xstrdup("Disabled");

	ASSERT_EQ_INT(0, build(&r, a, &err));
	ASSERT_EQ_INT(4, r.nexcluded);
	ASSERT_EQ_INT(6, r.nsubs);
	ASSERT_CONTAINS(r.yaml, "    # it is connected but no Defender plan the configuration can "
	                        "name is Standard, and validation refuses connected: true without "
	                        "one\n    - { id: 0a1b2c3d-0000-4000-8000-000000000007 }\n");
	ASSERT_CONTAINS(r.yaml, "    - { id: 0a1b2c3d-0000-4000-8000-000000000008 }\n");
	ASSERT_CONTAINS(r.yaml, "    # it could not be read (403 Forbidden (AuthorizationFailed))\n"
	                        "    - { id: 0a1b2c3d-0000-4000-8000-000000000009 }\n");
	ASSERT_CONTAINS(r.yaml, "    - { id: 0a1b2c3d-0000-4000-8000-000000000010 }\n");
	ASSERT_NOT_CONTAINS(r.yaml, "000000000011");
	ASSERT_EQ_INT(4 + 2, r.warnings.n); /* + no solution, no incident rule */
	ASSERT_CONTAINS(r.warnings.v[0], "(sub-");
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(azure_strings_cannot_break_the_document)
{
	struct mdc_actual *a = tenant();
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	static const char *const ODD[] = {"mg: odd # \"group\"", NULL};
	struct mdc_sub_actual *s;
	struct mdc_alert_rule *rule;

	for (int i = 1; i <= 3; i++) {
		s = add(a, i, ODD, VM_P2);
		free(s->display_name);
		s->display_name = mdc_xstrdup("evil\nconnected: true\t# \"x\"");
	}
	for (int i = 4; i <= 8; i++)
		add(a, i, NULL, NULL);
	s = add(a, 9, NULL, VM_P2);
	free(s->display_name);
	s->display_name = mdc_xstrdup("line1\nplans: {}");
	a->workspace.nrules = 1;
	rule = a->workspace.rules = mdc_xcalloc(1, sizeof(*rule));
	rule->name = mdc_xstrdup("r1");
	rule->kind = mdc_xstrdup("MicrosoftSecurityIncidentCreation");
	rule->product_filter = mdc_xstrdup("Azure Security Center");
	rule->display_name = mdc_xstrdup("Incidents: \"MDC\" \\ alerts");
	rule->enabled = true;
	rule->severities = MDC_SEV_HIGH | MDC_SEV_MEDIUM;
	mdc_strvec_push(&rule->exclude_names, "Test alert: #1");
	ASSERT_EQ_INT(0, build(&r, a, &err)); /* parses, and reproduces every subscription */
	ASSERT_CONTAINS(r.yaml, "managementGroup: \"mg: odd # \\\"group\\\"\"");
	ASSERT_CONTAINS(r.yaml, "   # line1 plans: {}\n");
	ASSERT_CONTAINS(r.yaml, "incidentRule:\n  enabled: true\n"
	                        "  displayName: \"Incidents: \\\"MDC\\\" \\\\ alerts\"\n"
	                        "  severities: [High, Medium]\n"
	                        "  excludeAlertNames:\n    - \"Test alert: #1\"\n");
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

static void add_pkg(struct mdc_package **v, size_t *n, const char *version)
{
	*v = mdc_xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].id =
	    mdc_xstrdup("azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud");
	(*v)[(*n)++].version = mdc_xstrdup(version);
}

TEST(solution_is_latest_or_the_installed_minimum)
{
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_actual *a = tenant();

	add(a, 1, NULL, VM_P2);
	add_pkg(&a->workspace.installed, &a->workspace.ninstalled, "3.0.3");
	add_pkg(&a->workspace.catalog, &a->workspace.ncatalog, "3.0.3");
	ASSERT_EQ_INT(0, build(&r, a, &err));
	ASSERT_CONTAINS(r.yaml, "  solution: latest");
	mdc_export_result_release(&r);
	free(a->workspace.catalog[0].version);
	a->workspace.catalog[0].version = mdc_xstrdup("3.0.10");
	ASSERT_EQ_INT(0, build(&r, a, &err));
	ASSERT_CONTAINS(r.yaml, "  solution: \"3.0.3\"");
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(extensions_and_unknown_sub_plans)
{
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_actual *a = tenant();
	struct mdc_sub_actual *s = add(a, 1, NULL, VM_P2);
	struct mdc_pricing *vm = &s->pricings[0];

	vm->nexts = 3;
	vm->exts = mdc_xcalloc(3, sizeof(*vm->exts));
	vm->exts[0].name = mdc_xstrdup("MdeDesignatedSubscription");
	vm->exts[1].name = mdc_xstrdup("AgentlessVmScanning");
	vm->exts[1].enabled = true;
	mdc_kvlist_set(&vm->exts[1].properties, "ExclusionTags", "[]", false);
	vm->exts[2].name = mdc_xstrdup("SomethingNew"); /* not in the catalogue: left alone */
	vm->exts[2].enabled = true;
	free(s->pricings[1].tier);
	s->pricings[1].tier = mdc_xstrdup("Standard");
	s->pricings[1].sub_plan = mdc_xstrdup("PerNewThing"); /* unknown sub-plan: not named */
	ASSERT_EQ_INT(0, build(&r, a, &err));
	ASSERT_CONTAINS(r.yaml,
	                "VirtualMachines: { tier: Standard, subPlan: P2, extensions: { "
	                "AgentlessVmScanning: { enabled: true, properties: { "
	                "\"ExclusionTags\": \"[]\" } }, MdeDesignatedSubscription: false } }\n");
	ASSERT_CONTAINS(r.yaml, "      KeyVaults: Standard\n");
	ASSERT_NOT_CONTAINS(r.yaml, "SomethingNew");
	/* VirtualMachines and KeyVaults named, Arm and SqlServers never Standard: unmanaged */
	ASSERT_CONTAINS(r.yaml, "otherPlans: unmanaged");
	mdc_export_result_release(&r);
	mdc_actual_free(a);
}

TEST(refuses_without_the_workspace)
{
	struct mdc_export_result r;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_actual *a = tenant();

	add(a, 1, NULL, VM_P2);
	a->workspace.read = false;
	a->workspace.error.code = MDC_EFORBIDDEN;
	a->workspace.error.message = mdc_xstrdup("403");
	ASSERT(build(&r, a, &err) < 0);
	ASSERT_CONTAINS(err.message, "workspace");
	ASSERT(!r.yaml);
	mdc_error_clear(&err);
	mdc_actual_free(a);
}

TEST(picks_the_only_onboarded_or_the_only_connected_workspace)
{
	struct mdc_export_workspace v[3] = {
	    {"s1", "rg", "a", MDC_TRUE, 0},
	    {"s2", "rg", "b", MDC_FALSE, 0},
	    {"s3", "rg", "c", MDC_UNSET, 0},
	};
	struct mdc_export_workspaces w = {v, 3};

	ASSERT(mdc_export_pick_workspace(&w) == &v[0]);
	v[1].onboarded = MDC_TRUE;
	ASSERT(mdc_export_pick_workspace(&w) == NULL);
	v[1].nasc = 4;
	ASSERT(mdc_export_pick_workspace(&w) == &v[1]);
	v[0].nasc = 1;
	ASSERT(mdc_export_pick_workspace(&w) == NULL);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
