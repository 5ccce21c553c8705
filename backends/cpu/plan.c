/* plan.c: the CPU execution plan (see plan.h): compile a list of outputs into a linear
 * schedule of steps, then run it many times.
 *
 * Compiling: (1) topological order of the nodes reachable from the outputs, and each node's
 * region (lazy_regions): the main schedule, or the branch of an ifelse when only that branch
 * needs it; (2) GEMM formation: a 2-D float matmul is a GEMM
 * step (ST_GEMM running sgemm/dgemm), a matrix-vector one (1-D operand either side) a gemv
 * step (sgemv/dgemv), an outer product a ger step (sger/dger onto a zeroed result); for all
 * three, `product + bias` (bias a row vector, the product read by nobody else) is one call with
 * beta = 1 over C pre-filled with the bias rows, `P -/+ c * product` (P of the product's shape,
 * c a scalar constant: an SGD update) one call with alpha = -/+c over C pre-filled with P, and
 * `c * product` one call with alpha = c; (3) fusion: walking consumers before
 * producers, an elementwise node joins its consumers' group when every consumer is in that one
 * group and it has the group's static shape (so nothing is recomputed per element), else it
 * roots a group of its own (never across regions); (4) steps in order, each with the values it
 * reads; an ifelse step is followed by its branches' sub-schedules; (5) liveness, per
 * (sub-)schedule: each value's last reading step, after which it is released.
 *
 * Running: leaves are read in place (plan-owned buffer headers over the bindings and
 * constants); an ifelse runs the taken branch's sub-schedule only; fused groups, GEMMs and
 * softmaxes write into pool buffers, and the reference kernels (every other op) get theirs from
 * the pool too (sb_be_tensor_set_alloc). A pool buffer is reused by a later step only when its
 * refcount says no live value or view refers to it; a fused group writes over an input that
 * dies there when that input's buffer holds nothing else (destroy_leaf). */
#include "plan.h"
#include "backends/backend.h"
#include "profile.h"

#include <omp.h>

enum step_kind { ST_LEAF, ST_FUSED, ST_GEMM, ST_SOFTMAX, ST_KERNEL, ST_IFELSE, ST_REDUCE };
static const char *const kind_name[] = {"leaf", "fused", "gemm", "softmax", "kernel", "ifelse",
                                        "reduce"};

typedef struct step {
    int kind;
    sb_node *node;       /* the node whose value the step produces */
    int nread;
    sb_node **read;      /* values the step reads (liveness) */
    sb_fz_group fz;      /* ST_FUSED */
    sb_fz_reduce rz;     /* ST_REDUCE, and ST_SOFTMAX when rz.node is set: the step computes its
                            input group too (fuse_reduce.c) */
    sb_node *mm;         /* ST_GEMM: the matmul / outer (node itself, or the input of the bias
                            add) */
    int blas;            /* ST_GEMM: BL_GEMM, BL_GEMV or BL_GER (which BLAS call) */
    sb_node *bias;       /* ST_GEMM: folded addend (bias row, or full matrix), or NULL */
    bool full;           /* ST_GEMM: the addend is a full [M, N] matrix */
    double alpha;        /* ST_GEMM: scale of the product */
    int nfree;
    uint32_t *free_ids;  /* values released after this step */
    sb_node *into;       /* ST_FUSED / ST_GEMM: write into this leaf's bound array (in place) */
    int extra;           /* reads appended for liveness only (the in-place target) */
    int nsub[2];         /* ST_IFELSE: steps of the then / else sub-schedules, which follow it */
    bool own[2];         /* ST_IFELSE: the branch's value is computed inside its sub-schedule */
    int wrote_over;      /* the last run wrote over a dying input's buffer: ST_FUSED: its leaf
                            index, ST_SOFTMAX: 0 (its input); -1 = none */
    bool view;           /* last run: the value shared a buffer with one of the step's reads */
} step;

typedef struct pool_buf {
    sb_be_buf buf;       /* refs: 1 (the pool's) + live tensors over it */
    size_t cap;
} pool_buf;

struct sb_plan {
    sb_ctx *ctx;
    int nout;
    sb_node **outs;
    int nstep;
    step *steps;
    int nnodes;
    sb_tensor *val;      /* by node id, during a run */
    sb_be_buf *leafbuf;  /* by step index (ST_LEAF steps) */
    sb_ptrvec pool;      /* pool_buf * */
    int64_t nalloc;
    void *scratch;       /* fused groups' registers, all threads */
    int nthreads;
    sb_tensor *keep;     /* outputs of the last run */
    sb_array *outarr;    /* their borrowed headers */
    bool have_out;
    int64_t nrun;        /* computing steps executed by the last run */
    int64_t nheap;       /* reference-kernel results of the last run outside the pool */
    int64_t ninplace;    /* fused / softmax steps of the last run that wrote over a dying input */
    bool ran;            /* a run started (steps' wrote_over / view are from it) */
    int nreq, ntrace;    /* pool requests of this run; entries of trace */
    pool_buf **trace;    /* by request number: the buffer it got (pool_get) */
};

/* ---- compiling: order --------------------------------------------------------------------- */
/* Nodes reachable from outs, inputs first (ifelse branches included: lazy_regions decides which
 * nodes run only inside a branch). */
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
/* The BLAS call an ST_GEMM step makes (its name in prints and profiles). */
enum { BL_NONE, BL_GEMM, BL_GEMV, BL_GER };
static const char *const blas_name[] = {"kernel", "gemm", "gemv", "ger"};

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

/* t as (alpha * foldable matmul): the matmul itself, or c * matmul / matmul * c with c a scalar
 * constant and the matmul read only there. NULL otherwise. */
static sb_node *scaled_mm(const sb_node *t, const int32_t *users, const uint8_t *is_out,
                          double *alpha)
{
    *alpha = 1;
    if (gemm_ok(t)) return (sb_node *)t;
    if (t->op != SB_OP_MUL) return NULL;
    for (int k = 0; k < 2; k++) {
        sb_node *m = t->in[k], *c = t->in[1 - k];
        if (!gemm_ok(m) || !scalar_const(c) || users[m->id] != 1 || is_out[m->id]) continue;
        if (m->type.dtype != t->type.dtype || m->type.ndim != t->type.ndim) continue;
        *alpha = sb_array_get_f64(c->value, 0);
        return m;
    }
    return NULL;
}

/* If n = P - c * matmul, P + c * matmul or c * matmul + P (P of the product's known static
 * shape and dtype; the product a matmul, a matrix-vector product or an outer product), return
 * the product, set *acc = P and *alpha = -c / c; *t receives the scaled product node (folded
 * too). */
static sb_node *acc_fold(const sb_node *n, const int32_t *users, const uint8_t *is_out,
                         sb_node **acc, double *alpha, sb_node **t)
{
    if (n->op != SB_OP_ADD && n->op != SB_OP_SUB) return NULL;
    for (int k = 0; k < 2; k++) {
        if (n->op == SB_OP_SUB && k == 0) continue; /* only P - product */
        sb_node *prod = n->in[k], *P = n->in[1 - k];
        if (users[prod->id] != 1 || is_out[prod->id]) continue;
        sb_node *m = scaled_mm(prod, users, is_out, alpha);
        int nd = m ? m->type.ndim : 0;
        if (!m || P->type.dtype != n->type.dtype || P->type.ndim != nd || n->type.ndim != nd)
            continue;
        bool same = true;
        for (int i = 0; i < nd; i++)
            same &= m->type.dims[i] >= 0 && P->type.dims[i] == m->type.dims[i];
        if (!same) continue;
        if (n->op == SB_OP_SUB) *alpha = -*alpha;
        *acc = P;
        *t = prod;
        return m;
    }
    return NULL;
}

/* ---- compiling: fusion -------------------------------------------------------------------- */
static bool same_static_shape(const sb_node *a, const sb_node *b)
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
            join = same_static_shape(v, byid[g]) && regs[g] + v->nin + 1 <= SB_FZ_MAXREG &&
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
typedef struct compiler {
    sb_plan *p;
    int n;
    sb_node **order;
    sb_node **byid;
    int32_t *users;     /* readers of each node (+1 for outputs) */
    uint8_t *is_out;
    sb_node **mm_of;    /* by id: the matmul folded into this add */
    sb_node **bias_of;
    uint8_t *full_of;   /* by id: the addend is a full matrix */
    double *alpha_of;   /* by id: the product's scale */
    uint8_t *folded;    /* nodes folded into a GEMM step (matmuls, their scalings) */
    sb_node ***reads;   /* by order index */
    int *nreads;
    int32_t *reg;       /* by id: the region the node runs in (lazy_regions) */
    int32_t *child;     /* by id * 2 + branch: an ifelse's branch regions */
    int nreg;
    int32_t *rparent;   /* by region: enclosing region (-1 for the main schedule, region 0) */
    int32_t *rdepth;
    uint8_t *absorbed;  /* by id: group roots computed inside their reduction's step */
} compiler;

/* What node i of the order reads when it is a step of its own (or nothing when folded). */
static void node_reads(compiler *c, int i)
{
    sb_node *v = c->order[i];
    sb_node *tmp[3];
    int k = 0;
    if (c->folded[v->id]) {
        k = 0;
    } else if (c->mm_of[v->id]) {
        tmp[k++] = c->mm_of[v->id]->in[0];
        tmp[k++] = c->mm_of[v->id]->in[1];
        if (c->bias_of[v->id]) tmp[k++] = c->bias_of[v->id];
    } else {
        c->nreads[i] = v->nin;
        c->reads[i] = sb_xmalloc(sizeof(sb_node *) * (size_t)(v->nin > 0 ? v->nin : 1));
        memcpy(c->reads[i], v->in, sizeof(sb_node *) * (size_t)v->nin);
        return;
    }
    c->nreads[i] = k;
    c->reads[i] = sb_xmalloc(sizeof(sb_node *) * 3);
    memcpy(c->reads[i], tmp, sizeof(sb_node *) * (size_t)k);
}

/* Consumers first, so that the outermost pattern claims the matmul: P -/+ c * mm, then
 * mm + bias, then c * mm. */
static void form_gemms(compiler *c)
{
    for (int i = c->n - 1; i >= 0; i--) {
        sb_node *v = c->order[i], *b = NULL, *t = NULL;
        if (c->folded[v->id]) continue;
        double alpha = 1;
        sb_node *m = acc_fold(v, c->users, c->is_out, &b, &alpha, &t);
        bool full = m != NULL;
        if (!m && (m = bias_fold(v, c->users, &b)) && c->is_out[m->id]) m = NULL;
        if (!m && v->op == SB_OP_MUL && (m = scaled_mm(v, c->users, c->is_out, &alpha)) == v)
            m = NULL;
        if (!m) continue;
        c->mm_of[v->id] = m;
        c->bias_of[v->id] = b;
        c->full_of[v->id] = full;
        c->alpha_of[v->id] = alpha;
        c->folded[m->id] = 1;
        if (t && t != m) c->folded[t->id] = 1;
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
static int step_next(const sb_plan *p, int i)
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
    for (int i = lo; i < hi; i = step_next(p, i)) last[p->steps[i].node->id] = i;
    for (int i = lo; i < hi; i = step_next(p, i))
        for (int k = 0; k < p->steps[i].nread; k++) {
            uint32_t id = p->steps[i].read[k]->id;
            if (last[id] >= 0) last[id] = i; /* computed in this range (values from outside: -1) */
        }
    for (int i = lo; i < hi; i = step_next(p, i)) {
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
    for (int i = lo; i < hi; i = step_next(p, i)) last[p->steps[i].node->id] = -1;
    for (int i = lo; i < hi; i = step_next(p, i)) {
        const step *s = &p->steps[i];
        if (s->kind != ST_IFELSE) continue;
        int a = i + 1, b = a + s->nsub[0];
        range_liveness(p, a, b, is_out, s->node->in[1], last);
        range_liveness(p, b, b + s->nsub[1], is_out, s->node->in[2], last);
    }
}

/* Release lists of every step (see range_liveness). */
static void plan_liveness(sb_plan *p, const uint8_t *is_out)
{
    int32_t *last = sb_xmalloc(sizeof *last * (size_t)p->nnodes);
    for (int i = 0; i < p->nnodes; i++) last[i] = -1;
    range_liveness(p, 0, p->nstep, is_out, NULL, last);
    free(last);
}

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
static void lazy_regions(compiler *c)
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
static void ifelse_reads(sb_plan *p, int k, uint8_t *mark)
{
    step *s = &p->steps[k];
    int end = step_next(p, k);
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
        if (p->steps[k].kind == ST_IFELSE) ifelse_reads(p, k, mark);
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
    plan_liveness(p, c->is_out);
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
    lazy_regions(&c);
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

/* ---- running: buffers ------------------------------------------------------------------- */
/* Give b (free) at least `bytes` of capacity. */
static void pool_grow(sb_plan *p, pool_buf *b, size_t bytes)
{
    free(b->buf.data);
    b->cap = (bytes + 63) / 64 * 64;
    b->buf.data = aligned_alloc(64, b->cap ? b->cap : 64);
    SB_ASSERT(b->buf.data);
    p->nalloc++;
}

/* The smallest free buffer of at least `bytes`, else the largest free one grown, else a new
 * one. */
static pool_buf *pool_pick(sb_plan *p, size_t bytes)
{
    pool_buf *best = NULL, *big = NULL;
    for (int i = 0; i < p->pool.n; i++) {
        pool_buf *b = p->pool.v[i];
        if (b->buf.refs != 1) continue;
        if (b->cap >= bytes && (!best || b->cap < best->cap)) best = b;
        if (!big || b->cap > big->cap) big = b;
    }
    if (!best) {
        best = big;
        if (!best) {
            best = sb_xcalloc(1, sizeof *best);
            best->buf.refs = 1;
            sb_ptrvec_push(&p->pool, best);
        }
        pool_grow(p, best, bytes);
    }
    return best;
}

/* A pool buffer of at least `bytes` that no live value refers to. Requests are numbered in
 * each run and the buffer each one got is remembered: a run making the requests of the run
 * before (same shapes, same branches) gets the same buffers back, each free again at the same
 * point, so it allocates nothing. A new request, or one whose buffer is busy: pool_pick. */
static sb_be_buf *pool_get(sb_plan *p, size_t bytes)
{
    int q = p->nreq++;
    if (q < p->ntrace && p->trace[q]->buf.refs == 1) {
        if (p->trace[q]->cap < bytes) pool_grow(p, p->trace[q], bytes);
        return &p->trace[q]->buf;
    }
    pool_buf *b = pool_pick(p, bytes);
    if (q >= p->ntrace) {
        p->trace = sb_xrealloc(p->trace, sizeof *p->trace * (size_t)(q + 1));
        p->ntrace = q + 1;
    }
    p->trace[q] = b;
    return &b->buf;
}

/* A new contiguous tensor of dt and shape over a pool buffer. */
static sb_tensor pool_tensor(sb_plan *p, sb_dtype dt, int ndim, const int64_t *shape)
{
    sb_tensor t = {.dtype = dt, .ndim = ndim};
    memcpy(t.shape, shape, sizeof(int64_t) * (size_t)ndim);
    sb_be_contig_strides(ndim, shape, t.strides);
    size_t bytes = (size_t)sb_be_tensor_numel(&t) * sb_dtype_size(dt);
    t.buf = pool_get(p, bytes);
    t.buf->refs++;
    return t;
}

/* The pool as the allocator of sb_be_tensor_new / _zeros during a run (sb_be_tensor_set_alloc):
 * reference kernels' results and temporaries, and copies made for GEMM operands or outputs,
 * come from pool buffers, which the refcount returns to the pool when they die. */
static sb_be_buf *pool_alloc(void *user, size_t bytes)
{
    sb_be_buf *b = pool_get(user, bytes);
    b->refs++;
    return b;
}

/* A tensor over data owned elsewhere (a binding, a constant) through plan-owned header hb. */
static sb_tensor borrowed(sb_be_buf *hb, const sb_array *a)
{
    hb->refs = 1; /* the plan's reference: the header is never freed by a release */
    hb->owned = false;
    hb->data = a->data;
    sb_tensor t = {.dtype = a->dtype, .ndim = a->ndim, .buf = hb};
    memcpy(t.shape, a->shape, sizeof t.shape);
    sb_be_contig_strides(a->ndim, a->shape, t.strides);
    hb->refs++;
    return t;
}

/* ---- running: steps ------------------------------------------------------------------------ */
static sb_status run_leaf(sb_plan *p, int si, int nbind, const sb_binding *binds, sb_diag *d)
{
    const sb_node *n = p->steps[si].node;
    sb_tensor *out = &p->val[n->id];
    if (n->op == SB_OP_CONST) {
        *out = borrowed(&p->leafbuf[si], n->value);
        return SB_OK;
    }
    const char *kind = n->op == SB_OP_INPUT ? "input" : "shared variable";
    const sb_array *v = NULL;
    for (int i = 0; i < nbind && !v; i++)
        if (binds[i].name && !strcmp(binds[i].name, n->name)) v = binds[i].value;
    if (!v) return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "%s '%s' has no value", kind, n->name);
    bool ok = v->dtype == n->type.dtype && v->ndim == n->type.ndim;
    for (int i = 0; ok && i < v->ndim; i++) ok = n->type.dims[i] < 0 || n->type.dims[i] == v->shape[i];
    if (!ok) {
        char want[160], got[160];
        sb_type g = sb_type_make(v->dtype, v->ndim, v->shape);
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "%s '%s': expected %s, got %s", kind,
                           n->name, sb_type_str(&n->type, want, sizeof want),
                           sb_type_str(&g, got, sizeof got));
    }
    *out = borrowed(&p->leafbuf[si], v);
    return SB_OK;
}

/* The tensor a step writes: a pool buffer, or the bound array of the leaf it updates in place
 * (which must have the result's shape). */
static sb_status step_out(sb_plan *p, const step *s, sb_dtype dt, int nd, const int64_t *shape,
                          sb_tensor *out, sb_diag *d)
{
    if (!s->into) {
        *out = pool_tensor(p, dt, nd, shape);
        return SB_OK;
    }
    const sb_tensor *t = &p->val[s->into->id];
    bool ok = t->dtype == dt && t->ndim == nd && sb_be_tensor_is_contig(t);
    for (int i = 0; ok && i < nd; i++) ok = t->shape[i] == shape[i];
    if (!ok)
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                           "in-place update of '%s': the new value's shape differs from its own",
                           s->into->name);
    *out = sb_be_tensor_ref(t);
    return SB_OK;
}

/* Whether buf is one of the pool's buffers. */
static bool in_pool(const sb_plan *p, const sb_be_buf *buf)
{
    for (int i = 0; i < p->pool.n; i++)
        if (&((const pool_buf *)p->pool.v[i])->buf == buf) return true;
    return false;
}

/* Destroy/alias analysis. A fused group (or a row softmax) may write its result over the
 * buffer of an input value L when L dies at this step (s releases it: no later step and no
 * output reads it), is computed (not a binding or a constant, whose memory the caller owns),
 * has the result's dtype, is contiguous of the result's shape (the step reads each position
 * before writing it, and no other), and lies in a pool buffer that nothing else refers to: its
 * refcount is the pool's and the value's own, so no live view (a transpose, a reshape, an
 * ifelse's result) shows it either.
 *
 * The part known when compiling: L dies here, is computed, has dtype dt, and the step is not
 * an in-place update of a bound leaf. */
static bool destroy_static(const step *s, const sb_node *L, sb_dtype dt)
{
    bool dies = false;
    for (int j = 0; j < s->nfree; j++) dies |= s->free_ids[j] == L->id;
    return dies && !s->into && !(sb_op_get((sb_op)L->op)->flags & SB_F_LEAF) &&
           L->type.dtype == dt;
}

/* Both parts: whether step s may write its result (dt, shape[0..nd)) over L's buffer now. */
static bool destroyable(const sb_plan *p, const step *s, const sb_node *L, sb_dtype dt, int nd,
                        const int64_t *shape)
{
    const sb_tensor *v = &p->val[L->id];
    if (!destroy_static(s, L, dt) || !v->buf || v->buf->refs != 2 || v->dtype != dt ||
        v->ndim != nd || !sb_be_tensor_is_contig(v))
        return false;
    for (int i = 0; i < nd; i++)
        if (v->shape[i] != shape[i]) return false;
    return in_pool(p, v->buf);
}

/* The first leaf of fused step s that the group may overwrite, or -1. */
static int destroy_leaf(const sb_plan *p, const step *s, int nd, const int64_t *shape)
{
    for (int k = 0; k < s->fz.nleaf; k++)
        if (destroyable(p, s, s->fz.leaf[k], s->fz.dtype, nd, shape)) return k;
    return -1;
}

static sb_status run_fused(sb_plan *p, step *s, sb_diag *d)
{
    const sb_fz_group *g = &s->fz;
    sb_tensor lv[SB_FZ_MAXREG];
    for (int i = 0; i < g->nleaf; i++) lv[i] = p->val[g->leaf[i]->id];
    int nd;
    int64_t shape[SB_MAX_DIMS];
    sb_status st = sb_be_fz_shape(g, lv, &nd, shape, d);
    if (st) return st;
    sb_tensor out;
    s->wrote_over = destroy_leaf(p, s, nd, shape);
    if (s->wrote_over >= 0) { /* in place over a dying input */
        out = sb_be_tensor_ref(&lv[s->wrote_over]);
        sb_be_contig_strides(nd, shape, out.strides);
        p->ninplace++;
    } else if ((st = step_out(p, s, g->dtype, nd, shape, &out, d))) {
        return st;
    }
    sb_be_fz_run(g, lv, &out, p->scratch, p->nthreads);
    p->val[s->node->id] = out;
    return SB_OK;
}

/* The shape (nd, shape[0..nd)) of BLAS step s's result from the values it reads: [M, N] for a
 * gemm or ger, [M] for a gemv. Fills d when the operands, or the addend, do not fit. */
static sb_status blas_shape(const sb_plan *p, const step *s, int *nd, int64_t *shape, sb_diag *d)
{
    const sb_tensor *A = &p->val[s->mm->in[0]->id], *B = &p->val[s->mm->in[1]->id];
    int64_t kl = 0, kr = 0; /* the core dimension, left and right */
    *nd = s->blas == BL_GEMV ? 1 : 2;
    if (s->blas == BL_GER) {
        shape[0] = sb_be_tensor_numel(A), shape[1] = sb_be_tensor_numel(B);
    } else if (s->blas == BL_GEMV) {
        shape[0] = A->ndim == 2 ? A->shape[0] : B->shape[1];
        kl = A->shape[A->ndim - 1], kr = B->shape[0];
    } else {
        shape[0] = A->shape[0], shape[1] = B->shape[1];
        kl = A->shape[1], kr = B->shape[0];
    }
    if (kl != kr)
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                           "matmul: mismatch in core dimension: %lld (left) vs %lld (right)",
                           (long long)kl, (long long)kr);
    if (!s->bias) return SB_OK;
    const sb_tensor *v = &p->val[s->bias->id];
    bool ok = s->full ? v->ndim == *nd : sb_be_tensor_numel(v) == shape[*nd - 1];
    for (int i = 0; s->full && ok && i < *nd; i++) ok = v->shape[i] == shape[i];
    char dims[64];
    if (*nd == 2)
        snprintf(dims, sizeof dims, "[%lld, %lld]", (long long)shape[0], (long long)shape[1]);
    else
        snprintf(dims, sizeof dims, "[%lld]", (long long)shape[0]);
    if (!ok)
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "%s: operand of %lld elements for a %s "
                           "product", sb_op_get((sb_op)s->node->op)->name,
                           (long long)sb_be_tensor_numel(v), dims);
    return SB_OK;
}

/* dst[0..bytes) = src[0..bytes) (zeros when src is NULL), in 1 MiB chunks over nthreads
 * OpenMP threads when it is large (a single thread does not reach the memory bandwidth). */
static void par_copy(char *dst, const char *src, size_t bytes, int nthreads)
{
    const size_t chunk = (size_t)1 << 20;
    int64_t n = (int64_t)((bytes + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) num_threads(nthreads) if (n > 1 && nthreads > 1)
    for (int64_t i = 0; i < n; i++) {
        size_t off = (size_t)i * chunk, len = bytes - off < chunk ? bytes - off : chunk;
        if (src)
            memcpy(dst + off, src + off, len);
        else
            memset(dst + off, 0, len);
    }
}

/* Fill C (contiguous, nd dims) before the BLAS call accumulates onto it: with the addend P
 * (nothing to copy when C is P itself: an in-place update), the bias row repeated, or zeros
 * when `zero` (a ger, or an empty core dimension: BLAS then leaves C untouched). */
static void blas_prefill(const sb_plan *p, const step *s, const sb_tensor *C, bool zero)
{
    sb_dtype dt = C->dtype;
    int64_t tot = sb_be_tensor_numel(C), row = C->shape[C->ndim - 1];
    size_t es = sb_dtype_size(dt);
    char *c = sb_be_tensor_ptr(C);
    if (!s->bias) {
        if (zero && tot > 0) par_copy(c, NULL, (size_t)tot * es, p->nthreads);
        return;
    }
    sb_tensor add = sb_be_tensor_as(&p->val[s->bias->id], dt);
    const char *a = sb_be_tensor_ptr(&add);
    if (s->full && c != a && tot > 0)
        par_copy(c, a, (size_t)tot * es, p->nthreads);
    else if (!s->full)
        for (int64_t i = 0; row > 0 && i < tot / row; i++)
            memcpy(c + (size_t)(i * row) * es, a, (size_t)row * es);
    sb_be_tensor_release(&add);
}

/* A BLAS step: C = alpha * product (+ bias rows / + P) with one gemm, gemv or ger call, into a
 * pool buffer or the bound array of its in-place target. */
static sb_status run_gemm(sb_plan *p, const step *s, sb_diag *d)
{
    sb_dtype dt = s->node->type.dtype;
    const sb_tensor *A = &p->val[s->mm->in[0]->id], *B = &p->val[s->mm->in[1]->id];
    int nd;
    int64_t shape[2];
    sb_tensor C;
    sb_status st = blas_shape(p, s, &nd, shape, d);
    if (!st) st = step_out(p, s, dt, nd, shape, &C, d);
    if (st) return st;
    int64_t K = s->blas == BL_GER ? 1 : A->shape[A->ndim - 1];
    /* (gemv: y is not read at beta 0, but some OpenBLAS versions scale it: NaN * 0) */
    blas_prefill(p, s, &C, s->blas != BL_GEMM || K == 0);
    double beta = s->bias ? 1 : 0;
    void *c = sb_be_tensor_ptr(&C);
    if (s->blas == BL_GER)
        sb_be_blas_ger(dt, s->alpha, A, B, c);
    else if (s->blas == BL_GEMV && A->ndim == 2)
        sb_be_blas_gemv(dt, s->alpha, beta, A, B, false, c);
    else if (s->blas == BL_GEMV)
        sb_be_blas_gemv(dt, s->alpha, beta, B, A, true, c);
    else
        sb_be_blas_gemm(dt, s->alpha, beta, A, B, c);
    p->val[s->node->id] = C;
    return SB_OK;
}

/* A reduction fused with its input group, into a pool buffer. */
static sb_status run_reduce(sb_plan *p, const step *s, sb_diag *d)
{
    const sb_fz_reduce *r = &s->rz;
    bool sm = s->kind == ST_SOFTMAX; /* a softmax with its input group */
    sb_tensor lv[SB_FZ_MAXREG];
    for (int i = 0; i < r->g.nleaf; i++) lv[i] = p->val[r->g.leaf[i]->id];
    int nd;
    int64_t shape[SB_MAX_DIMS];
    sb_status st = (sm ? sb_be_fz_softmax_shape : sb_be_fz_reduce_shape)(r, lv, &nd, shape, d);
    if (st) return st;
    sb_tensor out = pool_tensor(p, s->node->type.dtype, nd, shape);
    (sm ? sb_be_fz_softmax_run : sb_be_fz_reduce_run)(r, lv, &out, p->scratch, p->nthreads);
    p->val[s->node->id] = out;
    return SB_OK;
}

/* Row softmax; over its input's buffer when that input dies here (destroyable: each row is
 * read whole for its max, then each element is read before it is written). */
static sb_status run_softmax(sb_plan *p, step *s)
{
    sb_dtype dt = s->node->type.dtype;
    const sb_tensor *xv = &p->val[s->node->in[0]->id];
    s->wrote_over = destroyable(p, s, s->node->in[0], dt, xv->ndim, xv->shape) ? 0 : -1;
    sb_tensor x = sb_be_tensor_as(xv, dt);
    sb_tensor y = s->wrote_over == 0 ? sb_be_tensor_ref(&x) : pool_tensor(p, dt, x.ndim, x.shape);
    p->ninplace += s->wrote_over == 0;
    int64_t n = x.ndim ? x.shape[x.ndim - 1] : 1, tot = sb_be_tensor_numel(&x);
    if (tot > 0)
        (s->node->op == SB_OP_LOG_SOFTMAX ? sb_be_fz_log_softmax_rows : sb_be_fz_softmax_rows)(
            dt, tot / n, n, sb_be_tensor_ptr(&x), sb_be_tensor_ptr(&y));
    sb_be_tensor_release(&x);
    p->val[s->node->id] = y;
    return SB_OK;
}

/* squeeze without axes drops the dims statically 1 (as eval.c does). */
static void kernel_attrs(const sb_node *n, sb_attrs *a)
{
    *a = *n->attrs;
    if (n->op != SB_OP_SQUEEZE || a->naxis >= 0) return;
    a->naxis = 0;
    for (int i = 0; i < n->in[0]->type.ndim; i++)
        if (n->in[0]->type.dims[i] == 1) a->axis[a->naxis++] = i;
}

/* n's result type on its concrete inputs (contiguous ones also give their values). */
static sb_status concrete_type(const sb_node *n, const sb_tensor *in, const sb_attrs *a,
                               sb_type *out, sb_diag *d)
{
    int nin = n->nin > 0 ? n->nin : 1;
    sb_type ct[nin];
    const sb_type *tp[nin];
    sb_array av[nin];
    const sb_array *vp[nin];
    for (int i = 0; i < n->nin; i++) {
        ct[i] = n->in[i]->type;
        ct[i].ndim = (int8_t)in[i].ndim;
        memcpy(ct[i].dims, in[i].shape, sizeof in[i].shape);
        tp[i] = &ct[i];
        vp[i] = NULL;
        if (sb_be_tensor_is_contig(&in[i])) {
            memset(&av[i], 0, sizeof av[i]);
            av[i].dtype = in[i].dtype;
            av[i].ndim = in[i].ndim;
            memcpy(av[i].shape, in[i].shape, sizeof in[i].shape);
            av[i].data = sb_be_tensor_ptr(&in[i]);
            vp[i] = &av[i];
        }
    }
    return sb_infer_type((sb_op)n->op, n->nin, tp, a, vp, out, d);
}

/* Any other op: the reference evaluator's kernel (its result and temporaries come from the
 * pool: pool_alloc). s->view records whether the result shares an input's buffer; p->nheap
 * counts results on memory of their own outside the pool. */
static sb_status run_kernel(sb_plan *p, step *s, sb_diag *d)
{
    const sb_node *n = s->node;
    sb_attrs a;
    kernel_attrs(n, &a);
    sb_tensor in[n->nin > 0 ? n->nin : 1];
    for (int i = 0; i < n->nin; i++) in[i] = p->val[n->in[i]->id];
    sb_be_call c = {.node = n, .a = &a, .nin = n->nin, .in = in, .d = d};
    sb_status st = concrete_type(n, in, &a, &c.out, d);
    if (st) return st;
    sb_tensor out = {0};
    if ((st = sb_be_cpu_kernel((sb_op)n->op)(&c, &out))) return st;
    s->view = false;
    for (int i = 0; i < n->nin; i++) s->view |= out.buf && out.buf == in[i].buf;
    p->nheap += !s->view && out.buf && out.buf->owned;
    p->val[n->id] = out;
    return SB_OK;
}

static sb_status run_range(sb_plan *p, int lo, int hi, int nbind, const sb_binding *binds,
                           sb_diag *d);

/* ifelse: the condition is known (computed before); run the taken branch's sub-schedule only,
 * then take its value (the branch's own reference is dropped when it was computed inside). */
static sb_status run_ifelse(sb_plan *p, int k, int nbind, const sb_binding *binds, sb_diag *d)
{
    const step *s = &p->steps[k];
    const sb_node *n = s->node;
    int b = sb_be_tensor_get_f64(&p->val[n->in[0]->id], 0) != 0 ? 0 : 1;
    int lo = k + 1 + (b ? s->nsub[0] : 0);
    sb_status st = run_range(p, lo, lo + s->nsub[b], nbind, binds, d);
    if (st) return st;
    sb_tensor *v = &p->val[n->in[1 + b]->id];
    p->val[n->id] = v->dtype == n->type.dtype ? sb_be_tensor_ref(v) : sb_be_tensor_as(v, n->type.dtype);
    if (s->own[b]) sb_be_tensor_release(v);
    return SB_OK;
}

static sb_status run_step(sb_plan *p, int i, int nbind, const sb_binding *binds, sb_diag *d)
{
    const step *s = &p->steps[i];
    switch (s->kind) {
    case ST_LEAF: return run_leaf(p, i, nbind, binds, d);
    case ST_FUSED: return run_fused(p, &p->steps[i], d);
    case ST_GEMM: return run_gemm(p, s, d);
    case ST_SOFTMAX: return s->rz.node ? run_reduce(p, s, d) : run_softmax(p, &p->steps[i]);
    case ST_REDUCE: return run_reduce(p, s, d);
    case ST_IFELSE: return run_ifelse(p, i, nbind, binds, d);
    default: return run_kernel(p, &p->steps[i], d);
    }
}

/* Keep the outputs (contiguous references) and their borrowed headers. */
static void keep_outputs(sb_plan *p)
{
    for (int i = 0; i < p->nout; i++) {
        const sb_tensor *v = &p->val[p->outs[i]->id];
        p->keep[i] = sb_be_tensor_as(v, v->dtype);
        sb_array *a = &p->outarr[i];
        memset(a, 0, sizeof *a);
        a->dtype = v->dtype;
        a->ndim = v->ndim;
        memcpy(a->shape, v->shape, sizeof a->shape);
        a->data = sb_be_tensor_ptr(&p->keep[i]);
    }
}

/* ---- profiling (core/profile.h) ---------------------------------------------------------- */
/* What the profiler calls step s: its op, "fused{op,op,...}" (members in order; a fused
 * reduction ends with its reduction), "gemm", "gemv" or "ger". Only a fused step is formatted
 * (into buf). */
static const char *step_label(const step *s, char *buf, size_t cap)
{
    const sb_fz_group *g = s->kind == ST_FUSED ? &s->fz : s->rz.node ? &s->rz.g : NULL;
    if (s->kind == ST_GEMM) return blas_name[s->blas];
    if (!g || g->ninstr == 0) return sb_op_get((sb_op)s->node->op)->name;
    size_t k = (size_t)snprintf(buf, cap, "fused{");
    for (int i = 0; i < g->ninstr && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? "," : "",
                              sb_op_get((sb_op)g->instr[i].op)->name);
    if (s->rz.node && k + 24 < cap)
        k += (size_t)snprintf(buf + k, cap - k, ",%s", sb_op_get((sb_op)s->node->op)->name);
    snprintf(buf + k, cap - k, k + 24 < cap ? "}" : ",...}");
    return buf;
}

/* Bytes the pool holds (its buffers' capacity). */
static size_t pool_bytes(const sb_plan *p)
{
    size_t n = 0;
    for (int i = 0; i < p->pool.n; i++) n += ((const pool_buf *)p->pool.v[i])->cap;
    return n;
}

/* run_step, timed and recorded: label, output bytes, and whether it allocated (the pool grew,
 * or a reference kernel made a buffer of its own rather than a view of an input). Leaves are
 * not recorded. */
static sb_status run_step_profiled(sb_plan *p, int i, int nbind, const sb_binding *binds,
                                   sb_diag *d)
{
    const step *s = &p->steps[i];
    if (s->kind == ST_LEAF) return run_step(p, i, nbind, binds, d);
    char buf[160];
    const char *label = step_label(s, buf, sizeof buf);
    int64_t nalloc = p->nalloc;
    double t0 = sb_prof_begin();
    sb_status st = run_step(p, i, nbind, binds, d);
    const sb_tensor *o = &p->val[s->node->id];
    bool fresh = p->nalloc != nalloc;
    if (!st && s->kind == ST_KERNEL && o->buf && o->buf->owned) {
        fresh = true;
        for (int k = 0; k < s->node->nin; k++) fresh &= p->val[s->node->in[k]->id].buf != o->buf;
    }
    size_t bytes = st || !o->buf ? 0 : (size_t)sb_be_tensor_numel(o) * sb_dtype_size(o->dtype);
    sb_prof_end(t0, s->node->id, st ? NULL : label, bytes, fresh);
    return st;
}

/* Run the (sub-)schedule [lo, hi): each step, then the values it releases. An ifelse step runs
 * one of the sub-schedules after it (its steps are profiled, not the ifelse itself); the loop
 * goes on after both. */
static sb_status run_range(sb_plan *p, int lo, int hi, int nbind, const sb_binding *binds,
                           sb_diag *d)
{
    for (int i = lo; i < hi; i = step_next(p, i)) {
        const step *s = &p->steps[i];
        sb_status st = sb_prof_on && s->kind != ST_IFELSE
                           ? run_step_profiled(p, i, nbind, binds, d)
                           : run_step(p, i, nbind, binds, d);
        if (st) return st;
        p->nrun += s->kind != ST_LEAF;
        for (int k = 0; k < s->nfree; k++) sb_be_tensor_release(&p->val[s->free_ids[k]]);
    }
    return SB_OK;
}

/* In-place writers run last (sb_be_plan_update_inplace moves them to the end). Before the
 * first of them writes, check that none can fail: each result's shape, from the values it
 * reads (all computed by now), must match its target's array, and a GEMM's operands must fit.
 * So a run that fails has written into no bound array. (fastpath: core/function.c relies on
 * this for atomic updates.) The writers are steps [writers_start(p), nstep). */
static int writers_start(const sb_plan *p)
{
    int w = p->nstep;
    while (w > 0 && p->steps[w - 1].into) w--;
    return w;
}

static sb_status check_writers(sb_plan *p, int w, sb_diag *d)
{
    for (int i = w; i < p->nstep; i++) {
        const step *s = &p->steps[i];
        int nd = 0;
        int64_t shape[SB_MAX_DIMS];
        sb_status st = SB_OK;
        if (s->kind == ST_FUSED) {
            sb_tensor lv[SB_FZ_MAXREG];
            for (int k = 0; k < s->fz.nleaf; k++) lv[k] = p->val[s->fz.leaf[k]->id];
            st = sb_be_fz_shape(&s->fz, lv, &nd, shape, d);
        } else if (s->kind == ST_GEMM) {
            sb_diag scratch;
            sb_diag_clear(&scratch);
            if (blas_shape(p, s, &nd, shape, &scratch))
                st = sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                                 "in-place update of '%s': the operands of its product do not fit",
                                 s->into->name);
        } else {
            continue; /* no other kind writes in place */
        }
        const sb_tensor *t = &p->val[s->into->id];
        bool ok = !st && t->dtype == s->node->type.dtype && t->ndim == nd;
        for (int k = 0; ok && k < nd; k++) ok = t->shape[k] == shape[k];
        if (!st && !ok)
            st = sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                             "in-place update of '%s': the new value's shape differs from its own",
                             s->into->name);
        if (st) return st;
    }
    return SB_OK;
}

sb_status sb_be_plan_run(sb_plan *p, int nbind, const sb_binding *binds, sb_array **res,
                         sb_diag *d)
{
    for (int i = 0; i < p->nout; i++) {
        sb_be_tensor_release(&p->keep[i]);
        if (res) res[i] = NULL;
    }
    p->have_out = false;
    bool prof = sb_prof_on; /* profiling (core/profile.h): one branch per step when off */
    double t0 = prof ? sb_prof_run_begin() : 0;
    p->nrun = p->nheap = p->ninplace = 0;
    p->ran = true;
    p->nreq = 0;
    sb_be_tensor_set_alloc(pool_alloc, p); /* on this thread, until the outputs are kept */
    int w = writers_start(p); /* in-place writers: checked before the first writes */
    sb_status st = run_range(p, 0, w, nbind, binds, d);
    if (!st && w < p->nstep) st = check_writers(p, w, d);
    if (!st) st = run_range(p, w, p->nstep, nbind, binds, d);
    if (!st) keep_outputs(p);
    sb_be_tensor_set_alloc(NULL, NULL);
    for (int i = 0; i < p->nstep; i++) sb_be_tensor_release(&p->val[p->steps[i].node->id]);
    if (prof) sb_prof_run_end(t0, pool_bytes(p));
    if (st) return st;
    p->have_out = true;
    for (int i = 0; res && i < p->nout; i++) {
        const sb_array *a = &p->outarr[i];
        res[i] = sb_array_new(a->dtype, a->ndim, a->shape);
        memcpy(res[i]->data, a->data, (size_t)sb_array_numel(a) * sb_dtype_size(a->dtype));
    }
    return SB_OK;
}

/* ---- in-place updates ------------------------------------------------------------------- */
/* Whether value v may share memory with leaf L: v is L, or a reference-kernel result (views
 * such as transpose are made there) or an ifelse (its branch's value) computed from a value
 * that may. Fused groups and GEMMs write fresh buffers, which stops the walk. */
static bool may_alias(const sb_plan *p, const int *step_of, const sb_node *v, const sb_node *L)
{
    if (v == L) return true;
    int k = step_of[v->id];
    if (k >= 0 && p->steps[k].kind == ST_IFELSE)
        return may_alias(p, step_of, v->in[1], L) || may_alias(p, step_of, v->in[2], L);
    if (k < 0 || p->steps[k].kind != ST_KERNEL) return false;
    for (int i = 0; i < p->steps[k].nread; i++)
        if (may_alias(p, step_of, p->steps[k].read[i], L)) return true;
    return false;
}

/* Every writer reads its target only where it is safe (a fused group reads it elementwise at
 * the positions it writes; a GEMM only as the matrix it accumulates onto), reads nothing that
 * an earlier writer changed, and no output other than the writer's may show the target. */
static sb_status check_inplace(const sb_plan *p, const int *step_of, sb_diag *d)
{
    for (int k = 0; k < p->nstep; k++) {
        const step *w = &p->steps[k];
        if (!w->into) continue;
        if (step_of[w->into->id] < 0)
            return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                               "cannot update '%s' in place: the plan does not read it",
                               w->into->name);
        if (w->kind == ST_GEMM && (may_alias(p, step_of, w->mm->in[0], w->into) ||
                                   may_alias(p, step_of, w->mm->in[1], w->into)))
            return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                               "cannot update '%s' in place: the product reads it",
                               w->into->name);
        for (int r = 0; r < w->nread - w->extra; r++) {
            const sb_node *v = w->read[r];
            for (int j = 0; j <= k; j++) {
                const step *e = &p->steps[j];
                if (!e->into || !may_alias(p, step_of, v, e->into)) continue;
                bool own = j == k && v == e->into &&
                           (w->kind == ST_FUSED || (w->full && v == w->bias));
                if (!own)
                    return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                                       "cannot update '%s' in place: a step reads it after or "
                                       "while it is written", e->into->name);
            }
        }
        for (int i = 0; i < p->nout; i++)
            if (p->outs[i] != w->node && may_alias(p, step_of, p->outs[i], w->into))
                return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                                   "cannot update '%s' in place: another output shows it",
                                   w->into->name);
    }
    return SB_OK;
}

sb_status sb_be_plan_update_inplace(sb_plan *p, int i, sb_node *leaf, sb_diag *d)
{
    SB_ASSERT(i >= 0 && i < p->nout);
    sb_node *o = p->outs[i];
    int k = -1, nread = 0;
    for (int j = 0; j < p->nstep; j++) {
        if (p->steps[j].node == o) k = j;
        for (int r = 0; r < p->steps[j].nread; r++) nread += p->steps[j].read[r] == o;
    }
    bool same = leaf && (leaf->op == SB_OP_INPUT || leaf->op == SB_OP_SHARED) &&
                sb_type_eq(&leaf->type, &o->type);
    for (int j = 0; j < p->nout; j++) same &= j == i || p->outs[j] != o;
    if (!same || k < 0 || nread || (p->steps[k].kind != ST_FUSED && p->steps[k].kind != ST_GEMM) ||
        p->steps[k].into)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "output %d cannot be written into '%s' in place", i,
                           leaf && leaf->name ? leaf->name : "?");
    /* writers go last (nobody reads them), in the order they were declared */
    step w = p->steps[k];
    memmove(&p->steps[k], &p->steps[k + 1], sizeof *p->steps * (size_t)(p->nstep - 1 - k));
    p->steps[p->nstep - 1] = w;
    p->steps[p->nstep - 1].into = leaf;
    int *step_of = sb_xmalloc(sizeof *step_of * (size_t)p->nnodes);
    for (int j = 0; j < p->nnodes; j++) step_of[j] = -1;
    for (int j = 0; j < p->nstep; j++) step_of[p->steps[j].node->id] = j;
    sb_status st = check_inplace(p, step_of, d);
    free(step_of);
    step *ws = &p->steps[p->nstep - 1];
    if (st) { /* refused: the step goes back where it was (after the writers it could read a
               * value they changed; fastpath: tests/core/test_function.c inplace_*) */
        w = *ws;
        w.into = NULL;
        memmove(&p->steps[k + 1], &p->steps[k], sizeof *p->steps * (size_t)(p->nstep - 1 - k));
        p->steps[k] = w;
    } else {             /* it reads the leaf's value: keep it alive until then */
        ws->read = sb_xrealloc(ws->read, sizeof *ws->read * (size_t)(ws->nread + 1));
        ws->read[ws->nread++] = leaf;
        ws->extra = 1;
    }
    uint8_t *is_out = sb_xcalloc((size_t)p->nnodes, 1);
    for (int j = 0; j < p->nout; j++) is_out[p->outs[j]->id] = 1;
    for (int j = 0; j < p->nstep; j++) {
        free(p->steps[j].free_ids);
        p->steps[j].free_ids = NULL;
        p->steps[j].nfree = 0;
    }
    plan_liveness(p, is_out);
    free(is_out);
    return st;
}

const sb_array *sb_be_plan_output(const sb_plan *p, int i)
{
    SB_ASSERT(i >= 0 && i < p->nout);
    return p->have_out ? &p->outarr[i] : NULL;
}

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
    for (int i = lo; i < hi; i = step_next(p, i)) {
        const step *s = &p->steps[i];
        if (s->kind == ST_LEAF) continue;
        const char *kind = s->kind == ST_GEMM ? blas_name[s->blas] : kind_name[s->kind];
        fprintf(f, "%3d %*s%-7s %%%u %s", i, 2 * depth, "", kind, s->node->id,
                sb_op_get((sb_op)s->node->op)->name);
        for (int k = 0; s->kind == ST_FUSED && k < s->fz.ninstr; k++)
            fprintf(f, "%s%s", k ? " " : " [", sb_op_get((sb_op)s->fz.instr[k].op)->name);
        if (s->kind == ST_FUSED) fprintf(f, "]%s", s->fz.jit ? " compiled" : "");
        for (int k = 0; s->rz.node && k < s->rz.g.ninstr; k++)
            fprintf(f, "%s%s%s", k ? " " : " [", sb_op_get((sb_op)s->rz.g.instr[k].op)->name,
                    k == s->rz.g.ninstr - 1 ? "]" : "");
        if (s->kind == ST_GEMM && s->alpha != 1) fprintf(f, " alpha=%g", s->alpha);
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
        bool may = p->ran ? s->wrote_over == 0 : destroy_static(s, x, s->node->type.dtype);
        return may ? x : NULL;
    }
    if (s->kind != ST_FUSED) return NULL;
    if (p->ran) return s->wrote_over >= 0 ? s->fz.leaf[s->wrote_over] : NULL;
    for (int k = 0; k < s->fz.nleaf; k++)
        if (destroy_static(s, s->fz.leaf[k], s->fz.dtype) &&
            same_static_shape(s->fz.leaf[k], s->node))
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
