/* analysis.c: e-class analyses (egg's Analysis: make, merge, modify).
 *
 * Each class carries: its type (dtype + shape, unified on merge), its constant value when it is
 * a small constant (constant folding: scalar math here, the reference evaluator for small
 * arrays), and facts usable in rule conditions (nonnegative, positive, nonzero, integer). */
#include "egraph.h"

#include <math.h>

#define FOLD_MAX_NUMEL 64 /* constants up to this many elements are carried and folded */

/* ---- types ------------------------------------------------------------------------------- */
bool sb_eg_types_unify(const sb_type *a, const sb_type *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i] && a->dims[i] >= 0 && b->dims[i] >= 0) return false;
    return a->dtype == b->dtype || a->weak || b->weak;
}

/* Merge type b into a (which unify); true if a changed. */
static bool type_merge(sb_type *a, const sb_type *b)
{
    bool ch = false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] < 0 && b->dims[i] >= 0) a->dims[i] = b->dims[i], ch = true;
    if (a->weak && !b->weak) {
        ch |= a->dtype != b->dtype || a->weak;
        a->dtype = b->dtype;
        a->weak = false;
    } else if (a->weak && b->weak && a->dtype != b->dtype && sb_dtype_is_float(b->dtype)) {
        a->dtype = b->dtype;
        ch = true;
    }
    return ch;
}

/* ---- facts ------------------------------------------------------------------------------- */
unsigned sb_eg_array_facts(const sb_array *a)
{
    unsigned f = SB_FACT_NONNEG | SB_FACT_POS | SB_FACT_NONZERO | SB_FACT_INTEGER;
    int64_t n = sb_array_numel(a);
    for (int64_t i = 0; i < n && f; i++) {
        double v = sb_array_get_f64(a, i);
        if (isnan(v)) return 0;
        if (!(v >= 0)) f &= ~(unsigned)SB_FACT_NONNEG;
        if (!(v > 0)) f &= ~(unsigned)SB_FACT_POS;
        if (v == 0) f &= ~(unsigned)SB_FACT_NONZERO;
        if (!isfinite(v) || v != floor(v)) f &= ~(unsigned)SB_FACT_INTEGER;
    }
    return f;
}

static unsigned dtype_facts(sb_dtype dt)
{
    if (dt == SB_DTYPE_BOOL) return SB_FACT_NONNEG | SB_FACT_INTEGER;
    if (dt == SB_DTYPE_U8) return SB_FACT_NONNEG | SB_FACT_INTEGER;
    return sb_dtype_is_int(dt) ? SB_FACT_INTEGER : 0;
}

#define F_POS (SB_FACT_POS | SB_FACT_NONNEG | SB_FACT_NONZERO)

/* Facts of op applied to children with facts k[] (AND/OR of what each op keeps). */
static unsigned op_facts(sb_op op, int nin, const unsigned *k)
{
    unsigned a = nin > 0 ? k[0] : 0, b = nin > 1 ? k[1] : 0, all = ~0u;
    for (int i = 0; i < nin; i++) all &= k[i];
    switch (op) {
    case SB_OP_EXP: case SB_OP_SIGMOID: case SB_OP_SOFTMAX: case SB_OP_SOFTPLUS: case SB_OP_ONES:
    case SB_OP_ONES_LIKE: return F_POS;
    case SB_OP_ABS: case SB_OP_SQR:
        return SB_FACT_NONNEG | (a & SB_FACT_NONZERO ? F_POS : 0) | (a & SB_FACT_INTEGER);
    case SB_OP_SQRT: return SB_FACT_NONNEG | (a & SB_FACT_POS ? F_POS : 0);
    case SB_OP_RELU: return SB_FACT_NONNEG | (a & SB_FACT_POS ? F_POS : 0) | (a & SB_FACT_INTEGER);
    case SB_OP_NEG: return a & (SB_FACT_NONZERO | SB_FACT_INTEGER);
    case SB_OP_RECIPROCAL: return a & (SB_FACT_POS | SB_FACT_NONNEG | SB_FACT_NONZERO);
    case SB_OP_ADD: {
        unsigned f = all & (SB_FACT_NONNEG | SB_FACT_INTEGER);
        if ((f & SB_FACT_NONNEG) && ((a | b) & SB_FACT_POS)) f |= F_POS;
        return f;
    }
    case SB_OP_MUL: return all & (SB_FACT_NONNEG | SB_FACT_POS | SB_FACT_NONZERO | SB_FACT_INTEGER);
    case SB_OP_DIV: return all & (SB_FACT_NONNEG | SB_FACT_POS | SB_FACT_NONZERO);
    case SB_OP_POW: return a & SB_FACT_POS ? F_POS : 0;
    case SB_OP_MAXIMUM: return ((a | b) & (SB_FACT_POS | SB_FACT_NONNEG)) | (all & SB_FACT_INTEGER) |
                               ((a | b) & SB_FACT_POS ? SB_FACT_NONZERO : 0);
    case SB_OP_MINIMUM: return all;
    case SB_OP_SUM: case SB_OP_PROD: return a & (SB_FACT_NONNEG | SB_FACT_POS | SB_FACT_NONZERO |
                                                 SB_FACT_INTEGER);
    case SB_OP_MEAN: case SB_OP_MAX: case SB_OP_MIN: return a & (SB_FACT_NONNEG | SB_FACT_POS |
                                                                 SB_FACT_NONZERO);
    case SB_OP_FLOOR: case SB_OP_CEIL: case SB_OP_ROUND: return SB_FACT_INTEGER | (a & SB_FACT_NONNEG);
    case SB_OP_SIGN: return SB_FACT_INTEGER | (a & (SB_FACT_NONNEG | SB_FACT_POS | SB_FACT_NONZERO));
    case SB_OP_ZEROS: case SB_OP_ZEROS_LIKE: case SB_OP_ARGMAX: case SB_OP_ARGMIN: case SB_OP_SHAPE:
    case SB_OP_EYE: case SB_OP_ONE_HOT:
        return SB_FACT_NONNEG | SB_FACT_INTEGER;
    case SB_OP_CAST: return a & (SB_FACT_NONNEG | SB_FACT_INTEGER);
    case SB_OP_RESHAPE: case SB_OP_TRANSPOSE: case SB_OP_EXPAND_DIMS: case SB_OP_SQUEEZE:
    case SB_OP_BROADCAST_TO: case SB_OP_SPLIT: case SB_OP_SUBTENSOR: case SB_OP_ADV_SUBTENSOR:
    case SB_OP_DISCONNECTED_GRAD: return a;
    case SB_OP_CONCATENATE: case SB_OP_STACK: return all;
    case SB_OP_WHERE: return b & (nin > 2 ? k[2] : 0);
    case SB_OP_CLIP: return b & (SB_FACT_NONNEG | SB_FACT_POS | SB_FACT_NONZERO);
    default: return 0;
    }
}

/* ---- constant folding -------------------------------------------------------------------- */
/* op on scalars; false if it is not a scalar elementwise op we fold here (or undefined). */
static bool scalar_fold(sb_op op, const double *x, int nin, bool is_int, double *r)
{
    double a = nin > 0 ? x[0] : 0, b = nin > 1 ? x[1] : 0;
    switch (op) {
    case SB_OP_NEG: *r = -a; break;
    case SB_OP_ABS: *r = fabs(a); break;
    case SB_OP_SIGN: *r = (a > 0) - (a < 0); break;
    case SB_OP_EXP: *r = exp(a); break;
    case SB_OP_EXPM1: *r = expm1(a); break;
    case SB_OP_LOG: *r = log(a); break;
    case SB_OP_LOG1P: *r = log1p(a); break;
    case SB_OP_LOG2: *r = log2(a); break;
    case SB_OP_SQRT: *r = sqrt(a); break;
    case SB_OP_SQR: *r = a * a; break;
    case SB_OP_RECIPROCAL: *r = 1.0 / a; break;
    case SB_OP_SIN: *r = sin(a); break;
    case SB_OP_COS: *r = cos(a); break;
    case SB_OP_TANH: *r = tanh(a); break;
    case SB_OP_SIGMOID: *r = 1.0 / (1.0 + exp(-a)); break;
    case SB_OP_SOFTPLUS: *r = a > 30 ? a : log1p(exp(a)); break;
    case SB_OP_RELU: *r = a > 0 ? a : 0; break;
    case SB_OP_ERF: *r = erf(a); break;
    case SB_OP_FLOOR: *r = floor(a); break;
    case SB_OP_CEIL: *r = ceil(a); break;
    case SB_OP_ROUND: *r = nearbyint(a); break;
    case SB_OP_LOGICAL_NOT: *r = a == 0; break;
    case SB_OP_CAST: *r = a; break;
    case SB_OP_ADD: *r = a + b; break;
    case SB_OP_SUB: *r = a - b; break;
    case SB_OP_MUL: *r = a * b; break;
    case SB_OP_DIV: *r = a / b; break;
    case SB_OP_FLOOR_DIVIDE: if (b == 0) return false; *r = floor(a / b); break;
    case SB_OP_MOD: if (b == 0) return false; *r = a - floor(a / b) * b; break;
    case SB_OP_POW: if (is_int && b < 0) return false; *r = pow(a, b); break;
    case SB_OP_MAXIMUM: *r = isnan(a) || isnan(b) ? NAN : fmax(a, b); break;
    case SB_OP_MINIMUM: *r = isnan(a) || isnan(b) ? NAN : fmin(a, b); break;
    case SB_OP_LT: *r = a < b; break;
    case SB_OP_LE: *r = a <= b; break;
    case SB_OP_GT: *r = a > b; break;
    case SB_OP_GE: *r = a >= b; break;
    case SB_OP_EQ: *r = a == b; break;
    case SB_OP_NE: *r = a != b; break;
    case SB_OP_LOGICAL_AND: *r = a != 0 && b != 0; break;
    case SB_OP_LOGICAL_OR: *r = a != 0 || b != 0; break;
    case SB_OP_WHERE: *r = a != 0 ? b : x[2]; break;
    case SB_OP_CLIP: *r = fmin(fmax(a, b), x[2]); break;
    default: return false;
    }
    return true;
}

/* Can r be stored in dtype dt without overflow (NumPy would wrap; we just do not fold)? */
static bool int_fits(sb_dtype dt, double r)
{
    switch (dt) {
    case SB_DTYPE_U8: return r >= 0 && r <= 255;
    case SB_DTYPE_I32: return r >= -2147483648.0 && r <= 2147483647.0;
    case SB_DTYPE_I64: return fabs(r) <= 9007199254740992.0; /* exact in a double */
    default: return true;
    }
}

/* The value of op on constant children (vals), of type t; NULL when not folded. */
static sb_array *fold(sb_egraph *eg, const sb_enode *n, const sb_array *const *vals,
                      const sb_type *t)
{
    int64_t numel = sb_type_numel(t);
    if (numel < 0 || numel > FOLD_MAX_NUMEL || t->dtype >= SB_DTYPE_COUNT) return NULL;
    sb_op op = (sb_op)n->op;
    if (sb_op_get(op)->flags & (SB_F_SYMBOLIC | SB_F_LEAF)) return NULL;
    if (op == SB_OP_ZEROS_LIKE || op == SB_OP_ONES_LIKE || op == SB_OP_ZEROS || op == SB_OP_ONES ||
        op == SB_OP_FULL) {
        sb_array *a = sb_array_new(t->dtype, t->ndim, t->dims);
        double v = op == SB_OP_ONES_LIKE || op == SB_OP_ONES ? 1
                 : op == SB_OP_FULL ? sb_attrs_get(eg->ctx, n->attr)->value : 0;
        for (int64_t i = 0; i < numel; i++) sb_array_set_f64(a, i, v);
        return a;
    }
    for (int i = 0; i < n->nin; i++)
        if (!vals[i]) return NULL;
    bool scalars = numel == 1 && (sb_op_get(op)->flags & SB_F_ELEMWISE);
    for (int i = 0; i < n->nin && scalars; i++) scalars = sb_array_numel(vals[i]) == 1;
    if (scalars) {
        double x[3] = {0}, r;
        bool is_int = !sb_dtype_is_float(t->dtype);
        for (int i = 0; i < n->nin && i < 3; i++) x[i] = sb_array_get_f64(vals[i], 0);
        if (n->nin > 3 || !scalar_fold(op, x, n->nin, is_int, &r) || !int_fits(t->dtype, r))
            return NULL; /* undefined here (int ** negative, int // 0, overflow): not folded */
        sb_array *a = sb_array_new(t->dtype, t->ndim, t->dims);
        sb_array_set_f64(a, 0, r);
        return a;
    }
    if (op == SB_OP_POW && !sb_dtype_is_float(t->dtype) && n->nin == 2) /* int ** negative */
        for (int64_t i = 0; i < sb_array_numel(vals[1]); i++)
            if (sb_array_get_f64(vals[1], i) < 0) return NULL;
    if ((op == SB_OP_FLOOR_DIVIDE || op == SB_OP_MOD) && !sb_dtype_is_float(t->dtype) && n->nin == 2)
        for (int64_t i = 0; i < sb_array_numel(vals[1]); i++)
            if (sb_array_get_f64(vals[1], i) == 0) return NULL;
    /* Small arrays: the reference evaluator on constant nodes. */
    sb_node *in[n->nin > 0 ? n->nin : 1];
    for (int i = 0; i < n->nin; i++) in[i] = sb_const(eg->ctx, vals[i]);
    sb_diag d = {0};
    sb_node *x = sb_apply(eg->ctx, op, n->nin, in, sb_attrs_get(eg->ctx, n->attr), &d);
    sb_array *res = NULL;
    if (!x || sb_eval(eg->ctx, 1, &x, 0, NULL, false, &res, &d) != SB_OK) return NULL;
    if (res && (res->dtype != t->dtype || res->ndim != t->ndim)) {
        sb_array_free(res);
        return NULL;
    }
    return res;
}

/* ---- make / merge / modify --------------------------------------------------------------- */
static void make_leaf(const sb_enode *n, sb_eclass *out)
{
    out->type = n->leaf->type;
    out->facts = dtype_facts(out->type.dtype);
    const sb_array *v = n->leaf->value;
    if (v) {
        out->facts |= sb_eg_array_facts(v);
        if (sb_array_numel(v) <= FOLD_MAX_NUMEL) out->val = sb_array_copy(v);
    }
}

bool sb_eg_analysis_make(sb_egraph *eg, const sb_enode *n, const sb_id *kids, sb_eclass *out)
{
    memset(out, 0, sizeof *out);
    if (n->leaf) {
        make_leaf(n, out);
        return true;
    }
    int nin = n->nin;
    const sb_type *tin[nin > 0 ? nin : 1];
    const sb_array *vals[nin > 0 ? nin : 1];
    unsigned facts[nin > 0 ? nin : 1];
    bool all_const = true;
    for (int i = 0; i < nin; i++) {
        const sb_eclass *c = &eg->cls[sb_eg_find(eg, kids[i])];
        tin[i] = &c->type;
        vals[i] = c->val;
        facts[i] = c->facts;
        all_const &= c->val != NULL;
    }
    const sb_attrs *attrs = sb_attrs_get(eg->ctx, n->attr);
    if (sb_infer_type((sb_op)n->op, nin, tin, attrs, vals, &out->type, NULL) != SB_OK) return false;
    if (out->type.dtype >= SB_DTYPE_COUNT) return false;
    out->facts = op_facts((sb_op)n->op, nin, facts) | dtype_facts(out->type.dtype);
    if (out->type.dtype == SB_DTYPE_BOOL) out->facts &= ~(unsigned)(SB_FACT_POS | SB_FACT_NONZERO);
    bool like = n->op == SB_OP_ZEROS_LIKE || n->op == SB_OP_ONES_LIKE; /* value from the type */
    if (eg->fold && (all_const || like)) {
        out->val = fold(eg, n, vals, &out->type);
        if (out->val) out->facts = sb_eg_array_facts(out->val);
    }
    return true;
}

bool sb_eg_analysis_merge(sb_eclass *dst, const sb_eclass *src)
{
    bool ch = type_merge(&dst->type, &src->type);
    if (!dst->val && src->val) {
        dst->val = sb_array_copy(src->val);
        ch = true;
    }
    if ((dst->facts | src->facts) != dst->facts) {
        dst->facts |= src->facts;
        ch = true;
    }
    return ch;
}

void sb_eg_analysis_modify(sb_egraph *eg, sb_id c)
{
    c = sb_eg_find(eg, c);
    sb_eclass *cl = &eg->cls[c];
    if (!cl->val) return;
    /* A constructor (zeros_like(x), ones((3, 4)), ...) already says what the constant is: an
     * array leaf would only be longer to print. Its value still serves matching and facts. */
    bool ctor = false;
    for (uint32_t i = 0; i < cl->nodes.n; i++) {
        sb_op op = (sb_op)eg->nodes[cl->nodes.v[i]].op;
        if (op == SB_OP_CONST) return;
        ctor |= op == SB_OP_ZEROS_LIKE || op == SB_OP_ONES_LIKE || op == SB_OP_ZEROS ||
                op == SB_OP_ONES || op == SB_OP_FULL || op == SB_OP_EYE || op == SB_OP_ARANGE;
    }
    if (ctor && sb_array_numel(cl->val) != 1) return;
    sb_node *k;
    if (cl->type.ndim == 0 && cl->type.weak)
        k = sb_const_scalar(eg->ctx, sb_array_get_f64(cl->val, 0), cl->type.dtype, true);
    else if (cl->val->dtype == cl->type.dtype)
        k = sb_const(eg->ctx, cl->val);
    else
        return;
    sb_id id = sb_eg_add(eg, SB_OP_CONST, 0, 0, NULL, k);
    if (id != SB_ID_NONE && sb_eg_types_unify(&eg->cls[sb_eg_find(eg, id)].type, &cl->type))
        sb_eg_union(eg, c, id, (sb_just){.rule = "constant-fold"});
}

bool sb_eg_const_scalar(sb_egraph *eg, sb_id c, double *v)
{
    const sb_array *a = eg->cls[sb_eg_find(eg, c)].val;
    if (!a) return false;
    int64_t n = sb_array_numel(a);
    if (n < 1) return false;
    double x = sb_array_get_f64(a, 0);
    for (int64_t i = 1; i < n; i++)
        if (sb_array_get_f64(a, i) != x) return false;
    *v = x;
    return true;
}
