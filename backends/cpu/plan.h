/* plan.h: the CPU execution plan (internal to backends/cpu): a list of output nodes compiled
 * into a linear schedule of kernels over pooled buffers.
 *
 *     sb_plan *p = sb_be_plan_compile(ctx, nout, outs, &d);
 *     sb_be_plan_run(p, nbind, binds, res, &d);  // res: new arrays, or NULL and read
 *     const sb_array *y = sb_be_plan_output(p, 0); //   borrowed outputs (valid until next run)
 *     sb_be_plan_free(p);
 *
 * Steps: leaves (bindings and constants are read in place), fused elementwise groups (fuse.c:
 * one pass over memory, vectorized math, OpenMP over blocks), GEMM (OpenBLAS sgemm/dgemm with a
 * following bias add folded into beta = 1, transposed operands passed as transposes; gemv for
 * a matrix times a vector, ger for an outer product, with the same folds), row
 * softmax (vectorized), and every other op through the reference evaluator's kernels
 * (sb_be_cpu_kernel), whose results come from the pool too. ifelse is lazy: each branch is a
 * sub-schedule of the steps only it needs, run when taken. Values die after their last consumer
 * (computed when compiling); a buffer goes back to the pool when no live value or view refers
 * to it (its refcount), so it is never overwritten while still needed; a fused group writes its
 * result over an input that dies there when nothing else shows that input's buffer. Pool
 * buffers keep their capacity and each request gets the buffer it got in the run before: with
 * the same input shapes a run allocates nothing. */
#ifndef SB_CPU_PLAN_H
#define SB_CPU_PLAN_H

#include "tensor.h"

typedef struct sb_plan sb_plan;

/* Compile outs[0..nout) (autodiff already expanded). NULL and d filled on a symbolic node or a
 * node without a CPU kernel. The plan refers to ctx, which must outlive it. */
sb_plan *sb_be_plan_compile(sb_ctx *ctx, int nout, sb_node *const *outs, sb_diag *d);
/* Run with binds (inputs and shared variables by name). When res is not NULL, res[0..nout)
 * receive new arrays (caller frees); the borrowed outputs are available either way. */
sb_status sb_be_plan_run(sb_plan *p, int nbind, const sb_binding *binds, sb_array **res,
                         sb_diag *d);
/* Write output i (a shared variable's new value, say) into the array bound to `leaf` at each
 * run, in place, instead of a pool buffer: the step computing it moves to the end of the
 * schedule. Fails (d filled, the plan unchanged) unless output i has
 * leaf's type, is computed by a fused group or a GEMM and read by no other step, and the update
 * is safe: every other reader of the leaf (or of a view of it) runs before, the group reads it
 * only elementwise / the GEMM only as the matrix it accumulates onto. The caller's array then
 * holds the new value after a run, and output i shows it. */
sb_status sb_be_plan_update_inplace(sb_plan *p, int i, sb_node *leaf, sb_diag *d);
/* Output i of the last successful run, borrowed (C order; valid until the next run / free). */
const sb_array *sb_be_plan_output(const sb_plan *p, int i);
void sb_be_plan_free(sb_plan *p);

typedef struct sb_plan_stats {
    int nsteps;         /* steps that compute (leaves excluded) */
    int nfused;         /* fused elementwise groups */
    int nfused_nodes;   /* elementwise nodes inside them */
    int njit;           /* groups compiled to C at run time (fusejit.c) */
    int ngemm, nbias;   /* GEMM steps; bias adds / accumulations folded into any BLAS step */
    int ngemv, nger;    /* matrix-vector (sgemv/dgemv) and outer-product (sger/dger) steps */
    int nsoftmax;       /* row-softmax steps */
    int nreduce;        /* reductions fused with their elementwise input (fuse_reduce.c) */
    int nkernel;        /* steps run by the reference kernels */
    int nifelse;        /* ifelse steps (each followed by its branches' sub-schedules) */
    int64_t nrun;       /* computing steps the last run executed (untaken branches skipped) */
    int nbuffers;       /* pool buffers */
    size_t pool_bytes;  /* their total capacity */
    int64_t pool_allocs;/* pool (re)allocations since compile */
    int64_t ninplace;   /* fused groups / softmax steps of the last run that wrote over a
                           dying input */
    int64_t nheap;      /* reference-kernel results of the last run on memory of their own (not
                           pool buffers nor views): 0 unless a kernel bypasses sb_be_tensor_new */
} sb_plan_stats;
void sb_be_plan_stats(const sb_plan *p, sb_plan_stats *s);
/* One line per step: kind, node, fused members. */
void sb_be_plan_print(const sb_plan *p, FILE *f);
/* How the plan computes each node (drawings, the fuse/inplace pass reports; backend.h's
 * describe(), over[] as there: 1 + the id of the value an in-place step writes over): kernel[id] = the
 * number (from 1, in schedule order) of the fused group, fused reduction or GEMM step that
 * computes node id together with that step's other members, 0 when a step of its own computes
 * it or it is not in the plan; marks[id] = SB_BE_MARK_* bits (backends/backend.h: in place,
 * view, fused, gemm). Both arrays have n entries (node ids of the plan's context). */
void sb_be_plan_describe(const sb_plan *p, int n, int *kernel, unsigned *marks, uint32_t *over);
/* Which value's memory the step computing n (a group's root, a GEMM's node) writes its result
 * over: the leaf of an in-place update (sb_be_plan_update_inplace), or the input of a fused
 * group or row softmax that died there and that the last run overwrote (destroy/alias analysis; before the
 * first run, the input it may overwrite). NULL when none. describe() marks these nodes
 * SB_BE_MARK_INPLACE. */
sb_node *sb_be_plan_overwrote(const sb_plan *p, const sb_node *n);

/* ---- fused elementwise groups (fuse.c) ---- */
#define SB_FZ_BLOCK 256   /* elements per block (each register is one block) */
#define SB_FZ_MAXREG 40   /* leaves + instructions of one group */

typedef struct sb_fz_instr {
    int16_t op, dst, a, b, c; /* registers: leaves first, then one per instruction */
} sb_fz_instr;

/* A group compiled to C at run time (fusejit.c): n elements; in[k] = leaf k's data (leaves
 * that are not scalar constants, contiguous, of the output's shape), sc[k] = scalar constant
 * leaf k's value; out contiguous. */
typedef void (*sb_fz_jit_fn)(int64_t n, const float *const *in, const float *sc, float *out);
/* The same group over flat positions [start, start + n) into out[0..n), one thread (a fused
 * reduction's blocks). */
typedef void (*sb_fz_blk_fn)(int64_t start, int64_t n, const float *const *in, const float *sc,
                             float *out);

typedef struct sb_fz_group {
    sb_node *root;
    sb_fz_jit_fn jit;  /* compiled kernel, or NULL (the interpreter runs the group) */
    void *jit_handle;  /* its dlopen handle */
    sb_fz_blk_fn jit_blk; /* its block function (same object) */
    int64_t jit_seen;  /* elements the interpreter computed (JIT policy; -1: never compile) */
    struct sb_fz_jit_job *job; /* background compile in flight (fusejit.c), or NULL */
    sb_dtype dtype;    /* float32 or float64 */
    int nleaf, ninstr;
    sb_node **leaf;    /* values read (of dtype, or scalar constants of any dtype) */
    sb_fz_instr *instr;
} sb_fz_group;

/* Whether n can be a member of a fused group (a float elementwise op the interpreter has,
 * inputs of n's dtype or scalar constants). */
bool sb_be_fz_fusable(const sb_node *n);
/* Build the group rooted at root: members are the nodes with group[id] == root's id. */
void sb_be_fz_build(sb_fz_group *g, sb_node *root, const int32_t *group);
void sb_be_fz_free(sb_fz_group *g);
/* Bytes of scratch one thread needs for g. */
size_t sb_be_fz_scratch(const sb_fz_group *g);
/* Shape of g's result from its leaves' values (NumPy broadcasting); fills d when they do not
 * broadcast. */
sb_status sb_be_fz_shape(const sb_fz_group *g, const sb_tensor *leaves, int *ndim,
                         int64_t *shape, sb_diag *d);
/* Compute g into out (contiguous, of g's dtype and broadcast shape). scratch holds
 * nthreads * sb_be_fz_scratch(g) bytes, 64-byte aligned. */
void sb_be_fz_run(const sb_fz_group *g, const sb_tensor *leaves, sb_tensor *out, void *scratch,
                  int nthreads);
/* Run-time C generation for groups (fusejit.c): a float32 group becomes one C function
 * compiled with the system C compiler (`cc`, or $SB_CC) into a shared object cached under
 * $SB_CACHE_DIR, else $XDG_CACHE_HOME/symbench/kernels, else ~/.cache/symbench/kernels (the
 * file name is a hash of the source and flags: a cached kernel only costs a dlopen). Compiled
 * kernels give bit-for-bit the interpreter's results (no contraction, the same math), so when
 * a group switches does not change any value. Policy (SB_JIT in the environment):
 *   SB_JIT=0     never;
 *   SB_JIT=1     eager: sb_be_plan_compile compiles every group (sb_be_fz_jit_on() is true);
 *   unset/auto   each group counts the elements the interpreter computed (in runs the
 *                compiled kernel could take); past 2^20 a kernel already in the cache is
 *                loaded, past $SB_JIT_MIN (default 2^26) a background thread (nice'd)
 *                compiles it; the runs after it is ready use it. */
enum { SB_FZ_JIT_OFF = 0, SB_FZ_JIT_EAGER = 1, SB_FZ_JIT_AUTO = 2 };
void sb_be_fz_jit_set(int mode); /* a mode above, or -1: back to the environment's choice */
int sb_be_fz_jit_mode(void);
bool sb_be_fz_jit_on(void);      /* eager mode */
/* Compile (or load from the cache) g's kernel into g->jit now; false (g unchanged) when g has
 * an op or dtype the generator does not cover, or compiling fails. */
bool sb_be_fz_jit(sb_fz_group *g);
/* Called by each run of g over n elements: the compiled kernel to use (NULL: interpret),
 * counting n and starting or adopting the background compile under the auto policy. */
sb_fz_jit_fn sb_be_fz_jit_poll(const sb_fz_group *g, int64_t n);
/* Drop g's background compile (it finishes alone and frees itself). */
void sb_be_fz_jit_drop(sb_fz_group *g);

/* ---- reductions fused with their elementwise input (fuse_reduce.c) ----
 * sum mean prod max min (and logsumexp over trailing axes) of a float32/64 value computed in
 * one pass with the group that produces it (its result is never stored): over all axes, over
 * trailing axes ("rows": [R, n] -> [R]) or over leading axes ("columns": [M, N] -> [N]). Work
 * is split in tasks fixed by the sizes only (never by the thread count), and partial results
 * are combined in task order, so results do not depend on the number of threads. Floats
 * accumulate in float64 (float32 values are summed in 16 float lanes over at most 256 values
 * first). */
typedef struct sb_fz_reduce {
    sb_fz_group g;     /* the input: a group, or one value read as is (g.ninstr == 0) */
    sb_node *node;     /* the reduction */
    int ndim;          /* the input's rank */
    int lead;          /* rows: dims [lead, ndim) reduced; columns: dims [0, lead) reduced */
    bool cols;
} sb_fz_reduce;
/* Whether reduction node n can be such a step (op, dtypes, static rank, axes). */
bool sb_be_fz_reducible(const sb_node *n);
/* False under SB_FUSED_REDUCE=0 (reference kernels, softmax without its group: comparisons). */
bool sb_be_fz_absorb_on(void);
/* Build r for n; its input n->in[0] is the root of the group with members group[id] ==
 * n->in[0]->id when `absorb`, else a value read as is. */
void sb_be_fz_reduce_build(sb_fz_reduce *r, sb_node *n, bool absorb, const int32_t *group);
void sb_be_fz_reduce_free(sb_fz_reduce *r);
/* The result's shape from the leaves' values; fills d when they do not broadcast or max/min
 * would reduce an empty axis. */
sb_status sb_be_fz_reduce_shape(const sb_fz_reduce *r, const sb_tensor *leaves, int *ndim,
                                int64_t *shape, sb_diag *d);
/* Compute into out (contiguous, of the node's dtype and the shape above); scratch as for
 * sb_be_fz_run (nthreads * sb_be_fz_scratch(&r->g) bytes). */
void sb_be_fz_reduce_run(const sb_fz_reduce *r, const sb_tensor *leaves, sb_tensor *out,
                         void *scratch, int nthreads);
/* Row softmax (last axis) that absorbs its input group: tasks of rows evaluate the group into
 * the output, then normalize those rows while they are in cache. build: the group rooted at
 * n->in[0] (members group[id] == n->in[0]->id); shape: the output's (the group's broadcast
 * shape); run: as sb_be_fz_reduce_run. */
void sb_be_fz_softmax_build(sb_fz_reduce *r, sb_node *n, const int32_t *group);
sb_status sb_be_fz_softmax_shape(const sb_fz_reduce *r, const sb_tensor *leaves, int *ndim,
                                 int64_t *shape, sb_diag *d);
void sb_be_fz_softmax_run(const sb_fz_reduce *r, const sb_tensor *leaves, sb_tensor *out,
                          void *scratch, int nthreads);

/* Row softmax over the last dim of contiguous x [rows, n] into y (float32 or float64; y may
 * be x), and log_softmax. */
void sb_be_fz_softmax_rows(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y);
void sb_be_fz_log_softmax_rows(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y);

#endif
