/* util.c: allocation that aborts on OOM, the arena, pointer vectors, hashing, panics. */
#include "core-impl.h"

#include <stdarg.h>
#include <stdio.h>

_Noreturn void sb_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "symbench: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *sb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) sb_panic(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
    return p;
}

void *sb_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) sb_panic(__FILE__, __LINE__, "out of memory (%zu x %zu bytes)", n, sz);
    return p;
}

void *sb_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) sb_panic(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
    return p;
}

char *sb_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sb_xmalloc(n), s, n);
}

char *sb_xasprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = sb_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

/* ---- arena ------------------------------------------------------------------------------- */
struct sb_arena_block {
    sb_arena_block *prev;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

void *sb_arena_alloc(sb_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->used + n > a->cap) {
        size_t cap = n > 64 * 1024 ? n : 64 * 1024;
        sb_arena_block *b = sb_xmalloc(sizeof *b + cap);
        b->prev = a->head;
        b->cap = cap;
        a->head = b;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return memset(p, 0, n);
}

char *sb_arena_strdup(sb_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sb_arena_alloc(a, n), s, n);
}

void sb_arena_free(sb_arena *a)
{
    for (sb_arena_block *b = a->head, *p; b; b = p) {
        p = b->prev;
        free(b);
    }
    memset(a, 0, sizeof *a);
}

/* ---- pointer vector ---------------------------------------------------------------------- */
void sb_ptrvec_push(sb_ptrvec *pv, void *p)
{
    if (pv->n == pv->cap) {
        pv->cap = pv->cap ? 2 * pv->cap : 16;
        pv->v = sb_xrealloc(pv->v, (size_t)pv->cap * sizeof *pv->v);
    }
    pv->v[pv->n++] = p;
}

void sb_ptrvec_free(sb_ptrvec *pv)
{
    free(pv->v);
    memset(pv, 0, sizeof *pv);
}

/* FNV-1a folded with a final avalanche (splitmix64): fast, and good enough for hash-consing. */
uint64_t sb_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

int sb_axis_norm(int64_t axis, int ndim)
{
    if (axis < 0) axis += ndim;
    return axis < 0 || axis >= ndim ? -1 : (int)axis;
}
