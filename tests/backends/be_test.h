/* be_test.h: what the CPU backend suites share: the test's context C and diagnostic D (made by
 * be_setup, freed by be_teardown: a suite's init / fini) and parse(), which fails the test on a
 * bad expression. Include it once, in a suite's .c file, after criterion.h. */
#ifndef SB_BE_TEST_H
#define SB_BE_TEST_H

#include "symbench.h"

static sb_ctx *C;
static sb_diag D;

static inline void be_setup(void)
{
    C = sb_ctx_init();
    sb_diag_clear(&D);
}

static inline void be_teardown(void)
{
    sb_ctx_free(C);
}

/* The expression text parsed in C. */
static inline sb_node *parse(const char *text)
{
    sb_diag_clear(&D);
    sb_node *n = sb_parse_expr(C, text, NULL, NULL, &D);
    cr_assert_not_null(n, "%s: %s", text, D.msg);
    return n;
}

#endif
