#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "banned.h"

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static bool env_is_off(const char *name)
{
	const char *v = env_or_null(name);

	return v && (!strcmp(v, "0") || !strcasecmp(v, "off") || !strcasecmp(v, "false") ||
	             !strcasecmp(v, "no"));
}

void cli_common_init(struct cli_common *c)
{
	memset(c, 0, sizeof(*c));
	c->arm_endpoint = env_or_null("MDCCTL_ARM_ENDPOINT");
	c->authority_host = env_or_null("AZURE_AUTHORITY_HOST");
	c->ca_file = env_or_null("MDCCTL_CA_FILE");
	c->parallelism = 32;
	/* Reads travel 20 to an ARM /batch unless switched off (reference §9.5: undocumented,
	 * so optional; any batch ARM refuses turns them back into single GETs). */
	c->arm_batch = !env_is_off("MDCCTL_ARM_BATCH");
	/* https://no-color.org: any non-empty value disables colour. */
	c->no_color = env_or_null("NO_COLOR") != NULL;
}

int cli_common_option(struct cli_common *c, const char *cmd, int opt, const char *arg)
{
	char *end;
	long n;

	switch (opt) {
	case 'f':
		c->file = arg;
		return 1;
	case 'v':
		c->verbose++;
		return 1;
	case 'h':
		c->help = true;
		return 1;
	case OPT_GIT:
		c->git_url = arg;
		return 1;
	case OPT_GIT_REF:
		c->git_ref = arg;
		return 1;
	case OPT_GIT_PATH:
		c->git_path = arg;
		return 1;
	case OPT_GIT_CACHE:
		c->git_cache = arg;
		return 1;
	case OPT_ARM_ENDPOINT:
		c->arm_endpoint = arg;
		return 1;
	case OPT_AUTHORITY_HOST:
		c->authority_host = arg;
		return 1;
	case OPT_CA_FILE:
		c->ca_file = arg;
		return 1;
	case OPT_AUTH:
		if (strcmp(arg, "secret") && strcmp(arg, "certificate") &&
		    strcmp(arg, "federated") && strcmp(arg, "managed-identity") &&
		    strcmp(arg, "azure-cli")) {
			cli_usage(cmd,
			          "unknown --auth '%s' (secret, certificate, federated, "
			          "managed-identity, azure-cli)",
			          arg);
			return -1;
		}
		c->auth_kind = arg;
		return 1;
	case OPT_PARALLELISM:
		n = strtol(arg, &end, 10);
		if (*end || n < 1 || n > 256) {
			cli_usage(cmd, "--parallelism must be a number from 1 to 256, not '%s'",
			          arg);
			return -1;
		}
		c->parallelism = (int)n;
		return 1;
	case OPT_ARM_BATCH:
	case OPT_NO_ARM_BATCH:
		c->arm_batch = opt == OPT_ARM_BATCH;
		return 1;
	case OPT_NO_COLOR:
		c->no_color = true;
		return 1;
	}
	return 0;
}

int cli_option_error(const char *cmd, char **argv, const char *shortopts)
{
	const char *arg = argv[optind - 1], *p;

	if (!strncmp(arg, "--", 2)) {
		/* getopt_long sets optopt to 0 for an unknown long option, else to its value */
		if (!optopt)
			return cli_usage(cmd, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
		return cli_usage(cmd, "option '%s' needs a value", arg);
	}
	if (optopt > 0 && optopt < 256 && optopt != ':' && (p = strchr(shortopts, optopt)) &&
	    p[1] == ':')
		return cli_usage(cmd, "option '-%c' needs a value", optopt);
	return cli_usage(cmd, "unknown option '-%c'", optopt > 0 && optopt < 256 ? optopt : '?');
}

int cli_common_check(struct cli_common *c, const char *cmd, bool need_config)
{
	if (c->git_url && !c->git_path) {
		cli_usage(cmd, "--git needs --git-path (the config's path in the repository)");
		return -1;
	}
	if (!c->git_url && (c->git_ref || c->git_path)) {
		cli_usage(cmd, "--git-ref and --git-path need --git URL");
		return -1;
	}
	if (c->git_url && c->file) {
		cli_usage(cmd, "give either -f FILE or --git URL, not both");
		return -1;
	}
	if (need_config && !c->file && !c->git_url) {
		cli_usage(cmd, "no desired state: give -f FILE or --git URL --git-path PATH");
		return -1;
	}
	return 0;
}

bool cli_use_color(const struct cli_common *c, int fd)
{
	return !c->no_color && isatty(fd);
}

/* The errno of the first failed write to stdout: stdio keeps only an error flag, and errno
 * is long overwritten by the time main checks it. */
static int stdout_errno;

static void note_stdout_error(void)
{
	if (!stdout_errno)
		stdout_errno = errno ? errno : EIO;
}

int cli_write_stdout(const void *data, size_t len)
{
	errno = 0;
	if (fwrite(data, 1, len, stdout) != len) {
		note_stdout_error();
		return -1;
	}
	errno = 0;
	if (fflush(stdout)) {
		note_stdout_error();
		return -1;
	}
	return 0;
}

int cli_stdout_finish(int *cause)
{
	errno = 0;
	if (fflush(stdout))
		note_stdout_error();
	*cause = stdout_errno;
	return ferror(stdout) || stdout_errno ? -1 : 0;
}

int cli_write_file(const char *path, const char *data, size_t len, bool private_mode)
{
	char *tmp;
	int fd;
	size_t off = 0;

	if (!strcmp(path, "-"))
		return cli_write_stdout(data, len);
	tmp = malloc(strlen(path) + 16);
	if (!tmp)
		return -1;
	snprintf(tmp, strlen(path) + 16, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_mode ? 0600 : 0644);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	fprintf(stderr, "mdcctl: error: cannot write '%s': %s\n", path, strerror(errno));
	unlink(tmp);
	free(tmp);
	return -1;
}
