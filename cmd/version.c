#include <stdio.h>

#include "cmd.h"
#include "banned.h"

int cmd_version(int argc, char **argv)
{
	printf("mdcctl %s\n", MDCCTL_VERSION);
	return EXIT_OK;
}
