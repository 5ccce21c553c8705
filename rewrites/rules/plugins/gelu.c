/* gelu: fused activation ops with their kernels, gradients and recognition rules (an example
 * plugin, docs/plugins.md).
 *
 * Ops (elementwise, differentiable, float results):
 *   gelu(x)  = 0.5 x (1 + erf(x / sqrt(2)))      d/dx = Phi(x) + x phi(x)
 *   swish(x) = x sigmoid(x)                       d/dx = s + x s (1 - s), s = sigmoid(x)
 * each with a type rule, a reference kernel (any dtype, through the host's element accessors),
 * a fast kernel (float32 / float64 loops), an L-op and an R-op.
 * Rules (rule set "gelu"): the unfused forms -> the fused ops. A cost function prices the fused
 * ops at their real flop count (the default prices an unknown elementwise op at 1 per element). */
#include <symbench.h>

#include <math.h>

static const sb_host_api *H;
static sb_op OP_GELU, OP_SWISH;

/* ---- type rules ---------------------------------------------------------------------------- */
/* swish: like sigmoid (an int or bool input goes to symbench's float for it). */
static sb_status unary_float(int nin, const sb_type *const *in, const sb_attrs *a, sb_type *out,
                             sb_diag *d)
{
    (void)a;
    if (nin != 1) return H->diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "takes 1 argument, got %d", nin);
    *out = *in[0];
    out->dtype = H->dtype_to_float(in[0]->dtype);
    return SB_OK;
}

/* gelu: float inputs keep their dtype, others give float64 (as 0.5 * x * ... does). */
static sb_status gelu_type(int nin, const sb_type *const *in, const sb_attrs *a, sb_type *out,
                           sb_diag *d)
{
    sb_status st = unary_float(nin, in, a, out, d);
    if (!st && !H->dtype_is_float(in[0]->dtype)) out->dtype = SB_DTYPE_F64;
    return st;
}

/* ---- kernels ------------------------------------------------------------------------------ */
static double gelu1(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double swish1(double x) { return x / (1 + exp(-x)); }

static sb_status ref_map(const sb_array *x, sb_array *out, double (*f)(double))
{
    int64_t n = H->array_numel(out);
    for (int64_t i = 0; i < n; i++) H->array_set_f64(out, i, f(H->array_get_f64(x, i)));
    return SB_OK;
}

static sb_status gelu_ref(int nin, const sb_array *const *in, const sb_attrs *a, sb_array *out,
                          sb_diag *d)
{
    (void)nin, (void)a, (void)d;
    return ref_map(in[0], out, gelu1);
}

static sb_status swish_ref(int nin, const sb_array *const *in, const sb_attrs *a, sb_array *out,
                           sb_diag *d)
{
    (void)nin, (void)a, (void)d;
    return ref_map(in[0], out, swish1);
}

/* Fast paths: float32 / float64 input of the output's dtype, plain loops. */
static sb_status fast_map(const sb_array *x, sb_array *out, double (*f)(double))
{
    int64_t n = H->array_numel(out);
    if (x->dtype != out->dtype) return ref_map(x, out, f);
    if (out->dtype == SB_DTYPE_F32) {
        const float *s = x->data;
        float *o = out->data;
        for (int64_t i = 0; i < n; i++) o[i] = (float)f(s[i]);
    } else if (out->dtype == SB_DTYPE_F64) {
        const double *s = x->data;
        double *o = out->data;
        for (int64_t i = 0; i < n; i++) o[i] = f(s[i]);
    } else {
        return ref_map(x, out, f);
    }
    return SB_OK;
}

static sb_status gelu_fast(int nin, const sb_array *const *in, const sb_attrs *a, sb_array *out,
                           sb_diag *d)
{
    (void)nin, (void)a, (void)d;
    return fast_map(in[0], out, gelu1);
}

static sb_status swish_fast(int nin, const sb_array *const *in, const sb_attrs *a, sb_array *out,
                            sb_diag *d)
{
    (void)nin, (void)a, (void)d;
    return fast_map(in[0], out, swish1);
}

/* ---- derivatives as graphs ------------------------------------------------------------------ */
static sb_node *num(sb_ctx *ctx, double v) { return H->const_scalar(ctx, v, SB_DTYPE_F64, true); }

static sb_node *bin(sb_ctx *ctx, sb_op op, sb_node *a, sb_node *b, sb_diag *d)
{
    if (!a || !b) return NULL;
    sb_node *in[2] = {a, b};
    return H->apply(ctx, op, 2, in, NULL, d);
}

static sb_node *un(sb_ctx *ctx, sb_op op, sb_node *a, sb_diag *d)
{
    return a ? H->apply(ctx, op, 1, &a, NULL, d) : NULL;
}

/* d gelu / dx = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi) */
static sb_node *gelu_deriv(sb_ctx *ctx, sb_node *x, sb_diag *d)
{
    sb_node *cdf = bin(ctx, SB_OP_MUL, num(ctx, 0.5),
                       bin(ctx, SB_OP_ADD, num(ctx, 1),
                           un(ctx, SB_OP_ERF, bin(ctx, SB_OP_DIV, x, num(ctx, sqrt(2.0)), d), d), d), d);
    sb_node *pdf = bin(ctx, SB_OP_MUL, num(ctx, 1 / sqrt(2 * M_PI)),
                       un(ctx, SB_OP_EXP, bin(ctx, SB_OP_MUL, num(ctx, -0.5),
                                              bin(ctx, SB_OP_MUL, x, x, d), d), d), d);
    return bin(ctx, SB_OP_ADD, cdf, bin(ctx, SB_OP_MUL, x, pdf, d), d);
}

/* d swish / dx = s + x s (1 - s) */
static sb_node *swish_deriv(sb_ctx *ctx, sb_node *x, sb_diag *d)
{
    sb_node *s = un(ctx, SB_OP_SIGMOID, x, d);
    sb_node *t = bin(ctx, SB_OP_MUL, bin(ctx, SB_OP_MUL, x, s, d),
                     bin(ctx, SB_OP_SUB, num(ctx, 1), s, d), d);
    return bin(ctx, SB_OP_ADD, s, t, d);
}

static sb_node *deriv(sb_ctx *ctx, sb_node *node, sb_diag *d)
{
    sb_node *x = H->node_in(node, 0);
    return H->node_op(node) == OP_GELU ? gelu_deriv(ctx, x, d) : swish_deriv(ctx, x, d);
}

static void act_lop(const sb_host_api *h, sb_ctx *ctx, sb_node *node, sb_node *g, sb_node **gin,
                    sb_diag *d)
{
    (void)h;
    gin[0] = bin(ctx, SB_OP_MUL, g, deriv(ctx, node, d), d);
}

static sb_node *act_rop(const sb_host_api *h, sb_ctx *ctx, sb_node *node, sb_node *const *dx,
                        sb_diag *d)
{
    (void)h;
    return dx[0] ? bin(ctx, SB_OP_MUL, dx[0], deriv(ctx, node, d), d) : NULL;
}

/* ---- cost ------------------------------------------------------------------------------------- */
static double act_cost(sb_op op, const sb_attrs *a, const sb_type *out, int nin,
                       const sb_type *const *in, double builtin)
{
    (void)a, (void)nin, (void)in;
    if (op != OP_GELU && op != OP_SWISH) return builtin;
    double n = 1;
    for (int i = 0; i < out->ndim; i++) n *= out->dims[i] >= 0 ? (double)out->dims[i] : 128;
    return builtin + 10 * n; /* erf / exp and a few multiplies per element */
}

/* ---- registration ------------------------------------------------------------------------------ */
static const char rules[] =
    "{\"rules\": ["
    " {\"name\": \"gelu-fuse\", \"lhs\": \"0.5 * ?x * (1 + erf(?x / sqrt(2)))\","
    "  \"rhs\": \"gelu(?x)\", \"doc\": \"the exact GELU as one fused op\"},"
    " {\"name\": \"gelu-fuse-half-last\", \"lhs\": \"?x * (1 + erf(?x / sqrt(2))) * 0.5\","
    "  \"rhs\": \"gelu(?x)\", \"doc\": \"GELU written with the 0.5 last\"},"
    " {\"name\": \"swish-fuse\", \"lhs\": \"?x * sigmoid(?x)\", \"rhs\": \"swish(?x)\","
    "  \"doc\": \"swish / SiLU as one fused op\"}"
    "]}";

static const sb_plugin_desc desc = {SB_PLUGIN_ABI_VERSION, "gelu",
                                    "fused gelu and swish ops with gradients, and the rules "
                                    "that recognize them"};

SB_PLUGIN_EXPORT const sb_plugin_desc *sb_plugin_init(const sb_host_api *host)
{
    H = host;
    sb_diag d = {0};
    sb_op_def gelu = {"gelu", 1, SB_F_ELEMWISE | SB_F_DIFF, SB_FAM_ELEMWISE, gelu_type,
                      gelu_ref, act_lop, act_rop, gelu_fast};
    sb_op_def swish = {"swish", 1, SB_F_ELEMWISE | SB_F_DIFF, SB_FAM_ELEMWISE, unary_float,
                       swish_ref, act_lop, act_rop, swish_fast};
    if (host->register_op(host, &gelu, &OP_GELU, &d) ||
        host->register_op(host, &swish, &OP_SWISH, &d) ||
        host->register_rules_json(host, rules, &d) ||
        host->register_cost(host, "fused-activations", act_cost, &d))
        return NULL;
    return &desc;
}
