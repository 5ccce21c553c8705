/* test_syntax.c: the expression syntax (core/lexer.c, parse.c, print.c).
 *
 * - precedence: text in, printed form out (minimal parentheses, canonical spellings);
 * - round trip: for every op of ops.def, parse -> print -> parse gives the same node;
 * - errors: every kind of bad input, with its message and file:line:col. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core-impl.h"

static sb_ctx *ctx;

static void declare(const char *name, const char *type, bool shared)
{
    sb_type t;
    sb_diag d = {0};
    cr_assert_eq(sb_type_parse(type, &t, &d), SB_OK, "%s", d.msg);
    sb_node *n = shared ? sb_shared(ctx, name, &t) : sb_input(ctx, name, &t);
    cr_assert(n);
}

static void setup(void)
{
    ctx = sb_ctx_init();
    declare("x", "float32[4, 5]", false);
    declare("y", "float32[4, 5]", false);
    declare("v", "float32[5]", false);
    declare("M", "float32[5, 3]", false);
    declare("t", "float32[2, 3, 4]", false);
    declare("img", "float32[?, 28, 28]", false);
    declare("i", "int64", false);
    declare("j", "int64", false);
    declare("idx", "int64[3]", false);
    declare("lab", "int64[4]", false);
    declare("b", "bool[4, 5]", false);
    declare("c", "float32", false);
    declare("p", "float32[4, 3]", false);
    declare("W", "float32[5, 3]", true);
}

static void teardown(void)
{
    sb_ctx_free(ctx);
}

TestSuite(syntax, .init = setup, .fini = teardown);

static sb_node *parse_ok(const char *text)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(ctx, text, NULL, NULL, &d);
    cr_assert(n, "parse '%s' failed: %d:%d: %s", text, d.line, d.col, d.msg);
    cr_assert_eq(d.status, SB_OK);
    return n;
}

/* Parse, print, check the printed text, parse the print again: the same node. */
static sb_node *check_print(const char *text, const char *want)
{
    sb_node *n = parse_ok(text);
    char *s = sb_print_expr(n);
    cr_expect_str_eq(s, want, "'%s' printed as '%s', want '%s'", text, s, want);
    sb_node *m = parse_ok(s);
    cr_expect_eq(m, n, "'%s' -> '%s' parsed back to another node", text, s);
    free(s);
    return n;
}

static const char *precedence[][2] = {
    {"x + y * x", "x + y * x"},
    {"(x + y) * x", "(x + y) * x"},
    {"x - y - x", "x - y - x"},
    {"x - (y - x)", "x - (y - x)"},
    {"x / (y * x)", "x / (y * x)"},
    {"x // y % x", "x // y % x"},
    {"-x ** 2", "-x ** 2"},
    {"(-x) ** 2", "(-x) ** 2"},
    {"x ** -1", "x ** -1"},
    {"2 ** -1", "2 ** -1"},
    {"x ** 2 ** 3", "x ** 2 ** 3"},
    {"(x ** 2) ** 3", "(x ** 2) ** 3"},
    {"-1", "-1"},
    {"-(1)", "-(1)"},
    {"-1 ** 2", "-1 ** 2"},
    {"(-1) ** 2", "(-1) ** 2"},
    {"- - x", "--x"},
    {"x * -1", "x * -1"},
    {"x - -y", "x - -y"},
    {"+x", "x"},
    {"x < y", "x < y"},
    {"(x < y) | b", "(x < y) | b"},
    {"x < y | b", "x < y | b"},
    {"x < (y | b)", "x < y | b"},
    {"b & ~b | b", "b & ~b | b"},
    {"b & (b | b)", "b & (b | b)"},
    {"not b and b or b", "~b & b | b"},
    {"not (x < y)", "~(x < y)"},
    {"(x < y) == b", "(x < y) == b"},
    {"x @ M", "x @ M"},
    {"dot(x, M) * 2", "x @ M * 2"},
    {"p * (x @ W)", "p * (x @ W)"},
    {"tanh(x @ W + M[0])", "tanh(x @ W + M[0])"},
    {"log(1 + exp(x))", "log(1 + exp(x))"},
    {"(x + 1).T", "(x + 1).T"},
    {"x.T.T", "x.T.T"},
    {"transpose(x)", "x.T"},
    {"transpose(t, (2, 1, 0))", "transpose(t, (2, 1, 0))"},
    {"t.transpose(1, 0, 2)", "transpose(t, (1, 0, 2))"},
    {"sum(x, axis=1)", "sum(x, axis=1)"},
    {"x.sum(axis=-1)", "sum(x, axis=1)"},
    {"sum(t, axis=(2, -3))", "sum(t, axis=(0, 2))"},
    {"sum(x, axis=(1, 0))", "sum(x, axis=(0, 1))"},
    {"x.mean(0, keepdims=True)", "mean(x, axis=0, keepdims=True)"},
    {"argmax(x, axis=-1)", "argmax(x, axis=1)"},
    {"softmax(x, axis=-1)", "softmax(x, axis=1)"},
    {"softmax(x)", "softmax(x)"},
    {"softmax(x, axis=0)", "softmax(x, axis=0)"},
    {"logsumexp(x, axis=1, keepdims=True)", "logsumexp(x, axis=1, keepdims=True)"},
    {"x[:, 0]", "x[:, 0]"},
    {"x[0, :]", "x[0]"},
    {"x[-1]", "x[-1]"},
    {"x[i:i+2]", "x[i:i + 2]"},
    {"x[1:3:2, i]", "x[1:3:2, i]"},
    {"x[::2]", "x[::2]"},
    {"x[:]", "x[:]"},
    {"x[idx]", "x[idx]"},
    {"x[:, idx]", "x[:, idx]"},
    {"x[arange(4), lab]", "x[arange(4), lab]"},
    {"x[[0, 2]]", "x[array([0, 2], dtype='int64')]"},
    {"x.shape[0]", "shape(x)[0]"},
    {"split(t, 2, axis=2)[-1]", "split(t, 2, axis=2)[1]"},
    {"split(t, 2)[0]", "split(t, 2, axis=0)[0]"},
    {"flatten(img, 2)", "reshape(img, (-1, 784))"},
    {"flatten(x)", "reshape(x, (-1,))"},
    {"flatten(t, 2)", "reshape(t, (2, -1))"},
    {"x.reshape(2, 10)", "reshape(x, (2, 10))"},
    {"x.astype('float64')", "cast(x, 'float64')"},
    {"astype(x, float64)", "cast(x, 'float64')"},
    {"float64(x)", "cast(x, 'float64')"},
    {"float32(0.5)", "float32(0.5)"},
    {"float32(0.1)", "float32(0.1)"},
    {"int32(-3)", "int32(-3)"},
    {"1e-3", "0.001"},
    {".5", "0.5"},
    {"2.", "2.0"},
    {"0.1", "0.1"},
    {"1e300", "1e+300"},
    {"-inf", "-inf"},
    {"nan", "nan"},
    {"True", "True"},
    {"x * 0.1", "x * 0.1"},
    {"concatenate((x, y))", "concatenate([x, y])"},
    {"concatenate([x, y], axis=0)", "concatenate([x, y], axis=0)"},
    {"concatenate([x, y], axis=-1)", "concatenate([x, y], axis=1)"},
    {"stack([x, y], axis=2)", "stack([x, y], axis=2)"},
    {"zeros(3)", "zeros((3,))"},
    {"zeros((2, 2), dtype='float32')", "zeros((2, 2), dtype='float32')"},
    {"ones((2, 2), dtype='float64')", "ones((2, 2), dtype='float64')"},
    {"full((2, 2), 7.0)", "full((2, 2), 7.0)"},
    {"eye(3)", "eye(3)"},
    {"eye(3, 4, dtype='int32')", "eye(3, 4, dtype='int32')"},
    {"arange(5)", "arange(5)"},
    {"arange(1, 5)", "arange(1, 5)"},
    {"arange(1, 5, 2)", "arange(1, 5, 2)"},
    {"arange(i)", "arange(i)"},
    {"arange(6, step=2)", "arange(0, 6, 2)"},
    {"one_hot(lab, 10)", "one_hot(lab, 10)"},
    {"array([[1, 2], [3, 4]], dtype='float32')", "array([[1.0, 2.0], [3.0, 4.0]], dtype='float32')"},
    {"array([1, -2])", "array([1, -2], dtype='int64')"},
    {"array([True, False])", "array([True, False], dtype='bool')"},
    {"set_subtensor(x[0], v)", "set_subtensor(x[0], v)"},
    {"inc_subtensor(x[i:j, 1], x[0:2, 0])", "inc_subtensor(x[i:j, 1], x[0:2, 0])"},
    {"inc_subtensor(v[idx], 1.0)", "inc_subtensor(v[idx], 1.0)"},
    {"grad(sum(x @ W), W)", "grad(sum(x @ W), W)"},
    {"grad(sum(x @ W), W, disconnected='zero')", "grad(sum(x @ W), W, disconnected='zero')"},
    {"where(b, x, 0)", "where(b, x, 0)"},
    {"clip(x, 0, 1)", "clip(x, 0, 1)"},
    {"maximum(x, 0)", "maximum(x, 0)"},
    {"exp(x).sum()", "sum(exp(x))"},
    {"mean(-log(p[arange(shape(lab)[0]), lab]))", "mean(-log(p[arange(shape(lab)[0]), lab]))"},
    {"x.max(axis=1)", "max(x, axis=1)"},
    {"x.dot(M)", "x @ M"},
    {"x.argmax(axis=1)", "argmax(x, axis=1)"},
};

Test(syntax, precedence_and_canonical_forms)
{
    for (size_t k = 0; k < sizeof precedence / sizeof *precedence; k++)
        check_print(precedence[k][0], precedence[k][1]);
}

Test(syntax, structure)
{
    /* -x ** 2 is -(x ** 2); -1 ** 2 too; -1 alone is a constant */
    sb_node *n = parse_ok("-x ** 2");
    cr_assert_eq(sb_node_op(n), SB_OP_NEG);
    cr_assert_eq(sb_node_op(sb_node_in(n, 0)), SB_OP_POW);
    n = parse_ok("-1 ** 2");
    cr_assert_eq(sb_node_op(n), SB_OP_NEG);
    n = parse_ok("-1");
    cr_assert_eq(sb_node_op(n), SB_OP_CONST);
    cr_assert(sb_node_type(n)->weak);
    cr_assert_eq(sb_node_type(n)->dtype, SB_DTYPE_I64);
    cr_assert_eq(sb_array_get_i64(sb_node_value(n), 0), -1);
    n = parse_ok("2.5");
    cr_assert_eq(sb_node_type(n)->dtype, SB_DTYPE_F64);
    cr_assert(sb_node_type(n)->weak);
    n = parse_ok("float32(0.5)");
    cr_assert_eq(sb_node_type(n)->dtype, SB_DTYPE_F32);
    cr_assert(!sb_node_type(n)->weak);
    /* dynamic slice bounds are inputs */
    n = parse_ok("x[i:i+2]");
    cr_assert_eq(sb_node_op(n), SB_OP_SUBTENSOR);
    cr_assert_eq(sb_node_nin(n), 3);
    const sb_attrs *a = sb_node_attrs(n);
    cr_assert_eq(a->nidx, 1);
    cr_assert_eq(a->idx[0].kind, SB_INDEX_SLICE);
    cr_assert_eq(a->idx[0].a[0].kind, SB_IARG_INPUT);
    cr_assert_eq(a->idx[0].a[0].v, 1);
    cr_assert_eq(a->idx[0].a[1].v, 2);
    cr_assert_eq(a->idx[0].a[2].kind, SB_IARG_NONE);
    n = parse_ok("x[arange(4), lab]");
    cr_assert_eq(sb_node_op(n), SB_OP_ADV_SUBTENSOR);
    cr_assert_eq(sb_node_attrs(n)->idx[1].kind, SB_INDEX_ARRAY);
    /* split picks its part */
    n = parse_ok("split(t, 2, axis=2)[1]");
    cr_assert_eq(sb_node_op(n), SB_OP_SPLIT);
    cr_assert_eq(sb_node_attrs(n)->k[0], 2);
    cr_assert_eq(sb_node_attrs(n)->k[1], 1);
    /* arange always has three inputs */
    n = parse_ok("arange(4)");
    cr_assert_eq(sb_node_nin(n), 3);
    /* set_subtensor: (x, y, dynamic indices) */
    n = parse_ok("set_subtensor(x[i], v)");
    cr_assert_eq(sb_node_nin(n), 3);
    cr_assert_eq(sb_node_attrs(n)->idx[0].a[0].v, 2);
    n = parse_ok("grad(sum(x @ W), W, disconnected='zero')");
    cr_assert_eq(sb_node_attrs(n)->value, 1);
    /* reductions store sorted, non-negative axes */
    n = parse_ok("sum(t, axis=(-1, 0))");
    cr_assert_eq(sb_node_attrs(n)->naxis, 2);
    cr_assert_eq(sb_node_attrs(n)->axis[0], 0);
    cr_assert_eq(sb_node_attrs(n)->axis[1], 2);
    /* and/or/not and & | ~ are the same ops */
    cr_assert_eq(parse_ok("b and not b"), parse_ok("b & ~b"));
    cr_assert_eq(parse_ok("exp(x)"), parse_ok("exp(x)")); /* hash-consed */
}

/* One expression per op of ops.def (leaves are written as names and literals). */
static const struct {
    sb_op op;
    const char *text;
} per_op[] = {
    {SB_OP_NEG, "-x"}, {SB_OP_ABS, "abs(x)"}, {SB_OP_SIGN, "sign(x)"}, {SB_OP_EXP, "exp(x)"},
    {SB_OP_EXPM1, "expm1(x)"}, {SB_OP_LOG, "log(x)"}, {SB_OP_LOG1P, "log1p(x)"},
    {SB_OP_LOG2, "log2(x)"}, {SB_OP_SQRT, "sqrt(x)"}, {SB_OP_SQR, "sqr(x)"},
    {SB_OP_RECIPROCAL, "reciprocal(x)"}, {SB_OP_SIN, "sin(x)"}, {SB_OP_COS, "cos(x)"},
    {SB_OP_TANH, "tanh(x)"}, {SB_OP_SIGMOID, "sigmoid(x)"}, {SB_OP_SOFTPLUS, "softplus(x)"},
    {SB_OP_RELU, "relu(x)"}, {SB_OP_ERF, "erf(x)"}, {SB_OP_FLOOR, "floor(x)"},
    {SB_OP_CEIL, "ceil(x)"}, {SB_OP_ROUND, "round(x)"}, {SB_OP_LOGICAL_NOT, "~b"},
    {SB_OP_CAST, "x.astype('int32')"}, {SB_OP_ADD, "x + y"}, {SB_OP_SUB, "x - 1"},
    {SB_OP_MUL, "2 * x"}, {SB_OP_DIV, "x / y"}, {SB_OP_FLOOR_DIVIDE, "x // 2"},
    {SB_OP_MOD, "x % 2"}, {SB_OP_POW, "x ** 0.5"}, {SB_OP_MAXIMUM, "maximum(x, 0)"},
    {SB_OP_MINIMUM, "minimum(x, y)"}, {SB_OP_LT, "x < y"}, {SB_OP_LE, "x <= 1"},
    {SB_OP_GT, "x > 0"}, {SB_OP_GE, "x >= y"}, {SB_OP_EQ, "x == y"}, {SB_OP_NE, "x != y"},
    {SB_OP_LOGICAL_AND, "b & (x > 0)"}, {SB_OP_LOGICAL_OR, "b | b"},
    {SB_OP_WHERE, "where(b, x, -x)"}, {SB_OP_CLIP, "clip(x, -1.5, 1.5)"},
    {SB_OP_SUM, "sum(t, axis=(0, 2), keepdims=True)"}, {SB_OP_PROD, "prod(x)"},
    {SB_OP_MEAN, "mean(x, axis=0)"}, {SB_OP_MAX, "max(x, axis=1)"}, {SB_OP_MIN, "min(x)"},
    {SB_OP_ARGMAX, "argmax(x, axis=1)"}, {SB_OP_ARGMIN, "argmin(x)"}, {SB_OP_ALL, "all(b)"},
    {SB_OP_ANY, "any(b, axis=0)"}, {SB_OP_SOFTMAX, "softmax(x, axis=0)"},
    {SB_OP_LOG_SOFTMAX, "log_softmax(x)"}, {SB_OP_LOGSUMEXP, "logsumexp(x, axis=1)"},
    {SB_OP_CROSSENTROPY, "categorical_crossentropy(p, lab)"}, {SB_OP_MATMUL, "x @ M"},
    {SB_OP_OUTER, "outer(v, v)"}, {SB_OP_RESHAPE, "reshape(x, (2, -1))"},
    {SB_OP_TRANSPOSE, "transpose(t, (1, 0, 2))"}, {SB_OP_EXPAND_DIMS, "expand_dims(x, (0, -1))"},
    {SB_OP_SQUEEZE, "squeeze(expand_dims(x, 0), axis=0)"},
    {SB_OP_CONCATENATE, "concatenate([x, y, x], axis=1)"}, {SB_OP_STACK, "stack([x, y])"},
    {SB_OP_SPLIT, "split(x, 2, axis=0)[1]"}, {SB_OP_BROADCAST_TO, "broadcast_to(v, (4, 5))"},
    {SB_OP_SHAPE, "x.shape"}, {SB_OP_ZEROS, "zeros((2, 3), dtype='int32')"},
    {SB_OP_ONES, "ones(())"}, {SB_OP_FULL, "full((2,), -0.25, dtype='float32')"},
    {SB_OP_ZEROS_LIKE, "zeros_like(x)"}, {SB_OP_ONES_LIKE, "ones_like(x, dtype='int64')"},
    {SB_OP_ARANGE, "arange(0.5, 3, 0.5)"}, {SB_OP_EYE, "eye(2, 3)"},
    {SB_OP_ONE_HOT, "one_hot(lab, 10, dtype='float32')"}, {SB_OP_SUBTENSOR, "t[1:, i, ::-1]"},
    {SB_OP_ADV_SUBTENSOR, "x[lab > 0]"}, {SB_OP_SET_SUBTENSOR, "set_subtensor(x[:, j], 0)"},
    {SB_OP_INC_SUBTENSOR, "inc_subtensor(x[idx, 1:], 1)"}, {SB_OP_IFELSE, "ifelse(c > 0, x, y)"},
    {SB_OP_GRAD, "grad(sum(x @ W), W)"}, {SB_OP_LOP, "Lop(x @ W, W, p)"},
    {SB_OP_ROP, "Rop(x @ W, W, M)"}, {SB_OP_JACOBIAN, "jacobian(v * 2, v)"},
    {SB_OP_HESSIAN, "hessian(sum(v ** 2), v)"}, {SB_OP_DISCONNECTED_GRAD, "disconnected_grad(x)"},
};

Test(syntax, round_trip_every_op)
{
    bool seen[SB_OP_COUNT] = {0};
    for (size_t k = 0; k < sizeof per_op / sizeof *per_op; k++) {
        sb_node *n = parse_ok(per_op[k].text);
        cr_expect_eq(sb_node_op(n), per_op[k].op, "'%s' is %s, want %s", per_op[k].text,
                     sb_op_get(sb_node_op(n))->name, sb_op_get(per_op[k].op)->name);
        char *s = sb_print_expr(n);
        sb_node *m = parse_ok(s);
        cr_expect_eq(m, n, "'%s' printed as '%s' reads back as another node", per_op[k].text, s);
        free(s);
        seen[per_op[k].op] = true;
    }
    for (int op = 0; op < SB_OP_COUNT; op++)
        if (!(sb_op_get((sb_op)op)->flags & SB_F_LEAF))
            cr_expect(seen[op], "op %s has no round-trip test", sb_op_get((sb_op)op)->name);
}

Test(syntax, round_trip_leaves_and_constants)
{
    const char *texts[] = {"x", "W", "0", "-7", "9007199254740992", "1152921504606846976", "0.1", "-0.0", "1e-300",
                           "3.141592653589793", "float32(3.1415927)", "float64(-2.5)",
                           "int64(9007199254740993)", "uint8(200)", "False", "inf", "-nan",
                           "array([[0.1, -2.5e-07]], dtype='float32')",
                           "array([], dtype='float32')", "array(1.5)"};
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        sb_node *n = parse_ok(texts[k]);
        char *s = sb_print_expr(n);
        cr_expect_eq(parse_ok(s), n, "'%s' printed as '%s' reads back differently", texts[k], s);
        free(s);
    }
    cr_assert_eq(sb_array_get_i64(sb_node_value(parse_ok("int64(9007199254740993)")), 0),
                 9007199254740993LL);
}

static sb_node *lookup_let(void *user, const char *name)
{
    (void)user;
    if (!strcmp(name, "h")) return parse_ok("tanh(x)");
    if (!strcmp(name, "x")) return parse_ok("x");
    return NULL;
}

Test(syntax, scope_and_pattern_variables)
{
    sb_scope sc = {lookup_let, NULL, true};
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(ctx, "log(1 + ?x) * h", &sc, NULL, &d);
    cr_assert(n, "%s", d.msg);
    char *s = sb_print_expr(n);
    cr_expect_str_eq(s, "log(1 + ?x) * tanh(x)");
    cr_expect_eq(sb_parse_expr(ctx, s, &sc, NULL, &d), n);
    free(s);
    /* untyped pattern inputs keep their axes as written */
    n = sb_parse_expr(ctx, "sum(?a, axis=-1)", &sc, NULL, &d);
    cr_assert(n, "%s", d.msg);
    cr_expect_eq(sb_node_attrs(n)->axis[0], -1);
    cr_expect_eq(sb_node_type(n)->dtype, SB_DTYPE_COUNT);
    s = sb_print_expr(n);
    cr_expect_str_eq(s, "sum(?a, axis=-1)");
    free(s);
    /* an explicit axis is stored as written: not the same node as the default */
    n = sb_parse_expr(ctx, "softmax(?a, axis=-1)", &sc, NULL, &d);
    cr_assert(n, "%s", d.msg);
    cr_expect_eq(sb_node_attrs(n)->naxis, 1);
    cr_expect_eq(sb_node_attrs(n)->axis[0], -1);
    cr_expect_neq(n, sb_parse_expr(ctx, "softmax(?a)", &sc, NULL, &d));
    cr_expect_eq(d.status, SB_OK, "%s", d.msg);
    /* names that the scope does not know are errors, even if ctx has them */
    sb_diag e = {0};
    cr_expect_null(sb_parse_expr(ctx, "h + y", &sc, NULL, &e));
    cr_expect_str_eq(e.msg, "unknown name 'y'");
}

/* Expect an error with this message at line:col (file "f.json", text starting at 3:10). */
static void check_error(const char *text, int line, int col, const char *msg)
{
    sb_srcpos pos = {"f.json", 3, 10};
    sb_diag d = {0};
    size_t before = sb_ctx_node_count(ctx);
    sb_node *n = sb_parse_expr(ctx, text, NULL, &pos, &d);
    (void)before;
    cr_expect_null(n, "'%s' parsed", text);
    cr_expect_neq(d.status, SB_OK);
    cr_expect_str_eq(d.file, "f.json");
    cr_expect_str_eq(d.msg, msg, "'%s': got '%s'", text, d.msg);
    cr_expect_eq(d.line, line, "'%s': line %d, want %d (%s)", text, d.line, line, d.msg);
    cr_expect_eq(d.col, col, "'%s': col %d, want %d (%s)", text, d.col, col, d.msg);
}

Test(syntax, errors_with_positions)
{
    check_error("x + y)", 3, 15, "unexpected ')'");
    check_error("x + ", 3, 14, "expected an expression");
    check_error("x + * y", 3, 14, "unexpected '*'");
    check_error("foo + x", 3, 10, "unknown name 'foo'");
    check_error("x + foo(x)", 3, 14, "unknown function 'foo'");
    check_error("softmax(x, 1)", 3, 10, "softmax takes 1 positional argument, got 2");
    check_error("sum(x, axs=1)", 3, 17, "unknown keyword 'axs' for sum");
    check_error("exp(x, y)", 3, 10, "exp takes 1 positional argument, got 2");
    check_error("(x + y", 3, 16, "expected ')', found end of input");
    check_error("x[0", 3, 13, "expected ']', found end of input");
    check_error("x < y < x", 3, 16,
                "chained comparisons are not supported: write (a < b) & (b < c)");
    check_error("x $ y", 3, 12, "unexpected character '$'");
    check_error("x + 'abc", 3, 14, "unterminated string");
    check_error("x + ?a", 3, 14, "pattern variable '?a' is only allowed in rules");
    check_error("x[..., 0]", 3, 12, "'...' (Ellipsis) is not supported");
    check_error("x[None]", 3, 12, "'None' (newaxis) is not supported in indexing; use expand_dims");
    check_error("sum(x, axis=2)", 3, 22, "axis 2 is out of range for 2 dimensions");
    check_error("split(x, 2)", 3, 10,
                "split(...) must be indexed to pick a part: split(x, 3, axis=0)[1]");
    check_error("set_subtensor(x, y)", 3, 24,
                "the first argument of set_subtensor must be an indexing expression: "
                "set_subtensor(x[i:j], y)");
    check_error("x.astype('float13')", 3, 19, "unknown dtype 'float13'");
    check_error("99999999999999999999", 3, 10,
                "integer literal '99999999999999999999' is too large for int64");
    check_error("x + 9007199254740993", 3, 14,
                "integer literal 9007199254740993 is not exact as a number literal; "
                "write int64(9007199254740993)");
    check_error("x.foo", 3, 12, "unknown attribute '.foo' (known: .T, .shape)");
    check_error("sum(axis=1, x)", 3, 22, "positional argument follows keyword argument");
    check_error("array([[1, 2], [3]])", 3, 25, "ragged array literal");
    check_error("x[1.5]", 3, 12, "indices must be integers");
    check_error("sum(x, axis=1, axis=0)", 3, 25, "sum got two values for 'axis'");
    check_error("expand_dims(x)", 3, 10, "expand_dims is missing argument 'axis'");
    check_error("(x)(y)", 3, 13, "only a function name can be called");
    check_error("split(x, 2)[2]", 3, 22, "split: part 2 out of range for 2 sections");
    check_error("reshape(x, (-1, -1))", 3, 21, "reshape: only one size can be -1");
    check_error("x.foo()", 3, 12, "unknown method 'foo'");
    check_error("softmax(x, axis=(0, 1))", 3, 26, "axis must be an integer literal");
    check_error("sum(x, axis=i)", 3, 22, "axis must be an integer literal");
    check_error("zeros(3, dtype=5)", 3, 25, "dtype must be a name such as 'float32'");
    check_error("x[1:2.5]", 3, 14, "indices must be integers");
    check_error("sum(x, keepdims=2)", 3, 26, "keepdims must be True or False");
    check_error("grad(sum(x), x, disconnected='maybe')", 3, 39,
                "disconnected must be 'zero' or 'raise'");
    check_error("3 x", 3, 12, "unexpected 'x'");
    check_error("x.", 3, 12, "expected a name after '.'");
    check_error("?", 3, 10, "expected a name after '?'");
    check_error("1e", 3, 11, "invalid number literal '1e'");
    check_error("()", 3, 10, "a tuple is only allowed as a shape or axes");
    check_error("x[c]", 3, 12, "indices must be integers (or bool arrays), got float32");
    /* multi-line text: positions count lines inside the text; col restarts at 1 */
    check_error("x +\n  y *\n   )", 5, 4, "unexpected ')'");
    check_error("sum(x,\n    axis=1,\n    kepdims=True)", 5, 5, "unknown keyword 'kepdims' for sum");
}

Test(syntax, type_errors_are_reported_at_the_operator)
{
    /* sb_apply's message, at the position of the operator or call that built the node */
    sb_srcpos pos = {"g.json", 1, 1};
    sb_diag d = {0}, ref = {0};
    cr_assert_null(sb_parse_expr(ctx, "exp(x) + M", NULL, &pos, &d));
    cr_expect_eq(d.status, SB_ERR_TYPE);
    cr_expect_eq(d.line, 1);
    cr_expect_eq(d.col, 8);
    sb_node *in[2] = {parse_ok("exp(x)"), parse_ok("M")};
    cr_assert_null(sb_apply(ctx, SB_OP_ADD, 2, in, NULL, &ref));
    cr_expect_str_eq(d.msg, ref.msg);
    sb_diag_clear(&d);
    cr_assert_null(sb_parse_expr(ctx, "tanh(x)\n  @ v.reshape(1, 5)", NULL, &pos, &d));
    cr_expect_eq(d.line, 2);
    cr_expect_eq(d.col, 3);
    /* a diag that already holds an error is left alone */
    sb_diag_clear(&d);
    sb_diag_set(&d, SB_ERR_IO, "first", 1, 1, "first error");
    cr_expect_null(sb_parse_expr(ctx, "x +", NULL, NULL, &d));
    cr_expect_str_eq(d.msg, "first error");
    /* no srcpos: "<expr>" line 1 */
    sb_diag_clear(&d);
    cr_expect_null(sb_parse_expr(ctx, "x + bar", NULL, NULL, &d));
    cr_expect_str_eq(d.file, "<expr>");
    cr_expect_eq(d.col, 5);
}

Test(syntax, long_and_deep_expressions)
{
    /* a long left-deep chain parses, prints and reads back */
    size_t n = 3000, k = 0;
    char *text = malloc(n * 8 + 16);
    k += (size_t)sprintf(text, "x");
    for (size_t i = 1; i < n; i++) k += (size_t)sprintf(text + k, " + %zu", i);
    sb_node *a = parse_ok(text);
    char *s = sb_print_expr(a);
    cr_expect_str_eq(s, text);
    cr_expect_eq(parse_ok(s), a);
    free(s);
    /* nesting is bounded: an error, not a stack overflow */
    k = 0;
    for (size_t i = 0; i < 5000; i++) text[k++] = '(';
    text[k++] = 'x';
    for (size_t i = 0; i < 5000; i++) text[k++] = ')';
    text[k] = 0;
    sb_diag d = {0};
    cr_expect_null(sb_parse_expr(ctx, text, NULL, NULL, &d));
    cr_expect_str_eq(d.msg, "expression nested too deeply");
    text[0] = 0; /* 500 levels are fine */
    k = 0;
    for (size_t i = 0; i < 500; i++) k += (size_t)sprintf(text + k, "exp(");
    text[k++] = 'x';
    for (size_t i = 0; i < 500; i++) text[k++] = ')';
    text[k] = 0;
    cr_expect_eq(sb_node_op(parse_ok(text)), SB_OP_EXP);
    free(text);
}
