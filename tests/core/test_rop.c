/* test_rop.c: forward mode, jacobian and hessian (core/rop.c). (being written) */
#include "ad_cases.h"
bool sb_ad_has_rop(sb_op op);
TestSuite(rop);
Test(rop, every_differentiable_op_has_a_rop_rule)
{
    for (int op = 0; op < SB_OP_COUNT; op++)
        if (sb_op_get((sb_op)op)->flags & SB_F_DIFF)
            cr_expect(sb_ad_has_rop((sb_op)op), "no R-op rule for %s", sb_op_get((sb_op)op)->name);
}
