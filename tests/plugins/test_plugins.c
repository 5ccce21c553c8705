/* test_plugins.c: the plugin ABI end to end. The example plugins (rewrites/rules/plugins: gelu,
 * powchain) load, their ops parse / print / evaluate / differentiate like built-ins, their rules
 * rewrite through the optimizer with origin "plugin:NAME" in the trace, C conditions and appliers
 * decide and build rewrites, the soundness checker accepts them, their pass runs in a pipeline
 * (API and `symbench run`), and broken plugins (tests/plugins/testplugin.c) fail with errors that
 * name them. Criterion runs every test in its own process, so each one loads plugins afresh. */
#include <criterion/criterion.h>

#include "core-impl.h"
#include "json.h"
#include "rewrites/check.h"
#include "rewrites/optimize.h"
#include "rewrites/passes.h"
#include "rewrites/plugin.h"

#include <math.h>
#include <stdio.h>

static sb_ctx *ctx;

static void setup(void) { ctx = sb_ctx_init(); }
static void teardown(void) { sb_ctx_free(ctx); }

TestSuite(plugins, .init = setup, .fini = teardown, .timeout = 60);

/* Path of a built module: $SB_BUILD_ROOT/rel. */
static const char *built(const char *rel)
{
    static char buf[4][1024];
    static int k;
    const char *root = getenv("SB_BUILD_ROOT");
    char *b = buf[k++ % 4];
    snprintf(b, 1024, "%s/%s", root ? root : ".", rel);
    return b;
}
#define GELU built("rewrites/rules/plugins/gelu.so")
#define POWCHAIN built("rewrites/rules/plugins/powchain.so")

static void load(const char *path)
{
    sb_diag d = {0};
    cr_assert_eq(sb_plugin_load(path, &d), SB_OK, "%s: %s", d.file, d.msg);
}

/* Load path expecting failure; returns the message "file: msg". */
static const char *load_fails(const char *path)
{
    static char msg[1100];
    sb_diag d = {0};
    cr_assert_eq(sb_plugin_load(path, &d), SB_ERR_PLUGIN, "%s loaded", path);
    snprintf(msg, sizeof msg, "%s: %s", d.file, d.msg);
    return msg;
}

static sb_node *P(const char *text)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(ctx, text, NULL, NULL, &d);
    cr_assert(n, "%s: %s", text, d.msg);
    return n;
}

static sb_array *vec(const double *v, int n)
{
    sb_array *a = sb_array_new(SB_DTYPE_F64, 1, (int64_t[]){n});
    for (int i = 0; i < n; i++) sb_array_set_f64(a, i, v[i]);
    return a;
}

/* Evaluate e (float64 reference mode) with x bound to xv. */
static sb_array *eval1(sb_node *e, const sb_array *xv)
{
    sb_binding b = {"x", xv};
    sb_array *r = NULL;
    sb_diag d = {0};
    cr_assert_eq(sb_eval(ctx, 1, &e, 1, &b, true, &r, &d), SB_OK, "%s", d.msg);
    return r;
}

static void assert_close(const sb_array *a, const sb_array *b, double tol)
{
    cr_assert_eq(sb_array_numel(a), sb_array_numel(b));
    for (int64_t i = 0; i < sb_array_numel(a); i++)
        cr_assert(sb_array_get_f64(a, i) == sb_array_get_f64(b, i) ||
                      fabs(sb_array_get_f64(a, i) - sb_array_get_f64(b, i)) <= tol,
                  "[%ld] %.17g vs %.17g", (long)i, sb_array_get_f64(a, i), sb_array_get_f64(b, i));
}

static const double XS[] = {-3, -1.5, -0.25, 0, 0.3, 1, 2.5, 4};

/* ---- ops: registry, parse, print, type, eval --------------------------------------------- */
Test(plugins, gelu_op_is_registered_and_evaluates_like_the_unfused_form)
{
    load(GELU);
    sb_op g = sb_op_from_name("gelu");
    cr_assert(g > SB_OP_COUNT && g < SB_OP_LIMIT);
    cr_assert_str_eq(sb_op_get(g)->name, "gelu");
    cr_assert_str_eq(sb_op_owner(g), "gelu");
    cr_assert_null(sb_op_owner(SB_OP_ADD));
    cr_assert(sb_op_get(g)->flags & SB_F_DIFF);
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){8});
    sb_input(ctx, "x", &t);
    sb_node *fused = P("gelu(x)"), *plain = P("0.5 * x * (1 + erf(x / sqrt(2)))");
    cr_assert_eq(sb_node_op(fused), g);
    cr_assert(sb_type_eq(sb_node_type(fused), &t)); /* float32 stays float32 */
    char *s = sb_print_expr(fused);
    cr_assert_str_eq(s, "gelu(x)");
    free(s);
    sb_array *xv = vec(XS, 8), *xf = sb_array_cast(xv, SB_DTYPE_F32);
    sb_array *a = eval1(fused, xf), *b = eval1(plain, xf);
    assert_close(a, b, 1e-12);
    sb_array_free(a);
    /* native float32 (the plugin's fast kernel) */
    sb_binding bind = {"x", xf};
    sb_diag d = {0};
    cr_assert_eq(sb_eval(ctx, 1, &fused, 1, &bind, false, &a, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(a->dtype, SB_DTYPE_F32);
    assert_close(a, b, 1e-6);
    sb_array_free(a);
    sb_array_free(b);
    sb_array_free(xv);
    sb_array_free(xf);
}

Test(plugins, plugin_ops_type_errors_and_graph_json_round_trip)
{
    load(GELU);
    sb_diag d = {0};
    sb_type t = sb_type_make(SB_DTYPE_F64, 1, (int64_t[]){3});
    sb_input(ctx, "x", &t);
    cr_assert_null(sb_parse_expr(ctx, "gelu(x, x)", NULL, NULL, &d));
    cr_assert(strstr(d.msg, "gelu takes 1"), "%s", d.msg);
    sb_graph *g = sb_graph_new(ctx);
    sb_graph_add(g, SB_ROLE_INPUT, "x", P("x"));
    sb_graph_add(g, SB_ROLE_OUTPUT, "y", P("swish(gelu(x)) * 2"));
    char *json = sb_graph_save_json(g);
    cr_assert(strstr(json, "\"gelu\"") && strstr(json, "\"swish\""), "%s", json);
    sb_ctx *c2 = sb_ctx_init();
    sb_graph *g2 = sb_graph_load_json(c2, json, "saved.json", &d);
    cr_assert(g2, "%s", d.msg);
    char *s = sb_print_expr(sb_graph_node(g2, SB_ROLE_OUTPUT, 0));
    cr_assert_str_eq(s, "swish(gelu(x)) * 2");
    free(s);
    free(json);
    sb_graph_free(g2);
    sb_ctx_free(c2);
    sb_graph_free(g);
}

Test(plugins, cost_function_prices_the_fused_ops)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){100});
    const sb_type *in[1] = {&t};
    double before = sb_rw_op_cost(SB_OP_EXP, NULL, &t, 1, in);
    load(GELU);
    cr_assert_eq(sb_rw_op_cost(SB_OP_EXP, NULL, &t, 1, in), before); /* others unchanged */
    sb_op g = sb_op_from_name("gelu");
    double c = sb_rw_op_cost(g, NULL, &t, 1, in);
    cr_assert(c > 10 * 100 && c < 20 * 100 + 300, "%g", c); /* 10 flops per element + moves */
}

/* ---- gradients ------------------------------------------------------------------------------ */
Test(plugins, gelu_and_swish_gradients_pass_verify_grad_and_rop)
{
    load(GELU);
    sb_type t = sb_type_make(SB_DTYPE_F64, 1, (int64_t[]){8});
    sb_node *x = sb_input(ctx, "x", &t);
    sb_array *xv = vec(XS, 8);
    sb_binding b = {"x", xv};
    const char *costs[] = {"sum(gelu(x))", "sum(swish(x) * gelu(x))", "mean(gelu(swish(x)) ** 2)"};
    for (int i = 0; i < 3; i++) {
        sb_diag d = {0};
        double err = -1;
        cr_assert_eq(sb_verify_grad(ctx, P(costs[i]), 1, &x, 1, &b, NULL, &err, NULL, &d), SB_OK,
                     "%s: %s", costs[i], d.msg);
        cr_assert(err >= 0 && err < 1e-4, "%s: %g", costs[i], err);
    }
    /* R-op: J v for gelu equals the gradient of sum(gelu(x) * v) (elementwise: diag J). */
    sb_node *v = sb_input(ctx, "v", &t), *dy = NULL, *gx = NULL, *f = P("gelu(x)");
    sb_diag d = {0};
    cr_assert_eq(sb_rop(ctx, f, 1, &x, &v, &dy, &d), SB_OK, "%s", d.msg);
    cr_assert_eq(sb_grad(ctx, P("sum(gelu(x) * v)"), 1, &x, NULL, &gx, &d), SB_OK, "%s", d.msg);
    sb_array *vv = vec((double[]){1, 2, 3, 4, 5, 6, 7, 8}, 8), *r[2] = {0};
    sb_binding bs[2] = {{"x", xv}, {"v", vv}};
    sb_node *outs[2] = {dy, gx};
    cr_assert_eq(sb_eval(ctx, 2, outs, 2, bs, true, r, &d), SB_OK, "%s", d.msg);
    assert_close(r[0], r[1], 1e-12);
    /* and a finite difference of gelu at x = 1: Phi(1) + phi(1) */
    double want = 0.5 * (1 + erf(1 / sqrt(2.0))) + exp(-0.5) / sqrt(2 * M_PI);
    cr_assert(fabs(sb_array_get_f64(r[1], 5) / 6 - want) < 1e-12);
    for (int i = 0; i < 2; i++) sb_array_free(r[i]);
    sb_array_free(vv);
    sb_array_free(xv);
}

/* ---- rules through the optimizer ------------------------------------------------------------ */
/* Optimize text with rule sets names[0..n); returns the printed result; trace into *tr. */
static char *optimize(const char *text, const char *const *names, int n, char **tr)
{
    sb_diag d = {0};
    sb_ruleset **sets = NULL;
    cr_assert_eq(sb_rw_rulesets_load(names, n, NULL, &sets, &d), n, "%s", d.msg);
    size_t len = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, &len);
    sb_rw_opt_cfg cfg = sb_rw_opt_cfg_default();
    cfg.sets = sets;
    cfg.nsets = n;
    cfg.run.trace = f;
    sb_node *root = P(text), *out = NULL;
    cr_assert_eq(sb_rw_optimize(ctx, 1, &root, &cfg, &out, NULL, &d), SB_OK, "%s", d.msg);
    fclose(f);
    sb_rw_rulesets_free(sets, n);
    if (tr) *tr = buf;
    else free(buf);
    return sb_print_expr(out);
}

Test(plugins, recognition_rules_fuse_gelu_and_swish_with_plugin_origin)
{
    load(GELU);
    sb_type t = sb_type_make(SB_DTYPE_F32, 2, (int64_t[]){-1, 16});
    sb_input(ctx, "x", &t);
    const char *names[] = {"gelu"};
    char *tr = NULL;
    char *s = optimize("0.5 * x * (1 + erf(x / sqrt(2))) + x * sigmoid(x)", names, 1, &tr);
    cr_assert_str_eq(s, "gelu(x) + swish(x)");
    cr_assert(strstr(tr, "\"rule\":\"gelu-fuse\",\"origin\":\"plugin:gelu\""), "%s", tr);
    cr_assert(strstr(tr, "\"rule\":\"swish-fuse\",\"origin\":\"plugin:gelu\""), "%s", tr);
    free(s);
    free(tr);
    /* the ruleset is first-class: its rules are linked to the plugin */
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_load("gelu", NULL, &d);
    cr_assert(rs, "%s", d.msg);
    cr_assert_eq(rs->nrules, 3);
    cr_assert_str_eq(rs->rules[0].file, "plugin:gelu");
    cr_assert(rs->rules[0].plugin);
    sb_rw_ruleset_free(rs);
}

Test(plugins, c_condition_and_applier_decide_the_power_chains)
{
    load(POWCHAIN);
    sb_type t = sb_type_make(SB_DTYPE_F64, 1, (int64_t[]){8});
    sb_input(ctx, "x", &t);
    const char *names[] = {"powchain"};
    char *tr = NULL;
    char *s = optimize("x ** 3", names, 1, &tr);
    cr_assert_str_eq(s, "x * x * x");
    cr_assert(strstr(tr, "\"origin\":\"plugin:powchain\""), "%s", tr);
    free(tr);
    free(s);
    s = optimize("x ** 4", names, 1, NULL);
    cr_assert_str_eq(s, "x * x * (x * x)");
    free(s);
    /* x ** -4 is rewritten (the chain joins its e-class) though extraction keeps the pow */
    s = optimize("x ** -4", names, 1, &tr);
    cr_assert(strstr(tr, "\"rule\":\"pow-int-chain\""), "%s", tr);
    free(tr);
    free(s);
    /* outside the condition's range / not an integer: the rule does not fire */
    const char *kept[] = {"x ** 9", "x ** 2.5", "x ** x", "x ** -9"};
    for (int i = 0; i < 4; i++) {
        s = optimize(kept[i], names, 1, &tr);
        cr_assert_str_eq(s, kept[i]);
        cr_assert_null(strstr(tr, "\"rule\":\"pow-int-chain\""), "%s: %s", kept[i], tr);
        free(tr);
        free(s);
    }
    /* the fact small_even(?c) guards sqrt(x ** c) -> abs(x) ** (c / 2) */
    s = optimize("sqrt(x ** 6)", names, 1, NULL);
    cr_assert_str_eq(s, "abs(x) * abs(x) * abs(x)");
    free(s);
    s = optimize("sqrt(x ** 18)", names, 1, NULL);
    cr_assert_str_eq(s, "sqrt(x ** 18)");
    free(s);
    /* values: the rewritten forms equal the originals */
    sb_array *xv = vec(XS, 8);
    const char *pairs[][2] = {{"x ** 3", "x * x * x"}, {"x ** -4", "1.0 / (x * x * (x * x))"},
                              {"sqrt(x ** 6)", "abs(x) * abs(x) * abs(x)"}};
    for (int i = 0; i < 3; i++) {
        sb_array *a = eval1(P(pairs[i][0]), xv), *b = eval1(P(pairs[i][1]), xv);
        assert_close(a, b, 1e-9);
        sb_array_free(a);
        sb_array_free(b);
    }
    sb_array_free(xv);
}

Test(plugins, the_soundness_checker_runs_c_conditions_and_appliers)
{
    load(GELU);
    load(POWCHAIN);
    sb_rw_check_opts o;
    sb_rw_check_opts_init(&o);
    o.trials = 15;
    const char *names[] = {"gelu", "powchain"};
    for (int i = 0; i < 2; i++) {
        sb_diag d = {0};
        sb_ruleset *rs = sb_rw_ruleset_load(names[i], NULL, &d);
        cr_assert(rs, "%s", d.msg);
        cr_assert_eq(sb_rw_check_ruleset(rs, &o, stderr), 0, "%s", names[i]);
        sb_rw_ruleset_free(rs);
    }
    /* without its C condition the chain rule is unsound (x ** c with a strong int64 c widens
     * float32 x): the checker sees the condition, so the plugin rule passes only through it */
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_load("powchain", NULL, &d);
    sb_rule *r = (sb_rule *)sb_rw_ruleset_find(rs, "sqrt-even-pow");
    cr_assert(r && r->plugin);
    r->plugin = NULL; /* drop the small_even fact: odd powers make it unsound */
    sb_rw_check_result res;
    cr_assert_eq(sb_rw_check_rule(r, &o, &res), SB_RW_UNSOUND);
    sb_rw_check_result_free(&res);
    sb_rw_ruleset_free(rs);
}

/* ---- passes and pipelines ------------------------------------------------------------------- */
static char logged[512];
static void capture(int level, const char *msg, void *user)
{
    (void)level, (void)user;
    snprintf(logged, sizeof logged, "%s", msg);
}

Test(plugins, plugin_pass_and_rules_run_in_a_pipeline)
{
    load(GELU);
    load(POWCHAIN);
    sb_type t = sb_type_make(SB_DTYPE_F64, 1, (int64_t[]){8});
    sb_input(ctx, "x", &t);
    sb_graph *g = sb_graph_new(ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "y", P("x * sigmoid(x) + x ** 2"));
    const char *passes = "[{\"pass\": \"pow_report\", \"level\": 1},"
                         " {\"pass\": \"saturate\", \"rules\": [\"gelu\", \"powchain\"]}]";
    sb_diag d = {0};
    sb_json *j = sb_json_parse(passes, "pipe.json", &d);
    cr_assert(j, "%s", d.msg);
    sb_log_set(capture, NULL);
    sb_pass_opts o = {.doc = j, .passes = sb_json_root(j)};
    cr_assert_eq(sb_rw_run_passes(g, &o, &d), SB_OK, "%s", d.msg);
    sb_log_set(NULL, NULL);
    cr_assert_str_eq(logged, "powchain: 1 pow node(s) in the outputs");
    char *s = sb_print_expr(sb_graph_node(g, SB_ROLE_OUTPUT, 0));
    cr_assert_str_eq(s, "swish(x) + x * x");
    free(s);
    sb_json_free(j);
    sb_graph_free(g);
}

/* Run a shell command; returns its exit status and its output (stdout + stderr) in out. */
static int sh(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t k = fread(out, 1, n - 1, p);
    out[k] = 0;
    return WEXITSTATUS(pclose(p));
}

Test(plugins, symbench_run_loads_the_pipelines_plugins)
{
    char dir[] = "/tmp/sb-plugins-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[1200], cmd[4096], out[8192];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    sb_array *xv = vec((double[]){-1, 0, 2}, 3);
    cr_assert_eq(sb_npy_save(path, xv, NULL), SB_OK);
    sb_array_free(xv);
    snprintf(path, sizeof path, "%s/pipe.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"plugins\": [\"%s\"],\n"
               " \"graph\": {\"inputs\": {\"x\": \"float64[3]\"},\n"
               "           \"outputs\": {\"y\": \"0.5 * x * (1 + erf(x / sqrt(2)))\"}},\n"
               " \"data\": {\"x\": \"x.npy\"},\n"
               " \"passes\": [{\"pass\": \"saturate\", \"rules\": [\"gelu\"]}],\n"
               " \"trace\": \"trace.jsonl\"}\n", GELU);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s run %s 2>&1", built("tools/symbench"), path);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "-0.1586552") && strstr(out, "1.954499"), "%s", out);
    snprintf(cmd, sizeof cmd, "cat %s/trace.jsonl", dir);
    sh(cmd, out, sizeof out);
    cr_assert(strstr(out, "\"origin\":\"plugin:gelu\""), "%s", out);
    /* a plugin that is not there: the error points at the entry */
    f = fopen(path, "w");
    fprintf(f, "{\"plugins\": [\"nowhere.so\"], \"graph\": {\"inputs\": {\"x\": \"float64\"},"
               " \"outputs\": {\"y\": \"x\"}}}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s run %s 2>&1", built("tools/symbench"), path);
    cr_assert_eq(sh(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "pipe.json:1:14: nowhere.so: plugin not found"), "%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd, out, sizeof out);
}

Test(plugins, a_pipeline_graph_uses_plugin_ops_in_run_and_viz)
{
    char dir[] = "/tmp/sb-plugins-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[1200], cmd[4096], out[8192];
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"plugins\": [\"%s\", \"%s\"],\n"
               " \"graph\": {\"inputs\": {\"x\": \"float64[4]\"},\n"
               "           \"outputs\": {\"y\": \"gelu(x) + swish(x) ** 2\"}},\n"
               " \"data\": {\"x\": {\"init\": \"full\", \"value\": 1.5}},\n"
               " \"passes\": [{\"pass\": \"pow_report\", \"level\": 1},\n"
               "            {\"pass\": \"saturate\", \"rules\": [\"powchain\"]}]}\n",
            GELU, POWCHAIN);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s run %s 2>&1", built("tools/symbench"), path);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    double g = 0.5 * 1.5 * (1 + erf(1.5 / sqrt(2.0))), s = 1.5 / (1 + exp(-1.5));
    char want[64];
    snprintf(want, sizeof want, "[%.7f", g + s * s);
    want[9] = 0; /* 7 significant digits, as printed */
    cr_assert(strstr(out, want), "%s (want %s)", out, want);
    cr_assert(strstr(out, "powchain: 1 pow node(s) in the outputs"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s viz %s 2>&1", built("tools/symbench"), path);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "digraph") && strstr(out, "gelu") && strstr(out, "swish"), "%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd, out, sizeof out);
}

Test(plugins, cli_plugin_option_and_plugins_info)
{
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s plugins info %s 2>&1", built("tools/symbench"), POWCHAIN);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "plugin powchain\n") && strstr(out, "  rule pow-int-chain\n") &&
              strstr(out, "  fact small_even\n") && strstr(out, "  pass pow_report\n"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s simplify --plugin %s --rules gelu --var x=float32[4] "
             "'x * sigmoid(x)' 2>&1", built("tools/symbench"), GELU);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(!strncmp(out, "swish(x)\n", 9), "%s", out);
    snprintf(cmd, sizeof cmd, "%s --plugin %s rules list 2>&1 | grep -v '^[a-z]*\t.*\t.*\t' ; "
             "%s --plugin %s rules list | grep '^gelu'", built("tools/symbench"), GELU,
             built("tools/symbench"), GELU);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "gelu\tswish-fuse\t?x * sigmoid(?x) -> swish(?x)"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s --plugin %s eval --var 'x=float64[2]=[0, 1]' 'swish(x)' 2>&1",
             built("tools/symbench"), GELU);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "[0, 0.7310585"), "%s", out);
}

/* ---- broken plugins --------------------------------------------------------------------------- */
Test(plugins, wrong_abi_version_is_an_error_naming_the_plugin)
{
    const char *m = load_fails(built("tests/plugins/badver.so"));
    cr_assert(strstr(m, "badver.so: badver: ABI version 7, this symbench expects 1"), "%s", m);
    cr_assert_eq(sb_plugin_count(), 0);
}

Test(plugins, duplicate_op_and_rule_names_are_errors_naming_both)
{
    load(GELU);
    const char *m = load_fails(built("tests/plugins/dupop.so"));
    cr_assert(strstr(m, "op 'gelu' is already registered (by gelu)"), "%s", m);
    m = load_fails(built("tests/plugins/duprule.so"));
    cr_assert(strstr(m, "rule 'swish-fuse' is already registered (by gelu)"), "%s", m);
    cr_assert_eq(sb_plugin_count(), 1);
    /* loading the same file again is a no-op */
    load(GELU);
    cr_assert_eq(sb_plugin_count(), 1);
}

Test(plugins, builtin_op_names_cannot_be_taken)
{
    load(GELU);
    const sb_host_api *h = NULL;
    sb_op_plugin_def(sb_op_from_name("gelu"), &h);
    cr_assert(h && h->abi_version == SB_PLUGIN_ABI_VERSION);
    sb_op_def def = *sb_op_plugin_def(sb_op_from_name("gelu"), NULL);
    def.name = "exp";
    sb_diag d = {0};
    cr_assert_eq(h->register_op(h, &def, NULL, &d), SB_ERR_PLUGIN);
    cr_assert(strstr(d.msg, "op 'exp' is already registered (by symbench, built in)"), "%s", d.msg);
}

Test(plugins, missing_file_missing_symbol_and_bad_rule)
{
    const char *m = load_fails("/nonexistent/plugin.so");
    cr_assert(strstr(m, "/nonexistent/plugin.so: plugin not found"), "%s", m);
    m = load_fails(built("tests/plugins/nosym.so"));
    cr_assert(strstr(m, "nosym.so: not a symbench plugin: no 'sb_plugin_init' symbol"), "%s", m);
    m = load_fails(built("tests/plugins/badrule.so"));
    cr_assert(strstr(m, "plugin:badrule") && strstr(m, "?y"), "%s", m);
    cr_assert_eq(sb_plugin_count(), 0);
}
