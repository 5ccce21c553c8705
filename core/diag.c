/* diag.c: user-facing diagnostics ("file:line:col: message") and the log callback. */
#include "core-impl.h"

#include <stdarg.h>

sb_status sb_diag_set(sb_diag *d, sb_status st, const char *file, int line, int col,
                      const char *fmt, ...)
{
    if (!d || d->status != SB_OK) return st; /* keep the first error: it is the cause */
    d->status = st;
    snprintf(d->file, sizeof d->file, "%s", file ? file : "");
    d->line = line;
    d->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return st;
}

void sb_diag_print(const sb_diag *d, FILE *f)
{
    if (d->file[0]) {
        fputs(d->file, f);
        if (d->line > 0) {
            fprintf(f, ":%d", d->line);
            if (d->col > 0) fprintf(f, ":%d", d->col);
        }
        fputs(": ", f);
    }
    fprintf(f, "%s\n", d->msg[0] ? d->msg : "error");
}

void sb_diag_clear(sb_diag *d)
{
    memset(d, 0, sizeof *d);
}

static void log_stderr(int level, const char *msg, void *user)
{
    (void)user;
    static const char *tag[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "symbench: %s: %s\n", tag[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

static sb_log_fn log_fn = log_stderr;
static void *log_user;

void sb_log_set(sb_log_fn fn, void *user)
{
    log_fn = fn ? fn : log_stderr;
    log_user = user;
}

void sb_log(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_user);
}
