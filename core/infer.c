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
static __attribute__((unused)) bool val_i64(const sb_array *const *vals, int i, int64_t *v)
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
    (void)nin, (void)in, (void)a, (void)vals, (void)out;
    return type_err(d, "'%s' is not an operation", op_name(op));
}

/* neg abs sign sqr relu floor ceil round disconnected_grad: same type (ints stay ints). */
static sb_status infer_unary(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                             const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    (void)op, (void)nin, (void)a, (void)vals, (void)d;
    *out = *in[0];
    return SB_OK;
}

/* exp log sqrt tanh ...: same shape; ints and bool go to float (sb_dtype_to_float). */
static sb_status infer_unary_float(sb_op op, int nin, const sb_type *const *in,
                                   const sb_attrs *a, const sb_array *const *vals, sb_type *out,
                                   sb_diag *d)
{
    (void)op, (void)nin, (void)a, (void)vals, (void)d;
    *out = *in[0];
    out->dtype = sb_dtype_to_float(in[0]->dtype);
    return SB_OK;
}

/* logical_not / logical_and / logical_or: broadcast, bool. */
static sb_status infer_logical(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    (void)a, (void)vals;
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
    (void)nin, (void)vals;
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
    (void)a, (void)vals;
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
    (void)a, (void)vals;
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
    (void)a, (void)vals;
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
        int ax;
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
    (void)nin, (void)vals;
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
    (void)nin, (void)vals;
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
    (void)nin, (void)vals;
    if (a->naxis > 1)
        return type_err(d, "%s: takes one axis, got %d", op_name(op), a->naxis);
    const sb_type *x = in[0];
    bool red[SB_MAX_DIMS];
    if (reduced_axes(op, x, a, true, red, d)) return SB_ERR_TYPE;
    if (a->naxis < 0 && sb_type_numel(x) == 0) {
        char t[TYPE_BUF];
        return type_err(d, "%s: cannot take the %s of an empty input %s", op_name(op),
                        op_name(op), tstr(x, t));
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
    (void)nin, (void)vals;
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
    (void)nin, (void)vals;
    if (a->naxis > 1)
        return type_err(d, "%s: takes one axis, got %d", op_name(op), a->naxis);
    int ax;
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
    (void)nin, (void)a, (void)vals;
    const sb_type *p = in[0], *t = in[1];
    char tp[TYPE_BUF], tt[TYPE_BUF];
    if (p->ndim < 1)
        return type_err(d, "%s: predictions must have at least 1 dimension, got %s",
                        op_name(op), tstr(p, tp));
    sb_type lead = *p, tl = *t;
    lead.ndim = (int8_t)(p->ndim - 1);
    if (sb_dtype_is_float(t->dtype)) {
        int64_t c;
        if (t->ndim != p->ndim || !bcast_dim(p->dims[p->ndim - 1], t->dims[t->ndim - 1], &c))
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
    (void)nin, (void)a, (void)vals;
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
    (void)op, (void)nin, (void)a, (void)vals, (void)d;
    int64_t dims[2] = {sb_type_numel(in[0]), sb_type_numel(in[1])};
    *out = sb_type_make(promote_weak(in[0], in[1]), 2, dims);
    return SB_OK;
}

/* ---- shape ops --------------------------------------------------------------------------- */

/* reshape(x, shape): at most one -1, resolved when x's size is known; sizes must agree. */
static sb_status infer_reshape(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    (void)nin, (void)vals;
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
    int64_t n = sb_type_numel(in[0]);
    if (n < 0) return SB_OK; /* checked at run time */
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
    (void)nin, (void)vals;
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

/* ---- rules not written yet --------------------------------------------------------------- */

#define SB_INFER_TODO(rule)                                                                      \
    static sb_status infer_##rule(sb_op op, int nin, const sb_type *const *in,                  \
                                  const sb_attrs *a, const sb_array *const *vals, sb_type *out, \
                                  sb_diag *d)                                                    \
    {                                                                                            \
        (void)nin, (void)in, (void)a, (void)vals, (void)out;                                     \
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "%s: type rule not written yet",  \
                           op_name(op));                                                         \
    }
SB_INFER_TODO(expand_dims)
SB_INFER_TODO(squeeze)
SB_INFER_TODO(concatenate)
SB_INFER_TODO(stack)
SB_INFER_TODO(split)
SB_INFER_TODO(broadcast_to)
SB_INFER_TODO(shape)
SB_INFER_TODO(fill)
SB_INFER_TODO(fill_like)
SB_INFER_TODO(arange)
SB_INFER_TODO(eye)
SB_INFER_TODO(one_hot)
SB_INFER_TODO(subtensor)
SB_INFER_TODO(set_subtensor)
SB_INFER_TODO(ifelse)
SB_INFER_TODO(grad)
SB_INFER_TODO(lop)
SB_INFER_TODO(rop)
SB_INFER_TODO(jacobian)
SB_INFER_TODO(hessian)

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
    SB_ASSERT(op < SB_OP_COUNT && out);
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
    sb_status st = rules[op](op, nin, in, a, vals, out, d);
    if (st == SB_OK) SB_ASSERT(out->ndim >= 0 && out->ndim <= SB_MAX_DIMS);
    return st;
}
