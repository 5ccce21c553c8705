/* test_infer.c: the type/shape rule of every op (core/infer.c), built with sb_apply on sb_input
 * nodes: valid cases (static and unknown dims, broadcasting, weak literals, negative axes,
 * keepdims, size-1 and empty dims) and every error message. */
#include <criterion/criterion.h>

#include "symbench.h"

#include <stdarg.h>
#include <string.h>

static sb_ctx *ctx;
static sb_diag d;
static int nvars;

static void setup(void)
{
    ctx = sb_ctx_init();
    sb_diag_clear(&d);
    nvars = 0;
}

static void teardown(void)
{
    sb_ctx_free(ctx);
}

TestSuite(infer, .init = setup, .fini = teardown);

/* A fresh input of the given type ("float32[?, 3]"). */
static sb_node *var(const char *type)
{
    sb_type t;
    sb_diag pd = {0};
    cr_assert_eq(sb_type_parse(type, &t, &pd), SB_OK, "bad test type %s", type);
    char name[32];
    snprintf(name, sizeof name, "v%d", nvars++);
    return sb_input(ctx, name, &t);
}

/* Weak number literals (what the parser makes of 2 and 2.5) and a strong scalar constant. */
static sb_node *lit_int(double v) { return sb_const_scalar(ctx, v, SB_DTYPE_I64, true); }
static sb_node *lit_float(double v) { return sb_const_scalar(ctx, v, SB_DTYPE_F64, true); }

static sb_attrs attrs(void)
{
    sb_attrs a;
    sb_attrs_init(&a);
    return a;
}

/* attrs with axis[] = the n values (and keepdims). */
static sb_attrs axes(bool keep, int n, ...)
{
    sb_attrs a = attrs();
    va_list ap;
    va_start(ap, n);
    a.naxis = (int8_t)n;
    for (int i = 0; i < n; i++) a.axis[i] = va_arg(ap, int);
    va_end(ap);
    a.keepdims = keep;
    return a;
}

/* attrs with shape[] = the n values. */
static sb_attrs shape(int n, ...)
{
    sb_attrs a = attrs();
    va_list ap;
    va_start(ap, n);
    a.nshape = (int8_t)n;
    for (int i = 0; i < n; i++) a.shape[i] = va_arg(ap, int);
    va_end(ap);
    return a;
}

static sb_node *ap(sb_op op, const sb_attrs *a, int nin, ...)
{
    sb_node *in[8];
    va_list v;
    va_start(v, nin);
    for (int i = 0; i < nin; i++) in[i] = va_arg(v, sb_node *);
    va_end(v);
    return sb_apply(ctx, op, nin, in, a, &d);
}

static const char *tstr(const sb_node *n)
{
    static char buf[128];
    return sb_type_str(sb_node_type(n), buf, sizeof buf);
}

/* The node exists (no error) and has the type written `want`. */
#define EXPECT(node, want)                                                                       \
    do {                                                                                         \
        sb_node *n_ = (node);                                                                    \
        cr_assert(n_ != NULL, "unexpected error: %s", d.msg);                                    \
        cr_assert_str_eq(tstr(n_), want);                                                        \
    } while (0)

/* The node failed with status st and exactly this message. */
#define EXPECT_ERR(node, st, want)                                                               \
    do {                                                                                         \
        sb_diag_clear(&d);                                                                       \
        sb_node *n_ = (node);                                                                    \
        cr_assert(n_ == NULL, "expected an error, got %s", n_ ? tstr(n_) : "");                  \
        cr_assert_eq(d.status, st, "status %d: %s", d.status, d.msg);                            \
        cr_assert_str_eq(d.msg, want);                                                           \
    } while (0)

#define T SB_ERR_TYPE

/* ---- table and dispatch ------------------------------------------------------------------ */

Test(infer, every_op_has_a_rule)
{
    /* Every op gets a real rule: none answers "not written yet" on plain inputs. */
    sb_type f = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){3});
    sb_type s = sb_type_scalar(SB_DTYPE_F32);
    const sb_type *in[3] = {&f, &f, &f};
    const sb_type *sc[3] = {&s, &s, &s};
    for (int op = 0; op < SB_OP_COUNT; op++) {
        const sb_op_info *info = sb_op_get((sb_op)op);
        int nin = info->arity < 0 ? 1 : info->arity;
        sb_type out;
        sb_diag e = {0};
        sb_status st1 = sb_infer_type((sb_op)op, nin, in, NULL, NULL, &out, &e);
        sb_diag_clear(&e);
        sb_status st2 = sb_infer_type((sb_op)op, nin, sc, NULL, NULL, &out, &e);
        cr_expect(st1 != SB_ERR_UNSUPPORTED && st2 != SB_ERR_UNSUPPORTED, "%s: %s", info->name,
                  e.msg);
        cr_expect(st1 == SB_OK || st1 == SB_ERR_TYPE, "%s: status %d", info->name, st1);
    }
}

Test(infer, leaf_and_arity)
{
    sb_type out, f = sb_type_scalar(SB_DTYPE_F32);
    const sb_type *in[1] = {&f};
    cr_assert_eq(sb_infer_type(SB_OP_INPUT, 0, NULL, NULL, NULL, &out, &d), SB_ERR_TYPE);
    cr_assert_str_eq(d.msg, "'input' is not an operation");
    sb_diag_clear(&d);
    cr_assert_eq(sb_infer_type(SB_OP_ADD, 1, in, NULL, NULL, &out, &d), SB_ERR_TYPE);
    cr_assert_str_eq(d.msg, "add takes 2 arguments, got 1");
    /* untyped (pattern) inputs give an untyped result */
    sb_type u = sb_type_scalar(SB_DTYPE_COUNT);
    const sb_type *pin[2] = {&u, &f};
    cr_assert_eq(sb_infer_type(SB_OP_ADD, 2, pin, NULL, NULL, &out, &d), SB_OK);
    cr_assert_eq(out.dtype, SB_DTYPE_COUNT);
}

/* ---- elementwise ------------------------------------------------------------------------- */

Test(infer, unary)
{
    EXPECT(sb_apply1(ctx, SB_OP_NEG, var("float32[3, 4]"), &d), "float32[3, 4]");
    EXPECT(sb_apply1(ctx, SB_OP_FLOOR, var("int32[?]"), &d), "int32[?]");
    EXPECT(sb_apply1(ctx, SB_OP_ABS, var("int64[0, 2]"), &d), "int64[0, 2]");
    EXPECT(sb_apply1(ctx, SB_OP_RELU, var("float64"), &d), "float64[]");
    EXPECT(sb_apply1(ctx, SB_OP_DISCONNECTED_GRAD, var("float32[2]"), &d), "float32[2]");
    sb_node *n = sb_apply1(ctx, SB_OP_NEG, lit_int(2), &d);
    EXPECT(n, "int64[]");
    cr_assert(sb_node_type(n)->weak, "neg of a literal stays weak");
}

Test(infer, unary_float)
{
    EXPECT(sb_apply1(ctx, SB_OP_EXP, var("float32[?, 784]"), &d), "float32[?, 784]");
    EXPECT(sb_apply1(ctx, SB_OP_LOG, var("int32[3]"), &d), "float64[3]");
    EXPECT(sb_apply1(ctx, SB_OP_SQRT, var("int64[3]"), &d), "float64[3]");
    EXPECT(sb_apply1(ctx, SB_OP_TANH, var("uint8[3]"), &d), "float32[3]");
    EXPECT(sb_apply1(ctx, SB_OP_SIGMOID, var("bool[1]"), &d), "float32[1]");
    sb_node *n = sb_apply1(ctx, SB_OP_EXP, lit_int(1), &d);
    EXPECT(n, "float64[]");
    cr_assert(sb_node_type(n)->weak);
}

Test(infer, logical)
{
    EXPECT(sb_apply2(ctx, SB_OP_LOGICAL_AND, var("bool[3, 1]"), var("bool[4]"), &d),
           "bool[3, 4]");
    EXPECT(sb_apply1(ctx, SB_OP_LOGICAL_NOT, var("float32[2]"), &d), "bool[2]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_LOGICAL_OR, var("bool[2]"), var("bool[3]"), &d), T,
               "logical_or: shapes bool[2] and bool[3] cannot be broadcast");
}

Test(infer, cast)
{
    sb_attrs a = attrs();
    a.dtype = SB_DTYPE_I32;
    EXPECT(ap(SB_OP_CAST, &a, 1, var("float32[2, ?]")), "int32[2, ?]");
    sb_node *n = ap(SB_OP_CAST, &a, 1, lit_float(2.5));
    EXPECT(n, "int32[]");
    cr_assert(!sb_node_type(n)->weak, "an explicit cast is strong");
    EXPECT_ERR(sb_apply1(ctx, SB_OP_CAST, var("float32[2]"), &d), T,
               "cast: no target dtype given");
}

Test(infer, binary_broadcasting)
{
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("float32[3, 4]"), var("float32[4]"), &d),
           "float32[3, 4]");
    EXPECT(sb_apply2(ctx, SB_OP_MUL, var("float32[3, 1]"), var("float32[1, 5]"), &d),
           "float32[3, 5]");
    EXPECT(sb_apply2(ctx, SB_OP_SUB, var("float32[?, 4]"), var("float32[3, 1]"), &d),
           "float32[3, 4]");
    EXPECT(sb_apply2(ctx, SB_OP_SUB, var("float32[?]"), var("float32[1]"), &d), "float32[?]");
    EXPECT(sb_apply2(ctx, SB_OP_POW, var("float32[?]"), var("float32[?]"), &d), "float32[?]");
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("float32[0, 3]"), var("float32[1, 3]"), &d),
           "float32[0, 3]");
    EXPECT(sb_apply2(ctx, SB_OP_MAXIMUM, var("float32[2, 1, 3]"), var("float32"), &d),
           "float32[2, 1, 3]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_ADD, var("float32[3, 4]"), var("float32[5]"), &d), T,
               "add: shapes float32[3, 4] and float32[5] cannot be broadcast");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_MUL, var("float32[0]"), var("float32[2]"), &d), T,
               "mul: shapes float32[0] and float32[2] cannot be broadcast");
}

Test(infer, binary_promotion_and_weak_literals)
{
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("int32[2]"), var("float32[2]"), &d), "float64[2]");
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("uint8[2]"), var("int32[2]"), &d), "int32[2]");
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("uint8[2]"), var("float32[2]"), &d), "float32[2]");
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("bool[2]"), var("bool[2]"), &d), "bool[2]");
    EXPECT(sb_apply2(ctx, SB_OP_MUL, var("float32[2]"), lit_int(2), &d), "float32[2]");
    EXPECT(sb_apply2(ctx, SB_OP_MUL, lit_float(0.5), var("float32[2]"), &d), "float32[2]");
    EXPECT(sb_apply2(ctx, SB_OP_MUL, var("int32[2]"), lit_int(3), &d), "int32[2]");
    EXPECT(sb_apply2(ctx, SB_OP_MUL, var("uint8[2]"), lit_float(0.5), &d), "float64[2]");
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("bool[2]"), lit_int(1), &d), "int64[2]");
    EXPECT(sb_apply2(ctx, SB_OP_ADD, var("float32[2]"), sb_const_scalar(ctx, 1, SB_DTYPE_F64,
                                                                         false), &d),
           "float64[2]");
    sb_node *w = sb_apply2(ctx, SB_OP_ADD, lit_int(1), lit_float(2), &d);
    EXPECT(w, "float64[]");
    cr_assert(sb_node_type(w)->weak, "literal + literal is weak");
    /* a weak result still takes a tensor's dtype later */
    EXPECT(sb_apply2(ctx, SB_OP_MUL, var("float32[3]"), w, &d), "float32[3]");
    cr_assert(!sb_node_type(sb_apply2(ctx, SB_OP_MUL, var("float32[3]"), w, &d))->weak);
}

Test(infer, binary_float)
{
    EXPECT(sb_apply2(ctx, SB_OP_DIV, var("int32[3]"), var("int32[3]"), &d), "float64[3]");
    EXPECT(sb_apply2(ctx, SB_OP_DIV, var("uint8[3]"), var("uint8[1]"), &d), "float64[3]");
    EXPECT(sb_apply2(ctx, SB_OP_DIV, var("float32[3]"), lit_int(2), &d), "float32[3]");
    EXPECT(sb_apply2(ctx, SB_OP_DIV, lit_int(1), lit_int(2), &d), "float64[]");
    EXPECT(sb_apply2(ctx, SB_OP_FLOOR_DIVIDE, var("int32[3]"), lit_int(2), &d), "int32[3]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_DIV, var("float32[2]"), var("float32[3]"), &d), T,
               "div: shapes float32[2] and float32[3] cannot be broadcast");
}

Test(infer, compare)
{
    EXPECT(sb_apply2(ctx, SB_OP_LT, var("float32[3]"), lit_int(0), &d), "bool[3]");
    EXPECT(sb_apply2(ctx, SB_OP_EQ, var("int64[?, 1]"), var("int64[5]"), &d), "bool[?, 5]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_EQ, var("int64[4]"), var("int64[5]"), &d), T,
               "eq: shapes int64[4] and int64[5] cannot be broadcast");
}

Test(infer, where)
{
    EXPECT(ap(SB_OP_WHERE, NULL, 3, var("bool[3, 1]"), var("float32[4]"), lit_int(0)),
           "float32[3, 4]");
    EXPECT(ap(SB_OP_WHERE, NULL, 3, var("int32[2]"), var("int32[2]"), var("float32[2]")),
           "float64[2]");
    EXPECT(ap(SB_OP_WHERE, NULL, 3, var("bool[?]"), var("float32"), var("float32")),
           "float32[?]");
    EXPECT_ERR(ap(SB_OP_WHERE, NULL, 3, var("bool[2]"), var("float32[3]"), var("float32[4]")),
               T, "where: shapes bool[2], float32[3] and float32[4] cannot be broadcast");
}

Test(infer, clip)
{
    EXPECT(ap(SB_OP_CLIP, NULL, 3, var("int32[3]"), lit_float(0.5), lit_float(1.5)),
           "int32[3]");
    EXPECT(ap(SB_OP_CLIP, NULL, 3, var("float32[2, 3]"), var("float32[3]"), var("float32[1]")),
           "float32[2, 3]");
    EXPECT(ap(SB_OP_CLIP, NULL, 3, var("float32[2]"), var("float64"), lit_int(1)), "float64[2]");
    EXPECT_ERR(ap(SB_OP_CLIP, NULL, 3, var("float32[2]"), var("float32[3]"), lit_int(1)), T,
               "clip: shapes float32[2], float32[3] and int64[] cannot be broadcast");
}

/* ---- reductions -------------------------------------------------------------------------- */

Test(infer, reduce)
{
    sb_attrs all = attrs(), a1 = axes(false, 1, 1), an = axes(false, 1, -1);
    sb_attrs k1 = axes(true, 1, 1), k01 = axes(true, 2, 0, 1), a0 = axes(false, 1, 0);
    EXPECT(ap(SB_OP_SUM, &all, 1, var("float32[3, 4]")), "float32[]");
    EXPECT(ap(SB_OP_SUM, &a1, 1, var("float32[3, 4]")), "float32[3]");
    EXPECT(ap(SB_OP_SUM, &an, 1, var("float32[3, 4]")), "float32[3]");
    EXPECT(ap(SB_OP_SUM, &k1, 1, var("float32[3, 4]")), "float32[3, 1]");
    EXPECT(ap(SB_OP_PROD, &k01, 1, var("float32[?, 4]")), "float32[1, 1]");
    EXPECT(ap(SB_OP_SUM, &a0, 1, var("float32[?, ?]")), "float32[?]");
    EXPECT(ap(SB_OP_SUM, &a0, 1, var("float32[0, 3]")), "float32[3]");
    EXPECT(ap(SB_OP_SUM, &all, 1, var("bool[3]")), "int64[]");
    EXPECT(ap(SB_OP_SUM, &all, 1, var("uint8[3]")), "int64[]");
    EXPECT(ap(SB_OP_PROD, &all, 1, var("int32[3]")), "int64[]");
    EXPECT(ap(SB_OP_MAX, &a1, 1, var("int32[3, 4]")), "int32[3]");
    EXPECT(ap(SB_OP_MIN, &a1, 1, var("float32[0, 4]")), "float32[0]");
    EXPECT(ap(SB_OP_SUM, &all, 1, var("float64")), "float64[]");
    sb_attrs a2 = axes(false, 1, 2), rep = axes(false, 2, 1, -1);
    EXPECT_ERR(ap(SB_OP_SUM, &a2, 1, var("float32[3, 4]")), T,
               "sum: axis 2 is out of range for a 2-d input");
    EXPECT_ERR(ap(SB_OP_SUM, &rep, 1, var("float32[3, 4]")), T, "sum: axis 1 is repeated");
    EXPECT_ERR(ap(SB_OP_MAX, &a0, 1, var("float32[0, 4]")), T,
               "max: cannot reduce float32[0, 4] over its empty axis 0 (no identity)");
    EXPECT_ERR(ap(SB_OP_SUM, &a0, 1, var("float32")), T,
               "sum: axis 0 is out of range for a 0-d input");
}

Test(infer, reduce_float)
{
    sb_attrs all = attrs(), k0 = axes(true, 1, 0);
    EXPECT(ap(SB_OP_MEAN, &all, 1, var("int32[3]")), "float64[]");
    EXPECT(ap(SB_OP_MEAN, &all, 1, var("bool[3]")), "float64[]");
    EXPECT(ap(SB_OP_MEAN, &k0, 1, var("float32[?, 4]")), "float32[1, 4]");
    EXPECT(ap(SB_OP_LOGSUMEXP, &k0, 1, var("float32[5, 4]")), "float32[1, 4]");
    sb_attrs a3 = axes(false, 1, -3);
    EXPECT_ERR(ap(SB_OP_MEAN, &a3, 1, var("float32[3, 4]")), T,
               "mean: axis -3 is out of range for a 2-d input");
    EXPECT_ERR(ap(SB_OP_LOGSUMEXP, &k0, 1, var("float32[0, 4]")), T,
               "logsumexp: cannot reduce float32[0, 4] over its empty axis 0 (no identity)");
}

Test(infer, argreduce)
{
    sb_attrs all = attrs(), a1 = axes(false, 1, 1), kn = axes(true, 1, -1);
    sb_attrs kall = attrs(), two = axes(false, 2, 0, 1);
    kall.keepdims = 1;
    EXPECT(ap(SB_OP_ARGMAX, &all, 1, var("float32[3, 4]")), "int64[]");
    EXPECT(ap(SB_OP_ARGMAX, &a1, 1, var("float32[?, 10]")), "int64[?]");
    EXPECT(ap(SB_OP_ARGMIN, &kn, 1, var("int32[3, 4]")), "int64[3, 1]");
    EXPECT(ap(SB_OP_ARGMIN, &kall, 1, var("float32[3, 4]")), "int64[1, 1]");
    EXPECT_ERR(ap(SB_OP_ARGMAX, &two, 1, var("float32[3, 4]")), T, "argmax: takes one axis, got 2");
    EXPECT_ERR(ap(SB_OP_ARGMAX, &all, 1, var("float32[0]")), T,
               "argmax: cannot take the argmax over the empty axis 0 of float32[0]");
    EXPECT(ap(SB_OP_ARGMAX, &a1, 1, var("float32[0, 3]")), "int64[0]");
    EXPECT_ERR(ap(SB_OP_ARGMIN, &a1, 1, var("float32[3, 0]")), T,
               "argmin: cannot take the argmin over the empty axis 1 of float32[3, 0]");
    EXPECT_ERR(ap(SB_OP_ARGMAX, &a1, 1, var("float32[4]")), T,
               "argmax: axis 1 is out of range for a 1-d input");
}

Test(infer, reduce_bool)
{
    sb_attrs a0 = axes(false, 1, 0), all = attrs();
    EXPECT(ap(SB_OP_ALL, &a0, 1, var("float32[3, 4]")), "bool[4]");
    EXPECT(ap(SB_OP_ANY, &all, 1, var("bool[?]")), "bool[]");
    EXPECT(ap(SB_OP_ANY, &a0, 1, var("bool[0, 2]")), "bool[2]");
    sb_attrs a5 = axes(false, 1, 5);
    EXPECT_ERR(ap(SB_OP_ALL, &a5, 1, var("bool[3]")), T,
               "all: axis 5 is out of range for a 1-d input");
}

/* ---- neural-net ops ---------------------------------------------------------------------- */

Test(infer, softmax)
{
    sb_attrs def = attrs(), a0 = axes(false, 1, 0), a2 = axes(false, 1, 2);
    EXPECT(ap(SB_OP_SOFTMAX, &def, 1, var("float32[?, 10]")), "float32[?, 10]");
    EXPECT(ap(SB_OP_LOG_SOFTMAX, &a0, 1, var("int32[3, 2]")), "float64[3, 2]");
    EXPECT_ERR(ap(SB_OP_SOFTMAX, &a2, 1, var("float32[3, 2]")), T,
               "softmax: axis 2 is out of range for a 2-d input");
    EXPECT_ERR(ap(SB_OP_SOFTMAX, &def, 1, var("float32")), T,
               "softmax: axis -1 is out of range for a 0-d input");
}

Test(infer, crossentropy)
{
    sb_op ce = SB_OP_CROSSENTROPY;
    EXPECT(sb_apply2(ctx, ce, var("float32[?, 10]"), var("int64[?]"), &d), "float32[?]");
    EXPECT(sb_apply2(ctx, ce, var("float32[?, 10]"), var("int32[64]"), &d), "float32[64]");
    EXPECT(sb_apply2(ctx, ce, var("float32[5, 10]"), var("float32[5, 10]"), &d), "float32[5]");
    EXPECT(sb_apply2(ctx, ce, var("float64[10]"), var("int64"), &d), "float64[]");
    EXPECT_ERR(sb_apply2(ctx, ce, var("float32[5, 10]"), var("int64[5, 3]"), &d), T,
               "categorical_crossentropy: integer labels int64[5, 3] must have one dimension "
               "fewer than the predictions float32[5, 10]");
    EXPECT_ERR(sb_apply2(ctx, ce, var("float32[5, 10]"), var("float32[5, 3]"), &d), T,
               "categorical_crossentropy: targets float32[5, 3] must have the shape of the "
               "predictions float32[5, 10]");
    EXPECT_ERR(sb_apply2(ctx, ce, var("float32[5, 10]"), var("int64[4]"), &d), T,
               "categorical_crossentropy: targets int64[4] do not match the predictions "
               "float32[5, 10]");
    EXPECT_ERR(sb_apply2(ctx, ce, var("float32"), var("int64"), &d), T,
               "categorical_crossentropy: predictions must have at least 1 dimension, got "
               "float32[]");
}

/* ---- linear algebra ---------------------------------------------------------------------- */

Test(infer, matmul)
{
    sb_op mm = SB_OP_MATMUL;
    EXPECT(sb_apply2(ctx, mm, var("float32[?, 784]"), var("float32[784, 10]"), &d),
           "float32[?, 10]");
    EXPECT(sb_apply2(ctx, mm, var("float32[3]"), var("float32[3]"), &d), "float32[]");
    EXPECT(sb_apply2(ctx, mm, var("float32[3]"), var("float32[3, 4]"), &d), "float32[4]");
    EXPECT(sb_apply2(ctx, mm, var("float32[2, 3]"), var("float32[3]"), &d), "float32[2]");
    EXPECT(sb_apply2(ctx, mm, var("float32[5, 2, 3]"), var("float32[3, 4]"), &d),
           "float32[5, 2, 4]");
    EXPECT(sb_apply2(ctx, mm, var("float32[5, 1, 2, 3]"), var("float32[4, 3, 2]"), &d),
           "float32[5, 4, 2, 2]");
    EXPECT(sb_apply2(ctx, mm, var("float32[2, ?]"), var("float32[7, 1]"), &d), "float32[2, 1]");
    EXPECT(sb_apply2(ctx, mm, var("int32[2, 3]"), var("float32[3, 2]"), &d), "float64[2, 2]");
    EXPECT(sb_apply2(ctx, mm, var("float32[2, 0]"), var("float32[0, 3]"), &d), "float32[2, 3]");
    EXPECT_ERR(sb_apply2(ctx, mm, var("float32[?, 784]"), var("float32[10, 3]"), &d), T,
               "matmul: inner dimensions 784 and 10 differ (float32[?, 784] @ float32[10, 3])");
    EXPECT_ERR(sb_apply2(ctx, mm, var("float32[3]"), var("float32[4]"), &d), T,
               "matmul: inner dimensions 3 and 4 differ (float32[3] @ float32[4])");
    EXPECT_ERR(sb_apply2(ctx, mm, var("float32"), var("float32[4]"), &d), T,
               "matmul: operands must have at least 1 dimension, got float32[] and float32[4]");
    EXPECT_ERR(sb_apply2(ctx, mm, var("float32[2, 2, 3]"), var("float32[5, 3, 4]"), &d), T,
               "matmul: batch dimensions of float32[2, 2, 3] and float32[5, 3, 4] cannot be "
               "broadcast");
}

Test(infer, outer)
{
    EXPECT(sb_apply2(ctx, SB_OP_OUTER, var("float32[3]"), var("float32[2, 2]"), &d),
           "float32[3, 4]");
    EXPECT(sb_apply2(ctx, SB_OP_OUTER, var("float32[?]"), var("int32[2]"), &d), "float64[?, 2]");
}

/* ---- shape ops --------------------------------------------------------------------------- */

Test(infer, reshape)
{
    sb_attrs a = shape(2, 2, -1), b = shape(1, 12), c = shape(1, -1), e = shape(2, -1, 2);
    sb_attrs s0 = shape(0), z = shape(2, 0, 5);
    EXPECT(ap(SB_OP_RESHAPE, &a, 1, var("float32[3, 4]")), "float32[2, 6]");
    EXPECT(ap(SB_OP_RESHAPE, &b, 1, var("float32[3, 4]")), "float32[12]");
    EXPECT(ap(SB_OP_RESHAPE, &c, 1, var("float32[3, 4]")), "float32[12]");
    EXPECT(ap(SB_OP_RESHAPE, &e, 1, var("float32[?, 4]")), "float32[?, 2]");
    EXPECT(ap(SB_OP_RESHAPE, &s0, 1, var("float32[1, 1]")), "float32[]");
    EXPECT(ap(SB_OP_RESHAPE, &z, 1, var("float32[0, 3]")), "float32[0, 5]");
    sb_attrs bad = shape(2, 5, -1), two = shape(2, -1, -1), none = attrs(), ne = shape(1, 5);
    sb_attrs zh = shape(2, 0, -1);
    EXPECT_ERR(ap(SB_OP_RESHAPE, &bad, 1, var("float32[3, 4]")), T,
               "reshape: cannot reshape 12 elements (float32[3, 4]) into (5, -1)");
    EXPECT_ERR(ap(SB_OP_RESHAPE, &ne, 1, var("float32[3, 4]")), T,
               "reshape: cannot reshape 12 elements (float32[3, 4]) into (5,)");
    EXPECT_ERR(ap(SB_OP_RESHAPE, &zh, 1, var("float32[0, 4]")), T,
               "reshape: cannot reshape 0 elements (float32[0, 4]) into (0, -1)");
    EXPECT_ERR(ap(SB_OP_RESHAPE, &two, 1, var("float32[3, 4]")), T,
               "reshape: bad target shape (-1, -1) (sizes must be >= 0, at most one -1)");
    EXPECT_ERR(ap(SB_OP_RESHAPE, &none, 1, var("float32[3, 4]")), T, "reshape: no shape given");
    sb_attrs s12 = shape(1, 12), s10 = shape(2, 2, 5);
    EXPECT(ap(SB_OP_RESHAPE, &s12, 1, var("float32[?, 4]")), "float32[12]");
    EXPECT_ERR(ap(SB_OP_RESHAPE, &s10, 1, var("float32[?, 4]")), T,
               "reshape: cannot reshape float32[?, 4] into (2, 5)");
}

Test(infer, transpose)
{
    sb_attrs rev = attrs(), p = axes(false, 3, 1, 0, 2), n = axes(false, 3, -1, 0, 1);
    EXPECT(ap(SB_OP_TRANSPOSE, &rev, 1, var("float32[2, ?, 4]")), "float32[4, ?, 2]");
    EXPECT(ap(SB_OP_TRANSPOSE, &p, 1, var("float32[2, 3, 4]")), "float32[3, 2, 4]");
    EXPECT(ap(SB_OP_TRANSPOSE, &n, 1, var("float32[2, 3, 4]")), "float32[4, 2, 3]");
    EXPECT(ap(SB_OP_TRANSPOSE, &rev, 1, var("float32")), "float32[]");
    sb_attrs two = axes(false, 2, 0, 1), dup = axes(false, 2, 0, 0), oob = axes(false, 2, 0, 2);
    EXPECT_ERR(ap(SB_OP_TRANSPOSE, &two, 1, var("float32[2, 3, 4]")), T,
               "transpose: axes (0, 1) do not match the 3 dimensions of float32[2, 3, 4]");
    EXPECT_ERR(ap(SB_OP_TRANSPOSE, &dup, 1, var("float32[2, 3]")), T,
               "transpose: axes (0, 0) are not a permutation of the dimensions of float32[2, 3]");
    EXPECT_ERR(ap(SB_OP_TRANSPOSE, &oob, 1, var("float32[2, 3]")), T,
               "transpose: axes (0, 2) are not a permutation of the dimensions of float32[2, 3]");
}

Test(infer, expand_dims)
{
    sb_attrs a0 = axes(false, 1, 0), an = axes(false, 1, -1), a02 = axes(false, 2, 0, 2);
    EXPECT(ap(SB_OP_EXPAND_DIMS, &a0, 1, var("float32[3]")), "float32[1, 3]");
    EXPECT(ap(SB_OP_EXPAND_DIMS, &an, 1, var("float32[3]")), "float32[3, 1]");
    EXPECT(ap(SB_OP_EXPAND_DIMS, &a02, 1, var("float32[3, ?]")), "float32[1, 3, 1, ?]");
    EXPECT(ap(SB_OP_EXPAND_DIMS, &a0, 1, var("float32")), "float32[1]");
    sb_attrs a3 = axes(false, 1, 3), dup = axes(false, 2, 0, 0), none = attrs();
    EXPECT_ERR(ap(SB_OP_EXPAND_DIMS, &a3, 1, var("float32[3]")), T,
               "expand_dims: axis 3 is out of range for a 2-d result");
    EXPECT_ERR(ap(SB_OP_EXPAND_DIMS, &dup, 1, var("float32[3]")), T,
               "expand_dims: axis 0 is repeated");
    EXPECT_ERR(ap(SB_OP_EXPAND_DIMS, &none, 1, var("float32[3]")), T,
               "expand_dims: no axis given");
}

Test(infer, squeeze)
{
    sb_attrs all = attrs(), a0 = axes(false, 1, 0), an = axes(false, 1, -1);
    EXPECT(ap(SB_OP_SQUEEZE, &all, 1, var("float32[1, 3, 1]")), "float32[3]");
    EXPECT(ap(SB_OP_SQUEEZE, &all, 1, var("float32[?, 1]")), "float32[?]");
    EXPECT(ap(SB_OP_SQUEEZE, &a0, 1, var("float32[1, 3, 1]")), "float32[3, 1]");
    EXPECT(ap(SB_OP_SQUEEZE, &an, 1, var("float32[1, 3, 1]")), "float32[1, 3]");
    EXPECT(ap(SB_OP_SQUEEZE, &a0, 1, var("float32[?, 3]")), "float32[3]");
    sb_attrs a1 = axes(false, 1, 1), a4 = axes(false, 1, 4);
    EXPECT_ERR(ap(SB_OP_SQUEEZE, &a1, 1, var("float32[1, 3, 1]")), T,
               "squeeze: cannot squeeze axis 1 of size 3 in float32[1, 3, 1]");
    EXPECT_ERR(ap(SB_OP_SQUEEZE, &a4, 1, var("float32[1, 3, 1]")), T,
               "squeeze: axis 4 is out of range for a 3-d input");
}

Test(infer, concatenate)
{
    sb_attrs def = attrs(), a1 = axes(false, 1, 1), an = axes(false, 1, -1);
    EXPECT(ap(SB_OP_CONCATENATE, &def, 2, var("float32[2, 3]"), var("float32[4, 3]")),
           "float32[6, 3]");
    EXPECT(ap(SB_OP_CONCATENATE, &a1, 3, var("float32[2, 3]"), var("float32[?, 5]"),
              var("float32[2, 0]")), "float32[2, 8]");
    EXPECT(ap(SB_OP_CONCATENATE, &an, 2, var("float32[2, ?]"), var("float32[2, 1]")),
           "float32[2, ?]");
    EXPECT(ap(SB_OP_CONCATENATE, &def, 2, var("int32[2]"), var("float32[1]")), "float64[3]");
    EXPECT(ap(SB_OP_CONCATENATE, &def, 1, var("float32[2]")), "float32[2]");
    EXPECT_ERR(ap(SB_OP_CONCATENATE, &def, 2, var("float32[3, 4]"), var("float32[3]")), T,
               "concatenate: inputs float32[3, 4] and float32[3] differ in rank");
    EXPECT_ERR(ap(SB_OP_CONCATENATE, &def, 2, var("float32[3, 4]"), var("float32[3, 5]")), T,
               "concatenate: inputs float32[3, 4] and float32[3, 5] differ in dimension 1");
    EXPECT_ERR(ap(SB_OP_CONCATENATE, &def, 2, var("float32"), var("float32")), T,
               "concatenate: zero-dimensional input float32[] cannot be concatenated");
    EXPECT_ERR(ap(SB_OP_CONCATENATE, &def, 0), T, "concatenate: needs at least one input");
    sb_attrs a2 = axes(false, 1, 2);
    EXPECT_ERR(ap(SB_OP_CONCATENATE, &a2, 2, var("float32[3, 4]"), var("float32[3, 4]")), T,
               "concatenate: axis 2 is out of range for a 2-d input");
}

Test(infer, stack)
{
    sb_attrs def = attrs(), an = axes(false, 1, -1), a3 = axes(false, 1, 3);
    EXPECT(ap(SB_OP_STACK, &def, 2, var("float32[2, 3]"), var("float32[2, ?]")),
           "float32[2, 2, 3]");
    EXPECT(ap(SB_OP_STACK, &an, 3, var("float32[2, 3]"), var("float32[2, 3]"),
              var("float32[2, 3]")), "float32[2, 3, 3]");
    EXPECT(ap(SB_OP_STACK, &def, 2, var("float32"), var("float32")), "float32[2]");
    EXPECT_ERR(ap(SB_OP_STACK, &def, 2, var("float32[2, 3]"), var("float32[3, 3]")), T,
               "stack: inputs float32[2, 3] and float32[3, 3] differ in dimension 0");
    EXPECT_ERR(ap(SB_OP_STACK, &a3, 2, var("float32[2, 3]"), var("float32[2, 3]")), T,
               "stack: axis 3 is out of range for a 3-d result");
}

Test(infer, split)
{
    sb_attrs a = attrs(), b = axes(false, 1, 1), c = attrs();
    a.k[0] = 3, a.k[1] = 1;
    b.k[0] = 2, b.k[1] = 0;
    c.k[0] = 3, c.k[1] = 3;
    EXPECT(ap(SB_OP_SPLIT, &a, 1, var("float32[6, 4]")), "float32[2, 4]");
    EXPECT(ap(SB_OP_SPLIT, &b, 1, var("float32[6, 4]")), "float32[6, 2]");
    EXPECT(ap(SB_OP_SPLIT, &a, 1, var("float32[?]")), "float32[?]");
    EXPECT(ap(SB_OP_SPLIT, &a, 1, var("float32[0]")), "float32[0]");
    EXPECT_ERR(ap(SB_OP_SPLIT, &a, 1, var("float32[10]")), T,
               "split: axis 0 of float32[10] (size 10) cannot be split into 3 equal sections");
    EXPECT_ERR(ap(SB_OP_SPLIT, &c, 1, var("float32[9]")), T,
               "split: part 3 is out of range for 3 sections");
    EXPECT_ERR(ap(SB_OP_SPLIT, NULL, 1, var("float32[9]")), T,
               "split: the number of sections must be >= 1, got 0");
}

Test(infer, broadcast_to)
{
    sb_attrs s23 = shape(2, 2, 3), s43 = shape(2, 4, 3), s5 = shape(1, 5), s45 = shape(2, 4, 5);
    EXPECT(ap(SB_OP_BROADCAST_TO, &s23, 1, var("float32[3]")), "float32[2, 3]");
    EXPECT(ap(SB_OP_BROADCAST_TO, &s43, 1, var("float32[1, 3]")), "float32[4, 3]");
    EXPECT(ap(SB_OP_BROADCAST_TO, &s5, 1, var("float32[?]")), "float32[5]");
    EXPECT(ap(SB_OP_BROADCAST_TO, &s23, 1, var("float32")), "float32[2, 3]");
    EXPECT_ERR(ap(SB_OP_BROADCAST_TO, &s45, 1, var("float32[3]")), T,
               "broadcast_to: cannot broadcast float32[3] to (4, 5)");
    EXPECT_ERR(ap(SB_OP_BROADCAST_TO, &s5, 1, var("float32[1, 5]")), T,
               "broadcast_to: cannot broadcast float32[1, 5] to (5,)");
}

Test(infer, shape_op)
{
    EXPECT(sb_apply1(ctx, SB_OP_SHAPE, var("float32[?, 3]"), &d), "int64[2]");
    EXPECT(sb_apply1(ctx, SB_OP_SHAPE, var("float32"), &d), "int64[0]");
}

/* ---- constructors ------------------------------------------------------------------------ */

Test(infer, fill)
{
    sb_attrs a = shape(2, 2, 3), b = shape(1, 0), s = shape(0), none = attrs(), neg = shape(1, -2);
    b.dtype = SB_DTYPE_I32;
    EXPECT(ap(SB_OP_ZEROS, &a, 0), "float64[2, 3]");
    EXPECT(ap(SB_OP_ONES, &b, 0), "int32[0]");
    EXPECT(ap(SB_OP_FULL, &s, 0), "float64[]");
    EXPECT_ERR(ap(SB_OP_ZEROS, &none, 0), T, "zeros: no shape given");
    EXPECT_ERR(ap(SB_OP_FULL, &neg, 0), T, "full: negative size in shape (-2,)");
}

Test(infer, fill_like)
{
    sb_attrs a = attrs();
    a.dtype = SB_DTYPE_F32;
    EXPECT(sb_apply1(ctx, SB_OP_ZEROS_LIKE, var("int32[?, 2]"), &d), "int32[?, 2]");
    EXPECT(ap(SB_OP_ONES_LIKE, &a, 1, var("int32[?, 2]")), "float32[?, 2]");
}

Test(infer, arange)
{
    sb_op ar = SB_OP_ARANGE;
    EXPECT(ap(ar, NULL, 3, lit_int(0), lit_int(5), lit_int(1)), "int64[5]");
    EXPECT(ap(ar, NULL, 3, lit_int(5), lit_int(0), lit_int(-2)), "int64[3]");
    EXPECT(ap(ar, NULL, 3, lit_int(0), lit_int(10), lit_int(3)), "int64[4]");
    EXPECT(ap(ar, NULL, 3, lit_int(3), lit_int(1), lit_int(1)), "int64[0]");
    EXPECT(ap(ar, NULL, 3, lit_int(0), lit_float(1), lit_float(0.25)), "float64[4]");
    EXPECT(ap(ar, NULL, 3, lit_int(0), var("int64"), lit_int(1)), "int64[?]");
    EXPECT(ap(ar, NULL, 3, lit_int(0), var("float32"), lit_int(1)), "float64[?]");
    sb_attrs f = attrs();
    f.dtype = SB_DTYPE_F32;
    EXPECT(ap(ar, &f, 3, lit_int(0), lit_int(4), lit_int(1)), "float32[4]");
    EXPECT_ERR(ap(ar, NULL, 3, lit_int(0), lit_int(4), lit_int(0)), T,
               "arange: step must not be zero");
    EXPECT_ERR(ap(ar, NULL, 3, lit_int(0), var("int64[2]"), lit_int(1)), T,
               "arange: stop must be a scalar, got int64[2]");
}

Test(infer, arange_at_run_time)
{
    /* the evaluator passes the values of dynamic inputs: the length becomes exact */
    sb_type i64 = sb_type_scalar(SB_DTYPE_I64), out;
    const sb_type *in[3] = {&i64, &i64, &i64};
    sb_array *v[3];
    double vals[3] = {2, 11, 2};
    for (int i = 0; i < 3; i++) {
        v[i] = sb_array_new(SB_DTYPE_I64, 0, NULL);
        sb_array_set_f64(v[i], 0, vals[i]);
    }
    const sb_array *cv[3] = {v[0], v[1], v[2]};
    cr_assert_eq(sb_infer_type(SB_OP_ARANGE, 3, in, NULL, cv, &out, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(out.ndim, 1);
    cr_assert_eq(out.dims[0], 5);
    for (int i = 0; i < 3; i++) sb_array_free(v[i]);
}

Test(infer, eye)
{
    sb_attrs a = shape(1, 3), b = shape(2, 2, 4), bad = attrs();
    b.dtype = SB_DTYPE_BOOL;
    EXPECT(ap(SB_OP_EYE, &a, 0), "float64[3, 3]");
    EXPECT(ap(SB_OP_EYE, &b, 0), "bool[2, 4]");
    EXPECT_ERR(ap(SB_OP_EYE, &bad, 0), T,
               "eye: expected a size n or (n, m) with sizes >= 0, got ()");
}

Test(infer, one_hot)
{
    sb_attrs a = shape(1, 10), none = attrs();
    EXPECT(ap(SB_OP_ONE_HOT, &a, 1, var("int64[?]")), "float64[?, 10]");
    a.dtype = SB_DTYPE_F32;
    EXPECT(ap(SB_OP_ONE_HOT, &a, 1, var("uint8[4, 2]")), "float32[4, 2, 10]");
    EXPECT_ERR(ap(SB_OP_ONE_HOT, &a, 1, var("float32[4]")), T,
               "one_hot: labels must be integers, got float32[4]");
    EXPECT_ERR(ap(SB_OP_ONE_HOT, &none, 1, var("int64[4]")), T,
               "one_hot: expected a depth >= 0");
}

/* ---- indexing ---------------------------------------------------------------------------- */

/* Index entries: a slice with optional constant bounds, a scalar, an array or dynamic input. */
#define NONE_ {SB_IARG_NONE, 0}
#define C_(v) {SB_IARG_CONST, v}
#define IN_(v) {SB_IARG_INPUT, v}
#define SLICE(s, e, st) ((sb_index){SB_INDEX_SLICE, {s, e, st}})
#define SCALAR(a) ((sb_index){SB_INDEX_SCALAR, {a, NONE_, NONE_}})
#define ARRAY(v) ((sb_index){SB_INDEX_ARRAY, {IN_(v), NONE_, NONE_}})
#define ALL SLICE(NONE_, NONE_, NONE_)

static sb_attrs idx(int n, ...)
{
    sb_attrs a = attrs();
    va_list ap;
    va_start(ap, n);
    a.nidx = (int8_t)n;
    for (int i = 0; i < n; i++) a.idx[i] = va_arg(ap, sb_index);
    va_end(ap);
    return a;
}

Test(infer, subtensor_basic)
{
    sb_node *x = var("float32[10, 20]");
    sb_op st = SB_OP_SUBTENSOR;
    sb_attrs a = idx(1, SLICE(C_(2), C_(5), NONE_));
    EXPECT(ap(st, &a, 1, x), "float32[3, 20]");
    a = idx(2, ALL, SCALAR(C_(0)));
    EXPECT(ap(st, &a, 1, x), "float32[10]");
    a = idx(1, SLICE(NONE_, NONE_, C_(-1)));
    EXPECT(ap(st, &a, 1, x), "float32[10, 20]");
    a = idx(1, SLICE(C_(-3), NONE_, NONE_));
    EXPECT(ap(st, &a, 1, x), "float32[3, 20]");
    a = idx(1, SLICE(C_(1), C_(100), C_(3)));
    EXPECT(ap(st, &a, 1, x), "float32[3, 20]");
    a = idx(1, SLICE(C_(5), C_(2), NONE_));
    EXPECT(ap(st, &a, 1, x), "float32[0, 20]");
    a = idx(2, SLICE(C_(8), C_(-12), C_(-3)), SLICE(NONE_, C_(-1), C_(2)));
    EXPECT(ap(st, &a, 1, x), "float32[3, 10]");
    a = idx(2, SCALAR(C_(-1)), SCALAR(C_(19)));
    EXPECT(ap(st, &a, 1, x), "float32[]");
    a = idx(1, SLICE(C_(1), C_(3), NONE_));
    EXPECT(ap(st, &a, 1, var("float32[?, 4]")), "float32[?, 4]");
    /* a dynamic bound: unknown statically; a constant input is used */
    a = idx(1, SLICE(NONE_, IN_(1), NONE_));
    EXPECT(ap(st, &a, 2, x, var("int64")), "float32[?, 20]");
    EXPECT(ap(st, &a, 2, x, lit_int(4)), "float32[4, 20]");
    a = idx(2, ALL, SCALAR(IN_(1)));
    EXPECT(ap(st, &a, 2, x, var("int32")), "float32[10]");
}

Test(infer, subtensor_errors)
{
    sb_node *x = var("float32[10, 20]");
    sb_op st = SB_OP_SUBTENSOR;
    sb_attrs a = idx(3, ALL, ALL, ALL);
    EXPECT_ERR(ap(st, &a, 1, x), T, "subtensor: too many indices for float32[10, 20]");
    a = idx(1, SLICE(NONE_, NONE_, C_(0)));
    EXPECT_ERR(ap(st, &a, 1, x), T, "subtensor: slice step cannot be zero");
    a = idx(1, SCALAR(C_(10)));
    EXPECT_ERR(ap(st, &a, 1, x), SB_ERR_VALUE,
               "subtensor: index 10 is out of bounds for axis 0 with size 10");
    a = idx(2, ALL, SCALAR(C_(-21)));
    EXPECT_ERR(ap(st, &a, 1, x), SB_ERR_VALUE,
               "subtensor: index -21 is out of bounds for axis 1 with size 20");
    a = idx(1, SCALAR(IN_(1)));
    EXPECT_ERR(ap(st, &a, 2, x, var("float32")), T,
               "subtensor: a dynamic index must be an integer scalar, got float32[]");
    EXPECT_ERR(ap(st, &a, 1, x), T, "subtensor: index refers to input 1, which does not exist");
}

Test(infer, subtensor_at_run_time)
{
    /* x[i:j] with the values of i and j given, as the evaluator does */
    sb_type x = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){10}), i = sb_type_scalar(SB_DTYPE_I64);
    const sb_type *in[3] = {&x, &i, &i};
    sb_attrs a = idx(1, SLICE(IN_(1), IN_(2), NONE_));
    sb_array *v1 = sb_array_new(SB_DTYPE_I64, 0, NULL), *v2 = sb_array_new(SB_DTYPE_I64, 0, NULL);
    sb_array_set_f64(v1, 0, 2);
    sb_array_set_f64(v2, 0, -1);
    const sb_array *vals[3] = {NULL, v1, v2};
    sb_type out;
    cr_assert_eq(sb_infer_type(SB_OP_SUBTENSOR, 3, in, &a, vals, &out, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(out.dims[0], 7);
    cr_assert_eq(sb_infer_type(SB_OP_SUBTENSOR, 3, in, &a, NULL, &out, &d), SB_OK);
    cr_assert_eq(out.dims[0], -1);
    sb_array_free(v1);
    sb_array_free(v2);
}

Test(infer, subtensor_advanced)
{
    sb_node *x = var("float32[10, 20, 30]"), *i5 = var("int64[5]"), *j5 = var("int32[5]");
    sb_op adv = SB_OP_ADV_SUBTENSOR;
    sb_attrs a = idx(1, ARRAY(1));
    EXPECT(ap(adv, &a, 2, x, i5), "float32[5, 20, 30]");
    a = idx(2, ALL, ARRAY(1));
    EXPECT(ap(adv, &a, 2, x, i5), "float32[10, 5, 30]");
    a = idx(3, ARRAY(1), ALL, ARRAY(2)); /* not adjacent: the block goes first */
    EXPECT(ap(adv, &a, 3, x, i5, j5), "float32[5, 20]");
    a = idx(2, ARRAY(1), ARRAY(2));
    EXPECT(ap(adv, &a, 3, x, var("int64[4, 1]"), var("int64[3]")), "float32[4, 3, 30]");
    a = idx(3, SCALAR(C_(0)), ALL, ARRAY(1)); /* a scalar counts as an advanced index */
    EXPECT(ap(adv, &a, 2, x, i5), "float32[5, 20]");
    a = idx(3, ALL, SCALAR(C_(0)), ARRAY(1));
    EXPECT(ap(adv, &a, 2, x, i5), "float32[10, 5]");
    a = idx(2, ARRAY(1), ARRAY(2)); /* p[arange(n), y] */
    EXPECT(ap(adv, &a, 3, var("float32[?, 10]"), var("int64[?]"), var("int64[?]")),
           "float32[?]");
    a = idx(1, ARRAY(1));
    EXPECT(ap(adv, &a, 2, var("float32[3, 4]"), var("bool[3, 4]")), "float32[?]");
    EXPECT(ap(adv, &a, 2, var("float32[3, 4]"), var("bool[3]")), "float32[?, 4]");
    EXPECT_ERR(ap(adv, &a, 2, var("float32[3, 4]"), var("bool[4]")), T,
               "adv_subtensor: boolean index bool[4] does not match the dimensions of "
               "float32[3, 4] from axis 0");
    EXPECT_ERR(ap(adv, &a, 2, var("float32[3, 4]"), var("float32[2]")), T,
               "adv_subtensor: index arrays must be integers or booleans, got float32[2]");
    a = idx(2, ARRAY(1), ARRAY(2));
    EXPECT_ERR(ap(adv, &a, 3, x, var("int64[4]"), var("int64[3]")), T,
               "adv_subtensor: shapes int64[4] and int64[3] cannot be broadcast");
}

Test(infer, bool_mask_at_run_time)
{
    sb_type x = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){4});
    sb_type m = sb_type_make(SB_DTYPE_BOOL, 1, (int64_t[]){4}), out;
    const sb_type *in[2] = {&x, &m};
    sb_array *mv = sb_array_new(SB_DTYPE_BOOL, 1, (int64_t[]){4});
    sb_array_set_f64(mv, 1, 1);
    sb_array_set_f64(mv, 3, 1);
    const sb_array *vals[2] = {NULL, mv};
    sb_attrs a = idx(1, ARRAY(1));
    cr_assert_eq(sb_infer_type(SB_OP_ADV_SUBTENSOR, 2, in, &a, vals, &out, &d), SB_OK);
    cr_assert_eq(out.ndim, 1);
    cr_assert_eq(out.dims[0], 2);
    sb_array_free(mv);
}

Test(infer, set_subtensor)
{
    sb_node *x = var("float32[10, 20]");
    sb_attrs a = idx(1, SCALAR(C_(2)));
    EXPECT(ap(SB_OP_SET_SUBTENSOR, &a, 2, x, var("float32[20]")), "float32[10, 20]");
    EXPECT(ap(SB_OP_SET_SUBTENSOR, &a, 2, x, lit_int(0)), "float32[10, 20]");
    a = idx(1, SLICE(C_(2), C_(5), NONE_));
    EXPECT(ap(SB_OP_INC_SUBTENSOR, &a, 2, x, var("float32[3, 1]")), "float32[10, 20]");
    EXPECT(ap(SB_OP_INC_SUBTENSOR, &a, 2, x, var("float64[?, 20]")), "float32[10, 20]");
    a = idx(1, ARRAY(2));
    EXPECT(ap(SB_OP_INC_SUBTENSOR, &a, 3, x, var("float32[7, 20]"), var("int64[7]")),
           "float32[10, 20]");
    a = idx(1, SLICE(C_(2), C_(5), NONE_));
    EXPECT_ERR(ap(SB_OP_SET_SUBTENSOR, &a, 2, x, var("float32[4]")), T,
               "set_subtensor: value float32[4] cannot be broadcast to the indexed part "
               "float32[3, 20]");
    EXPECT_ERR(ap(SB_OP_INC_SUBTENSOR, &a, 2, x, var("float32[2, 3, 20]")), T,
               "inc_subtensor: value float32[2, 3, 20] cannot be broadcast to the indexed part "
               "float32[3, 20]");
    a = idx(1, SCALAR(IN_(1)));
    EXPECT_ERR(ap(SB_OP_SET_SUBTENSOR, &a, 2, x, lit_int(1)), T,
               "set_subtensor: index refers to input 1, which does not exist");
}

/* ---- control and autodiff ---------------------------------------------------------------- */

Test(infer, ifelse)
{
    sb_node *c = var("bool");
    EXPECT(ap(SB_OP_IFELSE, NULL, 3, c, var("float32[3]"), var("float32[3]")), "float32[3]");
    EXPECT(ap(SB_OP_IFELSE, NULL, 3, c, var("float32[3]"), var("float32[4]")), "float32[?]");
    EXPECT(ap(SB_OP_IFELSE, NULL, 3, c, var("float32"), lit_int(0)), "float32[]");
    EXPECT_ERR(ap(SB_OP_IFELSE, NULL, 3, var("bool[3]"), var("float32"), var("float32")), T,
               "ifelse: the condition must be a scalar, got bool[3]");
    EXPECT_ERR(ap(SB_OP_IFELSE, NULL, 3, c, var("float32[3]"), var("float32[3, 1]")), T,
               "ifelse: branches float32[3] and float32[3, 1] differ in rank");
}

Test(infer, grad_family)
{
    sb_node *cost = var("float32"), *W = var("float32[784, 10]"), *f = var("float32[3]");
    EXPECT(sb_apply2(ctx, SB_OP_GRAD, cost, W, &d), "float32[784, 10]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_GRAD, var("float32[?, 10]"), W, &d), T,
               "grad: cost must be a scalar, got float32[?, 10]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_GRAD, var("int64"), W, &d), T,
               "grad: cost must be a float, got int64[]");
    EXPECT(ap(SB_OP_LOP, NULL, 3, f, W, var("float32[?]")), "float32[784, 10]");
    EXPECT_ERR(ap(SB_OP_LOP, NULL, 3, f, W, var("float32[4]")), T,
               "Lop: eval_point float32[4] must have the shape of f float32[3]");
    EXPECT(ap(SB_OP_ROP, NULL, 3, f, W, var("float32[784, 10]")), "float32[3]");
    EXPECT_ERR(ap(SB_OP_ROP, NULL, 3, f, W, var("float32[10, 784]")), T,
               "Rop: v float32[10, 784] must have the shape of wrt float32[784, 10]");
    EXPECT(sb_apply2(ctx, SB_OP_JACOBIAN, f, var("float32[?, 2]"), &d), "float32[3, ?, 2]");
    EXPECT(sb_apply2(ctx, SB_OP_JACOBIAN, cost, f, &d), "float32[3]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_JACOBIAN, var("float32[1, 1, 1, 1, 1]"),
                         var("float32[1, 1, 1, 1]"), &d), T,
               "jacobian: the result would have 9 dimensions (at most 8)");
    EXPECT(sb_apply2(ctx, SB_OP_HESSIAN, cost, var("float64[4]"), &d), "float64[4, 4]");
    EXPECT_ERR(sb_apply2(ctx, SB_OP_HESSIAN, f, f, &d), T,
               "hessian: cost must be a scalar, got float32[3]");
}
