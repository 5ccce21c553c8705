/* pipeline.c: loading and checking a pipeline JSON file (see pipeline.h, docs/formats.md).
 *
 * Every key is checked for its JSON type when the file is loaded, so a typo fails before any work
 * starts, at its line:col. Paths are resolved against the pipeline file's directory. Data is only
 * read when sb_pipeline_data_load is asked for it (the graph's declared types drive conversion). */
#include "pipeline.h"
#include "core-impl.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>

/* ---- small checks ------------------------------------------------------------------------- */
static sb_status check_keys(const sb_json *j, const cJSON *obj, const char *const *allowed,
                            const char *what, sb_diag *d)
{
    return sb_json_check_keys(j, obj, allowed, NULL, what, d);
}

/* Only keys from allowed (NULL-terminated) in obj; "type" too when `typed` (a data spec inside a
 * graph's shared-variable declaration). */
static sb_status check_keys_typed(const sb_json *j, const cJSON *obj, const char *const *allowed,
                                  const char *what, bool typed, sb_diag *d)
{
    return sb_json_check_keys(j, obj, allowed, typed ? "type" : NULL, what, d);
}

static sb_status want(const sb_json *j, const cJSON *c, bool ok, const char *what, sb_diag *d)
{
    if (ok) return SB_OK;
    return sb_json_error(j, c, SB_ERR_SYNTAX, d, "'%s' must be %s", c->string ? c->string : "value",
                         what);
}

static sb_status get_count(const sb_json *j, const cJSON *c, int64_t *v, sb_diag *d)
{
    bool ok = cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 9e15 &&
              c->valuedouble == floor(c->valuedouble);
    if (want(j, c, ok, "a non-negative integer", d) != SB_OK) return d->status;
    *v = (int64_t)c->valuedouble;
    return SB_OK;
}

static sb_status get_double(const sb_json *j, const cJSON *c, double *v, sb_diag *d)
{
    if (want(j, c, cJSON_IsNumber(c), "a number", d) != SB_OK) return d->status;
    *v = c->valuedouble;
    return SB_OK;
}

static sb_status get_path(const sb_pipeline *p, const cJSON *c, char **out, sb_diag *d)
{
    if (want(p->doc, c, cJSON_IsString(c) && c->valuestring[0], "a path (a string)", d))
        return d->status;
    free(*out);
    *out = sb_pipeline_path(p, c->valuestring);
    return SB_OK;
}

/* A list of strings into a fresh array of copies. */
static sb_status get_names(const sb_json *j, const cJSON *c, char ***out, int *n, sb_diag *d)
{
    bool ok = cJSON_IsArray(c);
    for (const cJSON *e = ok ? c->child : NULL; e; e = e->next) ok &= cJSON_IsString(e);
    if (want(j, c, ok, "a list of names", d) != SB_OK) return d->status;
    *n = cJSON_GetArraySize(c);
    *out = sb_xcalloc((size_t)(*n ? *n : 1), sizeof **out);
    int k = 0;
    for (const cJSON *e = c->child; e; e = e->next) (*out)[k++] = sb_xstrdup(e->valuestring);
    return SB_OK;
}

char *sb_pipeline_path(const sb_pipeline *p, const char *rel)
{
    if (rel[0] == '/' || !strcmp(p->dir, ".")) return sb_xstrdup(rel);
    return sb_xasprintf("%s/%s", p->dir, rel);
}

sb_status sb_make_dirs(const char *path, bool whole, sb_diag *d)
{
    char *buf = sb_xasprintf("%s%s", path, whole ? "/" : "");
    for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST) {
            sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot create directory '%s': %s", buf,
                        strerror(errno));
            free(buf);
            return SB_ERR_IO;
        }
        *s = '/';
    }
    free(buf);
    return SB_OK;
}

sb_status sb_pipeline_save_value(const sb_pipeline *p, const sb_save_spec *s, const sb_array *a,
                                 sb_diag *d)
{
    sb_diag tmp = {0};
    if (sb_make_dirs(s->path, false, &tmp) || sb_npy_save(s->path, a, &tmp))
        return sb_json_error(p->doc, s->item, tmp.status, d, "%s: %s", tmp.file, tmp.msg);
    printf("saved %s -> %s\n", s->name, s->path);
    return SB_OK;
}

/* ---- data specs --------------------------------------------------------------------------- */
static const char *const data_kinds[] = {"npy", "idx", "init", "random"};

/* The settings of an "init" / "random" spec (seed, mean, std, low, high, value). */
static sb_status init_settings(const sb_json *j, const cJSON *o, sb_data_spec *s, sb_diag *d)
{
    s->init.std = 1.0;
    s->init.high = 1.0;
    for (const cJSON *c = o->child; c; c = c->next) {
        const char *k = c->string;
        int64_t seed = 0;
        sb_status st = SB_OK;
        if (!strcmp(k, "seed")) {
            st = get_count(j, c, &seed, d);
            s->init.seed = (uint64_t)seed;
        } else if (!strcmp(k, "mean")) st = get_double(j, c, &s->init.mean, d);
        else if (!strcmp(k, "std")) st = get_double(j, c, &s->init.std, d);
        else if (!strcmp(k, "low")) st = get_double(j, c, &s->init.low, d);
        else if (!strcmp(k, "high")) st = get_double(j, c, &s->init.high, d);
        else if (!strcmp(k, "value")) st = get_double(j, c, &s->init.value, d);
        if (st != SB_OK) return st;
    }
    return SB_OK;
}

/* {"random": "normal"|"uniform", "shape": [...], ...}. */
static sb_status random_spec(const sb_json *j, const cJSON *o, sb_data_spec *s, sb_diag *d)
{
    static const char *const keys[] = {"random", "shape", "seed", "mean", "std", "low", "high",
                                       NULL};
    if (check_keys(j, o, keys, "random data", d) != SB_OK) return d->status;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "random");
    bool ok = cJSON_IsString(k) &&
              (!strcmp(k->valuestring, "normal") || !strcmp(k->valuestring, "uniform"));
    if (want(j, k, ok, "\"normal\" or \"uniform\"", d) != SB_OK) return d->status;
    s->init.kind = k->valuestring;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    if (sh) {
        bool good = cJSON_IsArray(sh) && cJSON_GetArraySize(sh) <= SB_MAX_DIMS;
        if (want(j, sh, good, "a list of sizes", d) != SB_OK) return d->status;
        s->nshape = 0;
        for (const cJSON *e = sh->child; e; e = e->next)
            if (get_count(j, e, &s->shape[s->nshape++], d) != SB_OK) return d->status;
    }
    return init_settings(j, o, s, d);
}

/* One entry of "data": a string (an .npy path) or an object with one of npy/idx/init/random. */
static sb_status data_spec(const sb_pipeline *p, const cJSON *c, sb_data_spec *s, bool typed,
                           sb_diag *d)
{
    const sb_json *j = p->doc;
    s->name = sb_xstrdup(c->string);
    s->item = c;
    s->doc = p->doc;
    s->scale = 1.0;
    s->nshape = -1;
    if (cJSON_IsString(c)) {
        s->kind = SB_DATA_NPY;
        return get_path(p, c, &s->path, d);
    }
    if (want(j, c, cJSON_IsObject(c), "an .npy path or an object with \"npy\", \"idx\", \"init\" "
             "or \"random\"", d) != SB_OK)
        return d->status;
    int kind = 0;
    while (kind < SB_DATA_KIND_COUNT && !cJSON_GetObjectItemCaseSensitive(c, data_kinds[kind]))
        kind++;
    if (kind == SB_DATA_KIND_COUNT)
        return sb_json_error(j, c, SB_ERR_SYNTAX, d, "data for '%s' needs one of \"npy\", \"idx\", "
                             "\"init\" or \"random\"", c->string);
    s->kind = (sb_data_kind)kind;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, data_kinds[kind]);
    if (kind == SB_DATA_RANDOM) return random_spec(j, c, s, d);
    if (kind == SB_DATA_INIT) {
        static const char *const keys[] = {"init", "seed", "mean", "std", "low", "high", "value",
                                           NULL};
        if (check_keys_typed(j, c, keys, "init data", typed, d) != SB_OK) return d->status;
        if (want(j, v, cJSON_IsString(v), "an initializer name", d) != SB_OK) return d->status;
        s->init.kind = v->valuestring;
        return init_settings(j, c, s, d);
    }
    static const char *const npy_keys[] = {"npy", "limit", NULL};
    static const char *const idx_keys[] = {"idx", "scale", "limit", NULL};
    if (check_keys_typed(j, c, kind == SB_DATA_NPY ? npy_keys : idx_keys,
                         kind == SB_DATA_NPY ? "npy data" : "idx data", typed, d) != SB_OK ||
        get_path(p, v, &s->path, d) != SB_OK)
        return d->status;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c, "scale");
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(c, "limit");
    if (sc && get_double(j, sc, &s->scale, d) != SB_OK) return d->status;
    s->has_scale = sc != NULL;
    if (lim && get_count(j, lim, &s->limit, d) != SB_OK) return d->status;
    return SB_OK;
}

static sb_status data_specs(const sb_pipeline *p, const cJSON *o, sb_data_spec **out, int *n,
                            sb_diag *d)
{
    if (want(p->doc, o, cJSON_IsObject(o), "an object", d) != SB_OK) return d->status;
    *n = cJSON_GetArraySize(o);
    *out = sb_xcalloc((size_t)(*n ? *n : 1), sizeof **out);
    int k = 0;
    for (const cJSON *c = o->child; c; c = c->next)
        if (data_spec(p, c, &(*out)[k++], false, d) != SB_OK) return d->status;
    return SB_OK;
}

static void free_specs(sb_data_spec *s, int n)
{
    for (int i = 0; i < n; i++) {
        free(s[i].name);
        free(s[i].path);
    }
    free(s);
}

/* ---- train, viz, save --------------------------------------------------------------------- */
static sb_status train_eval(sb_pipeline *p, const cJSON *o, sb_diag *d)
{
    static const char *const keys[] = {"outputs", "data", NULL};
    sb_train_spec *t = &p->train;
    if (want(p->doc, o, cJSON_IsObject(o), "an object {\"outputs\": [...], \"data\": {...}}", d) ||
        check_keys(p->doc, o, keys, "train.eval", d))
        return d->status;
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(o, "outputs");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    if (outs && get_names(p->doc, outs, &t->eval_outputs, &t->neval_outputs, d)) return d->status;
    if (data && data_specs(p, data, &t->eval_data, &t->neval_data, d)) return d->status;
    return SB_OK;
}

/* "loss": an output's name (checked against the graph when it is loaded); "resume": a bool. */
static sb_status train_choice(sb_pipeline *p, const cJSON *c, sb_diag *d)
{
    sb_train_spec *t = &p->train;
    if (!strcmp(c->string, "resume")) {
        if (want(p->doc, c, cJSON_IsBool(c), "true or false", d)) return d->status;
        t->resume = cJSON_IsTrue(c);
        return SB_OK;
    }
    if (want(p->doc, c, cJSON_IsString(c) && c->valuestring[0], "the name of an output", d))
        return d->status;
    free(t->loss);
    t->loss = sb_xstrdup(c->valuestring);
    t->loss_item = c;
    return SB_OK;
}

static sb_status train_spec(sb_pipeline *p, const cJSON *o, sb_diag *d)
{
    static const char *const keys[] = {"steps", "epochs", "batch_size", "batch_over", "log_every",
                                       "eval_every", "eval", "seed", "metrics", "checkpoint",
                                       "loss", "resume", NULL};
    sb_train_spec *t = &p->train;
    if (want(p->doc, o, cJSON_IsObject(o), "an object", d) ||
        check_keys(p->doc, o, keys, "train", d))
        return d->status;
    t->present = true;
    t->json = o;
    for (const cJSON *c = o->child; c; c = c->next) {
        const char *k = c->string;
        int64_t seed = 0;
        sb_status st = SB_OK;
        if (!strcmp(k, "steps")) st = get_count(p->doc, c, &t->steps, d);
        else if (!strcmp(k, "epochs")) st = get_count(p->doc, c, &t->epochs, d);
        else if (!strcmp(k, "batch_size")) st = get_count(p->doc, c, &t->batch_size, d);
        else if (!strcmp(k, "log_every")) st = get_count(p->doc, c, &t->log_every, d);
        else if (!strcmp(k, "eval_every")) st = get_count(p->doc, c, &t->eval_every, d);
        else if (!strcmp(k, "seed")) st = get_count(p->doc, c, &seed, d), t->seed = (uint64_t)seed;
        else if (!strcmp(k, "batch_over"))
            st = get_names(p->doc, c, &t->batch_over, &t->nbatch_over, d);
        else if (!strcmp(k, "eval")) st = train_eval(p, c, d);
        else if (!strcmp(k, "metrics")) st = get_path(p, c, &t->metrics, d);
        else if (!strcmp(k, "checkpoint")) st = get_path(p, c, &t->checkpoint, d);
        else st = train_choice(p, c, d); /* loss, resume */
        if (st != SB_OK) return st;
    }
    const cJSON *resume = cJSON_GetObjectItemCaseSensitive(o, "resume");
    if (resume && !t->checkpoint)
        return sb_json_error(p->doc, resume, SB_ERR_VALUE, d, "'resume' needs a 'checkpoint' "
                             "(the directory a run resumes from)");
    return SB_OK;
}

static sb_status viz_spec(sb_pipeline *p, const cJSON *o, sb_diag *d)
{
    static const char *const keys[] = {"dir", "format", "stages", NULL};
    if (want(p->doc, o, cJSON_IsObject(o), "an object", d) ||
        check_keys(p->doc, o, keys, "viz", d))
        return d->status;
    p->viz = o;
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(o, "dir");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "format");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stages");
    if (dir && get_path(p, dir, &p->viz_dir, d)) return d->status;
    if (fmt) {
        bool ok = cJSON_IsString(fmt) &&
                  (!strcmp(fmt->valuestring, "svg") || !strcmp(fmt->valuestring, "png") ||
                   !strcmp(fmt->valuestring, "dot") || !strcmp(fmt->valuestring, "pdf"));
        if (want(p->doc, fmt, ok, "\"svg\", \"png\", \"dot\" or \"pdf\"", d)) return d->status;
    }
    p->viz_format = sb_xstrdup(fmt ? fmt->valuestring : "svg");
    if (st) {
        bool ok = cJSON_IsString(st) || cJSON_IsArray(st);
        if (want(p->doc, st, ok, "\"all\", \"changed\" or a list of pass names", d))
            return d->status;
        p->viz_stages = st;
    }
    return SB_OK;
}

static sb_status save_spec(sb_pipeline *p, const cJSON *o, sb_diag *d)
{
    if (want(p->doc, o, cJSON_IsObject(o), "an object {name: path}", d)) return d->status;
    p->save = sb_xcalloc((size_t)cJSON_GetArraySize(o) + 1, sizeof *p->save);
    for (const cJSON *c = o->child; c; c = c->next) {
        sb_save_spec *s = &p->save[p->nsave++];
        s->name = sb_xstrdup(c->string);
        s->item = c;
        if (get_path(p, c, &s->path, d)) return d->status;
    }
    return SB_OK;
}

static sb_status backend_spec(sb_pipeline *p, const cJSON *c, sb_diag *d)
{
    if (want(p->doc, c, cJSON_IsString(c), "a backend name (\"cpu\" or \"cuda\")", d))
        return d->status;
    if (!strcmp(c->valuestring, "cuda")) {
#ifndef SB_HAVE_CUDA
        return sb_json_error(p->doc, c, SB_ERR_UNSUPPORTED, d,
                             "backend 'cuda' is not available in this build");
#endif
    } else if (strcmp(c->valuestring, "cpu")) {
        return sb_json_error(p->doc, c, SB_ERR_VALUE, d,
                             "unknown backend '%s' (expected cpu or cuda)", c->valuestring);
    }
    free(p->backend);
    p->backend = sb_xstrdup(c->valuestring);
    return SB_OK;
}

/* ---- the top level ------------------------------------------------------------------------ */
static sb_status top_key(sb_pipeline *p, const cJSON *c, sb_diag *d)
{
    const char *k = c->string;
    const sb_json *j = p->doc;
    if (!strcmp(k, "graph")) {
        p->graph_item = c;
        if (cJSON_IsObject(c)) {
            p->graph_inline = c;
            return SB_OK;
        }
        if (want(j, c, cJSON_IsString(c), "a graph file path or an inline graph object", d))
            return d->status;
        return get_path(p, c, &p->graph_path, d);
    }
    if (!strcmp(k, "data")) return data_specs(p, c, &p->data, &p->ndata, d);
    if (!strcmp(k, "passes")) {
        if (want(j, c, cJSON_IsArray(c), "a list of passes", d)) return d->status;
        p->passes = c;
        return SB_OK;
    }
    if (!strcmp(k, "backend")) return backend_spec(p, c, d);
    if (!strcmp(k, "train")) return train_spec(p, c, d);
    if (!strcmp(k, "viz")) return viz_spec(p, c, d);
    if (!strcmp(k, "trace")) return get_path(p, c, &p->trace, d);
    if (!strcmp(k, "report")) return get_path(p, c, &p->report, d);
    if (!strcmp(k, "save")) return save_spec(p, c, d);
    if (!strcmp(k, "plugins")) {
        bool ok = cJSON_IsArray(c);
        for (const cJSON *e = ok ? c->child : NULL; e; e = e->next) ok &= cJSON_IsString(e);
        if (want(j, c, ok, "a list of plugin paths", d)) return d->status;
        p->plugins = c;
        return SB_OK;
    }
    return want(j, c, cJSON_IsString(c), "a string", d); /* doc, name */
}

sb_pipeline *sb_pipeline_load(const char *path, sb_diag *d)
{
    static const char *const keys[] = {"graph", "data", "passes", "backend", "train", "viz",
                                       "trace", "report", "save", "plugins", "doc", "name", NULL};
    sb_diag local = {0};
    if (!d) d = &local; /* the checks read d->status */
    sb_json *j = sb_json_load_file(path, d);
    if (!j) return NULL;
    sb_pipeline *p = sb_xcalloc(1, sizeof *p);
    p->doc = j;
    p->file = sb_xstrdup(path);
    const char *slash = strrchr(path, '/');
    p->dir = slash ? sb_xasprintf("%.*s", (int)(slash - path) + (slash == path), path)
                   : sb_xstrdup(".");
    p->backend = sb_xstrdup("cpu");
    p->train.resume = true;
    const cJSON *root = sb_json_root(j);
    sb_status st = SB_OK;
    if (!cJSON_IsObject(root))
        st = sb_json_error(j, root, SB_ERR_SYNTAX, d, "a pipeline must be a JSON object");
    else
        st = check_keys(j, root, keys, "pipeline", d);
    for (const cJSON *c = st == SB_OK ? root->child : NULL; c && st == SB_OK; c = c->next)
        st = top_key(p, c, d);
    if (st == SB_OK && !p->graph_item)
        st = sb_json_error(j, root, SB_ERR_SYNTAX, d, "pipeline has no 'graph'");
    if (st != SB_OK) {
        sb_pipeline_free(p);
        return NULL;
    }
    return p;
}

void sb_pipeline_free(sb_pipeline *p)
{
    if (!p) return;
    free_specs(p->data, p->ndata);
    sb_train_spec *t = &p->train;
    for (int i = 0; i < t->nbatch_over; i++) free(t->batch_over[i]);
    for (int i = 0; i < t->neval_outputs; i++) free(t->eval_outputs[i]);
    free(t->batch_over);
    free(t->eval_outputs);
    free_specs(t->eval_data, t->neval_data);
    free(t->metrics);
    free(t->checkpoint);
    free(t->loss);
    for (int i = 0; i < p->nsave; i++) {
        free(p->save[i].name);
        free(p->save[i].path);
    }
    free(p->save);
    free(p->graph_path);
    free(p->backend);
    free(p->viz_dir);
    free(p->viz_format);
    free(p->trace);
    free(p->report);
    free(p->file);
    free(p->dir);
    sb_json_free(p->doc);
    sb_json_free(p->graph_doc);
    free(p);
}

/* ---- using it ----------------------------------------------------------------------------- */
/* Re-point an error of a file reader / converter at item of document j. */
static void wrap_error(const sb_json *j, const cJSON *item, const sb_diag *tmp, sb_diag *d)
{
    if (tmp->file[0] && tmp->line > 0) { /* already positioned (inside the graph file) */
        if (d && d->status == SB_OK) *d = *tmp;
        return;
    }
    if (tmp->file[0])
        sb_json_error(j, item, tmp->status, d, "%s: %s", tmp->file, tmp->msg);
    else
        sb_json_error(j, item, tmp->status, d, "%s", tmp->msg);
}

/* The data spec in a graph's shared-variable object: the same keys as a pipeline data spec,
 * plus "type"; parsed through a view of p whose document and directory are the graph file's. */
static sb_status graph_spec(const sb_pipeline *p, const sb_json *gdoc, const char *gdir,
                            const cJSON *c, sb_data_spec *s, sb_diag *d)
{
    sb_pipeline view = *p;
    view.doc = (sb_json *)gdoc;
    view.dir = (char *)gdir;
    return data_spec(&view, c, s, true, d);
}

/* Add data specs for shared variables whose graph declaration carries an initial value and
 * which the pipeline's `data` does not name. */
static sb_status add_graph_data(sb_pipeline *p, const sb_json *gdoc, const cJSON *groot,
                                const char *gdir, sb_diag *d)
{
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(groot, "shared");
    if (p->graph_data_added || !cJSON_IsObject(sh)) return SB_OK;
    p->graph_data_added = true;
    for (const cJSON *c = sh->child; c; c = c->next) {
        if (!cJSON_IsObject(c) || sb_pipeline_data(p, c->string)) continue;
        sb_data_spec s = {0};
        if (!c->child->next && !strcmp(c->child->string, "type")) continue; /* type only */
        if (graph_spec(p, gdoc, gdir, c, &s, d) != SB_OK) {
            free(s.name);
            free(s.path);
            return d->status;
        }
        p->data = sb_xrealloc(p->data, (size_t)(p->ndata + 1) * sizeof *p->data);
        p->data[p->ndata++] = s;
    }
    return SB_OK;
}

int sb_pipeline_output(const sb_graph *g, const char *name)
{
    for (int i = 0; i < sb_graph_count(g, SB_ROLE_OUTPUT); i++)
        if (!strcmp(sb_graph_name(g, SB_ROLE_OUTPUT, i), name)) return i;
    return -1;
}

static bool output_is_scalar(const sb_graph *g, int i)
{
    return i >= 0 && sb_graph_node(g, SB_ROLE_OUTPUT, i)->type.ndim == 0;
}

/* train.loss must name a scalar output of g. */
static sb_status check_loss(const sb_pipeline *p, const sb_graph *g, sb_diag *d)
{
    const sb_train_spec *t = &p->train;
    if (!t->loss) return SB_OK;
    int k = sb_pipeline_output(g, t->loss);
    if (k < 0)
        return sb_json_error(p->doc, t->loss_item, SB_ERR_VALUE, d,
                             "train.loss: '%s' is not an output of the graph", t->loss);
    if (output_is_scalar(g, k)) return SB_OK;
    char buf[96];
    return sb_json_error(p->doc, t->loss_item, SB_ERR_TYPE, d, "train.loss: '%s' is %s, not a "
                         "scalar", t->loss,
                         sb_type_str(&sb_graph_node(g, SB_ROLE_OUTPUT, k)->type, buf, sizeof buf));
}

int sb_pipeline_loss(const sb_pipeline *p, const sb_graph *g)
{
    if (p->train.loss) return sb_pipeline_output(g, p->train.loss);
    int k = sb_pipeline_output(g, "loss");
    if (output_is_scalar(g, k)) return k;
    k = sb_pipeline_output(g, "cost");
    if (output_is_scalar(g, k)) return k;
    for (k = 0; k < sb_graph_count(g, SB_ROLE_OUTPUT); k++)
        if (output_is_scalar(g, k)) return k;
    return -1;
}

sb_graph *sb_pipeline_load_graph(sb_pipeline *p, sb_ctx *ctx, sb_diag *d)
{
    sb_diag local = {0};
    if (!d) d = &local;
    const sb_json *gdoc = p->doc;
    const cJSON *groot = p->graph_inline;
    char *gdir = NULL;
    if (!groot) {
        if (!p->graph_doc) {
            sb_diag tmp = {0};
            char *text = sb_read_file(p->graph_path, NULL, &tmp);
            if (!text) {
                wrap_error(p->doc, p->graph_item, &tmp, d);
                return NULL;
            }
            p->graph_doc = sb_json_parse(text, p->graph_path, d);
            free(text);
            if (!p->graph_doc) return NULL;
        }
        gdoc = p->graph_doc;
        groot = sb_json_root(gdoc);
        const char *slash = strrchr(p->graph_path, '/');
        gdir = slash ? sb_xasprintf("%.*s", (int)(slash - p->graph_path) + (slash == p->graph_path),
                                    p->graph_path)
                     : sb_xstrdup(".");
    }
    sb_graph *g = sb_graph_load_doc(ctx, gdoc, groot, d);
    if (g && (add_graph_data(p, gdoc, groot, gdir ? gdir : p->dir, d) || check_loss(p, g, d))) {
        sb_graph_free(g);
        g = NULL;
    }
    free(gdir);
    return g;
}

const sb_data_spec *sb_pipeline_data(const sb_pipeline *p, const char *name)
{
    for (int i = 0; i < p->ndata; i++)
        if (!strcmp(p->data[i].name, name)) return &p->data[i];
    return NULL;
}

/* The first `limit` entries along axis 0 of a (a itself when limit is 0 or not smaller). */
static sb_array *first_rows(sb_array *a, int64_t limit)
{
    if (!limit || a->ndim == 0 || limit >= a->shape[0]) return a;
    int64_t shape[SB_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[0] = limit;
    sb_array *r = sb_array_new(a->dtype, a->ndim, shape);
    memcpy(r->data, a->data, (size_t)sb_array_numel(r) * sb_dtype_size(a->dtype));
    sb_array_free(a);
    return r;
}

/* Values from an .npy / IDX file, fitted to t. */
static sb_array *file_data(const sb_pipeline *p, const sb_data_spec *s, const sb_type *t,
                           sb_diag *tmp)
{
    sb_array *raw = s->kind == SB_DATA_NPY ? sb_npy_load(s->path, tmp) : sb_idx_load(s->path, tmp);
    if (!raw) return NULL;
    raw = first_rows(raw, s->limit);
    sb_array *a = sb_array_conform(raw, t, s->has_scale ? s->scale : 1.0, s->name, tmp);
    sb_array_free(raw);
    return a;
}

sb_array *sb_pipeline_data_load(const sb_pipeline *p, const sb_data_spec *s, const sb_type *t,
                                sb_diag *d)
{
    sb_diag tmp = {0};
    sb_array *a = NULL;
    if (s->kind == SB_DATA_NPY || s->kind == SB_DATA_IDX) {
        a = file_data(p, s, t, &tmp);
    } else if (s->kind == SB_DATA_INIT || s->nshape < 0) {
        a = sb_array_init(&s->init, t->dtype, t->ndim, t->dims, &tmp);
    } else {
        sb_type rt = sb_type_make(t->dtype, s->nshape, s->shape);
        bool ok = rt.ndim == t->ndim;
        for (int k = 0; ok && k < t->ndim; k++) ok = t->dims[k] < 0 || t->dims[k] == rt.dims[k];
        char a1[96], a2[96];
        if (!ok)
            sb_diag_set(&tmp, SB_ERR_TYPE, NULL, 0, 0, "%s: random shape %s does not fit the "
                        "declared %s", s->name, sb_type_str(&rt, a1, sizeof a1),
                        sb_type_str(t, a2, sizeof a2));
        else
            a = sb_array_init(&s->init, t->dtype, rt.ndim, rt.dims, &tmp);
    }
    if (!a) wrap_error(s->doc ? s->doc : p->doc, s->item, &tmp, d);
    return a;
}
