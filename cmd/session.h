#ifndef MDC_CMD_SESSION_H
#define MDC_CMD_SESSION_H
/*
 * What plan, apply, drift and export share: load the desired state (a file or a git
 * commit), choose the credential, open the ARM client, and read the tenant with a progress
 * line on a terminal. Each step prints its own errors and returns an exit code.
 */
#include <stdbool.h>

#include "actual.h"
#include "arm.h"
#include "auth.h"
#include "common.h"
#include "config.h"
#include "observe.h"

struct cli_session {
	const struct cli_common *opt;
	const char *cmd;
	struct mdc_config *cfg;
	char *source;     /* "examples/contoso.yaml" or "URL@REF:PATH", for messages */
	char *git_commit; /* 40 hex when the config came from git, else NULL */
	char *git_ref;    /* the ref as resolved, else NULL */
	struct mdc_auth *auth;
	struct mdc_arm *arm;
};

struct mdc_gitsrc_result;
/* Reads the config file of --git URL --git-ref REF --git-path PATH (token from
 * MDCCTL_GIT_TOKEN, CA from --ca-file) into *res (caller releases it); errors are printed.
 * Returns EXIT_OK, or EXIT_FAIL with *res released. */
int cli_git_read(const struct cli_common *o, struct mdc_gitsrc_result *res);
/* Loads and validates the config (diagnostics on stderr). Returns EXIT_OK or EXIT_FAIL. */
int cli_session_load(struct cli_session *s, const struct cli_common *opt, const char *cmd);
/* Opens the credential chain and the ARM client (cfg may be NULL: endpoints then come from
 * the options alone). read_only: the client refuses every method but GET. */
int cli_session_connect(struct cli_session *s, const struct mdc_config *cfg, bool read_only);
/* A second credential of the same chain for another audience (scope {resource}/.default),
 * e.g. Log Analytics; *out is freed by the caller with mdc_auth_free. Prints errors. */
int cli_session_auth(struct cli_session *s, const struct mdc_config *cfg, const char *resource,
                     struct mdc_auth **out);
/* Reads the tenant for s->cfg (progress on a terminal). */
int cli_session_observe(struct cli_session *s, const struct mdc_observe_opts *oo,
                        struct mdc_actual **out);
void cli_session_close(struct cli_session *s);

/* A log sink for -v: one line on stderr, prefixed. */
void cli_log_line(void *ctx, const char *line);

#endif
