/* cmd_bench.c: `symbench bench`: the benchmark suite of issue 6, run side by side in one
 * invocation: symbench's execution plan (backends/cpu/plan.c), a hand-written C reference
 * compiled into this program, and NumPy / PyTorch (bench/peers.py, run by /usr/bin/python3).
 *
 * Workloads: W1 tanh(x*y + z) * exp(-w) + 0.5*x on 10M float32; W2 row softmax 4096x4096;
 * W3 one SGD step of an MLP 784-500-10 (tanh, softmax cross-entropy) at batch 128 and 1024;
 * W4 one SGD step of logistic regression 784-10 at batch 128 (W3/W4 also as a compiled
 * function on the CPU backend, the path of `symbench run`); W3c: the time to build W3's
 * step (parse, symbolic gradient) and compile it into a plan. Each time is the median of N
 * repetitions after warm-up runs (clock_gettime). Ratios: symbench / C, NumPy / symbench,
 * PyTorch / symbench (> 1 = symbench is faster).
 *
 * OpenBLAS picks its kernels when it loads, before main(): when the CPU has AVX-512 and
 * OPENBLAS_CORETYPE names another core (this environment sets Haswell), the command re-executes
 * itself with OPENBLAS_CORETYPE=SkylakeX (--coretype chooses another; --keep-coretype keeps
 * the environment's). OpenMP's waiting is chosen the same way (tools/procenv.c: spin briefly
 * then sleep on an idle machine, sleep at once on a busy one) unless the environment or
 * --omp-wait gives it. The peers get the same environment. */
#include "backends/backend.h"
#include "backends/cpu/plan.h"
#include "backends/cpu/vmath.h"
#include "commands.h"
#include "function.h"
#include "rewrites/passes.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct bench_opts {
    bool quick;
    char only[128];
    const char *json;
    const char *peers;   /* path of peers.py, NULL = search */
    bool no_peers;
    bool show_plan;
    int rounds;          /* --rounds N: the whole selection N times, then each ratio's spread */
    bool no_opt;         /* --no-opt: plans compiled from the graphs as built, no optimizer passes */
    bool profile;        /* --profile: per-step profile of W3/W4's plan after the timings */
    bool jit;            /* every plan's fused groups compiled to C (fusejit.c) */
    const char *backend; /* --backend: "cuda" runs G1-G4 instead (sb_be_cuda_bench) */
} bench_opts;

typedef struct result {
    const char *name;
    const char *what;
    double sb, c, np, torch; /* seconds; 0 = not measured */
    double c_libm;           /* W1: the same loop with libm's scalar tanhf / expf */
    double sb_jit;           /* W1: symbench with the group compiled to C at run time */
    double sb_fn;            /* W3/W4: the step as a compiled function (sb_function_call) */
    double gemm;             /* W3: the step's two large sgemm calls alone (x @ W1, x.T @ dH) */
    double jit_compile;      /* W1: that plan's compile time (cached kernel after the first) */
    double err;              /* max |symbench - C| over the outputs checked */
} result;

/* ---- timing and data -------------------------------------------------------------------- */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*bench_fn)(void *user);

/* Median seconds of reps calls after warm-up calls. */
static double median_time(bench_fn fn, void *user, int reps, int warmup)
{
    for (int i = 0; i < warmup; i++) fn(user);
    double t[reps];
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        fn(user);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    return t[reps / 2];
}

/* Median seconds of nf functions. Each is timed over runs of consecutive calls, as the peers
 * (bench/peers.py) time theirs: a step that follows a step of its own finds its own data in
 * the caches, as in a training loop. The runs alternate between the functions in rounds (f0
 * x n, f1 x n, ..., f0 x n, ...), each after one untimed call, so that a drifting, shared
 * machine slows them alike. med[k] receives function k's median. */
#define BENCH_ROUNDS 3
static void median_times(int nf, const bench_fn *fn, void *user, int reps, int warmup,
                         double *med)
{
    for (int i = 0; i < warmup; i++)
        for (int k = 0; k < nf; k++) fn[k](user);
    double t[nf][reps];
    for (int r = 0; r < BENCH_ROUNDS; r++)
        for (int k = 0; k < nf; k++) {
            int i0 = reps * r / BENCH_ROUNDS, i1 = reps * (r + 1) / BENCH_ROUNDS;
            if (i1 > i0) fn[k](user); /* the run's first call follows the other functions */
            for (int i = i0; i < i1; i++) {
                double t0 = now();
                fn[k](user);
                t[k][i] = now() - t0;
            }
        }
    for (int k = 0; k < nf; k++) {
        qsort(t[k], (size_t)reps, sizeof(double), cmp_double);
        med[k] = t[k][reps / 2];
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) /* xorshift64*: uniform [0, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

static sb_array *rand_f32(int ndim, const int64_t *shape, double lo, double hi)
{
    sb_array *a = sb_array_new(SB_DTYPE_F32, ndim, shape);
    float *p = a->data;
    for (int64_t i = 0; i < sb_array_numel(a); i++) p[i] = (float)(lo + (hi - lo) * urand());
    return a;
}

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* Compile outs into a plan as `symbench run` does: the default optimizer passes over a graph
 * of the outputs (unless --no-opt), then the CPU plan (prints it with --plan). outs[] is
 * replaced by the optimized nodes (leaves are the same nodes: hash-consed in ctx). */
static sb_plan *compile_plan(sb_ctx *ctx, int nout, sb_node **outs, const bench_opts *o,
                             const char *name)
{
    sb_diag d = {0};
    if (!o->no_opt) {
        sb_graph *g = sb_graph_new(ctx);
        for (int i = 0; i < nout; i++) {
            char nm[16];
            snprintf(nm, sizeof nm, "o%d", i);
            sb_graph_add(g, SB_ROLE_OUTPUT, nm, outs[i]);
        }
        sb_pass_opts po = {0};
        sb_status st = sb_rw_run_passes(g, &po, &d);
        for (int i = 0; st == SB_OK && i < nout; i++) outs[i] = sb_graph_node(g, SB_ROLE_OUTPUT, i);
        sb_graph_free(g);
        if (st != SB_OK) {
            sb_diag_print(&d, stderr);
            return NULL;
        }
    }
    sb_plan *p = sb_be_plan_compile(ctx, nout, outs, &d);
    if (!p) {
        sb_diag_print(&d, stderr);
        return NULL;
    }
    if (o->show_plan) {
        fprintf(stderr, "plan of %s:\n", name);
        sb_be_plan_print(p, stderr);
    }
    return p;
}

static sb_node *var(sb_ctx *ctx, const char *name, const char *type, bool shared)
{
    sb_type t;
    sb_type_parse(type, &t, NULL);
    return shared ? sb_shared(ctx, name, &t) : sb_input(ctx, name, &t);
}

/* ---- W1: fused elementwise ----------------------------------------------------------------- */
#define W1_N 10000000

typedef struct w1 {
    sb_plan *p, *pj;
    sb_binding b[4];
    sb_array *v[4];
    float *ref;
} w1;

static void w1_sb(void *u)
{
    w1 *w = u;
    sb_be_plan_run(w->p, 4, w->b, NULL, NULL);
}

static void w1_sb_jit(void *u)
{
    w1 *w = u;
    sb_be_plan_run(w->pj, 4, w->b, NULL, NULL);
}

/* The hand-written loop: one pass, OpenMP; tanh and exp from vmath.h (the same vectorizable
 * polynomials as the fused kernels), compiled for AVX-512 when the CPU has it. */
#define W1_LOOP(EXPR)                                                                            \
    _Pragma("omp parallel for schedule(static)") for (int64_t i = 0; i < n; i++) o[i] = (EXPR);
#define W1_EXPR sb_vm_tanhf(x[i] * y[i] + z[i]) * sb_vm_expf(-q[i]) + 0.5f * x[i]
__attribute__((target("arch=x86-64-v4"))) static void
w1_loop_v4(int64_t n, const float *x, const float *y, const float *z, const float *q, float *o)
{
    W1_LOOP(W1_EXPR)
}
static void w1_loop_base(int64_t n, const float *x, const float *y, const float *z,
                         const float *q, float *o)
{
    W1_LOOP(W1_EXPR)
}

static void w1_c(void *u)
{
    w1 *w = u;
    bool v4 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    (v4 ? w1_loop_v4 : w1_loop_base)(W1_N, w->v[0]->data, w->v[1]->data, w->v[2]->data,
                                     w->v[3]->data, w->ref);
}

/* The same loop written the obvious way, with libm's scalar tanhf / expf. */
static void w1_c_libm(void *u)
{
    w1 *w = u;
    const float *x = w->v[0]->data, *y = w->v[1]->data, *z = w->v[2]->data, *q = w->v[3]->data;
    float *o = w->ref;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < W1_N; i++) o[i] = tanhf(x[i] * y[i] + z[i]) * expf(-q[i]) + 0.5f * x[i];
}

static int bench_w1(const bench_opts *o, result *r)
{
    sb_ctx *ctx = sb_ctx_init();
    w1 w = {0};
    const char *names[4] = {"x", "y", "z", "w"};
    int64_t n = W1_N;
    for (int i = 0; i < 4; i++) {
        var(ctx, names[i], "float32[?]", false);
        w.v[i] = rand_f32(1, &n, 0, 1);
        w.b[i] = (sb_binding){names[i], w.v[i]};
    }
    sb_diag d = {0};
    sb_node *e = sb_parse_expr(ctx, "tanh(x * y + z) * exp(-w) + 0.5 * x", NULL, NULL, &d);
    w.p = e ? compile_plan(ctx, 1, &e, o, "W1") : NULL;
    if (!w.p) return 1;
    sb_be_fz_jit_set(1); /* the same plan with its group compiled to C */
    double t0 = now();
    w.pj = compile_plan(ctx, 1, &e, o, "W1 (compiled group)");
    r->jit_compile = now() - t0;
    sb_be_fz_jit_set(o->jit ? 1 : -1);
    sb_plan_stats st;
    sb_be_plan_stats(w.pj, &st);
    if (!st.njit) fprintf(stderr, "    (the group could not be compiled: the interpreter runs it)\n");
    w.ref = malloc(sizeof(float) * W1_N);
    int reps = o->quick ? 5 : 20;
    double med[4];
    median_times(4, (bench_fn[]){w1_sb, w1_c, w1_c_libm, w1_sb_jit}, &w, reps, 2, med);
    r->sb = med[0], r->c = med[1], r->c_libm = med[2], r->sb_jit = med[3];
    w1_c(&w);
    r->err = max_abs_diff(sb_be_plan_output(w.p, 0)->data, w.ref, W1_N);
    r->err = fmax(r->err, max_abs_diff(sb_be_plan_output(w.pj, 0)->data, w.ref, W1_N));
    sb_be_plan_free(w.pj);
    free(w.ref);
    for (int i = 0; i < 4; i++) sb_array_free(w.v[i]);
    sb_be_plan_free(w.p);
    sb_ctx_free(ctx);
    return 0;
}

/* ---- W2: row softmax ----------------------------------------------------------------------- */
#define W2_N 4096

typedef struct w2 {
    sb_plan *p;
    sb_binding b;
    sb_array *x;
    float *ref;
} w2;

static void w2_sb(void *u)
{
    w2 *w = u;
    sb_be_plan_run(w->p, 1, &w->b, NULL, NULL);
}

static void w2_c(void *u)
{
    w2 *w = u;
    const float *x = w->x->data;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < W2_N; r++) {
        const float *xr = x + r * W2_N;
        float *o = w->ref + r * W2_N, m = -INFINITY, s = 0;
        for (int64_t j = 0; j < W2_N; j++) m = xr[j] > m ? xr[j] : m;
        for (int64_t j = 0; j < W2_N; j++) s += (o[j] = expf(xr[j] - m));
        for (int64_t j = 0; j < W2_N; j++) o[j] /= s;
    }
}

static int bench_w2(const bench_opts *o, result *r)
{
    sb_ctx *ctx = sb_ctx_init();
    w2 w = {0};
    int64_t shape[2] = {W2_N, W2_N};
    var(ctx, "x", "float32[?, ?]", false);
    w.x = rand_f32(2, shape, -3, 3);
    w.b = (sb_binding){"x", w.x};
    sb_diag d = {0};
    sb_node *e = sb_parse_expr(ctx, "softmax(x, axis=1)", NULL, NULL, &d);
    w.p = e ? compile_plan(ctx, 1, &e, o, "W2") : NULL;
    if (!w.p) return 1;
    w.ref = malloc(sizeof(float) * W2_N * W2_N);
    int reps = o->quick ? 3 : 10;
    double med[2];
    median_times(2, (bench_fn[]){w2_sb, w2_c}, &w, reps, 2, med);
    r->sb = med[0], r->c = med[1];
    r->err = max_abs_diff(sb_be_plan_output(w.p, 0)->data, w.ref, (int64_t)W2_N * W2_N);
    free(w.ref);
    sb_array_free(w.x);
    sb_be_plan_free(w.p);
    sb_ctx_free(ctx);
    return 0;
}

/* ---- W3 / W4: one SGD step -------------------------------------------------------------------
 * cost = mean(crossentropy(softmax(tanh(x @ W1 + b1) @ W2 + b2), y)) (W3), or
 * mean(crossentropy(softmax(x @ W + b), y)) (W4); updates p - 0.1 * grad(cost, p). */
#define LR 0.1f

typedef struct net {
    bool hidden;
    int64_t B, nin, nh, nout;
    sb_array *x, *y, *p[4];    /* params: W1 b1 W2 b2 (W4: W b) */
    int np;
    sb_binding b[6];
    sb_plan *plan;
    bool inplace;              /* the plan writes the new parameters into n->p[] itself */
    /* the C reference's own copy of the parameters and its buffers */
    float *cp[4], *H, *Z, *dH;
    float *Wf;                 /* W3: scratch [784, h] that the GEMM floor accumulates into */
    double loss_sb, loss_c;
    /* the same step as a compiled function on the CPU backend, its own parameters in a store */
    sb_function *fn;
    sb_shared_store *store;
} net;

static const char *const PNAME[2][4] = {{"W", "b"}, {"W1", "b1", "W2", "b2"}};

/* Build the step's graph in ctx and compile it: outputs cost and the new parameters. */
static sb_plan *net_compile(sb_ctx *ctx, net *n, const bench_opts *o, const char *name)
{
    var(ctx, "x", "float32[?, 784]", false);
    var(ctx, "y", "int64[?]", false);
    sb_node *p[4];
    char t[64];
    for (int i = 0; i < n->np; i++) {
        const int64_t *sh = n->p[i]->shape;
        if (n->p[i]->ndim == 2) snprintf(t, sizeof t, "float32[%lld, %lld]", (long long)sh[0], (long long)sh[1]);
        else snprintf(t, sizeof t, "float32[%lld]", (long long)sh[0]);
        p[i] = var(ctx, PNAME[n->hidden][i], t, true);
    }
    const char *text = n->hidden
        ? "mean(categorical_crossentropy(softmax(tanh(x @ W1 + b1) @ W2 + b2), y))"
        : "mean(categorical_crossentropy(softmax(x @ W + b), y))";
    sb_diag d = {0};
    sb_node *outs[5], *g[4];
    outs[0] = sb_parse_expr(ctx, text, NULL, NULL, &d);
    if (!outs[0] || sb_grad(ctx, outs[0], n->np, p, NULL, g, &d)) {
        sb_diag_print(&d, stderr);
        return NULL;
    }
    sb_node *lr = sb_const_scalar(ctx, LR, SB_DTYPE_F64, true);
    for (int i = 0; i < n->np; i++)
        outs[1 + i] = sb_apply2(ctx, SB_OP_SUB, p[i], sb_apply2(ctx, SB_OP_MUL, lr, g[i], &d), &d);
    sb_plan *plan = compile_plan(ctx, 1 + n->np, outs, o, name);
    n->inplace = plan != NULL && !getenv("SB_BENCH_COPY_UPDATES");
    for (int i = 0; n->inplace && i < n->np; i++) /* SGD updates written into the parameters */
        if (sb_be_plan_update_inplace(plan, 1 + i, p[i], &d)) {
            fprintf(stderr, "    %s: ", name);
            sb_diag_print(&d, stderr);
            n->inplace = false;
        }
    if (plan && o->show_plan) {
        fprintf(stderr, "after in-place updates:\n");
        sb_be_plan_print(plan, stderr);
    }
    return plan;
}

static void net_init(net *n, bool hidden, int64_t B)
{
    memset(n, 0, sizeof *n);
    n->hidden = hidden;
    n->B = B;
    n->nin = 784;
    n->nh = hidden ? 500 : 0;
    n->nout = 10;
    int64_t xs[2] = {B, 784};
    n->x = rand_f32(2, xs, 0, 1);
    n->y = sb_array_new(SB_DTYPE_I64, 1, &B);
    for (int64_t i = 0; i < B; i++) ((int64_t *)n->y->data)[i] = (int64_t)(urand() * 10) % 10;
    int64_t sh[4][2] = {{784, hidden ? 500 : 10}, {hidden ? 500 : 10}, {500, 10}, {10}};
    n->np = hidden ? 4 : 2;
    for (int i = 0; i < n->np; i++) {
        n->p[i] = i % 2 ? sb_array_new(SB_DTYPE_F32, 1, sh[i]) : rand_f32(2, sh[i], -0.05, 0.05);
        size_t bytes = (size_t)sb_array_numel(n->p[i]) * 4;
        n->cp[i] = malloc(bytes);
        memcpy(n->cp[i], n->p[i]->data, bytes);
        n->b[2 + i] = (sb_binding){PNAME[hidden][i], n->p[i]};
    }
    n->b[0] = (sb_binding){"x", n->x};
    n->b[1] = (sb_binding){"y", n->y};
    int64_t h = hidden ? n->nh : 1;
    n->H = malloc(sizeof(float) * (size_t)(B * h));
    n->dH = malloc(sizeof(float) * (size_t)(B * h));
    n->Z = malloc(sizeof(float) * (size_t)(B * 10));
}

static void net_free(net *n)
{
    sb_array_free(n->x);
    sb_array_free(n->y);
    for (int i = 0; i < n->np; i++) {
        sb_array_free(n->p[i]);
        free(n->cp[i]);
    }
    free(n->H);
    free(n->dH);
    free(n->Z);
    sb_be_plan_free(n->plan);
    sb_function_free(n->fn);
    sb_shared_store_free(n->store);
}

/* symbench: run the plan; the new parameters are written in place (sb_be_plan_update_inplace),
 * or copied back where that was refused. */
static void net_sb(void *u)
{
    net *n = u;
    sb_be_plan_run(n->plan, 2 + n->np, n->b, NULL, NULL);
    n->loss_sb = ((const float *)sb_be_plan_output(n->plan, 0)->data)[0];
    for (int i = 0; i < n->np; i++) {
        const sb_array *v = sb_be_plan_output(n->plan, 1 + i);
        if (v->data != n->p[i]->data) memcpy(n->p[i]->data, v->data, (size_t)sb_array_numel(v) * 4);
    }
}

/* x = tanh(x) in place (vmath.h, AVX-512 when present, OpenMP above 64k elements). */
__attribute__((target("arch=x86-64-v4"))) static void c_tanh_v4(int64_t n, float *x)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) x[i] = sb_vm_tanhf(x[i]);
}
static void c_tanh_base(int64_t n, float *x)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) x[i] = sb_vm_tanhf(x[i]);
}
static void c_tanh(int64_t n, float *x)
{
    (__builtin_cpu_supports("avx512f") ? c_tanh_v4 : c_tanh_base)(n, x);
}

/* out[B, m] = act(in[B, k] @ W[k, m] + b) with act = tanh or identity. */
static void c_dense(int64_t B, int64_t k, int64_t m, const float *in, const float *W,
                    const float *b, float *out, bool act)
{
    for (int64_t i = 0; i < B; i++) memcpy(out + i * m, b, sizeof(float) * (size_t)m);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)m, (int)k, 1.0f, in,
                (int)k, W, (int)m, 1.0f, out, (int)m);
    if (act) c_tanh(B * m, out);
}

/* Z <- dZ = (softmax(Z) - onehot(y)) / B; returns the mean cross-entropy. */
static double c_softmax_xent(int64_t B, const int64_t *y, float *Z)
{
    double loss = 0;
    for (int64_t i = 0; i < B; i++) {
        float *z = Z + i * 10, m = z[0], s = 0;
        for (int j = 1; j < 10; j++) m = z[j] > m ? z[j] : m;
        for (int j = 0; j < 10; j++) s += (z[j] = expf(z[j] - m));
        loss -= log((double)z[y[i]] / s);
        for (int j = 0; j < 10; j++) z[j] = (z[j] / s - (j == y[i])) / (float)B;
    }
    return loss / (double)B;
}

/* b -= LR * column sums of d[B, m]. */
static void c_bias_step(int64_t B, int64_t m, const float *d, float *b)
{
    float s[m];
    memset(s, 0, sizeof s);
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < m; j++) s[j] += d[i * m + j];
    for (int64_t j = 0; j < m; j++) b[j] -= LR * s[j];
}

/* The hand-written step: sgemm for the products, W -= LR * in^T @ d folded into sgemm. */
static void net_c(void *u)
{
    net *n = u;
    int64_t B = n->B;
    const float *x = n->x->data;
    const int64_t *y = n->y->data;
    if (!n->hidden) {
        c_dense(B, 784, 10, x, n->cp[0], n->cp[1], n->Z, false);
        n->loss_c = c_softmax_xent(B, y, n->Z);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 784, 10, (int)B, -LR, x, 784, n->Z,
                    10, 1.0f, n->cp[0], 10);
        c_bias_step(B, 10, n->Z, n->cp[1]);
        return;
    }
    int64_t h = n->nh;
    c_dense(B, 784, h, x, n->cp[0], n->cp[1], n->H, true);
    c_dense(B, h, 10, n->H, n->cp[2], n->cp[3], n->Z, false);
    n->loss_c = c_softmax_xent(B, y, n->Z);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)h, 10, 1.0f, n->Z, 10,
                n->cp[2], 10, 0.0f, n->dH, (int)h);
#pragma omp parallel for schedule(static) if (B * h > 65536)
    for (int64_t i = 0; i < B * h; i++) n->dH[i] *= 1.0f - n->H[i] * n->H[i];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)h, 10, (int)B, -LR, n->H, (int)h,
                n->Z, 10, 1.0f, n->cp[2], 10);
    c_bias_step(B, 10, n->Z, n->cp[3]);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 784, (int)h, (int)B, -LR, x, 784, n->dH,
                (int)h, 1.0f, n->cp[0], (int)h);
    c_bias_step(B, h, n->dH, n->cp[1]);
}

/* The floor of an MLP step with OpenBLAS: its two [B, 784] x [784, h] sized products alone
 * (forward x @ W1, and the W1 update x.T @ dH, accumulated into scratch), no other work. */
static void net_gemm_floor(void *u)
{
    net *n = u;
    int64_t B = n->B, h = n->nh;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)h, 784, 1.0f, n->x->data,
                784, n->cp[0], (int)h, 0.0f, n->H, (int)h);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 784, (int)h, (int)B, -LR, n->x->data,
                784, n->dH, (int)h, 1.0f, n->Wf, (int)h);
}

/* The step as a compiled function (core/function.c) on the CPU backend, the path `symbench
 * run` trains on: the parameters (a copy) live in a shared store and are updated in place where
 * the plan accepts; the call binds x and y, copies the loss out. Built in ctx after
 * net_compile (the same leaves). NULL on error. */
static sb_function *net_function(sb_ctx *ctx, net *n, const bench_opts *bo)
{
    const char *text = n->hidden
        ? "mean(categorical_crossentropy(softmax(tanh(x @ W1 + b1) @ W2 + b2), y))"
        : "mean(categorical_crossentropy(softmax(x @ W + b), y))";
    sb_diag d = {0};
    sb_node *cost = sb_parse_expr(ctx, text, NULL, NULL, &d), *p[4], *g[4];
    sb_node *in[2] = {sb_parse_expr(ctx, "x", NULL, NULL, &d), sb_parse_expr(ctx, "y", NULL, NULL, &d)};
    n->store = sb_shared_store_new();
    for (int i = 0; i < n->np; i++) {
        p[i] = sb_parse_expr(ctx, PNAME[n->hidden][i], NULL, NULL, &d);
        sb_shared_set_value(n->store, PNAME[n->hidden][i], n->p[i]);
    }
    if (!cost || !in[0] || !in[1] || sb_grad(ctx, cost, n->np, p, NULL, g, &d)) {
        sb_diag_print(&d, stderr);
        return NULL;
    }
    sb_node *lr = sb_const_scalar(ctx, LR, SB_DTYPE_F64, true);
    sb_update u[4];
    for (int i = 0; i < n->np; i++)
        u[i] = (sb_update){p[i], sb_apply2(ctx, SB_OP_SUB, p[i], sb_apply2(ctx, SB_OP_MUL, lr, g[i], &d), &d)};
    sb_function_opts o = {.backend = "cpu", .optimize = !bo->no_opt};
    sb_function *f = sb_function_new(ctx, 2, in, 1, &cost, n->np, u, 0, NULL, n->store, &o, &d);
    if (!f) sb_diag_print(&d, stderr);
    return f;
}

static void net_fn(void *u)
{
    net *n = u;
    const sb_array *args[2] = {n->x, n->y};
    sb_array *loss = NULL;
    sb_function_call(n->fn, 2, args, &loss, NULL);
    sb_array_free(loss);
}

static int bench_net(const bench_opts *o, result *r, bool hidden, int64_t B, const char *name)
{
    sb_ctx *ctx = sb_ctx_init();
    net n;
    net_init(&n, hidden, B);
    n.plan = net_compile(ctx, &n, o, name);
    if (!n.plan) {
        net_free(&n);
        sb_ctx_free(ctx);
        return 1;
    }
    /* same starting point, one step each: the losses and new parameters must agree */
    net_sb(&n);
    net_c(&n);
    r->err = fabs(n.loss_sb - n.loss_c);
    for (int i = 0; i < n.np; i++)
        r->err = fmax(r->err, max_abs_diff(n.p[i]->data, n.cp[i], sb_array_numel(n.p[i])));
    int reps = o->quick ? (B > 500 ? 3 : 8) : (B > 500 ? 10 : (hidden ? 30 : 100));
    double med[3];
    n.fn = net_function(ctx, &n, o);
    if (!n.fn) {
        net_free(&n);
        sb_ctx_free(ctx);
        return 1;
    }
    median_times(3, (bench_fn[]){net_sb, net_c, net_fn}, &n, reps, 2, med);
    r->sb = med[0], r->c = med[1], r->sb_fn = med[2];
    if (hidden) {
        n.Wf = calloc((size_t)(784 * n.nh), sizeof(float));
        median_times(1, (bench_fn[]){net_gemm_floor}, &n, reps, 2, med);
        r->gemm = med[0];
        free(n.Wf);
    }
    if (o->profile) { /* the plan's steps over as many runs as were timed */
        sb_profile_reset();
        sb_profile_enable(true);
        for (int i = 0; i < reps; i++) net_sb(&n);
        sb_profile_enable(false);
        sb_profile_summary *s = sb_profile_summarize();
        fprintf(stderr, "    %s, profile of %d runs of the plan:\n", name, reps);
        sb_profile_print(s, stderr, 12);
        sb_profile_summary_free(s);
    }
    if (o->show_plan) {
        sb_plan_stats st;
        sb_be_plan_stats(n.plan, &st);
        fprintf(stderr, "    %s: %d steps (%d fused, %d gemm, %d kernel), %d buffers, %.1f MB, "
                "%lld pool allocations\n", name, st.nsteps, st.nfused, st.ngemm, st.nkernel,
                st.nbuffers, (double)st.pool_bytes / 1e6, (long long)st.pool_allocs);
        int k = 0;
        for (int i = 0; i < n.np; i++) k += sb_fn_update_inplace(n.fn, i);
        fprintf(stderr, "    %s as a compiled function: %d of %d updates in place\n", name, k, n.np);
    }
    net_free(&n);
    sb_ctx_free(ctx);
    return 0;
}

/* W3c: building W3's step (parse + grad) and compiling its plan, in a fresh context. */
typedef struct compile_job {
    const bench_opts *o;
    net *n;
} compile_job;

static void compile_once(void *u)
{
    compile_job *j = u;
    sb_ctx *ctx = sb_ctx_init();
    sb_plan *p = net_compile(ctx, j->n, j->o, "W3c");
    sb_be_plan_free(p);
    sb_ctx_free(ctx);
}

static int bench_compile(const bench_opts *o, result *r)
{
    net n;
    net_init(&n, true, 1);
    bench_opts q = *o;
    q.show_plan = false;
    compile_job j = {&q, &n};
    double t0 = now();
    compile_once(&j);
    r->c = now() - t0; /* the first (cold) compile is reported in the C column */
    r->sb = median_time(compile_once, &j, o->quick ? 5 : 20, 1);
    net_free(&n);
    return 0;
}

/* ---- driver ------------------------------------------------------------------------------ */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench bench [--quick] [--only W1,W2,W3,W4,W3c,EPOCH] [--json FILE] [--no-peers]\n"
            "                      [--peers PATH] [--coretype NAME | --keep-coretype]\n"
            "                      [--omp-wait spin|passive|active] [--jit] [--plan] [--profile] [--no-opt] [--rounds N]\n"
            "       symbench bench --backend cuda [--quick]\n\n"
            "Run the benchmark suite: symbench's CPU plan, a hand-written C reference, NumPy and\n"
            "PyTorch (bench/peers.py through /usr/bin/python3) on the same workloads, in this one\n"
            "invocation, and print times (median of repetitions after warm-up) and ratios.\n"
            "  W1   tanh(x*y + z) * exp(-w) + 0.5*x, 10M float32\n"
            "  W2   row softmax, 4096x4096 float32\n"
            "  W3   one SGD step of an MLP 784-500-10 (tanh, softmax cross-entropy), batch 128, 1024\n"
            "  W4   one SGD step of logistic regression 784-10, batch 128\n"
            "  W3c  building and compiling W3's step (cold, then median of warm compiles)\n"
            "  EPOCH (only when named) seconds per epoch of examples/fmnist_mlp trained by\n"
            "       `symbench run` and by PyTorch (bench/epoch.sh; 3 epochs, --quick: 1)\n"
            "--quick            fewer repetitions\n"
            "--json FILE        also write the results as JSON\n"
            "--no-peers         skip NumPy and PyTorch\n"
            "--peers PATH       the peers script (default: bench/peers.py next to the sources)\n"
            "--coretype NAME    OpenBLAS kernels (default SkylakeX when the CPU has AVX-512)\n"
            "--keep-coretype    keep the environment's OPENBLAS_CORETYPE\n"
            "--omp-wait POLICY  OpenMP waiting for everyone: spin (spin briefly, then sleep),\n"
            "                   passive or active (default: the environment's, else spin when\n"
            "                   nothing else runs, passive on a busy machine)\n"
            "--jit              compile every plan's fused groups to C (as SB_JIT=1 does)\n"
            "--plan             print each workload's execution plan on stderr\n"
            "--profile          profile W3/W4's plan step by step on stderr (after the timings)\n"
            "--no-opt           compile the graphs as built, without the optimizer's default passes\n"
            "--rounds N         run the selection N times (each a table, each ratio within its own\n"
            "                   run), then every ratio's min / median / max over the N runs\n"
            "--backend cuda     the GPU benchmarks G1-G4 on the CUDA backend instead (docs/cuda.md;\n"
            "                   without a device, each workload's plan only)\n");
}

/* --backend NAME: cpu is the suite above; cuda runs G1-G4 (the CUDA module, loaded on demand). */
static int bench_backend(const bench_opts *o)
{
#ifdef SB_HAVE_CUDA
    if (!strcmp(o->backend, "cuda")) {
        sb_diag d = {0};
        if (!sb_be_cuda_bench(stdout, o->quick, &d)) return 0;
        fprintf(stderr, "symbench bench: %s\n", d.msg);
        return 1;
    }
#endif
    fprintf(stderr, "symbench bench: backend '%s' is not available in this build\n", o->backend);
    return 2;
}

static bool want(const bench_opts *o, const char *w)
{
    char buf[sizeof o->only];
    snprintf(buf, sizeof buf, "%s", o->only);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        if (!strcmp(t, w) || (!strncmp(w, t, strlen(t)) && w[strlen(t)] == '_')) return true;
    return false;
}

/* A script of bench/ (file): $SB_SOURCE_ROOT/bench/FILE, or next to the executable. */
static bool find_script(const char *file, char *path, size_t n)
{
    const char *root = getenv("SB_SOURCE_ROOT");
    if (root) {
        snprintf(path, n, "%s/bench/%s", root, file);
        if (access(path, R_OK) == 0) return true;
    }
    char exe[1024];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) return false;
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char *const rel[] = {"/../../bench/", "/../bench/", "/../share/symbench/"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        snprintf(path, n, "%s%s%s", exe, rel[i], file);
        if (access(path, R_OK) == 0) return true;
    }
    return false;
}

/* The peers script: --peers, else bench/peers.py (find_script). */
static bool find_peers(const bench_opts *o, char *path, size_t n)
{
    if (o->peers) {
        snprintf(path, n, "%s", o->peers);
        return access(path, R_OK) == 0;
    }
    return find_script("peers.py", path, n);
}

/* EPOCH: bench/epoch.sh, the time per epoch of examples/fmnist_mlp trained by this program's
 * `symbench run` next to the same model in PyTorch (bench/mlp_epoch.py), printed as its own
 * table. It inherits the environment chosen above (threads, wait policy, OpenBLAS core). */
static int bench_epoch(const bench_opts *o)
{
    char path[1200], exe[1024], cmd[2600];
    if (!find_script("epoch.sh", path, sizeof path)) {
        fprintf(stderr, "symbench bench: bench/epoch.sh not found (set SB_SOURCE_ROOT)\n");
        return 1;
    }
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) return 1;
    exe[k] = 0;
    snprintf(cmd, sizeof cmd, "bash '%s' --keep-coretype --epochs %d --symbench '%s'%s", path,
             o->quick ? 1 : 3, exe, o->no_peers ? " --no-torch" : "");
    fprintf(stderr, "  EPOCH: %s\n", cmd);
    fflush(NULL);
    return system(cmd) == 0 ? 0 : 1;
}

/* Run the peers and fill np / torch times. Returns the parsed JSON (versions), or NULL. */
static cJSON *run_peers(const bench_opts *o, const char *only, result *res, int nres)
{
    char path[1200], cmd[1600];
    if (!find_peers(o, path, sizeof path)) {
        fprintf(stderr, "symbench bench: bench/peers.py not found (use --peers PATH)\n");
        return NULL;
    }
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s --only %s --threads %d", path,
             o->quick ? "--quick" : "", only, omp_get_max_threads());
    fprintf(stderr, "    NumPy and PyTorch: %s\n", cmd);
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t k; (k = fread(buf + len, 1, cap - 1 - len, f)) > 0;) len += k;
    buf[len] = 0;
    int rc = pclose(f);
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j) {
        fprintf(stderr, "symbench bench: peers.py failed (status %d)\n", rc);
        return NULL;
    }
    for (int i = 0; i < nres; i++) {
        cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "numpy"), res[i].name);
        cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "torch"), res[i].name);
        if (cJSON_IsNumber(a)) res[i].np = a->valuedouble;
        if (cJSON_IsNumber(b)) res[i].torch = b->valuedouble;
    }
    for (const char *lib[] = {"numpy", "torch"}, **l = lib; l < lib + 2; l++) {
        cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(j, *l), "error");
        if (cJSON_IsString(e)) fprintf(stderr, "symbench bench: %s: %s\n", *l, e->valuestring);
    }
    return j;
}

static double ratio(double a, double b)
{
    return a > 0 && b > 0 ? a / b : NAN;
}

/* Each ratio over the rounds (each taken within its own run): min / median / max. */
static void print_spread(const result *res, int nres, int nrounds, double (*ratios)[6][3], FILE *f)
{
    static const char *const name[3] = {"sb/C", "np/sb", "torch/sb"};
    fprintf(f, "ratios over %d runs (min / median / max):\n", nrounds);
    for (int w = 0; w < nres; w++) {
        if (!strcmp(res[w].name, "W3c")) continue;
        fprintf(f, "%-8s", res[w].name);
        for (int k = 0; k < 3; k++) {
            double v[100];
            int n = 0;
            for (int r = 0; r < nrounds; r++)
                if (!isnan(ratios[r][w][k])) v[n++] = ratios[r][w][k];
            if (!n) continue;
            qsort(v, (size_t)n, sizeof *v, cmp_double);
            fprintf(f, "  %s %.2f / %.2f / %.2f", name[k], v[0], v[n / 2], v[n - 1]);
        }
        fprintf(f, "\n");
    }
}

static void print_table(const result *res, int nres, FILE *f)
{
    fprintf(f, "%-8s %-44s %10s %10s %10s %10s %8s %8s %8s %9s\n", "workload", "what",
            "symbench", "C", "NumPy", "PyTorch", "sb/C", "np/sb", "torch/sb", "max|sb-C|");
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        if (!strcmp(r->name, "W3c")) {
            fprintf(f, "%-8s %-44s %8.2fms  (cold: %.2f ms)\n", r->name, r->what, 1e3 * r->sb,
                    1e3 * r->c);
            continue;
        }
        fprintf(f, "%-8s %-44s %8.3fms %8.3fms %8.3fms %8.3fms %8.2f %8.2f %8.2f %9.2g\n",
                r->name, r->what, 1e3 * r->sb, 1e3 * r->c, 1e3 * r->np, 1e3 * r->torch,
                ratio(r->sb, r->c), ratio(r->np, r->sb), ratio(r->torch, r->sb), r->err);
        if (r->c_libm > 0)
            fprintf(f, "%-8s %-44s %10s %8.3fms %30s %8.2f\n", "", "  C with libm tanhf/expf", "",
                    1e3 * r->c_libm, "", ratio(r->sb, r->c_libm));
        if (r->sb_jit > 0)
            fprintf(f, "%-8s %-44s %8.3fms %41s %8.2f %8.2f %8.2f   (plan compile %.0f ms)\n", "",
                    "  symbench, group compiled to C (SB_JIT=1)", 1e3 * r->sb_jit, "",
                    ratio(r->sb_jit, r->c), ratio(r->np, r->sb_jit), ratio(r->torch, r->sb_jit),
                    1e3 * r->jit_compile);
        if (r->sb_fn > 0)
            fprintf(f, "%-8s %-44s %8.3fms %41s %8.2f %8.2f %8.2f\n", "",
                    "  symbench, compiled function (cpu backend)", 1e3 * r->sb_fn, "",
                    ratio(r->sb_fn, r->c), ratio(r->np, r->sb_fn), ratio(r->torch, r->sb_fn));
        if (r->gemm > 0) /* torch/floor: the most any step on OpenBLAS could gain over PyTorch */
            fprintf(f, "%-8s %-44s %10s %8.3fms %30s %8.2f %8.2f %8.2f\n", "",
                    "  C: its two large sgemm calls alone (floor)", "", 1e3 * r->gemm, "",
                    ratio(r->sb, r->gemm), ratio(r->np, r->gemm), ratio(r->torch, r->gemm));
    }
}

static int write_json(const char *path, const result *res, int nres, cJSON *peers)
{
    cJSON *root = cJSON_CreateObject();
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(root, "host", host);
    cJSON_AddStringToObject(root, "openblas_core", openblas_get_corename());
    char wb[64];
    cJSON_AddStringToObject(root, "omp_wait_policy", sb_cmd_wait_desc(wb, sizeof wb));
    cJSON_AddNumberToObject(root, "threads", omp_get_max_threads());
    cJSON_AddNumberToObject(root, "time", (double)time(NULL));
    if (peers) cJSON_AddItemToObject(root, "versions", cJSON_Duplicate(cJSON_GetObjectItem(peers, "versions"), 1));
    cJSON *arr = cJSON_AddArrayToObject(root, "workloads");
    for (int i = 0; i < nres; i++) {
        cJSON *w = cJSON_CreateObject();
        cJSON_AddStringToObject(w, "name", res[i].name);
        cJSON_AddStringToObject(w, "what", res[i].what);
        cJSON_AddNumberToObject(w, "symbench_s", res[i].sb);
        cJSON_AddNumberToObject(w, !strcmp(res[i].name, "W3c") ? "cold_s" : "c_s", res[i].c);
        if (res[i].np > 0) cJSON_AddNumberToObject(w, "numpy_s", res[i].np);
        if (res[i].torch > 0) cJSON_AddNumberToObject(w, "torch_s", res[i].torch);
        if (res[i].c_libm > 0) cJSON_AddNumberToObject(w, "c_libm_s", res[i].c_libm);
        if (res[i].sb_jit > 0) {
            cJSON_AddNumberToObject(w, "symbench_jit_s", res[i].sb_jit);
            cJSON_AddNumberToObject(w, "jit_plan_compile_s", res[i].jit_compile);
        }
        if (res[i].sb_fn > 0) cJSON_AddNumberToObject(w, "symbench_function_s", res[i].sb_fn);
        if (res[i].gemm > 0) cJSON_AddNumberToObject(w, "gemm_floor_s", res[i].gemm);
        cJSON_AddNumberToObject(w, "max_abs_diff_vs_c", res[i].err);
        cJSON_AddItemToArray(arr, w);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "symbench bench: %s: cannot write\n", path);
        free(text);
        return 1;
    }
    fprintf(f, "%s\n", text);
    fclose(f);
    free(text);
    return 0;
}

static int parse_args(int argc, char **argv, bench_opts *o, const char **core, bool *keep,
                      const char **wait)
{
    snprintf(o->only, sizeof o->only, "W1,W2,W3,W4,W3c");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--quick")) o->quick = true;
        else if (!strcmp(a, "--no-peers")) o->no_peers = true;
        else if (!strcmp(a, "--plan")) o->show_plan = true;
        else if (!strcmp(a, "--profile")) o->profile = true;
        else if (!strcmp(a, "--no-opt")) o->no_opt = true;
        else if (!strcmp(a, "--rounds") && has) {
            o->rounds = atoi(argv[++i]);
            if (o->rounds < 1 || o->rounds > 100) {
                fprintf(stderr, "symbench bench: --rounds must be 1 to 100, not '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(a, "--jit")) o->jit = true;
        else if (!strcmp(a, "--keep-coretype")) *keep = true;
        else if (!strcmp(a, "--only") && has) snprintf(o->only, sizeof o->only, "%s", argv[++i]);
        else if (!strcmp(a, "--json") && has) o->json = argv[++i];
        else if (!strcmp(a, "--peers") && has) o->peers = argv[++i];
        else if (!strcmp(a, "--coretype") && has) *core = argv[++i];
        else if (!strcmp(a, "--omp-wait") && has) {
            *wait = argv[++i];
            if (strcmp(*wait, "spin") && strcmp(*wait, "passive") && strcmp(*wait, "active")) {
                fprintf(stderr, "symbench bench: --omp-wait must be spin, passive or active, not '%s'\n", *wait);
                return 2;
            }
        }
        else if (!strcmp(a, "--backend") && has) o->backend = argv[++i];
        else {
            fprintf(stderr, "symbench bench: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    return 0;
}

/* Workload i (W[] of sb_cmd_bench: W1, W2, W3_128, W3_1024, W4, W3c) into r (name and what
 * set). The machine's load drifts: symbench and C are timed before and after the peers
 * (median_times) and the two medians averaged; *peers receives the peers' report. */
static int run_workload(const bench_opts *o, size_t i, result *r, cJSON **peers)
{
    fprintf(stderr, "  %s ...\n", r->name);
    int rounds = o->no_peers || i == 5 ? 1 : 2;
    result part[2];
    for (int k = 0; k < rounds; k++) {
        part[k] = *r;
        int bad = i == 0   ? bench_w1(o, &part[k])
                  : i == 1 ? bench_w2(o, &part[k])
                  : i == 2 ? bench_net(o, &part[k], true, 128, r->name)
                  : i == 3 ? bench_net(o, &part[k], true, 1024, r->name)
                  : i == 4 ? bench_net(o, &part[k], false, 128, r->name)
                           : bench_compile(o, &part[k]);
        if (bad) {
            fprintf(stderr, "symbench bench: %s failed\n", r->name);
            return 1;
        }
        if (k == 0 && rounds == 2) {
            cJSON_Delete(*peers);
            *peers = run_peers(o, r->name, r, 1);
        }
    }
    double np = r->np, torch = r->torch;
    *r = part[0];
    if (rounds == 2) {
        r->sb = (part[0].sb + part[1].sb) / 2;
        r->c = (part[0].c + part[1].c) / 2;
        r->c_libm = (part[0].c_libm + part[1].c_libm) / 2;
        r->sb_jit = (part[0].sb_jit + part[1].sb_jit) / 2;
        r->sb_fn = (part[0].sb_fn + part[1].sb_fn) / 2;
        r->gemm = (part[0].gemm + part[1].gemm) / 2;
        r->err = fmax(part[0].err, part[1].err);
    }
    r->np = np, r->torch = torch;
    return 0;
}

int sb_cmd_bench(int argc, char **argv)
{
    bench_opts o = {0};
    const char *core = NULL, *wait = NULL;
    bool keep = false;
    int rc = parse_args(argc, argv, &o, &core, &keep, &wait);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.backend && strcmp(o.backend, "cpu")) return bench_backend(&o);
    sb_cmd_tune_env(argc, argv, core, keep, wait);
    if (o.jit) sb_be_fz_jit_set(1);
    /* mallopt (no trimming, no mmap for big blocks) is set for every command in main()
     * (tools/symbench.c) */
    char wb[64];
    double load = 0;
    getloadavg(&load, 1);
    fprintf(stderr, "symbench bench: %d threads, OpenBLAS core %s, OpenMP waiting: %s, load %.2f%s\n",
            omp_get_max_threads(), openblas_get_corename(), sb_cmd_wait_desc(wb, sizeof wb), load,
            o.quick ? ", quick" : "");
    static const struct {
        const char *name, *what;
    } W[] = {
        {"W1", "tanh(x*y+z)*exp(-w)+0.5*x, 10M f32"},
        {"W2", "row softmax 4096x4096 f32"},
        {"W3_128", "MLP 784-500-10 SGD step, batch 128"},
        {"W3_1024", "MLP 784-500-10 SGD step, batch 1024"},
        {"W4", "logreg 784-10 SGD step, batch 128"},
        {"W3c", "W3 build + grad + plan compile"},
    };
    result res[6];
    int nres = 0, nrounds = o.rounds > 0 ? o.rounds : 1;
    cJSON *peers = NULL;
    double ratios[100][6][3]; /* by round, workload: sb/C, np/sb, torch/sb */
    for (int round = 0; round < nrounds; round++) {
        nres = 0;
        if (nrounds > 1) fprintf(stderr, "round %d of %d\n", round + 1, nrounds);
        for (size_t i = 0; i < sizeof W / sizeof *W; i++) {
            if (!want(&o, W[i].name)) continue;
            result *r = &res[nres];
            memset(r, 0, sizeof *r);
            r->name = W[i].name;
            r->what = W[i].what;
            if (run_workload(&o, i, r, &peers)) {
                cJSON_Delete(peers);
                return 1;
            }
            ratios[round][nres][0] = ratio(r->sb, r->c);
            ratios[round][nres][1] = ratio(r->np, r->sb);
            ratios[round][nres][2] = ratio(r->torch, r->sb);
            nres++;
        }
        if (nres) print_table(res, nres, stdout);
    }
    if (nrounds > 1) print_spread(res, nres, nrounds, ratios, stdout);
    if (o.json) rc = write_json(o.json, res, nres, peers);
    cJSON_Delete(peers);
    if (want(&o, "EPOCH") && bench_epoch(&o)) rc = 1;
    return rc;
}
