/* test_runner.c: the saturation runner: each stop reason, limits respected within a small
 * overshoot, the backoff scheduler, per-iteration reports, and the AC stress test. */
#include <criterion/criterion.h>

#include "rw_test.h"

#include "rewrites/run.h"

TestSuite(runner, .init = rw_setup, .fini = rw_teardown, .timeout = 60);

static const char ac_rules[] =
    "{\"name\": \"ac\", \"rules\": ["
    "{\"name\": \"comm\", \"lhs\": \"?a + ?b\", \"rhs\": \"?b + ?a\"},"
    "{\"name\": \"assoc\", \"lhs\": \"(?a + ?b) + ?c\", \"rhs\": \"?a + (?b + ?c)\","
    " \"bidirectional\": true}]}";

/* x0 + x1 + ... + x{n-1}, each float32[4]. */
static sb_node *sum_of(int n)
{
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){4});
    sb_node *acc = NULL;
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        sb_node *x = sb_input(ctx, name, &t);
        acc = acc ? sb_apply2(ctx, SB_OP_ADD, acc, x, NULL) : x;
    }
    cr_assert(acc);
    return acc;
}

static sb_runner *run(sb_egraph *eg, sb_ruleset *rs, sb_run_opts o)
{
    const sb_rule *rules[32];
    for (int i = 0; i < rs->nrules; i++) rules[i] = &rs->rules[i];
    sb_runner *r = sb_rw_runner_new(eg, rules, rs->nrules, &o);
    sb_rw_runner_run(r);
    return r;
}

Test(runner, ac_stress_8_saturates_at_255_classes)
{
    sb_ruleset *rs = RS(ac_rules);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_add_term(eg, sum_of(8));
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = 100;
    o.node_limit = 1000000;
    o.time_limit = 30;
    o.backoff = false;
    sb_runner *r = run(eg, rs, o);
    cr_assert_eq(r->stop, SB_STOP_SATURATED, "stop: %s", sb_rw_stop_name(r->stop));
    cr_assert_eq(sb_eg_class_count(eg), 255, "2^8 - 1 non-empty sums: %u", sb_eg_class_count(eg));
    cr_assert(sb_eg_check(eg));
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(runner, ac_stress_8_with_backoff_also_saturates)
{
    sb_ruleset *rs = RS(ac_rules);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_add_term(eg, sum_of(8));
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = 200;
    o.node_limit = 1000000;
    o.time_limit = 30;
    o.match_limit = 200;
    sb_runner *r = run(eg, rs, o);
    cr_assert_eq(r->stop, SB_STOP_SATURATED, "stop: %s", sb_rw_stop_name(r->stop));
    cr_assert_eq(sb_eg_class_count(eg), 255);
    bool banned = false;
    for (int i = 0; i < r->nrw; i++) banned |= r->rw[i].times_banned > 0;
    cr_assert(banned, "a match limit of 200 bans the AC rules at least once");
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(runner, ac_stress_12_stops_at_node_limit)
{
    sb_ruleset *rs = RS(ac_rules);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_add_term(eg, sum_of(12));
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = 1000;
    o.node_limit = 20000;
    o.time_limit = 30;
    sb_runner *r = run(eg, rs, o);
    cr_assert_eq(r->stop, SB_STOP_NODE_LIMIT, "stop: %s", sb_rw_stop_name(r->stop));
    cr_assert_leq(sb_eg_enode_count(eg), 20000 + 8, "overshoot: %u", sb_eg_enode_count(eg));
    cr_assert(sb_eg_check(eg), "the e-graph is left consistent");
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(runner, iteration_limit)
{
    sb_ruleset *rs = RS(ac_rules);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_add_term(eg, sum_of(6));
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = 2;
    o.backoff = false;
    sb_runner *r = run(eg, rs, o);
    cr_assert_eq(r->stop, SB_STOP_ITER_LIMIT);
    cr_assert_eq(r->niters, 2);
    cr_assert_gt(r->iters[0].matches, 0);
    cr_assert_gt(r->iters[0].applied, 0);
    cr_assert_gt(r->iters[1].enodes, r->iters[0].enodes);
    cr_assert_geq(r->iters[0].search_s, 0);
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(runner, time_limit)
{
    sb_ruleset *rs = RS(ac_rules);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_add_term(eg, sum_of(14));
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = 1000;
    o.node_limit = 50000000;
    o.time_limit = 0.3;
    sb_runner *r = run(eg, rs, o);
    cr_assert_eq(r->stop, SB_STOP_TIME_LIMIT, "stop: %s", sb_rw_stop_name(r->stop));
    cr_assert_lt(r->seconds, 0.3 + 1.5, "overshoot: %.3f s", r->seconds);
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(runner, saturation_and_per_rule_counts)
{
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": ["
                        "{\"name\": \"mul-one\", \"lhs\": \"?x * 1\", \"rhs\": \"?x\"},"
                        "{\"name\": \"never\", \"lhs\": \"tanh(?x)\", \"rhs\": \"?x\"}]}");
    sb_type t = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){4});
    sb_node *x = sb_input(ctx, "x", &t);
    sb_diag d = {0};
    sb_node *e = sb_parse_expr(ctx, "exp(x * 1) * 1", NULL, NULL, &d);
    cr_assert(e, "%s", d.msg);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id root = sb_eg_add_term(eg, e);
    sb_runner *r = run(eg, rs, sb_run_opts_default());
    cr_assert_eq(r->stop, SB_STOP_SATURATED);
    cr_assert_eq(sb_eg_find(eg, root), sb_eg_find(eg, sb_eg_add_term(eg, sb_apply1(ctx, SB_OP_EXP, x, NULL))));
    cr_assert_eq(r->rw[0].applied, 2);
    cr_assert_eq(r->rw[1].matches, 0);
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(runner, ill_typed_rhs_is_skipped)
{
    /* The rhs drops the broadcast: x[3] + y[2,3] is [2,3] but ?x is [3]; never united. */
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": [{\"name\": \"bad\", \"lhs\": \"?x + ?y\","
                        " \"rhs\": \"?x\"}]}");
    sb_type t1 = sb_type_make(SB_DTYPE_F32, 1, (int64_t[]){3});
    sb_type t2 = sb_type_make(SB_DTYPE_F32, 2, (int64_t[]){2, 3});
    sb_node *x = sb_input(ctx, "x", &t1), *y = sb_input(ctx, "y", &t2);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id s = sb_eg_add_term(eg, sb_apply2(ctx, SB_OP_ADD, x, y, NULL));
    sb_runner *r = run(eg, rs, sb_run_opts_default());
    cr_assert_eq(r->stop, SB_STOP_SATURATED);
    cr_assert_neq(sb_eg_find(eg, s), sb_eg_find(eg, sb_eg_add_term(eg, x)));
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

static bool same_class(sb_egraph *eg, void *user)
{
    sb_id *ab = user;
    return sb_eg_find(eg, ab[0]) == sb_eg_find(eg, ab[1]);
}

Test(runner, goal_stops_early_and_report_names_the_reason)
{
    sb_ruleset *rs = RS(ac_rules);
    sb_egraph *eg = sb_eg_new(ctx);
    sb_node *s = sum_of(10);
    sb_id ab[2] = {sb_eg_add_term(eg, s), 0};
    /* x1 + x0 + x2 + ... : equal to the start after one commutation. */
    sb_diag d = {0};
    sb_node *g = sb_parse_expr(ctx, "x1 + x0 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9", NULL, NULL, &d);
    cr_assert(g, "%s", d.msg);
    ab[1] = sb_eg_add_term(eg, g);
    sb_run_opts o = sb_run_opts_default();
    o.goal = same_class;
    o.goal_user = ab;
    o.node_limit = 1000000;
    sb_runner *r = run(eg, rs, o);
    cr_assert_eq(r->stop, SB_STOP_GOAL, "stop: %s", sb_rw_stop_name(r->stop));
    cr_assert_eq(r->niters, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sb_rw_runner_report(r, f);
    fclose(f);
    cr_assert(strstr(buf, "stop: goal reached after 1 iterations"), "%s", buf);
    cr_assert(strstr(buf, "rule comm:"), "%s", buf);
    free(buf);
    sb_rw_runner_free(r);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}
