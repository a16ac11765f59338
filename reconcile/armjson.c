#include "armjson.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "banned.h"

/* Borrowed string member, or NULL when absent or not a string. */
static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *jdup(const cJSON *obj, const char *key)
{
	const char *s = jstr(obj, key);
	return s ? mdc_xstrdup(s) : NULL;
}

static const cJSON *jobj(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsObject(v) ? v : NULL;
}

/* A GUID copied lower-case; other strings copied as they are. */
static char *dup_guid(const char *s)
{
	char g[37];

	if (!s)
		return NULL;
	return mdc_guid_normalize(s, g) ? mdc_xstrdup(g) : mdc_xstrdup(s);
}

/* "True"/"true"/true -> true (reference §2.2: string booleans, compare case-insensitively). */
static bool jtruthy(const cJSON *v)
{
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	return cJSON_IsString(v) && !strcasecmp(v->valuestring, "true");
}

static void strvec_from(struct mdc_strvec *sv, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) mdc_strvec_push(sv, it->valuestring);
}

static int shape(struct mdc_error *err, const char *what)
{
	return mdc_error_set(err, MDC_EINVALID, "unexpected ARM response: %s", what);
}

static const cJSON *page_value(const cJSON *body, struct mdc_error *err, const char *what)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "value");

	if (!cJSON_IsArray(v)) {
		shape(err, what);
		return NULL;
	}
	return v;
}

char *mdc_armjson_fingerprint(const cJSON *obj)
{
	/* Printed into a reused buffer: a tenant read fingerprints every plan of every
	 * subscription, and cJSON's own printer grows and copies a fresh one each time. */
	static _Thread_local char small[8192];
	char *text = small, *fp;

	if (!cJSON_PrintPreallocated((cJSON *)obj, small, (int)sizeof(small), 0))
		text = cJSON_PrintUnformatted(obj);
	fp = mdc_sha256_tagged(text ? text : "", text ? strlen(text) : 0);
	if (text != small)
		cJSON_free(text);
	return fp;
}

const char *mdc_armjson_next_link(const cJSON *page)
{
	const char *s = jstr(page, "nextLink");
	return s && *s ? s : NULL;
}

int mdc_armjson_subscription(struct mdc_actual *a, const cJSON *item, struct mdc_sub_actual **out,
                             struct mdc_error *err)
{
	const char *id = jstr(item, "subscriptionId");
	struct mdc_sub_actual *s;
	const cJSON *tags, *t;
	char g[37];

	if (!id || !mdc_guid_normalize(id, g))
		return shape(err, "subscription without a valid subscriptionId");
	s = mdc_actual_add_sub(a, g);
	free(s->display_name);
	s->display_name = jdup(item, "displayName");
	free(s->state);
	s->state = jdup(item, "state");
	free(s->tenant_id);
	s->tenant_id = dup_guid(jstr(item, "tenantId"));
	mdc_kvlist_clear(&s->tags);
	tags = jobj(item, "tags");
	cJSON_ArrayForEach(t, tags) if (cJSON_IsString(t))
	    mdc_kvlist_set(&s->tags, t->string, t->valuestring, false);
	if (out)
		*out = s;
	return 0;
}

/* The last path segment of an ARM id ("/providers/.../managementGroups/mg-prod" -> "mg-prod"). */
static char *last_segment(const char *id)
{
	const char *slash = id ? strrchr(id, '/') : NULL;

	if (!id)
		return NULL;
	return mdc_xstrdup(slash ? slash + 1 : id);
}

int mdc_armjson_descendant(struct mdc_descendant *out, const cJSON *item, struct mdc_error *err)
{
	const char *type = jstr(item, "type"), *id = jstr(item, "id"), *name = jstr(item, "name");
	const cJSON *parent = jobj(jobj(item, "properties"), "parent");
	size_t tl = type ? strlen(type) : 0;
	bool sub;

	memset(out, 0, sizeof(*out));
	if (!id)
		return shape(err, "management group descendant without an id");
	/* The example says ".../managementGroups/subscriptions", live answers are reported as
	 * "/subscriptions" (reference §1.3, UNCERTAIN): accept both, and the id form. */
	sub = (tl >= 14 && !strcasecmp(type + tl - 14, "/subscriptions")) ||
	      !strncasecmp(id, "/subscriptions/", 15);
	out->kind = sub ? MDC_DESC_SUBSCRIPTION : MDC_DESC_GROUP;
	if (name)
		out->name = sub ? dup_guid(name) : mdc_xstrdup(name);
	else
		out->name =
		    sub ? dup_guid(strrchr(id, '/') ? strrchr(id, '/') + 1 : id) : last_segment(id);
	out->parent = last_segment(jstr(parent, "id"));
	return 0;
}

void mdc_descendant_clear(struct mdc_descendant *d)
{
	free(d->name);
	free(d->parent);
	memset(d, 0, sizeof(*d));
}

static void ext_from(struct mdc_ext_actual *e, const cJSON *obj)
{
	const cJSON *props = jobj(obj, "additionalExtensionProperties"), *p;
	const cJSON *op = jobj(obj, "operationStatus");

	memset(e, 0, sizeof(*e));
	e->name = jdup(obj, "name");
	e->enabled = jtruthy(cJSON_GetObjectItemCaseSensitive(obj, "isEnabled"));
	cJSON_ArrayForEach(p, props)
	{
		if (cJSON_IsString(p)) {
			mdc_kvlist_set(&e->properties, p->string, p->valuestring, false);
		} else {
			char *text = cJSON_PrintUnformatted(p);
			mdc_kvlist_set(&e->properties, p->string, text ? text : "null", false);
			cJSON_free(text);
		}
	}
	e->op_code = jdup(op, "code");
	e->op_message = jdup(op, "message");
}

int mdc_armjson_pricing(struct mdc_pricing *p, const cJSON *obj, struct mdc_error *err)
{
	const cJSON *props = jobj(obj, "properties"), *exts, *it;
	const char *name = jstr(obj, "name"), *tier = jstr(props, "pricingTier");
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (!name || !tier)
		return shape(err, "pricing without name or properties.pricingTier");
	p->name = mdc_xstrdup(name);
	p->tier = mdc_xstrdup(tier);
	p->sub_plan = jdup(props, "subPlan");
	p->enforce = jdup(props, "enforce");
	p->deprecated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(props, "deprecated"));
	strvec_from(&p->replaced_by, cJSON_GetObjectItemCaseSensitive(props, "replacedBy"));
	p->free_trial_remaining = jdup(props, "freeTrialRemainingTime");
	exts = cJSON_GetObjectItemCaseSensitive(props, "extensions");
	if (cJSON_IsArray(exts) && cJSON_GetArraySize(exts) > 0) {
		p->exts = mdc_xcalloc((size_t)cJSON_GetArraySize(exts), sizeof(*p->exts));
		cJSON_ArrayForEach(it, exts) if (cJSON_IsObject(it) && jstr(it, "name"))
		    ext_from(&p->exts[i++], it);
		p->nexts = i;
	}
	p->fingerprint = mdc_armjson_fingerprint(obj);
	return 0;
}

int mdc_armjson_pricings(struct mdc_sub_actual *s, const cJSON *body, struct mdc_error *err)
{
	const cJSON *v = page_value(body, err, "pricing list without 'value'"), *it;
	size_t n = 0;

	if (!v)
		return MDC_EINVALID;
	for (size_t i = 0; i < s->npricings; i++)
		mdc_pricing_clear(&s->pricings[i]);
	free(s->pricings);
	s->pricings = mdc_xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->pricings));
	cJSON_ArrayForEach(it, v)
	{
		if (mdc_armjson_pricing(&s->pricings[n], it, err) < 0) {
			s->npricings = n;
			return MDC_EINVALID;
		}
		n++;
	}
	s->npricings = n;
	s->pricings_read = true;
	return 0;
}

int mdc_armjson_sentinel_setting(struct mdc_sub_actual *s, const cJSON *body, struct mdc_error *err)
{
	const char *kind = jstr(body, "kind");
	const cJSON *enabled =
	    cJSON_GetObjectItemCaseSensitive(jobj(body, "properties"), "enabled");

	if (!kind || strcmp(kind, "AlertSyncSettings") || !cJSON_IsBool(enabled))
		return shape(
		    err, "settings/Sentinel is not an AlertSyncSettings with properties.enabled");
	s->sync_enabled = cJSON_IsTrue(enabled) ? MDC_TRUE : MDC_FALSE;
	free(s->sync_fingerprint);
	s->sync_fingerprint = mdc_armjson_fingerprint(body);
	return 0;
}

int mdc_armjson_provider(enum mdc_provider_state *out, const cJSON *body, struct mdc_error *err)
{
	const char *state = jstr(body, "registrationState");

	if (!state)
		return shape(err, "provider without registrationState");
	*out = mdc_provider_state_parse(state);
	return 0;
}

int mdc_armjson_permissions(struct mdc_permissions *p, const cJSON *body, struct mdc_error *err)
{
	const cJSON *v = page_value(body, err, "permissions without 'value'"), *it;
	size_t n;

	if (!v)
		return MDC_EINVALID;
	n = p->n + (size_t)cJSON_GetArraySize(v);
	p->v = mdc_xrealloc(p->v, (n ? n : 1) * sizeof(*p->v));
	cJSON_ArrayForEach(it, v)
	{
		struct mdc_permission *e = &p->v[p->n++];
		memset(e, 0, sizeof(*e));
		strvec_from(&e->actions, cJSON_GetObjectItemCaseSensitive(it, "actions"));
		strvec_from(&e->not_actions, cJSON_GetObjectItemCaseSensitive(it, "notActions"));
	}
	p->read = true;
	return 0;
}

int mdc_armjson_connector(struct mdc_connector *c, const cJSON *obj, struct mdc_error *err)
{
	const cJSON *props = jobj(obj, "properties");
	const cJSON *types = jobj(props, "dataTypes");

	memset(c, 0, sizeof(*c));
	if (!jstr(obj, "name") || !jstr(obj, "kind"))
		return shape(err, "data connector without name or kind");
	c->name = jdup(obj, "name");
	c->kind = jdup(obj, "kind");
	c->etag = jdup(obj, "etag");
	c->subscription_id = dup_guid(jstr(props, "subscriptionId"));
	c->tenant_id = dup_guid(jstr(props, "tenantId"));
	c->alerts_state = jdup(jobj(types, "alerts"), "state");
	c->incidents_state = jdup(jobj(types, "incidents"), "state");
	return 0;
}

static unsigned severities_from(const cJSON *arr)
{
	unsigned mask = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it))
			continue;
		for (unsigned bit = MDC_SEV_HIGH; bit <= MDC_SEV_INFORMATIONAL; bit <<= 1)
			if (!strcasecmp(it->valuestring, mdc_severity_name(bit)))
				mask |= bit;
	}
	return mask;
}

int mdc_armjson_alert_rule(struct mdc_alert_rule *r, const cJSON *obj, struct mdc_error *err)
{
	const cJSON *props = jobj(obj, "properties");

	memset(r, 0, sizeof(*r));
	if (!jstr(obj, "name") || !jstr(obj, "kind"))
		return shape(err, "alert rule without name or kind");
	r->name = jdup(obj, "name");
	r->kind = jdup(obj, "kind");
	r->etag = jdup(obj, "etag");
	r->product_filter = jdup(props, "productFilter");
	r->display_name = jdup(props, "displayName");
	r->description = jdup(props, "description");
	r->enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(props, "enabled"));
	r->severities =
	    severities_from(cJSON_GetObjectItemCaseSensitive(props, "severitiesFilter"));
	strvec_from(&r->include_names,
	            cJSON_GetObjectItemCaseSensitive(props, "displayNamesFilter"));
	strvec_from(&r->exclude_names,
	            cJSON_GetObjectItemCaseSensitive(props, "displayNamesExcludeFilter"));
	r->template_name = jdup(props, "alertRuleTemplateName");
	return 0;
}

int mdc_armjson_package(struct mdc_package *p, const cJSON *obj, int catalog, struct mdc_error *err)
{
	const cJSON *props = jobj(obj, "properties");
	const char *version = catalog ? jstr(props, "version") : jstr(props, "installedVersion");

	memset(p, 0, sizeof(*p));
	if (!jstr(obj, "name"))
		return shape(err, "content package without a name");
	if (!version)
		version = jstr(props, "version");
	p->id = jdup(obj, "name");
	p->content_id = jdup(props, "contentId");
	p->content_product_id = jdup(props, "contentProductId");
	p->content_kind = jdup(props, "contentKind");
	p->version = version ? mdc_xstrdup(version) : NULL;
	p->display_name = jdup(props, "displayName");
	p->etag = jdup(obj, "etag");
	return 0;
}

/* Appends every entry of a page to a growing array through `one`. */
#define APPEND_PAGE(body, arr, n, elem_parse, what)                                                \
	do {                                                                                       \
		const cJSON *v_ = page_value((body), err, what), *it_;                             \
		if (!v_)                                                                           \
			return MDC_EINVALID;                                                       \
		(arr) = mdc_xrealloc((arr),                                                        \
		                     ((n) + (size_t)cJSON_GetArraySize(v_) + 1) * sizeof(*(arr))); \
		cJSON_ArrayForEach(it_, v_)                                                        \
		{                                                                                  \
			if (elem_parse < 0)                                                        \
				return MDC_EINVALID;                                               \
			(n)++;                                                                     \
		}                                                                                  \
	} while (0)

int mdc_armjson_connectors(struct mdc_workspace_actual *w, const cJSON *body, struct mdc_error *err)
{
	APPEND_PAGE(body, w->connectors, w->nconnectors,
	            mdc_armjson_connector(&w->connectors[w->nconnectors], it_, err),
	            "data connector list without 'value'");
	return 0;
}

int mdc_armjson_alert_rules(struct mdc_workspace_actual *w, const cJSON *body,
                            struct mdc_error *err)
{
	APPEND_PAGE(body, w->rules, w->nrules,
	            mdc_armjson_alert_rule(&w->rules[w->nrules], it_, err),
	            "alert rule list without 'value'");
	return 0;
}

int mdc_armjson_packages(struct mdc_package **v, size_t *n, const cJSON *body, int catalog,
                         struct mdc_error *err)
{
	APPEND_PAGE(body, *v, *n, mdc_armjson_package(&(*v)[*n], it_, catalog, err),
	            "content package list without 'value'");
	return 0;
}
