#ifndef MDC_CMD_H
#define MDC_CMD_H
/*
 * The CLI's shared pieces. Each command is `int cmd_<name>(int argc, char **argv)` in
 * cmd/<name>.c and returns the process exit code; argv[0] is the command name.
 */
#include <stdio.h>

#include "config.h"
#include "error.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,    /* invalid input, error, partial failure */
	EXIT_CHANGES = 2, /* plan --detailed-exitcode / drift: there are changes */
	EXIT_USAGE = 64   /* EX_USAGE */
};

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_drift(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* Prints "mdcctl: error: <message>" for err on stderr. */
void cli_report(const struct mdc_error *err);
/* Prints diagnostics as FILE:LINE:COL: error|warning: MESSAGE on stderr. */
void cli_print_diags(FILE *f, const char *path, const struct mdc_diags *d);
/* Prints a usage error and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct mdc_buf;
struct mdc_plan;
struct cli_common;
/* --format text|json|markdown into *fmt; prints a usage error and returns EXIT_USAGE. */
int cli_parse_format(const char *cmd, const char *arg, int *fmt);
/* Renders p in fmt (colour decided from c and stdout) into out. */
void cli_render(struct mdc_buf *out, const struct mdc_plan *p, int fmt, const struct cli_common *c,
                const char *hint);

#endif
