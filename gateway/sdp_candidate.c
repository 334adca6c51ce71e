/* ICE candidate attributes (RFC 8839 §5.1), as trickled by browsers and as found in answers. */
#include "balie/sdp.h"
#include "sdp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* RFC 1123 §2.1 host name: dot-separated labels of letters, digits and hyphens, 1..63 each,
 * not starting or ending with a hyphen, at most 253 characters. A trailing dot is refused: no
 * browser sends one and it would make "x.local." and "x.local" two names. */
static bool is_hostname(struct span s)
{
    if (s.n == 0 || s.n > SDP_HOSTNAME_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '.') {
            if (label == 0 || s.p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (c != '-' || label == 0))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s.p[s.n - 1] != '-';
}

static bool ends_with_nocase(struct span s, const char *suffix)
{
    size_t n = strlen(suffix);
    if (s.n < n)
        return false;
    struct span tail = {s.p + s.n - n, n};
    return span_is_nocase(tail, suffix);
}

int sdp_address_kind(struct span s)
{
    char text[SDP_IP_TEXT_MAX + 1];
    if (s.n > 0 && s.n <= SDP_IP_TEXT_MAX) {
        unsigned char bin[16];
        memcpy(text, s.p, s.n);
        text[s.n] = '\0';
        if (inet_pton(AF_INET, text, bin) == 1)
            return SDP_ADDRESS_IPV4;
        if (inet_pton(AF_INET6, text, bin) == 1)
            return SDP_ADDRESS_IPV6;
    }
    /* A name made only of digits and dots is a mistyped IPv4 address, not a host name. */
    bool digits_and_dots = true;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] != '.' && (s.p[i] < '0' || s.p[i] > '9'))
            digits_and_dots = false;
    if (digits_and_dots || !is_hostname(s))
        return -1;
    /* Browsers publish "<uuid>.local" instead of a private host address. */
    return ends_with_nocase(s, ".local") ? SDP_ADDRESS_MDNS : SDP_ADDRESS_FQDN;
}

static int parse_address(struct span s, char *out, size_t cap, enum sdp_address_kind *kind)
{
    int k = sdp_address_kind(s);
    if (k < 0 || s.n >= cap)
        return -EINVAL;
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    if (kind)
        *kind = (enum sdp_address_kind)k;
    return 0;
}

static int parse_port(struct span s, uint16_t *out)
{
    uint64_t v;
    if (!span_u64(s, 5, 65535, &v))
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

static int parse_type(struct span s, enum sdp_candidate_type *out)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (span_is(s, names[i])) {
            *out = (enum sdp_candidate_type)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* The name/value pairs after the type: raddr, rport, tcptype, and extensions we skip
 * (RFC 8839 §5.1: extension-att-name SP extension-att-value, both byte-strings without SP). */
static int parse_extensions(struct span rest, struct sdp_candidate *out)
{
    bool has_raddr = false, has_rport = false;
    while (rest.n > 0) {
        struct span name = span_word(&rest);
        struct span value = span_word(&rest);
        if (name.n == 0 || value.n == 0)
            return -EINVAL;
        if (span_is(name, "raddr")) {
            if (has_raddr ||
                parse_address(value, out->related_address, sizeof(out->related_address), NULL) < 0)
                return -EINVAL;
            has_raddr = true;
        } else if (span_is(name, "rport")) {
            if (has_rport || parse_port(value, &out->related_port) < 0)
                return -EINVAL;
            has_rport = true;
        } else if (span_is(name, "tcptype")) {
            /* RFC 6544 §4.5 */
            if (span_is(value, "active"))
                out->tcp_type = SDP_TCP_TYPE_ACTIVE;
            else if (span_is(value, "passive"))
                out->tcp_type = SDP_TCP_TYPE_PASSIVE;
            else if (span_is(value, "so"))
                out->tcp_type = SDP_TCP_TYPE_SO;
            else
                return -EINVAL;
        }
    }
    /* RFC 8839 §5.1: rport only comes with raddr, and raddr without rport is incomplete. */
    if (has_raddr != has_rport)
        return -EINVAL;
    out->has_related = has_raddr;
    return 0;
}

int sdp_parse_candidate_n(const char *attr, size_t len, struct sdp_candidate *out)
{
    if (!attr || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return -ENODATA;
    /* Fields are split on single spaces, so a trailing one would pass unnoticed. */
    if (len > SDP_MAX_LINE || attr[len - 1] == ' ')
        return -EINVAL;
    struct span rest = {attr, len};
    if (span_starts_with(rest, "a=")) {
        rest.p += 2;
        rest.n -= 2;
    }
    if (!span_starts_with(rest, "candidate:"))
        return -EINVAL;
    rest.p += 10;
    rest.n -= 10;

    struct span foundation = span_word(&rest);
    struct span component = span_word(&rest);
    struct span transport = span_word(&rest);
    struct span priority = span_word(&rest);
    struct span address = span_word(&rest);
    struct span port = span_word(&rest);
    struct span typ = span_word(&rest);
    struct span type = span_word(&rest);

    /* RFC 8839 §5.1: foundation = 1*32ice-char, component-id = 1*3DIGIT. */
    if (foundation.n == 0 || foundation.n > 32 || !span_all_ice_chars(foundation))
        return -EINVAL;
    memcpy(out->foundation, foundation.p, foundation.n);
    uint64_t v;
    if (!span_u64(component, 3, 256, &v) || v == 0)
        return -EINVAL;
    out->component = (uint16_t)v;
    /* The transport token is case-insensitive; Firefox writes "UDP", Chromium "udp". */
    if (span_is_nocase(transport, "udp"))
        out->transport = SDP_TRANSPORT_UDP;
    else if (span_is_nocase(transport, "tcp"))
        out->transport = SDP_TRANSPORT_TCP;
    else
        return -EINVAL;
    /* RFC 8445 §5.1.2.1: a priority is 1..2^31-1. */
    if (!span_u64(priority, 10, 0x7fffffffu, &v) || v == 0)
        return -EINVAL;
    out->priority = (uint32_t)v;
    if (parse_address(address, out->address, sizeof(out->address), &out->address_kind) < 0)
        return -EINVAL;
    if (parse_port(port, &out->port) < 0)
        return -EINVAL;
    if (!span_is(typ, "typ") || parse_type(type, &out->type) < 0)
        return -EINVAL;
    if (parse_extensions(rest, out) < 0)
        return -EINVAL;
    /* RFC 6544 §4.5: a TCP candidate says which way it connects. */
    if (out->transport == SDP_TRANSPORT_TCP && out->tcp_type == SDP_TCP_TYPE_NONE)
        return -EINVAL;
    if (out->transport == SDP_TRANSPORT_UDP && out->tcp_type != SDP_TCP_TYPE_NONE)
        return -EINVAL;
    return 0;
}

int sdp_parse_candidate(const char *attr, struct sdp_candidate *out)
{
    if (!attr)
        return -EINVAL;
    /* One byte more than any accepted candidate, so an overlong one is seen as such. */
    return sdp_parse_candidate_n(attr, strnlen(attr, SDP_MAX_LINE + 1), out);
}
