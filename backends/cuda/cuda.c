/* cuda.c: the CUDA backend instance: the device probe, the stream, loaded kernels, buffers
 * (device memory from the pool) and the interface table. Programs live in program.c.
 *
 * The device is probed once (cudaGetDeviceCount); on a machine without a GPU the backend says
 * "no CUDA device found (cudaGetDeviceCount: ...)" and every entry point that needs the device
 * fails with that message, while code generation and NVRTC still work. Kernels are loaded from
 * PTX with the runtime's library API (cudaLibraryLoadData, CUDA >= 12), so libcuda is not linked
 * at build time. */
#include "backends/cuda/cu-impl.h"

#include <pthread.h>

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool device_ok;
static int device_arch = 90;
static char probe_msg[300];
static cudaStream_t stream;

/* cudaGetDeviceCount, then the first device's compute capability. */
static void probe(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(probe_msg, sizeof probe_msg, "no CUDA device found (cudaGetDeviceCount: %s: %s)",
                 cudaGetErrorName(e), cudaGetErrorString(e));
        return;
    }
    if (n == 0) {
        snprintf(probe_msg, sizeof probe_msg,
                 "no CUDA device found (cudaGetDeviceCount: 0 devices)");
        return;
    }
    struct cudaDeviceProp pr;
    sb_diag d = {0};
    if (SB_CU_CHECK(cudaSetDevice(0), &d) || SB_CU_CHECK(cudaGetDeviceProperties(&pr, 0), &d) ||
        SB_CU_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), &d)) {
        snprintf(probe_msg, sizeof probe_msg, "CUDA device unusable: %.250s", d.msg);
        return;
    }
    device_arch = pr.major * 10 + pr.minor;
    device_ok = true;
}

bool sb_cu_device_ok(sb_diag *d)
{
    pthread_once(&probe_once, probe);
    if (!device_ok && d) sb_diag_set(d, SB_ERR_UNSUPPORTED, NULL, 0, 0, "%s", probe_msg);
    return device_ok;
}

int sb_cu_arch(void)
{
    pthread_once(&probe_once, probe);
    return device_arch;
}

void *sb_cu_stream(void)
{
    pthread_once(&probe_once, probe);
    return stream;
}

/* ---- loaded kernels -------------------------------------------------------------------------- */
typedef struct loaded {
    char key[33];
    cudaLibrary_t lib;
    cudaKernel_t k;
    struct loaded *next;
} loaded;

static pthread_mutex_t klock = PTHREAD_MUTEX_INITIALIZER;
static loaded *kernels;

void *sb_cu_kernel(const sb_cu_src *src, sb_diag *d)
{
    if (!sb_cu_device_ok(d)) return NULL;
    char key[33];
    sb_cu_nvrtc_key(src, device_arch, key);
    pthread_mutex_lock(&klock);
    loaded *l = kernels;
    while (l && strcmp(l->key, key)) l = l->next;
    if (!l) {
        const char *ptx = sb_cu_nvrtc_ptx(src, device_arch, d);
        cudaLibrary_t lib = NULL;
        cudaKernel_t k = NULL;
        if (ptx && !SB_CU_CHECK(cudaLibraryLoadData(&lib, ptx, NULL, NULL, 0, NULL, NULL, 0), d)) {
            if (!SB_CU_CHECK(cudaLibraryGetKernel(&k, lib, src->name), d)) {
                l = sb_xcalloc(1, sizeof *l);
                memcpy(l->key, key, sizeof key);
                l->lib = lib;
                l->k = k;
                l->next = kernels;
                kernels = l;
            } else {
                cudaLibraryUnload(lib);
            }
        }
    }
    pthread_mutex_unlock(&klock);
    return l ? (void *)l->k : NULL;
}

sb_status sb_cu_launch(void *k, unsigned grid, unsigned block, void **args, sb_diag *d)
{
    return sb_cu_launch_smem(k, grid, block, 0, args, d);
}

sb_status sb_cu_launch_smem(void *k, unsigned grid, unsigned block, size_t smem, void **args,
                            sb_diag *d)
{
    if (grid == 0) return SB_OK;
    return SB_CU_CHECK(cudaLaunchKernel((const void *)k, (dim3){grid, 1, 1}, (dim3){block, 1, 1},
                                        args, smem, stream),
                       d);
}

/* ---- buffers --------------------------------------------------------------------------------- */
struct sb_be_buffer {
    size_t n;
    void *p;
};

static sb_be_buffer *cu_buffer_alloc(size_t nbytes, sb_diag *d)
{
    if (!sb_cu_device_ok(d)) return NULL;
    void *p = sb_cu_pool_alloc(nbytes ? nbytes : 1, d);
    if (!p) return NULL;
    sb_be_buffer *b = sb_xcalloc(1, sizeof *b);
    b->n = nbytes;
    b->p = p;
    return b;
}

static void cu_buffer_free(sb_be_buffer *b)
{
    if (!b) return;
    sb_cu_pool_release(b->p);
    free(b);
}

static sb_status range_error(size_t off, size_t n, size_t size, sb_diag *d)
{
    return sb_diag_set(d, SB_ERR_VALUE, NULL, 0, 0,
                       "buffer access of %zu bytes at offset %zu is past its %zu bytes", n, off,
                       size);
}

static sb_status cu_buffer_set(sb_be_buffer *b, size_t off, const void *src, size_t n,
                               sb_diag *d)
{
    if (off > b->n || n > b->n - off) return range_error(off, n, b->n, d);
    return SB_CU_CHECK(cudaMemcpy((char *)b->p + off, src, n, cudaMemcpyHostToDevice), d);
}

static sb_status cu_buffer_get(const sb_be_buffer *b, size_t off, void *dst, size_t n,
                               sb_diag *d)
{
    if (off > b->n || n > b->n - off) return range_error(off, n, b->n, d);
    if (SB_CU_CHECK(cudaStreamSynchronize(stream), d)) return SB_ERR_INTERNAL;
    return SB_CU_CHECK(cudaMemcpy(dst, (const char *)b->p + off, n, cudaMemcpyDeviceToHost), d);
}

static bool cu_available(void)
{
    return sb_cu_device_ok(NULL);
}

static void cu_synchronize(void)
{
    if (sb_cu_device_ok(NULL)) SB_CU_CHECK(cudaStreamSynchronize(stream), NULL);
}

static const struct sb_backend_i sb_be_cuda = {
    .name = "cuda",
    .buffer_alloc = cu_buffer_alloc,
    .buffer_free = cu_buffer_free,
    .buffer_set = cu_buffer_set,
    .buffer_get = cu_buffer_get,
    .compile = sb_cu_prog_compile,
    .run = sb_cu_prog_run,
    .program_free = sb_cu_prog_free,
    .available = cu_available,
    .synchronize = cu_synchronize,
};

const struct sb_backend_i *sb_be_cuda_get(void)
{
    return &sb_be_cuda;
}

bool sb_be_cuda_probe(sb_diag *d)
{
    return sb_cu_device_ok(d);
}
