/* passes.h: the pass manager as the rest of symbench sees it (internal).
 *
 * A pass is data: a name, settings (JSON), a run function. A pipeline runs passes in order over a
 * graph; instruments wrap each pass: time it, count nodes before/after, snapshot the graph for
 * drawings ("(unchanged)" when nothing changed), and write trace records (JSON lines). */
#ifndef SB_PASSES_H
#define SB_PASSES_H

#include "symbench.h"
#include "json.h"

/* Called after each pass with the graph as it is then (graph stays valid only during the call).
 * index counts from 1 in pipeline order; changed = false when the pass left the graph as it was. */
typedef struct sb_stage_info {
    int index;
    const char *pass;     /* pass name */
    bool changed;
    double seconds;
    int nodes_before, nodes_after;
} sb_stage_info;
typedef void (*sb_stage_fn)(const sb_graph *g, const sb_stage_info *st, void *user);

typedef struct sb_pass_opts {
    const sb_json *doc;   /* the document `passes` came from (positions for errors); may be NULL */
    const cJSON *passes;  /* JSON array of names / {"pass": name, ...settings}; NULL = default */
    const char *base_dir; /* where relative paths (rule files) are resolved */
    FILE *trace;          /* JSON-lines trace output; NULL = none */
    sb_stage_fn on_stage; /* (optional) */
    void *user;
    /* (optional) the backend that will compile the graph: the report-only passes "fuse" and
     * "inplace" ask it what its plan makes of the graph and write that in a {"type": "plan"}
     * trace record (fused groups, in-place steps; docs/trace.md). NULL = no such record. */
    const struct sb_backend_i *backend;
} sb_pass_opts;

/* Run the pipeline's passes over g in place (its outputs and updates are replaced by the
 * optimized nodes, in the same context). Returns SB_OK or fills d (unknown pass, bad settings
 * at their file:line:col, unknown rule set). */
sb_status sb_rw_run_passes(sb_graph *g, const sb_pass_opts *opts, sb_diag *d);

/* A registered pass: runs over g in place; `settings` is its JSON object (NULL when the pipeline
 * gave just the name); sets *changed. Errors go to d at the settings' positions in opts->doc. */
typedef sb_status (*sb_pass_fn)(sb_graph *g, const cJSON *settings, const sb_pass_opts *opts,
                                bool *changed, sb_diag *d);
/* Register a pass under name (plugins; a later registration of a name replaces the earlier).
 * Returns SB_ERR_PLUGIN when the registry is full. */
sb_status sb_rw_pass_register(const char *name, sb_pass_fn fn, const char *doc);
/* Names (and one-line docs) of the registered passes; returns the count. */
int sb_rw_pass_list(const char **names, const char **docs, int max);
/* The passes run when a pipeline gives none, as JSON text. */
extern const char sb_rw_default_passes[];

#endif
