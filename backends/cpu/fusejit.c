/* fusejit.c: fused elementwise groups generated as C and compiled at run time, with an
 * on-disk cache (Theano's approach, as an alternative to fuse.c's interpreter).
 *
 * For a float32 group the generator writes one function: a loop over the elements (OpenMP
 * above 65536) whose body is the group's expression, one local per instruction, leaves read as
 * p_k[i] (p_k = in[k]) or as the scalar sc[k], and vmath.h's functions pasted in (SB_VM_TEXT), so GCC
 * inlines and vectorizes everything in one pass over memory, exactly like a hand-written loop.
 * The source is compiled with `cc -O3 -march=native -fno-math-errno -fopenmp -shared -fPIC`
 * into <cache>/<hash>.so (hash of source and command), written under a temporary name and
 * renamed, so concurrent processes never load a half-written file; a later plan with the same
 * group only dlopens it. Any failure (no compiler, unwritable cache) leaves the group to the
 * interpreter. The generated expressions compute exactly what fuse.c's instruction loops do
 * (both without floating-point contraction), so a compiled kernel gives the same bits.
 *
 * Policy (plan.h): off, eager (at plan compile), or auto (default): a group that has computed
 * $SB_JIT_MIN elements (2^26) in the interpreter is compiled by a background thread and used
 * from the run after it is ready, one whose kernel is already in the cache is loaded after
 * 2^20; small or short-lived plans never pay for the compiler. */
#include "plan.h"
#include "vmath.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <spawn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int jit_forced = -1;

void sb_be_fz_jit_set(int mode)
{
    jit_forced = mode;
}

int sb_be_fz_jit_mode(void)
{
    if (jit_forced >= 0) return jit_forced;
    const char *e = getenv("SB_JIT");
    if (!e || !*e || !strcmp(e, "auto")) return SB_FZ_JIT_AUTO;
    return strcmp(e, "0") ? SB_FZ_JIT_EAGER : SB_FZ_JIT_OFF;
}

bool sb_be_fz_jit_on(void)
{
    return sb_be_fz_jit_mode() == SB_FZ_JIT_EAGER;
}

/* Elements a group computes in the interpreter before the auto policy compiles it
 * ($SB_JIT_MIN, default 2^26: about 0.1 s of interpreting, against about 0.5 s of one
 * background core for the compiler), and before it loads an already cached kernel (2^20,
 * about a millisecond, the cost of the dlopen). */
static int64_t jit_min(void)
{
    const char *e = getenv("SB_JIT_MIN");
    char *end;
    long long v = e && *e ? strtoll(e, &end, 10) : -1;
    return v >= 0 && e && *end == 0 ? (int64_t)v : (int64_t)1 << 26;
}

static int64_t jit_min_cached(void)
{
    int64_t m = jit_min();
    return m < ((int64_t)1 << 20) ? m : (int64_t)1 << 20;
}

/* ---- source ---------------------------------------------------------------------------------- */
/* The C expression of op over operands a, b, c (float32), written as fuse.c's instruction
 * loops compute it (libm in double where they call it so), so that values agree bit for bit.
 * NULL = not generated. */
static const char *op_expr(sb_op op)
{
    switch (op) {
    case SB_OP_NEG: return "-a";
    case SB_OP_ABS: return "fabsf(a)";
    case SB_OP_SIGN: return "(a > 0 ? 1.0f : a < 0 ? -1.0f : a)";
    case SB_OP_EXP: return "sb_vm_expf(a)";
    case SB_OP_EXPM1: return "(float)expm1(a)";
    case SB_OP_LOG: return "sb_vm_logf(a)";
    case SB_OP_LOG1P: return "(float)log1p(a)";
    case SB_OP_LOG2: return "(float)log2(a)";
    case SB_OP_SQRT: return "sqrtf(a)";
    case SB_OP_SQR: return "a * a";
    case SB_OP_RECIPROCAL: return "1.0f / a";
    case SB_OP_SIN: return "(float)sin(a)";
    case SB_OP_COS: return "(float)cos(a)";
    case SB_OP_TANH: return "sb_vm_tanhf(a)";
    case SB_OP_SIGMOID: return "sb_vm_sigmoidf(a)";
    case SB_OP_SOFTPLUS: return "(float)(a > 0 ? a + log1p(exp(-a)) : log1p(exp(a)))";
    case SB_OP_RELU: return "(a < 0 ? 0.0f : a)";
    case SB_OP_ERF: return "(float)erf(a)";
    case SB_OP_FLOOR: return "(float)floor(a)";
    case SB_OP_CEIL: return "(float)ceil(a)";
    case SB_OP_ROUND: return "(float)rint(a)";
    case SB_OP_ADD: return "a + b";
    case SB_OP_SUB: return "a - b";
    case SB_OP_MUL: return "a * b";
    case SB_OP_DIV: return "a / b";
    case SB_OP_POW: return "(float)pow(a, b)";
    case SB_OP_MAXIMUM: return "((a != a || a >= b) ? a : b)";
    case SB_OP_MINIMUM: return "((a != a || a <= b) ? a : b)";
    case SB_OP_CLIP: return "(a < b ? b : a > c ? c : a)";
    default: return NULL;
    }
}

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static void sb_put(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = 2 * (b->cap + (size_t)k + 256);
        b->s = sb_xrealloc(b->s, b->cap);
    }
}

/* Register r as a C expression (leaves read from memory or the scalar array). */
static void reg_ref(strbuf *b, const sb_fz_group *g, int r)
{
    if (r >= g->nleaf) sb_put(b, "t%d", r);
    else if (g->leaf[r]->op == SB_OP_CONST && sb_array_numel(g->leaf[r]->value) == 1) sb_put(b, "s%d", r);
    else sb_put(b, "p%d[i]", r);
}

/* The loop body: one local per instruction, the last one stored to out[i]; false when an op
 * is not covered. */
static bool gen_body(strbuf *bp, const sb_fz_group *g)
{
    strbuf b = *bp;
    for (int k = 0; k < g->ninstr; k++) {
        const sb_fz_instr *in = &g->instr[k];
        const char *e = op_expr((sb_op)in->op);
        if (!e) {
            *bp = b;
            return false;
        }
        sb_put(&b, "        const float t%d = ", in->dst);
        for (const char *p = e; *p; p++) {
            int r = *p == 'a' ? in->a : *p == 'b' ? in->b : *p == 'c' ? in->c : -1;
            bool ident = (p > e && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) ||
                         isalnum((unsigned char)p[1]) || p[1] == '_';
            if (r >= 0 && !ident) reg_ref(&b, g, r);
            else sb_put(&b, "%c", *p);
        }
        sb_put(&b, ";\n");
    }
    sb_put(&b, "        out[i] = t%d;\n    }\n}\n", g->instr[g->ninstr - 1].dst);
    *bp = b;
    return true;
}

/* The leaves' locals; `off` is added to the pointers (the block function's start). */
static void gen_leaves(strbuf *b, const sb_fz_group *g, const char *off)
{
    for (int k = 0; k < g->nleaf; k++)
        sb_put(b, "    const float s%d = sc[%d];\n    const float *restrict p%d = in[%d]%s;\n", k,
               k, k, k, off);
}

/* The source: sb_fz_kernel (all n elements, OpenMP) and sb_fz_block (positions [start,
 * start + n) into out[0..n), for fused reductions), or NULL when an op is not covered. */
static char *gen_source(const sb_fz_group *g)
{
    if (g->dtype != SB_DTYPE_F32 || g->ninstr == 0) return NULL;
    strbuf b = {0};
    sb_put(&b, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n%s\n", SB_VM_TEXT);
    sb_put(&b, "void sb_fz_kernel(int64_t n, const float *const *in, const float *sc, "
               "float *restrict out)\n{\n");
    gen_leaves(&b, g, "");
    sb_put(&b, "#pragma omp parallel for schedule(static) if (n >= 65536)\n");
    sb_put(&b, "    for (int64_t i = 0; i < n; i++) {\n");
    bool ok = gen_body(&b, g);
    sb_put(&b, "void sb_fz_block(int64_t start, int64_t n, const float *const *in, "
               "const float *sc, float *restrict out)\n{\n");
    gen_leaves(&b, g, " + start");
    sb_put(&b, "    for (int64_t i = 0; i < n; i++) {\n");
    ok = ok && gen_body(&b, g);
    if (!ok) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- compiling and caching ------------------------------------------------------------------- */
static const char *const CFLAGS[] = {"-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off",
                                     "-fno-trapping-math", "-fopenmp", "-shared", "-fPIC", "-w"};
#define NCFLAGS ((int)(sizeof CFLAGS / sizeof *CFLAGS))

/* mkdir -p */
static bool make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        bool ok = mkdir(path, 0755) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok) return false;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

static bool cache_dir(char *out, size_t n)
{
    const char *d = getenv("SB_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    if (d && *d) snprintf(out, n, "%s", d);
    else if (x && *x) snprintf(out, n, "%s/symbench/kernels", x);
    else if (h && *h) snprintf(out, n, "%s/.cache/symbench/kernels", h);
    else return false;
    return make_dirs(out);
}

/* Run the compiler on src into so; true on success. */
static bool run_cc(const char *cc, const char *src, const char *so)
{
    const char *argv[NCFLAGS + 6];
    int k = 0;
    argv[k++] = cc;
    for (int i = 0; i < NCFLAGS; i++) argv[k++] = CFLAGS[i];
    argv[k++] = "-o";
    argv[k++] = so;
    argv[k++] = src;
    argv[k++] = "-lm";
    argv[k] = NULL;
    pid_t pid;
    if (posix_spawnp(&pid, cc, NULL, NULL, (char *const *)argv, environ)) return false;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The cached shared object for src: built when missing. */
static const char *cc_name(void)
{
    const char *cc = getenv("SB_CC");
    return cc && *cc ? cc : "cc";
}

/* The cache entry of src (the shared object's path, and the hash in it); false without a
 * cache directory. */
static bool cache_entry(const char *src, const char *cc, char *so, size_t n, uint64_t *hash)
{
    char dir[900];
    if (!cache_dir(dir, sizeof dir)) return false;
    uint64_t h = sb_hash_bytes(src, strlen(src), 0x5b5b);
    h = sb_hash_bytes(cc, strlen(cc), h);
    for (int i = 0; i < NCFLAGS; i++) h = sb_hash_bytes(CFLAGS[i], strlen(CFLAGS[i]), h);
    snprintf(so, n, "%s/fz-%016llx.so", dir, (unsigned long long)h);
    *hash = h;
    return true;
}

static bool build_cached(const char *src, const char *cc, char *so, size_t n)
{
    char dir[900];
    uint64_t h;
    if (!cache_entry(src, cc, so, n, &h) || !cache_dir(dir, sizeof dir)) return false;
    if (access(so, R_OK) == 0) return true;
    char csrc[1000], tmp[1000];
    snprintf(csrc, sizeof csrc, "%s/fz-%016llx-%d.c", dir, (unsigned long long)h, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s/fz-%016llx-%d.so", dir, (unsigned long long)h, (int)getpid());
    FILE *f = fopen(csrc, "w");
    if (!f) return false;
    bool ok = fputs(src, f) >= 0;
    ok &= fclose(f) == 0;
    ok = ok && run_cc(cc, csrc, tmp) && rename(tmp, so) == 0;
    unlink(csrc);
    if (!ok) unlink(tmp);
    return ok;
}

/* Build (or find) src's shared object and load it: *handle, the kernel and *blk (its block
 * function), or NULL. */
static sb_fz_jit_fn load_kernel(const char *src, void **handle, sb_fz_blk_fn *blk)
{
    char so[1100];
    *handle = NULL;
    if (!build_cached(src, cc_name(), so, sizeof so)) return NULL;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    void *fn = h ? dlsym(h, "sb_fz_kernel") : NULL, *bf = h ? dlsym(h, "sb_fz_block") : NULL;
    if (!fn || !bf) {
        if (h) dlclose(h);
        return NULL;
    }
    sb_fz_jit_fn k;
    memcpy(&k, &fn, sizeof fn);
    memcpy(blk, &bf, sizeof bf);
    *handle = h;
    return k;
}

bool sb_be_fz_jit(sb_fz_group *g)
{
    char *src = gen_source(g);
    if (!src) return false;
    void *h;
    sb_fz_blk_fn blk;
    sb_fz_jit_fn fn = load_kernel(src, &h, &blk);
    free(src);
    if (!fn) {
        sb_log(2, "fused kernel: compiling failed; the interpreter runs it");
        return false;
    }
    g->jit_handle = h;
    g->jit = fn;
    g->jit_blk = blk;
    return true;
}

/* ---- the auto policy: background compiles ----------------------------------------------------
 * A job is shared by its group and its thread (two references, atomically counted); whoever
 * drops the last one frees it, closing a kernel that nobody adopted. The thread lowers its own
 * priority (Linux: per thread, inherited by the compiler it spawns) so that compiling does not
 * take time slices from the runs it is meant to speed up. A job is started by the thread
 * running the plan; a plan is run by one thread at a time, so the group's fields need no lock. */
enum { JOB_RUNNING, JOB_READY, JOB_FAILED };

struct sb_fz_jit_job {
    int state;            /* JOB_*, atomic */
    int refs;             /* atomic */
    char *src;
    sb_fz_jit_fn fn;
    sb_fz_blk_fn blk;
    void *handle;
    pthread_t thread;
};

static void job_unref(struct sb_fz_jit_job *j)
{
    if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    if (j->handle) dlclose(j->handle);
    free(j->src);
    free(j);
}

/* Compiles in flight: the process waits for them when it exits (atexit), so that no thread is
 * inside dlopen while the process tears down and the kernel lands in the cache for next time. */
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cv = PTHREAD_COND_INITIALIZER;
static int jobs_running;

/* A forked child has none of the parent's compile threads: nothing to wait for. */
static void jobs_forked(void)
{
    pthread_mutex_init(&jobs_mu, NULL);
    pthread_cond_init(&jobs_cv, NULL);
    jobs_running = 0;
}

/* At exit: wait for compiles in flight, at most 30 s (a compiler that hangs does not keep the
 * process alive). */
static void jobs_wait(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&jobs_mu);
    while (jobs_running > 0)
        if (pthread_cond_timedwait(&jobs_cv, &jobs_mu, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&jobs_mu);
}

static void *job_main(void *arg)
{
    struct sb_fz_jit_job *j = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    void *h;
    sb_fz_jit_fn fn = load_kernel(j->src, &h, &j->blk);
    j->fn = fn;
    j->handle = h;
    __atomic_store_n(&j->state, fn ? JOB_READY : JOB_FAILED, __ATOMIC_RELEASE);
    job_unref(j);
    pthread_mutex_lock(&jobs_mu);
    jobs_running--;
    pthread_cond_broadcast(&jobs_cv);
    pthread_mutex_unlock(&jobs_mu);
    return NULL;
}

/* Start g's background compile (or load, when `cached_only`, only if its kernel is in the
 * cache); false when g cannot be generated, is not cached, or no thread starts. */
static bool job_start(sb_fz_group *g, bool cached_only)
{
    char *src = gen_source(g);
    if (!src) return false;
    char so[1100];
    uint64_t h;
    if (cached_only && !(cache_entry(src, cc_name(), so, sizeof so, &h) && access(so, R_OK) == 0)) {
        free(src);
        return false;
    }
    struct sb_fz_jit_job *j = sb_xcalloc(1, sizeof *j);
    j->src = src;
    j->refs = 2;
    static bool registered;
    pthread_mutex_lock(&jobs_mu);
    if (!registered)
        registered = atexit(jobs_wait) == 0 && pthread_atfork(NULL, NULL, jobs_forked) == 0;
    jobs_running++;
    pthread_mutex_unlock(&jobs_mu);
    if (!registered || pthread_create(&j->thread, NULL, job_main, j)) {
        pthread_mutex_lock(&jobs_mu);
        jobs_running--;
        pthread_mutex_unlock(&jobs_mu);
        free(src);
        free(j);
        return false;
    }
    pthread_detach(j->thread);
    g->job = j;
    return true;
}

/* Take a finished job's kernel (or give up on a failed one). */
static void job_adopt(sb_fz_group *g)
{
    struct sb_fz_jit_job *j = g->job;
    int st = __atomic_load_n(&j->state, __ATOMIC_ACQUIRE);
    if (st == JOB_RUNNING) return;
    if (st == JOB_READY) {
        g->jit = j->fn;
        g->jit_blk = j->blk;
        g->jit_handle = j->handle;
        j->handle = NULL;
    } else {
        g->jit_seen = -1;
    }
    g->job = NULL;
    job_unref(j);
}

sb_fz_jit_fn sb_be_fz_jit_poll(const sb_fz_group *cg, int64_t n)
{
    sb_fz_group *g = (sb_fz_group *)cg; /* plan-owned and run by one thread at a time */
    if (g->jit) return g->jit;
    if (g->job) {
        job_adopt(g);
        return g->jit;
    }
    if (g->jit_seen < 0 || g->dtype != SB_DTYPE_F32 || sb_be_fz_jit_mode() != SB_FZ_JIT_AUTO)
        return NULL;
    int64_t before = g->jit_seen, lo = jit_min_cached(), hi = jit_min();
    g->jit_seen += n;
    if (g->jit_seen >= hi) { /* compile (or load) */
        if (!job_start(g, false)) g->jit_seen = -1;
    } else if (before < lo && g->jit_seen >= lo) { /* once: load it if it is cached */
        job_start(g, true);
    }
    return NULL;
}

void sb_be_fz_jit_drop(sb_fz_group *g)
{
    if (!g->job) return;
    job_unref(g->job);
    g->job = NULL;
}
