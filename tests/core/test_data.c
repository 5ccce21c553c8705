/* test_data.c: .npy and IDX files, seeded initializers, fitting data to declared types.
 * Fixtures come from tests/data/make_fixtures.py (NumPy). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbench.h"

static char pathbuf[1024];

/* tests/data/NAME under the source root (SB_SOURCE_ROOT, set by meson). */
static const char *fixture(const char *name)
{
    const char *root = getenv("SB_SOURCE_ROOT");
    snprintf(pathbuf, sizeof pathbuf, "%s/tests/data/%s", root ? root : ".", name);
    return pathbuf;
}

static sb_array *load_ok(const char *name)
{
    sb_diag d = {0};
    sb_array *a = sb_npy_load(fixture(name), &d);
    cr_assert_not_null(a, "%s: %s", name, d.msg);
    cr_assert_eq(d.status, SB_OK);
    return a;
}

static void check_shape(const sb_array *a, sb_dtype dt, int ndim, const int64_t *shape)
{
    cr_assert_eq(a->dtype, dt, "dtype %s", sb_dtype_name(a->dtype));
    cr_assert_eq(a->ndim, ndim);
    for (int i = 0; i < ndim; i++) cr_assert_eq(a->shape[i], shape[i], "dim %d", i);
}

/* ---- .npy --------------------------------------------------------------------------------- */

Test(data, npy_every_dtype)
{
    static const int64_t s23[] = {2, 3};
    sb_array *a = load_ok("f4.npy");
    check_shape(a, SB_DTYPE_F32, 2, s23);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(sb_array_get_f64(a, i), i * 1.5 - 3, 1e-12);
    sb_array_free(a);
    a = load_ok("f8.npy");
    check_shape(a, SB_DTYPE_F64, 2, s23);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(sb_array_get_f64(a, i), i * 1.5 - 3, 1e-12);
    sb_array_free(a);
    a = load_ok("i4.npy");
    check_shape(a, SB_DTYPE_I32, 2, s23);
    for (int i = 0; i < 6; i++) cr_assert_eq(sb_array_get_i64(a, i), i - 2);
    sb_array_free(a);
    a = load_ok("i8.npy");
    check_shape(a, SB_DTYPE_I64, 2, s23);
    for (int i = 0; i < 6; i++) cr_assert_eq(sb_array_get_i64(a, i), (i - 2) * 1000000000000LL);
    sb_array_free(a);
    a = load_ok("u1.npy");
    check_shape(a, SB_DTYPE_U8, 1, (int64_t[]){6});
    static const int u1[] = {0, 1, 127, 128, 254, 255};
    for (int i = 0; i < 6; i++) cr_assert_eq(sb_array_get_i64(a, i), u1[i]);
    sb_array_free(a);
    a = load_ok("b1.npy");
    check_shape(a, SB_DTYPE_BOOL, 2, (int64_t[]){2, 2});
    static const int b1[] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) cr_assert_eq(sb_array_get_i64(a, i), b1[i]);
    sb_array_free(a);
}

Test(data, npy_versions_and_byte_order)
{
    sb_array *a = load_ok("f8_v2.npy");
    check_shape(a, SB_DTYPE_F64, 1, (int64_t[]){5});
    for (int i = 0; i < 5; i++) cr_assert_eq(sb_array_get_f64(a, i), i / 4.0);
    sb_array_free(a);
    a = load_ok("i4_v3.npy");
    for (int i = 0; i < 4; i++) cr_assert_eq(sb_array_get_i64(a, i), 7 * i);
    sb_array_free(a);
    a = load_ok("f8_be.npy");
    check_shape(a, SB_DTYPE_F64, 2, (int64_t[]){3, 2});
    for (int i = 0; i < 6; i++) cr_assert_eq(sb_array_get_f64(a, i), i * 0.25);
    sb_array_free(a);
    a = load_ok("i4_be.npy");
    cr_assert_eq(sb_array_get_i64(a, 0), 1);
    cr_assert_eq(sb_array_get_i64(a, 1), -2);
    cr_assert_eq(sb_array_get_i64(a, 2), 70000);
    sb_array_free(a);
}

Test(data, npy_fortran_scalar_empty)
{
    sb_array *a = load_ok("f4_fortran.npy");
    check_shape(a, SB_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
    for (int i = 0; i < 24; i++) cr_assert_eq(sb_array_get_f64(a, i), i, "element %d", i);
    sb_array_free(a);
    a = load_ok("scalar.npy");
    cr_assert_eq(a->ndim, 0);
    cr_assert_eq(sb_array_get_f64(a, 0), 3.5);
    sb_array_free(a);
    a = load_ok("empty.npy");
    check_shape(a, SB_DTYPE_F32, 2, (int64_t[]){0, 4});
    cr_assert_eq(sb_array_numel(a), 0);
    sb_array_free(a);
}

/* Load a bad file and check the status and that the message holds `want`. */
static void load_bad(const char *name, const char *want)
{
    sb_diag d = {0};
    sb_array *a = sb_npy_load(fixture(name), &d);
    cr_assert_null(a, "%s loaded", name);
    cr_assert_eq(d.status, SB_ERR_IO);
    cr_assert_str_eq(d.file, fixture(name));
    cr_assert(strstr(d.msg, want) != NULL, "%s: message '%s' lacks '%s'", name, d.msg, want);
}

Test(data, npy_bad_files)
{
    load_bad("bad_magic.npy", "bad .npy file: wrong magic");
    load_bad("bad_truncated.npy", "bad .npy file: truncated data");
    load_bad("bad_huge.npy", "bad .npy file: truncated data (shape needs 8000000000000 bytes");
    load_bad("bad_extra.npy", "bad .npy file: shape does not match data length");
    load_bad("bad_dtype.npy", "bad .npy file: unsupported dtype '<c8'");
    load_bad("bad_header.npy", "bad .npy file: malformed 'shape'");
    load_bad("img-idx3-ubyte", "bad .npy file: wrong magic");
    load_bad("no-such-file.npy", "cannot open: No such file or directory");
}

/* Save a to a temporary file, load it back and compare bytes. */
static void round_trip(const sb_array *a)
{
    char tmp[] = "/tmp/sb-test-npy-XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert(fd >= 0);
    close(fd);
    sb_diag d = {0};
    cr_assert_eq(sb_npy_save(tmp, a, &d), SB_OK, "%s", d.msg);
    sb_array *b = sb_npy_load(tmp, &d);
    cr_assert_not_null(b, "%s", d.msg);
    check_shape(b, a->dtype, a->ndim, a->shape);
    size_t bytes = (size_t)sb_array_numel(a) * sb_dtype_size(a->dtype);
    cr_assert(bytes == 0 || memcmp(a->data, b->data, bytes) == 0, "data differs");
    FILE *f = fopen(tmp, "rb");
    unsigned char head[10];
    cr_assert_eq(fread(head, 1, 10, f), 10);
    fclose(f);
    cr_assert_eq(head[6], 1, "writes format 1.0");
    cr_assert_eq((head[8] | head[9] << 8) % 16, (64 - 10) % 16, "preamble aligned to 64");
    sb_array_free(b);
    unlink(tmp);
}

Test(data, npy_round_trip)
{
    for (int dt = 0; dt < SB_DTYPE_COUNT; dt++) {
        sb_array *a = sb_array_new((sb_dtype)dt, 3, (int64_t[]){2, 3, 5});
        for (int64_t i = 0; i < 30; i++) sb_array_set_f64(a, i, dt == SB_DTYPE_BOOL ? i % 3 == 0 : i * 3 - 7 * (dt != SB_DTYPE_U8));
        round_trip(a);
        sb_array_free(a);
    }
    sb_array *s = sb_array_new(SB_DTYPE_F64, 0, NULL);
    sb_array_set_f64(s, 0, -2.5);
    round_trip(s);
    sb_array_free(s);
    sb_array *e = sb_array_new(SB_DTYPE_I64, 1, (int64_t[]){0});
    round_trip(e);
    sb_array_free(e);
    sb_diag d = {0};
    cr_assert_eq(sb_npy_save("/nonexistent-dir/x.npy", s = sb_array_new(SB_DTYPE_F32, 0, NULL), &d),
                 SB_ERR_IO);
    cr_assert(strstr(d.msg, "cannot open") != NULL);
    sb_array_free(s);
}

/* ---- IDX ---------------------------------------------------------------------------------- */

Test(data, idx_small_files)
{
    const char *names[] = {"img-idx3-ubyte.gz", "img-idx3-ubyte"};
    for (int k = 0; k < 2; k++) {
        sb_diag d = {0};
        sb_array *a = sb_idx_load(fixture(names[k]), &d);
        cr_assert_not_null(a, "%s", d.msg);
        check_shape(a, SB_DTYPE_U8, 3, (int64_t[]){2, 3, 4});
        for (int i = 0; i < 24; i++) cr_assert_eq(sb_array_get_i64(a, i), i * 10 % 256);
        sb_array_free(a);
    }
    sb_diag d = {0};
    sb_array *a = sb_idx_load(fixture("ints-idx1-int.gz"), &d);
    cr_assert_not_null(a, "%s", d.msg);
    check_shape(a, SB_DTYPE_I32, 1, (int64_t[]){3});
    cr_assert_eq(sb_array_get_i64(a, 0), -5);
    cr_assert_eq(sb_array_get_i64(a, 2), 100000);
    sb_array_free(a);
    a = sb_idx_load(fixture("dbl-idx2-double.gz"), &d);
    cr_assert_not_null(a, "%s", d.msg);
    check_shape(a, SB_DTYPE_F64, 2, (int64_t[]){2, 2});
    cr_assert_eq(sb_array_get_f64(a, 1), -1.25);
    cr_assert_eq(sb_array_get_f64(a, 3), 1e-3);
    sb_array_free(a);
}

static void idx_bad(const char *name, const char *want)
{
    sb_diag d = {0};
    sb_array *a = sb_idx_load(fixture(name), &d);
    cr_assert_null(a);
    cr_assert_eq(d.status, SB_ERR_IO);
    cr_assert(strstr(d.msg, want) != NULL, "%s: message '%s' lacks '%s'", name, d.msg, want);
}

Test(data, idx_bad_files)
{
    idx_bad("bad-idx-truncated.gz", "bad IDX file: truncated data");
    idx_bad("bad-idx-huge.gz", "bad IDX file: truncated data (shape needs 10000000000 bytes)");
    idx_bad("bad-idx-type.gz", "bad IDX file: unknown type code 0x0A");
    idx_bad("f4.npy", "bad IDX file: wrong magic");
    idx_bad("missing-idx.gz", "cannot open: No such file or directory");
}

Test(data, idx_fashion_mnist)
{
    const char *p = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    if (access(p, R_OK) != 0) cr_skip_test("Fashion-MNIST not installed");
    sb_diag d = {0};
    sb_array *a = sb_idx_load(p, &d);
    cr_assert_not_null(a, "%s", d.msg);
    check_shape(a, SB_DTYPE_U8, 1, (int64_t[]){10000});
    static const int first[] = {9, 2, 1, 1, 6};
    for (int i = 0; i < 5; i++) cr_assert_eq(sb_array_get_i64(a, i), first[i]);
    sb_array_free(a);
    a = sb_idx_load("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", &d);
    cr_assert_not_null(a, "%s", d.msg);
    check_shape(a, SB_DTYPE_U8, 3, (int64_t[]){10000, 28, 28});
    sb_type t;
    cr_assert_eq(sb_type_parse("float32[?, 784]", &t, &d), SB_OK);
    sb_array *x = sb_array_conform(a, &t, 1 / 255.0, "x", &d);
    cr_assert_not_null(x, "%s", d.msg);
    check_shape(x, SB_DTYPE_F32, 2, (int64_t[]){10000, 784});
    for (int64_t i = 0; i < 784 * 10; i++) cr_assert(sb_array_get_f64(x, i) >= 0 && sb_array_get_f64(x, i) <= 1);
    sb_array_free(x);
    sb_array_free(a);
}

/* ---- initializers ------------------------------------------------------------------------- */

static sb_array *init(const char *kind, uint64_t seed, sb_dtype dt, int ndim, const int64_t *shape)
{
    sb_init_spec s = {.kind = kind, .mean = 1, .std = 2, .low = -3, .high = 5, .value = 7, .seed = seed};
    sb_diag d = {0};
    sb_array *a = sb_array_init(&s, dt, ndim, shape, &d);
    cr_assert_not_null(a, "%s: %s", kind, d.msg);
    return a;
}

static void moments(const sb_array *a, double *mean, double *std, double *lo, double *hi)
{
    int64_t n = sb_array_numel(a);
    double s = 0, s2 = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = sb_array_get_f64(a, i);
        s += v, s2 += v * v;
        *lo = fmin(*lo, v), *hi = fmax(*hi, v);
    }
    *mean = s / n;
    *std = sqrt(s2 / n - *mean * *mean);
}

Test(data, init_constant_kinds)
{
    int64_t sh[] = {3, 4};
    sb_array *z = init("zeros", 1, SB_DTYPE_F32, 2, sh), *o = init("ones", 1, SB_DTYPE_I64, 2, sh);
    sb_array *f = init("full", 1, SB_DTYPE_F64, 2, sh);
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(sb_array_get_f64(z, i), 0);
        cr_assert_eq(sb_array_get_i64(o, i), 1);
        cr_assert_eq(sb_array_get_f64(f, i), 7);
    }
    sb_array_free(z), sb_array_free(o), sb_array_free(f);
    sb_init_spec s = {.kind = "gaussian"};
    sb_diag d = {0};
    cr_assert_null(sb_array_init(&s, SB_DTYPE_F32, 2, sh, &d));
    cr_assert(strstr(d.msg, "unknown initializer 'gaussian'") != NULL, "%s", d.msg);
    sb_diag_clear(&d);
    s.kind = "normal";
    cr_assert_null(sb_array_init(&s, SB_DTYPE_F32, 2, (int64_t[]){-1, 4}, &d));
    cr_assert(strstr(d.msg, "static shape") != NULL, "%s", d.msg);
    sb_diag_clear(&d);
    cr_assert_null(sb_array_init(&s, SB_DTYPE_F32, 3, (int64_t[]){1 << 30, 1 << 30, 1 << 30}, &d));
    cr_assert(strstr(d.msg, "shape too large") != NULL, "%s", d.msg);
}

Test(data, init_random_statistics)
{
    int64_t sh[] = {200, 100};
    double m, s, lo, hi;
    sb_array *a = init("normal", 42, SB_DTYPE_F64, 2, sh);
    moments(a, &m, &s, &lo, &hi);
    cr_assert(fabs(m - 1) < 0.05 && fabs(s - 2) < 0.05, "normal mean %g std %g", m, s);
    sb_array_free(a);
    a = init("uniform", 42, SB_DTYPE_F32, 2, sh);
    moments(a, &m, &s, &lo, &hi);
    cr_assert(lo >= -3 && hi < 5 && fabs(m - 1) < 0.1, "uniform [%g, %g] mean %g", lo, hi, m);
    cr_assert(fabs(s - 8 / sqrt(12)) < 0.05, "uniform std %g", s);
    sb_array_free(a);
    a = init("glorot", 42, SB_DTYPE_F32, 2, sh);
    moments(a, &m, &s, &lo, &hi);
    double bound = sqrt(6.0 / 300);
    cr_assert(lo >= -bound && hi <= bound && hi > 0.95 * bound && lo < -0.95 * bound,
              "glorot [%g, %g] bound %g", lo, hi, bound);
    sb_array_free(a);
}

Test(data, init_reproducible)
{
    int64_t sh[] = {7, 5};
    sb_array *a = init("normal", 123, SB_DTYPE_F64, 2, sh), *b = init("normal", 123, SB_DTYPE_F64, 2, sh);
    sb_array *c = init("normal", 124, SB_DTYPE_F64, 2, sh);
    cr_assert(memcmp(a->data, b->data, 35 * 8) == 0, "same seed, same values");
    cr_assert(memcmp(a->data, c->data, 35 * 8) != 0, "another seed, other values");
    /* Pinned values: the generator must not drift between versions or machines. */
    sb_array *u = init("uniform", 0, SB_DTYPE_F64, 1, (int64_t[]){2});
    cr_assert_eq(sb_array_get_f64(u, 0), 1.8101039953432387); /* xoshiro256**, splitmix64(0) */
    cr_assert_eq(sb_array_get_f64(u, 1), 2.9821927403779185);
    sb_array *n = init("normal", 0, SB_DTYPE_F64, 1, (int64_t[]){3});
    cr_assert_float_eq(sb_array_get_f64(n, 0), 0.96207001878737897, 1e-12);
    cr_assert_float_eq(sb_array_get_f64(n, 1), -1.7118604542287454, 1e-12);
    cr_assert_float_eq(sb_array_get_f64(n, 2), 0.19255780589822469, 1e-12);
    sb_array_free(a), sb_array_free(b), sb_array_free(c), sb_array_free(u), sb_array_free(n);
}

/* ---- conform ------------------------------------------------------------------------------ */

static sb_type ty(const char *text)
{
    sb_type t;
    sb_diag d = {0};
    cr_assert_eq(sb_type_parse(text, &t, &d), SB_OK, "%s", d.msg);
    return t;
}

Test(data, conform_flatten_cast_scale)
{
    sb_diag d = {0};
    sb_array *raw = sb_idx_load(fixture("img-idx3-ubyte.gz"), &d);
    cr_assert_not_null(raw, "%s", d.msg);
    sb_type t = ty("float32[?, 12]");
    sb_array *x = sb_array_conform(raw, &t, 0.5, "x", &d);
    cr_assert_not_null(x, "%s", d.msg);
    check_shape(x, SB_DTYPE_F32, 2, (int64_t[]){2, 12});
    for (int i = 0; i < 24; i++) cr_assert_eq(sb_array_get_f64(x, i), (i * 10 % 256) * 0.5);
    sb_array_free(x);
    t = ty("int64[2, 3, 4]");
    x = sb_array_conform(raw, &t, 1, "x", &d);
    cr_assert_not_null(x, "%s", d.msg);
    check_shape(x, SB_DTYPE_I64, 3, (int64_t[]){2, 3, 4});
    cr_assert_eq(sb_array_get_i64(x, 23), 230);
    sb_array_free(x);
    t = ty("uint8[2, 3, 4, 1]"); /* more dims than the data: NumPy's reshape */
    x = sb_array_conform(raw, &t, 1, "x", &d);
    cr_assert_not_null(x, "%s", d.msg);
    check_shape(x, SB_DTYPE_U8, 4, (int64_t[]){2, 3, 4, 1});
    sb_array_free(x);
    t = ty("float32[?, 8]"); /* flattening gives (2, 12): reshaped to (3, 8) */
    x = sb_array_conform(raw, &t, 1, "x", &d);
    cr_assert_not_null(x, "%s", d.msg);
    check_shape(x, SB_DTYPE_F32, 2, (int64_t[]){3, 8});
    cr_assert_eq(sb_array_get_f64(x, 9), 90);
    sb_array_free(x);
    t = ty("float64[24]");
    x = sb_array_conform(raw, &t, 1, "x", &d);
    cr_assert_not_null(x, "%s", d.msg);
    check_shape(x, SB_DTYPE_F64, 1, (int64_t[]){24});
    sb_array_free(x);
    sb_array_free(raw);
}

static void conform_bad(const sb_array *raw, const char *type, double scale, const char *want)
{
    sb_diag d = {0};
    sb_type t = ty(type);
    cr_assert_null(sb_array_conform(raw, &t, scale, "data for 'x'", &d), "%s accepted", type);
    cr_assert_neq(d.status, SB_OK);
    cr_assert(strncmp(d.msg, "data for 'x': ", 14) == 0, "message names what: %s", d.msg);
    cr_assert(strstr(d.msg, want) != NULL, "message '%s' lacks '%s'", d.msg, want);
}

Test(data, conform_errors)
{
    sb_array *raw = sb_array_new(SB_DTYPE_U8, 3, (int64_t[]){5, 2, 3});
    conform_bad(raw, "float32[?, 7]", 1, "dim 1 is 6, not 7");
    conform_bad(raw, "float32[4, 6]", 1, "dim 0 is 5, not 4");
    conform_bad(raw, "float32[7, 5, 2, 3]", 1, "cannot be fitted");
    conform_bad(raw, "float32[?, ?, 2, 3]", 1, "cannot be fitted"); /* ambiguous */
    conform_bad(raw, "float32", 1, "cannot be fitted");
    conform_bad(raw, "int32[?, 6]", 0.5, "needs a float type");
    sb_array_free(raw);
}
