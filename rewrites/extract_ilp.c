/* extract_ilp.c: exact extraction by integer linear programming through GLPK (DAG cost).
 *
 * Over the classes reachable from the roots: a binary x_n per e-node (chosen), a level l_c per
 * class. Each root has one chosen e-node; every class at most one; a chosen e-node needs each
 * child class to have a chosen e-node; and a chosen e-node's class sits above its children
 * (l_c >= l_k + 1), which rules out cycles. Minimize the sum of chosen e-nodes' costs: each class
 * used is paid once, so shared subterms cost once (tensat's formulation). */
#include "extract.h"

#ifdef SB_HAVE_GLPK
#include <glpk.h>

/* Classes reachable from roots (through every e-node), in `order`; index by class in pos[]. */
static void reach(sb_egraph *eg, const sb_id *roots, int nroots, sb_idvec *order, int *pos)
{
    for (int i = 0; i < nroots; i++) {
        sb_id r = sb_eg_find(eg, roots[i]);
        if (pos[r] < 0) pos[r] = (int)order->n, sb_idvec_push(order, r);
    }
    for (uint32_t q = 0; q < order->n; q++) {
        const sb_eclass *c = &eg->cls[order->v[q]];
        for (uint32_t j = 0; j < c->nodes.n; j++)
            for (int k = 0; k < eg->nodes[c->nodes.v[j]].nin; k++) {
                sb_id kc = sb_eg_find(eg, sb_eg_kids(eg, c->nodes.v[j])[k]);
                if (pos[kc] < 0) pos[kc] = (int)order->n, sb_idvec_push(order, kc);
            }
    }
}

/* Strongly connected components of the class graph over order (Tarjan); comp[pos] = id. Only
 * edges inside a component can close a cycle, so only they need level constraints. */
typedef struct tarjan {
    sb_egraph *eg;
    const sb_idvec *order;
    const int *pos;
    int *index, *low, *comp, *stack;
    bool *on;
    int next, sp, ncomp;
} tarjan;

static void strong(tarjan *t, int v)
{
    t->index[v] = t->low[v] = t->next++;
    t->stack[t->sp++] = v;
    t->on[v] = true;
    const sb_eclass *c = &t->eg->cls[t->order->v[v]];
    for (uint32_t j = 0; j < c->nodes.n; j++)
        for (int k = 0; k < t->eg->nodes[c->nodes.v[j]].nin; k++) {
            int w = t->pos[sb_eg_find(t->eg, sb_eg_kids(t->eg, c->nodes.v[j])[k])];
            if (t->index[w] < 0) {
                strong(t, w);
                if (t->low[w] < t->low[v]) t->low[v] = t->low[w];
            } else if (t->on[w] && t->index[w] < t->low[v]) {
                t->low[v] = t->index[w];
            }
        }
    if (t->low[v] == t->index[v]) {
        int w;
        do {
            w = t->stack[--t->sp];
            t->on[w] = false;
            t->comp[w] = t->ncomp;
        } while (w != v);
        t->ncomp++;
    }
}

static int *components(sb_egraph *eg, const sb_idvec *order, const int *pos)
{
    int n = (int)order->n;
    tarjan t = {.eg = eg, .order = order, .pos = pos};
    t.index = sb_xmalloc(sizeof(int) * (size_t)(n + 1));
    t.low = sb_xmalloc(sizeof(int) * (size_t)(n + 1));
    t.comp = sb_xmalloc(sizeof(int) * (size_t)(n + 1));
    t.stack = sb_xmalloc(sizeof(int) * (size_t)(n + 1));
    t.on = sb_xcalloc((size_t)n + 1, sizeof(bool));
    for (int i = 0; i < n; i++) t.index[i] = -1;
    for (int i = 0; i < n; i++)
        if (t.index[i] < 0) strong(&t, i);
    free(t.index);
    free(t.low);
    free(t.stack);
    free(t.on);
    return t.comp;
}

/* Add one constraint row with the given entries (GLPK arrays are 1-based). */
static void add_row(glp_prob *lp, int type, double lb, double ub, int n, const int *ind,
                    const double *val)
{
    int r = glp_add_rows(lp, 1);
    glp_set_row_bnds(lp, r, type, lb, ub);
    int *i1 = sb_xmalloc(sizeof(int) * (size_t)(n + 1));
    double *v1 = sb_xmalloc(sizeof(double) * (size_t)(n + 1));
    memcpy(i1 + 1, ind, sizeof(int) * (size_t)n);
    memcpy(v1 + 1, val, sizeof(double) * (size_t)n);
    glp_set_mat_row(lp, r, n, i1, v1);
    free(i1);
    free(v1);
}

/* Build the program; col[n] = column of e-node n's x (0: not in it). Returns the level base. */
static int build(glp_prob *lp, sb_extractor *x, const sb_idvec *order, const int *pos, int *col)
{
    sb_egraph *eg = x->eg;
    int ncls = (int)order->n, lvl0 = 0;
    for (int q = 0; q < ncls; q++) {
        const sb_eclass *c = &eg->cls[order->v[q]];
        for (uint32_t j = 0; j < c->nodes.n; j++) {
            sb_id n = c->nodes.v[j];
            int cc = glp_add_cols(lp, 1);
            col[n] = cc;
            glp_set_col_kind(lp, cc, GLP_BV);
            glp_set_obj_coef(lp, cc, x->ncost[n]);
            for (int k = 0; k < eg->nodes[n].nin; k++)
                if (sb_eg_find(eg, sb_eg_kids(eg, n)[k]) == order->v[q]) glp_set_col_bnds(lp, cc, GLP_FX, 0, 0);
        }
    }
    lvl0 = glp_add_cols(lp, ncls);
    for (int q = 0; q < ncls; q++) glp_set_col_bnds(lp, lvl0 + q, GLP_DB, 0, ncls);
    return lvl0;
}

/* Constraints: one per class (at most one / exactly one at roots), children, levels. */
static void constrain(glp_prob *lp, sb_extractor *x, const sb_idvec *order, const int *pos,
                      const int *col, int lvl0, const sb_id *roots, int nroots)
{
    sb_egraph *eg = x->eg;
    int *comp = components(eg, order, pos);
    int ncls = (int)order->n, cap = 16;
    int *ind = sb_xmalloc(sizeof(int) * (size_t)cap);
    double *val = sb_xmalloc(sizeof(double) * (size_t)cap);
    for (int q = 0; q < ncls; q++) {
        const sb_eclass *c = &eg->cls[order->v[q]];
        if ((int)c->nodes.n + 2 > cap) {
            cap = (int)c->nodes.n + 2;
            ind = sb_xrealloc(ind, sizeof(int) * (size_t)cap);
            val = sb_xrealloc(val, sizeof(double) * (size_t)cap);
        }
        bool is_root = false;
        for (int r = 0; r < nroots; r++) is_root |= sb_eg_find(eg, roots[r]) == order->v[q];
        for (uint32_t j = 0; j < c->nodes.n; j++) ind[j] = col[c->nodes.v[j]], val[j] = 1;
        add_row(lp, is_root ? GLP_FX : GLP_UP, is_root ? 1 : 0, 1, (int)c->nodes.n, ind, val);
    }
    for (int q = 0; q < ncls; q++) {
        const sb_eclass *c = &eg->cls[order->v[q]];
        for (uint32_t j = 0; j < c->nodes.n; j++) {
            sb_id n = c->nodes.v[j];
            for (int k = 0; k < eg->nodes[n].nin; k++) {
                sb_id kc = sb_eg_find(eg, sb_eg_kids(eg, n)[k]);
                if (kc == order->v[q]) continue; /* a self-loop: x_n is fixed at 0 */
                const sb_eclass *kcl = &eg->cls[kc];
                if ((int)kcl->nodes.n + 2 > cap) {
                    cap = (int)kcl->nodes.n + 2;
                    ind = sb_xrealloc(ind, sizeof(int) * (size_t)cap);
                    val = sb_xrealloc(val, sizeof(double) * (size_t)cap);
                }
                /* x_n - sum_{m in kc} x_m <= 0 */
                int m = 0;
                ind[m] = col[n], val[m++] = 1;
                for (uint32_t t = 0; t < kcl->nodes.n; t++) ind[m] = col[kcl->nodes.v[t]], val[m++] = -1;
                add_row(lp, GLP_UP, 0, 0, m, ind, val);
                if (comp[q] != comp[pos[kc]]) continue; /* no cycle through this edge */
                /* l_c - l_k - M x_n >= 1 - M */
                double big = ncls + 1;
                int li[3] = {lvl0 + q, lvl0 + pos[kc], col[n]};
                double lv[3] = {1, -1, -big};
                add_row(lp, GLP_LO, 1 - big, 0, 3, li, lv);
            }
        }
    }
    free(ind);
    free(val);
    free(comp);
}

/* The greedy choices (x->best) as a starting incumbent for branch and bound: every class used
 * by the roots' chosen terms gets its chosen e-node, levels are heights in the chosen DAG (the
 * greedy terms are acyclic). With it, branch and bound prunes every node whose LP bound is no
 * better than greedy from the start; when greedy is optimal that is about all of them. */
typedef struct incumbent {
    sb_extractor *x;
    const sb_idvec *order;
    const int *pos, *col;
    int lvl0;
    const sb_id *roots;
    int nroots;
    bool offered;
} incumbent;

/* Height of class c's chosen term (memo in h[], -1 = not yet; -2 = on the path: a cycle). */
static int height(incumbent *in, sb_id c, int *h, double *xv)
{
    sb_egraph *eg = in->x->eg;
    c = sb_eg_find(eg, c);
    int q = in->pos[c];
    if (q < 0 || h[q] == -2) return -1;
    if (h[q] >= 0) return h[q];
    h[q] = -2;
    sb_id n = in->x->best[c];
    if (n == SB_ID_NONE || !in->col[n]) return -1;
    int top = 0;
    for (int k = 0; k < eg->nodes[n].nin; k++) {
        int hk = height(in, sb_eg_kids(eg, n)[k], h, xv);
        if (hk < 0) return -1;
        if (hk + 1 > top) top = hk + 1;
    }
    xv[in->col[n]] = 1;
    xv[in->lvl0 + q] = top;
    return h[q] = top;
}

static void offer_greedy(glp_tree *tree, void *info)
{
    incumbent *in = info;
    if (glp_ios_reason(tree) != GLP_IHEUR || in->offered) return;
    in->offered = true;
    glp_prob *lp = glp_ios_get_prob(tree);
    int ncls = (int)in->order->n, ncol = glp_get_num_cols(lp);
    double *xv = sb_xcalloc((size_t)ncol + 1, sizeof(double));
    int *h = sb_xmalloc(sizeof(int) * (size_t)(ncls + 1));
    for (int q = 0; q < ncls; q++) h[q] = -1;
    bool ok = true;
    for (int r = 0; ok && r < in->nroots; r++) ok = height(in, in->roots[r], h, xv) >= 0;
    if (ok) glp_ios_heur_sol(tree, xv);
    free(h);
    free(xv);
}

bool sb_rw_extract_ilp(sb_extractor *x, const sb_id *roots, int nroots, int max_nodes,
                       double time_limit, double rel_gap)
{
    sb_egraph *eg = x->eg;
    int *pos = sb_xmalloc(sizeof(int) * (eg->nnodes + 1));
    for (uint32_t i = 0; i <= eg->nnodes; i++) pos[i] = -1;
    sb_idvec order = {0};
    reach(eg, roots, nroots, &order, pos);
    int nn = 0;
    for (uint32_t q = 0; q < order.n; q++) nn += (int)eg->cls[order.v[q]].nodes.n;
    bool ok = false;
    if (nn <= max_nodes) {
        int *col = sb_xcalloc(eg->nnodes + 1, sizeof(int));
        glp_term_out(GLP_OFF);
        glp_prob *lp = glp_create_prob();
        glp_set_obj_dir(lp, GLP_MIN);
        int lvl0 = build(lp, x, &order, pos, col);
        constrain(lp, x, &order, pos, col, lvl0, roots, nroots);
        incumbent inc = {.x = x, .order = &order, .pos = pos, .col = col, .lvl0 = lvl0,
                         .roots = roots, .nroots = nroots};
        glp_smcp sm;
        glp_init_smcp(&sm);
        sm.msg_lev = GLP_MSG_OFF;
        sm.tm_lim = (int)(time_limit * 1000);
        glp_iocp parm;
        glp_init_iocp(&parm);
        parm.presolve = GLP_OFF; /* the LP relaxation is solved first; the callback's columns are ours */
        parm.mir_cuts = GLP_ON;
        parm.clq_cuts = GLP_ON;
        parm.msg_lev = GLP_MSG_OFF;
        parm.tm_lim = (int)(time_limit * 1000);
        parm.mip_gap = rel_gap;
        parm.cb_func = offer_greedy;
        parm.cb_info = &inc;
        int rc = glp_simplex(lp, &sm);
        if (rc == 0 && glp_get_status(lp) == GLP_OPT) rc = glp_intopt(lp, &parm);
        else rc = 1;
        int st = glp_mip_status(lp);
        double before = sb_rw_extract_dag_cost(x, roots, nroots);
        if (rc == 0 && (st == GLP_OPT || st == GLP_FEAS) && glp_mip_obj_val(lp) <= before + 1e-9) {
            for (uint32_t q = 0; q < order.n; q++) {
                const sb_eclass *c = &eg->cls[order.v[q]];
                for (uint32_t j = 0; j < c->nodes.n; j++)
                    if (glp_mip_col_val(lp, col[c->nodes.v[j]]) > 0.5) {
                        x->best[order.v[q]] = c->nodes.v[j];
                        x->built[order.v[q]] = NULL;
                    }
            }
            for (uint32_t q = 0; q < order.n; q++) x->built[order.v[q]] = NULL;
            ok = x->used_ilp = true;
        }
        glp_delete_prob(lp);
        free(col);
    }
    sb_idvec_free(&order);
    free(pos);
    return ok;
}

#else
bool sb_rw_extract_ilp(sb_extractor *x, const sb_id *roots, int nroots, int max_nodes,
                       double time_limit, double rel_gap)
{
    (void)x, (void)roots, (void)nroots, (void)max_nodes, (void)time_limit, (void)rel_gap;
    return false; /* built without GLPK */
}
#endif
