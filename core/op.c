/* op.c: the op table, generated from ops.def. */
#include "core-impl.h"

static const sb_op_info ops[SB_OP_COUNT] = {
#define SB_OP(E, nm, ar, fl, rule, fam) [SB_OP_##E] = {nm, ar, fl, SB_FAM_##fam},
#include "ops.def"
#undef SB_OP
};

/* Ops registered at run time (plugins): ids FIRST + i, never removed. SB_OP_COUNT itself stays
 * "no such op" (sb_op_from_name's answer for an unknown name). */
#define FIRST (SB_OP_COUNT + 1)
typedef struct opreg_entry {
    sb_op_info info;
    sb_op_def def;
    const sb_host_api *host;
    const char *owner;
} opreg_entry;
static opreg_entry reg[SB_MAX_PLUGIN_OPS];
static int nreg;

const sb_op_info *sb_op_get(sb_op op)
{
    if (op >= SB_OP_COUNT) {
        SB_ASSERT((int)op >= FIRST && (int)op - FIRST < nreg);
        return &reg[op - FIRST].info;
    }
    return &ops[op];
}

sb_op sb_op_from_name(const char *name)
{
    for (int i = 0; i < SB_OP_COUNT; i++)
        if (!strcmp(ops[i].name, name)) return (sb_op)i;
    for (int i = 0; i < nreg; i++)
        if (!strcmp(reg[i].info.name, name)) return (sb_op)(FIRST + i);
    return SB_OP_COUNT;
}

int sb_op_total(void) { return FIRST + nreg; }

const char *sb_op_owner(sb_op op)
{
    return (int)op >= FIRST && (int)op - FIRST < nreg ? reg[op - FIRST].owner : NULL;
}

const sb_op_def *sb_op_plugin_def(sb_op op, const sb_host_api **host)
{
    if ((int)op < FIRST || (int)op - FIRST >= nreg) return NULL;
    if (host) *host = reg[op - FIRST].host;
    return &reg[op - FIRST].def;
}

/* Contract: see core-impl.h. The definition's strings are copied; callbacks are kept. */
sb_status sb_op_register(const sb_op_def *def, const sb_host_api *host, const char *owner,
                         sb_op *out, sb_diag *d)
{
    const char *who = owner ? owner : "?";
    if (!def || !def->name || !*def->name || !def->type || !def->kernel || def->arity < 1)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                           "%s: an op needs a name, an arity >= 1, a type rule and a kernel", who);
    sb_op old = sb_op_from_name(def->name);
    if (old != SB_OP_COUNT) {
        const char *by = sb_op_owner(old);
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                           "%s: op '%s' is already registered (by %s)", who, def->name,
                           by ? by : "symbench, built in");
    }
    if (nreg >= SB_MAX_PLUGIN_OPS)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: too many plugin ops (at most %d)",
                           who, SB_MAX_PLUGIN_OPS);
    opreg_entry *e = &reg[nreg];
    e->def = *def;
    e->def.name = sb_xstrdup(def->name);
    e->info = (sb_op_info){e->def.name, def->arity, def->flags & ~(unsigned)(SB_F_LEAF | SB_F_SYMBOLIC),
                           def->family < SB_FAM_COUNT ? def->family : SB_FAM_ELEMWISE};
    if (!def->lop) e->info.flags &= ~(unsigned)SB_F_DIFF;
    e->host = host;
    e->owner = owner; /* kept: the plugin's name outlives its ops */
    if (out) *out = (sb_op)(FIRST + nreg);
    nreg++;
    return SB_OK;
}

const char *sb_op_family_name(sb_op_family f)
{
    static const char *names[SB_FAM_COUNT] = {"source", "elemwise", "reduce", "blas",
                                              "shape",  "index",    "nnet",   "control"};
    return f < SB_FAM_COUNT ? names[f] : "?";
}
