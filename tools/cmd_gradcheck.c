/* cmd_gradcheck.c: `symbench gradcheck GRAPH.json`: verify the symbolic gradients of a graph's
 * output against finite differences (sb_verify_grad, Theano's verify_grad).
 *
 *     symbench gradcheck examples/mlp.graph.json --output cost
 *
 * The output (the first one unless --output) becomes the cost: itself when it is a float
 * scalar, else sum(output * W) with fixed random weights W, so every element matters. Inputs
 * and shared variables get seeded random values (floats uniform in --range, default 0.1..1.1 so
 * that log and sqrt are defined, shared matrices Glorot-uniform unless --range is given;
 * integers uniform in 0..SIZE-1; unknown dims of size --size)
 * unless --data NAME=FILE.npy gives one. Every float input or shared variable the output depends
 * on is checked; a table of the largest error per variable is printed. Exit status: 0 when all
 * pass, 1 on a failure or an error. */
#include "commands.h"
#include "core-impl.h"

#include <stdio.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench gradcheck [--help] [--output NAME] [--seed N] [--size N]\n"
            "                          [--range LO,HI] [--eps E] [--tol T] [--tests N]\n"
            "                          [--data NAME=FILE.npy]... GRAPH.json\n\n"
            "Check d output / d each float input and shared variable of GRAPH.json against\n"
            "central differences in float64 along random directions.\n\n"
            "  --output NAME        the output to differentiate (default: the first)\n"
            "  --seed N             seed of the values and directions (default 1)\n"
            "  --size N             run-time size of unknown dims (default 3)\n"
            "  --range LO,HI        range of random float values (default 0.1,1.1; shared\n"
            "                       matrices are Glorot-uniform unless --range is given)\n"
            "  --eps E              finite-difference step (default 1e-6)\n"
            "  --tol T              tolerance on min(absolute, relative) error (default 1e-4)\n"
            "  --tests N            random directions per variable (default 3)\n"
            "  --data NAME=FILE     value of an input or shared variable from a .npy file\n"
            "  --help               show this help\n");
}

typedef struct gc_args {
    const char *graph, *output;
    uint64_t seed;
    int64_t size;
    double lo, hi;
    bool range_given;
    sb_verify_opts vo;
    int ndata;
    const char **data; /* NAME=FILE */
} gc_args;

/* Parse the command line; returns false on a usage error. */
static bool parse_args(int argc, char **argv, gc_args *a)
{
    *a = (gc_args){.seed = 1, .size = 3, .lo = 0.1, .hi = 1.1};
    a->data = sb_xcalloc((size_t)argc, sizeof *a->data);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(s, "--output") && v) a->output = v, i++;
        else if (!strcmp(s, "--seed") && v) ok = sscanf(v, "%lu", &a->seed) == 1, i++;
        else if (!strcmp(s, "--size") && v) ok = sscanf(v, "%ld", &a->size) == 1, i++;
        else if (!strcmp(s, "--range") && v) ok = sscanf(v, "%lf,%lf", &a->lo, &a->hi) == 2, i++;
        else if (!strcmp(s, "--eps") && v) ok = sscanf(v, "%lf", &a->vo.eps) == 1, i++;
        else if (!strcmp(s, "--tol") && v) ok = sscanf(v, "%lf", &a->vo.tol) == 1, i++;
        else if (!strcmp(s, "--tests") && v) ok = sscanf(v, "%d", &a->vo.ntests) == 1, i++;
        else if (!strcmp(s, "--data") && v) a->data[a->ndata++] = v, i++;
        else if (!strncmp(s, "-", 1) || a->graph) ok = false;
        else a->graph = s;
        if (!ok || a->size <= 0) return false;
        a->range_given |= !strcmp(s, "--range");
    }
    a->vo.seed = a->seed;
    return a->graph != NULL;
}

/* The value of leaf n: from --data, or seeded random. */
static sb_array *leaf_value(const gc_args *a, const sb_node *n, uint64_t seed, sb_diag *d)
{
    const char *name = sb_node_name(n);
    size_t len = strlen(name);
    for (int i = 0; i < a->ndata; i++)
        if (!strncmp(a->data[i], name, len) && a->data[i][len] == '=') {
            sb_array *v = sb_npy_load(a->data[i] + len + 1, d);
            sb_array *c = v && v->dtype != sb_node_type(n)->dtype
                              ? sb_array_cast(v, sb_node_type(n)->dtype) : NULL;
            if (c) sb_array_free(v);
            return c ? c : v;
        }
    sb_type t = *sb_node_type(n);
    for (int k = 0; k < t.ndim; k++)
        if (t.dims[k] < 0) t.dims[k] = a->size;
    sb_init_spec spec = {.kind = "uniform", .low = a->lo, .high = a->hi, .seed = seed};
    if (sb_node_op(n) == SB_OP_SHARED && t.ndim >= 2 && !a->range_given) spec.kind = "glorot";
    bool fl = sb_dtype_is_float(t.dtype);
    if (!fl) spec.low = 0, spec.high = t.dtype == SB_DTYPE_BOOL ? 2 : (double)a->size;
    sb_array *v = sb_array_init(&spec, fl ? t.dtype : SB_DTYPE_F64, t.ndim, t.dims, d);
    if (v && !fl) { /* floor into integers */
        for (int64_t i = 0; i < sb_array_numel(v); i++)
            sb_array_set_f64(v, i, (double)(int64_t)sb_array_get_f64(v, i));
        sb_array *c = sb_array_cast(v, t.dtype);
        sb_array_free(v);
        v = c;
    }
    return v;
}

/* Mark the nodes below n (an explicit stack: graphs may be deep). */
static void reach(sb_node *n, bool *seen)
{
    sb_ptrvec stack = {0};
    sb_ptrvec_push(&stack, n);
    while (stack.n) {
        sb_node *x = stack.v[--stack.n];
        if (seen[sb_node_id(x)]) continue;
        seen[sb_node_id(x)] = true;
        for (int i = 0; i < sb_node_nin(x); i++) sb_ptrvec_push(&stack, sb_node_in(x, i));
    }
    sb_ptrvec_free(&stack);
}

/* The cost: the output itself (a float scalar) or sum(out * W) with fixed random weights. */
static sb_node *make_cost(sb_ctx *ctx, sb_node *out, const char *name, int nb,
                          const sb_binding *b, uint64_t seed, sb_diag *d)
{
    const sb_type *t = sb_node_type(out);
    if (!sb_dtype_is_float(t->dtype)) {
        char ts[96];
        sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0,
                    "gradcheck: output '%s' has type %s; it must be a float tensor", name,
                    sb_type_str(t, ts, sizeof ts));
        return NULL;
    }
    if (t->ndim == 0) return out;
    sb_array *v = NULL;
    if (sb_eval(ctx, 1, &out, nb, b, true, &v, d)) return NULL;
    sb_init_spec spec = {.kind = "uniform", .low = -1, .high = 1, .seed = seed + 7};
    sb_array *w = sb_array_init(&spec, t->dtype, v->ndim, v->shape, d);
    sb_array_free(v);
    if (!w) return NULL;
    sb_node *wn = sb_const(ctx, w);
    sb_array_free(w);
    sb_node *p = sb_apply2(ctx, SB_OP_MUL, out, wn, d);
    return p ? sb_apply1(ctx, SB_OP_SUM, p, d) : NULL;
}

/* Values for every input and shared variable of g; the float ones reaching out go to wrt[]. */
static sb_status bind_all(const gc_args *a, sb_graph *g, sb_node *out, sb_binding *b, int *nb,
                          sb_node **wrt, int *nw, sb_diag *d)
{
    sb_ctx *ctx = sb_graph_ctx(g);
    bool *seen = sb_xcalloc(sb_ctx_node_count(ctx), sizeof *seen);
    reach(out, seen);
    static const sb_graph_role roles[2] = {SB_ROLE_INPUT, SB_ROLE_SHARED};
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < sb_graph_count(g, roles[r]); i++) {
            sb_node *n = sb_graph_node(g, roles[r], i);
            sb_array *v = leaf_value(a, n, a->seed * 1000 + (uint64_t)*nb + 1, d);
            if (!v) {
                free(seen);
                return d->status ? d->status : SB_ERR_VALUE;
            }
            b[(*nb)++] = (sb_binding){sb_node_name(n), v};
            if (seen[sb_node_id(n)] && sb_dtype_is_float(sb_node_type(n)->dtype)) wrt[(*nw)++] = n;
        }
    free(seen);
    return SB_OK;
}

/* Load, bind, check, print. Returns the exit status. */
static int gradcheck(const gc_args *a, sb_diag *d)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_graph *g = sb_graph_load_file(ctx, a->graph, d);
    int nleaf = g ? sb_graph_count(g, SB_ROLE_INPUT) + sb_graph_count(g, SB_ROLE_SHARED) : 0;
    sb_binding *b = sb_xcalloc((size_t)nleaf + 1, sizeof *b);
    sb_node **wrt = sb_xcalloc((size_t)nleaf + 1, sizeof *wrt), *out = NULL, *cost = NULL;
    double *errs = sb_xcalloc((size_t)nleaf + 1, sizeof *errs);
    int nb = 0, nw = 0, worst = 0;
    sb_status st = g ? sb_graph_expand_autodiff(g, d) : d->status;
    if (!st) {
        out = a->output ? sb_graph_find(g, SB_ROLE_OUTPUT, a->output)
                        : sb_graph_count(g, SB_ROLE_OUTPUT) ? sb_graph_node(g, SB_ROLE_OUTPUT, 0)
                                                            : NULL;
        if (!out)
            st = sb_diag_set(d, SB_ERR_VALUE, a->graph, 0, 0, "no output named '%s'",
                             a->output ? a->output : "(none: the graph has no outputs)");
    }
    if (!st) st = bind_all(a, g, out, b, &nb, wrt, &nw, d);
    const char *oname = a->output ? a->output : out ? sb_graph_name(g, SB_ROLE_OUTPUT, 0) : "";
    if (!st) cost = make_cost(ctx, out, oname, nb, b, a->seed, d);
    if (!st && !cost) st = d->status ? d->status : SB_ERR_INTERNAL;
    sb_status vst = st;
    if (!st) vst = sb_verify_grad(ctx, cost, nw, wrt, nb, b, &a->vo, errs, &worst, d);
    if (!st && (vst == SB_OK || vst == SB_ERR_VALUE)) {
        double tol = a->vo.tol > 0 ? a->vo.tol : 1e-4;
        printf("%-16s %-24s %-12s %s\n", "wrt", "type", "max error", "status");
        for (int i = 0; i < nw; i++) {
            char ts[96];
            printf("%-16s %-24s %-12.3g %s\n", sb_node_name(wrt[i]),
                   sb_type_str(sb_node_type(wrt[i]), ts, sizeof ts), errs[i],
                   errs[i] <= tol ? "ok" : "FAILED");
        }
        if (!nw) printf("(the output depends on no float input or shared variable)\n");
    }
    for (int i = 0; i < nb; i++) sb_array_free((sb_array *)b[i].value);
    free(b), free(wrt), free(errs);
    sb_graph_free(g);
    sb_ctx_free(ctx);
    return st ? st : vst;
}

int sb_cmd_gradcheck(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    gc_args a;
    if (!parse_args(argc, argv, &a)) {
        free(a.data);
        usage(stderr);
        return 2;
    }
    sb_diag d = {0};
    int st = gradcheck(&a, &d);
    fflush(stdout);
    if (st) sb_diag_print(&d, stderr);
    free(a.data);
    return st ? 1 : 0;
}
