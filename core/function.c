/* function.c: compiled functions (Theano's `function`): inputs, outputs, updates, givens.
 *
 * Compiling puts the outputs and update values into a private graph, expands grad / Rop / ...,
 * substitutes the givens (rebuilding with sb_apply), expands again (a given may hold grad),
 * optionally runs the optimizer passes, and hands the final nodes to an executor. A call binds
 * the arguments and every stored shared value, evaluates outputs and update values in ONE run
 * (so all of them see the state before the call), checks the update values, and only then
 * swaps them into the store: updates are atomic and order-free. On a backend that can write
 * an update into the stored array itself (function.h: in-place updates), that update is not
 * swapped: the backend wrote it last in the run, after every reader, and only once no error
 * can come any more. */
#include "function.h"
#include "backends/backend.h"
#include "json.h"
#include "rewrites/passes.h"

struct sb_function {
    sb_ctx *ctx;
    int nin, nout, nupd;
    sb_node **inputs;       /* nin */
    sb_node **nodes;        /* nout outputs, then nupd update values (compiled) */
    sb_node **vars;         /* nupd shared nodes updated */
    sb_shared_store *store; /* borrowed */
    bool f64;
    sb_exec_i ex;           /* the executor (a copy) */
    void *prog;
    uint8_t *inplace;       /* nupd: the executor writes update i into the stored array */
    int ninplace;
};

/* ---- the reference executor ------------------------------------------------------------------ */
typedef struct eval_prog {
    sb_ctx *ctx;
    int n;
    sb_node **outs;
    bool f64;
} eval_prog;

static void *eval_compile(const void *data, sb_ctx *ctx, int n, sb_node *const *outs, bool f64,
                          sb_diag *d)
{
    eval_prog *p = sb_xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->n = n;
    p->f64 = f64;
    p->outs = sb_xcalloc((size_t)(n ? n : 1), sizeof *p->outs);
    memcpy(p->outs, outs, (size_t)n * sizeof *outs);
    return p;
}

static sb_status eval_run(void *prog, int nbind, const sb_binding *binds, sb_array **res,
                          sb_diag *d)
{
    eval_prog *p = prog;
    if (!p->n) return SB_OK;
    return sb_eval(p->ctx, p->n, p->outs, nbind, binds, p->f64, res, d);
}

static void eval_free(void *prog)
{
    eval_prog *p = prog;
    if (!p) return;
    free(p->outs);
    free(p);
}

const sb_exec_i sb_fn_exec_eval = {
    .name = "eval",
    .compile = eval_compile,
    .run = eval_run,
    .free = eval_free,
};

/* ---- a backend's programs (backends/backend.h) --------------------------------------------- */
typedef struct be_prog {
    const struct sb_backend_i *be;
    sb_be_program *p;
} be_prog;

static void *be_compile(const void *data, sb_ctx *ctx, int n, sb_node *const *outs, bool f64,
                        sb_diag *d)
{
    const struct sb_backend_i *be = data;
    sb_be_program *p = be->compile(ctx, n, outs, f64 ? SB_BE_F64 : 0, d);
    if (!p) return NULL;
    be_prog *bp = sb_xmalloc(sizeof *bp);
    *bp = (be_prog){be, p};
    return bp;
}

static sb_status be_run(void *prog, int nbind, const sb_binding *binds, sb_array **res,
                        sb_diag *d)
{
    be_prog *bp = prog;
    return bp->be->run(bp->p, nbind, binds, res, d);
}

static void be_free(void *prog)
{
    be_prog *bp = prog;
    if (!bp) return;
    bp->be->program_free(bp->p);
    free(bp);
}

static sb_status be_update_inplace(void *prog, int i, sb_node *leaf, sb_diag *d)
{
    be_prog *bp = prog;
    if (!bp->be->update_inplace)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "backend '%s' does not update in place", bp->be->name);
    return bp->be->update_inplace(bp->p, i, leaf, d);
}

/* The registry (backends/backend.c, which loads the CUDA module on demand) is referenced
 * weakly, so that a program that does not link it (some unit tests) gets the CPU backend only. */
#pragma weak sb_backend_get

bool sb_fn_exec_backend(const char *name, sb_exec_i *out, sb_diag *d)
{
    const struct sb_backend_i *be = NULL;
    if (name && !strcmp(name, "cpu")) be = sb_be_cpu_get();
    else if (name && sb_backend_get) be = sb_backend_get(name);
    if (!be || (be->available && !be->available())) {
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "backend '%s' is not available", name);
        return false;
    }
    *out = (sb_exec_i){.name = be->name, .data = be, .compile = be_compile, .run = be_run,
                       .free = be_free,
                       .update_inplace = be->update_inplace ? be_update_inplace : NULL};
    return true;
}

/* ---- givens ------------------------------------------------------------------------------------ */
sb_node *sb_fn_substitute(sb_ctx *ctx, sb_node *n, int ngiv, const sb_given *givens,
                          sb_node **memo, size_t nmemo, sb_diag *d)
{
    for (int i = 0; i < ngiv; i++)
        if (givens[i].var == n) return givens[i].value;
    if (n->nin == 0) return n;
    if (n->id < nmemo && memo[n->id]) return memo[n->id];
    sb_node *stack_in[8];
    sb_node **in = n->nin <= 8 ? stack_in : sb_xmalloc((size_t)n->nin * sizeof *in);
    bool changed = false;
    sb_node *r = n;
    for (int i = 0; i < n->nin && r; i++) {
        in[i] = sb_fn_substitute(ctx, n->in[i], ngiv, givens, memo, nmemo, d);
        if (!in[i]) r = NULL;
        else changed |= in[i] != n->in[i];
    }
    if (r && changed) r = sb_apply(ctx, (sb_op)n->op, n->nin, in, n->attrs, d);
    if (in != stack_in) free(in);
    if (r && n->id < nmemo) memo[n->id] = r;
    return r;
}

/* A given must replace an input or shared variable by a value of the same dtype and rank. */
static sb_status check_given(const sb_given *g, sb_diag *d)
{
    if (!g->var || !g->value) return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "given with a NULL node");
    if (g->var->op != SB_OP_INPUT && g->var->op != SB_OP_SHARED) {
        char *s = sb_print_expr(g->var);
        sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                    "givens: '%.200s' is not an input or shared variable", s);
        free(s);
        return d->status;
    }
    const sb_type *a = &g->var->type, *b = &g->value->type;
    if (a->ndim != b->ndim || (a->dtype != b->dtype && !b->weak)) {
        char ta[96], tb[96];
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0,
                           "givens: '%s' has type %s but its replacement has type %s",
                           g->var->name, sb_type_str(a, ta, sizeof ta), sb_type_str(b, tb, sizeof tb));
    }
    return SB_OK;
}

/* An update must target a shared variable once, with a value of its dtype and rank. */
static sb_status check_update(const sb_update *u, const sb_update *all, int i, sb_diag *d)
{
    if (!u->var || !u->value)
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "update with a NULL node");
    if (u->var->op != SB_OP_SHARED) {
        char *s = sb_print_expr(u->var);
        sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "updates: '%.200s' is not a shared variable", s);
        free(s);
        return d->status;
    }
    for (int j = 0; j < i; j++)
        if (all[j].var == u->var)
            return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                               "updates: shared variable '%s' is updated twice", u->var->name);
    const sb_type *a = &u->var->type, *b = &u->value->type;
    if (a->ndim != b->ndim || (a->dtype != b->dtype && !b->weak)) {
        char ta[96], tb[96];
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0,
                           "updates: '%s' has type %s but its new value has type %s",
                           u->var->name, sb_type_str(a, ta, sizeof ta), sb_type_str(b, tb, sizeof tb));
    }
    return SB_OK;
}

/* ---- compile ----------------------------------------------------------------------------------- */
/* Run the optimizer passes over g (passes: JSON text of a passes array, NULL = default). */
static sb_status optimize(sb_graph *g, const char *passes, sb_diag *d)
{
    sb_pass_opts o = {0};
    sb_json *j = NULL;
    if (passes) {
        j = sb_json_parse(passes, "<passes>", d);
        if (!j) return d->status;
        o.doc = j;
        o.passes = sb_json_root(j);
    }
    sb_status st = sb_rw_run_passes(g, &o, d);
    sb_json_free(j);
    return st;
}

/* Expand, substitute givens, expand again, optimize: the graph's outputs and updates become
 * the program's nodes. */
static sb_status build(sb_function *f, sb_graph *g, int ngiv, const sb_given *givens,
                       const sb_function_opts *o, sb_diag *d)
{
    if (sb_graph_expand_autodiff(g, d)) return d->status;
    if (ngiv) {
        size_t nmemo = sb_ctx_node_count(f->ctx);
        sb_node **memo = sb_xcalloc(nmemo, sizeof *memo);
        for (int r = SB_ROLE_OUTPUT; r <= SB_ROLE_UPDATE; r++)
            for (int i = 0; i < g->n[r]; i++) {
                sb_node *x = sb_fn_substitute(f->ctx, g->e[r][i].node, ngiv, givens, memo, nmemo, d);
                if (!x) {
                    free(memo);
                    return d->status ? d->status : SB_ERR_INTERNAL;
                }
                g->e[r][i].node = x;
            }
        free(memo);
        if (sb_graph_expand_autodiff(g, d)) return d->status;
    }
    if (o->optimize && optimize(g, o->passes, d)) return d->status;
    for (int i = 0; i < f->nout; i++) f->nodes[i] = g->e[SB_ROLE_OUTPUT][i].node;
    for (int i = 0; i < f->nupd; i++) f->nodes[f->nout + i] = g->e[SB_ROLE_UPDATE][i].node;
    return SB_OK;
}

/* ---- in-place updates (function.h) ------------------------------------------------------- */
/* Whether update i cannot fail its shape check after a run: its variable's dims are all known
 * and the compiled value's static dims are the same. */
static bool update_static(const sb_function *f, int i)
{
    const sb_type *v = &f->vars[i]->type, *n = &f->nodes[f->nout + i]->type;
    for (int k = 0; k < v->ndim; k++)
        if (v->dims[k] < 0 || n->dims[k] != v->dims[k]) return false;
    return true;
}

/* Ask the executor to write updates in place: first those without a static shape (each must
 * be accepted, else none is used: the program is compiled again when some already were), then
 * the others (each one refused simply stays copy-and-swap). Afterwards, when any update is in
 * place, every update that is not is static, which makes a failed call atomic (see
 * sb_function_call). */
static sb_status choose_inplace(sb_function *f, sb_diag *d)
{
    memset(f->inplace, 0, (size_t)f->nupd + 1);
    f->ninplace = 0;
    if (!f->ex.update_inplace || !f->nupd || getenv("SB_FN_COPY_UPDATES")) return SB_OK;
    /* the static ones are tried again while any is newly accepted: an update whose value other
     * updates read (a momentum velocity read by its weight's update) is accepted once those
     * readers write in place */
    for (int pass = 0, again = 0; pass < 2; pass += !again, again = 0)
        for (int i = 0; i < f->nupd; i++) {
            bool fixed = update_static(f, i);
            if (fixed != (pass == 1) || f->inplace[i]) continue;
            sb_diag tmp = {0};
            bool ok = f->ex.update_inplace(f->prog, f->nout + i, f->vars[i], &tmp) == SB_OK;
            f->inplace[i] = ok;
            f->ninplace += ok;
            again |= ok && pass == 1;
            if (ok || fixed) continue;
            if (!f->ninplace) return SB_OK; /* a non-static update stays copied: none in place */
            f->ex.free(f->prog);            /* and others were accepted: start again */
            f->prog = f->ex.compile(f->ex.data, f->ctx, f->nout + f->nupd, f->nodes, f->f64, d);
            memset(f->inplace, 0, (size_t)f->nupd + 1);
            f->ninplace = 0;
            return f->prog ? SB_OK : (d && d->status ? d->status : SB_ERR_INTERNAL);
        }
    return SB_OK;
}

bool sb_fn_update_inplace(const sb_function *f, int i)
{
    SB_ASSERT(i >= 0 && i < f->nupd);
    return f->inplace[i];
}

sb_function *sb_function_new(sb_ctx *ctx, int nin, sb_node *const *inputs, int nout,
                             sb_node *const *outputs, int nupd, const sb_update *updates,
                             int ngiv, const sb_given *givens, sb_shared_store *store,
                             const sb_function_opts *opts, sb_diag *d)
{
    sb_function_opts o = opts ? *opts : (sb_function_opts){0};
    for (int i = 0; i < nin; i++)
        if (!inputs[i] || inputs[i]->op != SB_OP_INPUT) {
            sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "function input %d is not an input variable", i);
            return NULL;
        }
    for (int i = 0; i < ngiv; i++)
        if (check_given(&givens[i], d)) return NULL;
    for (int i = 0; i < nupd; i++)
        if (check_update(&updates[i], updates, i, d)) return NULL;
    sb_function *f = sb_xcalloc(1, sizeof *f);
    *f = (sb_function){.ctx = ctx, .nin = nin, .nout = nout, .nupd = nupd, .store = store,
                       .f64 = o.f64, .ex = sb_fn_exec_eval};
    if (o.backend && !sb_fn_exec_backend(o.backend, &f->ex, d)) {
        sb_function_free(f);
        return NULL;
    }
    f->inputs = sb_xcalloc((size_t)nin + 1, sizeof *f->inputs);
    memcpy(f->inputs, inputs, (size_t)nin * sizeof *inputs);
    f->nodes = sb_xcalloc((size_t)(nout + nupd) + 1, sizeof *f->nodes);
    f->vars = sb_xcalloc((size_t)nupd + 1, sizeof *f->vars);
    f->inplace = sb_xcalloc((size_t)nupd + 1, 1);
    sb_graph *g = sb_graph_new(ctx);
    for (int i = 0; i < nout; i++) sb_graph_add(g, SB_ROLE_OUTPUT, "out", outputs[i]);
    for (int i = 0; i < nupd; i++) {
        f->vars[i] = updates[i].var;
        sb_graph_add(g, SB_ROLE_UPDATE, updates[i].var->name, updates[i].value);
    }
    sb_status st = build(f, g, ngiv, givens, &o, d);
    sb_graph_free(g);
    if (st == SB_OK) f->prog = f->ex.compile(f->ex.data, ctx, nout + nupd, f->nodes, f->f64, d);
    if (f->prog && choose_inplace(f, d)) {
        sb_function_free(f);
        return NULL;
    }
    if (!f->prog) {
        sb_function_free(f);
        return NULL;
    }
    return f;
}

sb_status sb_fn_set_exec(sb_function *f, const sb_exec_i *ex, sb_diag *d)
{
    void *prog = ex->compile(ex->data, f->ctx, f->nout + f->nupd, f->nodes, f->f64, d);
    if (!prog) return d && d->status ? d->status : SB_ERR_INTERNAL;
    f->ex.free(f->prog);
    f->ex = *ex;
    f->prog = prog;
    return choose_inplace(f, d);
}

void sb_function_free(sb_function *f)
{
    if (!f) return;
    if (f->prog) f->ex.free(f->prog);
    free(f->inputs);
    free(f->nodes);
    free(f->vars);
    free(f->inplace);
    free(f);
}

sb_node *sb_function_output(const sb_function *f, int i)
{
    SB_ASSERT(i >= 0 && i < f->nout);
    return f->nodes[i];
}

sb_node *sb_function_update(const sb_function *f, int i)
{
    SB_ASSERT(i >= 0 && i < f->nupd);
    return f->nodes[f->nout + i];
}

/* ---- call ------------------------------------------------------------------------------------- */
/* Bindings: the arguments by input name, then every stored shared value. */
static sb_binding *bindings(const sb_function *f, const sb_array *const *args, int *nb)
{
    int ns = sb_shared_count(f->store);
    sb_binding *b = sb_xcalloc((size_t)(f->nin + ns) + 1, sizeof *b);
    int n = 0;
    for (int i = 0; i < f->nin; i++) b[n++] = (sb_binding){f->inputs[i]->name, args[i]};
    for (int i = 0; i < ns; i++) {
        const char *name = sb_shared_name(f->store, i);
        b[n++] = (sb_binding){name, sb_shared_peek(f->store, name)};
    }
    *nb = n;
    return b;
}

/* An update value must keep its variable's dtype and fit its declared dims; casts a value of
 * another dtype (weak literals in float64 mode) to the stored one. */
static sb_status fit_update(const sb_function *f, int i, sb_array **v, sb_diag *d)
{
    const sb_node *var = f->vars[i];
    const sb_array *old = sb_shared_peek(f->store, var->name);
    sb_dtype want = old ? old->dtype : var->type.dtype;
    bool ok = (*v)->ndim == var->type.ndim;
    for (int k = 0; ok && k < (*v)->ndim; k++) {
        if (var->type.dims[k] >= 0 && (*v)->shape[k] != var->type.dims[k]) ok = false;
        if (old && old->shape[k] != (*v)->shape[k]) ok = false;
    }
    if (!ok)
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                           "update of shared variable '%s' changes its shape", var->name);
    if ((*v)->dtype != want) {
        sb_array *c = sb_array_cast(*v, want);
        sb_array_free(*v);
        *v = c;
    }
    return SB_OK;
}

/* With in-place updates: every update left to copy-and-swap is static (choose_inplace), so
 * its stored value must have its declared shape for the update to succeed after the writes;
 * check that before anything runs. */
static sb_status check_copied_shapes(const sb_function *f, sb_diag *d)
{
    for (int i = 0; i < f->nupd; i++) {
        const sb_node *var = f->vars[i];
        const sb_array *old = sb_shared_peek(f->store, var->name);
        if (f->inplace[i] || !old) continue;
        bool ok = old->ndim == var->type.ndim;
        for (int k = 0; ok && k < old->ndim; k++) ok = old->shape[k] == var->type.dims[k];
        if (!ok) {
            char want[160], got[160];
            sb_type g = sb_type_make(old->dtype, old->ndim, old->shape);
            return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "shared variable '%s': expected %s, got %s",
                               var->name, sb_type_str(&var->type, want, sizeof want),
                               sb_type_str(&g, got, sizeof got));
        }
    }
    return SB_OK;
}

/* An argument that is the array the store holds for a variable written in place would be
 * read while it is written: bind a copy of it instead (copies[i], freed by the caller). */
static void unalias_args(const sb_function *f, sb_binding *b, sb_array **copies)
{
    for (int i = 0; i < f->nupd; i++) {
        const sb_array *v = f->inplace[i] ? sb_shared_peek(f->store, f->vars[i]->name) : NULL;
        for (int k = 0; v && k < f->nin; k++)
            if (b[k].value->data == v->data && !copies[k]) {
                copies[k] = sb_array_copy(b[k].value);
                b[k].value = copies[k];
            }
    }
}

sb_status sb_function_call(sb_function *f, int nargs, const sb_array *const *args,
                           sb_array **outs, sb_diag *d)
{
    for (int i = 0; i < f->nout; i++) outs[i] = NULL;
    if (nargs != f->nin)
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "function takes %d arguments, got %d",
                           f->nin, nargs);
    for (int i = 0; i < nargs; i++)
        if (!args[i])
            return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "argument %d ('%s') is NULL", i,
                               f->inputs[i]->name);
    if (!f->prog) /* only after a failed sb_fn_set_exec */
        return sb_diag_set(d, SB_ERR_INTERNAL, NULL, 0, 0, "function has no program");
    if (f->ninplace && check_copied_shapes(f, d)) return d->status;
    int nb = 0, n = f->nout + f->nupd;
    sb_binding *b = bindings(f, args, &nb);
    sb_array **copies = sb_xcalloc((size_t)f->nin + 1, sizeof *copies);
    if (f->ninplace) unalias_args(f, b, copies);
    sb_array **res = sb_xcalloc((size_t)n + 1, sizeof *res);
    sb_status st = f->ex.run(f->prog, nb, b, res, d);
    free(b);
    for (int i = 0; i < f->nin; i++) sb_array_free(copies[i]);
    free(copies);
    for (int i = 0; i < f->nupd && st == SB_OK; i++)
        if (!f->inplace[i]) st = fit_update(f, i, &res[f->nout + i], d);
    if (st != SB_OK) {
        for (int i = 0; i < n; i++) sb_array_free(res[i]);
        free(res);
        return st;
    }
    for (int i = 0; i < f->nout; i++) outs[i] = res[i];
    for (int i = 0; i < f->nupd; i++)
        if (!f->inplace[i]) sb_fn_store_take(f->store, f->vars[i]->name, res[f->nout + i]);
    free(res);
    return SB_OK;
}
