/*
 * mdcemu: a local emulator of the Azure Resource Manager and Entra ID endpoints mdcctl
 * uses. See tests/emulator/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "entra.h"
#include "banned.h"

static void usage(FILE *f)
{
	fputs(
	    "usage: mdcemu --state FILE [--listen 127.0.0.1:0] [--port-file PATH] [--tls-dir DIR]\n"
	    "              [--latency-ms N] [--fault-rate P] [--seed N] [--page-size N]\n"
	    "              [--throttle on|off] [--save PATH] [--register-polls N]\n"
	    "              [--pricing-write-ms N]\n"
	    "       mdcemu --generate N [--seed S] -o FILE\n",
	    f);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	chmod(path, mode);
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Binds host:port on loopback only. Returns the listening socket or -1. */
static int listen_loopback(const char *spec, int *port)
{
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	if (colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		*port = atoi(colon + 1);
	} else {
		*port = atoi(spec);
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "mdcemu: refusing to listen on '%s': loopback addresses only\n",
		        host);
		return -1;
	}
	sa.sin_port = htons((uint16_t)*port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		fprintf(stderr, "mdcemu: cannot listen on %s: %s\n", spec, strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Appends NAME='value' with the value quoted for any POSIX shell. */
static void env_line(struct mdc_buf *b, const char *name, const char *value)
{
	mdc_buf_addf(b, "%s='", name);
	for (const char *p = value ? value : ""; *p; p++)
		if (*p == '\'')
			mdc_buf_adds(b, "'\\''");
		else
			mdc_buf_addch(b, *p);
	mdc_buf_adds(b, "'\n");
}

static int write_tls_dir(struct emu *emu, const char *dir, const char *ca_pem)
{
	struct mdc_buf env = MDC_BUF_INIT;
	const cJSON *p =
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(emu->state, "principals"), 0);
	char *ca_path, *env_path, *abs;
	const char *tenant = emu_str(emu->state, "tenantId");
	char *mi;
	int ret;

	mkdir(dir, 0700);
	/* absolute, so that the env file works from any directory */
	abs = realpath(dir, NULL);
	ca_path = mdc_xasprintf("%s/ca.pem", abs ? abs : dir);
	env_path = mdc_xasprintf("%s/env", dir);
	free(abs);
	mi = mdc_xasprintf("%s/msi/token", emu->base_url);
	env_line(&env, "AZURE_TENANT_ID", tenant);
	env_line(&env, "AZURE_CLIENT_ID", p ? emu_str(p, "clientId") : NULL);
	env_line(&env, "AZURE_CLIENT_SECRET", p ? emu_str(p, "secret") : NULL);
	env_line(&env, "MDCCTL_ARM_ENDPOINT", emu->base_url);
	env_line(&env, "AZURE_AUTHORITY_HOST", emu->base_url);
	env_line(&env, "MDCCTL_CA_FILE", ca_path);
	env_line(&env, "IDENTITY_ENDPOINT", mi);
	env_line(&env, "IDENTITY_HEADER", emu_str(emu->state, "managedIdentityHeader"));
	free(mi);
	mdc_buf_adds(&env, "export AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET "
	                   "MDCCTL_ARM_ENDPOINT AZURE_AUTHORITY_HOST MDCCTL_CA_FILE "
	                   "IDENTITY_ENDPOINT IDENTITY_HEADER\n");
	ret = write_file(ca_path, ca_pem, 0644) < 0 || write_file(env_path, env.ptr, 0600) < 0 ? -1
	                                                                                       : 0;
	if (ret < 0)
		fprintf(stderr, "mdcemu: cannot write %s: %s\n", dir, strerror(errno));
	mdc_buf_release(&env);
	free(ca_path);
	free(env_path);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"listen", required_argument, NULL, 'l'},
	                                         {"port-file", required_argument, NULL, 'P'},
	                                         {"tls-dir", required_argument, NULL, 't'},
	                                         {"latency-ms", required_argument, NULL, 'L'},
	                                         {"fault-rate", required_argument, NULL, 'f'},
	                                         {"seed", required_argument, NULL, 'S'},
	                                         {"page-size", required_argument, NULL, 'p'},
	                                         {"throttle", required_argument, NULL, 'T'},
	                                         {"save", required_argument, NULL, 'w'},
	                                         {"register-polls", required_argument, NULL, 'r'},
	                                         {"pricing-write-ms", required_argument, NULL, 'W'},
	                                         {"generate", required_argument, NULL, 'g'},
	                                         {"output", required_argument, NULL, 'o'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	static struct emu emu;
	const char *out = NULL;
	char *ca = NULL, *cert = NULL, *key = NULL;
	int opt, generate = -1, fd, sig, status = 1;
	void *daemon = NULL;
	sigset_t set;

	emu.opts = (struct emu_opts){.listen = "127.0.0.1:0",
	                             .page_size = 100,
	                             .throttle = true,
	                             .register_polls = 2,
	                             .pricing_write_ms = 200,
	                             .seed = 1};
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			emu.opts.state_path = optarg;
			break;
		case 'l':
			emu.opts.listen = optarg;
			break;
		case 'P':
			emu.opts.port_file = optarg;
			break;
		case 't':
			emu.opts.tls_dir = optarg;
			break;
		case 'L':
			emu.opts.latency_ms = atoi(optarg);
			break;
		case 'f':
			emu.opts.fault_rate = atof(optarg);
			break;
		case 'S':
			emu.opts.seed = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			emu.opts.page_size = atoi(optarg);
			break;
		case 'T':
			emu.opts.throttle = strcmp(optarg, "off") != 0;
			break;
		case 'w':
			emu.opts.save_path = optarg;
			break;
		case 'r':
			emu.opts.register_polls = atoi(optarg);
			break;
		case 'W':
			emu.opts.pricing_write_ms = atoi(optarg);
			break;
		case 'g':
			generate = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (generate >= 0) {
		if (!out) {
			usage(stderr);
			return 64;
		}
		return emu_generate(generate, emu.opts.seed, out) < 0 ? 1 : 0;
	}
	if (!emu.opts.state_path || optind != argc) {
		usage(stderr);
		return 64;
	}
	if (emu_state_load(&emu.state, emu.opts.state_path) < 0) {
		fprintf(stderr, "mdcemu: cannot load state '%s': %s\n", emu.opts.state_path,
		        strerror(errno));
		return 1;
	}
	pthread_mutex_init(&emu.lock, NULL);
	emu.rng = emu.opts.seed * 0x9e3779b97f4a7c15ull + 1;
	emu.log = cJSON_CreateArray();
	emu.faults = cJSON_CreateArray();
	emu.inflight = cJSON_CreateObject();
	emu.polls = cJSON_CreateObject();
	emu_throttle_defaults(&emu);

	fd = listen_loopback(emu.opts.listen, &emu.port);
	if (fd < 0)
		goto cleanup;
	snprintf(emu.base_url, sizeof(emu.base_url), "https://localhost:%d", emu.port);
	if (emu_tls_make(&ca, &cert, &key) < 0) {
		fprintf(stderr, "mdcemu: cannot generate TLS certificates\n");
		goto cleanup;
	}
	emu.entra = entra_new(emu.base_url);
	if (!emu.entra) {
		fprintf(stderr, "mdcemu: cannot create the token issuer\n");
		goto cleanup;
	}
	if (emu.opts.tls_dir && write_tls_dir(&emu, emu.opts.tls_dir, ca) < 0)
		goto cleanup;

	/* Block the signals before the server's threads start, so only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	daemon = emu_server_start(&emu, fd, cert, key);
	if (!daemon) {
		fprintf(stderr, "mdcemu: cannot start the HTTPS server\n");
		goto cleanup;
	}
	if (emu.opts.port_file) {
		char port[16];

		snprintf(port, sizeof(port), "%d\n", emu.port);
		if (write_file(emu.opts.port_file, port, 0644) < 0) {
			fprintf(stderr, "mdcemu: cannot write %s\n", emu.opts.port_file);
			goto cleanup;
		}
	}
	printf("mdcemu listening on %s\n", emu.base_url);
	fflush(stdout);
	sigwait(&set, &sig);
	status = 0;
cleanup:
	emu_server_stop(daemon);
	if (fd >= 0)
		close(fd);
	if (status == 0 && emu.opts.save_path &&
	    emu_state_save(emu.state, emu.opts.save_path) < 0) {
		fprintf(stderr, "mdcemu: cannot save state to %s\n", emu.opts.save_path);
		status = 1;
	}
	entra_free(emu.entra);
	emu_throttle_reset(&emu);
	cJSON_Delete(emu.state);
	cJSON_Delete(emu.log);
	cJSON_Delete(emu.faults);
	cJSON_Delete(emu.inflight);
	cJSON_Delete(emu.polls);
	free(ca);
	free(cert);
	free(key);
	return status;
}
