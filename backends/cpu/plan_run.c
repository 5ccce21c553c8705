/* plan_run.c: running a compiled plan (plan.c).
 *
 * Running: leaves are read in place (plan-owned buffer headers over the bindings and
 * constants); an ifelse runs the taken branch's sub-schedule only; fused groups, GEMMs and
 * softmaxes write into pool buffers, and the reference kernels (every other op) get theirs from
 * the pool too (sb_be_tensor_set_alloc). A pool buffer is reused by a later step only when its
 * refcount says no live value or view refers to it; a fused group writes over an input that
 * dies there when that input's buffer holds nothing else (destroy_leaf). */
#include "plan_impl.h"
#include "profile.h"

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
    const sb_array *v;
    sb_status st = sb_be_bound_value(n, nbind, binds, &v, d);
    if (st) return st;
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
bool sb_be_plan_destroy_static(const step *s, const sb_node *L, sb_dtype dt)
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
    if (!sb_be_plan_destroy_static(s, L, dt) || !v->buf || v->buf->refs != 2 || v->dtype != dt ||
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

/* c[0, n) *= beta (float32 or float64), split among the threads by contiguous halves (rows). */
static void par_scale(void *c, sb_dtype dt, int64_t n, double beta, int nthreads)
{
    float bf = (float)beta;
    if (dt == SB_DTYPE_F32) {
        float *x = c;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (n >= (1 << 15) && nthreads > 1)
        for (int64_t i = 0; i < n; i++) x[i] *= bf;
    } else {
        double *x = c;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (n >= (1 << 15) && nthreads > 1)
        for (int64_t i = 0; i < n; i++) x[i] *= beta;
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
    double beta = !s->bias ? 0 : s->full ? s->beta : 1, alpha = s->alpha;
    if (s->alpha_node) { /* a run-time scale (0-d float value) */
        const sb_tensor *a = &p->val[s->alpha_node->id];
        const void *av = sb_be_tensor_ptr(a);
        alpha *= a->dtype == SB_DTYPE_F32 ? (double)*(const float *)av : *(const double *)av;
    }
    void *c = sb_be_tensor_ptr(&C);
    /* A scaled addend (0.9 * v - lr * g): C scaled here, then accumulated onto with beta = 1.
     * ger has no beta; OpenBLAS's sgemm with beta other than 0 or 1 took 304 us where this
     * scaling plus beta = 1 took 237 us ([784, 64]^T x [64, 500], 2 threads). */
    if (s->bias && s->full && beta != 1 && s->blas != BL_GEMV) {
        par_scale(c, dt, sb_be_tensor_numel(&C), beta, p->nthreads);
        beta = 1;
    }
    if (s->blas == BL_GER) {
        sb_be_blas_ger(dt, alpha, A, B, c);
    } else if (s->blas == BL_GEMV && A->ndim == 2) {
        sb_be_blas_gemv(dt, alpha, beta, A, B, false, c);
    } else if (s->blas == BL_GEMV) {
        sb_be_blas_gemv(dt, alpha, beta, B, A, true, c);
    } else {
        sb_be_blas_gemm(dt, alpha, beta, A, B, c);
    }
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
    if (s->kind == ST_GEMM) return sb_be_plan_blas_name[s->blas];
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
    for (int i = lo; i < hi; i = sb_be_plan_step_next(p, i)) {
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
    for (int i = 0; res && i < p->nout; i++) res[i] = sb_array_copy(&p->outarr[i]);
    return SB_OK;
}

const sb_array *sb_be_plan_output(const sb_plan *p, int i)
{
    SB_ASSERT(i >= 0 && i < p->nout);
    return p->have_out ? &p->outarr[i] : NULL;
}
