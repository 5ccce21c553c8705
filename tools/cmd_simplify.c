/* cmd_simplify.c: `symbench simplify` (optimize an expression with rule sets, print it and its
 * cost) and `symbench explain` (the chain of rewrites that proves two expressions equal). */
#include "commands.h"

#include "core-impl.h"
#include "rewrites/optimize.h"
#include "rewrites/trace.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_SETS 32

typedef struct cli {
    const char *rules[MAX_SETS];
    int nrules;
    const char *exprs[2];
    int nexprs;
    const char *trace_path;
    sb_run_opts run;
    sb_extract_kind extract;
    bool report;
} cli;

static void simplify_usage(FILE *f)
{
    fprintf(f,
            "usage: symbench simplify [OPTIONS] EXPR\n"
            "\n"
            "Optimize EXPR by equality saturation with rule sets, then extract the cheapest\n"
            "equivalent. Prints the optimized expression on the first line (same syntax, it\n"
            "parses back), then \"cost: BEFORE -> AFTER\" and the stop reason.\n"
            "\n"
            "options:\n"
            "  --rules NAME|FILE   a rule set (repeatable; default: every shipped set)\n"
            "  --var NAME=TYPE     declare an input, e.g. --var x=float32[?, 3] (repeatable)\n"
            "  --iter-limit N      most iterations (default 30)\n"
            "  --node-limit N      most e-nodes (default 10000)\n"
            "  --time-limit S      most seconds (default 5)\n"
            "  --scheduler backoff|simple   rule scheduler (default backoff)\n"
            "  --extract greedy|ilp|auto    extractor (default auto: ILP on small e-graphs)\n"
            "  --trace FILE        write JSON-lines trace records (docs/trace.md)\n"
            "  --report            print the runner's per-iteration report to stderr\n");
}

static void explain_usage(FILE *f)
{
    fprintf(f,
            "usage: symbench explain [OPTIONS] A B\n"
            "\n"
            "Prove A = B by equality saturation and print the chain of rewrites: the start\n"
            "term, then one line per step with the term after it and [rule] ([rule <=] when\n"
            "applied right to left). Exit status 1 when A = B is not proven within the limits.\n"
            "Options as for `symbench simplify` (--rules, --var, --iter-limit, --node-limit,\n"
            "--time-limit, --scheduler).\n");
}

/* Parse options; returns 0, or an exit status (after printing) to stop with; -1 = help. */
static int parse_args(int argc, char **argv, sb_ctx *ctx, cli *c, int max_exprs)
{
    c->run = sb_run_opts_default();
    c->extract = SB_EXTRACT_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return -1;
        bool takes = !strcmp(a, "--rules") || !strcmp(a, "--var") || !strcmp(a, "--iter-limit") ||
                     !strcmp(a, "--node-limit") || !strcmp(a, "--time-limit") ||
                     !strcmp(a, "--trace") || !strcmp(a, "--scheduler") || !strcmp(a, "--extract");
        if (takes && !v) return fprintf(stderr, "symbench %s: %s needs a value\n", argv[0], a), 2;
        if (!strcmp(a, "--rules")) {
            if (c->nrules == MAX_SETS) return fprintf(stderr, "symbench %s: too many --rules\n", argv[0]), 2;
            c->rules[c->nrules++] = v;
        } else if (!strcmp(a, "--var")) {
            const char *eq = strchr(v, '=');
            sb_type t;
            sb_diag d = {0};
            if (!eq || eq == v) return fprintf(stderr, "symbench %s: --var wants NAME=TYPE, got '%s'\n", argv[0], v), 2;
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
            if (sb_type_parse(eq + 1, &t, &d) != SB_OK) {
                fprintf(stderr, "symbench %s: --var %s: ", argv[0], v);
                sb_diag_print(&d, stderr);
                return 2;
            }
            if (!sb_input(ctx, name, &t))
                return fprintf(stderr, "symbench %s: --var %s: '%s' declared twice\n", argv[0], v, name), 2;
        } else if (!strcmp(a, "--iter-limit")) {
            c->run.iter_limit = atoi(v);
        } else if (!strcmp(a, "--node-limit")) {
            c->run.node_limit = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--time-limit")) {
            c->run.time_limit = atof(v);
        } else if (!strcmp(a, "--trace")) {
            c->trace_path = v;
        } else if (!strcmp(a, "--scheduler")) {
            if (strcmp(v, "backoff") && strcmp(v, "simple"))
                return fprintf(stderr, "symbench %s: --scheduler is backoff or simple\n", argv[0]), 2;
            c->run.backoff = !strcmp(v, "backoff");
        } else if (!strcmp(a, "--extract")) {
            if (!strcmp(v, "greedy")) c->extract = SB_EXTRACT_GREEDY;
            else if (!strcmp(v, "ilp")) c->extract = SB_EXTRACT_ILP;
            else if (!strcmp(v, "auto")) c->extract = SB_EXTRACT_AUTO;
            else return fprintf(stderr, "symbench %s: --extract is greedy, ilp or auto\n", argv[0]), 2;
        } else if (!strcmp(a, "--report")) {
            c->report = true;
            continue;
        } else if (a[0] == '-' && a[1] == '-') {
            return fprintf(stderr, "symbench %s: unknown option '%s' (see --help)\n", argv[0], a), 2;
        } else {
            if (c->nexprs == max_exprs)
                return fprintf(stderr, "symbench %s: unexpected argument '%s'\n", argv[0], a), 2;
            c->exprs[c->nexprs++] = a;
            continue;
        }
        i++;
    }
    if (c->nexprs != max_exprs)
        return fprintf(stderr, "symbench %s: expected %s (see --help)\n", argv[0],
                       max_exprs == 1 ? "one expression" : "two expressions"), 2;
    return 0;
}

/* Parse an expression over the declared inputs; prints the error (with a hint for an unknown
 * name) and returns NULL on failure. */
static sb_node *parse(sb_ctx *ctx, const char *cmd, const char *text)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(ctx, text, NULL, NULL, &d);
    if (n) return n;
    fprintf(stderr, "symbench %s: ", cmd);
    const char *q = strstr(d.msg, "unknown name '");
    if (q) {
        char name[128];
        const char *s = q + 14, *e = strchr(s, '\'');
        snprintf(name, sizeof name, "%.*s", e ? (int)(e - s) : 0, s);
        size_t len = strlen(d.msg);
        snprintf(d.msg + len, sizeof d.msg - len, " (declare it with --var %s=float32[3])", name);
    }
    sb_diag_print(&d, stderr);
    return NULL;
}

static FILE *open_trace(const char *cmd, const char *path)
{
    if (!path) return NULL;
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "symbench %s: %s: cannot open for writing\n", cmd, path);
    return f;
}

int sb_cmd_simplify(int argc, char **argv)
{
    sb_ctx *ctx = sb_ctx_init();
    cli c = {0};
    int rc = parse_args(argc, argv, ctx, &c, 1);
    if (rc) {
        if (rc < 0) simplify_usage(stdout);
        sb_ctx_free(ctx);
        return rc < 0 ? 0 : rc;
    }
    sb_node *e = parse(ctx, argv[0], c.exprs[0]);
    sb_diag d = {0};
    sb_ruleset **sets = NULL;
    int nsets = e ? sb_rw_rulesets_load(c.nrules ? c.rules : NULL, c.nrules, NULL, &sets, &d) : -1;
    if (e && nsets < 0) {
        fprintf(stderr, "symbench %s: ", argv[0]);
        sb_diag_print(&d, stderr);
    }
    c.run.trace = open_trace(argv[0], c.trace_path);
    rc = 1;
    if (nsets >= 0 && (!c.trace_path || c.run.trace)) {
        sb_rw_opt_cfg cfg = sb_rw_opt_cfg_default();
        cfg.sets = sets;
        cfg.nsets = nsets;
        cfg.run = c.run;
        cfg.extract = c.extract;
        sb_node *out = NULL;
        sb_rw_opt_result res;
        if (sb_rw_optimize(ctx, 1, &e, &cfg, &out, &res, &d) == SB_OK) {
            char *s = sb_print_expr(out);
            printf("%s\ncost: %.6g -> %.6g\nstop: %s after %d iterations (%u e-nodes, %u e-classes, "
                   "%.3f s, %s extraction)\n", s, res.cost_before, res.cost_after,
                   sb_rw_stop_name(res.stop), res.iterations, res.enodes, res.eclasses, res.seconds,
                   res.used_ilp ? "ILP" : "greedy");
            free(s);
            rc = 0;
        } else {
            fprintf(stderr, "symbench %s: ", argv[0]);
            sb_diag_print(&d, stderr);
        }
    }
    if (c.run.trace) fclose(c.run.trace);
    if (nsets > 0) sb_rw_rulesets_free(sets, nsets);
    else free(sets);
    sb_ctx_free(ctx);
    return rc;
}

/* ---- explain ----------------------------------------------------------------------------- */
typedef struct goal {
    sb_id a, b;
} goal;

static bool proven(sb_egraph *eg, void *user)
{
    goal *g = user;
    return sb_eg_find(eg, g->a) == sb_eg_find(eg, g->b);
}

/* Saturate with explanations until a = b or a limit; print the chain. Returns the exit status. */
static int explain_run(sb_ctx *ctx, cli *c, sb_node *a, sb_node *b, sb_ruleset **sets, int nsets)
{
    sb_egraph *eg = sb_eg_new(ctx);
    sb_eg_enable_explanations(eg);
    eg->trace = c->run.trace;
    goal g = {sb_eg_add_term(eg, a), sb_eg_add_term(eg, b)};
    int nrules = 0;
    const sb_rule **rules = sb_rw_rules_of(sets, nsets, &nrules);
    c->run.goal = proven;
    c->run.goal_user = &g;
    sb_runner *r = sb_rw_runner_new(eg, rules, nrules, &c->run);
    sb_stop stop = sb_rw_runner_run(r);
    if (c->report) sb_rw_runner_report(r, stderr);
    sb_explanation ex;
    int rc = 1;
    if (sb_eg_explain(eg, g.a, g.b, &ex)) {
        sb_eg_explanation_print(&ex, stdout);
        printf("proven in %d iterations (%u e-nodes, %d steps)\n", r->niters, sb_eg_enode_count(eg),
               ex.n - 1);
        sb_eg_explanation_free(&ex);
        rc = 0;
    } else {
        fprintf(stderr, "symbench explain: could not prove the two expressions equal (stop: %s "
                        "after %d iterations, %u e-nodes)\n", sb_rw_stop_name(stop), r->niters,
                sb_eg_enode_count(eg));
    }
    sb_rw_runner_free(r);
    free(rules);
    sb_eg_free(eg);
    return rc;
}

int sb_cmd_explain(int argc, char **argv)
{
    sb_ctx *ctx = sb_ctx_init();
    cli c = {0};
    int rc = parse_args(argc, argv, ctx, &c, 2);
    if (rc) {
        if (rc < 0) explain_usage(stdout);
        sb_ctx_free(ctx);
        return rc < 0 ? 0 : rc;
    }
    sb_node *a = parse(ctx, argv[0], c.exprs[0]);
    sb_node *b = a ? parse(ctx, argv[0], c.exprs[1]) : NULL;
    sb_diag d = {0};
    sb_ruleset **sets = NULL;
    int nsets = b ? sb_rw_rulesets_load(c.nrules ? c.rules : NULL, c.nrules, NULL, &sets, &d) : -1;
    if (b && nsets < 0) {
        fprintf(stderr, "symbench %s: ", argv[0]);
        sb_diag_print(&d, stderr);
    }
    c.run.trace = open_trace(argv[0], c.trace_path);
    rc = 1;
    if (nsets >= 0 && (!c.trace_path || c.run.trace)) rc = explain_run(ctx, &c, a, b, sets, nsets);
    if (c.run.trace) fclose(c.run.trace);
    if (nsets > 0) sb_rw_rulesets_free(sets, nsets);
    else free(sets);
    sb_ctx_free(ctx);
    return rc;
}
