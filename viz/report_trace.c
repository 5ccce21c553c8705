/* report_trace.c: the report's rule table read back from a trace (docs/trace.md): the per-rule
 * [matches, applied] counts of every `iteration` record, summed over iterations and passes. */
#include "viz-impl.h"
#include "json.h"

#include <errno.h>
#include <math.h>

typedef struct rule_sum {
    char *name;
    long matches, applied;
} rule_sum;

/* Add one iteration record's "rules" object into sums (first appearance keeps the order). */
static void add_rules(const cJSON *rules, rule_sum **sums, int *n, int *cap)
{
    for (const cJSON *it = rules ? rules->child : NULL; it; it = it->next) {
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2) continue;
        int k = 0;
        while (k < *n && strcmp((*sums)[k].name, it->string)) k++;
        if (k == *n) {
            if (*n == *cap) *sums = sb_xrealloc(*sums, sizeof **sums * (size_t)(*cap = *cap ? 2 * *cap : 16));
            (*sums)[(*n)++] = (rule_sum){sb_xstrdup(it->string), 0, 0};
        }
        (*sums)[k].matches += (long)cJSON_GetArrayItem(it, 0)->valuedouble;
        (*sums)[k].applied += (long)cJSON_GetArrayItem(it, 1)->valuedouble;
    }
}

sb_status sb_report_add_trace(sb_report *r, const char *path, sb_diag *d)
{
    FILE *f = fopen(path, "r");
    if (!f) return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
    rule_sum *sums = NULL;
    int n = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    sb_status st = SB_OK;
    while (getline(&line, &lcap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        cJSON *rec = cJSON_Parse(line);
        if (!cJSON_IsObject(rec)) {
            st = sb_diag_set(d, SB_ERR_SYNTAX, path, lineno, 1, "not a JSON object (trace records are one per line)");
            cJSON_Delete(rec);
            break;
        }
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "iteration"))
            add_rules(cJSON_GetObjectItemCaseSensitive(rec, "rules"), &sums, &n, &cap);
        cJSON_Delete(rec);
    }
    free(line);
    fclose(f);
    for (int i = 0; i < n; i++) {
        if (st == SB_OK) sb_report_add_rule(r, sums[i].name, sums[i].matches, sums[i].applied, NAN);
        free(sums[i].name);
    }
    free(sums);
    return st;
}
