#ifndef MDC_ARMJSON_H
#define MDC_ARMJSON_H
/*
 * ARM response bodies (cJSON) -> the actual-state model. Pure: no network. The observer
 * feeds it what ARM answered; tests feed it the reference's example bodies.
 *
 * Every function returns 0, or MDC_EINVALID with err set when the body does not have the
 * documented shape (what and where). Strings are copied; the model owns them.
 */
#include <cjson/cJSON.h>

#include "actual.h"
#include "error.h"

/* One entry of GET /subscriptions (§1.1) -> a new subscription appended to a (the caller
 * keeps ids unique: this does not search a). *out (optional) gets the borrowed
 * subscription, valid until the next one is added. */
int mdc_armjson_subscription(struct mdc_actual *a, const cJSON *item, struct mdc_sub_actual **out,
                             struct mdc_error *err);

/* One entry of a management-group descendants page (§1.3). Writes its kind (subscription or
 * management group), its name (GUID for subscriptions), and the name of its parent group. */
enum mdc_descendant_kind { MDC_DESC_SUBSCRIPTION, MDC_DESC_GROUP, MDC_DESC_MAX };
struct mdc_descendant {
	enum mdc_descendant_kind kind;
	char *name;
	char *parent; /* NULL when absent */
};
int mdc_armjson_descendant(struct mdc_descendant *out, const cJSON *item, struct mdc_error *err);
void mdc_descendant_clear(struct mdc_descendant *d);

/* GET .../pricings (§2.1) -> s->pricings (replaced), s->pricings_read = true. */
int mdc_armjson_pricings(struct mdc_sub_actual *s, const cJSON *body, struct mdc_error *err);
/* One Pricing object (§2.2) into p (zeroed first). */
int mdc_armjson_pricing(struct mdc_pricing *p, const cJSON *obj, struct mdc_error *err);
/* GET .../settings/Sentinel (§3) -> s->sync_enabled and s->sync_fingerprint. */
int mdc_armjson_sentinel_setting(struct mdc_sub_actual *s, const cJSON *body,
                                 struct mdc_error *err);
/* GET /subscriptions/{id}/providers/{ns} (§6.1) -> the registration state. */
int mdc_armjson_provider(enum mdc_provider_state *out, const cJSON *body, struct mdc_error *err);
/* One page of Microsoft.Authorization/permissions (§7.1), appended to p; p->read = true. */
int mdc_armjson_permissions(struct mdc_permissions *p, const cJSON *body, struct mdc_error *err);
/* One page of dataConnectors / alertRules / contentPackages / contentProductPackages,
 * appended to the workspace's arrays. Entries of kinds mdcctl does not reconcile are kept
 * with only their envelope (name, kind, etag). */
int mdc_armjson_connectors(struct mdc_workspace_actual *w, const cJSON *body,
                           struct mdc_error *err);
int mdc_armjson_alert_rules(struct mdc_workspace_actual *w, const cJSON *body,
                            struct mdc_error *err);
/* catalog: contentProductPackages, whose `version` is the available version; otherwise
 * contentPackages, whose installedVersion (else version) is the installed one. */
int mdc_armjson_packages(struct mdc_package **v, size_t *n, const cJSON *body, int catalog,
                         struct mdc_error *err);
/* One object of each kind (GET of a single resource, PUT responses). Zeroes out first. */
int mdc_armjson_connector(struct mdc_connector *c, const cJSON *obj, struct mdc_error *err);
int mdc_armjson_alert_rule(struct mdc_alert_rule *r, const cJSON *obj, struct mdc_error *err);
int mdc_armjson_package(struct mdc_package *p, const cJSON *obj, int catalog,
                        struct mdc_error *err);

/* "sha256:<hex>" of the object's unformatted JSON: the fingerprint of etag-less objects. */
char *mdc_armjson_fingerprint(const cJSON *obj);
/* The nextLink of a page, borrowed, or NULL when absent/null/empty. */
const char *mdc_armjson_next_link(const cJSON *page);

#endif
