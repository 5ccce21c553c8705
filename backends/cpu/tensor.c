/* tensor.c: strided tensors over refcounted buffers: make, view, convert, copy, accumulate. */
#include "tensor.h"

/* ---- buffers and headers ----------------------------------------------------------------- */
static sb_be_buf *buf_new(void *data, bool owned)
{
    sb_be_buf *b = sb_xmalloc(sizeof *b);
    b->refs = 1;
    b->owned = owned;
    b->data = data;
    return b;
}

void sb_be_contig_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
}

static sb_tensor header(sb_dtype dt, int ndim, const int64_t *shape)
{
    sb_tensor t;
    memset(&t, 0, sizeof t);
    SB_ASSERT(ndim >= 0 && ndim <= SB_MAX_DIMS && dt < SB_DTYPE_COUNT);
    t.dtype = dt;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    sb_be_contig_strides(ndim, shape, t.strides);
    return t;
}

static _Thread_local sb_be_buf_alloc_fn alloc_fn; /* sb_be_tensor_set_alloc */
static _Thread_local void *alloc_user;

void sb_be_tensor_set_alloc(sb_be_buf_alloc_fn fn, void *user)
{
    alloc_fn = fn;
    alloc_user = user;
}

sb_tensor sb_be_tensor_new(sb_dtype dt, int ndim, const int64_t *shape)
{
    sb_tensor t = header(dt, ndim, shape);
    size_t n = (size_t)sb_be_tensor_numel(&t) * sb_dtype_size(dt);
    t.buf = alloc_fn ? alloc_fn(alloc_user, n) : buf_new(sb_xmalloc(n), true);
    return t;
}

sb_tensor sb_be_tensor_zeros(sb_dtype dt, int ndim, const int64_t *shape)
{
    sb_tensor t = header(dt, ndim, shape);
    size_t n = (size_t)sb_be_tensor_numel(&t) * sb_dtype_size(dt);
    if (alloc_fn) {
        t.buf = alloc_fn(alloc_user, n);
        memset(t.buf->data, 0, n);
    } else {
        t.buf = buf_new(sb_xcalloc((size_t)sb_be_tensor_numel(&t), sb_dtype_size(dt)), true);
    }
    return t;
}

sb_tensor sb_be_tensor_wrap(const sb_array *a)
{
    sb_tensor t = header(a->dtype, a->ndim, a->shape);
    t.buf = buf_new(a->data, false);
    return t;
}

sb_tensor sb_be_tensor_ref(const sb_tensor *t)
{
    SB_ASSERT(t->buf);
    t->buf->refs++;
    return *t;
}

void sb_be_tensor_release(sb_tensor *t)
{
    if (t->buf && --t->buf->refs == 0) {
        if (t->buf->owned) free(t->buf->data);
        free(t->buf);
    }
    t->buf = NULL;
}

int64_t sb_be_tensor_numel(const sb_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

bool sb_be_tensor_is_contig(const sb_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 0) return true;
        if (t->shape[i] != 1 && t->strides[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

void *sb_be_tensor_ptr(const sb_tensor *t)
{
    return (char *)t->buf->data + t->offset * (int64_t)sb_dtype_size(t->dtype);
}

sb_tensor sb_be_tensor_bcast(const sb_tensor *t, int ndim, const int64_t *shape)
{
    SB_ASSERT(ndim >= t->ndim);
    sb_tensor v = *t;
    int lead = ndim - t->ndim;
    v.ndim = ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - lead;
        int64_t n = j >= 0 ? t->shape[j] : 1, s = j >= 0 ? t->strides[j] : 0;
        SB_ASSERT(n == shape[i] || n == 1);
        v.shape[i] = shape[i];
        v.strides[i] = n == shape[i] ? s : 0;
    }
    return v;
}

/* ---- row iteration ----------------------------------------------------------------------- */
#define MAX_OPS 4

void sb_be_foreach_row(int ndim, const int64_t *shape, int nop, char *const *base,
                       int64_t (*const strides)[SB_MAX_DIMS], sb_be_row_fn fn, void *user)
{
    SB_ASSERT(nop <= MAX_OPS);
    int64_t sh[SB_MAX_DIMS], st[MAX_OPS][SB_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) return;
        if (shape[d] == 1) continue;
        bool merge = nd > 0;
        for (int k = 0; k < nop && merge; k++)
            merge = st[k][nd - 1] == strides[k][d] * shape[d];
        if (merge) {
            sh[nd - 1] *= shape[d];
            for (int k = 0; k < nop; k++) st[k][nd - 1] = strides[k][d];
            continue;
        }
        sh[nd] = shape[d];
        for (int k = 0; k < nop; k++) st[k][nd] = strides[k][d];
        nd++;
    }
    if (nd == 0) { /* a single element */
        sh[0] = 1;
        for (int k = 0; k < nop; k++) st[k][0] = 0;
        nd = 1;
    }
    int64_t idx[SB_MAX_DIMS] = {0}, inner[MAX_OPS];
    char *p[MAX_OPS];
    for (int k = 0; k < nop; k++) inner[k] = st[k][nd - 1];
    for (;;) {
        for (int k = 0; k < nop; k++) {
            p[k] = base[k];
            for (int d = 0; d < nd - 1; d++) p[k] += idx[d] * st[k][d];
        }
        fn(sh[nd - 1], p, inner, user);
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == sh[d]) idx[d--] = 0;
        if (d < 0) return;
    }
}

/* Run fn over dst and src (same shape) rows. */
static void run2(const sb_tensor *dst, const sb_tensor *src, sb_be_row_fn fn)
{
    int64_t st[2][SB_MAX_DIMS];
    int64_t ed = (int64_t)sb_dtype_size(dst->dtype), es = (int64_t)sb_dtype_size(src->dtype);
    for (int i = 0; i < dst->ndim; i++) {
        st[0][i] = dst->strides[i] * ed;
        st[1][i] = src->strides[i] * es;
    }
    char *base[2] = {sb_be_tensor_ptr(dst), sb_be_tensor_ptr(src)};
    sb_be_foreach_row(dst->ndim, dst->shape, 2, base, st, fn, NULL);
}

/* ---- conversion rows: one function per (source, destination) dtype pair ------------------- */
#define CONV_BOOL(v) ((uint8_t)((v) != 0))
#define CONV_U8(v) ((uint8_t)(int64_t)(v))
#define CONV_I32(v) ((int32_t)(int64_t)(v))
#define CONV_I64(v) ((int64_t)(v))
#define CONV_F32(v) ((float)(v))
#define CONV_F64(v) ((double)(v))

#define FOR_DST(X, S, ST)                                                                        \
    X(S, ST, BOOL, uint8_t) X(S, ST, U8, uint8_t) X(S, ST, I32, int32_t) X(S, ST, I64, int64_t) \
    X(S, ST, F32, float) X(S, ST, F64, double)
#define FOR_PAIRS(X)                                                                             \
    FOR_DST(X, BOOL, uint8_t) FOR_DST(X, U8, uint8_t) FOR_DST(X, I32, int32_t)                   \
    FOR_DST(X, I64, int64_t) FOR_DST(X, F32, float) FOR_DST(X, F64, double)

#define CONV_ROW(S, ST, D, DT)                                                                   \
    static void conv_##S##_##D(int64_t n, char **p, const int64_t *s, void *u)                   \
    {                                                                                            \
        DT *o = (DT *)p[0];                                                                      \
        const ST *x = (const ST *)p[1];                                                          \
        int64_t so = s[0] / (int64_t)sizeof(DT), sx = s[1] / (int64_t)sizeof(ST);                \
        if (so == 1 && sx == 1)                                                                  \
            for (int64_t i = 0; i < n; i++) o[i] = CONV_##D(x[i]);                               \
        else                                                                                     \
            for (int64_t i = 0; i < n; i++) o[i * so] = CONV_##D(x[i * sx]);                     \
    }
FOR_PAIRS(CONV_ROW)
#define CONV_ENTRY(S, ST, D, DT) [SB_DTYPE_##S][SB_DTYPE_##D] = conv_##S##_##D,
static const sb_be_row_fn conv_rows[SB_DTYPE_COUNT][SB_DTYPE_COUNT] = {FOR_PAIRS(CONV_ENTRY)};

void sb_be_tensor_assign(const sb_tensor *dst, const sb_tensor *src)
{
    sb_tensor s = sb_be_tensor_bcast(src, dst->ndim, dst->shape);
    run2(dst, &s, conv_rows[src->dtype][dst->dtype]);
}

sb_tensor sb_be_tensor_as(const sb_tensor *t, sb_dtype dt)
{
    if (t->dtype == dt && sb_be_tensor_is_contig(t)) {
        sb_tensor r = sb_be_tensor_ref(t);
        sb_be_contig_strides(r.ndim, r.shape, r.strides);
        return r;
    }
    sb_tensor r = sb_be_tensor_new(dt, t->ndim, t->shape);
    sb_be_tensor_assign(&r, t);
    return r;
}

/* ---- accumulation rows (dst += src, same dtype) -------------------------------------------- */
#define ADD_ROW(D, DT, EXPR)                                                                     \
    static void add_##D(int64_t n, char **p, const int64_t *s, void *u)                          \
    {                                                                                            \
        DT *o = (DT *)p[0];                                                                      \
        const DT *x = (const DT *)p[1];                                                          \
        int64_t so = s[0] / (int64_t)sizeof(DT), sx = s[1] / (int64_t)sizeof(DT);                \
        for (int64_t i = 0; i < n; i++) {                                                        \
            DT a = o[i * so], b = x[i * sx];                                                     \
            o[i * so] = (DT)(EXPR);                                                              \
        }                                                                                        \
    }
ADD_ROW(BOOL, uint8_t, a | b)
ADD_ROW(U8, uint8_t, a + b)
ADD_ROW(I32, int32_t, (int32_t)((uint32_t)a + (uint32_t)b))
ADD_ROW(I64, int64_t, (int64_t)((uint64_t)a + (uint64_t)b))
ADD_ROW(F32, float, a + b)
ADD_ROW(F64, double, a + b)
static const sb_be_row_fn add_rows[SB_DTYPE_COUNT] = {
    [SB_DTYPE_BOOL] = add_BOOL, [SB_DTYPE_U8] = add_U8,   [SB_DTYPE_I32] = add_I32,
    [SB_DTYPE_I64] = add_I64,   [SB_DTYPE_F32] = add_F32, [SB_DTYPE_F64] = add_F64};

void sb_be_tensor_add_into(const sb_tensor *dst, const sb_tensor *src)
{
    if (src->dtype == dst->dtype) {
        sb_tensor s = sb_be_tensor_bcast(src, dst->ndim, dst->shape);
        run2(dst, &s, add_rows[dst->dtype]);
        return;
    }
    sb_tensor conv = sb_be_tensor_as(src, dst->dtype);
    sb_tensor s = sb_be_tensor_bcast(&conv, dst->ndim, dst->shape);
    run2(dst, &s, add_rows[dst->dtype]);
    sb_be_tensor_release(&conv);
}

/* ---- host arrays ------------------------------------------------------------------------- */
sb_array *sb_be_tensor_to_array(sb_tensor *t, sb_dtype dt)
{
    sb_array *a;
    if (t->dtype == dt && t->buf->owned && t->buf->refs == 1 && t->offset == 0 &&
        sb_be_tensor_is_contig(t)) { /* steal the buffer */
        a = sb_xcalloc(1, sizeof *a);
        a->dtype = dt;
        a->ndim = t->ndim;
        memcpy(a->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        a->data = t->buf->data;
        free(t->buf);
        t->buf = NULL;
        return a;
    }
    a = sb_array_new(dt, t->ndim, t->shape);
    sb_tensor w = sb_be_tensor_wrap(a);
    sb_be_tensor_assign(&w, t);
    sb_be_tensor_release(&w);
    sb_be_tensor_release(t);
    return a;
}

static int64_t flat_offset(const sb_tensor *t, int64_t i)
{
    int64_t off = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->strides[d];
        i /= t->shape[d];
    }
    return off;
}

double sb_be_tensor_get_f64(const sb_tensor *t, int64_t i)
{
    sb_array a = {.dtype = t->dtype, .ndim = 0, .data = t->buf->data};
    return sb_array_get_f64(&a, flat_offset(t, i));
}

int64_t sb_be_tensor_get_i64(const sb_tensor *t, int64_t i)
{
    sb_array a = {.dtype = t->dtype, .ndim = 0, .data = t->buf->data};
    return sb_array_get_i64(&a, flat_offset(t, i));
}
