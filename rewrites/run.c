/* run.c: the equality-saturation runner (egg's Runner and BackoffScheduler).
 *
 * Each iteration: rebuild, search every (unbanned) rewrite over the classes holding its root op,
 * apply the matches whose conditions hold (instantiate the rhs, union it with the match), and
 * rebuild. Limits on iterations, e-nodes and time are checked between phases and inside search
 * and apply, so a run overshoots a limit by little. The stop reason is a value. */
#include "trace.h"
#include "plugin.h"

#include <time.h>

double sb_rw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *sb_rw_stop_name(sb_stop s)
{
    static const char *names[SB_STOP_COUNT] = {"saturated", "iteration limit", "node limit",
                                               "time limit", "goal reached"};
    return s < SB_STOP_COUNT ? names[s] : "?";
}

sb_run_opts sb_run_opts_default(void)
{
    return (sb_run_opts){.iter_limit = 30, .node_limit = 10000, .time_limit = 5.0, .backoff = true,
                         .match_limit = 1000, .ban_length = 5};
}

/* ---- setup ------------------------------------------------------------------------------- */
static bool rewrite_init(sb_egraph *eg, const sb_rule *rule, bool backward, sb_rewrite *rw)
{
    memset(rw, 0, sizeof *rw);
    rw->rule = rule;
    rw->backward = backward;
    const sb_node *from = backward ? rule->rhs : rule->lhs, *to = backward ? rule->lhs : rule->rhs;
    if (!sb_eg_pattern_compile(eg, from, &rw->vars, true, &rw->lhs)) return false;
    if (!sb_eg_pattern_compile(eg, to, &rw->vars, false, &rw->rhs)) return false;
    sb_eg_program_compile(&rw->lhs, rw->vars.n, &rw->prog);
    return true;
}

sb_runner *sb_rw_runner_new(sb_egraph *eg, const sb_rule *const *rules, int nrules,
                            const sb_run_opts *opts)
{
    sb_runner *r = sb_xcalloc(1, sizeof *r);
    r->eg = eg;
    r->opts = opts ? *opts : sb_run_opts_default();
    r->rw = sb_xcalloc((size_t)(2 * nrules + 1), sizeof *r->rw);
    for (int i = 0; i < nrules; i++)
        for (int dir = 0; dir < (rules[i]->bidirectional ? 2 : 1); dir++) {
            if (rewrite_init(eg, rules[i], dir == 1, &r->rw[r->nrw]))
                r->nrw++;
            else
                sb_log(1, "rule %s: too many variables; skipped", rules[i]->name);
        }
    return r;
}

void sb_rw_runner_free(sb_runner *r)
{
    if (!r) return;
    for (int i = 0; i < r->nrw; i++) {
        sb_eg_pattern_free(&r->rw[i].lhs);
        sb_eg_pattern_free(&r->rw[i].rhs);
        sb_eg_program_free(&r->rw[i].prog);
    }
    for (int i = 0; i < r->niters; i++) {
        free(r->iters[i].rule_matches);
        free(r->iters[i].rule_applied);
    }
    free(r->iters);
    free(r->rw);
    free(r);
}

/* ---- search ------------------------------------------------------------------------------ */
typedef struct matches {
    sb_id *v; /* per match: 1 + nvars ids (class, then substitution) */
    size_t n, cap;
    int stride, count, limit;
    sb_id cls;
} matches;

static bool collect(const sb_id *subst, void *user)
{
    matches *m = user;
    if ((size_t)(m->n + (size_t)m->stride) > m->cap) {
        m->cap = 2 * (m->cap + (size_t)m->stride);
        m->v = sb_xrealloc(m->v, m->cap * sizeof *m->v);
    }
    m->v[m->n] = m->cls;
    memcpy(m->v + m->n + 1, subst, sizeof(sb_id) * (size_t)(m->stride - 1));
    m->n += (size_t)m->stride;
    m->count++;
    return m->limit <= 0 || m->count <= m->limit;
}

/* Classes by the ops of their e-nodes (the index patterns are searched through). */
typedef struct op_index {
    sb_idvec by_op[SB_OP_LIMIT]; /* built-in and plugin ops */
    sb_idvec all;
} op_index;

static void index_build(sb_egraph *eg, op_index *ix)
{
    for (int o = 0; o < SB_OP_LIMIT; o++) ix->by_op[o].n = 0;
    ix->all.n = 0;
    for (uint32_t c = 0; c < eg->nnodes; c++) {
        if (sb_eg_find(eg, c) != c || !eg->cls[c].nodes.n) continue;
        sb_idvec_push(&ix->all, c);
        int last = -1;
        for (uint32_t i = 0; i < eg->cls[c].nodes.n; i++) {
            int op = eg->nodes[eg->cls[c].nodes.v[i]].op;
            if (op != last) sb_idvec_push(&ix->by_op[op], c);
            last = op;
        }
    }
    /* A class may appear twice under one op when its e-nodes interleave ops: dedupe. */
    for (int o = 0; o < SB_OP_LIMIT; o++) {
        sb_idvec *v = &ix->by_op[o];
        uint32_t m = 0;
        for (uint32_t i = 0; i < v->n; i++)
            if (!m || v->v[m - 1] != v->v[i]) v->v[m++] = v->v[i];
        v->n = m;
    }
}

static bool over_time(const sb_runner *r, double start)
{
    return r->opts.time_limit > 0 && sb_rw_now() - start > r->opts.time_limit;
}

/* Search one rewrite; returns false if the time limit ran out. */
static bool search_rewrite(sb_runner *r, sb_rewrite *rw, const op_index *ix, matches *m,
                           double start)
{
    const sb_idvec *cand = rw->prog.root_op >= 0 ? &ix->by_op[rw->prog.root_op] : &ix->all;
    m->stride = 1 + rw->vars.n;
    for (uint32_t i = 0; i < cand->n; i++) {
        if ((i & 255) == 255 && over_time(r, start)) return false;
        m->cls = cand->v[i];
        sb_eg_program_run(r->eg, &rw->prog, cand->v[i], rw->vars.n, collect, m);
        if (m->limit > 0 && m->count > m->limit) break;
    }
    return true;
}

/* ---- apply ------------------------------------------------------------------------------- */
static bool conds_hold(sb_egraph *eg, const sb_rewrite *rw, const sb_id *subst)
{
    for (int i = 0; i < rw->rule->nconds; i++)
        if (!sb_eg_cond_holds(eg, &rw->rule->conds[i], &rw->vars, subst)) return false;
    return !rw->rule->plugin || sb_rw_plugin_cond(eg, rw, subst); /* a plugin's C condition */
}

/* Apply one match; returns 1 if it changed the e-graph (a union), 0 otherwise. */
static int apply_match(sb_runner *r, sb_rewrite *rw, const sb_id *match, int iter)
{
    sb_egraph *eg = r->eg;
    const sb_id *subst = match + 1;
    if (!conds_hold(eg, rw, subst)) return 0;
    uint32_t before = sb_eg_enode_count(eg);
    sb_id to = rw->rule->plugin ? sb_rw_plugin_apply(eg, rw, subst) /* C applier, or the rhs */
                                : sb_eg_pattern_instantiate(eg, &rw->rhs, subst);
    if (to == SB_ID_NONE) return 0; /* the rhs is ill-typed for these classes */
    sb_id from = match[0];
    if (eg->explain) {
        /* The lhs again, exactly: a constant of the pattern stands for its class's constant leaf
         * (so the step reads `x * 1`, and a folded `0.5 + 0.5` is explained by constant-fold). */
        sb_id exact[SB_PAT_MAX_VARS];
        memcpy(exact, subst, sizeof(sb_id) * (size_t)rw->vars.n);
        for (int v = 0; v < rw->vars.n; v++) {
            const sb_eclass *c = rw->vars.name[v][0] == '#' ? sb_eg_class(eg, subst[v]) : NULL;
            for (uint32_t i = 0; c && i < c->nodes.n; i++)
                if (eg->nodes[c->nodes.v[i]].op == SB_OP_CONST) exact[v] = c->nodes.v[i];
        }
        from = sb_eg_pattern_instantiate(eg, &rw->lhs, exact);
    }
    if (from == SB_ID_NONE) return 0;
    if (!sb_eg_types_unify(&sb_eg_class(eg, from)->type, &sb_eg_class(eg, to)->type)) return 0;
    bool changed = sb_eg_union(eg, from, to, (sb_just){.rule = rw->rule->name, .backward = rw->backward});
    if (changed && r->opts.trace)
        sb_trace_rewrite(r->opts.trace, eg, iter, rw, match[0], subst,
                         (long)sb_eg_enode_count(eg) - (long)before);
    return changed;
}

/* ---- the loop ---------------------------------------------------------------------------- */
/* Backoff: a rewrite with too many matches is banned for a while (egg's BackoffScheduler). */
static bool backoff_allows(sb_runner *r, sb_rewrite *rw, int iter, matches *m)
{
    if (!r->opts.backoff) return true;
    int threshold = r->opts.match_limit << (rw->times_banned < 20 ? rw->times_banned : 20);
    if (m->count <= threshold) return true;
    int len = r->opts.ban_length << (rw->times_banned < 20 ? rw->times_banned : 20);
    rw->banned_until = iter + len;
    rw->times_banned++;
    return false;
}

static bool node_limit_hit(const sb_runner *r)
{
    return r->opts.node_limit && sb_eg_enode_count(r->eg) > r->opts.node_limit;
}

/* One search + apply + rebuild; fills it. Returns a stop reason, or SB_STOP_COUNT to go on. */
static sb_stop iterate(sb_runner *r, int iter, op_index *ix, sb_iter_report *it, double start)
{
    sb_egraph *eg = r->eg;
    eg->iteration = iter;
    uint32_t n0 = sb_eg_enode_count(eg), c0 = sb_eg_class_count(eg);
    matches *ms = sb_xcalloc((size_t)r->nrw + 1, sizeof *ms);
    sb_stop stop = SB_STOP_COUNT;
    double t = sb_rw_now();
    index_build(eg, ix);
    for (int i = 0; i < r->nrw && stop == SB_STOP_COUNT; i++) {
        sb_rewrite *rw = &r->rw[i];
        if (r->opts.backoff && rw->banned_until > iter) continue;
        ms[i].limit = r->opts.backoff ? (r->opts.match_limit << (rw->times_banned < 20 ? rw->times_banned : 20)) : 0;
        if (!search_rewrite(r, rw, ix, &ms[i], start)) stop = SB_STOP_TIME_LIMIT;
        it->rule_matches[i] = ms[i].count;
        if (!backoff_allows(r, rw, iter, &ms[i])) ms[i].n = 0;
    }
    it->search_s = sb_rw_now() - t;
    t = sb_rw_now();
    for (int i = 0; i < r->nrw && stop == SB_STOP_COUNT; i++) {
        sb_rewrite *rw = &r->rw[i];
        for (size_t k = 0; k < ms[i].n && stop == SB_STOP_COUNT; k += (size_t)ms[i].stride) {
            int ch = apply_match(r, rw, ms[i].v + k, iter);
            it->rule_applied[i] += ch;
            if ((k & 63) == 0 && over_time(r, start)) stop = SB_STOP_TIME_LIMIT;
            if (node_limit_hit(r)) stop = SB_STOP_NODE_LIMIT;
        }
        rw->matches += it->rule_matches[i];
        rw->applied += it->rule_applied[i];
        it->matches += it->rule_matches[i];
        it->applied += it->rule_applied[i];
    }
    it->apply_s = sb_rw_now() - t;
    t = sb_rw_now();
    it->unions_rebuild = sb_eg_rebuild(eg);
    it->rebuild_s = sb_rw_now() - t;
    it->enodes = sb_eg_enode_count(eg);
    it->eclasses = sb_eg_class_count(eg);
    for (int i = 0; i <= r->nrw; i++) free(ms[i].v);
    free(ms);
    if (stop == SB_STOP_COUNT && it->enodes == n0 && it->eclasses == c0 && it->applied == 0) {
        bool banned = false;
        for (int i = 0; i < r->nrw; i++) /* a banned rule may still have work: unban, go on */
            if (r->rw[i].banned_until > iter) banned = true, r->rw[i].banned_until = 0;
        if (!banned) stop = SB_STOP_SATURATED;
    }
    return stop;
}

sb_stop sb_rw_runner_run(sb_runner *r)
{
    double start = sb_rw_now();
    op_index ix;
    memset(&ix, 0, sizeof ix);
    if (!r->eg->clean || r->eg->pending.n) sb_eg_rebuild(r->eg);
    r->stop = SB_STOP_COUNT;
    if (r->opts.goal && r->opts.goal(r->eg, r->opts.goal_user)) r->stop = SB_STOP_GOAL;
    for (int iter = 0; r->stop == SB_STOP_COUNT; iter++) {
        if (r->opts.iter_limit > 0 && iter >= r->opts.iter_limit) r->stop = SB_STOP_ITER_LIMIT;
        else if (node_limit_hit(r)) r->stop = SB_STOP_NODE_LIMIT;
        else if (over_time(r, start)) r->stop = SB_STOP_TIME_LIMIT;
        if (r->stop != SB_STOP_COUNT) break;
        r->iters = sb_xrealloc(r->iters, sizeof *r->iters * (size_t)(r->niters + 1));
        sb_iter_report *it = &r->iters[r->niters++];
        memset(it, 0, sizeof *it);
        it->iter = iter;
        it->rule_matches = sb_xcalloc((size_t)r->nrw + 1, sizeof(int));
        it->rule_applied = sb_xcalloc((size_t)r->nrw + 1, sizeof(int));
        r->stop = iterate(r, iter, &ix, it, start);
        if (r->stop == SB_STOP_COUNT && r->opts.goal && r->opts.goal(r->eg, r->opts.goal_user))
            r->stop = SB_STOP_GOAL;
        if (r->opts.trace) sb_trace_iteration(r->opts.trace, r, it);
    }
    for (int o = 0; o < SB_OP_LIMIT; o++) sb_idvec_free(&ix.by_op[o]);
    sb_idvec_free(&ix.all);
    r->seconds = sb_rw_now() - start;
    if (r->opts.trace) sb_trace_stop(r->opts.trace, r);
    return r->stop;
}

void sb_rw_runner_report(const sb_runner *r, FILE *f)
{
    fprintf(f, "stop: %s after %d iterations, %.3f s; %u e-nodes, %u e-classes\n",
            sb_rw_stop_name(r->stop), r->niters, r->seconds, sb_eg_enode_count(r->eg),
            sb_eg_class_count(r->eg));
    for (int i = 0; i < r->niters; i++) {
        const sb_iter_report *it = &r->iters[i];
        fprintf(f, "  iter %d: %ld matches, %ld applied, %u e-nodes, %u e-classes, search %.4f s, "
                   "apply %.4f s, rebuild %.4f s\n", it->iter, it->matches, it->applied,
                it->enodes, it->eclasses, it->search_s, it->apply_s, it->rebuild_s);
    }
    for (int i = 0; i < r->nrw; i++)
        if (r->rw[i].matches)
            fprintf(f, "  rule %s%s: %ld matches, %ld applied%s\n", r->rw[i].rule->name,
                    r->rw[i].backward ? " (<=)" : "", r->rw[i].matches, r->rw[i].applied,
                    r->rw[i].times_banned ? " (banned)" : "");
}
