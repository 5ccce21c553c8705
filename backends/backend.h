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

/* What describe() says about a node (bits). */
enum sb_be_mark {
    SB_BE_MARK_INPLACE = 1 << 0, /* writes its result over its first input's memory (in place) */
    SB_BE_MARK_VIEW = 1 << 1,    /* its value is a view of its first input (no copy) */
    SB_BE_MARK_FUSED = 1 << 2,   /* computed inside a fused group (elementwise or reduction) */
    SB_BE_MARK_GEMM = 1 << 3,    /* computed by one GEMM call with the nodes folded into it */
};

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

    /* (optional) From the next run on, write output i (the new value of the shared variable
     * or input `leaf`, of leaf's type) straight into the host array bound to leaf at each run
     * (the binding's data is written, const notwithstanding) instead of returning it: res[i]
     * is then NULL. Outputs and the other written values are still computed from the values
     * before the run; a run that fails writes into no bound array. SB_OK, or d filled
     * (SB_ERR_UNSUPPORTED) when the backend cannot do it safely for this output: the program
     * then behaves as before. NULL = never (callers copy and swap). */
    sb_status (*update_inplace)(sb_be_program *p, int i, sb_node *leaf, sb_diag *d);

    /* (optional) How the program computes each node, for drawings of the compiled plan and the
     * fuse / inplace pass reports: kernel[id] = the number (from 1, in schedule order) of the
     * step that computes node id together with other nodes (a fused elementwise group, a fused
     * reduction, a GEMM with its bias / scale / accumulation folded in), 0 otherwise; marks[id]
     * = SB_BE_MARK_* bits; over[id] (for the nodes marked SB_BE_MARK_INPLACE) = 1 + the id of
     * the value whose memory the step writes its result over (a shared variable updated in
     * place, an input of a fused group that dies there), else 0. n = entries of the arrays
     * (node ids of the program's context); nodes the program does not compute get 0. NULL =
     * nothing to say (no clusters, no marks). */
    void (*describe)(const sb_be_program *p, int n, int *kernel, unsigned *marks, uint32_t *over);
};

/* The backend named name ("cpu"), or NULL if there is none of that name in this build. */
SB_API const struct sb_backend_i *sb_backend_get(const char *name);

/* What a backend's plan makes of a graph (backends/describe.c): describe()'s arrays for the
 * program of the graph's outputs and update values (updates offered to update_inplace, as a
 * compiled function does), and counts over them. */
typedef struct sb_be_plan_desc {
    int n;             /* entries of kernel[] and marks[] (node ids of the graph's context) */
    int *kernel;       /* by node id: the multi-node step computing it (1..nkernels), or 0 */
    unsigned *marks;   /* by node id: SB_BE_MARK_* */
    uint32_t *over;    /* by node id: 1 + the id of the value written over (in place), or 0 */
    bool described;    /* the backend has describe(); false: every entry is 0 */
    int nkernels;      /* numbered steps: fused groups, fused reductions, GEMMs */
    int *size;         /* size[k]: nodes computed by step k (k in 1..nkernels) */
    int nfused, nfused_nodes; /* fused steps and the nodes inside them */
    int ngemm;         /* GEMM steps */
    int ninplace;      /* nodes whose step writes in place */
    int nviews;        /* nodes computed as views */
} sb_be_plan_desc;

/* Compile g's outputs and update values with be (flags 0) and describe the program into pd
 * (free with sb_be_plan_desc_free). The compile error, if any, is returned with d filled. */
sb_status sb_be_describe_graph(const struct sb_backend_i *be, const sb_graph *g,
                               sb_be_plan_desc *pd, sb_diag *d);
void sb_be_plan_desc_free(sb_be_plan_desc *pd);

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
