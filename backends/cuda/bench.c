/* bench.c: the GPU benchmarks of issue 8 (G1-G4) on the CUDA backend, for
 * `symbench bench --backend cuda` (sb_be_cuda_bench in backends/backend.c loads the module
 * and calls sb_cu_bench through its descriptor).
 *
 *   G1  tanh(x*y + z) * exp(-w) + 0.5*x on 100M float32 (one fused kernel; GB/s of 5 arrays)
 *   G2  row softmax 8192x8192 float32
 *   G3  one SGD step of an MLP 784-500-10 (tanh, softmax cross-entropy, mean) at batch 128 and
 *       4096: the loss and the four updated parameters
 *   G4  SGEMM 8192x8192x8192, against cuBLAS called directly (the same library, no program)
 *
 * Each time is the median device time (CUDA events) of the program's kernels after one planning
 * pass, inputs already on the device (sb_cu_prog_time); G3 also as a replayed CUDA graph.
 * Without a device it prints each workload's plan (steps by kind) and says that nothing ran. */
#include "backends/cuda/cu-impl.h"

#include <math.h>

typedef struct work {
    sb_ctx *ctx;
    int nout;
    sb_node *outs[8];
    int nb;
    sb_binding b[8];
    sb_array *arr[8];
} work;

static void work_free(work *w)
{
    for (int i = 0; i < w->nb; i++) sb_array_free(w->arr[i]);
    sb_ctx_free(w->ctx);
}

/* A variable of type text bound to an array filled with a cheap deterministic pattern in
 * [lo, hi) (labels: integers below hi). shape[] gives the concrete dims. */
static sb_node *var(work *w, bool shared, const char *name, const char *text, int nd,
                    const int64_t *shape, double lo, double hi)
{
    sb_type t;
    sb_diag d = {0};
    SB_ASSERT(sb_type_parse(text, &t, &d) == SB_OK);
    sb_array *a = sb_array_new(t.dtype, nd, shape);
    int64_t n = sb_array_numel(a);
    for (int64_t i = 0; i < n; i++) {
        uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ULL + (uint64_t)w->nb;
        double u = (double)(h >> 40) / 16777216.0;
        if (t.dtype == SB_DTYPE_F32) ((float *)a->data)[i] = (float)(lo + (hi - lo) * u);
        else sb_array_set_f64(a, i, floor(u * hi));
    }
    w->arr[w->nb] = a;
    w->b[w->nb++] = (sb_binding){name, a};
    return shared ? sb_shared(w->ctx, name, &t) : sb_input(w->ctx, name, &t);
}

static sb_node *expr(work *w, const char *text)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(w->ctx, text, NULL, NULL, &d);
    if (!n) sb_panic(__FILE__, __LINE__, "bench expression %s: %s", text, d.msg);
    return n;
}

static void g1(work *w, int64_t n)
{
    const char *names[] = {"x", "y", "z", "w"};
    for (int i = 0; i < 4; i++) var(w, false, names[i], "float32[?]", 1, &n, -1, 1);
    w->outs[w->nout++] = expr(w, "tanh(x*y + z) * exp(-w) + 0.5*x");
}

static void g2(work *w, int64_t rows, int64_t cols)
{
    var(w, false, "x", "float32[?, ?]", 2, (int64_t[]){rows, cols}, -4, 4);
    w->outs[w->nout++] = expr(w, "softmax(x)");
}

/* G3: loss and updated parameters of one SGD step (learning rate 0.1). */
static void g3(work *w, int64_t batch)
{
    var(w, false, "x", "float32[?, 784]", 2, (int64_t[]){batch, 784}, 0, 1);
    var(w, false, "y", "int32[?]", 1, &batch, 0, 10);
    var(w, true, "W1", "float32[784, 500]", 2, (int64_t[]){784, 500}, -0.05, 0.05);
    var(w, true, "b1", "float32[500]", 1, (int64_t[]){500}, 0, 0.01);
    var(w, true, "W2", "float32[500, 10]", 2, (int64_t[]){500, 10}, -0.1, 0.1);
    var(w, true, "b2", "float32[10]", 1, (int64_t[]){10}, 0, 0.01);
    sb_node *cost = expr(w, "mean(categorical_crossentropy(softmax(tanh(x @ W1 + b1) @ W2 + b2), y))");
    const char *pn[] = {"W1", "b1", "W2", "b2"};
    sb_node *wrt[4], *g[4];
    for (int i = 0; i < 4; i++) wrt[i] = expr(w, pn[i]);
    sb_diag d = {0};
    if (sb_grad(w->ctx, cost, 4, wrt, NULL, g, &d)) sb_panic(__FILE__, __LINE__, "grad: %s", d.msg);
    w->outs[w->nout++] = cost;
    sb_node *lr = sb_parse_expr(w->ctx, "0.1", NULL, NULL, &d);
    for (int i = 0; i < 4; i++) {
        sb_node *step = sb_apply2(w->ctx, SB_OP_MUL, lr, g[i], &d);
        w->outs[w->nout++] = sb_apply2(w->ctx, SB_OP_SUB, wrt[i], step, &d);
    }
}

static void g4(work *w, int64_t n)
{
    var(w, false, "a", "float32[?, ?]", 2, (int64_t[]){n, n}, -1, 1);
    var(w, false, "b", "float32[?, ?]", 2, (int64_t[]){n, n}, -1, 1);
    w->outs[w->nout++] = expr(w, "a @ b");
}

/* Print the plan; time it when there is a device (*ms = -1 otherwise). */
static sb_status measure(FILE *out, const char *name, work *w, int reps, bool graph, double *ms,
                         sb_diag *d)
{
    *ms = -1;
    const struct sb_backend_i *be = sb_be_cuda_get();
    sb_be_program *p = be->compile(w->ctx, w->nout, w->outs, 0, d);
    if (!p) return d->status;
    int c[SB_CU_NKINDS], fused;
    sb_cu_prog_stats(p, c, &fused);
    fprintf(out, "%-22s plan: %d fused groups (%d nodes), %d row, %d col, %d gemm, %d transpose,"
                 " %d view, %d folded, %d host steps\n",
            name, c[1], fused, c[3], c[4], c[5], c[2], c[6], c[8], c[7]);
    if (getenv("SB_CUDA_SHOW_PLAN")) sb_cu_prog_print(p, out);
    sb_status st = SB_OK;
    if (sb_cu_device_ok(NULL)) st = sb_cu_prog_time(p, w->nb, w->b, reps, graph, ms, d);
    be->program_free(p);
    return st;
}

/* cuBLAS on its own: the G4 baseline. */
static sb_status cublas_rate(int64_t n, double *ms, sb_diag *d)
{
    size_t bytes = (size_t)(n * n) * 4;
    void *a = sb_cu_pool_alloc(bytes, d), *b = a ? sb_cu_pool_alloc(bytes, d) : NULL,
         *c = b ? sb_cu_pool_alloc(bytes, d) : NULL;
    sb_status st = c ? SB_OK : d->status;
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    float best = 1e30f;
    cudaStream_t str = (cudaStream_t)sb_cu_stream();
    for (int i = 0; i < 6 && !st; i++) {
        float f = 0;
        cudaEventRecord(e0, str);
        st = sb_cu_gemm(SB_DTYPE_F32, false, false, n, n, n, a, b, 0, c, false, d);
        cudaEventRecord(e1, str);
        if (!st) st = SB_CU_CHECK(cudaEventSynchronize(e1), d);
        cudaEventElapsedTime(&f, e0, e1);
        if (i >= 1 && f < best) best = f;
    }
    *ms = best;
    sb_cu_pool_release(a);
    sb_cu_pool_release(b);
    sb_cu_pool_release(c);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return st;
}

static void row(FILE *out, const char *name, double ms, double target, const char *unit,
                double per_ms)
{
    if (ms < 0) {
        fprintf(out, "%-22s (not run: no CUDA device)\n", name);
        return;
    }
    fprintf(out, "%-22s %9.4f ms  target %7.3f ms  %s %8.1f  %s\n", name, ms, target, unit,
            per_ms / ms, ms <= target ? "ok" : "above target");
}

int sb_cu_bench(FILE *out, bool quick, sb_diag *d)
{
    sb_diag why = {0};
    if (!sb_cu_device_ok(&why)) fprintf(out, "cuda bench: %s: plans only\n", why.msg);
    int reps = quick ? 5 : 21;
    int64_t n1 = quick ? 10000000 : 100000000, n2 = quick ? 2048 : 8192, n4 = quick ? 2048 : 8192;
    double ms;
    work w = {.ctx = sb_ctx_init()};
    g1(&w, n1);
    if (measure(out, "G1 fused elementwise", &w, reps, false, &ms, d)) goto fail;
    row(out, "G1 fused elementwise", ms, 0.73 * (double)n1 / 1e8, "GB/s", 20.0 * (double)n1 / 1e6);
    work_free(&w);
    w = (work){.ctx = sb_ctx_init()};
    g2(&w, n2, n2);
    if (measure(out, "G2 row softmax", &w, reps, false, &ms, d)) goto fail;
    row(out, "G2 row softmax", ms, 0.25 * (double)(n2 * n2) / (8192.0 * 8192), "GB/s",
        8.0 * (double)(n2 * n2) / 1e6);
    work_free(&w);
    const int64_t batches[2] = {128, 4096};
    const double targets[2] = {0.15, 0.41};
    for (int k = 0; k < 2; k++)
        for (int graph = 0; graph < 2; graph++) {
            char name[64];
            snprintf(name, sizeof name, "G3 MLP step b=%lld%s", (long long)batches[k],
                     graph ? " graph" : "");
            w = (work){.ctx = sb_ctx_init()};
            g3(&w, batches[k]);
            if (measure(out, name, &w, reps, graph, &ms, d)) goto fail;
            row(out, name, ms, targets[k], "steps/s", 1000.0);
            work_free(&w);
        }
    w = (work){.ctx = sb_ctx_init()};
    g4(&w, n4);
    if (measure(out, "G4 SGEMM", &w, quick ? 3 : 7, false, &ms, d)) goto fail;
    double flop = 2.0 * (double)n4 * (double)n4 * (double)n4;
    if (ms >= 0) {
        double base;
        if (cublas_rate(n4, &base, d)) goto fail;
        fprintf(out, "%-22s %9.4f ms  %6.1f TFLOP/s; cuBLAS alone %9.4f ms: %.1f%% of its rate\n",
                "G4 SGEMM", ms, flop / ms / 1e9, base, 100.0 * base / ms);
    } else {
        row(out, "G4 SGEMM", ms, 0, "", 0);
    }
    work_free(&w);
    return 0;
fail:
    work_free(&w);
    return 1;
}
