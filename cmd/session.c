#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gitsrc.h"
#include "observe.h"
#include "banned.h"

#define USER_AGENT "mdcctl/" MDCCTL_VERSION

void cli_log_line(void *ctx, const char *line)
{
	fprintf(stderr, "mdcctl: %s\n", line);
}

int cli_git_read(const struct cli_common *o, struct mdc_gitsrc_result *res)
{
	struct mdc_gitsrc_opts go = {
	    .url = o->git_url,
	    .ref = o->git_ref,
	    .path = o->git_path,
	    .cache_dir = o->git_cache,
	    .ca_file = o->ca_file,
	    .token = getenv("MDCCTL_GIT_TOKEN"),
	};
	struct mdc_error err = MDC_ERROR_INIT;

	if (mdc_gitsrc_read(res, &go, &err) < 0) {
		cli_report(&err);
		mdc_error_clear(&err);
		mdc_gitsrc_result_release(res); /* it may be partly filled */
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int load_from_git(struct cli_session *s, struct mdc_diags *diags)
{
	const struct cli_common *o = s->opt;
	struct mdc_gitsrc_result res = MDC_GITSRC_RESULT_INIT;
	int rc;

	if ((rc = cli_git_read(o, &res)) != EXIT_OK)
		goto cleanup;
	s->git_commit = mdc_xstrdup(res.commit);
	s->git_ref = res.resolved_ref ? mdc_xstrdup(res.resolved_ref) : NULL;
	s->source = mdc_xasprintf("%s@%.12s:%s", res.url ? res.url : "", res.commit, o->git_path);
	if (mdc_config_parse(&s->cfg, res.data.ptr, res.data.len, o->git_path, diags) < 0)
		rc = EXIT_FAIL;
cleanup:
	mdc_gitsrc_result_release(&res);
	return rc;
}

int cli_session_load(struct cli_session *s, const struct cli_common *opt, const char *cmd)
{
	struct mdc_diags diags = {0};
	int rc;

	memset(s, 0, sizeof(*s));
	s->opt = opt;
	s->cmd = cmd;
	if (opt->git_url) {
		rc = load_from_git(s, &diags);
	} else {
		s->source = mdc_xstrdup(strcmp(opt->file, "-") ? opt->file : "<stdin>");
		rc = mdc_config_load(&s->cfg, opt->file, &diags) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (diags.n)
		cli_print_diags(stderr, opt->git_url ? opt->git_path : s->source, &diags);
	mdc_diags_clear(&diags);
	return rc;
}

/* The credential options for a token of audience `resource` (scope {resource}/.default). */
static struct mdc_auth_opts auth_opts(const struct cli_common *o, const struct mdc_config *cfg,
                                      const char *resource)
{
	enum mdc_cloud cloud = cfg ? cfg->cloud : MDC_CLOUD_AZURE;
	struct mdc_auth_opts ao = {
	    .tenant_id = cfg ? cfg->tenant : NULL,
	    /* The option wins; else AZURE_AUTHORITY_HOST (read by auth); else the cloud's. */
	    .authority_host = o->authority_host                ? o->authority_host
	                      : getenv("AZURE_AUTHORITY_HOST") ? NULL
	                                                       : mdc_cloud_authority_host(cloud),
	    .arm_endpoint = resource,
	    .ca_file = o->ca_file,
	    .user_agent = USER_AGENT,
	    .verbose = o->verbose,
	    .log = cli_log_line,
	};
	return ao;
}

int cli_session_auth(struct cli_session *s, const struct mdc_config *cfg, const char *resource,
                     struct mdc_auth **out)
{
	struct mdc_auth_opts ao = auth_opts(s->opt, cfg, resource);
	struct mdc_error err = MDC_ERROR_INIT;

	if ((s->opt->auth_kind && mdc_auth_kind_parse(s->opt->auth_kind, &ao.kind, &err) < 0) ||
	    mdc_auth_new(out, &ao, &err) < 0) {
		cli_report(&err);
		mdc_error_clear(&err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cli_session_connect(struct cli_session *s, const struct mdc_config *cfg, bool read_only)
{
	const struct cli_common *o = s->opt;
	enum mdc_cloud cloud = cfg ? cfg->cloud : MDC_CLOUD_AZURE;
	const char *arm_endpoint =
	    o->arm_endpoint ? o->arm_endpoint : mdc_cloud_arm_endpoint(cloud);
	struct mdc_auth_opts ao = auth_opts(o, cfg, arm_endpoint);
	struct mdc_arm_opts aro = {
	    .endpoint = arm_endpoint,
	    .http =
	        {
	            .ca_file = o->ca_file,
	            .parallelism = o->parallelism,
	            .user_agent = USER_AGENT,
	            .verbose = o->verbose > 1 ? 2 : o->verbose,
	            .log = cli_log_line,
	        },
	    .authorize = mdc_auth_authorize,
	    .read_only = read_only,
	    .batch = o->arm_batch,
	};
	struct mdc_error err = MDC_ERROR_INIT;

	if (o->auth_kind && mdc_auth_kind_parse(o->auth_kind, &ao.kind, &err) < 0)
		goto fail;
	if (mdc_auth_new(&s->auth, &ao, &err) < 0)
		goto fail;
	if (o->verbose)
		fprintf(stderr, "mdcctl: credential: %s\n", mdc_auth_describe(s->auth));
	aro.authorize_ctx = s->auth;
	if (mdc_arm_new(&s->arm, &aro, &err) < 0)
		goto fail;
	return EXIT_OK;
fail:
	cli_report(&err);
	mdc_error_clear(&err);
	return EXIT_FAIL;
}

static void progress_line(void *ctx, const struct mdc_observe_progress *p)
{
	fprintf(stderr, "\rreading: %zu/%zu subscriptions, %lu requests, %lu retries\033[K",
	        p->subs_done, p->subs_total, p->requests, p->retries);
}

int cli_session_observe(struct cli_session *s, const struct mdc_observe_opts *oo,
                        struct mdc_actual **out)
{
	struct mdc_observe_opts opts = oo ? *oo : (struct mdc_observe_opts){0};
	struct mdc_error err = MDC_ERROR_INIT;
	bool tty = isatty(STDERR_FILENO);
	int rc;

	if (tty && !opts.progress)
		opts.progress = progress_line;
	rc = mdc_observe(out, s->arm, s->cfg, &opts, &err);
	if (tty)
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		cli_report(&err);
		mdc_error_clear(&err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void cli_session_close(struct cli_session *s)
{
	mdc_arm_free(s->arm);
	mdc_auth_free(s->auth);
	mdc_config_free(s->cfg);
	free(s->source);
	free(s->git_commit);
	free(s->git_ref);
	memset(s, 0, sizeof(*s));
}
