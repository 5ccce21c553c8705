/* autodiff.h: internals shared by core/grad.c (L-op rules, reverse mode, expansion of symbolic
 * nodes), core/rop.c (R-op rules, forward mode, jacobian, hessian) and core/gradcheck.c.
 *
 * Gradient expressions are built with the sb_ad_* helpers. Each helper takes an sb_ad builder
 * and returns NULL once any step fails (a NULL input propagates), so a rule is written as plain
 * algebra and checked once at the end: the first error stays in the builder's diag. */
#ifndef SB_AUTODIFF_H
#define SB_AUTODIFF_H

#include "core-impl.h"

/* A gradient builder: the context nodes are built in and where the first error goes. */
typedef struct sb_ad {
    sb_ctx *ctx;
    sb_diag *d;
} sb_ad;

/* ---- building blocks (grad.c); every one returns NULL when an input is NULL ------------- */
sb_node *sb_ad_op(sb_ad *c, sb_op op, int nin, sb_node *const *in, const sb_attrs *a);
sb_node *sb_ad_un(sb_ad *c, sb_op op, sb_node *x);
sb_node *sb_ad_bin(sb_ad *c, sb_op op, sb_node *a, sb_node *b);
sb_node *sb_ad_num(sb_ad *c, double v); /* a weak float literal (takes the other operand's dtype) */
sb_node *sb_ad_zeros_like(sb_ad *c, sb_node *x);
/* where(cond, a, b) */
sb_node *sb_ad_where(sb_ad *c, sb_node *cond, sb_node *a, sb_node *b);
/* op (a reduction) over the given axes (naxis -1 = all) with keepdims. */
sb_node *sb_ad_reduce(sb_ad *c, sb_op op, sb_node *x, int naxis, const int64_t *axes,
                      bool keepdims);
/* The reduction node n's reduced axes of its input, normalized and sorted; returns how many. */
int sb_ad_red_axes(const sb_node *n, int64_t *axes);
/* A value g of the shape of reduction n's result, given back the reduced dims as size 1
 * (keepdims form), so it broadcasts against n's input. */
sb_node *sb_ad_keepdims(sb_ad *c, const sb_node *n, sb_node *g);
/* g reshaped to the type of x: summed over the dims x was broadcast along, cast to x's dtype,
 * and broadcast up where g is smaller (the gradient of x must have x's exact type). */
sb_node *sb_ad_fit(sb_ad *c, sb_node *g, sb_node *x);
/* d prod(x, axes) / d x for the prod node n, keepdims form (exact where x has zeros). */
sb_node *sb_ad_prod_deriv(sb_ad *c, const sb_node *n);
/* Normalized softmax-family axis of node n (attrs axis[0], default last). */
int sb_ad_axis1(const sb_node *n);

/* ---- rules -------------------------------------------------------------------------------- */
/* L-op of node n for output gradient g: fills gin[i] (not yet fitted to input i's type) for
 * the inputs it has a gradient for; others stay NULL (disconnected). Returns false when op has
 * no rule. */
bool sb_ad_lop(sb_ad *c, sb_node *n, sb_node *g, sb_node **gin);
bool sb_ad_has_lop(sb_op op);
/* R-op of node n given input tangents dx[i] (NULL = zero): the tangent of n, or NULL on a
 * build error. */
sb_node *sb_ad_rop(sb_ad *c, sb_node *n, sb_node *const *dx);
bool sb_ad_has_rop(sb_op op);

/* The nodes below roots[0..nroot) (NULL roots skipped) in post-order: inputs before their
 * users, each node once. Returns the count; *out is malloc'd (free it). */
int sb_ad_topo(sb_ctx *ctx, int nroot, sb_node *const *roots, sb_node ***out);

/* Rebuild n with every grad / Lop / Rop / jacobian / hessian node below it expanded. memo maps
 * node ids below nmemo to their rebuilt nodes (NULL = not yet visited). */
sb_node *sb_ad_expand(sb_ad *c, sb_node *n, sb_node **memo, size_t nmemo);

/* "'x'" for a named leaf, else the printed expression (shortened); into buf. */
const char *sb_ad_desc(const sb_node *n, char *buf, size_t len);

#endif
