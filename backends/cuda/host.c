/* host.c: the module's side of module.h, built into libsymbench-cuda.so only (not into sb_cuda).
 *
 * sb_cuda_module_init keeps the host's table, and the functions below stand in for the core and
 * CPU-backend functions the backend's files call, forwarding each to the host's copy. So the
 * backend's sources are the same in the module and in test programs that link them with the
 * core directly; the module's version script (module.map) exports the entry only, so these
 * stand-ins never interpose on a host's own definitions. */
#include "backends/cuda/module.h"

#include <stdarg.h>
#include <stdlib.h>

#include "backends/cpu/tensor.h"

static const sb_cuda_host *H;

/* The entry: check the host's ABI number and layout fingerprint, then hand out the backend.
 * On a mismatch the descriptor has no backend (the host reports both builds' numbers). */
SB_API const sb_cuda_module *sb_cuda_module_init(const sb_cuda_host *host);
SB_API const sb_cuda_module *sb_cuda_module_init(const sb_cuda_host *host)
{
    static sb_cuda_module refused = {SB_CUDA_MODULE_ABI, 0, NULL, NULL, NULL};
    refused.layout = sb_cuda_layout();
    if (!host || host->abi != SB_CUDA_MODULE_ABI || host->layout != sb_cuda_layout())
        return &refused;
    H = host;
    return sb_cu_module();
}

/* ---- printf-style functions: the message is formatted here ------------------------------- */
sb_status sb_diag_set(sb_diag *d, sb_status st, const char *file, int line, int col,
                      const char *fmt, ...)
{
    if (!d || d->status != SB_OK) return st;
    char msg[sizeof d->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return H->diag_set(d, st, file, line, col, "%s", msg);
}

void sb_log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H->log(level, "%s", msg);
}

_Noreturn void sb_panic(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H->panic(file, line, "%s", msg);
    abort(); /* not reached: the host's panic aborts */
}

char *sb_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = H->xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- everything else: one line each ------------------------------------------------------- */
void *sb_xmalloc(size_t n) { return H->xmalloc(n); }
void *sb_xcalloc(size_t n, size_t sz) { return H->xcalloc(n, sz); }
void *sb_xrealloc(void *p, size_t n) { return H->xrealloc(p, n); }
char *sb_xstrdup(const char *s) { return H->xstrdup(s); }
uint64_t sb_hash_bytes(const void *p, size_t n, uint64_t seed) { return H->hash_bytes(p, n, seed); }
size_t sb_dtype_size(sb_dtype t) { return H->dtype_size(t); }
bool sb_dtype_is_float(sb_dtype t) { return H->dtype_is_float(t); }
bool sb_dtype_is_int(sb_dtype t) { return H->dtype_is_int(t); }
sb_type sb_type_make(sb_dtype dt, int ndim, const int64_t *dims)
{
    return H->type_make(dt, ndim, dims);
}
sb_status sb_type_parse(const char *text, sb_type *out, sb_diag *d)
{
    return H->type_parse(text, out, d);
}
char *sb_type_str(const sb_type *t, char *buf, size_t n) { return H->type_str(t, buf, n); }
int sb_axis_norm(int64_t axis, int ndim) { return H->axis_norm(axis, ndim); }
const sb_op_info *sb_op_get(sb_op op) { return H->op_get(op); }
sb_status sb_infer_type(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                        const sb_array *const *vals, sb_type *out, sb_diag *d)
{
    return H->infer_type(op, nin, in, a, vals, out, d);
}
sb_array *sb_array_new(sb_dtype dt, int ndim, const int64_t *shape)
{
    return H->array_new(dt, ndim, shape);
}
void sb_array_free(sb_array *a) { H->array_free(a); }
int64_t sb_array_numel(const sb_array *a) { return H->array_numel(a); }
double sb_array_get_f64(const sb_array *a, int64_t i) { return H->array_get_f64(a, i); }
void sb_array_set_f64(sb_array *a, int64_t i, double v) { H->array_set_f64(a, i, v); }
sb_ctx *sb_ctx_init(void) { return H->ctx_init(); }
void sb_ctx_free(sb_ctx *ctx) { H->ctx_free(ctx); }
sb_node *sb_input(sb_ctx *ctx, const char *name, const sb_type *t)
{
    return H->input(ctx, name, t);
}
sb_node *sb_shared(sb_ctx *ctx, const char *name, const sb_type *t)
{
    return H->shared(ctx, name, t);
}
sb_node *sb_apply(sb_ctx *ctx, sb_op op, int nin, sb_node *const *in, const sb_attrs *a, sb_diag *d)
{
    return H->apply(ctx, op, nin, in, a, d);
}
sb_node *sb_apply2(sb_ctx *ctx, sb_op op, sb_node *a, sb_node *b, sb_diag *d)
{
    return H->apply2(ctx, op, a, b, d);
}
sb_node *sb_parse_expr(sb_ctx *ctx, const char *text, const sb_scope *scope, const sb_srcpos *pos,
                       sb_diag *d)
{
    return H->parse_expr(ctx, text, scope, pos, d);
}
sb_status sb_grad(sb_ctx *ctx, sb_node *cost, int nwrt, sb_node *const *wrt,
                  const sb_grad_opts *opts, sb_node **out, sb_diag *d)
{
    return H->grad(ctx, cost, nwrt, wrt, opts, out, d);
}
sb_status sb_eval(sb_ctx *ctx, int nout, sb_node *const *outs, int nbind, const sb_binding *binds,
                  bool f64, sb_array **res, sb_diag *d)
{
    return H->eval(ctx, nout, outs, nbind, binds, f64, res, d);
}
sb_dtype sb_be_arith_dt(sb_dtype t) { return H->be_arith_dt(t); }
sb_dtype sb_be_weak_promote(const sb_type *a, const sb_type *b) { return H->be_weak_promote(a, b); }
void sb_be_contig_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    H->be_contig_strides(ndim, shape, strides);
}
