/* check.c: soundness checking of rewrite rules by random instantiation and evaluation.
 *
 * See check.h for the contract. The parts: a small seeded generator; a per-variable "spec"
 * gathered from the rule's conditions; an instantiation (random dtype, shape and values for every
 * pattern variable, each an input or a constant of a fresh context); a substitution walk that
 * rebuilds a pattern over the instantiation with sb_apply (so the ops' own type rules decide what
 * is well-typed); and the comparison of both sides evaluated by sb_eval in float64. */
#include "check.h"
#include "plugin.h"

#include "core-impl.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_VARS 16

/* ---- random numbers (splitmix64: small, seedable, identical everywhere) ------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unif(rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int rng_int(rng *r, int n) /* [0, n) */
{
    return (int)(rng_next(r) % (uint64_t)n);
}

/* ---- what the conditions allow for one pattern variable ---------------------------------- */

typedef struct var_spec {
    const char *name;    /* without '?' */
    sb_dtype dtype;      /* SB_DTYPE_COUNT = free */
    int ndim;            /* -1 = free */
    bool is_float, positive, nonneg, nonzero, integer;
    bool is_const, has_value;
    double value;
} var_spec;

static const char *var_name(const char *s)
{
    return s && s[0] == '?' ? s + 1 : s;
}

/* Fold the rule's conditions on variable `name` into spec. */
static void spec_init(var_spec *s, const sb_rule *r, const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->dtype = SB_DTYPE_COUNT;
    s->ndim = -1;
    for (int i = 0; i < r->nconds; i++) {
        const sb_cond *c = &r->conds[i];
        if (strcmp(var_name(c->var), name) != 0) continue;
        switch (c->kind) {
        case SB_COND_NONZERO: s->nonzero = true; break;
        case SB_COND_POSITIVE: s->positive = true; break;
        case SB_COND_NONNEG: s->nonneg = true; break;
        case SB_COND_INTEGER: s->integer = true; break;
        case SB_COND_CONST:
            s->is_const = true;
            if (c->has_value) s->has_value = true, s->value = c->value;
            break;
        case SB_COND_DTYPE: s->dtype = c->dtype; break;
        case SB_COND_NDIM: s->ndim = c->ndim; break;
        case SB_COND_FLOAT: s->is_float = true; break;
        default: break;
        }
    }
}

/* ---- one instantiation --------------------------------------------------------------------- */

typedef struct inst {
    int n;
    var_spec *spec;           /* [n] */
    sb_node *node[MAX_VARS];  /* input or constant in ctx */
    sb_array *value[MAX_VARS];/* the input's value (NULL for constants) */
    sb_type type[MAX_VARS];
} inst;

/* A dtype for a free variable: mostly floats, sometimes ints, bool and uint8 (to catch rules
 * that forget a float(...) condition). */
static sb_dtype random_dtype(rng *g)
{
    static const sb_dtype pool[] = {SB_DTYPE_F64, SB_DTYPE_F64, SB_DTYPE_F64, SB_DTYPE_F32,
                                    SB_DTYPE_F32, SB_DTYPE_F32, SB_DTYPE_I64, SB_DTYPE_I32,
                                    SB_DTYPE_BOOL, SB_DTYPE_U8};
    return pool[rng_int(g, (int)(sizeof pool / sizeof *pool))];
}

static sb_dtype pick_dtype(rng *g, const var_spec *s, sb_dtype common)
{
    if (s->dtype != SB_DTYPE_COUNT) return s->dtype;
    if (s->is_float) {
        if (sb_dtype_is_float(common) && rng_unif(g) < 0.7) return common;
        return rng_int(g, 2) ? SB_DTYPE_F32 : SB_DTYPE_F64;
    }
    return rng_unif(g) < 0.6 ? common : random_dtype(g);
}

/* A shape for variable i: a fresh random one (dims 1..4, rank 0..3 unless ndim(...) fixes it),
 * or (so that elementwise ops and products meet) an earlier variable's shape, or a broadcasting
 * variant of it (some dims set to 1, leading dims dropped). */
static void pick_shape(rng *g, const var_spec *s, const inst *in, int i, sb_type *t)
{
    static const int ndims[] = {0, 1, 1, 2, 2, 2, 2, 3, 3};
    const sb_type *prev = i > 0 ? &in->type[rng_int(g, i)] : NULL;
    double u = rng_unif(g);
    if (prev && u < 0.45 && (s->ndim < 0 || s->ndim == prev->ndim)) {
        t->ndim = prev->ndim;
        memcpy(t->dims, prev->dims, sizeof t->dims);
        return;
    }
    if (prev && u < 0.65 && s->ndim < 0) { /* broadcasting variant */
        int drop = prev->ndim > 0 ? rng_int(g, prev->ndim + 1) : 0;
        t->ndim = (int8_t)(prev->ndim - drop);
        for (int k = 0; k < t->ndim; k++)
            t->dims[k] = rng_unif(g) < 0.3 ? 1 : prev->dims[k + drop];
        return;
    }
    t->ndim = (int8_t)(s->ndim >= 0 ? s->ndim : ndims[rng_int(g, (int)(sizeof ndims / sizeof *ndims))]);
    for (int k = 0; k < t->ndim; k++) t->dims[k] = rng_unif(g) < 0.2 ? 1 : 2 + rng_int(g, 3);
}

/* One random value that satisfies spec's facts for dtype dt. */
static double pick_value(rng *g, const var_spec *s, sb_dtype dt)
{
    if (s->has_value) return s->value;
    if (dt == SB_DTYPE_BOOL) return (s->positive || s->nonzero) ? 1 : rng_int(g, 2);
    bool ints = !sb_dtype_is_float(dt) || s->integer;
    double v;
    if (s->positive) v = ints ? 1 + rng_int(g, 4) : 0.1 + 2.9 * rng_unif(g);
    else if (s->nonneg) v = rng_unif(g) < 0.2 ? 0 : (ints ? rng_int(g, 5) : 3 * rng_unif(g));
    else if (s->nonzero) {
        v = ints ? 1 + rng_int(g, 4) : 0.1 + 2.9 * rng_unif(g);
        if (dt != SB_DTYPE_U8 && rng_int(g, 2)) v = -v;
    } else if (rng_unif(g) < 0.2) {
        static const double special[] = {0, 1, -1, 2, 0.5};
        v = special[rng_int(g, 5)];
        if (ints) v = round(v);
    } else {
        v = ints ? rng_int(g, 9) - 4 : 6 * rng_unif(g) - 3;
    }
    if (dt == SB_DTYPE_U8 && v < 0) v = -v;
    return ints ? round(v) : v;
}

static sb_array *random_array(rng *g, const var_spec *s, const sb_type *t)
{
    sb_array *a = sb_array_new(t->dtype, t->ndim, t->dims);
    int64_t n = sb_array_numel(a);
    double v0 = pick_value(g, s, t->dtype);
    bool uniform = s->is_const && !s->has_value && rng_int(g, 2); /* a constant is often a fill */
    for (int64_t k = 0; k < n; k++) sb_array_set_f64(a, k, uniform ? v0 : pick_value(g, s, t->dtype));
    return a;
}

/* Instantiate variable i of `in` in ctx: a type from its spec, then an input with random values
 * or, under const(...), a constant (a weak number literal or an array). */
static void inst_var(rng *g, sb_ctx *ctx, inst *in, int i, sb_dtype common)
{
    const var_spec *s = &in->spec[i];
    sb_type *t = &in->type[i];
    memset(t, 0, sizeof *t);
    t->dtype = pick_dtype(g, s, common);
    if (s->integer && s->dtype == SB_DTYPE_COUNT && !s->is_float && rng_int(g, 2))
        t->dtype = SB_DTYPE_I64;
    pick_shape(g, s, in, i, t);
    in->value[i] = NULL;
    if (s->is_const && s->ndim <= 0 && s->dtype == SB_DTYPE_COUNT && rng_int(g, 2)) {
        double v = pick_value(g, s, t->dtype);
        bool is_int = v == round(v) && !s->is_float;
        in->node[i] = sb_const_scalar(ctx, v, is_int ? SB_DTYPE_I64 : SB_DTYPE_F64, true);
        *t = *sb_node_type(in->node[i]);
        return;
    }
    sb_array *a = random_array(g, s, t);
    if (s->is_const) {
        in->node[i] = sb_const(ctx, a);
        sb_array_free(a);
        return;
    }
    in->node[i] = sb_input(ctx, s->name, t);
    in->value[i] = a;
}

static void inst_clear(inst *in)
{
    for (int i = 0; i < in->n; i++) sb_array_free(in->value[i]), in->value[i] = NULL;
}

/* Rebuild pattern p in ctx with every pattern variable replaced by its instantiation. Returns
 * NULL and fills d when some node is not well-typed there. */
static sb_node *subst(sb_ctx *ctx, const sb_node *p, const inst *in, sb_diag *d)
{
    sb_op op = sb_node_op(p);
    if (op == SB_OP_PVAR) {
        for (int i = 0; i < in->n; i++)
            if (!strcmp(in->spec[i].name, var_name(sb_node_name(p)))) return in->node[i];
        sb_diag_set(d, SB_ERR_INTERNAL, NULL, 0, 0, "unbound variable ?%s", var_name(sb_node_name(p)));
        return NULL;
    }
    if (op == SB_OP_CONST) {
        const sb_type *t = sb_node_type(p);
        if (t->weak && t->ndim == 0)
            return sb_const_scalar(ctx, sb_array_get_f64(sb_node_value(p), 0), t->dtype, true);
        return sb_const(ctx, sb_node_value(p));
    }
    if (op == SB_OP_INPUT || op == SB_OP_SHARED) {
        sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "a pattern names the variable '%s'", sb_node_name(p));
        return NULL;
    }
    int n = sb_node_nin(p);
    sb_node *ins[n > 0 ? n : 1];
    for (int i = 0; i < n; i++)
        if (!(ins[i] = subst(ctx, sb_node_in(p, i), in, d))) return NULL;
    return sb_apply(ctx, op, n, ins, sb_node_attrs(p), d);
}

/* ---- describing a counterexample ---------------------------------------------------------- */

/* Append printf output to a malloc'd string. */
static void cat(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cat(char **s, const char *fmt, ...)
{
    char piece[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    char *both = sb_xasprintf("%s%s", *s ? *s : "", piece);
    free(*s);
    *s = both;
}

static char *array_text(const sb_array *a)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return sb_xstrdup("?");
    sb_array_print(a, f, 8);
    fclose(f);
    for (char *c = buf; c && *c; c++)
        if (*c == '\n') *c = ' ';
    return buf;
}

/* "with x: float32[2, 3] = [...], c = 2 (weak literal)" */
static void describe_inst(char **s, const inst *in)
{
    cat(s, " with");
    for (int i = 0; i < in->n; i++) {
        char tb[128];
        sb_type_str(&in->type[i], tb, sizeof tb);
        const sb_array *v = in->value[i] ? in->value[i] : sb_node_value(in->node[i]);
        char *vt = v ? array_text(v) : sb_xstrdup("?");
        cat(s, "%s ?%s: %s%s = %s", i ? "," : "", in->spec[i].name, tb,
            in->value[i] ? "" : " constant", vt);
        free(vt);
    }
}

/* ---- comparing the two sides ----------------------------------------------------------------- */

/* How close two results must be: |a - b| <= atol + rtol * max(|a|, |b|, scale), where scale
 * is the largest finite magnitude in the left result (so that a cancellation to a small value
 * is judged against the size of the numbers that cancelled). NaN equals NaN; infinities must
 * be equal. */
typedef struct tolerance {
    double rtol, atol, scale;
} tolerance;

static bool close_enough(double a, double b, const tolerance *t)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= t->atol + t->rtol * fmax(fmax(fabs(a), fabs(b)), t->scale);
}

/* Does term n compute anything in float32? */
static bool uses_f32(const sb_node *n)
{
    if (sb_node_type(n)->dtype == SB_DTYPE_F32) return true;
    for (int i = 0; i < sb_node_nin(n); i++)
        if (uses_f32(sb_node_in(n, i))) return true;
    return false;
}

/* The tolerance for comparing the results x (left) of from and to: the reference (float64
 * evaluation) uses o's; native evaluation allows float32 rounding when either side computes
 * anything in float32, float64 rounding otherwise, and nothing for integer and bool results. */
static tolerance tolerance_for(const sb_rw_check_opts *o, bool reference, const sb_node *from,
                               const sb_node *to, const sb_array *x)
{
    tolerance t = {o->rtol, o->atol, 0};
    if (!reference) {
        if (!sb_dtype_is_float(sb_node_type(from)->dtype)) t.rtol = 0, t.atol = 0;
        else if (uses_f32(from) || uses_f32(to)) t.rtol = 1e-4, t.atol = 1e-5;
        else t.rtol = 1e-7, t.atol = 1e-10;
    }
    for (int64_t k = 0, n = sb_array_numel(x); k < n; k++) {
        double v = fabs(sb_array_get_f64(x, k));
        if (isfinite(v) && v > t.scale) t.scale = v;
    }
    return t;
}

/* Index of the first element where x and y differ, or -1. */
static int64_t first_difference(const sb_array *x, const sb_array *y, const tolerance *t)
{
    int64_t n = sb_array_numel(x);
    if (n != sb_array_numel(y)) return 0;
    for (int64_t k = 0; k < n; k++)
        if (!close_enough(sb_array_get_f64(x, k), sb_array_get_f64(y, k), t)) return k;
    return -1;
}

/* Outcome of one instantiation. */
typedef enum { TRY_SKIP, TRY_OK, TRY_BAD } try_result;

/* Progress records a checking child writes to its parent: 'L'/'R' before evaluating the left /
 * right side of attempt `attempt` (with `ok` instantiations passed so far), 'D' when done (ok =
 * the count passed, or -1 for a counterexample, then the text of *why follows). */
typedef struct progress {
    char kind;
    int32_t attempt, ok;
} progress;

static int report(int fd, char kind, int attempt, int ok)
{
    progress pr;
    memset(&pr, 0, sizeof pr); /* no uninitialized padding through the pipe */
    pr.kind = kind, pr.attempt = attempt, pr.ok = ok;
    return fd >= 0 && write(fd, &pr, sizeof pr) != (ssize_t)sizeof pr ? -1 : fd;
}

/* Evaluate from and to (already built) with the bindings, in float64 (reference) or in their
 * own dtypes, and compare. Fills *why on a mismatch. */
static try_result compare_once(sb_ctx *ctx, sb_node *from, sb_node *to, const sb_binding *binds,
                               int nb, bool reference, const sb_rw_check_opts *o, char **why,
                               int mark, int attempt, int ok)
{
    sb_array *res[2] = {NULL, NULL};
    sb_diag d = {0};
    mark = report(mark, 'L', attempt, ok);
    if (sb_eval(ctx, 1, &from, nb, binds, reference, res, &d) != SB_OK) return TRY_SKIP;
    sb_diag_clear(&d);
    mark = report(mark, 'R', attempt, ok);
    if (sb_eval(ctx, 1, &to, nb, binds, reference, &res[1], &d) != SB_OK) {
        cat(why, "the right side fails at run time (%s) where the left side does not;", d.msg);
        sb_array_free(res[0]);
        return TRY_BAD;
    }
    tolerance t = tolerance_for(o, reference, from, to, res[0]);
    int64_t k = first_difference(res[0], res[1], &t);
    if (k >= 0) {
        cat(why, "values differ%s: left[%lld] = %.17g but right[%lld] = %.17g;",
            reference ? "" : " in the operands' own dtypes", (long long)k,
            sb_array_get_f64(res[0], k), (long long)k,
            k < sb_array_numel(res[1]) ? sb_array_get_f64(res[1], k) : NAN);
    }
    sb_array_free(res[0]);
    sb_array_free(res[1]);
    return k >= 0 ? TRY_BAD : TRY_OK;
}

/* Compare both sides on in's values: first in float64 (the algebra), then in the operands' own
 * dtypes (integer wrap-around, float32 rounding beyond its tolerance). */
static try_result compare_sides(sb_ctx *ctx, sb_node *from, sb_node *to, const inst *in,
                                const sb_rw_check_opts *o, char **why, int mark, int attempt,
                                int ok)
{
    sb_binding binds[MAX_VARS];
    int nb = 0;
    for (int i = 0; i < in->n; i++)
        if (in->value[i]) binds[nb].name = in->spec[i].name, binds[nb++].value = in->value[i];
    try_result t = compare_once(ctx, from, to, binds, nb, true, o, why, mark, attempt, ok);
    if (t != TRY_OK) return t;
    return compare_once(ctx, from, to, binds, nb, false, o, why, mark, attempt, ok);
}

/* Build both sides of from -> to over in and check types, then values. */
static try_result try_inst(sb_ctx *ctx, const sb_node *from, const sb_node *to, const inst *in,
                           const sb_rw_check_opts *o, char **why, int mark, int attempt, int ok)
{
    sb_diag d = {0};
    sb_node *l = subst(ctx, from, in, &d);
    if (!l) return TRY_SKIP;
    sb_diag_clear(&d);
    sb_node *r = subst(ctx, to, in, &d);
    if (!r) {
        cat(why, "the right side is not well-typed where the left side is (%s);", d.msg);
        return TRY_BAD;
    }
    const sb_type *lt = sb_node_type(l), *rt = sb_node_type(r);
    if (lt->dtype != rt->dtype || lt->ndim != rt->ndim ||
        memcmp(lt->dims, rt->dims, sizeof(int64_t) * (size_t)lt->ndim) != 0) {
        char a[128], b[128];
        cat(why, "types differ: left is %s but right is %s;", sb_type_str(lt, a, sizeof a),
            sb_type_str(rt, b, sizeof b));
        return TRY_BAD;
    }
    return compare_sides(ctx, l, r, in, o, why, mark, attempt, ok);
}

/* One direction of one rule, as the attempts see it. Attempt a's instantiation depends only on
 * (seed, a), so a parent can resume after a crashed child or rebuild the attempt to show it. */
typedef struct direction {
    const sb_node *from, *to;
    var_spec *spec;
    int nvars;
    uint64_t seed;
    const sb_rw_check_opts *o;
    const sb_plugin_rule *plugin; /* left to right of a plugin's rule: its C condition/applier */
} direction;

static void make_inst(const direction *dir, int attempt, sb_ctx *ctx, inst *in)
{
    rng g = {dir->seed ^ (0xA24BAED4963EE407ull * (uint64_t)(attempt + 1))};
    in->n = dir->nvars;
    in->spec = dir->spec;
    sb_dtype common = random_dtype(&g);
    for (int i = 0; i < dir->nvars; i++) inst_var(&g, ctx, in, i, common);
}

/* Run attempts first.. until ok reaches o->trials. Returns the count passed, or -1 with *why
 * (the failure and its instantiation). mark >= 0: write progress records there. */
static int run_attempts(const direction *dir, int first, int ok, int mark, char **why)
{
    for (int a = first; a < dir->o->attempts && ok < dir->o->trials; a++) {
        sb_ctx *ctx = sb_ctx_init();
        inst in = {0};
        make_inst(dir, a, ctx, &in);
        const sb_node *to = dir->to;
        const char *vn[MAX_VARS];
        for (int i = 0; i < in.n; i++) vn[i] = in.spec[i].name;
        try_result t = dir->plugin && !sb_rw_plugin_inst(dir->plugin, in.n, vn, in.node, &to)
                           ? TRY_SKIP /* the C condition rejects this instantiation */
                           : try_inst(ctx, dir->from, to, &in, dir->o, why, mark, a, ok);
        if (t == TRY_BAD) describe_inst(why, &in);
        inst_clear(&in);
        sb_ctx_free(ctx);
        if (t == TRY_BAD) return -1;
        if (t == TRY_OK) ok++;
    }
    return ok;
}

/* run_attempts in a child process from attempt `first`: returns its result, or -2 when the
 * child died, with *last = its last progress record. */
static int run_child(const direction *dir, int first, int ok, char **why, progress *last)
{
    int fds[2];
    if (pipe(fds) != 0) return run_attempts(dir, first, ok, -1, why);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int null = open("/dev/null", O_WRONLY); /* the evaluator's abort message */
        if (null >= 0) dup2(null, 2);
        alarm(120); /* a hung evaluation ends like a crash */
        char *w = NULL;
        int n = run_attempts(dir, first, ok, fds[1], &w);
        if (report(fds[1], 'D', 0, n) >= 0 && w) (void)!write(fds[1], w, strlen(w));
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) return close(fds[0]), run_attempts(dir, first, ok, -1, why);
    int result = -2;
    progress pr;
    memset(last, 0, sizeof *last);
    while (read(fds[0], &pr, sizeof pr) == (ssize_t)sizeof pr) {
        *last = pr;
        if (pr.kind != 'D') continue;
        result = pr.ok;
        char buf[4096];
        ssize_t got;
        while ((got = read(fds[0], buf, sizeof buf - 1)) > 0) buf[got] = 0, cat(why, "%s", buf);
        break;
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return result;
}

/* Check one direction: up to o->trials well-typed instantiations out of o->attempts. With
 * o->isolate the evaluations run in child processes: an evaluator crash on the left side skips
 * that attempt (like a run-time error), on the right side only it is a counterexample. Returns
 * the count checked, or -1 with *why. */
static int check_direction(const direction *dir, char **why)
{
    if (!dir->o->isolate) return run_attempts(dir, 0, 0, -1, why);
    int first = 0, ok = 0;
    for (int crashes = 0; crashes < 50; crashes++) {
        progress last;
        int n = run_child(dir, first, ok, why, &last);
        if (n != -2) return n;
        if (last.kind == 'R') {
            sb_ctx *ctx = sb_ctx_init();
            inst in = {0};
            make_inst(dir, last.attempt, ctx, &in);
            cat(why, "the evaluator crashes on the right side where the left side evaluates;");
            describe_inst(why, &in);
            inst_clear(&in);
            sb_ctx_free(ctx);
            return -1;
        }
        first = last.attempt + 1, ok = last.ok; /* the left side crashed: skip that attempt */
    }
    return ok;
}

/* ---- rules and sets ------------------------------------------------------------------------- */

void sb_rw_check_opts_init(sb_rw_check_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->trials = 40;
    o->attempts = 3000;
    o->rtol = 1e-6;
    o->atol = 1e-9;
    o->isolate = true;
}

void sb_rw_check_result_free(sb_rw_check_result *res)
{
    free(res->why);
    res->why = NULL;
}

sb_rw_verdict sb_rw_check_rule(const sb_rule *r, const sb_rw_check_opts *o,
                               sb_rw_check_result *res)
{
    sb_rw_check_opts defaults;
    if (!o) sb_rw_check_opts_init(&defaults), o = &defaults;
    memset(res, 0, sizeof *res);
    const char *names[MAX_VARS];
    int nvars = sb_rw_pattern_vars(r->lhs, names, MAX_VARS);
    if (nvars > MAX_VARS) {
        res->verdict = SB_RW_UNCHECKED;
        res->why = sb_xasprintf("more than %d pattern variables", MAX_VARS);
        return res->verdict;
    }
    var_spec spec[MAX_VARS];
    for (int i = 0; i < nvars; i++) spec_init(&spec[i], r, var_name(names[i]));
    uint64_t seed = o->seed ^ sb_hash_bytes(r->name, strlen(r->name), 0x5eed);
    for (int dir = 0; dir < (r->bidirectional ? 2 : 1); dir++) {
        direction dn = {dir ? r->rhs : r->lhs, dir ? r->lhs : r->rhs, spec, nvars, seed + (uint64_t)dir, o};
        dn.plugin = dir ? NULL : r->plugin;
        char *why = NULL;
        int n = check_direction(&dn, &why);
        if (n < 0) {
            res->verdict = SB_RW_UNSOUND;
            res->why = sb_xasprintf("%s%s", dir ? "(right to left) " : "", why);
            free(why);
            return res->verdict;
        }
        if (n == 0) {
            res->verdict = SB_RW_UNCHECKED;
            res->why = sb_xasprintf("no well-typed instantiation of the %s side in %d attempts",
                                    dir ? "right" : "left", o->attempts);
            return res->verdict;
        }
        res->checked += n;
    }
    res->verdict = SB_RW_SOUND;
    return res->verdict;
}

int sb_rw_check_ruleset(const sb_ruleset *rs, const sb_rw_check_opts *o, FILE *out)
{
    sb_rw_check_opts defaults;
    if (!o) sb_rw_check_opts_init(&defaults), o = &defaults;
    int bad = 0;
    for (int i = 0; i < rs->nrules; i++) {
        const sb_rule *r = &rs->rules[i];
        sb_rw_check_result res;
        sb_rw_verdict v = sb_rw_check_rule(r, o, &res);
        if (v != SB_RW_SOUND) bad++;
        if (out && (v != SB_RW_SOUND || o->verbose)) {
            fprintf(out, "%s:%d:%d: rule '%s' of set '%s' ", r->file ? r->file : rs->path,
                    r->line, r->col, r->name, rs->name);
            if (v == SB_RW_SOUND) fprintf(out, "is sound on %d instantiations\n", res.checked);
            else fprintf(out, "%s: %s\n", v == SB_RW_UNSOUND ? "is unsound" : "cannot be checked",
                         res.why);
        }
        sb_rw_check_result_free(&res);
    }
    return bad;
}
