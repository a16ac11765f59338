#ifndef MDC_ACTUAL_H
#define MDC_ACTUAL_H
/*
 * The actual state read from Azure: what observe/ produces and plan/ consumes. Plain C,
 * no network; it can be written to and read from a JSON snapshot (`--actual FILE`), whose
 * format is documented in schema/actual.schema.json.
 *
 * Every object read carries a fingerprint: its etag when ARM gives one, otherwise
 * "sha256:<hex>" of the canonical JSON body. Saved plans record fingerprints so that
 * apply can refuse a plan whose inputs changed.
 *
 * Strings hold what Azure sent, unsanitised; render/ sanitises before printing.
 * GUIDs (subscription ids, tenant ids) are stored lower-case.
 */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "util.h"

/* A read that failed: kept per object so one bad subscription does not fail the run. */
struct mdc_read_error {
	int code; /* enum mdc_errcode; 0 = no error */
	int http_status;
	char *arm_code;
	char *message;
};

struct mdc_ext_actual {
	char *name;
	bool enabled;                 /* isEnabled compared case-insensitively with "True" */
	struct mdc_kvlist properties; /* additionalExtensionProperties, values as JSON text
	                                 for non-strings */
	char *op_code;                /* operationStatus.code or NULL */
	char *op_message;
};

struct mdc_pricing {
	char *name;
	char *tier;     /* "Free" | "Standard" (as sent) */
	char *sub_plan; /* NULL when absent */
	char *enforce;  /* "True" | "False" | NULL */
	bool deprecated;
	struct mdc_strvec replaced_by;
	char *free_trial_remaining;
	struct mdc_ext_actual *exts;
	size_t nexts;
	char *fingerprint;
};

enum mdc_provider_state {
	MDC_PROVIDER_UNKNOWN, /* not read */
	MDC_PROVIDER_NOT_REGISTERED,
	MDC_PROVIDER_REGISTERING,
	MDC_PROVIDER_REGISTERED,
	MDC_PROVIDER_UNREGISTERED,
	MDC_PROVIDER_UNREGISTERING,
	MDC_PROVIDER_MAX
};

/* One entry of Microsoft.Authorization/permissions. */
struct mdc_permission {
	struct mdc_strvec actions;
	struct mdc_strvec not_actions;
};

struct mdc_permissions {
	bool read; /* false: unknown (not read or failed): plan treats as allowed, notes it */
	struct mdc_permission *v;
	size_t n;
};

/* True if `action` is allowed by some entry's actions and not excluded by that entry's
 * notActions (wildcards '*', case-insensitive; reference §7.1). Unread = true. */
bool mdc_permissions_allow(const struct mdc_permissions *p, const char *action);

struct mdc_sub_actual {
	char *id; /* lower-case GUID */
	char *display_name;
	char *tenant_id;
	char *state; /* "Enabled", "Disabled", ... */
	struct mdc_kvlist tags;
	struct mdc_strvec ancestors; /* management group names, nearest first */

	bool pricings_read;
	struct mdc_pricing *pricings;
	size_t npricings;

	int sync_enabled; /* tristate: MDC_UNSET (-1) when not read */
	char *sync_fingerprint;

	enum mdc_provider_state insights_provider; /* Microsoft.SecurityInsights */

	struct mdc_permissions perms; /* at subscription scope */

	struct mdc_read_error error; /* the first read that failed, if any */
};

struct mdc_connector {
	char *name;            /* ARM resource name (dataConnectorId) */
	char *kind;            /* "AzureSecurityCenter", "MicrosoftThreatProtection", ... */
	char *subscription_id; /* AzureSecurityCenter: properties.subscriptionId, lower case */
	char *tenant_id;       /* MicrosoftThreatProtection: properties.tenantId */
	char *alerts_state;    /* dataTypes.alerts.state */
	char *incidents_state; /* dataTypes.incidents.state (MicrosoftThreatProtection) */
	char *etag;
};

struct mdc_alert_rule {
	char *name;
	char *kind;
	char *etag;
	char *product_filter;
	char *display_name;
	char *description;
	bool enabled;
	unsigned severities; /* MDC_SEV_* mask; 0 = null (all) */
	struct mdc_strvec include_names;
	struct mdc_strvec exclude_names;
	char *template_name;
};

struct mdc_package {
	char *id; /* resource name, e.g. azuresentinel.azure-sentinel-solution-... */
	char *content_id;
	char *content_product_id;
	char *content_kind;
	char *version; /* installed: installedVersion or version; catalog: available */
	char *display_name;
	char *etag;
};

struct mdc_workspace_actual {
	char *subscription;
	char *resource_group;
	char *name;
	bool onboarded; /* onboardingStates/default exists */
	bool read;      /* the Sentinel objects below were read */
	struct mdc_connector *connectors;
	size_t nconnectors;
	struct mdc_alert_rule *rules;
	size_t nrules;
	struct mdc_package *installed; /* contentPackages */
	size_t ninstalled;
	struct mdc_package *catalog; /* contentProductPackages (the MDC one at least) */
	size_t ncatalog;
	struct mdc_permissions perms; /* at workspace scope */
	struct mdc_read_error error;
};

/* Subscriptions that a selector named but that cannot be managed, with why. */
struct mdc_actual_note {
	char *subscription; /* may be NULL */
	char *message;      /* "subscription '...' is Disabled", "... belongs to tenant ..." */
};

struct mdc_actual {
	char *tenant;
	time_t read_at;
	struct mdc_workspace_actual workspace;
	struct mdc_sub_actual *subs; /* sorted by id once mdc_actual_sort ran */
	size_t nsubs;
	size_t subs_alloc;
	bool sorted; /* subs are sorted (mdc_actual_find_sub then searches in log time) */
	struct mdc_actual_note *notes;
	size_t nnotes;
};

struct mdc_actual *mdc_actual_new(void);
void mdc_actual_free(struct mdc_actual *a); /* accepts NULL */
/* Appends a zeroed subscription (sync_enabled = MDC_UNSET); borrowed pointer, valid until
 * the next add. */
struct mdc_sub_actual *mdc_actual_add_sub(struct mdc_actual *a, const char *id);
/* Borrowed subscription by id (case-insensitive), or NULL: a binary search once sorted. */
const struct mdc_sub_actual *mdc_actual_find_sub(const struct mdc_actual *a, const char *id);
/* Borrowed pricing by plan name (case-insensitive), or NULL. */
const struct mdc_pricing *mdc_sub_pricing(const struct mdc_sub_actual *s, const char *name);
/*
 * The AzureSecurityCenter connectors of subscription sub: matched by kind and
 * properties.subscriptionId (case-insensitive), never by name; sorted by name, so the
 * first is the one mdcctl manages (plan, apply and export agree on it). Returns how
 * many; when out is not NULL, *out gets the borrowed pointers in an array the caller
 * frees with free() (NULL when there are none).
 */
size_t mdc_workspace_asc_connectors(const struct mdc_connector ***out,
                                    const struct mdc_workspace_actual *w, const char *sub);
/* The first of mdc_workspace_asc_connectors (the managed one), borrowed, or NULL. */
const struct mdc_connector *mdc_workspace_asc_connector(const struct mdc_workspace_actual *w,
                                                        const char *sub);
/* The incident creation rule for Defender for Cloud alerts (kind
 * MicrosoftSecurityIncidentCreation, productFilter "Azure Security Center"; the first by
 * name when there are several), borrowed, or NULL. */
const struct mdc_alert_rule *mdc_workspace_mdc_rule(const struct mdc_workspace_actual *w);
/* The Defender for Cloud solution among v[0..n) (by package id or contentId), borrowed,
 * or NULL. */
const struct mdc_package *mdc_package_find_mdc(const struct mdc_package *v, size_t n);
void mdc_actual_add_note(struct mdc_actual *a, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mdc_actual_sort(struct mdc_actual *a); /* sorts subs by id */

/* Snapshot I/O. The JSON string is owned by the caller (free()). */
char *mdc_actual_to_json(const struct mdc_actual *a);
int mdc_actual_from_json(struct mdc_actual **out, const char *json, size_t len,
                         struct mdc_error *err);
int mdc_actual_save(const struct mdc_actual *a, const char *path, struct mdc_error *err);
int mdc_actual_load(struct mdc_actual **out, const char *path, struct mdc_error *err);

/* Frees the members of single objects (for code that builds them by hand). */
void mdc_pricing_clear(struct mdc_pricing *p);
void mdc_connector_clear(struct mdc_connector *c);
void mdc_alert_rule_clear(struct mdc_alert_rule *r);
void mdc_package_clear(struct mdc_package *p);
void mdc_read_error_clear(struct mdc_read_error *e);

const char *mdc_provider_state_name(enum mdc_provider_state s); /* "Registered" ... */
enum mdc_provider_state mdc_provider_state_parse(const char *s);

#endif
