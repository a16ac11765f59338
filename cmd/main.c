/*
 * mdcctl: keep the Microsoft Defender for Cloud -> Microsoft Sentinel link declared in
 * YAML and true in Azure. This file holds the command table; each command lives in its
 * own file (git's git.c, libgit2's src/cli/main.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "common.h"
#include "banned.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"validate", cmd_validate, "parse and check the desired state, offline"},
    {"plan", cmd_plan, "read Azure, print what apply would do"},
    {"export", cmd_export, "write the desired state that reproduces today's tenant"},
    {"apply", cmd_apply, "make Azure match: plan, confirm, apply (or a saved plan)"},
    {"drift", cmd_drift, "read-only plan for cron jobs: 0 none, 2 drift, 1 error"},
    {"watch", cmd_watch, "GitOps agent: pull, plan, apply or report, every interval"},
    {"version", cmd_version, "print the version and the linked library versions"},
};

static void usage(FILE *f)
{
	fputs("usage: mdcctl <command> [options]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'mdcctl <command> --help' describes a command's options.\n", f);
}

void cli_report(const struct mdc_error *err)
{
	fprintf(stderr, "mdcctl: error: %s\n", err->message ? err->message : "unknown error");
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mdcctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'mdcctl %s --help'\n", cmd);
	return EXIT_USAGE;
}

/* Flushes stdout and turns a write error (full disk, closed pipe) into a failure: exit 1,
 * also for commands whose other codes (2: changes) would tell the caller something. */
static int finish(int rc)
{
	int cause;

	if (cli_stdout_finish(&cause) == 0)
		return rc;
	if (cause)
		fprintf(stderr, "mdcctl: error: cannot write output: %s\n", strerror(cause));
	else
		fputs("mdcctl: error: cannot write output\n", stderr);
	return EXIT_FAIL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") && argc > 2) {
		/* 'mdcctl help plan' is 'mdcctl plan --help' (git's help) */
		char *help_argv[] = {argv[2], "--help", NULL};

		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[2], commands[i].name))
				return finish(commands[i].fn(2, help_argv));
		argc--; /* not a command: say so below */
		argv++;
	} else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	           !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish(EXIT_OK);
	}
	if (!strcmp(argv[1], "--version"))
		return finish(cmd_version(argc - 1, argv + 1));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return finish(commands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "mdcctl: '%s' is not a command\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
