/* fuse_reduce.c: reductions fused with their elementwise input (see plan.h).
 *
 * sum / mean / prod / max / min (and logsumexp over trailing axes) of a float value that a
 * fused group computes are evaluated in the same pass as the group: fuse.c's interpreter
 * produces one block of SB_FZ_BLOCK values in a register (L1), and the block is reduced at
 * once, so the group's result never goes to memory. A reduction of a value computed elsewhere
 * (an input, a GEMM) is the same with a group of no instruction (the value read in place, or
 * gathered through its strides when it is a view).
 *
 * Shapes: the reduced dims must be trailing ("rows": the value seen as [R, n], one result per
 * row; all dims is R = 1) or leading ("columns": [M, N] -> N results, e.g. a bias gradient
 * sum(d, axis=0)). Other axis sets keep the reference kernel.
 *
 * Determinism: the work is cut into tasks from the sizes only. Rows of up to TASK elements are
 * grouped, TASK / n rows per task, each row reduced inside one task; longer rows are cut into
 * TASK-element pieces whose partial results are combined in order. Columns are cut into at
 * most MAX_CHUNKS chunks of rows, each accumulating a partial row of N results, combined in
 * chunk order. Threads only pick which tasks they run, so the result is the same bits for any
 * number of threads.
 *
 * A group's blocks come from fusejit.c's compiled block function once the JIT policy has
 * compiled it (the same bits as the interpreter, so the policy never changes a result).
 *
 * Row softmax (last axis) absorbs its input group the same way (end of the file): tasks of
 * rows evaluate the group into the output, then normalize those rows while they are in cache.
 *
 * Accuracy: sums accumulate in float64; a segment of at most SB_FZ_BLOCK values is first
 * summed in 16 lanes of the value's dtype (float32 lanes then hold at most 16 values each,
 * which keeps the error near float32's rounding of the result). Products accumulate in
 * float64 lanes. max / min propagate NaN as NumPy does. logsumexp keeps a running maximum m
 * and the sum s of exp(x - m) (rescaled when m grows), shifting by 0 when m is infinite, as
 * the reference kernel does; float32 uses vmath.h's vectorized exp. */
#include "fuse_impl.h"
#include "vmath.h"

#include <omp.h>

#define TASK (1 << 15)     /* elements per task */
#define MAX_CHUNKS 16      /* column chunks */
#define PAR_MIN (1 << 16)  /* elements below which one thread runs everything */

enum { R_SUM, R_PROD, R_MAX, R_MIN, R_LSE, R_COUNT };

typedef struct racc {
    double s;  /* sum / product / extremum; logsumexp: sum of exp(x - shift(m)) */
    double m;  /* logsumexp: running maximum */
} racc;

/* ---- which reductions ------------------------------------------------------------------------ */
static int red_kind(sb_op op)
{
    switch (op) {
    case SB_OP_SUM: case SB_OP_MEAN: return R_SUM;
    case SB_OP_PROD: return R_PROD;
    case SB_OP_MAX: return R_MAX;
    case SB_OP_MIN: return R_MIN;
    case SB_OP_LOGSUMEXP: return R_LSE;
    default: return -1;
    }
}

/* The reduced dims of n as a pattern: rows (dims [lead, nd) reduced) or columns (dims
 * [0, lead) reduced); false for any other set. */
static bool axes_pattern(const sb_node *n, int *lead, bool *cols)
{
    int nd = n->in[0]->type.ndim;
    bool red[SB_MAX_DIMS] = {0};
    const sb_attrs *a = n->attrs;
    if (nd < 0 || !a) return false;
    for (int i = 0; i < nd; i++) red[i] = a->naxis < 0;
    for (int k = 0; k < a->naxis; k++) {
        int ax = sb_axis_norm(a->axis[k], nd);
        if (ax < 0) return false;
        red[ax] = true;
    }
    int k = nd, j = 0;
    while (k > 0 && red[k - 1]) k--;
    bool tail = true;
    for (int i = 0; i < k; i++) tail &= !red[i];
    if (tail) {
        *lead = k;
        *cols = false;
        return true;
    }
    while (j < nd && red[j]) j++;
    for (int i = j; i < nd; i++)
        if (red[i]) return false;
    *lead = j;
    *cols = true;
    return true;
}

bool sb_be_fz_absorb_on(void)
{
    const char *off = getenv("SB_FUSED_REDUCE");
    return !off || strcmp(off, "0") != 0;
}

bool sb_be_fz_reducible(const sb_node *n)
{
    int kind = red_kind((sb_op)n->op), lead;
    bool cols;
    sb_dtype dt = n->type.dtype;
    if (!sb_be_fz_absorb_on()) return false;
    if (kind < 0 || n->nin != 1 || (dt != SB_DTYPE_F32 && dt != SB_DTYPE_F64)) return false;
    if (n->in[0]->type.dtype != dt || !axes_pattern(n, &lead, &cols)) return false;
    return !(cols && kind == R_LSE);
}

void sb_be_fz_reduce_build(sb_fz_reduce *r, sb_node *n, bool absorb, const int32_t *group)
{
    memset(r, 0, sizeof *r);
    r->node = n;
    r->ndim = n->in[0]->type.ndim;
    axes_pattern(n, &r->lead, &r->cols);
    if (absorb) {
        sb_be_fz_build(&r->g, n->in[0], group);
    } else { /* the value itself: one leaf, no instruction */
        r->g.root = n->in[0];
        r->g.dtype = n->type.dtype;
        r->g.nleaf = 1;
        r->g.leaf = sb_xmalloc(sizeof *r->g.leaf);
        r->g.leaf[0] = n->in[0];
    }
    /* a group's blocks may be compiled (fusejit.c's block function: the same bits) */
    r->g.jit_seen = r->g.ninstr > 0 ? 0 : -1;
    if (r->g.ninstr > 0 && sb_be_fz_jit_on()) sb_be_fz_jit(&r->g);
}

void sb_be_fz_reduce_free(sb_fz_reduce *r)
{
    sb_be_fz_free(&r->g);
    memset(r, 0, sizeof *r);
}

/* The input's run-time shape (the group's broadcast shape, left-padded to the static rank). */
static sb_status in_shape(const sb_fz_reduce *r, const sb_tensor *leaves, int64_t *shape,
                          sb_diag *d)
{
    int nd;
    int64_t s[SB_MAX_DIMS];
    sb_status st = sb_be_fz_shape(&r->g, leaves, &nd, s, d);
    if (st) return st;
    SB_ASSERT(nd <= r->ndim);
    for (int i = 0; i < r->ndim; i++) shape[i] = i < r->ndim - nd ? 1 : s[i - (r->ndim - nd)];
    return SB_OK;
}

static bool is_reduced(const sb_fz_reduce *r, int i)
{
    return r->cols ? i < r->lead : i >= r->lead;
}

sb_status sb_be_fz_reduce_shape(const sb_fz_reduce *r, const sb_tensor *leaves, int *ndim,
                                int64_t *shape, sb_diag *d)
{
    int64_t in[SB_MAX_DIMS], count = 1;
    sb_status st = in_shape(r, leaves, in, d);
    if (st) return st;
    int nd = 0;
    for (int i = 0; i < r->ndim; i++) {
        if (!is_reduced(r, i)) shape[nd++] = in[i];
        else if (r->node->attrs->keepdims) shape[nd++] = 1;
        if (is_reduced(r, i)) count *= in[i];
    }
    *ndim = nd;
    sb_op op = (sb_op)r->node->op;
    if (count == 0 && (op == SB_OP_MAX || op == SB_OP_MIN))
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                           "zero-size array to reduction operation %s which has no identity",
                           op == SB_OP_MAX ? "maximum" : "minimum");
    return SB_OK;
}

/* ---- segment kernels ----------------------------------------------------------------------
 * seg: fold n values (a run inside one row) into a row's state; col: fold n values (a run
 * inside one row of [M, N]) into n column accumulators. One function per kind, dtype and ISA
 * (an AVX-512 clone and the baseline), each a plain loop over lanes so that GCC vectorizes
 * it without reassociation flags. */
typedef void (*seg_fn)(const void *v, int64_t n, racc *st);
typedef void (*col_fn)(const void *v, int64_t n, double *acc);

static inline double max_nan(double a, double b)
{
    return (a != a || a >= b) ? a : b;
}
static inline double min_nan(double a, double b)
{
    return (a != a || a <= b) ? a : b;
}
static inline double shift_of(double m)
{
    return isfinite(m) ? m : 0;
}

#define LANES 16
/* max / min of a segment in GCC vector types (compare and blend: GCC 12 does not vectorize the
 * select in lane arrays), and c turns NaN when a value is NaN or infinite; then (rarely) a
 * scalar pass gives NaN-propagating results. */
#define SEG_EXTREMUM(T, VT, VI, CMP, PICK)                                                       \
    {                                                                                            \
        VT l, c = {0};                                                                           \
        for (int k = 0; k < LANES; k++) l[k] = 0 CMP 1 ? INFINITY : -INFINITY;                   \
        int64_t j = 0;                                                                           \
        for (; j + LANES <= n; j += LANES) {                                                     \
            VT v;                                                                                \
            memcpy(&v, x + j, sizeof v);                                                         \
            VI m = (VI)(v CMP l);                                                                \
            l = (VT)((m & (VI)v) | (~m & (VI)l));                                                \
            c += v - v;                                                                          \
        }                                                                                        \
        double s = st->s, bad = 0;                                                               \
        for (int k = 0; k < LANES; k++) s = PICK(s, l[k]), bad += c[k];                          \
        for (; j < n; j++) s = PICK(s, x[j]);                                                    \
        for (j = 0; bad != bad && j < n; j++) s = PICK(s, x[j]);                                 \
        st->s = s;                                                                               \
    }
typedef float vf32 __attribute__((vector_size(LANES * 4)));
typedef int32_t vi32 __attribute__((vector_size(LANES * 4)));
typedef double vf64 __attribute__((vector_size(LANES * 8)));
typedef int64_t vi64 __attribute__((vector_size(LANES * 8)));
#define SEG_BODIES(T, EXP, VT, VI)                                                                     \
    SEG_FN(sum, T, {                                                                             \
        T l[LANES] = {0};                                                                        \
        int64_t j = 0;                                                                           \
        for (; j + LANES <= n; j += LANES)                                                       \
            for (int k = 0; k < LANES; k++) l[k] += x[j + k];                                    \
        double s = 0;                                                                            \
        for (int k = 0; k < LANES; k++) s += l[k];                                               \
        for (; j < n; j++) s += x[j];                                                            \
        st->s += s;                                                                              \
    })                                                                                           \
    SEG_FN(prod, T, {                                                                            \
        double l[LANES];                                                                         \
        for (int k = 0; k < LANES; k++) l[k] = 1;                                                \
        int64_t j = 0;                                                                           \
        for (; j + LANES <= n; j += LANES)                                                       \
            for (int k = 0; k < LANES; k++) l[k] *= x[j + k];                                    \
        double s = st->s;                                                                        \
        for (int k = 0; k < LANES; k++) s *= l[k];                                               \
        for (; j < n; j++) s *= x[j];                                                            \
        st->s = s;                                                                               \
    })                                                                                           \
    SEG_FN(max, T, SEG_EXTREMUM(T, VT, VI, >, max_nan))                                                     \
    SEG_FN(min, T, SEG_EXTREMUM(T, VT, VI, <, min_nan))                                                     \
    SEG_FN(lse, T, {                                                                             \
        racc mx = {-INFINITY, 0};                                                                \
        CAT(PFX, max)(x, n, &mx);                                                                \
        double nm = max_nan(st->m, mx.s), nsh = shift_of(nm);                                    \
        double s = st->s == 0 ? 0 : st->s * exp(shift_of(st->m) - nsh);                          \
        T sh = (T)nsh, l[LANES] = {0};                                                           \
        int64_t j = 0;                                                                           \
        for (; j + LANES <= n; j += LANES)                                                       \
            for (int k = 0; k < LANES; k++) l[k] += EXP(x[j + k] - sh);                          \
        for (int k = 0; k < LANES; k++) s += l[k];                                               \
        for (; j < n; j++) s += EXP(x[j] - sh);                                                  \
        st->m = nm;                                                                              \
        st->s = s;                                                                               \
    })                                                                                           \
    COL_FN(sum, T, acc[j] += x[j])                                                               \
    COL_FN(prod, T, acc[j] *= x[j])                                                              \
    COL_FN(max, T, acc[j] = (x[j] > acc[j] || x[j] != x[j]) ? (double)x[j] : acc[j])             \
    COL_FN(min, T, acc[j] = (x[j] < acc[j] || x[j] != x[j]) ? (double)x[j] : acc[j])

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SEG_FN(NAME, T, ...)                                                                     \
    ATTR static void CAT(PFX, NAME)(const void *v_, int64_t n, racc *st)                         \
    {                                                                                            \
        const T *restrict x = v_;                                                                \
        __VA_ARGS__                                                                              \
    }
#define COL_FN(NAME, T, STMT)                                                                    \
    ATTR static void CAT(PFX, col_##NAME)(const void *v_, int64_t n, double *restrict acc)       \
    {                                                                                            \
        const T *restrict x = v_;                                                                \
        for (int64_t j = 0; j < n; j++) STMT;                                                    \
    }
#define TABLES(NAME)                                                                             \
    static const seg_fn CAT(NAME, _seg)[R_COUNT] = {CAT(PFX, sum), CAT(PFX, prod),             \
                                                     CAT(PFX, max), CAT(PFX, min), CAT(PFX, lse)}; \
    static const col_fn CAT(NAME, _col)[R_COUNT] = {CAT(PFX, col_sum), CAT(PFX, col_prod),     \
                                                     CAT(PFX, col_max), CAT(PFX, col_min), NULL};

#define ATTR __attribute__((target("arch=x86-64-v4"), optimize("no-math-errno", "no-trapping-math")))
#define PFX f32v4_
SEG_BODIES(float, sb_vm_expf, vf32, vi32)
TABLES(f32v4)
#undef PFX
#define PFX f64v4_
SEG_BODIES(double, exp, vf64, vi64)
TABLES(f64v4)
#undef PFX
#undef ATTR
#define ATTR __attribute__((target("arch=x86-64-v3"), optimize("no-math-errno", "no-trapping-math")))
#define PFX f32v3_
SEG_BODIES(float, sb_vm_expf, vf32, vi32)
TABLES(f32v3)
#undef PFX
#define PFX f64v3_
SEG_BODIES(double, exp, vf64, vi64)
TABLES(f64v3)
#undef PFX
#undef ATTR
#define ATTR __attribute__((optimize("no-math-errno", "no-trapping-math")))
#define PFX f32b_
SEG_BODIES(float, sb_vm_expf, vf32, vi32)
TABLES(f32b)
#undef PFX
#define PFX f64b_
SEG_BODIES(double, exp, vf64, vi64)
TABLES(f64b)
#undef PFX
#undef ATTR

/* ---- states ------------------------------------------------------------------------------- */
static racc acc_init(int kind)
{
    racc a = {0, -INFINITY};
    a.s = kind == R_PROD ? 1 : kind == R_MAX ? -INFINITY : kind == R_MIN ? INFINITY : 0;
    return a;
}

/* a then b (pieces of one row, in order). */
static racc acc_combine(int kind, racc a, racc b)
{
    switch (kind) {
    case R_SUM: a.s += b.s; return a;
    case R_PROD: a.s *= b.s; return a;
    case R_MAX: a.s = max_nan(a.s, b.s); return a;
    case R_MIN: a.s = min_nan(a.s, b.s); return a;
    default: {
        double nm = max_nan(a.m, b.m), nsh = shift_of(nm);
        double s = a.s == 0 ? 0 : a.s * exp(shift_of(a.m) - nsh);
        s += b.s == 0 ? 0 : b.s * exp(shift_of(b.m) - nsh);
        return (racc){s, nm};
    }
    }
}

/* ---- one reduction's run ------------------------------------------------------------------- */
typedef struct rjob {
    sb_fz_ctx fc;
    int kind;
    bool mean;
    sb_dtype dt;
    size_t es;
    void *out;
    int64_t outer, inner;  /* rows: R, n; columns: M, N */
    int64_t count;         /* values per result */
    seg_fn seg;
    col_fn col;
    char *scratch;
    size_t per;            /* scratch bytes per thread */
    int64_t ntask, per_task; /* rows: rows per task (whole rows) or pieces per row (split) */
    bool split;
    racc *part;            /* split rows: one state per piece */
    double *cpart;         /* columns: MAX_CHUNKS partial rows of N */
} rjob;

static double finish_val(const rjob *j, racc a)
{
    if (j->kind == R_LSE) return log(a.s) + shift_of(a.m);
    return j->mean ? a.s / (double)j->count : a.s;
}

static void put(const rjob *j, int64_t i, double v)
{
    if (j->dt == SB_DTYPE_F32) ((float *)j->out)[i] = (float)v;
    else ((double *)j->out)[i] = v;
}

/* Fold flat positions [a, b) of rows of length n into *st (row `row` starts at row * n); a
 * row that ends inside is written out (unless pieces are split) and the state restarts. */
static void walk_rows(const rjob *j, char *regs, int64_t a, int64_t b, int64_t row, racc *st,
                      int isa)
{
    int64_t n = j->inner, o = a - row * n;
    for (int64_t s = a; s < b; s += SB_FZ_BLOCK) {
        int64_t len = b - s < SB_FZ_BLOCK ? b - s : SB_FZ_BLOCK;
        const char *v = sb_be_fz_block(&j->fc, regs, s, len, isa);
        while (len > 0) {
            int64_t k = n - o < len ? n - o : len;
            j->seg(v, k, st);
            v += (size_t)k * j->es;
            len -= k;
            o += k;
            if (o == n && !j->split) {
                put(j, row++, finish_val(j, *st));
                *st = acc_init(j->kind);
                o = 0;
            }
        }
    }
}

/* Fold rows [r0, r1) of [M, N] into the partial row acc[0..N). */
static void walk_cols(const rjob *j, char *regs, int64_t r0, int64_t r1, double *acc, int isa)
{
    int64_t N = j->inner, a = r0 * N, b = r1 * N, o = 0;
    for (int64_t s = a; s < b; s += SB_FZ_BLOCK) {
        int64_t len = b - s < SB_FZ_BLOCK ? b - s : SB_FZ_BLOCK;
        const char *v = sb_be_fz_block(&j->fc, regs, s, len, isa);
        while (len > 0) {
            int64_t k = N - o < len ? N - o : len;
            j->col(v, k, acc + o);
            v += (size_t)k * j->es;
            len -= k;
            o = o + k == N ? 0 : o + k;
        }
    }
}

/* Task t (of either kind) on this thread's registers. */
static void run_task(const rjob *j, char *regs, int64_t t, int isa)
{
    if (j->cpart) {
        int64_t M = j->outer, r0 = M * t / j->ntask, r1 = M * (t + 1) / j->ntask;
        walk_cols(j, regs, r0, r1, j->cpart + t * j->inner, isa);
    } else if (j->split) {
        int64_t row = t / j->per_task, piece = t % j->per_task, n = j->inner;
        int64_t a = row * n + piece * TASK, b = row * n + (piece + 1) * TASK;
        racc st = acc_init(j->kind);
        walk_rows(j, regs, a, b < (row + 1) * n ? b : (row + 1) * n, row, &st, isa);
        j->part[t] = st;
    } else {
        int64_t r0 = t * j->per_task, r1 = r0 + j->per_task < j->outer ? r0 + j->per_task : j->outer;
        racc st = acc_init(j->kind);
        walk_rows(j, regs, r0 * j->inner, r1 * j->inner, r0, &st, isa);
    }
}

static void run_tasks(const rjob *j, int nthreads)
{
    int isa = sb_be_fz_isa();
    bool par = j->outer * j->inner >= sb_be_par_min(PAR_MIN) && j->ntask > 1 && nthreads > 1;
#pragma omp parallel num_threads(nthreads) if (par)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        char *regs = j->scratch + (size_t)t * j->per;
        sb_be_fz_splat(&j->fc, regs);
        for (int64_t k = j->ntask * t / nt; k < j->ntask * (t + 1) / nt; k++)
            run_task(j, regs, k, isa);
    }
}

/* Rows: tasks of whole rows, or pieces of long rows combined afterwards in order. */
static void reduce_rows(rjob *j, int nthreads)
{
    int64_t R = j->outer, n = j->inner;
    if (R == 0) return;
    if (n == 0) {
        for (int64_t r = 0; r < R; r++) put(j, r, finish_val(j, acc_init(j->kind)));
        return;
    }
    j->split = n > TASK;
    j->per_task = j->split ? (n + TASK - 1) / TASK : (TASK / n > 0 ? TASK / n : 1);
    j->ntask = j->split ? R * j->per_task : (R + j->per_task - 1) / j->per_task;
    if (j->split) j->part = sb_xmalloc(sizeof *j->part * (size_t)j->ntask);
    run_tasks(j, nthreads);
    for (int64_t r = 0; j->split && r < R; r++) {
        racc a = j->part[r * j->per_task];
        for (int64_t c = 1; c < j->per_task; c++)
            a = acc_combine(j->kind, a, j->part[r * j->per_task + c]);
        put(j, r, finish_val(j, a));
    }
    free(j->part);
}

/* Columns: chunks of rows, each into its partial row, combined in chunk order. */
static void reduce_cols(rjob *j, int nthreads)
{
    int64_t M = j->outer, N = j->inner;
    if (N == 0) return;
    int64_t nch = M * N / TASK;
    int64_t cap = (1 << 19) / N; /* partial rows of at most 4 MB in all */
    nch = nch < MAX_CHUNKS ? nch : MAX_CHUNKS;
    nch = nch < cap ? nch : cap;
    nch = nch < M ? nch : M;
    j->ntask = nch > 1 ? nch : 1;
    j->cpart = sb_xmalloc(sizeof *j->cpart * (size_t)(j->ntask * N));
    double init = acc_init(j->kind).s;
    for (int64_t i = 0; i < j->ntask * N; i++) j->cpart[i] = init;
    if (M > 0) run_tasks(j, nthreads);
    for (int64_t c = 0; c < N; c++) {
        racc a = {j->cpart[c], 0};
        for (int64_t k = 1; k < j->ntask; k++)
            a = acc_combine(j->kind, a, (racc){j->cpart[k * N + c], 0});
        put(j, c, finish_val(j, a));
    }
    free(j->cpart);
}

/* The input group's context over its shape (into shape[]; leaves already checked by the
 * _shape functions), with the compiled group taken up when the JIT policy has one (this run
 * counts towards it). */
static void group_ctx(const sb_fz_reduce *r, const sb_tensor *leaves, int64_t *shape,
                      sb_fz_ctx *fc)
{
    sb_diag d;
    sb_diag_clear(&d);
    sb_status st = in_shape(r, leaves, shape, &d);
    SB_ASSERT(st == SB_OK);
    sb_be_fz_ctx_init(fc, &r->g, leaves, r->ndim, shape);
    if (fc->fits && r->g.jit_seen >= 0) {
        sb_be_fz_jit_poll(&r->g, fc->n);
        sb_be_fz_ctx_jit(fc);
    }
}

void sb_be_fz_reduce_run(const sb_fz_reduce *r, const sb_tensor *leaves, sb_tensor *out,
                         void *scratch, int nthreads)
{
    int64_t shape[SB_MAX_DIMS];
    rjob j = {.kind = red_kind((sb_op)r->node->op), .mean = r->node->op == SB_OP_MEAN,
              .dt = r->g.dtype, .es = sb_dtype_size(r->g.dtype), .out = sb_be_tensor_ptr(out),
              .outer = 1, .inner = 1, .scratch = scratch, .per = sb_be_fz_scratch(&r->g)};
    group_ctx(r, leaves, shape, &j.fc);
    for (int i = 0; i < r->ndim; i++) *(i < r->lead ? &j.outer : &j.inner) *= shape[i];
    j.count = r->cols ? j.outer : j.inner;
    static const seg_fn *const segs[2][3] = {{f32b_seg, f32v3_seg, f32v4_seg},
                                             {f64b_seg, f64v3_seg, f64v4_seg}};
    static const col_fn *const cols[2][3] = {{f32b_col, f32v3_col, f32v4_col},
                                             {f64b_col, f64v3_col, f64v4_col}};
    int isa = sb_be_fz_isa(), f64 = j.dt == SB_DTYPE_F64;
    j.seg = segs[f64][isa][j.kind];
    j.col = cols[f64][isa][j.kind];
    if (r->cols) reduce_cols(&j, nthreads);
    else reduce_rows(&j, nthreads);
}

/* ---- row softmax with its input group ------------------------------------------------------- */
void sb_be_fz_softmax_build(sb_fz_reduce *r, sb_node *n, const int32_t *group)
{
    memset(r, 0, sizeof *r);
    r->node = n;
    r->ndim = n->in[0]->type.ndim;
    r->lead = r->ndim - 1;
    sb_be_fz_build(&r->g, n->in[0], group);
    r->g.jit_seen = 0;
    if (sb_be_fz_jit_on()) sb_be_fz_jit(&r->g);
}

sb_status sb_be_fz_softmax_shape(const sb_fz_reduce *r, const sb_tensor *leaves, int *ndim,
                                 int64_t *shape, sb_diag *d)
{
    sb_status st = in_shape(r, leaves, shape, d);
    *ndim = r->ndim;
    return st;
}

/* Rows [r0, r1): the group's values into the output, then the softmax of those rows. */
static void softmax_task(const sb_fz_ctx *fc, char *regs, int64_t r0, int64_t r1, int64_t n,
                         bool lg, int isa)
{
    size_t es = sb_dtype_size(fc->g->dtype);
    for (int64_t s = r0 * n; s < r1 * n; s += SB_FZ_BLOCK)
        sb_be_fz_block(fc, regs, s, r1 * n - s < SB_FZ_BLOCK ? r1 * n - s : SB_FZ_BLOCK, isa);
    char *y = fc->out + (size_t)(r0 * n) * es;
    sb_be_fz_softmax_chunk(fc->g->dtype, r1 - r0, n, y, y, lg, isa);
}

void sb_be_fz_softmax_run(const sb_fz_reduce *r, const sb_tensor *leaves, sb_tensor *out,
                          void *scratch, int nthreads)
{
    int64_t shape[SB_MAX_DIMS];
    sb_fz_ctx fc;
    group_ctx(r, leaves, shape, &fc);
    fc.out = sb_be_tensor_ptr(out);
    int64_t n = shape[r->ndim - 1], rows = n > 0 ? fc.n / n : 0;
    if (rows == 0) return;
    int64_t per = TASK / n > 0 ? TASK / n : 1, ntask = (rows + per - 1) / per;
    size_t bytes = sb_be_fz_scratch(&r->g);
    int isa = sb_be_fz_isa();
    bool lg = r->node->op == SB_OP_LOG_SOFTMAX;
    bool par = fc.n >= sb_be_par_min(PAR_MIN) && ntask > 1 && nthreads > 1;
#pragma omp parallel num_threads(nthreads) if (par)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        char *regs = (char *)scratch + (size_t)t * bytes;
        sb_be_fz_splat(&fc, regs);
        for (int64_t k = ntask * t / nt; k < ntask * (t + 1) / nt; k++)
            softmax_task(&fc, regs, k * per, (k + 1) * per < rows ? (k + 1) * per : rows, n, lg,
                         isa);
    }
}
