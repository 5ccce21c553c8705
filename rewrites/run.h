/* run.h: the equality-saturation runner (internal), modelled on egg's Runner.
 *
 *     sb_run_opts o = sb_run_opts_default();
 *     sb_runner *r = sb_rw_runner_new(eg, rules, nrules, &o);
 *     sb_stop why = sb_rw_runner_run(r);          // saturated, iteration/node/time limit
 *     sb_rw_runner_report(r, stderr);
 *     sb_rw_runner_free(r);
 */
#ifndef SB_RUN_H
#define SB_RUN_H

#include "pattern.h"

typedef enum sb_stop {
    SB_STOP_SATURATED,
    SB_STOP_ITER_LIMIT,
    SB_STOP_NODE_LIMIT,
    SB_STOP_TIME_LIMIT,
    SB_STOP_GOAL,         /* opts.goal said the run can stop (e.g. two terms proven equal) */
    SB_STOP_COUNT
} sb_stop;
const char *sb_rw_stop_name(sb_stop s); /* "saturated", "iteration limit", ... */

typedef struct sb_run_opts {
    int iter_limit;       /* default 30 */
    uint32_t node_limit;  /* e-nodes; default 10000 */
    double time_limit;    /* seconds; default 5 */
    bool backoff;         /* BackoffScheduler (default) or simple */
    int match_limit;      /* backoff: matches per rule per iteration before a ban (default 1000) */
    int ban_length;       /* backoff: iterations of the first ban (default 5), doubled each time */
    FILE *trace;          /* JSON-lines records (optional) */
    bool (*goal)(sb_egraph *eg, void *user); /* (optional) checked after each iteration */
    void *goal_user;
} sb_run_opts;
sb_run_opts sb_run_opts_default(void);

/* One direction of a rule, compiled for one e-graph. */
typedef struct sb_rewrite {
    const sb_rule *rule;
    bool backward;        /* rhs => lhs of a bidirectional rule */
    sb_vars vars;
    sb_pattern lhs, rhs;
    sb_program prog;
    int times_banned, banned_until;
    long matches, applied; /* totals */
} sb_rewrite;

typedef struct sb_iter_report {
    int iter;
    uint32_t enodes, eclasses;     /* after the iteration */
    long matches, applied;         /* all rules */
    int *rule_matches, *rule_applied; /* per rewrite */
    int unions_rebuild;
    double search_s, apply_s, rebuild_s;
} sb_iter_report;

typedef struct sb_runner {
    sb_egraph *eg;
    sb_rewrite *rw;
    int nrw;
    sb_run_opts opts;
    sb_iter_report *iters;
    int niters;
    sb_stop stop;
    double seconds;
} sb_runner;

/* Compile rules (both directions of bidirectional ones) for eg. */
sb_runner *sb_rw_runner_new(sb_egraph *eg, const sb_rule *const *rules, int nrules,
                            const sb_run_opts *opts);
/* Search and apply until saturation or a limit; returns (and keeps) the stop reason. */
sb_stop sb_rw_runner_run(sb_runner *r);
/* A human-readable summary: per iteration, then per rule totals. */
void sb_rw_runner_report(const sb_runner *r, FILE *f);
void sb_rw_runner_free(sb_runner *r);
double sb_rw_now(void); /* monotonic seconds */

#endif
