/* blas.c: gemm / gemv through cuBLAS on the backend's stream.
 *
 * cuBLAS is column-major; a row-major C[m,n] = A[m,k] B[k,n] is the column-major
 * C^T[n,m] = B^T[n,k] A^T[k,m], so the operands are passed swapped and nothing is copied.
 * float32 uses TF32 tensor cores only when asked (CUBLAS_TF32_TENSOR_OP_MATH); otherwise the
 * default math mode, which computes in full fp32. */
#include "backends/cuda/cu-impl.h"

static cublasHandle_t handle;

static sb_status get_handle(bool tf32, sb_diag *d)
{
    if (!handle) {
        if (SB_CU_CHECK(cublasCreate(&handle), d)) return SB_ERR_INTERNAL;
        if (SB_CU_CHECK(cublasSetStream(handle, (cudaStream_t)sb_cu_stream()), d))
            return SB_ERR_INTERNAL;
    }
    return SB_CU_CHECK(cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                      : CUBLAS_DEFAULT_MATH),
                       d);
}

/* n == 1: y[m] = op(A)[m,k] x[k] as a column-major gemv on A's storage. */
static sb_status gemv(sb_dtype dt, bool ta, int64_t m, int64_t k, const void *a, const void *x,
                      double beta, void *y, sb_diag *d)
{
    /* row-major A[m,k] is column-major A^T[k,m] (lda = k): y = (A^T)^T x */
    cublasOperation_t op = ta ? CUBLAS_OP_N : CUBLAS_OP_T;
    int rows = (int)(ta ? m : k), cols = (int)(ta ? k : m), lda = rows;
    if (dt == SB_DTYPE_F32) {
        float al = 1, be = (float)beta;
        return SB_CU_CHECK(cublasSgemv(handle, op, rows, cols, &al, a, lda, x, 1, &be, y, 1), d);
    }
    double al = 1, be = beta;
    return SB_CU_CHECK(cublasDgemv(handle, op, rows, cols, &al, a, lda, x, 1, &be, y, 1), d);
}

sb_status sb_cu_gemm(sb_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                     const void *a, const void *b, double beta, void *c, bool tf32, sb_diag *d)
{
    SB_ASSERT(dt == SB_DTYPE_F32 || dt == SB_DTYPE_F64);
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "cuda: gemm dims above 2^31");
    if (get_handle(tf32, d)) return SB_ERR_INTERNAL;
    if (n == 1 && !tb) return gemv(dt, ta, m, k, a, b, beta, c, d);
    cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    int lda = (int)(ta ? m : k), ldb = (int)(tb ? k : n);
    /* column-major: C^T[n,m] = op(B)^T op(A)^T */
    if (dt == SB_DTYPE_F32) {
        float al = 1, be = (float)beta;
        return SB_CU_CHECK(cublasSgemm(handle, opb, opa, (int)n, (int)m, (int)k, &al, b, ldb, a,
                                       lda, &be, c, (int)n),
                           d);
    }
    double al = 1, be = beta;
    return SB_CU_CHECK(cublasDgemm(handle, opb, opa, (int)n, (int)m, (int)k, &al, b, ldb, a, lda,
                                   &be, c, (int)n),
                       d);
}

void sb_cu_blas_shutdown(void)
{
    if (handle) cublasDestroy(handle);
    handle = NULL;
}
