/* The SAML parts of the login routes: the callback's large form post and the SP metadata. */
#include "auth_saml.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "balie/idp_saml.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* WHATWG URL standard, "application/x-www-form-urlencoded parsing": '+' is a space, %XX a
 * byte; a NUL byte is refused (no form field holds one, and it would cut a C string). */
static int decode_piece(const char *in, size_t len, char *out, size_t *out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        out[n++] = c;
    }
    out[n++] = '\0';
    *out_len = n;
    return 0;
}

int auth_callback_form(const char *body, size_t len, struct idp_params *p, char **storage)
{
    p->count = 0;
    *storage = NULL;
    if (len > HTTP_BODY_MAX_CALLBACK)
        return -1;
    char *out = malloc(len + 2 * IDP_PARAMS_MAX + 2);
    if (!out)
        return -1;
    *storage = out;
    size_t at = 0, used = 0;
    while (at < len) {
        const char *piece = body + at;
        const char *amp = memchr(piece, '&', len - at);
        size_t plen = amp ? (size_t)(amp - piece) : len - at;
        at += plen + (amp != NULL);
        if (plen == 0)
            continue;
        if (p->count == IDP_PARAMS_MAX)
            return -1;
        const char *eq = memchr(piece, '=', plen);
        size_t nlen = eq ? (size_t)(eq - piece) : plen, n;
        if (decode_piece(piece, nlen, out + used, &n) != 0)
            return -1;
        p->items[p->count].name = out + used;
        used += n;
        if (decode_piece(eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0, out + used, &n) != 0)
            return -1;
        p->items[p->count].value = out + used;
        used += n;
        p->count++;
    }
    return 0;
}

int auth_saml_metadata(struct server *srv, struct lws *wsi, struct http_session *hs,
                       struct idp *idp)
{
    size_t len = 0;
    char *doc = idp_saml_metadata(idp, &len);
    if (!doc)
        return 1;
    return http_respond(srv, wsi, hs, 200, "application/samlmetadata+xml", doc, len, NULL);
}

bool auth_answer_in_request(const struct idp *idp, const struct idp_params *params)
{
    return idp_is_saml(idp) && idp_params_get(params, "SAMLResponse") != NULL;
}
