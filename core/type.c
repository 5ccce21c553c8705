/* type.c: tensor types "float32[?, 784]": parse, print, compare. */
#include "core-impl.h"

#include <ctype.h>
#include <errno.h>

sb_type sb_type_make(sb_dtype dt, int ndim, const int64_t *dims)
{
    SB_ASSERT(ndim >= 0 && ndim <= SB_MAX_DIMS);
    sb_type t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = (int8_t)ndim;
    for (int i = 0; i < ndim; i++) t.dims[i] = dims ? dims[i] : -1;
    return t;
}

sb_type sb_type_scalar(sb_dtype dt)
{
    return sb_type_make(dt, 0, NULL);
}

bool sb_type_eq(const sb_type *a, const sb_type *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

int64_t sb_type_numel(const sb_type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0) return -1;
        n *= t->dims[i];
    }
    return n;
}

char *sb_type_str(const sb_type *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "%s[", sb_dtype_name(t->dtype));
    for (int i = 0; i < t->ndim && k < n; i++) {
        if (t->dims[i] < 0)
            k += (size_t)snprintf(buf + k, n - k, "%s?", i ? ", " : "");
        else
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* Grammar: dtype [ '[' (dim (',' dim)*)? ']' ];  dim: '?' | integer >= 0.
 * Errors carry the 1-based column within text (file/line are the caller's to set). */
sb_status sb_type_parse(const char *text, sb_type *out, sb_diag *d)
{
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    const char *s = p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    char name[32];
    size_t n = (size_t)(p - s);
    if (n == 0 || n >= sizeof name)
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(s - text) + 1,
                           "expected a dtype in type '%s'", text);
    memcpy(name, s, n);
    name[n] = 0;
    sb_dtype dt = sb_dtype_from_name(name);
    if (dt == SB_DTYPE_COUNT)
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(s - text) + 1,
                           "unknown dtype '%s' (expected float32, float64, int32, int64, uint8 "
                           "or bool)", name);
    *out = sb_type_make(dt, 0, NULL);
    while (isspace((unsigned char)*p)) p++;
    if (*p == 0) return SB_OK;
    if (*p != '[')
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(p - text) + 1,
                           "expected '[' after dtype in type '%s'", text);
    p++;
    while (isspace((unsigned char)*p)) p++;
    if (*p == ']') goto close;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (out->ndim == SB_MAX_DIMS)
            return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(p - text) + 1,
                               "too many dimensions (at most %d)", SB_MAX_DIMS);
        if (*p == '?') {
            out->dims[out->ndim++] = -1;
            p++;
        } else if (isdigit((unsigned char)*p)) {
            errno = 0;
            char *e;
            long long v = strtoll(p, &e, 10);
            if (errno)
                return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(p - text) + 1,
                                   "dimension too large");
            out->dims[out->ndim++] = v;
            p = e;
        } else {
            return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(p - text) + 1,
                               "expected a size or '?' in type '%s'", text);
        }
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']') break;
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(p - text) + 1,
                           "expected ',' or ']' in type '%s'", text);
    }
close:
    p++;
    while (isspace((unsigned char)*p)) p++;
    if (*p)
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, (int)(p - text) + 1,
                           "unexpected text after type '%s'", text);
    return SB_OK;
}
