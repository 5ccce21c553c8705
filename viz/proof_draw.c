/* proof_draw.c: a proof chain drawn as a column of expression trees, one cluster per step, each
 * step's new subterms in red and the rule that took one step to the next on the arrow between
 * their roots (the picture of `symbench explain`). */
#include "viz-impl.h"

#define COLOR_NEW "#e31a1c"

/* Nodes of term t (a DAG) in depth-first order, inputs before users. */
static int term_nodes(const sb_node *t, const sb_node ***out, int *cap, int n, uint8_t *seen)
{
    uint32_t id = sb_node_id(t);
    if (seen[id]) return n;
    seen[id] = 1;
    for (int i = 0; i < sb_node_nin(t); i++) n = term_nodes(sb_node_in(t, i), out, cap, n, seen);
    if (n == *cap) {
        *cap = *cap ? 2 * *cap : 32;
        *out = sb_xrealloc(*out, sizeof **out * (size_t)*cap);
    }
    (*out)[n++] = t;
    return n;
}

/* Draw step i's term into its cluster; prev[] marks the nodes of the step before (NULL for the
 * first). cur[] receives this step's nodes. */
static void draw_step(sb_drawing *dr, int i, const sb_node *term, const char *title,
                      const uint8_t *prev, uint8_t *cur)
{
    char name[48];
    snprintf(name, sizeof name, "cluster_step%d", i);
    Agraph_t *sub = agsubg(dr->g, name, 1);
    sb_viz_set(sub, "label", title);
    sb_viz_set(sub, "style", "rounded");
    sb_viz_set(sub, "color", "#999999");
    const sb_node **v = NULL;
    int cap = 0, n = term_nodes(term, &v, &cap, 0, cur);
    for (int k = 0; k < n; k++) {
        snprintf(name, sizeof name, "s%d_n%u", i, sb_node_id(v[k]));
        Agnode_t *a = sb_viz_term_node(dr, sub, name, v[k]);
        if (prev && !prev[sb_node_id(v[k])]) {
            sb_viz_set(a, "color", COLOR_NEW);
            sb_viz_set(a, "penwidth", "3");
        }
    }
    char from[48];
    for (int k = 0; k < n; k++)
        for (int j = 0; j < sb_node_nin(v[k]); j++) {
            snprintf(from, sizeof from, "s%d_n%u", i, sb_node_id(sb_node_in(v[k], j)));
            snprintf(name, sizeof name, "s%d_n%u", i, sb_node_id(v[k]));
            sb_viz_edge(dr, agnode(dr->g, from, 0), agnode(dr->g, name, 0), NULL);
        }
    free(v);
}

sb_drawing *sb_viz_proof(int n, sb_node *const *terms, const char *const *rules,
                         const bool *backward, const sb_viz_opts *o)
{
    sb_drawing *dr = sb_viz_new(o ? o->title : NULL);
    sb_viz_set(dr->g, "compound", "true");
    size_t nids = 0;
    /* a node's inputs exist before it (ids in creation order): the largest root id bounds every
     * id in the chain */
    for (int i = 0; i < n; i++) {
        size_t k = sb_node_id(terms[i]) + 1;
        nids = k > nids ? k : nids;
    }
    uint8_t *prev = sb_xcalloc(nids + 1, 1), *cur = sb_xcalloc(nids + 1, 1);
    for (int i = 0; i < n; i++) {
        char *title;
        if (i == 0 || !rules || !rules[i]) title = sb_xasprintf("%d. start", i);
        else title = sb_xasprintf("%d. %s%s", i, rules[i], backward && backward[i] ? " (backward)" : "");
        memset(cur, 0, nids + 1);
        draw_step(dr, i, terms[i], title, i ? prev : NULL, cur);
        free(title);
        uint8_t *t = prev;
        prev = cur, cur = t;
        if (i == 0) continue;
        char a[48], b[48], la[48], lb[48];
        snprintf(a, sizeof a, "s%d_n%u", i - 1, sb_node_id(terms[i - 1]));
        snprintf(b, sizeof b, "s%d_n%u", i, sb_node_id(terms[i]));
        snprintf(la, sizeof la, "cluster_step%d", i - 1);
        snprintf(lb, sizeof lb, "cluster_step%d", i);
        Agedge_t *e = sb_viz_edge(dr, agnode(dr->g, a, 0), agnode(dr->g, b, 0),
                                  rules && rules[i] ? rules[i] : "=");
        sb_viz_set(e, "ltail", la);
        sb_viz_set(e, "lhead", lb);
        sb_viz_set(e, "color", COLOR_NEW);
        sb_viz_set(e, "fontcolor", COLOR_NEW);
        sb_viz_set(e, "fontsize", "11");
        sb_viz_set(e, "penwidth", "2");
    }
    free(prev);
    free(cur);
    return dr;
}
