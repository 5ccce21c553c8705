/* train.c: the training loop of a pipeline (`"train": {...}`), built on compiled functions.
 *
 * Two functions are compiled from the graph (run by the pipeline's backend's programs): the
 * step (the loss output and every update of the graph: the optimizer is written in the graph as
 * updates) and the evaluation (the chosen outputs, no updates). Each step gathers a minibatch of the `batch_over` inputs from a
 * permutation of the rows drawn per epoch from the seed (so step s always sees the same rows,
 * which makes a resumed run identical to an uninterrupted one), calls the step, and logs.
 * Held-out evaluation runs every eval_every steps and at the end; a checkpoint (one .npy per
 * shared variable and state.json with the step and RNG state) is written with each evaluation
 * and at the end, and restored when present (unless `resume` is false: then the run starts over
 * and replaces it). The loss is the output sb_pipeline_loss picks (`train.loss`).
 *
 * The helpers that compile a pipeline's graph into a function (sb_pipeline_store,
 * sb_pipeline_function, pipeline.h) live here too: `symbench run` uses them for its one
 * evaluation, which is one call of that function with every update. */
#include "function.h"
#include "json.h"
#include "pipeline.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

typedef struct trainer {
    const sb_pipeline *p;
    const sb_train_spec *t;
    sb_graph *g;
    bool quiet, tty;
    bool pending;           /* a \r progress line is on the terminal without its newline */
    sb_shared_store *store;
    int nin;
    sb_node **inputs;       /* the graph's inputs */
    const sb_array **full;  /* their training data (borrowed from the bindings) */
    bool *batched;          /* named in batch_over */
    int64_t nrows, bs, spe, total; /* examples, batch size, steps per epoch, steps in all */
    int loss;               /* index of the loss output */
    sb_function *step_fn, *eval_fn;
    int neval;
    int *eval_idx;          /* output indices evaluated */
    sb_array **eval_args;   /* held-out values per input (owned), NULL = training data */
    sb_array **eval_res;    /* last evaluation */
    sb_array *last_loss;
    int64_t step;           /* steps done */
    int64_t *perm;          /* row order of perm_epoch */
    int64_t perm_epoch;
    FILE *metrics;
    double t_start, t_log, loss_sum;
    int64_t loss_n, rows_since, step0;
} trainer;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- shuffling ---------------------------------------------------------------------------- */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The RNG state that shuffles epoch e (a pure function of the seed and e). */
static uint64_t epoch_rng(uint64_t seed, int64_t e)
{
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)e;
    return splitmix64(&s);
}

/* The row order of epoch e: Fisher-Yates from epoch_rng (identity when there is no batching). */
static void shuffle_epoch(trainer *tr, int64_t e)
{
    if (tr->perm_epoch == e) return;
    for (int64_t i = 0; i < tr->nrows; i++) tr->perm[i] = i;
    uint64_t s = epoch_rng(tr->t->seed, e);
    for (int64_t i = tr->nrows - 1; i > 0 && tr->bs < tr->nrows; i--) {
        int64_t j = (int64_t)(splitmix64(&s) % (uint64_t)(i + 1));
        int64_t x = tr->perm[i];
        tr->perm[i] = tr->perm[j];
        tr->perm[j] = x;
    }
    tr->perm_epoch = e;
}

/* Rows rows[0..m) of a (along dim 0) as a new array. */
static sb_array *gather(const sb_array *a, const int64_t *rows, int64_t m)
{
    int64_t shape[SB_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[0] = m;
    sb_array *b = sb_array_new(a->dtype, a->ndim, shape);
    size_t row = sb_dtype_size(a->dtype);
    for (int k = 1; k < a->ndim; k++) row *= (size_t)a->shape[k];
    for (int64_t i = 0; i < m; i++)
        memcpy((char *)b->data + (size_t)i * row, (const char *)a->data + (size_t)rows[i] * row, row);
    return b;
}

/* ---- compiled functions of a pipeline's graph (shared with tools/cmd_run.c) ---------------- */
const sb_array *sb_binding_value(int nbind, const sb_binding *binds, const char *name)
{
    for (int i = 0; i < nbind; i++)
        if (!strcmp(binds[i].name, name)) return binds[i].value;
    return NULL;
}

sb_shared_store *sb_pipeline_store(const sb_graph *g, int nbind, const sb_binding *binds)
{
    sb_shared_store *s = sb_shared_store_new();
    for (int i = 0; i < sb_graph_count(g, SB_ROLE_SHARED); i++) {
        const char *name = sb_graph_name(g, SB_ROLE_SHARED, i);
        const sb_array *v = sb_binding_value(nbind, binds, name);
        SB_ASSERT(v);
        sb_shared_set_value(s, name, v);
    }
    return s;
}

sb_function *sb_pipeline_function(const sb_pipeline *p, sb_graph *g, int nout, const int *outs,
                                  bool updates, sb_shared_store *store, sb_diag *d)
{
    int nin = sb_graph_count(g, SB_ROLE_INPUT);
    int nupd = updates ? sb_graph_count(g, SB_ROLE_UPDATE) : 0;
    sb_node **in = sb_xcalloc((size_t)nin + 1, sizeof *in);
    sb_node **out = sb_xcalloc((size_t)nout + 1, sizeof *out);
    sb_update *u = sb_xcalloc((size_t)nupd + 1, sizeof *u);
    for (int i = 0; i < nin; i++) in[i] = sb_graph_node(g, SB_ROLE_INPUT, i);
    for (int i = 0; i < nout; i++) out[i] = sb_graph_node(g, SB_ROLE_OUTPUT, outs[i]);
    for (int i = 0; i < nupd; i++) {
        u[i].var = sb_graph_find(g, SB_ROLE_SHARED, sb_graph_name(g, SB_ROLE_UPDATE, i));
        u[i].value = sb_graph_node(g, SB_ROLE_UPDATE, i);
    }
    sb_function_opts o = {.backend = p->backend};
    sb_function *f = sb_function_new(g->ctx, nin, in, nout, out, nupd, u, 0, NULL, store, &o, d);
    free(in);
    free(out);
    free(u);
    return f;
}

/* ---- setup -------------------------------------------------------------------------------- */
/* The train object's JSON item for key (positions in errors), or the object itself. */
static const cJSON *train_item(const trainer *tr, const char *key)
{
    const cJSON *o = tr->t->json;
    const cJSON *c = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return c ? c : o ? o : sb_json_root(tr->p->doc);
}

/* Inputs, their data, which are batched, and the number of rows; checks batch_over. */
static sb_status setup_data(trainer *tr, int nbind, const sb_binding *binds, sb_diag *d)
{
    tr->nin = sb_graph_count(tr->g, SB_ROLE_INPUT);
    tr->inputs = sb_xcalloc((size_t)tr->nin + 1, sizeof *tr->inputs);
    tr->full = sb_xcalloc((size_t)tr->nin + 1, sizeof *tr->full);
    tr->batched = sb_xcalloc((size_t)tr->nin + 1, sizeof *tr->batched);
    tr->nrows = -1;
    for (int i = 0; i < tr->nin; i++) {
        tr->inputs[i] = sb_graph_node(tr->g, SB_ROLE_INPUT, i);
        tr->full[i] = sb_binding_value(nbind, binds, tr->inputs[i]->name);
        SB_ASSERT(tr->full[i]);
    }
    for (int k = 0; k < tr->t->nbatch_over; k++) {
        const char *name = tr->t->batch_over[k];
        int i = 0;
        while (i < tr->nin && strcmp(tr->inputs[i]->name, name)) i++;
        if (i == tr->nin || tr->full[i]->ndim < 1)
            return sb_json_error(tr->p->doc, train_item(tr, "batch_over"), SB_ERR_VALUE, d,
                                 "batch_over: '%s' is not an input of the graph with rows", name);
        if (tr->nrows >= 0 && tr->full[i]->shape[0] != tr->nrows)
            return sb_json_error(tr->p->doc, train_item(tr, "batch_over"), SB_ERR_VALUE, d,
                                 "batch_over: '%s' has %lld rows but the others have %lld", name,
                                 (long long)tr->full[i]->shape[0], (long long)tr->nrows);
        tr->batched[i] = true;
        tr->nrows = tr->full[i]->shape[0];
    }
    if (tr->nrows < 0) tr->nrows = 1; /* nothing batched: every step sees all the data */
    if (tr->nrows == 0)
        return sb_json_error(tr->p->doc, train_item(tr, "batch_over"), SB_ERR_VALUE, d,
                             "batch_over: the training data has no rows");
    tr->bs = tr->t->batch_size > 0 && tr->t->batch_size < tr->nrows ? tr->t->batch_size : tr->nrows;
    tr->spe = (tr->nrows + tr->bs - 1) / tr->bs;
    tr->total = tr->t->steps > 0 ? tr->t->steps : (tr->t->epochs > 0 ? tr->t->epochs : 1) * tr->spe;
    tr->perm = sb_xcalloc((size_t)tr->nrows, sizeof *tr->perm);
    tr->perm_epoch = -1;
    return SB_OK;
}

/* The step function: the loss output (sb_pipeline_loss) and the graph's updates. */
static sb_status setup_step(trainer *tr, sb_diag *d)
{
    tr->loss = sb_pipeline_loss(tr->p, tr->g);
    if (tr->loss < 0)
        return sb_json_error(tr->p->doc, train_item(tr, "loss"), SB_ERR_VALUE, d,
                             "train: the graph has no scalar output to report as the loss");
    if (sb_graph_count(tr->g, SB_ROLE_UPDATE) == 0)
        sb_log(1, "%s: note: the graph has no updates: training changes nothing", tr->p->file);
    tr->step_fn = sb_pipeline_function(tr->p, tr->g, 1, &tr->loss, true, tr->store, d);
    return tr->step_fn ? SB_OK : d->status;
}

/* The evaluation function: eval.outputs (default: every statically scalar output) on eval.data
 * (inputs without held-out data keep their training data). */
static sb_status setup_eval(trainer *tr, sb_diag *d)
{
    const sb_train_spec *t = tr->t;
    int nout = sb_graph_count(tr->g, SB_ROLE_OUTPUT);
    tr->eval_idx = sb_xcalloc((size_t)nout + 1, sizeof *tr->eval_idx);
    for (int i = 0; i < t->neval_outputs; i++) {
        int k = sb_pipeline_output(tr->g, t->eval_outputs[i]);
        if (k < 0)
            return sb_json_error(tr->p->doc, train_item(tr, "eval"), SB_ERR_VALUE, d,
                                 "train.eval: '%s' is not an output of the graph",
                                 t->eval_outputs[i]);
        tr->eval_idx[tr->neval++] = k;
    }
    for (int i = 0; i < nout && !t->neval_outputs && t->neval_data; i++)
        if (sb_graph_node(tr->g, SB_ROLE_OUTPUT, i)->type.ndim == 0) tr->eval_idx[tr->neval++] = i;
    tr->eval_args = sb_xcalloc((size_t)tr->nin + 1, sizeof *tr->eval_args);
    tr->eval_res = sb_xcalloc((size_t)tr->neval + 1, sizeof *tr->eval_res);
    for (int k = 0; k < t->neval_data; k++) {
        const sb_data_spec *s = &t->eval_data[k];
        int i = 0;
        while (i < tr->nin && strcmp(tr->inputs[i]->name, s->name)) i++;
        if (i == tr->nin)
            return sb_json_error(tr->p->doc, s->item, SB_ERR_VALUE, d,
                                 "train.eval.data: '%s' is not an input of the graph", s->name);
        tr->eval_args[i] = sb_pipeline_data_load(tr->p, s, &tr->inputs[i]->type, d);
        if (!tr->eval_args[i]) return d->status;
    }
    if (!tr->neval) return SB_OK;
    tr->eval_fn = sb_pipeline_function(tr->p, tr->g, tr->neval, tr->eval_idx, false, tr->store, d);
    return tr->eval_fn ? SB_OK : d->status;
}

static void trainer_free(trainer *tr)
{
    sb_function_free(tr->step_fn);
    sb_function_free(tr->eval_fn);
    for (int i = 0; tr->eval_args && i < tr->nin; i++) sb_array_free(tr->eval_args[i]);
    for (int i = 0; tr->eval_res && i < tr->neval; i++) sb_array_free(tr->eval_res[i]);
    sb_array_free(tr->last_loss);
    free(tr->eval_args);
    free(tr->eval_res);
    free(tr->eval_idx);
    free(tr->inputs);
    free(tr->full);
    free(tr->batched);
    free(tr->perm);
    if (tr->metrics) fclose(tr->metrics);
    sb_shared_store_free(tr->store);
}

/* ---- checkpoints -------------------------------------------------------------------------- */
/* Write every shared value as DIR/NAME.npy and DIR/state.json last (each through a temporary
 * file renamed into place, so a checkpoint directory always holds complete files). */
static sb_status checkpoint_save(const trainer *tr, sb_diag *d)
{
    const char *dir = tr->t->checkpoint;
    if (sb_make_dirs(dir, true, d)) return d->status;
    for (int i = 0; i < sb_shared_count(tr->store); i++) {
        const char *name = sb_shared_name(tr->store, i);
        char *tmp = sb_xasprintf("%s/%s.npy.tmp", dir, name), *path = sb_xasprintf("%s/%s.npy", dir, name);
        sb_status st = sb_npy_save(tmp, sb_shared_peek(tr->store, name), d);
        if (!st && rename(tmp, path))
            st = sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot write: %s", strerror(errno));
        free(tmp);
        free(path);
        if (st) return st;
    }
    char *tmp = sb_xasprintf("%s/state.json.tmp", dir), *path = sb_xasprintf("%s/state.json", dir);
    FILE *f = fopen(tmp, "w");
    sb_status st = SB_OK;
    if (!f) {
        st = sb_diag_set(d, SB_ERR_IO, tmp, 0, 0, "cannot open for writing: %s", strerror(errno));
    } else {
        int64_t e = tr->step / tr->spe;
        fprintf(f, "{\"step\": %lld, \"epoch\": %lld, \"seed\": %llu, \"rng\": \"%016llx\", "
                "\"batch_size\": %lld}\n", (long long)tr->step, (long long)e,
                (unsigned long long)tr->t->seed, (unsigned long long)epoch_rng(tr->t->seed, e),
                (long long)tr->bs);
        if (fclose(f) || rename(tmp, path))
            st = sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot write: %s", strerror(errno));
    }
    free(tmp);
    free(path);
    return st;
}

/* Restore DIR/state.json and the shared values when the checkpoint exists (else nothing). */
static sb_status checkpoint_load(trainer *tr, bool *resumed, sb_diag *d)
{
    *resumed = false;
    char *path = sb_xasprintf("%s/state.json", tr->t->checkpoint);
    if (access(path, F_OK)) {
        free(path);
        return SB_OK;
    }
    sb_json *j = sb_json_load_file(path, d);
    free(path);
    if (!j) return d->status;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(sb_json_root(j), "step");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(sb_json_root(j), "seed");
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(sb_json_root(j), "batch_size");
    sb_status st = SB_OK;
    if (!cJSON_IsNumber(step) || step->valuedouble < 0)
        st = sb_json_error(j, step ? step : sb_json_root(j), SB_ERR_VALUE, d,
                           "checkpoint: expected \"step\": a count");
    else if (cJSON_IsNumber(seed) && (uint64_t)seed->valuedouble != tr->t->seed)
        st = sb_json_error(j, seed, SB_ERR_VALUE, d, "checkpoint: seed %.0f differs from the "
                           "pipeline's seed %llu", seed->valuedouble, (unsigned long long)tr->t->seed);
    else if (cJSON_IsNumber(bs) && (int64_t)bs->valuedouble != tr->bs)
        st = sb_json_error(j, bs, SB_ERR_VALUE, d, "checkpoint: batch size %.0f differs from the "
                           "pipeline's %lld", bs->valuedouble, (long long)tr->bs);
    if (!st) tr->step = (int64_t)step->valuedouble;
    sb_json_free(j);
    for (int i = 0; i < sb_shared_count(tr->store) && !st; i++) {
        const char *name = sb_shared_name(tr->store, i);
        char *p = sb_xasprintf("%s/%s.npy", tr->t->checkpoint, name);
        sb_array *v = sb_npy_load(p, d);
        const sb_array *old = sb_shared_peek(tr->store, name);
        if (!v) st = d->status;
        else if (v->dtype != old->dtype || v->ndim != old->ndim ||
                 memcmp(v->shape, old->shape, (size_t)v->ndim * sizeof *v->shape))
            st = sb_diag_set(d, SB_ERR_VALUE, p, 0, 0, "checkpoint: '%s' has another type or "
                             "shape than the shared variable", name);
        if (!st) sb_fn_store_take(tr->store, name, v), v = NULL;
        sb_array_free(v);
        free(p);
    }
    *resumed = st == SB_OK;
    return st;
}

/* Resume from the checkpoint when it exists and `resume` is true (saying so on stderr), or,
 * with `resume` false, start over: the old state.json is removed at once, so that a run
 * interrupted before its first checkpoint cannot resume from the replaced one. */
static sb_status checkpoint_start(trainer *tr, bool *resumed, sb_diag *d)
{
    *resumed = false;
    if (!tr->t->resume) {
        char *path = sb_xasprintf("%s/state.json", tr->t->checkpoint);
        sb_status st = SB_OK;
        int rc = unlink(path);
        if (rc && errno != ENOENT)
            st = sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot remove: %s", strerror(errno));
        else if (!rc && !tr->quiet)
            fprintf(stderr, "starting over (\"resume\": false): replacing the checkpoint %s\n",
                    tr->t->checkpoint);
        free(path);
        return st;
    }
    if (checkpoint_load(tr, resumed, d)) return d->status;
    if (*resumed && !tr->quiet && tr->step >= tr->total)
        fprintf(stderr, "%s is at step %lld of %lld: nothing left to train (\"resume\": false "
                "starts over)\n", tr->t->checkpoint, (long long)tr->step, (long long)tr->total);
    else if (*resumed && !tr->quiet)
        fprintf(stderr, "resuming from %s at step %lld\n", tr->t->checkpoint, (long long)tr->step);
    return SB_OK;
}

/* ---- logging ------------------------------------------------------------------------------ */
static void fmt_duration(double s, char *buf, size_t n)
{
    if (s < 0 || !isfinite(s)) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

/* Finish a \r progress line before other output. */
static void end_line(trainer *tr)
{
    if (tr->pending) fprintf(stderr, "\n");
    tr->pending = false;
}

/* One progress line on stderr (\r-rewritten on a terminal) and one metrics record. */
static void log_progress(trainer *tr)
{
    double t = now(), dt = t - tr->t_log;
    double loss = tr->loss_n ? tr->loss_sum / (double)tr->loss_n : NAN;
    double eps = dt > 0 ? (double)tr->rows_since / dt : 0;
    double per_step = (t - tr->t_start) / (double)(tr->step - tr->step0);
    if (!tr->quiet) {
        char eta[32];
        fmt_duration(per_step * (double)(tr->total - tr->step), eta, sizeof eta);
        fprintf(stderr, "%sstep %lld/%lld  epoch %lld  loss %.5g  %.0f ex/s  ETA %s%s",
                tr->tty ? "\r" : "", (long long)tr->step, (long long)tr->total,
                (long long)((tr->step - 1) / tr->spe + 1), loss, eps, eta, tr->tty ? "   " : "\n");
        fflush(stderr);
        tr->pending = tr->tty;
    }
    if (tr->metrics)
        fprintf(tr->metrics, "{\"step\": %lld, \"epoch\": %.6g, \"loss\": %.9g, "
                "\"examples_per_s\": %.6g, \"elapsed_s\": %.6g}\n", (long long)tr->step,
                (double)tr->step / (double)tr->spe, loss, eps, t - tr->t_start);
    tr->loss_sum = 0;
    tr->loss_n = tr->rows_since = 0;
    tr->t_log = t;
}

/* A JSON number for a scalar result; null otherwise (non-scalar outputs are not logged). */
static void json_value(FILE *f, const sb_array *a)
{
    double v = sb_array_numel(a) == 1 ? sb_array_get_f64(a, 0) : NAN;
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fprintf(f, "null");
}

/* Evaluate the eval outputs on the held-out data; print and record them. */
static sb_status evaluate(trainer *tr, bool final, sb_diag *d)
{
    if (!tr->eval_fn) return SB_OK;
    const sb_array **args = sb_xcalloc((size_t)tr->nin + 1, sizeof *args);
    for (int i = 0; i < tr->nin; i++) args[i] = tr->eval_args[i] ? tr->eval_args[i] : tr->full[i];
    for (int i = 0; i < tr->neval; i++) sb_array_free(tr->eval_res[i]), tr->eval_res[i] = NULL;
    sb_status st = sb_function_call(tr->eval_fn, tr->nin, args, tr->eval_res, d);
    free(args);
    if (st) return st;
    end_line(tr);
    printf("eval step %lld%s:", (long long)tr->step, final ? " (final)" : "");
    for (int i = 0; i < tr->neval; i++) {
        const sb_array *a = tr->eval_res[i];
        const char *name = sb_graph_name(tr->g, SB_ROLE_OUTPUT, tr->eval_idx[i]);
        if (sb_array_numel(a) == 1) printf("  %s %.6g", name, sb_array_get_f64(a, 0));
        else printf("  %s [%lld values]", name, (long long)sb_array_numel(a));
    }
    printf("\n");
    fflush(stdout);
    if (tr->metrics) {
        fprintf(tr->metrics, "{\"step\": %lld, \"eval\": {", (long long)tr->step);
        for (int i = 0; i < tr->neval; i++) {
            fprintf(tr->metrics, "%s\"%s\": ", i ? ", " : "",
                    sb_graph_name(tr->g, SB_ROLE_OUTPUT, tr->eval_idx[i]));
            json_value(tr->metrics, tr->eval_res[i]);
        }
        fprintf(tr->metrics, "}, \"elapsed_s\": %.6g}\n", now() - tr->t_start);
        fflush(tr->metrics);
    }
    return SB_OK;
}

/* ---- the loop ----------------------------------------------------------------------------- */
/* One optimizer step on the minibatch of step tr->step. */
static sb_status train_step(trainer *tr, sb_diag *d)
{
    int64_t e = tr->step / tr->spe, k = tr->step % tr->spe;
    shuffle_epoch(tr, e);
    int64_t lo = k * tr->bs, m = (lo + tr->bs <= tr->nrows ? tr->bs : tr->nrows - lo);
    const sb_array **args = sb_xcalloc((size_t)tr->nin + 1, sizeof *args);
    sb_array **tmp = sb_xcalloc((size_t)tr->nin + 1, sizeof *tmp);
    for (int i = 0; i < tr->nin; i++) {
        if (tr->batched[i] && tr->bs < tr->nrows) tmp[i] = gather(tr->full[i], tr->perm + lo, m);
        args[i] = tmp[i] ? tmp[i] : tr->full[i];
    }
    sb_array *loss = NULL;
    sb_status st = sb_function_call(tr->step_fn, tr->nin, args, &loss, d);
    for (int i = 0; i < tr->nin; i++) sb_array_free(tmp[i]);
    free(tmp);
    free(args);
    if (st) return st;
    tr->loss_sum += sb_array_numel(loss) ? sb_array_get_f64(loss, 0) : NAN;
    tr->loss_n++;
    tr->rows_since += m;
    sb_array_free(tr->last_loss);
    tr->last_loss = loss;
    tr->step++;
    return SB_OK;
}

static sb_status loop(trainer *tr, sb_diag *d)
{
    int64_t log_every = tr->t->log_every > 0 ? tr->t->log_every : (tr->total + 99) / 100;
    if (log_every < 1) log_every = 1;
    tr->t_start = tr->t_log = now();
    tr->step0 = tr->step;
    while (tr->step < tr->total) {
        if (train_step(tr, d)) return d->status;
        if (tr->step % log_every == 0 || tr->step == tr->total) log_progress(tr);
        if (tr->t->eval_every > 0 && tr->step % tr->t->eval_every == 0 && tr->step < tr->total) {
            if (evaluate(tr, false, d)) return d->status;
            if (tr->t->checkpoint && checkpoint_save(tr, d)) return d->status;
        }
    }
    end_line(tr);
    return SB_OK;
}

/* ---- save targets ------------------------------------------------------------------------- */
static const sb_array *named_value(const trainer *tr, const char *name, int nbind,
                                   const sb_binding *binds)
{
    const sb_array *v = sb_shared_peek(tr->store, name);
    for (int i = 0; i < tr->neval && !v; i++)
        if (!strcmp(sb_graph_name(tr->g, SB_ROLE_OUTPUT, tr->eval_idx[i]), name)) v = tr->eval_res[i];
    if (!v && !strcmp(sb_graph_name(tr->g, SB_ROLE_OUTPUT, tr->loss), name)) v = tr->last_loss;
    return v ? v : sb_graph_find(tr->g, SB_ROLE_INPUT, name) ? sb_binding_value(nbind, binds, name) : NULL;
}

static sb_status save_all(const trainer *tr, int nbind, const sb_binding *binds, sb_diag *d)
{
    for (int i = 0; i < tr->p->nsave; i++) {
        const sb_save_spec *s = &tr->p->save[i];
        const sb_array *a = named_value(tr, s->name, nbind, binds);
        if (!a)
            return sb_json_error(tr->p->doc, s->item, SB_ERR_VALUE, d,
                                 "cannot save '%s' after training: not a shared variable, an "
                                 "input, the loss or an evaluated output", s->name);
        if (sb_pipeline_save_value(tr->p, s, a, d)) return d->status;
    }
    return SB_OK;
}

static sb_status train(trainer *tr, int nbind, const sb_binding *binds, sb_diag *d)
{
    bool resumed = false;
    if (setup_data(tr, nbind, binds, d)) return d->status;
    tr->store = sb_pipeline_store(tr->g, nbind, binds);
    if (setup_step(tr, d) || setup_eval(tr, d)) return d->status;
    if (tr->t->checkpoint && checkpoint_start(tr, &resumed, d)) return d->status;
    if (tr->t->metrics) {
        if (sb_make_dirs(tr->t->metrics, false, d)) return d->status;
        tr->metrics = fopen(tr->t->metrics, resumed ? "a" : "w");
        if (!tr->metrics)
            return sb_diag_set(d, SB_ERR_IO, tr->t->metrics, 0, 0, "cannot open for writing: %s",
                               strerror(errno));
    }
    if (loop(tr, d) || evaluate(tr, true, d)) return d->status;
    if (tr->t->checkpoint && checkpoint_save(tr, d)) return d->status;
    if (tr->last_loss && !tr->quiet && tr->t->nbatch_over)
        printf("trained %lld steps (batch %lld of %lld examples): last minibatch %s %.6g\n",
               (long long)tr->total, (long long)tr->bs, (long long)tr->nrows,
               sb_graph_name(tr->g, SB_ROLE_OUTPUT, tr->loss), sb_array_get_f64(tr->last_loss, 0));
    else if (tr->last_loss && !tr->quiet)
        printf("trained %lld steps (full batch): last %s %.6g\n", (long long)tr->total,
               sb_graph_name(tr->g, SB_ROLE_OUTPUT, tr->loss), sb_array_get_f64(tr->last_loss, 0));
    return save_all(tr, nbind, binds, d);
}

sb_status sb_train_run(const struct sb_pipeline *p, sb_graph *g, int nbind,
                       const sb_binding *binds, bool quiet, sb_diag *d)
{
    SB_ASSERT(p && g && p->train.present);
    trainer tr = {.p = p, .t = &p->train, .g = g, .quiet = quiet, .tty = isatty(2) == 1};
    sb_status st = train(&tr, nbind, binds, d);
    if (st && !d->file[0]) snprintf(d->file, sizeof d->file, "%s", p->file);
    trainer_free(&tr);
    return st;
}
