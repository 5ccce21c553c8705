/* cmd_eval.c: `symbench eval [--var NAME=TYPE[=VALUE]]... EXPR`: evaluate a small expression
 * and print its value, for quick checks.
 *
 *     symbench eval --var 'x=float64[3]=[1, 2, 3]' 'sum(x * 2)'      -> 12
 *     symbench eval --var 'A=float32[2, 3]' 'A.T @ A'                 (A: seeded random data)
 *
 * VALUE is JSON: a number (fills the tensor) or a nested list; a `?` dim takes the list's size.
 * Variables without a value get seeded random data (normal for floats, 0..9 for ints). */
#include "commands.h"
#include "core-impl.h"

#include <cjson/cJSON.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench eval [--help] [--f64] [--var NAME=TYPE[=VALUE]]... EXPR\n\n"
            "Evaluate the expression EXPR and print its value.\n\n"
            "  --var NAME=TYPE[=VALUE]  declare an input, e.g. x=float32[2, 3]; VALUE is a JSON\n"
            "                           number or nested list; without it, seeded random data\n"
            "  --f64                    compute in float64 (the reference mode)\n"
            "  --help                   show this help\n");
}

typedef struct eval_var {
    char *name;
    sb_array *value;
} eval_var;

/* The nested list's shape into shape[] (ragged lists are an error); returns ndim or -1. */
static int json_shape(const cJSON *v, int64_t *shape, int dim)
{
    if (!cJSON_IsArray(v)) return cJSON_IsNumber(v) || cJSON_IsBool(v) ? dim : -1;
    if (dim == SB_MAX_DIMS) return -1;
    shape[dim] = cJSON_GetArraySize(v);
    int nd = -2;
    for (const cJSON *c = v->child; c; c = c->next) {
        int64_t sub[SB_MAX_DIMS];
        memcpy(sub, shape, sizeof sub);
        int k = json_shape(c, sub, dim + 1);
        if (k < 0 || (nd != -2 && k != nd)) return -1;
        if (nd != -2 && memcmp(sub + dim + 1, shape + dim + 1, (size_t)(k - dim - 1) * 8)) return -1;
        memcpy(shape, sub, sizeof sub);
        nd = k;
    }
    return nd == -2 ? dim + 1 : nd;
}

static void json_fill(const cJSON *v, sb_array *a, int64_t *k)
{
    if (!cJSON_IsArray(v)) {
        sb_array_set_f64(a, (*k)++, cJSON_IsBool(v) ? cJSON_IsTrue(v) : v->valuedouble);
        return;
    }
    for (const cJSON *c = v->child; c; c = c->next) json_fill(c, a, k);
}

/* A value for type t from JSON text (a number fills; a list gives the shape). */
static sb_array *value_from_json(const char *arg, const char *text, sb_type *t, sb_diag *d)
{
    cJSON *v = cJSON_Parse(text);
    int64_t shape[SB_MAX_DIMS] = {0};
    int nd = v ? json_shape(v, shape, 0) : -1;
    sb_array *a = NULL;
    if (nd < 0) {
        sb_diag_set(d, SB_ERR_SYNTAX, "--var", 0, 0, "%s: the value must be a number or a "
                    "nested list of numbers", arg);
    } else if (nd == 0 && !cJSON_IsArray(v)) { /* a number fills the whole tensor */
        if (sb_type_numel(t) < 0)
            sb_diag_set(d, SB_ERR_TYPE, "--var", 0, 0, "%s: a fill value needs known dims", arg);
        else
            a = sb_array_new(t->dtype, t->ndim, t->dims);
        for (int64_t i = 0; a && i < sb_array_numel(a); i++) sb_array_set_f64(a, i, v->valuedouble);
    } else {
        bool ok = nd == t->ndim;
        for (int k = 0; ok && k < nd; k++) ok = t->dims[k] < 0 || t->dims[k] == shape[k];
        if (!ok) {
            sb_diag_set(d, SB_ERR_TYPE, "--var", 0, 0, "%s: the value's shape does not match "
                        "the type", arg);
        } else {
            for (int k = 0; k < nd; k++) t->dims[k] = shape[k];
            a = sb_array_new(t->dtype, nd, shape);
            int64_t k = 0;
            json_fill(v, a, &k);
        }
    }
    cJSON_Delete(v);
    return a;
}

/* Seeded random data; unknown dims become 4. */
static sb_array *random_value(sb_type *t, uint64_t seed, sb_diag *d)
{
    for (int k = 0; k < t->ndim; k++)
        if (t->dims[k] < 0) t->dims[k] = 4;
    sb_init_spec spec = {.kind = "normal", .std = 1.0, .seed = seed};
    if (!sb_dtype_is_float(t->dtype)) {
        spec.kind = "uniform";
        spec.high = t->dtype == SB_DTYPE_BOOL ? 2.0 : 10.0;
    }
    return sb_array_init(&spec, t->dtype, t->ndim, t->dims, d);
}

/* Parse one NAME=TYPE[=VALUE] and declare NAME as an input of ctx. */
static sb_status parse_var(sb_ctx *ctx, const char *arg, eval_var *v, uint64_t seed, sb_diag *d)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return sb_diag_set(d, SB_ERR_SYNTAX, "--var", 0, 0, "'%s': expected NAME=TYPE[=VALUE]",
                           arg);
    v->name = sb_xasprintf("%.*s", (int)(eq - arg), arg);
    const char *val = strchr(eq + 1, '=');
    char *type = val ? sb_xasprintf("%.*s", (int)(val - eq - 1), eq + 1) : sb_xstrdup(eq + 1);
    sb_type t;
    sb_diag tmp = {0};
    if (sb_type_parse(type, &t, &tmp) != SB_OK) {
        free(type);
        return sb_diag_set(d, tmp.status, "--var", 0, 0, "%s: %s", arg, tmp.msg);
    }
    free(type);
    v->value = val ? value_from_json(arg, val + 1, &t, d) : random_value(&t, seed, d);
    if (!v->value) return d->status ? d->status : SB_ERR_VALUE;
    sb_type decl = t; /* the declared type keeps its unknown dims only when none were filled */
    if (!sb_input(ctx, v->name, &decl))
        return sb_diag_set(d, SB_ERR_TYPE, "--var", 0, 0, "'%s' is declared twice", v->name);
    return SB_OK;
}

/* Parse, expand gradients, evaluate and print. */
static sb_status eval_expr(sb_ctx *ctx, const char *expr, eval_var *vars, int nvars, bool f64,
                           sb_diag *d)
{
    sb_node *n = sb_parse_expr(ctx, expr, NULL, NULL, d);
    if (!n) return d->status;
    sb_graph *g = sb_graph_new(ctx);
    sb_graph_add(g, SB_ROLE_OUTPUT, "value", n);
    sb_status st = sb_graph_expand_autodiff(g, d);
    sb_array *res = NULL;
    if (st == SB_OK) {
        sb_binding *b = sb_xcalloc((size_t)(nvars ? nvars : 1), sizeof *b);
        for (int i = 0; i < nvars; i++) b[i] = (sb_binding){vars[i].name, vars[i].value};
        n = sb_graph_node(g, SB_ROLE_OUTPUT, 0);
        st = sb_eval(ctx, 1, &n, nvars, b, f64, &res, d);
        free(b);
    }
    if (st == SB_OK) {
        sb_array_print(res, stdout, 1000);
        sb_array_free(res);
    }
    sb_graph_free(g);
    return st;
}

int sb_cmd_eval(int argc, char **argv)
{
    const char *expr = NULL;
    bool f64 = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--var") && i + 1 < argc) i++;        /* read again below */
        else if (!strncmp(a, "--var=", 6)) continue;
        else if (!strcmp(a, "--f64")) f64 = true;
        else if (!strcmp(a, "--") && i + 1 < argc && !expr) expr = argv[++i];
        else if (!strncmp(a, "--", 2) || expr) goto bad;     /* unknown option, second EXPR */
        else expr = a;                                        /* "-x" is an expression */
    }
    if (!expr) goto bad;
    sb_ctx *ctx = sb_ctx_init();
    eval_var *vars = sb_xcalloc((size_t)argc, sizeof *vars);
    int nvars = 0;
    sb_diag d = {0};
    sb_status st = SB_OK;
    for (int i = 1; i < argc && st == SB_OK; i++) {
        if (!strcmp(argv[i], "--")) break;
        const char *arg = !strcmp(argv[i], "--var") ? argv[++i]
                          : !strncmp(argv[i], "--var=", 6) ? argv[i] + 6 : NULL;
        if (arg) st = parse_var(ctx, arg, &vars[nvars], (uint64_t)nvars + 1, &d), nvars++;
    }
    if (st == SB_OK) st = eval_expr(ctx, expr, vars, nvars, f64, &d);
    fflush(stdout);
    if (st != SB_OK) sb_diag_print(&d, stderr);
    for (int i = 0; i < nvars; i++) {
        free(vars[i].name);
        sb_array_free(vars[i].value);
    }
    free(vars);
    sb_ctx_free(ctx);
    return st == SB_OK ? 0 : 1;
bad:
    usage(stderr);
    return 2;
}
