/* report.c: the HTML report of a run: the stages in order (pass, time, node counts, the drawing
 * as inline SVG), the rule table, the extraction cost before and after, a summary of the outputs,
 * for training runs the loss curve as an inline SVG polyline, and with `--profile` the per-op
 * profile (time per op type and per node, memory). One self-contained file: no scripts, no links
 * to anything outside it. */
#include "viz-impl.h"

#include <errno.h>
#include <math.h>

typedef struct report_stage {
    char *pass, *svg;
    double seconds;
    int before, after;
} report_stage;

typedef struct report_rule {
    char *name;
    long matches, applied;
    double seconds;
} report_rule;

typedef struct report_output {
    char *name, *summary;
} report_output;

struct sb_report {
    char *title;
    report_stage *stage;
    int nstage, capstage;
    report_rule *rule;
    int nrule, caprule;
    report_output *out;
    int nout, capout;
    double (*loss)[2];
    int nloss, caploss;
    bool have_cost;
    double cost_before, cost_after;
    char *profile;       /* the profile section's HTML, or NULL */
};

/* Grow a vector of elements of size sz to hold one more. */
static void *grow(void *v, int n, int *cap, size_t sz)
{
    if (n < *cap) return v;
    *cap = *cap ? 2 * *cap : 8;
    return sb_xrealloc(v, sz * (size_t)*cap);
}

sb_report *sb_report_new(const char *title)
{
    sb_report *r = sb_xcalloc(1, sizeof *r);
    r->title = sb_xstrdup(title ? title : "symbench run");
    return r;
}

void sb_report_free(sb_report *r)
{
    if (!r) return;
    for (int i = 0; i < r->nstage; i++) free(r->stage[i].pass), free(r->stage[i].svg);
    for (int i = 0; i < r->nrule; i++) free(r->rule[i].name);
    for (int i = 0; i < r->nout; i++) free(r->out[i].name), free(r->out[i].summary);
    free(r->stage), free(r->rule), free(r->out), free(r->loss), free(r->title);
    free(r->profile);
    free(r);
}

/* svg from its <svg element on (the XML prolog and DOCTYPE dropped), with every id="..." made
 * unique in the page by a "s<stage>-" prefix (Graphviz names each drawing's parts alike). */
static char *inline_svg(const char *svg, int stage)
{
    const char *s = svg ? strstr(svg, "<svg") : NULL;
    if (!s) return NULL;
    char pre[24];
    int np = snprintf(pre, sizeof pre, " id=\"s%d-", stage);
    size_t n = 1;
    for (const char *p = s; (p = strstr(p, " id=\"")); p += 5) n += (size_t)np;
    char *out = sb_xmalloc(strlen(s) + n), *o = out;
    for (const char *p = s, *q; ; p = q + 5) {
        q = strstr(p, " id=\"");
        size_t k = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, k), o += k;
        if (!q) break;
        memcpy(o, pre, (size_t)np), o += np;
    }
    *o = 0;
    return out;
}

void sb_report_add_stage(sb_report *r, const char *pass, double seconds, int nodes_before,
                         int nodes_after, const char *svg)
{
    r->stage = grow(r->stage, r->nstage, &r->capstage, sizeof *r->stage);
    r->stage[r->nstage] = (report_stage){sb_xstrdup(pass), inline_svg(svg, r->nstage), seconds,
                                         nodes_before, nodes_after};
    r->nstage++;
}

void sb_report_add_stage_graph(sb_report *r, const char *pass, double seconds, int nodes_before,
                               const sb_graph *g)
{
    sb_node **order = NULL;
    int n = sb_graph_toposort(g, &order);
    free(order);
    sb_drawing *dr = sb_viz_graph(g, NULL);
    char *svg = sb_drawing_render(dr, "svg", NULL, NULL);
    sb_report_add_stage(r, pass, seconds, nodes_before, n, svg);
    free(svg);
    sb_drawing_free(dr);
}

void sb_report_add_rule(sb_report *r, const char *rule, long matches, long applied, double seconds)
{
    r->rule = grow(r->rule, r->nrule, &r->caprule, sizeof *r->rule);
    r->rule[r->nrule++] = (report_rule){sb_xstrdup(rule), matches, applied, seconds};
}

void sb_report_set_cost(sb_report *r, double before, double after)
{
    r->have_cost = true;
    r->cost_before = before;
    r->cost_after = after;
}

/* "float32 (10, 3): min -1 mean 0.2 max 3; first 1, 2, 3, ..." */
static char *array_summary(const sb_array *a)
{
    char shape[200];
    size_t k = (size_t)snprintf(shape, sizeof shape, "(");
    for (int i = 0; i < a->ndim && k < sizeof shape; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, i ? ", %lld" : "%lld", (long long)a->shape[i]);
    if (k < sizeof shape) snprintf(shape + k, sizeof shape - k, a->ndim == 1 ? ",)" : ")");
    int64_t n = sb_array_numel(a);
    if (n == 0) return sb_xasprintf("%s %s: empty", sb_dtype_name(a->dtype), shape);
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = sb_array_get_f64(a, i);
        lo = fmin(lo, v), hi = fmax(hi, v), sum += v;
    }
    char first[160];
    k = 0;
    for (int64_t i = 0; i < n && i < 6 && k < sizeof first; i++)
        k += (size_t)snprintf(first + k, sizeof first - k, i ? ", %.6g" : "%.6g", sb_array_get_f64(a, i));
    return sb_xasprintf("%s %s: min %.6g, mean %.6g, max %.6g; first %s%s", sb_dtype_name(a->dtype),
                        shape, lo, sum / (double)n, hi, first, n > 6 ? ", ..." : "");
}

void sb_report_add_output(sb_report *r, const char *name, const sb_array *value)
{
    r->out = grow(r->out, r->nout, &r->capout, sizeof *r->out);
    r->out[r->nout++] = (report_output){sb_xstrdup(name), value ? array_summary(value) : sb_xstrdup("(none)")};
}

void sb_report_add_loss(sb_report *r, double step, double loss)
{
    r->loss = grow(r->loss, r->nloss, &r->caploss, sizeof *r->loss);
    r->loss[r->nloss][0] = step;
    r->loss[r->nloss][1] = loss;
    r->nloss++;
}

/* ---- profile ------------------------------------------------------------------------------ */
static void put_esc(FILE *f, const char *s);

/* One table of profile rows (op types or nodes): time, share, calls, average, allocations. */
static void profile_rows(FILE *f, const sb_profile_row *rows, int n, bool nodes)
{
    fprintf(f, "<table class=\"profile\">\n<tr><th>time (ms)</th><th>%%</th><th>calls</th>"
               "<th>avg (&micro;s)</th><th>allocs</th><th>bytes out / call</th>%s<th>op</th></tr>\n",
            nodes ? "<th>node</th>" : "<th>nodes</th>");
    for (int i = 0; i < n; i++) {
        const sb_profile_row *w = &rows[i];
        fprintf(f, "<tr><td>%.3f</td><td>%.1f</td><td>%lld</td><td>%.2f</td><td>%lld</td><td>%zu</td>",
                w->seconds * 1e3, w->percent, (long long)w->calls,
                w->calls ? w->seconds * 1e6 / (double)w->calls : 0.0, (long long)w->allocs,
                w->calls ? w->bytes / (size_t)w->calls : 0);
        if (nodes) fprintf(f, "<td>%%%u</td><td>", w->node);
        else fprintf(f, "<td>%d</td><td>", w->nnodes);
        put_esc(f, w->op);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

void sb_report_set_profile(sb_report *r, const sb_profile_summary *s, int top)
{
    free(r->profile);
    r->profile = NULL;
    if (!s) return;
    size_t len = 0;
    FILE *f = open_memstream(&r->profile, &len);
    SB_ASSERT(f);
    fprintf(f, "<h2 id=\"profile\">Profile</h2>\n<p class=\"profile-total\">%lld run%s, %.3f ms wall; "
               "%lld steps took %.3f ms; %lld allocations by steps (%zu bytes); peak pool %zu bytes</p>\n",
            (long long)s->runs, s->runs == 1 ? "" : "s", s->run_seconds * 1e3, (long long)s->steps,
            s->step_seconds * 1e3, (long long)s->allocs, s->alloc_bytes, s->peak_pool_bytes);
    fputs("<h3>Per op type</h3>\n", f);
    profile_rows(f, s->ops, s->nops, false);
    int n = top > 0 && top < s->nnodes ? top : s->nnodes;
    fprintf(f, "<h3>Top %d nodes (of %d)</h3>\n", n, s->nnodes);
    profile_rows(f, s->nodes, n, true);
    fclose(f);
}

/* ---- HTML --------------------------------------------------------------------------------- */

static void put_esc(FILE *f, const char *s)
{
    char *e = sb_viz_html_escape(s);
    fputs(e, f);
    free(e);
}

/* The loss curve: a polyline scaled into a 640x240 box with axes and min/max labels. */
static void write_loss(FILE *f, const sb_report *r)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < r->nloss; i++) {
        if (!isfinite(r->loss[i][1])) continue;
        x0 = fmin(x0, r->loss[i][0]), x1 = fmax(x1, r->loss[i][0]);
        y0 = fmin(y0, r->loss[i][1]), y1 = fmax(y1, r->loss[i][1]);
    }
    if (!(x1 >= x0)) return; /* no finite point */
    double W = 640, H = 240, L = 60, B = 30, T = 10, R = 10;
    double sx = x1 > x0 ? (W - L - R) / (x1 - x0) : 0, sy = y1 > y0 ? (H - B - T) / (y1 - y0) : 0;
    fprintf(f, "<h2>Loss</h2>\n<svg class=\"loss\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
               "height=\"%g\" viewBox=\"0 0 %g %g\">\n", W, H, W, H);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n", L, H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n", L, T, L, H - B);
    fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\" text-anchor=\"end\">%.4g</text>\n", L - 4, T + 10, y1);
    fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\" text-anchor=\"end\">%.4g</text>\n", L - 4, H - B, y0);
    fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\">step %.6g</text>\n", L, H - 8, x0);
    fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\" text-anchor=\"end\">step %.6g</text>\n", W - R, H - 8, x1);
    fputs("<polyline fill=\"none\" stroke=\"#1f78b4\" stroke-width=\"2\" points=\"", f);
    for (int i = 0; i < r->nloss; i++) {
        if (!isfinite(r->loss[i][1])) continue;
        fprintf(f, "%s%.2f,%.2f", i ? " " : "", L + (r->loss[i][0] - x0) * sx,
                H - B - (r->loss[i][1] - y0) * sy);
    }
    fputs("\"/>\n</svg>\n", f);
}

static void write_stages(FILE *f, const sb_report *r)
{
    fputs("<h2>Stages</h2>\n<table>\n<tr><th>#</th><th>pass</th><th>time (s)</th><th>nodes before</th>"
          "<th>nodes after</th></tr>\n", f);
    for (int i = 0; i < r->nstage; i++) {
        fprintf(f, "<tr><td>%d</td><td><a href=\"#stage%d\">", i, i);
        put_esc(f, r->stage[i].pass);
        fprintf(f, "</a></td><td>%.4f</td><td>%d</td><td>%d</td></tr>\n", r->stage[i].seconds,
                r->stage[i].before, r->stage[i].after);
    }
    fputs("</table>\n", f);
    for (int i = 0; i < r->nstage; i++) {
        fprintf(f, "<section class=\"stage\" id=\"stage%d\"><h3>%d. ", i, i);
        put_esc(f, r->stage[i].pass);
        fprintf(f, " <small>%.4f s, %d &rarr; %d nodes</small></h3>\n", r->stage[i].seconds,
                r->stage[i].before, r->stage[i].after);
        if (r->stage[i].svg) fprintf(f, "<div class=\"drawing\">%s</div>\n", r->stage[i].svg);
        else fputs("<p>(unchanged)</p>\n", f);
        fputs("</section>\n", f);
    }
}

static void write_tables(FILE *f, const sb_report *r)
{
    if (r->nrule) {
        fputs("<h2>Rules</h2>\n<table>\n<tr><th>rule</th><th>matches</th><th>applied</th><th>time (s)</th></tr>\n", f);
        for (int i = 0; i < r->nrule; i++) {
            fputs("<tr><td>", f);
            put_esc(f, r->rule[i].name);
            fprintf(f, "</td><td>%ld</td><td>%ld</td>", r->rule[i].matches, r->rule[i].applied);
            if (isnan(r->rule[i].seconds)) fputs("<td>&ndash;</td></tr>\n", f);
            else fprintf(f, "<td>%.4f</td></tr>\n", r->rule[i].seconds);
        }
        fputs("</table>\n", f);
    }
    if (r->have_cost)
        fprintf(f, "<h2>Cost</h2>\n<p class=\"cost\">before %.6g &rarr; after %.6g (%.1f%%)</p>\n",
                r->cost_before, r->cost_after,
                r->cost_before != 0 ? 100.0 * (r->cost_after - r->cost_before) / r->cost_before : 0.0);
    if (r->nout) {
        fputs("<h2>Outputs</h2>\n<table>\n<tr><th>name</th><th>value</th></tr>\n", f);
        for (int i = 0; i < r->nout; i++) {
            fputs("<tr><td>", f);
            put_esc(f, r->out[i].name);
            fputs("</td><td>", f);
            put_esc(f, r->out[i].summary);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void write_html(FILE *f, const sb_report *r)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    put_esc(f, r->title);
    fputs("</title>\n<style>\nbody{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
          "text-align:left}\nth{background:#f0f0f0}\n.drawing{overflow:auto;border:1px solid #ddd;"
          "max-height:80vh}\n.drawing svg{max-width:none}\nsmall{color:#666;font-weight:normal}\n"
          "</style>\n</head>\n<body>\n<h1>", f);
    put_esc(f, r->title);
    fputs("</h1>\n", f);
    write_tables(f, r);
    if (r->nloss) write_loss(f, r);
    if (r->profile) fputs(r->profile, f);
    if (r->nstage) write_stages(f, r);
    fputs("</body>\n</html>\n", f);
}

char *sb_report_html(const sb_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    SB_ASSERT(f);
    write_html(f, r);
    fclose(f);
    return buf;
}

sb_status sb_report_write(const sb_report *r, const char *path, sb_diag *d)
{
    FILE *f = fopen(path, "w");
    if (!f) return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open for writing: %s", strerror(errno));
    write_html(f, r);
    if (fclose(f) != 0) return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "write failed: %s", strerror(errno));
    return SB_OK;
}
