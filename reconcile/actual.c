/*
 * The actual-state model: helpers, permission evaluation, and the JSON snapshot
 * (schema/actual.schema.json). The snapshot is what `--actual FILE` reads and what the
 * golden tests feed the planner, so its round trip must be lossless.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "actual.h"
#include "azure.h"
#include "buf.h"
#include "banned.h"

#define SNAPSHOT_FORMAT_VERSION 1

/* ---- helpers ---------------------------------------------------------------------- */

struct mdc_actual *mdc_actual_new(void)
{
	return mdc_xcalloc(1, sizeof(struct mdc_actual));
}

void mdc_read_error_clear(struct mdc_read_error *e)
{
	if (!e)
		return;
	free(e->arm_code);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

static void ext_clear(struct mdc_ext_actual *x)
{
	free(x->name);
	mdc_kvlist_clear(&x->properties);
	free(x->op_code);
	free(x->op_message);
	memset(x, 0, sizeof(*x));
}

void mdc_pricing_clear(struct mdc_pricing *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->tier);
	free(p->sub_plan);
	free(p->enforce);
	mdc_strvec_clear(&p->replaced_by);
	free(p->free_trial_remaining);
	for (size_t i = 0; i < p->nexts; i++)
		ext_clear(&p->exts[i]);
	free(p->exts);
	free(p->fingerprint);
	memset(p, 0, sizeof(*p));
}

void mdc_connector_clear(struct mdc_connector *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->kind);
	free(c->subscription_id);
	free(c->tenant_id);
	free(c->alerts_state);
	free(c->incidents_state);
	free(c->etag);
	memset(c, 0, sizeof(*c));
}

void mdc_alert_rule_clear(struct mdc_alert_rule *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->kind);
	free(r->etag);
	free(r->product_filter);
	free(r->display_name);
	free(r->description);
	mdc_strvec_clear(&r->include_names);
	mdc_strvec_clear(&r->exclude_names);
	free(r->template_name);
	memset(r, 0, sizeof(*r));
}

void mdc_package_clear(struct mdc_package *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->content_id);
	free(p->content_product_id);
	free(p->content_kind);
	free(p->version);
	free(p->display_name);
	free(p->etag);
	memset(p, 0, sizeof(*p));
}

static void permissions_clear(struct mdc_permissions *p)
{
	for (size_t i = 0; i < p->n; i++) {
		mdc_strvec_clear(&p->v[i].actions);
		mdc_strvec_clear(&p->v[i].not_actions);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static void sub_clear(struct mdc_sub_actual *s)
{
	free(s->id);
	free(s->display_name);
	free(s->tenant_id);
	free(s->state);
	mdc_kvlist_clear(&s->tags);
	mdc_strvec_clear(&s->ancestors);
	for (size_t i = 0; i < s->npricings; i++)
		mdc_pricing_clear(&s->pricings[i]);
	free(s->pricings);
	free(s->sync_fingerprint);
	permissions_clear(&s->perms);
	mdc_read_error_clear(&s->error);
}

static void workspace_clear(struct mdc_workspace_actual *w)
{
	free(w->subscription);
	free(w->resource_group);
	free(w->name);
	for (size_t i = 0; i < w->nconnectors; i++)
		mdc_connector_clear(&w->connectors[i]);
	free(w->connectors);
	for (size_t i = 0; i < w->nrules; i++)
		mdc_alert_rule_clear(&w->rules[i]);
	free(w->rules);
	for (size_t i = 0; i < w->ninstalled; i++)
		mdc_package_clear(&w->installed[i]);
	free(w->installed);
	for (size_t i = 0; i < w->ncatalog; i++)
		mdc_package_clear(&w->catalog[i]);
	free(w->catalog);
	permissions_clear(&w->perms);
	mdc_read_error_clear(&w->error);
}

void mdc_actual_free(struct mdc_actual *a)
{
	if (!a)
		return;
	free(a->tenant);
	workspace_clear(&a->workspace);
	for (size_t i = 0; i < a->nsubs; i++)
		sub_clear(&a->subs[i]);
	free(a->subs);
	for (size_t i = 0; i < a->nnotes; i++) {
		free(a->notes[i].subscription);
		free(a->notes[i].message);
	}
	free(a->notes);
	free(a);
}

static char *lower_dup(const char *s)
{
	char *r = mdc_xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

struct mdc_sub_actual *mdc_actual_add_sub(struct mdc_actual *a, const char *id)
{
	struct mdc_sub_actual *s;

	MDC_ALLOC_GROW(a->subs, a->nsubs + 1, a->subs_alloc);
	s = &a->subs[a->nsubs++];
	a->sorted = false;
	memset(s, 0, sizeof(*s));
	s->id = lower_dup(id ? id : "");
	s->sync_enabled = -1; /* MDC_UNSET */
	return s;
}

const struct mdc_sub_actual *mdc_actual_find_sub(const struct mdc_actual *a, const char *id)
{
	if (!a || !id)
		return NULL;
	if (a->sorted) {
		/* Ids are stored lower case and sorted with strcmp. */
		char *key = lower_dup(id);
		size_t lo = 0, hi = a->nsubs;
		const struct mdc_sub_actual *found = NULL;
		while (lo < hi && !found) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(key, a->subs[mid].id ? a->subs[mid].id : "");
			if (!c)
				found = &a->subs[mid];
			else if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		free(key);
		return found;
	}
	for (size_t i = 0; i < a->nsubs; i++)
		if (mdc_streq_i(a->subs[i].id, id))
			return &a->subs[i];
	return NULL;
}

const struct mdc_pricing *mdc_sub_pricing(const struct mdc_sub_actual *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->npricings; i++)
		if (mdc_streq_i(s->pricings[i].name, name))
			return &s->pricings[i];
	return NULL;
}

static const char *name_or_empty(const char *s)
{
	return s ? s : "";
}

static bool is_asc_for(const struct mdc_connector *k, const char *sub)
{
	return mdc_streq_i(k->kind, "AzureSecurityCenter") && mdc_streq_i(k->subscription_id, sub);
}

static int cmp_connector_name(const void *x, const void *y)
{
	const struct mdc_connector *a = *(const struct mdc_connector *const *)x;
	const struct mdc_connector *b = *(const struct mdc_connector *const *)y;
	return strcmp(name_or_empty(a->name), name_or_empty(b->name));
}

size_t mdc_workspace_asc_connectors(const struct mdc_connector ***out,
                                    const struct mdc_workspace_actual *w, const char *sub)
{
	const struct mdc_connector **v = NULL;
	size_t n = 0;

	for (size_t i = 0; w && sub && i < w->nconnectors; i++) {
		if (!is_asc_for(&w->connectors[i], sub))
			continue;
		if (out)
			v = mdc_xrealloc(v, (n + 1) * sizeof(*v));
		if (v)
			v[n] = &w->connectors[i];
		n++;
	}
	if (n > 1 && v)
		qsort(v, n, sizeof(*v), cmp_connector_name);
	if (out)
		*out = v;
	return n;
}

const struct mdc_connector *mdc_workspace_asc_connector(const struct mdc_workspace_actual *w,
                                                        const char *sub)
{
	const struct mdc_connector *best = NULL;

	for (size_t i = 0; w && sub && i < w->nconnectors; i++) {
		const struct mdc_connector *k = &w->connectors[i];
		if (is_asc_for(k, sub) &&
		    (!best || strcmp(name_or_empty(k->name), name_or_empty(best->name)) < 0))
			best = k;
	}
	return best;
}

const struct mdc_alert_rule *mdc_workspace_mdc_rule(const struct mdc_workspace_actual *w)
{
	const struct mdc_alert_rule *best = NULL;

	for (size_t i = 0; w && i < w->nrules; i++) {
		const struct mdc_alert_rule *r = &w->rules[i];
		if (mdc_streq_i(r->kind, "MicrosoftSecurityIncidentCreation") &&
		    mdc_streq_i(r->product_filter, MDC_PRODUCT_FILTER_MDC) &&
		    (!best || strcmp(name_or_empty(r->name), name_or_empty(best->name)) < 0))
			best = r;
	}
	return best;
}

const struct mdc_package *mdc_package_find_mdc(const struct mdc_package *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (mdc_streq_i(v[i].id, MDC_SOLUTION_ID) ||
		    mdc_streq_i(v[i].content_id, MDC_SOLUTION_ID))
			return &v[i];
	return NULL;
}

void mdc_actual_add_note(struct mdc_actual *a, const char *sub, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	a->notes = mdc_xrealloc(a->notes, (a->nnotes + 1) * sizeof(*a->notes));
	a->notes[a->nnotes].subscription = sub ? mdc_xstrdup(sub) : NULL;
	a->notes[a->nnotes].message = mdc_buf_detach(&b);
	a->nnotes++;
}

static int cmp_sub(const void *x, const void *y)
{
	const struct mdc_sub_actual *a = x, *b = y;
	return strcmp(a->id ? a->id : "", b->id ? b->id : "");
}

void mdc_actual_sort(struct mdc_actual *a)
{
	if (!a)
		return;
	if (a->nsubs > 1)
		qsort(a->subs, a->nsubs, sizeof(*a->subs), cmp_sub);
	a->sorted = true;
}

static const char *const provider_names[MDC_PROVIDER_MAX] = {
    "Unknown", "NotRegistered", "Registering", "Registered", "Unregistered", "Unregistering",
};

const char *mdc_provider_state_name(enum mdc_provider_state s)
{
	return (unsigned)s < MDC_PROVIDER_MAX ? provider_names[s] : "Unknown";
}

enum mdc_provider_state mdc_provider_state_parse(const char *s)
{
	for (int i = 0; s && i < MDC_PROVIDER_MAX; i++)
		if (mdc_streq_i(s, provider_names[i]))
			return (enum mdc_provider_state)i;
	return MDC_PROVIDER_UNKNOWN;
}

/* ---- permissions (reference §7.1) ------------------------------------------------- */

/* Glob match, ASCII case-insensitive; '*' matches any run of characters, '/' included
 * (e.g. Microsoft.Authorization/STAR/Write covers roleAssignments/write). */
static bool glob_match_i(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat && tolower((unsigned char)*pat) == tolower((unsigned char)*s)) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

static bool any_match(const struct mdc_strvec *v, const char *action)
{
	for (size_t i = 0; i < v->n; i++)
		if (glob_match_i(v->v[i], action))
			return true;
	return false;
}

bool mdc_permissions_allow(const struct mdc_permissions *p, const char *action)
{
	if (!p || !p->read)
		return true;
	if (!action)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (any_match(&p->v[i].actions, action) && !any_match(&p->v[i].not_actions, action))
			return true;
	return false;
}

/* ---- snapshot: writing ------------------------------------------------------------ */

static const char *const sev_names[] = {"High", "Medium", "Low", "Informational"};

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *strvec_json(const struct mdc_strvec *v)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < v->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v->v[i]));
	return a;
}

static cJSON *kvlist_json(const struct mdc_kvlist *kl)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < kl->n; i++)
		cJSON_AddItemToObject(o, kl->v[i].key, cJSON_CreateString(kl->v[i].value));
	return o;
}

static cJSON *read_error_json(const struct mdc_read_error *e)
{
	cJSON *o;

	if (!e->code && !e->http_status && !e->arm_code && !e->message)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "code", e->code);
	cJSON_AddNumberToObject(o, "http_status", e->http_status);
	add_str(o, "arm_code", e->arm_code);
	add_str(o, "message", e->message);
	return o;
}

static cJSON *perms_json(const struct mdc_permissions *p)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();

	cJSON_AddBoolToObject(o, "read", p->read);
	for (size_t i = 0; i < p->n; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddItemToObject(e, "actions", strvec_json(&p->v[i].actions));
		cJSON_AddItemToObject(e, "not_actions", strvec_json(&p->v[i].not_actions));
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddItemToObject(o, "entries", arr);
	return o;
}

static cJSON *pricing_json(const struct mdc_pricing *p)
{
	cJSON *o = cJSON_CreateObject(), *exts = cJSON_CreateArray();

	add_str(o, "name", p->name);
	add_str(o, "tier", p->tier);
	add_str(o, "sub_plan", p->sub_plan);
	add_str(o, "enforce", p->enforce);
	cJSON_AddBoolToObject(o, "deprecated", p->deprecated);
	cJSON_AddItemToObject(o, "replaced_by", strvec_json(&p->replaced_by));
	add_str(o, "free_trial_remaining", p->free_trial_remaining);
	for (size_t i = 0; i < p->nexts; i++) {
		const struct mdc_ext_actual *x = &p->exts[i];
		cJSON *e = cJSON_CreateObject();
		add_str(e, "name", x->name);
		cJSON_AddBoolToObject(e, "enabled", x->enabled);
		cJSON_AddItemToObject(e, "properties", kvlist_json(&x->properties));
		add_str(e, "op_code", x->op_code);
		add_str(e, "op_message", x->op_message);
		cJSON_AddItemToArray(exts, e);
	}
	cJSON_AddItemToObject(o, "extensions", exts);
	add_str(o, "fingerprint", p->fingerprint);
	return o;
}

static cJSON *package_json(const struct mdc_package *p)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "id", p->id);
	add_str(o, "content_id", p->content_id);
	add_str(o, "content_product_id", p->content_product_id);
	add_str(o, "content_kind", p->content_kind);
	add_str(o, "version", p->version);
	add_str(o, "display_name", p->display_name);
	add_str(o, "etag", p->etag);
	return o;
}

static cJSON *rule_json(const struct mdc_alert_rule *r)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "name", r->name);
	add_str(o, "kind", r->kind);
	add_str(o, "etag", r->etag);
	add_str(o, "product_filter", r->product_filter);
	add_str(o, "display_name", r->display_name);
	add_str(o, "description", r->description);
	cJSON_AddBoolToObject(o, "enabled", r->enabled);
	if (r->severities) {
		cJSON *a = cJSON_CreateArray();
		for (unsigned i = 0; i < 4; i++)
			if (r->severities & (1u << i))
				cJSON_AddItemToArray(a, cJSON_CreateString(sev_names[i]));
		cJSON_AddItemToObject(o, "severities", a);
	} else {
		cJSON_AddNullToObject(o, "severities");
	}
	cJSON_AddItemToObject(o, "include_names", strvec_json(&r->include_names));
	cJSON_AddItemToObject(o, "exclude_names", strvec_json(&r->exclude_names));
	add_str(o, "template_name", r->template_name);
	return o;
}

static cJSON *connector_json(const struct mdc_connector *c)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "name", c->name);
	add_str(o, "kind", c->kind);
	add_str(o, "subscription_id", c->subscription_id);
	add_str(o, "tenant_id", c->tenant_id);
	add_str(o, "alerts_state", c->alerts_state);
	add_str(o, "incidents_state", c->incidents_state);
	add_str(o, "etag", c->etag);
	return o;
}

static void add_time(cJSON *o, const char *key, time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, key, buf);
}

char *mdc_actual_to_json(const struct mdc_actual *a)
{
	cJSON *root = cJSON_CreateObject(), *ws = cJSON_CreateObject(), *arr;
	const struct mdc_workspace_actual *w = &a->workspace;
	char *text, *out;

	cJSON_AddNumberToObject(root, "format_version", SNAPSHOT_FORMAT_VERSION);
	add_str(root, "tenant", a->tenant);
	add_time(root, "read_at", a->read_at);

	add_str(ws, "subscription", w->subscription);
	add_str(ws, "resource_group", w->resource_group);
	add_str(ws, "name", w->name);
	cJSON_AddBoolToObject(ws, "onboarded", w->onboarded);
	cJSON_AddBoolToObject(ws, "read", w->read);
	arr = cJSON_AddArrayToObject(ws, "connectors");
	for (size_t i = 0; i < w->nconnectors; i++)
		cJSON_AddItemToArray(arr, connector_json(&w->connectors[i]));
	arr = cJSON_AddArrayToObject(ws, "rules");
	for (size_t i = 0; i < w->nrules; i++)
		cJSON_AddItemToArray(arr, rule_json(&w->rules[i]));
	arr = cJSON_AddArrayToObject(ws, "installed");
	for (size_t i = 0; i < w->ninstalled; i++)
		cJSON_AddItemToArray(arr, package_json(&w->installed[i]));
	arr = cJSON_AddArrayToObject(ws, "catalog");
	for (size_t i = 0; i < w->ncatalog; i++)
		cJSON_AddItemToArray(arr, package_json(&w->catalog[i]));
	cJSON_AddItemToObject(ws, "permissions", perms_json(&w->perms));
	cJSON_AddItemToObject(ws, "error", read_error_json(&w->error));
	cJSON_AddItemToObject(root, "workspace", ws);

	arr = cJSON_AddArrayToObject(root, "subscriptions");
	for (size_t i = 0; i < a->nsubs; i++) {
		const struct mdc_sub_actual *s = &a->subs[i];
		cJSON *o = cJSON_CreateObject(), *pr;
		add_str(o, "id", s->id);
		add_str(o, "display_name", s->display_name);
		add_str(o, "tenant_id", s->tenant_id);
		add_str(o, "state", s->state);
		cJSON_AddItemToObject(o, "tags", kvlist_json(&s->tags));
		cJSON_AddItemToObject(o, "ancestors", strvec_json(&s->ancestors));
		cJSON_AddBoolToObject(o, "pricings_read", s->pricings_read);
		pr = cJSON_AddArrayToObject(o, "pricings");
		for (size_t j = 0; j < s->npricings; j++)
			cJSON_AddItemToArray(pr, pricing_json(&s->pricings[j]));
		if (s->sync_enabled < 0)
			cJSON_AddNullToObject(o, "sync_enabled");
		else
			cJSON_AddBoolToObject(o, "sync_enabled", s->sync_enabled != 0);
		add_str(o, "sync_fingerprint", s->sync_fingerprint);
		cJSON_AddStringToObject(o, "insights_provider",
		                        mdc_provider_state_name(s->insights_provider));
		cJSON_AddItemToObject(o, "permissions", perms_json(&s->perms));
		cJSON_AddItemToObject(o, "error", read_error_json(&s->error));
		cJSON_AddItemToArray(arr, o);
	}

	arr = cJSON_AddArrayToObject(root, "notes");
	for (size_t i = 0; i < a->nnotes; i++) {
		cJSON *o = cJSON_CreateObject();
		add_str(o, "subscription", a->notes[i].subscription);
		add_str(o, "message", a->notes[i].message);
		cJSON_AddItemToArray(arr, o);
	}

	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		abort(); /* cJSON fails only on out of memory */
	out = mdc_xasprintf("%s\n", text);
	cJSON_free(text);
	return out;
}

/* ---- snapshot: reading ------------------------------------------------------------ */

/* Where the reader is, for messages: "subscriptions[3].pricings[0].tier". */
struct rd {
	struct mdc_buf path;
	struct mdc_error *err;
};

static int rd_fail(struct rd *r, const char *key, const char *what)
{
	return mdc_error_set(r->err, MDC_EINVALID, "actual snapshot: %s%s%s: %s", r->path.ptr,
	                     r->path.len && key ? "." : "", key ? key : "", what);
}

static size_t rd_push(struct rd *r, const char *key, long idx)
{
	size_t mark = r->path.len;
	if (key)
		mdc_buf_addf(&r->path, "%s%s", r->path.len ? "." : "", key);
	if (idx >= 0)
		mdc_buf_addf(&r->path, "[%ld]", idx);
	return mark;
}

static void rd_pop(struct rd *r, size_t mark)
{
	mdc_buf_setlen(&r->path, mark);
}

/* Optional string: absent or null leaves *out NULL. */
static int get_str(struct rd *r, const cJSON *o, const char *key, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return rd_fail(r, key, "expected a string");
	*out = mdc_xstrdup(v->valuestring);
	return 0;
}

static int get_bool(struct rd *r, const cJSON *o, const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = false;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return rd_fail(r, key, "expected true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_int(struct rd *r, const cJSON *o, const char *key, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	/* Range first: converting an out-of-range double to int is undefined (fuzz_json). */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT_MIN && v->valuedouble <= INT_MAX) ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return rd_fail(r, key, "expected an integer");
	*out = (int)v->valuedouble;
	return 0;
}

static int get_strvec(struct rd *r, const cJSON *o, const char *key, struct mdc_strvec *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return rd_fail(r, key, "expected an array of strings");
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it))
			return rd_fail(r, key, "expected an array of strings");
		mdc_strvec_push(out, it->valuestring);
	}
	return 0;
}

static int get_kvlist(struct rd *r, const cJSON *o, const char *key, struct mdc_kvlist *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return rd_fail(r, key, "expected an object of strings");
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it)) {
			size_t m = rd_push(r, key, -1);
			int rc = rd_fail(r, it->string, "expected a string");
			rd_pop(r, m);
			return rc;
		}
		mdc_kvlist_set(out, it->string, it->valuestring, false);
	}
	return 0;
}

/* An optional array of objects: *n gets its length, *items a zeroed array of it. */
static int get_array(struct rd *r, const cJSON *o, const char *key, const cJSON **arr, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;

	*arr = NULL;
	*n = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return rd_fail(r, key, "expected an array");
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsObject(it)) {
			size_t m = rd_push(r, key, (long)*n);
			int rc = rd_fail(r, NULL, "expected an object");
			rd_pop(r, m);
			*n = 0; /* nothing was allocated: the caller must not walk the array */
			return rc;
		}
		(*n)++;
	}
	*arr = v;
	return 0;
}

static int get_object(struct rd *r, const cJSON *o, const char *key, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return rd_fail(r, key, "expected an object");
	*out = v;
	return 0;
}

static int read_error(struct rd *r, const cJSON *o, struct mdc_read_error *e)
{
	const cJSON *v;
	int rc;
	size_t m;

	if ((rc = get_object(r, o, "error", &v)) < 0 || !v)
		return rc;
	m = rd_push(r, "error", -1);
	if ((rc = get_int(r, v, "code", &e->code)) < 0 ||
	    (rc = get_int(r, v, "http_status", &e->http_status)) < 0 ||
	    (rc = get_str(r, v, "arm_code", &e->arm_code)) < 0 ||
	    (rc = get_str(r, v, "message", &e->message)) < 0)
		return rc;
	if (e->code > 0 || e->code <= MDC_ERRCODE_MAX)
		return rd_fail(r, "code", "not an error code");
	rd_pop(r, m);
	return 0;
}

static int read_perms(struct rd *r, const cJSON *o, struct mdc_permissions *p)
{
	const cJSON *v, *arr, *it;
	size_t m, i = 0;
	int rc;

	if ((rc = get_object(r, o, "permissions", &v)) < 0 || !v)
		return rc;
	m = rd_push(r, "permissions", -1);
	if ((rc = get_bool(r, v, "read", &p->read)) < 0 ||
	    (rc = get_array(r, v, "entries", &arr, &p->n)) < 0)
		return rc;
	p->v = p->n ? mdc_xcalloc(p->n, sizeof(*p->v)) : NULL;
	cJSON_ArrayForEach(it, arr)
	{
		size_t m2 = rd_push(r, "entries", (long)i);
		if ((rc = get_strvec(r, it, "actions", &p->v[i].actions)) < 0 ||
		    (rc = get_strvec(r, it, "not_actions", &p->v[i].not_actions)) < 0)
			return rc;
		rd_pop(r, m2);
		i++;
	}
	rd_pop(r, m);
	return 0;
}

static int read_pricing(struct rd *r, const cJSON *o, struct mdc_pricing *p)
{
	const cJSON *arr, *it;
	size_t i = 0;
	int rc;

	if ((rc = get_str(r, o, "name", &p->name)) < 0 ||
	    (rc = get_str(r, o, "tier", &p->tier)) < 0 ||
	    (rc = get_str(r, o, "sub_plan", &p->sub_plan)) < 0 ||
	    (rc = get_str(r, o, "enforce", &p->enforce)) < 0 ||
	    (rc = get_bool(r, o, "deprecated", &p->deprecated)) < 0 ||
	    (rc = get_strvec(r, o, "replaced_by", &p->replaced_by)) < 0 ||
	    (rc = get_str(r, o, "free_trial_remaining", &p->free_trial_remaining)) < 0 ||
	    (rc = get_str(r, o, "fingerprint", &p->fingerprint)) < 0 ||
	    (rc = get_array(r, o, "extensions", &arr, &p->nexts)) < 0)
		return rc;
	if (!p->name)
		return rd_fail(r, "name", "missing");
	p->exts = p->nexts ? mdc_xcalloc(p->nexts, sizeof(*p->exts)) : NULL;
	cJSON_ArrayForEach(it, arr)
	{
		struct mdc_ext_actual *x = &p->exts[i];
		size_t m = rd_push(r, "extensions", (long)i);
		if ((rc = get_str(r, it, "name", &x->name)) < 0 ||
		    (rc = get_bool(r, it, "enabled", &x->enabled)) < 0 ||
		    (rc = get_kvlist(r, it, "properties", &x->properties)) < 0 ||
		    (rc = get_str(r, it, "op_code", &x->op_code)) < 0 ||
		    (rc = get_str(r, it, "op_message", &x->op_message)) < 0)
			return rc;
		if (!x->name)
			return rd_fail(r, "name", "missing");
		rd_pop(r, m);
		i++;
	}
	return 0;
}

static int read_package(struct rd *r, const cJSON *o, struct mdc_package *p)
{
	int rc;
	if ((rc = get_str(r, o, "id", &p->id)) < 0 ||
	    (rc = get_str(r, o, "content_id", &p->content_id)) < 0 ||
	    (rc = get_str(r, o, "content_product_id", &p->content_product_id)) < 0 ||
	    (rc = get_str(r, o, "content_kind", &p->content_kind)) < 0 ||
	    (rc = get_str(r, o, "version", &p->version)) < 0 ||
	    (rc = get_str(r, o, "display_name", &p->display_name)) < 0 ||
	    (rc = get_str(r, o, "etag", &p->etag)) < 0)
		return rc;
	if (!p->id)
		return rd_fail(r, "id", "missing");
	return 0;
}

static int read_rule(struct rd *r, const cJSON *o, struct mdc_alert_rule *ru)
{
	const cJSON *sev = cJSON_GetObjectItemCaseSensitive(o, "severities"), *it;
	int rc;

	if ((rc = get_str(r, o, "name", &ru->name)) < 0 ||
	    (rc = get_str(r, o, "kind", &ru->kind)) < 0 ||
	    (rc = get_str(r, o, "etag", &ru->etag)) < 0 ||
	    (rc = get_str(r, o, "product_filter", &ru->product_filter)) < 0 ||
	    (rc = get_str(r, o, "display_name", &ru->display_name)) < 0 ||
	    (rc = get_str(r, o, "description", &ru->description)) < 0 ||
	    (rc = get_bool(r, o, "enabled", &ru->enabled)) < 0 ||
	    (rc = get_strvec(r, o, "include_names", &ru->include_names)) < 0 ||
	    (rc = get_strvec(r, o, "exclude_names", &ru->exclude_names)) < 0 ||
	    (rc = get_str(r, o, "template_name", &ru->template_name)) < 0)
		return rc;
	if (!ru->name)
		return rd_fail(r, "name", "missing");
	if (sev && !cJSON_IsNull(sev)) {
		if (!cJSON_IsArray(sev))
			return rd_fail(r, "severities", "expected an array or null");
		cJSON_ArrayForEach(it, sev)
		{
			unsigned i;
			for (i = 0; i < 4; i++)
				if (cJSON_IsString(it) &&
				    mdc_streq_i(it->valuestring, sev_names[i]))
					break;
			if (i == 4)
				return rd_fail(r, "severities",
				               "expected High, Medium, Low or Informational");
			ru->severities |= 1u << i;
		}
	}
	return 0;
}

static int read_connector(struct rd *r, const cJSON *o, struct mdc_connector *c)
{
	int rc;
	if ((rc = get_str(r, o, "name", &c->name)) < 0 ||
	    (rc = get_str(r, o, "kind", &c->kind)) < 0 ||
	    (rc = get_str(r, o, "subscription_id", &c->subscription_id)) < 0 ||
	    (rc = get_str(r, o, "tenant_id", &c->tenant_id)) < 0 ||
	    (rc = get_str(r, o, "alerts_state", &c->alerts_state)) < 0 ||
	    (rc = get_str(r, o, "incidents_state", &c->incidents_state)) < 0 ||
	    (rc = get_str(r, o, "etag", &c->etag)) < 0)
		return rc;
	if (!c->name)
		return rd_fail(r, "name", "missing");
	return 0;
}

/* Reads an array of objects with fn into a new array of n elements of `size` bytes. */
typedef int (*read_fn)(struct rd *, const cJSON *, void *);

static int read_list(struct rd *r, const cJSON *o, const char *key, void **out, size_t *n,
                     size_t size, read_fn fn)
{
	const cJSON *arr, *it;
	size_t i = 0;
	int rc;

	if ((rc = get_array(r, o, key, &arr, n)) < 0)
		return rc;
	*out = *n ? mdc_xcalloc(*n, size) : NULL;
	cJSON_ArrayForEach(it, arr)
	{
		size_t m = rd_push(r, key, (long)i);
		if ((rc = fn(r, it, (char *)*out + i * size)) < 0)
			return rc;
		rd_pop(r, m);
		i++;
	}
	return 0;
}

static int read_connector_v(struct rd *r, const cJSON *o, void *p)
{
	return read_connector(r, o, p);
}
static int read_rule_v(struct rd *r, const cJSON *o, void *p)
{
	return read_rule(r, o, p);
}
static int read_package_v(struct rd *r, const cJSON *o, void *p)
{
	return read_package(r, o, p);
}
static int read_pricing_v(struct rd *r, const cJSON *o, void *p)
{
	return read_pricing(r, o, p);
}

static int read_workspace(struct rd *r, const cJSON *o, struct mdc_workspace_actual *w)
{
	int rc;

	if ((rc = get_str(r, o, "subscription", &w->subscription)) < 0 ||
	    (rc = get_str(r, o, "resource_group", &w->resource_group)) < 0 ||
	    (rc = get_str(r, o, "name", &w->name)) < 0 ||
	    (rc = get_bool(r, o, "onboarded", &w->onboarded)) < 0 ||
	    (rc = get_bool(r, o, "read", &w->read)) < 0 ||
	    (rc = read_list(r, o, "connectors", (void **)&w->connectors, &w->nconnectors,
	                    sizeof(*w->connectors), read_connector_v)) < 0 ||
	    (rc = read_list(r, o, "rules", (void **)&w->rules, &w->nrules, sizeof(*w->rules),
	                    read_rule_v)) < 0 ||
	    (rc = read_list(r, o, "installed", (void **)&w->installed, &w->ninstalled,
	                    sizeof(*w->installed), read_package_v)) < 0 ||
	    (rc = read_list(r, o, "catalog", (void **)&w->catalog, &w->ncatalog,
	                    sizeof(*w->catalog), read_package_v)) < 0 ||
	    (rc = read_perms(r, o, &w->perms)) < 0 || (rc = read_error(r, o, &w->error)) < 0)
		return rc;
	return 0;
}

static int read_sub(struct rd *r, const cJSON *o, struct mdc_actual *a)
{
	const cJSON *sync = cJSON_GetObjectItemCaseSensitive(o, "sync_enabled");
	struct mdc_sub_actual *s;
	char *id = NULL, *prov = NULL;
	int rc;

	if ((rc = get_str(r, o, "id", &id)) < 0)
		return rc;
	if (!id)
		return rd_fail(r, "id", "missing");
	s = mdc_actual_add_sub(a, id);
	free(id);
	if ((rc = get_str(r, o, "display_name", &s->display_name)) < 0 ||
	    (rc = get_str(r, o, "tenant_id", &s->tenant_id)) < 0 ||
	    (rc = get_str(r, o, "state", &s->state)) < 0 ||
	    (rc = get_kvlist(r, o, "tags", &s->tags)) < 0 ||
	    (rc = get_strvec(r, o, "ancestors", &s->ancestors)) < 0 ||
	    (rc = get_bool(r, o, "pricings_read", &s->pricings_read)) < 0 ||
	    (rc = read_list(r, o, "pricings", (void **)&s->pricings, &s->npricings,
	                    sizeof(*s->pricings), read_pricing_v)) < 0 ||
	    (rc = get_str(r, o, "sync_fingerprint", &s->sync_fingerprint)) < 0 ||
	    (rc = get_str(r, o, "insights_provider", &prov)) < 0 ||
	    (rc = read_perms(r, o, &s->perms)) < 0 || (rc = read_error(r, o, &s->error)) < 0) {
		free(prov);
		return rc;
	}
	if (sync && !cJSON_IsNull(sync) && !cJSON_IsBool(sync)) {
		free(prov);
		return rd_fail(r, "sync_enabled", "expected true, false or null");
	}
	s->sync_enabled = sync && cJSON_IsBool(sync) ? cJSON_IsTrue(sync) : -1;
	s->insights_provider = mdc_provider_state_parse(prov);
	if (prov && s->insights_provider == MDC_PROVIDER_UNKNOWN && !mdc_streq_i(prov, "Unknown")) {
		free(prov);
		return rd_fail(r, "insights_provider", "not a registration state");
	}
	free(prov);
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), so
 * that parsing needs neither strptime nor timegm. */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static int parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se, n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || !n ||
	    s[n] || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	*out =
	    (time_t)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

static int from_json(struct mdc_actual *a, const cJSON *root, struct rd *r)
{
	const cJSON *ws, *arr, *it;
	char *t = NULL;
	int rc, ver;
	size_t n, i = 0;

	if (!cJSON_IsObject(root))
		return rd_fail(r, NULL, "expected an object");
	if ((rc = get_int(r, root, "format_version", &ver)) < 0)
		return rc;
	if (ver != SNAPSHOT_FORMAT_VERSION)
		return rd_fail(r, "format_version", "unsupported (this mdcctl reads version 1)");
	if ((rc = get_str(r, root, "tenant", &a->tenant)) < 0 ||
	    (rc = get_str(r, root, "read_at", &t)) < 0)
		return rc;
	if (t && parse_time(t, &a->read_at) < 0) {
		free(t);
		return rd_fail(r, "read_at", "expected YYYY-MM-DDTHH:MM:SSZ");
	}
	free(t);
	if ((rc = get_object(r, root, "workspace", &ws)) < 0)
		return rc;
	if (ws) {
		size_t m = rd_push(r, "workspace", -1);
		if ((rc = read_workspace(r, ws, &a->workspace)) < 0)
			return rc;
		rd_pop(r, m);
	}
	if ((rc = get_array(r, root, "subscriptions", &arr, &n)) < 0)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		size_t m = rd_push(r, "subscriptions", (long)i++);
		if ((rc = read_sub(r, it, a)) < 0)
			return rc;
		rd_pop(r, m);
	}
	if ((rc = get_array(r, root, "notes", &arr, &n)) < 0)
		return rc;
	i = 0;
	cJSON_ArrayForEach(it, arr)
	{
		size_t m = rd_push(r, "notes", (long)i++);
		char *sub = NULL, *msg = NULL;
		if ((rc = get_str(r, it, "subscription", &sub)) < 0 ||
		    (rc = get_str(r, it, "message", &msg)) < 0) {
			free(sub);
			return rc;
		}
		if (!msg) {
			free(sub);
			return rd_fail(r, "message", "missing");
		}
		mdc_actual_add_note(a, sub, "%s", msg);
		free(sub);
		free(msg);
		rd_pop(r, m);
	}
	return 0;
}

int mdc_actual_from_json(struct mdc_actual **out, const char *json, size_t len,
                         struct mdc_error *err)
{
	struct rd r = {MDC_BUF_INIT, err};
	struct mdc_actual *a;
	const char *end = NULL;
	cJSON *root;
	int rc;

	*out = NULL;
	root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root) {
		size_t off = end && end >= json ? (size_t)(end - json) : 0;
		return mdc_error_set(err, MDC_EINVALID,
		                     "actual snapshot: invalid JSON near byte %zu", off);
	}
	a = mdc_actual_new();
	rc = from_json(a, root, &r);
	cJSON_Delete(root);
	mdc_buf_release(&r.path);
	if (rc < 0) {
		mdc_actual_free(a);
		return rc;
	}
	/* A snapshot keeps its order; when that order is by id, lookups can search. */
	a->sorted = true;
	for (size_t i = 1; i < a->nsubs && a->sorted; i++)
		a->sorted = strcmp(a->subs[i - 1].id, a->subs[i].id) < 0;
	*out = a;
	return 0;
}

int mdc_actual_save(const struct mdc_actual *a, const char *path, struct mdc_error *err)
{
	char *text = mdc_actual_to_json(a);
	size_t len = strlen(text);
	FILE *f = fopen(path, "w");
	int ok;

	if (!f) {
		free(text);
		return mdc_error_set(err, MDC_EIO, "cannot write '%s': %s", path, strerror(errno));
	}
	ok = fwrite(text, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	free(text);
	if (!ok)
		return mdc_error_set(err, MDC_EIO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int mdc_actual_load(struct mdc_actual **out, const char *path, struct mdc_error *err)
{
	struct mdc_buf b = MDC_BUF_INIT;
	int rc;

	*out = NULL;
	if (mdc_buf_read_file(&b, path, 256u * 1024 * 1024) < 0) {
		rc = mdc_error_set(err, MDC_EIO, "cannot read '%s': %s", path, strerror(errno));
		mdc_buf_release(&b);
		return rc;
	}
	rc = mdc_actual_from_json(out, b.ptr, b.len, err);
	if (rc < 0)
		mdc_error_prefix(err, "%s", path);
	mdc_buf_release(&b);
	return rc;
}
