/* extract.h: cost model and extraction (internal), modelled on egg's Extractor.
 *
 *     sb_extractor *x = sb_rw_extract_greedy(eg);          // bottom-up fixpoint, tree cost
 *     sb_rw_extract_ilp(x, &root, 1, 1000, 2.0, 0);        // optional: exact DAG cost (GLPK)
 *     sb_node *best = sb_rw_extract_term(x, root);          // a node of eg->ctx
 *     double c = sb_rw_extract_dag_cost(x, &root, 1);       // shared subterms counted once
 *     sb_rw_extractor_free(x);
 */
#ifndef SB_EXTRACT_H
#define SB_EXTRACT_H

#include "egraph.h"

#define SB_COST_UNKNOWN_DIM 128 /* a dimension unknown until run time is costed as this size */
#define SB_ILP_AUTO_MAX_NODES 200 /* "extract": "auto" uses the ILP up to this many e-nodes */
#define SB_ILP_AUTO_GAP 1e-3      /* ... and stops within this fraction of the optimum's cost */

/* The cost of one op producing type out from inputs of types in[]: flops plus bytes moved
 * (one unit per float32 element read or written), at least 1. */
double sb_rw_op_cost(sb_op op, const sb_attrs *a, const sb_type *out, int nin,
                     const sb_type *const *in);
/* Extra cost of numerically unstable forms: op applied to children, where kid_has(i, op2, user)
 * says whether child i can be op2, and kid_const(i, &v, user) whether it is the constant v. */
typedef struct sb_cost_kids {
    bool (*has)(void *user, int i, sb_op op);            /* child i is (can be) an op node */
    bool (*has_sub)(void *user, int i, sb_op op, sb_op sub); /* ... op whose some child is sub */
    bool (*has_one)(void *user, int i, sb_op op);        /* ... op with a child that is 1 */
    bool (*is_one)(void *user, int i);                   /* child i is the constant 1 */
    void *user;
} sb_cost_kids;
double sb_rw_unstable_penalty(sb_op op, const sb_type *out, int nin, const sb_cost_kids *k);
/* Cost of e-node n of eg (its op on its class types, plus the instability penalty). */
double sb_rw_enode_cost(sb_egraph *eg, sb_id n);
/* DAG cost of the terms roots[0..n): every distinct node counted once. */
double sb_rw_term_cost(sb_node *const *roots, int n);

typedef struct sb_extractor {
    sb_egraph *eg;
    double *ncost;   /* by e-node id: its own cost */
    double *cost;    /* by class id: best tree cost */
    sb_id *best;     /* by class id: chosen e-node */
    sb_node **built; /* by class id: extracted term */
    FILE *trace;     /* extraction decisions (optional) */
    bool used_ilp;
} sb_extractor;

sb_extractor *sb_rw_extract_greedy(sb_egraph *eg);
/* Sharing-aware greedy (faster-greedy-dag): per class the cheapest e-node by the DAG cost of its
 * children's choices taken together; adopted when the roots' DAG cost drops. Skipped (false)
 * above max_nodes ids. */
bool sb_rw_extract_dag_greedy(sb_extractor *x, const sb_id *roots, int nroots, uint32_t max_nodes);
/* Refine the choice for the classes reachable from roots by an ILP over DAG cost (GLPK),
 * started from the current choices (greedy's) as the incumbent: exact with rel_gap = 0, else
 * branch and bound stops once the best solution is proved within rel_gap (a fraction) of the
 * optimum's cost. false (choices left as they were) when GLPK is not built in, the graph is
 * larger than max_nodes e-nodes, or no solution was found in time_limit seconds. */
bool sb_rw_extract_ilp(sb_extractor *x, const sb_id *roots, int nroots, int max_nodes,
                       double time_limit, double rel_gap);
/* Start from the input terms' own e-nodes (every class of the inputs chooses what the input
 * had there; the other classes keep their choice) and improve by single changes: a class takes
 * another of its e-nodes when the roots' DAG cost drops and the choice stays acyclic, sweeping
 * until no change helps. The result is never costlier than the input. Adopted when it beats
 * the current choice's DAG cost; returns whether it was. (After saturation stopped at a limit,
 * the greedy choice can lose the input's sharing and cost more than the input, and every
 * rewrite would be dropped with it.) */
bool sb_rw_extract_from_input(sb_extractor *x, sb_node *const *inputs, const sb_id *roots,
                              int nroots);
/* The chosen term of class c (a node of eg->ctx), or NULL if none could be built. */
sb_node *sb_rw_extract_term(sb_extractor *x, sb_id c);
/* The DAG cost of the current choice below roots (each class used paid once); INFINITY when it
 * has a cycle or reaches a class without a choice. */
double sb_rw_extract_dag_cost(sb_extractor *x, const sb_id *roots, int nroots);
void sb_rw_extractor_free(sb_extractor *x);

#endif
