/* test_ops.c: every non-symbolic op of ops.def run by the CPU evaluator against a float64
 * reference computed here, independently of the kernels (plain double loops).
 *
 * The table `cases` maps each op to the routine that tests it; `coverage` checks that every
 * op of ops.def (leaves and symbolic ops aside) has an entry. Each routine builds expressions
 * with sb_apply, draws inputs from a seeded generator, evaluates them normally and in f64 mode,
 * and compares with the reference: float32 and float64 and integer dtypes where the op takes
 * them, broadcasting, negative axes, keepdims, size-1 and empty dims, advanced indexing,
 * inc_subtensor with repeated indices. Every case runs on each backend of the build that has a
 * device here (sb_backend_get), through its compile / run interface.
 *
 * The CPU backend has two run paths (backends/cpu/cpu.c): the execution plan (plan.c: fused
 * groups, GEMMs, pooled buffers) and the reference evaluator (eval.c). Each test is
 * parametrized over them (SB_CPU_EXEC=plan, which fails to compile rather than fall back, and
 * SB_CPU_EXEC=eval); the float64 reference mode always runs the evaluator and is checked once,
 * under the "eval" parameter, as are other backends. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <string.h>

#include "backends/backend.h"
#include "symbench.h"

/* ---- seeded data and reference arrays ----------------------------------------------------- */
static uint64_t rng_state = 42;

static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* A reference tensor: float64 values in C order. */
typedef struct ref {
    int ndim;
    int64_t shape[SB_MAX_DIMS];
    double *v;
} ref;

static int64_t numel(int nd, const int64_t *sh)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= sh[i];
    return n;
}

static ref ref_new(int nd, const int64_t *sh)
{
    ref r = {.ndim = nd};
    if (nd > 0) memcpy(r.shape, sh, sizeof(int64_t) * (size_t)nd);
    r.v = calloc((size_t)numel(nd, sh) + 1, sizeof(double));
    return r;
}

static ref ref_of(const sb_array *a)
{
    ref r = ref_new(a->ndim, a->shape);
    for (int64_t i = 0; i < numel(a->ndim, a->shape); i++) r.v[i] = sb_array_get_f64(a, i);
    return r;
}

/* Random array: floats uniform in [lo, hi); ints uniform integers in [lo, hi]; bools 50/50. */
static sb_array *make(sb_dtype dt, int nd, const int64_t *sh, double lo, double hi)
{
    sb_array *a = sb_array_new(dt, nd, sh);
    for (int64_t i = 0; i < numel(nd, sh); i++) {
        double u = urand();
        double v = dt == SB_DTYPE_BOOL                          ? (double)(u < 0.5)
                   : dt == SB_DTYPE_F32 || dt == SB_DTYPE_F64 ? lo + u * (hi - lo)
                                                              : floor(lo + u * (hi - lo + 1));
        sb_array_set_f64(a, i, v);
    }
    return a;
}

/* Flat index into an input of shape (nd, sh) broadcast against the output index `o` of
 * shape (ond, osh). */
static int64_t bidx(int nd, const int64_t *sh, int ond, const int64_t *osh, int64_t o)
{
    int64_t idx[SB_MAX_DIMS], r = 0;
    for (int d = ond - 1; d >= 0; d--) {
        idx[d] = o % osh[d];
        o /= osh[d];
    }
    for (int d = 0; d < nd; d++) r = r * sh[d] + (sh[d] == 1 ? 0 : idx[d + ond - nd]);
    return r;
}

/* ---- the CPU run paths -------------------------------------------------------------------- */
static const char *const cpu_paths[] = {"eval", "plan"};
static int cpu_path; /* index into cpu_paths: the path this test runs */

static void use_path(int i)
{
    cpu_path = i;
    setenv("SB_CPU_EXEC", cpu_paths[i], 1);
}

/* A test run once per CPU path: `PATH_TEST(ops, name) { ... }`. */
#define PATH_TEST(suite, name)                                                                   \
    ParameterizedTestParameters(suite, name)                                                     \
    {                                                                                            \
        static int idx[] = {0, 1};                                                               \
        return cr_make_param_array(int, idx, 2);                                                 \
    }                                                                                            \
    static void name##_body(void);                                                               \
    ParameterizedTest(int *path, suite, name)                                                    \
    {                                                                                            \
        use_path(*path);                                                                         \
        name##_body();                                                                           \
    }                                                                                            \
    static void name##_body(void)

/* ---- one expression under test ------------------------------------------------------------ */
static sb_ctx *C;
static sb_diag D;
static int nvars;
static const char *vnames[16];
static sb_array *vvals[16];

static void begin(void)
{
    C = sb_ctx_init();
    sb_diag_clear(&D);
    nvars = 0;
}

static void end(void)
{
    for (int i = 0; i < nvars; i++) sb_array_free(vvals[i]);
    nvars = 0;
    sb_ctx_free(C);
    C = NULL;
}

/* An input named name holding a (the test frees a). */
static sb_node *var(const char *name, sb_array *a)
{
    sb_type t = sb_type_make(a->dtype, a->ndim, a->shape);
    cr_assert(nvars < 16);
    vnames[nvars] = name;
    vvals[nvars++] = a;
    sb_node *n = sb_input(C, name, &t);
    cr_assert(n);
    return n;
}

static sb_node *scalar(double v, sb_dtype dt)
{
    return sb_const_scalar(C, v, dt, false);
}

static sb_node *apply(sb_op op, int nin, sb_node **in, const sb_attrs *a)
{
    sb_node *n = sb_apply(C, op, nin, in, a, &D);
    cr_assert(n, "sb_apply(%s): %s", sb_op_get(op)->name, D.msg);
    return n;
}

/* Evaluate n on backend be (compile, run), f64 = the float64 reference mode. */
static sb_array *run_on(const struct sb_backend_i *be, sb_node *n, bool f64)
{
    sb_binding b[16];
    for (int i = 0; i < nvars; i++) b[i] = (sb_binding){vnames[i], vvals[i]};
    sb_array *r = NULL;
    sb_be_program *p = be->compile(C, 1, &n, f64 ? SB_BE_F64 : 0, &D);
    cr_assert(p, "%s (%s): compile %s: %s", be->name, cpu_paths[cpu_path],
              sb_op_get(sb_node_op(n))->name, D.msg);
    sb_status st = be->run(p, nvars, b, &r, &D);
    be->program_free(p);
    cr_assert(st == SB_OK && r, "%s (%s): eval %s: %s", be->name, cpu_paths[cpu_path],
              sb_op_get(sb_node_op(n))->name, D.msg);
    return r;
}

static sb_array *run(sb_node *n, bool f64)
{
    return run_on(sb_backend_get("cpu"), n, f64);
}

/* Every backend of this build that has a device here (the op table runs on each). */
static int backends(const struct sb_backend_i **out)
{
    static const char *names[] = {"cpu", "cuda"};
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const struct sb_backend_i *be = sb_backend_get(names[i]);
        if (be && (!be->available || be->available())) out[n++] = be;
    }
    return n;
}

static bool close_to(double g, double w, double rtol, double atol)
{
    if (isnan(w)) return isnan(g);
    if (isinf(w)) return g == w;
    return fabs(g - w) <= atol + rtol * fabs(w);
}

/* got has dtype dt and want's shape and values (within the dtype's tolerance). */
static void expect(const sb_array *got, sb_dtype dt, const ref *want, const char *what)
{
    double rtol = dt == SB_DTYPE_F32 ? 3e-6 : dt == SB_DTYPE_F64 ? 1e-12 : 0;
    double atol = dt == SB_DTYPE_F32 ? 1e-6 : dt == SB_DTYPE_F64 ? 1e-12 : 0;
    cr_assert_eq(got->dtype, dt, "%s: dtype %s, expected %s", what, sb_dtype_name(got->dtype),
                 sb_dtype_name(dt));
    cr_assert_eq(got->ndim, want->ndim, "%s: ndim %d, expected %d", what, got->ndim, want->ndim);
    for (int i = 0; i < want->ndim; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s: dim %d is %lld, expected %lld", what, i,
                     (long long)got->shape[i], (long long)want->shape[i]);
    for (int64_t i = 0; i < numel(want->ndim, want->shape); i++) {
        double g = sb_array_get_f64(got, i);
        cr_assert(close_to(g, want->v[i], rtol, atol), "%s: element %lld is %.17g, expected %.17g",
                  what, (long long)i, g, want->v[i]);
    }
}

/* Evaluate n on the test's CPU path (result dtype dt); under the "eval" parameter also in f64
 * mode (floats become float64) and on the other backends; compare each result with the
 * reference. */
static void check(sb_node *n, sb_dtype dt, ref *want, const char *what)
{
    const struct sb_backend_i *be[4] = {sb_backend_get("cpu")};
    char msg[160];
    bool eval = !strcmp(cpu_paths[cpu_path], "eval");
    /* (probing the other backends loads their modules: seconds per test process, paid once) */
    for (int k = 0, nb = eval ? backends(be) : 1; k < nb; k++)
        for (int f64 = 0; f64 < 2; f64++) {
            bool cpu = !strcmp(be[k]->name, "cpu");
            if ((f64 || !cpu) && !eval) continue;
            sb_array *r = run_on(be[k], n, f64);
            snprintf(msg, sizeof msg, "%s [%s%s%s]", what, be[k]->name, cpu ? " " : "",
                     !cpu ? "" : f64 ? "f64" : cpu_paths[cpu_path]);
            expect(r, f64 && dt == SB_DTYPE_F32 ? SB_DTYPE_F64 : dt, want, msg);
            sb_array_free(r);
        }
    free(want->v);
}

static bool is_float(sb_dtype t)
{
    return t == SB_DTYPE_F32 || t == SB_DTYPE_F64;
}

/* ---- unary elementwise -------------------------------------------------------------------- */
static double round_half_even(double x)
{
    double r = floor(x + 0.5);
    if (r - x == 0.5 && fmod(r, 2) != 0) r -= 1;
    return r;
}

static double ref_unary(sb_op op, double x)
{
    switch (op) {
    case SB_OP_NEG: return -x;
    case SB_OP_ABS: return x < 0 ? -x : x;
    case SB_OP_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case SB_OP_EXP: return exp(x);
    case SB_OP_EXPM1: return expm1(x);
    case SB_OP_LOG: return log(x);
    case SB_OP_LOG1P: return log1p(x);
    case SB_OP_LOG2: return log(x) / log(2.0);
    case SB_OP_SQRT: return sqrt(x);
    case SB_OP_SQR: return x * x;
    case SB_OP_RECIPROCAL: return 1.0 / x;
    case SB_OP_SIN: return sin(x);
    case SB_OP_COS: return cos(x);
    case SB_OP_TANH: return (exp(x) - exp(-x)) / (exp(x) + exp(-x));
    case SB_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case SB_OP_SOFTPLUS: return log(1.0 + exp(x));
    case SB_OP_RELU: return x > 0 ? x : 0;
    case SB_OP_ERF: return erf(x);
    case SB_OP_FLOOR: return floor(x);
    case SB_OP_CEIL: return ceil(x);
    case SB_OP_ROUND: return round_half_even(x);
    case SB_OP_LOGICAL_NOT: return x == 0;
    default: cr_assert_fail("no unary reference for %s", sb_op_get(op)->name);
    }
    return 0;
}

static bool unary_is_float(sb_op op)
{
    static const sb_op f[] = {SB_OP_EXP, SB_OP_EXPM1, SB_OP_LOG, SB_OP_LOG1P, SB_OP_LOG2,
                              SB_OP_SQRT, SB_OP_RECIPROCAL, SB_OP_SIN, SB_OP_COS, SB_OP_TANH,
                              SB_OP_SIGMOID, SB_OP_SOFTPLUS, SB_OP_ERF};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (f[i] == op) return true;
    return false;
}

static void unary_one(sb_op op, sb_dtype dt, int nd, const int64_t *sh, bool transposed)
{
    bool pos = op == SB_OP_LOG || op == SB_OP_LOG2 || op == SB_OP_SQRT ||
               op == SB_OP_RECIPROCAL || op == SB_OP_LOG1P;
    begin();
    sb_array *a = make(dt, nd, sh, pos ? 0.1 : -3, 3);
    if (op == SB_OP_ROUND && is_float(dt) && numel(nd, sh) >= 3) { /* halves: to even */
        sb_array_set_f64(a, 0, 2.5);
        sb_array_set_f64(a, 1, -1.5);
        sb_array_set_f64(a, 2, 0.5);
    }
    sb_node *x = var("a", a);
    if (transposed) x = apply(SB_OP_TRANSPOSE, 1, &x, NULL);
    sb_node *n = apply(op, 1, &x, NULL);
    sb_dtype want = op == SB_OP_LOGICAL_NOT ? SB_DTYPE_BOOL
                    : unary_is_float(op) && !is_float(dt) ? SB_DTYPE_F64
                                                          : dt;
    ref in = ref_of(a), r;
    if (transposed) { /* 2-D: reference transpose */
        int64_t ts[2] = {sh[1], sh[0]};
        r = ref_new(2, ts);
        for (int64_t i = 0; i < sh[0]; i++)
            for (int64_t j = 0; j < sh[1]; j++) r.v[j * sh[0] + i] = in.v[i * sh[1] + j];
        memcpy(in.v, r.v, sizeof(double) * (size_t)numel(2, ts));
    } else {
        r = ref_new(nd, sh);
    }
    for (int64_t i = 0; i < numel(nd, sh); i++) r.v[i] = ref_unary(op, in.v[i]);
    free(in.v);
    char what[96];
    snprintf(what, sizeof what, "%s(%s[%d dims])%s", sb_op_get(op)->name, sb_dtype_name(dt), nd,
             transposed ? ".T" : "");
    check(n, want, &r, what);
    end();
}

static void case_unary(sb_op op)
{
    static const int64_t s23[] = {2, 3}, s04[] = {0, 4}, s111[] = {1, 1, 5};
    bool intok = !unary_is_float(op);
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64, SB_DTYPE_I32};
    for (int k = 0; k < 4; k++) {
        if (!is_float(dts[k]) && !intok && k == 3) continue;
        unary_one(op, dts[k], 2, s23, false);
        unary_one(op, dts[k], 2, s04, false);
        unary_one(op, dts[k], 3, s111, false);
        unary_one(op, dts[k], 0, NULL, false);
    }
    unary_one(op, SB_DTYPE_F32, 2, s23, true);
    if (op == SB_OP_LOGICAL_NOT) unary_one(op, SB_DTYPE_BOOL, 2, s23, false);
}

/* cast: every pair of dtypes (values small enough for all of them). */
static void case_cast(sb_op op)
{
    static const int64_t sh[] = {3, 4};
    for (int s = 0; s < SB_DTYPE_COUNT; s++)
        for (int t = 0; t < SB_DTYPE_COUNT; t++) {
            begin();
            sb_array *a = make((sb_dtype)s, 2, sh, 0, 100);
            sb_node *x = var("a", a);
            sb_attrs at;
            sb_attrs_init(&at);
            at.dtype = (int8_t)t;
            sb_node *n = apply(SB_OP_CAST, 1, &x, &at);
            ref r = ref_of(a);
            for (int64_t i = 0; i < 12; i++)
                r.v[i] = t == SB_DTYPE_BOOL ? r.v[i] != 0
                         : is_float((sb_dtype)t) ? r.v[i] /* f64 mode keeps float64 */
                                                 : trunc(r.v[i]);
            check(n, (sb_dtype)t, &r, "cast");
            end();
        }
}

/* ---- binary elementwise ------------------------------------------------------------------- */
static double ref_binary(sb_op op, double x, double y)
{
    switch (op) {
    case SB_OP_ADD: return x + y;
    case SB_OP_SUB: return x - y;
    case SB_OP_MUL: return x * y;
    case SB_OP_DIV: return x / y;
    case SB_OP_FLOOR_DIVIDE: return floor(x / y);
    case SB_OP_MOD: return x - floor(x / y) * y;
    case SB_OP_POW: return pow(x, y);
    case SB_OP_MAXIMUM: return x > y ? x : y;
    case SB_OP_MINIMUM: return x < y ? x : y;
    case SB_OP_LT: return x < y;
    case SB_OP_LE: return x <= y;
    case SB_OP_GT: return x > y;
    case SB_OP_GE: return x >= y;
    case SB_OP_EQ: return x == y;
    case SB_OP_NE: return x != y;
    case SB_OP_LOGICAL_AND: return x != 0 && y != 0;
    case SB_OP_LOGICAL_OR: return x != 0 || y != 0;
    default: cr_assert_fail("no binary reference for %s", sb_op_get(op)->name);
    }
    return 0;
}

static bool is_compare(sb_op op)
{
    return op == SB_OP_LT || op == SB_OP_LE || op == SB_OP_GT || op == SB_OP_GE ||
           op == SB_OP_EQ || op == SB_OP_NE || op == SB_OP_LOGICAL_AND || op == SB_OP_LOGICAL_OR;
}

/* Broadcast shape of two shapes. */
static int bshape(int na, const int64_t *sa, int nb, const int64_t *sb, int64_t *out)
{
    int nd = na > nb ? na : nb;
    for (int i = 0; i < nd; i++) {
        int64_t x = i - (nd - na) >= 0 ? sa[i - (nd - na)] : 1;
        int64_t y = i - (nd - nb) >= 0 ? sb[i - (nd - nb)] : 1;
        out[i] = x == 1 ? y : x;
    }
    return nd;
}

/* a op b with a of dtype da and shape (na, sa), b of (db, nb, sb); result dtype want. */
static void binary_one(sb_op op, sb_dtype da, int na, const int64_t *sa, sb_dtype db, int nb,
                       const int64_t *sb, sb_dtype want)
{
    begin();
    bool ints = !is_float(da) || !is_float(db);
    double lo = op == SB_OP_POW ? (ints ? -3 : 0.5) : -9, hi = op == SB_OP_POW ? 3 : 9;
    sb_array *a = make(da, na, sa, lo, hi);
    sb_array *b = make(db, nb, sb, op == SB_OP_POW ? (ints ? 0 : -2) : -9, op == SB_OP_POW ? 3 : 9);
    bool nonzero = op == SB_OP_DIV || op == SB_OP_FLOOR_DIVIDE || op == SB_OP_MOD;
    for (int64_t i = 0; nonzero && i < numel(nb, sb); i++)
        if (fabs(sb_array_get_f64(b, i)) < 0.5) sb_array_set_f64(b, i, db == SB_DTYPE_BOOL ? 1 : 3);
    if (!nonzero && op != SB_OP_POW && numel(nb, sb) == numel(na, sa) && numel(na, sa) > 1)
        sb_array_set_f64(b, 0, sb_array_get_f64(a, 0));
    sb_node *in[2] = {var("a", a), var("b", b)};
    sb_node *n = apply(op, 2, in, NULL);
    int64_t osh[SB_MAX_DIMS];
    int ond = bshape(na, sa, nb, sb, osh);
    ref ra = ref_of(a), rb = ref_of(b), r = ref_new(ond, osh);
    for (int64_t i = 0; i < numel(ond, osh); i++)
        r.v[i] = ref_binary(op, ra.v[bidx(na, sa, ond, osh, i)], rb.v[bidx(nb, sb, ond, osh, i)]);
    free(ra.v);
    free(rb.v);
    char what[128];
    snprintf(what, sizeof what, "%s(%s[%d dims], %s[%d dims])", sb_op_get(op)->name,
             sb_dtype_name(da), na, sb_dtype_name(db), nb);
    check(n, want, &r, what);
    end();
}

static void case_binary(sb_op op)
{
    static const int64_t s34[] = {3, 4}, s4[] = {4}, s213[] = {2, 1, 3}, s41[] = {4, 1},
                         s03[] = {0, 3}, s13[] = {1, 3}, s1[] = {1};
    bool cmp = is_compare(op), dv = op == SB_OP_DIV;
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64, SB_DTYPE_I32};
    for (int k = 0; k < 4; k++) {
        sb_dtype t = dts[k];
        sb_dtype want = cmp ? SB_DTYPE_BOOL : dv && !is_float(t) ? SB_DTYPE_F64 : t;
        binary_one(op, t, 2, s34, t, 2, s34, want);
        binary_one(op, t, 2, s34, t, 1, s4, want);     /* row broadcast */
        binary_one(op, t, 3, s213, t, 2, s41, want);   /* both broadcast */
        binary_one(op, t, 2, s03, t, 2, s13, want);    /* empty */
        binary_one(op, t, 0, NULL, t, 1, s1, want);    /* scalar, size-1 */
    }
    if (!cmp && op != SB_OP_POW) /* mixed: int32 with float32 promotes to float64 */
        binary_one(op, SB_DTYPE_I32, 2, s34, SB_DTYPE_F32, 1, s4, SB_DTYPE_F64);
    if (op == SB_OP_LOGICAL_AND || op == SB_OP_LOGICAL_OR)
        binary_one(op, SB_DTYPE_BOOL, 2, s34, SB_DTYPE_BOOL, 1, s4, SB_DTYPE_BOOL);
    if (cmp || op == SB_OP_MAXIMUM || op == SB_OP_MINIMUM) /* uint8 (no wrap-around here) */
        binary_one(op, SB_DTYPE_U8, 2, s34, SB_DTYPE_U8, 1, s4, cmp ? SB_DTYPE_BOOL : SB_DTYPE_U8);
}

/* Python's sign rules for integer floor division and modulo, exact in int64. */
PATH_TEST(ops, int_floor_divide_mod_signs)
{
    begin();
    static const int64_t s[] = {8};
    sb_array *a = sb_array_new(SB_DTYPE_I64, 1, s), *b = sb_array_new(SB_DTYPE_I64, 1, s);
    int64_t av[] = {7, -7, 7, -7, 0, 9007199254740993LL, -1, 6};
    int64_t bv[] = {2, 2, -2, -2, 3, 2, 5, -3};
    int64_t q[] = {3, -4, -4, 3, 0, 4503599627370496LL, -1, -2}, m[] = {1, 1, -1, -1, 0, 1, 4, 0};
    memcpy(a->data, av, sizeof av);
    memcpy(b->data, bv, sizeof bv);
    sb_node *x = var("a", a), *y = var("b", b);
    sb_array *rq = run(sb_apply2(C, SB_OP_FLOOR_DIVIDE, x, y, &D), false);
    sb_array *rm = run(sb_apply2(C, SB_OP_MOD, x, y, &D), false);
    for (int i = 0; i < 8; i++) {
        cr_expect_eq(((int64_t *)rq->data)[i], q[i], "%lld // %lld", (long long)av[i], (long long)bv[i]);
        cr_expect_eq(((int64_t *)rm->data)[i], m[i], "%lld %% %lld", (long long)av[i], (long long)bv[i]);
    }
    sb_array *rp = run(sb_apply2(C, SB_OP_POW, x, sb_const_scalar(C, 3, SB_DTYPE_I64, true), &D), false);
    cr_expect_eq(rp->dtype, SB_DTYPE_I64);
    cr_expect_eq(((int64_t *)rp->data)[1], -343);
    sb_array_free(rq);
    sb_array_free(rm);
    sb_array_free(rp);
    end();
}

/* A weak literal takes the tensor's dtype: float32 x * 2 stays float32; x < 0.1 compares in
 * float32 (as NumPy does). */
PATH_TEST(ops, weak_literals)
{
    begin();
    static const int64_t s[] = {2};
    sb_array *a = sb_array_new(SB_DTYPE_F32, 1, s);
    ((float *)a->data)[0] = 0.1f;
    ((float *)a->data)[1] = 3.0f;
    sb_node *x = var("a", a);
    sb_array *r = run(sb_apply2(C, SB_OP_MUL, x, sb_const_scalar(C, 2, SB_DTYPE_I64, true), &D), false);
    cr_assert_eq(r->dtype, SB_DTYPE_F32);
    cr_expect_float_eq(((float *)r->data)[1], 6.0f, 1e-6);
    sb_array_free(r);
    r = run(sb_apply2(C, SB_OP_EQ, x, sb_const_scalar(C, 0.1, SB_DTYPE_F64, true), &D), false);
    cr_expect_eq(((uint8_t *)r->data)[0], 1, "float32(0.1) == 0.1 in float32");
    sb_array_free(r);
    end();
}

/* ---- where, clip -------------------------------------------------------------------------- */
static void case_where(sb_op op)
{
    static const int64_t s34[] = {3, 4}, s4[] = {4}, s31[] = {3, 1};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64, SB_DTYPE_I32};
    for (int k = 0; k < 4; k++) {
        begin();
        sb_array *c = make(SB_DTYPE_BOOL, 2, s34, 0, 1), *a = make(dts[k], 1, s4, -5, 5),
                 *b = make(dts[k], 2, s31, -5, 5);
        sb_node *in[3] = {var("c", c), var("a", a), var("b", b)};
        sb_node *n = apply(SB_OP_WHERE, 3, in, NULL);
        ref rc = ref_of(c), ra = ref_of(a), rb = ref_of(b), r = ref_new(2, s34);
        for (int64_t i = 0; i < 12; i++)
            r.v[i] = rc.v[i] ? ra.v[bidx(1, s4, 2, s34, i)] : rb.v[bidx(2, s31, 2, s34, i)];
        free(rc.v), free(ra.v), free(rb.v);
        check(n, dts[k], &r, "where");
        end();
    }
}

static void case_clip(sb_op op)
{
    static const int64_t s34[] = {3, 4}, s4[] = {4}, s0[] = {0, 4};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64};
    for (int k = 0; k < 3; k++)
        for (int e = 0; e < 2; e++) {
            const int64_t *sh = e ? s0 : s34;
            begin();
            sb_array *x = make(dts[k], 2, sh, -5, 5), *hi = make(dts[k], 1, s4, 0, 3);
            sb_node *in[3] = {var("x", x), sb_const_scalar(C, -1, SB_DTYPE_I64, true), var("hi", hi)};
            sb_node *n = apply(SB_OP_CLIP, 3, in, NULL);
            ref rx = ref_of(x), rh = ref_of(hi), r = ref_new(2, sh);
            for (int64_t i = 0; i < numel(2, sh); i++) {
                double v = rx.v[i] < -1 ? -1 : rx.v[i], h = rh.v[i % 4];
                r.v[i] = v > h ? h : v;
            }
            free(rx.v), free(rh.v);
            check(n, dts[k], &r, "clip");
            end();
        }
}

/* ---- reductions --------------------------------------------------------------------------- */
/* The reference of a reduction of a (nd dims) over red[] into r (keepdims shape flattened the
 * same way as the result, since dropping size-1 dims keeps C order). */
static void reduce_ref(sb_op op, const ref *a, const bool *red, ref *r)
{
    int64_t n = numel(r->ndim, r->shape), cnt = 1;
    for (int d = 0; d < a->ndim; d++) cnt *= red[d] ? a->shape[d] : 1;
    double *mx = calloc((size_t)n + 1, sizeof(double));
    for (int64_t o = 0; o < n; o++) {
        r->v[o] = op == SB_OP_PROD || op == SB_OP_ALL ? 1
                  : op == SB_OP_MAX                   ? -INFINITY
                  : op == SB_OP_MIN                   ? INFINITY
                                                      : 0;
        mx[o] = -INFINITY;
    }
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < numel(a->ndim, a->shape); i++) {
            int64_t rest = i, o = 0, mul = 1;
            for (int d = a->ndim - 1; d >= 0; d--) {
                int64_t k = rest % a->shape[d];
                rest /= a->shape[d];
                if (!red[d]) o += k * mul, mul *= a->shape[d];
            }
            double x = a->v[i];
            if (op == SB_OP_LOGSUMEXP) {
                if (pass == 0) mx[o] = x > mx[o] ? x : mx[o];
                else r->v[o] += exp(x - mx[o]);
                continue;
            }
            if (pass == 1) continue;
            switch (op) {
            case SB_OP_SUM: case SB_OP_MEAN: r->v[o] += x; break;
            case SB_OP_PROD: r->v[o] *= x; break;
            case SB_OP_MAX: r->v[o] = x > r->v[o] ? x : r->v[o]; break;
            case SB_OP_MIN: r->v[o] = x < r->v[o] ? x : r->v[o]; break;
            case SB_OP_ALL: r->v[o] = r->v[o] && x != 0; break;
            case SB_OP_ANY: r->v[o] = r->v[o] || x != 0; break;
            default: break;
            }
        }
    for (int64_t o = 0; o < n; o++) {
        if (op == SB_OP_MEAN) r->v[o] /= (double)cnt;
        if (op == SB_OP_LOGSUMEXP) r->v[o] = log(r->v[o]) + mx[o];
    }
    free(mx);
}

static void reduce_one(sb_op op, sb_dtype dt, int nd, const int64_t *sh, int naxis,
                       const int64_t *axes, bool keep)
{
    begin();
    sb_array *a = make(dt, nd, sh, op == SB_OP_PROD ? 0.5 : -4, op == SB_OP_PROD ? 1.5 : 4);
    sb_node *x = var("a", a);
    sb_attrs at;
    sb_attrs_init(&at);
    at.naxis = (int8_t)naxis;
    at.keepdims = keep;
    if (naxis > 0) memcpy(at.axis, axes, sizeof(int64_t) * (size_t)naxis);
    sb_node *n = apply(op, 1, &x, &at);
    bool red[SB_MAX_DIMS] = {0};
    for (int d = 0; d < nd; d++) red[d] = naxis < 0;
    for (int k = 0; k < naxis; k++) red[axes[k] < 0 ? axes[k] + nd : axes[k]] = true;
    int64_t osh[SB_MAX_DIMS];
    int ond = 0;
    for (int d = 0; d < nd; d++)
        if (!red[d] || keep) osh[ond++] = red[d] ? 1 : sh[d];
    ref ra = ref_of(a), r = ref_new(ond, osh);
    reduce_ref(op, &ra, red, &r);
    free(ra.v);
    sb_dtype want = op == SB_OP_ALL || op == SB_OP_ANY ? SB_DTYPE_BOOL
                    : is_float(dt)                     ? dt
                    : op == SB_OP_MEAN || op == SB_OP_LOGSUMEXP ? SB_DTYPE_F64
                    : op == SB_OP_MAX || op == SB_OP_MIN        ? dt
                                                                : SB_DTYPE_I64;
    char what[96];
    snprintf(what, sizeof what, "%s(%s, naxis %d, keepdims %d)", sb_op_get(op)->name,
             sb_dtype_name(dt), naxis, keep);
    check(n, want, &r, what);
    end();
}

static void case_reduce(sb_op op)
{
    static const int64_t s234[] = {2, 3, 4}, s0[] = {3, 0}, ax0[] = {0}, axm1[] = {-1},
                         ax02[] = {0, 2}, ax1[] = {1};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64, SB_DTYPE_I32, SB_DTYPE_BOOL};
    bool minmax = op == SB_OP_MAX || op == SB_OP_MIN, lse = op == SB_OP_LOGSUMEXP;
    for (int k = 0; k < 5; k++) {
        if (dts[k] == SB_DTYPE_BOOL && op != SB_OP_ALL && op != SB_OP_ANY && op != SB_OP_SUM)
            continue;
        for (int keep = 0; keep < 2; keep++) {
            reduce_one(op, dts[k], 3, s234, -1, NULL, keep);
            reduce_one(op, dts[k], 3, s234, 1, ax0, keep);
            reduce_one(op, dts[k], 3, s234, 1, axm1, keep);
            reduce_one(op, dts[k], 3, s234, 2, ax02, keep);
            reduce_one(op, dts[k], 0, NULL, -1, NULL, keep);
            if (!minmax && !lse && op != SB_OP_MEAN) reduce_one(op, dts[k], 2, s0, 1, ax1, keep);
            reduce_one(op, dts[k], 2, s0, 1, ax0, keep); /* over a non-empty axis: empty result */
        }
    }
}

/* argmax / argmin: flattened and along one (negative) axis, keepdims, ties -> first. */
static void arg_one(sb_op op, sb_dtype dt, int naxis, int64_t axis, bool keep)
{
    static const int64_t sh[] = {3, 4, 2};
    begin();
    sb_array *a = make(dt, 3, sh, -2, 2); /* few distinct ints: many ties */
    sb_node *x = var("a", a);
    sb_attrs at;
    sb_attrs_init(&at);
    at.naxis = (int8_t)naxis;
    at.axis[0] = axis;
    at.keepdims = keep;
    sb_node *n = apply(op, 1, &x, &at);
    ref ra = ref_of(a);
    int ax = naxis < 0 ? -1 : (int)(axis < 0 ? axis + 3 : axis);
    int64_t osh[3], outer = 1, len = 24, inner = 1;
    int ond = 0;
    for (int d = 0; d < 3; d++)
        if (keep || (ax >= 0 && d != ax)) osh[ond++] = ax < 0 || d == ax ? 1 : sh[d];
    if (ax >= 0) {
        len = sh[ax];
        for (int d = 0; d < ax; d++) outer *= sh[d];
        for (int d = ax + 1; d < 3; d++) inner *= sh[d];
    }
    ref r = ref_new(ond, osh);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            for (int64_t k = 1; k < len; k++) {
                double v = ra.v[(o * len + k) * inner + i], b = ra.v[(o * len + best) * inner + i];
                if (op == SB_OP_ARGMAX ? v > b : v < b) best = k;
            }
            r.v[o * inner + i] = (double)best;
        }
    free(ra.v);
    check(n, SB_DTYPE_I64, &r, sb_op_get(op)->name);
    end();
}

static void case_arg(sb_op op)
{
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64, SB_DTYPE_I32};
    for (int k = 0; k < 4; k++)
        for (int keep = 0; keep < 2; keep++) {
            arg_one(op, dts[k], -1, 0, keep);
            arg_one(op, dts[k], 1, 1, keep);
            arg_one(op, dts[k], 1, -1, keep);
            arg_one(op, dts[k], 1, 0, keep);
        }
}

/* ---- neural-net ops ----------------------------------------------------------------------- */
static void softmax_one(sb_op op, sb_dtype dt, int naxis, int64_t axis, double scale)
{
    static const int64_t sh[] = {3, 4};
    begin();
    sb_array *a = make(dt, 2, sh, -scale, scale);
    sb_node *x = var("a", a);
    sb_attrs at;
    sb_attrs_init(&at);
    at.naxis = (int8_t)naxis;
    at.axis[0] = axis;
    sb_node *n = apply(op, 1, &x, &at);
    ref ra = ref_of(a), r = ref_new(2, sh);
    int ax = naxis < 0 ? 1 : (int)(axis < 0 ? axis + 2 : axis);
    for (int64_t o = 0; o < sh[1 - ax]; o++) {
        double m = -INFINITY, s = 0;
        int64_t st = ax == 1 ? 1 : 4, base = ax == 1 ? o * 4 : o;
        for (int64_t k = 0; k < sh[ax]; k++) m = fmax(m, ra.v[base + k * st]);
        for (int64_t k = 0; k < sh[ax]; k++) s += exp(ra.v[base + k * st] - m);
        for (int64_t k = 0; k < sh[ax]; k++) {
            double v = ra.v[base + k * st];
            r.v[base + k * st] = op == SB_OP_SOFTMAX ? exp(v - m) / s : v - m - log(s);
        }
    }
    free(ra.v);
    check(n, dt, &r, sb_op_get(op)->name);
    end();
}

static void case_softmax(sb_op op)
{
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64};
    for (int k = 0; k < 2; k++) {
        softmax_one(op, dts[k], -1, 0, 3);
        softmax_one(op, dts[k], 1, 0, 3);
        softmax_one(op, dts[k], 1, -2, 3);
        softmax_one(op, dts[k], 1, -1, 1000); /* stable: no overflow */
    }
}

static void crossentropy_one(sb_dtype dt, bool labels)
{
    static const int64_t sp[] = {4, 3}, sl[] = {4};
    begin();
    sb_array *p = make(dt, 2, sp, 0.05, 1);
    sb_array *t = labels ? make(SB_DTYPE_I64, 1, sl, 0, 2) : make(dt, 2, sp, 0, 1);
    sb_node *in[2] = {var("p", p), var("t", t)};
    sb_node *n = apply(SB_OP_CROSSENTROPY, 2, in, NULL);
    ref rp = ref_of(p), rt = ref_of(t), r = ref_new(1, sl);
    for (int i = 0; i < 4; i++) {
        if (labels) {
            r.v[i] = -log(rp.v[i * 3 + (int64_t)rt.v[i]]);
        } else {
            for (int k = 0; k < 3; k++) r.v[i] -= rt.v[i * 3 + k] * log(rp.v[i * 3 + k]);
        }
    }
    free(rp.v), free(rt.v);
    check(n, dt, &r, labels ? "crossentropy(labels)" : "crossentropy(targets)");
    end();
}

static void case_crossentropy(sb_op op)
{
    for (int l = 0; l < 2; l++) {
        crossentropy_one(SB_DTYPE_F32, l);
        crossentropy_one(SB_DTYPE_F64, l);
    }
}

/* ---- matmul, outer ------------------------------------------------------------------------ */
/* Reference matmul with NumPy's rules for shapes (na, sa) @ (nb, sb). */
static void matmul_one(sb_dtype dt, int na, const int64_t *sa, int nb, const int64_t *sb)
{
    begin();
    sb_array *a = make(dt, na, sa, -3, 3), *b = make(dt, nb, sb, -3, 3);
    sb_node *in[2] = {var("a", a), var("b", b)};
    sb_node *n = apply(SB_OP_MATMUL, 2, in, NULL);
    int64_t A[SB_MAX_DIMS], B[SB_MAX_DIMS]; /* promoted shapes */
    int pa = na == 1 ? 2 : na, pb = nb == 1 ? 2 : nb;
    if (na == 1) A[0] = 1, A[1] = sa[0];
    else memcpy(A, sa, sizeof(int64_t) * (size_t)na);
    if (nb == 1) B[0] = sb[0], B[1] = 1;
    else memcpy(B, sb, sizeof(int64_t) * (size_t)nb);
    int64_t N = A[pa - 2], K = A[pa - 1], M = B[pb - 1], bsh[SB_MAX_DIMS];
    int bnd = bshape(pa - 2, A, pb - 2, B, bsh);
    int64_t osh[SB_MAX_DIMS];
    int ond = 0;
    for (int d = 0; d < bnd; d++) osh[ond++] = bsh[d];
    if (na > 1) osh[ond++] = N;
    if (nb > 1) osh[ond++] = M;
    ref ra = ref_of(a), rb = ref_of(b), r = ref_new(ond, osh);
    int64_t nbatch = numel(bnd, bsh);
    for (int64_t j = 0; j < nbatch; j++) {
        int64_t ia = bidx(pa - 2, A, bnd, bsh, j), ib = bidx(pb - 2, B, bnd, bsh, j);
        for (int64_t i = 0; i < N; i++)
            for (int64_t m = 0; m < M; m++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += ra.v[ia * N * K + i * K + k] * rb.v[ib * K * M + k * M + m];
                r.v[j * N * M + i * M + m] = s;
            }
    }
    free(ra.v), free(rb.v);
    char what[64];
    snprintf(what, sizeof what, "matmul(%s, %dd @ %dd)", sb_dtype_name(dt), na, nb);
    check(n, dt, &r, what);
    end();
}

static void case_matmul(sb_op op)
{
    static const int64_t s34[] = {3, 4}, s45[] = {4, 5}, s4[] = {4}, s2134[] = {2, 1, 3, 4},
                         s345[] = {3, 4, 5}, s04[] = {0, 4}, s40[] = {4, 0}, s30[] = {3, 0},
                         s05[] = {0, 5}, s245[] = {2, 4, 5};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64, SB_DTYPE_I32};
    for (int k = 0; k < 4; k++) {
        sb_dtype t = dts[k];
        matmul_one(t, 2, s34, 2, s45);
        matmul_one(t, 1, s4, 2, s45);
        matmul_one(t, 2, s34, 1, s4);
        matmul_one(t, 1, s4, 1, s4);
        matmul_one(t, 4, s2134, 3, s345);  /* batched, broadcast */
        matmul_one(t, 4, s2134, 2, s45);   /* batch folded into rows */
        matmul_one(t, 2, s34, 3, s245);    /* batch on the right only */
        matmul_one(t, 2, s04, 2, s45);     /* empty rows */
        matmul_one(t, 2, s30, 2, s05);     /* empty inner dim: zeros */
        matmul_one(t, 2, s34, 2, s40);
    }
}

static void case_outer(sb_op op)
{
    static const int64_t s3[] = {3}, s22[] = {2, 2}, s0[] = {0};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_F64, SB_DTYPE_I64};
    for (int k = 0; k < 3; k++)
        for (int e = 0; e < 2; e++) {
            begin();
            sb_array *a = make(dts[k], 1, e ? s0 : s3, -3, 3), *b = make(dts[k], 2, s22, -3, 3);
            sb_node *in[2] = {var("a", a), var("b", b)};
            sb_node *n = apply(SB_OP_OUTER, 2, in, NULL);
            int64_t osh[2] = {e ? 0 : 3, 4};
            ref ra = ref_of(a), rb = ref_of(b), r = ref_new(2, osh);
            for (int64_t i = 0; i < osh[0]; i++)
                for (int j = 0; j < 4; j++) r.v[i * 4 + j] = ra.v[i] * rb.v[j];
            free(ra.v), free(rb.v);
            check(n, dts[k], &r, "outer");
            end();
        }
}

/* ---- shape ops ---------------------------------------------------------------------------- */
static sb_attrs attrs_axes(int naxis, const int64_t *ax)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.naxis = (int8_t)naxis;
    if (naxis > 0) memcpy(a.axis, ax, sizeof(int64_t) * (size_t)naxis);
    return a;
}

static sb_attrs attrs_shape(int nshape, const int64_t *sh)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nshape = (int8_t)nshape;
    if (nshape > 0) memcpy(a.shape, sh, sizeof(int64_t) * (size_t)nshape);
    return a;
}

/* reshape of contiguous data and of a transposed view (which must be copied first). */
static void case_reshape(sb_op op)
{
    static const int64_t s234[] = {2, 3, 4}, t[] = {4, -1}, s46[] = {4, 6}, t2[] = {-1},
                         s24[] = {24}, s0[] = {0, 3}, t0[] = {0, 1, 3}, s300[] = {0, 1, 3};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_I64};
    for (int k = 0; k < 2; k++) {
        begin();
        sb_array *a = make(dts[k], 3, s234, -5, 5);
        sb_node *x = var("a", a);
        sb_attrs at = attrs_shape(2, t);
        ref r = ref_of(a);
        r.ndim = 2, r.shape[0] = 4, r.shape[1] = 6;
        check(apply(SB_OP_RESHAPE, 1, &x, &at), dts[k], &r, "reshape");
        /* transpose(a) is [4, 3, 2]: reference by index */
        sb_node *tx = apply(SB_OP_TRANSPOSE, 1, &x, NULL);
        at = attrs_shape(1, t2);
        ref ra = ref_of(a);
        r = ref_new(1, s24);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                for (int l = 0; l < 2; l++) r.v[(i * 3 + j) * 2 + l] = ra.v[(l * 3 + j) * 4 + i];
        free(ra.v);
        check(apply(SB_OP_RESHAPE, 1, &tx, &at), dts[k], &r, "reshape(transpose)");
        end();
    }
    (void)s46;
    begin();
    sb_node *x = var("a", make(SB_DTYPE_F64, 2, s0, 0, 1));
    sb_attrs at = attrs_shape(3, t0);
    ref r = ref_new(3, s300);
    check(apply(SB_OP_RESHAPE, 1, &x, &at), SB_DTYPE_F64, &r, "reshape(empty)");
    end();
}

static void case_transpose(sb_op op)
{
    static const int64_t s234[] = {2, 3, 4}, perm[] = {1, -1, 0};
    for (int p = 0; p < 2; p++) {
        begin();
        sb_array *a = make(SB_DTYPE_F64, 3, s234, -5, 5);
        sb_node *x = var("a", a);
        sb_attrs at = attrs_axes(p ? 3 : -1, perm);
        ref ra = ref_of(a);
        int64_t osh[3] = {p ? 3 : 4, p ? 4 : 3, 2};
        ref r = ref_new(3, osh);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int l = 0; l < 4; l++) {
                    double v = ra.v[(i * 3 + j) * 4 + l];
                    if (p) r.v[(j * 4 + l) * 2 + i] = v; /* axes (1, 2, 0) */
                    else r.v[(l * 3 + j) * 2 + i] = v;   /* reversed */
                }
        free(ra.v);
        check(apply(SB_OP_TRANSPOSE, 1, &x, &at), SB_DTYPE_F64, &r, "transpose");
        end();
    }
}

static void case_expand_squeeze(sb_op op)
{
    static const int64_t s23[] = {2, 3}, ax[] = {0, -1}, s1231[] = {1, 2, 3, 1}, s131[] = {1, 3, 1},
                         s3[] = {3}, axm1[] = {-1}, s13[] = {1, 3};
    begin();
    if (op == SB_OP_EXPAND_DIMS) {
        sb_array *a = make(SB_DTYPE_I32, 2, s23, -5, 5);
        sb_node *x = var("a", a);
        sb_attrs at = attrs_axes(2, ax);
        ref r = ref_of(a);
        r.ndim = 4;
        memcpy(r.shape, s1231, sizeof s1231);
        check(apply(op, 1, &x, &at), SB_DTYPE_I32, &r, "expand_dims");
    } else {
        sb_array *a = make(SB_DTYPE_F32, 3, s131, -5, 5);
        sb_node *x = var("a", a);
        sb_attrs at = attrs_axes(-1, NULL);
        ref r = ref_of(a);
        r.ndim = 1;
        memcpy(r.shape, s3, sizeof s3);
        check(apply(op, 1, &x, &at), SB_DTYPE_F32, &r, "squeeze()");
        at = attrs_axes(1, axm1);
        r = ref_of(a);
        r.ndim = 2;
        memcpy(r.shape, s13, sizeof s13);
        check(apply(op, 1, &x, &at), SB_DTYPE_F32, &r, "squeeze(axis=-1)");
    }
    end();
}

/* concatenate / stack of three inputs (one empty for concatenate), mixed int dtypes promote. */
static void case_join(sb_op op)
{
    static const int64_t s23[] = {2, 3}, s13[] = {1, 3}, s03[] = {0, 3}, ax0[] = {0}, axm1[] = {-1};
    bool cat = op == SB_OP_CONCATENATE;
    for (int a_ = 0; a_ < 2; a_++) {
        begin();
        sb_array *x = make(SB_DTYPE_F32, 2, s23, -5, 5);
        sb_array *y = make(SB_DTYPE_F32, 2, cat && !a_ ? s13 : s23, -5, 5);
        sb_array *z = make(SB_DTYPE_F32, 2, cat && !a_ ? s03 : s23, -5, 5);
        sb_node *in[3] = {var("x", x), var("y", y), var("z", z)};
        sb_attrs at = attrs_axes(1, a_ ? axm1 : ax0);
        sb_node *n = apply(op, 3, in, &at);
        ref rx = ref_of(x), ry = ref_of(y), rz = ref_of(z), r;
        if (cat && !a_) { /* rows of x, y, z */
            int64_t sh[2] = {3, 3};
            r = ref_new(2, sh);
            memcpy(r.v, rx.v, 6 * sizeof(double));
            memcpy(r.v + 6, ry.v, 3 * sizeof(double));
        } else if (cat) { /* along the last axis: [2, 9] */
            int64_t sh[2] = {2, 9};
            r = ref_new(2, sh);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) {
                    r.v[i * 9 + j] = rx.v[i * 3 + j];
                    r.v[i * 9 + 3 + j] = ry.v[i * 3 + j];
                    r.v[i * 9 + 6 + j] = rz.v[i * 3 + j];
                }
        } else {
            int64_t sh[3] = {a_ ? 2 : 3, a_ ? 3 : 2, 3};
            r = ref_new(3, sh);
            const ref *src[3] = {&rx, &ry, &rz};
            for (int k = 0; k < 3; k++)
                for (int i = 0; i < 6; i++) r.v[a_ ? i * 3 + k : k * 6 + i] = src[k]->v[i];
        }
        free(rx.v), free(ry.v), free(rz.v);
        check(n, SB_DTYPE_F32, &r, sb_op_get(op)->name);
        end();
    }
}

static void case_split(sb_op op)
{
    static const int64_t s62[] = {6, 2}, ax0[] = {0}, axm1[] = {-1}, s24[] = {2, 4};
    begin();
    sb_array *a = make(SB_DTYPE_F64, 2, s62, -5, 5), *b = make(SB_DTYPE_I64, 2, s24, -5, 5);
    sb_node *x = var("a", a), *y = var("b", b);
    sb_attrs at = attrs_axes(1, ax0);
    at.k[0] = 3, at.k[1] = 1;
    ref ra = ref_of(a), r = ref_new(2, (int64_t[]){2, 2});
    memcpy(r.v, ra.v + 4, 4 * sizeof(double));
    free(ra.v);
    check(apply(op, 1, &x, &at), SB_DTYPE_F64, &r, "split axis 0");
    at = attrs_axes(1, axm1);
    at.k[0] = 2, at.k[1] = 1;
    ref rb = ref_of(b);
    r = ref_new(2, (int64_t[]){2, 2});
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) r.v[i * 2 + j] = rb.v[i * 4 + 2 + j];
    free(rb.v);
    check(apply(op, 1, &y, &at), SB_DTYPE_I64, &r, "split axis -1");
    end();
}

static void case_broadcast_to(sb_op op)
{
    static const int64_t s31[] = {3, 1}, to[] = {2, 3, 4}, to0[] = {0, 3, 4};
    for (int e = 0; e < 2; e++) {
        begin();
        sb_array *a = make(SB_DTYPE_I32, 2, s31, -5, 5);
        sb_node *x = var("a", a);
        sb_attrs at = attrs_shape(3, e ? to0 : to);
        ref ra = ref_of(a), r = ref_new(3, e ? to0 : to);
        for (int64_t i = 0; i < numel(3, r.shape); i++) r.v[i] = ra.v[bidx(2, s31, 3, r.shape, i)];
        free(ra.v);
        check(apply(op, 1, &x, &at), SB_DTYPE_I32, &r, "broadcast_to");
        end();
    }
}

static void case_shape(sb_op op)
{
    static const int64_t s[] = {2, 0, 5};
    begin();
    sb_node *x = var("a", make(SB_DTYPE_F32, 3, s, 0, 1));
    ref r = ref_new(1, (int64_t[]){3});
    r.v[0] = 2, r.v[1] = 0, r.v[2] = 5;
    check(apply(op, 1, &x, NULL), SB_DTYPE_I64, &r, "shape");
    end();
}

/* ---- constructors ------------------------------------------------------------------------- */
static void case_fill(sb_op op)
{
    static const int64_t s23[] = {2, 3}, s0[] = {0, 2};
    sb_dtype dts[] = {SB_DTYPE_COUNT, SB_DTYPE_F32, SB_DTYPE_I64, SB_DTYPE_BOOL};
    bool like = op == SB_OP_ZEROS_LIKE || op == SB_OP_ONES_LIKE;
    double v = op == SB_OP_FULL ? 2.5 : op == SB_OP_ONES || op == SB_OP_ONES_LIKE ? 1 : 0;
    for (int k = 0; k < 4; k++)
        for (int e = 0; e < 2; e++) {
            begin();
            const int64_t *sh = e ? s0 : s23;
            sb_attrs at = attrs_shape(like ? -1 : 2, sh);
            at.dtype = (int8_t)dts[k];
            at.value = v;
            sb_node *x = like ? var("a", make(SB_DTYPE_I32, 2, sh, 0, 9)) : NULL;
            sb_node *n = apply(op, like ? 1 : 0, &x, &at);
            sb_dtype want = dts[k] != SB_DTYPE_COUNT ? dts[k] : like ? SB_DTYPE_I32 : SB_DTYPE_F64;
            ref r = ref_new(2, sh);
            for (int64_t i = 0; i < numel(2, sh); i++)
                r.v[i] = want == SB_DTYPE_BOOL ? v != 0 : is_float(want) ? v : trunc(v);
            check(n, want, &r, sb_op_get(op)->name);
            end();
        }
}

static void arange_one(double a, double b, double s, sb_dtype dt, bool dynamic)
{
    begin();
    sb_node *in[3] = {scalar(a, dt), scalar(b, dt), scalar(s, dt)};
    if (dynamic) {
        sb_array *stop = sb_array_new(dt, 0, NULL);
        sb_array_set_f64(stop, 0, b);
        in[1] = var("stop", stop);
    }
    sb_node *n = apply(SB_OP_ARANGE, 3, in, NULL);
    int64_t len = (int64_t)ceil((b - a) / s);
    if (len < 0) len = 0;
    ref r = ref_new(1, &len);
    for (int64_t i = 0; i < len; i++) r.v[i] = a + (double)i * s;
    check(n, is_float(dt) ? SB_DTYPE_F64 : SB_DTYPE_I64, &r, "arange");
    end();
}

static void case_arange(sb_op op)
{
    arange_one(0, 5, 1, SB_DTYPE_I64, false);
    arange_one(5, -3, -2, SB_DTYPE_I64, false);
    arange_one(3, 3, 1, SB_DTYPE_I64, false); /* empty */
    arange_one(0.5, 2, 0.25, SB_DTYPE_F64, false);
    arange_one(0, 7, 2, SB_DTYPE_I32, true);  /* length known at run time only */
}

static void case_eye(sb_op op)
{
    static const int64_t s34[] = {3, 4}, s2[] = {2};
    for (int k = 0; k < 2; k++) {
        begin();
        sb_attrs at = attrs_shape(k ? 1 : 2, k ? s2 : s34);
        at.dtype = k ? SB_DTYPE_I64 : SB_DTYPE_F32;
        int64_t sh[2] = {k ? 2 : 3, k ? 2 : 4};
        ref r = ref_new(2, sh);
        for (int i = 0; i < sh[0] && i < sh[1]; i++) r.v[i * sh[1] + i] = 1;
        check(apply(op, 0, NULL, &at), k ? SB_DTYPE_I64 : SB_DTYPE_F32, &r, "eye");
        end();
    }
}

static void case_one_hot(sb_op op)
{
    static const int64_t s22[] = {2, 2};
    for (int k = 0; k < 2; k++) {
        begin();
        sb_array *y = make(SB_DTYPE_I64, 2, s22, 0, 2);
        sb_node *x = var("y", y);
        sb_attrs at = attrs_shape(1, (int64_t[]){3});
        at.dtype = (int8_t)(k ? SB_DTYPE_F32 : SB_DTYPE_COUNT);
        ref ry = ref_of(y), r = ref_new(3, (int64_t[]){2, 2, 3});
        for (int i = 0; i < 4; i++) r.v[i * 3 + (int64_t)ry.v[i]] = 1;
        free(ry.v);
        check(apply(op, 1, &x, &at), k ? SB_DTYPE_F32 : SB_DTYPE_F64, &r, "one_hot");
        end();
    }
}

/* ---- indexing ----------------------------------------------------------------------------- */
#define NO {SB_IARG_NONE, 0}
#define K(v) {SB_IARG_CONST, (v)}
#define IN(i) {SB_IARG_INPUT, (i)}
#define SL(a, b, c) {SB_INDEX_SLICE, {a, b, c}}
#define SC(a) {SB_INDEX_SCALAR, {a, NO, NO}}
#define AR(i) {SB_INDEX_ARRAY, {IN(i), NO, NO}}

static sb_attrs attrs_idx(int n, const sb_index *ix)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nidx = (int8_t)n;
    for (int i = 0; i < n; i++) { /* field by field: padding stays zero (attrs are hashed) */
        a.idx[i].kind = ix[i].kind;
        for (int k = 0; k < 3; k++) {
            a.idx[i].a[k].kind = ix[i].a[k].kind;
            a.idx[i].a[k].v = ix[i].a[k].v;
        }
    }
    return a;
}

/* Basic indexing of x [4, 5]: slices (negative steps, clamping), negative and dynamic scalars. */
static void case_subtensor(sb_op op)
{
    static const int64_t s45[] = {4, 5};
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_I32};
    for (int k = 0; k < 2; k++) {
        begin();
        sb_array *a = make(dts[k], 2, s45, -9, 9), *i = sb_array_new(SB_DTYPE_I64, 0, NULL);
        *(int64_t *)i->data = -2;
        sb_node *in[2] = {var("a", a), var("i", i)};
        ref ra = ref_of(a);
        /* a[1:3, ::-1] */
        sb_index i1[] = {SL(K(1), K(3), NO), SL(NO, NO, K(-1))};
        sb_attrs at = attrs_idx(2, i1);
        ref r = ref_new(2, (int64_t[]){2, 5});
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 5; q++) r.v[p * 5 + q] = ra.v[(1 + p) * 5 + 4 - q];
        check(apply(op, 1, in, &at), dts[k], &r, "a[1:3, ::-1]");
        /* a[-1, 1:] */
        sb_index i2[] = {SC(K(-1)), SL(K(1), NO, NO)};
        at = attrs_idx(2, i2);
        r = ref_new(1, (int64_t[]){4});
        for (int q = 0; q < 4; q++) r.v[q] = ra.v[3 * 5 + 1 + q];
        check(apply(op, 1, in, &at), dts[k], &r, "a[-1, 1:]");
        /* a[::-2, -10:10:2] (clamped) */
        sb_index i3[] = {SL(NO, NO, K(-2)), SL(K(-10), K(10), K(2))};
        at = attrs_idx(2, i3);
        r = ref_new(2, (int64_t[]){2, 3});
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 3; q++) r.v[p * 3 + q] = ra.v[(3 - 2 * p) * 5 + 2 * q];
        check(apply(op, 1, in, &at), dts[k], &r, "a[::-2, -10:10:2]");
        /* a[i] with i = -2 given at run time, and a[3:1] (empty) */
        sb_index i4[] = {SC(IN(1))};
        at = attrs_idx(1, i4);
        r = ref_new(1, (int64_t[]){5});
        for (int q = 0; q < 5; q++) r.v[q] = ra.v[2 * 5 + q];
        check(apply(op, 2, in, &at), dts[k], &r, "a[i]");
        sb_index i5[] = {SL(K(3), K(1), NO)};
        at = attrs_idx(1, i5);
        r = ref_new(2, (int64_t[]){0, 5});
        check(apply(op, 1, in, &at), dts[k], &r, "a[3:1]");
        free(ra.v);
        end();
    }
}

static sb_array *iarr(int nd, const int64_t *sh, const int64_t *v)
{
    sb_array *a = sb_array_new(SB_DTYPE_I64, nd, sh);
    if (v) memcpy(a->data, v, sizeof(int64_t) * (size_t)numel(nd, sh));
    return a;
}

/* Advanced indexing: x[idx] (2-d idx, negatives), p[arange, y], x[:, idx], non-adjacent
 * x[idx, :, idx2], a scalar with an array, and a boolean mask. */
static void case_adv_subtensor(sb_op op)
{
    static const int64_t s345[] = {3, 4, 5};
    begin();
    sb_array *a = make(SB_DTYPE_F64, 3, s345, -9, 9);
    sb_node *x = var("a", a);
    ref ra = ref_of(a);
#define A3(i, j, k) ra.v[((i) * 4 + (j)) * 5 + (k)]
    { /* a[idx], idx [2, 2] = [[0, -1], [2, 0]] -> [2, 2, 4, 5] */
        sb_node *in[2] = {x, var("idx", iarr(2, (int64_t[]){2, 2}, (int64_t[]){0, -1, 2, 0}))};
        sb_index ix[] = {AR(1)};
        sb_attrs at = attrs_idx(1, ix);
        ref r = ref_new(4, (int64_t[]){2, 2, 4, 5});
        int64_t rows[] = {0, 2, 2, 0};
        for (int p = 0; p < 4; p++)
            for (int j = 0; j < 20; j++) r.v[p * 20 + j] = ra.v[rows[p] * 20 + j];
        check(apply(op, 2, in, &at), SB_DTYPE_F64, &r, "a[idx]");
    }
    { /* a[arange(3), y, 1:3] with y = [3, 0, -1] -> [3, 2] */
        sb_node *in[3] = {x, var("r", iarr(1, (int64_t[]){3}, (int64_t[]){0, 1, 2})),
                          var("y", iarr(1, (int64_t[]){3}, (int64_t[]){3, 0, -1}))};
        sb_index ix[] = {AR(1), AR(2), SL(K(1), K(3), NO)};
        sb_attrs at = attrs_idx(3, ix);
        ref r = ref_new(2, (int64_t[]){3, 2});
        int64_t y[] = {3, 0, 3};
        for (int p = 0; p < 3; p++)
            for (int q = 0; q < 2; q++) r.v[p * 2 + q] = A3(p, y[p], 1 + q);
        check(apply(op, 3, in, &at), SB_DTYPE_F64, &r, "a[arange, y, 1:3]");
    }
    { /* a[:, idx] with idx = [1, 1, 3] -> [3, 3, 5] */
        sb_node *in[2] = {x, var("j", iarr(1, (int64_t[]){3}, (int64_t[]){1, 1, 3}))};
        sb_index ix[] = {SL(NO, NO, NO), AR(1)};
        sb_attrs at = attrs_idx(2, ix);
        ref r = ref_new(3, (int64_t[]){3, 3, 5});
        int64_t j[] = {1, 1, 3};
        for (int p = 0; p < 3; p++)
            for (int q = 0; q < 3; q++)
                for (int l = 0; l < 5; l++) r.v[(p * 3 + q) * 5 + l] = A3(p, j[q], l);
        check(apply(op, 2, in, &at), SB_DTYPE_F64, &r, "a[:, idx]");
    }
    { /* a[i, :, k] (not adjacent: the block goes first) with i = [2, 0], k = [4, -5] -> [2, 4] */
        sb_node *in[3] = {x, var("i", iarr(1, (int64_t[]){2}, (int64_t[]){2, 0})),
                          var("k", iarr(1, (int64_t[]){2}, (int64_t[]){4, -5}))};
        sb_index ix[] = {AR(1), SL(NO, NO, NO), AR(2)};
        sb_attrs at = attrs_idx(3, ix);
        ref r = ref_new(2, (int64_t[]){2, 4});
        int64_t i[] = {2, 0}, k[] = {4, 0};
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 4; q++) r.v[p * 4 + q] = A3(i[p], q, k[p]);
        check(apply(op, 3, in, &at), SB_DTYPE_F64, &r, "a[i, :, k]");
    }
    { /* a[1, :, k] with k [2] -> [2, 4] (scalar + array, separated by a slice) */
        sb_node *in[2] = {x, var("k2", iarr(1, (int64_t[]){2}, (int64_t[]){4, -5}))};
        sb_index ix[] = {SC(K(1)), SL(NO, NO, NO), AR(1)};
        sb_attrs at = attrs_idx(3, ix);
        ref r = ref_new(2, (int64_t[]){2, 4});
        int64_t k[] = {4, 0};
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 4; q++) r.v[p * 4 + q] = A3(1, q, k[p]);
        check(apply(op, 2, in, &at), SB_DTYPE_F64, &r, "a[1, :, k]");
    }
    { /* a[m] with a boolean mask m [3] = [1, 0, 1] -> [2, 4, 5] */
        sb_array *m = sb_array_new(SB_DTYPE_BOOL, 1, (int64_t[]){3});
        ((uint8_t *)m->data)[0] = 1, ((uint8_t *)m->data)[2] = 1;
        sb_node *in[2] = {x, var("m", m)};
        sb_index ix[] = {AR(1)};
        sb_attrs at = attrs_idx(1, ix);
        ref r = ref_new(3, (int64_t[]){2, 4, 5});
        memcpy(r.v, ra.v, 20 * sizeof(double));
        memcpy(r.v + 20, ra.v + 40, 20 * sizeof(double));
        check(apply(op, 2, in, &at), SB_DTYPE_F64, &r, "a[mask]");
    }
    { /* empty index array: a[[]] -> [0, 4, 5] */
        sb_node *in[2] = {x, var("e", iarr(1, (int64_t[]){0}, NULL))};
        sb_index ix[] = {AR(1)};
        sb_attrs at = attrs_idx(1, ix);
        ref r = ref_new(3, (int64_t[]){0, 4, 5});
        check(apply(op, 2, in, &at), SB_DTYPE_F64, &r, "a[[]]");
    }
#undef A3
    free(ra.v);
    end();
}

/* set_subtensor / inc_subtensor, basic and advanced (inc accumulates repeated indices). */
static void case_set_subtensor(sb_op op)
{
    static const int64_t s53[] = {5, 3};
    bool inc = op == SB_OP_INC_SUBTENSOR;
    sb_dtype dts[] = {SB_DTYPE_F32, SB_DTYPE_I64};
    for (int k = 0; k < 2; k++) {
        begin();
        sb_array *a = make(dts[k], 2, s53, -9, 9), *y = make(dts[k], 1, (int64_t[]){2}, -9, 9);
        sb_array *yy = make(dts[k], 2, (int64_t[]){4, 3}, -9, 9);
        sb_node *x = var("a", a), *yv = var("y", y), *yyv = var("yy", yy);
        ref ra = ref_of(a), ry = ref_of(y), ryy = ref_of(yy), r;
        { /* a[1:3, -1] = / += y */
            sb_node *in[2] = {x, yv};
            sb_index ix[] = {SL(K(1), K(3), NO), SC(K(-1))};
            sb_attrs at = attrs_idx(2, ix);
            r = ref_of(a);
            for (int p = 0; p < 2; p++) r.v[(1 + p) * 3 + 2] = (inc ? r.v[(1 + p) * 3 + 2] : 0) + ry.v[p];
            check(apply(op, 2, in, &at), dts[k], &r, "a[1:3, -1] = y");
        }
        { /* a[::2] = / += 7 (a weak scalar broadcast) */
            sb_node *in[2] = {x, sb_const_scalar(C, 7, SB_DTYPE_I64, true)};
            sb_index ix[] = {SL(NO, NO, K(2))};
            sb_attrs at = attrs_idx(1, ix);
            r = ref_of(a);
            for (int p = 0; p < 5; p += 2)
                for (int q = 0; q < 3; q++) r.v[p * 3 + q] = (inc ? r.v[p * 3 + q] : 0) + 7;
            check(apply(op, 2, in, &at), dts[k], &r, "a[::2] = 7");
        }
        { /* a[idx] = / += yy with idx = [0, 4, 0, -5]: repeated rows */
            sb_node *in[3] = {x, yyv, var("idx", iarr(1, (int64_t[]){4}, (int64_t[]){0, 4, 0, -5}))};
            sb_index ix[] = {AR(2)};
            sb_attrs at = attrs_idx(1, ix);
            r = ref_of(a);
            int64_t rows[] = {0, 4, 0, 0};
            for (int p = 0; p < 4; p++)
                for (int q = 0; q < 3; q++) {
                    double *t = &r.v[rows[p] * 3 + q];
                    *t = inc ? *t + ryy.v[p * 3 + q] : ryy.v[p * 3 + q]; /* set: last wins */
                }
            check(apply(SB_OP_COUNT == op ? op : op, 3, in, &at), dts[k], &r, "a[idx] = yy");
        }
        { /* a[rows, cols] += 1 with a repeated pair */
            sb_node *in[4] = {x, sb_const_scalar(C, 1, SB_DTYPE_I64, true),
                              var("i", iarr(1, (int64_t[]){3}, (int64_t[]){1, 1, 2})),
                              var("j", iarr(1, (int64_t[]){3}, (int64_t[]){0, 0, -1}))};
            sb_index ix[] = {AR(2), AR(3)};
            sb_attrs at = attrs_idx(2, ix);
            r = ref_of(a);
            int64_t i[] = {1, 1, 2}, j[] = {0, 0, 2};
            for (int p = 0; p < 3; p++) r.v[i[p] * 3 + j[p]] = (inc ? r.v[i[p] * 3 + j[p]] : 0) + 1;
            check(apply(op, 4, in, &at), dts[k], &r, "a[i, j] = 1");
        }
        free(ra.v), free(ry.v), free(ryy.v);
        end();
    }
}

/* ---- control ------------------------------------------------------------------------------ */
static void case_ifelse(sb_op op)
{
    static const int64_t s3[] = {3};
    for (int c = 0; c < 2; c++) {
        begin();
        sb_array *cv = sb_array_new(SB_DTYPE_BOOL, 0, NULL);
        *(uint8_t *)cv->data = (uint8_t)c;
        sb_array *a = make(SB_DTYPE_F32, 1, s3, -5, 5), *b = make(SB_DTYPE_F32, 1, s3, -5, 5);
        sb_node *in[3] = {var("c", cv), var("a", a), var("b", b)};
        ref r = ref_of(c ? a : b);
        check(apply(op, 3, in, NULL), SB_DTYPE_F32, &r, "ifelse");
        end();
    }
}

static void case_identity(sb_op op)
{
    begin();
    sb_array *a = make(SB_DTYPE_F32, 2, (int64_t[]){2, 3}, -5, 5);
    sb_node *x = var("a", a);
    x = apply(SB_OP_TRANSPOSE, 1, &x, NULL);
    ref ra = ref_of(a), r = ref_new(2, (int64_t[]){3, 2});
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) r.v[j * 2 + i] = ra.v[i * 3 + j];
    free(ra.v);
    check(apply(op, 1, &x, NULL), SB_DTYPE_F32, &r, "disconnected_grad");
    end();
}

/* ---- the table ---------------------------------------------------------------------------- */
typedef void (*case_fn)(sb_op op);

static const struct op_case {
    sb_op op;
    case_fn run;
} cases[] = {
    {SB_OP_NEG, case_unary}, {SB_OP_ABS, case_unary}, {SB_OP_SIGN, case_unary},
    {SB_OP_EXP, case_unary}, {SB_OP_EXPM1, case_unary}, {SB_OP_LOG, case_unary},
    {SB_OP_LOG1P, case_unary}, {SB_OP_LOG2, case_unary}, {SB_OP_SQRT, case_unary},
    {SB_OP_SQR, case_unary}, {SB_OP_RECIPROCAL, case_unary}, {SB_OP_SIN, case_unary},
    {SB_OP_COS, case_unary}, {SB_OP_TANH, case_unary}, {SB_OP_SIGMOID, case_unary},
    {SB_OP_SOFTPLUS, case_unary}, {SB_OP_RELU, case_unary}, {SB_OP_ERF, case_unary},
    {SB_OP_FLOOR, case_unary}, {SB_OP_CEIL, case_unary}, {SB_OP_ROUND, case_unary},
    {SB_OP_LOGICAL_NOT, case_unary}, {SB_OP_CAST, case_cast},
    {SB_OP_ADD, case_binary}, {SB_OP_SUB, case_binary}, {SB_OP_MUL, case_binary},
    {SB_OP_DIV, case_binary}, {SB_OP_FLOOR_DIVIDE, case_binary}, {SB_OP_MOD, case_binary},
    {SB_OP_POW, case_binary}, {SB_OP_MAXIMUM, case_binary}, {SB_OP_MINIMUM, case_binary},
    {SB_OP_LT, case_binary}, {SB_OP_LE, case_binary}, {SB_OP_GT, case_binary},
    {SB_OP_GE, case_binary}, {SB_OP_EQ, case_binary}, {SB_OP_NE, case_binary},
    {SB_OP_LOGICAL_AND, case_binary}, {SB_OP_LOGICAL_OR, case_binary},
    {SB_OP_WHERE, case_where}, {SB_OP_CLIP, case_clip},
    {SB_OP_SUM, case_reduce}, {SB_OP_PROD, case_reduce}, {SB_OP_MEAN, case_reduce},
    {SB_OP_MAX, case_reduce}, {SB_OP_MIN, case_reduce}, {SB_OP_ALL, case_reduce},
    {SB_OP_ANY, case_reduce}, {SB_OP_LOGSUMEXP, case_reduce},
    {SB_OP_ARGMAX, case_arg}, {SB_OP_ARGMIN, case_arg},
    {SB_OP_SOFTMAX, case_softmax}, {SB_OP_LOG_SOFTMAX, case_softmax},
    {SB_OP_CROSSENTROPY, case_crossentropy},
    {SB_OP_MATMUL, case_matmul}, {SB_OP_OUTER, case_outer},
    {SB_OP_RESHAPE, case_reshape}, {SB_OP_TRANSPOSE, case_transpose},
    {SB_OP_EXPAND_DIMS, case_expand_squeeze}, {SB_OP_SQUEEZE, case_expand_squeeze},
    {SB_OP_CONCATENATE, case_join}, {SB_OP_STACK, case_join}, {SB_OP_SPLIT, case_split},
    {SB_OP_BROADCAST_TO, case_broadcast_to}, {SB_OP_SHAPE, case_shape},
    {SB_OP_ZEROS, case_fill}, {SB_OP_ONES, case_fill}, {SB_OP_FULL, case_fill},
    {SB_OP_ZEROS_LIKE, case_fill}, {SB_OP_ONES_LIKE, case_fill},
    {SB_OP_ARANGE, case_arange}, {SB_OP_EYE, case_eye}, {SB_OP_ONE_HOT, case_one_hot},
    {SB_OP_SUBTENSOR, case_subtensor}, {SB_OP_ADV_SUBTENSOR, case_adv_subtensor},
    {SB_OP_SET_SUBTENSOR, case_set_subtensor}, {SB_OP_INC_SUBTENSOR, case_set_subtensor},
    {SB_OP_IFELSE, case_ifelse}, {SB_OP_DISCONNECTED_GRAD, case_identity},
};
#define NCASES (sizeof cases / sizeof *cases)

Test(ops, coverage)
{
    for (int op = 0; op < SB_OP_COUNT; op++) {
        const sb_op_info *info = sb_op_get((sb_op)op);
        if (info->flags & (SB_F_LEAF | SB_F_SYMBOLIC)) continue;
        bool found = false;
        for (size_t i = 0; i < NCASES && !found; i++) found = (int)cases[i].op == op;
        cr_expect(found, "op %s has no case in test_ops.c", info->name);
    }
}

/* Run the table's cases whose routine is one of fns. */
static void run_cases(int nfn, const case_fn *fns)
{
    for (size_t i = 0; i < NCASES; i++)
        for (int k = 0; k < nfn; k++)
            if (cases[i].run == fns[k]) {
                rng_state = 1000 + (uint64_t)cases[i].op;
                cases[i].run(cases[i].op);
            }
}

PATH_TEST(ops, elementwise) { run_cases(5, (case_fn[]){case_unary, case_cast, case_binary, case_where, case_clip}); }
PATH_TEST(ops, reductions) { run_cases(2, (case_fn[]){case_reduce, case_arg}); }
PATH_TEST(ops, nnet) { run_cases(2, (case_fn[]){case_softmax, case_crossentropy}); }
PATH_TEST(ops, blas) { run_cases(2, (case_fn[]){case_matmul, case_outer}); }
PATH_TEST(ops, shapes)
{
    run_cases(7, (case_fn[]){case_reshape, case_transpose, case_expand_squeeze, case_join,
                             case_split, case_broadcast_to, case_shape});
}
PATH_TEST(ops, constructors) { run_cases(4, (case_fn[]){case_fill, case_arange, case_eye, case_one_hot}); }
PATH_TEST(ops, indexing)
{
    run_cases(3, (case_fn[]){case_subtensor, case_adv_subtensor, case_set_subtensor});
}
PATH_TEST(ops, control) { run_cases(2, (case_fn[]){case_ifelse, case_identity}); }

/* Kernels read strided views in place: transposed and reversed inputs to a reduction, matmul,
 * softmax, indexing and a binary op with broadcasting. */
PATH_TEST(ops, strided_views)
{
    static const int64_t s34[] = {3, 4};
    rng_state = 99;
    begin();
    sb_array *a = make(SB_DTYPE_F64, 2, s34, -2, 2);
    sb_node *x = var("a", a), *t = apply(SB_OP_TRANSPOSE, 1, &x, NULL); /* [4, 3] */
    ref ra = ref_of(a);
#define T(i, j) ra.v[(j) * 4 + (i)] /* t[i, j] */
    sb_attrs ax0 = attrs_axes(1, (int64_t[]){0});
    ref r = ref_new(1, (int64_t[]){3});
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++) r.v[j] += T(i, j);
    check(apply(SB_OP_SUM, 1, &t, &ax0), SB_DTYPE_F64, &r, "sum(a.T, axis=0)");
    sb_node *mm[2] = {t, x};
    r = ref_new(2, (int64_t[]){4, 4});
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++) r.v[i * 4 + j] += T(i, k) * ra.v[k * 4 + j];
    check(apply(SB_OP_MATMUL, 2, mm, NULL), SB_DTYPE_F64, &r, "a.T @ a");
    r = ref_new(2, (int64_t[]){4, 3});
    for (int i = 0; i < 4; i++) {
        double s = 0;
        for (int j = 0; j < 3; j++) s += exp(T(i, j));
        for (int j = 0; j < 3; j++) r.v[i * 3 + j] = exp(T(i, j)) / s;
    }
    check(apply(SB_OP_SOFTMAX, 1, &t, NULL), SB_DTYPE_F64, &r, "softmax(a.T)");
    sb_index ix[] = {SL(K(1), NO, NO), SL(NO, NO, K(-2))};
    sb_attrs at = attrs_idx(2, ix);
    sb_node *sub = apply(SB_OP_SUBTENSOR, 1, &t, &at); /* t[1:, ::-2]: [3, 2] */
    r = ref_new(2, (int64_t[]){3, 2});
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) r.v[i * 2 + j] = exp(T(1 + i, 2 - 2 * j));
    check(apply(SB_OP_EXP, 1, &sub, NULL), SB_DTYPE_F64, &r, "exp(a.T[1:, ::-2])");
    /* s - s[0]: a strided [3, 2] view minus a broadcast row of it */
    sb_index i0[] = {SC(K(0))};
    sb_attrs a0 = attrs_idx(1, i0);
    sb_node *pair[2] = {sub, apply(SB_OP_SUBTENSOR, 1, &sub, &a0)};
    r = ref_new(2, (int64_t[]){3, 2});
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) r.v[i * 2 + j] = T(1 + i, 2 - 2 * j) - T(1, 2 - 2 * j);
    check(apply(SB_OP_SUB, 2, pair, NULL), SB_DTYPE_F64, &r, "s - s[0] (strided, broadcast)");
    free(ra.v);
#undef T
    end();
}

/* Narrow integers wrap around as NumPy's do (the arithmetic runs in int64 and is cast back). */
PATH_TEST(ops, narrow_int_wraparound)
{
    begin();
    sb_array *a = sb_array_new(SB_DTYPE_U8, 1, (int64_t[]){2}), *b = sb_array_new(SB_DTYPE_I32, 1, (int64_t[]){1});
    ((uint8_t *)a->data)[0] = 250, ((uint8_t *)a->data)[1] = 3;
    ((int32_t *)b->data)[0] = 2147483647;
    sb_node *x = var("a", a), *y = var("b", b);
    sb_array *r = run(sb_apply2(C, SB_OP_ADD, x, sb_const_scalar(C, 10, SB_DTYPE_I64, true), &D), false);
    cr_assert_eq(r->dtype, SB_DTYPE_U8);
    cr_expect_eq(((uint8_t *)r->data)[0], 4);
    cr_expect_eq(((uint8_t *)r->data)[1], 13);
    sb_array_free(r);
    r = run(sb_apply2(C, SB_OP_ADD, y, sb_const_scalar(C, 1, SB_DTYPE_I64, true), &D), false);
    cr_assert_eq(r->dtype, SB_DTYPE_I32);
    cr_expect_eq(((int32_t *)r->data)[0], INT32_MIN);
    sb_array_free(r);
    end();
}

/* ---- the CPU backend's run paths and in-place updates (backends/cpu/cpu.c) ----------------- */
static sb_be_program *compile_cpu(sb_node **outs, int nout, unsigned flags)
{
    sb_diag_clear(&D);
    return sb_backend_get("cpu")->compile(C, nout, outs, flags, &D);
}

/* SB_CPU_EXEC picks the path: "plan" refuses what the plan cannot compile, the default falls
 * back to the evaluator (whose run then reports the problem), a bad value is an error; the
 * float64 reference mode always runs the evaluator. */
Test(ops, cpu_exec_modes)
{
    const struct sb_backend_i *be = sb_backend_get("cpu");
    begin();
    sb_node *x = var("a", make(SB_DTYPE_F32, 1, (int64_t[]){3}, -1, 1));
    sb_node *g = sb_parse_expr(C, "grad(sum(a * a), a)", NULL, NULL, &D);
    cr_assert(g, "%s", D.msg);
    setenv("SB_CPU_EXEC", "fast", 1);
    cr_expect_null(compile_cpu(&x, 1, 0));
    cr_expect(strstr(D.msg, "SB_CPU_EXEC='fast'"), "%s", D.msg);
    setenv("SB_CPU_EXEC", "plan", 1);
    cr_expect_null(compile_cpu(&g, 1, 0));
    cr_expect(strstr(D.msg, "must be expanded"), "%s", D.msg);
    sb_be_program *p = compile_cpu(&g, 1, SB_BE_F64); /* reference mode: the evaluator */
    cr_assert(p, "%s", D.msg);
    sb_array *r = NULL;
    sb_binding b = {"a", vvals[0]};
    cr_expect_neq(be->run(p, 1, &b, &r, &D), SB_OK);
    cr_expect(strstr(D.msg, "must be expanded"), "%s", D.msg);
    be->program_free(p);
    unsetenv("SB_CPU_EXEC");
    cr_assert(p = compile_cpu(&g, 1, 0), "%s", D.msg); /* auto: falls back */
    sb_diag_clear(&D);
    cr_expect_neq(be->run(p, 1, &b, &r, &D), SB_OK);
    cr_expect(strstr(D.msg, "must be expanded"), "%s", D.msg);
    cr_expect_null(r);
    be->program_free(p);
    end();
}

/* update_inplace: the new value lands in the bound array (res[i] NULL), the other outputs see
 * the values before the run; refused on the evaluator and where the writer reads a view. */
Test(ops, cpu_update_inplace)
{
    const struct sb_backend_i *be = sb_backend_get("cpu");
    begin();
    sb_array *a = make(SB_DTYPE_F32, 1, (int64_t[]){4}, -1, 1), *a0 = sb_array_copy(a);
    sb_node *w = var("w", a);
    sb_node *outs[2] = {sb_parse_expr(C, "sum(w)", NULL, NULL, &D),
                        sb_parse_expr(C, "w * 0.5 + 1", NULL, NULL, &D)};
    cr_assert(outs[0] && outs[1], "%s", D.msg);
    sb_binding b = {"w", a};
    setenv("SB_CPU_EXEC", "eval", 1);
    sb_be_program *p = compile_cpu(outs, 2, 0);
    cr_expect_eq(be->update_inplace(p, 1, w, &D), SB_ERR_UNSUPPORTED);
    be->program_free(p);
    unsetenv("SB_CPU_EXEC");
    p = compile_cpu(outs, 2, 0);
    cr_assert_eq(be->update_inplace(p, 1, w, &D), SB_OK, "%s", D.msg);
    for (int run = 0; run < 2; run++) {
        sb_array *r[2] = {NULL, NULL};
        cr_assert_eq(be->run(p, 1, &b, r, &D), SB_OK, "%s", D.msg);
        cr_expect_null(r[1]);
        double s = 0;
        for (int i = 0; i < 4; i++) {
            double old = sb_array_get_f64(a0, i), now = old * 0.5 + 1;
            s += old;
            cr_expect_float_eq(sb_array_get_f64(a, i), now, 1e-6, "run %d, element %d", run, i);
            sb_array_set_f64(a0, i, (float)now);
        }
        cr_expect_float_eq(sb_array_get_f64(r[0], 0), s, 1e-5, "sum sees the old w");
        sb_array_free(r[0]);
    }
    be->program_free(p);
    sb_node *rev = sb_parse_expr(C, "w[::-1] + 1", NULL, NULL, &D); /* reads w reversed */
    p = compile_cpu(&rev, 1, 0);
    cr_expect_eq(be->update_inplace(p, 0, w, &D), SB_ERR_UNSUPPORTED);
    sb_array *r = NULL;
    cr_assert_eq(be->run(p, 1, &b, &r, &D), SB_OK, "%s", D.msg); /* still runs, copying */
    cr_assert_not_null(r);
    cr_expect_float_eq(sb_array_get_f64(r, 0), sb_array_get_f64(a, 3) + 1, 1e-6);
    sb_array_free(r);
    be->program_free(p);
    sb_array_free(a0);
    end();
}

/* A run that fails writes into no bound array, even when the failing write comes after
 * another one (every write is checked before the first). */
Test(ops, cpu_update_inplace_failed_run_writes_nothing)
{
    const struct sb_backend_i *be = sb_backend_get("cpu");
    begin();
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){-1});
    const char *names[4] = {"u", "v", "du", "dv"};
    sb_node *n[4];
    for (int i = 0; i < 4; i++) {
        vnames[i] = names[i];
        vvals[i] = make(SB_DTYPE_F32, 1, (int64_t[]){i == 3 ? 2 : 3}, -1, 1); /* dv: bad */
        n[i] = sb_input(C, names[i], &t);
    }
    nvars = 4;
    sb_node *outs[2] = {sb_apply2(C, SB_OP_ADD, n[0], n[2], &D), sb_apply2(C, SB_OP_ADD, n[1], n[3], &D)};
    sb_be_program *p = compile_cpu(outs, 2, 0);
    cr_assert_eq(be->update_inplace(p, 0, n[0], &D), SB_OK, "%s", D.msg);
    cr_assert_eq(be->update_inplace(p, 1, n[1], &D), SB_OK, "%s", D.msg);
    sb_array *u0 = sb_array_copy(vvals[0]), *v0 = sb_array_copy(vvals[1]), *r[2];
    sb_binding b[4];
    for (int i = 0; i < 4; i++) b[i] = (sb_binding){names[i], vvals[i]};
    for (int order = 0; order < 2; order++) { /* the bad write second, then first */
        sb_diag_clear(&D);
        cr_expect_neq(be->run(p, 4, b, r, &D), SB_OK);
        cr_expect_null(r[0]);
        for (int i = 0; i < 3; i++) {
            cr_expect_eq(sb_array_get_f64(vvals[0], i), sb_array_get_f64(u0, i), "u changed");
            cr_expect_eq(sb_array_get_f64(vvals[1], i), sb_array_get_f64(v0, i), "v changed");
        }
        be->program_free(p);
        sb_node *rev[2] = {outs[1], outs[0]};
        p = compile_cpu(rev, 2, 0);
        cr_assert_eq(be->update_inplace(p, 0, n[1], &D), SB_OK, "%s", D.msg);
        cr_assert_eq(be->update_inplace(p, 1, n[0], &D), SB_OK, "%s", D.msg);
    }
    be->program_free(p);
    sb_array_free(u0);
    sb_array_free(v0);
    end();
}
