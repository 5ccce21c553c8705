/* cost.c: the cost model used by extraction: flops plus bytes moved, from shapes and dtypes,
 * with numerically unstable forms (log(1+x), log(softmax(x)), log(sum(exp(x))),
 * 1/(1+exp(-x)), exp(x)-1, crossentropy of a softmax) costing more than their stable
 * equivalents (log1p, log_softmax, logsumexp, sigmoid, expm1, ...). */
#include "extract.h"
#include "plugin.h"

#include <math.h>

static double numel(const sb_type *t)
{
    double n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i] >= 0 ? (double)t->dims[i] : SB_COST_UNKNOWN_DIM;
    return n;
}

/* Bytes moved in units of float32 elements. */
static double words(const sb_type *t)
{
    size_t sz = t->dtype < SB_DTYPE_COUNT ? sb_dtype_size(t->dtype) : 4;
    return numel(t) * (double)sz / 4.0;
}

/* Flops per element of an elementwise op. */
static double elem_flops(sb_op op)
{
    switch (op) {
    case SB_OP_EXP: case SB_OP_EXPM1: case SB_OP_LOG: case SB_OP_LOG1P: case SB_OP_LOG2:
    case SB_OP_SIN: case SB_OP_COS: case SB_OP_TANH: case SB_OP_SIGMOID: case SB_OP_ERF:
        return 8;
    case SB_OP_SOFTPLUS: case SB_OP_POW: return 10;
    case SB_OP_DIV: case SB_OP_SQRT: case SB_OP_RECIPROCAL: case SB_OP_MOD:
    case SB_OP_FLOOR_DIVIDE: return 4;
    case SB_OP_WHERE: case SB_OP_CLIP: return 2;
    default: return 1;
    }
}

static double matmul_flops(const sb_type *out, const sb_type *a)
{
    double k = a->ndim ? (a->dims[a->ndim - 1] >= 0 ? (double)a->dims[a->ndim - 1] : SB_COST_UNKNOWN_DIM) : 1;
    return 2.0 * numel(out) * k;
}

double sb_rw_op_cost(sb_op op, const sb_attrs *a, const sb_type *out, int nin,
                     const sb_type *const *in)
{
    (void)a;
    const sb_op_info *info = sb_op_get(op);
    if (info->flags & SB_F_LEAF) return 1;
    double moved = words(out), flops;
    for (int i = 0; i < nin; i++) moved += words(in[i]);
    if (info->flags & SB_F_VIEW) return 1 + 0.01 * moved; /* views move no data */
    switch (info->family) {
    case SB_FAM_ELEMWISE: flops = numel(out) * elem_flops(op); break;
    case SB_FAM_REDUCE: flops = nin ? numel(in[0]) : 0; break;
    case SB_FAM_BLAS: flops = op == SB_OP_MATMUL && nin == 2 ? matmul_flops(out, in[0]) : numel(out); break;
    case SB_FAM_NNET:
        flops = (nin ? numel(in[0]) : numel(out)) * (op == SB_OP_CROSSENTROPY ? 9 : 10);
        break;
    default: flops = numel(out); break;
    }
    return sb_rw_plugin_cost(op, a, out, nin, in, 1 + flops + moved); /* plugins' cost functions */
}

double sb_rw_unstable_penalty(sb_op op, const sb_type *out, int nin, const sb_cost_kids *k)
{
    double pen = 1000 + 50 * numel(out);
    void *u = k->user;
    switch (op) {
    case SB_OP_LOG:
        if (k->has(u, 0, SB_OP_SOFTMAX) || k->has(u, 0, SB_OP_SIGMOID) || k->has_one(u, 0, SB_OP_ADD) ||
            k->has_sub(u, 0, SB_OP_SUM, SB_OP_EXP))
            return pen;
        return 0;
    case SB_OP_DIV:
        if (nin == 2 && ((k->is_one(u, 0) && k->has_sub(u, 1, SB_OP_ADD, SB_OP_EXP)) ||
                         (k->has(u, 0, SB_OP_EXP) && k->has_sub(u, 1, SB_OP_SUM, SB_OP_EXP))))
            return pen;
        return 0;
    case SB_OP_RECIPROCAL: return k->has_sub(u, 0, SB_OP_ADD, SB_OP_EXP) ? pen : 0;
    case SB_OP_SUB: return nin == 2 && k->has(u, 0, SB_OP_EXP) && k->is_one(u, 1) ? pen : 0;
    case SB_OP_CROSSENTROPY: return k->has(u, 0, SB_OP_SOFTMAX) ? pen : 0;
    default: return 0;
    }
}

/* ---- the model on e-graph classes -------------------------------------------------------- */
typedef struct eg_kids {
    sb_egraph *eg;
    const sb_id *kids;
} eg_kids;

static bool eg_has(void *user, int i, sb_op op)
{
    eg_kids *k = user;
    const sb_eclass *c = sb_eg_class(k->eg, k->kids[i]);
    for (uint32_t j = 0; j < c->nodes.n; j++)
        if (k->eg->nodes[c->nodes.v[j]].op == op) return true;
    return false;
}

/* Does class c hold an op e-node with a child satisfying (sub op | the constant 1)? */
static bool eg_has_child(eg_kids *k, sb_id cls, sb_op op, int sub)
{
    const sb_eclass *c = sb_eg_class(k->eg, cls);
    for (uint32_t j = 0; j < c->nodes.n; j++) {
        sb_id n = c->nodes.v[j];
        if (k->eg->nodes[n].op != op) continue;
        for (int i = 0; i < k->eg->nodes[n].nin; i++) {
            eg_kids kk = {k->eg, sb_eg_kids(k->eg, n)};
            double v;
            if (sub >= 0 ? eg_has(&kk, i, (sb_op)sub)
                         : sb_eg_const_scalar(k->eg, kk.kids[i], &v) && v == 1.0)
                return true;
        }
    }
    return false;
}

static bool eg_has_sub(void *user, int i, sb_op op, sb_op sub)
{
    eg_kids *k = user;
    return eg_has_child(k, k->kids[i], op, (int)sub);
}

static bool eg_has_one(void *user, int i, sb_op op)
{
    eg_kids *k = user;
    return eg_has_child(k, k->kids[i], op, -1);
}

static bool eg_is_one(void *user, int i)
{
    eg_kids *k = user;
    double v;
    return sb_eg_const_scalar(k->eg, k->kids[i], &v) && v == 1.0;
}

double sb_rw_enode_cost(sb_egraph *eg, sb_id n)
{
    const sb_enode *e = &eg->nodes[n];
    const sb_id *kids = sb_eg_kids(eg, n);
    const sb_type *in[e->nin > 0 ? e->nin : 1];
    for (int i = 0; i < e->nin; i++) in[i] = &sb_eg_class(eg, kids[i])->type;
    const sb_type *out = &sb_eg_class(eg, n)->type;
    double c = sb_rw_op_cost((sb_op)e->op, sb_attrs_get(eg->ctx, e->attr), out, e->nin, in);
    eg_kids k = {eg, kids};
    sb_cost_kids ck = {eg_has, eg_has_sub, eg_has_one, eg_is_one, &k};
    return c + sb_rw_unstable_penalty((sb_op)e->op, out, e->nin, &ck);
}

/* ---- the model on plain terms ------------------------------------------------------------ */
static bool is_one_node(const sb_node *n)
{
    if (n->op != SB_OP_CONST) return false;
    int64_t m = sb_array_numel(n->value);
    for (int64_t i = 0; i < m; i++)
        if (sb_array_get_f64(n->value, i) != 1.0) return false;
    return m > 0;
}

static bool t_has(void *user, int i, sb_op op)
{
    return ((const sb_node *)user)->in[i]->op == op;
}

static bool t_has_sub(void *user, int i, sb_op op, sb_op sub)
{
    const sb_node *k = ((const sb_node *)user)->in[i];
    if (k->op != op) return false;
    for (int j = 0; j < k->nin; j++)
        if (k->in[j]->op == sub) return true;
    return false;
}

static bool t_has_one(void *user, int i, sb_op op)
{
    const sb_node *k = ((const sb_node *)user)->in[i];
    if (k->op != op) return false;
    for (int j = 0; j < k->nin; j++)
        if (is_one_node(k->in[j])) return true;
    return false;
}

static bool t_is_one(void *user, int i)
{
    return is_one_node(((const sb_node *)user)->in[i]);
}

static double node_cost(const sb_node *n)
{
    const sb_type *in[n->nin > 0 ? n->nin : 1];
    for (int i = 0; i < n->nin; i++) in[i] = &n->in[i]->type;
    double c = sb_rw_op_cost((sb_op)n->op, n->attrs, &n->type, n->nin, in);
    sb_cost_kids ck = {t_has, t_has_sub, t_has_one, t_is_one, (void *)n};
    return c + sb_rw_unstable_penalty((sb_op)n->op, &n->type, n->nin, &ck);
}

static double dag_rec(const sb_node *n, uint8_t *seen)
{
    if (seen[n->id]) return 0;
    seen[n->id] = 1;
    double c = node_cost(n);
    for (int i = 0; i < n->nin; i++) c += dag_rec(n->in[i], seen);
    return c;
}

double sb_rw_term_cost(sb_node *const *roots, int n)
{
    uint32_t maxid = 0;
    for (int i = 0; i < n; i++) maxid = roots[i]->id > maxid ? roots[i]->id : maxid;
    uint8_t *seen = sb_xcalloc((size_t)maxid + 1, 1);
    double c = 0;
    for (int i = 0; i < n; i++) c += dag_rec(roots[i], seen);
    free(seen);
    return c;
}
