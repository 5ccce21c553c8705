/* test_viz_cmd.c: `symbench viz` end to end (the program built in SB_BUILD_ROOT/tools). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char outbuf[1 << 20], errbuf[1 << 14];

/* Run `symbench viz ARGS` from the source root; stdout and stderr into outbuf / errbuf. Returns
 * the exit status. */
static int viz(const char *args)
{
    const char *src = getenv("SB_SOURCE_ROOT"), *bld = getenv("SB_BUILD_ROOT");
    cr_assert(src && bld, "SB_SOURCE_ROOT / SB_BUILD_ROOT not set");
    char cmd[2048], errpath[64];
    snprintf(errpath, sizeof errpath, "/tmp/sb-viz-cmd-%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/tools/symbench' viz %s 2>%s", src, bld, args, errpath);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(outbuf, 1, sizeof outbuf - 1, p);
    outbuf[n] = 0;
    int st = pclose(p);
    FILE *e = fopen(errpath, "r");
    n = e ? fread(errbuf, 1, sizeof errbuf - 1, e) : 0;
    errbuf[n] = 0;
    if (e) fclose(e);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/sb-viz-cmd-%d", (int)getpid());
}

Test(viz_cmd, help_and_usage_errors)
{
    cr_assert_eq(viz("--help"), 0);
    cr_assert(strstr(outbuf, "usage: symbench viz") != NULL);
    cr_assert_eq(viz(""), 2);
    cr_assert(strstr(errbuf, "expected GRAPH.json or PIPELINE.json") != NULL, "%s", errbuf);
    cr_assert_eq(viz("--bogus x.json"), 2);
    cr_assert(strstr(errbuf, "unknown option") != NULL, "%s", errbuf);
    cr_assert_eq(viz("--max-nodes 0 examples/mlp.graph.json"), 2);
}

Test(viz_cmd, graph_to_dot_on_stdout)
{
    cr_assert_eq(viz("examples/mlp.graph.json"), 0, "%s", errbuf);
    cr_assert(strncmp(outbuf, "digraph", 7) == 0, "%.80s", outbuf);
    cr_assert(strstr(outbuf, "cylinder") != NULL, "shared variables drawn");
    cr_assert(strstr(outbuf, "matmul") != NULL);
    cr_assert(strstr(outbuf, "invhouse") != NULL, "outputs drawn");
    cr_assert_eq(viz("--no-labels --max-nodes 5 examples/mlp.graph.json"), 0, "%s", errbuf);
    cr_assert(strstr(outbuf, "graph cut: 5 of") != NULL, "%.2000s", outbuf);
}

Test(viz_cmd, graph_to_files)
{
    char dir[64], args[256], path[128];
    tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "examples/mlp.graph.json -o %s/g.png", dir);
    cr_assert_eq(viz(args), 0, "%s", errbuf);
    snprintf(path, sizeof path, "%s/g.png", dir);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char sig[8];
    cr_assert_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    cr_assert(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0);
    unlink(path);
    snprintf(args, sizeof args, "examples/mlp.graph.json -o %s/g.txt", dir);
    cr_assert_eq(viz(args), 1);
    cr_assert(strstr(errbuf, "cannot tell the drawing format") != NULL, "%s", errbuf);
    cr_assert_eq(viz("no-such-graph.json"), 1);
    cr_assert(strstr(errbuf, "no-such-graph.json: cannot open") != NULL, "%s", errbuf);
    rmdir(dir);
}

Test(viz_cmd, pipeline_stages)
{
    char dir[64], args[256], path[160];
    tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "examples/tiny.pipeline.json --stage all --format dot -o %s", dir);
    cr_assert_eq(viz(args), 0, "%s", errbuf);
    snprintf(path, sizeof path, "%s/00-input.dot", dir);
    cr_assert_eq(access(path, R_OK), 0, "%s", outbuf);
    unlink(path);
    int nfiles = 1;
    for (const char *p = outbuf; (p = strstr(p, " -> ")); p += 4) {
        const char *e = strchr(p + 4, '\n');
        snprintf(path, sizeof path, "%.*s", (int)(e - p - 4), p + 4);
        if (strstr(path, "00-input")) continue;
        cr_assert_eq(access(path, R_OK), 0, "%s", path);
        unlink(path);
        nfiles++;
    }
    cr_assert_geq(nfiles, 2, "input and at least one pass: %s", outbuf);
    rmdir(dir);
    cr_assert_eq(viz("examples/tiny.pipeline.json --stage input"), 0, "%s", errbuf);
    cr_assert(strstr(outbuf, "stage 0: input") != NULL);
    cr_assert_eq(viz("examples/tiny.pipeline.json --stage no-such-pass"), 1);
    cr_assert(strstr(errbuf, "no stage named 'no-such-pass'") != NULL, "%s", errbuf);
    cr_assert_eq(viz("examples/mlp.graph.json --stage all"), 1);
    cr_assert(strstr(errbuf, "--stage needs a pipeline file") != NULL, "%s", errbuf);
}

Test(viz_cmd, egraph)
{
    cr_assert_eq(viz("examples/tiny.pipeline.json --egraph --rules algebra"), 0, "%s", errbuf);
    cr_assert(strstr(outbuf, "subgraph cluster_c") != NULL);
    cr_assert(strstr(outbuf, "#ffd92f") != NULL, "extracted e-nodes highlighted");
    cr_assert(strstr(errbuf, "e-classes") != NULL, "%s", errbuf);
}

/* The HTML report opens in a browser with no server: headless Chromium loads it and takes a
 * screenshot (skipped where Debian's `chromium` is not installed). */
Test(viz_cmd, report_in_headless_chromium, .timeout = 120)
{
    const char *browser = access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : NULL;
    if (!browser) cr_skip_test("chromium not installed");
    char dir[64], args[256], cmd[1024], shot[128];
    tmpdir(dir, sizeof dir);
    mkdir(dir, 0777);
    /* the tiny example (inline graph) copied into dir: its report, drawings and outputs go to
     * dir/out, paths being relative to the pipeline file */
    const char *src = getenv("SB_SOURCE_ROOT"), *bld = getenv("SB_BUILD_ROOT");
    snprintf(args, sizeof args, "%s/tiny.pipeline.json", dir);
    snprintf(cmd, sizeof cmd, "cp '%s/examples/tiny.pipeline.json' %s && '%s/tools/symbench' run --quiet %s > /dev/null",
             src, args, bld, args);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(shot, sizeof shot, "%s/report.png", dir);
    snprintf(cmd, sizeof cmd,
             "HOME=%s timeout 90 %s --headless --no-sandbox --disable-gpu --hide-scrollbars "
             "--window-size=1024,1400 --screenshot=%s file://%s/out/tiny_report.html "
             ">/dev/null 2>&1", dir, browser, shot, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    FILE *f = fopen(shot, "rb");
    cr_assert_not_null(f, "no screenshot");
    unsigned char sig[8];
    cr_assert_eq(fread(sig, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    cr_assert(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0);
    cr_assert_gt(size, 10000, "a page with drawings, not a blank one (%ld bytes)", size);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
