/* testplugin.c: broken plugins for tests/plugins/test_plugins.c, one per MODE:
 * BADVER (descriptor says ABI version 7), DUPOP (registers an op named "gelu"), DUPRULE
 * (registers a rule named "swish-fuse"), NOSYM (no sb_plugin_init at all), BADRULE (a rule whose
 * rhs uses a variable the lhs does not bind). */
#include <symbench.h>

#include <math.h>

__attribute__((unused)) static sb_status same_type(int nin, const sb_type *const *in, const sb_attrs *a, sb_type *out,
                           sb_diag *d)
{
    (void)nin, (void)a, (void)d;
    *out = *in[0];
    return SB_OK;
}

__attribute__((unused)) static sb_status copy(int nin, const sb_array *const *in, const sb_attrs *a, sb_array *out,
                      sb_diag *d)
{
    (void)nin, (void)a, (void)d;
    (void)in, (void)out;
    return SB_OK;
}

#if defined(MODE_NOSYM)
int sb_plugin_something_else(void) { return 0; }
#else
#if defined(MODE_BADVER)
static const sb_plugin_desc desc = {7, "badver", "built for another ABI"};
#elif defined(MODE_DUPOP)
static const sb_plugin_desc desc = {SB_PLUGIN_ABI_VERSION, "dupop", "registers gelu again"};
#elif defined(MODE_DUPRULE)
static const sb_plugin_desc desc = {SB_PLUGIN_ABI_VERSION, "duprule", "registers swish-fuse again"};
#else
static const sb_plugin_desc desc = {SB_PLUGIN_ABI_VERSION, "badrule", "an ill-typed rule"};
#endif

SB_PLUGIN_EXPORT const sb_plugin_desc *sb_plugin_init(const sb_host_api *host)
{
    sb_diag d = {0};
#if defined(MODE_DUPOP)
    sb_op_def def = {"gelu", 1, SB_F_ELEMWISE, SB_FAM_ELEMWISE, same_type, copy, 0, 0, 0};
    host->register_op(host, &def, NULL, &d);
#elif defined(MODE_DUPRULE)
    host->register_rule(host, "swish-fuse", "?x * 2", "?x + ?x", NULL, NULL, NULL, NULL, &d);
#elif defined(MODE_BADRULE)
    host->register_rule(host, "bad", "?x + 1", "?x + ?y", NULL, NULL, NULL, NULL, &d);
#else
    (void)host, (void)d;
#endif
    return &desc;
}
#endif
