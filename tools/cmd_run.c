/* cmd_run.c: `symbench run PIPELINE.json`: the end-to-end path.
 *
 * load the pipeline and its graph -> bind data to every input and shared variable -> expand
 * grad/Rop -> run the passes (trace, stage callback) -> evaluate the outputs once, applying the
 * graph's updates to the shared variables as one call of a Theano function does (or train) ->
 * print a summary of each output -> write the `save` targets as .npy. Any error is one line
 * "file:line:col: message" on stderr and exit status 1; usage errors exit 2. */
#include "backends/backend.h"
#include "commands.h"
#include "core-impl.h"
#include "pipeline.h"
#include "rewrites/passes.h"
#include "viz/viz.h"

#include <errno.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench run [--help] [--quiet] [--profile[=FILE.json]] PIPELINE.json\n\n"
            "Run a pipeline: load its graph and data, expand gradients, run the optimization\n"
            "passes, evaluate the outputs once and apply the graph's updates once (or train),\n"
            "print each output and write the 'save' targets as .npy (shared variables with\n"
            "their updated values). Paths in the pipeline are relative to its file.\n"
            "See docs/formats.md for the pipeline format.\n\n"
            "  --quiet   print no per-stage lines\n"
            "  --profile time every step of the evaluation (or training): a table per op type,\n"
            "            the top nodes and memory on stderr at the end, and a section in the\n"
            "            report; --profile=FILE.json writes it as JSON instead of the table\n"
            "  --help    show this help\n");
}

/* Everything one run holds, freed by run_free. */
typedef struct run_state {
    sb_pipeline *p;
    sb_ctx *ctx;
    sb_graph *g;
    int nbind;
    sb_binding *binds;   /* names point into the graph; values owned here */
    int nout;
    sb_array **res;      /* output values */
    sb_shared_store *store; /* shared values after the evaluation's updates */
    FILE *trace;
    bool quiet;
    const struct sb_backend_i *be; /* the pipeline's backend */
    char *viz_dir;       /* where stage drawings go (NULL = no drawings) */
    sb_report *report;   /* the HTML report being built (NULL = none) */
    sb_diag viz_err;     /* the first drawing error (stage callbacks cannot return one) */
    int nstages;         /* the last pass's stage index */
    bool profile;        /* --profile */
    const char *profile_json; /* --profile=FILE.json, or NULL: the table on stderr */
    sb_profile_summary *prof; /* what --profile recorded (after the evaluation / training) */
} run_state;

static void run_free(run_state *r)
{
    for (int i = 0; i < r->nbind; i++) sb_array_free((sb_array *)r->binds[i].value);
    free(r->binds);
    for (int i = 0; i < r->nout; i++) sb_array_free(r->res[i]);
    free(r->res);
    sb_shared_store_free(r->store);
    if (r->trace) fclose(r->trace);
    free(r->viz_dir);
    sb_report_free(r->report);
    sb_profile_summary_free(r->prof);
    sb_graph_free(r->g);
    sb_ctx_free(r->ctx);
    sb_pipeline_free(r->p);
}

/* ---- data ----------------------------------------------------------------------------------- */
/* Bind a value to one graph variable from its data spec. */
static sb_status bind_var(run_state *r, const char *name, sb_node *n, const char *what,
                          sb_diag *d)
{
    const sb_data_spec *s = sb_pipeline_data(r->p, name);
    if (!s) {
        const cJSON *root = sb_json_root(r->p->doc);
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "data");
        return sb_json_error(r->p->doc, at ? at : root, SB_ERR_VALUE, d,
                             "no data for %s '%s'", what, name);
    }
    sb_array *a = sb_pipeline_data_load(r->p, s, sb_node_type(n), d);
    if (!a) return d->status;
    r->binds[r->nbind++] = (sb_binding){sb_node_name(n), a};
    return SB_OK;
}

/* Values for every input and shared variable of the graph; data naming nothing is an error. */
static sb_status bind_data(run_state *r, sb_diag *d)
{
    int ni = sb_graph_count(r->g, SB_ROLE_INPUT), ns = sb_graph_count(r->g, SB_ROLE_SHARED);
    r->binds = sb_xcalloc((size_t)(ni + ns + 1), sizeof *r->binds);
    for (int i = 0; i < r->p->ndata; i++) {
        const char *name = r->p->data[i].name;
        if (!sb_graph_find(r->g, SB_ROLE_INPUT, name) && !sb_graph_find(r->g, SB_ROLE_SHARED, name))
            return sb_json_error(r->p->data[i].doc, r->p->data[i].item, SB_ERR_VALUE, d,
                                 "data for '%s', which is not an input or shared variable of "
                                 "the graph", name);
    }
    for (int i = 0; i < ni; i++)
        if (bind_var(r, sb_graph_name(r->g, SB_ROLE_INPUT, i), sb_graph_node(r->g, SB_ROLE_INPUT, i),
                     "input", d))
            return d->status;
    for (int i = 0; i < ns; i++)
        if (bind_var(r, sb_graph_name(r->g, SB_ROLE_SHARED, i),
                     sb_graph_node(r->g, SB_ROLE_SHARED, i), "shared variable", d))
            return d->status;
    return SB_OK;
}

/* ---- drawings and report ------------------------------------------------------------------- */
/* Whether viz.stages asks for this stage: "all" (default), "changed", "none", or pass names. */
static bool stage_wanted(const run_state *r, const char *pass, bool changed)
{
    const cJSON *st = r->p->viz_stages;
    if (!st || (cJSON_IsString(st) && !strcmp(st->valuestring, "all"))) return true;
    if (cJSON_IsString(st)) return !strcmp(st->valuestring, "changed") ? changed : false;
    for (const cJSON *c = st->child; c; c = c->next)
        if (cJSON_IsString(c) && !strcmp(c->valuestring, pass)) return true;
    return false;
}

/* Draw g as stage `index` (0 = the graph before any pass) into viz_dir/NN-pass.FORMAT. Errors
 * are kept in r->viz_err, at the pipeline's "viz" key. */
static void draw_stage(run_state *r, const sb_graph *g, int index, const char *pass)
{
    if (!r->viz_dir || r->viz_err.status) return;
    char *path = sb_xasprintf("%s/%02d-%s.%s", r->viz_dir, index, pass, r->p->viz_format);
    char *title = sb_xasprintf("stage %d: %s", index, pass);
    sb_viz_opts o = {.title = title};
    sb_diag tmp = {0};
    sb_drawing *dr = sb_viz_graph(g, &o);
    if (sb_make_dirs(path, false, &tmp) == SB_OK && dr)
        sb_drawing_write(dr, path, r->p->viz_format, &tmp);
    sb_drawing_free(dr);
    if (tmp.status)
        sb_json_error(r->p->doc, r->p->viz, tmp.status, &r->viz_err,
                      "cannot draw stage %d (%s): %s", index, pass, tmp.msg);
    free(path);
    free(title);
}

/* ---- passes --------------------------------------------------------------------------------- */
/* After each pass: one line per stage, its drawing and its report entry. */
static void on_stage(const sb_graph *g, const sb_stage_info *st, void *user)
{
    run_state *r = user;
    r->nstages = st->index;
    if (!r->quiet)
        printf("stage %d %-12s %5d -> %5d nodes  %8.3f ms%s\n", st->index, st->pass,
               st->nodes_before, st->nodes_after, st->seconds * 1e3,
               st->changed ? "" : " (unchanged)");
    if (stage_wanted(r, st->pass, st->changed)) draw_stage(r, g, st->index, st->pass);
    if (!r->report) return;
    if (st->changed)
        sb_report_add_stage_graph(r->report, st->pass, st->seconds, st->nodes_before, g);
    else
        sb_report_add_stage(r->report, st->pass, st->seconds, st->nodes_before, st->nodes_after,
                            NULL);
}

static sb_status run_passes(run_state *r, sb_diag *d)
{
    if (r->p->trace) {
        if (sb_make_dirs(r->p->trace, false, d)) return d->status;
        r->trace = fopen(r->p->trace, "w");
        if (!r->trace)
            return sb_diag_set(d, SB_ERR_IO, r->p->trace, 0, 0, "cannot open for writing: %s",
                               strerror(errno));
    }
    if (r->p->viz) {
        r->viz_dir = r->p->viz_dir ? sb_xstrdup(r->p->viz_dir) : sb_pipeline_path(r->p, "out/stages");
        draw_stage(r, r->g, 0, "input");
    }
    if (r->p->report) r->report = sb_report_new(r->p->file);
    sb_pass_opts opts = {.doc = r->p->doc, .passes = r->p->passes, .base_dir = r->p->dir,
                         .trace = r->trace, .on_stage = on_stage, .user = r, .backend = r->be};
    if (sb_rw_run_passes(r->g, &opts, d) != SB_OK) return d->status;
    if (r->viz_err.status) *d = r->viz_err;
    return d->status;
}

/* Write the HTML report (stages were added as they ran) with the outputs. */
static sb_status write_report(const run_state *r, sb_diag *d)
{
    if (!r->report) return SB_OK;
    for (int i = 0; i < r->nout; i++)
        sb_report_add_output(r->report, sb_graph_name(r->g, SB_ROLE_OUTPUT, i), r->res[i]);
    sb_diag tmp = {0};
    if (sb_make_dirs(r->p->report, false, &tmp) || sb_report_write(r->report, r->p->report, &tmp)) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(sb_json_root(r->p->doc), "report");
        return sb_json_error(r->p->doc, at, tmp.status, d, "%s: %s", tmp.file, tmp.msg);
    }
    printf("report -> %s\n", r->p->report);
    return SB_OK;
}

/* The graph as the backend's plan runs it, drawn as the stage after the last pass
 * (NN-plan.FORMAT, when viz.stages asks for "plan": "all", "changed" or a list naming it) and
 * added to the report: the nodes each fused group / GEMM computes in a cluster, in-place
 * writers marked (viz/plan_draw.c). A graph the backend cannot compile is not drawn: running
 * it reports why. */
static void draw_plan(run_state *r)
{
    bool file = r->viz_dir && !r->viz_err.status && stage_wanted(r, "plan", true);
    if (!file && !r->report) return;
    sb_be_plan_desc pd;
    sb_diag tmp = {0};
    if (sb_be_describe_graph(r->be, r->g, &pd, &tmp) != SB_OK) return;
    int index = r->nstages + 1;
    char *title = sb_xasprintf("stage %d: plan (%s: %d fused groups, %d gemm, %d in place)", index,
                               r->be->name, pd.nfused, pd.ngemm, pd.ninplace);
    sb_drawing *dr = sb_viz_plan(r->g, &pd, &(sb_viz_opts){.title = title});
    char *path = sb_xasprintf("%s/%02d-plan.%s", r->viz_dir ? r->viz_dir : ".", index, r->p->viz_format);
    if (file && sb_make_dirs(path, false, &tmp) == SB_OK)
        sb_drawing_write(dr, path, r->p->viz_format, &tmp);
    if (tmp.status)
        sb_json_error(r->p->doc, r->p->viz, tmp.status, &r->viz_err, "cannot draw stage %d (plan): %s",
                      index, tmp.msg);
    if (r->report) {
        char *svg = sb_drawing_render(dr, "svg", NULL, NULL);
        sb_node **order = NULL;
        int n = sb_graph_toposort(r->g, &order); /* the graph's nodes, as the stages count */
        free(order);
        sb_report_add_stage(r->report, "plan", 0, n, n, svg);
        free(svg);
    }
    sb_drawing_free(dr);
    sb_be_plan_desc_free(&pd);
    free(path);
    free(title);
}

/* --profile: start from an empty collector and record the evaluation / training only. */
static void profile_start(const run_state *r)
{
    if (!r->profile) return;
    sb_profile_reset();
    sb_profile_enable(true);
}

/* After the evaluation / training: profiling off; with --profile, keep the summary and give the
 * report its section. */
static void profile_stop(run_state *r)
{
    sb_profile_enable(false);
    if (!r->profile) return;
    r->prof = sb_profile_summarize();
    sb_profile_reset();
    if (r->report) sb_report_set_profile(r->report, r->prof, 20);
}

/* --profile, at the very end: the table on stderr, or the JSON into its file. */
static sb_status profile_write(const run_state *r, sb_diag *d)
{
    if (!r->prof) return SB_OK;
    if (!r->profile_json) {
        fflush(stdout);
        sb_profile_print(r->prof, stderr, 10);
        return SB_OK;
    }
    char *json = sb_profile_json(r->prof, 0), *text = sb_xasprintf("%s\n", json);
    if (!sb_make_dirs(r->profile_json, false, d))
        sb_write_file(r->profile_json, text, strlen(text), d);
    free(text);
    free(json);
    if (!d->status) printf("profile -> %s\n", r->profile_json);
    return d->status;
}

/* ---- outputs -------------------------------------------------------------------------------- */
/* The pipeline's backend, if this build has it and its device is there (else d, at "backend"). */
static const struct sb_backend_i *backend(const run_state *r, sb_diag *d)
{
    sb_diag tmp = {0};
    if (sb_backend_available(r->p->backend, &tmp)) return sb_backend_get(r->p->backend);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(sb_json_root(r->p->doc), "backend");
    sb_json_error(r->p->doc, at, tmp.status ? tmp.status : SB_ERR_UNSUPPORTED, d, "%s", tmp.msg);
    return NULL;
}

/* One call of the graph as a compiled function on the pipeline's backend: every output is
 * computed and every update then replaces its shared value in r->store (all from the values
 * before the call, as Theano's function does). */
static sb_status evaluate(run_state *r, sb_diag *d)
{
    int nin = sb_graph_count(r->g, SB_ROLE_INPUT);
    r->nout = sb_graph_count(r->g, SB_ROLE_OUTPUT);
    r->res = sb_xcalloc((size_t)r->nout + 1, sizeof *r->res);
    r->store = sb_pipeline_store(r->g, r->nbind, r->binds);
    int *idx = sb_xcalloc((size_t)r->nout + 1, sizeof *idx);
    const sb_array **args = sb_xcalloc((size_t)nin + 1, sizeof *args);
    for (int i = 0; i < r->nout; i++) idx[i] = i;
    for (int i = 0; i < nin; i++)
        args[i] = sb_binding_value(r->nbind, r->binds, sb_graph_name(r->g, SB_ROLE_INPUT, i));
    sb_function *f = sb_pipeline_function(r->p, r->g, r->nout, idx, true, r->store, d);
    sb_status st = f ? sb_function_call(f, nin, args, r->res, d) : d->status;
    sb_function_free(f);
    free(args);
    free(idx);
    if (st != SB_OK && !d->file[0]) snprintf(d->file, sizeof d->file, "%s", r->p->file);
    return st;
}

/* "name: type = value" per output (arrays shortened like NumPy's repr). */
static void print_outputs(const run_state *r)
{
    for (int i = 0; i < r->nout; i++) {
        const sb_array *a = r->res[i];
        sb_type t = sb_type_make(a->dtype, a->ndim, a->shape);
        char buf[128];
        printf("%s: %s = ", sb_graph_name(r->g, SB_ROLE_OUTPUT, i), sb_type_str(&t, buf, sizeof buf));
        sb_array_print(a, stdout, 6); /* ends the line */
    }
    int nupd = sb_graph_count(r->g, SB_ROLE_UPDATE);
    for (int i = 0; i < nupd; i++)
        printf("%s%s%s", i ? ", " : "updated ", sb_graph_name(r->g, SB_ROLE_UPDATE, i),
               i == nupd - 1 ? "\n" : "");
}

/* The value named by a save target: an output, else a shared variable (its value after the
 * updates), else an input's data. */
static const sb_array *named_value(const run_state *r, const char *name)
{
    for (int i = 0; i < r->nout; i++)
        if (!strcmp(sb_graph_name(r->g, SB_ROLE_OUTPUT, i), name)) return r->res[i];
    const sb_array *v = sb_shared_peek(r->store, name);
    if (v) return v;
    for (int i = 0; i < r->nbind; i++)
        if (!strcmp(r->binds[i].name, name)) return r->binds[i].value;
    return NULL;
}

static sb_status save_all(const run_state *r, sb_diag *d)
{
    for (int i = 0; i < r->p->nsave; i++) {
        const sb_save_spec *s = &r->p->save[i];
        const sb_array *a = named_value(r, s->name);
        if (!a)
            return sb_json_error(r->p->doc, s->item, SB_ERR_VALUE, d,
                                 "cannot save '%s': not an output, input or shared variable",
                                 s->name);
        if (sb_pipeline_save_value(r->p, s, a, d)) return d->status;
    }
    return SB_OK;
}

/* ---- the command ---------------------------------------------------------------------------- */
static sb_status run(run_state *r, const char *path, sb_diag *d)
{
    r->p = sb_pipeline_load(path, d);
    if (!r->p) return d->status;
    if (sb_cmd_pipeline_plugins(r->p, d)) return d->status; /* before anything parses ops */
    if (!(r->be = backend(r, d))) return d->status; /* before any work: is the device here? */
    r->ctx = sb_ctx_init();
    r->g = sb_pipeline_load_graph(r->p, r->ctx, d);
    if (!r->g || bind_data(r, d) || sb_graph_expand_autodiff(r->g, d) || run_passes(r, d))
        return d->status;
    draw_plan(r);
    if (r->viz_err.status) return *d = r->viz_err, d->status;
    profile_start(r);
    /* core/train.c: the loop, evaluation, metrics, checkpoint, save (outputs saved by the loop) */
    sb_status st = r->p->train.present ? sb_train_run(r->p, r->g, r->nbind, r->binds, r->quiet, d)
                                       : evaluate(r, d);
    profile_stop(r);
    if (st) return st;
    if (!r->p->train.present) {
        print_outputs(r);
        if (save_all(r, d)) return d->status;
    }
    if (write_report(r, d)) return d->status; /* the stages (and the profile) */
    return profile_write(r, d);
}

int sb_cmd_run(int argc, char **argv)
{
    const char *path = NULL;
    run_state r = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            r.quiet = true;
        } else if (!strcmp(argv[i], "--profile")) {
            r.profile = true;
        } else if (!strncmp(argv[i], "--profile=", 10) && argv[i][10]) {
            r.profile = true;
            r.profile_json = argv[i] + 10;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "symbench run: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    sb_diag d = {0};
    sb_status st = run(&r, path, &d);
    fflush(stdout);
    if (st != SB_OK) sb_diag_print(&d, stderr);
    run_free(&r);
    return st == SB_OK ? 0 : 1;
}
