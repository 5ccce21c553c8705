/* plugin.h: plugins as the optimizer sees them (internal; the ABI is in symbench.h).
 *
 * rewrites/plugin.c loads plugins (dlopen), hands them a host table and keeps what they
 * register: rules (a rule set per plugin, named after it), ops (core/op.c's registry), passes
 * (pass.c's registry), cost functions and e-class facts. The runner calls back into a plugin
 * rule's C condition and applier through sb_rw_plugin_cond / sb_rw_plugin_apply. */
#ifndef SB_PLUGIN_H
#define SB_PLUGIN_H

#include "run.h"

#define SB_PLUGIN_RULE_FACTS 4

/* What a plugin rule carries besides its JSON form (sb_rule.plugin points here). */
typedef struct sb_plugin_rule {
    const char *name;            /* the rule's name */
    const char *plugin;          /* the plugin's name */
    const sb_host_api *host;
    sb_rule_cond_fn cond;        /* NULL = none */
    sb_rule_apply_fn apply;      /* NULL = instantiate the rhs */
    void *user;
    struct {
        sb_fact_fn fn;
        void *user;
        char *var;               /* without '?' */
    } facts[SB_PLUGIN_RULE_FACTS]; /* from `when` entries naming registered facts */
    int nfacts;
    sb_ctx *scratch;             /* where the applier builds its patterns */
} sb_plugin_rule;

/* The rule's C condition and facts for this match (subst: class ids by rw->vars). */
bool sb_rw_plugin_cond(sb_egraph *eg, const sb_rewrite *rw, const sb_id *subst);
/* The replacement's class: the C applier's pattern instantiated, or the rhs; SB_ID_NONE when
 * the applier declines or builds an ill-typed term. */
sb_id sb_rw_plugin_apply(sb_egraph *eg, const sb_rewrite *rw, const sb_id *subst);
/* The checker's view (rewrites/check.c): with variables names[i] instantiated as terms[i], does
 * the rule's C condition (and facts) hold? If so, *rhs becomes the applier's pattern (in the
 * rule's scratch context) when it has one. */
bool sb_rw_plugin_inst(const sb_plugin_rule *pr, int n, const char *const *names,
                       sb_node *const *terms, const sb_node **rhs);
/* The cost of op after every loaded cost function (builtin when none). */
double sb_rw_plugin_cost(sb_op op, const sb_attrs *a, const sb_type *out, int nin,
                         const sb_type *const *in, double builtin);

/* Loaded plugin i (in [0, sb_plugin_count())): its file, description, and what it provides as
 * "KIND NAME" lines ("rule x", "op gelu", "pass p", "cost c", "fact f"); *n receives the count. */
const char *sb_rw_plugin_path(int i);
const char *sb_rw_plugin_desc(int i);
const char *const *sb_rw_plugin_items(int i, int *n);
/* Index of the loaded plugin whose file is path (after realpath), or -1. */
int sb_rw_plugin_find_path(const char *path);

#endif
