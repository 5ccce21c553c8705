/* ad_cases.h: the table of differentiable expressions shared by test_grad.c (verify_grad on
 * each) and test_rop.c (Rop against the explicit Jacobian), and the helpers that declare their
 * variables, give them seeded random values and evaluate in float64.
 *
 * A case: variables "x=float64[3,4]; y=float64[4]{0.5,2}" (an optional {lo,hi} overrides the
 * case's value range; `|5,4` after the type gives the run-time shape of unknown dims), an
 * expression in the syntax, the value range, and pm = values get a random sign (magnitudes in
 * [lo, hi], to keep away from kinks at 0). Integer variables are listed after the float ones and
 * take the integer part of their random values. */
#ifndef AD_CASES_H
#define AD_CASES_H

#include <criterion/criterion.h>

#include "symbench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ad_case {
    const char *vars;
    const char *expr;
    double lo, hi;
    bool pm;
} ad_case;

static const ad_case ad_cases[] = {
    /* unary elementwise */
    {"x=float64[3,4]", "-x", -1, 1, false},
    {"x=float64[3,4]", "abs(x)", 0.2, 2, true},
    {"x=float64[3,4]", "exp(x)", -1, 1, false},
    {"x=float32[5]", "expm1(x)", -1, 1, false},
    {"x=float64[3,4]", "log(x)", 0.5, 2, false},
    {"x=float64[2,3]", "log1p(x)", 0.1, 2, false},
    {"x=float64[2,3]", "log2(x)", 0.5, 2, false},
    {"x=float64[2,3]", "sqrt(x)", 0.5, 2, false},
    {"x=float64[2,3]", "sqr(x)", -1, 1, false},
    {"x=float64[2,3]", "reciprocal(x)", 0.5, 2, true},
    {"x=float64[2,3]", "sin(x)", -2, 2, false},
    {"x=float64[2,3]", "cos(x)", -2, 2, false},
    {"x=float64[2,3]", "tanh(x)", -2, 2, false},
    {"x=float32[2,3]", "sigmoid(x)", -2, 2, false},
    {"x=float64[2,3]", "softplus(x)", -2, 2, false},
    {"x=float64[2,3]", "relu(x)", 0.1, 2, true},
    {"x=float64[2,3]", "erf(x)", -1.5, 1.5, false},
    {"x=float64[2,3]", "cast(x, 'float32') * 2", -1, 1, false},
    {"x=float32[2,3]", "cast(x, 'float64')", -1, 1, false},
    /* binary elementwise, broadcasting patterns */
    {"x=float64[3,4]; y=float64[4]", "x + y", -1, 1, false},
    {"x=float64[3,1]; y=float64[1,4]", "x + y", -1, 1, false},
    {"x=float64[2,3,4]; y=float64[3,1]", "x - y", -1, 1, false},
    {"x=float64[3,4]", "x + 2.5", -1, 1, false},
    {"x=float64[3,4]; y=float64[4]", "x * y", -1, 1, false},
    {"x=float64[2,1,3]; y=float64[4,1]", "x * y", -1, 1, false},
    {"x=float64[3,4]; y=float64[4]{0.5,2}", "x / y", -1, 1, false},
    {"x=float64[]; y=float64[3]{0.5,2}", "x / y", -1, 1, false},
    {"x=float64[3,4]{0.5,2}; y=float64[4]", "x ** y", -1, 1, false},
    {"x=float64[3,4]", "x ** 3", 0.2, 1.5, true},
    {"x=float64[3,4]; y=float64[4]", "maximum(x, y)", -1, 1, false},
    {"x=float64[3,1]; y=float64[1,4]", "minimum(x, y)", -1, 1, false},
    /* ternary */
    {"x=float64[3,4]; y=float64[4]; z=float64[3,1]", "where(z > 0, x, y)", 0.1, 1, true},
    {"x=float64[3,4]", "clip(x, -0.5, 0.5)", 0.1, 1, true},
    {"x=float64[3,4]{-1,1}; y=float64[4]{-0.8,-0.6}; z=float64[3,1]{0.6,0.8}",
     "clip(x, y, z)", 0, 1, false},
    /* reductions */
    {"x=float64[3,4]", "sum(x)", -1, 1, false},
    {"x=float64[3,4]", "sum(x, axis=1)", -1, 1, false},
    {"x=float64[2,3,4]", "sum(x, axis=(0, 2), keepdims=True)", -1, 1, false},
    {"x=float64[3,4]", "prod(x, axis=1)", 0.5, 1.5, true},
    {"x=float64[2,3]", "prod(x)", 0.5, 1.5, false},
    {"x=float64[3,4]", "mean(x, axis=0)", -1, 1, false},
    {"x=float64[?,4]|5,4", "mean(x, axis=0)", -1, 1, false},
    {"x=float64[?,?]|3,2", "mean(x)", -1, 1, false},
    {"x=float64[3,4]", "max(x, axis=1)", -1, 1, false},
    {"x=float64[2,3,4]", "max(x, axis=(0, 1), keepdims=True)", -1, 1, false},
    {"x=float64[3,4]", "min(x)", -1, 1, false},
    {"x=float64[3,4]", "min(x, axis=-1)", -1, 1, false},
    /* neural-net ops */
    {"x=float64[3,4]", "softmax(x)", -1, 1, false},
    {"x=float64[3,4]", "softmax(x, axis=0)", -1, 1, false},
    {"x=float64[3,4]", "log_softmax(x)", -1, 1, false},
    {"x=float64[2,3,4]", "log_softmax(x, axis=1)", -1, 1, false},
    {"x=float64[3,4]", "logsumexp(x, axis=1)", -1, 1, false},
    {"x=float64[3,4]", "logsumexp(x)", -1, 1, false},
    {"x=float64[3,4]{0.2,1}", "categorical_crossentropy(x, array([0, 3, 1]))", 0, 1, false},
    {"x=float64[?,4]{0.2,1}|3,4", "categorical_crossentropy(x, array([2, 3, 1]))", 0, 1, false},
    {"x=float64[3,4]; y=float64[3,4]", "categorical_crossentropy(softmax(x), softmax(y))", -1, 1,
     false},
    /* linear algebra */
    {"x=float64[3,4]; y=float64[4,2]", "x @ y", -1, 1, false},
    {"x=float64[4]; y=float64[4]", "x @ y", -1, 1, false},
    {"x=float64[3,4]; y=float64[4]", "x @ y", -1, 1, false},
    {"x=float64[4]; y=float64[4,2]", "x @ y", -1, 1, false},
    {"x=float64[2,3,4]; y=float64[4,2]", "x @ y", -1, 1, false},
    {"x=float64[2,3,4]; y=float64[1,4,2]", "x @ y", -1, 1, false},
    {"x=float64[2,3,4]; y=float64[4]", "x @ y", -1, 1, false},
    {"x=float64[3]; y=float64[4]", "outer(x, y)", -1, 1, false},
    {"x=float64[2,2]; y=float64[3]", "outer(x, y)", -1, 1, false},
    /* shape ops */
    {"x=float64[3,4]", "reshape(x, (2, 6))", -1, 1, false},
    {"x=float64[?,4]|3,4", "reshape(x, (-1,))", -1, 1, false},
    {"x=float64[3,4]", "x.T", -1, 1, false},
    {"x=float64[2,3,4]", "transpose(x, (1, 2, 0))", -1, 1, false},
    {"x=float64[3,4]", "expand_dims(x, 1)", -1, 1, false},
    {"x=float64[3,1,4]", "squeeze(x, 1)", -1, 1, false},
    {"x=float64[1,3]", "squeeze(x)", -1, 1, false},
    {"x=float64[3,2]; y=float64[3,4]", "concatenate((x, y), axis=1)", -1, 1, false},
    {"x=float64[?,2]|3,2; y=float64[?,2]|2,2", "concatenate((x, y, x))", -1, 1, false},
    {"x=float64[3]; y=float64[3]", "stack((x, y), axis=1)", -1, 1, false},
    {"x=float64[6,2]", "split(x, 3, axis=0)[1]", -1, 1, false},
    {"x=float64[?,2]|6,2", "split(x, 3, axis=0)[2]", -1, 1, false},
    {"x=float64[4]", "broadcast_to(x, (3, 4))", -1, 1, false},
    {"x=float64[3,1]", "broadcast_to(x, (2, 3, 4))", -1, 1, false},
    /* indexing */
    {"x=float64[4,3]", "x[1:3, 0]", -1, 1, false},
    {"x=float64[5,3]", "x[::2]", -1, 1, false},
    {"x=float64[4,3]", "x[array([0, 2, 2])]", -1, 1, false},
    {"x=float64[4,3]", "x[array([0, 1, 1]), array([2, 0, 0])]", -1, 1, false},
    {"x=float64[4,3]; y=float64[2,3]", "set_subtensor(x[1:3], y)", -1, 1, false},
    {"x=float64[4,3]; y=float64[3]", "set_subtensor(x[1:3], y)", -1, 1, false},
    {"x=float64[4,3]; y=float64[2,3]", "inc_subtensor(x[1:3], y)", -1, 1, false},
    {"x=float64[4,3]; y=float64[3,3]", "inc_subtensor(x[array([0, 0, 2])], y)", -1, 1, false},
    /* dynamic indices (integer variables come last: test_rop pairs float vars with values) */
    {"x=float64[5,3]; i=int64[]{1,2}", "x[i:i + 2, i]", -1, 1, false},
    {"x=float64[5,3]; y=float64[3]; i=int64[]{2,3}", "set_subtensor(x[i], y)", -1, 1, false},
    {"x=float64[5,3]; y=float64[4,3]; j=int64[4]{0,4.9}", "inc_subtensor(x[j], y)", -1, 1,
     false},
    {"x=float64[5,3]; j=int64[6]{0,4.9}", "x[j, 1:]", -1, 1, false},
    /* control */
    {"x=float64[3]; y=float64[3]; z=float64[2]{0.1,1}", "ifelse(sum(z) > 0, x, y)", -1, 1, false},
    {"x=float64[3]; y=float64[3]; z=float64[2]{0.1,1}", "ifelse(sum(z) < 0, x, y)", -1, 1, false},
    /* compositions */
    {"x=float64[5,4]; W=float32[4,3]; b=float32[3]", "tanh(x @ W + b)", -1, 1, false},
    {"x=float64[5,4]; W=float64[4,3]; b=float64[3]",
     "mean(categorical_crossentropy(softmax(x @ W + b), array([0, 1, 2, 1, 0])))", -1, 1, false},
};
#define AD_NCASES ((int)(sizeof ad_cases / sizeof ad_cases[0]))

/* Variables and values of one case. */
typedef struct ad_env {
    sb_ctx *ctx;
    int n;
    char names[8][16];
    sb_node *var[8];
    sb_array *val[8];
    sb_binding b[8];
} ad_env;

static uint64_t ad_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double ad_unif(uint64_t *s) { return (double)(ad_rng(s) >> 11) / 9007199254740992.0; }

/* Declare one "name=type{lo,hi}|shape" variable and give it a random value. */
static void ad_env_var(ad_env *e, const char *spec, const ad_case *c, uint64_t *rng)
{
    char buf[128], *p;
    snprintf(buf, sizeof buf, "%s", spec);
    double lo = c->lo, hi = c->hi;
    int64_t shape[SB_MAX_DIMS];
    char *bar = strchr(buf, '|'), *brace = strchr(buf, '{');
    if (bar) *bar++ = 0;
    if (brace) {
        sscanf(brace, "{%lf,%lf}", &lo, &hi);
        *brace = 0;
    }
    p = strchr(buf, '=');
    cr_assert(p, "bad variable spec %s", spec);
    *p++ = 0;
    sb_type t;
    sb_diag d = {0};
    cr_assert_eq(sb_type_parse(p, &t, &d), SB_OK, "bad type %s: %s", p, d.msg);
    for (int i = 0; i < t.ndim; i++) shape[i] = t.dims[i];
    for (int i = 0; bar && i < t.ndim; i++) shape[i] = strtoll(bar, &bar, 10), bar += *bar == ',';
    int k = e->n++;
    snprintf(e->names[k], sizeof e->names[k], "%.15s", buf);
    e->var[k] = sb_input(e->ctx, e->names[k], &t);
    e->val[k] = sb_array_new(t.dtype, t.ndim, shape);
    for (int64_t i = 0; i < sb_array_numel(e->val[k]); i++) {
        double v = lo + (hi - lo) * ad_unif(rng);
        if (c->pm && ad_rng(rng) % 2) v = -v;
        sb_array_set_f64(e->val[k], i, v);
    }
    e->b[k] = (sb_binding){e->names[k], e->val[k]};
}

static void ad_env_init(ad_env *e, const ad_case *c, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    e->ctx = sb_ctx_init();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", c->vars);
    uint64_t rng = seed;
    for (char *s = strtok(buf, ";"); s; s = strtok(NULL, ";")) {
        while (*s == ' ') s++;
        ad_env_var(e, s, c, &rng);
    }
}

static void ad_env_free(ad_env *e)
{
    for (int i = 0; i < e->n; i++) sb_array_free(e->val[i]);
    sb_ctx_free(e->ctx);
}

static sb_node *ad_parse(ad_env *e, const char *expr)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(e->ctx, expr, NULL, NULL, &d);
    cr_assert(n, "cannot parse %s: %s", expr, d.msg);
    return n;
}

/* The float variables of the case (the wrt list). */
static int ad_float_vars(const ad_env *e, sb_node **wrt)
{
    int k = 0;
    for (int i = 0; i < e->n; i++)
        if (sb_dtype_is_float(sb_node_type(e->var[i])->dtype)) wrt[k++] = e->var[i];
    return k;
}

/* sum(f * W) with W fixed random weights of f's static shape (runtime shapes: via the value of
 * f), so every element of f matters. */
__attribute__((unused)) static sb_node *ad_proj_cost(ad_env *e, sb_node *f, uint64_t seed)
{
    sb_diag d = {0};
    sb_array *fv = NULL;
    cr_assert_eq(sb_eval(e->ctx, 1, &f, e->n, e->b, true, &fv, &d), SB_OK, "eval: %s", d.msg);
    sb_array *w = sb_array_new(sb_node_type(f)->dtype, fv->ndim, fv->shape);
    uint64_t rng = seed;
    for (int64_t i = 0; i < sb_array_numel(w); i++) sb_array_set_f64(w, i, 2 * ad_unif(&rng) - 1);
    sb_node *wn = sb_const(e->ctx, w);
    sb_array_free(w);
    sb_array_free(fv);
    sb_node *prod = sb_apply2(e->ctx, SB_OP_MUL, f, wn, &d);
    cr_assert(prod, "%s", d.msg);
    sb_node *cost = sb_apply1(e->ctx, SB_OP_SUM, prod, &d);
    cr_assert(cost, "%s", d.msg);
    return cost;
}

static sb_array *ad_eval(ad_env *e, sb_node *n)
{
    sb_diag d = {0};
    sb_array *r = NULL;
    cr_assert_eq(sb_eval(e->ctx, 1, &n, e->n, e->b, true, &r, &d), SB_OK, "eval: %s", d.msg);
    return r;
}

/* Mark in seen[] every op of the graph below n. */
__attribute__((unused)) static void ad_mark_ops(sb_node *n, bool *seen)
{
    seen[sb_node_op(n)] = true;
    for (int i = 0; i < sb_node_nin(n); i++) ad_mark_ops(sb_node_in(n, i), seen);
}

/* Same dtype and rank, equal dims wherever `want` is static (an unknown dim may come back
 * refined to a static size when static operands meet it). */
__attribute__((unused)) static bool ad_type_compat(const sb_type *got, const sb_type *want)
{
    bool ok = got->dtype == want->dtype && got->ndim == want->ndim;
    for (int j = 0; ok && j < want->ndim; j++)
        ok = want->dims[j] < 0 || got->dims[j] == want->dims[j];
    return ok;
}

#endif
