/* cu-impl.h: internals shared by the files of the CUDA backend (backends/cuda only; core never
 * sees CUDA headers).
 *
 *   codegen.c  fused elementwise groups (sb_cu_group) and row kernels -> CUDA C source
 *   nvrtc.c    source -> PTX with NVRTC, cached in memory and on disk by a hash of the source
 *   pool.c     device memory in size classes, reused across runs (no cudaMalloc when warm)
 *   blas.c     cuBLAS gemm (row-major wrappers; TF32 only when asked)
 *   program.c  a node list -> a schedule of steps (groups, row kernels, gemm, host fallback)
 *   cuda.c     the backend instance: buffers, run, shared variables on the device, CUDA graphs
 *
 * Codegen and NVRTC need no GPU, which is why the tests run them on every machine. */
#ifndef SB_CU_IMPL_H
#define SB_CU_IMPL_H

#include "backends/backend.h"
#include "backends/cuda/check.h"
#include "core-impl.h"

/* ---- fused elementwise groups (codegen.c) ---------------------------------------------------
 * A group is a small DAG of elementwise ops over leaves (tensors broadcast to the result shape)
 * in registers: registers 0..nleaf-1 are the leaves, register nleaf+i is instruction i's
 * result, the last instruction is the group's result. An instruction whose op is SB_OP_CONST
 * is a literal (value) of its dtype. Every register has a dtype; an instruction computes in the
 * dtype NumPy would (comparisons in the promoted operand dtype, integers in int64) and stores
 * its own dtype. */
#define SB_CU_MAXREG 64

typedef struct sb_cu_instr {
    int16_t op;        /* sb_op (elementwise, or SB_OP_CONST) */
    int16_t a, b, c;   /* operand registers (-1 = none) */
    sb_dtype dtype;    /* result dtype */
    sb_dtype comp;     /* dtype the operation computes in (operands are converted to it) */
    double value;      /* SB_OP_CONST: the literal */
} sb_cu_instr;

typedef struct sb_cu_group {
    int nleaf, ninstr;
    sb_dtype leaf_dtype[SB_CU_MAXREG];
    sb_cu_instr instr[SB_CU_MAXREG];
} sb_cu_group;

/* Whether op has a CUDA C expression here (elementwise ops of ops.def, CAST included). */
bool sb_cu_elemwise_supported(sb_op op);
/* Append an instruction; returns its register (SB_ASSERTs on overflow: callers check room). */
int sb_cu_group_add(sb_cu_group *g, sb_op op, sb_dtype dt, sb_dtype comp, int a, int b, int c,
                    double value);
/* Add a leaf of dtype dt (before any instruction); returns its register. */
int sb_cu_group_leaf(sb_cu_group *g, sb_dtype dt);
/* The dtype of g's result. */
sb_dtype sb_cu_group_dtype(const sb_cu_group *g);

/* Kernel arguments of a group kernel, in order: (long long n, int ndim, sb_dims shape,
 * int path, unsigned scal, T *out, then per leaf: const T *in, sb_dims strides). sb_dims is a
 * struct of SB_MAX_DIMS long longs (element strides; 0 = broadcast). path = 1 (flat) when every
 * leaf is either contiguous in the result's shape or a single element (bit k of scal), and
 * pointers are 16-byte aligned: the kernel then walks flat indices (float4 loads for float32);
 * otherwise the strided path, in 32-bit index arithmetic when path = 2 (n < 2^31), 64-bit
 * when path = 0. */
typedef struct sb_cu_dims {
    long long d[SB_MAX_DIMS];
} sb_cu_dims;

/* A kernel's source and entry point name (malloc'd; free with sb_cu_src_free). */
typedef struct sb_cu_src {
    char *name;
    char *code;
} sb_cu_src;
void sb_cu_src_free(sb_cu_src *s);

/* CUDA C of g's kernel (the name encodes a hash of the body, so equal groups share it). */
sb_cu_src sb_cu_gen_group(const sb_cu_group *g);

/* Row kernels over a contiguous [rows, n] input (one block per row, online max / sum), of
 * float dtype dt. Arguments: (const T *x, T *y, long long rows, long long n) except
 * crossentropy: (const T *p, const L *labels-or-targets, T *y, long long rows, long long n),
 * and softmax / log_softmax: (..., long long n, int cache): cache = 1 when the launch gives n
 * elements of dynamic shared memory (n * sizeof(T) <= SB_CU_ROW_SMEM), so the row is read from
 * global memory once. */
typedef enum sb_cu_row {
    SB_CU_ROW_SOFTMAX,
    SB_CU_ROW_LOG_SOFTMAX,
    SB_CU_ROW_LOGSUMEXP,   /* y[rows] */
    SB_CU_ROW_SUM,         /* y[rows]; also MEAN (scale), PROD, MAX, MIN */
    SB_CU_ROW_MEAN,
    SB_CU_ROW_PROD,
    SB_CU_ROW_MAX,
    SB_CU_ROW_MIN,
    SB_CU_ROW_XENT_LABELS, /* labels of dtype lab: y[r] = -log(p[r, t[r]]) */
    SB_CU_ROW_XENT_DENSE,  /* targets of dt: y[r] = -sum(t * log p) */
    SB_CU_ROW_COUNT
} sb_cu_row;
/* Column reductions over a contiguous [rows, n] input: y[n] reduces the rows (kinds SUM, MEAN,
 * PROD, MAX, MIN), one thread per column, coalesced. Arguments as the row kernels. */
sb_cu_src sb_cu_gen_row(sb_cu_row kind, sb_dtype dt, sb_dtype lab);
sb_cu_src sb_cu_gen_col(sb_cu_row kind, sb_dtype dt);
/* The C type of dt in generated code ("float", "long long", "bool", ...). */
const char *sb_cu_ctype(sb_dtype dt);

/* ---- NVRTC (nvrtc.c) ------------------------------------------------------------------------ */
/* PTX for src compiled for compute_<arch> (e.g. 90), from the in-memory cache, then the disk
 * cache ($SB_CUDA_CACHE, else $XDG_CACHE_HOME/symbench/cuda, else ~/.cache/symbench/cuda; empty
 * SB_CUDA_CACHE = no disk cache), else NVRTC. Returns the PTX (owned by the cache, valid until
 * sb_cu_nvrtc_clear) or NULL with d filled (the compiler log in the message). */
const char *sb_cu_nvrtc_ptx(const sb_cu_src *src, int arch, sb_diag *d);
typedef struct sb_cu_nvrtc_stats {
    long compiled, mem_hits, disk_hits, disk_writes;
} sb_cu_nvrtc_stats;
void sb_cu_nvrtc_stats_get(sb_cu_nvrtc_stats *s);
/* Forget the in-memory cache (the disk cache stays) and reset the counters. */
void sb_cu_nvrtc_clear(void);
/* The 128-bit key of a source as 32 hex digits (plus NUL) into out; the disk file's name. */
void sb_cu_nvrtc_key(const sb_cu_src *src, int arch, char out[33]);

/* ---- device (cuda.c) ------------------------------------------------------------------------ */
/* Whether a CUDA device is usable; otherwise d (if not NULL) says why. Probed once. */
bool sb_cu_device_ok(sb_diag *d);
/* The device's compute capability as major*10+minor (90 on an H100); 90 without a device. */
int sb_cu_arch(void);
/* The backend's stream (created on first use). */
void *sb_cu_stream(void);
/* A loaded kernel for src (compiled / cached, loaded once per process); NULL + d on error. */
void *sb_cu_kernel(const sb_cu_src *src, sb_diag *d);
/* Launch kernel k with grid x block threads and argument pointers args (with smem bytes of
 * dynamic shared memory per block: sb_cu_launch_smem). */
sb_status sb_cu_launch(void *k, unsigned grid, unsigned block, void **args, sb_diag *d);
sb_status sb_cu_launch_smem(void *k, unsigned grid, unsigned block, size_t smem, void **args,
                            sb_diag *d);
/* Dynamic shared memory a kernel may use without opting in (48 KB), less what the row kernels
 * declare statically: softmax keeps rows up to this many bytes in shared memory. */
#define SB_CU_ROW_SMEM (48 * 1024 - 1024)

/* ---- device memory pool (pool.c) ----------------------------------------------------------- */
/* Device memory of at least n bytes (16-byte aligned), from the pool's free lists when a block
 * of the size class is free, else cudaMalloc. NULL + d on out-of-memory. */
void *sb_cu_pool_alloc(size_t n, sb_diag *d);
/* Give p (from sb_cu_pool_alloc, or NULL) back to the pool; the memory stays allocated. */
void sb_cu_pool_release(void *p);
/* Return the free blocks to the device (cudaFree). */
void sb_cu_pool_trim(void);
typedef struct sb_cu_pool_stats {
    long mallocs, reuses, live;
    size_t bytes_held;
} sb_cu_pool_stats;
void sb_cu_pool_stats_get(sb_cu_pool_stats *s);
/* Size class of n bytes (the bytes really allocated): powers of two from 256 bytes, then
 * multiples of 1/8 of the power of two below (so at most 12.5% waste). */
size_t sb_cu_pool_class(size_t n);

/* ---- cuBLAS (blas.c) ------------------------------------------------------------------------ */
/* Row-major C[m,n] = A[m,k] @ B[k,n] (+ beta * C) of float32 / float64 on the backend's stream;
 * ta / tb: the operand is stored transposed ([k,m] / [n,k]). TF32 tensor cores for float32 when
 * tf32 is true. n == 1 uses gemv. */
sb_status sb_cu_gemm(sb_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                     const void *a, const void *b, double beta, void *c, bool tf32, sb_diag *d);
/* Destroy the cuBLAS handle (at exit). */
void sb_cu_blas_shutdown(void);

/* ---- programs (program.c) ------------------------------------------------------------------- */
/* The backend's compile / run / free (backend.h contracts); run needs a device. */
sb_be_program *sb_cu_prog_compile(sb_ctx *ctx, int nout, sb_node *const *outs, unsigned flags,
                                  sb_diag *d);
sb_status sb_cu_prog_run(sb_be_program *p, int nbind, const sb_binding *binds, sb_array **res,
                         sb_diag *d);
void sb_cu_prog_free(sb_be_program *p);
/* Steps of p by kind (leaf, group, perm, row, col, gemm, view, host, fold) into counts[], and
 * the elementwise nodes inside its groups; for tests and `symbench bench`. No device needed. */
#define SB_CU_NKINDS 9
void sb_cu_prog_stats(const sb_be_program *p, int counts[SB_CU_NKINDS], int *fused_nodes);
/* Median device time in ms of p's kernels over reps launches after one planning pass (inputs
 * uploaded once; as a CUDA graph when graph); programs with host steps: whole runs. */
sb_status sb_cu_prog_time(sb_be_program *p, int nbind, const sb_binding *binds, int reps,
                          bool graph, double *ms, sb_diag *d);
/* G1-G4 (bench.c): a table on out; without a device each workload's plan. 0 = ok. */
int sb_cu_bench(FILE *out, bool quick, sb_diag *d);
/* One line per non-leaf step: kind, op#id, a group's members. */
void sb_cu_prog_print(const sb_be_program *p, FILE *f);
/* Step i's fused group and its leaves' nodes (NULL when step i is not a group). */
const sb_cu_group *sb_cu_prog_group(const sb_be_program *p, int i, sb_node *const **leaves);
/* The kernel source of step i (NULL when the step has none). */
const char *sb_cu_prog_source(const sb_be_program *p, int i);

#endif
