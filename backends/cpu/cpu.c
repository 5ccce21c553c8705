/* cpu.c: the CPU backend instance. Buffers are host memory; a program is the list of outputs,
 * run by the reference evaluator (eval.c). */
#include "backends/backend.h"
#include "core-impl.h"

struct sb_be_buffer {
    size_t n;
    unsigned char data[];
};

struct sb_be_program {
    sb_ctx *ctx;
    int nout;
    sb_node **outs;
    bool f64;
};

static sb_be_buffer *cpu_buffer_alloc(size_t nbytes, sb_diag *d)
{
    sb_be_buffer *b = sb_xcalloc(1, sizeof *b + nbytes);
    b->n = nbytes;
    return b;
}

static void cpu_buffer_free(sb_be_buffer *b)
{
    free(b);
}

static sb_status range_error(size_t off, size_t n, size_t size, sb_diag *d)
{
    return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                       "buffer access of %zu bytes at offset %zu is past its %zu bytes", n, off,
                       size);
}

static sb_status cpu_buffer_set(sb_be_buffer *b, size_t off, const void *src, size_t n,
                                sb_diag *d)
{
    if (off > b->n || n > b->n - off) return range_error(off, n, b->n, d);
    memcpy(b->data + off, src, n);
    return SB_OK;
}

static sb_status cpu_buffer_get(const sb_be_buffer *b, size_t off, void *dst, size_t n,
                                sb_diag *d)
{
    if (off > b->n || n > b->n - off) return range_error(off, n, b->n, d);
    memcpy(dst, b->data + off, n);
    return SB_OK;
}

static sb_be_program *cpu_compile(sb_ctx *ctx, int nout, sb_node *const *outs, unsigned flags,
                                  sb_diag *d)
{
    sb_be_program *p = sb_xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->nout = nout;
    p->outs = sb_xmalloc(sizeof *p->outs * (size_t)(nout > 0 ? nout : 1));
    memcpy(p->outs, outs, sizeof *p->outs * (size_t)nout);
    p->f64 = flags & SB_BE_F64;
    return p;
}

static sb_status cpu_run(sb_be_program *p, int nbind, const sb_binding *binds, sb_array **res,
                         sb_diag *d)
{
    return sb_eval(p->ctx, p->nout, p->outs, nbind, binds, p->f64, res, d);
}

static void cpu_program_free(sb_be_program *p)
{
    if (!p) return;
    free(p->outs);
    free(p);
}

static const struct sb_backend_i sb_be_cpu = {
    .name = "cpu",
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .buffer_set = cpu_buffer_set,
    .buffer_get = cpu_buffer_get,
    .compile = cpu_compile,
    .run = cpu_run,
    .program_free = cpu_program_free,
    .available = NULL,
    .synchronize = NULL,
};

const struct sb_backend_i *sb_be_cpu_get(void)
{
    return &sb_be_cpu;
}
