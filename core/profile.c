/* profile.c: the process-wide profiling collector (Theano's ProfileStats): what run loops
 * record per step (profile.h), aggregated per (label, node) as it comes, and the summaries read
 * back through symbench.h: per op type, per node, memory, as text or JSON.
 *
 * Recording a step is a lookup in an open-addressing table keyed by the interned label and the
 * node id, so a training loop of thousands of runs keeps one entry per step of its program. */
#include "profile.h"
#include "core-impl.h"

#include <cjson/cJSON.h>
#include <time.h>

bool sb_prof_on;

typedef struct prof_entry {
    const char *op;   /* interned label; NULL = empty slot */
    uint32_t node;
    int64_t calls, allocs;
    double seconds;
    size_t bytes, alloc_bytes;
} prof_entry;

static struct {
    prof_entry *e;            /* open addressing, cap a power of two */
    size_t n, cap;
    char **str;               /* interned labels, open addressing */
    size_t nstr, capstr;
    int step_depth, run_depth;
    int64_t runs;
    double run_seconds;
    size_t peak_pool;
} P;

double sb_prof_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sb_profile_enable(bool on)
{
    sb_prof_on = on;
}

bool sb_profile_enabled(void)
{
    return sb_prof_on;
}

void sb_profile_reset(void)
{
    for (size_t i = 0; i < P.capstr; i++) free(P.str[i]);
    free(P.str);
    free(P.e);
    int sd = P.step_depth, rd = P.run_depth; /* a reset inside a run keeps the nesting right */
    memset(&P, 0, sizeof P);
    P.step_depth = sd;
    P.run_depth = rd;
}

/* ---- tables ------------------------------------------------------------------------------- */
static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The interned copy of s (made on first sight). */
static const char *intern(const char *s)
{
    if (2 * (P.nstr + 1) > P.capstr) {
        size_t cap = P.capstr ? 2 * P.capstr : 64;
        char **t = sb_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < P.capstr; i++) {
            if (!P.str[i]) continue;
            size_t k = str_hash(P.str[i]) & (cap - 1);
            while (t[k]) k = (k + 1) & (cap - 1);
            t[k] = P.str[i];
        }
        free(P.str);
        P.str = t;
        P.capstr = cap;
    }
    size_t k = str_hash(s) & (P.capstr - 1);
    for (; P.str[k]; k = (k + 1) & (P.capstr - 1))
        if (!strcmp(P.str[k], s)) return P.str[k];
    P.nstr++;
    return P.str[k] = sb_xstrdup(s);
}

static size_t entry_slot(const prof_entry *tab, size_t cap, const char *op, uint32_t node)
{
    uint64_t h = ((uint64_t)(uintptr_t)op * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)node * 0xff51afd7ed558ccdull);
    size_t k = (size_t)(h >> 17) & (cap - 1);
    while (tab[k].op && (tab[k].op != op || tab[k].node != node)) k = (k + 1) & (cap - 1);
    return k;
}

/* The entry of (op, node), created empty on first use. */
static prof_entry *entry(const char *op, uint32_t node)
{
    const char *s = intern(op);
    if (2 * (P.n + 1) > P.cap) {
        size_t cap = P.cap ? 2 * P.cap : 64;
        prof_entry *t = sb_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < P.cap; i++)
            if (P.e[i].op) t[entry_slot(t, cap, P.e[i].op, P.e[i].node)] = P.e[i];
        free(P.e);
        P.e = t;
        P.cap = cap;
    }
    prof_entry *e = &P.e[entry_slot(P.e, P.cap, s, node)];
    if (!e->op) {
        e->op = s;
        e->node = node;
        P.n++;
    }
    return e;
}

/* ---- recording ---------------------------------------------------------------------------- */
void sb_profile_record(uint32_t node, const char *op, double seconds, size_t bytes, bool allocated)
{
    prof_entry *e = entry(op ? op : "?", node);
    e->calls++;
    e->seconds += seconds;
    e->bytes += bytes;
    if (allocated) {
        e->allocs++;
        e->alloc_bytes += bytes;
    }
}

void sb_profile_record_run(double seconds, size_t pool_bytes)
{
    P.runs++;
    P.run_seconds += seconds;
    if (pool_bytes > P.peak_pool) P.peak_pool = pool_bytes;
}

double sb_prof_begin(void)
{
    P.step_depth++;
    return sb_prof_clock();
}

void sb_prof_end(double t0, uint32_t node, const char *op, size_t bytes, bool allocated)
{
    double t = sb_prof_clock() - t0;
    SB_ASSERT(P.step_depth > 0);
    if (--P.step_depth == 0 && op) sb_profile_record(node, op, t, bytes, allocated);
}

double sb_prof_run_begin(void)
{
    P.run_depth++;
    return sb_prof_clock();
}

void sb_prof_run_end(double t0, size_t pool_bytes)
{
    double t = sb_prof_clock() - t0;
    SB_ASSERT(P.run_depth > 0);
    if (--P.run_depth == 0 && P.step_depth == 0) sb_profile_record_run(t, pool_bytes);
}

/* ---- summaries ---------------------------------------------------------------------------- */
/* Most time first; ties by label, then node (a stable order for tests and diffs). */
static int row_cmp(const void *a, const void *b)
{
    const sb_profile_row *x = a, *y = b;
    if (x->seconds != y->seconds) return x->seconds > y->seconds ? -1 : 1;
    int c = strcmp(x->op, y->op);
    if (c) return c;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int op_cmp(const void *a, const void *b)
{
    return strcmp(((const sb_profile_row *)a)->op, ((const sb_profile_row *)b)->op);
}

/* Per op type: rows of equal labels summed (rows sorted by label first). */
static int group_ops(const sb_profile_row *rows, int n, sb_profile_row *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!k || strcmp(out[k - 1].op, rows[i].op)) {
            out[k] = rows[i];
            out[k].op = sb_xstrdup(rows[i].op);
            out[k].node = UINT32_MAX;
            k++;
            continue;
        }
        sb_profile_row *o = &out[k - 1];
        o->nnodes++;
        o->calls += rows[i].calls;
        o->seconds += rows[i].seconds;
        o->allocs += rows[i].allocs;
        o->bytes += rows[i].bytes;
        o->alloc_bytes += rows[i].alloc_bytes;
    }
    return k;
}

sb_profile_summary *sb_profile_summarize(void)
{
    sb_profile_summary *s = sb_xcalloc(1, sizeof *s);
    s->runs = P.runs;
    s->run_seconds = P.run_seconds;
    s->peak_pool_bytes = P.peak_pool;
    s->nodes = sb_xcalloc(P.n + 1, sizeof *s->nodes);
    s->ops = sb_xcalloc(P.n + 1, sizeof *s->ops);
    for (size_t i = 0; i < P.cap; i++) {
        const prof_entry *e = &P.e[i];
        if (!e->op) continue;
        s->nodes[s->nnodes++] = (sb_profile_row){e->op, e->node, 1, e->calls, e->seconds, 0,
                                                 e->allocs, e->bytes, e->alloc_bytes};
        s->steps += e->calls;
        s->step_seconds += e->seconds;
        s->allocs += e->allocs;
        s->alloc_bytes += e->alloc_bytes;
    }
    qsort(s->nodes, (size_t)s->nnodes, sizeof *s->nodes, op_cmp);
    s->nops = group_ops(s->nodes, s->nnodes, s->ops);
    for (int i = 0; i < s->nnodes; i++) s->nodes[i].op = sb_xstrdup(s->nodes[i].op);
    double tot = s->step_seconds > 0 ? s->step_seconds : 1;
    for (int i = 0; i < s->nnodes; i++) s->nodes[i].percent = 100 * s->nodes[i].seconds / tot;
    for (int i = 0; i < s->nops; i++) s->ops[i].percent = 100 * s->ops[i].seconds / tot;
    qsort(s->nodes, (size_t)s->nnodes, sizeof *s->nodes, row_cmp);
    qsort(s->ops, (size_t)s->nops, sizeof *s->ops, row_cmp);
    return s;
}

void sb_profile_summary_free(sb_profile_summary *s)
{
    if (!s) return;
    for (int i = 0; i < s->nops; i++) free((char *)s->ops[i].op);
    for (int i = 0; i < s->nnodes; i++) free((char *)s->nodes[i].op);
    free(s->ops);
    free(s->nodes);
    free(s);
}

/* ---- text and JSON ------------------------------------------------------------------------ */
/* "1.5 KiB" (into buf). */
static const char *human_bytes(size_t b, char *buf, size_t cap)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    if (u == 0) snprintf(buf, cap, "%zu B", b);
    else snprintf(buf, cap, "%.1f %s", v, unit[u]);
    return buf;
}

static void print_ops(const sb_profile_summary *s, FILE *f)
{
    fprintf(f, "per op type:\n   time (ms)       %%   cum %%    calls  nodes   avg (us)  allocs  op\n");
    double cum = 0;
    for (int i = 0; i < s->nops; i++) {
        const sb_profile_row *r = &s->ops[i];
        cum += r->percent;
        fprintf(f, "%12.3f  %6.1f  %6.1f  %7lld  %5d  %9.2f  %6lld  %s\n", r->seconds * 1e3,
                r->percent, cum, (long long)r->calls, r->nnodes,
                r->calls ? r->seconds * 1e6 / (double)r->calls : 0.0, (long long)r->allocs, r->op);
    }
    fprintf(f, "%12.3f  %6.1f  %6s  %7lld  %5s  %9s  %6lld  total\n", s->step_seconds * 1e3,
            s->steps ? 100.0 : 0.0, "", (long long)s->steps, "", "", (long long)s->allocs);
}

static void print_nodes(const sb_profile_summary *s, FILE *f, int top)
{
    int n = top > 0 && top < s->nnodes ? top : s->nnodes;
    char b[32];
    fprintf(f, "top %d nodes (of %d):\n   time (ms)       %%    calls   avg (us)  allocs  out bytes  node  op\n",
            n, s->nnodes);
    for (int i = 0; i < n; i++) {
        const sb_profile_row *r = &s->nodes[i];
        fprintf(f, "%12.3f  %6.1f  %7lld  %9.2f  %6lld  %9s  %%%-4u %s\n", r->seconds * 1e3, r->percent,
                (long long)r->calls, r->calls ? r->seconds * 1e6 / (double)r->calls : 0.0,
                (long long)r->allocs, human_bytes(r->calls ? r->bytes / (size_t)r->calls : 0, b, sizeof b),
                r->node, r->op);
    }
}

void sb_profile_print(const sb_profile_summary *s, FILE *f, int top)
{
    char b1[32], b2[32];
    double per = s->runs ? s->run_seconds / (double)s->runs : 0;
    fprintf(f, "profile: %lld run%s, %.3f ms wall (%.3f ms per run); %lld steps took %.3f ms\n",
            (long long)s->runs, s->runs == 1 ? "" : "s", s->run_seconds * 1e3, per * 1e3,
            (long long)s->steps, s->step_seconds * 1e3);
    print_ops(s, f);
    print_nodes(s, f, top);
    fprintf(f, "memory: %lld allocation%s by steps, %s; peak pool %s\n", (long long)s->allocs,
            s->allocs == 1 ? "" : "s", human_bytes(s->alloc_bytes, b1, sizeof b1),
            s->peak_pool_bytes ? human_bytes(s->peak_pool_bytes, b2, sizeof b2) : "- (no pool)");
}

static cJSON *row_json(const sb_profile_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", r->op);
    if (r->node != UINT32_MAX) cJSON_AddNumberToObject(o, "node", r->node);
    else cJSON_AddNumberToObject(o, "nodes", r->nnodes);
    cJSON_AddNumberToObject(o, "calls", (double)r->calls);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "percent", r->percent);
    cJSON_AddNumberToObject(o, "avg_seconds", r->calls ? r->seconds / (double)r->calls : 0.0);
    cJSON_AddNumberToObject(o, "allocs", (double)r->allocs);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "alloc_bytes", (double)r->alloc_bytes);
    return o;
}

char *sb_profile_json(const sb_profile_summary *s, int top)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "runs", (double)s->runs);
    cJSON_AddNumberToObject(root, "run_seconds", s->run_seconds);
    cJSON_AddNumberToObject(root, "steps", (double)s->steps);
    cJSON_AddNumberToObject(root, "step_seconds", s->step_seconds);
    cJSON *ops = cJSON_AddArrayToObject(root, "ops");
    for (int i = 0; i < s->nops; i++) cJSON_AddItemToArray(ops, row_json(&s->ops[i]));
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    int n = top > 0 && top < s->nnodes ? top : s->nnodes;
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(nodes, row_json(&s->nodes[i]));
    cJSON *mem = cJSON_AddObjectToObject(root, "memory");
    cJSON_AddNumberToObject(mem, "allocs", (double)s->allocs);
    cJSON_AddNumberToObject(mem, "alloc_bytes", (double)s->alloc_bytes);
    cJSON_AddNumberToObject(mem, "peak_pool_bytes", (double)s->peak_pool_bytes);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char *out = sb_xstrdup(text); /* callers free() it; cJSON may use its own allocator */
    cJSON_free(text);
    return out;
}
