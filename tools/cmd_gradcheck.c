/* cmd_gradcheck.c: `symbench gradcheck` (being written; replaced by its owner). */
#include "commands.h"
#include <stdio.h>

int sb_cmd_gradcheck(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "symbench: '%s' is not yet supported in this build\n", argv[0]);
    return 2;
}
