/* check.h: the one check macro for every CUDA runtime, cuBLAS and NVRTC call.
 *
 *     if (SB_CU_CHECK(cudaMalloc(&p, n), d)) return NULL;
 *
 * evaluates the call once; on failure fills d (SB_ERR_INTERNAL) with the call as written, the
 * library's error name and text, and the file and line, e.g.
 *     "cudaMalloc(&p, n) failed: cudaErrorMemoryAllocation (out of memory) at pool.c:42"
 * and evaluates to that status (SB_OK on success). The library is picked from the call's result
 * type (_Generic does not evaluate its operand). d may be NULL (the error is then logged). */
#ifndef SB_CU_CHECK_H
#define SB_CU_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nvrtc.h>

#include "symbench.h"

typedef enum sb_cu_lib {
    SB_CU_LIB_RUNTIME,
    SB_CU_LIB_CUBLAS,
    SB_CU_LIB_NVRTC,
    SB_CU_LIB_COUNT
} sb_cu_lib;

#define SB_CU_LIB_OF(call)                                                                       \
    _Generic((call), cudaError_t: SB_CU_LIB_RUNTIME, cublasStatus_t: SB_CU_LIB_CUBLAS,          \
             nvrtcResult: SB_CU_LIB_NVRTC)

#define SB_CU_CHECK(call, d)                                                                     \
    sb_cu_check(SB_CU_LIB_OF(call), (int)(call), #call, __FILE__, __LINE__, (d))

/* The reporter behind SB_CU_CHECK: SB_OK when code is the library's success value, else fills d
 * as described above and returns SB_ERR_INTERNAL. */
sb_status sb_cu_check(sb_cu_lib lib, int code, const char *call, const char *file, int line,
                      sb_diag *d);
/* "name (text)" of a library's error code into buf. */
const char *sb_cu_error_text(sb_cu_lib lib, int code, char *buf, size_t n);

#endif
