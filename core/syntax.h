/* syntax.h: the expression syntax's lexer and error positions (internal to core/lexer.c,
 * core/parse.c and core/print.c).
 *
 * The lexer turns text into tokens on demand; every token keeps its byte offset in the text so
 * the parser can report "file:line:col" through sb_syn_error (see sb_srcpos in symbench.h). */
#ifndef SB_SYNTAX_H
#define SB_SYNTAX_H

#include "core-impl.h"

typedef enum sb_tok_kind {
    SB_TOK_EOF,
    SB_TOK_NAME,     /* identifier (keywords and/or/not/True/False/None are names too) */
    SB_TOK_INT,      /* integer literal: ival */
    SB_TOK_FLOAT,    /* float literal: fval */
    SB_TOK_STR,      /* 'text' or "text": the text is start+1 .. start+len-1 */
    SB_TOK_PVAR,     /* ?name: the name is start+1 .. start+len */
    SB_TOK_LPAREN, SB_TOK_RPAREN, SB_TOK_LBRACK, SB_TOK_RBRACK,
    SB_TOK_COMMA, SB_TOK_COLON, SB_TOK_DOT, SB_TOK_ASSIGN, SB_TOK_ELLIPSIS,
    SB_TOK_PLUS, SB_TOK_MINUS, SB_TOK_STAR, SB_TOK_SLASH, SB_TOK_DSLASH, SB_TOK_PERCENT,
    SB_TOK_AT, SB_TOK_POW, SB_TOK_AMP, SB_TOK_PIPE, SB_TOK_TILDE,
    SB_TOK_LT, SB_TOK_LE, SB_TOK_GT, SB_TOK_GE, SB_TOK_EQ, SB_TOK_NE,
    SB_TOK_KIND_COUNT
} sb_tok_kind;

typedef struct sb_token {
    sb_tok_kind kind;
    size_t start, len; /* byte range in the text */
    int64_t ival;
    double fval;
} sb_token;

/* The text being parsed and where it came from; errors go to d. */
typedef struct sb_syn_src {
    const char *text;
    sb_srcpos pos; /* file (never NULL), line/col of text[0] */
    sb_diag *d;
} sb_syn_src;

/* Fill src->d with "file:line:col: message" for byte offset `off` of the text. Returns st. */
sb_status sb_syn_error(const sb_syn_src *src, size_t off, sb_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Line and 1-based column of byte offset `off`, counting newlines inside the text. */
void sb_syn_where(const sb_syn_src *src, size_t off, int *line, int *col);

/* Scan the token that starts at or after *at (skipping blanks) into t and move *at past it.
 * A bad character, unterminated string or out-of-range number fills src->d. */
sb_status sb_syn_lex(const sb_syn_src *src, size_t *at, sb_token *t);

/* The token's spelling for messages ("')'", "end of input", "'foo'"), written into buf. */
const char *sb_syn_tok_str(const sb_syn_src *src, const sb_token *t, char *buf, size_t n);

#endif
