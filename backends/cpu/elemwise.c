/* elemwise.c: elementwise kernels (unary, binary, where, clip, cast) with NumPy broadcasting.
 *
 * Arithmetic runs in one of three computation dtypes: int64 (every integer and bool: exact, with
 * wrap-around on the way back to narrower ints), float32 or float64. Inputs are converted to
 * the computation dtype only when their dtype differs; a strided or broadcast input is read in
 * place. The dtype switch happens once per call (a table of row functions indexed by op and
 * dtype); each row function has a contiguous fast path and a strided one. */
#include "tensor.h"

#include <tgmath.h>

/* ---- dtype helpers ------------------------------------------------------------------------ */
sb_dtype sb_be_float_dt(sb_dtype t, bool f64)
{
    return f64 && t == SB_DTYPE_F32 ? SB_DTYPE_F64 : t;
}

sb_dtype sb_be_arith_dt(sb_dtype t)
{
    return sb_dtype_is_float(t) ? t : SB_DTYPE_I64;
}

sb_dtype sb_be_weak_promote(const sb_type *a, const sb_type *b)
{
    if (a->weak == b->weak) return sb_dtype_promote(a->dtype, b->dtype);
    const sb_type *w = a->weak ? a : b, *s = a->weak ? b : a;
    if (sb_dtype_is_float(w->dtype) && !sb_dtype_is_float(s->dtype)) return SB_DTYPE_F64;
    if (s->dtype == SB_DTYPE_BOOL && w->dtype != SB_DTYPE_BOOL) return w->dtype;
    return s->dtype;
}

/* Byte strides of t's dims into st. */
static void byte_strides(const sb_tensor *t, int64_t *st)
{
    int64_t e = (int64_t)sb_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++) st[i] = t->strides[i] * e;
}

/* Run fn over out (contiguous, shape = out's) and nop-1 inputs broadcast to it. */
static void run_rows(const sb_tensor *out, int nin, const sb_tensor *in, sb_be_row_fn fn)
{
    int64_t st[4][SB_MAX_DIMS];
    char *base[4];
    base[0] = sb_be_tensor_ptr(out);
    byte_strides(out, st[0]);
    for (int k = 0; k < nin; k++) {
        sb_tensor v = sb_be_tensor_bcast(&in[k], out->ndim, out->shape);
        base[k + 1] = sb_be_tensor_ptr(&v);
        byte_strides(&v, st[k + 1]);
    }
    sb_be_foreach_row(out->ndim, out->shape, nin + 1, base, st, fn, NULL);
}

/* Convert the value in *t to dtype dt in place (a new tensor replaces it). */
static void convert(sb_tensor *t, sb_dtype dt)
{
    if (t->dtype == dt) return;
    sb_tensor r = sb_be_tensor_as(t, dt);
    sb_be_tensor_release(t);
    *t = r;
}

/* ---- unary -------------------------------------------------------------------------------- */
#define UN_ROW(NAME, T, EXPR)                                                                    \
    static void NAME(int64_t n, char **p, const int64_t *s, void *u)                             \
    {                                                                                            \
        T *o = (T *)p[0];                                                                        \
        const T *a = (const T *)p[1];                                                            \
        int64_t sa = s[1] / (int64_t)sizeof(T);                                                  \
        if (sa == 1)                                                                             \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T x = a[i];                                                                      \
                o[i] = (T)(EXPR);                                                                \
            }                                                                                    \
        else                                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T x = a[i * sa];                                                                 \
                o[i] = (T)(EXPR);                                                                \
            }                                                                                    \
    }

/* Float expressions (tgmath picks the float or double function). */
#define UNARY_F(X)                                                                               \
    X(NEG, -x)                                                                                   \
    X(ABS, fabs(x))                                                                              \
    X(SIGN, x > 0 ? 1 : x < 0 ? -1 : x)                                                          \
    X(EXP, exp(x))                                                                               \
    X(EXPM1, expm1(x))                                                                           \
    X(LOG, log(x))                                                                               \
    X(LOG1P, log1p(x))                                                                           \
    X(LOG2, log2(x))                                                                             \
    X(SQRT, sqrt(x))                                                                             \
    X(SQR, x * x)                                                                                \
    X(RECIPROCAL, 1 / x)                                                                         \
    X(SIN, sin(x))                                                                               \
    X(COS, cos(x))                                                                               \
    X(SIGMOID, x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)))                               \
    X(SOFTPLUS, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))                                      \
    X(RELU, x < 0 ? 0 : x)                                                                       \
    X(ERF, erf(x))                                                                               \
    X(FLOOR, floor(x))                                                                           \
    X(CEIL, ceil(x))                                                                             \
    X(ROUND, rint(x))
/* Integer expressions, in int64 (wrapping where NumPy wraps). */
#define UNARY_I(X)                                                                               \
    X(NEG, (int64_t)(0 - (uint64_t)x))                                                           \
    X(ABS, x < 0 ? (int64_t)(0 - (uint64_t)x) : x)                                               \
    X(SIGN, (x > 0) - (x < 0))                                                                   \
    X(SQR, (int64_t)((uint64_t)x * (uint64_t)x))                                                 \
    X(RELU, x < 0 ? 0 : x)                                                                       \
    X(FLOOR, x)                                                                                  \
    X(CEIL, x)                                                                                   \
    X(ROUND, x)

/* float32 tanh through one double exp: a few times faster than tanhf, error < 1 ulp of float
 * (the cancellation in 1 - e is harmless at double precision). */
static inline float tanh_f32(float x)
{
    double e = exp(-2.0 * fabs((double)x));
    return (float)copysign((1 - e) / (1 + e), (double)x);
}

#define UN_F(OP, EXPR) UN_ROW(un_##OP##_f32, float, EXPR) UN_ROW(un_##OP##_f64, double, EXPR)
#define UN_I(OP, EXPR) UN_ROW(un_##OP##_i64, int64_t, EXPR)
UNARY_F(UN_F)
UNARY_I(UN_I)
UN_ROW(un_not_b, uint8_t, !x)
UN_ROW(un_TANH_f32, float, tanh_f32(x))
UN_ROW(un_TANH_f64, double, tanh(x))
#define E_F32(OP, EXPR) [SB_OP_##OP] = un_##OP##_f32,
#define E_F64(OP, EXPR) [SB_OP_##OP] = un_##OP##_f64,
#define E_I64(OP, EXPR) [SB_OP_##OP] = un_##OP##_i64,
static const sb_be_row_fn un_f32[SB_OP_COUNT] = {UNARY_F(E_F32) [SB_OP_TANH] = un_TANH_f32};
static const sb_be_row_fn un_f64[SB_OP_COUNT] = {UNARY_F(E_F64) [SB_OP_TANH] = un_TANH_f64};
static const sb_be_row_fn un_i64[SB_OP_COUNT] = {UNARY_I(E_I64)};

/* Finish a kernel computed in dtype `comp`: convert to the node's dtype. */
static sb_status finish(const sb_be_call *c, sb_tensor *r, sb_tensor *out)
{
    convert(r, c->out.dtype);
    *out = *r;
    return SB_OK;
}

sb_status sb_be_k_unary(const sb_be_call *c, sb_tensor *out)
{
    sb_op op = (sb_op)c->node->op;
    sb_dtype comp = op == SB_OP_LOGICAL_NOT ? SB_DTYPE_BOOL : sb_be_arith_dt(c->out.dtype);
    const sb_be_row_fn *tab = comp == SB_DTYPE_F32 ? un_f32 : comp == SB_DTYPE_F64 ? un_f64
                                                                                  : un_i64;
    sb_be_row_fn fn = op == SB_OP_LOGICAL_NOT ? un_not_b : tab[op];
    SB_ASSERT(fn);
    sb_tensor x = sb_be_tensor_ref(&c->in[0]);
    convert(&x, comp);
    sb_tensor r = sb_be_tensor_new(comp, x.ndim, x.shape);
    run_rows(&r, 1, &x, fn);
    sb_be_tensor_release(&x);
    return finish(c, &r, out);
}

/* ---- binary ------------------------------------------------------------------------------- */
#define BIN_ROW(NAME, T, OT, EXPR)                                                               \
    static void NAME(int64_t n, char **p, const int64_t *s, void *u)                             \
    {                                                                                            \
        OT *o = (OT *)p[0];                                                                      \
        const T *a = (const T *)p[1], *b = (const T *)p[2];                                      \
        int64_t sa = s[1] / (int64_t)sizeof(T), sb = s[2] / (int64_t)sizeof(T);                  \
        if (sa == 1 && sb == 1)                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T x = a[i], y = b[i];                                                            \
                o[i] = (OT)(EXPR);                                                               \
            }                                                                                    \
        else if (sa == 1 && sb == 0) {                                                           \
            T y = b[0];                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T x = a[i];                                                                      \
                o[i] = (OT)(EXPR);                                                               \
            }                                                                                    \
        } else if (sa == 0 && sb == 1) {                                                         \
            T x = a[0];                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T y = b[i];                                                                      \
                o[i] = (OT)(EXPR);                                                               \
            }                                                                                    \
        } else                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T x = a[i * sa], y = b[i * sb];                                                  \
                o[i] = (OT)(EXPR);                                                               \
            }                                                                                    \
    }

/* Python / NumPy floor division and modulo (the result of mod takes the divisor's sign). */
static inline double py_fmod(double x, double y)
{
    double m = fmod(x, y);
    if (y == 0) return m;
    if (m != 0) {
        if ((y < 0) != (m < 0)) m += y;
    } else {
        m = copysign(0.0, y);
    }
    return m;
}

static inline double py_floordiv(double x, double y)
{
    if (y == 0) return x / y;
    double m = fmod(x, y), q = (x - m) / y;
    if (m != 0 && (y < 0) != (m < 0)) q -= 1;
    if (q == 0) return copysign(0.0, x / y);
    double f = floor(q);
    return q - f > 0.5 ? f + 1 : f;
}

static inline int64_t i_floordiv(int64_t x, int64_t y)
{
    if (y == 0) return 0; /* NumPy: 0 with a warning */
    if (y == -1) return (int64_t)(0 - (uint64_t)x);
    int64_t q = x / y;
    if (x % y != 0 && ((x < 0) != (y < 0))) q--;
    return q;
}

static inline int64_t i_mod(int64_t x, int64_t y)
{
    if (y == 0 || y == -1) return 0;
    int64_t r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}

static inline int64_t i_pow(int64_t x, int64_t y)
{
    if (y < 0) return x == 1 ? 1 : x == -1 ? (y % 2 ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)x;
    for (; y; y >>= 1, b *= b)
        if (y & 1) r *= b;
    return (int64_t)r;
}

#define BINARY_F(X)                                                                              \
    X(ADD, x + y)                                                                                \
    X(SUB, x - y)                                                                                \
    X(MUL, x * y)                                                                                \
    X(DIV, x / y)                                                                                \
    X(FLOOR_DIVIDE, py_floordiv(x, y))                                                           \
    X(MOD, py_fmod(x, y))                                                                        \
    X(POW, pow(x, y))                                                                            \
    X(MAXIMUM, (isnan(x) || x >= y) ? x : y)                                                     \
    X(MINIMUM, (isnan(x) || x <= y) ? x : y)
#define BINARY_I(X)                                                                              \
    X(ADD, (int64_t)((uint64_t)x + (uint64_t)y))                                                 \
    X(SUB, (int64_t)((uint64_t)x - (uint64_t)y))                                                 \
    X(MUL, (int64_t)((uint64_t)x * (uint64_t)y))                                                 \
    X(FLOOR_DIVIDE, i_floordiv(x, y))                                                            \
    X(MOD, i_mod(x, y))                                                                          \
    X(POW, i_pow(x, y))                                                                          \
    X(MAXIMUM, x > y ? x : y)                                                                    \
    X(MINIMUM, x < y ? x : y)
#define COMPARE(X)                                                                               \
    X(LT, x < y)                                                                                 \
    X(LE, x <= y)                                                                                \
    X(GT, x > y)                                                                                 \
    X(GE, x >= y)                                                                                \
    X(EQ, x == y)                                                                                \
    X(NE, x != y)

#define BI_F(OP, EXPR) BIN_ROW(bi_##OP##_f32, float, float, EXPR) \
                       BIN_ROW(bi_##OP##_f64, double, double, EXPR)
#define BI_I(OP, EXPR) BIN_ROW(bi_##OP##_i64, int64_t, int64_t, EXPR)
#define CMP(OP, EXPR) BIN_ROW(bi_##OP##_f32, float, uint8_t, EXPR)                               \
                      BIN_ROW(bi_##OP##_f64, double, uint8_t, EXPR)                              \
                      BIN_ROW(bi_##OP##_i64, int64_t, uint8_t, EXPR)
BINARY_F(BI_F)
BINARY_I(BI_I)
COMPARE(CMP)
BIN_ROW(bi_and_b, uint8_t, uint8_t, x && y)
BIN_ROW(bi_or_b, uint8_t, uint8_t, x || y)
#define B_F32(OP, EXPR) [SB_OP_##OP] = bi_##OP##_f32,
#define B_F64(OP, EXPR) [SB_OP_##OP] = bi_##OP##_f64,
#define B_I64(OP, EXPR) [SB_OP_##OP] = bi_##OP##_i64,
static const sb_be_row_fn bi_f32[SB_OP_COUNT] = {BINARY_F(B_F32) COMPARE(B_F32)};
static const sb_be_row_fn bi_f64[SB_OP_COUNT] = {BINARY_F(B_F64) COMPARE(B_F64)};
static const sb_be_row_fn bi_i64[SB_OP_COUNT] = {BINARY_I(B_I64) COMPARE(B_I64)};

/* Broadcast shape of a and b (compatible: checked by type inference). */
static void bcast_shape(const sb_tensor *a, const sb_tensor *b, int *nd, int64_t *shape)
{
    *nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < *nd; i++) {
        int ia = i - (*nd - a->ndim), ib = i - (*nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        SB_ASSERT(da == db || da == 1 || db == 1);
        shape[i] = da == 1 ? db : da;
    }
}

sb_tensor sb_be_binary(sb_op op, sb_dtype dt, const sb_tensor *a, const sb_tensor *b)
{
    sb_be_row_fn fn;
    sb_dtype odt = dt;
    if (op == SB_OP_LOGICAL_AND || op == SB_OP_LOGICAL_OR) {
        SB_ASSERT(dt == SB_DTYPE_BOOL);
        fn = op == SB_OP_LOGICAL_AND ? bi_and_b : bi_or_b;
    } else {
        fn = (dt == SB_DTYPE_F32 ? bi_f32 : dt == SB_DTYPE_F64 ? bi_f64 : bi_i64)[op];
        if (sb_op_get(op)->flags & SB_F_BOOL_OUT) odt = SB_DTYPE_BOOL;
    }
    SB_ASSERT(fn && a->dtype == dt && b->dtype == dt);
    int nd;
    int64_t shape[SB_MAX_DIMS];
    bcast_shape(a, b, &nd, shape);
    sb_tensor r = sb_be_tensor_new(odt, nd, shape);
    sb_tensor in[2] = {*a, *b};
    run_rows(&r, 2, in, fn);
    return r;
}

sb_status sb_be_k_binary(const sb_be_call *c, sb_tensor *out)
{
    sb_op op = (sb_op)c->node->op;
    unsigned fl = sb_op_get(op)->flags;
    sb_dtype comp;
    if (op == SB_OP_LOGICAL_AND || op == SB_OP_LOGICAL_OR)
        comp = SB_DTYPE_BOOL;
    else if (fl & SB_F_BOOL_OUT)
        comp = sb_be_arith_dt(sb_be_float_dt(
            sb_be_weak_promote(&c->node->in[0]->type, &c->node->in[1]->type), c->f64));
    else
        comp = sb_be_arith_dt(c->out.dtype);
    sb_tensor a = sb_be_tensor_ref(&c->in[0]), b = sb_be_tensor_ref(&c->in[1]);
    convert(&a, comp);
    convert(&b, comp);
    sb_tensor r = sb_be_binary(op, comp, &a, &b);
    sb_be_tensor_release(&a);
    sb_be_tensor_release(&b);
    return finish(c, &r, out);
}

/* ---- ternary: where, clip ------------------------------------------------------------------ */
#define WHERE_ROW(NAME, T)                                                                       \
    static void NAME(int64_t n, char **p, const int64_t *s, void *u)                             \
    {                                                                                            \
        T *o = (T *)p[0];                                                                        \
        const uint8_t *c = (const uint8_t *)p[1];                                                \
        const T *a = (const T *)p[2], *b = (const T *)p[3];                                      \
        int64_t sa = s[2] / (int64_t)sizeof(T), sb = s[3] / (int64_t)sizeof(T);                  \
        for (int64_t i = 0; i < n; i++) o[i] = c[i * s[1]] ? a[i * sa] : b[i * sb];              \
    }
WHERE_ROW(where_1, uint8_t)
WHERE_ROW(where_4, uint32_t)
WHERE_ROW(where_8, uint64_t)

/* Broadcast shape of n tensors. */
static void bcast_n(int n, const sb_tensor *t, int *nd, int64_t *shape)
{
    sb_tensor acc = t[0];
    for (int i = 1; i < n; i++) {
        int m;
        int64_t sh[SB_MAX_DIMS];
        bcast_shape(&acc, &t[i], &m, sh);
        acc.ndim = m;
        memcpy(acc.shape, sh, sizeof sh);
    }
    *nd = acc.ndim;
    memcpy(shape, acc.shape, sizeof acc.shape);
}

sb_status sb_be_k_where(const sb_be_call *c, sb_tensor *out)
{
    sb_dtype dt = c->out.dtype;
    sb_tensor t[3] = {sb_be_tensor_ref(&c->in[0]), sb_be_tensor_ref(&c->in[1]),
                      sb_be_tensor_ref(&c->in[2])};
    convert(&t[0], SB_DTYPE_BOOL);
    convert(&t[1], dt);
    convert(&t[2], dt);
    int nd;
    int64_t shape[SB_MAX_DIMS];
    bcast_n(3, t, &nd, shape);
    sb_tensor r = sb_be_tensor_new(dt, nd, shape);
    size_t es = sb_dtype_size(dt);
    run_rows(&r, 3, t, es == 1 ? where_1 : es == 4 ? where_4 : where_8);
    for (int i = 0; i < 3; i++) sb_be_tensor_release(&t[i]);
    *out = r;
    return SB_OK;
}

#define CLIP_ROW(NAME, T, MAXE, MINE)                                                            \
    static void NAME(int64_t n, char **p, const int64_t *s, void *u)                             \
    {                                                                                            \
        T *o = (T *)p[0];                                                                        \
        const T *a = (const T *)p[1], *l = (const T *)p[2], *h = (const T *)p[3];                \
        int64_t sa = s[1] / (int64_t)sizeof(T), sl = s[2] / (int64_t)sizeof(T),                  \
                sh = s[3] / (int64_t)sizeof(T);                                                  \
        for (int64_t i = 0; i < n; i++) {                                                        \
            T x = a[i * sa], y = l[i * sl];                                                      \
            x = MAXE;                                                                            \
            y = h[i * sh];                                                                       \
            o[i] = MINE;                                                                         \
        }                                                                                        \
    }
CLIP_ROW(clip_f32, float, (isnan(x) || x >= y) ? x : y, (isnan(x) || x <= y) ? x : y)
CLIP_ROW(clip_f64, double, (isnan(x) || x >= y) ? x : y, (isnan(x) || x <= y) ? x : y)
CLIP_ROW(clip_i64, int64_t, x > y ? x : y, x < y ? x : y)

sb_status sb_be_k_clip(const sb_be_call *c, sb_tensor *out)
{
    sb_dtype comp = sb_be_arith_dt(c->out.dtype);
    sb_tensor t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = sb_be_tensor_ref(&c->in[i]);
        convert(&t[i], comp);
    }
    int nd;
    int64_t shape[SB_MAX_DIMS];
    bcast_n(3, t, &nd, shape);
    sb_tensor r = sb_be_tensor_new(comp, nd, shape);
    run_rows(&r, 3, t,
             comp == SB_DTYPE_F32 ? clip_f32 : comp == SB_DTYPE_F64 ? clip_f64 : clip_i64);
    for (int i = 0; i < 3; i++) sb_be_tensor_release(&t[i]);
    return finish(c, &r, out);
}

sb_status sb_be_k_cast(const sb_be_call *c, sb_tensor *out)
{
    *out = sb_be_tensor_as(&c->in[0], c->out.dtype);
    return SB_OK;
}
