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

/* ---- sharing-aware greedy (extraction-gym's faster-greedy-dag) ---------------------------- */
/* Per class, the set of classes its current choice uses with their e-nodes' costs; an e-node's
 * cost is the sum over the union of its children's sets plus its own, so a class shared by two
 * children is paid once. */
typedef struct cset {
    sb_id *cls;
    double *cost;
    uint32_t n;
    double total;
} cset;

typedef struct centry {
    sb_id c;
    double cost;
} centry;

static int cmp_entry(const void *a, const void *b)
{
    sb_id x = ((const centry *)a)->c, y = ((const centry *)b)->c;
    return x < y ? -1 : x > y;
}

/* The set of e-node n of class c from its children's sets; false if a child has none yet or
 * the set would contain c (a cycle). buf is scratch space, grown as needed. */
static bool node_set(sb_extractor *x, const cset *sets, sb_id c, sb_id n, centry **buf,
                     uint32_t *cap, uint32_t *len, double *total)
{
    sb_egraph *eg = x->eg;
    uint32_t m = 0;
    for (int k = 0; k < eg->nodes[n].nin; k++) {
        const cset *s = &sets[sb_eg_find(eg, sb_eg_kids(eg, n)[k])];
        if (!s->cls) return false;
        if (m + s->n + 1 > *cap) *buf = sb_xrealloc(*buf, sizeof(centry) * (*cap = 2 * (m + s->n + 1)));
        for (uint32_t i = 0; i < s->n; i++) (*buf)[m++] = (centry){s->cls[i], s->cost[i]};
    }
    if (m + 1 > *cap) *buf = sb_xrealloc(*buf, sizeof(centry) * (*cap = 2 * (m + 1)));
    qsort(*buf, m, sizeof(centry), cmp_entry);
    uint32_t u = 0;
    double t = x->ncost[n];
    for (uint32_t i = 0; i < m; i++) {
        if (u && (*buf)[u - 1].c == (*buf)[i].c) continue;
        if ((*buf)[i].c == c) return false;
        t += (*buf)[i].cost;
        (*buf)[u++] = (*buf)[i];
    }
    (*buf)[u++] = (centry){c, x->ncost[n]};
    *len = u;
    *total = t;
    return true;
}

static bool dag_sweep(sb_extractor *x, cset *sets, sb_id *choice, centry **buf, uint32_t *cap)
{
    sb_egraph *eg = x->eg;
    bool changed = false;
    for (uint32_t c = 0; c < eg->nnodes; c++) {
        if (sb_eg_find(eg, c) != c || !eg->cls[c].nodes.n) continue;
        for (uint32_t i = 0; i < eg->cls[c].nodes.n; i++) {
            sb_id n = eg->cls[c].nodes.v[i];
            uint32_t len;
            double t;
            if (!node_set(x, sets, c, n, buf, cap, &len, &t)) continue;
            if (sets[c].cls && t >= sets[c].total * (1 - 1e-12)) continue;
            sets[c].cls = sb_xrealloc(sets[c].cls, sizeof(sb_id) * len);
            sets[c].cost = sb_xrealloc(sets[c].cost, sizeof(double) * len);
            for (uint32_t k = 0; k < len; k++) sets[c].cls[k] = (*buf)[k].c, sets[c].cost[k] = (*buf)[k].cost;
            sets[c].n = len;
            sets[c].total = t;
            choice[c] = n;
            changed = true;
        }
    }
    return changed;
}

/* The DAG cost of the choice below c, INFINITY when it has a cycle or a class without a
 * choice; visits are stamped with gen (gray: on the path, black: done), so that one pair of
 * arrays serves every evaluation of a search. */
typedef struct stamps {
    uint32_t *gray, *black, gen;
} stamps;

static double dag_checked(sb_extractor *x, sb_id c, stamps *s)
{
    c = sb_eg_find(x->eg, c);
    if (s->black[c] == s->gen) return 0;
    if (s->gray[c] == s->gen || x->best[c] == SB_ID_NONE) return INFINITY;
    s->gray[c] = s->gen;
    sb_id n = x->best[c];
    double t = x->ncost[n];
    for (int i = 0; i < x->eg->nodes[n].nin && isfinite(t); i++)
        t += dag_checked(x, sb_eg_kids(x->eg, n)[i], s);
    s->black[c] = s->gen;
    return t;
}

static double roots_checked(sb_extractor *x, const sb_id *roots, int nroots, stamps *s)
{
    s->gen++;
    double t = 0;
    for (int i = 0; i < nroots && isfinite(t); i++) t += dag_checked(x, roots[i], s);
    return t;
}

/* x->best holds a candidate choice and old the previous one: keep the candidate (better) and
 * forget the terms built from the old one, or put the old one back. */
static void keep_or_restore(sb_extractor *x, sb_id *old, bool better)
{
    if (better) {
        free(old);
        memset(x->built, 0, sizeof *x->built * x->eg->nnodes);
    } else {
        free(x->best);
        x->best = old;
    }
}

bool sb_rw_extract_dag_greedy(sb_extractor *x, const sb_id *roots, int nroots, uint32_t max_nodes)
{
    sb_egraph *eg = x->eg;
    if (eg->nnodes > max_nodes) return false;
    cset *sets = sb_xcalloc(eg->nnodes + 1, sizeof *sets);
    sb_id *choice = sb_xmalloc(sizeof(sb_id) * (eg->nnodes + 1));
    memcpy(choice, x->best, sizeof(sb_id) * eg->nnodes);
    centry *buf = NULL;
    uint32_t cap = 0;
    for (int sweeps = 0; sweeps < 100 && dag_sweep(x, sets, choice, &buf, &cap); sweeps++) {}
    double before = sb_rw_extract_dag_cost(x, roots, nroots);
    sb_id *old = x->best;
    x->best = choice;
    /* a choice with a cycle costs INFINITY: never adopted */
    bool better = sb_rw_extract_dag_cost(x, roots, nroots) < before * (1 - 1e-12);
    keep_or_restore(x, old, better);
    for (uint32_t i = 0; i < eg->nnodes; i++) free(sets[i].cls), free(sets[i].cost);
    free(sets);
    free(buf);
    return better;
}

/* Classes reachable from c through the current choice, each once, into out. */
static void reach_chosen(sb_extractor *x, sb_id c, uint8_t *seen, sb_idvec *out)
{
    c = sb_eg_find(x->eg, c);
    if (seen[c] || x->best[c] == SB_ID_NONE) return;
    seen[c] = 1;
    sb_idvec_push(out, c);
    sb_id n = x->best[c];
    for (int i = 0; i < x->eg->nodes[n].nin; i++) reach_chosen(x, sb_eg_kids(x->eg, n)[i], seen, out);
}

#define FROM_INPUT_MAX_TRIES 50000 /* cost evaluations in one search, at most */

bool sb_rw_extract_from_input(sb_extractor *x, sb_node *const *inputs, const sb_id *roots,
                              int nroots)
{
    sb_egraph *eg = x->eg;
    uint32_t nn = eg->nnodes + 1;
    double before = sb_rw_extract_dag_cost(x, roots, nroots);
    sb_id *old = x->best, *best = sb_xmalloc(sizeof(sb_id) * nn);
    memcpy(best, old, sizeof(sb_id) * eg->nnodes);
    x->best = best;
    size_t cnt = sb_ctx_node_count(eg->ctx);
    sb_id *seen = sb_xmalloc(sizeof(sb_id) * (cnt + 1));
    memset(seen, 0xff, sizeof(sb_id) * (cnt + 1));
    bool ok = true;
    for (int i = 0; i < nroots && ok; i++) ok = sb_eg_term_enode(eg, inputs[i], seen) != SB_ID_NONE;
    for (size_t id = 0; ok && id <= cnt; id++) /* each input node's class chooses its e-node */
        if (seen[id] != SB_ID_NONE) best[sb_eg_find(eg, seen[id])] = seen[id];
    free(seen);
    stamps st = {sb_xcalloc(nn, sizeof(uint32_t)), sb_xcalloc(nn, sizeof(uint32_t)), 0};
    double cost = ok ? roots_checked(x, roots, nroots, &st) : INFINITY;
    uint8_t *mark = sb_xcalloc(nn, 1);
    int tries = 0;
    for (int sweeps = 0; isfinite(cost) && sweeps < 8 && tries < FROM_INPUT_MAX_TRIES; sweeps++) {
        bool changed = false;
        sb_idvec cls = {0};
        memset(mark, 0, nn);
        for (int i = 0; i < nroots; i++) reach_chosen(x, roots[i], mark, &cls);
        for (uint32_t q = 0; q < cls.n && tries < FROM_INPUT_MAX_TRIES; q++) {
            sb_id c = cls.v[q];
            for (uint32_t j = 0; j < eg->cls[c].nodes.n && tries < FROM_INPUT_MAX_TRIES; j++) {
                sb_id m = eg->cls[c].nodes.v[j], was = best[c];
                if (m == was || !isfinite(x->ncost[m])) continue;
                best[c] = m;
                tries++;
                double t = roots_checked(x, roots, nroots, &st);
                if (t < cost * (1 - 1e-12)) cost = t, changed = true;
                else best[c] = was;
            }
        }
        sb_idvec_free(&cls);
        if (!changed) break;
    }
    free(mark);
    free(st.gray);
    free(st.black);
    bool better = isfinite(cost) && cost < before * (1 - 1e-12);
    keep_or_restore(x, old, better);
    return better;
}

double sb_rw_extract_dag_cost(sb_extractor *x, const sb_id *roots, int nroots)
{
    uint32_t n = x->eg->nnodes + 1;
    stamps st = {sb_xcalloc(n, sizeof(uint32_t)), sb_xcalloc(n, sizeof(uint32_t)), 0};
    double t = roots_checked(x, roots, nroots, &st);
    free(st.gray);
    free(st.black);
    return t;
}
