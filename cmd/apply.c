/*
 * mdcctl apply: make Azure match. From a config it plans, shows the plan and asks for
 * `yes`; from a saved plan or a resume file it first checks that what the plan read is
 * still what Azure holds. Progress per item, a per-subscription table, a summary; a
 * partial failure writes a resume file that `mdcctl apply RESUMEFILE` finishes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "apply.h"
#include "azure.h"
#include "cmd.h"
#include "common.h"
#include "gitsrc.h"
#include "plan.h"
#include "render.h"
#include "session.h"
#include "banned.h"

enum {
	OPT_AUTO_APPROVE = OPT_COMMON_MAX,
	OPT_FORMAT,
	OPT_RESUME_FILE,
	OPT_POLL,
	OPT_REGISTER_TIMEOUT,
	OPT_CONFLICT_WAIT,
};

static const struct option options[] = {
    {"auto-approve", no_argument, NULL, OPT_AUTO_APPROVE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"resume-file", required_argument, NULL, OPT_RESUME_FILE},
    {"poll-interval", required_argument, NULL, OPT_POLL},
    {"register-timeout", required_argument, NULL, OPT_REGISTER_TIMEOUT},
    {"conflict-wait", required_argument, NULL, OPT_CONFLICT_WAIT},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

#define DEFAULT_RESUME_FILE "mdcctl-apply.resume.json"

static const char usage_text[] =
    "usage: mdcctl apply (-f FILE | --git URL --git-path PATH | PLANFILE | RESUMEFILE) [options]\n"
    "\n"
    "Makes Azure match the desired state. From a config: plans, shows the plan and asks\n"
    "for 'yes' (on a terminal; otherwise --auto-approve is required). From a saved plan\n"
    "or a resume file: refuses when an object the plan read has changed since. Exit 0\n"
    "when Azure matches; 1 on error, on partial failure (with a resume file), and when\n"
    "blocked items remain (listed, never attempted: a prerequisite is missing).\n"
    "\n"
    "      --auto-approve       apply without asking\n"
    "      --format FMT         text (default) or json (the result; progress on stderr)\n"
    "      --resume-file PATH   where a partial failure is recorded\n"
    "                           (default ./" DEFAULT_RESUME_FILE ")\n"
    "      --poll-interval S    provider registration polling interval (default 5)\n"
    "      --register-timeout S give up on a registration after S seconds (default 300)\n"
    "      --conflict-wait S    wait after a pricing 409 Conflict (default 5)\n"
    "  With a saved plan made from git, give the same --git options to check that the\n"
    "  ref still points at the commit the plan was made from.\n" CLI_COMMON_HELP;

/* Blocked items were never attempted, but Azure does not match the desired state while
 * they remain (DESIGN: exit 0 only when converged). */
static int blocked_exit(size_t blocked)
{
	if (!blocked)
		return EXIT_OK;
	fflush(stdout); /* after the table, also when stdout is a pipe */
	fprintf(stderr,
	        "mdcctl: error: %zu item%s blocked (listed above): Azure will not match the "
	        "desired state until what %s is in place\n",
	        blocked, blocked == 1 ? " is" : "s are", blocked == 1 ? "it needs" : "they need");
	return EXIT_FAIL;
}

struct ui {
	bool json;
	bool color;
	FILE *out; /* progress */
};

static int parse_seconds(const char *arg, int *ms)
{
	char *end;
	double d = strtod(arg, &end);

	if (*end || d < 0.001 || d > 86400)
		return cli_usage("apply", "expected seconds (0.001 to 86400), not '%s'", arg);
	*ms = (int)(d * 1000 + 0.5);
	return 0;
}

static void put_sanitized(FILE *f, const char *s)
{
	struct mdc_buf b = MDC_BUF_INIT;

	mdc_sanitize_term(&b, s);
	fputs(b.ptr, f);
	mdc_buf_release(&b);
}

static void on_progress(void *ctx, const struct mdc_apply_event *ev)
{
	struct ui *ui = ctx;
	const char *col = "";

	/* One line per item when it ends, plus retries worth knowing about. */
	if (ev->status == MDC_APPLY_RUNNING && !ev->message)
		return;
	if (ui->color)
		col = ev->status == MDC_APPLY_FAILED    ? "\033[31m"
		      : ev->status == MDC_APPLY_APPLIED ? "\033[32m"
		      : ev->status == MDC_APPLY_SKIPPED ? "\033[33m"
		                                        : "";
	fprintf(ui->out, "  %s%-9s%s %s (%s)", col,
	        ev->status == MDC_APPLY_RUNNING ? "retrying" : mdc_apply_status_name(ev->status),
	        *col ? "\033[0m" : "", ev->item->id, mdc_action_name(ev->item->action));
	if (ev->message) {
		fputs(": ", ui->out);
		put_sanitized(ui->out, ev->message);
	}
	fputc('\n', ui->out);
	fflush(ui->out);
}

static void print_table(FILE *f, const struct mdc_apply_result *r)
{
	fprintf(f, "\n%-58s %7s %9s %6s %7s %7s\n", "SUBSCRIPTION", "APPLIED", "UNCHANGED",
	        "FAILED", "SKIPPED", "BLOCKED");
	for (size_t i = 0; i < r->nsubs; i++) {
		const struct mdc_apply_sub_result *s = &r->subs[i];
		struct mdc_buf name = MDC_BUF_INIT;
		const struct mdc_apply_counts *c = &s->counts;

		if (!s->id)
			mdc_buf_adds(&name, "workspace");
		else if (s->display_name) {
			mdc_sanitize_term(&name, s->display_name);
			mdc_buf_addf(&name, " (%s)", s->id);
		} else
			mdc_buf_adds(&name, s->id);
		if (!c->applied && !c->unchanged && !c->failed && !c->skipped && !c->blocked) {
			mdc_buf_release(&name);
			continue;
		}
		fprintf(f, "%-58s %7zu %9zu %6zu %7zu %7zu\n", name.ptr, c->applied, c->unchanged,
		        c->failed, c->skipped, c->blocked);
		if (s->first_failure) {
			fputs("    failed: ", f);
			put_sanitized(f, s->first_failure);
			fputc('\n', f);
		}
		mdc_buf_release(&name);
	}
}

static void print_json(const struct mdc_plan *p, const struct mdc_apply_result *r,
                       const char *resume)
{
	cJSON *root = cJSON_CreateObject(), *arr, *c;
	char *t;

	cJSON_AddNumberToObject(root, "format_version", 1);
	c = cJSON_AddObjectToObject(root, "counts");
	cJSON_AddNumberToObject(c, "applied", (double)r->counts.applied);
	cJSON_AddNumberToObject(c, "unchanged", (double)r->counts.unchanged);
	cJSON_AddNumberToObject(c, "failed", (double)r->counts.failed);
	cJSON_AddNumberToObject(c, "skipped", (double)r->counts.skipped);
	cJSON_AddNumberToObject(c, "blocked", (double)r->counts.blocked);
	cJSON_AddNumberToObject(c, "done_before", (double)r->counts.done_before);
	arr = cJSON_AddArrayToObject(root, "items");
	for (size_t i = 0; i < r->nitems; i++) {
		const struct mdc_apply_item_result *ir = &r->items[i];
		cJSON *o;
		if (ir->status == MDC_APPLY_NONE)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", p->items[i].id);
		cJSON_AddStringToObject(o, "action", mdc_action_name(p->items[i].action));
		cJSON_AddStringToObject(o, "status", mdc_apply_status_name(ir->status));
		if (ir->message)
			cJSON_AddStringToObject(o, "message", ir->message);
		if (ir->http_status)
			cJSON_AddNumberToObject(o, "http_status", ir->http_status);
		if (ir->request_id)
			cJSON_AddStringToObject(o, "request_id", ir->request_id);
		cJSON_AddItemToArray(arr, o);
	}
	arr = cJSON_AddArrayToObject(root, "subscriptions");
	for (size_t i = 0; i < r->nsubs; i++) {
		const struct mdc_apply_sub_result *s = &r->subs[i];
		cJSON *o = cJSON_CreateObject();
		if (s->id)
			cJSON_AddStringToObject(o, "id", s->id);
		else
			cJSON_AddNullToObject(o, "id");
		cJSON_AddNumberToObject(o, "applied", (double)s->counts.applied);
		cJSON_AddNumberToObject(o, "failed", (double)s->counts.failed);
		cJSON_AddNumberToObject(o, "skipped", (double)s->counts.skipped);
		if (s->first_failure)
			cJSON_AddStringToObject(o, "first_failure", s->first_failure);
		cJSON_AddItemToArray(arr, o);
	}
	if (resume)
		cJSON_AddStringToObject(root, "resume_file", resume);
	else
		cJSON_AddNullToObject(root, "resume_file");
	t = cJSON_Print(root);
	cJSON_Delete(root);
	if (t) {
		cli_write_stdout(t, strlen(t));
		cli_write_stdout("\n", 1);
		cJSON_free(t);
	}
}

/* The command line for the lock file, with credentials in URLs left out (a --git URL may
 * carry a token: https://user:token@host/...). */
static char *command_line(int argc, char **argv)
{
	struct mdc_buf b = MDC_BUF_INIT;

	mdc_buf_adds(&b, "mdcctl");
	for (int i = 0; i < argc && b.len < 400; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *url = eq && !strncmp(argv[i], "--", 2) ? eq + 1 : argv[i];
		char *shown;

		if (!strstr(url, "://") || !strchr(url, '@')) {
			mdc_buf_addf(&b, " %s", argv[i]);
			continue;
		}
		shown = mdc_gitsrc_display_url(url);
		mdc_buf_addf(&b, " %.*s%s", (int)(url - argv[i]), argv[i], shown);
		free(shown);
	}
	return mdc_buf_detach(&b);
}

static int confirm(void)
{
	char line[64];

	fputs("\nDo you want to apply this plan? Only 'yes' will be accepted: ", stderr);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes");
}

/* A saved plan made from git: the ref must still point at the plan's commit. */
static int check_git(const struct cli_common *c, const struct mdc_plan *plan)
{
	struct mdc_gitsrc_opts go = {
	    .url = c->git_url,
	    .ref = c->git_ref,
	    .cache_dir = c->git_cache,
	    .ca_file = c->ca_file,
	    .token = getenv("MDCCTL_GIT_TOKEN"),
	};
	struct mdc_error err = MDC_ERROR_INIT;
	char commit[41];

	if (!c->git_url) {
		if (plan->git_commit)
			fprintf(
			    stderr,
			    "mdcctl: note: the plan was made from git commit %.12s; give the same "
			    "--git options to check that the ref has not moved\n",
			    plan->git_commit);
		return EXIT_OK;
	}
	if (!plan->git_commit) {
		fputs("mdcctl: error: --git given, but the saved plan was not made from git\n",
		      stderr);
		return EXIT_FAIL;
	}
	if (mdc_gitsrc_ref_commit(commit, &go, &err) < 0) {
		cli_report(&err);
		mdc_error_clear(&err);
		return EXIT_FAIL;
	}
	if (strcasecmp(commit, plan->git_commit)) {
		fprintf(
		    stderr,
		    "mdcctl: error: the config's git ref '%s' moved: the plan was made at %.12s, "
		    "it now points at %.12s; run `mdcctl plan` again\n",
		    c->git_ref ? c->git_ref : "HEAD", plan->git_commit, commit);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Loads PLANFILE or RESUMEFILE. */
static int load_saved(const char *path, struct mdc_plan **plan, bool **done, bool **attempted,
                      bool *is_resume)
{
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	int rc = EXIT_OK;

	if (mdc_buf_read_file(&b, path, 64u << 20) < 0) {
		fprintf(stderr, "mdcctl: error: cannot read '%s': %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	*is_resume = mdc_apply_is_resume(b.ptr, b.len);
	if ((*is_resume ? mdc_apply_resume_from_json(plan, done, attempted, b.ptr, b.len, &err)
	                : mdc_plan_from_json(plan, b.ptr, b.len, &err)) < 0) {
		mdc_error_prefix(&err, "%s", path);
		cli_report(&err);
		rc = EXIT_FAIL;
	}
	mdc_error_clear(&err);
	mdc_buf_release(&b);
	return rc;
}

static bool anything_to_apply(const struct mdc_plan *p, const bool *done)
{
	for (size_t i = 0; i < p->nitems; i++)
		if (mdc_plan_item_applies(&p->items[i]) && !(done && done[i]))
			return true;
	return false;
}

int cmd_apply(int argc, char **argv)
{
	struct cli_common c;
	struct cli_session s;
	struct ui ui = {0};
	struct mdc_apply_opts ao = {0};
	const char *saved = NULL, *resume_path = DEFAULT_RESUME_FILE;
	bool auto_approve = false, is_resume = false, wrote_resume = false;
	bool *done = NULL, *attempted = NULL;
	int opt, rc = EXIT_OK;
	struct mdc_actual *act = NULL;
	struct mdc_plan *plan = NULL;
	struct mdc_apply_result *res = NULL;
	struct mdc_apply_lock *lock = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_strvec stale = {0};
	char *cmdline = NULL, *ws = NULL;

	memset(&s, 0, sizeof(s));
	cli_common_init(&c);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, options, NULL)) != -1) {
		switch (opt) {
		case OPT_AUTO_APPROVE:
			auto_approve = true;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				ui.json = true;
			else if (strcmp(optarg, "text"))
				return cli_usage("apply", "unknown format '%s' (text or json)",
				                 optarg);
			break;
		case OPT_RESUME_FILE:
			resume_path = optarg;
			break;
		case OPT_POLL:
			if (parse_seconds(optarg, &ao.poll_interval_ms))
				return EXIT_USAGE;
			break;
		case OPT_REGISTER_TIMEOUT:
			if (parse_seconds(optarg, &ao.register_timeout_ms))
				return EXIT_USAGE;
			break;
		case OPT_CONFLICT_WAIT:
			if (parse_seconds(optarg, &ao.conflict_wait_ms))
				return EXIT_USAGE;
			break;
		case '?':
			return cli_option_error("apply", argv, CLI_COMMON_SHORTOPTS);
		default:
			if (cli_common_option(&c, "apply", opt, optarg) <= 0)
				return EXIT_USAGE;
		}
	}
	if (c.help) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		saved = argv[optind++];
	if (optind < argc)
		return cli_usage("apply", "unexpected argument '%s'", argv[optind]);
	if (saved && c.file)
		return cli_usage("apply", "give either -f FILE or a saved plan, not both");
	if (cli_common_check(&c, "apply", !saved) < 0)
		return EXIT_USAGE;
	if (!saved && !auto_approve && !isatty(STDIN_FILENO)) {
		fputs("mdcctl: error: refusing to apply without confirmation: stdin is not a "
		      "terminal; review the plan and pass --auto-approve, or apply a saved plan\n",
		      stderr);
		return EXIT_FAIL;
	}
	ui.out = ui.json ? stderr : stdout;
	ui.color = !ui.json && cli_use_color(&c, STDOUT_FILENO);
	cmdline = command_line(argc, argv);

	if (saved) {
		if ((rc = load_saved(saved, &plan, &done, &attempted, &is_resume)) != EXIT_OK)
			goto cleanup;
		ws = mdc_xstrdup(plan->workspace ? plan->workspace : "");
	} else {
		if ((rc = cli_session_load(&s, &c, "apply")) != EXIT_OK)
			goto cleanup;
		ws = mdc_xasprintf(MDC_WORKSPACE_PATH_FMT, s.cfg->workspace.subscription,
		                   s.cfg->workspace.resource_group, s.cfg->workspace.name);
	}
	/* One apply per workspace: taken before reading, so the plan is ours to apply. */
	if (mdc_apply_lock_acquire(&lock, ws, cmdline, &err) < 0) {
		cli_report(&err);
		rc = EXIT_FAIL;
		goto cleanup;
	}

	if (saved) {
		struct mdc_config tc;
		if ((rc = check_git(&c, plan)) != EXIT_OK)
			goto cleanup;
		/* Only the tenant matters for the credential; endpoints come from the options
		 * and the environment, as for every command. */
		memset(&tc, 0, sizeof(tc));
		tc.tenant = plan->tenant;
		tc.cloud = MDC_CLOUD_AZURE;
		s.opt = &c;
		s.cmd = "apply";
		if ((rc = cli_session_connect(&s, &tc, false)) != EXIT_OK)
			goto cleanup;
		if (mdc_apply_check_fresh(&stale, s.arm, plan, done, attempted, &err) < 0) {
			cli_report(&err);
			rc = EXIT_FAIL;
			goto cleanup;
		}
		if (stale.n) {
			fprintf(stderr,
			        "mdcctl: error: the %s is stale; Azure changed since it was "
			        "made:\n",
			        is_resume ? "resume file's plan" : "saved plan");
			for (size_t i = 0; i < stale.n; i++) {
				fputs("  ", stderr);
				put_sanitized(stderr, stale.v[i]);
				fputc('\n', stderr);
			}
			fputs("run `mdcctl plan` (or `mdcctl apply -f FILE`) again\n", stderr);
			rc = EXIT_FAIL;
			goto cleanup;
		}
		fprintf(ui.out, "%s '%s' is fresh: every object it read is unchanged.\n",
		        is_resume ? "Resume file" : "Saved plan", saved);
	} else {
		if ((rc = cli_session_connect(&s, s.cfg, false)) != EXIT_OK ||
		    (rc = cli_session_observe(&s, NULL, &act)) != EXIT_OK)
			goto cleanup;
		if (mdc_plan_build(
		        &plan, s.cfg, act,
		        &(struct mdc_plan_opts){.now = time(NULL), .git_commit = s.git_commit},
		        &err) < 0) {
			cli_report(&err);
			rc = EXIT_FAIL;
			goto cleanup;
		}
		if (!ui.json) {
			mdc_render_text(&b, plan, &(struct mdc_render_opts){.color = ui.color});
			fwrite(b.ptr, 1, b.len, stdout);
			fflush(stdout);
		}
	}
	if (!anything_to_apply(plan, done)) {
		fprintf(ui.out, "\nNothing to apply: Azure already matches%s.\n",
		        plan->counts.blocked ? " (except the blocked items above)" : "");
		if (ui.json) {
			if (mdc_apply(&res, s.arm, plan, &ao, &err) == 0)
				print_json(plan, res, NULL);
		}
		rc = blocked_exit(plan->counts.blocked);
		goto cleanup;
	}
	if (!saved && !auto_approve && !confirm()) {
		fputs("mdcctl: apply cancelled\n", stderr);
		rc = EXIT_FAIL;
		goto cleanup;
	}

	fprintf(ui.out, "\nApplying:\n");
	ao.done = done;
	ao.progress = on_progress;
	ao.progress_ctx = &ui;
	if (mdc_apply(&res, s.arm, plan, &ao, &err) < 0) {
		cli_report(&err);
		rc = EXIT_FAIL;
		goto cleanup;
	}
	if (!ui.json)
		print_table(stdout, res);
	fprintf(ui.out,
	        "\nApply: %zu applied, %zu unchanged, %zu failed, %zu skipped, %zu blocked "
	        "(not attempted)%s. %lu requests, %lu retries, %.1f s.\n",
	        res->counts.applied, res->counts.unchanged, res->counts.failed, res->counts.skipped,
	        res->counts.blocked, res->counts.done_before ? ", the rest done before" : "",
	        res->requests, res->retries, res->elapsed_ms / 1000.0);
	if (res->counts.failed || res->counts.skipped) {
		char *json = mdc_apply_resume_to_json(plan, res, done, time(NULL));
		if (cli_write_file(resume_path, json, strlen(json), true) == 0) {
			wrote_resume = true;
			fprintf(stderr,
			        "mdcctl: error: partial failure; finish with `mdcctl apply %s`\n",
			        resume_path);
		}
		free(json);
		rc = EXIT_FAIL;
	} else if (is_resume) {
		/* The resume file is finished: nothing is left to resume. */
		if (unlink(saved) == 0)
			fprintf(ui.out, "Resume file '%s' finished and removed.\n", saved);
	}
	if (ui.json)
		print_json(plan, res, wrote_resume ? resume_path : NULL);
	if (rc == EXIT_OK)
		rc = blocked_exit(res->counts.blocked);
cleanup:
	mdc_apply_lock_release(lock);
	mdc_apply_result_free(res);
	mdc_strvec_clear(&stale);
	mdc_buf_release(&b);
	mdc_plan_free(plan);
	mdc_actual_free(act);
	mdc_error_clear(&err);
	free(done);
	free(attempted);
	free(cmdline);
	free(ws);
	cli_session_close(&s);
	return rc;
}
