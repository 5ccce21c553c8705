/* plan_update.c: in-place updates (sb_be_plan_update_inplace): an output written into the
 * array bound to a leaf, once the writing step has moved last and the write is checked safe. */
#include "plan_impl.h"

/* ---- in-place updates ------------------------------------------------------------------- */
/* Whether value v may share memory with leaf L: v is L, or a reference-kernel result (views
 * such as transpose are made there) or an ifelse (its branch's value) computed from a value
 * that may. Fused groups and GEMMs write fresh buffers, which stops the walk. */
static bool may_alias(const sb_plan *p, const int *step_of, const sb_node *v, const sb_node *L)
{
    if (v == L) return true;
    int k = step_of[v->id];
    if (k >= 0 && p->steps[k].kind == ST_IFELSE)
        return may_alias(p, step_of, v->in[1], L) || may_alias(p, step_of, v->in[2], L);
    if (k < 0 || p->steps[k].kind != ST_KERNEL) return false;
    for (int i = 0; i < p->steps[k].nread; i++)
        if (may_alias(p, step_of, p->steps[k].read[i], L)) return true;
    return false;
}

/* Every writer reads its target only where it is safe (a fused group reads it elementwise at
 * the positions it writes; a GEMM only as the matrix it accumulates onto), reads nothing that
 * an earlier writer changed, and no output other than the writer's may show the target. */
static sb_status check_inplace(const sb_plan *p, const int *step_of, sb_diag *d)
{
    for (int k = 0; k < p->nstep; k++) {
        const step *w = &p->steps[k];
        if (!w->into) continue;
        if (step_of[w->into->id] < 0)
            return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                               "cannot update '%s' in place: the plan does not read it",
                               w->into->name);
        if (w->kind == ST_GEMM && (may_alias(p, step_of, w->mm->in[0], w->into) ||
                                   may_alias(p, step_of, w->mm->in[1], w->into)))
            return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                               "cannot update '%s' in place: the product reads it",
                               w->into->name);
        for (int r = 0; r < w->nread - w->extra; r++) {
            const sb_node *v = w->read[r];
            for (int j = 0; j <= k; j++) {
                const step *e = &p->steps[j];
                if (!e->into || !may_alias(p, step_of, v, e->into)) continue;
                bool own = j == k && v == e->into &&
                           (w->kind == ST_FUSED || (w->full && v == w->bias));
                if (!own)
                    return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                                       "cannot update '%s' in place: a step reads it after or "
                                       "while it is written", e->into->name);
            }
        }
        for (int i = 0; i < p->nout; i++)
            if (p->outs[i] != w->node && may_alias(p, step_of, p->outs[i], w->into))
                return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                                   "cannot update '%s' in place: another output shows it",
                                   w->into->name);
    }
    return SB_OK;
}

sb_status sb_be_plan_update_inplace(sb_plan *p, int i, sb_node *leaf, sb_diag *d)
{
    SB_ASSERT(i >= 0 && i < p->nout);
    sb_node *o = p->outs[i];
    int k = -1, nread = 0, first = p->nstep; /* first: the first in-place writer reading o */
    for (int j = 0; j < p->nstep; j++) {
        if (p->steps[j].node == o) k = j;
        for (int r = 0; r < p->steps[j].nread; r++) {
            if (p->steps[j].read[r] != o) continue;
            if (p->steps[j].into && j < first) first = j; /* a writer: it may come after o's */
            else if (!p->steps[j].into) nread++;
        }
    }
    bool same = leaf && (leaf->op == SB_OP_INPUT || leaf->op == SB_OP_SHARED) &&
                sb_type_eq(&leaf->type, &o->type);
    for (int j = 0; j < p->nout; j++) same &= j == i || p->outs[j] != o;
    if (!same || k < 0 || nread || (p->steps[k].kind != ST_FUSED && p->steps[k].kind != ST_GEMM) ||
        p->steps[k].into)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                           "output %d cannot be written into '%s' in place", i,
                           leaf && leaf->name ? leaf->name : "?");
    /* writers go last, after every step that is not a writer, in the order they were declared;
     * one whose value other writers read goes just before the first of them (the momentum
     * update v' = 0.9 v - lr g written into v, read by W + v' written into W) */
    step w = p->steps[k];
    int at = first < p->nstep ? first - 1 : p->nstep - 1; /* its index once moved */
    memmove(&p->steps[k], &p->steps[k + 1], sizeof *p->steps * (size_t)(at - k));
    p->steps[at] = w;
    p->steps[at].into = leaf;
    int *step_of = sb_xmalloc(sizeof *step_of * (size_t)p->nnodes);
    for (int j = 0; j < p->nnodes; j++) step_of[j] = -1;
    for (int j = 0; j < p->nstep; j++) step_of[p->steps[j].node->id] = j;
    sb_status st = check_inplace(p, step_of, d);
    free(step_of);
    step *ws = &p->steps[at];
    if (st) { /* refused: the step goes back where it was (after the writers it could read a
               * value they changed; fastpath: tests/core/test_function.c inplace_*) */
        w = *ws;
        w.into = NULL;
        memmove(&p->steps[k + 1], &p->steps[k], sizeof *p->steps * (size_t)(at - k));
        p->steps[k] = w;
    } else {             /* it reads the leaf's value: keep it alive until then */
        ws->read = sb_xrealloc(ws->read, sizeof *ws->read * (size_t)(ws->nread + 1));
        ws->read[ws->nread++] = leaf;
        ws->extra = 1;
    }
    uint8_t *is_out = sb_xcalloc((size_t)p->nnodes, 1);
    for (int j = 0; j < p->nout; j++) is_out[p->outs[j]->id] = 1;
    for (int j = 0; j < p->nstep; j++) {
        free(p->steps[j].free_ids);
        p->steps[j].free_ids = NULL;
        p->steps[j].nfree = 0;
    }
    sb_be_plan_liveness(p, is_out);
    free(is_out);
    return st;
}
