/* plan_impl.h: internals of the CPU execution plan (plan.h) shared by its files. Not for other
 * files.
 *
 *     plan.c           compiling: order, GEMM formation, fusion, steps and liveness
 *     plan_ifelse.c    compiling: lazy ifelse (the region each node runs in)
 *     plan_run.c       running: the buffer pool, the steps, profiling hooks
 *     plan_update.c    in-place updates (sb_be_plan_update_inplace)
 *     plan_describe.c  stats, the printed schedule, drawings and pass reports
 *
 * A plan is an array of steps; an ifelse step is followed by the steps of its then and else
 * sub-schedules (nsub[0], nsub[1]), so walks over a (sub-)schedule go by sb_be_plan_step_next. */
#ifndef SB_CPU_PLAN_IMPL_H
#define SB_CPU_PLAN_IMPL_H

#include "plan.h"
#include "backends/backend.h"

enum step_kind { ST_LEAF, ST_FUSED, ST_GEMM, ST_SOFTMAX, ST_KERNEL, ST_IFELSE, ST_REDUCE };

/* The BLAS call an ST_GEMM step makes; sb_be_plan_blas_name[] is its name in prints and
 * profiles ("kernel", "gemm", "gemv", "ger"). */
enum { BL_NONE, BL_GEMM, BL_GEMV, BL_GER };
extern const char *const sb_be_plan_blas_name[];

typedef struct step {
    int kind;
    sb_node *node;       /* the node whose value the step produces */
    int nread;
    sb_node **read;      /* values the step reads (liveness) */
    sb_fz_group fz;      /* ST_FUSED */
    sb_fz_reduce rz;     /* ST_REDUCE, and ST_SOFTMAX when rz.node is set: the step computes its
                            input group too (fuse_reduce.c) */
    sb_node *mm;         /* ST_GEMM: the matmul / outer (node itself, or the input of the bias
                            add) */
    int blas;            /* ST_GEMM: BL_GEMM, BL_GEMV or BL_GER (which BLAS call) */
    sb_node *bias;       /* ST_GEMM: folded addend (bias row, or full matrix), or NULL */
    bool full;           /* ST_GEMM: the addend is a full [M, N] matrix */
    double alpha;        /* ST_GEMM: scale of the product (a constant) */
    sb_node *alpha_node; /* ST_GEMM: a 0-d float value the scale is multiplied by at run time
                            (a learning rate computed in the graph), or NULL */
    double beta;         /* ST_GEMM with a full addend: its scale (0.9 * v - lr * g) */
    int nfree;
    uint32_t *free_ids;  /* values released after this step */
    sb_node *into;       /* ST_FUSED / ST_GEMM: write into this leaf's bound array (in place) */
    int extra;           /* reads appended for liveness only (the in-place target) */
    int nsub[2];         /* ST_IFELSE: steps of the then / else sub-schedules, which follow it */
    bool own[2];         /* ST_IFELSE: the branch's value is computed inside its sub-schedule */
    int wrote_over;      /* the last run wrote over a dying input's buffer: ST_FUSED: its leaf
                            index, ST_SOFTMAX: 0 (its input); -1 = none */
    bool view;           /* last run: the value shared a buffer with one of the step's reads */
} step;

typedef struct pool_buf {
    sb_be_buf buf;       /* refs: 1 (the pool's) + live tensors over it */
    size_t cap;
} pool_buf;

struct sb_plan {
    sb_ctx *ctx;
    int nout;
    sb_node **outs;
    int nstep;
    step *steps;
    int nnodes;
    sb_tensor *val;      /* by node id, during a run */
    sb_be_buf *leafbuf;  /* by step index (ST_LEAF steps) */
    sb_ptrvec pool;      /* pool_buf * */
    int64_t nalloc;
    void *scratch;       /* fused groups' registers, all threads */
    int nthreads;
    sb_tensor *keep;     /* outputs of the last run */
    sb_array *outarr;    /* their borrowed headers */
    bool have_out;
    int64_t nrun;        /* computing steps executed by the last run */
    int64_t nheap;       /* reference-kernel results of the last run outside the pool */
    int64_t ninplace;    /* fused / softmax steps of the last run that wrote over a dying input */
    bool ran;            /* a run started (steps' wrote_over / view are from it) */
    int nreq, ntrace;    /* pool requests of this run; entries of trace */
    pool_buf **trace;    /* by request number: the buffer it got (pool_get) */
};

/* The compiler's state while it builds a plan (plan.c, plan_ifelse.c). */
typedef struct compiler {
    sb_plan *p;
    int n;
    sb_node **order;
    sb_node **byid;
    int32_t *users;     /* readers of each node (+1 for outputs) */
    uint8_t *is_out;
    sb_node **mm_of;    /* by id: the matmul folded into this add */
    sb_node **bias_of;
    uint8_t *full_of;   /* by id: the addend is a full matrix */
    double *alpha_of;   /* by id: the product's scale */
    sb_node **alpha_node_of; /* by id: its run-time scalar factor (or NULL) */
    double *beta_of;    /* by id: the full addend's scale */
    uint8_t *folded;    /* nodes folded into a GEMM step (matmuls, their scalings) */
    sb_node ***reads;   /* by order index */
    int *nreads;
    int32_t *reg;       /* by id: the region the node runs in (sb_be_plan_lazy_regions) */
    int32_t *child;     /* by id * 2 + branch: an ifelse's branch regions */
    int nreg;
    int32_t *rparent;   /* by region: enclosing region (-1 for the main schedule, region 0) */
    int32_t *rdepth;
    uint8_t *absorbed;  /* by id: group roots computed inside their reduction's step */
} compiler;

/* The index after step i and, for an ifelse, after both of its sub-schedules. */
int sb_be_plan_step_next(const sb_plan *p, int i);
/* (Re)compute every step's release list (free_ids, nfree; empty on entry): per (sub-)schedule,
 * a value is released after the last step of it that reads it; outputs (is_out by node id) are
 * never released. */
void sb_be_plan_liveness(sb_plan *p, const uint8_t *is_out);
/* Whether a and b have the same static shape (ndim and every dim, -1 included). */
bool sb_be_plan_same_shape(const sb_node *a, const sb_node *b);
/* Assign c->reg (region of each node) and c->child (each ifelse's two branch regions), walking
 * consumers before producers; needs c->order, c->n and the plan's outputs (plan_ifelse.c). */
void sb_be_plan_lazy_regions(compiler *c);
/* Set ifelse step k's read list (for liveness) to its condition and what its sub-schedules read
 * from outside them, and own[b]; mark is scratch by node id, zero on entry and return. */
void sb_be_plan_ifelse_reads(sb_plan *p, int k, uint8_t *mark);
/* Whether step s may write its result (dtype dt) over input value L's buffer, as far as known
 * when compiling: L dies at s, is computed (not a leaf), has dtype dt, and s does not update a
 * bound leaf in place (plan_run.c: the run-time part, destroyable). */
bool sb_be_plan_destroy_static(const step *s, const sb_node *L, sb_dtype dt);

#endif
