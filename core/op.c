/* op.c: the op table, generated from ops.def. */
#include "core-impl.h"

static const sb_op_info ops[SB_OP_COUNT] = {
#define SB_OP(E, nm, ar, fl, rule, fam) [SB_OP_##E] = {nm, ar, fl, SB_FAM_##fam},
#include "ops.def"
#undef SB_OP
};

const sb_op_info *sb_op_get(sb_op op)
{
    SB_ASSERT(op < SB_OP_COUNT);
    return &ops[op];
}

sb_op sb_op_from_name(const char *name)
{
    for (int i = 0; i < SB_OP_COUNT; i++)
        if (!strcmp(ops[i].name, name)) return (sb_op)i;
    return SB_OP_COUNT;
}

const char *sb_op_family_name(sb_op_family f)
{
    static const char *names[SB_FAM_COUNT] = {"source", "elemwise", "reduce", "blas",
                                              "shape",  "index",    "nnet",   "control"};
    return f < SB_FAM_COUNT ? names[f] : "?";
}
