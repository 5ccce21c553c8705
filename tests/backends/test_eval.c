/* test_eval.c: the reference evaluator (sb_eval) and the CPU backend interface: bindings and
 * their errors, lazy ifelse, run-time errors, f64 mode, symbolic nodes, and a 2-layer MLP
 * forward pass against a naive reference. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/backend.h"
#include "symbench.h"

#include "be_test.h"

TestSuite(eval, .init = be_setup, .fini = be_teardown);

static sb_type ty(const char *s)
{
    sb_type t;
    cr_assert_eq(sb_type_parse(s, &t, NULL), SB_OK);
    return t;
}

static sb_node *input(const char *name, const char *type)
{
    sb_type t = ty(type);
    return sb_input(C, name, &t);
}

static sb_array *filled(sb_dtype dt, int nd, const int64_t *sh, double start, double step)
{
    sb_array *a = sb_array_new(dt, nd, sh);
    for (int64_t i = 0; i < sb_array_numel(a); i++) sb_array_set_f64(a, i, start + step * (double)i);
    return a;
}

/* Evaluate one node expecting failure with status st and a message containing msg. */
static void expect_error(sb_node *n, int nb, const sb_binding *b, sb_status st, const char *msg)
{
    sb_array *r = (sb_array *)1;
    sb_diag_clear(&D);
    sb_status got = sb_eval(C, 1, &n, nb, b, false, &r, &D);
    cr_assert_eq(got, st, "status %d (%s), expected %d", got, D.msg, st);
    cr_assert_eq(D.status, st);
    cr_assert(strstr(D.msg, msg), "message '%s' does not contain '%s'", D.msg, msg);
    cr_assert_null(r, "no result on error");
}

Test(eval, missing_binding)
{
    sb_node *x = input("x", "float32[?, 784]");
    sb_node *n = sb_apply1(C, SB_OP_EXP, x, &D);
    expect_error(n, 0, NULL, SB_ERR_VALUE, "input 'x' has no value");
}

Test(eval, binding_shape_and_dtype_mismatch)
{
    sb_node *x = input("x", "float32[?, 784]");
    sb_node *n = sb_apply1(C, SB_OP_EXP, x, &D);
    sb_array *bad = sb_array_new(SB_DTYPE_F32, 2, (int64_t[]){3, 5});
    sb_binding b = {"x", bad};
    expect_error(n, 1, &b, SB_ERR_TYPE, "input 'x': expected float32[?, 784], got float32[3, 5]");
    sb_array_free(bad);
    bad = sb_array_new(SB_DTYPE_F64, 2, (int64_t[]){3, 784});
    b.value = bad;
    expect_error(n, 1, &b, SB_ERR_TYPE, "input 'x': expected float32[?, 784], got float64[3, 784]");
    sb_array_free(bad);
    bad = sb_array_new(SB_DTYPE_F32, 1, (int64_t[]){784});
    b.value = bad;
    expect_error(n, 1, &b, SB_ERR_TYPE, "got float32[784]");
    sb_array_free(bad);
}

Test(eval, runtime_broadcast_error)
{
    sb_node *x = input("x", "float32[?, 3]"), *y = input("y", "float32[?, 3]");
    sb_node *n = sb_apply2(C, SB_OP_ADD, x, y, &D);
    cr_assert(n);
    sb_array *a = sb_array_new(SB_DTYPE_F32, 2, (int64_t[]){2, 3});
    sb_array *b = sb_array_new(SB_DTYPE_F32, 2, (int64_t[]){4, 3});
    sb_binding bs[] = {{"x", a}, {"y", b}};
    expect_error(n, 2, bs, SB_ERR_TYPE, "cannot be broadcast");
    sb_array_free(a);
    sb_array_free(b);
}

/* x[idx] with an index array holding 7 for a dim of size 5. */
static sb_node *bad_gather(sb_node *x, sb_node *idx)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nidx = 1;
    a.idx[0].kind = SB_INDEX_ARRAY;
    a.idx[0].a[0] = (sb_iarg){SB_IARG_INPUT, 1};
    sb_node *in[2] = {x, idx};
    sb_node *n = sb_apply(C, SB_OP_ADV_SUBTENSOR, 2, in, &a, &D);
    cr_assert(n, "%s", D.msg);
    return n;
}

Test(eval, index_out_of_bounds)
{
    sb_node *x = input("x", "float64[5]"), *i = input("i", "int64[1]");
    sb_array *xv = filled(SB_DTYPE_F64, 1, (int64_t[]){5}, 0, 1);
    sb_array *iv = filled(SB_DTYPE_I64, 1, (int64_t[]){1}, 7, 0);
    sb_binding b[] = {{"x", xv}, {"i", iv}};
    expect_error(bad_gather(x, i), 2, b, SB_ERR_VALUE, "index 7 is out of bounds for axis 0 with size 5");
    /* a scalar index given at run time */
    sb_node *s = input("s", "int64");
    sb_attrs a;
    sb_attrs_init(&a);
    a.nidx = 1;
    a.idx[0].kind = SB_INDEX_SCALAR;
    a.idx[0].a[0] = (sb_iarg){SB_IARG_INPUT, 1};
    sb_node *in[2] = {x, s};
    sb_node *n = sb_apply(C, SB_OP_SUBTENSOR, 2, in, &a, &D);
    sb_array *sv = filled(SB_DTYPE_I64, 0, NULL, -6, 0);
    sb_binding b2[] = {{"x", xv}, {"s", sv}};
    expect_error(n, 2, b2, SB_ERR_VALUE, "index -6 is out of bounds for axis 0 with size 5");
    sb_array_free(xv);
    sb_array_free(iv);
    sb_array_free(sv);
}

/* ifelse is lazy: the branch not taken holds an out-of-range index and must not run; where is
 * strict and fails. */
Test(eval, lazy_ifelse)
{
    sb_node *c = input("c", "bool"), *x = input("x", "float64[5]"), *i = input("i", "int64[1]");
    sb_node *bad = bad_gather(x, i);
    sb_node *good;
    sb_attrs a;
    sb_attrs_init(&a);
    a.nidx = 1;
    a.idx[0].kind = SB_INDEX_SLICE;
    a.idx[0].a[1] = (sb_iarg){SB_IARG_CONST, 1};
    good = sb_apply(C, SB_OP_SUBTENSOR, 1, &x, &a, &D); /* x[:1], shape [1] like bad */
    cr_assert(good, "%s", D.msg);
    sb_node *in[3] = {c, good, bad};
    sb_node *n = sb_apply(C, SB_OP_IFELSE, 3, in, NULL, &D);
    cr_assert(n, "%s", D.msg);
    sb_array *cv = filled(SB_DTYPE_BOOL, 0, NULL, 1, 0);
    sb_array *xv = filled(SB_DTYPE_F64, 1, (int64_t[]){5}, 10, 1);
    sb_array *iv = filled(SB_DTYPE_I64, 1, (int64_t[]){1}, 7, 0);
    sb_binding b[] = {{"c", cv}, {"x", xv}, {"i", iv}};
    sb_array *r = NULL;
    cr_assert_eq(sb_eval(C, 1, &n, 3, b, false, &r, &D), SB_OK, "%s", D.msg);
    cr_assert_eq(r->ndim, 1);
    cr_assert_eq(r->shape[0], 1);
    cr_assert_float_eq(((double *)r->data)[0], 10.0, 0);
    sb_array_free(r);
    /* the other branch runs when the condition is false */
    ((uint8_t *)cv->data)[0] = 0;
    expect_error(n, 3, b, SB_ERR_VALUE, "index 7 is out of bounds");
    /* where evaluates both */
    ((uint8_t *)cv->data)[0] = 1;
    sb_node *w[3] = {c, good, bad};
    expect_error(sb_apply(C, SB_OP_WHERE, 3, w, NULL, &D), 3, b, SB_ERR_VALUE, "out of bounds");
    sb_array_free(cv);
    sb_array_free(xv);
    sb_array_free(iv);
}

Test(eval, symbolic_and_pattern_nodes_are_errors)
{
    sb_node *w = input("w", "float64[3]");
    sb_node *cost = sb_apply1(C, SB_OP_SUM, sb_apply1(C, SB_OP_SQR, w, &D), &D);
    sb_node *g = sb_apply2(C, SB_OP_GRAD, cost, w, &D);
    cr_assert(g, "%s", D.msg);
    sb_array *wv = filled(SB_DTYPE_F64, 1, (int64_t[]){3}, 1, 1);
    sb_binding b = {"w", wv};
    expect_error(g, 1, &b, SB_ERR_UNSUPPORTED, "grad must be expanded before evaluation");
    expect_error(sb_pvar(C, "x"), 0, NULL, SB_ERR_UNSUPPORTED, "pattern variable");
    sb_array_free(wv);
}

/* f64 mode: float32 leaves are widened and every float op runs in float64. */
Test(eval, f64_mode)
{
    sb_node *x = input("x", "float32[4]");
    sb_node *n = sb_apply2(C, SB_OP_DIV, x, sb_const_scalar(C, 3, SB_DTYPE_I64, true), &D);
    n = sb_apply1(C, SB_OP_SUM, n, &D);
    sb_array *xv = filled(SB_DTYPE_F32, 1, (int64_t[]){4}, 1, 1);
    sb_binding b = {"x", xv};
    sb_array *r32 = NULL, *r64 = NULL;
    cr_assert_eq(sb_eval(C, 1, &n, 1, &b, false, &r32, &D), SB_OK, "%s", D.msg);
    cr_assert_eq(sb_eval(C, 1, &n, 1, &b, true, &r64, &D), SB_OK, "%s", D.msg);
    cr_assert_eq(r32->dtype, SB_DTYPE_F32);
    cr_assert_eq(r64->dtype, SB_DTYPE_F64);
    double exact = (1 + 2 + 3 + 4) / 3.0;
    cr_assert(fabs(((double *)r64->data)[0] - exact) < 1e-15);
    cr_assert(fabs(((float *)r32->data)[0] - exact) < 1e-5);
    sb_array_free(r32);
    sb_array_free(r64);
    sb_array_free(xv);
}

/* Several outputs at once, one of them twice, sharing a subexpression; inputs unchanged. */
Test(eval, several_outputs)
{
    sb_node *x = input("x", "float64[2, 3]");
    sb_node *e = sb_apply1(C, SB_OP_EXP, x, &D);
    sb_node *outs[4] = {e, sb_apply1(C, SB_OP_SUM, e, &D), e, x};
    sb_array *xv = filled(SB_DTYPE_F64, 2, (int64_t[]){2, 3}, 0, 0.5);
    sb_binding b = {"x", xv};
    sb_array *r[4];
    cr_assert_eq(sb_eval(C, 4, outs, 1, &b, false, r, &D), SB_OK, "%s", D.msg);
    double s = 0;
    for (int i = 0; i < 6; i++) {
        s += exp(0.5 * i);
        cr_assert_float_eq(((double *)r[0]->data)[i], exp(0.5 * i), 1e-12);
        cr_assert_float_eq(((double *)r[2]->data)[i], exp(0.5 * i), 1e-12);
        cr_assert_float_eq(((double *)r[3]->data)[i], 0.5 * i, 0);
    }
    cr_assert_neq(r[0]->data, r[2]->data, "each result is its own array");
    cr_assert_neq(r[3]->data, xv->data, "an input returned is a copy");
    cr_assert_float_eq(((double *)r[1]->data)[0], s, 1e-12);
    for (int i = 0; i < 4; i++) sb_array_free(r[i]);
    sb_array_free(xv);
}

/* ---- a 2-layer MLP forward pass ---------------------------------------------------------- */
static uint64_t seed = 7;
static double urand(void)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(seed >> 11) / 9007199254740992.0 - 0.5;
}

static sb_array *randn(sb_dtype dt, int nd, const int64_t *sh)
{
    sb_array *a = sb_array_new(dt, nd, sh);
    for (int64_t i = 0; i < sb_array_numel(a); i++) sb_array_set_f64(a, i, urand());
    return a;
}

static double at(const sb_array *a, int64_t i)
{
    return sb_array_get_f64(a, i);
}

static void mlp(sb_dtype dt, bool f64)
{
    enum { N = 8, I = 5, H = 16, O = 3 };
    const char *tn = dt == SB_DTYPE_F32 ? "float32" : "float64";
    char buf[64];
    snprintf(buf, sizeof buf, "%s[?, %d]", tn, I);
    sb_node *x = input("x", buf), *y = input("y", "int64[?]");
    sb_type tw1 = sb_type_make(dt, 2, (int64_t[]){I, H}), tb1 = sb_type_make(dt, 1, (int64_t[]){H});
    sb_type tw2 = sb_type_make(dt, 2, (int64_t[]){H, O}), tb2 = sb_type_make(dt, 1, (int64_t[]){O});
    sb_node *W1 = sb_shared(C, "W1", &tw1), *b1 = sb_shared(C, "b1", &tb1);
    sb_node *W2 = sb_shared(C, "W2", &tw2), *b2 = sb_shared(C, "b2", &tb2);
    sb_node *h = sb_apply1(C, SB_OP_TANH,
                           sb_apply2(C, SB_OP_ADD, sb_apply2(C, SB_OP_MATMUL, x, W1, &D), b1, &D), &D);
    sb_node *logits = sb_apply2(C, SB_OP_ADD, sb_apply2(C, SB_OP_MATMUL, h, W2, &D), b2, &D);
    sb_node *p = sb_apply1(C, SB_OP_SOFTMAX, logits, &D);
    sb_node *cost = sb_apply1(C, SB_OP_MEAN, sb_apply2(C, SB_OP_CROSSENTROPY, p, y, &D), &D);
    cr_assert(cost, "%s", D.msg);
    sb_array *xv = randn(dt, 2, (int64_t[]){N, I}), *yv = sb_array_new(SB_DTYPE_I64, 1, (int64_t[]){N});
    for (int i = 0; i < N; i++) ((int64_t *)yv->data)[i] = i % O;
    sb_array *w1 = randn(dt, 2, (int64_t[]){I, H}), *vb1 = randn(dt, 1, (int64_t[]){H});
    sb_array *w2 = randn(dt, 2, (int64_t[]){H, O}), *vb2 = randn(dt, 1, (int64_t[]){O});
    sb_binding b[] = {{"x", xv}, {"y", yv}, {"W1", w1}, {"b1", vb1}, {"W2", w2}, {"b2", vb2}};
    sb_node *outs[2] = {p, cost};
    sb_array *r[2];
    cr_assert_eq(sb_eval(C, 2, outs, 6, b, f64, r, &D), SB_OK, "%s", D.msg);
    /* naive reference */
    double ref_cost = 0, tol = dt == SB_DTYPE_F32 && !f64 ? 1e-5 : 1e-12;
    cr_assert_eq(r[0]->dtype, f64 ? SB_DTYPE_F64 : dt);
    cr_assert_eq(r[0]->shape[0], N);
    cr_assert_eq(r[0]->shape[1], O);
    for (int n = 0; n < N; n++) {
        double hv[H], lg[O], m = -INFINITY, s = 0;
        for (int j = 0; j < H; j++) {
            double acc = at(vb1, j);
            for (int k = 0; k < I; k++) acc += at(xv, n * I + k) * at(w1, k * H + j);
            hv[j] = tanh(acc);
        }
        for (int o = 0; o < O; o++) {
            lg[o] = at(vb2, o);
            for (int j = 0; j < H; j++) lg[o] += hv[j] * at(w2, j * O + o);
            m = fmax(m, lg[o]);
        }
        for (int o = 0; o < O; o++) s += exp(lg[o] - m);
        for (int o = 0; o < O; o++)
            cr_assert(fabs(at(r[0], n * O + o) - exp(lg[o] - m) / s) < tol, "p[%d, %d]", n, o);
        ref_cost -= (lg[n % O] - m - log(s)) / N;
    }
    cr_assert(fabs(at(r[1], 0) - ref_cost) < tol * 10, "cost %g vs %g", at(r[1], 0), ref_cost);
    sb_array *arrs[] = {xv, yv, w1, vb1, w2, vb2, r[0], r[1]};
    for (int i = 0; i < 8; i++) sb_array_free(arrs[i]);
}

Test(eval, mlp_forward_f32) { mlp(SB_DTYPE_F32, false); }
Test(eval, mlp_forward_f64) { mlp(SB_DTYPE_F64, false); }
Test(eval, mlp_forward_f32_in_f64_mode) { mlp(SB_DTYPE_F32, true); }

/* ---- the backend interface --------------------------------------------------------------- */
Test(eval, backend_registry_and_program)
{
    cr_assert_null(sb_backend_get("nope"));
    const struct sb_backend_i *be = sb_backend_get("cpu");
    cr_assert(be);
    cr_assert_str_eq(be->name, "cpu");
    sb_be_buffer *buf = be->buffer_alloc(16, &D);
    double in[2] = {1.5, -2}, out[2] = {0};
    cr_assert_eq(be->buffer_set(buf, 0, in, sizeof in, &D), SB_OK);
    cr_assert_eq(be->buffer_get(buf, 0, out, sizeof out, &D), SB_OK);
    cr_assert(out[0] == 1.5 && out[1] == -2);
    cr_assert_eq(be->buffer_get(buf, 8, out, 16, &D), SB_ERR_VALUE, "past the end");
    be->buffer_free(buf);
    sb_node *x = input("x", "float32[3]");
    sb_node *n = sb_apply1(C, SB_OP_NEG, x, &D);
    sb_be_program *p = be->compile(C, 1, &n, SB_BE_F64, &D);
    cr_assert(p);
    sb_array *xv = filled(SB_DTYPE_F32, 1, (int64_t[]){3}, 1, 1), *r = NULL;
    sb_binding b = {"x", xv};
    for (int rep = 0; rep < 2; rep++) {
        cr_assert_eq(be->run(p, 1, &b, &r, &D), SB_OK, "%s", D.msg);
        cr_assert_eq(r->dtype, SB_DTYPE_F64);
        cr_assert_float_eq(((double *)r->data)[2], -3.0, 0);
        sb_array_free(r);
    }
    be->program_free(p);
    sb_array_free(xv);
}

/* Run-time value errors: each expression parses and type-checks statically, then fails on the
 * values bound (status and message checked). */
Test(eval, runtime_value_errors)
{
    static const struct {
        const char *expr;
        sb_status st;
        const char *msg;
    } cases[] = {
        {"one_hot(y, 3)", SB_ERR_VALUE, "label 5 is out of bounds for depth 3"},
        {"categorical_crossentropy(p, y)", SB_ERR_VALUE, "label 5 is out of bounds for 3 classes"},
        {"x[y]", SB_ERR_VALUE, "index 5 is out of bounds for axis 0 with size 4"},
        {"x[-5]", SB_ERR_VALUE, "index -5 is out of bounds for axis 0 with size 4"},
        {"squeeze(x, axis=0)", SB_ERR_TYPE, "squeeze"},
        {"reshape(x, (3, 2))", SB_ERR_TYPE, "cannot reshape"},
        {"arange(0, 4, s)", SB_ERR_TYPE, "step must not be zero"},
        {"max(x[4:], axis=0)", SB_ERR_TYPE, "no identity"},
        {"x + x[1:]", SB_ERR_TYPE, "cannot be broadcast"},
    };
    input("x", "float64[?]");
    input("y", "int64[?]");
    input("p", "float64[?, 3]");
    input("s", "int64");
    sb_array *x = filled(SB_DTYPE_F64, 1, (int64_t[]){4}, 0, 1);
    sb_array *y = filled(SB_DTYPE_I64, 1, (int64_t[]){1}, 5, 0);
    sb_array *p = filled(SB_DTYPE_F64, 2, (int64_t[]){1, 3}, 0.2, 0.1);
    sb_array *s = filled(SB_DTYPE_I64, 0, NULL, 0, 0);
    sb_binding b[] = {{"x", x}, {"y", y}, {"p", p}, {"s", s}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sb_diag_clear(&D);
        sb_node *n = sb_parse_expr(C, cases[i].expr, NULL, NULL, &D);
        cr_assert(n, "%s: %s", cases[i].expr, D.msg);
        cr_log_info("%s", cases[i].expr);
        expect_error(n, 4, b, cases[i].st, cases[i].msg);
    }
    sb_array_free(x);
    sb_array_free(y);
    sb_array_free(p);
    sb_array_free(s);
}
