/* backend.h: the backend interface: one struct of function pointers per device (cpu, cuda).
 *
 * A backend owns tensor memory (buffers) and turns a list of output nodes into a program that
 * it can run many times with different bindings:
 *
 *     const struct sb_backend_i *be = sb_backend_get("cpu");
 *     sb_be_program *p = be->compile(ctx, nout, outs, 0, &d);
 *     be->run(p, nbind, binds, results, &d);      // results: new sb_arrays (sb_array_free)
 *     be->program_free(p);
 *
 * Members marked (optional) may be NULL; callers then use the default stated there.
 * Core never includes this header's device headers (cblas.h, cuda_runtime.h): backends do. */
#ifndef SB_BACKEND_H
#define SB_BACKEND_H

#include "symbench.h"

typedef struct sb_be_buffer sb_be_buffer;   /* device memory, defined by each backend */
typedef struct sb_be_program sb_be_program; /* a compiled list of outputs, per backend */

/* compile flags */
enum sb_be_flag {
    SB_BE_F64 = 1 << 0, /* reference mode: every float op computes and returns float64 */
    SB_BE_TF32 = 1 << 1, /* cuda: float32 matmuls may use TF32 tensor cores */
};

struct sb_backend_i {
    const char *name; /* "cpu", "cuda": the pipeline's "backend" value */

    /* Allocate nbytes of device memory; NULL (and d filled) when it cannot. */
    sb_be_buffer *(*buffer_alloc)(size_t nbytes, sb_diag *d);
    /* Release a buffer (NULL is a no-op). */
    void (*buffer_free)(sb_be_buffer *b);
    /* Host -> device: copy n bytes from src to the buffer at byte offset off. */
    sb_status (*buffer_set)(sb_be_buffer *b, size_t off, const void *src, size_t n, sb_diag *d);
    /* Device -> host: copy n bytes at byte offset off of the buffer to dst. */
    sb_status (*buffer_get)(const sb_be_buffer *b, size_t off, void *dst, size_t n, sb_diag *d);

    /* Compile outs[0..nout) (nodes of ctx, autodiff already expanded) into a program; flags are
     * SB_BE_* bits. The program refers to ctx, which must outlive it. NULL and d filled when a
     * node cannot run here. */
    sb_be_program *(*compile)(sb_ctx *ctx, int nout, sb_node *const *outs, unsigned flags,
                              sb_diag *d);
    /* Run a program: binds give the inputs and shared variables by name; res[0..nout) receive
     * new host arrays (the caller frees them). On error res[] are NULL and d is filled. */
    sb_status (*run)(sb_be_program *p, int nbind, const sb_binding *binds, sb_array **res,
                     sb_diag *d);
    /* Release a program (NULL is a no-op). */
    void (*program_free)(sb_be_program *p);

    /* (optional) Whether the device is present and usable; NULL = always true. */
    bool (*available)(void);
    /* (optional) Wait for queued device work; NULL = nothing to wait for. */
    void (*synchronize)(void);
};

/* The backend named name ("cpu"), or NULL if there is none of that name in this build. */
SB_API const struct sb_backend_i *sb_backend_get(const char *name);

/* The CPU backend's instance (backends/cpu/cpu.c). */
const struct sb_backend_i *sb_be_cpu_get(void);

/* Whether the backend called name can run here: false with d filled (SB_ERR_UNSUPPORTED) as
 * "backend 'cuda' is not available in this build" or "backend 'cuda': no CUDA device found
 * (cudaGetDeviceCount: ...)". For callers such as core/pipeline.c. */
SB_API bool sb_backend_available(const char *name, sb_diag *d);

#ifdef SB_HAVE_CUDA
/* The CUDA backend's instance (backends/cuda/cuda.c) and its device probe (false + d: why). */
const struct sb_backend_i *sb_be_cuda_get(void);
bool sb_be_cuda_probe(sb_diag *d);
/* `symbench bench --backend cuda`: G1-G4 on the device (backends/cuda/bench.c), a table on out;
 * without a device, each workload's plan only. quick: smaller sizes. 0 = ok. */
SB_API int sb_be_cuda_bench(FILE *out, bool quick, sb_diag *d);
#endif

#endif
