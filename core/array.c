/* array.c: concrete tensor values (sb_array): create, copy, convert, print. */
#include "core-impl.h"

sb_array *sb_array_new(sb_dtype dt, int ndim, const int64_t *shape)
{
    SB_ASSERT(dt < SB_DTYPE_COUNT && ndim >= 0 && ndim <= SB_MAX_DIMS);
    sb_array *a = sb_xcalloc(1, sizeof *a);
    a->dtype = dt;
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        SB_ASSERT(shape[i] >= 0);
        a->shape[i] = shape[i];
    }
    a->data = sb_xcalloc((size_t)sb_array_numel(a), sb_dtype_size(dt));
    return a;
}

int64_t sb_array_numel(const sb_array *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
    return n;
}

sb_array *sb_array_copy(const sb_array *a)
{
    sb_array *b = sb_array_new(a->dtype, a->ndim, a->shape);
    memcpy(b->data, a->data, (size_t)sb_array_numel(a) * sb_dtype_size(a->dtype));
    return b;
}

void sb_array_free(sb_array *a)
{
    if (!a) return;
    free(a->data);
    free(a);
}

double sb_array_get_f64(const sb_array *a, int64_t i)
{
    switch (a->dtype) {
    case SB_DTYPE_BOOL: return ((const uint8_t *)a->data)[i] != 0;
    case SB_DTYPE_U8: return ((const uint8_t *)a->data)[i];
    case SB_DTYPE_I32: return ((const int32_t *)a->data)[i];
    case SB_DTYPE_I64: return (double)((const int64_t *)a->data)[i];
    case SB_DTYPE_F32: return ((const float *)a->data)[i];
    case SB_DTYPE_F64: return ((const double *)a->data)[i];
    default: SB_ASSERT(0 && "bad dtype");
    }
}

int64_t sb_array_get_i64(const sb_array *a, int64_t i)
{
    switch (a->dtype) {
    case SB_DTYPE_I32: return ((const int32_t *)a->data)[i];
    case SB_DTYPE_I64: return ((const int64_t *)a->data)[i];
    default: return (int64_t)sb_array_get_f64(a, i);
    }
}

void sb_array_set_f64(sb_array *a, int64_t i, double v)
{
    switch (a->dtype) {
    case SB_DTYPE_BOOL: ((uint8_t *)a->data)[i] = v != 0; break;
    case SB_DTYPE_U8: ((uint8_t *)a->data)[i] = (uint8_t)(int64_t)v; break;
    case SB_DTYPE_I32: ((int32_t *)a->data)[i] = (int32_t)(int64_t)v; break;
    case SB_DTYPE_I64: ((int64_t *)a->data)[i] = (int64_t)v; break;
    case SB_DTYPE_F32: ((float *)a->data)[i] = (float)v; break;
    case SB_DTYPE_F64: ((double *)a->data)[i] = v; break;
    default: SB_ASSERT(0 && "bad dtype");
    }
}

sb_array *sb_array_cast(const sb_array *a, sb_dtype dt)
{
    sb_array *b = sb_array_new(dt, a->ndim, a->shape);
    int64_t n = sb_array_numel(a);
    bool ints = !sb_dtype_is_float(a->dtype) && !sb_dtype_is_float(dt);
    for (int64_t i = 0; i < n; i++) {
        if (ints && dt == SB_DTYPE_I64)
            ((int64_t *)b->data)[i] = sb_array_get_i64(a, i); /* exact past 2^53 */
        else
            sb_array_set_f64(b, i, sb_array_get_f64(a, i));
    }
    return b;
}

static void print_elem(const sb_array *a, int64_t i, FILE *f)
{
    if (a->dtype == SB_DTYPE_BOOL)
        fputs(sb_array_get_f64(a, i) != 0 ? "True" : "False", f);
    else if (sb_dtype_is_float(a->dtype))
        fprintf(f, "%.8g", sb_array_get_f64(a, i));
    else
        fprintf(f, "%lld", (long long)sb_array_get_i64(a, i));
}

static void print_rec(const sb_array *a, int dim, int64_t off, int64_t limit, FILE *f)
{
    if (dim == a->ndim) {
        print_elem(a, off, f);
        return;
    }
    int64_t stride = 1;
    for (int k = dim + 1; k < a->ndim; k++) stride *= a->shape[k];
    fputc('[', f);
    int64_t n = a->shape[dim];
    for (int64_t i = 0; i < n; i++) {
        if (i) fputs(dim + 1 < a->ndim ? ",\n " : ", ", f);
        if (limit && n > limit && i == limit / 2) {
            fputs(dim + 1 < a->ndim ? "...,\n " : "..., ", f);
            i = n - limit / 2;
        }
        print_rec(a, dim + 1, off + i * stride, limit, f);
    }
    fputc(']', f);
}

void sb_array_print(const sb_array *a, FILE *f, int64_t limit)
{
    print_rec(a, 0, 0, limit, f);
    fputc('\n', f);
}
