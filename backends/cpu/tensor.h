/* tensor.h: the CPU backend's strided tensor (shape, strides, offset over a refcounted buffer)
 * and the kernel calling convention shared by the reference evaluator's kernel files.
 *
 * A tensor header is a small value (copied freely); the buffer it points into is refcounted.
 * Views (transpose, reshape of contiguous data, slicing, broadcasting) share the buffer and only
 * change shape / strides / offset. Strides and offsets count elements, not bytes. Buffers are
 * owned by the backend; a buffer made by wrapping a caller's sb_array does not own its data. */
#ifndef SB_CPU_TENSOR_H
#define SB_CPU_TENSOR_H

#include "core-impl.h"

typedef struct sb_be_buf {
    int64_t refs;
    bool owned;   /* free data with the buffer */
    void *data;
} sb_be_buf;

typedef struct sb_tensor {
    sb_dtype dtype;
    int ndim;
    int64_t shape[SB_MAX_DIMS];
    int64_t strides[SB_MAX_DIMS]; /* elements; 0 on broadcast dims */
    int64_t offset;               /* elements from buf->data */
    sb_be_buf *buf;               /* NULL = empty header */
} sb_tensor;

/* ---- tensors (tensor.c) ---- */
/* A new contiguous tensor; data uninitialized (zeroed with _zeros). */
sb_tensor sb_be_tensor_new(sb_dtype dt, int ndim, const int64_t *shape);
sb_tensor sb_be_tensor_zeros(sb_dtype dt, int ndim, const int64_t *shape);
/* Where sb_be_tensor_new / _zeros take their buffers on the calling thread (the plan points it
 * at its pool while a reference kernel runs, so that kernel results and temporaries are
 * pooled): fn(user, bytes) returns a buffer of at least `bytes` holding one reference for the
 * new tensor, which release never frees (its owner holds another). NULL fn: malloc. */
typedef sb_be_buf *(*sb_be_buf_alloc_fn)(void *user, size_t bytes);
void sb_be_tensor_set_alloc(sb_be_buf_alloc_fn fn, void *user);
/* A tensor over a caller's array, without copying (the array must outlive the tensor). */
sb_tensor sb_be_tensor_wrap(const sb_array *a);
/* Another reference to t's buffer (same header). */
sb_tensor sb_be_tensor_ref(const sb_tensor *t);
/* Drop t's reference; frees the buffer with its last reference. t becomes empty. */
void sb_be_tensor_release(sb_tensor *t);
int64_t sb_be_tensor_numel(const sb_tensor *t);
bool sb_be_tensor_is_contig(const sb_tensor *t);
/* Address of the element at t's offset. */
void *sb_be_tensor_ptr(const sb_tensor *t);
/* C-order strides for shape. */
void sb_be_contig_strides(int ndim, const int64_t *shape, int64_t *strides);
/* t as a contiguous tensor of dtype dt: a new reference when it already is one, else a copy. */
sb_tensor sb_be_tensor_as(const sb_tensor *t, sb_dtype dt);
/* A view of t broadcast to shape (NumPy rules; the caller checked compatibility). */
sb_tensor sb_be_tensor_bcast(const sb_tensor *t, int ndim, const int64_t *shape);
/* Copy src (broadcast to dst's shape, converted to dst's dtype) into the view dst. */
void sb_be_tensor_assign(const sb_tensor *dst, const sb_tensor *src);
/* dst += src elementwise (src broadcast to dst's shape and converted to its dtype); dst's
 * elements are visited in order, so repeated positions accumulate (np.add.at). */
void sb_be_tensor_add_into(const sb_tensor *dst, const sb_tensor *src);
/* A new sb_array holding t's values as dtype dt (consumes t's reference). */
sb_array *sb_be_tensor_to_array(sb_tensor *t, sb_dtype dt);
/* Element i (C order over t's shape) as double / int64. */
double sb_be_tensor_get_f64(const sb_tensor *t, int64_t i);
int64_t sb_be_tensor_get_i64(const sb_tensor *t, int64_t i);

/* Row iteration: visit `shape` in C order with nop operands (base addresses and byte strides
 * per dim), calling fn once per innermost row with the row length, the operands' addresses and
 * their byte strides along the row. Adjacent dims that are contiguous for every operand are
 * merged first, so a contiguous array is one row. */
typedef void (*sb_be_row_fn)(int64_t n, char **p, const int64_t *s, void *user);
void sb_be_foreach_row(int ndim, const int64_t *shape, int nop, char *const *base,
                       int64_t (*const strides)[SB_MAX_DIMS], sb_be_row_fn fn, void *user);

/* ---- kernels ---- */
typedef struct sb_be_call {
    const sb_node *node;  /* the node evaluated (static input types, attributes) */
    const sb_attrs *a;
    int nin;
    const sb_tensor *in;  /* input values */
    sb_type out;          /* concrete result type (dtype mapped to float64 in f64 mode) */
    bool f64;             /* float64 reference mode */
    sb_diag *d;
} sb_be_call;

/* Compute c's node into *out (a new tensor or view). Returns SB_OK or fills c->d. */
typedef sb_status (*sb_be_kernel_fn)(const sb_be_call *c, sb_tensor *out);

/* The kernel for op, NULL for leaves, ifelse and symbolic ops (eval.c handles those). */
sb_be_kernel_fn sb_be_cpu_kernel(sb_op op);
/* eval.c: the array binds[] gives input / shared variable n (by name), checked against n's
 * declared type (dtype, rank, known dims); else d: "input 'x' has no value" or "shared variable
 * 'W': expected float32[784, 10], got float32[3]". Used by the evaluator and the plan. */
sb_status sb_be_bound_value(const sb_node *n, int nbind, const sb_binding *binds,
                            const sb_array **value, sb_diag *d);

/* Computation dtype of a float op in mode f64 (float32 -> float64 there). */
sb_dtype sb_be_float_dt(sb_dtype t, bool f64);
/* The dtype arithmetic runs in: int64 for every integer or bool, else the float dtype. */
sb_dtype sb_be_arith_dt(sb_dtype t);
/* Promotion of two operands with NumPy's weak-literal rule (static types). */
sb_dtype sb_be_weak_promote(const sb_type *a, const sb_type *b);

/* Kernel entry points by file. */
sb_status sb_be_k_unary(const sb_be_call *c, sb_tensor *out);      /* elemwise.c */
sb_status sb_be_k_binary(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_where(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_clip(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_cast(const sb_be_call *c, sb_tensor *out);
/* Elementwise binary op on tensors of dtype dt (already converted), broadcast to shape. */
sb_tensor sb_be_binary(sb_op op, sb_dtype dt, const sb_tensor *a, const sb_tensor *b);
sb_status sb_be_k_reduce(const sb_be_call *c, sb_tensor *out);     /* reduce.c */
sb_status sb_be_k_argreduce(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_softmax(const sb_be_call *c, sb_tensor *out);    /* nnet.c */
sb_status sb_be_k_crossentropy(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_matmul(const sb_be_call *c, sb_tensor *out);     /* blas.c */
sb_status sb_be_k_outer(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_reshape(const sb_be_call *c, sb_tensor *out);    /* shape.c */
sb_status sb_be_k_transpose(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_expand_dims(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_squeeze(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_concatenate(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_stack(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_split(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_broadcast_to(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_shape(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_identity(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_fill(const sb_be_call *c, sb_tensor *out);       /* construct.c */
sb_status sb_be_k_arange(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_eye(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_one_hot(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_subtensor(const sb_be_call *c, sb_tensor *out);  /* index.c */
sb_status sb_be_k_set_subtensor(const sb_be_call *c, sb_tensor *out);
sb_status sb_be_k_plugin(const sb_be_call *c, sb_tensor *out);      /* plugin_kernel.c */

/* BLAS calls on strided float32/float64 operands of dtype dt (blas.c; plan.c's GEMM steps).
 * Matrices laid out row- or column-major (a transposed view) are passed as they lie, with a
 * transpose flag, other layouts as contiguous copies; 1-D vectors with a positive stride keep
 * it. The destination is contiguous. gemm: C[M, N] = alpha * A @ B + beta * C. gemv: y[M] =
 * alpha * A @ x + beta * y, or alpha * x @ A + beta * y when vec_left. ger: C[M, N] += alpha *
 * a b^T (a, b flattened). Empty operands skip the call (C / y left as they are). */
void sb_be_blas_gemm(sb_dtype dt, double alpha, double beta, const sb_tensor *A,
                     const sb_tensor *B, void *C);
void sb_be_blas_gemv(sb_dtype dt, double alpha, double beta, const sb_tensor *A,
                     const sb_tensor *x, bool vec_left, void *y);
void sb_be_blas_ger(sb_dtype dt, double alpha, const sb_tensor *a, const sb_tensor *b, void *C);
/* skinny.c: C[M, N] = alpha * op(A) @ op(B) + beta * C (row-major, C contiguous, beta == 0
 * overwrites) when N or K is at most 16, by vectorized loops instead of OpenBLAS; false (nothing
 * done) for other sizes. */
bool sb_be_skinny_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C);

#endif
