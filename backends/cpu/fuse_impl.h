/* fuse_impl.h: internals of the fused kernels shared by fuse.c (elementwise groups) and
 * fuse_reduce.c (reductions fused with their elementwise input). Not for other files.
 *
 * A run context holds a group's leaves classified against the shape the group is evaluated
 * over; sb_be_fz_block evaluates the group over one block of flat positions and returns the
 * block of values (in a register, or in place when the group is a single contiguous value). */
#ifndef SB_CPU_FUSE_IMPL_H
#define SB_CPU_FUSE_IMPL_H

#include "plan.h"

enum { SB_FZ_LEAF_FULL, SB_FZ_LEAF_SCALAR, SB_FZ_LEAF_PERIODIC, SB_FZ_LEAF_GATHER };

typedef struct sb_fz_leaf {
    int kind;
    double scalar;
    const char *base;   /* FULL / PERIODIC: first element; GATHER: element 0 of the view */
    int64_t period;     /* PERIODIC: elements in one repetition */
    int64_t strides[SB_MAX_DIMS]; /* GATHER: strides over the evaluated shape */
} sb_fz_leaf;

typedef struct sb_fz_ctx {
    const sb_fz_group *g;
    sb_fz_leaf lf[SB_FZ_MAXREG];
    int ndim;
    int64_t shape[SB_MAX_DIMS];
    int64_t n;
    char *out;          /* NULL: the last instruction writes its register (reductions) */
    bool stream;        /* large, aligned output on an AVX-512 CPU: non-temporal stores */
    bool fits;          /* every leaf is a scalar constant or full: a compiled kernel can run */
    sb_fz_blk_fn blk;   /* the compiled block function, when the group has one and it fits */
    const float *jin[SB_FZ_MAXREG]; /* its arguments */
    float jsc[SB_FZ_MAXREG];
} sb_fz_ctx;

/* Classify g's leaves (values at run time) against shape[0..ndim); out stays NULL. Blocks
 * use g's compiled block function when it has one and the leaves fit. */
void sb_be_fz_ctx_init(sb_fz_ctx *rc, const sb_fz_group *g, const sb_tensor *leaves, int ndim,
                       const int64_t *shape);
/* Take up g's compiled block function if it appeared since (a background compile adopted). */
void sb_be_fz_ctx_jit(sb_fz_ctx *rc);
/* Fill the scalar leaves' registers (once per thread and run, before sb_be_fz_block). */
void sb_be_fz_splat(const sb_fz_ctx *rc, char *regs);
/* Evaluate the group over flat positions [start, start + n), n <= SB_FZ_BLOCK, with this
 * thread's registers; returns the values (of g's dtype): rc->out + start when rc->out is set,
 * else a register or the leaf's own memory. isa: which clones of the instruction loops run. */
const void *sb_be_fz_block(const sb_fz_ctx *rc, char *regs, int64_t start, int64_t n, int isa);
/* Which clones the CPU runs: AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3), or the baseline. */
enum { SB_FZ_ISA_BASE, SB_FZ_ISA_V3, SB_FZ_ISA_V4 };
int sb_be_fz_isa(void);
/* Row softmax (log_softmax when lg) of rows [0, rows) of contiguous x into y (may be x), on
 * this thread. */
void sb_be_fz_softmax_chunk(sb_dtype dt, int64_t rows, int64_t n, const void *x, void *y,
                            bool lg, int isa);
/* The 16 lanes of v (a GCC vector type of 16 floats) folded by OP(a, b) (a vector operation) in
 * four butterfly steps, lane k with lane k ^ 8, ^ 4, ^ 2, ^ 1: 4 shuffles and 4 OPs instead of 15
 * dependent scalar steps and 16 lane extracts, in an order fixed by the lanes. Evaluates to lane
 * 0 (a GNU statement expression). Row softmax (fuse.c) and the skinny products (skinny.c). */
typedef int32_t sb_v16_idx __attribute__((vector_size(64)));
#define SB_V16_BFLY_(v, OP, k)                                                                     \
    v = OP(v, __builtin_shuffle(v, (sb_v16_idx){0 ^ k, 1 ^ k, 2 ^ k, 3 ^ k, 4 ^ k, 5 ^ k, 6 ^ k,   \
                                                7 ^ k, 8 ^ k, 9 ^ k, 10 ^ k, 11 ^ k, 12 ^ k,       \
                                                13 ^ k, 14 ^ k, 15 ^ k}))
#define SB_V16_FOLD(v0, OP)                                                                        \
    ({                                                                                             \
        __typeof__(v0) v_ = (v0);                                                                  \
        SB_V16_BFLY_(v_, OP, 8);                                                                   \
        SB_V16_BFLY_(v_, OP, 4);                                                                   \
        SB_V16_BFLY_(v_, OP, 2);                                                                   \
        SB_V16_BFLY_(v_, OP, 1);                                                                   \
        v_[0];                                                                                     \
    })
#define SB_V16_ADD(a, b) ((a) + (b))

/* Use at most `isa`'s clones (tests run every clone this CPU can); -1: the CPU's best. */
void sb_be_fz_isa_set(int isa);

/* Elements (multiply-adds for the skinny products) from which a loop is split among the OpenMP
 * threads: small while idle threads spin (waking one costs ~3 us), larger when they sleep at
 * once (OMP_WAIT_POLICY=passive: 20-100 us to wake on this VM). base is the passive threshold;
 * an eighth of it when threads spin. Results never depend on it (loops split
 * into fixed tasks). */
int64_t sb_be_par_min(int64_t base);

#endif
