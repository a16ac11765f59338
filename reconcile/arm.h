#ifndef MDC_ARM_H
#define MDC_ARM_H
/*
 * Azure Resource Manager calls over the http transport: URLs and api-versions, JSON
 * bodies, paging with nextLink, ARM error bodies. It does not know where tokens come from:
 * the caller passes an authorize hook (auth.c's, or a test's).
 *
 *	mdc_arm_list(arm, "/subscriptions", MDC_API_SUBSCRIPTIONS, NULL, on_page, on_done, me,
 *&err); mdc_arm_run(arm, &err);
 *
 * Callbacks run inside mdc_arm_run and may start more calls. Not thread-safe.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>

#include "error.h"
#include "http.h"

struct mdc_arm;

struct mdc_arm_opts {
	const char *endpoint; /* "https://management.azure.com" (a trailing slash is ignored) */
	struct mdc_http_opts http;
	mdc_http_authorize_fn authorize;
	void *authorize_ctx;
	bool read_only; /* only GETs, alone or in a /batch (drift's guarantee) */
	bool batch;     /* send mdc_arm_batch_get's GETs 20 to a POST /batch (§9.5) */
};

/* Creates the client. Returns 0 and *out (free with mdc_arm_free) or a negative code. */
int mdc_arm_new(struct mdc_arm **out, const struct mdc_arm_opts *opts, struct mdc_error *err);
void mdc_arm_free(struct mdc_arm *arm); /* accepts NULL */
/* The transport (for stats). Borrowed. */
struct mdc_http *mdc_arm_http(struct mdc_arm *arm);
const char *mdc_arm_endpoint(const struct mdc_arm *arm);

/* Completion of one call. status is the HTTP status (0 = no response); body is the parsed
 * JSON response or NULL (empty or not JSON), borrowed for the call; err is NULL on success
 * (1xx-3xx) and otherwise says what failed (method, path, status, ARM code, request id). */
typedef void (*mdc_arm_done_fn)(void *ctx, int status, const cJSON *body,
                                const struct mdc_error *err);

/* Starts one call. path is below the endpoint ("/subscriptions/..."), without a query;
 * api_version is added. body is JSON text or NULL. budget_key: the subscription id whose
 * throttling budget the call spends, or NULL for tenant-level calls. Returns 0, or a
 * negative code (err filled) when the call could not be started (done is then not called). */
int mdc_arm_call(struct mdc_arm *arm, const char *method, const char *path, const char *api_version,
                 const char *body, const char *budget_key, mdc_arm_done_fn done, void *ctx,
                 struct mdc_error *err);

/* One page of a list. Return 0 to continue, or a negative code (with err filled) to stop. */
typedef int (*mdc_arm_page_fn)(void *ctx, const cJSON *page, struct mdc_error *err);
/* End of a list: err is NULL when every page was read. */
typedef void (*mdc_arm_list_done_fn)(void *ctx, const struct mdc_error *err);

/* GETs path and every nextLink after it. extra_query ("$filter=...") may be NULL.
 * A nextLink on another origin than the endpoint is refused (the bearer token never goes
 * to another host). */
int mdc_arm_list(struct mdc_arm *arm, const char *path, const char *api_version,
                 const char *extra_query, const char *budget_key, mdc_arm_page_fn page,
                 mdc_arm_list_done_fn done, void *ctx, struct mdc_error *err);

/*
 * A GET that may travel in an ARM batch (reference §9.5: POST /batch?api-version=2020-06-01,
 * at most 20 requests; undocumented by Azure, hence optional: opts.batch). It completes
 * through done exactly as mdc_arm_call's would: status, body and error of its own
 * sub-response. A sub-request that was throttled or failed on the server, and every GET of a
 * batch that failed as a whole, is sent again alone, with the transport's retries; once ARM
 * refuses a batch with a 4xx (other than 408/429) the client sends single GETs for the rest
 * of its life. Sub-responses feed the budget_key's throttling estimate and a 429's
 * Retry-After pauses it, as standalone responses do; a GET whose budget is paused or nearly
 * spent goes alone, where the transport paces it. Without opts.batch this is mdc_arm_call.
 * Queued GETs leave when 20 are queued, on mdc_arm_batch_flush, and when mdc_arm_run starts:
 * queue them outside callbacks, or flush.
 */
int mdc_arm_batch_get(struct mdc_arm *arm, const char *path, const char *api_version,
                      const char *budget_key, mdc_arm_done_fn done, void *ctx,
                      struct mdc_error *err);
int mdc_arm_batch_flush(struct mdc_arm *arm, struct mdc_error *err);

/* Goes on with a list from a page's nextLink (absolute, same origin as the endpoint), as
 * mdc_arm_list does after its first page. */
int mdc_arm_list_next(struct mdc_arm *arm, const char *next_link, const char *budget_key,
                      mdc_arm_page_fn page, mdc_arm_list_done_fn done, void *ctx,
                      struct mdc_error *err);

/* Drives every call started until none is left (sending queued batch GETs first). */
int mdc_arm_run(struct mdc_arm *arm, struct mdc_error *err);

/* Synchronous call: *status and *body (caller frees with cJSON_Delete; may be NULL).
 * Returns 0 on success or the negative code with err filled (status/body still set when a
 * response arrived). Not from inside a callback. */
int mdc_arm_call_sync(struct mdc_arm *arm, const char *method, const char *path,
                      const char *api_version, const char *body, const char *budget_key,
                      int *status, cJSON **body_out, struct mdc_error *err);

#endif
