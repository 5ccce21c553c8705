/* dot.c: the drawing object (a cgraph graph in the house style) and its rendering through libgvc
 * (layout with dot; DOT, SVG, PNG, PDF out). Never shells out to the `dot` program. */
#include "viz-impl.h"
#include "json.h"

#include <graphviz/gvc.h>

/* One Graphviz context per process: creating it loads the plugin configuration (slow). */
static GVC_t *gvc_get(void)
{
    static GVC_t *gvc;
    if (!gvc) gvc = gvContext();
    return gvc;
}

void sb_viz_set(void *obj, const char *attr, const char *value)
{
    agsafeset(obj, (char *)attr, (char *)value, "");
}

sb_drawing *sb_viz_new(const char *title)
{
    sb_drawing *dr = sb_xcalloc(1, sizeof *dr);
    dr->g = agopen("symbench", Agdirected, NULL);
    sb_viz_set(dr->g, "rankdir", "TB");
    sb_viz_set(dr->g, "fontname", "Helvetica");
    sb_viz_set(dr->g, "nodesep", "0.25");
    sb_viz_set(dr->g, "ranksep", "0.35");
    if (title) {
        sb_viz_set(dr->g, "label", title);
        sb_viz_set(dr->g, "labelloc", "t");
    }
    agattr(dr->g, AGNODE, "fontname", "Helvetica");
    agattr(dr->g, AGNODE, "fontsize", "10");
    agattr(dr->g, AGNODE, "style", "filled");
    agattr(dr->g, AGEDGE, "fontname", "Helvetica");
    agattr(dr->g, AGEDGE, "fontsize", "8");
    agattr(dr->g, AGEDGE, "color", "#555555");
    return dr;
}

Agnode_t *sb_viz_node(sb_drawing *dr, const char *name, const char *label, const char *shape,
                      const char *fill, const char *style)
{
    return sb_viz_node_in(dr, dr->g, name, label, shape, fill, style);
}

Agnode_t *sb_viz_node_in(sb_drawing *dr, Agraph_t *where, const char *name, const char *label,
                         const char *shape, const char *fill, const char *style)
{
    (void)dr;
    Agnode_t *n = agnode(where, (char *)name, 1);
    if (label) sb_viz_set(n, "label", label);
    if (shape) sb_viz_set(n, "shape", shape);
    if (fill) sb_viz_set(n, "fillcolor", fill);
    if (style) {
        char buf[64];
        snprintf(buf, sizeof buf, "filled,%s", style);
        sb_viz_set(n, "style", buf);
    }
    return n;
}

Agedge_t *sb_viz_edge(sb_drawing *dr, Agnode_t *a, Agnode_t *b, const char *label)
{
    Agedge_t *e = agedge(dr->g, a, b, NULL, 1);
    if (label) sb_viz_set(e, "label", label);
    return e;
}

Agnode_t *sb_viz_cut_note(sb_drawing *dr, const char *text)
{
    dr->cut = true;
    Agnode_t *n = sb_viz_node(dr, "cut_note", text, "note", "#ffffb3", "bold");
    sb_viz_set(n, "color", "#b15928");
    sb_viz_set(n, "fontsize", "12");
    return n;
}

int sb_drawing_node_count(const sb_drawing *dr) { return agnnodes(dr->g); }
int sb_drawing_edge_count(const sb_drawing *dr) { return agnedges(dr->g); }
bool sb_drawing_cut(const sb_drawing *dr) { return dr->cut; }
int sb_drawing_added(const sb_drawing *dr) { return dr->added; }
int sb_drawing_removed(const sb_drawing *dr) { return dr->removed; }

void sb_drawing_free(sb_drawing *dr)
{
    if (!dr) return;
    agclose(dr->g);
    free(dr);
}

char *sb_drawing_dot(sb_drawing *dr)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    SB_ASSERT(f);
    agwrite(dr->g, f);
    fclose(f);
    return buf;
}

bool sb_viz_format_available(const char *format)
{
    static char **dev; /* names such as "png", "svg"; asked once, kept for the process */
    static int n = -1;
    if (n < 0) dev = gvPluginList(gvc_get(), "device", &n, NULL);
    for (int i = 0; i < n; i++)
        if (!strcmp(dev[i], format)) return true;
    return false;
}

char *sb_drawing_render(sb_drawing *dr, const char *format, size_t *len, sb_diag *d)
{
    if (!sb_viz_format_available(format)) {
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                    "Graphviz here cannot render format '%s' (try dot, svg, png or pdf)", format);
        return NULL;
    }
    GVC_t *gvc = gvc_get();
    if (agnnodes(dr->g) > SB_VIZ_LABEL_LIMIT) { /* big: bound dot's network-simplex passes */
        sb_viz_set(dr->g, "nslimit", "1");
        sb_viz_set(dr->g, "nslimit1", "1");
        sb_viz_set(dr->g, "mclimit", "0.5");
    }
    if (gvLayout(gvc, dr->g, "dot") != 0) {
        sb_diag_set(d, SB_ERR_INTERNAL, NULL, 0, 0, "Graphviz layout failed");
        return NULL;
    }
    char *data = NULL;
    unsigned int n = 0;
    int rc = gvRenderData(gvc, dr->g, format, &data, &n);
    gvFreeLayout(gvc, dr->g);
    if (rc != 0 || !data) {
        if (data) gvFreeRenderData(data);
        sb_diag_set(d, SB_ERR_INTERNAL, NULL, 0, 0, "Graphviz could not render '%s'", format);
        return NULL;
    }
    char *out = sb_xmalloc((size_t)n + 1); /* our own copy: callers free() it */
    memcpy(out, data, n);
    out[n] = 0;
    gvFreeRenderData(data);
    if (len) *len = n;
    return out;
}

/* The format for a path's extension; NULL if unknown. */
static const char *format_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return NULL;
    static const char *known[] = {"dot", "gv", "svg", "png", "pdf", "ps", "jpg", "json"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(dot + 1, known[i])) return known[i];
    return NULL;
}

sb_status sb_drawing_write(sb_drawing *dr, const char *path, const char *format, sb_diag *d)
{
    if (!format) format = format_of(path);
    if (!format)
        return sb_diag_set(d, SB_ERR_VALUE, path, 0, 0,
                           "cannot tell the drawing format from the file name (use .dot, .svg, "
                           ".png or .pdf)");
    char *data;
    size_t n;
    if (!strcmp(format, "dot") || !strcmp(format, "gv")) { /* structure only: no layout needed */
        data = sb_drawing_dot(dr);
        n = strlen(data);
    } else if (!(data = sb_drawing_render(dr, format, &n, d))) {
        return d ? d->status : SB_ERR_INTERNAL;
    }
    sb_status st = sb_write_file(path, data, n, d);
    free(data);
    return st;
}

char *sb_viz_html_escape(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++) n += (*p == '&') ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '"') ? 6 : 1;
    char *out = sb_xmalloc(n), *o = out;
    for (const char *p = s; *p; p++) {
        const char *r = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;" : NULL;
        if (r) o = stpcpy(o, r);
        else *o++ = *p;
    }
    *o = 0;
    return out;
}
