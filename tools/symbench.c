/* symbench: the command line. One program, subcommands; every one has --help. */
#include "commands.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", sb_cmd_run, "run a pipeline: optimize, draw, evaluate or train, save"},
    {"eval", sb_cmd_eval, "evaluate a small expression and print its value"},
    {"simplify", sb_cmd_simplify, "optimize an expression with rule sets; print it and its cost"},
    {"explain", sb_cmd_explain, "show the chain of rewrites that proves two terms equal"},
    {"rules", sb_cmd_rules, "list rule sets, or check their rules for soundness"},
    {"viz", sb_cmd_viz, "draw a graph, a pipeline stage or an e-graph (DOT, SVG, PNG)"},
    {"gradcheck", sb_cmd_gradcheck, "check a graph's gradients against finite differences"},
    {"bench", sb_cmd_bench, "run the benchmark suite"},
    {"plugins", sb_cmd_plugins, "show what plugins provide (rules, ops, passes, costs, facts)"},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

/* The subcommand named in argv[1..] (skipping --plugin PATH), or "". */
static const char *command_name(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--plugin")) i++;
        else if (strncmp(argv[i], "--plugin=", 9)) return argv[i];
    }
    return "";
}

/* Commands that compute with OpenBLAS / OpenMP get the process environment they want
 * (procenv.c); bench chooses its own from its options. */
static bool computes(const char *cmd)
{
    static const char *const names[] = {"run", "eval", "gradcheck", "rules"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(cmd, names[i])) return true;
    return false;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: symbench COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'symbench COMMAND --help' describes one command.\n"
               "'--plugin PATH' (any command, repeatable) loads a plugin first (docs/plugins.md).\n");
}

int main(int argc, char **argv)
{
    /* The program owns its heap (the library sets no process-wide state): keep freed memory in
     * it instead of trimming it or mmapping big blocks, so that a training loop's per-step
     * arrays (minibatches, copied update values) reuse warm pages instead of faulting fresh
     * ones in every step (docs/performance.md, "The fast path"). */
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    if (computes(command_name(argc, argv))) sb_cmd_tune_env(argc - 1, argv + 1, NULL, false, NULL);
    if (sb_cmd_load_plugins(&argc, argv)) return 1; /* --plugin PATH, for every command */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("symbench 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "symbench: unknown command '%s' (see 'symbench --help')\n", argv[1]);
    return 2;
}
