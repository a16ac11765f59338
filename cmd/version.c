/*
 * mdcctl --version / mdcctl version: the version and the libraries it runs with (as
 * linked at run time, which is what a bug report needs).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "config.h"
#include "crypto.h"
#include "gitsrc.h"
#include "http.h"
#include "banned.h"

int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("usage: mdcctl version\n\nPrints the version of mdcctl and of the libraries "
		      "it is linked with.\n",
		      stdout);
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage("version", "unexpected argument '%s'", argv[1]);
	printf("mdcctl %s\n", MDCCTL_VERSION);
	printf("  libcurl: %s\n", mdc_http_library_version());
	printf("  libgit2: %s\n", mdc_gitsrc_version());
	printf("  libyaml: %s\n", mdc_config_yaml_version());
	printf("  OpenSSL: %s\n", mdc_crypto_version());
	printf("  cJSON:   %s\n", cJSON_Version());
	return EXIT_OK;
}
