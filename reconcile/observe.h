#ifndef MDC_OBSERVE_H
#define MDC_OBSERVE_H
/*
 * Reading a tenant: selectors -> subscriptions -> the actual state of every object the
 * planner compares (DESIGN.md "What is reconciled"), concurrently over one ARM client.
 *
 * Phase 1 (in parallel): the subscription list; the descendants of every management
 * group the config names; the workspace's Sentinel objects. Phase 2: for every selected,
 * enabled subscription of the tenant, in parallel: pricings, settings/Sentinel, the
 * Microsoft.SecurityInsights provider, and the caller's permissions.
 *
 * The result holds every visible subscription of the tenant with its tags and management
 * group ancestry (the planner evaluates selectors on it), and the details above for the
 * selected ones. One bad subscription (403, 404, timeout) becomes that subscription's
 * read error, not a failed run. Nothing is read twice.
 */
#include <stdbool.h>

#include "actual.h"
#include "arm.h"
#include "config.h"
#include "error.h"

struct mdc_observe_progress {
	size_t subs_done;  /* selected subscriptions fully read */
	size_t subs_total; /* selected subscriptions (0 until known) */
	unsigned long requests;
	unsigned long retries;
};

struct mdc_observe_opts {
	/* Read every enabled subscription of the tenant, whatever the selectors (export). */
	bool all_subscriptions;
	/* Also read the descendants of the tenant root group, so that every subscription's
	 * management-group ancestry is known whatever the selectors (export factors settings
	 * by group). A root group the caller cannot read becomes a note. */
	bool read_hierarchy;
	/* Read the workspace objects (false: subscriptions only). */
	bool skip_workspace;
	/* Called after each subscription is read (and once at the end); may be NULL. */
	void (*progress)(void *ctx, const struct mdc_observe_progress *p);
	void *progress_ctx;
};

/*
 * Reads the actual state for cfg (tenant, workspace, selectors). Returns 0 and sets *out
 * (caller frees with mdc_actual_free), or a negative code with err filled when the run as
 * a whole failed (the subscription list or the workspace could not be read at all).
 */
int mdc_observe(struct mdc_actual **out, struct mdc_arm *arm, const struct mdc_config *cfg,
                const struct mdc_observe_opts *opts, struct mdc_error *err);

/* The management-group names the config mentions (select, exclude, overrides), sorted,
 * without duplicates, appended to names. */
void mdc_observe_config_groups(const struct mdc_config *cfg, struct mdc_strvec *names);

#endif
