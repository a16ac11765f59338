/*
 * bench_observe: reads a whole tenant the way `mdcctl plan` does (mdc_observe over the
 * credential chain and the ARM client, GETs 20 to an ARM /batch unless --no-batch) and
 * prints what it cost: wall time, HTTP requests, ARM requests, retries, 429s, client CPU
 * (user + sys), CPU per subscription, peak RSS, and the ideal
 * ARM requests x latency / parallelism with the ratio. With --emulator it also fetches the
 * emulator's request log, which counts the ARM requests (a batch's GETs each, as ARM
 * counts them against throttling), and fails when one (method + path + query) was issued
 * twice.
 *
 *	bench_observe (-f CFG.yaml | --state TENANT.json) [--latency-ms N] [--parallelism N]
 *	              [--emulator URL] [--no-batch]
 *
 * --state takes an emulator state file and reads every subscription below its tenant root
 * group, with its first workspace as the Sentinel workspace.
 *
 * Endpoints, CA and credentials come from the environment an emulator's env file sets
 * (MDCCTL_ARM_ENDPOINT, AZURE_AUTHORITY_HOST, MDCCTL_CA_FILE, AZURE_*). Exit 0, or 1 on
 * an error or a duplicate request.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "arm.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "observe.h"
#include "banned.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(long *maxrss_kb)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*maxrss_kb = ru.ru_maxrss;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Counts the requests of the emulator's log issued more than once (token requests, batch
 * envelopes and the admin API excluded). Returns the count, or -1 when the log cannot be read. */
static long duplicates(struct mdc_http *h, const char *emulator, unsigned long *logged)
{
	struct mdc_http_response resp = MDC_HTTP_RESPONSE_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	char *url = NULL, **keys = NULL;
	cJSON *doc = NULL;
	const cJSON *it;
	size_t n = 0, alloc = 0;
	long dup = -1;

	url = mdc_xasprintf("%s/_emulator/requests", emulator);
	if (mdc_http_do(h, &(struct mdc_http_request){.method = "GET", .url = url}, &resp, &err) <
	    0) {
		fprintf(stderr, "bench: cannot read the request log: %s\n", err.message);
		goto cleanup;
	}
	doc = cJSON_ParseWithLength(resp.body.ptr, resp.body.len);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "value"))
	{
		const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(it, "method"));
		const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(it, "path"));
		const char *q = cJSON_GetStringValue(cJSON_GetObjectItem(it, "query"));

		/* The batch envelopes carry the same path each time; their sub-requests are in
		 * the log on their own and are what must not repeat. */
		if (!m || !p || strstr(p, "/oauth2/") || !strcmp(p, "/batch"))
			continue;
		MDC_ALLOC_GROW(keys, n + 1, alloc);
		keys[n++] = mdc_xasprintf("%s %s?%s", m, p, q ? q : "");
	}
	*logged = n;
	qsort(keys, n, sizeof(*keys), cmp_str);
	dup = 0;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(keys[i], keys[i - 1])) {
			if (dup < 5)
				fprintf(stderr, "bench: issued twice: %s\n", keys[i]);
			dup++;
		}
cleanup:
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	cJSON_Delete(doc);
	free(url);
	mdc_http_response_release(&resp);
	mdc_error_clear(&err);
	return dup;
}

/* The config that reads the whole tenant of an emulator state file. */
static int config_from_state(struct mdc_config **cfg, const char *path, struct mdc_diags *diags)
{
	struct mdc_buf b = MDC_BUF_INIT, y = MDC_BUF_INIT;
	cJSON *st = NULL;
	const char *tenant, *wsub, *rg, *name;
	const cJSON *ws;
	int rc = -1;

	if (mdc_buf_read_file(&b, path, 1u << 30) < 0 ||
	    !(st = cJSON_ParseWithLength(b.ptr, b.len))) {
		mdc_diags_add(diags, MDC_DIAG_ERROR, (struct mdc_pos){0, 0}, "cannot read %s",
		              path);
		goto cleanup;
	}
	ws = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(st, "workspaces"), 0);
	tenant = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "tenantId"));
	wsub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ws, "subscriptionId"));
	rg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ws, "resourceGroup"));
	name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ws, "name"));
	if (!tenant || !wsub || !rg || !name) {
		mdc_diags_add(diags, MDC_DIAG_ERROR, (struct mdc_pos){0, 0},
		              "no tenantId or workspace in %s", path);
		goto cleanup;
	}
	mdc_buf_addf(&y,
	             "apiVersion: mdcctl/v1\ntenant: %s\n"
	             "workspace: {subscription: %s, resourceGroup: \"%s\", name: \"%s\"}\n"
	             "subscriptions:\n  select: [{managementGroup: \"%s\"}]\n",
	             tenant, wsub, rg, name, tenant);
	rc = mdc_config_parse(cfg, y.ptr, y.len, path, diags);
cleanup:
	cJSON_Delete(st);
	mdc_buf_release(&b);
	mdc_buf_release(&y);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"latency-ms", required_argument, NULL, 'l'},
	    {"parallelism", required_argument, NULL, 'p'},
	    {"emulator", required_argument, NULL, 'e'},
	    {"state", required_argument, NULL, 's'},
	    {"batch", no_argument, NULL, 'b'},
	    {"no-batch", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	const char *file = NULL, *state = NULL, *emulator = NULL, *ca = getenv("MDCCTL_CA_FILE");
	const char *endpoint = getenv("MDCCTL_ARM_ENDPOINT");
	int latency = 0, par = 32, opt, rc = 1;
	bool batch = true; /* as mdcctl reads */
	struct mdc_diags diags = {0};
	struct mdc_config *cfg = NULL;
	struct mdc_auth *auth = NULL;
	struct mdc_arm *arm = NULL;
	struct mdc_actual *act = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_stats st;
	double t0, c0, wall, cpu, ideal;
	long rss0, rss;
	size_t nread = 0;
	unsigned long logged = 0, arm_requests;
	long dup = 0;

	while ((opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			break;
		case 'l':
			latency = atoi(optarg);
			break;
		case 'p':
			par = atoi(optarg);
			break;
		case 'e':
			emulator = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'b':
		case 'n':
			batch = opt == 'b';
			break;
		default:
			fprintf(stderr, "usage: bench_observe -f CFG [--latency-ms N] "
			                "[--parallelism N] [--emulator URL] [--no-batch]\n");
			return 64;
		}
	}
	if ((!file && !state) || !endpoint) {
		fprintf(stderr, "bench: need -f CFG or --state FILE, and MDCCTL_ARM_ENDPOINT "
		                "(source the emulator's env file)\n");
		return 64;
	}
	if (state ? config_from_state(&cfg, state, &diags) < 0
	          : mdc_config_load(&cfg, file, &diags) < 0) {
		file = state ? state : file;
		for (size_t i = 0; i < diags.n; i++)
			fprintf(stderr, "%s:%u:%u: %s\n", file, diags.v[i].pos.line,
			        diags.v[i].pos.col, diags.v[i].message);
		goto cleanup;
	}
	if (mdc_auth_new(&auth,
	                 &(struct mdc_auth_opts){
	                     .tenant_id = cfg->tenant, .arm_endpoint = endpoint, .ca_file = ca},
	                 &err) < 0 ||
	    mdc_arm_new(&arm,
	                &(struct mdc_arm_opts){.endpoint = endpoint,
	                                       .http = {.ca_file = ca, .parallelism = par},
	                                       .authorize = mdc_auth_authorize,
	                                       .authorize_ctx = auth,
	                                       .read_only = true,
	                                       .batch = batch},
	                &err) < 0)
		goto fail;

	c0 = cpu_s(&rss0);
	t0 = now_s();
	if (mdc_observe(&act, arm, cfg, NULL, &err) < 0)
		goto fail;
	wall = now_s() - t0;
	cpu = cpu_s(&rss) - c0;
	mdc_http_stats(mdc_arm_http(arm), &st);
	for (size_t i = 0; i < act->nsubs; i++)
		if (act->subs[i].pricings_read)
			nread++;
	rc = 0;
	if (emulator) {
		dup = duplicates(mdc_arm_http(arm), emulator, &logged);
		if (dup != 0)
			rc = 1;
	}
	/* ARM counts (and throttles) every GET of a batch as a request of its own: the ideal
	 * is what those reads cost at this latency and parallelism, however they travel. */
	arm_requests = logged ? logged : st.requests;
	ideal = (double)arm_requests * latency / 1000.0 / par;

	printf("read:                 %s\n", batch ? "GETs 20 to an ARM /batch" : "single GETs");
	printf("subscriptions read:   %zu (of %zu visible)\n", nread, act->nsubs);
	printf("wall time:            %.2f s\n", wall);
	printf("HTTP requests:        %lu (attempts %lu, connections %lu)\n", st.requests,
	       st.attempts, st.connections);
	if (emulator)
		printf("ARM requests:         %lu (the emulator's log), %ld issued twice\n", logged,
		       dup < 0 ? 0 : dup);
	printf("retries:              %lu\n", st.retries);
	printf("429 responses:        %lu\n", st.throttled);
	printf("failed requests:      %lu\n", st.failed);
	printf("client CPU:           %.3f s (user + sys)\n", cpu);
	printf("CPU per subscription: %.3f ms\n", nread ? cpu * 1000.0 / (double)nread : 0.0);
	printf("peak RSS:             %.1f MiB\n", (double)rss / 1024.0);
	if (latency > 0)
		printf("ideal:                %.2f s (%lu ARM requests x %d ms / %d); ratio %.2f\n",
		       ideal, arm_requests, latency, par, wall / ideal);
	goto cleanup;
fail:
	fprintf(stderr, "bench: %s\n", err.message ? err.message : "error");
cleanup:
	fflush(stdout);
	mdc_actual_free(act);
	mdc_arm_free(arm);
	mdc_auth_free(auth);
	mdc_config_free(cfg);
	mdc_diags_clear(&diags);
	mdc_error_clear(&err);
	return rc;
}
