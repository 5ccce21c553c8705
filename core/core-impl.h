/* core-impl.h: bodies of the core's opaque types and helpers shared inside libsymbench.
 * Not installed: plugins and users see symbench.h only. */
#ifndef SB_CORE_IMPL_H
#define SB_CORE_IMPL_H

#include "symbench.h"

#include <stdlib.h>
#include <string.h>

/* A broken invariant is a bug, never a user error: always on, names the expression and place. */
#define SB_ASSERT(cond)                                                                          \
    do {                                                                                         \
        if (!(cond)) sb_panic(__FILE__, __LINE__, "assertion failed: %s", #cond);               \
    } while (0)
_Noreturn void sb_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* malloc/calloc/realloc that abort on out-of-memory (a bug-class failure for this program). */
void *sb_xmalloc(size_t n);
void *sb_xcalloc(size_t n, size_t sz);
void *sb_xrealloc(void *p, size_t n);
char *sb_xstrdup(const char *s);
/* printf into a fresh malloc'd string. */
char *sb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- arena: bump allocator, freed all at once ------------------------------------------- */
typedef struct sb_arena_block sb_arena_block;
typedef struct sb_arena {
    sb_arena_block *head;
    size_t used, cap;
} sb_arena;
void *sb_arena_alloc(sb_arena *a, size_t n); /* zeroed, 16-byte aligned */
char *sb_arena_strdup(sb_arena *a, const char *s);
void sb_arena_free(sb_arena *a);

/* ---- growable vector of pointers --------------------------------------------------------- */
typedef struct sb_ptrvec {
    void **v;
    int n, cap;
} sb_ptrvec;
void sb_ptrvec_push(sb_ptrvec *pv, void *p);
void sb_ptrvec_free(sb_ptrvec *pv);

/* ---- nodes ------------------------------------------------------------------------------- */
struct sb_node {
    uint32_t id;        /* dense per context, creation order (stable across passes' drawings) */
    uint16_t op;        /* sb_op */
    uint16_t nin;
    uint32_t attr;      /* interned attributes id; 0 = defaults */
    const sb_attrs *attrs; /* the interned attributes (equal attributes, same pointer) */
    sb_type type;
    const char *name;   /* INPUT, SHARED, PVAR: interned name; else NULL */
    sb_array *value;    /* CONST: owned by the context */
    uint64_t hash;
    sb_node *next;      /* hash-cons chain */
    sb_node *in[];      /* inputs */
};

struct sb_ctx {
    sb_arena arena;          /* nodes, strings, attrs */
    sb_node **buckets;       /* hash-cons table (chained) */
    uint32_t nbuckets;
    sb_ptrvec nodes;         /* by id */
    sb_attrs **attrs;        /* interned attributes by id; attrs[0] = defaults */
    uint32_t nattrs, capattrs;
    uint32_t *attr_table;    /* open addressing: attr ids + 1, 0 = empty */
    uint32_t attr_table_cap;
};

/* The op table's rule for op, from ops.def. */
typedef sb_status (*sb_infer_fn)(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                                 const sb_array *const *vals, sb_type *out, sb_diag *d);

uint32_t sb_attrs_intern(sb_ctx *ctx, const sb_attrs *a);
const sb_attrs *sb_attrs_get(const sb_ctx *ctx, uint32_t id);
uint64_t sb_hash_bytes(const void *p, size_t n, uint64_t seed);
/* Static attrs of defaults, for comparisons (naxis = nshape = -1, dtype = none). */
const sb_attrs *sb_attrs_default(void);

/* Normalize a possibly negative axis against ndim; -1 on out of range. */
int sb_axis_norm(int64_t axis, int ndim);

/* ---- ops registered at run time (core/op.c; plugins) ----------------------------------- */
/* Register def (owner, kept for the process's lifetime, names the plugin): a new id
 * > SB_OP_COUNT into *out. SB_ERR_PLUGIN on a taken name ("OWNER: op 'x' is already registered (by ...)"),
 * a missing type rule or kernel, or a full registry. */
sb_status sb_op_register(const sb_op_def *def, const sb_host_api *host, const char *owner,
                         sb_op *out, sb_diag *d);
/* The registered definition of a run-time op (and the host table to call it with), or NULL
 * for a built-in op. */
const sb_op_def *sb_op_plugin_def(sb_op op, const sb_host_api **host);
/* Every valid op id is below this (built-in ids, SB_OP_COUNT = none, then run-time ops). */
int sb_op_total(void);

/* ---- graphs ------------------------------------------------------------------------------ */
typedef struct sb_graph_entry {
    char *name;
    sb_node *node;
} sb_graph_entry;

struct sb_graph {
    sb_ctx *ctx;
    sb_graph_entry *e[SB_ROLE_COUNT];
    int n[SB_ROLE_COUNT], cap[SB_ROLE_COUNT];
};

#endif
