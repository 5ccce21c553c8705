/* viz.h: drawings of graphs, stage diffs and e-graphs (Graphviz: libcgraph builds, libgvc lays
 * out with dot and renders), and the HTML report of a run. Internal to symbench (the command
 * line and the pipeline runner use it); functions carry the sb_viz_ / sb_report_ prefixes.
 *
 *     sb_drawing *dr = sb_viz_graph(g, NULL);            // an sb_graph, default options
 *     sb_drawing_write(dr, "out/graph.png", NULL, &d);    // format from the extension
 *     sb_drawing_free(dr);
 *
 * Legend (docs/viz.md): inputs green ellipses, shared variables teal cylinders, constants grey
 * rounded boxes, outputs orange inverted houses, updates purple houses (dashed arrow to the shared
 * variable they write); ops are boxes coloured by family. DOT node names are "n<sb_node_id>", so
 * they are stable across stages. A drawing past its node limit is cut, with a visible note. */
#ifndef SB_VIZ_H
#define SB_VIZ_H

#include "symbench.h"

/* Options shared by every drawing (NULL = defaults). */
typedef struct sb_viz_opts {
    int max_nodes;    /* nodes drawn before cutting with a note; 0 = 2000 */
    int edge_labels;  /* 0 = auto: dtype and shape on each edge while the drawing has at most
                         SB_VIZ_LABEL_LIMIT nodes (dot's layout slows down a lot with labelled
                         edges; past it the type is in the node's tooltip); 1 = always;
                         -1 = never */
    const char *title;/* drawn as the graph's label; NULL = none */
    /* (optional) the fused kernel node n runs in (> 0), or 0: the nodes of one kernel are drawn
     * inside a cluster "cluster_k<kernel>" labelled "kernel <kernel>" */
    int (*kernel_of)(const sb_node *n, void *user);
    /* (optional) SB_VIZ_MARK_* flags of node n (from the backend's schedule / memory plan) */
    unsigned (*marks_of)(const sb_node *n, void *user);
    void *user;       /* passed to kernel_of and marks_of */
} sb_viz_opts;

enum {
    SB_VIZ_MARK_INPLACE = 1 << 0, /* writes over its first input: that edge is drawn red, bold,
                                     labelled "destroyed" */
    SB_VIZ_MARK_VIEW = 1 << 1,    /* a view of its first input: dashed border, "(view)" */
};

#define SB_VIZ_DEFAULT_MAX_NODES 2000
#define SB_VIZ_LABEL_LIMIT 500

typedef struct sb_drawing sb_drawing; /* a graph being drawn (wraps a cgraph Agraph_t) */

/* Text for a node of a stage diff, e.g. the rule that created it; NULL = nothing to say.
 * The returned string is copied. */
typedef const char *(*sb_viz_prov_fn)(const sb_node *n, void *user);

/* Draw g: every node reachable from its outputs and updates, plus its inputs and shared
 * variables, with output and update markers. */
sb_drawing *sb_viz_graph(const sb_graph *g, const sb_viz_opts *o);

/* Draw `after` as a stage that followed `before` (same context: equal subterms are one node).
 * Nodes of `after` that `before` lacks are highlighted (red, bold) and annotated with prov(n)
 * when prov is given; nodes of `before` that `after` lacks are listed in a note. */
sb_drawing *sb_viz_diff(const sb_graph *before, const sb_graph *after, sb_viz_prov_fn prov,
                        void *user, const sb_viz_opts *o);

/* Counts from the last sb_viz_diff of a drawing (0 for other drawings). */
int sb_drawing_added(const sb_drawing *dr);
int sb_drawing_removed(const sb_drawing *dr);

/* A generic e-graph for drawing: clusters (e-classes) of labelled e-nodes whose edges go to
 * classes. The e-graph module fills these from its own structures. */
typedef struct sb_viz_enode {
    const char *label;      /* op and attributes, e.g. "mul" or "const 2" */
    int nchild;
    const uint32_t *child;  /* ids of the child e-classes (values of sb_viz_eclass.id) */
    bool chosen;            /* picked by extraction: highlighted */
} sb_viz_enode;

typedef struct sb_viz_eclass {
    uint32_t id;            /* e-class id (canonical), shown in the cluster's label */
    const char *note;       /* extra text under the id (type, facts); NULL = none */
    int nnodes;
    const sb_viz_enode *nodes;
} sb_viz_eclass;

/* Draw an e-graph: each class a cluster "cluster_c<id>" holding nodes "c<id>_<k>"; each e-node
 * has an edge to each child class (to the class's first node, clipped at the cluster). Past
 * o->max_nodes e-nodes, whole classes are left out and a note says how many. */
sb_drawing *sb_viz_egraph(int nclass, const sb_viz_eclass *cls, const sb_viz_opts *o);

/* Draw g as a backend's plan runs it (viz/plan_draw.c): pd describes the plan of g's outputs
 * and updates (sb_be_describe_graph, backends/backend.h); the nodes of each step that computes
 * several of them are drawn inside a cluster "cluster_k<k>" labelled "kernel <k>: fused, <n>
 * nodes" (or gemm), in-place
 * writers and views are marked (SB_VIZ_MARK_*). o's kernel_of / marks_of are replaced; a NULL
 * or empty title becomes a summary of the plan. */
struct sb_be_plan_desc;
sb_drawing *sb_viz_plan(const sb_graph *g, const struct sb_be_plan_desc *pd, const sb_viz_opts *o);
/* The clusters sb_viz_plan draws for pd (steps computing more than one node). */
int sb_viz_plan_clusters(const struct sb_be_plan_desc *pd);

/* Draw a proof chain (what `symbench explain` finds): terms[0] = start, terms[i] follows from
 * terms[i-1] by rules[i] (applied right to left when backward[i]; rules[0] and backward may be
 * NULL). Each term is a cluster "cluster_step<i>" holding its expression DAG; the nodes a step
 * made (absent from the term before) are highlighted red; an arrow labelled with the rule joins
 * the roots of consecutive steps. Terms are nodes of one context. */
sb_drawing *sb_viz_proof(int n, sb_node *const *terms, const char *const *rules,
                         const bool *backward, const sb_viz_opts *o);

/* Append the attributes worth showing under an op's name ("\naxis=1", "\nshape=(2,3)",
 * "\nfloat32") to buf (NUL-terminated, cap bytes). For e-node labels and the like. */
void sb_viz_attrs_text(sb_op op, const sb_attrs *a, char *buf, size_t cap);

/* Numbers of nodes and edges drawn (markers and notes included), and whether it was cut. */
int sb_drawing_node_count(const sb_drawing *dr);
int sb_drawing_edge_count(const sb_drawing *dr);
bool sb_drawing_cut(const sb_drawing *dr);

/* The drawing as DOT text (no layout: structure only). Returns a malloc'd string. */
char *sb_drawing_dot(sb_drawing *dr);
/* Lay out with dot and render to format ("svg", "png", "pdf", "dot" with positions, ...).
 * Returns a malloc'd buffer (NUL-terminated; *len bytes without the NUL) or NULL with d filled
 * (an unknown format is SB_ERR_UNSUPPORTED). */
char *sb_drawing_render(sb_drawing *dr, const char *format, size_t *len, sb_diag *d);
/* Write the drawing to path; format NULL = from the extension (.dot .gv .svg .png .pdf). */
sb_status sb_drawing_write(sb_drawing *dr, const char *path, const char *format, sb_diag *d);
void sb_drawing_free(sb_drawing *dr);
/* Whether Graphviz here can render format (its plugins are installed). */
bool sb_viz_format_available(const char *format);

/* ---- HTML report of a run (viz/report.c) -------------------------------------------------- */

typedef struct sb_report sb_report;

sb_report *sb_report_new(const char *title);
void sb_report_free(sb_report *r);
/* One pipeline stage: pass name, seconds it took, node counts before and after, and its drawing
 * as SVG text (copied; an XML prolog is dropped; NULL = no picture, e.g. "(unchanged)"). */
void sb_report_add_stage(sb_report *r, const char *pass, double seconds, int nodes_before,
                         int nodes_after, const char *svg);
/* Same, rendering g (sb_viz_graph with default options) to SVG for the picture. */
void sb_report_add_stage_graph(sb_report *r, const char *pass, double seconds, int nodes_before,
                               const sb_graph *g);
/* One row of the rule table (per rule: matches found, rewrites applied, seconds spent; NAN =
 * not known). */
void sb_report_add_rule(sb_report *r, const char *rule, long matches, long applied,
                        double seconds);
/* Rows of the rule table from a trace file (docs/trace.md): each rule's matches and applied
 * counts summed over the `iteration` records (seconds are not in the trace: shown as "-").
 * A line that is not a JSON object is SB_ERR_SYNTAX at path:line. */
sb_status sb_report_add_trace(sb_report *r, const char *path, sb_diag *d);
/* Extraction cost before and after optimization. */
void sb_report_set_cost(sb_report *r, double before, double after);
/* One output in the summary: name and value (shape, dtype, min/mean/max, first values). */
void sb_report_add_output(sb_report *r, const char *name, const sb_array *value);
/* One point of the loss curve (training runs); drawn as an inline SVG polyline. */
void sb_report_add_loss(sb_report *r, double step, double loss);
/* The profile section (symbench run --profile): totals, the per-op-type table and the top
 * `top` nodes (0 = all) of s, rendered now (s may be freed after); NULL removes it. */
void sb_report_set_profile(sb_report *r, const sb_profile_summary *s, int top);
/* Write the self-contained HTML file (no scripts, no external resources). */
sb_status sb_report_write(const sb_report *r, const char *path, sb_diag *d);
/* The HTML text itself (malloc'd), for tests and for callers that write elsewhere. */
char *sb_report_html(const sb_report *r);

#endif
