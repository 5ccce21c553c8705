/* test_cuda.c: the CUDA backend (backends/cuda).
 *
 * Without a GPU (CI, the build machines): the check macro's messages, code generation for a
 * table of expressions (which steps the program makes, what the generated source contains),
 * NVRTC compiling every generated kernel to PTX for compute_90, the in-memory and on-disk
 * kernel caches, the pool's size classes, and the clean "no CUDA device" errors.
 * With a GPU (the device tool): the same expressions run on the device and are compared with
 * the CPU evaluator in float64 mode; residency of returned values, pool reuse and CUDA graph
 * replay. Device tests skip with "no CUDA device" where cudaGetDeviceCount fails. (The op table
 * of test_ops.c also runs on "cuda" whenever a device is present.) */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/cuda/cu-impl.h"

/* Defined by cuda_emu.c in test-cuda-emu (the CPU stand-in for the CUDA libraries). */
extern bool sb_cu_emulated __attribute__((weak));
static bool emulated(void)
{
    return &sb_cu_emulated && sb_cu_emulated;
}

/* Tests of the real NVRTC / a real device's timing skip under emulation. */
static void need_real(void)
{
    if (emulated()) cr_skip_test("emulated CUDA (cuda_emu.c)");
}

/* ---- the check macro ------------------------------------------------------------------------- */
static cudaError_t fail_rt(void)
{
    return cudaErrorMemoryAllocation;
}
static cublasStatus_t fail_blas(void)
{
    return CUBLAS_STATUS_NOT_INITIALIZED;
}
static nvrtcResult fail_nvrtc(void)
{
    return NVRTC_ERROR_COMPILATION;
}
static int calls;
static cudaError_t ok_counted(void)
{
    calls++;
    return cudaSuccess;
}

Test(cuda, check_macro_formats_call_file_line)
{
    sb_diag d = {0};
    int line = __LINE__ + 1;
    cr_assert_eq(SB_CU_CHECK(fail_rt(), &d), SB_ERR_INTERNAL);
    char want[64];
    snprintf(want, sizeof want, "at test_cuda.c:%d", line);
    cr_expect(strstr(d.msg, "fail_rt() failed: cudaErrorMemoryAllocation"), "%s", d.msg);
    cr_expect(strstr(d.msg, want), "%s (want %s)", d.msg, want);
    sb_diag_clear(&d);
    cr_assert_eq(SB_CU_CHECK(fail_blas(), &d), SB_ERR_INTERNAL);
    cr_expect(strstr(d.msg, "fail_blas() failed: CUBLAS_STATUS_NOT_INITIALIZED"), "%s", d.msg);
    sb_diag_clear(&d);
    cr_assert_eq(SB_CU_CHECK(fail_nvrtc(), &d), SB_ERR_INTERNAL);
    cr_expect(strstr(d.msg, "fail_nvrtc() failed: NVRTC error 6"), "%s", d.msg);
    sb_diag_clear(&d);
    calls = 0;
    cr_expect_eq(SB_CU_CHECK(ok_counted(), &d), SB_OK);
    cr_expect_eq(calls, 1, "the call is evaluated once");
    cr_expect_eq(d.status, SB_OK);
}

/* ---- expressions and programs ---------------------------------------------------------------- */
static sb_ctx *C;
static sb_diag D;

static void mk(const char *name, const char *type)
{
    sb_type t;
    cr_assert_eq(sb_type_parse(type, &t, &D), SB_OK, "%s", D.msg);
    cr_assert(sb_input(C, name, &t));
}

static void setup(void)
{
    C = sb_ctx_init();
    sb_diag_clear(&D);
    mk("x", "float32[?, ?]");
    mk("y", "float32[?, ?]");
    mk("z", "float32[?, ?]");
    mk("w", "float32[?, ?]");
    mk("b", "float32[?]");
    mk("W", "float32[?, ?]");
    mk("d", "float64[?, ?]");
    mk("i", "int64[?, ?]");
    mk("lab", "int32[?]");
    mk("v", "float32[?]");
}

static void teardown(void)
{
    sb_ctx_free(C);
}

static sb_node *parse(const char *e)
{
    sb_node *n = sb_parse_expr(C, e, NULL, NULL, &D);
    cr_assert(n, "%s: %s", e, D.msg);
    return n;
}

typedef struct plan_case {
    const char *expr;
    int group, perm, row, col, gemm, view, host; /* expected steps by kind */
    const char *needle;                          /* in some step's source (NULL: none) */
    int fold;                                    /* expected folded steps */
} plan_case;

static const plan_case plans[] = {
    {"tanh(x*y + z) * exp(-w) + 0.5*x", 1, 0, 0, 0, 0, 0, 0, "float4"},
    {"sigmoid(x) * (1 - sigmoid(x))", 2, 0, 0, 0, 0, 0, 0, "sb_sigmoid("},
    {"x + b", 1, 0, 0, 0, 0, 0, 0, "st1.d[d]"},
    {"maximum(x, 0.0) // y % 3.0", 1, 0, 0, 0, 0, 0, 0, "sb_floordiv("},
    {"where(x > y, x, y ** 2)", 1, 0, 0, 0, 0, 0, 0, "? ((float)"},
    {"clip(d, -1.0, 1.0) * 2", 1, 0, 0, 0, 0, 0, 0, "sb_min(sb_max("},
    {"(i * 3 + 1) // 2", 1, 0, 0, 0, 0, 0, 0, "long long"},
    {"x.astype('float64') + d", 1, 0, 0, 0, 0, 0, 0, "((double)r0)"},
    {"softmax(x)", 0, 0, 1, 0, 0, 0, 0, "sb_merge("},
    {"log_softmax(x * 2)", 1, 0, 1, 0, 0, 0, 0, "log(s)"},
    {"softmax(x * 3)", 1, 0, 1, 0, 0, 0, 0, "exp((cache ? row[j] : xr[j]) - m)"},
    {"logsumexp(x, axis=1)", 0, 0, 1, 0, 0, 0, 0, "m + log(s)"},
    {"sum(x, axis=1)", 0, 0, 1, 0, 0, 0, 0, "__shfl_xor_sync"},
    {"mean(d, axis=0)", 0, 0, 0, 1, 0, 0, 0, "v / (double)rows"},
    {"max(x)", 0, 0, 1, 0, 0, 0, 0, "sb_max(x, y)"},
    {"categorical_crossentropy(softmax(x), lab)", 0, 0, 2, 0, 0, 0, 0, "-log(p[r * n + c])"},
    {"categorical_crossentropy(softmax(x), y)", 0, 0, 2, 0, 0, 0, 0, "t[r * n + j] * log("},
    {"relu(x @ W + b)", 1, 0, 0, 0, 1, 0, 0, "sb_relu("},
    {"x.T", 0, 1, 0, 0, 0, 0, 0, "o0 += idx * (unsigned)st0.d[d]"},
    {"reshape(x, (-1,)) * 2", 1, 0, 0, 0, 0, 1, 0, NULL},
    {"argmax(x, axis=1)", 0, 0, 0, 0, 0, 0, 1, NULL},
    {"concatenate([x, y], axis=0)", 0, 0, 0, 0, 0, 0, 1, NULL},
    {"ones_like(x) * 3 + zeros_like(b)", 3, 0, 0, 0, 0, 0, 0, "(float)(0x1p+0f)"},
    {"x + arange(0, 5)", 1, 0, 0, 0, 0, 0, 0, NULL, 1},
    /* views: no kernel; transposes read by cuBLAS as op(T): no step unless another reads them */
    {"expand_dims(x, 0) + squeeze(expand_dims(x * 2, 1), 1)", 2, 0, 0, 0, 0, 3, 0, NULL},
    {"x.T @ y", 0, 0, 0, 0, 1, 0, 0, NULL},
    {"x @ W.T + b", 1, 0, 0, 0, 1, 0, 0, NULL},
    {"W.T @ v", 0, 0, 0, 0, 1, 0, 0, NULL},
    {"x.T @ y * sum(x.T)", 1, 1, 1, 0, 1, 0, 0, NULL},
};

static int count_kind(const int *c, int k)
{
    return c[k];
}

/* Compile the expression on the cuda backend (no device needed) and check its steps. */
static sb_be_program *compile_case(const plan_case *pc)
{
    const struct sb_backend_i *be = sb_backend_get("cuda");
    cr_assert(be, "cuda backend listed in a CUDA build");
    sb_node *n = parse(pc->expr);
    sb_be_program *p = be->compile(C, 1, &n, 0, &D);
    cr_assert(p, "%s: %s", pc->expr, D.msg);
    int c[SB_CU_NKINDS], fused;
    sb_cu_prog_stats(p, c, &fused);
    int want[SB_CU_NKINDS] = {0,         pc->group, pc->perm, pc->row, pc->col,
                              pc->gemm,  pc->view,  pc->host, pc->fold};
    static const char *const kn[] = {"leaf", "group", "perm", "row", "col",
                                     "gemm", "view",  "host", "fold"};
    for (int k = 1; k < SB_CU_NKINDS; k++)
        cr_expect_eq(count_kind(c, k), want[k], "%s: %d %s steps, expected %d", pc->expr, c[k],
                     kn[k], want[k]);
    return p;
}

Test(cuda, codegen_plans_and_sources, .init = setup, .fini = teardown)
{
    for (size_t i = 0; i < sizeof plans / sizeof *plans; i++) {
        sb_be_program *p = compile_case(&plans[i]);
        bool found = !plans[i].needle;
        for (int s = 0; !found && s < 64; s++) {
            const char *src = sb_cu_prog_source(p, s);
            found = src && strstr(src, plans[i].needle);
        }
        cr_expect(found, "%s: no generated source contains \"%s\"", plans[i].expr,
                  plans[i].needle);
        sb_cu_prog_free(p);
    }
}

/* NVRTC (no GPU needed) compiles every step's kernel of every case to PTX for compute_90. */
Test(cuda, nvrtc_compiles_every_generated_kernel, .init = setup, .fini = teardown)
{
    need_real();
    setenv("SB_CUDA_CACHE", "", 1); /* compile for real, no disk cache */
    sb_cu_nvrtc_clear();
    int nkernels = 0;
    for (size_t i = 0; i < sizeof plans / sizeof *plans; i++) {
        sb_be_program *p = compile_case(&plans[i]);
        for (int s = 0; s < 64; s++) {
            const char *src = sb_cu_prog_source(p, s);
            if (!src) continue;
            /* the step's name is in its source: "void __launch_bounds__(..) NAME(" or "void NAME(" */
            const char *k = strstr(src, "sbk_");
            const char *e = strstr(src, "extern \"C\"");
            cr_assert(k && e, "%s: no kernel in source", plans[i].expr);
            const char *nm = strstr(e, "sbk_");
            size_t len = strcspn(nm, "(");
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)len, nm);
            sb_cu_src cs = {name, (char *)src};
            const char *ptx = sb_cu_nvrtc_ptx(&cs, 90, &D);
            cr_assert(ptx, "%s: %s", plans[i].expr, D.msg);
            char entry[96];
            snprintf(entry, sizeof entry, ".entry %s(", name);
            cr_expect(strstr(ptx, entry), "%s: PTX lacks %s", plans[i].expr, entry);
            cr_expect(strstr(ptx, ".target sm_90"), "%s: PTX target", plans[i].expr);
            nkernels++;
        }
        sb_cu_prog_free(p);
    }
    cr_expect_geq(nkernels, 20);
}

/* Every row / column kernel kind and dtype compiles. */
Test(cuda, nvrtc_compiles_row_and_col_kernels)
{
    need_real();
    setenv("SB_CUDA_CACHE", "", 1);
    sb_diag d = {0};
    sb_dtype fl[] = {SB_DTYPE_F32, SB_DTYPE_F64};
    sb_dtype labs[] = {SB_DTYPE_U8, SB_DTYPE_I32, SB_DTYPE_I64};
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < SB_CU_ROW_COUNT; k++)
            for (int l = 0; l < (k == SB_CU_ROW_XENT_LABELS ? 3 : 1); l++) {
                sb_cu_src s = sb_cu_gen_row((sb_cu_row)k, fl[f], labs[l]);
                sb_diag_clear(&d);
                cr_expect(sb_cu_nvrtc_ptx(&s, 90, &d), "%s: %s", s.name, d.msg);
                sb_cu_src_free(&s);
            }
    for (int f = 0; f < 2; f++)
        for (int k = SB_CU_ROW_SUM; k <= SB_CU_ROW_MIN; k++) {
            sb_cu_src s = sb_cu_gen_col((sb_cu_row)k, fl[f]);
            sb_diag_clear(&d);
            cr_expect(sb_cu_nvrtc_ptx(&s, 90, &d), "%s: %s", s.name, d.msg);
            sb_cu_src_free(&s);
        }
}

/* A compile error comes back with NVRTC's log. */
Test(cuda, nvrtc_reports_compile_errors)
{
    need_real();
    setenv("SB_CUDA_CACHE", "", 1);
    sb_diag d = {0};
    sb_cu_src s = {"sbk_bad", "extern \"C\" __global__ void sbk_bad() { undeclared_thing; }"};
    cr_assert_null(sb_cu_nvrtc_ptx(&s, 90, &d));
    cr_expect(strstr(d.msg, "NVRTC cannot compile kernel sbk_bad"), "%s", d.msg);
    cr_expect(strstr(d.msg, "undeclared_thing"), "the log names the error: %s", d.msg);
}

/* Same source: the second compile hits memory; after clearing memory, the disk. */
Test(cuda, nvrtc_cache_memory_then_disk)
{
    need_real();
    char dir[] = "/tmp/sb-cuda-cache-XXXXXX";
    cr_assert(mkdtemp(dir));
    setenv("SB_CUDA_CACHE", dir, 1);
    sb_cu_nvrtc_clear();
    sb_cu_group g = {0};
    int a = sb_cu_group_leaf(&g, SB_DTYPE_F32);
    int e = sb_cu_group_add(&g, SB_OP_EXP, SB_DTYPE_F32, SB_DTYPE_F32, a, -1, -1, 0);
    sb_cu_group_add(&g, SB_OP_MUL, SB_DTYPE_F32, SB_DTYPE_F32, e, a, -1, 0);
    sb_cu_src s = sb_cu_gen_group(&g);
    sb_diag d = {0};
    sb_cu_nvrtc_stats st;
    const char *p1 = sb_cu_nvrtc_ptx(&s, 90, &d);
    cr_assert(p1, "%s", d.msg);
    sb_cu_nvrtc_stats_get(&st);
    cr_expect(st.compiled == 1 && st.mem_hits == 0 && st.disk_hits == 0 && st.disk_writes == 1);
    const char *p2 = sb_cu_nvrtc_ptx(&s, 90, &d);
    sb_cu_nvrtc_stats_get(&st);
    cr_expect(p2 == p1 && st.compiled == 1 && st.mem_hits == 1, "second compile: memory hit");
    char key[33], path[128];
    sb_cu_nvrtc_key(&s, 90, key);
    snprintf(path, sizeof path, "%s/%s.ptx", dir, key);
    cr_expect_eq(access(path, R_OK), 0, "%s on disk", path);
    char *copy = sb_xstrdup(p1);
    sb_cu_nvrtc_clear();
    const char *p3 = sb_cu_nvrtc_ptx(&s, 90, &d);
    sb_cu_nvrtc_stats_get(&st);
    cr_expect(st.compiled == 0 && st.disk_hits == 1, "after clear: disk hit");
    cr_expect_str_eq(p3, copy);
    /* another architecture is another key */
    char key2[33];
    sb_cu_nvrtc_key(&s, 80, key2);
    cr_expect_str_neq(key, key2);
    free(copy);
    sb_cu_src_free(&s);
    remove(path);
    rmdir(dir);
    sb_cu_nvrtc_clear();
}

/* Equal groups give equal sources and names; different ones differ. */
Test(cuda, codegen_names_hash_the_body)
{
    sb_cu_group g = {0}, h = {0};
    for (int k = 0; k < 2; k++) {
        sb_cu_group *q = k ? &h : &g;
        int a = sb_cu_group_leaf(q, SB_DTYPE_F64);
        sb_cu_group_add(q, k ? SB_OP_SIN : SB_OP_COS, SB_DTYPE_F64, SB_DTYPE_F64, a, -1, -1, 0);
    }
    sb_cu_src a = sb_cu_gen_group(&g), a2 = sb_cu_gen_group(&g), b = sb_cu_gen_group(&h);
    cr_expect_str_eq(a.name, a2.name);
    cr_expect_str_eq(a.code, a2.code);
    cr_expect_str_neq(a.name, b.name);
    cr_expect(strstr(a.code, "cos(") && !strstr(a.code, "float4"), "double group: no float4");
    sb_cu_src_free(&a);
    sb_cu_src_free(&a2);
    sb_cu_src_free(&b);
}

Test(cuda, pool_size_classes)
{
    cr_expect_eq(sb_cu_pool_class(1), 256);
    cr_expect_eq(sb_cu_pool_class(256), 256);
    cr_expect_eq(sb_cu_pool_class(257), 288);
    cr_expect_eq(sb_cu_pool_class(4096), 4096);
    cr_expect_eq(sb_cu_pool_class(4097), 4608);
    for (size_t n = 1; n < (1u << 24); n = n * 3 + 1) {
        size_t c = sb_cu_pool_class(n);
        cr_expect(c >= n && c <= n + n / 8 + 256, "class of %zu is %zu", n, c);
    }
}

/* ---- device presence ------------------------------------------------------------------------- */
Test(cuda, no_device_is_a_clear_error, .init = setup, .fini = teardown)
{
    sb_diag d = {0};
    bool ok = sb_backend_available("cuda", &d);
    if (ok) cr_skip_test("a CUDA device is present");
    cr_expect_eq(d.status, SB_ERR_UNSUPPORTED);
    cr_expect(strstr(d.msg, "backend 'cuda': no CUDA device found (cudaGetDeviceCount: "),
              "%s", d.msg);
    const struct sb_backend_i *be = sb_backend_get("cuda");
    cr_assert(be && be->available && !be->available());
    sb_node *n = parse("x + 1");
    sb_be_program *p = be->compile(C, 1, &n, 0, &D);
    cr_assert(p, "compiling needs no device: %s", D.msg);
    sb_array *x = sb_array_new(SB_DTYPE_F32, 2, (int64_t[]){2, 2}), *r = (sb_array *)1;
    sb_binding b = {"x", x};
    sb_diag_clear(&D);
    cr_expect_neq(be->run(p, 1, &b, &r, &D), SB_OK);
    cr_expect_null(r);
    cr_expect(strstr(D.msg, "no CUDA device found"), "%s", D.msg);
    cr_expect_null(be->buffer_alloc(16, &D));
    be->program_free(p);
    sb_array_free(x);
    sb_diag_clear(&d);
    cr_expect(sb_backend_available("cpu", &d));
    cr_expect(!sb_backend_available("tpu", &d));
    cr_expect(strstr(d.msg, "backend 'tpu' is not available in this build"), "%s", d.msg);
}

/* ---- on a device: results against the CPU evaluator in float64 ------------------------------- */
static void need_device(void)
{
    if (!sb_cu_device_ok(NULL)) cr_skip_test("no CUDA device");
}

static sb_array *rand_array(sb_dtype dt, int nd, const int64_t *shape, uint64_t seed, double lo,
                            double hi)
{
    sb_array *a = sb_array_new(dt, nd, shape);
    for (int64_t i = 0; i < sb_array_numel(a); i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(seed >> 11) / 9007199254740992.0;
        sb_array_set_f64(a, i, dt == SB_DTYPE_I32 ? floor(u * hi) : lo + (hi - lo) * u);
    }
    return a;
}

typedef struct dev_case {
    const char *expr;
    double tol;
} dev_case;

static const dev_case dev_cases[] = {
    {"tanh(x*y + z) * exp(-w) + 0.5*x", 1e-5}, {"x + b", 1e-6},
    {"maximum(x, 0.0) // y % 3.0", 1e-5},       {"where(x > y, x, y ** 2)", 1e-6},
    {"softmax(x)", 1e-6},                       {"log_softmax(x * 2)", 1e-5},
    {"logsumexp(x, axis=1)", 1e-5},             {"sum(x, axis=1)", 1e-5},
    {"mean(x, axis=0)", 1e-5},                  {"max(x)", 0},
    {"categorical_crossentropy(softmax(x), lab)", 1e-5},
    {"relu(x @ W + b)", 1e-4},                  {"x.T * 2", 0},
    {"reshape(x, (-1,)) * 2", 0},               {"argmax(x, axis=1)", 0},
    {"concatenate([x, y], axis=0)", 0},         {"sum(x @ W, axis=0) + v", 1e-4},
    /* views (an output view, a view whose input has other consumers) and op(T) gemms */
    {"expand_dims(x, 0) + squeeze(expand_dims(x * 2, 1), 1)", 1e-6},
    {"reshape(x * 3, (-1,)) * 2 + sum(x * 3)", 1e-5},
    {"reshape(x * 2, (-1, 1))", 0},              {"x.T @ y", 1e-4},
    {"x @ W.T + b", 1e-4},                       {"W.T @ v", 1e-4},
    {"x.T @ y * sum(x.T)", 1e-4},                {"x.T.T @ W.T", 1e-4},
    {"reshape(x.T, (-1,)) * 2", 0},              {"(x * 2).T @ (y + 1) - 1", 1e-4},
    /* strided groups whose dims collapse ([2, R, K] + [R, K]: [2, R*K]) or do not */
    {"stack([x, y]) + x", 1e-6},                 {"expand_dims(x, 2) * expand_dims(y, 2) + expand_dims(b, 1)", 1e-6},
};

/* Bindings for the float32 inputs of the table: x, y, z, w [R, K], W [K, K], b, v [K]. */
static int bind_all(sb_binding *b, sb_array **keep, int64_t R, int64_t K)
{
    const char *names[] = {"x", "y", "z", "w", "W"};
    int n = 0;
    for (int i = 0; i < 5; i++) {
        int64_t sh[2] = {i == 4 ? K : R, K};
        keep[n] = rand_array(SB_DTYPE_F32, 2, sh, 7 + (uint64_t)i, -2, 2);
        b[n] = (sb_binding){names[i], keep[n]};
        n++;
    }
    keep[n] = rand_array(SB_DTYPE_F32, 1, &K, 99, -1, 1);
    b[n] = (sb_binding){"b", keep[n]};
    n++;
    keep[n] = rand_array(SB_DTYPE_F32, 1, &K, 98, -1, 1);
    b[n] = (sb_binding){"v", keep[n]};
    n++;
    keep[n] = rand_array(SB_DTYPE_I32, 1, &R, 5, 0, (double)K);
    b[n] = (sb_binding){"lab", keep[n]};
    return n + 1;
}

static void compare(const sb_array *got, const sb_array *want, double tol, const char *what)
{
    cr_assert_eq(got->ndim, want->ndim, "%s: ndim", what);
    for (int i = 0; i < got->ndim; i++) cr_assert_eq(got->shape[i], want->shape[i], "%s", what);
    for (int64_t i = 0; i < sb_array_numel(want); i++) {
        double g = sb_array_get_f64(got, i), w = sb_array_get_f64(want, i);
        cr_assert(fabs(g - w) <= tol * (1 + fabs(w)) || (isnan(g) && isnan(w)),
                  "%s: element %lld is %.9g, expected %.9g", what, (long long)i, g, w);
    }
}

static void run_case(const dev_case *c, int64_t R, int64_t K, int reps)
{
    sb_binding b[16];
    sb_array *keep[16];
    int nb = bind_all(b, keep, R, K);
    sb_node *n = parse(c->expr);
    sb_array *want = NULL;
    cr_assert_eq(sb_eval(C, 1, &n, nb, b, true, &want, &D), SB_OK, "%s: %s", c->expr, D.msg);
    const struct sb_backend_i *be = sb_backend_get("cuda");
    sb_be_program *p = be->compile(C, 1, &n, 0, &D);
    cr_assert(p, "%s: %s", c->expr, D.msg);
    for (int k = 0; k < reps; k++) {
        sb_array *got = NULL;
        cr_assert_eq(be->run(p, nb, b, &got, &D), SB_OK, "%s: %s", c->expr, D.msg);
        compare(got, want, c->tol, c->expr);
        sb_array_free(got);
    }
    be->program_free(p);
    sb_array_free(want);
    for (int i = 0; i < nb; i++) sb_array_free(keep[i]);
}

Test(cuda, device_expressions_match_cpu_f64, .init = setup, .fini = teardown)
{
    need_device();
    int64_t big[][2] = {{3, 5}, {64, 1000}, {257, 33}}, small[][2] = {{3, 5}, {9, 40}};
    bool emu = emulated(); /* emulated warps are slow: two small sizes */
    int64_t(*sizes)[2] = emu ? small : big;
    for (size_t s = 0; s < (emu ? 2u : 3u); s++)
        for (size_t i = 0; i < sizeof dev_cases / sizeof *dev_cases; i++)
            run_case(&dev_cases[i], sizes[s][0], sizes[s][1], 2);
}

Test(cuda, device_graph_replay_matches, .init = setup, .fini = teardown)
{
    need_device();
    need_real(); /* graphs are not emulated */
    setenv("SB_CUDA_GRAPH", "1", 1);
    for (size_t i = 0; i < sizeof dev_cases / sizeof *dev_cases; i++)
        run_case(&dev_cases[i], 64, 100, 3);
    unsetenv("SB_CUDA_GRAPH");
}

/* Steady state: the second run allocates nothing; an output bound again stays on the device. */
Test(cuda, device_pool_reuse_and_residency, .init = setup, .fini = teardown)
{
    need_device();
    const struct sb_backend_i *be = sb_backend_get("cuda");
    sb_node *n = parse("x * 0.5 + 1");
    sb_be_program *p = be->compile(C, 1, &n, 0, &D);
    int64_t sh[2] = {100, 100};
    sb_array *x = rand_array(SB_DTYPE_F32, 2, sh, 3, -1, 1), *r1 = NULL, *r2 = NULL;
    sb_binding b = {"x", x};
    cr_assert_eq(be->run(p, 1, &b, &r1, &D), SB_OK, "%s", D.msg);
    sb_cu_pool_stats before, after;
    sb_cu_pool_stats_get(&before);
    b.value = r1; /* the previous output: used in place on the device */
    cr_assert_eq(be->run(p, 1, &b, &r2, &D), SB_OK, "%s", D.msg);
    sb_cu_pool_stats_get(&after);
    cr_expect_leq(after.mallocs - before.mallocs, 1, "at most the kept output's block is new");
    for (int64_t i = 0; i < 10000; i++)
        cr_assert_float_eq(sb_array_get_f64(r2, i), sb_array_get_f64(r1, i) * 0.5 + 1, 1e-6);
    sb_array_free(r1);
    sb_array_free(r2);
    sb_array_free(x);
    be->program_free(p);
}

/* The benchmark's workloads compile (plans printed without a device, timed with one).
 * SB_CUDA_BENCH=1: the full sizes, and the table printed (backends/cuda/gpu_run.sh). */
Test(cuda, bench_plans, .timeout = 600)
{
    need_real();
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    sb_diag d = {0};
    bool full = getenv("SB_CUDA_BENCH") && *getenv("SB_CUDA_BENCH") == '1';
    cr_assert_eq(sb_be_cuda_bench(f, !full, &d), 0, "%s", d.msg);
    fclose(f);
    if (full) printf("%s", buf);
    cr_expect(strstr(buf, "G1 fused elementwise   plan: 1 fused groups"), "%s", buf);
    cr_expect(strstr(buf, "G2 row softmax         plan: 0 fused groups (0 nodes), 1 row"), "%s", buf);
    cr_expect(strstr(buf, "G3 MLP step b=128"), "%s", buf);
    cr_expect(strstr(buf, "G4 SGEMM               plan: 0 fused groups (0 nodes), 0 row, 0 col, 1 gemm"), "%s", buf);
    free(buf);
}

/* ---- generated group kernels, emulated on the CPU ---------------------------------------------
 * Without a GPU the group kernels are still checked for what they compute: their source is
 * compiled as C++ with g++ (CUDA keywords defined away, float4 and the thread indices
 * emulated), every (block, thread) of the launch is called in turn, and the results are compared
 * with the CPU evaluator. Flat (float4) and strided (broadcast) paths are both covered. Row
 * kernels (shuffles, __syncthreads) need a device. */
typedef struct emu_case {
    const char *expr;
    int64_t rows, cols, yrows; /* 2-D inputs [rows, cols] (y: [yrows, cols]); b, v: [cols] */
} emu_case;

static const emu_case emu_cases[] = {
    {"tanh(x*y + z) * exp(-w) + 0.5*x", 5, 7, 5},
    {"x + b", 5, 7, 5},
    {"x * y - b", 3, 4, 1},
    {"maximum(x, 0.0) // y % 3.0", 5, 7, 5},
    {"where(x > y, x, y ** 2)", 4, 9, 1},
    {"clip(d, -1.0, 1.0) * 2", 4, 3, 4},
    {"(i * 3 + 1) // 2 - i % 4 + (i > 2)", 4, 3, 4},
    {"x.astype('float64') + d", 4, 3, 4},
    {"sigmoid(x) + softplus(y) - relu(z) * sign(w) + abs(x)", 6, 6, 6},
    {"log1p(sqr(x)) + expm1(y) - round(z * 3) + floor(w) + ceil(x)", 6, 6, 6},
    {"(x > 0) & (y < 0.5) | ~(z > 1)", 3, 5, 3},
    {"x / (abs(y) + 1) + sqrt(abs(z)) + log(abs(w) + 1) - erf(x) + cos(y) * sin(z)", 7, 3, 7},
    {"-x * minimum(y, z) + reciprocal(abs(w) + 1) + log2(abs(x) + 1)", 2, 2, 2},
};

/* The value of binding name for case c (deterministic). */
static sb_array *emu_input(const emu_case *c, const char *name)
{
    int64_t sh2[2] = {c->rows, c->cols}, sy[2] = {c->yrows, c->cols};
    uint64_t seed = (uint64_t)name[0] * 131 + (uint64_t)(c - emu_cases);
    if (!strcmp(name, "b") || !strcmp(name, "v"))
        return rand_array(SB_DTYPE_F32, 1, &c->cols, seed, -2, 2);
    if (!strcmp(name, "i")) {
        sb_array *a = rand_array(SB_DTYPE_F64, 2, sh2, seed, -50, 50), *r = sb_array_cast(a, SB_DTYPE_I64);
        for (int64_t k = 0; k < sb_array_numel(r); k++) ((int64_t *)r->data)[k] = (int64_t)floor(sb_array_get_f64(a, k));
        sb_array_free(a);
        return r;
    }
    return rand_array(!strcmp(name, "d") ? SB_DTYPE_F64 : SB_DTYPE_F32, 2,
                      !strcmp(name, "y") ? sy : sh2, seed, -2, 2);
}

static void put_value(FILE *f, const sb_array *a, int64_t k)
{
    if (a->dtype == SB_DTYPE_F32) fprintf(f, "%af", (double)((float *)a->data)[k]);
    else if (a->dtype == SB_DTYPE_F64) fprintf(f, "%a", ((double *)a->data)[k]);
    else fprintf(f, "%lldLL", (long long)sb_array_get_i64(a, k));
}

/* The harness of case k: leaves as arrays, strides as the backend computes them, the grid. */
static void emu_harness(FILE *f, int k, const sb_cu_group *g, sb_node *const *leaf,
                        sb_array **vals, const sb_array *want, const char *kname)
{
    int nd = want->ndim;
    int64_t n = sb_array_numel(want);
    fprintf(f, "static void run%d(void) {\n", k);
    int flat = 1;
    unsigned scal = 0;
    for (int l = 0; l < g->nleaf; l++) {
        const sb_array *a = vals[l];
        fprintf(f, "  alignas(16) static const %s in%d[] = {", sb_cu_ctype(a->dtype), l);
        for (int64_t e = 0; e < sb_array_numel(a); e++) {
            put_value(f, a, e);
            fputc(',', f);
        }
        fprintf(f, "};\n  c%d::sb_dims st%d = {{", k, l);
        int64_t cs = 1, st[SB_MAX_DIMS] = {0};
        for (int j = a->ndim - 1; j >= 0; j--) {
            st[nd - a->ndim + j] = a->shape[j] == 1 ? 0 : cs;
            cs *= a->shape[j];
        }
        for (int j = 0; j < SB_MAX_DIMS; j++) fprintf(f, "%lld,", (long long)st[j]);
        fprintf(f, "}};\n");
        if (sb_array_numel(a) == 1) scal |= 1u << l;
        else flat &= a->ndim == nd && !memcmp(a->shape, want->shape, sizeof(int64_t) * (size_t)nd);
        (void)leaf;
    }
    fprintf(f, "  alignas(16) static %s out[%lld];\n  c%d::sb_dims shape = {{", sb_cu_ctype(want->dtype),
            (long long)n, k);
    for (int j = 0; j < SB_MAX_DIMS; j++) fprintf(f, "%lld,", (long long)(j < nd ? want->shape[j] : 0));
    int per = flat && want->dtype == SB_DTYPE_F32 ? 4 : 1;
    unsigned grid = (unsigned)((n / per + 255) / 256 + 1);
    /* flat cases run path 1 twice; strided ones path 2 (32-bit index) then 0 (64-bit) */
    fprintf(f, "}};\n  gridDim.x = %u; blockDim.x = 256;\n  bool same = true;\n"
               "  for (int path : {%d, %d}) {\n  static %s prev[%lld];\n"
               "  for (unsigned b = 0; b < %u; b++) for (unsigned t = 0; t < 256; t++) {\n"
               "    blockIdx.x = b; threadIdx.x = t;\n    c%d::%s(%lldLL, %d, shape, path, %uu, out",
            grid, flat ? 1 : 2, flat ? 1 : 0, sb_cu_ctype(want->dtype), (long long)n, grid, k,
            kname, (long long)n, nd, scal);
    for (int l = 0; l < g->nleaf; l++) fprintf(f, ", in%d, st%d", l, l);
    fprintf(f, ");\n  }\n"
               "  if (path != %d) same = !memcmp(prev, out, sizeof out);\n"
               "  memcpy(prev, out, sizeof out);\n  }\n"
               "  printf(\"case %d %%s\\n\", same ? \"same\" : \"paths-differ\");\n"
               "  for (long long e = 0; e < %lld; e++) printf(\"%%a\\n\", (double)out[e]);\n}\n",
            flat ? 1 : 2, k, (long long)n);
}

static const char emu_prelude[] =
    "#include <cmath>\n#include <cstdio>\n#include <cstring>\n#include <initializer_list>\n"
    "using namespace std;\n"
    "#define __device__\n#define __forceinline__ inline\n#define __global__\n"
    "#define __launch_bounds__(x)\n#define __restrict__ __restrict\n"
    "struct float4 { float x, y, z, w; };\n"
    "static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }\n"
    "struct emu_dim { unsigned x, y, z; };\n"
    "static emu_dim threadIdx, blockIdx, blockDim, gridDim;\n";

Test(cuda, group_kernels_emulated_on_cpu, .init = setup, .fini = teardown, .timeout = 60)
{
    if (system("g++ --version > /dev/null 2>&1") != 0) cr_skip_test("no g++ to emulate kernels");
    char dir[] = "/tmp/sb-cuda-emu-XXXXXX";
    cr_assert(mkdtemp(dir));
    char src[96], bin[96];
    snprintf(src, sizeof src, "%s/emu.cpp", dir);
    snprintf(bin, sizeof bin, "%s/emu", dir);
    FILE *f = fopen(src, "w");
    fputs(emu_prelude, f);
    size_t ncase = sizeof emu_cases / sizeof *emu_cases;
    sb_array *want[16];
    const struct sb_backend_i *be = sb_backend_get("cuda");
    for (size_t k = 0; k < ncase; k++) {
        const emu_case *c = &emu_cases[k];
        sb_node *n = parse(c->expr);
        sb_be_program *p = be->compile(C, 1, &n, 0, &D);
        cr_assert(p, "%s: %s", c->expr, D.msg);
        const sb_cu_group *g = NULL;
        sb_node *const *leaf = NULL;
        int gi = -1;
        for (int s = 0; s < 64 && !g; s++)
            if ((g = sb_cu_prog_group(p, s, &leaf))) gi = s;
        cr_assert(g, "%s: no group step", c->expr);
        sb_array *vals[SB_CU_MAXREG];
        sb_binding b[SB_CU_MAXREG];
        for (int l = 0; l < g->nleaf; l++) {
            cr_assert_eq(sb_node_op(leaf[l]), SB_OP_INPUT, "%s: leaf %d", c->expr, l);
            vals[l] = emu_input(c, sb_node_name(leaf[l]));
            b[l] = (sb_binding){sb_node_name(leaf[l]), vals[l]};
        }
        want[k] = NULL;
        cr_assert_eq(sb_eval(C, 1, &n, g->nleaf, b, false, &want[k], &D), SB_OK, "%s: %s",
                     c->expr, D.msg);
        const char *code = sb_cu_prog_source(p, gi);
        const char *nm = strstr(strstr(code, "extern \"C\""), "sbk_e_");
        char kname[40];
        snprintf(kname, sizeof kname, "%.*s", (int)strcspn(nm, "("), nm);
        fprintf(f, "namespace c%zu {\n%s}\n", k, code);
        emu_harness(f, (int)k, g, leaf, vals, want[k], kname);
        for (int l = 0; l < g->nleaf; l++) sb_array_free(vals[l]);
        sb_cu_prog_free(p);
    }
    fprintf(f, "int main() {\n");
    for (size_t k = 0; k < ncase; k++) fprintf(f, "  run%zu();\n", k);
    fprintf(f, "  return 0;\n}\n");
    fclose(f);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "g++ -std=c++17 -O1 -w -o %s %s 2> %s/log", bin, src, dir);
    cr_assert_eq(system(cmd), 0, "g++ failed on the generated kernels (see %s)", dir);
    FILE *r = popen(bin, "r");
    cr_assert(r);
    char line[128];
    for (size_t k = 0; k < ncase; k++) {
        cr_assert(fgets(line, sizeof line, r), "case %zu: no output", k);
        int kk = -1;
        char paths[16] = "";
        cr_assert(sscanf(line, "case %d %15s", &kk, paths) == 2 && kk == (int)k, "%s", line);
        cr_expect_str_eq(paths, "same", "%s: the 32-bit and 64-bit strided paths differ",
                         emu_cases[k].expr);
        sb_array *w = want[k];
        double tol = w->dtype == SB_DTYPE_F32 ? 2e-6 : 1e-12;
        for (int64_t e = 0; e < sb_array_numel(w); e++) {
            cr_assert(fgets(line, sizeof line, r));
            double got = strtod(line, NULL), ex = sb_array_get_f64(w, e);
            bool ok = isnan(ex) ? isnan(got) : isinf(ex) ? got == ex : fabs(got - ex) <= tol * (1 + fabs(ex));
            cr_expect(ok, "%s: element %lld is %.9g, the CPU says %.9g", emu_cases[k].expr,
                      (long long)e, got, ex);
        }
        sb_array_free(w);
    }
    pclose(r);
    remove(src);
    remove(bin);
    snprintf(cmd, sizeof cmd, "%s/log", dir);
    remove(cmd);
    rmdir(dir);
}

/* ---- row and column kernels, emulated on the CPU ---------------------------------------------
 * One warp per block (blockDim 32): each lane is a std::thread, __syncthreads a barrier, and
 * __shfl_xor_sync exchanges through a slot array between two barriers; __shared__ is static
 * (blocks run one after the other). Checks the online softmax merge, the warp and block
 * reductions and the per-thread strided loops against double loops here. */
typedef struct row_case {
    sb_cu_row kind;
    bool col;
    sb_dtype dt, lab;
    bool cache; /* softmax / log_softmax: the row kept in (emulated) dynamic shared memory */
} row_case;

static const char row_prelude[] =
    "#include <barrier>\n#include <cmath>\n#include <cstdio>\n#include <thread>\n#include <vector>\n"
    "using namespace std;\n"
    "#define __device__\n#define __forceinline__ inline\n#define __global__\n#define __shared__ static\n"
    "#define __launch_bounds__(x)\n#define __restrict__ __restrict\n"
    "struct emu_dim { unsigned x, y, z; };\n"
    "static thread_local emu_dim threadIdx;\nstatic emu_dim blockIdx, blockDim, gridDim;\n"
    "static std::barrier<> *bar;\n"
    "#define __syncthreads() bar->arrive_and_wait()\n"
    "alignas(16) static unsigned char emu_smem[1 << 16];\n"
    "#define SB_DYN_SMEM(T, name) T *name = reinterpret_cast<T *>(emu_smem)\n"
    "template <class T> T __shfl_xor_sync(unsigned, T v, int o) {\n"
    "  static T slot[32]; slot[threadIdx.x] = v; bar->arrive_and_wait();\n"
    "  T r = slot[threadIdx.x ^ o]; bar->arrive_and_wait(); return r; }\n"
    "template <class F> static void launch(unsigned grid, F f) {\n"
    "  gridDim.x = grid; blockDim.x = 32;\n"
    "  for (unsigned b = 0; b < grid; b++) {\n"
    "    blockIdx.x = b; std::barrier<> br(32); bar = &br; std::vector<std::thread> th;\n"
    "    for (unsigned t = 0; t < 32; t++) th.emplace_back([=] { threadIdx.x = t; f(); });\n"
    "    for (auto &x : th) x.join();\n  }\n}\n";

/* Reference result of case c on x (rows x n) and targets t, into out (returns its length). */
static int64_t row_ref(const row_case *c, int64_t rows, int64_t n, const double *x,
                       const double *t, double *out)
{
    if (c->col) {
        for (int64_t j = 0; j < n; j++) {
            double v = c->kind == SB_CU_ROW_PROD ? 1 : c->kind == SB_CU_ROW_MAX ? -INFINITY
                     : c->kind == SB_CU_ROW_MIN ? INFINITY : 0;
            for (int64_t r = 0; r < rows; r++) {
                double e = x[r * n + j];
                v = c->kind == SB_CU_ROW_PROD ? v * e : c->kind == SB_CU_ROW_MAX ? fmax(v, e)
                  : c->kind == SB_CU_ROW_MIN ? fmin(v, e) : v + e;
            }
            out[j] = c->kind == SB_CU_ROW_MEAN ? v / (double)rows : v;
        }
        return n;
    }
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        double m = -INFINITY, s = 0, p = 1, mn = INFINITY, xe = 0;
        for (int64_t j = 0; j < n; j++) m = fmax(m, xr[j]), mn = fmin(mn, xr[j]), p *= xr[j];
        for (int64_t j = 0; j < n; j++) s += exp(xr[j] - m), xe -= t ? t[r * n + j] * log(xr[j]) : 0;
        double sum = 0;
        for (int64_t j = 0; j < n; j++) sum += xr[j];
        switch (c->kind) {
        case SB_CU_ROW_SOFTMAX: for (int64_t j = 0; j < n; j++) out[r * n + j] = exp(xr[j] - m) / s; break;
        case SB_CU_ROW_LOG_SOFTMAX: for (int64_t j = 0; j < n; j++) out[r * n + j] = xr[j] - m - log(s); break;
        case SB_CU_ROW_LOGSUMEXP: out[r] = m + log(s); break;
        case SB_CU_ROW_SUM: out[r] = sum; break;
        case SB_CU_ROW_MEAN: out[r] = sum / (double)n; break;
        case SB_CU_ROW_PROD: out[r] = p; break;
        case SB_CU_ROW_MAX: out[r] = m; break;
        case SB_CU_ROW_MIN: out[r] = mn; break;
        case SB_CU_ROW_XENT_LABELS: out[r] = -log(xr[(int64_t)t[r]]); break;
        default: out[r] = xe; break;
        }
    }
    return c->kind <= SB_CU_ROW_LOG_SOFTMAX ? rows * n : rows;
}

static void put_array(FILE *f, const char *ctype, const char *name, const double *v, int64_t n,
                      bool as_int)
{
    fprintf(f, "  static %s %s[] = {", ctype, name);
    for (int64_t i = 0; i < n; i++) fprintf(f, as_int ? "%.0f," : "%a,", v[i]);
    fprintf(f, "};\n");
}

Test(cuda, row_kernels_emulated_on_cpu, .timeout = 60)
{
    if (system("g++ --version > /dev/null 2>&1") != 0) cr_skip_test("no g++ to emulate kernels");
    enum { ROWS = 3, N = 45 };
    row_case cases[64];
    int nc = 0;
    for (int f = 0; f < 2; f++) {
        sb_dtype dt = f ? SB_DTYPE_F64 : SB_DTYPE_F32;
        for (int k = 0; k < SB_CU_ROW_COUNT; k++) cases[nc++] = (row_case){(sb_cu_row)k, false, dt, SB_DTYPE_I32};
        for (int k = SB_CU_ROW_SOFTMAX; k <= SB_CU_ROW_LOG_SOFTMAX; k++)
            cases[nc++] = (row_case){(sb_cu_row)k, false, dt, SB_DTYPE_I32, true};
        cases[nc++] = (row_case){SB_CU_ROW_XENT_LABELS, false, dt, SB_DTYPE_I64};
        for (int k = SB_CU_ROW_SUM; k <= SB_CU_ROW_MIN; k++) cases[nc++] = (row_case){(sb_cu_row)k, true, dt, SB_DTYPE_COUNT};
    }
    char dir[] = "/tmp/sb-cuda-row-XXXXXX";
    cr_assert(mkdtemp(dir));
    char src[96], bin[96], cmd[400];
    snprintf(src, sizeof src, "%s/row.cpp", dir);
    snprintf(bin, sizeof bin, "%s/row", dir);
    FILE *f = fopen(src, "w");
    fputs(row_prelude, f);
    static double x[ROWS * N], t[ROWS * N], want[64][ROWS * N];
    int64_t nout[64];
    uint64_t seed = 11;
    for (int i = 0; i < nc; i++) {
        const row_case *c = &cases[i];
        bool xent = c->kind >= SB_CU_ROW_XENT_LABELS && !c->col;
        bool pos = xent || c->kind == SB_CU_ROW_PROD;
        for (int e = 0; e < ROWS * N; e++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(seed >> 11) / 9007199254740992.0;
            x[e] = pos ? 0.6 + 0.8 * u : -3 + 6 * u;
            if (c->dt == SB_DTYPE_F32) x[e] = (float)x[e];
            t[e] = c->kind == SB_CU_ROW_XENT_LABELS ? floor(u * N) : u;
            if (c->dt == SB_DTYPE_F32) t[e] = (float)t[e];
        }
        nout[i] = row_ref(c, ROWS, N, x, xent ? t : NULL, want[i]);
        sb_cu_src s = c->col ? sb_cu_gen_col(c->kind, c->dt) : sb_cu_gen_row(c->kind, c->dt, c->lab);
        int ns = i; /* a kernel is emitted once (extern "C" names), the cache cases reuse it */
        for (int j = 0; j < i && ns == i; j++)
            if (cases[j].kind == c->kind && cases[j].col == c->col && cases[j].dt == c->dt &&
                cases[j].lab == c->lab)
                ns = j;
        if (ns == i) fprintf(f, "namespace r%d {\n%s}\n", i, s.code);
        fprintf(f, "static void run%d(void) {\n", i);
        const char *T = sb_cu_ctype(c->dt);
        put_array(f, T, "x", x, ROWS * N, false);
        if (xent && c->kind == SB_CU_ROW_XENT_LABELS) put_array(f, sb_cu_ctype(c->lab), "t", t, ROWS, true);
        else if (xent) put_array(f, T, "t", t, ROWS * N, false);
        fprintf(f, "  static %s y[%lld];\n  long long rows = %d, n = %d;\n", T, (long long)nout[i], ROWS, N);
        unsigned grid = c->col ? (N + 31) / 32 : c->kind == SB_CU_ROW_XENT_LABELS ? 1 : ROWS;
        const char *cache = c->kind > SB_CU_ROW_LOG_SOFTMAX || c->col ? "" : c->cache ? ", 1" : ", 0";
        fprintf(f, "  launch(%u, [&] { r%d::%s(x, %sy, rows, n%s); });\n", grid, ns, s.name,
                xent ? "t, " : "", cache);
        fprintf(f, "  printf(\"case %d\\n\");\n  for (int e = 0; e < %lld; e++) printf(\"%%a\\n\", (double)y[e]);\n}\n",
                i, (long long)nout[i]);
        sb_cu_src_free(&s);
    }
    fprintf(f, "int main() {\n");
    for (int i = 0; i < nc; i++) fprintf(f, "  run%d();\n", i);
    fprintf(f, "}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "g++ -std=c++20 -O1 -w -pthread -o %s %s 2> %s/log", bin, src, dir);
    cr_assert_eq(system(cmd), 0, "g++ failed on the row kernels (see %s)", dir);
    FILE *r = popen(bin, "r");
    char line[128];
    for (int i = 0; i < nc; i++) {
        int kk = -1;
        cr_assert(fgets(line, sizeof line, r) && sscanf(line, "case %d", &kk) == 1 && kk == i);
        double tol = cases[i].dt == SB_DTYPE_F32 ? 1e-5 : 1e-12;
        for (int64_t e = 0; e < nout[i]; e++) {
            cr_assert(fgets(line, sizeof line, r));
            double got = strtod(line, NULL), w = want[i][e];
            cr_expect(fabs(got - w) <= tol * (1 + fabs(w)), "%s %s %s: element %lld is %.12g, expected %.12g",
                      cases[i].col ? "col" : "row", sb_dtype_name(cases[i].dt),
                      (const char *[]){"softmax", "log_softmax", "logsumexp", "sum", "mean", "prod", "max",
                                       "min", "xent_labels", "xent_dense"}[cases[i].kind],
                      (long long)e, got, w);
        }
    }
    pclose(r);
    remove(src);
    remove(bin);
    snprintf(cmd, sizeof cmd, "%s/log", dir);
    remove(cmd);
    rmdir(dir);
}
