/*
 * The ARM routes of reference §0, answered as Azure Resource Manager does: bearer check
 * (entra.c), api-version, throttling, RBAC, provider registration, then the resource
 * provider's own behaviour. Every UNCERTAIN choice is marked and listed in README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "crypto.h"
#include "emu.h"
#include "entra.h"
#include "banned.h"

/* --- api-versions: reference §12 plus the older ones SDKs and the Azure CLI send --- */
static const char *const v_resources[] = {
    "2022-12-01", "2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01",
    "2022-09-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-06-01", "2020-01-01",
    "2019-11-01", "2019-10-01", "2019-08-01", "2019-07-01", "2019-06-01", "2019-05-01",
    "2018-05-01", "2018-02-01", "2017-05-10", "2016-09-01", "2016-06-01", "2016-02-01",
    "2015-11-01", NULL};
static const char *const v_mg[] = {"2023-04-01", "2021-04-01", "2020-10-01",         "2020-05-01",
                                   "2020-02-01", "2019-11-01", "2018-03-01-preview", NULL};
static const char *const v_pricings[] = {"2024-01-01", "2023-01-01",         "2022-03-01",
                                         "2018-06-01", "2017-08-01-preview", NULL};
static const char *const v_settings[] = {"2022-05-01", "2021-07-01",         "2021-06-01",
                                         "2019-01-01", "2017-08-01-preview", NULL};
static const char *const v_permissions[] = {
    "2022-04-01", "2022-05-01-preview", "2018-07-01", "2018-01-01-preview", "2015-07-01", NULL};
static const char *const v_workspaces[] = {"2025-02-01",         "2023-09-01",         "2022-10-01",
                                           "2021-12-01-preview", "2021-06-01",         "2020-10-01",
                                           "2020-08-01",         "2015-11-01-preview", NULL};
/* ARM's batch endpoint (§9.5, UNCERTAIN: undocumented): the one version the portal sends. */
static const char *const v_batch[] = {"2020-06-01", NULL};
/* SecurityInsights: 2022-09-01-preview and everything published since (approximate list). */
static const char *const v_si[] = {"2025-09-01",         "2025-10-01-preview", "2025-07-01-preview",
                                   "2025-06-01",         "2025-04-01-preview", "2025-03-01",
                                   "2025-01-01-preview", "2024-10-01-preview", "2024-09-01",
                                   "2024-04-01-preview", "2024-03-01",         "2024-01-01-preview",
                                   "2023-12-01-preview", "2023-11-01",         "2023-10-01-preview",
                                   "2023-09-01-preview", "2023-08-01-preview", "2023-07-01-preview",
                                   "2023-06-01-preview", "2023-05-01-preview", "2023-04-01-preview",
                                   "2023-03-01-preview", "2023-02-01-preview", "2023-02-01",
                                   "2022-12-01-preview", "2022-11-01-preview", "2022-11-01",
                                   "2022-10-01-preview", "2022-09-01-preview", NULL};

enum route_kind {
	R_NONE,
	R_SUBS,
	R_SUB,
	R_TENANTS,
	R_MG_DESC,
	R_MG_LIST,
	R_PROVIDERS,
	R_PROVIDER,
	R_REGISTER,
	R_PRICINGS,
	R_PRICING,
	R_SETTINGS,
	R_SETTING,
	R_PERMISSIONS,
	R_WORKSPACE,
	R_WORKSPACES,
	R_SI_LIST,
	R_SI_ITEM,
	R_BATCH,
};

struct route {
	enum route_kind kind;
	char *seg[24];
	int n;
	const char *sub, *rg, *ws, *mg, *ns, *coll, *name;
	const char *const *versions;
	char action[160];
	bool tenant_scope;
	bool is_list;
};

struct ctx {
	struct emu *emu;
	struct emu_req *req;
	struct emu_resp *resp;
	struct route *rt;
	const char *api_version;
	long delay_ms; /* to sleep after the lock is released */
	bool batch;    /* a POST /batch that passed the front door: run it unlocked */
};

static bool seg_is(const struct route *rt, int i, const char *s)
{
	return i < rt->n && !strcasecmp(rt->seg[i], s);
}

static void split(struct route *rt, const char *path)
{
	const char *p = path;

	rt->n = 0;
	while (*p && rt->n < 24) {
		const char *e;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		rt->seg[rt->n++] = mdc_xstrndup(p, (size_t)(e - p));
		p = e;
	}
}

static const char *si_collections[] = {"dataConnectors",   "alertRules",
                                       "contentPackages",  "contentProductPackages",
                                       "onboardingStates", NULL};

static const char *canonical(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcasecmp(names[i], s))
			return names[i];
	return NULL;
}

/* Classifies the path; fills the action the caller needs (reference §7.1). */
static void classify(struct route *rt, const char *method)
{
	const char *op = !strcmp(method, "GET") || !strcmp(method, "HEAD") ? "read"
	                 : !strcmp(method, "DELETE")                       ? "delete"
	                                                                   : "write";

	rt->kind = R_NONE;
	if (rt->n == 1 && seg_is(rt, 0, "batch")) {
		rt->kind = R_BATCH;
		rt->versions = v_batch;
		rt->tenant_scope = true;
		return;
	}
	if (rt->n == 1 && seg_is(rt, 0, "subscriptions")) {
		rt->kind = R_SUBS;
		rt->versions = v_resources;
		rt->tenant_scope = true;
		rt->is_list = true;
		return;
	}
	if (rt->n == 1 && seg_is(rt, 0, "tenants")) {
		rt->kind = R_TENANTS;
		rt->versions = v_resources;
		rt->tenant_scope = true;
		rt->is_list = true;
		return;
	}
	if (rt->n == 5 && seg_is(rt, 0, "providers") && seg_is(rt, 1, "Microsoft.Management") &&
	    seg_is(rt, 2, "managementGroups") && seg_is(rt, 4, "descendants")) {
		rt->kind = R_MG_DESC;
		rt->mg = rt->seg[3];
		rt->versions = v_mg;
		rt->tenant_scope = true;
		rt->is_list = true;
		snprintf(rt->action, sizeof(rt->action),
		         "Microsoft.Management/managementGroups/descendants/read");
		return;
	}
	if (rt->n == 3 && seg_is(rt, 0, "providers") && seg_is(rt, 1, "Microsoft.Management") &&
	    seg_is(rt, 2, "managementGroups")) {
		/* not used by mdcctl; the Azure CLI's `az account management-group list` */
		rt->kind = R_MG_LIST;
		rt->versions = v_mg;
		rt->tenant_scope = true;
		rt->is_list = true;
		return;
	}
	if (rt->n < 2 || !seg_is(rt, 0, "subscriptions"))
		return;
	rt->sub = rt->seg[1];
	if (rt->n == 2) {
		rt->kind = R_SUB;
		rt->versions = v_resources;
		return;
	}
	if (seg_is(rt, 2, "providers")) {
		if (rt->n == 3) {
			rt->kind = R_PROVIDERS;
			rt->versions = v_resources;
			rt->is_list = true;
			snprintf(rt->action, sizeof(rt->action),
			         "Microsoft.Resources/subscriptions/providers/read");
			return;
		}
		rt->ns = rt->seg[3];
		if (rt->n == 4) {
			rt->kind = R_PROVIDER;
			rt->versions = v_resources;
			snprintf(rt->action, sizeof(rt->action),
			         "Microsoft.Resources/subscriptions/providers/read");
			return;
		}
		if (rt->n == 5 && seg_is(rt, 4, "register")) {
			rt->kind = R_REGISTER;
			rt->versions = v_resources;
			snprintf(rt->action, sizeof(rt->action), "%s/register/action", rt->ns);
			return;
		}
		if (seg_is(rt, 3, "Microsoft.Security") && (rt->n == 5 || rt->n == 6) &&
		    (seg_is(rt, 4, "pricings") || seg_is(rt, 4, "settings"))) {
			bool pricing = seg_is(rt, 4, "pricings");

			rt->kind = pricing ? (rt->n == 5 ? R_PRICINGS : R_PRICING)
			                   : (rt->n == 5 ? R_SETTINGS : R_SETTING);
			rt->name = rt->n == 6 ? rt->seg[5] : NULL;
			rt->versions = pricing ? v_pricings : v_settings;
			rt->is_list = rt->n == 5;
			snprintf(rt->action, sizeof(rt->action), "Microsoft.Security/%s/%s",
			         pricing ? "pricings" : "settings", op);
			return;
		}
		if (rt->n == 5 && seg_is(rt, 3, "Microsoft.OperationalInsights") &&
		    seg_is(rt, 4, "workspaces")) {
			rt->kind = R_WORKSPACES;
			rt->versions = v_workspaces;
			rt->is_list = true;
			snprintf(rt->action, sizeof(rt->action),
			         "Microsoft.OperationalInsights/workspaces/%s", op);
			return;
		}
		if (rt->n == 5 && seg_is(rt, 3, "Microsoft.Authorization") &&
		    seg_is(rt, 4, "permissions")) {
			rt->kind = R_PERMISSIONS;
			rt->versions = v_permissions;
			rt->is_list = true;
			return;
		}
		return;
	}
	if (!seg_is(rt, 2, "resourceGroups") || rt->n < 4)
		return;
	rt->rg = rt->seg[3];
	if (rt->n == 7 && seg_is(rt, 4, "providers") && seg_is(rt, 5, "Microsoft.Authorization") &&
	    seg_is(rt, 6, "permissions")) {
		rt->kind = R_PERMISSIONS;
		rt->versions = v_permissions;
		rt->is_list = true;
		return;
	}
	if (rt->n < 8 || !seg_is(rt, 4, "providers") ||
	    !seg_is(rt, 5, "Microsoft.OperationalInsights") || !seg_is(rt, 6, "workspaces"))
		return;
	rt->ws = rt->seg[7];
	if (rt->n == 8) {
		rt->kind = R_WORKSPACE;
		rt->versions = v_workspaces;
		snprintf(rt->action, sizeof(rt->action),
		         "Microsoft.OperationalInsights/workspaces/%s", op);
		return;
	}
	if (rt->n == 11 && seg_is(rt, 8, "providers") && seg_is(rt, 9, "Microsoft.Authorization") &&
	    seg_is(rt, 10, "permissions")) {
		rt->kind = R_PERMISSIONS;
		rt->versions = v_permissions;
		rt->is_list = true;
		return;
	}
	if ((rt->n == 11 || rt->n == 12) && seg_is(rt, 8, "providers") &&
	    seg_is(rt, 9, "Microsoft.SecurityInsights")) {
		rt->coll = canonical(si_collections, rt->seg[10]);
		if (!rt->coll)
			return;
		rt->kind = rt->n == 11 ? R_SI_LIST : R_SI_ITEM;
		rt->name = rt->n == 12 ? rt->seg[11] : NULL;
		rt->versions = v_si;
		rt->is_list = rt->n == 11;
		snprintf(rt->action, sizeof(rt->action), "Microsoft.SecurityInsights/%s/%s",
		         rt->coll, op);
	}
}

/* --- common answers --- */

static void not_found(struct ctx *c, const char *what)
{
	emu_resp_error(c->resp, 404, "NotFound", "%s not found.", what);
}

static void method_not_allowed(struct ctx *c)
{
	emu_resp_error(c->resp, 405, "MethodNotAllowed",
	               "The requested resource does not support http method '%s'.", c->req->method);
}

static void bad_request(struct ctx *c, const char *fmt, const char *arg)
{
	emu_resp_error(c->resp, 400, "BadRequest", fmt, arg);
}

static void missing_registration(struct ctx *c, const char *ns)
{
	cJSON *doc = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(doc, "error");
	cJSON *details = cJSON_AddArrayToObject(err, "details"), *d = cJSON_CreateObject();
	char *msg = mdc_xasprintf("The subscription is not registered to use namespace '%s'. "
	                          "See https://aka.ms/rps-not-found for how to register "
	                          "subscriptions.",
	                          ns);

	/* key order as in the captured bodies: code, message, details */
	cJSON_DetachItemViaPointer(err, details);
	cJSON_AddStringToObject(err, "code", "MissingSubscriptionRegistration");
	cJSON_AddStringToObject(err, "message", msg);
	cJSON_AddItemToObject(err, "details", details);
	cJSON_AddStringToObject(d, "code", "MissingSubscriptionRegistration");
	cJSON_AddStringToObject(d, "target", ns);
	cJSON_AddStringToObject(d, "message", msg);
	cJSON_AddItemToArray(details, d);
	emu_resp_json(c->resp, 409, doc);
	cJSON_Delete(doc);
	free(msg);
}

static void authorization_failed(struct ctx *c, const char *action, const char *scope)
{
	emu_resp_error(c->resp, 403, "AuthorizationFailed",
	               "The client '%s' with object id '%s' does not have authorization to "
	               "perform action '%s' over scope '%s' or the scope is invalid. If access "
	               "was recently granted, please refresh your credentials.",
	               c->req->oid, c->req->oid, action, scope);
	emu_resp_header(c->resp, "x-ms-failure-cause", "gateway");
}

static bool registered(const cJSON *sub, const char *ns)
{
	return !strcasecmp(emu_provider_state(sub, ns), "Registered");
}

static cJSON *parse_body(struct ctx *c)
{
	cJSON *doc =
	    c->req->body_len ? cJSON_ParseWithLength(c->req->body, c->req->body_len) : NULL;

	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		emu_resp_error(c->resp, 400, "InvalidRequestContent",
		               "The request content was invalid and could not be deserialized.");
		return NULL;
	}
	return doc;
}

static long now_ms(void)
{
	return (long)(emu_now() * 1000);
}

/* A page being built: long lists make only the items of the requested page (a list of
 * thousands of subscriptions must not be built whole for every page of 100). */
struct pager {
	long off, size, seen;
	const char *top;
	cJSON *doc, *value;
};

static void pager_init(struct ctx *c, struct pager *p, const char *token_name)
{
	const char *skip = mdc_kvlist_get(&c->req->args, token_name, true);

	p->top = mdc_kvlist_get(&c->req->args, "$top", true);
	p->off = skip ? atol(skip) : 0;
	p->size = c->emu->opts.page_size;
	if (p->top && atol(p->top) > 0 && atol(p->top) < p->size)
		p->size = atol(p->top);
	if (p->size <= 0)
		p->size = 100;
	if (p->off < 0)
		p->off = 0;
	p->seen = 0;
	p->doc = cJSON_CreateObject();
	p->value = cJSON_AddArrayToObject(p->doc, "value");
}

/* Counts one more item of the list; true when it belongs on this page. */
static bool pager_take(struct pager *p)
{
	long i = p->seen++;

	return i >= p->off && i < p->off + p->size;
}

/* True once the page is full and one more item is known to exist (nextLink decided). */
static bool pager_done(const struct pager *p)
{
	return p->seen > p->off + p->size;
}

static void pager_send(struct ctx *c, struct pager *p, const char *token_name, bool null_link)
{
	if (p->seen > p->off + p->size) {
		char *link =
		    mdc_xasprintf("%s%s?api-version=%s&%s=%ld%s%s", c->emu->base_url, c->req->path,
		                  c->api_version, token_name, p->off + p->size,
		                  p->top ? "&%24top=" : "", p->top ? p->top : "");
		cJSON_AddStringToObject(p->doc, "nextLink", link);
		free(link);
	} else if (null_link) {
		cJSON_AddNullToObject(p->doc, "nextLink");
	}
	emu_resp_json(c->resp, 200, p->doc);
	cJSON_Delete(p->doc);
}

/* Pages `all` (consumed) into {"value":[...], "nextLink":...}. */
static void page(struct ctx *c, cJSON *all, const char *token_name, bool null_link)
{
	struct pager p;
	cJSON *item;

	pager_init(c, &p, token_name);
	cJSON_ArrayForEach(item, all)
	{
		if (pager_take(&p))
			cJSON_AddItemToArray(p.value, cJSON_Duplicate(item, 1));
		if (pager_done(&p))
			break;
	}
	pager_send(c, &p, token_name, null_link);
	cJSON_Delete(all);
}

/* --- subscriptions, tenants, management groups --- */

static cJSON *sub_json(const cJSON *s)
{
	cJSON *o = cJSON_CreateObject(), *pol;
	const char *id = emu_str(s, "subscriptionId");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(s, "tags");
	char *rid = mdc_xasprintf("/subscriptions/%s", id);

	cJSON_AddStringToObject(o, "id", rid);
	cJSON_AddStringToObject(o, "authorizationSource", "RoleBased");
	cJSON_AddArrayToObject(o, "managedByTenants");
	cJSON_AddStringToObject(o, "subscriptionId", id);
	cJSON_AddStringToObject(o, "tenantId",
	                        emu_str(s, "tenantId") ? emu_str(s, "tenantId") : "");
	cJSON_AddStringToObject(o, "displayName",
	                        emu_str(s, "displayName") ? emu_str(s, "displayName") : id);
	cJSON_AddStringToObject(o, "state", emu_str(s, "state") ? emu_str(s, "state") : "Enabled");
	pol = cJSON_AddObjectToObject(o, "subscriptionPolicies");
	cJSON_AddStringToObject(pol, "locationPlacementId", "Public_2014-09-01");
	cJSON_AddStringToObject(pol, "quotaId", "PayAsYouGo_2014-09-01");
	cJSON_AddStringToObject(pol, "spendingLimit", "Off");
	cJSON_AddItemToObject(o, "tags", tags ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
	free(rid);
	return o;
}

static void h_subs(struct ctx *c, const cJSON *state)
{
	struct mdc_strvec scopes = {0};
	struct pager p;
	const cJSON *s;

	emu_caller_scopes(state, c->req->oid, &scopes);
	pager_init(c, &p, "$skiptoken");
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(state, "subscriptions"))
	{
		const char *id = emu_str(s, "subscriptionId");

		if (!id || !emu_sub_visible_to(state, &scopes, id))
			continue;
		if (pager_take(&p))
			cJSON_AddItemToArray(p.value, sub_json(s));
		if (pager_done(&p))
			break;
	}
	pager_send(c, &p, "$skiptoken", false);
	mdc_strvec_clear(&scopes);
}

static void h_tenants(struct ctx *c, const cJSON *state)
{
	cJSON *all = cJSON_CreateArray(), *t = cJSON_CreateObject(), *domains;
	const char *tid = emu_str(state, "tenantId");
	const char *name = emu_str(state, "displayName");
	const char *domain = emu_str(state, "defaultDomain");
	char *rid = mdc_xasprintf("/tenants/%s", tid ? tid : "");

	cJSON_AddStringToObject(t, "id", rid);
	cJSON_AddStringToObject(t, "tenantId", tid ? tid : "");
	cJSON_AddStringToObject(t, "countryCode", "US");
	cJSON_AddStringToObject(t, "displayName", name ? name : "Contoso");
	domains = cJSON_AddArrayToObject(t, "domains");
	cJSON_AddItemToArray(domains,
	                     cJSON_CreateString(domain ? domain : "contoso.onmicrosoft.com"));
	cJSON_AddStringToObject(t, "tenantCategory", "Home");
	cJSON_AddStringToObject(t, "defaultDomain", domain ? domain : "contoso.onmicrosoft.com");
	cJSON_AddStringToObject(t, "tenantType", "AAD");
	cJSON_AddItemToArray(all, t);
	free(rid);
	page(c, all, "$skiptoken", true);
}

static bool mg_below(const cJSON *state, const char *mg, const char *ancestor)
{
	const char *tenant = emu_str(state, "tenantId");

	for (int depth = 0; mg && depth < 32; depth++) {
		const cJSON *g;
		const char *p;

		if (!strcasecmp(mg, ancestor))
			return true;
		if (tenant && !strcasecmp(mg, tenant))
			return false;
		g = emu_find_mg(state, mg);
		p = g ? emu_str(g, "parent") : NULL;
		mg = p ? p : tenant;
	}
	return false;
}

static cJSON *desc_entry(const char *type, const char *id, const char *name, const char *display,
                         const char *parent)
{
	cJSON *o = cJSON_CreateObject(), *props, *par;
	char *pid = mdc_xasprintf("/providers/Microsoft.Management/managementGroups/%s", parent);

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "name", name);
	props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddStringToObject(props, "displayName", display ? display : name);
	par = cJSON_AddObjectToObject(props, "parent");
	cJSON_AddStringToObject(par, "id", pid);
	free(pid);
	return o;
}

static void h_mg_desc(struct ctx *c, const cJSON *state)
{
	const char *tenant = emu_str(state, "tenantId");
	struct pager p;
	const cJSON *g, *s;

	if (!emu_find_mg(state, c->rt->mg) && !(tenant && !strcasecmp(tenant, c->rt->mg))) {
		/* UNCERTAIN: code for an unknown group */
		emu_resp_error(c->resp, 404, "NotFound", "'%s' not found", c->rt->mg);
		return;
	}
	pager_init(c, &p, "$skiptoken");
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(state, "managementGroups"))
	{
		const char *name = emu_str(g, "name"), *parent = emu_str(g, "parent");
		char *id;

		if (!name || (tenant && !strcasecmp(name, tenant)) ||
		    !strcasecmp(name, c->rt->mg) || !mg_below(state, name, c->rt->mg) ||
		    !pager_take(&p))
			continue;
		id = mdc_xasprintf("/providers/Microsoft.Management/managementGroups/%s", name);
		cJSON_AddItemToArray(p.value, desc_entry("Microsoft.Management/managementGroups",
		                                         id, name, emu_str(g, "displayName"),
		                                         parent ? parent : tenant));
		free(id);
	}
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(state, "subscriptions"))
	{
		const char *id = emu_str(s, "subscriptionId"), *mg = emu_str(s, "managementGroup");
		char *rid;

		if (pager_done(&p))
			break;
		if (!mg)
			mg = tenant;
		if (!id || !mg || !mg_below(state, mg, c->rt->mg) || !pager_take(&p))
			continue;
		rid = mdc_xasprintf("/subscriptions/%s", id);
		/* type as in the VERIFIED example GetDescendants.json; UNCERTAIN for live ARM */
		cJSON_AddItemToArray(
		    p.value, desc_entry("Microsoft.Management/managementGroups/subscriptions", rid,
		                        id, emu_str(s, "displayName"), mg));
		free(rid);
	}
	pager_send(c, &p, "$skiptoken", true);
}

/* ManagementGroups_List: the groups the caller may read (an assignment at the group or
 * above), as ManagementGroupInfo {id, type, name, properties {tenantId, displayName}}. */
static void mg_info(struct ctx *c, struct pager *p, const char *tenant, const char *name,
                    const char *display)
{
	char *id = mdc_xasprintf("/providers/Microsoft.Management/managementGroups/%s", name);
	cJSON *o, *props;

	if (emu_allowed(c->emu->state, c->req->oid, id,
	                "Microsoft.Management/managementGroups/read") &&
	    pager_take(p)) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "type", "Microsoft.Management/managementGroups");
		cJSON_AddStringToObject(o, "name", name);
		props = cJSON_AddObjectToObject(o, "properties");
		cJSON_AddStringToObject(props, "tenantId", tenant);
		cJSON_AddStringToObject(props, "displayName", display ? display : name);
		cJSON_AddItemToArray(p->value, o);
	}
	free(id);
}

static void h_mg_list(struct ctx *c, const cJSON *state)
{
	const char *tenant = emu_str(state, "tenantId");
	struct pager p;
	const cJSON *g;

	pager_init(c, &p, "$skiptoken");
	/* the tenant root group, also when the state file does not list it */
	if (tenant && !emu_find_mg(state, tenant))
		mg_info(c, &p, tenant, tenant, "Tenant Root Group");
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(state, "managementGroups"))
	{
		if (pager_done(&p))
			break;
		if (emu_str(g, "name"))
			mg_info(c, &p, tenant ? tenant : "", emu_str(g, "name"),
			        emu_str(g, "displayName"));
	}
	pager_send(c, &p, "$skiptoken", false);
}

/* --- providers --- */

static const char *const known_ns[] = {"Microsoft.SecurityInsights",     "Microsoft.Security",
                                       "Microsoft.OperationalInsights",  "Microsoft.Resources",
                                       "Microsoft.Authorization",        "Microsoft.Management",
                                       "Microsoft.OperationsManagement", "Microsoft.Insights",
                                       "Microsoft.PolicyInsights",       NULL};

static cJSON *provider_json(const cJSON *sub, const char *ns)
{
	cJSON *o = cJSON_CreateObject(), *types;
	const char *canon = canonical(known_ns, ns);
	char *id = mdc_xasprintf("/subscriptions/%s/providers/%s", emu_str(sub, "subscriptionId"),
	                         canon ? canon : ns);

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "namespace", canon ? canon : ns);
	cJSON_AddStringToObject(o, "registrationState", emu_provider_state(sub, ns));
	cJSON_AddStringToObject(o, "registrationPolicy", "RegistrationRequired");
	types = cJSON_AddArrayToObject(o, "resourceTypes");
	if (canon && (!strcmp(canon, "Microsoft.SecurityInsights") ||
	              !strcmp(canon, "Microsoft.Security"))) {
		bool si = !strcmp(canon, "Microsoft.SecurityInsights");
		static const char *const sec[] = {"pricings", "settings", NULL};
		const char *const *names = si ? si_collections : sec;
		const char *const *versions = si ? v_si : v_pricings;

		for (int i = 0; names[i]; i++) {
			cJSON *t = cJSON_CreateObject(), *vs;

			cJSON_AddStringToObject(t, "resourceType", names[i]);
			cJSON_AddArrayToObject(t, "locations");
			vs = cJSON_AddArrayToObject(t, "apiVersions");
			for (int v = 0; versions[v]; v++)
				cJSON_AddItemToArray(vs, cJSON_CreateString(versions[v]));
			cJSON_AddStringToObject(t, "capabilities", "None");
			cJSON_AddItemToArray(types, t);
		}
	}
	free(id);
	return o;
}

static bool ns_exists(const char *ns)
{
	return canonical(known_ns, ns) || !strncasecmp(ns, "Microsoft.", 10);
}

static void h_provider(struct ctx *c, cJSON *state, cJSON *sub)
{
	cJSON *doc, *providers;
	const char *canon = canonical(known_ns, c->rt->ns);
	const char *ns = canon ? canon : c->rt->ns;

	if (!ns_exists(ns)) {
		emu_resp_error(c->resp, 404, "InvalidResourceNamespace",
		               "The resource namespace '%s' is invalid.", ns);
		return;
	}
	providers = cJSON_GetObjectItemCaseSensitive(sub, "providers");
	if (!providers)
		providers = cJSON_AddObjectToObject(sub, "providers");
	if (c->rt->kind == R_REGISTER) {
		if (strcasecmp(emu_provider_state(sub, ns), "Registered")) {
			char key[256];

			snprintf(key, sizeof(key), "%s/%s", emu_str(sub, "subscriptionId"), ns);
			cJSON_DeleteItemFromObjectCaseSensitive(c->emu->polls, key);
			cJSON_DeleteItemFromObjectCaseSensitive(providers, ns);
			if (c->emu->opts.register_polls > 0) {
				cJSON_AddStringToObject(providers, ns, "Registering");
				cJSON_AddNumberToObject(c->emu->polls, key,
				                        c->emu->opts.register_polls);
			} else {
				cJSON_AddStringToObject(providers, ns, "Registered");
			}
		}
	} else if (!strcasecmp(emu_provider_state(sub, ns), "Registering")) {
		char key[256];
		cJSON *left;

		snprintf(key, sizeof(key), "%s/%s", emu_str(sub, "subscriptionId"), ns);
		left = cJSON_GetObjectItemCaseSensitive(c->emu->polls, key);
		/* Registering for --register-polls GETs, then Registered */
		if (!left || left->valuedouble < 1) {
			cJSON_DeleteItemFromObjectCaseSensitive(c->emu->polls, key);
			cJSON_DeleteItemFromObjectCaseSensitive(providers, ns);
			cJSON_AddStringToObject(providers, ns, "Registered");
		} else {
			cJSON_SetNumberValue(left, left->valuedouble - 1);
		}
	}
	doc = provider_json(sub, ns);
	emu_resp_json(c->resp, 200, doc);
	cJSON_Delete(doc);
}

static void h_providers(struct ctx *c, const cJSON *sub)
{
	cJSON *all = cJSON_CreateArray();

	for (int i = 0; known_ns[i]; i++)
		cJSON_AddItemToArray(all, provider_json(sub, known_ns[i]));
	page(c, all, "$skiptoken", false);
}

/* --- Microsoft.Security/pricings (§2) --- */

static cJSON *pricing_json(const char *subid, const struct mdc_catalog_plan *plan,
                           const cJSON *stored)
{
	cJSON *o = cJSON_CreateObject(), *p;
	const char *tier = stored ? emu_str(stored, "pricingTier") : NULL;
	bool standard = tier && !strcasecmp(tier, "Standard");
	char *id = mdc_xasprintf("/subscriptions/%s/providers/Microsoft.Security/pricings/%s",
	                         subid, plan->name);

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", plan->name);
	cJSON_AddStringToObject(o, "type", "Microsoft.Security/pricings");
	p = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddStringToObject(p, "pricingTier", standard ? "Standard" : "Free");
	if (standard && emu_str(stored, "subPlan"))
		cJSON_AddStringToObject(p, "subPlan", emu_str(stored, "subPlan"));
	cJSON_AddStringToObject(p, "freeTrialRemainingTime", "PT0S");
	if (standard && emu_str(stored, "enablementTime"))
		cJSON_AddStringToObject(p, "enablementTime", emu_str(stored, "enablementTime"));
	if (!plan->deprecated)
		cJSON_AddStringToObject(p, "enforce",
		                        stored && emu_str(stored, "enforce") &&
		                                !strcasecmp(emu_str(stored, "enforce"), "True")
		                            ? "True"
		                            : "False");
	if (standard) {
		const cJSON *ext = cJSON_GetObjectItemCaseSensitive(stored, "extensions");

		cJSON_AddStringToObject(p, "resourcesCoverageStatus", "FullyCovered");
		if (plan->extensions.n)
			cJSON_AddItemToObject(p, "extensions",
			                      ext ? cJSON_Duplicate(ext, 1) : cJSON_CreateArray());
	}
	if (plan->deprecated) {
		cJSON *rb = cJSON_AddArrayToObject(p, "replacedBy");

		cJSON_AddBoolToObject(p, "deprecated", true);
		for (size_t i = 0; i < plan->replaced_by.n; i++)
			cJSON_AddItemToArray(rb, cJSON_CreateString(plan->replaced_by.v[i]));
	}
	free(id);
	return o;
}

static const cJSON *stored_pricing(const cJSON *sub, const char *name)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(sub, "pricings"))
	{
		if (p->string && !strcasecmp(p->string, name))
			return p;
	}
	return NULL;
}

/* $filter=name in (VirtualMachines,StorageAccounts) */
static bool filter_keeps(const char *filter, const char *name)
{
	const char *open, *p;
	size_t n = strlen(name);

	if (!filter || !(open = strchr(filter, '(')))
		return true;
	for (p = open + 1; *p && *p != ')';) {
		const char *e = p;

		while (*p == ' ' || *p == '\'')
			p++;
		e = p;
		while (*e && *e != ',' && *e != ')' && *e != ' ' && *e != '\'')
			e++;
		if ((size_t)(e - p) == n && !strncasecmp(p, name, n))
			return true;
		while (*e && *e != ',' && *e != ')')
			e++;
		p = *e == ',' ? e + 1 : e;
	}
	return false;
}

static void h_pricings(struct ctx *c, const cJSON *sub)
{
	const struct mdc_catalog *cat = mdc_catalog_builtin();
	const char *filter = mdc_kvlist_get(&c->req->args, "$filter", true);
	cJSON *doc = cJSON_CreateObject(), *value = cJSON_AddArrayToObject(doc, "value");

	/* the spec's PricingList has no nextLink: never paged */
	for (size_t i = 0; i < cat->nplans; i++)
		if (filter_keeps(filter, cat->plans[i].name))
			cJSON_AddItemToArray(
			    value, pricing_json(emu_str(sub, "subscriptionId"), &cat->plans[i],
			                        stored_pricing(sub, cat->plans[i].name)));
	emu_resp_json(c->resp, 200, doc);
	cJSON_Delete(doc);
}

static bool in_list(const cJSON *list, const char *s)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, list)
	{
		if (cJSON_IsString(f) && !strcasecmp(f->valuestring, s))
			return true;
	}
	return false;
}

static bool is_bool_string(const cJSON *v)
{
	return cJSON_IsString(v) &&
	       (!strcasecmp(v->valuestring, "True") || !strcasecmp(v->valuestring, "False"));
}

static void h_pricing_put(struct ctx *c, cJSON *sub, const struct mdc_catalog_plan *plan)
{
	cJSON *body = parse_body(c), *props, *stored, *pricings, *newext = NULL, *doc;
	const cJSON *tier, *subplan, *enforce, *bexts, *e, *failing;
	const char *subid = emu_str(sub, "subscriptionId");
	const cJSON *old = stored_pricing(sub, plan->name);
	bool standard, was_standard;
	char lower[64], stamp[40];
	cJSON *inflight;
	int status = 200;

	if (!body)
		return;
	props = cJSON_GetObjectItemCaseSensitive(body, "properties");
	tier = cJSON_GetObjectItemCaseSensitive(props, "pricingTier");
	if (!cJSON_IsString(tier) ||
	    (strcasecmp(tier->valuestring, "Free") && strcasecmp(tier->valuestring, "Standard"))) {
		emu_resp_error(c->resp, 400, "InvalidInputJson",
		               "The pricingTier property is required and must be 'Free' or "
		               "'Standard'.");
		goto cleanup;
	}
	standard = !strcasecmp(tier->valuestring, "Standard");
	was_standard = old && emu_str(old, "pricingTier") &&
	               !strcasecmp(emu_str(old, "pricingTier"), "Standard");
	subplan = cJSON_GetObjectItemCaseSensitive(props, "subPlan");
	if (subplan && !cJSON_IsNull(subplan) &&
	    (!cJSON_IsString(subplan) ||
	     (standard && !mdc_catalog_plan_has_sub_plan(plan, subplan->valuestring)))) {
		/* UNCERTAIN: the service's code for an unknown subPlan */
		emu_resp_error(c->resp, 400, "InvalidSubPlan",
		               "Sub plan '%s' is not supported for pricing '%s'.",
		               cJSON_IsString(subplan) ? subplan->valuestring : "", plan->name);
		goto cleanup;
	}
	enforce = cJSON_GetObjectItemCaseSensitive(props, "enforce");
	if (enforce && !cJSON_IsNull(enforce) && !is_bool_string(enforce)) {
		emu_resp_error(c->resp, 400, "InvalidInputJson",
		               "The enforce property must be 'True' or 'False'.");
		goto cleanup;
	}
	bexts = cJSON_GetObjectItemCaseSensitive(props, "extensions");
	if (bexts && !cJSON_IsNull(bexts) && !cJSON_IsArray(bexts)) {
		emu_resp_error(c->resp, 400, "InvalidInputJson", "extensions must be an array.");
		goto cleanup;
	}
	if (!standard && cJSON_GetArraySize(bexts) > 0) {
		/* §2.7; UNCERTAIN code and text */
		emu_resp_error(c->resp, 400, "BadRequest",
		               "Extensions cannot be set for pricing '%s' while its pricing tier "
		               "is 'Free'.",
		               plan->name);
		goto cleanup;
	}
	cJSON_ArrayForEach(e, bexts)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "isEnabled");
		const cJSON *add =
		    cJSON_GetObjectItemCaseSensitive(e, "additionalExtensionProperties");

		if (!cJSON_IsString(name) || !is_bool_string(en)) {
			emu_resp_error(c->resp, 400, "InvalidInputJson",
			               "Each extension needs a name and isEnabled ('True' or "
			               "'False').");
			goto cleanup;
		}
		if (!mdc_catalog_plan_has_extension(plan, name->valuestring)) {
			emu_resp_error(c->resp, 400, "BadRequest",
			               "Extension '%s' is not supported for pricing '%s'.",
			               name->valuestring, plan->name);
			goto cleanup;
		}
		if (!strcasecmp(en->valuestring, "False") && cJSON_IsObject(add) && add->child) {
			/* §2.7: the service really answers 500 here */
			emu_resp_error(c->resp, 500, "InternalServerError",
			               "AdditionalProperties of Extension '%s' can't be updated "
			               "while the extension is disabled",
			               name->valuestring);
			goto cleanup;
		}
	}

	/* §2.7: one pricing write per subscription at a time */
	snprintf(lower, sizeof(lower), "%s", subid);
	for (char *p = lower; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	inflight = cJSON_GetObjectItemCaseSensitive(c->emu->inflight, lower);
	if (inflight && inflight->valuedouble > (double)now_ms()) {
		/* UNCERTAIN: message text */
		emu_resp_error(c->resp, 409, "Conflict",
		               "Another update operation is in progress for subscription '%s'. "
		               "Please try again later.",
		               subid);
		goto cleanup;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(c->emu->inflight, lower);
	cJSON_AddNumberToObject(c->emu->inflight, lower,
	                        (double)(now_ms() + c->emu->opts.pricing_write_ms));
	c->delay_ms = c->emu->opts.pricing_write_ms;

	stored = cJSON_CreateObject();
	cJSON_AddStringToObject(stored, "pricingTier", standard ? "Standard" : "Free");
	if (standard) {
		const char *sp = cJSON_IsString(subplan)                   ? subplan->valuestring
		                 : was_standard && emu_str(old, "subPlan") ? emu_str(old, "subPlan")
		                                                           : plan->default_sub_plan;
		const cJSON *oldexts =
		    old ? cJSON_GetObjectItemCaseSensitive(old, "extensions") : NULL;

		if (sp)
			for (size_t i = 0; i < plan->sub_plans.n; i++)
				if (!strcasecmp(plan->sub_plans.v[i], sp))
					sp = plan->sub_plans.v[i];
		if (sp)
			cJSON_AddStringToObject(stored, "subPlan", sp);
		emu_timestamp(stamp);
		cJSON_AddStringToObject(stored, "enablementTime",
		                        was_standard && emu_str(old, "enablementTime")
		                            ? emu_str(old, "enablementTime")
		                            : stamp);
		newext = cJSON_CreateArray();
		failing = cJSON_GetObjectItemCaseSensitive(sub, "failingExtensions");
		for (size_t i = 0; i < plan->extensions.n; i++) {
			const char *xn = plan->extensions.v[i];
			const cJSON *given = emu_find_named(bexts, "name", xn);
			const cJSON *prev =
			    was_standard ? emu_find_named(oldexts, "name", xn) : NULL;
			bool on;
			cJSON *x = cJSON_CreateObject(), *st;
			const cJSON *add = NULL;

			if (given) {
				on = !strcasecmp(emu_str(given, "isEnabled"), "True");
				add = cJSON_GetObjectItemCaseSensitive(
				    given, "additionalExtensionProperties");
			} else if (prev) {
				on = emu_str(prev, "isEnabled") &&
				     !strcasecmp(emu_str(prev, "isEnabled"), "True");
				add = cJSON_GetObjectItemCaseSensitive(
				    prev, "additionalExtensionProperties");
			} else {
				on = mdc_strvec_find(&plan->default_extensions, xn, true) >= 0;
			}
			cJSON_AddStringToObject(x, "name", xn);
			cJSON_AddStringToObject(x, "isEnabled", on ? "True" : "False");
			if (on && cJSON_IsObject(add) && add->child)
				cJSON_AddItemToObject(x, "additionalExtensionProperties",
				                      cJSON_Duplicate(add, 1));
			st = cJSON_AddObjectToObject(x, "operationStatus");
			if (on && in_list(failing, xn)) {
				cJSON_AddStringToObject(st, "code", "Failed");
				cJSON_AddStringToObject(
				    st, "message",
				    "Failed assigning roles to the extension's managed identity "
				    "for plan");
			} else {
				cJSON_AddStringToObject(st, "code", "Succeeded");
				cJSON_AddStringToObject(st, "message",
				                        on ? "Successfully enabled extension"
				                           : "Successfully disabled extension");
			}
			cJSON_AddItemToArray(newext, x);
		}
		cJSON_AddItemToObject(stored, "extensions", newext);
	}
	cJSON_AddStringToObject(stored, "enforce",
	                        cJSON_IsString(enforce)
	                            ? (!strcasecmp(enforce->valuestring, "True") ? "True" : "False")
	                        : old && emu_str(old, "enforce") ? emu_str(old, "enforce")
	                                                         : "False");
	pricings = cJSON_GetObjectItemCaseSensitive(sub, "pricings");
	if (!pricings)
		pricings = cJSON_AddObjectToObject(sub, "pricings");
	cJSON_DeleteItemFromObject(pricings, plan->name);
	cJSON_AddItemToObject(pricings, plan->name, stored);
	doc = pricing_json(subid, plan, stored);
	/* 200: every plan exists at subscription scope, so a PUT is an update (§12) */
	emu_resp_json(c->resp, status, doc);
	cJSON_Delete(doc);
cleanup:
	cJSON_Delete(body);
}

static void h_pricing(struct ctx *c, cJSON *sub)
{
	const struct mdc_catalog_plan *plan = mdc_catalog_plan(mdc_catalog_builtin(), c->rt->name);

	if (!strcmp(c->req->method, "DELETE")) {
		/* No DELETE at subscription scope (§2.1): the RP only deletes resource-level
		 * pricings. UNCERTAIN: 400 BadRequest chosen over 405. */
		emu_resp_error(c->resp, 400, "BadRequest",
		               "Pricing deletion is supported only at resource scope. To turn a "
		               "plan off at subscription scope, set pricingTier to 'Free'.");
		return;
	}
	if (!plan) {
		/* UNCERTAIN (§2.3): unknown plan names */
		if (!strcmp(c->req->method, "GET"))
			emu_resp_error(c->resp, 404, "NotFound", "Pricing '%s' was not found.",
			               c->rt->name);
		else
			emu_resp_error(c->resp, 400, "BadRequest",
			               "Pricing name '%s' is not supported.", c->rt->name);
		return;
	}
	if (!strcmp(c->req->method, "GET")) {
		cJSON *doc = pricing_json(emu_str(sub, "subscriptionId"), plan,
		                          stored_pricing(sub, plan->name));
		emu_resp_json(c->resp, 200, doc);
		cJSON_Delete(doc);
		return;
	}
	h_pricing_put(c, sub, plan);
}

/* --- Microsoft.Security/settings (§3) --- */

static const struct {
	const char *name, *kind;
	bool enabled;
} settings_defaults[] = {
    {"MCAS", "DataExportSettings", true},
    {"WDATP", "DataExportSettings", true},
    {"WDATP_EXCLUDE_LINUX_PUBLIC_PREVIEW", "DataExportSettings", false},
    {"WDATP_UNIFIED_SOLUTION", "DataExportSettings", true},
    {"Sentinel", "AlertSyncSettings", false},
};
#define NSETTINGS (sizeof(settings_defaults) / sizeof(settings_defaults[0]))

static cJSON *setting_json(const cJSON *sub, size_t i)
{
	cJSON *o = cJSON_CreateObject(), *p;
	const cJSON *stored = NULL, *s, *en;
	char *id = mdc_xasprintf("/subscriptions/%s/providers/Microsoft.Security/settings/%s",
	                         emu_str(sub, "subscriptionId"), settings_defaults[i].name);

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(sub, "settings"))
	{
		if (s->string && !strcasecmp(s->string, settings_defaults[i].name))
			stored = s;
	}
	en = cJSON_GetObjectItemCaseSensitive(stored, "enabled");
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", settings_defaults[i].name);
	cJSON_AddStringToObject(o, "type", "Microsoft.Security/settings");
	cJSON_AddStringToObject(o, "kind", settings_defaults[i].kind);
	p = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddBoolToObject(p, "enabled",
	                      cJSON_IsBool(en) ? cJSON_IsTrue(en) : settings_defaults[i].enabled);
	free(id);
	return o;
}

static void h_settings(struct ctx *c, cJSON *sub)
{
	cJSON *doc = cJSON_CreateObject(), *all = cJSON_AddArrayToObject(doc, "value");

	/* pageable in the spec, but the handful of settings always fits one page */
	for (size_t i = 0; i < NSETTINGS; i++)
		cJSON_AddItemToArray(all, setting_json(sub, i));
	emu_resp_json(c->resp, 200, doc);
	cJSON_Delete(doc);
}

static void h_setting(struct ctx *c, cJSON *sub)
{
	size_t i;
	cJSON *body, *settings, *st, *doc;
	const cJSON *kind, *en;

	for (i = 0; i < NSETTINGS; i++)
		if (!strcasecmp(settings_defaults[i].name, c->rt->name))
			break;
	if (!strcmp(c->req->method, "GET")) {
		if (i == NSETTINGS) {
			not_found(c, "Setting");
			return;
		}
		doc = setting_json(sub, i);
		emu_resp_json(c->resp, 200, doc);
		cJSON_Delete(doc);
		return;
	}
	if (strcmp(c->req->method, "PUT")) {
		method_not_allowed(c);
		return;
	}
	if (i == NSETTINGS) {
		bad_request(c, "Setting name '%s' is not supported.", c->rt->name);
		return;
	}
	body = parse_body(c);
	if (!body)
		return;
	kind = cJSON_GetObjectItemCaseSensitive(body, "kind");
	en = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "properties"),
	                                      "enabled");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, settings_defaults[i].kind)) {
		/* UNCERTAIN (§3.2): wrong kind */
		emu_resp_error(c->resp, 400, "BadRequest", "Setting '%s' must be of kind '%s'.",
		               settings_defaults[i].name, settings_defaults[i].kind);
	} else if (!cJSON_IsBool(en)) {
		emu_resp_error(c->resp, 400, "InvalidInputJson",
		               "The enabled property is required and must be a boolean.");
	} else {
		settings = cJSON_GetObjectItemCaseSensitive(sub, "settings");
		if (!settings)
			settings = cJSON_AddObjectToObject(sub, "settings");
		cJSON_DeleteItemFromObject(settings, settings_defaults[i].name);
		st = cJSON_AddObjectToObject(settings, settings_defaults[i].name);
		cJSON_AddBoolToObject(st, "enabled", cJSON_IsTrue(en));
		doc = setting_json(sub, i);
		emu_resp_json(c->resp, 200, doc);
		cJSON_Delete(doc);
	}
	cJSON_Delete(body);
}

/* --- permissions (§7.1) --- */

static void h_permissions(struct ctx *c, const cJSON *state)
{
	char scope[1024];
	size_t n = strlen(c->req->path) - strlen("/providers/Microsoft.Authorization/permissions");
	cJSON *roles, *doc, *value, *r;

	snprintf(scope, sizeof(scope), "%.*s", (int)n, c->req->path);
	roles = emu_effective_roles(state, c->req->oid, scope);
	doc = cJSON_CreateObject();
	value = cJSON_AddArrayToObject(doc, "value");
	cJSON_ArrayForEach(r, roles)
	{
		cJSON *e = cJSON_CreateObject();

		cJSON_AddItemToObject(e, "actions",
		                      cJSON_Duplicate(cJSON_GetObjectItem(r, "actions"), 1));
		cJSON_AddItemToObject(e, "notActions",
		                      cJSON_Duplicate(cJSON_GetObjectItem(r, "notActions"), 1));
		cJSON_AddItemToObject(e, "dataActions",
		                      cJSON_Duplicate(cJSON_GetObjectItem(r, "dataActions"), 1));
		cJSON_AddItemToObject(e, "notDataActions",
		                      cJSON_Duplicate(cJSON_GetObjectItem(r, "notDataActions"), 1));
		cJSON_AddItemToArray(value, e);
	}
	cJSON_AddNullToObject(doc, "nextLink");
	emu_resp_json(c->resp, 200, doc);
	cJSON_Delete(doc);
	cJSON_Delete(roles);
}

/* --- workspace and Microsoft.SecurityInsights (§4, §5, §6.3, §8) --- */

static char *ws_id(const cJSON *ws)
{
	return mdc_xasprintf("/subscriptions/%s/resourceGroups/%s/providers/"
	                     "Microsoft.OperationalInsights/workspaces/%s",
	                     emu_str(ws, "subscriptionId"), emu_str(ws, "resourceGroup"),
	                     emu_str(ws, "name"));
}

static cJSON *ws_json(const cJSON *ws)
{
	cJSON *o = cJSON_CreateObject(), *p, *sku;
	char *id = ws_id(ws);

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", emu_str(ws, "name"));
	cJSON_AddStringToObject(o, "type", "Microsoft.OperationalInsights/workspaces");
	cJSON_AddStringToObject(o, "location",
	                        emu_str(ws, "location") ? emu_str(ws, "location") : "westeurope");
	p = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddStringToObject(p, "provisioningState", "Succeeded");
	cJSON_AddStringToObject(p, "customerId",
	                        emu_str(ws, "customerId") ? emu_str(ws, "customerId") : "");
	sku = cJSON_AddObjectToObject(p, "sku");
	cJSON_AddStringToObject(sku, "name", "PerGB2018");
	cJSON_AddNumberToObject(p, "retentionInDays", 90);
	free(id);
	return o;
}

static void h_workspace(struct ctx *c, const cJSON *ws)
{
	cJSON *o = ws_json(ws);

	emu_resp_json(c->resp, 200, o);
	cJSON_Delete(o);
}

/* GET /subscriptions/{sub}/providers/Microsoft.OperationalInsights/workspaces: the
 * standard ARM list of the subscription's workspaces ({"value":[Workspace...]}). */
static void h_workspaces(struct ctx *c, const cJSON *state)
{
	struct pager p;
	const cJSON *ws;

	pager_init(c, &p, "$skiptoken");
	cJSON_ArrayForEach(ws, cJSON_GetObjectItemCaseSensitive(state, "workspaces"))
	{
		const char *sub = emu_str(ws, "subscriptionId");

		if (sub && !strcasecmp(sub, c->rt->sub) && pager_take(&p))
			cJSON_AddItemToArray(p.value, ws_json(ws));
	}
	pager_send(c, &p, "$skiptoken", false);
}

static cJSON *si_json(const cJSON *ws, const char *coll, const cJSON *obj)
{
	cJSON *o = cJSON_CreateObject();
	char *wid = ws_id(ws);
	const char *name = emu_str(obj, "name");
	char *id = mdc_xasprintf("%s/providers/Microsoft.SecurityInsights/%s/%s", wid, coll, name);
	char *type = mdc_xasprintf("Microsoft.SecurityInsights/%s", coll);
	const cJSON *item;

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_ArrayForEach(item, obj)
	{
		if (item->string && strcmp(item->string, "name") && strcmp(item->string, "id") &&
		    strcmp(item->string, "type"))
			cJSON_AddItemToObject(o, item->string, cJSON_Duplicate(item, 1));
	}
	free(wid);
	free(id);
	free(type);
	return o;
}

/* §8.2: a catalog item carries installedVersion when its package is installed. */
static void catalog_installed(const cJSON *ws, const char *coll, cJSON *doc)
{
	cJSON *props = cJSON_GetObjectItemCaseSensitive(doc, "properties");
	const char *cid = emu_str(props, "contentId");
	const cJSON *pkg;

	if (strcmp(coll, "contentProductPackages") || !cJSON_IsObject(props))
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(props, "installedVersion");
	cJSON_ArrayForEach(pkg, cJSON_GetObjectItemCaseSensitive(ws, "contentPackages"))
	{
		const cJSON *pp = cJSON_GetObjectItemCaseSensitive(pkg, "properties");
		const char *pcid = emu_str(pp, "contentId");
		const char *v = emu_str(pp, "installedVersion") ? emu_str(pp, "installedVersion")
		                                                : emu_str(pp, "version");

		if (v && ((cid && pcid && !strcasecmp(cid, pcid)) ||
		          (!cid && emu_str(pkg, "name") && emu_str(doc, "name") &&
		           !strcasecmp(emu_str(pkg, "name"), emu_str(doc, "name"))))) {
			cJSON_AddStringToObject(props, "installedVersion", v);
			return;
		}
	}
}

static cJSON *si_array(cJSON *ws, const char *coll)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(ws, coll);

	if (!a)
		a = cJSON_AddArrayToObject(ws, coll);
	return a;
}

static const char *const connector_kinds[] = {
    "AzureActiveDirectory", "AzureSecurityCenter", "MicrosoftCloudAppSecurity",
    "ThreatIntelligence", "MicrosoftThreatIntelligence",
    "PremiumMicrosoftDefenderForThreatIntelligence", "Office365", "AmazonWebServicesCloudTrail",
    "AzureAdvancedThreatProtection", "MicrosoftDefenderAdvancedThreatProtection", "RestApiPoller",
    /* preview kinds (§4.2) */
    "ThreatIntelligenceTaxii", "OfficeATP", "OfficeIRM", "Office365Project",
    "MicrosoftPurviewInformationProtection", "OfficePowerBI", "AmazonWebServicesS3", "Dynamics365",
    "MicrosoftThreatProtection", "GenericUI", "APIPolling", "IOT", "GCP", "PurviewAudit",
    "StaticUI", NULL};
static const char *const rule_kinds[] = {"Scheduled",
                                         "MicrosoftSecurityIncidentCreation",
                                         "Fusion",
                                         "NRT",
                                         "MLBehaviorAnalytics",
                                         "ThreatIntelligence",
                                         NULL};
static const char *const product_filters[] = {
    "Microsoft Cloud App Security",          "Azure Security Center",
    "Azure Advanced Threat Protection",      "Azure Active Directory Identity Protection",
    "Azure Security Center for IoT",         "Microsoft Defender Advanced Threat Protection",
    "Office 365 Advanced Threat Protection", NULL};
static const char *const severities[] = {"High", "Medium", "Low", "Informational", NULL};

static bool sub_has_standard(const cJSON *sub)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(sub, "pricings"))
	{
		const char *t = emu_str(p, "pricingTier");

		if (t && !strcasecmp(t, "Standard"))
			return true;
	}
	return false;
}

/* Kind-specific validation of a PUT body. Returns false after answering. */
static bool si_validate(struct ctx *c, const cJSON *state, cJSON *body, const cJSON *existing)
{
	const char *coll = c->rt->coll;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(body, "kind");
	cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");

	if (!strcmp(coll, "dataConnectors") || !strcmp(coll, "alertRules")) {
		const char *const *kinds =
		    !strcmp(coll, "dataConnectors") ? connector_kinds : rule_kinds;

		if (!cJSON_IsString(kind) || !canonical(kinds, kind->valuestring)) {
			emu_resp_error(c->resp, 400, "BadRequest",
			               "The 'kind' property is missing or not supported.");
			return false;
		}
		cJSON_SetValuestring((cJSON *)kind, canonical(kinds, kind->valuestring));
		if (existing && emu_str(existing, "kind") &&
		    strcmp(emu_str(existing, "kind"), kind->valuestring)) {
			/* UNCERTAIN (§5.4): changing the kind of an existing resource */
			emu_resp_error(c->resp, 400, "BadRequest",
			               "The kind of an existing resource cannot be changed.");
			return false;
		}
	}
	if (!cJSON_IsObject(props)) {
		emu_resp_error(c->resp, 400, "BadRequest", "The 'properties' object is required.");
		return false;
	}
	if (!strcmp(coll, "dataConnectors") && !strcmp(kind->valuestring, "AzureSecurityCenter")) {
		const char *target = emu_str(props, "subscriptionId");
		const cJSON *alerts = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(props, "dataTypes"), "alerts"),
		    "state");
		const cJSON *tsub;
		char scope[128];

		if (!target || !mdc_is_guid(target) || !cJSON_IsString(alerts) ||
		    (strcasecmp(alerts->valuestring, "Enabled") &&
		     strcasecmp(alerts->valuestring, "Disabled"))) {
			emu_resp_error(
			    c->resp, 400, "BadRequest",
			    "AzureSecurityCenter connectors need properties.subscriptionId "
			    "and properties.dataTypes.alerts.state.");
			return false;
		}
		tsub = emu_find_sub(state, target);
		snprintf(scope, sizeof(scope), "/subscriptions/%s", target);
		if (!tsub) {
			/* UNCERTAIN: a subscription outside the tenant */
			emu_resp_error(c->resp, 400, "BadRequest",
			               "Subscription '%s' was not found.", target);
			return false;
		}
		if (!emu_allowed(state, c->req->oid, scope, "Microsoft.Security/alerts/read")) {
			/* UNCERTAIN: Sentinel checks the caller's access to the MDC subscription */
			emu_resp_error(c->resp, 403, "LinkedAuthorizationFailed",
			               "The client '%s' with object id '%s' has permission to "
			               "perform action '%s' on scope '%s'; however, it does not "
			               "have permission to perform action(s) "
			               "'Microsoft.Security/alerts/read' on the linked scope(s) "
			               "'%s' (respectively) or the linked scope(s) are invalid.",
			               c->req->oid, c->req->oid, c->rt->action, c->req->path,
			               scope);
			return false;
		}
		if (!registered(tsub, "Microsoft.SecurityInsights")) {
			/* the MDC subscription itself must have the RP registered (§4.3) */
			missing_registration(c, "Microsoft.SecurityInsights");
			return false;
		}
		if (!strcasecmp(alerts->valuestring, "Enabled") && !sub_has_standard(tsub)) {
			/* UNCERTAIN (§4.3): no Standard plan on the MDC subscription */
			emu_resp_error(c->resp, 400, "BadRequest",
			               "Subscription '%s' has no Microsoft Defender for Cloud plan "
			               "enabled. Enable at least one plan before connecting it.",
			               target);
			return false;
		}
	}
	if (!strcmp(coll, "alertRules") &&
	    !strcmp(kind->valuestring, "MicrosoftSecurityIncidentCreation")) {
		const cJSON *pf = cJSON_GetObjectItemCaseSensitive(props, "productFilter");
		const cJSON *sev = cJSON_GetObjectItemCaseSensitive(props, "severitiesFilter"), *s;
		static const char *const nullable[] = {"severitiesFilter", "displayNamesFilter",
		                                       "displayNamesExcludeFilter", NULL};

		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(props, "displayName")) ||
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(props, "enabled")) ||
		    !cJSON_IsString(pf) || !canonical(product_filters, pf->valuestring)) {
			emu_resp_error(c->resp, 400, "BadRequest",
			               "displayName, enabled and a valid productFilter are "
			               "required.");
			return false;
		}
		cJSON_ArrayForEach(s, sev)
		{
			if (!cJSON_IsString(s) || !canonical(severities, s->valuestring)) {
				emu_resp_error(c->resp, 400, "BadRequest",
				               "severitiesFilter accepts High, Medium, Low and "
				               "Informational.");
				return false;
			}
		}
		for (int i = 0; nullable[i]; i++)
			if (!cJSON_GetObjectItemCaseSensitive(props, nullable[i]))
				cJSON_AddNullToObject(props, nullable[i]);
	}
	if (!strcmp(coll, "alertRules")) {
		char stamp[40];

		emu_timestamp(stamp);
		cJSON_DeleteItemFromObjectCaseSensitive(props, "lastModifiedUtc");
		cJSON_AddStringToObject(props, "lastModifiedUtc", stamp);
	}
	if (!strcmp(coll, "contentPackages")) {
		static const char *const req[] = {"contentId", "contentProductId", "contentKind",
		                                  "version",   "displayName",      NULL};

		for (int i = 0; req[i]; i++)
			if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(props, req[i]))) {
				emu_resp_error(c->resp, 400, "BadRequest",
				               "The property 'properties.%s' is required.", req[i]);
				return false;
			}
		cJSON_DeleteItemFromObjectCaseSensitive(props, "installedVersion");
		cJSON_AddStringToObject(props, "installedVersion", emu_str(props, "version"));
	}
	return true;
}

static void h_onboarding(struct ctx *c, cJSON *ws)
{
	cJSON *on = cJSON_GetObjectItemCaseSensitive(ws, "onboarded");
	bool onboarded = cJSON_IsTrue(on);
	cJSON *obj = cJSON_CreateObject(), *props, *doc;
	const cJSON *cmk = cJSON_GetObjectItemCaseSensitive(ws, "customerManagedKey");

	cJSON_AddStringToObject(obj, "name", "default");
	if (emu_str(ws, "onboardingEtag"))
		cJSON_AddStringToObject(obj, "etag", emu_str(ws, "onboardingEtag"));
	props = cJSON_AddObjectToObject(obj, "properties");
	cJSON_AddBoolToObject(props, "customerManagedKey", cJSON_IsTrue(cmk));
	if (c->rt->kind == R_SI_LIST) {
		cJSON *all = cJSON_CreateArray();

		if (onboarded)
			cJSON_AddItemToArray(all, si_json(ws, "onboardingStates", obj));
		cJSON_Delete(obj);
		page(c, all, "$skipToken", false);
		return;
	}
	if (strcasecmp(c->rt->name, "default")) {
		cJSON_Delete(obj);
		not_found(c, "Onboarding state");
		return;
	}
	if (!strcmp(c->req->method, "GET")) {
		if (!onboarded)
			not_found(c, "Onboarding state 'default'");
		else {
			doc = si_json(ws, "onboardingStates", obj);
			emu_resp_json(c->resp, 200, doc);
			cJSON_Delete(doc);
		}
	} else if (!strcmp(c->req->method, "PUT")) {
		cJSON *body = parse_body(c);
		char etag[48];

		if (body) {
			const cJSON *bc = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(body, "properties"),
			    "customerManagedKey");

			emu_new_etag(etag);
			cJSON_DeleteItemFromObjectCaseSensitive(ws, "onboarded");
			cJSON_AddBoolToObject(ws, "onboarded", true);
			cJSON_DeleteItemFromObjectCaseSensitive(ws, "onboardingEtag");
			cJSON_AddStringToObject(ws, "onboardingEtag", etag);
			cJSON_DeleteItemFromObjectCaseSensitive(ws, "customerManagedKey");
			cJSON_AddBoolToObject(ws, "customerManagedKey", cJSON_IsTrue(bc));
			/* Replace would leak the new item when there was no etag yet */
			cJSON_DeleteItemFromObjectCaseSensitive(obj, "etag");
			cJSON_AddStringToObject(obj, "etag", etag);
			cJSON_ReplaceItemInObjectCaseSensitive(props, "customerManagedKey",
			                                       cJSON_CreateBool(cJSON_IsTrue(bc)));
			doc = si_json(ws, "onboardingStates", obj);
			emu_resp_json(c->resp, onboarded ? 200 : 201, doc);
			cJSON_Delete(doc);
			cJSON_Delete(body);
		}
	} else if (!strcmp(c->req->method, "DELETE")) {
		cJSON_DeleteItemFromObjectCaseSensitive(ws, "onboarded");
		cJSON_AddBoolToObject(ws, "onboarded", false);
		c->resp->status = onboarded ? 200 : 204;
	}
	cJSON_Delete(obj);
}

static void h_si(struct ctx *c, cJSON *state, cJSON *ws)
{
	const char *coll = c->rt->coll;
	cJSON *arr, *obj, *body, *doc, *stored, *item;
	const cJSON *betag;
	char etag[48];
	int idx = 0, found = -1;

	if (!strcmp(coll, "onboardingStates")) {
		h_onboarding(c, ws);
		return;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ws, "onboarded"))) {
		/* UNCERTAIN (§6.3): Sentinel calls on a workspace without Sentinel */
		emu_resp_error(c->resp, 400, "BadRequest",
		               "Workspace '%s' is not onboarded to Microsoft Sentinel.",
		               emu_str(ws, "name"));
		return;
	}
	arr = si_array(ws, coll);
	if (c->rt->kind == R_SI_LIST) {
		cJSON *all;

		if (strcmp(c->req->method, "GET")) {
			method_not_allowed(c);
			return;
		}
		all = cJSON_CreateArray();
		cJSON_ArrayForEach(item, arr)
		{
			cJSON *o = si_json(ws, coll, item);

			catalog_installed(ws, coll, o);
			cJSON_AddItemToArray(all, o);
		}
		page(c, all, "$skipToken", false);
		return;
	}
	cJSON_ArrayForEach(item, arr)
	{
		const char *n = emu_str(item, "name");

		if (n && !strcasecmp(n, c->rt->name)) {
			found = idx;
			break;
		}
		idx++;
	}
	obj = found >= 0 ? cJSON_GetArrayItem(arr, found) : NULL;
	if (!strcmp(c->req->method, "GET")) {
		if (!obj) {
			emu_resp_error(c->resp, 404, "NotFound", "%s '%s' not found.", coll,
			               c->rt->name);
			return;
		}
		doc = si_json(ws, coll, obj);
		catalog_installed(ws, coll, doc);
		emu_resp_json(c->resp, 200, doc);
		cJSON_Delete(doc);
		return;
	}
	if (!strcmp(coll, "contentProductPackages")) {
		method_not_allowed(c);
		return;
	}
	if (!strcmp(c->req->method, "DELETE")) {
		if (obj)
			cJSON_DeleteItemFromArray(arr, found);
		c->resp->status = obj ? 200 : 204;
		return;
	}
	if (strcmp(c->req->method, "PUT")) {
		method_not_allowed(c);
		return;
	}
	body = parse_body(c);
	if (!body)
		return;
	betag = cJSON_GetObjectItemCaseSensitive(body, "etag");
	if (cJSON_IsString(betag) &&
	    (!obj || !emu_str(obj, "etag") || strcmp(betag->valuestring, emu_str(obj, "etag")))) {
		/* §4.4: a stale body etag (or one for an object that is gone); text UNCERTAIN */
		emu_resp_error(c->resp, 409, "Conflict",
		               "The etag '%s' does not match the current version of '%s'. "
		               "Newer version of the resource exists; refresh and retry.",
		               betag->valuestring, c->rt->name);
		cJSON_Delete(body);
		return;
	}
	if (!si_validate(c, state, body, obj)) {
		cJSON_Delete(body);
		return;
	}
	stored = cJSON_CreateObject();
	cJSON_AddStringToObject(stored, "name", obj ? emu_str(obj, "name") : c->rt->name);
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "kind")))
		cJSON_AddStringToObject(stored, "kind", emu_str(body, "kind"));
	emu_new_etag(etag);
	cJSON_AddStringToObject(stored, "etag", etag);
	cJSON_AddItemToObject(stored, "properties",
	                      cJSON_DetachItemFromObjectCaseSensitive(body, "properties"));
	if (obj)
		cJSON_ReplaceItemInArray(arr, found, stored);
	else
		cJSON_AddItemToArray(arr, stored);
	doc = si_json(ws, coll, stored);
	emu_resp_json(c->resp, obj ? 200 : 201, doc);
	cJSON_Delete(doc);
	cJSON_Delete(body);
}

/* --- dispatch --- */

static bool api_version_ok(struct ctx *c)
{
	const char *v = mdc_kvlist_get(&c->req->args, "api-version", true);
	struct mdc_buf list = MDC_BUF_INIT;

	if (!v || !*v) {
		emu_resp_error(c->resp, 400, "MissingApiVersionParameter",
		               "The api-version query parameter (?api-version=) is required for "
		               "all requests.");
		return false;
	}
	for (int i = 0; c->rt->versions[i]; i++)
		if (!strcmp(c->rt->versions[i], v)) {
			c->api_version = c->rt->versions[i];
			return true;
		}
	for (int i = 0; c->rt->versions[i]; i++)
		mdc_buf_addf(&list, "%s%s", i ? "," : "", c->rt->versions[i]);
	/* UNCERTAIN text; real ARM says NoRegisteredProviderFound for RP types (README) */
	emu_resp_error(c->resp, 400, "InvalidApiVersionParameter",
	               "The api-version '%s' is invalid. The supported versions are '%s'.", v,
	               list.ptr);
	mdc_buf_release(&list);
	return false;
}

static bool throttle_ok(struct ctx *c)
{
	struct emu *emu = c->emu;
	enum emu_op op = emu_op_of(c->req->method);
	static const char *const names[] = {"reads", "writes", "deletes"};
	const char *scope = c->rt->tenant_scope || !c->rt->sub ? "tenant" : c->rt->sub;
	long retry = 0, left, global = 0;
	char h[96], v[32];

	if (!emu->opts.throttle) {
		left = (long)emu->limits[op].burst - 1;
		global = left * 15;
	} else {
		left = emu_throttle_take(emu, scope, c->req->oid, op, false, &retry);
		if (left >= 0 && strcmp(scope, "tenant"))
			global = emu_throttle_take(emu, scope, c->req->oid, op, true, &retry);
		if (left < 0 || global < 0) {
			snprintf(v, sizeof(v), "%ld", retry);
			emu_resp_error(c->resp, 429, "TooManyRequests",
			               "The request is being throttled as the limit has been "
			               "reached for operation type - '%s'. For more information, "
			               "see - https://aka.ms/msdn-throttling",
			               op == EMU_READ && c->rt->is_list ? "List" : emu_op_name(op));
			emu_resp_header(c->resp, "Retry-After", v);
			return false;
		}
	}
	snprintf(h, sizeof(h), "x-ms-ratelimit-remaining-%s-%s",
	         strcmp(scope, "tenant") ? "subscription" : "tenant", names[op]);
	snprintf(v, sizeof(v), "%ld", left);
	emu_resp_header(c->resp, h, v);
	if (strcmp(scope, "tenant")) {
		snprintf(h, sizeof(h), "x-ms-ratelimit-remaining-subscription-global-%s",
		         names[op]);
		snprintf(v, sizeof(v), "%ld", global);
		emu_resp_header(c->resp, h, v);
	}
	return true;
}

static bool authenticate(struct ctx *c)
{
	struct entra_caller caller;
	const char *code = NULL;
	char *message = NULL, *www = NULL;
	int rc = entra_check_bearer(c->emu->entra, c->emu->state, c->req->authorization, &caller,
	                            &code, &message, &www);

	if (rc == 0) {
		snprintf(c->req->oid, sizeof(c->req->oid), "%s", caller.oid);
		snprintf(c->req->tid, sizeof(c->req->tid), "%s", caller.tid);
		return true;
	}
	emu_resp_error(c->resp, rc ? rc : 401, code ? code : "AuthenticationFailed", "%s",
	               message ? message : "Authentication failed.");
	if (www)
		emu_resp_header(c->resp, "WWW-Authenticate", www);
	free(message);
	free(www);
	return false;
}

/* A token of another tenant than the subscription's: 401 InvalidAuthenticationTokenTenant
 * (issue 3; ARM's text, with the emulator's host for the issuer and the authority). */
static bool token_tenant_ok(struct ctx *c, const cJSON *sub)
{
	const char *want = emu_str(sub, "tenantId");
	char *www;

	if (!want || !*want || !strcasecmp(want, c->req->tid))
		return true;
	emu_resp_error(c->resp, 401, "InvalidAuthenticationTokenTenant",
	               "The access token is from the wrong issuer '%s/%s/'. It must match the "
	               "tenant '%s/%s/' associated with this subscription. Please use the "
	               "authority (URL) '%s/%s' to get the token. Note, if the subscription is "
	               "transferred to another tenant there is no impact to the services, but "
	               "information about new tenant could take time to propagate (up to an "
	               "hour). If you just transferred your subscription and see this error "
	               "message, please try back later.",
	               c->emu->base_url, c->req->tid, c->emu->base_url, want, c->emu->base_url,
	               want);
	www = mdc_xasprintf("Bearer authorization_uri=\"%s/%s\", error=\"invalid_token\", "
	                    "error_description=\"The access token is from the wrong issuer.\"",
	                    c->emu->base_url, want);
	emu_resp_header(c->resp, "WWW-Authenticate", www);
	free(www);
	return false;
}

static bool is_write(const char *m)
{
	return strcmp(m, "GET") && strcmp(m, "HEAD");
}

static void dispatch(struct ctx *c)
{
	struct route *rt = c->rt;
	cJSON *state = c->emu->state, *sub = NULL, *ws = NULL;

	if (!authenticate(c) || !api_version_ok(c))
		return;
	if (rt->kind == R_BATCH) {
		/* the batch takes no throttle token itself: each sub-request takes its own */
		if (strcmp(c->req->method, "POST"))
			method_not_allowed(c);
		else
			c->batch = true;
		return;
	}
	if (!throttle_ok(c))
		return;
	if (rt->sub) {
		sub = emu_find_sub(state, rt->sub);
		if (sub && !token_tenant_ok(c, sub))
			return;
		if (!sub || (rt->kind == R_SUB && !emu_sub_visible(state, c->req->oid, rt->sub))) {
			emu_resp_error(c->resp, 404, "SubscriptionNotFound",
			               "The subscription '%s' could not be found.", rt->sub);
			return;
		}
	}
	if ((rt->kind == R_SUBS || rt->kind == R_SUB || rt->kind == R_TENANTS ||
	     rt->kind == R_PERMISSIONS || rt->kind == R_WORKSPACES || rt->kind == R_MG_LIST) &&
	    strcmp(c->req->method, "GET")) {
		method_not_allowed(c);
		return;
	}
	if (rt->action[0]) {
		const char *scope = c->req->path;
		char mgscope[256];

		if (rt->kind == R_MG_DESC) {
			snprintf(mgscope, sizeof(mgscope),
			         "/providers/Microsoft.Management/managementGroups/%s", rt->mg);
			scope = mgscope;
		}
		if (!emu_allowed(state, c->req->oid, scope, rt->action)) {
			authorization_failed(c, rt->action, c->req->path);
			return;
		}
	}
	if (sub && is_write(c->req->method) && rt->kind != R_REGISTER && emu_str(sub, "state") &&
	    !strcasecmp(emu_str(sub, "state"), "Disabled")) {
		emu_resp_error(c->resp, 409, "ReadOnlyDisabledSubscription",
		               "The subscription '%s' is disabled and therefore marked as read "
		               "only. You cannot perform any write actions on this subscription "
		               "until it is re-enabled.",
		               rt->sub);
		return;
	}
	if ((rt->kind == R_PRICING || rt->kind == R_PRICINGS || rt->kind == R_SETTING ||
	     rt->kind == R_SETTINGS) &&
	    !registered(sub, "Microsoft.Security")) {
		missing_registration(c, "Microsoft.Security");
		return;
	}
	if (rt->kind == R_SI_LIST || rt->kind == R_SI_ITEM) {
		if (!registered(sub, "Microsoft.SecurityInsights")) {
			missing_registration(c, "Microsoft.SecurityInsights");
			return;
		}
	}
	if (rt->ws || (rt->rg && rt->kind == R_PERMISSIONS)) {
		if (!emu_find_workspace(state, rt->sub, rt->rg, NULL)) {
			emu_resp_error(c->resp, 404, "ResourceGroupNotFound",
			               "Resource group '%s' could not be found.", rt->rg);
			return;
		}
		if (rt->ws && !(ws = emu_find_workspace(state, rt->sub, rt->rg, rt->ws))) {
			emu_resp_error(c->resp, 404, "ResourceNotFound",
			               "The Resource 'Microsoft.OperationalInsights/workspaces/%s' "
			               "under resource group '%s' was not found. For more details "
			               "please go to https://aka.ms/ARMResourceNotFoundFix",
			               rt->ws, rt->rg);
			return;
		}
	}
	switch (rt->kind) {
	case R_SUBS:
		h_subs(c, state);
		break;
	case R_SUB: {
		cJSON *doc = sub_json(sub);
		emu_resp_json(c->resp, 200, doc);
		cJSON_Delete(doc);
		break;
	}
	case R_TENANTS:
		h_tenants(c, state);
		break;
	case R_MG_DESC:
		h_mg_desc(c, state);
		break;
	case R_MG_LIST:
		h_mg_list(c, state);
		break;
	case R_PROVIDERS:
		h_providers(c, sub);
		break;
	case R_PROVIDER:
	case R_REGISTER:
		h_provider(c, state, sub);
		break;
	case R_PRICINGS:
		if (strcmp(c->req->method, "GET"))
			method_not_allowed(c);
		else
			h_pricings(c, sub);
		break;
	case R_PRICING:
		h_pricing(c, sub);
		break;
	case R_SETTINGS:
		h_settings(c, sub);
		break;
	case R_SETTING:
		h_setting(c, sub);
		break;
	case R_PERMISSIONS:
		h_permissions(c, state);
		break;
	case R_WORKSPACE:
		h_workspace(c, ws);
		break;
	case R_WORKSPACES:
		h_workspaces(c, state);
		break;
	case R_SI_LIST:
	case R_SI_ITEM:
		h_si(c, state, ws);
		break;
	case R_NONE:
	case R_BATCH:
		break;
	}
}

void emu_arm(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	struct route rt = {0};
	struct ctx c = {emu, req, resp, &rt, NULL, 0, false};

	split(&rt, req->path);
	classify(&rt, req->method);
	if (rt.kind == R_NONE) {
		/* UNCERTAIN: ARM's answer for paths it does not route */
		emu_resp_error(resp, 404, "InvalidResourceType",
		               "The resource type could not be found for path '%s'.", req->path);
	} else {
		pthread_mutex_lock(&emu->lock);
		dispatch(&c);
		pthread_mutex_unlock(&emu->lock);
	}
	if (c.batch)
		emu_batch(emu, req, resp); /* its sub-requests come back here, one by one */
	if (c.delay_ms > 0) {
		/* the pricing write stays in flight for this long (§2.7) */
		struct timespec ts = {c.delay_ms / 1000, (c.delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < rt.n; i++)
		free(rt.seg[i]);
}
