/* cuda_badmod.c: a stand-in CUDA module for test_cuda_module.c. Built twice: as is, its entry
 * reports ABI 999 (a module of another build); with -DMODE_NOENTRY it has no entry at all. */
#include "backends/cuda/module.h"

#ifndef MODE_NOENTRY
SB_API const sb_cuda_module *sb_cuda_module_init(const sb_cuda_host *host);
SB_API const sb_cuda_module *sb_cuda_module_init(const sb_cuda_host *host)
{
    (void)host;
    static const sb_cuda_module m = {.abi = 999, .layout = 42};
    return &m;
}
#else
SB_API int sb_not_a_cuda_module(void);
SB_API int sb_not_a_cuda_module(void)
{
    return 1;
}
#endif
