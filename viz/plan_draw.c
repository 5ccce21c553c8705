/* plan_draw.c: a graph drawn as a backend's plan runs it (the final "NN-plan" stage of
 * `symbench run`, `symbench viz --stage plan`).
 *
 * The drawing is the usual graph drawing (graph_draw.c) fed with the plan's description
 * (backends/describe.c): the nodes one step computes together (a fused elementwise group, a
 * fused reduction, a GEMM with its bias / scale / accumulation) sit in a cluster
 * "cluster_k<k>"; nodes written in place get a red "destroyed" edge from the input they
 * overwrite, views a dashed border. A step computing a single node gets no cluster. */
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
    unsigned m = pd->marks[id], v = 0;
    if (m & SB_BE_MARK_INPLACE) v |= SB_VIZ_MARK_INPLACE;
    if (m & SB_BE_MARK_VIEW) v |= SB_VIZ_MARK_VIEW;
    return v;
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
    free(title);
    return dr;
}
