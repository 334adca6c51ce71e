/* The m-sections of an answer: the m= line, the attributes that describe its RTP (RFC 8866
 * §6, RFC 4585, RFC 5576, RFC 8285), and the check once the whole answer has been read. */
#include "balie/sdp.h"
#include "sdp_internal.h"

#include <errno.h>
#include <string.h>

static const char *kind_name(const struct sdp_section *s)
{
    return sdp_kind_names[s->kind];
}

static const struct sdp_codec_def *offered_codec(enum sdp_media_kind kind, uint64_t pt)
{
    for (size_t i = 0; i < sdp_codec_count; i++)
        if (sdp_codecs[i].kind == kind && sdp_codecs[i].pt == pt)
            return &sdp_codecs[i];
    return NULL;
}

/* RFC 8866 §5.14: m=<media> <port> <proto> <fmt> … The answer keeps the offer's m-lines in
 * order and the offer's transport (RFC 3264 §6). */
int sdp_parse_media_line(struct sdp_parser *p, struct span v)
{
    if (!p->has_t)
        return sdp_fail_line(p, "no t= line before the first m= line (RFC 8866 §5)");
    if (p->section_count == 2)
        return sdp_fail_line(p, "more m-lines than the offer's two (RFC 3264 §6)");
    struct sdp_section *s = &p->sections[p->section_count];
    s->kind = (enum sdp_media_kind)p->section_count;
    p->section_count++;
    struct span media = span_word(&v), port = span_word(&v), proto = span_word(&v);
    uint64_t number;
    if (!span_is(media, kind_name(s)))
        return sdp_fail_line(p, "m-line %zu must be %s, as in the offer (RFC 3264 §6)",
                             p->section_count, kind_name(s));
    if (!span_u64(port, 5, 65535, &number))
        return sdp_fail_line(p, "malformed port in the %s m-line", kind_name(s));
    s->port = (uint16_t)number;
    if (!span_is(proto, "UDP/TLS/RTP/SAVPF"))
        return sdp_fail_line(p, "the %s m-line must keep UDP/TLS/RTP/SAVPF (RFC 3264 §6)",
                             kind_name(s));
    if (v.n == 0)
        return sdp_fail_line(p, "the %s m-line lists no payload type", kind_name(s));
    while (v.n > 0) {
        if (!span_u64(span_word(&v), 3, 127, &number))
            return sdp_fail_line(p, "malformed payload type in the %s m-line", kind_name(s));
        if (s->format_count == SDP_MAX_FORMATS)
            return sdp_fail_line(p, "the %s m-line lists too many payload types", kind_name(s));
        for (size_t i = 0; i < s->format_count; i++)
            if (s->formats[i] == number)
                return sdp_fail_line(p, "%s payload type %u is listed twice", kind_name(s),
                                     (unsigned)number);
        s->formats[s->format_count++] = (uint8_t)number;
        if (!offered_codec(s->kind, number)) {
            int rc = sdp_section_fail(p, s, "%s payload type %u was not offered", kind_name(s),
                                      (unsigned)number);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int format_index(const struct sdp_section *s, uint64_t pt)
{
    for (size_t i = 0; i < s->format_count; i++)
        if (s->formats[i] == pt)
            return (int)i;
    return -1;
}

/* RFC 8866 §6.6: a=rtpmap:<pt> <name>/<clock>[/<channels>]. A codec or clock rate other than
 * the offer's under one of the offer's numbers is refused: the relay never transcodes. */
static int parse_rtpmap(struct sdp_parser *p, struct sdp_section *s, struct span v)
{
    struct span pt_text = span_word(&v), encoding = span_word(&v);
    uint64_t pt, clock = 0, channels = 0;
    if (!span_u64(pt_text, 3, 127, &pt) || encoding.n == 0 || v.n != 0)
        return sdp_fail_line(p, "malformed a=rtpmap (RFC 8866 §6.6)");
    struct span name = encoding, rest = {NULL, 0};
    const char *slash = memchr(encoding.p, '/', encoding.n);
    if (slash) {
        name.n = (size_t)(slash - encoding.p);
        rest = (struct span){slash + 1, encoding.n - name.n - 1};
        const char *slash2 = memchr(rest.p, '/', rest.n);
        struct span clock_text = {rest.p, slash2 ? (size_t)(slash2 - rest.p) : rest.n};
        struct span ch_text = {slash2 ? slash2 + 1 : NULL, slash2 ? rest.n - clock_text.n - 1 : 0};
        if (!span_u64(clock_text, 10, UINT32_MAX, &clock) ||
            (slash2 && !span_u64(ch_text, 3, 255, &channels)))
            return sdp_fail_line(p, "malformed a=rtpmap (RFC 8866 §6.6)");
    }
    if (!span_is_token(name) || !slash)
        return sdp_fail_line(p, "malformed a=rtpmap (RFC 8866 §6.6)");
    int index = format_index(s, pt);
    const struct sdp_codec_def *c = offered_codec(s->kind, pt);
    if (index < 0 || !c)
        return 0; /* not in the m-line, or already reported as not offered */
    if (s->has_rtpmap[index])
        return sdp_section_fail(p, s, "%s payload type %u has two a=rtpmap lines", kind_name(s),
                                (unsigned)pt);
    s->has_rtpmap[index] = true;
    /* RFC 7587 §7: Opus always says /2; without a count, audio means one channel. */
    if (c->channels && channels == 0)
        channels = 1;
    if (!span_is_nocase(name, c->name) || clock != c->clock || channels != c->channels)
        return sdp_section_fail(p, s, "%s payload type %u is not %s/%u%s as offered", kind_name(s),
                                (unsigned)pt, c->name, c->clock, c->channels == 2 ? "/2" : "");
    return 0;
}

/* RFC 4585 §4.2: a=rtcp-fb:<pt|*> <type> [<param>]. Only feedback the offer proposed for
 * that codec counts as accepted; anything else is ignored. */
static int parse_rtcp_fb(struct sdp_parser *p, struct sdp_section *s, struct span v)
{
    struct span pt_text = span_word(&v), type = span_word(&v), param = span_word(&v);
    uint64_t pt = 0;
    bool wildcard = span_is(pt_text, "*");
    if ((!wildcard && !span_u64(pt_text, 3, 127, &pt)) || type.n == 0)
        return sdp_fail_line(p, "malformed a=rtcp-fb (RFC 4585 §4.2)");
    for (size_t i = 0; i < s->format_count; i++) {
        if (!wildcard && s->formats[i] != pt)
            continue;
        const struct sdp_codec_def *c = offered_codec(s->kind, s->formats[i]);
        for (size_t f = 0; c && f < sdp_rtcp_fb_count; f++) {
            const struct sdp_rtcp_fb_def *fb = &sdp_rtcp_fbs[f];
            bool param_matches = fb->param ? span_is(param, fb->param) : param.n == 0;
            if ((c->rtcp_fb & fb->bit) && span_is(type, fb->type) && param_matches)
                s->rtcp_fb |= fb->bit;
        }
    }
    return 0;
}

bool sdp_parse_direction(struct span s, enum sdp_direction *out)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (span_is(s, names[i])) {
            *out = (enum sdp_direction)i;
            return true;
        }
    }
    return false;
}

/* RFC 8285 §5: a=extmap:<id>[/<direction>] <uri> [<attributes>]. The answer may drop an
 * offered extension but must keep its id, and may not add one (RFC 8285 §7). */
static int parse_extmap(struct sdp_parser *p, struct sdp_section *s, struct span v)
{
    struct span id_text = span_word(&v), uri = span_word(&v);
    const char *slash = memchr(id_text.p, '/', id_text.n);
    enum sdp_direction ignored;
    if (slash) {
        struct span dir = {slash + 1, id_text.n - (size_t)(slash - id_text.p) - 1};
        id_text.n = (size_t)(slash - id_text.p);
        if (!sdp_parse_direction(dir, &ignored))
            return sdp_fail_line(p, "malformed a=extmap direction (RFC 8285 §5)");
    }
    uint64_t id;
    if (!span_u64(id_text, 3, 255, &id) || id == 0 || id == 15 || uri.n == 0)
        return sdp_fail_line(p, "malformed a=extmap; ids are 1..14 or 16..255 (RFC 8285 §5)");
    if (s->ext_id_used[id])
        return sdp_section_fail(p, s, "%s a=extmap id %u is used twice", kind_name(s),
                                (unsigned)id);
    s->ext_id_used[id] = true;
    for (size_t i = 0; i < sdp_ext_count; i++) {
        const struct sdp_ext_def *e = &sdp_exts[i];
        if (e->kind != s->kind || !span_is(uri, e->uri))
            continue;
        if (id != e->id)
            return sdp_section_fail(p, s, "%s extension %s has id %u; the offer gave it %u",
                                    kind_name(s), e->label, (unsigned)id, e->id);
        s->ext_id[e->ext] = e->id;
        return 0;
    }
    return sdp_section_fail(p, s, "%s a=extmap:%u names an extension that was not offered",
                            kind_name(s), (unsigned)id);
}

static int parse_ssrc_id(struct span text, uint32_t *out)
{
    uint64_t v;
    if (!span_u64(text, 10, UINT32_MAX, &v) || v == 0)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* RFC 5576 §4.1: a=ssrc:<ssrc-id> <attribute>[:<value>]. */
static int parse_ssrc(struct sdp_parser *p, struct sdp_section *s, struct span v)
{
    uint32_t ssrc;
    if (parse_ssrc_id(span_word(&v), &ssrc) < 0 || v.n == 0 || v.p[0] == ' ' || v.p[0] == ':')
        return sdp_fail_line(p, "malformed a=ssrc (RFC 5576 §4.1); SSRC 0 is not accepted");
    for (size_t i = 0; i < s->ssrc_count; i++)
        if (s->ssrcs[i] == ssrc)
            return 0;
    if (s->ssrc_count == SDP_MAX_SSRCS)
        return sdp_section_fail(p, s, "the %s m-line lists more than %d SSRCs", kind_name(s),
                                SDP_MAX_SSRCS);
    s->ssrcs[s->ssrc_count++] = ssrc;
    return 0;
}

/* RFC 5576 §4.2: a=ssrc-group:FID <media ssrc> <rtx ssrc> (RFC 4588 §8.2). Other semantics
 * (FEC-FR, SIM) were not offered and are ignored. */
static int parse_ssrc_group(struct sdp_parser *p, struct sdp_section *s, struct span v)
{
    if (!span_is(span_word(&v), "FID"))
        return 0;
    uint32_t media, rtx;
    if (parse_ssrc_id(span_word(&v), &media) < 0 || parse_ssrc_id(span_word(&v), &rtx) < 0 ||
        v.n != 0 || media == rtx)
        return sdp_fail_line(p, "malformed a=ssrc-group:FID (RFC 5576 §4.2)");
    if (s->has_fid)
        return sdp_section_fail(p, s, "the %s m-line has two a=ssrc-group:FID", kind_name(s));
    s->has_fid = true;
    s->fid[0] = media;
    s->fid[1] = rtx;
    return 0;
}

static int parse_flag(struct sdp_parser *p, struct sdp_section *s, struct span name)
{
    if (span_is(name, "rtcp-mux"))
        s->rtcp_mux = true;
    else if (span_is(name, "rtcp-rsize"))
        s->rtcp_rsize = true;
    else if (span_is(name, "bundle-only"))
        s->bundle_only = true;
    return 0;
}

static int parse_mid(struct sdp_parser *p, struct sdp_section *s, struct span v)
{
    if (s->has_mid)
        return sdp_fail_line(p, "a second a=mid in the %s m-line", kind_name(s));
    if (!span_is_token(v) || v.n > SDP_MID_MAX)
        return sdp_fail_line(p, "malformed a=mid (RFC 5888 §4)");
    s->has_mid = true;
    s->mid = v;
    return 0;
}

/* Attributes that only make sense inside an m-line (RFC 8866 §6, RFC 8839 §5.1). */
int sdp_parse_media_attribute(struct sdp_parser *p, struct sdp_section *s, struct span name,
                              struct span v, bool has_value)
{
    static const char *const flags[] = {"rtcp-mux", "rtcp-rsize", "bundle-only"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (span_is(name, flags[i])) {
            if (has_value)
                return sdp_fail_line(p, "a=%s takes no value", flags[i]);
            return parse_flag(p, s, name);
        }
    }
    if (!has_value)
        return sdp_fail_line(p, "a=%.*s needs a value", (int)name.n, name.p);
    if (span_is(name, "mid"))
        return parse_mid(p, s, v);
    if (span_is(name, "rtpmap"))
        return parse_rtpmap(p, s, v);
    if (span_is(name, "rtcp-fb"))
        return parse_rtcp_fb(p, s, v);
    if (span_is(name, "extmap"))
        return parse_extmap(p, s, v);
    if (span_is(name, "ssrc"))
        return parse_ssrc(p, s, v);
    if (span_is(name, "ssrc-group"))
        return parse_ssrc_group(p, s, v);
    struct sdp_candidate candidate; /* the only one left: "candidate" */
    if (sdp_parse_candidate_n(p->attr.p, p->attr.n, &candidate) < 0)
        return sdp_fail_line(p, "malformed a=candidate (RFC 8839 §5.1)");
    p->candidate_count++;
    return 0;
}

bool sdp_is_media_attribute(struct span name)
{
    static const char *const names[] = {"rtcp-mux",   "rtcp-rsize", "bundle-only", "mid",
                                        "rtpmap",     "rtcp-fb",    "extmap",      "ssrc",
                                        "ssrc-group", "candidate"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (span_is(name, names[i]))
            return true;
    return false;
}

/* ---- after the last line ---- */

static bool in_bundle(const struct sdp_parser *p, const struct sdp_section *s)
{
    for (size_t i = 0; s->has_mid && i < p->bundle_count; i++)
        if (span_eq(p->bundle[i], s->mid))
            return true;
    return false;
}

/* RFC 5576 §4.2: with a=ssrc-group:FID the first SSRC carries media and the second
 * retransmissions (RFC 4588 §8.2); without one, an m-line sends on at most one SSRC since
 * the offer proposed no simulcast. */
static int resolve_ssrcs(struct sdp_parser *p, const struct sdp_section *s,
                         struct sdp_answer_media *m)
{
    if (s->has_fid) {
        bool found[2] = {false, false};
        for (size_t i = 0; i < s->ssrc_count; i++) {
            for (size_t k = 0; k < 2; k++)
                found[k] = found[k] || s->ssrcs[i] == s->fid[k];
            if (s->ssrcs[i] != s->fid[0] && s->ssrcs[i] != s->fid[1])
                return sdp_fail(p, "the %s m-line has an SSRC outside its FID group", kind_name(s));
        }
        if (!found[0] || !found[1])
            return sdp_fail(p, "the %s m-line's FID group names an SSRC with no a=ssrc line",
                            kind_name(s));
        m->ssrc = s->fid[0];
        m->rtx_ssrc = s->fid[1];
    } else if (s->ssrc_count > 1) {
        return sdp_fail(p, "the %s m-line lists %zu SSRCs without a=ssrc-group:FID", kind_name(s),
                        s->ssrc_count);
    } else if (s->ssrc_count == 1) {
        m->ssrc = s->ssrcs[0];
    }
    bool sends = m->direction == SDP_DIR_SENDRECV || m->direction == SDP_DIR_SENDONLY;
    if (sends && m->ssrc == 0)
        return sdp_fail(p, "the %s m-line sends media but has no a=ssrc", kind_name(s));
    return 0;
}

/* Decides whether m-line `i` was accepted and, if so, checks it and fills `m`. */
int sdp_close_section(struct sdp_parser *p, size_t i, struct sdp_answer_media *m)
{
    const struct sdp_section *s = &p->sections[i];
    m->kind = s->kind;
    if (s->has_mid) {
        memcpy(m->mid, s->mid.p, s->mid.n);
        m->mid[s->mid.n] = '\0';
    }
    m->bundled = in_bundle(p, s);
    /* RFC 8843 §7.3: port 0 with a=bundle-only inside the group is a bundled m-line that
     * shares the tagged m-line's port; port 0 otherwise rejects it (RFC 3264 §6). */
    m->rejected = s->port == 0 && !(s->bundle_only && m->bundled);
    if (m->rejected) {
        m->bundled = false;
        return 0;
    }
    if (s->deferred[0])
        return sdp_fail(p, "%s", s->deferred);
    /* RFC 8829 §5.3.1: the answer's m-line carries the offer's mid. */
    if (!s->has_mid || !span_is(s->mid, sdp_mids[i]))
        return sdp_fail(p, "the %s m-line must carry the offer's a=mid:%s", kind_name(s),
                        sdp_mids[i]);
    if (!s->has_c && !p->has_c)
        return sdp_fail(p, "the %s m-line has no c= line (RFC 8866 §5.7)", kind_name(s));
    for (size_t f = 0; f < s->format_count; f++) {
        if (!s->has_rtpmap[f])
            return sdp_fail(p, "%s payload type %u has no a=rtpmap", kind_name(s), s->formats[f]);
        if (m->payload_type_count < SDP_MAX_PAYLOAD_TYPES)
            m->payload_types[m->payload_type_count++] = s->formats[f];
    }
    m->direction = s->has_direction   ? s->direction
                   : p->has_direction ? p->direction
                                      : SDP_DIR_SENDRECV;
    m->rtcp_fb = s->rtcp_fb;
    memcpy(m->ext_id, s->ext_id, sizeof(m->ext_id));
    m->rtcp_rsize = s->rtcp_rsize;
    return resolve_ssrcs(p, s, m);
}
