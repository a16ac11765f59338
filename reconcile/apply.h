#ifndef MDC_APPLY_H
#define MDC_APPLY_H
/*
 * The apply engine: a plan (plan.h) -> ARM writes, in dependency order, concurrently
 * across subscriptions, resumable. It executes the requests the plan recorded; it never
 * re-plans the whole tenant (only one item, after a stale etag).
 *
 *	struct mdc_apply_result *res = NULL;
 *	if (mdc_apply(&res, arm, plan, &(struct mdc_apply_opts){.progress = show}, &err) < 0)
 *		...;
 *	if (res->failed) write mdc_apply_resume_to_json(plan, res) somewhere;
 *	mdc_apply_result_free(res);
 *
 * Behaviour per item kind (reference/azure-api.md):
 *   provider  POST register, then GET the provider every poll interval until Registered
 *             (bounded: "still Registering after N s" is a failure) (§6.2);
 *   pricing   PUT; a 409 Conflict (another pricing write of the subscription in flight,
 *             §2.7) waits and retries the PUT, bounded; after a 200/201 every
 *             extensions[].operationStatus must not be Failed (§2.6);
 *   sync      PUT (no etag, §3);
 *   connector, incident rule, solution
 *             PUT/DELETE with the etag read when the plan was made (in the body, §4.4);
 *             on 409 the object is read again (GET): if it already matches the request's
 *             after-state the item is done, else the PUT is repeated once with the new
 *             etag; a second 409 fails the item. A connector create first looks for an
 *             AzureSecurityCenter connector of that subscription (kind + subscriptionId,
 *             never by name) and, when one exists, updates that one instead.
 * An item starts when every item it depends on succeeded; when one failed it is skipped
 * ("skipped: <id> failed"). Never two pricing writes of one subscription in flight.
 */
#include <stdbool.h>
#include <stddef.h>

#include "arm.h"
#include "error.h"
#include "plan.h"
#include "util.h"

enum mdc_apply_status {
	MDC_APPLY_NONE,      /* nothing to do: noop item */
	MDC_APPLY_BLOCKED,   /* blocked in the plan: not attempted */
	MDC_APPLY_DONE,      /* done by an earlier run (resume) */
	MDC_APPLY_PENDING,   /* waiting for its dependencies */
	MDC_APPLY_RUNNING,   /* requests in flight (progress events only) */
	MDC_APPLY_APPLIED,   /* the write succeeded */
	MDC_APPLY_UNCHANGED, /* Azure already matched when the item ran (after a re-read) */
	MDC_APPLY_FAILED,
	MDC_APPLY_SKIPPED, /* a dependency failed */
	MDC_APPLY_STATUS_MAX
};

/* One progress event: the item (borrowed from the plan), its new status, and a message
 * (why it failed or was skipped, what a retry waits for; may be NULL). */
struct mdc_apply_event {
	const struct mdc_plan_item *item;
	enum mdc_apply_status status;
	const char *message;
};

struct mdc_apply_opts {
	/* Resume: nitems flags, true for items an earlier run finished; NULL = none. */
	const bool *done;
	/* Provider registration: GET interval (0 = 5000 ms) and bound (0 = 300000 ms). */
	int poll_interval_ms;
	int register_timeout_ms;
	/* Pricing 409 Conflict: wait between PUTs (0 = 5000 ms) and retries (0 = 6). */
	int conflict_wait_ms;
	int conflict_retries;
	/* Called from inside mdc_apply when an item starts, retries, or ends. May be NULL. */
	void (*progress)(void *ctx, const struct mdc_apply_event *ev);
	void *progress_ctx;
};

struct mdc_apply_item_result {
	enum mdc_apply_status status;
	char *message;    /* failure / skip reason, or a note ("already matched"); or NULL */
	int http_status;  /* of the last response, 0 when none */
	char *request_id; /* x-ms-request-id of the failing response, or NULL */
};

struct mdc_apply_counts {
	size_t applied, unchanged, failed, skipped, blocked, done_before;
};

/* Per subscription (plan order; the workspace's items under id NULL, last). */
struct mdc_apply_sub_result {
	char *id;           /* lower-case subscription id, NULL for the workspace */
	char *display_name; /* from the plan, unsanitised; may be NULL */
	struct mdc_apply_counts counts;
	char *first_failure; /* "<item id>: <reason>" of the first failed item, or NULL */
};

struct mdc_apply_result {
	struct mdc_apply_item_result *items; /* one per plan item, same order */
	size_t nitems;
	struct mdc_apply_sub_result *subs;
	size_t nsubs;
	struct mdc_apply_counts counts;
	unsigned long requests, retries; /* transport counters spent by this apply */
	long elapsed_ms;
};

/*
 * Executes the items of plan that apply (mdc_plan_item_applies) and are not marked done
 * in opts->done. Returns 0 and sets *out (caller frees with mdc_apply_result_free) even
 * when items failed (see counts.failed); a negative code with err filled only when apply
 * could not run at all (bad arguments, the transport loop failed).
 */
int mdc_apply(struct mdc_apply_result **out, struct mdc_arm *arm, const struct mdc_plan *plan,
              const struct mdc_apply_opts *opts, struct mdc_error *err);
void mdc_apply_result_free(struct mdc_apply_result *r); /* accepts NULL */

/*
 * The dependency bookkeeping of mdc_apply, exposed for tests and for callers that want
 * to know the order without the network: fills order (plan->nitems entries) with the
 * indices of the items that would run, in an order where every item comes after what it
 * depends on, and returns how many. failed (nitems flags, may be NULL) marks items that
 * fail: their dependents are left out and marked in skipped (nitems flags, may be NULL).
 * done (may be NULL) marks items finished earlier. Items depending on an id the plan does
 * not hold are treated as free of that dependency.
 */
size_t mdc_apply_schedule(size_t *order, const struct mdc_plan *plan, const bool *done,
                          const bool *failed, bool *skipped);

/*
 * Checks that what the plan read is still what Azure holds: re-reads every object the
 * plan touches with the same list/GET endpoints observe uses and compares fingerprints
 * (etag, or mdc_armjson_fingerprint of the body). With done == NULL (a saved plan) that
 * is every fingerprint the plan recorded plus the targets of the items that apply (an
 * object the plan saw absent must still be absent); with done (a resume) only the
 * targets of the remaining items, except objects a finished item wrote and objects of
 * items an earlier run attempted without finishing (attempted, may be NULL): their write
 * may have landed with its answer lost, so a change there may be our own; their
 * requests are safe to repeat (a full PUT of the after-state, or an etag'ed write that
 * re-reads on 409).
 *
 * Appends one message per changed object to stale ("pricing VirtualMachines on <sub>:
 * changed since the plan was made"); fresh when stale->n is unchanged. Returns 0, or a
 * negative code with err filled when Azure could not be read (the caller must then
 * refuse too: freshness is unknown).
 */
int mdc_apply_check_fresh(struct mdc_strvec *stale, struct mdc_arm *arm,
                          const struct mdc_plan *plan, const bool *done, const bool *attempted,
                          struct mdc_error *err);

/*
 * The resume file: {"resume_format_version": 1, "created_at", "plan": <saved plan>,
 * "done": [item ids], "failed": [{"id", "message"}]} (schema/resume.schema.json). done
 * holds the items finished by this run and by the runs before it. Returns pretty JSON
 * text with a final newline, owned by the caller (free()).
 */
char *mdc_apply_resume_to_json(const struct mdc_plan *plan, const struct mdc_apply_result *res,
                               const bool *done_before, time_t now);
/* True if json looks like a resume file (has resume_format_version). */
bool mdc_apply_is_resume(const char *json, size_t len);
/* Reads a resume file: *plan (free with mdc_plan_free), *done and *attempted
 * (plan->nitems flags each, free()): finished items, and items that failed (the write was
 * tried). Unknown item ids are an error. */
int mdc_apply_resume_from_json(struct mdc_plan **plan, bool **done, bool **attempted,
                               const char *json, size_t len, struct mdc_error *err);

/*
 * One apply per workspace per machine: an flock'ed file under $XDG_RUNTIME_DIR/mdcctl
 * (else /tmp/mdcctl-<uid>, created 0700 and checked to be ours) named after a hash of
 * the lower-cased workspace path, holding "pid host start-time command". The lock dies
 * with the process (kill -9 leaves nothing stale behind). Returns 0 and *out, or
 * MDC_EBUSY naming the holder ("workspace '...' is locked by pid 123 on host since ...
 * (mdcctl apply ...)"), or MDC_EIO.
 */
struct mdc_apply_lock;
int mdc_apply_lock_acquire(struct mdc_apply_lock **out, const char *workspace, const char *command,
                           struct mdc_error *err);
/* Releases the lock and frees it; accepts NULL. */
void mdc_apply_lock_release(struct mdc_apply_lock *l);

/* Static names: "applied", "failed", ... */
const char *mdc_apply_status_name(enum mdc_apply_status s);

/* The body of the extensions' PUT after a Free -> Standard change: planned (the plan's
 * JSON body) with every extension of read (the pricing as just read) that it does not name
 * added as read, so that none is dropped by omission. Returns a new string (caller frees),
 * or NULL when either side has no extensions list. Used by mdc_apply; public for tests. */
char *mdc_apply_merge_extensions(const char *planned, const cJSON *read);

#endif
