/* cmd_plugins.c: `symbench plugins info PATH...` and `symbench plugins list`, and the
 * `--plugin PATH` option every command accepts (loaded by main before the command runs). */
#include "commands.h"

#include "core-impl.h"
#include "json.h"
#include "pipeline.h"
#include "rewrites/plugin.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symbench plugins info PATH...\n"
            "       symbench [--plugin PATH]... plugins list\n"
            "\n"
            "info  load each plugin and print its name, file, description and what it provides:\n"
            "      one line per rule, op, pass, cost function and fact (KIND NAME)\n"
            "list  the loaded plugins (those named by --plugin), one per line: name, file\n"
            "\n"
            "Every command takes '--plugin PATH' (repeatable): the plugin is loaded before the\n"
            "command runs; its rules form a rule set named after the plugin (--rules NAME, a\n"
            "saturate pass's \"rules\"), its ops parse by name (gelu(x)). See docs/plugins.md.\n");
}

int sb_cmd_load_plugins(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *path = NULL;
        if (!strcmp(argv[i], "--plugin") && i + 1 < *argc) path = argv[++i];
        else if (!strncmp(argv[i], "--plugin=", 9)) path = argv[i] + 9;
        else if (!strcmp(argv[i], "--plugin")) {
            fprintf(stderr, "symbench: --plugin needs a path\n");
            return 1;
        }
        if (!path) {
            argv[out++] = argv[i];
            continue;
        }
        sb_diag d = {0};
        if (sb_plugin_load(path, &d)) {
            sb_diag_print(&d, stderr);
            return 1;
        }
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int sb_cmd_pipeline_plugins(const sb_pipeline *p, sb_diag *d)
{
    for (const cJSON *it = p->plugins ? p->plugins->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it))
            return sb_json_error(p->doc, it, SB_ERR_SYNTAX, d, "a plugin must be a path string");
        char *path = sb_pipeline_path(p, it->valuestring);
        sb_diag tmp = {0};
        sb_status st = sb_plugin_load(path, &tmp);
        free(path);
        if (st) return sb_json_error(p->doc, it, st, d, "%s: %s", it->valuestring, tmp.msg);
    }
    return SB_OK;
}

static void print_plugin(int i)
{
    int n = 0;
    const char *const *items = sb_rw_plugin_items(i, &n);
    printf("plugin %s\nfile %s\ndescription %s\n", sb_plugin_name(i), sb_rw_plugin_path(i),
           sb_rw_plugin_desc(i));
    for (int k = 0; k < n; k++) printf("  %s\n", items[k]);
}

static int cmd_info(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    for (int a = 0; a < argc; a++) {
        sb_diag d = {0};
        if (sb_plugin_load(argv[a], &d)) {
            sb_diag_print(&d, stderr);
            return 1;
        }
        print_plugin(sb_rw_plugin_find_path(argv[a]));
    }
    return 0;
}

int sb_cmd_plugins(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    if (argc >= 2 && !strcmp(argv[1], "info")) return cmd_info(argc - 2, argv + 2);
    if (argc == 2 && !strcmp(argv[1], "list")) {
        for (int i = 0; i < sb_plugin_count(); i++)
            printf("%s\t%s\n", sb_plugin_name(i), sb_rw_plugin_path(i));
        return 0;
    }
    usage(stderr);
    return 2;
}
