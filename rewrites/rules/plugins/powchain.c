/* powchain: strength reduction of powers with C conditions (an example plugin, docs/plugins.md).
 *
 * Rules (rule set "powchain"):
 *   pow-int-chain   x ** c  ->  a product chain by repeated squaring (x*x, (x*x)*x, ...) and a
 *                   reciprocal for negative c, only for integer constants 2 <= |c| <= 8 (a C
 *                   condition; the chain is built by a C applier from the matched constant).
 *   sqrt-even-pow   sqrt(x ** c)  ->  abs(x) ** (c / 2), only for even integer constants c in
 *                   [2, 16] (the `small_even` fact, a C predicate used in `when`).
 * Pass "pow_report": logs how many pow nodes the graph has (settings: {"level": 0..3}).
 * Built with the public header only; every call into symbench goes through the host table. */
#include <symbench.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const sb_host_api *H;

/* ?c is a scalar integer constant with 2 <= |c| <= 8 that does not widen ?x (a weak literal or
 * of x's dtype), and ?x a float. */
static bool int_power(const sb_host_api *h, const sb_match *m, void *user)
{
    (void)user;
    double c;
    const sb_type *tc = h->match_type(m, "c"), *tx = h->match_type(m, "x");
    if (!tc || tc->ndim != 0 || !tx || !h->dtype_is_float(tx->dtype)) return false;
    if (!tc->weak && tc->dtype != tx->dtype) return false;
    return h->match_const(m, "c", &c) && c == floor(c) && fabs(c) >= 2 && fabs(c) <= 8;
}

/* x ** n for n >= 1 by repeated squaring, as a pattern over ?x. */
static sb_node *chain(const sb_host_api *h, sb_ctx *ctx, sb_node *x, int n)
{
    if (n == 1) return x;
    sb_node *half = chain(h, ctx, x, n / 2);
    sb_node *in[2] = {half, half};
    sb_node *sq = h->apply(ctx, SB_OP_MUL, 2, in, NULL, NULL);
    if (n % 2 == 0 || !sq) return sq;
    sb_node *in2[2] = {sq, x};
    return h->apply(ctx, SB_OP_MUL, 2, in2, NULL, NULL);
}

static sb_node *build_chain(const sb_host_api *h, const sb_match *m, sb_ctx *ctx, void *user)
{
    (void)user;
    double c;
    if (!h->match_const(m, "c", &c)) return NULL;
    sb_node *x = h->pvar(ctx, "x"), *p = chain(h, ctx, x, (int)fabs(c));
    if (c > 0 || !p) return p;
    sb_node *one = h->const_scalar(ctx, 1, SB_DTYPE_F64, true), *in[2] = {one, p};
    return h->apply(ctx, SB_OP_DIV, 2, in, NULL, NULL);
}

/* Fact small_even(?v): ?v is a scalar even integer constant in [2, 16]. */
static bool small_even(const sb_host_api *h, const sb_match *m, const char *var, void *user)
{
    (void)user;
    double c;
    const sb_type *t = h->match_type(m, var);
    if (!t || t->ndim != 0 || !h->match_const(m, var, &c)) return false;
    return c == floor(c) && c >= 2 && c <= 16 && fmod(c, 2) == 0;
}

/* Count pow nodes reachable from the outputs (a report-only pass). */
static int count_pow(const sb_host_api *h, sb_node *n, int depth)
{
    if (depth > 64) return 0;
    int k = h->node_op(n) == SB_OP_POW;
    for (int i = 0; i < h->node_nin(n); i++) k += count_pow(h, h->node_in(n, i), depth + 1);
    return k;
}

static sb_status pow_report(const sb_host_api *h, sb_graph *g, const char *settings,
                            bool *changed, sb_diag *d)
{
    (void)d;
    int level = 2;
    const char *p = strstr(settings, "\"level\":");
    if (p) level = atoi(p + 8);
    int k = 0;
    for (int i = 0; i < h->graph_count(g, SB_ROLE_OUTPUT); i++)
        k += count_pow(h, h->graph_node(g, SB_ROLE_OUTPUT, i), 0);
    h->log(level, "powchain: %d pow node(s) in the outputs", k);
    *changed = false;
    return SB_OK;
}

static const sb_plugin_desc desc = {
    SB_PLUGIN_ABI_VERSION, "powchain",
    "integer powers as multiplication chains; sqrt of even powers (C conditions)"};

SB_PLUGIN_EXPORT const sb_plugin_desc *sb_plugin_init(const sb_host_api *host)
{
    H = host;
    sb_diag d = {0};
    static const char *const int_when[] = {"const(?c)", "integer(?c)", "float(?x)", NULL};
    static const char *const even_when[] = {"const(?c)", "integer(?c)", "float(?x)",
                                            "small_even(?c)", NULL};
    if (host->register_fact(host, "small_even", small_even, NULL, &d) ||
        host->register_rule(host, "pow-int-chain", "?x ** ?c", NULL, int_when, int_power,
                            build_chain, NULL, &d) ||
        host->register_rule(host, "sqrt-even-pow", "sqrt(?x ** ?c)", "abs(?x) ** (?c / 2)",
                            even_when, NULL, NULL, NULL, &d) ||
        host->register_pass(host, "pow_report", pow_report, "log the number of pow nodes", &d))
        return NULL; /* the host reports the first failed registration */
    return &desc;
}
