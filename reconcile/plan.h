#ifndef MDC_PLAN_H
#define MDC_PLAN_H
/*
 * The planner: desired state (config.h) x actual state (actual.h) -> an ordered list of
 * items, each carrying the ARM request that applies it, so that apply can execute a
 * saved plan without the config. Pure: no network, no files, no clock (`now` is given).
 *
 * Ordering: subscriptions sorted by id, then the workspace. Per subscription:
 * register Microsoft.SecurityInsights -> pricings (a serial chain) -> connector ->
 * settings/Sentinel; when disconnecting: settings/Sentinel -> connector delete ->
 * pricings. Workspace: Content Hub solution -> incident rule. An item's dependencies
 * always come earlier in the list.
 *
 * The saved plan format (mdc_plan_to_json) is documented in schema/plan.schema.json.
 */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "actual.h"
#include "config.h"
#include "error.h"
#include "util.h"

#define MDC_PLAN_FORMAT_VERSION 1

enum mdc_action {
	MDC_ACT_NOOP,
	MDC_ACT_CREATE,
	MDC_ACT_UPDATE,
	MDC_ACT_DELETE,
	MDC_ACT_REGISTER,
	MDC_ACT_MAX
};

enum mdc_item_kind {
	MDC_ITEM_SUBSCRIPTION, /* a subscription that could not be read (always blocked) */
	MDC_ITEM_PROVIDER,     /* Microsoft.SecurityInsights registration */
	MDC_ITEM_PRICING,
	MDC_ITEM_CONNECTOR,
	MDC_ITEM_SYNC, /* settings/Sentinel */
	MDC_ITEM_SOLUTION,
	MDC_ITEM_INCIDENT_RULE,
	MDC_ITEM_MAX
};

/* One field that changes. NULL before = absent / not read; NULL after = removed. */
struct mdc_change {
	char *field; /* "pricingTier", "extensions.AgentlessVmScanning.isEnabled", ... */
	char *before;
	char *after;
};

/* The ARM request that applies an item (all NULL for noop and blocked-only items). */
struct mdc_request {
	char *method; /* "PUT", "POST", "DELETE" */
	char *path;   /* below the ARM endpoint, without the query */
	char *api_version;
	char *body; /* compact JSON text, or NULL */
};

struct mdc_plan_item {
	char *id; /* stable: "sub/<sub>/pricing/VirtualMachines", "workspace/solution" */
	enum mdc_item_kind kind;
	char *subscription; /* lower-case id; NULL for workspace items */
	char *resource;     /* ARM resource path */
	enum mdc_action action;
	struct mdc_change *changes;
	size_t nchanges;
	char *reason;                 /* why this item exists */
	struct mdc_strvec depends_on; /* item ids, all earlier in the plan */
	char *blocked;                /* why it cannot be applied, or NULL */
	char *fingerprint;            /* of the object as read (etag / sha256), NULL if absent */
	struct mdc_request req;
};

enum mdc_note_level { MDC_NOTE_INFO, MDC_NOTE_WARNING, MDC_NOTE_MAX };

struct mdc_plan_note {
	enum mdc_note_level level;
	char *code;         /* stable tag: "tenant-mode", "duplicate-incidents", ... */
	char *subscription; /* or NULL */
	char *message;      /* says nothing subscription-specific, so notes aggregate */
};

struct mdc_plan_counts {
	size_t add, change, remove, blocked, noop;
};

/* Per-subscription summary (subscriptions with items, sorted by id). */
struct mdc_plan_sub {
	char *id;
	char *display_name; /* as read from Azure, unsanitised; may be NULL */
	struct mdc_plan_counts counts;
};

struct mdc_plan {
	int format_version;
	time_t created_at;
	char *config_digest;
	char *git_commit; /* or NULL */
	char *tenant;
	char *workspace; /* ARM path of the workspace */
	enum mdc_connector_mode mode;
	struct mdc_plan_item *items;
	size_t nitems;
	struct mdc_plan_note *notes;
	size_t nnotes;
	struct mdc_plan_sub *subs;
	size_t nsubs;
	struct mdc_kvlist fingerprints; /* ARM path -> fingerprint of every object read */
	struct mdc_plan_counts counts;
};

/* ARM api-versions; NULL members take the defaults of reference §0. */
struct mdc_api_versions {
	const char *pricings;  /* 2024-01-01 */
	const char *settings;  /* 2022-05-01 */
	const char *providers; /* 2022-12-01 */
	const char *insights;  /* 2025-09-01 (dataConnectors, alertRules, contentPackages) */
};

struct mdc_plan_opts {
	time_t now;
	const char *git_commit; /* may be NULL */
	struct mdc_api_versions api;
};

/*
 * Builds the plan. Returns 0 and sets *out (caller frees with mdc_plan_free), or a
 * negative mdc_errcode with err filled (only for unusable input, e.g. NULL arguments;
 * problems in Azure become blocked items and notes, not errors).
 */
int mdc_plan_build(struct mdc_plan **out, const struct mdc_config *cfg,
                   const struct mdc_actual *act, const struct mdc_plan_opts *opts,
                   struct mdc_error *err);
void mdc_plan_free(struct mdc_plan *p); /* accepts NULL */

/* Borrowed item by id, or NULL. */
const struct mdc_plan_item *mdc_plan_find(const struct mdc_plan *p, const char *id);
/* True if the item changes something (not noop) and is not blocked. */
bool mdc_plan_item_applies(const struct mdc_plan_item *it);
/* Adds it to k: create = add, update and register = change, delete = remove, noop =
 * noop; a blocked item counts only as blocked. */
void mdc_plan_count_item(struct mdc_plan_counts *k, const struct mdc_plan_item *it);
/* True if the plan has anything to apply or anything blocked. */
bool mdc_plan_has_changes(const struct mdc_plan *p);

/* The saved plan: pretty JSON text with a final newline, owned by the caller (free()). */
char *mdc_plan_to_json(const struct mdc_plan *p);
/* The plan's notes as the saved plan writes them (a JSON array owned by the caller; drift
 * reports use it too). */
struct cJSON;
struct cJSON *mdc_plan_notes_to_json(const struct mdc_plan *p);
/* Reads a saved plan; refuses other format_versions. Caller frees *out. */
int mdc_plan_from_json(struct mdc_plan **out, const char *json, size_t len, struct mdc_error *err);

struct mdc_buf;
/* Appends t as "YYYY-MM-DDTHH:MM:SSZ" (UTC), the form the saved plan uses. */
void mdc_plan_format_time(struct mdc_buf *out, time_t t);

/* Static names. */
const char *mdc_action_name(enum mdc_action a);         /* "create", ... */
const char *mdc_item_kind_name(enum mdc_item_kind k);   /* "pricing", ... */
const char *mdc_note_level_name(enum mdc_note_level l); /* "info" / "warning" */

#endif
