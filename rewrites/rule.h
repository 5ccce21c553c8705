/* rule.h: rewrite rules and rule sets as loaded from JSON (internal to libsymbench and the tools).
 *
 * A rule set file (rewrites/rules/NAME.json):
 *
 *     {"name": "stability",
 *      "rules": [
 *        {"name": "log1p", "lhs": "log(1 + ?x)", "rhs": "log1p(?x)", "doc": "exact near 0"},
 *        {"name": "div-self", "lhs": "?x / ?x", "rhs": "ones_like(?x)", "when": ["nonzero(?x)"]}
 *      ]}
 *
 * lhs and rhs are expressions in the one syntax with ?pattern variables; they are parsed into the
 * rule set's own context (sb_ruleset.ctx) and are untyped (dtype SB_DTYPE_COUNT). Attributes in
 * patterns match exactly (sum(?x, axis=1) matches only axis=1 sums). `when` lists conditions on
 * pattern variables (see sb_cond_kind). `bidirectional: true` also rewrites rhs into lhs.
 *
 *     sb_diag d = {0};
 *     sb_ruleset *rs = sb_rw_ruleset_load("algebra", NULL, &d);   // or a path to a .json file
 *     for (int i = 0; rs && i < rs->nrules; i++) puts(rs->rules[i].name);
 *     sb_rw_ruleset_free(rs);
 */
#ifndef SB_RULE_H
#define SB_RULE_H

#include "symbench.h"

/* A condition from `when`: "nonzero(?x)", "positive(?x)", "nonnegative(?x)", "integer(?x)",
 * "const(?x)", "const(?x, 2)", "dtype(?x, float32)", "ndim(?x, 2)", "float(?x)". */
typedef enum sb_cond_kind {
    SB_COND_NONZERO,
    SB_COND_POSITIVE,
    SB_COND_NONNEG,
    SB_COND_INTEGER, /* integer-valued (an int dtype, or floor/round/... of anything) */
    SB_COND_CONST,   /* a constant; with has_value: a constant equal to value everywhere */
    SB_COND_DTYPE,   /* dtype == dtype */
    SB_COND_NDIM,    /* ndim == ndim */
    SB_COND_FLOAT,   /* a float dtype */
    SB_COND_KIND_COUNT
} sb_cond_kind;

typedef struct sb_cond {
    sb_cond_kind kind;
    const char *var;   /* pattern variable name without '?' (owned by the rule set's context) */
    bool has_value;    /* CONST with a value */
    double value;      /* CONST */
    sb_dtype dtype;    /* DTYPE */
    int ndim;          /* NDIM */
    const char *text;  /* the condition as written (for messages and traces) */
} sb_cond;

typedef struct sb_rule {
    const char *name;  /* unique in its set */
    const char *doc;   /* "" when absent */
    const char *file;  /* origin: the JSON file (or "<builtin>", a plugin's name) */
    int line, col;     /* origin: where the rule's object starts */
    sb_node *lhs, *rhs; /* patterns in the rule set's context */
    sb_cond *conds;
    int nconds;
    bool bidirectional;
    const struct sb_plugin_rule *plugin; /* a plugin's rule: C condition / applier (plugin.h) */
} sb_rule;

typedef struct sb_ruleset {
    char *name;        /* the set's "name" */
    char *path;        /* the file it came from */
    sb_ctx *ctx;       /* owns the pattern nodes */
    sb_rule *rules;
    int nrules;
} sb_ruleset;

/* Load a rule set. name_or_path: a bare name like "algebra" is looked up as NAME.json in each
 * directory of $SB_RULES_PATH (colon-separated), then the source tree's rewrites/rules, then the
 * installed datadir; anything with a '/' or ending in ".json" is a path (relative to base_dir
 * when base_dir is not NULL). Rejects bad JSON, a missing key, an unknown op or function, an
 * unknown condition, a duplicate rule name, a rhs variable the lhs does not bind (or, for a
 * bidirectional rule, the reverse), and a type-incorrect rule (some
 * typing of its variables, all one type from a small list and allowed by its dtype/ndim/float
 * conditions, makes the lhs well-typed but none makes both sides well-typed with the same
 * type) -- each with file:line:col of the offending string. */
sb_ruleset *sb_rw_ruleset_load(const char *name_or_path, const char *base_dir, sb_diag *d);
/* Parse a rule set from JSON text (`file` names it in diagnostics). */
sb_ruleset *sb_rw_ruleset_parse(const char *text, const char *file, sb_diag *d);
void sb_rw_ruleset_free(sb_ruleset *rs);
/* Find a rule by name; NULL if absent. */
const sb_rule *sb_rw_ruleset_find(const sb_ruleset *rs, const char *name);
/* Resolve a bare rule-set name to a file path (malloc'd), or NULL if no directory has it. */
char *sb_rw_ruleset_resolve(const char *name);
/* Names of the shipped rule sets (the *.json files of the first rules directory found), sorted;
 * returns the count, *names malloc'd (free each and the array). */
int sb_rw_ruleset_list(char ***names);

/* Pattern variables (names without '?') bound by pattern p, in first-occurrence order, into
 * vars[0..max); returns the count (may exceed max: then only max are stored). */
int sb_rw_pattern_vars(const sb_node *p, const char **vars, int max);

/* A plugin's rule set (its rules, with their C conditions and appliers) when name is a loaded
 * plugin's name; NULL otherwise (rewrites/plugin.c). */
sb_ruleset *sb_rw_plugin_ruleset(const char *name, sb_diag *d);

#endif
