/*
 * mdcemu under load: 100 concurrent keep-alive connections hammering ARM reads for a
 * bounded time (MDCEMU_LOAD_SECONDS, default 10) must see no error at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "emutest.h"
#include "harness.h"

#define CONNS 100

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	return sz * n;
}

TEST(hundred_connections_without_errors)
{
	static const char *const args[] = {"--throttle", "off", NULL};
	struct emutest t;
	CURLM *m;
	CURL *h[CONNS];
	struct curl_slist *hl = NULL;
	char url[256], auth[2300];
	char *tok;
	long secs = getenv("MDCEMU_LOAD_SECONDS") ? atol(getenv("MDCEMU_LOAD_SECONDS")) : 10;
	long done = 0, errors = 0;
	time_t end;
	int running;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	ASSERT_EQ_INT(0, emutest_start(&t, args));
	tok = emutest_token(&t, "72f988bf-86f1-41af-91ab-2d7cd011db47",
	                    "aaaaaaaa-1111-4111-8111-111111111111", "ci-secret-one");
	ASSERT(tok);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	hl = curl_slist_append(hl, auth);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)CONNS);
	for (int i = 0; i < CONNS; i++) {
		snprintf(url, sizeof(url),
		         "%s/subscriptions/0a1b2c3d-0000-4000-8000-00000000000%d/providers/"
		         "Microsoft.Security/pricings?api-version=2024-01-01",
		         t.base, 1 + i % 5);
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_CAINFO, t.ca);
		curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
		curl_multi_add_handle(m, h[i]);
	}
	end = time(NULL) + secs;
	do {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			long status = 0;
			CURL *e = msg->easy_handle;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			if (msg->data.result != CURLE_OK || status != 200) {
				if (errors < 5)
					fprintf(stderr, "request failed: curl %d, status %ld\n",
					        (int)msg->data.result, status);
				errors++;
			}
			done++;
			curl_multi_remove_handle(m, e);
			if (time(NULL) < end)
				curl_multi_add_handle(m, e); /* same handle: keeps its connection */
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (running || time(NULL) < end);
	for (int i = 0; i < CONNS; i++) {
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hl);
	free(tok);
	ASSERT_EQ_INT(0, emutest_stop(&t));
	curl_global_cleanup();
	fprintf(stderr, "load: %ld requests in %ld s, %ld errors\n", done, secs, errors);
	ASSERT_EQ_INT(0, errors);
	ASSERT(done >= CONNS);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
