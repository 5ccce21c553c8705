/* pass.c: the pass registry, the pipeline runner with its instruments, the built-in passes
 * (saturate, canonicalize, constant_fold, merge, dce) and the optimizer engine they share.
 *
 * A pass is data: a name, a run function and its JSON settings. Instruments wrap each pass:
 * time it, count graph nodes before and after, tell whether it changed the graph, call the
 * on_stage callback and write a {"type":"pass"} trace record. */
#include "backends/backend.h"
#include "json.h"
#include "optimize.h"
#include "passes.h"
#include "trace.h"

#include <math.h>
#include <stdarg.h>

/* ---- errors at JSON positions ------------------------------------------------------------ */
static sb_status jerr(const sb_pass_opts *o, const cJSON *it, sb_status st, sb_diag *d,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static sb_status jerr(const sb_pass_opts *o, const cJSON *it, sb_status st, sb_diag *d,
                      const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o && o->doc && it) return sb_json_error(o->doc, it, st, d, "%s", msg);
    return sb_diag_set(d, st, NULL, 0, 0, "%s", msg);
}

/* ---- the optimizer engine ---------------------------------------------------------------- */
sb_rw_opt_cfg sb_rw_opt_cfg_default(void)
{
    return (sb_rw_opt_cfg){.run = sb_run_opts_default(), .extract = SB_EXTRACT_AUTO};
}

const sb_rule **sb_rw_rules_of(sb_ruleset *const *sets, int nsets, int *nrules)
{
    int n = 0;
    for (int i = 0; i < nsets; i++) n += sets[i]->nrules;
    const sb_rule **r = sb_xmalloc(sizeof *r * (size_t)(n + 1));
    n = 0;
    for (int i = 0; i < nsets; i++)
        for (int j = 0; j < sets[i]->nrules; j++) r[n++] = &sets[i]->rules[j];
    *nrules = n;
    return r;
}

void sb_rw_rulesets_free(sb_ruleset **sets, int n)
{
    for (int i = 0; i < n; i++) sb_rw_ruleset_free(sets[i]);
    free(sets);
}

int sb_rw_rulesets_load(const char *const *names, int n, const char *base_dir, sb_ruleset ***sets,
                        sb_diag *d)
{
    char **all = NULL;
    int nall = 0;
    if (!names || n == 0) {
        nall = sb_rw_ruleset_list(&all);
        names = (const char *const *)all;
        n = nall;
    }
    *sets = sb_xcalloc((size_t)n + 1, sizeof **sets);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!((*sets)[k] = sb_rw_ruleset_load(names[i], base_dir, d))) {
            sb_rw_rulesets_free(*sets, k);
            *sets = NULL;
            k = -1;
            break;
        }
        k++;
    }
    for (int i = 0; i < nall; i++) free(all[i]);
    free(all);
    return k;
}

static void extract_all(sb_egraph *eg, const sb_rw_opt_cfg *cfg, const sb_id *ids, int n,
                        sb_node *const *roots, sb_node **out, sb_rw_opt_result *res)
{
    sb_extractor *x = sb_rw_extract_greedy(eg);
    x->trace = cfg->run.trace;
    sb_rw_extract_dag_greedy(x, ids, n, 20000);
    sb_rw_extract_from_input(x, roots, ids, n);
    bool ilp = cfg->extract == SB_EXTRACT_ILP ||
               (cfg->extract == SB_EXTRACT_AUTO && sb_eg_enode_count(eg) <= SB_ILP_AUTO_MAX_NODES);
    if (ilp) {
        bool asked = cfg->extract == SB_EXTRACT_ILP;
        sb_rw_extract_ilp(x, ids, n, asked ? 20000 : SB_ILP_AUTO_MAX_NODES, asked ? 10.0 : 1.0,
                          asked ? 0 : SB_ILP_AUTO_GAP);
    }
    res->used_ilp = x->used_ilp;
    for (int i = 0; i < n; i++) out[i] = sb_rw_extract_term(x, ids[i]);
    sb_rw_extractor_free(x);
}

sb_status sb_rw_optimize(sb_ctx *ctx, int n, sb_node *const *roots, const sb_rw_opt_cfg *cfg,
                         sb_node **out, sb_rw_opt_result *res, sb_diag *d)
{
    sb_rw_opt_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    double t0 = sb_rw_now();
    sb_egraph *eg = sb_eg_new(ctx);
    eg->fold = !cfg->no_fold;
    eg->trace = cfg->run.trace;
    sb_id *ids = sb_xmalloc(sizeof(sb_id) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) ids[i] = sb_eg_add_term(eg, roots[i]);
    int nrules = 0;
    const sb_rule **rules = sb_rw_rules_of(cfg->sets, cfg->nsets, &nrules);
    sb_runner *r = sb_rw_runner_new(eg, rules, nrules, &cfg->run);
    res->stop = sb_rw_runner_run(r);
    res->iterations = r->niters;
    res->enodes = sb_eg_enode_count(eg);
    res->eclasses = sb_eg_class_count(eg);
    extract_all(eg, cfg, ids, n, roots, out, res);
    res->cost_before = sb_rw_term_cost(roots, n);
    bool ok = true;
    for (int i = 0; i < n; i++) ok &= out[i] != NULL;
    res->cost_after = ok ? sb_rw_term_cost(out, n) : INFINITY;
    if (!ok || res->cost_after > res->cost_before) { /* never make a graph worse */
        for (int i = 0; i < n; i++) out[i] = roots[i];
        res->cost_after = res->cost_before;
    }
    sb_rw_runner_free(r);
    free(rules);
    free(ids);
    sb_eg_free(eg);
    res->seconds = sb_rw_now() - t0;
    (void)d;
    return SB_OK;
}

/* ---- graph roots ------------------------------------------------------------------------- */
static const sb_graph_role root_roles[] = {SB_ROLE_LET, SB_ROLE_OUTPUT, SB_ROLE_UPDATE};

static int graph_roots(const sb_graph *g, sb_node ***out)
{
    int n = 0;
    for (int r = 0; r < 3; r++) n += sb_graph_count(g, root_roles[r]);
    *out = sb_xmalloc(sizeof(sb_node *) * (size_t)(n + 1));
    n = 0;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < sb_graph_count(g, root_roles[r]); i++)
            (*out)[n++] = sb_graph_node(g, root_roles[r], i);
    return n;
}

/* Put new root nodes back; returns whether any changed. */
static bool graph_set_roots(sb_graph *g, sb_node *const *nodes)
{
    bool changed = false;
    int n = 0;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < sb_graph_count(g, root_roles[r]); i++, n++)
            if (sb_graph_node(g, root_roles[r], i) != nodes[n]) {
                sb_graph_set_node(g, root_roles[r], i, nodes[n]);
                changed = true;
            }
    return changed;
}

static int graph_size(const sb_graph *g)
{
    sb_node **order = NULL;
    int n = sb_graph_toposort(g, &order);
    free(order);
    return n;
}

/* Optimize every root of g with cfg; *changed when a root changed. */
static sb_status optimize_graph(sb_graph *g, const sb_rw_opt_cfg *cfg, bool *changed, sb_diag *d)
{
    sb_node **roots = NULL;
    int n = graph_roots(g, &roots);
    sb_node **out = sb_xmalloc(sizeof(sb_node *) * (size_t)(n + 1));
    sb_status st = sb_rw_optimize(sb_graph_ctx(g), n, roots, cfg, out, NULL, d);
    if (!st) *changed = graph_set_roots(g, out);
    free(out);
    free(roots);
    return st;
}

/* ---- settings ---------------------------------------------------------------------------- */
static sb_status num_setting(const sb_pass_opts *o, const cJSON *s, const char *key, double lo,
                             double *v, sb_diag *d)
{
    const cJSON *it = s ? cJSON_GetObjectItemCaseSensitive(s, key) : NULL;
    if (!it) return SB_OK;
    if (!cJSON_IsNumber(it) || it->valuedouble < lo)
        return jerr(o, it, SB_ERR_VALUE, d, "\"%s\" must be a number >= %g", key, lo);
    *v = it->valuedouble;
    return SB_OK;
}

/* Every key of a pass's settings must be one the pass reads. */
static sb_status check_keys(const sb_pass_opts *o, const cJSON *s, const char *const *keys, sb_diag *d)
{
    for (const cJSON *it = s ? s->child : NULL; it; it = it->next) {
        bool known = false;
        for (int i = 0; keys[i] && !known; i++) known = !strcmp(it->string, keys[i]);
        if (known) continue;
        char list[400] = "";
        for (int i = 0; keys[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", keys[i]);
        if (o && o->doc) return sb_json_key_error(o->doc, it, SB_ERR_VALUE, d,
                                                  "unknown setting \"%s\" (known: %s)", it->string, list);
        return jerr(o, it, SB_ERR_VALUE, d, "unknown setting \"%s\" (known: %s)", it->string, list);
    }
    return SB_OK;
}

static const char *const saturate_keys[] = {"pass", "rules", "optional_rules", "iter_limit",
                                            "node_limit", "time_limit", "scheduler", "match_limit",
                                            "ban_length", "extract", NULL};
static const char *const plain_keys[] = {"pass", NULL};

/* Read saturate's settings into cfg (limits, scheduler, extract). */
static sb_status saturate_settings(const sb_pass_opts *o, const cJSON *s, sb_rw_opt_cfg *cfg,
                                   sb_diag *d)
{
    double iters = cfg->run.iter_limit, nodes = cfg->run.node_limit, secs = cfg->run.time_limit;
    double ml = cfg->run.match_limit, bl = cfg->run.ban_length;
    if (check_keys(o, s, saturate_keys, d) || num_setting(o, s, "iter_limit", 1, &iters, d) ||
        num_setting(o, s, "node_limit", 1, &nodes, d) || num_setting(o, s, "time_limit", 0, &secs, d) ||
        num_setting(o, s, "match_limit", 1, &ml, d) || num_setting(o, s, "ban_length", 1, &bl, d))
        return d ? d->status : SB_ERR_VALUE;
    cfg->run.iter_limit = (int)iters;
    cfg->run.node_limit = (uint32_t)nodes;
    cfg->run.time_limit = secs;
    cfg->run.match_limit = (int)ml;
    cfg->run.ban_length = (int)bl;
    const cJSON *sch = s ? cJSON_GetObjectItemCaseSensitive(s, "scheduler") : NULL;
    if (sch) {
        if (!cJSON_IsString(sch) || (strcmp(sch->valuestring, "backoff") && strcmp(sch->valuestring, "simple")))
            return jerr(o, sch, SB_ERR_VALUE, d, "\"scheduler\" must be \"backoff\" or \"simple\"");
        cfg->run.backoff = !strcmp(sch->valuestring, "backoff");
    }
    const cJSON *ex = s ? cJSON_GetObjectItemCaseSensitive(s, "extract") : NULL;
    if (ex) {
        const char *v = cJSON_IsString(ex) ? ex->valuestring : "";
        if (!strcmp(v, "greedy")) cfg->extract = SB_EXTRACT_GREEDY;
        else if (!strcmp(v, "ilp")) cfg->extract = SB_EXTRACT_ILP;
        else if (!strcmp(v, "auto")) cfg->extract = SB_EXTRACT_AUTO;
        else return jerr(o, ex, SB_ERR_VALUE, d, "\"extract\" must be \"greedy\", \"ilp\" or \"auto\"");
    }
    return SB_OK;
}

/* The rule sets named by settings "rules" (an array of names/paths); all shipped sets when
 * absent. "optional_rules": true skips sets that do not exist (the default pipeline). */
static int settings_rules(const sb_pass_opts *o, const cJSON *s, sb_ruleset ***sets, sb_diag *d)
{
    const cJSON *rl = s ? cJSON_GetObjectItemCaseSensitive(s, "rules") : NULL;
    bool optional = s && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "optional_rules"));
    if (!rl) return sb_rw_rulesets_load(NULL, 0, o->base_dir, sets, d);
    if (!cJSON_IsArray(rl)) return jerr(o, rl, SB_ERR_VALUE, d, "\"rules\" must be an array of rule-set names"), -1;
    *sets = sb_xcalloc((size_t)cJSON_GetArraySize(rl) + 1, sizeof **sets);
    int n = 0;
    for (const cJSON *it = rl->child; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            sb_rw_rulesets_free(*sets, n);
            return jerr(o, it, SB_ERR_VALUE, d, "a rule set is named by a string"), -1;
        }
        if (optional && !strchr(it->valuestring, '/')) {
            char *path = sb_rw_ruleset_resolve(it->valuestring);
            free(path);
            if (!path) continue;
        }
        sb_diag sub = {0};
        if (!((*sets)[n] = sb_rw_ruleset_load(it->valuestring, o->base_dir, &sub))) {
            sb_rw_rulesets_free(*sets, n);
            if (sub.line && d) *d = sub; /* an error inside the rule file: its own position */
            else jerr(o, it, sub.status, d, "%s", sub.msg);
            return -1;
        }
        n++;
    }
    return n;
}

/* ---- built-in passes --------------------------------------------------------------------- */
static sb_status pass_saturate(sb_graph *g, const cJSON *s, const sb_pass_opts *o, bool *changed,
                               sb_diag *d)
{
    sb_rw_opt_cfg cfg = sb_rw_opt_cfg_default();
    cfg.run.trace = o->trace;
    if (saturate_settings(o, s, &cfg, d)) return d ? d->status : SB_ERR_VALUE;
    sb_ruleset **sets = NULL;
    int nsets = settings_rules(o, s, &sets, d);
    if (nsets < 0) return d ? d->status : SB_ERR_VALUE;
    cfg.sets = sets;
    cfg.nsets = nsets;
    sb_status st = optimize_graph(g, &cfg, changed, d);
    sb_rw_rulesets_free(sets, nsets);
    return st;
}

/* A small built-in canonicalization set: neutral elements and involutions. */
static const char canon_rules[] =
    "{\"name\": \"canonicalize\", \"rules\": ["
    "{\"name\": \"add-zero\", \"lhs\": \"?x + 0\", \"rhs\": \"?x\", \"doc\": \"x + 0 = x\"},"
    "{\"name\": \"zero-add\", \"lhs\": \"0 + ?x\", \"rhs\": \"?x\", \"doc\": \"0 + x = x\"},"
    "{\"name\": \"sub-zero\", \"lhs\": \"?x - 0\", \"rhs\": \"?x\", \"doc\": \"x - 0 = x\"},"
    "{\"name\": \"mul-one\", \"lhs\": \"?x * 1\", \"rhs\": \"?x\", \"doc\": \"x * 1 = x\"},"
    "{\"name\": \"one-mul\", \"lhs\": \"1 * ?x\", \"rhs\": \"?x\", \"doc\": \"1 * x = x\"},"
    "{\"name\": \"div-one\", \"lhs\": \"?x / 1\", \"rhs\": \"?x\", \"doc\": \"x / 1 = x\"},"
    "{\"name\": \"pow-one\", \"lhs\": \"?x ** 1\", \"rhs\": \"?x\", \"doc\": \"x ** 1 = x\"},"
    "{\"name\": \"neg-neg\", \"lhs\": \"-(-?x)\", \"rhs\": \"?x\", \"doc\": \"-(-x) = x\"},"
    "{\"name\": \"transpose-transpose\", \"lhs\": \"transpose(transpose(?x))\", \"rhs\": \"?x\","
    " \"doc\": \"(x.T).T = x\"}"
    "]}";

static sb_status pass_canonicalize(sb_graph *g, const cJSON *s, const sb_pass_opts *o,
                                   bool *changed, sb_diag *d)
{
    sb_rw_opt_cfg cfg = sb_rw_opt_cfg_default();
    cfg.run.trace = o->trace;
    cfg.run.iter_limit = 8;
    cfg.extract = SB_EXTRACT_GREEDY;
    if (saturate_settings(o, s, &cfg, d)) return d ? d->status : SB_ERR_VALUE;
    sb_ruleset *rs = sb_rw_ruleset_parse(canon_rules, "<canonicalize>", d);
    if (!rs) return d ? d->status : SB_ERR_INTERNAL;
    cfg.sets = &rs;
    cfg.nsets = 1;
    sb_status st = optimize_graph(g, &cfg, changed, d);
    sb_rw_ruleset_free(rs);
    return st;
}

static sb_status pass_constant_fold(sb_graph *g, const cJSON *s, const sb_pass_opts *o,
                                    bool *changed, sb_diag *d)
{
    if (check_keys(o, s, plain_keys, d)) return d ? d->status : SB_ERR_VALUE;
    sb_rw_opt_cfg cfg = sb_rw_opt_cfg_default();
    cfg.run.trace = o->trace;
    cfg.extract = SB_EXTRACT_GREEDY;
    return optimize_graph(g, &cfg, changed, d); /* no rules: the analysis folds constants */
}

/* Nodes are hash-consed, so equal subterms are already one node: merge only reports. */
static sb_status pass_merge(sb_graph *g, const cJSON *s, const sb_pass_opts *o, bool *changed,
                            sb_diag *d)
{
    (void)g;
    *changed = false;
    return check_keys(o, s, plain_keys, d);
}

/* Only what outputs and updates reach is ever evaluated or drawn (toposort starts there), so
 * dead code is already gone: dce only reports. */
static sb_status pass_dce(sb_graph *g, const cJSON *s, const sb_pass_opts *o, bool *changed,
                          sb_diag *d)
{
    (void)g;
    *changed = false;
    return check_keys(o, s, plain_keys, d);
}

/* {"type":"plan"} record of the fuse / inplace pass: what the backend's plan of g does (the
 * same compile as a compiled function's: outputs, then update values written in place where
 * the backend can). A graph the backend cannot compile gets "error" (the run reports it). */
static void trace_plan(sb_graph *g, const char *pass, const sb_pass_opts *o)
{
    sb_be_plan_desc pd;
    sb_diag d = {0};
    fputs("{\"type\":\"plan\",\"pass\":", o->trace);
    sb_trace_str(o->trace, pass);
    fputs(",\"backend\":", o->trace);
    sb_trace_str(o->trace, o->backend->name);
    if (sb_be_describe_graph(o->backend, g, &pd, &d) != SB_OK) {
        fputs(",\"error\":", o->trace);
        sb_trace_str(o->trace, d.msg);
        fputs("}\n", o->trace);
        return;
    }
    fprintf(o->trace, ",\"described\":%s,\"fused_groups\":%d,\"fused_nodes\":%d,\"gemms\":%d,"
                      "\"kernels\":%d,\"inplace_steps\":%d,\"views\":%d}\n",
            pd.described ? "true" : "false", pd.nfused, pd.nfused_nodes, pd.ngemm, pd.nkernels,
            pd.ninplace, pd.nviews);
    sb_be_plan_desc_free(&pd);
}

/* Elementwise fusion and in-place planning happen when a backend compiles the graph
 * (backends/cpu/plan.c: fused kernels, GEMMs, memory plan, in-place updates): in a pipeline
 * these names mark where that happens, change nothing in the graph, and report what the plan
 * made of it in the trace (with a backend in the options). */
static sb_status pass_fuse(sb_graph *g, const cJSON *s, const sb_pass_opts *o, bool *changed,
                           sb_diag *d)
{
    *changed = false;
    sb_status st = check_keys(o, s, plain_keys, d);
    if (!st && o->trace && o->backend) trace_plan(g, "fuse", o);
    return st;
}

static sb_status pass_inplace(sb_graph *g, const cJSON *s, const sb_pass_opts *o, bool *changed,
                              sb_diag *d)
{
    *changed = false;
    sb_status st = check_keys(o, s, plain_keys, d);
    if (!st && o->trace && o->backend) trace_plan(g, "inplace", o);
    return st;
}

/* ---- registry ---------------------------------------------------------------------------- */
#define MAX_PASSES 64
static struct {
    const char *name, *doc;
    sb_pass_fn fn;
} registry[MAX_PASSES];
static int npasses;

static void register_builtins(void)
{
    if (npasses) return;
    registry[npasses++] = (typeof(registry[0])){"saturate", "equality saturation with rule sets, then extraction", pass_saturate};
    registry[npasses++] = (typeof(registry[0])){"canonicalize", "saturate with a small built-in canonicalization set", pass_canonicalize};
    registry[npasses++] = (typeof(registry[0])){"constant_fold", "fold constant subterms (e-graph analysis)", pass_constant_fold};
    registry[npasses++] = (typeof(registry[0])){"merge", "common subexpressions (already merged by hash-consing)", pass_merge};
    registry[npasses++] = (typeof(registry[0])){"dce", "dead code (already dropped: only roots are reachable)", pass_dce};
    registry[npasses++] = (typeof(registry[0])){"fuse", "elementwise fusion (done by the backend when it compiles; traced)", pass_fuse};
    registry[npasses++] = (typeof(registry[0])){"inplace", "in-place buffers (planned by the backend when it compiles; traced)", pass_inplace};
}

sb_status sb_rw_pass_register(const char *name, sb_pass_fn fn, const char *doc)
{
    register_builtins();
    for (int i = 0; i < npasses; i++)
        if (!strcmp(registry[i].name, name)) {
            registry[i].fn = fn;
            registry[i].doc = doc;
            return SB_OK;
        }
    if (npasses == MAX_PASSES) return SB_ERR_PLUGIN;
    registry[npasses].name = name;
    registry[npasses].doc = doc ? doc : "";
    registry[npasses++].fn = fn;
    return SB_OK;
}

int sb_rw_pass_list(const char **names, const char **docs, int max)
{
    register_builtins();
    for (int i = 0; i < npasses && i < max; i++) {
        if (names) names[i] = registry[i].name;
        if (docs) docs[i] = registry[i].doc;
    }
    return npasses;
}

static sb_pass_fn pass_find(const char *name)
{
    register_builtins();
    for (int i = 0; i < npasses; i++)
        if (!strcmp(registry[i].name, name)) return registry[i].fn;
    return NULL;
}

/* ---- pipeline ---------------------------------------------------------------------------- */
const char sb_rw_default_passes[] =
    "[\"constant_fold\", {\"pass\": \"saturate\", \"rules\": [\"algebra\", \"stability\", "
    "\"specialize\", \"shapes\", \"reductions\"], \"optional_rules\": true}, \"dce\"]";

/* Run one pass with its instruments. */
static sb_status run_one(sb_graph *g, const char *name, sb_pass_fn fn, const cJSON *settings,
                         const sb_pass_opts *o, int index, sb_diag *d)
{
    sb_stage_info st = {.index = index, .pass = name};
    st.nodes_before = graph_size(g);
    double t = sb_rw_now();
    bool changed = false;
    sb_status rc = fn(g, settings, o, &changed, d);
    if (rc) return rc;
    st.seconds = sb_rw_now() - t;
    st.nodes_after = graph_size(g);
    st.changed = changed;
    if (o->trace) {
        sb_trace_pass(o->trace, name, st.seconds, st.nodes_before, st.nodes_after, changed);
        fflush(o->trace);
    }
    if (o->on_stage) o->on_stage(g, &st, o->user);
    return SB_OK;
}

static sb_status run_list(sb_graph *g, const cJSON *passes, const sb_pass_opts *o, sb_diag *d)
{
    if (!cJSON_IsArray(passes))
        return jerr(o, passes, SB_ERR_VALUE, d, "\"passes\" must be an array of pass names or objects");
    int index = 0;
    for (const cJSON *it = passes->child; it; it = it->next) {
        const cJSON *name_item = it, *settings = NULL;
        if (cJSON_IsObject(it)) {
            settings = it;
            name_item = cJSON_GetObjectItemCaseSensitive(it, "pass");
            if (!cJSON_IsString(name_item))
                return jerr(o, it, SB_ERR_VALUE, d, "a pass object needs a string \"pass\"");
        } else if (!cJSON_IsString(it)) {
            return jerr(o, it, SB_ERR_VALUE, d, "a pass is a name or an object {\"pass\": name, ...}");
        }
        sb_pass_fn fn = pass_find(name_item->valuestring);
        if (!fn) {
            const char *names[MAX_PASSES];
            int n = sb_rw_pass_list(names, NULL, MAX_PASSES);
            char known[512] = "";
            for (int i = 0; i < n; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", names[i]);
            return jerr(o, name_item, SB_ERR_VALUE, d, "unknown pass '%s' (known: %s)",
                        name_item->valuestring, known);
        }
        sb_status rc = run_one(g, name_item->valuestring, fn, settings, o, ++index, d);
        if (rc) return rc;
    }
    return SB_OK;
}

sb_status sb_rw_run_passes(sb_graph *g, const sb_pass_opts *opts, sb_diag *d)
{
    sb_pass_opts o = opts ? *opts : (sb_pass_opts){0};
    if (o.passes) return run_list(g, o.passes, &o, d);
    cJSON *def = cJSON_Parse(sb_rw_default_passes);
    SB_ASSERT(def);
    o.doc = NULL;
    sb_status st = run_list(g, def, &o, d);
    cJSON_Delete(def);
    return st;
}
