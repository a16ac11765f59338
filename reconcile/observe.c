#include "observe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "armjson.h"
#include "azure.h"
#include "buf.h"
#include "banned.h"

struct obs {
	struct mdc_arm *arm;
	const struct mdc_config *cfg;
	const struct mdc_observe_opts *opts;
	struct mdc_actual *a;
	char *ws_path;
	struct mdc_error fatal; /* the first run-level failure */
	/* Maps, not lists: each is consulted once per subscription of the tenant. */
	struct mdc_strmap parent;       /* child (subscription GUID or group name) -> parent */
	struct mdc_strvec in_tree;      /* subscriptions seen below a named management group */
	struct mdc_strmap in_tree_set;  /* the same, for lookups */
	struct mdc_strmap other_tenant; /* visible subscriptions of other tenants (a set) */
	struct mdc_strmap sub_index;    /* subscription id -> index + 1 in a->subs */
	size_t subs_total, subs_done;
	int ws_pending; /* workspace reads outstanding */
	bool ws_failed;
};

/* One subscription's phase-2 reads. */
struct subread {
	struct obs *o;
	size_t idx; /* into a->subs: stable, no subscription is added in phase 2 */
	int pending;
};

static struct mdc_sub_actual *SUB(struct subread *r)
{
	return &r->o->a->subs[r->idx];
}

static void set_fatal(struct obs *o, const struct mdc_error *err, const char *what)
{
	if (o->fatal.code)
		return;
	o->fatal.code = err->code ? err->code : MDC_EINTERNAL;
	o->fatal.message = mdc_xasprintf("cannot read %s: %s", what,
	                                 err->message ? err->message : "unknown error");
}

static void read_error_set(struct mdc_read_error *e, const struct mdc_error *err)
{
	if (e->code)
		return;
	e->code = err->code ? err->code : MDC_EINTERNAL;
	e->http_status = err->http_status;
	e->arm_code = err->arm_code ? mdc_xstrdup(err->arm_code) : NULL;
	e->message = mdc_xstrdup(err->message ? err->message : "unknown error");
}

static void report_progress(struct obs *o)
{
	struct mdc_observe_progress p = {o->subs_done, o->subs_total, 0, 0};
	struct mdc_http_stats st;

	if (!o->opts->progress)
		return;
	mdc_http_stats(mdc_arm_http(o->arm), &st);
	p.requests = st.requests;
	p.retries = st.retries;
	o->opts->progress(o->opts->progress_ctx, &p);
}

/* ---- phase 1: subscriptions and management groups -------------------------------- */

static int subs_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct obs *o = ctx;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(page, "value"), *it;

	if (!cJSON_IsArray(v))
		return mdc_error_set(err, MDC_EINVALID,
		                     "unexpected ARM response: subscription list "
		                     "without 'value'");
	cJSON_ArrayForEach(it, v)
	{
		const cJSON *tid = cJSON_GetObjectItemCaseSensitive(it, "tenantId");
		const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "subscriptionId");
		char g[37];

		/* The list spans every tenant the caller can see (reference §1.1): keep ours. */
		if (cJSON_IsString(tid) && o->a->tenant &&
		    !mdc_streq_i(tid->valuestring, o->a->tenant)) {
			if (cJSON_IsString(sid) && mdc_guid_normalize(sid->valuestring, g))
				mdc_strmap_put(&o->other_tenant, g, o);
			continue;
		}
		/* A subscription listed twice (pages that overlap) is read once. */
		if (cJSON_IsString(sid) && mdc_strmap_get(&o->sub_index, sid->valuestring))
			continue;
		if (mdc_armjson_subscription(o->a, it, NULL, err) < 0)
			return MDC_EINVALID;
		mdc_strmap_put(&o->sub_index, o->a->subs[o->a->nsubs - 1].id,
		               (void *)(uintptr_t)o->a->nsubs);
	}
	return 0;
}

static void subs_done(void *ctx, const struct mdc_error *err)
{
	if (err)
		set_fatal(ctx, err, "the subscription list");
}

struct mgread {
	struct obs *o;
	char *name;
	bool
	    ancestry_only; /* read for ancestry (read_hierarchy), not because a selector names it */
};

static int mg_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct mgread *m = ctx;
	struct obs *o = m->o;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(page, "value"), *it;

	if (!cJSON_IsArray(v))
		return mdc_error_set(err, MDC_EINVALID,
		                     "unexpected ARM response: management group "
		                     "descendants without 'value'");
	cJSON_ArrayForEach(it, v)
	{
		struct mdc_descendant d;

		if (mdc_armjson_descendant(&d, it, err) < 0)
			return MDC_EINVALID;
		if (d.parent)
			free(mdc_strmap_put(&o->parent, d.name, mdc_xstrdup(d.parent)));
		if (d.kind == MDC_DESC_SUBSCRIPTION && !m->ancestry_only &&
		    !mdc_strmap_get(&o->in_tree_set, d.name)) {
			mdc_strmap_put(&o->in_tree_set, d.name, o);
			mdc_strvec_push(&o->in_tree, d.name);
		}
		mdc_descendant_clear(&d);
	}
	return 0;
}

static void mg_done(void *ctx, const struct mdc_error *err)
{
	struct mgread *m = ctx;

	/* A management group the caller cannot read (403) or that does not exist (404) is a
	 * note, not a failed run: the subscriptions it would select are simply not there. */
	if (err)
		mdc_actual_add_note(m->o->a, NULL, "cannot read management group '%s': %s", m->name,
		                    err->message ? err->message : "unknown error");
	free(m->name);
	free(m);
}

static void add_group(struct mdc_strvec *names, const struct mdc_match *m)
{
	for (size_t i = 0; i < m->nsel; i++)
		if (m->sel[i].kind == MDC_SEL_MANAGEMENT_GROUP &&
		    mdc_strvec_find(names, m->sel[i].value, true) < 0)
			mdc_strvec_push(names, m->sel[i].value);
}

void mdc_observe_config_groups(const struct mdc_config *cfg, struct mdc_strvec *names)
{
	for (size_t i = 0; i < cfg->subscriptions.nselect; i++)
		add_group(names, &cfg->subscriptions.select[i]);
	for (size_t i = 0; i < cfg->subscriptions.nexclude; i++)
		add_group(names, &cfg->subscriptions.exclude[i]);
	for (size_t i = 0; i < cfg->subscriptions.noverrides; i++)
		add_group(names, &cfg->subscriptions.overrides[i].match);
	mdc_strvec_sort(names);
}

static bool config_names_group(const struct mdc_config *cfg, const char *name)
{
	struct mdc_strvec names = {0};
	bool found;

	mdc_observe_config_groups(cfg, &names);
	found = mdc_strvec_find(&names, name, true) >= 0;
	mdc_strvec_clear(&names);
	return found;
}

/* ---- the workspace ---------------------------------------------------------------- */

struct wsread {
	struct obs *o;
	const char *what;
	int kind; /* which list */
};

enum { WS_CONNECTORS, WS_RULES, WS_INSTALLED, WS_PERMS, WS_MAX };

static void ws_finish_one(struct obs *o)
{
	if (--o->ws_pending == 0)
		o->a->workspace.read = !o->ws_failed;
}

static void ws_fail(struct obs *o, const char *what, const struct mdc_error *err)
{
	struct mdc_error e = MDC_ERROR_INIT;

	o->ws_failed = true;
	e.code = err->code;
	e.http_status = err->http_status;
	e.arm_code = err->arm_code;
	e.message = mdc_xasprintf("cannot read the workspace's %s: %s", what,
	                          err->message ? err->message : "unknown error");
	read_error_set(&o->a->workspace.error, &e);
	free(e.message);
}

static int ws_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct wsread *r = ctx;
	struct mdc_workspace_actual *w = &r->o->a->workspace;

	switch (r->kind) {
	case WS_CONNECTORS:
		return mdc_armjson_connectors(w, page, err);
	case WS_RULES:
		return mdc_armjson_alert_rules(w, page, err);
	case WS_INSTALLED:
		return mdc_armjson_packages(&w->installed, &w->ninstalled, page, 0, err);
	default:
		return mdc_armjson_permissions(&w->perms, page, err);
	}
}

static void ws_list_done(void *ctx, const struct mdc_error *err)
{
	struct wsread *r = ctx;

	/* Not being allowed to read one's permissions is not fatal: the plan then treats
	 * writes as allowed and says it could not check (reference §7.1). */
	if (err && r->kind != WS_PERMS)
		ws_fail(r->o, r->what, err);
	ws_finish_one(r->o);
	free(r);
}

static void ws_catalog_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct obs *o = ctx;
	struct mdc_workspace_actual *w = &o->a->workspace;
	struct mdc_error perr = MDC_ERROR_INIT;

	if (err && status != 404) {
		ws_fail(o, "Content Hub catalogue", err);
	} else if (!err) {
		w->catalog = mdc_xrealloc(w->catalog, (w->ncatalog + 1) * sizeof(*w->catalog));
		if (mdc_armjson_package(&w->catalog[w->ncatalog], body, 1, &perr) == 0)
			w->ncatalog++;
		else
			ws_fail(o, "Content Hub catalogue", &perr);
		mdc_error_clear(&perr);
	}
	ws_finish_one(o);
}

static void ws_start_list(struct obs *o, int kind, const char *what, const char *path,
                          const char *api_version)
{
	struct wsread *r = mdc_xcalloc(1, sizeof(*r));
	struct mdc_error err = MDC_ERROR_INIT;

	r->o = o;
	r->kind = kind;
	r->what = what;
	o->ws_pending++;
	if (mdc_arm_list(o->arm, path, api_version, NULL, o->cfg->workspace.subscription, ws_page,
	                 ws_list_done, r, &err) < 0) {
		ws_fail(o, what, &err);
		ws_finish_one(o);
		free(r);
	}
	mdc_error_clear(&err);
}

static bool workspace_missing(const struct mdc_error *err)
{
	return mdc_streq_i(err->arm_code, "ResourceNotFound") ||
	       mdc_streq_i(err->arm_code, "ResourceGroupNotFound") ||
	       mdc_streq_i(err->arm_code, "SubscriptionNotFound");
}

static void ws_onboarding_done(void *ctx, int status, const cJSON *body,
                               const struct mdc_error *err)
{
	struct obs *o = ctx;
	struct mdc_workspace_actual *w = &o->a->workspace;
	struct mdc_buf p = MDC_BUF_INIT;
	struct mdc_error e2 = MDC_ERROR_INIT;
	size_t base;

	/* 404 is "not onboarded", unless ARM says the workspace itself (or its resource
	 * group or subscription) does not exist. */
	if (err && (status != 404 || workspace_missing(err))) {
		ws_fail(o,
		        status == 404 ? "workspace (it does not exist)"
		                      : "Sentinel onboarding state",
		        err);
		ws_finish_one(o);
		return;
	}
	w->onboarded = !err;
	if (!w->onboarded) {
		/* Nothing else of Sentinel can be read on a workspace that is not onboarded. */
		ws_finish_one(o);
		return;
	}
	mdc_buf_adds(&p, o->ws_path);
	base = p.len;
	mdc_buf_adds(&p, "/providers/Microsoft.SecurityInsights/dataConnectors");
	ws_start_list(o, WS_CONNECTORS, "data connectors", p.ptr, MDC_API_INSIGHTS);
	mdc_buf_setlen(&p, base);
	mdc_buf_adds(&p, "/providers/Microsoft.SecurityInsights/alertRules");
	ws_start_list(o, WS_RULES, "alert rules", p.ptr, MDC_API_INSIGHTS);
	mdc_buf_setlen(&p, base);
	mdc_buf_adds(&p, "/providers/Microsoft.SecurityInsights/contentPackages");
	ws_start_list(o, WS_INSTALLED, "content packages", p.ptr, MDC_API_INSIGHTS);
	mdc_buf_setlen(&p, base);
	mdc_buf_adds(
	    &p, "/providers/Microsoft.SecurityInsights/contentProductPackages/" MDC_SOLUTION_ID);
	o->ws_pending++;
	if (mdc_arm_call(o->arm, "GET", p.ptr, MDC_API_INSIGHTS, NULL,
	                 o->cfg->workspace.subscription, ws_catalog_done, o, &e2) < 0) {
		ws_fail(o, "Content Hub catalogue", &e2);
		ws_finish_one(o);
	}
	mdc_error_clear(&e2);
	ws_finish_one(o); /* the onboarding read itself */
	mdc_buf_release(&p);
}

static void start_workspace(struct obs *o)
{
	struct mdc_workspace_actual *w = &o->a->workspace;
	struct mdc_buf p = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;

	w->subscription = mdc_xstrdup(o->cfg->workspace.subscription);
	w->resource_group = mdc_xstrdup(o->cfg->workspace.resource_group);
	w->name = mdc_xstrdup(o->cfg->workspace.name);
	o->ws_path =
	    mdc_xasprintf(MDC_WORKSPACE_PATH_FMT, w->subscription, w->resource_group, w->name);
	mdc_buf_addf(&p, "%s/providers/Microsoft.Authorization/permissions", o->ws_path);
	ws_start_list(o, WS_PERMS, "permissions", p.ptr, MDC_API_PERMISSIONS);
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "%s/providers/Microsoft.SecurityInsights/onboardingStates/default",
	             o->ws_path);
	o->ws_pending++;
	if (mdc_arm_call(o->arm, "GET", p.ptr, MDC_API_INSIGHTS, NULL, w->subscription,
	                 ws_onboarding_done, o, &err) < 0) {
		ws_fail(o, "Sentinel onboarding state", &err);
		ws_finish_one(o);
	}
	mdc_error_clear(&err);
	mdc_buf_release(&p);
}

/* ---- phase 2: one subscription ----------------------------------------------------- */

static void sub_finish_one(struct subread *r)
{
	if (--r->pending)
		return;
	r->o->subs_done++;
	report_progress(r->o);
	free(r);
}

static void sub_fail(struct subread *r, const struct mdc_error *err)
{
	read_error_set(&SUB(r)->error, err);
}

static void pricings_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct subread *r = ctx;
	struct mdc_error perr = MDC_ERROR_INIT;

	if (err)
		sub_fail(r, err);
	else if (mdc_armjson_pricings(SUB(r), body, &perr) < 0)
		sub_fail(r, &perr);
	mdc_error_clear(&perr);
	sub_finish_one(r);
}

static void sync_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct subread *r = ctx;
	struct mdc_error perr = MDC_ERROR_INIT;

	/* A subscription that never wrote the setting is expected to answer the default
	 * (enabled: false) rather than 404 (reference §3.2, UNCERTAIN); should it answer 404,
	 * that means the same. */
	if (err && status == 404)
		SUB(r)->sync_enabled = MDC_FALSE;
	else if (err)
		sub_fail(r, err);
	else if (mdc_armjson_sentinel_setting(SUB(r), body, &perr) < 0)
		sub_fail(r, &perr);
	mdc_error_clear(&perr);
	sub_finish_one(r);
}

static void provider_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct subread *r = ctx;
	struct mdc_error perr = MDC_ERROR_INIT;

	if (err)
		sub_fail(r, err);
	else if (mdc_armjson_provider(&SUB(r)->insights_provider, body, &perr) < 0)
		sub_fail(r, &perr);
	mdc_error_clear(&perr);
	sub_finish_one(r);
}

static int perms_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct subread *r = ctx;
	return mdc_armjson_permissions(&SUB(r)->perms, page, err);
}

static void perms_done(void *ctx, const struct mdc_error *err)
{
	struct subread *r = ctx;

	if (err) /* unknown permissions: the plan checks nothing and says so */
		SUB(r)->perms.read = false;
	sub_finish_one(r);
}

/* The first page of the permissions (it may come in a batch); later pages as a list. */
static void perms_first(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct subread *r = ctx;
	struct mdc_error perr = MDC_ERROR_INIT;
	const char *next;

	if (err || perms_page(r, body, &perr) < 0) {
		perms_done(r, err ? err : &perr);
		mdc_error_clear(&perr);
		return;
	}
	next = mdc_armjson_next_link(body);
	if (next &&
	    mdc_arm_list_next(r->o->arm, next, SUB(r)->id, perms_page, perms_done, r, &perr) == 0)
		return;
	perms_done(r, next ? &perr : NULL);
	mdc_error_clear(&perr);
}

static void start_sub(struct obs *o, size_t idx)
{
	struct subread *r = mdc_xcalloc(1, sizeof(*r));
	const char *id = o->a->subs[idx].id;
	struct mdc_buf p = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;

	r->o = o;
	r->idx = idx;
	r->pending = 5; /* four reads, plus this function's own hold */

	mdc_buf_addf(&p, "/subscriptions/%s/providers/Microsoft.Security/pricings", id);
	if (mdc_arm_batch_get(o->arm, p.ptr, MDC_API_PRICINGS, id, pricings_done, r, &err) < 0) {
		sub_fail(r, &err);
		r->pending--;
	}
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "/subscriptions/%s/providers/Microsoft.Security/settings/Sentinel", id);
	if (mdc_arm_batch_get(o->arm, p.ptr, MDC_API_SETTINGS, id, sync_done, r, &err) < 0) {
		sub_fail(r, &err);
		r->pending--;
	}
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "/subscriptions/%s/providers/" MDC_NS_INSIGHTS, id);
	if (mdc_arm_batch_get(o->arm, p.ptr, MDC_API_PROVIDERS, id, provider_done, r, &err) < 0) {
		sub_fail(r, &err);
		r->pending--;
	}
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "/subscriptions/%s/providers/Microsoft.Authorization/permissions", id);
	if (mdc_arm_batch_get(o->arm, p.ptr, MDC_API_PERMISSIONS, id, perms_first, r, &err) < 0)
		r->pending--;
	mdc_error_clear(&err);
	mdc_buf_release(&p);
	sub_finish_one(r);
}

/* ---- between the phases ------------------------------------------------------------ */

static void build_ancestors(struct obs *o, struct mdc_sub_actual *s)
{
	const char *name = s->id;

	/* Walk up the parent links (bounded: ARM allows six levels below the root). */
	for (int depth = 0; depth < 16; depth++) {
		const char *up = mdc_strmap_get(&o->parent, name);
		if (!up)
			break;
		mdc_strvec_push(&s->ancestors, up);
		name = up;
	}
}

static bool explicitly_selected(const struct mdc_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->subscriptions.nselect; i++) {
		const struct mdc_match *m = &cfg->subscriptions.select[i];
		for (size_t k = 0; k < m->nsel; k++)
			if (m->sel[k].kind == MDC_SEL_ID && mdc_streq_i(m->sel[k].value, id))
				return true;
	}
	return false;
}

static void note_invisible(struct obs *o)
{
	const struct mdc_config *cfg = o->cfg;

	for (size_t i = 0; i < cfg->subscriptions.nselect; i++) {
		const struct mdc_match *m = &cfg->subscriptions.select[i];
		for (size_t k = 0; k < m->nsel; k++) {
			const char *id = m->sel[k].value;
			if (m->sel[k].kind != MDC_SEL_ID || mdc_strmap_get(&o->sub_index, id))
				continue;
			if (mdc_strmap_get(&o->other_tenant, id))
				mdc_actual_add_note(
				    o->a, id,
				    "subscription '%s' belongs to another tenant than "
				    "'%s'; not managed",
				    id, o->a->tenant);
			else
				mdc_actual_add_note(
				    o->a, id,
				    "subscription '%s' is not visible to the caller "
				    "(it does not exist or no role is assigned on it)",
				    id);
		}
	}
	for (size_t i = 0; i < o->in_tree.n; i++) {
		const char *id = o->in_tree.v[i];
		if (!mdc_strmap_get(&o->sub_index, id) && !explicitly_selected(cfg, id) &&
		    !mdc_strmap_get(&o->other_tenant, id))
			mdc_actual_add_note(
			    o->a, id,
			    "subscription '%s' is below a selected management group "
			    "but not visible to the caller",
			    id);
	}
}

int mdc_observe(struct mdc_actual **out, struct mdc_arm *arm, const struct mdc_config *cfg,
                const struct mdc_observe_opts *opts, struct mdc_error *err)
{
	static const struct mdc_observe_opts no_opts;
	struct obs o = {0};
	struct mdc_strvec groups = {0};
	struct mdc_error e = MDC_ERROR_INIT;
	int rc = 0;

	*out = NULL;
	o.arm = arm;
	o.cfg = cfg;
	o.opts = opts ? opts : &no_opts;
	o.a = mdc_actual_new();
	o.a->tenant = cfg->tenant ? mdc_xstrdup(cfg->tenant) : NULL;
	o.a->read_at = time(NULL);

	if (mdc_arm_list(arm, "/subscriptions", MDC_API_SUBSCRIPTIONS, NULL, NULL, subs_page,
	                 subs_done, &o, &e) < 0)
		goto fail;
	if (!o.opts->all_subscriptions)
		mdc_observe_config_groups(cfg, &groups);
	/* The root's descendants hold every group's: the named groups are then read only
	 * for their own notes (in_tree), which ancestry-only reads do not give. */
	if (o.opts->read_hierarchy && cfg->tenant &&
	    mdc_strvec_find(&groups, cfg->tenant, true) < 0)
		mdc_strvec_push(&groups, cfg->tenant);
	for (size_t i = 0; i < groups.n; i++) {
		struct mgread *m = mdc_xcalloc(1, sizeof(*m));
		char *path = mdc_xasprintf("/providers/Microsoft.Management/managementGroups/%s/"
		                           "descendants",
		                           groups.v[i]);
		m->o = &o;
		m->name = mdc_xstrdup(groups.v[i]);
		m->ancestry_only =
		    o.opts->all_subscriptions ||
		    (o.opts->read_hierarchy && mdc_streq_i(groups.v[i], cfg->tenant) &&
		     !config_names_group(cfg, groups.v[i]));
		rc = mdc_arm_list(arm, path, MDC_API_MANAGEMENT_GROUPS, NULL, NULL, mg_page,
		                  mg_done, m, &e);
		free(path);
		if (rc < 0) {
			free(m->name);
			free(m);
			goto fail;
		}
	}
	if (!o.opts->skip_workspace && cfg->workspace.subscription)
		start_workspace(&o);
	if ((rc = mdc_arm_run(arm, &e)) < 0)
		goto fail;
	if (o.fatal.code) {
		mdc_error_move(&e, &o.fatal);
		goto fail;
	}

	/* Phase 2. */
	note_invisible(&o);
	for (size_t i = 0; i < o.a->nsubs; i++) {
		struct mdc_sub_actual *s = &o.a->subs[i];
		struct mdc_sub_facts f;

		build_ancestors(&o, s);
		f = (struct mdc_sub_facts){s->id, &s->tags, &s->ancestors};
		if (!o.opts->all_subscriptions && !mdc_config_selects(cfg, &f))
			continue;
		if (!mdc_streq_i(s->state, "Enabled")) {
			mdc_actual_add_note(o.a, s->id, "subscription '%s' is %s; not managed",
			                    s->id, s->state ? s->state : "in an unknown state");
			continue;
		}
		o.subs_total++;
	}
	for (size_t i = 0; i < o.a->nsubs; i++) {
		struct mdc_sub_actual *s = &o.a->subs[i];
		struct mdc_sub_facts f = {s->id, &s->tags, &s->ancestors};

		if ((o.opts->all_subscriptions || mdc_config_selects(cfg, &f)) &&
		    mdc_streq_i(s->state, "Enabled"))
			start_sub(&o, i);
	}
	if ((rc = mdc_arm_run(arm, &e)) < 0)
		goto fail;
	report_progress(&o);
	mdc_actual_sort(o.a);
	*out = o.a;
	o.a = NULL;
	rc = 0;
	goto cleanup;
fail:
	rc = e.code ? e.code : MDC_EINTERNAL;
	mdc_error_move(err, &e);
cleanup:
	mdc_actual_free(o.a);
	mdc_error_clear(&o.fatal);
	mdc_error_clear(&e);
	mdc_strmap_clear(&o.parent, free);
	mdc_strvec_clear(&o.in_tree);
	mdc_strmap_clear(&o.in_tree_set, NULL);
	mdc_strmap_clear(&o.other_tenant, NULL);
	mdc_strmap_clear(&o.sub_index, NULL);
	mdc_strvec_clear(&groups);
	free(o.ws_path);
	return rc;
}
