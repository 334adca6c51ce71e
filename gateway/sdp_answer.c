/* Checking the browser's answer to the gateway's offer (RFC 3264, RFC 8829 §5.3, RFC 8843).
 *
 * One pass over the lines collects the session level and the two m-sections, pointing into
 * the caller's buffer; a final step decides which m-lines were accepted, which one carries the
 * BUNDLE transport, and copies the result out. A problem found inside an m-line with port 0 is
 * kept until we know whether that m-line was rejected (then it does not matter) or is a
 * bundle-only part of the BUNDLE group (then it does). */
#include "balie/sdp.h"
#include "sdp_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int vfail(struct sdp_parser *p, bool with_line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int vfail(struct sdp_parser *p, bool with_line, const char *fmt, va_list ap)
{
    if (p->err && p->err_len > 0) {
        int n = with_line ? snprintf(p->err, p->err_len, "line %zu: ", p->line) : 0;
        if (n >= 0 && (size_t)n < p->err_len)
            vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
    }
    return -EINVAL;
}

int sdp_fail(struct sdp_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(p, false, fmt, ap);
    va_end(ap);
    return rc;
}

int sdp_fail_line(struct sdp_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(p, true, fmt, ap);
    va_end(ap);
    return rc;
}

int sdp_section_fail(struct sdp_parser *p, struct sdp_section *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = 0;
    if (s->port != 0) {
        rc = vfail(p, true, fmt, ap);
    } else if (s->deferred[0] == '\0') {
        int n = snprintf(s->deferred, sizeof(s->deferred), "line %zu: ", p->line);
        if (n > 0 && (size_t)n < sizeof(s->deferred))
            vsnprintf(s->deferred + n, sizeof(s->deferred) - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return rc;
}

/* ---- session-level lines ---- */

/* RFC 8866 §5.2: o=<username> <sess-id> <sess-version> IN <addrtype> <unicast-address>. */
static int parse_origin(struct sdp_parser *p, struct span v)
{
    struct span user = span_word(&v), id = span_word(&v), version = span_word(&v);
    struct span net = span_word(&v), addrtype = span_word(&v), address = span_word(&v);
    if (user.n == 0 || !span_u64(id, 20, UINT64_MAX, &p->session_id) ||
        !span_u64(version, 20, UINT64_MAX, &p->session_version) || !span_is(net, "IN") ||
        !(span_is(addrtype, "IP4") || span_is(addrtype, "IP6")) || address.n == 0 || v.n != 0)
        return sdp_fail_line(p, "malformed o= line (RFC 8866 §5.2)");
    return 0;
}

/* RFC 8843 §7.1.1: a bundled m-line's c= is IN IP4 or IN IP6. */
static int parse_connection(struct sdp_parser *p, struct span v)
{
    struct span net = span_word(&v), addrtype = span_word(&v), address = span_word(&v);
    int kind = sdp_address_kind(address);
    bool ok = span_is(net, "IN") && v.n == 0 && kind >= 0;
    if (span_is(addrtype, "IP4"))
        ok = ok && kind != SDP_ADDRESS_IPV6;
    else if (span_is(addrtype, "IP6"))
        ok = ok && kind != SDP_ADDRESS_IPV4;
    else
        ok = false;
    if (!ok)
        return sdp_fail_line(p, "malformed c= line (RFC 8866 §5.7)");
    bool *has_c = p->section_count ? &p->sections[p->section_count - 1].has_c : &p->has_c;
    if (*has_c)
        return sdp_fail_line(p, "more than one c= line at this level");
    *has_c = true;
    return 0;
}

static int parse_timing(struct sdp_parser *p, struct span v)
{
    struct span start = span_word(&v), stop = span_word(&v);
    uint64_t ignored;
    if (p->section_count > 0)
        return sdp_fail_line(p, "t= belongs before the first m= line");
    if (!span_u64(start, 20, UINT64_MAX, &ignored) || !span_u64(stop, 20, UINT64_MAX, &ignored) ||
        v.n != 0)
        return sdp_fail_line(p, "malformed t= line (RFC 8866 §5.9)");
    p->has_t = true;
    return 0;
}

/* RFC 5888 §5, RFC 8843 §7.3: a=group:BUNDLE <mid> <mid>… Other group semantics are ignored. */
static int parse_group(struct sdp_parser *p, struct span v)
{
    struct span semantics = span_word(&v);
    if (!span_is(semantics, "BUNDLE"))
        return 0;
    if (p->has_bundle)
        return sdp_fail_line(p, "more than one BUNDLE group; the offer proposed one");
    while (v.n > 0) {
        struct span mid = span_word(&v);
        if (!span_is_token(mid) || mid.n > SDP_MID_MAX)
            return sdp_fail_line(p, "malformed a=group:BUNDLE");
        if (p->bundle_count == SDP_MAX_BUNDLE_MIDS)
            return sdp_fail_line(p, "the BUNDLE group names more m-lines than the offer has");
        for (size_t i = 0; i < p->bundle_count; i++)
            if (span_eq(p->bundle[i], mid))
                return sdp_fail_line(p, "the BUNDLE group names a mid twice");
        p->bundle[p->bundle_count++] = mid;
    }
    p->has_bundle = p->bundle_count > 0;
    return 0;
}

/* ---- transport attributes: session or media level ---- */

/* RFC 8839 §5.4: ice-ufrag is 4..256 ice-chars, ice-pwd 22..256. */
static int parse_ice_credential(struct sdp_parser *p, struct span v, bool is_pwd,
                                struct sdp_transport_attrs *t)
{
    const char *name = is_pwd ? "ice-pwd" : "ice-ufrag";
    size_t min = is_pwd ? SDP_ICE_PWD_MIN : SDP_ICE_UFRAG_MIN;
    _Static_assert(SDP_ICE_PWD_MAX == SDP_ICE_UFRAG_MAX, "one maximum for both credentials");
    size_t max = SDP_ICE_PWD_MAX;
    bool *has = is_pwd ? &t->has_pwd : &t->has_ufrag;
    if (*has)
        return sdp_fail_line(p, "a second a=%s at this level", name);
    if (v.n < min || v.n > max)
        return sdp_fail_line(p, "a=%s is %zu characters; RFC 8839 §5.4 needs %zu to %zu", name, v.n,
                             min, max);
    if (!span_all_ice_chars(v))
        return sdp_fail_line(p, "a=%s has a character outside the ICE set (RFC 8839 §5.4)", name);
    *has = true;
    if (is_pwd)
        t->pwd = v;
    else
        t->ufrag = v;
    return 0;
}

/* RFC 8122 §5: a=fingerprint:<hash-func> <hex pairs>. Several may be given; the gateway checks
 * the peer's certificate with sha-256 (RFC 8842 §5.1), so one of them must be that. */
static int parse_fingerprint(struct sdp_parser *p, struct span v, struct sdp_transport_attrs *t)
{
    struct span hash = span_word(&v), value = span_word(&v);
    if (!span_is_token(hash) || value.n == 0 || v.n != 0)
        return sdp_fail_line(p, "malformed a=fingerprint (RFC 8122 §5)");
    if (!span_is_nocase(hash, "sha-256")) {
        if (t->other_hash[0] == '\0') {
            size_t n = hash.n < sizeof(t->other_hash) - 1 ? hash.n : sizeof(t->other_hash) - 1;
            memcpy(t->other_hash, hash.p, n);
            t->other_hash[n] = '\0';
        }
        return 0;
    }
    uint8_t fp[SDP_FINGERPRINT_LEN];
    if (!sdp_parse_fingerprint_hex(value, fp))
        return sdp_fail_line(p, "a=fingerprint:sha-256 is not 32 colon-separated hex bytes");
    if (t->has_fingerprint && memcmp(fp, t->fingerprint, sizeof(fp)) != 0)
        return sdp_fail_line(p, "two different sha-256 fingerprints at this level");
    memcpy(t->fingerprint, fp, sizeof(fp));
    t->has_fingerprint = true;
    return 0;
}

/* RFC 5763 §5, RFC 8842 §5.3: the answerer picks a role; actpass and holdconn are offers. */
static int parse_setup(struct sdp_parser *p, struct span v, struct sdp_transport_attrs *t)
{
    enum sdp_setup setup;
    if (span_is(v, "active"))
        setup = SDP_SETUP_ACTIVE;
    else if (span_is(v, "passive"))
        setup = SDP_SETUP_PASSIVE;
    else if (span_is(v, "actpass") || span_is(v, "holdconn"))
        return sdp_fail_line(p,
                             "a=setup:%s is not allowed in an answer; it must be active or "
                             "passive (RFC 5763 §5)",
                             span_is(v, "actpass") ? "actpass" : "holdconn");
    else
        return sdp_fail_line(p, "unknown a=setup value (RFC 4145 §4)");
    if (t->has_setup && t->setup != setup)
        return sdp_fail_line(p, "two different a=setup values at this level");
    t->setup = setup;
    t->has_setup = true;
    return 0;
}

/* ---- attribute dispatch ---- */

/* Session-or-media attributes: transport, direction, end-of-candidates. Returns 1 when
 * `name` is none of them. */
static int parse_shared_attribute(struct sdp_parser *p, struct sdp_section *s, struct span name,
                                  struct span v, bool has_value)
{
    struct sdp_transport_attrs *t = s ? &s->transport : &p->transport;
    enum sdp_direction direction;
    if (sdp_parse_direction(name, &direction)) {
        bool *has = s ? &s->has_direction : &p->has_direction;
        if (has_value || *has)
            return sdp_fail_line(p, "unexpected direction attribute (RFC 3264 §6.1)");
        *has = true;
        *(s ? &s->direction : &p->direction) = direction;
        return 0;
    }
    if (span_is(name, "end-of-candidates")) {
        p->end_of_candidates = true;
        return 0;
    }
    if (!span_is(name, "ice-ufrag") && !span_is(name, "ice-pwd") && !span_is(name, "fingerprint") &&
        !span_is(name, "setup"))
        return 1;
    if (!has_value)
        return sdp_fail_line(p, "a=%.*s needs a value", (int)name.n, name.p);
    if (span_is(name, "ice-ufrag"))
        return parse_ice_credential(p, v, false, t);
    if (span_is(name, "ice-pwd"))
        return parse_ice_credential(p, v, true, t);
    if (span_is(name, "fingerprint"))
        return parse_fingerprint(p, v, t);
    return parse_setup(p, v, t);
}

/* RFC 8866 §5.13: a=<name>[:<value>]. Unknown attributes are ignored (§5.13). */
static int parse_attribute(struct sdp_parser *p, struct span line)
{
    p->attr = line;
    const char *colon = memchr(line.p, ':', line.n);
    struct span name = {line.p, colon ? (size_t)(colon - line.p) : line.n};
    struct span value = {colon ? colon + 1 : NULL, colon ? line.n - name.n - 1 : 0};
    if (!span_is_token(name) || name.n > 64)
        return sdp_fail_line(p, "malformed attribute name (RFC 8866 §5.13)");
    struct sdp_section *s = p->section_count ? &p->sections[p->section_count - 1] : NULL;
    int rc = parse_shared_attribute(p, s, name, value, colon != NULL);
    if (rc <= 0)
        return rc;
    /* RFC 8285 §5 allows a session-level extmap, but no browser writes one, and checking it
     * against both m-lines' offered ids is not worth the code. */
    if (span_is(name, "extmap") && !s)
        return sdp_fail_line(p, "a session-level a=extmap is not supported");
    if (sdp_is_media_attribute(name)) {
        if (!s)
            return sdp_fail_line(p, "a=%.*s belongs inside an m-line", (int)name.n, name.p);
        return sdp_parse_media_attribute(p, s, name, value, colon != NULL);
    }
    if (span_is(name, "group") || span_is(name, "ice-lite")) {
        if (s)
            return sdp_fail_line(p, "a=%.*s belongs at session level", (int)name.n, name.p);
        if (span_is(name, "group"))
            return colon ? parse_group(p, value) : sdp_fail_line(p, "a=group needs a value");
        p->ice_lite = true;
    }
    return 0;
}

/* ---- lines ---- */

static int check_line_bytes(struct sdp_parser *p, struct span line)
{
    if (line.n > SDP_MAX_LINE)
        return sdp_fail_line(p, "longer than %d bytes", SDP_MAX_LINE);
    for (size_t i = 0; i < line.n; i++) {
        unsigned char c = (unsigned char)line.p[i];
        if (c == '\r')
            return sdp_fail_line(p, "a CR that does not end the line");
        /* RFC 8866 §9 byte-string allows more, but no browser writes a control character. */
        if (c < 0x20 && c != '\t')
            return sdp_fail_line(p, "control character 0x%02x", c);
    }
    return 0;
}

static int parse_line(struct sdp_parser *p, struct span line)
{
    if (line.n == 0)
        return 0; /* tolerated: applications sometimes add a blank line at the end */
    int rc = check_line_bytes(p, line);
    if (rc < 0)
        return rc;
    if (line.n < 2 || line.p[1] != '=')
        return sdp_fail_line(p, "not an SDP line (<type>=<value>, RFC 8866 §5)");
    char type = line.p[0];
    struct span v = {line.p + 2, line.n - 2};
    /* RFC 8866 §5: v=, o= and s= come first, in that order, and only once. */
    static const char first[] = "vos";
    if (p->sdp_lines < 3 && type != first[p->sdp_lines])
        return sdp_fail_line(p, "expected %c= here (RFC 8866 §5)", first[p->sdp_lines]);
    if (p->sdp_lines >= 3 && type != '\0' && strchr(first, type))
        return sdp_fail_line(p, "%c= may appear only once (RFC 8866 §5)", type);
    p->sdp_lines++;
    switch (type) {
    case 'v':
        return span_is(v, "0") ? 0 : sdp_fail_line(p, "unsupported SDP version (RFC 8866 §5.1)");
    case 'o':
        return parse_origin(p, v);
    case 't':
        return parse_timing(p, v);
    case 'c':
        return parse_connection(p, v);
    case 'm':
        return sdp_parse_media_line(p, v);
    case 'a':
        return parse_attribute(p, v);
    case 's':
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'b':
    case 'r':
    case 'z':
    case 'k':
        return 0;
    default:
        /* RFC 8866 §5: a description with a type letter we do not understand is refused. */
        return sdp_fail_line(p, "unknown line type");
    }
}

/* ---- after the last line ---- */

/* RFC 8843 §7.3-7.4: every accepted m-line must be in the BUNDLE group, since the gateway
 * has one transport per leg; the group's first mid names the m-line that carries it. Returns
 * that m-line's index, or a negative errno. */
static int choose_transport_section(struct sdp_parser *p, const struct sdp_answer *out)
{
    size_t accepted = 0, only = 0;
    for (size_t i = 0; i < 2; i++) {
        if (!out->media[i].rejected) {
            accepted++;
            only = i;
        }
    }
    if (accepted == 0)
        return sdp_fail(p, "the answer rejects both m-lines");
    for (size_t b = 0; b < p->bundle_count; b++) {
        bool named = false;
        for (size_t i = 0; i < 2; i++)
            named = named || (!out->media[i].rejected && p->sections[i].has_mid &&
                              span_eq(p->sections[i].mid, p->bundle[b]));
        if (!named)
            return sdp_fail(p, "the BUNDLE group names a mid that is not an accepted m-line "
                               "(RFC 8843 §7.3.3)");
    }
    if (accepted == 2 && !p->has_bundle)
        return sdp_fail(p, "the answer has no a=group:BUNDLE; the gateway needs both m-lines on "
                           "one transport (RFC 8843)");
    for (size_t i = 0; accepted == 2 && i < 2; i++)
        if (!out->media[i].bundled)
            return sdp_fail(p, "mid %s is not in the BUNDLE group (RFC 8843 §7.3)", sdp_mids[i]);
    size_t tag = only;
    for (size_t i = 0; p->has_bundle && i < 2; i++)
        if (p->sections[i].has_mid && span_eq(p->sections[i].mid, p->bundle[0]))
            tag = i;
    if (p->sections[tag].port == 0)
        return sdp_fail(p, "the BUNDLE-tagged m-line has port 0 (RFC 8843 §7.3.1)");
    return (int)tag;
}

/* The transport is the session level overlaid by the tagged m-line (RFC 8843 §7.1.3).
 * Browsers repeat it in every bundled m-line; a bundled m-line that says something else is
 * a broken answer, not something to choose from. */
static int merge_transport(struct sdp_parser *p, const struct sdp_transport_attrs *over,
                           struct sdp_transport_attrs *t, bool check_only)
{
    static const char *const names[] = {"ice-ufrag", "ice-pwd", "fingerprint", "setup"};
    bool has[4] = {over->has_ufrag, over->has_pwd, over->has_fingerprint, over->has_setup};
    bool *dst_has[4] = {&t->has_ufrag, &t->has_pwd, &t->has_fingerprint, &t->has_setup};
    bool same[4] = {span_eq(over->ufrag, t->ufrag), span_eq(over->pwd, t->pwd),
                    memcmp(over->fingerprint, t->fingerprint, SDP_FINGERPRINT_LEN) == 0,
                    over->setup == t->setup};
    for (size_t k = 0; k < 4; k++)
        if (check_only && has[k] && *dst_has[k] && !same[k])
            return sdp_fail(p, "bundled m-lines disagree on a=%s", names[k]);
    if (check_only)
        return 0;
    if (over->has_ufrag)
        t->ufrag = over->ufrag;
    if (over->has_pwd)
        t->pwd = over->pwd;
    if (over->has_fingerprint)
        memcpy(t->fingerprint, over->fingerprint, SDP_FINGERPRINT_LEN);
    if (over->has_setup)
        t->setup = over->setup;
    if (over->other_hash[0])
        memcpy(t->other_hash, over->other_hash, sizeof(t->other_hash));
    for (size_t k = 0; k < 4; k++)
        *dst_has[k] = *dst_has[k] || has[k];
    return 0;
}

static int check_transport(struct sdp_parser *p, const struct sdp_transport_attrs *t,
                           struct sdp_answer *out)
{
    if (!t->has_ufrag)
        return sdp_fail(p, "the answer has no a=ice-ufrag (RFC 8839 §5.4)");
    if (!t->has_pwd)
        return sdp_fail(p, "the answer has no a=ice-pwd (RFC 8839 §5.4)");
    if (!t->has_fingerprint && t->other_hash[0])
        return sdp_fail(p, "the answer's fingerprint uses %s; only sha-256 is accepted",
                        t->other_hash);
    if (!t->has_fingerprint)
        return sdp_fail(p, "the answer has no a=fingerprint (RFC 8842 §5.1)");
    if (!t->has_setup)
        return sdp_fail(p, "the answer has no a=setup (RFC 8842 §5.3)");
    uint8_t ours[SDP_FINGERPRINT_LEN];
    struct span ours_text = {p->offer->fingerprint, SDP_FINGERPRINT_TEXT};
    if (sdp_parse_fingerprint_hex(ours_text, ours) && memcmp(ours, t->fingerprint, 32) == 0)
        return sdp_fail(p, "the answer carries the gateway's own fingerprint");
    memcpy(out->ice_ufrag, t->ufrag.p, t->ufrag.n);
    out->ice_ufrag[t->ufrag.n] = '\0';
    memcpy(out->ice_pwd, t->pwd.p, t->pwd.n);
    out->ice_pwd[t->pwd.n] = '\0';
    memcpy(out->fingerprint, t->fingerprint, SDP_FINGERPRINT_LEN);
    out->setup = t->setup;
    return 0;
}

static int finish(struct sdp_parser *p, struct sdp_answer *out)
{
    if (p->section_count != 2)
        return sdp_fail(p, "the answer has %zu m-lines; the offer had 2 (RFC 3264 §6)",
                        p->section_count);
    for (size_t i = 0; i < 2; i++) {
        int rc = sdp_close_section(p, i, &out->media[i]);
        if (rc < 0)
            return rc;
    }
    int tag = choose_transport_section(p, out);
    if (tag < 0)
        return tag;
    struct sdp_transport_attrs t = p->transport;
    merge_transport(p, &p->sections[tag].transport, &t, false);
    for (size_t i = 0; i < 2; i++) {
        int rc =
            out->media[i].bundled ? merge_transport(p, &p->sections[i].transport, &t, true) : 0;
        if (rc < 0)
            return rc;
    }
    int rc = check_transport(p, &t, out);
    if (rc < 0)
        return rc;
    /* RFC 5761 §5.1.1, RFC 8843 §9.3: RTP and RTCP share the one BUNDLE port. */
    if (!p->sections[tag].rtcp_mux)
        return sdp_fail(p, "the answer has no a=rtcp-mux; RTCP must share the RTP port (RFC 5761)");
    /* RFC 8445 §6.1.1: between two lite agents nobody sends checks. */
    if (p->ice_lite && p->offer->ice_lite)
        return sdp_fail(p, "both sides are ICE-lite, so nobody would run connectivity checks");
    out->session_id = p->session_id;
    out->session_version = p->session_version;
    out->ice_lite = p->ice_lite;
    out->bundle = p->has_bundle;
    out->candidate_count = p->candidate_count;
    out->end_of_candidates = p->end_of_candidates;
    return 0;
}

static int parse_all(struct sdp_parser *p, const char *sdp, size_t len, struct sdp_answer *out)
{
    if (!sdp_offer_params_valid(p->offer))
        return sdp_fail(p, "the offer parameters are invalid");
    if (len > SDP_MAX_SIZE) {
        sdp_fail(p, "the answer is %zu bytes; the limit is %d", len, SDP_MAX_SIZE);
        return -EMSGSIZE;
    }
    if (!sdp || len == 0)
        return sdp_fail(p, "the answer is empty");
    if (memchr(sdp, '\0', len))
        return sdp_fail(p, "the answer contains a NUL byte");
    size_t pos = 0;
    while (pos < len) {
        p->line++;
        const char *nl = memchr(sdp + pos, '\n', len - pos);
        if (!nl)
            return sdp_fail_line(p, "not terminated by a line break; the answer looks truncated");
        struct span line = {sdp + pos, (size_t)(nl - (sdp + pos))};
        pos += line.n + 1;
        if (line.n > 0 && line.p[line.n - 1] == '\r')
            line.n--;
        int rc = parse_line(p, line);
        if (rc < 0)
            return rc;
    }
    return finish(p, out);
}

int sdp_parse_answer(const char *sdp, size_t len, const struct sdp_offer_params *offer,
                     struct sdp_answer *out, char *err, size_t err_len)
{
    static struct sdp_parser zero;
    struct sdp_parser p = zero;
    p.offer = offer;
    p.err = err;
    p.err_len = err_len;
    if (err && err_len > 0)
        err[0] = '\0';
    if (!out)
        return sdp_fail(&p, "no output structure");
    memset(out, 0, sizeof(*out));
    int rc = parse_all(&p, sdp, len, out);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
