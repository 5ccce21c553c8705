/* rewrite.c: rewrite rules loaded from JSON rule sets (egg's Rewrite, as data).
 *
 * A rule set is parsed into its own context: lhs/rhs patterns are untyped terms with pattern
 * variables. Every error names the offending JSON string by file:line:col. */
#include "core-impl.h"
#include "json.h"
#include "rule.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#ifndef SB_RULES_SRCDIR
#define SB_RULES_SRCDIR "rewrites/rules"
#endif
#ifndef SB_RULES_DATADIR
#define SB_RULES_DATADIR "/usr/local/share/symbench/rules"
#endif

/* ---- pattern variables ------------------------------------------------------------------- */
static int collect_vars(const sb_node *p, const char **vars, int n, int max)
{
    if (p->op == SB_OP_PVAR) {
        for (int i = 0; i < n && i < max; i++)
            if (!strcmp(vars[i], p->name)) return n;
        if (n < max) vars[n] = p->name;
        return n + 1;
    }
    for (int i = 0; i < p->nin; i++) n = collect_vars(p->in[i], vars, n, max);
    return n;
}

int sb_rw_pattern_vars(const sb_node *p, const char **vars, int max)
{
    return collect_vars(p, vars, 0, max);
}

static bool pattern_binds(const sb_node *p, const char *name)
{
    if (p->op == SB_OP_PVAR) return !strcmp(p->name, name);
    for (int i = 0; i < p->nin; i++)
        if (pattern_binds(p->in[i], name)) return true;
    return false;
}

/* ---- conditions -------------------------------------------------------------------------- */
static const struct {
    const char *name;
    sb_cond_kind kind;
} cond_names[] = {
    {"nonzero", SB_COND_NONZERO}, {"positive", SB_COND_POSITIVE},
    {"nonnegative", SB_COND_NONNEG}, {"integer", SB_COND_INTEGER},
    {"const", SB_COND_CONST},     {"dtype", SB_COND_DTYPE},
    {"ndim", SB_COND_NDIM},       {"float", SB_COND_FLOAT},
};

static const char *skip_ws(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return s;
}

/* Parse "kind(?var)" or "kind(?var, arg)" into c (strings go to the arena). Returns NULL on
 * success, else a static error message. */
static const char *cond_parse(sb_arena *ar, const char *text, sb_cond *c)
{
    const char *s = skip_ws(text), *p = s;
    while (isalpha((unsigned char)*p) || *p == '_') p++;
    int kind = -1;
    for (size_t i = 0; i < sizeof cond_names / sizeof *cond_names; i++)
        if (strlen(cond_names[i].name) == (size_t)(p - s) && !strncmp(cond_names[i].name, s, p - s))
            kind = cond_names[i].kind;
    if (kind < 0)
        return "unknown condition (expected nonzero, positive, nonnegative, integer, const, "
               "dtype, ndim or float)";
    c->kind = (sb_cond_kind)kind;
    p = skip_ws(p);
    if (*p++ != '(') return "expected '(' after the condition's name";
    p = skip_ws(p);
    if (*p++ != '?') return "expected a pattern variable ?name";
    const char *v = p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    if (p == v) return "expected a pattern variable ?name";
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(p - v), v);
    c->var = sb_arena_strdup(ar, name);
    p = skip_ws(p);
    char arg[64] = "";
    if (*p == ',') {
        p = skip_ws(p + 1);
        const char *a = p;
        while (*p && *p != ')' && !isspace((unsigned char)*p)) p++;
        snprintf(arg, sizeof arg, "%.*s", (int)(p - a), a);
        p = skip_ws(p);
    }
    if (*p++ != ')' || *skip_ws(p)) return "expected ')' at the end of the condition";
    bool need_arg = c->kind == SB_COND_DTYPE || c->kind == SB_COND_NDIM;
    if (need_arg && !*arg) return "this condition takes a second argument";
    if (*arg && !need_arg && c->kind != SB_COND_CONST) return "this condition takes one argument";
    char *end = NULL;
    if (c->kind == SB_COND_CONST && *arg) {
        c->has_value = true;
        c->value = strtod(arg, &end);
        if (*end) return "const(?x, V): V must be a number";
    } else if (c->kind == SB_COND_DTYPE) {
        c->dtype = sb_dtype_from_name(arg);
        if (c->dtype == SB_DTYPE_COUNT) return "unknown dtype";
    } else if (c->kind == SB_COND_NDIM) {
        c->ndim = (int)strtol(arg, &end, 10);
        if (*end || c->ndim < 0) return "ndim(?x, N): N must be a non-negative integer";
    }
    c->text = sb_arena_strdup(ar, text);
    return NULL;
}

/* ---- rules ------------------------------------------------------------------------------- */
static sb_node *no_names(void *user, const char *name)
{
    (void)user, (void)name;
    return NULL; /* rules mention pattern variables only */
}

/* Parse the string item `key` of rule object o as a pattern. */
static sb_node *rule_pattern(sb_ruleset *rs, const sb_json *j, const cJSON *o, const char *key,
                             sb_diag *d)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(it))
        return sb_json_error(j, it ? it : o, SB_ERR_SYNTAX, d, "rule needs a string \"%s\"", key),
               NULL;
    sb_scope scope = {.lookup = no_names, .user = NULL, .allow_pvars = true};
    sb_srcpos pos = sb_json_str_pos(j, it);
    sb_node *p = sb_parse_expr(rs->ctx, it->valuestring, &scope, &pos, d);
    if (!p && d) sb_json_str_fix(j, it, d); /* escapes take more than one character */
    return p;
}

/* Every key of object o must be one of keys[] (a typo such as "bidirectonal" would otherwise
 * be silently ignored). */
static sb_status check_keys(const sb_json *j, const cJSON *o, const char *const *keys, int n,
                            const char *what, sb_diag *d)
{
    for (const cJSON *it = o->child; it; it = it->next) {
        bool known = false;
        for (int i = 0; i < n && !known; i++) known = !strcmp(it->string, keys[i]);
        if (!known) return sb_json_key_error(j, it, SB_ERR_SYNTAX, d, "unknown key \"%s\" in %s",
                                             it->string, what);
    }
    return SB_OK;
}

/* Every variable of `to` must be bound by `from`; else an error at the string of key. */
static sb_status check_bound(const sb_json *j, const cJSON *o, const char *key, const sb_node *to,
                             const sb_node *from, const char *from_key, sb_diag *d)
{
    const char *vars[64];
    int n = sb_rw_pattern_vars(to, vars, 64);
    for (int i = 0; i < n && i < 64; i++)
        if (!pattern_binds(from, vars[i]))
            return sb_json_error(j, cJSON_GetObjectItemCaseSensitive(o, key), SB_ERR_TYPE, d,
                                 "variable ?%s in \"%s\" is not bound by \"%s\"", vars[i], key,
                                 from_key);
    return SB_OK;
}

static sb_status rule_conds(sb_ruleset *rs, sb_rule *r, const sb_json *j, const cJSON *o,
                            sb_diag *d)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "when");
    if (!w) return SB_OK;
    if (!cJSON_IsArray(w))
        return sb_json_error(j, w, SB_ERR_SYNTAX, d, "\"when\" must be an array of strings");
    r->nconds = cJSON_GetArraySize(w);
    r->conds = sb_arena_alloc(&rs->ctx->arena, sizeof(sb_cond) * (size_t)(r->nconds + 1));
    int i = 0;
    for (const cJSON *c = w->child; c; c = c->next, i++) {
        if (!cJSON_IsString(c))
            return sb_json_error(j, c, SB_ERR_SYNTAX, d, "a condition must be a string");
        const char *err = cond_parse(&rs->ctx->arena, c->valuestring, &r->conds[i]);
        if (err) return sb_json_error(j, c, SB_ERR_SYNTAX, d, "%s: '%s'", err, c->valuestring);
        if (!pattern_binds(r->lhs, r->conds[i].var))
            return sb_json_error(j, c, SB_ERR_TYPE, d, "condition on ?%s, which lhs does not bind",
                                 r->conds[i].var);
    }
    return SB_OK;
}

/* ---- type check ------------------------------------------------------------------------- */
/* The pattern p with every variable an input of type t (in scratch); NULL when ill-typed. */
static sb_node *typed(sb_ctx *scratch, const sb_node *p, const sb_type *t)
{
    if (p->op == SB_OP_PVAR) return sb_input(scratch, p->name, t);
    if (p->op == SB_OP_CONST)
        return p->value->ndim == 0 ? sb_const_scalar(scratch, sb_array_get_f64(p->value, 0),
                                                     p->value->dtype, p->type.weak)
                                   : sb_const(scratch, p->value);
    if (sb_op_get((sb_op)p->op)->flags & SB_F_LEAF) return NULL;
    sb_node *in[p->nin > 0 ? p->nin : 1];
    for (int i = 0; i < p->nin; i++)
        if (!(in[i] = typed(scratch, p->in[i], t))) return NULL;
    return sb_apply(scratch, (sb_op)p->op, p->nin, in, p->attrs, NULL);
}

/* Could a variable of type t satisfy the rule's dtype/ndim/float conditions? */
static bool conds_allow(const sb_rule *r, const sb_type *t)
{
    for (int i = 0; i < r->nconds; i++) {
        const sb_cond *c = &r->conds[i];
        if ((c->kind == SB_COND_DTYPE && c->dtype != t->dtype) ||
            (c->kind == SB_COND_NDIM && c->ndim != t->ndim) ||
            (c->kind == SB_COND_FLOAT && !sb_dtype_is_float(t->dtype)))
            return false;
    }
    return true;
}

/* Same rank and sizes, and the same dtype unless one side is a weak literal. */
static bool types_agree(const sb_type *a, const sb_type *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return a->dtype == b->dtype || a->weak || b->weak;
}

/* A rule is type-incorrect when some typing of its variables (all one type, from a small list)
 * makes the lhs well-typed but none makes both sides well-typed with agreeing types. Rules
 * whose lhs needs variables of different types are not judged here (the soundness checker of
 * `symbench rules check` tries many typings). */
static bool rule_types_ok(const sb_rule *r, bool *judged)
{
    static const char *types[] = {"float32", "float32[4]", "float32[3, 4]", "float32[2, 3, 4]",
                                  "float64[4]", "int64", "int64[4]", "int64[3, 4]", "bool[4]"};
    bool lhs_ok = false;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        sb_type t;
        if (sb_type_parse(types[i], &t, NULL) || !conds_allow(r, &t)) continue;
        sb_ctx *scratch = sb_ctx_init();
        sb_node *l = typed(scratch, r->lhs, &t), *rr = l ? typed(scratch, r->rhs, &t) : NULL;
        bool ok = l && rr && types_agree(&l->type, &rr->type);
        lhs_ok |= l != NULL;
        sb_ctx_free(scratch);
        if (ok) return *judged = true, true;
    }
    *judged = lhs_ok;
    return !lhs_ok;
}

static const char *opt_string(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Load one rule object into r. */
static sb_status rule_load(sb_ruleset *rs, sb_rule *r, const sb_json *j, const cJSON *o,
                           sb_diag *d)
{
    if (!cJSON_IsObject(o)) return sb_json_error(j, o, SB_ERR_SYNTAX, d, "a rule must be an object");
    static const char *const keys[] = {"name", "lhs", "rhs", "doc", "when", "bidirectional"};
    if (check_keys(j, o, keys, 6, "a rule (known: name, lhs, rhs, doc, when, bidirectional)", d))
        return d ? d->status : SB_ERR_SYNTAX;
    const char *name = opt_string(o, "name");
    if (!name || !*name)
        return sb_json_error(j, o, SB_ERR_SYNTAX, d, "rule needs a non-empty string \"name\"");
    for (int i = 0; i < rs->nrules; i++)
        if (!strcmp(rs->rules[i].name, name))
            return sb_json_error(j, cJSON_GetObjectItemCaseSensitive(o, "name"), SB_ERR_SYNTAX, d,
                                 "duplicate rule name '%s' (first at line %d)", name,
                                 rs->rules[i].line);
    r->name = sb_arena_strdup(&rs->ctx->arena, name);
    const char *doc = opt_string(o, "doc");
    r->doc = sb_arena_strdup(&rs->ctx->arena, doc ? doc : "");
    r->file = sb_arena_strdup(&rs->ctx->arena, sb_json_file(j));
    sb_json_pos(j, o, &r->line, &r->col);
    if (!(r->lhs = rule_pattern(rs, j, o, "lhs", d))) return d ? d->status : SB_ERR_SYNTAX;
    if (!(r->rhs = rule_pattern(rs, j, o, "rhs", d))) return d ? d->status : SB_ERR_SYNTAX;
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(o, "bidirectional");
    r->bidirectional = cJSON_IsTrue(bi);
    sb_status st = check_bound(j, o, "rhs", r->rhs, r->lhs, "lhs", d);
    if (!st && r->bidirectional) st = check_bound(j, o, "lhs", r->lhs, r->rhs, "rhs", d);
    /* A bare variable as lhs (egg's `?a => (* ?a 1)`) matches every class: allowed, the
     * backoff scheduler keeps it in check. */
    if (!st) st = rule_conds(rs, r, j, o, d);
    bool judged = false;
    if (!st && !rule_types_ok(r, &judged))
        st = sb_json_error(j, cJSON_GetObjectItemCaseSensitive(o, "rhs"), SB_ERR_TYPE, d,
                           "rule '%s' is type-incorrect: where the lhs is well-typed, the rhs is "
                           "not, or has another type", r->name);
    return st;
}

static sb_status ruleset_fill(sb_ruleset *rs, const sb_json *j, sb_diag *d)
{
    const cJSON *root = sb_json_root(j);
    if (!cJSON_IsObject(root))
        return sb_json_error(j, root, SB_ERR_SYNTAX, d, "a rule set must be a JSON object");
    static const char *const keys[] = {"name", "doc", "rules", "version"};
    if (check_keys(j, root, keys, 4, "a rule set (known: name, doc, rules, version)", d))
        return d ? d->status : SB_ERR_SYNTAX;
    const char *name = opt_string(root, "name");
    rs->name = sb_xstrdup(name ? name : "");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    if (!cJSON_IsArray(rules))
        return sb_json_error(j, rules ? rules : root, SB_ERR_SYNTAX, d,
                             "a rule set needs an array \"rules\"");
    rs->rules = sb_xcalloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(sb_rule));
    for (const cJSON *o = rules->child; o; o = o->next) {
        sb_status st = rule_load(rs, &rs->rules[rs->nrules], j, o, d);
        if (st) return st;
        rs->nrules++;
    }
    return SB_OK;
}

sb_ruleset *sb_rw_ruleset_parse(const char *text, const char *file, sb_diag *d)
{
    sb_json *j = sb_json_parse(text, file, d);
    if (!j) return NULL;
    sb_ruleset *rs = sb_xcalloc(1, sizeof *rs);
    rs->ctx = sb_ctx_init();
    rs->path = sb_xstrdup(file ? file : "<rules>");
    sb_status st = ruleset_fill(rs, j, d);
    sb_json_free(j);
    if (st) {
        sb_rw_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

void sb_rw_ruleset_free(sb_ruleset *rs)
{
    if (!rs) return;
    free(rs->rules);
    free(rs->name);
    free(rs->path);
    sb_ctx_free(rs->ctx);
    free(rs);
}

const sb_rule *sb_rw_ruleset_find(const sb_ruleset *rs, const char *name)
{
    for (int i = 0; i < rs->nrules; i++)
        if (!strcmp(rs->rules[i].name, name)) return &rs->rules[i];
    return NULL;
}

/* ---- finding rule files ------------------------------------------------------------------ */
/* The directories searched for bare names, in order; returns the count (at most max). */
static int rule_dirs(char dirs[][1024], int max)
{
    int n = 0;
    const char *env = getenv("SB_RULES_PATH");
    while (env && *env && n < max) {
        const char *c = strchr(env, ':');
        size_t len = c ? (size_t)(c - env) : strlen(env);
        if (len && len < 1024) snprintf(dirs[n++], 1024, "%.*s", (int)len, env);
        env = c ? c + 1 : NULL;
    }
    const char *src = getenv("SB_SOURCE_ROOT");
    if (src && n < max) snprintf(dirs[n++], 1024, "%s/rewrites/rules", src);
    if (n < max) snprintf(dirs[n++], 1024, "%s", SB_RULES_SRCDIR);
    if (n < max) snprintf(dirs[n++], 1024, "%s", SB_RULES_DATADIR);
    return n;
}

char *sb_rw_ruleset_resolve(const char *name)
{
    char dirs[8][1024];
    int n = rule_dirs(dirs, 8);
    for (int i = 0; i < n; i++) {
        char *p = sb_xasprintf("%s/%s.json", dirs[i], name);
        if (access(p, R_OK) == 0) return p;
        free(p);
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sb_rw_ruleset_list(char ***names)
{
    char dirs[8][1024];
    int nd = rule_dirs(dirs, 8), n = 0, cap = 0;
    *names = NULL;
    for (int i = 0; i < nd && !n; i++) {
        DIR *dir = opendir(dirs[i]);
        if (!dir) continue;
        for (struct dirent *e; (e = readdir(dir));) {
            size_t len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".json")) continue;
            if (n == cap) *names = sb_xrealloc(*names, sizeof(char *) * (size_t)(cap = cap * 2 + 8));
            (*names)[n++] = sb_xasprintf("%.*s", (int)(len - 5), e->d_name);
        }
        closedir(dir);
    }
    if (n) qsort(*names, (size_t)n, sizeof(char *), cmp_str);
    return n;
}

static bool is_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 5 && !strcmp(s + n - 5, ".json"));
}

sb_ruleset *sb_rw_ruleset_load(const char *name_or_path, const char *base_dir, sb_diag *d)
{
    char *path;
    sb_ruleset *prs = is_path(name_or_path) ? NULL : sb_rw_plugin_ruleset(name_or_path, d);
    if (prs || (d && d->status)) return prs; /* a loaded plugin's rules (rewrites/plugin.c) */
    if (is_path(name_or_path)) {
        if (base_dir && *base_dir && name_or_path[0] != '/')
            path = sb_xasprintf("%s/%s", base_dir, name_or_path);
        else
            path = sb_xstrdup(name_or_path);
    } else if (!(path = sb_rw_ruleset_resolve(name_or_path))) {
        sb_diag_set(d, SB_ERR_IO, NULL, 0, 0,
                    "unknown rule set '%s' (no %s.json in $SB_RULES_PATH, %s or %s)", name_or_path,
                    name_or_path, SB_RULES_SRCDIR, SB_RULES_DATADIR);
        return NULL;
    }
    char *text = sb_read_file(path, NULL, d);
    sb_ruleset *rs = text ? sb_rw_ruleset_parse(text, path, d) : NULL;
    free(text);
    free(path);
    return rs;
}
