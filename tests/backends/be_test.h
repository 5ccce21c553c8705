/* be_test.h: what the CPU backend suites share: the test's context C and diagnostic D (made by
 * be_setup, freed by be_teardown: a suite's init / fini), parse(), which fails the test on a
 * bad expression, and an environment of inputs filled from a suite's table. Include it once, in
 * a suite's .c file, after criterion.h. */
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

/* An input of a suite's table: name, declared type and, for a type with '?' dims, the shape
 * of its value (a static type's value has the type's shape). */
typedef struct be_var {
    const char *name, *type;
    int ndim;
    int64_t shape[3];
} be_var;

#define BE_MAXVARS 32

/* The table's inputs declared in C, their values and bindings. */
typedef struct env {
    int n;
    sb_array *val[BE_MAXVARS];
    sb_binding bind[BE_MAXVARS];
} env;

/* Declare vars[0, n) in C and fill their values: int64 ones with i % 4, the others with
 * pattern(v, i) (the suite's seeded pattern of input v, element i). */
static inline void be_env_init(env *e, const be_var *vars, int n, double (*pattern)(int, int64_t))
{
    cr_assert_leq(n, BE_MAXVARS);
    e->n = n;
    for (int v = 0; v < n; v++) {
        sb_type t;
        cr_assert_eq(sb_type_parse(vars[v].type, &t, NULL), SB_OK);
        cr_assert_not_null(sb_input(C, vars[v].name, &t));
        bool known = true;
        for (int k = 0; k < t.ndim; k++) known &= t.dims[k] >= 0;
        e->val[v] = known ? sb_array_new(t.dtype, t.ndim, t.dims)
                          : sb_array_new(t.dtype, vars[v].ndim, vars[v].shape);
        for (int64_t i = 0; i < sb_array_numel(e->val[v]); i++)
            sb_array_set_f64(e->val[v], i, t.dtype == SB_DTYPE_I64 ? (double)(i % 4) : pattern(v, i));
        e->bind[v] = (sb_binding){vars[v].name, e->val[v]};
    }
}

static inline void env_free(env *e)
{
    for (int v = 0; v < e->n; v++) sb_array_free(e->val[v]);
}

#endif
