/* module.h: the CUDA backend as a module loaded on demand (libsymbench-cuda.so).
 *
 * The CUDA libraries (cudart, cuBLAS, NVRTC) cost every process that links them 0.5-1 s of
 * start-up, so neither libsymbench nor the symbench program links them: the backend is built as
 * a shared module that backends/backend.c dlopens (RTLD_NOW | RTLD_LOCAL) the first time "cuda"
 * is asked for. The module exports one symbol, SB_CUDA_MODULE_ENTRY:
 *
 *     const sb_cuda_module *sb_cuda_module_init(const sb_cuda_host *host);
 *
 * The host passes a table of the core and CPU-backend functions the backend calls (building
 * nodes, the reference evaluator for host steps, diagnostics, logging, allocation), so the module
 * shares the host's state (op registry with plugin ops, log callback) instead of carrying a copy
 * of the core. Both sides compile the same headers; the ABI number and a fingerprint of the
 * structures they share (sb_cuda_layout) are checked first, and a module of another build is
 * refused with a clear message.
 *
 * Test programs that link the backend's sources (the static library sb_cuda) use it directly:
 * backend.c refers to sb_cu_module weakly and dlopens only when it is not linked in. */
#ifndef SB_CUDA_MODULE_H
#define SB_CUDA_MODULE_H

#include <stdio.h>

#include "backends/backend.h"
#include "core-impl.h"

#define SB_CUDA_MODULE_ABI 1                      /* bump when the tables below change */
#define SB_CUDA_MODULE_ENTRY "sb_cuda_module_init" /* the module's one exported symbol */
#define SB_CUDA_MODULE_FILE "libsymbench-cuda.so" /* its file name */

/* What the host lends the module: one pointer per function of core / backends/cpu that the CUDA
 * backend calls (same signatures; the printf-style ones take a finished message). The first
 * two fields never move, so any module can check them. */
typedef struct sb_cuda_host {
    int abi;         /* SB_CUDA_MODULE_ABI */
    uint64_t layout; /* sb_cuda_layout() */
    sb_status (*diag_set)(sb_diag *d, sb_status st, const char *file, int line, int col,
                          const char *fmt, ...);
    void (*log)(int level, const char *fmt, ...);
    void (*panic)(const char *file, int line, const char *fmt, ...); /* does not return */
    void *(*xmalloc)(size_t n);
    void *(*xcalloc)(size_t n, size_t sz);
    void *(*xrealloc)(void *p, size_t n);
    char *(*xstrdup)(const char *s);
    uint64_t (*hash_bytes)(const void *p, size_t n, uint64_t seed);
    size_t (*dtype_size)(sb_dtype t);
    bool (*dtype_is_float)(sb_dtype t);
    bool (*dtype_is_int)(sb_dtype t);
    sb_type (*type_make)(sb_dtype dt, int ndim, const int64_t *dims);
    sb_status (*type_parse)(const char *text, sb_type *out, sb_diag *d);
    char *(*type_str)(const sb_type *t, char *buf, size_t n);
    int (*axis_norm)(int64_t axis, int ndim);
    const sb_op_info *(*op_get)(sb_op op);
    sb_status (*infer_type)(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                            const sb_array *const *vals, sb_type *out, sb_diag *d);
    sb_array *(*array_new)(sb_dtype dt, int ndim, const int64_t *shape);
    void (*array_free)(sb_array *a);
    int64_t (*array_numel)(const sb_array *a);
    double (*array_get_f64)(const sb_array *a, int64_t i);
    void (*array_set_f64)(sb_array *a, int64_t i, double v);
    sb_ctx *(*ctx_init)(void);
    void (*ctx_free)(sb_ctx *ctx);
    sb_node *(*input)(sb_ctx *ctx, const char *name, const sb_type *t);
    sb_node *(*shared)(sb_ctx *ctx, const char *name, const sb_type *t);
    sb_node *(*apply)(sb_ctx *ctx, sb_op op, int nin, sb_node *const *in, const sb_attrs *a,
                      sb_diag *d);
    sb_node *(*apply2)(sb_ctx *ctx, sb_op op, sb_node *a, sb_node *b, sb_diag *d);
    sb_node *(*parse_expr)(sb_ctx *ctx, const char *text, const sb_scope *scope,
                           const sb_srcpos *pos, sb_diag *d);
    sb_status (*grad)(sb_ctx *ctx, sb_node *cost, int nwrt, sb_node *const *wrt,
                      const sb_grad_opts *opts, sb_node **out, sb_diag *d);
    sb_status (*eval)(sb_ctx *ctx, int nout, sb_node *const *outs, int nbind,
                      const sb_binding *binds, bool f64, sb_array **res, sb_diag *d);
    sb_dtype (*be_arith_dt)(sb_dtype t);
    sb_dtype (*be_weak_promote)(const sb_type *a, const sb_type *b);
    void (*be_contig_strides)(int ndim, const int64_t *shape, int64_t *strides);
} sb_cuda_host;

/* What the module gives back (static, lives as long as the process). */
typedef struct sb_cuda_module {
    int abi;                           /* SB_CUDA_MODULE_ABI of the module's build */
    uint64_t layout;                   /* sb_cuda_layout() of the module's build */
    const struct sb_backend_i *backend; /* NULL when the host's abi / layout did not match */
    bool (*probe)(sb_diag *d);         /* a usable device? else false + d: why */
    /* `symbench bench --backend cuda`: G1-G4 (bench.c), a table on out; 0 = ok */
    int (*bench)(FILE *out, bool quick, sb_diag *d);
} sb_cuda_module;

typedef const sb_cuda_module *(*sb_cuda_module_init_fn)(const sb_cuda_host *host);

/* A fingerprint of everything host and module must agree on: the sizes of the structures they
 * exchange, the op table's length, the dims limit. Differs between incompatible builds. */
static inline uint64_t sb_cuda_layout(void)
{
    const uint64_t v[] = {sizeof(sb_node),  sizeof(sb_attrs),  sizeof(sb_type),
                          sizeof(sb_array), sizeof(sb_diag),   sizeof(sb_binding),
                          sizeof(sb_op_info), sizeof(struct sb_backend_i), sizeof(sb_cuda_host),
                          sizeof(sb_grad_opts), SB_OP_COUNT, SB_MAX_DIMS};
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) h = (h ^ v[i]) * 1099511628211ULL;
    return h;
}

/* The backend's descriptor (module.c, part of sb_cuda; the module's entry returns it). */
const sb_cuda_module *sb_cu_module(void);

#endif
