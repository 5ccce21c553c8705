/* test_fuse.c: reductions fused with their elementwise input (backends/cpu/fuse_reduce.c) and
 * the policy that compiles fused groups to C (fusejit.c).
 *
 * Reductions: a table of sum / mean / max / min / prod / logsumexp over all axes, trailing
 * axes (rows) and leading axes (columns), with keepdims, broadcast leaves inside the group,
 * views, size-1 and empty dims, sizes that are not multiples of the vector width, long rows
 * cut into pieces and column chunks, float32 and float64, against the reference evaluator in
 * float64; the plan's step counts (the group is absorbed into the reduction); the same bits for
 * 1, 2 and 3 threads; the empty max error. JIT: compiled kernels give the interpreter's bits
 * for every op; under the auto policy a group past the threshold gets compiled in the
 * background and switched to, SB_JIT=0 never compiles. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/cpu/fuse_impl.h"
#include "backends/cpu/plan.h"

#include "be_test.h"

TestSuite(fuse, .init = be_setup, .fini = be_teardown, .timeout = 60);

/* Inputs: name, declared type, run-time shape (for '?' dims). */
static const be_var VARS[] = {
    {"a", "float32[37, 53]", 2, {37, 53}},   {"b", "float32[53]", 1, {53}},
    {"c", "float32[37, 1]", 2, {37, 1}},     {"t", "float32[5, 7, 9]", 3, {5, 7, 9}},
    {"d", "float64[19, 33]", 2, {19, 33}},   {"o", "float32[1, 1]", 2, {1, 1}},
    {"r", "float32[1, 255]", 2, {1, 255}},   {"e", "float32[?, 5]", 2, {0, 5}},
    {"L", "float32[3, 40001]", 2, {3, 40001}}, {"K", "float32[2000, 67]", 2, {2000, 67}},
    {"s", "float32[]", 0, {0}},              {"q", "float64[2, 257]", 2, {2, 257}},
    {"m", "float32[300, 16]", 2, {300, 16}}, {"w", "float32[130, 10]", 2, {130, 10}},
};
#define NVARS ((int)(sizeof VARS / sizeof VARS[0]))

static double pattern(int v, int64_t i)
{
    return sin(0.37 * (double)i + 1.3 * v) * (1.0 + 0.2 * v);
}

static void env_init(env *e)
{
    be_env_init(e, VARS, NVARS, pattern);
}

/* The plan's outputs against sb_eval in float64. Sums of many float32 values get a tolerance
 * that grows with the square root of the count. */
static void check(const char *what, int nout, sb_node **outs, const env *e, sb_plan *p)
{
    sb_array *want[4], *got[4];
    sb_diag_clear(&D);
    cr_assert_eq(sb_eval(C, nout, outs, NVARS, e->bind, true, want, &D), SB_OK, "%s: %s", what,
                 D.msg);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e->bind, got, &D), SB_OK, "%s: %s", what, D.msg);
    for (int k = 0; k < nout; k++) {
        cr_assert_eq(got[k]->ndim, want[k]->ndim, "%s: rank", what);
        for (int j = 0; j < got[k]->ndim; j++)
            cr_assert_eq(got[k]->shape[j], want[k]->shape[j], "%s: dim %d", what, j);
        cr_assert_eq(got[k]->dtype, want[k]->dtype == SB_DTYPE_F64 ? outs[k]->type.dtype
                                                                   : want[k]->dtype);
        for (int64_t i = 0; i < sb_array_numel(got[k]); i++) {
            double g = sb_array_get_f64(got[k], i), w = sb_array_get_f64(want[k], i);
            double tol = 3e-5 * (1 + fabs(w));
            cr_assert(fabs(g - w) <= tol || (isnan(g) && isnan(w)) || g == w,
                      "%s: element %lld: plan %.9g, reference %.9g", what, (long long)i, g, w);
        }
        sb_array_free(got[k]);
        sb_array_free(want[k]);
    }
}

static sb_plan *compile(int nout, sb_node **outs)
{
    sb_diag_clear(&D);
    sb_plan *p = sb_be_plan_compile(C, nout, outs, &D);
    cr_assert_not_null(p, "%s", D.msg);
    return p;
}

Test(fuse, reductions_match_reference)
{
    static const char *const exprs[] = {
        "sum(exp(a - 1))", "sum(a * b, axis=1)", "mean(tanh(a) + c, axis=1, keepdims=True)",
        "max(a * 2 - b, axis=-1)", "min(a + b, axis=1)", "max(a * c)", "min(abs(a) + 1)",
        "sum(a * c, axis=0)", "mean(a, axis=0, keepdims=True)", "max(a - b, axis=0)",
        "min(a * c, axis=0, keepdims=True)", "prod(1 + 0.01 * a, axis=1)", "prod(1 + 0.1 * a)",
        "prod(1 - 0.1 * a, axis=0)", "logsumexp(a * 3, axis=1)", "logsumexp(a * 30)",
        "logsumexp(a + b, axis=1, keepdims=True)", "sum(t * t, axis=(1, 2))",
        "sum(exp(t), axis=(0, 1))", "max(t, axis=(0, 1), keepdims=True)", "sum(t, axis=1)",
        "mean(t * 2, axis=2)", "sum(d * d, axis=1)", "logsumexp(d, axis=1)", "max(d, axis=0)",
        "mean(exp(d))", "sum(o * 2)", "max(o, axis=1)", "sum(r, axis=0)", "sum(r * r, axis=1)",
        "sum(e, axis=0)", "sum(e * 2, axis=1)", "mean(e, axis=0)", "prod(e + 1, axis=0)",
        "sum(e)", "sum(exp(L * 0.001), axis=1)", "logsumexp(L * 2, axis=1)",
        "max(L * L)", "sum(L)", "sum(K * 2 + 1, axis=0)", "mean(K, axis=0)", "max(tanh(K), axis=0)",
        "sum(K, axis=1)", "sum(a.T * 2, axis=1)", "sum(a.T, axis=1)", "max(a.T, axis=0)",
        "sum(s * 2)", "sum(s, keepdims=True)", "mean(q * 2 + 1, axis=1)", "sum(q, axis=0)",
        "sum(exp(a - max(a, axis=1, keepdims=True)), axis=1)", "sum(sqr(d - mean(d)))",
        "softmax(a * 2 + b)", "softmax(tanh(a) - c)", "softmax(d * 0.5 + 1)", "softmax(L * 0.01)",
        "softmax(t * 2, axis=-1)", "softmax(e * 2)", "softmax(r - 1)", "softmax(K * 3 - 1)",
        "log_softmax(a * 2 + b)", "log_softmax(d)", "log_softmax(L * 0.01)", "log_softmax(q)",
        "log_softmax(t - 1, axis=2)", "softmax(m * 2)", "log_softmax(m)", "softmax(w - 1)",
        "log_softmax(w * 3)", "softmax(o)", "log_softmax(o + 1)",
    };
    for (int isa = SB_FZ_ISA_V4; isa >= SB_FZ_ISA_BASE; isa--) { /* every clone the CPU runs */
        sb_be_fz_isa_set(isa);
        for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
            bool large = strchr(exprs[k], 'L') || strchr(exprs[k], 'K');
            if (large && isa != SB_FZ_ISA_V4) continue; /* the other clones: small cases */
            be_teardown();
            be_setup();
            env e;
            env_init(&e);
            sb_node *n = parse(exprs[k]);
            sb_plan *p = compile(1, &n);
            check(exprs[k], 1, &n, &e, p);
            check(exprs[k], 1, &n, &e, p); /* a second run over the pooled buffers */
            sb_be_plan_free(p);
            env_free(&e);
        }
    }
    sb_be_fz_isa_set(-1);
}

/* The group read only by the reduction is computed inside its step; a group read elsewhere
 * too is a step of its own; an axis set that is neither rows nor columns keeps the kernel. */
Test(fuse, steps_absorb_the_group)
{
    env e;
    env_init(&e);
    sb_plan_stats st;
    sb_node *n = parse("sum(exp(a - 1) * b, axis=1)");
    sb_plan *p = compile(1, &n);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nsteps, 1, "%d steps", st.nsteps);
    cr_assert_eq(st.nreduce, 1);
    cr_assert_eq(st.nfused, 0);
    check("absorbed", 1, &n, &e, p);
    sb_be_plan_free(p);
    sb_node *two[2] = {parse("sum(exp(a), axis=1)"), parse("exp(a)")};
    p = compile(2, two);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nreduce, 1);
    cr_assert_eq(st.nfused, 1, "exp(a) is an output: materialized once");
    check("shared", 2, two, &e, p);
    sb_be_plan_free(p);
    n = parse("softmax(a * 2 + b)"); /* the softmax row kernel takes its group in too */
    p = compile(1, &n);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nsteps, 1, "%d steps", st.nsteps);
    cr_assert_eq(st.nsoftmax, 1);
    cr_assert_eq(st.nfused, 0);
    check("softmax", 1, &n, &e, p);
    sb_be_plan_free(p);
    n = parse("sum(t * 2, axis=1)");
    p = compile(1, &n);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.nreduce, 0);
    cr_assert_eq(st.nkernel, 1);
    sb_be_plan_free(p);
    env_free(&e);
}

/* Results are the same bits whatever the number of threads. */
Test(fuse, deterministic_across_threads)
{
    static const char *const exprs[] = {"sum(exp(L * 0.001), axis=1)", "sum(L * 3 + 1)",
                                        "logsumexp(L * 2, axis=1)", "sum(K * 2 + 1, axis=0)",
                                        "mean(K * K, axis=1)", "prod(1 + 0.0001 * L)",
                                        "softmax(L * 0.01 + 1)"};
    env e;
    env_init(&e);
    int saved = omp_get_max_threads();
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        sb_node *n = parse(exprs[k]);
        sb_array *r[3];
        for (int t = 0; t < 3; t++) {
            omp_set_num_threads(t + 1);
            sb_plan *p = compile(1, &n);
            cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, &r[t], &D), SB_OK, "%s", D.msg);
            sb_be_plan_free(p);
        }
        size_t bytes = (size_t)sb_array_numel(r[0]) * sb_dtype_size(r[0]->dtype);
        for (int t = 1; t < 3; t++) {
            cr_assert_eq(memcmp(r[0]->data, r[t]->data, bytes), 0, "%s: %d threads differ",
                         exprs[k], t + 1);
            sb_array_free(r[t]);
        }
        sb_array_free(r[0]);
    }
    omp_set_num_threads(saved);
    env_free(&e);
}

/* NaN and infinities: max / min propagate NaN (NumPy), logsumexp of +inf is inf, of a row of
 * -inf is -inf; the vector lanes' fast path must hand these to the exact pass. */
Test(fuse, special_values)
{
    static const char *const exprs[] = {
        "max(a, axis=1)", "min(a, axis=1)", "max(a * 2, axis=0)", "min(a + 1, axis=0)", "max(a)",
        "min(a)", "sum(a, axis=1)", "logsumexp(a, axis=1)", "prod(a, axis=1)", "mean(a, axis=0)",
        "softmax(a)", "log_softmax(a)", "softmax(a * 2)", "log_softmax(a - 1)",
    };
    env e;
    env_init(&e);
    float *v = e.val[0]->data; /* a: [37, 53] */
    v[5 * 53 + 40] = NAN;      /* row 5, column 40 (past the first 32 lanes) */
    v[7 * 53 + 3] = INFINITY;
    v[9 * 53 + 50] = -INFINITY;
    for (int j = 0; j < 53; j++) v[11 * 53 + j] = -INFINITY; /* a row of -inf */
    v[13 * 53 + 17] = INFINITY, v[13 * 53 + 18] = -INFINITY;
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        sb_node *n = parse(exprs[k]);
        sb_plan *p = compile(1, &n);
        check(exprs[k], 1, &n, &e, p);
        sb_be_plan_free(p);
    }
    env_free(&e);
}

Test(fuse, empty_max_is_an_error)
{
    env e;
    env_init(&e);
    sb_node *n = parse("max(e * 2, axis=0)");
    sb_plan *p = compile(1, &n);
    sb_diag_clear(&D);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_ERR_VALUE);
    cr_assert(strstr(D.msg, "zero-size array to reduction operation maximum"), "%s", D.msg);
    sb_be_plan_free(p);
    env_free(&e);
}

/* ---- groups compiled to C ------------------------------------------------------------------ */
static char cache[64];

static bool jit_setup(void)
{
    if (system("cc --version > /dev/null 2>&1") != 0) return false;
    snprintf(cache, sizeof cache, "/tmp/sb-test-fuse-XXXXXX");
    cr_assert_not_null(mkdtemp(cache));
    setenv("SB_CACHE_DIR", cache, 1);
    return true;
}

static void jit_teardown(void)
{
    sb_be_fz_jit_set(-1);
    unsetenv("SB_CACHE_DIR");
    unsetenv("SB_JIT_MIN");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    cr_assert_eq(system(cmd), 0);
}

/* Bits equal, or both NaN. */
static void same_bits(const char *what, const sb_array *x, const sb_array *y)
{
    cr_assert_eq(sb_array_numel(x), sb_array_numel(y));
    const float *a = x->data, *b = y->data;
    for (int64_t i = 0; i < sb_array_numel(x); i++)
        cr_assert(memcmp(&a[i], &b[i], 4) == 0 || (isnan(a[i]) && isnan(b[i])),
                  "%s: element %lld: %.9g vs %.9g", what, (long long)i, a[i], b[i]);
}

/* Every op the generator covers: the compiled kernel gives the interpreter's bits, with each of
 * the interpreter's clones (inputs include 0, -0, infinities, NaN and large values). */
Test(fuse, compiled_groups_give_the_interpreters_bits)
{
    if (!jit_setup()) cr_skip_test("no C compiler");
    static const char *const exprs[] = { /* one group each (one compiler run) */
        "tanh(sigmoid(exp(-log1p(abs(sqrt(sqr(a))))))) + expm1(sin(cos(erf(reciprocal(a)))))",
        "softplus(relu(sign(floor(ceil(round(log2(abs(a) + 1))))))) + log(a)",
        "maximum(a, 0.2) / minimum(a, -0.3) + clip(a * 10, -3, 4) - a ** 1.7",
    };
    env e;
    env_init(&e);
    float *v = e.val[0]->data;
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e30f, -1e30f, 88.9f, -104.5f};
    for (int i = 0; i < 9; i++) v[i * 7] = special[i];
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        sb_node *n = parse(exprs[k]);
        sb_array *r[4]; /* compiled; interpreted with the AVX-512, AVX2 and baseline clones */
        for (int m = 0; m < 4; m++) {
            sb_be_fz_jit_set(m == 0 ? SB_FZ_JIT_EAGER : SB_FZ_JIT_OFF);
            sb_be_fz_isa_set(m == 0 ? -1 : SB_FZ_ISA_V4 + 1 - m);
            sb_plan *p = compile(1, &n);
            sb_plan_stats st;
            sb_be_plan_stats(p, &st);
            cr_assert_eq(st.njit, m == 0 ? st.nfused : 0, "%s: %d of %d groups compiled",
                         exprs[k], st.njit, st.nfused);
            cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, &r[m], &D), SB_OK, "%s", D.msg);
            sb_be_plan_free(p);
        }
        sb_be_fz_isa_set(-1);
        for (int m = 1; m < 4; m++) same_bits(exprs[k], r[0], r[m]);
        for (int m = 0; m < 4; m++) sb_array_free(r[m]);
    }
    /* fused reductions whose blocks come from the compiled block function: the same bits (the
     * last one has a broadcast leaf: its blocks stay interpreted) */
    static const char *const reds[] = {
        "sum(tanh(a * 2) + exp(-a), axis=1)", "max(sigmoid(a) * 3 - a)",
        "logsumexp(a * 3 - 1, axis=1)", "sum(sqr(a - 0.5), axis=0)", "mean(sqr(a - c), axis=0)",
        "softmax(a * 3 - 1)", "log_softmax(a * 3 + b)",
    };
    for (size_t k = 0; k < sizeof reds / sizeof reds[0]; k++) {
        sb_node *n = parse(reds[k]);
        sb_array *r[2];
        for (int m = 0; m < 2; m++) {
            sb_be_fz_jit_set(m == 0 ? SB_FZ_JIT_EAGER : SB_FZ_JIT_OFF);
            sb_plan *p = compile(1, &n);
            sb_plan_stats st;
            sb_be_plan_stats(p, &st);
            cr_assert_eq(st.nreduce + st.nsoftmax, 1);
            cr_assert_eq(st.njit, m == 0, "%s: %d compiled", reds[k], st.njit);
            cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, &r[m], &D), SB_OK, "%s", D.msg);
            sb_be_plan_free(p);
        }
        same_bits(reds[k], r[0], r[1]);
        sb_array_free(r[0]);
        sb_array_free(r[1]);
    }
    env_free(&e);
    jit_teardown();
}

/* Auto policy: below the threshold nothing is compiled; past it the group is compiled in the
 * background and used once ready, with the same bits; a kernel already cached is loaded after
 * 2^20 elements; a group whose leaves the compiled kernel cannot take (a broadcast bias) is not
 * compiled. SB_JIT=0 never compiles. */
Test(fuse, auto_policy_compiles_hot_groups)
{
    if (!jit_setup()) cr_skip_test("no C compiler");
    env e;
    env_init(&e);
    setenv("SB_JIT_MIN", "4000", 1); /* a has 1961 elements: crossed on the third run */
    sb_node *n = parse("tanh(a * 1.5 - 1) * exp(-a) + 0.25 * a + sqrt(abs(a))");
    sb_plan_stats st;
    sb_be_fz_jit_set(SB_FZ_JIT_OFF);
    sb_plan *p = compile(1, &n);
    for (int r = 0; r < 5; r++) cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.njit, 0, "SB_JIT=0: never compiled");
    sb_be_plan_free(p);
    sb_be_fz_jit_set(SB_FZ_JIT_AUTO);
    p = compile(1, &n);
    sb_array *first, *now = NULL;
    cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, &first, &D), SB_OK);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.njit, 0, "below the threshold");
    int runs = 0;
    for (; runs < 3000 && st.njit == 0; runs++) { /* up to a minute for the compiler */
        sb_array_free(now);
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, &now, &D), SB_OK);
        sb_be_plan_stats(p, &st);
        if (!st.njit) usleep(20000);
    }
    cr_assert_eq(st.njit, 1, "compiled after %d runs", runs);
    sb_array_free(now);
    cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, &now, &D), SB_OK); /* the compiled kernel */
    same_bits("auto", first, now);
    sb_array_free(first);
    sb_array_free(now);
    sb_be_plan_free(p);
    /* the kernel is cached now: a new plan loads it after 2^20 elements, whatever SB_JIT_MIN */
    setenv("SB_JIT_MIN", "1000000000000", 1);
    p = compile(1, &n);
    for (runs = 0; runs < 530; runs++) /* 530 * 1961 < 2^20 */
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK);
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.njit, 0);
    for (runs = 0; runs < 3000 && st.njit == 0; runs++) {
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK);
        sb_be_plan_stats(p, &st);
        if (!st.njit && runs > 10) usleep(20000);
    }
    cr_assert_eq(st.njit, 1, "the cached kernel is loaded");
    sb_be_plan_free(p);
    /* a broadcast leaf: the compiled kernel could not run, so the group is never compiled */
    n = parse("tanh(a * b) + 1");
    p = compile(1, &n);
    for (int r = 0; r < 50; r++) {
        cr_assert_eq(sb_be_plan_run(p, NVARS, e.bind, NULL, &D), SB_OK);
        usleep(20000);
    }
    sb_be_plan_stats(p, &st);
    cr_assert_eq(st.njit, 0, "a group with a broadcast leaf is not compiled");
    sb_be_plan_free(p);
    env_free(&e);
    jit_teardown();
}
