/* reduce.c: reductions over any set of axes (sum prod mean max min all any logsumexp) and the
 * arg reductions (argmax argmin).
 *
 * A reduction accumulates into a buffer of the keepdims shape, read and written through a view
 * whose reduced dims have stride 0: the input is then visited once in memory order whatever the
 * axes. Floats accumulate in float64 (a float32 sum is rounded once, at the end), integers and
 * bools in int64 (exact). */
#include "tensor.h"

#include <math.h>

/* red[i] = whether dim i of an ndim input is reduced (attrs: naxis -1 = all). */
static sb_status reduced_dims(const sb_be_call *c, int ndim, bool *red)
{
    const sb_attrs *a = c->a;
    for (int i = 0; i < ndim; i++) red[i] = a->naxis < 0;
    for (int k = 0; k < a->naxis; k++) {
        int ax = sb_axis_norm(a->axis[k], ndim);
        if (ax < 0)
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                               "axis %lld is out of bounds for array of dimension %d",
                               (long long)a->axis[k], ndim);
        red[ax] = true;
    }
    return SB_OK;
}

/* Accumulator for x's reduction: keepdims shape, filled with v; *view = it seen with x's shape. */
static sb_tensor make_acc(const sb_tensor *x, const bool *red, sb_dtype dt, double v,
                          sb_tensor *view)
{
    int64_t shape[SB_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = red[i] ? 1 : x->shape[i];
    sb_tensor acc = sb_be_tensor_new(dt, x->ndim, shape);
    int64_t n = sb_be_tensor_numel(&acc);
    for (int64_t i = 0; i < n; i++) {
        if (dt == SB_DTYPE_F64) ((double *)acc.buf->data)[i] = v;
        else if (dt == SB_DTYPE_I64)
            ((int64_t *)acc.buf->data)[i] = v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN
                                                                                  : (int64_t)v;
        else ((uint8_t *)acc.buf->data)[i] = v != 0;
    }
    *view = sb_be_tensor_bcast(&acc, x->ndim, x->shape);
    return acc;
}

static void run_acc(const sb_tensor *accv, int nin, const sb_tensor *in, sb_be_row_fn fn)
{
    int64_t st[3][SB_MAX_DIMS];
    char *base[3];
    const sb_tensor *ops[3] = {accv, &in[0], nin > 1 ? &in[1] : NULL};
    for (int k = 0; k <= nin; k++) {
        int64_t e = (int64_t)sb_dtype_size(ops[k]->dtype);
        base[k] = sb_be_tensor_ptr(ops[k]);
        for (int i = 0; i < accv->ndim; i++) st[k][i] = ops[k]->strides[i] * e;
    }
    sb_be_foreach_row(accv->ndim, accv->shape, nin + 1, base, st, fn, NULL);
}

#define ACC_ROW(NAME, T, EXPR)                                                                   \
    static void NAME(int64_t n, char **p, const int64_t *s, void *u)                             \
    {                                                                                            \
        T *o = (T *)p[0];                                                                        \
        const T *a = (const T *)p[1];                                                            \
        int64_t so = s[0] / (int64_t)sizeof(T), sa = s[1] / (int64_t)sizeof(T);                  \
        if (so == 0) {                                                                           \
            T x = o[0];                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T y = a[i * sa];                                                                 \
                x = (T)(EXPR);                                                                   \
            }                                                                                    \
            o[0] = x;                                                                            \
        } else                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T x = o[i * so], y = a[i * sa];                                                  \
                o[i * so] = (T)(EXPR);                                                           \
            }                                                                                    \
    }
ACC_ROW(sum_f, double, x + y)
ACC_ROW(sum_i, int64_t, (uint64_t)x + (uint64_t)y)
ACC_ROW(prod_f, double, x * y)
ACC_ROW(prod_i, int64_t, (uint64_t)x * (uint64_t)y)
ACC_ROW(max_f, double, (isnan(x) || x >= y) ? x : y)
ACC_ROW(max_i, int64_t, x >= y ? x : y)
ACC_ROW(min_f, double, (isnan(x) || x <= y) ? x : y)
ACC_ROW(min_i, int64_t, x <= y ? x : y)
ACC_ROW(all_b, uint8_t, x && y)
ACC_ROW(any_b, uint8_t, x || y)

/* exp(x - m) summed into the accumulator (logsumexp's second pass). */
static void lse_row(int64_t n, char **p, const int64_t *s, void *u)
{
    double *o = (double *)p[0];
    const double *a = (const double *)p[1], *m = (const double *)p[2];
    int64_t so = s[0] / 8, sa = s[1] / 8, sm = s[2] / 8;
    for (int64_t i = 0; i < n; i++) o[i * so] += exp(a[i * sa] - m[i * sm]);
}

/* Give the finished accumulator the result's shape and dtype. */
static sb_status finish(const sb_be_call *c, sb_tensor *acc, sb_tensor *out)
{
    SB_ASSERT(sb_type_numel(&c->out) == sb_be_tensor_numel(acc));
    acc->ndim = c->out.ndim;
    memcpy(acc->shape, c->out.dims, sizeof acc->shape);
    sb_be_contig_strides(acc->ndim, acc->shape, acc->strides);
    *out = sb_be_tensor_as(acc, c->out.dtype);
    sb_be_tensor_release(acc);
    return SB_OK;
}

static sb_status logsumexp(const sb_be_call *c, const sb_tensor *x, const bool *red,
                           sb_tensor *out)
{
    sb_tensor mv, sv;
    sb_tensor m = make_acc(x, red, SB_DTYPE_F64, -INFINITY, &mv);
    run_acc(&mv, 1, x, max_f);
    int64_t n = sb_be_tensor_numel(&m);
    double *md = m.buf->data;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(md[i])) md[i] = isnan(md[i]) ? md[i] : 0; /* shift by 0 when +-inf */
    sb_tensor s = make_acc(x, red, SB_DTYPE_F64, 0, &sv);
    sb_tensor in[2] = {*x, mv};
    run_acc(&sv, 2, in, lse_row);
    double *sd = s.buf->data;
    for (int64_t i = 0; i < n; i++) sd[i] = log(sd[i]) + md[i];
    sb_be_tensor_release(&m);
    return finish(c, &s, out);
}

sb_status sb_be_k_reduce(const sb_be_call *c, sb_tensor *out)
{
    sb_op op = (sb_op)c->node->op;
    bool red[SB_MAX_DIMS];
    if (reduced_dims(c, c->in[0].ndim, red)) return c->d->status;
    bool isf = sb_dtype_is_float(c->in[0].dtype) || op == SB_OP_LOGSUMEXP;
    sb_dtype comp = op == SB_OP_ALL || op == SB_OP_ANY ? SB_DTYPE_BOOL
                    : isf                              ? SB_DTYPE_F64
                                                       : SB_DTYPE_I64;
    sb_tensor x = sb_be_tensor_as(&c->in[0], comp);
    int64_t count = 1;
    for (int i = 0; i < x.ndim; i++) count *= red[i] ? x.shape[i] : 1;
    sb_status st = SB_OK;
    if (count == 0 && (op == SB_OP_MAX || op == SB_OP_MIN)) {
        st = sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                         "zero-size array to reduction operation %s which has no identity",
                         op == SB_OP_MAX ? "maximum" : "minimum");
    } else if (op == SB_OP_LOGSUMEXP) {
        st = logsumexp(c, &x, red, out);
    } else {
        double init = op == SB_OP_PROD || op == SB_OP_ALL ? 1
                      : op == SB_OP_MAX                   ? -INFINITY
                      : op == SB_OP_MIN                   ? INFINITY
                                                          : 0;
        sb_be_row_fn fn = op == SB_OP_SUM || op == SB_OP_MEAN ? (isf ? sum_f : sum_i)
                          : op == SB_OP_PROD                  ? (isf ? prod_f : prod_i)
                          : op == SB_OP_MAX                   ? (isf ? max_f : max_i)
                          : op == SB_OP_MIN                   ? (isf ? min_f : min_i)
                          : op == SB_OP_ALL                   ? all_b
                                                              : any_b;
        sb_tensor av, acc = make_acc(&x, red, comp, init, &av);
        run_acc(&av, 1, &x, fn);
        if (op == SB_OP_MEAN) {
            sb_tensor f = sb_be_tensor_as(&acc, SB_DTYPE_F64);
            sb_be_tensor_release(&acc);
            acc = f;
            int64_t n = sb_be_tensor_numel(&acc);
            for (int64_t i = 0; i < n; i++) ((double *)acc.buf->data)[i] /= (double)count;
        }
        st = finish(c, &acc, out);
    }
    sb_be_tensor_release(&x);
    return st;
}

/* ---- argmax / argmin ---------------------------------------------------------------------- */
/* First position of the max (min) of n values at stride s; NaN wins as NumPy's does. */
static int64_t arg_f(const double *x, int64_t n, int64_t s, bool max)
{
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i * s], b = x[best * s];
        if (isnan(v)) return i;
        if (max ? v > b : v < b) best = i;
    }
    return best;
}

static int64_t arg_i(const int64_t *x, int64_t n, int64_t s, bool max)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (max ? x[i * s] > x[best * s] : x[i * s] < x[best * s]) best = i;
    return best;
}

sb_status sb_be_k_argreduce(const sb_be_call *c, sb_tensor *out)
{
    bool max = c->node->op == SB_OP_ARGMAX, isf = sb_dtype_is_float(c->in[0].dtype);
    sb_tensor x = sb_be_tensor_as(&c->in[0], isf ? SB_DTYPE_F64 : SB_DTYPE_I64);
    int64_t outer = 1, n = sb_be_tensor_numel(&x), inner = 1;
    if (c->a->naxis >= 1) {
        int ax = sb_axis_norm(c->a->axis[0], x.ndim);
        if (ax < 0) {
            sb_be_tensor_release(&x);
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                               "axis %lld is out of bounds for array of dimension %d",
                               (long long)c->a->axis[0], x.ndim);
        }
        for (int i = 0; i < ax; i++) outer *= x.shape[i];
        for (int i = ax + 1; i < x.ndim; i++) inner *= x.shape[i];
        n = x.shape[ax];
    }
    if (n == 0 && outer * inner > 0) {
        sb_be_tensor_release(&x);
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "attempt to get %s of an empty sequence", max ? "argmax" : "argmin");
    }
    sb_tensor r = sb_be_tensor_new(SB_DTYPE_I64, c->out.ndim, c->out.dims);
    SB_ASSERT(sb_be_tensor_numel(&r) == outer * inner);
    int64_t *o = r.buf->data;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t b = 0; b < inner; b++) {
            int64_t base = a * n * inner + b;
            o[a * inner + b] = isf ? arg_f((const double *)x.buf->data + x.offset + base, n,
                                           inner, max)
                                   : arg_i((const int64_t *)x.buf->data + x.offset + base, n,
                                           inner, max);
        }
    sb_be_tensor_release(&x);
    *out = r;
    return SB_OK;
}
