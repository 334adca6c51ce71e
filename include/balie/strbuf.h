/* A growable byte buffer for building responses and documents on the control thread. */
#ifndef BALIE_STRBUF_H
#define BALIE_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data; /* always NUL-terminated when len > 0 or after the first append */
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; later appends are ignored */
};

void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const char *data, size_t len);
void strbuf_appendf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `text` as the inside of a JSON string (quotes not included). */
void strbuf_append_json_escaped(struct strbuf *sb, const char *text);
/* Appends `text` for HTML or XML text and attribute values: < > & " become entities. */
void strbuf_append_markup_escaped(struct strbuf *sb, const char *text);

#endif
