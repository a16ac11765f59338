#include <stdio.h>

#include "cmd.h"
#include "banned.h"

int cmd_watch(int argc, char **argv)
{
	fputs("mdcctl watch: not implemented yet\n", stderr);
	return EXIT_FAIL;
}
