#ifndef MDC_CMD_COMMON_H
#define MDC_CMD_COMMON_H
/*
 * Options shared by every command that reads a config or talks to Azure (DESIGN.md
 * "Common options"), parsed in one place so that --help and behaviour agree.
 *
 * A command's getopt_long table ends with CLI_COMMON_LONGOPTS; its switch hands unknown
 * option codes to cli_common_option().
 */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

enum {
	OPT_GIT = 1000,
	OPT_GIT_REF,
	OPT_GIT_PATH,
	OPT_GIT_CACHE,
	OPT_ARM_ENDPOINT,
	OPT_AUTHORITY_HOST,
	OPT_CA_FILE,
	OPT_PARALLELISM,
	OPT_NO_COLOR,
	OPT_AUTH,
	OPT_ARM_BATCH,
	OPT_NO_ARM_BATCH,
	OPT_COMMON_MAX
};

#define CLI_COMMON_LONGOPTS                                                                        \
	{"file", required_argument, NULL, 'f'}, {"git", required_argument, NULL, OPT_GIT},         \
	    {"git-ref", required_argument, NULL, OPT_GIT_REF},                                     \
	    {"git-path", required_argument, NULL, OPT_GIT_PATH},                                   \
	    {"git-cache", required_argument, NULL, OPT_GIT_CACHE},                                 \
	    {"arm-endpoint", required_argument, NULL, OPT_ARM_ENDPOINT},                           \
	    {"authority-host", required_argument, NULL, OPT_AUTHORITY_HOST},                       \
	    {"ca-file", required_argument, NULL, OPT_CA_FILE},                                     \
	    {"parallelism", required_argument, NULL, OPT_PARALLELISM},                             \
	    {"no-color", no_argument, NULL, OPT_NO_COLOR},                                         \
	    {"arm-batch", no_argument, NULL, OPT_ARM_BATCH},                                       \
	    {"no-arm-batch", no_argument, NULL, OPT_NO_ARM_BATCH},                                 \
	    {"auth", required_argument, NULL, OPT_AUTH}, {"verbose", no_argument, NULL, 'v'},      \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

#define CLI_COMMON_SHORTOPTS "f:vh"

#define CLI_COMMON_HELP                                                                            \
	"  -f, --file FILE          the desired state (YAML; - for stdin)\n"                       \
	"      --git URL            take FILE from a git repository (with --git-ref, "             \
	"--git-path)\n"                                                                            \
	"      --git-ref REF        branch, tag or commit id (default: HEAD of the remote)\n"      \
	"      --git-path PATH      path of the config inside the repository\n"                    \
	"      --git-cache DIR      clone cache (default $XDG_CACHE_HOME/mdcctl/git)\n"            \
	"      --arm-endpoint URL   Azure Resource Manager (env MDCCTL_ARM_ENDPOINT)\n"            \
	"      --authority-host URL Entra ID authority (env AZURE_AUTHORITY_HOST)\n"               \
	"      --ca-file PATH       trust this CA as well (env MDCCTL_CA_FILE)\n"                  \
	"      --auth KIND          secret|certificate|federated|managed-identity|azure-cli\n"     \
	"      --parallelism N      requests in flight (default 32)\n"                             \
	"      --no-arm-batch       read with single GETs, not 20 to an ARM /batch request\n"      \
	"                           (undocumented by Azure; env MDCCTL_ARM_BATCH=0)\n"             \
	"      --no-color           no colour (also NO_COLOR)\n"                                   \
	"  -v, --verbose            more detail on stderr (never secrets)\n"                       \
	"  -h, --help               this help\n"

struct cli_common {
	const char *file;
	const char *git_url, *git_ref, *git_path, *git_cache;
	const char *arm_endpoint, *authority_host, *ca_file, *auth_kind;
	int parallelism;
	int verbose;
	bool no_color;
	bool arm_batch;
	bool help;
};

/* Defaults from the environment (MDCCTL_ARM_ENDPOINT, AZURE_AUTHORITY_HOST, MDCCTL_CA_FILE,
 * NO_COLOR). */
void cli_common_init(struct cli_common *c);
/* Handles one option code of CLI_COMMON_LONGOPTS. Returns 1 if handled, 0 if the code is
 * not a common option, -1 on a bad value (message printed; the caller exits 64). */
int cli_common_option(struct cli_common *c, const char *cmd, int opt, const char *arg);
/* Prints the usage error for getopt_long's '?' (opterr 0, optstring without a leading ':'):
 * an unknown option, or an option given without its value, named as the user wrote it.
 * shortopts is the optstring given to getopt_long. Returns EXIT_USAGE. */
int cli_option_error(const char *cmd, char **argv, const char *shortopts);
/* Checks combinations (-f or --git...). Returns 0 or prints and returns -1. */
int cli_common_check(struct cli_common *c, const char *cmd, bool need_config);
/* Whether to colour output on stream fd (a terminal, and neither --no-color nor NO_COLOR). */
bool cli_use_color(const struct cli_common *c, int fd);

/* Writes len bytes of data to standard output and flushes it. A failure's cause (errno) is
 * kept for cli_stdout_finish, which reports it. Returns 0 or -1 (nothing printed). */
int cli_write_stdout(const void *data, size_t len);
/* Flushes standard output. Returns 0, or -1 when anything written to it was lost, with
 * *cause set to the first failure's errno when known (else 0). */
int cli_stdout_finish(int *cause);

/* Writes data to path atomically (a temporary file renamed over it), mode 0600 when
 * private. Returns 0, or -1 with a message printed. "-" writes to stdout. */
int cli_write_file(const char *path, const char *data, size_t len, bool private_mode);

#endif
