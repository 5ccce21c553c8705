/* data.c: fitting raw data (from .npy / IDX files) to the type a graph declares for an input.
 *
 * The pipeline's data step: Fashion-MNIST images come as uint8[60000, 28, 28]; the graph says
 * float32[?, 784] and the pipeline asks for scale 1/255. sb_array_conform flattens the trailing
 * dims (or, where that cannot fit, reshapes as NumPy would), checks every known dim, converts the
 * dtype and scales, in that order. */
#include "core-impl.h"

/* The shape raw takes to reach ndim dims: the leading ndim-1 dims kept, the rest multiplied into
 * the last. False when raw has fewer dims than asked (nothing to flatten from). */
static bool flat_shape(const sb_array *raw, int ndim, int64_t *shape)
{
    if (raw->ndim < ndim) return false;
    if (ndim == 0) return sb_array_numel(raw) == 1; /* a one-element array to a scalar */
    for (int k = 0; k < ndim - 1; k++) shape[k] = raw->shape[k];
    int64_t last = 1;
    for (int k = ndim - 1; k < raw->ndim; k++) last *= raw->shape[k];
    shape[ndim - 1] = last;
    return true;
}

/* NumPy's reshape to the declared dims, for data the flattening rule cannot fit: all known dims
 * but at most one (-1), which takes what is left. False when the element counts disagree. */
static bool reshape_shape(const sb_array *raw, const sb_type *t, int64_t *shape)
{
    int64_t known = 1, numel = sb_array_numel(raw);
    int unknown = -1;
    for (int k = 0; k < t->ndim; k++) {
        if (t->dims[k] >= 0) known *= t->dims[k], shape[k] = t->dims[k];
        else if (unknown >= 0) return false; /* two unknown dims: ambiguous */
        else unknown = k;
    }
    if (unknown < 0) return known == numel;
    if (known == 0 || numel % known) return false;
    shape[unknown] = numel / known;
    return true;
}

/* Whether shape matches every known dim of t. */
static int first_mismatch(const sb_type *t, const int64_t *shape)
{
    for (int k = 0; k < t->ndim; k++)
        if (t->dims[k] >= 0 && t->dims[k] != shape[k]) return k;
    return -1;
}

static void shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
}

/* Convert with scaling: float results are computed in the declared dtype (as NumPy does for
 * x.astype(float32) * scale, a weak Python float). */
static void scale_into(const sb_array *raw, sb_array *out, double scale)
{
    int64_t n = sb_array_numel(raw);
    if (out->dtype == SB_DTYPE_F32 && raw->dtype == SB_DTYPE_U8) { /* images: one loop */
        float s = (float)scale, *o = out->data;
        const uint8_t *u = raw->data;
        for (int64_t i = 0; i < n; i++) o[i] = (float)u[i] * s;
    } else if (out->dtype == SB_DTYPE_F32) {
        float s = (float)scale, *o = out->data;
        for (int64_t i = 0; i < n; i++) o[i] = (float)sb_array_get_f64(raw, i) * s;
    } else {
        double *o = out->data;
        for (int64_t i = 0; i < n; i++) o[i] = sb_array_get_f64(raw, i) * scale;
    }
}

sb_array *sb_array_conform(const sb_array *raw, const sb_type *declared, double scale,
                           const char *what, sb_diag *d)
{
    SB_ASSERT(raw && declared && declared->dtype < SB_DTYPE_COUNT);
    what = what ? what : "data";
    char tbuf[160], sbuf[200];
    int64_t shape[SB_MAX_DIMS], alt[SB_MAX_DIMS];
    bool flat = flat_shape(raw, declared->ndim, shape);
    int bad = flat ? first_mismatch(declared, shape) : -1;
    if ((!flat || bad >= 0) && reshape_shape(raw, declared, alt)) {
        memcpy(shape, alt, sizeof shape);
        flat = true, bad = -1;
    }
    if (!flat) {
        shape_str(raw->ndim, raw->shape, sbuf, sizeof sbuf);
        sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "%s: data of shape %s cannot be fitted to %s", what,
                    sbuf, sb_type_str(declared, tbuf, sizeof tbuf));
        return NULL;
    }
    if (bad >= 0) {
        shape_str(declared->ndim, shape, sbuf, sizeof sbuf);
        sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0,
                    "%s: data of shape %s does not match declared %s (dim %d is %lld, not %lld)", what,
                    sbuf, sb_type_str(declared, tbuf, sizeof tbuf), bad, (long long)shape[bad],
                    (long long)declared->dims[bad]);
        return NULL;
    }
    if (scale != 1.0 && !sb_dtype_is_float(declared->dtype)) {
        sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "%s: scale %g needs a float type, not %s", what,
                    scale, sb_type_str(declared, tbuf, sizeof tbuf));
        return NULL;
    }
    sb_array *out;
    if (scale != 1.0) {
        out = sb_array_new(declared->dtype, declared->ndim, shape);
        scale_into(raw, out, scale);
    } else {
        out = raw->dtype == declared->dtype ? sb_array_copy(raw) : sb_array_cast(raw, declared->dtype);
        out->ndim = declared->ndim;
        memcpy(out->shape, shape, sizeof(int64_t) * (size_t)declared->ndim);
    }
    return out;
}
