#ifndef MDC_EXPORT_H
#define MDC_EXPORT_H
/*
 * mdcctl export: the desired state (a v1 YAML document) that reproduces a tenant as it is,
 * so that a team can adopt mdcctl on a tenant that is already configured.
 *
 * The most common settings of the subscriptions read become `defaults`; differences
 * become `overrides`, preferring a management group when a whole group differs the same
 * way, then a tag, then the subscription id, so a large tenant exports to a short file.
 * What cannot be reproduced exactly (a subscription that could not be read, a connected
 * subscription without a Standard plan, ...) is excluded by id with a comment saying why,
 * and listed in the result's warnings.
 *
 * mdc_export_build is pure (no network): tests feed it an actual state. It parses the
 * document it wrote with mdc_config_parse and checks that the effective settings of every
 * subscription equal what was read; either failing is an error (MDC_EINTERNAL), never a
 * silently wrong file. mdc_export_find_workspaces reads ARM to find the workspace when
 * none is given.
 */
#include <stddef.h>
#include <time.h>

#include "actual.h"
#include "arm.h"
#include "config.h"
#include "error.h"
#include "util.h"

struct mdc_export_opts {
	time_t now;         /* for the header comment */
	const char *source; /* what was read, for the header ("https://management.azure.com") */
	const char *schema; /* $schema path of the language-server comment; NULL = the
	                       repository's "../schema/mdcctl.schema.json" */
};

struct mdc_export_result {
	char *yaml;                 /* the document, owned */
	struct mdc_strvec warnings; /* what does not round-trip exactly, one line each */
	size_t nsubs;               /* subscriptions whose settings the file reproduces */
	size_t noverrides;
	size_t nexcluded;
};

/*
 * Writes the desired state that reproduces act. scope gives the tenant, cloud, workspace,
 * connector mode and the subscriptions' select/exclude (copied into the document);
 * `defaults`, `overrides`, `otherPlans`, `connector.solution` and `incidentRule` come from
 * act. Subscriptions of act that observe did not read (not selected, not Enabled) are
 * left out. Returns 0 with *out filled (release with mdc_export_result_release), or a
 * negative code with err filled.
 */
int mdc_export_build(struct mdc_export_result *out, const struct mdc_config *scope,
                     const struct mdc_actual *act, const struct mdc_export_opts *opts,
                     struct mdc_error *err);
void mdc_export_result_release(struct mdc_export_result *r);

/* A Log Analytics workspace that could be the Sentinel workspace. */
struct mdc_export_workspace {
	char *subscription; /* lower case */
	char *resource_group;
	char *name;
	int onboarded; /* tristate: Sentinel onboardingStates/default exists */
	size_t nasc;   /* AzureSecurityCenter connectors in it */
};

struct mdc_export_workspaces {
	struct mdc_export_workspace *v;
	size_t n;
};

/*
 * Lists the workspaces of every Enabled subscription of tenant the caller can see
 * (GET .../Microsoft.OperationalInsights/workspaces, reference-style ARM list), reads
 * whether each is onboarded to Sentinel and counts its AzureSecurityCenter connectors.
 * Subscriptions that refuse the list (403, ...) are skipped. Returns 0 with *out filled
 * (release with mdc_export_workspaces_release), or a negative code (the subscription list
 * could not be read).
 */
int mdc_export_find_workspaces(struct mdc_export_workspaces *out, struct mdc_arm *arm,
                               const char *tenant, struct mdc_error *err);
/*
 * The Sentinel workspace to export against: the only onboarded workspace, or among
 * several the only one holding AzureSecurityCenter connectors. Borrowed, or NULL when
 * there is not exactly one.
 */
const struct mdc_export_workspace *mdc_export_pick_workspace(const struct mdc_export_workspaces *w);
void mdc_export_workspaces_release(struct mdc_export_workspaces *w);

#endif
