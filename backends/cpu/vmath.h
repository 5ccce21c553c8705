/* vmath.h: float32 exp / log / tanh / sigmoid written for auto-vectorization.
 *
 * Each function is branch-free scalar code (selects, integer bit tricks, a magic-number
 * round-to-nearest) so that GCC vectorizes a loop calling it: with AVX-512 enabled on the
 * calling function (fuse.c compiles one clone per ISA behind a CPU check) 16 lanes at a time.
 * Polynomials are Cephes' (S. Moshier), evaluated with explicit fused multiply-adds
 * (SB_VM_FMA), accurate to about 1-2 ulp over the float range:
 * exp: range reduction x = n ln2 + r with ln2 split in two, degree-6 polynomial, 2^n as two
 * factors built from exponent bits (so results down to subnormals and up to FLT_MAX are right); log: mantissa in [sqrt(1/2), sqrt(2)), degree-8 polynomial;
 * tanh: odd polynomial below 0.625, 1 - 2e / (1 + e) with e = exp(-2|x|) above (a private exp
 * with one-factor scaling, no special values); sigmoid: 1 / (1 + exp(-x)).
 * Special values follow C99: exp(-inf) = 0, exp(+big) = inf, log(0) = -inf, log(<0) = nan,
 * nan in gives nan out. */
#ifndef SB_CPU_VMATH_H
#define SB_CPU_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define SB_VM_INLINE static inline __attribute__((always_inline))
/* Fused multiply-adds are written out (one rounding, the same bits everywhere): callers compile
 * without floating-point contraction (fuse.c's loops, fusejit.c's kernels), so a value does
 * not depend on where the compiler chose to contract. An x86-64-v3/v4 function gets the FMA
 * instruction inline (and vectorized); a baseline (pre-Haswell) one calls fmaf. */
#define SB_VM_FMA(a, b, c) __builtin_fmaf(a, b, c)

/* The definitions are one macro so that the run-time code generator (fusejit.c) can paste the
 * same text into the kernels it compiles: SB_VM_TEXT is the expanded source as a string. */
#define SB_VM_STR_(...) #__VA_ARGS__
#define SB_VM_STR(x) SB_VM_STR_(x)
#define SB_VM_TEXT SB_VM_STR(SB_VM_DEFS)

#define SB_VM_DEFS \
SB_VM_INLINE float sb_vm_bits_f(uint32_t u)                                                         \
{                                                                                                   \
    float f;                                                                                        \
    memcpy(&f, &u, sizeof f);                                                                       \
    return f;                                                                                       \
}                                                                                                   \
SB_VM_INLINE uint32_t sb_vm_f_bits(float f)                                                         \
{                                                                                                   \
    uint32_t u;                                                                                     \
    memcpy(&u, &f, sizeof u);                                                                       \
    return u;                                                                                       \
}                                                                                                   \
/* exp(x), float32, ~1 ulp. */                                                                      \
SB_VM_INLINE float sb_vm_expf(float x)                                                              \
{                                                                                                   \
    const float hi = 88.72283905206835f, lo = -103.972077083991796f, magic = 12582912.0f;           \
    float xc = x > hi ? hi : x;                                                                     \
    xc = xc < lo ? lo : xc;                                                                         \
    float n = (xc * 1.44269504088896341f + magic) - magic; /* round to nearest */                   \
    float r = SB_VM_FMA(n, -0.693359375f, xc);                                                      \
    r = SB_VM_FMA(n, 2.12194440e-4f, r);                                                            \
    float p = 1.9875691500e-4f;                                                                     \
    p = SB_VM_FMA(p, r, 1.3981999507e-3f);                                                          \
    p = SB_VM_FMA(p, r, 8.3334519073e-3f);                                                          \
    p = SB_VM_FMA(p, r, 4.1665795894e-2f);                                                          \
    p = SB_VM_FMA(p, r, 1.6666665459e-1f);                                                          \
    p = SB_VM_FMA(p, r, 5.0000001201e-1f);                                                          \
    float y = SB_VM_FMA(p, r * r, r) + 1.0f;                                                        \
    int32_t k = (int32_t)n, h = k >> 1; /* 2^n = 2^h 2^(n-h): both normal for n in [-150, 128] */   \
    y = y * sb_vm_bits_f((uint32_t)(h + 127) << 23) * sb_vm_bits_f((uint32_t)(k - h + 127) << 23);  \
    y = x < lo ? 0.0f : y;                                                                          \
    y = x > hi ? INFINITY : y;                                                                      \
    return x != x ? x : y;                                                                          \
}                                                                                                   \
/* log(x), float32, ~1 ulp for normal x (subnormals are scaled up first). */                        \
SB_VM_INLINE float sb_vm_logf(float x)                                                              \
{                                                                                                   \
    int sub = x < 1.17549435e-38f;                                                                  \
    float xs = sub ? x * 8388608.0f : x; /* 2^23 */                                                 \
    uint32_t u = sb_vm_f_bits(xs);                                                                  \
    int32_t e = (int32_t)((u >> 23) & 0xff) - 126;                                                  \
    float m = sb_vm_bits_f((u & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */                         \
    int small = m < 0.707106781186547524f;                                                          \
    e = small ? e - 1 : e;                                                                          \
    m = small ? m + m - 1.0f : m - 1.0f;                                                            \
    float fe = (float)e - (sub ? 23.0f : 0.0f);                                                     \
    float z = m * m;                                                                                \
    float y = 7.0376836292e-2f;                                                                     \
    y = SB_VM_FMA(y, m, -1.1514610310e-1f);                                                         \
    y = SB_VM_FMA(y, m, 1.1676998740e-1f);                                                          \
    y = SB_VM_FMA(y, m, -1.2420140846e-1f);                                                         \
    y = SB_VM_FMA(y, m, 1.4249322787e-1f);                                                          \
    y = SB_VM_FMA(y, m, -1.6668057665e-1f);                                                         \
    y = SB_VM_FMA(y, m, 2.0000714765e-1f);                                                          \
    y = SB_VM_FMA(y, m, -2.4999993993e-1f);                                                         \
    y = SB_VM_FMA(y, m, 3.3333331174e-1f);                                                          \
    y = y * m * z;                                                                                  \
    y = SB_VM_FMA(fe, -2.12194440e-4f, y);                                                          \
    y = SB_VM_FMA(z, -0.5f, y);                                                                     \
    float r = SB_VM_FMA(fe, 0.693359375f, m + y);                                                   \
    r = x == 0.0f ? -INFINITY : r;                                                                  \
    r = x < 0.0f ? NAN : r;                                                                         \
    r = x == INFINITY ? x : r;                                                                      \
    return x != x ? x : r;                                                                          \
}                                                                                                   \
/* exp(-2a) for a in [0, 10] only (tanh's helper: no clamps, no special values). -2a = n ln2 - 2s   \
 * with n = round(-2a / ln2) and s = a + n ln2/2 in [-0.174, 0.174] by one FMA (float(ln2/2) is     \
 * within 1e-9 of ln2/2 and |n| <= 29); exp(-2s) is a degree-6 polynomial in s (minimax             \
 * coefficients of exp(u), u = -2s, scaled by (-2)^k; Estrin's scheme); 2^n is added to the         \
 * exponent bits: the magic 1.5 2^23 leaves n in t's low bits, and the result stays normal. */      \
SB_VM_INLINE float sb_vm_exp_m2a_(float a)                                                          \
{                                                                                                   \
    const float magic = 12582912.0f;                                                                \
    float t = SB_VM_FMA(a, -2.88539008177792681f, magic);                                           \
    float n = t - magic;                                                                            \
    float s = SB_VM_FMA(n, 0.346573590279972655f, a);                                               \
    float s2 = s * s;                                                                               \
    float p01 = SB_VM_FMA(s, -2.0f, 1.0f);                                                          \
    float p23 = SB_VM_FMA(s, -0.166665196f * 8.0f, 0.49999994f * 4.0f);                             \
    float p45 = SB_VM_FMA(s, -0.00836878084f * 32.0f, 0.0416683927f * 16.0f);                       \
    float p = SB_VM_FMA(s2, 0.00138144672f * 64.0f, p45);                                           \
    p = SB_VM_FMA(s2, p, p23);                                                                      \
    p = SB_VM_FMA(s2, p, p01);                                                                      \
    return sb_vm_bits_f(sb_vm_f_bits(p) + (sb_vm_f_bits(t) << 23));                                 \
}                                                                                                   \
/* tanh(x), float32, ~1.5 ulp: odd polynomial below 0.625; above, 1 - 2e / (1 + e) with             \
 * e = exp(-2|x|) in (0, 0.29] (|x| clamped to 10, where tanh rounds to 1); the sign of x is put    \
 * back last (odd symmetry exactly, tanh(-0) = -0). nan: the clamp gives 10, but the select         \
 * takes the polynomial, which is nan. */                                                           \
SB_VM_INLINE float sb_vm_tanhf(float x)                                                             \
{                                                                                                   \
    float ax = fabsf(x);                                                                            \
    float z = ax * ax;                                                                              \
    float p = -5.70498872745e-3f;                                                                   \
    p = SB_VM_FMA(p, z, 2.06390887954e-2f);                                                         \
    p = SB_VM_FMA(p, z, -5.37397155531e-2f);                                                        \
    p = SB_VM_FMA(p, z, 1.33314422036e-1f);                                                         \
    p = SB_VM_FMA(p, z, -3.33332819422e-1f);                                                        \
    float small = SB_VM_FMA(p * z, ax, ax);                                                         \
    float e = sb_vm_exp_m2a_(ax < 10.0f ? ax : 10.0f);                                              \
    float big = 1.0f - (e + e) / (1.0f + e);                                                        \
    float r = ax >= 0.625f ? big : small;                                                           \
    return sb_vm_bits_f(sb_vm_f_bits(r) | (sb_vm_f_bits(x) & 0x80000000u));                         \
}                                                                                                   \
/* sigmoid(x) = 1 / (1 + exp(-x)), float32. */                                                      \
SB_VM_INLINE float sb_vm_sigmoidf(float x)                                                          \
{                                                                                                   \
    return 1.0f / (1.0f + sb_vm_expf(-x));                                                          \
}                                                                                                   \
    /* end of SB_VM_DEFS */

SB_VM_DEFS

#endif
