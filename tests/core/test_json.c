/* test_json.c: JSON positions (core/json.c), graph JSON in both forms and its round trip
 * (core/graph_json.c), pipeline loading (core/pipeline.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "core-impl.h"
#include "json.h"
#include "pipeline.h"

/* ---- positions ---------------------------------------------------------------------------- */
static void expect_pos(const sb_json *j, const cJSON *item, int line, int col)
{
    int l, c;
    cr_assert_not_null(item);
    sb_json_pos(j, item, &l, &c);
    cr_expect_eq(l, line, "line %d, expected %d", l, line);
    cr_expect_eq(c, col, "col %d, expected %d", c, col);
}

Test(json, positions_of_every_value)
{
    const char *text = "{\n"
                       "  \"a\": [1, {\"b\": \"x + y\"}],\n"
                       "  \"c\":true,\n"
                       "\t\"d\" : -2.5e3 }";
    sb_diag d = {0};
    sb_json *j = sb_json_parse(text, "t.json", &d);
    cr_assert_not_null(j, "%s", d.msg);
    const cJSON *root = sb_json_root(j);
    const cJSON *a = cJSON_GetObjectItem(root, "a");
    expect_pos(j, root, 1, 1);
    expect_pos(j, a, 2, 8);
    expect_pos(j, a->child, 2, 9);
    expect_pos(j, a->child->next, 2, 12);
    const cJSON *b = cJSON_GetObjectItem(a->child->next, "b");
    expect_pos(j, b, 2, 18);
    expect_pos(j, cJSON_GetObjectItem(root, "c"), 3, 7);
    expect_pos(j, cJSON_GetObjectItem(root, "d"), 4, 8);
    sb_srcpos sp = sb_json_str_pos(j, b);
    cr_expect_str_eq(sp.file, "t.json");
    cr_expect_eq(sp.line, 2);
    cr_expect_eq(sp.col, 19);
    cr_expect_eq(sb_json_error(j, b, SB_ERR_TYPE, &d, "bad %s", "thing"), SB_ERR_TYPE);
    cr_expect_str_eq(d.file, "t.json");
    cr_expect_eq(d.line, 2);
    cr_expect_eq(d.col, 18);
    cr_expect_str_eq(d.msg, "bad thing");
    sb_json *bom = sb_json_parse("\xEF\xBB\xBF{\"k\": [true]}", "bom.json", &d);
    cr_assert_not_null(bom, "%s", d.msg);
    expect_pos(bom, cJSON_GetObjectItem(sb_json_root(bom), "k"), 1, 7);
    sb_json_free(bom);
    int l, c;
    cJSON *other = cJSON_CreateNull(); /* not of this document */
    sb_json_pos(j, other, &l, &c);
    cr_expect(l == 0 && c == 0);
    cJSON_Delete(other);
    sb_json_free(j);
}

static void expect_parse_error(const char *text, int line, int col, const char *msg)
{
    sb_diag d = {0};
    sb_json *j = sb_json_parse(text, "bad.json", &d);
    cr_assert_null(j, "parsed: %s", text);
    cr_expect_eq(d.status, SB_ERR_SYNTAX);
    cr_expect_str_eq(d.file, "bad.json");
    cr_expect_eq(d.line, line, "%s: line %d, expected %d", text, d.line, line);
    cr_expect_eq(d.col, col, "%s: col %d, expected %d", text, d.col, col);
    cr_expect_str_eq(d.msg, msg);
}

Test(json, malformed_json_at_its_position)
{
    expect_parse_error("{\"a\": 1,\n  \"b\": }", 2, 8,
                       "malformed JSON: expected a value, found '}'");
    expect_parse_error("[1, 2", 1, 6, "malformed JSON: expected ',' or ']', found end of input");
    expect_parse_error("", 1, 1, "malformed JSON: expected a value, found end of input");
    expect_parse_error("{\"a\": 1} x", 1, 10,
                       "malformed JSON: expected end of input after the JSON value, found 'x'");
    expect_parse_error("{\"x\": 1,\n}", 2, 1,
                       "malformed JSON: expected a key after ',', found '}'");
    expect_parse_error("{\"a\": 1 \"b\": 2}", 1, 9,
                       "malformed JSON: expected ',' or '}', found '\"'");
    expect_parse_error("{a: 1}", 1, 2, "malformed JSON: expected a string key, found 'a'");
    expect_parse_error("[\"abc]", 1, 2, "malformed JSON: unterminated string");
    expect_parse_error("[\"a\\q\"]", 1, 5, "malformed JSON: expected a valid escape, found 'q'");
    expect_parse_error("[tru]", 1, 2, "malformed JSON: expected a value, found 't'");
    expect_parse_error("[\"\xC3\xA9t\xC3\xA9\" x]", 1, 8,   /* columns count characters */
                       "malformed JSON: expected ',' or ']', found 'x'");
    expect_parse_error("\xEF\xBB\xBF[1,]", 1, 4, "malformed JSON: expected a value after ',', found ']'");
    expect_parse_error("{\"a\": 1,\n \"a\": 2}", 2, 2, "duplicate key 'a'");
}

Test(json, read_file_errors)
{
    sb_diag d = {0};
    cr_expect_null(sb_json_load_file("/nonexistent/x.json", &d));
    cr_expect_eq(d.status, SB_ERR_IO);
    cr_expect_str_eq(d.file, "/nonexistent/x.json");
    cr_expect_str_eq(d.msg, "cannot open: No such file or directory");
    char path[] = "/tmp/sb_test_jsonXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "[true]", 6), 6);
    close(fd);
    sb_diag_clear(&d);
    size_t len = 0;
    char *t = sb_read_file(path, &len, &d);
    cr_expect_str_eq(t, "[true]");
    cr_expect_eq(len, 6);
    free(t);
    sb_json *j = sb_json_load_file(path, &d);
    cr_assert_not_null(j);
    cr_expect(cJSON_IsTrue(sb_json_root(j)->child));
    sb_json_free(j);
    unlink(path);
}

/* ---- graphs ------------------------------------------------------------------------------- */
static const char *mlp =
    "{\n"
    "  \"inputs\": {\"x\": \"float32[?, 4]\", \"y\": \"int64[?]\"},\n"
    "  \"shared\": {\"W\": \"float32[4, 3]\", \"b\": \"float32[3]\"},\n"
    "  \"let\": {\"h\": \"tanh(x @ W + b)\", \"p\": \"softmax(h, axis=1)\"},\n"
    "  \"outputs\": {\"cost\": \"mean(categorical_crossentropy(p, y))\",\n"
    "              \"pred\": \"argmax(p, axis=1)\",\n"
    "              \"first\": \"reshape(x[:, 0:2], (-1,)) * 2\",\n"
    "              \"s\": \"sum(h.T, axis=0, keepdims=True)\"},\n"
    "  \"updates\": {\"b\": \"b - 0.5 * b\"}\n"
    "}\n";

Test(graph_json, named_form)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_graph_load_json(ctx, mlp, "mlp.json", &d);
    cr_assert_not_null(g, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    cr_expect_eq(sb_graph_count(g, SB_ROLE_INPUT), 2);
    cr_expect_eq(sb_graph_count(g, SB_ROLE_SHARED), 2);
    cr_expect_eq(sb_graph_count(g, SB_ROLE_LET), 2);
    cr_expect_eq(sb_graph_count(g, SB_ROLE_OUTPUT), 4);
    cr_expect_eq(sb_graph_count(g, SB_ROLE_UPDATE), 1);
    cr_expect_str_eq(sb_graph_name(g, SB_ROLE_OUTPUT, 1), "pred");
    sb_node *p = sb_graph_find(g, SB_ROLE_LET, "p");
    cr_expect_eq(sb_node_op(p), SB_OP_SOFTMAX);
    cr_expect_eq(sb_node_in(p, 0), sb_graph_find(g, SB_ROLE_LET, "h"));
    char buf[64];
    cr_expect_str_eq(sb_type_str(sb_node_type(sb_graph_find(g, SB_ROLE_OUTPUT, "cost")), buf,
                                 sizeof buf), "float32[]");
    cr_expect_eq(sb_node_type(sb_graph_find(g, SB_ROLE_OUTPUT, "pred"))->dtype, SB_DTYPE_I64);
    cr_expect_eq(sb_graph_find(g, SB_ROLE_INPUT, "x"), sb_input(ctx, "x", sb_node_type(
                     sb_graph_find(g, SB_ROLE_INPUT, "x"))));
    sb_graph_free(g);
    sb_ctx_free(ctx);
}

/* Saving and loading back gives the very same nodes (hash-consing makes that pointer equality),
 * and a second save gives the same text. */
Test(graph_json, save_load_round_trip)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_graph_load_json(ctx, mlp, "mlp.json", &d);
    cr_assert_not_null(g, "%s", d.msg);
    char *text = sb_graph_save_json(g);
    sb_graph *h = sb_graph_load_json(ctx, text, "saved.json", &d);
    cr_assert_not_null(h, "%s:%d:%d: %s\n%s", d.file, d.line, d.col, d.msg, text);
    for (int r = 0; r < SB_ROLE_COUNT; r++) {
        cr_assert_eq(sb_graph_count(h, r), sb_graph_count(g, r));
        for (int i = 0; i < sb_graph_count(g, r); i++) {
            cr_expect_str_eq(sb_graph_name(h, r, i), sb_graph_name(g, r, i));
            cr_expect_eq(sb_graph_node(h, r, i), sb_graph_node(g, r, i), "role %d entry %d", r, i);
        }
    }
    /* a fresh context: same structure, same text again */
    sb_ctx *ctx2 = sb_ctx_init();
    sb_graph *k = sb_graph_load_json(ctx2, text, "saved.json", &d);
    cr_assert_not_null(k, "%s", d.msg);
    char *text2 = sb_graph_save_json(k);
    cr_expect_str_eq(text2, text);
    free(text);
    free(text2);
    sb_graph_free(g);
    sb_graph_free(h);
    sb_graph_free(k);
    sb_ctx_free(ctx);
    sb_ctx_free(ctx2);
}

static const char *nodes =
    "{\"nodes\": [\n"
    "  {\"id\": 0, \"op\": \"input\", \"name\": \"x\", \"type\": \"float64[2, 3]\"},\n"
    "  {\"id\": 1, \"op\": \"const\", \"type\": \"float64[3]\", \"value\": [1, \"inf\", -0.5]},\n"
    "  {\"id\": 2, \"op\": \"add\", \"inputs\": [0, 1]},\n"
    "  {\"id\": 3, \"op\": \"sum\", \"inputs\": [2], \"attrs\": {\"axis\": [1], \"keepdims\": true}},\n"
    "  {\"id\": 4, \"op\": \"cast\", \"inputs\": [3], \"attrs\": {\"dtype\": \"float32\"}},\n"
    "  {\"id\": 5, \"op\": \"subtensor\", \"inputs\": [0],\n"
    "   \"attrs\": {\"idx\": [{\"slice\": [null, 1, null]}, {\"scalar\": 2}]}},\n"
    "  {\"id\": 6, \"op\": \"const\", \"type\": \"float64\", \"value\": 2, \"weak\": true},\n"
    "  {\"id\": 7, \"op\": \"mul\", \"inputs\": [5, 6]}\n"
    "],\n"
    " \"outputs\": {\"s\": 4, \"t\": 7}}";

Test(graph_json, node_list_form)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_graph_load_json(ctx, nodes, "n.json", &d);
    cr_assert_not_null(g, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    cr_expect_eq(sb_graph_count(g, SB_ROLE_INPUT), 1); /* all input nodes when not listed */
    sb_node *s = sb_graph_find(g, SB_ROLE_OUTPUT, "s");
    char buf[64];
    cr_expect_str_eq(sb_type_str(sb_node_type(s), buf, sizeof buf), "float32[2, 1]");
    const sb_array *c = sb_node_value(sb_node_in(sb_node_in(sb_node_in(s, 0), 0), 1));
    cr_assert_not_null(c);
    cr_expect(isinf(sb_array_get_f64(c, 1)));
    sb_node *t = sb_graph_find(g, SB_ROLE_OUTPUT, "t");
    cr_expect_str_eq(sb_type_str(sb_node_type(t), buf, sizeof buf), "float64[1]");
    cr_expect(sb_node_type(sb_node_in(t, 1))->weak);
    char *text = sb_graph_save_json(g);
    sb_graph *h = sb_graph_load_json(ctx, text, "saved.json", &d);
    cr_assert_not_null(h, "%s\n%s", d.msg, text);
    cr_expect_eq(sb_graph_find(h, SB_ROLE_OUTPUT, "s"), s);
    cr_expect_eq(sb_graph_find(h, SB_ROLE_OUTPUT, "t"), t);
    free(text);
    sb_graph_free(g);
    sb_graph_free(h);
    sb_ctx_free(ctx);
}

/* ---- graph errors ------------------------------------------------------------------------- */
static void expect_graph_error(const char *text, int line, int col, const char *msg)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_graph_load_json(ctx, text, "g.json", &d);
    cr_expect_null(g, "loaded: %s", text);
    cr_expect_neq(d.status, SB_OK);
    cr_expect_str_eq(d.file, "g.json");
    cr_expect_eq(d.line, line, "%s\nline %d, expected %d (%s)", text, d.line, line, d.msg);
    cr_expect_eq(d.col, col, "%s\ncol %d, expected %d (%s)", text, d.col, col, d.msg);
    if (msg) cr_expect_str_eq(d.msg, msg);
    sb_graph_free(g);
    sb_ctx_free(ctx);
}

Test(graph_json, errors_at_their_position)
{
    expect_graph_error("{\"inputs\": {}, \"outputz\": {}}", 1, 16, "unknown key 'outputz' in graph");
    expect_graph_error("{\"inputs\": [\"x\"]}", 1, 12, "'inputs' must be an object");
    expect_graph_error("{\"inputs\": {\"x\": \"float32[?, 78a]\"}, \"outputs\": {\"y\": \"x\"}}",
                       1, 32, "expected ',' or ']' in type 'float32[?, 78a]'");
    expect_graph_error("{\"inputs\": {\"x\": \"floot32[3]\"}, \"outputs\": {\"y\": \"x\"}}", 1, 19,
                       "unknown dtype 'floot32' (expected float32, float64, int32, int64, uint8 "
                       "or bool)");
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"},\n \"outputs\": {\"y\": 3}}", 2, 19,
                       "'y' must be an expression string");
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"},\n \"outputs\": {\"y\": \"x\"},\n"
                       " \"updates\": {\"x\": \"x + 1\"}}", 3, 14,
                       "update of 'x', which is not a shared variable");
    expect_graph_error("{\"shared\": {\"w\": \"float32[3]\"},\n \"outputs\": {\"y\": \"w\"},\n"
                       " \"updates\": {\"w\": \"sum(w)\"}}", 3, 19,
                       "update of 'w' has type float32[], expected float32[3]");
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"}}", 1, 1, "graph has no outputs");
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\", \"x\": \"float32[3]\"}}", 1, 32,
                       "duplicate key 'x'");
    expect_graph_error("{\"nodes\": [{\"id\": 0, \"op\": \"frobnicate\"}], \"outputs\": {\"y\": 0}}",
                       1, 28, "unknown op 'frobnicate'");
    expect_graph_error("{\"nodes\": [{\"id\": 0, \"op\": \"input\", \"name\": \"x\", \"type\": "
                       "\"float32[3]\"},\n {\"id\": 1, \"op\": \"add\", \"inputs\": [0, 7]}],"
                       " \"outputs\": {\"y\": 1}}", 2, 39, "unknown node id 7");
    expect_graph_error("{\"nodes\": [{\"id\": 0, \"op\": \"input\", \"name\": \"x\", \"type\": "
                       "\"float32[3]\"},\n {\"id\": 1, \"op\": \"add\", \"inputs\": [0]}],"
                       " \"outputs\": {\"y\": 1}}", 2, 18, "add takes 2 arguments, got 1");
    expect_graph_error("{\"nodes\": [{\"id\": 0, \"op\": \"input\", \"name\": \"x\", \"type\": "
                       "\"float32[3]\", \"colour\": 1}], \"outputs\": {\"y\": 0}}", 1, 72,
                       "unknown key 'colour' in node");
}

/* Errors inside expression strings point at the character in the file (the parser's message). */
Test(graph_json, expression_errors_point_into_the_string)
{
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"},\n"
                       " \"outputs\": {\"y\": \"x + * 2\"}}", 2, 24, NULL);
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"},\n"
                       " \"outputs\": {\"y\": \"x + zz\"}}", 2, 24, NULL);
    /* escapes take more characters in the file than in the expression */
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"},\n"
                       " \"outputs\": {\"y\": \"x.astype(\\\"float32\\\") + * 2\"}}", 2, 44, NULL);
    expect_graph_error("{\"inputs\": {\"x\": \"float32[3]\"},\n"
                       " \"outputs\": {\"y\": \"x +\\n\\u0020\\t* 2\"}}", 2, 33, NULL);
}

/* ---- pipelines ---------------------------------------------------------------------------- */
static char *write_temp(const char *text)
{
    char *path = sb_xstrdup("/tmp/sb_test_pipeXXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(pipeline, every_key)
{
    char *path = write_temp(
        "{\"graph\": \"g/logreg.graph.json\",\n"
        " \"data\": {\"x\": {\"idx\": \"/data/x.gz\", \"scale\": 0.5, \"limit\": 10},\n"
        "          \"W\": {\"init\": \"normal\", \"std\": 0.01, \"seed\": 1},\n"
        "          \"b\": {\"init\": \"zeros\"}, \"v\": \"v.npy\", \"u\": {\"npy\": \"u.npy\"},\n"
        "          \"r\": {\"random\": \"uniform\", \"shape\": [2, 3], \"seed\": 4}},\n"
        " \"passes\": [\"merge\", {\"pass\": \"saturate\", \"rules\": [\"algebra\"]}],\n"
        " \"backend\": \"cpu\",\n"
        " \"train\": {\"steps\": 20, \"batch_size\": 8, \"batch_over\": [\"x\", \"y\"],\n"
        "           \"log_every\": 5, \"eval_every\": 10, \"seed\": 3, \"metrics\": \"m.jsonl\",\n"
        "           \"eval\": {\"outputs\": [\"acc\"], \"data\": {\"x\": \"xt.npy\"}}},\n"
        " \"viz\": {\"dir\": \"out/stages\", \"format\": \"png\", \"stages\": \"all\"},\n"
        " \"trace\": \"out/trace.jsonl\", \"report\": \"/abs/report.html\",\n"
        " \"save\": {\"cost\": \"out/cost.npy\"}, \"plugins\": []}");
    sb_diag d = {0};
    sb_pipeline *p = sb_pipeline_load(path, &d);
    cr_assert_not_null(p, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    cr_expect_str_eq(p->dir, "/tmp");
    cr_expect_str_eq(p->graph_path, "/tmp/g/logreg.graph.json");
    cr_expect_eq(p->ndata, 6);
    const sb_data_spec *x = sb_pipeline_data(p, "x");
    cr_expect_eq(x->kind, SB_DATA_IDX);
    cr_expect_str_eq(x->path, "/data/x.gz");
    cr_expect(x->has_scale && x->scale == 0.5 && x->limit == 10);
    const sb_data_spec *w = sb_pipeline_data(p, "W");
    cr_expect(w->kind == SB_DATA_INIT && w->init.std == 0.01 && w->init.seed == 1);
    cr_expect_str_eq(w->init.kind, "normal");
    cr_expect_str_eq(sb_pipeline_data(p, "v")->path, "/tmp/v.npy");
    cr_expect_eq(sb_pipeline_data(p, "u")->kind, SB_DATA_NPY);
    const sb_data_spec *r = sb_pipeline_data(p, "r");
    cr_expect(r->kind == SB_DATA_RANDOM && r->nshape == 2 && r->shape[1] == 3);
    cr_expect_eq(cJSON_GetArraySize(p->passes), 2);
    cr_expect_str_eq(p->backend, "cpu");
    cr_expect(p->train.present && p->train.steps == 20 && p->train.batch_size == 8);
    cr_expect(p->train.nbatch_over == 2 && !strcmp(p->train.batch_over[1], "y"));
    cr_expect(p->train.log_every == 5 && p->train.eval_every == 10 && p->train.seed == 3);
    cr_expect_str_eq(p->train.metrics, "/tmp/m.jsonl");
    cr_expect(p->train.neval_outputs == 1 && p->train.neval_data == 1);
    cr_expect_str_eq(p->viz_dir, "/tmp/out/stages");
    cr_expect_str_eq(p->viz_format, "png");
    cr_expect_str_eq(p->trace, "/tmp/out/trace.jsonl");
    cr_expect_str_eq(p->report, "/abs/report.html");
    cr_expect(p->nsave == 1 && !strcmp(p->save[0].path, "/tmp/out/cost.npy"));
    cr_expect_not_null(p->plugins);
    sb_pipeline_free(p);
    unlink(path);
    free(path);
}

static void expect_pipeline_error(const char *text, int line, int col, const char *msg)
{
    char *path = write_temp(text);
    sb_diag d = {0};
    sb_pipeline *p = sb_pipeline_load(path, &d);
    cr_expect_null(p, "loaded: %s", text);
    cr_expect_str_eq(d.file, path);
    cr_expect_eq(d.line, line, "%s\nline %d, expected %d (%s)", text, d.line, line, d.msg);
    cr_expect_eq(d.col, col, "%s\ncol %d, expected %d (%s)", text, d.col, col, d.msg);
    cr_expect_str_eq(d.msg, msg);
    sb_pipeline_free(p);
    unlink(path);
    free(path);
}

Test(pipeline, errors_at_their_position)
{
#ifndef SB_HAVE_CUDA /* a CUDA build accepts it here; the run checks for the device */
    expect_pipeline_error("{\"graph\": \"g.json\", \"backend\": \"cuda\"}", 1, 32,
                          "backend 'cuda' is not available in this build");
#endif
    expect_pipeline_error("{\"graph\": \"g.json\", \"backend\": \"tpu\"}", 1, 32,
                          "unknown backend 'tpu' (expected cpu or cuda)");
    expect_pipeline_error("{\"graph\": \"g.json\",\n \"trainn\": {}}", 2, 2,
                          "unknown key 'trainn' in pipeline");
    expect_pipeline_error("{\"graph\": \"g.json\", \"data\": []}", 1, 29,
                          "'data' must be an object");
    expect_pipeline_error("{\"graph\": 3}", 1, 11,
                          "'graph' must be a graph file path or an inline graph object");
    expect_pipeline_error("{\"graph\": \"g.json\", \"train\": {\"steps\": -1}}", 1, 40,
                          "'steps' must be a non-negative integer");
    expect_pipeline_error("{\"graph\": \"g.json\", \"data\": {\"x\": {\"npy\": \"x.npy\", "
                          "\"scale\": 2}}}", 1, 52, "unknown key 'scale' in npy data");
    expect_pipeline_error("{\"graph\": \"g.json\", \"data\": {\"x\": {\"file\": \"x.npy\"}}}", 1,
                          35, "data for 'x' needs one of \"npy\", \"idx\", \"init\" or \"random\"");
    expect_pipeline_error("{\"data\": {}}", 1, 1, "pipeline has no 'graph'");
}

/* Round trip over attributes of every kind: axes, keepdims, dtype, shape, k, value, and index
 * specs with constant, dynamic and array entries. */
Test(graph_json, round_trip_every_attribute)
{
    static const char *const exprs[] = {
        "sum(x, axis=(0, 1), keepdims=True)", "argmax(x, axis=1)", "x.astype('int32')",
        "reshape(x, (3, -1))", "transpose(x, (1, 0))", "expand_dims(v, 0)", "squeeze(u)",
        "concatenate((x, x), axis=1)", "stack((v, v))", "split(v, 2, axis=0)[1]",
        "broadcast_to(v, (3, 4))", "zeros((2, 2), dtype='float32')", "full((2,), 7.5)",
        "eye(3)", "one_hot(i, 5)", "arange(0, 10, 2)", "x[1:3, ::2]", "x[n, -1]",
        "x[i, 0]", "x[n:, i]", "set_subtensor(x[0], v)", "inc_subtensor(x[i], 1.0)",
        "where(x > 0, x, 0)", "clip(x, -1, 1)", "softmax(x, axis=0)", "logsumexp(x, axis=1)",
        "x @ x.T", "outer(v, v)", "ones_like(x)", "shape(x)[0]", "grad(sum(x ** 2), x)",
    };
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"inputs\": {\"x\": \"float64[3, 4]\", \"v\": \"float64[4]\", "
                                "\"u\": \"float64[1, 4]\", \"i\": \"int64[2]\", \"n\": \"int64\"},"
                                " \"outputs\": {");
    for (size_t k = 0; k < sizeof exprs / sizeof *exprs; k++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"o%zu\": \"%s\"", k ? ", " : "", k,
                              exprs[k]);
    snprintf(text + n, sizeof text - n, "}}");
    sb_ctx *ctx = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *g = sb_graph_load_json(ctx, text, "all.json", &d);
    cr_assert_not_null(g, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    char *saved = sb_graph_save_json(g);
    sb_graph *h = sb_graph_load_json(ctx, saved, "saved.json", &d);
    cr_assert_not_null(h, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    for (int k = 0; k < sb_graph_count(g, SB_ROLE_OUTPUT); k++)
        cr_expect_eq(sb_graph_node(h, SB_ROLE_OUTPUT, k), sb_graph_node(g, SB_ROLE_OUTPUT, k),
                     "output %s (%s) changed in the round trip", sb_graph_name(g, SB_ROLE_OUTPUT, k),
                     exprs[k]);
    free(saved);
    sb_graph_free(g);
    sb_graph_free(h);
    sb_ctx_free(ctx);
}
