#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "emutest.h"

#define READY "mdcemu listening on https://localhost:"

static int copy_file(const char *from, const char *to)
{
	struct mdc_buf b = MDC_BUF_INIT;
	FILE *f;
	int ok;

	if (mdc_buf_read_file(&b, from, 64u << 20) < 0)
		return -1;
	f = fopen(to, "w");
	ok = f && fwrite(b.ptr, 1, b.len, f) == b.len;
	if (f && fclose(f) != 0)
		ok = 0;
	mdc_buf_release(&b);
	return ok ? 0 : -1;
}

int emutest_start(struct emutest *t, const char *const *extra)
{
	const char *bin = getenv("MDCEMU"), *state = getenv("MDCEMU_STATE");
	char tmpl[] = "/tmp/mdcemu-test-XXXXXX", path[300], portf[300], tls[300], line[256];
	const char *argv[40];
	int n = 0, pfd[2];
	FILE *out;

	memset(t, 0, sizeof(*t));
	if (!bin || !state || !mkdtemp(tmpl)) {
		fprintf(stderr, "emutest: set MDCEMU and MDCEMU_STATE\n");
		return -1;
	}
	snprintf(t->dir, sizeof(t->dir), "%s", tmpl);
	snprintf(path, sizeof(path), "%s/state.json", t->dir);
	snprintf(portf, sizeof(portf), "%s/port", t->dir);
	snprintf(tls, sizeof(tls), "%s/tls", t->dir);
	snprintf(t->ca, sizeof(t->ca), "%s/ca.pem", tls);
	if (copy_file(state, path) < 0)
		return -1;
	argv[n++] = bin;
	argv[n++] = "--state";
	argv[n++] = path;
	argv[n++] = "--port-file";
	argv[n++] = portf;
	argv[n++] = "--tls-dir";
	argv[n++] = tls;
	for (int i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if (pipe(pfd) < 0)
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	out = fdopen(pfd[0], "r");
	/* the emulator prints exactly one line when ready */
	if (!out || !fgets(line, sizeof(line), out) || strncmp(line, READY, strlen(READY))) {
		fprintf(stderr, "emutest: mdcemu did not start\n");
		if (out)
			fclose(out);
		emutest_stop(t);
		return -1;
	}
	fclose(out);
	t->port = atoi(line + strlen(READY));
	snprintf(t->base, sizeof(t->base), "https://localhost:%d", t->port);
	return 0;
}

int emutest_stop(struct emutest *t)
{
	char cmd[300];
	int status = 0, ret = 0;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		waitpid(t->pid, &status, 0);
		t->pid = 0;
		ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	if (t->dir[0] && !strncmp(t->dir, "/tmp/mdcemu-test-", 17)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "emutest: cannot remove %s\n", t->dir);
		t->dir[0] = 0;
	}
	return ret;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	mdc_buf_add(ud, p, sz * n);
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct mdc_buf *b = ud;
	size_t len = sz * n, i;
	int in_name = 1;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == ':')
			in_name = 0;
		mdc_buf_addch(b, in_name ? tolower((unsigned char)c) : c);
	}
	return len;
}

int emutest_req(struct emutest *t, const char *method, const char *path, const char *token,
                const char *body, const char *const *headers, struct emuresp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct mdc_buf b = MDC_BUF_INIT, h = MDC_BUF_INIT, url = MDC_BUF_INIT, auth = MDC_BUF_INIT;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	if (!strncmp(path, "https://", 8))
		mdc_buf_adds(&url, path);
	else
		mdc_buf_addf(&url, "%s%s", t->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url.ptr);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (token) {
		mdc_buf_addf(&auth, "Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, auth.ptr);
	}
	for (int i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (body) {
		hl = curl_slist_append(hl, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	rc = curl_easy_perform(c);
	out->curl_error = (int)rc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = mdc_buf_detach(&b);
	out->headers = mdc_buf_detach(&h);
	out->json = cJSON_Parse(out->body);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	mdc_buf_release(&url);
	mdc_buf_release(&auth);
	return rc == CURLE_OK ? 0 : -1;
}

void emuresp_free(struct emuresp *r)
{
	free(r->body);
	free(r->headers);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

const char *emuresp_header(const struct emuresp *r, const char *name)
{
	static __thread char val[512];
	const char *p = r->headers;
	size_t n = strlen(name);

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && !strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = (size_t)(p + len - v);
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(val, sizeof(val), "%.*s", (int)vl, v);
			return val;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

char *emutest_token(struct emutest *t, const char *tenant, const char *client_id,
                    const char *secret)
{
	CURL *c = curl_easy_init();
	struct mdc_buf b = MDC_BUF_INIT, url = MDC_BUF_INIT, form = MDC_BUF_INIT;
	char *esc = curl_easy_escape(c, secret, 0), *tok = NULL;
	cJSON *doc;

	mdc_buf_addf(&url, "%s/%s/oauth2/v2.0/token", t->base, tenant);
	mdc_buf_addf(&form,
	             "client_id=%s&client_secret=%s&grant_type=client_credentials&scope="
	             "https%%3A%%2F%%2Fmanagement.azure.com%%2F.default",
	             client_id, esc);
	curl_easy_setopt(c, CURLOPT_URL, url.ptr);
	curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.ptr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK) {
		doc = cJSON_Parse(b.ptr);
		if (cJSON_IsString(cJSON_GetObjectItem(doc, "access_token")))
			tok = mdc_xstrdup(cJSON_GetObjectItem(doc, "access_token")->valuestring);
		cJSON_Delete(doc);
	}
	curl_free(esc);
	curl_easy_cleanup(c);
	mdc_buf_release(&b);
	mdc_buf_release(&url);
	mdc_buf_release(&form);
	return tok;
}
