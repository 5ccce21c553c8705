/* test_cuda_module.c: the CUDA backend as a module loaded on demand (backends/cuda/module.h,
 * backends/backend.c).
 *
 * This program does not link the backend: "cuda" is found by dlopen'ing libsymbench-cuda.so
 * ($SB_CUDA_MODULE, set per test from SB_CUDA_TEST_MODULE). cuda_emu.c is linked in and exported
 * (export_dynamic), so the module's CUDA calls land on the emulation and programs run without a
 * GPU. Also: a missing module, a library without the entry, a module of another ABI, the
 * symbench program and libsymbench linking no CUDA library, and `symbench run` reporting a
 * missing module at the pipeline's "backend" key. Each Criterion test runs in its own process,
 * so each one loads the module afresh. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"

static void use_module(const char *test_var)
{
    const char *p = getenv(test_var);
    cr_assert(p && *p, "%s not set (run through meson test)", test_var);
    setenv("SB_CUDA_MODULE", p, 1);
}

/* ---- loading errors ----------------------------------------------------------------------- */
Test(cuda_module, missing_module_is_a_clear_error)
{
    setenv("SB_CUDA_MODULE", "/nonexistent/libsymbench-cuda.so", 1);
    sb_diag d = {0};
    cr_assert_not(sb_backend_available("cuda", &d));
    cr_expect_eq(d.status, SB_ERR_UNSUPPORTED);
    cr_expect(strstr(d.msg, "backend 'cuda' is not available: /nonexistent/libsymbench-cuda.so: "
                            "cannot open shared object file"),
              "%s", d.msg);
    cr_expect_null(sb_backend_get("cuda"));
    sb_diag_clear(&d);
    cr_expect_neq(sb_be_cuda_bench(stdout, true, &d), 0);
    cr_expect(strstr(d.msg, "backend 'cuda' is not available"), "%s", d.msg);
    cr_expect_not_null(sb_backend_get("cpu"), "the cpu backend does not depend on the module");
}

Test(cuda_module, library_without_entry_is_refused)
{
    use_module("SB_CUDA_TEST_NOENTRY");
    sb_diag d = {0};
    cr_assert_not(sb_backend_available("cuda", &d));
    cr_expect(strstr(d.msg, "backend 'cuda' is not available: "), "%s", d.msg);
    cr_expect(strstr(d.msg, "cuda-noentry.so: no entry point sb_cuda_module_init (not a symbench "
                            "CUDA module)"),
              "%s", d.msg);
}

Test(cuda_module, other_abi_is_refused)
{
    use_module("SB_CUDA_TEST_BADMOD");
    sb_diag d = {0};
    cr_assert_not(sb_backend_available("cuda", &d));
    cr_expect(strstr(d.msg, "cuda-badmod.so: module ABI 999 (layout 000000000000002a), this build "
                            "expects ABI 1 (layout "),
              "%s", d.msg);
    cr_expect_null(sb_backend_get("cuda"));
}

/* A failed load is retried, so pointing SB_CUDA_MODULE at the right file afterwards works. */
Test(cuda_module, failed_load_is_retried)
{
    use_module("SB_CUDA_TEST_BADMOD");
    cr_assert_null(sb_backend_get("cuda"));
    use_module("SB_CUDA_TEST_MODULE");
    const struct sb_backend_i *be = sb_backend_get("cuda");
    cr_assert_not_null(be);
    cr_expect_str_eq(be->name, "cuda");
    cr_expect_eq(sb_backend_get("cuda"), be, "loaded once");
}

/* ---- programs through the module (emulated device) ---------------------------------------- */
static sb_array *filled(sb_dtype dt, int nd, const int64_t *shape, double scale)
{
    sb_array *a = sb_array_new(dt, nd, shape);
    for (int64_t i = 0; i < sb_array_numel(a); i++)
        sb_array_set_f64(a, i, scale * sin(0.7 * (double)i + 0.3));
    return a;
}

/* Compile text over x: float32[4, 5], W: float32[5, 3], i: int64[4] on "cuda" and check it
 * against the CPU evaluator in float64. */
static void expect_like_cpu(const char *text)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_type tx, tw, ti;
    cr_assert_eq(sb_type_parse("float32[4, 5]", &tx, &d), SB_OK);
    cr_assert_eq(sb_type_parse("float32[5, 3]", &tw, &d), SB_OK);
    cr_assert_eq(sb_type_parse("int64[4]", &ti, &d), SB_OK);
    sb_input(ctx, "x", &tx);
    sb_input(ctx, "W", &tw);
    sb_input(ctx, "i", &ti);
    sb_node *n = sb_parse_expr(ctx, text, NULL, NULL, &d);
    cr_assert_not_null(n, "%s: %s", text, d.msg);
    sb_array *x = filled(SB_DTYPE_F32, 2, (int64_t[]){4, 5}, 1.0);
    sb_array *w = filled(SB_DTYPE_F32, 2, (int64_t[]){5, 3}, 0.5);
    sb_array *iv = sb_array_new(SB_DTYPE_I64, 1, (int64_t[]){4});
    for (int k = 0; k < 4; k++) ((int64_t *)iv->data)[k] = (k * 2) % 3;
    sb_binding b[3] = {{"x", x}, {"W", w}, {"i", iv}};
    const struct sb_backend_i *be = sb_backend_get("cuda");
    cr_assert_not_null(be);
    sb_be_program *p = be->compile(ctx, 1, &n, 0, &d);
    cr_assert_not_null(p, "%s: %s", text, d.msg);
    sb_array *got = NULL, *want = NULL;
    cr_assert_eq(be->run(p, 3, b, &got, &d), SB_OK, "%s: %s", text, d.msg);
    cr_assert_eq(sb_eval(ctx, 1, &n, 3, b, true, &want, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_array_numel(got), sb_array_numel(want), "%s", text);
    for (int64_t k = 0; k < sb_array_numel(want); k++)
        cr_expect(fabs(sb_array_get_f64(got, k) - sb_array_get_f64(want, k)) <=
                      1e-5 * (1 + fabs(sb_array_get_f64(want, k))),
                  "%s [%lld]: %g, expected %g", text, (long long)k, sb_array_get_f64(got, k),
                  sb_array_get_f64(want, k));
    sb_array_free(got);
    sb_array_free(want);
    be->program_free(p);
    sb_array_free(x);
    sb_array_free(w);
    sb_array_free(iv);
    sb_ctx_free(ctx);
}

Test(cuda_module, programs_run_through_the_module, .timeout = 120)
{
    use_module("SB_CUDA_TEST_MODULE");
    sb_diag d = {0};
    cr_assert(sb_backend_available("cuda", &d), "%s", d.msg); /* the emulated device */
    expect_like_cpu("tanh(x * 2 + 1) - x");                 /* a fused group */
    expect_like_cpu("softmax(x @ W)");                      /* cuBLAS, a row kernel */
    expect_like_cpu("sum(x, axis=0)");                      /* a column reduction */
    expect_like_cpu("argmax(x, axis=1) + i");               /* a host step: the host's sb_eval */
}

/* Errors raised inside the module reach the caller's diag (through the host's sb_diag_set). */
Test(cuda_module, module_errors_reach_the_caller)
{
    use_module("SB_CUDA_TEST_MODULE");
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_type t;
    cr_assert_eq(sb_type_parse("float32[3]", &t, &d), SB_OK);
    sb_node *x = sb_input(ctx, "x", &t);
    sb_node *n = sb_apply2(ctx, SB_OP_MUL, x, x, &d);
    const struct sb_backend_i *be = sb_backend_get("cuda");
    cr_assert_not_null(be);
    sb_be_program *p = be->compile(ctx, 1, &n, 0, &d);
    cr_assert_not_null(p, "%s", d.msg);
    sb_array *r = NULL;
    cr_expect_neq(be->run(p, 0, NULL, &r, &d), SB_OK);
    cr_expect_null(r);
    cr_expect(strstr(d.msg, "x"), "the message names the unbound input: %s", d.msg);
    be->program_free(p);
    sb_ctx_free(ctx);
}

/* ---- the programs link no CUDA library ---------------------------------------------------- */
static bool needs(const char *file, const char *lib)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "readelf -d '%s' 2>&1", file);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char line[512];
    bool found = false, read_any = false;
    while (fgets(line, sizeof line, f)) {
        read_any |= strstr(line, "(NEEDED)") != NULL;
        found |= strstr(line, "(NEEDED)") && strstr(line, lib);
    }
    pclose(f);
    cr_assert(read_any, "readelf -d %s listed no NEEDED entry", file);
    return found;
}

Test(cuda_module, symbench_links_no_cuda_library)
{
    const char *root = getenv("SB_BUILD_ROOT");
    cr_assert_not_null(root);
    char exe[1024], lib[1024], mod[1024];
    snprintf(exe, sizeof exe, "%s/tools/symbench", root);
    snprintf(lib, sizeof lib, "%s/libsymbench.so", root);
    snprintf(mod, sizeof mod, "%s", getenv("SB_CUDA_TEST_MODULE"));
    for (const char *const *l = (const char *const[]){"libcudart", "libcublas", "libnvrtc", NULL};
         *l; l++) {
        cr_expect_not(needs(exe, *l), "symbench needs %s", *l);
        cr_expect_not(needs(lib, *l), "libsymbench.so needs %s", *l);
        cr_expect(needs(mod, *l), "the module needs %s", *l);
    }
}

/* `symbench run` with "backend": "cuda": a missing module, or (real module, no GPU here) no
 * device, is reported at the "backend" key. */
static char *run_pipeline(const char *module)
{
    char dir[] = "/tmp/sb-cudamod-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], cmd[2048];
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"graph\": {\"inputs\": {}, \"outputs\": {\"y\": \"1 + 2\"}},\n"
          " \"backend\": \"cuda\"}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "SB_CUDA_MODULE='%s' '%s/tools/symbench' run '%s' 2>&1; rm -rf '%s'",
             module, getenv("SB_BUILD_ROOT"), path, dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

Test(cuda_module, symbench_run_reports_the_module, .timeout = 60)
{
    char *out = run_pipeline("/nonexistent/libsymbench-cuda.so");
    cr_expect(strstr(out, "p.json:2:13: backend 'cuda' is not available: "
                          "/nonexistent/libsymbench-cuda.so: cannot open shared object file"),
              "%s", out);
    out = run_pipeline(getenv("SB_CUDA_TEST_MODULE"));
    /* a machine with a GPU runs it; here the module loads and finds no device */
    cr_expect(strstr(out, "p.json:2:13: backend 'cuda': no CUDA device found") ||
                  !strstr(out, "backend 'cuda'"),
              "%s", out);
}

/* `symbench bench --backend cuda --quick` goes through the module: the G1-G4 plans without a
 * device (a table of times with one); a missing module is an error. */
static char *run_cmd(const char *module, int *rc)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "SB_CUDA_MODULE='%s' '%s/tools/symbench' bench --backend cuda --quick 2>&1", module,
             getenv("SB_BUILD_ROOT"));
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char out[16384];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    *rc = pclose(p);
    return out;
}

Test(cuda_module, symbench_bench_backend_cuda, .timeout = 120)
{
    int rc;
    char *out = run_cmd(getenv("SB_CUDA_TEST_MODULE"), &rc);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "G1 fused elementwise") && strstr(out, "G4 SGEMM"), "%s", out);
    cr_expect(strstr(out, "G3 MLP step b=128      plan: ") || strstr(out, " ms "), "%s", out);
    out = run_cmd("/nonexistent/libsymbench-cuda.so", &rc);
    cr_expect_neq(rc, 0);
    cr_expect(strstr(out, "symbench bench: backend 'cuda' is not available: /nonexistent/"), "%s",
              out);
}
