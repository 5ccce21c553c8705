/* codegen.c: CUDA C source for the backend's kernels, compiled at run time by NVRTC (nvrtc.c).
 *
 * Fused elementwise groups (cu-impl.h: sb_cu_group) become one device function computing the
 * group's result from its leaves' values (every instruction a C expression in its computation
 * dtype, with NumPy's semantics: Python floor division and modulo, NaN-propagating maximum /
 * minimum, round half to even, wrapping integers) and one kernel around it with a grid-stride
 * loop and two paths:
 *   flat:    every leaf is contiguous in the result's shape or a single element; float32
 *            groups load and store float4 (4 elements per thread per iteration);
 *   strided: the flat index is unravelled over the result's shape and each leaf is read at
 *            its own element strides (0 = broadcast), so transposes and broadcasts need no copy;
 *            in 32-bit arithmetic when the result has fewer than 2^31 elements (a 64-bit
 *            division is a long software sequence on the GPU, a 32-bit one a few instructions).
 * The kernel's name is sbk_e_<hash of its source>: equal groups give equal source, which is the
 * key of the NVRTC caches.
 *
 * Row kernels (softmax, log_softmax, logsumexp, crossentropy, sum / mean / prod / max / min over
 * the last axis) use one block per row: each thread folds its strided share of the row (softmax
 * with an online running max and rescaled sum), then warps combine with shuffles and the warps'
 * results through shared memory. Column reductions (over the leading axis, e.g. a bias
 * gradient) use one thread per column, coalesced across threads. */
#include "backends/cuda/cu-impl.h"

#include <stdarg.h>

/* ---- a growable string ----------------------------------------------------------------------- */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        SB_ASSERT(k >= 0);
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = sb_xrealloc(b->s, b->cap);
        b->s[b->n] = 0;
    }
}

void sb_cu_src_free(sb_cu_src *s)
{
    free(s->name);
    free(s->code);
    s->name = s->code = NULL;
}

const char *sb_cu_ctype(sb_dtype dt)
{
    switch (dt) {
    case SB_DTYPE_BOOL: return "bool";
    case SB_DTYPE_U8: return "unsigned char";
    case SB_DTYPE_I32: return "int";
    case SB_DTYPE_I64: return "long long";
    case SB_DTYPE_F32: return "float";
    case SB_DTYPE_F64: return "double";
    default: SB_ASSERT(!"dtype without a C type");
    }
    return NULL;
}

static const char *dt_tag(sb_dtype dt)
{
    static const char *const t[] = {"b", "u8", "i32", "i64", "f32", "f64"};
    SB_ASSERT(dt < SB_DTYPE_COUNT);
    return t[dt];
}

_Static_assert(SB_MAX_DIMS == 8, "the prelude's sb_dims has 8 dims");

/* ---- the prelude: helpers with NumPy semantics, overloaded per computation type ------------ */
static const char prelude[] =
    "typedef long long ll;\n"
    "typedef unsigned long long ull;\n"
    "#ifndef INFINITY\n#define INFINITY __int_as_float(0x7f800000)\n#endif\n"
    "#ifndef NAN\n#define NAN __int_as_float(0x7fffffff)\n#endif\n"
    "struct sb_dims { ll d[" /* SB_MAX_DIMS */ "8]; };\n"
    /* the block's dynamic shared memory as an array of T (emulations define their own) */
    "#ifndef SB_DYN_SMEM\n"
    "#define SB_DYN_SMEM(T, name) extern __shared__ __align__(16) unsigned char name##_raw[];"
    " T *name = reinterpret_cast<T *>(name##_raw)\n"
    "#endif\n"
    "#define SBF __device__ __forceinline__\n"
    "SBF float sb_abs(float x) { return fabsf(x); }\n"
    "SBF double sb_abs(double x) { return fabs(x); }\n"
    "SBF ll sb_abs(ll x) { return x < 0 ? (ll)(0ULL - (ull)x) : x; }\n"
    "SBF float sb_neg(float x) { return -x; }\n"
    "SBF double sb_neg(double x) { return -x; }\n"
    "SBF ll sb_neg(ll x) { return (ll)(0ULL - (ull)x); }\n"
    "template <class T> SBF T sb_sign(T x) { return x > T(0) ? T(1) : x < T(0) ? T(-1) : x; }\n"
    "template <class T> SBF T sb_sqr(T x) { return x * x; }\n"
    "SBF ll sb_sqr(ll x) { return (ll)((ull)x * (ull)x); }\n"
    "template <class T> SBF T sb_relu(T x) { return x < T(0) ? T(0) : x; }\n"
    "SBF float sb_floor(float x) { return floorf(x); }\n"
    "SBF double sb_floor(double x) { return floor(x); }\n"
    "SBF ll sb_floor(ll x) { return x; }\n"
    "SBF float sb_ceil(float x) { return ceilf(x); }\n"
    "SBF double sb_ceil(double x) { return ceil(x); }\n"
    "SBF ll sb_ceil(ll x) { return x; }\n"
    "SBF float sb_round(float x) { return rintf(x); }\n"
    "SBF double sb_round(double x) { return rint(x); }\n"
    "SBF ll sb_round(ll x) { return x; }\n"
    "SBF float sb_sigmoid(float x) { return x >= 0 ? 1.f / (1.f + expf(-x))"
    " : expf(x) / (1.f + expf(x)); }\n"
    "SBF double sb_sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x))"
    " : exp(x) / (1 + exp(x)); }\n"
    "template <class T> SBF T sb_softplus(T x) { return x > T(0) ? x + log1p(exp(-x))"
    " : log1p(exp(x)); }\n"
    "template <class T> SBF T sb_max(T x, T y) { return (x != x || x >= y) ? x : y; }\n"
    "template <class T> SBF T sb_min(T x, T y) { return (x != x || x <= y) ? x : y; }\n"
    "template <class T> SBF T sb_mod(T x, T y) {\n"
    "  T m = fmod(x, y); if (y == T(0)) return m;\n"
    "  if (m != T(0)) { if ((y < T(0)) != (m < T(0))) m += y; } else m = copysign(T(0), y);\n"
    "  return m; }\n"
    "SBF ll sb_mod(ll x, ll y) { if (y == 0 || y == -1) return 0; ll r = x % y;\n"
    "  if (r != 0 && ((r < 0) != (y < 0))) r += y; return r; }\n"
    "template <class T> SBF T sb_floordiv(T x, T y) {\n"
    "  if (y == T(0)) return x / y; T m = fmod(x, y), q = (x - m) / y;\n"
    "  if (m != T(0) && (y < T(0)) != (m < T(0))) q -= T(1);\n"
    "  if (q == T(0)) return copysign(T(0), x / y); T f = floor(q);\n"
    "  return q - f > T(0.5) ? f + T(1) : f; }\n"
    "SBF ll sb_floordiv(ll x, ll y) { if (y == 0) return 0;"
    " if (y == -1) return (ll)(0ULL - (ull)x);\n"
    "  ll q = x / y; if (x % y != 0 && ((x < 0) != (y < 0))) q--; return q; }\n"
    "template <class T> SBF T sb_pow(T x, T y) { return pow(x, y); }\n"
    "SBF ll sb_pow(ll x, ll y) { if (y < 0) return x == 1 ? 1 : x == -1 ? (y % 2 ? -1 : 1) : 0;\n"
    "  ull r = 1, b = (ull)x; for (; y; y >>= 1, b *= b) if (y & 1) r *= b;\n"
    "  return (ll)r; }\n"
    "SBF ll sb_add(ll x, ll y) { return (ll)((ull)x + (ull)y); }\n"
    "SBF ll sb_sub(ll x, ll y) { return (ll)((ull)x - (ull)y); }\n"
    "SBF ll sb_mul(ll x, ll y) { return (ll)((ull)x * (ull)y); }\n"
    "template <class T> SBF T sb_add(T x, T y) { return x + y; }\n"
    "template <class T> SBF T sb_sub(T x, T y) { return x - y; }\n"
    "template <class T> SBF T sb_mul(T x, T y) { return x * y; }\n";

/* ---- groups ---------------------------------------------------------------------------------- */
bool sb_cu_elemwise_supported(sb_op op)
{
    if (op == SB_OP_CAST || op == SB_OP_WHERE || op == SB_OP_CLIP) return true;
    return op < SB_OP_COUNT && (sb_op_get(op)->flags & SB_F_ELEMWISE);
}

int sb_cu_group_leaf(sb_cu_group *g, sb_dtype dt)
{
    SB_ASSERT(g->ninstr == 0 && g->nleaf < SB_CU_MAXREG);
    g->leaf_dtype[g->nleaf] = dt;
    return g->nleaf++;
}

int sb_cu_group_add(sb_cu_group *g, sb_op op, sb_dtype dt, sb_dtype comp, int a, int b, int c,
                    double value)
{
    SB_ASSERT(g->nleaf + g->ninstr < SB_CU_MAXREG);
    SB_ASSERT(op == SB_OP_CONST || sb_cu_elemwise_supported(op));
    g->instr[g->ninstr] = (sb_cu_instr){.op = (int16_t)op, .a = (int16_t)a, .b = (int16_t)b,
                                        .c = (int16_t)c, .dtype = dt, .comp = comp,
                                        .value = value};
    return g->nleaf + g->ninstr++;
}

sb_dtype sb_cu_group_dtype(const sb_cu_group *g)
{
    SB_ASSERT(g->ninstr > 0);
    return g->instr[g->ninstr - 1].dtype;
}

/* The C expression of a unary op on x (a register converted to the computation type). */
static const char *unary_fmt(sb_op op)
{
    switch (op) {
    case SB_OP_NEG: return "sb_neg(%s)";
    case SB_OP_ABS: return "sb_abs(%s)";
    case SB_OP_SIGN: return "sb_sign(%s)";
    case SB_OP_EXP: return "exp(%s)";
    case SB_OP_EXPM1: return "expm1(%s)";
    case SB_OP_LOG: return "log(%s)";
    case SB_OP_LOG1P: return "log1p(%s)";
    case SB_OP_LOG2: return "log2(%s)";
    case SB_OP_SQRT: return "sqrt(%s)";
    case SB_OP_SQR: return "sb_sqr(%s)";
    case SB_OP_RECIPROCAL: return "(1 / %s)";
    case SB_OP_SIN: return "sin(%s)";
    case SB_OP_COS: return "cos(%s)";
    case SB_OP_TANH: return "tanh(%s)";
    case SB_OP_SIGMOID: return "sb_sigmoid(%s)";
    case SB_OP_SOFTPLUS: return "sb_softplus(%s)";
    case SB_OP_RELU: return "sb_relu(%s)";
    case SB_OP_ERF: return "erf(%s)";
    case SB_OP_FLOOR: return "sb_floor(%s)";
    case SB_OP_CEIL: return "sb_ceil(%s)";
    case SB_OP_ROUND: return "sb_round(%s)";
    case SB_OP_LOGICAL_NOT: return "(!%s)";
    case SB_OP_CAST: return "(%s)";
    default: return NULL;
    }
}

/* The C expression of a binary op on x, y. */
static const char *binary_fmt(sb_op op)
{
    switch (op) {
    case SB_OP_ADD: return "sb_add(%s, %s)";
    case SB_OP_SUB: return "sb_sub(%s, %s)";
    case SB_OP_MUL: return "sb_mul(%s, %s)";
    case SB_OP_DIV: return "(%s / %s)";
    case SB_OP_FLOOR_DIVIDE: return "sb_floordiv(%s, %s)";
    case SB_OP_MOD: return "sb_mod(%s, %s)";
    case SB_OP_POW: return "sb_pow(%s, %s)";
    case SB_OP_MAXIMUM: return "sb_max(%s, %s)";
    case SB_OP_MINIMUM: return "sb_min(%s, %s)";
    case SB_OP_LT: return "(%s < %s)";
    case SB_OP_LE: return "(%s <= %s)";
    case SB_OP_GT: return "(%s > %s)";
    case SB_OP_GE: return "(%s >= %s)";
    case SB_OP_EQ: return "(%s == %s)";
    case SB_OP_NE: return "(%s != %s)";
    case SB_OP_LOGICAL_AND: return "(%s && %s)";
    case SB_OP_LOGICAL_OR: return "(%s || %s)";
    default: return NULL;
    }
}

/* Register r converted to the computation type: "((float)r3)". */
static void operand(char *buf, size_t n, int r, sb_dtype comp)
{
    snprintf(buf, n, "((%s)r%d)", sb_cu_ctype(comp), r);
}

/* A literal of dtype dt, exact (hex floats keep every bit). */
static void literal(sbuf *b, sb_dtype dt, double v)
{
    if (dt == SB_DTYPE_F32) put(b, "%af", (double)(float)v);
    else if (dt == SB_DTYPE_F64) put(b, "%a", v);
    else if (dt == SB_DTYPE_BOOL) put(b, "%s", v != 0 ? "true" : "false");
    else put(b, "(%s)%lldLL", sb_cu_ctype(dt), (long long)v);
}

/* One instruction: "  float r5 = (float)(expr);" */
static void emit_instr(sbuf *b, const sb_cu_group *g, int i)
{
    const sb_cu_instr *in = &g->instr[i];
    int r = g->nleaf + i;
    char x[48], y[48], z[48];
    put(b, "  %s r%d = (%s)(", sb_cu_ctype(in->dtype), r, sb_cu_ctype(in->dtype));
    sb_op op = (sb_op)in->op;
    if (op == SB_OP_CONST) {
        literal(b, in->dtype, in->value);
    } else if (op == SB_OP_WHERE) {
        operand(x, sizeof x, in->a, SB_DTYPE_BOOL);
        operand(y, sizeof y, in->b, in->comp);
        operand(z, sizeof z, in->c, in->comp);
        put(b, "%s ? %s : %s", x, y, z);
    } else if (op == SB_OP_CLIP) {
        operand(x, sizeof x, in->a, in->comp);
        operand(y, sizeof y, in->b, in->comp);
        operand(z, sizeof z, in->c, in->comp);
        put(b, "sb_min(sb_max(%s, %s), %s)", x, y, z);
    } else if (unary_fmt(op)) {
        operand(x, sizeof x, in->a, in->comp);
        put(b, unary_fmt(op), x);
    } else {
        SB_ASSERT(binary_fmt(op));
        operand(x, sizeof x, in->a, in->comp);
        operand(y, sizeof y, in->b, in->comp);
        put(b, binary_fmt(op), x, y);
    }
    put(b, ");\n");
}

/* The device function sbk_f(r0, ..) computing the group's result. */
static void emit_body(sbuf *b, const sb_cu_group *g)
{
    put(b, "SBF %s sbk_f(", sb_cu_ctype(sb_cu_group_dtype(g)));
    for (int i = 0; i < g->nleaf; i++)
        put(b, "%s%s r%d", i ? ", " : "", sb_cu_ctype(g->leaf_dtype[i]), i);
    put(b, ")\n{\n");
    for (int i = 0; i < g->ninstr; i++) emit_instr(b, g, i);
    put(b, "  return r%d;\n}\n", g->nleaf + g->ninstr - 1);
}

/* Whether the flat path can use float4: the result and every leaf are float32. */
static bool all_f32(const sb_cu_group *g)
{
    if (sb_cu_group_dtype(g) != SB_DTYPE_F32) return false;
    for (int i = 0; i < g->nleaf; i++)
        if (g->leaf_dtype[i] != SB_DTYPE_F32) return false;
    return true;
}

/* The float4 part of the flat path: i4 over n / 4 quads, then the scalar tail. */
static void emit_vec4(sbuf *b, const sb_cu_group *g)
{
    put(b, "    ll n4 = n >> 2;\n"
           "    for (ll i = tid; i < n4; i += step) {\n");
    for (int k = 0; k < g->nleaf; k++)
        put(b, "      float4 v%d = (scal >> %d & 1) ? make_float4(in%d[0], in%d[0], in%d[0],"
               " in%d[0]) : reinterpret_cast<const float4 *>(in%d)[i];\n",
            k, k, k, k, k, k, k);
    put(b, "      float4 o;\n");
    static const char lane[] = "xyzw";
    for (int l = 0; l < 4; l++) {
        put(b, "      o.%c = sbk_f(", lane[l]);
        for (int k = 0; k < g->nleaf; k++) put(b, "%sv%d.%c", k ? ", " : "", k, lane[l]);
        put(b, ");\n");
    }
    put(b, "      reinterpret_cast<float4 *>(out)[i] = o;\n"
           "    }\n"
           "    for (ll i = (n4 << 2) + tid; i < n; i += step)\n"
           "      out[i] = sbk_f(");
    for (int k = 0; k < g->nleaf; k++) put(b, "%sin%d[(scal >> %d & 1) ? 0 : i]", k ? ", " : "", k, k);
    put(b, ");\n");
}

/* The strided loop with index type I (ll, or unsigned when n < 2^31: every offset is then
 * below 2^31 too, and i + step cannot wrap). */
static void emit_strided(sbuf *b, const sb_cu_group *g, const char *I)
{
    put(b, "  for (%s i = (%s)tid; i < (%s)n; i += (%s)step) {\n"
           "    %s rem = i", I, I, I, I, I);
    for (int k = 0; k < g->nleaf; k++) put(b, ", o%d = 0", k);
    put(b, ";\n"
           "    for (int d = ndim - 1; d >= 0; d--) {\n"
           "      %s sd = (%s)shape.d[d], q = rem / sd, idx = rem - q * sd;\n"
           "      rem = q;\n", I, I);
    for (int k = 0; k < g->nleaf; k++) put(b, "      o%d += idx * (%s)st%d.d[d];\n", k, I, k);
    put(b, "    }\n    out[i] = sbk_f(");
    for (int k = 0; k < g->nleaf; k++) put(b, "%sin%d[o%d]", k ? ", " : "", k, k);
    put(b, ");\n  }\n");
}

/* The kernel: signature (see cu-impl.h), flat path, strided paths (path 0: 64-bit index
 * arithmetic, 1: flat, 2: 32-bit). */
static void emit_kernel(sbuf *b, const sb_cu_group *g, const char *name)
{
    put(b, "extern \"C\" __global__ void __launch_bounds__(256) %s(ll n, int ndim, sb_dims shape,"
           " int path, unsigned scal, %s *__restrict__ out",
        name, sb_cu_ctype(sb_cu_group_dtype(g)));
    for (int k = 0; k < g->nleaf; k++)
        put(b, ", const %s *__restrict__ in%d, sb_dims st%d", sb_cu_ctype(g->leaf_dtype[k]), k, k);
    put(b, ")\n{\n"
           "  ll tid = (ll)blockIdx.x * blockDim.x + threadIdx.x;\n"
           "  ll step = (ll)gridDim.x * blockDim.x;\n"
           "  if (path == 1) {\n");
    if (all_f32(g)) {
        emit_vec4(b, g);
    } else {
        put(b, "    for (ll i = tid; i < n; i += step)\n      out[i] = sbk_f(");
        for (int k = 0; k < g->nleaf; k++)
            put(b, "%sin%d[(scal >> %d & 1) ? 0 : i]", k ? ", " : "", k, k);
        put(b, ");\n");
    }
    put(b, "    return;\n  }\n"
           "  if (path == 2) {\n");
    emit_strided(b, g, "unsigned");
    put(b, "    return;\n  }\n");
    emit_strided(b, g, "ll");
    put(b, "}\n");
}

sb_cu_src sb_cu_gen_group(const sb_cu_group *g)
{
    SB_ASSERT(g->ninstr > 0);
    sbuf body = {0};
    emit_body(&body, g);
    /* the name hashes the body and the signature's dtypes: equal groups, equal source */
    uint64_t h = sb_hash_bytes(body.s, body.n, 0x5b5b);
    h = sb_hash_bytes(g->leaf_dtype, sizeof g->leaf_dtype[0] * (size_t)g->nleaf, h);
    char *name = sb_xasprintf("sbk_e_%016llx", (unsigned long long)h);
    sbuf b = {0};
    put(&b, "%s%s", prelude, body.s);
    emit_kernel(&b, g, name);
    free(body.s);
    return (sb_cu_src){.name = name, .code = b.s};
}

/* ---- row kernels ----------------------------------------------------------------------------- */
static const char *const row_names[] = {"softmax", "log_softmax", "logsumexp", "sum", "mean",
                                        "prod", "max", "min", "xent_labels", "xent_dense"};

/* Block-wide combination of one accumulator (acc type A, combiner C, identity I): warps by
 * shuffles, then warp 0 over the warps' partials (blockDim is a multiple of 32, at most 1024). */
static void emit_block_reduce(sbuf *b, const char *acc, const char *comb, const char *ident)
{
    put(b,
        "SBF %s sb_comb(%s x, %s y) { return %s; }\n"
        "__device__ %s sb_block(%s v)\n{\n"
        "  __shared__ %s sh[32];\n"
        "  for (int o = 16; o; o >>= 1) v = sb_comb(v, __shfl_xor_sync(0xffffffffu, v, o));\n"
        "  int w = threadIdx.x >> 5, l = threadIdx.x & 31;\n"
        "  if (l == 0) sh[w] = v;\n"
        "  __syncthreads();\n"
        "  if (w == 0) {\n"
        "    v = l < (int)(blockDim.x >> 5) ? sh[l] : (%s)(%s);\n"
        "    for (int o = 16; o; o >>= 1) v = sb_comb(v, __shfl_xor_sync(0xffffffffu, v, o));\n"
        "    if (l == 0) sh[0] = v;\n"
        "  }\n"
        "  __syncthreads();\n"
        "  v = sh[0];\n"
        "  __syncthreads();\n"
        "  return v;\n}\n",
        acc, acc, acc, comb, acc, acc, acc, acc, ident);
}

/* Softmax family: online (max, sum of exp) per thread, merged across the block. softmax and
 * log_softmax take a last argument `cache`: when 1 (the launch gives n elements of dynamic
 * shared memory) the first pass keeps the row there and the second reads it back, so the row
 * is read from global memory once. */
static void emit_softmax(sbuf *b, sb_cu_row kind, const char *T, const char *name)
{
    bool two = kind != SB_CU_ROW_LOGSUMEXP; /* a second pass over the row */
    char dyn[64] = "";
    if (two) snprintf(dyn, sizeof dyn, "  SB_DYN_SMEM(%s, row);\n", T);
    put(b,
        "SBF void sb_merge(%s &m, %s &s, %s m2, %s s2) {\n"
        "  %s M = m > m2 ? m : m2;\n"
        "  if (M == -(%s)INFINITY) return;\n"
        "  s = s * exp(m - M) + s2 * exp(m2 - M); m = M; }\n",
        T, T, T, T, T, T);
    put(b,
        "extern \"C\" __global__ void __launch_bounds__(1024) %s(const %s *__restrict__ x,"
        " %s *__restrict__ y, ll rows, ll n%s)\n{\n"
        "  __shared__ %s shm[32], shs[32];\n"
        "%s"
        "  ll r = blockIdx.x;\n"
        "  if (r >= rows) return;\n"
        "  const %s *xr = x + r * n;\n"
        "  %s m = -(%s)INFINITY, s = 0;\n"
        "  for (ll j = threadIdx.x; j < n; j += blockDim.x) {\n"
        "    %s v = xr[j];\n"
        "%s"
        "    if (v > m) { s = s * exp(m - v) + 1; m = v; }\n"
        "    else if (!(v == m && m == -(%s)INFINITY)) s += exp(v - m); /* -inf adds 0 */\n"
        "  }\n"
        "  for (int o = 16; o; o >>= 1)\n"
        "    sb_merge(m, s, __shfl_xor_sync(0xffffffffu, m, o),"
        " __shfl_xor_sync(0xffffffffu, s, o));\n"
        "  int w = threadIdx.x >> 5, l = threadIdx.x & 31;\n"
        "  if (l == 0) { shm[w] = m; shs[w] = s; }\n"
        "  __syncthreads();\n"
        "  if (w == 0) {\n"
        "    bool in = l < (int)(blockDim.x >> 5);\n"
        "    m = in ? shm[l] : -(%s)INFINITY; s = in ? shs[l] : 0;\n"
        "    for (int o = 16; o; o >>= 1)\n"
        "      sb_merge(m, s, __shfl_xor_sync(0xffffffffu, m, o),"
        " __shfl_xor_sync(0xffffffffu, s, o));\n"
        "    if (l == 0) { shm[0] = m; shs[0] = s; }\n"
        "  }\n"
        "  __syncthreads();\n"
        "  m = shm[0]; s = shs[0];\n",
        name, T, T, two ? ", int cache" : "", T, dyn, T, T, T, T,
        two ? "    if (cache) row[j] = v;\n" : "", T, T);
    if (kind == SB_CU_ROW_LOGSUMEXP)
        put(b, "  if (threadIdx.x == 0) y[r] = m == -(%s)INFINITY ? m : m + log(s);\n}\n", T);
    else if (kind == SB_CU_ROW_SOFTMAX)
        put(b, "  %s inv = 1 / s;\n"
               "  for (ll j = threadIdx.x; j < n; j += blockDim.x)\n"
               "    y[r * n + j] = exp((cache ? row[j] : xr[j]) - m) * inv;\n}\n",
            T);
    else
        put(b, "  %s ls = m + log(s);\n"
               "  for (ll j = threadIdx.x; j < n; j += blockDim.x)\n"
               "    y[r * n + j] = (cache ? row[j] : xr[j]) - ls;\n}\n",
            T);
}

/* Accumulator type, combiner, identity and per-element term of a plain reduction kind. */
static void red_parts(sb_cu_row kind, const char *T, const char **acc, const char **comb,
                      const char **ident)
{
    bool fl = !strcmp(T, "float") || !strcmp(T, "double");
    *acc = fl ? "double" : "ll"; /* float32 sums accumulate in double */
    switch (kind) {
    case SB_CU_ROW_PROD: *comb = "x * y"; *ident = "1"; break;
    case SB_CU_ROW_MAX:
        *acc = T;
        *comb = "sb_max(x, y)";
        *ident = fl ? "-INFINITY" : "(-0x7fffffffffffffffLL - 1)";
        break;
    case SB_CU_ROW_MIN:
        *acc = T;
        *comb = "sb_min(x, y)";
        *ident = fl ? "INFINITY" : "0x7fffffffffffffffLL";
        break;
    default: *comb = "x + y"; *ident = "0"; break;
    }
}

sb_cu_src sb_cu_gen_row(sb_cu_row kind, sb_dtype dt, sb_dtype lab)
{
    SB_ASSERT(kind < SB_CU_ROW_COUNT && sb_dtype_is_float(dt));
    const char *T = sb_cu_ctype(dt);
    char *name = kind == SB_CU_ROW_XENT_LABELS
                     ? sb_xasprintf("sbk_row_%s_%s_%s", row_names[kind], dt_tag(dt), dt_tag(lab))
                     : sb_xasprintf("sbk_row_%s_%s", row_names[kind], dt_tag(dt));
    sbuf b = {0};
    put(&b, "%s", prelude);
    if (kind <= SB_CU_ROW_LOGSUMEXP) {
        emit_softmax(&b, kind, T, name);
    } else if (kind == SB_CU_ROW_XENT_LABELS) {
        /* one thread per row: -log p[r, t[r]]; a label out of range gives NaN */
        put(&b,
            "extern \"C\" __global__ void %s(const %s *__restrict__ p, const %s *__restrict__ t,"
            " %s *__restrict__ y, ll rows, ll n)\n{\n"
            "  for (ll r = (ll)blockIdx.x * blockDim.x + threadIdx.x; r < rows;"
            " r += (ll)gridDim.x * blockDim.x) {\n"
            "    ll c = (ll)t[r];\n"
            "    y[r] = (c < 0 || c >= n) ? (%s)NAN : -log(p[r * n + c]);\n  }\n}\n",
            name, T, sb_cu_ctype(lab), T, T);
    } else {
        const char *acc = "double", *comb = "x + y", *ident = "0";
        if (kind != SB_CU_ROW_XENT_DENSE) red_parts(kind, T, &acc, &comb, &ident);
        emit_block_reduce(&b, acc, comb, ident);
        bool dense = kind == SB_CU_ROW_XENT_DENSE;
        put(&b,
            "extern \"C\" __global__ void __launch_bounds__(1024) %s(const %s *__restrict__ x,"
            " %s%s%s%s *__restrict__ y, ll rows, ll n)\n{\n"
            "  ll r = blockIdx.x;\n"
            "  if (r >= rows) return;\n"
            "  %s v = (%s)(%s);\n"
            "  for (ll j = threadIdx.x; j < n; j += blockDim.x) v = sb_comb(v, (%s)(%s));\n"
            "  v = sb_block(v);\n"
            "  if (threadIdx.x == 0) y[r] = (%s)(%s);\n}\n",
            name, T, dense ? "const " : "", dense ? T : "", dense ? " *__restrict__ t, " : "", T,
            acc, acc, ident, acc,
            dense ? "t[r * n + j] * log(x[r * n + j])" : "x[r * n + j]", T,
            dense ? "-v" : kind == SB_CU_ROW_MEAN ? "v / (double)n" : "v");
        put(&b, "/* %s over rows: %s */\n", row_names[kind], comb);
    }
    return (sb_cu_src){.name = name, .code = b.s};
}

sb_cu_src sb_cu_gen_col(sb_cu_row kind, sb_dtype dt)
{
    SB_ASSERT(kind >= SB_CU_ROW_SUM && kind <= SB_CU_ROW_MIN);
    const char *T = sb_cu_ctype(dt), *acc, *comb, *ident;
    red_parts(kind, T, &acc, &comb, &ident);
    char *name = sb_xasprintf("sbk_col_%s_%s", row_names[kind], dt_tag(dt));
    sbuf b = {0};
    put(&b, "%s", prelude);
    put(&b,
        "SBF %s sb_comb(%s x, %s y) { return %s; }\n"
        "extern \"C\" __global__ void %s(const %s *__restrict__ x, %s *__restrict__ y,"
        " ll rows, ll n)\n{\n"
        "  for (ll j = (ll)blockIdx.x * blockDim.x + threadIdx.x; j < n;"
        " j += (ll)gridDim.x * blockDim.x) {\n"
        "    %s v = (%s)(%s);\n"
        "    for (ll r = 0; r < rows; r++) v = sb_comb(v, (%s)x[r * n + j]);\n"
        "    y[j] = (%s)(%s);\n  }\n}\n",
        acc, acc, acc, comb, name, T, T, acc, acc, ident, acc, T,
        kind == SB_CU_ROW_MEAN ? "v / (double)rows" : "v");
    return (sb_cu_src){.name = name, .code = b.s};
}
