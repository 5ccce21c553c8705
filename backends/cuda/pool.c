/* pool.c: the device memory pool. Blocks come in size classes (sb_cu_pool_class); a released
 * block stays allocated and goes back to its class's free list, so a program run twice with the
 * same shapes makes no cudaMalloc the second time. The pool is process-wide (one device) and
 * small (tens to hundreds of blocks): a linear table is enough. */
#include "backends/cuda/cu-impl.h"

#include <pthread.h>

typedef struct block {
    void *p;
    size_t size;
    bool used;
} block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static block *blocks;
static int nblocks, capblocks;
static sb_cu_pool_stats stats;

size_t sb_cu_pool_class(size_t n)
{
    if (n <= 256) return 256;
    size_t p = 256;
    while (p * 2 < n) p *= 2; /* p < n <= 2p */
    size_t step = p / 8;
    return (n + step - 1) / step * step;
}

/* A free block of exactly class c, or -1. */
static int find_free(size_t c)
{
    for (int i = 0; i < nblocks; i++)
        if (!blocks[i].used && blocks[i].size == c) return i;
    return -1;
}

void *sb_cu_pool_alloc(size_t n, sb_diag *d)
{
    size_t c = sb_cu_pool_class(n);
    pthread_mutex_lock(&lock);
    int i = find_free(c);
    void *p = NULL;
    if (i >= 0) {
        blocks[i].used = true;
        p = blocks[i].p;
        stats.reuses++;
    } else if (!SB_CU_CHECK(cudaMalloc(&p, c), d)) {
        if (nblocks == capblocks)
            blocks = sb_xrealloc(blocks, sizeof *blocks * (size_t)(capblocks = capblocks * 2 + 64));
        blocks[nblocks++] = (block){p, c, true};
        stats.mallocs++;
        stats.bytes_held += c;
    } else {
        p = NULL;
    }
    if (p) stats.live++;
    pthread_mutex_unlock(&lock);
    return p;
}

void sb_cu_pool_release(void *p)
{
    if (!p) return;
    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < nblocks && blocks[i].p != p) i++;
    SB_ASSERT(i < nblocks && blocks[i].used);
    blocks[i].used = false;
    stats.live--;
    pthread_mutex_unlock(&lock);
}

void sb_cu_pool_trim(void)
{
    pthread_mutex_lock(&lock);
    int k = 0;
    for (int i = 0; i < nblocks; i++) {
        if (blocks[i].used) {
            blocks[k++] = blocks[i];
            continue;
        }
        SB_CU_CHECK(cudaFree(blocks[i].p), NULL);
        stats.bytes_held -= blocks[i].size;
    }
    nblocks = k;
    pthread_mutex_unlock(&lock);
}

void sb_cu_pool_stats_get(sb_cu_pool_stats *s)
{
    pthread_mutex_lock(&lock);
    *s = stats;
    pthread_mutex_unlock(&lock);
}
