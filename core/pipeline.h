/* pipeline.h: a pipeline JSON file, parsed and checked (internal).
 *
 * A pipeline names a graph (a path relative to the pipeline file, or an inline object), the data
 * for its inputs and shared variables, the passes, the backend, what to run (one evaluation, or a
 * training loop), what to draw, and where to write the trace, the report and saved outputs. See
 * docs/formats.md. sb_pipeline_load checks every key and its JSON type; positions of anything a
 * later step reports (a data file that is missing, a pass that is unknown) stay available through
 * `doc` and the cJSON items kept below.
 *
 *     sb_pipeline *p = sb_pipeline_load("examples/x.pipeline.json", &d);
 *     sb_graph *g = sb_pipeline_load_graph(p, ctx, &d);
 *     sb_array *x = sb_pipeline_data_load(p, sb_pipeline_data(p, "x"), sb_node_type(xnode), &d);
 *     ...
 *     sb_pipeline_free(p);
 *
 * Every path in the struct is already resolved against the pipeline's directory (absolute paths
 * are kept as they are). */
#ifndef SB_PIPELINE_H
#define SB_PIPELINE_H

#include "json.h"
#include "symbench.h"

/* How one input or shared variable gets its value. */
typedef enum sb_data_kind {
    SB_DATA_NPY,    /* "x.npy" or {"npy": path} */
    SB_DATA_IDX,    /* {"idx": path, "scale": s}: IDX file (gzip or plain), cast/scaled/reshaped */
    SB_DATA_INIT,   /* {"init": kind, "std", "mean", "low", "high", "value", "seed"} */
    SB_DATA_RANDOM, /* {"random": "normal"|"uniform", "shape": [...], "seed": n} (inputs) */
    SB_DATA_KIND_COUNT
} sb_data_kind;

typedef struct sb_data_spec {
    char *name;          /* the input / shared variable it is for */
    sb_data_kind kind;
    char *path;          /* NPY, IDX: resolved path */
    double scale;        /* IDX: multiply values by this (1 when not given) */
    bool has_scale;
    sb_init_spec init;   /* INIT and RANDOM (kind "normal"/"uniform"; defaults std 1, high 1) */
    int64_t limit;       /* NPY, IDX: "limit": keep only the first rows (0 = all) */
    int nshape;          /* RANDOM: entries in shape (-1 = not given: use the declared type) */
    int64_t shape[SB_MAX_DIMS];
    const cJSON *item;   /* the spec's JSON value (for positions) */
    const sb_json *doc;  /* the document item is in (the pipeline, or the graph file for a
                            shared variable's initial value given in the graph) */
} sb_data_spec;

/* The `train` object. Counts not given are 0 (steps/epochs) or defaults noted. */
typedef struct sb_train_spec {
    bool present;            /* false when the pipeline has no `train` */
    int64_t steps;           /* "steps": optimizer steps (0 = not given) */
    int64_t epochs;          /* "epochs": passes over the data (0 = not given) */
    int64_t batch_size;      /* "batch_size" (0 = full batch) */
    int nbatch_over;         /* "batch_over": names of data inputs sliced into minibatches */
    char **batch_over;
    int64_t log_every;       /* "log_every" (0 = not given) */
    int64_t eval_every;      /* "eval_every" (0 = only at the end) */
    uint64_t seed;           /* "seed": shuffling (0 when not given) */
    /* "eval": {"outputs": [names], "data": {name: data spec}} held-out evaluation */
    int neval_outputs;
    char **eval_outputs;
    int neval_data;
    sb_data_spec *eval_data;
    char *metrics;           /* "metrics": JSON-lines metrics path (resolved) or NULL */
    char *checkpoint;        /* "checkpoint": checkpoint path (resolved) or NULL */
    char *loss;              /* "loss": the output minimized and reported, or NULL (default:
                                see sb_pipeline_loss) */
    const cJSON *loss_item;
    bool resume;             /* "resume": continue from the checkpoint when it exists (default
                                true); false starts over and replaces it */
    const cJSON *json;       /* the raw `train` object (for keys added later); NULL if absent */
} sb_train_spec;

/* One `save` target: an output or shared variable name written as .npy to path. */
typedef struct sb_save_spec {
    char *name;
    char *path;          /* resolved */
    const cJSON *item;
} sb_save_spec;

typedef struct sb_pipeline {
    sb_json *doc;               /* the parsed file; root is the pipeline object */
    char *file;                 /* path as given */
    char *dir;                  /* its directory ("." when none) */
    char *graph_path;           /* "graph": resolved path, or NULL when inline */
    const cJSON *graph_inline;  /* "graph": inline object, or NULL */
    const cJSON *graph_item;    /* the "graph" value (positions) */
    int ndata;
    sb_data_spec *data;         /* "data", in file order */
    const cJSON *passes;        /* "passes" array, NULL = default pipeline */
    char *backend;              /* "backend": "cpu" (default) */
    sb_train_spec train;
    const cJSON *viz;           /* "viz" object {"dir", "format", "stages"} or NULL */
    char *viz_dir;              /* resolved "viz.dir" or NULL */
    char *viz_format;           /* "viz.format" ("svg" when not given) */
    const cJSON *viz_stages;    /* "viz.stages": "all" / "changed" / [names] or NULL */
    char *trace;                /* "trace": resolved path or NULL */
    char *report;               /* "report": resolved path or NULL */
    int nsave;
    sb_save_spec *save;         /* "save", in file order */
    const cJSON *plugins;       /* "plugins": array of paths / names, or NULL */
    sb_json *graph_doc;         /* the graph file, once sb_pipeline_load_graph read it */
    bool graph_data_added;      /* initial values of the graph's shared variables were added */
} sb_pipeline;

/* Load and check a pipeline file: JSON syntax, unknown keys, JSON types, data specs, backend
 * ("cuda" is "backend 'cuda' is not available in this build" unless built with CUDA). Returns
 * NULL and fills d (file:line:col) on error. */
sb_pipeline *sb_pipeline_load(const char *path, sb_diag *d);
void sb_pipeline_free(sb_pipeline *p);

/* A path from the pipeline resolved against its directory (malloc'd). */
char *sb_pipeline_path(const sb_pipeline *p, const char *rel);

/* The graph the pipeline names (file or inline), loaded into ctx. NULL + d on error. Shared
 * variables declared in the graph with an initial value ({"type": T, "init": ...}) and not named
 * in the pipeline's `data` get that value as their data spec (paths relative to the graph file;
 * errors at their position there). A `train.loss` that names no output of the graph, or a
 * non-scalar one, is an error at its value. */
sb_graph *sb_pipeline_load_graph(sb_pipeline *p, sb_ctx *ctx, sb_diag *d);

/* graph_json.c: load a graph from the object `root` of an already parsed document (an inline
 * graph keeps the positions of the pipeline file). */
sb_graph *sb_graph_load_doc(sb_ctx *ctx, const sb_json *j, const cJSON *root, sb_diag *d);

/* The data spec for name, or NULL. */
const sb_data_spec *sb_pipeline_data(const sb_pipeline *p, const char *name);

/* Produce the value of spec s for a leaf of type t: load the .npy / IDX file (converted to t's
 * dtype, scaled, reshaped to t's shape where the element count allows) or run the initializer
 * with t's dtype and shape (RANDOM: its own shape if given, unknown dims are an error). Errors
 * point at the spec in the pipeline file. */
sb_array *sb_pipeline_data_load(const sb_pipeline *p, const sb_data_spec *s, const sb_type *t,
                                sb_diag *d);

/* Index of g's output called name, or -1. */
int sb_pipeline_output(const sb_graph *g, const char *name);

/* The output the training loop minimizes and reports: `train.loss` when given, else the scalar
 * output named "loss", else the one named "cost", else the first scalar output; -1 when the
 * graph has no scalar output. */
int sb_pipeline_loss(const sb_pipeline *p, const sb_graph *g);

/* mkdir -p: the directories leading to path (its dirname), and path itself when `whole`.
 * SB_ERR_IO + d ("cannot create directory 'DIR': reason", file = path) on failure. */
sb_status sb_make_dirs(const char *path, bool whole, sb_diag *d);

/* Write a as the `save` target s (parent directories created) and print "saved NAME -> PATH" on
 * stdout; an error points at the target's value in the pipeline. */
sb_status sb_pipeline_save_value(const sb_pipeline *p, const sb_save_spec *s, const sb_array *a,
                                 sb_diag *d);

/* ---- compiled functions of a pipeline's graph (core/train.c) -------------------------------- */
/* The value bound to name in binds[0..nbind), or NULL. */
const sb_array *sb_binding_value(int nbind, const sb_binding *binds, const char *name);

/* A new store holding a copy of the bound value of each of g's shared variables (each must be
 * bound). */
sb_shared_store *sb_pipeline_store(const sb_graph *g, int nbind, const sb_binding *binds);

/* Compile one function of g on the pipeline's backend: its arguments are g's inputs in graph
 * order, its outputs g's outputs outs[0..nout) (indices), and with `updates` every update of
 * the graph (applied to store at each call, as Theano's function does). NULL + d on error. */
sb_function *sb_pipeline_function(const sb_pipeline *p, sb_graph *g, int nout, const int *outs,
                                  bool updates, sb_shared_store *store, sb_diag *d);

#endif
