/* symbench.h: the public API of libsymbench, a symbolic tensor compiler built around an e-graph.
 *
 * A worked example, f(x) = tanh(x @ W + b), evaluated once on the CPU:
 *
 *     sb_ctx *ctx = sb_ctx_init();
 *     sb_diag d = {0};
 *     sb_type tx, tw, tb;
 *     sb_type_parse("float32[?, 784]", &tx, &d);
 *     sb_type_parse("float32[784, 10]", &tw, &d);
 *     sb_type_parse("float32[10]", &tb, &d);
 *     sb_node *x = sb_input(ctx, "x", &tx);
 *     sb_node *W = sb_shared(ctx, "W", &tw);
 *     sb_node *b = sb_shared(ctx, "b", &tb);
 *     sb_node *y = sb_parse_expr(ctx, "tanh(x @ W + b)", NULL, &d);  // or build with sb_apply
 *     ...
 *     sb_ctx_free(ctx);                                               // frees every node
 *
 * Conventions
 * - Every exported symbol starts with sb_; enums are SB_<ENUM>_<VALUE> and end in _COUNT.
 * - Nodes are hash-consed per context: building the same term twice returns the same pointer.
 *   Nodes are owned by the context's arena; there is no per-node free.
 * - What a user can get wrong (syntax, types, shapes, files) is reported through an sb_diag:
 *   functions return NULL / a non-zero sb_status and fill the diag. sb_diag_print() prints it as
 *   "file:line:col: message". Broken invariants abort with SB_ASSERT (core-impl.h).
 * - Tensor data never lives in the graph: sb_array values are owned by whoever created them.
 */
#ifndef SYMBENCH_H
#define SYMBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SB_BUILD)
#define SB_API __attribute__((visibility("default")))
#else
#define SB_API
#endif

#define SB_MAX_DIMS 8 /* most dimensions a tensor can have */

/* ---------------------------------------------------------------------------------------------
 * Status and diagnostics
 * ------------------------------------------------------------------------------------------- */

typedef enum sb_status {
    SB_OK = 0,
    SB_ERR_SYNTAX,   /* expression or JSON syntax */
    SB_ERR_TYPE,     /* dtype / shape mismatch, wrong arity, unknown op */
    SB_ERR_IO,       /* missing or unreadable file, bad .npy/.idx */
    SB_ERR_VALUE,    /* bad value at run time (index out of range, bad key) */
    SB_ERR_UNSUPPORTED, /* accepted but not (yet) supported here */
    SB_ERR_PLUGIN,   /* plugin load / ABI / registration */
    SB_ERR_INTERNAL,
    SB_STATUS_COUNT
} sb_status;

/* One user-facing error: where (file, 1-based line and column; 0 = unknown) and what. */
typedef struct sb_diag {
    sb_status status;
    char file[256];
    int line, col;
    char msg[768];
} sb_diag;

/* Fill d (status, position, printf-style message); returns st. Only the first error is kept:
 * a diag that already holds an error is left alone. d may be NULL. */
SB_API sb_status sb_diag_set(sb_diag *d, sb_status st, const char *file, int line, int col,
                             const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Print "file:line:col: message" (parts that are unknown are left out) and a newline. */
SB_API void sb_diag_print(const sb_diag *d, FILE *f);
/* Clear d to "no error". */
SB_API void sb_diag_clear(sb_diag *d);

/* Logging goes through one callback; the default writes to stderr. level: 0 error .. 3 debug. */
typedef void (*sb_log_fn)(int level, const char *msg, void *user);
SB_API void sb_log_set(sb_log_fn fn, void *user);
SB_API void sb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------------------------------
 * dtypes and tensor types
 * ------------------------------------------------------------------------------------------- */

/* Ordered so that promotion within a kind goes up the enum. */
typedef enum sb_dtype {
    SB_DTYPE_BOOL,
    SB_DTYPE_U8,
    SB_DTYPE_I32,
    SB_DTYPE_I64,
    SB_DTYPE_F32,
    SB_DTYPE_F64,
    SB_DTYPE_COUNT /* also "none given" in attributes */
} sb_dtype;

SB_API const char *sb_dtype_name(sb_dtype t);           /* "float32", ... */
SB_API sb_dtype sb_dtype_from_name(const char *name);    /* SB_DTYPE_COUNT if unknown; accepts
                                                            NumPy aliases (int64, int, float, ...) */
SB_API size_t sb_dtype_size(sb_dtype t);                 /* bytes per element */
SB_API bool sb_dtype_is_float(sb_dtype t);
SB_API bool sb_dtype_is_int(sb_dtype t);                 /* u8, i32, i64 (not bool) */
/* NumPy's promotion for two arrays (e.g. i32 + f32 -> f64, u8 + i32 -> i32). */
SB_API sb_dtype sb_dtype_promote(sb_dtype a, sb_dtype b);
/* The float dtype an int/bool input goes to in a float op (exp(int32) -> float64). */
SB_API sb_dtype sb_dtype_to_float(sb_dtype t);

/* A tensor type: dtype, rank and per-dimension size; dims[i] = -1 means "unknown until run
 * time". A size of 1 is broadcastable. `weak` marks the type of a number literal, which takes
 * the dtype of the tensor it meets (NumPy's NEP 50 rule: float32 x * 2 stays float32). */
typedef struct sb_type {
    sb_dtype dtype;
    int8_t ndim;
    bool weak;
    int64_t dims[SB_MAX_DIMS];
} sb_type;

/* Parse "float32[?, 784]", "int64[]", "float64" (a scalar). Returns SB_OK or fills d. */
SB_API sb_status sb_type_parse(const char *text, sb_type *out, sb_diag *d);
/* Write the type in the same syntax into buf; returns buf. */
SB_API char *sb_type_str(const sb_type *t, char *buf, size_t n);
SB_API bool sb_type_eq(const sb_type *a, const sb_type *b);
SB_API sb_type sb_type_make(sb_dtype dt, int ndim, const int64_t *dims);
SB_API sb_type sb_type_scalar(sb_dtype dt);
/* Number of elements, or -1 if any dim is unknown. */
SB_API int64_t sb_type_numel(const sb_type *t);

/* ---------------------------------------------------------------------------------------------
 * Arrays: concrete tensor values (C order, owned data)
 * ------------------------------------------------------------------------------------------- */

typedef struct sb_array {
    sb_dtype dtype;
    int ndim;
    int64_t shape[SB_MAX_DIMS];
    void *data; /* numel * dtype size bytes, C order; owned (free with sb_array_free) */
} sb_array;

SB_API sb_array *sb_array_new(sb_dtype dt, int ndim, const int64_t *shape); /* zero-filled */
SB_API sb_array *sb_array_copy(const sb_array *a);
SB_API void sb_array_free(sb_array *a);
SB_API int64_t sb_array_numel(const sb_array *a);
/* Element i (flat C-order index) as double / int64, whatever the dtype. */
SB_API double sb_array_get_f64(const sb_array *a, int64_t i);
SB_API int64_t sb_array_get_i64(const sb_array *a, int64_t i);
SB_API void sb_array_set_f64(sb_array *a, int64_t i, double v);
/* A new array with the values of a converted to dt (NumPy astype). */
SB_API sb_array *sb_array_cast(const sb_array *a, sb_dtype dt);
/* Print like NumPy's repr (shortened past `limit` elements; 0 = no limit). */
SB_API void sb_array_print(const sb_array *a, FILE *f, int64_t limit);

/* .npy files: all dtypes above, C order, format versions 1.0 and 2.0 (3.0 read). */
SB_API sb_array *sb_npy_load(const char *path, sb_diag *d);
SB_API sb_status sb_npy_save(const char *path, const sb_array *a, sb_diag *d);
/* IDX files (MNIST / Fashion-MNIST), gzip-compressed or plain: returns uint8/int32/... data
 * with the file's own shape. */
SB_API sb_array *sb_idx_load(const char *path, sb_diag *d);

/* Seeded initializers for shared variables. kind: "zeros", "ones", "normal" (mean, std),
 * "uniform" (low, high), "glorot" (uniform, Glorot/Xavier bound from the first and last dims).
 * Same seed, same values on every machine. */
typedef struct sb_init_spec {
    const char *kind;
    double mean, std, low, high, value;
    uint64_t seed;
} sb_init_spec;
SB_API sb_array *sb_array_init(const sb_init_spec *spec, sb_dtype dt, int ndim,
                               const int64_t *shape, sb_diag *d);

/* ---------------------------------------------------------------------------------------------
 * Data for inputs (core/data.c)
 * ------------------------------------------------------------------------------------------- */

/* Fit raw data (from .npy / IDX) to a declared input type: flatten trailing dims to reach the
 * declared ndim (uint8[60000, 28, 28] -> [60000, 784]; where that cannot fit, reshape as NumPy
 * would: (784,) -> [1, 784], (6,) -> [?, 3]), check every known declared dim, convert
 * to the declared dtype and multiply by scale when scale != 1 (computed in the float dtype).
 * Returns a new array, or NULL with d filled ("WHAT: ..."; `what` names the data). */
SB_API sb_array *sb_array_conform(const sb_array *raw, const sb_type *declared, double scale,
                                  const char *what, sb_diag *d);

/* ---------------------------------------------------------------------------------------------
 * Ops (generated from core/ops.def)
 * ------------------------------------------------------------------------------------------- */

typedef enum sb_op {
#define SB_OP(E, name, arity, flags, rule, fam) SB_OP_##E,
#include "ops.def"
#undef SB_OP
    SB_OP_COUNT
} sb_op;

enum sb_op_flag {
    SB_F_LEAF = 1 << 0,     /* no inputs: variables and constants */
    SB_F_ELEMWISE = 1 << 1, /* elementwise with NumPy broadcasting */
    SB_F_COMM = 1 << 2,     /* commutative */
    SB_F_ASSOC = 1 << 3,    /* associative */
    SB_F_REDUCE = 1 << 4,   /* reduction over attrs.axis */
    SB_F_DIFF = 1 << 5,     /* differentiable in its float inputs */
    SB_F_BOOL_OUT = 1 << 6, /* result is bool */
    SB_F_INT_OUT = 1 << 7,  /* result is an integer (int64) */
    SB_F_VIEW = 1 << 8,     /* can be computed as a view of its first input */
    SB_F_SYMBOLIC = 1 << 9, /* grad/Rop/...: expanded away before execution */
};

typedef enum sb_op_family {
    SB_FAM_SOURCE,
    SB_FAM_ELEMWISE,
    SB_FAM_REDUCE,
    SB_FAM_BLAS,
    SB_FAM_SHAPE,
    SB_FAM_INDEX,
    SB_FAM_NNET,
    SB_FAM_CONTROL,
    SB_FAM_COUNT
} sb_op_family;

typedef struct sb_op_info {
    const char *name; /* spelling in the syntax, JSON and traces */
    int arity;        /* -1 = variadic */
    unsigned flags;   /* SB_F_* */
    sb_op_family family;
} sb_op_info;

SB_API const sb_op_info *sb_op_get(sb_op op);
SB_API sb_op sb_op_from_name(const char *name); /* SB_OP_COUNT if unknown */
SB_API const char *sb_op_family_name(sb_op_family f);

/* ---------------------------------------------------------------------------------------------
 * Attributes of a node (axis, shape, dtype, index spec, ...)
 * ------------------------------------------------------------------------------------------- */

/* One component of an index expression (start, stop or step of a slice, or a scalar index). */
typedef enum sb_iarg_kind {
    SB_IARG_NONE,  /* absent: `:` defaults */
    SB_IARG_CONST, /* v is the value */
    SB_IARG_INPUT, /* v is the number of the node input (1..) holding a scalar int */
    SB_IARG_KIND_COUNT
} sb_iarg_kind;

typedef struct sb_iarg {
    int8_t kind; /* sb_iarg_kind */
    int64_t v;
} sb_iarg;

typedef enum sb_index_kind {
    SB_INDEX_SLICE, /* a[0]:a[1]:a[2] */
    SB_INDEX_SCALAR,/* a[0] picks one position, the dim is dropped */
    SB_INDEX_ARRAY, /* a[0] (INPUT) is an integer array: NumPy advanced indexing */
    SB_INDEX_KIND_COUNT
} sb_index_kind;

typedef struct sb_index {
    int8_t kind; /* sb_index_kind */
    sb_iarg a[3];
} sb_index;

/* Attributes are interned per context: equal attributes have equal ids, so nodes hash and
 * compare on the id. Always start from sb_attrs_init() (it zeroes padding, which is hashed). */
typedef struct sb_attrs {
    int8_t naxis;                 /* entries in axis[]; -1 = none given (all axes / default) */
    int8_t keepdims;              /* reductions */
    int8_t dtype;                 /* cast, constructors; SB_DTYPE_COUNT = none given */
    int8_t nshape;                /* entries in shape[]; -1 = none given */
    int8_t nidx;                  /* entries in idx[] (indexing ops) */
    int64_t axis[SB_MAX_DIMS];    /* reduction axes, softmax axis, concat/stack/split axis,
                                     expand_dims/squeeze axes, transpose permutation */
    int64_t shape[SB_MAX_DIMS];   /* reshape (may hold one -1), zeros/ones/full, broadcast_to,
                                     eye (n, m), one_hot (depth) */
    int64_t k[2];                 /* split: sections, part */
    double value;                 /* full: fill value; grad: 1 = return zeros if disconnected */
    sb_index idx[SB_MAX_DIMS];    /* indexing ops */
} sb_attrs;

SB_API void sb_attrs_init(sb_attrs *a);

/* ---------------------------------------------------------------------------------------------
 * Context and nodes
 * ------------------------------------------------------------------------------------------- */

typedef struct sb_ctx sb_ctx;   /* owns nodes, attrs, constants, strings */
typedef struct sb_node sb_node; /* an immutable, hash-consed term */

SB_API sb_ctx *sb_ctx_init(void);
SB_API void sb_ctx_free(sb_ctx *ctx);
SB_API size_t sb_ctx_node_count(const sb_ctx *ctx);

/* Leaves. An input/shared name is one node per context: asking again with the same name returns
 * it (NULL with a diag if the type differs, when d is given). */
SB_API sb_node *sb_input(sb_ctx *ctx, const char *name, const sb_type *t);
SB_API sb_node *sb_shared(sb_ctx *ctx, const char *name, const sb_type *t);
SB_API sb_node *sb_pvar(sb_ctx *ctx, const char *name); /* rule pattern variable ?name */
/* A constant holding a copy of a. */
SB_API sb_node *sb_const(sb_ctx *ctx, const sb_array *a);
/* A scalar constant; weak = it came from a number literal (see sb_type.weak). */
SB_API sb_node *sb_const_scalar(sb_ctx *ctx, double v, sb_dtype dt, bool weak);

/* Apply op to inputs with attributes (NULL = defaults). Infers the result type with the op's
 * rule; on a type/shape/arity error returns NULL and fills d. Hash-consed. */
SB_API sb_node *sb_apply(sb_ctx *ctx, sb_op op, int nin, sb_node *const *in, const sb_attrs *a,
                         sb_diag *d);
/* Shorthands for sb_apply without attributes. */
SB_API sb_node *sb_apply1(sb_ctx *ctx, sb_op op, sb_node *a, sb_diag *d);
SB_API sb_node *sb_apply2(sb_ctx *ctx, sb_op op, sb_node *a, sb_node *b, sb_diag *d);

/* Node accessors. */
SB_API uint32_t sb_node_id(const sb_node *n);         /* dense per context, creation order */
SB_API sb_op sb_node_op(const sb_node *n);
SB_API int sb_node_nin(const sb_node *n);
SB_API sb_node *sb_node_in(const sb_node *n, int i);
SB_API const sb_type *sb_node_type(const sb_node *n);
SB_API const sb_attrs *sb_node_attrs(const sb_node *n);
SB_API const char *sb_node_name(const sb_node *n);    /* inputs, shared, pattern vars; else NULL */
SB_API const sb_array *sb_node_value(const sb_node *n); /* constants; else NULL */

/* Infer the result type of op on inputs of types in[] (the same rule sb_apply uses; also used at
 * run time with concrete dims). `vals` may give constant values of inputs (or NULL entries) for
 * rules that depend on values (arange). Returns SB_OK or fills d. */
SB_API sb_status sb_infer_type(sb_op op, int nin, const sb_type *const *in, const sb_attrs *a,
                               const sb_array *const *vals, sb_type *out, sb_diag *d);

/* ---------------------------------------------------------------------------------------------
 * Expression syntax (parse and print)
 * ------------------------------------------------------------------------------------------- */

/* Where an expression's text came from, for error positions: `file`, and the line/column of the
 * expression's first character in that file (1-based). NULL = "<expr>" line 1 col 1. */
typedef struct sb_srcpos {
    const char *file;
    int line, col;
} sb_srcpos;

/* Name resolution for the parser: names already bound (inputs, shared, let names) are looked up
 * with lookup(); NULL = unknown name (an error). ?x in rules becomes sb_pvar when allow_pvars. */
typedef struct sb_scope {
    sb_node *(*lookup)(void *user, const char *name);
    void *user;
    bool allow_pvars;
} sb_scope;

/* Parse one expression into ctx. scope NULL = resolve names to existing inputs/shared of ctx.
 * NumPy-like syntax: + - * / // % ** @, unary -, comparisons, & | ~, calls with keyword
 * arguments (axis=1, keepdims=True), x.T, x.astype('float32'), x[a:b:c, i], x[idx], numbers,
 * True/False, tuples for shapes. Returns NULL and fills d on error. */
SB_API sb_node *sb_parse_expr(sb_ctx *ctx, const char *text, const sb_scope *scope,
                              const sb_srcpos *pos, sb_diag *d);
/* Print n in the same syntax (it parses back to the same node). Returns a malloc'd string. */
SB_API char *sb_print_expr(const sb_node *n);

/* ---------------------------------------------------------------------------------------------
 * Graphs: named inputs, shared variables, let bindings, outputs and updates
 * ------------------------------------------------------------------------------------------- */

typedef struct sb_graph sb_graph;

typedef enum sb_graph_role {
    SB_ROLE_INPUT,
    SB_ROLE_SHARED,
    SB_ROLE_LET,
    SB_ROLE_OUTPUT,
    SB_ROLE_UPDATE, /* name = the shared variable updated */
    SB_ROLE_COUNT
} sb_graph_role;

SB_API sb_graph *sb_graph_new(sb_ctx *ctx);
SB_API void sb_graph_free(sb_graph *g);
SB_API sb_ctx *sb_graph_ctx(const sb_graph *g);
/* Add a named entry (a copy of name is kept). Order is kept. */
SB_API void sb_graph_add(sb_graph *g, sb_graph_role role, const char *name, sb_node *n);
SB_API int sb_graph_count(const sb_graph *g, sb_graph_role role);
SB_API const char *sb_graph_name(const sb_graph *g, sb_graph_role role, int i);
SB_API sb_node *sb_graph_node(const sb_graph *g, sb_graph_role role, int i);
SB_API void sb_graph_set_node(sb_graph *g, sb_graph_role role, int i, sb_node *n);
SB_API sb_node *sb_graph_find(const sb_graph *g, sb_graph_role role, const char *name);
/* Every node reachable from outputs and updates, inputs before users (topological order).
 * Returns the count; *out is malloc'd. */
SB_API int sb_graph_toposort(const sb_graph *g, sb_node ***out);

/* Load a graph from JSON text (named-expression form or node-list form, see docs/formats.md).
 * `file` names the text in diagnostics. */
SB_API sb_graph *sb_graph_load_json(sb_ctx *ctx, const char *text, const char *file, sb_diag *d);
SB_API sb_graph *sb_graph_load_file(sb_ctx *ctx, const char *path, sb_diag *d);
/* Save in node-list form; returns a malloc'd JSON string. */
SB_API char *sb_graph_save_json(const sb_graph *g);

/* ---------------------------------------------------------------------------------------------
 * Automatic differentiation (core/grad.c, core/rop.c)
 * ------------------------------------------------------------------------------------------- */

/* Replace every grad / Lop / Rop / jacobian / hessian node reachable from g's outputs, lets and
 * updates by its symbolic expansion (nodes of the same context). Fills d on a non-scalar cost, a
 * disconnected wrt (unless zeros were asked for), or an op without a gradient. */
SB_API sb_status sb_graph_expand_autodiff(sb_graph *g, sb_diag *d);

/* Options of sb_grad (NULL = none): nodes to treat as constants (no gradient flows through
 * them into their inputs), known gradients (node -> gradient of the cost w.r.t. it, of the
 * node's shape; the cost may then be NULL), and what a wrt the cost does not depend on gets. */
typedef struct sb_grad_opts {
    int nconst;
    sb_node *const *consider_constant;
    int nknown;
    sb_node *const *known_nodes; /* known_grads: known_nodes[i] has gradient known_grads[i] */
    sb_node *const *known_grads;
    bool disconnected_zeros;     /* false: a disconnected wrt is an error; true: zeros_like */
} sb_grad_opts;

/* Reverse mode (Theano's grad): out[i] = d cost / d wrt[i], of wrt[i]'s exact type. cost must
 * be a float scalar. Integer/bool values, comparisons, argmax, shape and constructors carry no
 * gradient; broadcasting is undone by summing. Fills d on a bad cost or a disconnected wrt. */
SB_API sb_status sb_grad(sb_ctx *ctx, sb_node *cost, int nwrt, sb_node *const *wrt,
                         const sb_grad_opts *opts, sb_node **out, sb_diag *d);
/* Vector-Jacobian product: out[i] = u^T d f / d wrt[i] (u has f's shape). */
SB_API sb_status sb_lop(sb_ctx *ctx, sb_node *f, int nwrt, sb_node *const *wrt, sb_node *u,
                        const sb_grad_opts *opts, sb_node **out, sb_diag *d);
/* Forward mode (Theano's Rop): *out = sum_i (d f / d wrt[i]) v[i], of f's type (v[i] has
 * wrt[i]'s shape). Zeros when f does not depend on any wrt. */
SB_API sb_status sb_rop(sb_ctx *ctx, sb_node *f, int nwrt, sb_node *const *wrt,
                        sb_node *const *v, sb_node **out, sb_diag *d);
/* Jacobian of f w.r.t. x: dims f ++ x, one reverse pass per element of f (f's size must be
 * static). Hessian of a float scalar cost w.r.t. x: dims x ++ x (x's size must be static).
 * Hessian-vector products: sb_rop of sb_grad's result. */
SB_API sb_status sb_jacobian(sb_ctx *ctx, sb_node *f, sb_node *x, sb_node **out, sb_diag *d);
SB_API sb_status sb_hessian(sb_ctx *ctx, sb_node *cost, sb_node *x, sb_node **out, sb_diag *d);

struct sb_binding; /* below, with sb_eval */

/* Settings of sb_verify_grad (0 fields = defaults). */
typedef struct sb_verify_opts {
    uint64_t seed; /* random directions (default 1) */
    int ntests;    /* random directions per wrt (default 3) */
    double eps;    /* central-difference step in float64 (default 1e-6) */
    double tol;    /* tolerance on min(absolute, relative) error (default 1e-4) */
} sb_verify_opts;

/* Theano's verify_grad: for each wrt[i] (an input or shared variable bound in binds) and random
 * directions v, compare the symbolic directional derivative <grad, v> with the central
 * difference (f(x + eps v) - f(x - eps v)) / 2 eps, everything evaluated in float64. errs[i]
 * (optional) receives wrt i's largest error, *worst the index of the largest (optional). Returns
 * SB_OK when every error is within tol, SB_ERR_VALUE naming the failing wrt otherwise. */
SB_API sb_status sb_verify_grad(sb_ctx *ctx, sb_node *cost, int nwrt, sb_node *const *wrt,
                                int nbind, const struct sb_binding *binds,
                                const sb_verify_opts *opts, double *errs, int *worst,
                                sb_diag *d);

/* ---------------------------------------------------------------------------------------------
 * Evaluation (reference CPU backend)
 * ------------------------------------------------------------------------------------------- */

/* Values for leaves by name (inputs and shared variables). */
typedef struct sb_binding {
    const char *name;
    const sb_array *value;
} sb_binding;

/* Evaluate nodes outs[0..nout) given values for the inputs/shared they depend on. Results are
 * new arrays in res[] (free with sb_array_free). f64 = compute every float op in float64 (the
 * reference mode used by tests) and return float64 results. Fills d on a missing binding, a
 * shape mismatch at run time, or an out-of-range index. */
SB_API sb_status sb_eval(sb_ctx *ctx, int nout, sb_node *const *outs, int nbind,
                         const sb_binding *binds, bool f64, sb_array **res, sb_diag *d);

/* ---------------------------------------------------------------------------------------------
 * Shared variables and compiled functions (core/shared.c, core/function.c)
 * ------------------------------------------------------------------------------------------- */

/* Persistent storage of shared variables: a name -> value map owned by the caller. Values are
 * copied in and out; a compiled function reads them and replaces them through its updates. */
typedef struct sb_shared_store sb_shared_store;
SB_API sb_shared_store *sb_shared_store_new(void);
SB_API void sb_shared_store_free(sb_shared_store *s); /* frees every value */
/* Set name's value to a copy of v (adds the name when new). */
SB_API void sb_shared_set_value(sb_shared_store *s, const char *name, const sb_array *v);
/* A copy of name's value (free with sb_array_free), or NULL when the name is not stored. */
SB_API sb_array *sb_shared_get_value(const sb_shared_store *s, const char *name);
/* The stored value itself (borrowed, valid until the next set/call), or NULL. */
SB_API const sb_array *sb_shared_peek(const sb_shared_store *s, const char *name);
SB_API int sb_shared_count(const sb_shared_store *s);
SB_API const char *sb_shared_name(const sb_shared_store *s, int i); /* i in [0, count) */

/* One update: after a call, shared variable `var` (an sb_shared node) takes the value of
 * `value`, computed from the state before the call. */
typedef struct sb_update {
    sb_node *var;
    sb_node *value;
} sb_update;

/* One substitution made when compiling: every use of `var` (an input or shared node) becomes
 * `value` (an expression, e.g. a minibatch slice data[i*bs:(i+1)*bs] of a shared dataset with
 * i a new scalar input). value must have var's dtype and rank. */
typedef struct sb_given {
    sb_node *var;
    sb_node *value;
} sb_given;

/* Compilation settings (NULL = defaults: no optimizer passes, native dtypes). */
typedef struct sb_function_opts {
    bool optimize;       /* run the optimizer passes over outputs and updates */
    const char *passes;  /* with optimize: the passes as JSON text (a pipeline's "passes" array);
                            NULL = the default pipeline */
    bool f64;            /* evaluate every float op in float64 (reference mode) */
    const char *backend; /* run on this backend's programs ("cpu", "cuda"); NULL = the
                            reference evaluator sb_eval */
} sb_function_opts;

typedef struct sb_function sb_function;

/* Theano's function: compile outputs and updates over inputs. Compiling expands grad/Rop/...,
 * substitutes givens, optionally optimizes, and keeps the program. Every input or shared
 * variable the program reads must be among inputs or stored in store (checked at call time for
 * the store). store is borrowed (it must outlive f); NULL when nothing is shared. Returns NULL
 * and fills d on a bad update (not a shared node, type mismatch, the same variable twice), a
 * bad given, an autodiff error or a pass error. */
SB_API sb_function *sb_function_new(sb_ctx *ctx, int nin, sb_node *const *inputs, int nout,
                                    sb_node *const *outputs, int nupd, const sb_update *updates,
                                    int ngiv, const sb_given *givens, sb_shared_store *store,
                                    const sb_function_opts *opts, sb_diag *d);
SB_API void sb_function_free(sb_function *f);
/* Call f: args[i] is the value of inputs[i]. outs[0..nout) receive new arrays (free them).
 * Outputs and update values are all computed from the state before the call; then every update
 * replaces its shared value at once (a <- b, b <- a swaps). On an error no shared value
 * changes and outs hold NULL. */
SB_API sb_status sb_function_call(sb_function *f, int nargs, const sb_array *const *args,
                                  sb_array **outs, sb_diag *d);
/* The compiled (expanded, substituted, optimized) output i / update value i, for inspection. */
SB_API sb_node *sb_function_output(const sb_function *f, int i);
SB_API sb_node *sb_function_update(const sb_function *f, int i);

/* ---------------------------------------------------------------------------------------------
 * Training (core/train.c)
 * ------------------------------------------------------------------------------------------- */

struct sb_pipeline; /* core/pipeline.h */

/* Run the `train` loop of a loaded pipeline over g (already expanded and optimized): shared
 * variables start from binds (values for the graph's shared variables and inputs, as loaded
 * from the pipeline's data); each step evaluates the loss output (the output named "loss" or
 * "cost", else the first) and applies g's updates on a minibatch of the `batch_over` inputs
 * (shuffled each epoch from the seed); held-out `eval` outputs every eval_every steps and at the
 * end; progress on stderr (unless quiet), JSON-lines metrics, a resumable checkpoint and the
 * pipeline's `save` targets. See docs/training.md. */
SB_API sb_status sb_train_run(const struct sb_pipeline *p, sb_graph *g, int nbind,
                              const sb_binding *binds, bool quiet, sb_diag *d);

/* ---------------------------------------------------------------------------------------------
 * Profiling (core/profile.c): per-step time and memory of runs, like Theano's ProfileStats
 *
 *     sb_profile_reset();
 *     sb_profile_enable(true);
 *     sb_function_call(f, ...);                   // the CPU plan / evaluator record each step
 *     sb_profile_enable(false);
 *     sb_profile_summary *s = sb_profile_summarize();
 *     sb_profile_print(s, stderr, 10);            // per op type, top 10 nodes, memory
 *     sb_profile_summary_free(s);
 *
 * One collector per process (not thread-safe). While enabled, the CPU backend's plan and the
 * reference evaluator record every step they run: what it ran (an op name, "fused{exp,log1p}"
 * for a fused group, "gemm", ...), the node it computed, its wall time (monotonic clock), the
 * bytes of its output and whether it allocated; and each run's wall time and pool memory. The
 * CUDA backend records nothing. Disabled, a run loop pays one branch per step.
 * ------------------------------------------------------------------------------------------- */

SB_API void sb_profile_enable(bool on);
SB_API bool sb_profile_enabled(void);
/* Forget everything recorded (enabled or not stays as it is). */
SB_API void sb_profile_reset(void);
/* Record one step / one run by hand (what the backends do; tests use it). op is copied. */
SB_API void sb_profile_record(uint32_t node, const char *op, double seconds, size_t bytes,
                              bool allocated);
SB_API void sb_profile_record_run(double seconds, size_t pool_bytes);

/* One row of a summary: an op type (node = UINT32_MAX) or one node. */
typedef struct sb_profile_row {
    const char *op;      /* the step's label: op name, "fused{...}", "gemm", ... */
    uint32_t node;       /* the node computed (the root of a fused group); UINT32_MAX in op rows */
    int nnodes;          /* op rows: distinct nodes; node rows: 1 */
    int64_t calls;
    double seconds;      /* total over the calls */
    double percent;      /* of the summary's step_seconds */
    int64_t allocs;      /* calls that allocated their output */
    size_t bytes;        /* output bytes written, over all calls */
    size_t alloc_bytes;  /* of which newly allocated */
} sb_profile_row;

typedef struct sb_profile_summary {
    int64_t runs;
    double run_seconds;    /* wall time of the runs (steps and the loop around them) */
    int64_t steps;
    double step_seconds;   /* sum of the step times: the total of the tables */
    int64_t allocs;
    size_t alloc_bytes;    /* memory allocated by steps */
    size_t peak_pool_bytes;/* most memory a program held for its values after a run */
    int nops;
    sb_profile_row *ops;   /* per op type, most time first */
    int nnodes;
    sb_profile_row *nodes; /* per node, most time first */
} sb_profile_summary;

/* Aggregate what was recorded so far (free with sb_profile_summary_free). */
SB_API sb_profile_summary *sb_profile_summarize(void);
SB_API void sb_profile_summary_free(sb_profile_summary *s);
/* The tables as text: totals, per op type, the top `top` nodes (0 = all), memory. */
SB_API void sb_profile_print(const sb_profile_summary *s, FILE *f, int top);
/* The same as JSON (malloc'd): {"runs", "run_seconds", "steps", "step_seconds", "ops": [...],
 * "nodes": [...], "memory": {...}}; see docs/performance.md, "Profiling". */
SB_API char *sb_profile_json(const sb_profile_summary *s, int top);

/* ---------------------------------------------------------------------------------------------
 * Plugins (rewrites/plugin.c; tutorial: docs/plugins.md)
 *
 * A plugin is a shared object exporting one function:
 *
 *     const sb_plugin_desc *sb_plugin_init(const sb_host_api *host);
 *
 * It registers what it provides through the host table (rules, ops, passes, cost functions,
 * e-class facts) and returns its descriptor, whose first field is the ABI version it was built
 * for. A plugin includes this header only and calls symbench through `host` only (it is loaded
 * with RTLD_LOCAL into programs that may link libsymbench statically): build it with
 *     cc -shared -fPIC $(pkg-config --cflags symbench) plugin.c -o plugin.so
 * Only plugins named explicitly load: `--plugin PATH` on a command, `plugins: [...]` in a
 * pipeline. Its rules form a rule set named after the plugin (origin "plugin:NAME" in traces).
 * ------------------------------------------------------------------------------------------- */

#define SB_PLUGIN_ABI_VERSION 1
#define SB_MAX_PLUGIN_OPS 256                          /* ops registered at run time, at most */
#define SB_OP_LIMIT (SB_OP_COUNT + 1 + SB_MAX_PLUGIN_OPS) /* every op id is below this */

/* What sb_plugin_init returns (static storage in the plugin). abi_version MUST stay first. */
typedef struct sb_plugin_desc {
    int abi_version;         /* SB_PLUGIN_ABI_VERSION */
    const char *name;        /* the plugin's name: its rule set, "plugin:NAME" origins */
    const char *description; /* one line */
} sb_plugin_desc;

typedef struct sb_host_api sb_host_api;
/* A rule's match, during a C condition or applier: look at what ?var matched through
 * host->match_type / host->match_const. */
typedef struct sb_match sb_match;

/* C condition of a rule: true = the rewrite may fire for this match. */
typedef bool (*sb_rule_cond_fn)(const sb_host_api *host, const sb_match *m, void *user);
/* C applier: build the replacement as a pattern in ctx (sb_pvar / host->pvar for the rule's
 * variables, constants, host->apply); NULL = do not rewrite this match. */
typedef sb_node *(*sb_rule_apply_fn)(const sb_host_api *host, const sb_match *m, sb_ctx *ctx,
                                     void *user);
/* An e-class fact usable in rules' `when` lists as "NAME(?var)" (rules registered after it). */
typedef bool (*sb_fact_fn)(const sb_host_api *host, const sb_match *m, const char *var,
                           void *user);

/* An op's type/shape rule (inputs are typed; dims -1 = unknown). Fill out, or return an error
 * status with d filled (host->diag_set). */
typedef sb_status (*sb_op_type_fn)(int nin, const sb_type *const *in, const sb_attrs *a,
                                   sb_type *out, sb_diag *d);
/* A kernel: in[] are contiguous arrays of their own shapes (not broadcast; float inputs are
 * float64 in reference mode); out is allocated (zero-filled) by the host with the concrete
 * result type from the type rule. */
typedef sb_status (*sb_op_kernel_fn)(int nin, const sb_array *const *in, const sb_attrs *a,
                                     sb_array *out, sb_diag *d);
/* L-op: given node = op(in...) and g = d cost / d node, set gin[i] = d cost / d in[i] (nodes of
 * ctx built with host->apply; leave NULL where disconnected). Broadcasting is undone by the host. */
typedef void (*sb_op_lop_fn)(const sb_host_api *host, sb_ctx *ctx, sb_node *node, sb_node *g,
                             sb_node **gin, sb_diag *d);
/* R-op: the tangent of node given its inputs' tangents dx[i] (NULL = zero). */
typedef sb_node *(*sb_op_rop_fn)(const sb_host_api *host, sb_ctx *ctx, sb_node *node,
                                 sb_node *const *dx, sb_diag *d);

/* A new op. It gets an id > SB_OP_COUNT (SB_OP_COUNT stays "unknown"); sb_op_get / sb_op_from_name, the parser (calls by
 * name: gelu(x)), printer, graph JSON, evaluator, grad / Rop and the optimizer know it. */
typedef struct sb_op_def {
    const char *name;       /* a new name (not a built-in op or function) */
    int arity;              /* inputs (>= 1) */
    unsigned flags;         /* SB_F_ELEMWISE, SB_F_DIFF (with lop), ... */
    sb_op_family family;    /* drawings, cost model */
    sb_op_type_fn type;     /* required */
    sb_op_kernel_fn kernel; /* required: the reference kernel */
    sb_op_lop_fn lop;       /* optional: gradient */
    sb_op_rop_fn rop;       /* optional: forward mode */
    sb_op_kernel_fn fast;   /* optional: used instead of kernel outside reference (f64) mode */
} sb_op_def;

/* A pass: run over g in place, settings_json = its pipeline entry as JSON text ("{}" when only
 * the name was given); set *changed. */
typedef sb_status (*sb_plugin_pass_fn)(const sb_host_api *host, sb_graph *g,
                                       const char *settings_json, bool *changed, sb_diag *d);
/* A cost function for extraction: the cost of op given the built-in estimate; return builtin
 * to keep it. Every loaded cost function is applied in load order. */
typedef double (*sb_cost_fn)(sb_op op, const sb_attrs *a, const sb_type *out, int nin,
                             const sb_type *const *in, double builtin);

/* The host table given to sb_plugin_init (valid for the process's lifetime). Registration
 * functions return SB_OK or SB_ERR_PLUGIN with d naming the plugin and the conflict. */
struct sb_host_api {
    int abi_version;   /* the host's SB_PLUGIN_ABI_VERSION */
    void *plugin;      /* opaque: the plugin this table belongs to */
    /* registration */
    sb_status (*register_rules_json)(const sb_host_api *h, const char *json, sb_diag *d);
    /* one rule: lhs / rhs in the expression syntax (rhs NULL with an applier), when = NULL or
     * a NULL-terminated list of conditions ("const(?c)", a registered fact "name(?x)") */
    sb_status (*register_rule)(const sb_host_api *h, const char *name, const char *lhs,
                               const char *rhs, const char *const *when, sb_rule_cond_fn cond,
                               sb_rule_apply_fn apply, void *user, sb_diag *d);
    sb_status (*register_op)(const sb_host_api *h, const sb_op_def *def, sb_op *id, sb_diag *d);
    sb_status (*register_pass)(const sb_host_api *h, const char *name, sb_plugin_pass_fn fn,
                               const char *doc, sb_diag *d);
    sb_status (*register_cost)(const sb_host_api *h, const char *name, sb_cost_fn fn, sb_diag *d);
    sb_status (*register_fact)(const sb_host_api *h, const char *name, sb_fact_fn fn, void *user,
                               sb_diag *d);
    /* services */
    void (*log)(int level, const char *fmt, ...);
    void *(*alloc)(size_t n); /* zeroed; aborts on out-of-memory */
    void (*free)(void *p);
    sb_status (*diag_set)(sb_diag *d, sb_status st, const char *file, int line, int col,
                          const char *fmt, ...);
    /* nodes */
    sb_node *(*apply)(sb_ctx *ctx, sb_op op, int nin, sb_node *const *in, const sb_attrs *a,
                      sb_diag *d);
    sb_node *(*const_scalar)(sb_ctx *ctx, double v, sb_dtype dt, bool weak);
    sb_node *(*pvar)(sb_ctx *ctx, const char *name);
    sb_op (*op_from_name)(const char *name);
    sb_op (*node_op)(const sb_node *n);
    int (*node_nin)(const sb_node *n);
    sb_node *(*node_in)(const sb_node *n, int i);
    const sb_type *(*node_type)(const sb_node *n);
    const sb_attrs *(*node_attrs)(const sb_node *n);
    const sb_array *(*node_value)(const sb_node *n);
    /* arrays and types */
    int64_t (*array_numel)(const sb_array *a);
    double (*array_get_f64)(const sb_array *a, int64_t i);
    void (*array_set_f64)(sb_array *a, int64_t i, double v);
    sb_dtype (*dtype_to_float)(sb_dtype t);
    bool (*dtype_is_float)(sb_dtype t);
    /* matches (conditions, appliers, facts): false / NULL when var is not a rule variable */
    bool (*match_const)(const sb_match *m, const char *var, double *value); /* a scalar const */
    const sb_type *(*match_type)(const sb_match *m, const char *var);
    /* graphs (passes) */
    sb_ctx *(*graph_ctx)(const sb_graph *g);
    int (*graph_count)(const sb_graph *g, sb_graph_role role);
    sb_node *(*graph_node)(const sb_graph *g, sb_graph_role role, int i);
    void (*graph_set_node)(sb_graph *g, sb_graph_role role, int i, sb_node *n);
};

/* The entry point every plugin exports (resolved by name with dlsym); declare it
 *     SB_PLUGIN_EXPORT const sb_plugin_desc *sb_plugin_init(const sb_host_api *host)
 * (visible even when the plugin is compiled with -fvisibility=hidden). */
typedef const sb_plugin_desc *(*sb_plugin_init_fn)(const sb_host_api *host);
#define SB_PLUGIN_EXPORT __attribute__((visibility("default")))
#define SB_PLUGIN_ENTRY "sb_plugin_init"

/* Load a plugin (once per path; later loads of the same file do nothing): dlopen, check the ABI
 * version, run its init and register what it provides. Errors name the plugin: a missing file,
 * a missing sb_plugin_init, a wrong ABI version, a duplicate op / rule / plugin name. */
SB_API sb_status sb_plugin_load(const char *path, sb_diag *d);
/* Loaded plugins: count and names (i in [0, count)). */
SB_API int sb_plugin_count(void);
SB_API const char *sb_plugin_name(int i);
/* Who registered op (a plugin's name), or NULL for a built-in op. */
SB_API const char *sb_op_owner(sb_op op);

#ifdef __cplusplus
}
#endif
#endif
