/* blas.c: matmul (NumPy rules: 1-D promotion, batched with broadcasting) through OpenBLAS
 * sgemm / dgemm (sgemv / dgemv for a matrix times a vector), integer matmul in int64, and
 * outer; and the strided BLAS calls of the plan's GEMM steps (sb_be_blas_gemm / gemv / ger:
 * transposed views passed as transposes, vectors with their stride). */
#include "tensor.h"

#include <cblas.h>

/* C[n, m] = A[n, k] @ B[k, m], all contiguous of dtype dt; C is zero on entry. A matrix
 * times a vector (m == 1: A @ b; n == 1: a @ B = B^T a) is one gemv. */
static void gemm(sb_dtype dt, int64_t n, int64_t m, int64_t k, const void *A, const void *B,
                 void *C)
{
    if (n == 0 || m == 0 || k == 0) return;
    int lda = (int)k, ldb = (int)m, ldc = (int)m;
    bool vec = (m == 1 || n == 1) && (dt == SB_DTYPE_F32 || dt == SB_DTYPE_F64);
    enum CBLAS_TRANSPOSE t = m == 1 ? CblasNoTrans : CblasTrans;
    int rows = (int)(m == 1 ? n : k), cols = (int)(m == 1 ? k : m);
    const void *mat = m == 1 ? A : B, *x = m == 1 ? B : A;
    if (vec && dt == SB_DTYPE_F32) {
        cblas_sgemv(CblasRowMajor, t, rows, cols, 1.0f, mat, cols, x, 1, 0.0f, C, 1);
    } else if (vec) {
        cblas_dgemv(CblasRowMajor, t, rows, cols, 1.0, mat, cols, x, 1, 0.0, C, 1);
    } else if (dt == SB_DTYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, 1.0f, A,
                    lda, B, ldb, 0.0f, C, ldc);
    } else if (dt == SB_DTYPE_F64) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, 1.0, A,
                    lda, B, ldb, 0.0, C, ldc);
    } else {
        const int64_t *a = A, *b = B;
        int64_t *c = C;
        for (int64_t i = 0; i < n; i++)
            for (int64_t p = 0; p < k; p++) {
                uint64_t av = (uint64_t)a[i * k + p];
                for (int64_t j = 0; j < m; j++)
                    c[i * m + j] = (int64_t)((uint64_t)c[i * m + j] + av * (uint64_t)b[p * m + j]);
            }
    }
}

/* The matrix view of one matmul operand: batch dims, rows, cols (1-D promoted). */
typedef struct operand {
    int nbatch;
    int64_t batch[SB_MAX_DIMS];
    int64_t rows, cols;
} operand;

static operand split_operand(const sb_tensor *t, bool left)
{
    operand o = {0};
    if (t->ndim == 1) {
        o.rows = left ? 1 : t->shape[0];
        o.cols = left ? t->shape[0] : 1;
        return o;
    }
    o.nbatch = t->ndim - 2;
    memcpy(o.batch, t->shape, sizeof(int64_t) * (size_t)o.nbatch);
    o.rows = t->shape[t->ndim - 2];
    o.cols = t->shape[t->ndim - 1];
    return o;
}

/* Offset (in matrices) of batch index j of an operand broadcast to batch shape bs[nb]. */
static int64_t batch_offset(const operand *o, int nb, const int64_t *bs, int64_t j)
{
    int64_t off = 0, stride = 1;
    for (int d = nb - 1; d >= 0; d--) {
        int64_t i = j % bs[d];
        j /= bs[d];
        int od = d - (nb - o->nbatch);
        if (od < 0) continue;
        if (o->batch[od] != 1) off += i * stride;
        stride *= o->batch[od];
    }
    return off;
}

sb_status sb_be_k_matmul(const sb_be_call *c, sb_tensor *out)
{
    if (c->in[0].ndim == 0 || c->in[1].ndim == 0)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "matmul: operands must not be scalars");
    sb_dtype comp = sb_be_arith_dt(c->out.dtype);
    operand oa = split_operand(&c->in[0], true), ob = split_operand(&c->in[1], false);
    if (oa.cols != ob.rows)
        return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                           "matmul: mismatch in core dimension: %lld (left) vs %lld (right)",
                           (long long)oa.cols, (long long)ob.rows);
    int nb = oa.nbatch > ob.nbatch ? oa.nbatch : ob.nbatch;
    int64_t bs[SB_MAX_DIMS], nbatch = 1, bbatch = 1;
    for (int d = 0; d < nb; d++) {
        int da = d - (nb - oa.nbatch), db = d - (nb - ob.nbatch);
        int64_t x = da >= 0 ? oa.batch[da] : 1, y = db >= 0 ? ob.batch[db] : 1;
        if (x != y && x != 1 && y != 1)
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                               "matmul: batch dimensions %lld and %lld do not broadcast",
                               (long long)x, (long long)y);
        bs[d] = x == 1 ? y : x;
        nbatch *= bs[d];
        if (db >= 0) bbatch *= y;
    }
    sb_tensor A = sb_be_tensor_as(&c->in[0], comp), B = sb_be_tensor_as(&c->in[1], comp);
    int64_t n = oa.rows, k = oa.cols, m = ob.cols;
    sb_tensor r = sb_be_tensor_zeros(comp, c->out.ndim, c->out.dims);
    SB_ASSERT(sb_be_tensor_numel(&r) == nbatch * n * m);
    size_t es = sb_dtype_size(comp);
    char *a = sb_be_tensor_ptr(&A), *b = sb_be_tensor_ptr(&B), *o = r.buf->data;
    if (bbatch == 1) { /* one GEMM: the left operand's batch folds into its rows */
        gemm(comp, nbatch * n, m, k, a, b, o);
    } else {
        for (int64_t j = 0; j < nbatch; j++)
            gemm(comp, n, m, k, a + batch_offset(&oa, nb, bs, j) * n * k * (int64_t)es,
                 b + batch_offset(&ob, nb, bs, j) * k * m * (int64_t)es, o + j * n * m * (int64_t)es);
    }
    sb_be_tensor_release(&A);
    sb_be_tensor_release(&B);
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}

sb_status sb_be_k_outer(const sb_be_call *c, sb_tensor *out)
{
    sb_dtype comp = sb_be_arith_dt(c->out.dtype);
    sb_tensor a = sb_be_tensor_as(&c->in[0], comp), b = sb_be_tensor_as(&c->in[1], comp);
    a.ndim = 2;
    a.shape[0] = sb_be_tensor_numel(&c->in[0]);
    a.shape[1] = 1;
    b.ndim = 2;
    b.shape[0] = 1;
    b.shape[1] = sb_be_tensor_numel(&c->in[1]);
    sb_be_contig_strides(2, a.shape, a.strides);
    sb_be_contig_strides(2, b.shape, b.strides);
    sb_tensor r = sb_be_binary(SB_OP_MUL, comp, &a, &b);
    sb_be_tensor_release(&a);
    sb_be_tensor_release(&b);
    *out = sb_be_tensor_as(&r, c->out.dtype);
    sb_be_tensor_release(&r);
    return SB_OK;
}

/* ---- BLAS calls on strided operands (plan.c's GEMM, gemv and ger steps) ---------------- */
/* How t is laid out as a matrix for BLAS: row-major (NoTrans, ld = row stride) or column-major
 * (Trans, ld = column stride); false when it is neither. */
static bool blas_layout(const sb_tensor *t, bool *trans, int *ld)
{
    int64_t r = t->shape[0], c = t->shape[1];
    if ((t->strides[1] == 1 || c <= 1) && (t->strides[0] >= (c > 1 ? c : 1) || r <= 1)) {
        *trans = false;
        *ld = (int)(r <= 1 ? (c > 1 ? c : 1) : t->strides[0]);
        return true;
    }
    if ((t->strides[0] == 1 || r <= 1) && (t->strides[1] >= (r > 1 ? r : 1) || c <= 1)) {
        *trans = true;
        *ld = (int)(c <= 1 ? (r > 1 ? r : 1) : t->strides[1]);
        return true;
    }
    return false;
}

/* t (2-D) as a BLAS matrix argument: its layout (blas_layout), after replacing it with a
 * contiguous copy of dtype dt when it has none. */
static void matrix_arg(sb_tensor *t, sb_dtype dt, bool *trans, int *ld)
{
    *trans = false;
    *ld = 1;
    if (blas_layout(t, trans, ld)) return;
    sb_tensor c = sb_be_tensor_as(t, dt);
    sb_be_tensor_release(t);
    *t = c;
    blas_layout(t, trans, ld);
}

/* t as a BLAS vector argument (all its elements in C order): a 1-D tensor with a positive
 * stride is passed as is with that increment, anything else (a broadcast, a reversed or a
 * non-contiguous n-D value) as a contiguous copy of dtype dt with increment 1. */
static void vector_arg(sb_tensor *t, sb_dtype dt, int *inc)
{
    int64_t n = sb_be_tensor_numel(t);
    *inc = 1;
    if (t->ndim == 1 && (t->strides[0] > 0 || n <= 1)) {
        *inc = n <= 1 ? 1 : (int)t->strides[0];
        return;
    }
    if (sb_be_tensor_is_contig(t)) return;
    sb_tensor c = sb_be_tensor_as(t, dt);
    sb_be_tensor_release(t);
    *t = c;
}

/* SB_SKINNY=0 sends every float32 product to OpenBLAS (for comparisons). */
static bool skinny_off(void)
{
    static int off = -1;
    if (off < 0) off = getenv("SB_SKINNY") && !strcmp(getenv("SB_SKINNY"), "0");
    return off;
}

/* C[M, N] = alpha * A @ B + beta * C with one sgemm/dgemm (transposed views as transposes), or
 * skinny.c's loops for float32 products with N or K at most 16. */
void sb_be_blas_gemm(sb_dtype dt, double alpha, double beta, const sb_tensor *A0,
                     const sb_tensor *B0, void *C)
{
    sb_tensor A = sb_be_tensor_ref(A0), B = sb_be_tensor_ref(B0);
    bool ta, tb;
    int lda, ldb;
    matrix_arg(&A, dt, &ta, &lda);
    matrix_arg(&B, dt, &tb, &ldb);
    int64_t M = A.shape[0], K = A.shape[1], N = B.shape[1];
    enum CBLAS_TRANSPOSE a = ta ? CblasTrans : CblasNoTrans, b = tb ? CblasTrans : CblasNoTrans;
    if (M > 0 && N > 0 && K > 0 && dt == SB_DTYPE_F32 && !skinny_off() &&
        sb_be_skinny_sgemm(ta, tb, M, N, K, (float)alpha, sb_be_tensor_ptr(&A), lda,
                           sb_be_tensor_ptr(&B), ldb, (float)beta, C))
        ; /* done by skinny.c */
    else if (M > 0 && N > 0 && K > 0 && dt == SB_DTYPE_F32)
        cblas_sgemm(CblasRowMajor, a, b, (int)M, (int)N, (int)K, (float)alpha, sb_be_tensor_ptr(&A),
                    lda, sb_be_tensor_ptr(&B), ldb, (float)beta, C, (int)N);
    else if (M > 0 && N > 0 && K > 0)
        cblas_dgemm(CblasRowMajor, a, b, (int)M, (int)N, (int)K, alpha, sb_be_tensor_ptr(&A), lda,
                    sb_be_tensor_ptr(&B), ldb, beta, C, (int)N);
    sb_be_tensor_release(&A);
    sb_be_tensor_release(&B);
}

/* y = alpha * (A @ x) + beta * y, or alpha * (x @ A) + beta * y when vec_left (= A^T x), with
 * one sgemv/dgemv on A's storage: a transposed view (column-major) flips the transpose flag
 * instead of being copied; x keeps its stride. */
void sb_be_blas_gemv(sb_dtype dt, double alpha, double beta, const sb_tensor *A0,
                     const sb_tensor *x0, bool vec_left, void *y)
{
    sb_tensor A = sb_be_tensor_ref(A0), x = sb_be_tensor_ref(x0);
    bool tr;
    int lda, incx;
    matrix_arg(&A, dt, &tr, &lda);
    vector_arg(&x, dt, &incx);
    int64_t r = A.shape[0], c = A.shape[1];
    int m = (int)(tr ? c : r), n = (int)(tr ? r : c); /* the stored row-major matrix [m, n] */
    enum CBLAS_TRANSPOSE t = tr != vec_left ? CblasTrans : CblasNoTrans;
    if (r > 0 && c > 0 && dt == SB_DTYPE_F32)
        cblas_sgemv(CblasRowMajor, t, m, n, (float)alpha, sb_be_tensor_ptr(&A), lda,
                    sb_be_tensor_ptr(&x), incx, (float)beta, y, 1);
    else if (r > 0 && c > 0)
        cblas_dgemv(CblasRowMajor, t, m, n, alpha, sb_be_tensor_ptr(&A), lda, sb_be_tensor_ptr(&x),
                    incx, beta, y, 1);
    sb_be_tensor_release(&A);
    sb_be_tensor_release(&x);
}

/* C[M, N] += alpha * a b^T (a, b flattened) with one sger/dger. */
void sb_be_blas_ger(sb_dtype dt, double alpha, const sb_tensor *a0, const sb_tensor *b0, void *C)
{
    sb_tensor a = sb_be_tensor_ref(a0), b = sb_be_tensor_ref(b0);
    int inca, incb;
    vector_arg(&a, dt, &inca);
    vector_arg(&b, dt, &incb);
    int64_t M = sb_be_tensor_numel(&a), N = sb_be_tensor_numel(&b);
    if (M > 0 && N > 0 && dt == SB_DTYPE_F32)
        cblas_sger(CblasRowMajor, (int)M, (int)N, (float)alpha, sb_be_tensor_ptr(&a), inca,
                   sb_be_tensor_ptr(&b), incb, C, (int)N);
    else if (M > 0 && N > 0)
        cblas_dger(CblasRowMajor, (int)M, (int)N, alpha, sb_be_tensor_ptr(&a), inca,
                   sb_be_tensor_ptr(&b), incb, C, (int)N);
    sb_be_tensor_release(&a);
    sb_be_tensor_release(&b);
}
