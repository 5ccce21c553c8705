/* test_passes.c: the pass manager: built-in passes, settings, errors at JSON positions, the
 * instruments (on_stage, timing, node counts, changed) and the trace records. */
#include <criterion/criterion.h>

#include "rw_test.h"

#include "json.h"
#include "rewrites/extract.h"
#include "rewrites/passes.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

static sb_graph *g;
static char rules_path[64];

static void setup(void)
{
    ctx = sb_ctx_init();
    g = sb_graph_new(ctx);
    snprintf(rules_path, sizeof rules_path, "/tmp/sb-test-passes-%d.json", (int)getpid());
    FILE *f = fopen(rules_path, "w");
    cr_assert(f);
    fputs("{\"name\": \"mini\", \"rules\": [\n"
          "  {\"name\": \"log1p\", \"lhs\": \"log(1 + ?x)\", \"rhs\": \"log1p(?x)\", \"doc\": \"stable\"},\n"
          "  {\"name\": \"mul-one\", \"lhs\": \"?x * 1\", \"rhs\": \"?x\"}\n"
          "]}\n", f);
    fclose(f);
}

static void teardown(void)
{
    unlink(rules_path);
    sb_graph_free(g);
    sb_ctx_free(ctx);
}

TestSuite(passes, .init = setup, .fini = teardown, .timeout = 60);

static void output(const char *name, const char *text)
{
    sb_graph_add(g, SB_ROLE_OUTPUT, name, P(text));
}

typedef struct stages {
    int n;
    char names[16][32];
    bool changed[16];
    int before[16], after[16];
} stages;

static void on_stage(const sb_graph *gr, const sb_stage_info *st, void *user)
{
    stages *s = user;
    cr_assert_eq(st->index, s->n + 1);
    cr_assert(gr);
    if (s->n < 16) {
        snprintf(s->names[s->n], 32, "%s", st->pass);
        s->changed[s->n] = st->changed;
        s->before[s->n] = st->nodes_before;
        s->after[s->n] = st->nodes_after;
    }
    s->n++;
}

/* Run the passes in JSON text `passes` (file "pipe.json"); returns the status. */
static sb_status run(const char *passes, FILE *trace, stages *st, sb_diag *d)
{
    sb_json *j = sb_json_parse(passes, "pipe.json", d);
    cr_assert(j, "%s", d->msg);
    sb_pass_opts o = {.doc = j, .passes = sb_json_root(j), .base_dir = NULL, .trace = trace,
                      .on_stage = on_stage, .user = st};
    sb_status s = sb_rw_run_passes(g, &o, d);
    sb_json_free(j);
    return s;
}

Test(passes, saturate_with_a_rule_file)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){16});
    sb_input(ctx, "x", &t);
    output("y", "log(1 + x * 1)");
    char json[256];
    snprintf(json, sizeof json, "[\"merge\", {\"pass\": \"saturate\", \"rules\": [\"%s\"], "
             "\"iter_limit\": 5, \"scheduler\": \"simple\", \"extract\": \"greedy\"}, \"dce\"]", rules_path);
    stages st = {0};
    sb_diag d = {0};
    cr_assert_eq(run(json, NULL, &st, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_graph_node(g, SB_ROLE_OUTPUT, 0), P("log1p(x)"));
    cr_assert_eq(st.n, 3);
    cr_assert_str_eq(st.names[0], "merge");
    cr_assert_not(st.changed[0]);
    cr_assert_str_eq(st.names[1], "saturate");
    cr_assert(st.changed[1]);
    cr_assert_gt(st.before[1], st.after[1]);
    cr_assert_not(st.changed[2]);
}

Test(passes, constant_fold_and_canonicalize)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){4});
    sb_input(ctx, "x", &t);
    output("a", "x * (2 + 3)");
    output("b", "-(-x) * 1 + 0");
    stages st = {0};
    sb_diag d = {0};
    cr_assert_eq(run("[\"constant_fold\"]", NULL, &st, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_graph_node(g, SB_ROLE_OUTPUT, 0), P("x * 5"));
    st.n = 0;
    cr_assert_eq(run("[\"canonicalize\"]", NULL, &st, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_graph_node(g, SB_ROLE_OUTPUT, 1), P("x"));
}

Test(passes, default_pipeline_runs)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){4});
    sb_input(ctx, "x", &t);
    output("a", "x * (2 + 3)");
    sb_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *trace = open_memstream(&buf, &len);
    sb_pass_opts o = {.trace = trace};
    cr_assert_eq(sb_rw_run_passes(g, &o, &d), SB_OK, "%s", d.msg);
    fclose(trace);
    cr_assert(strstr(buf, "\"name\":\"constant_fold\""));
    cr_assert(strstr(buf, "\"name\":\"saturate\""));
    cr_assert(strstr(buf, "\"name\":\"dce\""));
    free(buf);
}

Test(passes, unknown_pass_is_an_error_at_its_name)
{
    stages st = {0};
    sb_diag d = {0};
    cr_assert_neq(run("[\"merge\",\n  \"frobnicate\"]", NULL, &st, &d), SB_OK);
    cr_assert_str_eq(d.file, "pipe.json");
    cr_assert_eq(d.line, 2);
    cr_assert_eq(d.col, 3);
    cr_assert(strstr(d.msg, "unknown pass 'frobnicate'"), "%s", d.msg);
    cr_assert(strstr(d.msg, "saturate"), "lists the known passes: %s", d.msg);
}

Test(passes, bad_settings_are_errors_at_their_values)
{
    stages st = {0};
    sb_diag d = {0};
    cr_assert_neq(run("[{\"pass\": \"saturate\",\n \"iter_limit\": \"many\"}]", NULL, &st, &d), SB_OK);
    cr_assert_eq(d.line, 2);
    cr_assert_eq(d.col, 16);
    sb_diag_clear(&d);
    cr_assert_neq(run("[{\"pass\": \"saturate\",\n \"iter_limt\": 3}]", NULL, &st, &d), SB_OK);
    cr_assert(strstr(d.msg, "unknown setting \"iter_limt\""), "%s", d.msg);
    cr_assert_eq(d.line, 2);
    cr_assert_eq(d.col, 2);
    sb_diag_clear(&d);
    cr_assert_neq(run("[{\"pass\": \"dce\", \"rules\": []}]", NULL, &st, &d), SB_OK);
    sb_diag_clear(&d);
    cr_assert_neq(run("[{\"pass\": \"saturate\", \"scheduler\": \"fifo\"}]", NULL, &st, &d), SB_OK);
    cr_assert(strstr(d.msg, "scheduler"), "%s", d.msg);
    sb_diag_clear(&d);
    cr_assert_neq(run("[{\"pass\": \"saturate\", \"rules\": [\"no-such-set\"]}]", NULL, &st, &d), SB_OK);
    cr_assert(strstr(d.msg, "no-such-set"), "%s", d.msg);
    cr_assert_eq(d.line, 1);
}

/* Every trace line is a JSON object; count records by type and check their keys. */
Test(passes, trace_records)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){16});
    sb_input(ctx, "x", &t);
    output("y", "log(1 + x * 1)");
    char json[256];
    snprintf(json, sizeof json, "[{\"pass\": \"saturate\", \"rules\": [\"%s\"]}]", rules_path);
    char *buf = NULL;
    size_t len = 0;
    FILE *trace = open_memstream(&buf, &len);
    stages st = {0};
    sb_diag d = {0};
    cr_assert_eq(run(json, trace, &st, &d), SB_OK, "%s", d.msg);
    fclose(trace);
    int rewrite = 0, pass = 0, iter = 0, extract = 0, unions = 0, stop = 0, log1p_applied = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        cr_assert(o, "not JSON: %s", line);
        const char *type = cJSON_GetObjectItem(o, "type")->valuestring;
        if (!strcmp(type, "rewrite")) {
            rewrite++;
            cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "iter")));
            cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "eclass")));
            cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "enodes_added")));
            const char *rule = cJSON_GetObjectItem(o, "rule")->valuestring;
            cr_assert(!strcmp(rule, "log1p") || !strcmp(rule, "mul-one"));
            const char *origin = cJSON_GetObjectItem(o, "origin")->valuestring;
            cr_assert(strstr(origin, rules_path) && strstr(origin, !strcmp(rule, "log1p") ? ":2" : ":3"),
                      "origin %s", origin);
            cJSON *subst = cJSON_GetObjectItem(o, "subst");
            cr_assert(cJSON_IsString(cJSON_GetObjectItem(subst, "?x")));
        } else if (!strcmp(type, "pass")) {
            pass++;
            cr_assert_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "saturate");
            cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "changed")));
            cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "seconds")));
            cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "nodes_before")));
        } else if (!strcmp(type, "iteration")) {
            iter++;
            cJSON *rules = cJSON_GetObjectItem(o, "rules");
            cr_assert(cJSON_IsObject(rules));
            cJSON *l = cJSON_GetObjectItem(rules, "log1p");
            if (l && cJSON_GetArrayItem(l, 1)->valueint == 1) log1p_applied++;
        } else if (!strcmp(type, "extract")) {
            extract++;
            cr_assert(cJSON_IsString(cJSON_GetObjectItem(o, "chosen")));
        } else if (!strcmp(type, "union")) {
            unions++;
        } else if (!strcmp(type, "stop")) {
            stop++;
            cr_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring, "saturated");
        }
        cJSON_Delete(o);
    }
    cr_assert_eq(rewrite, 2, "log1p and mul-one fire once each: %d", rewrite);
    cr_assert_eq(pass, 1);
    cr_assert_geq(iter, 2);
    cr_assert_geq(extract, 2);
    cr_assert_geq(unions, 2);
    cr_assert_eq(stop, 1);
    cr_assert_eq(log1p_applied, 1, "one iteration reports log1p as [matches, 1]");
    free(buf);
}

Test(passes, registry_lists_builtins)
{
    const char *names[64];
    int n = sb_rw_pass_list(names, NULL, 64);
    const char *want[] = {"saturate", "merge", "constant_fold", "dce", "canonicalize", "fuse", "inplace"};
    for (size_t k = 0; k < 7; k++) {
        bool found = false;
        for (int i = 0; i < n; i++) found |= !strcmp(names[i], want[k]);
        cr_assert(found, "%s", want[k]);
    }
}

/* The default pipeline must not change what a real graph computes: an example graph (with its
 * gradients expanded) evaluated before and after, on seeded random data. */
static void keeps_values(const char *example)
{
    char path[512];
    const char *root = getenv("SB_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/examples/%s", root ? root : ".", example);
    sb_ctx *lc = sb_ctx_init();
    sb_diag d = {0};
    sb_graph *m = sb_graph_load_file(lc, path, &d);
    cr_assert(m, "%s: %s", example, d.msg);
    cr_assert_eq(sb_graph_expand_autodiff(m, &d), SB_OK, "%s", d.msg);
    /* Values: x[4, 784] normal, y labels, every shared variable small normal. */
    sb_binding binds[16];
    sb_array *vals[16];
    int nb = 0;
    for (int role = SB_ROLE_INPUT; role <= SB_ROLE_SHARED; role++)
        for (int i = 0; i < sb_graph_count(m, role); i++) {
            const sb_node *n = sb_graph_node(m, role, i);
            const sb_type *t = sb_node_type(n);
            int64_t shape[SB_MAX_DIMS];
            for (int k = 0; k < t->ndim; k++) shape[k] = t->dims[k] < 0 ? 4 : t->dims[k];
            if (t->dtype == SB_DTYPE_I64) {
                vals[nb] = sb_array_new(SB_DTYPE_I64, t->ndim, shape);
                for (int64_t k = 0; k < sb_array_numel(vals[nb]); k++) sb_array_set_f64(vals[nb], k, (double)((k * 7) % 10));
            } else {
                sb_init_spec spec = {.kind = "normal", .std = 0.1, .seed = (uint64_t)(nb + 1)};
                vals[nb] = sb_array_init(&spec, t->dtype, t->ndim, shape, &d);
                cr_assert(vals[nb], "%s", d.msg);
            }
            binds[nb] = (sb_binding){sb_graph_name(m, role, i), vals[nb]};
            nb++;
        }
    sb_node **roots = NULL;
    int nroots = 0;
    sb_node *before[32], *after[32];
    for (int role = SB_ROLE_OUTPUT; role <= SB_ROLE_UPDATE; role++)
        for (int i = 0; i < sb_graph_count(m, role) && nroots < 32; i++) before[nroots++] = sb_graph_node(m, role, i);
    sb_pass_opts o = {0};
    cr_assert_eq(sb_rw_run_passes(m, &o, &d), SB_OK, "%s", d.msg);
    int k = 0;
    for (int role = SB_ROLE_OUTPUT; role <= SB_ROLE_UPDATE; role++)
        for (int i = 0; i < sb_graph_count(m, role) && k < 32; i++) after[k++] = sb_graph_node(m, role, i);
    double c0 = sb_rw_term_cost(before, nroots), c1 = sb_rw_term_cost(after, nroots);
    cr_assert_leq(c1, c0, "%s: cost %g -> %g", example, c0, c1);
    cr_log_info("%s: cost %.10g -> %.10g", example, c0, c1);
    sb_array *r0[32], *r1[32];
    cr_assert_eq(sb_eval(lc, nroots, before, nb, binds, true, r0, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_eval(lc, nroots, after, nb, binds, true, r1, &d), SB_OK, "%s", d.msg);
    for (int i = 0; i < nroots; i++) {
        cr_assert_eq(sb_array_numel(r0[i]), sb_array_numel(r1[i]));
        for (int64_t e = 0; e < sb_array_numel(r0[i]); e++) {
            double a = sb_array_get_f64(r0[i], e), b = sb_array_get_f64(r1[i], e);
            cr_assert(fabs(a - b) <= 1e-6 * (1 + fabs(a)), "%s root %d elem %lld: %g vs %g", example, i, (long long)e, a, b);
        }
        sb_array_free(r0[i]);
        sb_array_free(r1[i]);
    }
    for (int i = 0; i < nb; i++) sb_array_free(vals[i]);
    free(roots);
    sb_graph_free(m);
    sb_ctx_free(lc);
}

Test(passes, default_pipeline_keeps_values_of_the_examples)
{
    keeps_values("fmnist_mlp.graph.json");
    keeps_values("fmnist_logreg.graph.json");
    keeps_values("mlp.graph.json");
}

/* ---- the command line: symbench simplify / explain --------------------------------------- */
/* Run `symbench ARGS` (a shell-quoted string); returns the exit status, output in out. */
static int symbench(const char *args, char *out, size_t n)
{
    const char *b = getenv("SB_BUILD_ROOT");
    char exe[512], cmd[2048];
    snprintf(exe, sizeof exe, "%s/tools/symbench", b ? b : "build");
    if (access(exe, X_OK) != 0) cr_skip_test("%s is not built", exe);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", exe, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(passes, command_line_simplify)
{
    char out[4096], cmd[1024];
    snprintf(cmd, sizeof cmd, "simplify --rules %s --var x=float32[3] 'log(1 + x * 1)'", rules_path);
    cr_assert_eq(symbench(cmd, out, sizeof out), 0, "%s", out);
    char *nl = strchr(out, '\n');
    cr_assert(nl);
    *nl = 0;
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){3});
    sb_input(ctx, "x", &t);
    cr_assert_eq(P(out), P("log1p(x)"), "first line '%s' parses back to the result", out);
    cr_assert(strstr(nl + 1, "cost: "), "%s", nl + 1);
    cr_assert(strstr(nl + 1, "saturated"), "%s", nl + 1);
    cr_assert_eq(symbench("simplify 'y + 1'", out, sizeof out), 1);
    cr_assert(strstr(out, "unknown name 'y' (declare it with --var y="), "%s", out);
    cr_assert_eq(symbench("simplify --bogus x", out, sizeof out), 2);
}

Test(passes, command_line_explain)
{
    char out[4096], cmd[1024];
    snprintf(cmd, sizeof cmd, "explain --rules %s --var x=float32[3] 'log(1 + x * 1)' 'log1p(x)'",
             rules_path);
    cr_assert_eq(symbench(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "[log1p]") && strstr(out, "[mul-one]"), "%s", out);
    snprintf(cmd, sizeof cmd, "explain --rules %s --var x=float32[3] 'exp(x)' 'log(x)'", rules_path);
    cr_assert_eq(symbench(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "could not prove"), "%s", out);
}
