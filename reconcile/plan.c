/*
 * The planner: desired x actual -> ordered items with the request that applies each.
 * Pure: no I/O, no clock. See plan.h for the ordering and schema/plan.schema.json for
 * the saved format.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "azure.h"
#include "buf.h"
#include "catalog.h"
#include "crypto.h"
#include "plan.h"
#include "banned.h"

#define NONE ((size_t)-1)

#define MDC_RULE_KIND         "MicrosoftSecurityIncidentCreation"
#define MDC_RULE_DEFAULT_NAME "Create incidents based on Microsoft Defender for Cloud alerts"
#define MDC_RULE_DEFAULT_DESC "Create incidents based on Azure Security Center alerts"

#define ROLE_SECURITY_ADMIN       "Security Admin"
#define ROLE_CONTRIBUTOR          "Contributor"
#define ROLE_SENTINEL_CONTRIBUTOR "Microsoft Sentinel Contributor"

struct ctx {
	const struct mdc_config *cfg;
	const struct mdc_actual *act;
	const struct mdc_catalog *cat;
	struct mdc_plan *p;
	size_t items_alloc, notes_alloc, fp_alloc;
	struct mdc_api_versions api;
	char *ws_lower;   /* the workspace path, lower case (deterministic names) */
	char *ws_blocked; /* why Sentinel writes cannot happen, or NULL */
};

static const char *const action_names[MDC_ACT_MAX] = {"noop", "create", "update", "delete",
                                                      "register"};
static const char *const kind_names[MDC_ITEM_MAX] = {
    "subscription", "provider", "pricing", "connector", "sync", "solution", "incident-rule"};
static const char *const level_names[MDC_NOTE_MAX] = {"info", "warning"};
static const char *const mode_names[MDC_MODE_MAX] = {"subscription", "tenant"};
static const char *const sev_names[] = {"High", "Medium", "Low", "Informational"};

const char *mdc_action_name(enum mdc_action a)
{
	return (unsigned)a < MDC_ACT_MAX ? action_names[a] : "?";
}

const char *mdc_item_kind_name(enum mdc_item_kind k)
{
	return (unsigned)k < MDC_ITEM_MAX ? kind_names[k] : "?";
}

const char *mdc_note_level_name(enum mdc_note_level l)
{
	return (unsigned)l < MDC_NOTE_MAX ? level_names[l] : "?";
}

static char *xstrdup_or_null(const char *s)
{
	return s ? mdc_xstrdup(s) : NULL;
}

/* ---- building items --------------------------------------------------------------- */

#define IT(c, i) (&(c)->p->items[(i)])

static size_t item_new(struct ctx *c, enum mdc_item_kind kind, const char *sub, char *id,
                       char *resource, enum mdc_action action)
{
	struct mdc_plan_item *it;

	MDC_ALLOC_GROW(c->p->items, c->p->nitems + 1, c->items_alloc);
	it = &c->p->items[c->p->nitems];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->subscription = xstrdup_or_null(sub);
	it->id = id;
	it->resource = resource;
	it->action = action;
	return c->p->nitems++;
}

static void item_reason(struct ctx *c, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void item_reason(struct ctx *c, size_t i, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(IT(c, i)->reason);
	IT(c, i)->reason = mdc_buf_detach(&b);
}

/* Sets the blocked reason unless one is already set (the first reason found wins). */
static void item_block(struct ctx *c, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void item_block(struct ctx *c, size_t i, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	if (IT(c, i)->blocked)
		return;
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	IT(c, i)->blocked = mdc_buf_detach(&b);
}

static void item_change(struct ctx *c, size_t i, const char *field, const char *before,
                        const char *after)
{
	struct mdc_plan_item *it = IT(c, i);

	it->changes = mdc_xrealloc(it->changes, (it->nchanges + 1) * sizeof(*it->changes));
	it->changes[it->nchanges].field = mdc_xstrdup(field);
	it->changes[it->nchanges].before = xstrdup_or_null(before);
	it->changes[it->nchanges].after = xstrdup_or_null(after);
	it->nchanges++;
}

static void item_dep(struct ctx *c, size_t i, size_t dep)
{
	if (dep != NONE && dep != i)
		mdc_strvec_push(&IT(c, i)->depends_on, IT(c, dep)->id);
}

/* Takes body (a cJSON tree, or NULL) and stores its compact text. */
static void item_request(struct ctx *c, size_t i, const char *method, const char *path,
                         const char *api, cJSON *body)
{
	struct mdc_plan_item *it = IT(c, i);

	it->req.method = mdc_xstrdup(method);
	it->req.path = mdc_xstrdup(path);
	it->req.api_version = mdc_xstrdup(api);
	if (body) {
		char *t = cJSON_PrintUnformatted(body);
		if (!t)
			abort(); /* out of memory */
		it->req.body = mdc_xstrdup(t);
		cJSON_free(t);
		cJSON_Delete(body);
	}
}

static void item_perm(struct ctx *c, size_t i, const struct mdc_permissions *perms,
                      const char *action, const char *scope, const char *role)
{
	if (!mdc_permissions_allow(perms, action))
		item_block(c, i, "missing permission '%s' on the %s (granted by %s)", action, scope,
		           role);
}

static void note_add(struct ctx *c, enum mdc_note_level level, const char *code, const char *sub,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void note_add(struct ctx *c, enum mdc_note_level level, const char *code, const char *sub,
                     const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_plan_note *n;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	MDC_ALLOC_GROW(c->p->notes, c->p->nnotes + 1, c->notes_alloc);
	n = &c->p->notes[c->p->nnotes++];
	n->level = level;
	n->code = mdc_xstrdup(code);
	n->subscription = xstrdup_or_null(sub);
	n->message = mdc_buf_detach(&b);
}

/* Appends without a duplicate check: paths are unique by construction, and a set with a
 * check per insert would be quadratic at tenant scale. */
static void fingerprint_add(struct ctx *c, char *path, const char *fp)
{
	struct mdc_kvlist *kl = &c->p->fingerprints;

	if (!fp) {
		free(path);
		return;
	}
	MDC_ALLOC_GROW(kl->v, kl->n + 1, c->fp_alloc);
	kl->alloc = c->fp_alloc;
	kl->v[kl->n].key = path;
	kl->v[kl->n].value = mdc_xstrdup(fp);
	kl->n++;
}

static const char *tf(bool b)
{
	return b ? "true" : "false";
}

static const char *tf_title(bool b)
{
	return b ? "True" : "False";
}

static bool is_tier(const struct mdc_pricing *a, const char *tier)
{
	return a && mdc_streq_i(a->tier, tier);
}

/* ---- paths ------------------------------------------------------------------------ */

static char *sub_path(const char *sub)
{
	return mdc_xasprintf("/subscriptions/%s", sub);
}

static char *pricing_path(const char *sub, const char *plan)
{
	return mdc_xasprintf("/subscriptions/%s/providers/Microsoft.Security/pricings/%s", sub,
	                     plan);
}

static char *sync_path(const char *sub)
{
	return mdc_xasprintf("/subscriptions/%s/providers/Microsoft.Security/settings/Sentinel",
	                     sub);
}

static char *insights_path(struct ctx *c, const char *type, const char *name)
{
	return mdc_xasprintf("%s/providers/Microsoft.SecurityInsights/%s/%s", c->p->workspace, type,
	                     name);
}

/* ---- per subscription ------------------------------------------------------------- */

struct subplan {
	const struct mdc_sub_actual *s;
	const struct mdc_settings *eff;
	const char *sub;  /* id */
	size_t reg;       /* the register item, or NONE */
	size_t first_std; /* the first pricing item that turns a plan Standard, or NONE */
	size_t last_pricing;
	bool std_kept;    /* some plan is Standard in Azure now and this plan keeps it so */
	bool std_after;   /* some plan is Standard once the plan is applied */
	size_t connector; /* the (first) connector item that changes something, or NONE */
	size_t sync;      /* the sync item that changes something, or NONE */
};

static cJSON *ext_json(const char *name, bool enabled, const struct mdc_kvlist *props)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "isEnabled", tf_title(enabled));
	/* Properties of a disabled extension make the service answer 500 (reference §2.7). */
	if (enabled && props && props->n) {
		cJSON *o = cJSON_AddObjectToObject(e, "additionalExtensionProperties");
		for (size_t i = 0; i < props->n; i++)
			cJSON_AddStringToObject(o, props->v[i].key, props->v[i].value);
	}
	return e;
}

static const struct mdc_ext_actual *find_ext(const struct mdc_pricing *a, const char *name)
{
	for (size_t i = 0; a && i < a->nexts; i++)
		if (mdc_streq_i(a->exts[i].name, name))
			return &a->exts[i];
	return NULL;
}

static const struct mdc_ext_desired *find_ext_d(const struct mdc_plan_desired *d, const char *name)
{
	for (size_t i = 0; i < d->nexts; i++)
		if (mdc_streq_i(d->exts[i].name, name))
			return &d->exts[i];
	return NULL;
}

/* A pricing PUT body. With `a`, fields the config leaves unset keep their value in Azure
 * and extensions the config does not name are sent as they are: a PUT replaces the
 * object, and whether omitted extensions are kept is UNCERTAIN (reference §2.7), so we
 * never rely on it. */
static cJSON *pricing_body(const struct mdc_plan_desired *d, const struct mdc_pricing *a,
                           bool with_exts)
{
	cJSON *root = cJSON_CreateObject(), *props = cJSON_AddObjectToObject(root, "properties");
	const char *sub_plan = d->sub_plan ? d->sub_plan : (a ? a->sub_plan : NULL);
	const char *enforce =
	    d->enforce != MDC_UNSET ? tf_title(d->enforce == MDC_TRUE) : (a ? a->enforce : NULL);

	cJSON_AddStringToObject(props, "pricingTier", "Standard");
	if (sub_plan)
		cJSON_AddStringToObject(props, "subPlan", sub_plan);
	if (enforce)
		cJSON_AddStringToObject(props, "enforce", enforce);
	if (with_exts && (d->nexts || (a && a->nexts))) {
		cJSON *arr = cJSON_AddArrayToObject(props, "extensions");
		for (size_t i = 0; a && i < a->nexts; i++)
			if (!find_ext_d(d, a->exts[i].name))
				cJSON_AddItemToArray(arr,
				                     ext_json(a->exts[i].name, a->exts[i].enabled,
				                              &a->exts[i].properties));
		for (size_t i = 0; i < d->nexts; i++)
			cJSON_AddItemToArray(arr, ext_json(d->exts[i].name, d->exts[i].enabled,
			                                   &d->exts[i].properties));
	}
	return root;
}

static size_t pricing_item(struct ctx *c, struct subplan *sp, const char *plan, const char *suffix,
                           enum mdc_action action)
{
	size_t i = item_new(c, MDC_ITEM_PRICING, sp->sub,
	                    mdc_xasprintf("sub/%s/pricing/%s%s", sp->sub, plan, suffix),
	                    pricing_path(sp->sub, plan), action);
	const struct mdc_pricing *a = mdc_sub_pricing(sp->s, plan);

	IT(c, i)->fingerprint = xstrdup_or_null(a ? a->fingerprint : NULL);
	if (action == MDC_ACT_NOOP)
		return i;
	/* One pricing write per subscription at a time (reference §2.7): a chain. */
	item_dep(c, i, sp->last_pricing);
	sp->last_pricing = i;
	if (!sp->s->pricings_read)
		item_block(c, i, "the subscription's Defender plans could not be read");
	item_perm(c, i, &sp->s->perms, "Microsoft.Security/pricings/write", "subscription",
	          ROLE_SECURITY_ADMIN);
	return i;
}

static void put_free(struct ctx *c, struct subplan *sp, const char *plan,
                     const struct mdc_pricing *a, const char *why)
{
	size_t i = pricing_item(c, sp, plan, "", a ? MDC_ACT_UPDATE : MDC_ACT_CREATE);
	cJSON *body = cJSON_CreateObject();

	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "properties"), "pricingTier", "Free");
	item_request(c, i, "PUT", IT(c, i)->resource, c->api.pricings, body);
	item_change(c, i, "pricingTier", a ? a->tier : NULL, "Free");
	item_reason(c, i, "%s", why);
}

/* The extension changes of d against a (or, when the plan is not Standard yet, against
 * what Azure turns on by itself when it becomes Standard: catalog defaultExtensions). */
static size_t ext_changes(struct ctx *c, size_t i, const struct mdc_plan_desired *d,
                          const struct mdc_pricing *a, bool a_std, bool dry)
{
	const struct mdc_catalog_plan *cp = mdc_catalog_plan(c->cat, d->name);
	size_t n = 0;

	for (size_t k = 0; k < d->nexts; k++) {
		const struct mdc_ext_desired *x = &d->exts[k];
		const struct mdc_ext_actual *y = a_std ? find_ext(a, x->name) : NULL;
		bool cur = y ? y->enabled
		             : (!a_std && cp &&
		                mdc_strvec_find(&cp->default_extensions, x->name, true) >= 0);
		struct mdc_buf f = MDC_BUF_INIT;

		if (cur != x->enabled) {
			n++;
			if (!dry) {
				mdc_buf_addf(&f, "extensions.%s.isEnabled", x->name);
				item_change(c, i, f.ptr, tf(cur), tf(x->enabled));
			}
		}
		for (size_t p = 0; x->enabled && p < x->properties.n; p++) {
			const struct mdc_kv *kv = &x->properties.v[p];
			const char *have =
			    y ? mdc_kvlist_get(&y->properties, kv->key, false) : NULL;
			if (mdc_streq(have, kv->value))
				continue;
			n++;
			if (!dry) {
				mdc_buf_reset(&f);
				mdc_buf_addf(&f, "extensions.%s.%s", x->name, kv->key);
				item_change(c, i, f.ptr, have, kv->value);
			}
		}
		mdc_buf_release(&f);
	}
	return n;
}

static void plan_desired_pricing(struct ctx *c, struct subplan *sp,
                                 const struct mdc_plan_desired *d)
{
	const struct mdc_pricing *a = mdc_sub_pricing(sp->s, d->name);
	bool a_std = is_tier(a, "Standard");
	const char *want_enforce =
	    d->enforce == MDC_UNSET ? NULL : tf_title(d->enforce == MDC_TRUE);
	bool tier_chg, sub_chg, enf_chg;
	size_t i, nexts;

	if (d->tier == MDC_TIER_FREE) {
		if (is_tier(a, "Free"))
			pricing_item(c, sp, d->name, "", MDC_ACT_NOOP);
		else
			put_free(c, sp, d->name, a, "the configuration sets this plan Free");
		return;
	}
	if (d->tier != MDC_TIER_STANDARD)
		return;
	tier_chg = !a_std;
	sub_chg = d->sub_plan && !mdc_streq_i(a ? a->sub_plan : NULL, d->sub_plan);
	enf_chg = want_enforce && !mdc_streq_i(a ? a->enforce : NULL, want_enforce);
	nexts = ext_changes(c, 0, d, a, a_std, true);

	if (!tier_chg && !sub_chg && !enf_chg && !nexts) {
		pricing_item(c, sp, d->name, "", MDC_ACT_NOOP);
		return;
	}
	i = pricing_item(c, sp, d->name, "", a ? MDC_ACT_UPDATE : MDC_ACT_CREATE);
	if (tier_chg) {
		item_change(c, i, "pricingTier", a ? a->tier : NULL, "Standard");
		if (sp->first_std == NONE)
			sp->first_std = i;
	}
	if (sub_chg)
		item_change(c, i, "subPlan", a ? a->sub_plan : NULL, d->sub_plan);
	if (enf_chg)
		item_change(c, i, "enforce", a ? a->enforce : NULL, want_enforce);
	if (a_std) {
		/* In place, sub-plan changes included: never a Free window. */
		ext_changes(c, i, d, a, a_std, false);
		item_request(c, i, "PUT", IT(c, i)->resource, c->api.pricings,
		             pricing_body(d, a, true));
		item_reason(c, i, "the plan differs from the configuration");
		return;
	}
	/* Free -> Standard: extensions are refused while Free (reference §2.7), so the tier
	 * goes first and the extensions follow in a dependent PUT. */
	item_request(c, i, "PUT", IT(c, i)->resource, c->api.pricings,
	             pricing_body(d, NULL, false));
	item_reason(c, i, "the configuration sets this plan Standard");
	if (!nexts)
		return;
	i = pricing_item(c, sp, d->name, "/extensions", MDC_ACT_UPDATE);
	ext_changes(c, i, d, a, a_std, false);
	item_request(c, i, "PUT", IT(c, i)->resource, c->api.pricings, pricing_body(d, NULL, true));
	item_reason(c, i, "extensions can be set only once the plan is Standard");
}

static int cmp_cstr(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void plan_pricings(struct ctx *c, struct subplan *sp)
{
	const struct mdc_settings *eff = sp->eff;
	struct mdc_strvec names = {0};
	const char **extra;
	size_t nextra = 0;

	/* Catalogue order first, then desired plans the catalogue does not know, by name. */
	for (size_t i = 0; i < c->cat->nplans; i++)
		mdc_strvec_push(&names, c->cat->plans[i].name);
	extra = mdc_xcalloc(eff->nplans + 1, sizeof(*extra));
	for (size_t i = 0; i < eff->nplans; i++)
		if (!mdc_catalog_plan(c->cat, eff->plans[i].name))
			extra[nextra++] = eff->plans[i].name;
	qsort(extra, nextra, sizeof(*extra), cmp_cstr);
	for (size_t i = 0; i < nextra; i++)
		mdc_strvec_push(&names, extra[i]);
	free(extra);

	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		const struct mdc_plan_desired *d = mdc_settings_plan(eff, name);
		const struct mdc_pricing *a = mdc_sub_pricing(sp->s, name);
		const struct mdc_catalog_plan *cp = mdc_catalog_plan(c->cat, name);
		bool deprecated = (a && a->deprecated) || (cp && cp->deprecated);
		bool after_std;

		if (d) {
			plan_desired_pricing(c, sp, d);
			after_std = d->tier == MDC_TIER_STANDARD;
		} else if (eff->other_plans == MDC_OTHER_FREE && cp && !cp->deprecated) {
			if (is_tier(a, "Standard"))
				put_free(c, sp, name, a,
				         "not named in the configuration and otherPlans is free");
			after_std = false;
		} else {
			after_std = is_tier(a, "Standard");
		}
		if (after_std)
			sp->std_after = true;
		if (after_std && is_tier(a, "Standard"))
			sp->std_kept = true;
		if (deprecated && after_std) {
			const struct mdc_strvec *rb = a && a->replaced_by.n
			                                  ? &a->replaced_by
			                                  : (cp ? &cp->replaced_by : NULL);
			struct mdc_buf b = MDC_BUF_INIT;
			for (size_t k = 0; rb && k < rb->n; k++)
				mdc_buf_addf(&b, "%s'%s'", k ? ", " : "", rb->v[k]);
			note_add(c, MDC_NOTE_WARNING, "deprecated-plan", sp->sub,
			         "Defender plan '%s' is deprecated but Standard; %s%s", name,
			         b.len ? "its replacement is " : "it has no named replacement",
			         b.ptr);
			mdc_buf_release(&b);
		}
	}
	/* Plans in Azure that neither the catalogue nor the config knows still count. */
	for (size_t i = 0; i < sp->s->npricings; i++)
		if (mdc_strvec_find(&names, sp->s->pricings[i].name, true) < 0 &&
		    is_tier(&sp->s->pricings[i], "Standard"))
			sp->std_after = sp->std_kept = true;
	mdc_strvec_clear(&names);
}

static void plan_register(struct ctx *c, struct subplan *sp)
{
	size_t i;
	char *res =
	    mdc_xasprintf("/subscriptions/%s/providers/Microsoft.SecurityInsights", sp->sub);
	char *path = mdc_xasprintf("%s/register", res);

	i = item_new(c, MDC_ITEM_PROVIDER, sp->sub,
	             mdc_xasprintf("sub/%s/provider/Microsoft.SecurityInsights", sp->sub), res,
	             MDC_ACT_REGISTER);
	item_request(c, i, "POST", path, c->api.providers, NULL);
	free(path);
	item_change(c, i, "registrationState",
	            sp->s->insights_provider == MDC_PROVIDER_UNKNOWN
	                ? NULL
	                : mdc_provider_state_name(sp->s->insights_provider),
	            "Registered");
	item_reason(c, i,
	            "the AzureSecurityCenter connector needs Microsoft.SecurityInsights "
	            "registered on the subscription");
	item_perm(c, i, &sp->s->perms, "Microsoft.SecurityInsights/register/action", "subscription",
	          ROLE_CONTRIBUTOR);
	sp->reg = i;
}

static cJSON *connector_body(const char *sub, const char *etag)
{
	cJSON *b = cJSON_CreateObject(), *p;

	cJSON_AddStringToObject(b, "kind", "AzureSecurityCenter");
	if (etag)
		cJSON_AddStringToObject(b, "etag", etag);
	p = cJSON_AddObjectToObject(b, "properties");
	cJSON_AddStringToObject(p, "subscriptionId", sub);
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "dataTypes"), "alerts"), "state",
	    "Enabled");
	return b;
}

static void connector_checks(struct ctx *c, size_t i, const char *perm)
{
	if (c->ws_blocked)
		item_block(c, i, "%s", c->ws_blocked);
	item_perm(c, i, &c->act->workspace.perms, perm, "workspace", ROLE_SENTINEL_CONTRIBUTOR);
}

static size_t connector_delete(struct ctx *c, const char *sub, const struct mdc_connector *k,
                               const char *why)
{
	size_t i =
	    item_new(c, MDC_ITEM_CONNECTOR, sub, mdc_xasprintf("sub/%s/connector/%s", sub, k->name),
	             insights_path(c, "dataConnectors", k->name), MDC_ACT_DELETE);

	IT(c, i)->fingerprint = xstrdup_or_null(k->etag);
	item_request(c, i, "DELETE", IT(c, i)->resource, c->api.insights, NULL);
	item_change(c, i, "dataTypes.alerts.state", k->alerts_state, NULL);
	item_reason(c, i, "%s", why);
	connector_checks(c, i, "Microsoft.SecurityInsights/dataConnectors/delete");
	return i;
}

static void plan_connect(struct ctx *c, struct subplan *sp)
{
	const struct mdc_connector **v;
	size_t i, n = mdc_workspace_asc_connectors(&v, &c->act->workspace, sp->sub);
	const struct mdc_connector *k = n ? v[0] : NULL;

	if (k && mdc_streq_i(k->alerts_state, "Enabled")) {
		i = item_new(c, MDC_ITEM_CONNECTOR, sp->sub,
		             mdc_xasprintf("sub/%s/connector/%s", sp->sub, k->name),
		             insights_path(c, "dataConnectors", k->name), MDC_ACT_NOOP);
		IT(c, i)->fingerprint = xstrdup_or_null(k->etag);
		if (!sp->std_after)
			note_add(c, MDC_NOTE_WARNING, "no-standard-plan", sp->sub,
			         "the subscription stays connected but no Defender plan will be "
			         "Standard, so no alerts will flow");
		free(v);
		return;
	}
	if (k) {
		i = item_new(c, MDC_ITEM_CONNECTOR, sp->sub,
		             mdc_xasprintf("sub/%s/connector/%s", sp->sub, k->name),
		             insights_path(c, "dataConnectors", k->name), MDC_ACT_UPDATE);
		IT(c, i)->fingerprint = xstrdup_or_null(k->etag);
		item_request(c, i, "PUT", IT(c, i)->resource, c->api.insights,
		             connector_body(sp->sub, k->etag));
		item_change(c, i, "dataTypes.alerts.state", k->alerts_state, "Enabled");
		item_reason(c, i, "connected is true but the connector's alerts are not Enabled");
	} else {
		/* The name is derived from the workspace and the subscription, so a retried
		 * PUT after a lost response lands on the same resource, never a twin. */
		const char *parts[3] = {"mdcctl-asc", c->ws_lower, sp->sub};
		char name[37];
		mdc_guid_from(name, parts, 3);
		i = item_new(c, MDC_ITEM_CONNECTOR, sp->sub,
		             mdc_xasprintf("sub/%s/connector/%s", sp->sub, name),
		             insights_path(c, "dataConnectors", name), MDC_ACT_CREATE);
		item_request(c, i, "PUT", IT(c, i)->resource, c->api.insights,
		             connector_body(sp->sub, NULL));
		item_change(c, i, "subscriptionId", NULL, sp->sub);
		item_change(c, i, "dataTypes.alerts.state", NULL, "Enabled");
		item_reason(c, i,
		            "connected is true and no AzureSecurityCenter connector points at "
		            "the subscription");
	}
	item_dep(c, i, sp->reg);
	/* Connecting needs a Standard plan first; unless one is Standard today and stays
	 * so (a plan this plan sets Free does not count), wait for the pricing write that
	 * makes one. */
	if (!sp->std_kept)
		item_dep(c, i, sp->first_std);
	connector_checks(c, i, "Microsoft.SecurityInsights/dataConnectors/write");
	if (!sp->std_after)
		item_block(c, i,
		           "no Defender plan at Standard: connecting needs at least one "
		           "(set a plan Standard in the configuration)");
	sp->connector = i;
	free(v);
}

static void plan_sync(struct ctx *c, struct subplan *sp)
{
	bool want = sp->eff->bidirectional_sync == MDC_TRUE;
	int cur = sp->s->sync_enabled;
	size_t i;
	cJSON *body;

	if (sp->eff->bidirectional_sync == MDC_UNSET)
		return;
	i = item_new(c, MDC_ITEM_SYNC, sp->sub, mdc_xasprintf("sub/%s/sync", sp->sub),
	             sync_path(sp->sub),
	             cur >= 0 && (cur != 0) == want ? MDC_ACT_NOOP : MDC_ACT_UPDATE);
	IT(c, i)->fingerprint = xstrdup_or_null(sp->s->sync_fingerprint);
	if (IT(c, i)->action == MDC_ACT_NOOP)
		return;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "kind", "AlertSyncSettings");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(body, "properties"), "enabled", want);
	item_request(c, i, "PUT", IT(c, i)->resource, c->api.settings, body);
	item_change(c, i, "enabled", cur < 0 ? NULL : tf(cur != 0), tf(want));
	item_reason(c, i, "bidirectionalSync is %s", tf(want));
	if (want)
		item_dep(c, i, sp->connector);
	item_perm(c, i, &sp->s->perms, "Microsoft.Security/settings/write", "subscription",
	          ROLE_SECURITY_ADMIN);
	sp->sync = i;
}

static void plan_subscription(struct ctx *c, const struct mdc_sub_actual *s,
                              const struct mdc_settings *eff)
{
	struct subplan sp = {s, eff, s->id, NONE, NONE, NONE, false, false, NONE, NONE};
	bool sub_mode = c->cfg->connector.mode == MDC_MODE_SUBSCRIPTION;
	size_t n = 0;
	const struct mdc_connector **twins = NULL;

	if (sub_mode && eff->connected == MDC_TRUE &&
	    s->insights_provider != MDC_PROVIDER_REGISTERED)
		plan_register(c, &sp);

	if (sub_mode && eff->connected == MDC_FALSE) {
		/* Disconnecting runs in reverse: sync off, connectors deleted, then plans. */
		const struct mdc_connector **v;
		size_t *del, first;
		n = mdc_workspace_asc_connectors(&v, &c->act->workspace, sp.sub);
		del = mdc_xcalloc(n + 1, sizeof(*del));
		plan_sync(c, &sp);
		for (size_t k = 0; k < n; k++) {
			del[k] = connector_delete(c, sp.sub, v[k], "connected is false");
			if (eff->bidirectional_sync == MDC_FALSE)
				item_dep(c, del[k], sp.sync);
		}
		free(v);
		/* The plans change only once no connector needs them: the first pricing write
		 * (the pricing chain's head) waits for every connector delete. */
		first = c->p->nitems;
		plan_pricings(c, &sp);
		if (first < c->p->nitems && IT(c, first)->kind == MDC_ITEM_PRICING)
			for (size_t k = 0; k < n; k++)
				item_dep(c, first, del[k]);
		free(del);
		return;
	}
	plan_pricings(c, &sp);
	if (sub_mode && eff->connected == MDC_TRUE)
		plan_connect(c, &sp);
	plan_sync(c, &sp);

	if (sub_mode)
		n = mdc_workspace_asc_connectors(&twins, &c->act->workspace, sp.sub);
	if (twins && n > 1) {
		struct mdc_buf b = MDC_BUF_INIT;
		for (size_t k = 1; k < n; k++)
			mdc_buf_addf(&b, "%s'%s'", k > 1 ? ", " : "", twins[k]->name);
		/* Twins are kept while connected: deleting a connector someone else made is
		 * not ours to decide; `connected: false` deletes all of them. */
		note_add(c, MDC_NOTE_WARNING, "twin-connectors", sp.sub,
		         "%zu AzureSecurityCenter connectors point at this subscription; mdcctl "
		         "manages '%s' (first by name) and leaves %s alone",
		         n, twins[0]->name, b.ptr);
		mdc_buf_release(&b);
	}
	free(twins);
}

/* ---- workspace -------------------------------------------------------------------- */

static void plan_solution(struct ctx *c)
{
	const struct mdc_workspace_actual *w = &c->act->workspace;
	const struct mdc_package *inst = mdc_package_find_mdc(w->installed, w->ninstalled);
	const struct mdc_package *cat = mdc_package_find_mdc(w->catalog, w->ncatalog);
	const char *have = inst ? inst->version : NULL;
	const char *min = c->cfg->connector.solution_version;
	bool latest = c->cfg->connector.solution == MDC_SOLUTION_LATEST;
	bool need;
	size_t i;
	cJSON *body, *props;

	if (c->cfg->connector.solution == MDC_SOLUTION_UNMANAGED)
		return;
	if (latest)
		need = !have || (cat && cat->version && mdc_version_cmp(have, cat->version) < 0);
	else
		need = !have || !min || mdc_version_cmp(have, min) < 0;
	i = item_new(c, MDC_ITEM_SOLUTION, NULL, mdc_xstrdup("workspace/solution"),
	             insights_path(c, "contentPackages", MDC_SOLUTION_ID),
	             !need  ? MDC_ACT_NOOP
	             : inst ? MDC_ACT_UPDATE
	                    : MDC_ACT_CREATE);
	IT(c, i)->fingerprint = xstrdup_or_null(inst ? inst->etag : NULL);
	if (!need)
		return;
	item_change(c, i, "version", have, cat ? cat->version : min);
	if (latest)
		item_reason(c, i, "solution is latest and %s",
		            inst ? "a newer version is available" : "it is not installed");
	else
		item_reason(c, i, "solution requires at least %s", min ? min : "?");
	if (c->ws_blocked)
		item_block(c, i, "%s", c->ws_blocked);
	if (!cat || !cat->version)
		item_block(c, i, "the Content Hub catalog of the workspace does not offer '%s'",
		           MDC_SOLUTION_ID);
	else if (!latest && min && mdc_version_cmp(cat->version, min) < 0)
		item_block(c, i, "the Content Hub catalog offers version %s, below the minimum %s",
		           cat->version, min);
	item_perm(c, i, &w->perms, "Microsoft.SecurityInsights/contentPackages/write", "workspace",
	          ROLE_SENTINEL_CONTRIBUTOR);
	if (!cat || !cat->version)
		return;
	body = cJSON_CreateObject();
	if (inst && inst->etag)
		cJSON_AddStringToObject(body, "etag", inst->etag);
	props = cJSON_AddObjectToObject(body, "properties");
	cJSON_AddStringToObject(props, "contentId", MDC_SOLUTION_ID);
	if (cat->content_product_id)
		cJSON_AddStringToObject(props, "contentProductId", cat->content_product_id);
	cJSON_AddStringToObject(props, "contentKind",
	                        cat->content_kind ? cat->content_kind : "Solution");
	cJSON_AddStringToObject(props, "version", cat->version);
	cJSON_AddStringToObject(props, "displayName",
	                        cat->display_name ? cat->display_name
	                                          : "Microsoft Defender for Cloud");
	item_request(c, i, "PUT", IT(c, i)->resource, c->api.insights, body);
}

static char *sev_text(unsigned mask)
{
	struct mdc_buf b = MDC_BUF_INIT;

	if (!mask)
		return mdc_xstrdup("(all)");
	for (unsigned k = 0; k < 4; k++)
		if (mask & (1u << k))
			mdc_buf_addf(&b, "%s%s", b.len ? ", " : "", sev_names[k]);
	return mdc_buf_detach(&b);
}

static char *names_text(const struct mdc_strvec *v)
{
	struct mdc_buf b = MDC_BUF_INIT;

	if (!v->n)
		return mdc_xstrdup("(none)");
	for (size_t k = 0; k < v->n; k++)
		mdc_buf_addf(&b, "%s%s", k ? ", " : "", v->v[k]);
	return mdc_buf_detach(&b);
}

static void add_names(cJSON *props, const char *key, const struct mdc_strvec *v)
{
	cJSON *arr;

	if (!v->n) {
		cJSON_AddNullToObject(props, key);
		return;
	}
	arr = cJSON_AddArrayToObject(props, key);
	for (size_t k = 0; k < v->n; k++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(v->v[k]));
}

static cJSON *rule_body(const char *etag, const char *display, const char *desc, bool enabled,
                        unsigned sev, const struct mdc_strvec *inc, const struct mdc_strvec *exc,
                        const char *tmpl)
{
	cJSON *b = cJSON_CreateObject(), *p;

	cJSON_AddStringToObject(b, "kind", MDC_RULE_KIND);
	if (etag)
		cJSON_AddStringToObject(b, "etag", etag);
	p = cJSON_AddObjectToObject(b, "properties");
	cJSON_AddStringToObject(p, "displayName", display);
	if (desc)
		cJSON_AddStringToObject(p, "description", desc);
	cJSON_AddBoolToObject(p, "enabled", enabled);
	cJSON_AddStringToObject(p, "productFilter", MDC_PRODUCT_FILTER_MDC);
	if (!sev) {
		cJSON_AddNullToObject(p, "severitiesFilter");
	} else {
		cJSON *arr = cJSON_AddArrayToObject(p, "severitiesFilter");
		for (unsigned k = 0; k < 4; k++)
			if (sev & (1u << k))
				cJSON_AddItemToArray(arr, cJSON_CreateString(sev_names[k]));
	}
	add_names(p, "displayNamesFilter", inc);
	add_names(p, "displayNamesExcludeFilter", exc);
	cJSON_AddStringToObject(p, "alertRuleTemplateName", tmpl ? tmpl : MDC_RULE_TEMPLATE_MDC);
	return b;
}

static unsigned norm_sev(unsigned m)
{
	return (m & MDC_SEV_ALL) == MDC_SEV_ALL ? 0 : m & MDC_SEV_ALL;
}

static void plan_rule(struct ctx *c)
{
	const struct mdc_incident_rule *ir = &c->cfg->incident_rule;
	const struct mdc_alert_rule *r = mdc_workspace_mdc_rule(&c->act->workspace);
	const char *display;
	unsigned want_sev = norm_sev(ir->severities);
	size_t i;
	char name[37];

	if (!ir->present)
		return;
	if (r) {
		i = item_new(c, MDC_ITEM_INCIDENT_RULE, NULL,
		             mdc_xstrdup("workspace/incident-rule"),
		             insights_path(c, "alertRules", r->name), MDC_ACT_UPDATE);
		IT(c, i)->fingerprint = xstrdup_or_null(r->etag);
	} else {
		if (!ir->name) {
			const char *parts[2] = {"mdcctl-incident-rule", c->ws_lower};
			mdc_guid_from(name, parts, 2);
		}
		i = item_new(c, MDC_ITEM_INCIDENT_RULE, NULL,
		             mdc_xstrdup("workspace/incident-rule"),
		             insights_path(c, "alertRules", ir->name ? ir->name : name),
		             ir->enabled ? MDC_ACT_CREATE : MDC_ACT_NOOP);
	}

	if (!ir->enabled) {
		if (!r || !r->enabled) {
			IT(c, i)->action = MDC_ACT_NOOP;
			return;
		}
		item_change(c, i, "enabled", "true", "false");
		item_request(c, i, "PUT", IT(c, i)->resource, c->api.insights,
		             rule_body(r->etag,
		                       r->display_name ? r->display_name : MDC_RULE_DEFAULT_NAME,
		                       r->description, false, norm_sev(r->severities),
		                       &r->include_names, &r->exclude_names, r->template_name));
		item_reason(c, i, "incidentRule.enabled is false");
	} else {
		display = ir->display_name
		              ? ir->display_name
		              : (r && r->display_name ? r->display_name : MDC_RULE_DEFAULT_NAME);
		if (!r) {
			item_change(c, i, "enabled", NULL, "true");
			item_change(c, i, "displayName", NULL, display);
			char *t = sev_text(want_sev);
			item_change(c, i, "severitiesFilter", NULL, t);
			free(t);
			if (ir->include_names.n) {
				t = names_text(&ir->include_names);
				item_change(c, i, "displayNamesFilter", NULL, t);
				free(t);
			}
			if (ir->exclude_names.n) {
				t = names_text(&ir->exclude_names);
				item_change(c, i, "displayNamesExcludeFilter", NULL, t);
				free(t);
			}
			item_reason(c, i,
			            "no incident creation rule for Microsoft Defender for Cloud "
			            "alerts exists");
		} else {
			unsigned have_sev = norm_sev(r->severities);
			if (!r->enabled)
				item_change(c, i, "enabled", "false", "true");
			if (!mdc_streq(r->display_name, display))
				item_change(c, i, "displayName", r->display_name, display);
			if (have_sev != want_sev) {
				char *a = sev_text(have_sev), *b = sev_text(want_sev);
				item_change(c, i, "severitiesFilter", a, b);
				free(a);
				free(b);
			}
			if (!mdc_strvec_equal(&r->include_names, &ir->include_names, false)) {
				char *a = names_text(&r->include_names),
				     *b = names_text(&ir->include_names);
				item_change(c, i, "displayNamesFilter", a, b);
				free(a);
				free(b);
			}
			if (!mdc_strvec_equal(&r->exclude_names, &ir->exclude_names, false)) {
				char *a = names_text(&r->exclude_names),
				     *b = names_text(&ir->exclude_names);
				item_change(c, i, "displayNamesExcludeFilter", a, b);
				free(a);
				free(b);
			}
			if (!IT(c, i)->nchanges) {
				IT(c, i)->action = MDC_ACT_NOOP;
				return;
			}
			item_reason(c, i, "the incident rule differs from incidentRule");
		}
		item_request(c, i, "PUT", IT(c, i)->resource, c->api.insights,
		             rule_body(r ? r->etag : NULL, display,
		                       r && r->description ? r->description : MDC_RULE_DEFAULT_DESC,
		                       true, want_sev, &ir->include_names, &ir->exclude_names,
		                       r ? r->template_name : NULL));
	}
	if (c->ws_blocked)
		item_block(c, i, "%s", c->ws_blocked);
	item_perm(c, i, &c->act->workspace.perms, "Microsoft.SecurityInsights/alertRules/write",
	          "workspace", ROLE_SENTINEL_CONTRIBUTOR);
}

static void plan_workspace_notes(struct ctx *c)
{
	const struct mdc_workspace_actual *w = &c->act->workspace;
	const struct mdc_incident_rule *ir = &c->cfg->incident_rule;
	const struct mdc_alert_rule *r = mdc_workspace_mdc_rule(&c->act->workspace);
	bool rule_on = ir->present ? ir->enabled : (r && r->enabled);
	bool mtp_incidents = false, mtp_alerts = false;

	for (size_t i = 0; i < w->nconnectors; i++) {
		if (!mdc_streq_i(w->connectors[i].kind, "MicrosoftThreatProtection"))
			continue;
		if (mdc_streq_i(w->connectors[i].incidents_state, "Enabled"))
			mtp_incidents = true;
		if (mdc_streq_i(w->connectors[i].alerts_state, "Enabled"))
			mtp_alerts = true;
	}
	if (c->cfg->connector.mode == MDC_MODE_TENANT)
		note_add(
		    c, MDC_NOTE_INFO, "tenant-mode", NULL,
		    "connector.mode is tenant: the tenant-based Microsoft Defender for Cloud "
		    "connector has no public API, so one step is left in the portal: Microsoft "
		    "Sentinel > Content hub > Microsoft Defender for Cloud > Open connector page "
		    "> Tenant-based > Connect. Observed: solution installed: %s; "
		    "MicrosoftThreatProtection connector with alerts Enabled: %s",
		    mdc_package_find_mdc(w->installed, w->ninstalled) ? "yes" : "no",
		    mtp_alerts ? "yes" : "no");
	if (rule_on && mtp_incidents)
		note_add(
		    c, MDC_NOTE_WARNING, "duplicate-incidents", NULL,
		    "duplicate incidents: the Microsoft Defender for Cloud incident creation rule "
		    "is enabled while Defender XDR incident integration (MicrosoftThreatProtection "
		    "connector, incidents Enabled) already creates incidents for these alerts; "
		    "set incidentRule.enabled: false");
	if (ir->present && ir->enabled && ir->severities &&
	    (ir->severities & MDC_SEV_INFORMATIONAL))
		note_add(
		    c, MDC_NOTE_WARNING, "informational-severity", NULL,
		    "incidentRule.severities includes Informational: every informational alert "
		    "becomes an incident, which is rarely wanted");
	if (c->ws_blocked)
		note_add(c, MDC_NOTE_WARNING, "workspace-unavailable", NULL,
		         "%s; Sentinel changes are "
		         "blocked",
		         c->ws_blocked);
}

/* ---- the whole plan --------------------------------------------------------------- */

static int cmp_sub_ptr(const void *x, const void *y)
{
	const struct mdc_sub_actual *a = *(const struct mdc_sub_actual *const *)x;
	const struct mdc_sub_actual *b = *(const struct mdc_sub_actual *const *)y;
	return strcmp(a->id, b->id);
}

static bool has_actual_note(const struct mdc_actual *a, const char *sub)
{
	for (size_t i = 0; i < a->nnotes; i++)
		if (mdc_streq_i(a->notes[i].subscription, sub))
			return true;
	return false;
}

static void blocked_sub(struct ctx *c, const struct mdc_sub_actual *s)
{
	size_t i = item_new(c, MDC_ITEM_SUBSCRIPTION, s->id, mdc_xasprintf("sub/%s", s->id),
	                    sub_path(s->id), MDC_ACT_NOOP);
	const char *why = s->error.message ? s->error.message : mdc_errcode_name(s->error.code);
	const char *code = s->error.arm_code;

	item_reason(c, i, "the subscription is selected");
	/* The transport's messages already name the ARM code: add it only when missing. */
	if (code && *code && !mdc_str_contains_i(why, code))
		item_block(c, i, "cannot read the subscription: %s (%s)", why, code);
	else
		item_block(c, i, "cannot read the subscription: %s", why);
}

static void add_sub_fingerprints(struct ctx *c, const struct mdc_sub_actual *s)
{
	for (size_t k = 0; k < s->npricings; k++)
		fingerprint_add(c, pricing_path(s->id, s->pricings[k].name),
		                s->pricings[k].fingerprint);
	fingerprint_add(c, sync_path(s->id), s->sync_fingerprint);
}

static void add_ws_fingerprints(struct ctx *c)
{
	const struct mdc_workspace_actual *w = &c->act->workspace;

	for (size_t k = 0; k < w->nconnectors; k++)
		fingerprint_add(c, insights_path(c, "dataConnectors", w->connectors[k].name),
		                w->connectors[k].etag);
	for (size_t k = 0; k < w->nrules; k++)
		fingerprint_add(c, insights_path(c, "alertRules", w->rules[k].name),
		                w->rules[k].etag);
	for (size_t k = 0; k < w->ninstalled; k++)
		fingerprint_add(c, insights_path(c, "contentPackages", w->installed[k].id),
		                w->installed[k].etag);
}

/* Connectors of subscriptions that are not selected (unselected: disconnect). A
 * connector whose subscription mdcctl could not read is left alone: selectors by
 * management group or tag cannot be evaluated for it. */
static void plan_unselected(struct ctx *c, const struct mdc_sub_actual *const *subs, size_t n)
{
	const struct mdc_workspace_actual *w = &c->act->workspace;

	for (size_t k = 0; k < n; k++) {
		const struct mdc_sub_actual *s = subs[k];
		struct mdc_sub_facts f = {s->id, &s->tags, &s->ancestors};
		const struct mdc_connector **v;
		size_t nv;

		if (mdc_config_selects(c->cfg, &f))
			continue;
		nv = mdc_workspace_asc_connectors(&v, w, s->id);
		for (size_t j = 0; j < nv; j++)
			connector_delete(
			    c, s->id, v[j],
			    "the subscription is not selected and unselected is disconnect");
		free(v);
	}
	for (size_t k = 0; k < w->nconnectors; k++) {
		const struct mdc_connector *x = &w->connectors[k];
		if (mdc_streq_i(x->kind, "AzureSecurityCenter") && x->subscription_id &&
		    !mdc_actual_find_sub(c->act, x->subscription_id))
			note_add(c, MDC_NOTE_INFO, "unknown-subscription", x->subscription_id,
			         "connector '%s' points at a subscription mdcctl cannot read; left "
			         "alone",
			         x->name);
	}
}

static void finalize(struct mdc_plan *p);

static void propagate_blocked(struct ctx *c)
{
	for (size_t i = 0; i < c->p->nitems; i++) {
		struct mdc_plan_item *it = IT(c, i);
		for (size_t d = 0; !it->blocked && d < it->depends_on.n; d++)
			for (size_t j = i; j-- > 0;)
				if (!strcmp(IT(c, j)->id, it->depends_on.v[d])) {
					if (IT(c, j)->blocked)
						item_block(c, i, "depends on blocked %s",
						           IT(c, j)->id);
					break;
				}
	}
}

static void permissions_notes(struct ctx *c, const struct mdc_sub_actual *const *subs, size_t n)
{
	bool ws_write = false;

	for (size_t i = 0; i < c->p->nitems; i++) {
		const struct mdc_plan_item *it = IT(c, i);
		if (it->action != MDC_ACT_NOOP &&
		    (it->kind == MDC_ITEM_CONNECTOR || it->kind == MDC_ITEM_SOLUTION ||
		     it->kind == MDC_ITEM_INCIDENT_RULE))
			ws_write = true;
	}
	if (ws_write && !c->act->workspace.perms.read)
		note_add(c, MDC_NOTE_INFO, "permissions-unknown", NULL,
		         "the caller's permissions on the workspace were not read; Sentinel writes "
		         "may still be refused (403)");
	for (size_t k = 0, i = 0; k < n; k++) {
		bool writes = false;
		/* Items are grouped by subscription in the same order as subs. */
		while (i < c->p->nitems && IT(c, i)->subscription &&
		       strcmp(IT(c, i)->subscription, subs[k]->id) < 0)
			i++;
		for (size_t j = i;
		     j < c->p->nitems && mdc_streq(IT(c, j)->subscription, subs[k]->id); j++)
			if (IT(c, j)->action != MDC_ACT_NOOP &&
			    IT(c, j)->kind != MDC_ITEM_CONNECTOR &&
			    IT(c, j)->kind != MDC_ITEM_SUBSCRIPTION)
				writes = true;
		if (writes && !subs[k]->perms.read)
			note_add(
			    c, MDC_NOTE_INFO, "permissions-unknown", subs[k]->id,
			    "the caller's permissions on the subscription were not read; writes "
			    "may still be refused (403)");
	}
}

int mdc_plan_build(struct mdc_plan **out, const struct mdc_config *cfg,
                   const struct mdc_actual *act, const struct mdc_plan_opts *opts,
                   struct mdc_error *err)
{
	struct ctx c = {0};
	const struct mdc_sub_actual **subs;
	const struct mdc_workspace_actual *w;

	if (!out || !cfg || !act || !opts)
		return mdc_error_set(err, MDC_EINVALID, "mdc_plan_build: missing argument");
	*out = NULL;
	w = &act->workspace;
	c.cfg = cfg;
	c.act = act;
	c.cat = mdc_catalog_builtin();
	c.api.pricings = opts->api.pricings ? opts->api.pricings : MDC_API_PRICINGS;
	c.api.settings = opts->api.settings ? opts->api.settings : MDC_API_SETTINGS;
	c.api.providers = opts->api.providers ? opts->api.providers : MDC_API_PROVIDERS;
	c.api.insights = opts->api.insights ? opts->api.insights : MDC_API_INSIGHTS;
	c.p = mdc_xcalloc(1, sizeof(*c.p));
	c.p->format_version = MDC_PLAN_FORMAT_VERSION;
	c.p->created_at = opts->now;
	c.p->config_digest = xstrdup_or_null(cfg->digest);
	c.p->git_commit = xstrdup_or_null(opts->git_commit);
	c.p->tenant = xstrdup_or_null(cfg->tenant ? cfg->tenant : act->tenant);
	c.p->mode = cfg->connector.mode;
	c.p->workspace = mdc_xasprintf(
	    "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.OperationalInsights/"
	    "workspaces/%s",
	    cfg->workspace.subscription ? cfg->workspace.subscription : "",
	    cfg->workspace.resource_group ? cfg->workspace.resource_group : "",
	    cfg->workspace.name ? cfg->workspace.name : "");
	c.ws_lower = mdc_xstrdup(c.p->workspace);
	for (char *q = c.ws_lower; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');

	if (w->error.code)
		c.ws_blocked = mdc_xasprintf("cannot read the workspace: %s",
		                             w->error.message ? w->error.message
		                                              : mdc_errcode_name(w->error.code));
	else if (w->read && !w->onboarded)
		c.ws_blocked =
		    mdc_xasprintf("workspace '%s' is not onboarded to Microsoft Sentinel",
		                  cfg->workspace.name ? cfg->workspace.name : "");
	else if (!w->read)
		c.ws_blocked =
		    w->error.message
		        ? mdc_xasprintf("the workspace could not be read: %s", w->error.message)
		        : mdc_xstrdup("the workspace's Sentinel objects were not read");

	subs = mdc_xcalloc(act->nsubs + 1, sizeof(*subs));
	for (size_t i = 0; i < act->nsubs; i++)
		subs[i] = &act->subs[i];
	qsort(subs, act->nsubs, sizeof(*subs), cmp_sub_ptr);

	for (size_t i = 0; i < act->nnotes; i++)
		note_add(&c, MDC_NOTE_INFO, "skipped", act->notes[i].subscription, "%s",
		         act->notes[i].message);

	for (size_t k = 0; k < act->nsubs; k++) {
		const struct mdc_sub_actual *s = subs[k];
		struct mdc_sub_facts f = {s->id, &s->tags, &s->ancestors};
		struct mdc_settings eff;

		if (!mdc_config_selects(cfg, &f))
			continue;
		if (s->error.code) {
			blocked_sub(&c, s);
			continue;
		}
		if (s->state && !mdc_streq_i(s->state, "Enabled")) {
			if (!has_actual_note(act, s->id))
				note_add(&c, MDC_NOTE_INFO, "skipped", s->id,
				         "the subscription is %s; not managed", s->state);
			continue;
		}
		memset(&eff, 0, sizeof(eff));
		mdc_config_effective(cfg, &f, &eff);
		plan_subscription(&c, s, &eff);
		mdc_settings_clear(&eff);
		add_sub_fingerprints(&c, s);
	}
	if (cfg->subscriptions.unselected == MDC_UNSELECTED_DISCONNECT &&
	    cfg->connector.mode == MDC_MODE_SUBSCRIPTION)
		plan_unselected(&c, subs, act->nsubs);

	plan_solution(&c);
	plan_rule(&c);
	plan_workspace_notes(&c);
	add_ws_fingerprints(&c);
	propagate_blocked(&c);
	permissions_notes(&c, subs, act->nsubs);

	/* Per-subscription summaries carry the display names read from Azure. */
	for (size_t i = 0, last = NONE; i < c.p->nitems; i++) {
		const char *sid = c.p->items[i].subscription;
		const struct mdc_sub_actual *s;
		if (!sid || (last != NONE && !strcmp(c.p->subs[last].id, sid)))
			continue;
		/* Unselected deletes come after the selected subscriptions: search. */
		last = NONE;
		for (size_t j = 0; j < c.p->nsubs; j++)
			if (!strcmp(c.p->subs[j].id, sid))
				last = j;
		if (last != NONE)
			continue;
		c.p->subs = mdc_xrealloc(c.p->subs, (c.p->nsubs + 1) * sizeof(*c.p->subs));
		last = c.p->nsubs++;
		memset(&c.p->subs[last], 0, sizeof(c.p->subs[last]));
		c.p->subs[last].id = mdc_xstrdup(sid);
		s = mdc_actual_find_sub(act, sid);
		c.p->subs[last].display_name = xstrdup_or_null(s ? s->display_name : NULL);
	}
	finalize(c.p);
	free(subs);
	free(c.ws_lower);
	free(c.ws_blocked);
	*out = c.p;
	return 0;
}

static int cmp_plan_sub(const void *x, const void *y)
{
	return strcmp(((const struct mdc_plan_sub *)x)->id, ((const struct mdc_plan_sub *)y)->id);
}

void mdc_plan_count_item(struct mdc_plan_counts *k, const struct mdc_plan_item *it)
{
	if (it->blocked) {
		k->blocked++;
		return;
	}
	switch (it->action) {
	case MDC_ACT_CREATE:
		k->add++;
		break;
	case MDC_ACT_UPDATE:
	case MDC_ACT_REGISTER: /* a registration changes the subscription: counted as a change */
		k->change++;
		break;
	case MDC_ACT_DELETE:
		k->remove++;
		break;
	default:
		k->noop++;
	}
}

/* Counts, and subscription summaries sorted by id. */
static void finalize(struct mdc_plan *p)
{
	memset(&p->counts, 0, sizeof(p->counts));
	if (p->nsubs > 1)
		qsort(p->subs, p->nsubs, sizeof(*p->subs), cmp_plan_sub);
	for (size_t i = 0; i < p->nsubs; i++)
		memset(&p->subs[i].counts, 0, sizeof(p->subs[i].counts));
	for (size_t i = 0; i < p->nitems; i++) {
		const struct mdc_plan_item *it = &p->items[i];
		mdc_plan_count_item(&p->counts, it);
		if (!it->subscription)
			continue;
		struct mdc_plan_sub key = {.id = it->subscription};
		struct mdc_plan_sub *s =
		    p->nsubs ? bsearch(&key, p->subs, p->nsubs, sizeof(*p->subs), cmp_plan_sub)
		             : NULL;
		if (s)
			mdc_plan_count_item(&s->counts, it);
	}
}

static void item_clear(struct mdc_plan_item *it)
{
	free(it->id);
	free(it->subscription);
	free(it->resource);
	for (size_t i = 0; i < it->nchanges; i++) {
		free(it->changes[i].field);
		free(it->changes[i].before);
		free(it->changes[i].after);
	}
	free(it->changes);
	free(it->reason);
	mdc_strvec_clear(&it->depends_on);
	free(it->blocked);
	free(it->fingerprint);
	free(it->req.method);
	free(it->req.path);
	free(it->req.api_version);
	free(it->req.body);
}

void mdc_plan_free(struct mdc_plan *p)
{
	if (!p)
		return;
	free(p->config_digest);
	free(p->git_commit);
	free(p->tenant);
	free(p->workspace);
	for (size_t i = 0; i < p->nitems; i++)
		item_clear(&p->items[i]);
	free(p->items);
	for (size_t i = 0; i < p->nnotes; i++) {
		free(p->notes[i].code);
		free(p->notes[i].subscription);
		free(p->notes[i].message);
	}
	free(p->notes);
	for (size_t i = 0; i < p->nsubs; i++) {
		free(p->subs[i].id);
		free(p->subs[i].display_name);
	}
	free(p->subs);
	mdc_kvlist_clear(&p->fingerprints);
	free(p);
}

const struct mdc_plan_item *mdc_plan_find(const struct mdc_plan *p, const char *id)
{
	for (size_t i = 0; p && id && i < p->nitems; i++)
		if (!strcmp(p->items[i].id, id))
			return &p->items[i];
	return NULL;
}

bool mdc_plan_item_applies(const struct mdc_plan_item *it)
{
	return it && it->action != MDC_ACT_NOOP && !it->blocked;
}

bool mdc_plan_has_changes(const struct mdc_plan *p)
{
	return p && (p->counts.add || p->counts.change || p->counts.remove || p->counts.blocked);
}

/* ---- saved plan JSON -------------------------------------------------------------- */

static void jstr(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *counts_json(const struct mdc_plan_counts *k)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "add", (double)k->add);
	cJSON_AddNumberToObject(o, "change", (double)k->change);
	cJSON_AddNumberToObject(o, "remove", (double)k->remove);
	cJSON_AddNumberToObject(o, "blocked", (double)k->blocked);
	cJSON_AddNumberToObject(o, "noop", (double)k->noop);
	return o;
}

void mdc_plan_format_time(struct mdc_buf *out, time_t t)
{
	/* gmtime arithmetic by hand keeps the pure core free of <time.h> calls that read
	 * the environment (TZ). */
	long long s = (long long)t, days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
	long long rem = s - days * 86400, z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	long long y = (long long)yoe + era * 400 + (m <= 2);

	mdc_buf_addf(out, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y, m, d, rem / 3600,
	             rem / 60 % 60, rem % 60);
}

/* Reads exactly n digits. */
static bool digits(const char **s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return false;
		*out = *out * 10 + (**s - '0');
	}
	return true;
}

static bool lit(const char **s, char ch)
{
	return *(*s)++ == ch;
}

static bool parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se;
	long long yy, era, days;
	unsigned yoe, doy, doe;

	if (!digits(&s, 4, &y) || !lit(&s, '-') || !digits(&s, 2, &mo) || !lit(&s, '-') ||
	    !digits(&s, 2, &d) || !lit(&s, 'T') || !digits(&s, 2, &h) || !lit(&s, ':') ||
	    !digits(&s, 2, &mi) || !lit(&s, ':') || !digits(&s, 2, &se) || !lit(&s, 'Z') || *s ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	yy = y - (mo <= 2);
	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = (unsigned)(yy - era * 400);
	doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + (long long)doe - 719468;
	*out = (time_t)(days * 86400 + h * 3600 + mi * 60 + se);
	return true;
}

cJSON *mdc_plan_notes_to_json(const struct mdc_plan *p)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < p->nnotes; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "level", mdc_note_level_name(p->notes[i].level));
		jstr(o, "code", p->notes[i].code);
		jstr(o, "subscription", p->notes[i].subscription);
		jstr(o, "message", p->notes[i].message);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

char *mdc_plan_to_json(const struct mdc_plan *p)
{
	cJSON *root = cJSON_CreateObject(), *arr, *fp;
	struct mdc_buf ts = MDC_BUF_INIT;
	char *text, *out;

	cJSON_AddNumberToObject(root, "format_version", p->format_version);
	mdc_plan_format_time(&ts, p->created_at);
	cJSON_AddStringToObject(root, "created_at", ts.ptr);
	mdc_buf_release(&ts);
	jstr(root, "config_digest", p->config_digest);
	jstr(root, "git_commit", p->git_commit);
	jstr(root, "tenant", p->tenant);
	jstr(root, "workspace", p->workspace);
	cJSON_AddStringToObject(
	    root, "mode", (unsigned)p->mode < MDC_MODE_MAX ? mode_names[p->mode] : "subscription");
	cJSON_AddItemToObject(root, "counts", counts_json(&p->counts));
	arr = cJSON_AddArrayToObject(root, "subscriptions");
	for (size_t i = 0; i < p->nsubs; i++) {
		cJSON *o = cJSON_CreateObject();
		jstr(o, "id", p->subs[i].id);
		jstr(o, "display_name", p->subs[i].display_name);
		cJSON_AddItemToObject(o, "counts", counts_json(&p->subs[i].counts));
		cJSON_AddItemToArray(arr, o);
	}
	arr = cJSON_AddArrayToObject(root, "items");
	for (size_t i = 0; i < p->nitems; i++) {
		const struct mdc_plan_item *it = &p->items[i];
		cJSON *o = cJSON_CreateObject(), *ch, *deps;
		jstr(o, "id", it->id);
		cJSON_AddStringToObject(o, "kind", mdc_item_kind_name(it->kind));
		jstr(o, "subscription", it->subscription);
		jstr(o, "resource", it->resource);
		cJSON_AddStringToObject(o, "action", mdc_action_name(it->action));
		jstr(o, "reason", it->reason);
		ch = cJSON_AddArrayToObject(o, "changes");
		for (size_t k = 0; k < it->nchanges; k++) {
			cJSON *c = cJSON_CreateObject();
			jstr(c, "field", it->changes[k].field);
			jstr(c, "before", it->changes[k].before);
			jstr(c, "after", it->changes[k].after);
			cJSON_AddItemToArray(ch, c);
		}
		deps = cJSON_AddArrayToObject(o, "depends_on");
		for (size_t k = 0; k < it->depends_on.n; k++)
			cJSON_AddItemToArray(deps, cJSON_CreateString(it->depends_on.v[k]));
		jstr(o, "blocked", it->blocked);
		jstr(o, "fingerprint", it->fingerprint);
		if (it->req.method) {
			cJSON *r = cJSON_AddObjectToObject(o, "request"), *body = NULL;
			jstr(r, "method", it->req.method);
			jstr(r, "path", it->req.path);
			jstr(r, "api_version", it->req.api_version);
			if (it->req.body)
				body = cJSON_Parse(it->req.body);
			cJSON_AddItemToObject(r, "body", body ? body : cJSON_CreateNull());
		} else {
			cJSON_AddNullToObject(o, "request");
		}
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(root, "notes", mdc_plan_notes_to_json(p));
	fp = cJSON_AddObjectToObject(root, "fingerprints");
	for (size_t i = 0; i < p->fingerprints.n; i++)
		cJSON_AddStringToObject(fp, p->fingerprints.v[i].key, p->fingerprints.v[i].value);

	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		abort(); /* out of memory */
	out = mdc_xasprintf("%s\n", text);
	cJSON_free(text);
	return out;
}

/* Reading: every failure names the JSON path. */
struct prd {
	struct mdc_error *err;
	struct mdc_buf where;
};

static int pfail(struct prd *r, const char *key, const char *what)
{
	return mdc_error_set(r->err, MDC_EINVALID, "saved plan: %s%s%s: %s", r->where.ptr,
	                     r->where.len && key[0] ? "." : "", key, what);
}

static int pstr(struct prd *r, const cJSON *o, const char *key, bool required, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return required ? pfail(r, key, "missing") : 0;
	if (!cJSON_IsString(v))
		return pfail(r, key, "expected a string");
	*out = mdc_xstrdup(v->valuestring);
	return 0;
}

static int penum(struct prd *r, const cJSON *o, const char *key, const char *const *names, int n,
                 int *out)
{
	char *s;
	int rc = pstr(r, o, key, true, &s);

	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			free(s);
			return 0;
		}
	free(s);
	return pfail(r, key, "unknown value");
}

static const cJSON *parr(struct prd *r, const cJSON *o, const char *key, int *rc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*rc = 0;
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		*rc = pfail(r, key, "expected an array");
		return NULL;
	}
	return v;
}

static int read_item(struct prd *r, const cJSON *o, struct mdc_plan_item *it)
{
	const cJSON *a, *x, *req;
	int rc, v = 0;

	if (!cJSON_IsObject(o))
		return pfail(r, "", "expected an object");
	if ((rc = pstr(r, o, "id", true, &it->id)) < 0 ||
	    (rc = penum(r, o, "kind", kind_names, MDC_ITEM_MAX, &v)) < 0)
		return rc;
	it->kind = (enum mdc_item_kind)v;
	if ((rc = penum(r, o, "action", action_names, MDC_ACT_MAX, &v)) < 0)
		return rc;
	it->action = (enum mdc_action)v;
	if ((rc = pstr(r, o, "subscription", false, &it->subscription)) < 0 ||
	    (rc = pstr(r, o, "resource", false, &it->resource)) < 0 ||
	    (rc = pstr(r, o, "reason", false, &it->reason)) < 0 ||
	    (rc = pstr(r, o, "blocked", false, &it->blocked)) < 0 ||
	    (rc = pstr(r, o, "fingerprint", false, &it->fingerprint)) < 0)
		return rc;
	a = parr(r, o, "changes", &rc);
	if (rc < 0)
		return rc;
	it->nchanges = a ? (size_t)cJSON_GetArraySize(a) : 0;
	it->changes = it->nchanges ? mdc_xcalloc(it->nchanges, sizeof(*it->changes)) : NULL;
	v = 0;
	cJSON_ArrayForEach(x, a)
	{
		struct mdc_change *ch = &it->changes[v++];
		if (!cJSON_IsObject(x))
			return pfail(r, "changes", "expected objects");
		if ((rc = pstr(r, x, "field", true, &ch->field)) < 0 ||
		    (rc = pstr(r, x, "before", false, &ch->before)) < 0 ||
		    (rc = pstr(r, x, "after", false, &ch->after)) < 0)
			return rc;
	}
	a = parr(r, o, "depends_on", &rc);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(x, a)
	{
		if (!cJSON_IsString(x))
			return pfail(r, "depends_on", "expected strings");
		mdc_strvec_push(&it->depends_on, x->valuestring);
	}
	req = cJSON_GetObjectItemCaseSensitive(o, "request");
	if (req && !cJSON_IsNull(req)) {
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(req, "body");
		if (!cJSON_IsObject(req))
			return pfail(r, "request", "expected an object");
		if ((rc = pstr(r, req, "method", true, &it->req.method)) < 0 ||
		    (rc = pstr(r, req, "path", true, &it->req.path)) < 0 ||
		    (rc = pstr(r, req, "api_version", true, &it->req.api_version)) < 0)
			return rc;
		if (body && !cJSON_IsNull(body)) {
			char *t;
			if (!cJSON_IsObject(body))
				return pfail(r, "request.body", "expected an object or null");
			t = cJSON_PrintUnformatted(body);
			if (!t)
				abort();
			it->req.body = mdc_xstrdup(t);
			cJSON_free(t);
		}
	}
	return 0;
}

static int plan_from_root(struct mdc_plan *p, const cJSON *root, struct prd *r)
{
	const cJSON *v, *a, *x;
	char *ts = NULL, *mode = NULL;
	int rc;
	size_t i;

	if (!cJSON_IsObject(root))
		return pfail(r, "", "expected an object");
	v = cJSON_GetObjectItemCaseSensitive(root, "format_version");
	if (!cJSON_IsNumber(v))
		return pfail(r, "format_version", "missing");
	if (v->valuedouble != MDC_PLAN_FORMAT_VERSION)
		return pfail(r, "format_version", "unsupported (this mdcctl reads version 1)");
	p->format_version = MDC_PLAN_FORMAT_VERSION;
	if ((rc = pstr(r, root, "created_at", true, &ts)) < 0)
		return rc;
	if (!parse_time(ts, &p->created_at)) {
		free(ts);
		return pfail(r, "created_at", "expected YYYY-MM-DDTHH:MM:SSZ");
	}
	free(ts);
	if ((rc = pstr(r, root, "config_digest", false, &p->config_digest)) < 0 ||
	    (rc = pstr(r, root, "git_commit", false, &p->git_commit)) < 0 ||
	    (rc = pstr(r, root, "tenant", false, &p->tenant)) < 0 ||
	    (rc = pstr(r, root, "workspace", false, &p->workspace)) < 0 ||
	    (rc = pstr(r, root, "mode", false, &mode)) < 0)
		return rc;
	p->mode = mode && !strcmp(mode, "tenant") ? MDC_MODE_TENANT : MDC_MODE_SUBSCRIPTION;
	free(mode);

	a = parr(r, root, "subscriptions", &rc);
	if (rc < 0)
		return rc;
	p->nsubs = a ? (size_t)cJSON_GetArraySize(a) : 0;
	p->subs = p->nsubs ? mdc_xcalloc(p->nsubs, sizeof(*p->subs)) : NULL;
	i = 0;
	cJSON_ArrayForEach(x, a)
	{
		mdc_buf_reset(&r->where);
		mdc_buf_addf(&r->where, "subscriptions[%zu]", i);
		if (!cJSON_IsObject(x))
			return pfail(r, "", "expected an object");
		if ((rc = pstr(r, x, "id", true, &p->subs[i].id)) < 0 ||
		    (rc = pstr(r, x, "display_name", false, &p->subs[i].display_name)) < 0)
			return rc;
		i++;
	}
	mdc_buf_reset(&r->where);
	a = parr(r, root, "items", &rc);
	if (rc < 0)
		return rc;
	p->nitems = a ? (size_t)cJSON_GetArraySize(a) : 0;
	p->items = p->nitems ? mdc_xcalloc(p->nitems, sizeof(*p->items)) : NULL;
	i = 0;
	cJSON_ArrayForEach(x, a)
	{
		mdc_buf_reset(&r->where);
		mdc_buf_addf(&r->where, "items[%zu]", i);
		if ((rc = read_item(r, x, &p->items[i++])) < 0)
			return rc;
	}
	mdc_buf_reset(&r->where);
	a = parr(r, root, "notes", &rc);
	if (rc < 0)
		return rc;
	p->nnotes = a ? (size_t)cJSON_GetArraySize(a) : 0;
	p->notes = p->nnotes ? mdc_xcalloc(p->nnotes, sizeof(*p->notes)) : NULL;
	i = 0;
	cJSON_ArrayForEach(x, a)
	{
		struct mdc_plan_note *n = &p->notes[i];
		int lv = 0;
		mdc_buf_reset(&r->where);
		mdc_buf_addf(&r->where, "notes[%zu]", i++);
		if (!cJSON_IsObject(x))
			return pfail(r, "", "expected an object");
		if ((rc = penum(r, x, "level", level_names, MDC_NOTE_MAX, &lv)) < 0 ||
		    (rc = pstr(r, x, "code", false, &n->code)) < 0 ||
		    (rc = pstr(r, x, "subscription", false, &n->subscription)) < 0 ||
		    (rc = pstr(r, x, "message", true, &n->message)) < 0)
			return rc;
		n->level = (enum mdc_note_level)lv;
	}
	mdc_buf_reset(&r->where);
	v = cJSON_GetObjectItemCaseSensitive(root, "fingerprints");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			return pfail(r, "fingerprints", "expected an object");
		cJSON_ArrayForEach(x, v)
		{
			if (!cJSON_IsString(x))
				return pfail(r, "fingerprints", "expected string values");
			MDC_ALLOC_GROW(p->fingerprints.v, p->fingerprints.n + 1,
			               p->fingerprints.alloc);
			p->fingerprints.v[p->fingerprints.n].key = mdc_xstrdup(x->string);
			p->fingerprints.v[p->fingerprints.n].value = mdc_xstrdup(x->valuestring);
			p->fingerprints.n++;
		}
	}
	finalize(p);
	return 0;
}

int mdc_plan_from_json(struct mdc_plan **out, const char *json, size_t len, struct mdc_error *err)
{
	struct prd r = {err, MDC_BUF_INIT};
	const char *end = NULL;
	struct mdc_plan *p;
	cJSON *root;
	int rc;

	*out = NULL;
	root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root)
		return mdc_error_set(err, MDC_EINVALID, "saved plan: invalid JSON near byte %zu",
		                     end && end >= json ? (size_t)(end - json) : 0);
	p = mdc_xcalloc(1, sizeof(*p));
	rc = plan_from_root(p, root, &r);
	cJSON_Delete(root);
	mdc_buf_release(&r.where);
	if (rc < 0) {
		mdc_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}
