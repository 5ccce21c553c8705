/* unionfind.c: the union-find over e-class ids (egg's UnionFind) and the id vector. */
#include "egraph.h"

void sb_idvec_push(sb_idvec *v, sb_id x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 4;
        v->v = sb_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = x;
}

void sb_idvec_free(sb_idvec *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

/* A new singleton set; its id is the next integer. */
sb_id sb_uf_make(sb_uf *uf)
{
    if (uf->n == uf->cap) {
        uf->cap = uf->cap ? 2 * uf->cap : 64;
        uf->parent = sb_xrealloc(uf->parent, uf->cap * sizeof *uf->parent);
    }
    uf->parent[uf->n] = uf->n;
    return uf->n++;
}

/* The canonical id of x's set, halving the path on the way. */
sb_id sb_uf_find(sb_uf *uf, sb_id x)
{
    SB_ASSERT(x < uf->n);
    while (uf->parent[x] != x) {
        uf->parent[x] = uf->parent[uf->parent[x]];
        x = uf->parent[x];
    }
    return x;
}

/* Make root the parent of other (both must be canonical). */
sb_id sb_uf_union(sb_uf *uf, sb_id root, sb_id other)
{
    SB_ASSERT(uf->parent[root] == root && uf->parent[other] == other);
    uf->parent[other] = root;
    return root;
}

void sb_uf_free(sb_uf *uf)
{
    free(uf->parent);
    memset(uf, 0, sizeof *uf);
}
