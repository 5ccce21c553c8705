/* test_xent_grad.c: the shipped rules' crossentropy-softmax-label-grad (rewrites/rules/
 * stability.json), Theano's crossentropy_softmax_1hot gradient. Autodiff of
 * mean(categorical_crossentropy(softmax(z), y)) with integer labels writes the softmax's L-op of
 * the crossentropy's masked -g / softmax(z) (an eq, a where, a division, a row sum, ...); after
 * the default pipeline the gradient must be the short form
 * expand_dims(where(0 <= y < n, g, 0), 1) * (softmax(z) - (y == class)): no division or where
 * of a matrix, no row sum, at most 4 steps of the matrix's size, and the same values as the
 * unoptimized gradient (and as (softmax(z) - onehot(y)) / B computed here), for labels 0 and
 * n - 1 and, on the chain written out by hand, for labels out of range. */
#include <criterion/criterion.h>

#include "rewrites/passes.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { B = 7, C = 10 };
static const int64_t labels[B] = {0, 9, 3, 9, 0, 5, 1};

static sb_node *parse(sb_ctx *ctx, const char *text)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(ctx, text, NULL, NULL, &d);
    cr_assert(n, "parse '%s': %s", text, d.msg);
    return n;
}

/* What the optimized gradient is made of. */
typedef struct shape_count {
    int div, where, softmax, row_sum, nodes, wide; /* where: of a matrix; wide: ops with a [?, C] result */
} shape_count;

static void walk(const sb_node *n, bool *seen, shape_count *k)
{
    if (seen[sb_node_id(n)]) return;
    seen[sb_node_id(n)] = true;
    k->nodes++;
    sb_op op = sb_node_op(n);
    const sb_type *t = sb_node_type(n);
    if ((op == SB_OP_DIV || op == SB_OP_RECIPROCAL) && t->ndim == 2) k->div++;
    if (op == SB_OP_WHERE && t->ndim == 2) k->where++;
    if (t->ndim == 2 && t->dims[1] == C && sb_node_nin(n) > 0) k->wide++;
    if (op == SB_OP_SOFTMAX) k->softmax++;
    if (op == SB_OP_SUM && sb_node_type(sb_node_in(n, 0))->ndim == 2) k->row_sum++;
    for (int i = 0; i < sb_node_nin(n); i++) walk(sb_node_in(n, i), seen, k);
}

static shape_count count(sb_ctx *ctx, const sb_node *n)
{
    (void)ctx;
    bool *seen = calloc(sb_node_id(n) + 100000, 1);
    shape_count k = {0};
    walk(n, seen, &k);
    free(seen);
    return k;
}

/* Optimize graph g (outputs dz and maybe more) with the default pipeline; the new dz. */
static sb_node *optimize(sb_graph *g)
{
    sb_diag d = {0};
    sb_pass_opts o = {0};
    cr_assert_eq(sb_rw_run_passes(g, &o, &d), SB_OK, "%s", d.msg);
    return sb_graph_node(g, SB_ROLE_OUTPUT, 0);
}

static sb_array *eval1(sb_ctx *ctx, sb_node *n, int nb, const sb_binding *binds, bool f64)
{
    sb_diag d = {0};
    sb_array *r = NULL;
    cr_assert_eq(sb_eval(ctx, 1, &n, nb, binds, f64, &r, &d), SB_OK, "%s", d.msg);
    return r;
}

static void logits(sb_array *z)
{
    uint64_t s = 12345;
    for (int64_t i = 0; i < B * C; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        sb_array_set_f64(z, i, ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 6);
    }
}

static void same_values(const sb_array *a, const sb_array *b, double tol, const char *what)
{
    cr_assert_eq(sb_array_numel(a), sb_array_numel(b));
    for (int64_t i = 0; i < sb_array_numel(a); i++) {
        double x = sb_array_get_f64(a, i), y = sb_array_get_f64(b, i);
        cr_assert(fabs(x - y) <= tol * (1 + fabs(x)), "%s [%lld]: %.17g vs %.17g", what,
                  (long long)i, x, y);
    }
}

/* grad(mean(categorical_crossentropy(softmax_text, y)), z) through the default pipeline. */
static void gradient_of_mean_crossentropy(const char *softmax_text)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_type tz, ty;
    cr_assert_eq(sb_type_parse("float32[?, 10]", &tz, NULL), SB_OK);
    cr_assert_eq(sb_type_parse("int64[?]", &ty, NULL), SB_OK);
    sb_node *z = sb_input(ctx, "z", &tz);
    sb_input(ctx, "y", &ty);
    char text[256];
    snprintf(text, sizeof text, "mean(categorical_crossentropy(%s, y))", softmax_text);
    sb_node *cost = parse(ctx, text), *dz = NULL;
    sb_diag d = {0};
    cr_assert_eq(sb_grad(ctx, cost, 1, &z, NULL, &dz, &d), SB_OK, "%s", d.msg);
    shape_count k0 = count(ctx, dz);
    cr_assert_gt(k0.div, 0, "autodiff's gradient changed: no division by the softmax");
    cr_assert_gt(k0.row_sum, 0, "autodiff's gradient changed: no row sum");

    sb_graph *g = sb_graph_new(ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "dz", dz);
    sb_graph_add(g, SB_ROLE_OUTPUT, "cost", cost);
    sb_node *opt = optimize(g);
    shape_count k = count(ctx, opt);
    cr_log_info("%s: %d nodes -> %d, %d matrix-shaped steps -> %d", softmax_text, k0.nodes, k.nodes,
                k0.wide, k.wide);
    cr_expect_eq(k.div, 0, "%s: a division or reciprocal of a matrix is left", softmax_text);
    cr_expect_eq(k.row_sum, 0, "%s: a sum over the rows is left", softmax_text);
    cr_expect_eq(k.where, 0, "%s: %d wheres of a matrix", softmax_text, k.where);
    cr_expect_eq(k.softmax, 1, "%s: %d softmaxes", softmax_text, k.softmax);
    /* softmax, the mask (eq), softmax - mask, times g: nothing else of the matrix's size */
    cr_expect_leq(k.wide, 4, "%s: %d matrix-shaped steps -> %d", softmax_text, k0.wide, k.wide);

    sb_array *zv = sb_array_new(SB_DTYPE_F32, 2, (int64_t[]){B, C});
    sb_array *yv = sb_array_new(SB_DTYPE_I64, 1, (int64_t[]){B});
    logits(zv);
    for (int i = 0; i < B; i++) sb_array_set_f64(yv, i, (double)labels[i]);
    sb_binding binds[2] = {{"z", zv}, {"y", yv}};
    /* (softmax(z) - onehot(y)) / B, in float64 from the float32 logits. */
    sb_array *want = sb_array_new(SB_DTYPE_F64, 2, (int64_t[]){B, C});
    for (int r = 0; r < B; r++) {
        double m = -INFINITY, s = 0;
        for (int c = 0; c < C; c++) m = fmax(m, sb_array_get_f64(zv, r * C + c));
        for (int c = 0; c < C; c++) s += exp(sb_array_get_f64(zv, r * C + c) - m);
        for (int c = 0; c < C; c++)
            sb_array_set_f64(want, r * C + c,
                             (exp(sb_array_get_f64(zv, r * C + c) - m) / s - (c == labels[r])) / B);
    }
    for (int f64 = 1; f64 >= 0; f64--) {
        sb_array *before = eval1(ctx, dz, 2, binds, f64), *after = eval1(ctx, opt, 2, binds, f64);
        double tol = f64 ? 1e-12 : 1e-6;
        same_values(before, after, tol, f64 ? "float64: before vs after" : "float32: before vs after");
        same_values(want, after, f64 ? 1e-12 : 1e-6, f64 ? "float64: closed form" : "float32: closed form");
        sb_array_free(before);
        sb_array_free(after);
    }
    sb_array_free(want);
    sb_array_free(zv);
    sb_array_free(yv);
    sb_graph_free(g);
    sb_ctx_free(ctx);
}

Test(xent_grad, default_axis_softmax) { gradient_of_mean_crossentropy("softmax(z)"); }

/* Graphs from JSON and expressions with axis=1 keep the axis written out. */
Test(xent_grad, axis1_softmax) { gradient_of_mean_crossentropy("softmax(z, axis=1)"); }

/* The chain written out with its own upstream gradient g (no crossentropy node, whose forward
 * would reject them), evaluated with labels out of range: the rewrite is exact there too
 * (those rows' gradient is 0 on both sides). */
Test(xent_grad, labels_out_of_range)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_type tz, ty, tg;
    cr_assert_eq(sb_type_parse("float64[?, 10]", &tz, NULL), SB_OK);
    cr_assert_eq(sb_type_parse("int64[?]", &ty, NULL), SB_OK);
    cr_assert_eq(sb_type_parse("float64[?]", &tg, NULL), SB_OK);
    sb_input(ctx, "z", &tz);
    sb_input(ctx, "y", &ty);
    sb_input(ctx, "g", &tg);
    const char *M = "expand_dims(y, axis=1) == arange(int64(0), int64(10), int64(1))";
    char W[512], text[2048];
    snprintf(W, sizeof W, "where(%s, -(expand_dims(g, axis=1) / softmax(z)), 0.0)", M);
    snprintf(text, sizeof text, "(%s - sum(%s * softmax(z), axis=1, keepdims=True)) * softmax(z)",
             W, W);
    sb_node *e = parse(ctx, text);
    sb_graph *gr = sb_graph_new(ctx);
    sb_graph_add(gr, SB_ROLE_OUTPUT, "dz", e);
    sb_node *opt = optimize(gr);
    shape_count k = count(ctx, opt);
    cr_expect_eq(k.div, 0);
    cr_expect_eq(k.row_sum, 0);
    cr_expect_eq(k.where, 0);
    cr_expect_leq(k.wide, 4);

    static const int64_t ys[B] = {-1, 10, 0, 9, 12, -7, 4};
    sb_array *zv = sb_array_new(SB_DTYPE_F64, 2, (int64_t[]){B, C});
    sb_array *yv = sb_array_new(SB_DTYPE_I64, 1, (int64_t[]){B});
    sb_array *gv = sb_array_new(SB_DTYPE_F64, 1, (int64_t[]){B});
    logits(zv);
    for (int i = 0; i < B; i++) {
        sb_array_set_f64(yv, i, (double)ys[i]);
        sb_array_set_f64(gv, i, 0.25 + 0.5 * i);
    }
    sb_binding binds[3] = {{"z", zv}, {"y", yv}, {"g", gv}};
    sb_array *before = eval1(ctx, e, 3, binds, true), *after = eval1(ctx, opt, 3, binds, true);
    same_values(before, after, 1e-12, "labels out of range");
    for (int r = 0; r < B; r++)
        if (ys[r] < 0 || ys[r] >= C)
            for (int c = 0; c < C; c++) cr_expect_eq(sb_array_get_f64(after, r * C + c), 0.0);
    sb_array_free(before);
    sb_array_free(after);
    sb_array_free(zv);
    sb_array_free(yv);
    sb_array_free(gv);
    sb_graph_free(gr);
    sb_ctx_free(ctx);
}
