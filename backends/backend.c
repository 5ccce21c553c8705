/* backend.c: the registry of backends by name. */
#include "backend.h"

#include <string.h>

const struct sb_backend_i *sb_backend_get(const char *name)
{
    /* one entry per backend compiled in (cuda adds its getter here) */
#ifdef SB_HAVE_CUDA
    const struct sb_backend_i *all[] = {sb_be_cpu_get(), sb_be_cuda_get()};
#else
    const struct sb_backend_i *all[] = {sb_be_cpu_get()};
#endif
    for (size_t i = 0; name && i < sizeof all / sizeof *all; i++)
        if (all[i] && !strcmp(all[i]->name, name)) return all[i];
    return NULL;
}

bool sb_backend_available(const char *name, sb_diag *d)
{
    const struct sb_backend_i *be = sb_backend_get(name);
    if (!be) {
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                    "backend '%s' is not available in this build", name ? name : "(null)");
        return false;
    }
#ifdef SB_HAVE_CUDA
    if (be == sb_be_cuda_get()) {
        sb_diag why = {0};
        if (sb_be_cuda_probe(&why)) return true;
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "backend 'cuda': %s", why.msg);
        return false;
    }
#endif
    if (be->available && !be->available()) {
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "backend '%s': no device", name);
        return false;
    }
    return true;
}
