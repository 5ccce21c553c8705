/* trace.h: JSON-lines trace records (internal); the format is documented in docs/trace.md. */
#ifndef SB_TRACE_H
#define SB_TRACE_H

#include "run.h"

/* Write s as a JSON string (quoted, escaped). */
void sb_trace_str(FILE *f, const char *s);
/* {"type":"rewrite", ...}: rewrite rw fired at class c with subst, adding enodes_added e-nodes. */
void sb_trace_rewrite(FILE *f, sb_egraph *eg, int iter, const sb_rewrite *rw, sb_id c,
                      const sb_id *subst, long enodes_added);
/* {"type":"union", ...} (also called by the e-graph on every union when eg->trace is set). */
void sb_eg_trace_union(sb_egraph *eg, sb_id a, sb_id b, sb_just why);
/* {"type":"iteration", ..., "rules": {"name": [matches, applied], ...}} (rules with matches) */
void sb_trace_iteration(FILE *f, const sb_runner *r, const sb_iter_report *it);
/* {"type":"stop", "reason", "iterations", "enodes", "eclasses", "seconds"} */
void sb_trace_stop(FILE *f, const sb_runner *r);
/* {"type":"pass", ...} */
void sb_trace_pass(FILE *f, const char *name, double seconds, int before, int after, bool changed);
/* {"type":"extract", "eclass", "chosen", "cost"} */
void sb_trace_extract(FILE *f, sb_id c, const char *op, double cost);

#endif
