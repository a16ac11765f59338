#ifndef MDCEMU_TEST_H
#define MDCEMU_TEST_H
/*
 * Helpers shared by mdcemu's tests: start the emulator binary ($MDCEMU) on a free port
 * with a private copy of a state file, talk HTTPS to it with libcurl, stop it.
 */
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct emutest {
	pid_t pid;
	int port;
	char dir[128]; /* private temp dir: state.json, port, tls/ */
	char base[64]; /* https://localhost:PORT */
	char ca[400];  /* dir/tls/ca.pem */
};

/* Starts $MDCEMU --state <copy of $MDCEMU_STATE> plus extra args (NULL-terminated).
 * Returns 0 or -1. */
int emutest_start(struct emutest *t, const char *const *extra);
/* Stops it with SIGTERM; returns its exit status (0 = clean, also no ASan leak report). */
int emutest_stop(struct emutest *t);

struct emuresp {
	long status;
	char *body;    /* NUL-terminated */
	char *headers; /* raw header block, lower-cased names */
	cJSON *json;   /* parsed body or NULL */
	int curl_error;
};

/* One request. path may be absolute (a nextLink). headers: NULL-terminated "Name: value". */
int emutest_req(struct emutest *t, const char *method, const char *path, const char *token,
                const char *body, const char *const *headers, struct emuresp *out);
void emuresp_free(struct emuresp *r);
/* A header's value (borrowed until the next call), or NULL. */
const char *emuresp_header(const struct emuresp *r, const char *name);
/* An access token for client id/secret via the emulator's token endpoint; caller frees. */
char *emutest_token(struct emutest *t, const char *tenant, const char *client_id,
                    const char *secret);

#endif
