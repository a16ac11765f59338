/*
 * mdcctl plan: read Azure, print what apply would do, optionally save the plan.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "plan.h"
#include "render.h"
#include "session.h"
#include "banned.h"

enum { OPT_FORMAT = OPT_COMMON_MAX, OPT_DETAILED, OPT_ACTUAL, OPT_SAVE_ACTUAL, OPT_HINT };

static const struct option options[] = {
    {"out", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"detailed-exitcode", no_argument, NULL, OPT_DETAILED},
    {"actual", required_argument, NULL, OPT_ACTUAL},
    {"save-actual", required_argument, NULL, OPT_SAVE_ACTUAL},
    {"full-plan-hint", required_argument, NULL, OPT_HINT},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: mdcctl plan (-f FILE | --git URL --git-path PATH) [options]\n"
    "\n"
    "Reads Azure and prints what apply would do. Exit 0, or 2 with --detailed-exitcode\n"
    "when there are changes or blocked items; 1 on error.\n"
    "\n"
    "  -o, --out PLANFILE       save the plan (JSON) for `mdcctl apply PLANFILE`\n"
    "      --format FMT         text (default), json or markdown\n"
    "      --detailed-exitcode  exit 2 when the plan has changes\n"
    "      --actual SNAPSHOT    plan offline against a saved actual state\n"
    "      --save-actual FILE   save the actual state read from Azure\n"
    "      --full-plan-hint S   markdown: where readers find the full JSON plan\n" CLI_COMMON_HELP;

enum format { FMT_TEXT, FMT_JSON, FMT_MARKDOWN };

int cli_parse_format(const char *cmd, const char *arg, int *fmt)
{
	if (!strcmp(arg, "text"))
		*fmt = FMT_TEXT;
	else if (!strcmp(arg, "json"))
		*fmt = FMT_JSON;
	else if (!strcmp(arg, "markdown"))
		*fmt = FMT_MARKDOWN;
	else
		return cli_usage(cmd, "unknown format '%s' (text, json or markdown)", arg);
	return 0;
}

void cli_render(struct mdc_buf *out, const struct mdc_plan *p, int fmt, const struct cli_common *c,
                const char *hint)
{
	struct mdc_render_opts ro = {
	    .color = cli_use_color(c, STDOUT_FILENO),
	    .full_plan_hint = hint,
	};

	if (fmt == FMT_JSON)
		mdc_render_json(out, p);
	else if (fmt == FMT_MARKDOWN)
		mdc_render_markdown(out, p, &ro);
	else
		mdc_render_text(out, p, &ro);
}

int cmd_plan(int argc, char **argv)
{
	struct cli_common c;
	struct cli_session s;
	const char *out = NULL, *actual_file = NULL, *save_actual = NULL, *hint = NULL;
	int fmt = FMT_TEXT, detailed = 0, opt, rc;
	struct mdc_actual *act = NULL;
	struct mdc_plan *plan = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_buf b = MDC_BUF_INIT;

	cli_common_init(&c);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case OPT_FORMAT:
			if (cli_parse_format("plan", optarg, &fmt))
				return EXIT_USAGE;
			break;
		case OPT_DETAILED:
			detailed = 1;
			break;
		case OPT_ACTUAL:
			actual_file = optarg;
			break;
		case OPT_SAVE_ACTUAL:
			save_actual = optarg;
			break;
		case OPT_HINT:
			hint = optarg;
			break;
		case '?':
			return cli_option_error("plan", argv, "o:" CLI_COMMON_SHORTOPTS);
		default:
			if ((rc = cli_common_option(&c, "plan", opt, optarg)) <= 0)
				return EXIT_USAGE;
		}
	}
	if (c.help) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_usage("plan", "unexpected argument '%s'", argv[optind]);
	if (cli_common_check(&c, "plan", true) < 0)
		return EXIT_USAGE;

	if ((rc = cli_session_load(&s, &c, "plan")) != EXIT_OK)
		goto cleanup;
	if (actual_file) {
		if (mdc_actual_load(&act, actual_file, &err) < 0) {
			cli_report(&err);
			rc = EXIT_FAIL;
			goto cleanup;
		}
	} else if ((rc = cli_session_connect(&s, s.cfg, true)) != EXIT_OK ||
	           (rc = cli_session_observe(&s, NULL, &act)) != EXIT_OK) {
		goto cleanup;
	}
	if (save_actual) {
		char *json = mdc_actual_to_json(act);
		int w = cli_write_file(save_actual, json, strlen(json), false);
		free(json);
		if (w < 0) {
			rc = EXIT_FAIL;
			goto cleanup;
		}
	}
	if (mdc_plan_build(&plan, s.cfg, act,
	                   &(struct mdc_plan_opts){.now = time(NULL), .git_commit = s.git_commit},
	                   &err) < 0) {
		cli_report(&err);
		rc = EXIT_FAIL;
		goto cleanup;
	}
	if (out) {
		char *json = mdc_plan_to_json(plan);
		int w = cli_write_file(out, json, strlen(json), false);
		free(json);
		if (w < 0) {
			rc = EXIT_FAIL;
			goto cleanup;
		}
	}
	cli_render(&b, plan, fmt, &c, hint ? hint : out);
	if (cli_write_stdout(b.ptr, b.len) < 0) {
		rc = EXIT_FAIL; /* main reports the cause */
		goto cleanup;
	}
	rc = detailed && mdc_plan_has_changes(plan) ? EXIT_CHANGES : EXIT_OK;
cleanup:
	mdc_buf_release(&b);
	mdc_plan_free(plan);
	mdc_actual_free(act);
	mdc_error_clear(&err);
	cli_session_close(&s);
	return rc;
}
