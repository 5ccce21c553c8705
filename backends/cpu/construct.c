/* construct.c: constructors. zeros ones full zeros_like ones_like (fill), arange, eye, one_hot. */
#include "tensor.h"

#include <math.h>

/* Fill a new tensor of the result type with one value. */
sb_status sb_be_k_fill(const sb_be_call *c, sb_tensor *out)
{
    sb_op op = (sb_op)c->node->op;
    double v = op == SB_OP_FULL ? c->a->value : op == SB_OP_ONES || op == SB_OP_ONES_LIKE ? 1 : 0;
    sb_tensor r = sb_be_tensor_new(c->out.dtype, c->out.ndim, c->out.dims);
    sb_array one = {.dtype = SB_DTYPE_F64, .ndim = 0, .data = &v};
    sb_tensor s = sb_be_tensor_wrap(&one);
    sb_be_tensor_assign(&r, &s);
    sb_be_tensor_release(&s);
    *out = r;
    return SB_OK;
}

/* arange(start, stop, step): NumPy's length ceil((stop - start) / step), exact for integers. */
sb_status sb_be_k_arange(const sb_be_call *c, sb_tensor *out)
{
    bool ints = true;
    for (int i = 0; i < 3; i++) {
        if (c->in[i].ndim != 0)
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "arange: arguments must be scalars");
        ints &= !sb_dtype_is_float(c->in[i].dtype);
    }
    sb_dtype dt = c->out.dtype;
    int64_t n;
    sb_tensor r;
    if (ints) {
        int64_t a = sb_be_tensor_get_i64(&c->in[0], 0), b = sb_be_tensor_get_i64(&c->in[1], 0),
                s = sb_be_tensor_get_i64(&c->in[2], 0);
        if (s == 0) goto zero;
        n = s > 0 ? (b > a ? (b - a - 1) / s + 1 : 0) : (a > b ? (a - b - 1) / -s + 1 : 0);
        r = sb_be_tensor_new(SB_DTYPE_I64, 1, &n);
        for (int64_t i = 0; i < n; i++) ((int64_t *)r.buf->data)[i] = a + i * s;
    } else {
        double a = sb_be_tensor_get_f64(&c->in[0], 0), b = sb_be_tensor_get_f64(&c->in[1], 0),
               s = sb_be_tensor_get_f64(&c->in[2], 0);
        if (s == 0) goto zero;
        double len = ceil((b - a) / s);
        if (!(len >= 0)) len = 0; /* negative or NaN */
        n = (int64_t)len;
        r = sb_be_tensor_new(SB_DTYPE_F64, 1, &n);
        for (int64_t i = 0; i < n; i++) ((double *)r.buf->data)[i] = a + (double)i * s;
    }
    *out = sb_be_tensor_as(&r, dt);
    sb_be_tensor_release(&r);
    return SB_OK;
zero:
    return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "arange: step must not be zero");
}

sb_status sb_be_k_eye(const sb_be_call *c, sb_tensor *out)
{
    SB_ASSERT(c->out.ndim == 2);
    int64_t n = c->out.dims[0], m = c->out.dims[1];
    sb_tensor r = sb_be_tensor_zeros(SB_DTYPE_F64, 2, c->out.dims);
    for (int64_t i = 0; i < n && i < m; i++) ((double *)r.buf->data)[i * m + i] = 1;
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}

/* one_hot(y): [..., depth] with a 1 at each label; a label outside [0, depth) is an error. */
sb_status sb_be_k_one_hot(const sb_be_call *c, sb_tensor *out)
{
    int64_t depth = c->a->shape[0];
    sb_tensor y = sb_be_tensor_as(&c->in[0], SB_DTYPE_I64);
    int64_t n = sb_be_tensor_numel(&y);
    sb_tensor r = sb_be_tensor_zeros(SB_DTYPE_F64, c->out.ndim, c->out.dims);
    SB_ASSERT(sb_be_tensor_numel(&r) == n * depth);
    const int64_t *yd = (const int64_t *)y.buf->data + y.offset;
    for (int64_t i = 0; i < n; i++) {
        if (yd[i] < 0 || yd[i] >= depth) {
            int64_t bad = yd[i];
            sb_be_tensor_release(&y);
            sb_be_tensor_release(&r);
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                               "one_hot: label %lld is out of bounds for depth %lld",
                               (long long)bad, (long long)depth);
        }
        ((double *)r.buf->data)[i * depth + yd[i]] = 1;
    }
    sb_be_tensor_release(&y);
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}
