/* lexer.c: tokens of the expression syntax, and source positions for its errors.
 *
 * Tokens are Python's, restricted to what the syntax uses: names, ?pattern variables, integer
 * and float literals (1, 1e-3, .5, 2.), quoted strings (dtype names), brackets and the operators
 * + - * / // % ** @ & | ~ < <= > >= == != = , : . and `...`. */
#include "syntax.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>

void sb_syn_where(const sb_syn_src *src, size_t off, int *line, int *col)
{
    int l = src->pos.line, c = src->pos.col;
    for (size_t i = 0; i < off && src->text[i]; i++) {
        if (src->text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

sb_status sb_syn_error(const sb_syn_src *src, size_t off, sb_status st, const char *fmt, ...)
{
    if (!src->d || src->d->status != SB_OK) return st;
    char msg[sizeof src->d->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    sb_syn_where(src, off, &line, &col);
    return sb_diag_set(src->d, st, src->pos.file, line, col, "%s", msg);
}

/* Operators, longest first so that "**" wins over "*". */
static const struct {
    const char *s;
    sb_tok_kind k;
} punct[] = {
    {"...", SB_TOK_ELLIPSIS}, {"**", SB_TOK_POW}, {"//", SB_TOK_DSLASH}, {"<=", SB_TOK_LE},
    {">=", SB_TOK_GE},        {"==", SB_TOK_EQ},  {"!=", SB_TOK_NE},     {"(", SB_TOK_LPAREN},
    {")", SB_TOK_RPAREN},     {"[", SB_TOK_LBRACK}, {"]", SB_TOK_RBRACK}, {",", SB_TOK_COMMA},
    {":", SB_TOK_COLON},      {".", SB_TOK_DOT},  {"=", SB_TOK_ASSIGN},  {"+", SB_TOK_PLUS},
    {"-", SB_TOK_MINUS},      {"*", SB_TOK_STAR}, {"/", SB_TOK_SLASH},   {"%", SB_TOK_PERCENT},
    {"@", SB_TOK_AT},         {"&", SB_TOK_AMP},  {"|", SB_TOK_PIPE},    {"~", SB_TOK_TILDE},
    {"<", SB_TOK_LT},         {">", SB_TOK_GT},
};

static bool is_name_start(int c) { return isalpha(c) || c == '_'; }
static bool is_name_char(int c) { return isalnum(c) || c == '_'; }

/* A number: digits with an optional fraction and exponent (Python's literals, no hex/suffix). */
static sb_status lex_number(const sb_syn_src *src, size_t start, sb_token *t)
{
    const char *s = src->text + start, *p = s;
    bool is_float = false;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') {
        is_float = true;
        p++;
        while (isdigit((unsigned char)*p)) p++;
    }
    if ((*p == 'e' || *p == 'E') &&
        (isdigit((unsigned char)p[1]) ||
         ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
        is_float = true;
        p += 2;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (is_name_char((unsigned char)*p))
        return sb_syn_error(src, (size_t)(p - src->text), SB_ERR_SYNTAX,
                            "invalid number literal '%.*s'", (int)(p - s + 1), s);
    t->len = (size_t)(p - s);
    char buf[128];
    if (t->len >= sizeof buf)
        return sb_syn_error(src, start, SB_ERR_SYNTAX, "number literal too long");
    memcpy(buf, s, t->len);
    buf[t->len] = 0;
    errno = 0;
    if (is_float) {
        t->kind = SB_TOK_FLOAT;
        t->fval = strtod(buf, NULL);
    } else {
        t->kind = SB_TOK_INT;
        t->ival = (int64_t)strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return sb_syn_error(src, start, SB_ERR_SYNTAX,
                                "integer literal '%s' is too large for int64", buf);
    }
    return SB_OK;
}

static sb_status lex_string(const sb_syn_src *src, size_t start, sb_token *t)
{
    char q = src->text[start];
    size_t i = start + 1;
    while (src->text[i] && src->text[i] != q && src->text[i] != '\n') i++;
    if (src->text[i] != q)
        return sb_syn_error(src, start, SB_ERR_SYNTAX, "unterminated string");
    t->kind = SB_TOK_STR;
    t->len = i + 1 - start;
    return SB_OK;
}

sb_status sb_syn_lex(const sb_syn_src *src, size_t *at, sb_token *t)
{
    const char *s = src->text;
    size_t i = *at;
    while (s[i] && isspace((unsigned char)s[i])) i++;
    memset(t, 0, sizeof *t);
    t->start = i;
    unsigned char c = (unsigned char)s[i];
    sb_status st = SB_OK;
    if (!c) {
        t->kind = SB_TOK_EOF;
    } else if (is_name_start(c)) {
        size_t j = i;
        while (is_name_char((unsigned char)s[j])) j++;
        t->kind = SB_TOK_NAME;
        t->len = j - i;
    } else if (c == '?') {
        size_t j = i + 1;
        if (!is_name_start((unsigned char)s[j]))
            return sb_syn_error(src, i, SB_ERR_SYNTAX, "expected a name after '?'");
        while (is_name_char((unsigned char)s[j])) j++;
        t->kind = SB_TOK_PVAR;
        t->len = j - i;
    } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
        st = lex_number(src, i, t);
    } else if (c == '\'' || c == '"') {
        st = lex_string(src, i, t);
    } else {
        size_t k = 0, np = sizeof punct / sizeof *punct;
        while (k < np && strncmp(s + i, punct[k].s, strlen(punct[k].s))) k++;
        if (k == np) {
            if (c >= 0x20 && c < 0x7f)
                return sb_syn_error(src, i, SB_ERR_SYNTAX, "unexpected character '%c'", c);
            return sb_syn_error(src, i, SB_ERR_SYNTAX, "unexpected byte 0x%02x", c);
        }
        t->kind = punct[k].k;
        t->len = strlen(punct[k].s);
    }
    *at = t->start + t->len;
    return st;
}

const char *sb_syn_tok_str(const sb_syn_src *src, const sb_token *t, char *buf, size_t n)
{
    if (t->kind == SB_TOK_EOF)
        snprintf(buf, n, "end of input");
    else
        snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), src->text + t->start);
    return buf;
}
