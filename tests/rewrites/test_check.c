/* test_check.c: the random soundness checker (rewrites/check.c). Every shipped rule passes; a
 * fixture of deliberately unsound rules is caught, each rule with its origin file:line:col. */
#include <criterion/criterion.h>

#include "rewrites/check.h"
#include "rewrites/passes.h"
#include "rewrites/rule.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *fixture(const char *name)
{
    const char *root = getenv("SB_SOURCE_ROOT");
    size_t n = strlen(root ? root : ".") + strlen(name) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/tests/rewrites/fixtures/%s", root ? root : ".", name);
    return p;
}

static sb_ruleset *load(const char *name_or_path)
{
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_load(name_or_path, NULL, &d);
    cr_assert_not_null(rs, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    return rs;
}

/* Check a whole set; return the failures and what was printed (malloc'd). */
static int check_set(const sb_ruleset *rs, char **printed)
{
    size_t len = 0;
    FILE *f = open_memstream(printed, &len);
    sb_rw_check_opts o;
    sb_rw_check_opts_init(&o);
    int bad = sb_rw_check_ruleset(rs, &o, f);
    fclose(f);
    return bad;
}

static void shipped_set_is_sound(const char *set)
{
    sb_ruleset *rs = load(set);
    char *out = NULL;
    int bad = check_set(rs, &out);
    cr_expect_eq(bad, 0, "%d unsound or uncheckable rules in %s:\n%s", bad, set, out);
    free(out);
    sb_rw_ruleset_free(rs);
}

Test(check, algebra_is_sound) { shipped_set_is_sound("algebra"); }
Test(check, stability_is_sound) { shipped_set_is_sound("stability"); }
Test(check, specialize_is_sound) { shipped_set_is_sound("specialize"); }
Test(check, shapes_is_sound) { shipped_set_is_sound("shapes"); }
Test(check, linalg_is_sound) { shipped_set_is_sound("linalg"); }
Test(check, reductions_is_sound) { shipped_set_is_sound("reductions"); }

/* Every wrong rule of the fixture is unsound, with a counterexample; the sound one is not. */
Test(check, unsound_fixture_is_caught)
{
    char *path = fixture("unsound.json");
    sb_ruleset *rs = load(path);
    static const char *wrong[] = {"div-self-any", "log-mul-any", "add-zeros-broadcast",
                                  "transpose-add-any-rank", "div-self-int", "sum-add-broadcast",
                                  "lossy-in-float32"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        const sb_rule *r = sb_rw_ruleset_find(rs, wrong[i]);
        cr_assert_not_null(r, "%s", wrong[i]);
        sb_rw_check_result res;
        cr_expect_eq(sb_rw_check_rule(r, NULL, &res), SB_RW_UNSOUND, "%s not caught", wrong[i]);
        cr_expect_not_null(res.why, "%s: no counterexample", wrong[i]);
        if (res.why) cr_expect(strstr(res.why, " with ?x: ") != NULL, "%s: %s", wrong[i], res.why);
        sb_rw_check_result_free(&res);
    }
    sb_rw_check_result res;
    cr_expect_eq(sb_rw_check_rule(sb_rw_ruleset_find(rs, "exp-log-sound"), NULL, &res),
                 SB_RW_SOUND, "%s", res.why ? res.why : "");
    cr_expect_gt(res.checked, 0);
    sb_rw_check_result_free(&res);
    sb_rw_ruleset_free(rs);
    free(path);
}

/* The report names each wrong rule at its origin: file:line:col of its object in the JSON. */
Test(check, report_gives_origin)
{
    char *path = fixture("unsound.json");
    sb_ruleset *rs = load(path);
    char *out = NULL;
    cr_expect_eq(check_set(rs, &out), 7, "%s", out);
    const char *expect[] = {"unsound.json:4:3: rule 'div-self-any' of set 'unsound' is unsound: ",
                            "unsound.json:5:3: rule 'log-mul-any'",
                            "unsound.json:6:3: rule 'add-zeros-broadcast'",
                            "unsound.json:7:3: rule 'transpose-add-any-rank'",
                            "unsound.json:8:3: rule 'div-self-int'",
                            "unsound.json:9:3: rule 'sum-add-broadcast' of set 'unsound' is unsound: values differ",
                            "unsound.json:10:3: rule 'lossy-in-float32' of set 'unsound' is unsound: "
                            "values differ in the operands' own dtypes"};
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++)
        cr_expect(strstr(out, expect[i]) != NULL, "missing \"%s\" in:\n%s", expect[i], out);
    cr_expect(strstr(out, "exp-log-sound") == NULL, "%s", out);
    cr_expect(strstr(out, "types differ") != NULL, "the broadcast/int rules differ in type:\n%s", out);
    cr_expect(strstr(out, "values differ") != NULL, "%s", out);
    free(out);
    sb_rw_ruleset_free(rs);
    free(path);
}

/* A sound fixture passes in both directions, and the same seed gives the same verdicts. */
Test(check, sound_fixture_passes_both_directions)
{
    char *path = fixture("sound.json");
    sb_ruleset *rs = load(path);
    char *out = NULL;
    cr_expect_eq(check_set(rs, &out), 0, "%s", out);
    free(out);
    sb_rw_check_result res;
    sb_rw_check_opts o;
    sb_rw_check_opts_init(&o);
    cr_expect_eq(sb_rw_check_rule(sb_rw_ruleset_find(rs, "log-mul"), &o, &res), SB_RW_SOUND);
    cr_expect_eq(res.checked, 2 * o.trials, "both directions, %d trials each", o.trials);
    sb_rw_check_result_free(&res);
    sb_rw_ruleset_free(rs);
    free(path);
}

/* A rule whose lhs can never be well-typed is reported as uncheckable, not as sound. */
Test(check, uncheckable_rule)
{
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_parse(
        "{\"name\": \"odd\", \"rules\": [{\"name\": \"never\", \"lhs\": \"?x @ ?y\", \"rhs\": "
        "\"?y @ ?x\", \"when\": [\"ndim(?x, 0)\", \"ndim(?y, 0)\"]}]}",
        "odd.json", &d);
    cr_assert_not_null(rs, "%s", d.msg);
    sb_rw_check_result res;
    sb_rw_check_opts o;
    sb_rw_check_opts_init(&o);
    o.attempts = 50;
    cr_expect_eq(sb_rw_check_rule(&rs->rules[0], &o, &res), SB_RW_UNCHECKED);
    cr_expect_not_null(res.why);
    sb_rw_check_result_free(&res);
    sb_rw_ruleset_free(rs);
}

/* Run the symbench program (when it is built) with args; returns its exit status and fills out
 * (malloc'd) with its standard output and error. -1 when the program is not there. */
static int run_symbench(const char *args, char **out)
{
    const char *build = getenv("SB_BUILD_ROOT");
    char exe[1024], cmd[4096];
    snprintf(exe, sizeof exe, "%s/tools/symbench", build ? build : "build");
    if (access(exe, X_OK) != 0) return -1;
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", exe, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = 0, cap = 4096;
    *out = malloc(cap);
    size_t got;
    while ((got = fread(*out + len, 1, cap - len - 1, p)) > 0)
        if ((len += got) + 1 >= cap) *out = realloc(*out, cap *= 2);
    (*out)[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* `symbench rules list` and `symbench rules check` through the command line. */
Test(check, command_line)
{
    char *out = NULL, *path = fixture("unsound.json");
    char args[2048];
    if (run_symbench("rules --help", &out) < 0) cr_skip_test("symbench is not built");
    cr_expect(strstr(out, "usage: symbench rules list") != NULL, "%s", out);
    free(out);
    cr_expect_eq(run_symbench("rules list algebra", &out), 0, "%s", out);
    cr_expect(strstr(out, "algebra\tdiv-self\t?x / ?x -> ones_like(?x)\tif float(?x), nonzero(?x)\t") != NULL,
              "%s", out);
    cr_expect(strstr(out, "algebra\texp-add\texp(?x + ?y) <-> exp(?x) * exp(?y)") != NULL, "%s", out);
    free(out);
    snprintf(args, sizeof args, "rules check --trials 10 '%s'", path);
    cr_expect_eq(run_symbench(args, &out), 1, "%s", out);
    cr_expect(strstr(out, "unsound.json:4:3: rule 'div-self-any' of set 'unsound' is unsound") != NULL,
              "%s", out);
    cr_expect(strstr(out, "8 rules checked in 1 set: 1 sound, 7 failing") != NULL, "%s", out);
    free(out);
    cr_expect_eq(run_symbench("rules check --trials 5 linalg", &out), 0, "%s", out);
    free(out);
    cr_expect_eq(run_symbench("rules check no-such-set", &out), 1, "%s", out);
    cr_expect(strstr(out, "no-such-set") != NULL, "%s", out);
    free(out);
    cr_expect_eq(run_symbench("rules frobnicate", &out), 2, "%s", out);
    free(out);
    free(path);
}

/* Expect equal results up to the rounding of dt (float32 or float64). */
static void tolerance_check(const sb_array *a, const sb_array *b, const char *what, sb_dtype dt)
{
    double rtol = dt == SB_DTYPE_F32 ? 1e-4 : 1e-9, scale = 0;
    cr_assert_eq(sb_array_numel(a), sb_array_numel(b), "%s: sizes differ", what);
    for (int64_t k = 0; k < sb_array_numel(a); k++) scale = fmax(scale, fabs(sb_array_get_f64(a, k)));
    for (int64_t k = 0; k < sb_array_numel(a); k++) {
        double x = sb_array_get_f64(a, k), y = sb_array_get_f64(b, k);
        cr_expect(fabs(x - y) <= rtol * (1 + scale), "%s: [%lld] %.17g before, %.17g after", what,
                  (long long)k, x, y);
    }
}

/* End to end: graphs optimized by the saturate pass with every shipped set evaluate to the same
 * values as before (the rules as the optimizer really applies them, with extraction). */
Test(check, optimized_graphs_evaluate_the_same)
{
    static const char *exprs[] = {
        "mean(-log(sigmoid(x @ w + c))) + sum(log(1 + exp(x @ w)))",
        "log(sum(exp(x), axis=1)) - max(-x, axis=1) * 1 + sum(x.T.T * 2, axis=0)[0]",
        "exp(x) / sum(exp(x), axis=1, keepdims=True) + log(softmax(x)) ** 2",
        "sum(outer(w, w).T @ w) + sqrt(sqr(c)) / exp(c) ** 0.5",
        "(x @ w) * (x @ w) - x @ w ** 2 + 1 / (1 + exp(-(x @ w)))",
        "sum(x * 3, axis=0) / 3 - sum(x, axis=0) + log(exp(x) * exp(2 * x))[1]",
        "(A @ B) @ C + (A @ B).T.T @ C * 0 - C[0] * zeros_like(C[0])",
        "tanh(f) * 1 + 0 - (f - f) + where(~(f > 0), 0 * f, f) ** 2",
        "sum(sum(f, axis=1)) + mean(f * 2.0) + max(exp(f)) - (f + -f)[0, 0]",
    };
    static const struct { const char *name, *type; } vars[] = {
        {"x", "float64[4, 3]"}, {"w", "float64[3]"}, {"c", "float64"}, {"f", "float32[5, 2]"},
        {"A", "float64[2, 6]"}, {"B", "float64[6, 3]"}, {"C", "float64[3, 3]"}};
    const int nv = (int)(sizeof vars / sizeof *vars), ne = (int)(sizeof exprs / sizeof *exprs);
    sb_ctx *ctx = sb_ctx_init();
    sb_graph *g = sb_graph_new(ctx);
    sb_binding binds[8];
    sb_array *vals[8];
    for (int i = 0; i < nv; i++) {
        sb_type t;
        sb_diag d = {0};
        cr_assert_eq(sb_type_parse(vars[i].type, &t, &d), SB_OK);
        sb_graph_add(g, SB_ROLE_INPUT, vars[i].name, sb_input(ctx, vars[i].name, &t));
        vals[i] = sb_array_new(t.dtype, t.ndim, t.dims);
        for (int64_t k = 0; k < sb_array_numel(vals[i]); k++)
            sb_array_set_f64(vals[i], k, 0.37 * (double)((k * 7 + i * 3) % 11) - 1.6);
        binds[i] = (sb_binding){vars[i].name, vals[i]};
    }
    sb_node *before[16];
    for (int e = 0; e < ne; e++) {
        sb_diag d = {0};
        before[e] = sb_parse_expr(ctx, exprs[e], NULL, NULL, &d);
        cr_assert_not_null(before[e], "%s: %s", exprs[e], d.msg);
        char name[16];
        snprintf(name, sizeof name, "o%d", e);
        sb_graph_add(g, SB_ROLE_OUTPUT, name, before[e]);
    }
    cJSON *passes = cJSON_Parse("[{\"pass\": \"saturate\", \"rules\": [\"algebra\", \"stability\", "
                                "\"specialize\", \"shapes\", \"linalg\", \"reductions\"]}]");
    sb_pass_opts po = {.passes = passes};
    sb_diag d = {0};
    cr_assert_eq(sb_rw_run_passes(g, &po, &d), SB_OK, "%s", d.msg);
    int changed = 0;
    for (int e = 0; e < ne; e++) {
        sb_node *outs[2] = {before[e], sb_graph_node(g, SB_ROLE_OUTPUT, e)};
        changed += outs[0] != outs[1];
        sb_array *res[2] = {NULL, NULL};
        cr_assert_eq(sb_eval(ctx, 2, outs, nv, binds, false, res, &d), SB_OK, "%s", d.msg);
        tolerance_check(res[0], res[1], exprs[e], sb_node_type(outs[0])->dtype);
        sb_array_free(res[0]);
        sb_array_free(res[1]);
    }
    cr_expect_geq(changed, ne - 1, "the optimizer changed only %d of %d graphs", changed, ne);
    cJSON_Delete(passes);
    for (int i = 0; i < nv; i++) sb_array_free(vals[i]);
    sb_graph_free(g);
    sb_ctx_free(ctx);
}
