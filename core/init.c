/* init.c: seeded initializers for shared variables (zeros, ones, full, normal, uniform, glorot).
 *
 * The generator is xoshiro256** (Blackman and Vigna) seeded through splitmix64, with normals from
 * Box-Muller: integer arithmetic plus libm's log/sqrt/cos/sin on doubles, so one seed gives the
 * same values on every machine. Values are drawn in float64 and converted to the dtype. */
#include "core-impl.h"

#include <math.h>

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Fill a (n elements) with normals (mean, std): Box-Muller, both values of each pair used. */
static void fill_normal(sb_array *a, int64_t n, rng *r, double mean, double std)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - rng_unit(r); /* (0, 1]: log is finite */
        double u2 = rng_unit(r);
        double rad = sqrt(-2.0 * log(u1));
        sb_array_set_f64(a, i, mean + std * rad * cos(two_pi * u2));
        if (i + 1 < n) sb_array_set_f64(a, i + 1, mean + std * rad * sin(two_pi * u2));
    }
}

static void fill_uniform(sb_array *a, int64_t n, rng *r, double low, double high)
{
    for (int64_t i = 0; i < n; i++) sb_array_set_f64(a, i, low + (high - low) * rng_unit(r));
}

sb_array *sb_array_init(const sb_init_spec *spec, sb_dtype dt, int ndim, const int64_t *shape,
                        sb_diag *d)
{
    SB_ASSERT(spec && dt < SB_DTYPE_COUNT && ndim >= 0 && ndim <= SB_MAX_DIMS);
    int64_t total = 1;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0) {
            sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0,
                        "initializer '%s' needs a static shape (dim %d is unknown)",
                        spec->kind ? spec->kind : "", k);
            return NULL;
        }
        if (shape[k] > 0 && total > (INT64_MAX / 8) / shape[k]) {
            sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0, "initializer '%s': shape too large",
                        spec->kind ? spec->kind : "");
            return NULL;
        }
        total *= shape[k];
    }
    const char *kind = spec->kind ? spec->kind : "zeros";
    bool known = !strcmp(kind, "zeros") || !strcmp(kind, "ones") || !strcmp(kind, "full") ||
                 !strcmp(kind, "normal") || !strcmp(kind, "uniform") || !strcmp(kind, "glorot");
    if (!known) {
        sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                    "unknown initializer '%s' (expected zeros, ones, full, normal, uniform or glorot)",
                    kind);
        return NULL;
    }
    sb_array *a = sb_array_new(dt, ndim, shape);
    int64_t n = sb_array_numel(a);
    rng r;
    rng_seed(&r, spec->seed);
    if (!strcmp(kind, "ones") || !strcmp(kind, "full")) {
        double v = kind[0] == 'o' ? 1.0 : spec->value;
        for (int64_t i = 0; i < n; i++) sb_array_set_f64(a, i, v);
    } else if (!strcmp(kind, "normal")) {
        fill_normal(a, n, &r, spec->mean, spec->std);
    } else if (!strcmp(kind, "uniform")) {
        fill_uniform(a, n, &r, spec->low, spec->high);
    } else if (!strcmp(kind, "glorot")) {
        double fan_in = ndim ? (double)shape[0] : 1, fan_out = ndim ? (double)shape[ndim - 1] : 1;
        double bound = fan_in + fan_out > 0 ? sqrt(6.0 / (fan_in + fan_out)) : 0;
        fill_uniform(a, n, &r, -bound, bound);
    }
    return a;
}
