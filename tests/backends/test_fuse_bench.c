/* test_fuse_bench.c: timings of fused groups and fused reductions against hand-written C
 * loops (not a test: built on request, run by hand; numbers go to docs/performance.md).
 *
 *   ninja -C build tests/backends/test-fuse-bench && build/tests/backends/test-fuse-bench [reps]
 *
 * Cases (float32): W1 tanh(x*y + z) * exp(-w) + 0.5*x over 10M; R1 sum(exp(x - 0.5), axis=1)
 * and R2 logsumexp(x, axis=1) over 4096x4096 rows; S1 softmax(x * 2 + 1) over 4096x4096; C1 sum(x * 2, axis=0) over [8192, 512] (a
 * bias gradient's shape); F1 sum(x * x) over 16M. Each case runs three ways, interleaved (sb,
 * C, sb, C, ...; median of reps after two warm-ups): the plan as configured by the environment
 * (SB_JIT, SB_FUSED_REDUCE), the plan with SB_JIT=0 and SB_FUSED_REDUCE=0 (the interpreter
 * and the reference reduction kernels: the state before fused reductions and the JIT policy),
 * and the C loop (vmath.h's exp/tanh, AVX-512 clone, OpenMP, float64 accumulation per row /
 * column / thread). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/plan.h"
#include "backends/cpu/vmath.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct bcase {
    const char *name, *expr;
    int64_t rows, cols;         /* x's shape (every input has it) */
    void (*c)(const struct bcase *, float **in, float *out);
} bcase;

/* ---- the C loops ---- */
#define V4 __attribute__((target("arch=x86-64-v4")))

V4 static void c_w1(const bcase *b, float **in, float *o)
{
    int64_t n = b->rows * b->cols;
    const float *x = in[0], *y = in[1], *z = in[2], *w = in[3];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) o[i] = sb_vm_tanhf(x[i] * y[i] + z[i]) * sb_vm_expf(-w[i]) + 0.5f * x[i];
}

V4 static void c_r1(const bcase *b, float **in, float *o)
{
    int64_t n = b->cols;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < b->rows; r++) {
        const float *x = in[0] + r * n;
        float l[16] = {0};
        int64_t j = 0;
        for (; j + 16 <= n; j += 16)
            for (int k = 0; k < 16; k++) l[k] += sb_vm_expf(x[j + k] - 0.5f);
        double s = 0;
        for (int k = 0; k < 16; k++) s += l[k];
        for (; j < n; j++) s += sb_vm_expf(x[j] - 0.5f);
        o[r] = (float)s;
    }
}

V4 static void c_r2(const bcase *b, float **in, float *o)
{
    int64_t n = b->cols;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < b->rows; r++) {
        const float *x = in[0] + r * n;
        float m[16], l[16] = {0};
        for (int k = 0; k < 16; k++) m[k] = -INFINITY;
        int64_t j = 0;
        for (; j + 16 <= n; j += 16)
            for (int k = 0; k < 16; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
        float mx = -INFINITY;
        for (int k = 0; k < 16; k++) mx = m[k] > mx ? m[k] : mx;
        for (; j < n; j++) mx = x[j] > mx ? x[j] : mx;
        for (j = 0; j + 16 <= n; j += 16)
            for (int k = 0; k < 16; k++) l[k] += sb_vm_expf(x[j + k] - mx);
        double s = 0;
        for (int k = 0; k < 16; k++) s += l[k];
        for (; j < n; j++) s += sb_vm_expf(x[j] - mx);
        o[r] = (float)(log(s) + mx);
    }
}

V4 static void c_s1(const bcase *b, float **in, float *o)
{
    int64_t n = b->cols;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < b->rows; r++) {
        const float *x = in[0] + r * n;
        float *y = o + r * n, m = -INFINITY, s = 0;
        for (int64_t j = 0; j < n; j++) {
            y[j] = x[j] * 2.0f + 1.0f;
            m = y[j] > m ? y[j] : m;
        }
        for (int64_t j = 0; j < n; j++) s += (y[j] = sb_vm_expf(y[j] - m));
        for (int64_t j = 0; j < n; j++) y[j] /= s;
    }
}

V4 static void c_c1(const bcase *b, float **in, float *o)
{
    int64_t M = b->rows, N = b->cols;
    int nt = omp_get_max_threads();
    double *part = calloc((size_t)(nt * N), sizeof *part);
#pragma omp parallel
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        double *acc = part + t * N;
        for (int64_t i = M * t / n; i < M * (t + 1) / n; i++)
            for (int64_t j = 0; j < N; j++) acc[j] += in[0][i * N + j] * 2.0f;
    }
    for (int64_t j = 0; j < N; j++) {
        double s = 0;
        for (int t = 0; t < nt; t++) s += part[t * N + j];
        o[j] = (float)s;
    }
    free(part);
}

V4 static void c_f1(const bcase *b, float **in, float *o)
{
    int64_t n = b->rows * b->cols;
    double s = 0;
#pragma omp parallel reduction(+ : s)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a = n * t / nt, e = n * (t + 1) / nt, j = a;
        while (j + 16 <= e) { /* float lanes over 256 values, then float64 */
            float l[16] = {0};
            for (int64_t stop = j + 256 < e ? j + 256 : e; j + 16 <= stop; j += 16)
                for (int k = 0; k < 16; k++) l[k] += in[0][j + k] * in[0][j + k];
            for (int k = 0; k < 16; k++) s += l[k];
        }
        for (; j < e; j++) s += in[0][j] * in[0][j];
    }
    o[0] = (float)s;
}

static const bcase CASES[] = {
    {"W1", "tanh(x * y + z) * exp(-w) + 0.5 * x", 10000, 1000, c_w1},
    {"R1", "sum(exp(x - 0.5), axis=1)", 4096, 4096, c_r1},
    {"R2", "logsumexp(x, axis=1)", 4096, 4096, c_r2},
    {"S1", "softmax(x * 2 + 1)", 4096, 4096, c_s1},
    {"C1", "sum(x * 2, axis=0)", 8192, 512, c_c1},
    {"F1", "sum(x * x)", 4096, 4096, c_f1},
};

/* One case: the three ways, interleaved. */
static void run_case(const bcase *b, int reps)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d;
    sb_diag_clear(&d);
    const char *names[4] = {"x", "y", "z", "w"};
    int64_t shape[2] = {b->rows, b->cols};
    sb_array *v[4];
    sb_binding bind[4];
    float *in[4];
    for (int k = 0; k < 4; k++) {
        sb_type t = sb_type_make(SB_DTYPE_F32, 2, shape);
        sb_input(ctx, names[k], &t);
        v[k] = sb_array_new(SB_DTYPE_F32, 2, shape);
        in[k] = v[k]->data;
        for (int64_t i = 0; i < b->rows * b->cols; i++)
            in[k][i] = (float)((i * 7919 + k * 104729) % 10007) / 10007.0f - 0.5f;
        bind[k] = (sb_binding){names[k], v[k]};
    }
    sb_node *e = sb_parse_expr(ctx, b->expr, NULL, NULL, &d);
    sb_plan *p[2];
    const char *jit = getenv("SB_JIT"), *fr = getenv("SB_FUSED_REDUCE");
    p[0] = sb_be_plan_compile(ctx, 1, &e, &d);
    setenv("SB_FUSED_REDUCE", "0", 1);
    sb_be_fz_jit_set(SB_FZ_JIT_OFF);
    p[1] = sb_be_plan_compile(ctx, 1, &e, &d);
    sb_be_fz_jit_set(-1);
    if (fr) setenv("SB_FUSED_REDUCE", fr, 1);
    else unsetenv("SB_FUSED_REDUCE");
    float *ref = malloc(sizeof(float) * (size_t)(b->rows * b->cols));
    double t[3][reps];
    for (int r = -2; r < reps; r++)
        for (int k = 0; k < 3; k++) {
            double t0 = now();
            if (k == 1) sb_be_fz_jit_set(SB_FZ_JIT_OFF); /* the policy acts at run time */
            if (k < 2)
                sb_be_plan_run(p[k], 4, bind, NULL, &d);
            else
                b->c(b, in, ref);
            if (k == 1) sb_be_fz_jit_set(-1);
            if (r >= 0) t[k][r] = now() - t0;
        }
    for (int k = 0; k < 3; k++) qsort(t[k], (size_t)reps, sizeof(double), cmp_double);
    const sb_array *o = sb_be_plan_output(p[0], 0);
    double err = 0;
    for (int64_t i = 0; i < sb_array_numel(o); i++) {
        double g = sb_array_get_f64(o, i), w = ref[i];
        err = fmax(err, fabs(g - w) / (1 + fabs(w)));
    }
    sb_plan_stats st;
    sb_be_plan_stats(p[0], &st);
    printf("%-3s %-38s sb %8.3f ms  before %8.3f ms  C %8.3f ms  sb/C %5.2f  before/sb %5.2f"
           "  (jit %d, reduce %d, rel err %.1e; SB_JIT=%s)\n",
           b->name, b->expr, 1e3 * t[0][reps / 2], 1e3 * t[1][reps / 2], 1e3 * t[2][reps / 2],
           t[0][reps / 2] / t[2][reps / 2], t[1][reps / 2] / t[0][reps / 2], st.njit, st.nreduce,
           err, jit ? jit : "(auto)");
    free(ref);
    sb_be_plan_free(p[0]);
    sb_be_plan_free(p[1]);
    for (int k = 0; k < 4; k++) sb_array_free(v[k]);
    sb_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 1) reps = 1;
    printf("%d threads, median of %d runs after 2 warm-ups\n", omp_get_max_threads(), reps);
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++)
        if (argc <= 2 || strstr(argv[2], CASES[k].name)) run_case(&CASES[k], reps);
    return 0;
}
