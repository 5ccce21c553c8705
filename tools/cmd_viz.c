/* cmd_viz.c: `symbench viz`: draw a graph, the stages of a pipeline (as diffs), or an e-graph.
 *
 *   symbench viz GRAPH.json -o graph.png
 *   symbench viz PIPELINE.json --stage saturate -o after-saturate.svg
 *   symbench viz PIPELINE.json --stage all -o out/stages        (NN-pass.svg per stage)
 *   symbench viz GRAPH.json --egraph --rules algebra -o egraph.svg
 *
 * Drawings are built with libcgraph and rendered with libgvc (viz/); nothing shells out. */
#include "backends/backend.h"
#include "commands.h"
#include "core-impl.h"
#include "pipeline.h"
#include "rewrites/optimize.h"
#include "rewrites/passes.h"
#include "viz/viz.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench viz [OPTIONS] GRAPH.json|PIPELINE.json\n\n"
            "Draw a graph with Graphviz: inputs, shared variables, constants, outputs and updates\n"
            "each in their own shape and colour, ops coloured by family, edges labelled with dtype\n"
            "and shape (see docs/viz.md). A pipeline file draws its graph; --stage draws the graph\n"
            "after a pass, with what the pass added highlighted and what it removed listed.\n\n"
            "  -o FILE           write FILE (.dot, .svg, .png, .pdf); default: DOT on stdout\n"
            "  --stage NAME|all  (pipelines) the stage after pass NAME ('input' = before any\n"
            "                    pass; 'plan' = the last stage as the pipeline's backend\n"
            "                    compiles it: fused kernels as clusters, in-place writes\n"
            "                    marked); 'all' draws every stage, the plan last, into the\n"
            "                    directory -o names (default out/stages) as NN-pass.FORMAT\n"
            "  --format FMT      format when it cannot come from -o (default svg)\n"
            "  --egraph          draw the e-graph of the outputs (e-classes as clusters, the\n"
            "                    extracted e-node of each class highlighted)\n"
            "  --rules NAME      (with --egraph) saturate with this rule set first; repeatable\n"
            "  --max-nodes N     cut drawings past N nodes with a note (default 2000)\n"
            "  --no-labels       no dtype/shape labels on edges\n"
            "  --help            show this help\n");
}

typedef struct viz_args {
    const char *file, *out, *stage, *format;
    bool egraph;
    const char *rules[16];
    int nrules;
    sb_viz_opts o;
} viz_args;

/* Parse options; 0 = go on, -1 = help printed, else an exit status. */
static int parse_args(int argc, char **argv, viz_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) return usage(stdout), -1;
        else if (!strcmp(s, "-o") && more) a->out = argv[++i];
        else if (!strcmp(s, "--stage") && more) a->stage = argv[++i];
        else if (!strcmp(s, "--format") && more) a->format = argv[++i];
        else if (!strcmp(s, "--egraph")) a->egraph = true;
        else if (!strcmp(s, "--no-labels")) a->o.edge_labels = -1;
        else if (!strcmp(s, "--rules") && more && a->nrules < 16) a->rules[a->nrules++] = argv[++i];
        else if (!strcmp(s, "--max-nodes") && more) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 10000000)
                return fprintf(stderr, "symbench viz: --max-nodes needs a positive number, not '%s'\n", argv[i]), 2;
            a->o.max_nodes = (int)n;
        } else if (s[0] == '-' && s[1])
            return fprintf(stderr, "symbench viz: unknown option or missing value: '%s' (see --help)\n", s), 2;
        else if (a->file)
            return fprintf(stderr, "symbench viz: more than one input file ('%s', '%s')\n", a->file, s), 2;
        else a->file = s;
    }
    if (!a->file) return fprintf(stderr, "symbench viz: expected GRAPH.json or PIPELINE.json (see --help)\n"), 2;
    if (a->stage && a->egraph) return fprintf(stderr, "symbench viz: --stage and --egraph do not go together\n"), 2;
    return 0;
}

/* Write dr to a->out (or DOT on stdout). */
static sb_status emit(sb_drawing *dr, const viz_args *a, sb_diag *d)
{
    if (!a->out) {
        if (a->format && strcmp(a->format, "dot"))
            return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "format '%s' needs -o FILE", a->format);
        char *dot = sb_drawing_dot(dr);
        fputs(dot, stdout);
        free(dot);
        return SB_OK;
    }
    if (sb_make_dirs(a->out, false, d)) return d->status;
    return sb_drawing_write(dr, a->out, a->format, d);
}

/* Whether the JSON file is a pipeline (has "graph" at the top level) rather than a graph. */
static bool is_pipeline(const char *path)
{
    sb_diag d = {0};
    char *text = sb_read_file(path, NULL, &d);
    if (!text) return false;
    cJSON *root = cJSON_Parse(text);
    bool yes = cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "graph");
    cJSON_Delete(root);
    free(text);
    return yes;
}

/* ---- stages ------------------------------------------------------------------------------- */

/* A copy of g's entries (the nodes are shared: same context). */
static sb_graph *snapshot(const sb_graph *g)
{
    sb_graph *s = sb_graph_new(sb_graph_ctx(g));
    for (int r = 0; r < SB_ROLE_COUNT; r++)
        for (int i = 0; i < sb_graph_count(g, (sb_graph_role)r); i++)
            sb_graph_add(s, (sb_graph_role)r, sb_graph_name(g, (sb_graph_role)r, i),
                         sb_graph_node(g, (sb_graph_role)r, i));
    return s;
}

typedef struct stage_state {
    const viz_args *a;
    sb_graph *prev;      /* the stage before (snapshot) */
    const char *pass;    /* the pass being drawn (for provenance) */
    int last;            /* the last pass's stage index */
    int drawn;
    sb_diag err;
} stage_state;

static const char *provenance(const sb_node *n, void *user)
{
    (void)n;
    static char buf[96];
    snprintf(buf, sizeof buf, "new in %s", ((stage_state *)user)->pass);
    return buf;
}

/* Draw one stage as a diff against the previous one (the plan stage: as the backend's plan
 * runs it, pd), to a file of its own or to -o. */
static void draw_stage(stage_state *s, const sb_graph *g, int index, const char *pass,
                       const sb_be_plan_desc *pd)
{
    const viz_args *a = s->a;
    bool all = !strcmp(a->stage, "all");
    if (s->err.status || (!all && strcmp(a->stage, pass))) return;
    char *title = pd ? sb_xasprintf("stage %d: plan (%d fused groups, %d gemm, %d in place)", index,
                                    pd->nfused, pd->ngemm, pd->ninplace)
                     : sb_xasprintf("stage %d: %s", index, pass);
    sb_viz_opts o = a->o;
    o.title = title;
    s->pass = pass;
    sb_drawing *dr = pd ? sb_viz_plan(g, pd, &o)
                        : s->prev ? sb_viz_diff(s->prev, g, provenance, s, &o) : sb_viz_graph(g, &o);
    if (all) {
        const char *fmt = a->format ? a->format : "svg";
        char *path = sb_xasprintf("%s/%02d-%s.%s", a->out ? a->out : "out/stages", index, pass, fmt);
        if (sb_make_dirs(path, false, &s->err) == SB_OK && sb_drawing_write(dr, path, fmt, &s->err) == SB_OK)
            printf("stage %d %-12s -> %s\n", index, pass, path);
        free(path);
    } else {
        emit(dr, a, &s->err);
    }
    s->drawn++;
    sb_drawing_free(dr);
    free(title);
}

static void on_stage(const sb_graph *g, const sb_stage_info *st, void *user)
{
    stage_state *s = user;
    s->last = st->index;
    draw_stage(s, g, st->index, st->pass, NULL);
    sb_graph_free(s->prev);
    s->prev = snapshot(g);
}

/* The stage after the last pass as the pipeline's backend compiles it (viz/plan_draw.c). */
static sb_status draw_plan(stage_state *s, const sb_pipeline *p, const sb_graph *g, sb_diag *d)
{
    sb_diag tmp = {0};
    const struct sb_backend_i *be = sb_backend_available(p->backend, &tmp) ? sb_backend_get(p->backend) : NULL;
    if (!be) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(sb_json_root(p->doc), "backend");
        return sb_json_error(p->doc, at, tmp.status ? tmp.status : SB_ERR_UNSUPPORTED, d, "%s", tmp.msg);
    }
    sb_be_plan_desc pd;
    if (sb_be_describe_graph(be, g, &pd, d) != SB_OK) return d->status;
    draw_stage(s, g, s->last + 1, "plan", &pd);
    sb_be_plan_desc_free(&pd);
    return SB_OK;
}

/* Run the pipeline's passes over g, drawing the stages --stage asks for. */
static sb_status draw_stages(const sb_pipeline *p, sb_graph *g, const viz_args *a, sb_diag *d)
{
    stage_state s = {.a = a};
    if (sb_graph_expand_autodiff(g, d) != SB_OK) return d->status;
    draw_stage(&s, g, 0, "input", NULL);
    s.prev = snapshot(g);
    sb_pass_opts opts = {.doc = p->doc, .passes = p->passes, .base_dir = p->dir,
                         .on_stage = on_stage, .user = &s};
    sb_status st = sb_rw_run_passes(g, &opts, d);
    sb_graph_free(s.prev);
    if (st == SB_OK && !s.err.status && (!strcmp(a->stage, "all") || !strcmp(a->stage, "plan")))
        st = draw_plan(&s, p, g, d);
    if (st != SB_OK) return st;
    if (s.err.status) return *d = s.err, d->status;
    if (!s.drawn)
        return sb_diag_set(d, SB_ERR_VALUE, p->file, 0, 0, "no stage named '%s' (stages are 'input', "
                           "the names of the pipeline's passes and 'plan')", a->stage);
    return SB_OK;
}

/* ---- e-graphs ----------------------------------------------------------------------------- */

/* The label of e-node n: its op, or a leaf's name / value. */
static char *enode_label(const sb_egraph *eg, sb_id n)
{
    const sb_enode *e = sb_eg_node(eg, n);
    if (e->leaf && sb_node_name(e->leaf)) return sb_xstrdup(sb_node_name(e->leaf));
    if (e->leaf && sb_node_value(e->leaf) && sb_array_numel(sb_node_value(e->leaf)) == 1)
        return sb_xasprintf("%g", sb_array_get_f64(sb_node_value(e->leaf), 0));
    char buf[256];
    snprintf(buf, sizeof buf, "%s", sb_op_get((sb_op)e->op)->name);
    sb_viz_attrs_text((sb_op)e->op, sb_attrs_get(eg->ctx, e->attr), buf, sizeof buf);
    return sb_xstrdup(buf);
}

/* Fill the generic description of eg (classes, e-nodes, chosen = x's pick) and draw it. */
static sb_drawing *draw_egraph(sb_egraph *eg, sb_extractor *x, const sb_viz_opts *o)
{
    int ncls = 0;
    sb_viz_eclass *cls = sb_xcalloc(eg->nnodes + 1, sizeof *cls);
    sb_id *kids = sb_xcalloc(eg->nkids + 1, sizeof *kids);
    uint32_t nk = 0;
    for (sb_id c = 0; c < eg->nnodes; c++) {
        if (sb_eg_find(eg, c) != c) continue;
        const sb_eclass *k = &eg->cls[c];
        sb_viz_enode *ns = sb_xcalloc(k->nodes.n + 1, sizeof *ns);
        for (uint32_t j = 0; j < k->nodes.n; j++) {
            sb_id n = k->nodes.v[j];
            const sb_enode *e = sb_eg_node(eg, n);
            ns[j].label = enode_label(eg, n);
            ns[j].nchild = e->nin;
            ns[j].child = kids + nk;
            for (int i = 0; i < e->nin; i++) kids[nk++] = sb_eg_find(eg, sb_eg_kids(eg, n)[i]);
            ns[j].chosen = x && x->best[c] == n;
        }
        char tb[96];
        cls[ncls++] = (sb_viz_eclass){c, sb_xstrdup(sb_type_str(&k->type, tb, sizeof tb)),
                                      (int)k->nodes.n, ns};
    }
    sb_drawing *dr = sb_viz_egraph(ncls, cls, o);
    for (int i = 0; i < ncls; i++) {
        for (int j = 0; j < cls[i].nnodes; j++) free((char *)cls[i].nodes[j].label);
        free((sb_viz_enode *)cls[i].nodes);
        free((char *)cls[i].note);
    }
    free(cls);
    free(kids);
    return dr;
}

/* The e-graph of g's outputs and updates, saturated with --rules when given, then drawn. */
static sb_status egraph_of(sb_graph *g, const viz_args *a, const char *base, sb_diag *d)
{
    if (sb_graph_expand_autodiff(g, d) != SB_OK) return d->status;
    sb_egraph *eg = sb_eg_new(sb_graph_ctx(g));
    for (int r = SB_ROLE_OUTPUT; r <= SB_ROLE_UPDATE; r++)
        for (int i = 0; i < sb_graph_count(g, (sb_graph_role)r); i++)
            sb_eg_add_term(eg, sb_graph_node(g, (sb_graph_role)r, i));
    sb_eg_rebuild(eg);
    sb_ruleset **sets = NULL;
    int nsets = a->nrules ? sb_rw_rulesets_load(a->rules, a->nrules, base, &sets, d) : 0;
    if (nsets < 0) {
        sb_eg_free(eg);
        return d->status;
    }
    if (nsets > 0) {
        int nr;
        const sb_rule **rules = sb_rw_rules_of(sets, nsets, &nr);
        sb_run_opts ro = sb_run_opts_default();
        sb_runner *run = sb_rw_runner_new(eg, rules, nr, &ro);
        sb_stop stop = sb_rw_runner_run(run);
        fprintf(stderr, "symbench viz: e-graph %s: %u e-nodes, %u e-classes\n", sb_rw_stop_name(stop),
                sb_eg_enode_count(eg), sb_eg_class_count(eg));
        sb_rw_runner_free(run);
        free(rules);
    }
    sb_extractor *x = sb_rw_extract_greedy(eg);
    sb_drawing *dr = draw_egraph(eg, x, &a->o);
    sb_status st = emit(dr, a, d);
    sb_drawing_free(dr);
    sb_rw_extractor_free(x);
    sb_rw_rulesets_free(sets, nsets);
    sb_eg_free(eg);
    return st;
}

/* ---- the command -------------------------------------------------------------------------- */

static sb_status viz_main(const viz_args *a, sb_diag *d)
{
    sb_ctx *ctx = sb_ctx_init();
    sb_pipeline *p = NULL;
    sb_graph *g = NULL;
    const char *base = ".";
    if (is_pipeline(a->file)) {
        if ((p = sb_pipeline_load(a->file, d)) && !sb_cmd_pipeline_plugins(p, d))
            g = sb_pipeline_load_graph(p, ctx, d); /* its plugins first: their ops */
        if (p) base = p->dir;
    } else {
        if (a->stage)
            sb_diag_set(d, SB_ERR_VALUE, a->file, 0, 0, "--stage needs a pipeline file (with \"graph\" and \"passes\")");
        else g = sb_graph_load_file(ctx, a->file, d);
    }
    if (g) {
        if (a->stage) {
            draw_stages(p, g, a, d);
        } else if (a->egraph) {
            egraph_of(g, a, base, d);
        } else {
            sb_drawing *dr = sb_viz_graph(g, &a->o);
            emit(dr, a, d);
            sb_drawing_free(dr);
        }
    }
    sb_graph_free(g);
    sb_pipeline_free(p);
    sb_ctx_free(ctx);
    return d->status;
}

int sb_cmd_viz(int argc, char **argv)
{
    viz_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    sb_diag d = {0};
    if (viz_main(&a, &d) != SB_OK) {
        sb_diag_print(&d, stderr);
        return 1;
    }
    if (a.out && !(a.stage && !strcmp(a.stage, "all"))) fprintf(stderr, "wrote %s\n", a.out);
    return 0;
}
