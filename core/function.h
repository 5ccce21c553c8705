/* function.h: internals of compiled functions (core/function.c), shared variables
 * (core/shared.c) and training (core/train.c).
 *
 * A compiled function keeps a program: the final nodes of its outputs and update values, run by
 * an executor. The executor is an interface so that a faster execution plan (issue 6: schedule,
 * memory plan, persistent buffers) can replace the reference evaluator without touching the
 * function's semantics (bindings, atomic updates). */
#ifndef SB_FUNCTION_H
#define SB_FUNCTION_H

#include "core-impl.h"

/* An executor: compiles a list of nodes once, then runs it on bindings many times. */
typedef struct sb_exec_i {
    const char *name;
    const void *data; /* handed to compile (the backend of sb_fn_exec_backend) */
    /* Prepare a program computing outs[0..n) (nodes of ctx). NULL + d on error. */
    void *(*compile)(const void *data, sb_ctx *ctx, int n, sb_node *const *outs, bool f64,
                     sb_diag *d);
    /* Evaluate: res[0..n) receive new arrays; on error res hold NULL and d is filled. */
    sb_status (*run)(void *prog, int nbind, const sb_binding *binds, sb_array **res, sb_diag *d);
    /* Release the program. */
    void (*free)(void *prog);
    /* (optional) Write output i into the array bound to leaf at each run from now on (res[i]
     * then NULL); SB_OK, or d filled when it is not safe (the program is unchanged). NULL =
     * never: the function copies and swaps. */
    sb_status (*update_inplace)(void *prog, int i, sb_node *leaf, sb_diag *d);
} sb_exec_i;

/* The default executor: the reference evaluator sb_eval. */
extern const sb_exec_i sb_fn_exec_eval;
/* An executor running programs of the backend called name (backends/backend.h: "cpu", "cuda");
 * false + d when there is no such backend or it is not available. */
bool sb_fn_exec_backend(const char *name, sb_exec_i *out, sb_diag *d);

/* Replace f's executor (recompiles its program, and chooses its in-place updates again).
 * Returns SB_OK or fills d. */
sb_status sb_fn_set_exec(sb_function *f, const sb_exec_i *ex, sb_diag *d);

/* In-place updates. When f's executor can (a backend with update_inplace: the CPU plan), the
 * new value of shared variable vars[i] is written by the call straight into the array the store
 * holds for it, instead of into a new array swapped in afterwards; the backend accepts only
 * updates it can write safely (backends/cpu/plan.h: the writer runs after every reader).
 * The semantics of sb_function_call stay: outputs and update values see the state before the
 * call (a <- b, b <- a still swaps: such updates are refused and copied), and a call that
 * fails changes no shared value. For the latter, in-place writes are used only when every
 * update left to copy-and-swap has a statically known shape equal to its variable's declared
 * one (so it cannot fail after the writes); then a call first checks that the store holds
 * values of those declared shapes (an error before anything runs otherwise), and the backend
 * checks every write before the first one. An argument that is the very array the store holds
 * for a variable written in place is copied first. SB_FN_COPY_UPDATES=1 in the environment
 * (read when compiling) turns in-place updates off. Whether update i is written in place: */
bool sb_fn_update_inplace(const sb_function *f, int i);

/* Initial values of g's shared variables from the pipeline's data specs (sb_pipeline_data_load
 * with each variable's declared type) into s; a shared variable without data is an error at the
 * pipeline's "data" (or root). p is a const struct sb_pipeline * (core/pipeline.h). */
sb_status sb_fn_store_load(sb_shared_store *s, const struct sb_pipeline *p, const sb_graph *g,
                           sb_diag *d);

/* Store v under name, taking ownership (replaces and frees an old value). */
void sb_fn_store_take(sb_shared_store *s, const char *name, sb_array *v);

/* Substitute givens in n: every node equal to vars[i] becomes vals[i] (not recursively inside
 * vals). memo (by node id, nmemo entries) caches rebuilt nodes. NULL + d on a type error. */
sb_node *sb_fn_substitute(sb_ctx *ctx, sb_node *n, int ngiv, const sb_given *givens,
                          sb_node **memo, size_t nmemo, sb_diag *d);

#endif
