/* graph.c: the context, interned attributes and hash-consed nodes.
 *
 * Every node is built through one function (intern) that looks the term up first: equal terms
 * (same op, attributes id, inputs, and for leaves name / value / type) are one node. Nodes live in
 * the context's arena and are never freed one by one. */
#include "core-impl.h"

/* infer.c: the op table's type/shape rules. */
sb_status sb_infer_type(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                        const sb_array *const *vals, sb_type *out, sb_diag *d);

/* ---- attributes -------------------------------------------------------------------------- */
void sb_attrs_init(sb_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->naxis = -1;
    a->nshape = -1;
    a->dtype = SB_DTYPE_COUNT;
}

const sb_attrs *sb_attrs_default(void)
{
    static sb_attrs def;
    static int done;
    if (!done) {
        sb_attrs_init(&def);
        done = 1;
    }
    return &def;
}

static void attr_table_grow(sb_ctx *ctx)
{
    uint32_t cap = ctx->attr_table_cap ? 2 * ctx->attr_table_cap : 64;
    uint32_t *t = sb_xcalloc(cap, sizeof *t);
    for (uint32_t i = 0; i < ctx->nattrs; i++) {
        uint64_t h = sb_hash_bytes(ctx->attrs[i], sizeof(sb_attrs), 0);
        uint32_t j = (uint32_t)h & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = i + 1;
    }
    free(ctx->attr_table);
    ctx->attr_table = t;
    ctx->attr_table_cap = cap;
}

/* Intern a copy of *a; equal attributes (bytewise, which sb_attrs_init makes reliable) get the
 * same id. Id 0 is the defaults. */
uint32_t sb_attrs_intern(sb_ctx *ctx, const sb_attrs *a)
{
    if (2 * (ctx->nattrs + 1) > ctx->attr_table_cap) attr_table_grow(ctx);
    uint64_t h = sb_hash_bytes(a, sizeof *a, 0);
    uint32_t cap = ctx->attr_table_cap, j = (uint32_t)h & (cap - 1);
    for (; ctx->attr_table[j]; j = (j + 1) & (cap - 1)) {
        uint32_t id = ctx->attr_table[j] - 1;
        if (!memcmp(ctx->attrs[id], a, sizeof *a)) return id;
    }
    if (ctx->nattrs == ctx->capattrs) {
        ctx->capattrs = ctx->capattrs ? 2 * ctx->capattrs : 64;
        ctx->attrs = sb_xrealloc(ctx->attrs, ctx->capattrs * sizeof *ctx->attrs);
    }
    sb_attrs *copy = sb_arena_alloc(&ctx->arena, sizeof *copy);
    memcpy(copy, a, sizeof *copy);
    ctx->attrs[ctx->nattrs] = copy;
    ctx->attr_table[j] = ++ctx->nattrs;
    return ctx->nattrs - 1;
}

const sb_attrs *sb_attrs_get(const sb_ctx *ctx, uint32_t id)
{
    SB_ASSERT(id < ctx->nattrs);
    return ctx->attrs[id];
}

/* ---- context ----------------------------------------------------------------------------- */
sb_ctx *sb_ctx_init(void)
{
    sb_ctx *ctx = sb_xcalloc(1, sizeof *ctx);
    ctx->nbuckets = 1024;
    ctx->buckets = sb_xcalloc(ctx->nbuckets, sizeof *ctx->buckets);
    uint32_t id = sb_attrs_intern(ctx, sb_attrs_default());
    SB_ASSERT(id == 0);
    return ctx;
}

void sb_ctx_free(sb_ctx *ctx)
{
    if (!ctx) return;
    for (int i = 0; i < ctx->nodes.n; i++) sb_array_free(((sb_node *)ctx->nodes.v[i])->value);
    sb_ptrvec_free(&ctx->nodes);
    free(ctx->buckets);
    free(ctx->attrs);
    free(ctx->attr_table);
    sb_arena_free(&ctx->arena);
    free(ctx);
}

size_t sb_ctx_node_count(const sb_ctx *ctx)
{
    return (size_t)ctx->nodes.n;
}

/* ---- hash-consing ------------------------------------------------------------------------ */
static int64_t array_nbytes(const sb_array *a)
{
    return sb_array_numel(a) * (int64_t)sb_dtype_size(a->dtype);
}

static uint64_t node_hash(sb_op op, uint32_t attr, int nin, sb_node *const *in, const char *name,
                          const sb_array *val, const sb_type *t)
{
    uint64_t key[3] = {op, attr, (uint64_t)nin};
    uint64_t h = sb_hash_bytes(key, sizeof key, 0);
    for (int i = 0; i < nin; i++) h = sb_hash_bytes(&in[i]->id, sizeof in[i]->id, h);
    if (name) h = sb_hash_bytes(name, strlen(name), h);
    if (val) {
        h = sb_hash_bytes(&val->dtype, sizeof val->dtype, h);
        h = sb_hash_bytes(val->shape, sizeof(int64_t) * (size_t)val->ndim, h);
        h = sb_hash_bytes(val->data, (size_t)array_nbytes(val), h);
        h = sb_hash_bytes(&t->weak, sizeof t->weak, h);
    }
    return h;
}

static bool array_eq(const sb_array *a, const sb_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    if (memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim)) return false;
    return !memcmp(a->data, b->data, (size_t)array_nbytes(a));
}

static bool node_matches(const sb_node *n, sb_op op, uint32_t attr, int nin, sb_node *const *in,
                         const char *name, const sb_array *val, const sb_type *t)
{
    if (n->op != op || n->attr != attr || n->nin != nin) return false;
    for (int i = 0; i < nin; i++)
        if (n->in[i] != in[i]) return false;
    if (name && (!n->name || strcmp(n->name, name))) return false;
    if (val && (!array_eq(n->value, val) || n->type.weak != t->weak)) return false;
    return true;
}

static void rehash(sb_ctx *ctx)
{
    uint32_t nb = ctx->nbuckets * 2;
    sb_node **b = sb_xcalloc(nb, sizeof *b);
    for (int i = 0; i < ctx->nodes.n; i++) {
        sb_node *n = ctx->nodes.v[i];
        uint32_t j = (uint32_t)n->hash & (nb - 1);
        n->next = b[j];
        b[j] = n;
    }
    free(ctx->buckets);
    ctx->buckets = b;
    ctx->nbuckets = nb;
}

/* Find or create the node. For leaves, `name` (INPUT, SHARED, PVAR) or `val` (CONST, copied on
 * creation) identify it; `t` is the type to give a new node. */
static sb_node *intern(sb_ctx *ctx, sb_op op, uint32_t attr, int nin, sb_node *const *in,
                       const char *name, const sb_array *val, const sb_type *t)
{
    uint64_t h = node_hash(op, attr, nin, in, name, val, t);
    for (sb_node *n = ctx->buckets[h & (ctx->nbuckets - 1)]; n; n = n->next)
        if (n->hash == h && node_matches(n, op, attr, nin, in, name, val, t)) return n;
    sb_node *n = sb_arena_alloc(&ctx->arena, sizeof *n + (size_t)nin * sizeof(sb_node *));
    n->id = (uint32_t)ctx->nodes.n;
    n->op = (uint16_t)op;
    n->nin = (uint16_t)nin;
    n->attr = attr;
    n->attrs = ctx->attrs[attr];
    n->type = *t;
    n->name = name ? sb_arena_strdup(&ctx->arena, name) : NULL;
    n->value = val ? sb_array_copy(val) : NULL;
    n->hash = h;
    for (int i = 0; i < nin; i++) n->in[i] = in[i];
    uint32_t j = (uint32_t)h & (ctx->nbuckets - 1);
    n->next = ctx->buckets[j];
    ctx->buckets[j] = n;
    sb_ptrvec_push(&ctx->nodes, n);
    if ((uint32_t)ctx->nodes.n > 2 * ctx->nbuckets) rehash(ctx);
    return n;
}

/* Variables are one node per name: a second declaration must agree on the kind and type. */
static sb_node *variable(sb_ctx *ctx, sb_op op, const char *name, const sb_type *t)
{
    for (int i = 0; i < ctx->nodes.n; i++) {
        sb_node *n = ctx->nodes.v[i];
        if ((n->op == SB_OP_INPUT || n->op == SB_OP_SHARED) && !strcmp(n->name, name))
            return n->op == op && sb_type_eq(&n->type, t) ? n : NULL;
    }
    sb_type tt = *t;
    tt.weak = false;
    return intern(ctx, op, 0, 0, NULL, name, NULL, &tt);
}

sb_node *sb_input(sb_ctx *ctx, const char *name, const sb_type *t)
{
    return variable(ctx, SB_OP_INPUT, name, t);
}

sb_node *sb_shared(sb_ctx *ctx, const char *name, const sb_type *t)
{
    return variable(ctx, SB_OP_SHARED, name, t);
}

sb_node *sb_pvar(sb_ctx *ctx, const char *name)
{
    sb_type t = sb_type_make(SB_DTYPE_COUNT, 0, NULL); /* patterns are untyped: dtype "none" */
    return intern(ctx, SB_OP_PVAR, 0, 0, NULL, name, NULL, &t);
}

sb_node *sb_const(sb_ctx *ctx, const sb_array *a)
{
    sb_type t = sb_type_make(a->dtype, a->ndim, a->shape);
    return intern(ctx, SB_OP_CONST, 0, 0, NULL, NULL, a, &t);
}

sb_node *sb_const_scalar(sb_ctx *ctx, double v, sb_dtype dt, bool weak)
{
    sb_array a = {.dtype = dt, .ndim = 0};
    union {
        double f64;
        float f32;
        int64_t i64;
        int32_t i32;
        uint8_t u8;
    } buf;
    memset(&buf, 0, sizeof buf);
    a.data = &buf;
    sb_array_set_f64(&a, 0, v);
    sb_type t = sb_type_make(dt, 0, NULL);
    t.weak = weak;
    return intern(ctx, SB_OP_CONST, 0, 0, NULL, NULL, &a, &t);
}

sb_node *sb_apply(sb_ctx *ctx, sb_op op, int nin, sb_node *const *in, const sb_attrs *a,
                  sb_diag *d)
{
    const sb_op_info *info = sb_op_get(op);
    if (info->flags & SB_F_LEAF)
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "'%s' is not an operation", info->name),
               NULL;
    if (info->arity >= 0 && nin != info->arity)
        return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "%s takes %d argument%s, got %d",
                           info->name, info->arity, info->arity == 1 ? "" : "s", nin),
               NULL;
    if (nin > 0xffff) return sb_diag_set(d, SB_ERR_TYPE, NULL, 0, 0, "too many inputs"), NULL;
    const sb_type *tin[nin > 0 ? nin : 1];
    const sb_array *vals[nin > 0 ? nin : 1];
    bool has_pvar = false;
    for (int i = 0; i < nin; i++) {
        SB_ASSERT(in[i]);
        tin[i] = &in[i]->type;
        vals[i] = in[i]->value;
        has_pvar |= in[i]->op == SB_OP_PVAR || in[i]->type.dtype == SB_DTYPE_COUNT;
    }
    uint32_t attr = sb_attrs_intern(ctx, a ? a : sb_attrs_default());
    sb_type out;
    if (has_pvar) {
        /* Patterns are untyped until matched: dtype COUNT marks an unknown type. */
        out = sb_type_make(SB_DTYPE_COUNT, 0, NULL);
    } else if (sb_infer_type(op, nin, tin, ctx->attrs[attr], vals, &out, d) != SB_OK) {
        return NULL;
    }
    return intern(ctx, op, attr, nin, in, NULL, NULL, &out);
}

sb_node *sb_apply1(sb_ctx *ctx, sb_op op, sb_node *a, sb_diag *d)
{
    return sb_apply(ctx, op, 1, &a, NULL, d);
}

sb_node *sb_apply2(sb_ctx *ctx, sb_op op, sb_node *a, sb_node *b, sb_diag *d)
{
    sb_node *in[2] = {a, b};
    return sb_apply(ctx, op, 2, in, NULL, d);
}

/* ---- accessors --------------------------------------------------------------------------- */
uint32_t sb_node_id(const sb_node *n) { return n->id; }
sb_op sb_node_op(const sb_node *n) { return (sb_op)n->op; }
int sb_node_nin(const sb_node *n) { return n->nin; }
sb_node *sb_node_in(const sb_node *n, int i) { SB_ASSERT(i >= 0 && i < n->nin); return n->in[i]; }
const sb_type *sb_node_type(const sb_node *n) { return &n->type; }
const sb_attrs *sb_node_attrs(const sb_node *n) { return n->attrs; }
const char *sb_node_name(const sb_node *n) { return n->name; }
const sb_array *sb_node_value(const sb_node *n) { return n->value; }
