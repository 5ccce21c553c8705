/* test_profile.c: the profiling collector (core/profile.c): aggregation per op type and per
 * node, nesting (only outermost steps and runs count), text and JSON summaries, and what the
 * reference evaluator and the CPU plan record (every op of a graph, fused groups, GEMMs, runs,
 * the pool) or do not record while profiling is off. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/plan.h"
#include "core/profile.h"

static sb_ctx *C;
static sb_diag D;

static void setup(void)
{
    C = sb_ctx_init();
    sb_diag_clear(&D);
    sb_profile_enable(false);
    sb_profile_reset();
}

static void teardown(void)
{
    sb_profile_enable(false);
    sb_profile_reset();
    sb_ctx_free(C);
}

TestSuite(profile, .init = setup, .fini = teardown);

static const sb_profile_row *find_op(const sb_profile_summary *s, const char *op)
{
    for (int i = 0; i < s->nops; i++)
        if (!strcmp(s->ops[i].op, op)) return &s->ops[i];
    return NULL;
}

static const sb_profile_row *find_node(const sb_profile_summary *s, uint32_t node)
{
    for (int i = 0; i < s->nnodes; i++)
        if (s->nodes[i].node == node) return &s->nodes[i];
    return NULL;
}

/* ---- the collector ------------------------------------------------------------------------ */
Test(profile, aggregates_per_op_and_node)
{
    sb_profile_record(3, "matmul", 0.004, 800, true);
    sb_profile_record(3, "matmul", 0.002, 800, false);
    sb_profile_record(5, "exp", 0.001, 100, true);
    sb_profile_record(6, "exp", 0.003, 100, false);
    sb_profile_record(9, "fused{mul,add}", 0.0, 40, false);
    sb_profile_record_run(0.011, 4096);
    sb_profile_record_run(0.001, 1024);
    sb_profile_summary *s = sb_profile_summarize();
    cr_assert_eq(s->runs, 2);
    cr_assert_float_eq(s->run_seconds, 0.012, 1e-12);
    cr_assert_eq(s->steps, 5);
    cr_assert_float_eq(s->step_seconds, 0.010, 1e-12);
    cr_assert_eq(s->allocs, 2);
    cr_assert_eq(s->alloc_bytes, 900);
    cr_assert_eq(s->peak_pool_bytes, 4096);
    cr_assert_eq(s->nops, 3);
    cr_assert_str_eq(s->ops[0].op, "matmul"); /* most time first */
    cr_assert_str_eq(s->ops[1].op, "exp");
    cr_assert_str_eq(s->ops[2].op, "fused{mul,add}");
    const sb_profile_row *e = find_op(s, "exp");
    cr_assert_eq(e->calls, 2);
    cr_assert_eq(e->nnodes, 2);
    cr_assert_eq(e->node, UINT32_MAX);
    cr_assert_float_eq(e->percent, 40.0, 1e-9);
    cr_assert_eq(e->bytes, 200);
    cr_assert_eq(e->alloc_bytes, 100);
    const sb_profile_row *m = find_op(s, "matmul");
    cr_assert_eq(m->calls, 2);
    cr_assert_eq(m->allocs, 1);
    cr_assert_float_eq(m->percent, 60.0, 1e-9);
    cr_assert_eq(s->nnodes, 4);
    cr_assert_eq(s->nodes[0].node, 3);
    cr_assert_eq(find_node(s, 6)->calls, 1);
    cr_assert_float_eq(find_node(s, 6)->seconds, 0.003, 1e-12);
    double sum = 0;
    for (int i = 0; i < s->nops; i++) sum += s->ops[i].percent;
    cr_assert_float_eq(sum, 100.0, 1e-9);
    sb_profile_summary_free(s);
}

Test(profile, reset_forgets_everything)
{
    sb_profile_record(1, "exp", 0.5, 8, true);
    sb_profile_record_run(0.5, 64);
    sb_profile_reset();
    sb_profile_summary *s = sb_profile_summarize();
    cr_assert_eq(s->runs, 0);
    cr_assert_eq(s->steps, 0);
    cr_assert_eq(s->nops, 0);
    cr_assert_eq(s->nnodes, 0);
    cr_assert_eq(s->peak_pool_bytes, 0);
    sb_profile_summary_free(s);
}

Test(profile, only_outermost_steps_and_runs_count)
{
    double r0 = sb_prof_run_begin();
    double t0 = sb_prof_begin();
    double r1 = sb_prof_run_begin(); /* a run inside a step (the plan's lazy ifelse) */
    double t1 = sb_prof_begin();
    sb_prof_end(t1, 7, "exp", 8, true);
    sb_prof_run_end(r1, 0);
    sb_prof_end(t0, 8, "ifelse", 8, false);
    double t2 = sb_prof_begin();
    sb_prof_end(t2, 9, NULL, 0, false); /* a failed step: nothing */
    sb_prof_run_end(r0, 128);
    sb_profile_summary *s = sb_profile_summarize();
    cr_assert_eq(s->runs, 1);
    cr_assert_eq(s->steps, 1);
    cr_assert_str_eq(s->ops[0].op, "ifelse");
    cr_assert_eq(s->nodes[0].node, 8);
    cr_assert_eq(s->peak_pool_bytes, 128);
    cr_assert(s->run_seconds >= s->step_seconds);
    sb_profile_summary_free(s);
}

Test(profile, enable_flag)
{
    cr_assert_not(sb_profile_enabled());
    sb_profile_enable(true);
    cr_assert(sb_profile_enabled());
    cr_assert(sb_prof_on);
    sb_profile_enable(false);
    cr_assert_not(sb_prof_on);
}

Test(profile, json_summary)
{
    sb_profile_record(3, "matmul", 0.004, 800, true);
    sb_profile_record(5, "exp \"quoted\"", 0.001, 100, false);
    sb_profile_record_run(0.006, 2048);
    sb_profile_summary *s = sb_profile_summarize();
    char *text = sb_profile_json(s, 1);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s", text);
    cr_assert_eq(cJSON_GetObjectItem(j, "runs")->valueint, 1);
    cr_assert_float_eq(cJSON_GetObjectItem(j, "step_seconds")->valuedouble, 0.005, 1e-12);
    cJSON *ops = cJSON_GetObjectItem(j, "ops");
    cr_assert_eq(cJSON_GetArraySize(ops), 2);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ops, 1), "op")->valuestring, "exp \"quoted\"");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "nodes")), 1); /* top 1 */
    cJSON *n0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "nodes"), 0);
    cr_assert_eq(cJSON_GetObjectItem(n0, "node")->valueint, 3);
    cJSON *mem = cJSON_GetObjectItem(j, "memory");
    cr_assert_eq(cJSON_GetObjectItem(mem, "peak_pool_bytes")->valueint, 2048);
    cr_assert_eq(cJSON_GetObjectItem(mem, "alloc_bytes")->valueint, 800);
    cJSON_Delete(j);
    free(text);
    sb_profile_summary_free(s);
}

Test(profile, text_table_rows_sum_to_total)
{
    sb_profile_record(3, "matmul", 0.0040004, 800, true);
    sb_profile_record(5, "exp", 0.0010004, 100, false);
    sb_profile_record(6, "add", 0.0020004, 100, false);
    sb_profile_summary *s = sb_profile_summarize();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sb_profile_print(s, f, 2);
    fclose(f);
    cr_assert(strstr(buf, "per op type:"), "%s", buf);
    cr_assert(strstr(buf, "top 2 nodes (of 3):"), "%s", buf);
    cr_assert(strstr(buf, "memory: 1 allocation by steps, 800 B; peak pool - (no pool)"), "%s", buf);
    /* the op rows' times add up to the total row within rounding (3 decimals of ms) */
    double sum = 0, total = -1;
    int rows = 0;
    char *save = NULL;
    bool in_ops = false;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "per op type:")) in_ops = true;
        else if (strstr(line, "top ")) in_ops = false;
        else if (in_ops && strstr(line, " total")) total = strtod(line, NULL);
        else if (in_ops && !strstr(line, "time (ms)")) sum += strtod(line, NULL), rows++;
    }
    cr_assert_eq(rows, 3);
    cr_assert_float_eq(total, 7.001, 1e-9);
    cr_assert(fabs(sum - total) <= 0.0005 * rows, "sum %g total %g", sum, total);
    free(buf);
    sb_profile_summary_free(s);
}

/* ---- what the run loops record ------------------------------------------------------------ */
static sb_node *var(const char *name, const char *type)
{
    sb_type t;
    cr_assert_eq(sb_type_parse(type, &t, NULL), SB_OK);
    return sb_input(C, name, &t);
}

static sb_node *parse(const char *text)
{
    sb_node *n = sb_parse_expr(C, text, NULL, NULL, &D);
    cr_assert_not_null(n, "%s: %s", text, D.msg);
    return n;
}

static sb_array *filled(sb_dtype dt, int nd, const int64_t *shape, double base)
{
    sb_array *a = sb_array_new(dt, nd, shape);
    for (int64_t i = 0; i < sb_array_numel(a); i++) sb_array_set_f64(a, i, base + 0.01 * (double)i);
    return a;
}

Test(profile, evaluator_records_every_op)
{
    var("x", "float64[4, 3]");
    sb_node *y = parse("sum(exp(x) * 2, axis=1)");
    int64_t sh[2] = {4, 3};
    sb_array *x = filled(SB_DTYPE_F64, 2, sh, 0.5), *r = NULL;
    sb_binding b = {"x", x};
    cr_assert_eq(sb_eval(C, 1, &y, 1, &b, false, &r, &D), SB_OK, "%s", D.msg);
    sb_array_free(r);
    sb_profile_summary *s = sb_profile_summarize();
    cr_assert_eq(s->runs, 0, "nothing is recorded while profiling is off");
    cr_assert_eq(s->steps, 0);
    sb_profile_summary_free(s);

    sb_profile_enable(true);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(sb_eval(C, 1, &y, 1, &b, false, &r, &D), SB_OK, "%s", D.msg);
        sb_array_free(r);
    }
    sb_profile_enable(false);
    s = sb_profile_summarize();
    cr_assert_eq(s->runs, 3);
    cr_assert_eq(s->steps, 9); /* exp, mul, sum per run; leaves are not steps */
    cr_assert_eq(s->nops, 3);
    const char *ops[] = {"exp", "mul", "sum"};
    for (int i = 0; i < 3; i++) {
        const sb_profile_row *o = find_op(s, ops[i]);
        cr_assert_not_null(o, "%s", ops[i]);
        cr_assert_eq(o->calls, 3);
        cr_assert_eq(o->allocs, 3, "%s: the reference kernels allocate their results", ops[i]);
    }
    cr_assert_eq(find_op(s, "exp")->bytes, 3 * 12 * 8);
    cr_assert_eq(find_op(s, "sum")->bytes, 3 * 4 * 8);
    cr_assert_eq(find_node(s, sb_node_id(y))->calls, 3);
    cr_assert(s->run_seconds >= s->step_seconds);
    sb_profile_summary_free(s);
    sb_array_free(x);
}

Test(profile, plan_records_fused_groups_and_gemms)
{
    var("x", "float32[8, 16]");
    var("W", "float32[16, 4]");
    var("b", "float32[4]");
    sb_node *outs[2] = {parse("tanh(x @ W + b) * 2"), parse("sum(exp(x - 1), axis=1)")};
    sb_plan *p = sb_be_plan_compile(C, 2, outs, &D);
    cr_assert_not_null(p, "%s", D.msg);
    int64_t sx[2] = {8, 16}, sw[2] = {16, 4}, sb[1] = {4};
    sb_array *x = filled(SB_DTYPE_F32, 2, sx, -0.5), *W = filled(SB_DTYPE_F32, 2, sw, -0.3),
             *b = filled(SB_DTYPE_F32, 1, sb, 0.1);
    sb_binding bind[3] = {{"x", x}, {"W", W}, {"b", b}};
    sb_profile_enable(true);
    for (int k = 0; k < 2; k++) cr_assert_eq(sb_be_plan_run(p, 3, bind, NULL, &D), SB_OK, "%s", D.msg);
    sb_profile_enable(false);
    sb_profile_summary *s = sb_profile_summarize();
    cr_assert_eq(s->runs, 2);
    const sb_profile_row *g = find_op(s, "gemm");
    cr_assert_not_null(g, "the product is one GEMM step");
    cr_assert_eq(g->calls, 2);
    cr_assert_eq(g->bytes, 2 * 8 * 4 * 4);
    cr_assert_not_null(find_op(s, "fused{add,tanh,mul}"),
                       "tanh(... + b) * 2 runs as one fused group (the bias add included)");
    /* the reduction runs fused with its input (fuse_reduce.c) or as a kernel of its own */
    bool sum = find_op(s, "sum") != NULL;
    for (int i = 0; !sum && i < s->nops; i++)
        sum = !strncmp(s->ops[i].op, "fused{", 6) && strstr(s->ops[i].op, "exp,sum}");
    cr_assert(sum, "a row names the reduction");
    cr_assert_gt(s->peak_pool_bytes, 0, "the plan reports its pool");
    int64_t allocs_first = s->allocs;
    sb_profile_summary_free(s);
    /* the pool is warm: pool steps allocate nothing in a steady-state run */
    sb_profile_reset();
    sb_profile_enable(true);
    cr_assert_eq(sb_be_plan_run(p, 3, bind, NULL, &D), SB_OK, "%s", D.msg);
    sb_profile_enable(false);
    s = sb_profile_summarize();
    cr_assert_eq(find_op(s, "gemm")->allocs, 0);
    cr_assert_leq(s->allocs, allocs_first);
    sb_profile_summary_free(s);
    sb_be_plan_free(p);
    sb_array_free(x);
    sb_array_free(W);
    sb_array_free(b);
}
