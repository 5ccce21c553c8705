/* viz-impl.h: the body of sb_drawing and the helpers the drawing files share (not installed). */
#ifndef SB_VIZ_IMPL_H
#define SB_VIZ_IMPL_H

#include "viz.h"
#include "core-impl.h"

#include <graphviz/cgraph.h>

struct sb_drawing {
    Agraph_t *g;     /* the cgraph graph; nodes and edges carry their DOT attributes */
    bool cut;        /* some of the graph was left out (a note node says so) */
    int added, removed; /* sb_viz_diff's counts */
};

/* A new directed drawing with the house style (top-down, Helvetica, filled shapes) and an
 * optional title. */
sb_drawing *sb_viz_new(const char *title);
/* A node named `name` (unique in the drawing) with a label, shape and fill colour; style may add
 * to "filled" (e.g. "rounded", "bold", "dashed"); NULL fields keep the defaults. */
Agnode_t *sb_viz_node(sb_drawing *dr, const char *name, const char *label, const char *shape,
                      const char *fill, const char *style);
/* The same, created inside subgraph `where` (a cluster) of the drawing. */
Agnode_t *sb_viz_node_in(sb_drawing *dr, Agraph_t *where, const char *name, const char *label,
                         const char *shape, const char *fill, const char *style);
/* Draw term node x as node `name` of `where` with its kind's shape, colour and label (the graph
 * drawing's legend: docs/viz.md). */
Agnode_t *sb_viz_term_node(sb_drawing *dr, Agraph_t *where, const char *name, const sb_node *x);
/* An edge a -> b with an optional label (NULL = none); returns it for more attributes. */
Agedge_t *sb_viz_edge(sb_drawing *dr, Agnode_t *a, Agnode_t *b, const char *label);
/* Set an attribute on a node / edge / the graph (declared on first use, default ""). */
void sb_viz_set(void *obj, const char *attr, const char *value);
/* The yellow note node that says what was left out of a cut drawing. */
Agnode_t *sb_viz_cut_note(sb_drawing *dr, const char *text);
/* Escape text for an HTML report or an SVG tooltip (&, <, >, "); malloc'd. */
char *sb_viz_html_escape(const char *s);

#endif
