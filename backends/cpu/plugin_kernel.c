/* plugin_kernel.c: the CPU kernel of every op registered by a plugin. The plugin's kernel works
 * on plain contiguous sb_arrays: inputs are made contiguous (a view when they already are), the
 * result is allocated here with the concrete type from the op's type rule, and the plugin fills
 * it. Outside reference (f64) mode the plugin's fast kernel runs when it gave one. */
#include "tensor.h"

/* An sb_array header over a contiguous tensor's data (no copy, not owned). */
static sb_array array_view(const sb_tensor *t)
{
    sb_array a;
    memset(&a, 0, sizeof a);
    a.dtype = t->dtype;
    a.ndim = t->ndim;
    memcpy(a.shape, t->shape, sizeof t->shape);
    a.data = sb_be_tensor_ptr(t);
    return a;
}

sb_status sb_be_k_plugin(const sb_be_call *c, sb_tensor *out)
{
    const sb_op_def *def = sb_op_plugin_def((sb_op)c->node->op, NULL);
    SB_ASSERT(def);
    sb_op_kernel_fn fn = !c->f64 && def->fast ? def->fast : def->kernel;
    int nin = c->nin;
    sb_tensor in[nin > 0 ? nin : 1];
    sb_array av[nin > 0 ? nin : 1];
    const sb_array *ap[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) {
        in[i] = sb_be_tensor_as(&c->in[i], c->in[i].dtype);
        av[i] = array_view(&in[i]);
        ap[i] = &av[i];
    }
    int64_t shape[SB_MAX_DIMS];
    for (int i = 0; i < c->out.ndim; i++) shape[i] = c->out.dims[i] < 0 ? 0 : c->out.dims[i];
    sb_tensor r = sb_be_tensor_zeros(c->out.dtype, c->out.ndim, shape);
    sb_array ar = array_view(&r);
    sb_status st = fn(nin, ap, c->a, &ar, c->d);
    for (int i = 0; i < nin; i++) sb_be_tensor_release(&in[i]);
    if (st != SB_OK) {
        sb_be_tensor_release(&r);
        if (c->d && c->d->status == SB_OK)
            sb_diag_set(c->d, st, NULL, 0, 0, "the kernel of %s failed",
                        sb_op_get((sb_op)c->node->op)->name);
        return st;
    }
    *out = r;
    return SB_OK;
}
