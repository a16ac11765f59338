#ifndef MDC_HTTP_H
#define MDC_HTTP_H
/*
 * The HTTP transport: the only user of libcurl. One client drives many requests at once
 * over reused connections with libcurl's multi interface (no thread per request), and
 * retries them as Azure's guidance says (reference §9.2):
 *
 *   - 429 and 503 honour Retry-After (seconds or HTTP date; also retry-after-ms and
 *     x-ms-retry-after-ms), and are retried for every method: the server refused before
 *     acting;
 *   - 408, 500, 502, 504, timeouts and connection resets back off exponentially with full
 *     jitter, for idempotent requests only (GET, HEAD, PUT, DELETE, or flagged);
 *   - connect failures (nothing was sent) are retried for every method;
 *   - attempts are bounded (max_attempts) and so is the time per request (budget_ms);
 *   - waits are timers inside the loop: a waiting request blocks nothing else.
 *
 * Every response's x-ms-ratelimit-remaining-* headers update a per-budget_key estimate;
 * when it runs low, new requests for that key are spaced out so that mdcctl slows down
 * before ARM throttles it; a 429 pauses the key until its Retry-After.
 *
 * TLS is always verified; there is deliberately no option to turn verification off.
 *
 *	struct mdc_http *h;
 *	if (mdc_http_new(&h, &(struct mdc_http_opts){.ca_file = ca}, &err) < 0) ...
 *	mdc_http_submit(h, &(struct mdc_http_request){.method = "GET", .url = u,
 *	                .done = on_done, .ctx = me}, &err);
 *	mdc_http_run(h, &err);     // callbacks run here and may submit more requests
 *	mdc_http_free(h);
 *
 * A client is not thread-safe: use it from one thread.
 */
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "util.h"

struct mdc_http;

/* Gives the value of the Authorization header for one attempt ("Bearer ..."): appends it
 * to *header_value (empty on entry). Called before EVERY attempt, so a token refreshed in
 * the middle of a run is used by retries. Returns 0, or a negative mdc_errcode with err
 * filled; the request then completes with that error and is not retried. */
typedef int (*mdc_http_authorize_fn)(void *ctx, struct mdc_buf *header_value,
                                     struct mdc_error *err);

struct mdc_http_opts {
	const char *ca_file;        /* PEM bundle for CURLOPT_CAINFO (a private CA), or NULL */
	int parallelism;            /* requests in flight (and connections) at most; 0 = 32 */
	int timeout_ms;             /* per attempt; 0 = 30000 */
	int connect_timeout_ms;     /* per attempt; 0 = 10000 */
	int max_attempts;           /* per request; 0 = 6 */
	int budget_ms;              /* total time per request, waits included; 0 = 60000 */
	int backoff_base_ms;        /* first backoff ceiling; 0 = 500 */
	int backoff_cap_ms;         /* largest backoff ceiling; 0 = 10000 */
	const char *user_agent;     /* e.g. "mdcctl/0.1.0"; NULL = "mdcctl" */
	const char *correlation_id; /* x-ms-correlation-request-id; NULL = a random GUID */
	int verbose;                /* 0: no log lines; 1: one per retry; 2: one per attempt */
	void (*log)(void *ctx, const char *line); /* lines never hold secrets or queries */
	void *log_ctx;
};

struct mdc_http_response;

struct mdc_http_request {
	const char *method;               /* "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD" */
	const char *url;                  /* absolute http(s) URL */
	const char *body;                 /* copied; NULL = no body */
	size_t body_len;                  /* 0 with a body = strlen(body) */
	const char *content_type;         /* NULL with a body = "application/json" */
	const struct mdc_kvlist *headers; /* extra request headers, copied; may be NULL */
	bool idempotent;        /* retry on errors where the server may have acted (implied for
	                           GET, HEAD, PUT, DELETE) */
	bool sensitive;         /* the body holds a secret: wiped from memory when freed */
	const char *budget_key; /* throttling budget (the subscription id), or NULL */
	int max_attempts;       /* 0 = the client's */
	int budget_ms;          /* 0 = the client's */
	int timeout_ms;         /* per attempt, connecting included; 0 = the client's */
	mdc_http_authorize_fn authorize; /* NULL = no Authorization header */
	void *authorize_ctx;
	/* Called exactly once when the request is finished (after its retries), from inside
	 * mdc_http_run / mdc_http_do. resp is never NULL; err is NULL on a 1xx-3xx status, and
	 * otherwise says why (transport failure with resp->status 0, or an HTTP error status;
	 * see mdc_http_response_error). resp is valid only during the call; the callback may
	 * take resp->body with mdc_buf_detach. The callback may submit more requests. */
	void (*done)(void *ctx, struct mdc_http_response *resp, const struct mdc_error *err);
	void *ctx;
};

struct mdc_http_response {
	int status;                /* HTTP status, 0 when no response was received */
	struct mdc_kvlist headers; /* response headers, names lower case */
	struct mdc_buf body;
	int attempts;               /* attempts made, >= 1 unless it never started */
	long elapsed_ms;            /* from submit to completion, waits included */
	char client_request_id[37]; /* x-ms-client-request-id of the last attempt */
	const char *request_id;     /* x-ms-request-id, borrowed from headers, or NULL */
	char *method;               /* copies of the request's, for error messages */
	char *url;
};

#define MDC_HTTP_RESPONSE_INIT                                                                     \
	{                                                                                          \
		0, {0}, MDC_BUF_INIT, 0, 0, {0}, NULL, NULL, NULL                                  \
	}

struct mdc_http_stats {
	unsigned long requests;            /* submitted */
	unsigned long completed;           /* done callbacks made */
	unsigned long failed;              /* completed with an error */
	unsigned long attempts;            /* attempts started */
	unsigned long retries;             /* attempts - first attempts */
	unsigned long throttled;           /* 429 responses received */
	unsigned long connections;         /* new connections opened */
	unsigned long long bytes_sent;     /* request bodies and headers */
	unsigned long long bytes_received; /* response bodies and headers */
	unsigned in_flight;                /* attempts on the wire now */
	unsigned queued;                   /* waiting for a slot, a retry timer or a budget */
};

/* Creates a client; opts may be NULL for the defaults. Returns 0 and sets *out (free with
 * mdc_http_free), or a negative mdc_errcode with err filled. */
int mdc_http_new(struct mdc_http **out, const struct mdc_http_opts *opts, struct mdc_error *err);
/* Frees the client; requests still queued are dropped without their callbacks. NULL ok. */
void mdc_http_free(struct mdc_http *h);

/* Queues a request (everything in *req is copied). Returns 0, or MDC_EINVALID (bad method
 * or URL) with err filled, in which case done is never called. */
int mdc_http_submit(struct mdc_http *h, const struct mdc_http_request *req, struct mdc_error *err);
/* Drives every queued request, and those the callbacks submit, to completion. Returns 0
 * (individual failures go to the callbacks), or a negative code when the loop itself
 * failed (or was called from a callback: MDC_EINTERNAL). */
int mdc_http_run(struct mdc_http *h, struct mdc_error *err);
/* Calls fn(ctx) once, from inside the loop, ms milliseconds from now (a poll interval, a
 * wait before retrying); other requests progress meanwhile. A pending timer keeps
 * mdc_http_run running. Dropped without a call by mdc_http_free. */
void mdc_http_timer(struct mdc_http *h, long ms, void (*fn)(void *ctx), void *ctx);
/* Throttling budgets of requests that travel inside another (the GETs of an ARM /batch,
 * reference §9.5), which the transport does not see. mdc_http_budget_take spends one
 * request of key's budget and returns true, or returns false, spending nothing, while key
 * is paused after a 429 or close to empty: that request should then go alone, where the
 * transport paces it. mdc_http_budget_note feeds one such request's response (status and
 * lower-case headers: x-ms-ratelimit-remaining-*, Retry-After) as the transport feeds its
 * own. A NULL key has no budget. */
bool mdc_http_budget_take(struct mdc_http *h, const char *key, const char *method);
void mdc_http_budget_note(struct mdc_http *h, const char *key, int status,
                          const struct mdc_kvlist *headers);
/* Synchronous convenience: submits req (its done/ctx ignored), drives the loop (other
 * queued requests progress too) until it finishes, and moves the result into *resp
 * (caller releases it with mdc_http_response_release). Returns 0 on a 1xx-3xx status, or
 * the negative code with err filled (resp is filled whenever something was received).
 * Must not be called from a callback of the same client. */
int mdc_http_do(struct mdc_http *h, const struct mdc_http_request *req,
                struct mdc_http_response *resp, struct mdc_error *err);
/* Frees what *resp holds; it is MDC_HTTP_RESPONSE_INIT again. */
void mdc_http_response_release(struct mdc_http_response *resp);

/* Turns an error response into err: code from the status (401 MDC_EAUTH, 403
 * MDC_EFORBIDDEN, 404 MDC_ENOTFOUND, 409/412 MDC_ECONFLICT, 429 MDC_ETHROTTLED, else
 * MDC_EHTTP), http_status, arm_code (ARM's error.code or Entra's AADSTS code / error) and
 * request_id; message
 *   "GET /subscriptions/x/providers/...: 409 Conflict (Code): <message> (x-ms-request-id ...)"
 * with the URL's query left out. Returns the code (0 for a status below 400, err untouched). */
int mdc_http_response_error(const struct mdc_http_response *resp, struct mdc_error *err);
/* Parses an ARM ({"error":{"code","message"}}) or Entra ({"error","error_description"})
 * error body: *code and *message get new strings (caller frees) or NULL. */
void mdc_http_parse_error_body(const char *body, size_t len, char **code, char **message);

/* A snapshot of the counters. */
void mdc_http_stats(const struct mdc_http *h, struct mdc_http_stats *stats);
/* The correlation id sent with every request of this client. Borrowed. */
const char *mdc_http_correlation_id(const struct mdc_http *h);
/* One line naming the transport libraries ("libcurl/7.88.1 OpenSSL/3.0.19 ..."), for
 * `mdcctl --version`. Static string. */
const char *mdc_http_library_version(void);

#endif
