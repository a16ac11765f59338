/*
 * The desired-state model without YAML: diagnostics, freeing, selectors, effective
 * settings and static names. config.c builds the model; plan/ and render/ read it here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "banned.h"

void mdc_diags_add(struct mdc_diags *d, enum mdc_severity sev, struct mdc_pos pos, const char *fmt,
                   ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	MDC_ALLOC_GROW(d->v, d->n + 1, d->alloc);
	d->v[d->n++] = (struct mdc_diag){sev, pos, mdc_buf_detach(&b)};
	if (sev == MDC_DIAG_ERROR)
		d->nerrors++;
}

void mdc_diags_clear(struct mdc_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].message);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static void ext_clear(struct mdc_ext_desired *e)
{
	free(e->name);
	mdc_kvlist_clear(&e->properties);
}

static void plan_clear(struct mdc_plan_desired *p)
{
	free(p->name);
	free(p->sub_plan);
	for (size_t i = 0; i < p->nexts; i++)
		ext_clear(&p->exts[i]);
	free(p->exts);
	memset(p, 0, sizeof(*p));
}

void mdc_settings_clear(struct mdc_settings *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nplans; i++)
		plan_clear(&s->plans[i]);
	free(s->plans);
	memset(s, 0, sizeof(*s));
	s->connected = MDC_UNSET;
	s->bidirectional_sync = MDC_UNSET;
	s->other_plans = MDC_OTHER_UNSET;
}

static void match_clear(struct mdc_match *m)
{
	for (size_t i = 0; i < m->nsel; i++) {
		free(m->sel[i].value);
		free(m->sel[i].tag_value);
	}
	free(m->sel);
	memset(m, 0, sizeof(*m));
}

void mdc_config_free(struct mdc_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->digest);
	free(cfg->api_version);
	free(cfg->tenant);
	free(cfg->workspace.subscription);
	free(cfg->workspace.resource_group);
	free(cfg->workspace.name);
	free(cfg->connector.solution_version);
	for (size_t i = 0; i < cfg->subscriptions.nselect; i++)
		match_clear(&cfg->subscriptions.select[i]);
	free(cfg->subscriptions.select);
	for (size_t i = 0; i < cfg->subscriptions.nexclude; i++)
		match_clear(&cfg->subscriptions.exclude[i]);
	free(cfg->subscriptions.exclude);
	mdc_settings_clear(&cfg->subscriptions.defaults);
	for (size_t i = 0; i < cfg->subscriptions.noverrides; i++) {
		match_clear(&cfg->subscriptions.overrides[i].match);
		mdc_settings_clear(&cfg->subscriptions.overrides[i].set);
	}
	free(cfg->subscriptions.overrides);
	free(cfg->incident_rule.name);
	free(cfg->incident_rule.display_name);
	mdc_strvec_clear(&cfg->incident_rule.include_names);
	mdc_strvec_clear(&cfg->incident_rule.exclude_names);
	free(cfg);
}

static bool selector_matches(const struct mdc_selector *s, const struct mdc_sub_facts *f)
{
	const char *v;

	switch (s->kind) {
	case MDC_SEL_ID:
		return f->id && mdc_streq_i(s->value, f->id);
	case MDC_SEL_MANAGEMENT_GROUP:
		/* Management group names are ARM resource names: case-insensitive. */
		return f->ancestors && mdc_strvec_find(f->ancestors, s->value, true) >= 0;
	case MDC_SEL_TAG:
		/* Azure tag names are case-insensitive, tag values are not. */
		v = f->tags ? mdc_kvlist_get(f->tags, s->value, true) : NULL;
		return v && s->tag_value && !strcmp(v, s->tag_value);
	default:
		return false;
	}
}

bool mdc_match_matches(const struct mdc_match *m, const struct mdc_sub_facts *f)
{
	if (!m || !m->nsel)
		return false;
	for (size_t i = 0; i < m->nsel; i++)
		if (!selector_matches(&m->sel[i], f))
			return false;
	return true;
}

bool mdc_config_selects(const struct mdc_config *cfg, const struct mdc_sub_facts *f)
{
	bool selected = false;

	for (size_t i = 0; i < cfg->subscriptions.nselect && !selected; i++)
		selected = mdc_match_matches(&cfg->subscriptions.select[i], f);
	if (!selected)
		return false;
	for (size_t i = 0; i < cfg->subscriptions.nexclude; i++)
		if (mdc_match_matches(&cfg->subscriptions.exclude[i], f))
			return false;
	return true;
}

static void plan_copy(struct mdc_plan_desired *dst, const struct mdc_plan_desired *src)
{
	*dst = *src;
	dst->name = mdc_xstrdup(src->name);
	dst->sub_plan = src->sub_plan ? mdc_xstrdup(src->sub_plan) : NULL;
	dst->exts = src->nexts ? mdc_xcalloc(src->nexts, sizeof(*dst->exts)) : NULL;
	for (size_t i = 0; i < src->nexts; i++) {
		dst->exts[i] = src->exts[i];
		dst->exts[i].name = mdc_xstrdup(src->exts[i].name);
		memset(&dst->exts[i].properties, 0, sizeof(dst->exts[i].properties));
		mdc_kvlist_copy(&dst->exts[i].properties, &src->exts[i].properties);
	}
}

/* Puts a copy of p into s, replacing s's entry of the same name whole. */
static void settings_put_plan(struct mdc_settings *s, const struct mdc_plan_desired *p)
{
	for (size_t i = 0; i < s->nplans; i++)
		if (mdc_streq_i(s->plans[i].name, p->name)) {
			plan_clear(&s->plans[i]);
			plan_copy(&s->plans[i], p);
			return;
		}
	s->plans = mdc_xrealloc(s->plans, (s->nplans + 1) * sizeof(*s->plans));
	plan_copy(&s->plans[s->nplans++], p);
}

/* Layers `top` over `s`: fields top sets win; plans it names replace s's entries. */
static void settings_layer(struct mdc_settings *s, const struct mdc_settings *top)
{
	if (top->connected != MDC_UNSET)
		s->connected = top->connected;
	if (top->bidirectional_sync != MDC_UNSET)
		s->bidirectional_sync = top->bidirectional_sync;
	if (top->other_plans != MDC_OTHER_UNSET)
		s->other_plans = top->other_plans;
	for (size_t i = 0; i < top->nplans; i++)
		settings_put_plan(s, &top->plans[i]);
}

void mdc_config_effective(const struct mdc_config *cfg, const struct mdc_sub_facts *f,
                          struct mdc_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->connected = MDC_UNSET;
	out->bidirectional_sync = MDC_UNSET;
	out->other_plans = MDC_OTHER_UNSET;
	out->pos = cfg->subscriptions.defaults.pos;
	settings_layer(out, &cfg->subscriptions.defaults);
	for (size_t i = 0; i < cfg->subscriptions.noverrides; i++)
		if (mdc_match_matches(&cfg->subscriptions.overrides[i].match, f))
			settings_layer(out, &cfg->subscriptions.overrides[i].set);
	if (out->other_plans == MDC_OTHER_UNSET)
		out->other_plans = MDC_OTHER_UNMANAGED;
}

/* Defaults layered with one override, for offline checks (config.c). */
void mdc_settings_layered(struct mdc_settings *out, const struct mdc_settings *base,
                          const struct mdc_settings *top)
{
	memset(out, 0, sizeof(*out));
	out->connected = MDC_UNSET;
	out->bidirectional_sync = MDC_UNSET;
	out->other_plans = MDC_OTHER_UNSET;
	out->pos = top ? top->pos : base->pos;
	settings_layer(out, base);
	if (top)
		settings_layer(out, top);
}

const struct mdc_plan_desired *mdc_settings_plan(const struct mdc_settings *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nplans; i++)
		if (mdc_streq_i(s->plans[i].name, name))
			return &s->plans[i];
	return NULL;
}

const char *mdc_tier_name(enum mdc_tier t)
{
	switch (t) {
	case MDC_TIER_FREE:
		return "Free";
	case MDC_TIER_STANDARD:
		return "Standard";
	default:
		return "unset";
	}
}

static const char *const cloud_names[MDC_CLOUD_MAX] = {"AzureCloud", "AzureUSGovernment",
                                                       "AzureChinaCloud"};
static const char *const cloud_arm[MDC_CLOUD_MAX] = {"https://management.azure.com",
                                                     "https://management.usgovcloudapi.net",
                                                     "https://management.chinacloudapi.cn"};
static const char *const cloud_login[MDC_CLOUD_MAX] = {"https://login.microsoftonline.com",
                                                       "https://login.microsoftonline.us",
                                                       "https://login.chinacloudapi.cn"};

const char *mdc_cloud_name(enum mdc_cloud c)
{
	return (unsigned)c < MDC_CLOUD_MAX ? cloud_names[c] : "unknown";
}

const char *mdc_cloud_arm_endpoint(enum mdc_cloud c)
{
	return (unsigned)c < MDC_CLOUD_MAX ? cloud_arm[c] : cloud_arm[0];
}

const char *mdc_cloud_authority_host(enum mdc_cloud c)
{
	return (unsigned)c < MDC_CLOUD_MAX ? cloud_login[c] : cloud_login[0];
}

const char *mdc_severity_name(unsigned one_sev_bit)
{
	switch (one_sev_bit) {
	case MDC_SEV_HIGH:
		return "High";
	case MDC_SEV_MEDIUM:
		return "Medium";
	case MDC_SEV_LOW:
		return "Low";
	case MDC_SEV_INFORMATIONAL:
		return "Informational";
	default:
		return "unknown";
	}
}
