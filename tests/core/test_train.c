/* test_train.c: the training loop of pipelines (core/train.c).
 *
 * A small synthetic regression (y = x @ w* + 0.5, 200 rows) trained by minibatch SGD written as
 * graph updates: the loss falls, two runs with the same seed give identical losses and weights,
 * a run interrupted and resumed from its checkpoint ends with the same weights as an
 * uninterrupted one, metrics lines parse, epochs count steps, Adam's step counter advances, bad
 * train settings are errors with positions, and a short Fashion-MNIST run (1000 images) learns. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "function.h"
#include "pipeline.h"
#define TMPDIR_PREFIX "sb-train"
#include "tmpdir.h"

TestSuite(train);

/* x: 200 x 4 normal; y = x @ (1, -2, 3, 0.5) + 0.5, as x.npy and y.npy. */
static void write_regression_data(void)
{
    sb_init_spec is = {.kind = "normal", .std = 1, .seed = 5};
    int64_t sh[2] = {200, 4};
    sb_diag d = {0};
    sb_array *x = sb_array_init(&is, SB_DTYPE_F64, 2, sh, &d);
    cr_assert_not_null(x, "%s", d.msg);
    sb_array *y = sb_array_new(SB_DTYPE_F64, 1, sh);
    const double w[4] = {1, -2, 3, 0.5};
    for (int i = 0; i < 200; i++) {
        double s = 0.5;
        for (int k = 0; k < 4; k++) s += w[k] * sb_array_get_f64(x, i * 4 + k);
        sb_array_set_f64(y, i, s);
    }
    char *px = tpath("x.npy"), *py = tpath("y.npy");
    cr_assert_eq(sb_npy_save(px, x, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_npy_save(py, y, &d), SB_OK, "%s", d.msg);
    free(px);
    free(py);
    sb_array_free(x);
    sb_array_free(y);
}

static const char *regression_graph =
    "{\"inputs\": {\"x\": \"float64[?, 4]\", \"y\": \"float64[?]\"},"
    " \"shared\": {\"w\": \"float64[4]\", \"c\": \"float64\"},"
    " \"outputs\": {\"loss\": \"mean((x @ w + c - y) ** 2)\", \"pred\": \"x @ w + c\"},"
    " \"updates\": {\"w\": \"w - 0.05 * grad(loss, w)\", \"c\": \"c - 0.05 * grad(loss, c)\"}}";

/* A pipeline over the regression data: `train_extra` goes inside "train". */
static void write_pipeline(const char *name, const char *graph, const char *train_extra)
{
    char *text = sb_xasprintf(
        "{\"graph\": %s,\n"
        " \"data\": {\"x\": \"x.npy\", \"y\": \"y.npy\", \"w\": {\"init\": \"zeros\"},"
        " \"c\": {\"init\": \"zeros\"}},\n"
        " \"train\": {%s\"batch_over\": [\"x\", \"y\"], \"seed\": 3,"
        " \"log_every\": 5, %s},\n"
        " \"save\": {\"w\": \"out/w.npy\"}}\n",
        graph, strstr(train_extra, "batch_size") ? "" : "\"batch_size\": 20, ", train_extra);
    write_text(name, text);
    free(text);
}

/* Load a pipeline, bind its data, expand autodiff and train (quiet). Returns the status; the
 * diag message goes to msg (when not NULL). */
static sb_status train_file(const char *name, char *msg, size_t n)
{
    char *path = tpath(name);
    sb_diag d = {0};
    sb_pipeline *p = sb_pipeline_load(path, &d);
    free(path);
    cr_assert_not_null(p, "%s", d.msg);
    sb_ctx *ctx = sb_ctx_init();
    sb_graph *g = sb_pipeline_load_graph(p, ctx, &d);
    cr_assert_not_null(g, "%s", d.msg);
    int ni = sb_graph_count(g, SB_ROLE_INPUT), ns = sb_graph_count(g, SB_ROLE_SHARED), nb = 0;
    sb_binding *b = sb_xcalloc((size_t)(ni + ns), sizeof *b);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < (r ? ns : ni); i++) {
            sb_graph_role role = r ? SB_ROLE_SHARED : SB_ROLE_INPUT;
            sb_node *v = sb_graph_node(g, role, i);
            const sb_data_spec *s = sb_pipeline_data(p, sb_node_name(v));
            cr_assert_not_null(s, "no data for %s", sb_node_name(v));
            sb_array *a = sb_pipeline_data_load(p, s, sb_node_type(v), &d);
            cr_assert_not_null(a, "%s", d.msg);
            b[nb++] = (sb_binding){sb_node_name(v), a};
        }
    cr_assert_eq(sb_graph_expand_autodiff(g, &d), SB_OK, "%s", d.msg);
    sb_status st = sb_train_run(p, g, nb, b, true, &d);
    if (msg) snprintf(msg, n, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    for (int i = 0; i < nb; i++) sb_array_free((sb_array *)b[i].value);
    free(b);
    sb_graph_free(g);
    sb_ctx_free(ctx);
    sb_pipeline_free(p);
    return st;
}

/* The losses of the metrics file's progress lines (at most max); every line must parse. */
static int read_losses(const char *name, double *loss, int max, int *nlines)
{
    char *p = tpath(name), line[4096];
    FILE *f = fopen(p, "r");
    free(p);
    cr_assert_not_null(f, "no metrics file %s", name);
    int n = 0;
    *nlines = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "metrics line does not parse: %s", line);
        cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "step")), "%s", line);
        const cJSON *l = cJSON_GetObjectItem(j, "loss");
        if (l && n < max) {
            cr_expect(cJSON_IsNumber(l), "%s", line);
            cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "examples_per_s")), "%s", line);
            loss[n++] = l->valuedouble;
        }
        (*nlines)++;
        cJSON_Delete(j);
    }
    fclose(f);
    return n;
}

static sb_array *load(const char *name)
{
    char *p = tpath(name);
    sb_diag d = {0};
    sb_array *a = sb_npy_load(p, &d);
    free(p);
    cr_assert_not_null(a, "%s", d.msg);
    return a;
}

static bool same_array(const sb_array *a, const sb_array *b)
{
    return a->dtype == b->dtype && sb_array_numel(a) == sb_array_numel(b) &&
           !memcmp(a->data, b->data, (size_t)sb_array_numel(a) * sb_dtype_size(a->dtype));
}

Test(train, loss_falls_and_runs_are_deterministic, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    char *g = sb_xasprintf("%s", regression_graph);
    write_pipeline("a.json", g, "\"steps\": 60, \"metrics\": \"m1.jsonl\"");
    write_pipeline("b.json", g, "\"steps\": 60, \"metrics\": \"m2.jsonl\"");
    free(g);
    char msg[2048];
    cr_assert_eq(train_file("a.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *w1 = load("out/w.npy");
    cr_assert_eq(train_file("b.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *w2 = load("out/w.npy");
    double l1[32], l2[32];
    int nl1, nl2;
    int n1 = read_losses("m1.jsonl", l1, 32, &nl1), n2 = read_losses("m2.jsonl", l2, 32, &nl2);
    cr_assert_eq(n1, 12);
    cr_assert_eq(n2, 12);
    for (int i = 0; i < n1; i++) cr_expect_eq(l1[i], l2[i], "loss %d differs: %.17g %.17g", i, l1[i], l2[i]);
    cr_expect_lt(l1[n1 - 1], l1[0] / 20, "loss did not fall: %g -> %g", l1[0], l1[n1 - 1]);
    cr_expect(same_array(w1, w2));
    cr_expect_float_eq(sb_array_get_f64(w1, 2), 3.0, 0.1); /* close to w* */
    sb_array_free(w1);
    sb_array_free(w2);
}

Test(train, resume_from_checkpoint_equals_an_uninterrupted_run, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    char msg[2048];
    /* 40 steps = 4 epochs of 10 batches, each epoch shuffled */
    write_pipeline("full.json", regression_graph, "\"steps\": 40, \"checkpoint\": \"ckA\"");
    cr_assert_eq(train_file("full.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *wa = load("out/w.npy");
    sb_array *ca = load("ckA/c.npy");
    write_pipeline("part.json", regression_graph, "\"steps\": 17, \"checkpoint\": \"ckB\"");
    cr_assert_eq(train_file("part.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *wp = load("out/w.npy");
    cr_expect_not(same_array(wa, wp));
    write_pipeline("rest.json", regression_graph, "\"steps\": 40, \"checkpoint\": \"ckB\"");
    cr_assert_eq(train_file("rest.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *wb = load("out/w.npy"), *cb = load("ckB/c.npy");
    cr_expect(same_array(wa, wb), "resumed weights differ: %.17g vs %.17g",
              sb_array_get_f64(wa, 0), sb_array_get_f64(wb, 0));
    cr_expect(same_array(ca, cb));
    char *st = tpath("ckB/state.json");
    sb_diag d = {0};
    char *text = sb_read_file(st, NULL, &d);
    cr_assert_not_null(text, "%s", d.msg);
    cr_expect(strstr(text, "\"step\": 40"), "%s", text);
    free(text);
    free(st);
    sb_array_free(wa);
    sb_array_free(wp);
    sb_array_free(wb);
    sb_array_free(ca);
    sb_array_free(cb);
}

Test(train, epochs_and_eval_lines, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    /* 2 epochs of ceil(200 / 30) = 7 steps; eval every 5 steps (5, 10) and at the end (14) */
    write_pipeline("e.json", regression_graph,
                   "\"epochs\": 2, \"batch_size\": 30, \"eval_every\": 5, \"metrics\": \"m.jsonl\","
                   " \"checkpoint\": \"ck\", \"eval\": {\"outputs\": [\"loss\"],"
                   " \"data\": {\"x\": \"x.npy\"}}");
    char msg[2048];
    cr_assert_eq(train_file("e.json", msg, sizeof msg), SB_OK, "%s", msg);
    char *m = tpath("m.jsonl");
    sb_diag d = {0};
    char *text = sb_read_file(m, NULL, &d);
    free(m);
    cr_assert_not_null(text);
    int evals = 0;
    for (char *s = text; (s = strstr(s, "\"eval\": {\"loss\": ")); s++) evals++;
    cr_expect_eq(evals, 3, "%s", text);
    cr_expect(strstr(text, "{\"step\": 14, \"eval\""), "%s", text);
    free(text);
    char *st = tpath("ck/state.json");
    text = sb_read_file(st, NULL, &d);
    cr_expect(strstr(text, "\"step\": 14") && strstr(text, "\"epoch\": 2"), "%s", text);
    free(text);
    free(st);
}

/* Adam with a step counter t: after 30 steps t = 30 and the loss has fallen. */
Test(train, adam_with_a_step_counter, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    const char *adam =
        "{\"inputs\": {\"x\": \"float64[?, 4]\", \"y\": \"float64[?]\"},"
        " \"shared\": {\"w\": \"float64[4]\", \"c\": \"float64\", \"t\": \"float64\","
        "   \"m\": \"float64[4]\", \"v\": \"float64[4]\"},"
        " \"let\": {\"g\": \"grad(mean((x @ w + c - y) ** 2), w)\", \"t1\": \"t + 1\","
        "   \"m1\": \"0.9 * m + 0.1 * g\", \"v1\": \"0.999 * v + 0.001 * g * g\","
        "   \"lr\": \"0.1 * sqrt(1 - 0.999 ** t1) / (1 - 0.9 ** t1)\"},"
        " \"outputs\": {\"loss\": \"mean((x @ w + c - y) ** 2)\"},"
        " \"updates\": {\"t\": \"t1\", \"m\": \"m1\", \"v\": \"v1\","
        "   \"w\": \"w - lr * m1 / (sqrt(v1) + 1e-8)\"}}";
    char *text = sb_xasprintf(
        "{\"graph\": %s, \"data\": {\"x\": \"x.npy\", \"y\": \"y.npy\", \"w\": {\"init\": \"zeros\"},"
        " \"c\": {\"init\": \"zeros\"}, \"t\": {\"init\": \"zeros\"}, \"m\": {\"init\": \"zeros\"},"
        " \"v\": {\"init\": \"zeros\"}},"
        " \"train\": {\"steps\": 30, \"batch_size\": 50, \"batch_over\": [\"x\", \"y\"],"
        " \"log_every\": 10, \"metrics\": \"m.jsonl\"},"
        " \"save\": {\"t\": \"t.npy\", \"w\": \"w.npy\"}}", adam);
    write_text("adam.json", text);
    free(text);
    char msg[2048];
    cr_assert_eq(train_file("adam.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *t = load("t.npy");
    cr_expect_eq(sb_array_get_f64(t, 0), 30);
    double l[8];
    int nl, n = read_losses("m.jsonl", l, 8, &nl);
    cr_assert_eq(n, 3);
    cr_expect_lt(l[2], l[0] / 2, "%g -> %g", l[0], l[2]);
    sb_array_free(t);
}

Test(train, bad_settings_are_errors_with_positions, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    char msg[2048];
    write_text("bo.json",
               "{\"graph\": {\"inputs\": {\"x\": \"float64[?, 4]\"}, \"shared\": {\"w\": \"float64[4]\"},"
               " \"outputs\": {\"loss\": \"sum(x @ w)\"}},\n"
               " \"data\": {\"x\": \"x.npy\", \"w\": {\"init\": \"zeros\"}},\n"
               " \"train\": {\"steps\": 2,\n   \"batch_over\": [\"x\", \"z\"]}}\n");
    cr_expect_eq(train_file("bo.json", msg, sizeof msg), SB_ERR_VALUE);
    cr_expect(strstr(msg, "bo.json:4:18: batch_over: 'z' is not an input"), "%s", msg);
    write_pipeline("ev.json", regression_graph,
                   "\"steps\": 2,\n \"eval\": {\"outputs\": [\"accuracy\"]}");
    cr_expect_eq(train_file("ev.json", msg, sizeof msg), SB_ERR_VALUE);
    cr_expect(strstr(msg, "ev.json:4:") && strstr(msg, "'accuracy' is not an output"), "%s", msg);
}

/* End to end on the real data: 40 steps of the logistic-regression example on 1000 training
 * images, evaluated on 1000 test images. */
Test(train, fashion_mnist_subset_learns, .init = make_tmp, .fini = rm_tmp)
{
    const char *fm = "/usr/share/datasets/fashion-mnist";
    char *probe = sb_xasprintf("%s/train-images-idx3-ubyte.gz", fm);
    bool have = access(probe, R_OK) == 0;
    free(probe);
    if (!have) cr_skip_test("Fashion-MNIST is not installed in %s", fm);
    const char *root = getenv("SB_SOURCE_ROOT");
    char *text = sb_xasprintf(
        "{\"graph\": \"%s/examples/fmnist_logreg.graph.json\",\n"
        " \"data\": {\"x\": {\"idx\": \"%s/train-images-idx3-ubyte.gz\", \"scale\": 0.00392156862745098,"
        " \"limit\": 1000}, \"y\": {\"idx\": \"%s/train-labels-idx1-ubyte.gz\", \"limit\": 1000},"
        " \"W\": {\"init\": \"zeros\"}, \"b\": {\"init\": \"zeros\"}},\n"
        " \"train\": {\"steps\": 40, \"batch_size\": 100, \"batch_over\": [\"x\", \"y\"], \"seed\": 1,"
        " \"metrics\": \"m.jsonl\", \"eval\": {\"outputs\": [\"accuracy\"], \"data\": {"
        " \"x\": {\"idx\": \"%s/t10k-images-idx3-ubyte.gz\", \"scale\": 0.00392156862745098, \"limit\": 1000},"
        " \"y\": {\"idx\": \"%s/t10k-labels-idx1-ubyte.gz\", \"limit\": 1000}}}},\n"
        " \"save\": {\"accuracy\": \"acc.npy\"}}\n",
        root ? root : ".", fm, fm, fm, fm);
    write_text("fm.json", text);
    free(text);
    char msg[2048];
    cr_assert_eq(train_file("fm.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *acc = load("acc.npy");
    cr_expect_gt(sb_array_get_f64(acc, 0), 0.65, "test accuracy %g", sb_array_get_f64(acc, 0));
    sb_array_free(acc);
}

/* ---- Hessian-free example (examples/newton_cg.graph.json) --------------------------------- */
/* Solve the n x n system A s = b by Gaussian elimination with partial pivoting (A, b clobbered). */
static void solve(int n, double *A, double *b, double *s)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[piv * n + c])) piv = r;
        for (int k = 0; k < n; k++) {
            double t = A[c * n + k];
            A[c * n + k] = A[piv * n + k];
            A[piv * n + k] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double v = b[r];
        for (int k = r + 1; k < n; k++) v -= A[r * n + k] * s[k];
        s[r] = v / A[r * n + r];
    }
}

/* The unrolled CG step equals the Newton step -H^-1 g of the explicit hessian(), and the R-op
 * Hessian-vector product equals hessian @ v. */
Test(train, newton_cg_step_matches_the_explicit_hessian)
{
    const char *root = getenv("SB_SOURCE_ROOT");
    char *path = sb_xasprintf("%s/examples/newton_cg.graph.json", root ? root : ".");
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_graph_load_file(ctx, path, &d);
    free(path);
    cr_assert_not_null(g, "%s", d.msg);
    sb_type tv;
    sb_type_parse("float64[4]", &tv, &d);
    sb_input(ctx, "v", &tv);
    sb_node *hv = sb_parse_expr(ctx, "Rop(grad(mean(softplus(x @ w) - sigmoid(4 * (x @ wtrue)) "
                                "* (x @ w)), w), w, v)", NULL, NULL, &d);
    cr_assert_not_null(hv, "%s", d.msg);
    sb_graph_add(g, SB_ROLE_OUTPUT, "hv", hv);
    cr_assert_eq(sb_graph_expand_autodiff(g, &d), SB_OK, "%s", d.msg);
    int64_t sx[2] = {60, 4}, s4[1] = {4};
    sb_init_spec nx = {.kind = "normal", .std = 1, .seed = 21}, nw = {.kind = "normal", .std = 0.5, .seed = 22};
    sb_init_spec nt = {.kind = "uniform", .low = -1, .high = 1, .seed = 23}, nv = {.kind = "normal", .std = 1, .seed = 24};
    sb_array *x = sb_array_init(&nx, SB_DTYPE_F64, 2, sx, &d), *w = sb_array_init(&nw, SB_DTYPE_F64, 1, s4, &d);
    sb_array *wt = sb_array_init(&nt, SB_DTYPE_F64, 1, s4, &d), *v = sb_array_init(&nv, SB_DTYPE_F64, 1, s4, &d);
    sb_binding b[4] = {{"x", x}, {"w", w}, {"wtrue", wt}, {"v", v}};
    sb_node *outs[4] = {sb_graph_find(g, SB_ROLE_OUTPUT, "gradient"),
                        sb_graph_find(g, SB_ROLE_OUTPUT, "hessian"),
                        sb_graph_find(g, SB_ROLE_OUTPUT, "newton_step"), sb_graph_find(g, SB_ROLE_OUTPUT, "hv")};
    sb_array *res[4];
    cr_assert_eq(sb_eval(ctx, 4, outs, 4, b, true, res, &d), SB_OK, "%s", d.msg);
    double H[16], Hc[16], rhs[4], s[4];
    for (int i = 0; i < 16; i++) H[i] = Hc[i] = sb_array_get_f64(res[1], i);
    for (int i = 0; i < 4; i++) {
        double hv_ref = 0;
        for (int k = 0; k < 4; k++) hv_ref += H[i * 4 + k] * sb_array_get_f64(v, k);
        cr_expect_float_eq(sb_array_get_f64(res[3], i), hv_ref, 1e-12, "Hv[%d]", i);
        rhs[i] = -sb_array_get_f64(res[0], i);
    }
    solve(4, Hc, rhs, s);
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(sb_array_get_f64(res[2], i) - s[i]) <= 1e-8 * (1 + fabs(s[i])),
                  "step[%d] = %.12g, Newton %.12g", i, sb_array_get_f64(res[2], i), s[i]);
    for (int i = 0; i < 4; i++) sb_array_free(res[i]);
    sb_array_free(x);
    sb_array_free(w);
    sb_array_free(wt);
    sb_array_free(v);
    sb_graph_free(g);
    sb_ctx_free(ctx);
}

/* A checkpoint made with another seed or batch size would not continue the same run: an error. */
Test(train, a_checkpoint_of_another_run_is_an_error, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    char msg[2048];
    write_pipeline("a.json", regression_graph, "\"steps\": 5, \"checkpoint\": \"ck\"");
    cr_assert_eq(train_file("a.json", msg, sizeof msg), SB_OK, "%s", msg);
    write_pipeline("b.json", regression_graph, "\"steps\": 9, \"batch_size\": 25, \"checkpoint\": \"ck\"");
    cr_expect_eq(train_file("b.json", msg, sizeof msg), SB_ERR_VALUE);
    cr_expect(strstr(msg, "state.json:1:") && strstr(msg, "batch size 20 differs from the pipeline's 25"),
              "%s", msg);
}

/* A store filled from a pipeline's data specs: initializers with the declared types; a shared
 * variable without data is an error at "data". */
Test(train, store_from_pipeline_data, .init = make_tmp, .fini = rm_tmp)
{
    write_text("s.json",
               "{\"graph\": {\"shared\": {\"w\": \"float32[2, 3]\", \"c\": \"float64\"},"
               " \"outputs\": {\"o\": \"sum(w) + c\"}},\n"
               " \"data\": {\"w\": {\"init\": \"full\", \"value\": 1.5}, \"c\": {\"init\": \"ones\"}}}\n");
    write_text("m.json",
               "{\"graph\": {\"shared\": {\"w\": \"float32[2, 3]\", \"c\": \"float64\"},"
               " \"outputs\": {\"o\": \"sum(w) + c\"}},\n"
               " \"data\": {\"w\": {\"init\": \"zeros\"}}}\n");
    for (int k = 0; k < 2; k++) {
        char *path = tpath(k ? "m.json" : "s.json");
        sb_diag d = {0};
        sb_pipeline *p = sb_pipeline_load(path, &d);
        free(path);
        cr_assert_not_null(p, "%s", d.msg);
        sb_ctx *ctx = sb_ctx_init();
        sb_graph *g = sb_pipeline_load_graph(p, ctx, &d);
        cr_assert_not_null(g, "%s", d.msg);
        sb_shared_store *s = sb_shared_store_new();
        sb_status st = sb_fn_store_load(s, p, g, &d);
        if (k == 0) {
            cr_assert_eq(st, SB_OK, "%s", d.msg);
            const sb_array *w = sb_shared_peek(s, "w");
            cr_assert_not_null(w);
            cr_expect_eq(w->dtype, SB_DTYPE_F32);
            cr_expect(w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3);
            cr_expect_eq(sb_array_get_f64(w, 5), 1.5);
            cr_expect_eq(sb_array_get_f64(sb_shared_peek(s, "c"), 0), 1.0);
        } else {
            cr_expect_eq(st, SB_ERR_VALUE);
            cr_expect(strstr(d.msg, "no data for shared variable 'c'") && d.line == 2, "%d: %s",
                      d.line, d.msg);
        }
        sb_shared_store_free(s);
        sb_graph_free(g);
        sb_ctx_free(ctx);
        sb_pipeline_free(p);
    }
}

/* ---- train.loss and train.resume ---------------------------------------------------------- */
/* Load name's pipeline and its graph; returns the first error's status with "file:line:col:
 * message" (file without the directory) in msg. */
static sb_status load_error(const char *name, char *msg, size_t n)
{
    char *path = tpath(name);
    sb_diag d = {0};
    sb_pipeline *p = sb_pipeline_load(path, &d);
    sb_ctx *ctx = sb_ctx_init();
    sb_graph *g = p ? sb_pipeline_load_graph(p, ctx, &d) : NULL;
    const char *file = strrchr(d.file, '/') ? strrchr(d.file, '/') + 1 : d.file;
    snprintf(msg, n, "%s:%d:%d: %s", file, d.line, d.col, d.msg);
    sb_graph_free(g);
    sb_ctx_free(ctx);
    sb_pipeline_free(p);
    free(path);
    return d.status;
}

/* Two scalar outputs, mse and twice = 2 mse, and a non-scalar one first; SGD on mse. */
static const char *two_losses_graph =
    "{\"inputs\": {\"x\": \"float64[?, 4]\", \"y\": \"float64[?]\"},"
    " \"shared\": {\"w\": \"float64[4]\", \"c\": \"float64\"},"
    " \"outputs\": {\"pred\": \"x @ w + c\", \"mse\": \"mean((pred - y) ** 2)\","
    "   \"twice\": \"2 * mse\"},"
    " \"updates\": {\"w\": \"w - 0.05 * grad(mse, w)\", \"c\": \"c - 0.05 * grad(mse, c)\"}}";

/* train.loss picks the output logged as the loss (the updates alone decide the training); by
 * default the first scalar output is taken when none is called loss or cost. */
Test(train, loss_names_the_reported_output, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    write_pipeline("a.json", two_losses_graph, "\"steps\": 20, \"loss\": \"mse\", \"metrics\": \"m1.jsonl\"");
    write_pipeline("b.json", two_losses_graph, "\"steps\": 20, \"loss\": \"twice\", \"metrics\": \"m2.jsonl\"");
    write_pipeline("c.json", two_losses_graph, "\"steps\": 20, \"metrics\": \"m3.jsonl\"");
    char msg[2048];
    double l1[8], l2[8], l3[8];
    int nl;
    cr_assert_eq(train_file("a.json", msg, sizeof msg), SB_OK, "%s", msg);
    cr_assert_eq(train_file("b.json", msg, sizeof msg), SB_OK, "%s", msg);
    cr_assert_eq(train_file("c.json", msg, sizeof msg), SB_OK, "%s", msg);
    cr_assert_eq(read_losses("m1.jsonl", l1, 8, &nl), 4);
    cr_assert_eq(read_losses("m2.jsonl", l2, 8, &nl), 4);
    cr_assert_eq(read_losses("m3.jsonl", l3, 8, &nl), 4);
    for (int i = 0; i < 4; i++) {
        cr_expect(fabs(l2[i] - 2 * l1[i]) <= 1e-8 * l2[i], "step %d: twice %.17g, mse %.17g", i,
                  l2[i], l1[i]); /* metrics hold 9 digits */
        cr_expect_eq(l3[i], l1[i], "default loss %.17g is not mse %.17g", l3[i], l1[i]);
    }
    cr_expect_lt(l1[3], l1[0]);
}

Test(train, loss_errors_point_at_the_value, .init = make_tmp, .fini = rm_tmp)
{
    char *text = sb_xasprintf("{\"graph\": %s,\n \"data\": {},\n \"train\": {\"steps\": 1, \"loss\": \"%%s\"}}\n",
                              two_losses_graph);
    char *t1 = sb_xasprintf(text, "nope"), *t2 = sb_xasprintf(text, "pred");
    write_text("l1.json", t1);
    write_text("l2.json", t2);
    write_text("l3.json", "{\"graph\": {\"outputs\": {\"o\": \"1 + 2\"}},\n"
                          " \"train\": {\"loss\": 3}}\n");
    free(text);
    free(t1);
    free(t2);
    char msg[2048];
    cr_expect_eq(load_error("l1.json", msg, sizeof msg), SB_ERR_VALUE);
    cr_expect_str_eq(msg, "l1.json:3:32: train.loss: 'nope' is not an output of the graph");
    cr_expect_eq(load_error("l2.json", msg, sizeof msg), SB_ERR_TYPE);
    cr_expect_str_eq(msg, "l2.json:3:32: train.loss: 'pred' is float64[?], not a scalar");
    cr_expect_eq(load_error("l3.json", msg, sizeof msg), SB_ERR_SYNTAX);
    cr_expect_str_eq(msg, "l3.json:2:20: 'loss' must be the name of an output");
}

/* A graph without a scalar output cannot be trained: there is no loss to report. */
Test(train, no_scalar_output_is_an_error, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    write_text("ns.json",
               "{\"graph\": {\"inputs\": {\"x\": \"float64[?, 4]\"}, \"shared\": {\"w\": \"float64[4]\"},"
               " \"outputs\": {\"pred\": \"x @ w\"}, \"updates\": {\"w\": \"w * 0.5\"}},\n"
               " \"data\": {\"x\": \"x.npy\", \"w\": {\"init\": \"ones\"}},\n"
               " \"train\": {\"steps\": 2}}\n");
    char msg[2048];
    cr_expect_eq(train_file("ns.json", msg, sizeof msg), SB_ERR_VALUE);
    cr_expect(strstr(msg, "ns.json:3:11: train: the graph has no scalar output to report as the loss"),
              "%s", msg);
}

/* The "step" of a checkpoint's state.json. */
static int checkpoint_step(const char *dir)
{
    char *st = sb_xasprintf("%s/%s/state.json", tmpdir, dir);
    sb_diag d = {0};
    char *text = sb_read_file(st, NULL, &d);
    free(st);
    cr_assert_not_null(text, "%s", d.msg);
    const char *s = strstr(text, "\"step\": ");
    cr_assert_not_null(s, "%s", text);
    int step = atoi(s + 8);
    free(text);
    return step;
}

/* resume (default true) continues a checkpoint, so a shorter run there trains nothing; resume
 * false starts over from the data's initial values and replaces the checkpoint and metrics. */
Test(train, resume_false_starts_over, .init = make_tmp, .fini = rm_tmp)
{
    write_regression_data();
    char msg[2048];
    double l[16];
    int nl;
    write_pipeline("fresh.json", regression_graph, "\"steps\": 5, \"checkpoint\": \"ck0\"");
    cr_assert_eq(train_file("fresh.json", msg, sizeof msg), SB_OK, "%s", msg);
    sb_array *w5 = load("out/w.npy");
    write_pipeline("long.json", regression_graph, "\"steps\": 20, \"checkpoint\": \"ck\", \"metrics\": \"m.jsonl\"");
    cr_assert_eq(train_file("long.json", msg, sizeof msg), SB_OK, "%s", msg);
    cr_assert_eq(read_losses("m.jsonl", l, 16, &nl), 4);
    write_pipeline("again.json", regression_graph,
                   "\"steps\": 5, \"checkpoint\": \"ck\", \"resume\": true, \"metrics\": \"m.jsonl\"");
    cr_assert_eq(train_file("again.json", msg, sizeof msg), SB_OK, "%s", msg);
    cr_expect_eq(checkpoint_step("ck"), 20, "resume: true retrained a finished checkpoint");
    sb_array *w20 = load("out/w.npy");
    cr_expect_not(same_array(w20, w5));
    write_pipeline("over.json", regression_graph,
                   "\"steps\": 5, \"checkpoint\": \"ck\", \"resume\": false, \"metrics\": \"m.jsonl\"");
    cr_assert_eq(train_file("over.json", msg, sizeof msg), SB_OK, "%s", msg);
    cr_expect_eq(checkpoint_step("ck"), 5, "resume: false kept the old checkpoint");
    cr_expect_eq(read_losses("m.jsonl", l, 16, &nl), 1, "the metrics were not started over");
    sb_array *w = load("out/w.npy"), *wck = load("ck/w.npy");
    cr_expect(same_array(w, w5), "starting over differs from a fresh run");
    cr_expect(same_array(wck, w5), "the checkpoint's w was not replaced");
    sb_array_free(w5);
    sb_array_free(w20);
    sb_array_free(w);
    sb_array_free(wck);
}

Test(train, resume_errors_point_at_the_value, .init = make_tmp, .fini = rm_tmp)
{
    write_text("r1.json", "{\"graph\": {\"outputs\": {\"o\": \"1 + 2\"}},\n"
                          " \"train\": {\"steps\": 1, \"resume\": false}}\n");
    write_text("r2.json", "{\"graph\": {\"outputs\": {\"o\": \"1 + 2\"}},\n"
                          " \"train\": {\"checkpoint\": \"ck\", \"resume\": \"yes\"}}\n");
    char msg[2048];
    cr_expect_eq(load_error("r1.json", msg, sizeof msg), SB_ERR_VALUE);
    cr_expect_str_eq(msg, "r1.json:2:34: 'resume' needs a 'checkpoint' (the directory a run resumes from)");
    cr_expect_eq(load_error("r2.json", msg, sizeof msg), SB_ERR_SYNTAX);
    cr_expect_str_eq(msg, "r2.json:2:42: 'resume' must be true or false");
}
