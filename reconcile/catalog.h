#ifndef MDC_CATALOG_H
#define MDC_CATALOG_H
/*
 * The Defender plan catalogue: plan names, valid sub-plans, extensions per plan, and
 * deprecated plans with their replacements (reference §2.3-§2.5). It is data, in
 * schema/catalog.json, compiled into the binary and parsed on first use; validation,
 * planning and the emulator all read it from here.
 */
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

struct mdc_catalog_plan {
	char *name;                           /* exact spelling, e.g. "VirtualMachines" */
	struct mdc_strvec sub_plans;          /* valid subPlan values; empty = the plan has none */
	char *default_sub_plan;               /* what Azure reports after a PUT Standard without
	                                         subPlan; NULL if none */
	struct mdc_strvec extensions;         /* valid extension names */
	struct mdc_strvec default_extensions; /* enabled by Azure when the plan turns Standard */
	bool deprecated;
	struct mdc_strvec replaced_by;
};

struct mdc_catalog {
	struct mdc_catalog_plan *plans; /* in file order */
	size_t nplans;
};

/* The built-in catalogue, parsed once (thread-safe). Borrowed; lives for the process.
 * A malformed built-in catalogue is a build bug: it aborts with a message. */
const struct mdc_catalog *mdc_catalog_builtin(void);
/* Parses a catalogue document (schema/catalog.json format). Caller frees *out. */
int mdc_catalog_parse(struct mdc_catalog **out, const char *json, size_t len,
                      struct mdc_error *err);
void mdc_catalog_free(struct mdc_catalog *c);
/* Borrowed plan by name (case-insensitive), or NULL. */
const struct mdc_catalog_plan *mdc_catalog_plan(const struct mdc_catalog *c, const char *name);
/* Case-insensitive membership tests (ARM compares these names case-insensitively). */
bool mdc_catalog_plan_has_sub_plan(const struct mdc_catalog_plan *p, const char *sub_plan);
bool mdc_catalog_plan_has_extension(const struct mdc_catalog_plan *p, const char *ext);

#endif
