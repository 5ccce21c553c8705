/* npy.c: NumPy .npy files (format 1.0, 2.0 and 3.0), read and written.
 *
 * A file is: the magic "\x93NUMPY", a major and a minor version byte, the header length (uint16
 * little-endian in 1.0, uint32 in 2.0/3.0), then the header: a Python dict literal such as
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" padded with spaces and ended by
 * '\n', then the raw data. We read any byte order ('<', '>', '|', '=') and Fortran order (turned
 * into C order); we write little-endian C order, version 1.0 unless the header needs 2.0. */
#include "core-impl.h"

#include <ctype.h>
#include <errno.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64 /* NumPy pads the whole preamble to a multiple of 64 bytes */

/* What the header dict says. */
typedef struct npy_header {
    sb_dtype dtype;
    bool swap;    /* data is big-endian (and elements are wider than a byte) */
    bool fortran;
    int ndim;
    int64_t shape[SB_MAX_DIMS];
    bool have_descr, have_order, have_shape;
} npy_header;

/* Fill d with "PATH: bad .npy file: <reason>" and return NULL-friendly status. */
static sb_status bad_file(sb_diag *d, const char *path, const char *reason)
{
    return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "bad .npy file: %s", reason);
}

/* ---- header dict parser ------------------------------------------------------------------- */

typedef struct hparser {
    const char *p, *end;
} hparser;

static void skip_ws(hparser *h)
{
    while (h->p < h->end && isspace((unsigned char)*h->p)) h->p++;
}

static bool eat(hparser *h, char c)
{
    skip_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return true;
    }
    return false;
}

/* A quoted Python string ('...' or "...", no escapes) into buf; false if malformed. */
static bool parse_str(hparser *h, char *buf, size_t n)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return false;
    char q = *h->p++;
    size_t k = 0;
    while (h->p < h->end && *h->p != q) {
        if (k + 1 >= n) return false;
        buf[k++] = *h->p++;
    }
    if (h->p >= h->end) return false;
    h->p++;
    buf[k] = 0;
    return true;
}

/* A shape tuple "(3, 4)", "(5,)" or "()"; false if malformed. */
static bool parse_shape(hparser *h, npy_header *hd)
{
    if (!eat(h, '(')) return false;
    hd->ndim = 0;
    for (;;) {
        if (eat(h, ')')) return true;
        skip_ws(h);
        if (h->p >= h->end || !isdigit((unsigned char)*h->p)) return false;
        int64_t v = 0;
        while (h->p < h->end && isdigit((unsigned char)*h->p)) {
            if (v > (INT64_MAX - 9) / 10) return false;
            v = v * 10 + (*h->p++ - '0');
        }
        if (h->p < h->end && *h->p == 'L') h->p++; /* Python 2 longs */
        if (hd->ndim >= SB_MAX_DIMS) return false;
        hd->shape[hd->ndim++] = v;
        if (!eat(h, ',')) return eat(h, ')');
    }
}

/* Map a descr string ('<f4', '|b1', '>i8', ...) to a dtype and byte order; false if unknown. */
static bool parse_descr(const char *s, npy_header *hd)
{
    static const struct {
        const char *code;
        sb_dtype dt;
    } codes[] = {{"b1", SB_DTYPE_BOOL}, {"u1", SB_DTYPE_U8},  {"i4", SB_DTYPE_I32},
                 {"i8", SB_DTYPE_I64},  {"f4", SB_DTYPE_F32}, {"f8", SB_DTYPE_F64}};
    char order = s[0];
    if (order != '<' && order != '>' && order != '|' && order != '=') return false;
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (!strcmp(s + 1, codes[i].code)) {
            hd->dtype = codes[i].dt;
            hd->swap = order == '>' && sb_dtype_size(codes[i].dt) > 1;
            return true;
        }
    return false;
}

/* Parse the header dict text[0..n) into hd. Returns NULL on success, else a reason. */
static const char *parse_header(const char *text, size_t n, npy_header *hd, char *why, size_t wn)
{
    hparser h = {text, text + n};
    if (!eat(&h, '{')) return "header is not a dict";
    for (;;) {
        if (eat(&h, '}')) break;
        char key[32], val[32];
        if (!parse_str(&h, key, sizeof key) || !eat(&h, ':')) return "malformed header dict";
        if (!strcmp(key, "descr")) {
            if (!parse_str(&h, val, sizeof val)) return "malformed 'descr' in header";
            if (!parse_descr(val, hd)) {
                snprintf(why, wn, "unsupported dtype '%s'", val);
                return why;
            }
            hd->have_descr = true;
        } else if (!strcmp(key, "fortran_order")) {
            skip_ws(&h);
            if ((size_t)(h.end - h.p) >= 4 && !strncmp(h.p, "True", 4)) hd->fortran = true, h.p += 4;
            else if ((size_t)(h.end - h.p) >= 5 && !strncmp(h.p, "False", 5)) h.p += 5;
            else return "malformed 'fortran_order' in header";
            hd->have_order = true;
        } else if (!strcmp(key, "shape")) {
            if (!parse_shape(&h, hd)) return "malformed 'shape' in header";
            hd->have_shape = true;
        } else {
            snprintf(why, wn, "unknown key '%s' in header", key);
            return why;
        }
        if (!eat(&h, ',')) {
            if (!eat(&h, '}')) return "malformed header dict";
            break;
        }
    }
    if (!hd->have_descr || !hd->have_order || !hd->have_shape)
        return "header lacks 'descr', 'fortran_order' or 'shape'";
    return NULL;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Read the preamble and header of f into hd. Returns SB_OK or fills d. */
static sb_status read_header(FILE *f, const char *path, npy_header *hd, sb_diag *d)
{
    unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
    if (fread(pre, 1, NPY_MAGIC_LEN + 2, f) != NPY_MAGIC_LEN + 2 ||
        memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN))
        return bad_file(d, path, "wrong magic (not a .npy file)");
    int major = pre[6];
    size_t hlen;
    if (major == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) return bad_file(d, path, "truncated header");
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 8, 1, 4, f) != 4) return bad_file(d, path, "truncated header");
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        char why[64];
        snprintf(why, sizeof why, "unsupported format version %d.%d", major, pre[7]);
        return bad_file(d, path, why);
    }
    if (hlen > (1u << 24)) return bad_file(d, path, "header too long");
    char *text = sb_xmalloc(hlen + 1);
    sb_status st = SB_OK;
    if (fread(text, 1, hlen, f) != hlen) {
        st = bad_file(d, path, "truncated header");
    } else {
        text[hlen] = 0;
        char why[96];
        const char *err = parse_header(text, hlen, hd, why, sizeof why);
        if (err) st = bad_file(d, path, err);
    }
    free(text);
    return st;
}

static void swap_bytes(unsigned char *p, int64_t n, size_t w)
{
    for (int64_t i = 0; i < n; i++, p += w)
        for (size_t a = 0, b = w - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Reorder a's data from Fortran (column-major) order to C order, in place via a copy. */
static void fortran_to_c(sb_array *a)
{
    int64_t n = sb_array_numel(a);
    size_t w = sb_dtype_size(a->dtype);
    if (a->ndim < 2 || n == 0) return;
    unsigned char *src = a->data, *dst = sb_xmalloc((size_t)n * w);
    int64_t idx[SB_MAX_DIMS] = {0}, cstride[SB_MAX_DIMS];
    cstride[a->ndim - 1] = 1;
    for (int k = a->ndim - 2; k >= 0; k--) cstride[k] = cstride[k + 1] * a->shape[k + 1];
    for (int64_t j = 0; j < n; j++) { /* j walks the file in Fortran order: dim 0 fastest */
        int64_t off = 0;
        for (int k = 0; k < a->ndim; k++) off += idx[k] * cstride[k];
        memcpy(dst + off * w, src + j * w, w);
        for (int k = 0; k < a->ndim && ++idx[k] == a->shape[k]; k++) idx[k] = 0;
    }
    free(src);
    a->data = dst;
}

/* Read exactly numel elements after the header; more or fewer bytes is a bad file. */
static sb_status read_data(FILE *f, const char *path, sb_array *a, sb_diag *d)
{
    size_t want = (size_t)sb_array_numel(a) * sb_dtype_size(a->dtype);
    size_t got = fread(a->data, 1, want, f);
    char why[160];
    if (got < want) {
        snprintf(why, sizeof why, "truncated data (shape needs %zu bytes, file has %zu)", want, got);
        return bad_file(d, path, why);
    }
    size_t extra = 0;
    unsigned char buf[4096];
    for (size_t k; (k = fread(buf, 1, sizeof buf, f)) > 0;) extra += k;
    if (extra) {
        snprintf(why, sizeof why, "shape does not match data length (%zu bytes beyond the %zu the shape needs)",
                 extra, want);
        return bad_file(d, path, why);
    }
    return SB_OK;
}

sb_array *sb_npy_load(const char *path, sb_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    npy_header hd = {0};
    sb_array *a = NULL;
    if (read_header(f, path, &hd, d) == SB_OK) {
        int64_t n = 1;
        for (int k = 0; k < hd.ndim; k++) {
            if (hd.shape[k] > 0 && n > INT64_MAX / 8 / hd.shape[k]) {
                bad_file(d, path, "shape too large");
                fclose(f);
                return NULL;
            }
            n *= hd.shape[k];
        }
        long here = ftell(f), end = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : -1;
        size_t want = (size_t)n * sb_dtype_size(hd.dtype);
        if (here >= 0 && end >= here && (size_t)(end - here) < want) { /* before allocating */
            char why[160];
            snprintf(why, sizeof why, "truncated data (shape needs %zu bytes, file has %ld)", want,
                     end - here);
            bad_file(d, path, why);
            fclose(f);
            return NULL;
        }
        if (here >= 0) fseek(f, here, SEEK_SET);
        a = sb_array_new(hd.dtype, hd.ndim, hd.shape);
        if (read_data(f, path, a, d) != SB_OK) {
            sb_array_free(a);
            a = NULL;
        } else {
            if (hd.swap) swap_bytes(a->data, n, sb_dtype_size(a->dtype));
            if (hd.fortran) fortran_to_c(a);
            if (a->dtype == SB_DTYPE_BOOL) /* normalize any nonzero byte to 1 */
                for (int64_t i = 0; i < n; i++) ((uint8_t *)a->data)[i] = ((uint8_t *)a->data)[i] != 0;
        }
    }
    fclose(f);
    return a;
}

/* ---- writing ------------------------------------------------------------------------------ */

static const char *descr_of(sb_dtype dt)
{
    static const char *d[SB_DTYPE_COUNT] = {"|b1", "|u1", "<i4", "<i8", "<f4", "<f8"};
    return d[dt];
}

/* The header dict text, padded with spaces and '\n' so that the preamble of the given version
 * plus the header is a multiple of NPY_ALIGN. Returns a malloc'd string; *len its length. */
static char *make_header(const sb_array *a, int version, size_t *len)
{
    char shape[SB_MAX_DIMS * 24 + 4];
    size_t k = 0;
    shape[k++] = '(';
    for (int i = 0; i < a->ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, i ? ", %lld" : "%lld", (long long)a->shape[i]);
    if (a->ndim == 1) shape[k++] = ',';
    shape[k++] = ')';
    shape[k] = 0;
    char *dict = sb_xasprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                              descr_of(a->dtype), shape);
    size_t pre = NPY_MAGIC_LEN + 2 + (version == 1 ? 2 : 4);
    size_t n = strlen(dict) + 1; /* + '\n' */
    size_t total = (pre + n + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    char *h = sb_xmalloc(total - pre + 1);
    size_t dl = strlen(dict);
    memcpy(h, dict, dl);
    memset(h + dl, ' ', total - pre - dl);
    h[total - pre - 1] = '\n';
    h[total - pre] = 0;
    free(dict);
    *len = total - pre;
    return h;
}

sb_status sb_npy_save(const char *path, const sb_array *a, sb_diag *d)
{
    SB_ASSERT(a && a->dtype < SB_DTYPE_COUNT);
    size_t hlen;
    int version = 1;
    char *h = make_header(a, 1, &hlen);
    if (hlen > 65535) {
        free(h);
        version = 2;
        h = make_header(a, 2, &hlen);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(h);
        return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open for writing: %s", strerror(errno));
    }
    unsigned char pre[12];
    memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
    pre[6] = (unsigned char)version;
    pre[7] = 0;
    size_t np = 8;
    for (size_t b = 0; b < (version == 1 ? 2u : 4u); b++) pre[np++] = (unsigned char)(hlen >> (8 * b));
    size_t bytes = (size_t)sb_array_numel(a) * sb_dtype_size(a->dtype);
    bool ok = fwrite(pre, 1, np, f) == np && fwrite(h, 1, hlen, f) == hlen &&
              fwrite(a->data, 1, bytes, f) == bytes;
    int err = errno;
    ok = (fclose(f) == 0) && ok;
    free(h);
    if (!ok) return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "write failed: %s", strerror(err));
    return SB_OK;
}
