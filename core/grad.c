/* grad.c: reverse-mode automatic differentiation (Theano's grad / L-op).
 *
 * Every differentiable op (SB_F_DIFF in ops.def) has an L-op rule in the table `lops`, indexed
 * by op: given a node y = op(x...) and the gradient g of the cost w.r.t. y, the rule builds the
 * gradient w.r.t. each float input as new nodes of the same context. The driver (sb_grad) walks
 * the nodes between the wrt and the cost in reverse topological order, accumulates each node's
 * gradient over its uses (a sum), and fits every input gradient to the input's exact type
 * (summing over broadcast dims, casting back to its dtype).
 *
 * Disconnected: integer/bool values, ops without SB_F_DIFF (comparisons, argmax, shape,
 * constructors, sign/floor/round, disconnected_grad) and consider_constant nodes carry no
 * gradient. At ties, gradients follow Theano: maximum/minimum give g to every argument equal to
 * the result, max/min reductions to every position equal to the maximum, clip to x on the closed
 * interval, abs uses sign(x) (0 at 0), relu(x) = (x + |x|) / 2 gives g / 2 at 0.
 *
 * Shapes unknown until run time are handled with shape-generic forms (zeros_like, ones_like,
 * `+ zeros_like(x)` to broadcast, shape(x)[i] for dynamic slices), never static sizes. */
#include "autodiff.h"

#include <math.h>
#include <stdio.h>

/* ---- building blocks --------------------------------------------------------------------- */
sb_node *sb_ad_op(sb_ad *c, sb_op op, int nin, sb_node *const *in, const sb_attrs *a)
{
    for (int i = 0; i < nin; i++)
        if (!in[i]) return NULL;
    return sb_apply(c->ctx, op, nin, in, a, c->d);
}

sb_node *sb_ad_un(sb_ad *c, sb_op op, sb_node *x) { return sb_ad_op(c, op, 1, &x, NULL); }

sb_node *sb_ad_bin(sb_ad *c, sb_op op, sb_node *a, sb_node *b)
{
    sb_node *in[2] = {a, b};
    return sb_ad_op(c, op, 2, in, NULL);
}

sb_node *sb_ad_num(sb_ad *c, double v) { return sb_const_scalar(c->ctx, v, SB_DTYPE_F64, true); }

sb_node *sb_ad_zeros_like(sb_ad *c, sb_node *x) { return sb_ad_un(c, SB_OP_ZEROS_LIKE, x); }

sb_node *sb_ad_where(sb_ad *c, sb_node *cond, sb_node *a, sb_node *b)
{
    sb_node *in[3] = {cond, a, b};
    return sb_ad_op(c, SB_OP_WHERE, 3, in, NULL);
}

sb_node *sb_ad_reduce(sb_ad *c, sb_op op, sb_node *x, int naxis, const int64_t *axes,
                      bool keepdims)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = (int8_t)naxis;
    for (int i = 0; i < naxis; i++) a.axis[i] = axes[i];
    a.keepdims = keepdims;
    return sb_ad_op(c, op, 1, &x, &a);
}

/* Shorthands used by the rules: g * x, g / x, and the like. */
#define ADD(a, b) sb_ad_bin(c, SB_OP_ADD, a, b)
#define SUB(a, b) sb_ad_bin(c, SB_OP_SUB, a, b)
#define MUL(a, b) sb_ad_bin(c, SB_OP_MUL, a, b)
#define DIV(a, b) sb_ad_bin(c, SB_OP_DIV, a, b)
#define NEG(a) sb_ad_un(c, SB_OP_NEG, a)
#define NUM(v) sb_ad_num(c, v)
#define ZEROS(x) sb_ad_zeros_like(c, x)

int sb_ad_red_axes(const sb_node *n, int64_t *axes)
{
    const sb_attrs *a = n->attrs;
    int nd = n->in[0]->type.ndim, k = 0;
    bool on[SB_MAX_DIMS] = {false};
    if (a->naxis < 0) {
        for (int i = 0; i < nd; i++) on[i] = true;
    } else {
        for (int i = 0; i < a->naxis; i++) {
            int ax = sb_axis_norm(a->axis[i], nd);
            SB_ASSERT(ax >= 0);
            on[ax] = true;
        }
    }
    for (int i = 0; i < nd; i++)
        if (on[i]) axes[k++] = i;
    return k;
}

sb_node *sb_ad_keepdims(sb_ad *c, const sb_node *n, sb_node *g)
{
    int64_t axes[SB_MAX_DIMS];
    int k = sb_ad_red_axes(n, axes);
    if (n->attrs->keepdims || k == 0 || !g) return g;
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = (int8_t)k;
    for (int i = 0; i < k; i++) a.axis[i] = axes[i];
    return sb_ad_op(c, SB_OP_EXPAND_DIMS, 1, &g, &a);
}

int sb_ad_axis1(const sb_node *n)
{
    int nd = n->in[0]->type.ndim;
    int ax = n->attrs->naxis > 0 ? sb_axis_norm(n->attrs->axis[0], nd) : nd - 1;
    SB_ASSERT(ax >= 0);
    return ax;
}

/* Contract: returns g with x's type. Leading dims g has beyond x's rank are summed away; dims
 * of size 1 in x that g has larger (or unknown) are summed with keepdims; the dtype is cast to
 * x's; a g still smaller than x (a scalar, or dims of 1 / unknown where x is static) is
 * broadcast with + zeros_like(x). Where x's dim is unknown and g's is static, g keeps the static
 * size (Theano's rule: an unknown dim is not broadcastable). */
sb_node *sb_ad_fit(sb_ad *c, sb_node *g, sb_node *x)
{
    if (!g) return NULL;
    const sb_type *xt = &x->type;
    int extra = g->type.ndim - xt->ndim;
    int64_t axes[SB_MAX_DIMS];
    if (extra > 0) {
        for (int i = 0; i < extra; i++) axes[i] = i;
        g = sb_ad_reduce(c, SB_OP_SUM, g, extra, axes, false);
        if (!g) return NULL;
    }
    int k = 0, off = xt->ndim - g->type.ndim;
    for (int i = 0; i < g->type.ndim; i++)
        if (xt->dims[i + off] == 1 && g->type.dims[i] != 1) axes[k++] = i;
    if (k) g = sb_ad_reduce(c, SB_OP_SUM, g, k, axes, true);
    if (g && g->type.dtype != xt->dtype) {
        sb_attrs a;
        sb_attrs_init(&a);
        a.dtype = (int8_t)xt->dtype;
        g = sb_ad_op(c, SB_OP_CAST, 1, &g, &a);
    }
    if (!g) return NULL;
    bool small = g->type.ndim < xt->ndim;
    for (int i = 0; !small && i < xt->ndim; i++)
        small = xt->dims[i] >= 0 && g->type.dims[i] != xt->dims[i];
    if (small) g = ADD(g, ZEROS(x));
    return g;
}

const char *sb_ad_desc(const sb_node *n, char *buf, size_t len)
{
    if (n->name) {
        snprintf(buf, len, "'%s'", n->name);
        return buf;
    }
    char *s = sb_print_expr(n);
    if (!s) {
        snprintf(buf, len, "a %s node", sb_op_get((sb_op)n->op)->name);
        return buf;
    }
    if (strlen(s) + 3 > len && len > 8) {
        snprintf(buf, len, "'%.*s...'", (int)len - 6, s);
    } else {
        snprintf(buf, len, "'%s'", s);
    }
    free(s);
    return buf;
}

/* ---- L-op rules: elementwise --------------------------------------------------------------- */
/* Each rule: y = n, inputs x = n->in[...], output gradient g; fills gin[]. */
typedef void (*lop_fn)(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin);

#define X (n->in[0])
#define Y (n)

static void lop_neg(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin) { gin[0] = NEG(g); }
static void lop_abs(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, sb_ad_un(c, SB_OP_SIGN, X));
}
static void lop_exp(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin) { gin[0] = MUL(g, Y); }
static void lop_expm1(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, ADD(Y, NUM(1)));
}
static void lop_log(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin) { gin[0] = DIV(g, X); }
static void lop_log1p(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = DIV(g, ADD(X, NUM(1)));
}
static void lop_log2(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = DIV(g, MUL(X, NUM(M_LN2)));
}
static void lop_sqrt(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = DIV(g, MUL(Y, NUM(2)));
}
static void lop_sqr(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, MUL(X, NUM(2)));
}
static void lop_reciprocal(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = NEG(MUL(g, sb_ad_un(c, SB_OP_SQR, Y)));
}
static void lop_sin(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, sb_ad_un(c, SB_OP_COS, X));
}
static void lop_cos(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = NEG(MUL(g, sb_ad_un(c, SB_OP_SIN, X)));
}
static void lop_tanh(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, SUB(NUM(1), sb_ad_un(c, SB_OP_SQR, Y)));
}
static void lop_sigmoid(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, MUL(Y, SUB(NUM(1), Y)));
}
static void lop_softplus(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, sb_ad_un(c, SB_OP_SIGMOID, X));
}
/* relu(x) = (x + |x|) / 2 as in Theano: g * (1 + sign(x)) / 2, so g / 2 at x = 0. */
static void lop_relu(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, MUL(ADD(sb_ad_un(c, SB_OP_SIGN, X), NUM(1)), NUM(0.5)));
}
/* erf'(x) = 2 / sqrt(pi) exp(-x^2) */
static void lop_erf(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *e = sb_ad_un(c, SB_OP_EXP, NEG(sb_ad_un(c, SB_OP_SQR, X)));
    gin[0] = MUL(g, MUL(e, NUM(2.0 / sqrt(M_PI))));
}
/* The driver casts the gradient back to the input's dtype (sb_ad_fit). */
static void lop_cast(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin) { gin[0] = g; }

static void lop_add(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin) { gin[0] = gin[1] = g; }
static void lop_sub(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = g;
    gin[1] = NEG(g);
}
static void lop_mul(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(g, n->in[1]);
    gin[1] = MUL(g, n->in[0]);
}
/* y = a / b: da = g / b, db = -g y / b */
static void lop_div(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = DIV(g, n->in[1]);
    gin[1] = NEG(DIV(MUL(g, Y), n->in[1]));
}
/* y = a ** b: da = g b a ** (b - 1), db = g y log(a) (NaN for a < 0, as in Theano) */
static void lop_pow(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *a = n->in[0], *b = n->in[1];
    gin[0] = MUL(g, MUL(b, sb_ad_bin(c, SB_OP_POW, a, SUB(b, NUM(1)))));
    if (sb_dtype_is_float(b->type.dtype)) gin[1] = MUL(g, MUL(Y, sb_ad_un(c, SB_OP_LOG, a)));
}
/* Theano: every argument equal to the result gets g (both at a tie). */
static void lop_maxmin(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    for (int i = 0; i < 2; i++)
        gin[i] = sb_ad_where(c, sb_ad_bin(c, SB_OP_EQ, Y, n->in[i]), g, NUM(0));
}
static void lop_where(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[1] = sb_ad_where(c, n->in[0], g, NUM(0));
    gin[2] = sb_ad_where(c, n->in[0], NUM(0), g);
}
/* clip(x, lo, hi): x gets g on lo <= x <= hi, lo where x < lo, hi where x > hi (Theano). */
static void lop_clip(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *x = n->in[0], *lo = n->in[1], *hi = n->in[2];
    sb_node *in = sb_ad_bin(c, SB_OP_LOGICAL_AND, sb_ad_bin(c, SB_OP_GE, x, lo),
                            sb_ad_bin(c, SB_OP_LE, x, hi));
    gin[0] = sb_ad_where(c, in, g, NUM(0));
    gin[1] = sb_ad_where(c, sb_ad_bin(c, SB_OP_LT, x, lo), g, NUM(0));
    gin[2] = sb_ad_where(c, sb_ad_bin(c, SB_OP_GT, x, hi), g, NUM(0));
}

/* ---- L-op rules: reductions and the softmax family ----------------------------------------- */
/* sum: g, given back the reduced dims, broadcast over x. */
static void lop_sum(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = ADD(sb_ad_keepdims(c, n, g), ZEROS(X));
}

/* mean: like sum, divided by the count: static when the reduced dims are known, else
 * sum(ones_like(x)) over the same axes (shape-generic). */
static void lop_mean(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int64_t axes[SB_MAX_DIMS], count = 1;
    int k = sb_ad_red_axes(n, axes);
    for (int i = 0; i < k && count > 0; i++)
        count = X->type.dims[axes[i]] < 0 ? -1 : count * X->type.dims[axes[i]];
    sb_node *cnt = count > 0 ? NUM((double)count)
                             : sb_ad_reduce(c, SB_OP_SUM, sb_ad_un(c, SB_OP_ONES_LIKE, X), k,
                                            axes, true);
    gin[0] = ADD(DIV(sb_ad_keepdims(c, n, g), cnt), ZEROS(X));
}

/* Contract: d prod(x, axes) / d x, in keepdims form broadcast against x, exact with zeros (as
 * Theano): prod / x where the slice has no zero; the product of the others at the single zero
 * of a slice with one; 0 where a slice has two or more. */
sb_node *sb_ad_prod_deriv(sb_ad *c, const sb_node *n)
{
    sb_node *x = n->in[0], *z = sb_ad_bin(c, SB_OP_EQ, x, NUM(0));
    int64_t axes[SB_MAX_DIMS];
    int k = sb_ad_red_axes(n, axes);
    sb_node *xs = sb_ad_where(c, z, sb_ad_un(c, SB_OP_ONES_LIKE, x), x); /* zeros -> 1 */
    sb_node *pnz = sb_ad_reduce(c, SB_OP_PROD, xs, k, axes, true);       /* prod of nonzeros */
    sb_node *nz = sb_ad_reduce(c, SB_OP_SUM, sb_ad_where(c, z, sb_ad_un(c, SB_OP_ONES_LIKE, x),
                                                         ZEROS(x)),
                               k, axes, true);                            /* zeros per slice */
    sb_node *one = sb_ad_bin(c, SB_OP_LOGICAL_AND, z, sb_ad_bin(c, SB_OP_EQ, nz, NUM(1)));
    return sb_ad_where(c, sb_ad_bin(c, SB_OP_EQ, nz, NUM(0)), DIV(pnz, xs),
                       sb_ad_where(c, one, pnz, NUM(0)));
}

/* prod: g * d prod / d x. */
static void lop_prod(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = MUL(sb_ad_keepdims(c, n, g), sb_ad_prod_deriv(c, n));
}

/* max/min: g goes to every position equal to the extreme (Theano's eq mask). */
static void lop_maxred(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *mask = sb_ad_bin(c, SB_OP_EQ, X, sb_ad_keepdims(c, n, Y));
    gin[0] = sb_ad_where(c, mask, ADD(sb_ad_keepdims(c, n, g), ZEROS(X)), NUM(0));
}

/* logsumexp: g * exp(x - y), y given back its reduced dims. */
static void lop_logsumexp(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *p = sb_ad_un(c, SB_OP_EXP, SUB(X, sb_ad_keepdims(c, n, Y)));
    gin[0] = MUL(sb_ad_keepdims(c, n, g), p);
}

/* softmax: (g - sum(g y, axis, keepdims)) y */
static void lop_softmax(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int64_t ax = sb_ad_axis1(n);
    sb_node *s = sb_ad_reduce(c, SB_OP_SUM, MUL(g, Y), 1, &ax, true);
    gin[0] = MUL(SUB(g, s), Y);
}

/* log_softmax: g - exp(y) sum(g, axis, keepdims) */
static void lop_log_softmax(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int64_t ax = sb_ad_axis1(n);
    sb_node *s = sb_ad_reduce(c, SB_OP_SUM, g, 1, &ax, true);
    gin[0] = SUB(g, MUL(sb_ad_un(c, SB_OP_EXP, Y), s));
}

/* The scalar shape(x)[axis] (int64), for shape-generic slicing. */
static sb_node *dim_of(sb_ad *c, sb_node *x, int axis)
{
    if (x->type.dims[axis] >= 0)
        return sb_const_scalar(c->ctx, (double)x->type.dims[axis], SB_DTYPE_I64, false);
    sb_attrs a;
    sb_attrs_init(&a);
    a.nidx = 1;
    a.idx[0].kind = SB_INDEX_SCALAR;
    a.idx[0].a[0] = (sb_iarg){SB_IARG_CONST, axis};
    sb_node *s = sb_ad_un(c, SB_OP_SHAPE, x);
    return sb_ad_op(c, SB_OP_SUBTENSOR, 1, &s, &a);
}

/* A bool mask of p's shape [..., C]: true where the class index equals the label t[...]. */
static sb_node *label_mask(sb_ad *c, sb_node *p, sb_node *t)
{
    int last = p->type.ndim - 1;
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = 1;
    a.axis[0] = t->type.ndim;
    sb_node *tk = sb_ad_op(c, SB_OP_EXPAND_DIMS, 1, &t, &a);
    sb_node *ar[3] = {sb_const_scalar(c->ctx, 0, SB_DTYPE_I64, false), dim_of(c, p, last),
                      sb_const_scalar(c->ctx, 1, SB_DTYPE_I64, false)};
    sb_node *classes = sb_ad_op(c, SB_OP_ARANGE, 3, ar, NULL);
    return sb_ad_bin(c, SB_OP_EQ, tk, classes);
}

/* categorical_crossentropy(p, t) = -sum(t log p, -1) or -log(p[..., t]):
 * dp = -g t / p (float targets; dt = -g log p) or where(t == class, -g / p, 0) (labels). */
static void lop_crossentropy(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *p = n->in[0], *t = n->in[1];
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = 1;
    a.axis[0] = n->type.ndim;
    sb_node *gk = sb_ad_op(c, SB_OP_EXPAND_DIMS, 1, &g, &a);
    if (sb_dtype_is_float(t->type.dtype)) {
        gin[0] = NEG(DIV(MUL(gk, t), p));
        gin[1] = NEG(MUL(gk, sb_ad_un(c, SB_OP_LOG, p)));
    } else {
        gin[0] = sb_ad_where(c, label_mask(c, p, t), NEG(DIV(gk, p)), NUM(0));
    }
}

/* ---- L-op rules: linear algebra -------------------------------------------------------------- */
static sb_node *expand_at(sb_ad *c, sb_node *x, int64_t axis)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = 1;
    a.axis[0] = axis < 0 ? axis + x->type.ndim + 1 : axis;
    return sb_ad_op(c, SB_OP_EXPAND_DIMS, 1, &x, &a);
}

static sb_node *squeeze_at(sb_ad *c, sb_node *x, int64_t axis)
{
    if (!x) return NULL;
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = 1;
    a.axis[0] = axis < 0 ? axis + x->type.ndim : axis;
    return sb_ad_op(c, SB_OP_SQUEEZE, 1, &x, &a);
}

/* x with its last two axes swapped. */
static sb_node *swap_last(sb_ad *c, sb_node *x)
{
    int nd = x->type.ndim;
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = (int8_t)nd;
    for (int i = 0; i < nd; i++) a.axis[i] = i;
    a.axis[nd - 2] = nd - 1;
    a.axis[nd - 1] = nd - 2;
    return sb_ad_op(c, SB_OP_TRANSPOSE, 1, &x, &a);
}

/* NumPy matmul, four cases of rank: vector.vector, matrix@vector, vector@matrix and (batched)
 * matrix@matrix. Batch broadcasting is summed away by sb_ad_fit. */
static void lop_matmul(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *a = n->in[0], *b = n->in[1];
    int na = a->type.ndim, nb = b->type.ndim;
    if (na == 1 && nb == 1) {
        gin[0] = MUL(g, b);
        gin[1] = MUL(g, a);
    } else if (nb == 1) { /* [..., m, k] @ [k] -> [..., m] */
        gin[0] = MUL(expand_at(c, g, -1), b);
        gin[1] = squeeze_at(c, sb_ad_bin(c, SB_OP_MATMUL, expand_at(c, g, -2), a), -2);
    } else if (na == 1) { /* [k] @ [..., k, n] -> [..., n] */
        gin[0] = squeeze_at(c, sb_ad_bin(c, SB_OP_MATMUL, b, expand_at(c, g, -1)), -1);
        gin[1] = MUL(expand_at(c, a, -1), expand_at(c, g, -2));
    } else {
        gin[0] = sb_ad_bin(c, SB_OP_MATMUL, g, swap_last(c, b));
        gin[1] = sb_ad_bin(c, SB_OP_MATMUL, swap_last(c, a), g);
    }
}

/* x reshaped to the static dims of `like` (at most one unknown dim, written -1). */
static sb_node *reshape_like(sb_ad *c, sb_node *x, const sb_node *like)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nshape = like->type.ndim;
    int unknown = 0;
    for (int i = 0; i < like->type.ndim; i++) {
        a.shape[i] = like->type.dims[i];
        unknown += a.shape[i] < 0;
    }
    if (unknown > 1) {
        if (x)
            sb_diag_set(c->d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                        "grad: cannot reshape a gradient back to a shape with %d unknown dims",
                        unknown);
        return NULL;
    }
    return sb_ad_op(c, SB_OP_RESHAPE, 1, &x, &a);
}

static sb_node *flatten(sb_ad *c, sb_node *x)
{
    if (x && x->type.ndim == 1) return x;
    sb_attrs a;
    sb_attrs_init(&a);
    a.nshape = 1;
    a.shape[0] = -1;
    return sb_ad_op(c, SB_OP_RESHAPE, 1, &x, &a);
}

/* outer(a, b) -> [a.size, b.size]: da = g @ flat(b), db = flat(a) @ g, reshaped back. */
static void lop_outer(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *a = n->in[0], *b = n->in[1];
    gin[0] = sb_ad_bin(c, SB_OP_MATMUL, g, flatten(c, b));
    gin[1] = sb_ad_bin(c, SB_OP_MATMUL, flatten(c, a), g);
    for (int i = 0; i < 2; i++)
        if (n->in[i]->type.ndim != 1) gin[i] = reshape_like(c, gin[i], n->in[i]);
}

/* ---- L-op rules: shape ops ------------------------------------------------------------------ */
static void lop_reshape(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = reshape_like(c, g, X);
}

static void lop_transpose(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int nd = X->type.ndim;
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = (int8_t)nd;
    for (int i = 0; i < nd; i++) {
        int p = n->attrs->naxis < 0 ? nd - 1 - i : sb_axis_norm(n->attrs->axis[i], nd);
        SB_ASSERT(p >= 0);
        a.axis[p] = i; /* inverse permutation */
    }
    gin[0] = sb_ad_op(c, SB_OP_TRANSPOSE, 1, &g, &a);
}

/* expand_dims(x, axes) <-> squeeze(g, axes): the axes are positions in the larger tensor. */
static void lop_expand_dims(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = n->attrs->naxis;
    for (int i = 0; i < a.naxis; i++) a.axis[i] = sb_axis_norm(n->attrs->axis[i], n->type.ndim);
    gin[0] = sb_ad_op(c, SB_OP_SQUEEZE, 1, &g, &a);
}

static void lop_squeeze(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int nd = X->type.ndim;
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = 0;
    for (int i = 0; i < nd; i++) {
        bool on = false;
        if (n->attrs->naxis < 0) on = X->type.dims[i] == 1;
        for (int j = 0; j < n->attrs->naxis; j++) on |= sb_axis_norm(n->attrs->axis[j], nd) == i;
        if (on) a.axis[a.naxis++] = i;
    }
    gin[0] = a.naxis ? sb_ad_op(c, SB_OP_EXPAND_DIMS, 1, &g, &a) : g;
}

static int cat_axis(const sb_node *n, int ndim)
{
    int ax = n->attrs->naxis > 0 ? sb_axis_norm(n->attrs->axis[0], ndim) : 0;
    SB_ASSERT(ax >= 0);
    return ax;
}

/* g[..., start:stop] along axis; start/stop are int64 scalar nodes (constants or shape(x)[i]
 * sums), so unknown sizes slice at run time. */
static sb_node *slice_along(sb_ad *c, sb_node *g, int axis, sb_node *start, sb_node *stop)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nidx = (int8_t)(axis + 1);
    for (int i = 0; i <= axis; i++) a.idx[i].kind = SB_INDEX_SLICE;
    sb_node *in[3] = {g, start, stop};
    int nin = 1;
    sb_node *ends[2] = {start, stop};
    for (int e = 0; e < 2; e++) {
        const sb_array *v = ends[e] ? ends[e]->value : NULL;
        if (!ends[e]) return NULL;
        if (v) {
            a.idx[axis].a[e] = (sb_iarg){SB_IARG_CONST, sb_array_get_i64(v, 0)};
        } else {
            a.idx[axis].a[e] = (sb_iarg){SB_IARG_INPUT, nin};
            in[nin++] = ends[e];
        }
    }
    return sb_ad_op(c, SB_OP_SUBTENSOR, nin, in, &a);
}

/* i64 a + b, folded when both are constants. */
static sb_node *iadd(sb_ad *c, sb_node *a, sb_node *b)
{
    if (!a || !b) return NULL;
    if (!a->value || !b->value) return ADD(a, b);
    int64_t v = sb_array_get_i64(a->value, 0) + sb_array_get_i64(b->value, 0);
    return sb_const_scalar(c->ctx, (double)v, SB_DTYPE_I64, false);
}

static void lop_concatenate(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int ax = cat_axis(n, n->type.ndim);
    sb_node *off = sb_const_scalar(c->ctx, 0, SB_DTYPE_I64, false);
    for (int i = 0; i < n->nin; i++) {
        sb_node *end = iadd(c, off, dim_of(c, n->in[i], ax));
        gin[i] = slice_along(c, g, ax, off, end);
        off = end;
    }
}

/* stack: input i is g[..., i, ...] at the stacking axis. */
static void lop_stack(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int ax = cat_axis(n, n->type.ndim);
    for (int i = 0; i < n->nin; i++) {
        sb_attrs a;
        sb_attrs_init(&a);
        a.nidx = (int8_t)(ax + 1);
        for (int j = 0; j < ax; j++) a.idx[j].kind = SB_INDEX_SLICE;
        a.idx[ax].kind = SB_INDEX_SCALAR;
        a.idx[ax].a[0] = (sb_iarg){SB_IARG_CONST, i};
        gin[i] = sb_ad_op(c, SB_OP_SUBTENSOR, 1, &g, &a);
    }
}

/* split(x, k)[part]: zeros_like(x) with g written at the part's slice. */
static void lop_split(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int ax = cat_axis(n, X->type.ndim);
    int64_t k = n->attrs->k[0], part = n->attrs->k[1];
    sb_node *len = NULL;
    if (X->type.dims[ax] >= 0)
        len = sb_const_scalar(c->ctx, (double)(X->type.dims[ax] / k), SB_DTYPE_I64, false);
    else
        len = sb_ad_bin(c, SB_OP_FLOOR_DIVIDE, dim_of(c, X, ax),
                        sb_const_scalar(c->ctx, (double)k, SB_DTYPE_I64, false));
    sb_node *start;
    if (len && len->value)
        start = sb_const_scalar(c->ctx, (double)(sb_array_get_i64(len->value, 0) * part),
                                SB_DTYPE_I64, false);
    else
        start = MUL(len, sb_const_scalar(c->ctx, (double)part, SB_DTYPE_I64, false));
    sb_node *stop = iadd(c, start, len);
    /* a slice node of x at the part, then its own subtensor grad gives the placement */
    sb_node *piece = slice_along(c, X, ax, start, stop);
    if (!piece) return;
    sb_attrs a = *piece->attrs;
    sb_node *in[4] = {ZEROS(X), g, NULL, NULL};
    for (int i = 1; i < piece->nin; i++) in[i + 1] = piece->in[i];
    for (int e = 0; e < 2; e++)
        if (a.idx[ax].a[e].kind == SB_IARG_INPUT) a.idx[ax].a[e].v++;
    gin[0] = sb_ad_op(c, SB_OP_SET_SUBTENSOR, piece->nin + 1, in, &a);
}

/* broadcast_to: the driver sums g over the broadcast dims (sb_ad_fit). */
static void lop_broadcast_to(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin) { gin[0] = g; }

/* ---- L-op rules: indexing and control ------------------------------------------------------- */
/* Copy the index attributes of n with every INPUT position moved by `shift` (subtensor's
 * dynamic inputs start at 1, set/inc_subtensor's at 2). */
static sb_attrs shift_index(const sb_node *n, int shift)
{
    sb_attrs a = *n->attrs;
    for (int i = 0; i < a.nidx; i++)
        for (int j = 0; j < 3; j++)
            if (a.idx[i].a[j].kind == SB_IARG_INPUT) a.idx[i].a[j].v += shift;
    return a;
}

/* x[idx] -> inc_subtensor(zeros_like(x), g, idx): repeated advanced indices accumulate. */
static void lop_subtensor(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_attrs a = shift_index(n, 1);
    int nin = n->nin + 1;
    sb_node *in[nin];
    in[0] = ZEROS(X);
    in[1] = g;
    for (int i = 1; i < n->nin; i++) in[i + 1] = n->in[i];
    gin[0] = sb_ad_op(c, SB_OP_INC_SUBTENSOR, nin, in, &a);
}

/* g[idx] with n's (set/inc_subtensor) index: the gradient of the written value y. */
static sb_node *written_part(sb_ad *c, sb_node *n, sb_node *g)
{
    sb_attrs a = shift_index(n, -1);
    bool adv = false;
    for (int i = 0; i < a.nidx; i++) adv |= a.idx[i].kind == SB_INDEX_ARRAY;
    int nin = n->nin - 1;
    sb_node *in[nin];
    in[0] = g;
    for (int i = 2; i < n->nin; i++) in[i - 1] = n->in[i];
    return sb_ad_op(c, adv ? SB_OP_ADV_SUBTENSOR : SB_OP_SUBTENSOR, nin, in, &a);
}

/* set_subtensor(x, y, idx): x gets g with the written region zeroed, y gets g[idx]. */
static void lop_set_subtensor(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    int nin = n->nin;
    sb_node *in[nin];
    in[0] = g;
    in[1] = ZEROS(n->in[1]);
    for (int i = 2; i < nin; i++) in[i] = n->in[i];
    gin[0] = sb_ad_op(c, SB_OP_SET_SUBTENSOR, nin, in, n->attrs);
    gin[1] = written_part(c, n, g);
}

static void lop_inc_subtensor(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    gin[0] = g;
    gin[1] = written_part(c, n, g);
}

/* ifelse(cond, a, b): a gets ifelse(cond, g, 0), b gets ifelse(cond, 0, g). */
static void lop_ifelse(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    sb_node *z = ZEROS(g);
    sb_node *ia[3] = {n->in[0], g, z}, *ib[3] = {n->in[0], z, g};
    gin[1] = sb_ad_op(c, SB_OP_IFELSE, 3, ia, NULL);
    gin[2] = sb_ad_op(c, SB_OP_IFELSE, 3, ib, NULL);
}

#undef X
#undef Y

static const lop_fn lops[SB_OP_COUNT] = {
    [SB_OP_NEG] = lop_neg, [SB_OP_ABS] = lop_abs, [SB_OP_EXP] = lop_exp,
    [SB_OP_EXPM1] = lop_expm1, [SB_OP_LOG] = lop_log, [SB_OP_LOG1P] = lop_log1p,
    [SB_OP_LOG2] = lop_log2, [SB_OP_SQRT] = lop_sqrt, [SB_OP_SQR] = lop_sqr,
    [SB_OP_RECIPROCAL] = lop_reciprocal, [SB_OP_SIN] = lop_sin, [SB_OP_COS] = lop_cos,
    [SB_OP_TANH] = lop_tanh, [SB_OP_SIGMOID] = lop_sigmoid, [SB_OP_SOFTPLUS] = lop_softplus,
    [SB_OP_RELU] = lop_relu, [SB_OP_ERF] = lop_erf, [SB_OP_CAST] = lop_cast,
    [SB_OP_ADD] = lop_add, [SB_OP_SUB] = lop_sub, [SB_OP_MUL] = lop_mul, [SB_OP_DIV] = lop_div,
    [SB_OP_POW] = lop_pow, [SB_OP_MAXIMUM] = lop_maxmin, [SB_OP_MINIMUM] = lop_maxmin,
    [SB_OP_WHERE] = lop_where, [SB_OP_CLIP] = lop_clip,
    [SB_OP_SUM] = lop_sum, [SB_OP_PROD] = lop_prod, [SB_OP_MEAN] = lop_mean,
    [SB_OP_MAX] = lop_maxred, [SB_OP_MIN] = lop_maxred,
    [SB_OP_SOFTMAX] = lop_softmax, [SB_OP_LOG_SOFTMAX] = lop_log_softmax,
    [SB_OP_LOGSUMEXP] = lop_logsumexp, [SB_OP_CROSSENTROPY] = lop_crossentropy,
    [SB_OP_MATMUL] = lop_matmul, [SB_OP_OUTER] = lop_outer,
    [SB_OP_RESHAPE] = lop_reshape, [SB_OP_TRANSPOSE] = lop_transpose,
    [SB_OP_EXPAND_DIMS] = lop_expand_dims, [SB_OP_SQUEEZE] = lop_squeeze,
    [SB_OP_CONCATENATE] = lop_concatenate, [SB_OP_STACK] = lop_stack, [SB_OP_SPLIT] = lop_split,
    [SB_OP_BROADCAST_TO] = lop_broadcast_to,
    [SB_OP_SUBTENSOR] = lop_subtensor, [SB_OP_ADV_SUBTENSOR] = lop_subtensor,
    [SB_OP_SET_SUBTENSOR] = lop_set_subtensor, [SB_OP_INC_SUBTENSOR] = lop_inc_subtensor,
    [SB_OP_IFELSE] = lop_ifelse,
};

bool sb_ad_has_lop(sb_op op)
{
    const sb_op_def *pd = sb_op_plugin_def(op, NULL);
    return pd ? pd->lop != NULL : op < SB_OP_COUNT && lops[op];
}

bool sb_ad_lop(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin)
{
    if (!sb_ad_has_lop((sb_op)n->op)) return false;
    const sb_host_api *host = NULL;
    const sb_op_def *pd = sb_op_plugin_def((sb_op)n->op, &host);
    if (pd) { /* a plugin's op: its L-op callback */
        pd->lop(host, c->ctx, n, g, gin, c->d);
        return true;
    }
    lops[n->op](c, n, g, gin);
    return true;
}

/* ---- reverse mode -------------------------------------------------------------------------- */
/* Contract: see autodiff.h (an iterative post-order DFS: no recursion depth limit). */
int sb_ad_topo(sb_ctx *ctx, int nroot, sb_node *const *roots, sb_node ***out)
{
    size_t nn = sb_ctx_node_count(ctx);
    unsigned char *mark = sb_xcalloc(nn, 1);
    sb_ptrvec order = {0}, stack = {0};
    for (int r = 0; r < nroot; r++) {
        if (!roots[r] || mark[roots[r]->id]) continue;
        sb_ptrvec_push(&stack, roots[r]);
        while (stack.n) {
            sb_node *n = stack.v[stack.n - 1];
            if (mark[n->id] == 2) {
                stack.n--;
            } else if (mark[n->id] == 0) {
                mark[n->id] = 1;
                for (int k = n->nin - 1; k >= 0; k--)
                    if (!mark[n->in[k]->id]) sb_ptrvec_push(&stack, n->in[k]);
            } else {
                mark[n->id] = 2;
                stack.n--;
                sb_ptrvec_push(&order, n);
            }
        }
    }
    free(mark);
    sb_ptrvec_free(&stack);
    *out = (sb_node **)order.v;
    return order.n;
}

/* State of one reverse pass; arrays are indexed by node id (ids below n0 = existing nodes). */
typedef struct rev {
    sb_ad c;
    size_t n0;
    bool *dep;      /* depends differentiably on some wrt */
    bool *blocked;  /* consider_constant */
    sb_node **grad; /* accumulated gradient */
} rev;

static bool is_float(const sb_node *n) { return sb_dtype_is_float(n->type.dtype); }

/* Which nodes of order[] depend on a wrt through differentiable float paths. */
static void mark_dep(rev *r, int nord, sb_node **order, int nwrt, sb_node *const *wrt)
{
    for (int i = 0; i < nwrt; i++)
        if (is_float(wrt[i])) r->dep[wrt[i]->id] = true;
    for (int i = 0; i < nord; i++) {
        sb_node *n = order[i];
        if (r->dep[n->id] || r->blocked[n->id] || !is_float(n)) continue;
        if (!(sb_op_get((sb_op)n->op)->flags & SB_F_DIFF)) continue;
        for (int k = 0; k < n->nin && !r->dep[n->id]; k++) r->dep[n->id] = r->dep[n->in[k]->id];
    }
}

static void accumulate(rev *r, sb_node *x, sb_node *g)
{
    sb_ad *c = &r->c;
    g = sb_ad_fit(c, g, x);
    if (!g) return;
    sb_node **slot = &r->grad[x->id];
    *slot = *slot ? ADD(*slot, g) : g;
}

/* Propagate the gradients in reverse topological order. Returns SB_OK or the first error. */
static sb_status backprop(rev *r, int nord, sb_node **order)
{
    for (int i = nord - 1; i >= 0; i--) {
        sb_node *n = order[i], *g = r->grad[n->id];
        if (!g || !r->dep[n->id] || r->blocked[n->id] || !n->nin) continue;
        sb_node *gin[n->nin];
        for (int k = 0; k < n->nin; k++) gin[k] = NULL;
        if (!sb_ad_lop(&r->c, n, g, gin)) {
            return sb_diag_set(r->c.d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                               "grad: no gradient rule for '%s'", sb_op_get((sb_op)n->op)->name);
        }
        for (int k = 0; k < n->nin; k++)
            if (gin[k] && r->dep[n->in[k]->id]) accumulate(r, n->in[k], gin[k]);
        if (r->c.d && r->c.d->status) return r->c.d->status;
    }
    return SB_OK;
}

/* Check the cost and the known gradients; expand symbolic nodes below them. */
static sb_status grad_check_args(sb_ad *c, sb_node *cost, const sb_grad_opts *o)
{
    char buf[160];
    if (!cost && (!o || o->nknown == 0))
        return sb_diag_set(c->d, SB_ERR_TYPE, NULL, 0, 0, "grad: no cost and no known gradients");
    if (cost && (cost->type.ndim != 0 || !is_float(cost))) {
        char ts[96];
        return sb_diag_set(c->d, SB_ERR_TYPE, NULL, 0, 0,
                           "grad: the cost %s must be a float scalar, not %s",
                           sb_ad_desc(cost, buf, sizeof buf),
                           sb_type_str(&cost->type, ts, sizeof ts));
    }
    for (int i = 0; o && i < o->nknown; i++) {
        sb_node *k = o->known_nodes[i], *u = o->known_grads[i];
        if (u->type.ndim > k->type.ndim || !is_float(u))
            return sb_diag_set(c->d, SB_ERR_TYPE, NULL, 0, 0,
                               "grad: the known gradient of %s must be a float of its shape",
                               sb_ad_desc(k, buf, sizeof buf));
    }
    return SB_OK;
}

/* The gradient of wrt when the pass left none: zeros or the disconnected-input error. */
static sb_node *disconnected(sb_ad *c, sb_node *wrt, const sb_grad_opts *o)
{
    if (o && o->disconnected_zeros) return sb_ad_zeros_like(c, wrt);
    char buf[160];
    sb_diag_set(c->d, SB_ERR_TYPE, NULL, 0, 0,
                "grad: the cost does not depend on %s (a disconnected input: its path, if any, "
                "goes through integer values, non-differentiable ops or constants; ask for "
                "zeros with disconnected zeros)",
                sb_ad_desc(wrt, buf, sizeof buf));
    return NULL;
}

/* Contract: see symbench.h. Symbolic nodes (grad of grad, ...) below cost, the known nodes and
 * wrt are expanded first, innermost first. */
sb_status sb_grad(sb_ctx *ctx, sb_node *cost, int nwrt, sb_node *const *wrt,
                  const sb_grad_opts *opts, sb_node **out, sb_diag *d)
{
    sb_diag local = {0};
    rev r = {.c = {ctx, d ? d : &local}};
    sb_status st = grad_check_args(&r.c, cost, opts);
    if (st) return st;
    int nk = opts ? opts->nknown : 0, nc = opts ? opts->nconst : 0;
    size_t nmemo = sb_ctx_node_count(ctx);
    sb_node **memo = sb_xcalloc(nmemo, sizeof *memo);
    sb_node *roots[nk + 1], *w[nwrt > 0 ? nwrt : 1], *kg[nk + 1];
    roots[0] = cost ? sb_ad_expand(&r.c, cost, memo, nmemo) : NULL;
    for (int i = 0; i < nk; i++) {
        roots[i + 1] = sb_ad_expand(&r.c, opts->known_nodes[i], memo, nmemo);
        kg[i] = sb_ad_expand(&r.c, opts->known_grads[i], memo, nmemo);
    }
    for (int i = 0; i < nwrt; i++) w[i] = sb_ad_expand(&r.c, wrt[i], memo, nmemo);
    sb_node **order = NULL;
    int nord = sb_ad_topo(ctx, nk + 1, roots, &order);
    r.n0 = sb_ctx_node_count(ctx);
    r.dep = sb_xcalloc(r.n0, sizeof *r.dep);
    r.blocked = sb_xcalloc(r.n0, sizeof *r.blocked);
    r.grad = sb_xcalloc(r.n0, sizeof *r.grad);
    for (int i = 0; i < nc; i++) {
        sb_node *k = opts->consider_constant[i];
        k = k->id < nmemo && memo[k->id] ? memo[k->id] : k;
        if (k->id < r.n0) r.blocked[k->id] = true;
    }
    mark_dep(&r, nord, order, nwrt, w);
    if (roots[0] && r.dep[roots[0]->id])
        r.grad[roots[0]->id] = sb_const_scalar(ctx, 1.0, roots[0]->type.dtype, false);
    for (int i = 0; i < nk; i++)
        if (roots[i + 1] && r.dep[roots[i + 1]->id]) accumulate(&r, roots[i + 1], kg[i]);
    st = r.c.d->status ? r.c.d->status : backprop(&r, nord, order);
    for (int i = 0; i < nwrt && !st; i++) {
        out[i] = r.grad[w[i]->id] ? r.grad[w[i]->id] : disconnected(&r.c, w[i], opts);
        st = r.c.d->status;
    }
    free(memo);
    free(order);
    free(r.dep);
    free(r.blocked);
    free(r.grad);
    return st;
}

sb_status sb_lop(sb_ctx *ctx, sb_node *f, int nwrt, sb_node *const *wrt, sb_node *u,
                 const sb_grad_opts *opts, sb_node **out, sb_diag *d)
{
    sb_grad_opts o = opts ? *opts : (sb_grad_opts){0};
    int nk = o.nknown + 1;
    sb_node *kn[nk], *kgr[nk];
    for (int i = 0; i < o.nknown; i++) {
        kn[i] = o.known_nodes[i];
        kgr[i] = o.known_grads[i];
    }
    kn[nk - 1] = f;
    kgr[nk - 1] = u;
    o.nknown = nk;
    o.known_nodes = kn;
    o.known_grads = kgr;
    return sb_grad(ctx, NULL, nwrt, wrt, &o, out, d);
}

/* ---- expansion of symbolic nodes ------------------------------------------------------------ */
/* The expansion of one grad/Lop/Rop/jacobian/hessian node whose inputs are already expanded. */
static sb_node *expand_symbolic(sb_ad *c, sb_op op, sb_node *const *in, const sb_attrs *a)
{
    sb_node *out = NULL;
    sb_grad_opts o = {.disconnected_zeros = a->value == 1};
    sb_status st = SB_OK;
    switch (op) {
    case SB_OP_GRAD: st = sb_grad(c->ctx, in[0], 1, &in[1], &o, &out, c->d); break;
    case SB_OP_LOP: st = sb_lop(c->ctx, in[0], 1, &in[1], in[2], &o, &out, c->d); break;
    case SB_OP_ROP: st = sb_rop(c->ctx, in[0], 1, &in[1], &in[2], &out, c->d); break;
    case SB_OP_JACOBIAN: st = sb_jacobian(c->ctx, in[0], in[1], &out, c->d); break;
    case SB_OP_HESSIAN: st = sb_hessian(c->ctx, in[0], in[1], &out, c->d); break;
    default: SB_ASSERT(!"not a symbolic op");
    }
    return st ? NULL : out;
}

/* Rebuild one node from its rebuilt inputs (memo). */
static sb_node *rebuild(sb_ad *c, sb_node *n, sb_node **memo, size_t nmemo)
{
    sb_node *in[n->nin > 0 ? n->nin : 1];
    bool changed = false;
    for (int k = 0; k < n->nin; k++) {
        sb_node *x = n->in[k];
        in[k] = x->id < nmemo && memo[x->id] ? memo[x->id] : x;
        changed |= in[k] != x;
    }
    if (sb_op_get((sb_op)n->op)->flags & SB_F_SYMBOLIC)
        return expand_symbolic(c, (sb_op)n->op, in, n->attrs);
    if (!changed) return n;
    return sb_apply(c->ctx, (sb_op)n->op, n->nin, in, n->attrs, c->d);
}

/* Contract: iterative post-order over the nodes below n not yet in memo; each is rebuilt once
 * its inputs are (innermost symbolic nodes first, so grad of grad works). Returns NULL with
 * c->d set on an error. */
sb_node *sb_ad_expand(sb_ad *c, sb_node *n, sb_node **memo, size_t nmemo)
{
    if (!n || n->id >= nmemo) return n;
    sb_ptrvec stack = {0};
    sb_ptrvec_push(&stack, n);
    while (stack.n && !(c->d && c->d->status)) {
        sb_node *x = stack.v[stack.n - 1];
        if (memo[x->id]) {
            stack.n--;
            continue;
        }
        bool ready = true;
        for (int k = x->nin - 1; k >= 0; k--) {
            sb_node *y = x->in[k];
            if (y->id < nmemo && !memo[y->id]) {
                sb_ptrvec_push(&stack, y);
                ready = false;
            }
        }
        if (!ready) continue;
        stack.n--;
        memo[x->id] = rebuild(c, x, memo, nmemo);
        if (!memo[x->id]) break;
    }
    sb_ptrvec_free(&stack);
    return c->d && c->d->status ? NULL : memo[n->id];
}

/* Contract: see symbench.h. One memo for the whole graph, so shared subterms are rebuilt once
 * and names stay consistent; errors name the entry (output, let or update) being expanded. */
sb_status sb_graph_expand_autodiff(sb_graph *g, sb_diag *d)
{
    sb_diag local = {0};
    sb_ad c = {g->ctx, d ? d : &local};
    size_t nmemo = sb_ctx_node_count(g->ctx);
    sb_node **memo = sb_xcalloc(nmemo, sizeof *memo);
    static const sb_graph_role roles[] = {SB_ROLE_LET, SB_ROLE_OUTPUT, SB_ROLE_UPDATE};
    static const char *role_names[] = {"let", "output", "update"};
    sb_status st = SB_OK;
    for (int r = 0; r < 3 && !st; r++) {
        for (int i = 0; i < g->n[roles[r]] && !st; i++) {
            sb_graph_entry *e = &g->e[roles[r]][i];
            sb_node *x = sb_ad_expand(&c, e->node, memo, nmemo);
            if (x) {
                e->node = x;
                continue;
            }
            st = c.d->status ? c.d->status : SB_ERR_INTERNAL;
            char msg[sizeof c.d->msg];
            snprintf(msg, sizeof msg, "%s '%.100s': %.600s", role_names[r], e->name, c.d->msg);
            memcpy(c.d->msg, msg, sizeof msg);
        }
    }
    free(memo);
    return st;
}
