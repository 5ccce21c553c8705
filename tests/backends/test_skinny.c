/* test_skinny.c: skinny.c's float32 products (N or K at most 16) against a double-precision
 * loop over every transpose combination, alpha / beta (beta = 0 must overwrite NaN garbage),
 * strided operands (lda, ldb larger than needed), odd sizes and sizes that cross the threading
 * threshold, on every ISA clone the CPU runs; the plan running a net's output-layer products through them; and a product too
 * wide for them being refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>

#include "backends/cpu/fuse_impl.h"
#include "backends/cpu/tensor.h"

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* One case: random A, B (stored with padding pad), C; compare with the double loop. */
static void check(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                  int pad)
{
    unsigned s = (unsigned)(M * 131 + N * 17 + K * 7 + ta * 3 + tb);
    int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = (int)ac + pad, ldb = (int)bc + pad;
    float *A = malloc(sizeof(float) * (size_t)(ar * lda)), *B = malloc(sizeof(float) * (size_t)(br * ldb));
    float *C = malloc(sizeof(float) * (size_t)(M * N)), *C0 = malloc(sizeof(float) * (size_t)(M * N));
    for (int64_t i = 0; i < ar * lda; i++) A[i] = frand(&s);
    for (int64_t i = 0; i < br * ldb; i++) B[i] = frand(&s);
    for (int64_t i = 0; i < M * N; i++) C0[i] = C[i] = beta == 0.0f ? NAN : frand(&s);
    cr_assert(sb_be_skinny_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C),
              "refused M=%lld N=%lld K=%lld", (long long)M, (long long)N, (long long)K);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double r = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                r += a * b;
                mag += fabs(a * b);
            }
            r = alpha * r + (beta == 0.0f ? 0.0 : beta * (double)C0[i * N + j]);
            double got = C[i * N + j], tol = 1e-5 * (fabs(alpha) * mag + fabs(beta) + 1);
            cr_assert(fabs(got - r) <= tol,
                      "ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pad=%d: C[%lld,%lld] = %.9g, "
                      "expected %.9g", ta, tb, (long long)M, (long long)N, (long long)K, alpha, beta,
                      pad, (long long)i, (long long)j, got, r);
        }
    free(A);
    free(B);
    free(C);
    free(C0);
}

Test(skinny, every_transpose_alpha_beta_and_size)
{
    static const int64_t shapes[][3] = {
        {1024, 10, 500}, {1024, 500, 10}, {500, 10, 1024}, /* an MLP's output layer */
        {7, 3, 33},      {33, 5, 1},      {1, 16, 17},     {17, 17, 16}, {65, 129, 3},
        {300, 1, 40},    {40, 70, 1},     {257, 16, 600},  {5, 2, 2},
    };
    static const float ab[][2] = {{1, 0}, {-0.1f, 1}, {2.5f, -0.5f}};
    for (int isa = SB_FZ_ISA_V4; isa >= SB_FZ_ISA_BASE; isa--) { /* every clone this CPU runs */
        sb_be_fz_isa_set(isa);
        for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++)
            for (int t = 0; t < 4; t++)
                for (size_t k = 0; k < sizeof ab / sizeof *ab; k++)
                    for (int pad = 0; pad <= 3; pad += 3)
                        check(t & 1, t >> 1, shapes[c][0], shapes[c][1], shapes[c][2], ab[k][0],
                              ab[k][1], pad);
    }
    sb_be_fz_isa_set(-1);
}

Test(skinny, same_bits_for_any_thread_count)
{
    int64_t M = 2048, N = 10, K = 700;
    unsigned s = 7;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
    float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *C2 = malloc(sizeof(float) * (size_t)(M * N));
    for (int64_t i = 0; i < M * K; i++) A[i] = frand(&s);
    for (int64_t i = 0; i < K * N; i++) B[i] = frand(&s);
    for (int ta = 0; ta < 2; ta++) {
        int lda = ta ? (int)M : (int)K;
        omp_set_num_threads(1);
        sb_be_skinny_sgemm(ta, false, ta ? M : M, N, K, 1.0f, A, lda, B, (int)N, 0.0f, C1);
        omp_set_num_threads(3);
        sb_be_skinny_sgemm(ta, false, M, N, K, 1.0f, A, lda, B, (int)N, 0.0f, C2);
        cr_assert(!memcmp(C1, C2, sizeof(float) * (size_t)(M * N)), "ta=%d: bits differ", ta);
    }
    free(A);
    free(B);
    free(C1);
    free(C2);
}

Test(skinny, wide_products_are_left_to_openblas)
{
    float a[1] = {0}, c[1] = {0};
    cr_assert_not(sb_be_skinny_sgemm(false, false, 64, 17, 17, 1.0f, a, 17, a, 17, 0.0f, c));
    cr_assert_not(sb_be_skinny_sgemm(false, false, 0, 4, 4, 1.0f, a, 4, a, 4, 0.0f, c));
}
