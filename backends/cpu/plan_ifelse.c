/* plan_ifelse.c: lazy ifelse when compiling a plan (plan.c): the region each node runs in,
 * and what an ifelse step reads around its branches' sub-schedules. */
#include "plan_impl.h"

/* ---- compiling: lazy ifelse ----------------------------------------------------------------- */
/* Each node runs in one region: the main schedule (region 0) or one branch of an ifelse (a
 * region inside the ifelse's own). A node's region is the innermost one that encloses every
 * region demanding it: its readers' regions, except that an ifelse demands its condition in its
 * own region and each branch in that branch's region. So a node runs inside a branch exactly
 * when nothing outside that branch needs it; a value both branches need, or the rest of the
 * graph too, is computed once before the ifelse. */
static int region_lca(const compiler *c, int a, int b)
{
    if (a < 0) return b;
    while (c->rdepth[a] > c->rdepth[b]) a = c->rparent[a];
    while (c->rdepth[b] > c->rdepth[a]) b = c->rparent[b];
    while (a != b) {
        a = c->rparent[a];
        b = c->rparent[b];
    }
    return a;
}

static int region_new(compiler *c, int parent)
{
    int r = c->nreg++;
    c->rparent[r] = parent;
    c->rdepth[r] = parent < 0 ? 0 : c->rdepth[parent] + 1;
    return r;
}

/* Assign c->reg walking consumers before producers (each node's readers are placed first). */
void sb_be_plan_lazy_regions(compiler *c)
{
    size_t nn = (size_t)c->p->nnodes;
    int nif = 0;
    for (int i = 0; i < c->n; i++) nif += c->order[i]->op == SB_OP_IFELSE;
    c->reg = sb_xmalloc(sizeof *c->reg * nn);
    c->child = sb_xmalloc(sizeof *c->child * 2 * nn);
    c->rparent = sb_xmalloc(sizeof *c->rparent * (size_t)(2 * nif + 1));
    c->rdepth = sb_xmalloc(sizeof *c->rdepth * (size_t)(2 * nif + 1));
    for (size_t i = 0; i < nn; i++) c->reg[i] = -1;
    region_new(c, -1);
    for (int i = 0; i < c->p->nout; i++) c->reg[c->p->outs[i]->id] = 0;
    for (int i = c->n - 1; i >= 0; i--) {
        sb_node *v = c->order[i];
        int r = c->reg[v->id];
        SB_ASSERT(r >= 0);
        bool cond = v->op == SB_OP_IFELSE;
        if (cond)
            for (int b = 0; b < 2; b++) c->child[2 * v->id + b] = region_new(c, r);
        for (int k = 0; k < v->nin; k++) {
            int rk = cond && k > 0 ? c->child[2 * v->id + k - 1] : r;
            c->reg[v->in[k]->id] = region_lca(c, c->reg[v->in[k]->id], rk);
        }
    }
}

/* What an ifelse step reads for liveness: its condition and everything that a step of its
 * sub-schedules (or a branch's result) reads from outside them; own[b] says whether branch b's
 * value is computed inside. mark is scratch by node id (zero on entry and return). */
void sb_be_plan_ifelse_reads(sb_plan *p, int k, uint8_t *mark)
{
    step *s = &p->steps[k];
    int end = sb_be_plan_step_next(p, k);
    for (int b = 0; b < 2; b++) {
        int lo = k + 1 + (b ? s->nsub[0] : 0), hi = lo + s->nsub[b];
        for (int j = lo; j < hi; j++) s->own[b] |= p->steps[j].node == s->node->in[1 + b];
    }
    for (int j = k + 1; j < end; j++) mark[p->steps[j].node->id] = 1;
    sb_ptrvec rd = {0};
    for (int j = k; j < end; j++) {
        int n = j == k ? s->node->nin : p->steps[j].nread;
        for (int r = 0; r < n; r++) {
            sb_node *v = j == k ? s->node->in[r] : p->steps[j].read[r];
            if (mark[v->id]) continue;
            mark[v->id] = 2;
            sb_ptrvec_push(&rd, v);
        }
    }
    for (int j = k + 1; j < end; j++) mark[p->steps[j].node->id] = 0;
    for (int r = 0; r < rd.n; r++) mark[((sb_node *)rd.v[r])->id] = 0;
    free(s->read);
    s->read = (sb_node **)rd.v;
    s->nread = rd.n;
}
