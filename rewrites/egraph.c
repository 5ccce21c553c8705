/* egraph.c: e-nodes, e-classes, the hashcons, union and deferred rebuilding (egg's EGraph).
 *
 * Invariants after sb_eg_rebuild: every live e-node (in the memo) has canonical children and
 * is the only live e-node of its form; every class's `nodes` lists exactly its live e-nodes;
 * congruent e-nodes are in one class; analyses are up to date. */
#define _GNU_SOURCE /* qsort_r */
#include "egraph.h"

#define MEMO_EMPTY 0u
#define MEMO_TOMB UINT32_MAX

/* ---- hashing ----------------------------------------------------------------------------- */
static uint64_t enode_hash(uint16_t op, uint32_t attr, int nin, const sb_id *kids,
                           const sb_node *leaf)
{
    uint64_t h = (uint64_t)op * 0x9E3779B97F4A7C15ull ^ ((uint64_t)attr << 17) ^ (uint64_t)nin;
    for (int i = 0; i < nin; i++) h = (h ^ kids[i]) * 0x100000001B3ull + (h >> 29);
    if (leaf) h ^= (uint64_t)(uintptr_t)leaf * 0xff51afd7ed558ccdull;
    h ^= h >> 31;
    return h * 0x94D049BB133111EBull;
}

static bool enode_is(const sb_egraph *eg, sb_id n, uint16_t op, uint32_t attr, int nin,
                     const sb_id *kids, const sb_node *leaf, bool orig)
{
    const sb_enode *e = &eg->nodes[n];
    if (e->op != op || e->attr != attr || e->nin != nin || e->leaf != leaf) return false;
    const sb_id *k = eg->kids + e->kids + (orig ? e->nin : 0);
    return !memcmp(k, kids, sizeof(sb_id) * (size_t)nin);
}

/* ---- open-addressing tables of ids (memo and uncanonical memo) --------------------------- */
typedef struct table {
    uint32_t **slots, *cap, *used;
} table;

static void table_insert_raw(uint32_t *slots, uint32_t cap, uint64_t h, sb_id id)
{
    uint32_t j = (uint32_t)h & (cap - 1);
    while (slots[j] != MEMO_EMPTY && slots[j] != MEMO_TOMB) j = (j + 1) & (cap - 1);
    slots[j] = id + 1;
}

static uint64_t node_key_hash(const sb_egraph *eg, sb_id n, bool orig)
{
    const sb_enode *e = &eg->nodes[n];
    return enode_hash(e->op, e->attr, e->nin, eg->kids + e->kids + (orig ? e->nin : 0), e->leaf);
}

/* Grow (or clean tombstones from) a table so one more entry keeps the load under 1/2. */
static void table_reserve(sb_egraph *eg, uint32_t **slots, uint32_t *cap, uint32_t *used,
                          bool orig)
{
    if (2 * (*used + 1) <= *cap) return;
    uint32_t live = 0;
    for (uint32_t i = 0; i < *cap; i++) live += (*slots)[i] != MEMO_EMPTY && (*slots)[i] != MEMO_TOMB;
    uint32_t nc = *cap ? *cap : 1024;
    while (4 * (live + 1) > nc) nc *= 2;
    uint32_t *ns = sb_xcalloc(nc, sizeof *ns);
    for (uint32_t i = 0; i < *cap; i++) {
        uint32_t s = (*slots)[i];
        if (s != MEMO_EMPTY && s != MEMO_TOMB)
            table_insert_raw(ns, nc, node_key_hash(eg, s - 1, orig), s - 1);
    }
    free(*slots);
    *slots = ns;
    *cap = nc;
    *used = live;
}

static sb_id memo_get(const sb_egraph *eg, uint16_t op, uint32_t attr, int nin, const sb_id *kids,
                      const sb_node *leaf)
{
    if (!eg->memo_cap) return SB_ID_NONE;
    uint32_t cap = eg->memo_cap, j = (uint32_t)enode_hash(op, attr, nin, kids, leaf) & (cap - 1);
    for (; eg->memo[j] != MEMO_EMPTY; j = (j + 1) & (cap - 1))
        if (eg->memo[j] != MEMO_TOMB && enode_is(eg, eg->memo[j] - 1, op, attr, nin, kids, leaf, false))
            return eg->memo[j] - 1;
    return SB_ID_NONE;
}

static void memo_put(sb_egraph *eg, sb_id n)
{
    table_reserve(eg, &eg->memo, &eg->memo_cap, &eg->memo_used, false);
    table_insert_raw(eg->memo, eg->memo_cap, node_key_hash(eg, n, false), n);
    eg->memo_used++;
    eg->memo_live++;
    eg->live[n] = 1;
}

/* Remove n's entry (hashed by its current stored children). */
static void memo_remove(sb_egraph *eg, sb_id n)
{
    uint32_t cap = eg->memo_cap, j = (uint32_t)node_key_hash(eg, n, false) & (cap - 1);
    for (; eg->memo[j] != MEMO_EMPTY; j = (j + 1) & (cap - 1))
        if (eg->memo[j] == n + 1) {
            eg->memo[j] = MEMO_TOMB;
            eg->memo_live--;
            eg->live[n] = 0;
            return;
        }
    SB_ASSERT(!"live e-node missing from the hashcons");
}

static sb_id umemo_get(const sb_egraph *eg, uint16_t op, uint32_t attr, int nin,
                       const sb_id *kids, const sb_node *leaf)
{
    if (!eg->umemo_cap) return SB_ID_NONE;
    uint32_t cap = eg->umemo_cap, j = (uint32_t)enode_hash(op, attr, nin, kids, leaf) & (cap - 1);
    for (; eg->umemo[j] != MEMO_EMPTY; j = (j + 1) & (cap - 1))
        if (enode_is(eg, eg->umemo[j] - 1, op, attr, nin, kids, leaf, true)) return eg->umemo[j] - 1;
    return SB_ID_NONE;
}

static void umemo_put(sb_egraph *eg, sb_id n)
{
    table_reserve(eg, &eg->umemo, &eg->umemo_cap, &eg->umemo_used, true);
    table_insert_raw(eg->umemo, eg->umemo_cap, node_key_hash(eg, n, true), n);
    eg->umemo_used++;
}

/* ---- construction ------------------------------------------------------------------------ */
sb_egraph *sb_eg_new(sb_ctx *ctx)
{
    sb_egraph *eg = sb_xcalloc(1, sizeof *eg);
    eg->ctx = ctx;
    eg->fold = true;
    eg->clean = true;
    return eg;
}

void sb_eg_enable_explanations(sb_egraph *eg)
{
    SB_ASSERT(eg->nnodes == 0);
    eg->explain = true;
}

void sb_eg_free(sb_egraph *eg)
{
    if (!eg) return;
    for (uint32_t i = 0; i < eg->nnodes; i++) {
        sb_idvec_free(&eg->cls[i].nodes);
        sb_idvec_free(&eg->cls[i].parents);
        sb_array_free(eg->cls[i].val);
    }
    free(eg->nodes);
    free(eg->kids);
    free(eg->cls);
    free(eg->live);
    free(eg->memo);
    free(eg->umemo);
    free(eg->proof_parent);
    free(eg->proof_just);
    sb_uf_free(&eg->uf);
    sb_idvec_free(&eg->pending);
    sb_idvec_free(&eg->apending);
    free(eg);
}

/* A fresh id for an e-node with canonical children kids and original children okids. */
static sb_id new_id(sb_egraph *eg, uint16_t op, uint32_t attr, int nin, const sb_id *kids,
                    const sb_id *okids, sb_node *leaf)
{
    if (eg->nnodes == eg->capnodes) {
        uint32_t c = eg->capnodes = eg->capnodes ? 2 * eg->capnodes : 256;
        eg->nodes = sb_xrealloc(eg->nodes, c * sizeof *eg->nodes);
        eg->cls = sb_xrealloc(eg->cls, c * sizeof *eg->cls);
        eg->live = sb_xrealloc(eg->live, c);
        if (eg->explain) {
            eg->proof_parent = sb_xrealloc(eg->proof_parent, c * sizeof *eg->proof_parent);
            eg->proof_just = sb_xrealloc(eg->proof_just, c * sizeof *eg->proof_just);
        }
    }
    while (eg->nkids + 2 * (uint32_t)nin > eg->capkids) {
        eg->capkids = eg->capkids ? 2 * eg->capkids : 1024;
        eg->kids = sb_xrealloc(eg->kids, eg->capkids * sizeof *eg->kids);
    }
    sb_id id = sb_uf_make(&eg->uf);
    SB_ASSERT(id == eg->nnodes);
    eg->nnodes++;
    sb_enode *e = &eg->nodes[id];
    *e = (sb_enode){.op = op, .nin = (uint16_t)nin, .attr = attr, .kids = eg->nkids, .leaf = leaf};
    memcpy(eg->kids + eg->nkids, kids, sizeof(sb_id) * (size_t)nin);
    memcpy(eg->kids + eg->nkids + nin, okids, sizeof(sb_id) * (size_t)nin);
    eg->nkids += 2 * (uint32_t)nin;
    memset(&eg->cls[id], 0, sizeof eg->cls[id]);
    eg->live[id] = 0;
    if (eg->explain) {
        eg->proof_parent[id] = id;
        eg->proof_just[id] = (sb_just){0};
    }
    return id;
}

sb_id sb_eg_lookup(sb_egraph *eg, sb_op op, uint32_t attr, int nin, const sb_id *kids, sb_node *leaf)
{
    sb_id canon[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) canon[i] = sb_eg_find(eg, kids[i]);
    sb_id n = memo_get(eg, (uint16_t)op, attr, nin, canon, leaf);
    return n == SB_ID_NONE ? n : sb_eg_find(eg, n);
}

sb_id sb_eg_term_enode(sb_egraph *eg, const sb_node *n, sb_id *seen)
{
    if (seen[n->id] != SB_ID_NONE) return seen[n->id];
    bool leaf = sb_op_get((sb_op)n->op)->flags & SB_F_LEAF;
    int nin = leaf ? 0 : n->nin;
    sb_id kids[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) {
        sb_id k = sb_eg_term_enode(eg, n->in[i], seen);
        if (k == SB_ID_NONE) return SB_ID_NONE;
        kids[i] = sb_eg_find(eg, k);
    }
    return seen[n->id] = memo_get(eg, (uint16_t)n->op, leaf ? 0 : n->attr, nin, kids,
                                  leaf ? (sb_node *)n : NULL);
}

/* Add a new canonical e-node (not in the memo): make its class and analysis. */
static sb_id add_new(sb_egraph *eg, uint16_t op, uint32_t attr, int nin, const sb_id *canon,
                     const sb_id *okids, sb_node *leaf)
{
    sb_enode tmp = {.op = op, .nin = (uint16_t)nin, .attr = attr, .leaf = leaf};
    sb_eclass data = {0};
    if (!sb_eg_analysis_make(eg, &tmp, canon, &data)) return SB_ID_NONE;
    sb_id id = new_id(eg, op, attr, nin, canon, okids, leaf);
    eg->cls[id] = data;
    sb_idvec_push(&eg->cls[id].nodes, id);
    for (int i = 0; i < nin; i++) sb_idvec_push(&eg->cls[canon[i]].parents, id);
    memo_put(eg, id);
    if (eg->explain) umemo_put(eg, id);
    eg->nclasses++;
    if (eg->cls[id].val && op != SB_OP_CONST) sb_eg_analysis_modify(eg, id);
    return id;
}

sb_id sb_eg_add(sb_egraph *eg, sb_op op, uint32_t attr, int nin, const sb_id *kids, sb_node *leaf)
{
    sb_id canon[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) canon[i] = sb_eg_find(eg, kids[i]);
    if (eg->explain) {
        /* Every distinct original term gets its own id, united with its canonical twin. */
        sb_id u = umemo_get(eg, (uint16_t)op, attr, nin, kids, leaf);
        if (u != SB_ID_NONE) return u;
        sb_id m = memo_get(eg, (uint16_t)op, attr, nin, canon, leaf);
        if (m == SB_ID_NONE) return add_new(eg, (uint16_t)op, attr, nin, canon, kids, leaf);
        sb_id id = new_id(eg, (uint16_t)op, attr, nin, canon, kids, leaf);
        sb_uf_union(&eg->uf, sb_eg_find(eg, m), id);
        sb_eg_proof_union(eg, id, m, (sb_just){0});
        umemo_put(eg, id);
        return id;
    }
    sb_id m = memo_get(eg, (uint16_t)op, attr, nin, canon, leaf);
    if (m != SB_ID_NONE) return sb_eg_find(eg, m);
    return add_new(eg, (uint16_t)op, attr, nin, canon, canon, leaf);
}

static sb_id add_term_rec(sb_egraph *eg, const sb_node *n, sb_id *seen)
{
    if (seen[n->id] != SB_ID_NONE) return seen[n->id];
    sb_id id;
    SB_ASSERT(n->op != SB_OP_PVAR);
    if (sb_op_get((sb_op)n->op)->flags & SB_F_LEAF) {
        id = sb_eg_add(eg, (sb_op)n->op, 0, 0, NULL, (sb_node *)n);
    } else {
        sb_id kids[n->nin > 0 ? n->nin : 1];
        for (int i = 0; i < n->nin; i++) kids[i] = add_term_rec(eg, n->in[i], seen);
        id = sb_eg_add(eg, (sb_op)n->op, n->attr, n->nin, kids, NULL);
    }
    SB_ASSERT(id != SB_ID_NONE); /* a typed term's types are inferable again */
    return seen[n->id] = id;
}

sb_id sb_eg_add_term(sb_egraph *eg, const sb_node *n)
{
    size_t cnt = sb_ctx_node_count(eg->ctx);
    sb_id *seen = sb_xmalloc(sizeof(sb_id) * (cnt + 1));
    memset(seen, 0xff, sizeof(sb_id) * (cnt + 1));
    sb_id id = add_term_rec(eg, n, seen);
    free(seen);
    return id;
}

/* ---- union and rebuild ------------------------------------------------------------------- */
static void push_all(sb_idvec *dst, const sb_idvec *src)
{
    for (uint32_t i = 0; i < src->n; i++) sb_idvec_push(dst, src->v[i]);
}

void sb_eg_trace_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why); /* trace.c */

bool sb_eg_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why)
{
    sb_id ra = sb_eg_find(eg, a), rb = sb_eg_find(eg, b);
    if (ra == rb) return false;
    if (eg->explain) sb_eg_proof_union(eg, a, b, why);
    if (eg->trace) sb_eg_trace_union(eg, ra, rb, why);
    sb_eclass *ca = &eg->cls[ra], *cb = &eg->cls[rb];
    if (ca->parents.n + ca->nodes.n < cb->parents.n + cb->nodes.n) {
        sb_id t = ra; ra = rb; rb = t;
        sb_eclass *tc = ca; ca = cb; cb = tc;
    }
    if (!sb_eg_types_unify(&ca->type, &cb->type)) {
        char t1[128], t2[128];
        sb_panic(__FILE__, __LINE__, "e-classes %u and %u united with types %s and %s (rule %s)",
                 ra, rb, sb_type_str(&ca->type, t1, sizeof t1), sb_type_str(&cb->type, t2, sizeof t2),
                 why.rule ? why.rule : "congruence");
    }
    sb_uf_union(&eg->uf, ra, rb);
    push_all(&eg->pending, &cb->parents);
    bool had_val = ca->val != NULL;
    bool changed_a = sb_eg_analysis_merge(ca, cb);
    bool changed_b = cb->facts != ca->facts || (cb->val == NULL) != (ca->val == NULL) ||
                     !sb_type_eq(&cb->type, &ca->type);
    if (changed_a) push_all(&eg->apending, &ca->parents);
    if (changed_b) push_all(&eg->apending, &cb->parents);
    push_all(&ca->parents, &cb->parents);
    push_all(&ca->nodes, &cb->nodes);
    sb_idvec_free(&cb->parents);
    sb_idvec_free(&cb->nodes);
    sb_array_free(cb->val);
    cb->val = NULL;
    eg->nclasses--;
    eg->clean = false;
    if (!had_val && ca->val) sb_eg_analysis_modify(eg, ra);
    return true;
}

/* Re-canonicalize e-node p's children; a congruent twin means a union. */
static int repair_node(sb_egraph *eg, sb_id p)
{
    if (!eg->live[p]) return 0;
    memo_remove(eg, p);
    sb_enode *e = &eg->nodes[p];
    sb_id *k = eg->kids + e->kids;
    for (int i = 0; i < e->nin; i++) k[i] = sb_eg_find(eg, k[i]);
    sb_id q = memo_get(eg, e->op, e->attr, e->nin, k, e->leaf);
    if (q == SB_ID_NONE) {
        memo_put(eg, p);
        return 0;
    }
    return sb_eg_union(eg, q, p, (sb_just){0}) ? 1 : 0;
}

/* Re-make the analysis of e-node p and merge it into its class. */
static void repair_analysis(sb_egraph *eg, sb_id p)
{
    if (!eg->live[p]) return;
    sb_id c = sb_eg_find(eg, p);
    sb_eclass data = {0};
    sb_id *k = eg->kids + eg->nodes[p].kids;
    sb_id canon[eg->nodes[p].nin > 0 ? eg->nodes[p].nin : 1];
    for (int i = 0; i < eg->nodes[p].nin; i++) canon[i] = sb_eg_find(eg, k[i]);
    if (!sb_eg_analysis_make(eg, &eg->nodes[p], canon, &data)) return;
    bool had_val = eg->cls[c].val != NULL;
    if (sb_eg_types_unify(&eg->cls[c].type, &data.type) && sb_eg_analysis_merge(&eg->cls[c], &data)) {
        push_all(&eg->apending, &eg->cls[c].parents);
        if (!had_val && eg->cls[c].val) sb_eg_analysis_modify(eg, c);
    }
    sb_array_free(data.val);
}

static int cmp_id(const void *a, const void *b)
{
    sb_id x = *(const sb_id *)a, y = *(const sb_id *)b;
    return x < y ? -1 : x > y;
}

/* Order e-nodes by op, then id: BIND scans only its op's run of a class. */
static int cmp_enode(const void *a, const void *b, void *user)
{
    const sb_egraph *eg = user;
    sb_id x = *(const sb_id *)a, y = *(const sb_id *)b;
    int ox = eg->nodes[x].op, oy = eg->nodes[y].op;
    if (ox != oy) return ox < oy ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Keep only live, distinct ids in v (e-nodes of a class: ordered by op). */
static void vec_clean(sb_egraph *eg, sb_idvec *v, bool by_op)
{
    uint32_t m = 0;
    if (by_op)
        qsort_r(v->v, v->n, sizeof *v->v, cmp_enode, eg);
    else
        qsort(v->v, v->n, sizeof *v->v, cmp_id);
    for (uint32_t i = 0; i < v->n; i++)
        if (eg->live[v->v[i]] && (m == 0 || v->v[m - 1] != v->v[i])) v->v[m++] = v->v[i];
    v->n = m;
}

int sb_eg_rebuild(sb_egraph *eg)
{
    int unions = 0;
    while (eg->pending.n || eg->apending.n) {
        while (eg->pending.n) unions += repair_node(eg, eg->pending.v[--eg->pending.n]);
        while (eg->apending.n && !eg->pending.n) repair_analysis(eg, eg->apending.v[--eg->apending.n]);
    }
    for (uint32_t c = 0; c < eg->nnodes; c++) {
        if (sb_eg_find(eg, c) != c || !eg->cls[c].nodes.n) continue;
        vec_clean(eg, &eg->cls[c].nodes, true);
        vec_clean(eg, &eg->cls[c].parents, false);
    }
    eg->clean = true;
    return unions;
}

bool sb_eg_check(sb_egraph *eg)
{
    uint32_t classes = 0, nodes = 0;
    for (uint32_t c = 0; c < eg->nnodes; c++) {
        if (sb_eg_find(eg, c) != c || !eg->cls[c].nodes.n) continue;
        classes++;
        for (uint32_t i = 0; i < eg->cls[c].nodes.n; i++) {
            sb_id n = eg->cls[c].nodes.v[i];
            const sb_enode *e = &eg->nodes[n];
            if (!eg->live[n] || sb_eg_find(eg, n) != c) return false;
            for (int k = 0; k < e->nin; k++)
                if (sb_eg_find(eg, eg->kids[e->kids + k]) != eg->kids[e->kids + k]) return false;
            if (memo_get(eg, e->op, e->attr, e->nin, eg->kids + e->kids, e->leaf) != n) return false;
            nodes++;
        }
    }
    return classes == eg->nclasses && nodes == eg->memo_live;
}
