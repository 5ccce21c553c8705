/* trace.c: JSON-lines trace records (one object per line; docs/trace.md). Written with plain
 * printing and careful string escaping so a trace can be streamed while a run goes on. */
#include "trace.h"

void sb_trace_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void sb_trace_rewrite(FILE *f, sb_egraph *eg, int iter, const sb_rewrite *rw, sb_id c,
                      const sb_id *subst, long enodes_added)
{
    fprintf(f, "{\"type\":\"rewrite\",\"iter\":%d,\"rule\":", iter);
    sb_trace_str(f, rw->rule->name);
    char origin[1200];
    if (rw->rule->line > 0) snprintf(origin, sizeof origin, "%s:%d", rw->rule->file, rw->rule->line);
    else snprintf(origin, sizeof origin, "%s", rw->rule->file); /* "plugin:NAME" */
    fputs(",\"origin\":", f);
    sb_trace_str(f, origin);
    fprintf(f, ",\"direction\":\"%s\",\"eclass\":%u,\"subst\":{", rw->backward ? "backward" : "forward",
            sb_eg_find(eg, c));
    bool first = true;
    for (int v = 0; v < rw->vars.n; v++) {
        if (rw->vars.name[v][0] == '#') continue; /* hidden constant bindings */
        char key[160];
        snprintf(key, sizeof key, "?%s", rw->vars.name[v]);
        if (!first) fputc(',', f);
        first = false;
        sb_trace_str(f, key);
        fputc(':', f);
        char *s = sb_eg_class_str(eg, subst[v]);
        sb_trace_str(f, s);
        free(s);
    }
    fprintf(f, "},\"enodes_added\":%ld}\n", enodes_added);
}

void sb_eg_trace_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why)
{
    fprintf(eg->trace, "{\"type\":\"union\",\"iter\":%d,\"a\":%u,\"b\":%u,\"reason\":", eg->iteration,
            a, b);
    sb_trace_str(eg->trace, why.rule ? why.rule : "congruence");
    fputs("}\n", eg->trace);
}

void sb_trace_iteration(FILE *f, const sb_runner *r, const sb_iter_report *it)
{
    fprintf(f, "{\"type\":\"iteration\",\"iter\":%d,\"matches\":%ld,\"applied\":%ld,\"enodes\":%u,"
               "\"eclasses\":%u,\"rebuild_unions\":%d,\"search_s\":%.6f,\"apply_s\":%.6f,"
               "\"rebuild_s\":%.6f,\"rules\":{", it->iter, it->matches, it->applied, it->enodes,
            it->eclasses, it->unions_rebuild, it->search_s, it->apply_s, it->rebuild_s);
    bool first = true;
    for (int i = 0; i < r->nrw; i++) {
        if (!it->rule_matches[i]) continue;
        char key[300];
        snprintf(key, sizeof key, "%s%s", r->rw[i].rule->name, r->rw[i].backward ? " <=" : "");
        if (!first) fputc(',', f);
        first = false;
        sb_trace_str(f, key);
        fprintf(f, ":[%d,%d]", it->rule_matches[i], it->rule_applied[i]);
    }
    fputs("}}\n", f);
}

void sb_trace_stop(FILE *f, const sb_runner *r)
{
    fprintf(f, "{\"type\":\"stop\",\"reason\":\"%s\",\"iterations\":%d,\"enodes\":%u,"
               "\"eclasses\":%u,\"seconds\":%.6f}\n", sb_rw_stop_name(r->stop), r->niters,
            sb_eg_enode_count(r->eg), sb_eg_class_count(r->eg), r->seconds);
}

void sb_trace_pass(FILE *f, const char *name, double seconds, int before, int after, bool changed)
{
    fputs("{\"type\":\"pass\",\"name\":", f);
    sb_trace_str(f, name);
    fprintf(f, ",\"seconds\":%.6f,\"nodes_before\":%d,\"nodes_after\":%d,\"changed\":%s}\n", seconds,
            before, after, changed ? "true" : "false");
}

void sb_trace_extract(FILE *f, sb_id c, const char *op, double cost)
{
    fprintf(f, "{\"type\":\"extract\",\"eclass\":%u,\"chosen\":", c);
    sb_trace_str(f, op);
    fprintf(f, ",\"cost\":%.6g}\n", cost);
}
