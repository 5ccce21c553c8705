/* tmpdir.h: a fresh temporary directory per test (Criterion .init / .fini) for the tests that
 * write pipelines, data and checkpoints (test_train.c, test_pipeline.c).
 *
 *     Test(suite, name, .init = make_tmp, .fini = rm_tmp) { char *p = tpath("x.npy"); ... }
 *
 * TMPDIR_PREFIX names the directories (/tmp/PREFIX-XXXXXX). */
#ifndef SB_TESTS_TMPDIR_H
#define SB_TESTS_TMPDIR_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "core-impl.h"

static char tmpdir[256];

static void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%s-XXXXXX", TMPDIR_PREFIX);
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    char *cmd = sb_xasprintf("rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
    free(cmd);
}

/* tmpdir/name (malloc'd). */
static char *tpath(const char *name) { return sb_xasprintf("%s/%s", tmpdir, name); }

/* Write text as tmpdir/name. */
static void write_text(const char *name, const char *text)
{
    char *p = tpath(name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "cannot write %s", p);
    fputs(text, f);
    fclose(f);
    free(p);
}

#endif
