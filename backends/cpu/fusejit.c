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
 * interpreter. */
#include "plan.h"
#include "vmath.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int jit_forced = -1;

void sb_be_fz_jit_set(int on)
{
    jit_forced = on;
}

bool sb_be_fz_jit_on(void)
{
    if (jit_forced >= 0) return jit_forced;
    const char *e = getenv("SB_JIT");
    return e && *e && strcmp(e, "0") != 0;
}

/* ---- source ---------------------------------------------------------------------------------- */
/* The C expression of op over operands a, b, c (float32). NULL = not generated. */
static const char *op_expr(sb_op op)
{
    switch (op) {
    case SB_OP_NEG: return "-a";
    case SB_OP_ABS: return "fabsf(a)";
    case SB_OP_SIGN: return "(a > 0 ? 1.0f : a < 0 ? -1.0f : a)";
    case SB_OP_EXP: return "sb_vm_expf(a)";
    case SB_OP_EXPM1: return "expm1f(a)";
    case SB_OP_LOG: return "sb_vm_logf(a)";
    case SB_OP_LOG1P: return "log1pf(a)";
    case SB_OP_LOG2: return "log2f(a)";
    case SB_OP_SQRT: return "sqrtf(a)";
    case SB_OP_SQR: return "a * a";
    case SB_OP_RECIPROCAL: return "1.0f / a";
    case SB_OP_SIN: return "sinf(a)";
    case SB_OP_COS: return "cosf(a)";
    case SB_OP_TANH: return "sb_vm_tanhf(a)";
    case SB_OP_SIGMOID: return "sb_vm_sigmoidf(a)";
    case SB_OP_SOFTPLUS: return "(a > 0 ? a + log1pf(expf(-a)) : log1pf(expf(a)))";
    case SB_OP_RELU: return "(a < 0 ? 0.0f : a)";
    case SB_OP_ERF: return "erff(a)";
    case SB_OP_FLOOR: return "floorf(a)";
    case SB_OP_CEIL: return "ceilf(a)";
    case SB_OP_ROUND: return "rintf(a)";
    case SB_OP_ADD: return "a + b";
    case SB_OP_SUB: return "a - b";
    case SB_OP_MUL: return "a * b";
    case SB_OP_DIV: return "a / b";
    case SB_OP_POW: return "powf(a, b)";
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

/* The kernel's source, or NULL when an op is not covered. */
static char *gen_source(const sb_fz_group *g)
{
    if (g->dtype != SB_DTYPE_F32) return NULL;
    strbuf b = {0};
    sb_put(&b, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n%s\n", SB_VM_TEXT);
    sb_put(&b, "void sb_fz_kernel(int64_t n, const float *const *in, const float *sc, "
               "float *restrict out)\n{\n");
    for (int k = 0; k < g->nleaf; k++)
        sb_put(&b, "    const float s%d = sc[%d];\n    const float *restrict p%d = in[%d];\n", k, k, k, k);
    sb_put(&b, "#pragma omp parallel for schedule(static) if (n >= 65536)\n");
    sb_put(&b, "    for (int64_t i = 0; i < n; i++) {\n");
    for (int k = 0; k < g->ninstr; k++) {
        const sb_fz_instr *in = &g->instr[k];
        const char *e = op_expr((sb_op)in->op);
        if (!e) {
            free(b.s);
            return NULL;
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
    return b.s;
}

/* ---- compiling and caching ------------------------------------------------------------------- */
static const char *const CFLAGS[] = {"-O3", "-march=native", "-fno-math-errno", "-fopenmp",
                                     "-shared", "-fPIC", "-w"};
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
static bool build_cached(const char *src, const char *cc, char *so, size_t n)
{
    char dir[900];
    if (!cache_dir(dir, sizeof dir)) return false;
    uint64_t h = sb_hash_bytes(src, strlen(src), 0x5b5b);
    h = sb_hash_bytes(cc, strlen(cc), h);
    for (int i = 0; i < NCFLAGS; i++) h = sb_hash_bytes(CFLAGS[i], strlen(CFLAGS[i]), h);
    snprintf(so, n, "%s/fz-%016llx.so", dir, (unsigned long long)h);
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

bool sb_be_fz_jit(sb_fz_group *g)
{
    char *src = gen_source(g);
    if (!src) return false;
    const char *cc = getenv("SB_CC");
    char so[1100];
    bool ok = build_cached(src, cc && *cc ? cc : "cc", so, sizeof so);
    free(src);
    if (!ok) {
        sb_log(2, "fused kernel: compiling failed; the interpreter runs it");
        return false;
    }
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    void *fn = h ? dlsym(h, "sb_fz_kernel") : NULL;
    if (!fn) {
        if (h) dlclose(h);
        return false;
    }
    g->jit_handle = h;
    memcpy(&g->jit, &fn, sizeof fn);
    return true;
}
