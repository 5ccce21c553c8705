/* test_pipeline.c: what core/pipeline.c and the compiled-function helpers of core/train.c give
 * the run command and the training loop: the choice of the loss output, mkdir -p, save targets
 * (errors at their position), and one call of a pipeline's graph as a Theano function (outputs
 * from the old values, then every update at once). Key parsing and its errors are tested in
 * test_json.c (every key) and test_train.c (train.loss, train.resume). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "function.h"
#include "pipeline.h"
#define TMPDIR_PREFIX "sb-pipeline"
#include "tmpdir.h"

TestSuite(pipeline);

/* Write text as tmpdir/name and load it as a pipeline (which must load). */
static sb_pipeline *pipeline_of(const char *name, const char *text)
{
    write_text(name, text);
    char *path = tpath(name);
    sb_diag d = {0};
    sb_pipeline *p = sb_pipeline_load(path, &d);
    free(path);
    cr_assert_not_null(p, "%s", d.msg);
    return p;
}

/* The index sb_pipeline_loss picks for an inline graph with these outputs (and train extra). */
static int loss_of(const char *outputs, const char *train)
{
    char *text = sb_xasprintf("{\"graph\": {\"inputs\": {\"x\": \"float64[3]\"}, \"outputs\": %s},"
                              " \"train\": {%s}}", outputs, train);
    sb_pipeline *p = pipeline_of("loss.json", text);
    free(text);
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_pipeline_load_graph(p, ctx, &d);
    cr_assert_not_null(g, "%s", d.msg);
    int k = sb_pipeline_loss(p, g);
    sb_graph_free(g);
    sb_ctx_free(ctx);
    sb_pipeline_free(p);
    return k;
}

Test(pipeline, the_loss_is_a_scalar_output, .init = make_tmp, .fini = rm_tmp)
{
    /* a non-scalar "loss" is passed over for the scalar "cost" */
    cr_expect_eq(loss_of("{\"v\": \"x * 2\", \"loss\": \"x + 1\", \"cost\": \"sum(x)\"}", ""), 2);
    cr_expect_eq(loss_of("{\"v\": \"x * 2\", \"cost\": \"sum(x)\", \"loss\": \"max(x)\"}", ""), 2);
    /* neither name: the first scalar output */
    cr_expect_eq(loss_of("{\"v\": \"x * 2\", \"a\": \"sum(x)\", \"b\": \"mean(x)\"}", ""), 1);
    /* train.loss wins */
    cr_expect_eq(loss_of("{\"v\": \"x * 2\", \"a\": \"sum(x)\", \"b\": \"mean(x)\"}",
                         "\"loss\": \"b\""), 2);
    /* no scalar output: none */
    cr_expect_eq(loss_of("{\"v\": \"x * 2\"}", ""), -1);
}

Test(pipeline, make_dirs_creates_parents_or_the_path, .init = make_tmp, .fini = rm_tmp)
{
    char *file = tpath("a/b/c.npy"), *dir = tpath("d/e"), *c = tpath("a/b/c.npy");
    sb_diag d = {0};
    struct stat st;
    cr_assert_eq(sb_make_dirs(file, false, &d), SB_OK, "%s", d.msg);
    char *b = tpath("a/b");
    cr_expect(stat(b, &st) == 0 && S_ISDIR(st.st_mode));
    cr_expect_neq(stat(c, &st), 0, "the file itself was created");
    cr_assert_eq(sb_make_dirs(dir, true, &d), SB_OK, "%s", d.msg);
    cr_expect(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    cr_assert_eq(sb_make_dirs(dir, true, &d), SB_OK, "existing directories are fine: %s", d.msg);
    /* a regular file in the way */
    FILE *f = fopen(c, "w");
    cr_assert_not_null(f);
    fclose(f);
    char *under = tpath("a/b/c.npy/x/y.npy");
    cr_expect_eq(sb_make_dirs(under, false, &d), SB_ERR_IO);
    cr_expect(strstr(d.msg, "cannot create directory '") && strstr(d.msg, "c.npy/x': Not a directory"),
              "%s", d.msg);
    cr_expect_str_eq(d.file, under);
    free(file);
    free(dir);
    free(c);
    free(b);
    free(under);
}

Test(pipeline, a_save_error_points_at_its_target, .init = make_tmp, .fini = rm_tmp)
{
    sb_pipeline *p = pipeline_of("s.json", "{\"graph\": \"g.json\",\n"
                                           " \"save\": {\"ok\": \"out/ok.npy\",\n"
                                           "          \"bad\": \"s.json/bad.npy\"}}\n");
    cr_assert_eq(p->nsave, 2);
    int64_t shape[1] = {3};
    sb_array *a = sb_array_new(SB_DTYPE_F64, 1, shape);
    sb_diag d = {0};
    cr_expect_eq(sb_pipeline_save_value(p, &p->save[0], a, &d), SB_OK, "%s", d.msg);
    char *ok = tpath("out/ok.npy");
    cr_expect_eq(access(ok, R_OK), 0);
    cr_expect_eq(sb_pipeline_save_value(p, &p->save[1], a, &d), SB_ERR_IO);
    cr_expect(d.line == 3 && d.col == 18 && strstr(d.msg, "Not a directory"), "%d:%d: %s", d.line,
              d.col, d.msg);
    free(ok);
    sb_array_free(a);
    sb_pipeline_free(p);
}

/* Bind every input and shared variable of g from p's data. */
static sb_binding *bind_all(const sb_pipeline *p, const sb_graph *g, int *nb)
{
    int ni = sb_graph_count(g, SB_ROLE_INPUT), ns = sb_graph_count(g, SB_ROLE_SHARED);
    sb_binding *b = sb_xcalloc((size_t)(ni + ns) + 1, sizeof *b);
    *nb = 0;
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < (r ? ns : ni); i++) {
            sb_node *v = sb_graph_node(g, r ? SB_ROLE_SHARED : SB_ROLE_INPUT, i);
            sb_diag d = {0};
            sb_array *a = sb_pipeline_data_load(p, sb_pipeline_data(p, sb_node_name(v)),
                                                sb_node_type(v), &d);
            cr_assert_not_null(a, "%s", d.msg);
            b[(*nb)++] = (sb_binding){sb_node_name(v), a};
        }
    return b;
}

/* One call with updates: the output sees a = 1, b = 2; then a <- b and b <- a + 1 at once
 * (a swap-like pair: sequential updates would give b = 3). Without updates nothing changes. */
Test(pipeline, one_call_applies_the_updates_once, .init = make_tmp, .fini = rm_tmp)
{
    sb_pipeline *p = pipeline_of("u.json",
        "{\"graph\": {\"inputs\": {\"k\": \"float64\"},"
        "  \"shared\": {\"a\": \"float64\", \"b\": \"float64\"},"
        "  \"outputs\": {\"s\": \"a * 10 + b + k\"}, \"updates\": {\"a\": \"b\", \"b\": \"a + 1\"}},"
        " \"data\": {\"k\": {\"init\": \"full\", \"value\": 100}, \"a\": {\"init\": \"ones\"},"
        "  \"b\": {\"init\": \"full\", \"value\": 2}}}");
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_pipeline_load_graph(p, ctx, &d);
    cr_assert_not_null(g, "%s", d.msg);
    int nb = 0, out = 0;
    sb_binding *b = bind_all(p, g, &nb);
    sb_shared_store *store = sb_pipeline_store(g, nb, b);
    const sb_array *k = sb_binding_value(nb, b, "k");
    cr_assert_not_null(k);
    for (int upd = 0; upd < 2; upd++) {
        sb_function *f = sb_pipeline_function(p, g, 1, &out, upd == 1, store, &d);
        cr_assert_not_null(f, "%s", d.msg);
        sb_array *s = NULL;
        cr_assert_eq(sb_function_call(f, 1, &k, &s, &d), SB_OK, "%s", d.msg);
        cr_expect_eq(sb_array_get_f64(s, 0), 112);
        double a1 = sb_array_get_f64(sb_shared_peek(store, "a"), 0);
        double b1 = sb_array_get_f64(sb_shared_peek(store, "b"), 0);
        cr_expect(upd ? a1 == 2 && b1 == 2 : a1 == 1 && b1 == 2, "updates %d: a %g, b %g", upd, a1, b1);
        sb_array_free(s);
        sb_function_free(f);
    }
    /* the bindings themselves are copies: untouched */
    cr_expect_eq(sb_array_get_f64(sb_binding_value(nb, b, "a"), 0), 1);
    sb_shared_store_free(store);
    for (int i = 0; i < nb; i++) sb_array_free((sb_array *)b[i].value);
    free(b);
    sb_graph_free(g);
    sb_ctx_free(ctx);
    sb_pipeline_free(p);
}
