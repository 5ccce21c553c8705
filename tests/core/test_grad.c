/* test_grad.c: reverse-mode autodiff (core/grad.c) and verify_grad (core/gradcheck.c).
 *
 * Every differentiable op of ops.def has an L-op rule; verify_grad (central differences in
 * float64 along random directions) passes on every case of ad_cases.h, whose expressions cover
 * every SB_F_DIFF op at several shapes and broadcast patterns; gradients have the exact type of
 * their wrt; consider_constant, disconnected_grad, disconnected wrt (error and zeros), known
 * gradients, Lop, grad of grad and graph expansion. */
#include "ad_cases.h"

/* internals: the rule tables (core/autodiff.h) */
bool sb_ad_has_lop(sb_op op);

TestSuite(grad);

Test(grad, every_differentiable_op_has_a_lop_rule)
{
    for (int op = 0; op < SB_OP_COUNT; op++)
        if (sb_op_get((sb_op)op)->flags & SB_F_DIFF)
            cr_expect(sb_ad_has_lop((sb_op)op), "no L-op rule for %s", sb_op_get((sb_op)op)->name);
}

Test(grad, the_case_table_covers_every_differentiable_op)
{
    bool seen[SB_OP_COUNT] = {false};
    for (int i = 0; i < AD_NCASES; i++) {
        ad_env e;
        ad_env_init(&e, &ad_cases[i], 1);
        ad_mark_ops(ad_parse(&e, ad_cases[i].expr), seen);
        ad_env_free(&e);
    }
    for (int op = 0; op < SB_OP_COUNT; op++)
        if (sb_op_get((sb_op)op)->flags & SB_F_DIFF)
            cr_expect(seen[op], "no gradient case uses %s", sb_op_get((sb_op)op)->name);
}

/* verify_grad on every case, two seeds of values. */
Test(grad, verify_grad_passes_on_every_case)
{
    for (int i = 0; i < AD_NCASES; i++) {
        for (uint64_t seed = 1; seed <= 2; seed++) {
            ad_env e;
            ad_env_init(&e, &ad_cases[i], seed * 7919 + (uint64_t)i);
            sb_node *f = ad_parse(&e, ad_cases[i].expr), *wrt[8];
            sb_node *cost = ad_proj_cost(&e, f, seed + 100);
            int nw = ad_float_vars(&e, wrt), worst = -1;
            double errs[8];
            sb_diag d = {0};
            sb_verify_opts o = {.seed = seed};
            sb_status st = sb_verify_grad(e.ctx, cost, nw, wrt, e.n, e.b, &o, errs, &worst, &d);
            cr_expect_eq(st, SB_OK, "case %d `%s` (%s), seed %d: %s", i, ad_cases[i].expr,
                         ad_cases[i].vars, (int)seed, d.msg);
            ad_env_free(&e);
        }
    }
}

/* The gradient of each float variable has its exact type (dtype and static dims). */
Test(grad, gradients_are_type_exact)
{
    for (int i = 0; i < AD_NCASES; i++) {
        ad_env e;
        ad_env_init(&e, &ad_cases[i], 3);
        sb_node *f = ad_parse(&e, ad_cases[i].expr), *wrt[8], *g[8];
        sb_node *cost = ad_proj_cost(&e, f, 5);
        int nw = ad_float_vars(&e, wrt);
        sb_diag d = {0};
        sb_grad_opts o = {.disconnected_zeros = true};
        cr_assert_eq(sb_grad(e.ctx, cost, nw, wrt, &o, g, &d), SB_OK, "%s: %s",
                     ad_cases[i].expr, d.msg);
        for (int k = 0; k < nw; k++) {
            char a[96], b[96];
            const sb_type *gt = sb_node_type(g[k]), *wt = sb_node_type(wrt[k]);
            /* the projection weights are static: unknown dims may come back refined */
            bool ok = ad_type_compat(gt, wt);
            cr_expect(ok, "`%s`: gradient of %s has type %s, not %s", ad_cases[i].expr,
                      sb_node_name(wrt[k]), sb_type_str(gt, a, sizeof a),
                      sb_type_str(wt, b, sizeof b));
        }
        ad_env_free(&e);
    }
}

/* ---- semantics --------------------------------------------------------------------------- */
static const ad_case xy_case = {"x=float64[3]; y=float64[3]; i=int64[3]{0,3}", "x", 0.5, 2,
                                false};

/* The value of node n as doubles, compared with expected[]. */
static void expect_values(ad_env *e, sb_node *n, const double *expected, int count,
                          const char *what)
{
    sb_array *v = ad_eval(e, n);
    cr_assert_eq(sb_array_numel(v), count, "%s: %d values", what, (int)sb_array_numel(v));
    for (int i = 0; i < count; i++)
        cr_expect(fabs(sb_array_get_f64(v, i) - expected[i]) < 1e-9, "%s[%d] = %g, expected %g",
                  what, i, sb_array_get_f64(v, i), expected[i]);
    sb_array_free(v);
}

static double xv(ad_env *e, int var, int i) { return sb_array_get_f64(e->val[var], i); }

Test(grad, disconnected_grad_blocks_the_gradient)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_node *cost = ad_parse(&e, "sum(x * disconnected_grad(x))"), *g = NULL;
    sb_diag d = {0};
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], NULL, &g, &d), SB_OK, "%s", d.msg);
    double want[3] = {xv(&e, 0, 0), xv(&e, 0, 1), xv(&e, 0, 2)}; /* x, not 2x */
    expect_values(&e, g, want, 3, "grad");
    ad_env_free(&e);
}

Test(grad, consider_constant_blocks_the_gradient)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_node *y2 = ad_parse(&e, "x * 2"), *cost = ad_parse(&e, "sum((x * 2) * x)"), *g = NULL;
    sb_diag d = {0};
    sb_grad_opts o = {.nconst = 1, .consider_constant = &y2};
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], &o, &g, &d), SB_OK, "%s", d.msg);
    double want[3]; /* d/dx of c * x with c = 2x held constant: 2x (not 4x) */
    for (int i = 0; i < 3; i++) want[i] = 2 * xv(&e, 0, i);
    expect_values(&e, g, want, 3, "grad");
    ad_env_free(&e);
}

Test(grad, a_disconnected_wrt_is_an_error_or_zeros)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    /* y only reaches the cost through a comparison and an integer: no gradient path */
    sb_node *cost = ad_parse(&e, "sum(x * cast(argmax(y), 'float64')) + sum(x * (y > 1))");
    sb_node *g = NULL;
    sb_diag d = {0};
    cr_expect_eq(sb_grad(e.ctx, cost, 1, &e.var[1], NULL, &g, &d), SB_ERR_TYPE);
    cr_expect(strstr(d.msg, "does not depend on 'y'"), "message: %s", d.msg);
    sb_diag_clear(&d);
    sb_grad_opts o = {.disconnected_zeros = true};
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[1], &o, &g, &d), SB_OK, "%s", d.msg);
    cr_expect(sb_type_eq(sb_node_type(g), sb_node_type(e.var[1])));
    double zeros[3] = {0, 0, 0};
    expect_values(&e, g, zeros, 3, "zeros");
    /* an integer wrt is disconnected too */
    sb_diag_clear(&d);
    cr_expect_eq(sb_grad(e.ctx, cost, 1, &e.var[2], NULL, &g, &d), SB_ERR_TYPE);
    ad_env_free(&e);
}

Test(grad, the_cost_must_be_a_float_scalar)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_node *g = NULL;
    sb_diag d = {0};
    cr_expect_eq(sb_grad(e.ctx, e.var[0], 1, &e.var[0], NULL, &g, &d), SB_ERR_TYPE);
    cr_expect(strstr(d.msg, "must be a float scalar, not float64[3]"), "message: %s", d.msg);
    sb_diag_clear(&d);
    cr_expect_eq(sb_grad(e.ctx, ad_parse(&e, "sum(i)"), 1, &e.var[0], NULL, &g, &d), SB_ERR_TYPE);
    ad_env_free(&e);
}

Test(grad, known_grads_and_lop)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_node *f = ad_parse(&e, "x * x"), *g = NULL;
    sb_diag d = {0};
    sb_grad_opts o = {.nknown = 1, .known_nodes = &f, .known_grads = &e.var[1]};
    cr_assert_eq(sb_grad(e.ctx, NULL, 1, &e.var[0], &o, &g, &d), SB_OK, "%s", d.msg);
    double want[3];
    for (int i = 0; i < 3; i++) want[i] = 2 * xv(&e, 0, i) * xv(&e, 1, i);
    expect_values(&e, g, want, 3, "known_grads");
    cr_assert_eq(sb_lop(e.ctx, f, 1, &e.var[0], e.var[1], NULL, &g, &d), SB_OK, "%s", d.msg);
    expect_values(&e, g, want, 3, "Lop");
    /* a cost and a known gradient add up */
    sb_node *cost = ad_parse(&e, "sum(x)");
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], &o, &g, &d), SB_OK, "%s", d.msg);
    for (int i = 0; i < 3; i++) want[i] += 1;
    expect_values(&e, g, want, 3, "cost + known_grads");
    ad_env_free(&e);
}

Test(grad, gradients_accumulate_over_uses)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_node *cost = ad_parse(&e, "sum(x * y + exp(x) + x)"), *g[2];
    sb_diag d = {0};
    cr_assert_eq(sb_grad(e.ctx, cost, 2, e.var, NULL, g, &d), SB_OK, "%s", d.msg);
    double wx[3], wy[3];
    for (int i = 0; i < 3; i++) {
        wx[i] = xv(&e, 1, i) + exp(xv(&e, 0, i)) + 1;
        wy[i] = xv(&e, 0, i);
    }
    expect_values(&e, g[0], wx, 3, "d/dx");
    expect_values(&e, g[1], wy, 3, "d/dy");
    ad_env_free(&e);
}

/* Theano's tie rules, at z = 0: maximum gives g to both arguments, relu(x) = (x + |x|) / 2
 * gives g / 2, clip includes its bounds, a max reduction gives g to every maximal position,
 * abs gives 0. */
Test(grad, gradients_at_ties_follow_theano)
{
    static const ad_case zc = {"z=float64[3]; w=float64[3]", "z", 0, 0, false};
    ad_env e;
    ad_env_init(&e, &zc, 1);
    sb_diag d = {0};
    const char *exprs[] = {"sum(maximum(z, w))", "sum(minimum(z, 0))", "sum(relu(z))",
                           "sum(clip(z, 0, 1))", "sum(clip(z, -1, 0))", "max(z)",
                           "sum(abs(z))"};
    const double want[] = {1, 1, 0.5, 1, 1, 1, 0};
    for (int k = 0; k < 7; k++) {
        sb_node *g = NULL, *cost = ad_parse(&e, exprs[k]);
        cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], NULL, &g, &d), SB_OK, "%s", d.msg);
        double w3[3] = {want[k], want[k], want[k]};
        expect_values(&e, g, w3, 3, exprs[k]);
    }
    ad_env_free(&e);
}

/* grad(sum(grad(sum(x ** 3), x)), x) = 6x, expanded from the syntax inside a graph. */
Test(grad, grad_of_grad_expands_in_a_graph)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_graph *g = sb_graph_new(e.ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "h", ad_parse(&e, "grad(sum(grad(sum(x ** 3), x)), x)"));
    sb_graph_add(g, SB_ROLE_OUTPUT, "j", ad_parse(&e, "grad(sum(y * x), y) + 1"));
    sb_diag d = {0};
    cr_assert_eq(sb_graph_expand_autodiff(g, &d), SB_OK, "%s", d.msg);
    double want[3], wj[3];
    for (int i = 0; i < 3; i++) want[i] = 6 * xv(&e, 0, i), wj[i] = xv(&e, 0, i) + 1;
    expect_values(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 0), want, 3, "h");
    expect_values(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 1), wj, 3, "j");
    sb_graph_free(g);
    ad_env_free(&e);
}

Test(grad, graph_expansion_errors_name_the_entry)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_graph *g = sb_graph_new(e.ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "bad", ad_parse(&e, "grad(sum(x), y)"));
    sb_diag d = {0};
    cr_expect_eq(sb_graph_expand_autodiff(g, &d), SB_ERR_TYPE);
    cr_expect(strstr(d.msg, "output 'bad': grad: the cost does not depend on 'y'"), "%s", d.msg);
    sb_graph_free(g);
    /* disconnected='zero' asks for zeros */
    g = sb_graph_new(e.ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "z", ad_parse(&e, "grad(sum(x), y, disconnected='zero')"));
    sb_diag_clear(&d);
    cr_assert_eq(sb_graph_expand_autodiff(g, &d), SB_OK, "%s", d.msg);
    double zeros[3] = {0, 0, 0};
    expect_values(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 0), zeros, 3, "z");
    sb_graph_free(g);
    ad_env_free(&e);
}

/* verify_grad catches a wrong gradient: d/dx of a graph whose gradient we fake with a known
 * gradient that is off by a factor. */
Test(grad, verify_grad_reports_the_failing_wrt)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    /* floor(x * 1000) / 1000 ~ x numerically but its symbolic gradient is 0 (disconnected) */
    sb_node *cost = ad_parse(&e, "sum(y * y) + sum(floor(x * 1000) / 1000)"), *wrt[2];
    wrt[0] = e.var[1];
    wrt[1] = e.var[0];
    double errs[2];
    int worst = -1;
    sb_diag d = {0};
    sb_verify_opts o = {.eps = 1e-2};
    cr_expect_eq(sb_verify_grad(e.ctx, cost, 2, wrt, e.n, e.b, &o, errs, &worst, &d),
                 SB_ERR_VALUE);
    cr_expect_eq(worst, 1);
    cr_expect(errs[0] < 1e-6, "y: %g", errs[0]);
    cr_expect(strstr(d.msg, "w.r.t. 'x'"), "%s", d.msg);
    ad_env_free(&e);
}

/* With unknown dims and no static size from elsewhere, the gradient keeps the unknown dims. */
Test(grad, unknown_dims_stay_unknown)
{
    static const ad_case c = {"x=float32[?,4]|3,4; W=float32[4,2]; b=float32[2]", "x", -1, 1,
                              false};
    ad_env e;
    ad_env_init(&e, &c, 1);
    sb_node *cost = ad_parse(&e, "mean(tanh(x @ W + b)) + sum(x[1:] * 2) + mean(softmax(x))");
    sb_node *g[3];
    sb_diag d = {0};
    cr_assert_eq(sb_grad(e.ctx, cost, 3, e.var, NULL, g, &d), SB_OK, "%s", d.msg);
    for (int k = 0; k < 3; k++) {
        char a[96];
        cr_expect(sb_type_eq(sb_node_type(g[k]), sb_node_type(e.var[k])), "%s: %s",
                  e.names[k], sb_type_str(sb_node_type(g[k]), a, sizeof a));
    }
    sb_verify_opts o = {0};
    cr_expect_eq(sb_verify_grad(e.ctx, cost, 3, e.var, e.n, e.b, &o, NULL, NULL, &d), SB_OK,
                 "%s", d.msg);
    ad_env_free(&e);
}

/* prod's gradient is exact with zeros: the product of the others at a single zero, 0 with two. */
Test(grad, prod_gradient_with_zeros)
{
    static const ad_case c = {"x=float64[3,3]", "x", 1, 1, false};
    ad_env e;
    ad_env_init(&e, &c, 1);
    const double v[9] = {2, 0, 3, 0, 0, 5, 1, 2, 4};
    for (int i = 0; i < 9; i++) sb_array_set_f64(e.val[0], i, v[i]);
    sb_node *g = NULL, *r = NULL;
    sb_diag d = {0};
    sb_node *cost = ad_parse(&e, "sum(prod(x, axis=1))");
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], NULL, &g, &d), SB_OK, "%s", d.msg);
    const double want[9] = {0, 6, 0, 0, 0, 0, 8, 4, 2};
    expect_values(&e, g, want, 9, "d prod");
    /* the R-op uses the same derivative: Rop(prod(x, 1), x, ones) = row sums of want */
    sb_node *ones = ad_parse(&e, "ones_like(x)");
    cr_assert_eq(sb_rop(e.ctx, ad_parse(&e, "prod(x, axis=1)"), 1, &e.var[0], &ones, &r, &d),
                 SB_OK, "%s", d.msg);
    const double rs[3] = {6, 0, 14};
    expect_values(&e, r, rs, 3, "Rop prod");
    ad_env_free(&e);
}

/* A wrt may be an intermediate node (a let); updates and lets are expanded too. */
Test(grad, intermediate_wrt_and_updates)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 2);
    sb_node *p = ad_parse(&e, "x * 2"), *g = NULL;
    sb_diag d = {0};
    cr_assert_eq(sb_grad(e.ctx, ad_parse(&e, "sum((x * 2) * (x * 2))"), 1, &p, NULL, &g, &d),
                 SB_OK, "%s", d.msg);
    double want[3];
    for (int i = 0; i < 3; i++) want[i] = 4 * xv(&e, 0, i);
    expect_values(&e, g, want, 3, "d/dp");
    sb_graph *gr = sb_graph_new(e.ctx);
    sb_graph_add(gr, SB_ROLE_LET, "c", ad_parse(&e, "grad(sum(x * x), x)"));
    sb_graph_add(gr, SB_ROLE_UPDATE, "x", ad_parse(&e, "x - 0.5 * grad(sum(x * x), x)"));
    cr_assert_eq(sb_graph_expand_autodiff(gr, &d), SB_OK, "%s", d.msg);
    double zeros[3] = {0, 0, 0}, twice[3];
    for (int i = 0; i < 3; i++) twice[i] = 2 * xv(&e, 0, i);
    expect_values(&e, sb_graph_node(gr, SB_ROLE_UPDATE, 0), zeros, 3, "update");
    expect_values(&e, sb_graph_node(gr, SB_ROLE_LET, 0), twice, 3, "let");
    sb_graph_free(gr);
    ad_env_free(&e);
}

/* Deep graphs: no recursion on the depth (a chain of 20000 ops). */
Test(grad, deep_chains)
{
    ad_env e;
    ad_env_init(&e, &xy_case, 1);
    sb_node *f = e.var[0], *g = NULL;
    sb_diag d = {0};
    sb_node *one = sb_const_scalar(e.ctx, 1.0, SB_DTYPE_F64, true);
    for (int i = 0; i < 20000 && f; i++) f = sb_apply2(e.ctx, i % 2 ? SB_OP_MUL : SB_OP_ADD, f, one, &d);
    cr_assert(f, "%s", d.msg);
    sb_node *cost = sb_apply1(e.ctx, SB_OP_SUM, sb_apply1(e.ctx, SB_OP_SIN, f, &d), &d);
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], NULL, &g, &d), SB_OK, "%s", d.msg);
    double want[3];
    for (int i = 0; i < 3; i++) want[i] = cos(xv(&e, 0, i) + 10000);
    expect_values(&e, g, want, 3, "d/dx");
    ad_env_free(&e);
}
