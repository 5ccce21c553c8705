/* cuda_emu.c: a CPU stand-in for the CUDA runtime, cuBLAS and NVRTC, linked into test programs
 * (test-cuda-emu) so that the CUDA backend's run-time code (backends/cuda/program.c: plans,
 * launches, pool, residency, host steps) runs on machines without a GPU.
 *
 * Functions defined here take precedence over the shared libraries' (the executable is searched
 * first). "Device memory" is host memory; NVRTC's "PTX" is the CUDA source itself; loading a
 * library compiles that source as C++ with g++ into a shared object (cached by a hash of the
 * source under $SB_CUDA_EMU_DIR, default /tmp/sb-cuda-emu-<uid>) with one wrapper per kernel
 * that runs the grid: blocks one after the other, 32 lanes per block (as std::threads, with
 * barrier-based __syncthreads and shuffles, when the kernel synchronizes; in turn otherwise).
 * The block size asked for is ignored (the kernels' loops use blockDim); dynamic shared memory
 * (SB_DYN_SMEM in the generated prelude) is one static buffer of 256 KB. cuBLAS goes to
 * OpenBLAS's column-major cblas. CUDA graphs are not emulated (capture fails cleanly). */
#include <cblas.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <nvrtc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool sb_cu_emulated = true; /* tests skip what needs the real NVRTC or a real device */

__attribute__((constructor)) static void emu_init(void)
{
    setenv("SB_CUDA_CACHE", "", 1); /* the kernel cache would hold sources, not PTX */
}

/* ---- device, memory, streams ----------------------------------------------------------------- */
cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int dev)
{
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int dev)
{
    memset(p, 0, sizeof *p);
    strcpy(p->name, "emulated");
    p->major = 9;
    p->minor = 0;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    *s = (cudaStream_t)(uintptr_t)0x5b;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t n)
{
    *p = aligned_alloc(256, (n + 255) / 256 * 256);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind k)
{
    memmove(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind k,
                            cudaStream_t s)
{
    memmove(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s)
{
    memset(p, v, n);
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode m)
{
    return cudaErrorNotSupported;
}

/* ---- NVRTC: the "PTX" is the source ---------------------------------------------------------- */
typedef struct emu_prog {
    char *src;
} emu_prog;

nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int nh,
                               const char *const *headers, const char *const *names)
{
    emu_prog *p = calloc(1, sizeof *p);
    p->src = strdup(src);
    *prog = (nvrtcProgram)p;
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int n, const char *const *opts)
{
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *n)
{
    *n = strlen(((emu_prog *)prog)->src) + 1;
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx)
{
    strcpy(ptx, ((emu_prog *)prog)->src);
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog)
{
    emu_prog *p = (emu_prog *)*prog;
    free(p->src);
    free(p);
    *prog = NULL;
    return NVRTC_SUCCESS;
}

/* ---- libraries: the source compiled with g++ ------------------------------------------------- */
static const char prelude[] =
    "#include <barrier>\n#include <cmath>\n#include <functional>\n#include <thread>\n"
    "using namespace std;\n"
    "#define __device__\n#define __forceinline__ inline\n#define __global__\n#define __shared__ static\n"
    "#define __launch_bounds__(x)\n#define __restrict__ __restrict\n"
    "struct float4 { float x, y, z, w; };\n"
    "static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }\n"
    "struct emu_dim { unsigned x, y, z; };\n"
    "static thread_local emu_dim threadIdx;\nstatic emu_dim blockIdx, blockDim, gridDim;\n"
    "static std::barrier<> *bar;\n"
    "#define __syncthreads() bar->arrive_and_wait()\n"
    /* dynamic shared memory: one buffer (blocks run one after the other) */
    "alignas(16) static unsigned char emu_smem[1 << 18];\n"
    "#define SB_DYN_SMEM(T, name) T *name = reinterpret_cast<T *>(emu_smem)\n"
    "template <class T> T __shfl_xor_sync(unsigned, T v, int o) {\n"
    "  static T slot[32]; slot[threadIdx.x] = v; bar->arrive_and_wait();\n"
    "  T r = slot[threadIdx.x ^ o]; bar->arrive_and_wait(); return r; }\n"
    /* 32 lanes that live as long as the process (leaked on purpose: no joins at exit) */
    "struct emu_pool {\n"
    "  std::barrier<> start{33}, done{33}, lanes{32}; std::function<void()> job;\n"
    "  emu_pool() { for (unsigned t = 0; t < 32; t++) std::thread([this, t] {\n"
    "    threadIdx.x = t;\n"
    "    for (;;) { start.arrive_and_wait(); job(); done.arrive_and_wait(); } }).detach(); }\n"
    "};\n"
    "template <class F> static void emu_launch(unsigned grid, bool sync, F f) {\n"
    "  gridDim.x = grid; blockDim.x = 32;\n"
    "  static emu_pool *pool = sync ? new emu_pool : nullptr;\n"
    "  for (unsigned b = 0; b < grid; b++) {\n"
    "    blockIdx.x = b;\n"
    "    if (!sync) { for (unsigned t = 0; t < 32; t++) { threadIdx.x = t; f(); } continue; }\n"
    "    bar = &pool->lanes; pool->job = f;\n"
    "    pool->start.arrive_and_wait(); pool->done.arrive_and_wait();\n  }\n}\n";

static bool is_ident(char c)
{
    return c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* The wrapper NAME__emu(void **args, unsigned grid) of the kernel whose signature starts at
 * sig ("extern \"C\" __global__ void ... NAME(params)"), appended to f. */
static void wrapper(FILE *f, const char *sig, bool sync)
{
    const char *open = strchr(sig, '(');
    if (!strncmp(open - 17, "__launch_bounds__", 17)) open = strchr(strchr(open, ')') + 1, '(');
    const char *nm = open;
    while (is_ident(nm[-1])) nm--;
    fprintf(f, "extern \"C\" void %.*s__emu(void **a, unsigned grid) {\n  emu_launch(grid, %d, [&] { %.*s(",
            (int)(open - nm), nm, sync, (int)(open - nm), nm);
    const char *p = open + 1, *close = strchr(p, ')');
    for (int k = 0; p < close; k++) {
        const char *comma = memchr(p, ',', (size_t)(close - p));
        const char *end = comma ? comma : close, *id = end;
        while (id > p && is_ident(id[-1])) id--;
        fprintf(f, "%s*(%.*s *)a[%d]", k ? ", " : "", (int)(id - p), p, k);
        p = end + 1;
    }
    fprintf(f, "); });\n}\n");
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

cudaError_t cudaLibraryLoadData(cudaLibrary_t *lib, const void *code, enum cudaJitOption *o,
                                void **ov, unsigned no, enum cudaLibraryOption *lo, void **lov,
                                unsigned nlo)
{
    const char *src = code;
    char dir[256], so[320], cpp[320], cmd[1400];
    const char *e = getenv("SB_CUDA_EMU_DIR");
    if (e && *e) snprintf(dir, sizeof dir, "%s", e);
    else snprintf(dir, sizeof dir, "/tmp/sb-cuda-emu-%ld", (long)getuid());
    mkdir(dir, 0755);
    uint64_t h = fnv(src) * 31 + fnv(prelude); /* the harness is part of the key */
    snprintf(so, sizeof so, "%s/%016llx.so", dir, (unsigned long long)h);
    if (access(so, R_OK) != 0) {
        snprintf(cpp, sizeof cpp, "%s/%016llx.%ld.cpp", dir, (unsigned long long)h, (long)getpid());
        FILE *f = fopen(cpp, "w");
        if (!f) return cudaErrorInvalidSource;
        fprintf(f, "%s%s\n", prelude, src);
        bool sync = strstr(src, "__syncthreads") != NULL;
        for (const char *k = strstr(src, "extern \"C\""); k; k = strstr(k + 1, "extern \"C\""))
            wrapper(f, k, sync);
        fclose(f);
        snprintf(cmd, sizeof cmd,
                 "g++ -std=c++20 -O1 -w -fPIC -shared -pthread -o %s.%ld.tmp %s && mv %s.%ld.tmp %s",
                 so, (long)getpid(), cpp, so, (long)getpid(), so);
        int rc = system(cmd);
        remove(cpp);
        if (rc != 0) return cudaErrorInvalidSource;
    }
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!dl) return cudaErrorInvalidSource;
    *lib = (cudaLibrary_t)dl;
    return cudaSuccess;
}

cudaError_t cudaLibraryGetKernel(cudaKernel_t *k, cudaLibrary_t lib, const char *name)
{
    char sym[256];
    snprintf(sym, sizeof sym, "%s__emu", name);
    void *f = dlsym((void *)lib, sym);
    *k = (cudaKernel_t)f;
    return f ? cudaSuccess : cudaErrorSymbolNotFound;
}

cudaError_t cudaLibraryUnload(cudaLibrary_t lib)
{
    dlclose((void *)lib);
    return cudaSuccess;
}

cudaError_t cudaLaunchKernel(const void *func, dim3 grid, dim3 block, void **args, size_t smem,
                             cudaStream_t s)
{
    ((void (*)(void **, unsigned))func)(args, grid.x);
    return cudaSuccess;
}

/* ---- cuBLAS: column-major cblas ------------------------------------------------------------- */
cublasStatus_t cublasCreate_v2(cublasHandle_t *h)
{
    *h = (cublasHandle_t)(uintptr_t)0xb1a5;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h)
{
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s)
{
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m)
{
    return CUBLAS_STATUS_SUCCESS;
}

static enum CBLAS_TRANSPOSE tr(cublasOperation_t op)
{
    return op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const float *al, const float *a, int lda,
                              const float *b, int ldb, const float *be, float *c, int ldc)
{
    cblas_sgemm(CblasColMajor, tr(ta), tr(tb), m, n, k, *al, a, lda, b, ldb, *be, c, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const double *al, const double *a, int lda,
                              const double *b, int ldb, const double *be, double *c, int ldc)
{
    cblas_dgemm(CblasColMajor, tr(ta), tr(tb), m, n, k, *al, a, lda, b, ldb, *be, c, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemv_v2(cublasHandle_t h, cublasOperation_t t, int m, int n,
                              const float *al, const float *a, int lda, const float *x, int incx,
                              const float *be, float *y, int incy)
{
    cblas_sgemv(CblasColMajor, tr(t), m, n, *al, a, lda, x, incx, *be, y, incy);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDgemv_v2(cublasHandle_t h, cublasOperation_t t, int m, int n,
                              const double *al, const double *a, int lda, const double *x,
                              int incx, const double *be, double *y, int incy)
{
    cblas_dgemv(CblasColMajor, tr(t), m, n, *al, a, lda, x, incx, *be, y, incy);
    return CUBLAS_STATUS_SUCCESS;
}
