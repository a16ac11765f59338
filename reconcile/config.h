#ifndef MDC_CONFIG_H
#define MDC_CONFIG_H
/*
 * The desired state (apiVersion mdcctl/v1): the model, its loader and its validator.
 *
 * config.c is the only user of libyaml. The model below is plain C: plan/ and render/
 * consume it without YAML. Every node keeps its position so that every diagnostic can
 * point at FILE:LINE:COL. Field semantics are documented in schema/README.md.
 *
 * "Unset" is a value of its own everywhere: a field the file does not name is left alone
 * in Azure (MDC_UNSET for tristates, NULL for strings, MDC_TIER_UNSET for tiers).
 */
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

#define MDC_CONFIG_MAX_BYTES (4u * 1024 * 1024) /* larger files are refused */

enum { MDC_UNSET = -1, MDC_FALSE = 0, MDC_TRUE = 1 }; /* tristate ints */

struct mdc_pos {
	unsigned line; /* 1-based; 0 = no position */
	unsigned col;  /* 1-based */
};

enum mdc_cloud { MDC_CLOUD_AZURE, MDC_CLOUD_USGOV, MDC_CLOUD_CHINA, MDC_CLOUD_MAX };
enum mdc_tier { MDC_TIER_UNSET, MDC_TIER_FREE, MDC_TIER_STANDARD, MDC_TIER_MAX };
enum mdc_connector_mode { MDC_MODE_SUBSCRIPTION, MDC_MODE_TENANT, MDC_MODE_MAX };
enum mdc_solution {
	MDC_SOLUTION_UNMANAGED,
	MDC_SOLUTION_LATEST,
	MDC_SOLUTION_MINIMUM,
	MDC_SOLUTION_MAX
};
enum mdc_unselected { MDC_UNSELECTED_IGNORE, MDC_UNSELECTED_DISCONNECT, MDC_UNSELECTED_MAX };
enum mdc_other_plans { MDC_OTHER_UNSET, MDC_OTHER_UNMANAGED, MDC_OTHER_FREE, MDC_OTHER_MAX };

/* Alert severities, a bitmask. */
enum {
	MDC_SEV_HIGH = 1 << 0,
	MDC_SEV_MEDIUM = 1 << 1,
	MDC_SEV_LOW = 1 << 2,
	MDC_SEV_INFORMATIONAL = 1 << 3,
	MDC_SEV_ALL = 0xf
};

/* One extension of a Defender plan. `properties` become additionalExtensionProperties. */
struct mdc_ext_desired {
	char *name;
	bool enabled;
	struct mdc_kvlist properties;
	struct mdc_pos pos;
};

/* The desired state of one Defender plan (Microsoft.Security/pricings/{name}). */
struct mdc_plan_desired {
	char *name;                   /* catalogue spelling, e.g. "VirtualMachines" */
	enum mdc_tier tier;           /* never UNSET after loading */
	char *sub_plan;               /* NULL: not managed */
	int enforce;                  /* tristate */
	struct mdc_ext_desired *exts; /* extensions named; others are left alone */
	size_t nexts;
	struct mdc_pos pos;
};

/* A block of per-subscription settings: `defaults`, one override, or the effective
 * result for one subscription (mdc_config_effective). */
struct mdc_settings {
	int connected;                  /* tristate */
	int bidirectional_sync;         /* tristate */
	struct mdc_plan_desired *plans; /* by name; at most one entry per plan */
	size_t nplans;
	enum mdc_other_plans other_plans;
	struct mdc_pos pos;
};

enum mdc_selector_kind { MDC_SEL_ID, MDC_SEL_MANAGEMENT_GROUP, MDC_SEL_TAG, MDC_SEL_MAX };

/* One selector. A `match:` or list entry with several keys is several selectors that
 * must all match (AND); list entries are OR-ed. */
struct mdc_selector {
	enum mdc_selector_kind kind;
	char *value;     /* subscription GUID (lower case), management group name, or tag key */
	char *tag_value; /* MDC_SEL_TAG only */
	struct mdc_pos pos;
};

/* A group of selectors that must all match (one list entry or one `match:` map). */
struct mdc_match {
	struct mdc_selector *sel;
	size_t nsel;
	struct mdc_pos pos;
};

struct mdc_override {
	struct mdc_match match;
	struct mdc_settings set;
	struct mdc_pos pos;
};

struct mdc_incident_rule {
	bool present; /* false: the file has no incidentRule, the rule is not managed */
	bool enabled;
	char *name; /* ARM rule id to create with; NULL = deterministic default */
	char *display_name;
	unsigned severities;             /* MDC_SEV_* mask; 0 = all (severitiesFilter null) */
	struct mdc_strvec include_names; /* displayNamesFilter */
	struct mdc_strvec exclude_names; /* displayNamesExcludeFilter */
	struct mdc_pos pos;
};

struct mdc_config {
	char *path;   /* as given, for messages */
	char *digest; /* "sha256:<hex>" of the file's bytes */
	char *api_version;
	char *tenant; /* lower-case GUID */
	enum mdc_cloud cloud;
	struct {
		char *subscription; /* lower-case GUID */
		char *resource_group;
		char *name;
		struct mdc_pos pos;
	} workspace;
	struct {
		enum mdc_connector_mode mode;
		enum mdc_solution solution;
		char *solution_version; /* MDC_SOLUTION_MINIMUM only */
	} connector;
	struct {
		struct mdc_match *select; /* OR of ANDs */
		size_t nselect;
		struct mdc_match *exclude;
		size_t nexclude;
		enum mdc_unselected unselected;
		struct mdc_settings defaults;
		struct mdc_override *overrides; /* in file order; later entries win */
		size_t noverrides;
	} subscriptions;
	struct mdc_incident_rule incident_rule;
};

/* One diagnostic. */
enum mdc_severity { MDC_DIAG_ERROR, MDC_DIAG_WARNING, MDC_DIAG_MAX };
struct mdc_diag {
	enum mdc_severity severity;
	struct mdc_pos pos;
	char *message; /* "unknown plan 'VirtualMachine' (did you mean 'VirtualMachines'?)" */
};
struct mdc_diags {
	struct mdc_diag *v;
	size_t n;
	size_t alloc;
	size_t nerrors;
};
void mdc_diags_add(struct mdc_diags *d, enum mdc_severity sev, struct mdc_pos pos, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
void mdc_diags_clear(struct mdc_diags *d);

/*
 * Parses and validates the YAML in buf (len bytes; `path` names it in messages).
 * Every problem found goes into diags (all of them, not only the first). Returns 0 and
 * sets *out (caller frees with mdc_config_free) when there are no errors; otherwise
 * returns MDC_EINVALID and *out is NULL. Warnings never fail loading.
 */
int mdc_config_parse(struct mdc_config **out, const char *buf, size_t len, const char *path,
                     struct mdc_diags *diags);
/* Reads path ("-" = stdin, at most MDC_CONFIG_MAX_BYTES) then mdc_config_parse. An I/O
 * failure is one diagnostic at position 0. */
int mdc_config_load(struct mdc_config **out, const char *path, struct mdc_diags *diags);
void mdc_config_free(struct mdc_config *cfg);

/* Facts about one subscription that selectors match on (from the actual state). */
struct mdc_sub_facts {
	const char *id;                     /* lower-case GUID */
	const struct mdc_kvlist *tags;      /* may be NULL */
	const struct mdc_strvec *ancestors; /* management group names, nearest first; may be NULL */
};

bool mdc_match_matches(const struct mdc_match *m, const struct mdc_sub_facts *f);
/* True when some `select` entry matches and no `exclude` entry does. */
bool mdc_config_selects(const struct mdc_config *cfg, const struct mdc_sub_facts *f);
/*
 * The effective settings of a selected subscription: defaults, then every matching
 * override in file order. A plan named by an override replaces the defaults' entry for
 * that plan whole. out is filled with copies; free with mdc_settings_clear.
 */
void mdc_config_effective(const struct mdc_config *cfg, const struct mdc_sub_facts *f,
                          struct mdc_settings *out);
void mdc_settings_clear(struct mdc_settings *s);
/* base with top layered over it (top may be NULL), by the same rules as
 * mdc_config_effective; out is filled with copies, free with mdc_settings_clear.
 * other_plans stays MDC_OTHER_UNSET when neither sets it (mdc_config_effective turns
 * that into MDC_OTHER_UNMANAGED). */
void mdc_settings_layered(struct mdc_settings *out, const struct mdc_settings *base,
                          const struct mdc_settings *top);
/* Borrowed entry for plan `name` (case-insensitive), or NULL. */
const struct mdc_plan_desired *mdc_settings_plan(const struct mdc_settings *s, const char *name);

/* Static names, for messages and rendering. */
const char *mdc_tier_name(enum mdc_tier t);   /* "Free" / "Standard" */
const char *mdc_cloud_name(enum mdc_cloud c); /* "AzureCloud" ... */
/* The endpoints of a cloud (reference §10.6); static strings. */
const char *mdc_cloud_arm_endpoint(enum mdc_cloud c);
const char *mdc_cloud_authority_host(enum mdc_cloud c);
const char *mdc_severity_name(unsigned one_sev_bit); /* "High" ... */
/* The linked libyaml's version ("0.2.5"), for `mdcctl --version`. Static string. */
const char *mdc_config_yaml_version(void);

#endif
