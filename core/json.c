/* json.c: JSON documents with source positions.
 *
 * cJSON builds the tree; it keeps no positions. A second, tiny scan of the same (already valid)
 * text records the byte offset where every JSON value starts, in document order. A pre-order walk
 * of the cJSON tree visits the values in the same order, so the k-th offset belongs to the k-th
 * item; the pairs are sorted by item address for lookups. Offsets become line:col through a table
 * of line starts. Duplicate keys in an object are rejected here (cJSON would keep both). */
#include "json.h"
#include "core-impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>

typedef struct item_pos {
    const cJSON *item;
    size_t off;    /* where the value starts */
    size_t keyoff; /* where its key starts (object members), else NO_KEY */
} item_pos;
#define NO_KEY ((size_t)-1)

struct sb_json {
    char *text;
    char *file;
    cJSON *root;
    item_pos *pos; /* sorted by item address */
    size_t npos, cappos;
    size_t *lines; /* byte offset where each line starts */
    size_t nlines;
    item_pos *offs; /* value (and key) offsets in document order (scan result; item unset) */
    size_t noffs, capoffs;
};

/* ---- positions of offsets --------------------------------------------------------------- */
static void index_lines(sb_json *j)
{
    size_t cap = 64;
    j->lines = sb_xmalloc(cap * sizeof *j->lines);
    j->lines[j->nlines++] = 0;
    for (size_t i = 0; j->text[i]; i++) {
        if (j->text[i] != '\n') continue;
        if (j->nlines == cap) j->lines = sb_xrealloc(j->lines, (cap *= 2) * sizeof *j->lines);
        j->lines[j->nlines++] = i + 1;
    }
}

/* 1-based line and column of byte offset off. Columns count characters (UTF-8 continuation
 * bytes and a leading byte order mark do not count), as editors show them. */
static void offset_where(const sb_json *j, size_t off, int *line, int *col)
{
    size_t lo = 0, hi = j->nlines; /* last line start <= off */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (j->lines[mid] <= off) lo = mid;
        else hi = mid;
    }
    size_t p = j->lines[lo];
    if (lo == 0 && !strncmp(j->text, "\xEF\xBB\xBF", 3) && off >= 3) p = 3;
    int c = 1;
    for (; p < off; p++) c += ((unsigned char)j->text[p] & 0xC0) != 0x80;
    *line = (int)lo + 1;
    *col = c;
}

/* ---- the value scanner -------------------------------------------------------------------- */
static size_t skip_ws(const char *s, size_t p)
{
    while (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r') p++;
    return p;
}

static size_t skip_string(const char *s, size_t p)
{
    SB_ASSERT(s[p] == '"');
    for (p++; s[p] && s[p] != '"'; p++)
        if (s[p] == '\\' && s[p + 1]) p++;
    return s[p] ? p + 1 : p;
}

static void push_off(sb_json *j, size_t off, size_t keyoff)
{
    if (j->noffs == j->capoffs) {
        j->capoffs = j->capoffs ? 2 * j->capoffs : 256;
        j->offs = sb_xrealloc(j->offs, j->capoffs * sizeof *j->offs);
    }
    j->offs[j->noffs++] = (item_pos){NULL, off, keyoff};
}

/* Record the offset of the value starting at p (and of every value inside it); return the offset
 * just past it. The text is valid JSON (cJSON accepted it), so the scan trusts its structure. */
static size_t scan_value(sb_json *j, size_t p, size_t keyoff)
{
    const char *s = j->text;
    p = skip_ws(s, p);
    push_off(j, p, keyoff);
    char open = s[p];
    if (open == '"') return skip_string(s, p);
    if (open != '{' && open != '[') {
        while (s[p] && !strchr(",]} \t\r\n", s[p])) p++;
        return p;
    }
    char close = open == '{' ? '}' : ']';
    p = skip_ws(s, p + 1);
    if (s[p] == close) return p + 1;
    for (;;) {
        size_t key = NO_KEY;
        if (open == '{') {
            key = skip_ws(s, p);
            p = skip_ws(s, skip_string(s, key));
            SB_ASSERT(s[p] == ':');
            p++;
        }
        p = skip_ws(s, scan_value(j, p, key));
        if (s[p] == ',') {
            p++;
            continue;
        }
        SB_ASSERT(s[p] == close);
        return p + 1;
    }
}

/* ---- pairing with the tree ---------------------------------------------------------------- */
/* Pre-order walk: pair item with the next scanned offset; *dup = the first member whose key
 * repeats an earlier key of its object. */
static void walk(sb_json *j, const cJSON *item, size_t *k, const cJSON **dup)
{
    SB_ASSERT(*k < j->noffs);
    if (j->npos == j->cappos) {
        j->cappos = j->cappos ? 2 * j->cappos : 256;
        j->pos = sb_xrealloc(j->pos, j->cappos * sizeof *j->pos);
    }
    j->pos[j->npos] = j->offs[(*k)++];
    j->pos[j->npos++].item = item;
    for (const cJSON *c = item->child; c; c = c->next) {
        walk(j, c, k, dup);
        if (!cJSON_IsObject(item) || *dup) continue;
        for (const cJSON *o = item->child; o != c && !*dup; o = o->next)
            if (!strcmp(o->string, c->string)) *dup = c;
    }
}

static int cmp_pos(const void *a, const void *b)
{
    const cJSON *x = ((const item_pos *)a)->item, *y = ((const item_pos *)b)->item;
    return x < y ? -1 : x > y;
}

/* ---- locating malformed JSON -------------------------------------------------------------- */
/* cJSON says only roughly where it stopped, so a small strict checker (RFC 8259) walks the text
 * to find the first error and name it. The first error wins: err is set once. */
typedef struct checker {
    const char *s;
    size_t err;      /* offset of the first error, or NO_KEY */
    char msg[160];
} checker;

static void what_is(const char *s, size_t p, char *buf, size_t n)
{
    unsigned char c = (unsigned char)s[p];
    if (!c) snprintf(buf, n, "end of input");
    else if (c < 0x20 || c >= 0x7f) snprintf(buf, n, "byte 0x%02x", c);
    else snprintf(buf, n, "'%c'", c);
}

static size_t fail(checker *k, size_t p, const char *expected)
{
    if (k->err != NO_KEY) return p;
    char found[32];
    what_is(k->s, p, found, sizeof found);
    k->err = p;
    if (expected) snprintf(k->msg, sizeof k->msg, "expected %s, found %s", expected, found);
    else snprintf(k->msg, sizeof k->msg, "unexpected %s", found);
    return p;
}

static size_t check_value(checker *k, size_t p, int depth);

static size_t check_string(checker *k, size_t p)
{
    const char *s = k->s;
    size_t open = p++;
    for (; s[p] != '"'; p++) {
        unsigned char c = (unsigned char)s[p];
        if (!c) {
            k->err = k->err == NO_KEY ? open : k->err;
            snprintf(k->msg, sizeof k->msg, "unterminated string");
            return p;
        }
        if (c < 0x20) return fail(k, p, "a character (control characters must be escaped)");
        if (c != '\\') continue;
        c = (unsigned char)s[++p];
        if (c == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char)s[p + i])) return fail(k, p + i, "a hex digit");
            p += 4;
        } else if (!c || !strchr("\"\\/bfnrt", c)) {
            return fail(k, p, "a valid escape");
        }
    }
    return p + 1;
}

static size_t digits(const char *s, size_t p)
{
    while (isdigit((unsigned char)s[p])) p++;
    return p;
}

static size_t check_number(checker *k, size_t p)
{
    const char *s = k->s;
    if (s[p] == '-') p++;
    if (s[p] == '0') p++;
    else if (isdigit((unsigned char)s[p])) p = digits(s, p);
    else return fail(k, p, "a digit");
    if (s[p] == '.') {
        if (!isdigit((unsigned char)s[p + 1])) return fail(k, p + 1, "a digit");
        p = digits(s, p + 1);
    }
    if (s[p] == 'e' || s[p] == 'E') {
        p++;
        if (s[p] == '+' || s[p] == '-') p++;
        if (!isdigit((unsigned char)s[p])) return fail(k, p, "a digit");
        p = digits(s, p);
    }
    return p;
}

/* An object or array after its opening bracket at p. */
static size_t check_container(checker *k, size_t p, int depth)
{
    const char *s = k->s;
    bool obj = s[p] == '{';
    char close = obj ? '}' : ']';
    p = skip_ws(s, p + 1);
    if (s[p] == close) return p + 1;
    for (;;) {
        if (obj) {
            p = skip_ws(s, p);
            if (s[p] != '"') return fail(k, p, "a string key");
            p = skip_ws(s, check_string(k, p));
            if (k->err != NO_KEY) return p;
            if (s[p] != ':') return fail(k, p, "':'");
            p++;
        }
        p = skip_ws(s, check_value(k, p, depth + 1));
        if (k->err != NO_KEY) return p;
        if (s[p] == close) return p + 1;
        if (s[p] != ',') return fail(k, p, obj ? "',' or '}'" : "',' or ']'");
        p = skip_ws(s, p + 1);
        if (s[p] == close) return fail(k, p, obj ? "a key after ','" : "a value after ','");
    }
}

static size_t check_value(checker *k, size_t p, int depth)
{
    const char *s = k->s;
    p = skip_ws(s, p);
    if (depth > 1000) return fail(k, p, "less nesting (at most 1000 levels)");
    switch (s[p]) {
    case '{': case '[': return check_container(k, p, depth);
    case '"': return check_string(k, p);
    case 't': case 'f': case 'n': {
        const char *lit = s[p] == 't' ? "true" : s[p] == 'f' ? "false" : "null";
        size_t n = strlen(lit);
        if (strncmp(s + p, lit, n) || isalnum((unsigned char)s[p + n])) return fail(k, p, "a value");
        return p + n;
    }
    default:
        if (s[p] == '-' || isdigit((unsigned char)s[p])) return check_number(k, p);
        return fail(k, p, "a value");
    }
}

/* Report malformed text: the checker's first error, else cJSON's offset. */
static sb_status syntax_error(sb_json *j, size_t cjson_off, sb_diag *d)
{
    checker k = {j->text, NO_KEY, ""};
    size_t start = strncmp(j->text, "\xEF\xBB\xBF", 3) ? 0 : 3; /* a UTF-8 byte order mark */
    size_t end = skip_ws(j->text, check_value(&k, start, 0));
    if (k.err == NO_KEY && j->text[end]) fail(&k, end, "end of input after the JSON value");
    if (k.err == NO_KEY) {
        k.err = cjson_off;
        snprintf(k.msg, sizeof k.msg, "cannot be parsed");
    }
    int line, col;
    offset_where(j, k.err, &line, &col);
    return sb_diag_set(d, SB_ERR_SYNTAX, j->file, line, col, "malformed JSON: %s", k.msg);
}

sb_json *sb_json_parse(const char *text, const char *file, sb_diag *d)
{
    sb_json *j = sb_xcalloc(1, sizeof *j);
    j->text = sb_xstrdup(text);
    j->file = sb_xstrdup(file ? file : "<json>");
    index_lines(j);
    const char *end = NULL;
    j->root = cJSON_ParseWithOpts(j->text, &end, true);
    if (!j->root) {
        size_t off = end && end >= j->text ? (size_t)(end - j->text) : 0;
        if (off > strlen(j->text)) off = strlen(j->text);
        syntax_error(j, off, d);
        sb_json_free(j);
        return NULL;
    }
    scan_value(j, strncmp(j->text, "\xEF\xBB\xBF", 3) ? 0 : 3, NO_KEY); /* cJSON skips a BOM */
    size_t k = 0;
    const cJSON *dup = NULL;
    walk(j, j->root, &k, &dup);
    SB_ASSERT(k == j->noffs);
    qsort(j->pos, j->npos, sizeof *j->pos, cmp_pos);
    free(j->offs);
    j->offs = NULL;
    if (dup) {
        sb_json_key_error(j, dup, SB_ERR_SYNTAX, d, "duplicate key '%s'", dup->string);
        sb_json_free(j);
        return NULL;
    }
    return j;
}

sb_json *sb_json_load_file(const char *path, sb_diag *d)
{
    char *text = sb_read_file(path, NULL, d);
    if (!text) return NULL;
    sb_json *j = sb_json_parse(text, path, d);
    free(text);
    return j;
}

void sb_json_free(sb_json *j)
{
    if (!j) return;
    cJSON_Delete(j->root);
    free(j->text);
    free(j->file);
    free(j->pos);
    free(j->lines);
    free(j->offs);
    free(j);
}

cJSON *sb_json_root(const sb_json *j) { return j->root; }
const char *sb_json_file(const sb_json *j) { return j->file; }

/* Byte offset of item (of its key when `key` and it has one), or (size_t)-1 when it is not of
 * this document. */
static size_t item_offset(const sb_json *j, const cJSON *item, bool key)
{
    if (!j || !item) return (size_t)-1;
    item_pos k = {item, 0, NO_KEY};
    const item_pos *p = bsearch(&k, j->pos, j->npos, sizeof *j->pos, cmp_pos);
    if (!p) return (size_t)-1;
    return key && p->keyoff != NO_KEY ? p->keyoff : p->off;
}

void sb_json_pos(const sb_json *j, const cJSON *item, int *line, int *col)
{
    size_t off = item_offset(j, item, false);
    if (off == (size_t)-1) {
        *line = *col = 0;
        return;
    }
    offset_where(j, off, line, col);
}

sb_srcpos sb_json_str_pos(const sb_json *j, const cJSON *item)
{
    sb_srcpos sp = {j ? j->file : NULL, 0, 0};
    size_t off = item_offset(j, item, false);
    if (off == (size_t)-1) return sp;
    offset_where(j, off + (j->text[off] == '"'), &sp.line, &sp.col);
    return sp;
}

sb_status sb_json_error(const sb_json *j, const cJSON *item, sb_status st, sb_diag *d,
                        const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    sb_json_pos(j, item, &line, &col);
    return sb_diag_set(d, st, j ? j->file : NULL, line, col, "%s", msg);
}

sb_status sb_json_key_error(const sb_json *j, const cJSON *item, sb_status st, sb_diag *d,
                            const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    size_t off = item_offset(j, item, true);
    if (off != (size_t)-1) offset_where(j, off, &line, &col);
    return sb_diag_set(d, st, j ? j->file : NULL, line, col, "%s", msg);
}

/* Bytes the escape at raw (just after a backslash) stands for in the decoded string, and how many
 * raw bytes it takes (*rawlen). \uXXXX gives UTF-8 (a surrogate pair, 12 raw bytes, gives 4). */
static int escape_size(const char *raw, size_t *rawlen)
{
    if (raw[0] != 'u') {
        *rawlen = 2;
        return 1;
    }
    unsigned cp = (unsigned)strtoul((char[5]){raw[1], raw[2], raw[3], raw[4], 0}, NULL, 16);
    *rawlen = 6;
    if (cp >= 0xd800 && cp < 0xdc00 && raw[5] == '\\' && raw[6] == 'u') {
        *rawlen = 12;
        return 4;
    }
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
}

sb_status sb_json_str_fix(const sb_json *j, const cJSON *item, sb_diag *d)
{
    if (!d || !d->status || !cJSON_IsString(item) || strcmp(d->file, j->file)) return SB_OK;
    size_t start = item_offset(j, item, false);
    if (start == (size_t)-1 || j->text[start] != '"') return d->status;
    sb_srcpos sp = sb_json_str_pos(j, item);
    const char *text = item->valuestring;
    size_t doff = 0; /* the decoded offset the parser meant by d->line:d->col */
    for (int l = sp.line, c = sp.col; !(l == d->line && c == d->col); doff++) {
        if (!text[doff]) return d->status; /* not inside this string */
        if (text[doff] == '\n') l++, c = 1;
        else c++;
    }
    size_t raw = start + 1;
    for (size_t k = 0; k < doff; raw++, k++) {
        if (j->text[raw] != '\\') continue;
        size_t rawlen;
        k += (size_t)escape_size(j->text + raw + 1, &rawlen) - 1;
        raw += rawlen - 1;
    }
    offset_where(j, raw, &d->line, &d->col);
    return d->status;
}

char *sb_read_file(const char *path, size_t *len, sb_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = sb_xmalloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break;
        buf = sb_xrealloc(buf, cap *= 2);
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(buf);
        sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot read: %s", strerror(err));
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

sb_status sb_write_file(const char *path, const void *data, size_t n, sb_diag *d)
{
    FILE *f = fopen(path, "wb");
    if (!f) return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "cannot open for writing: %s", strerror(errno));
    bool ok = fwrite(data, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok) return sb_diag_set(d, SB_ERR_IO, path, 0, 0, "write failed: %s", strerror(errno));
    return SB_OK;
}

sb_status sb_json_check_keys(const sb_json *j, const cJSON *obj, const char *const *allowed,
                             const char *extra, const char *what, sb_diag *d)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (extra && !strcmp(c->string, extra)) continue;
        int k = 0;
        while (allowed[k] && strcmp(allowed[k], c->string)) k++;
        if (!allowed[k])
            return sb_json_key_error(j, c, SB_ERR_SYNTAX, d, "unknown key '%s' in %s", c->string,
                                     what);
    }
    return SB_OK;
}
