/* nnet.c: softmax and log_softmax along one axis, categorical cross-entropy.
 *
 * Both softmaxes subtract the row's max before exponentiating (no overflow for large inputs);
 * rows are computed in float64 and the result converted to the node's dtype. */
#include "tensor.h"

#include <math.h>

/* One row of n values at stride s: softmax (or log_softmax when lg) into o (same stride). */
static void softmax_row(const double *x, double *o, int64_t n, int64_t s, bool lg)
{
    double m = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; i++)
        if (x[i * s] > m || isnan(x[i * s])) m = x[i * s];
    if (!isfinite(m) && !isnan(m)) m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = exp(x[i * s] - m);
        o[i * s] = e;
        sum += e;
    }
    double lsum = log(sum);
    for (int64_t i = 0; i < n; i++) o[i * s] = lg ? x[i * s] - m - lsum : o[i * s] / sum;
}

sb_status sb_be_k_softmax(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *in = &c->in[0];
    int ax = in->ndim - 1;
    if (c->a->naxis >= 1) ax = sb_axis_norm(c->a->axis[0], in->ndim);
    if (ax < 0 && in->ndim > 0)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "axis %lld is out of bounds for array of dimension %d",
                           (long long)c->a->axis[0], in->ndim);
    sb_tensor x = sb_be_tensor_as(in, SB_DTYPE_F64);
    sb_tensor r = sb_be_tensor_new(SB_DTYPE_F64, x.ndim, x.shape);
    int64_t outer = 1, n = 1, inner = 1;
    if (x.ndim > 0) {
        for (int i = 0; i < ax; i++) outer *= x.shape[i];
        n = x.shape[ax];
        for (int i = ax + 1; i < x.ndim; i++) inner *= x.shape[i];
    }
    const double *xd = (const double *)x.buf->data + x.offset;
    double *rd = r.buf->data;
    bool lg = c->node->op == SB_OP_LOG_SOFTMAX;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t b = 0; b < inner; b++)
            softmax_row(xd + a * n * inner + b, rd + a * n * inner + b, n, inner, lg);
    sb_be_tensor_release(&x);
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}

/* categorical_crossentropy(p, t): p [..., C]; t integer labels [...] or float targets of p's
 * shape. Result [...] (leading dims broadcast): -log(p[..., t]) or -sum(t * log(p), axis=-1). */
sb_status sb_be_k_crossentropy(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *pin = &c->in[0], *tin = &c->in[1];
    if (pin->ndim == 0)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "categorical_crossentropy needs predictions with a class axis");
    int nd = c->out.ndim;
    int64_t full[SB_MAX_DIMS + 1], C = pin->shape[pin->ndim - 1];
    memcpy(full, c->out.dims, sizeof(int64_t) * (size_t)nd);
    full[nd] = C;
    sb_tensor pb = sb_be_tensor_bcast(pin, nd + 1, full);
    sb_tensor p = sb_be_tensor_as(&pb, SB_DTYPE_F64);
    sb_tensor r = sb_be_tensor_new(SB_DTYPE_F64, nd, c->out.dims);
    int64_t rows = sb_be_tensor_numel(&r);
    const double *pd = (const double *)p.buf->data + p.offset;
    double *rd = r.buf->data;
    sb_status st = SB_OK;
    bool labels = !sb_dtype_is_float(tin->dtype);
    sb_tensor tb = sb_be_tensor_bcast(tin, nd + !labels, full);
    sb_tensor t = sb_be_tensor_as(&tb, labels ? SB_DTYPE_I64 : SB_DTYPE_F64);
    if (labels) {
        const int64_t *td = (const int64_t *)t.buf->data + t.offset;
        for (int64_t i = 0; i < rows && !st; i++) {
            if (td[i] < 0 || td[i] >= C)
                st = sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                                 "categorical_crossentropy: label %lld is out of bounds for "
                                 "%lld classes", (long long)td[i], (long long)C);
            else
                rd[i] = -log(pd[i * C + td[i]]);
        }
    } else {
        const double *td = (const double *)t.buf->data + t.offset;
        for (int64_t i = 0; i < rows; i++) {
            double s = 0;
            for (int64_t k = 0; k < C; k++) s += td[i * C + k] * log(pd[i * C + k]);
            rd[i] = -s;
        }
    }
    sb_be_tensor_release(&t);
    sb_be_tensor_release(&p);
    if (st) {
        sb_be_tensor_release(&r);
        return st;
    }
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}
