/* machine.c: e-matching by a small program (egg's machine.rs).
 *
 * Register 0 holds the class being searched. BIND scans the class's e-nodes with the right op
 * and attributes and loads their children into fresh registers; COMPARE checks that a repeated
 * variable is bound to one class; CONST checks a constant's value. Execution backtracks over
 * the choices of BIND. */
#include "pattern.h"

static void emit(sb_program *p, int *cap, sb_instr in)
{
    if (p->n == *cap) p->code = sb_xrealloc(p->code, sizeof(sb_instr) * (size_t)(*cap = *cap * 2 + 8));
    p->code[p->n++] = in;
}

static void compile_at(const sb_pattern *pat, int i, int reg, sb_program *p, int *cap)
{
    const sb_pnode *pn = &pat->nodes[i];
    if (pn->op == SB_OP_CONST) {
        const sb_array *v = sb_node_value(pn->leaf);
        emit(p, cap, (sb_instr){.kind = SB_I_CONST, .reg = reg, .value = sb_array_get_f64(v, 0)});
        if (pn->var >= 0) p->var_reg[pn->var] = reg;
        return;
    }
    if (pn->var >= 0) {
        if (p->var_reg[pn->var] < 0)
            p->var_reg[pn->var] = reg;
        else
            emit(p, cap, (sb_instr){.kind = SB_I_COMPARE, .reg = reg, .reg2 = p->var_reg[pn->var]});
        return;
    }
    int out = p->nregs;
    p->nregs += pn->nin;
    emit(p, cap, (sb_instr){.kind = SB_I_BIND, .op = pn->op, .nin = pn->nin, .attr = pn->attr,
                            .attrs = pn->attrs, .reg = reg, .out = out});
    for (int k = 0; k < pn->nin; k++) compile_at(pat, pat->kids[pn->kid0 + k], out + k, p, cap);
}

void sb_eg_program_compile(const sb_pattern *pat, int nvars, sb_program *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SB_PAT_MAX_VARS; i++) out->var_reg[i] = -1;
    out->nregs = 1;
    int cap = 0;
    compile_at(pat, pat->root, 0, out, &cap);
    const sb_pnode *r = &pat->nodes[pat->root];
    out->root_op = r->var >= 0 || r->op == SB_OP_CONST ? -1 : r->op;
    (void)nvars;
}

void sb_eg_program_free(sb_program *prog)
{
    free(prog->code);
    prog->code = NULL;
    prog->n = 0;
}

/* ---- attributes -------------------------------------------------------------------------- */
/* Is a (of an e-node whose first child has rank ndim) the spelled-out form of "naxis = -1"? */
static bool default_axes(sb_op op, const sb_attrs *a, int ndim)
{
    if (ndim < 0) return false;
    if (op == SB_OP_TRANSPOSE) {
        if (a->naxis != ndim) return false;
        for (int i = 0; i < ndim; i++)
            if (a->axis[i] != ndim - 1 - i) return false;
        return true;
    }
    if (op == SB_OP_SOFTMAX || op == SB_OP_LOG_SOFTMAX)
        return a->naxis == 1 && a->axis[0] == ndim - 1;
    if (sb_op_get(op)->flags & SB_F_REDUCE) {
        if (a->naxis != ndim || op == SB_OP_ARGMAX || op == SB_OP_ARGMIN) return false;
        for (int i = 0; i < ndim; i++)
            if (a->axis[i] != i) return false;
        return true;
    }
    return false;
}

bool sb_eg_attrs_match(sb_egraph *eg, uint16_t op, uint32_t pattr, const sb_attrs *pattrs,
                       sb_id enode)
{
    const sb_enode *e = &eg->nodes[enode];
    if (e->attr == pattr) return true;
    if (pattrs->naxis != -1 || e->nin < 1) return false;
    sb_attrs t = *sb_attrs_get(eg->ctx, e->attr);
    int ndim = sb_eg_class(eg, sb_eg_kids(eg, enode)[0])->type.ndim;
    if (!default_axes((sb_op)op, &t, ndim)) return false;
    t.naxis = -1;
    memset(t.axis, 0, sizeof t.axis);
    return !memcmp(&t, pattrs, sizeof t);
}

/* ---- execution --------------------------------------------------------------------------- */
typedef struct run_state {
    sb_egraph *eg;
    const sb_program *prog;
    sb_id *regs;
    int nvars, found;
    sb_match_fn fn;
    void *user;
    bool stop;
} run_state;

static void run_from(run_state *s, int pc)
{
    if (s->stop) return;
    sb_egraph *eg = s->eg;
    for (; pc < s->prog->n; pc++) {
        const sb_instr *in = &s->prog->code[pc];
        if (in->kind == SB_I_COMPARE) {
            if (sb_eg_find(eg, s->regs[in->reg]) != sb_eg_find(eg, s->regs[in->reg2])) return;
        } else if (in->kind == SB_I_CONST) {
            double v;
            if (!sb_eg_const_scalar(eg, s->regs[in->reg], &v) || v != in->value) return;
        } else {
            const sb_eclass *c = sb_eg_class(eg, s->regs[in->reg]);
            for (uint32_t i = 0; i < c->nodes.n && !s->stop; i++) {
                sb_id n = c->nodes.v[i];
                const sb_enode *e = &eg->nodes[n];
                if (e->op > in->op && eg->clean) break; /* rebuilt classes are sorted by op */
                if (e->op != in->op || e->nin != in->nin) continue;
                if (!sb_eg_attrs_match(eg, in->op, in->attr, in->attrs, n)) continue;
                memcpy(s->regs + in->out, sb_eg_kids(eg, n), sizeof(sb_id) * in->nin);
                run_from(s, pc + 1);
                c = sb_eg_class(eg, s->regs[in->reg]); /* fn may not add, but stay safe */
            }
            return;
        }
    }
    sb_id subst[SB_PAT_MAX_VARS];
    for (int v = 0; v < s->nvars; v++)
        subst[v] = sb_eg_find(eg, s->regs[s->prog->var_reg[v]]);
    s->found++;
    if (!s->fn(subst, s->user)) s->stop = true;
}

int sb_eg_program_run(sb_egraph *eg, const sb_program *prog, sb_id c, int nvars, sb_match_fn fn,
                      void *user)
{
    sb_id regs[prog->nregs > 0 ? prog->nregs : 1];
    regs[0] = sb_eg_find(eg, c);
    run_state s = {.eg = eg, .prog = prog, .regs = regs, .nvars = nvars, .fn = fn, .user = user};
    run_from(&s, 0);
    return s.found;
}
