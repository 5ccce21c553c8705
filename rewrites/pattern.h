/* pattern.h: patterns compiled against an e-graph, and the matching machine (internal).
 *
 * A rule's lhs/rhs (sb_node terms with ?variables, in the rule set's context) are compiled for
 * one e-graph: attributes are interned into the e-graph's context and constants become leaves of
 * it. The lhs is further compiled into a small program (egg's machine.rs): BIND (scan a class's
 * e-nodes of one op and load their children into registers), COMPARE (a repeated variable) and
 * CONST (the class is a constant of this value), run by backtracking. */
#ifndef SB_PATTERN_H
#define SB_PATTERN_H

#include "egraph.h"
#include "rule.h"

#define SB_PAT_MAX_VARS 32

typedef struct sb_pnode {
    uint16_t op, nin;
    uint32_t attr;          /* in the e-graph's context */
    const sb_attrs *attrs;
    int var;                /* PVAR (or lhs CONST): index in the pattern's variables; else -1 */
    sb_node *leaf;          /* CONST: the constant as a node of the e-graph's context */
    int kid0;               /* children: pattern node indices kids[kid0 .. kid0+nin) */
} sb_pnode;

typedef struct sb_pattern {
    sb_pnode *nodes;
    int n, root;
    int *kids;
    int nkids;
    bool consts_bind;       /* a lhs: constants also bind hidden variables "#k" */
} sb_pattern;

typedef enum sb_instr_kind { SB_I_BIND, SB_I_COMPARE, SB_I_CONST } sb_instr_kind;

typedef struct sb_instr {
    uint8_t kind;
    uint16_t op, nin;
    uint32_t attr;
    const sb_attrs *attrs;
    int reg, reg2, out;  /* BIND: class in reg, children to out..; COMPARE: reg == reg2 */
    double value;        /* CONST */
} sb_instr;

typedef struct sb_program {
    sb_instr *code;
    int n, nregs;
    int var_reg[SB_PAT_MAX_VARS];
    int root_op;         /* op of the root (the index key); -1 = any class */
} sb_program;

/* Variable names shared by a rule's two sides (lhs first-occurrence order). */
typedef struct sb_vars {
    const char *name[SB_PAT_MAX_VARS];
    int n;
} sb_vars;

/* Compile pattern p (of a rule set's context) for eg; variables are looked up in / added to
 * vars. lhs: constants bind hidden variables too. Returns false when p has too many variables. */
bool sb_eg_pattern_compile(sb_egraph *eg, const sb_node *p, sb_vars *vars, bool lhs,
                           sb_pattern *out);
void sb_eg_pattern_free(sb_pattern *p);
/* Add the pattern's term under substitution subst (class ids by variable); returns its id, or
 * SB_ID_NONE when some node of it is ill-typed for these classes. */
sb_id sb_eg_pattern_instantiate(sb_egraph *eg, const sb_pattern *p, const sb_id *subst);
/* Print the term a class stands for (its first e-node, depth-limited), malloc'd; for traces. */
char *sb_eg_class_str(sb_egraph *eg, sb_id c);

/* Compile a pattern into a matching program. */
void sb_eg_program_compile(const sb_pattern *p, int nvars, sb_program *out);
void sb_eg_program_free(sb_program *prog);
/* Match prog at class c; for each substitution found calls fn(subst, user) (subst[nvars]);
 * fn returns false to stop. Returns the number of matches reported. */
typedef bool (*sb_match_fn)(const sb_id *subst, void *user);
int sb_eg_program_run(sb_egraph *eg, const sb_program *prog, sb_id c, int nvars, sb_match_fn fn,
                      void *user);
/* Do the attributes of an e-node match a pattern's (exactly, or a pattern default such as
 * "all axes"/"reversed" that the e-node spells out for its child's rank)? */
bool sb_eg_attrs_match(sb_egraph *eg, uint16_t op, uint32_t pattr, const sb_attrs *pattrs,
                       sb_id enode);

/* Does condition c hold for the classes of subst (variables named in vars)? */
bool sb_eg_cond_holds(sb_egraph *eg, const sb_cond *c, const sb_vars *vars, const sb_id *subst);

#endif
