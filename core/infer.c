/* infer.c: the op table's type/shape rules.
 *
 * One static function infer_<rule> per `rule` name of ops.def, and a dispatch table built by
 * including ops.def. The same rule runs statically (dims may be -1 = unknown: the result keeps
 * what can be known) and at run time on concrete types (the result is then exact). Rules that
 * depend on values (arange, indexing bounds) read vals[i] when it is non-NULL.
 *
 * Conventions shared with the rest of the code (see docs/ops.md):
 * - NumPy broadcasting; an unknown dim against a known d != 1 gives d, against 1 gives unknown.
 * - NumPy promotion (sb_dtype_promote) with weak number literals (NEP 50): a weak operand takes
 *   the other operand's dtype unless it is of a higher kind (bool < int < float); the result of
 *   an op on weak scalars only is weak.
 * - Errors are SB_ERR_TYPE, name the op and the types involved; the caller adds file:line:col. */
#include "core-impl.h"

#include <math.h>
#include <stdarg.h>

#define TYPE_BUF 96

/* ---- small helpers ----------------------------------------------------------------------- */

static const char *op_name(sb_op op)
{
    return sb_op_get(op)->name;
}

/* Kind of a dtype for weak promotion: 0 bool, 1 int, 2 float. */
static int dtype_kind(sb_dtype t)
{
    return sb_dtype_is_float(t) ? 2 : sb_dtype_is_int(t) ? 1 : 0;
}

/* The dtype of a float op on t: floats keep, ints and bool go to float64 (NumPy's true_divide,
 * mean). Unary float functions use sb_dtype_to_float instead. */
static sb_dtype float_or_f64(sb_dtype t)
{
    return sb_dtype_is_float(t) ? t : SB_DTYPE_F64;
}

/* Promote two types' dtypes, honoring weak literals (NEP 50): a weak operand whose kind is not
 * higher than the strong one's takes the strong dtype; a higher-kind weak operand promotes with
 * its kind's default (int64 / float64). Two weak or two strong operands use NumPy promotion. */
static sb_dtype promote_weak(const sb_type *a, const sb_type *b)
{
    if (a->weak == b->weak) return sb_dtype_promote(a->dtype, b->dtype);
    const sb_type *w = a->weak ? a : b, *s = a->weak ? b : a;
    int kw = dtype_kind(w->dtype), ks = dtype_kind(s->dtype);
    if (kw <= ks) return s->dtype;
    return sb_dtype_promote(kw == 2 ? SB_DTYPE_F64 : SB_DTYPE_I64, s->dtype);
}

/* Promoted dtype and weakness of in[first..nin) folded left to right. */
static sb_type promote_all(int nin, const sb_type *const *in, int first)
{
    sb_type acc = *in[first];
    for (int i = first + 1; i < nin; i++) {
        acc.dtype = promote_weak(&acc, in[i]);
        acc.weak = acc.weak && in[i]->weak;
    }
    return acc;
}

static bool all_weak(int nin, const sb_type *const *in)
{
    for (int i = 0; i < nin; i++)
        if (!in[i]->weak) return false;
    return nin > 0;
}

/* "float32[3, 4]" into buf. */
static const char *tstr(const sb_type *t, char *buf)
{
    return sb_type_str(t, buf, TYPE_BUF);
}

/* A Python-style tuple "(5, -1)", "(3,)", "()" of v[0..n) into buf (n <= SB_MAX_DIMS). */
static const char *tuple_str(const int64_t *v, int n, char *buf)
{
    size_t k = (size_t)snprintf(buf, TYPE_BUF, "(");
    for (int i = 0; i < n && k < TYPE_BUF; i++)
        k += (size_t)snprintf(buf + k, TYPE_BUF - k, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (k < TYPE_BUF) snprintf(buf + k, TYPE_BUF - k, n == 1 ? ",)" : ")");
    return buf;
}

/* "float32[3], float32[4] and float32[5]" (the types of in[0..nin)) into buf of size n. */
static const char *types_list(int nin, const sb_type *const *in, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < nin && k < n; i++) {
        char t[TYPE_BUF];
        const char *sep = i == 0 ? "" : i == nin - 1 ? " and " : ", ";
        k += (size_t)snprintf(buf + k, n - k, "%s%s", sep, tstr(in[i], t));
    }
    return buf;
}

static sb_status type_err(sb_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill d with an SB_ERR_TYPE message (no position: the caller knows where the node came from). */
static sb_status type_err(sb_diag *d, const char *fmt, ...)
{
    char msg[sizeof d->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "%s", msg);
}

/* Broadcast one pair of dims (-1 = unknown); false if both are known, differ and neither is 1. */
static bool bcast_dim(int64_t a, int64_t b, int64_t *out)
{
    if (a == b || b == 1) *out = a;
    else if (a == 1) *out = b;
    else if (a < 0) *out = b;
    else if (b < 0) *out = a;
    else return false;
    return true;
}

/* NumPy broadcasting of the shapes of in[0..nin) into out's ndim/dims. */
static sb_status broadcast(sb_op op, int nin, const sb_type *const *in, sb_type *out,
                           sb_diag *d)
{
    int nd = 0;
    for (int i = 0; i < nin; i++) nd = in[i]->ndim > nd ? in[i]->ndim : nd;
    out->ndim = (int8_t)nd;
    for (int k = 0; k < nd; k++) out->dims[k] = 1;
    for (int i = 0; i < nin; i++) {
        int off = nd - in[i]->ndim;
        for (int k = 0; k < in[i]->ndim; k++) {
            if (!bcast_dim(out->dims[off + k], in[i]->dims[k], &out->dims[off + k])) {
                char buf[512];
                return type_err(d, "%s: shapes %s cannot be broadcast", op_name(op),
                                types_list(nin, in, buf, sizeof buf));
            }
        }
    }
    return SB_OK;
}

/* out = a fresh type of dtype dt (not weak, no dims). */
static void type_reset(sb_type *out, sb_dtype dt)
{
    *out = sb_type_make(dt, 0, NULL);
}

/* Normalize axis against ndim or report "<op>: axis A is out of range for a N-d input". */
static sb_status norm_axis(sb_op op, int64_t axis, int ndim, int *out, sb_diag *d)
{
    int ax = sb_axis_norm(axis, ndim);
    if (ax < 0)
        return type_err(d, "%s: axis %lld is out of range for a %d-d input", op_name(op),
                        (long long)axis, ndim);
    *out = ax;
    return SB_OK;
}

/* The input's value as an int64 scalar, if vals gives it; false otherwise. */
static bool val_i64(const sb_array *const *vals, int i, int64_t *v)
{
    if (!vals || !vals[i] || sb_array_numel(vals[i]) != 1) return false;
    *v = sb_array_get_i64(vals[i], 0);
    return true;
}

/* ---- leaves and elementwise -------------------------------------------------------------- */

/* Leaves (input, shared, const, ?x) have their type given, never inferred. */
static sb_status infer_leaf(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                            const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    return type_err(d, "'%s' is not an operation", op_name(op));
}

/* neg abs sign sqr relu floor ceil round disconnected_grad: same type (ints stay ints). */
static sb_status infer_unary(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    *out = *in[0];
    return SB_OK;
}

/* exp log sqrt tanh ...: same shape; ints and bool go to float (sb_dtype_to_float). */
static sb_status infer_unary_float(sb_op op, int nin, const sb_type *const *in,
                                   const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                   sb_diag *d)
{
    *out = *in[0];
    out->dtype = sb_dtype_to_float(in[0]->dtype);
    return SB_OK;
}

/* logical_not / logical_and / logical_or: broadcast, bool. */
static sb_status infer_logical(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    type_reset(out, SB_DTYPE_BOOL);
    sb_status st = broadcast(op, nin, in, out, d);
    if (st) return st;
    out->weak = all_weak(nin, in);
    return SB_OK;
}

/* cast(x, dtype): x's shape, attrs.dtype (required); never weak. */
static sb_status infer_cast(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                            const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    if (a->dtype < 0 || a->dtype >= SB_DTYPE_COUNT)
        return type_err(d, "%s: no target dtype given", op_name(op));
    *out = *in[0];
    out->dtype = (sb_dtype)a->dtype;
    out->weak = false;
    return SB_OK;
}

/* add sub mul ...: broadcast, weak-aware NumPy promotion. */
static sb_status infer_binary(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                              const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_type p = promote_all(nin, in, 0);
    type_reset(out, p.dtype);
    sb_status st = broadcast(op, nin, in, out, d);
    if (st) return st;
    out->weak = p.weak;
    return SB_OK;
}

/* div: as binary, then ints and bool go to float64 (NumPy true division). */
static sb_status infer_binary_float(sb_op op, int nin, const sb_type *const *in,
                                    const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                    sb_diag *d)
{
    sb_status st = infer_binary(op, nin, in, a, vals, out, d);
    out->dtype = float_or_f64(out->dtype);
    return st;
}

/* lt le gt ge eq ne: broadcast, bool. */
static sb_status infer_compare(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    return infer_logical(op, nin, in, a, vals, out, d);
}

/* where(c, a, b): broadcast all three; dtype promotes a and b (c may be any dtype). */
static sb_status infer_where(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_type p = promote_all(nin, in, 1);
    type_reset(out, p.dtype);
    sb_status st = broadcast(op, nin, in, out, d);
    if (st) return st;
    out->weak = all_weak(nin, in);
    return SB_OK;
}

/* clip(x, lo, hi): broadcast; x's dtype promoted with the bounds that are not weak literals. */
static sb_status infer_clip(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                            const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_type p = *in[0];
    for (int i = 1; i < nin; i++) {
        if (in[i]->weak && !p.weak) continue;
        p.dtype = promote_weak(&p, in[i]);
        p.weak = p.weak && in[i]->weak;
    }
    type_reset(out, p.dtype);
    sb_status st = broadcast(op, nin, in, out, d);
    if (st) return st;
    out->weak = p.weak;
    return SB_OK;
}

/* ---- reductions -------------------------------------------------------------------------- */

/* Mark the reduced axes of x in red[] (attrs.naxis -1 = all); reports out-of-range and repeated
 * axes, and (when `needs_data`) a known empty reduced axis, which has no identity. */
static sb_status reduced_axes(sb_op op, const sb_type *x, const sb_attrs *a, bool needs_data,
                              bool red[SB_MAX_DIMS], sb_diag *d)
{
    for (int k = 0; k < SB_MAX_DIMS; k++) red[k] = a->naxis < 0;
    for (int i = 0; i < a->naxis; i++) {
        int ax = 0;
        if (norm_axis(op, a->axis[i], x->ndim, &ax, d)) return SB_ERR_TYPE;
        if (red[ax]) return type_err(d, "%s: axis %d is repeated", op_name(op), ax);
        red[ax] = true;
    }
    for (int k = 0; needs_data && k < x->ndim; k++) {
        if (red[k] && x->dims[k] == 0) {
            char t[TYPE_BUF];
            return type_err(d, "%s: cannot reduce %s over its empty axis %d (no identity)",
                            op_name(op), tstr(x, t), k);
        }
    }
    return SB_OK;
}

/* out's dims: x's without the reduced axes, or with them set to 1 under keepdims. */
static void reduce_dims(const sb_type *x, const bool red[SB_MAX_DIMS], bool keepdims, sb_type *out)
{
    out->ndim = 0;
    for (int k = 0; k < x->ndim; k++) {
        if (!red[k]) out->dims[out->ndim++] = x->dims[k];
        else if (keepdims) out->dims[out->ndim++] = 1;
    }
}

/* sum prod max min: sum/prod of bool/u8/i32 give int64 (NumPy); max/min keep the dtype. */
static sb_status infer_reduce(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                              const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    bool red[SB_MAX_DIMS];
    bool minmax = op == SB_OP_MAX || op == SB_OP_MIN;
    if (reduced_axes(op, in[0], a, minmax, red, d)) return SB_ERR_TYPE;
    sb_dtype dt = in[0]->dtype;
    if (!minmax && !sb_dtype_is_float(dt)) dt = SB_DTYPE_I64;
    type_reset(out, dt);
    reduce_dims(in[0], red, a->keepdims, out);
    out->weak = in[0]->weak;
    return SB_OK;
}

/* mean logsumexp: as sum; ints and bool give float64. */
static sb_status infer_reduce_float(sb_op op, int nin, const sb_type *const *in,
                                    const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                    sb_diag *d)
{
    bool red[SB_MAX_DIMS];
    if (reduced_axes(op, in[0], a, op == SB_OP_LOGSUMEXP, red, d)) return SB_ERR_TYPE;
    type_reset(out, float_or_f64(in[0]->dtype));
    reduce_dims(in[0], red, a->keepdims, out);
    out->weak = in[0]->weak;
    return SB_OK;
}

/* argmax argmin: over the flattened input (naxis -1) or one axis; int64; keepdims keeps 1s. */
static sb_status infer_argreduce(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                                 const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    if (a->naxis > 1)
        return type_err(d, "%s: takes one axis, got %d", op_name(op), a->naxis);
    const sb_type *x = in[0];
    bool red[SB_MAX_DIMS];
    if (reduced_axes(op, x, a, false, red, d)) return SB_ERR_TYPE;
    for (int k = 0; k < x->ndim; k++) {
        char t[TYPE_BUF];
        if (red[k] && x->dims[k] == 0)
            return type_err(d, "%s: cannot take the %s over the empty axis %d of %s",
                            op_name(op), op_name(op), k, tstr(x, t));
    }
    type_reset(out, SB_DTYPE_I64);
    reduce_dims(x, red, a->keepdims, out);
    return SB_OK;
}

/* all any: as sum, bool. */
static sb_status infer_reduce_bool(sb_op op, int nin, const sb_type *const *in,
                                   const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                   sb_diag *d)
{
    bool red[SB_MAX_DIMS];
    if (reduced_axes(op, in[0], a, false, red, d)) return SB_ERR_TYPE;
    type_reset(out, SB_DTYPE_BOOL);
    reduce_dims(in[0], red, a->keepdims, out);
    out->weak = in[0]->weak;
    return SB_OK;
}

/* ---- neural-net ops ---------------------------------------------------------------------- */

/* softmax log_softmax: same shape, float; one axis (naxis -1 = last) that must exist. */
static sb_status infer_unary_float_axis(sb_op op, int nin, const sb_type *const *in,
                                        const sb_attrs *a, const sb_array *const *vals,
                                        sb_type *out, sb_diag *d)
{
    if (a->naxis > 1)
        return type_err(d, "%s: takes one axis, got %d", op_name(op), a->naxis);
    int ax = 0;
    if (norm_axis(op, a->naxis == 1 ? a->axis[0] : -1, in[0]->ndim, &ax, d)) return SB_ERR_TYPE;
    *out = *in[0];
    out->dtype = sb_dtype_to_float(in[0]->dtype);
    out->weak = false;
    return SB_OK;
}

/* categorical_crossentropy(p, t): p float [..., C]; t int labels [...] or float targets shaped
 * like p; result [...] (the leading dims broadcast), p's float dtype (promoted with float t). */
static sb_status infer_crossentropy(sb_op op, int nin, const sb_type *const *in,
                                    const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                    sb_diag *d)
{
    const sb_type *p = in[0], *t = in[1];
    char tp[TYPE_BUF], tt[TYPE_BUF];
    if (p->ndim < 1)
        return type_err(d, "%s: predictions must have at least 1 dimension, got %s",
                        op_name(op), tstr(p, tp));
    sb_type lead = *p, tl = *t;
    lead.ndim = (int8_t)(p->ndim - 1);
    if (sb_dtype_is_float(t->dtype)) {
        /* float targets: exactly the predictions' shape (no broadcasting, as in PyTensor) */
        bool same = t->ndim == p->ndim;
        for (int i = 0; same && i < p->ndim; i++)
            same = p->dims[i] < 0 || t->dims[i] < 0 || p->dims[i] == t->dims[i];
        if (!same)
            return type_err(d, "%s: targets %s must have the shape of the predictions %s",
                            op_name(op), tstr(t, tt), tstr(p, tp));
        tl.ndim = (int8_t)(t->ndim - 1);
    } else if (t->ndim != p->ndim - 1) {
        return type_err(d, "%s: integer labels %s must have one dimension fewer than the "
                        "predictions %s", op_name(op), tstr(t, tt), tstr(p, tp));
    }
    const sb_type *pair[2] = {&lead, &tl};
    sb_dtype dt = sb_dtype_to_float(p->dtype);
    if (sb_dtype_is_float(t->dtype)) dt = sb_dtype_promote(dt, t->dtype);
    type_reset(out, dt);
    sb_diag tmp = {0};
    if (broadcast(op, 2, pair, out, &tmp))
        return type_err(d, "%s: targets %s do not match the predictions %s", op_name(op),
                        tstr(t, tt), tstr(p, tp));
    return SB_OK;
}

/* ---- linear algebra ---------------------------------------------------------------------- */

/* matmul (NumPy): 1-d operands are promoted (and the added dim dropped from the result); the
 * inner dims must agree; batch dims broadcast; weak-aware promotion. */
static sb_status infer_matmul(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                              const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char ta[TYPE_BUF], tb[TYPE_BUF];
    if (in[0]->ndim < 1 || in[1]->ndim < 1)
        return type_err(d, "%s: operands must have at least 1 dimension, got %s and %s",
                        op_name(op), tstr(in[0], ta), tstr(in[1], tb));
    sb_type x = *in[0], y = *in[1];
    bool xvec = x.ndim == 1, yvec = y.ndim == 1;
    if (xvec) x.dims[1] = x.dims[0], x.dims[0] = 1, x.ndim = 2;
    if (yvec) y.dims[1] = 1, y.ndim = 2;
    int64_t k1 = x.dims[x.ndim - 1], k2 = y.dims[y.ndim - 2];
    if (k1 >= 0 && k2 >= 0 && k1 != k2)
        return type_err(d, "%s: inner dimensions %lld and %lld differ (%s @ %s)", op_name(op),
                        (long long)k1, (long long)k2, tstr(in[0], ta), tstr(in[1], tb));
    sb_type bx = x, by = y;
    bx.ndim = (int8_t)(x.ndim - 2), by.ndim = (int8_t)(y.ndim - 2);
    const sb_type *pair[2] = {&bx, &by};
    type_reset(out, promote_weak(in[0], in[1]));
    sb_diag tmp = {0};
    if (broadcast(op, 2, pair, out, &tmp))
        return type_err(d, "%s: batch dimensions of %s and %s cannot be broadcast", op_name(op),
                        tstr(in[0], ta), tstr(in[1], tb));
    if (out->ndim + 2 > SB_MAX_DIMS) return type_err(d, "%s: too many dimensions", op_name(op));
    if (!xvec) out->dims[out->ndim++] = x.dims[x.ndim - 2];
    if (!yvec) out->dims[out->ndim++] = y.dims[y.ndim - 1];
    out->weak = in[0]->weak && in[1]->weak;
    return SB_OK;
}

/* outer(a, b): [a.size, b.size] (sizes of the flattened operands), promoted dtype. */
static sb_status infer_outer(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    int64_t dims[2] = {sb_type_numel(in[0]), sb_type_numel(in[1])};
    *out = sb_type_make(promote_weak(in[0], in[1]), 2, dims);
    return SB_OK;
}

/* ---- shape ops --------------------------------------------------------------------------- */

/* reshape(x, shape): at most one -1, resolved when x's size is known; sizes must agree. */
static sb_status infer_reshape(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char ts[TYPE_BUF], tx[TYPE_BUF];
    if (a->nshape < 0) return type_err(d, "%s: no shape given", op_name(op));
    int hole = -1;
    int64_t known = 1;
    for (int i = 0; i < a->nshape; i++) {
        if (a->shape[i] == -1 && hole < 0) hole = i;
        else if (a->shape[i] < 0)
            return type_err(d, "%s: bad target shape %s (sizes must be >= 0, at most one -1)",
                            op_name(op), tuple_str(a->shape, a->nshape, ts));
        else known *= a->shape[i];
    }
    *out = sb_type_make(in[0]->dtype, a->nshape, a->shape);
    out->weak = in[0]->weak;
    int64_t n = sb_type_numel(in[0]), part = 1;
    if (n < 0) {
        /* sizes are checked at run time, but the known dims must already divide the target */
        for (int k = 0; k < in[0]->ndim; k++) part *= in[0]->dims[k] >= 0 ? in[0]->dims[k] : 1;
        if (hole < 0 && known != 0 && part != 0 && known % part != 0)
            return type_err(d, "%s: cannot reshape %s into %s", op_name(op), tstr(in[0], tx),
                            tuple_str(a->shape, a->nshape, ts));
        return SB_OK;
    }
    if (hole >= 0 ? (known == 0 || n % known != 0) : known != n)
        return type_err(d, "%s: cannot reshape %lld elements (%s) into %s", op_name(op),
                        (long long)n, tstr(in[0], tx), tuple_str(a->shape, a->nshape, ts));
    if (hole >= 0) out->dims[hole] = n / known;
    return SB_OK;
}

/* transpose(x, axes): axes is a permutation (naxis -1 = reverse the dims). */
static sb_status infer_transpose(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                                 const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    const sb_type *x = in[0];
    *out = *x;
    out->weak = false;
    if (a->naxis < 0) {
        for (int k = 0; k < x->ndim; k++) out->dims[k] = x->dims[x->ndim - 1 - k];
        return SB_OK;
    }
    char ts[TYPE_BUF], tx[TYPE_BUF];
    if (a->naxis != x->ndim)
        return type_err(d, "%s: axes %s do not match the %d dimensions of %s", op_name(op),
                        tuple_str(a->axis, a->naxis, ts), x->ndim, tstr(x, tx));
    bool seen[SB_MAX_DIMS] = {false};
    for (int k = 0; k < x->ndim; k++) {
        int ax = sb_axis_norm(a->axis[k], x->ndim);
        if (ax < 0 || seen[ax])
            return type_err(d, "%s: axes %s are not a permutation of the dimensions of %s",
                            op_name(op), tuple_str(a->axis, a->naxis, ts), tstr(x, tx));
        seen[ax] = true;
        out->dims[k] = x->dims[ax];
    }
    return SB_OK;
}

/* expand_dims(x, axes): axes are positions in the result (ndim + naxis dims), size 1 there. */
static sb_status infer_expand_dims(sb_op op, int nin, const sb_type *const *in,
                                   const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                   sb_diag *d)
{
    const sb_type *x = in[0];
    if (a->naxis < 1) return type_err(d, "%s: no axis given", op_name(op));
    int nd = x->ndim + a->naxis;
    if (nd > SB_MAX_DIMS)
        return type_err(d, "%s: the result would have %d dimensions (at most %d)", op_name(op),
                        nd, SB_MAX_DIMS);
    bool ins[SB_MAX_DIMS] = {false};
    for (int i = 0; i < a->naxis; i++) {
        int ax = sb_axis_norm(a->axis[i], nd);
        if (ax < 0)
            return type_err(d, "%s: axis %lld is out of range for a %d-d result", op_name(op),
                            (long long)a->axis[i], nd);
        if (ins[ax]) return type_err(d, "%s: axis %d is repeated", op_name(op), ax);
        ins[ax] = true;
    }
    *out = sb_type_make(x->dtype, nd, NULL);
    for (int k = 0, j = 0; k < nd; k++) out->dims[k] = ins[k] ? 1 : x->dims[j++];
    return SB_OK;
}

/* squeeze(x, axes): drop the given dims, which must have size 1 (unknown ones are checked at run
 * time); naxis -1 drops every dim statically known to be 1. */
static sb_status infer_squeeze(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    const sb_type *x = in[0];
    bool drop[SB_MAX_DIMS] = {false};
    for (int k = 0; a->naxis < 0 && k < x->ndim; k++) drop[k] = x->dims[k] == 1;
    for (int i = 0; i < a->naxis; i++) {
        int ax = 0;
        char tx[TYPE_BUF];
        if (norm_axis(op, a->axis[i], x->ndim, &ax, d)) return SB_ERR_TYPE;
        if (drop[ax]) return type_err(d, "%s: axis %d is repeated", op_name(op), ax);
        if (x->dims[ax] >= 0 && x->dims[ax] != 1)
            return type_err(d, "%s: cannot squeeze axis %d of size %lld in %s", op_name(op), ax,
                            (long long)x->dims[ax], tstr(x, tx));
        drop[ax] = true;
    }
    type_reset(out, x->dtype);
    for (int k = 0; k < x->ndim; k++)
        if (!drop[k]) out->dims[out->ndim++] = x->dims[k];
    return SB_OK;
}

/* Unify dim k of two types that must agree (concatenate, stack): -1 takes the known one. */
static bool unify_dim(int64_t a, int64_t b, int64_t *out)
{
    if (a >= 0 && b >= 0 && a != b) return false;
    *out = a >= 0 ? a : b;
    return true;
}

/* Check that in[0..nin) have one rank and agree on every dim except `skip` (-1: none); out gets
 * the unified dims and the promoted dtype. */
static sb_status same_shapes(sb_op op, int nin, const sb_type *const *in, int skip, sb_type *out,
                             sb_diag *d)
{
    char t0[TYPE_BUF], ti[TYPE_BUF];
    sb_type p = promote_all(nin, in, 0);
    *out = *in[0];
    out->dtype = p.dtype;
    out->weak = p.weak;
    for (int i = 1; i < nin; i++) {
        if (in[i]->ndim != in[0]->ndim)
            return type_err(d, "%s: inputs %s and %s differ in rank", op_name(op),
                            tstr(in[0], t0), tstr(in[i], ti));
        for (int k = 0; k < in[0]->ndim; k++) {
            if (k != skip && !unify_dim(out->dims[k], in[i]->dims[k], &out->dims[k]))
                return type_err(d, "%s: inputs %s and %s differ in dimension %d", op_name(op),
                                tstr(in[0], t0), tstr(in[i], ti), k);
        }
    }
    return SB_OK;
}

/* concatenate(xs..., axis): same rank >= 1, equal dims except along axis, which adds up. */
static sb_status infer_concatenate(sb_op op, int nin, const sb_type *const *in,
                                   const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                   sb_diag *d)
{
    char t0[TYPE_BUF];
    if (nin < 1) return type_err(d, "%s: needs at least one input", op_name(op));
    if (in[0]->ndim < 1)
        return type_err(d, "%s: zero-dimensional input %s cannot be concatenated", op_name(op),
                        tstr(in[0], t0));
    int ax = 0;
    if (norm_axis(op, a->naxis > 0 ? a->axis[0] : 0, in[0]->ndim, &ax, d)) return SB_ERR_TYPE;
    sb_status st = same_shapes(op, nin, in, ax, out, d);
    if (st) return st;
    int64_t sum = 0;
    for (int i = 0; i < nin && sum >= 0; i++)
        sum = in[i]->dims[ax] < 0 ? -1 : sum + in[i]->dims[ax];
    out->dims[ax] = sum;
    out->weak = false;
    return SB_OK;
}

/* stack(xs..., axis): same shapes; a new dim of size nin at axis (a position in the result). */
static sb_status infer_stack(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    if (nin < 1) return type_err(d, "%s: needs at least one input", op_name(op));
    int nd = in[0]->ndim + 1, ax;
    if (nd > SB_MAX_DIMS) return type_err(d, "%s: too many dimensions", op_name(op));
    int64_t axis = a->naxis > 0 ? a->axis[0] : 0;
    ax = sb_axis_norm(axis, nd);
    if (ax < 0)
        return type_err(d, "%s: axis %lld is out of range for a %d-d result", op_name(op),
                        (long long)axis, nd);
    sb_type s;
    sb_status st = same_shapes(op, nin, in, -1, &s, d);
    if (st) return st;
    type_reset(out, s.dtype);
    out->ndim = (int8_t)nd;
    for (int k = 0, j = 0; k < nd; k++) out->dims[k] = k == ax ? nin : s.dims[j++];
    return SB_OK;
}

/* split(x, sections, axis)[part]: one of k[0] equal parts along axis. */
static sb_status infer_split(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    const sb_type *x = in[0];
    char tx[TYPE_BUF];
    int64_t n = a->k[0], part = a->k[1];
    if (n < 1) return type_err(d, "%s: the number of sections must be >= 1, got %lld",
                               op_name(op), (long long)n);
    if (part < 0 || part >= n)
        return type_err(d, "%s: part %lld is out of range for %lld sections", op_name(op),
                        (long long)part, (long long)n);
    if (x->ndim < 1)
        return type_err(d, "%s: cannot split a zero-dimensional input %s", op_name(op),
                        tstr(x, tx));
    int ax = 0;
    if (norm_axis(op, a->naxis > 0 ? a->axis[0] : 0, x->ndim, &ax, d)) return SB_ERR_TYPE;
    if (x->dims[ax] >= 0 && x->dims[ax] % n != 0)
        return type_err(d, "%s: axis %d of %s (size %lld) cannot be split into %lld equal "
                        "sections", op_name(op), ax, tstr(x, tx), (long long)x->dims[ax],
                        (long long)n);
    *out = *x;
    out->weak = false;
    if (x->dims[ax] >= 0) out->dims[ax] = x->dims[ax] / n;
    return SB_OK;
}

/* broadcast_to(x, shape): NumPy's rule, x's dims right-aligned against shape. */
static sb_status infer_broadcast_to(sb_op op, int nin, const sb_type *const *in,
                                    const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                    sb_diag *d)
{
    const sb_type *x = in[0];
    char tx[TYPE_BUF], ts[TYPE_BUF];
    if (a->nshape < 0) return type_err(d, "%s: no shape given", op_name(op));
    for (int i = 0; i < a->nshape; i++)
        if (a->shape[i] < 0)
            return type_err(d, "%s: bad target shape %s", op_name(op),
                            tuple_str(a->shape, a->nshape, ts));
    int off = a->nshape - x->ndim;
    for (int k = 0; k < x->ndim; k++) {
        int64_t s = x->dims[k];
        if (off < 0 || (s >= 0 && s != 1 && s != a->shape[off + k]))
            return type_err(d, "%s: cannot broadcast %s to %s", op_name(op), tstr(x, tx),
                            tuple_str(a->shape, a->nshape, ts));
    }
    *out = sb_type_make(x->dtype, a->nshape, a->shape);
    return SB_OK;
}

/* shape(x): int64 [x.ndim]. */
static sb_status infer_shape(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    int64_t n = in[0]->ndim;
    *out = sb_type_make(SB_DTYPE_I64, 1, &n);
    return SB_OK;
}

/* The dtype a constructor makes: attrs.dtype, or float64 when none is given. */
static sb_dtype ctor_dtype(const sb_attrs *a)
{
    return a->dtype >= 0 && a->dtype < SB_DTYPE_COUNT ? (sb_dtype)a->dtype : SB_DTYPE_F64;
}

/* zeros / ones / full(shape, value): attrs.shape (sizes >= 0), attrs.dtype (none = float64). */
static sb_status infer_fill(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                            const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char ts[TYPE_BUF];
    if (a->nshape < 0) return type_err(d, "%s: no shape given", op_name(op));
    for (int i = 0; i < a->nshape; i++)
        if (a->shape[i] < 0)
            return type_err(d, "%s: negative size in shape %s", op_name(op),
                            tuple_str(a->shape, a->nshape, ts));
    *out = sb_type_make(ctor_dtype(a), a->nshape, a->shape);
    return SB_OK;
}

/* zeros_like / ones_like(x): x's type; attrs.dtype overrides the dtype. */
static sb_status infer_fill_like(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                                 const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    *out = *in[0];
    if (a->dtype >= 0 && a->dtype < SB_DTYPE_COUNT) {
        out->dtype = (sb_dtype)a->dtype;
        out->weak = false;
    }
    return SB_OK;
}

/* Number of elements of arange(start, stop, step) (NumPy: ceil((stop - start) / step), >= 0),
 * from the inputs' values: integer arithmetic when all are ints, else double. */
static sb_status arange_len(sb_op op, const sb_type *const *in, const sb_array *const *vals,
                            bool ints, int64_t *len, sb_diag *d)
{
    double v[3];
    for (int i = 0; i < 3; i++) v[i] = sb_array_get_f64(vals[i], 0);
    if (v[2] == 0) return type_err(d, "%s: step must not be zero", op_name(op));
    if (ints) {
        int64_t s = sb_array_get_i64(vals[0], 0), e = sb_array_get_i64(vals[1], 0);
        int64_t st = sb_array_get_i64(vals[2], 0);
        int64_t n = st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st;
        *len = n > 0 ? n : 0;
        return SB_OK;
    }
    double n = ceil((v[1] - v[0]) / v[2]);
    if (!(n < 9.0e18)) return type_err(d, "%s: the result would be too large", op_name(op));
    *len = n > 0 ? (int64_t)n : 0;
    return SB_OK;
}

/* arange(start, stop, step): scalar inputs; int64 if all are ints (or bool), else float64
 * (attrs.dtype overrides); the length is known when all three values are. */
static sb_status infer_arange(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                              const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char t[TYPE_BUF];
    static const char *what[3] = {"start", "stop", "step"};
    bool ints = true;
    for (int i = 0; i < 3; i++) {
        if (in[i]->ndim != 0)
            return type_err(d, "%s: %s must be a scalar, got %s", op_name(op), what[i],
                            tstr(in[i], t));
        ints = ints && !sb_dtype_is_float(in[i]->dtype);
    }
    int64_t len = -1;
    if (vals && vals[0] && vals[1] && vals[2]) {
        sb_status st = arange_len(op, in, vals, ints, &len, d);
        if (st) return st;
    }
    sb_dtype dt = ints ? SB_DTYPE_I64 : SB_DTYPE_F64;
    if (a->dtype >= 0 && a->dtype < SB_DTYPE_COUNT) dt = (sb_dtype)a->dtype;
    *out = sb_type_make(dt, 1, &len);
    return SB_OK;
}

/* eye(n, m): attrs.shape (n) or (n, m); attrs.dtype (none = float64). */
static sb_status infer_eye(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                           const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char ts[TYPE_BUF];
    if (a->nshape < 1 || a->nshape > 2 || a->shape[0] < 0 ||
        (a->nshape == 2 && a->shape[1] < 0))
        return type_err(d, "%s: expected a size n or (n, m) with sizes >= 0, got %s",
                        op_name(op), tuple_str(a->shape, a->nshape > 0 ? a->nshape : 0, ts));
    int64_t dims[2] = {a->shape[0], a->shape[a->nshape - 1]};
    *out = sb_type_make(ctor_dtype(a), 2, dims);
    return SB_OK;
}

/* one_hot(y, depth): integer labels y -> y's dims ++ [depth], attrs.dtype (none = float64). */
static sb_status infer_one_hot(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char t[TYPE_BUF];
    const sb_type *y = in[0];
    if (!sb_dtype_is_int(y->dtype))
        return type_err(d, "%s: labels must be integers, got %s", op_name(op), tstr(y, t));
    if (a->nshape < 1 || a->shape[0] < 0)
        return type_err(d, "%s: expected a depth >= 0", op_name(op));
    if (y->ndim + 1 > SB_MAX_DIMS) return type_err(d, "%s: too many dimensions", op_name(op));
    *out = sb_type_make(ctor_dtype(a), y->ndim + 1, y->dims);
    out->dims[y->ndim] = a->shape[0];
    return SB_OK;
}

/* ---- indexing ---------------------------------------------------------------------------- */

/* What the index rules share: the node's inputs, known values, and the first input that may hold
 * an index (1 for subtensor, 2 for set/inc_subtensor). */
typedef struct index_env {
    sb_op op;
    int nin, first;
    const sb_type *const *in;
    const sb_array *const *vals;
    sb_diag *d;
} index_env;

/* The input an SB_IARG_INPUT / SB_INDEX_ARRAY entry names, checked to exist. */
static sb_status index_input(const index_env *e, int64_t v, const sb_type **t)
{
    if (v < e->first || v >= e->nin)
        return type_err(e->d, "%s: index refers to input %lld, which does not exist",
                        op_name(e->op), (long long)v);
    *t = e->in[v];
    return SB_OK;
}

/* One index component: *known = false when absent or dynamic without a value in vals. */
static sb_status iarg_get(const index_env *e, const sb_iarg *g, bool *known, int64_t *v)
{
    *known = g->kind == SB_IARG_CONST;
    *v = g->v;
    if (g->kind != SB_IARG_INPUT) return SB_OK;
    const sb_type *t = NULL;
    char ts[TYPE_BUF];
    sb_status st = index_input(e, g->v, &t);
    if (st) return st;
    if (t->ndim != 0 || !(sb_dtype_is_int(t->dtype) || t->dtype == SB_DTYPE_BOOL))
        return type_err(e->d, "%s: a dynamic index must be an integer scalar, got %s",
                        op_name(e->op), tstr(t, ts));
    *known = val_i64(e->vals, (int)g->v, v);
    return SB_OK;
}

/* Python's slice.indices: clamp a start/stop bound against a dim of size n. */
static int64_t slice_bound(bool given, int64_t b, int64_t n, int64_t step, bool is_start)
{
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1;
    if (!given) return (step > 0) == is_start ? lo : hi;
    if (b < 0) {
        b += n;
        return b < lo ? lo : b;
    }
    return b > hi ? hi : b;
}

/* The length of x[start:stop:step] along a dim of size n (-1 = unknown): exact when n and every
 * given bound are known. */
static sb_status slice_len(const index_env *e, int64_t n, const sb_index *ix, int64_t *len)
{
    bool kn[3];
    int64_t v[3];
    for (int i = 0; i < 3; i++) {
        sb_status st = iarg_get(e, &ix->a[i], &kn[i], &v[i]);
        if (st) return st;
    }
    bool has[3] = {ix->a[0].kind != SB_IARG_NONE, ix->a[1].kind != SB_IARG_NONE,
                   ix->a[2].kind != SB_IARG_NONE};
    int64_t step = has[2] ? v[2] : 1;
    if (has[2] && kn[2] && step == 0)
        return type_err(e->d, "%s: slice step cannot be zero", op_name(e->op));
    *len = -1;
    if (n < 0 || (has[0] && !kn[0]) || (has[1] && !kn[1]) || (has[2] && !kn[2])) return SB_OK;
    int64_t s = slice_bound(has[0], v[0], n, step, true);
    int64_t t = slice_bound(has[1], v[1], n, step, false);
    if (step > 0) *len = t > s ? (t - s + step - 1) / step : 0;
    else *len = s > t ? (s - t - step - 1) / -step : 0;
    return SB_OK;
}

/* A scalar index into a dim of size n: checked against n when both are known. */
static sb_status scalar_index(const index_env *e, int64_t n, int axis, const sb_index *ix)
{
    bool kn;
    int64_t v;
    sb_status st = iarg_get(e, &ix->a[0], &kn, &v);
    if (st || !kn || n < 0) return st;
    if (v < -n || v >= n)
        return sb_diag_set(e->d, SB_ERR_VALUE, NULL, 0, 0,
                           "%s: index %lld is out of bounds for axis %d with size %lld",
                           op_name(e->op), (long long)v, axis, (long long)n);
    return SB_OK;
}

/* An index array at dims [axis, ...) of x: its broadcast shape into *shape, the number of x's
 * dims it consumes into *used (a bool mask consumes its ndim dims and selects its true count). */
static sb_status array_index(const index_env *e, const sb_type *x, int axis, const sb_index *ix,
                             sb_type *shape, int *used)
{
    const sb_type *t = NULL;
    char ts[TYPE_BUF], tx[TYPE_BUF];
    sb_status st = index_input(e, ix->a[0].v, &t);
    if (st) return st;
    *shape = *t;
    *used = 1;
    if (sb_dtype_is_int(t->dtype)) return SB_OK;
    if (t->dtype != SB_DTYPE_BOOL)
        return type_err(e->d, "%s: index arrays must be integers or booleans, got %s",
                        op_name(e->op), tstr(t, ts));
    *used = t->ndim;
    for (int k = 0; k < t->ndim; k++) {
        int64_t n = axis + k < x->ndim ? x->dims[axis + k] : -2;
        if (n == -2 || (n >= 0 && t->dims[k] >= 0 && t->dims[k] != n))
            return type_err(e->d, "%s: boolean index %s does not match the dimensions of %s "
                            "from axis %d", op_name(e->op), tstr(t, ts), tstr(x, tx), axis);
    }
    const sb_array *m = e->vals ? e->vals[ix->a[0].v] : NULL;
    int64_t count = m ? 0 : -1;
    for (int64_t i = 0; m && i < sb_array_numel(m); i++) count += sb_array_get_i64(m, i) != 0;
    *shape = sb_type_make(SB_DTYPE_I64, 1, &count);
    return SB_OK;
}

/* Append dims of t to out (bounded by SB_MAX_DIMS). */
static sb_status append_dims(const index_env *e, sb_type *out, const int64_t *dims, int n)
{
    if (out->ndim + n > SB_MAX_DIMS)
        return type_err(e->d, "%s: the result would have too many dimensions", op_name(e->op));
    for (int k = 0; k < n; k++) out->dims[out->ndim++] = dims[k];
    return SB_OK;
}

/* The type of x[idx] (NumPy basic and advanced indexing). Slices keep a dim, scalars drop one;
 * with index arrays, the arrays and scalars broadcast together into one block of dims that
 * replaces them where they are adjacent, and goes first otherwise. Unindexed dims are kept. */
static sb_status index_type(const index_env *e, const sb_type *x, const sb_attrs *a,
                            sb_type *out)
{
    char tx[TYPE_BUF];
    sb_type pre = sb_type_make(x->dtype, 0, NULL), post = pre, adv = pre;
    const sb_type *advs[SB_MAX_DIMS];
    sb_type arrs[SB_MAX_DIMS];
    int nadv = 0, axis = 0;
    bool any_array = false, seen_adv = false, gap = false, front = false;
    for (int i = 0; i < a->nidx; i++) any_array |= a->idx[i].kind == SB_INDEX_ARRAY;
    for (int i = 0; i < a->nidx; i++) {
        const sb_index *ix = &a->idx[i];
        if (axis >= x->ndim)
            return type_err(e->d, "%s: too many indices for %s", op_name(e->op), tstr(x, tx));
        int64_t n = x->dims[axis], len = -1;
        sb_status st = SB_OK;
        if (ix->kind == SB_INDEX_SLICE) {
            if ((st = slice_len(e, n, ix, &len))) return st;
            gap |= seen_adv;
            sb_type *part = seen_adv ? &post : &pre; /* at most x->ndim dims in all */
            part->dims[part->ndim++] = len;
            axis++;
        } else if (ix->kind == SB_INDEX_SCALAR) {
            if ((st = scalar_index(e, n, axis, ix))) return st;
            arrs[nadv] = sb_type_make(SB_DTYPE_I64, 0, NULL);
            axis++;
        } else {
            int used;
            if ((st = array_index(e, x, axis, ix, &arrs[nadv], &used))) return st;
            axis += used;
        }
        if (ix->kind != SB_INDEX_SLICE && any_array) {
            front |= gap; /* not adjacent to the previous ones: the block goes first */
            seen_adv = true;
            advs[nadv] = &arrs[nadv], nadv++;
        }
    }
    if (nadv > 0) {
        sb_status st = broadcast(e->op, nadv, advs, &adv, e->d);
        if (st) return st;
    }
    *out = sb_type_make(x->dtype, 0, NULL);
    sb_status st = append_dims(e, out, front ? adv.dims : pre.dims, front ? adv.ndim : pre.ndim);
    if (!st) st = append_dims(e, out, front ? pre.dims : adv.dims, front ? pre.ndim : adv.ndim);
    if (!st) st = append_dims(e, out, post.dims, post.ndim);
    if (!st) st = append_dims(e, out, x->dims + axis, x->ndim - axis);
    return st;
}

/* subtensor / adv_subtensor(x, idx inputs...): the type of x[idx]. */
static sb_status infer_subtensor(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                                 const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    if (nin < 1) return type_err(d, "%s: needs the indexed tensor", op_name(op));
    index_env e = {op, nin, 1, in, vals, d};
    return index_type(&e, in[0], a, out);
}

/* set_subtensor / inc_subtensor(x, y, idx inputs...): x's type; y must broadcast to x[idx]. */
static sb_status infer_set_subtensor(sb_op op, int nin, const sb_type *const *in,
                                     const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                     sb_diag *d)
{
    if (nin < 2) return type_err(d, "%s: needs a tensor and a value", op_name(op));
    index_env e = {op, nin, 2, in, vals, d};
    sb_type sub;
    sb_status st = index_type(&e, in[0], a, &sub);
    if (st) return st;
    const sb_type *y = in[1];
    char ty[TYPE_BUF], ts[TYPE_BUF];
    int off = sub.ndim - y->ndim;
    for (int k = 0; k < y->ndim; k++) {
        int64_t s = off + k >= 0 ? sub.dims[off + k] : -2, v = y->dims[k];
        if (s == -2 || (v >= 0 && v != 1 && s >= 0 && s != v))
            return type_err(d, "%s: value %s cannot be broadcast to the indexed part %s",
                            op_name(op), tstr(y, ty), tstr(&sub, ts));
    }
    *out = *in[0];
    out->weak = false;
    return SB_OK;
}

/* ---- control and symbolic differentiation ------------------------------------------------ */

/* ifelse(c, a, b): scalar condition; the branches have one rank; promoted dtype; dims that
 * differ between the branches are unknown. */
static sb_status infer_ifelse(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                              const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char t1[TYPE_BUF], t2[TYPE_BUF];
    if (in[0]->ndim != 0)
        return type_err(d, "%s: the condition must be a scalar, got %s", op_name(op),
                        tstr(in[0], t1));
    if (in[1]->ndim != in[2]->ndim)
        return type_err(d, "%s: branches %s and %s differ in rank", op_name(op),
                        tstr(in[1], t1), tstr(in[2], t2));
    *out = *in[1];
    out->dtype = promote_weak(in[1], in[2]);
    out->weak = in[1]->weak && in[2]->weak;
    for (int k = 0; k < out->ndim; k++)
        if (in[2]->dims[k] != out->dims[k]) out->dims[k] = -1;
    return SB_OK;
}

/* The cost of grad/hessian: a float scalar. */
static sb_status scalar_cost(sb_op op, const sb_type *c, sb_diag *d)
{
    char t[TYPE_BUF];
    if (c->ndim != 0)
        return type_err(d, "%s: cost must be a scalar, got %s", op_name(op), tstr(c, t));
    if (!sb_dtype_is_float(c->dtype))
        return type_err(d, "%s: cost must be a float, got %s", op_name(op), tstr(c, t));
    return SB_OK;
}

/* Two types that must have the same shape (known dims equal); what = how to name them. */
static sb_status same_shape(sb_op op, const sb_type *v, const char *vn, const sb_type *w,
                            const char *wn, sb_diag *d)
{
    char tv[TYPE_BUF], tw[TYPE_BUF];
    bool ok = v->ndim == w->ndim;
    for (int k = 0; ok && k < v->ndim; k++)
        ok = v->dims[k] < 0 || w->dims[k] < 0 || v->dims[k] == w->dims[k];
    if (!ok)
        return type_err(d, "%s: %s %s must have the shape of %s %s", op_name(op), vn,
                        tstr(v, tv), wn, tstr(w, tw));
    return SB_OK;
}

/* grad(cost, wrt): cost a float scalar; wrt's type. */
static sb_status infer_grad(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                            const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_status st = scalar_cost(op, in[0], d);
    if (st) return st;
    *out = *in[1];
    out->weak = false;
    return SB_OK;
}

/* Lop(f, wrt, eval_point): eval_point shaped like f; wrt's type. */
static sb_status infer_lop(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                           const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_status st = same_shape(op, in[2], "eval_point", in[0], "f", d);
    if (st) return st;
    *out = *in[1];
    out->weak = false;
    return SB_OK;
}

/* Rop(f, wrt, v): v shaped like wrt; f's type. */
static sb_status infer_rop(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                           const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_status st = same_shape(op, in[2], "v", in[1], "wrt", d);
    if (st) return st;
    *out = *in[0];
    out->weak = false;
    return SB_OK;
}

/* dims of u ++ dims of v with dtype dt, within SB_MAX_DIMS. */
static sb_status concat_dims(sb_op op, const sb_type *u, const sb_type *v, sb_dtype dt,
                             sb_type *out, sb_diag *d)
{
    if (u->ndim + v->ndim > SB_MAX_DIMS)
        return type_err(d, "%s: the result would have %d dimensions (at most %d)", op_name(op),
                        u->ndim + v->ndim, SB_MAX_DIMS);
    *out = sb_type_make(dt, u->ndim + v->ndim, NULL);
    for (int k = 0; k < u->ndim; k++) out->dims[k] = u->dims[k];
    for (int k = 0; k < v->ndim; k++) out->dims[u->ndim + k] = v->dims[k];
    return SB_OK;
}

/* jacobian(f, x): float f; dims f ++ x, f's dtype. */
static sb_status infer_jacobian(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                                const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    char t[TYPE_BUF];
    if (!sb_dtype_is_float(in[0]->dtype))
        return type_err(d, "%s: f must be a float, got %s", op_name(op), tstr(in[0], t));
    return concat_dims(op, in[0], in[1], in[0]->dtype, out, d);
}

/* hessian(cost, x): cost a float scalar; dims x ++ x, x's dtype. */
static sb_status infer_hessian(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    sb_status st = scalar_cost(op, in[0], d);
    if (st) return st;
    return concat_dims(op, in[1], in[1], in[1]->dtype, out, d);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static const sb_infer_fn rules[SB_OP_COUNT] = {
#define SB_OP(E, nm, ar, fl, rule, fam) [SB_OP_##E] = infer_##rule,
#include "ops.def"
#undef SB_OP
};

/* Check the arity, pass untyped (pattern) inputs through as untyped, then run op's rule. */
sb_status sb_infer_type(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                        const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    SB_ASSERT((int)op < sb_op_total() && out);
    const sb_op_info *info = sb_op_get(op);
    if (info->arity >= 0 && nin != info->arity && !(info->flags & SB_F_LEAF))
        return type_err(d, "%s takes %d argument%s, got %d", info->name, info->arity,
                        info->arity == 1 ? "" : "s", nin);
    for (int i = 0; i < nin; i++) {
        SB_ASSERT(in[i]);
        if (in[i]->dtype >= SB_DTYPE_COUNT) {
            type_reset(out, SB_DTYPE_COUNT);
            return SB_OK;
        }
    }
    if (!a) a = sb_attrs_default();
    sb_type res; /* out may alias an input */
    const sb_op_def *pd = sb_op_plugin_def(op, NULL); /* an op registered by a plugin */
    sb_status st = pd ? pd->type(nin, in, a, &res, d) : rules[op](op, nin, in, a, vals, &res, d);
    if (st != SB_OK && d && d->status == SB_OK) st = type_err(d, "%s: bad input types", info->name);
    if (st != SB_OK) return st;
    SB_ASSERT(res.ndim >= 0 && res.ndim <= SB_MAX_DIMS);
    *out = res;
    return SB_OK;
}
