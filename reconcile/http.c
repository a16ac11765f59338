#include "http.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define DEFAULT_PARALLELISM 32
#define DEFAULT_TIMEOUT_MS  30000
#define DEFAULT_CONNECT_MS  10000
#define DEFAULT_ATTEMPTS    6
#define DEFAULT_BUDGET_MS   60000
#define DEFAULT_BASE_MS     500
#define DEFAULT_CAP_MS      10000
#define MAX_BODY            (256u << 20) /* a response larger than this is refused */
#define MAX_KEY_DELAY_MS    5000

/* Operation types of ARM's throttling buckets (reference §9.2). */
enum { CAT_READS, CAT_WRITES, CAT_DELETES, CAT_MAX };
static const char *const cat_names[CAT_MAX] = {"reads", "writes", "deletes"};
static const double cat_capacity[CAT_MAX] = {250, 200, 200};
static const double cat_refill[CAT_MAX] = {25, 10, 10}; /* per second */

/* The estimate of one throttling budget (one subscription, or one budget_key). */
struct budget {
	char *key;
	struct {
		int known;
		double est;          /* requests left, on the subscription scale */
		long long at;        /* when est was last brought up to date */
		long long next_slot; /* the next request may start at this time */
	} cat[CAT_MAX];
	long long paused_until; /* a 429 for the key: nothing starts before this */
};

struct xfer {
	struct mdc_http *h;
	struct xfer *next;                /* in the ready queue */
	struct xfer *prev_run, *next_run; /* in the list of attempts on the wire */
	char *method, *url, *body, *content_type, *budget_key;
	size_t body_len;
	struct mdc_strvec headers; /* "Name: value" lines */
	bool retry_unsafe;         /* idempotent: may retry when the server may have acted */
	bool sensitive;
	int max_attempts;
	long long budget_ms;
	long timeout_ms, connect_timeout_ms;
	mdc_http_authorize_fn authorize;
	void *authorize_ctx;
	void (*done)(void *, struct mdc_http_response *, const struct mdc_error *);
	void *ctx;

	long long submitted, deadline, not_before;
	unsigned long long seq; /* FIFO order among equal timers */
	bool reserved;          /* its budget slot is already taken */
	CURL *easy;
	struct curl_slist *slist;
	struct mdc_http_response resp;
	char errbuf[CURL_ERROR_SIZE];
	bool too_large;
	void (*timer_fn)(void *ctx); /* set: not a request but a timer (mdc_http_timer) */
};

struct mdc_http {
	CURLM *multi;
	struct mdc_http_opts o;
	char *ca_file, *user_agent;
	char correlation_id[37];
	uint64_t rng;
	unsigned long long seq;
	int loop_depth;

	struct xfer *ready_head, *ready_tail;
	size_t nready;
	struct xfer *running; /* attempts on the wire, for mdc_http_free */
	struct xfer **heap;   /* timers: min-heap on (not_before, seq) */
	size_t heap_n, heap_alloc;

	int epfd;           /* epoll: the sockets libcurl asked to watch */
	long long curl_due; /* when libcurl wants its timeout action; -1 = never */
	CURL **idle;        /* finished easy handles, reset, for the next attempt */
	size_t nidle, idle_alloc;
	struct mdc_buf *spare; /* large response buffers, emptied, for the next response */
	size_t nspare, spare_alloc;
	struct mdc_buf authz, line; /* an attempt's Authorization value and header lines */

	struct budget **budgets; /* open addressing on key */
	size_t nbudgets, budgets_alloc;

	struct mdc_http_stats st;
};

/* --- time, randomness --------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: request ids and jitter need to be unpredictable enough, not secret. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t *s)
{
	struct timespec ts;
	uint64_t seed = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &seed, sizeof(seed)) != (ssize_t)sizeof(seed))
			seed = 0;
		close(fd);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	*s = seed ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
}

static void guid_random(uint64_t *s, char out[37])
{
	unsigned char b[16];
	uint64_t a = rng_next(s), c = rng_next(s);

	memcpy(b, &a, 8);
	memcpy(b + 8, &c, 8);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	mdc_guid_format(out, b);
}

/* --- logging ------------------------------------------------------------------------ */

/* The URL without scheme, host and query: what error messages and logs show. */
static void url_path(struct mdc_buf *b, const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? strchr(p + 3, '/') : url;
	if (!p)
		p = "/";
	n = strcspn(p, "?#");
	mdc_buf_add(b, p, n);
}

__attribute__((format(printf, 3, 4))) static void logf_(struct mdc_http *h, int level,
                                                        const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	if (!h->o.log || h->o.verbose < level)
		return;
	mdc_buf_adds(&b, "http: ");
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	h->o.log(h->o.log_ctx, b.ptr);
	mdc_buf_release(&b);
}

/* --- the timer heap and the ready queue ---------------------------------------------- */

static bool heap_less(const struct xfer *a, const struct xfer *b)
{
	return a->not_before < b->not_before || (a->not_before == b->not_before && a->seq < b->seq);
}

static void heap_push(struct mdc_http *h, struct xfer *x)
{
	size_t i;

	MDC_ALLOC_GROW(h->heap, h->heap_n + 1, h->heap_alloc);
	i = h->heap_n++;
	while (i && heap_less(x, h->heap[(i - 1) / 2])) {
		h->heap[i] = h->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->heap[i] = x;
}

static struct xfer *heap_pop(struct mdc_http *h)
{
	struct xfer *top = h->heap[0], *last = h->heap[--h->heap_n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->heap_n)
			break;
		if (c + 1 < h->heap_n && heap_less(h->heap[c + 1], h->heap[c]))
			c++;
		if (!heap_less(h->heap[c], last))
			break;
		h->heap[i] = h->heap[c];
		i = c;
	}
	if (h->heap_n)
		h->heap[i] = last;
	return top;
}

static void ready_push(struct mdc_http *h, struct xfer *x)
{
	x->next = NULL;
	if (h->ready_tail)
		h->ready_tail->next = x;
	else
		h->ready_head = x;
	h->ready_tail = x;
	h->nready++;
}

static struct xfer *ready_pop(struct mdc_http *h)
{
	struct xfer *x = h->ready_head;

	if (x) {
		h->ready_head = x->next;
		if (!h->ready_head)
			h->ready_tail = NULL;
		x->next = NULL;
		h->nready--;
	}
	return x;
}

/* --- throttling budgets -------------------------------------------------------------- */

static size_t hash_str(const char *s)
{
	size_t v = 1469598103934665603ULL;

	for (; *s; s++)
		v = (v ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ULL;
	return v;
}

static struct budget *budget_get(struct mdc_http *h, const char *key, bool create)
{
	size_t i;

	if (!key || !*key)
		return NULL;
	if (create && (h->nbudgets + 1) * 10 >= h->budgets_alloc * 7) {
		size_t nalloc = h->budgets_alloc ? h->budgets_alloc * 2 : 64;
		struct budget **nb = mdc_xcalloc(nalloc, sizeof(*nb));
		for (size_t j = 0; j < h->budgets_alloc; j++) {
			if (!h->budgets[j])
				continue;
			i = hash_str(h->budgets[j]->key) & (nalloc - 1);
			while (nb[i])
				i = (i + 1) & (nalloc - 1);
			nb[i] = h->budgets[j];
		}
		free(h->budgets);
		h->budgets = nb;
		h->budgets_alloc = nalloc;
	}
	if (!h->budgets_alloc)
		return NULL;
	i = hash_str(key) & (h->budgets_alloc - 1);
	while (h->budgets[i]) {
		if (!strcasecmp(h->budgets[i]->key, key))
			return h->budgets[i];
		i = (i + 1) & (h->budgets_alloc - 1);
	}
	if (!create)
		return NULL;
	h->budgets[i] = mdc_xcalloc(1, sizeof(struct budget));
	h->budgets[i]->key = mdc_xstrdup(key);
	h->nbudgets++;
	return h->budgets[i];
}

static int method_cat(const char *method)
{
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		return CAT_READS;
	if (!strcmp(method, "DELETE"))
		return CAT_DELETES;
	return CAT_WRITES;
}

static void budget_refill(struct budget *b, int c, long long now)
{
	if (!b->cat[c].known || now <= b->cat[c].at)
		return;
	b->cat[c].est += cat_refill[c] * (double)(now - b->cat[c].at) / 1000.0;
	if (b->cat[c].est > cat_capacity[c])
		b->cat[c].est = cat_capacity[c];
	b->cat[c].at = now;
}

/*
 * Takes a start slot for x in its budget and returns it (now when there is no reason to
 * wait). Below 10% of the bucket the spacing grows in proportion to how little is left,
 * from 0 to one refill interval (40 ms for reads) at zero and more below zero, which is the
 * rate ARM refills at: the requests keep flowing at the speed ARM allows instead of
 * running into 429s.
 */
static long long budget_reserve(struct mdc_http *h, struct xfer *x, long long now)
{
	struct budget *b = budget_get(h, x->budget_key, false);
	int c = method_cat(x->method);
	long long slot = now, interval = 0;
	double low;

	if (!b)
		return now;
	if (b->paused_until > slot)
		slot = b->paused_until;
	if (!b->cat[c].known)
		return slot;
	budget_refill(b, c, now);
	low = cat_capacity[c] / 10;
	if (b->cat[c].est < low) {
		double d = (low - b->cat[c].est) / low * 1000.0 / cat_refill[c];
		interval = d > MAX_KEY_DELAY_MS ? MAX_KEY_DELAY_MS : (long long)d;
	}
	if (b->cat[c].next_slot > slot)
		slot = b->cat[c].next_slot;
	b->cat[c].next_slot = slot + interval;
	b->cat[c].est -= 1;
	return slot;
}

/* Reads x-ms-ratelimit-remaining-{subscription,tenant}[-global]-{reads,writes,deletes}
 * (names lower case) into key's budget. */
static void budget_update(struct mdc_http *h, const char *key, const struct mdc_kvlist *hd,
                          long long now)
{
	static const char prefix[] = "x-ms-ratelimit-remaining-";
	double best[CAT_MAX];
	struct budget *b;

	for (int c = 0; c < CAT_MAX; c++)
		best[c] = -1;
	for (size_t i = 0; i < hd->n; i++) {
		const char *k = hd->v[i].key, *rest;
		double scale = 1, v;
		char *end;
		int c;

		if (strncmp(k, prefix, sizeof(prefix) - 1))
			continue;
		rest = k + sizeof(prefix) - 1;
		if (!strncmp(rest, "subscription-", 13))
			rest += 13;
		else if (!strncmp(rest, "tenant-", 7))
			rest += 7;
		else
			continue;
		if (!strncmp(rest, "global-", 7)) {
			rest += 7;
			scale = 15; /* the global limit is 15 x the per-principal one */
		}
		for (c = 0; c < CAT_MAX && strcmp(rest, cat_names[c]); c++)
			;
		if (c == CAT_MAX)
			continue;
		errno = 0;
		v = strtod(hd->v[i].value, &end);
		if (end == hd->v[i].value || errno)
			continue;
		v /= scale;
		if (best[c] < 0 || v < best[c])
			best[c] = v;
	}
	for (int c = 0; c < CAT_MAX; c++) {
		if (best[c] < 0)
			continue;
		if (!(b = budget_get(h, key, true)))
			return;
		b->cat[c].known = 1;
		b->cat[c].est = best[c];
		b->cat[c].at = now;
	}
}

/* --- curl callbacks ------------------------------------------------------------------ */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	if (x->resp.body.len + n > MAX_BODY) {
		x->too_large = true;
		return 0;
	}
	if (!x->resp.body.alloc && x->h->nspare)
		x->resp.body = x->h->spare[--x->h->nspare];
	mdc_buf_add(&x->resp.body, ptr, n);
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb, k, v, e;
	char *name, *value;

	if (n >= 5 && !strncmp(ptr, "HTTP/", 5)) {
		/* A new status line (after a 100 Continue, say): forget earlier headers. */
		mdc_kvlist_clear(&x->resp.headers);
		return n;
	}
	for (k = 0; k < n && ptr[k] != ':'; k++)
		;
	if (k == 0 || k == n)
		return n;
	for (v = k + 1; v < n && (ptr[v] == ' ' || ptr[v] == '\t'); v++)
		;
	for (e = n; e > v && (ptr[e - 1] == '\r' || ptr[e - 1] == '\n' || ptr[e - 1] == ' '); e--)
		;
	name = mdc_xstrndup(ptr, k);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	value = mdc_xstrndup(ptr + v, e - v);
	mdc_kvlist_set(&x->resp.headers, name, value, false);
	free(name);
	free(value);
	return n;
}

/* --- requests ------------------------------------------------------------------------ */

static void wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

/* An easy handle for an attempt: a reset one from the pool when there is one. Creating a
 * handle per attempt costs more CPU than the request itself on a reused connection;
 * curl_easy_reset keeps nothing of the last request's options or headers. */
static CURL *easy_get(struct mdc_http *h)
{
	if (h->nidle)
		return h->idle[--h->nidle];
	return curl_easy_init();
}

static void easy_put(struct mdc_http *h, CURL *e)
{
	if (h->nidle >= (size_t)h->o.parallelism) {
		curl_easy_cleanup(e);
		return;
	}
	curl_easy_reset(e);
	MDC_ALLOC_GROW(h->idle, h->nidle + 1, h->idle_alloc);
	h->idle[h->nidle++] = e;
}

static void run_link(struct mdc_http *h, struct xfer *x)
{
	x->prev_run = NULL;
	x->next_run = h->running;
	if (h->running)
		h->running->prev_run = x;
	h->running = x;
}

static void run_unlink(struct mdc_http *h, struct xfer *x)
{
	if (x->prev_run)
		x->prev_run->next_run = x->next_run;
	else if (h->running == x)
		h->running = x->next_run;
	if (x->next_run)
		x->next_run->prev_run = x->prev_run;
	x->prev_run = x->next_run = NULL;
}

/*
 * Keeps a large response buffer for the next response instead of freeing it: freeing
 * chunks this size makes glibc consolidate its small-chunk bins, which the JSON trees of
 * every response fill (a tenant read spent ~6 % of its CPU there). Not after a request
 * that carried a secret, whose response may hold a token.
 */
#define SPARE_MIN (16u << 10)
#define SPARE_MAX (4u << 20)

static void spare_put(struct mdc_http *h, struct xfer *x)
{
	struct mdc_buf *b = &x->resp.body;

	if (x->sensitive || b->alloc < SPARE_MIN || b->alloc > SPARE_MAX ||
	    h->nspare >= (size_t)h->o.parallelism)
		return;
	MDC_ALLOC_GROW(h->spare, h->nspare + 1, h->spare_alloc);
	b->len = 0;
	b->ptr[0] = '\0';
	h->spare[h->nspare++] = *b;
	*b = (struct mdc_buf)MDC_BUF_INIT;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy) {
		run_unlink(x->h, x);
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->slist);
	if (x->sensitive)
		wipe(x->body, x->body_len);
	free(x->body);
	free(x->method);
	free(x->url);
	free(x->content_type);
	free(x->budget_key);
	mdc_strvec_clear(&x->headers);
	spare_put(x->h, x);
	mdc_http_response_release(&x->resp);
	free(x);
}

static void schedule(struct mdc_http *h, struct xfer *x, long long at)
{
	x->not_before = at;
	x->seq = h->seq++;
	if (at <= now_ms())
		ready_push(h, x);
	else
		heap_push(h, x);
}

static bool valid_header_text(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

int mdc_http_submit(struct mdc_http *h, const struct mdc_http_request *req, struct mdc_error *err)
{
	static const char *const methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"};
	struct xfer *x;
	bool known = false;

	for (size_t i = 0; req->method && i < sizeof(methods) / sizeof(methods[0]); i++)
		known |= !strcmp(req->method, methods[i]);
	if (!known)
		return mdc_error_set(err, MDC_EINVALID, "unsupported HTTP method '%s'",
		                     req->method ? req->method : "(null)");
	if (!req->url || (strncmp(req->url, "https://", 8) && strncmp(req->url, "http://", 7)))
		return mdc_error_set(err, MDC_EINVALID, "not an http(s) URL");
	if (!valid_header_text(req->url))
		return mdc_error_set(err, MDC_EINVALID, "URL holds a line break");
	if (req->headers)
		for (size_t i = 0; i < req->headers->n; i++)
			if (!valid_header_text(req->headers->v[i].key) ||
			    !valid_header_text(req->headers->v[i].value))
				return mdc_error_set(err, MDC_EINVALID,
				                     "header '%s' holds a line break",
				                     req->headers->v[i].key);

	x = mdc_xcalloc(1, sizeof(*x));
	x->h = h;
	x->method = mdc_xstrdup(req->method);
	x->url = mdc_xstrdup(req->url);
	if (req->body) {
		x->body_len = req->body_len ? req->body_len : strlen(req->body);
		x->body = mdc_xstrndup(req->body, x->body_len);
		x->content_type =
		    mdc_xstrdup(req->content_type ? req->content_type : "application/json");
	}
	if (req->headers)
		for (size_t i = 0; i < req->headers->n; i++)
			mdc_strvec_push_owned(&x->headers,
			                      mdc_xasprintf("%s: %s", req->headers->v[i].key,
			                                    req->headers->v[i].value));
	x->retry_unsafe =
	    req->idempotent || (strcmp(req->method, "POST") && strcmp(req->method, "PATCH"));
	x->sensitive = req->sensitive;
	x->budget_key = req->budget_key ? mdc_xstrdup(req->budget_key) : NULL;
	x->max_attempts = req->max_attempts > 0 ? req->max_attempts : h->o.max_attempts;
	x->budget_ms = req->budget_ms > 0 ? req->budget_ms : h->o.budget_ms;
	x->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : h->o.timeout_ms;
	x->connect_timeout_ms = req->timeout_ms > 0 && req->timeout_ms < h->o.connect_timeout_ms
	                            ? req->timeout_ms
	                            : h->o.connect_timeout_ms;
	x->authorize = req->authorize;
	x->authorize_ctx = req->authorize_ctx;
	x->done = req->done;
	x->ctx = req->ctx;
	x->resp = (struct mdc_http_response)MDC_HTTP_RESPONSE_INIT;
	x->resp.method = mdc_xstrdup(x->method);
	x->resp.url = mdc_xstrdup(x->url);
	x->submitted = now_ms();
	x->deadline = x->submitted + x->budget_ms;
	h->st.requests++;
	schedule(h, x, x->submitted);
	return 0;
}

static void finish(struct mdc_http *h, struct xfer *x, const struct mdc_error *err)
{
	x->resp.elapsed_ms = (long)(now_ms() - x->submitted);
	x->resp.request_id = mdc_kvlist_get(&x->resp.headers, "x-ms-request-id", false);
	h->st.completed++;
	if (err)
		h->st.failed++;
	if (x->done)
		x->done(x->ctx, &x->resp, err);
	xfer_free(x);
}

static void finish_error(struct mdc_http *h, struct xfer *x, struct mdc_error *err)
{
	finish(h, x, err);
	mdc_error_clear(err);
}

/* Starts one attempt of x; on failure (the authorize hook said no) x is finished. */
static void start_attempt(struct mdc_http *h, struct xfer *x)
{
	struct mdc_error err = MDC_ERROR_INIT;
	/* Reused, wiped after each use: a token-sized allocation per attempt makes glibc
	 * consolidate its small-chunk bins every time. */
	struct mdc_buf *auth = &h->authz, *line = &h->line;
	struct curl_slist *sl = NULL;
	CURL *e;
	long remaining = (long)(x->deadline - now_ms());

	mdc_buf_reset(auth);
	mdc_buf_reset(line);
	if (x->authorize) {
		if (x->authorize(x->authorize_ctx, auth, &err) < 0) {
			/* The hook may have written part of a header ("Bearer ") before failing. */
			wipe(auth->ptr, auth->len);
			mdc_buf_reset(auth);
			if (!err.code)
				mdc_error_set(&err, MDC_EAUTH, "no access token");
			finish_error(h, x, &err);
			return;
		}
	}
	guid_random(&h->rng, x->resp.client_request_id);
	mdc_kvlist_clear(&x->resp.headers);
	mdc_buf_reset(&x->resp.body);
	x->resp.status = 0;
	x->too_large = false;
	x->errbuf[0] = '\0';

	if (auth->len) {
		mdc_buf_adds(line, "Authorization: ");
		mdc_buf_add(line, auth->ptr, auth->len);
		sl = curl_slist_append(sl, line->ptr);
		wipe(line->ptr, line->len);
		wipe(auth->ptr, auth->len);
		mdc_buf_reset(auth);
	}
	mdc_buf_reset(line);
	mdc_buf_addf(line, "x-ms-client-request-id: %s", x->resp.client_request_id);
	sl = curl_slist_append(sl, line->ptr);
	mdc_buf_reset(line);
	mdc_buf_addf(line, "x-ms-correlation-request-id: %s", h->correlation_id);
	sl = curl_slist_append(sl, line->ptr);
	mdc_buf_reset(line);
	sl = curl_slist_append(sl, "Accept: application/json");
	sl = curl_slist_append(sl, "Expect:");
	if (x->content_type) {
		mdc_buf_addf(line, "Content-Type: %s", x->content_type);
		sl = curl_slist_append(sl, line->ptr);
	}
	mdc_buf_reset(line);
	for (size_t i = 0; i < x->headers.n; i++)
		sl = curl_slist_append(sl, x->headers.v[i]);
	curl_slist_free_all(x->slist);
	x->slist = sl;

	e = easy_get(h);
	if (!e || !sl) {
		if (e)
			easy_put(h, e);
		mdc_error_set(&err, MDC_EINTERNAL, "cannot create a curl handle");
		finish_error(h, x, &err);
		return;
	}
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* never carry a token elsewhere */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	/* TLS verification stays on: there is no switch for it, only a CA to trust. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->connect_timeout_ms);
	if (remaining < 1)
		remaining = 1;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	                 remaining < x->timeout_ms ? remaining : x->timeout_ms);
	if (!strcmp(x->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(x->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
		if (x->body || !strcmp(x->method, "POST") || !strcmp(x->method, "PUT") ||
		    !strcmp(x->method, "PATCH")) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		}
	}
	x->resp.attempts++;
	h->st.attempts++;
	if (x->resp.attempts > 1)
		h->st.retries++;
	h->st.in_flight++;
	run_link(h, x);
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		h->st.in_flight--;
		run_unlink(h, x);
		easy_put(h, e);
		x->easy = NULL;
		mdc_error_set(&err, MDC_EINTERNAL, "cannot add a curl handle");
		finish_error(h, x, &err);
	}
}

/* --- retry decisions ----------------------------------------------------------------- */

/* Milliseconds the server asked to wait, or -1. */
static long long retry_after_ms(const struct mdc_kvlist *hd)
{
	const char *v;
	char *end;

	for (int i = 0; i < 2; i++) {
		v = mdc_kvlist_get(hd, i ? "x-ms-retry-after-ms" : "retry-after-ms", false);
		if (v) {
			long long ms = strtoll(v, &end, 10);
			if (end != v && ms >= 0)
				return ms;
		}
	}
	v = mdc_kvlist_get(hd, "retry-after", false);
	if (!v)
		return -1;
	if (isdigit((unsigned char)*v)) {
		double s = strtod(v, &end);
		if (end != v && s >= 0 && s < 86400)
			return (long long)(s * 1000);
		return -1;
	} else {
		time_t when = curl_getdate(v, NULL), now = time(NULL);
		if (when < 0)
			return -1;
		return when > now ? (long long)(when - now) * 1000 : 0;
	}
}

static long long backoff_ms(struct mdc_http *h, int attempt)
{
	long long ceil = h->o.backoff_base_ms;

	for (int i = 1; i < attempt && ceil < h->o.backoff_cap_ms; i++)
		ceil *= 2;
	if (ceil > h->o.backoff_cap_ms)
		ceil = h->o.backoff_cap_ms;
	/* Full jitter: uniform in [0, ceil], so that many clients do not retry in step. */
	return (long long)(rng_next(&h->rng) % (uint64_t)(ceil + 1));
}

/* --- budgets of requests that travel inside another (ARM /batch, reference §9.5) ------ */

bool mdc_http_budget_take(struct mdc_http *h, const char *key, const char *method)
{
	struct budget *b = budget_get(h, key, false);
	int c = method_cat(method);
	long long now;

	if (!b)
		return true;
	now = now_ms();
	if (b->paused_until > now)
		return false;
	if (!b->cat[c].known)
		return true;
	budget_refill(b, c, now);
	if (b->cat[c].est < cat_capacity[c] / 10 || b->cat[c].next_slot > now)
		return false; /* near the end: alone, where budget_reserve spaces it */
	b->cat[c].est -= 1;
	return true;
}

void mdc_http_budget_note(struct mdc_http *h, const char *key, int status,
                          const struct mdc_kvlist *headers)
{
	long long now = now_ms(), ra;
	struct budget *b;

	budget_update(h, key, headers, now);
	if (status != 429)
		return;
	h->st.throttled++;
	if ((ra = retry_after_ms(headers)) < 0)
		ra = backoff_ms(h, 1);
	if ((b = budget_get(h, key, true)) && b->paused_until < now + ra)
		b->paused_until = now + ra;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status >= 500 ? "Server Error" : "Error";
	}
}

/* An attempt of x ended with curl result rc: retry it, or finish it. */
static void attempt_done(struct mdc_http *h, struct xfer *x, CURLcode rc)
{
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_buf path = MDC_BUF_INIT;
	long status = 0, nconn = 0;
	curl_off_t up = 0, down = 0, req_size = 0, hdr_size = 0;
	long long now = now_ms(), wait = -1;
	bool retry = false, sent = true;
	const char *why = NULL;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &nconn);
	curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
	{
		long rs = 0, hs = 0;
		curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &rs);
		curl_easy_getinfo(x->easy, CURLINFO_HEADER_SIZE, &hs);
		req_size = rs;
		hdr_size = hs;
	}
	h->st.in_flight--;
	run_unlink(h, x);
	h->st.connections += (unsigned long)nconn;
	h->st.bytes_sent += (unsigned long long)(up + req_size);
	h->st.bytes_received += (unsigned long long)(down + hdr_size);
	curl_multi_remove_handle(h->multi, x->easy);
	easy_put(h, x->easy);
	x->easy = NULL;
	curl_slist_free_all(x->slist);
	x->slist = NULL;
	url_path(&path, x->url);

	if (rc == CURLE_OK) {
		x->resp.status = (int)status;
		budget_update(h, x->budget_key, &x->resp.headers, now);
		if (status == 429)
			h->st.throttled++;
		if (status == 429 || status == 503) {
			long long ra = retry_after_ms(&x->resp.headers);
			struct budget *b;
			retry = true;
			wait = ra >= 0 ? ra : backoff_ms(h, x->resp.attempts);
			if (status == 429 && (b = budget_get(h, x->budget_key, true)) &&
			    b->paused_until < now + wait)
				b->paused_until = now + wait;
			why = status == 429 ? "throttled" : "unavailable";
		} else if (status == 408 || status == 500 || status == 502 || status == 504) {
			retry = x->retry_unsafe;
			why = "server error";
		}
	} else {
		/* Nothing reached the server when curl could not connect or sent no bytes: any
		 * method can be retried. Otherwise the server may have acted. */
		sent = req_size > 0;
		switch (rc) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			sent = false;
			retry = true;
			break;
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			retry = !sent || x->retry_unsafe;
			break;
		default: /* TLS verification, bad URL, too large...: retrying cannot help */
			retry = false;
			break;
		}
		why = curl_easy_strerror(rc);
	}

	if (retry) {
		if (wait < 0)
			wait = backoff_ms(h, x->resp.attempts);
		if (x->resp.attempts >= x->max_attempts || now + wait >= x->deadline)
			retry = false;
	}
	if (retry) {
		if (rc == CURLE_OK)
			logf_(h, 1, "%s %s: %s %ld, retrying in %lld ms (attempt %d of %d)",
			      x->method, path.ptr, why, status, wait, x->resp.attempts,
			      x->max_attempts);
		else
			logf_(h, 1, "%s %s: %s, retrying in %lld ms (attempt %d of %d)", x->method,
			      path.ptr, why, wait, x->resp.attempts, x->max_attempts);
		mdc_buf_release(&path);
		x->reserved = false;
		schedule(h, x, now + wait);
		return;
	}

	if (rc != CURLE_OK) {
		int code = MDC_ENET;
		if (x->too_large)
			code = MDC_EIO;
		mdc_error_set(&err, code, "%s %s: %s%s%s (after %d attempt%s)", x->method, path.ptr,
		              curl_easy_strerror(rc), x->errbuf[0] ? ": " : "", x->errbuf,
		              x->resp.attempts, x->resp.attempts == 1 ? "" : "s");
		logf_(h, 1, "%s", err.message);
		mdc_buf_release(&path);
		finish_error(h, x, &err);
		return;
	}
	logf_(h, 2, "%s %s: %ld in %lld ms (attempt %d%s%s)", x->method, path.ptr, status,
	      now - x->submitted, x->resp.attempts,
	      mdc_kvlist_get(&x->resp.headers, "x-ms-request-id", false) ? ", x-ms-request-id "
	                                                                 : "",
	      mdc_kvlist_get(&x->resp.headers, "x-ms-request-id", false)
	          ? mdc_kvlist_get(&x->resp.headers, "x-ms-request-id", false)
	          : "");
	mdc_buf_release(&path);
	if (status >= 400) {
		x->resp.request_id = mdc_kvlist_get(&x->resp.headers, "x-ms-request-id", false);
		mdc_http_response_error(&x->resp, &err);
		finish_error(h, x, &err);
		return;
	}
	finish(h, x, NULL);
}

/* --- the loop ------------------------------------------------------------------------ */

static void start_ready(struct mdc_http *h)
{
	long long now = now_ms();

	while (h->heap_n && h->heap[0]->not_before <= now) {
		struct xfer *x = heap_pop(h);
		if (x->timer_fn) {
			x->timer_fn(x->ctx);
			xfer_free(x);
		} else {
			ready_push(h, x);
		}
	}
	while (h->ready_head && h->st.in_flight < (unsigned)h->o.parallelism) {
		struct xfer *x = ready_pop(h);
		struct budget *b;

		if (!x->reserved) {
			long long slot = budget_reserve(h, x, now);
			x->reserved = true;
			if (slot > now) {
				schedule(h, x, slot);
				continue;
			}
		} else if ((b = budget_get(h, x->budget_key, false)) && b->paused_until > now) {
			/* A 429 arrived after this request took its slot. */
			schedule(h, x, b->paused_until);
			continue;
		}
		start_attempt(h, x);
	}
}

static int drain(struct mdc_http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct xfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		attempt_done(h, x, m->data.result);
	}
	return 0;
}

/* libcurl's socket callback: keep the epoll set equal to what it wants watched. The
 * loop then hands libcurl only the sockets that are ready (curl_multi_socket_action), so an
 * event costs one connection's work, not a walk over every transfer as
 * curl_multi_perform does. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct mdc_http *h = userp;
	struct epoll_event ev = {0};

	if (what == CURL_POLL_REMOVE) {
		if (socketp)
			epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(h->multi, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (socketp) {
		epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev);
	} else if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST) {
		if (errno == EEXIST)
			epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev);
		curl_multi_assign(h->multi, fd, h);
	}
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct mdc_http *h = userp;

	h->curl_due = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	return 0;
}

static int socket_action(struct mdc_http *h, curl_socket_t fd, int mask, struct mdc_error *err)
{
	int still = 0;
	CURLMcode mc = curl_multi_socket_action(h->multi, fd, mask, &still);

	if (mc != CURLM_OK)
		return mdc_error_set(err, MDC_EINTERNAL, "curl: %s", curl_multi_strerror(mc));
	return 0;
}

static int loop(struct mdc_http *h, const bool *stop, struct mdc_error *err)
{
	struct epoll_event evs[64];
	int ret = 0;

	h->loop_depth++;
	for (;;) {
		long long now, timeout = 1000;
		int n;

		if (stop && *stop)
			break;
		start_ready(h);
		if (!h->st.in_flight && !h->ready_head && !h->heap_n)
			break;
		now = now_ms();
		if (h->curl_due >= 0 && h->curl_due <= now) {
			h->curl_due = -1;
			if ((ret = socket_action(h, CURL_SOCKET_TIMEOUT, 0, err)) < 0)
				break;
			drain(h);
			continue;
		}
		if (h->curl_due >= 0 && h->curl_due - now < timeout)
			timeout = h->curl_due - now;
		if (h->heap_n && h->heap[0]->not_before - now < timeout)
			timeout = h->heap[0]->not_before - now;
		if (h->ready_head && h->st.in_flight < (unsigned)h->o.parallelism)
			timeout = 0;
		n = epoll_wait(h->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])),
		               timeout < 0 ? 0 : (int)timeout);
		if (n < 0 && errno != EINTR) {
			ret = mdc_error_set(err, MDC_EINTERNAL, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			           (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			           (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			if ((ret = socket_action(h, evs[i].data.fd, mask, err)) < 0)
				break;
		}
		if (ret < 0)
			break;
		drain(h);
	}
	h->loop_depth--;
	return ret;
}

void mdc_http_timer(struct mdc_http *h, long ms, void (*fn)(void *ctx), void *ctx)
{
	struct xfer *x = mdc_xcalloc(1, sizeof(*x));

	x->h = h;
	x->timer_fn = fn;
	x->ctx = ctx;
	x->seq = h->seq++;
	x->not_before = now_ms() + (ms > 0 ? ms : 0);
	heap_push(h, x);
}

int mdc_http_run(struct mdc_http *h, struct mdc_error *err)
{
	if (h->loop_depth)
		return mdc_error_set(err, MDC_EINTERNAL, "mdc_http_run called from a callback");
	return loop(h, NULL, err);
}

struct sync_state {
	bool done;
	struct mdc_http_response *resp;
	struct mdc_error err;
};

static void sync_done(void *ctx, struct mdc_http_response *resp, const struct mdc_error *err)
{
	struct sync_state *s = ctx;

	*s->resp = *resp;
	/* The response now belongs to the caller: leave an empty one behind. */
	*resp = (struct mdc_http_response)MDC_HTTP_RESPONSE_INIT;
	s->resp->request_id = mdc_kvlist_get(&s->resp->headers, "x-ms-request-id", false);
	if (err) {
		mdc_error_set(&s->err, err->code, "%s", err->message ? err->message : "error");
		mdc_error_set_http(&s->err, err->http_status, err->arm_code, err->request_id);
	}
	s->done = true;
}

int mdc_http_do(struct mdc_http *h, const struct mdc_http_request *req,
                struct mdc_http_response *resp, struct mdc_error *err)
{
	struct sync_state s = {false, resp, MDC_ERROR_INIT};
	struct mdc_http_request r = *req;
	int ret;

	*resp = (struct mdc_http_response)MDC_HTTP_RESPONSE_INIT;
	if (h->loop_depth)
		return mdc_error_set(err, MDC_EINTERNAL, "mdc_http_do called from a callback");
	r.done = sync_done;
	r.ctx = &s;
	if ((ret = mdc_http_submit(h, &r, err)) < 0)
		return ret;
	if ((ret = loop(h, &s.done, err)) < 0) {
		mdc_error_clear(&s.err);
		return ret;
	}
	if (!s.done)
		return mdc_error_set(err, MDC_EINTERNAL, "request vanished from the loop");
	if (s.err.code) {
		ret = s.err.code;
		if (err)
			mdc_error_move(err, &s.err);
		mdc_error_clear(&s.err);
		return ret;
	}
	return 0;
}

void mdc_http_response_release(struct mdc_http_response *resp)
{
	if (!resp)
		return;
	mdc_kvlist_clear(&resp->headers);
	mdc_buf_release(&resp->body);
	free(resp->method);
	free(resp->url);
	*resp = (struct mdc_http_response)MDC_HTTP_RESPONSE_INIT;
}

/* --- error bodies -------------------------------------------------------------------- */

/* A small JSON reader, just enough to pull strings out of an error body without a JSON
 * library (this module links only libcurl). Bounded depth; any syntax error stops it. */
struct jr {
	const char *p, *end;
	int depth;
};

static void jr_ws(struct jr *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static void utf8_put(struct mdc_buf *b, unsigned cp)
{
	if (cp < 0x80) {
		mdc_buf_addch(b, (int)cp);
	} else if (cp < 0x800) {
		mdc_buf_addch(b, (int)(0xc0 | cp >> 6));
		mdc_buf_addch(b, (int)(0x80 | (cp & 63)));
	} else {
		mdc_buf_addch(b, (int)(0xe0 | cp >> 12));
		mdc_buf_addch(b, (int)(0x80 | ((cp >> 6) & 63)));
		mdc_buf_addch(b, (int)(0x80 | (cp & 63)));
	}
}

/* Reads a string at j->p into out (may be NULL to skip). Returns 0 or -1. */
static int jr_string(struct jr *j, struct mdc_buf *out)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	for (j->p++; j->p < j->end; j->p++) {
		char c = *j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c != '\\') {
			if (out)
				mdc_buf_addch(out, c);
			continue;
		}
		if (++j->p >= j->end)
			return -1;
		c = *j->p;
		if (c == 'u') {
			unsigned cp = 0;
			if (j->end - j->p < 5)
				return -1;
			for (int i = 1; i <= 4; i++) {
				int ch = j->p[i], v = isdigit(ch) ? ch - '0'
				                      : (ch | 32) >= 'a' && (ch | 32) <= 'f'
				                          ? (ch | 32) - 'a' + 10
				                          : -1;
				if (v < 0)
					return -1;
				cp = cp << 4 | (unsigned)v;
			}
			j->p += 4;
			if (out)
				utf8_put(out, cp >= 0xd800 && cp < 0xe000 ? '?' : cp);
			continue;
		}
		if (out)
			mdc_buf_addch(out, c == 'n'   ? '\n'
			                   : c == 't' ? '\t'
			                   : c == 'r' ? '\r'
			                   : c == 'b' ? '\b'
			                   : c == 'f' ? '\f'
			                              : c);
	}
	return -1;
}

static int jr_skip(struct jr *j)
{
	jr_ws(j);
	if (j->p >= j->end)
		return -1;
	if (*j->p == '"')
		return jr_string(j, NULL);
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		if (++j->depth > 64)
			return -1;
		j->p++;
		for (;;) {
			jr_ws(j);
			if (j->p < j->end && *j->p == close) {
				j->p++;
				j->depth--;
				return 0;
			}
			if (close == '}') {
				if (jr_string(j, NULL) < 0)
					return -1;
				jr_ws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return -1;
			}
			if (jr_skip(j) < 0)
				return -1;
			jr_ws(j);
			if (j->p < j->end && *j->p == ',')
				j->p++;
			else if (j->p >= j->end || *j->p != close)
				return -1;
		}
	}
	while (j->p < j->end && !strchr(",}] \t\r\n", *j->p))
		j->p++;
	return 0;
}

/* Walks the object at j->p; for each member named in keys[] whose value is a string,
 * stores it in vals[] (if NULL so far); for "error" objects, recurses with sub. */
static int jr_object(struct jr *j, const char *const *keys, char **vals, size_t n, char **sub_code,
                     char **sub_msg)
{
	jr_ws(j);
	if (j->p >= j->end || *j->p != '{')
		return -1;
	j->p++;
	for (;;) {
		struct mdc_buf k = MDC_BUF_INIT;
		size_t i;

		jr_ws(j);
		if (j->p < j->end && *j->p == '}')
			return 0;
		if (jr_string(j, &k) < 0) {
			mdc_buf_release(&k);
			return -1;
		}
		jr_ws(j);
		if (j->p >= j->end || *j->p++ != ':') {
			mdc_buf_release(&k);
			return -1;
		}
		jr_ws(j);
		for (i = 0; i < n && strcmp(k.ptr, keys[i]); i++)
			;
		if (i < n && j->p < j->end && *j->p == '"') {
			struct mdc_buf v = MDC_BUF_INIT;
			if (jr_string(j, &v) < 0) {
				mdc_buf_release(&v);
				mdc_buf_release(&k);
				return -1;
			}
			if (!vals[i])
				vals[i] = mdc_buf_detach(&v);
			mdc_buf_release(&v);
		} else if (!strcmp(k.ptr, "error") && sub_code && j->p < j->end && *j->p == '{') {
			static const char *const sk[] = {"code", "message"};
			char *sv[2] = {NULL, NULL};
			j->depth++;
			if (j->depth > 64 || jr_object(j, sk, sv, 2, NULL, NULL) < 0) {
				free(sv[0]);
				free(sv[1]);
				mdc_buf_release(&k);
				return -1;
			}
			j->depth--;
			j->p++; /* the closing brace */
			*sub_code = sv[0];
			*sub_msg = sv[1];
		} else if (jr_skip(j) < 0) {
			mdc_buf_release(&k);
			return -1;
		}
		mdc_buf_release(&k);
		jr_ws(j);
		if (j->p < j->end && *j->p == ',')
			j->p++;
		else if (j->p >= j->end || *j->p != '}')
			return -1;
	}
}

/* Keeps the first line, turns control characters into spaces, drops a trailing full stop. */
static char *tidy_message(char *s)
{
	size_t n;

	if (!s)
		return NULL;
	s[strcspn(s, "\r\n")] = '\0';
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '.'))
		s[--n] = '\0';
	return s;
}

void mdc_http_parse_error_body(const char *body, size_t len, char **code, char **message)
{
	static const char *const keys[] = {"error", "error_description", "code", "message"};
	char *vals[4] = {NULL, NULL, NULL, NULL}, *sub_code = NULL, *sub_msg = NULL;
	struct jr j = {body, body + len, 0};

	*code = *message = NULL;
	if (!body || !len)
		return;
	jr_object(&j, keys, vals, 4, &sub_code, &sub_msg);
	if (sub_code || sub_msg) { /* ARM: {"error":{"code","message"}} */
		*code = sub_code;
		*message = sub_msg;
	} else if (vals[0]) { /* Entra: {"error","error_description":"AADSTS123: ..."} */
		const char *d = vals[1];
		size_t n = 0;
		if (d && !strncmp(d, "AADSTS", 6)) {
			for (n = 6; isdigit((unsigned char)d[n]); n++)
				;
		}
		if (n > 6) {
			*code = mdc_xstrndup(d, n);
			d += n;
			while (*d == ':' || *d == ' ')
				d++;
			*message = mdc_xstrdup(d);
		} else {
			*code = mdc_xstrdup(vals[0]);
			*message = d ? mdc_xstrdup(d) : NULL;
		}
	} else if (vals[2] || vals[3]) { /* a bare {"code","message"} */
		*code = vals[2];
		*message = vals[3];
		vals[2] = vals[3] = NULL;
	}
	for (int i = 0; i < 4; i++)
		free(vals[i]);
	if (*code != sub_code)
		free(sub_code);
	if (*message != sub_msg)
		free(sub_msg);
	tidy_message(*code);
	tidy_message(*message);
}

int mdc_http_response_error(const struct mdc_http_response *resp, struct mdc_error *err)
{
	struct mdc_buf m = MDC_BUF_INIT;
	char *code = NULL, *msg = NULL;
	const char *rid;
	int ec;

	if (resp->status < 400)
		return 0;
	switch (resp->status) {
	case 401:
		ec = MDC_EAUTH;
		break;
	case 403:
		ec = MDC_EFORBIDDEN;
		break;
	case 404:
		ec = MDC_ENOTFOUND;
		break;
	case 409:
	case 412:
		ec = MDC_ECONFLICT;
		break;
	case 429:
		ec = MDC_ETHROTTLED;
		break;
	default:
		ec = MDC_EHTTP;
		break;
	}
	mdc_http_parse_error_body(resp->body.ptr, resp->body.len, &code, &msg);
	rid = resp->request_id ? resp->request_id
	                       : mdc_kvlist_get(&resp->headers, "x-ms-request-id", false);
	mdc_buf_addf(&m, "%s ", resp->method ? resp->method : "?");
	url_path(&m, resp->url ? resp->url : "/");
	mdc_buf_addf(&m, ": %d %s", resp->status, reason_phrase(resp->status));
	if (code && *code)
		mdc_buf_addf(&m, " (%s)", code);
	if (msg && *msg)
		mdc_buf_addf(&m, ": %s", msg);
	if (resp->attempts > 1)
		mdc_buf_addf(&m, " after %d attempts", resp->attempts);
	if (rid)
		mdc_buf_addf(&m, " (x-ms-request-id %s)", rid);
	mdc_error_set(err, ec, "%s", m.ptr);
	mdc_error_set_http(err, resp->status, code, rid);
	mdc_buf_release(&m);
	free(code);
	free(msg);
	return ec;
}

/* --- the client ---------------------------------------------------------------------- */

int mdc_http_new(struct mdc_http **out, const struct mdc_http_opts *opts, struct mdc_error *err)
{
	static int global_done;
	struct mdc_http *h;
	int par;

	*out = NULL;
	if (!global_done) {
		/* Not thread-safe by libcurl's contract; mdcctl creates clients from one thread. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return mdc_error_set(err, MDC_EINTERNAL, "cannot initialise libcurl");
		global_done = 1;
	}
	h = mdc_xcalloc(1, sizeof(*h));
	h->epfd = -1;
	h->authz = (struct mdc_buf)MDC_BUF_INIT;
	h->line = (struct mdc_buf)MDC_BUF_INIT;
	if (opts)
		h->o = *opts;
	h->o.parallelism = h->o.parallelism > 0 ? h->o.parallelism : DEFAULT_PARALLELISM;
	h->o.timeout_ms = h->o.timeout_ms > 0 ? h->o.timeout_ms : DEFAULT_TIMEOUT_MS;
	h->o.connect_timeout_ms =
	    h->o.connect_timeout_ms > 0 ? h->o.connect_timeout_ms : DEFAULT_CONNECT_MS;
	h->o.max_attempts = h->o.max_attempts > 0 ? h->o.max_attempts : DEFAULT_ATTEMPTS;
	h->o.budget_ms = h->o.budget_ms > 0 ? h->o.budget_ms : DEFAULT_BUDGET_MS;
	h->o.backoff_base_ms = h->o.backoff_base_ms > 0 ? h->o.backoff_base_ms : DEFAULT_BASE_MS;
	h->o.backoff_cap_ms = h->o.backoff_cap_ms > 0 ? h->o.backoff_cap_ms : DEFAULT_CAP_MS;
	if (h->o.backoff_cap_ms < h->o.backoff_base_ms)
		h->o.backoff_cap_ms = h->o.backoff_base_ms;
	h->ca_file = h->o.ca_file ? mdc_xstrdup(h->o.ca_file) : NULL;
	h->user_agent = mdc_xstrdup(h->o.user_agent ? h->o.user_agent : "mdcctl");
	h->o.ca_file = h->ca_file;
	h->o.user_agent = h->user_agent;
	rng_seed(&h->rng);
	if (h->o.correlation_id && valid_header_text(h->o.correlation_id) &&
	    strlen(h->o.correlation_id) < sizeof(h->correlation_id))
		memcpy(h->correlation_id, h->o.correlation_id, strlen(h->o.correlation_id) + 1);
	else
		guid_random(&h->rng, h->correlation_id);
	h->o.correlation_id = h->correlation_id;

	h->multi = curl_multi_init();
	if (!h->multi) {
		mdc_http_free(h);
		return mdc_error_set(err, MDC_EINTERNAL, "cannot create a curl multi handle");
	}
	h->curl_due = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		mdc_http_free(h);
		return mdc_error_set(err, MDC_EINTERNAL, "epoll_create1: %s", strerror(errno));
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	par = h->o.parallelism;
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)par);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)par);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)par);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	*out = h;
	return 0;
}

void mdc_http_free(struct mdc_http *h)
{
	struct xfer *x;

	if (!h)
		return;
	while ((x = ready_pop(h)))
		xfer_free(x);
	while (h->heap_n)
		xfer_free(heap_pop(h));
	free(h->heap);
	for (size_t i = 0; i < h->budgets_alloc; i++) {
		if (h->budgets[i]) {
			free(h->budgets[i]->key);
			free(h->budgets[i]);
		}
	}
	free(h->budgets);
	if (h->multi) {
		/* Attempts still on the wire (the loop was left early). */
		while (h->running)
			xfer_free(h->running);
		curl_multi_cleanup(h->multi);
	}
	while (h->nidle)
		curl_easy_cleanup(h->idle[--h->nidle]);
	free(h->idle);
	while (h->nspare)
		mdc_buf_release(&h->spare[--h->nspare]);
	free(h->spare);
	wipe(h->authz.ptr, h->authz.alloc);
	mdc_buf_release(&h->authz);
	mdc_buf_release(&h->line);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h->ca_file);
	free(h->user_agent);
	free(h);
}

void mdc_http_stats(const struct mdc_http *h, struct mdc_http_stats *stats)
{
	*stats = h->st;
	stats->queued = (unsigned)(h->nready + h->heap_n);
}

const char *mdc_http_correlation_id(const struct mdc_http *h)
{
	return h->correlation_id;
}

const char *mdc_http_library_version(void)
{
	return curl_version();
}
