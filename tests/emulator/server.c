/*
 * The HTTP layer: libmicrohttpd with TLS, one thread per connection (so that clients
 * sleeping on --latency-ms or a slow body never serialise), upload collection, the
 * common ARM headers, latency and faults, the request log, and dispatch to the admin
 * API, the Entra ID endpoints (entra.c) and ARM (arm.c); emu_serve_sub runs an ARM request
 * of a /batch (batch.c) through the same faults, headers and log without a connection.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "emu.h"
#include "entra.h"
#include "url.h"
#include "banned.h"

#define LOG_MAX  200000
#define BODY_MAX (64u << 20)

struct conn {
	char *uri;
	struct mdc_buf body;
	bool started;
	bool too_big; /* the upload passed BODY_MAX: answered 413, the rest is read and dropped */
	double t0;
};

double emu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t emu_rand(struct emu *emu)
{
	/* xorshift64*: deterministic for a given --seed */
	uint64_t x = emu->rng ? emu->rng : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	emu->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *cn = mdc_xcalloc(1, sizeof(*cn));

	cn->uri = mdc_xstrdup(uri);
	cn->body = (struct mdc_buf)MDC_BUF_INIT;
	cn->t0 = emu_now();
	return cn;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	if (!cn)
		return;
	free(cn->uri);
	mdc_buf_release(&cn->body);
	free(cn);
	*con_cls = NULL;
}

static void parse_query(const char *q, struct mdc_kvlist *args)
{
	emu_parse_form(args, q, strlen(q), true); /* ARM reads the first occurrence */
}

void emu_resp_header(struct emu_resp *r, const char *name, const char *value)
{
	mdc_kvlist_set(&r->headers, name, value, true);
}

void emu_resp_json(struct emu_resp *r, int status, const cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);

	r->status = status;
	mdc_buf_reset(&r->body);
	mdc_buf_adds(&r->body, text);
	free(text);
}

void emu_resp_error(struct emu_resp *r, int status, const char *code, const char *fmt, ...)
{
	cJSON *doc = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(doc, "error");
	struct mdc_buf msg = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(err, "code", code);
	cJSON_AddStringToObject(err, "message", msg.ptr);
	emu_resp_json(r, status, doc);
	cJSON_Delete(doc);
	mdc_buf_release(&msg);
}

/* Targeted faults from the admin API: the first match fires and counts down. */
static const cJSON *match_fault(struct emu *emu, const struct emu_req *req)
{
	cJSON *f;

	cJSON_ArrayForEach(f, emu->faults)
	{
		const char *prefix = emu_str(f, "path"), *re = emu_str(f, "pathRegex");
		const char *method = emu_str(f, "method");
		cJSON *count = cJSON_GetObjectItemCaseSensitive(f, "count");

		if (method && strcasecmp(method, req->method))
			continue;
		if (prefix && strncasecmp(req->path, prefix, strlen(prefix)))
			continue;
		if (re) {
			regex_t rx;
			int nomatch;

			if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_ICASE))
				continue;
			nomatch = regexec(&rx, req->path, 0, NULL, 0);
			regfree(&rx);
			if (nomatch)
				continue;
		}
		if (cJSON_IsNumber(count) && count->valuedouble >= 0) {
			if (count->valuedouble < 1)
				continue;
			cJSON_SetNumberValue(count, count->valuedouble - 1);
		}
		return f;
	}
	return NULL;
}

static void fault_response(const struct emu_req *req, struct emu_resp *resp, int status,
                           const char *retry_after)
{
	switch (status) {
	case 429:
		/* the operation type by method: an injected fault does not route the request, so
		 * a collection GET says 'Read' where the token buckets would say 'List' */
		emu_resp_error(resp, 429, "TooManyRequests",
		               "The request is being throttled as the limit has been reached for "
		               "operation type - '%s'. For more information, see - "
		               "https://aka.ms/msdn-throttling",
		               emu_op_name(emu_op_of(req->method)));
		emu_resp_header(resp, "Retry-After", retry_after ? retry_after : "1");
		break;
	case 503:
		emu_resp_error(resp, 503, "ServiceUnavailable",
		               "The server is currently unable to handle the request. Please retry "
		               "the request.");
		emu_resp_header(resp, "Retry-After", retry_after ? retry_after : "1");
		break;
	case 500:
		emu_resp_error(resp, 500, "InternalServerError",
		               "Encountered internal server error. Diagnostic information: "
		               "injected by mdcemu.");
		break;
	default:
		emu_resp_error(resp, status, status == 409 ? "Conflict" : "InjectedFault",
		               "Fault injected by mdcemu.");
	}
}

/* Decides latency-independent faults. Returns true when the request is answered by a fault. */
static bool apply_faults(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	const cJSON *f;
	bool done = false;

	pthread_mutex_lock(&emu->lock);
	f = match_fault(emu, req);
	if (f) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(f, "status");
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(f, "body");
		const cJSON *ra = cJSON_GetObjectItemCaseSensitive(f, "retryAfter");
		char rab[32];

		if (cJSON_IsNumber(ra))
			snprintf(rab, sizeof(rab), "%d", ra->valueint);
		if (cJSON_IsString(st) && !strcasecmp(st->valuestring, "reset")) {
			resp->reset = true;
			done = true;
		} else if (cJSON_IsString(st) && !strcasecmp(st->valuestring, "slow")) {
			resp->slow = true;
		} else if (cJSON_IsNumber(st)) {
			fault_response(req, resp, st->valueint, cJSON_IsNumber(ra) ? rab : NULL);
			if (cJSON_IsObject(body))
				emu_resp_json(resp, st->valueint, body);
			done = true;
		}
	} else if (emu->opts.fault_rate > 0 &&
	           (double)(emu_rand(emu) >> 11) / 9007199254740992.0 < emu->opts.fault_rate) {
		switch (emu_rand(emu) % 5) {
		case 0:
			fault_response(req, resp, 429, "1");
			done = true;
			break;
		case 1:
			fault_response(req, resp, 500, NULL);
			done = true;
			break;
		case 2:
			fault_response(req, resp, 503, NULL);
			done = true;
			break;
		case 3:
			resp->reset = true;
			done = true;
			break;
		default:
			resp->slow = true;
		}
	}
	pthread_mutex_unlock(&emu->lock);
	return done;
}

static bool is_token_path(const char *path, char *tenant, size_t n)
{
	const char *s = path + 1, *slash = strchr(s, '/');

	if (!slash || strcmp(slash, "/oauth2/v2.0/token"))
		return false;
	snprintf(tenant, n, "%.*s", (int)(slash - s), s);
	return true;
}

static void entra_route(struct emu *emu, struct emu_req *req, struct emu_resp *resp, bool *handled)
{
	char tenant[128];
	char *out = NULL;
	int status = 0;

	*handled = true;
	pthread_mutex_lock(&emu->lock);
	if (!strcmp(req->method, "POST") && is_token_path(req->path, tenant, sizeof(tenant)))
		status =
		    entra_token(emu->entra, emu->state, tenant, req->body, req->body_len, &out);
	else if (!strcmp(req->method, "GET") && !strcmp(req->path, "/msi/token"))
		status = entra_msi_token(emu->entra, emu->state, req->query, req->identity_header,
		                         req->msi_secret, &out);
	else if (!strcmp(req->method, "GET") &&
	         (strstr(req->path, "/.well-known/openid-configuration") ||
	          strstr(req->path, "/discovery/")))
		status = entra_discovery(emu->entra, emu->state, req->path, &out);
	else
		*handled = false;
	pthread_mutex_unlock(&emu->lock);
	if (*handled) {
		resp->status = status;
		mdc_buf_adds(&resp->body, out ? out : "");
	}
	free(out);
}

static void log_request(struct emu *emu, const struct emu_req *req, int status, double t0)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "method", req->method);
	cJSON_AddStringToObject(e, "path", req->path);
	cJSON_AddStringToObject(e, "query", req->query);
	cJSON_AddNumberToObject(e, "status", status);
	if (req->oid[0])
		cJSON_AddStringToObject(e, "principal", req->oid);
	else
		cJSON_AddNullToObject(e, "principal");
	cJSON_AddNumberToObject(e, "durationMs", (double)(long)((emu_now() - t0) * 1000));
	pthread_mutex_lock(&emu->lock);
	/* The log holds min(nrequests, LOG_MAX) records (both reset together); counting the
	 * list instead would walk it on every request. */
	if (emu->nrequests >= LOG_MAX)
		cJSON_DeleteItemFromArray(emu->log, 0);
	cJSON_AddItemToArray(emu->log, e);
	emu->nrequests++;
	pthread_mutex_unlock(&emu->lock);
}

struct slow_body {
	char *data;
	size_t len;
};

static ssize_t slow_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct slow_body *sb = cls;
	size_t chunk = sb->len / 8 + 1;

	if (pos >= sb->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (chunk > max)
		chunk = max;
	if (chunk > sb->len - pos)
		chunk = sb->len - (size_t)pos;
	sleep_ms(200); /* about 1.6 s for a whole body */
	memcpy(buf, sb->data + pos, chunk);
	return (ssize_t)chunk;
}

static void slow_free(void *cls)
{
	struct slow_body *sb = cls;

	free(sb->data);
	free(sb);
}

static void common_headers(struct emu_req *req, struct emu_resp *resp)
{
	char id[37], routing[96], stamp[40];
	time_t now = time(NULL);
	struct tm tm;

	mdc_guid_random(id);
	emu_resp_header(resp, "x-ms-request-id", id);
	if (req->correlation_id && *req->correlation_id) {
		emu_resp_header(resp, "x-ms-correlation-request-id", req->correlation_id);
	} else {
		mdc_guid_random(id);
		emu_resp_header(resp, "x-ms-correlation-request-id", id);
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	mdc_guid_random(id);
	snprintf(routing, sizeof(routing), "LOCAL:%s:%s", stamp, id);
	emu_resp_header(resp, "x-ms-routing-request-id", routing);
	if (req->client_request_id && *req->client_request_id)
		emu_resp_header(resp, "x-ms-client-request-id", req->client_request_id);
	emu_resp_header(resp, "Cache-Control", "no-cache");
	emu_resp_header(resp, "Pragma", "no-cache");
	emu_resp_header(resp, "Expires", "-1");
	emu_resp_header(resp, "Strict-Transport-Security", "max-age=31536000; includeSubDomains");
	emu_resp_header(resp, "X-Content-Type-Options", "nosniff");
}

void emu_serve_sub(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	double t0 = emu_now();

	if (!apply_faults(emu, req, resp))
		emu_arm(emu, req, resp);
	if (resp->reset) /* there is no connection of its own to close */
		fault_response(req, resp, 500, NULL);
	resp->reset = resp->slow = false;
	common_headers(req, resp);
	log_request(emu, req, resp->status, t0);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
	struct emu *emu = cls;
	struct conn *cn = *con_cls;
	struct emu_req req = {0};
	struct emu_resp resp = {0};
	struct MHD_Response *r;
	const char *q;
	char *path;
	enum MHD_Result ret;
	bool handled = false, admin;

	if (!cn)
		return MHD_NO;
	if (!cn->started) {
		cn->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (cn->too_big || cn->body.len + *upload_size > BODY_MAX) {
			cn->too_big = true;
			mdc_buf_release(&cn->body);
		} else {
			mdc_buf_add(&cn->body, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}

	q = strchr(cn->uri, '?');
	path = emu_pct_decode(cn->uri, q ? (size_t)(q - cn->uri) : strlen(cn->uri), false);
	/* "//subscriptions//{id}/" routes, is authorised and links as "/subscriptions/{id}" */
	emu_normalize_path(path);
	req.method = method;
	req.path = path;
	req.query = q ? q + 1 : "";
	parse_query(req.query, &req.args);
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	req.correlation_id =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-ms-correlation-request-id");
	req.client_request_id =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-ms-client-request-id");
	req.identity_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-IDENTITY-HEADER");
	req.msi_secret = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "secret");
	req.body = cn->body.ptr;
	req.body_len = cn->body.len;
	resp.body = (struct mdc_buf)MDC_BUF_INIT;

	admin = !strncmp(path, "/_emulator/", 11) || !strcmp(path, "/_emulator");
	if (cn->too_big) {
		/* UNCERTAIN: ARM's code and text for an oversized request body */
		emu_resp_error(&resp, 413, "RequestEntityTooLarge",
		               "The request content size exceeds the maximum allowed size of %u "
		               "bytes.",
		               BODY_MAX);
		if (!admin)
			common_headers(&req, &resp);
	} else if (admin) {
		emu_admin(emu, &req, &resp);
	} else {
		if (emu->opts.latency_ms > 0)
			sleep_ms(emu->opts.latency_ms);
		entra_route(emu, &req, &resp, &handled);
		if (!handled && !apply_faults(emu, &req, &resp) &&
		    !emu_loganalytics(emu, &req, &resp))
			emu_arm(emu, &req, &resp);
		common_headers(&req, &resp);
	}

	if (resp.reset) {
		if (!admin)
			log_request(emu, &req, 0, cn->t0);
		ret = MHD_NO; /* libmicrohttpd closes the connection without an answer */
		goto cleanup;
	}
	if (resp.slow && resp.body.len) {
		struct slow_body *sb = mdc_xmalloc(sizeof(*sb));

		sb->len = resp.body.len;
		sb->data = mdc_buf_detach(&resp.body);
		r = MHD_create_response_from_callback(sb->len, 4096, slow_reader, sb, slow_free);
	} else {
		r = MHD_create_response_from_buffer(resp.body.len, resp.body.ptr,
		                                    MHD_RESPMEM_MUST_COPY);
	}
	if (resp.body.len || resp.slow || resp.status != 204)
		MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	for (size_t i = 0; i < resp.headers.n; i++)
		MHD_add_response_header(r, resp.headers.v[i].key, resp.headers.v[i].value);
	ret = MHD_queue_response(c, (unsigned)(resp.status ? resp.status : 500), r);
	MHD_destroy_response(r);
	if (!admin) /* the log shows the traffic under test, not the test's own admin calls */
		log_request(emu, &req, resp.status, cn->t0);
cleanup:
	mdc_kvlist_clear(&req.args);
	mdc_kvlist_clear(&resp.headers);
	mdc_buf_release(&resp.body);
	free(path);
	return ret;
}

void *emu_server_start(struct emu *emu, int listen_fd, const char *cert_pem, const char *key_pem)
{
	return MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL,
	    NULL, handler, emu, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_HTTPS_MEM_KEY,
	    key_pem, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)2048, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_log, emu, MHD_OPTION_NOTIFY_COMPLETED, completed, emu,
	    MHD_OPTION_END);
}

void emu_server_stop(void *daemon)
{
	if (daemon)
		MHD_stop_daemon(daemon);
}
