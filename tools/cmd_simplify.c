/* cmd_simplify.c: `symbench simplify` (being written; replaced by its owner). */
#include "commands.h"
#include <stdio.h>

int sb_cmd_simplify(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "symbench: '%s' is not yet supported in this build\n", argv[0]);
    return 2;
}

int sb_cmd_explain(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "symbench: '%s' is not yet supported in this build\n", argv[0]);
    return 2;
}
