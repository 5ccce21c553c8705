/* shape.c: shape ops. reshape (of contiguous data), transpose, expand_dims, squeeze, split and
 * broadcast_to are views of their input (no copy); concatenate and stack copy into a new tensor;
 * shape returns the dims as int64. */
#include "tensor.h"

static sb_status axis_error(const sb_be_call *c, int64_t axis, int ndim)
{
    return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                       "axis %lld is out of bounds for array of dimension %d", (long long)axis,
                       ndim);
}

sb_status sb_be_k_identity(const sb_be_call *c, sb_tensor *out)
{
    *out = c->in[0].dtype == c->out.dtype ? sb_be_tensor_ref(&c->in[0])
                                          : sb_be_tensor_as(&c->in[0], c->out.dtype);
    return SB_OK;
}

sb_status sb_be_k_reshape(const sb_be_call *c, sb_tensor *out)
{
    if (sb_type_numel(&c->out) != sb_be_tensor_numel(&c->in[0]))
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "cannot reshape array of size %lld into %d dims of size %lld",
                           (long long)sb_be_tensor_numel(&c->in[0]), c->out.ndim,
                           (long long)sb_type_numel(&c->out));
    sb_tensor r = sb_be_tensor_as(&c->in[0], c->in[0].dtype);
    r.ndim = c->out.ndim;
    memcpy(r.shape, c->out.dims, sizeof r.shape);
    sb_be_contig_strides(r.ndim, r.shape, r.strides);
    *out = r;
    return SB_OK;
}

sb_status sb_be_k_transpose(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *x = &c->in[0];
    sb_tensor r = sb_be_tensor_ref(x);
    bool seen[SB_MAX_DIMS] = {0};
    for (int i = 0; i < x->ndim; i++) {
        int p = c->a->naxis < 0 ? x->ndim - 1 - i : sb_axis_norm(c->a->axis[i], x->ndim);
        if (p < 0 || seen[p] || c->a->naxis > x->ndim) {
            sb_be_tensor_release(&r);
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "axes don't match array");
        }
        seen[p] = true;
        r.shape[i] = x->shape[p];
        r.strides[i] = x->strides[p];
    }
    *out = r;
    return SB_OK;
}

sb_status sb_be_k_expand_dims(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *x = &c->in[0];
    int nd = x->ndim + (c->a->naxis < 0 ? 1 : c->a->naxis);
    bool ins[SB_MAX_DIMS] = {0};
    if (c->a->naxis < 0) ins[0] = true;
    for (int k = 0; k < c->a->naxis; k++) {
        int p = sb_axis_norm(c->a->axis[k], nd);
        if (p < 0) return axis_error(c, c->a->axis[k], nd);
        ins[p] = true;
    }
    sb_tensor r = sb_be_tensor_ref(x);
    r.ndim = nd;
    for (int i = 0, j = 0; i < nd; i++) {
        r.shape[i] = ins[i] ? 1 : x->shape[j];
        r.strides[i] = ins[i] ? 0 : x->strides[j];
        j += !ins[i];
    }
    *out = r;
    return SB_OK;
}

/* Squeeze the axes given (eval.c turns "all statically size-1 dims" into explicit axes). */
sb_status sb_be_k_squeeze(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *x = &c->in[0];
    bool drop[SB_MAX_DIMS] = {0};
    for (int k = 0; k < c->a->naxis; k++) {
        int p = sb_axis_norm(c->a->axis[k], x->ndim);
        if (p < 0) return axis_error(c, c->a->axis[k], x->ndim);
        if (x->shape[p] != 1)
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                               "cannot select an axis to squeeze out which has size not equal "
                               "to one (axis %d has size %lld)", p, (long long)x->shape[p]);
        drop[p] = true;
    }
    for (int i = 0; i < x->ndim && c->a->naxis < 0; i++) drop[i] = x->shape[i] == 1;
    sb_tensor r = sb_be_tensor_ref(x);
    r.ndim = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (drop[i]) continue;
        r.shape[r.ndim] = x->shape[i];
        r.strides[r.ndim++] = x->strides[i];
    }
    *out = r;
    return SB_OK;
}

/* Axis of concatenate / stack / split against ndim (naxis -1 = 0); -1 if out of range. */
static int join_axis(const sb_be_call *c, int ndim)
{
    return c->a->naxis < 0 ? (ndim > 0 ? 0 : -1) : sb_axis_norm(c->a->axis[0], ndim);
}

sb_status sb_be_k_concatenate(const sb_be_call *c, sb_tensor *out)
{
    int ax = join_axis(c, c->out.ndim);
    if (ax < 0) return axis_error(c, c->a->naxis < 0 ? 0 : c->a->axis[0], c->out.ndim);
    sb_tensor r = sb_be_tensor_new(c->out.dtype, c->out.ndim, c->out.dims);
    int64_t pos = 0;
    for (int i = 0; i < c->nin; i++) {
        const sb_tensor *x = &c->in[i];
        SB_ASSERT(x->ndim == r.ndim);
        sb_tensor v = r;
        v.shape[ax] = x->shape[ax];
        v.offset = pos * r.strides[ax];
        sb_be_tensor_assign(&v, x);
        pos += x->shape[ax];
    }
    SB_ASSERT(pos == r.shape[ax]);
    *out = r;
    return SB_OK;
}

sb_status sb_be_k_stack(const sb_be_call *c, sb_tensor *out)
{
    int ax = join_axis(c, c->out.ndim);
    if (ax < 0) return axis_error(c, c->a->naxis < 0 ? 0 : c->a->axis[0], c->out.ndim);
    sb_tensor r = sb_be_tensor_new(c->out.dtype, c->out.ndim, c->out.dims);
    for (int i = 0; i < c->nin; i++) {
        sb_tensor v = r;
        v.ndim = r.ndim - 1;
        for (int d = ax; d < v.ndim; d++) {
            v.shape[d] = r.shape[d + 1];
            v.strides[d] = r.strides[d + 1];
        }
        v.offset = i * r.strides[ax];
        sb_be_tensor_assign(&v, &c->in[i]);
    }
    *out = r;
    return SB_OK;
}

sb_status sb_be_k_split(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *x = &c->in[0];
    int ax = join_axis(c, x->ndim);
    if (ax < 0) return axis_error(c, c->a->naxis < 0 ? 0 : c->a->axis[0], x->ndim);
    int64_t sec = c->a->k[0], part = c->a->k[1];
    if (sec <= 0 || x->shape[ax] % sec)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "array split does not result in an equal division (%lld into %lld)",
                           (long long)x->shape[ax], (long long)sec);
    if (part < 0 || part >= sec)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "split part %lld of %lld",
                           (long long)part, (long long)sec);
    sb_tensor r = sb_be_tensor_ref(x);
    r.shape[ax] = x->shape[ax] / sec;
    r.offset += part * r.shape[ax] * x->strides[ax];
    *out = r;
    return SB_OK;
}

sb_status sb_be_k_broadcast_to(const sb_be_call *c, sb_tensor *out)
{
    const sb_tensor *x = &c->in[0];
    bool ok = x->ndim <= c->out.ndim;
    for (int i = 0; ok && i < x->ndim; i++) {
        int64_t n = x->shape[i], m = c->out.dims[c->out.ndim - x->ndim + i];
        ok = n == m || n == 1;
    }
    if (!ok)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "operands could not be broadcast to the requested shape");
    sb_tensor r = sb_be_tensor_ref(x);
    *out = sb_be_tensor_bcast(&r, c->out.ndim, c->out.dims);
    return SB_OK;
}

sb_status sb_be_k_shape(const sb_be_call *c, sb_tensor *out)
{
    int64_t n = c->in[0].ndim;
    sb_tensor r = sb_be_tensor_new(SB_DTYPE_I64, 1, &n);
    memcpy(r.buf->data, c->in[0].shape, sizeof(int64_t) * (size_t)n);
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}
