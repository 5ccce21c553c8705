/* plugin.c: loading plugins and keeping what they register (the ABI: symbench.h, "Plugins").
 *
 * A plugin is dlopen'ed (RTLD_NOW | RTLD_LOCAL) once per file; its sb_plugin_init gets a host
 * table of its own (host->plugin points back to its record here) and registers through it:
 * - rules: kept as JSON rule objects; `--rules NAME` / a saturate pass's "rules" list load them
 *   as a rule set named after the plugin (sb_rw_plugin_ruleset), each rule linked to its
 *   sb_plugin_rule (C condition, applier, facts); origins read "plugin:NAME".
 * - ops: core/op.c's registry (ids >= SB_OP_COUNT), owned by the plugin's name.
 * - passes: pass.c's registry, through a fixed set of trampolines (sb_pass_fn has no user data).
 * - cost functions (applied by sb_rw_op_cost) and facts (usable in `when` of later rules).
 * Errors name the plugin (its file before its name is known). Plugins are never unloaded. */
#include "plugin.h"

#include "core-impl.h"
#include "json.h"
#include "passes.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>

#define MAX_PLUGINS 32
#define MAX_PLUGIN_PASSES 16
#define MAX_COSTS 16
#define MAX_FACTS 32

typedef struct plugin {
    char path[PATH_MAX];
    char name[128];
    char *desc;
    void *handle;
    sb_host_api host;
    cJSON *rules;            /* array of rule objects (JSON form) */
    sb_ptrvec prules;        /* sb_plugin_rule*, by rule */
    sb_ptrvec items;         /* "KIND NAME" strings */
    sb_diag err;             /* the first failed registration */
    bool ok;                 /* init done and accepted */
} plugin;

static plugin *plugins[MAX_PLUGINS];
static int nplugins;         /* accepted plugins: plugins[0..nplugins) */
static sb_ptrvec failed;     /* plugins whose load failed (kept: ops may point into them) */

static struct {
    sb_cost_fn fn;
    const plugin *p;
} costs[MAX_COSTS];
static int ncosts;

static struct {
    char *name;
    sb_fact_fn fn;
    void *user;
    const plugin *p;
} facts[MAX_FACTS];
static int nfacts;

static struct {
    sb_plugin_pass_fn fn;
    const plugin *p;
} ppasses[MAX_PLUGIN_PASSES];
static int nppasses;

/* ---- matches ------------------------------------------------------------------------------ */
/* A match in an e-graph (eg, rw, subst), or, for the checker, terms by name (eg NULL). */
struct sb_match {
    sb_egraph *eg;
    const sb_rewrite *rw;
    const sb_id *subst;
    int nterms;
    const char *const *names;
    sb_node *const *terms;
};

static int match_var(const sb_match *m, const char *var)
{
    if (!m || !var) return -1;
    if (*var == '?') var++;
    int n = m->eg ? m->rw->vars.n : m->nterms;
    for (int v = 0; v < n; v++)
        if (!strcmp(m->eg ? m->rw->vars.name[v] : m->names[v], var)) return v;
    return -1;
}

static bool h_match_const(const sb_match *m, const char *var, double *value)
{
    int v = match_var(m, var);
    double x;
    if (v < 0) return false;
    if (!m->eg) { /* a term: a constant whose elements are all one value */
        const sb_array *a = sb_node_value(m->terms[v]);
        int64_t n = a ? sb_array_numel(a) : 0;
        for (int64_t i = 1; i < n; i++)
            if (sb_array_get_f64(a, i) != sb_array_get_f64(a, 0)) return false;
        if (n < 1) return false;
        x = sb_array_get_f64(a, 0);
    } else if (!sb_eg_const_scalar(m->eg, m->subst[v], &x)) {
        return false;
    }
    if (value) *value = x;
    return true;
}

static const sb_type *h_match_type(const sb_match *m, const char *var)
{
    int v = match_var(m, var);
    if (v < 0) return NULL;
    return m->eg ? &sb_eg_class(m->eg, m->subst[v])->type : sb_node_type(m->terms[v]);
}

static bool cond_of(const sb_plugin_rule *pr, const sb_match *m)
{
    for (int i = 0; i < pr->nfacts; i++)
        if (!pr->facts[i].fn(pr->host, m, pr->facts[i].var, pr->facts[i].user)) return false;
    return !pr->cond || pr->cond(pr->host, m, pr->user);
}

bool sb_rw_plugin_inst(const sb_plugin_rule *pr, int n, const char *const *names,
                       sb_node *const *terms, const sb_node **rhs)
{
    sb_match m = {.nterms = n, .names = names, .terms = terms};
    if (!cond_of(pr, &m)) return false;
    if (!pr->apply) return true;
    sb_plugin_rule *w = (sb_plugin_rule *)pr;
    if (!w->scratch) w->scratch = sb_ctx_init();
    sb_node *p = pr->apply(pr->host, &m, w->scratch, pr->user);
    if (p) *rhs = p;
    return p != NULL;
}

bool sb_rw_plugin_cond(sb_egraph *eg, const sb_rewrite *rw, const sb_id *subst)
{
    const sb_plugin_rule *pr = rw->rule->plugin;
    if (!pr) return true;
    sb_match m = {.eg = eg, .rw = rw, .subst = subst};
    return cond_of(pr, &m);
}

sb_id sb_rw_plugin_apply(sb_egraph *eg, const sb_rewrite *rw, const sb_id *subst)
{
    sb_plugin_rule *pr = (sb_plugin_rule *)rw->rule->plugin;
    if (!pr || !pr->apply || rw->backward) return sb_eg_pattern_instantiate(eg, &rw->rhs, subst);
    if (!pr->scratch) pr->scratch = sb_ctx_init();
    sb_match m = {.eg = eg, .rw = rw, .subst = subst};
    sb_node *p = pr->apply(pr->host, &m, pr->scratch, pr->user);
    if (!p) return SB_ID_NONE;
    sb_vars vars = rw->vars;
    sb_pattern pat = {0};
    sb_id to = SB_ID_NONE;
    if (sb_eg_pattern_compile(eg, p, &vars, false, &pat) && vars.n == rw->vars.n)
        to = sb_eg_pattern_instantiate(eg, &pat, subst);
    sb_eg_pattern_free(&pat);
    return to;
}

double sb_rw_plugin_cost(sb_op op, const sb_attrs *a, const sb_type *out, int nin,
                         const sb_type *const *in, double builtin)
{
    for (int i = 0; i < ncosts; i++) builtin = costs[i].fn(op, a, out, nin, in, builtin);
    return builtin;
}

/* ---- registration helpers ----------------------------------------------------------------- */
static plugin *self(const sb_host_api *h)
{
    SB_ASSERT(h && h->plugin);
    return h->plugin;
}

static void add_item(plugin *p, const char *kind, const char *name)
{
    sb_ptrvec_push(&p->items, sb_xasprintf("%s %s", kind, name));
}

/* The plugin (loaded or being loaded) that has a rule named name, or NULL. */
static const plugin *rule_owner(const plugin *cur, const char *name)
{
    for (int i = 0; i <= nplugins; i++) {
        const plugin *p = i < nplugins ? plugins[i] : cur;
        for (int k = 0; p && k < p->prules.n; k++)
            if (!strcmp(((sb_plugin_rule *)p->prules.v[k])->name, name)) return p;
        if (p == cur) break;
    }
    return NULL;
}

static int fact_find(const char *name, size_t len)
{
    for (int i = 0; i < nfacts; i++)
        if (strlen(facts[i].name) == len && !strncmp(facts[i].name, name, len)) return i;
    return -1;
}

/* Move the `when` entries that name registered facts ("fact(?x)") from rule o into pr. */
static sb_status take_facts(plugin *p, cJSON *o, sb_plugin_rule *pr, sb_diag *d)
{
    cJSON *when = cJSON_GetObjectItemCaseSensitive(o, "when");
    if (!cJSON_IsArray(when)) return SB_OK;
    for (cJSON *c = when->child, *next; c; c = next) {
        next = c->next;
        if (!cJSON_IsString(c)) continue;
        const char *s = c->valuestring, *open = strchr(s, '(');
        while (*s == ' ') s++;
        int f = open ? fact_find(s, (size_t)(open - s)) : -1;
        if (f < 0) continue;
        const char *v = open + 1, *close = strchr(v, ')');
        while (*v == ' ' || *v == '?') v++;
        if (!close || pr->nfacts == SB_PLUGIN_RULE_FACTS)
            return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: rule '%s': bad fact '%s'",
                               p->name, pr->name, c->valuestring);
        size_t n = (size_t)(close - v);
        while (n && v[n - 1] == ' ') n--;
        pr->facts[pr->nfacts].fn = facts[f].fn;
        pr->facts[pr->nfacts].user = facts[f].user;
        pr->facts[pr->nfacts++].var = sb_xasprintf("%.*s", (int)n, v);
        cJSON_Delete(cJSON_DetachItemViaPointer(when, c));
    }
    return SB_OK;
}

/* Check one rule by loading it alone as a rule set (errors name the plugin). */
static sb_status rule_check(plugin *p, const cJSON *o, sb_diag *d)
{
    cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "rules");
    cJSON_AddStringToObject(doc, "name", p->name);
    cJSON_AddItemToArray(arr, cJSON_Duplicate(o, true));
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    char file[160];
    snprintf(file, sizeof file, "plugin:%s", p->name);
    sb_ruleset *rs = sb_rw_ruleset_parse(text, file, d);
    free(text);
    if (!rs) return d && d->status ? d->status : SB_ERR_PLUGIN;
    sb_rw_ruleset_free(rs);
    return SB_OK;
}

/* Register one rule object (consumed) with its C callbacks. */
static sb_status add_rule(plugin *p, cJSON *o, sb_rule_cond_fn cond, sb_rule_apply_fn apply,
                          void *user, sb_diag *d)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    sb_status st = SB_OK;
    if (!cJSON_IsObject(o) || !cJSON_IsString(nm) || !*nm->valuestring) {
        st = sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: a rule needs a non-empty \"name\"",
                         p->name);
    } else if (rule_owner(p, nm->valuestring)) {
        st = sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: rule '%s' is already registered (by %s)",
                         p->name, nm->valuestring, rule_owner(p, nm->valuestring)->name);
    }
    sb_plugin_rule *pr = st ? NULL : sb_xcalloc(1, sizeof *pr);
    if (pr) {
        *pr = (sb_plugin_rule){.name = sb_xstrdup(nm->valuestring), .plugin = p->name,
                               .host = &p->host, .cond = cond, .apply = apply, .user = user};
        st = take_facts(p, o, pr, d);
    }
    if (!st) st = rule_check(p, o, d);
    if (st) {
        if (pr) free((char *)pr->name);
        for (int i = 0; pr && i < pr->nfacts; i++) free(pr->facts[i].var);
        free(pr);
        cJSON_Delete(o);
        return st;
    }
    sb_ptrvec_push(&p->prules, pr);
    add_item(p, "rule", pr->name);
    cJSON_AddItemToArray(p->rules, o);
    return SB_OK;
}

/* ---- the host table's registration functions ---------------------------------------------- */
static sb_status do_register_rules_json(const sb_host_api *h, const char *json, sb_diag *d)
{
    plugin *p = self(h);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    if (!root)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: rules: invalid JSON", p->name);
    cJSON *list = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "rules") : root;
    sb_status st = SB_OK;
    if (cJSON_IsObject(root) && !list) { /* one rule object */
        return add_rule(p, root, NULL, NULL, NULL, d);
    } else if (!cJSON_IsArray(list)) {
        st = sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                         "%s: rules: expected a rule, an array of rules or {\"rules\": [...]}",
                         p->name);
    }
    while (!st && list->child) st = add_rule(p, cJSON_DetachItemViaPointer(list, list->child),
                                             NULL, NULL, NULL, d);
    cJSON_Delete(root);
    return st;
}

static sb_status do_register_rule(const sb_host_api *h, const char *name, const char *lhs,
                                  const char *rhs, const char *const *when, sb_rule_cond_fn cond,
                                  sb_rule_apply_fn apply, void *user, sb_diag *d)
{
    plugin *p = self(h);
    if (!name || !lhs || (!rhs && !apply))
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                           "%s: a rule needs a name, a lhs and a rhs (or an applier)", p->name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "lhs", lhs);
    cJSON_AddStringToObject(o, "rhs", rhs ? rhs : lhs); /* an applier builds the real rhs */
    if (when && *when) {
        cJSON *w = cJSON_AddArrayToObject(o, "when");
        for (; *when; when++) cJSON_AddItemToArray(w, cJSON_CreateString(*when));
    }
    if (cond || apply) cJSON_AddStringToObject(o, "doc", apply ? "C applier" : "C condition");
    return add_rule(p, o, cond, apply, user, d);
}

static sb_status do_register_op(const sb_host_api *h, const sb_op_def *def, sb_op *id, sb_diag *d)
{
    plugin *p = self(h);
    sb_status st = sb_op_register(def, h, p->name, id, d);
    if (!st) add_item(p, "op", def->name);
    return st;
}

/* Pass trampolines: pass.c's sb_pass_fn carries no user data, so slot k runs ppasses[k]. */
static sb_status run_ppass(int k, sb_graph *g, const cJSON *s, bool *changed, sb_diag *d)
{
    if (!ppasses[k].p->ok)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: the plugin was not loaded",
                           ppasses[k].p->name);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    sb_status st = ppasses[k].fn(&ppasses[k].p->host, g, text ? text : "{}", changed, d);
    free(text);
    if (st && d && !d->status)
        sb_diag_set(d, st, NULL, 0, 0, "%s: pass failed", ppasses[k].p->name);
    return st;
}
#define TRAMP(k)                                                                                 \
    static sb_status tramp##k(sb_graph *g, const cJSON *s, const sb_pass_opts *o, bool *ch,     \
                              sb_diag *d)                                                        \
    {                                                                                            \
        (void)o;                                                                                 \
        return run_ppass(k, g, s, ch, d);                                                        \
    }
TRAMP(0) TRAMP(1) TRAMP(2) TRAMP(3) TRAMP(4) TRAMP(5) TRAMP(6) TRAMP(7)
TRAMP(8) TRAMP(9) TRAMP(10) TRAMP(11) TRAMP(12) TRAMP(13) TRAMP(14) TRAMP(15)
static const sb_pass_fn tramps[MAX_PLUGIN_PASSES] = {
    tramp0, tramp1, tramp2,  tramp3,  tramp4,  tramp5,  tramp6,  tramp7,
    tramp8, tramp9, tramp10, tramp11, tramp12, tramp13, tramp14, tramp15};

static sb_status do_register_pass(const sb_host_api *h, const char *name, sb_plugin_pass_fn fn,
                                 const char *doc, sb_diag *d)
{
    plugin *p = self(h);
    const char *names[128];
    int n = sb_rw_pass_list(names, NULL, 128);
    for (int i = 0; i < n && i < 128; i++)
        if (name && !strcmp(names[i], name))
            return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                               "%s: pass '%s' is already registered", p->name, name);
    if (!name || !fn || nppasses == MAX_PLUGIN_PASSES)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                           "%s: a pass needs a name and a function (at most %d plugin passes)",
                           p->name, MAX_PLUGIN_PASSES);
    ppasses[nppasses].fn = fn;
    ppasses[nppasses].p = p;
    if (sb_rw_pass_register(sb_xstrdup(name), tramps[nppasses], sb_xstrdup(doc ? doc : "")))
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: the pass registry is full", p->name);
    nppasses++;
    add_item(p, "pass", name);
    return SB_OK;
}

static sb_status do_register_cost(const sb_host_api *h, const char *name, sb_cost_fn fn,
                                 sb_diag *d)
{
    plugin *p = self(h);
    if (!fn || ncosts == MAX_COSTS)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                           "%s: a cost function is missing or too many are registered", p->name);
    costs[ncosts].fn = fn;
    costs[ncosts++].p = p;
    add_item(p, "cost", name ? name : "(unnamed)");
    return SB_OK;
}

static sb_status do_register_fact(const sb_host_api *h, const char *name, sb_fact_fn fn,
                                 void *user, sb_diag *d)
{
    plugin *p = self(h);
    if (!name || !*name || !fn || nfacts == MAX_FACTS)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0,
                           "%s: a fact needs a name and a function (at most %d)", p->name,
                           MAX_FACTS);
    int f = fact_find(name, strlen(name));
    if (f >= 0)
        return sb_diag_set(d, SB_ERR_PLUGIN, NULL, 0, 0, "%s: fact '%s' is already registered (by %s)",
                           p->name, name, facts[f].p->name);
    facts[nfacts].name = sb_xstrdup(name);
    facts[nfacts].fn = fn;
    facts[nfacts].user = user;
    facts[nfacts++].p = p;
    add_item(p, "fact", name);
    return SB_OK;
}

/* Each registration through the table: the first failure is kept for the loader (a plugin may
 * ignore the status it gets back). */
static sb_status noted(const sb_host_api *h, sb_status st, const sb_diag *d)
{
    plugin *p = self(h);
    if (st && !p->err.status) p->err = *d;
    return st;
}
#define NOTED(call)                                                                              \
    sb_diag tmp = {0};                                                                           \
    if (!d) d = &tmp;                                                                            \
    return noted(h, call, d)

static sb_status h_register_rules_json(const sb_host_api *h, const char *json, sb_diag *d)
{
    NOTED(do_register_rules_json(h, json, d));
}
static sb_status h_register_rule(const sb_host_api *h, const char *name, const char *lhs,
                                 const char *rhs, const char *const *when, sb_rule_cond_fn cond,
                                 sb_rule_apply_fn apply, void *user, sb_diag *d)
{
    NOTED(do_register_rule(h, name, lhs, rhs, when, cond, apply, user, d));
}
static sb_status h_register_op(const sb_host_api *h, const sb_op_def *def, sb_op *id, sb_diag *d)
{
    NOTED(do_register_op(h, def, id, d));
}
static sb_status h_register_pass(const sb_host_api *h, const char *name, sb_plugin_pass_fn fn,
                                 const char *doc, sb_diag *d)
{
    NOTED(do_register_pass(h, name, fn, doc, d));
}
static sb_status h_register_cost(const sb_host_api *h, const char *name, sb_cost_fn fn, sb_diag *d)
{
    NOTED(do_register_cost(h, name, fn, d));
}
static sb_status h_register_fact(const sb_host_api *h, const char *name, sb_fact_fn fn,
                                 void *user, sb_diag *d)
{
    NOTED(do_register_fact(h, name, fn, user, d));
}

/* ---- services ------------------------------------------------------------------------------- */
static void h_log(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sb_log(level, "%s", buf);
}

static sb_status h_diag_set(sb_diag *d, sb_status st, const char *file, int line, int col,
                            const char *fmt, ...)
{
    if (!d || d->status != SB_OK) return st;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return sb_diag_set(d, st, file, line, col, "%s", buf);
}

static void *h_alloc(size_t n) { return sb_xcalloc(1, n ? n : 1); }

static const sb_host_api host_template = {
    .abi_version = SB_PLUGIN_ABI_VERSION,
    .register_rules_json = h_register_rules_json, .register_rule = h_register_rule,
    .register_op = h_register_op, .register_pass = h_register_pass,
    .register_cost = h_register_cost, .register_fact = h_register_fact,
    .log = h_log, .alloc = h_alloc, .free = free, .diag_set = h_diag_set,
    .apply = sb_apply, .const_scalar = sb_const_scalar, .pvar = sb_pvar,
    .op_from_name = sb_op_from_name, .node_op = sb_node_op, .node_nin = sb_node_nin,
    .node_in = sb_node_in, .node_type = sb_node_type, .node_attrs = sb_node_attrs,
    .node_value = sb_node_value, .array_numel = sb_array_numel,
    .array_get_f64 = sb_array_get_f64, .array_set_f64 = sb_array_set_f64,
    .dtype_to_float = sb_dtype_to_float, .dtype_is_float = sb_dtype_is_float,
    .match_const = h_match_const, .match_type = h_match_type,
    .graph_ctx = sb_graph_ctx, .graph_count = sb_graph_count, .graph_node = sb_graph_node,
    .graph_set_node = sb_graph_set_node,
};

/* ---- loading ---------------------------------------------------------------------------------- */
int sb_rw_plugin_find_path(const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) return -1;
    for (int i = 0; i < nplugins; i++)
        if (!strcmp(plugins[i]->path, real)) return i;
    return -1;
}

/* "libfoo.so" -> "foo": the plugin's provisional name (until its descriptor gives one). */
static void stem(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (!strncmp(b, "lib", 3) && b[3]) b += 3;
    size_t len = strcspn(b, ".");
    snprintf(out, n, "%.*s", (int)len, b);
}

/* Open path and find its entry point; NULL with d naming the file on failure. */
static sb_plugin_init_fn open_plugin(plugin *p, const char *path, sb_diag *d)
{
    dlerror();
    p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        const char *e = dlerror();
        sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0, "cannot load plugin: %s", e ? e : "?");
        return NULL;
    }
    sb_plugin_init_fn init = (sb_plugin_init_fn)(uintptr_t)dlsym(p->handle, SB_PLUGIN_ENTRY);
    if (!init)
        sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0,
                    "not a symbench plugin: no '%s' symbol", SB_PLUGIN_ENTRY);
    return init;
}

/* Check the descriptor init returned and take the plugin's name from it. */
static sb_status accept_desc(plugin *p, const char *path, const sb_plugin_desc *desc, sb_diag *d)
{
    if (p->err.status) { /* a registration failed */
        if (d && !d->status) *d = p->err;
        if (d && !d->file[0]) snprintf(d->file, sizeof d->file, "%s", path);
        if (d) d->status = SB_ERR_PLUGIN; /* whatever the registration said: the load failed */
        return SB_ERR_PLUGIN;
    }
    if (!desc)
        return sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0, "%s: sb_plugin_init returned no descriptor",
                           p->name);
    const char *name = desc->abi_version == SB_PLUGIN_ABI_VERSION && desc->name && *desc->name
                           ? desc->name : p->name;
    if (desc->abi_version != SB_PLUGIN_ABI_VERSION)
        return sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0,
                           "%s: ABI version %d, this symbench expects %d", name,
                           desc->abi_version, SB_PLUGIN_ABI_VERSION);
    for (int i = 0; i < nplugins; i++)
        if (!strcmp(plugins[i]->name, name))
            return sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0,
                               "%s: a plugin of this name is already loaded (from %s)", name,
                               plugins[i]->path);
    char *shipped = sb_rw_ruleset_resolve(name);
    free(shipped);
    if (shipped)
        return sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0,
                           "%s: a shipped rule set already has this name", name);
    snprintf(p->name, sizeof p->name, "%s", name); /* ops' owner points here */
    p->desc = sb_xstrdup(desc->description ? desc->description : "");
    return SB_OK;
}

sb_status sb_plugin_load(const char *path, sb_diag *d)
{
    sb_diag local = {0};
    if (!d) d = &local;
    if (sb_rw_plugin_find_path(path) >= 0) return SB_OK;
    if (nplugins == MAX_PLUGINS)
        return sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0, "too many plugins (at most %d)", MAX_PLUGINS);
    plugin *p = sb_xcalloc(1, sizeof *p);
    if (!realpath(path, p->path)) {
        free(p);
        return sb_diag_set(d, SB_ERR_PLUGIN, path, 0, 0, "plugin not found (no such file)");
    }
    stem(path, p->name, sizeof p->name);
    p->host = host_template;
    p->host.plugin = p;
    p->rules = cJSON_CreateArray();
    sb_plugin_init_fn init = open_plugin(p, path, d);
    sb_status st = init ? accept_desc(p, path, init(&p->host), d) : d->status;
    if (st) {
        /* Kept (never freed): ops or passes it registered may point into it. */
        if (p->handle && !p->items.n) dlclose(p->handle);
        sb_ptrvec_push(&failed, p);
        return st;
    }
    p->ok = true;
    plugins[nplugins++] = p;
    return SB_OK;
}

/* ---- queries ------------------------------------------------------------------------------------ */
int sb_plugin_count(void) { return nplugins; }
const char *sb_plugin_name(int i) { return i >= 0 && i < nplugins ? plugins[i]->name : NULL; }
const char *sb_rw_plugin_path(int i) { return i >= 0 && i < nplugins ? plugins[i]->path : NULL; }
const char *sb_rw_plugin_desc(int i) { return i >= 0 && i < nplugins ? plugins[i]->desc : NULL; }

const char *const *sb_rw_plugin_items(int i, int *n)
{
    *n = i >= 0 && i < nplugins ? plugins[i]->items.n : 0;
    return *n ? (const char *const *)plugins[i]->items.v : NULL;
}

sb_ruleset *sb_rw_plugin_ruleset(const char *name, sb_diag *d)
{
    const plugin *p = NULL;
    for (int i = 0; i < nplugins && !p; i++)
        if (!strcmp(plugins[i]->name, name)) p = plugins[i];
    if (!p) return NULL;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "name", p->name);
    cJSON_AddItemToObject(doc, "rules", cJSON_Duplicate(p->rules, true));
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    char file[160];
    snprintf(file, sizeof file, "plugin:%s", p->name);
    sb_ruleset *rs = sb_rw_ruleset_parse(text, file, d);
    free(text);
    for (int r = 0; rs && r < rs->nrules; r++) {
        rs->rules[r].line = rs->rules[r].col = 0; /* origin: "plugin:NAME" */
        for (int k = 0; k < p->prules.n; k++)
            if (!strcmp(((sb_plugin_rule *)p->prules.v[k])->name, rs->rules[r].name))
                rs->rules[r].plugin = p->prules.v[k];
    }
    return rs;
}
