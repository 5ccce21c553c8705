/* test_plan_draw.c: drawings of the compiled plan (viz/plan_draw.c over backends/describe.c and
 * the CPU plan's describe): the DOT structure of a graph with a known fusion (one cluster
 * "cluster_k<k>" per multi-node step, holding exactly its members), a GEMM with its bias add,
 * an SGD update written in place (a red "destroyed" edge, on the edge by which the overwritten
 * value enters the step), the counts of the description, and the report's profile section. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "viz/viz.h"

static sb_ctx *C;
static sb_diag D;

static void setup(void)
{
    C = sb_ctx_init();
    sb_diag_clear(&D);
    unsetenv("SB_CPU_EXEC"); /* the plan, not the reference evaluator */
}

static void teardown(void)
{
    sb_ctx_free(C);
}

TestSuite(plan_draw, .init = setup, .fini = teardown);

static sb_graph *load(const char *json)
{
    sb_graph *g = sb_graph_load_json(C, json, "<test>", &D);
    cr_assert_not_null(g, "%s", D.msg);
    return g;
}

/* Node lines ("  n12 [...]") inside the block of subgraph `name` of dot; -1 when absent. */
static int cluster_members(const char *dot, const char *name)
{
    char head[64];
    snprintf(head, sizeof head, "subgraph %s {", name);
    const char *p = strstr(dot, head);
    if (!p) return -1;
    p += strlen(head);
    int depth = 1, n = 0;
    bool line_start = false;
    for (; *p && depth > 0; p++) {
        if (*p == '{') depth++;
        else if (*p == '}') depth--;
        else if (*p == '\n') line_start = true;
        else if (line_start && *p != ' ' && *p != '\t') {
            line_start = false;
            if (depth == 1 && p[0] == 'n' && p[1] >= '0' && p[1] <= '9') n++;
        }
    }
    return n;
}

static int count_str(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

Test(plan_draw, fused_group_is_one_cluster_with_its_members)
{
    sb_graph *g = load("{\"inputs\": {\"x\": \"float32[8, 16]\", \"y\": \"float32[8, 16]\", "
                       "\"z\": \"float32[8, 16]\"},"
                       " \"outputs\": {\"r\": \"tanh(x * y + z) * 3\"}}");
    sb_be_plan_desc pd;
    cr_assert_eq(sb_be_describe_graph(sb_be_cpu_get(), g, &pd, &D), SB_OK, "%s", D.msg);
    cr_assert(pd.described);
    cr_assert_eq(pd.nfused, 1);
    cr_assert_eq(pd.nfused_nodes, 4, "mul, add, tanh, mul");
    cr_assert_eq(pd.ngemm, 0);
    cr_assert_eq(sb_viz_plan_clusters(&pd), 1);
    sb_drawing *dr = sb_viz_plan(g, &pd, NULL);
    char *dot = sb_drawing_dot(dr);
    cr_assert_eq(count_str(dot, "subgraph cluster_k"), 1, "%s", dot);
    cr_assert_eq(cluster_members(dot, "cluster_k1"), 4, "%s", dot);
    cr_assert(strstr(dot, "kernel 1"), "%s", dot);
    cr_assert(strstr(dot, "compiled plan: 1 kernels (1 fused, 0 gemm), 0 in place"), "%s", dot);
    free(dot);
    sb_drawing_free(dr);
    sb_be_plan_desc_free(&pd);
    sb_graph_free(g);
}

Test(plan_draw, gemm_bias_and_two_groups)
{
    /* s = x @ W + b, an output: the bias add folds into the GEMM (2 nodes); h = tanh(s) alone
     * is a group of one (no cluster); exp(h) - 1 and h * 2 are read by separate outputs:
     * groups of their own */
    sb_graph *g = load("{\"inputs\": {\"x\": \"float32[8, 16]\"},"
                       " \"shared\": {\"W\": \"float32[16, 4]\", \"b\": \"float32[4]\"},"
                       " \"let\": {\"s\": \"x @ W + b\", \"h\": \"tanh(s)\"},"
                       " \"outputs\": {\"z\": \"s\", \"e\": \"exp(h) - 1\", \"t\": \"sum(h * 2)\"}}");
    sb_be_plan_desc pd;
    cr_assert_eq(sb_be_describe_graph(sb_be_cpu_get(), g, &pd, &D), SB_OK, "%s", D.msg);
    cr_assert_eq(pd.ngemm, 1);
    sb_drawing *dr = sb_viz_plan(g, &pd, &(sb_viz_opts){.title = "plan"});
    char *dot = sb_drawing_dot(dr);
    int gemm_k = 0;
    for (int i = 0; i < pd.n; i++)
        if (pd.marks[i] & SB_BE_MARK_GEMM) gemm_k = pd.kernel[i];
    cr_assert_gt(gemm_k, 0);
    cr_assert_eq(pd.size[gemm_k], 2, "matmul and the bias add");
    char name[32];
    snprintf(name, sizeof name, "cluster_k%d", gemm_k);
    cr_assert_eq(cluster_members(dot, name), 2, "%s", dot);
    /* every cluster holds exactly the nodes the description gives its step */
    int clusters = 0;
    for (int k = 1; k <= pd.nkernels; k++) {
        snprintf(name, sizeof name, "cluster_k%d", k);
        int m = cluster_members(dot, name);
        if (pd.size[k] > 1) cr_assert_eq(m, pd.size[k], "%s: %d vs %d\n%s", name, m, pd.size[k], dot);
        else cr_assert_eq(m, -1, "%s: a one-node step has no cluster", name);
        clusters += pd.size[k] > 1;
    }
    cr_assert_eq(count_str(dot, "subgraph cluster_k"), clusters);
    cr_assert_eq(clusters, sb_viz_plan_clusters(&pd));
    free(dot);
    sb_drawing_free(dr);
    sb_be_plan_desc_free(&pd);
    sb_graph_free(g);
}

Test(plan_draw, sgd_update_in_place_is_marked)
{
    sb_graph *g = load("{\"inputs\": {\"x\": \"float32[8, 16]\", \"y\": \"float32[8, 4]\"},"
                       " \"shared\": {\"W\": \"float32[16, 4]\"},"
                       " \"let\": {\"r\": \"x @ W - y\"},"
                       " \"outputs\": {\"loss\": \"sum(r * r)\"},"
                       " \"updates\": {\"W\": \"W - 0.5 * (x.T @ r)\"}}");
    sb_be_plan_desc pd;
    cr_assert_eq(sb_be_describe_graph(sb_be_cpu_get(), g, &pd, &D), SB_OK, "%s", D.msg);
    sb_node *upd = sb_graph_node(g, SB_ROLE_UPDATE, 0), *W = sb_graph_find(g, SB_ROLE_SHARED, "W");
    cr_assert(pd.marks[sb_node_id(upd)] & SB_BE_MARK_INPLACE, "the update is accumulated into W");
    cr_assert(pd.marks[sb_node_id(upd)] & SB_BE_MARK_GEMM, "by its GEMM");
    cr_assert_eq(pd.over[sb_node_id(upd)], sb_node_id(W) + 1, "written over W");
    cr_assert_geq(pd.ninplace, 1);
    sb_drawing *dr = sb_viz_plan(g, &pd, NULL);
    char *dot = sb_drawing_dot(dr);
    /* one red "destroyed" edge per in-place step, the update's from W into the update */
    cr_assert_eq(count_str(dot, "destroyed"), pd.ninplace, "%s", dot);
    cr_assert_eq(count_str(dot, "(inplace)"), pd.ninplace, "%s", dot);
    char edge[64];
    snprintf(edge, sizeof edge, "n%u -> n%u\t[color=\"#e31a1c\"", sb_node_id(W), sb_node_id(upd));
    cr_assert(strstr(dot, edge), "%s\n%s", edge, dot);
    free(dot);
    sb_drawing_free(dr);
    sb_be_plan_desc_free(&pd);
    sb_graph_free(g);
}

Test(plan_draw, momentum_update_destroys_the_velocity_it_reads)
{
    /* v <- 0.9 * v - 0.1 * g: v is not the root's first input; the destroyed edge is the one by
     * which v enters the group (into the member 0.9 * v) */
    sb_graph *g = load("{\"inputs\": {\"g\": \"float32[16]\"},"
                       " \"shared\": {\"v\": \"float32[16]\"},"
                       " \"outputs\": {\"n\": \"sum(v)\"},"
                       " \"updates\": {\"v\": \"0.9 * v - 0.1 * g\"}}");
    sb_be_plan_desc pd;
    cr_assert_eq(sb_be_describe_graph(sb_be_cpu_get(), g, &pd, &D), SB_OK, "%s", D.msg);
    sb_node *upd = sb_graph_node(g, SB_ROLE_UPDATE, 0), *v = sb_graph_find(g, SB_ROLE_SHARED, "v");
    cr_assert_eq(pd.over[sb_node_id(upd)], sb_node_id(v) + 1, "written over v");
    sb_node *scaled = sb_node_in(upd, 0); /* 0.9 * v */
    cr_assert_eq(pd.kernel[sb_node_id(scaled)], pd.kernel[sb_node_id(upd)], "one group");
    sb_drawing *dr = sb_viz_plan(g, &pd, NULL);
    char *dot = sb_drawing_dot(dr);
    char edge[64];
    snprintf(edge, sizeof edge, "n%u -> n%u\t[color=\"#e31a1c\"", sb_node_id(v), sb_node_id(scaled));
    cr_assert(strstr(dot, edge), "%s\n%s", edge, dot);
    cr_assert_eq(count_str(dot, "destroyed"), 1, "%s", dot);
    free(dot);
    sb_drawing_free(dr);
    sb_be_plan_desc_free(&pd);
    sb_graph_free(g);
}

Test(plan_draw, compile_error_is_reported)
{
    sb_graph *g = load("{\"inputs\": {\"x\": \"float64[3]\"},"
                       " \"outputs\": {\"g\": \"grad(sum(x * x), x)\"}}");
    setenv("SB_CPU_EXEC", "plan", 1); /* no fallback to the evaluator: the plan refuses */
    sb_be_plan_desc pd;
    cr_assert_neq(sb_be_describe_graph(sb_be_cpu_get(), g, &pd, &D), SB_OK);
    cr_assert(strstr(D.msg, "expanded"), "%s", D.msg);
    unsetenv("SB_CPU_EXEC");
    sb_be_plan_desc_free(&pd);
    sb_graph_free(g);
}

Test(plan_draw, report_profile_section)
{
    sb_profile_reset();
    sb_profile_record(3, "gemm", 0.003, 4096, true);
    sb_profile_record(7, "fused{a<b}", 0.001, 64, false);
    sb_profile_record_run(0.0045, 8192);
    sb_profile_summary *s = sb_profile_summarize();
    sb_report *r = sb_report_new("t");
    char *html = sb_report_html(r);
    cr_assert_null(strstr(html, "id=\"profile\""), "no section without a profile");
    free(html);
    sb_report_set_profile(r, s, 1);
    sb_profile_summary_free(s); /* the report keeps its own copy */
    sb_profile_reset();
    html = sb_report_html(r);
    cr_assert(strstr(html, "<h2 id=\"profile\">Profile</h2>"), "%s", html);
    cr_assert(strstr(html, "1 run, 4.500 ms wall; 2 steps took 4.000 ms"), "%s", html);
    cr_assert(strstr(html, "<td>3.000</td><td>75.0</td><td>1</td>"), "%s", html);
    cr_assert(strstr(html, "<td>fused{a&lt;b}</td>"), "labels are escaped: %s", html);
    cr_assert(strstr(html, "Top 1 nodes (of 2)"), "%s", html);
    cr_assert(strstr(html, "<td>%3</td><td>gemm</td>"), "%s", html);
    free(html);
    sb_report_set_profile(r, NULL, 0);
    html = sb_report_html(r);
    cr_assert_null(strstr(html, "id=\"profile\""), "removed");
    free(html);
    sb_report_free(r);
}

/* A backend without describe() (CUDA): the description says so, the drawing has no clusters. */
Test(plan_draw, backend_without_describe)
{
    struct sb_backend_i be = *sb_be_cpu_get();
    be.name = "nodescribe";
    be.describe = NULL;
    sb_graph *g = load("{\"inputs\": {\"x\": \"float32[8]\"}, \"outputs\": {\"r\": \"tanh(x * 2) + 1\"}}");
    sb_be_plan_desc pd;
    cr_assert_eq(sb_be_describe_graph(&be, g, &pd, &D), SB_OK, "%s", D.msg);
    cr_assert_not(pd.described);
    cr_assert_eq(pd.nkernels, 0);
    cr_assert_eq(pd.nfused, 0);
    cr_assert_eq(sb_viz_plan_clusters(&pd), 0);
    sb_drawing *dr = sb_viz_plan(g, &pd, NULL);
    char *dot = sb_drawing_dot(dr);
    cr_assert_null(strstr(dot, "subgraph cluster_k"), "%s", dot);
    free(dot);
    sb_drawing_free(dr);
    sb_be_plan_desc_free(&pd);
    sb_graph_free(g);
}
