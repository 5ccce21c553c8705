/* shared.c: persistent storage of shared variables (sb_shared_store): name -> owned sb_array.
 *
 * A store is a small ordered map (linear search: graphs have a few dozen shared variables at
 * most). Values are copied in and out through the public API; compiled functions swap whole
 * arrays in through sb_fn_store_take so an update costs no copy. */
#include "function.h"
#include "pipeline.h"

struct sb_shared_store {
    int n, cap;
    char **names;
    sb_array **vals;
};

sb_shared_store *sb_shared_store_new(void)
{
    return sb_xcalloc(1, sizeof(sb_shared_store));
}

void sb_shared_store_free(sb_shared_store *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->names[i]);
        sb_array_free(s->vals[i]);
    }
    free(s->names);
    free(s->vals);
    free(s);
}

/* Position of name in s, or -1. */
static int find(const sb_shared_store *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return i;
    return -1;
}

void sb_fn_store_take(sb_shared_store *s, const char *name, sb_array *v)
{
    int i = find(s, name);
    if (i >= 0) {
        sb_array_free(s->vals[i]);
        s->vals[i] = v;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->names = sb_xrealloc(s->names, (size_t)s->cap * sizeof *s->names);
        s->vals = sb_xrealloc(s->vals, (size_t)s->cap * sizeof *s->vals);
    }
    s->names[s->n] = sb_xstrdup(name);
    s->vals[s->n++] = v;
}

void sb_shared_set_value(sb_shared_store *s, const char *name, const sb_array *v)
{
    SB_ASSERT(s && name && v);
    sb_fn_store_take(s, name, sb_array_copy(v));
}

sb_array *sb_shared_get_value(const sb_shared_store *s, const char *name)
{
    const sb_array *v = sb_shared_peek(s, name);
    return v ? sb_array_copy(v) : NULL;
}

const sb_array *sb_shared_peek(const sb_shared_store *s, const char *name)
{
    int i = s ? find(s, name) : -1;
    return i >= 0 ? s->vals[i] : NULL;
}

int sb_shared_count(const sb_shared_store *s) { return s ? s->n : 0; }

const char *sb_shared_name(const sb_shared_store *s, int i)
{
    SB_ASSERT(s && i >= 0 && i < s->n);
    return s->names[i];
}

sb_status sb_fn_store_load(sb_shared_store *s, const sb_pipeline *p, const sb_graph *g,
                           sb_diag *d)
{
    for (int i = 0; i < sb_graph_count(g, SB_ROLE_SHARED); i++) {
        const char *name = sb_graph_name(g, SB_ROLE_SHARED, i);
        const sb_data_spec *spec = sb_pipeline_data(p, name);
        if (!spec) {
            const cJSON *root = sb_json_root(p->doc);
            const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "data");
            return sb_json_error(p->doc, at ? at : root, SB_ERR_VALUE, d,
                                 "no data for shared variable '%s'", name);
        }
        sb_array *v = sb_pipeline_data_load(p, spec, sb_node_type(sb_graph_node(g, SB_ROLE_SHARED, i)), d);
        if (!v) return d->status;
        sb_fn_store_take(s, name, v);
    }
    return SB_OK;
}
