/*
 * The desired-state loader: every check asserts the exact diagnostics (position and
 * message) and prints them, so a failing run shows what the loader said.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "buf.h"
#include "config.h"

#define HEAD                                                                                       \
	"apiVersion: mdcctl/v1\n"                                                                  \
	"tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"                                           \
	"workspace:\n"                                                                             \
	"  subscription: 0a1b2c3d-0000-4000-8000-000000000001\n"                                   \
	"  resourceGroup: rg-soc\n"                                                                \
	"  name: law-soc\n"                                                                        \
	"subscriptions:\n"                                                                         \
	"  select:\n"                                                                              \
	"    - id: 0a1b2c3d-0000-4000-8000-000000000001\n"

#define SUB1 "0a1b2c3d-0000-4000-8000-000000000001"
#define SUB2 "0a1b2c3d-0000-4000-8000-000000000002"

/* Loads yaml and returns the diagnostics as "L:C: severity: message\n" lines (caller
 * frees); *rc gets the return code. The lines are printed to stderr too. */
static char *run(const char *yaml, size_t len, int *rc, struct mdc_config **keep)
{
	struct mdc_diags d = {0};
	struct mdc_config *cfg = NULL;
	struct mdc_buf b = MDC_BUF_INIT;

	*rc = mdc_config_parse(&cfg, yaml, len, "tenant.yaml", &d);
	for (size_t i = 0; i < d.n; i++)
		mdc_buf_addf(&b, "%u:%u: %s: %s\n", d.v[i].pos.line, d.v[i].pos.col,
		             d.v[i].severity == MDC_DIAG_ERROR ? "error" : "warning",
		             d.v[i].message);
	fprintf(stderr, "%s", b.ptr);
	if ((*rc == 0) != (cfg != NULL) || (*rc == 0) != (d.nerrors == 0))
		mdc_buf_adds(&b, "INCONSISTENT RESULT\n");
	mdc_diags_clear(&d);
	if (keep)
		*keep = cfg;
	else
		mdc_config_free(cfg);
	return mdc_buf_detach(&b);
}

#define EXPECT(yaml, want_rc, want)                                                                \
	do {                                                                                       \
		int rc_;                                                                           \
		char *got_ = run((yaml), strlen(yaml), &rc_, NULL);                                \
		int bad_ = strcmp(got_, (want)) != 0;                                              \
		if (bad_)                                                                          \
			fprintf(stderr, "want:\n%s", (want));                                      \
		free(got_);                                                                        \
		ASSERT(!bad_);                                                                     \
		ASSERT_EQ_INT((want_rc), rc_);                                                     \
	} while (0)

#define INVALID MDC_EINVALID

static struct mdc_config *load_file(const char *path)
{
	struct mdc_diags d = {0};
	struct mdc_config *cfg = NULL;

	mdc_config_load(&cfg, path, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s:%u:%u: %s\n", path, d.v[i].pos.line, d.v[i].pos.col,
		        d.v[i].message);
	mdc_diags_clear(&d);
	return cfg;
}

TEST(minimal_example_loads)
{
	struct mdc_config *cfg = load_file("examples/minimal.yaml");
	const struct mdc_plan_desired *vm;

	ASSERT(cfg != NULL);
	ASSERT_EQ_STR("mdcctl/v1", cfg->api_version);
	ASSERT_EQ_STR("72f988bf-86f1-41af-91ab-2d7cd011db47", cfg->tenant);
	ASSERT_EQ_INT(MDC_CLOUD_AZURE, cfg->cloud);
	ASSERT_EQ_STR("rg-soc", cfg->workspace.resource_group);
	ASSERT_EQ_STR("law-soc", cfg->workspace.name);
	ASSERT_EQ_INT(MDC_MODE_SUBSCRIPTION, cfg->connector.mode);
	ASSERT_EQ_INT(MDC_SOLUTION_UNMANAGED, cfg->connector.solution);
	ASSERT_EQ_INT(2, cfg->subscriptions.nselect);
	ASSERT_EQ_INT(MDC_TRUE, cfg->subscriptions.defaults.connected);
	ASSERT_EQ_INT(MDC_UNSET, cfg->subscriptions.defaults.bidirectional_sync);
	ASSERT_EQ_INT(MDC_OTHER_UNSET, cfg->subscriptions.defaults.other_plans);
	vm = mdc_settings_plan(&cfg->subscriptions.defaults, "virtualmachines");
	ASSERT(vm != NULL);
	ASSERT_EQ_INT(MDC_TIER_STANDARD, vm->tier);
	ASSERT_EQ_STR("P2", vm->sub_plan);
	ASSERT_EQ_INT(MDC_UNSET, vm->enforce);
	ASSERT_EQ_INT(18, vm->pos.line);
	ASSERT_EQ_INT(7, vm->pos.col);
	ASSERT(!cfg->incident_rule.present);
	ASSERT(!strncmp(cfg->digest, "sha256:", 7) && strlen(cfg->digest) == 71);
	mdc_config_free(cfg);
}

TEST(contoso_example_model)
{
	struct mdc_config *cfg = load_file("examples/contoso.yaml");
	const struct mdc_plan_desired *st;

	ASSERT(cfg != NULL);
	ASSERT_EQ_INT(MDC_SOLUTION_LATEST, cfg->connector.solution);
	ASSERT_EQ_INT(4, cfg->subscriptions.nselect);
	ASSERT_EQ_INT(MDC_SEL_MANAGEMENT_GROUP, cfg->subscriptions.select[0].sel[0].kind);
	ASSERT_EQ_STR("mg-prod", cfg->subscriptions.select[0].sel[0].value);
	ASSERT_EQ_INT(MDC_SEL_TAG, cfg->subscriptions.select[3].sel[0].kind);
	ASSERT_EQ_STR("env", cfg->subscriptions.select[3].sel[0].value);
	ASSERT_EQ_STR("prod", cfg->subscriptions.select[3].sel[0].tag_value);
	ASSERT_EQ_INT(1, cfg->subscriptions.nexclude);
	ASSERT_EQ_INT(3, cfg->subscriptions.noverrides);
	ASSERT_EQ_INT(2, cfg->subscriptions.overrides[2].match.nsel);
	ASSERT_EQ_INT(5, cfg->subscriptions.defaults.nplans);
	st = mdc_settings_plan(&cfg->subscriptions.defaults, "StorageAccounts");
	ASSERT_EQ_INT(2, st->nexts);
	ASSERT_EQ_STR("OnUploadMalwareScanning", st->exts[0].name);
	ASSERT(st->exts[0].enabled);
	ASSERT_EQ_STR("5000", mdc_kvlist_get(&st->exts[0].properties,
	                                     "capGBPerMonthPerStorageAccount", false));
	ASSERT(cfg->incident_rule.present && cfg->incident_rule.enabled);
	ASSERT_EQ_STR("mdc-incident-creation", cfg->incident_rule.name);
	ASSERT_EQ_INT(MDC_SEV_HIGH | MDC_SEV_MEDIUM | MDC_SEV_LOW, cfg->incident_rule.severities);
	ASSERT_EQ_INT(1, cfg->incident_rule.exclude_names.n);
	mdc_config_free(cfg);
}

TEST(tenant_mode_example)
{
	struct mdc_config *cfg = load_file("examples/tenant-mode.yaml");

	ASSERT(cfg != NULL);
	ASSERT_EQ_INT(MDC_MODE_TENANT, cfg->connector.mode);
	ASSERT_EQ_INT(MDC_SOLUTION_MINIMUM, cfg->connector.solution);
	ASSERT_EQ_STR("3.0.3", cfg->connector.solution_version);
	ASSERT(cfg->incident_rule.present && !cfg->incident_rule.enabled);
	ASSERT_EQ_STR("Create incidents based on Microsoft Defender for Cloud alerts",
	              cfg->incident_rule.display_name);
	mdc_config_free(cfg);
}

static void facts_init(struct mdc_sub_facts *f, const char *id, struct mdc_kvlist *tags,
                       struct mdc_strvec *anc, const char *tagk, const char *tagv, const char *mg)
{
	memset(tags, 0, sizeof(*tags));
	memset(anc, 0, sizeof(*anc));
	if (tagk)
		mdc_kvlist_set(tags, tagk, tagv, true);
	if (mg) {
		mdc_strvec_push(anc, mg);
		mdc_strvec_push(anc, "mg-corp");
		mdc_strvec_push(anc, "72f988bf-86f1-41af-91ab-2d7cd011db47");
	}
	*f = (struct mdc_sub_facts){id, tags, anc};
}

TEST(selection_and_effective_settings)
{
	struct mdc_config *cfg = load_file("examples/contoso.yaml");
	struct mdc_sub_facts f;
	struct mdc_kvlist tags;
	struct mdc_strvec anc;
	struct mdc_settings s;
	const struct mdc_plan_desired *p;

	ASSERT(cfg != NULL);
	/* A sandbox subscription: selected by management group, the sandbox override wins. */
	facts_init(&f, "0a1b2c3d-0000-4000-8000-000000000005", &tags, &anc, NULL, NULL,
	           "MG-Sandbox");
	ASSERT(mdc_config_selects(cfg, &f));
	mdc_config_effective(cfg, &f, &s);
	ASSERT_EQ_INT(MDC_FALSE, s.connected);
	ASSERT_EQ_INT(MDC_FALSE, s.bidirectional_sync);
	ASSERT_EQ_INT(MDC_OTHER_UNMANAGED, s.other_plans);
	ASSERT_EQ_INT(MDC_TIER_FREE, mdc_settings_plan(&s, "VirtualMachines")->tier);
	/* The override replaced the defaults' entry whole: no sub-plan, no extensions. */
	ASSERT(mdc_settings_plan(&s, "VirtualMachines")->sub_plan == NULL);
	ASSERT_EQ_INT(0, mdc_settings_plan(&s, "VirtualMachines")->nexts);
	ASSERT_EQ_INT(MDC_TIER_STANDARD, mdc_settings_plan(&s, "KeyVaults")->tier);
	ASSERT(mdc_settings_plan(&s, "SqlServers") == NULL);
	mdc_settings_clear(&s);
	mdc_kvlist_clear(&tags);
	mdc_strvec_clear(&anc);

	/* Payments: explicit id override adds plans and otherPlans: free. */
	facts_init(&f, SUB2, &tags, &anc, NULL, NULL, "mg-prod");
	ASSERT(mdc_config_selects(cfg, &f));
	mdc_config_effective(cfg, &f, &s);
	ASSERT_EQ_INT(MDC_TRUE, s.connected);
	ASSERT_EQ_INT(MDC_OTHER_FREE, s.other_plans);
	ASSERT_EQ_INT(7, s.nplans);
	p = mdc_settings_plan(&s, "Containers");
	ASSERT_EQ_STR("ContainerRegistriesVulnerabilityAssessments", p->exts[0].name);
	ASSERT_EQ_STR("P2", mdc_settings_plan(&s, "VirtualMachines")->sub_plan);
	mdc_settings_clear(&s);
	mdc_kvlist_clear(&tags);
	mdc_strvec_clear(&anc);

	/* A web subscription: management group AND tag (tag names case-insensitive). */
	facts_init(&f, "0a1b2c3d-0000-4000-8000-000000000004", &tags, &anc, "Tier", "web",
	           "mg-prod");
	mdc_config_effective(cfg, &f, &s);
	p = mdc_settings_plan(&s, "VirtualMachines");
	ASSERT_EQ_STR("P1", p->sub_plan);
	ASSERT_EQ_INT(MDC_TRUE, p->enforce);
	mdc_settings_clear(&s);
	mdc_kvlist_clear(&tags);
	mdc_strvec_clear(&anc);
	/* Tag values are case-sensitive: tier=Web does not match the web override. */
	facts_init(&f, "0a1b2c3d-0000-4000-8000-000000000004", &tags, &anc, "tier", "Web",
	           "mg-prod");
	mdc_config_effective(cfg, &f, &s);
	ASSERT_EQ_STR("P2", mdc_settings_plan(&s, "VirtualMachines")->sub_plan);
	mdc_settings_clear(&s);
	mdc_kvlist_clear(&tags);
	mdc_strvec_clear(&anc);

	/* Excluded, selected by tag, and not selected at all. */
	facts_init(&f, "0a1b2c3d-0000-4000-8000-000000000003", &tags, &anc, NULL, NULL, "mg-prod");
	ASSERT(!mdc_config_selects(cfg, &f));
	mdc_strvec_clear(&anc);
	facts_init(&f, "0A1B2C3D-0000-4000-8000-000000000007", &tags, &anc, "env", "prod", NULL);
	ASSERT(mdc_config_selects(cfg, &f));
	mdc_kvlist_clear(&tags);
	facts_init(&f, "0a1b2c3d-0000-4000-8000-000000000008", &tags, &anc, "env", "dev", NULL);
	ASSERT(!mdc_config_selects(cfg, &f));
	mdc_kvlist_clear(&tags);
	f = (struct mdc_sub_facts){"0a1b2c3d-0000-4000-8000-000000000001", NULL, NULL};
	ASSERT(mdc_config_selects(cfg, &f));
	mdc_config_free(cfg);
}

TEST(cloud_endpoints_and_names)
{
	ASSERT_EQ_STR("https://management.azure.com", mdc_cloud_arm_endpoint(MDC_CLOUD_AZURE));
	ASSERT_EQ_STR("https://login.microsoftonline.com",
	              mdc_cloud_authority_host(MDC_CLOUD_AZURE));
	ASSERT_EQ_STR("https://management.usgovcloudapi.net",
	              mdc_cloud_arm_endpoint(MDC_CLOUD_USGOV));
	ASSERT_EQ_STR("https://login.microsoftonline.us",
	              mdc_cloud_authority_host(MDC_CLOUD_USGOV));
	ASSERT_EQ_STR("https://management.chinacloudapi.cn",
	              mdc_cloud_arm_endpoint(MDC_CLOUD_CHINA));
	ASSERT_EQ_STR("https://login.chinacloudapi.cn", mdc_cloud_authority_host(MDC_CLOUD_CHINA));
	ASSERT_EQ_STR("AzureUSGovernment", mdc_cloud_name(MDC_CLOUD_USGOV));
	ASSERT_EQ_STR("Standard", mdc_tier_name(MDC_TIER_STANDARD));
	ASSERT_EQ_STR("Free", mdc_tier_name(MDC_TIER_FREE));
	ASSERT_EQ_STR("Informational", mdc_severity_name(MDC_SEV_INFORMATIONAL));
	ASSERT_EQ_STR("High", mdc_severity_name(MDC_SEV_HIGH));
}

TEST(unknown_plan_points_at_the_key)
{
	EXPECT(HEAD "  defaults:\n"
	            "    connected: true\n"
	            "    plans:\n"
	            "      KeyVaults: Standard\n"
	            "      VirtualMachine: Standard\n",
	       INVALID,
	       "14:7: error: unknown plan 'VirtualMachine' (did you mean 'VirtualMachines'?)\n");
	EXPECT(HEAD "  defaults:\n    plans:\n      Bananas: Free\n", INVALID,
	       "12:7: error: unknown plan 'Bananas' (known plans: VirtualMachines, SqlServers, "
	       "AppServices, StorageAccounts, SqlServerVirtualMachines, KeyVaults, Arm, "
	       "OpenSourceRelationalDatabases, Containers, CloudPosture, Api, CosmosDbs or AI)\n");
	EXPECT(HEAD "  defaults:\n    plans:\n      virtualmachines: Free\n", INVALID,
	       "12:7: error: unknown plan 'virtualmachines' (did you mean 'VirtualMachines'?)\n");
}

TEST(sub_plans_and_extensions)
{
	EXPECT(HEAD "  defaults:\n    plans:\n"
	            "      VirtualMachines: { tier: Standard, subPlan: P3 }\n"
	            "      SqlServers: { tier: Standard, subPlan: P1 }\n"
	            "      StorageAccounts:\n"
	            "        tier: Standard\n"
	            "        extensions:\n"
	            "          OnUploadMalwareScaning: true\n"
	            "          Foo: true\n"
	            "      Arm: { tier: Standard, extensions: { AgentlessVmScanning: true } }\n",
	       INVALID,
	       "12:51: error: unknown subPlan 'P3' for plan 'VirtualMachines' (valid: P1, P2)\n"
	       "13:46: error: plan 'SqlServers' has no sub-plans, remove 'subPlan'\n"
	       "17:11: error: unknown extension 'OnUploadMalwareScaning' for plan "
	       "'StorageAccounts' (did you mean 'OnUploadMalwareScanning'?)\n"
	       "18:11: error: unknown extension 'Foo' for plan 'StorageAccounts' (valid: "
	       "OnUploadMalwareScanning, SensitiveDataDiscovery)\n"
	       "19:44: error: unknown extension 'AgentlessVmScanning': plan 'Arm' has no "
	       "extensions\n");
}

TEST(free_plans_take_no_sub_plan_or_extensions)
{
	EXPECT(
	    HEAD
	    "  defaults:\n    plans:\n"
	    "      VirtualMachines: { tier: Free, subPlan: P2 }\n"
	    "      StorageAccounts: { tier: Free, extensions: { SensitiveDataDiscovery: true } }\n",
	    INVALID,
	    "12:38: error: subPlan applies only to Standard, plan 'VirtualMachines' is set Free\n"
	    "13:38: error: extensions apply only to Standard, plan 'StorageAccounts' is set "
	    "Free\n");
}

TEST(extension_properties)
{
	EXPECT(
	    HEAD
	    "  defaults:\n    plans:\n"
	    "      VirtualMachines:\n"
	    "        tier: Standard\n"
	    "        extensions:\n"
	    "          AgentlessVmScanning: { enabled: false, properties: { ExclusionTags: x } }\n"
	    "          MdeDesignatedSubscription: { properties: {} }\n",
	    INVALID,
	    "15:50: error: properties of extension 'AgentlessVmScanning' need 'enabled: true' "
	    "(Azure refuses them on a disabled extension)\n"
	    "16:38: error: missing required key 'enabled' in 'MdeDesignatedSubscription'\n");
}

TEST(deprecated_plans_name_their_replacement)
{
	EXPECT(HEAD "  defaults:\n    plans:\n"
	            "      Dns: Standard\n"
	            "      ContainerRegistry: Free\n"
	            "      KubernetesService: { tier: Standard }\n",
	       INVALID,
	       "12:7: error: plan 'Dns' is deprecated, use 'VirtualMachines' instead\n"
	       "13:7: warning: plan 'ContainerRegistry' is deprecated (replaced by 'Containers')\n"
	       "14:7: error: plan 'KubernetesService' is deprecated, use 'Containers' instead\n");
}

TEST(wrong_types)
{
	EXPECT(HEAD "  defaults:\n"
	            "    connected: \"true\"\n"
	            "    bidirectionalSync: yes\n"
	            "    plans: [VirtualMachines]\n"
	            "    otherPlans: 1\n"
	            "incidentRule: true\n",
	       INVALID,
	       "11:16: error: 'connected' must be a boolean, not a string\n"
	       "12:24: error: 'bidirectionalSync' must be true or false, not 'yes' (a string in "
	       "YAML 1.2)\n"
	       "13:12: error: 'plans' must be a mapping, not a sequence\n"
	       "14:17: error: 'otherPlans' must be unmanaged or free, not a number\n"
	       "15:15: error: 'incidentRule' must be a mapping, not a boolean\n");
	EXPECT("- 1\n", INVALID, "1:1: error: the document must be a mapping, not a sequence\n");
	EXPECT("", INVALID,
	       "1:1: error: the document is empty (it needs apiVersion: mdcctl/v1, tenant, "
	       "workspace and subscriptions)\n");
	EXPECT(
	    HEAD "connector: { solution: 3.0 }\n", INVALID,
	    "10:24: error: 'solution' must be a string, not a number (quote versions: \"3.0\")\n");
}

TEST(unknown_keys_suggest)
{
	EXPECT(HEAD "tenat: x\n"
	            "incidentRule: { severity: [High], foo: 1 }\n"
	            "connector: { mode: Tenant }\n",
	       INVALID,
	       "10:1: error: unknown key 'tenat' (did you mean 'tenant'?)\n"
	       "11:17: error: unknown key 'severity' (expected enabled, name, displayName, "
	       "severities, includeAlertNames or excludeAlertNames)\n"
	       "11:35: error: unknown key 'foo' (expected enabled, name, displayName, severities, "
	       "includeAlertNames or excludeAlertNames)\n"
	       "12:20: error: invalid mode 'Tenant' (did you mean 'tenant'?)\n");
}

TEST(guids_and_names)
{
	EXPECT(
	    "apiVersion: mdcctl/v1\n"
	    "tenant: 72f988bf-86f1-41af-91ab-2d7cd011db4\n"
	    "workspace:\n"
	    "  subscription: '{0a1b2c3d-0000-4000-8000-000000000001}'\n"
	    "  resourceGroup: rg.\n"
	    "  name: -law\n"
	    "subscriptions:\n"
	    "  select:\n"
	    "    - id: 12345\n"
	    "    - id: not-a-guid\n",
	    INVALID,
	    "2:9: error: malformed GUID '72f988bf-86f1-41af-91ab-2d7cd011db4' in 'tenant' (want "
	    "8-4-4-4-12 hex digits)\n"
	    "4:17: error: malformed GUID '{0a1b2c3d-0000-4000-8000-000000000001}' in "
	    "'subscription' (want 8-4-4-4-12 hex digits)\n"
	    "5:18: error: invalid resource group name 'rg.' (1-90 letters, digits, '-', '_', "
	    "'.', '(' or ')', not ending with '.')\n"
	    "6:9: error: invalid workspace name '-law' (3-90 letters, digits or '-', starting and "
	    "ending with a letter or digit)\n"
	    "9:11: error: 'id' must be a string, not a number\n"
	    "10:11: error: malformed GUID 'not-a-guid' in 'id' (want 8-4-4-4-12 hex digits)\n");
}

TEST(guids_are_lower_cased)
{
	struct mdc_config *cfg = NULL;
	int rc;
	static const char y[] =
	    "apiVersion: mdcctl/v1\n"
	    "tenant: 72F988BF-86F1-41AF-91AB-2D7CD011DB47\n"
	    "workspace: { subscription: 0A1B2C3D-0000-4000-8000-000000000001, "
	    "resourceGroup: rg, name: law }\n"
	    "subscriptions: { select: [ { id: 0A1B2C3D-0000-4000-8000-0000000000AA } ] }\n";
	char *got = run(y, strlen(y), &rc, &cfg);

	ASSERT_EQ_STR("", got);
	free(got);
	ASSERT_EQ_STR("72f988bf-86f1-41af-91ab-2d7cd011db47", cfg->tenant);
	ASSERT_EQ_STR("0a1b2c3d-0000-4000-8000-000000000001", cfg->workspace.subscription);
	ASSERT_EQ_STR("0a1b2c3d-0000-4000-8000-0000000000aa",
	              cfg->subscriptions.select[0].sel[0].value);
	mdc_config_free(cfg);
}

TEST(missing_and_empty_required_fields)
{
	EXPECT("tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"
	       "workspace: { name: '' }\n"
	       "subscriptions:\n"
	       "  select: []\n",
	       INVALID,
	       "1:1: error: missing required key 'apiVersion'\n"
	       "2:12: error: missing required key 'subscription' in 'workspace'\n"
	       "2:12: error: missing required key 'resourceGroup' in 'workspace'\n"
	       "2:20: error: 'name' must not be empty\n"
	       "4:11: error: 'select' must not be empty (nothing would be managed)\n");
	EXPECT("apiVersion: mdcctl/v1\ntenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n", INVALID,
	       "1:1: error: missing required key 'workspace'\n"
	       "1:1: error: missing required key 'subscriptions'\n");
	EXPECT(HEAD "    - {}\n    - tag: {}\n", INVALID,
	       "10:7: error: empty selector in 'select' (use id, managementGroup or tag)\n"
	       "11:12: error: 'tag' must not be empty\n");
}

TEST(unknown_api_version)
{
	EXPECT("apiVersion: mdcctl/v2\n"
	       "tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"
	       "workspace: { subscription: " SUB1 ", resourceGroup: rg, name: law }\n"
	       "subscriptions: { select: [ { id: " SUB1 " } ] }\n",
	       INVALID,
	       "1:13: error: unknown apiVersion 'mdcctl/v2' (this mdcctl reads mdcctl/v1)\n");
}

TEST(duplicate_keys)
{
	EXPECT(HEAD "  defaults:\n"
	            "    connected: false\n"
	            "    connected: true\n"
	            "tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n",
	       INVALID,
	       "12:5: error: duplicate key 'connected' (first at line 11)\n"
	       "13:1: error: duplicate key 'tenant' (first at line 2)\n");
}

TEST(yaml_syntax_errors)
{
	EXPECT(HEAD "  defaults:\n    connected: [true\n", INVALID,
	       "12:1: error: syntax error: did not find expected ',' or ']' (while parsing a flow "
	       "sequence at line 11, column 16)\n");
	EXPECT("apiVersion: mdcctl/v1\n  tenant: x\n", INVALID,
	       "2:9: error: syntax error: mapping values are not allowed in this context\n");
	EXPECT("a: 'unterminated\n", INVALID,
	       "2:1: error: syntax error: found unexpected end of stream (while scanning a quoted "
	       "scalar at line 1, column 4)\n");
	EXPECT(HEAD "---\nb: 1\n", INVALID,
	       "10:1: error: a file holds one YAML document, this is a second one\n");
	EXPECT(HEAD "  defaults: *nope\n", INVALID,
	       "10:13: error: unknown alias '*nope' (anchors must come first)\n");
	EXPECT("a: &x [1, *x]\n", INVALID,
	       "1:11: error: unknown alias '*x' (anchors must come first)\n");
	EXPECT("a: !!binary aGk=\n", INVALID,
	       "1:4: error: unsupported tag 'tag:yaml.org,2002:binary'\n");
}

TEST(aliases_within_budget_work)
{
	struct mdc_config *cfg = NULL;
	int rc;
	static const char y[] = HEAD "  defaults:\n"
	                             "    connected: true\n"
	                             "    plans: &plans\n"
	                             "      VirtualMachines: Standard\n"
	                             "  overrides:\n"
	                             "    - match: { id: " SUB2 " }\n"
	                             "      plans: *plans\n";
	char *got = run(y, strlen(y), &rc, &cfg);

	ASSERT_EQ_STR("", got);
	free(got);
	ASSERT_EQ_INT(1, cfg->subscriptions.overrides[0].set.nplans);
	ASSERT_EQ_STR("VirtualMachines", cfg->subscriptions.overrides[0].set.plans[0].name);
	mdc_config_free(cfg);
}

TEST(alias_bomb_is_refused_quickly)
{
	struct mdc_buf b = MDC_BUF_INIT;
	clock_t t0 = clock();
	char *got;
	int rc;

	/* Nine levels of ten aliases each: 10^9 nodes if expanded. */
	mdc_buf_adds(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		mdc_buf_addf(&b,
		             "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
		             "*a%d]\n",
		             i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
		             i - 1);
	got = run(b.ptr, b.len, &rc, NULL);
	ASSERT_EQ_INT(MDC_EINVALID, rc);
	ASSERT_EQ_STR("5:45: error: the document expands to more than 100000 nodes (too many "
	              "aliases?)\n",
	              got);
	free(got);
	mdc_buf_release(&b);
	ASSERT((clock() - t0) < CLOCKS_PER_SEC);
}

TEST(deep_nesting_is_refused)
{
	struct mdc_buf b = MDC_BUF_INIT;
	char *got;
	int rc;

	for (int i = 0; i < 100; i++)
		mdc_buf_addch(&b, '[');
	got = run(b.ptr, b.len, &rc, NULL);
	ASSERT_EQ_INT(MDC_EINVALID, rc);
	ASSERT_EQ_STR("1:65: error: the document nests deeper than 64 levels\n", got);
	free(got);
	mdc_buf_release(&b);
}

TEST(size_utf8_and_nul)
{
	struct mdc_buf b = MDC_BUF_INIT;
	char *got;
	int rc;
	static const char bad_utf8[] = "apiVersion: mdcctl/v1\ntenant: \xc3\xa9t\xe9\n";
	static const char nul[] = "apiVersion: mdcctl/v1\nte\0nant: x\n";

	got = run(bad_utf8, sizeof(bad_utf8) - 1, &rc, NULL);
	ASSERT_EQ_INT(MDC_EINVALID, rc);
	ASSERT_EQ_STR("2:11: error: invalid UTF-8 (byte 0xe9)\n", got);
	free(got);
	got = run(nul, sizeof(nul) - 1, &rc, NULL);
	ASSERT_EQ_INT(MDC_EINVALID, rc);
	ASSERT_EQ_STR("2:3: error: NUL byte in the file\n", got);
	free(got);
	got = run("a: \"x\\0y\"\n", 10, &rc, NULL);
	ASSERT_EQ_STR("1:4: error: NUL character in a string\n", got);
	free(got);
	mdc_buf_grow(&b, MDC_CONFIG_MAX_BYTES + 1);
	while (b.len <= MDC_CONFIG_MAX_BYTES)
		mdc_buf_adds(&b, "# padding padding padding padding padding padding padding\n");
	got = run(b.ptr, b.len, &rc, NULL);
	ASSERT_EQ_INT(MDC_EINVALID, rc);
	ASSERT_EQ_STR("0:0: error: the file is larger than 4194304 bytes\n", got);
	free(got);
	mdc_buf_release(&b);
}

TEST(connected_needs_a_standard_plan)
{
	EXPECT(HEAD "  defaults:\n"
	            "    connected: true\n"
	            "    plans: { VirtualMachines: Free }\n",
	       INVALID,
	       "11:5: error: connected: true needs at least one plan set Standard (the connector "
	       "requires a paid Defender plan)\n");
	EXPECT(HEAD "  defaults:\n"
	            "    connected: true\n"
	            "    plans: { VirtualMachines: Standard }\n"
	            "  overrides:\n"
	            "    - match: { managementGroup: mg-sandbox }\n"
	            "      plans: { VirtualMachines: Free }\n"
	            "    - match: { managementGroup: mg-x }\n"
	            "      connected: false\n"
	            "      plans: { VirtualMachines: Free }\n"
	            "    - match: { tag: { a: b } }\n"
	            "      connected: true\n"
	            "      plans: { VirtualMachines: { tier: Free } }\n",
	       INVALID,
	       "15:7: error: this override leaves no plan at Standard while connected is true (the "
	       "connector requires a paid Defender plan)\n"
	       "20:7: error: connected: true needs at least one plan set Standard, here or in "
	       "defaults (the connector requires a paid Defender plan)\n");
}

TEST(conflicting_selection)
{
	EXPECT(HEAD "    - id: " SUB2 "\n"
	            "    - id: 0A1B2C3D-0000-4000-8000-000000000002\n"
	            "  exclude:\n"
	            "    - id: " SUB1 "\n"
	            "  overrides:\n"
	            "    - match: { id: " SUB2 " }\n"
	            "      connected: false\n"
	            "      plans: { VirtualMachines: Free }\n"
	            "    - match: { id: " SUB2 " }\n"
	            "      bidirectionalSync: true\n"
	            "    - match: { id: " SUB2 " }\n"
	            "      connected: false\n"
	            "      plans: { VirtualMachines: { tier: Standard, subPlan: P1 } }\n"
	            "    - match: { id: " SUB2 " }\n"
	            "      connected: true\n"
	            "      plans: { VirtualMachines: Standard }\n",
	       INVALID,
	       "11:7: warning: subscription '" SUB2 "' is selected twice (also at line 10)\n"
	       "13:7: error: subscription '" SUB1 "' is both selected (line 9) and excluded\n"
	       "22:16: error: conflicting settings for subscription '" SUB2 "': plan "
	       "'VirtualMachines' differs from line 17\n"
	       "23:7: error: conflicting settings for subscription '" SUB2 "': 'connected' is true "
	       "here but false at line 15\n");
}

TEST(warnings_do_not_fail)
{
	EXPECT(HEAD "  defaults:\n"
	            "    connected: false\n"
	            "    bidirectionalSync: true\n"
	            "incidentRule:\n"
	            "  severities: [High, Informational]\n",
	       0,
	       "12:5: warning: bidirectionalSync: true has no effect while connected is false (no "
	       "alerts reach Sentinel)\n"
	       "14:22: warning: severity 'Informational' makes an incident of every informational "
	       "alert (usually noise)\n");
	EXPECT(
	    HEAD "  unselected: disconnect\n"
	         "  defaults:\n"
	         "    connected: true\n"
	         "connector: { mode: tenant }\n",
	    0,
	    "10:3: warning: 'unselected: disconnect' has no effect in tenant mode\n"
	    "12:5: warning: 'connected' has no effect in tenant mode (the tenant-based connector "
	    "covers every subscription)\n");
}

TEST(incident_rule_checks)
{
	EXPECT(HEAD "incidentRule:\n"
	            "  name: a/b\n"
	            "  displayName: ''\n"
	            "  severities: []\n"
	            "  includeAlertNames: [1, '']\n",
	       INVALID,
	       "11:9: error: invalid rule name 'a/b' (it becomes part of a URL path)\n"
	       "12:16: error: 'displayName' must not be empty\n"
	       "13:15: error: 'severities' must not be empty (omit it for all severities)\n"
	       "14:23: error: 'includeAlertNames' must be a string, not a number\n"
	       "14:26: error: 'includeAlertNames' must not be empty\n");
}

TEST(all_errors_in_one_run_and_cap)
{
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_diags d = {0};
	struct mdc_config *cfg = NULL;

	mdc_buf_adds(&b, HEAD "  defaults:\n    plans:\n");
	for (int i = 0; i < 500; i++)
		mdc_buf_addf(&b, "      Plan%d: Standard\n", i);
	ASSERT_EQ_INT(MDC_EINVALID, mdc_config_parse(&cfg, b.ptr, b.len, "x.yaml", &d));
	ASSERT_EQ_INT(201, d.nerrors);
	ASSERT_EQ_STR("too many errors, stopping", d.v[d.n - 1].message);
	fprintf(stderr, "%u:%u: %s\n", d.v[d.n - 1].pos.line, d.v[d.n - 1].pos.col,
	        d.v[d.n - 1].message);
	mdc_diags_clear(&d);
	mdc_buf_release(&b);
}

TEST(load_reports_io_errors)
{
	struct mdc_diags d = {0};
	struct mdc_config *cfg = NULL;

	ASSERT_EQ_INT(MDC_EIO, mdc_config_load(&cfg, "/nonexistent/x.yaml", &d));
	ASSERT(cfg == NULL);
	ASSERT_EQ_INT(1, d.n);
	ASSERT_EQ_INT(0, d.v[0].pos.line);
	fprintf(stderr, "%s\n", d.v[0].message);
	ASSERT_EQ_STR("cannot read '/nonexistent/x.yaml': No such file or directory",
	              d.v[0].message);
	mdc_diags_clear(&d);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
