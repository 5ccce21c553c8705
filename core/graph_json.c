/* graph_json.c: graphs as JSON, in the two forms of docs/formats.md.
 *
 * Named expressions (what people write):
 *     {"inputs": {"x": "float32[?, 784]"}, "shared": {"W": "float32[784, 10]"},
 *      "let": {"h": "x @ W"}, "outputs": {"p": "softmax(h)"}, "updates": {"W": "W - 0.1 * W"}}
 * Node list (what machines write; sb_graph_save_json):
 *     {"nodes": [{"id": 0, "op": "input", "name": "x", "type": "float32[?, 784]"},
 *                {"id": 2, "op": "matmul", "inputs": [0, 1]}, ...],
 *      "inputs": ["x"], "shared": ["W"], "let": {"h": 2}, "outputs": {"p": 3}, "updates": {}}
 * Every error names the file and the line:col of the JSON value (or of the character inside an
 * expression string) that is wrong. */
#include "core-impl.h"
#include "json.h"
#include "pipeline.h"

#include <math.h>

/* ---- shared helpers ----------------------------------------------------------------------- */
/* Check that obj has only keys from allowed (NULL-terminated). */
static sb_status check_keys(const sb_json *j, const cJSON *obj, const char *const *allowed,
                            const char *what, sb_diag *d)
{
    return sb_json_check_keys(j, obj, allowed, NULL, what, d);
}

/* Parse a type string at item; errors point at the character inside the string. */
static sb_status parse_type_at(const sb_json *j, const cJSON *item, sb_type *t, sb_diag *d)
{
    if (!cJSON_IsString(item))
        return sb_json_error(j, item, SB_ERR_SYNTAX, d, "'%s' must be a type string such as "
                             "\"float32[?, 784]\"", item->string ? item->string : "type");
    sb_diag tmp = {0};
    if (sb_type_parse(item->valuestring, t, &tmp) == SB_OK) return SB_OK;
    sb_srcpos sp = sb_json_str_pos(j, item);
    int col = sp.col + (tmp.col > 0 ? tmp.col - 1 : 0);
    return sb_diag_set(d, tmp.status, sp.file, sp.line, col, "%s", tmp.msg);
}

/* Re-point an error from sb_apply / sb_input (which has no position) at item. */
static sb_status error_at(const sb_json *j, const cJSON *item, const sb_diag *tmp, sb_diag *d)
{
    if (tmp->file[0]) { /* already positioned (a nested expression) */
        if (d && d->status == SB_OK) *d = *tmp;
        return tmp->status;
    }
    return sb_json_error(j, item, tmp->status ? tmp->status : SB_ERR_TYPE, d, "%s", tmp->msg);
}

static bool name_taken(const sb_graph *g, const char *name)
{
    static const sb_graph_role roles[] = {SB_ROLE_INPUT, SB_ROLE_SHARED, SB_ROLE_LET,
                                          SB_ROLE_OUTPUT};
    for (size_t r = 0; r < sizeof roles / sizeof *roles; r++)
        if (sb_graph_find(g, roles[r], name)) return true;
    return false;
}

/* Two types agree if dtype and rank match and every known dim matches. */
static bool type_compatible(const sb_type *a, const sb_type *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

/* `updates` targets must be shared variables whose type the new value keeps. */
static sb_status add_update(const sb_json *j, sb_graph *g, const cJSON *item, sb_node *n,
                            sb_diag *d)
{
    sb_node *sh = sb_graph_find(g, SB_ROLE_SHARED, item->string);
    if (!sh)
        return sb_json_key_error(j, item, SB_ERR_TYPE, d,
                             "update of '%s', which is not a shared variable", item->string);
    if (!type_compatible(sb_node_type(sh), sb_node_type(n))) {
        char a[96], b[96];
        return sb_json_error(j, item, SB_ERR_TYPE, d,
                             "update of '%s' has type %s, expected %s", item->string,
                             sb_type_str(sb_node_type(n), a, sizeof a),
                             sb_type_str(sb_node_type(sh), b, sizeof b));
    }
    if (sb_graph_find(g, SB_ROLE_UPDATE, item->string))
        return sb_json_key_error(j, item, SB_ERR_TYPE, d, "'%s' is updated twice", item->string);
    sb_graph_add(g, SB_ROLE_UPDATE, item->string, n);
    return SB_OK;
}

static sb_status need_object(const sb_json *j, const cJSON *item, const char *key, sb_diag *d)
{
    if (!item || cJSON_IsObject(item)) return SB_OK;
    return sb_json_error(j, item, SB_ERR_SYNTAX, d, "'%s' must be an object", key);
}

/* ---- named-expression form ---------------------------------------------------------------- */
/* Names resolve to lets, outputs, inputs and shared variables defined so far. */
static sb_node *scope_lookup(void *user, const char *name)
{
    const sb_graph *g = user;
    static const sb_graph_role roles[] = {SB_ROLE_LET, SB_ROLE_OUTPUT, SB_ROLE_INPUT,
                                          SB_ROLE_SHARED};
    for (size_t r = 0; r < sizeof roles / sizeof *roles; r++) {
        sb_node *n = sb_graph_find(g, roles[r], name);
        if (n) return n;
    }
    return NULL;
}

/* Declare the variables of "inputs" / "shared": name -> type string. A shared variable may
 * instead be {"type": T, ...} with an initial value (the keys of a pipeline data spec: "npy",
 * "idx", "init" and their settings); the graph keeps only the type, a pipeline reads the value
 * (sb_pipeline_load_graph) when its own `data` does not name the variable. */
static sb_status load_vars(const sb_json *j, sb_graph *g, const cJSON *obj, sb_graph_role role,
                           sb_diag *d)
{
    if (!obj) return SB_OK;
    static const char *const keys[] = {"type", "npy", "idx", "init", "scale", "limit", "seed",
                                       "mean", "std", "low", "high", "value", NULL};
    for (const cJSON *c = obj->child; c; c = c->next) {
        sb_type t;
        const cJSON *ty = c;
        if (role == SB_ROLE_SHARED && cJSON_IsObject(c)) { /* {"type": T, initial value...} */
            if (check_keys(j, c, keys, "a shared variable", d)) return d->status;
            ty = cJSON_GetObjectItemCaseSensitive(c, "type");
            if (!ty)
                return sb_json_error(j, c, SB_ERR_SYNTAX, d, "shared variable '%s' needs a "
                                     "'type'", c->string);
        }
        if (parse_type_at(j, ty, &t, d) != SB_OK) return d->status;
        if (name_taken(g, c->string))
            return sb_json_key_error(j, c, SB_ERR_TYPE, d, "'%s' is already defined", c->string);
        sb_ctx *ctx = sb_graph_ctx(g);
        sb_node *n = role == SB_ROLE_INPUT ? sb_input(ctx, c->string, &t)
                                           : sb_shared(ctx, c->string, &t);
        if (!n)
            return sb_json_error(j, c, SB_ERR_TYPE, d,
                                 "'%s' is already declared with another type", c->string);
        sb_graph_add(g, role, c->string, n);
    }
    return SB_OK;
}

/* Parse the expressions of "let" / "outputs" / "updates" in order. */
static sb_status load_exprs(const sb_json *j, sb_graph *g, const cJSON *obj, sb_graph_role role,
                            sb_diag *d)
{
    if (!obj) return SB_OK;
    sb_scope scope = {scope_lookup, g, false};
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return sb_json_error(j, c, SB_ERR_SYNTAX, d, "'%s' must be an expression string",
                                 c->string);
        if (role != SB_ROLE_UPDATE && name_taken(g, c->string))
            return sb_json_key_error(j, c, SB_ERR_TYPE, d, "'%s' is already defined", c->string);
        sb_srcpos sp = sb_json_str_pos(j, c);
        sb_diag tmp = {0};
        sb_node *n = sb_parse_expr(sb_graph_ctx(g), c->valuestring, &scope, &sp, &tmp);
        if (!n) {
            sb_json_str_fix(j, c, &tmp);
            return error_at(j, c, &tmp, d);
        }
        if (role == SB_ROLE_UPDATE) {
            if (add_update(j, g, c, n, d) != SB_OK) return d->status;
        } else {
            sb_graph_add(g, role, c->string, n);
        }
    }
    return SB_OK;
}

static sb_graph *load_named(sb_ctx *ctx, const sb_json *j, const cJSON *root, sb_diag *d)
{
    static const char *const keys[] = {"inputs", "shared", "let", "outputs", "updates", "doc",
                                       "name", NULL};
    static const char *const sections[] = {"inputs", "shared", "let", "outputs", "updates"};
    if (check_keys(j, root, keys, "graph", d) != SB_OK) return NULL;
    const cJSON *sec[5];
    for (int i = 0; i < 5; i++) {
        sec[i] = cJSON_GetObjectItemCaseSensitive(root, sections[i]);
        if (need_object(j, sec[i], sections[i], d) != SB_OK) return NULL;
    }
    if ((!sec[3] || !sec[3]->child) && (!sec[4] || !sec[4]->child)) { /* nothing to compute */
        sb_json_error(j, root, SB_ERR_SYNTAX, d, "graph has no outputs");
        return NULL;
    }
    sb_graph *g = sb_graph_new(ctx);
    if (load_vars(j, g, sec[0], SB_ROLE_INPUT, d) || load_vars(j, g, sec[1], SB_ROLE_SHARED, d) ||
        load_exprs(j, g, sec[2], SB_ROLE_LET, d) || load_exprs(j, g, sec[3], SB_ROLE_OUTPUT, d) ||
        load_exprs(j, g, sec[4], SB_ROLE_UPDATE, d)) {
        sb_graph_free(g);
        return NULL;
    }
    return g;
}

/* ---- node-list form: attributes ----------------------------------------------------------- */
/* Read an integer (a JSON number with no fraction) at item. */
static sb_status get_int(const sb_json *j, const cJSON *item, int64_t *v, sb_diag *d)
{
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) ||
        fabs(item->valuedouble) > 9.0e15)
        return sb_json_error(j, item, SB_ERR_SYNTAX, d, "'%s' must be an integer",
                             item->string ? item->string : "value");
    *v = (int64_t)item->valuedouble;
    return SB_OK;
}

/* An integer list of at most SB_MAX_DIMS entries into out[]; *n = count. */
static sb_status get_ints(const sb_json *j, const cJSON *item, int64_t *out, int8_t *n,
                          sb_diag *d)
{
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) > SB_MAX_DIMS)
        return sb_json_error(j, item, SB_ERR_SYNTAX, d,
                             "'%s' must be a list of at most %d integers", item->string,
                             SB_MAX_DIMS);
    int k = 0;
    for (const cJSON *c = item->child; c; c = c->next)
        if (get_int(j, c, &out[k++], d) != SB_OK) return d->status;
    *n = (int8_t)k;
    return SB_OK;
}

/* One start/stop/step/index entry: null, an integer, or {"input": k}. */
static sb_status get_iarg(const sb_json *j, const cJSON *item, sb_iarg *a, sb_diag *d)
{
    if (cJSON_IsNull(item)) {
        a->kind = SB_IARG_NONE;
        return SB_OK;
    }
    if (cJSON_IsObject(item)) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(item, "input");
        if (!in || cJSON_GetArraySize(item) != 1)
            return sb_json_error(j, item, SB_ERR_SYNTAX, d,
                                 "index argument must be null, an integer or {\"input\": k}");
        a->kind = SB_IARG_INPUT;
        return get_int(j, in, &a->v, d);
    }
    a->kind = SB_IARG_CONST;
    return get_int(j, item, &a->v, d);
}

/* "idx": [{"slice": [start, stop, step]}, {"scalar": i}, {"array": {"input": k}}, ...] */
static sb_status get_idx(const sb_json *j, const cJSON *item, sb_attrs *a, sb_diag *d)
{
    static const char *const kinds[] = {"slice", "scalar", "array"};
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) > SB_MAX_DIMS)
        return sb_json_error(j, item, SB_ERR_SYNTAX, d, "'idx' must be a list of at most %d "
                             "index objects", SB_MAX_DIMS);
    for (const cJSON *c = item->child; c; c = c->next) {
        sb_index *ix = &a->idx[a->nidx++];
        int k = 0;
        while (k < 3 && !(cJSON_IsObject(c) && c->child && !strcmp(c->child->string, kinds[k])))
            k++;
        if (k == 3 || c->child->next)
            return sb_json_error(j, c, SB_ERR_SYNTAX, d, "index must be {\"slice\": [start, "
                                 "stop, step]}, {\"scalar\": i} or {\"array\": {\"input\": k}}");
        ix->kind = (int8_t)k;
        const cJSON *v = c->child;
        if (k != SB_INDEX_SLICE) {
            if (get_iarg(j, v, &ix->a[0], d) != SB_OK) return d->status;
            continue;
        }
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
            return sb_json_error(j, v, SB_ERR_SYNTAX, d, "'slice' must be [start, stop, step]");
        int m = 0;
        for (const cJSON *e = v->child; e; e = e->next)
            if (get_iarg(j, e, &ix->a[m++], d) != SB_OK) return d->status;
    }
    return SB_OK;
}

/* "attrs": {"axis", "keepdims", "dtype", "shape", "k", "value", "idx"} into a. */
static sb_status get_attrs(const sb_json *j, const cJSON *obj, sb_attrs *a, sb_diag *d)
{
    static const char *const keys[] = {"axis", "keepdims", "dtype", "shape", "k", "value", "idx",
                                       NULL};
    sb_attrs_init(a);
    if (!obj) return SB_OK;
    if (need_object(j, obj, "attrs", d) || check_keys(j, obj, keys, "attrs", d)) return d->status;
    for (const cJSON *c = obj->child; c; c = c->next) {
        const char *k = c->string;
        int8_t n = 0;
        sb_status st = SB_OK;
        if (!strcmp(k, "axis")) st = get_ints(j, c, a->axis, &a->naxis, d);
        else if (!strcmp(k, "shape")) st = get_ints(j, c, a->shape, &a->nshape, d);
        else if (!strcmp(k, "k")) st = get_ints(j, c, a->k, &n, d);
        else if (!strcmp(k, "idx")) st = get_idx(j, c, a, d);
        else if (!strcmp(k, "keepdims")) {
            if (!cJSON_IsBool(c))
                return sb_json_error(j, c, SB_ERR_SYNTAX, d, "'keepdims' must be true or false");
            a->keepdims = cJSON_IsTrue(c);
        } else if (!strcmp(k, "value")) {
            if (!cJSON_IsNumber(c))
                return sb_json_error(j, c, SB_ERR_SYNTAX, d, "'value' must be a number");
            a->value = c->valuedouble;
        } else { /* dtype */
            if (!cJSON_IsString(c) || sb_dtype_from_name(c->valuestring) == SB_DTYPE_COUNT)
                return sb_json_error(j, c, SB_ERR_TYPE, d, "'dtype' must be a dtype name");
            a->dtype = (int8_t)sb_dtype_from_name(c->valuestring);
        }
        if (st != SB_OK) return st;
        if (n > 2) return sb_json_error(j, c, SB_ERR_SYNTAX, d, "'k' has at most 2 entries");
    }
    return SB_OK;
}

/* ---- node-list form: nodes ---------------------------------------------------------------- */
typedef struct node_map {
    sb_node **v;
    int64_t n;
} node_map;

static sb_status map_get(const sb_json *j, const node_map *m, const cJSON *item, sb_node **out,
                         sb_diag *d)
{
    int64_t id = 0;
    if (get_int(j, item, &id, d) != SB_OK) return d->status;
    if (id < 0 || id >= m->n || !m->v[id])
        return sb_json_error(j, item, SB_ERR_VALUE, d, "unknown node id %lld", (long long)id);
    *out = m->v[id];
    return SB_OK;
}

/* A number of a const's "value" (numbers, or "nan" / "inf" / "-inf" which JSON lacks). */
static sb_status get_number(const sb_json *j, const cJSON *c, double *v, sb_diag *d)
{
    if (cJSON_IsNumber(c)) *v = c->valuedouble;
    else if (cJSON_IsBool(c)) *v = cJSON_IsTrue(c);
    else if (cJSON_IsString(c) && !strcmp(c->valuestring, "nan")) *v = NAN;
    else if (cJSON_IsString(c) && !strcmp(c->valuestring, "inf")) *v = INFINITY;
    else if (cJSON_IsString(c) && !strcmp(c->valuestring, "-inf")) *v = -INFINITY;
    else return sb_json_error(j, c, SB_ERR_SYNTAX, d, "constant values must be numbers");
    return SB_OK;
}

/* Flatten a (possibly nested) list of numbers into a, counting into *k. */
static sb_status fill_values(const sb_json *j, const cJSON *v, sb_array *a, int64_t *k,
                             int64_t numel, sb_diag *d)
{
    if (cJSON_IsArray(v)) {
        for (const cJSON *c = v->child; c; c = c->next)
            if (fill_values(j, c, a, k, numel, d) != SB_OK) return d->status;
        return SB_OK;
    }
    double x = 0;
    if (get_number(j, v, &x, d) != SB_OK) return d->status;
    if (*k >= numel)
        return sb_json_error(j, v, SB_ERR_TYPE, d, "constant has more values than its type "
                             "holds (%lld)", (long long)numel);
    sb_array_set_f64(a, (*k)++, x);
    return SB_OK;
}

static sb_node *make_const(sb_ctx *ctx, const sb_json *j, const cJSON *node, sb_diag *d)
{
    sb_type t;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(node, "type");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(node, "value");
    const cJSON *weak = cJSON_GetObjectItemCaseSensitive(node, "weak");
    if (!ty || !val)
        return sb_json_error(j, node, SB_ERR_SYNTAX, d, "a const node needs 'type' and 'value'"),
               NULL;
    if (parse_type_at(j, ty, &t, d) != SB_OK) return NULL;
    int64_t numel = sb_type_numel(&t), k = 0;
    if (numel < 0)
        return sb_json_error(j, ty, SB_ERR_TYPE, d, "a constant's type needs known dims"), NULL;
    sb_array *a = sb_array_new(t.dtype, t.ndim, t.dims);
    sb_node *n = NULL;
    if (fill_values(j, val, a, &k, numel, d) == SB_OK) {
        if (k != numel)
            sb_json_error(j, val, SB_ERR_TYPE, d, "constant has %lld values, its type holds %lld",
                          (long long)k, (long long)numel);
        else if (t.ndim == 0 && cJSON_IsTrue(weak))
            n = sb_const_scalar(ctx, sb_array_get_f64(a, 0), t.dtype, true);
        else
            n = sb_const(ctx, a);
    }
    sb_array_free(a);
    return n;
}

static sb_node *make_var(sb_ctx *ctx, const sb_json *j, const cJSON *node, sb_op op, sb_diag *d)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(node, "name");
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(node, "type");
    if (!cJSON_IsString(name) || !ty)
        return sb_json_error(j, node, SB_ERR_SYNTAX, d, "an %s node needs 'name' and 'type'",
                             sb_op_get(op)->name), NULL;
    sb_type t;
    if (parse_type_at(j, ty, &t, d) != SB_OK) return NULL;
    sb_node *n = op == SB_OP_INPUT ? sb_input(ctx, name->valuestring, &t)
                                   : sb_shared(ctx, name->valuestring, &t);
    if (!n)
        sb_json_error(j, name, SB_ERR_TYPE, d, "'%s' is already declared with another type",
                      name->valuestring);
    return n;
}

static sb_node *make_apply(sb_ctx *ctx, const sb_json *j, const cJSON *node, sb_op op,
                           const node_map *m, sb_diag *d)
{
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(node, "inputs");
    if (ins && !cJSON_IsArray(ins))
        return sb_json_error(j, ins, SB_ERR_SYNTAX, d, "'inputs' must be a list of node ids"),
               NULL;
    int nin = ins ? cJSON_GetArraySize(ins) : 0, k = 0;
    sb_node **in = sb_xcalloc(nin ? (size_t)nin : 1, sizeof *in);
    sb_attrs a;
    sb_node *n = NULL;
    for (const cJSON *c = ins ? ins->child : NULL; c; c = c->next)
        if (map_get(j, m, c, &in[k++], d) != SB_OK) goto out;
    if (get_attrs(j, cJSON_GetObjectItemCaseSensitive(node, "attrs"), &a, d) != SB_OK) goto out;
    sb_diag tmp = {0};
    n = sb_apply(ctx, op, nin, in, &a, &tmp);
    if (!n) error_at(j, cJSON_GetObjectItemCaseSensitive(node, "op"), &tmp, d);
out:
    free(in);
    return n;
}

/* Build one node of the list and record it under its id. */
static sb_status load_node(sb_ctx *ctx, const sb_json *j, const cJSON *node, node_map *m,
                           sb_diag *d)
{
    static const char *const keys[] = {"id", "op", "name", "type", "inputs", "attrs", "value",
                                       "weak", NULL};
    if (!cJSON_IsObject(node))
        return sb_json_error(j, node, SB_ERR_SYNTAX, d, "a node must be an object");
    if (check_keys(j, node, keys, "node", d) != SB_OK) return d->status;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(node, "id");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(node, "op");
    int64_t v = 0;
    if (!id || !cJSON_IsString(op))
        return sb_json_error(j, node, SB_ERR_SYNTAX, d, "a node needs 'id' and 'op' (a string)");
    if (get_int(j, id, &v, d) != SB_OK) return d->status;
    if (v < 0 || v > 100000000)
        return sb_json_error(j, id, SB_ERR_VALUE, d, "node id out of range");
    if (v < m->n && m->v[v])
        return sb_json_error(j, id, SB_ERR_VALUE, d, "node id %lld is used twice", (long long)v);
    sb_op o = sb_op_from_name(op->valuestring);
    if (o == SB_OP_COUNT || o == SB_OP_PVAR)
        return sb_json_error(j, op, SB_ERR_TYPE, d, "unknown op '%s'", op->valuestring);
    sb_node *n = o == SB_OP_CONST ? make_const(ctx, j, node, d)
                 : o == SB_OP_INPUT || o == SB_OP_SHARED ? make_var(ctx, j, node, o, d)
                                                         : make_apply(ctx, j, node, o, m, d);
    if (!n) return d->status;
    if (v >= m->n) {
        int64_t nn = v + 1 > 2 * m->n ? v + 1 : 2 * m->n;
        m->v = sb_xrealloc(m->v, (size_t)nn * sizeof *m->v);
        memset(m->v + m->n, 0, (size_t)(nn - m->n) * sizeof *m->v);
        m->n = nn;
    }
    m->v[v] = n;
    return SB_OK;
}

/* "inputs" / "shared": a list of names of variables in the node list; absent = all of them in
 * node order. */
static sb_status list_vars(const sb_json *j, sb_graph *g, const cJSON *list, sb_op op,
                           const node_map *m, sb_diag *d)
{
    sb_graph_role role = op == SB_OP_INPUT ? SB_ROLE_INPUT : SB_ROLE_SHARED;
    const char *key = op == SB_OP_INPUT ? "inputs" : "shared";
    if (!list) {
        for (int64_t i = 0; i < m->n; i++)
            if (m->v[i] && sb_node_op(m->v[i]) == op)
                sb_graph_add(g, role, sb_node_name(m->v[i]), m->v[i]);
        return SB_OK;
    }
    if (!cJSON_IsArray(list))
        return sb_json_error(j, list, SB_ERR_SYNTAX, d, "'%s' must be a list of names", key);
    for (const cJSON *c = list->child; c; c = c->next) {
        sb_node *n = NULL;
        for (int64_t i = 0; cJSON_IsString(c) && i < m->n && !n; i++)
            if (m->v[i] && sb_node_op(m->v[i]) == op && !strcmp(sb_node_name(m->v[i]), c->valuestring))
                n = m->v[i];
        if (!n)
            return sb_json_error(j, c, SB_ERR_VALUE, d, "'%s' lists %s, which is not an %s node",
                                 key, cJSON_IsString(c) ? c->valuestring : "a non-name",
                                 sb_op_get(op)->name);
        sb_graph_add(g, role, c->valuestring, n);
    }
    return SB_OK;
}

/* "let" / "outputs" / "updates": {name: node id}. */
static sb_status list_roots(const sb_json *j, sb_graph *g, const cJSON *obj, sb_graph_role role,
                            const char *key, const node_map *m, sb_diag *d)
{
    if (!obj) return SB_OK;
    if (need_object(j, obj, key, d) != SB_OK) return d->status;
    for (const cJSON *c = obj->child; c; c = c->next) {
        sb_node *n = NULL;
        if (map_get(j, m, c, &n, d) != SB_OK) return d->status;
        if (role == SB_ROLE_UPDATE) {
            if (add_update(j, g, c, n, d) != SB_OK) return d->status;
        } else {
            sb_graph_add(g, role, c->string, n);
        }
    }
    return SB_OK;
}

static sb_graph *load_nodes(sb_ctx *ctx, const sb_json *j, const cJSON *root, sb_diag *d)
{
    static const char *const keys[] = {"nodes", "inputs", "shared", "let", "outputs", "updates",
                                       "doc", "name", NULL};
    if (check_keys(j, root, keys, "graph", d) != SB_OK) return NULL;
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!cJSON_IsArray(nodes)) {
        sb_json_error(j, nodes, SB_ERR_SYNTAX, d, "'nodes' must be a list");
        return NULL;
    }
    node_map m = {0};
    sb_graph *g = sb_graph_new(ctx);
    sb_status st = SB_OK;
    for (const cJSON *c = nodes->child; c && st == SB_OK; c = c->next)
        st = load_node(ctx, j, c, &m, d);
    if (st == SB_OK)
        st = list_vars(j, g, cJSON_GetObjectItemCaseSensitive(root, "inputs"), SB_OP_INPUT, &m, d);
    if (st == SB_OK)
        st = list_vars(j, g, cJSON_GetObjectItemCaseSensitive(root, "shared"), SB_OP_SHARED, &m, d);
    static const char *const rk[] = {"let", "outputs", "updates"};
    static const sb_graph_role rr[] = {SB_ROLE_LET, SB_ROLE_OUTPUT, SB_ROLE_UPDATE};
    for (int i = 0; i < 3 && st == SB_OK; i++)
        st = list_roots(j, g, cJSON_GetObjectItemCaseSensitive(root, rk[i]), rr[i], rk[i], &m, d);
    if (st == SB_OK && !sb_graph_count(g, SB_ROLE_OUTPUT) && !sb_graph_count(g, SB_ROLE_UPDATE))
        st = sb_json_error(j, root, SB_ERR_SYNTAX, d, "graph has no outputs");
    free(m.v);
    if (st != SB_OK) {
        sb_graph_free(g);
        return NULL;
    }
    return g;
}

/* ---- entry points ------------------------------------------------------------------------- */
/* Load a graph from the object `root` of an already parsed document (a pipeline's inline graph
 * uses this: positions stay those of the pipeline file). Declared in pipeline.h. */
sb_graph *sb_graph_load_doc(sb_ctx *ctx, const sb_json *j, const cJSON *root, sb_diag *d)
{
    sb_diag local = {0};
    if (!d) d = &local; /* the loaders read d->status */
    if (!cJSON_IsObject(root)) {
        sb_json_error(j, root, SB_ERR_SYNTAX, d, "a graph must be a JSON object");
        return NULL;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "nodes")) return load_nodes(ctx, j, root, d);
    return load_named(ctx, j, root, d);
}

sb_graph *sb_graph_load_json(sb_ctx *ctx, const char *text, const char *file, sb_diag *d)
{
    sb_json *j = sb_json_parse(text, file ? file : "<graph>", d);
    if (!j) return NULL;
    sb_graph *g = sb_graph_load_doc(ctx, j, sb_json_root(j), d);
    sb_json_free(j);
    return g;
}

sb_graph *sb_graph_load_file(sb_ctx *ctx, const char *path, sb_diag *d)
{
    char *text = sb_read_file(path, NULL, d);
    if (!text) return NULL;
    sb_graph *g = sb_graph_load_json(ctx, text, path, d);
    free(text);
    return g;
}

/* ---- saving (node-list form) -------------------------------------------------------------- */
/* Every node reachable from any named entry (inputs, shared, lets, outputs, updates), inputs
 * before their users; *order is malloc'd. Iterative DFS (graphs can be deep). */
static int collect(const sb_graph *g, sb_node ***order)
{
    size_t nn = sb_ctx_node_count(sb_graph_ctx(g));
    unsigned char *mark = sb_xcalloc(nn ? nn : 1, 1); /* 0 new, 1 open, 2 done */
    sb_ptrvec out = {0}, stack = {0};
    for (int r = 0; r < SB_ROLE_COUNT; r++) {
        for (int i = 0; i < sb_graph_count(g, (sb_graph_role)r); i++) {
            sb_ptrvec_push(&stack, sb_graph_node(g, (sb_graph_role)r, i));
            while (stack.n) {
                sb_node *n = stack.v[stack.n - 1];
                uint32_t id = sb_node_id(n);
                if (mark[id] == 0) {
                    mark[id] = 1;
                    for (int k = sb_node_nin(n) - 1; k >= 0; k--)
                        if (!mark[sb_node_id(sb_node_in(n, k))])
                            sb_ptrvec_push(&stack, sb_node_in(n, k));
                    continue;
                }
                stack.n--;
                if (mark[id] == 2) continue;
                mark[id] = 2;
                sb_ptrvec_push(&out, n);
            }
        }
    }
    free(mark);
    sb_ptrvec_free(&stack);
    *order = (sb_node **)out.v;
    return out.n;
}

static cJSON *int_list(const int64_t *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

static cJSON *iarg_json(const sb_iarg *a)
{
    if (a->kind == SB_IARG_NONE) return cJSON_CreateNull();
    if (a->kind == SB_IARG_CONST) return cJSON_CreateNumber((double)a->v);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "input", (double)a->v);
    return o;
}

/* The attributes that differ from the defaults, or NULL when none do. */
static cJSON *attrs_json(const sb_attrs *a)
{
    static const char *const kinds[] = {"slice", "scalar", "array"};
    if (!memcmp(a, sb_attrs_default(), sizeof *a)) return NULL;
    cJSON *o = cJSON_CreateObject();
    if (a->naxis >= 0) cJSON_AddItemToObject(o, "axis", int_list(a->axis, a->naxis));
    if (a->keepdims) cJSON_AddBoolToObject(o, "keepdims", true);
    if (a->dtype != SB_DTYPE_COUNT)
        cJSON_AddStringToObject(o, "dtype", sb_dtype_name((sb_dtype)a->dtype));
    if (a->nshape >= 0) cJSON_AddItemToObject(o, "shape", int_list(a->shape, a->nshape));
    if (a->k[0] || a->k[1]) cJSON_AddItemToObject(o, "k", int_list(a->k, 2));
    if (a->value != 0) cJSON_AddNumberToObject(o, "value", a->value);
    if (a->nidx > 0) {
        cJSON *idx = cJSON_AddArrayToObject(o, "idx");
        for (int i = 0; i < a->nidx; i++) {
            const sb_index *ix = &a->idx[i];
            cJSON *e = cJSON_CreateObject(), *v;
            if (ix->kind == SB_INDEX_SLICE) {
                v = cJSON_CreateArray();
                for (int k = 0; k < 3; k++) cJSON_AddItemToArray(v, iarg_json(&ix->a[k]));
            } else {
                v = iarg_json(&ix->a[0]);
            }
            cJSON_AddItemToObject(e, kinds[ix->kind], v);
            cJSON_AddItemToArray(idx, e);
        }
    }
    return o;
}

/* A constant's values, flat in C order; NaN and infinities as strings. */
static cJSON *values_json(const sb_array *a)
{
    cJSON *v = cJSON_CreateArray();
    int64_t n = sb_array_numel(a);
    for (int64_t i = 0; i < n; i++) {
        double x = sb_array_get_f64(a, i);
        cJSON *e = isnan(x) ? cJSON_CreateString("nan")
                   : isinf(x) ? cJSON_CreateString(x > 0 ? "inf" : "-inf")
                   : sb_dtype_is_int(a->dtype) && a->dtype == SB_DTYPE_I64
                       ? cJSON_CreateNumber((double)sb_array_get_i64(a, i))
                       : cJSON_CreateNumber(x);
        cJSON_AddItemToArray(v, e);
    }
    return v;
}

static cJSON *node_json(const sb_node *n, const uint32_t *newid)
{
    cJSON *o = cJSON_CreateObject();
    sb_op op = sb_node_op(n);
    char buf[128];
    cJSON_AddNumberToObject(o, "id", newid[sb_node_id(n)]);
    cJSON_AddStringToObject(o, "op", sb_op_get(op)->name);
    if (op == SB_OP_INPUT || op == SB_OP_SHARED) cJSON_AddStringToObject(o, "name", sb_node_name(n));
    if (op == SB_OP_INPUT || op == SB_OP_SHARED || op == SB_OP_CONST)
        cJSON_AddStringToObject(o, "type", sb_type_str(sb_node_type(n), buf, sizeof buf));
    if (op == SB_OP_CONST) {
        cJSON_AddItemToObject(o, "value", values_json(sb_node_value(n)));
        if (sb_node_type(n)->weak) cJSON_AddBoolToObject(o, "weak", true);
    }
    if (sb_node_nin(n) > 0) {
        cJSON *in = cJSON_AddArrayToObject(o, "inputs");
        for (int i = 0; i < sb_node_nin(n); i++)
            cJSON_AddItemToArray(in, cJSON_CreateNumber(newid[sb_node_id(sb_node_in(n, i))]));
    }
    cJSON *a = attrs_json(sb_node_attrs(n));
    if (a) cJSON_AddItemToObject(o, "attrs", a);
    return o;
}

char *sb_graph_save_json(const sb_graph *g)
{
    sb_node **order;
    int n = collect(g, &order);
    size_t nn = sb_ctx_node_count(sb_graph_ctx(g));
    uint32_t *newid = sb_xcalloc(nn ? nn : 1, sizeof *newid);
    for (int i = 0; i < n; i++) newid[sb_node_id(order[i])] = (uint32_t)i;
    cJSON *root = cJSON_CreateObject();
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(nodes, node_json(order[i], newid));
    static const char *const vk[] = {"inputs", "shared"};
    for (int r = 0; r < 2; r++) {
        cJSON *l = cJSON_AddArrayToObject(root, vk[r]);
        for (int i = 0; i < sb_graph_count(g, (sb_graph_role)r); i++)
            cJSON_AddItemToArray(l, cJSON_CreateString(sb_graph_name(g, (sb_graph_role)r, i)));
    }
    static const char *const rk[] = {"let", "outputs", "updates"};
    static const sb_graph_role rr[] = {SB_ROLE_LET, SB_ROLE_OUTPUT, SB_ROLE_UPDATE};
    for (int r = 0; r < 3; r++) {
        if (rr[r] == SB_ROLE_LET && !sb_graph_count(g, rr[r])) continue;
        cJSON *o = cJSON_AddObjectToObject(root, rk[r]);
        for (int i = 0; i < sb_graph_count(g, rr[r]); i++)
            cJSON_AddNumberToObject(o, sb_graph_name(g, rr[r], i),
                                    newid[sb_node_id(sb_graph_node(g, rr[r], i))]);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    free(order);
    free(newid);
    return text;
}
