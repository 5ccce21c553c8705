/* fuse.c: fused elementwise kernels, interpreted over cache-sized blocks.
 *
 * A group (built by the plan from a maximal set of elementwise nodes whose values nobody else
 * reads) becomes a tiny register program: its leaves (values computed elsewhere, or scalar
 * constants) are registers 0..nleaf-1, each member node one instruction writing one more
 * register. Running it walks the flattened output in blocks of SB_FZ_BLOCK elements; a register
 * is one block (leaves that are contiguous and of the output's shape are read in place, scalars
 * are splatted once, row-broadcast values (a bias) are copied in segments, anything else is
 * gathered by strides), every instruction is one tight loop over the block, and the last one
 * writes straight into the output. So memory is read and written once, intermediates stay in
 * L1/L2, and each loop is vectorized: the instruction loops are compiled twice, for x86-64-v4
 * (AVX-512) and the baseline, and picked once by a CPU check. float32 exp/log/tanh/sigmoid use
 * vmath.h (vectorizable, ~1-2 ulp); float64 uses libm. Blocks are shared among OpenMP threads
 * above a size threshold. */
#include "fuse_impl.h"
#include "vmath.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <strings.h>
#include <omp.h>

#define PAR_MIN (1 << 16) /* elements below which a group runs on one thread */

/* ---- membership ---------------------------------------------------------------------------- */
static bool op_supported(sb_op op)
{
    switch (op) {
    case SB_OP_NEG: case SB_OP_ABS: case SB_OP_SIGN: case SB_OP_EXP: case SB_OP_EXPM1:
    case SB_OP_LOG: case SB_OP_LOG1P: case SB_OP_LOG2: case SB_OP_SQRT: case SB_OP_SQR:
    case SB_OP_RECIPROCAL: case SB_OP_SIN: case SB_OP_COS: case SB_OP_TANH: case SB_OP_SIGMOID:
    case SB_OP_SOFTPLUS: case SB_OP_RELU: case SB_OP_ERF: case SB_OP_FLOOR: case SB_OP_CEIL:
    case SB_OP_ROUND: case SB_OP_ADD: case SB_OP_SUB: case SB_OP_MUL: case SB_OP_DIV:
    case SB_OP_POW: case SB_OP_MAXIMUM: case SB_OP_MINIMUM: case SB_OP_CLIP:
        return true;
    default:
        return false;
    }
}

static bool scalar_const(const sb_node *n)
{
    return n->op == SB_OP_CONST && sb_array_numel(n->value) == 1;
}

bool sb_be_fz_fusable(const sb_node *n)
{
    sb_dtype dt = n->type.dtype;
    if (!op_supported((sb_op)n->op) || (dt != SB_DTYPE_F32 && dt != SB_DTYPE_F64)) return false;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]->type.dtype != dt && !scalar_const(n->in[i])) return false;
    return true;
}

/* ---- building the register program ------------------------------------------------------- */
typedef struct builder {
    sb_fz_group *g;
    const int32_t *group;
    int32_t gid;
    sb_ptrvec leaves;
    int ninstr, cap;
    sb_node **done;   /* member nodes already emitted, with their register in reg[] */
    int16_t *reg;
    int ndone;
} builder;

static int16_t leaf_reg(builder *b, sb_node *n)
{
    for (int i = 0; i < b->leaves.n; i++)
        if (b->leaves.v[i] == n) return (int16_t)i;
    sb_ptrvec_push(&b->leaves, n);
    return (int16_t)(b->leaves.n - 1);
}

/* Emit n's instruction after its member inputs' (post-order); registers >= SB_FZ_MAXREG are
 * renumbered once the leaf count is known (instruction k gets nleaf + k). */
static int16_t emit(builder *b, sb_node *n)
{
    if (b->group[n->id] != b->gid) return leaf_reg(b, n);
    for (int i = 0; i < b->ndone; i++)
        if (b->done[i] == n) return b->reg[i];
    int16_t r[3] = {0, 0, 0};
    for (int i = 0; i < n->nin && i < 3; i++) r[i] = emit(b, n->in[i]);
    if (b->ninstr == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 8;
        b->g->instr = sb_xrealloc(b->g->instr, sizeof *b->g->instr * (size_t)b->cap);
        b->done = sb_xrealloc(b->done, sizeof *b->done * (size_t)b->cap);
        b->reg = sb_xrealloc(b->reg, sizeof *b->reg * (size_t)b->cap);
    }
    int16_t me = (int16_t)(SB_FZ_MAXREG + b->ninstr);
    b->g->instr[b->ninstr++] = (sb_fz_instr){n->op, me, r[0], r[1], r[2]};
    b->done[b->ndone] = n;
    b->reg[b->ndone++] = me;
    return me;
}

void sb_be_fz_build(sb_fz_group *g, sb_node *root, const int32_t *group)
{
    memset(g, 0, sizeof *g);
    g->root = root;
    g->dtype = root->type.dtype;
    builder b = {.g = g, .group = group, .gid = group[root->id]};
    emit(&b, root);
    g->ninstr = b.ninstr;
    g->nleaf = b.leaves.n;
    SB_ASSERT(g->nleaf + g->ninstr <= SB_FZ_MAXREG);
    g->leaf = sb_xmalloc(sizeof *g->leaf * (size_t)(g->nleaf > 0 ? g->nleaf : 1));
    memcpy(g->leaf, b.leaves.v, sizeof *g->leaf * (size_t)g->nleaf);
    int16_t shift = (int16_t)(g->nleaf - SB_FZ_MAXREG);
    for (int k = 0; k < g->ninstr; k++) {
        sb_fz_instr *in = &g->instr[k];
        in->dst = (int16_t)(in->dst + shift);
        if (in->a >= SB_FZ_MAXREG) in->a = (int16_t)(in->a + shift);
        if (in->b >= SB_FZ_MAXREG) in->b = (int16_t)(in->b + shift);
        if (in->c >= SB_FZ_MAXREG) in->c = (int16_t)(in->c + shift);
    }
    sb_ptrvec_free(&b.leaves);
    free(b.done);
    free(b.reg);
}

void sb_be_fz_free(sb_fz_group *g)
{
    sb_be_fz_jit_drop(g);
    if (g->jit_handle) dlclose(g->jit_handle);
    free(g->leaf);
    free(g->instr);
    memset(g, 0, sizeof *g);
}

size_t sb_be_fz_scratch(const sb_fz_group *g)
{
    return (size_t)(g->nleaf + g->ninstr) * SB_FZ_BLOCK * sizeof(double);
}

sb_status sb_be_fz_shape(const sb_fz_group *g, const sb_tensor *leaves, int *ndim,
                         int64_t *shape, sb_diag *d)
{
    int nd = 0;
    for (int i = 0; i < g->nleaf; i++) nd = leaves[i].ndim > nd ? leaves[i].ndim : nd;
    for (int k = 0; k < nd; k++) shape[k] = 1;
    for (int i = 0; i < g->nleaf; i++) {
        const sb_tensor *t = &leaves[i];
        for (int k = 0; k < t->ndim; k++) {
            int64_t *s = &shape[nd - t->ndim + k], n = t->shape[k];
            if (n == *s || n == 1) continue;
            if (*s != 1)
                return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                                   "%s: operands could not be broadcast together (%lld vs %lld)",
                                   sb_op_get((sb_op)g->root->op)->name, (long long)*s,
                                   (long long)n);
            *s = n;
        }
    }
    *ndim = nd;
    return SB_OK;
}

/* ---- leaves at run time ----------------------------------------------------------------- */
/* Classify leaf t against the output shape. */
static void leaf_setup(sb_fz_ctx *rc, int i, const sb_tensor *t)
{
    sb_fz_leaf *l = &rc->lf[i];
    if (sb_be_tensor_numel(t) == 1) {
        l->kind = SB_FZ_LEAF_SCALAR;
        l->scalar = sb_be_tensor_get_f64(t, 0);
        return;
    }
    sb_tensor v = sb_be_tensor_bcast(t, rc->ndim, rc->shape);
    l->base = sb_be_tensor_ptr(&v);
    memcpy(l->strides, v.strides, sizeof l->strides);
    if (sb_be_tensor_is_contig(&v)) {
        l->kind = SB_FZ_LEAF_FULL;
        return;
    }
    /* contiguous t whose dims equal the output's trailing dims: repeats with period numel(t) */
    bool periodic = sb_be_tensor_is_contig(t);
    int lead = rc->ndim - t->ndim, k = 0;
    while (k < t->ndim && t->shape[k] == 1) k++;
    for (int j = k; periodic && j < t->ndim; j++) periodic = t->shape[j] == rc->shape[lead + j];
    l->kind = periodic ? SB_FZ_LEAF_PERIODIC : SB_FZ_LEAF_GATHER;
    l->period = sb_be_tensor_numel(t);
    if (periodic) l->base = sb_be_tensor_ptr(t);
}

/* ---- instruction loops ---------------------------------------------------------------------
 * One function per op, dtype and ISA (a single loop each, so that GCC vectorizes every one),
 * generated from one list; tables indexed by op pick them. errno is not set (no-math-errno),
 * which lets sqrt and friends vectorize; no contraction into FMA (fp-contract=off), so that the
 * kernels fusejit.c compiles (the same expressions, the same flag) give the same bits. */
static inline double sig_f64(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

#define FZ_LIST(X)                                                                               \
    X(NEG, -x)                                                                                   \
    X(ABS, ABS_(x))                                                                              \
    X(SIGN, x > 0 ? (T)1 : x < 0 ? (T)-1 : x)                                                    \
    X(EXP, EXP_(x))                                                                              \
    X(EXPM1, expm1(x))                                                                           \
    X(LOG, LOG_(x))                                                                              \
    X(LOG1P, log1p(x))                                                                           \
    X(LOG2, log2(x))                                                                             \
    X(SQRT, SQRT_(x))                                                                            \
    X(SQR, x * x)                                                                                \
    X(RECIPROCAL, (T)1 / x)                                                                      \
    X(SIN, sin(x))                                                                               \
    X(COS, cos(x))                                                                               \
    X(TANH, TANH_(x))                                                                            \
    X(SIGMOID, SIG_(x))                                                                          \
    X(SOFTPLUS, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))                                      \
    X(RELU, x < 0 ? (T)0 : x)                                                                    \
    X(ERF, erf(x))                                                                               \
    X(FLOOR, floor(x))                                                                           \
    X(CEIL, ceil(x))                                                                             \
    X(ROUND, rint(x))                                                                            \
    X(ADD, x + y)                                                                                \
    X(SUB, x - y)                                                                                \
    X(MUL, x * y)                                                                                \
    X(DIV, x / y)                                                                                \
    X(POW, pow(x, y))                                                                            \
    X(MAXIMUM, (x != x || x >= y) ? x : y)                                                       \
    X(MINIMUM, (x != x || x <= y) ? x : y)                                                       \
    X(CLIP, x < y ? y : x > z ? z : x)

typedef void (*fz_fn)(int64_t n, void *o, const void *a, const void *b, const void *c);

#define FZ_BODY(EXPR)                                                                            \
    {                                                                                            \
        T *restrict o = o_;                                                                      \
        const T *restrict a = a_, *restrict b = b_, *restrict c = c_;                           \
        for (int64_t i = 0; i < n; i++) {                                                        \
            T x = a[i], y = b[i], z = c[i];                                                      \
            (void)y;                                                                             \
            (void)z;                                                                             \
            o[i] = (EXPR);                                                                       \
        }                                                                                        \
    }
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
/* No errno (sqrt and friends vectorize), no contraction (the bits of fusejit.c's kernels), no
 * trapping math (selects on float compares if-convert with AVX2 too; values are unchanged). */
#define FZ_OPT "no-math-errno", "fp-contract=off", "no-trapping-math"
#define FZ_DEF(OP, EXPR)                                                                         \
    __attribute__((target("arch=x86-64-v4"), optimize(FZ_OPT)))                                \
    static void                                                                                  \
        CAT(PFX, v4_##OP)(int64_t n, void *o_, const void *a_, const void *b_, const void *c_) \
            FZ_BODY(EXPR)                                                                        \
    __attribute__((target("arch=x86-64-v3"), optimize(FZ_OPT)))                                \
    static void                                                                                  \
        CAT(PFX, v3_##OP)(int64_t n, void *o_, const void *a_, const void *b_, const void *c_) \
            FZ_BODY(EXPR)                                                                        \
    __attribute__((optimize(FZ_OPT))) static void                                              \
        CAT(PFX, _##OP)(int64_t n, void *o_, const void *a_, const void *b_, const void *c_)   \
            FZ_BODY(EXPR)
#define FZ_V4(OP, EXPR) [SB_OP_##OP] = CAT(PFX, v4_##OP),
#define FZ_V3(OP, EXPR) [SB_OP_##OP] = CAT(PFX, v3_##OP),
#define FZ_BASE(OP, EXPR) [SB_OP_##OP] = CAT(PFX, _##OP),

#define T float
#define PFX f32
#define ABS_ fabsf
#define EXP_ sb_vm_expf
#define LOG_ sb_vm_logf
#define SQRT_ sqrtf
#define TANH_ sb_vm_tanhf
#define SIG_ sb_vm_sigmoidf
FZ_LIST(FZ_DEF)
static const fz_fn *const fz_f32[3] = {(const fz_fn[SB_OP_COUNT]){FZ_LIST(FZ_BASE)},
                                        (const fz_fn[SB_OP_COUNT]){FZ_LIST(FZ_V3)},
                                        (const fz_fn[SB_OP_COUNT]){FZ_LIST(FZ_V4)}};
#undef T
#undef PFX
#undef ABS_
#undef EXP_
#undef LOG_
#undef SQRT_
#undef TANH_
#undef SIG_
#define T double
#define PFX f64
#define ABS_ fabs
#define EXP_ exp
#define LOG_ log
#define SQRT_ sqrt
#define TANH_ tanh
#define SIG_ sig_f64
FZ_LIST(FZ_DEF)
static const fz_fn *const fz_f64[3] = {(const fz_fn[SB_OP_COUNT]){FZ_LIST(FZ_BASE)},
                                        (const fz_fn[SB_OP_COUNT]){FZ_LIST(FZ_V3)},
                                        (const fz_fn[SB_OP_COUNT]){FZ_LIST(FZ_V4)}};
#undef T

static int isa_forced = -1;

/* Whether libgomp's idle threads spin before sleeping: OMP_WAIT_POLICY=active, or no policy
 * (libgomp then spins GOMP_SPINCOUNT times, 300000 by default); passive: they sleep at once. */
static bool threads_spin(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *w = getenv("OMP_WAIT_POLICY"), *sc = getenv("GOMP_SPINCOUNT");
        cached = w ? !strcasecmp(w, "active") : !sc || atoll(sc) >= 1000;
    }
    return cached;
}

int64_t sb_be_par_min(int64_t base)
{
    return threads_spin() ? base / 8 : base;
}

int sb_be_fz_isa(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("x86-64-v4")   ? SB_FZ_ISA_V4
                 : __builtin_cpu_supports("x86-64-v3") ? SB_FZ_ISA_V3
                                                       : SB_FZ_ISA_BASE;
    }
    return isa_forced >= 0 && isa_forced < cached ? isa_forced : cached;
}

void sb_be_fz_isa_set(int isa)
{
    isa_forced = isa;
}

/* ---- one block ------------------------------------------------------------------------------ */
/* Fill register r (es-byte elements) with leaf l's values at flat positions [start, start+n). */
static const void *leaf_block(const sb_fz_ctx *rc, const sb_fz_leaf *l, int64_t start, int64_t n,
                              char *r, size_t es)
{
    if (l->kind == SB_FZ_LEAF_FULL) return l->base + (size_t)start * es;
    if (l->kind == SB_FZ_LEAF_SCALAR) return r; /* splatted once per thread */
    if (l->kind == SB_FZ_LEAF_PERIODIC) {
        int64_t off = start % l->period, done = 0;
        while (done < n) {
            int64_t k = l->period - off < n - done ? l->period - off : n - done;
            memcpy(r + (size_t)done * es, l->base + (size_t)off * es, (size_t)k * es);
            done += k;
            off = 0;
        }
        return r;
    }
    int64_t idx[SB_MAX_DIMS], rem = start;
    for (int k = rc->ndim - 1; k >= 0; k--) {
        idx[k] = rem % rc->shape[k];
        rem /= rc->shape[k];
    }
    for (int64_t j = 0; j < n; j++) {
        int64_t off = 0;
        for (int k = 0; k < rc->ndim; k++) off += idx[k] * l->strides[k];
        memcpy(r + (size_t)j * es, l->base + off * (int64_t)es, es);
        for (int k = rc->ndim - 1; k >= 0 && ++idx[k] == rc->shape[k]; k--) idx[k] = 0;
    }
    return r;
}

/* Copy a block to the output with non-temporal stores (no read-for-ownership of the output's
 * lines); dst is 64-byte aligned, bytes a multiple of 64 except in the last block. */
__attribute__((target("arch=x86-64-v4"))) static void stream_copy(char *dst, const char *src,
                                                                   size_t bytes)
{
    size_t k = 0;
    for (; k + 64 <= bytes; k += 64)
        __builtin_ia32_movntps512((float *)(dst + k), *(const __attribute__((vector_size(64), aligned(1))) float *)(src + k));
    memcpy(dst + k, src + k, bytes - k);
}

const void *sb_be_fz_block(const sb_fz_ctx *rc, char *regs, int64_t start, int64_t n, int isa)
{
    const sb_fz_group *g = rc->g;
    size_t es = sb_dtype_size(g->dtype), rb = SB_FZ_BLOCK * es;
    if (rc->blk) { /* compiled: the same bits in one loop */
        float *o = rc->out ? (float *)(rc->out + (size_t)start * es) : (float *)regs;
        rc->blk(start, n, rc->jin, rc->jsc, o);
        return o;
    }
    const void *R[SB_FZ_MAXREG];
    for (int i = 0; i < g->nleaf; i++) R[i] = leaf_block(rc, &rc->lf[i], start, n, regs + i * rb, es);
    int64_t ahead = start + 2 * SB_FZ_BLOCK; /* prefetch the block after next: inputs, output */
    if (ahead < rc->n) {
        size_t span = (size_t)(rc->n - ahead < SB_FZ_BLOCK ? rc->n - ahead : SB_FZ_BLOCK) * es;
        for (int i = 0; i < g->nleaf; i++)
            if (rc->lf[i].kind == SB_FZ_LEAF_FULL)
                for (size_t off = 0; off < span; off += 64)
                    __builtin_prefetch(rc->lf[i].base + (size_t)ahead * es + off, 0, 3);
        for (size_t off = 0; rc->out && off < span; off += 64)
            __builtin_prefetch(rc->out + (size_t)ahead * es + off, 1, 3);
    }
    if (g->ninstr == 0) { /* a single value (a reduction's input read as is) */
        if (rc->out) memcpy(rc->out + (size_t)start * es, R[0], (size_t)n * es);
        return rc->out ? rc->out + (size_t)start * es : R[0];
    }
    for (int k = 0; k < g->ninstr; k++) {
        const sb_fz_instr *in = &g->instr[k];
        bool last = k == g->ninstr - 1, stream = last && rc->stream;
        void *o = last && !stream && rc->out ? rc->out + (size_t)start * es
                                             : regs + (size_t)in->dst * rb;
        int ar = sb_op_get((sb_op)in->op)->arity;
        const void *a = R[in->a], *b = ar > 1 ? R[in->b] : a, *c = ar > 2 ? R[in->c] : a;
        const fz_fn *tab = (g->dtype == SB_DTYPE_F32 ? fz_f32 : fz_f64)[isa];
        tab[in->op](n, o, a, b, c);
        R[in->dst] = o;
        if (stream) stream_copy(rc->out + (size_t)start * es, o, (size_t)n * es);
    }
    return rc->out ? rc->out + (size_t)start * es : R[g->instr[g->ninstr - 1].dst];
}

void sb_be_fz_splat(const sb_fz_ctx *rc, char *regs)
{
    const sb_fz_group *g = rc->g;
    for (int i = 0; i < g->nleaf; i++) {
        if (rc->lf[i].kind != SB_FZ_LEAF_SCALAR) continue;
        if (g->dtype == SB_DTYPE_F32) {
            float *r = (float *)(regs + (size_t)i * SB_FZ_BLOCK * 4);
            for (int j = 0; j < SB_FZ_BLOCK; j++) r[j] = (float)rc->lf[i].scalar;
        } else {
            double *r = (double *)(regs + (size_t)i * SB_FZ_BLOCK * 8);
            for (int j = 0; j < SB_FZ_BLOCK; j++) r[j] = rc->lf[i].scalar;
        }
    }
}

/* Blocks [b0, b1) on one thread. */
static void run_range(const sb_fz_ctx *rc, char *regs, int64_t b0, int64_t b1)
{
    int isa = sb_be_fz_isa();
    sb_be_fz_splat(rc, regs);
    for (int64_t bl = b0; bl < b1; bl++) {
        int64_t start = bl * SB_FZ_BLOCK, n = rc->n - start;
        sb_be_fz_block(rc, regs, start, n < SB_FZ_BLOCK ? n : SB_FZ_BLOCK, isa);
    }
    if (rc->stream) __builtin_ia32_sfence(); /* order the streamed stores before the caller reads */
}

/* Whether the compiled kernel can run on these leaves: scalar constants, and contiguous values
 * of the output's shape (a broadcast bias or a strided view leaves the group interpreted). */
static bool jit_fits(const sb_fz_ctx *rc)
{
    const sb_fz_group *g = rc->g;
    for (int k = 0; k < g->nleaf; k++) {
        bool konst = g->leaf[k]->op == SB_OP_CONST && sb_array_numel(g->leaf[k]->value) == 1;
        if (konst != (rc->lf[k].kind == SB_FZ_LEAF_SCALAR)) return false;
        if (!konst && rc->lf[k].kind != SB_FZ_LEAF_FULL) return false;
    }
    return true;
}

static void run_jit(const sb_fz_ctx *rc, sb_fz_jit_fn fn)
{
    const sb_fz_group *g = rc->g;
    const float *in[SB_FZ_MAXREG];
    float sc[SB_FZ_MAXREG];
    for (int k = 0; k < g->nleaf; k++) {
        in[k] = (const float *)rc->lf[k].base;
        sc[k] = (float)rc->lf[k].scalar;
    }
    fn(rc->n, in, sc, (float *)rc->out);
}

void sb_be_fz_ctx_init(sb_fz_ctx *rc, const sb_fz_group *g, const sb_tensor *leaves, int ndim,
                       const int64_t *shape)
{
    memset(rc, 0, sizeof *rc);
    rc->g = g;
    rc->ndim = ndim;
    rc->n = 1;
    for (int k = 0; k < ndim; k++) rc->n *= shape[k];
    memcpy(rc->shape, shape, sizeof(int64_t) * (size_t)ndim);
    for (int i = 0; i < g->nleaf; i++) leaf_setup(rc, i, &leaves[i]);
    rc->fits = jit_fits(rc);
    sb_be_fz_ctx_jit(rc);
}

void sb_be_fz_ctx_jit(sb_fz_ctx *rc)
{
    const sb_fz_group *g = rc->g;
    if (!g->jit_blk || !rc->fits || rc->blk) return;
    for (int k = 0; k < g->nleaf; k++) {
        rc->jin[k] = (const float *)rc->lf[k].base;
        rc->jsc[k] = (float)rc->lf[k].scalar;
    }
    rc->blk = g->jit_blk;
}

void sb_be_fz_run(const sb_fz_group *g, const sb_tensor *leaves, sb_tensor *out, void *scratch,
                  int nthreads)
{
    sb_fz_ctx rc;
    sb_be_fz_ctx_init(&rc, g, leaves, out->ndim, out->shape);
    rc.out = sb_be_tensor_ptr(out);
    /* only runs the compiled kernel could take count towards compiling one */
    sb_fz_jit_fn fn = rc.fits ? sb_be_fz_jit_poll(g, rc.n) : NULL;
    if (fn) {
        run_jit(&rc, fn);
        return;
    }
    int64_t nblk = (rc.n + SB_FZ_BLOCK - 1) / SB_FZ_BLOCK;
    size_t per = sb_be_fz_scratch(g);
    rc.stream = sb_be_fz_isa() == SB_FZ_ISA_V4 && rc.n * (int64_t)sb_dtype_size(g->dtype) >= (8 << 20) &&
                ((uintptr_t)rc.out & 63) == 0;
    if (rc.n < sb_be_par_min(PAR_MIN) || nthreads <= 1) {
        run_range(&rc, scratch, 0, nblk);
        return;
    }
#pragma omp parallel num_threads(nthreads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t b0 = nblk * t / nt, b1 = nblk * (t + 1) / nt;
        run_range(&rc, (char *)scratch + (size_t)t * per, b0, b1);
    }
}

/* ---- row softmax / log_softmax ------------------------------------------------------------
 * Per row: the max (16 lanes in a GCC vector type: compare and blend, which GCC 12 does not
 * vectorize from lane arrays), a shift of 0 when it is infinite (as the reference kernel),
 * the sum of exp(x - m) in 16 float lanes, then y = e / s, or y = (x - m) - log(s) for
 * log_softmax (which does not store e, so that y may be x). The last n % 16 elements are one
 * vector padded with -inf (exp gives 0), and the 16 lanes are folded by a butterfly (lane k
 * with k ^ 8, ^ 4, ^ 2, ^ 1): a row of 10 classes costs a few vector operations, not ten
 * scalar exps and 32 dependent scalar steps (1024 x 10, one thread: 56 us before, 34 us).
 * NaN elements are skipped by the max (as `x > m ? x : m`) and make the row's sum NaN. */
/* The baseline clone passes 64-byte vectors between inlined helpers: no ABI is exposed. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float sm_vf __attribute__((vector_size(64)));
typedef int32_t sm_vi __attribute__((vector_size(64)));

#define SM_MAXV(a, b) ((sm_vf)(((sm_vi)((b) > (a)) & (sm_vi)(b)) | (~(sm_vi)((b) > (a)) & (sm_vi)(a))))

static inline __attribute__((always_inline)) float sm_hmax(sm_vf v)
{
    return SB_V16_FOLD(v, SM_MAXV);
}

static inline __attribute__((always_inline)) float sm_hsum(sm_vf v)
{
    return SB_V16_FOLD(v, SB_V16_ADD);
}

/* x[j, n) as a vector, lanes past n - j set to -inf. wide: 16 floats from x + j may be read
 * (the caller's rows go on past this one), so one load and a blend; else lane by lane. */
static inline __attribute__((always_inline)) sm_vf sm_tail(int64_t j, int64_t n, const float *x,
                                                          bool wide)
{
    sm_vf v;
    if (wide) {
        const sm_vi lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        sm_vf ninf;
        for (int k = 0; k < 16; k++) ninf[k] = -INFINITY;
        memcpy(&v, x + j, sizeof v);
        sm_vi keep = lane < (int32_t)(n - j);
        return (sm_vf)((keep & (sm_vi)v) | (~keep & (sm_vi)ninf));
    }
    float b[16];
    for (int k = 0; k < 16; k++) b[k] = -INFINITY;
    for (int64_t k = 0; k < n - j; k++) b[k] = x[j + k];
    memcpy(&v, b, sizeof v);
    return v;
}

/* y[j, n) = the first n - j lanes of v (wide: as sm_tail, a blend with what y holds there). */
static inline __attribute__((always_inline)) void sm_tail_store(int64_t j, int64_t n, float *y,
                                                                sm_vf v, bool wide)
{
    if (wide) {
        const sm_vi lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        sm_vf old;
        memcpy(&old, y + j, sizeof old);
        sm_vi keep = lane < (int32_t)(n - j);
        v = (sm_vf)((keep & (sm_vi)v) | (~keep & (sm_vi)old));
        memcpy(y + j, &v, sizeof v);
        return;
    }
    for (int64_t k = 0; k < n - j; k++) y[j + k] = v[k];
}

static inline __attribute__((always_inline)) float row_max_f32(int64_t n, const float *x, bool wide)
{
    sm_vf mv;
    for (int k = 0; k < 16; k++) mv[k] = -INFINITY;
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        sm_vf v;
        memcpy(&v, x + j, sizeof v);
        mv = SM_MAXV(mv, v);
    }
    if (j < n) mv = SM_MAXV(mv, sm_tail(j, n, x, wide));
    float m = sm_hmax(mv);
    return isinf(m) ? 0.0f : m;
}

/* One row; wide: 16 floats past the row's last whole vector may be read and written back
 * (the caller's chunk goes on: see SM_ROWS). */
static inline __attribute__((always_inline)) void softmax_row_f32(int64_t n, const float *x,
                                                                  float *y, bool lg, bool wide)
{
    float m = row_max_f32(n, x, wide);
    sm_vf sv = {0};
    int64_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) {
            float e = sb_vm_expf(x[j + k] - m);
            if (!lg) y[j + k] = e;
            sv[k] += e;
        }
    sm_vf t = {0}, e = {0};
    if (j < n) {
        t = sm_tail(j, n, x, wide);
        for (int k = 0; k < 16; k++) e[k] = sb_vm_expf(t[k] - m);
        sv += e;
    }
    float s = sm_hsum(sv);
    int64_t jt = j;
    if (lg) {
        float ls = sb_vm_logf(s);
        for (j = 0; j < jt; j++) y[j] = (x[j] - m) - ls;
        if (jt < n) sm_tail_store(jt, n, y, (t - m) - ls, wide);
    } else {
        float inv = 1.0f / s;
        for (j = 0; j < jt; j++) y[j] *= inv;
        if (jt < n) sm_tail_store(jt, n, y, e * inv, wide);
    }
}

/* Rows of a chunk in order: a row's tail vector may reach into the next rows of the chunk
 * (read, or written back unchanged), never past the chunk (the last rows go lane by lane). */
#define SM_ROWS(NAME, ATTRS)                                                                     \
    ATTRS static void NAME(int64_t rows, int64_t n, const float *x, float *y, bool lg)        \
    {                                                                                            \
        int64_t jt = n - n % 16;                                                                 \
        for (int64_t r = 0; r < rows; r++) {                                                     \
            bool wide = r * n + jt + 16 <= rows * n;                                             \
            if (lg && wide) softmax_row_f32(n, x + r * n, y + r * n, true, true);                \
            else if (lg) softmax_row_f32(n, x + r * n, y + r * n, true, false);                  \
            else if (wide) softmax_row_f32(n, x + r * n, y + r * n, false, true);                \
            else softmax_row_f32(n, x + r * n, y + r * n, false, false);                         \
        }                                                                                        \
    }
SM_ROWS(softmax_rows_f32_v4, __attribute__((target("arch=x86-64-v4"))))
SM_ROWS(softmax_rows_f32_v3, __attribute__((target("arch=x86-64-v3"), optimize("no-trapping-math"))))
SM_ROWS(softmax_rows_f32_base, )

static void softmax_rows_f64(int64_t rows, int64_t n, const double *x, double *y, bool lg)
{
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        double *yr = y + r * n, m = -INFINITY, s = 0;
        for (int64_t j = 0; j < n; j++) m = xr[j] > m ? xr[j] : m;
        m = isinf(m) ? 0 : m;
        for (int64_t j = 0; j < n; j++) {
            double e = exp(xr[j] - m);
            if (!lg) yr[j] = e;
            s += e;
        }
        double ls = log(s);
        for (int64_t j = 0; j < n; j++) yr[j] = lg ? (xr[j] - m) - ls : yr[j] / s;
    }
}

void sb_be_fz_softmax_chunk(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y,
                            bool lg, int isa)
{
    if (dt == SB_DTYPE_F32)
        (isa == SB_FZ_ISA_V4   ? softmax_rows_f32_v4
         : isa == SB_FZ_ISA_V3 ? softmax_rows_f32_v3
                               : softmax_rows_f32_base)(rows, n, x, y, lg);
    else
        softmax_rows_f64(rows, n, x, y, lg);
}

/* Rows split among threads (above PAR_MIN elements). */
static void softmax_par(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y, bool lg)
{
    int isa = sb_be_fz_isa();
    bool par = rows * n >= sb_be_par_min(PAR_MIN) && rows > 1;
    size_t row = (size_t)n * sb_dtype_size(dt);
#pragma omp parallel if (par)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        sb_be_fz_softmax_chunk(dt, r1 - r0, n, (const char *)x + (size_t)r0 * row,
                               (char *)y + (size_t)r0 * row, lg, isa);
    }
}

void sb_be_fz_softmax_rows(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y)
{
    softmax_par(dt, rows, n, x, y, false);
}

void sb_be_fz_log_softmax_rows(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y)
{
    softmax_par(dt, rows, n, x, y, true);
}
