/*
 * mdcctl validate -f FILE [--format text|json]: parse and check the desired state offline.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "common.h"
#include "gitsrc.h"
#include "session.h"
#include "config.h"
#include "banned.h"

static const char usage_text[] =
    "usage: mdcctl validate (-f FILE | --git URL --git-path PATH) [--format text|json]\n"
    "\n"
    "Parses and checks the desired state without contacting Azure.\n"
    "\n"
    "  -f, --file FILE      the desired state ('-' reads standard input)\n"
    "      --git URL        take it from a git repository instead (with --git-ref REF,\n"
    "                       --git-path PATH, --git-cache DIR, --ca-file PATH)\n"
    "      --format FORMAT  text (default): diagnostics on stderr as FILE:LINE:COL: ...\n"
    "                       json: {\"valid\":..., \"diagnostics\":[...]} on stdout\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 valid (warnings allowed), 1 invalid, 64 usage error\n";

static const struct option options[] = {
    {"file", required_argument, NULL, 'f'},
    {"format", required_argument, NULL, 'F'},
    {"help", no_argument, NULL, 'h'},
    {"git", required_argument, NULL, OPT_GIT},
    {"git-ref", required_argument, NULL, OPT_GIT_REF},
    {"git-path", required_argument, NULL, OPT_GIT_PATH},
    {"git-cache", required_argument, NULL, OPT_GIT_CACHE},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {NULL, 0, NULL, 0},
};

static const char *severity_name(enum mdc_severity s)
{
	return s == MDC_DIAG_WARNING ? "warning" : "error";
}

void cli_print_diags(FILE *f, const char *path, const struct mdc_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct mdc_diag *g = &d->v[i];
		if (g->pos.line)
			fprintf(f, "%s:%u:%u: %s: %s\n", path, g->pos.line, g->pos.col,
			        severity_name(g->severity), g->message);
		else
			fprintf(f, "%s: %s: %s\n", path, severity_name(g->severity), g->message);
	}
}

static int print_json(const struct mdc_diags *d, bool valid)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *text;

	cJSON_AddBoolToObject(root, "valid", valid);
	for (size_t i = 0; i < d->n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "severity", severity_name(d->v[i].severity));
		cJSON_AddNumberToObject(o, "line", d->v[i].pos.line);
		cJSON_AddNumberToObject(o, "column", d->v[i].pos.col);
		cJSON_AddStringToObject(o, "message", d->v[i].message);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(root, "diagnostics", arr);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

int cmd_validate(int argc, char **argv)
{
	struct mdc_diags diags = {0};
	struct mdc_config *cfg = NULL;
	struct mdc_gitsrc_result git = MDC_GITSRC_RESULT_INIT;
	struct cli_common common;
	const char *file = NULL, *name;
	bool json = false;
	int c, rc;

	cli_common_init(&common);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:h", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "text"))
				return cli_usage("validate", "unknown format '%s' (text or json)",
				                 optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case ':':
			return cli_usage("validate", "option '%s' needs a value", argv[optind - 1]);
		case OPT_GIT:
		case OPT_GIT_REF:
		case OPT_GIT_PATH:
		case OPT_GIT_CACHE:
		case OPT_CA_FILE:
			cli_common_option(&common, "validate", c, optarg);
			break;
		default:
			return cli_usage("validate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("validate", "unexpected argument '%s'", argv[optind]);
	common.file = file;
	if (!file && !common.git_url)
		return cli_usage("validate", "missing -f FILE (or --git URL --git-path PATH)");
	if (cli_common_check(&common, "validate", true) < 0)
		return EXIT_USAGE;
	if (common.git_url) {
		if (cli_git_read(&common, &git) != EXIT_OK)
			return EXIT_FAIL;
		name = common.git_path;
		rc = mdc_config_parse(&cfg, git.data.ptr, git.data.len, name, &diags);
		mdc_gitsrc_result_release(&git);
	} else {
		name = strcmp(file, "-") ? file : "<stdin>";
		rc = mdc_config_load(&cfg, file, &diags);
	}
	if (json) {
		if (print_json(&diags, rc == 0) < 0)
			fputs("mdcctl: error: out of memory\n", stderr);
	} else {
		cli_print_diags(stderr, name, &diags);
	}
	mdc_config_free(cfg);
	mdc_diags_clear(&diags);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
