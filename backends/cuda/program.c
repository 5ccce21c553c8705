/* program.c: a list of output nodes compiled into CUDA steps, and running them.
 *
 * Nodes reachable from the outputs run in id order (ids are a topological order: a node is
 * created after its inputs). Each node becomes one of:
 *   GROUP  a fused elementwise group: an elementwise node with one consumer that is itself
 *          elementwise (and not an output) is inlined into that consumer's group; scalar
 *          constants become literals (codegen.c);
 *   PERM   transpose: an identity group reading its input at permuted strides; a 2-D
 *          transpose read by a gemm is passed to cuBLAS as op(T) instead, and gets no step
 *          when every consumer reads it so;
 *   ROW    softmax / log_softmax / logsumexp / crossentropy / reductions over trailing axes;
 *   COL    reductions over leading axes;
 *   GEMM   2-D float matmul (and matrix @ vector) through cuBLAS;
 *   VIEW   reshape, expand_dims, squeeze, disconnected_grad: the input's memory with a new
 *          shape (values are contiguous), no kernel;
 *   FOLD   a node whose inputs are all constants (arange, eye, zeros, ...): evaluated once on the
 *          host at the first run, then kept on the device like a constant;
 *   HOST   everything else: inputs are copied to the host, the reference evaluator runs a proxy
 *          node (same op and attributes over proxy inputs), the result is copied back. Any
 *          graph therefore runs; the kernels above cover the ops of training MLPs.
 * Device values are contiguous, from the pool, released after their last consumer; a view's
 * input (and a transpose's, when a gemm reads it as op(T)) is released only after the view's
 * own consumers (the node is an alias: `alias`). Outputs of
 * a run stay on the device until the next run: a binding whose host array is one the previous
 * run returned (a shared variable's update, stored by the function layer) is used in place
 * without a copy, so parameters stay resident across training steps. The float64 reference
 * mode (SB_BE_F64) runs on the host evaluator. */
#include "backends/cuda/cu-impl.h"

#include "backends/cpu/tensor.h"

typedef enum kind {
    K_LEAF, K_GROUP, K_PERM, K_ROW, K_COL, K_GEMM, K_VIEW, K_HOST, K_FOLD, K_COUNT
} kind;
_Static_assert(K_COUNT == SB_CU_NKINDS, "step kinds");

typedef struct dval {
    void *p; /* pool memory (NULL when numel is 0) */
    sb_dtype dt;
    int ndim;
    int64_t shape[SB_MAX_DIMS];
} dval;

typedef struct step {
    kind k;
    sb_node *n;
    sb_cu_group g;            /* GROUP, PERM */
    sb_node *leaf[SB_CU_MAXREG];
    sb_cu_row row;            /* ROW, COL */
    bool ta, tb;              /* GEMM: operand 0 / 1 is a 2-D transpose read as op(T) */
    sb_cu_src src;
    sb_node *proxy;           /* HOST */
    bool folded;              /* FOLD: computed (in cval) */
    sb_node *member[SB_CU_MAXREG]; /* GROUP: the node of each instruction (NULL = literal) */
    int nmember;
    void *kern;               /* loaded kernel (first run) */
    /* the last run's plan: input values (leaves for groups), output value */
    dval rin[SB_CU_MAXREG];
    int nrin;
    dval rout;
} step;

#define FP_BYTES 16
typedef struct kept {         /* an output of the last run, still on the device */
    const void *host;
    size_t bytes;
    unsigned char fp[3][FP_BYTES]; /* first, middle and last bytes when it was returned */
    dval v;
} kept;

struct sb_be_program {
    sb_ctx *ctx;
    int nout;
    sb_node **outs;
    bool f64, tf32;
    int nsteps;
    step *steps;
    int32_t *owner;           /* by node id: the group root a node is inlined into, or -1 */
    int32_t *uses0;           /* consumers among reachable nodes */
    bool *alias;              /* by node id: its value is its input's memory (views, transposes
                                 read as op(T)): the input lives until this node's consumers ran */
    bool *elided;             /* by node id: a transpose no step computes (gemms read op(T)) */
    dval *cval;               /* constants uploaded once, by node id */
    kept *kept;
    int nkept;
    int nn;                   /* nodes of ctx at compile (proxies come after) */
    bool has_host;            /* some step runs on the host: one pass, no CUDA graph */
    uint64_t graph_sig;       /* the captured graph's signature (pointers and shapes) */
    cudaGraphExec_t graph;
};

static int64_t dv_numel(const dval *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= v->shape[i];
    return n;
}

static size_t dv_bytes(const dval *v)
{
    return (size_t)dv_numel(v) * sb_dtype_size(v->dt);
}

/* ---- classification -------------------------------------------------------------------------- */
static bool fusable(const sb_node *n)
{
    return sb_cu_elemwise_supported((sb_op)n->op) && n->type.dtype < SB_DTYPE_COUNT;
}

static bool is_scalar_const(const sb_node *n)
{
    return n->op == SB_OP_CONST && sb_array_numel(n->value) == 1;
}

/* Whether axes (normalized, sorted) of a reduction over ndim dims are the trailing (row) or
 * leading (col) ones; -1 = neither. */
static int axes_split(const sb_node *n, bool *trailing)
{
    int nd = n->in[0]->type.ndim, na = n->attrs->naxis;
    if (na < 0 || na == nd) {
        *trailing = true;
        return 0;
    }
    int64_t ax[SB_MAX_DIMS];
    for (int i = 0; i < na; i++) ax[i] = sb_axis_norm(n->attrs->axis[i], nd);
    bool lead = true, trail = true;
    for (int i = 0; i < na; i++) {
        lead &= ax[i] == i;
        trail &= ax[i] == nd - na + i;
    }
    *trailing = trail;
    return trail || lead ? na : -1;
}

static sb_cu_row red_kind(sb_op op)
{
    switch (op) {
    case SB_OP_SUM: return SB_CU_ROW_SUM;
    case SB_OP_MEAN: return SB_CU_ROW_MEAN;
    case SB_OP_PROD: return SB_CU_ROW_PROD;
    case SB_OP_MAX: return SB_CU_ROW_MAX;
    case SB_OP_MIN: return SB_CU_ROW_MIN;
    case SB_OP_LOGSUMEXP: return SB_CU_ROW_LOGSUMEXP;
    default: return SB_CU_ROW_COUNT;
    }
}

/* Whether n is a 2-D transpose (a candidate for cuBLAS's op(T)). */
static bool is_t2d(const sb_node *n)
{
    const sb_attrs *a = n->attrs;
    return n->op == SB_OP_TRANSPOSE && n->type.ndim == 2 &&
           (a->naxis < 0 || (a->naxis == 2 && sb_axis_norm(a->axis[0], 2) == 1));
}

/* Whether matmul n runs as a cuBLAS gemm: float, one dtype, [m,k] @ [k,n] or [m,k] @ [k]. */
static bool gemm_ok(const sb_node *n)
{
    if (n->op != SB_OP_MATMUL) return false;
    sb_dtype dt = n->type.dtype;
    const sb_node *x = n->in[0], *y = n->in[1];
    return (dt == SB_DTYPE_F32 || dt == SB_DTYPE_F64) && x->type.dtype == dt &&
           y->type.dtype == dt && x->type.ndim == 2 && (y->type.ndim == 2 || y->type.ndim == 1);
}

/* The kind of a non-fused node. */
static kind classify(step *s)
{
    const sb_node *n = s->n;
    sb_dtype dt = n->type.dtype;
    bool fl = dt == SB_DTYPE_F32 || dt == SB_DTYPE_F64;
    const sb_node *x = n->nin ? n->in[0] : NULL;
    switch (n->op) {
    case SB_OP_INPUT: case SB_OP_SHARED: case SB_OP_CONST: return K_LEAF;
    case SB_OP_SOFTMAX: case SB_OP_LOG_SOFTMAX: {
        int ax = n->attrs->naxis < 0 ? x->type.ndim - 1 : sb_axis_norm(n->attrs->axis[0], x->type.ndim);
        if (!fl || x->type.dtype != dt || ax != x->type.ndim - 1) return K_HOST;
        s->row = n->op == SB_OP_SOFTMAX ? SB_CU_ROW_SOFTMAX : SB_CU_ROW_LOG_SOFTMAX;
        return K_ROW;
    }
    case SB_OP_SUM: case SB_OP_MEAN: case SB_OP_PROD: case SB_OP_MAX: case SB_OP_MIN:
    case SB_OP_LOGSUMEXP: {
        bool trailing;
        if (!fl || x->type.dtype != dt || axes_split(n, &trailing) < 0) return K_HOST;
        s->row = red_kind((sb_op)n->op);
        if (!trailing && s->row == SB_CU_ROW_LOGSUMEXP) return K_HOST;
        return trailing ? K_ROW : K_COL;
    }
    case SB_OP_CROSSENTROPY: {
        const sb_node *t = n->in[1];
        if (!fl || x->type.dtype != dt || x->type.ndim < 1) return K_HOST;
        if (sb_dtype_is_int(t->type.dtype) && t->type.ndim == x->type.ndim - 1)
            s->row = SB_CU_ROW_XENT_LABELS;
        else if (t->type.dtype == dt && t->type.ndim == x->type.ndim)
            s->row = SB_CU_ROW_XENT_DENSE;
        else
            return K_HOST;
        return K_ROW;
    }
    case SB_OP_MATMUL:
        if (!gemm_ok(n)) return K_HOST;
        s->ta = is_t2d(n->in[0]);
        s->tb = is_t2d(n->in[1]);
        return K_GEMM;
    case SB_OP_TRANSPOSE: return K_PERM;
    case SB_OP_ZEROS_LIKE: case SB_OP_ONES_LIKE: return K_GROUP; /* a literal, x's shape */
    case SB_OP_RESHAPE: case SB_OP_EXPAND_DIMS: case SB_OP_SQUEEZE:
    case SB_OP_DISCONNECTED_GRAD: return K_VIEW;
    default: return fusable(n) ? K_GROUP : K_HOST;
    }
}

/* ---- groups ---------------------------------------------------------------------------------- */
/* Computation dtype of an elementwise node (as the CPU kernels compute). */
static sb_dtype comp_dtype(const sb_node *n)
{
    unsigned fl = sb_op_get((sb_op)n->op)->flags;
    if (n->op == SB_OP_LOGICAL_AND || n->op == SB_OP_LOGICAL_OR || n->op == SB_OP_LOGICAL_NOT)
        return SB_DTYPE_BOOL;
    if (n->op == SB_OP_CAST) return n->type.dtype;
    if (fl & SB_F_BOOL_OUT)
        return sb_be_arith_dt(sb_be_weak_promote(&n->in[0]->type, &n->in[1]->type));
    return sb_be_arith_dt(n->type.dtype);
}

/* Register of n inside the group of step s (rooted at s->n). */
static int build(sb_be_program *p, step *s, sb_node *n)
{
    bool inside = n == s->n || (p->owner[n->id] == (int32_t)s->n->id);
    if (!inside && is_scalar_const(n)) {
        s->member[s->nmember++] = NULL;
        return sb_cu_group_add(&s->g, SB_OP_CONST, n->type.dtype, n->type.dtype, -1, -1, -1,
                               sb_array_get_f64(n->value, 0));
    }
    if (!inside) {
        for (int i = 0; i < s->g.nleaf; i++)
            if (s->leaf[i] == n) return i;
        SB_ASSERT(s->g.ninstr == 0); /* leaves are collected first (collect_leaves) */
        s->leaf[s->g.nleaf] = n;
        return sb_cu_group_leaf(&s->g, n->type.dtype);
    }
    int r[3] = {-1, -1, -1};
    for (int i = 0; i < n->nin && i < 3; i++) r[i] = build(p, s, n->in[i]);
    s->member[s->nmember++] = n;
    return sb_cu_group_add(&s->g, (sb_op)n->op, n->type.dtype, comp_dtype(n), r[0], r[1], r[2], 0);
}

/* Leaves first (registers 0..nleaf-1), in first-use order. */
static void collect_leaves(sb_be_program *p, step *s, sb_node *n)
{
    bool inside = n == s->n || p->owner[n->id] == (int32_t)s->n->id;
    if (!inside) {
        if (is_scalar_const(n)) return;
        for (int i = 0; i < s->g.nleaf; i++)
            if (s->leaf[i] == n) return;
        s->leaf[s->g.nleaf] = n;
        sb_cu_group_leaf(&s->g, n->type.dtype);
        return;
    }
    for (int i = 0; i < n->nin; i++) collect_leaves(p, s, n->in[i]);
}

/* Group membership: inline n into its only consumer c when both are fusable and the group stays
 * small. Returns the number of registers the subtree would take (an upper bound). */
static void plan_fusion(sb_be_program *p, sb_node **order, int norder, sb_node **consumer,
                        bool *is_out)
{
    int32_t *size = sb_xcalloc((size_t)p->ctx->nodes.n, sizeof *size);
    for (int i = 0; i < norder; i++) {
        sb_node *n = order[i];
        if (!fusable(n)) continue;
        size[n->id] = 1;
        for (int k = 0; k < n->nin; k++) {
            sb_node *m = n->in[k];
            size[n->id] += p->owner[m->id] == -2 ? size[m->id] : 1;
        }
        if (size[n->id] > SB_CU_MAXREG / 2) { /* too big: cut the inlined inputs */
            for (int k = 0; k < n->nin; k++)
                if (p->owner[n->in[k]->id] == -2) p->owner[n->in[k]->id] = -1;
            size[n->id] = 1 + n->nin;
        }
        sb_node *c = consumer[n->id];
        p->owner[n->id] = (c && p->uses0[n->id] == 1 && !is_out[n->id] && fusable(c)) ? -2 : -1;
    }
    /* resolve -2 (inlined) to the root: follow consumers, in reverse order */
    for (int i = norder - 1; i >= 0; i--) {
        sb_node *n = order[i];
        if (p->owner[n->id] != -2) continue;
        sb_node *c = consumer[n->id];
        p->owner[n->id] = p->owner[c->id] >= 0 ? p->owner[c->id] : (int32_t)c->id;
    }
    free(size);
}

/* Aliases: views are their input's memory; a 2-D transpose read by some gemm as op(T) is an
 * alias too (the gemm reads the transpose's input), and gets no step at all when every
 * consumer is such a gemm and it is not an output. */
static void plan_aliases(sb_be_program *p, sb_node **order, int norder, const bool *is_out)
{
    int32_t *absorbed = sb_xcalloc((size_t)p->nn, sizeof *absorbed);
    for (int i = 0; i < norder; i++) {
        sb_node *n = order[i];
        if (p->owner[n->id] >= 0) continue;
        if (n->op == SB_OP_RESHAPE || n->op == SB_OP_EXPAND_DIMS || n->op == SB_OP_SQUEEZE ||
            n->op == SB_OP_DISCONNECTED_GRAD)
            p->alias[n->id] = true;
        if (!gemm_ok(n)) continue;
        for (int k = 0; k < 2; k++)
            if (is_t2d(n->in[k])) absorbed[n->in[k]->id]++, p->alias[n->in[k]->id] = true;
    }
    for (int i = 0; i < norder; i++) {
        const sb_node *n = order[i];
        p->elided[n->id] = is_t2d(n) && absorbed[n->id] == p->uses0[n->id] && !is_out[n->id];
    }
    free(absorbed);
}

/* ---- compile --------------------------------------------------------------------------------- */
/* A host step's proxy: the same op over inputs named __cuda<id>_<i> (constants kept). */
static sb_node *make_proxy(sb_ctx *ctx, sb_node *n, sb_diag *d)
{
    sb_node *in[n->nin > 0 ? n->nin : 1];
    for (int i = 0; i < n->nin; i++) {
        sb_node *m = n->in[i];
        if (m->op == SB_OP_CONST) {
            in[i] = m;
            continue;
        }
        char name[48];
        snprintf(name, sizeof name, "__cuda%u_%d", n->id, i);
        sb_type t = m->type;
        t.weak = false;
        in[i] = sb_input(ctx, name, &t);
    }
    return sb_apply(ctx, (sb_op)n->op, n->nin, in, n->attrs, d);
}

/* Whether n is computed from constants only (and is worth evaluating once). */
static bool foldable(const sb_node *n)
{
    if (sb_op_get((sb_op)n->op)->flags & (SB_F_SYMBOLIC | SB_F_LEAF)) return false;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]->op != SB_OP_CONST) return false;
    return true;
}

/* Make the step's kernel source (groups, rows, cols). */
static void gen_source(step *s)
{
    if (s->k == K_GROUP || s->k == K_PERM) s->src = sb_cu_gen_group(&s->g);
    else if (s->k == K_ROW)
        s->src = sb_cu_gen_row(s->row, s->n->in[0]->type.dtype,
                               s->row == SB_CU_ROW_XENT_LABELS ? s->n->in[1]->type.dtype
                                                               : SB_DTYPE_COUNT);
    else if (s->k == K_COL) s->src = sb_cu_gen_col(s->row, s->n->type.dtype);
}

static sb_status plan_steps(sb_be_program *p, sb_node **order, int norder, sb_diag *d)
{
    p->steps = sb_xcalloc((size_t)(norder > 0 ? norder : 1), sizeof *p->steps);
    for (int j = 0; j < 2 * norder; j++) { /* leaves first: uploads precede every release */
        sb_node *n = order[j % norder];
        bool leaf = sb_op_get((sb_op)n->op)->flags & SB_F_LEAF, fold = !leaf && foldable(n);
        if ((leaf || fold) != (j < norder) || p->owner[n->id] >= 0) continue; /* inlined */
        if (p->elided[n->id]) continue; /* a transpose only gemms read, as op(T) */
        if (sb_op_get((sb_op)n->op)->flags & SB_F_SYMBOLIC || n->op == SB_OP_PVAR)
            return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                               "cuda: %s must be expanded before compiling",
                               sb_op_get((sb_op)n->op)->name);
        step *s = &p->steps[p->nsteps++];
        s->n = n;
        s->k = fold ? K_FOLD : classify(s);
        if (s->k == K_GROUP && (n->op == SB_OP_ZEROS_LIKE || n->op == SB_OP_ONES_LIKE)) {
            sb_cu_group_add(&s->g, SB_OP_CONST, n->type.dtype, n->type.dtype, -1, -1, -1,
                            n->op == SB_OP_ONES_LIKE);
            s->member[s->nmember++] = n;
        } else if (s->k == K_GROUP) {
            collect_leaves(p, s, n);
            build(p, s, n);
        } else if (s->k == K_PERM) {
            s->leaf[0] = n->in[0];
            int r = sb_cu_group_leaf(&s->g, n->type.dtype);
            sb_cu_group_add(&s->g, SB_OP_CAST, n->type.dtype, n->type.dtype, r, -1, -1, 0);
        } else if (s->k == K_HOST && !(s->proxy = make_proxy(p->ctx, n, d))) {
            return d->status;
        }
        p->has_host |= s->k == K_HOST;
        gen_source(s);
    }
    return SB_OK;
}

sb_be_program *sb_cu_prog_compile(sb_ctx *ctx, int nout, sb_node *const *outs, unsigned flags,
                                  sb_diag *d)
{
    sb_be_program *p = sb_xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->nout = nout;
    p->outs = sb_xmalloc(sizeof *p->outs * (size_t)(nout > 0 ? nout : 1));
    memcpy(p->outs, outs, sizeof *p->outs * (size_t)nout);
    p->f64 = flags & SB_BE_F64;
    p->tf32 = flags & SB_BE_TF32;
    if (p->f64) return p;
    int nn = ctx->nodes.n;
    bool *reach = sb_xcalloc((size_t)nn, sizeof *reach), *is_out = sb_xcalloc((size_t)nn, 1);
    sb_node **consumer = sb_xcalloc((size_t)nn, sizeof *consumer);
    p->uses0 = sb_xcalloc((size_t)nn, sizeof *p->uses0);
    p->owner = sb_xmalloc((size_t)nn * sizeof *p->owner);
    p->nn = nn;
    for (int i = 0; i < nn; i++) p->owner[i] = -1;
    for (int i = 0; i < nout; i++) reach[outs[i]->id] = is_out[outs[i]->id] = true;
    for (int i = nn - 1; i >= 0; i--) { /* ids are topological: consumers come later */
        sb_node *n = ctx->nodes.v[i];
        if (!reach[i]) continue;
        for (int k = 0; k < n->nin; k++) {
            reach[n->in[k]->id] = true;
            p->uses0[n->in[k]->id]++;
            consumer[n->in[k]->id] = n;
        }
    }
    sb_node **order = sb_xmalloc(sizeof *order * (size_t)(nn > 0 ? nn : 1));
    int norder = 0;
    for (int i = 0; i < nn; i++)
        if (reach[i]) order[norder++] = ctx->nodes.v[i];
    plan_fusion(p, order, norder, consumer, is_out);
    p->alias = sb_xcalloc((size_t)nn, sizeof *p->alias);
    p->elided = sb_xcalloc((size_t)nn, sizeof *p->elided);
    plan_aliases(p, order, norder, is_out);
    sb_status st = plan_steps(p, order, norder, d);
    free(reach);
    free(is_out);
    free(consumer);
    free(order);
    if (st) {
        sb_cu_prog_free(p);
        return NULL;
    }
    p->cval = sb_xcalloc((size_t)nn, sizeof *p->cval);
    return p;
}

void sb_cu_prog_stats(const sb_be_program *p, int counts[SB_CU_NKINDS], int *fused_nodes)
{
    memset(counts, 0, sizeof(int) * SB_CU_NKINDS);
    *fused_nodes = 0;
    for (int i = 0; i < p->nsteps; i++) {
        counts[p->steps[i].k]++;
        if (p->steps[i].k == K_GROUP) *fused_nodes += p->steps[i].g.ninstr;
    }
}

const char *sb_cu_prog_source(const sb_be_program *p, int i)
{
    return i >= 0 && i < p->nsteps ? p->steps[i].src.code : NULL;
}

static void kept_release(sb_be_program *p)
{
    for (int i = 0; i < p->nkept; i++) sb_cu_pool_release(p->kept[i].v.p);
    free(p->kept);
    p->kept = NULL;
    p->nkept = 0;
}

void sb_cu_prog_free(sb_be_program *p)
{
    if (!p) return;
    for (int i = 0; i < p->nsteps; i++) sb_cu_src_free(&p->steps[i].src);
    if (p->cval)
        for (int i = 0; i < p->nn; i++) sb_cu_pool_release(p->cval[i].p);
    if (p->graph) cudaGraphExecDestroy(p->graph);
    kept_release(p);
    free(p->steps);
    free(p->owner);
    free(p->uses0);
    free(p->alias);
    free(p->elided);
    free(p->cval);
    free(p->outs);
    free(p);
}


/* ---- running: values ------------------------------------------------------------------------- */
typedef struct runner {
    sb_be_program *p;
    int nbind;
    const sb_binding *binds;
    dval *val;     /* by node id */
    bool *own;     /* val[id] belongs to this run (released after its last consumer) */
    int32_t *uses; /* consumers yet to run */
    bool launch;   /* launch each step right after planning it (one pass) */
    sb_diag *d;
} runner;

/* A new pool value of dtype dt and the given shape (no memory when empty). */
static sb_status dv_new(dval *v, sb_dtype dt, int ndim, const int64_t *shape, sb_diag *d)
{
    *v = (dval){.dt = dt, .ndim = ndim};
    memcpy(v->shape, shape, sizeof(int64_t) * (size_t)ndim);
    size_t n = dv_bytes(v);
    return n && !(v->p = sb_cu_pool_alloc(n, d)) ? d->status : SB_OK;
}

/* Upload host array a (of a's dtype and shape) into a new pool value. */
static sb_status upload(const sb_array *a, dval *v, sb_diag *d)
{
    if (dv_new(v, a->dtype, a->ndim, a->shape, d)) return d->status;
    size_t n = dv_bytes(v);
    if (!n) return SB_OK;
    return SB_CU_CHECK(cudaMemcpyAsync(v->p, a->data, n, cudaMemcpyHostToDevice,
                                       (cudaStream_t)sb_cu_stream()),
                       d);
}

/* Download v into a new host array (waits for the stream). */
static sb_array *download(const dval *v, sb_diag *d)
{
    sb_array *a = sb_array_new(v->dt, v->ndim, v->shape);
    size_t n = dv_bytes(v);
    if (n && (SB_CU_CHECK(cudaStreamSynchronize((cudaStream_t)sb_cu_stream()), d) ||
              SB_CU_CHECK(cudaMemcpy(a->data, v->p, n, cudaMemcpyDeviceToHost), d))) {
        sb_array_free(a);
        return NULL;
    }
    return a;
}

/* Where the 3 fingerprint samples of n bytes start. */
static size_t fp_at(size_t n, int i)
{
    size_t k = n < FP_BYTES ? n : FP_BYTES;
    return i == 0 ? 0 : i == 1 ? (n - k) / 2 : n - k;
}

static void fingerprint(kept *k, const void *host)
{
    size_t m = k->bytes < FP_BYTES ? k->bytes : FP_BYTES;
    for (int i = 0; i < 3; i++) memcpy(k->fp[i], (const char *)host + fp_at(k->bytes, i), m);
}

/* A kept array bound again is trusted when its samples are unchanged: this catches a freed
 * result whose address a new array took (the address alone would match). */
static bool fingerprint_eq(const kept *k, const void *host)
{
    size_t m = k->bytes < FP_BYTES ? k->bytes : FP_BYTES;
    for (int i = 0; i < 3; i++)
        if (memcmp(k->fp[i], (const char *)host + fp_at(k->bytes, i), m)) return false;
    return true;
}

/* An input / shared variable: the binding, resident when the previous run returned it (the
 * same host array, unchanged as far as its fingerprint tells: results are not to be modified
 * in place and bound again). */
static sb_status run_variable(runner *r, const sb_node *n)
{
    const char *kind = n->op == SB_OP_INPUT ? "input" : "shared variable";
    const sb_array *v = NULL;
    for (int i = 0; i < r->nbind && !v; i++)
        if (r->binds[i].name && !strcmp(r->binds[i].name, n->name)) v = r->binds[i].value;
    if (!v)
        return sb_diag_set(r->d, SB_ERR_VALUE, NULL, 0, 0, "%s '%s' has no value", kind, n->name);
    bool ok = v->dtype == n->type.dtype && v->ndim == n->type.ndim;
    for (int i = 0; ok && i < v->ndim; i++) ok = n->type.dims[i] < 0 || n->type.dims[i] == v->shape[i];
    if (!ok) {
        char want[160];
        return sb_diag_set(r->d, SB_ERR_VALUE, NULL, 0, 0, "%s '%s' expects %s", kind, n->name,
                           sb_type_str(&n->type, want, sizeof want));
    }
    size_t bytes = (size_t)sb_array_numel(v) * sb_dtype_size(v->dtype);
    for (int i = 0; i < r->p->nkept; i++) {
        kept *k = &r->p->kept[i];
        if (k->host == v->data && k->bytes == bytes && k->v.dt == v->dtype &&
            fingerprint_eq(k, v->data)) {
            r->val[n->id] = k->v;
            r->val[n->id].ndim = v->ndim;
            memcpy(r->val[n->id].shape, v->shape, sizeof v->shape);
            return SB_OK;
        }
    }
    r->own[n->id] = true;
    return upload(v, &r->val[n->id], r->d);
}

static sb_status run_leaf(runner *r, const sb_node *n)
{
    if (n->op != SB_OP_CONST) return run_variable(r, n);
    dval *c = &r->p->cval[n->id];
    const sb_array *a = n->value;
    if (!c->p && (sb_array_numel(a) ? upload(a, c, r->d) : dv_new(c, a->dtype, a->ndim, a->shape, r->d)))
        return r->d->status;
    r->val[n->id] = *c;
    return SB_OK;
}

/* The last consumer of m has run: give its memory back (an alias: its input's turn). An
 * output keeps its memory, and an aliased output its input's, until the run ends. */
static void consumed(runner *r, const sb_node *m)
{
    if (m->id >= (uint32_t)r->p->nn || --r->uses[m->id] > 0) return;
    for (int i = 0; i < r->p->nout; i++)
        if (r->p->outs[i] == m) return;
    if (r->p->alias[m->id]) consumed(r, m->in[0]);
    if (r->own[m->id]) sb_cu_pool_release(r->val[m->id].p);
    r->own[m->id] = false;
}

/* ---- running: planning one step (shapes, memory) ------------------------------------------- */
static sb_status bcast_error(const step *s, sb_diag *d)
{
    return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "cuda: the inputs of %s do not broadcast",
                       sb_op_get((sb_op)s->n->op)->name);
}

static sb_status plan_group(runner *r, step *s)
{
    int nd = s->g.nleaf ? 0 : s->n->type.ndim;
    int64_t shape[SB_MAX_DIMS];
    for (int i = 0; i < nd; i++) shape[i] = s->n->type.dims[i] < 0 ? 1 : s->n->type.dims[i];
    if (!s->g.nleaf && s->n->nin == 1) { /* zeros_like / ones_like: x's shape */
        const dval *x = &r->val[s->n->in[0]->id];
        nd = x->ndim;
        memcpy(shape, x->shape, sizeof shape);
    }
    for (int k = 0; k < s->g.nleaf; k++) {
        s->rin[k] = r->val[s->leaf[k]->id];
        if (s->rin[k].ndim > nd) {
            int add = s->rin[k].ndim - nd;
            memmove(shape + add, shape, sizeof *shape * (size_t)nd);
            for (int i = 0; i < add; i++) shape[i] = 1;
            nd = s->rin[k].ndim;
        }
    }
    s->nrin = s->g.nleaf;
    for (int k = 0; k < s->g.nleaf; k++)
        for (int j = 0, off = nd - s->rin[k].ndim; j < s->rin[k].ndim; j++) {
            int64_t dl = s->rin[k].shape[j], *dout = &shape[off + j];
            if (dl != 1 && *dout == 1) *dout = dl;
            else if (dl != 1 && dl != *dout) return bcast_error(s, r->d);
        }
    return dv_new(&s->rout, sb_cu_group_dtype(&s->g), nd, shape, r->d);
}

/* transpose's permutation (naxis -1: reverse) */
static void perm_of(const step *s, int nd, int *perm)
{
    const sb_attrs *a = s->n->attrs;
    for (int i = 0; i < nd; i++)
        perm[i] = a->naxis < 0 ? nd - 1 - i : sb_axis_norm(a->axis[i], nd);
}

static sb_status plan_perm(runner *r, step *s)
{
    const dval *x = &r->val[s->n->in[0]->id];
    int perm[SB_MAX_DIMS];
    int64_t shape[SB_MAX_DIMS];
    perm_of(s, x->ndim, perm);
    for (int i = 0; i < x->ndim; i++) shape[i] = x->shape[perm[i]];
    s->rin[0] = *x;
    s->nrin = 1;
    return dv_new(&s->rout, x->dt, x->ndim, shape, r->d);
}

/* Shape of a reduction's result. */
static void reduce_shape(const sb_node *n, const dval *x, int *nd, int64_t *shape)
{
    bool red[SB_MAX_DIMS] = {0};
    for (int i = 0; i < x->ndim; i++) red[i] = n->attrs->naxis < 0;
    for (int i = 0; i < n->attrs->naxis; i++) red[sb_axis_norm(n->attrs->axis[i], x->ndim)] = true;
    *nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!red[i]) shape[(*nd)++] = x->shape[i];
        else if (n->attrs->keepdims) shape[(*nd)++] = 1;
}

static sb_status plan_rowcol(runner *r, step *s)
{
    const dval *x = &r->val[s->n->in[0]->id];
    s->rin[0] = *x;
    s->nrin = 1;
    int nd = x->ndim;
    int64_t shape[SB_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    if (s->row == SB_CU_ROW_XENT_LABELS || s->row == SB_CU_ROW_XENT_DENSE) {
        s->rin[1] = r->val[s->n->in[1]->id];
        s->nrin = 2;
        nd--;
        bool ok = s->rin[1].ndim == (s->row == SB_CU_ROW_XENT_DENSE ? x->ndim : nd);
        for (int i = 0; ok && i < s->rin[1].ndim; i++) ok = s->rin[1].shape[i] == x->shape[i];
        if (!ok)
            return sb_diag_set(r->d, SB_ERR_VALUE, NULL, 0, 0,
                               "cuda: crossentropy targets do not fit the predictions' shape");
    } else if (s->row > SB_CU_ROW_LOG_SOFTMAX) {
        reduce_shape(s->n, x, &nd, shape);
    }
    return dv_new(&s->rout, s->n->type.dtype, nd, shape, r->d);
}

/* A gemm's operands: ta / tb read a transpose's input as op(T) (stored [k, m] / [n, k]). */
static sb_status plan_gemm(runner *r, step *s)
{
    const sb_node *x = s->n->in[0], *y = s->n->in[1];
    const dval *a = &r->val[(s->ta ? x->in[0] : x)->id], *b = &r->val[(s->tb ? y->in[0] : y)->id];
    s->rin[0] = *a;
    s->rin[1] = *b;
    s->nrin = 2;
    int64_t m = a->shape[s->ta], k = a->shape[!s->ta];
    int64_t kb = b->ndim == 1 ? b->shape[0] : b->shape[s->tb], n = b->ndim == 2 ? b->shape[!s->tb] : 0;
    if (k != kb)
        return sb_diag_set(r->d, SB_ERR_VALUE, NULL, 0, 0,
                           "cuda: matmul of [%lld, %lld] and [%lld, ...]: inner dims differ",
                           (long long)m, (long long)k, (long long)kb);
    int64_t shape[2] = {m, n};
    return dv_new(&s->rout, s->n->type.dtype, b->ndim, shape, r->d);
}

/* reshape / expand_dims / squeeze / disconnected_grad: the type rule on the concrete shape,
 * over the input's memory (the runner does not own it: see consumed). */
static sb_status plan_view(runner *r, step *s)
{
    const sb_node *n = s->n;
    const dval *x = &r->val[n->in[0]->id];
    sb_type ct = sb_type_make(x->dt, x->ndim, x->shape), out;
    const sb_type *tp[1] = {&ct};
    const sb_array *vals[1] = {NULL};
    sb_attrs a = *n->attrs;
    if (n->op == SB_OP_SQUEEZE && a.naxis < 0) { /* the dims statically 1 */
        a.naxis = 0;
        for (int i = 0; i < n->in[0]->type.ndim; i++)
            if (n->in[0]->type.dims[i] == 1) a.axis[a.naxis++] = i;
    }
    if (sb_infer_type((sb_op)n->op, 1, tp, &a, vals, &out, r->d)) return r->d->status;
    s->rin[0] = *x;
    s->nrin = 1;
    s->rout = *x;
    s->rout.ndim = out.ndim;
    memcpy(s->rout.shape, out.dims, sizeof(int64_t) * (size_t)out.ndim);
    return SB_OK;
}

/* The reference evaluator on the proxy node, inputs copied from the device. */
static sb_status run_host(runner *r, step *s)
{
    const sb_node *n = s->n;
    sb_array *in[n->nin > 0 ? n->nin : 1];
    sb_binding b[n->nin > 0 ? n->nin : 1];
    int nb = 0;
    sb_status st = SB_OK;
    for (int i = 0; i < n->nin; i++) {
        in[i] = NULL;
        if (s->proxy->in[i]->op == SB_OP_CONST) continue;
        if (!(in[i] = download(&r->val[n->in[i]->id], r->d))) st = r->d->status;
        else b[nb++] = (sb_binding){s->proxy->in[i]->name, in[i]};
    }
    sb_array *res = NULL;
    if (!st) st = sb_eval(r->p->ctx, 1, &s->proxy, nb, b, false, &res, r->d);
    if (!st) st = upload(res, &s->rout, r->d);
    sb_array_free(res);
    for (int i = 0; i < n->nin; i++) sb_array_free(in[i]);
    if (!st) st = SB_CU_CHECK(cudaStreamSynchronize((cudaStream_t)sb_cu_stream()), r->d);
    return st;
}

/* A folded node: evaluated on the host once, then a device constant. */
static sb_status run_fold(runner *r, step *s)
{
    dval *c = &r->p->cval[s->n->id];
    if (!s->folded) {
        sb_array *res = NULL;
        if (sb_eval(r->p->ctx, 1, &s->n, 0, NULL, false, &res, r->d)) return r->d->status;
        sb_status st = sb_array_numel(res) ? upload(res, c, r->d)
                                           : dv_new(c, res->dtype, res->ndim, res->shape, r->d);
        sb_array_free(res);
        if (st) return st;
        s->folded = true;
    }
    r->val[s->n->id] = *c;
    return SB_OK;
}

static sb_status plan_step(runner *r, step *s)
{
    switch (s->k) {
    case K_LEAF: return run_leaf(r, s->n);
    case K_FOLD: return run_fold(r, s);
    case K_GROUP: return plan_group(r, s);
    case K_PERM: return plan_perm(r, s);
    case K_ROW: case K_COL: return plan_rowcol(r, s);
    case K_GEMM: return plan_gemm(r, s);
    case K_VIEW: return plan_view(r, s);
    default: return run_host(r, s);
    }
}

/* ---- running: launching one planned step ----------------------------------------------------- */
static unsigned grid_for(int64_t work, unsigned block)
{
    int64_t g = (work + block - 1) / block;
    return (unsigned)(g > 65536 ? 65536 : g); /* grid-stride loops cover the rest */
}

/* Element strides of leaf k broadcast (right-aligned) to out, or permuted for transpose. */
static void leaf_strides(const step *s, int k, const dval *out, sb_cu_dims *st)
{
    const dval *v = &s->rin[k];
    int64_t cs[SB_MAX_DIMS];
    sb_be_contig_strides(v->ndim, v->shape, cs);
    memset(st, 0, sizeof *st);
    if (s->k == K_PERM) {
        int perm[SB_MAX_DIMS];
        perm_of(s, v->ndim, perm);
        for (int i = 0; i < v->ndim; i++) st->d[i] = cs[perm[i]];
        return;
    }
    for (int j = 0, off = out->ndim - v->ndim; j < v->ndim; j++)
        st->d[off + j] = v->shape[j] == 1 ? 0 : cs[j];
}

static bool same_shape(const dval *a, const dval *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* Drop the result's size-1 dims and merge adjacent dims d-1, d that every leaf walks as one
 * (stride[d-1] = stride[d] * shape[d], broadcast dims included), so the strided path unravels
 * fewer dims. Returns the new ndim; shape and strides are rewritten in place. */
static int collapse_dims(int nd, sb_cu_dims *shape, sb_cu_dims *st, int nl)
{
    int m = 0;
    for (int i = 0; i < nd; i++) {
        if (shape->d[i] == 1) continue;
        bool merge = m > 0;
        for (int k = 0; merge && k < nl; k++) merge = st[k].d[m - 1] == st[k].d[i] * shape->d[i];
        int at = merge ? m - 1 : m++;
        shape->d[at] = merge ? shape->d[at] * shape->d[i] : shape->d[i];
        for (int k = 0; k < nl; k++) st[k].d[at] = st[k].d[i];
    }
    for (int i = m; i < SB_MAX_DIMS; i++) {
        shape->d[i] = 0;
        for (int k = 0; k < nl; k++) st[k].d[i] = 0;
    }
    return m;
}

static sb_status launch_group(step *s, sb_diag *d)
{
    long long n = dv_numel(&s->rout);
    if (n == 0) return SB_OK;
    int ndim = s->rout.ndim, flat = s->k == K_GROUP, nl = s->nrin;
    unsigned scal = 0;
    sb_cu_dims shape = {{0}}, st[SB_CU_MAXREG];
    for (int i = 0; i < ndim; i++) shape.d[i] = s->rout.shape[i];
    void *outp = s->rout.p, *inp[SB_CU_MAXREG], *args[6 + 2 * SB_CU_MAXREG];
    for (int k = 0; k < nl; k++) {
        inp[k] = s->rin[k].p;
        leaf_strides(s, k, &s->rout, &st[k]);
        if (dv_numel(&s->rin[k]) == 1) scal |= 1u << k;
        else flat &= same_shape(&s->rin[k], &s->rout);
    }
    if (nl > 32) flat = 0; /* scal has 32 bits */
    int path = flat ? 1 : n < INT32_MAX ? 2 : 0;
    if (!flat) ndim = collapse_dims(ndim, &shape, st, nl);
    args[0] = &n, args[1] = &ndim, args[2] = &shape, args[3] = &path, args[4] = &scal;
    args[5] = &outp;
    for (int k = 0; k < nl; k++) args[6 + 2 * k] = &inp[k], args[7 + 2 * k] = &st[k];
    int per = flat && s->rout.dt == SB_DTYPE_F32 ? 4 : 1;
    return sb_cu_launch(s->kern, grid_for((n + per - 1) / per, 256), 256, args, d);
}

static sb_status launch_rowcol(step *s, sb_diag *d)
{
    long long nout = dv_numel(&s->rout), nin = dv_numel(&s->rin[0]), rows, n;
    if (nout == 0) return SB_OK;
    const dval *x = &s->rin[0];
    if (s->k == K_COL) n = nout, rows = n ? nin / n : 0;
    else if (s->row <= SB_CU_ROW_LOG_SOFTMAX) n = x->ndim ? x->shape[x->ndim - 1] : 1, rows = n ? nin / n : 0;
    else if (s->row >= SB_CU_ROW_XENT_LABELS) n = x->shape[x->ndim - 1], rows = nout;
    else rows = nout, n = nin / nout;
    void *xp = x->p, *tp = s->nrin > 1 ? s->rin[1].p : NULL, *yp = s->rout.p;
    size_t row_bytes = (size_t)n * sb_dtype_size(x->dt);
    int cache = s->k == K_ROW && s->row <= SB_CU_ROW_LOG_SOFTMAX && row_bytes <= SB_CU_ROW_SMEM;
    void *a3[] = {&xp, &yp, &rows, &n, &cache}, *a4[] = {&xp, &tp, &yp, &rows, &n};
    void **args = s->nrin > 1 ? a4 : a3; /* softmax family: a3 with `cache` */
    if (s->k == K_COL) return sb_cu_launch(s->kern, grid_for(n, 256), 256, args, d);
    if (s->row == SB_CU_ROW_XENT_LABELS)
        return sb_cu_launch(s->kern, grid_for(rows, 256), 256, args, d);
    unsigned block = n >= 1024 ? 1024 : n <= 32 ? 32 : (unsigned)(n + 31) / 32 * 32;
    if (rows > INT32_MAX)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "cuda: more than 2^31 rows");
    return sb_cu_launch_smem(s->kern, (unsigned)rows, block, cache ? row_bytes : 0, args, d);
}

static sb_status launch_step(const sb_be_program *p, step *s, sb_diag *d)
{
    cudaStream_t str = (cudaStream_t)sb_cu_stream();
    switch (s->k) {
    case K_GROUP: case K_PERM: return launch_group(s, d);
    case K_ROW: case K_COL: return launch_rowcol(s, d);
    case K_GEMM: {
        const dval *a = &s->rin[0], *b = &s->rin[1];
        int64_t m = a->shape[s->ta], k = a->shape[!s->ta], n = b->ndim == 2 ? b->shape[!s->tb] : 1;
        if (m == 0 || n == 0) return SB_OK;
        if (k == 0) return SB_CU_CHECK(cudaMemsetAsync(s->rout.p, 0, dv_bytes(&s->rout), str), d);
        return sb_cu_gemm(s->rout.dt, s->ta, s->tb, m, n, k, a->p, b->p, 0, s->rout.p, p->tf32,
                          d);
    }
    default: return SB_OK; /* leaves and host steps did their work when planned */
    }
}

/* ---- running: the whole program -------------------------------------------------------------- */
/* Release the inputs of step s that have no consumer left. */
static void step_done(runner *r, const step *s)
{
    if (s->k == K_GROUP) {
        for (int i = 0; i < s->nmember; i++)
            if (s->member[i])
                for (int k = 0; k < s->member[i]->nin; k++) consumed(r, s->member[i]->in[k]);
        return;
    }
    if (s->k == K_VIEW || (s->k == K_PERM && r->p->alias[s->n->id]))
        return; /* an alias: its input goes when its own consumers are done (consumed) */
    for (int k = 0; k < s->n->nin; k++) consumed(r, s->n->in[k]);
}

/* Plan every step (and launch each at once in one-pass mode). */
static sb_status plan_all(runner *r)
{
    sb_be_program *p = r->p;
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        if (s->src.code && !s->kern && !(s->kern = sb_cu_kernel(&s->src, r->d))) return r->d->status;
        if (plan_step(r, s)) return r->d->status;
        if (s->k != K_LEAF && s->k != K_FOLD) {
            r->val[s->n->id] = s->rout;
            r->own[s->n->id] = s->k != K_VIEW; /* a view's memory is its input's */
        }
        if (r->launch && launch_step(p, s, r->d)) return r->d->status;
        step_done(r, s);
    }
    return SB_OK;
}

/* A hash of every planned pointer and shape: equal signatures replay the captured graph. */
static uint64_t signature(const sb_be_program *p)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (int i = 0; i < p->nsteps; i++) {
        const step *s = &p->steps[i];
        h = sb_hash_bytes(s->rin, sizeof *s->rin * (size_t)s->nrin, h);
        h = sb_hash_bytes(&s->rout, sizeof s->rout, h);
    }
    return h;
}

static sb_status launch_all(sb_be_program *p, sb_diag *d)
{
    for (int i = 0; i < p->nsteps; i++)
        if (launch_step(p, &p->steps[i], d)) return d->status;
    return SB_OK;
}

/* Launch the planned steps as a CUDA graph: replay the captured one when the signature is
 * unchanged, else capture the launches, instantiate and launch. */
static sb_status launch_graph(sb_be_program *p, sb_diag *d)
{
    cudaStream_t str = (cudaStream_t)sb_cu_stream();
    uint64_t sig = signature(p);
    if (!p->graph || sig != p->graph_sig) {
        if (p->graph) cudaGraphExecDestroy(p->graph);
        p->graph = NULL;
        cudaGraph_t g = NULL;
        if (SB_CU_CHECK(cudaStreamBeginCapture(str, cudaStreamCaptureModeThreadLocal), d))
            return d->status;
        sb_status st = launch_all(p, d);
        sb_status st2 = SB_CU_CHECK(cudaStreamEndCapture(str, &g), d);
        if (!st && !st2) st = SB_CU_CHECK(cudaGraphInstantiate(&p->graph, g, 0), d);
        if (g) cudaGraphDestroy(g);
        if (st || st2) return d->status;
        p->graph_sig = sig;
    }
    return SB_CU_CHECK(cudaGraphLaunch(p->graph, str), d);
}

/* Outputs to host arrays; the owned ones stay on the device as the new `kept` list. */
static sb_status finish(runner *r, sb_array **res)
{
    sb_be_program *p = r->p;
    kept *nk = sb_xcalloc((size_t)(p->nout > 0 ? p->nout : 1), sizeof *nk);
    int nnk = 0;
    sb_status st = SB_OK;
    for (int i = 0; i < p->nout && !st; i++) {
        const sb_node *o = p->outs[i];
        if (!(res[i] = download(&r->val[o->id], r->d))) st = r->d->status;
        else if (r->own[o->id]) {
            nk[nnk] = (kept){.host = res[i]->data, .bytes = dv_bytes(&r->val[o->id]),
                             .v = r->val[o->id]};
            fingerprint(&nk[nnk++], res[i]->data);
            r->own[o->id] = false; /* moved to the kept list */
        }
    }
    kept_release(p);
    p->kept = nk;
    p->nkept = nnk;
    return st;
}

static bool graphs_wanted(void)
{
    const char *e = getenv("SB_CUDA_GRAPH");
    return e && *e == '1';
}

sb_status sb_cu_prog_run(sb_be_program *p, int nbind, const sb_binding *binds, sb_array **res,
                         sb_diag *d)
{
    for (int i = 0; i < p->nout; i++) res[i] = NULL;
    if (p->f64) return sb_eval(p->ctx, p->nout, p->outs, nbind, binds, true, res, d);
    if (!sb_cu_device_ok(d)) return d->status;
    bool graph = graphs_wanted() && !p->has_host;
    runner r = {.p = p, .nbind = nbind, .binds = binds, .d = d, .launch = !graph};
    r.val = sb_xcalloc((size_t)p->nn + 1, sizeof *r.val);
    r.own = sb_xcalloc((size_t)p->nn + 1, sizeof *r.own);
    r.uses = sb_xmalloc(((size_t)p->nn + 1) * sizeof *r.uses);
    memcpy(r.uses, p->uses0, (size_t)p->nn * sizeof *r.uses);
    sb_status st = plan_all(&r);
    if (!st && graph) st = launch_graph(p, d);
    if (!st) st = finish(&r, res);
    for (int i = 0; i < p->nn; i++)
        if (r.own[i]) sb_cu_pool_release(r.val[i].p);
    if (st)
        for (int i = 0; i < p->nout; i++) {
            sb_array_free(res[i]);
            res[i] = NULL;
        }
    free(r.val);
    free(r.own);
    free(r.uses);
    return st;
}

/* ---- timing (bench) -------------------------------------------------------------------------- */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Device time of p's kernels: plan once (inputs uploaded), then launch the steps reps times
 * (as a CUDA graph when graph is true), each timed with CUDA events; *ms = the median. A
 * program with host steps is timed as whole runs (transfers included) instead. */
sb_status sb_cu_prog_time(sb_be_program *p, int nbind, const sb_binding *binds, int reps,
                          bool graph, double *ms, sb_diag *d)
{
    if (!sb_cu_device_ok(d)) return d->status;
    cudaStream_t str = (cudaStream_t)sb_cu_stream();
    cudaEvent_t e0, e1;
    if (SB_CU_CHECK(cudaEventCreate(&e0), d) || SB_CU_CHECK(cudaEventCreate(&e1), d))
        return d->status;
    runner r = {.p = p, .nbind = nbind, .binds = binds, .d = d, .launch = p->has_host};
    r.val = sb_xcalloc((size_t)p->nn + 1, sizeof *r.val);
    r.own = sb_xcalloc((size_t)p->nn + 1, sizeof *r.own);
    r.uses = sb_xmalloc(((size_t)p->nn + 1) * sizeof *r.uses);
    memcpy(r.uses, p->uses0, (size_t)p->nn * sizeof *r.uses);
    double *t = sb_xcalloc((size_t)reps + 3, sizeof *t);
    sb_status st = plan_all(&r);
    for (int i = 0; i < reps + 3 && !st; i++) {
        st = SB_CU_CHECK(cudaEventRecord(e0, str), d);
        if (!st && p->has_host) {
            sb_array **res = sb_xcalloc((size_t)p->nout + 1, sizeof *res);
            st = sb_cu_prog_run(p, nbind, binds, res, d);
            for (int k = 0; k < p->nout; k++) sb_array_free(res[k]);
            free(res);
        } else if (!st) {
            st = graph ? launch_graph(p, d) : launch_all(p, d);
        }
        float f = 0;
        if (!st) st = SB_CU_CHECK(cudaEventRecord(e1, str), d);
        if (!st) st = SB_CU_CHECK(cudaEventSynchronize(e1), d);
        if (!st) st = SB_CU_CHECK(cudaEventElapsedTime(&f, e0, e1), d);
        if (i >= 3) t[i - 3] = f;
    }
    if (!st) {
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        *ms = t[reps / 2];
    }
    for (int i = 0; i < p->nn; i++)
        if (r.own[i]) sb_cu_pool_release(r.val[i].p);
    free(t);
    free(r.val);
    free(r.own);
    free(r.uses);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return st;
}

void sb_cu_prog_print(const sb_be_program *p, FILE *f)
{
    static const char *const kn[] = {"leaf", "group", "transpose", "row", "col",
                                     "gemm", "view",  "host",      "fold"};
    for (int i = 0; i < p->nsteps; i++) {
        const step *s = &p->steps[i];
        if (s->k == K_LEAF) continue;
        fprintf(f, "  %-9s %s#%u", kn[s->k], sb_op_get((sb_op)s->n->op)->name, s->n->id);
        if (s->k == K_GROUP) {
            fprintf(f, " [");
            for (int k = 0; k < s->nmember; k++)
                if (s->member[k]) fprintf(f, " %s", sb_op_get((sb_op)s->member[k]->op)->name);
            fprintf(f, " ]");
        }
        if (s->k == K_GEMM && (s->ta || s->tb))
            fprintf(f, " (%s)", s->ta && s->tb ? "op(T) @ op(T)" : s->ta ? "op(T) @" : "@ op(T)");
        fprintf(f, "\n");
    }
}

const sb_cu_group *sb_cu_prog_group(const sb_be_program *p, int i, sb_node *const **leaves)
{
    if (i < 0 || i >= p->nsteps || p->steps[i].k != K_GROUP) return NULL;
    *leaves = p->steps[i].leaf;
    return &p->steps[i].g;
}
