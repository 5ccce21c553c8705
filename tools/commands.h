/* commands.h: the subcommands of the `symbench` program. Each takes the arguments after its
 * name (argv[0] = the subcommand's name), prints its own --help, and returns the exit status. */
#ifndef SB_COMMANDS_H
#define SB_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

int sb_cmd_run(int argc, char **argv);       /* cmd_run.c: run a pipeline */
int sb_cmd_eval(int argc, char **argv);      /* cmd_eval.c: evaluate a small expression */
int sb_cmd_simplify(int argc, char **argv);  /* cmd_simplify.c: optimize an expression */
int sb_cmd_explain(int argc, char **argv);   /* cmd_simplify.c: why two terms are equal */
int sb_cmd_rules(int argc, char **argv);     /* cmd_rules.c: list / check rule sets */
int sb_cmd_viz(int argc, char **argv);       /* cmd_viz.c: draw a graph, stage or e-graph */
int sb_cmd_gradcheck(int argc, char **argv); /* cmd_gradcheck.c: verify gradients */
int sb_cmd_bench(int argc, char **argv);     /* cmd_bench.c: benchmarks */
int sb_cmd_plugins(int argc, char **argv);   /* cmd_plugins.c: what plugins provide */
/* cmd_plugins.c: load every `--plugin PATH` (or --plugin=PATH) of argv[1..] and remove them
 * from argv (argc updated). Returns 0, or 1 after printing the error naming the plugin. */
int sb_cmd_load_plugins(int *argc, char **argv);
/* cmd_plugins.c: load a pipeline's `plugins` (paths relative to the pipeline file) in order;
 * an error points at the offending entry. */
struct sb_pipeline;
struct sb_diag;
int sb_cmd_pipeline_plugins(const struct sb_pipeline *p, struct sb_diag *d);
/* procenv.c: re-execute the program (argv = the subcommand's arguments, argv[0] its name) once
 * with OPENBLAS_CORETYPE = core (NULL: SkylakeX when the CPU has AVX-512F; keep_core: leave it)
 * and OMP_WAIT_POLICY = wait (NULL: passive unless the environment sets it). Returns 0 (go on)
 * when nothing needs to change, after a re-execution, or when SB_KEEP_ENV is set. */
int sb_cmd_tune_env(int argc, char **argv, const char *core, bool keep_core, const char *wait);
/* The OpenMP waiting in force, in words (for reports). */
const char *sb_cmd_wait_desc(char *buf, size_t n);

#endif
