/* gradcheck.c: Theano's verify_grad, finite-difference checking of symbolic gradients.
 *
 * For each wrt (an input or shared variable) and a few seeded random directions v, the
 * symbolic directional derivative <grad(cost, wrt), v> is compared with the central difference
 * (f(x + eps v) - f(x - eps v)) / 2 eps. Everything runs through sb_eval's float64 mode; so
 * that a float32 wrt can be perturbed by a tiny eps, it is replaced in the graph by
 * cast(<name>#f64, float32), whose value is a float64 input (in float64 mode the cast keeps
 * float64). The error of one comparison is min(|s - n|, |s - n| / (|s| + |n|)): absolute for
 * small derivatives, relative for large ones. */
#include "autodiff.h"

#include <math.h>
#include <stdio.h>

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A standard normal draw (Box-Muller). */
static double normal(uint64_t *s)
{
    double u1 = ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(splitmix(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* The float64 stand-in of wrt leaf w: memo[w] = cast(w64, w's dtype); *w64 = the new input. */
static sb_status substitute(sb_ad *c, sb_node *w, sb_node **memo, sb_node **w64)
{
    char name[300];
    if ((w->op != SB_OP_INPUT && w->op != SB_OP_SHARED) || !sb_dtype_is_float(w->type.dtype))
        return sb_diag_set(c->d, SB_ERR_TYPE, NULL, 0, 0,
                           "verify_grad: wrt must be float inputs or shared variables");
    snprintf(name, sizeof name, "%s#f64", w->name);
    sb_type t = w->type;
    t.dtype = SB_DTYPE_F64;
    *w64 = sb_input(c->ctx, name, &t);
    if (!*w64)
        return sb_diag_set(c->d, SB_ERR_TYPE, NULL, 0, 0, "verify_grad: name '%s' is taken", name);
    sb_attrs a;
    sb_attrs_init(&a);
    a.dtype = (int8_t)w->type.dtype;
    memo[w->id] = w->type.dtype == SB_DTYPE_F64 ? *w64 : sb_ad_op(c, SB_OP_CAST, 1, w64, &a);
    return memo[w->id] ? SB_OK : c->d->status;
}

/* One check: everything the comparisons need. */
typedef struct check {
    sb_ad c;
    sb_node *cost;      /* rebuilt over the float64 stand-ins */
    int nb0, nb;        /* bindings: the caller's nb0, then wrt i's stand-in at nb0 + i */
    sb_binding *binds;
    sb_array **x0;      /* float64 base value of each wrt */
    char **names;       /* stand-in names */
} check;

static double cost_at(check *k, sb_status *st)
{
    sb_array *res = NULL;
    *st = sb_eval(k->c.ctx, 1, &k->cost, k->nb, k->binds, true, &res, k->c.d);
    if (*st) return NAN;
    double v = sb_array_get_f64(res, 0);
    sb_array_free(res);
    return v;
}

/* Largest error of wrt i over ntests random directions; g is its symbolic gradient's value. */
static double check_one(check *k, int i, const sb_array *g, const sb_verify_opts *o,
                        uint64_t *rng, sb_status *st)
{
    sb_array *x = k->x0[i], *xp = sb_array_copy(x);
    int64_t n = sb_array_numel(x);
    double *v = sb_xmalloc((size_t)(n ? n : 1) * sizeof *v), worst = 0;
    k->binds[k->nb0 + i].value = xp;
    for (int t = 0; t < o->ntests && !*st; t++) {
        double sym = 0, f[2] = {0, 0};
        for (int64_t j = 0; j < n; j++) {
            v[j] = normal(rng);
            sym += sb_array_get_f64(g, j) * v[j];
        }
        for (int s = 0; s < 2 && !*st; s++) {
            double e = s ? -o->eps : o->eps;
            for (int64_t j = 0; j < n; j++)
                sb_array_set_f64(xp, j, sb_array_get_f64(x, j) + e * v[j]);
            f[s] = cost_at(k, st);
        }
        double num = (f[0] - f[1]) / (2 * o->eps), ad = fabs(sym - num);
        double err = fmin(ad, fabs(sym) + fabs(num) > 0 ? ad / (fabs(sym) + fabs(num)) : 0);
        if (!(err <= worst)) worst = err; /* NaN counts as the worst */
    }
    k->binds[k->nb0 + i].value = x;
    free(v);
    sb_array_free(xp);
    return worst;
}

/* The caller's value of leaf w as float64 (a new array), or NULL with a diag. */
static sb_array *base_value(check *k, const sb_node *w)
{
    for (int i = 0; i < k->nb0; i++)
        if (k->binds[i].name && !strcmp(k->binds[i].name, w->name))
            return sb_array_cast(k->binds[i].value, SB_DTYPE_F64);
    sb_diag_set(k->c.d, SB_ERR_VALUE, NULL, 0, 0, "verify_grad: '%s' has no value", w->name);
    return NULL;
}

/* Build the stand-ins, the gradients over them and the bindings. gout[i]: wrt i's gradient. */
static sb_status prepare(check *k, sb_node *cost, int nwrt, sb_node *const *wrt, sb_node **gout)
{
    sb_grad_opts go = {.disconnected_zeros = true};
    sb_status st = sb_grad(k->c.ctx, cost, nwrt, wrt, &go, gout, k->c.d);
    if (st) return st;
    size_t nmemo = sb_ctx_node_count(k->c.ctx);
    sb_node **memo = sb_xcalloc(nmemo, sizeof *memo);
    for (int i = 0; i < nwrt && !st; i++) {
        sb_node *w64 = NULL;
        st = substitute(&k->c, wrt[i], memo, &w64);
        k->x0[i] = st ? NULL : base_value(k, wrt[i]);
        if (!st && !k->x0[i]) st = k->c.d->status;
        if (st) break;
        k->names[i] = sb_xstrdup(w64->name);
        k->binds[k->nb0 + i] = (sb_binding){k->names[i], k->x0[i]};
    }
    if (!st) k->cost = sb_ad_expand(&k->c, cost, memo, nmemo);
    for (int i = 0; i < nwrt && !st; i++) gout[i] = sb_ad_expand(&k->c, gout[i], memo, nmemo);
    free(memo);
    return st ? st : k->c.d->status;
}

/* Contract: see symbench.h. */
sb_status sb_verify_grad(sb_ctx *ctx, sb_node *cost, int nwrt, sb_node *const *wrt, int nbind,
                         const sb_binding *binds, const sb_verify_opts *opts, double *errs,
                         int *worst, sb_diag *d)
{
    sb_diag local = {0};
    sb_verify_opts o = opts ? *opts : (sb_verify_opts){0};
    if (!o.seed) o.seed = 1;
    if (o.ntests <= 0) o.ntests = 3;
    if (o.eps <= 0) o.eps = 1e-6;
    if (o.tol <= 0) o.tol = 1e-4;
    check k = {.c = {ctx, d ? d : &local}, .nb0 = nbind, .nb = nbind + nwrt};
    k.binds = sb_xcalloc((size_t)k.nb, sizeof *k.binds);
    memcpy(k.binds, binds, (size_t)nbind * sizeof *binds);
    k.x0 = sb_xcalloc((size_t)nwrt + 1, sizeof *k.x0);
    k.names = sb_xcalloc((size_t)nwrt + 1, sizeof *k.names);
    sb_node **g = sb_xcalloc((size_t)nwrt + 1, sizeof *g);
    sb_array **gv = sb_xcalloc((size_t)nwrt + 1, sizeof *gv);
    double *ev = sb_xcalloc((size_t)nwrt + 1, sizeof *ev);
    sb_status st = prepare(&k, cost, nwrt, wrt, g);
    if (!st) st = sb_eval(ctx, nwrt, g, k.nb, k.binds, true, gv, k.c.d);
    uint64_t rng = o.seed;
    double max = -1;
    int bad = -1, arg = 0;
    for (int i = 0; i < nwrt && !st; i++) {
        double e = check_one(&k, i, gv[i], &o, &rng, &st);
        ev[i] = e;
        if (errs) errs[i] = e;
        if (!(e <= max)) max = e, arg = i;
        if (!(e <= o.tol) && bad < 0) bad = i;
    }
    if (worst) *worst = arg;
    if (!st && bad >= 0) {
        char buf[160];
        st = sb_diag_set(k.c.d, SB_ERR_VALUE, NULL, 0, 0,
                         "verify_grad: the gradient w.r.t. %s disagrees with finite differences "
                         "(error %.3g > tolerance %.3g)",
                         sb_ad_desc(wrt[bad], buf, sizeof buf), ev[bad], o.tol);
    }
    for (int i = 0; i < nwrt; i++) {
        sb_array_free(k.x0[i]);
        sb_array_free(gv[i]);
        free(k.names[i]);
    }
    free(k.x0), free(k.names), free(g), free(gv), free(ev), free(k.binds);
    return st;
}
