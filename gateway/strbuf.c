#include "balie/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb)
{
    memset(sb, 0, sizeof(*sb));
}

void strbuf_free(struct strbuf *sb)
{
    free(sb->data);
    strbuf_init(sb);
}

static int strbuf_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->failed)
        return -1;
    if (sb->len + extra + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *data = realloc(sb->data, cap);
    if (!data) {
        sb->failed = 1;
        return -1;
    }
    sb->data = data;
    sb->cap = cap;
    return 0;
}

void strbuf_append(struct strbuf *sb, const char *data, size_t len)
{
    if (strbuf_reserve(sb, len) != 0)
        return;
    memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || strbuf_reserve(sb, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void strbuf_append_json_escaped(struct strbuf *sb, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            strbuf_append(sb, esc, 2);
        } else if (*p < 0x20) {
            strbuf_appendf(sb, "\\u%04x", *p);
        } else {
            strbuf_append(sb, (const char *)p, 1);
        }
    }
}

void strbuf_append_markup_escaped(struct strbuf *sb, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '<':
            strbuf_append(sb, "&lt;", 4);
            break;
        case '>':
            strbuf_append(sb, "&gt;", 4);
            break;
        case '&':
            strbuf_append(sb, "&amp;", 5);
            break;
        case '"':
            strbuf_append(sb, "&quot;", 6);
            break;
        default:
            strbuf_append(sb, c, 1);
        }
    }
}
