/* idx.c: IDX files (LeCun's MNIST format, also Fashion-MNIST), gzip-compressed or plain.
 *
 * A file is: two zero bytes, a type code, the number of dims, then one big-endian uint32 per
 * dim, then the data in C order, big-endian. Type codes: 0x08 ubyte, 0x09 signed byte, 0x0B
 * int16, 0x0C int32, 0x0D float32, 0x0E float64. We keep uint8, int32, float32 and float64 as they
 * are and widen int8 / int16 to int32 (symbench has no narrower signed dtype). zlib's gzread
 * reads a plain file as it is, so one path serves both. */
#include "core-impl.h"

#include <errno.h>
#include <zlib.h>

static sb_status bad_idx(sb_diag *d, const char *path, const char *reason)
{
    return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "bad IDX file: %s", reason);
}

/* Read exactly n bytes (gzread takes an unsigned count: read in chunks). */
static bool read_all(gzFile gz, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(gz, p, chunk);
        if (got <= 0) return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

/* Read exactly n bytes into a buffer that grows as data arrives, so that a corrupt header
 * asking for terabytes fails as truncated data instead of allocating them. NULL if short. */
static unsigned char *read_grow(gzFile gz, size_t n)
{
    size_t cap = n < (1u << 24) ? n : (1u << 24), have = 0;
    unsigned char *buf = sb_xmalloc(cap);
    while (have < n) {
        if (have == cap) {
            cap = cap > n / 2 ? n : 2 * cap;
            buf = sb_xrealloc(buf, cap);
        }
        if (!read_all(gz, buf + have, cap - have)) {
            free(buf);
            return NULL;
        }
        have = cap;
    }
    return buf;
}

/* The element type and its width in the file for an IDX type code; false if unknown. */
static bool idx_type(int code, sb_dtype *dt, size_t *width)
{
    switch (code) {
    case 0x08: *dt = SB_DTYPE_U8, *width = 1; return true;
    case 0x09: *dt = SB_DTYPE_I32, *width = 1; return true;
    case 0x0B: *dt = SB_DTYPE_I32, *width = 2; return true;
    case 0x0C: *dt = SB_DTYPE_I32, *width = 4; return true;
    case 0x0D: *dt = SB_DTYPE_F32, *width = 4; return true;
    case 0x0E: *dt = SB_DTYPE_F64, *width = 8; return true;
    default: return false;
    }
}

/* Big-endian bytes raw[0..n*width) into a's data (native order, widening small ints). */
static void decode(const unsigned char *raw, size_t width, int code, sb_array *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = raw + (size_t)i * width;
        uint64_t u = 0;
        for (size_t b = 0; b < width; b++) u = u << 8 | p[b];
        switch (code) {
        case 0x08: ((uint8_t *)a->data)[i] = (uint8_t)u; break;
        case 0x09: ((int32_t *)a->data)[i] = (int8_t)u; break;
        case 0x0B: ((int32_t *)a->data)[i] = (int16_t)u; break;
        case 0x0C: ((int32_t *)a->data)[i] = (int32_t)(uint32_t)u; break;
        case 0x0D: {
            uint32_t w = (uint32_t)u;
            memcpy((float *)a->data + i, &w, 4);
            break;
        }
        default: memcpy((double *)a->data + i, &u, 8); break;
        }
    }
}

/* Header and data of an open file; returns the array or NULL with d filled. */
static sb_array *read_idx(gzFile gz, const char *path, sb_diag *d)
{
    unsigned char h[4];
    if (!read_all(gz, h, 4) || h[0] != 0 || h[1] != 0) {
        bad_idx(d, path, "wrong magic (not an IDX file)");
        return NULL;
    }
    sb_dtype dt;
    size_t width;
    char why[96];
    if (!idx_type(h[2], &dt, &width)) {
        snprintf(why, sizeof why, "unknown type code 0x%02X", h[2]);
        bad_idx(d, path, why);
        return NULL;
    }
    int ndim = h[3];
    if (ndim > SB_MAX_DIMS) {
        snprintf(why, sizeof why, "%d dims (at most %d supported)", ndim, SB_MAX_DIMS);
        bad_idx(d, path, why);
        return NULL;
    }
    int64_t shape[SB_MAX_DIMS], n = 1;
    for (int k = 0; k < ndim; k++) {
        unsigned char b[4];
        if (!read_all(gz, b, 4)) {
            bad_idx(d, path, "truncated header");
            return NULL;
        }
        shape[k] = (int64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
        if (shape[k] > 0 && n > (INT64_MAX >> 4) / shape[k]) {
            bad_idx(d, path, "shape too large");
            return NULL;
        }
        n *= shape[k];
    }
    size_t bytes = (size_t)n * width;
    unsigned char *raw = read_grow(gz, bytes);
    if (!raw) {
        free(raw);
        snprintf(why, sizeof why, "truncated data (shape needs %zu bytes)", bytes);
        bad_idx(d, path, why);
        return NULL;
    }
    sb_array *a = sb_array_new(dt, ndim, shape);
    decode(raw, width, h[2], a, n);
    free(raw);
    return a;
}

sb_array *sb_idx_load(const char *path, sb_diag *d)
{
    FILE *probe = fopen(path, "rb"); /* for a clear errno: gzopen's is not always set */
    if (!probe) {
        sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    fclose(probe);
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno ? errno : ENOMEM));
        return NULL;
    }
    gzbuffer(gz, 1 << 17);
    sb_array *a = read_idx(gz, path, d);
    gzclose(gz);
    return a;
}
