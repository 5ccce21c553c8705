/* rw_test.h: what the rewrites suites share: the test's context `ctx` (a suite makes and frees
 * it in its init / fini, rw_setup / rw_teardown or its own) and helpers that fail the test on
 * bad input. Include it once, in a suite's .c file, after criterion.h. */
#ifndef SB_RW_TEST_H
#define SB_RW_TEST_H

#include "rewrites/rule.h"
#include "symbench.h"

static sb_ctx *ctx;

static inline void rw_setup(void) { ctx = sb_ctx_init(); }
static inline void rw_teardown(void) { sb_ctx_free(ctx); }

/* An input variable of the given type in ctx. */
static inline sb_node *var(const char *name, const char *type)
{
    sb_type t;
    sb_diag d = {0};
    cr_assert_eq(sb_type_parse(type, &t, &d), SB_OK, "%s", d.msg);
    sb_node *n = sb_input(ctx, name, &t);
    cr_assert(n);
    return n;
}

/* The expression text parsed in ctx. */
static inline sb_node *P(const char *text)
{
    sb_diag d = {0};
    sb_node *n = sb_parse_expr(ctx, text, NULL, NULL, &d);
    cr_assert(n, "parse '%s': %s", text, d.msg);
    return n;
}

/* A rule set from inline JSON. */
static inline sb_ruleset *RS(const char *json)
{
    sb_diag d = {0};
    sb_ruleset *rs = sb_rw_ruleset_parse(json, "<test>", &d);
    cr_assert(rs, "rules: %d:%d: %s", d.line, d.col, d.msg);
    return rs;
}

#endif
