/* backend.c: the registry of backends by name, and the loader of the CUDA module.
 *
 * "cpu" is compiled in. "cuda" is a module (backends/cuda/module.h) loaded the first time it is
 * asked for, so that programs that never use it do not pay for loading the CUDA libraries. Test
 * programs that link the backend's sources (sb_cuda) use them directly: sb_cu_module is referred
 * to weakly and is non-NULL only there. */
#define _GNU_SOURCE /* dladdr */
#include "backend.h"

#include <string.h>

#ifdef SB_HAVE_CUDA
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "backends/cpu/tensor.h"
#include "backends/cuda/module.h"

/* defined only where sb_cuda is linked in (tests); NULL elsewhere */
__attribute__((weak, visibility("hidden"))) const sb_cuda_module *sb_cu_module(void);

/* The functions the module borrows from this process (module.h). */
static sb_cuda_host host_table = {
    .abi = SB_CUDA_MODULE_ABI,
    .layout = 0, /* filled by cuda_load: sb_cuda_layout() is not a constant expression */
    .diag_set = sb_diag_set,
    .log = sb_log,
    .panic = sb_panic,
    .xmalloc = sb_xmalloc,
    .xcalloc = sb_xcalloc,
    .xrealloc = sb_xrealloc,
    .xstrdup = sb_xstrdup,
    .hash_bytes = sb_hash_bytes,
    .dtype_size = sb_dtype_size,
    .dtype_is_float = sb_dtype_is_float,
    .dtype_is_int = sb_dtype_is_int,
    .type_make = sb_type_make,
    .type_parse = sb_type_parse,
    .type_str = sb_type_str,
    .axis_norm = sb_axis_norm,
    .op_get = sb_op_get,
    .infer_type = sb_infer_type,
    .array_new = sb_array_new,
    .array_free = sb_array_free,
    .array_numel = sb_array_numel,
    .array_get_f64 = sb_array_get_f64,
    .array_set_f64 = sb_array_set_f64,
    .ctx_init = sb_ctx_init,
    .ctx_free = sb_ctx_free,
    .input = sb_input,
    .shared = sb_shared,
    .apply = sb_apply,
    .apply2 = sb_apply2,
    .parse_expr = sb_parse_expr,
    .grad = sb_grad,
    .eval = sb_eval,
    .be_arith_dt = sb_be_arith_dt,
    .be_weak_promote = sb_be_weak_promote,
    .be_contig_strides = sb_be_contig_strides,
};

static pthread_mutex_t cuda_lock = PTHREAD_MUTEX_INITIALIZER;
static const sb_cuda_module *cuda_mod; /* once loaded, for the life of the process */

/* Whether path lies under directory dir. */
static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return path && !strncmp(path, dir, n) && path[n] == '/';
}

/* The directory part of a resolved path (malloc'd), or NULL. */
static char *dir_of(const char *path)
{
    char *r = path ? realpath(path, NULL) : NULL;
    char *slash = r ? strrchr(r, '/') : NULL;
    if (slash) *slash = '\0';
    return r;
}

/* The directories of the file holding this code (the program or libsymbench.so) and of the
 * running program (NULL where unknown); the caller frees them. */
static void self_dirs(char **lib, char **exe)
{
    Dl_info info;
    *lib = dladdr((void *)sb_backend_get, &info) ? dir_of(info.dli_fname) : NULL;
    *exe = dir_of("/proc/self/exe");
}

/* The module's candidate paths, in order, into out[] (returns how many): $SB_CUDA_MODULE alone
 * when set; the build tree's module when this code runs from the build tree; the installed one
 * (prefix/libdir/symbench); then beside a relocated install (DESTDIR or a moved prefix):
 * <dir of libsymbench.so>/symbench/ and <dir of the program>/../<libdir>/symbench/. */
static int module_paths(char out[4][PATH_MAX])
{
    const char *env = getenv("SB_CUDA_MODULE");
    if (env && *env) {
        snprintf(out[0], PATH_MAX, "%s", env);
        return 1;
    }
    char *lib, *exe;
    self_dirs(&lib, &exe);
    int n = 0;
    if (under(lib, SB_BUILD_ROOT_DIR) || under(exe, SB_BUILD_ROOT_DIR))
        snprintf(out[n++], PATH_MAX, "%s", SB_CUDA_MODULE_BUILD);
    snprintf(out[n++], PATH_MAX, "%s", SB_CUDA_MODULE_INSTALLED);
    if (lib) snprintf(out[n++], PATH_MAX, "%s/symbench/%s", lib, SB_CUDA_MODULE_FILE);
    if (exe)
        snprintf(out[n++], PATH_MAX, "%s/../%s/symbench/%s", exe, SB_CUDA_MODULE_LIBDIR,
                 SB_CUDA_MODULE_FILE);
    free(lib);
    free(exe);
    return n;
}

/* dlopen path, find the entry, check ABI and layout. NULL with why filled on failure. */
static const sb_cuda_module *module_open(const char *path, char *why, size_t nwhy)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, nwhy, "%s", dlerror());
        return NULL;
    }
    sb_cuda_module_init_fn init = (sb_cuda_module_init_fn)dlsym(h, SB_CUDA_MODULE_ENTRY);
    if (!init) {
        snprintf(why, nwhy, "%.1000s: no entry point %s (not a symbench CUDA module)", path,
                 SB_CUDA_MODULE_ENTRY);
        dlclose(h);
        return NULL;
    }
    host_table.layout = sb_cuda_layout();
    const sb_cuda_module *m = init(&host_table); /* the module keeps the pointer */
    if (!m || m->abi != SB_CUDA_MODULE_ABI || m->layout != host_table.layout || !m->backend) {
        snprintf(why, nwhy,
                 "%.1000s: module ABI %d (layout %016llx), this build expects ABI %d "
                 "(layout %016llx)",
                 path, m ? m->abi : -1, m ? (unsigned long long)m->layout : 0ULL,
                 SB_CUDA_MODULE_ABI, (unsigned long long)host_table.layout);
        dlclose(h);
        return NULL;
    }
    return m; /* never closed: its kernels, handles and threads live as long as the process */
}

/* The CUDA module, loaded on the first call (failures are retried: $SB_CUDA_MODULE may change);
 * NULL with d filled ("backend 'cuda' is not available: <why>"). */
static const sb_cuda_module *cuda_load(sb_diag *d)
{
    char why[1400] = "";
    pthread_mutex_lock(&cuda_lock);
    if (!cuda_mod && sb_cu_module) cuda_mod = sb_cu_module();
    if (!cuda_mod) {
        char paths[4][PATH_MAX];
        int n = module_paths(paths);
        for (int i = 0; i < n && !cuda_mod; i++) {
            bool exists = access(paths[i], F_OK) == 0;
            if (!exists && why[0]) continue; /* keep the first error: the likeliest cause */
            cuda_mod = module_open(paths[i], why, sizeof why);
            if (exists && !cuda_mod) break;  /* found but unusable: that is the answer */
        }
    }
    pthread_mutex_unlock(&cuda_lock);
    if (!cuda_mod)
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "backend 'cuda' is not available: %.700s",
                    why);
    return cuda_mod;
}

int sb_be_cuda_bench(FILE *out, bool quick, sb_diag *d)
{
    const sb_cuda_module *m = cuda_load(d);
    return m ? m->bench(out, quick, d) : 1;
}
#endif

const struct sb_backend_i *sb_backend_get(const char *name)
{
    if (!name) return NULL;
    if (!strcmp(name, "cpu")) return sb_be_cpu_get();
#ifdef SB_HAVE_CUDA
    if (!strcmp(name, "cuda")) {
        const sb_cuda_module *m = cuda_load(NULL);
        return m ? m->backend : NULL;
    }
#endif
    return NULL;
}

bool sb_backend_available(const char *name, sb_diag *d)
{
#ifdef SB_HAVE_CUDA
    if (name && !strcmp(name, "cuda")) {
        const sb_cuda_module *m = cuda_load(d);
        sb_diag why = {0};
        if (!m) return false;
        if (m->probe(&why)) return true;
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "backend 'cuda': %s", why.msg);
        return false;
    }
#endif
    const struct sb_backend_i *be = sb_backend_get(name);
    if (!be) {
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0,
                    "backend '%s' is not available in this build", name ? name : "(null)");
        return false;
    }
    if (be->available && !be->available()) {
        sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "backend '%s': no device", name);
        return false;
    }
    return true;
}
