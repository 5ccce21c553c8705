/* skinny.c: float32 matrix products with a small inner (K) or output-column (N) dimension.
 *
 * A neural net's output layer makes such products: h @ W2 ([B, 500] x [500, 10]), dZ @ W2.T
 * ([B, 10] x [10, 500]) and h.T @ dZ ([500, B] x [B, 10]). OpenBLAS packs its operands into
 * panels sized for square products; with 10 columns most of that work is wasted, and its two
 * threads cost more to wake than the product costs (measured at B = 1024: 0.18-0.29 ms each with
 * OpenBLAS, where the arithmetic is 5 M multiply-adds). Here the small operand is packed once
 * (at most 16 x the other size) and the large one is read once, in its own layout, by loops that
 * GCC vectorizes (AVX-512, AVX2 or baseline clones picked at run time).
 *
 * Contract (as cblas_sgemm, row-major): C[M, N] = alpha * op(A) @ op(B) + beta * C, C contiguous
 * (ldc = N), op(A)(i, k) = ta ? A[k * lda + i] : A[i * lda + k], op(B)(k, j) = tb ? B[j * ldb + k]
 * : B[k * ldb + j]; beta == 0 overwrites C (whatever it held). Every element is summed in an
 * order fixed by the sizes alone (threads split rows), so results do not depend on threads. */
#include "fuse_impl.h"
#include "tensor.h"

#include <stdlib.h>
#include <string.h>

/* The baseline clone passes 64-byte vectors between inlined helpers: no ABI is exposed. */
#pragma GCC diagnostic ignored "-Wpsabi"

#define SK_MAX 16   /* the small dimension: at most this */
#ifndef SK_PAR
#define SK_PAR (1 << 21) /* multiply-adds above which rows are split among threads when they
                            sleep at once (sb_be_par_min: an eighth while they spin) */
#endif

static inline __attribute__((always_inline)) float opa(const float *A, int lda, bool ta, int64_t i, int64_t k)
{
    return ta ? A[k * lda + i] : A[i * lda + k];
}

static inline __attribute__((always_inline)) float opb(const float *B, int ldb, bool tb, int64_t k, int64_t j)
{
    return tb ? B[j * ldb + k] : B[k * ldb + j];
}

static inline __attribute__((always_inline)) float finish(float alpha, float beta, float s, float c)
{
    return beta == 0.0f ? alpha * s : alpha * s + beta * c;
}

typedef float sk_v16 __attribute__((vector_size(64), aligned(4)));

static inline __attribute__((always_inline)) sk_v16 ld16(const float *p)
{
    sk_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void st16(float *p, sk_v16 v)
{
    memcpy(p, &v, sizeof v);
}

/* The sum of v's 16 lanes (fuse_impl.h's butterfly fold). */
static inline __attribute__((always_inline)) float hsum16(sk_v16 v)
{
    return SB_V16_FOLD(v, SB_V16_ADD);
}

/* c[j0, j0 + 16 Q) = alpha * sum_k a[k] * Bp[k, j0:...] (+ beta * c): Q vector accumulators. */
static inline __attribute__((always_inline)) void ksmall_cols(const int Q, int64_t j0, int64_t K,
    float alpha, const float *a, const float *Bp, int64_t ldp, float beta, float *c)
{
    sk_v16 acc[Q];
    for (int q = 0; q < Q; q++) acc[q] = (sk_v16){0};
    for (int64_t k = 0; k < K; k++)
        for (int q = 0; q < Q; q++) acc[q] += a[k] * ld16(Bp + k * ldp + j0 + 16 * q);
    for (int q = 0; q < Q; q++) {
        sk_v16 r = alpha * acc[q];
        if (beta != 0.0f) r += beta * ld16(c + j0 + 16 * q);
        st16(c + j0 + 16 * q, r);
    }
}

/* K small: row i of C = sum_k op(A)(i, k) * Bp[k, :], Bp = op(B) packed [K, N] (rows ldp apart):
 * 128 columns at a time (8 vector accumulators, independent chains), then 64 (4), then 16, the
 * last few by scalars. */
static inline __attribute__((always_inline)) void ksmall_row(int64_t i, int64_t N, int64_t K,
    float alpha, const float *A, int lda, bool ta, const float *Bp, int64_t ldp, float beta,
    float *C)
{
    {
        float a[SK_MAX];
        for (int64_t k = 0; k < K; k++) a[k] = opa(A, lda, ta, i, k);
        float *c = C + i * N;
        int64_t j0 = 0;
        for (; j0 + 128 <= N; j0 += 128) /* 8 independent chains: FMA latency x 2 pipes */
            ksmall_cols(8, j0, K, alpha, a, Bp, ldp, beta, c);
        for (; j0 + 64 <= N; j0 += 64) ksmall_cols(4, j0, K, alpha, a, Bp, ldp, beta, c);
        for (; j0 + 16 <= N; j0 += 16) {
            sk_v16 acc = {0};
            for (int64_t k = 0; k < K; k++) acc += a[k] * ld16(Bp + k * ldp + j0);
            sk_v16 r = alpha * acc;
            if (beta != 0.0f) r += beta * ld16(c + j0);
            st16(c + j0, r);
        }
        for (int64_t j = j0; j < N; j++) {
            float s = 0;
            for (int64_t k = 0; k < K; k++) s += a[k] * Bp[k * ldp + j];
            c[j] = finish(alpha, beta, s, c[j]);
        }
    }
}

/* N small, A rows contiguous in k: C[i, j] = dot(A[i, :], Bt[j, :]), Bt = op(B)^T packed [N, K];
 * NN (= N, a constant) vector accumulators per row, lanes summed in a fixed order. */
static inline __attribute__((always_inline)) void nrows_row(const int NN, int64_t i, int64_t K,
    float alpha, const float *A, int lda, const float *Bt, int64_t ldt, float beta, float *C)
{
    {
        const float *a = A + i * lda;
        sk_v16 acc[NN];
        for (int j = 0; j < NN; j++) acc[j] = (sk_v16){0};
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            sk_v16 av = ld16(a + k);
            for (int j = 0; j < NN; j++) acc[j] += av * ld16(Bt + j * ldt + k);
        }
        for (int j = 0; j < NN; j++) {
            float s = hsum16(acc[j]);
            for (int64_t t = k; t < K; t++) s += a[t] * Bt[j * ldt + t];
            C[i * NN + j] = finish(alpha, beta, s, C[i * NN + j]);
        }
    }
}

/* N small, A transposed (op(A)(i, k) = A[k, i], contiguous in i): for 16 rows i at a time, NN
 * vector accumulators (one per column j) summed over k; the last partial rows by scalars. */
static inline __attribute__((always_inline)) void ncols_block(const int NN, int64_t i0, int64_t m,
    int64_t K, float alpha, const float *A, int lda, const float *Bp, float beta, float *C)
{
    {
        sk_v16 acc[NN];
        for (int j = 0; j < NN; j++) acc[j] = (sk_v16){0};
        if (m == 16) {
            for (int64_t k = 0; k < K; k++) {
                sk_v16 av = ld16(A + k * lda + i0);
                for (int j = 0; j < NN; j++) acc[j] += Bp[k * NN + j] * av;
            }
        } else { /* the last rows: A's few columns through a zero-padded copy */
            for (int64_t k = 0; k < K; k++) {
                float pad[16] = {0};
                for (int64_t l = 0; l < m; l++) pad[l] = A[k * lda + i0 + l];
                sk_v16 av = ld16(pad);
                for (int j = 0; j < NN; j++) acc[j] += Bp[k * NN + j] * av;
            }
        }
        /* the accumulators stay in registers: copied out by value, then read as scalars */
        float t[NN][16];
        for (int j = 0; j < NN; j++) {
            sk_v16 v = acc[j];
            memcpy(t[j], &v, sizeof v);
        }
        for (int64_t l = 0; l < m; l++)
            for (int j = 0; j < NN; j++)
                C[(i0 + l) * NN + j] = finish(alpha, beta, t[j][l], C[(i0 + l) * NN + j]);
    }
}

/* One clone per ISA (the OpenMP loops live in the clones so that their outlined bodies get the
 * clone's ISA); the N-small kernels specialized for each N in 1..16 (the accumulators then live
 * in registers). */
#define SK_N_CASES(BODY, ...)                                                                      \
    switch (N) {                                                                                   \
    case 1: BODY(1, __VA_ARGS__); break;   case 2: BODY(2, __VA_ARGS__); break;                    \
    case 3: BODY(3, __VA_ARGS__); break;   case 4: BODY(4, __VA_ARGS__); break;                    \
    case 5: BODY(5, __VA_ARGS__); break;   case 6: BODY(6, __VA_ARGS__); break;                    \
    case 7: BODY(7, __VA_ARGS__); break;   case 8: BODY(8, __VA_ARGS__); break;                    \
    case 9: BODY(9, __VA_ARGS__); break;   case 10: BODY(10, __VA_ARGS__); break;                  \
    case 11: BODY(11, __VA_ARGS__); break; case 12: BODY(12, __VA_ARGS__); break;                  \
    case 13: BODY(13, __VA_ARGS__); break; case 14: BODY(14, __VA_ARGS__); break;                  \
    case 15: BODY(15, __VA_ARGS__); break; default: BODY(16, __VA_ARGS__); break;                  \
    }

#define SK_CLONES(SUFFIX, ATTR)                                                                    \
    ATTR static void ksmall_##SUFFIX(int64_t M, int64_t N, int64_t K, float alpha, const float *A, \
                                     int lda, bool ta, const float *Bp, int64_t ldp, float beta,   \
                                     float *C)                                                     \
    {                                                                                              \
        int64_t pm = sb_be_par_min(SK_PAR);                                                        \
        _Pragma("omp parallel for schedule(static) if (M * N * K > pm)")                           \
        for (int64_t i = 0; i < M; i++) ksmall_row(i, N, K, alpha, A, lda, ta, Bp, ldp, beta, C);  \
    }                                                                                              \
    ATTR static void nrows_##SUFFIX(int64_t M, int64_t N, int64_t K, float alpha, const float *A,  \
                                    int lda, const float *Bt, int64_t ldt, float beta, float *C)   \
    {                                                                                              \
        int64_t pm = sb_be_par_min(SK_PAR);                                                        \
        _Pragma("omp parallel for schedule(static) if (M * N * K > pm)")                           \
        for (int64_t i = 0; i < M; i++) {                                                          \
            SK_N_CASES(nrows_row, i, K, alpha, A, lda, Bt, ldt, beta, C)                           \
        }                                                                                          \
    }                                                                                              \
    ATTR static void ncols_##SUFFIX(int64_t M, int64_t N, int64_t K, float alpha, const float *A,  \
                                    int lda, const float *Bp, float beta, float *C)                \
    {                                                                                              \
        int64_t nv = (M + 15) / 16, pm = sb_be_par_min(SK_PAR);                                    \
        _Pragma("omp parallel for schedule(static) if (M * N * K > pm)")                           \
        for (int64_t v = 0; v < nv; v++) {                                                         \
            int64_t i0 = v * 16, m = M - i0 < 16 ? M - i0 : 16;                                    \
            SK_N_CASES(ncols_block, i0, m, K, alpha, A, lda, Bp, beta, C)                          \
        }                                                                                          \
    }

#define SK_V4 __attribute__((target("arch=x86-64-v4")))
#define SK_V3 __attribute__((target("arch=x86-64-v3")))
SK_CLONES(v4, SK_V4)
SK_CLONES(v3, SK_V3)
SK_CLONES(base, )

/* A packing buffer of n floats, kept per thread and grown as needed (a steady run allocates
 * nothing). */
static float *scratch(int64_t n)
{
    static _Thread_local float *buf;
    static _Thread_local int64_t cap;
    if (n > cap) {
        free(buf);
        cap = n > 4096 ? (n + 15) / 16 * 16 : 4096;
        buf = aligned_alloc(64, sizeof(float) * (size_t)cap); /* packed rows start on lines */
        SB_ASSERT(buf);
    }
    return buf;
}

/* Packed rows are padded to whole 64-byte lines: a row of 500 floats would put every other
 * row's vector loads across two cache lines (measured: the N-small kernel at [128, 500] x
 * [500, 10] ran at half speed). */
static int64_t padded(int64_t n)
{
    return (n + 15) / 16 * 16;
}

bool sb_be_skinny_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C)
{
    if (M <= 0 || N <= 0 || K <= 0) return false;
    int lv = sb_be_fz_isa(); /* the clones fuse.c picks (tests force each one) */
    if (N <= SK_MAX && (N <= K || K > SK_MAX)) {
        if (!ta) {
            int64_t ldt = padded(K);
            float *Bt = scratch(N * ldt);
            for (int64_t j = 0; j < N; j++)
                for (int64_t k = 0; k < K; k++) Bt[j * ldt + k] = opb(B, ldb, tb, k, j);
            (lv == SB_FZ_ISA_V4 ? nrows_v4 : lv == SB_FZ_ISA_V3 ? nrows_v3 : nrows_base)(M, N, K, alpha, A, lda, Bt, ldt, beta, C);
        } else { /* B packed [K, N]: the inner loop over N unrolls, accumulators in registers */
            float *Bp = scratch(K * N);
            for (int64_t k = 0; k < K; k++)
                for (int64_t j = 0; j < N; j++) Bp[k * N + j] = opb(B, ldb, tb, k, j);
            (lv == SB_FZ_ISA_V4 ? ncols_v4 : lv == SB_FZ_ISA_V3 ? ncols_v3 : ncols_base)(M, N, K, alpha, A, lda, Bp, beta, C);
        }
        return true;
    }
    if (K <= SK_MAX) {
        int64_t ldp = padded(N);
        float *Bp = scratch(K * ldp);
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < N; j++) Bp[k * ldp + j] = opb(B, ldb, tb, k, j);
        (lv == SB_FZ_ISA_V4 ? ksmall_v4 : lv == SB_FZ_ISA_V3 ? ksmall_v3 : ksmall_base)(M, N, K, alpha, A, lda, ta, Bp, ldp, beta, C);
        return true;
    }
    return false;
}
