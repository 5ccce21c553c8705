/* plan_describe.c: what a compiled plan looks like: its stats, its printed schedule, and
 * which nodes each step computes or overwrites (drawings, pass reports). */
#include "plan_impl.h"

/* Step kinds' names in printed schedules (by enum step_kind). */
static const char *const kind_name[] = {"leaf", "fused", "gemm", "softmax", "kernel", "ifelse",
                                        "reduce"};

void sb_be_plan_stats(const sb_plan *p, sb_plan_stats *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < p->nstep; i++) {
        const step *st = &p->steps[i];
        if (st->kind == ST_LEAF) continue;
        s->nsteps++;
        if (st->kind == ST_FUSED) {
            s->nfused++;
            s->nfused_nodes += st->fz.ninstr;
            s->njit += st->fz.jit != NULL;
        } else if (st->rz.node) {
            s->njit += st->rz.g.jit_blk != NULL; /* its group's blocks compiled (fusejit.c) */
        }
        s->ngemm += st->kind == ST_GEMM && st->blas == BL_GEMM;
        s->ngemv += st->kind == ST_GEMM && st->blas == BL_GEMV;
        s->nger += st->kind == ST_GEMM && st->blas == BL_GER;
        s->nbias += st->kind == ST_GEMM && st->bias;
        s->nsoftmax += st->kind == ST_SOFTMAX;
        s->nreduce += st->kind == ST_REDUCE;
        s->nkernel += st->kind == ST_KERNEL;
        s->nifelse += st->kind == ST_IFELSE;
    }
    s->nrun = p->nrun;
    s->nheap = p->nheap;
    s->ninplace = p->ninplace;
    s->nbuffers = p->pool.n;
    for (int i = 0; i < p->pool.n; i++) s->pool_bytes += ((pool_buf *)p->pool.v[i])->cap;
    s->pool_allocs = p->nalloc;
}

/* Steps [lo, hi), a branch's sub-schedule indented under its ifelse. */
static void print_range(const sb_plan *p, int lo, int hi, int depth, FILE *f)
{
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i)) {
        const step *s = &p->steps[i];
        if (s->kind == ST_LEAF) continue;
        const char *kind =
            s->kind == ST_GEMM ? sb_be_plan_blas_name[s->blas] : kind_name[s->kind];
        fprintf(f, "%3d %*s%-7s %%%u %s", i, 2 * depth, "", kind, s->node->id,
                sb_op_get((sb_op)s->node->op)->name);
        for (int k = 0; s->kind == ST_FUSED && k < s->fz.ninstr; k++)
            fprintf(f, "%s%s", k ? " " : " [", sb_op_get((sb_op)s->fz.instr[k].op)->name);
        if (s->kind == ST_FUSED) fprintf(f, "]%s", s->fz.jit ? " compiled" : "");
        for (int k = 0; s->rz.node && k < s->rz.g.ninstr; k++)
            fprintf(f, "%s%s%s", k ? " " : " [", sb_op_get((sb_op)s->rz.g.instr[k].op)->name,
                    k == s->rz.g.ninstr - 1 ? "]" : "");
        if (s->kind == ST_GEMM && s->alpha != 1) fprintf(f, " alpha=%g", s->alpha);
        if (s->kind == ST_GEMM && s->alpha_node) fprintf(f, " alpha*=%%%u", s->alpha_node->id);
        if (s->kind == ST_GEMM && s->full && s->beta != 1) fprintf(f, " beta=%g", s->beta);
        if (s->bias) fprintf(f, s->full ? " +acc" : " +bias");
        fprintf(f, " (frees %d)\n", s->nfree);
        for (int b = 0; s->kind == ST_IFELSE && b < 2; b++) {
            int a = i + 1 + (b ? s->nsub[0] : 0);
            fprintf(f, "    %*s%s: %d steps\n", 2 * depth, "", b ? "else" : "then", s->nsub[b]);
            print_range(p, a, a + s->nsub[b], depth + 1, f);
        }
    }
}

void sb_be_plan_print(const sb_plan *p, FILE *f)
{
    print_range(p, 0, p->nstep, 0, f);
}

/* ---- describing the plan (drawings, pass reports) ---------------------------------------- */
/* Mark in kernel[] (with k) the nodes step s computes: from its node down its inputs, stopping
 * at the values it reads and at nodes another step computes. Returns how many it marked. */
static int step_members(const sb_plan *p, const step *s, const int *step_of, int k, int *kernel)
{
    sb_ptrvec st = {0};
    int n = 0;
    sb_ptrvec_push(&st, s->node);
    while (st.n) {
        sb_node *v = st.v[--st.n];
        if ((int)v->id >= p->nnodes || kernel[v->id] == k) continue;
        bool read = false;
        for (int r = 0; r < s->nread && !read; r++) read = s->read[r] == v;
        if (v != s->node && (read || step_of[v->id] >= 0 || v->nin == 0)) continue;
        kernel[v->id] = k;
        n++;
        for (int i = 0; i < v->nin; i++) sb_ptrvec_push(&st, v->in[i]);
    }
    sb_ptrvec_free(&st);
    return n;
}

/* The value whose memory step s writes its result over: the bound leaf it updates, or the
 * fused group's input it wrote over in the last run (before any run: the input it may write
 * over, the run-time checks aside); NULL when none. */
static sb_node *step_overwrites(const sb_plan *p, const step *s)
{
    if (s->into) return s->into;
    if (s->kind == ST_SOFTMAX && !s->rz.node) { /* (with its group inside: a fresh buffer) */
        sb_node *x = s->node->in[0];
        bool may =
            p->ran ? s->wrote_over == 0 : sb_be_plan_destroy_static(s, x, s->node->type.dtype);
        return may ? x : NULL;
    }
    if (s->kind != ST_FUSED) return NULL;
    if (p->ran) return s->wrote_over >= 0 ? s->fz.leaf[s->wrote_over] : NULL;
    for (int k = 0; k < s->fz.nleaf; k++)
        if (sb_be_plan_destroy_static(s, s->fz.leaf[k], s->fz.dtype) &&
            sb_be_plan_same_shape(s->fz.leaf[k], s->node))
            return s->fz.leaf[k];
    return NULL;
}

sb_node *sb_be_plan_overwrote(const sb_plan *p, const sb_node *n)
{
    for (int j = 0; j < p->nstep; j++)
        if (p->steps[j].node == n) return step_overwrites(p, &p->steps[j]);
    return NULL;
}

void sb_be_plan_describe(const sb_plan *p, int n, int *kernel, unsigned *marks, uint32_t *over)
{
    memset(kernel, 0, sizeof *kernel * (size_t)n);
    memset(marks, 0, sizeof *marks * (size_t)n);
    memset(over, 0, sizeof *over * (size_t)n);
    int *step_of = sb_xmalloc(sizeof *step_of * (size_t)(p->nnodes + 1));
    for (int j = 0; j < p->nnodes; j++) step_of[j] = -1;
    for (int j = 0; j < p->nstep; j++) step_of[p->steps[j].node->id] = j;
    int *mine = sb_xcalloc((size_t)p->nnodes + 1, sizeof *mine);
    int nk = 0;
    for (int j = 0; j < p->nstep; j++) {
        const step *s = &p->steps[j];
        uint32_t id = s->node->id;
        if (s->kind == ST_LEAF || (int)id >= n) continue;
        bool group = s->kind != ST_KERNEL && (s->kind != ST_SOFTMAX || s->rz.node) &&
                     s->kind != ST_IFELSE;
        int k = group ? ++nk : 0;
        unsigned m = s->kind == ST_GEMM ? SB_BE_MARK_GEMM : group ? SB_BE_MARK_FUSED : 0;
        if (group) step_members(p, s, step_of, k, mine);
        for (int v = 0; group && v < p->nnodes && v < n; v++)
            if (mine[v] == k) kernel[v] = k, marks[v] |= m;
        const sb_node *w = s->into ? s->into : step_overwrites(p, s);
        if (w) marks[id] |= SB_BE_MARK_INPLACE, over[id] = w->id + 1;
        if (s->kind == ST_KERNEL && (s->view || sb_op_get((sb_op)s->node->op)->flags & SB_F_VIEW))
            marks[id] |= SB_BE_MARK_VIEW;
    }
    free(mine);
    free(step_of);
}
