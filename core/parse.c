/* parse.c: the expression syntax, text to hash-consed nodes (sb_parse_expr).
 *
 * Two steps. The grammar (Python's precedence, see docs/syntax.md) builds a small syntax tree in
 * an arena; the builder then walks it and makes nodes with sb_apply. The tree step is what lets
 * `-1` fold into a constant while `-1 ** 2` stays -(1 ** 2), an index on `split(x, 3)[1]` pick
 * the part, and `set_subtensor(x[i:j], y)` read its first argument as an index rather than a
 * value. Every error is reported at the offset of the token that caused it.
 *
 *   expr    := or
 *   or      := and ('or' and)*            and := not ('and' not)*
 *   not     := 'not' not | compare        compare := bor [cmp bor]   (no chains)
 *   bor     := band ('|' band)*           band := arith ('&' arith)*
 *   arith   := term (('+'|'-') term)*     term := unary (('*'|'/'|'//'|'%'|'@') unary)*
 *   unary   := ('-'|'+'|'~') unary | power
 *   power   := postfix ['**' unary]
 *   postfix := primary ( '(' args ')' | '[' items ']' | '.' NAME ['(' args ')'] )*
 *   primary := NUMBER | STRING | NAME | ?NAME | '(' [expr (',' expr)* [',']] ')' | '[' list ']'
 */
#include "syntax.h"

#include <math.h>
#include <stdarg.h>

/* ---- syntax tree ------------------------------------------------------------------------- */
typedef enum ast_kind {
    A_NUM,      /* is_int ? ival : fval */
    A_NAME,     /* s */
    A_STR,      /* s */
    A_PVAR,     /* s (without '?') */
    A_TUPLE,    /* kid[] */
    A_LIST,     /* kid[] */
    A_UNARY,    /* op (MINUS or TILDE), a */
    A_BINARY,   /* op, a, b */
    A_CALL,     /* s = function, kid[] = arguments (A_KWARG for keywords); method: kid[0] = self */
    A_ATTR,     /* a.s */
    A_INDEX,    /* a[kid...] */
    A_SLICE,    /* kid[0..3) = start, stop, step (NULL = absent) */
    A_KWARG,    /* s = a */
    A_ELLIPSIS, /* ... */
} ast_kind;

typedef struct ast ast;
struct ast {
    ast_kind kind;
    sb_tok_kind op;
    size_t pos;  /* offset of its token: operator, name, bracket */
    bool paren;  /* written inside parentheses */
    bool is_int; /* A_NUM */
    bool method; /* A_CALL written self.f(...) */
    int64_t ival;
    double fval;
    const char *s;
    ast *a, *b;
    ast **kid;
    int nkid;
    int height; /* 1 + the tallest child: bounds the builder's and printer's recursion */
};

#define MAX_DEPTH 1000   /* nesting of parentheses, calls and unary operators */
#define MAX_HEIGHT 20000 /* operations in a chain such as a + b + ... */

typedef struct parser {
    sb_syn_src src;
    size_t at;    /* lexer position after tok */
    sb_token tok; /* current token */
    sb_arena arena;
    int depth;
    sb_ctx *ctx;
    const sb_scope *scope;
} parser;

static ast *new_ast(parser *p, ast_kind k, size_t pos)
{
    ast *e = sb_arena_alloc(&p->arena, sizeof *e);
    e->kind = k;
    e->pos = pos;
    return e;
}

static const char *tok_text(parser *p, size_t start, size_t len)
{
    char *s = sb_arena_alloc(&p->arena, len + 1);
    memcpy(s, p->src.text + start, len);
    return s;
}

static bool next(parser *p)
{
    return sb_syn_lex(&p->src, &p->at, &p->tok) == SB_OK;
}

static bool is_name(const parser *p, const char *kw)
{
    return p->tok.kind == SB_TOK_NAME && strlen(kw) == p->tok.len &&
           !memcmp(p->src.text + p->tok.start, kw, p->tok.len);
}

static void *unexpected(parser *p)
{
    char buf[64];
    if (p->tok.kind == SB_TOK_EOF)
        sb_syn_error(&p->src, p->tok.start, SB_ERR_SYNTAX, "expected an expression");
    else
        sb_syn_error(&p->src, p->tok.start, SB_ERR_SYNTAX, "unexpected %s",
                     sb_syn_tok_str(&p->src, &p->tok, buf, sizeof buf));
    return NULL;
}

static bool expect(parser *p, sb_tok_kind k, const char *what)
{
    if (p->tok.kind == k) return next(p);
    char buf[64];
    sb_syn_error(&p->src, p->tok.start, SB_ERR_SYNTAX, "expected %s, found %s", what,
                 sb_syn_tok_str(&p->src, &p->tok, buf, sizeof buf));
    return false;
}

/* Copy a temporary vector of children into the arena and release it. */
static void set_kids(parser *p, ast *e, sb_ptrvec *v)
{
    e->nkid = v->n;
    e->kid = sb_arena_alloc(&p->arena, (size_t)(v->n ? v->n : 1) * sizeof *e->kid);
    if (v->n) memcpy(e->kid, v->v, (size_t)v->n * sizeof *e->kid);
    sb_ptrvec_free(v);
}

static ast *parse_expr(parser *p);
static ast *parse_unary(parser *p);

/* Set e's height from its children; NULL (an error) past MAX_HEIGHT. */
static ast *finish(parser *p, ast *e)
{
    int h = 0;
    if (e->a && e->a->height > h) h = e->a->height;
    if (e->b && e->b->height > h) h = e->b->height;
    for (int i = 0; i < e->nkid; i++)
        if (e->kid[i] && e->kid[i]->height > h) h = e->kid[i]->height;
    e->height = h + 1;
    if (e->height <= MAX_HEIGHT) return e;
    sb_syn_error(&p->src, e->pos, SB_ERR_SYNTAX, "expression too deep (more than %d operations)",
                 MAX_HEIGHT);
    return NULL;
}

static ast *binary(parser *p, sb_tok_kind op, size_t pos, ast *a, ast *b)
{
    if (!b) return NULL;
    ast *e = new_ast(p, A_BINARY, pos);
    e->op = op;
    e->a = a;
    e->b = b;
    return finish(p, e);
}

/* A comma-separated sequence up to `close`; each element by parse_expr (or a keyword argument
 * when `kwargs`). Returns false on error (v is then freed). */
static bool parse_seq(parser *p, sb_tok_kind close, const char *what, bool kwargs, sb_ptrvec *v,
                      bool *trailing_comma)
{
    bool seen_kw = false;
    *trailing_comma = false;
    while (p->tok.kind != close) {
        ast *e;
        sb_token t = p->tok;
        size_t at = p->at;
        sb_token peek;
        if (kwargs && t.kind == SB_TOK_NAME && sb_syn_lex(&p->src, &at, &peek) == SB_OK &&
            peek.kind == SB_TOK_ASSIGN) {
            e = new_ast(p, A_KWARG, t.start);
            e->s = tok_text(p, t.start, t.len);
            p->at = at;
            e->a = next(p) ? parse_expr(p) : NULL;
            if (!e->a || !finish(p, e)) goto fail;
            seen_kw = true;
        } else {
            if (p->src.d && p->src.d->status) goto fail; /* the peek failed to lex */
            e = parse_expr(p);
            if (!e) goto fail;
            if (seen_kw) {
                sb_syn_error(&p->src, e->pos, SB_ERR_SYNTAX,
                             "positional argument follows keyword argument");
                goto fail;
            }
        }
        sb_ptrvec_push(v, e);
        *trailing_comma = false;
        if (p->tok.kind != SB_TOK_COMMA) break;
        if (!next(p)) goto fail;
        *trailing_comma = true;
    }
    if (expect(p, close, what)) return true;
fail:
    sb_ptrvec_free(v);
    return false;
}

/* '(' already seen at `pos`: a parenthesized expression or a tuple. */
static ast *parse_paren(parser *p, size_t pos)
{
    sb_ptrvec v = {0};
    bool comma;
    if (!parse_seq(p, SB_TOK_RPAREN, "')'", false, &v, &comma)) return NULL;
    if (v.n == 1 && !comma) {
        ast *e = v.v[0];
        sb_ptrvec_free(&v);
        e->paren = true;
        return e;
    }
    ast *e = new_ast(p, A_TUPLE, pos);
    set_kids(p, e, &v);
    return finish(p, e);
}

static ast *parse_primary(parser *p)
{
    sb_token t = p->tok;
    ast *e;
    switch (t.kind) {
    case SB_TOK_INT:
    case SB_TOK_FLOAT:
        e = new_ast(p, A_NUM, t.start);
        e->is_int = t.kind == SB_TOK_INT;
        e->ival = t.ival;
        e->fval = t.kind == SB_TOK_INT ? (double)t.ival : t.fval;
        return next(p) ? e : NULL;
    case SB_TOK_NAME:
        e = new_ast(p, A_NAME, t.start);
        e->s = tok_text(p, t.start, t.len);
        if (!strcmp(e->s, "inf") || !strcmp(e->s, "nan")) { /* reserved float literals */
            e->kind = A_NUM;
            e->fval = e->s[0] == 'i' ? INFINITY : NAN;
        }
        return next(p) ? e : NULL;
    case SB_TOK_STR:
        e = new_ast(p, A_STR, t.start);
        e->s = tok_text(p, t.start + 1, t.len - 2);
        return next(p) ? e : NULL;
    case SB_TOK_PVAR:
        e = new_ast(p, A_PVAR, t.start);
        e->s = tok_text(p, t.start + 1, t.len - 1);
        return next(p) ? e : NULL;
    case SB_TOK_LPAREN:
        return next(p) ? parse_paren(p, t.start) : NULL;
    case SB_TOK_LBRACK: {
        sb_ptrvec v = {0};
        bool comma;
        if (!next(p) || !parse_seq(p, SB_TOK_RBRACK, "']'", false, &v, &comma)) return NULL;
        e = new_ast(p, A_LIST, t.start);
        set_kids(p, e, &v);
        return finish(p, e);
    }
    default:
        return unexpected(p);
    }
}

/* One index item: '...', an expression, or a slice [start] ':' [stop] [':' [step]]. */
static ast *parse_index_item(parser *p)
{
    if (p->tok.kind == SB_TOK_ELLIPSIS) {
        ast *e = new_ast(p, A_ELLIPSIS, p->tok.start);
        return next(p) ? e : NULL;
    }
    size_t pos = p->tok.start;
    ast *first = NULL;
    if (p->tok.kind != SB_TOK_COLON && !(first = parse_expr(p))) return NULL;
    if (p->tok.kind != SB_TOK_COLON) return first;
    ast *s = new_ast(p, A_SLICE, pos);
    s->nkid = 3;
    s->kid = sb_arena_alloc(&p->arena, 3 * sizeof *s->kid);
    s->kid[0] = first;
    for (int k = 1; k < 3 && p->tok.kind == SB_TOK_COLON; k++) {
        if (!next(p)) return NULL;
        sb_tok_kind t = p->tok.kind;
        if (t != SB_TOK_COLON && t != SB_TOK_COMMA && t != SB_TOK_RBRACK &&
            !(s->kid[k] = parse_expr(p)))
            return NULL;
    }
    return s;
}

static ast *parse_index(parser *p, ast *base, size_t pos)
{
    sb_ptrvec v = {0};
    do {
        if (!next(p)) goto fail;
        if (p->tok.kind == SB_TOK_RBRACK && v.n) break; /* trailing comma */
        ast *it = parse_index_item(p);
        if (!it) goto fail;
        sb_ptrvec_push(&v, it);
    } while (p->tok.kind == SB_TOK_COMMA);
    if (!expect(p, SB_TOK_RBRACK, "']'")) goto fail;
    ast *e = new_ast(p, A_INDEX, pos);
    e->a = base;
    set_kids(p, e, &v);
    return finish(p, e);
fail:
    sb_ptrvec_free(&v);
    return NULL;
}

/* Arguments of a call to `name` (the '(' is the current token); self = the method's object. */
static ast *parse_call(parser *p, const char *name, size_t pos, ast *self)
{
    sb_ptrvec v = {0};
    bool comma;
    if (self) sb_ptrvec_push(&v, self);
    if (!next(p)) {
        sb_ptrvec_free(&v);
        return NULL;
    }
    if (!parse_seq(p, SB_TOK_RPAREN, "')'", true, &v, &comma)) return NULL;
    ast *e = new_ast(p, A_CALL, pos);
    e->s = name;
    e->method = self != NULL;
    set_kids(p, e, &v);
    return finish(p, e);
}

static ast *parse_postfix(parser *p)
{
    ast *e = parse_primary(p);
    while (e) {
        size_t pos = p->tok.start;
        if (p->tok.kind == SB_TOK_LPAREN) {
            if (e->kind != A_NAME || e->paren) {
                sb_syn_error(&p->src, pos, SB_ERR_SYNTAX, "only a function name can be called");
                return NULL;
            }
            e = parse_call(p, e->s, e->pos, NULL);
        } else if (p->tok.kind == SB_TOK_LBRACK) {
            e = parse_index(p, e, pos);
        } else if (p->tok.kind == SB_TOK_DOT) {
            if (!next(p)) return NULL;
            if (p->tok.kind != SB_TOK_NAME) {
                sb_syn_error(&p->src, p->tok.start, SB_ERR_SYNTAX, "expected a name after '.'");
                return NULL;
            }
            const char *name = tok_text(p, p->tok.start, p->tok.len);
            size_t npos = p->tok.start;
            if (!next(p)) return NULL;
            if (p->tok.kind == SB_TOK_LPAREN) {
                e = parse_call(p, name, npos, e);
            } else {
                ast *a = new_ast(p, A_ATTR, npos);
                a->s = name;
                a->a = e;
                e = finish(p, a);
            }
        } else {
            break;
        }
    }
    return e;
}

static ast *parse_power(parser *p)
{
    ast *e = parse_postfix(p);
    if (!e || p->tok.kind != SB_TOK_POW) return e;
    size_t pos = p->tok.start;
    return next(p) ? binary(p, SB_TOK_POW, pos, e, parse_unary(p)) : NULL;
}

/* Unary minus on a bare literal folds into a negative constant (`-1`, `-inf`), as NumPy users
 * read it; `-(1)` and `-1 ** 2` stay a negation. */
static ast *parse_unary(parser *p)
{
    sb_tok_kind k = p->tok.kind;
    if (k != SB_TOK_MINUS && k != SB_TOK_PLUS && k != SB_TOK_TILDE) return parse_power(p);
    size_t pos = p->tok.start;
    if (++p->depth > MAX_DEPTH) {
        sb_syn_error(&p->src, pos, SB_ERR_SYNTAX, "expression nested too deeply");
        return NULL;
    }
    ast *a = next(p) ? parse_unary(p) : NULL;
    p->depth--;
    if (!a || k == SB_TOK_PLUS) return a;
    if (k == SB_TOK_MINUS && a->kind == A_NUM && !a->paren) {
        a->ival = -a->ival;
        a->fval = -a->fval;
        a->pos = pos;
        return a;
    }
    ast *e = new_ast(p, A_UNARY, pos);
    e->op = k;
    e->a = a;
    return finish(p, e);
}

static bool is_term_op(sb_tok_kind k)
{
    return k == SB_TOK_STAR || k == SB_TOK_SLASH || k == SB_TOK_DSLASH || k == SB_TOK_PERCENT ||
           k == SB_TOK_AT;
}

static bool is_cmp_op(sb_tok_kind k)
{
    return k >= SB_TOK_LT && k <= SB_TOK_NE;
}

/* Left-associative binary levels, from band (level 0) down to term (level 2). */
static ast *parse_level(parser *p, int level)
{
    ast *e = level == 3 ? parse_unary(p) : parse_level(p, level + 1);
    for (;;) {
        sb_tok_kind k = p->tok.kind;
        bool ok = level == 0   ? k == SB_TOK_AMP
                  : level == 1 ? k == SB_TOK_PLUS || k == SB_TOK_MINUS
                  : level == 2 ? is_term_op(k)
                               : false;
        if (!e || !ok) return e;
        size_t pos = p->tok.start;
        e = next(p) ? binary(p, k, pos, e, level == 2 ? parse_unary(p) : parse_level(p, level + 1))
                    : NULL;
    }
}

static ast *parse_bor(parser *p)
{
    ast *e = parse_level(p, 0);
    while (e && p->tok.kind == SB_TOK_PIPE) {
        size_t pos = p->tok.start;
        e = next(p) ? binary(p, SB_TOK_PIPE, pos, e, parse_level(p, 0)) : NULL;
    }
    return e;
}

static ast *parse_compare(parser *p)
{
    ast *e = parse_bor(p);
    if (!e || !is_cmp_op(p->tok.kind)) return e;
    sb_tok_kind k = p->tok.kind;
    size_t pos = p->tok.start;
    e = next(p) ? binary(p, k, pos, e, parse_bor(p)) : NULL;
    if (e && is_cmp_op(p->tok.kind)) {
        sb_syn_error(&p->src, p->tok.start, SB_ERR_SYNTAX,
                     "chained comparisons are not supported: write (a < b) & (b < c)");
        return NULL;
    }
    return e;
}

/* 'not' / 'and' / 'or' are Python's spellings of ~ & |, with Python's (lower) precedence. */
static ast *parse_not(parser *p)
{
    if (!is_name(p, "not")) return parse_compare(p);
    size_t pos = p->tok.start;
    if (++p->depth > MAX_DEPTH) {
        sb_syn_error(&p->src, pos, SB_ERR_SYNTAX, "expression nested too deeply");
        return NULL;
    }
    ast *a = next(p) ? parse_not(p) : NULL;
    p->depth--;
    if (!a) return NULL;
    ast *e = new_ast(p, A_UNARY, pos);
    e->op = SB_TOK_TILDE;
    e->a = a;
    return finish(p, e);
}

static ast *parse_and(parser *p)
{
    ast *e = parse_not(p);
    while (e && is_name(p, "and")) {
        size_t pos = p->tok.start;
        e = next(p) ? binary(p, SB_TOK_AMP, pos, e, parse_not(p)) : NULL;
    }
    return e;
}

static ast *parse_expr(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        sb_syn_error(&p->src, p->tok.start, SB_ERR_SYNTAX, "expression nested too deeply");
        return NULL;
    }
    ast *e = parse_and(p);
    while (e && is_name(p, "or")) {
        size_t pos = p->tok.start;
        e = next(p) ? binary(p, SB_TOK_PIPE, pos, e, parse_and(p)) : NULL;
    }
    p->depth--;
    return e;
}

/* ---- builder: syntax tree to nodes ------------------------------------------------------- */
static sb_node *build(parser *p, const ast *e);

static sb_node *fail(parser *p, size_t pos, sb_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sb_node *fail(parser *p, size_t pos, sb_status st, const char *fmt, ...)
{
    char msg[sizeof p->src.d->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sb_syn_error(&p->src, pos, st, "%s", msg);
    return NULL;
}

/* sb_apply, with its type/shape error re-reported at the operator or call that built it. */
static sb_node *apply(parser *p, size_t pos, sb_op op, int nin, sb_node *const *in,
                      const sb_attrs *a)
{
    sb_diag d = {0};
    sb_node *n = sb_apply(p->ctx, op, nin, in, a, &d);
    if (!n) fail(p, pos, d.status ? d.status : SB_ERR_TYPE, "%s", d.msg[0] ? d.msg : "error");
    return n;
}

static bool typed(const sb_node *n)
{
    return n->type.dtype != SB_DTYPE_COUNT;
}

/* ---- literal arguments: ints, tuples of ints, bools, dtypes, numbers --------------------- */
static bool name_is(const ast *e, const char *s)
{
    return e && e->kind == A_NAME && !e->paren && !strcmp(e->s, s);
}

static bool get_int(parser *p, const ast *e, const char *what, int64_t *v)
{
    if (e->kind == A_NUM && e->is_int) {
        *v = e->ival;
        return true;
    }
    fail(p, e->pos, SB_ERR_SYNTAX, "%s must be an integer literal", what);
    return false;
}

/* An int or a tuple/list of ints (at most SB_MAX_DIMS). */
static bool get_ints(parser *p, const ast *e, const char *what, int64_t *v, int *n)
{
    if (e->kind != A_TUPLE && e->kind != A_LIST) {
        *n = 1;
        return get_int(p, e, what, v);
    }
    if (e->nkid > SB_MAX_DIMS)
        return fail(p, e->pos, SB_ERR_SYNTAX, "%s: at most %d entries", what, SB_MAX_DIMS), false;
    *n = e->nkid;
    for (int i = 0; i < e->nkid; i++)
        if (!get_int(p, e->kid[i], what, &v[i])) return false;
    return true;
}

static bool get_bool(parser *p, const ast *e, const char *what, bool *v)
{
    if (name_is(e, "True") || name_is(e, "False")) {
        *v = e->s[0] == 'T';
        return true;
    }
    if (e->kind == A_NUM && e->is_int && (e->ival == 0 || e->ival == 1)) {
        *v = e->ival == 1;
        return true;
    }
    fail(p, e->pos, SB_ERR_SYNTAX, "%s must be True or False", what);
    return false;
}

static bool get_dtype(parser *p, const ast *e, sb_dtype *dt)
{
    if (e->kind == A_STR || e->kind == A_NAME) {
        *dt = sb_dtype_from_name(e->s);
        if (*dt != SB_DTYPE_COUNT) return true;
        fail(p, e->pos, SB_ERR_TYPE, "unknown dtype '%s'", e->s);
        return false;
    }
    fail(p, e->pos, SB_ERR_SYNTAX, "dtype must be a name such as 'float32'");
    return false;
}

/* A number literal, True/False, inf or nan. */
static bool get_number(parser *p, const ast *e, const char *what, double *v)
{
    if (e->kind == A_NUM) {
        *v = e->fval;
        return true;
    }
    bool b;
    if ((name_is(e, "True") || name_is(e, "False")) && get_bool(p, e, what, &b)) {
        *v = b;
        return true;
    }
    fail(p, e->pos, SB_ERR_SYNTAX, "%s must be a number literal", what);
    return false;
}

/* Normalize axes[0..n) against ndim (negative counts from the end) and check their range; with
 * `sort`, sort them and reject repeats. Does nothing for untyped (pattern) inputs. */
static bool norm_axes(parser *p, size_t pos, bool known, int ndim, int64_t *ax, int n, bool sort)
{
    if (!known) return true;
    for (int i = 0; i < n; i++) {
        int a = sb_axis_norm(ax[i], ndim);
        if (a < 0)
            return fail(p, pos, SB_ERR_TYPE, "axis %lld is out of range for %d dimension%s",
                        (long long)ax[i], ndim, ndim == 1 ? "" : "s"),
                   false;
        ax[i] = a;
    }
    for (int i = 1; sort && i < n; i++) {
        int64_t t = ax[i];
        int j = i;
        for (; j > 0 && ax[j - 1] > t; j--) ax[j] = ax[j - 1];
        ax[j] = t;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ax[i] == ax[j])
                return fail(p, pos, SB_ERR_TYPE, "repeated axis %lld", (long long)ax[i]), false;
    return true;
}

/* ---- leaves ------------------------------------------------------------------------------ */
static sb_node *lookup(parser *p, const ast *e)
{
    if (p->scope) {
        sb_node *n = p->scope->lookup ? p->scope->lookup(p->scope->user, e->s) : NULL;
        if (n) return n;
    } else {
        for (int i = 0; i < p->ctx->nodes.n; i++) {
            sb_node *n = p->ctx->nodes.v[i];
            if ((n->op == SB_OP_INPUT || n->op == SB_OP_SHARED) && !strcmp(n->name, e->s))
                return n;
        }
    }
    return fail(p, e->pos, SB_ERR_SYNTAX, "unknown name '%s'", e->s);
}

static sb_node *build_name(parser *p, const ast *e)
{
    if (!strcmp(e->s, "True") || !strcmp(e->s, "False"))
        return sb_const_scalar(p->ctx, e->s[0] == 'T', SB_DTYPE_BOOL, false);
    if (!strcmp(e->s, "None") || !strcmp(e->s, "newaxis"))
        return fail(p, e->pos, SB_ERR_UNSUPPORTED, "'%s' is not supported here", e->s);
    return lookup(p, e);
}

/* A scalar constant of a literal. Typed int64 keeps all 64 bits; a weak int must be exact as a
 * double (as every int up to 2^53 is), since weak scalars are made through one. */
static sb_node *number_const(parser *p, const ast *e, sb_dtype dt, bool weak)
{
    if (e->kind == A_NUM && e->is_int && dt == SB_DTYPE_I64) {
        sb_array a = {.dtype = SB_DTYPE_I64, .ndim = 0};
        int64_t v = e->ival;
        a.data = &v;
        if (!weak) return sb_const(p->ctx, &a);
        double f = (double)v;
        if (fabs(f) >= 9.2e18 || (int64_t)f != v)
            return fail(p, e->pos, SB_ERR_TYPE,
                        "integer literal %lld is not exact as a number literal; write int64(%lld)",
                        (long long)v, (long long)v);
    }
    double v;
    if (!get_number(p, e, "value", &v)) return NULL;
    if (e->kind == A_NUM && !e->is_int && !sb_dtype_is_float(dt) && (isnan(v) || isinf(v)))
        return fail(p, e->pos, SB_ERR_TYPE, "%g is not a valid %s", v, sb_dtype_name(dt));
    return sb_const_scalar(p->ctx, v, dt, weak);
}

/* ---- array literals: array([[1, 2], [3, 4]], dtype='float32') ---------------------------- */
typedef struct lit_shape {
    int ndim;
    int64_t shape[SB_MAX_DIMS];
    bool has_float, has_int, has_bool, leaf_seen;
} lit_shape;

/* Find the shape (and kinds of numbers) of a nested list; checks it is rectangular. */
static bool lit_scan(parser *p, const ast *e, int dim, lit_shape *ls)
{
    bool is_seq = e->kind == A_LIST || e->kind == A_TUPLE;
    if (dim == 0 && !is_seq) ls->ndim = 0;
    if (is_seq) {
        if (dim >= SB_MAX_DIMS)
            return fail(p, e->pos, SB_ERR_SYNTAX, "array literal nested too deeply"), false;
        if (dim == ls->ndim && !ls->leaf_seen) {
            ls->ndim = dim + 1;
            ls->shape[dim] = e->nkid;
        } else if (dim >= ls->ndim || ls->shape[dim] != e->nkid) {
            return fail(p, e->pos, SB_ERR_SYNTAX, "ragged array literal"), false;
        }
        for (int i = 0; i < e->nkid; i++)
            if (!lit_scan(p, e->kid[i], dim + 1, ls)) return false;
        return true;
    }
    if (dim != ls->ndim) return fail(p, e->pos, SB_ERR_SYNTAX, "ragged array literal"), false;
    ls->leaf_seen = true;
    double v;
    if (!get_number(p, e, "array element", &v)) return false;
    if (e->kind == A_NUM) {
        ls->has_float |= !e->is_int;
        ls->has_int |= e->is_int;
    } else {
        ls->has_bool = true;
    }
    return true;
}

static void lit_fill(const ast *e, sb_array *a, int64_t *i)
{
    if (e->kind == A_LIST || e->kind == A_TUPLE) {
        for (int k = 0; k < e->nkid; k++) lit_fill(e->kid[k], a, i);
    } else if (e->kind == A_NUM && e->is_int && a->dtype == SB_DTYPE_I64) {
        ((int64_t *)a->data)[(*i)++] = e->ival;
    } else {
        double v = e->kind == A_NUM ? e->fval : e->s[0] == 'T';
        sb_array_set_f64(a, (*i)++, v);
    }
}

/* A constant array from a nested list; dt = SB_DTYPE_COUNT picks NumPy's default: float64 if
 * any float (or the list is empty), else int64 if any int, else bool. */
static sb_node *array_const(parser *p, const ast *e, sb_dtype dt)
{
    lit_shape ls = {.ndim = 0};
    if (!lit_scan(p, e, 0, &ls)) return NULL;
    if (dt == SB_DTYPE_COUNT)
        dt = ls.has_float || !(ls.has_int || ls.has_bool) ? SB_DTYPE_F64
             : ls.has_int                                  ? SB_DTYPE_I64
                                                           : SB_DTYPE_BOOL;
    sb_array *a = sb_array_new(dt, ls.ndim, ls.shape);
    int64_t i = 0;
    lit_fill(e, a, &i);
    sb_node *n = sb_const(p->ctx, a);
    sb_array_free(a);
    return n;
}

/* ---- indexing ---------------------------------------------------------------------------- */
/* An index being built: attrs.idx plus the node's inputs (x, [y,] dynamic scalars/arrays). */
typedef struct index_build {
    sb_attrs a;
    sb_node *in[2 + 3 * SB_MAX_DIMS];
    int nin;
    bool adv;
} index_build;

/* One slice bound or scalar index: an int literal is CONST, an int scalar expression an input. */
static bool index_scalar(parser *p, const ast *e, index_build *ib, sb_iarg *out)
{
    if (!e) {
        out->kind = SB_IARG_NONE;
        return true;
    }
    if (e->kind == A_NUM) {
        if (!e->is_int) return fail(p, e->pos, SB_ERR_TYPE, "indices must be integers"), false;
        out->kind = SB_IARG_CONST;
        out->v = e->ival;
        return true;
    }
    sb_node *n = build(p, e);
    if (!n) return false;
    if (typed(n) && (n->type.ndim != 0 || !sb_dtype_is_int(n->type.dtype)))
        return fail(p, e->pos, SB_ERR_TYPE, "slice bounds must be integer scalars"), false;
    out->kind = SB_IARG_INPUT;
    out->v = ib->nin;
    ib->in[ib->nin++] = n;
    return true;
}

/* One index item (not a slice): an int, an int scalar, or an int/bool array (advanced). */
static bool index_item(parser *p, const ast *e, index_build *ib, sb_index *ix)
{
    if (e->kind == A_ELLIPSIS)
        return fail(p, e->pos, SB_ERR_UNSUPPORTED, "'...' (Ellipsis) is not supported"), false;
    if (name_is(e, "None") || name_is(e, "newaxis"))
        return fail(p, e->pos, SB_ERR_UNSUPPORTED,
                    "'%s' (newaxis) is not supported in indexing; use expand_dims", e->s),
               false;
    if (e->kind == A_NUM) {
        ix->kind = SB_INDEX_SCALAR;
        return index_scalar(p, e, ib, &ix->a[0]);
    }
    sb_node *n = e->kind == A_LIST ? array_const(p, e, SB_DTYPE_COUNT) : build(p, e);
    if (!n) return false;
    const sb_type *t = &n->type;
    if (typed(n) && !sb_dtype_is_int(t->dtype) && !(t->dtype == SB_DTYPE_BOOL && t->ndim > 0))
        return fail(p, e->pos, SB_ERR_TYPE, "indices must be integers (or bool arrays), got %s",
                    sb_dtype_name(t->dtype)),
               false;
    ix->kind = typed(n) && t->ndim > 0 ? SB_INDEX_ARRAY : SB_INDEX_SCALAR;
    ib->adv |= ix->kind == SB_INDEX_ARRAY;
    ix->a[0].kind = SB_IARG_INPUT;
    ix->a[0].v = ib->nin;
    ib->in[ib->nin++] = n;
    return true;
}

/* Fill ib from the items of x[...]; trailing full slices `:` are dropped (x[0, :] is x[0]). */
static bool build_index(parser *p, const ast *ix, index_build *ib)
{
    if (ix->nkid > SB_MAX_DIMS)
        return fail(p, ix->pos, SB_ERR_TYPE, "too many indices (at most %d)", SB_MAX_DIMS), false;
    for (int i = 0; i < ix->nkid; i++) {
        const ast *e = ix->kid[i];
        sb_index *x = &ib->a.idx[i];
        if (e->kind != A_SLICE) {
            if (!index_item(p, e, ib, x)) return false;
            continue;
        }
        x->kind = SB_INDEX_SLICE;
        for (int k = 0; k < 3; k++)
            if (!index_scalar(p, e->kid[k], ib, &x->a[k])) return false;
    }
    int n = ix->nkid;
    while (n > 0 && ib->a.idx[n - 1].kind == SB_INDEX_SLICE && !ib->a.idx[n - 1].a[0].kind &&
           !ib->a.idx[n - 1].a[1].kind && !ib->a.idx[n - 1].a[2].kind)
        n--;
    memset(&ib->a.idx[n], 0, sizeof(sb_index) * (size_t)(SB_MAX_DIMS - n));
    ib->a.nidx = (int8_t)n;
    return true;
}

static sb_node *build_split(parser *p, const ast *call, const ast *part);

/* x[...]: SUBTENSOR, or ADV_SUBTENSOR when an index is an array; split(...)[k] picks a part. */
static sb_node *build_subscript(parser *p, const ast *e)
{
    const ast *base = e->a;
    if (base->kind == A_CALL && !base->paren && !strcmp(base->s, "split")) {
        if (e->nkid != 1 || e->kid[0]->kind != A_NUM || !e->kid[0]->is_int)
            return fail(p, e->pos, SB_ERR_SYNTAX, "split(...) takes one integer index: the part");
        return build_split(p, base, e->kid[0]);
    }
    index_build ib;
    memset(&ib, 0, sizeof ib);
    sb_attrs_init(&ib.a);
    if (!(ib.in[0] = build(p, base))) return NULL;
    ib.nin = 1;
    if (!build_index(p, e, &ib)) return NULL;
    return apply(p, e->pos, ib.adv ? SB_OP_ADV_SUBTENSOR : SB_OP_SUBTENSOR, ib.nin, ib.in, &ib.a);
}

/* ---- calls ------------------------------------------------------------------------------- */
typedef enum fkind {
    F_PLAIN,    /* tensor arguments only: the op's arity */
    F_REDUCE,   /* sum(x, axis=None, keepdims=False) and friends */
    F_ARGRED,   /* argmax(x, axis=None, keepdims=False): one axis */
    F_AXIS1,    /* softmax(x, axis=-1) */
    F_CAST,     /* cast(x, dtype), astype */
    F_RESHAPE,  /* reshape(x, shape); x.reshape(2, 3) */
    F_FLATTEN,  /* flatten(x, ndim=1) */
    F_TRANSPOSE,/* transpose(x, axes=None); x.transpose(1, 0) */
    F_EXPAND,   /* expand_dims(x, axis) */
    F_SQUEEZE,  /* squeeze(x, axis=None) */
    F_JOIN,     /* concatenate([a, b], axis=0), stack */
    F_SPLIT,    /* split(x, sections, axis=0)[part] */
    F_BCAST,    /* broadcast_to(x, shape) */
    F_FILL,     /* zeros(shape, dtype), ones */
    F_FULL,     /* full(shape, value, dtype) */
    F_FILL_LIKE,/* zeros_like(x, dtype), ones_like */
    F_ARANGE,   /* arange([start,] stop[, step], dtype) */
    F_EYE,      /* eye(N, M=N, dtype) */
    F_ONE_HOT,  /* one_hot(y, depth, dtype) */
    F_GRAD,     /* grad(cost, wrt, disconnected='raise') */
    F_SETSUB,   /* set_subtensor(x[idx], y), inc_subtensor */
    F_TYPED,    /* float32(0.5): a typed scalar constant (or a cast of an expression) */
    F_ARRAY,    /* array([[1, 2]], dtype) */
    F_INDEXOP,  /* subtensor(...): written as x[...] */
} fkind;

typedef struct fspec {
    const char *name;
    sb_op op;
    fkind kind;
    int maxpos, nreq;   /* positional arguments accepted / required */
    const char *params; /* parameter names in order, space-separated (keywords accepted) */
} fspec;

static const fspec specials[] = {
    {"sum", SB_OP_SUM, F_REDUCE, 2, 1, "a axis keepdims"},
    {"prod", SB_OP_PROD, F_REDUCE, 2, 1, "a axis keepdims"},
    {"mean", SB_OP_MEAN, F_REDUCE, 2, 1, "a axis keepdims"},
    {"max", SB_OP_MAX, F_REDUCE, 2, 1, "a axis keepdims"},
    {"min", SB_OP_MIN, F_REDUCE, 2, 1, "a axis keepdims"},
    {"all", SB_OP_ALL, F_REDUCE, 2, 1, "a axis keepdims"},
    {"any", SB_OP_ANY, F_REDUCE, 2, 1, "a axis keepdims"},
    {"logsumexp", SB_OP_LOGSUMEXP, F_REDUCE, 2, 1, "x axis keepdims"},
    {"argmax", SB_OP_ARGMAX, F_ARGRED, 2, 1, "a axis keepdims"},
    {"argmin", SB_OP_ARGMIN, F_ARGRED, 2, 1, "a axis keepdims"},
    {"softmax", SB_OP_SOFTMAX, F_AXIS1, 1, 1, "x axis"},
    {"log_softmax", SB_OP_LOG_SOFTMAX, F_AXIS1, 1, 1, "x axis"},
    {"cast", SB_OP_CAST, F_CAST, 2, 2, "x dtype"},
    {"reshape", SB_OP_RESHAPE, F_RESHAPE, 2, 2, "a shape"},
    {"flatten", SB_OP_RESHAPE, F_FLATTEN, 2, 1, "x ndim"},
    {"transpose", SB_OP_TRANSPOSE, F_TRANSPOSE, 2, 1, "a axes"},
    {"expand_dims", SB_OP_EXPAND_DIMS, F_EXPAND, 2, 2, "a axis"},
    {"squeeze", SB_OP_SQUEEZE, F_SQUEEZE, 2, 1, "a axis"},
    {"concatenate", SB_OP_CONCATENATE, F_JOIN, 2, 1, "arrays axis"},
    {"stack", SB_OP_STACK, F_JOIN, 2, 1, "arrays axis"},
    {"split", SB_OP_SPLIT, F_SPLIT, 3, 2, "x sections axis"},
    {"broadcast_to", SB_OP_BROADCAST_TO, F_BCAST, 2, 2, "array shape"},
    {"zeros", SB_OP_ZEROS, F_FILL, 2, 1, "shape dtype"},
    {"ones", SB_OP_ONES, F_FILL, 2, 1, "shape dtype"},
    {"full", SB_OP_FULL, F_FULL, 3, 2, "shape fill_value dtype"},
    {"zeros_like", SB_OP_ZEROS_LIKE, F_FILL_LIKE, 2, 1, "a dtype"},
    {"ones_like", SB_OP_ONES_LIKE, F_FILL_LIKE, 2, 1, "a dtype"},
    {"arange", SB_OP_ARANGE, F_ARANGE, 3, 1, "start stop step dtype"},
    {"eye", SB_OP_EYE, F_EYE, 2, 1, "N M dtype"},
    {"one_hot", SB_OP_ONE_HOT, F_ONE_HOT, 2, 2, "y depth dtype"},
    {"grad", SB_OP_GRAD, F_GRAD, 2, 2, "cost wrt disconnected"},
    {"set_subtensor", SB_OP_SET_SUBTENSOR, F_SETSUB, 2, 2, "x y"},
    {"inc_subtensor", SB_OP_INC_SUBTENSOR, F_SETSUB, 2, 2, "x y"},
    {"array", SB_OP_CONST, F_ARRAY, 2, 1, "object dtype"},
    {"subtensor", SB_OP_SUBTENSOR, F_INDEXOP, 0, 0, ""},
    {"adv_subtensor", SB_OP_ADV_SUBTENSOR, F_INDEXOP, 0, 0, ""},
};

/* NumPy / Theano spellings of ops.def names. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"dot", "matmul"},         {"astype", "cast"},         {"power", "pow"},
    {"negative", "neg"},       {"subtract", "sub"},        {"multiply", "mul"},
    {"divide", "div"},         {"true_divide", "div"},     {"remainder", "mod"},
    {"square", "sqr"},         {"absolute", "abs"},        {"less", "lt"},
    {"less_equal", "le"},      {"greater", "gt"},          {"greater_equal", "ge"},
    {"equal", "eq"},           {"not_equal", "ne"},        {"amax", "max"},
    {"amin", "min"},           {"crossentropy", "categorical_crossentropy"},
};

/* The spec for a function name (after aliases); *fs filled for plain ops of ops.def. */
static bool find_function(const char *name, fspec *fs)
{
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(name, aliases[i].alias)) name = aliases[i].name;
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++)
        if (!strcmp(name, specials[i].name)) return *fs = specials[i], true;
    sb_op op = sb_op_from_name(name);
    if (op != SB_OP_COUNT && !(sb_op_get(op)->flags & SB_F_LEAF)) {
        int ar = sb_op_get(op)->arity;
        *fs = (fspec){sb_op_get(op)->name, op, F_PLAIN, ar, ar, NULL};
        return true;
    }
    if (sb_dtype_from_name(name) != SB_DTYPE_COUNT) {
        *fs = (fspec){name, SB_OP_CAST, F_TYPED, 1, 1, "x"};
        return true;
    }
    return false;
}

#define MAX_PARAMS 4

/* The i-th space-separated word of params into buf (false past the end). */
static bool param_name(const char *params, int i, char *buf, size_t n)
{
    const char *s = params;
    for (; s && *s; i--) {
        size_t len = strcspn(s, " ");
        if (i == 0) {
            snprintf(buf, n, "%.*s", (int)len, s);
            return true;
        }
        s += len;
        s += *s == ' ';
    }
    return false;
}

/* Python's argument binding: positionals fill params in order, keywords by name; slot[i] is the
 * argument for parameter i (NULL = not given). */
static bool bind_args(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    int npos = 0;
    char buf[32];
    for (int i = 0; i < MAX_PARAMS; i++) slot[i] = NULL;
    for (int i = 0; i < call->nkid; i++) npos += call->kid[i]->kind != A_KWARG;
    if (npos > fs->maxpos || (npos < fs->nreq && !fs->params)) {
        const char *what = fs->maxpos == fs->nreq ? "" : "at most ";
        return fail(p, call->pos, SB_ERR_TYPE, "%s takes %s%d positional argument%s, got %d",
                    fs->name, what, fs->maxpos, fs->maxpos == 1 ? "" : "s", npos),
               false;
    }
    for (int i = 0; i < call->nkid; i++) {
        const ast *k = call->kid[i];
        if (k->kind != A_KWARG) {
            slot[i] = k;
            continue;
        }
        int j = 0;
        while (param_name(fs->params, j, buf, sizeof buf) && strcmp(buf, k->s)) j++;
        if (!param_name(fs->params, j, buf, sizeof buf))
            return fail(p, k->pos, SB_ERR_TYPE, "unknown keyword '%s' for %s", k->s, fs->name),
                   false;
        if (slot[j])
            return fail(p, k->pos, SB_ERR_TYPE, "%s got two values for '%s'", fs->name, k->s),
                   false;
        slot[j] = k->a;
    }
    for (int i = 0; i < fs->nreq; i++)
        if (!slot[i] && param_name(fs->params, i, buf, sizeof buf))
            return fail(p, call->pos, SB_ERR_TYPE, "%s is missing argument '%s'", fs->name, buf),
                   false;
    return true;
}

/* The tensor arguments slot[0..n) as nodes. */
static bool build_args(parser *p, const ast *const *slot, int n, sb_node **in)
{
    for (int i = 0; i < n; i++)
        if (!(in[i] = build(p, slot[i]))) return false;
    return true;
}

/* axis=None | int | tuple for reductions: stored sorted and normalized (typed inputs). */
static bool reduce_axes(parser *p, const ast *e, const sb_node *x, sb_attrs *a, bool one)
{
    if (!e || name_is(e, "None")) return true;
    int n;
    if (!get_ints(p, e, "axis", a->axis, &n)) return false;
    if (one && (n != 1 || e->kind == A_TUPLE || e->kind == A_LIST))
        return fail(p, e->pos, SB_ERR_TYPE, "only one axis is supported here"), false;
    a->naxis = (int8_t)n;
    return norm_axes(p, e->pos, typed(x), x->type.ndim, a->axis, n, true);
}

/* One axis (softmax, concatenate, stack), normalized against ndim when known. */
static bool one_axis(parser *p, const ast *e, bool known, int ndim, sb_attrs *a)
{
    if (!e) return true;
    if (!get_int(p, e, "axis", &a->axis[0])) return false;
    a->naxis = 1;
    return norm_axes(p, e->pos, known, ndim, a->axis, 1, false);
}

static bool shape_arg(parser *p, const ast *e, sb_attrs *a)
{
    int n;
    if (!get_ints(p, e, "shape", a->shape, &n)) return false;
    a->nshape = (int8_t)n;
    return true;
}

static bool dtype_arg(parser *p, const ast *e, sb_attrs *a)
{
    sb_dtype dt;
    if (!e || name_is(e, "None")) return true;
    if (!get_dtype(p, e, &dt)) return false;
    a->dtype = (int8_t)dt;
    return true;
}

/* reshape(x, shape): at most one -1. */
static sb_node *call_reshape(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    sb_node *x = build(p, slot[0]);
    if (!x || !shape_arg(p, slot[1], &a)) return NULL;
    int neg = 0;
    for (int i = 0; i < a.nshape; i++) {
        if (a.shape[i] < -1)
            return fail(p, slot[1]->pos, SB_ERR_TYPE, "reshape: negative size %lld",
                        (long long)a.shape[i]);
        neg += a.shape[i] == -1;
    }
    if (neg > 1) return fail(p, slot[1]->pos, SB_ERR_TYPE, "reshape: only one size can be -1");
    return apply(p, call->pos, SB_OP_RESHAPE, 1, &x, &a);
}

/* flatten(x, ndim=1): Theano's outdim, a reshape keeping ndim - 1 leading dims. They must be
 * known, or only the first unknown with known trailing dims: float32[?, 28, 28] with ndim 2 is
 * reshape (-1, 784). */
static sb_node *call_flatten(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    sb_node *x = build(p, slot[0]);
    int64_t nd = 1;
    if (!x || (slot[1] && !get_int(p, slot[1], "ndim", &nd))) return NULL;
    const sb_type *t = &x->type;
    if (nd < 1 || (typed(x) && nd > (t->ndim > 0 ? t->ndim : 1)))
        return fail(p, slot[1]->pos, SB_ERR_TYPE, "flatten: ndim %lld out of range for %d-d",
                    (long long)nd, t->ndim);
    if (nd > 1 && !typed(x))
        return fail(p, call->pos, SB_ERR_TYPE, "flatten with ndim > 1 needs a typed input");
    a.nshape = (int8_t)nd;
    a.shape[nd - 1] = -1;
    bool lead_known = true, first_only = true;
    for (int i = 0; i < nd - 1; i++) {
        a.shape[i] = t->dims[i];
        lead_known &= t->dims[i] >= 0;
        first_only &= i == 0 || t->dims[i] >= 0;
    }
    if (!lead_known) {
        int64_t rest = 1;
        for (int i = (int)nd - 1; i < t->ndim; i++)
            rest = t->dims[i] < 0 || rest < 0 ? -1 : rest * t->dims[i];
        if (!first_only || rest < 0)
            return fail(p, call->pos, SB_ERR_TYPE,
                        "flatten: cannot keep %lld leading dims of a tensor with unknown sizes",
                        (long long)(nd - 1));
        a.shape[0] = -1;
        a.shape[nd - 1] = rest;
    }
    return apply(p, call->pos, SB_OP_RESHAPE, 1, &x, &a);
}

/* transpose(x, axes): a permutation of all dims (x.T and transpose(x) store none). */
static sb_node *call_transpose(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    sb_node *x = build(p, slot[0]);
    if (!x) return NULL;
    const ast *e = slot[1];
    if (!e || name_is(e, "None")) return apply(p, call->pos, SB_OP_TRANSPOSE, 1, &x, &a);
    int n;
    if (!get_ints(p, e, "axes", a.axis, &n)) return NULL;
    a.naxis = (int8_t)n;
    if (!norm_axes(p, e->pos, typed(x), x->type.ndim, a.axis, n, false)) return NULL;
    if (typed(x) && n != x->type.ndim)
        return fail(p, e->pos, SB_ERR_TYPE, "transpose: axes must list all %d dimensions",
                    x->type.ndim);
    return apply(p, call->pos, SB_OP_TRANSPOSE, 1, &x, &a);
}

/* expand_dims (axes are positions in the result) and squeeze (axis=None: all size-1 dims). */
static sb_node *call_axes(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    sb_node *x = build(p, slot[0]);
    if (!x) return NULL;
    const ast *e = slot[1];
    if (e && !name_is(e, "None")) {
        int n;
        if (!get_ints(p, e, "axis", a.axis, &n)) return NULL;
        a.naxis = (int8_t)n;
        int nd = x->type.ndim + (fs->kind == F_EXPAND ? n : 0);
        if (!norm_axes(p, e->pos, typed(x), nd, a.axis, n, true)) return NULL;
    } else if (fs->kind == F_EXPAND) {
        return fail(p, call->pos, SB_ERR_TYPE, "expand_dims needs an axis");
    }
    return apply(p, call->pos, fs->op, 1, &x, &a);
}

/* concatenate([a, b], axis=0) / stack(...): the first argument is a list or tuple. */
static sb_node *call_join(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    const ast *seq = slot[0];
    if (seq->kind != A_LIST && seq->kind != A_TUPLE)
        return fail(p, seq->pos, SB_ERR_SYNTAX, "%s takes a list of tensors: %s([a, b])",
                    fs->name, fs->name);
    if (seq->nkid == 0) return fail(p, seq->pos, SB_ERR_TYPE, "%s of nothing", fs->name);
    sb_node **in = sb_xmalloc((size_t)seq->nkid * sizeof *in);
    sb_node *n = NULL;
    sb_attrs a;
    sb_attrs_init(&a);
    if (name_is(slot[1], "None")) {
        fail(p, slot[1]->pos, SB_ERR_UNSUPPORTED, "%s with axis=None is not supported",
             fs->name);
        goto done;
    }
    if (!build_args(p, (const ast *const *)seq->kid, seq->nkid, in)) goto done;
    int nd = in[0]->type.ndim + (fs->op == SB_OP_STACK);
    if (!one_axis(p, slot[1], typed(in[0]), nd, &a)) goto done;
    n = apply(p, call->pos, fs->op, seq->nkid, in, &a);
done:
    free(in);
    return n;
}

/* split(x, sections, axis=0)[part]: k = {sections, part}; the axis is always stored. */
static sb_node *build_split(parser *p, const ast *call, const ast *part)
{
    fspec fs;
    const ast *slot[MAX_PARAMS];
    find_function("split", &fs);
    if (!bind_args(p, call, &fs, slot)) return NULL;
    sb_attrs a;
    sb_attrs_init(&a);
    sb_node *x = build(p, slot[0]);
    if (!x || !get_int(p, slot[1], "sections", &a.k[0])) return NULL;
    if (a.k[0] < 1) return fail(p, slot[1]->pos, SB_ERR_TYPE, "split: sections must be >= 1");
    a.naxis = 1;
    if (slot[2] && !get_int(p, slot[2], "axis", &a.axis[0])) return NULL;
    if (!norm_axes(p, slot[2] ? slot[2]->pos : call->pos, typed(x), x->type.ndim, a.axis, 1,
                   false))
        return NULL;
    a.k[1] = part->ival < 0 ? part->ival + a.k[0] : part->ival;
    if (a.k[1] < 0 || a.k[1] >= a.k[0])
        return fail(p, part->pos, SB_ERR_TYPE, "split: part %lld out of range for %lld sections",
                    (long long)part->ival, (long long)a.k[0]);
    return apply(p, call->pos, SB_OP_SPLIT, 1, &x, &a);
}

static sb_node *call_fill(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    int idt = fs->kind == F_FULL ? 2 : 1;
    if (!shape_arg(p, slot[0], &a) || !dtype_arg(p, slot[idt], &a)) return NULL;
    for (int i = 0; i < a.nshape; i++)
        if (a.shape[i] < 0)
            return fail(p, slot[0]->pos, SB_ERR_TYPE, "%s: negative size", fs->name);
    if (fs->kind == F_FULL && !get_number(p, slot[1], "fill_value", &a.value)) return NULL;
    return apply(p, call->pos, fs->op, 0, NULL, &a);
}

static sb_node *call_eye(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nshape = 2;
    if (!get_int(p, slot[0], "N", &a.shape[0])) return NULL;
    a.shape[1] = a.shape[0];
    if (slot[1] && !name_is(slot[1], "None") && !get_int(p, slot[1], "M", &a.shape[1]))
        return NULL;
    if (a.shape[0] < 0 || a.shape[1] < 0)
        return fail(p, call->pos, SB_ERR_TYPE, "eye: negative size");
    if (!dtype_arg(p, slot[2], &a)) return NULL;
    return apply(p, call->pos, SB_OP_EYE, 0, NULL, &a);
}

static sb_node *call_one_hot(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    a.nshape = 1;
    sb_node *y = build(p, slot[0]);
    if (!y || !get_int(p, slot[1], "depth", &a.shape[0]) || !dtype_arg(p, slot[2], &a))
        return NULL;
    if (a.shape[0] < 1) return fail(p, slot[1]->pos, SB_ERR_TYPE, "one_hot: depth must be >= 1");
    return apply(p, call->pos, SB_OP_ONE_HOT, 1, &y, &a);
}

/* arange(stop) / arange(start, stop[, step]): always three inputs; 0 and 1 fill the gaps. */
static sb_node *call_arange(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    if (!dtype_arg(p, slot[3], &a)) return NULL;
    sb_node *in[3] = {NULL, NULL, NULL};
    if (!slot[1]) { /* arange(stop[, step=s]) */
        if (!(in[1] = build(p, slot[0])) || (slot[2] && !(in[2] = build(p, slot[2]))))
            return NULL;
        in[0] = sb_const_scalar(p->ctx, 0, SB_DTYPE_I64, true);
    } else if (!build_args(p, slot, slot[2] ? 3 : 2, in)) {
        return NULL;
    }
    if (!in[2]) in[2] = sb_const_scalar(p->ctx, 1, SB_DTYPE_I64, true);
    return apply(p, call->pos, SB_OP_ARANGE, 3, in, &a);
}

/* grad(cost, wrt, disconnected='zero'|'raise'): value = 1 returns zeros when disconnected. */
static sb_node *call_grad(parser *p, const ast *call, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    const ast *e = slot[2];
    if (e) {
        if (e->kind != A_STR ||
            (strcmp(e->s, "zero") && strcmp(e->s, "ignore") && strcmp(e->s, "raise")))
            return fail(p, e->pos, SB_ERR_SYNTAX, "disconnected must be 'zero' or 'raise'");
        a.value = e->s[0] != 'r';
    }
    sb_node *in[2];
    if (!build_args(p, slot, 2, in)) return NULL;
    return apply(p, call->pos, SB_OP_GRAD, 2, in, &a);
}

/* set_subtensor(x[idx], y) / inc_subtensor: inputs (x, y, dynamic indices...). */
static sb_node *call_setsub(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    const ast *ix = slot[0];
    if (ix->kind != A_INDEX || ix->paren)
        return fail(p, ix->pos, SB_ERR_SYNTAX,
                    "the first argument of %s must be an indexing expression: %s(x[i:j], y)",
                    fs->name, fs->name);
    index_build ib;
    memset(&ib, 0, sizeof ib);
    sb_attrs_init(&ib.a);
    if (!(ib.in[0] = build(p, ix->a))) return NULL;
    ib.nin = 2;
    if (!build_index(p, ix, &ib) || !(ib.in[1] = build(p, slot[1]))) return NULL;
    return apply(p, call->pos, fs->op, ib.nin, ib.in, &ib.a);
}

/* float32(0.5) is a (non-weak) typed constant; float32(expr) is a cast. */
static sb_node *call_typed(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    sb_dtype dt = sb_dtype_from_name(fs->name);
    const ast *e = slot[0];
    if (e->kind == A_NUM || name_is(e, "True") || name_is(e, "False"))
        return number_const(p, e, dt, false);
    sb_attrs a;
    sb_attrs_init(&a);
    a.dtype = (int8_t)dt;
    sb_node *x = build(p, e);
    return x ? apply(p, call->pos, SB_OP_CAST, 1, &x, &a) : NULL;
}

static sb_node *call_array(parser *p, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    if (!dtype_arg(p, slot[1], &a)) return NULL;
    return array_const(p, slot[0], (sb_dtype)a.dtype);
}

/* Ops with one tensor argument and attributes from keywords: reductions, softmax, cast, ... */
static sb_node *call_unary_attr(parser *p, const ast *call, const fspec *fs, const ast **slot)
{
    sb_attrs a;
    sb_attrs_init(&a);
    sb_node *x = build(p, slot[0]);
    if (!x) return NULL;
    bool ok = true, kd = false;
    switch (fs->kind) {
    case F_REDUCE:
    case F_ARGRED:
        ok = reduce_axes(p, slot[1], x, &a, fs->kind == F_ARGRED) &&
             (!slot[2] || get_bool(p, slot[2], "keepdims", &kd));
        a.keepdims = kd;
        break;
    case F_AXIS1:
        ok = one_axis(p, slot[1], typed(x), x->type.ndim, &a);
        break;
    case F_CAST:
        ok = dtype_arg(p, slot[1], &a);
        break;
    case F_FILL_LIKE:
        ok = dtype_arg(p, slot[1], &a);
        break;
    case F_BCAST:
        ok = shape_arg(p, slot[1], &a);
        break;
    default:
        SB_ASSERT(0 && "not a unary-with-attributes function");
    }
    return ok ? apply(p, call->pos, fs->op, 1, &x, &a) : NULL;
}

/* x.reshape(2, 3) and x.transpose(1, 0): NumPy's methods take the sizes unpacked. */
static const ast *pack_method_args(parser *p, const ast *call, const fspec *fs)
{
    if (!call->method || (fs->kind != F_RESHAPE && fs->kind != F_TRANSPOSE)) return call;
    int npos = 0;
    while (npos < call->nkid && call->kid[npos]->kind != A_KWARG) npos++;
    if (npos <= 2) return call;
    ast *c = new_ast(p, A_CALL, call->pos);
    *c = *call;
    ast *t = new_ast(p, A_TUPLE, call->kid[1]->pos);
    t->nkid = npos - 1;
    t->kid = call->kid + 1;
    c->nkid = call->nkid - (npos - 2);
    c->kid = sb_arena_alloc(&p->arena, (size_t)c->nkid * sizeof *c->kid);
    c->kid[0] = call->kid[0];
    c->kid[1] = t;
    for (int i = npos; i < call->nkid; i++) c->kid[i - npos + 2] = call->kid[i];
    return c;
}

static sb_node *build_call(parser *p, const ast *call)
{
    fspec fs;
    if (!find_function(call->s, &fs))
        return fail(p, call->pos, SB_ERR_SYNTAX, "unknown %s '%s'",
                    call->method ? "method" : "function", call->s);
    const ast *slot[MAX_PARAMS];
    call = pack_method_args(p, call, &fs);
    if (fs.kind == F_INDEXOP)
        return fail(p, call->pos, SB_ERR_SYNTAX, "%s is written as indexing: x[...]", fs.name);
    if (fs.kind == F_SPLIT)
        return fail(p, call->pos, SB_ERR_SYNTAX,
                    "split(...) must be indexed to pick a part: split(x, 3, axis=0)[1]");
    if (!bind_args(p, call, &fs, slot)) return NULL;
    switch (fs.kind) {
    case F_PLAIN: {
        sb_node *in[3];
        SB_ASSERT(fs.maxpos <= 3);
        if (!build_args(p, slot, fs.maxpos, in)) return NULL;
        return apply(p, call->pos, fs.op, fs.maxpos, in, NULL);
    }
    case F_RESHAPE: return call_reshape(p, call, slot);
    case F_FLATTEN: return call_flatten(p, call, slot);
    case F_TRANSPOSE: return call_transpose(p, call, slot);
    case F_EXPAND:
    case F_SQUEEZE: return call_axes(p, call, &fs, slot);
    case F_JOIN: return call_join(p, call, &fs, slot);
    case F_FILL:
    case F_FULL: return call_fill(p, call, &fs, slot);
    case F_EYE: return call_eye(p, call, slot);
    case F_ONE_HOT: return call_one_hot(p, call, slot);
    case F_ARANGE: return call_arange(p, call, slot);
    case F_GRAD: return call_grad(p, call, slot);
    case F_SETSUB: return call_setsub(p, call, &fs, slot);
    case F_TYPED: return call_typed(p, call, &fs, slot);
    case F_ARRAY: return call_array(p, slot);
    default: return call_unary_attr(p, call, &fs, slot);
    }
}

/* ---- expressions ------------------------------------------------------------------------- */
static sb_op binary_op(sb_tok_kind k)
{
    switch (k) {
    case SB_TOK_PLUS: return SB_OP_ADD;
    case SB_TOK_MINUS: return SB_OP_SUB;
    case SB_TOK_STAR: return SB_OP_MUL;
    case SB_TOK_SLASH: return SB_OP_DIV;
    case SB_TOK_DSLASH: return SB_OP_FLOOR_DIVIDE;
    case SB_TOK_PERCENT: return SB_OP_MOD;
    case SB_TOK_POW: return SB_OP_POW;
    case SB_TOK_AT: return SB_OP_MATMUL;
    case SB_TOK_AMP: return SB_OP_LOGICAL_AND;
    case SB_TOK_PIPE: return SB_OP_LOGICAL_OR;
    case SB_TOK_LT: return SB_OP_LT;
    case SB_TOK_LE: return SB_OP_LE;
    case SB_TOK_GT: return SB_OP_GT;
    case SB_TOK_GE: return SB_OP_GE;
    case SB_TOK_EQ: return SB_OP_EQ;
    case SB_TOK_NE: return SB_OP_NE;
    default: SB_ASSERT(0 && "not a binary operator");
    }
}

static sb_node *build_attr(parser *p, const ast *e)
{
    sb_node *x = build(p, e->a);
    if (!x) return NULL;
    if (!strcmp(e->s, "T")) return apply(p, e->pos, SB_OP_TRANSPOSE, 1, &x, NULL);
    if (!strcmp(e->s, "shape")) return apply(p, e->pos, SB_OP_SHAPE, 1, &x, NULL);
    return fail(p, e->pos, SB_ERR_SYNTAX, "unknown attribute '.%s' (known: .T, .shape)", e->s);
}

static sb_node *build(parser *p, const ast *e)
{
    switch (e->kind) {
    case A_NUM: return number_const(p, e, e->is_int ? SB_DTYPE_I64 : SB_DTYPE_F64, true);
    case A_NAME: return build_name(p, e);
    case A_PVAR:
        if (p->scope && p->scope->allow_pvars) return sb_pvar(p->ctx, e->s);
        return fail(p, e->pos, SB_ERR_SYNTAX,
                    "pattern variable '?%s' is only allowed in rules", e->s);
    case A_STR: return fail(p, e->pos, SB_ERR_SYNTAX, "a string is not a tensor expression");
    case A_TUPLE:
        return fail(p, e->pos, SB_ERR_SYNTAX, "a tuple is only allowed as a shape or axes");
    case A_LIST:
        return fail(p, e->pos, SB_ERR_SYNTAX,
                    "a list is only allowed in concatenate/stack, array(...) or as an index");
    case A_UNARY: {
        sb_node *x = build(p, e->a);
        if (!x) return NULL;
        return apply(p, e->pos, e->op == SB_TOK_MINUS ? SB_OP_NEG : SB_OP_LOGICAL_NOT, 1, &x,
                     NULL);
    }
    case A_BINARY: {
        sb_node *in[2];
        if (!(in[0] = build(p, e->a)) || !(in[1] = build(p, e->b))) return NULL;
        return apply(p, e->pos, binary_op(e->op), 2, in, NULL);
    }
    case A_CALL: return build_call(p, e);
    case A_ATTR: return build_attr(p, e);
    case A_INDEX: return build_subscript(p, e);
    case A_SLICE: return fail(p, e->pos, SB_ERR_SYNTAX, "a slice is only allowed in x[...]");
    case A_KWARG: return fail(p, e->pos, SB_ERR_SYNTAX, "unexpected keyword argument");
    case A_ELLIPSIS: return fail(p, e->pos, SB_ERR_UNSUPPORTED, "'...' is not supported");
    }
    SB_ASSERT(0 && "bad syntax tree");
}

sb_node *sb_parse_expr(sb_ctx *ctx, const char *text, const sb_scope *scope,
                       const sb_srcpos *pos, sb_diag *d)
{
    parser p;
    memset(&p, 0, sizeof p);
    sb_diag local = {0};
    p.src.text = text;
    p.src.d = d ? d : &local;
    p.src.pos.file = pos && pos->file ? pos->file : "<expr>";
    p.src.pos.line = pos && pos->line > 0 ? pos->line : 1;
    p.src.pos.col = pos && pos->col > 0 ? pos->col : 1;
    p.ctx = ctx;
    p.scope = scope;
    if (p.src.d->status != SB_OK) return NULL; /* keep the caller's first error */
    if (!text) {
        sb_diag_set(p.src.d, SB_ERR_SYNTAX, p.src.pos.file, p.src.pos.line, p.src.pos.col,
                    "expected an expression");
        return NULL;
    }
    sb_node *n = NULL;
    if (next(&p)) {
        ast *e = parse_expr(&p);
        if (e && p.tok.kind != SB_TOK_EOF) e = unexpected(&p);
        if (e) n = build(&p, e);
    }
    sb_arena_free(&p.arena);
    return n;
}
