/* dtype.c: element types and NumPy's promotion rules for them. */
#include "core-impl.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[SB_DTYPE_COUNT] = {
    [SB_DTYPE_BOOL] = {"bool", 1}, [SB_DTYPE_U8] = {"uint8", 1},    [SB_DTYPE_I32] = {"int32", 4},
    [SB_DTYPE_I64] = {"int64", 8}, [SB_DTYPE_F32] = {"float32", 4}, [SB_DTYPE_F64] = {"float64", 8},
};

const char *sb_dtype_name(sb_dtype t)
{
    return t < SB_DTYPE_COUNT ? dtypes[t].name : "none";
}

sb_dtype sb_dtype_from_name(const char *name)
{
    for (int t = 0; t < SB_DTYPE_COUNT; t++)
        if (!strcmp(name, dtypes[t].name)) return (sb_dtype)t;
    static const struct {
        const char *alias;
        sb_dtype t;
    } aliases[] = {{"bool_", SB_DTYPE_BOOL}, {"int", SB_DTYPE_I64},   {"float", SB_DTYPE_F64},
                   {"double", SB_DTYPE_F64}, {"f4", SB_DTYPE_F32},    {"f8", SB_DTYPE_F64},
                   {"i4", SB_DTYPE_I32},     {"i8", SB_DTYPE_I64},    {"u1", SB_DTYPE_U8}};
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(name, aliases[i].alias)) return aliases[i].t;
    return SB_DTYPE_COUNT;
}

size_t sb_dtype_size(sb_dtype t)
{
    SB_ASSERT(t < SB_DTYPE_COUNT);
    return dtypes[t].size;
}

bool sb_dtype_is_float(sb_dtype t)
{
    return t == SB_DTYPE_F32 || t == SB_DTYPE_F64;
}

bool sb_dtype_is_int(sb_dtype t)
{
    return t == SB_DTYPE_U8 || t == SB_DTYPE_I32 || t == SB_DTYPE_I64;
}

/* NumPy (array-array) promotion restricted to our dtypes:
 *   bool < everything; u8 with i32/i64 -> that int; int with float32: u8 -> f32, i32/i64 -> f64. */
sb_dtype sb_dtype_promote(sb_dtype a, sb_dtype b)
{
    if (a == b) return a;
    if (a > b) {
        sb_dtype t = a;
        a = b;
        b = t;
    } /* now a < b in enum order */
    if (b == SB_DTYPE_F32 && (a == SB_DTYPE_I32 || a == SB_DTYPE_I64)) return SB_DTYPE_F64;
    return b;
}

sb_dtype sb_dtype_to_float(sb_dtype t)
{
    if (sb_dtype_is_float(t)) return t;
    return t == SB_DTYPE_BOOL || t == SB_DTYPE_U8 ? SB_DTYPE_F32 : SB_DTYPE_F64;
}
