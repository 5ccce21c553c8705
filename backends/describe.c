/* describe.c: what a backend's compiled plan makes of a graph (for drawings of the plan and for
 * the reports of the "fuse" and "inplace" passes, whose work the backend does when it compiles).
 *
 * The graph's outputs and update values are compiled as one program, as a compiled function
 * does (outputs first, then update values, each update then offered to update_inplace), and the
 * backend's describe() says for every node which multi-node step computes it and how (fused,
 * GEMM, in place, view). The counts summarize that per step. */
#include "backends/backend.h"
#include "core-impl.h"

void sb_be_plan_desc_free(sb_be_plan_desc *pd)
{
    if (!pd) return;
    free(pd->kernel);
    free(pd->marks);
    free(pd->over);
    free(pd->size);
    memset(pd, 0, sizeof *pd);
}

/* Offer every update value to be->update_inplace (refusals are fine: copied as before). */
static void offer_updates(const struct sb_backend_i *be, sb_be_program *prog, const sb_graph *g,
                          int nout)
{
    if (!be->update_inplace) return;
    for (int i = 0; i < sb_graph_count(g, SB_ROLE_UPDATE); i++) {
        sb_node *var = sb_graph_find(g, SB_ROLE_SHARED, sb_graph_name(g, SB_ROLE_UPDATE, i));
        sb_diag tmp = {0};
        if (var) be->update_inplace(prog, nout + i, var, &tmp);
    }
}

/* Counts of pd from its arrays: kernels and their sizes, fused groups, GEMMs, marks. */
static void count(sb_be_plan_desc *pd)
{
    for (int i = 0; i < pd->n; i++)
        if (pd->kernel[i] > pd->nkernels) pd->nkernels = pd->kernel[i];
    pd->size = sb_xcalloc((size_t)pd->nkernels + 1, sizeof *pd->size);
    uint8_t *fused = sb_xcalloc((size_t)pd->nkernels + 1, 1), *gemm = sb_xcalloc((size_t)pd->nkernels + 1, 1);
    for (int i = 0; i < pd->n; i++) {
        int k = pd->kernel[i];
        unsigned m = pd->marks[i];
        pd->size[k] += k > 0;
        if (k > 0 && (m & SB_BE_MARK_FUSED)) fused[k] = 1, pd->nfused_nodes++;
        if (k > 0 && (m & SB_BE_MARK_GEMM)) gemm[k] = 1;
        pd->ninplace += (m & SB_BE_MARK_INPLACE) != 0;
        pd->nviews += (m & SB_BE_MARK_VIEW) != 0;
    }
    for (int k = 1; k <= pd->nkernels; k++) pd->nfused += fused[k], pd->ngemm += gemm[k];
    free(fused);
    free(gemm);
}

sb_status sb_be_describe_graph(const struct sb_backend_i *be, const sb_graph *g,
                               sb_be_plan_desc *pd, sb_diag *d)
{
    memset(pd, 0, sizeof *pd);
    sb_ctx *ctx = sb_graph_ctx(g);
    int nout = sb_graph_count(g, SB_ROLE_OUTPUT), nupd = sb_graph_count(g, SB_ROLE_UPDATE);
    sb_node **nodes = sb_xcalloc((size_t)(nout + nupd) + 1, sizeof *nodes);
    for (int i = 0; i < nout; i++) nodes[i] = sb_graph_node(g, SB_ROLE_OUTPUT, i);
    for (int i = 0; i < nupd; i++) nodes[nout + i] = sb_graph_node(g, SB_ROLE_UPDATE, i);
    sb_be_program *prog = be->compile(ctx, nout + nupd, nodes, 0, d);
    free(nodes);
    if (!prog) return d && d->status ? d->status : SB_ERR_INTERNAL;
    offer_updates(be, prog, g, nout);
    pd->n = (int)sb_ctx_node_count(ctx);
    pd->kernel = sb_xcalloc((size_t)pd->n + 1, sizeof *pd->kernel);
    pd->marks = sb_xcalloc((size_t)pd->n + 1, sizeof *pd->marks);
    pd->over = sb_xcalloc((size_t)pd->n + 1, sizeof *pd->over);
    pd->described = be->describe != NULL;
    if (be->describe) be->describe(prog, pd->n, pd->kernel, pd->marks, pd->over);
    be->program_free(prog);
    count(pd);
    return SB_OK;
}
