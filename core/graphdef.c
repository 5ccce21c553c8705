/* graphdef.c: a graph as users define it: named inputs, shared variables, let bindings, outputs
 * and updates over nodes of one context. */
#include "core-impl.h"

sb_graph *sb_graph_new(sb_ctx *ctx)
{
    sb_graph *g = sb_xcalloc(1, sizeof *g);
    g->ctx = ctx;
    return g;
}

void sb_graph_free(sb_graph *g)
{
    if (!g) return;
    for (int r = 0; r < SB_ROLE_COUNT; r++) {
        for (int i = 0; i < g->n[r]; i++) free(g->e[r][i].name);
        free(g->e[r]);
    }
    free(g);
}

sb_ctx *sb_graph_ctx(const sb_graph *g) { return g->ctx; }

void sb_graph_add(sb_graph *g, sb_graph_role role, const char *name, sb_node *n)
{
    SB_ASSERT(role < SB_ROLE_COUNT);
    if (g->n[role] == g->cap[role]) {
        g->cap[role] = g->cap[role] ? 2 * g->cap[role] : 8;
        g->e[role] = sb_xrealloc(g->e[role], (size_t)g->cap[role] * sizeof *g->e[role]);
    }
    g->e[role][g->n[role]++] = (sb_graph_entry){sb_xstrdup(name), n};
}

int sb_graph_count(const sb_graph *g, sb_graph_role role) { return g->n[role]; }

const char *sb_graph_name(const sb_graph *g, sb_graph_role role, int i)
{
    SB_ASSERT(i >= 0 && i < g->n[role]);
    return g->e[role][i].name;
}

sb_node *sb_graph_node(const sb_graph *g, sb_graph_role role, int i)
{
    SB_ASSERT(i >= 0 && i < g->n[role]);
    return g->e[role][i].node;
}

void sb_graph_set_node(sb_graph *g, sb_graph_role role, int i, sb_node *n)
{
    SB_ASSERT(i >= 0 && i < g->n[role]);
    g->e[role][i].node = n;
}

sb_node *sb_graph_find(const sb_graph *g, sb_graph_role role, const char *name)
{
    for (int i = 0; i < g->n[role]; i++)
        if (!strcmp(g->e[role][i].name, name)) return g->e[role][i].node;
    return NULL;
}

/* Iterative post-order DFS from every output and update root: inputs come before their users,
 * each node once. */
int sb_graph_toposort(const sb_graph *g, sb_node ***out)
{
    size_t nn = sb_ctx_node_count(g->ctx);
    unsigned char *mark = sb_xcalloc(nn ? nn : 1, 1); /* 0 new, 1 on stack, 2 done */
    sb_ptrvec order = {0}, stack = {0};
    static const sb_graph_role roots[] = {SB_ROLE_OUTPUT, SB_ROLE_UPDATE};
    for (size_t r = 0; r < 2; r++) {
        for (int i = 0; i < g->n[roots[r]]; i++) {
            sb_ptrvec_push(&stack, g->e[roots[r]][i].node);
            while (stack.n) {
                sb_node *n = stack.v[stack.n - 1];
                if (mark[n->id] == 2) {
                    stack.n--;
                    continue;
                }
                if (mark[n->id] == 0) {
                    mark[n->id] = 1;
                    for (int k = n->nin - 1; k >= 0; k--)
                        if (!mark[n->in[k]->id]) sb_ptrvec_push(&stack, n->in[k]);
                    continue;
                }
                mark[n->id] = 2;
                stack.n--;
                sb_ptrvec_push(&order, n);
            }
        }
    }
    free(mark);
    sb_ptrvec_free(&stack);
    *out = (sb_node **)order.v;
    return order.n;
}
