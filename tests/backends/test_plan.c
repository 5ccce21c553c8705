/* test_plan.c: the CPU execution plan (backends/cpu/plan.c, fuse.c) against the reference
 * evaluator in float64: a table of expressions (broadcasting, fusion groups whose values have
 * several readers, reductions, matmuls with folded biases, softmax, views, kernels the plan
 * delegates), buffer reuse that must not overwrite a value read late, steady-state runs without
 * pool allocations (a training step with reference kernels too), large sizes (OpenMP, block
 * edges, gathers), run-time errors, lazy ifelse (untaken branches never run, shared values once,
 * nesting), in-place groups that must never overwrite a live value, and describe/overwrote. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cpu/plan.h"
#include "backends/cpu/vmath.h"

#include "be_test.h"

TestSuite(plan, .init = be_setup, .fini = be_teardown);

/* Inputs of the table: name, type (all static), and a value filled with a seeded pattern. */
static const be_var VARS[] = {
    {"x", "float32[4, 6]"}, {"y", "float32[4, 6]"}, {"z", "float32[6]"}, {"s", "float32[]"},
    {"c", "float32[4, 1]"}, {"w", "float32[6, 5]"}, {"b", "float32[5]"}, {"u", "float32[1, 5]"},
    {"d", "float64[4, 6]"}, {"i", "int64[4]"}, {"m", "float32[4, 5]"}, {"q", "float32[5, 5]"},
    {"v", "float32[4]"}, {"dz", "float64[6]"}, {"ev", "float32[0]"}, {"ew", "float32[0, 5]"},
    {"one", "float32[1]"}, {"row", "float32[1, 6]"},
};
#define NVARS ((int)(sizeof VARS / sizeof VARS[0]))

static double pattern(int v, int64_t i)
{
    return sin(0.7 * (double)i + 1.3 * v) * (1.0 + 0.1 * v);
}

static void env_init(env *e)
{
    be_env_init(e, VARS, NVARS, pattern);
}

/* Outputs of the plan against sb_eval in float64 (relative/absolute tolerance of float32). */
static void check_outputs(const char *what, int nout, sb_node **outs, const env *e, sb_plan *p)
{
    sb_array *want[8], *got[8];
    sb_diag_clear(&D);
    cr_assert_eq(sb_eval(C, nout, outs, NVARS, e->bind, true, want, &D), SB_OK, "%s: %s", what, D.msg);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e->bind, got, &D), SB_OK, "%s: %s", what, D.msg);
    for (int k = 0; k < nout; k++) {
        cr_assert_eq(got[k]->ndim, want[k]->ndim, "%s: output %d rank", what, k);
        for (int j = 0; j < got[k]->ndim; j++)
            cr_assert_eq(got[k]->shape[j], want[k]->shape[j], "%s: output %d dim %d", what, k, j);
        const sb_array *b = sb_be_plan_output(p, k);
        cr_assert_eq(sb_array_numel(b), sb_array_numel(got[k]));
        for (int64_t i = 0; i < sb_array_numel(got[k]); i++) {
            double g = sb_array_get_f64(got[k], i), w = sb_array_get_f64(want[k], i);
            double tol = 2e-5 + 2e-5 * fabs(w);
            cr_assert(fabs(g - w) <= tol || (isnan(g) && isnan(w)),
                      "%s: output %d element %lld: plan %.9g, reference %.9g", what, k,
                      (long long)i, g, w);
            cr_assert_eq(sb_array_get_f64(b, i), g, "%s: borrowed output differs", what);
        }
        sb_array_free(got[k]);
        sb_array_free(want[k]);
    }
}

static void check_exprs(int nout, const char *const *texts)
{
    env e;
    env_init(&e);
    sb_node *outs[8];
    for (int k = 0; k < nout; k++) outs[k] = parse(texts[k]);
    sb_diag_clear(&D);
    sb_plan *p = sb_be_plan_compile(C, nout, outs, &D);
    cr_assert_not_null(p, "%s: %s", texts[0], D.msg);
    check_outputs(texts[0], nout, outs, &e, p);
    sb_be_plan_free(p);
    env_free(&e);
}

Test(plan, table_matches_reference)
{
    static const char *const exprs[] = {
        "tanh(x * y + z) * exp(-x) + 0.5 * x",
        "x + z", "x * c", "c - z", "x * s + s", "z + s",
        "exp(x) + exp(x) * y", "log(abs(x) + 1) * sigmoid(y) - sqrt(abs(y))",
        "maximum(x, y) - minimum(x, 0.5) + relu(y)", "clip(x, -0.5, 0.5) / (abs(z) + 1)",
        "abs(x) ** 1.5 + sqr(y) + reciprocal(abs(c) + 1)", "log1p(abs(x)) + expm1(y) + softplus(x)",
        "sign(x) * floor(y * 4) + ceil(z)", "sin(x) + cos(y) + erf(x)",
        "sum(exp(x - max(x, axis=1, keepdims=True)), axis=1)", "mean(x * y)", "sum(tanh(x), axis=0)",
        "softmax(x)", "softmax(x, axis=0)", "log_softmax(x * 2)", "softmax(x * 2 + z)",
        "x @ w", "tanh(x @ w + b)", "x @ w + u", "(b + x @ w) * 2", "x.T @ y", "x @ y.T",
        "x.T.T @ w + b", "m - 0.1 * (x @ w)", "m + (x @ w) * 2", "3 * (x @ w)", "m + x @ w",
        "(x @ w) * 0.5 - m", "m - x @ w + b", "where(x > 0, x, y) + 1", "x[1:3] * 2 + y[1:3]", "x.T * 3 + 1",
        "exp(d) * d + 1", "d @ d.T + 1", "x[i] + 1", "cast(i, 'float32') + 1",
        "categorical_crossentropy(softmax(x), i)",
    };
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        be_teardown();
        be_setup();
        check_exprs(1, &exprs[k]);
    }
}

Test(plan, fusion_groups_with_several_readers)
{
    /* t = exp(x) * y is read by two groups and an output: it must be materialized once */
    const char *outs[] = {"tanh(exp(x) * y) + 1", "exp(x) * y", "sum(exp(x) * y, axis=1)"};
    check_exprs(3, outs);
    env e;
    env_init(&e);
    sb_node *n[2] = {parse("tanh(exp(x) * y + 1) * (exp(x) * y)"), parse("x * 2")};
    sb_plan *p = sb_be_plan_compile(C, 2, n, &D);
    cr_assert_not_null(p);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nfused, 2, "one group per output, got %d", st.nfused);
    cr_assert_eq(st.nkernel, 0);
    check_outputs("fused", 2, n, &e, p);
    sb_be_plan_free(p);
    env_free(&e);
}

Test(plan, gemm_formation)
{
    env e;
    env_init(&e);
    /* the bias add read by an elementwise node of its shape joins that fused group (the gemm
     * writes C with beta = 0); read otherwise (here: an output), it is folded into the gemm */
    sb_node *n = parse("tanh(x @ w + b) * 2");
    sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.ngemm, 1);
    cr_assert_eq(st.nbias, 0, "the bias add goes into the fused tanh");
    cr_assert_eq(st.nfused, 1);
    cr_assert_eq(st.nsteps, 2);
    check_outputs("gemm", 1, &n, &e, p);
    sb_be_plan_free(p);
    n = parse("x @ w + b");
    p = sb_be_plan_compile(C, 1, &n, &D);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.ngemm, 1);
    cr_assert_eq(st.nbias, 1, "the bias add is folded into the gemm");
    cr_assert_eq(st.nsteps, 1);
    check_outputs("gemm + bias", 1, &n, &e, p);
    sb_be_plan_free(p);
    /* an SGD update: one gemm with alpha = -0.1 over a copy of m; the product read twice is not
     * folded */
    /* a momentum update with a run-time learning rate s (a 0-d value): one gemm with beta = 0.9
     * and alpha = -s read when it runs (the step computing 2 * s comes first) */
    sb_node *u[4] = {parse("m - 0.1 * (x @ w)"), parse("tanh(2 * (x.T @ y)) + x.T @ y"),
                     parse("0.9 * m - s * (x @ w)"), parse("(x @ w) * (2 * s) + m * 0.5")};
    static const int nsteps[4] = {1, 3, 1, 2};
    for (int k = 0; k < 4; k++) {
        p = sb_be_plan_compile(C, 1, &u[k], &D);
        sb_be_plan_stats(p, &st);
        cr_assert_eq(st.ngemm, 1);
        cr_assert_eq(st.nsteps, nsteps[k], "%d: %d steps", k, st.nsteps);
        check_outputs("update", 1, &u[k], &e, p);
        sb_be_plan_free(p);
    }
    env_free(&e);
}

/* Matrix-vector products become one gemv step and outer products one ger step (transposed
 * views passed as transposes, strided vectors with their increment, biases / accumulations /
 * scales folded), checked against the float64 reference, float32 and float64, with empty and
 * size-1 dims. */
Test(plan, gemv_and_ger_formation)
{
    static const struct {
        const char *expr;
        int ngemv, nger, nbias, nsteps; /* nsteps -1: not checked (views are kernel steps) */
    } cases[] = {
        {"x @ z", 1, 0, 0, 1}, {"v @ x", 1, 0, 0, 1}, {"x.T @ v", 1, 0, 0, -1},
        {"z @ x.T", 1, 0, 0, -1}, {"x @ z + v", 1, 0, 1, 1}, {"v + x @ z", 1, 0, 1, 1},
        {"2 * (x @ z)", 1, 0, 0, 1}, {"(z @ w) * 0.5", 1, 0, 0, 1},
        {"v - 0.1 * (x @ z)", 1, 0, 1, 1}, {"b + 3 * (z @ w)", 1, 0, 1, 1},
        {"tanh(z @ w + b)", 1, 0, 1, 2}, {"x[:, 1] @ x", 1, 0, 0, 2}, {"x @ x[1]", 1, 0, 0, 2},
        {"x @ z[::-1]", 1, 0, 0, 2}, {"d @ dz", 1, 0, 0, 1}, {"dz @ d.T + d[0, 0:4]", 1, 0, 1, -1},
        {"outer(v, z)", 0, 1, 0, 1}, {"w - 0.1 * outer(z, b)", 0, 1, 1, 1},
        {"outer(z, b) * 3 + w", 0, 1, 1, 1}, {"3 * outer(v, b)", 0, 1, 0, 1},
        {"outer(v, b) + b", 0, 1, 1, 1}, {"outer(x, b)", 0, 1, 0, 1}, {"outer(x.T, b)", 0, 1, 0, 2},
        {"outer(dz, d[1])", 0, 1, 0, 2}, {"ev @ ew", 1, 0, 0, 1}, {"ev @ ew + b", 1, 0, 1, 1},
        {"ew @ b", 1, 0, 0, 1}, {"outer(ev, b)", 0, 1, 0, 1}, {"outer(ev, b) + b", 0, 1, 1, 1},
        {"one @ row", 1, 0, 0, 1}, {"row @ z", 1, 0, 0, 1}, {"row.T @ one", 1, 0, 0, 2},
        {"outer(one, z)", 0, 1, 0, 1}, {"x @ w", 0, 0, 0, 1},
        /* run-time scales (s: a 0-d value) and scaled addends (beta) */
        {"0.5 * v - s * (x @ z)", 1, 0, 1, 1}, {"0.9 * w - s * outer(z, b)", 0, 1, 1, 1},
        {"(2 * s) * outer(v, b)", 0, 1, 0, 2}, {"(z @ w) * s + b * 3", 1, 0, 1, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        be_teardown();
        be_setup();
        env e;
        env_init(&e);
        sb_node *n = parse(cases[k].expr);
        sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
        cr_assert_not_null(p, "%s: %s", cases[k].expr, D.msg);
        sb_plan_stats st;
        sb_be_plan_stats(p, &st);
        cr_assert_eq(st.ngemv, cases[k].ngemv, "%s: %d gemv", cases[k].expr, st.ngemv);
        cr_assert_eq(st.nger, cases[k].nger, "%s: %d ger", cases[k].expr, st.nger);
        cr_assert_eq(st.ngemm, cases[k].ngemv + cases[k].nger ? 0 : 1, "%s", cases[k].expr);
        cr_assert_eq(st.nbias, cases[k].nbias, "%s: %d folded", cases[k].expr, st.nbias);
        if (cases[k].nsteps >= 0)
            cr_assert_eq(st.nsteps, cases[k].nsteps, "%s: %d steps", cases[k].expr, st.nsteps);
        for (int r = 0; r < 2; r++) check_outputs(cases[k].expr, 1, &n, &e, p);
        sb_plan_stats again;
        sb_be_plan_stats(p, &st);
        check_outputs(cases[k].expr, 1, &n, &e, p);
        sb_be_plan_stats(p, &again);
        cr_assert_eq(again.pool_allocs, st.pool_allocs, "%s: a steady run allocates nothing",
                     cases[k].expr);
        sb_be_plan_free(p);
        env_free(&e);
    }
}

/* A product read twice, an output matmul, an integer or mixed-dtype product, a vector dot are
 * not gemv / ger steps; a core-dimension mismatch at run time is an error. */
Test(plan, gemv_not_formed)
{
    env e;
    env_init(&e);
    const char *texts[] = {"tanh(x @ z) + (x @ z)", "z @ z", "i @ cast(x * 4, 'int64')",
                           "d @ z"};
    for (int k = 0; k < 4; k++) {
        sb_node *n = parse(texts[k]);
        sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
        cr_assert_not_null(p, "%s: %s", texts[k], D.msg);
        sb_plan_stats st;
        sb_be_plan_stats(p, &st);
        cr_assert_eq(st.ngemv, k == 0 ? 1 : 0, "%s", texts[k]);
        cr_assert_eq(st.nbias, 0, "%s", texts[k]);
        check_outputs(texts[k], 1, &n, &e, p);
        sb_be_plan_free(p);
    }
    /* the two outputs: the product is computed once, not folded into the addition */
    sb_node *two[2] = {parse("x @ z"), parse("x @ z + v")};
    sb_plan *p = sb_be_plan_compile(C, 2, two, &D);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.ngemv, 1);
    cr_assert_eq(st.nbias, 0);
    check_outputs("two", 2, two, &e, p);
    sb_be_plan_free(p);
    /* unknown dims: the mismatch is found when running */
    sb_type t;
    cr_assert_eq(sb_type_parse("float32[?]", &t, NULL), SB_OK);
    sb_node *a = sb_input(C, "a", &t), *n = sb_apply2(C, SB_OP_MATMUL, parse("x"), a, &D);
    cr_assert_not_null(n, "%s", D.msg);
    p = sb_be_plan_compile(C, 1, &n, &D);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.ngemv, 1);
    int64_t five = 5;
    sb_array *av = sb_array_new(SB_DTYPE_F32, 1, &five);
    memset(av->data, 0, 5 * sizeof(float));
    sb_binding bind[2] = {{"x", e.val[0]}, {"a", av}};
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_run(p, 2, bind, NULL, &D), SB_ERR_VALUE);
    cr_assert(strstr(D.msg, "core dimension"), "%s", D.msg);
    sb_be_plan_free(p);
    sb_array_free(av);
    env_free(&e);
}

/* SGD-like updates written into the bound arrays: w - 0.1 * outer(z, b) as one ger onto w
 * itself, b - 0.5 * (z @ w) as one gemv onto b; the values match the reference computed from
 * the state before the run; a product that reads its target is refused. Print and profile name
 * the steps "ger" and "gemv". */
Test(plan, gemv_ger_inplace_updates)
{
    env e;
    env_init(&e);
    sb_node *n[2] = {parse("w - 0.1 * outer(z, b)"), parse("b - 0.5 * (z @ w)")};
    sb_plan *p = sb_be_plan_compile(C, 2, n, &D);
    cr_assert_not_null(p, "%s", D.msg);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("w"), &D), SB_OK, "%s", D.msg);
    cr_assert_eq(sb_be_plan_update_inplace(p, 1, parse("b"), &D), SB_ERR_UNSUPPORTED,
                 "the gemv reads w, which the ger writes before");
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nger, 1);
    cr_assert_eq(st.ngemv, 1);
    cr_assert_eq(st.nsteps, 2);
    for (int r = 0; r < 3; r++) {
        sb_array *want[2];
        cr_assert_eq(sb_eval(C, 2, n, NVARS, e.bind, true, want, &D), SB_OK);
        sb_profile_reset();
        sb_profile_enable(true);
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK, "%s", D.msg);
        sb_profile_enable(false);
        const sb_array *now[2] = {e.val[5], sb_be_plan_output(p, 1)}; /* w, then the gemv */
        for (int k = 0; k < 2; k++)
            for (int64_t j = 0; j < sb_array_numel(want[k]); j++) {
                double g = sb_array_get_f64(now[k], j), w = sb_array_get_f64(want[k], j);
                cr_assert(fabs(g - w) <= 1e-5 + 1e-5 * fabs(w), "run %d output %d [%lld]: %g vs %g",
                          r, k, (long long)j, g, w);
            }
        cr_assert_eq(sb_be_plan_output(p, 0)->data, e.val[5]->data, "output 0 is w itself");
        for (int k = 0; k < 2; k++) sb_array_free(want[k]);
    }
    sb_profile_summary *ps = sb_profile_summarize();
    bool gemv = false, ger = false;
    for (int i = 0; i < ps->nops; i++) {
        gemv |= !strcmp(ps->ops[i].op, "gemv");
        ger |= !strcmp(ps->ops[i].op, "ger");
    }
    cr_assert(gemv && ger, "the profile names the steps gemv and ger");
    sb_profile_summary_free(ps);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sb_be_plan_print(p, f);
    fclose(f);
    cr_assert(strstr(text, "gemv") && strstr(text, "ger ") && strstr(text, "alpha=-0.1 +acc"),
              "%s", text);
    free(text);
    /* describe: each BLAS step is one GEMM cluster with its folded nodes; the ger writes w */
    int nn = (int)sb_ctx_node_count(C);
    int *kernel = calloc((size_t)nn, sizeof *kernel);
    unsigned *marks = calloc((size_t)nn, sizeof *marks);
    uint32_t *over = calloc((size_t)nn, sizeof *over);
    sb_be_plan_describe(p, nn, kernel, marks, over);
    sb_node *outer = parse("outer(z, b)"), *mv = parse("z @ w");
    cr_assert(marks[outer->id] & SB_BE_MARK_GEMM);
    cr_assert(marks[mv->id] & SB_BE_MARK_GEMM);
    cr_assert_eq(kernel[outer->id], kernel[n[0]->id], "the update and its outer product");
    cr_assert_eq(kernel[mv->id], kernel[n[1]->id], "the update and its gemv");
    cr_assert_neq(kernel[mv->id], kernel[outer->id]);
    cr_assert(marks[n[0]->id] & SB_BE_MARK_INPLACE);
    cr_assert_eq(over[n[0]->id], parse("w")->id + 1);
    free(kernel);
    free(marks);
    free(over);
    sb_be_plan_free(p);
    /* the gemv alone in place into b (its product reads w, not b) */
    sb_node *u = parse("b - 0.5 * (z @ w)");
    p = sb_be_plan_compile(C, 1, &u, &D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("b"), &D), SB_OK, "%s", D.msg);
    sb_array *want;
    cr_assert_eq(sb_eval(C, 1, &u, NVARS, e.bind, true, &want, &D), SB_OK);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK, "%s", D.msg);
    for (int64_t j = 0; j < 5; j++)
        cr_assert_float_eq(sb_array_get_f64(e.val[6], j), sb_array_get_f64(want, j), 1e-5);
    sb_array_free(want);
    sb_be_plan_free(p);
    /* refused: the outer product reads its target (through a view) */
    sb_node *r = parse("q - 0.1 * outer(q[0], b)");
    p = sb_be_plan_compile(C, 1, &r, &D);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("q"), &D), SB_ERR_UNSUPPORTED);
    check_outputs("refused", 1, &r, &e, p);
    sb_be_plan_free(p);
    env_free(&e);
}

/* A value consumed late (a = x @ w) must survive many pooled intermediates, and outputs that
 * are intermediates of other outputs are kept. */
Test(plan, buffer_reuse_keeps_live_values)
{
    const char *outs[] = {
        "(x @ w) * sum(softmax(softmax(softmax(y * 2) + 1) * 3) * exp(x)) + (x @ w)",
        "softmax(y * 2)",
        "x @ w",
    };
    check_exprs(3, outs);
    env e;
    env_init(&e);
    sb_node *n[1] = {parse("exp(x) * (tanh(y) + 1) * (sigmoid(y * 3) + tanh(y * 3 + 1)) + "
                           "sum(tanh(y + 2) * exp(y - 1)) + exp(x)")};
    sb_plan *p = sb_be_plan_compile(C, 1, n, &D);
    for (int r = 0; r < 3; r++) check_outputs("late", 1, n, &e, p);
    sb_be_plan_free(p);
    env_free(&e);
}

Test(plan, steady_state_allocates_nothing)
{
    env e;
    env_init(&e);
    sb_node *n[2] = {parse("softmax(tanh(x @ w + b) * 2)"), parse("sum(exp(x) * y + z)")};
    sb_plan *p = sb_be_plan_compile(C, 2, n, &D);
    check_outputs("first", 2, n, &e, p);
    sb_plan_stats a, b;
    sb_be_plan_stats(p, &a);
    cr_assert_gt(a.pool_allocs, 0);
    for (int r = 0; r < 4; r++) cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK);
    sb_be_plan_stats(p, &b);
    cr_assert_eq(b.pool_allocs, a.pool_allocs, "runs after the first reuse the pool");
    cr_assert_lt(b.nbuffers, 6, "buffers are shared across steps (%d)", b.nbuffers);
    sb_be_plan_free(p);
    env_free(&e);
}

/* Sizes past the OpenMP threshold and the block size, with every leaf kind. */
Test(plan, large_broadcasts)
{
    sb_type tx, tb, tc, tt;
    sb_type_parse("float32[300, 701]", &tx, NULL);
    sb_type_parse("float32[701]", &tb, NULL);
    sb_type_parse("float32[300, 1]", &tc, NULL);
    sb_type_parse("float32[701, 300]", &tt, NULL);
    sb_node *leaf[4] = {sb_input(C, "X", &tx), sb_input(C, "B", &tb), sb_input(C, "Cc", &tc),
                        sb_input(C, "T", &tt)};
    sb_array *v[4];
    sb_binding bind[4];
    for (int k = 0; k < 4; k++) {
        const sb_type *t = sb_node_type(leaf[k]);
        v[k] = sb_array_new(t->dtype, t->ndim, t->dims);
        for (int64_t i = 0; i < sb_array_numel(v[k]); i++) sb_array_set_f64(v[k], i, pattern(k, i));
        bind[k] = (sb_binding){sb_node_name(leaf[k]), v[k]};
    }
    sb_node *n = parse("tanh(X * B + Cc) * exp(-T.T) + 0.5 * X + softmax(X)");
    sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
    sb_array *want, *got;
    cr_assert_eq(sb_eval(C, 1, &n, 4, bind, true, &want, &D), SB_OK, "%s", D.msg);
    cr_assert_eq(sb_be_plan_run(p, 4, bind, &got, &D), SB_OK, "%s", D.msg);
    for (int64_t i = 0; i < sb_array_numel(got); i++) {
        double g = sb_array_get_f64(got, i), w = sb_array_get_f64(want, i);
        cr_assert(fabs(g - w) <= 2e-5 + 2e-5 * fabs(w), "element %lld: %g vs %g", (long long)i, g, w);
    }
    sb_array_free(got);
    sb_array_free(want);
    for (int k = 0; k < 4; k++) sb_array_free(v[k]);
    sb_be_plan_free(p);
}

Test(plan, errors)
{
    env e;
    env_init(&e);
    sb_type t;
    sb_type_parse("float32[?]", &t, NULL);
    sb_node *q = sb_input(C, "qv", &t);
    sb_node *r = sb_apply2(C, SB_OP_ADD, q, parse("z"), &D);
    cr_assert_not_null(r);
    sb_plan *p = sb_be_plan_compile(C, 1, &r, &D);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_ERR_VALUE);
    cr_assert(strstr(D.msg, "'qv' has no value"), "%s", D.msg);
    int64_t three = 3;
    sb_array *a = sb_array_new(SB_DTYPE_F32, 1, &three);
    sb_binding b[2] = {{"qv", a}, {"z", e.val[2]}};
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_run(p, 2, b, NULL, &D), SB_ERR_VALUE);
    cr_assert(strstr(D.msg, "broadcast"), "%s", D.msg);
    cr_assert_null(sb_be_plan_output(p, 0));
    sb_array_free(a);
    sb_be_plan_free(p);
    env_free(&e);
}

/* vmath.h against libm in double: a sweep of float32 values within 2 ulp (and special values). */
static double ulps(float got, double want)
{
    float w = (float)want;
    if (got == w || (isnan(got) && isnan(want))) return 0;
    if (isinf(w) || isinf(got)) return 1e9;
    double u = fabs((double)nextafterf(w, INFINITY) - (double)w);
    return fabs((double)got - want) / (u > 0 ? u : 1e-45);
}

Test(plan, vmath_accuracy)
{
    double me = 0, ml = 0, mt = 0, ms = 0;
    for (int i = 0; i < 200000; i++) {
        float x = -104.0f + 193.0f * (float)i / 200000.0f;
        me = fmax(me, ulps(sb_vm_expf(x), exp((double)x)));
        float t = -12.0f + 24.0f * (float)i / 200000.0f;
        mt = fmax(mt, ulps(sb_vm_tanhf(t), tanh((double)t)));
        cr_assert(sb_vm_tanhf(-t) == -sb_vm_tanhf(t), "tanh is odd at %g", (double)t);
        ms = fmax(ms, ulps(sb_vm_sigmoidf(t), 1 / (1 + exp(-(double)t))));
        float l = ldexpf(1.0f + (float)(i % 1000) / 1000.0f, i % 250 - 140);
        ml = fmax(ml, ulps(sb_vm_logf(l), log((double)l)));
    }
    cr_assert_leq(me, 2, "exp: %g ulp", me);
    cr_assert_leq(mt, 2, "tanh: %g ulp", mt);
    cr_assert_leq(ms, 3, "sigmoid: %g ulp", ms);
    cr_assert_leq(ml, 2, "log: %g ulp", ml);
    cr_assert(isinf(sb_vm_expf(89.0f)) && sb_vm_expf(-105.0f) == 0 && isnan(sb_vm_expf(NAN)));
    cr_assert(isinf(sb_vm_logf(0.0f)) && sb_vm_logf(0.0f) < 0 && isnan(sb_vm_logf(-1.0f)));
    cr_assert(sb_vm_tanhf(30.0f) == 1.0f && sb_vm_tanhf(-30.0f) == -1.0f);
    /* tanh's special values, and the ends of its two formulas (|x| = 0.625, the clamp at 10) */
    cr_assert(sb_vm_tanhf(INFINITY) == 1.0f && sb_vm_tanhf(-INFINITY) == -1.0f);
    cr_assert(isnan(sb_vm_tanhf(NAN)) && isnan(sb_vm_tanhf(-NAN)));
    cr_assert(sb_vm_tanhf(-0.0f) == 0.0f && signbit(sb_vm_tanhf(-0.0f)) && !signbit(sb_vm_tanhf(0.0f)));
    cr_assert(sb_vm_tanhf(1e-30f) == 1e-30f && sb_vm_tanhf(-1e-30f) == -1e-30f);
    cr_assert(sb_vm_tanhf(10.0f) == 1.0f && sb_vm_tanhf(3e38f) == 1.0f && sb_vm_tanhf(-9.99f) == -1.0f);
    const float edges[] = {0.625f, 9.0f, 8.5f, 5.0f, 1e-3f, 1.4e-45f};
    for (int i = 0; i < 6; i++)
        for (int d = -2; d <= 2; d++) {
            float t = edges[i];
            for (int k = 0; k < abs(d); k++) t = nextafterf(t, d < 0 ? 0.0f : INFINITY);
            double u = ulps(sb_vm_tanhf(t), tanh((double)t));
            cr_assert_leq(u, 2, "tanh(%.9g): %g ulp", (double)t, u);
        }
}

/* Groups compiled to C at run time (fusejit.c) give the interpreter's values; a second plan
 * finds the kernels in the cache. Skipped where no C compiler runs. */
Test(plan, compiled_groups)
{
    if (system("cc --version > /dev/null 2>&1") != 0) cr_skip_test("no C compiler");
    char dir[] = "/tmp/sb-test-plan-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("SB_CACHE_DIR", dir, 1);
    sb_be_fz_jit_set(1);
    const char *outs[] = {"tanh(x * y - 1) * exp(-x) + 0.5 * x",
                          "maximum(x, 0.25) / (abs(y) + 1) - sigmoid(log(abs(x) + 1))",
                          "softmax(x * 2 + c)"};
    check_exprs(3, outs); /* c broadcast: that group falls back to the interpreter */
    env e;
    env_init(&e);
    sb_node *n = parse("tanh(x * y - 1) * exp(-x) + 0.5 * x");
    sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.njit, 1, "the group is compiled (from the cache)");
    check_outputs("compiled", 1, &n, &e, p);
    sb_be_plan_free(p);
    env_free(&e);
    sb_be_fz_jit_set(-1);
    unsetenv("SB_CACHE_DIR");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Updates written into the bound arrays (SGD on w through a GEMM, on b through a fused group):
 * the values match the reference computed from the state before the run, other outputs see
 * the old state, and unsafe requests are refused. */
Test(plan, inplace_updates)
{
    env e;
    env_init(&e);
    sb_node *n[3] = {parse("sum((x @ w + b - m) ** 2)"),
                     parse("w - 0.1 * (x.T @ (x @ w + b - m))"),
                     parse("b - 0.5 * tanh(b) * sum(m)")};
    sb_plan *p = sb_be_plan_compile(C, 3, n, &D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 1, parse("w"), &D), SB_OK, "%s", D.msg);
    cr_assert_eq(sb_be_plan_update_inplace(p, 2, parse("b"), &D), SB_OK, "%s", D.msg);
    for (int r = 0; r < 3; r++) {
        sb_array *want[3];
        cr_assert_eq(sb_eval(C, 3, n, NVARS, e.bind, true, want, &D), SB_OK);
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK, "%s", D.msg);
        const sb_array *now[3] = {sb_be_plan_output(p, 0), e.val[5], e.val[6]}; /* w, b */
        for (int k = 0; k < 3; k++)
            for (int64_t j = 0; j < sb_array_numel(want[k]); j++) {
                double g = sb_array_get_f64(now[k], j), w = sb_array_get_f64(want[k], j);
                cr_assert(fabs(g - w) <= 1e-4 + 1e-4 * fabs(w), "run %d output %d [%lld]: %g vs %g",
                          r, k, (long long)j, g, w);
            }
        cr_assert_eq(sb_be_plan_output(p, 1)->data, e.val[5]->data, "output 1 is w itself");
        for (int k = 0; k < 3; k++) sb_array_free(want[k]);
    }
    sb_be_plan_free(p);
    /* refused: the product reads its target; another output shows the target */
    sb_node *u[2] = {parse("q @ q"), parse("q.T")};
    p = sb_be_plan_compile(C, 2, u, &D);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("q"), &D), SB_ERR_UNSUPPORTED);
    cr_assert(strstr(D.msg, "'q'"), "%s", D.msg);
    sb_be_plan_free(p);
    sb_node *v[2] = {parse("q * 2"), parse("q.T")};
    p = sb_be_plan_compile(C, 2, v, &D);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("q"), &D), SB_ERR_UNSUPPORTED);
    cr_assert(strstr(D.msg, "another output"), "%s", D.msg);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("m"), &D), SB_ERR_UNSUPPORTED, "type differs");
    check_outputs("refused", 2, v, &e, p); /* still runs (not in place) */
    sb_be_plan_free(p);
    env_free(&e);
}

/* Bind scalar s (VARS[3]) to v. */
static void set_s(env *e, double v)
{
    sb_array_set_f64(e->val[3], 0, v);
}

/* Lazy ifelse: the untaken branch (an index out of range) never runs; taking it
 * fails; the steps executed count only the branch taken. */
Test(plan, ifelse_runs_only_the_taken_branch)
{
    env e;
    env_init(&e);
    sb_node *n = parse("ifelse(s < 0, tanh(x) * 2 + y, x[i * 10] + 1) * 3");
    sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
    cr_assert_not_null(p, "%s", D.msg);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nifelse, 1);
    set_s(&e, -1);
    check_outputs("then", 1, &n, &e, p);
    sb_be_plan_stats(p, &st);
    int64_t ran_then = st.nrun;
    cr_assert_lt(ran_then, st.nsteps, "the else branch's steps are skipped");
    set_s(&e, 1);
    sb_diag_clear(&D);
    cr_assert_neq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK, "the else branch runs now");
    cr_assert_null(sb_be_plan_output(p, 0));
    set_s(&e, -2); /* and the plan recovers */
    check_outputs("then again", 1, &n, &e, p);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nrun, ran_then);
    sb_be_plan_free(p);
    /* the same with the branches swapped: now only the then branch is skipped */
    n = parse("ifelse(s > 0, sum(y[i * 5]), sum(x * y))");
    p = sb_be_plan_compile(C, 1, &n, &D);
    for (int r = 0; r < 3; r++) check_outputs("else", 1, &n, &e, p);
    sb_be_plan_free(p);
    env_free(&e);
}

/* t = exp(x) * y is needed by both branches and by another output: it is computed once, before
 * the ifelse (one step for t, whichever branch runs, and t stays alive for the output read
 * after the ifelse); values only a branch needs run inside it. */
Test(plan, ifelse_shares_values_with_the_rest)
{
    env e;
    env_init(&e);
    sb_node *n[2] = {parse("ifelse(s < 0, sum(exp(x) * y, axis=1), max(exp(x) * y, axis=1) * 2)"),
                     parse("exp(x) * y + ifelse(s < 0, x, y)")};
    sb_plan *p = sb_be_plan_compile(C, 2, n, &D);
    cr_assert_not_null(p, "%s", D.msg);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nifelse, 2);
    /* t, its sum, its max and the max's scaling, the condition, 2 ifelse, the sum output */
    cr_assert_eq(st.nfused, 3, "t, t + ifelse and max * 2 (got %d)", st.nfused);
    for (int r = 0; r < 4; r++) {
        set_s(&e, r % 2 ? 1 : -1);
        check_outputs("shared", 2, n, &e, p);
        sb_be_plan_stats(p, &st);
        /* both ifelse, the condition, t, t + ifelse, then sum (1 step) or max and * 2 (2) */
        cr_assert_eq(st.nrun, r % 2 ? 7 : 6, "run %d executed %lld steps", r, (long long)st.nrun);
    }
    sb_be_plan_free(p);
    env_free(&e);
}

/* Nested ifelse: an inner ifelse inside a branch; failing branches at each level are never
 * taken; a value the outer condition's branch and the inner branch share runs in the branch. */
Test(plan, ifelse_nested)
{
    env e;
    env_init(&e);
    sb_node *n = parse("ifelse(s < 0, ifelse(sum(x * x) > 1000, x[i + 7] * 1, "
                       "tanh(x * y) + sum(x * x)), sqrt(y[i - 9]) + 1) + 1");
    sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
    cr_assert_not_null(p, "%s", D.msg);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nifelse, 2);
    set_s(&e, -1);
    for (int r = 0; r < 3; r++) check_outputs("nested", 1, &n, &e, p);
    set_s(&e, 1);
    sb_diag_clear(&D);
    cr_assert_neq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK, "the outer else fails");
    sb_be_plan_free(p);
    /* branches of two dtypes (the ifelse converts), a scalar-constant branch */
    sb_node *mixed[2] = {parse("ifelse(s < 0, exp(x) * 2, d + 1) * 3"),
                         parse("ifelse(s > 0, 1.5, sum(x)) * x")};
    p = sb_be_plan_compile(C, 2, mixed, &D);
    cr_assert_not_null(p, "%s", D.msg);
    for (int r = 0; r < 4; r++) {
        set_s(&e, r % 2 ? 1 : -1);
        check_outputs("mixed", 2, mixed, &e, p);
    }
    sb_be_plan_free(p);
    /* ifelse whose branches are leaves, and one whose branch is an output too */
    sb_node *m[2] = {parse("ifelse(s < 0, x, y)"), parse("x")};
    p = sb_be_plan_compile(C, 2, m, &D);
    for (int r = 0; r < 4; r++) {
        set_s(&e, r % 2 ? 1 : -1);
        check_outputs("leaves", 2, m, &e, p);
    }
    sb_be_plan_free(p);
    env_free(&e);
}

/* A training step (softmax cross-entropy and a one-hot term, their gradients with
 * expand_dims / broadcasts / reductions, SGD updates): reference-kernel results come from the
 * pool too, so after the first run no run grows the pool or puts a kernel result on the heap. */
Test(plan, training_step_allocates_nothing)
{
    env e;
    env_init(&e);
    sb_node *cost = parse("mean(categorical_crossentropy(softmax(tanh(x @ w + b)), i)) + "
                          "0.1 * mean(sum(one_hot(i, 5, dtype='float32') * (x @ w), axis=1)) + "
                          "mean(expand_dims(sum(x, axis=1), 1) * m)");
    sb_node *wrt[2] = {parse("w"), parse("b")}, *g[2];
    sb_diag_clear(&D);
    cr_assert_eq(sb_grad(C, cost, 2, wrt, NULL, g, &D), SB_OK, "%s", D.msg);
    sb_node *lr = parse("0.1");
    sb_node *n[5] = {cost, g[0], g[1], sb_apply2(C, SB_OP_SUB, wrt[0], sb_apply2(C, SB_OP_MUL, lr, g[0], &D), &D),
                     sb_apply2(C, SB_OP_SUB, wrt[1], sb_apply2(C, SB_OP_MUL, lr, g[1], &D), &D)};
    sb_plan *p = sb_be_plan_compile(C, 5, n, &D);
    cr_assert_not_null(p, "%s", D.msg);
    check_outputs("train", 5, n, &e, p);
    sb_plan_stats a, b;
    sb_be_plan_stats(p, &a);
    cr_assert_gt(a.nkernel, 3, "reference kernels run (%d)", a.nkernel);
    for (int r = 0; r < 4; r++) check_outputs("train", 5, n, &e, p);
    sb_be_plan_stats(p, &b);
    cr_assert_eq(b.pool_allocs, a.pool_allocs, "runs after the first reuse the pool (%lld -> %lld)",
                 (long long)a.pool_allocs, (long long)b.pool_allocs);
    cr_assert_eq(b.nheap, 0, "%lld kernel results outside the pool", (long long)b.nheap);
    sb_be_plan_free(p);
    env_free(&e);
}

/* Compile outs, run them three times against the reference, and check how many fused groups
 * wrote over a dying input (stats.ninplace) and that no bound array changed. */
static void check_inplace(int nout, const char *const *texts, env *e, int64_t want)
{
    sb_node *outs[8];
    for (int k = 0; k < nout; k++) outs[k] = parse(texts[k]);
    sb_plan *p = sb_be_plan_compile(C, nout, outs, &D);
    cr_assert_not_null(p, "%s: %s", texts[0], D.msg);
    sb_array *before[NVARS];
    for (int v = 0; v < NVARS; v++) before[v] = sb_array_copy(e->val[v]);
    for (int r = 0; r < 3; r++) check_outputs(texts[0], nout, outs, e, p);
    sb_plan_stats st;
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.ninplace, want, "%s: %lld groups in place, expected %lld", texts[0],
                 (long long)st.ninplace, (long long)want);
    for (int v = 0; v < NVARS; v++) {
        for (int64_t i = 0; i < sb_array_numel(before[v]); i++)
            cr_assert_eq(sb_array_get_f64(e->val[v], i), sb_array_get_f64(before[v], i),
                         "%s: bound '%s' changed", texts[0], VARS[v].name);
        sb_array_free(before[v]);
    }
    sb_be_plan_free(p);
}

/* A fused group writes its result over an input that dies there (a GEMM's, a reduction's, an
 * ifelse's pooled value), and never over one that is still needed: read later by another step,
 * a graph output, viewed by a transpose / reshape read later, a bound variable (also through a
 * view or an ifelse). Each case would give a wrong value (or change a binding) if overwritten. */
Test(plan, inplace_groups_never_overwrite_live_values)
{
    env e;
    env_init(&e);
    const char *gemm[] = {"tanh(x @ w) + 1"};
    check_inplace(1, gemm, &e, 1);
    const char *chain[] = {"exp(sum(x, axis=1, keepdims=True) * x) * 2 + max(x, axis=0)"};
    check_inplace(1, chain, &e, 0); /* the group reads the max broadcast: not its positions */
    /* t = exp(x) * y read by a group and later by sum(t): not overwritten; the last group
     * (mm + sum) goes over the product */
    const char *later[] = {"(tanh(exp(x) * y) + 1) @ w + sum(exp(x) * y)"};
    check_inplace(1, later, &e, 1);
    const char *output[] = {"exp(x) * y", "tanh(exp(x) * y) + 1"};
    check_inplace(2, output, &e, 0);
    const char *tview[] = {"(exp(x) * y).T @ (tanh(exp(x) * y) + 1)"};
    check_inplace(1, tview, &e, 0);
    const char *rview[] = {"reshape(exp(x) * y, (6, 4)) @ (tanh(exp(x) * y) + 1)"};
    check_inplace(1, rview, &e, 0);
    const char *bound[] = {"tanh(reshape(q, (25,))) + 1"}, *tbound[] = {"tanh(q.T) * 2"};
    check_inplace(1, bound, &e, 0); /* q dies at the reshape, its view at the group */
    check_inplace(1, tbound, &e, 0);
    /* row softmax over a dying input too; not over one read later or viewed */
    const char *sm[] = {"softmax(x @ w)"}, *smlate[] = {"softmax(x @ w) @ (x @ w).T"},
               *smview[] = {"(x @ w).T @ softmax(x @ w)"};
    check_inplace(1, sm, &e, 1);
    check_inplace(1, smlate, &e, 0);
    check_inplace(1, smview, &e, 0);
    const char *branch[] = {"tanh(ifelse(s < 0, exp(x) * y, x)) + 1"};
    set_s(&e, -1);
    check_inplace(1, branch, &e, 1); /* the branch's pooled value dies in the group */
    set_s(&e, 1);
    check_inplace(1, branch, &e, 0); /* the ifelse shows x: bound */
    env_free(&e);
}

/* What viz draws: the group a node is computed in, which input a step wrote over, views. */
Test(plan, describe_nodes)
{
    env e;
    env_init(&e);
    sb_node *mm = parse("x @ w"), *th = parse("tanh(x @ w)"), *n[2] = {parse("tanh(x @ w) + 1"),
                                                                        parse("(x @ y.T).T * 2")};
    sb_node *tr = parse("(x @ y.T).T");
    sb_plan *p = sb_be_plan_compile(C, 2, n, &D);
    cr_assert_not_null(p, "%s", D.msg);
    cr_assert_eq(sb_be_plan_overwrote(p, n[0]), mm, "predicted before the first run");
    check_outputs("describe", 2, n, &e, p);
    cr_assert_eq(sb_be_plan_overwrote(p, n[0]), mm, "the group wrote over the product");
    cr_assert_null(sb_be_plan_overwrote(p, n[1]), "a strided view is not overwritten");
    cr_assert_null(sb_be_plan_overwrote(p, mm));
    int nn = (int)sb_ctx_node_count(C);
    int *kernel = calloc((size_t)nn, sizeof *kernel);
    unsigned *marks = calloc((size_t)nn, sizeof *marks);
    uint32_t *over = calloc((size_t)nn, sizeof *over);
    sb_be_plan_describe(p, nn, kernel, marks, over);
    cr_assert(marks[n[0]->id] & SB_BE_MARK_INPLACE);
    cr_assert_eq(over[n[0]->id], mm->id + 1, "describe names the value written over");
    cr_assert_eq(over[n[1]->id], 0);
    cr_assert(marks[th->id] & SB_BE_MARK_FUSED);
    cr_assert_gt(kernel[th->id], 0);
    cr_assert_eq(kernel[th->id], kernel[n[0]->id], "tanh and + in one group");
    cr_assert_neq(kernel[mm->id], kernel[n[0]->id], "the GEMM is a step of its own");
    cr_assert(marks[tr->id] & SB_BE_MARK_VIEW, "the transpose is a view");
    cr_assert_not(marks[n[1]->id] & SB_BE_MARK_INPLACE);
    free(kernel);
    free(marks);
    free(over);
    sb_be_plan_free(p);
    env_free(&e);
}

/* An in-place update whose group reads an ifelse that may show the target (directly or as a
 * transpose) is refused; one whose ifelse shows fresh values is accepted and correct. */
Test(plan, ifelse_and_inplace_updates)
{
    env e;
    env_init(&e);
    sb_node *n = parse("q - 0.1 * ifelse(s < 0, q.T, q)");
    sb_plan *p = sb_be_plan_compile(C, 1, &n, &D);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("q"), &D), SB_ERR_UNSUPPORTED);
    set_s(&e, -1);
    check_outputs("refused", 1, &n, &e, p);
    sb_be_plan_free(p);
    n = parse("q - 0.1 * ifelse(s < 0, tanh(q), q * 2)");
    p = sb_be_plan_compile(C, 1, &n, &D);
    cr_assert_eq(sb_be_plan_update_inplace(p, 0, parse("q"), &D), SB_OK, "%s", D.msg);
    for (int r = 0; r < 4; r++) {
        set_s(&e, r % 2 ? 1 : -1);
        sb_array *want;
        cr_assert_eq(sb_eval(C, 1, &n, NVARS, e.bind, true, &want, &D), SB_OK);
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK, "%s", D.msg);
        for (int64_t j = 0; j < sb_array_numel(want); j++)
            cr_assert_float_eq(sb_array_get_f64(e.val[11], j), sb_array_get_f64(want, j), 1e-5);
        sb_array_free(want);
    }
    sb_be_plan_free(p);
    env_free(&e);
}
