/* Which client a request came from, for the login rate limits. Internal to signaling/. */
#ifndef BALIE_SIGNALING_CLIENTADDR_H
#define BALIE_SIGNALING_CLIENTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENTADDR_XFF_MAX 1024 /* X-Forwarded-For bytes looked at; more is ignored */

/* Whether `addr` (an IPv4 or IPv6 literal; "::ffff:a.b.c.d" counts as a.b.c.d) is one of the
 * comma- or space-separated addresses in `list`. */
bool clientaddr_in_list(const char *addr, const char *list);

/* Writes the client's address to `out`. When the direct `peer` is not in `trusted`, that is
 * the peer, whatever X-Forwarded-For says (anyone can send the header). When it is, the
 * header (`xff`, `xff_len` bytes, may be NULL) is read from the right, the end the trusted
 * proxy wrote: proxies in `trusted` are skipped, and the first other entry is the client
 * (a malformed one: the peer is kept). Never fails; `out` is always a string. */
void clientaddr_resolve(const char *peer, const uint8_t *xff, size_t xff_len, const char *trusted,
                        char *out, size_t out_len);

#endif
