/* plan.c: the CPU execution plan (see plan.h): compile a list of outputs into a linear
 * schedule of steps, then run it many times.
 *
 * Compiling: (1) topological order of the nodes reachable from the outputs, and each node's
 * region (sb_be_plan_lazy_regions, plan_ifelse.c): the main schedule, or the branch of an
 * ifelse when only that branch needs it; (2) GEMM formation: a 2-D float matmul is a GEMM
 * step (ST_GEMM running sgemm/dgemm), a matrix-vector one (1-D operand either side) a gemv
 * step (sgemv/dgemv), an outer product a ger step (sger/dger onto a zeroed result); for all
 * three, `product + bias` (bias a row vector, the product read by nobody else) is one call with
 * beta = 1 over C pre-filled with the bias rows (unless the sum's one reader is an elementwise
 * node it fuses with, as in tanh(x @ W + b): then the fused loop adds the bias), `P -/+ c * product` (P of the product's shape,
 * c a scalar constant: an SGD update) one call with alpha = -/+c over C pre-filled with P, and
 * `c * product` one call with alpha = c; (3) fusion: walking consumers before
 * producers, an elementwise node joins its consumers' group when every consumer is in that one
 * group and it has the group's static shape (so nothing is recomputed per element), else it
 * roots a group of its own (never across regions); (4) steps in order, each with the values it
 * reads; an ifelse step is followed by its branches' sub-schedules; (5) liveness, per
 * (sub-)schedule: each value's last reading step, after which it is released.
 *
 * Running the schedule: plan_run.c; in-place updates: plan_update.c; stats, prints and
 * drawings: plan_describe.c; internals they share: plan_impl.h. */
#include "plan_impl.h"

#include <omp.h>

/* ---- compiling: order --------------------------------------------------------------------- */
/* Nodes reachable from outs, inputs first (ifelse branches included: sb_be_plan_lazy_regions
 * decides which nodes run only inside a branch). */
static int topo_order(sb_plan *p, sb_node ***order)
{
    uint8_t *mark = sb_xcalloc((size_t)p->nnodes, 1); /* 1 inputs pushed, 2 emitted */
    sb_ptrvec st = {0}, out = {0};
    for (int i = p->nout - 1; i >= 0; i--) sb_ptrvec_push(&st, p->outs[i]);
    while (st.n) {
        sb_node *n = st.v[st.n - 1];
        if (mark[n->id] == 0) { /* first visit: its inputs go above it */
            mark[n->id] = 1;
            for (int i = n->nin - 1; i >= 0; i--)
                if (mark[n->in[i]->id] != 2) sb_ptrvec_push(&st, n->in[i]);
            continue;
        }
        st.n--;
        if (mark[n->id] == 1) { /* second visit: every input is emitted (a DAG) */
            mark[n->id] = 2;
            sb_ptrvec_push(&out, n);
        }
    }
    sb_ptrvec_free(&st);
    free(mark);
    *order = (sb_node **)out.v;
    return out.n;
}

/* Whether n can run here at all (symbolic ops and pattern variables cannot). */
static sb_status check_node(const sb_node *n, sb_diag *d)
{
    const sb_op_info *info = sb_op_get((sb_op)n->op);
    if (info->flags & SB_F_SYMBOLIC)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "%s must be expanded before evaluation", info->name);
    if (n->op == SB_OP_PVAR)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "pattern variable '?%s' cannot be evaluated", n->name ? n->name : "");
    if (!(info->flags & SB_F_LEAF) && n->op != SB_OP_IFELSE && !sb_be_cpu_kernel((sb_op)n->op))
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "the cpu backend has no kernel for %s", info->name);
    return SB_OK;
}

/* ---- compiling: GEMM formation ------------------------------------------------------------ */
const char *const sb_be_plan_blas_name[] = {"kernel", "gemm", "gemv", "ger"};

/* Which BLAS call computes n: a float32/float64 matmul of two matrices (gemm), of a matrix and
 * a vector on either side (gemv), an outer product (ger), all operands of n's dtype; BL_NONE
 * otherwise. */
static int blas_kind(const sb_node *n)
{
    if (n->op != SB_OP_MATMUL && n->op != SB_OP_OUTER) return BL_NONE;
    sb_dtype dt = n->type.dtype;
    const sb_type *a = &n->in[0]->type, *b = &n->in[1]->type;
    if ((dt != SB_DTYPE_F32 && dt != SB_DTYPE_F64) || a->dtype != dt || b->dtype != dt)
        return BL_NONE;
    if (n->op == SB_OP_OUTER) return BL_GER;
    if (a->ndim == 2 && b->ndim == 2) return BL_GEMM;
    return (a->ndim == 1 && b->ndim == 2) || (a->ndim == 2 && b->ndim == 1) ? BL_GEMV : BL_NONE;
}

static bool gemm_ok(const sb_node *n)
{
    return blas_kind(n) != BL_NONE;
}

/* If n = matmul + bias (either order) with the matmul foldable, return the matmul and set
 * *bias. users[id] counts readers (outputs count as readers too). */
static sb_node *bias_fold(const sb_node *n, const int32_t *users, sb_node **bias)
{
    if (n->op != SB_OP_ADD || n->type.ndim != 2) return NULL;
    for (int k = 0; k < 2; k++) {
        sb_node *m = n->in[k], *b = n->in[1 - k];
        if (!gemm_ok(m) || m->type.ndim != 2 || users[m->id] != 1 ||
            b->type.dtype != n->type.dtype)
            continue;
        int64_t cols = m->type.dims[1];
        bool row = (b->type.ndim == 1 && b->type.dims[0] == cols) ||
                   (b->type.ndim == 2 && b->type.dims[0] == 1 && b->type.dims[1] == cols);
        if (cols < 0 || !row) continue;
        *bias = b;
        return m;
    }
    return NULL;
}

static bool scalar_const(const sb_node *n)
{
    return n->op == SB_OP_CONST && sb_array_numel(n->value) == 1;
}

/* A scale a GEMM call can take: a scalar constant (*value), or a 0-d float value computed in the
 * graph (*node, read at run time: a learning rate from a step counter). */
static bool gemm_scale(const sb_node *c, const sb_node *like, double *value, sb_node **node)
{
    if (scalar_const(c)) {
        *value = sb_array_get_f64(c->value, 0);
        return true;
    }
    if (c->type.ndim != 0 || !sb_dtype_is_float(c->type.dtype) || c->type.dtype != like->type.dtype)
        return false;
    *node = (sb_node *)c;
    return true;
}

/* t as (alpha * foldable matmul): the matmul itself, or c * matmul / matmul * c with c a scale
 * (gemm_scale) and the matmul read only there. NULL otherwise. */
static sb_node *scaled_mm(const sb_node *t, const int32_t *users, const uint8_t *is_out,
                          double *alpha, sb_node **alpha_node)
{
    *alpha = 1;
    *alpha_node = NULL;
    if (gemm_ok(t)) return (sb_node *)t;
    if (t->op != SB_OP_MUL) return NULL;
    for (int k = 0; k < 2; k++) {
        sb_node *m = t->in[k], *c = t->in[1 - k];
        if (!gemm_ok(m) || users[m->id] != 1 || is_out[m->id]) continue;
        if (m->type.dtype != t->type.dtype || m->type.ndim != t->type.ndim) continue;
        if (!gemm_scale(c, t, alpha, alpha_node)) continue;
        return m;
    }
    return NULL;
}

/* P of the product's known static shape and dtype, as the addend of a GEMM call: P itself
 * (*beta = 1), or b * Q / Q * b with b a scalar constant and P read only there (*beta = b,
 * *scaled = P, folded too: the momentum update 0.9 * v - lr * g is one call with beta = 0.9
 * over v). NULL otherwise. */
static bool same_static_shape(const sb_node *P, const sb_node *m)
{
    bool same = P->type.dtype == m->type.dtype && P->type.ndim == m->type.ndim;
    for (int i = 0; same && i < m->type.ndim; i++)
        same = m->type.dims[i] >= 0 && P->type.dims[i] == m->type.dims[i];
    return same;
}

static sb_node *gemm_addend(sb_node *P, const sb_node *m, const int32_t *users,
                            const uint8_t *is_out, double *beta, sb_node **scaled)
{
    *beta = 1;
    *scaled = NULL;
    if (P->op == SB_OP_MUL && users[P->id] == 1 && !is_out[P->id])
        for (int k = 0; k < 2; k++)
            if (scalar_const(P->in[1 - k]) && same_static_shape(P->in[k], m)) {
                *beta = sb_array_get_f64(P->in[1 - k]->value, 0);
                *scaled = P;
                return P->in[k];
            }
    return same_static_shape(P, m) ? P : NULL;
}

/* If n = P - c * matmul, P + c * matmul or c * matmul + P (P a GEMM addend: gemm_addend; the
 * product a matmul, a matrix-vector product or an outer product), return the product, set
 * *acc (the addend), *beta, *alpha = -c / c (and *alpha_node when c is a run-time scalar);
 * *t receives the scaled product node and *ps the scaled addend node (both folded too). */
static sb_node *acc_fold(const sb_node *n, const int32_t *users, const uint8_t *is_out,
                         sb_node **acc, double *beta, double *alpha, sb_node **alpha_node,
                         sb_node **t, sb_node **ps)
{
    if (n->op != SB_OP_ADD && n->op != SB_OP_SUB) return NULL;
    for (int k = 0; k < 2; k++) {
        if (n->op == SB_OP_SUB && k == 0) continue; /* only P - product */
        sb_node *prod = n->in[k], *P = n->in[1 - k];
        if (users[prod->id] != 1 || is_out[prod->id]) continue;
        sb_node *m = scaled_mm(prod, users, is_out, alpha, alpha_node);
        if (!m || n->type.ndim != m->type.ndim || n->type.dtype != m->type.dtype) continue;
        sb_node *Q = gemm_addend(P, m, users, is_out, beta, ps);
        if (!Q) continue;
        if (n->op == SB_OP_SUB) *alpha = -*alpha;
        *acc = Q;
        *t = prod;
        return m;
    }
    return NULL;
}

/* ---- compiling: fusion -------------------------------------------------------------------- */
bool sb_be_plan_same_shape(const sb_node *a, const sb_node *b)
{
    if (a->type.ndim != b->type.ndim) return false;
    for (int i = 0; i < a->type.ndim; i++)
        if (a->type.dims[i] != b->type.dims[i]) return false;
    return true;
}

typedef struct readers {
    int32_t *start;   /* CSR over node ids: readers of node id are rd[start[id]..start[id+1]) */
    sb_node **rd;
} readers;

/* Readers of each value among the step-reading relation given by read lists. */
static void build_readers(int nnodes, int n, sb_node **order, sb_node ***reads, int *nreads,
                          readers *r)
{
    r->start = sb_xcalloc((size_t)nnodes + 1, sizeof *r->start);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < nreads[i]; k++) r->start[reads[i][k]->id + 1]++;
    for (int i = 0; i < nnodes; i++) r->start[i + 1] += r->start[i];
    int32_t *fill = sb_xcalloc((size_t)nnodes, sizeof *fill);
    r->rd = sb_xmalloc(sizeof *r->rd * (size_t)(r->start[nnodes] + 1));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < nreads[i]; k++) {
            uint32_t id = reads[i][k]->id;
            r->rd[r->start[id] + fill[id]++] = order[i];
        }
    free(fill);
}

/* Assign group[id] (the root's id, -1 = not fused) walking consumers before producers. */
static void plan_fusion(int n, sb_node **order, sb_node *const *byid, const readers *r,
                        const uint8_t *is_out, const uint8_t *candidate, const int32_t *reg,
                        int32_t *group, int32_t *regs)
{
    for (int i = n - 1; i >= 0; i--) {
        sb_node *v = order[i];
        if (!candidate[v->id]) continue;
        int32_t g = -1;
        bool join = !is_out[v->id] && r->start[v->id + 1] > r->start[v->id];
        for (int k = r->start[v->id]; join && k < r->start[v->id + 1]; k++) {
            int32_t gc = group[r->rd[k]->id];
            if (gc < 0 || (g >= 0 && gc != g)) join = false;
            g = gc;
        }
        if (join)
            join = sb_be_plan_same_shape(v, byid[g]) && regs[g] + v->nin + 1 <= SB_FZ_MAXREG &&
                   reg[v->id] == reg[g];
        if (join) {
            group[v->id] = g;
            regs[g] += v->nin + 1; /* one more instruction, its inputs as possible leaves */
        } else {
            group[v->id] = (int32_t)v->id;
            regs[v->id] = v->nin + 1;
        }
    }
}

/* ---- compiling: steps and liveness -------------------------------------------------------- */

/* What node i of the order reads when it is a step of its own (or nothing when folded). */
static void node_reads(compiler *c, int i)
{
    sb_node *v = c->order[i];
    sb_node *tmp[4];
    int k = 0;
    if (c->folded[v->id]) {
        k = 0;
    } else if (c->mm_of[v->id]) {
        tmp[k++] = c->mm_of[v->id]->in[0];
        tmp[k++] = c->mm_of[v->id]->in[1];
        if (c->bias_of[v->id]) tmp[k++] = c->bias_of[v->id];
        if (c->alpha_node_of[v->id]) tmp[k++] = c->alpha_node_of[v->id];
    } else {
        c->nreads[i] = v->nin;
        c->reads[i] = sb_xmalloc(sizeof(sb_node *) * (size_t)(v->nin > 0 ? v->nin : 1));
        memcpy(c->reads[i], v->in, sizeof(sb_node *) * (size_t)v->nin);
        return;
    }
    c->nreads[i] = k;
    c->reads[i] = sb_xmalloc(sizeof(sb_node *) * 4);
    memcpy(c->reads[i], tmp, sizeof(sb_node *) * (size_t)k);
}

static bool softmax_fast(const sb_node *v);

/* Whether `mm + bias` (v) is better left to fusion: its one reader is an elementwise node of
 * its shape (or a row softmax) that it will join, e.g. tanh(x @ W + b). The GEMM then writes C
 * with beta = 0 and the fused loop adds the bias while it reads C anyway: no pre-fill pass and
 * no read of C inside the GEMM (two passes over a [B, h] result saved). */
static bool bias_to_fusion(const compiler *c, int i, const sb_node *v)
{
    if (c->users[v->id] != 1 || c->is_out[v->id] || !sb_be_fz_fusable(v)) return false;
    for (int j = i + 1; j < c->n; j++) {
        const sb_node *u = c->order[j];
        for (int k = 0; k < u->nin; k++)
            if (u->in[k] == v)
                return (sb_be_fz_fusable(u) && sb_be_plan_same_shape(u, v)) ||
                       (k == 0 && softmax_fast(u));
    }
    return false;
}

/* Consumers first, so that the outermost pattern claims the matmul: P -/+ c * mm, then
 * mm + bias, then c * mm. */
static void form_gemms(compiler *c)
{
    for (int i = c->n - 1; i >= 0; i--) {
        sb_node *v = c->order[i], *b = NULL, *t = NULL, *an = NULL, *ps = NULL;
        if (c->folded[v->id]) continue;
        double alpha = 1, beta = 1;
        sb_node *m = acc_fold(v, c->users, c->is_out, &b, &beta, &alpha, &an, &t, &ps);
        bool full = m != NULL;
        if (!m && (m = bias_fold(v, c->users, &b)) && (c->is_out[m->id] || bias_to_fusion(c, i, v)))
            m = NULL;
        if (!m && v->op == SB_OP_MUL && (m = scaled_mm(v, c->users, c->is_out, &alpha, &an)) == v)
            m = NULL;
        if (!m) continue;
        c->mm_of[v->id] = m;
        c->bias_of[v->id] = b;
        c->full_of[v->id] = full;
        c->alpha_of[v->id] = alpha;
        c->alpha_node_of[v->id] = an;
        c->beta_of[v->id] = beta;
        c->folded[m->id] = 1;
        if (t && t != m) c->folded[t->id] = 1;
        if (ps) c->folded[ps->id] = 1;
    }
}

static bool softmax_fast(const sb_node *v)
{
    if (v->op != SB_OP_SOFTMAX && v->op != SB_OP_LOG_SOFTMAX) return false;
    sb_dtype dt = v->type.dtype;
    const sb_attrs *a = v->attrs;
    int nd = v->type.ndim;
    bool last = a->naxis <= 0 || sb_axis_norm(a->axis[0], nd) == nd - 1;
    return nd >= 1 && last && (dt == SB_DTYPE_F32 || dt == SB_DTYPE_F64) &&
           v->in[0]->type.dtype == dt;
}

/* The step for node i (the caller skips folded matmuls and fused non-roots). */
static void make_step(compiler *c, int i, const int32_t *group, step *s)
{
    sb_node *v = c->order[i];
    memset(s, 0, sizeof *s);
    s->node = v;
    if (sb_op_get((sb_op)v->op)->flags & SB_F_LEAF) {
        s->kind = ST_LEAF;
    } else if (group[v->id] == (int32_t)v->id) {
        s->kind = ST_FUSED;
        sb_be_fz_build(&s->fz, v, group);
        s->nread = s->fz.nleaf;
        s->read = sb_xmalloc(sizeof *s->read * (size_t)(s->nread > 0 ? s->nread : 1));
        memcpy(s->read, s->fz.leaf, sizeof *s->read * (size_t)s->nread);
        return;
    } else if (!c->mm_of[v->id] && sb_be_fz_reducible(v)) {
        s->kind = ST_REDUCE;
        sb_be_fz_reduce_build(&s->rz, v, c->absorbed[v->in[0]->id], group);
        s->nread = s->rz.g.nleaf;
        s->read = sb_xmalloc(sizeof *s->read * (size_t)(s->nread > 0 ? s->nread : 1));
        memcpy(s->read, s->rz.g.leaf, sizeof *s->read * (size_t)s->nread);
        return;
    } else if (c->mm_of[v->id] || gemm_ok(v)) {
        s->kind = ST_GEMM;
        s->mm = c->mm_of[v->id] ? c->mm_of[v->id] : v;
        s->blas = blas_kind(s->mm);
        s->bias = c->bias_of[v->id];
        s->full = c->full_of[v->id];
        s->alpha = c->mm_of[v->id] ? c->alpha_of[v->id] : 1;
        s->alpha_node = c->alpha_node_of[v->id];
        s->beta = c->mm_of[v->id] ? c->beta_of[v->id] : 1;
    } else if (softmax_fast(v)) {
        s->kind = ST_SOFTMAX;
        if (c->absorbed[v->in[0]->id]) { /* its input group runs inside (fuse_reduce.c) */
            sb_be_fz_softmax_build(&s->rz, v, group);
            s->nread = s->rz.g.nleaf;
            s->read = sb_xmalloc(sizeof *s->read * (size_t)(s->nread > 0 ? s->nread : 1));
            memcpy(s->read, s->rz.g.leaf, sizeof *s->read * (size_t)s->nread);
            return;
        }
    } else {
        s->kind = v->op == SB_OP_IFELSE ? ST_IFELSE : ST_KERNEL;
    }
    s->nread = c->nreads[i];
    s->read = c->reads[i];
    c->reads[i] = NULL;
}

/* The index after step i and, for an ifelse, after both of its sub-schedules. */
int sb_be_plan_step_next(const sb_plan *p, int i)
{
    const step *s = &p->steps[i];
    return i + 1 + (s->kind == ST_IFELSE ? s->nsub[0] + s->nsub[1] : 0);
}

/* Release lists of the steps of one (sub-)schedule [lo, hi), then of its nested ones: a value
 * computed by a step of the range is released after the last step of the range that reads it
 * (an ifelse step reads what its branches read from outside them), at once when none does.
 * Outputs and `keep` (the branch's result, taken by its ifelse) stay. last[] is scratch by
 * node id, all -1 on entry and on return. */
static void range_liveness(sb_plan *p, int lo, int hi, const uint8_t *is_out,
                           const sb_node *keep, int32_t *last)
{
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i)) last[p->steps[i].node->id] = i;
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i))
        for (int k = 0; k < p->steps[i].nread; k++) {
            uint32_t id = p->steps[i].read[k]->id;
            if (last[id] >= 0) last[id] = i; /* computed in this range (values from outside: -1) */
        }
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i)) {
        step *s = &p->steps[i];
        s->free_ids = sb_xmalloc(sizeof *s->free_ids * (size_t)(s->nread + 1));
        uint32_t me = s->node->id;
        if (!is_out[me] && s->node != keep && last[me] == i) s->free_ids[s->nfree++] = me;
        for (int k = 0; k < s->nread; k++) {
            uint32_t id = s->read[k]->id;
            bool dup = false;
            for (int j = 0; j < s->nfree; j++) dup |= s->free_ids[j] == id;
            if (!dup && !is_out[id] && s->read[k] != keep && last[id] == i)
                s->free_ids[s->nfree++] = id;
        }
    }
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i)) last[p->steps[i].node->id] = -1;
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i)) {
        const step *s = &p->steps[i];
        if (s->kind != ST_IFELSE) continue;
        int a = i + 1, b = a + s->nsub[0];
        range_liveness(p, a, b, is_out, s->node->in[1], last);
        range_liveness(p, b, b + s->nsub[1], is_out, s->node->in[2], last);
    }
}

/* Release lists of every step (see range_liveness). */
void sb_be_plan_liveness(sb_plan *p, const uint8_t *is_out)
{
    int32_t *last = sb_xmalloc(sizeof *last * (size_t)p->nnodes);
    for (int i = 0; i < p->nnodes; i++) last[i] = -1;
    range_liveness(p, 0, p->nstep, is_out, NULL, last);
    free(last);
}


static void compiler_init(compiler *c, sb_plan *p)
{
    c->p = p;
    c->n = topo_order(p, &c->order);
    size_t nn = (size_t)p->nnodes;
    c->byid = sb_xcalloc(nn, sizeof *c->byid);
    c->users = sb_xcalloc(nn, sizeof *c->users);
    c->is_out = sb_xcalloc(nn, 1);
    c->mm_of = sb_xcalloc(nn, sizeof *c->mm_of);
    c->bias_of = sb_xcalloc(nn, sizeof *c->bias_of);
    c->full_of = sb_xcalloc(nn, 1);
    c->alpha_of = sb_xcalloc(nn, sizeof *c->alpha_of);
    c->alpha_node_of = sb_xcalloc(nn, sizeof *c->alpha_node_of);
    c->beta_of = sb_xcalloc(nn, sizeof *c->beta_of);
    c->folded = sb_xcalloc(nn, 1);
    c->reads = sb_xcalloc((size_t)c->n + 1, sizeof *c->reads);
    c->nreads = sb_xcalloc((size_t)c->n + 1, sizeof *c->nreads);
    for (int i = 0; i < c->n; i++) {
        sb_node *v = c->order[i];
        c->byid[v->id] = v;
        for (int k = 0; k < v->nin; k++) c->users[v->in[k]->id]++;
    }
    for (int i = 0; i < p->nout; i++) {
        c->is_out[p->outs[i]->id] = 1;
        c->users[p->outs[i]->id]++;
    }
}

static void compiler_free(compiler *c)
{
    for (int i = 0; i < c->n; i++) free(c->reads[i]);
    free(c->reads);
    free(c->nreads);
    free(c->order);
    free(c->byid);
    free(c->users);
    free(c->is_out);
    free(c->mm_of);
    free(c->bias_of);
    free(c->full_of);
    free(c->alpha_of);
    free(c->alpha_node_of);
    free(c->beta_of);
    free(c->folded);
    free(c->reg);
    free(c->child);
    free(c->rparent);
    free(c->rdepth);
}

/* Steps of region r in order; an ifelse's step is followed by its two branches' steps. Nodes
 * of r are ridx[rstart[r]..rstart[r + 1]) (order indices, inputs first). */
static void emit_region(compiler *c, int r, const int32_t *group, const int32_t *rstart,
                        const int32_t *ridx)
{
    sb_plan *p = c->p;
    for (int j = rstart[r]; j < rstart[r + 1]; j++) {
        int i = ridx[j];
        sb_node *v = c->order[i];
        if (c->folded[v->id] || (group[v->id] >= 0 && group[v->id] != (int32_t)v->id)) continue;
        if (c->absorbed[v->id]) continue; /* its reduction's step computes it */
        int k = p->nstep++;
        make_step(c, i, group, &p->steps[k]);
        p->steps[k].wrote_over = -1;
        if (p->steps[k].kind == ST_FUSED && sb_be_fz_jit_on()) sb_be_fz_jit(&p->steps[k].fz);
        for (int b = 0; v->op == SB_OP_IFELSE && b < 2; b++) {
            int before = p->nstep;
            emit_region(c, c->child[2 * v->id + b], group, rstart, ridx);
            p->steps[k].nsub[b] = p->nstep - before;
        }
    }
}

/* The schedule: nodes bucketed by region (keeping the order), region 0 emitted. */
static void layout_steps(compiler *c, const int32_t *group)
{
    sb_plan *p = c->p;
    int32_t *rstart = sb_xcalloc((size_t)c->nreg + 1, sizeof *rstart);
    int32_t *ridx = sb_xmalloc(sizeof *ridx * (size_t)(c->n + 1));
    for (int i = 0; i < c->n; i++) rstart[c->reg[c->order[i]->id] + 1]++;
    for (int r = 0; r < c->nreg; r++) rstart[r + 1] += rstart[r];
    int32_t *fill = sb_xcalloc((size_t)c->nreg, sizeof *fill);
    for (int i = 0; i < c->n; i++) {
        int r = c->reg[c->order[i]->id];
        ridx[rstart[r] + fill[r]++] = i;
    }
    p->steps = sb_xcalloc((size_t)c->n + 1, sizeof *p->steps);
    emit_region(c, 0, group, rstart, ridx);
    uint8_t *mark = sb_xcalloc((size_t)p->nnodes, 1);
    for (int k = 0; k < p->nstep; k++)
        if (p->steps[k].kind == ST_IFELSE) sb_be_plan_ifelse_reads(p, k, mark);
    free(mark);
    free(fill);
    free(ridx);
    free(rstart);
}

/* Fusion over the nodes left after GEMM formation, then one step per schedulable node. */
static void build_steps(compiler *c)
{
    sb_plan *p = c->p;
    size_t nn = (size_t)p->nnodes;
    for (int i = 0; i < c->n; i++) node_reads(c, i);
    readers r;
    build_readers(p->nnodes, c->n, c->order, c->reads, c->nreads, &r);
    uint8_t *cand = sb_xcalloc(nn, 1);
    int32_t *group = sb_xmalloc(sizeof *group * nn), *regs = sb_xcalloc(nn, sizeof *regs);
    for (size_t i = 0; i < nn; i++) group[i] = -1;
    for (int i = 0; i < c->n; i++) {
        sb_node *v = c->order[i];
        cand[v->id] = !c->mm_of[v->id] && !c->folded[v->id] && sb_be_fz_fusable(v);
    }
    plan_fusion(c->n, c->order, c->byid, &r, c->is_out, cand, c->reg, group, regs);
    c->absorbed = sb_xcalloc(nn, 1);
    for (int i = 0; i < c->n; i++) { /* a group read only by a reduction / softmax goes in */
        sb_node *v = c->order[i], *u = v->nin ? v->in[0] : NULL;
        bool into = u && (sb_be_fz_reducible(v) || (softmax_fast(v) && sb_be_fz_absorb_on())) &&
                    !c->mm_of[v->id];
        c->absorbed[u ? u->id : 0] |= into && !c->folded[v->id] &&
                                      group[u->id] == (int32_t)u->id && c->users[u->id] == 1 &&
                                      !c->is_out[u->id];
    }
    layout_steps(c, group);
    free(c->absorbed);
    c->absorbed = NULL;
    size_t scratch = 0;
    for (int k = 0; k < p->nstep; k++) {
        const sb_fz_group *g = p->steps[k].kind == ST_FUSED    ? &p->steps[k].fz
                               : p->steps[k].rz.node           ? &p->steps[k].rz.g
                                                               : NULL;
        if (g && sb_be_fz_scratch(g) > scratch) scratch = sb_be_fz_scratch(g);
    }
    p->nthreads = omp_get_max_threads();
    size_t bytes = scratch * (size_t)p->nthreads;
    p->scratch = bytes ? aligned_alloc(64, (bytes + 63) / 64 * 64) : NULL;
    sb_be_plan_liveness(p, c->is_out);
    free(cand);
    free(group);
    free(regs);
    free(r.start);
    free(r.rd);
}

sb_plan *sb_be_plan_compile(sb_ctx *ctx, int nout, sb_node *const *outs, sb_diag *d)
{
    sb_plan *p = sb_xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->nout = nout;
    p->nnodes = (int)sb_ctx_node_count(ctx);
    p->outs = sb_xmalloc(sizeof *p->outs * (size_t)(nout > 0 ? nout : 1));
    memcpy(p->outs, outs, sizeof *p->outs * (size_t)nout);
    compiler c = {0};
    compiler_init(&c, p);
    for (int i = 0; i < c.n; i++)
        if (check_node(c.order[i], d)) {
            compiler_free(&c);
            sb_be_plan_free(p);
            return NULL;
        }
    sb_be_plan_lazy_regions(&c);
    form_gemms(&c);
    build_steps(&c);
    compiler_free(&c);
    p->val = sb_xcalloc((size_t)p->nnodes, sizeof *p->val);
    p->leafbuf = sb_xcalloc((size_t)p->nstep + 1, sizeof *p->leafbuf);
    p->keep = sb_xcalloc((size_t)nout + 1, sizeof *p->keep);
    p->outarr = sb_xcalloc((size_t)nout + 1, sizeof *p->outarr);
    return p;
}

void sb_be_plan_free(sb_plan *p)
{
    if (!p) return;
    for (int i = 0; p->keep && i < p->nout; i++) sb_be_tensor_release(&p->keep[i]);
    for (int i = 0; i < p->nstep; i++) {
        sb_be_fz_free(&p->steps[i].fz);
        sb_be_fz_reduce_free(&p->steps[i].rz);
        free(p->steps[i].read);
        free(p->steps[i].free_ids);
    }
    for (int i = 0; i < p->pool.n; i++) {
        pool_buf *b = p->pool.v[i];
        free(b->buf.data);
        free(b);
    }
    sb_ptrvec_free(&p->pool);
    free(p->trace);
    free(p->steps);
    free(p->outs);
    free(p->val);
    free(p->leafbuf);
    free(p->keep);
    free(p->outarr);
    free(p->scratch);
    free(p);
}
