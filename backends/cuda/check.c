/* check.c: the reporter behind SB_CU_CHECK (check.h). */
#include "backends/cuda/check.h"

#include <string.h>

const char *sb_cu_error_text(sb_cu_lib lib, int code, char *buf, size_t n)
{
    switch (lib) {
    case SB_CU_LIB_RUNTIME:
        snprintf(buf, n, "%s (%s)", cudaGetErrorName((cudaError_t)code),
                 cudaGetErrorString((cudaError_t)code));
        break;
    case SB_CU_LIB_CUBLAS:
        snprintf(buf, n, "%s (%s)", cublasGetStatusName((cublasStatus_t)code),
                 cublasGetStatusString((cublasStatus_t)code));
        break;
    default:
        snprintf(buf, n, "NVRTC error %d (%s)", code, nvrtcGetErrorString((nvrtcResult)code));
        break;
    }
    return buf;
}

/* Success is 0 in all three libraries (cudaSuccess, CUBLAS_STATUS_SUCCESS, NVRTC_SUCCESS). */
sb_status sb_cu_check(sb_cu_lib lib, int code, const char *call, const char *file, int line,
                      sb_diag *d)
{
    if (code == 0) return SB_OK;
    char err[256];
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    sb_cu_error_text(lib, code, err, sizeof err);
    if (!d) {
        sb_log(0, "%s failed: %s at %s:%d", call, err, base, line);
        return SB_ERR_INTERNAL;
    }
    sb_diag_set(d, SB_ERR_INTERNAL, NULL, 0, 0, "%.300s failed: %s at %s:%d", call, err, base,
                line);
    return SB_ERR_INTERNAL;
}
