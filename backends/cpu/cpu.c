/* cpu.c: the CPU backend instance. Buffers are host memory; a program is an execution plan
 * (plan.c: fused elementwise kernels, GEMMs, pooled buffers, in-place updates), or the reference
 * evaluator (eval.c) in float64 reference mode and where the plan cannot compile a graph.
 *
 * Which one runs is chosen at compile time:
 *   - SB_BE_F64 (reference mode): the reference evaluator, always;
 *   - the environment variable SB_CPU_EXEC: "eval" = the reference evaluator, "plan" = the plan
 *     only (a graph it cannot compile is a compile error: tests use this to be sure the plan
 *     ran), unset / "auto" = the plan, falling back to the reference evaluator when the plan
 *     refuses the graph (errors then come from sb_eval when the program runs, as before).
 *
 * A program is not reentrant: the plan keeps its buffers between runs, so one program must not
 * run on two threads at once (compile one program per thread). */
#include "backends/backend.h"
#include "backends/cpu/plan.h"
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
    sb_plan *plan;     /* NULL: the reference evaluator runs the outputs */
    uint8_t *inplace;  /* by output: written into a bound leaf's array, res[i] = NULL */
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

enum exec_mode { EXEC_AUTO, EXEC_PLAN, EXEC_EVAL };

/* The executor SB_CPU_EXEC asks for; false + d on a value that is none of auto/plan/eval. */
static bool exec_mode(enum exec_mode *m, sb_diag *d)
{
    const char *e = getenv("SB_CPU_EXEC");
    *m = EXEC_AUTO;
    if (!e || !*e || !strcmp(e, "auto")) return true;
    if (!strcmp(e, "plan")) *m = EXEC_PLAN;
    else if (!strcmp(e, "eval")) *m = EXEC_EVAL;
    else {
        sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                    "SB_CPU_EXEC='%s': expected 'plan', 'eval' or 'auto'", e);
        return false;
    }
    return true;
}

/* Compile: the plan unless reference mode or SB_CPU_EXEC says otherwise (see the top). The
 * auto mode swallows the plan's refusal (a symbolic node, an op without a CPU kernel): the
 * reference evaluator then reports the same problem when the program runs. */
static sb_be_program *cpu_compile(sb_ctx *ctx, int nout, sb_node *const *outs, unsigned flags,
                                  sb_diag *d)
{
    enum exec_mode m;
    if (!exec_mode(&m, d)) return NULL;
    sb_plan *plan = NULL;
    bool f64 = flags & SB_BE_F64;
    if (!f64 && m != EXEC_EVAL) {
        sb_diag pd = {0};
        plan = sb_be_plan_compile(ctx, nout, outs, m == EXEC_PLAN ? d : &pd);
        if (!plan && m == EXEC_PLAN) return NULL;
    }
    sb_be_program *p = sb_xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->nout = nout;
    p->outs = sb_xmalloc(sizeof *p->outs * (size_t)(nout > 0 ? nout : 1));
    memcpy(p->outs, outs, sizeof *p->outs * (size_t)nout);
    p->f64 = f64;
    p->plan = plan;
    p->inplace = sb_xcalloc((size_t)nout + 1, 1);
    return p;
}

/* Run: the plan computes into its pooled buffers; every output that is not written in place
 * is copied into a new array. On error every res[i] is NULL. */
static sb_status cpu_run(sb_be_program *p, int nbind, const sb_binding *binds, sb_array **res,
                         sb_diag *d)
{
    if (!p->plan) return sb_eval(p->ctx, p->nout, p->outs, nbind, binds, p->f64, res, d);
    for (int i = 0; i < p->nout; i++) res[i] = NULL;
    sb_status st = sb_be_plan_run(p->plan, nbind, binds, NULL, d);
    if (st) return st;
    for (int i = 0; i < p->nout; i++)
        if (!p->inplace[i]) res[i] = sb_array_copy(sb_be_plan_output(p->plan, i));
    return SB_OK;
}

/* Output i goes into leaf's bound array from now on (sb_be_plan_update_inplace says when it is
 * safe); the reference evaluator never writes in place. */
static sb_status cpu_update_inplace(sb_be_program *p, int i, sb_node *leaf, sb_diag *d)
{
    SB_ASSERT(i >= 0 && i < p->nout);
    if (!p->plan)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "in-place update of '%s': this program runs on the reference "
                           "evaluator", leaf && leaf->name ? leaf->name : "?");
    if (p->inplace[i])
        return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "output %d is already written in place",
                           i);
    sb_status st = sb_be_plan_update_inplace(p->plan, i, leaf, d);
    if (st == SB_OK) p->inplace[i] = 1;
    return st;
}

/* The plan's description (sb_be_plan_describe); a program run by the reference evaluator fuses
 * nothing and writes nothing in place: all zero. */
static void cpu_describe(const sb_be_program *p, int n, int *kernel, unsigned *marks,
                         uint32_t *over)
{
    if (p->plan) {
        sb_be_plan_describe(p->plan, n, kernel, marks, over);
        return;
    }
    memset(kernel, 0, sizeof *kernel * (size_t)n);
    memset(marks, 0, sizeof *marks * (size_t)n);
    memset(over, 0, sizeof *over * (size_t)n);
}

static void cpu_program_free(sb_be_program *p)
{
    if (!p) return;
    sb_be_plan_free(p->plan);
    free(p->inplace);
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
    .update_inplace = cpu_update_inplace,
    .describe = cpu_describe,
};

const struct sb_backend_i *sb_be_cpu_get(void)
{
    return &sb_be_cpu;
}
