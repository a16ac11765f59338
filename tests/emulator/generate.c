/*
 * mdcemu --generate N --seed S -o FILE: a deterministic synthetic tenant for tests and
 * benchmarks (same N and S, same bytes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "crypto.h"
#include "emu.h"
#include "banned.h"

struct gen {
	uint64_t x;
};

static uint64_t next(struct gen *g)
{
	g->x ^= g->x >> 12;
	g->x ^= g->x << 25;
	g->x ^= g->x >> 27;
	return g->x * 0x2545f4914f6cdd1dull;
}

/* A value in [0, 100) for percentage choices. */
static int pct(struct gen *g)
{
	return (int)(next(g) % 100);
}

static void guid(struct gen *g, char out[37])
{
	uint64_t a = next(g), b = next(g);

	snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
	         (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xfff,
	         (uint32_t)(0x8000 | ((b >> 48) & 0x3fff)), (uint64_t)(b & 0xffffffffffffull));
}

static void assign(cJSON *list, const char *oid, const char *role, const char *scope)
{
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "principalId", oid);
	cJSON_AddStringToObject(a, "roleDefinitionName", role);
	cJSON_AddStringToObject(a, "scope", scope);
	cJSON_AddItemToArray(list, a);
}

static cJSON *principal(struct gen *g, cJSON *list, const char *name, bool mi, char oid[37])
{
	cJSON *p = cJSON_CreateObject();
	char cid[37], secret[37];

	guid(g, oid);
	guid(g, cid);
	guid(g, secret);
	cJSON_AddStringToObject(p, "objectId", oid);
	cJSON_AddStringToObject(p, "clientId", cid);
	cJSON_AddStringToObject(p, "displayName", name);
	if (mi)
		cJSON_AddBoolToObject(p, "managedIdentity", true);
	else
		cJSON_AddStringToObject(p, "secret", secret);
	cJSON_AddItemToArray(list, p);
	return p;
}

static void add_pricings(struct gen *g, cJSON *sub, bool *standard)
{
	const struct mdc_catalog *cat = mdc_catalog_builtin();
	cJSON *pr = cJSON_AddObjectToObject(sub, "pricings");

	*standard = false;
	for (size_t i = 0; i < cat->nplans; i++) {
		const struct mdc_catalog_plan *p = &cat->plans[i];
		cJSON *o;

		if (p->deprecated || pct(g) >= 25)
			continue; /* Free: left out, the default */
		*standard = true;
		o = cJSON_AddObjectToObject(pr, p->name);
		cJSON_AddStringToObject(o, "pricingTier", "Standard");
		if (p->sub_plans.n)
			cJSON_AddStringToObject(o, "subPlan",
			                        p->sub_plans.v[next(g) % p->sub_plans.n]);
		cJSON_AddStringToObject(o, "enforce", "False");
		cJSON_AddStringToObject(o, "enablementTime", "2024-03-01T12:42:42.1921106Z");
		if (p->extensions.n) {
			cJSON *ex = cJSON_AddArrayToObject(o, "extensions");

			for (size_t e = 0; e < p->extensions.n; e++) {
				cJSON *x = cJSON_CreateObject(), *st;
				bool on = pct(g) < 50;

				cJSON_AddStringToObject(x, "name", p->extensions.v[e]);
				cJSON_AddStringToObject(x, "isEnabled", on ? "True" : "False");
				st = cJSON_AddObjectToObject(x, "operationStatus");
				cJSON_AddStringToObject(st, "code", "Succeeded");
				cJSON_AddStringToObject(st, "message",
				                        on ? "Successfully enabled extension"
				                           : "Successfully disabled extension");
				cJSON_AddItemToArray(ex, x);
			}
		}
	}
}

int emu_generate(int n, uint64_t seed, const char *out_path)
{
	static const char *const top[] = {"mg-prod", "mg-nonprod", "mg-sandbox", "mg-corp"};
	static const char *const envs[] = {"prod", "dev", "sandbox", "corp"};
	struct gen g = {seed * 0x9e3779b97f4a7c15ull + 0x1234567};
	cJSON *st = cJSON_CreateObject(), *mgs, *subs, *wss, *prs, *ras, *ws, *dcs, *rules, *cpp,
	      *cps, *mg;
	char tenant[37], oid1[37], oid2[37], oid3[37], wsub[37] = "", tmp[37], scope[256];
	const char *leaves[12];
	int nleaves = 0, ret;

	guid(&g, tenant);
	cJSON_AddStringToObject(st, "tenantId", tenant);
	cJSON_AddStringToObject(st, "displayName", "Synthetic Tenant");
	cJSON_AddStringToObject(st, "defaultDomain", "synthetic.onmicrosoft.com");
	mgs = cJSON_AddArrayToObject(st, "managementGroups");
	mg = cJSON_CreateObject();
	cJSON_AddStringToObject(mg, "name", tenant);
	cJSON_AddStringToObject(mg, "displayName", "Tenant Root Group");
	cJSON_AddNullToObject(mg, "parent");
	cJSON_AddItemToArray(mgs, mg);
	for (int i = 0; i < 4; i++) {
		mg = cJSON_CreateObject();
		cJSON_AddStringToObject(mg, "name", top[i]);
		cJSON_AddStringToObject(mg, "displayName", top[i] + 3);
		cJSON_AddStringToObject(mg, "parent", tenant);
		cJSON_AddItemToArray(mgs, mg);
		leaves[nleaves++] = top[i];
		for (int j = 0; j < 2; j++) {
			char *name = mdc_xasprintf("%s-%s", top[i], j ? "us" : "eu");
			cJSON *child = cJSON_CreateObject();

			cJSON_AddStringToObject(child, "name", name);
			cJSON_AddStringToObject(child, "displayName", name + 3);
			cJSON_AddStringToObject(child, "parent", top[i]);
			cJSON_AddItemToArray(mgs, child);
			leaves[nleaves++] = emu_str(child, "name");
			free(name);
		}
	}

	prs = cJSON_AddArrayToObject(st, "principals");
	principal(&g, prs, "mdcctl-ci", false, oid1);
	principal(&g, prs, "auditor", false, oid2);
	principal(&g, prs, "mdcctl-mi", true, oid3);
	ras = cJSON_AddArrayToObject(st, "roleAssignments");
	snprintf(scope, sizeof(scope), "/providers/Microsoft.Management/managementGroups/%s",
	         tenant);
	assign(ras, oid1, "Owner", scope);
	assign(ras, oid3, "Security Admin",
	       "/providers/Microsoft.Management/managementGroups/mg-prod");

	subs = cJSON_AddArrayToObject(st, "subscriptions");
	wss = cJSON_AddArrayToObject(st, "workspaces");
	ws = cJSON_CreateObject();
	dcs = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateObject(), *tags, *prov, *set, *sen;
		char id[37];
		const char *leaf = leaves[next(&g) % (uint64_t)nleaves];
		bool standard, registered = i == 0 || pct(&g) >= 20, disabled = i && pct(&g) < 3;
		int env = 0;

		guid(&g, id);
		if (!i)
			snprintf(wsub, sizeof(wsub), "%s", id);
		for (int k = 0; k < 4; k++)
			if (!strncmp(leaf, top[k], strlen(top[k])))
				env = k;
		cJSON_AddStringToObject(s, "subscriptionId", id);
		{
			char *name = mdc_xasprintf("%s-%04d", envs[env], i + 1);
			cJSON_AddStringToObject(s, "displayName", name);
			free(name);
		}
		cJSON_AddStringToObject(s, "state", disabled ? "Disabled" : "Enabled");
		cJSON_AddStringToObject(s, "tenantId", tenant);
		tags = cJSON_AddObjectToObject(s, "tags");
		cJSON_AddStringToObject(tags, "env", envs[env]);
		if (pct(&g) < 30)
			cJSON_AddStringToObject(tags, "costCenter",
			                        pct(&g) < 50 ? "cc-100" : "cc-200");
		cJSON_AddStringToObject(s, "managementGroup", leaf);
		prov = cJSON_AddObjectToObject(s, "providers");
		cJSON_AddStringToObject(prov, "Microsoft.Security", "Registered");
		cJSON_AddStringToObject(prov, "Microsoft.SecurityInsights",
		                        registered ? "Registered" : "NotRegistered");
		cJSON_AddStringToObject(prov, "Microsoft.OperationalInsights", "Registered");
		add_pricings(&g, s, &standard);
		set = cJSON_AddObjectToObject(s, "settings");
		sen = cJSON_AddObjectToObject(set, "Sentinel");
		cJSON_AddBoolToObject(sen, "enabled", standard && pct(&g) < 40);
		cJSON_AddItemToArray(subs, s);
		if (i % 7 == 3) {
			snprintf(scope, sizeof(scope), "/subscriptions/%s", id);
			assign(ras, oid2, "Reader", scope);
		}
		if (standard && registered && pct(&g) < 35) {
			cJSON *dc = cJSON_CreateObject(), *p, *dt, *al;
			char etag[48];

			guid(&g, tmp);
			snprintf(etag, sizeof(etag), "\"%s\"", tmp);
			guid(&g, tmp);
			cJSON_AddStringToObject(dc, "name", tmp);
			cJSON_AddStringToObject(dc, "kind", "AzureSecurityCenter");
			cJSON_AddStringToObject(dc, "etag", etag);
			p = cJSON_AddObjectToObject(dc, "properties");
			cJSON_AddStringToObject(p, "subscriptionId", id);
			dt = cJSON_AddObjectToObject(p, "dataTypes");
			al = cJSON_AddObjectToObject(dt, "alerts");
			cJSON_AddStringToObject(al, "state", "Enabled");
			cJSON_AddItemToArray(dcs, dc);
		}
	}

	cJSON_AddStringToObject(ws, "subscriptionId", wsub);
	cJSON_AddStringToObject(ws, "resourceGroup", "rg-soc");
	cJSON_AddStringToObject(ws, "name", "law-soc");
	guid(&g, tmp);
	cJSON_AddStringToObject(ws, "customerId", tmp);
	cJSON_AddStringToObject(ws, "location", "westeurope");
	cJSON_AddBoolToObject(ws, "onboarded", true);
	cJSON_AddItemToObject(ws, "dataConnectors", dcs);
	rules = cJSON_AddArrayToObject(ws, "alertRules");
	(void)rules;
	cJSON_AddArrayToObject(ws, "contentPackages");
	cpp = cJSON_AddArrayToObject(ws, "contentProductPackages");
	{
		cJSON *pkg = cJSON_CreateObject(), *p;

		cJSON_AddStringToObject(
		    pkg, "name", "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud");
		cJSON_AddStringToObject(pkg, "etag", "\"0300bf09-0000-0000-0000-5c37296e0000\"");
		p = cJSON_AddObjectToObject(pkg, "properties");
		cJSON_AddStringToObject(
		    p, "contentId",
		    "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud");
		cJSON_AddStringToObject(p, "contentProductId",
		                        "azuresentinel.azure-sentinel-solution-micro-sl-"
		                        "3fjq2b4hcwlq6");
		cJSON_AddStringToObject(p, "contentKind", "Solution");
		cJSON_AddStringToObject(p, "contentSchemaVersion", "3.0.0");
		cJSON_AddStringToObject(p, "version", "3.0.3");
		cJSON_AddStringToObject(p, "displayName", "Microsoft Defender for Cloud");
		cJSON_AddItemToArray(cpp, pkg);
	}
	cps = cJSON_GetObjectItemCaseSensitive(ws, "contentPackages");
	(void)cps;
	cJSON_AddItemToArray(wss, ws);
	snprintf(scope, sizeof(scope), "/subscriptions/%s/resourceGroups/rg-soc", wsub);
	assign(ras, oid3, "Microsoft Sentinel Contributor", scope);
	cJSON_AddArrayToObject(st, "alerts");
	ret = emu_state_save(st, out_path);
	if (ret < 0)
		fprintf(stderr, "mdcemu: cannot write %s\n", out_path);
	cJSON_Delete(st);
	return ret;
}
