/* egraph.h: the e-graph (internal), modelled on egg.
 *
 * An e-node is (op, attributes id, children e-class ids); leaves (inputs, shared variables,
 * constants) carry their sb_node. Every e-node gets an id when it is added; that id is also the
 * e-class it starts in, and the union-find maps ids to their class's canonical id. The hashcons
 * (memo) maps canonical e-nodes to ids. Unions are batched: sb_eg_rebuild restores congruence
 * closure and the analyses (egg's deferred rebuilding).
 *
 *     sb_egraph *eg = sb_eg_new(ctx);
 *     sb_id a = sb_eg_add_term(eg, sb_parse_expr(ctx, "x * 1", NULL, NULL, &d));
 *     sb_id b = sb_eg_add_term(eg, x);
 *     sb_eg_union(eg, a, b, sb_eg_just_rule("mul-one", NULL));
 *     sb_eg_rebuild(eg);
 *     sb_eg_free(eg);
 */
#ifndef SB_EGRAPH_H
#define SB_EGRAPH_H

#include "core-impl.h"

typedef uint32_t sb_id;
#define SB_ID_NONE UINT32_MAX

/* ---- growable id vector ------------------------------------------------------------------ */
typedef struct sb_idvec {
    sb_id *v;
    uint32_t n, cap;
} sb_idvec;
void sb_idvec_push(sb_idvec *v, sb_id x);
void sb_idvec_free(sb_idvec *v);

/* ---- union-find (unionfind.c) ------------------------------------------------------------ */
typedef struct sb_uf {
    sb_id *parent;
    uint32_t n, cap;
} sb_uf;
sb_id sb_uf_make(sb_uf *uf);
sb_id sb_uf_find(sb_uf *uf, sb_id x);           /* with path halving */
sb_id sb_uf_union(sb_uf *uf, sb_id root, sb_id other); /* both roots; returns root */
void sb_uf_free(sb_uf *uf);

/* ---- facts (analysis.c) ------------------------------------------------------------------ */
enum {
    SB_FACT_NONNEG = 1 << 0,
    SB_FACT_POS = 1 << 1,
    SB_FACT_NONZERO = 1 << 2,
    SB_FACT_INTEGER = 1 << 3,
};

typedef struct sb_enode {
    uint16_t op, nin;
    uint32_t attr;  /* attributes id in the e-graph's context */
    uint32_t kids;  /* offset in eg->kids: nin canonical ids, then nin original ids */
    sb_node *leaf;  /* INPUT / SHARED / CONST */
} sb_enode;

typedef struct sb_eclass {
    sb_idvec nodes;   /* e-node ids (canonical members) */
    sb_idvec parents; /* e-node ids that have this class as a child */
    sb_type type;     /* analysis: dtype + shape */
    sb_array *val;    /* analysis: constant value (small constants only), owned */
    unsigned facts;   /* analysis: SB_FACT_* */
} sb_eclass;

/* Why two ids were united (explanations). rule == NULL: congruence. */
typedef struct sb_just {
    const char *rule;  /* rule name (static or owned by the rule set), NULL = congruence */
    bool backward;     /* the rule was applied right to left */
} sb_just;

typedef struct sb_egraph {
    sb_ctx *ctx;
    sb_enode *nodes;
    uint32_t nnodes, capnodes;
    sb_id *kids;
    uint32_t nkids, capkids;
    sb_uf uf;
    sb_eclass *cls;           /* by id; meaningful for canonical ids */
    uint8_t *live;            /* by id: 1 = the e-node is in the memo */
    uint32_t nclasses;        /* live (canonical) classes */
    uint32_t *memo;           /* open addressing: id + 1; 0 empty; UINT32_MAX tombstone */
    uint32_t memo_cap, memo_used, memo_live;
    sb_idvec pending;         /* e-nodes to re-canonicalize */
    sb_idvec apending;        /* e-nodes whose analysis must be re-made */
    bool clean;               /* no unions since the last rebuild */
    bool fold;                /* constant folding in the analysis (default true) */
    /* explanations (optional) */
    bool explain;
    sb_id *proof_parent;      /* by id */
    sb_just *proof_just;      /* by id: why id is equal to proof_parent[id] */
    uint32_t *umemo;          /* uncanonical memo (exact original children) */
    uint32_t umemo_cap, umemo_used;
    FILE *trace;              /* union records (optional) */
    int iteration;            /* for trace records */
} sb_egraph;

sb_egraph *sb_eg_new(sb_ctx *ctx);
void sb_eg_free(sb_egraph *eg);
/* Keep the reasons for unions so sb_eg_explain works; call before adding anything. */
void sb_eg_enable_explanations(sb_egraph *eg);
static inline sb_id sb_eg_find(sb_egraph *eg, sb_id x) { return sb_uf_find(&eg->uf, x); }
static inline const sb_enode *sb_eg_node(const sb_egraph *eg, sb_id n) { return &eg->nodes[n]; }
static inline sb_id *sb_eg_kids(const sb_egraph *eg, sb_id n) { return eg->kids + eg->nodes[n].kids; }
static inline sb_id *sb_eg_okids(const sb_egraph *eg, sb_id n)
{
    return eg->kids + eg->nodes[n].kids + eg->nodes[n].nin;
}
static inline sb_eclass *sb_eg_class(sb_egraph *eg, sb_id c) { return &eg->cls[sb_eg_find(eg, c)]; }
/* Number of e-nodes in the hashcons (egg's total_size) and of live e-classes. */
static inline uint32_t sb_eg_enode_count(const sb_egraph *eg) { return eg->memo_live; }
static inline uint32_t sb_eg_class_count(const sb_egraph *eg) { return eg->nclasses; }

/* Add the e-node (op, attr, kids) or leaf; returns its class id (canonical), or SB_ID_NONE when
 * its type cannot be inferred from its children's (type error: nothing is added). */
sb_id sb_eg_add(sb_egraph *eg, sb_op op, uint32_t attr, int nin, const sb_id *kids, sb_node *leaf);
/* Add a whole term (a typed sb_node of eg->ctx); returns its id (not canonicalized when
 * explanations are on: the id stands for exactly this term). */
sb_id sb_eg_add_term(sb_egraph *eg, const sb_node *n);
/* Look up an e-node without adding it; SB_ID_NONE if absent. */
sb_id sb_eg_lookup(sb_egraph *eg, sb_op op, uint32_t attr, int nin, const sb_id *kids, sb_node *leaf);
/* The e-node of term n (its canonical form in the hashcons: the e-node a choice names), or
 * SB_ID_NONE when n was never added; seen[] (by node id, SB_ID_NONE-filled, the context's
 * node count) memoizes shared subterms. */
sb_id sb_eg_term_enode(sb_egraph *eg, const sb_node *n, sb_id *seen);
/* Union the classes of a and b (returns true if they were different). Call sb_eg_rebuild before
 * searching again. Types must unify (a broken invariant otherwise: check first with
 * sb_eg_types_unify). */
bool sb_eg_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why);
/* Restore the invariants (hashcons, congruence, analyses); returns the unions it made. */
int sb_eg_rebuild(sb_egraph *eg);
/* Is id's class's enode list sorted, deduplicated and canonical (after rebuild)? For tests. */
bool sb_eg_check(sb_egraph *eg);

/* ---- analysis (analysis.c) --------------------------------------------------------------- */
/* Fill the analysis data of a new class from its first e-node. false: ill-typed. */
bool sb_eg_analysis_make(sb_egraph *eg, const sb_enode *n, const sb_id *kids, sb_eclass *out);
/* Merge src's data into dst (same value): unify types (must unify), keep a constant, OR facts.
 * Returns true when dst changed. */
bool sb_eg_analysis_merge(sb_eclass *dst, const sb_eclass *src);
/* Could a and b be the same value's type? (ndim equal, dims equal or unknown, dtype equal or
 * one of them weak). */
bool sb_eg_types_unify(const sb_type *a, const sb_type *b);
/* After a class got a constant value: add the constant as a leaf and union it in (egg's
 * modify). */
void sb_eg_analysis_modify(sb_egraph *eg, sb_id c);
/* Facts a constant array has. */
unsigned sb_eg_array_facts(const sb_array *a);
/* The value of class c if it is a constant that is the same everywhere (scalar or all equal). */
bool sb_eg_const_scalar(sb_egraph *eg, sb_id c, double *v);

/* ---- explanations (explain.c) ------------------------------------------------------------ */
typedef struct sb_expl_step {
    const char *rule;  /* NULL for the first term (the start) */
    bool backward;
    sb_node *term;     /* the whole term after this step */
} sb_expl_step;
typedef struct sb_explanation {
    sb_expl_step *steps;
    int n;
} sb_explanation;
/* Record the proof edge for a union of ids a and b (called by sb_eg_union). */
void sb_eg_proof_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why);
/* The concrete term an id stands for (built in eg->ctx). */
sb_node *sb_eg_id_term(sb_egraph *eg, sb_id id);
/* Why are ids a and b equal? Fills ex (free with sb_eg_explanation_free); false when they are
 * not (yet) in one class or explanations are off. */
bool sb_eg_explain(sb_egraph *eg, sb_id a, sb_id b, sb_explanation *ex);
void sb_eg_explanation_free(sb_explanation *ex);
/* Print the chain: the start term, then "= rule [<-] ... term" lines. */
void sb_eg_explanation_print(const sb_explanation *ex, FILE *f);

#endif
