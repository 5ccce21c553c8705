/* json.h: JSON documents with source positions (internal).
 *
 * cJSON parses; a second scan of the same text records where every value starts, so any item of
 * the tree can be reported as file:line:col. Used by graph, pipeline and rule loaders. */
#ifndef SB_JSON_H
#define SB_JSON_H

#include "symbench.h"
#include <cjson/cJSON.h>

typedef struct sb_json sb_json;

/* Parse text (file names it in diagnostics). Malformed JSON is reported at its position. */
sb_json *sb_json_parse(const char *text, const char *file, sb_diag *d);
/* Read and parse a file; a missing file is "PATH: cannot open: reason". */
sb_json *sb_json_load_file(const char *path, sb_diag *d);
void sb_json_free(sb_json *j);
cJSON *sb_json_root(const sb_json *j);
const char *sb_json_file(const sb_json *j);
/* 1-based line/column where item's value starts (for a string: its opening quote). 0,0 if item
 * is not of this document. */
void sb_json_pos(const sb_json *j, const cJSON *item, int *line, int *col);
/* Where the text of a string item starts (just after the quote), for sb_parse_expr's srcpos. */
sb_srcpos sb_json_str_pos(const sb_json *j, const cJSON *item);
/* After sb_parse_expr failed on the string item (parsed with sb_json_str_pos's srcpos), move d's
 * line:col from the decoded text to the file's own characters: escapes (\" \n \uXXXX) take more
 * than one character in the file. Returns d->status. */
sb_status sb_json_str_fix(const sb_json *j, const cJSON *item, sb_diag *d);
/* Set d to "file:line:col: message" at item's position; returns st. */
sb_status sb_json_error(const sb_json *j, const cJSON *item, sb_status st, sb_diag *d,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Like sb_json_error, at the key of an object member (its opening quote); other items at their
 * value. For "unknown key" and "duplicate key" messages. */
sb_status sb_json_key_error(const sb_json *j, const cJSON *item, sb_status st, sb_diag *d,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Only keys from allowed (NULL-terminated), or `extra` when not NULL, in object obj; otherwise
 * SB_ERR_SYNTAX at the first other key: "unknown key 'K' in WHAT". */
sb_status sb_json_check_keys(const sb_json *j, const cJSON *obj, const char *const *allowed,
                             const char *extra, const char *what, sb_diag *d);
/* Read a whole file into a malloc'd NUL-terminated string (NULL + diag if it cannot). */
char *sb_read_file(const char *path, size_t *len, sb_diag *d);
/* Write n bytes of data as the whole file path (created or replaced); SB_ERR_IO + d ("cannot
 * open for writing: reason" / "write failed: reason", file = path) when it cannot. */
sb_status sb_write_file(const char *path, const void *data, size_t n, sb_diag *d);

#endif
