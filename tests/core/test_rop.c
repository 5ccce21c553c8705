/* test_rop.c: forward mode (Rop), jacobian and hessian (core/rop.c).
 *
 * Every differentiable op has an R-op rule; on every case of ad_cases.h the R-op equals the
 * explicit Jacobian (built by reverse mode, row by row) times v, or, where f's size is only
 * known at run time, central differences; hessians of known functions; Hessian-vector products
 * by Rop of the gradient; the syntax forms Rop / Lop / jacobian / hessian expanded in a graph. */
#include "ad_cases.h"

bool sb_ad_has_rop(sb_op op); /* core/autodiff.h */

TestSuite(rop);

Test(rop, every_differentiable_op_has_a_rop_rule)
{
    for (int op = 0; op < SB_OP_COUNT; op++)
        if (sb_op_get((sb_op)op)->flags & SB_F_DIFF)
            cr_expect(sb_ad_has_rop((sb_op)op), "no R-op rule for %s", sb_op_get((sb_op)op)->name);
}

/* A constant of x's run-time shape and dtype with random values. */
static sb_node *random_like(ad_env *e, int var, uint64_t *rng)
{
    const sb_array *x = e->val[var];
    sb_array *v = sb_array_new(x->dtype, x->ndim, x->shape);
    for (int64_t i = 0; i < sb_array_numel(v); i++) sb_array_set_f64(v, i, 2 * ad_unif(rng) - 1);
    sb_node *n = sb_const(e->ctx, v);
    sb_array_free(v);
    return n;
}

/* sum_i J_i v_i with J_i = jacobian(f, x_i) evaluated: the expected R-op, flat, into want[]. */
static void jacobian_times_v(ad_env *e, sb_node *f, int nw, sb_node **wrt, sb_node **v,
                             double *want, int64_t nf)
{
    for (int64_t r = 0; r < nf; r++) want[r] = 0;
    for (int k = 0; k < nw; k++) {
        sb_node *j = NULL;
        sb_diag d = {0};
        cr_assert_eq(sb_jacobian(e->ctx, f, wrt[k], &j, &d), SB_OK, "%s", d.msg);
        const sb_type *jt = sb_node_type(j), *ft = sb_node_type(f), *xt = sb_node_type(wrt[k]);
        cr_assert_eq(jt->ndim, ft->ndim + xt->ndim, "jacobian rank");
        sb_array *jv = ad_eval(e, j), *vv = ad_eval(e, v[k]);
        int64_t nx = sb_array_numel(vv);
        cr_assert_eq(sb_array_numel(jv), nf * nx);
        for (int64_t r = 0; r < nf; r++)
            for (int64_t c = 0; c < nx; c++)
                want[r] += sb_array_get_f64(jv, r * nx + c) * sb_array_get_f64(vv, c);
        sb_array_free(jv);
        sb_array_free(vv);
    }
}

/* Central differences of f along v (float64 variables only): into want[]. */
static void finite_diff(ad_env *e, sb_node *f, int nw, sb_node **v, double *want, int64_t nf)
{
    const double eps = 1e-6;
    sb_array *base[8], *vv[8], *fx[2];
    for (int k = 0; k < nw; k++) base[k] = sb_array_copy(e->val[k]), vv[k] = ad_eval(e, v[k]);
    for (int s = 0; s < 2; s++) {
        for (int k = 0; k < nw; k++)
            for (int64_t i = 0; i < sb_array_numel(base[k]); i++)
                sb_array_set_f64(e->val[k], i,
                                 sb_array_get_f64(base[k], i) +
                                     (s ? -eps : eps) * sb_array_get_f64(vv[k], i));
        fx[s] = ad_eval(e, f);
    }
    for (int64_t r = 0; r < nf; r++)
        want[r] = (sb_array_get_f64(fx[0], r) - sb_array_get_f64(fx[1], r)) / (2 * eps);
    for (int k = 0; k < nw; k++) {
        for (int64_t i = 0; i < sb_array_numel(base[k]); i++)
            sb_array_set_f64(e->val[k], i, sb_array_get_f64(base[k], i));
        sb_array_free(base[k]);
        sb_array_free(vv[k]);
    }
    sb_array_free(fx[0]);
    sb_array_free(fx[1]);
}

Test(rop, rop_equals_the_jacobian_times_v_on_every_case)
{
    for (int i = 0; i < AD_NCASES; i++) {
        ad_env e;
        ad_env_init(&e, &ad_cases[i], 11 + (uint64_t)i);
        sb_node *f = ad_parse(&e, ad_cases[i].expr), *wrt[8], *v[8], *r = NULL;
        int nw = ad_float_vars(&e, wrt);
        uint64_t rng = 99 + (uint64_t)i;
        for (int k = 0; k < nw; k++) v[k] = random_like(&e, k, &rng);
        sb_diag d = {0};
        cr_assert_eq(sb_rop(e.ctx, f, nw, wrt, v, &r, &d), SB_OK, "`%s`: %s", ad_cases[i].expr,
                     d.msg);
        cr_expect(ad_type_compat(sb_node_type(r), sb_node_type(f)), "`%s`: Rop type",
                  ad_cases[i].expr);
        sb_array *rv = ad_eval(&e, r);
        int64_t nf = sb_array_numel(rv);
        double *want = calloc((size_t)nf + 1, sizeof *want);
        bool static_f = sb_type_numel(sb_node_type(f)) >= 0;
        if (static_f)
            jacobian_times_v(&e, f, nw, wrt, v, want, nf);
        else
            finite_diff(&e, f, nw, v, want, nf);
        for (int64_t k = 0; k < nf; k++) {
            double got = sb_array_get_f64(rv, k), tol = static_f ? 1e-9 : 1e-5;
            cr_expect(fabs(got - want[k]) <= tol * (1 + fabs(want[k])),
                      "`%s` (%s): Rop[%d] = %.10g, J v = %.10g", ad_cases[i].expr,
                      ad_cases[i].vars, (int)k, got, want[k]);
        }
        free(want);
        sb_array_free(rv);
        ad_env_free(&e);
    }
}

/* ---- hessians ---------------------------------------------------------------------------- */
static const ad_case hx_case = {"x=float64[3]; A=float64[3,3]; v=float64[3]", "x", -1, 1, false};

static double val(ad_env *e, int var, int i) { return sb_array_get_f64(e->val[var], i); }

/* x^T A x: the Hessian is A + A^T, whatever x. */
Test(rop, hessian_of_a_quadratic_form)
{
    ad_env e;
    ad_env_init(&e, &hx_case, 3);
    sb_node *h = NULL;
    sb_diag d = {0};
    cr_assert_eq(sb_hessian(e.ctx, ad_parse(&e, "x @ A @ x"), e.var[0], &h, &d), SB_OK, "%s",
                 d.msg);
    cr_expect_eq(sb_node_type(h)->ndim, 2);
    cr_expect_eq(sb_node_type(h)->dims[0], 3);
    sb_array *hv = ad_eval(&e, h);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cr_expect(fabs(sb_array_get_f64(hv, i * 3 + j) -
                           (val(&e, 1, i * 3 + j) + val(&e, 1, j * 3 + i))) < 1e-12,
                      "H[%d][%d]", i, j);
    sb_array_free(hv);
    ad_env_free(&e);
}

/* sum(x ** 3): diag(6 x), here through the syntax and a graph expansion. */
Test(rop, hessian_of_a_cubic_in_the_syntax)
{
    ad_env e;
    ad_env_init(&e, &hx_case, 4);
    sb_graph *g = sb_graph_new(e.ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "H", ad_parse(&e, "hessian(sum(x ** 3), x)"));
    sb_diag d = {0};
    cr_assert_eq(sb_graph_expand_autodiff(g, &d), SB_OK, "%s", d.msg);
    sb_array *hv = ad_eval(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 0));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cr_expect(fabs(sb_array_get_f64(hv, i * 3 + j) - (i == j ? 6 * val(&e, 0, i) : 0)) <
                          1e-12,
                      "H[%d][%d]", i, j);
    sb_array_free(hv);
    sb_graph_free(g);
    ad_env_free(&e);
}

/* Hessian-vector product by Rop of the gradient equals the explicit Hessian times v. */
Test(rop, hessian_vector_product_by_rop_of_the_gradient)
{
    ad_env e;
    ad_env_init(&e, &hx_case, 5);
    sb_node *cost = ad_parse(&e, "sum(tanh(A @ x) ** 2) + logsumexp(x * x)"), *g = NULL,
            *hvp = NULL, *h = NULL;
    sb_diag d = {0};
    cr_assert_eq(sb_grad(e.ctx, cost, 1, &e.var[0], NULL, &g, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_rop(e.ctx, g, 1, &e.var[0], &e.var[2], &hvp, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_hessian(e.ctx, cost, e.var[0], &h, &d), SB_OK, "%s", d.msg);
    sb_array *hv = ad_eval(&e, h), *pv = ad_eval(&e, hvp);
    for (int i = 0; i < 3; i++) {
        double want = 0;
        for (int j = 0; j < 3; j++) want += sb_array_get_f64(hv, i * 3 + j) * val(&e, 2, j);
        cr_expect(fabs(sb_array_get_f64(pv, i) - want) < 1e-10, "Hv[%d] = %g, want %g", i,
                  sb_array_get_f64(pv, i), want);
    }
    sb_array_free(hv);
    sb_array_free(pv);
    ad_env_free(&e);
}

/* ---- the syntax forms and errors ------------------------------------------------------------ */
Test(rop, rop_lop_and_jacobian_in_the_syntax)
{
    ad_env e;
    ad_env_init(&e, &hx_case, 6);
    sb_graph *g = sb_graph_new(e.ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "r", ad_parse(&e, "Rop(A @ x, x, v)"));
    sb_graph_add(g, SB_ROLE_OUTPUT, "l", ad_parse(&e, "Lop(A @ x, x, v)"));
    sb_graph_add(g, SB_ROLE_OUTPUT, "j", ad_parse(&e, "jacobian(A @ x, x)"));
    sb_diag d = {0};
    cr_assert_eq(sb_graph_expand_autodiff(g, &d), SB_OK, "%s", d.msg);
    sb_array *r = ad_eval(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 0));
    sb_array *l = ad_eval(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 1));
    sb_array *j = ad_eval(&e, sb_graph_node(g, SB_ROLE_OUTPUT, 2));
    for (int i = 0; i < 3; i++) {
        double av = 0, atv = 0;
        for (int k = 0; k < 3; k++) {
            av += val(&e, 1, i * 3 + k) * val(&e, 2, k);
            atv += val(&e, 1, k * 3 + i) * val(&e, 2, k);
            cr_expect(fabs(sb_array_get_f64(j, i * 3 + k) - val(&e, 1, i * 3 + k)) < 1e-12);
        }
        cr_expect(fabs(sb_array_get_f64(r, i) - av) < 1e-12, "Rop = A v");
        cr_expect(fabs(sb_array_get_f64(l, i) - atv) < 1e-12, "Lop = A^T v");
    }
    sb_array_free(r);
    sb_array_free(l);
    sb_array_free(j);
    sb_graph_free(g);
    ad_env_free(&e);
}

Test(rop, jacobian_needs_a_static_size_and_rop_of_a_constant_is_zero)
{
    static const ad_case c = {"x=float64[?]|4; y=float64[2]", "x", -1, 1, false};
    ad_env e;
    ad_env_init(&e, &c, 1);
    sb_node *j = NULL, *r = NULL;
    sb_diag d = {0};
    cr_expect_eq(sb_jacobian(e.ctx, ad_parse(&e, "exp(x)"), e.var[1], &j, &d), SB_ERR_UNSUPPORTED);
    cr_expect(strstr(d.msg, "its size must be static"), "%s", d.msg);
    sb_diag_clear(&d);
    cr_expect_eq(sb_hessian(e.ctx, ad_parse(&e, "sum(x)"), e.var[0], &j, &d), SB_ERR_UNSUPPORTED);
    sb_diag_clear(&d);
    /* jacobian of something that does not depend on y: zeros of dims f ++ y */
    cr_assert_eq(sb_jacobian(e.ctx, ad_parse(&e, "y * 0 + 1"), e.var[0], &j, &d), SB_OK, "%s",
                 d.msg);
    cr_expect_eq(sb_node_type(j)->ndim, 2);
    /* Rop of f independent of the wrt: zeros of f's type */
    cr_assert_eq(sb_rop(e.ctx, ad_parse(&e, "exp(y)"), 1, &e.var[0], &e.var[0], &r, &d), SB_OK,
                 "%s", d.msg);
    sb_array *rv = ad_eval(&e, r);
    cr_expect_eq(sb_array_numel(rv), 2);
    cr_expect(sb_array_get_f64(rv, 0) == 0 && sb_array_get_f64(rv, 1) == 0);
    sb_array_free(rv);
    /* an eval point of the wrong rank */
    cr_expect_eq(sb_rop(e.ctx, ad_parse(&e, "exp(y)"), 1, &e.var[1], &e.var[1], &r, &d), SB_OK);
    cr_expect_eq(sb_rop(e.ctx, ad_parse(&e, "exp(y)"), 1, &e.var[1],
                        (sb_node *[]){ad_parse(&e, "sum(y)")}, &r, &d),
                 SB_ERR_TYPE);
    ad_env_free(&e);
}
