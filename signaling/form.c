#include "form.h"

#include <string.h>

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes buf[0..len) into `out` and NUL-terminates it. Returns the bytes written (without the
 * NUL), or -1. `out` has room for len + 1 bytes: decoding never grows the text. */
static long decode_piece(const uint8_t *buf, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (len - i < 3)
                return -1;
            int hi = hex_value(buf[i + 1]), lo = hex_value(buf[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return (long)n;
}

int form_decode(const uint8_t *buf, size_t len, struct form *out)
{
    out->count = 0;
    if (len > FORM_MAX_BYTES)
        return -1;
    size_t used = 0;
    size_t at = 0;
    while (at < len) {
        const uint8_t *amp = memchr(buf + at, '&', len - at);
        size_t end = amp ? (size_t)(amp - buf) : len;
        if (end > at) {
            if (out->count == FORM_MAX_FIELDS)
                return -1;
            const uint8_t *eq = memchr(buf + at, '=', end - at);
            size_t name_end = eq ? (size_t)(eq - buf) : end;
            size_t value_at = eq ? name_end + 1 : end;
            /* Both pieces and their NULs fit: storage is FORM_MAX_BYTES + 2 per field. */
            char *name = out->storage + used;
            long nn = decode_piece(buf + at, name_end - at, name);
            if (nn < 0)
                return -1;
            used += (size_t)nn + 1;
            char *value = out->storage + used;
            long vn = decode_piece(buf + value_at, end - value_at, value);
            if (vn < 0)
                return -1;
            used += (size_t)vn + 1;
            out->fields[out->count].name = name;
            out->fields[out->count].value = value;
            out->count++;
        }
        at = end + 1;
    }
    return 0;
}

const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return f->fields[i].value;
    return NULL;
}
