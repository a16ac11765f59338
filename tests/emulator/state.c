/*
 * The tenant document: loading, saving, defaults, look-ups, and role evaluation
 * (assignments inherited root MG -> MG -> subscription -> resource group -> resource).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "emu.h"
#include "banned.h"

int emu_state_load(cJSON **out, const char *path)
{
	struct mdc_buf b = MDC_BUF_INIT;
	cJSON *doc;

	*out = NULL;
	if (mdc_buf_read_file(&b, path, 512u << 20) < 0)
		return -1;
	doc = cJSON_ParseWithLength(b.ptr, b.len);
	mdc_buf_release(&b);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		errno = EINVAL;
		return -1;
	}
	emu_state_normalize(doc);
	*out = doc;
	return 0;
}

int emu_state_save(const cJSON *state, const char *path)
{
	char *text = cJSON_Print(state);
	char *tmp = mdc_xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	int ret = -1;

	if (!text || !f)
		goto cleanup;
	if (fputs(text, f) < 0 || fputc('\n', f) < 0)
		goto cleanup;
	if (fclose(f) != 0) {
		f = NULL;
		goto cleanup;
	}
	f = NULL;
	ret = rename(tmp, path);
cleanup:
	if (f)
		fclose(f);
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	free(text);
	return ret;
}

/* Built-in role definitions (reference §7.2 GUIDs; actions as Azure publishes them, trimmed
 * to the resource providers the emulator serves plus the usual neighbours). */
static const struct {
	const char *id, *name;
	const char *actions[24];
	const char *not_actions[12];
} builtin_roles[] = {
    {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", {"*"}, {NULL}},
    {"b24988ac-6180-42a0-ab88-20f7382dd24c",
     "Contributor",
     {"*"},
     {"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
      "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
      "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
      "Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action"}},
    {"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", {"*/read"}, {NULL}},
    {"fb1c8493-542b-48eb-b624-b4c8fea62acd",
     "Security Admin",
     {"Microsoft.Authorization/*/read", "Microsoft.Authorization/policyAssignments/*",
      "Microsoft.Authorization/policyDefinitions/*", "Microsoft.Authorization/policyExemptions/*",
      "Microsoft.Authorization/policySetDefinitions/*", "Microsoft.Insights/alertRules/*",
      "Microsoft.Management/managementGroups/read",
      "Microsoft.operationalInsights/workspaces/*/read", "Microsoft.Resources/deployments/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Security/*",
      "Microsoft.IoTSecurity/*", "Microsoft.IoTFirmwareDefense/*", "Microsoft.Support/*"},
     {NULL}},
    {"39bc4728-0917-49c7-9d2c-d95423bc2eb4",
     "Security Reader",
     {"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/read",
      "Microsoft.operationalInsights/workspaces/*/read", "Microsoft.Resources/deployments/*/read",
      "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Security/*/read",
      "Microsoft.IoTSecurity/*/read", "Microsoft.Support/*/read",
      "Microsoft.Security/iotDefenderSettings/packageDownloads/action",
      "Microsoft.Security/iotDefenderSettings/downloadManagerActivation/action",
      "Microsoft.Security/iotSensors/downloadResetPassword/action",
      "Microsoft.IoTSecurity/defenderSettings/packageDownloads/action",
      "Microsoft.IoTSecurity/defenderSettings/downloadManagerActivation/action",
      "Microsoft.Management/managementGroups/read"},
     {NULL}},
    {"ab8e14d6-4a74-4a29-9ba8-549422addade",
     "Microsoft Sentinel Contributor",
     {"Microsoft.SecurityInsights/*",
      "Microsoft.OperationalInsights/workspaces/analytics/query/action",
      "Microsoft.OperationalInsights/workspaces/*/read",
      "Microsoft.OperationalInsights/workspaces/savedSearches/*",
      "Microsoft.OperationsManagement/solutions/read",
      "Microsoft.OperationalInsights/workspaces/query/read",
      "Microsoft.OperationalInsights/workspaces/query/*/read",
      "Microsoft.OperationalInsights/workspaces/dataSources/read",
      "Microsoft.OperationalInsights/querypacks/*/read", "Microsoft.Insights/workbooks/*",
      "Microsoft.Insights/myworkbooks/read", "Microsoft.Authorization/*/read",
      "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"},
     {"Microsoft.SecurityInsights/ConfidentialWatchlists/*",
      "Microsoft.OperationalInsights/workspaces/query/ConfidentialWatchlist/*"}},
    {"8d289c81-5878-46d4-8554-54e1e3d8b5cb",
     "Microsoft Sentinel Reader",
     {"Microsoft.SecurityInsights/*/read",
      "Microsoft.SecurityInsights/dataConnectorsCheckRequirements/action",
      "Microsoft.SecurityInsights/threatIntelligence/indicators/query/action",
      "Microsoft.SecurityInsights/threatIntelligence/queryIndicators/action",
      "Microsoft.OperationalInsights/workspaces/analytics/query/action",
      "Microsoft.OperationalInsights/workspaces/*/read",
      "Microsoft.OperationalInsights/workspaces/LinkedServices/read",
      "Microsoft.OperationalInsights/workspaces/savedSearches/read",
      "Microsoft.OperationsManagement/solutions/read",
      "Microsoft.OperationalInsights/workspaces/query/read",
      "Microsoft.OperationalInsights/workspaces/query/*/read",
      "Microsoft.OperationalInsights/querypacks/*/read",
      "Microsoft.OperationalInsights/workspaces/dataSources/read",
      "Microsoft.Insights/workbooks/read",
      "Microsoft.Insights/myworkbooks/read",
      "Microsoft.Authorization/*/read",
      "Microsoft.Insights/alertRules/*",
      "Microsoft.Resources/deployments/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Support/*"},
     {"Microsoft.SecurityInsights/ConfidentialWatchlists/*",
      "Microsoft.OperationalInsights/workspaces/query/ConfidentialWatchlist/*"}},
    {"f4c81013-99ee-4d62-a7ee-b3f1f648599a",
     "Microsoft Sentinel Automation Contributor",
     {"Microsoft.Logic/workflows/triggers/read",
      "Microsoft.Logic/workflows/triggers/listCallbackUrl/action",
      "Microsoft.Logic/workflows/runs/read", "Microsoft.Web/sites/hostruntime/*",
      "Microsoft.Web/sites/read", "Microsoft.Web/sites/list/action"},
     {NULL}},
};

static cJSON *string_array(const char *const *v, size_t max)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < max && v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *ensure(cJSON *obj, const char *key, int array)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!item)
		item = array ? cJSON_AddArrayToObject(obj, key) : cJSON_AddObjectToObject(obj, key);
	return item;
}

/* The subscription index (emu_find_sub); the generation tells it the state changed. */
static struct {
	pthread_mutex_t lock;
	const cJSON *array;
	unsigned long generation;
	const cJSON **slots; /* open addressing; NULL = empty */
	size_t nslots;
} sub_index = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, NULL, 0};
static unsigned long state_generation;

void emu_state_normalize(cJSON *state)
{
	cJSON *defs = ensure(state, "roleDefinitions", 1);
	char guid[37];

	pthread_mutex_lock(&sub_index.lock);
	state_generation++;
	pthread_mutex_unlock(&sub_index.lock);

	for (size_t i = 0; i < sizeof(builtin_roles) / sizeof(builtin_roles[0]); i++) {
		cJSON *d;

		if (emu_find_named(defs, "name", builtin_roles[i].id))
			continue;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name", builtin_roles[i].id);
		cJSON_AddStringToObject(d, "roleName", builtin_roles[i].name);
		cJSON_AddStringToObject(d, "type", "BuiltInRole");
		cJSON_AddItemToObject(d, "actions", string_array(builtin_roles[i].actions, 24));
		cJSON_AddItemToObject(d, "notActions",
		                      string_array(builtin_roles[i].not_actions, 12));
		cJSON_AddArrayToObject(d, "dataActions");
		cJSON_AddArrayToObject(d, "notDataActions");
		cJSON_AddItemToArray(defs, d);
	}
	ensure(state, "managementGroups", 1);
	ensure(state, "subscriptions", 1);
	ensure(state, "workspaces", 1);
	ensure(state, "principals", 1);
	ensure(state, "roleAssignments", 1);
	if (!emu_str(state, "managedIdentityHeader")) {
		mdc_guid_random(guid);
		cJSON_AddStringToObject(state, "managedIdentityHeader", guid);
	}
}

const char *emu_str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

cJSON *emu_find_named(const cJSON *array, const char *key, const char *value)
{
	const cJSON *item;

	if (!value)
		return NULL;
	cJSON_ArrayForEach(item, array)
	{
		const char *v = emu_str(item, key);

		if (v && !strcasecmp(v, value))
			return (cJSON *)item;
	}
	return NULL;
}

/*
 * Subscriptions by id: a hash index over the state's subscription array, so that a request
 * does not scan thousands of subscriptions (several times) under the state lock. The index
 * is rebuilt when the array or the state generation (bumped by emu_state_normalize, i.e. on
 * load and PUT /_emulator/state) changes; every hit is checked against the item's id and a
 * miss falls back to the scan, so an id edited through the admin API is still found.
 */

static size_t id_hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 1099511628211ull;
	}
	return h;
}

static void sub_index_build(const cJSON *array)
{
	const cJSON *s;
	size_t n = 0;

	cJSON_ArrayForEach(s, array) n++;
	free(sub_index.slots);
	sub_index.nslots = 16;
	while (sub_index.nslots < 2 * n)
		sub_index.nslots *= 2;
	sub_index.slots = mdc_xcalloc(sub_index.nslots, sizeof(*sub_index.slots));
	cJSON_ArrayForEach(s, array)
	{
		const char *id = emu_str(s, "subscriptionId");
		size_t i;

		if (!id)
			continue;
		for (i = id_hash(id) & (sub_index.nslots - 1); sub_index.slots[i];
		     i = (i + 1) & (sub_index.nslots - 1))
			;
		sub_index.slots[i] = s;
	}
	sub_index.array = array;
	sub_index.generation = state_generation;
}

cJSON *emu_find_sub(const cJSON *state, const char *sub)
{
	const cJSON *array = cJSON_GetObjectItemCaseSensitive(state, "subscriptions");
	const cJSON *hit = NULL;

	if (!sub || !array)
		return NULL;
	pthread_mutex_lock(&sub_index.lock);
	if (sub_index.array != array || sub_index.generation != state_generation)
		sub_index_build(array);
	for (size_t i = id_hash(sub) & (sub_index.nslots - 1); sub_index.slots[i];
	     i = (i + 1) & (sub_index.nslots - 1)) {
		const char *id = emu_str(sub_index.slots[i], "subscriptionId");

		if (id && !strcasecmp(id, sub)) {
			hit = sub_index.slots[i];
			break;
		}
	}
	pthread_mutex_unlock(&sub_index.lock);
	return hit ? (cJSON *)hit : emu_find_named(array, "subscriptionId", sub);
}

cJSON *emu_find_mg(const cJSON *state, const char *mg)
{
	return emu_find_named(cJSON_GetObjectItemCaseSensitive(state, "managementGroups"), "name",
	                      mg);
}

cJSON *emu_find_workspace(const cJSON *state, const char *sub, const char *rg, const char *name)
{
	const cJSON *ws;

	cJSON_ArrayForEach(ws, cJSON_GetObjectItemCaseSensitive(state, "workspaces"))
	{
		const char *s = emu_str(ws, "subscriptionId"), *r = emu_str(ws, "resourceGroup"),
		           *n = emu_str(ws, "name");

		if (s && r && n && !strcasecmp(s, sub) && !strcasecmp(r, rg) &&
		    (!name || !strcasecmp(n, name)))
			return (cJSON *)ws;
	}
	return NULL;
}

/* The parent of a management group; the tenant root group (name == tenantId) has none,
 * and a group without a parent hangs below the root. */
static const char *mg_parent(const cJSON *state, const char *mg)
{
	const char *tenant = emu_str(state, "tenantId");
	const cJSON *g = emu_find_mg(state, mg);
	const char *p = g ? emu_str(g, "parent") : NULL;

	if (tenant && !strcasecmp(mg, tenant))
		return NULL;
	return p ? p : tenant;
}

/* Appends the scopes from which assignments reach `scope` (the scope itself included). */
static void scope_chain(const cJSON *state, const char *scope, struct mdc_strvec *out)
{
	static const char mgp[] = "/providers/Microsoft.Management/managementGroups/";
	const char *mg = NULL;
	struct mdc_buf b = MDC_BUF_INIT;
	char *sub = NULL;

	mdc_strvec_push(out, "/");
	if (!strncasecmp(scope, mgp, sizeof(mgp) - 1)) {
		mg = scope + sizeof(mgp) - 1;
	} else if (!strncasecmp(scope, "/subscriptions/", 15)) {
		const char *s = scope + 15, *e = strchr(s, '/');
		const cJSON *subj;

		sub = e ? mdc_xstrndup(s, (size_t)(e - s)) : mdc_xstrdup(s);
		subj = emu_find_sub(state, sub);
		mg = subj ? emu_str(subj, "managementGroup") : NULL;
		if (subj && !mg)
			mg = emu_str(state, "tenantId");
		/* every prefix of the resource path at a segment boundary */
		for (const char *p = scope + 1; *p; p++)
			if (*p == '/') {
				mdc_strvec_push_owned(out,
				                      mdc_xstrndup(scope, (size_t)(p - scope)));
			}
		mdc_strvec_push(out, scope);
	}
	for (int depth = 0; mg && depth < 32; depth++) {
		mdc_buf_reset(&b);
		mdc_buf_addf(&b, "%s%s", mgp, mg);
		mdc_strvec_push(out, b.ptr);
		mg = mg_parent(state, mg);
	}
	mdc_buf_release(&b);
	free(sub);
}

static void trim_scope(const char *in, char *out, size_t n)
{
	size_t len = strlen(in);

	while (len > 1 && in[len - 1] == '/')
		len--;
	snprintf(out, n, "%.*s", (int)len, in);
}

static const cJSON *role_def(const cJSON *state, const cJSON *assignment)
{
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(state, "roleDefinitions");
	const char *name = emu_str(assignment, "roleDefinitionName");
	const char *id = emu_str(assignment, "roleDefinitionId");

	if (name)
		return emu_find_named(defs, "roleName", name);
	if (id) {
		const char *slash = strrchr(id, '/');
		return emu_find_named(defs, "name", slash ? slash + 1 : id);
	}
	return NULL;
}

cJSON *emu_effective_roles(const cJSON *state, const char *oid, const char *scope)
{
	struct mdc_strvec chain = {0};
	cJSON *out = cJSON_CreateArray();
	const cJSON *a;
	char s[1024];

	scope_chain(state, scope, &chain);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(state, "roleAssignments"))
	{
		const char *p = emu_str(a, "principalId"), *sc = emu_str(a, "scope");
		const cJSON *def;
		cJSON *e;

		if (!p || !sc || strcasecmp(p, oid))
			continue;
		trim_scope(sc, s, sizeof(s));
		if (mdc_strvec_find(&chain, s, true) < 0)
			continue;
		def = role_def(state, a);
		if (!def)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "roleDefinitionName", emu_str(def, "roleName"));
		for (int i = 0; i < 4; i++) {
			static const char *const keys[] = {"actions", "notActions", "dataActions",
			                                   "notDataActions"};
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, keys[i]);

			cJSON_AddItemToObject(e, keys[i],
			                      v ? cJSON_Duplicate(v, 1) : cJSON_CreateArray());
		}
		cJSON_AddItemToArray(out, e);
	}
	mdc_strvec_clear(&chain);
	return out;
}

/* Case-insensitive glob where '*' matches any run of characters (ARM action patterns). */
static bool glob_i(const char *pat, const char *s)
{
	if (!*pat)
		return !*s;
	if (*pat == '*') {
		for (;; s++) {
			if (glob_i(pat + 1, s))
				return true;
			if (!*s)
				return false;
		}
	}
	if (!*s || tolower((unsigned char)*pat) != tolower((unsigned char)*s))
		return false;
	return glob_i(pat + 1, s + 1);
}

static bool any_match(const cJSON *patterns, const char *action)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, patterns)
	{
		if (cJSON_IsString(p) && glob_i(p->valuestring, action))
			return true;
	}
	return false;
}

bool emu_roles_allow(const cJSON *roles, const char *action)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, roles)
	{
		if (any_match(cJSON_GetObjectItemCaseSensitive(r, "actions"), action) &&
		    !any_match(cJSON_GetObjectItemCaseSensitive(r, "notActions"), action))
			return true;
	}
	return false;
}

bool emu_allowed(const cJSON *state, const char *oid, const char *scope, const char *action)
{
	cJSON *roles = emu_effective_roles(state, oid, scope);
	bool ok = emu_roles_allow(roles, action);

	cJSON_Delete(roles);
	return ok;
}

void emu_caller_scopes(const cJSON *state, const char *oid, struct mdc_strvec *out)
{
	const cJSON *a;
	char sc[1024];

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(state, "roleAssignments"))
	{
		const char *p = emu_str(a, "principalId"), *scope = emu_str(a, "scope");

		if (!p || !scope || strcasecmp(p, oid) || !role_def(state, a))
			continue;
		trim_scope(scope, sc, sizeof(sc));
		mdc_strvec_push(out, sc);
	}
}

bool emu_sub_visible_to(const cJSON *state, const struct mdc_strvec *scopes, const char *sub)
{
	struct mdc_strvec chain = {0};
	char scope[128], below[130];
	bool ok = false;

	if (!scopes->n)
		return false;
	snprintf(scope, sizeof(scope), "/subscriptions/%s", sub);
	snprintf(below, sizeof(below), "%s/", scope);
	scope_chain(state, scope, &chain);
	for (size_t i = 0; !ok && i < scopes->n; i++)
		ok = mdc_strvec_find(&chain, scopes->v[i], true) >= 0 ||
		     !strncasecmp(scopes->v[i], below, strlen(below));
	mdc_strvec_clear(&chain);
	return ok;
}

bool emu_sub_visible(const cJSON *state, const char *oid, const char *sub)
{
	char scope[128], below[130];
	cJSON *roles;
	bool ok;
	const cJSON *a;

	snprintf(scope, sizeof(scope), "/subscriptions/%s", sub);
	roles = emu_effective_roles(state, oid, scope);
	ok = cJSON_GetArraySize(roles) > 0;
	cJSON_Delete(roles);
	if (ok)
		return true;
	/* A role on a resource group or resource also makes the subscription visible. */
	snprintf(below, sizeof(below), "%s/", scope);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(state, "roleAssignments"))
	{
		const char *p = emu_str(a, "principalId"), *sc = emu_str(a, "scope");

		if (p && sc && !strcasecmp(p, oid) && !strncasecmp(sc, below, strlen(below)))
			return true;
	}
	return false;
}

const char *emu_provider_state(const cJSON *sub, const char *ns)
{
	static const char *const always[] = {"Microsoft.Resources", "Microsoft.Authorization",
	                                     "Microsoft.Management", "Microsoft.Security",
	                                     "Microsoft.OperationalInsights"};
	const cJSON *providers = cJSON_GetObjectItemCaseSensitive(sub, "providers");
	const cJSON *p;

	cJSON_ArrayForEach(p, providers)
	{
		if (p->string && !strcasecmp(p->string, ns) && cJSON_IsString(p))
			return p->valuestring;
	}
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (!strcasecmp(always[i], ns))
			return "Registered";
	return "NotRegistered";
}

void emu_new_etag(char out[48])
{
	char guid[37];

	mdc_guid_random(guid);
	snprintf(out, 48, "\"%s\"", guid);
}

void emu_timestamp(char out[40])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%07dZ", (tm.tm_year + 1900) % 10000,
	         (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
	         tm.tm_sec % 100, (int)(ts.tv_nsec / 100) % 10000000);
}
