/* extract.c: choosing one term per e-class (egg's Extractor) and building it back as nodes.
 *
 * Greedy: a bottom-up fixpoint of tree cost (cost of the e-node plus its children's best
 * costs); with positive costs the choice is acyclic. The cost reported for a choice is its DAG
 * cost: each class used is paid once, as tensor graphs share subterms. The exact DAG-cost
 * choice comes from the ILP in extract_ilp.c. */
#include "extract.h"
#include "trace.h"

#include <math.h>

/* One relaxation sweep; returns whether any class got cheaper. */
static bool sweep(sb_extractor *x)
{
    sb_egraph *eg = x->eg;
    bool changed = false;
    for (uint32_t c = 0; c < eg->nnodes; c++) {
        if (sb_eg_find(eg, c) != c || !eg->cls[c].nodes.n) continue;
        for (uint32_t i = 0; i < eg->cls[c].nodes.n; i++) {
            sb_id n = eg->cls[c].nodes.v[i];
            const sb_id *k = sb_eg_kids(eg, n);
            double t = x->ncost[n];
            for (int j = 0; j < eg->nodes[n].nin && isfinite(t); j++) t += x->cost[sb_eg_find(eg, k[j])];
            if (t < x->cost[c] * (1 - 1e-12)) {
                x->cost[c] = t;
                x->best[c] = n;
                changed = true;
            }
        }
    }
    return changed;
}

sb_extractor *sb_rw_extract_greedy(sb_egraph *eg)
{
    if (!eg->clean || eg->pending.n) sb_eg_rebuild(eg);
    sb_extractor *x = sb_xcalloc(1, sizeof *x);
    x->eg = eg;
    uint32_t n = eg->nnodes ? eg->nnodes : 1;
    x->ncost = sb_xmalloc(n * sizeof *x->ncost);
    x->cost = sb_xmalloc(n * sizeof *x->cost);
    x->best = sb_xmalloc(n * sizeof *x->best);
    x->built = sb_xcalloc(n, sizeof *x->built);
    /* Ties go to the older e-node (the input's own form): a tiny cost grows with the id. */
    for (uint32_t i = 0; i < eg->nnodes; i++) {
        x->ncost[i] = eg->live[i] ? sb_rw_enode_cost(eg, i) + 1e-6 * (double)i / (double)n : INFINITY;
        x->cost[i] = INFINITY;
        x->best[i] = SB_ID_NONE;
    }
    for (int guard = 0; sweep(x) && guard < 10000; guard++) {}
    return x;
}

void sb_rw_extractor_free(sb_extractor *x)
{
    if (!x) return;
    free(x->ncost);
    free(x->cost);
    free(x->best);
    free(x->built);
    free(x);
}

sb_node *sb_rw_extract_term(sb_extractor *x, sb_id c)
{
    sb_egraph *eg = x->eg;
    c = sb_eg_find(eg, c);
    if (x->built[c]) return x->built[c];
    sb_id n = x->best[c];
    if (n == SB_ID_NONE) return NULL;
    const sb_enode *e = &eg->nodes[n];
    sb_node *res;
    if (e->leaf) {
        res = e->leaf;
    } else {
        sb_node *in[e->nin > 0 ? e->nin : 1];
        for (int i = 0; i < e->nin; i++)
            if (!(in[i] = sb_rw_extract_term(x, sb_eg_kids(eg, n)[i]))) return NULL;
        res = sb_apply(eg->ctx, (sb_op)e->op, e->nin, in, sb_attrs_get(eg->ctx, e->attr), NULL);
        if (!res) return NULL;
    }
    if (x->trace) sb_trace_extract(x->trace, c, sb_op_get((sb_op)e->op)->name, x->ncost[n]);
    return x->built[c] = res;
}

static double dag_rec(sb_extractor *x, sb_id c, uint8_t *seen)
{
    c = sb_eg_find(x->eg, c);
    if (seen[c] || x->best[c] == SB_ID_NONE) return seen[c] ? 0 : INFINITY;
    seen[c] = 1;
    sb_id n = x->best[c];
    double t = x->ncost[n];
    for (int i = 0; i < x->eg->nodes[n].nin; i++) t += dag_rec(x, sb_eg_kids(x->eg, n)[i], seen);
    return t;
}

double sb_rw_extract_dag_cost(sb_extractor *x, const sb_id *roots, int nroots)
{
    uint8_t *seen = sb_xcalloc(x->eg->nnodes + 1, 1);
    double t = 0;
    for (int i = 0; i < nroots; i++) t += dag_rec(x, roots[i], seen);
    free(seen);
    return t;
}
