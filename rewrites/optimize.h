/* optimize.h: optimize terms with rule sets (e-graph + runner + extraction) -- the engine under
 * the `saturate` pass and `symbench simplify` (internal). */
#ifndef SB_OPTIMIZE_H
#define SB_OPTIMIZE_H

#include "run.h"
#include "extract.h"

typedef enum sb_extract_kind { SB_EXTRACT_AUTO, SB_EXTRACT_GREEDY, SB_EXTRACT_ILP } sb_extract_kind;

typedef struct sb_rw_opt_cfg {
    sb_ruleset *const *sets;  /* rule sets whose rules are all used */
    int nsets;
    sb_run_opts run;          /* limits, scheduler, trace */
    sb_extract_kind extract;  /* auto = ILP when the e-graph is small, else greedy */
    bool no_fold;             /* turn constant folding off */
} sb_rw_opt_cfg;

typedef struct sb_rw_opt_result {
    sb_stop stop;
    int iterations;
    uint32_t enodes, eclasses;
    double cost_before, cost_after; /* DAG cost of the roots (shared subterms once) */
    double seconds;
    bool used_ilp;
} sb_rw_opt_result;

sb_rw_opt_cfg sb_rw_opt_cfg_default(void);
/* Optimize roots[0..n) (nodes of ctx) into out[0..n) (nodes of ctx; equal inputs give equal
 * outputs). Fills res when not NULL. */
sb_status sb_rw_optimize(sb_ctx *ctx, int n, sb_node *const *roots, const sb_rw_opt_cfg *cfg,
                         sb_node **out, sb_rw_opt_result *res, sb_diag *d);
/* Load rule sets by name or path (see sb_rw_ruleset_load); names NULL/n = 0 means every shipped
 * set. Returns the count, or -1 with d filled. *sets is malloc'd; free with sb_rw_rulesets_free. */
int sb_rw_rulesets_load(const char *const *names, int n, const char *base_dir, sb_ruleset ***sets,
                        sb_diag *d);
void sb_rw_rulesets_free(sb_ruleset **sets, int n);
/* All rules of the sets as one array (malloc'd). */
const sb_rule **sb_rw_rules_of(sb_ruleset *const *sets, int nsets, int *nrules);

#endif
