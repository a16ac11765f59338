#ifndef MDCEMU_EMU_H
#define MDCEMU_EMU_H
/*
 * mdcemu internals: the server state shared by the HTTP layer (server.c), the ARM routes
 * (arm.c), the admin API (admin.c), throttling (throttle.c) and the state helpers
 * (state.c). Everything that touches `state`, the request log, faults, buckets or the
 * in-flight tables holds `lock`; nothing sleeps while holding it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "util.h"

struct entra;

struct emu_opts {
	const char *state_path;
	const char *listen;
	const char *port_file;
	const char *tls_dir;
	const char *save_path;
	int latency_ms;
	double fault_rate;
	uint64_t seed;
	int page_size;
	bool throttle;
	int register_polls;
	int pricing_write_ms; /* the in-flight window of one pricing write (§2.7) */
};

struct emu_bucket_cfg {
	double burst;
	double rate; /* tokens per second */
};

enum emu_op { EMU_READ, EMU_WRITE, EMU_DELETE, EMU_OP_MAX };

struct emu_bucket {
	char *key;
	double tokens;
	double cap;
	double rate;
	double last; /* seconds, monotonic */
	struct emu_bucket *next;
};

#define EMU_BUCKET_HASH 1024

struct emu {
	struct emu_opts opts;
	pthread_mutex_t lock;
	cJSON *state;
	struct entra *entra;
	char base_url[64];
	int port;

	uint64_t rng;
	cJSON *log;      /* array of request records */
	cJSON *faults;   /* array of targeted faults */
	cJSON *inflight; /* {subscriptionId(lower): until_ms} pricing writes in flight */
	cJSON *polls;    /* {"sub/ns": remaining GETs before Registered} */
	struct emu_bucket *buckets[EMU_BUCKET_HASH];
	struct emu_bucket_cfg limits[EMU_OP_MAX];
	uint64_t nrequests;
};

/* One request, as the routes see it. Strings are borrowed from the connection. */
struct emu_req {
	const char *method;
	const char *path;       /* percent-decoded path, no query */
	const char *query;      /* raw query string without '?', "" when none */
	struct mdc_kvlist args; /* decoded query arguments (keys case-insensitive) */
	const char *authorization;
	const char *correlation_id;
	const char *client_request_id;
	const char *identity_header;
	const char *msi_secret; /* the "secret" header of App Service's 2017-09-01 protocol */
	const char *body;
	size_t body_len;
	char oid[64]; /* the caller, once authenticated */
	char tid[64]; /* the tenant of the caller's token */
};

/* One response. Headers are extra to the common ones server.c adds. */
struct emu_resp {
	int status;
	struct mdc_buf body;
	struct mdc_kvlist headers;
	bool reset; /* close the connection without answering */
	bool slow;  /* send the body in slow chunks */
};

/* server.c */
/* Starts the HTTPS daemon on an already listening socket; returns it, or NULL. */
void *emu_server_start(struct emu *emu, int listen_fd, const char *cert_pem, const char *key_pem);
void emu_server_stop(void *daemon);
double emu_now(void);               /* monotonic seconds */
uint64_t emu_rand(struct emu *emu); /* caller holds the lock */

/* One ARM request that came without a connection (a /batch sub-request): faults, emu_arm,
 * the common headers and a request-log entry, as a standalone request gets them; no
 * latency. A "reset" fault answers 500, a "slow" one is ignored. Called without the lock. */
void emu_serve_sub(struct emu *emu, struct emu_req *req, struct emu_resp *resp);

/* Response helpers (arm.c). */
void emu_resp_json(struct emu_resp *r, int status, const cJSON *json);
void emu_resp_error(struct emu_resp *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void emu_resp_header(struct emu_resp *r, const char *name, const char *value);

/* arm.c: every request that is not admin or Entra. Called without the lock. */
void emu_arm(struct emu *emu, struct emu_req *req, struct emu_resp *resp);
/* batch.c: POST /batch after emu_arm checked the token and the api-version (§9.5). */
void emu_batch(struct emu *emu, struct emu_req *req, struct emu_resp *resp);
/* loganalytics.c: /v1/workspaces/{customerId}/query (reference §11); false when the path
 * is not a Log Analytics one. Called without the lock. */
bool emu_loganalytics(struct emu *emu, struct emu_req *req, struct emu_resp *resp);
/* admin.c: /_emulator/... */
void emu_admin(struct emu *emu, struct emu_req *req, struct emu_resp *resp);

/* The throttling operation type of an HTTP method, and its name in ARM's 429 message
 * ("Read", "Write", "Delete"; a collection GET says "List", which needs the route). */
enum emu_op emu_op_of(const char *method);
const char *emu_op_name(enum emu_op op);
/* throttle.c: takes one token from the caller's bucket of op type `op` for `scope`
 * ("tenant" or a subscription id). Returns the remaining count (>= 0) or -1 when
 * throttled, with *retry_after set to whole seconds. Caller holds the lock. */
long emu_throttle_take(struct emu *emu, const char *scope, const char *oid, enum emu_op op,
                       bool global, long *retry_after);
void emu_throttle_reset(struct emu *emu);
void emu_throttle_defaults(struct emu *emu);

/* state.c */
int emu_state_load(cJSON **out, const char *path);
int emu_state_save(const cJSON *state, const char *path);
/* Fills defaults a state may leave out (built-in role definitions, MI header). */
void emu_state_normalize(cJSON *state);
cJSON *emu_find_sub(const cJSON *state, const char *sub);
cJSON *emu_find_mg(const cJSON *state, const char *mg);
cJSON *emu_find_workspace(const cJSON *state, const char *sub, const char *rg, const char *name);
cJSON *emu_find_named(const cJSON *array, const char *key, const char *value);
const char *emu_str(const cJSON *obj, const char *key); /* NULL when absent or not a string */
/* The role definitions (with actions/notActions) in effect for oid at `scope`, as a new
 * array of {roleDefinitionName, actions, notActions, dataActions, notDataActions}. */
cJSON *emu_effective_roles(const cJSON *state, const char *oid, const char *scope);
/* True if one of the roles allows action (actions minus notActions, wildcards). */
bool emu_roles_allow(const cJSON *roles, const char *action);
bool emu_allowed(const cJSON *state, const char *oid, const char *scope, const char *action);
/* True if oid has any role assignment at, above or below the subscription. */
bool emu_sub_visible(const cJSON *state, const char *oid, const char *sub);
/* The same question for many subscriptions: the scopes of the caller's assignments
 * (emu_caller_scopes, gathered once) and then one cheap check per subscription. */
void emu_caller_scopes(const cJSON *state, const char *oid, struct mdc_strvec *out);
bool emu_sub_visible_to(const cJSON *state, const struct mdc_strvec *scopes, const char *sub);
/* The provider registration state of ns on sub ("Registered" by default for the
 * namespaces every subscription has, "NotRegistered" otherwise). */
const char *emu_provider_state(const cJSON *sub, const char *ns);
void emu_new_etag(char out[48]);
void emu_timestamp(char out[40]); /* 2025-05-01T14:33:06.1234567Z */

/* generate.c */
int emu_generate(int n, uint64_t seed, const char *out_path);

/* tls.c: a CA and a server certificate for localhost/127.0.0.1, as PEM strings. */
int emu_tls_make(char **ca_pem, char **cert_pem, char **key_pem);

#endif
