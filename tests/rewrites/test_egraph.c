/* test_egraph.c: the e-graph (hashcons, union, rebuild), analyses, patterns and conditions,
 * explanations, and the rule loader's errors. Rule sets are written inline. */
#include <criterion/criterion.h>

#include "rw_test.h"

#include "rewrites/egraph.h"
#include "rewrites/pattern.h"
#include "rewrites/run.h"

TestSuite(egraph, .init = rw_setup, .fini = rw_teardown);

/* Saturate eg with rs (simple limits); returns the stop reason. */
static sb_stop saturate(sb_egraph *eg, sb_ruleset *rs, int iters)
{
    int n = 0;
    const sb_rule *rules[64];
    for (int i = 0; i < rs->nrules; i++) rules[n++] = &rs->rules[i];
    sb_run_opts o = sb_run_opts_default();
    o.iter_limit = iters;
    sb_runner *r = sb_rw_runner_new(eg, rules, n, &o);
    sb_stop s = sb_rw_runner_run(r);
    sb_rw_runner_free(r);
    return s;
}

/* ---- hashcons, union, rebuild ------------------------------------------------------------ */
Test(egraph, hashcons_shares_equal_terms)
{
    var("x", "float32[3]");
    var("y", "float32[3]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id a = sb_eg_add_term(eg, P("(x + y) * (x + y)"));
    sb_id b = sb_eg_add_term(eg, P("x + y"));
    cr_assert_eq(sb_eg_enode_count(eg), 4); /* x, y, x+y, mul */
    cr_assert_eq(sb_eg_class_count(eg), 4);
    cr_assert_neq(sb_eg_find(eg, a), sb_eg_find(eg, b));
    cr_assert_eq(sb_eg_add_term(eg, P("x + y")), b);
    cr_assert(sb_eg_check(eg));
    sb_eg_free(eg);
}

Test(egraph, rebuild_restores_congruence)
{
    var("a", "float32[3]");
    var("b", "float32[3]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id fa = sb_eg_add_term(eg, P("exp(a)")), fb = sb_eg_add_term(eg, P("exp(b)"));
    sb_id ga = sb_eg_add_term(eg, P("tanh(exp(a))")), gb = sb_eg_add_term(eg, P("tanh(exp(b))"));
    cr_assert_neq(sb_eg_find(eg, fa), sb_eg_find(eg, fb));
    cr_assert(sb_eg_union(eg, sb_eg_add_term(eg, P("a")), sb_eg_add_term(eg, P("b")),
                          (sb_just){.rule = "test"}));
    cr_assert_not(eg->clean);
    int unions = sb_eg_rebuild(eg);
    cr_assert_eq(unions, 2, "exp and tanh become congruent: %d", unions);
    cr_assert_eq(sb_eg_find(eg, fa), sb_eg_find(eg, fb));
    cr_assert_eq(sb_eg_find(eg, ga), sb_eg_find(eg, gb));
    cr_assert_eq(sb_eg_class_count(eg), 3);
    cr_assert_eq(sb_eg_enode_count(eg), 4); /* a, b, exp(a), tanh(..): duplicates dropped */
    cr_assert(sb_eg_check(eg));
    sb_eg_free(eg);
}

Test(egraph, union_is_idempotent)
{
    var("x", "float32[3]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id a = sb_eg_add_term(eg, P("x * 1")), b = sb_eg_add_term(eg, P("x"));
    cr_assert(sb_eg_union(eg, a, b, (sb_just){.rule = "t"}));
    cr_assert_not(sb_eg_union(eg, b, a, (sb_just){.rule = "t"}));
    sb_eg_rebuild(eg);
    cr_assert(sb_eg_check(eg));
    sb_eg_free(eg);
}

/* ---- analyses ---------------------------------------------------------------------------- */
Test(egraph, analysis_types_and_folding)
{
    var("x", "float32[?, 4]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id s = sb_eg_add_term(eg, P("sum(x, axis=1)"));
    const sb_type *t = &sb_eg_class(eg, s)->type;
    cr_assert_eq(t->dtype, SB_DTYPE_F32);
    cr_assert_eq(t->ndim, 1);
    cr_assert_eq(t->dims[0], -1);
    sb_id c = sb_eg_add_term(eg, P("2 * 3 + 1"));
    sb_eg_rebuild(eg);
    double v = 0;
    cr_assert(sb_eg_const_scalar(eg, c, &v));
    cr_assert_float_eq(v, 7.0, 1e-12);
    /* The folded constant is a leaf of the class. */
    sb_id seven = sb_eg_add_term(eg, P("7"));
    cr_assert_eq(sb_eg_find(eg, seven), sb_eg_find(eg, c));
    sb_eg_free(eg);
}

Test(egraph, analysis_folding_can_be_off)
{
    sb_egraph *eg = sb_eg_new(ctx);
    eg->fold = false;
    sb_id c = sb_eg_add_term(eg, P("2 * 3"));
    double v;
    cr_assert_not(sb_eg_const_scalar(eg, c, &v));
    sb_eg_free(eg);
}

Test(egraph, analysis_facts)
{
    var("x", "float32[3]");
    var("i", "int32[3]");
    sb_egraph *eg = sb_eg_new(ctx);
    struct { const char *e; unsigned want, not; } cases[] = {
        {"exp(x)", SB_FACT_POS | SB_FACT_NONZERO | SB_FACT_NONNEG, 0},
        {"sqr(x)", SB_FACT_NONNEG, SB_FACT_POS},
        {"exp(x) + sqr(x)", SB_FACT_POS, 0},
        {"x", 0, SB_FACT_NONNEG | SB_FACT_NONZERO},
        {"i", SB_FACT_INTEGER, SB_FACT_NONNEG},
        {"floor(x)", SB_FACT_INTEGER, 0},
        {"abs(x) * exp(x)", SB_FACT_NONNEG, SB_FACT_POS},
        {"-exp(x)", SB_FACT_NONZERO, SB_FACT_NONNEG},
        {"3", SB_FACT_POS | SB_FACT_INTEGER, 0},
        {"0.5", SB_FACT_POS, SB_FACT_INTEGER},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        unsigned f = sb_eg_class(eg, sb_eg_add_term(eg, P(cases[k].e)))->facts;
        cr_assert_eq(f & cases[k].want, cases[k].want, "%s: facts %x", cases[k].e, f);
        cr_assert_eq(f & cases[k].not, 0, "%s: facts %x", cases[k].e, f);
    }
    sb_eg_free(eg);
}

Test(egraph, types_unify)
{
    sb_type a = sb_type_make(SB_DTYPE_F32, 2, (int64_t[]){-1, 4});
    sb_type b = sb_type_make(SB_DTYPE_F32, 2, (int64_t[]){3, 4});
    sb_type c = sb_type_make(SB_DTYPE_F64, 2, (int64_t[]){3, 4});
    sb_type w = sb_type_scalar(SB_DTYPE_I64), s = sb_type_scalar(SB_DTYPE_F32);
    w.weak = true;
    cr_assert(sb_eg_types_unify(&a, &b));
    cr_assert_not(sb_eg_types_unify(&b, &c));
    cr_assert_not(sb_eg_types_unify(&a, &s));
    cr_assert(sb_eg_types_unify(&w, &s));
}

/* ---- patterns and conditions ------------------------------------------------------------- */
typedef struct hits {
    int n;
    sb_id subst[8][SB_PAT_MAX_VARS];
} hits;

static bool record(const sb_id *subst, void *user)
{
    hits *h = user;
    if (h->n < 8) memcpy(h->subst[h->n], subst, sizeof(sb_id) * SB_PAT_MAX_VARS);
    h->n++;
    return true;
}

/* Matches of pattern text (a rule's lhs) at class c. */
static int matches_at(sb_egraph *eg, const char *lhs, sb_id c, hits *h)
{
    char json[512];
    snprintf(json, sizeof json, "{\"name\": \"t\", \"rules\": [{\"name\": \"r\", \"lhs\": \"%s\", "
                                "\"rhs\": \"%s\"}]}", lhs, lhs);
    sb_ruleset *rs = RS(json);
    sb_vars vars = {0};
    sb_pattern p;
    sb_program prog;
    cr_assert(sb_eg_pattern_compile(eg, rs->rules[0].lhs, &vars, true, &p));
    sb_eg_program_compile(&p, vars.n, &prog);
    memset(h, 0, sizeof *h);
    int n = sb_eg_program_run(eg, &prog, c, vars.n, record, h);
    sb_eg_program_free(&prog);
    sb_eg_pattern_free(&p);
    sb_rw_ruleset_free(rs);
    return n;
}

Test(egraph, pattern_repeated_variables)
{
    var("x", "float32[3]");
    var("y", "float32[3]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id xx = sb_eg_add_term(eg, P("x * x")), xy = sb_eg_add_term(eg, P("x * y"));
    hits h;
    cr_assert_eq(matches_at(eg, "?x * ?x", xx, &h), 1);
    cr_assert_eq(h.subst[0][0], sb_eg_find(eg, sb_eg_add_term(eg, P("x"))));
    cr_assert_eq(matches_at(eg, "?x * ?x", xy, &h), 0);
    cr_assert_eq(matches_at(eg, "?x * ?y", xy, &h), 1);
    cr_assert_eq(matches_at(eg, "?x + ?y", xy, &h), 0);
    sb_eg_free(eg);
}

Test(egraph, pattern_attrs_and_constants)
{
    var("x", "float32[3, 4]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id s1 = sb_eg_add_term(eg, P("sum(x, axis=1)")), s0 = sb_eg_add_term(eg, P("sum(x, axis=0)"));
    sb_id lg = sb_eg_add_term(eg, P("log(1 + x)")), l2 = sb_eg_add_term(eg, P("log(2 + x)"));
    hits h;
    cr_assert_eq(matches_at(eg, "sum(?x, axis=1)", s1, &h), 1);
    cr_assert_eq(matches_at(eg, "sum(?x, axis=1)", s0, &h), 0);
    cr_assert_eq(matches_at(eg, "log(1 + ?x)", lg, &h), 1);
    cr_assert_eq(matches_at(eg, "log(1 + ?x)", l2, &h), 0);
    sb_eg_free(eg);
}

Test(egraph, conditions_gate_rules)
{
    var("x", "float32[3]");
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": [{\"name\": \"div-self\", \"lhs\": \"?x / ?x\","
                        " \"rhs\": \"ones_like(?x)\", \"when\": [\"nonzero(?x)\"]}]}");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id plain = sb_eg_add_term(eg, P("x / x")), pos = sb_eg_add_term(eg, P("exp(x) / exp(x)"));
    sb_id one_plain = sb_eg_add_term(eg, P("ones_like(x)"));
    sb_id one_pos = sb_eg_add_term(eg, P("ones_like(exp(x))"));
    cr_assert_eq(saturate(eg, rs, 10), SB_STOP_SATURATED);
    cr_assert_neq(sb_eg_find(eg, plain), sb_eg_find(eg, one_plain), "x may be 0");
    cr_assert_eq(sb_eg_find(eg, pos), sb_eg_find(eg, one_pos));
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(egraph, condition_kinds)
{
    var("x", "float32[3]");
    var("i", "int64[2, 2]");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_vars vars = {.n = 1, .name = {"x"}};
    struct { const char *cond, *term; bool want; } cases[] = {
        {"const(?x)", "2 + 3", true},       {"const(?x)", "x", false},
        {"const(?x, 5)", "2 + 3", true},    {"const(?x, 2)", "2 + 3", false},
        {"dtype(?x, float32)", "x", true},  {"dtype(?x, int64)", "x", false},
        {"ndim(?x, 2)", "i", true},         {"ndim(?x, 1)", "i", false},
        {"float(?x)", "x", true},           {"float(?x)", "i", false},
        {"integer(?x)", "i", true},         {"positive(?x)", "exp(x)", true},
        {"nonnegative(?x)", "x", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char json[512];
        snprintf(json, sizeof json, "{\"name\": \"t\", \"rules\": [{\"name\": \"r\", \"lhs\": "
                 "\"-?x\", \"rhs\": \"?x\", \"when\": [\"%s\"]}]}", cases[k].cond);
        sb_ruleset *rs = RS(json);
        sb_id c = sb_eg_add_term(eg, P(cases[k].term));
        sb_eg_rebuild(eg);
        sb_id subst[1] = {sb_eg_find(eg, c)};
        cr_assert_eq(sb_eg_cond_holds(eg, &rs->rules[0].conds[0], &vars, subst), cases[k].want,
                     "%s on %s", cases[k].cond, cases[k].term);
        sb_rw_ruleset_free(rs);
    }
    sb_eg_free(eg);
}

/* ---- explanations ------------------------------------------------------------------------ */
Test(egraph, explanation_chain)
{
    var("x", "float32[3]");
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": ["
                        "{\"name\": \"mul-one\", \"lhs\": \"?x * 1\", \"rhs\": \"?x\"},"
                        "{\"name\": \"log1p\", \"lhs\": \"log(1 + ?x)\", \"rhs\": \"log1p(?x)\"}]}");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_enable_explanations(eg);
    sb_id a = sb_eg_add_term(eg, P("log(1 + x * 1)")), b = sb_eg_add_term(eg, P("log1p(x)"));
    saturate(eg, rs, 10);
    sb_explanation ex;
    cr_assert(sb_eg_explain(eg, a, b, &ex));
    cr_assert_eq(ex.n, 3, "start + 2 steps, got %d", ex.n);
    cr_assert_eq(ex.steps[0].term, P("log(1 + x * 1)"));
    cr_assert_eq(ex.steps[ex.n - 1].term, P("log1p(x)"));
    bool saw_log1p = false, saw_mul = false;
    for (int i = 1; i < ex.n; i++) {
        saw_log1p |= !strcmp(ex.steps[i].rule, "log1p");
        saw_mul |= !strcmp(ex.steps[i].rule, "mul-one");
    }
    cr_assert(saw_log1p && saw_mul);
    sb_eg_explanation_free(&ex);
    /* Not equal: no explanation. */
    sb_id c = sb_eg_add_term(eg, P("exp(x)"));
    cr_assert_not(sb_eg_explain(eg, a, c, &ex));
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

Test(egraph, explanation_backward_rule)
{
    var("x", "float32[3]");
    var("y", "float32[3]");
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": [{\"name\": \"comm\", \"lhs\": \"?a + ?b\","
                        " \"rhs\": \"?b + ?a\"}, {\"name\": \"dbl\", \"lhs\": \"?a * 2\", \"rhs\":"
                        " \"?a + ?a\", \"bidirectional\": true}]}");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_enable_explanations(eg);
    sb_id a = sb_eg_add_term(eg, P("(x + y) + (y + x)")), b = sb_eg_add_term(eg, P("(x + y) * 2"));
    saturate(eg, rs, 10);
    sb_explanation ex;
    cr_assert(sb_eg_explain(eg, a, b, &ex));
    cr_assert_geq(ex.n, 3);
    cr_assert_eq(ex.steps[ex.n - 1].term, P("(x + y) * 2"));
    bool back = false;
    for (int i = 1; i < ex.n; i++) back |= !strcmp(ex.steps[i].rule, "dbl") && ex.steps[i].backward;
    cr_assert(back, "x+x => x*2 is the rule applied right to left");
    sb_eg_explanation_free(&ex);
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}

/* ---- rule loader ------------------------------------------------------------------------- */
/* Expect a load error at (line, col) of the text whose message contains `what`. */
static void load_error(const char *json, int line, int col, const char *what)
{
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_parse(json, "bad.json", &d);
    cr_assert_null(rs, "accepted: %s", json);
    cr_assert_neq(d.status, SB_OK);
    cr_assert_str_eq(d.file, "bad.json");
    cr_assert_eq(d.line, line, "%s: line %d (%s)", what, d.line, d.msg);
    cr_assert_eq(d.col, col, "%s: col %d (%s)", what, d.col, d.msg);
    cr_assert(strstr(d.msg, what), "message '%s' lacks '%s'", d.msg, what);
}

Test(egraph, loader_errors_with_positions)
{
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"?x + 0\", \"rhs\": \"?y\"}]}",
               2, 41, "?y");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"frob(?x)\", \"rhs\": \"?x\"}]}",
               2, 25, "frob");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"-?x\", \"rhs\": \"?x\", \"when\": [\"shiny(?x)\"]}]}",
               2, 53, "unknown condition");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"-?x\", \"rhs\": \"?x\"},\n"
               "  {\"name\": \"a\", \"lhs\": \"exp(?x)\", \"rhs\": \"?x\"}]}",
               3, 12, "duplicate rule name");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"?x * ?y\", \"rhs\": \"?x\", \"bidirectional\": true}]}",
               2, 24, "?y");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"sum(?x, axis=0)\", \"rhs\": \"?x\"}]}",
               2, 50, "type-incorrect");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"?x + ?y\", \"rhs\": \"?x @ ?y\"}]}",
               2, 42, "type-incorrect");
    load_error("{\"name\": \"t\", \"rules\": [\n"
               "  {\"name\": \"a\", \"lhs\": \"-?x\", \"rhs\": \"?x\", \"bidirectonal\": true}]}",
               2, 44, "unknown key \"bidirectonal\"");
    sb_diag d = {0};
    cr_assert_null(sb_rw_ruleset_parse("{\"name\": \"t\", \"rules\": [\n  {\"name\": }]}", "bad.json", &d));
    cr_assert_eq(d.line, 2);
}

Test(egraph, loader_accepts_and_keeps_origin)
{
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": [\n"
                        "  {\"name\": \"a\", \"lhs\": \"?x / ?x\", \"rhs\": \"ones_like(?x)\","
                        " \"when\": [\"nonzero(?x)\", \"const(?x, 2)\", \"dtype(?x, float32)\"],"
                        " \"doc\": \"x/x = 1\"}]}");
    cr_assert_eq(rs->nrules, 1);
    const sb_rule *r = sb_rw_ruleset_find(rs, "a");
    cr_assert(r);
    cr_assert_eq(r->line, 2);
    cr_assert_eq(r->col, 3);
    cr_assert_str_eq(r->doc, "x/x = 1");
    cr_assert_eq(r->nconds, 3);
    cr_assert_eq(r->conds[1].kind, SB_COND_CONST);
    cr_assert(r->conds[1].has_value);
    cr_assert_float_eq(r->conds[1].value, 2.0, 0);
    cr_assert_eq(r->conds[2].dtype, SB_DTYPE_F32);
    cr_assert_eq(r->lhs->type.dtype, SB_DTYPE_COUNT, "patterns are untyped");
    sb_rw_ruleset_free(rs);
}

Test(egraph, loader_finds_shipped_sets_by_name)
{
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_load("algebra", NULL, &d);
    cr_assert(rs, "%s", d.msg);
    cr_assert_gt(rs->nrules, 0);
    sb_rw_ruleset_free(rs);
    cr_assert_null(sb_rw_ruleset_load("no-such-set", NULL, &d));
    cr_assert(strstr(d.msg, "no-such-set"));
}

Test(egraph, undefined_integer_math_is_not_folded)
{
    sb_egraph *eg = sb_eg_new(ctx);
    double v;
    cr_assert_not(sb_eg_const_scalar(eg, sb_eg_add_term(eg, P("2 ** -1")), &v), "int ** negative");
    cr_assert_not(sb_eg_const_scalar(eg, sb_eg_add_term(eg, P("7 // 0")), &v), "int // 0");
    cr_assert(sb_eg_const_scalar(eg, sb_eg_add_term(eg, P("2.0 ** -1")), &v));
    cr_assert_float_eq(v, 0.5, 1e-12);
    cr_assert(sb_eg_const_scalar(eg, sb_eg_add_term(eg, P("-7 // 2")), &v));
    cr_assert_float_eq(v, -4.0, 0, "floor division");
    sb_eg_free(eg);
}

Test(egraph, bare_variable_lhs_saturates)
{
    var("x", "float32[3]");
    sb_ruleset *rs = RS("{\"name\": \"t\", \"rules\": [{\"name\": \"add-zero\", \"lhs\": \"?a\","
                        " \"rhs\": \"?a + 0\"}]}");
    sb_egraph *eg = sb_eg_new(ctx);
    sb_id e = sb_eg_add_term(eg, P("exp(x)"));
    cr_assert_eq(saturate(eg, rs, 10), SB_STOP_SATURATED);
    cr_assert_eq(sb_eg_find(eg, e), sb_eg_find(eg, sb_eg_add_term(eg, P("exp(x) + 0"))));
    cr_assert_eq(sb_eg_find(eg, e), sb_eg_find(eg, sb_eg_add_term(eg, P("exp(x + 0) + 0"))));
    cr_assert(sb_eg_check(eg));
    sb_eg_free(eg);
    sb_rw_ruleset_free(rs);
}
