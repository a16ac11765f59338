#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure.h"
#include "buf.h"
#include "catalog.h"
#include "banned.h"

#define NONE ((size_t)-1)

/* ---- YAML text ------------------------------------------------------------------- */

/* A double-quoted YAML scalar: every string that comes from Azure or a user goes out
 * this way, so no value can change the document's structure. */
static void yq(struct mdc_buf *b, const char *s)
{
	mdc_buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			mdc_buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			mdc_buf_adds(b, "\\n");
		else if (*p == '\t')
			mdc_buf_adds(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			mdc_buf_addf(b, "\\x%02x", *p);
		else
			mdc_buf_addch(b, *p);
	}
	mdc_buf_addch(b, '"');
}

/* Text for a comment: one line, printable. */
static void comment_text(struct mdc_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		mdc_buf_addch(b, *p < 0x20 || *p == 0x7f ? ' ' : *p);
}

/* ---- per-plan values ---------------------------------------------------------------- */

/* One distinct setting of one plan, found on some subscription. */
struct pval {
	char *key;                    /* canonical text, equal for equal settings */
	const struct mdc_pricing *ex; /* an exemplar (NULL: absent, treated as Free) */
	bool standard;
};

/* A reproducible field: connected, bidirectionalSync, or one plan. */
enum { F_CONNECTED, F_SYNC, F_PLANS };

struct field {
	const struct mdc_catalog_plan *plan; /* plan fields only */
	struct pval *v;                      /* plan fields: the distinct values */
	size_t nv;
	bool used; /* written at all */
};

struct sub {
	const struct mdc_sub_actual *s;
	int *val;   /* per field: value index (connected/sync: 0 false, 1 true) */
	int *mgval; /* per field: the value after defaults and group overrides */
	bool *fixed;
};

/* An override being built: the value per field, -1 = not set. */
struct ovr {
	int kind;   /* MDC_SEL_MANAGEMENT_GROUP, MDC_SEL_TAG, MDC_SEL_ID */
	char *name; /* group name, tag key or id */
	char *tag_value;
	int *set;
	size_t nsubs;
	size_t depth;        /* groups: depth in the tree (parents are written first) */
	const char *comment; /* display name for ids; borrowed */
};

struct node {
	char *name;
	size_t parent;
	size_t depth;
	size_t *subs; /* every sub below, at any depth */
	size_t nsubs, asubs;
	size_t *kids;
	size_t nkids, akids;
};

struct ex {
	const struct mdc_config *scope;
	const struct mdc_actual *act;
	const struct mdc_catalog *cat;
	bool tenant_mode;
	struct field *f;
	size_t nf;
	struct sub *subs;
	size_t nsubs;
	int *def; /* defaults per field */
	struct ovr *ov;
	size_t nov;
	struct node *nodes;
	size_t nnodes;
	struct mdc_strvec excl_ids, excl_why;
	struct mdc_strvec *warnings;
	int *count; /* scratch */
};

static bool is_std(const struct mdc_pricing *p)
{
	return p && mdc_streq_i(p->tier, "Standard");
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct mdc_kv *)a)->key, ((const struct mdc_kv *)b)->key);
}

static int cmp_ext(const void *a, const void *b)
{
	return strcmp((*(const struct mdc_ext_actual *const *)a)->name,
	              (*(const struct mdc_ext_actual *const *)b)->name);
}

/* The extensions of p the catalogue knows, sorted by name; caller frees the array. */
static const struct mdc_ext_actual **known_exts(const struct mdc_catalog_plan *cp,
                                                const struct mdc_pricing *p, size_t *n)
{
	const struct mdc_ext_actual **v = mdc_xcalloc(p->nexts + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < p->nexts; i++)
		if (p->exts[i].name && mdc_catalog_plan_has_extension(cp, p->exts[i].name))
			v[(*n)++] = &p->exts[i];
	qsort(v, *n, sizeof(*v), cmp_ext);
	return v;
}

/* One extension in a plan's canonical text: name, state, and while enabled its
 * properties sorted by key. Shared by the actual and the desired side so that equal
 * settings give equal text. */
static void ext_key(struct mdc_buf *b, const char *name, bool enabled,
                    const struct mdc_kvlist *properties)
{
	mdc_buf_addf(b, "%s=%d", name, enabled);
	if (enabled && properties->n) {
		struct mdc_kvlist props = {0};

		mdc_kvlist_copy(&props, properties);
		qsort(props.v, props.n, sizeof(*props.v), cmp_kv);
		for (size_t k = 0; k < props.n; k++)
			mdc_buf_addf(b, "{%s=%s}", props.v[k].key, props.v[k].value);
		mdc_kvlist_clear(&props);
	}
	mdc_buf_addch(b, ';');
}

/* Canonical text of what the file can say about a plan: tier, sub-plan (when the
 * catalogue knows it), known extensions with their properties while enabled. */
static char *actual_key(const struct mdc_catalog_plan *cp, const struct mdc_pricing *p)
{
	struct mdc_buf b = MDC_BUF_INIT;
	const struct mdc_ext_actual **x;
	size_t n;

	if (!is_std(p))
		return mdc_xstrdup("Free");
	mdc_buf_addf(&b, "Standard|%s|",
	             p->sub_plan && mdc_catalog_plan_has_sub_plan(cp, p->sub_plan) ? p->sub_plan
	                                                                           : "");
	x = known_exts(cp, p, &n);
	for (size_t i = 0; i < n; i++)
		ext_key(&b, x[i]->name, x[i]->enabled, &x[i]->properties);
	free(x);
	return mdc_buf_detach(&b);
}

/* The same text for a desired plan, to check the document against what was read. */
static int cmp_ext_d(const void *a, const void *b)
{
	return strcmp(((const struct mdc_ext_desired *)a)->name,
	              ((const struct mdc_ext_desired *)b)->name);
}

static char *desired_key(const struct mdc_plan_desired *d)
{
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_ext_desired *x;

	if (d->tier != MDC_TIER_STANDARD)
		return mdc_xstrdup("Free");
	mdc_buf_addf(&b, "Standard|%s|", d->sub_plan ? d->sub_plan : "");
	x = mdc_xcalloc(d->nexts + 1, sizeof(*x));
	if (d->nexts)
		memcpy(x, d->exts, d->nexts * sizeof(*x));
	qsort(x, d->nexts, sizeof(*x), cmp_ext_d);
	for (size_t i = 0; i < d->nexts; i++)
		ext_key(&b, x[i].name, x[i].enabled, &x[i].properties);
	free(x);
	return mdc_buf_detach(&b);
}

static int intern(struct field *f, const struct mdc_pricing *p)
{
	char *key = actual_key(f->plan, p);

	for (size_t i = 0; i < f->nv; i++)
		if (!strcmp(f->v[i].key, key)) {
			free(key);
			return (int)i;
		}
	f->v = mdc_xrealloc(f->v, (f->nv + 1) * sizeof(*f->v));
	f->v[f->nv] = (struct pval){key, p, is_std(p)};
	return (int)f->nv++;
}

static bool val_std(const struct ex *x, size_t f, int v)
{
	return f >= F_PLANS && v >= 0 && x->f[f].v[v].standard;
}

/* ---- which subscriptions, and their values ---------------------------------------- */

static bool has_nameable_std(const struct ex *x, const struct mdc_sub_actual *s)
{
	for (size_t i = 0; i < s->npricings; i++) {
		const struct mdc_catalog_plan *cp = mdc_catalog_plan(x->cat, s->pricings[i].name);
		if (cp && !cp->deprecated && is_std(&s->pricings[i]))
			return true;
	}
	return false;
}

static void exclude(struct ex *x, const struct mdc_sub_actual *s, const char *why)
{
	mdc_strvec_push(&x->excl_ids, s->id);
	mdc_strvec_push(&x->excl_why, why);
	mdc_strvec_push_owned(x->warnings,
	                      mdc_xasprintf("subscription '%s' (%s) is excluded: %s", s->id,
	                                    s->display_name ? s->display_name : "no name", why));
}

/* Why a subscription that was read cannot be reproduced, or NULL. */
static const char *irreproducible(const struct ex *x, const struct mdc_sub_actual *s, char **owned)
{
	const struct mdc_connector *k;

	*owned = NULL;
	if (s->error.code) {
		*owned = mdc_xasprintf("it could not be read (%s)",
		                       s->error.message ? s->error.message : "error");
		return *owned;
	}
	if (!s->pricings_read || s->sync_enabled < 0)
		return "its Defender plans or alert sync were not read";
	if (x->tenant_mode)
		return NULL;
	k = mdc_workspace_asc_connector(&x->act->workspace, s->id);
	if (!k)
		return NULL;
	if (!mdc_streq_i(k->alerts_state, "Enabled"))
		return "its AzureSecurityCenter connector has alerts not Enabled, which neither "
		       "connected: true nor false leaves alone";
	if (!has_nameable_std(x, s))
		return "it is connected but no Defender plan the configuration can name is "
		       "Standard, and validation refuses connected: true without one";
	if (s->insights_provider != MDC_PROVIDER_REGISTERED)
		return "it is connected but Microsoft.SecurityInsights is not registered, so "
		       "connected: true would plan a registration";
	return NULL;
}

static void collect(struct ex *x)
{
	const struct mdc_actual *a = x->act;

	/* Fields: connected, sync, then every nameable plan some subscription has Standard. */
	x->nf = F_PLANS + x->cat->nplans;
	x->f = mdc_xcalloc(x->nf, sizeof(*x->f));
	x->f[F_CONNECTED].used = !x->tenant_mode;
	x->f[F_SYNC].used = true;
	for (size_t p = 0; p < x->cat->nplans; p++)
		x->f[F_PLANS + p].plan = &x->cat->plans[p];

	x->subs = mdc_xcalloc(a->nsubs + 1, sizeof(*x->subs));
	for (size_t i = 0; i < a->nsubs; i++) {
		const struct mdc_sub_actual *s = &a->subs[i];
		char *owned;
		const char *why;

		if (!s->pricings_read && !s->error.code)
			continue; /* not selected, or not Enabled: observe did not read it */
		if ((why = irreproducible(x, s, &owned))) {
			exclude(x, s, why);
			free(owned);
			continue;
		}
		x->subs[x->nsubs++].s = s;
	}
	for (size_t k = 0; k < x->nsubs; k++) {
		struct sub *u = &x->subs[k];
		u->val = mdc_xcalloc(x->nf, sizeof(int));
		u->mgval = mdc_xcalloc(x->nf, sizeof(int));
		u->fixed = mdc_xcalloc(x->nf, sizeof(bool));
		u->val[F_CONNECTED] =
		    x->tenant_mode ? 0
		                   : mdc_workspace_asc_connector(&a->workspace, u->s->id) != NULL;
		u->val[F_SYNC] = u->s->sync_enabled == MDC_TRUE;
		for (size_t p = 0; p < x->cat->nplans; p++) {
			const struct mdc_catalog_plan *cp = &x->cat->plans[p];
			const struct mdc_pricing *pr = mdc_sub_pricing(u->s, cp->name);

			u->val[F_PLANS + p] = intern(&x->f[F_PLANS + p], pr);
			if (is_std(pr) && !cp->deprecated)
				x->f[F_PLANS + p].used = true;
		}
	}
}

/* ---- factoring ---------------------------------------------------------------------- */

static size_t nvalues(const struct ex *x, size_t f)
{
	return f < F_PLANS ? 2 : x->f[f].nv;
}

/* The most common value of field f among subs (ties: the lower index). *cnt gets its
 * count; want (>= 0) gets its count in *want_cnt. */
static int dominant(struct ex *x, size_t f, const size_t *subs, size_t n, size_t *cnt, int want,
                    size_t *want_cnt)
{
	size_t nv = nvalues(x, f);
	int best = 0;

	memset(x->count, 0, nv * sizeof(*x->count));
	for (size_t i = 0; i < n; i++)
		x->count[x->subs[subs[i]].val[f]]++;
	for (size_t v = 1; v < nv; v++)
		if (x->count[v] > x->count[best])
			best = (int)v;
	*cnt = (size_t)x->count[best];
	if (want_cnt)
		*want_cnt = want >= 0 ? (size_t)x->count[want] : 0;
	return best;
}

/* Whether settings = defaults with `set` layered over them would be refused by
 * validation: connected true and no plan at Standard. */
static bool refused(const struct ex *x, const int *set)
{
	int conn = set && set[F_CONNECTED] >= 0 ? set[F_CONNECTED] : x->def[F_CONNECTED];

	if (x->tenant_mode || conn != 1)
		return false;
	for (size_t f = F_PLANS; f < x->nf; f++) {
		int v = set && set[f] >= 0 ? set[f] : x->def[f];
		if (x->f[f].used && val_std(x, f, v))
			return false;
	}
	return true;
}

static struct ovr *ovr_new(struct ex *x, int kind, const char *name, const char *tag_value)
{
	struct ovr *o;

	x->ov = mdc_xrealloc(x->ov, (x->nov + 1) * sizeof(*x->ov));
	o = &x->ov[x->nov++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->name = mdc_xstrdup(name);
	o->tag_value = tag_value ? mdc_xstrdup(tag_value) : NULL;
	o->set = mdc_xmalloc(x->nf * sizeof(int));
	for (size_t f = 0; f < x->nf; f++)
		o->set[f] = -1;
	return o;
}

static bool ovr_empty(const struct ex *x, const int *set)
{
	for (size_t f = 0; f < x->nf; f++)
		if (set[f] >= 0)
			return false;
	return true;
}

static size_t node_get(struct ex *x, const char *name, size_t parent)
{
	for (size_t i = 1; i < x->nnodes; i++)
		if (mdc_streq_i(x->nodes[i].name, name))
			return i;
	x->nodes = mdc_xrealloc(x->nodes, (x->nnodes + 1) * sizeof(*x->nodes));
	memset(&x->nodes[x->nnodes], 0, sizeof(*x->nodes));
	x->nodes[x->nnodes].name = mdc_xstrdup(name);
	x->nodes[x->nnodes].parent = parent;
	return x->nnodes++;
}

/* The management-group tree above the subscriptions; node 0 is a virtual root (the
 * defaults). A group is attached below its nearest ancestor. */
static void build_tree(struct ex *x)
{
	x->nodes = mdc_xcalloc(1, sizeof(*x->nodes));
	x->nnodes = 1;
	for (size_t k = 0; k < x->nsubs; k++) {
		const struct mdc_strvec *anc = &x->subs[k].s->ancestors;
		size_t parent = 0;

		/* ancestors are nearest first: walk from the top */
		for (size_t i = anc->n; i-- > 0;) {
			size_t n = node_get(x, anc->v[i], parent);
			parent = n;
		}
		for (size_t n = parent;; n = x->nodes[n].parent) {
			struct node *d = &x->nodes[n];
			MDC_ALLOC_GROW(d->subs, d->nsubs + 1, d->asubs);
			d->subs[d->nsubs++] = k;
			if (!n)
				break;
		}
	}
	for (size_t i = 1; i < x->nnodes; i++) {
		struct node *p = &x->nodes[x->nodes[i].parent];
		MDC_ALLOC_GROW(p->kids, p->nkids + 1, p->akids);
		p->kids[p->nkids++] = i;
		x->nodes[i].depth = x->nodes[x->nodes[i].parent].depth + 1;
	}
}

/* Defaults: the majority of every field. When connected is the majority but no plan's
 * majority is Standard, the plan most often Standard is made Standard in defaults (the
 * subscriptions where it is not get overrides), since validation refuses the other. */
static void choose_defaults(struct ex *x)
{
	struct node *root = &x->nodes[0];
	size_t cnt;

	x->def = mdc_xcalloc(x->nf, sizeof(int));
	for (size_t f = 0; f < x->nf; f++)
		x->def[f] =
		    x->f[f].used ? dominant(x, f, root->subs, root->nsubs, &cnt, -1, NULL) : -1;
	if (refused(x, NULL)) {
		size_t best_f = NONE, best_n = 0;
		int best_v = -1;

		for (size_t f = F_PLANS; f < x->nf; f++) {
			if (!x->f[f].used)
				continue;
			memset(x->count, 0, x->f[f].nv * sizeof(*x->count));
			for (size_t k = 0; k < x->nsubs; k++)
				x->count[x->subs[k].val[f]]++;
			for (size_t v = 0; v < x->f[f].nv; v++)
				if (x->f[f].v[v].standard && (size_t)x->count[v] > best_n) {
					best_n = (size_t)x->count[v];
					best_f = f;
					best_v = (int)v;
				}
		}
		if (best_f != NONE)
			x->def[best_f] = best_v;
		else
			x->def[F_CONNECTED] = 0; /* cannot happen: connected subs have one */
	}
}

/* Group overrides, top down: a group whose subscriptions mostly differ from what they
 * inherit gets an override with the value most of them have. */
static void factor_node(struct ex *x, size_t n, const int *inherited)
{
	struct node *d = &x->nodes[n];
	int *cur = mdc_xmalloc(x->nf * sizeof(int)), *set = mdc_xmalloc(x->nf * sizeof(int));

	memcpy(cur, inherited, x->nf * sizeof(int));
	for (size_t f = 0; f < x->nf; f++)
		set[f] = -1;
	if (n) {
		for (size_t f = 0; f < x->nf; f++) {
			size_t cnt, have;
			int v;

			if (!x->f[f].used)
				continue;
			v = dominant(x, f, d->subs, d->nsubs, &cnt, cur[f], &have);
			if (v != cur[f] && cnt > have && cnt >= 2)
				set[f] = v;
		}
		if (refused(x, set)) {
			/* connected here; name the group's most common Standard plan as well */
			size_t best_f = NONE, best_n = 0;
			int best_v = -1;

			for (size_t f = F_PLANS; f < x->nf; f++) {
				size_t cnt;
				int v;

				if (!x->f[f].used)
					continue;
				v = dominant(x, f, d->subs, d->nsubs, &cnt, -1, NULL);
				if (val_std(x, f, v) && cnt > best_n) {
					best_n = cnt;
					best_f = f;
					best_v = v;
				}
			}
			if (best_f != NONE) {
				set[best_f] = best_v;
			} else {
				/* drop what makes it refused; subscriptions get id overrides */
				set[F_CONNECTED] = -1;
				for (size_t f = F_PLANS; f < x->nf; f++)
					if (set[f] >= 0 && !val_std(x, f, set[f]))
						set[f] = -1;
			}
		}
		if (!ovr_empty(x, set)) {
			struct ovr *o = ovr_new(x, MDC_SEL_MANAGEMENT_GROUP, d->name, NULL);
			memcpy(o->set, set, x->nf * sizeof(int));
			o->nsubs = d->nsubs;
			o->depth = d->depth;
			for (size_t f = 0; f < x->nf; f++)
				if (set[f] >= 0)
					cur[f] = set[f];
		}
	}
	for (size_t k = 0; k < d->nsubs; k++)
		memcpy(x->subs[d->subs[k]].mgval, cur, x->nf * sizeof(int));
	/* deeper groups overwrite mgval of their subscriptions after this */
	for (size_t i = 0; i < d->nkids; i++)
		factor_node(x, d->kids[i], cur);
	free(cur);
	free(set);
}

static bool deviates(const struct ex *x, const struct sub *u, size_t f)
{
	return x->f[f].used && !u->fixed[f] && u->val[f] != u->mgval[f];
}

static bool sub_has_tag(const struct mdc_sub_actual *s, const char *key, const char *value)
{
	return mdc_streq(mdc_kvlist_get(&s->tags, key, true), value);
}

/* Tag overrides: a tag whose subscriptions all have the same value of a field, where
 * at least two of them still differ from what the groups gave them. */
static void factor_tags(struct ex *x)
{
	struct mdc_kvlist seen = {0};
	size_t *members = mdc_xcalloc(x->nsubs + 1, sizeof(*members));

	for (size_t k = 0; k < x->nsubs; k++) {
		const struct mdc_kvlist *t = &x->subs[k].s->tags;
		for (size_t i = 0; i < t->n; i++) {
			size_t nm = 0, covered = 0;
			int *set;
			char *id = mdc_xasprintf("%s\n%s", t->v[i].key, t->v[i].value);
			bool dup = false;

			for (size_t j = 0; j < seen.n && !dup; j++)
				dup = mdc_streq_i(seen.v[j].key, id);
			if (dup) {
				free(id);
				continue;
			}
			mdc_kvlist_set(&seen, id, "", true);
			free(id);
			for (size_t j = 0; j < x->nsubs; j++)
				if (sub_has_tag(x->subs[j].s, t->v[i].key, t->v[i].value))
					members[nm++] = j;
			set = mdc_xmalloc(x->nf * sizeof(int));
			for (size_t f = 0; f < x->nf; f++) {
				int v = x->subs[members[0]].val[f];
				size_t dev = 0;
				bool same = x->f[f].used;

				set[f] = -1;
				for (size_t j = 0; same && j < nm; j++) {
					same = x->subs[members[j]].val[f] == v;
					dev += deviates(x, &x->subs[members[j]], f);
				}
				if (same && dev >= 2) {
					set[f] = v;
					covered += dev;
				}
			}
			if (covered >= 2 && refused(x, set)) {
				if (set[F_CONNECTED] == 1)
					set[F_CONNECTED] = -1;
				for (size_t f = F_PLANS; refused(x, set) && f < x->nf; f++)
					if (set[f] >= 0 && !val_std(x, f, set[f]))
						set[f] = -1;
			}
			if (covered >= 2 && !ovr_empty(x, set)) {
				struct ovr *o = ovr_new(x, MDC_SEL_TAG, t->v[i].key, t->v[i].value);
				memcpy(o->set, set, x->nf * sizeof(int));
				o->nsubs = nm;
				for (size_t f = 0; f < x->nf; f++)
					for (size_t j = 0; set[f] >= 0 && j < nm; j++)
						x->subs[members[j]].fixed[f] = true;
			}
			free(set);
		}
	}
	mdc_kvlist_clear(&seen);
	free(members);
}

/* Id overrides for whatever still differs. */
static void factor_ids(struct ex *x)
{
	for (size_t k = 0; k < x->nsubs; k++) {
		struct sub *u = &x->subs[k];
		struct ovr *o = NULL;

		for (size_t f = 0; f < x->nf; f++) {
			if (!deviates(x, u, f))
				continue;
			if (!o)
				o = ovr_new(x, MDC_SEL_ID, u->s->id, NULL);
			o->set[f] = u->val[f];
		}
		if (!o)
			continue;
		o->nsubs = 1;
		o->comment = u->s->display_name;
		/* its own Standard plan keeps validation's connected check satisfied (the
		 * subscription has one, or it was excluded) */
		for (size_t f = F_PLANS; refused(x, o->set) && f < x->nf; f++)
			if (x->f[f].used && val_std(x, f, u->val[f]))
				o->set[f] = u->val[f];
	}
}

/* ---- writing ------------------------------------------------------------------------ */

static void write_plan_value(struct mdc_buf *b, const struct field *f, int v)
{
	const struct pval *pv = &f->v[v];
	const struct mdc_pricing *p = pv->ex;
	const struct mdc_ext_actual **x;
	size_t n;
	bool sub;

	if (!pv->standard) {
		mdc_buf_adds(b, "Free");
		return;
	}
	sub = p->sub_plan && mdc_catalog_plan_has_sub_plan(f->plan, p->sub_plan);
	x = known_exts(f->plan, p, &n);
	if (!sub && !n) {
		mdc_buf_adds(b, "Standard");
		free(x);
		return;
	}
	mdc_buf_adds(b, "{ tier: Standard");
	if (sub) {
		/* the catalogue's spelling: ARM compares sub-plans case-insensitively */
		for (size_t i = 0; i < f->plan->sub_plans.n; i++)
			if (mdc_streq_i(f->plan->sub_plans.v[i], p->sub_plan))
				mdc_buf_addf(b, ", subPlan: %s", f->plan->sub_plans.v[i]);
	}
	if (n) {
		mdc_buf_adds(b, ", extensions: { ");
		for (size_t i = 0; i < n; i++) {
			const char *name = x[i]->name;
			for (size_t c = 0; c < f->plan->extensions.n; c++)
				if (mdc_streq_i(f->plan->extensions.v[c], name))
					name = f->plan->extensions.v[c];
			mdc_buf_addf(b, "%s%s: ", i ? ", " : "", name);
			if (x[i]->enabled && x[i]->properties.n) {
				struct mdc_kvlist props = {0};

				mdc_kvlist_copy(&props, &x[i]->properties);
				qsort(props.v, props.n, sizeof(*props.v), cmp_kv);
				mdc_buf_adds(b, "{ enabled: true, properties: { ");
				for (size_t k = 0; k < props.n; k++) {
					mdc_buf_adds(b, k ? ", " : "");
					yq(b, props.v[k].key);
					mdc_buf_adds(b, ": ");
					yq(b, props.v[k].value);
				}
				mdc_buf_adds(b, " } }");
				mdc_kvlist_clear(&props);
			} else {
				mdc_buf_adds(b, x[i]->enabled ? "true" : "false");
			}
		}
		mdc_buf_adds(b, " }");
	}
	mdc_buf_adds(b, " }");
	free(x);
}

static void write_settings(struct ex *x, struct mdc_buf *b, const int *set, const char *ind)
{
	bool plans = false;

	if (set[F_CONNECTED] >= 0)
		mdc_buf_addf(b, "%sconnected: %s\n", ind, set[F_CONNECTED] ? "true" : "false");
	if (set[F_SYNC] >= 0)
		mdc_buf_addf(b, "%sbidirectionalSync: %s\n", ind, set[F_SYNC] ? "true" : "false");
	for (size_t f = F_PLANS; f < x->nf; f++) {
		if (set[f] < 0 || !x->f[f].used)
			continue;
		if (!plans)
			mdc_buf_addf(b, "%splans:\n", ind);
		plans = true;
		mdc_buf_addf(b, "%s  %s: ", ind, x->f[f].plan->name);
		write_plan_value(b, &x->f[f], set[f]);
		mdc_buf_addch(b, '\n');
	}
}

static void write_match(struct mdc_buf *b, const struct mdc_match *m)
{
	bool tags = false;

	mdc_buf_adds(b, "{ ");
	for (size_t i = 0, n = 0; i < m->nsel; i++) {
		const struct mdc_selector *s = &m->sel[i];
		if (s->kind == MDC_SEL_TAG)
			continue;
		mdc_buf_adds(b, n++ ? ", " : "");
		if (s->kind == MDC_SEL_ID) {
			mdc_buf_addf(b, "id: %s", s->value);
		} else {
			mdc_buf_adds(b, "managementGroup: ");
			yq(b, s->value);
		}
		tags = true; /* something written: a tag needs a separator */
	}
	for (size_t i = 0, n = 0; i < m->nsel; i++) {
		const struct mdc_selector *s = &m->sel[i];
		if (s->kind != MDC_SEL_TAG)
			continue;
		if (!n++)
			mdc_buf_adds(b, tags ? ", tag: { " : "tag: { ");
		else
			mdc_buf_adds(b, ", ");
		yq(b, s->value);
		mdc_buf_adds(b, ": ");
		yq(b, s->tag_value ? s->tag_value : "");
		if (i + 1 == m->nsel || m->sel[i + 1].kind != MDC_SEL_TAG) {
			bool more = false;
			for (size_t j = i + 1; j < m->nsel; j++)
				more |= m->sel[j].kind == MDC_SEL_TAG;
			if (!more)
				mdc_buf_adds(b, " }");
		}
	}
	mdc_buf_adds(b, " }");
}

/* A plain `id` select entry for sub (it cannot also be excluded by id). */
static bool plain_id_entry(const struct mdc_match *m, const char *id)
{
	return m->nsel == 1 && m->sel[0].kind == MDC_SEL_ID && mdc_streq_i(m->sel[0].value, id);
}

static bool is_excluded(const struct ex *x, const char *id)
{
	return mdc_strvec_find(&x->excl_ids, id, true) >= 0;
}

/* 1-4 dot-separated numbers, as config accepts for a minimum solution version. */
static bool plain_version(const char *s)
{
	int parts = 1;

	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (p == s || !p[1] || p[1] == '.')
				return false;
			parts++;
		} else if (*p < '0' || *p > '9') {
			return false;
		}
	}
	return parts <= 4;
}

static void warn(struct ex *x, struct mdc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(struct ex *x, struct mdc_buf *b, const char *fmt, ...)
{
	struct mdc_buf t = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&t, fmt, ap);
	va_end(ap);
	if (b) {
		mdc_buf_adds(b, "# NOTE: ");
		comment_text(b, t.ptr);
		mdc_buf_addch(b, '\n');
	}
	mdc_strvec_push_owned(x->warnings, mdc_buf_detach(&t));
}

static void write_connector(struct ex *x, struct mdc_buf *b)
{
	const struct mdc_workspace_actual *w = &x->act->workspace;
	const struct mdc_package *inst = mdc_package_find_mdc(w->installed, w->ninstalled);
	const struct mdc_package *cat = mdc_package_find_mdc(w->catalog, w->ncatalog);

	if (!inst || !inst->version)
		warn(x, b,
		     "the Microsoft Defender for Cloud solution is not installed in the "
		     "workspace; connector.solution is unmanaged (set latest to install it)");
	mdc_buf_adds(b, "connector:\n");
	mdc_buf_addf(b, "  mode: %s\n", x->tenant_mode ? "tenant" : "subscription");
	if (!inst || !inst->version) {
		mdc_buf_adds(b, "  solution: unmanaged\n");
	} else if (!cat || !cat->version || mdc_version_cmp(inst->version, cat->version) >= 0) {
		mdc_buf_addf(b, "  solution: latest            # %s installed\n", inst->version);
	} else if (plain_version(inst->version)) {
		mdc_buf_addf(b, "  solution: \"%s\"             # installed; %s is available\n",
		             inst->version, cat->version);
	} else {
		mdc_buf_adds(b, "  solution: unmanaged\n");
		warn(x, NULL,
		     "the installed solution version '%s' is not a plain version; "
		     "connector.solution is unmanaged",
		     inst->version);
	}
}

static void write_rule(struct ex *x, struct mdc_buf *b)
{
	const struct mdc_alert_rule *r = mdc_workspace_mdc_rule(&x->act->workspace);
	static const char *const sev[] = {"High", "Medium", "Low", "Informational"};

	if (!r) {
		warn(x, b,
		     "the workspace has no incident creation rule for Microsoft Defender "
		     "for Cloud alerts; incidentRule is left out (not managed)");
		return;
	}
	mdc_buf_adds(b, "incidentRule:\n");
	mdc_buf_addf(b, "  enabled: %s\n", r->enabled ? "true" : "false");
	if (r->display_name && *r->display_name) {
		mdc_buf_adds(b, "  displayName: ");
		yq(b, r->display_name);
		mdc_buf_addch(b, '\n');
	}
	if (r->severities && (r->severities & MDC_SEV_ALL) != MDC_SEV_ALL) {
		mdc_buf_adds(b, "  severities: [");
		for (unsigned k = 0, n = 0; k < 4; k++)
			if (r->severities & (1u << k))
				mdc_buf_addf(b, "%s%s", n++ ? ", " : "", sev[k]);
		mdc_buf_adds(b, "]\n");
	}
	for (int pass = 0; pass < 2; pass++) {
		const struct mdc_strvec *v = pass ? &r->exclude_names : &r->include_names;
		if (!v->n)
			continue;
		mdc_buf_addf(b, "  %s:\n", pass ? "excludeAlertNames" : "includeAlertNames");
		for (size_t i = 0; i < v->n; i++) {
			mdc_buf_adds(b, "    - ");
			yq(b, v->v[i]);
			mdc_buf_addch(b, '\n');
		}
	}
}

static int cmp_ovr(const void *a, const void *b);

static void write_doc(struct ex *x, struct mdc_buf *b, const struct mdc_export_opts *opts)
{
	const struct mdc_config *sc = x->scope;
	const struct mdc_workspace_actual *w = &x->act->workspace;
	struct mdc_buf t = MDC_BUF_INIT;
	bool all_named = true;
	size_t nsel = 0;

	mdc_buf_addf(b, "# yaml-language-server: $schema=%s\n",
	             opts && opts->schema ? opts->schema : "../schema/mdcctl.schema.json");
	if (opts && opts->now) {
		struct tm tm;
		char ts[32];
		gmtime_r(&opts->now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		mdc_buf_addf(&t, "Exported by mdcctl export at %s", ts);
	} else {
		mdc_buf_adds(&t, "Exported by mdcctl export");
	}
	mdc_buf_addf(&t, " from tenant %s", sc->tenant);
	if (opts && opts->source)
		mdc_buf_addf(&t, " (%s)", opts->source);
	mdc_buf_adds(b, "# ");
	comment_text(b, t.ptr);
	mdc_buf_addf(b, "\n# %zu subscriptions reproduced, %zu excluded; workspace %s/%s/%s.\n",
	             x->nsubs, x->excl_ids.n, w->subscription ? w->subscription : "",
	             w->resource_group ? w->resource_group : "", w->name ? w->name : "");
	mdc_buf_adds(b, "# `mdcctl plan -f` this file shows no changes against the tenant as it "
	                "was read.\n");
	mdc_buf_release(&t);

	mdc_buf_addf(b, "apiVersion: mdcctl/v1\ntenant: %s\n", sc->tenant);
	if (sc->cloud != MDC_CLOUD_AZURE)
		mdc_buf_addf(b, "cloud: %s\n", mdc_cloud_name(sc->cloud));
	mdc_buf_addf(
	    b, "workspace:\n  subscription: %s\n  resourceGroup: ", sc->workspace.subscription);
	yq(b, sc->workspace.resource_group);
	mdc_buf_adds(b, "\n  name: ");
	yq(b, sc->workspace.name);
	mdc_buf_addch(b, '\n');
	write_connector(x, b);

	mdc_buf_adds(b, "subscriptions:\n  select:\n");
	for (size_t i = 0; i < sc->subscriptions.nselect; i++) {
		const struct mdc_match *m = &sc->subscriptions.select[i];
		if (m->nsel == 1 && m->sel[0].kind == MDC_SEL_ID && is_excluded(x, m->sel[0].value))
			continue;
		mdc_buf_adds(b, "    - ");
		write_match(b, m);
		mdc_buf_addch(b, '\n');
		nsel++;
	}
	if (!nsel) /* every selected id was excluded: select nothing that exists */
		mdc_buf_addf(b, "    - { managementGroup: \"%s\" }\n", sc->tenant);
	if (sc->subscriptions.nexclude || x->excl_ids.n)
		mdc_buf_adds(b, "  exclude:\n");
	for (size_t i = 0; i < sc->subscriptions.nexclude; i++) {
		mdc_buf_adds(b, "    - ");
		write_match(b, &sc->subscriptions.exclude[i]);
		mdc_buf_addch(b, '\n');
	}
	for (size_t i = 0; i < x->excl_ids.n; i++) {
		bool selected_by_id = false;
		for (size_t k = 0; k < sc->subscriptions.nselect; k++)
			selected_by_id |=
			    plain_id_entry(&sc->subscriptions.select[k], x->excl_ids.v[i]);
		mdc_buf_adds(b, "    # ");
		comment_text(b, x->excl_why.v[i]);
		mdc_buf_addf(b, "\n    %s{ id: %s }\n", selected_by_id ? "# (not selected) " : "- ",
		             x->excl_ids.v[i]);
	}
	mdc_buf_adds(b, "  unselected: ignore\n");

	mdc_buf_adds(b, "  defaults:\n");
	write_settings(x, b, x->def, "    ");
	for (size_t f = F_PLANS; f < x->nf; f++)
		if (!x->f[f].plan->deprecated && !x->f[f].used)
			all_named = false;
	mdc_buf_addf(b, "    otherPlans: %s\n", all_named ? "free" : "unmanaged");

	if (x->nov) {
		qsort(x->ov, x->nov, sizeof(*x->ov), cmp_ovr);
		mdc_buf_adds(b, "  overrides:\n");
	}
	for (size_t i = 0; i < x->nov; i++) {
		const struct ovr *o = &x->ov[i];

		mdc_buf_adds(b, "    - match: { ");
		if (o->kind == MDC_SEL_ID) {
			mdc_buf_addf(b, "id: %s }", o->name);
			if (o->comment) {
				mdc_buf_adds(b, "   # ");
				comment_text(b, o->comment);
			}
		} else if (o->kind == MDC_SEL_MANAGEMENT_GROUP) {
			mdc_buf_adds(b, "managementGroup: ");
			yq(b, o->name);
			mdc_buf_addf(b, " }   # %zu subscription%s", o->nsubs,
			             o->nsubs == 1 ? "" : "s");
		} else {
			mdc_buf_adds(b, "tag: { ");
			yq(b, o->name);
			mdc_buf_adds(b, ": ");
			yq(b, o->tag_value);
			mdc_buf_addf(b, " } }   # %zu subscription%s", o->nsubs,
			             o->nsubs == 1 ? "" : "s");
		}
		mdc_buf_addch(b, '\n');
		write_settings(x, b, o->set, "      ");
	}
	write_rule(x, b);
}

/* Groups top-down (a parent before its children), then tags, then ids (later entries
 * win), each in a stable order. */
static int cmp_ovr(const void *a, const void *b)
{
	const struct ovr *p = a, *q = b;
	static const int rank[MDC_SEL_MAX] = {
	    [MDC_SEL_MANAGEMENT_GROUP] = 0, [MDC_SEL_TAG] = 1, [MDC_SEL_ID] = 2};

	if (rank[p->kind] != rank[q->kind])
		return rank[p->kind] - rank[q->kind];
	if (p->depth != q->depth)
		return p->depth < q->depth ? -1 : 1;
	if (strcmp(p->name, q->name))
		return strcmp(p->name, q->name);
	return strcmp(p->tag_value ? p->tag_value : "", q->tag_value ? q->tag_value : "");
}

/* ---- the check ---------------------------------------------------------------------- */

/* Parses the document and compares every reproduced subscription's effective settings
 * with what was read. */
static int check(struct ex *x, const char *yaml, struct mdc_error *err)
{
	struct mdc_diags diags = {0};
	struct mdc_config *cfg = NULL;
	int rc = 0;

	if (mdc_config_parse(&cfg, yaml, strlen(yaml), "export", &diags) < 0) {
		struct mdc_buf m = MDC_BUF_INIT;
		for (size_t i = 0; i < diags.n; i++)
			if (diags.v[i].severity == MDC_DIAG_ERROR)
				mdc_buf_addf(&m, "; %u:%u: %s", diags.v[i].pos.line,
				             diags.v[i].pos.col, diags.v[i].message);
		rc = mdc_error_set(err, MDC_EINTERNAL,
		                   "the exported configuration does not validate (a bug)%s", m.ptr);
		mdc_buf_release(&m);
		goto cleanup;
	}
	for (size_t k = 0; k < x->nsubs && !rc; k++) {
		const struct sub *u = &x->subs[k];
		struct mdc_sub_facts f = {u->s->id, &u->s->tags, &u->s->ancestors};
		struct mdc_settings eff = {0};
		const char *bad = NULL;

		if (!mdc_config_selects(cfg, &f)) {
			bad = "selection";
		} else {
			mdc_config_effective(cfg, &f, &eff);
			if (!x->tenant_mode && eff.connected != u->val[F_CONNECTED])
				bad = "connected";
			else if (eff.bidirectional_sync != u->val[F_SYNC])
				bad = "bidirectionalSync";
			for (size_t p = 0; !bad && p < x->cat->nplans; p++) {
				const struct mdc_catalog_plan *cp = &x->cat->plans[p];
				const struct mdc_plan_desired *d =
				    mdc_settings_plan(&eff, cp->name);
				const struct mdc_pricing *pr = mdc_sub_pricing(u->s, cp->name);
				char *want = actual_key(cp, pr), *have = d ? desired_key(d) : NULL;

				if (d ? strcmp(want, have)
				      : eff.other_plans == MDC_OTHER_FREE && !cp->deprecated &&
				            is_std(pr))
					bad = cp->name;
				free(want);
				free(have);
			}
			mdc_settings_clear(&eff);
		}
		if (bad)
			rc = mdc_error_set(err, MDC_EINTERNAL,
			                   "the exported configuration does not reproduce '%s' of "
			                   "subscription '%s' (a bug)",
			                   bad, u->s->id);
	}
	for (size_t i = 0; i < x->excl_ids.n && !rc; i++) {
		const struct mdc_sub_actual *s = mdc_actual_find_sub(x->act, x->excl_ids.v[i]);
		struct mdc_sub_facts f = {s->id, &s->tags, &s->ancestors};
		if (mdc_config_selects(cfg, &f))
			rc = mdc_error_set(err, MDC_EINTERNAL,
			                   "excluded subscription '%s' is still selected (a bug)",
			                   s->id);
	}
cleanup:
	mdc_config_free(cfg);
	mdc_diags_clear(&diags);
	return rc;
}

/* ---- entry points ------------------------------------------------------------------- */

static void ex_free(struct ex *x)
{
	for (size_t f = 0; f < x->nf; f++) {
		for (size_t v = 0; v < x->f[f].nv; v++)
			free(x->f[f].v[v].key);
		free(x->f[f].v);
	}
	free(x->f);
	for (size_t k = 0; k < x->nsubs; k++) {
		free(x->subs[k].val);
		free(x->subs[k].mgval);
		free(x->subs[k].fixed);
	}
	free(x->subs);
	free(x->def);
	for (size_t i = 0; i < x->nov; i++) {
		free(x->ov[i].name);
		free(x->ov[i].tag_value);
		free(x->ov[i].set);
	}
	free(x->ov);
	for (size_t i = 0; i < x->nnodes; i++) {
		free(x->nodes[i].name);
		free(x->nodes[i].subs);
		free(x->nodes[i].kids);
	}
	free(x->nodes);
	mdc_strvec_clear(&x->excl_ids);
	mdc_strvec_clear(&x->excl_why);
	free(x->count);
}

int mdc_export_build(struct mdc_export_result *out, const struct mdc_config *scope,
                     const struct mdc_actual *act, const struct mdc_export_opts *opts,
                     struct mdc_error *err)
{
	struct ex x = {0};
	struct mdc_buf b = MDC_BUF_INIT;
	size_t maxv = 2;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!scope || !act || !scope->tenant || !scope->workspace.subscription)
		return mdc_error_set(err, MDC_EINVALID, "export needs a tenant and a workspace");
	if (act->workspace.error.code || !act->workspace.read)
		return mdc_error_set(err, MDC_EINVALID,
		                     "cannot export without the workspace's Sentinel objects: %s",
		                     act->workspace.error.message ? act->workspace.error.message
		                                                  : "they were not read");
	x.scope = scope;
	x.act = act;
	x.cat = mdc_catalog_builtin();
	x.tenant_mode = scope->connector.mode == MDC_MODE_TENANT;
	x.warnings = &out->warnings;
	if (!act->workspace.onboarded)
		warn(&x, NULL,
		     "workspace '%s' is not onboarded to Microsoft Sentinel: no "
		     "subscription can be connected",
		     act->workspace.name ? act->workspace.name : "");
	collect(&x);
	for (size_t f = 0; f < x.nf; f++)
		if (nvalues(&x, f) > maxv)
			maxv = nvalues(&x, f);
	x.count = mdc_xcalloc(maxv, sizeof(*x.count));
	build_tree(&x);
	if (x.nsubs) {
		choose_defaults(&x);
		factor_node(&x, 0, x.def);
		factor_tags(&x);
		factor_ids(&x);
	} else {
		x.def = mdc_xcalloc(x.nf, sizeof(int));
		for (size_t f = 0; f < x.nf; f++)
			x.def[f] = -1;
		warn(&x, NULL, "no subscription could be reproduced; defaults are empty");
	}
	for (size_t f = F_PLANS; f < x.nf; f++) {
		const struct mdc_catalog_plan *cp = x.f[f].plan;
		bool std = false;
		for (size_t k = 0; k < x.nsubs; k++)
			std |= val_std(&x, f, x.subs[k].val[f]);
		if (cp->deprecated && std)
			warn(&x, NULL,
			     "deprecated plan '%s' is Standard on some subscriptions; it "
			     "cannot be set Standard in a configuration and is left "
			     "unmanaged",
			     cp->name);
	}
	out->nsubs = x.nsubs;
	out->noverrides = x.nov;
	out->nexcluded = x.excl_ids.n;
	write_doc(&x, &b, opts);
	if ((rc = check(&x, b.ptr, err)) < 0) {
		mdc_buf_release(&b);
		mdc_export_result_release(out);
		ex_free(&x);
		return rc;
	}
	out->yaml = mdc_buf_detach(&b);
	ex_free(&x);
	return 0;
}

void mdc_export_result_release(struct mdc_export_result *r)
{
	free(r->yaml);
	mdc_strvec_clear(&r->warnings);
	memset(r, 0, sizeof(*r));
}

/* ---- finding the workspace ---------------------------------------------------------- */

struct wsfind {
	struct mdc_arm *arm;
	const char *tenant;
	struct mdc_export_workspaces *out;
	struct mdc_strvec subs;
	struct mdc_error fatal;
};

struct wsitem {
	struct wsfind *w;
	size_t idx;
};

static int wf_conn_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct wsitem *it = ctx;
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(page, "value"))
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(c, "kind");
		if (cJSON_IsString(k) && mdc_streq_i(k->valuestring, "AzureSecurityCenter"))
			it->w->out->v[it->idx].nasc++;
	}
	return 0;
}

static void wf_conn_done(void *ctx, const struct mdc_error *err)
{
	free(ctx);
}

static char *ws_path(const struct mdc_export_workspace *w)
{
	return mdc_xasprintf(MDC_WORKSPACE_PATH_FMT, w->subscription, w->resource_group, w->name);
}

static void wf_onboard_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct wsitem *it = ctx;
	struct mdc_export_workspace *w = &it->w->out->v[it->idx];
	struct mdc_error e = MDC_ERROR_INIT;
	char *path, *base;

	/* 404: not onboarded; other errors (the provider not registered, 403): unknown */
	w->onboarded = !err ? MDC_TRUE : status == 404 ? MDC_FALSE : MDC_UNSET;
	if (err) {
		free(it);
		return;
	}
	base = ws_path(w);
	path = mdc_xasprintf("%s/providers/" MDC_NS_INSIGHTS "/dataConnectors", base);
	free(base);
	if (mdc_arm_list(it->w->arm, path, MDC_API_INSIGHTS, NULL, w->subscription, wf_conn_page,
	                 wf_conn_done, it, &e) < 0)
		free(it);
	free(path);
	mdc_error_clear(&e);
}

static int wf_ws_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct wsfind *f = ctx;
	const cJSON *w;

	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(page, "value"))
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(w, "id");
		char sub[37], rg[128], name[128];
		struct mdc_export_workspace *e;

		/* /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{n}
		 */
		if (!cJSON_IsString(id) ||
		    sscanf(id->valuestring,
		           "/subscriptions/%36[^/]/resourceGroups/%127[^/]/providers/"
		           "%*[^/]/workspaces/%127[^/]",
		           sub, rg, name) != 3 ||
		    !mdc_guid_normalize(sub, sub))
			continue;
		f->out->v = mdc_xrealloc(f->out->v, (f->out->n + 1) * sizeof(*f->out->v));
		e = &f->out->v[f->out->n++];
		memset(e, 0, sizeof(*e));
		e->subscription = mdc_xstrdup(sub);
		e->resource_group = mdc_xstrdup(rg);
		e->name = mdc_xstrdup(name);
		e->onboarded = MDC_UNSET;
	}
	return 0;
}

static void wf_ws_done(void *ctx, const struct mdc_error *err)
{
	(void)ctx; /* a subscription that refuses the list has no workspace for us */
}

static int wf_subs_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct wsfind *f = ctx;
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(page, "value"))
	{
		const char *tid =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "tenantId"));
		const char *id =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "subscriptionId"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "state"));
		char g[37];

		if (id && mdc_guid_normalize(id, g) && (!tid || mdc_streq_i(tid, f->tenant)) &&
		    mdc_streq_i(st, "Enabled"))
			mdc_strvec_push(&f->subs, g);
	}
	return 0;
}

static void wf_subs_done(void *ctx, const struct mdc_error *err)
{
	struct wsfind *f = ctx;

	if (err && !f->fatal.code) {
		f->fatal.code = err->code ? err->code : MDC_EINTERNAL;
		f->fatal.message = mdc_xasprintf("cannot list the subscriptions: %s",
		                                 err->message ? err->message : "error");
	}
}

int mdc_export_find_workspaces(struct mdc_export_workspaces *out, struct mdc_arm *arm,
                               const char *tenant, struct mdc_error *err)
{
	struct wsfind f = {arm, tenant, out, {0}, MDC_ERROR_INIT};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mdc_arm_list(arm, "/subscriptions", MDC_API_SUBSCRIPTIONS, NULL, NULL,
	                       wf_subs_page, wf_subs_done, &f, err)) < 0 ||
	    (rc = mdc_arm_run(arm, err)) < 0)
		goto cleanup;
	if (f.fatal.code) {
		rc = f.fatal.code;
		mdc_error_move(err, &f.fatal);
		goto cleanup;
	}
	for (size_t i = 0; i < f.subs.n; i++) {
		char *path = mdc_xasprintf("/subscriptions/%s/providers/"
		                           "Microsoft.OperationalInsights/workspaces",
		                           f.subs.v[i]);
		struct mdc_error e = MDC_ERROR_INIT;
		/* api-version 2023-09-01: a standard ARM list (UNCERTAIN which release is
		 * newest; every release since 2020 has the same shape) */
		mdc_arm_list(arm, path, "2023-09-01", NULL, f.subs.v[i], wf_ws_page, wf_ws_done, &f,
		             &e);
		mdc_error_clear(&e);
		free(path);
	}
	if ((rc = mdc_arm_run(arm, err)) < 0)
		goto cleanup;
	for (size_t i = 0; i < out->n; i++) {
		struct wsitem *it = mdc_xcalloc(1, sizeof(*it));
		char *path = ws_path(&out->v[i]), *p2;
		struct mdc_error e = MDC_ERROR_INIT;

		it->w = &f;
		it->idx = i;
		p2 = mdc_xasprintf("%s/providers/" MDC_NS_INSIGHTS "/onboardingStates/default",
		                   path);
		if (mdc_arm_call(arm, "GET", p2, MDC_API_INSIGHTS, NULL, out->v[i].subscription,
		                 wf_onboard_done, it, &e) < 0)
			free(it);
		mdc_error_clear(&e);
		free(path);
		free(p2);
	}
	rc = mdc_arm_run(arm, err);
cleanup:
	mdc_strvec_clear(&f.subs);
	mdc_error_clear(&f.fatal);
	if (rc < 0)
		mdc_export_workspaces_release(out);
	return rc;
}

const struct mdc_export_workspace *mdc_export_pick_workspace(const struct mdc_export_workspaces *w)
{
	const struct mdc_export_workspace *on = NULL, *asc = NULL;
	size_t non = 0, nasc = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].onboarded != MDC_TRUE)
			continue;
		non++;
		on = &w->v[i];
		if (w->v[i].nasc) {
			nasc++;
			asc = &w->v[i];
		}
	}
	if (non == 1)
		return on;
	if (nasc == 1)
		return asc;
	return NULL;
}

void mdc_export_workspaces_release(struct mdc_export_workspaces *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].subscription);
		free(w->v[i].resource_group);
		free(w->v[i].name);
	}
	free(w->v);
	memset(w, 0, sizeof(*w));
}
