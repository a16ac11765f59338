#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "catalog.h"

TEST(builtin_has_every_plan)
{
	static const char *const names[] = {"VirtualMachines",
	                                    "SqlServers",
	                                    "AppServices",
	                                    "StorageAccounts",
	                                    "SqlServerVirtualMachines",
	                                    "KeyVaults",
	                                    "Arm",
	                                    "OpenSourceRelationalDatabases",
	                                    "Containers",
	                                    "CloudPosture",
	                                    "Api",
	                                    "CosmosDbs",
	                                    "AI",
	                                    "Dns",
	                                    "KubernetesService",
	                                    "ContainerRegistry"};
	const struct mdc_catalog *c = mdc_catalog_builtin();

	ASSERT(c != NULL);
	ASSERT_EQ_INT(16, c->nplans);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ASSERT(mdc_catalog_plan(c, names[i]) != NULL);
		ASSERT_EQ_STR(names[i], c->plans[i].name);
	}
	ASSERT(mdc_catalog_builtin() == c);
}

TEST(lookup_is_case_insensitive)
{
	const struct mdc_catalog *c = mdc_catalog_builtin();
	const struct mdc_catalog_plan *p = mdc_catalog_plan(c, "virtualmachines");

	ASSERT(p != NULL);
	ASSERT_EQ_STR("VirtualMachines", p->name);
	ASSERT(mdc_catalog_plan(c, "VirtualMachine") == NULL);
	ASSERT(mdc_catalog_plan(c, NULL) == NULL);
}

TEST(sub_plans_and_defaults)
{
	const struct mdc_catalog *c = mdc_catalog_builtin();
	const struct mdc_catalog_plan *vm = mdc_catalog_plan(c, "VirtualMachines");
	const struct mdc_catalog_plan *st = mdc_catalog_plan(c, "StorageAccounts");
	const struct mdc_catalog_plan *api = mdc_catalog_plan(c, "Api");
	const struct mdc_catalog_plan *sql = mdc_catalog_plan(c, "SqlServers");

	ASSERT_EQ_INT(2, vm->sub_plans.n);
	ASSERT_EQ_STR("P2", vm->default_sub_plan);
	ASSERT(mdc_catalog_plan_has_sub_plan(vm, "P1"));
	ASSERT(mdc_catalog_plan_has_sub_plan(vm, "p2"));
	ASSERT(!mdc_catalog_plan_has_sub_plan(vm, "P3"));
	ASSERT_EQ_STR("DefenderForStorageV2", st->default_sub_plan);
	ASSERT(mdc_catalog_plan_has_sub_plan(st, "PerTransaction"));
	ASSERT_EQ_INT(5, api->sub_plans.n);
	ASSERT(mdc_catalog_plan_has_sub_plan(mdc_catalog_plan(c, "KeyVaults"), "PerKeyVault"));
	ASSERT(mdc_catalog_plan_has_sub_plan(mdc_catalog_plan(c, "Arm"), "PerApiCall"));
	ASSERT_EQ_INT(0, sql->sub_plans.n);
	ASSERT(sql->default_sub_plan == NULL);
}

TEST(extensions_per_plan)
{
	const struct mdc_catalog *c = mdc_catalog_builtin();
	const struct mdc_catalog_plan *vm = mdc_catalog_plan(c, "VirtualMachines");
	const struct mdc_catalog_plan *cspm = mdc_catalog_plan(c, "CloudPosture");

	ASSERT(mdc_catalog_plan_has_extension(vm, "AgentlessVmScanning"));
	ASSERT(mdc_catalog_plan_has_extension(vm, "MdeDesignatedSubscription"));
	ASSERT(!mdc_catalog_plan_has_extension(vm, "OnUploadMalwareScanning"));
	ASSERT_EQ_INT(1, vm->default_extensions.n);
	ASSERT_EQ_STR("AgentlessVmScanning", vm->default_extensions.v[0]);
	ASSERT_EQ_INT(5, cspm->extensions.n);
	ASSERT(mdc_catalog_plan_has_extension(mdc_catalog_plan(c, "StorageAccounts"),
	                                      "OnUploadMalwareScanning"));
	ASSERT(mdc_catalog_plan_has_extension(mdc_catalog_plan(c, "Containers"),
	                                      "ContainerRegistriesVulnerabilityAssessments"));
	ASSERT(!mdc_catalog_plan_has_extension(mdc_catalog_plan(c, "Arm"), "AgentlessVmScanning"));
}

TEST(deprecated_plans_name_replacements)
{
	const struct mdc_catalog *c = mdc_catalog_builtin();
	const struct mdc_catalog_plan *dns = mdc_catalog_plan(c, "Dns");
	const struct mdc_catalog_plan *k8s = mdc_catalog_plan(c, "KubernetesService");
	const struct mdc_catalog_plan *acr = mdc_catalog_plan(c, "ContainerRegistry");

	ASSERT(dns->deprecated && k8s->deprecated && acr->deprecated);
	ASSERT_EQ_STR("VirtualMachines", dns->replaced_by.v[0]);
	ASSERT_EQ_STR("Containers", k8s->replaced_by.v[0]);
	ASSERT_EQ_STR("Containers", acr->replaced_by.v[0]);
	ASSERT(!mdc_catalog_plan(c, "Containers")->deprecated);
}

static void expect_parse_error(int *mdc_failed_, const char *json, const char *msg)
{
	struct mdc_catalog *c = (struct mdc_catalog *)1;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(MDC_EINVALID, mdc_catalog_parse(&c, json, strlen(json), &err));
	ASSERT(c == NULL);
	fprintf(stderr, "  %s\n", err.message);
	ASSERT_EQ_STR(msg, err.message);
	mdc_error_clear(&err);
}

TEST(parse_rejects_bad_documents)
{
	expect_parse_error(mdc_failed_, "{", "catalogue: not valid JSON");
	expect_parse_error(mdc_failed_, "{\"version\":2,\"plans\":[]}",
	                   "catalogue: 'version' must be 1");
	expect_parse_error(mdc_failed_, "{\"version\":1,\"plans\":[]}",
	                   "catalogue: 'plans' must be a non-empty array");
	expect_parse_error(mdc_failed_,
	                   "{\"version\":1,\"plans\":[{\"name\":\"A\"},{\"name\":\"a\"}]}",
	                   "catalogue: plan 'a' appears twice");
	expect_parse_error(mdc_failed_,
	                   "{\"version\":1,\"plans\":[{\"name\":\"A\",\"subPlans\":[\"P1\"],"
	                   "\"defaultSubPlan\":\"P2\"}]}",
	                   "catalogue: plan 'A': 'defaultSubPlan' must be one of its 'subPlans'");
	expect_parse_error(mdc_failed_,
	                   "{\"version\":1,\"plans\":[{\"name\":\"A\",\"deprecated\":true,"
	                   "\"replacedBy\":[\"B\"]}]}",
	                   "catalogue: plan 'A' is replaced by 'B', which is not a current plan");
	expect_parse_error(mdc_failed_, "{\"version\":1,\"plans\":[{\"name\":\"A\",\"sub\":[]}]}",
	                   "catalogue: plan 'A': unknown key 'sub'");
	expect_parse_error(mdc_failed_,
	                   "{\"version\":1,\"plans\":[{\"name\":\"A\",\"extensions\":[\"X\"],"
	                   "\"defaultExtensions\":[\"Y\"]}]}",
	                   "catalogue: plan 'A': default extension 'Y' is not in 'extensions'");
}

TEST(parse_accepts_small_document)
{
	static const char json[] =
	    "{\"version\":1,\"plans\":[{\"name\":\"A\",\"subPlans\":[\"x\"],"
	    "\"defaultSubPlan\":\"x\"},{\"name\":\"Old\",\"deprecated\":true,"
	    "\"replacedBy\":[\"A\"]}]}";
	struct mdc_catalog *c = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(0, mdc_catalog_parse(&c, json, strlen(json), &err));
	ASSERT_EQ_INT(2, c->nplans);
	ASSERT_EQ_STR("x", mdc_catalog_plan(c, "a")->default_sub_plan);
	ASSERT(mdc_catalog_plan(c, "old")->deprecated);
	mdc_catalog_free(c);
	mdc_catalog_free(NULL);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
