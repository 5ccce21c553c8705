/* print.c: nodes back to the expression syntax (sb_print_expr).
 *
 * The output parses back, in the same context, to the same node: operators print infix with the
 * fewest parentheses Python's precedence allows, other ops as calls with their attributes as
 * keywords, indexing with slices, constants exactly (the shortest decimal that reads back to the
 * same bits). The precedence levels match the grammar in parse.c. */
#include "syntax.h"

#include <math.h>
#include <stdarg.h>

enum {
    P_LOW = 0,  /* anywhere: arguments, index entries */
    P_CMP = 4,  /* < <= > >= == != (not chained) */
    P_BOR = 5,  /* | */
    P_BAND = 6, /* & */
    P_ADD = 7,  /* + - */
    P_MUL = 8,  /* * / // % @ */
    P_UNARY = 9,/* -x ~x, and negative numbers */
    P_POW = 10, /* ** (right-associative) */
    P_ATOM = 11 /* names, calls, x[...], x.T */
};

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static void sb_putf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_putf(strbuf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->s = sb_xrealloc(b->s, b->cap);
    }
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap2);
    va_end(ap2);
    b->n += (size_t)k;
}

static void put(strbuf *b, const char *s)
{
    sb_putf(b, "%s", s);
}

/* ---- numbers ----------------------------------------------------------------------------- */
/* The shortest "%.*g" that reads back to v (as a float32 when f32); floats keep a '.' or an
 * exponent so that they read back as floats. */
static void fmt_float(double v, bool f32, char *buf, size_t n)
{
    if (isnan(v)) {
        snprintf(buf, n, "%snan", signbit(v) ? "-" : "");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        double r = strtod(buf, NULL);
        if (f32 ? (float)r == (float)v : r == v) break;
    }
    if (!strpbrk(buf, ".en")) strncat(buf, ".0", n - strlen(buf) - 1);
}

static void fmt_elem(const sb_array *a, int64_t i, char *buf, size_t n)
{
    if (a->dtype == SB_DTYPE_BOOL)
        snprintf(buf, n, "%s", sb_array_get_f64(a, i) != 0 ? "True" : "False");
    else if (sb_dtype_is_float(a->dtype))
        fmt_float(sb_array_get_f64(a, i), a->dtype == SB_DTYPE_F32, buf, n);
    else
        snprintf(buf, n, "%lld", (long long)sb_array_get_i64(a, i));
}

static void put_array_rec(strbuf *b, const sb_array *a, int dim, int64_t off)
{
    char buf[64];
    if (dim == a->ndim) {
        fmt_elem(a, off, buf, sizeof buf);
        put(b, buf);
        return;
    }
    int64_t stride = 1;
    for (int k = dim + 1; k < a->ndim; k++) stride *= a->shape[k];
    put(b, "[");
    for (int64_t i = 0; i < a->shape[dim]; i++) {
        if (i) put(b, ", ");
        put_array_rec(b, a, dim + 1, off + i * stride);
    }
    put(b, "]");
}

/* The precedence level of a constant as printed: a negative plain number (-1, -0.5, -inf) is a
 * unary minus to the grammar; everything else is an atom. */
static int const_level(const sb_node *n)
{
    const sb_array *a = n->value;
    if (a->ndim || !n->type.weak || a->dtype == SB_DTYPE_BOOL) return P_ATOM;
    bool neg = sb_dtype_is_float(a->dtype) ? signbit(sb_array_get_f64(a, 0)) != 0
                                           : sb_array_get_i64(a, 0) < 0;
    return neg ? P_UNARY : P_ATOM;
}

/* Weak scalars print as plain literals (1, 0.5, -inf), typed scalars as float32(0.5), bools as
 * True/False, arrays as array([...], dtype='...') with every element. */
static void put_const(strbuf *b, const sb_node *n)
{
    const sb_array *a = n->value;
    char buf[64];
    if (a->ndim == 0 && (n->type.weak || a->dtype == SB_DTYPE_BOOL)) {
        fmt_elem(a, 0, buf, sizeof buf);
        put(b, buf);
    } else if (a->ndim == 0) {
        fmt_elem(a, 0, buf, sizeof buf);
        sb_putf(b, "%s(%s)", sb_dtype_name(a->dtype), buf);
    } else {
        put(b, "array(");
        put_array_rec(b, a, 0, 0);
        sb_putf(b, ", dtype='%s')", sb_dtype_name(a->dtype));
    }
}

/* A bare number literal: a postfix (x.T, x[0]) or unary minus on it needs parentheses. */
static bool is_number_literal(const sb_node *n)
{
    return n->op == SB_OP_CONST && n->value->ndim == 0 && n->type.weak &&
           n->value->dtype != SB_DTYPE_BOOL;
}

/* ---- nodes ------------------------------------------------------------------------------- */
static void put_node(strbuf *b, const sb_node *n, int ctx);

static int op_level(const sb_node *n)
{
    switch ((sb_op)n->op) {
    case SB_OP_CONST: return const_level(n);
    case SB_OP_LT: case SB_OP_LE: case SB_OP_GT: case SB_OP_GE: case SB_OP_EQ: case SB_OP_NE:
        return P_CMP;
    case SB_OP_LOGICAL_OR: return P_BOR;
    case SB_OP_LOGICAL_AND: return P_BAND;
    case SB_OP_ADD: case SB_OP_SUB: return P_ADD;
    case SB_OP_MUL: case SB_OP_DIV: case SB_OP_FLOOR_DIVIDE: case SB_OP_MOD: case SB_OP_MATMUL:
        return P_MUL;
    case SB_OP_NEG: case SB_OP_LOGICAL_NOT: return P_UNARY;
    case SB_OP_POW: return P_POW;
    default: return P_ATOM;
    }
}

static const char *infix(sb_op op)
{
    switch (op) {
    case SB_OP_LT: return "<";
    case SB_OP_LE: return "<=";
    case SB_OP_GT: return ">";
    case SB_OP_GE: return ">=";
    case SB_OP_EQ: return "==";
    case SB_OP_NE: return "!=";
    case SB_OP_LOGICAL_OR: return "|";
    case SB_OP_LOGICAL_AND: return "&";
    case SB_OP_ADD: return "+";
    case SB_OP_SUB: return "-";
    case SB_OP_MUL: return "*";
    case SB_OP_DIV: return "/";
    case SB_OP_FLOOR_DIVIDE: return "//";
    case SB_OP_MOD: return "%";
    case SB_OP_MATMUL: return "@";
    case SB_OP_POW: return "**";
    default: return NULL;
    }
}

/* The object of a postfix (x.T, x[...]): an atom that is not a bare number. */
static void put_postfix_base(strbuf *b, const sb_node *n)
{
    if (is_number_literal(n)) {
        put(b, "(");
        put_node(b, n, P_LOW);
        put(b, ")");
    } else {
        put_node(b, n, P_ATOM);
    }
}

static void put_ints(strbuf *b, const int64_t *v, int n, bool tuple)
{
    if (tuple) put(b, "(");
    for (int i = 0; i < n; i++) sb_putf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (tuple) put(b, n == 1 ? ",)" : ")");
}

/* ", axis=1" or ", axis=(0, 2)"; nothing when no axis is stored. */
static void put_axis_kw(strbuf *b, const sb_attrs *a, const char *kw)
{
    if (a->naxis < 0) return;
    sb_putf(b, ", %s=", kw);
    put_ints(b, a->axis, a->naxis, a->naxis != 1);
}

static void put_dtype_kw(strbuf *b, const sb_attrs *a)
{
    if (a->dtype != SB_DTYPE_COUNT) sb_putf(b, ", dtype='%s'", sb_dtype_name((sb_dtype)a->dtype));
}

/* name(in[0], in[1], ...) without closing parenthesis. */
static void put_call_open(strbuf *b, const char *name, const sb_node *n)
{
    sb_putf(b, "%s(", name);
    for (int i = 0; i < n->nin; i++) {
        if (i) put(b, ", ");
        put_node(b, n->in[i], P_LOW);
    }
}

static void put_iarg(strbuf *b, const sb_node *n, const sb_iarg *a)
{
    if (a->kind == SB_IARG_CONST)
        sb_putf(b, "%lld", (long long)a->v);
    else if (a->kind == SB_IARG_INPUT)
        put_node(b, n->in[a->v], P_LOW);
}

/* x[...] for SUBTENSOR / ADV_SUBTENSOR, and the first argument of SET/INC_SUBTENSOR. */
static void put_index(strbuf *b, const sb_node *n)
{
    const sb_attrs *a = n->attrs;
    put_postfix_base(b, n->in[0]);
    put(b, "[");
    if (a->nidx == 0) put(b, ":");
    for (int i = 0; i < a->nidx; i++) {
        const sb_index *x = &a->idx[i];
        if (i) put(b, ", ");
        put_iarg(b, n, &x->a[0]);
        if (x->kind != SB_INDEX_SLICE) continue;
        put(b, ":");
        put_iarg(b, n, &x->a[1]);
        if (x->a[2].kind) {
            put(b, ":");
            put_iarg(b, n, &x->a[2]);
        }
    }
    put(b, "]");
}

static bool is_weak_int(const sb_node *n, int64_t v)
{
    return n->op == SB_OP_CONST && n->type.weak && n->value->ndim == 0 &&
           n->value->dtype == SB_DTYPE_I64 && sb_array_get_i64(n->value, 0) == v;
}

/* arange: stop alone when start is the literal 0 and step the literal 1. */
static void put_arange(strbuf *b, const sb_node *n)
{
    put(b, "arange(");
    bool one = is_weak_int(n->in[2], 1);
    if (!one || !is_weak_int(n->in[0], 0)) {
        put_node(b, n->in[0], P_LOW);
        put(b, ", ");
    }
    put_node(b, n->in[1], P_LOW);
    if (!one) {
        put(b, ", ");
        put_node(b, n->in[2], P_LOW);
    }
    put_dtype_kw(b, n->attrs);
    put(b, ")");
}

/* Ops printed as calls with attributes. */
static void put_call(strbuf *b, const sb_node *n)
{
    const sb_attrs *a = n->attrs;
    sb_op op = (sb_op)n->op;
    const char *name = sb_op_get(op)->name;
    unsigned fl = sb_op_get(op)->flags;
    switch (op) {
    case SB_OP_CAST:
        put_call_open(b, name, n);
        sb_putf(b, ", '%s')", sb_dtype_name((sb_dtype)a->dtype));
        return;
    case SB_OP_SOFTMAX: case SB_OP_LOG_SOFTMAX: case SB_OP_SQUEEZE: case SB_OP_EXPAND_DIMS:
        put_call_open(b, name, n);
        put_axis_kw(b, a, "axis");
        put(b, ")");
        return;
    case SB_OP_RESHAPE: case SB_OP_BROADCAST_TO:
        put_call_open(b, name, n);
        put(b, ", ");
        put_ints(b, a->shape, a->nshape, true);
        put(b, ")");
        return;
    case SB_OP_TRANSPOSE:
        put_call_open(b, name, n);
        if (a->naxis >= 0) {
            put(b, ", ");
            put_ints(b, a->axis, a->naxis, true);
        }
        put(b, ")");
        return;
    case SB_OP_CONCATENATE: case SB_OP_STACK:
        sb_putf(b, "%s([", name);
        for (int i = 0; i < n->nin; i++) {
            if (i) put(b, ", ");
            put_node(b, n->in[i], P_LOW);
        }
        put(b, "]");
        put_axis_kw(b, a, "axis");
        put(b, ")");
        return;
    case SB_OP_SPLIT:
        put_call_open(b, name, n);
        sb_putf(b, ", %lld", (long long)a->k[0]);
        put_axis_kw(b, a, "axis");
        sb_putf(b, ")[%lld]", (long long)a->k[1]);
        return;
    case SB_OP_ZEROS: case SB_OP_ONES: case SB_OP_FULL: {
        sb_putf(b, "%s(", name);
        put_ints(b, a->shape, a->nshape > 0 ? a->nshape : 0, true);
        char buf[64];
        fmt_float(a->value, false, buf, sizeof buf);
        if (op == SB_OP_FULL) sb_putf(b, ", %s", buf);
        put_dtype_kw(b, a);
        put(b, ")");
        return;
    }
    case SB_OP_EYE:
        sb_putf(b, "eye(%lld", (long long)a->shape[0]);
        if (a->shape[1] != a->shape[0]) sb_putf(b, ", %lld", (long long)a->shape[1]);
        put_dtype_kw(b, a);
        put(b, ")");
        return;
    case SB_OP_ONE_HOT:
        put_call_open(b, name, n);
        sb_putf(b, ", %lld", (long long)a->shape[0]);
        put_dtype_kw(b, a);
        put(b, ")");
        return;
    case SB_OP_ZEROS_LIKE: case SB_OP_ONES_LIKE:
        put_call_open(b, name, n);
        put_dtype_kw(b, a);
        put(b, ")");
        return;
    case SB_OP_ARANGE: put_arange(b, n); return;
    case SB_OP_SUBTENSOR: case SB_OP_ADV_SUBTENSOR: put_index(b, n); return;
    case SB_OP_SET_SUBTENSOR: case SB_OP_INC_SUBTENSOR:
        sb_putf(b, "%s(", name);
        put_index(b, n); /* x[...] with the dynamic indices in[2..] */
        put(b, ", ");
        put_node(b, n->in[1], P_LOW);
        put(b, ")");
        return;
    case SB_OP_GRAD:
        put_call_open(b, name, n);
        put(b, a->value != 0 ? ", disconnected='zero')" : ")");
        return;
    default:
        put_call_open(b, name, n);
        if (fl & SB_F_REDUCE) {
            put_axis_kw(b, a, "axis");
            if (a->keepdims) put(b, ", keepdims=True");
        }
        put(b, ")");
        return;
    }
}

static void put_unary(strbuf *b, const sb_node *n)
{
    const sb_node *x = n->in[0];
    put(b, n->op == SB_OP_NEG ? "-" : "~");
    if (n->op == SB_OP_NEG && is_number_literal(x) && const_level(x) == P_ATOM) {
        put(b, "("); /* -(2): a bare -2 would read back as the constant -2 */
        put_node(b, x, P_LOW);
        put(b, ")");
    } else {
        put_node(b, x, P_UNARY);
    }
}

static void put_node(strbuf *b, const sb_node *n, int ctx)
{
    int lvl = op_level(n);
    bool paren = lvl < ctx;
    if (paren) put(b, "(");
    const char *op = infix((sb_op)n->op);
    switch ((sb_op)n->op) {
    case SB_OP_INPUT: case SB_OP_SHARED: put(b, n->name); break;
    case SB_OP_PVAR: sb_putf(b, "?%s", n->name); break;
    case SB_OP_CONST: put_const(b, n); break;
    case SB_OP_NEG: case SB_OP_LOGICAL_NOT: put_unary(b, n); break;
    default:
        if (op && n->op == SB_OP_POW) {
            put_node(b, n->in[0], P_ATOM);
            sb_putf(b, " %s ", op);
            put_node(b, n->in[1], P_UNARY);
        } else if (op) {
            /* left-associative; comparisons do not chain, so both sides bind tighter */
            put_node(b, n->in[0], lvl == P_CMP ? lvl + 1 : lvl);
            sb_putf(b, " %s ", op);
            put_node(b, n->in[1], lvl + 1);
        } else if (n->op == SB_OP_TRANSPOSE && n->attrs->naxis < 0) {
            put_postfix_base(b, n->in[0]);
            put(b, ".T");
        } else {
            put_call(b, n);
        }
    }
    if (paren) put(b, ")");
}

char *sb_print_expr(const sb_node *n)
{
    strbuf b = {0};
    put(&b, "");
    put_node(&b, n, P_LOW);
    return b.s;
}
