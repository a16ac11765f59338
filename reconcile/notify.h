#ifndef MDC_NOTIFY_H
#define MDC_NOTIFY_H
/*
 * The drift notification (`mdcctl drift --notify URL`): a short JSON summary POSTed to a
 * Teams- or Slack-style incoming webhook. Both read "text"; the other fields are for
 * automation (Power Automate, Logic Apps, a custom receiver).
 *
 *	{"text": "mdcctl drift: 3 drifted, 1 pending in tenant 72f9... (workspace law-soc)",
 *	 "drift": 3, "pending": 1, "tenant": "72f9...", "workspace": "/subscriptions/...",
 *	 "commit": "1a2b..." or null, "items": ["sub/.../pricing/Dns", ...]}   // first 20 ids
 *
 * Incoming-webhook URLs are secrets (whoever has one can post): they never appear in
 * error messages, only their scheme and host.
 */
#include <stddef.h>

#include "error.h"
#include "util.h"

#define MDC_NOTIFY_MAX_ITEMS 20

struct mdc_notify_summary {
	const char *tenant;
	const char *workspace; /* ARM path, or NULL */
	const char *commit;    /* git commit, or NULL */
	size_t drift, pending;
	size_t silent;                /* --verify-ingest: connected but silent subscriptions */
	const struct mdc_strvec *ids; /* drifted item ids first, then pending; may be NULL */
};

/* The JSON text of the notification (compact, owned by the caller: free()). */
char *mdc_notify_payload(const struct mdc_notify_summary *s);

struct mdc_notify_opts {
	const char *ca_file;    /* a private CA, or NULL */
	const char *user_agent; /* NULL = "mdcctl" */
	int timeout_ms;         /* whole POST including retries; 0 = 15000 */
};

/* POSTs payload (JSON) to url (http or https; TLS always verified). Returns 0 on a 2xx
 * answer, or a negative code with err naming only the URL's scheme and host and the
 * status. */
int mdc_notify_post(const char *url, const char *payload, const struct mdc_notify_opts *o,
                    struct mdc_error *err);

/* "https://host[:port]" of url (no path, query or user information), in a new string. */
char *mdc_notify_redacted_url(const char *url);

#endif
