/* The client's address behind trusted reverse proxies (X-Forwarded-For, the de-facto form of
 * RFC 7239's "for" parameter): only the entries a trusted proxy appended are believed. */
#include "clientaddr.h"

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

/* `text` as 16 bytes (IPv4 as ::ffff:a.b.c.d), so equal addresses compare equal however they
 * are written. */
static bool parse_ip(const char *text, unsigned char out[16])
{
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

bool clientaddr_in_list(const char *addr, const char *list)
{
    unsigned char want[16], have[16];
    if (!addr || !list || !parse_ip(addr, want))
        return false;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ", ");
        char item[64];
        if (n > 0 && n < sizeof(item)) {
            memcpy(item, p, n);
            item[n] = '\0';
            if (parse_ip(item, have) && memcmp(want, have, 16) == 0)
                return true;
        }
        p += n;
        p += strspn(p, ", ");
    }
    return false;
}

/* One entry with surrounding spaces removed, as a string; false when it cannot be one. */
static bool entry(const uint8_t *s, size_t len, char *out, size_t out_len)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= out_len || memchr(s, '\0', len))
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

void clientaddr_resolve(const char *peer, const uint8_t *xff, size_t xff_len, const char *trusted,
                        char *out, size_t out_len)
{
    snprintf(out, out_len, "%s", peer ? peer : "");
    if (!xff || !trusted || !trusted[0] || !clientaddr_in_list(peer, trusted))
        return;
    if (xff_len > CLIENTADDR_XFF_MAX)
        return; /* longer than any honest chain: do not guess */
    size_t end = xff_len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char item[64];
        unsigned char bin[16];
        if (!entry(xff + start, end - start, item, sizeof(item)) || !parse_ip(item, bin))
            return; /* malformed: the peer stays the key */
        if (!clientaddr_in_list(item, trusted)) {
            snprintf(out, out_len, "%s", item);
            return;
        }
        snprintf(out, out_len, "%s", item); /* all trusted so far: the leftmost wins */
        end = start > 0 ? start - 1 : 0;
    }
}
