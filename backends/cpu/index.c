/* index.c: NumPy indexing. x[idx] (basic: a view; advanced: a gather), set_subtensor and
 * inc_subtensor (a copy of x with x[idx] overwritten / incremented; repeated positions of an
 * advanced index accumulate like np.add.at).
 *
 * Both go through one plan: slices (and, with no index arrays, scalars) become a view of x;
 * index arrays, boolean masks (as their nonzero coordinates) and, when arrays are present,
 * scalars become "advanced" entries: int64 arrays broadcast together, each naming a dim of the
 * view. The advanced block of the result goes where the entries are (adjacent) or first. */
#include "tensor.h"

typedef struct plan {
    sb_tensor view;               /* x after slices (and basic scalars) */
    int nadv;                     /* advanced entries */
    int adim[SB_MAX_DIMS];        /* the view dim each entry indexes */
    sb_tensor aidx[SB_MAX_DIMS];  /* int64 arrays broadcast to bshape, bounds-checked */
    int nb;                       /* broadcast shape of the entries */
    int64_t bshape[SB_MAX_DIMS];
    bool front;                   /* advanced block first (entries not adjacent) */
} plan;

static void plan_free(plan *p)
{
    for (int i = 0; i < p->nadv; i++) sb_be_tensor_release(&p->aidx[i]);
    p->nadv = 0;
}

static sb_status oob(const sb_be_call *c, int64_t v, int axis, int64_t n)
{
    return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                       "index %lld is out of bounds for axis %d with size %lld", (long long)v,
                       axis, (long long)n);
}

/* The value of one index component; *given = false when absent. */
static int64_t iarg(const sb_be_call *c, const sb_iarg *g, bool *given)
{
    *given = g->kind != SB_IARG_NONE;
    if (g->kind == SB_IARG_CONST) return g->v;
    if (g->kind == SB_IARG_INPUT) {
        SB_ASSERT(g->v >= 0 && g->v < c->nin);
        return sb_be_tensor_get_i64(&c->in[g->v], 0);
    }
    return 0;
}

/* Python's slice.indices for a dim of size n: start and length of x[a:b:s]. */
static sb_status slice(const sb_be_call *c, const sb_index *ix, int64_t n, int64_t *start,
                       int64_t *step, int64_t *len)
{
    bool ha, hb, hs;
    int64_t a = iarg(c, &ix->a[0], &ha), b = iarg(c, &ix->a[1], &hb), s = iarg(c, &ix->a[2], &hs);
    if (!hs) s = 1;
    if (s == 0) return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "slice step cannot be zero");
    int64_t lo = s > 0 ? 0 : -1, hi = s > 0 ? n : n - 1;
    if (!ha) a = s > 0 ? lo : hi;
    else if (a < 0) a = a + n < lo ? lo : a + n;
    else if (a > hi) a = hi;
    if (!hb) b = s > 0 ? hi : lo;
    else if (b < 0) b = b + n < lo ? lo : b + n;
    else if (b > hi) b = hi;
    *len = s > 0 ? (b > a ? (b - a - 1) / s + 1 : 0) : (a > b ? (a - b - 1) / -s + 1 : 0);
    *start = *len ? a : 0;
    *step = s;
    return SB_OK;
}

/* Add an advanced entry: int64 array t (a new reference) indexing view dim vd of size n;
 * negative values wrap, out-of-range ones are an error. */
static sb_status add_entry(const sb_be_call *c, plan *p, sb_tensor t, int vd, int xaxis)
{
    int64_t n = p->view.shape[vd], cnt = sb_be_tensor_numel(&t);
    int64_t *v = sb_be_tensor_ptr(&t);
    if (!t.buf->owned || t.buf->refs > 1) { /* writable private copy */
        sb_tensor w = sb_be_tensor_new(SB_DTYPE_I64, t.ndim, t.shape);
        sb_be_tensor_assign(&w, &t);
        sb_be_tensor_release(&t);
        t = w;
        v = t.buf->data;
    }
    p->adim[p->nadv] = vd;
    p->aidx[p->nadv++] = t;
    for (int64_t i = 0; i < cnt; i++) {
        if (v[i] < -n || v[i] >= n) return oob(c, v[i], xaxis, n);
        if (v[i] < 0) v[i] += n;
    }
    return SB_OK;
}

/* A boolean mask over view dims [vd, vd + mask.ndim): one entry per dim (its nonzero coords). */
static sb_status add_mask(const sb_be_call *c, plan *p, const sb_tensor *mask, int vd)
{
    for (int k = 0; k < mask->ndim; k++)
        if (vd + k >= p->view.ndim || p->view.shape[vd + k] != mask->shape[k])
            return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                               "boolean index did not match indexed array along dimension %d",
                               vd + k);
    sb_tensor m = sb_be_tensor_as(mask, SB_DTYPE_BOOL);
    const uint8_t *md = sb_be_tensor_ptr(&m);
    int64_t n = sb_be_tensor_numel(&m), cnt = 0;
    for (int64_t i = 0; i < n; i++) cnt += md[i] != 0;
    sb_status st = SB_OK;
    for (int k = 0; k < mask->ndim && !st; k++) {
        sb_tensor t = sb_be_tensor_new(SB_DTYPE_I64, 1, &cnt);
        int64_t *o = t.buf->data, j = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!md[i]) continue;
            int64_t r = i;
            for (int q = mask->ndim - 1; q > k; q--) r /= mask->shape[q];
            o[j++] = r % mask->shape[k];
        }
        st = add_entry(c, p, t, vd + k, vd + k);
    }
    sb_be_tensor_release(&m);
    return st;
}

/* One index entry at x dim *axis (view dim *vd); see the file comment. */
static sb_status plan_entry(const sb_be_call *c, plan *p, const sb_index *ix, bool arrays,
                            int *axis, int *vd, bool *seen, bool *gap)
{
    sb_tensor *v = &p->view;
    if (*vd >= v->ndim) return sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0, "too many indices");
    if (ix->kind == SB_INDEX_SLICE) {
        int64_t start = 0, step = 1, len = 0;
        sb_status st = slice(c, ix, v->shape[*vd], &start, &step, &len);
        if (st) return st;
        v->offset += start * v->strides[*vd];
        v->strides[*vd] *= step;
        v->shape[*vd] = len;
        *gap |= *seen;
        (*axis)++, (*vd)++;
        return SB_OK;
    }
    p->front |= *gap;
    *seen = true;
    if (ix->kind == SB_INDEX_SCALAR) {
        bool given;
        int64_t i = iarg(c, &ix->a[0], &given), n = v->shape[*vd];
        if (i < -n || i >= n) return oob(c, i, *axis, n);
        if (i < 0) i += n;
        if (arrays) {
            sb_tensor t = sb_be_tensor_new(SB_DTYPE_I64, 0, NULL);
            *(int64_t *)t.buf->data = i;
            (*axis)++;
            return add_entry(c, p, t, (*vd)++, *axis - 1);
        }
        v->offset += i * v->strides[*vd]; /* basic: the dim goes away */
        for (int d = *vd; d + 1 < v->ndim; d++) {
            v->shape[d] = v->shape[d + 1];
            v->strides[d] = v->strides[d + 1];
        }
        v->ndim--;
        (*axis)++;
        return SB_OK;
    }
    const sb_tensor *t = &c->in[ix->a[0].v];
    if (t->dtype == SB_DTYPE_BOOL) {
        sb_status st = add_mask(c, p, t, *vd);
        *axis += t->ndim, *vd += t->ndim;
        return st;
    }
    (*axis)++;
    return add_entry(c, p, sb_be_tensor_as(t, SB_DTYPE_I64), (*vd)++, *axis - 1);
}

/* Build the plan of x[idx] for call c (x = the value indexed). */
static sb_status plan_make(const sb_be_call *c, const sb_tensor *x, plan *p)
{
    memset(p, 0, sizeof *p);
    p->view = *x;
    bool arrays = false, seen = false, gap = false;
    for (int i = 0; i < c->a->nidx; i++) arrays |= c->a->idx[i].kind == SB_INDEX_ARRAY;
    int axis = 0, vd = 0;
    for (int i = 0; i < c->a->nidx; i++) {
        sb_status st = plan_entry(c, p, &c->a->idx[i], arrays, &axis, &vd, &seen, &gap);
        if (st) return plan_free(p), st;
    }
    /* broadcast the entries together */
    for (int k = 0; k < p->nadv; k++) {
        const sb_tensor *t = &p->aidx[k];
        int nb = p->nb > t->ndim ? p->nb : t->ndim;
        int64_t sh[SB_MAX_DIMS];
        for (int d = 0; d < nb; d++) {
            int i1 = d - (nb - p->nb), i2 = d - (nb - t->ndim);
            int64_t a = i1 >= 0 ? p->bshape[i1] : 1, b = i2 >= 0 ? t->shape[i2] : 1;
            if (a != b && a != 1 && b != 1)
                return plan_free(p), sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                                                 "shape mismatch: indexing arrays could not be "
                                                 "broadcast together");
            sh[d] = a == 1 ? b : a;
        }
        p->nb = nb;
        memcpy(p->bshape, sh, sizeof sh);
    }
    for (int k = 0; k < p->nadv; k++) {
        sb_tensor b = sb_be_tensor_bcast(&p->aidx[k], p->nb, p->bshape);
        sb_tensor r = sb_be_tensor_as(&b, SB_DTYPE_I64);
        sb_be_tensor_release(&p->aidx[k]);
        p->aidx[k] = r;
    }
    return SB_OK;
}

/* The result layout of an advanced plan: shape (into out) and, per result dim, either the view
 * dim it comes from (>= 0) or -1 - (its position in the broadcast block). */
static int adv_layout(const plan *p, int64_t *shape, int *src)
{
    bool isadv[SB_MAX_DIMS] = {0};
    int first = SB_MAX_DIMS, nd = 0;
    for (int k = 0; k < p->nadv; k++) {
        isadv[p->adim[k]] = true;
        first = p->adim[k] < first ? p->adim[k] : first;
    }
    int bpos = p->front ? 0 : first;
    for (int d = 0; d < p->view.ndim; d++) {
        if (d == bpos || (p->front && d == 0))
            for (int b = 0; b < p->nb; b++) shape[nd] = p->bshape[b], src[nd++] = -1 - b;
        if (!isadv[d]) shape[nd] = p->view.shape[d], src[nd++] = d;
    }
    return nd;
}

/* For position j of the broadcast block: the view restricted to the non-advanced dims (at
 * the indexed offset) and the matching sub-view of a tensor r with the result's layout. */
static void adv_slot(const plan *p, int nd, const int *src, const sb_tensor *r, int64_t j,
                     sb_tensor *xs, sb_tensor *rs)
{
    *xs = p->view;
    *rs = *r;
    for (int k = 0; k < p->nadv; k++)
        xs->offset += ((const int64_t *)sb_be_tensor_ptr(&p->aidx[k]))[j] *
                      p->view.strides[p->adim[k]];
    int64_t jj = j;
    for (int b = p->nb - 1; b >= 0; b--) { /* unravel j over the block */
        for (int d = 0; d < nd; d++)
            if (src[d] == -1 - b) rs->offset += (jj % p->bshape[b]) * r->strides[d];
        jj /= p->bshape[b];
    }
    xs->ndim = rs->ndim = 0;
    for (int d = 0; d < nd; d++) {
        if (src[d] < 0) continue;
        xs->shape[xs->ndim] = p->view.shape[src[d]];
        xs->strides[xs->ndim++] = p->view.strides[src[d]];
        rs->shape[rs->ndim] = r->shape[d];
        rs->strides[rs->ndim++] = r->strides[d];
    }
}

static int64_t block_size(const plan *p)
{
    int64_t n = 1;
    for (int b = 0; b < p->nb; b++) n *= p->bshape[b];
    return n;
}

sb_status sb_be_k_subtensor(const sb_be_call *c, sb_tensor *out)
{
    plan p;
    sb_status st = plan_make(c, &c->in[0], &p);
    if (st) return st;
    if (p.nadv == 0) {
        *out = sb_be_tensor_ref(&p.view);
        return SB_OK;
    }
    int64_t shape[SB_MAX_DIMS];
    int src[SB_MAX_DIMS], nd = adv_layout(&p, shape, src);
    sb_tensor r = sb_be_tensor_new(c->in[0].dtype, nd, shape);
    int64_t n = block_size(&p);
    for (int64_t j = 0; j < n && sb_be_tensor_numel(&r) > 0; j++) {
        sb_tensor xs, rs;
        adv_slot(&p, nd, src, &r, j, &xs, &rs);
        sb_be_tensor_assign(&rs, &xs);
    }
    plan_free(&p);
    *out = r;
    return SB_OK;
}

sb_status sb_be_k_set_subtensor(const sb_be_call *c, sb_tensor *out)
{
    bool inc = c->node->op == SB_OP_INC_SUBTENSOR;
    sb_tensor x = sb_be_tensor_new(c->out.dtype, c->in[0].ndim, c->in[0].shape);
    sb_be_tensor_assign(&x, &c->in[0]);
    plan p;
    sb_status st = plan_make(c, &x, &p);
    if (st) return sb_be_tensor_release(&x), st;
    sb_tensor y = sb_be_tensor_as(&c->in[1], x.dtype);
    int64_t shape[SB_MAX_DIMS];
    int src[SB_MAX_DIMS], nd = p.nadv ? adv_layout(&p, shape, src) : p.view.ndim;
    if (!p.nadv) memcpy(shape, p.view.shape, sizeof shape);
    bool ok = y.ndim <= nd;
    for (int i = 0; ok && i < y.ndim; i++)
        ok = y.shape[i] == 1 || y.shape[i] == shape[nd - y.ndim + i];
    if (!ok) {
        st = sb_diag_set(c->d, SB_ERR_VALUE, NULL, 0, 0,
                         "%s: the value cannot be broadcast to the indexed part",
                         sb_op_get((sb_op)c->node->op)->name);
    } else if (!p.nadv) {
        (inc ? sb_be_tensor_add_into : sb_be_tensor_assign)(&p.view, &y);
    } else {
        sb_tensor yb = sb_be_tensor_bcast(&y, nd, shape);
        int64_t n = block_size(&p);
        for (int64_t j = 0; j < n; j++) {
            sb_tensor xs, ys;
            adv_slot(&p, nd, src, &yb, j, &xs, &ys);
            (inc ? sb_be_tensor_add_into : sb_be_tensor_assign)(&xs, &ys);
        }
    }
    plan_free(&p);
    sb_be_tensor_release(&y);
    if (st) return sb_be_tensor_release(&x), st;
    *out = x;
    return SB_OK;
}
