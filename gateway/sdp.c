/* The gateway's SDP offer (RFC 8866, JSEP RFC 8829) and the media shape it fixes. */
#include "balie/sdp.h"
#include "sdp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Opus as Chromium offers it (RFC 7587). transport-cc is deliberately not offered: the relay
 * rewrites SSRCs and keeps no transport-wide sequence numbers, so it could neither forward nor
 * generate that feedback; browsers then fall back to REMB with abs-send-time. */
const struct sdp_codec_def sdp_codecs[] = {
    {SDP_MEDIA_AUDIO, SDP_PT_OPUS, "opus", 48000, 2, "minptime=10;useinbandfec=1", 0},
    {SDP_MEDIA_VIDEO, SDP_PT_VP8, "VP8", 90000, 0, NULL,
     SDP_RTCP_FB_GOOG_REMB | SDP_RTCP_FB_CCM_FIR | SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI},
};
const size_t sdp_codec_count = sizeof(sdp_codecs) / sizeof(sdp_codecs[0]);

/* One extension per m-line and ids unique across the BUNDLE group, so a packet's extension
 * id means the same thing whichever m-line it belongs to (RFC 8843 §9.1, RFC 8285 §6). */
const struct sdp_ext_def sdp_exts[] = {
    {SDP_MEDIA_AUDIO, SDP_EXT_AUDIO_LEVEL, SDP_EXT_ID_AUDIO_LEVEL,
     "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "ssrc-audio-level"},
    {SDP_MEDIA_VIDEO, SDP_EXT_ABS_SEND_TIME, SDP_EXT_ID_ABS_SEND_TIME,
     "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "abs-send-time"},
};
const size_t sdp_ext_count = sizeof(sdp_exts) / sizeof(sdp_exts[0]);

/* In Chromium's order. PLI and FIR both, so the relay can ask for a keyframe either way. */
const struct sdp_rtcp_fb_def sdp_rtcp_fbs[] = {
    {SDP_RTCP_FB_GOOG_REMB, "goog-remb", NULL},
    {SDP_RTCP_FB_CCM_FIR, "ccm", "fir"},
    {SDP_RTCP_FB_NACK, "nack", NULL},
    {SDP_RTCP_FB_NACK_PLI, "nack", "pli"},
};
const size_t sdp_rtcp_fb_count = sizeof(sdp_rtcp_fbs) / sizeof(sdp_rtcp_fbs[0]);

const char *const sdp_kind_names[2] = {"audio", "video"};
const char *const sdp_mids[2] = {SDP_MID_AUDIO, SDP_MID_VIDEO};

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool sdp_parse_fingerprint_hex(struct span s, uint8_t out[SDP_FINGERPRINT_LEN])
{
    if (s.n != SDP_FINGERPRINT_TEXT)
        return false;
    for (size_t i = 0; i < SDP_FINGERPRINT_LEN; i++) {
        const char *pair = s.p + i * 3;
        int hi = hex_value(pair[0]), lo = hex_value(pair[1]);
        if (hi < 0 || lo < 0 || (i + 1 < SDP_FINGERPRINT_LEN && pair[2] != ':'))
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool text_is(const char *text, size_t min, size_t max, bool (*allowed)(char))
{
    size_t n = strnlen(text, max + 1);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!allowed(text[i]))
            return false;
    return true;
}

static bool is_upper_hex_or_colon(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || c == ':';
}

static bool is_visible_ascii(char c)
{
    return c > 0x20 && c < 0x7f;
}

/* Returns AF_INET or AF_INET6 for a literal address, 0 otherwise; fills `bin` (16 bytes). */
static int address_family(const char *text, unsigned char *bin)
{
    memset(bin, 0, 16);
    if (strnlen(text, SDP_IP_TEXT_MAX + 1) > SDP_IP_TEXT_MAX)
        return 0;
    if (inet_pton(AF_INET, text, bin) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, text, bin) == 1)
        return AF_INET6;
    return 0;
}

bool sdp_offer_params_valid(const struct sdp_offer_params *p)
{
    if (!p)
        return false;
    /* RFC 8829 §5.2.1: the session id must fit a signed 64-bit integer and stay below its
     * maximum. */
    if (p->session_id >= INT64_MAX)
        return false;
    if (!text_is(p->ice_ufrag, SDP_ICE_UFRAG_MIN, SDP_ICE_UFRAG_MAX, sdp_is_ice_char) ||
        !text_is(p->ice_pwd, SDP_ICE_PWD_MIN, SDP_ICE_PWD_MAX, sdp_is_ice_char))
        return false;
    uint8_t fp[SDP_FINGERPRINT_LEN];
    struct span fp_text = {p->fingerprint, strnlen(p->fingerprint, sizeof(p->fingerprint))};
    if (!text_is(p->fingerprint, SDP_FINGERPRINT_TEXT, SDP_FINGERPRINT_TEXT,
                 is_upper_hex_or_colon) ||
        !sdp_parse_fingerprint_hex(fp_text, fp))
        return false;
    if (p->audio_ssrc == 0 || p->video_ssrc == 0 || p->audio_ssrc == p->video_ssrc)
        return false;
    if (!text_is(p->cname, 1, SDP_CNAME_MAX, is_visible_ascii))
        return false;
    if (p->candidate_count == 0 || p->candidate_count > SDP_MAX_CANDIDATES)
        return false;
    for (size_t i = 0; i < p->candidate_count; i++) {
        unsigned char bin[16];
        if (address_family(p->candidates[i].address, bin) == 0 || p->candidates[i].port == 0)
            return false;
    }
    return true;
}

/* A bounded writer: once something does not fit, every later write is dropped and the
 * builder reports -ENOSPC. */
struct writer {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct writer *w, const char *fmt, ...)
{
    if (w->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->full = true;
        w->buf[w->len] = '\0';
        return;
    }
    w->len += (size_t)n;
}

/* RFC 8445 §5.1.1.3: candidates share a foundation when they have the same type, base address
 * and transport. All of ours are UDP host candidates, so equal addresses share one: the
 * foundation is the 1-based index of the first candidate with that address. */
static size_t candidate_foundation(const struct sdp_offer_params *p, size_t i)
{
    unsigned char mine[16], other[16];
    address_family(p->candidates[i].address, mine);
    for (size_t j = 0; j < i; j++) {
        address_family(p->candidates[j].address, other);
        if (memcmp(mine, other, sizeof(mine)) == 0)
            return j + 1;
    }
    return i + 1;
}

/* RFC 8445 §5.1.2.1: priority = 2^24 * type preference + 2^8 * local preference
 * + (256 - component). Host candidates take the recommended type preference 126; the local
 * preference must differ per candidate, so it falls with the caller's order of preference.
 * With rtcp-mux there is only component 1. */
static uint32_t candidate_priority(size_t i)
{
    uint32_t type_pref = 126, local_pref = 65535 - (uint32_t)i, component = 1;
    return (type_pref << 24) + (local_pref << 8) + (256 - component);
}

static void put_transport(struct writer *w, const struct sdp_offer_params *p)
{
    put(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ice_ufrag, p->ice_pwd);
    /* RFC 8838 §4: a=ice-options:trickle is not sent. The gateway is ICE-lite: it gathers
     * nothing later, so every candidate is in this offer and a=end-of-candidates closes the
     * list. Nor does it need the browser's candidates: a lite agent never sends checks (RFC
     * 8445 §2.5) and learns the browser's address from the browser's own checks. Browsers
     * trickle to the application whatever we say, and the signaling layer may drop those. */
    put(w, "a=fingerprint:sha-256 %s\r\n", p->fingerprint);
    /* RFC 8842 §5.3: the offerer says actpass, so the browser picks active and the gateway
     * stays the DTLS server, answering the ClientHello that follows the nominating check. */
    put(w, "a=setup:actpass\r\n");
    put(w, "a=rtcp-mux\r\na=rtcp-rsize\r\n");
}

static void put_codecs(struct writer *w, enum sdp_media_kind kind)
{
    for (size_t i = 0; i < sdp_codec_count; i++) {
        const struct sdp_codec_def *c = &sdp_codecs[i];
        if (c->kind != kind)
            continue;
        if (c->channels)
            put(w, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
        else
            put(w, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
        for (size_t f = 0; f < sdp_rtcp_fb_count; f++) {
            const struct sdp_rtcp_fb_def *fb = &sdp_rtcp_fbs[f];
            if (!(c->rtcp_fb & fb->bit))
                continue;
            put(w, "a=rtcp-fb:%u %s%s%s\r\n", c->pt, fb->type, fb->param ? " " : "",
                fb->param ? fb->param : "");
        }
        if (c->fmtp)
            put(w, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
    }
}

static void put_candidates(struct writer *w, const struct sdp_offer_params *p)
{
    for (size_t i = 0; i < p->candidate_count; i++)
        put(w, "a=candidate:%zu 1 udp %u %s %u typ host\r\n", candidate_foundation(p, i),
            candidate_priority(i), p->candidates[i].address, p->candidates[i].port);
    put(w, "a=end-of-candidates\r\n");
}

/* One m-section. Both use the first candidate's address and port: the gateway has one UDP
 * port per worker and every leg's media shares it. RFC 8843 §7.2 asks an initial offer for a
 * distinct port per bundled m-line; since both carry identical transport attributes, the
 * result is the same whichever m-line the browser tags, and browsers accept it. */
static void put_media(struct writer *w, const struct sdp_offer_params *p, enum sdp_media_kind kind)
{
    const struct sdp_host_candidate *def = &p->candidates[0];
    unsigned char bin[16];
    int family = address_family(def->address, bin);
    put(w, "m=%s %u UDP/TLS/RTP/SAVPF", sdp_kind_names[kind], def->port);
    for (size_t i = 0; i < sdp_codec_count; i++)
        if (sdp_codecs[i].kind == kind)
            put(w, " %u", sdp_codecs[i].pt);
    put(w, "\r\nc=IN %s %s\r\n", family == AF_INET6 ? "IP6" : "IP4", def->address);
    put(w, "a=mid:%s\r\na=sendrecv\r\n", sdp_mids[kind]);
    put_transport(w, p);
    for (size_t i = 0; i < sdp_ext_count; i++)
        if (sdp_exts[i].kind == kind)
            put(w, "a=extmap:%u %s\r\n", sdp_exts[i].id, sdp_exts[i].uri);
    put_codecs(w, kind);
    /* Without an SSRC and msid a browser makes no remote track until media arrives, and
     * bundled media without the mid header extension is sorted by SSRC (RFC 8843 §9.2). */
    put(w, "a=msid:%s %s-%s\r\n", SDP_MSID_STREAM, SDP_MSID_STREAM, sdp_kind_names[kind]);
    put(w, "a=ssrc:%u cname:%s\r\n", kind == SDP_MEDIA_AUDIO ? p->audio_ssrc : p->video_ssrc,
        p->cname);
    put_candidates(w, p);
}

int sdp_build_offer(const struct sdp_offer_params *p, char *out, size_t cap)
{
    if (!sdp_offer_params_valid(p) || !out)
        return -EINVAL;
    if (cap == 0)
        return -ENOSPC;
    struct writer w = {out, cap, 0, false};
    out[0] = '\0';
    /* RFC 8829 §5.2.1: a username of "-" and a meaningless address, so no local address
     * leaks through o=. */
    put(&w, "v=0\r\no=- %llu %llu IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        (unsigned long long)p->session_id, (unsigned long long)p->session_version);
    put(&w, "a=group:BUNDLE %s %s\r\n", SDP_MID_AUDIO, SDP_MID_VIDEO);
    if (p->ice_lite)
        put(&w, "a=ice-lite\r\n"); /* RFC 8839 §5.3: session level only */
    put(&w, "a=msid-semantic:WMS %s\r\n", SDP_MSID_STREAM);
    put_media(&w, p, SDP_MEDIA_AUDIO);
    put_media(&w, p, SDP_MEDIA_VIDEO);
    if (w.full)
        return -ENOSPC;
    return (int)w.len;
}
