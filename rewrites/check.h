/* check.h: soundness checking of rewrite rules by random testing (internal).
 *
 * For a rule lhs -> rhs, every pattern variable is instantiated with a random input (or, under a
 * const(...) condition, a constant) of a random dtype and shape that its `when` conditions allow:
 * float(?x) gives float32/float64, dtype(?x, T) gives T, ndim(?x, n) gives rank n, positive(?x)
 * values in (0.1, 3), nonnegative(?x) values in [0, 3) with zeros, nonzero(?x) values away from 0,
 * integer(?x) rounded values, const(?x, v) the constant v. Shapes mix equal shapes, broadcasting
 * shapes (size-1 dims, fewer dims) and scalars. Both sides are built in a fresh context with
 * sb_apply; an instantiation whose lhs is not well-typed (or fails at run time) is skipped. Then
 *   - the rhs must be well-typed, with the lhs's dtype and shape, and
 *   - sb_eval must give the same values, in the float64 reference mode (o->rtol, o->atol) and
 *     in the operands' own dtypes (float32 / float64 rounding tolerances, integers exactly).
 * A bidirectional rule is checked in both directions. The checker assumes that a literal in a
 * pattern matches a weak number literal of that value (so `?x + 0` keeps x's dtype).
 *
 *     sb_rw_check_opts o;
 *     sb_rw_check_opts_init(&o);
 *     int bad = sb_rw_check_ruleset(rs, &o, stdout);   // prints a line per unsound rule
 */
#ifndef SB_RW_CHECK_H
#define SB_RW_CHECK_H

#include "rule.h"

typedef struct sb_rw_check_opts {
    uint64_t seed;     /* random seed (the same seed gives the same instantiations) */
    int trials;        /* well-typed instantiations to evaluate per rule and direction */
    int attempts;      /* most instantiation attempts per rule and direction */
    double rtol, atol; /* tolerance of the float64 reference comparison */
    bool verbose;      /* sb_rw_check_ruleset: also print a line per sound rule */
    bool isolate;      /* evaluate in a child process (fork): an evaluator crash is a finding */
} sb_rw_check_opts;

typedef enum sb_rw_verdict {
    SB_RW_SOUND,     /* every well-typed instantiation agreed */
    SB_RW_UNSOUND,   /* a counterexample was found */
    SB_RW_UNCHECKED, /* no well-typed instantiation of the lhs was found */
    SB_RW_VERDICT_COUNT
} sb_rw_verdict;

typedef struct sb_rw_check_result {
    sb_rw_verdict verdict;
    int checked; /* instantiations evaluated (both directions together) */
    char *why;   /* malloc'd: the counterexample or the reason it is unchecked; NULL when sound */
} sb_rw_check_result;

/* Defaults: seed 1, 40 trials, 3000 attempts, rtol 1e-6, atol 1e-9, not verbose,
 * isolated. */
void sb_rw_check_opts_init(sb_rw_check_opts *o);
/* Check one rule (o NULL = defaults); fills res (free with sb_rw_check_result_free). */
sb_rw_verdict sb_rw_check_rule(const sb_rule *r, const sb_rw_check_opts *o,
                               sb_rw_check_result *res);
void sb_rw_check_result_free(sb_rw_check_result *res);
/* Check every rule of rs. Prints "file:line:col: rule 'NAME' of set 'SET' is unsound: WHY" (or
 * "cannot be checked: WHY") for each failing rule to out (NULL = nothing printed), and with
 * o->verbose a line per sound rule. Returns the number of failing rules. */
int sb_rw_check_ruleset(const sb_ruleset *rs, const sb_rw_check_opts *o, FILE *out);

#endif
