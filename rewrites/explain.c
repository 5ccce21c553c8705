/* explain.c: explanations (egg's Explain): why two terms are equal.
 *
 * With explanations on, every distinct term added to the e-graph has its own id (its original
 * children are kept), and every union records an edge of a proof forest between the two ids it
 * was asked to unite, labelled by its reason: a rule (and direction) or congruence. Two equal ids
 * are connected by the forest path through their lowest common ancestor; a rule edge is one
 * rewrite step, a congruence edge is explained by explaining its children pairwise, each step
 * lifted into the enclosing term. */
#include "egraph.h"

#define EXPLAIN_MAX_DEPTH 256

/* Make x the root of its proof tree by reversing the path above it. */
static void reroot(sb_egraph *eg, sb_id x)
{
    sb_id prev = x, cur = eg->proof_parent[x];
    sb_just pj = eg->proof_just[x];
    eg->proof_parent[x] = x;
    while (cur != prev) {
        sb_id next = eg->proof_parent[cur];
        sb_just nj = eg->proof_just[cur];
        eg->proof_parent[cur] = prev;
        eg->proof_just[cur] = (sb_just){.rule = pj.rule, .backward = !pj.backward};
        if (next == cur) break;
        prev = cur;
        cur = next;
        pj = nj;
    }
}

void sb_eg_proof_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why)
{
    if (!eg->explain) return;
    reroot(eg, a);
    eg->proof_parent[a] = b;
    eg->proof_just[a] = why;
}

/* ---- terms ------------------------------------------------------------------------------- */
sb_node *sb_eg_id_term(sb_egraph *eg, sb_id id)
{
    const sb_enode *e = &eg->nodes[id];
    if (e->leaf) return e->leaf;
    sb_node *in[e->nin > 0 ? e->nin : 1];
    for (int i = 0; i < e->nin; i++) in[i] = sb_eg_id_term(eg, sb_eg_okids(eg, id)[i]);
    sb_node *n = sb_apply(eg->ctx, (sb_op)e->op, e->nin, in, sb_attrs_get(eg->ctx, e->attr), NULL);
    SB_ASSERT(n); /* the term was typed when it was added */
    return n;
}

/* ---- steps ------------------------------------------------------------------------------- */
static void push_step(sb_explanation *ex, const char *rule, bool backward, sb_node *term)
{
    ex->steps = sb_xrealloc(ex->steps, sizeof *ex->steps * (size_t)(ex->n + 1));
    ex->steps[ex->n++] = (sb_expl_step){.rule = rule, .backward = backward, .term = term};
}

static bool explain_ids(sb_egraph *eg, sb_id a, sb_id b, sb_explanation *ex, int depth);

/* Steps of one forest edge x -> y (just j describes the edge in the x -> y direction). */
static bool explain_edge(sb_egraph *eg, sb_id x, sb_id y, sb_just j, sb_explanation *ex, int depth)
{
    if (j.rule) {
        push_step(ex, j.rule, j.backward, sb_eg_id_term(eg, y));
        return true;
    }
    const sb_enode *e = &eg->nodes[x];
    int nin = e->nin;
    sb_node *cur[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) cur[i] = sb_eg_id_term(eg, sb_eg_okids(eg, x)[i]);
    for (int i = 0; i < nin; i++) {
        sb_explanation sub = {0};
        if (!explain_ids(eg, sb_eg_okids(eg, x)[i], sb_eg_okids(eg, y)[i], &sub, depth + 1)) {
            sb_eg_explanation_free(&sub);
            return false;
        }
        for (int s = 1; s < sub.n; s++) {
            cur[i] = sub.steps[s].term;
            sb_node *whole = sb_apply(eg->ctx, (sb_op)e->op, nin, cur, sb_attrs_get(eg->ctx, e->attr), NULL);
            SB_ASSERT(whole);
            push_step(ex, sub.steps[s].rule, sub.steps[s].backward, whole);
        }
        cur[i] = sb_eg_id_term(eg, sb_eg_okids(eg, y)[i]);
        sb_eg_explanation_free(&sub);
    }
    return true;
}

/* Path a .. lca .. b in the proof forest, as steps appended to ex (ex->steps[0] is term(a)). */
static bool explain_ids(sb_egraph *eg, sb_id a, sb_id b, sb_explanation *ex, int depth)
{
    push_step(ex, NULL, false, sb_eg_id_term(eg, a));
    if (a == b) return true;
    if (depth > EXPLAIN_MAX_DEPTH) return false;
    /* Ancestors of a, then climb from b until one is met. */
    sb_idvec up = {0};
    for (sb_id x = a;; x = eg->proof_parent[x]) {
        sb_idvec_push(&up, x);
        if (eg->proof_parent[x] == x) break;
    }
    sb_id lca = SB_ID_NONE;
    sb_idvec down = {0};
    for (sb_id y = b;; y = eg->proof_parent[y]) {
        for (uint32_t i = 0; i < up.n && lca == SB_ID_NONE; i++)
            if (up.v[i] == y) lca = y;
        if (lca != SB_ID_NONE || eg->proof_parent[y] == y) break;
        sb_idvec_push(&down, y);
    }
    bool ok = lca != SB_ID_NONE;
    for (uint32_t i = 0; ok && up.v[i] != lca; i++)
        ok = explain_edge(eg, up.v[i], eg->proof_parent[up.v[i]], eg->proof_just[up.v[i]], ex, depth);
    for (uint32_t i = down.n; ok && i-- > 0;) {
        sb_id y = down.v[i];
        sb_just j = eg->proof_just[y];
        ok = explain_edge(eg, eg->proof_parent[y], y, (sb_just){.rule = j.rule, .backward = !j.backward},
                          ex, depth);
    }
    sb_idvec_free(&up);
    sb_idvec_free(&down);
    return ok;
}

bool sb_eg_explain(sb_egraph *eg, sb_id a, sb_id b, sb_explanation *ex)
{
    memset(ex, 0, sizeof *ex);
    if (!eg->explain || sb_eg_find(eg, a) != sb_eg_find(eg, b)) return false;
    if (!explain_ids(eg, a, b, ex, 0)) {
        sb_eg_explanation_free(ex);
        return false;
    }
    /* Congruence steps whose children needed no rewrite leave nothing; drop repeated terms. */
    int m = 1;
    for (int i = 1; i < ex->n; i++)
        if (ex->steps[i].term != ex->steps[m - 1].term || ex->steps[i].rule != ex->steps[m - 1].rule)
            ex->steps[m++] = ex->steps[i];
    ex->n = m;
    return true;
}

void sb_eg_explanation_free(sb_explanation *ex)
{
    free(ex->steps);
    ex->steps = NULL;
    ex->n = 0;
}

void sb_eg_explanation_print(const sb_explanation *ex, FILE *f)
{
    for (int i = 0; i < ex->n; i++) {
        char *s = sb_print_expr(ex->steps[i].term);
        if (i == 0)
            fprintf(f, "  %s\n", s ? s : "?");
        else
            fprintf(f, "= %s   [%s%s]\n", s ? s : "?", ex->steps[i].rule,
                    ex->steps[i].backward ? " <=" : "");
        free(s);
    }
}
