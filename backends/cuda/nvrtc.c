/* nvrtc.c: CUDA C source -> PTX with NVRTC, cached by a hash of the source.
 *
 * The key is 128 bits (two seeded 64-bit hashes) of the kernel's name, source, target
 * architecture, compile options and NVRTC version. Lookups go to an in-memory table, then to
 * the disk cache (one file <key>.ptx per kernel, written to a temporary name and renamed so a
 * concurrent reader never sees half a file), and only then to NVRTC. Compiling needs no GPU, so
 * all of this is tested on machines without one. */
#include "backends/cuda/cu-impl.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct entry {
    char key[33];
    char *ptx;
    struct entry *next;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *table;
static sb_cu_nvrtc_stats stats;

#define OPT_STD "--std=c++17"

void sb_cu_nvrtc_key(const sb_cu_src *src, int arch, char out[33])
{
    int major = 0, minor = 0;
    nvrtcVersion(&major, &minor);
    char meta[96];
    int n = snprintf(meta, sizeof meta, "arch=%d nvrtc=%d.%d %s", arch, major, minor, OPT_STD);
    uint64_t h[2];
    for (int i = 0; i < 2; i++) {
        h[i] = sb_hash_bytes(meta, (size_t)n, 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
        h[i] = sb_hash_bytes(src->name, strlen(src->name), h[i]);
        h[i] = sb_hash_bytes(src->code, strlen(src->code), h[i]);
    }
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h[0], (unsigned long long)h[1]);
}

/* The disk cache's directory (malloc'd), or NULL when disabled (SB_CUDA_CACHE=""). */
static char *cache_dir(void)
{
    const char *e = getenv("SB_CUDA_CACHE");
    if (e) return *e ? sb_xstrdup(e) : NULL;
    if ((e = getenv("XDG_CACHE_HOME")) && *e) return sb_xasprintf("%s/symbench/cuda", e);
    if ((e = getenv("HOME")) && *e) return sb_xasprintf("%s/.cache/symbench/cuda", e);
    return NULL;
}

/* mkdir -p (errors are ignored: the cache is an optimization). */
static void make_dirs(const char *dir)
{
    char *p = sb_xstrdup(dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
    free(p);
}

static char *disk_read(const char *key)
{
    char *dir = cache_dir();
    if (!dir) return NULL;
    char *path = sb_xasprintf("%s/%s.ptx", dir, key);
    free(dir);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, k;
    do {
        if (cap - n < 4096) buf = sb_xrealloc(buf, cap = cap * 2 + 8192);
        k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
    } while (k > 0);
    fclose(f);
    buf[n] = 0;
    if (n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void disk_write(const char *key, const char *ptx)
{
    char *dir = cache_dir();
    if (!dir) return;
    make_dirs(dir);
    char *tmp = sb_xasprintf("%s/%s.ptx.%ld.tmp", dir, key, (long)getpid());
    char *path = sb_xasprintf("%s/%s.ptx", dir, key);
    FILE *f = fopen(tmp, "wb");
    if (f) {
        size_t n = strlen(ptx);
        bool ok = fwrite(ptx, 1, n, f) == n;
        ok = fclose(f) == 0 && ok;
        if (ok && rename(tmp, path) == 0) stats.disk_writes++;
        else remove(tmp);
    }
    free(tmp);
    free(path);
    free(dir);
}

/* Compile with NVRTC; the PTX (malloc'd) or NULL with the log in d. */
static char *compile(const sb_cu_src *src, int arch, sb_diag *d)
{
    nvrtcProgram prog;
    if (SB_CU_CHECK(nvrtcCreateProgram(&prog, src->code, src->name, 0, NULL, NULL), d))
        return NULL;
    char archopt[48];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=compute_%d", arch);
    const char *opts[] = {archopt, OPT_STD, "--fmad=true"};
    nvrtcResult r = nvrtcCompileProgram(prog, 3, opts);
    char *ptx = NULL;
    if (r != NVRTC_SUCCESS) {
        size_t n = 0;
        nvrtcGetProgramLogSize(prog, &n);
        char *log = sb_xmalloc(n + 1);
        log[0] = 0;
        nvrtcGetProgramLog(prog, log);
        sb_diag_set(d, SB_ERR_INTERNAL, NULL, 0, 0, "NVRTC cannot compile kernel %s: %.600s",
                    src->name, log);
        free(log);
    } else {
        size_t n = 0;
        if (!SB_CU_CHECK(nvrtcGetPTXSize(prog, &n), d)) {
            ptx = sb_xmalloc(n + 1);
            ptx[n] = 0;
            if (SB_CU_CHECK(nvrtcGetPTX(prog, ptx), d)) {
                free(ptx);
                ptx = NULL;
            }
        }
    }
    nvrtcDestroyProgram(&prog);
    return ptx;
}

const char *sb_cu_nvrtc_ptx(const sb_cu_src *src, int arch, sb_diag *d)
{
    char key[33];
    sb_cu_nvrtc_key(src, arch, key);
    pthread_mutex_lock(&lock);
    entry *e = table;
    while (e && strcmp(e->key, key)) e = e->next;
    if (e) {
        stats.mem_hits++;
    } else {
        char *ptx = disk_read(key);
        if (ptx) {
            stats.disk_hits++;
        } else if ((ptx = compile(src, arch, d))) {
            stats.compiled++;
            disk_write(key, ptx);
        }
        if (ptx) {
            e = sb_xcalloc(1, sizeof *e);
            memcpy(e->key, key, sizeof key);
            e->ptx = ptx;
            e->next = table;
            table = e;
        }
    }
    pthread_mutex_unlock(&lock);
    return e ? e->ptx : NULL;
}

void sb_cu_nvrtc_stats_get(sb_cu_nvrtc_stats *s)
{
    pthread_mutex_lock(&lock);
    *s = stats;
    pthread_mutex_unlock(&lock);
}

void sb_cu_nvrtc_clear(void)
{
    pthread_mutex_lock(&lock);
    while (table) {
        entry *n = table->next;
        free(table->ptx);
        free(table);
        table = n;
    }
    stats = (sb_cu_nvrtc_stats){0};
    pthread_mutex_unlock(&lock);
}
