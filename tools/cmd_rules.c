/* cmd_rules.c: `symbench rules list [SET|FILE]...` and `symbench rules check [SET|FILE]...`.
 *
 * list prints one line per rule, tab-separated: set, rule name, "lhs -> rhs" ("<->" for a
 * bidirectional rule), conditions, doc. check runs the random soundness checker (rewrites/check.c)
 * on every rule and exits 1 if any rule is unsound or cannot be checked. Without a SET or FILE
 * both work on every shipped rule set. */
#include "commands.h"

#include "core-impl.h"
#include "rewrites/check.h"
#include "rewrites/rule.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench rules list [SET|FILE]...\n"
            "       symbench rules check [--seed N] [--trials N] [--attempts N] [-v] [SET|FILE]...\n"
            "\n"
            "list   print every rule: set, name, lhs -> rhs (<-> if bidirectional), conditions, doc\n"
            "check  check every rule for soundness: pattern variables get random inputs of\n"
            "       compatible dtypes and shapes (broadcasting and scalars included) that satisfy\n"
            "       the rule's `when` conditions; both sides are evaluated with the reference\n"
            "       evaluator and compared. Unsound rules are reported as FILE:LINE:COL with a\n"
            "       counterexample; the exit status is 1 if any rule is unsound or uncheckable.\n"
            "\n"
            "SET is a rule-set name (algebra, stability, ...: looked up in $SB_RULES_PATH, then the\n"
            "shipped rules) or a loaded plugin's name (--plugin PATH); FILE is a path to a rule-set\n"
            ".json. Without either: every shipped set and every loaded plugin's set.\n"
            "\n"
            "options (check):\n"
            "  --seed N       random seed (default 1)\n"
            "  --trials N     well-typed instantiations per rule and direction (default 40)\n"
            "  --attempts N   most instantiation attempts per rule and direction (default 3000)\n"
            "  -v, --verbose  also print a line per sound rule\n");
}

/* The rule sets named on the command line, or every shipped one. Returns the count; *out is
 * malloc'd (free each with sb_rw_ruleset_free). On a load error prints it and returns -1. */
static int load_sets(int n, char **names, sb_ruleset ***out)
{
    char **shipped = NULL;
    int nshipped = 0;
    if (n == 0) {
        nshipped = sb_rw_ruleset_list(&shipped);
        int np = sb_plugin_count(); /* and the rule sets of plugins loaded with --plugin */
        shipped = sb_xrealloc(shipped, sizeof(char *) * (size_t)(nshipped + np + 1));
        for (int i = 0; i < np; i++) shipped[nshipped++] = sb_xstrdup(sb_plugin_name(i));
        n = nshipped, names = shipped;
        if (n <= 0) fprintf(stderr, "symbench rules: no rule sets found\n");
    }
    sb_ruleset **sets = sb_xcalloc((size_t)(n > 0 ? n : 1), sizeof *sets);
    int got = 0, status = 0;
    for (int i = 0; i < n && status == 0; i++) {
        sb_diag d = {0};
        sets[got] = sb_rw_ruleset_load(names[i], NULL, &d);
        if (!sets[got]) {
            sb_diag_print(&d, stderr);
            status = -1;
        } else {
            got++;
        }
    }
    for (int i = 0; i < nshipped; i++) free(shipped[i]);
    free(shipped);
    if (status < 0 || n <= 0) {
        for (int i = 0; i < got; i++) sb_rw_ruleset_free(sets[i]);
        free(sets);
        return -1;
    }
    *out = sets;
    return got;
}

static void free_sets(sb_ruleset **sets, int n)
{
    for (int i = 0; i < n; i++) sb_rw_ruleset_free(sets[i]);
    free(sets);
}

/* One line per rule: set, name, lhs -> rhs, conditions, doc (tab-separated). */
static void list_rule(const sb_ruleset *rs, const sb_rule *r)
{
    char *l = sb_print_expr(r->lhs), *rh = sb_print_expr(r->rhs);
    printf("%s\t%s\t%s %s %s\t", rs->name, r->name, l ? l : "?", r->bidirectional ? "<->" : "->",
           rh ? rh : "?");
    for (int c = 0; c < r->nconds; c++) printf("%s%s", c ? ", " : "if ", r->conds[c].text);
    printf("\t%s\n", r->doc ? r->doc : "");
    free(l);
    free(rh);
}

static int cmd_list(int argc, char **argv)
{
    sb_ruleset **sets = NULL;
    int n = load_sets(argc, argv, &sets);
    if (n < 0) return 1;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < sets[s]->nrules; i++) list_rule(sets[s], &sets[s]->rules[i]);
    free_sets(sets, n);
    return 0;
}

/* Parse a positive integer option value; -1 on a bad one. */
static long long opt_int(const char *opt, const char *v)
{
    char *end = NULL;
    long long x = v ? strtoll(v, &end, 10) : -1;
    if (!v || !*v || *end || x < 0) {
        fprintf(stderr, "symbench rules check: %s needs a non-negative integer\n", opt);
        return -1;
    }
    return x;
}

static int cmd_check(int argc, char **argv)
{
    sb_rw_check_opts o;
    sb_rw_check_opts_init(&o);
    char **names = sb_xcalloc((size_t)argc + 1, sizeof *names);
    int nnames = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        long long v = 0;
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) o.verbose = true;
        else if (!strcmp(a, "--seed") || !strcmp(a, "--trials") || !strcmp(a, "--attempts")) {
            if ((v = opt_int(a, i + 1 < argc ? argv[i + 1] : NULL)) < 0) return free(names), 2;
            i++;
            if (!strcmp(a, "--seed")) o.seed = (uint64_t)v;
            else if (!strcmp(a, "--trials")) o.trials = v > 0 ? (int)v : 1;
            else o.attempts = v > 0 ? (int)v : 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "symbench rules check: unknown option '%s' (see --help)\n", a);
            return free(names), 2;
        } else names[nnames++] = argv[i];
    }
    sb_ruleset **sets = NULL;
    int n = load_sets(nnames, names, &sets);
    free(names);
    if (n < 0) return 1;
    int bad = 0, total = 0;
    for (int s = 0; s < n; s++) {
        bad += sb_rw_check_ruleset(sets[s], &o, stdout);
        total += sets[s]->nrules;
    }
    printf("%d rules checked in %d set%s: %d sound, %d failing\n", total, n, n == 1 ? "" : "s",
           total - bad, bad);
    free_sets(sets, n);
    return bad ? 1 : 0;
}

int sb_cmd_rules(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    if (!strcmp(argv[1], "list")) return cmd_list(argc - 2, argv + 2);
    if (!strcmp(argv[1], "check")) return cmd_check(argc - 2, argv + 2);
    fprintf(stderr, "symbench rules: unknown action '%s' (expected list or check; see --help)\n",
            argv[1]);
    return 2;
}
