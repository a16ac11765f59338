/*
 * The apply engine (apply.h): the plan's requests, in dependency order, over the ARM
 * client's parallelism; per-item retries that ARM's semantics call for (pricing 409s,
 * stale etags, provider registration polling); freshness checks of saved plans; the
 * resume file; the per-workspace lock.
 */
#include "apply.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "actual.h"
#include "armjson.h"
#include "azure.h"
#include "buf.h"
#include "crypto.h"
#include "banned.h"

#define DEFAULT_POLL_MS             5000
#define DEFAULT_REGISTER_TIMEOUT_MS 300000
#define DEFAULT_CONFLICT_WAIT_MS    5000
#define DEFAULT_CONFLICT_RETRIES    6
#define RESUME_FORMAT_VERSION       1

static const char *const status_names[MDC_APPLY_STATUS_MAX] = {
    "none", "blocked", "done", "pending", "running", "applied", "unchanged", "failed", "skipped"};

const char *mdc_apply_status_name(enum mdc_apply_status s)
{
	return (unsigned)s < MDC_APPLY_STATUS_MAX ? status_names[s] : "?";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The subscription id in an ARM path ("/subscriptions/<id>/..."), into out (37 bytes);
 * empty when there is none. It is the throttling budget a call spends. */
static const char *path_sub(const char *path, char out[37])
{
	static const char pre[] = "/subscriptions/";
	size_t n = 0;

	out[0] = '\0';
	if (!path || strncasecmp(path, pre, sizeof(pre) - 1))
		return NULL;
	path += sizeof(pre) - 1;
	while (path[n] && path[n] != '/' && n < 36)
		n++;
	memcpy(out, path, n);
	out[n] = '\0';
	return n ? out : NULL;
}

/* ---- the dependency graph (shared by mdc_apply and mdc_apply_schedule) ------------- */

struct graph {
	size_t n;
	bool *runs;          /* applies and not done before */
	size_t *left;        /* unmet dependencies of a running item */
	size_t **dependents; /* running items waiting for this one */
	size_t *ndependents;
	size_t *blocked_dep; /* a blocked dependency (its index), or (size_t)-1 */
};

static const struct mdc_plan *sort_plan; /* qsort has no context argument */

static int cmp_idx_by_id(const void *x, const void *y)
{
	return strcmp(sort_plan->items[*(const size_t *)x].id,
	              sort_plan->items[*(const size_t *)y].id);
}

static size_t find_idx(const struct mdc_plan *p, const size_t *sorted, const char *id)
{
	size_t lo = 0, hi = p->nitems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->items[sorted[mid]].id, id);
		if (!c)
			return sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (size_t)-1;
}

static void graph_build(struct graph *g, const struct mdc_plan *p, const bool *done)
{
	size_t *sorted = mdc_xcalloc(p->nitems + 1, sizeof(*sorted));

	g->n = p->nitems;
	g->runs = mdc_xcalloc(g->n + 1, sizeof(*g->runs));
	g->left = mdc_xcalloc(g->n + 1, sizeof(*g->left));
	g->dependents = mdc_xcalloc(g->n + 1, sizeof(*g->dependents));
	g->ndependents = mdc_xcalloc(g->n + 1, sizeof(*g->ndependents));
	g->blocked_dep = mdc_xcalloc(g->n + 1, sizeof(*g->blocked_dep));
	for (size_t i = 0; i < g->n; i++) {
		sorted[i] = i;
		g->runs[i] = mdc_plan_item_applies(&p->items[i]) && !(done && done[i]);
		g->blocked_dep[i] = (size_t)-1;
	}
	sort_plan = p;
	qsort(sorted, g->n, sizeof(*sorted), cmp_idx_by_id);
	sort_plan = NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct mdc_plan_item *it = &p->items[i];
		if (!g->runs[i])
			continue;
		for (size_t d = 0; d < it->depends_on.n; d++) {
			size_t j = find_idx(p, sorted, it->depends_on.v[d]);
			if (j == (size_t)-1 || j == i)
				continue; /* unknown: nothing to wait for */
			if (!g->runs[j]) {
				/* A noop or finished dependency is satisfied; a blocked one
				 * never will be (the planner blocks such items itself, but a
				 * saved plan may have been edited). */
				if (p->items[j].blocked && g->blocked_dep[i] == (size_t)-1)
					g->blocked_dep[i] = j;
				continue;
			}
			g->dependents[j] = mdc_xrealloc(
			    g->dependents[j], (g->ndependents[j] + 1) * sizeof(**g->dependents));
			g->dependents[j][g->ndependents[j]++] = i;
			g->left[i]++;
		}
	}
	free(sorted);
}

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->dependents[i]);
	free(g->dependents);
	free(g->ndependents);
	free(g->left);
	free(g->runs);
	free(g->blocked_dep);
	memset(g, 0, sizeof(*g));
}

size_t mdc_apply_schedule(size_t *order, const struct mdc_plan *plan, const bool *done,
                          const bool *failed, bool *skipped)
{
	struct graph g;
	size_t *queue, head = 0, tail = 0, n = 0;
	bool *gone;

	graph_build(&g, plan, done);
	queue = mdc_xcalloc(g.n + 1, sizeof(*queue));
	gone = mdc_xcalloc(g.n + 1, sizeof(*gone));
	if (skipped)
		memset(skipped, 0, g.n * sizeof(*skipped));
	for (size_t i = 0; i < g.n; i++) {
		if (g.runs[i] && g.blocked_dep[i] != (size_t)-1) {
			gone[i] = true;
			if (skipped)
				skipped[i] = true;
		}
	}
	/* Skipping spreads along dependents before anything runs. */
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < g.n; i++)
			if (gone[i])
				for (size_t k = 0; k < g.ndependents[i]; k++)
					if (!gone[g.dependents[i][k]]) {
						gone[g.dependents[i][k]] = again = true;
						if (skipped)
							skipped[g.dependents[i][k]] = true;
					}
	}
	for (size_t i = 0; i < g.n; i++)
		if (g.runs[i] && !gone[i] && !g.left[i])
			queue[tail++] = i;
	while (head < tail) {
		size_t i = queue[head++];
		order[n++] = i;
		if (failed && failed[i]) {
			/* Every item that (transitively) waits for i is skipped. */
			size_t *stack = mdc_xcalloc(g.n + 1, sizeof(*stack)), sp = 0;
			stack[sp++] = i;
			while (sp) {
				size_t j = stack[--sp];
				for (size_t k = 0; k < g.ndependents[j]; k++) {
					size_t d = g.dependents[j][k];
					if (gone[d])
						continue;
					gone[d] = true;
					if (skipped)
						skipped[d] = true;
					stack[sp++] = d;
				}
			}
			free(stack);
			continue;
		}
		for (size_t k = 0; k < g.ndependents[i]; k++) {
			size_t d = g.dependents[i][k];
			if (!gone[d] && --g.left[d] == 0)
				queue[tail++] = d;
		}
	}
	free(queue);
	free(gone);
	graph_free(&g);
	return n;
}

/* ---- the engine ------------------------------------------------------------------- */

enum phase {
	PH_WRITE,   /* the item's request */
	PH_POLL,    /* provider: GET until Registered */
	PH_REREAD,  /* Sentinel object: GET after a 409 */
	PH_REWRITE, /* Sentinel object: the PUT after the re-read */
	PH_PREREAD, /* pricing: GET before writing extensions after a tier change */
};

struct engine;

struct node {
	struct engine *e;
	size_t idx;
	const struct mdc_plan_item *it;
	enum mdc_apply_status status;
	enum phase phase;
	int conflicts;      /* 409s answered so far */
	long long deadline; /* provider registration bound */
	char *path;         /* the write target (a redirected connector create), or NULL */
	char *body;         /* the body to send (a new etag), or NULL for the plan's */
	bool deferred;      /* a pricing write waiting for its subscription to be free */
};

struct engine {
	struct mdc_arm *arm;
	const struct mdc_plan *plan;
	struct mdc_apply_opts o;
	struct graph g;
	struct node *nodes;
	struct mdc_apply_result *res;
	struct mdc_strvec busy; /* subscriptions with a pricing write in flight */
	/* AzureSecurityCenter connectors of the workspace, listed before connector creates. */
	struct mdc_workspace_actual ws;
	bool ws_listed;
	struct mdc_error ws_err;
};

static void emit(struct engine *e, struct node *n, enum mdc_apply_status st, const char *msg)
{
	if (e->o.progress)
		e->o.progress(e->o.progress_ctx, &(struct mdc_apply_event){
		                                     .item = n->it, .status = st, .message = msg});
}

static const char *node_path(const struct node *n)
{
	return n->path ? n->path : n->it->req.path;
}

static const char *node_body(const struct node *n)
{
	return n->body ? n->body : n->it->req.body;
}

static void start_node(struct engine *e, struct node *n);
static void send_request(struct node *n, const char *method, const char *path, const char *body);

static void set_result(struct node *n, enum mdc_apply_status st, const char *msg,
                       const struct mdc_error *err)
{
	struct mdc_apply_item_result *r = &n->e->res->items[n->idx];

	n->status = st;
	r->status = st;
	free(r->message);
	r->message = msg ? mdc_xstrdup(msg) : NULL;
	if (err) {
		r->http_status = err->http_status;
		free(r->request_id);
		r->request_id = err->request_id ? mdc_xstrdup(err->request_id) : NULL;
	}
}

static void release_busy(struct engine *e, struct node *n)
{
	long k;

	if (n->it->kind != MDC_ITEM_PRICING || !n->it->subscription)
		return;
	k = mdc_strvec_find(&e->busy, n->it->subscription, true);
	if (k < 0)
		return;
	free(e->busy.v[k]);
	e->busy.v[k] = e->busy.v[--e->busy.n];
	/* A pricing item of the same subscription that found it busy can go now. */
	for (size_t i = 0; i < e->g.n; i++) {
		struct node *m = &e->nodes[i];
		if (m->deferred && mdc_streq_i(m->it->subscription, n->it->subscription)) {
			m->deferred = false;
			start_node(e, m);
			return;
		}
	}
}

static void skip_dependents(struct engine *e, struct node *n)
{
	for (size_t k = 0; k < e->g.ndependents[n->idx]; k++) {
		struct node *d = &e->nodes[e->g.dependents[n->idx][k]];
		char *msg;
		if (d->status != MDC_APPLY_PENDING)
			continue;
		msg = mdc_xasprintf("skipped: %s %s", n->it->id,
		                    n->status == MDC_APPLY_FAILED ? "failed" : "was skipped");
		set_result(d, MDC_APPLY_SKIPPED, msg, NULL);
		emit(e, d, MDC_APPLY_SKIPPED, msg);
		free(msg);
		skip_dependents(e, d);
	}
}

/* The item is finished: record it, tell the caller, and release or skip what waits. */
static void finish(struct node *n, enum mdc_apply_status st, const char *msg,
                   const struct mdc_error *err)
{
	struct engine *e = n->e;

	set_result(n, st, msg, err);
	emit(e, n, st, msg);
	release_busy(e, n);
	if (st == MDC_APPLY_FAILED) {
		skip_dependents(e, n);
		return;
	}
	for (size_t k = 0; k < e->g.ndependents[n->idx]; k++) {
		struct node *d = &e->nodes[e->g.dependents[n->idx][k]];
		if (d->status == MDC_APPLY_PENDING && --e->g.left[d->idx] == 0)
			start_node(e, d);
	}
}

static void fail(struct node *n, const struct mdc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct node *n, const struct mdc_error *err, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (err && err->message)
		mdc_buf_addf(&b, "%s%s", b.len ? ": " : "", err->message);
	finish(n, MDC_APPLY_FAILED, b.ptr, err);
	mdc_buf_release(&b);
}

static void fire_timer(void *ctx);

/* Sends the node's next request ms from now, from inside the transport's loop, so that
 * a wait (a poll interval, a 409 back-off) holds up nothing else. */
static void set_timer(struct node *n, int ms)
{
	mdc_http_timer(mdc_arm_http(n->e->arm), ms, fire_timer, n);
}

/* ---- comparing an object with a request's after-state ----------------------------- */

/* True if every value in want is in have (objects: key by key; arrays: the same
 * elements in any order; strings case-insensitively, since ARM echoes GUIDs and enum
 * values in either case; null matches null or absent). */
static bool subset(const cJSON *want, const cJSON *have)
{
	const cJSON *w, *h;

	if (!want || cJSON_IsNull(want))
		return !have || cJSON_IsNull(have);
	if (!have)
		return false;
	if (cJSON_IsObject(want)) {
		if (!cJSON_IsObject(have))
			return false;
		cJSON_ArrayForEach(w, want) if (!subset(w, cJSON_GetObjectItemCaseSensitive(
		                                               have, w->string))) return false;
		return true;
	}
	if (cJSON_IsArray(want)) {
		if (!cJSON_IsArray(have) || cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
			return false;
		cJSON_ArrayForEach(w, want)
		{
			bool found = false;
			cJSON_ArrayForEach(h, have) if (subset(w, h))
			{
				found = true;
				break;
			}
			if (!found)
				return false;
		}
		return true;
	}
	if (cJSON_IsString(want))
		return cJSON_IsString(have) && !strcasecmp(want->valuestring, have->valuestring);
	if (cJSON_IsBool(want))
		return cJSON_IsBool(have) && cJSON_IsTrue(want) == cJSON_IsTrue(have);
	if (cJSON_IsNumber(want))
		return cJSON_IsNumber(have) && want->valuedouble == have->valuedouble;
	return false;
}

/* Whether the object read (have) already is what the request (body text) would make. */
static bool matches_after(const char *body, const cJSON *have)
{
	cJSON *want = body ? cJSON_Parse(body) : NULL;
	bool ok;

	if (!want)
		return false;
	ok = subset(cJSON_GetObjectItemCaseSensitive(want, "kind"),
	            cJSON_GetObjectItemCaseSensitive(have, "kind")) &&
	     subset(cJSON_GetObjectItemCaseSensitive(want, "properties"),
	            cJSON_GetObjectItemCaseSensitive(have, "properties"));
	cJSON_Delete(want);
	return ok;
}

/* body with its etag replaced (etag NULL: removed), as new compact text. */
static char *with_etag(const char *body, const char *etag)
{
	cJSON *b = body ? cJSON_Parse(body) : cJSON_CreateObject();
	char *t, *out;

	if (!b)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(b, "etag");
	if (etag)
		cJSON_AddStringToObject(b, "etag", etag);
	t = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	if (!t)
		abort(); /* out of memory */
	out = mdc_xstrdup(t);
	cJSON_free(t);
	return out;
}

static bool is_sentinel(const struct mdc_plan_item *it)
{
	return it->kind == MDC_ITEM_CONNECTOR || it->kind == MDC_ITEM_INCIDENT_RULE ||
	       it->kind == MDC_ITEM_SOLUTION;
}

/* A 409 that re-reading cannot fix: the provider is not registered (reference §6.2). */
static bool is_registration_conflict(const struct mdc_error *err)
{
	return err && err->arm_code &&
	       !strcasecmp(err->arm_code, "MissingSubscriptionRegistration");
}

/* ---- completions ------------------------------------------------------------------ */

/* The extensions whose operationStatus.code is Failed, "'A': msg; 'B': msg", or NULL. */
static char *failed_extensions(const cJSON *body)
{
	const cJSON *exts = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(body, "properties"), "extensions");
	const cJSON *x;
	struct mdc_buf b = MDC_BUF_INIT;

	cJSON_ArrayForEach(x, exts)
	{
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(x, "operationStatus");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(st, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(st, "message");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");
		if (!cJSON_IsString(code) || strcasecmp(code->valuestring, "Failed"))
			continue;
		mdc_buf_addf(&b, "%sextension '%s' failed: %s", b.len ? "; " : "",
		             cJSON_IsString(name) ? name->valuestring : "?",
		             cJSON_IsString(msg) ? msg->valuestring : "no message");
	}
	return b.len ? mdc_buf_detach(&b) : NULL;
}

/* True for the second write of a Free -> Standard change: the extensions' PUT. */
static bool writes_extensions_after_tier(const struct mdc_plan_item *it)
{
	size_t n = strlen(it->id);
	return it->kind == MDC_ITEM_PRICING && n > 11 && !strcmp(it->id + n - 11, "/extensions");
}

/*
 * The extension list changes when a plan turns Standard (Azure enables some by default;
 * reference §2.6-§2.7), and whether a PUT keeps the extensions it leaves out is not
 * documented. So the extensions' PUT carries the list as read right before it, with the
 * planned extensions replacing theirs: none is dropped by omission. Properties of a
 * disabled extension are not sent (a 500 otherwise, §2.7).
 */
char *mdc_apply_merge_extensions(const char *planned, const cJSON *read)
{
	cJSON *want = cJSON_Parse(planned), *wext, *it;
	const cJSON *rext = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(read, "properties"), "extensions");
	char *out = NULL, *text;

	wext = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(want, "properties"), "extensions");
	if (!cJSON_IsArray(wext) || !cJSON_IsArray(rext))
		goto done;
	cJSON_ArrayForEach(it, rext)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(it, "isEnabled");
		const cJSON *props =
		    cJSON_GetObjectItemCaseSensitive(it, "additionalExtensionProperties");
		const cJSON *w;
		bool planned_already = false;
		cJSON *x;

		if (!cJSON_IsString(name))
			continue;
		cJSON_ArrayForEach(w, wext)
		{
			const cJSON *wn = cJSON_GetObjectItemCaseSensitive(w, "name");
			if (cJSON_IsString(wn) && !strcasecmp(wn->valuestring, name->valuestring))
				planned_already = true;
		}
		if (planned_already)
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", name->valuestring);
		cJSON_AddStringToObject(x, "isEnabled",
		                        cJSON_IsString(en) ? en->valuestring : "False");
		if (cJSON_IsObject(props) && cJSON_IsString(en) &&
		    !strcasecmp(en->valuestring, "True"))
			cJSON_AddItemToObject(x, "additionalExtensionProperties",
			                      cJSON_Duplicate(props, 1));
		cJSON_AddItemToArray(wext, x);
	}
	text = cJSON_PrintUnformatted(want);
	out = text ? mdc_xstrdup(text) : NULL;
	cJSON_free(text);
done:
	cJSON_Delete(want);
	return out;
}

static void pricing_done(struct node *n, int status, const cJSON *body, const struct mdc_error *err)
{
	struct engine *e = n->e;
	int retries = e->o.conflict_retries > 0 ? e->o.conflict_retries : DEFAULT_CONFLICT_RETRIES;
	int wait = e->o.conflict_wait_ms > 0 ? e->o.conflict_wait_ms : DEFAULT_CONFLICT_WAIT_MS;
	char *bad;

	if (n->phase == PH_PREREAD) {
		char *merged;
		if (err) {
			fail(n, err, "%s", "cannot read the plan before writing its extensions");
			return;
		}
		merged = mdc_apply_merge_extensions(node_body(n), body);
		if (merged) {
			free(n->body);
			n->body = merged;
		}
		n->phase = PH_WRITE;
		send_request(n, n->it->req.method, node_path(n), node_body(n));
		return;
	}
	if (err && status == 409 && !is_registration_conflict(err) && n->conflicts < retries) {
		/* Another pricing write of this subscription is in flight (reference §2.7);
		 * it settles within seconds, so wait and PUT again. */
		char *msg = mdc_xasprintf("409 Conflict: another pricing update is in progress; "
		                          "retrying in %d ms (%d/%d)",
		                          wait, n->conflicts + 1, retries);
		n->conflicts++;
		emit(e, n, MDC_APPLY_RUNNING, msg);
		free(msg);
		set_timer(n, wait);
		return;
	}
	if (err) {
		fail(n, err, "%s", n->conflicts ? "gave up after repeated 409 Conflict" : "");
		return;
	}
	bad = failed_extensions(body);
	if (bad) {
		/* HTTP success is not all extensions applied (reference §2.6). */
		struct mdc_error e2 = {MDC_EHTTP, status, NULL, NULL, NULL};
		finish(n, MDC_APPLY_FAILED, bad, &e2);
		free(bad);
		return;
	}
	finish(n, MDC_APPLY_APPLIED, NULL, NULL);
}

static void provider_done(struct node *n, int status, const cJSON *body,
                          const struct mdc_error *err)
{
	struct engine *e = n->e;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(body, "registrationState");
	int poll = e->o.poll_interval_ms > 0 ? e->o.poll_interval_ms : DEFAULT_POLL_MS;
	int bound =
	    e->o.register_timeout_ms > 0 ? e->o.register_timeout_ms : DEFAULT_REGISTER_TIMEOUT_MS;

	if (err && n->phase == PH_WRITE && (status == 0 || status >= 500) && n->conflicts < 3) {
		/* The transport does not retry a POST that may have reached the server, but
		 * register is idempotent (reference §6.2): send it again. */
		n->conflicts++;
		emit(e, n, MDC_APPLY_RUNNING, err->message);
		set_timer(n, poll);
		return;
	}
	if (err) {
		fail(n, err, "%s", n->phase == PH_POLL ? "cannot read the registration state" : "");
		return;
	}
	if (cJSON_IsString(st) && !strcasecmp(st->valuestring, "Registered")) {
		finish(n, MDC_APPLY_APPLIED, NULL, NULL);
		return;
	}
	if (n->phase == PH_WRITE) {
		n->phase = PH_POLL;
		n->deadline = now_ms() + bound;
	} else if (now_ms() >= n->deadline) {
		char *msg = mdc_xasprintf("%s still %s after %d s", MDC_NS_INSIGHTS,
		                          cJSON_IsString(st) ? st->valuestring : "not Registered",
		                          (bound + 999) / 1000);
		finish(n, MDC_APPLY_FAILED, msg, NULL);
		free(msg);
		return;
	}
	set_timer(n, poll);
}

static void sentinel_done(struct node *n, int status, const cJSON *body,
                          const struct mdc_error *err)
{
	const struct mdc_plan_item *it = n->it;
	bool del = !strcmp(it->req.method, "DELETE");

	if (n->phase == PH_REREAD) {
		if (err && status != 404) {
			fail(n, err, "409 Conflict, then cannot re-read the object");
			return;
		}
		if (del) {
			if (status == 404) {
				finish(n, MDC_APPLY_UNCHANGED, "already deleted", NULL);
				return;
			}
			n->phase = PH_REWRITE;
			send_request(n, "DELETE", node_path(n), NULL);
			return;
		}
		if (!err && matches_after(node_body(n), body)) {
			finish(n, MDC_APPLY_UNCHANGED,
			       "changed concurrently, and now already as desired", NULL);
			return;
		}
		/* Re-plan this one item: the same after-state, on top of what is there now. */
		{
			const cJSON *etag = cJSON_GetObjectItemCaseSensitive(body, "etag");
			char *nb = with_etag(
			    node_body(n), !err && cJSON_IsString(etag) ? etag->valuestring : NULL);
			free(n->body);
			n->body = nb;
		}
		n->phase = PH_REWRITE;
		send_request(n, it->req.method, node_path(n), node_body(n));
		return;
	}
	if (err && del && status == 404) {
		finish(n, MDC_APPLY_UNCHANGED, "already deleted", NULL);
		return;
	}
	if (err && status == 409 && !is_registration_conflict(err)) {
		if (n->phase == PH_REWRITE) {
			fail(n, err, "409 Conflict again after re-reading the object");
			return;
		}
		/* A stale etag: someone changed the object since it was read (§4.4). */
		n->conflicts++;
		n->phase = PH_REREAD;
		emit(n->e, n, MDC_APPLY_RUNNING,
		     "409 Conflict (stale etag): re-reading the object");
		send_request(n, "GET", node_path(n), NULL);
		return;
	}
	if (err) {
		fail(n, err, "%s", "");
		return;
	}
	finish(n, MDC_APPLY_APPLIED, n->path ? "updated the connector that already existed" : NULL,
	       NULL);
}

static void call_done(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct node *n = ctx;

	switch (n->it->kind) {
	case MDC_ITEM_PRICING:
		pricing_done(n, status, body, err);
		break;
	case MDC_ITEM_PROVIDER:
		provider_done(n, status, body, err);
		break;
	default:
		if (is_sentinel(n->it))
			sentinel_done(n, status, body, err);
		else if (err)
			fail(n, err, "%s", "");
		else
			finish(n, MDC_APPLY_APPLIED, NULL, NULL);
	}
}

static void send_request(struct node *n, const char *method, const char *path, const char *body)
{
	struct mdc_error err = MDC_ERROR_INIT;
	char sub[37];

	if (mdc_arm_call(n->e->arm, method, path, n->it->req.api_version, body, path_sub(path, sub),
	                 call_done, n, &err) < 0)
		fail(n, &err, "%s", "");
	mdc_error_clear(&err);
}

/* Before a connector create: an AzureSecurityCenter connector of the subscription that
 * exists now (someone else's, or one a killed earlier run made) is updated instead, so
 * that the subscription never gets a twin. Returns false when the item is finished. */
static bool redirect_create(struct engine *e, struct node *n)
{
	const struct mdc_connector *k;
	char *body;

	if (!e->ws_listed) {
		fail(n, &e->ws_err, "cannot check for an existing connector");
		return false;
	}
	k = mdc_workspace_asc_connector(&e->ws, n->it->subscription);
	if (!k || !k->name)
		return true;
	if (mdc_streq_i(k->alerts_state, "Enabled")) {
		char *msg =
		    mdc_xasprintf("connector '%s' already connects the subscription", k->name);
		finish(n, MDC_APPLY_UNCHANGED, msg, NULL);
		free(msg);
		return false;
	}
	n->path = mdc_xasprintf("%s/providers/Microsoft.SecurityInsights/dataConnectors/%s",
	                        e->plan->workspace, k->name);
	body = with_etag(n->it->req.body, k->etag);
	free(n->body);
	n->body = body;
	return true;
}

static void start_node(struct engine *e, struct node *n)
{
	const struct mdc_plan_item *it = n->it;

	if (e->g.blocked_dep[n->idx] != (size_t)-1) {
		char *msg = mdc_xasprintf("skipped: %s is blocked",
		                          e->plan->items[e->g.blocked_dep[n->idx]].id);
		set_result(n, MDC_APPLY_SKIPPED, msg, NULL);
		emit(e, n, MDC_APPLY_SKIPPED, msg);
		free(msg);
		skip_dependents(e, n);
		return;
	}
	if (!it->req.method || !it->req.path || !it->req.api_version) {
		finish(n, MDC_APPLY_FAILED, "the plan holds no request for this item", NULL);
		return;
	}
	if (it->kind == MDC_ITEM_PRICING && it->subscription) {
		/* Never two pricing writes of one subscription in flight (reference §2.7). */
		if (mdc_strvec_find(&e->busy, it->subscription, true) >= 0) {
			n->deferred = true;
			return;
		}
		mdc_strvec_push(&e->busy, it->subscription);
	}
	n->status = MDC_APPLY_RUNNING;
	e->res->items[n->idx].status = MDC_APPLY_RUNNING;
	emit(e, n, MDC_APPLY_RUNNING, NULL);
	if (it->kind == MDC_ITEM_CONNECTOR && it->action == MDC_ACT_CREATE &&
	    !redirect_create(e, n))
		return;
	if (writes_extensions_after_tier(it)) {
		n->phase = PH_PREREAD;
		send_request(n, "GET", it->req.path, NULL);
		return;
	}
	send_request(n, it->req.method, node_path(n), node_body(n));
}

static void fire_timer(void *ctx)
{
	struct node *n = ctx;

	if (n->it->kind == MDC_ITEM_PROVIDER && n->phase == PH_POLL)
		send_request(n, "GET", n->it->resource, NULL);
	else
		send_request(n, n->it->req.method, node_path(n), node_body(n));
}

static int ws_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct engine *e = ctx;
	return mdc_armjson_connectors(&e->ws, page, err);
}

static void ws_done(void *ctx, const struct mdc_error *err)
{
	struct engine *e = ctx;

	if (!err) {
		e->ws_listed = true;
		return;
	}
	e->ws_err.code = err->code;
	e->ws_err.http_status = err->http_status;
	e->ws_err.message = err->message ? mdc_xstrdup(err->message) : NULL;
}

static bool needs_connector_list(struct engine *e)
{
	for (size_t i = 0; i < e->g.n; i++)
		if (e->g.runs[i] && e->plan->items[i].kind == MDC_ITEM_CONNECTOR &&
		    e->plan->items[i].action == MDC_ACT_CREATE)
			return true;
	return false;
}

static int list_connectors(struct engine *e, struct mdc_error *err)
{
	char *path = mdc_xasprintf("%s/providers/Microsoft.SecurityInsights/dataConnectors",
	                           e->plan->workspace);
	char sub[37];
	int rc = mdc_arm_list(e->arm, path, MDC_API_INSIGHTS, NULL, path_sub(path, sub), ws_page,
	                      ws_done, e, &e->ws_err);

	free(path);
	if (rc < 0)
		return 0; /* recorded in ws_err: connector creates fail, the rest goes on */
	return mdc_arm_run(e->arm, err);
}

static void result_subs(struct mdc_apply_result *r, const struct mdc_plan *p)
{
	for (size_t i = 0; i < p->nitems; i++) {
		const struct mdc_plan_item *it = &p->items[i];
		const struct mdc_apply_item_result *ir = &r->items[i];
		struct mdc_apply_sub_result *s = NULL;
		struct mdc_apply_counts *c[2];

		for (size_t k = 0; k < r->nsubs && !s; k++)
			if (mdc_streq(r->subs[k].id, it->subscription))
				s = &r->subs[k];
		if (!s) {
			r->subs = mdc_xrealloc(r->subs, (r->nsubs + 1) * sizeof(*r->subs));
			s = &r->subs[r->nsubs++];
			memset(s, 0, sizeof(*s));
			s->id = it->subscription ? mdc_xstrdup(it->subscription) : NULL;
			for (size_t k = 0; k < p->nsubs && it->subscription; k++)
				if (!strcmp(p->subs[k].id, it->subscription) &&
				    p->subs[k].display_name)
					s->display_name = mdc_xstrdup(p->subs[k].display_name);
		}
		c[0] = &s->counts;
		c[1] = &r->counts;
		for (int k = 0; k < 2; k++) {
			switch (ir->status) {
			case MDC_APPLY_APPLIED:
				c[k]->applied++;
				break;
			case MDC_APPLY_UNCHANGED:
				c[k]->unchanged++;
				break;
			case MDC_APPLY_FAILED:
				c[k]->failed++;
				break;
			case MDC_APPLY_SKIPPED:
				c[k]->skipped++;
				break;
			case MDC_APPLY_BLOCKED:
				c[k]->blocked++;
				break;
			case MDC_APPLY_DONE:
				c[k]->done_before++;
				break;
			default:
				break;
			}
		}
		if (ir->status == MDC_APPLY_FAILED && !s->first_failure)
			s->first_failure =
			    mdc_xasprintf("%s: %s", it->id, ir->message ? ir->message : "failed");
	}
	/* The workspace's group goes last, whatever the plan's order. */
	for (size_t k = 0; k + 1 < r->nsubs; k++)
		if (!r->subs[k].id) {
			struct mdc_apply_sub_result w = r->subs[k];
			memmove(&r->subs[k], &r->subs[k + 1],
			        (r->nsubs - k - 1) * sizeof(*r->subs));
			r->subs[r->nsubs - 1] = w;
			break;
		}
}

int mdc_apply(struct mdc_apply_result **out, struct mdc_arm *arm, const struct mdc_plan *plan,
              const struct mdc_apply_opts *opts, struct mdc_error *err)
{
	struct engine e;
	struct mdc_http_stats st0, st1;
	long long t0 = now_ms();
	int rc = 0;

	if (!out || !arm || !plan)
		return mdc_error_set(err, MDC_EINVALID, "mdc_apply: missing argument");
	*out = NULL;
	memset(&e, 0, sizeof(e));
	e.arm = arm;
	e.plan = plan;
	if (opts)
		e.o = *opts;
	e.res = mdc_xcalloc(1, sizeof(*e.res));
	e.res->nitems = plan->nitems;
	e.res->items = mdc_xcalloc(plan->nitems + 1, sizeof(*e.res->items));
	graph_build(&e.g, plan, e.o.done);
	e.nodes = mdc_xcalloc(plan->nitems + 1, sizeof(*e.nodes));
	mdc_http_stats(mdc_arm_http(arm), &st0);

	for (size_t i = 0; i < plan->nitems; i++) {
		struct node *n = &e.nodes[i];
		const struct mdc_plan_item *it = &plan->items[i];
		n->e = &e;
		n->idx = i;
		n->it = it;
		n->status = e.g.runs[i]                                 ? MDC_APPLY_PENDING
		            : e.o.done && e.o.done[i]                   ? MDC_APPLY_DONE
		            : it->blocked && it->action != MDC_ACT_NOOP ? MDC_APPLY_BLOCKED
		                                                        : MDC_APPLY_NONE;
		e.res->items[i].status = n->status;
		if (n->status == MDC_APPLY_BLOCKED)
			e.res->items[i].message = mdc_xstrdup(it->blocked);
	}
	if (needs_connector_list(&e) && (rc = list_connectors(&e, err)) < 0)
		goto cleanup;
	for (size_t i = 0; i < plan->nitems; i++)
		if (e.nodes[i].status == MDC_APPLY_PENDING && !e.g.left[i])
			start_node(&e, &e.nodes[i]);
	if ((rc = mdc_arm_run(arm, err)) < 0)
		goto cleanup;
	/* Whatever did not start (a dependency cycle in an edited plan) is reported. */
	for (size_t i = 0; i < plan->nitems; i++)
		if (e.nodes[i].status == MDC_APPLY_PENDING || e.nodes[i].deferred)
			set_result(&e.nodes[i], MDC_APPLY_SKIPPED,
			           "skipped: its dependencies never finished (a cycle?)", NULL);
	result_subs(e.res, plan);
	mdc_http_stats(mdc_arm_http(arm), &st1);
	e.res->requests = st1.requests - st0.requests;
	e.res->retries = st1.retries - st0.retries;
	e.res->elapsed_ms = (long)(now_ms() - t0);
	*out = e.res;
	e.res = NULL;
cleanup:
	mdc_apply_result_free(e.res);
	for (size_t i = 0; i < plan->nitems; i++) {
		free(e.nodes[i].path);
		free(e.nodes[i].body);
	}
	free(e.nodes);
	graph_free(&e.g);
	mdc_strvec_clear(&e.busy);
	for (size_t i = 0; i < e.ws.nconnectors; i++)
		mdc_connector_clear(&e.ws.connectors[i]);
	free(e.ws.connectors);
	mdc_error_clear(&e.ws_err);
	return rc;
}

void mdc_apply_result_free(struct mdc_apply_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nitems; i++) {
		free(r->items[i].message);
		free(r->items[i].request_id);
	}
	free(r->items);
	for (size_t i = 0; i < r->nsubs; i++) {
		free(r->subs[i].id);
		free(r->subs[i].display_name);
		free(r->subs[i].first_failure);
	}
	free(r->subs);
	free(r);
}

/* ---- freshness of a saved plan ---------------------------------------------------- */

enum obj_kind { OBJ_PRICING, OBJ_SYNC, OBJ_CONNECTOR, OBJ_RULE, OBJ_PACKAGE, OBJ_OTHER };

struct want {
	char *path;     /* as the plan wrote it */
	const char *fp; /* borrowed; NULL = the plan saw it absent */
	enum obj_kind kind;
	char sub[37];
};

struct cur {
	char *path; /* lower case */
	char *fp;
};

struct fresh {
	struct mdc_arm *arm;
	struct cur *v;
	size_t n, alloc;
	struct mdc_error err; /* the first read that failed */
	const char *ws;
};

static enum obj_kind classify(const char *path)
{
	if (mdc_str_contains_i(path, "/providers/Microsoft.Security/pricings/"))
		return OBJ_PRICING;
	if (mdc_str_contains_i(path, "/providers/Microsoft.Security/settings/"))
		return OBJ_SYNC;
	if (mdc_str_contains_i(path, "/providers/Microsoft.SecurityInsights/dataConnectors/"))
		return OBJ_CONNECTOR;
	if (mdc_str_contains_i(path, "/providers/Microsoft.SecurityInsights/alertRules/"))
		return OBJ_RULE;
	if (mdc_str_contains_i(path, "/providers/Microsoft.SecurityInsights/contentPackages/"))
		return OBJ_PACKAGE;
	return OBJ_OTHER;
}

static char *lower(const char *s)
{
	char *t = mdc_xstrdup(s);
	for (char *q = t; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return t;
}

static void cur_add(struct fresh *f, char *path, const char *fp)
{
	MDC_ALLOC_GROW(f->v, f->n + 1, f->alloc);
	f->v[f->n].path = lower(path);
	f->v[f->n].fp = fp ? mdc_xstrdup(fp) : NULL;
	f->n++;
	free(path);
}

static void fresh_fail(struct fresh *f, const struct mdc_error *err, const char *what)
{
	if (f->err.code)
		return;
	f->err.code = err->code ? err->code : MDC_EINTERNAL;
	f->err.http_status = err->http_status;
	f->err.message = mdc_xasprintf("cannot check that the plan is still fresh: %s: %s", what,
	                               err->message ? err->message : "unknown error");
}

struct fread {
	struct fresh *f;
	enum obj_kind kind;
	char sub[37];
	char *path;
	struct mdc_sub_actual s;
	struct mdc_workspace_actual w;
};

static void fread_free(struct fread *r)
{
	for (size_t i = 0; i < r->s.npricings; i++)
		mdc_pricing_clear(&r->s.pricings[i]);
	free(r->s.pricings);
	free(r->s.sync_fingerprint);
	for (size_t i = 0; i < r->w.nconnectors; i++)
		mdc_connector_clear(&r->w.connectors[i]);
	free(r->w.connectors);
	for (size_t i = 0; i < r->w.nrules; i++)
		mdc_alert_rule_clear(&r->w.rules[i]);
	free(r->w.rules);
	for (size_t i = 0; i < r->w.ninstalled; i++)
		mdc_package_clear(&r->w.installed[i]);
	free(r->w.installed);
	free(r->path);
	free(r);
}

static void pricings_read(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct fread *r = ctx;
	struct mdc_error e2 = MDC_ERROR_INIT;

	(void)status;
	if (err)
		fresh_fail(r->f, err, r->path);
	else if (mdc_armjson_pricings(&r->s, body, &e2) < 0)
		fresh_fail(r->f, &e2, r->path);
	else
		for (size_t i = 0; i < r->s.npricings; i++)
			cur_add(r->f,
			        mdc_xasprintf("/subscriptions/%s/providers/Microsoft.Security/"
			                      "pricings/%s",
			                      r->sub, r->s.pricings[i].name),
			        r->s.pricings[i].fingerprint);
	mdc_error_clear(&e2);
	fread_free(r);
}

static void sync_read(void *ctx, int status, const cJSON *body, const struct mdc_error *err)
{
	struct fread *r = ctx;
	struct mdc_error e2 = MDC_ERROR_INIT;

	/* 404 = absent, as observe reads it. */
	if (err && status != 404)
		fresh_fail(r->f, err, r->path);
	else if (!err && mdc_armjson_sentinel_setting(&r->s, body, &e2) < 0)
		fresh_fail(r->f, &e2, r->path);
	else if (!err)
		cur_add(r->f, mdc_xstrdup(r->path), r->s.sync_fingerprint);
	mdc_error_clear(&e2);
	fread_free(r);
}

static int ws_list_page(void *ctx, const cJSON *page, struct mdc_error *err)
{
	struct fread *r = ctx;

	switch (r->kind) {
	case OBJ_CONNECTOR:
		return mdc_armjson_connectors(&r->w, page, err);
	case OBJ_RULE:
		return mdc_armjson_alert_rules(&r->w, page, err);
	default:
		return mdc_armjson_packages(&r->w.installed, &r->w.ninstalled, page, 0, err);
	}
}

static void ws_list_done(void *ctx, const struct mdc_error *err)
{
	struct fread *r = ctx;
	struct fresh *f = r->f;

	if (err) {
		fresh_fail(f, err, r->path);
		fread_free(r);
		return;
	}
	for (size_t i = 0; i < r->w.nconnectors; i++)
		cur_add(f, mdc_xasprintf("%s/%s", r->path, r->w.connectors[i].name),
		        r->w.connectors[i].etag);
	for (size_t i = 0; i < r->w.nrules; i++)
		cur_add(f, mdc_xasprintf("%s/%s", r->path, r->w.rules[i].name), r->w.rules[i].etag);
	for (size_t i = 0; i < r->w.ninstalled; i++)
		cur_add(f, mdc_xasprintf("%s/%s", r->path, r->w.installed[i].id),
		        r->w.installed[i].etag);
	fread_free(r);
}

static int cmp_cur(const void *x, const void *y)
{
	return strcmp(((const struct cur *)x)->path, ((const struct cur *)y)->path);
}

static const struct cur *cur_find(const struct fresh *f, const char *path)
{
	char *l = lower(path);
	struct cur key = {l, NULL};
	const struct cur *c = f->n ? bsearch(&key, f->v, f->n, sizeof(*f->v), cmp_cur) : NULL;

	free(l);
	return c;
}

static void want_add(struct want **v, size_t *n, size_t *alloc, const char *path, const char *fp)
{
	enum obj_kind k = classify(path);

	if (k == OBJ_OTHER)
		return; /* providers: registration is idempotent, nothing to compare */
	for (size_t i = 0; i < *n; i++)
		if (!strcasecmp((*v)[i].path, path))
			return;
	MDC_ALLOC_GROW(*v, *n + 1, *alloc);
	(*v)[*n].path = mdc_xstrdup(path);
	(*v)[*n].fp = fp;
	(*v)[*n].kind = k;
	path_sub(path, (*v)[*n].sub);
	(*n)++;
}

static char *describe(const struct want *w)
{
	const char *name = strrchr(w->path, '/');

	name = name ? name + 1 : w->path;
	switch (w->kind) {
	case OBJ_PRICING:
		return mdc_xasprintf("pricing %s on %s", name, w->sub);
	case OBJ_SYNC:
		return mdc_xasprintf("settings/%s on %s", name, w->sub);
	case OBJ_CONNECTOR:
		return mdc_xasprintf("data connector %s", name);
	case OBJ_RULE:
		return mdc_xasprintf("alert rule %s", name);
	case OBJ_PACKAGE:
		return mdc_xasprintf("content package %s", name);
	default:
		return mdc_xstrdup(w->path);
	}
}

static void start_reads(struct fresh *f, const struct want *v, size_t n)
{
	struct mdc_strvec subs = {0}, syncs = {0};
	bool lists[3] = {false, false, false};
	static const char *const coll[3] = {"dataConnectors", "alertRules", "contentPackages"};
	struct mdc_error err = MDC_ERROR_INIT;
	char wsub[37];

	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == OBJ_PRICING && mdc_strvec_find(&subs, v[i].sub, true) < 0)
			mdc_strvec_push(&subs, v[i].sub);
		else if (v[i].kind == OBJ_SYNC && mdc_strvec_find(&syncs, v[i].path, true) < 0)
			mdc_strvec_push(&syncs, v[i].path);
		else if (v[i].kind >= OBJ_CONNECTOR && v[i].kind <= OBJ_PACKAGE)
			lists[v[i].kind - OBJ_CONNECTOR] = true;
	}
	for (size_t i = 0; i < subs.n; i++) {
		struct fread *r = mdc_xcalloc(1, sizeof(*r));
		r->f = f;
		r->kind = OBJ_PRICING;
		snprintf(r->sub, sizeof(r->sub), "%s", subs.v[i]);
		r->path = mdc_xasprintf("/subscriptions/%s/providers/Microsoft.Security/pricings",
		                        r->sub);
		if (mdc_arm_call(f->arm, "GET", r->path, MDC_API_PRICINGS, NULL, r->sub,
		                 pricings_read, r, &err) < 0) {
			fresh_fail(f, &err, r->path);
			fread_free(r);
		}
		mdc_error_clear(&err);
	}
	for (size_t i = 0; i < syncs.n; i++) {
		struct fread *r = mdc_xcalloc(1, sizeof(*r));
		r->f = f;
		r->kind = OBJ_SYNC;
		r->s.sync_enabled = -1;
		r->path = mdc_xstrdup(syncs.v[i]);
		path_sub(r->path, r->sub);
		if (mdc_arm_call(f->arm, "GET", r->path, MDC_API_SETTINGS, NULL, r->sub, sync_read,
		                 r, &err) < 0) {
			fresh_fail(f, &err, r->path);
			fread_free(r);
		}
		mdc_error_clear(&err);
	}
	for (int k = 0; k < 3; k++) {
		struct fread *r;
		if (!lists[k])
			continue;
		r = mdc_xcalloc(1, sizeof(*r));
		r->f = f;
		r->kind = (enum obj_kind)(OBJ_CONNECTOR + k);
		r->path =
		    mdc_xasprintf("%s/providers/Microsoft.SecurityInsights/%s", f->ws, coll[k]);
		if (mdc_arm_list(f->arm, r->path, MDC_API_INSIGHTS, NULL, path_sub(f->ws, wsub),
		                 ws_list_page, ws_list_done, r, &err) < 0) {
			fresh_fail(f, &err, r->path);
			fread_free(r);
		}
		mdc_error_clear(&err);
	}
	mdc_strvec_clear(&subs);
	mdc_strvec_clear(&syncs);
}

int mdc_apply_check_fresh(struct mdc_strvec *stale, struct mdc_arm *arm,
                          const struct mdc_plan *plan, const bool *done, const bool *attempted,
                          struct mdc_error *err)
{
	struct fresh f = {0};
	struct want *v = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;

	if (!stale || !arm || !plan)
		return mdc_error_set(err, MDC_EINVALID, "mdc_apply_check_fresh: missing argument");
	f.arm = arm;
	f.ws = plan->workspace ? plan->workspace : "";
	if (!done)
		for (size_t i = 0; i < plan->fingerprints.n; i++)
			want_add(&v, &n, &alloc, plan->fingerprints.v[i].key,
			         plan->fingerprints.v[i].value);
	for (size_t i = 0; i < plan->nitems; i++) {
		const struct mdc_plan_item *it = &plan->items[i];
		bool written = false;
		if (!mdc_plan_item_applies(it) || (done && done[i]) || !it->resource ||
		    (attempted && attempted[i]))
			continue;
		/* An object a finished item wrote has moved on by our own hand. */
		for (size_t j = 0; done && j < plan->nitems && !written; j++)
			written = done[j] && plan->items[j].resource &&
			          !strcasecmp(plan->items[j].resource, it->resource);
		if (!written)
			want_add(&v, &n, &alloc, it->resource, it->fingerprint);
	}
	start_reads(&f, v, n);
	if ((rc = mdc_arm_run(arm, err)) < 0)
		goto cleanup;
	if (f.err.code) {
		rc = f.err.code;
		mdc_error_move(err, &f.err);
		goto cleanup;
	}
	if (f.n > 1)
		qsort(f.v, f.n, sizeof(*f.v), cmp_cur);
	for (size_t i = 0; i < n; i++) {
		const struct cur *c = cur_find(&f, v[i].path);
		const char *now = c ? c->fp : NULL;
		const char *what = NULL;
		char *d;
		if (v[i].fp && !c)
			what = "deleted";
		else if (!v[i].fp && c)
			what = "created";
		else if (v[i].fp && !mdc_streq(v[i].fp, now))
			what = "changed";
		if (!what)
			continue;
		d = describe(&v[i]);
		mdc_strvec_push_owned(stale,
		                      mdc_xasprintf("%s: %s since the plan was made", d, what));
		free(d);
	}
cleanup:
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	for (size_t i = 0; i < f.n; i++) {
		free(f.v[i].path);
		free(f.v[i].fp);
	}
	free(f.v);
	mdc_error_clear(&f.err);
	return rc;
}

/* ---- the resume file -------------------------------------------------------------- */

char *mdc_apply_resume_to_json(const struct mdc_plan *plan, const struct mdc_apply_result *res,
                               const bool *done_before, time_t now)
{
	char *pj = mdc_plan_to_json(plan), *text, *out;
	cJSON *root = cJSON_CreateObject(), *done, *failed;
	struct mdc_buf ts = MDC_BUF_INIT;

	cJSON_AddNumberToObject(root, "resume_format_version", RESUME_FORMAT_VERSION);
	mdc_plan_format_time(&ts, now);
	cJSON_AddStringToObject(root, "created_at", ts.ptr);
	mdc_buf_release(&ts);
	done = cJSON_AddArrayToObject(root, "done");
	failed = cJSON_AddArrayToObject(root, "failed");
	for (size_t i = 0; i < plan->nitems; i++) {
		enum mdc_apply_status st =
		    res && i < res->nitems ? res->items[i].status : MDC_APPLY_NONE;
		if ((done_before && done_before[i]) || st == MDC_APPLY_APPLIED ||
		    st == MDC_APPLY_UNCHANGED || st == MDC_APPLY_DONE)
			cJSON_AddItemToArray(done, cJSON_CreateString(plan->items[i].id));
		else if (st == MDC_APPLY_FAILED || st == MDC_APPLY_SKIPPED) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", plan->items[i].id);
			cJSON_AddStringToObject(o, "status", mdc_apply_status_name(st));
			if (res->items[i].message)
				cJSON_AddStringToObject(o, "message", res->items[i].message);
			cJSON_AddItemToArray(failed, o);
		}
	}
	cJSON_AddItemToObject(root, "plan", cJSON_Parse(pj));
	free(pj);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		abort(); /* out of memory */
	out = mdc_xasprintf("%s\n", text);
	cJSON_free(text);
	return out;
}

bool mdc_apply_is_resume(const char *json, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	bool yes = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "resume_format_version"));

	cJSON_Delete(root);
	return yes;
}

/* Marks in flags the items named by the strings (or objects' "id") of array key. */
static int resume_ids(const struct mdc_plan *p, const cJSON *root, const char *key, bool *flags,
                      struct mdc_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key), *x;

	if (v && !cJSON_IsArray(v))
		return mdc_error_set(err, MDC_EINVALID, "resume file: '%s' must be an array", key);
	cJSON_ArrayForEach(x, v)
	{
		const cJSON *id = cJSON_IsObject(x) ? cJSON_GetObjectItemCaseSensitive(x, "id") : x;
		size_t i;
		if (!cJSON_IsString(id))
			return mdc_error_set(err, MDC_EINVALID,
			                     "resume file: '%s' holds an entry "
			                     "without an item id",
			                     key);
		for (i = 0; i < p->nitems; i++)
			if (!strcmp(p->items[i].id, id->valuestring))
				break;
		if (i == p->nitems)
			return mdc_error_set(
			    err, MDC_EINVALID,
			    "resume file: '%s' names '%s', which the plan does not "
			    "hold",
			    key, id->valuestring);
		flags[i] = true;
	}
	return 0;
}

int mdc_apply_resume_from_json(struct mdc_plan **plan, bool **done, bool **attempted,
                               const char *json, size_t len, struct mdc_error *err)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *v;
	char *pj = NULL;
	int rc = 0;

	*plan = NULL;
	*done = NULL;
	*attempted = NULL;
	if (!root)
		return mdc_error_set(err, MDC_EINVALID, "resume file: invalid JSON");
	v = cJSON_GetObjectItemCaseSensitive(root, "resume_format_version");
	if (!cJSON_IsNumber(v) || v->valuedouble != RESUME_FORMAT_VERSION) {
		rc = mdc_error_set(err, MDC_EINVALID,
		                   "resume file: unsupported resume_format_version (this mdcctl "
		                   "reads version %d)",
		                   RESUME_FORMAT_VERSION);
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "plan");
	if (!cJSON_IsObject(v)) {
		rc = mdc_error_set(err, MDC_EINVALID, "resume file: missing 'plan'");
		goto cleanup;
	}
	pj = cJSON_PrintUnformatted(v);
	if (!pj)
		abort();
	if ((rc = mdc_plan_from_json(plan, pj, strlen(pj), err)) < 0) {
		mdc_error_prefix(err, "resume file");
		goto cleanup;
	}
	*done = mdc_xcalloc((*plan)->nitems + 1, sizeof(**done));
	*attempted = mdc_xcalloc((*plan)->nitems + 1, sizeof(**attempted));
	if ((rc = resume_ids(*plan, root, "done", *done, err)) < 0)
		goto cleanup;
	/* Only failed items were tried; skipped ones never sent anything. */
	{
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(root, "failed"))
		{
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(x, "status");
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "id");
			if (cJSON_IsString(st) && !strcmp(st->valuestring, "failed") &&
			    cJSON_IsString(id))
				for (size_t i = 0; i < (*plan)->nitems; i++)
					if (!strcmp((*plan)->items[i].id, id->valuestring))
						(*attempted)[i] = true;
		}
	}
cleanup:
	if (pj)
		cJSON_free(pj);
	cJSON_Delete(root);
	if (rc < 0) {
		mdc_plan_free(*plan);
		free(*done);
		free(*attempted);
		*plan = NULL;
		*done = NULL;
		*attempted = NULL;
	}
	return rc;
}

/* ---- the lock --------------------------------------------------------------------- */

struct mdc_apply_lock {
	int fd;
	char *path;
};

/* The directory for lock files: $XDG_RUNTIME_DIR/mdcctl, else /tmp/mdcctl-<uid>; made
 * 0700 and refused unless it is a directory of ours (another user could otherwise plant
 * it in /tmp). */
static char *lock_dir(struct mdc_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *dir = xdg && *xdg == '/' ? mdc_xasprintf("%s/mdcctl", xdg)
	                               : mdc_xasprintf("/tmp/mdcctl-%lu", (unsigned long)getuid());
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		mdc_error_set(err, MDC_EIO, "cannot create lock directory '%s': %s", dir,
		              strerror(errno));
		free(dir);
		return NULL;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		mdc_error_set(err, MDC_EIO,
		              "lock directory '%s' is not a directory owned by uid %lu", dir,
		              (unsigned long)getuid());
		free(dir);
		return NULL;
	}
	return dir;
}

int mdc_apply_lock_acquire(struct mdc_apply_lock **out, const char *workspace, const char *command,
                           struct mdc_error *err)
{
	char *dir, *ws = lower(workspace ? workspace : ""), *path = NULL, host[256] = "";
	unsigned char h[32];
	char hex[25];
	struct mdc_buf info = MDC_BUF_INIT;
	int fd = -1, rc = 0;
	time_t now = time(NULL);

	*out = NULL;
	if (!(dir = lock_dir(err))) {
		free(ws);
		return MDC_EIO;
	}
	mdc_sha256(ws, strlen(ws), h);
	for (int i = 0; i < 12; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	path = mdc_xasprintf("%s/apply-%s.lock", dir, hex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = mdc_error_set(err, MDC_EIO, "cannot open lock file '%s': %s", path,
		                   strerror(errno));
		goto cleanup;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[1024];
		ssize_t nr;
		if (errno != EWOULDBLOCK) {
			rc = mdc_error_set(err, MDC_EIO, "cannot lock '%s': %s", path,
			                   strerror(errno));
			goto cleanup;
		}
		nr = pread(fd, buf, sizeof(buf) - 1, 0);
		if (nr > 0) {
			buf[nr] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
		} else {
			snprintf(buf, sizeof(buf), "another process (details not written yet)");
		}
		rc = mdc_error_set(err, MDC_EBUSY,
		                   "workspace '%s' is locked by another apply: %s (lock file %s)",
		                   workspace ? workspace : "", buf, path);
		goto cleanup;
	}
	gethostname(host, sizeof(host) - 1);
	mdc_buf_addf(&info, "pid %ld on %s since ", (long)getpid(), host);
	mdc_plan_format_time(&info, now);
	mdc_buf_addf(&info, ", command: %s\n", command ? command : "mdcctl apply");
	if (ftruncate(fd, 0) < 0 || pwrite(fd, info.ptr, info.len, 0) != (ssize_t)info.len) {
		rc = mdc_error_set(err, MDC_EIO, "cannot write lock file '%s': %s", path,
		                   strerror(errno));
		goto cleanup;
	}
	*out = mdc_xcalloc(1, sizeof(**out));
	(*out)->fd = fd;
	(*out)->path = path;
	fd = -1;
	path = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	free(path);
	free(dir);
	free(ws);
	mdc_buf_release(&info);
	return rc;
}

void mdc_apply_lock_release(struct mdc_apply_lock *l)
{
	if (!l)
		return;
	/* Empty the file first so that nobody reads a stale holder; the file itself stays
	 * (unlinking a flock'ed file races with a process that just opened it). */
	if (ftruncate(l->fd, 0) < 0) {
		/* nothing to do: the lock goes away with close() all the same */
	}
	close(l->fd);
	free(l->path);
	free(l);
}
