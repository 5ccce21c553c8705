/* plan_draw.c: a graph drawn as a backend's plan runs it (the final "NN-plan" stage of
 * `symbench run`, `symbench viz --stage plan`).
 *
 * The drawing is the usual graph drawing (graph_draw.c) fed with the plan's description
 * (backends/describe.c): the nodes one step computes together (a fused elementwise group, a
 * fused reduction, a GEMM with its bias / scale / accumulation) sit in a cluster
 * "cluster_k<k>"; a step that writes its result over a value's memory gets "(inplace)" and the
 * edge by which that value enters the step (into the step's node itself when it reads it,
 * else into the member that does) is drawn red, bold, "destroyed"; views get a dashed border.
 * A step computing a single node gets no cluster. */
#include "viz-impl.h"
#include "backends/backend.h"

typedef struct plan_view {
    const sb_be_plan_desc *pd;
} plan_view;

static int plan_kernel_of(const sb_node *n, void *user)
{
    const sb_be_plan_desc *pd = ((const plan_view *)user)->pd;
    uint32_t id = sb_node_id(n);
    if ((int)id >= pd->n) return 0;
    int k = pd->kernel[id];
    return k > 0 && pd->size[k] > 1 ? k : 0;
}

static unsigned plan_marks_of(const sb_node *n, void *user)
{
    const sb_be_plan_desc *pd = ((const plan_view *)user)->pd;
    uint32_t id = sb_node_id(n);
    if ((int)id >= pd->n) return 0;
    return pd->marks[id] & SB_BE_MARK_VIEW ? SB_VIZ_MARK_VIEW : 0; /* in place: mark_inplace */
}

/* The drawn edge by which value w enters the step that computes x: from w into x, else into
 * another member of x's kernel. NULL when none is drawn. */
static Agedge_t *entry_edge(sb_drawing *dr, const sb_be_plan_desc *pd, sb_node *const *order,
                            int n, const sb_node *x, uint32_t w)
{
    char from[24], to[24];
    snprintf(from, sizeof from, "n%u", w);
    Agnode_t *a = agnode(dr->g, from, 0);
    if (!a) return NULL;
    int k = pd->kernel[sb_node_id(x)];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const sb_node *m = order[i];
            uint32_t id = sb_node_id(m);
            if (pass == 0 ? m != x : (k == 0 || (int)id >= pd->n || pd->kernel[id] != k)) continue;
            bool reads = false;
            for (int j = 0; j < sb_node_nin(m) && !reads; j++) reads = sb_node_id(sb_node_in(m, j)) == w;
            snprintf(to, sizeof to, "n%u", id);
            Agnode_t *b = reads ? agnode(dr->g, to, 0) : NULL;
            Agedge_t *e = b ? agedge(dr->g, a, b, NULL, 0) : NULL;
            if (e) return e;
        }
    return NULL;
}

/* Each cluster's label says what its step is: "kernel 3: gemm, 2 nodes", "kernel 1: fused, 4
 * nodes". */
static void label_clusters(sb_drawing *dr, const sb_be_plan_desc *pd)
{
    for (int k = 1; k <= pd->nkernels; k++) {
        char name[32], label[64];
        snprintf(name, sizeof name, "cluster_k%d", k);
        Agraph_t *sub = pd->size[k] > 1 ? agsubg(dr->g, name, 0) : NULL;
        if (!sub) continue;
        unsigned m = 0;
        for (int i = 0; i < pd->n; i++)
            if (pd->kernel[i] == k) m |= pd->marks[i];
        snprintf(label, sizeof label, "kernel %d: %s, %d nodes", k,
                 m & SB_BE_MARK_GEMM ? "gemm" : m & SB_BE_MARK_FUSED ? "fused" : "step", pd->size[k]);
        sb_viz_set(sub, "label", label);
    }
}

/* "(inplace)" on every drawn node whose step writes over a value, and its "destroyed" edge. */
static void mark_inplace(sb_drawing *dr, const sb_graph *g, const sb_be_plan_desc *pd)
{
    sb_node **order = NULL;
    int n = sb_graph_toposort(g, &order);
    for (int i = 0; i < n; i++) {
        uint32_t id = sb_node_id(order[i]);
        char name[24];
        snprintf(name, sizeof name, "n%u", id);
        Agnode_t *v = (int)id < pd->n && (pd->marks[id] & SB_BE_MARK_INPLACE) ? agnode(dr->g, name, 0) : NULL;
        if (!v) continue;
        char *label = sb_xasprintf("%s\n(inplace)", agget(v, "label"));
        sb_viz_set(v, "label", label);
        free(label);
        Agedge_t *e = pd->over[id] ? entry_edge(dr, pd, order, n, order[i], pd->over[id] - 1) : NULL;
        if (!e) continue;
        sb_viz_set(e, "color", "#e31a1c");
        sb_viz_set(e, "penwidth", "2.5");
        sb_viz_set(e, "xlabel", "destroyed");
        sb_viz_set(e, "fontcolor", "#e31a1c");
    }
    free(order);
}

int sb_viz_plan_clusters(const sb_be_plan_desc *pd)
{
    int n = 0;
    for (int k = 1; k <= pd->nkernels; k++) n += pd->size[k] > 1;
    return n;
}

sb_drawing *sb_viz_plan(const sb_graph *g, const sb_be_plan_desc *pd, const sb_viz_opts *o)
{
    plan_view pv = {pd};
    sb_viz_opts po = o ? *o : (sb_viz_opts){0};
    po.kernel_of = plan_kernel_of;
    po.marks_of = plan_marks_of;
    po.user = &pv;
    char *title = NULL;
    if (!po.title || !*po.title)
        po.title = title = sb_xasprintf("compiled plan: %d kernels (%d fused, %d gemm), %d in place",
                                        sb_viz_plan_clusters(pd), pd->nfused, pd->ngemm,
                                        pd->ninplace);
    sb_drawing *dr = sb_viz_graph(g, &po);
    label_clusters(dr, pd);
    mark_inplace(dr, g, pd);
    free(title);
    return dr;
}
