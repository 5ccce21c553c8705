/* eval.c: the reference CPU evaluator (sb_eval): demand-driven evaluation of a node DAG with
 * memoization.
 *
 * Outputs are evaluated by an explicit stack (no recursion depth limit): a node runs once all
 * its inputs have values; ifelse evaluates its condition first and then only the branch taken
 * (lazy), everything else is strict. Each node's result type comes from the op's type rule
 * (sb_infer_type) applied to the concrete input types, then its kernel runs. A value is
 * released when its last consumer has run (outputs are kept). In f64 mode float32 leaves are
 * widened once and every float op computes and returns float64. */
#include "tensor.h"
#include "profile.h"

typedef struct evaluator {
    bool f64;
    sb_diag *d;
    int nbind;
    const sb_binding *binds;
    int nnodes;
    sb_tensor *val;    /* by node id */
    uint8_t *state;    /* 0 not evaluated, 1 done */
    int32_t *uses;     /* consumers (among reachable nodes) yet to run */
    uint8_t *reach;    /* reachable from the outputs */
} evaluator;

sb_be_kernel_fn sb_be_cpu_kernel(sb_op op)
{
    if (op >= SB_OP_COUNT) return sb_be_k_plugin; /* ops registered by plugins */
    switch (op) {
    case SB_OP_WHERE: return sb_be_k_where;
    case SB_OP_CLIP: return sb_be_k_clip;
    case SB_OP_CAST: return sb_be_k_cast;
    case SB_OP_SUM: case SB_OP_PROD: case SB_OP_MEAN: case SB_OP_MAX: case SB_OP_MIN:
    case SB_OP_ALL: case SB_OP_ANY: case SB_OP_LOGSUMEXP: return sb_be_k_reduce;
    case SB_OP_ARGMAX: case SB_OP_ARGMIN: return sb_be_k_argreduce;
    case SB_OP_SOFTMAX: case SB_OP_LOG_SOFTMAX: return sb_be_k_softmax;
    case SB_OP_CROSSENTROPY: return sb_be_k_crossentropy;
    case SB_OP_MATMUL: return sb_be_k_matmul;
    case SB_OP_OUTER: return sb_be_k_outer;
    case SB_OP_RESHAPE: return sb_be_k_reshape;
    case SB_OP_TRANSPOSE: return sb_be_k_transpose;
    case SB_OP_EXPAND_DIMS: return sb_be_k_expand_dims;
    case SB_OP_SQUEEZE: return sb_be_k_squeeze;
    case SB_OP_CONCATENATE: return sb_be_k_concatenate;
    case SB_OP_STACK: return sb_be_k_stack;
    case SB_OP_SPLIT: return sb_be_k_split;
    case SB_OP_BROADCAST_TO: return sb_be_k_broadcast_to;
    case SB_OP_SHAPE: return sb_be_k_shape;
    case SB_OP_ZEROS: case SB_OP_ONES: case SB_OP_FULL: case SB_OP_ZEROS_LIKE:
    case SB_OP_ONES_LIKE: return sb_be_k_fill;
    case SB_OP_ARANGE: return sb_be_k_arange;
    case SB_OP_EYE: return sb_be_k_eye;
    case SB_OP_ONE_HOT: return sb_be_k_one_hot;
    case SB_OP_SUBTENSOR: case SB_OP_ADV_SUBTENSOR: return sb_be_k_subtensor;
    case SB_OP_SET_SUBTENSOR: case SB_OP_INC_SUBTENSOR: return sb_be_k_set_subtensor;
    case SB_OP_DISCONNECTED_GRAD: return sb_be_k_identity;
    default: break;
    }
    const sb_op_info *info = sb_op_get(op);
    if (info->flags & (SB_F_LEAF | SB_F_SYMBOLIC) || op == SB_OP_IFELSE) return NULL;
    if (info->flags & SB_F_ELEMWISE) return info->arity == 1 ? sb_be_k_unary : sb_be_k_binary;
    return NULL;
}

/* ---- leaves ------------------------------------------------------------------------------ */
/* Widen a float32 value to float64 in f64 mode (replaces *t). */
static void widen(evaluator *ev, sb_tensor *t)
{
    if (!ev->f64 || t->dtype != SB_DTYPE_F32) return;
    sb_tensor w = sb_be_tensor_as(t, SB_DTYPE_F64);
    sb_be_tensor_release(t);
    *t = w;
}

sb_status sb_be_bound_value(const sb_node *n, int nbind, const sb_binding *binds,
                            const sb_array **value, sb_diag *d)
{
    const char *kind = n->op == SB_OP_INPUT ? "input" : "shared variable";
    const sb_array *v = NULL;
    for (int i = 0; i < nbind && !v; i++)
        if (binds[i].name && !strcmp(binds[i].name, n->name)) v = binds[i].value;
    if (!v) return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "%s '%s' has no value", kind, n->name);
    bool ok = v->dtype == n->type.dtype && v->ndim == n->type.ndim;
    for (int i = 0; ok && i < v->ndim; i++) ok = n->type.dims[i] < 0 || n->type.dims[i] == v->shape[i];
    if (!ok) {
        char want[160], got[160];
        sb_type g = sb_type_make(v->dtype, v->ndim, v->shape);
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "%s '%s': expected %s, got %s", kind,
                           n->name, sb_type_str(&n->type, want, sizeof want),
                           sb_type_str(&g, got, sizeof got));
    }
    *value = v;
    return SB_OK;
}

/* The value bound to an input / shared variable, checked against its declared type. */
static sb_status eval_variable(evaluator *ev, const sb_node *n, sb_tensor *out)
{
    const sb_array *v;
    sb_status st = sb_be_bound_value(n, ev->nbind, ev->binds, &v, ev->d);
    if (st) return st;
    *out = sb_be_tensor_wrap(v);
    widen(ev, out);
    return SB_OK;
}

static sb_status eval_leaf(evaluator *ev, const sb_node *n, sb_tensor *out)
{
    switch (n->op) {
    case SB_OP_INPUT:
    case SB_OP_SHARED: return eval_variable(ev, n, out);
    case SB_OP_CONST:
        *out = sb_be_tensor_wrap(n->value);
        widen(ev, out);
        return SB_OK;
    default:
        return sb_diag_set(ev->d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "pattern variable '?%s' cannot be evaluated", n->name ? n->name : "");
    }
}

/* ---- one node ---------------------------------------------------------------------------- */
/* squeeze without axes drops the dims *statically* of size 1: make them explicit so that the
 * type rule run on concrete dims agrees. */
static void squeeze_attrs(const sb_node *n, sb_attrs *a)
{
    *a = *n->attrs;
    if (n->op != SB_OP_SQUEEZE || a->naxis >= 0) return;
    a->naxis = 0;
    for (int i = 0; i < n->in[0]->type.ndim; i++)
        if (n->in[0]->type.dims[i] == 1) a->axis[a->naxis++] = i;
}

/* The result type of n on its concrete inputs (the op's type rule). */
static sb_status concrete_type(evaluator *ev, const sb_node *n, const sb_attrs *a,
                               sb_type *out)
{
    int nin = n->nin;
    sb_type ct[nin > 0 ? nin : 1];
    const sb_type *tp[nin > 0 ? nin : 1];
    sb_array av[nin > 0 ? nin : 1];
    const sb_array *vp[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) {
        const sb_tensor *v = &ev->val[n->in[i]->id];
        ct[i] = n->in[i]->type;
        ct[i].ndim = (int8_t)v->ndim;
        memcpy(ct[i].dims, v->shape, sizeof v->shape);
        tp[i] = &ct[i];
        vp[i] = NULL;
        if (sb_be_tensor_is_contig(v)) {
            memset(&av[i], 0, sizeof av[i]);
            av[i].dtype = v->dtype;
            av[i].ndim = v->ndim;
            memcpy(av[i].shape, v->shape, sizeof v->shape);
            av[i].data = sb_be_tensor_ptr(v);
            vp[i] = &av[i];
        }
    }
    sb_status st = sb_infer_type((sb_op)n->op, nin, tp, a, vp, out, ev->d);
    out->dtype = sb_be_float_dt(out->dtype, ev->f64);
    return st;
}

/* Check a kernel's result against the type rule's (a mismatch is a bug in one of them). */
static sb_status check_result(evaluator *ev, const sb_node *n, const sb_type *t,
                              const sb_tensor *r)
{
    bool ok = r->dtype == t->dtype && r->ndim == t->ndim;
    for (int i = 0; ok && i < t->ndim; i++) ok = t->dims[i] < 0 || t->dims[i] == r->shape[i];
    if (ok) return SB_OK;
    char want[160], got[160];
    sb_type g = sb_type_make(r->dtype, r->ndim, r->shape);
    return sb_diag_set(ev->d, SB_ERR_INTERNAL, NULL, 0, 0,
                       "cpu kernel for %s made %s where its type rule says %s",
                       sb_op_get((sb_op)n->op)->name, sb_type_str(&g, got, sizeof got),
                       sb_type_str(t, want, sizeof want));
}

static sb_status eval_op(evaluator *ev, const sb_node *n, sb_tensor *out)
{
    const sb_op_info *info = sb_op_get((sb_op)n->op);
    if (info->flags & SB_F_SYMBOLIC)
        return sb_diag_set(ev->d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "%s must be expanded before evaluation", info->name);
    sb_be_kernel_fn fn = sb_be_cpu_kernel((sb_op)n->op);
    if (!fn)
        return sb_diag_set(ev->d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "the cpu backend has no kernel for %s", info->name);
    sb_attrs a;
    squeeze_attrs(n, &a);
    sb_be_call c = {.node = n, .a = &a, .nin = n->nin, .f64 = ev->f64, .d = ev->d};
    sb_tensor in[n->nin > 0 ? n->nin : 1];
    for (int i = 0; i < n->nin; i++) in[i] = ev->val[n->in[i]->id];
    c.in = in;
    sb_status st = concrete_type(ev, n, &a, &c.out);
    if (st) return st;
    if ((st = fn(&c, out))) return st;
    if ((st = check_result(ev, n, &c.out, out))) sb_be_tensor_release(out);
    return st;
}

/* eval_op timed for the profiler (core/profile.h): the op, its output's bytes, and whether it
 * allocated (a buffer of its own, not a view of an input). */
static sb_status eval_op_profiled(evaluator *ev, const sb_node *n, sb_tensor *out)
{
    double t0 = sb_prof_begin();
    sb_status st = eval_op(ev, n, out);
    bool fresh = !st && out->buf && out->buf->owned;
    for (int i = 0; fresh && i < n->nin; i++) fresh = ev->val[n->in[i]->id].buf != out->buf;
    size_t bytes = st ? 0 : (size_t)sb_be_tensor_numel(out) * sb_dtype_size(out->dtype);
    sb_prof_end(t0, n->id, st ? NULL : sb_op_get((sb_op)n->op)->name, bytes, fresh);
    return st;
}

/* ---- the DAG ----------------------------------------------------------------------------- */
/* Mark the nodes reachable from outs and count each one's consumers. */
static void count_uses(evaluator *ev, int nout, sb_node *const *outs)
{
    sb_ptrvec st = {0};
    for (int i = 0; i < nout; i++) sb_ptrvec_push(&st, outs[i]);
    while (st.n) {
        sb_node *n = st.v[--st.n];
        if (ev->reach[n->id]) continue;
        ev->reach[n->id] = 1;
        for (int i = 0; i < n->nin; i++) {
            ev->uses[n->in[i]->id]++;
            sb_ptrvec_push(&st, n->in[i]);
        }
    }
    sb_ptrvec_free(&st);
    for (int i = 0; i < nout; i++) ev->uses[outs[i]->id] += 1 << 24; /* outputs stay */
}

/* One consumer of m has run: drop m's value after its last. */
static void used(evaluator *ev, const sb_node *m)
{
    if (--ev->uses[m->id] == 0) sb_be_tensor_release(&ev->val[m->id]);
}

/* ifelse once its condition is known: the branch to evaluate, or NULL when n is ready (its
 * value is then in *out). */
static sb_node *ifelse_step(evaluator *ev, sb_node *n, sb_tensor *out)
{
    const sb_tensor *cv = &ev->val[n->in[0]->id];
    sb_node *br = sb_be_tensor_get_f64(cv, 0) != 0 ? n->in[1] : n->in[2];
    if (!ev->state[br->id]) return br;
    *out = sb_be_tensor_as(&ev->val[br->id], sb_be_float_dt(n->type.dtype, ev->f64));
    used(ev, n->in[0]);
    used(ev, br);
    return NULL;
}

/* Evaluate n's pending inputs first (pushing them), then n. */
static sb_status run_stack(evaluator *ev, int nout, sb_node *const *outs)
{
    sb_ptrvec st = {0};
    sb_status rc = SB_OK;
    for (int i = nout - 1; i >= 0; i--) sb_ptrvec_push(&st, outs[i]);
    while (st.n && !rc) {
        sb_node *n = st.v[st.n - 1];
        if (ev->state[n->id]) {
            st.n--;
            continue;
        }
        sb_tensor out = {0};
        if (n->op == SB_OP_IFELSE) {
            if (!ev->state[n->in[0]->id]) {
                sb_ptrvec_push(&st, n->in[0]);
                continue;
            }
            sb_node *br = ifelse_step(ev, n, &out);
            if (br) {
                sb_ptrvec_push(&st, br);
                continue;
            }
        } else {
            bool ready = true;
            for (int i = n->nin - 1; i >= 0; i--)
                if (!ev->state[n->in[i]->id]) {
                    sb_ptrvec_push(&st, n->in[i]);
                    ready = false;
                }
            if (!ready) continue;
            rc = n->nin == 0 && (sb_op_get((sb_op)n->op)->flags & SB_F_LEAF)
                     ? eval_leaf(ev, n, &out)
                     : sb_prof_on ? eval_op_profiled(ev, n, &out) : eval_op(ev, n, &out);
            if (rc) break;
            for (int i = 0; i < n->nin; i++) used(ev, n->in[i]);
        }
        ev->val[n->id] = out;
        ev->state[n->id] = 1;
        st.n--;
    }
    sb_ptrvec_free(&st);
    return rc;
}

sb_status sb_eval(sb_ctx *ctx, int nout, sb_node *const *outs, int nbind,
                  const sb_binding *binds, bool f64, sb_array **res, sb_diag *d)
{
    evaluator ev = {.f64 = f64, .d = d, .nbind = nbind, .binds = binds};
    ev.nnodes = (int)sb_ctx_node_count(ctx);
    ev.val = sb_xcalloc((size_t)ev.nnodes, sizeof *ev.val);
    ev.state = sb_xcalloc((size_t)ev.nnodes, 1);
    ev.uses = sb_xcalloc((size_t)ev.nnodes, sizeof *ev.uses);
    ev.reach = sb_xcalloc((size_t)ev.nnodes, 1);
    for (int i = 0; i < nout; i++) {
        SB_ASSERT(outs[i] && (int)outs[i]->id < ev.nnodes);
        res[i] = NULL;
    }
    count_uses(&ev, nout, outs);
    bool prof = sb_prof_on; /* profiling (core/profile.h) */
    double t0 = prof ? sb_prof_run_begin() : 0;
    sb_status st = run_stack(&ev, nout, outs);
    if (prof) sb_prof_run_end(t0, 0);
    sb_tensor keep[nout > 0 ? nout : 1];
    for (int i = 0; i < nout && !st; i++) keep[i] = sb_be_tensor_ref(&ev.val[outs[i]->id]);
    for (int i = 0; i < ev.nnodes; i++) sb_be_tensor_release(&ev.val[i]);
    for (int i = 0; i < nout && !st; i++) res[i] = sb_be_tensor_to_array(&keep[i], keep[i].dtype);
    free(ev.val);
    free(ev.state);
    free(ev.uses);
    free(ev.reach);
    return st;
}
