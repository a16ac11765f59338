/*
 * mdcctl drift: a plan that writes nothing, for cron jobs. The ARM client is opened
 * read-only (it refuses every method but GET), so this code path has no write capability.
 *
 * Every item of the plan that would change something is sorted into one of:
 *   drift       Azure changed away from the configuration: the item is the same with the
 *               baseline configuration (the one last applied) as with today's;
 *   pending     the configuration changed since the baseline and this item follows from
 *               that change (it is absent from, or different in, the baseline's plan);
 *   unreadable  a read failed, so nothing can be said (an error, never drift).
 * Without a baseline (--last-plan or --since-commit) every change is drift.
 *
 * Exit: 1 on any error (unreadable objects, a failed ingest query), else 2 when something
 * drifted (or, with --verify-ingest, a connected subscription is silent), else 0.
 * Pending changes alone exit 0: the pipeline that applies the configuration owns them.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "common.h"
#include "azure.h"
#include "gitsrc.h"
#include "ingest.h"
#include "notify.h"
#include "plan.h"
#include "render.h"
#include "session.h"
#include "banned.h"

enum {
	OPT_FORMAT = OPT_COMMON_MAX,
	OPT_IGNORE,
	OPT_SINCE,
	OPT_LAST_PLAN,
	OPT_VERIFY,
	OPT_NOTIFY,
	OPT_LA_ENDPOINT
};
enum { FMT_TEXT, FMT_JSON, FMT_MARKDOWN }; /* as cli_parse_format */

static const struct option options[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"ignore", required_argument, NULL, OPT_IGNORE},
    {"since-commit", required_argument, NULL, OPT_SINCE},
    {"last-plan", required_argument, NULL, OPT_LAST_PLAN},
    {"verify-ingest", optional_argument, NULL, OPT_VERIFY},
    {"notify", required_argument, NULL, OPT_NOTIFY},
    {"loganalytics-endpoint", required_argument, NULL, OPT_LA_ENDPOINT},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: mdcctl drift (-f FILE | --git URL --git-path PATH) [options]\n"
    "\n"
    "Reads Azure (GET only: nothing is ever written) and reports what differs from the\n"
    "configuration: drift (Azure changed) apart from pending configuration changes (the\n"
    "configuration changed since the baseline). Exit 0 when Azure matches, 2 when it\n"
    "drifted, 1 on error.\n"
    "\n"
    "      --format FMT          text (default), json or markdown\n"
    "      --ignore PATTERN      leave out items whose id matches the glob (repeatable),\n"
    "                            e.g. 'sub/*/pricing/Dns', 'workspace/*', 'ingest/*'\n"
    "      --last-plan PLANFILE  baseline: the saved plan last applied (its config digest\n"
    "                            and git commit)\n"
    "      --since-commit SHA    baseline: the configuration at this commit (of --git, or\n"
    "                            of the git work tree holding FILE)\n"
    "      --verify-ingest[=DAYS]  also check that Defender for Cloud alerts reached the\n"
    "                            workspace from every connected subscription (default 7)\n"
    "      --loganalytics-endpoint URL  Log Analytics API (env\n"
    "                            MDCCTL_LOGANALYTICS_ENDPOINT; default from the cloud)\n"
    "      --notify URL          POST a JSON summary to this webhook when drift is "
    "found\n" CLI_COMMON_HELP;

struct drift_opts {
	struct cli_common c;
	int fmt;
	struct mdc_strvec ignore;
	const char *since_commit, *last_plan, *notify, *la_endpoint;
	int ingest_days; /* 0 = no ingest check */
};

struct ingest_report {
	bool done;
	int days;
	char *endpoint;
	char *customer_id;
	struct mdc_strvec connected, silent;
	struct mdc_ingest_result *res;
	char *error;
};

struct report {
	struct mdc_plan *plan;      /* today's configuration x Azure */
	struct mdc_plan *base_plan; /* the baseline's configuration x Azure, or NULL */
	char *baseline;             /* "last plan FILE (commit ...)", or NULL */
	cJSON *baseline_json;
	size_t *drift, *pending, *unreadable; /* item indices */
	size_t ndrift, npending, nunreadable, nignored;
	struct ingest_report ing;
	const struct mdc_actual *act;
};

static char *lower(const char *s)
{
	char *l = mdc_xstrdup(s);
	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

/* Item ids match --ignore globs case-insensitively ('*' also matches '/'); the patterns
 * are stored lower-cased. */
static bool ignored(const struct drift_opts *o, const char *id)
{
	char *l = lower(id);
	bool hit = false;

	for (size_t i = 0; i < o->ignore.n && !hit; i++)
		hit = !fnmatch(o->ignore.v[i], l, 0);
	free(l);
	return hit;
}

/* Whether two plan items (same id) would write the same thing. */
static bool same_effect(const struct mdc_plan_item *a, const struct mdc_plan_item *b)
{
	if (a->action != b->action || !mdc_streq(a->req.method, b->req.method) ||
	    !mdc_streq(a->req.path, b->req.path) || !mdc_streq(a->req.body, b->req.body) ||
	    a->nchanges != b->nchanges)
		return false;
	for (size_t i = 0; i < a->nchanges; i++)
		if (!mdc_streq(a->changes[i].field, b->changes[i].field) ||
		    !mdc_streq(a->changes[i].after, b->changes[i].after))
			return false;
	return true;
}

static void classify(struct report *r, const struct drift_opts *o)
{
	const struct mdc_plan *p = r->plan;

	r->drift = mdc_xcalloc(p->nitems + 1, sizeof(size_t));
	r->pending = mdc_xcalloc(p->nitems + 1, sizeof(size_t));
	r->unreadable = mdc_xcalloc(p->nitems + 1, sizeof(size_t));
	for (size_t i = 0; i < p->nitems; i++) {
		const struct mdc_plan_item *it = &p->items[i], *old;

		if (it->action == MDC_ACT_NOOP && !it->blocked)
			continue;
		if (ignored(o, it->id)) {
			r->nignored++;
			continue;
		}
		if (it->action == MDC_ACT_NOOP) { /* blocked without an action: a read failed */
			r->unreadable[r->nunreadable++] = i;
			continue;
		}
		old = r->base_plan ? mdc_plan_find(r->base_plan, it->id) : NULL;
		if (r->base_plan && (!old || !same_effect(old, it)))
			r->pending[r->npending++] = i;
		else
			r->drift[r->ndrift++] = i;
	}
}

/* Counted as render.h says: a blocked item only as blocked. */
static void count_item(struct mdc_plan_counts *c, const struct mdc_plan_item *it)
{
	if (it->blocked)
		c->blocked++;
	else if (it->action == MDC_ACT_CREATE)
		c->add++;
	else if (it->action == MDC_ACT_DELETE)
		c->remove++;
	else if (it->action == MDC_ACT_NOOP)
		c->noop++;
	else
		c->change++;
}

/* A plan holding only the listed items of p (shallow: strings stay p's), with counts
 * recomputed, for the renderers. Free with view_free. */
static struct mdc_plan *view_new(const struct mdc_plan *p, const size_t *idx, size_t n)
{
	struct mdc_plan *v = mdc_xmalloc(sizeof(*v));

	*v = *p;
	v->items = mdc_xcalloc(n + 1, sizeof(*v->items));
	v->nitems = n;
	v->notes = NULL;
	v->nnotes = 0;
	v->subs = mdc_xcalloc(p->nsubs + 1, sizeof(*v->subs));
	v->nsubs = 0;
	memset(&v->counts, 0, sizeof(v->counts));
	for (size_t i = 0; i < n; i++) {
		const struct mdc_plan_item *it = &p->items[idx[i]];
		struct mdc_plan_counts *sc = NULL;

		v->items[i] = *it;
		if (it->subscription) {
			for (size_t k = 0; k < v->nsubs && !sc; k++)
				if (mdc_streq_i(v->subs[k].id, it->subscription))
					sc = &v->subs[k].counts;
			for (size_t k = 0; k < p->nsubs && !sc; k++)
				if (mdc_streq_i(p->subs[k].id, it->subscription)) {
					v->subs[v->nsubs] = p->subs[k];
					memset(&v->subs[v->nsubs].counts, 0, sizeof(*sc));
					sc = &v->subs[v->nsubs++].counts;
				}
		}
		count_item(&v->counts, it);
		if (sc)
			count_item(sc, it);
	}
	return v;
}

static void view_free(struct mdc_plan *v)
{
	if (!v)
		return;
	free(v->items);
	free(v->subs);
	free(v);
}

/* --- the baseline ---------------------------------------------------------------------- */

/* The git work tree holding file: *root (the directory with .git) and *rel (file's path
 * inside it), new strings. Returns 0 or -1 (message printed). */
static int worktree_of(const char *file, char **root, char **rel)
{
	char abs[PATH_MAX], dir[PATH_MAX];
	size_t n;

	if (!strcmp(file, "-") || !realpath(file, abs)) {
		fprintf(stderr, "mdcctl: error: --since-commit: cannot resolve '%s'\n", file);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", abs);
	while ((n = strlen(dir)) > 1) {
		char probe[PATH_MAX + 8];
		char *slash = strrchr(dir, '/');

		if (!slash)
			break;
		*slash = '\0';
		if (!*dir)
			snprintf(dir, sizeof(dir), "/");
		snprintf(probe, sizeof(probe), "%s%s.git", dir, strcmp(dir, "/") ? "/" : "");
		if (access(probe, F_OK) == 0) {
			n = strlen(dir);
			*root = mdc_xstrdup(dir);
			*rel = mdc_xstrdup(abs + n + (strcmp(dir, "/") ? 1 : 0));
			return 0;
		}
		if (!strcmp(dir, "/"))
			break;
	}
	fprintf(stderr,
	        "mdcctl: error: '%s' is not in a git work tree (needed to read it at "
	        "an earlier commit; or use --git)\n",
	        file);
	return -1;
}

/* Reads the configuration at commit from the same git source as today's. */
static int config_at(struct mdc_config **out, const struct drift_opts *o, const char *commit)
{
	const struct cli_common *c = &o->c;
	char *root = NULL, *rel = NULL;
	struct mdc_gitsrc_opts go = {
	    .url = c->git_url,
	    .ref = commit,
	    .path = c->git_path,
	    .cache_dir = c->git_cache,
	    .ca_file = c->ca_file,
	    .token = getenv("MDCCTL_GIT_TOKEN"),
	};
	struct mdc_gitsrc_result res = MDC_GITSRC_RESULT_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_diags diags = {0};
	int rc = EXIT_OK;

	if (!c->git_url) {
		if (worktree_of(c->file, &root, &rel) < 0)
			return EXIT_FAIL;
		go.url = root;
		go.path = rel;
	}
	if (mdc_gitsrc_read(&res, &go, &err) < 0) {
		mdc_error_prefix(&err, "cannot read the baseline configuration");
		cli_report(&err);
		rc = EXIT_FAIL;
		goto cleanup;
	}
	if (mdc_config_parse(out, res.data.ptr, res.data.len, go.path, &diags) < 0) {
		fprintf(stderr, "mdcctl: error: the configuration at commit %.12s is not valid:\n",
		        res.commit);
		cli_print_diags(stderr, go.path, &diags);
		rc = EXIT_FAIL;
	}
cleanup:
	mdc_diags_clear(&diags);
	mdc_gitsrc_result_release(&res);
	mdc_error_clear(&err);
	free(root);
	free(rel);
	return rc;
}

/* Chooses the baseline configuration: *base is NULL when there is none or when it is
 * today's (same digest), in which case there is nothing pending. */
static int baseline(struct report *r, struct mdc_config **base, const struct drift_opts *o,
                    const struct cli_session *s)
{
	struct mdc_buf data = MDC_BUF_INIT;
	struct mdc_plan *last = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	const char *commit = o->since_commit;
	int rc = EXIT_OK;

	*base = NULL;
	if (o->last_plan) {
		if (mdc_buf_read_file(&data, o->last_plan, 64u << 20) < 0) {
			fprintf(stderr, "mdcctl: error: cannot read '%s': %s\n", o->last_plan,
			        strerror(errno));
			rc = EXIT_FAIL;
			goto cleanup;
		}
		if (mdc_plan_from_json(&last, data.ptr, data.len, &err) < 0) {
			mdc_error_prefix(&err, "'%s'", o->last_plan);
			cli_report(&err);
			rc = EXIT_FAIL;
			goto cleanup;
		}
		if (!mdc_streq_i(last->tenant, s->cfg->tenant)) {
			fprintf(stderr, "mdcctl: error: '%s' is a plan for tenant '%s', not '%s'\n",
			        o->last_plan, last->tenant ? last->tenant : "", s->cfg->tenant);
			rc = EXIT_FAIL;
			goto cleanup;
		}
		r->baseline_json = cJSON_CreateObject();
		cJSON_AddStringToObject(r->baseline_json, "kind", "last-plan");
		cJSON_AddStringToObject(r->baseline_json, "file", o->last_plan);
		if (last->config_digest)
			cJSON_AddStringToObject(r->baseline_json, "config_digest",
			                        last->config_digest);
		if (last->git_commit)
			cJSON_AddStringToObject(r->baseline_json, "git_commit", last->git_commit);
		r->baseline = mdc_xasprintf("last plan %s (config %.19s%s%.12s)", o->last_plan,
		                            last->config_digest ? last->config_digest : "?",
		                            last->git_commit ? ", commit " : "",
		                            last->git_commit ? last->git_commit : "");
		if (mdc_streq(last->config_digest, s->cfg->digest))
			goto cleanup; /* the same configuration: nothing pending */
		if (!last->git_commit) {
			fprintf(
			    stderr,
			    "mdcctl: error: the configuration changed since '%s' (config %s, now "
			    "%s) and the plan records no git commit to read the earlier "
			    "configuration from: cannot tell pending changes from drift (give "
			    "--since-commit, or take the configuration from git)\n",
			    o->last_plan, last->config_digest ? last->config_digest : "(none)",
			    s->cfg->digest);
			rc = EXIT_FAIL;
			goto cleanup;
		}
		commit = last->git_commit;
	} else if (commit) {
		r->baseline_json = cJSON_CreateObject();
		cJSON_AddStringToObject(r->baseline_json, "kind", "commit");
		cJSON_AddStringToObject(r->baseline_json, "git_commit", commit);
		r->baseline = mdc_xasprintf("commit %s", commit);
	}
	if (commit) {
		rc = config_at(base, o, commit);
		if (rc == EXIT_OK && r->baseline_json)
			cJSON_AddStringToObject(r->baseline_json, "baseline_config_digest",
			                        (*base)->digest);
		if (rc == EXIT_OK && mdc_streq((*base)->digest, s->cfg->digest)) {
			mdc_config_free(*base);
			*base = NULL;
		}
	}
cleanup:
	mdc_plan_free(last);
	mdc_buf_release(&data);
	mdc_error_clear(&err);
	return rc;
}

/* --- Log Analytics ---------------------------------------------------------------------- */

static int verify_ingest(struct report *r, const struct drift_opts *o, struct cli_session *s)
{
	struct ingest_report *g = &r->ing;
	const char *ep = o->la_endpoint ? o->la_endpoint : getenv("MDCCTL_LOGANALYTICS_ENDPOINT");
	struct mdc_auth *la = NULL;
	struct mdc_http *http = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	char *ws = NULL;
	int rc = EXIT_OK;

	g->days = o->ingest_days;
	g->endpoint = mdc_xstrdup(ep && *ep ? ep : mdc_ingest_default_endpoint(s->cfg->cloud));
	mdc_ingest_connected(&g->connected, r->act);
	ws = mdc_xasprintf(MDC_WORKSPACE_PATH_FMT, s->cfg->workspace.subscription,
	                   s->cfg->workspace.resource_group, s->cfg->workspace.name);
	if (mdc_ingest_customer_id(&g->customer_id, s->arm, ws, &err) < 0)
		goto fail;
	if (cli_session_auth(s, s->cfg, g->endpoint, &la) != EXIT_OK) {
		g->error = mdc_xstrdup("no credential for Log Analytics");
		rc = EXIT_FAIL;
		goto cleanup;
	}
	if (mdc_http_new(&http,
	                 &(struct mdc_http_opts){
	                     .ca_file = s->opt->ca_file,
	                     .parallelism = 1,
	                     .user_agent = "mdcctl/" MDCCTL_VERSION,
	                     .verbose = s->opt->verbose > 1 ? 2 : s->opt->verbose,
	                     .log = cli_log_line,
	                 },
	                 &err) < 0 ||
	    mdc_ingest_query(&g->res, http, g->endpoint, g->customer_id, g->days,
	                     mdc_auth_authorize, la, &err) < 0)
		goto fail;
	mdc_ingest_silent(&g->silent, &g->connected, g->res);
	g->done = true;
	goto cleanup;
fail:
	cli_report(&err);
	g->error = mdc_xstrdup(err.message ? err.message : "failed");
	rc = EXIT_FAIL;
cleanup:
	mdc_http_free(http);
	mdc_auth_free(la);
	mdc_error_clear(&err);
	free(ws);
	return rc;
}

/* Silent subscriptions not matched by --ignore 'ingest/<id>'; the others are added to
 * *nignored. */
static size_t count_silent(const struct report *r, const struct drift_opts *o, size_t *nignored)
{
	size_t n = 0;

	for (size_t i = 0; i < r->ing.silent.n; i++) {
		char *id = mdc_xasprintf("ingest/%s", r->ing.silent.v[i]);
		if (ignored(o, id))
			(*nignored)++;
		else
			n++;
		free(id);
	}
	return n;
}

static const char *sub_name(const struct report *r, const char *id)
{
	const struct mdc_sub_actual *s = mdc_actual_find_sub(r->act, id);
	return s ? s->display_name : NULL;
}

/* --- output ------------------------------------------------------------------------------ */

/* The text renderer's item list for a view: without its two header lines and its final
 * summary line (drift prints its own). */
static void items_text(struct mdc_buf *out, const struct mdc_plan *p, const size_t *idx, size_t n,
                       bool color)
{
	struct mdc_plan *v = view_new(p, idx, n);
	struct mdc_buf b = MDC_BUF_INIT;
	const char *s, *end;

	mdc_render_text(&b, v, &(struct mdc_render_opts){.color = color});
	s = b.ptr;
	for (int i = 0; i < 2 && strchr(s, '\n'); i++)
		s = strchr(s, '\n') + 1;
	end = b.ptr + b.len;
	if (end > s && end[-1] == '\n')
		end--;
	while (end > s && end[-1] != '\n') /* the summary line */
		end--;
	while (end > s + 1 && end[-1] == '\n' && end[-2] == '\n')
		end--;
	while (s < end && *s == '\n')
		s++;
	mdc_buf_add(out, s, (size_t)(end - s));
	mdc_buf_release(&b);
	view_free(v);
}

static void notes_text(struct mdc_buf *out, const struct mdc_plan *p)
{
	if (!p->nnotes)
		return;
	mdc_buf_adds(out, "\nNotes:\n");
	for (size_t i = 0; i < p->nnotes; i++) {
		mdc_buf_addf(out, "  %s", mdc_note_level_name(p->notes[i].level));
		if (p->notes[i].subscription) {
			mdc_buf_adds(out, " (");
			mdc_sanitize_term(out, p->notes[i].subscription);
			mdc_buf_addch(out, ')');
		}
		mdc_buf_adds(out, ": ");
		mdc_sanitize_term(out, p->notes[i].message);
		mdc_buf_addch(out, '\n');
	}
}

static void summary_line(struct mdc_buf *out, const struct report *r, size_t silent)
{
	mdc_buf_addf(out, "Drift: %zu drifted, %zu pending, %zu unreadable", r->ndrift, r->npending,
	             r->nunreadable);
	if (r->ing.done)
		mdc_buf_addf(out, ", %zu silent", silent);
	mdc_buf_addf(out, ", %zu ignored.", r->nignored);
}

static void render_text(struct mdc_buf *out, const struct report *r, const struct drift_opts *o,
                        size_t silent)
{
	const struct mdc_plan *p = r->plan;
	bool color = cli_use_color(&o->c, STDOUT_FILENO);

	mdc_buf_adds(out, "mdcctl drift for workspace ");
	mdc_sanitize_term(out, p->workspace);
	mdc_buf_adds(out, "\nconfig ");
	mdc_sanitize_term(out, p->config_digest);
	if (p->git_commit) {
		mdc_buf_adds(out, ", commit ");
		mdc_sanitize_term(out, p->git_commit);
	}
	mdc_buf_adds(out, ", checked ");
	mdc_plan_format_time(out, p->created_at);
	mdc_buf_adds(out, "\nbaseline: ");
	mdc_sanitize_term(out, r->baseline ? r->baseline : "none (every difference is drift)");
	mdc_buf_addf(out, "\n\nDrift (Azure changed away from the configuration): %zu\n",
	             r->ndrift);
	if (r->ndrift)
		items_text(out, p, r->drift, r->ndrift, color);
	if (r->base_plan || r->npending) {
		mdc_buf_addf(out, "\nPending configuration changes (not applied yet): %zu\n",
		             r->npending);
		if (r->npending)
			items_text(out, p, r->pending, r->npending, color);
	}
	if (r->nunreadable) {
		mdc_buf_addf(out, "\nUnreadable (cannot tell whether they drifted): %zu\n",
		             r->nunreadable);
		items_text(out, p, r->unreadable, r->nunreadable, color);
	}
	if (r->ing.done) {
		mdc_buf_addf(out,
		             "\nIngestion: %zu of %zu connected subscriptions sent no Defender for "
		             "Cloud alert in %d days\n",
		             silent, r->ing.connected.n, r->ing.days);
		for (size_t i = 0; i < r->ing.silent.n; i++) {
			char *id = mdc_xasprintf("ingest/%s", r->ing.silent.v[i]);
			const char *name = sub_name(r, r->ing.silent.v[i]);

			if (!ignored(o, id)) {
				mdc_buf_adds(out, "  ! silent ");
				if (name) {
					mdc_sanitize_term(out, name);
					mdc_buf_addch(out, ' ');
				}
				mdc_buf_addf(out, "(%s)\n", r->ing.silent.v[i]);
			}
			free(id);
		}
	}
	notes_text(out, p);
	mdc_buf_addch(out, '\n');
	summary_line(out, r, silent);
	mdc_buf_addch(out, '\n');
}

static void items_markdown(struct mdc_buf *out, const struct mdc_plan *p, const size_t *idx,
                           size_t n, size_t limit)
{
	struct mdc_plan *v = view_new(p, idx, n);
	struct mdc_buf b = MDC_BUF_INIT;
	const char *s;

	mdc_render_markdown(
	    &b, v,
	    &(struct mdc_render_opts){.markdown_limit = limit,
	                              .full_plan_hint = "mdcctl drift --format json"});
	/* drop the plan heading: "### mdcctl plan", the summary and the Config line */
	s = b.ptr;
	for (int i = 0; i < 3 && strstr(s, "\n\n"); i++)
		s = strstr(s, "\n\n") + 2;
	mdc_buf_adds(out, s);
	mdc_buf_release(&b);
	view_free(v);
}

static void render_markdown(struct mdc_buf *out, const struct report *r, const struct drift_opts *o,
                            size_t silent)
{
	const struct mdc_plan *p = r->plan;
	/* three lists share the comment limit, with room for the rest */
	size_t limit = (MDC_RENDER_MARKDOWN_LIMIT - 8000) / 3;

	mdc_buf_adds(out, "### mdcctl drift\n\n**");
	summary_line(out, r, silent);
	mdc_buf_adds(out, "**\n\nConfig ");
	mdc_sanitize_markdown(out, p->config_digest);
	if (p->git_commit) {
		mdc_buf_adds(out, " at commit ");
		mdc_sanitize_markdown(out, p->git_commit);
	}
	mdc_buf_adds(out, ", baseline: ");
	mdc_sanitize_markdown(out, r->baseline ? r->baseline : "none");
	mdc_buf_addf(out, "\n\n#### Drift (Azure changed away from the configuration): %zu\n\n",
	             r->ndrift);
	if (r->ndrift)
		items_markdown(out, p, r->drift, r->ndrift, limit);
	if (r->base_plan || r->npending) {
		mdc_buf_addf(out, "\n#### Pending configuration changes: %zu\n\n", r->npending);
		if (r->npending)
			items_markdown(out, p, r->pending, r->npending, limit);
	}
	if (r->nunreadable) {
		mdc_buf_addf(out, "\n#### Unreadable: %zu\n\n", r->nunreadable);
		items_markdown(out, p, r->unreadable, r->nunreadable, limit);
	}
	if (r->ing.done) {
		size_t shown = 0;

		mdc_buf_addf(out,
		             "\n#### Ingestion: %zu of %zu connected subscriptions silent "
		             "for %d days\n\n",
		             silent, r->ing.connected.n, r->ing.days);
		for (size_t i = 0; i < r->ing.silent.n && shown < 200; i++) {
			char *id = mdc_xasprintf("ingest/%s", r->ing.silent.v[i]);
			const char *name = sub_name(r, r->ing.silent.v[i]);

			if (!ignored(o, id)) {
				mdc_buf_adds(out, "- ");
				if (name) {
					mdc_sanitize_markdown(out, name);
					mdc_buf_addch(out, ' ');
				}
				mdc_buf_addf(out, "`%s`\n", r->ing.silent.v[i]);
				shown++;
			}
			free(id);
		}
		if (shown < silent)
			mdc_buf_addf(out, "- and %zu more\n", silent - shown);
	}
}

static cJSON *items_json(const struct mdc_plan *p, const size_t *idx, size_t n)
{
	struct mdc_plan *v = view_new(p, idx, n);
	char *json = mdc_plan_to_json(v);
	cJSON *root = cJSON_Parse(json), *items;

	items = cJSON_DetachItemFromObjectCaseSensitive(root, "items");
	cJSON_Delete(root);
	free(json);
	view_free(v);
	return items ? items : cJSON_CreateArray();
}

static void jstr(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void render_json(struct mdc_buf *out, const struct report *r, const struct drift_opts *o,
                        size_t silent)
{
	const struct mdc_plan *p = r->plan;
	cJSON *root = cJSON_CreateObject(), *counts;
	struct mdc_buf t = MDC_BUF_INIT;
	char *s;

	cJSON_AddNumberToObject(root, "format_version", 1);
	mdc_plan_format_time(&t, p->created_at);
	jstr(root, "checked_at", t.ptr);
	jstr(root, "tenant", p->tenant);
	jstr(root, "workspace", p->workspace);
	jstr(root, "config_digest", p->config_digest);
	jstr(root, "git_commit", p->git_commit);
	if (r->baseline_json)
		cJSON_AddItemToObject(root, "baseline", cJSON_Duplicate(r->baseline_json, true));
	else
		cJSON_AddNullToObject(root, "baseline");
	counts = cJSON_AddObjectToObject(root, "counts");
	cJSON_AddNumberToObject(counts, "drift", (double)r->ndrift);
	cJSON_AddNumberToObject(counts, "pending", (double)r->npending);
	cJSON_AddNumberToObject(counts, "unreadable", (double)r->nunreadable);
	cJSON_AddNumberToObject(counts, "silent", (double)silent);
	cJSON_AddItemToObject(root, "drift", items_json(p, r->drift, r->ndrift));
	cJSON_AddItemToObject(root, "pending", items_json(p, r->pending, r->npending));
	cJSON_AddItemToObject(root, "unreadable", items_json(p, r->unreadable, r->nunreadable));
	cJSON_AddNumberToObject(root, "ignored", (double)r->nignored);
	if (r->ing.done || r->ing.error) {
		cJSON *g = cJSON_AddObjectToObject(root, "ingest"), *a;

		cJSON_AddNumberToObject(g, "days", r->ing.days);
		jstr(g, "endpoint", r->ing.endpoint);
		jstr(g, "workspace_id", r->ing.customer_id);
		jstr(g, "error", r->ing.error);
		a = cJSON_AddArrayToObject(g, "connected");
		for (size_t i = 0; i < r->ing.connected.n; i++) {
			const struct mdc_ingest_row *row =
			    mdc_ingest_find(r->ing.res, r->ing.connected.v[i]);
			cJSON *e = cJSON_CreateObject();

			jstr(e, "subscription", r->ing.connected.v[i]);
			jstr(e, "display_name", sub_name(r, r->ing.connected.v[i]));
			cJSON_AddNumberToObject(e, "alerts", row ? (double)row->count : 0);
			jstr(e, "last_seen", row ? row->last_seen : NULL);
			cJSON_AddItemToArray(a, e);
		}
		a = cJSON_AddArrayToObject(g, "silent");
		for (size_t i = 0; i < r->ing.silent.n; i++) {
			char *id = mdc_xasprintf("ingest/%s", r->ing.silent.v[i]);
			if (!ignored(o, id))
				cJSON_AddItemToArray(a, cJSON_CreateString(r->ing.silent.v[i]));
			free(id);
		}
	} else {
		cJSON_AddNullToObject(root, "ingest");
	}
	cJSON_AddItemToObject(root, "notes", mdc_plan_notes_to_json(p));
	s = cJSON_Print(root);
	mdc_buf_adds(out, s);
	mdc_buf_addch(out, '\n');
	free(s);
	cJSON_Delete(root);
	mdc_buf_release(&t);
}

static void notify(const struct report *r, const struct drift_opts *o, size_t silent)
{
	struct mdc_strvec ids = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	char *payload;

	for (size_t i = 0; i < r->ndrift; i++)
		mdc_strvec_push(&ids, r->plan->items[r->drift[i]].id);
	for (size_t i = 0; i < r->ing.silent.n; i++) {
		char *id = mdc_xasprintf("ingest/%s", r->ing.silent.v[i]);
		if (!ignored(o, id))
			mdc_strvec_push(&ids, id);
		free(id);
	}
	for (size_t i = 0; i < r->npending; i++)
		mdc_strvec_push(&ids, r->plan->items[r->pending[i]].id);
	payload = mdc_notify_payload(&(struct mdc_notify_summary){
	    .tenant = r->plan->tenant,
	    .workspace = r->plan->workspace,
	    .commit = r->plan->git_commit,
	    .drift = r->ndrift,
	    .pending = r->npending,
	    .silent = silent,
	    .ids = &ids,
	});
	if (mdc_notify_post(o->notify, payload,
	                    &(struct mdc_notify_opts){.ca_file = o->c.ca_file,
	                                              .user_agent = "mdcctl/" MDCCTL_VERSION},
	                    &err) < 0)
		fprintf(stderr, "mdcctl: warning: %s (the exit status is unchanged)\n",
		        err.message);
	else if (o->c.verbose)
		fprintf(stderr, "mdcctl: notified %zu drifted item(s)\n", r->ndrift);
	free(payload);
	mdc_strvec_clear(&ids);
	mdc_error_clear(&err);
}

/* --- the command -------------------------------------------------------------------------- */

static int parse_args(struct drift_opts *o, int argc, char **argv)
{
	int opt;
	char *end;
	long n;

	cli_common_init(&o->c);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, options, NULL)) != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (cli_parse_format("drift", optarg, &o->fmt))
				return EXIT_USAGE;
			break;
		case OPT_IGNORE:
			mdc_strvec_push_owned(&o->ignore, lower(optarg));
			break;
		case OPT_SINCE:
			o->since_commit = optarg;
			break;
		case OPT_LAST_PLAN:
			o->last_plan = optarg;
			break;
		case OPT_VERIFY:
			o->ingest_days = 7;
			if (optarg) {
				n = strtol(optarg, &end, 10);
				if (*end || n < 1 || n > 3650)
					return cli_usage(
					    "drift",
					    "--verify-ingest takes days from 1 to 3650, "
					    "not '%s'",
					    optarg);
				o->ingest_days = (int)n;
			}
			break;
		case OPT_NOTIFY:
			if (strncmp(optarg, "https://", 8) && strncmp(optarg, "http://", 7))
				return cli_usage("drift", "--notify needs an http(s) URL");
			o->notify = optarg;
			break;
		case OPT_LA_ENDPOINT:
			o->la_endpoint = optarg;
			break;
		case '?':
			return cli_option_error("drift", argv, CLI_COMMON_SHORTOPTS);
		default:
			if (cli_common_option(&o->c, "drift", opt, optarg) <= 0)
				return EXIT_USAGE;
		}
	}
	if (o->c.help)
		return EXIT_OK;
	if (optind < argc)
		return cli_usage("drift", "unexpected argument '%s'", argv[optind]);
	if (o->since_commit && o->last_plan)
		return cli_usage("drift", "give either --since-commit or --last-plan, not both");
	if (cli_common_check(&o->c, "drift", true) < 0)
		return EXIT_USAGE;
	return EXIT_OK;
}

int cmd_drift(int argc, char **argv)
{
	struct drift_opts o = {0};
	struct cli_session s = {0};
	struct report r = {0};
	struct mdc_actual *act = NULL;
	struct mdc_config *base = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_buf b = MDC_BUF_INIT;
	time_t now = time(NULL);
	size_t silent = 0;
	int rc, ingest_rc = EXIT_OK;

	if ((rc = parse_args(&o, argc, argv)) != EXIT_OK)
		goto cleanup;
	if (o.c.help) {
		fputs(usage_text, stdout);
		goto cleanup;
	}
	if ((rc = cli_session_load(&s, &o.c, "drift")) != EXIT_OK)
		goto cleanup;
	if ((rc = baseline(&r, &base, &o, &s)) != EXIT_OK)
		goto cleanup;
	/* read_only: the ARM client refuses every method but GET */
	if ((rc = cli_session_connect(&s, s.cfg, true)) != EXIT_OK ||
	    (rc = cli_session_observe(&s, NULL, &act)) != EXIT_OK)
		goto cleanup;
	r.act = act;
	if (mdc_plan_build(&r.plan, s.cfg, act,
	                   &(struct mdc_plan_opts){.now = now, .git_commit = s.git_commit},
	                   &err) < 0 ||
	    (base && mdc_plan_build(&r.base_plan, base, act, &(struct mdc_plan_opts){.now = now},
	                            &err) < 0)) {
		cli_report(&err);
		rc = EXIT_FAIL;
		goto cleanup;
	}
	classify(&r, &o);
	if (o.ingest_days) {
		ingest_rc = verify_ingest(&r, &o, &s);
		silent = count_silent(&r, &o, &r.nignored);
	}
	if (o.fmt == FMT_JSON)
		render_json(&b, &r, &o, silent);
	else if (o.fmt == FMT_MARKDOWN)
		render_markdown(&b, &r, &o, silent);
	else
		render_text(&b, &r, &o, silent);
	/* out before the webhook call; a write error fails the run in main */
	cli_write_stdout(b.ptr, b.len);
	if (o.notify && (r.ndrift || silent))
		notify(&r, &o, silent);
	if (r.nunreadable || ingest_rc != EXIT_OK)
		rc = EXIT_FAIL;
	else
		rc = r.ndrift || silent ? EXIT_CHANGES : EXIT_OK;
cleanup:
	mdc_buf_release(&b);
	mdc_plan_free(r.plan);
	mdc_plan_free(r.base_plan);
	free(r.baseline);
	cJSON_Delete(r.baseline_json);
	free(r.drift);
	free(r.pending);
	free(r.unreadable);
	free(r.ing.endpoint);
	free(r.ing.customer_id);
	free(r.ing.error);
	mdc_strvec_clear(&r.ing.connected);
	mdc_strvec_clear(&r.ing.silent);
	mdc_ingest_result_free(r.ing.res);
	mdc_config_free(base);
	mdc_actual_free(act);
	mdc_error_clear(&err);
	mdc_strvec_clear(&o.ignore);
	cli_session_close(&s);
	return rc;
}
