/* egraph_draw.c: drawings of e-graphs from a generic description (clusters of e-nodes whose
 * edges go to classes), in the style of egg's dot output: each e-class a dashed cluster, each
 * e-node a box inside it, each edge from an e-node to the first e-node of a child class clipped at
 * the child's cluster (compound=true, lhead). Extraction's choice is drawn gold and bold. */
#include "viz-impl.h"

#define FILL_ENODE "#ffffff"
#define FILL_CHOSEN "#ffd92f"

/* Position of class id in cls[0..n), or -1: (id, position) pairs sorted by id, bisected. */
typedef struct class_pair {
    uint32_t id;
    int pos;
} class_pair;

typedef struct class_index {
    class_pair *p;
    int n;
} class_index;

static int cmp_pair(const void *a, const void *b)
{
    uint32_t x = ((const class_pair *)a)->id, y = ((const class_pair *)b)->id;
    return x < y ? -1 : x > y;
}

static void index_build(class_index *ix, int n, const sb_viz_eclass *cls)
{
    ix->n = n;
    ix->p = sb_xmalloc(sizeof *ix->p * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) ix->p[i] = (class_pair){cls[i].id, i};
    qsort(ix->p, (size_t)n, sizeof *ix->p, cmp_pair);
}

static int index_find(const class_index *ix, uint32_t id)
{
    int lo = 0, hi = ix->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (ix->p[mid].id == id) return ix->p[mid].pos;
        if (ix->p[mid].id < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* How many classes fit under max e-nodes (whole classes; at least one). */
static int classes_kept(int nclass, const sb_viz_eclass *cls, int max, int *nodes_kept)
{
    int k = 0, total = 0;
    for (; k < nclass; k++) {
        if (k > 0 && total + cls[k].nnodes > max) break;
        total += cls[k].nnodes;
    }
    *nodes_kept = total;
    return k;
}

/* Draw class c as a cluster with its e-nodes. */
static void draw_class(sb_drawing *dr, const sb_viz_eclass *c)
{
    char name[48], label[256];
    snprintf(name, sizeof name, "cluster_c%u", c->id);
    Agraph_t *sub = agsubg(dr->g, name, 1);
    if (c->note) snprintf(label, sizeof label, "e-class %u\n%s", c->id, c->note);
    else snprintf(label, sizeof label, "e-class %u", c->id);
    sb_viz_set(sub, "label", label);
    sb_viz_set(sub, "style", "dashed,rounded");
    sb_viz_set(sub, "color", "#636363");
    sb_viz_set(sub, "fontsize", "9");
    for (int k = 0; k < c->nnodes; k++) {
        snprintf(name, sizeof name, "c%u_%d", c->id, k);
        Agnode_t *n = agnode(sub, name, 1);
        const sb_viz_enode *e = &c->nodes[k];
        sb_viz_set(n, "label", e->label ? e->label : "?");
        sb_viz_set(n, "shape", "box");
        sb_viz_set(n, "fillcolor", e->chosen ? FILL_CHOSEN : FILL_ENODE);
        if (e->chosen) {
            sb_viz_set(n, "style", "filled,bold");
            sb_viz_set(n, "penwidth", "2.5");
        }
    }
}

/* Edges of class c's e-nodes to their child classes (or to the cut note). */
static void draw_class_edges(sb_drawing *dr, const sb_viz_eclass *c, const sb_viz_eclass *cls,
                             const class_index *ix, int kept, Agnode_t **note)
{
    char from[48], to[48], lhead[48], num[16];
    for (int k = 0; k < c->nnodes; k++) {
        const sb_viz_enode *e = &c->nodes[k];
        snprintf(from, sizeof from, "c%u_%d", c->id, k);
        Agnode_t *a = agnode(dr->g, from, 0);
        for (int j = 0; j < e->nchild; j++) {
            int p = index_find(ix, e->child[j]);
            SB_ASSERT(p >= 0 && "e-node child is not a class of the e-graph");
            Agedge_t *ed;
            if (p >= kept || cls[p].nnodes == 0) {
                ed = sb_viz_edge(dr, a, *note, NULL);
                sb_viz_set(ed, "style", "dashed");
            } else {
                snprintf(to, sizeof to, "c%u_0", cls[p].id);
                snprintf(lhead, sizeof lhead, "cluster_c%u", cls[p].id);
                ed = sb_viz_edge(dr, a, agnode(dr->g, to, 0), NULL);
                if (cls[p].id != c->id) sb_viz_set(ed, "lhead", lhead);
            }
            if (e->nchild > 1) {
                snprintf(num, sizeof num, "%d", j);
                sb_viz_set(ed, "taillabel", num);
            }
            if (e->chosen) sb_viz_set(ed, "penwidth", "2");
        }
    }
}

sb_drawing *sb_viz_egraph(int nclass, const sb_viz_eclass *cls, const sb_viz_opts *o)
{
    int max = o && o->max_nodes > 0 ? o->max_nodes : SB_VIZ_DEFAULT_MAX_NODES;
    int total = 0, nodes_kept;
    for (int i = 0; i < nclass; i++) total += cls[i].nnodes;
    int kept = classes_kept(nclass, cls, max, &nodes_kept);
    sb_drawing *dr = sb_viz_new(o ? o->title : NULL);
    sb_viz_set(dr->g, "compound", "true");
    Agnode_t *note = NULL;
    if (kept < nclass) {
        char text[200];
        snprintf(text, sizeof text,
                 "e-graph cut: %d of %d e-classes drawn\n%d e-classes (%d e-nodes) left out\n"
                 "(dashed arrows go to them)", kept, nclass, nclass - kept, total - nodes_kept);
        note = sb_viz_cut_note(dr, text);
    }
    class_index ix;
    index_build(&ix, nclass, cls);
    for (int i = 0; i < kept; i++) draw_class(dr, &cls[i]);
    bool empty_child = false; /* a class without e-nodes has nothing to point at */
    for (int i = 0; i < kept; i++)
        for (int k = 0; k < cls[i].nnodes; k++)
            for (int j = 0; j < cls[i].nodes[k].nchild; j++) {
                int p = index_find(&ix, cls[i].nodes[k].child[j]);
                if (p >= 0 && p < kept && cls[p].nnodes == 0) empty_child = true;
            }
    if (empty_child && !note) {
        note = sb_viz_cut_note(dr, "some e-classes have no e-nodes");
        dr->cut = false; /* nothing was left out */
    }
    for (int i = 0; i < kept; i++) draw_class_edges(dr, &cls[i], cls, &ix, kept, &note);
    free(ix.p);
    return dr;
}
