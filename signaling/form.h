/* application/x-www-form-urlencoded (the HTML form encoding, also used for URL arguments).
 * Internal to signaling/. */
#ifndef BALIE_SIGNALING_FORM_H
#define BALIE_SIGNALING_FORM_H

#include <stddef.h>
#include <stdint.h>

#define FORM_MAX_FIELDS 16
#define FORM_MAX_BYTES 8192

struct form {
    size_t count;
    struct {
        const char *name;
        const char *value;
    } fields[FORM_MAX_FIELDS];
    char storage[FORM_MAX_BYTES + FORM_MAX_FIELDS * 2]; /* the decoded names and values */
};

/* Decodes `buf` ("a=1&b=x+y%21"): fields split on '&', the name from the value on the first
 * '=', '+' is a space and %XX a byte (WHATWG URL standard, "application/x-www-form-urlencoded
 * parsing"). Empty pieces are skipped; a piece without '=' has an empty value. Returns 0, or -1
 * for a body over FORM_MAX_BYTES, more than FORM_MAX_FIELDS fields, a broken %XX escape or a
 * NUL byte (which no form field holds, and which would cut a C string short). */
int form_decode(const uint8_t *buf, size_t len, struct form *out);

/* The first value named `name`, or NULL. */
const char *form_get(const struct form *f, const char *name);

#endif
