/* module.c: the CUDA backend's descriptor (module.h): the interface table, the device probe and
 * the benchmark, with the ABI number and layout fingerprint of this build. Part of sb_cuda, so
 * test programs that link the backend directly reach it the same way the module's entry does. */
#include "backends/cuda/module.h"

#include "backends/cuda/cu-impl.h"

static sb_cuda_module desc;

const sb_cuda_module *sb_cu_module(void)
{
    desc = (sb_cuda_module){
        .abi = SB_CUDA_MODULE_ABI,
        .layout = sb_cuda_layout(),
        .backend = sb_be_cuda_get(),
        .probe = sb_be_cuda_probe,
        .bench = sb_cu_bench,
    };
    return &desc;
}
