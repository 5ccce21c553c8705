/* pattern.c: patterns compiled against an e-graph, instantiation of right-hand sides, rule
 * conditions, and short printed forms of classes for traces (egg's Pattern). */
#include "pattern.h"

#include <math.h>

/* ---- compile ----------------------------------------------------------------------------- */
static int var_index(sb_vars *vars, const char *name)
{
    for (int i = 0; i < vars->n; i++)
        if (!strcmp(vars->name[i], name)) return i;
    if (vars->n == SB_PAT_MAX_VARS) return -1;
    vars->name[vars->n] = name;
    return vars->n++;
}

/* A pattern constant as a constant of the e-graph's context (same value, dtype, weakness). */
static sb_node *const_in(sb_egraph *eg, const sb_node *c)
{
    if (c->value->ndim == 0)
        return sb_const_scalar(eg->ctx, sb_array_get_f64(c->value, 0), c->value->dtype, c->type.weak);
    return sb_const(eg->ctx, c->value);
}

static const char *const const_var_names[SB_PAT_MAX_VARS] = {
    "#0", "#1", "#2", "#3", "#4", "#5", "#6", "#7", "#8", "#9", "#10", "#11", "#12", "#13", "#14", "#15",
    "#16", "#17", "#18", "#19", "#20", "#21", "#22", "#23", "#24", "#25", "#26", "#27", "#28", "#29",
    "#30", "#31"};

static int compile_rec(sb_egraph *eg, const sb_node *p, sb_vars *vars, sb_pattern *out, int *cap,
                       int *kcap)
{
    bool lhs = out->consts_bind;
    int kids[p->nin > 0 ? p->nin : 1];
    for (int i = 0; i < p->nin; i++) {
        kids[i] = compile_rec(eg, p->in[i], vars, out, cap, kcap);
        (void)lhs;
        if (kids[i] < 0) return -1;
    }
    if (out->n == *cap) out->nodes = sb_xrealloc(out->nodes, sizeof(sb_pnode) * (size_t)(*cap = *cap * 2 + 8));
    while (out->nkids + p->nin > *kcap) out->kids = sb_xrealloc(out->kids, sizeof(int) * (size_t)(*kcap = *kcap * 2 + 8));
    sb_pnode *pn = &out->nodes[out->n];
    *pn = (sb_pnode){.op = p->op, .nin = p->nin, .var = -1, .kid0 = out->nkids};
    if (p->op == SB_OP_PVAR) {
        if ((pn->var = var_index(vars, p->name)) < 0) return -1;
    } else if (p->op == SB_OP_CONST) {
        pn->leaf = const_in(eg, p);
        /* In a lhs a constant binds the class it matched (a hidden variable "#k"), so the lhs can
         * be re-instantiated exactly for explanations. */
        if (lhs && vars->n < SB_PAT_MAX_VARS) pn->var = var_index(vars, const_var_names[vars->n]);
    } else if (p->op == SB_OP_INPUT || p->op == SB_OP_SHARED) {
        pn->leaf = (sb_node *)p; /* never equal to an e-graph leaf of another context */
    } else {
        pn->attr = sb_attrs_intern(eg->ctx, p->attrs);
        pn->attrs = sb_attrs_get(eg->ctx, pn->attr);
    }
    memcpy(out->kids + out->nkids, kids, sizeof(int) * (size_t)p->nin);
    out->nkids += p->nin;
    return out->n++;
}

bool sb_eg_pattern_compile(sb_egraph *eg, const sb_node *p, sb_vars *vars, bool lhs,
                           sb_pattern *out)
{
    memset(out, 0, sizeof *out);
    out->consts_bind = lhs;
    int cap = 0, kcap = 0;
    out->root = compile_rec(eg, p, vars, out, &cap, &kcap);
    return out->root >= 0;
}

void sb_eg_pattern_free(sb_pattern *p)
{
    free(p->nodes);
    free(p->kids);
    memset(p, 0, sizeof *p);
}

/* ---- instantiate ------------------------------------------------------------------------- */
static sb_id inst_rec(sb_egraph *eg, const sb_pattern *p, int i, const sb_id *subst)
{
    const sb_pnode *pn = &p->nodes[i];
    if (pn->var >= 0) return subst[pn->var];
    if (pn->leaf) return sb_eg_add(eg, (sb_op)pn->op, 0, 0, NULL, pn->leaf);
    sb_id kids[pn->nin > 0 ? pn->nin : 1];
    for (int k = 0; k < pn->nin; k++)
        if ((kids[k] = inst_rec(eg, p, p->kids[pn->kid0 + k], subst)) == SB_ID_NONE) return SB_ID_NONE;
    return sb_eg_add(eg, (sb_op)pn->op, pn->attr, pn->nin, kids, NULL);
}

sb_id sb_eg_pattern_instantiate(sb_egraph *eg, const sb_pattern *p, const sb_id *subst)
{
    return inst_rec(eg, p, p->root, subst);
}

/* ---- conditions -------------------------------------------------------------------------- */
bool sb_eg_cond_holds(sb_egraph *eg, const sb_cond *c, const sb_vars *vars, const sb_id *subst)
{
    int v = -1;
    for (int i = 0; i < vars->n; i++)
        if (!strcmp(vars->name[i], c->var)) v = i;
    if (v < 0) return false;
    const sb_eclass *cl = sb_eg_class(eg, subst[v]);
    double x;
    switch (c->kind) {
    case SB_COND_NONZERO: return cl->facts & SB_FACT_NONZERO;
    case SB_COND_POSITIVE: return cl->facts & SB_FACT_POS;
    case SB_COND_NONNEG: return cl->facts & SB_FACT_NONNEG;
    case SB_COND_INTEGER: return cl->facts & SB_FACT_INTEGER;
    case SB_COND_CONST:
        if (!c->has_value) return cl->val != NULL;
        return sb_eg_const_scalar(eg, subst[v], &x) && x == c->value;
    case SB_COND_DTYPE: return cl->type.dtype == c->dtype;
    case SB_COND_NDIM: return cl->type.ndim == c->ndim;
    case SB_COND_FLOAT: return sb_dtype_is_float(cl->type.dtype);
    default: return false;
    }
}

/* ---- printing classes for traces --------------------------------------------------------- */
typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static void sb_put(strbuf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) b->s = sb_xrealloc(b->s, b->cap = 2 * (b->n + k + 1) + 32);
    memcpy(b->s + b->n, s, k + 1);
    b->n += k;
}

/* Prefer a leaf, then the e-node with the fewest children, to keep printed forms short. */
static sb_id pick_node(sb_egraph *eg, sb_id c)
{
    const sb_eclass *cl = sb_eg_class(eg, c);
    sb_id best = cl->nodes.n ? cl->nodes.v[0] : c;
    for (uint32_t i = 0; i < cl->nodes.n; i++)
        if (eg->nodes[cl->nodes.v[i]].nin < eg->nodes[best].nin) best = cl->nodes.v[i];
    return best;
}

static void class_str_rec(sb_egraph *eg, sb_id c, int depth, strbuf *b)
{
    sb_id n = pick_node(eg, c);
    const sb_enode *e = &eg->nodes[n];
    if (e->leaf) {
        char *s = sb_print_expr(e->leaf);
        sb_put(b, s ? s : "?");
        free(s);
        return;
    }
    if (depth > 4) {
        sb_put(b, "...");
        return;
    }
    sb_put(b, sb_op_get((sb_op)e->op)->name);
    sb_put(b, "(");
    for (int i = 0; i < e->nin; i++) {
        if (i) sb_put(b, ", ");
        class_str_rec(eg, sb_eg_kids(eg, n)[i], depth + 1, b);
    }
    sb_put(b, ")");
}

char *sb_eg_class_str(sb_egraph *eg, sb_id c)
{
    strbuf b = {0};
    sb_put(&b, "");
    class_str_rec(eg, c, 0, &b);
    return b.s;
}
