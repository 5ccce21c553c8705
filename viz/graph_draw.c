/* graph_draw.c: drawings of an sb_graph (Theano's pydotprint, improved) and of the difference
 * between two stages of a pipeline.
 *
 * Nodes are collected breadth-first from the graph's outputs and updates (then lets, inputs and
 * shared variables), so a drawing cut at max_nodes keeps the part nearest the results; every edge
 * that would come from a left-out node comes from the cut note instead. DOT names are
 * "n<sb_node_id>": the same term has the same name in every stage. */
#include "viz-impl.h"

/* Fill colours of op families (ColorBrewer Set3) and of the leaf kinds. */
static const char *family_fill[SB_FAM_COUNT] = {
    [SB_FAM_SOURCE] = "#d9d9d9", [SB_FAM_ELEMWISE] = "#ffffb3", [SB_FAM_REDUCE] = "#fdb462",
    [SB_FAM_BLAS] = "#fb8072",   [SB_FAM_SHAPE] = "#80b1d3",    [SB_FAM_INDEX] = "#bebada",
    [SB_FAM_NNET] = "#b3de69",   [SB_FAM_CONTROL] = "#fccde5",
};
#define FILL_INPUT "#a6d96a"
#define FILL_SHARED "#8dd3c7"
#define FILL_CONST "#f0f0f0"
#define FILL_OUTPUT "#fdae61"
#define FILL_UPDATE "#c2a5cf"
#define COLOR_ADDED "#e31a1c"

/* Reachable nodes in breadth-first order from the graph's roles; mark[id] = 1 for each. */
typedef struct walk {
    sb_node **v;
    int n, cap;
    uint8_t *mark;
    size_t nmark;
} walk;

static void walk_push(walk *w, sb_node *x)
{
    uint32_t id = sb_node_id(x);
    SB_ASSERT(id < w->nmark);
    if (w->mark[id]) return;
    w->mark[id] = 1;
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->v = sb_xrealloc(w->v, sizeof *w->v * (size_t)w->cap);
    }
    w->v[w->n++] = x;
}

static void walk_graph(const sb_graph *g, walk *w)
{
    w->nmark = sb_ctx_node_count(sb_graph_ctx(g));
    w->mark = sb_xcalloc(w->nmark ? w->nmark : 1, 1);
    static const sb_graph_role order[] = {SB_ROLE_OUTPUT, SB_ROLE_UPDATE, SB_ROLE_LET,
                                          SB_ROLE_INPUT, SB_ROLE_SHARED};
    for (int head = 0, r = 0; r < 5; r++) {
        for (int i = 0; i < sb_graph_count(g, order[r]); i++)
            walk_push(w, sb_graph_node(g, order[r], i));
        for (; head < w->n; head++) /* breadth-first below what is queued so far */
            for (int k = 0; k < sb_node_nin(w->v[head]); k++) walk_push(w, sb_node_in(w->v[head], k));
    }
}

static void walk_free(walk *w)
{
    free(w->v);
    free(w->mark);
}

/* Attributes worth showing under an op name (see viz.h), appended to buf. */
void sb_viz_attrs_text(sb_op op, const sb_attrs *a, char *buf, size_t cap)
{
    size_t k = strlen(buf);
    if (!a) return;
    unsigned fl = sb_op_get(op)->flags;
    bool axes = a->naxis > 0 && (fl & SB_F_REDUCE || op == SB_OP_TRANSPOSE || op == SB_OP_SOFTMAX ||
                                 op == SB_OP_LOG_SOFTMAX || op == SB_OP_CONCATENATE ||
                                 op == SB_OP_STACK || op == SB_OP_ARGMAX || op == SB_OP_ARGMIN);
    if (axes) {
        k += (size_t)snprintf(buf + k, cap - k, "\naxis=");
        for (int i = 0; i < a->naxis && k < cap; i++)
            k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)a->axis[i]);
    }
    if (a->nshape > 0 && k < cap) {
        k += (size_t)snprintf(buf + k, cap - k, "\nshape=(");
        for (int i = 0; i < a->nshape && k < cap; i++)
            k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)a->shape[i]);
        if (k < cap) k += (size_t)snprintf(buf + k, cap - k, ")");
    }
    if (a->dtype >= 0 && a->dtype < SB_DTYPE_COUNT && k < cap)
        snprintf(buf + k, cap - k, "\n%s", sb_dtype_name((sb_dtype)a->dtype));
}

/* The label of a constant: its value when small, else its type. */
static void const_text(const sb_node *n, char *buf, size_t cap)
{
    const sb_array *v = sb_node_value(n);
    char t[96];
    if (!v || sb_array_numel(v) > 4) {
        snprintf(buf, cap, "const\n%s", sb_type_str(sb_node_type(n), t, sizeof t));
        return;
    }
    size_t k = 0;
    int64_t m = sb_array_numel(v);
    if (v->ndim) k += (size_t)snprintf(buf, cap, "[");
    for (int64_t i = 0; i < m && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %g" : "%g", sb_array_get_f64(v, i));
    if (v->ndim && k < cap) snprintf(buf + k, cap - k, "]");
}

Agnode_t *sb_viz_term_node(sb_drawing *dr, Agraph_t *where, const char *name, const sb_node *x)
{
    char label[320], type[96], tip[160];
    sb_type_str(sb_node_type(x), type, sizeof type);
    sb_op op = sb_node_op(x);
    const sb_op_info *info = sb_op_get(op);
    snprintf(tip, sizeof tip, "#%u %s : %s", sb_node_id(x), info->name, type);
    Agnode_t *n;
    if (op == SB_OP_INPUT || op == SB_OP_SHARED) {
        snprintf(label, sizeof label, "%s\n%s", sb_node_name(x), type);
        n = op == SB_OP_INPUT ? sb_viz_node_in(dr, where, name, label, "ellipse", FILL_INPUT, NULL)
                              : sb_viz_node_in(dr, where, name, label, "cylinder", FILL_SHARED, NULL);
    } else if (op == SB_OP_CONST) {
        const_text(x, label, sizeof label);
        n = sb_viz_node_in(dr, where, name, label, "box", FILL_CONST, "rounded");
    } else if (op == SB_OP_PVAR) {
        snprintf(label, sizeof label, "?%s", sb_node_name(x) ? sb_node_name(x) : "");
        n = sb_viz_node_in(dr, where, name, label, "diamond", "#ffffff", NULL);
    } else {
        snprintf(label, sizeof label, "%s", info->name);
        sb_viz_attrs_text(op, sb_node_attrs(x), label, sizeof label);
        n = sb_viz_node_in(dr, where, name, label, "box", family_fill[info->family], NULL);
    }
    sb_viz_set(n, "tooltip", tip);
    return n;
}

/* Draw the edges into x (from its inputs, or from the cut note for left-out inputs). */
static void draw_in_edges(sb_drawing *dr, const sb_node *x, const uint8_t *kept, Agnode_t *note,
                          bool labels)
{
    char name[24], label[128], type[96];
    snprintf(name, sizeof name, "n%u", sb_node_id(x));
    Agnode_t *to = agnode(dr->g, name, 0);
    bool numbered = sb_node_nin(x) > 1 && !(sb_op_get(sb_node_op(x))->flags & SB_F_COMM);
    for (int i = 0; i < sb_node_nin(x); i++) {
        const sb_node *in = sb_node_in(x, i);
        if (!kept[sb_node_id(in)]) {
            sb_viz_set(sb_viz_edge(dr, note, to, NULL), "style", "dashed");
            continue;
        }
        snprintf(name, sizeof name, "n%u", sb_node_id(in));
        sb_type_str(sb_node_type(in), type, sizeof type);
        if (numbered) snprintf(label, sizeof label, "%d: %s", i, type);
        else snprintf(label, sizeof label, "%s", type);
        sb_viz_edge(dr, agnode(dr->g, name, 0), to, labels ? label : NULL);
    }
}

/* Output and update markers: an output is an orange node fed by its expression; an update is a
 * purple node fed by the new value with a dashed arrow to the shared variable it writes. */
static void draw_markers(sb_drawing *dr, const sb_graph *g, const uint8_t *kept)
{
    char name[32], target[24];
    for (int r = 0; r < 2; r++) {
        sb_graph_role role = r ? SB_ROLE_UPDATE : SB_ROLE_OUTPUT;
        for (int i = 0; i < sb_graph_count(g, role); i++) {
            const sb_node *x = sb_graph_node(g, role, i);
            if (!kept[sb_node_id(x)]) continue;
            snprintf(name, sizeof name, r ? "update_%d" : "output_%d", i);
            Agnode_t *m = sb_viz_node(dr, name, sb_graph_name(g, role, i), r ? "house" : "invhouse",
                                      r ? FILL_UPDATE : FILL_OUTPUT, "bold");
            snprintf(target, sizeof target, "n%u", sb_node_id(x));
            sb_viz_edge(dr, agnode(dr->g, target, 0), m, NULL);
            sb_node *sh = r ? sb_graph_find(g, SB_ROLE_SHARED, sb_graph_name(g, role, i)) : NULL;
            if (sh && kept[sb_node_id(sh)]) {
                snprintf(target, sizeof target, "n%u", sb_node_id(sh));
                Agedge_t *e = sb_viz_edge(dr, m, agnode(dr->g, target, 0), NULL);
                sb_viz_set(e, "style", "dashed");
                sb_viz_set(e, "constraint", "false");
                sb_viz_set(e, "color", "#762a83");
            }
        }
    }
}

/* Where node x goes: the cluster of its fused kernel (created on first use), or the graph. */
static Agraph_t *kernel_cluster(sb_drawing *dr, const sb_node *x, const sb_viz_opts *o)
{
    int k = o && o->kernel_of ? o->kernel_of(x, o->user) : 0;
    if (k <= 0) return dr->g;
    char name[32], label[32];
    snprintf(name, sizeof name, "cluster_k%d", k);
    Agraph_t *sub = agsubg(dr->g, name, 0);
    if (sub) return sub;
    sub = agsubg(dr->g, name, 1);
    snprintf(label, sizeof label, "kernel %d", k);
    sb_viz_set(sub, "label", label);
    sb_viz_set(sub, "style", "filled,rounded");
    sb_viz_set(sub, "fillcolor", "#f7f7f7");
    sb_viz_set(sub, "color", "#4d4d4d");
    return sub;
}

/* Inplace and view marks of node x (SB_VIZ_MARK_*). */
static void draw_marks(sb_drawing *dr, const sb_node *x, unsigned marks, const uint8_t *kept)
{
    if (!marks) return;
    char name[24], from[24];
    snprintf(name, sizeof name, "n%u", sb_node_id(x));
    Agnode_t *n = agnode(dr->g, name, 0);
    char *label = sb_xasprintf("%s%s%s", agget(n, "label"), marks & SB_VIZ_MARK_INPLACE ? "\n(inplace)" : "",
                               marks & SB_VIZ_MARK_VIEW ? "\n(view)" : "");
    sb_viz_set(n, "label", label);
    free(label);
    if (marks & SB_VIZ_MARK_VIEW) sb_viz_set(n, "style", "filled,dashed");
    if (!(marks & SB_VIZ_MARK_INPLACE) || sb_node_nin(x) == 0 || !kept[sb_node_id(sb_node_in(x, 0))]) return;
    snprintf(from, sizeof from, "n%u", sb_node_id(sb_node_in(x, 0)));
    Agedge_t *e = agedge(dr->g, agnode(dr->g, from, 0), n, NULL, 0); /* the first such edge */
    if (!e) return;
    sb_viz_set(e, "color", "#e31a1c");
    sb_viz_set(e, "penwidth", "2.5");
    sb_viz_set(e, "xlabel", "destroyed");
    sb_viz_set(e, "fontcolor", "#e31a1c");
}

/* Draw the walked nodes of g (the first max of them) with edges, markers and a cut note.
 * kept[] receives the drawn nodes (size w->nmark). */
static sb_drawing *draw_walk(const sb_graph *g, const walk *w, const sb_viz_opts *o, uint8_t *kept)
{
    int max = o && o->max_nodes > 0 ? o->max_nodes : SB_VIZ_DEFAULT_MAX_NODES;
    int nk = w->n < max ? w->n : max;
    int el = o ? o->edge_labels : 0;
    bool labels = el > 0 || (el == 0 && nk <= SB_VIZ_LABEL_LIMIT);
    sb_drawing *dr = sb_viz_new(o ? o->title : NULL);
    Agnode_t *note = NULL;
    if (nk < w->n) {
        char text[160];
        snprintf(text, sizeof text, "graph cut: %d of %d nodes drawn\n%d nodes left out\n(dashed arrows come from them)",
                 nk, w->n, w->n - nk);
        note = sb_viz_cut_note(dr, text);
    }
    for (int i = nk - 1; i >= 0; i--) { /* inputs first: dot keeps creation order in ranks */
        char name[24];
        snprintf(name, sizeof name, "n%u", sb_node_id(w->v[i]));
        kept[sb_node_id(w->v[i])] = 1;
        sb_viz_term_node(dr, kernel_cluster(dr, w->v[i], o), name, w->v[i]);
    }
    for (int i = nk - 1; i >= 0; i--) draw_in_edges(dr, w->v[i], kept, note, labels);
    if (o && o->marks_of)
        for (int i = 0; i < nk; i++) draw_marks(dr, w->v[i], o->marks_of(w->v[i], o->user), kept);
    draw_markers(dr, g, kept);
    return dr;
}

sb_drawing *sb_viz_graph(const sb_graph *g, const sb_viz_opts *o)
{
    walk w = {0};
    walk_graph(g, &w);
    uint8_t *kept = sb_xcalloc(w.nmark ? w.nmark : 1, 1);
    sb_drawing *dr = draw_walk(g, &w, o, kept);
    free(kept);
    walk_free(&w);
    return dr;
}

/* Highlight the nodes of the drawing that `before` lacks, with their provenance. */
static int mark_added(sb_drawing *dr, const walk *after, const uint8_t *kept, const walk *before,
                      sb_viz_prov_fn prov, void *user)
{
    int added = 0;
    for (int i = 0; i < after->n; i++) {
        const sb_node *x = after->v[i];
        uint32_t id = sb_node_id(x);
        if ((id < before->nmark && before->mark[id])) continue;
        added++;
        if (!kept[id]) continue;
        char name[24];
        snprintf(name, sizeof name, "n%u", id);
        Agnode_t *n = agnode(dr->g, name, 0);
        sb_viz_set(n, "color", COLOR_ADDED);
        sb_viz_set(n, "penwidth", "3");
        const char *p = prov ? prov(x, user) : NULL;
        if (p && *p) {
            char *label = sb_xasprintf("%s\n+ %s", agget(n, "label"), p);
            sb_viz_set(n, "label", label);
            free(label);
        }
    }
    return added;
}

/* The note listing nodes of `before` that `after` lacks (at most 25 named). */
static int note_removed(sb_drawing *dr, const walk *before, const walk *after)
{
    int removed = 0;
    size_t cap = 4096, k = 0;
    char *text = sb_xmalloc(cap);
    text[0] = 0;
    for (int i = 0; i < before->n; i++) {
        const sb_node *x = before->v[i];
        uint32_t id = sb_node_id(x);
        if (id < after->nmark && after->mark[id]) continue;
        if (removed++ < 25 && k < cap - 128) {
            const char *nm = sb_node_name(x);
            k += (size_t)snprintf(text + k, cap - k, "#%u %s%s%s\\l", id, sb_op_get(sb_node_op(x))->name,
                                  nm ? " " : "", nm ? nm : "");
        }
    }
    if (removed > 25) k += (size_t)snprintf(text + k, cap - k, "... and %d more\\l", removed - 25);
    if (removed) {
        char *label = sb_xasprintf("removed: %d node%s\\l%s", removed, removed == 1 ? "" : "s", text);
        Agnode_t *n = sb_viz_node(dr, "removed_note", label, "note", "#fee0d2", NULL);
        sb_viz_set(n, "color", COLOR_ADDED);
        free(label);
    }
    free(text);
    return removed;
}

sb_drawing *sb_viz_diff(const sb_graph *before, const sb_graph *after, sb_viz_prov_fn prov,
                        void *user, const sb_viz_opts *o)
{
    SB_ASSERT(sb_graph_ctx(before) == sb_graph_ctx(after));
    walk wb = {0}, wa = {0};
    walk_graph(before, &wb);
    walk_graph(after, &wa);
    uint8_t *kept = sb_xcalloc(wa.nmark ? wa.nmark : 1, 1);
    sb_drawing *dr = draw_walk(after, &wa, o, kept);
    dr->added = mark_added(dr, &wa, kept, &wb, prov, user);
    dr->removed = note_removed(dr, &wb, &wa);
    free(kept);
    walk_free(&wa);
    walk_free(&wb);
    return dr;
}
