/* blas.c: matmul (NumPy rules: 1-D promotion, batched with broadcasting) through OpenBLAS
 * sgemm / dgemm, integer matmul in int64, and outer. */
#include "tensor.h"

#include <cblas.h>

/* C[n, m] = A[n, k] @ B[k, m], all contiguous of dtype dt; C is zero on entry. */
static void gemm(sb_dtype dt, int64_t n, int64_t m, int64_t k, const void *A, const void *B,
                 void *C)
{
    if (n == 0 || m == 0 || k == 0) return;
    int lda = (int)k, ldb = (int)m, ldc = (int)m;
    if (dt == SB_DTYPE_F32) {
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
