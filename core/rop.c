/* rop.c: forward-mode automatic differentiation (Theano's Rop), jacobian and hessian.
 *
 * Every differentiable op has an R-op rule in the table `rops`: given y = op(x...) and the
 * tangents dx[i] of its inputs (NULL = zero), it builds the tangent dy = sum_i (dy/dx_i) dx_i.
 * Elementwise ops share one rule: their Jacobian is diagonal, so each input's contribution is
 * the op's L-op applied to the tangent (before summing over broadcast dims). Linear ops (sum,
 * mean, reshape, transpose, concatenate, indexing, ...) apply themselves to the tangents.
 *
 * sb_rop walks the nodes from the wrt to f in topological order. The Jacobian is built by rows,
 * one reverse pass per element of f with known_grads {f: one-hot}; the Hessian is the Jacobian
 * of the gradient. Hessian-vector products are sb_rop of sb_grad's result. */
#include "autodiff.h"

#include <stdio.h>

#define ADD(a, b) sb_ad_bin(c, SB_OP_ADD, a, b)
#define SUB(a, b) sb_ad_bin(c, SB_OP_SUB, a, b)
#define MUL(a, b) sb_ad_bin(c, SB_OP_MUL, a, b)
#define DIV(a, b) sb_ad_bin(c, SB_OP_DIV, a, b)
#define NEG(a) sb_ad_un(c, SB_OP_NEG, a)
#define NUM(v) sb_ad_num(c, v)
#define X (n->in[0])
#define Y (n)

typedef sb_node *(*rop_fn)(sb_ad *c, sb_node *n, sb_node *const *dx);

/* The tangents with zeros_like(x_i) in place of NULL, for linear ops of several inputs. */
static void fill_zeros(sb_ad *c, const sb_node *n, sb_node *const *dx, sb_node **out)
{
    for (int i = 0; i < n->nin; i++)
        out[i] = dx[i] ? dx[i] : sb_dtype_is_float(n->in[i]->type.dtype)
                                     ? sb_ad_zeros_like(c, n->in[i])
                                     : n->in[i];
}

/* Elementwise: sum over inputs with a tangent of that input's L-op contribution. */
static sb_node *rop_elemwise(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    sb_node *dy = NULL;
    for (int i = 0; i < n->nin; i++) {
        if (!dx[i]) continue;
        sb_node *gin[3] = {NULL, NULL, NULL};
        SB_ASSERT(n->nin <= 3 && sb_ad_lop(c, n, dx[i], gin));
        if (!gin[i]) continue;
        dy = dy ? ADD(dy, gin[i]) : gin[i];
        if (!dy) return NULL;
    }
    return dy;
}

static sb_node *rop_cast(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.dtype = (int8_t)n->type.dtype;
    return sb_ad_op(c, SB_OP_CAST, 1, &dx[0], &a);
}

/* Linear ops: the same op (same attributes) on the tangents; non-float inputs (indices, the
 * condition of ifelse) are passed through. */
static sb_node *rop_linear(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    sb_node *in[n->nin];
    fill_zeros(c, n, dx, in);
    if (n->op == SB_OP_IFELSE) in[0] = n->in[0];
    return sb_ad_op(c, (sb_op)n->op, n->nin, in, n->attrs);
}

/* prod: sum(dx * d prod / d x) over the reduced axes. */
static sb_node *rop_prod(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    int64_t axes[SB_MAX_DIMS];
    int k = sb_ad_red_axes(n, axes);
    sb_node *t = MUL(dx[0], sb_ad_prod_deriv(c, n));
    return sb_ad_reduce(c, SB_OP_SUM, t, k, axes, n->attrs->keepdims);
}

/* max/min: the tangent at the extreme positions (summed at ties). */
static sb_node *rop_maxred(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    int64_t axes[SB_MAX_DIMS];
    int k = sb_ad_red_axes(n, axes);
    sb_node *mask = sb_ad_bin(c, SB_OP_EQ, X, sb_ad_keepdims(c, n, Y));
    sb_node *t = sb_ad_where(c, mask, dx[0], NUM(0));
    return sb_ad_reduce(c, SB_OP_SUM, t, k, axes, n->attrs->keepdims);
}

/* logsumexp: sum(dx * exp(x - y)) over the reduced axes. */
static sb_node *rop_logsumexp(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    int64_t axes[SB_MAX_DIMS];
    int k = sb_ad_red_axes(n, axes);
    sb_node *p = sb_ad_un(c, SB_OP_EXP, SUB(X, sb_ad_keepdims(c, n, Y)));
    return sb_ad_reduce(c, SB_OP_SUM, MUL(dx[0], p), k, axes, n->attrs->keepdims);
}

/* softmax: y * (dx - sum(dx * y, axis, keepdims)) */
static sb_node *rop_softmax(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    int64_t ax = sb_ad_axis1(n);
    sb_node *s = sb_ad_reduce(c, SB_OP_SUM, MUL(dx[0], Y), 1, &ax, true);
    return MUL(Y, SUB(dx[0], s));
}

/* log_softmax: dx - sum(exp(y) * dx, axis, keepdims) */
static sb_node *rop_log_softmax(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    int64_t ax = sb_ad_axis1(n);
    sb_node *s = sb_ad_reduce(c, SB_OP_SUM, MUL(sb_ad_un(c, SB_OP_EXP, Y), dx[0]), 1, &ax, true);
    return SUB(dx[0], s);
}

/* categorical_crossentropy: -sum(dt log p + t dp / p, -1) (float targets), or the L-op form
 * summed over classes (labels: -dp[..., t] / p[..., t]). */
static sb_node *rop_crossentropy(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    int64_t last = X->type.ndim - 1;
    sb_node *ones = sb_ad_un(c, SB_OP_ONES_LIKE, n);
    sb_node *gin[2] = {NULL, NULL}, *dy = NULL;
    if (dx[0]) {
        sb_ad_lop(c, n, ones, gin); /* d cost / d p with g = 1: a [..., C] weight */
        dy = sb_ad_reduce(c, SB_OP_SUM, MUL(gin[0], dx[0]), 1, &last, false);
    }
    if (dx[1] && sb_dtype_is_float(n->in[1]->type.dtype)) {
        sb_node *t = NEG(MUL(dx[1], sb_ad_un(c, SB_OP_LOG, X)));
        t = sb_ad_reduce(c, SB_OP_SUM, t, 1, &last, false);
        dy = dy ? ADD(dy, t) : t;
    }
    return dy;
}

/* matmul / outer are bilinear: op(da, b) + op(a, db). */
static sb_node *rop_bilinear(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    sb_node *dy = NULL;
    if (dx[0]) dy = sb_ad_bin(c, (sb_op)n->op, dx[0], n->in[1]);
    if (dx[1]) {
        sb_node *t = sb_ad_bin(c, (sb_op)n->op, n->in[0], dx[1]);
        dy = dy ? ADD(dy, t) : t;
    }
    return dy;
}

#undef X
#undef Y

static const rop_fn rops[SB_OP_COUNT] = {
    [SB_OP_NEG] = rop_elemwise, [SB_OP_ABS] = rop_elemwise, [SB_OP_EXP] = rop_elemwise,
    [SB_OP_EXPM1] = rop_elemwise, [SB_OP_LOG] = rop_elemwise, [SB_OP_LOG1P] = rop_elemwise,
    [SB_OP_LOG2] = rop_elemwise, [SB_OP_SQRT] = rop_elemwise, [SB_OP_SQR] = rop_elemwise,
    [SB_OP_RECIPROCAL] = rop_elemwise, [SB_OP_SIN] = rop_elemwise, [SB_OP_COS] = rop_elemwise,
    [SB_OP_TANH] = rop_elemwise, [SB_OP_SIGMOID] = rop_elemwise,
    [SB_OP_SOFTPLUS] = rop_elemwise, [SB_OP_RELU] = rop_elemwise, [SB_OP_ERF] = rop_elemwise,
    [SB_OP_CAST] = rop_cast, [SB_OP_ADD] = rop_elemwise, [SB_OP_SUB] = rop_elemwise,
    [SB_OP_MUL] = rop_elemwise, [SB_OP_DIV] = rop_elemwise, [SB_OP_POW] = rop_elemwise,
    [SB_OP_MAXIMUM] = rop_elemwise, [SB_OP_MINIMUM] = rop_elemwise,
    [SB_OP_WHERE] = rop_elemwise, [SB_OP_CLIP] = rop_elemwise,
    [SB_OP_SUM] = rop_linear, [SB_OP_MEAN] = rop_linear, [SB_OP_PROD] = rop_prod,
    [SB_OP_MAX] = rop_maxred, [SB_OP_MIN] = rop_maxred, [SB_OP_LOGSUMEXP] = rop_logsumexp,
    [SB_OP_SOFTMAX] = rop_softmax, [SB_OP_LOG_SOFTMAX] = rop_log_softmax,
    [SB_OP_CROSSENTROPY] = rop_crossentropy,
    [SB_OP_MATMUL] = rop_bilinear, [SB_OP_OUTER] = rop_bilinear,
    [SB_OP_RESHAPE] = rop_linear, [SB_OP_TRANSPOSE] = rop_linear,
    [SB_OP_EXPAND_DIMS] = rop_linear, [SB_OP_SQUEEZE] = rop_linear,
    [SB_OP_CONCATENATE] = rop_linear, [SB_OP_STACK] = rop_linear, [SB_OP_SPLIT] = rop_linear,
    [SB_OP_BROADCAST_TO] = rop_linear,
    [SB_OP_SUBTENSOR] = rop_linear, [SB_OP_ADV_SUBTENSOR] = rop_linear,
    [SB_OP_SET_SUBTENSOR] = rop_linear, [SB_OP_INC_SUBTENSOR] = rop_linear,
    [SB_OP_IFELSE] = rop_linear,
};

bool sb_ad_has_rop(sb_op op)
{
    const sb_op_def *pd = sb_op_plugin_def(op, NULL);
    return pd ? pd->rop != NULL : op < SB_OP_COUNT && rops[op];
}

/* Contract: the tangent of n, of n's exact type (broadcast up and cast where a rule's result is
 * smaller), or NULL with c->d set. */
sb_node *sb_ad_rop(sb_ad *c, sb_node *n, sb_node *const *dx)
{
    if (!sb_ad_has_rop((sb_op)n->op)) {
        sb_diag_set(c->d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "Rop: no R-op rule for '%s'",
                    sb_op_get((sb_op)n->op)->name);
        return NULL;
    }
    const sb_host_api *host = NULL;
    const sb_op_def *pd = sb_op_plugin_def((sb_op)n->op, &host); /* a plugin's op */
    sb_node *dy = pd ? pd->rop(host, c->ctx, n, dx, c->d) : rops[n->op](c, n, dx);
    if (!dy) return NULL;
    return sb_ad_fit(c, dy, n);
}

/* ---- forward mode ---------------------------------------------------------------------------- */
/* The tangent of every node of order[] in turn; tan[] is indexed by node id. */
static void push_forward(sb_ad *c, int nord, sb_node **order, sb_node **tan)
{
    for (int i = 0; i < nord && !c->d->status; i++) {
        sb_node *n = order[i];
        if (tan[n->id] || !n->nin || !sb_dtype_is_float(n->type.dtype)) continue;
        if (!(sb_op_get((sb_op)n->op)->flags & SB_F_DIFF)) continue;
        sb_node *dx[n->nin];
        bool any = false;
        for (int k = 0; k < n->nin; k++) {
            dx[k] = sb_dtype_is_float(n->in[k]->type.dtype) ? tan[n->in[k]->id] : NULL;
            any |= dx[k] != NULL;
        }
        if (any) tan[n->id] = sb_ad_rop(c, n, dx);
    }
}

/* Contract: see symbench.h. v[i] must have wrt[i]'s rank; it is cast to wrt[i]'s dtype. */
sb_status sb_rop(sb_ctx *ctx, sb_node *f, int nwrt, sb_node *const *wrt, sb_node *const *v,
                 sb_node **out, sb_diag *d)
{
    sb_diag local = {0};
    sb_ad c = {ctx, d ? d : &local};
    char buf[160];
    size_t nmemo = sb_ctx_node_count(ctx);
    sb_node **memo = sb_xcalloc(nmemo, sizeof *memo);
    sb_node *fe = sb_ad_expand(&c, f, memo, nmemo), *w[nwrt > 0 ? nwrt : 1];
    for (int i = 0; i < nwrt; i++) w[i] = sb_ad_expand(&c, wrt[i], memo, nmemo);
    free(memo);
    if (!fe) return c.d->status ? c.d->status : SB_ERR_INTERNAL;
    for (int i = 0; i < nwrt; i++)
        if (!v[i] || v[i]->type.ndim != w[i]->type.ndim || !sb_dtype_is_float(v[i]->type.dtype))
            return sb_diag_set(c.d, SB_ERR_TYPE, NULL, 0, 0,
                               "Rop: the eval point for %s must be a float tensor of its shape",
                               sb_ad_desc(w[i], buf, sizeof buf));
    sb_node **order = NULL;
    int nord = sb_ad_topo(ctx, 1, &fe, &order);
    sb_node **tan = sb_xcalloc(sb_ctx_node_count(ctx), sizeof *tan);
    for (int i = 0; i < nwrt; i++)
        if (sb_dtype_is_float(w[i]->type.dtype)) tan[w[i]->id] = sb_ad_fit(&c, v[i], w[i]);
    push_forward(&c, nord, order, tan);
    sb_node *r = tan[fe->id] ? tan[fe->id] : sb_ad_zeros_like(&c, fe);
    free(order);
    free(tan);
    if (c.d->status) return c.d->status;
    *out = r;
    return SB_OK;
}

/* ---- jacobian and hessian ------------------------------------------------------------------ */
/* Row `flat` of the Jacobian: the gradient w.r.t. x of f's element `flat` (known_grads with a
 * one-hot of f's shape); zeros where that element does not depend on x. */
static sb_node *jac_row(sb_ad *c, sb_node *f, sb_node *x, int64_t flat)
{
    sb_array *e = sb_array_new(f->type.dtype, f->type.ndim, f->type.dims);
    sb_array_set_f64(e, flat, 1.0);
    sb_node *u = sb_const(c->ctx, e);
    sb_array_free(e);
    sb_grad_opts o = {.nknown = 1, .known_nodes = &f, .known_grads = &u,
                      .disconnected_zeros = true};
    sb_node *row = NULL;
    return sb_grad(c->ctx, NULL, 1, &x, &o, &row, c->d) ? NULL : row;
}

/* The rows for f's dims [dim..), starting at flat index `flat`, stacked into dims
 * f.dims[dim..] ++ x.dims (nested stacks: no reshape, so x's unknown dims are fine). */
static sb_node *jac_block(sb_ad *c, sb_node *f, sb_node *x, int dim, int64_t flat)
{
    if (dim == f->type.ndim) return jac_row(c, f, x, flat);
    int64_t n = f->type.dims[dim], stride = 1;
    for (int i = dim + 1; i < f->type.ndim; i++) stride *= f->type.dims[i];
    sb_node **rows = sb_xcalloc((size_t)n, sizeof *rows);
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++) {
        rows[i] = jac_block(c, f, x, dim + 1, flat + i * stride);
        ok = rows[i] != NULL;
    }
    sb_node *r = NULL;
    if (ok) {
        sb_attrs a;
        sb_attrs_init(&a);
        a.naxis = 1;
        a.axis[0] = 0;
        r = sb_ad_op(c, SB_OP_STACK, (int)n, rows, &a);
    }
    free(rows);
    return r;
}

#define SB_JACOBIAN_MAX_ROWS 65536 /* one reverse pass per row: keep graphs sane */

sb_status sb_jacobian(sb_ctx *ctx, sb_node *f, sb_node *x, sb_node **out, sb_diag *d)
{
    sb_diag local = {0};
    sb_ad c = {ctx, d ? d : &local};
    char buf[160], ts[96];
    int64_t size = sb_type_numel(&f->type);
    if (size < 0 || size > SB_JACOBIAN_MAX_ROWS || f->type.ndim + x->type.ndim > SB_MAX_DIMS)
        return sb_diag_set(c.d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "jacobian: %s has type %s; its size must be static (and at most %d) "
                           "to build the Jacobian row by row",
                           sb_ad_desc(f, buf, sizeof buf), sb_type_str(&f->type, ts, sizeof ts),
                           SB_JACOBIAN_MAX_ROWS);
    if (!sb_dtype_is_float(f->type.dtype))
        return sb_diag_set(c.d, SB_ERR_TYPE, NULL, 0, 0, "jacobian: %s is not a float tensor",
                           sb_ad_desc(f, buf, sizeof buf));
    sb_node *j = size == 0 ? NULL : jac_block(&c, f, x, 0, 0);
    if (size == 0)
        return sb_diag_set(c.d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "jacobian: %s is empty",
                           sb_ad_desc(f, buf, sizeof buf));
    if (!j) return c.d->status ? c.d->status : SB_ERR_INTERNAL;
    *out = j;
    return SB_OK;
}

/* Contract: the Jacobian of grad(cost, x) w.r.t. x; x's size must be static. */
sb_status sb_hessian(sb_ctx *ctx, sb_node *cost, sb_node *x, sb_node **out, sb_diag *d)
{
    sb_diag local = {0};
    sb_diag *dd = d ? d : &local;
    char buf[160], ts[96];
    if (sb_type_numel(&x->type) < 0)
        return sb_diag_set(dd, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "hessian: %s has type %s; its size must be static",
                           sb_ad_desc(x, buf, sizeof buf), sb_type_str(&x->type, ts, sizeof ts));
    sb_node *g = NULL;
    sb_grad_opts o = {.disconnected_zeros = true};
    sb_status st = sb_grad(ctx, cost, 1, &x, &o, &g, dd);
    if (st) return st;
    return sb_jacobian(ctx, g, x, out, dd);
}
