/* egraph_bench.c: the e-graph benchmark.
 *
 *   1. AC stress: x0 + ... + x7 with commutativity and associativity, to saturation (255 classes).
 *   2. AC stress: x0 + ... + x11 with the backoff scheduler, to a 100k e-node limit.
 *   3. The simplification cases of egg's tests/math.rs, in our syntax, with the shipped rule sets
 *      (each run until the goal is proven or a limit).
 * Prints one line per case: time, iterations, e-nodes, e-classes, stop reason.
 * Usage: egraph-bench [--quick]   (--quick: smaller limits, for CI) */
#include "rewrites/optimize.h"

#include <stdio.h>
#include <string.h>

static const char ac_rules[] =
    "{\"name\": \"ac\", \"rules\": ["
    "{\"name\": \"comm\", \"lhs\": \"?a + ?b\", \"rhs\": \"?b + ?a\"},"
    "{\"name\": \"assoc\", \"lhs\": \"(?a + ?b) + ?c\", \"rhs\": \"?a + (?b + ?c)\","
    " \"bidirectional\": true}]}";

/* egg's tests/math.rs rules (those the simplification cases use), in our syntax; egg's
 * is_not_zero guards become nonzero() conditions. */
static const char egg_math_rules[] =
    "{\"name\": \"egg-math\", \"rules\": ["
    "{\"name\": \"comm-add\", \"lhs\": \"?a + ?b\", \"rhs\": \"?b + ?a\"},"
    "{\"name\": \"comm-mul\", \"lhs\": \"?a * ?b\", \"rhs\": \"?b * ?a\"},"
    "{\"name\": \"assoc-add\", \"lhs\": \"?a + (?b + ?c)\", \"rhs\": \"(?a + ?b) + ?c\"},"
    "{\"name\": \"assoc-mul\", \"lhs\": \"?a * (?b * ?c)\", \"rhs\": \"(?a * ?b) * ?c\"},"
    "{\"name\": \"sub-canon\", \"lhs\": \"?a - ?b\", \"rhs\": \"?a + (-1 * ?b)\"},"
    "{\"name\": \"div-canon\", \"lhs\": \"?a / ?b\", \"rhs\": \"?a * (?b ** -1)\", \"when\": [\"nonzero(?b)\"]},"
    "{\"name\": \"zero-add\", \"lhs\": \"?a + 0\", \"rhs\": \"?a\"},"
    "{\"name\": \"zero-mul\", \"lhs\": \"?a * 0\", \"rhs\": \"0\"},"
    "{\"name\": \"one-mul\", \"lhs\": \"?a * 1\", \"rhs\": \"?a\", \"bidirectional\": true},"
    "{\"name\": \"add-zero\", \"lhs\": \"?a\", \"rhs\": \"?a + 0\"},"
    "{\"name\": \"cancel-sub\", \"lhs\": \"?a - ?a\", \"rhs\": \"0\"},"
    "{\"name\": \"cancel-div\", \"lhs\": \"?a / ?a\", \"rhs\": \"1\", \"when\": [\"nonzero(?a)\"]},"
    "{\"name\": \"distribute\", \"lhs\": \"?a * (?b + ?c)\", \"rhs\": \"?a * ?b + ?a * ?c\"},"
    "{\"name\": \"factor\", \"lhs\": \"?a * ?b + ?a * ?c\", \"rhs\": \"?a * (?b + ?c)\"},"
    "{\"name\": \"pow-mul\", \"lhs\": \"?a ** ?b * ?a ** ?c\", \"rhs\": \"?a ** (?b + ?c)\"},"
    "{\"name\": \"pow1\", \"lhs\": \"?x ** 1\", \"rhs\": \"?x\"},"
    "{\"name\": \"pow2\", \"lhs\": \"?x ** 2\", \"rhs\": \"?x * ?x\"},"
    "{\"name\": \"pow-recip\", \"lhs\": \"?x ** -1\", \"rhs\": \"1 / ?x\", \"when\": [\"nonzero(?x)\"]},"
    "{\"name\": \"recip-mul-div\", \"lhs\": \"?x * (1 / ?x)\", \"rhs\": \"1\", \"when\": [\"nonzero(?x)\"]}"
    "]}";

static void line(const char *name, const sb_runner *r, const char *extra)
{
    printf("%-28s %9.4f s %5d iters %8u e-nodes %8u e-classes  %-15s %s\n", name, r->seconds,
           r->niters, sb_eg_enode_count(r->eg), sb_eg_class_count(r->eg), sb_rw_stop_name(r->stop),
           extra ? extra : "");
}

static sb_node *sum_of(sb_ctx *ctx, int n)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){4});
    sb_node *acc = NULL;
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        sb_node *x = sb_input(ctx, name, &t);
        acc = acc ? sb_apply2(ctx, SB_OP_ADD, acc, x, NULL) : x;
    }
    return acc;
}

static void ac_case(int n, bool backoff, uint32_t node_limit, double time_limit)
{
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_parse(ac_rules, "<ac>", &d);
    sb_ctx *ctx = sb_ctx_init();
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_add_term(eg, sum_of(ctx, n));
    const sb_rule *rules[2] = {&rs->rules[0], &rs->rules[1]};
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = 1000;
    o.node_limit = node_limit;
    o.time_limit = time_limit;
    o.backoff = backoff;
    sb_runner *r = sb_rw_runner_new(eg, rules, 2, &o);
    sb_rw_runner_run(r);
    char name[64];
    snprintf(name, sizeof name, "ac-%d (%s)", n, backoff ? "backoff" : "simple");
    line(name, r, NULL);
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_ctx_free(ctx);
    sb_rw_ruleset_free(rs);
}

/* egg's tests/math.rs simplification cases (start, goal), and one of ours marked extra_. */
static const struct {
    const char *name, *start, *goal;
} math_cases[] = {
    {"math_associate_adds", "1 + (2 + (3 + (4 + (5 + (6 + 7)))))", "7 + (6 + (5 + (4 + (3 + (2 + 1)))))"},
    {"math_simplify_add", "x + (x + (x + x))", "4 * x"},
    {"math_powers", "2 ** x * 2 ** y", "2 ** (x + y)"},
    {"math_simplify_const", "1 + (a - (2 - 1) * a)", "1"},
    {"math_simplify_root", "1 / ((1 + sqrt(five)) / 2 - (1 - sqrt(five)) / 2)", "1 / sqrt(five)"},
    {"math_simplify_factor", "(x + 3) * (x + 1)", "x * x + 4 * x + 3"},
    {"extra_simplify_sub", "(x - y) + y", "x"}, /* not in egg's file */
};

typedef struct goal {
    sb_id a, b;
} goal;

static bool proven(sb_egraph *eg, void *user)
{
    goal *g = user;
    return sb_eg_find(eg, g->a) == sb_eg_find(eg, g->b);
}

static void math_case(int k, sb_ruleset *const *sets, int nsets, bool quick)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_type t = sb_type_scalar(SB_DTYPE_F64);
    const char *names[] = {"x", "y", "a", "five"};
    for (int i = 0; i < 4; i++) sb_input(ctx, names[i], &t);
    sb_diag d = {0};
    sb_node *s = sb_parse_expr(ctx, math_cases[k].start, NULL, NULL, &d);
    sb_node *e = s ? sb_parse_expr(ctx, math_cases[k].goal, NULL, NULL, &d) : NULL;
    if (!e) {
        printf("%-28s parse error: %s\n", math_cases[k].name, d.msg);
        sb_ctx_free(ctx);
        return;
    }
    sb_egraph *eg = sb_eg_new(ctx);
    goal g = {sb_eg_add_term(eg, s), sb_eg_add_term(eg, e)};
    int nrules = 0;
    const sb_rule **rules = sb_rw_rules_of(sets, nsets, &nrules);
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = quick ? 10 : 30;
    o.node_limit = quick ? 10000 : 100000;
    o.time_limit = quick ? 2 : 10;
    o.goal = proven;
    o.goal_user = &g;
    sb_runner *r = sb_rw_runner_new(eg, rules, nrules, &o);
    sb_rw_runner_run(r);
    line(math_cases[k].name, r, proven(eg, &g) ? "proven" : "NOT proven");
    sb_rw_runner_free(r);
    free(rules);
    sb_eg_free(eg);
    sb_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    printf("%-28s %10s %11s %16s %18s  %s\n", "case", "time", "iterations", "e-nodes", "e-classes", "stop");
    ac_case(8, false, 1000000, 60);
    ac_case(12, true, quick ? 20000 : 100000, 60);
    sb_diag d = {0};
    sb_ruleset *egg = sb_rw_ruleset_parse(egg_math_rules, "<egg-math>", &d);
    if (!egg) {
        fprintf(stderr, "egraph-bench: ");
        sb_diag_print(&d, stderr);
        return 1;
    }
    printf("-- egg's math cases with egg's math rules\n");
    for (size_t k = 0; k < sizeof math_cases / sizeof *math_cases; k++) math_case((int)k, &egg, 1, quick);
    sb_rw_ruleset_free(egg);
    sb_ruleset **sets = NULL;
    const char *names[] = {"algebra"};
    int nsets = sb_rw_rulesets_load(names, 1, NULL, &sets, &d);
    if (nsets < 0) {
        fprintf(stderr, "egraph-bench: ");
        sb_diag_print(&d, stderr);
        return 1;
    }
    printf("-- egg's math cases with the shipped algebra set\n");
    for (size_t k = 0; k < sizeof math_cases / sizeof *math_cases; k++) math_case((int)k, sets, nsets, quick);
    sb_rw_rulesets_free(sets, nsets);
    return 0;
}
