/* Tests gateway/sdp.c, gateway/sdp_answer.c and gateway/sdp_candidate.c. */
#include "balie/sdp.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_OURS                                                                                    \
    "D1:0A:37:C4:5B:E2:19:8F:60:AB:F3:2C:94:07:DE:71:38:C5:5A:E6:0D:B9:42:1F:8C:73:E0:26:9B:D4:"   \
    "15:A8"

static void offer_params(struct sdp_offer_params *p)
{
    memset(p, 0, sizeof(*p));
    p->session_id = 4962303333179871722ull;
    p->session_version = 1;
    strcpy(p->ice_ufrag, "bAl1e+Gw");
    strcpy(p->ice_pwd, "Zq8/W3vLmN5pQ7rT2sX9kY4c");
    strcpy(p->fingerprint, FP_OURS);
    p->audio_ssrc = 11111111;
    p->video_ssrc = 22222222;
    strcpy(p->cname, "balie-gw-7");
    strcpy(p->candidates[0].address, "192.0.2.10");
    p->candidates[0].port = 50000;
    strcpy(p->candidates[1].address, "2001:db8::10");
    p->candidates[1].port = 50000;
    p->candidate_count = 2;
    p->ice_lite = true;
}

/* ---- helpers ---- */

/* The seed answers live in the fuzz corpus; __FILE__ is absolute under CMake. */
static char *load_corpus(const char *name, size_t *len)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    cr_assert_not_null(slash);
    snprintf(path, sizeof(path), "%.*s/../../fuzz/corpus/sdp/%s", (int)(slash - __FILE__), __FILE__,
             name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = malloc(SDP_MAX_SIZE + 1);
    cr_assert_not_null(buf);
    size_t n = fread(buf, 1, SDP_MAX_SIZE, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Replaces every occurrence of `from` (which must occur) with `to`. Frees `src`, so calls
 * chain without leaks (LeakSanitizer watches the tests). */
static char *replace_all(char *src, const char *from, const char *to)
{
    size_t from_len = strlen(from), to_len = strlen(to), count = 0;
    for (const char *s = strstr(src, from); s; s = strstr(s + from_len, from))
        count++;
    cr_assert_gt(count, 0, "'%s' not found", from);
    char *out = malloc(strlen(src) + count * to_len + 1);
    char *w = out;
    const char *r = src;
    for (const char *s = strstr(r, from); s; s = strstr(r, from)) {
        memcpy(w, r, (size_t)(s - r));
        w += s - r;
        memcpy(w, to, to_len);
        w += to_len;
        r = s + from_len;
    }
    strcpy(w, r);
    free(src);
    return out;
}

/* Removes every line that starts with `prefix` (at least one must). Frees `src`. */
static char *remove_lines(char *src, const char *prefix)
{
    char *out = malloc(strlen(src) + 1);
    char *w = out;
    size_t removed = 0;
    for (const char *line = src; *line;) {
        const char *end = strchr(line, '\n');
        end = end ? end + 1 : line + strlen(line);
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            removed++;
        } else {
            memcpy(w, line, (size_t)(end - line));
            w += end - line;
        }
        line = end;
    }
    *w = '\0';
    cr_assert_gt(removed, 0, "no line starts with '%s'", prefix);
    free(src);
    return out;
}

static char err[256];

static int parse_text(const char *sdp, struct sdp_answer *a)
{
    struct sdp_offer_params p;
    offer_params(&p);
    memset(err, 0, sizeof(err));
    return sdp_parse_answer(sdp, strlen(sdp), &p, a, err, sizeof(err));
}

/* Parses `sdp`, expects failure, and that the reason mentions `why`; frees `sdp`. */
static void expect_error(char *sdp, const char *why)
{
    struct sdp_answer a;
    int rc = parse_text(sdp, &a);
    cr_expect_lt(rc, 0, "accepted, expected: %s", why);
    cr_expect_not_null(strstr(err, why), "reason '%s' does not mention '%s'", err, why);
    free(sdp);
}

static char *chromium(void)
{
    return load_corpus("chromium_answer.sdp", NULL);
}

/* ---- the offer ---- */

struct offer_lines {
    char text[4096];
    char *lines[128];
    size_t count;
};

/* Builds the offer and splits it, checking that every line ends in CRLF. */
static void build_lines(const struct sdp_offer_params *p, struct offer_lines *o)
{
    int n = sdp_build_offer(p, o->text, sizeof(o->text));
    cr_assert_gt(n, 0);
    cr_assert_eq((size_t)n, strlen(o->text));
    cr_assert_str_eq(o->text + n - 2, "\r\n");
    o->count = 0;
    for (char *s = o->text; *s;) {
        char *crlf = strstr(s, "\r\n");
        cr_assert_not_null(crlf, "line without CRLF: %s", s);
        *crlf = '\0';
        cr_assert_null(strchr(s, '\n'), "bare LF in: %s", s);
        cr_assert(strlen(s) >= 2 && s[1] == '=' && s[0] >= 'a' && s[0] <= 'z', "bad line: %s", s);
        cr_assert_lt(o->count, 128);
        o->lines[o->count++] = s;
        s = crlf + 2;
    }
}

/* Index of the line equal to `want` in [from, to), or -1; fails when it occurs twice. */
static int find_line(const struct offer_lines *o, size_t from, size_t to, const char *want)
{
    int found = -1;
    for (size_t i = from; i < to; i++) {
        if (strcmp(o->lines[i], want) == 0) {
            cr_assert_eq(found, -1, "'%s' appears twice", want);
            found = (int)i;
        }
    }
    return found;
}

static bool any_line_contains(const struct offer_lines *o, const char *needle)
{
    for (size_t i = 0; i < o->count; i++)
        if (strstr(o->lines[i], needle))
            return true;
    return false;
}

static void expect_section(const struct offer_lines *o, size_t from, size_t to,
                           const char *const *want)
{
    for (; *want; want++)
        cr_expect_geq(find_line(o, from, to, *want), 0, "missing line '%s'", *want);
}

Test(sdp_offer, has_every_required_line)
{
    struct sdp_offer_params p;
    offer_params(&p);
    struct offer_lines o;
    build_lines(&p, &o);

    cr_assert_str_eq(o.lines[0], "v=0");
    cr_assert_str_eq(o.lines[1], "o=- 4962303333179871722 1 IN IP4 127.0.0.1");
    cr_assert_str_eq(o.lines[2], "s=-");
    cr_assert_str_eq(o.lines[3], "t=0 0");
    int audio = find_line(&o, 0, o.count, "m=audio 50000 UDP/TLS/RTP/SAVPF 111");
    int video = find_line(&o, 0, o.count, "m=video 50000 UDP/TLS/RTP/SAVPF 96");
    cr_assert(audio > 3 && video > audio, "m-lines out of order");
    static const char *const session[] = {"a=group:BUNDLE 0 1", "a=ice-lite",
                                          "a=msid-semantic:WMS balie", NULL};
    expect_section(&o, 4, (size_t)audio, session);
    /* RFC 8866 §5: c= comes right after m= (no i= here). */
    cr_expect_str_eq(o.lines[audio + 1], "c=IN IP4 192.0.2.10");
    cr_expect_str_eq(o.lines[video + 1], "c=IN IP4 192.0.2.10");

    static const char *const transport[] = {
        "a=ice-ufrag:bAl1e+Gw", "a=ice-pwd:Zq8/W3vLmN5pQ7rT2sX9kY4c",
        "a=fingerprint:sha-256 " FP_OURS, "a=setup:actpass", "a=rtcp-mux", "a=rtcp-rsize",
        "a=sendrecv",
        /* RFC 8445 §5.1.2.1: (126 << 24) + (65535 << 8) + 255, then local preference 65534. */
        "a=candidate:1 1 udp 2130706431 192.0.2.10 50000 typ host",
        "a=candidate:2 1 udp 2130706175 2001:db8::10 50000 typ host", "a=end-of-candidates", NULL};
    expect_section(&o, (size_t)audio, (size_t)video, transport);
    expect_section(&o, (size_t)video, o.count, transport);

    static const char *const audio_lines[] = {
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=msid:balie balie-audio",
        "a=ssrc:11111111 cname:balie-gw-7",
        NULL};
    expect_section(&o, (size_t)audio, (size_t)video, audio_lines);
    static const char *const video_lines[] = {
        "a=mid:1",
        "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtcp-fb:96 ccm fir",
        "a=rtcp-fb:96 goog-remb",
        "a=msid:balie balie-video",
        "a=ssrc:22222222 cname:balie-gw-7",
        NULL};
    expect_section(&o, (size_t)video, o.count, video_lines);
    cr_expect_str_eq(o.lines[o.count - 1], "a=end-of-candidates");
    cr_expect_str_eq(o.lines[video - 1], "a=end-of-candidates");

    /* Deliberately absent. */
    cr_expect(any_line_contains(&o, "ice-lite")); /* the helper does see every line */
    cr_expect_not(any_line_contains(&o, "ice-options"));
    cr_expect_not(any_line_contains(&o, "transport-cc"));
    cr_expect_not(any_line_contains(&o, "rtx"));
    size_t extmaps = 0, rtcp_fbs = 0;
    for (size_t i = 0; i < o.count; i++) {
        extmaps += strncmp(o.lines[i], "a=extmap:", 9) == 0;
        rtcp_fbs += strncmp(o.lines[i], "a=rtcp-fb:", 10) == 0;
    }
    cr_expect_eq(extmaps, 2);
    cr_expect_eq(rtcp_fbs, 4);
    cr_expect_not(any_line_contains(&o, "a=rtcp-fb:111"));
}

Test(sdp_offer, candidates_parse_back)
{
    struct sdp_offer_params p;
    offer_params(&p);
    struct offer_lines o;
    build_lines(&p, &o);
    size_t seen = 0;
    for (size_t i = 0; i < o.count; i++) {
        if (strncmp(o.lines[i], "a=candidate:", 12) != 0)
            continue;
        struct sdp_candidate c;
        cr_assert_eq(sdp_parse_candidate(o.lines[i], &c), 0, "%s", o.lines[i]);
        size_t k = seen++ % 2;
        cr_expect_str_eq(c.address, p.candidates[k].address);
        cr_expect_eq(c.port, p.candidates[k].port);
        cr_expect_eq(c.type, SDP_CANDIDATE_HOST);
        cr_expect_eq(c.component, 1);
        cr_expect_eq(c.transport, SDP_TRANSPORT_UDP);
        cr_expect_eq(c.address_kind, k == 0 ? SDP_ADDRESS_IPV4 : SDP_ADDRESS_IPV6);
    }
    cr_expect_eq(seen, 4); /* two candidates in each m-line */
}

Test(sdp_offer, ipv6_default_candidate)
{
    struct sdp_offer_params p;
    offer_params(&p);
    strcpy(p.candidates[0].address, "2001:db8::1");
    p.candidates[0].port = 40000;
    p.candidate_count = 1;
    struct offer_lines o;
    build_lines(&p, &o);
    cr_expect_geq(find_line(&o, 0, o.count, "m=audio 40000 UDP/TLS/RTP/SAVPF 111"), 0);
    cr_expect_geq(find_line(&o, 0, o.count, "m=video 40000 UDP/TLS/RTP/SAVPF 96"), 0);
    size_t c_lines = 0;
    for (size_t i = 0; i < o.count; i++) {
        if (strncmp(o.lines[i], "c=", 2) == 0) {
            cr_expect_str_eq(o.lines[i], "c=IN IP6 2001:db8::1");
            c_lines++;
        }
    }
    cr_expect_eq(c_lines, 2);
}

Test(sdp_offer, foundations_follow_the_base_address)
{
    struct sdp_offer_params p;
    offer_params(&p);
    strcpy(p.candidates[1].address, "198.51.100.4");
    p.candidates[1].port = 50001;
    strcpy(p.candidates[2].address, "192.0.2.10"); /* same base as the first */
    p.candidates[2].port = 50002;
    p.candidate_count = 3;
    struct offer_lines o;
    build_lines(&p, &o);
    cr_expect_geq(find_line(&o, 0, 40, "a=candidate:1 1 udp 2130706431 192.0.2.10 50000 typ host"),
                  0);
    cr_expect_geq(
        find_line(&o, 0, 40, "a=candidate:2 1 udp 2130706175 198.51.100.4 50001 typ host"), 0);
    cr_expect_geq(find_line(&o, 0, 40, "a=candidate:1 1 udp 2130705919 192.0.2.10 50002 typ host"),
                  0);
}

Test(sdp_offer, ice_lite_flag)
{
    struct sdp_offer_params p;
    offer_params(&p);
    p.ice_lite = false;
    struct offer_lines o;
    build_lines(&p, &o);
    cr_expect_eq(find_line(&o, 0, o.count, "a=ice-lite"), -1);
}

Test(sdp_offer, rejects_invalid_params)
{
    struct sdp_offer_params p;
    char out[4096];
    offer_params(&p);
    cr_assert_gt(sdp_build_offer(&p, out, sizeof(out)), 0);
#define EXPECT_INVALID(change)                                                                     \
    do {                                                                                           \
        offer_params(&p);                                                                          \
        change;                                                                                    \
        cr_expect_eq(sdp_build_offer(&p, out, sizeof(out)), -EINVAL, "accepted: %s", #change);     \
    } while (0)
    EXPECT_INVALID(strcpy(p.ice_ufrag, "abc"));
    EXPECT_INVALID(strcpy(p.ice_ufrag, "ab-cd"));
    EXPECT_INVALID(strcpy(p.ice_pwd, "123456789012345678901"));
    EXPECT_INVALID(memset(p.ice_ufrag, 'a', sizeof(p.ice_ufrag))); /* no NUL at all */
    EXPECT_INVALID(p.fingerprint[0] = 'd');                        /* lower case */
    EXPECT_INVALID(p.fingerprint[2] = '-');
    EXPECT_INVALID(p.fingerprint[94] = '\0');
    EXPECT_INVALID(p.audio_ssrc = 0);
    EXPECT_INVALID(p.video_ssrc = p.audio_ssrc);
    EXPECT_INVALID(strcpy(p.cname, ""));
    EXPECT_INVALID(strcpy(p.cname, "two words"));
    EXPECT_INVALID(p.candidate_count = 0);
    EXPECT_INVALID(p.candidate_count = SDP_MAX_CANDIDATES + 1);
    EXPECT_INVALID(strcpy(p.candidates[1].address, "gateway.example"));
    EXPECT_INVALID(strcpy(p.candidates[0].address, "fe80::1%eth0"));
    EXPECT_INVALID(p.candidates[0].port = 0);
    EXPECT_INVALID(p.session_id = INT64_MAX);
#undef EXPECT_INVALID
    cr_expect_eq(sdp_build_offer(NULL, out, sizeof(out)), -EINVAL);
    offer_params(&p);
    cr_expect_eq(sdp_build_offer(&p, NULL, sizeof(out)), -EINVAL);
}

Test(sdp_offer, never_writes_past_cap)
{
    struct sdp_offer_params p;
    offer_params(&p);
    /* The longest offer there is: every field at its maximum. */
    memset(p.ice_ufrag, 'u', SDP_ICE_UFRAG_MAX);
    memset(p.ice_pwd, 'p', SDP_ICE_PWD_MAX);
    memset(p.cname, 'c', SDP_CNAME_MAX);
    p.session_id = INT64_MAX - 1;
    p.session_version = UINT64_MAX;
    p.audio_ssrc = UINT32_MAX;
    p.video_ssrc = UINT32_MAX - 1;
    p.candidate_count = SDP_MAX_CANDIDATES;
    for (size_t i = 0; i < SDP_MAX_CANDIDATES; i++) {
        strcpy(p.candidates[i].address, "2001:db8:ffff:ffff:ffff:ffff:ffff:ff01");
        p.candidates[i].address[37] = (char)('0' + i);
        p.candidates[i].port = 65535;
    }
    static char full[8192];
    int n = sdp_build_offer(&p, full, sizeof(full));
    cr_assert_gt(n, 0);
    cr_expect_lt(n, SDP_OFFER_MAX, "the longest offer is %d bytes", n);
    static char buf[8192 + 16];
    for (size_t cap = 0; cap <= (size_t)n + 1; cap++) {
        memset(buf, 0x5a, sizeof(buf));
        int rc = sdp_build_offer(&p, buf, cap);
        if (cap <= (size_t)n) {
            cr_assert_eq(rc, -ENOSPC, "cap %zu gave %d", cap, rc);
            cr_assert(cap == 0 || memchr(buf, '\0', cap), "cap %zu: not terminated", cap);
        } else {
            cr_assert_eq(rc, n);
            cr_assert_str_eq(buf, full);
        }
        for (size_t i = cap; i < sizeof(buf); i++)
            cr_assert_eq((unsigned char)buf[i], 0x5a, "byte %zu written with cap %zu", i, cap);
    }
}

Test(sdp_offer, is_refused_as_an_answer)
{
    struct sdp_offer_params p;
    offer_params(&p);
    char out[4096];
    int n = sdp_build_offer(&p, out, sizeof(out));
    cr_assert_gt(n, 0);
    struct sdp_answer a;
    cr_expect_lt(sdp_parse_answer(out, (size_t)n, &p, &a, err, sizeof(err)), 0);
    cr_expect_not_null(strstr(err, "actpass"), "%s", err);
}

/* ---- realistic answers ---- */

static const uint8_t chromium_fp[32] = {
    0x5E, 0xA1, 0x3C, 0x0D, 0x92, 0x7B, 0x44, 0xE8, 0x1F, 0x6A, 0xB0, 0x29, 0xC3, 0x58, 0xD7, 0x0E,
    0x81, 0x4F, 0xAA, 0x62, 0x13, 0x9C, 0xE5, 0xB7, 0x06, 0xD4, 0x38, 0xF1, 0x2A, 0xC9, 0x75, 0x8B};

static void expect_chromium(const struct sdp_answer *a)
{
    cr_expect_eq(a->session_id, 5721240392312981187ull);
    cr_expect_eq(a->session_version, 2);
    cr_expect_str_eq(a->ice_ufrag, "Xq3b");
    cr_expect_str_eq(a->ice_pwd, "4hGq2Jw9bVfT1pZkLm8sNcRd");
    cr_expect_arr_eq(a->fingerprint, chromium_fp, 32);
    cr_expect_eq(a->setup, SDP_SETUP_ACTIVE);
    cr_expect(a->bundle);
    cr_expect_not(a->ice_lite);
    cr_expect_eq(a->candidate_count, 0);

    const struct sdp_answer_media *au = &a->media[0], *vi = &a->media[1];
    cr_expect_eq(au->kind, SDP_MEDIA_AUDIO);
    cr_expect_str_eq(au->mid, "0");
    cr_expect_not(au->rejected);
    cr_expect(au->bundled);
    cr_expect_eq(au->direction, SDP_DIR_SENDRECV);
    cr_expect_eq(au->payload_type_count, 1);
    cr_expect_eq(au->payload_types[0], 111);
    cr_expect_eq(au->rtcp_fb, 0);
    cr_expect_eq(au->ext_id[SDP_EXT_AUDIO_LEVEL], 1);
    cr_expect_eq(au->ext_id[SDP_EXT_ABS_SEND_TIME], 0);
    cr_expect_eq(au->ssrc, 2843620398u);
    cr_expect_eq(au->rtx_ssrc, 0);
    cr_expect(au->rtcp_rsize);

    cr_expect_eq(vi->kind, SDP_MEDIA_VIDEO);
    cr_expect_str_eq(vi->mid, "1");
    cr_expect_not(vi->rejected);
    cr_expect(vi->bundled);
    cr_expect_eq(vi->direction, SDP_DIR_SENDRECV);
    cr_expect_eq(vi->payload_type_count, 1);
    cr_expect_eq(vi->payload_types[0], 96);
    cr_expect_eq(vi->rtcp_fb, SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI | SDP_RTCP_FB_CCM_FIR |
                                  SDP_RTCP_FB_GOOG_REMB);
    cr_expect_eq(vi->ext_id[SDP_EXT_ABS_SEND_TIME], 3);
    cr_expect_eq(vi->ext_id[SDP_EXT_AUDIO_LEVEL], 0);
    cr_expect_eq(vi->ssrc, 1709874231u);
    cr_expect_eq(vi->rtx_ssrc, 0);
}

Test(sdp_answer, chromium)
{
    size_t len;
    char *sdp = load_corpus("chromium_answer.sdp", &len);
    /* An exact-size copy, so a read past the end is caught under ASan. */
    char *exact = malloc(len);
    memcpy(exact, sdp, len);
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    cr_assert_eq(sdp_parse_answer(exact, len, &p, &a, err, sizeof(err)), 0, "%s", err);
    expect_chromium(&a);
    free(exact);
    free(sdp);
}

Test(sdp_answer, chromium_with_lf_line_endings)
{
    char *lf = replace_all(chromium(), "\r\n", "\n");
    struct sdp_answer a;
    cr_assert_eq(parse_text(lf, &a), 0, "%s", err);
    expect_chromium(&a);
    free(lf);
}

Test(sdp_answer, firefox)
{
    char *sdp = load_corpus("firefox_answer.sdp", NULL);
    struct sdp_answer a;
    cr_assert_eq(parse_text(sdp, &a), 0, "%s", err);
    cr_expect_eq(a.session_id, 3041637658283491424ull);
    cr_expect_str_eq(a.ice_ufrag, "3c1e8f2a");
    cr_expect_str_eq(a.ice_pwd, "b7c1e1d0f3a9e9e2c4d5a6b7c8d9e0f1");
    cr_expect_eq(a.fingerprint[0], 0x0B); /* from the session level */
    cr_expect_eq(a.fingerprint[31], 0x03);
    cr_expect_eq(a.setup, SDP_SETUP_ACTIVE);
    cr_expect(a.bundle);
    cr_expect_eq(a.media[0].ssrc, 3521598422u);
    cr_expect_eq(a.media[0].direction, SDP_DIR_SENDRECV);
    cr_expect_not(a.media[0].rtcp_rsize);
    /* Receives video only: no SSRC, which is fine for recvonly. */
    cr_expect_eq(a.media[1].direction, SDP_DIR_RECVONLY);
    cr_expect_eq(a.media[1].ssrc, 0);
    cr_expect_eq(a.media[1].rtcp_fb, SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI | SDP_RTCP_FB_CCM_FIR |
                                         SDP_RTCP_FB_GOOG_REMB);
    cr_expect_eq(a.media[1].ext_id[SDP_EXT_ABS_SEND_TIME], 3);
    free(sdp);
}

Test(sdp_answer, aiortc)
{
    char *sdp = load_corpus("aiortc_answer.sdp", NULL);
    struct sdp_answer a;
    cr_assert_eq(parse_text(sdp, &a), 0, "%s", err);
    cr_expect_str_eq(a.ice_ufrag, "k3Tz");
    cr_expect_eq(a.fingerprint[0], 0xA4);
    cr_expect_eq(a.candidate_count, 4);
    cr_expect(a.end_of_candidates);
    cr_expect_eq(a.media[0].ssrc, 918273645u);
    cr_expect_eq(a.media[1].ssrc, 564738291u);
    /* aiortc 1.4 has no ccm fir for VP8. */
    cr_expect_eq(a.media[1].rtcp_fb,
                 SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI | SDP_RTCP_FB_GOOG_REMB);
    cr_expect_eq(a.media[0].ext_id[SDP_EXT_AUDIO_LEVEL], 1);
    free(sdp);
}

Test(sdp_answer, fid_group_gives_the_rtx_ssrc)
{
    char *sdp = replace_all(chromium(), "a=ssrc:1709874231 cname:hVbX2k9fLq0pR7sT\r\n",
                            "a=ssrc-group:FID 1709874231 3900112233\r\n"
                            "a=ssrc:1709874231 cname:hVbX2k9fLq0pR7sT\r\n"
                            "a=ssrc:3900112233 cname:hVbX2k9fLq0pR7sT\r\n");
    struct sdp_answer a;
    cr_assert_eq(parse_text(sdp, &a), 0, "%s", err);
    cr_expect_eq(a.media[1].ssrc, 1709874231u);
    cr_expect_eq(a.media[1].rtx_ssrc, 3900112233u);
    free(sdp);
}

Test(sdp_answer, rfc8843_bundle_only_video)
{
    /* RFC 8843 §7.3: only the tagged m-line carries the port and transport attributes. */
    char sdp[] = "v=0\r\no=bob 2808844564 2808844564 IN IP4 192.0.2.30\r\ns= \r\n"
                 "c=IN IP4 192.0.2.30\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
                 "m=audio 20000 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\n"
                 "a=ice-ufrag:bob1\r\na=ice-pwd:0123456789abcdefABCDEF\r\n"
                 "a=fingerprint:sha-256 " FP_OURS "\r\na=setup:passive\r\n"
                 "a=rtpmap:111 OPUS/48000/2\r\na=ssrc:7 cname:x\r\n"
                 "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=bundle-only\r\n"
                 "a=rtpmap:96 VP8/90000\r\na=ssrc:8 cname:x\r\n";
    char *copy = replace_all(strdup(sdp), "sha-256 D1:", "sha-256 00:"); /* not our own */
    struct sdp_answer a;
    cr_assert_eq(parse_text(copy, &a), 0, "%s", err);
    cr_expect_eq(a.setup, SDP_SETUP_PASSIVE);
    cr_expect_not(a.media[1].rejected);
    cr_expect(a.media[1].bundled);
    cr_expect_eq(a.media[1].ssrc, 8);
    cr_expect_eq(a.media[1].rtcp_fb, 0);
    free(copy);
}

Test(sdp_answer, rejected_video)
{
    char *s1 = replace_all(chromium(), "m=video 9 ", "m=video 0 ");
    char *s2 = replace_all(s1, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0");
    /* What it says inside a rejected m-line does not matter. */
    char *s3 = replace_all(s2, "a=rtpmap:96 VP8/90000", "a=rtpmap:96 H264/90000");
    struct sdp_answer a;
    cr_assert_eq(parse_text(s3, &a), 0, "%s", err);
    cr_expect_not(a.media[0].rejected);
    cr_expect(a.media[1].rejected);
    cr_expect_not(a.media[1].bundled);
    cr_expect_eq(a.media[1].ssrc, 0);
    free(s3);
}

Test(sdp_answer, tolerates_what_it_does_not_need)
{
    char *s1 = replace_all(chromium(), "a=rtcp-fb:96 nack pli\r\n",
                           "a=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 transport-cc\r\n"
                           "a=x-unknown-attribute:whatever it says\r\na=extmap-allow-mixed\r\n"
                           "b=AS:2000\r\n");
    /* A second fingerprint with another hash is allowed next to sha-256 (RFC 8122 §5). */
    char *s2 = replace_all(s1, "a=setup:active\r\n",
                           "a=setup:active\r\na=fingerprint:sha-1 "
                           "01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14\r\n");
    struct sdp_answer a;
    cr_assert_eq(parse_text(s2, &a), 0, "%s", err);
    expect_chromium(&a);
    free(s2);
}

/* ---- one test per way an answer can be wrong ---- */

Test(sdp_answer_error, missing_fingerprint)
{
    expect_error(remove_lines(chromium(), "a=fingerprint:"), "no a=fingerprint");
}

Test(sdp_answer_error, sha1_fingerprint)
{
    expect_error(replace_all(chromium(),
                             "a=fingerprint:sha-256 "
                             "5E:A1:3C:0D:92:7B:44:E8:1F:6A:B0:29:C3:58:D7:0E:81:4F:AA:62:13:9C:"
                             "E5:B7:06:D4:38:F1:2A:C9:75:8B",
                             "a=fingerprint:sha-1 "
                             "5E:A1:3C:0D:92:7B:44:E8:1F:6A:B0:29:C3:58:D7:0E:81:4F:AA:62"),
                 "uses sha-1");
}

Test(sdp_answer_error, malformed_fingerprint)
{
    expect_error(replace_all(chromium(), ":75:8B\r\n", ":75\r\n"), "32 colon-separated hex");
}

Test(sdp_answer_error, own_fingerprint)
{
    expect_error(replace_all(chromium(),
                             "5E:A1:3C:0D:92:7B:44:E8:1F:6A:B0:29:C3:58:D7:0E:81:4F:AA:62:13:9C:"
                             "E5:B7:06:D4:38:F1:2A:C9:75:8B",
                             FP_OURS),
                 "own fingerprint");
}

Test(sdp_answer_error, actpass_in_answer)
{
    expect_error(replace_all(chromium(), "a=setup:active", "a=setup:actpass"), "actpass");
}

Test(sdp_answer_error, holdconn_in_answer)
{
    expect_error(replace_all(chromium(), "a=setup:active", "a=setup:holdconn"), "holdconn");
}

Test(sdp_answer_error, missing_setup)
{
    expect_error(remove_lines(chromium(), "a=setup:"), "no a=setup");
}

Test(sdp_answer_error, missing_rtcp_mux)
{
    expect_error(remove_lines(chromium(), "a=rtcp-mux"), "rtcp-mux");
}

Test(sdp_answer_error, missing_ice_pwd)
{
    expect_error(remove_lines(chromium(), "a=ice-pwd:"), "no a=ice-pwd");
}

Test(sdp_answer_error, missing_ice_ufrag)
{
    expect_error(remove_lines(chromium(), "a=ice-ufrag:"), "no a=ice-ufrag");
}

Test(sdp_answer_error, ufrag_too_short)
{
    expect_error(replace_all(chromium(), "a=ice-ufrag:Xq3b", "a=ice-ufrag:Xq3"),
                 "ice-ufrag is 3 characters");
}

Test(sdp_answer_error, pwd_outside_ice_chars)
{
    expect_error(replace_all(chromium(), "a=ice-pwd:4hGq2Jw9b", "a=ice-pwd:4hGq2Jw9-"),
                 "outside the ICE set");
}

Test(sdp_answer_error, bundled_lines_disagree)
{
    char *s = chromium();
    char *second = strstr(strstr(s, "a=ice-ufrag:Xq3b") + 1, "a=ice-ufrag:Xq3b");
    cr_assert_not_null(second);
    second[strlen("a=ice-ufrag:Xq3")] = 'c';
    expect_error(s, "disagree on a=ice-ufrag");
}

Test(sdp_answer_error, audio_payload_type_changed)
{
    char *s1 = replace_all(chromium(), "SAVPF 111", "SAVPF 109");
    char *s2 = replace_all(s1, "a=rtpmap:111", "a=rtpmap:109");
    expect_error(s2, "audio payload type 109 was not offered");
}

Test(sdp_answer_error, video_payload_type_changed)
{
    expect_error(replace_all(chromium(), "SAVPF 96", "SAVPF 97"),
                 "video payload type 97 was not offered");
}

Test(sdp_answer_error, codec_changed)
{
    expect_error(replace_all(chromium(), "a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP9/90000"),
                 "video payload type 96 is not VP8/90000");
}

Test(sdp_answer_error, opus_channels_changed)
{
    expect_error(replace_all(chromium(), "opus/48000/2", "opus/48000"),
                 "audio payload type 111 is not opus/48000/2 as offered");
}

Test(sdp_answer_error, missing_rtpmap)
{
    expect_error(remove_lines(chromium(), "a=rtpmap:96"), "has no a=rtpmap");
}

Test(sdp_answer_error, extmap_id_changed)
{
    expect_error(replace_all(chromium(), "a=extmap:3 http", "a=extmap:5 http"),
                 "abs-send-time has id 5; the offer gave it 3");
}

Test(sdp_answer_error, extmap_not_offered)
{
    expect_error(replace_all(chromium(), "a=mid:0\r\n",
                             "a=mid:0\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"),
                 "not offered");
}

Test(sdp_answer_error, mid_not_in_bundle)
{
    expect_error(replace_all(chromium(), "a=group:BUNDLE 0 1", "a=group:BUNDLE 0"),
                 "mid 1 is not in the BUNDLE group");
}

Test(sdp_answer_error, no_bundle_group)
{
    expect_error(remove_lines(chromium(), "a=group:"), "no a=group:BUNDLE");
}

Test(sdp_answer_error, rejected_mid_in_bundle)
{
    expect_error(replace_all(chromium(), "m=video 9 ", "m=video 0 "), "not an accepted m-line");
}

Test(sdp_answer_error, mid_changed)
{
    expect_error(replace_all(chromium(), "a=mid:1", "a=mid:video"), "a=mid:1");
}

Test(sdp_answer_error, sends_without_ssrc)
{
    expect_error(remove_lines(chromium(), "a=ssrc:1709874231"), "has no a=ssrc");
}

Test(sdp_answer_error, two_ssrcs_without_fid)
{
    expect_error(replace_all(chromium(), "a=ssrc:1709874231 cname:hVbX2k9fLq0pR7sT\r\n",
                             "a=ssrc:1709874231 cname:hVbX2k9fLq0pR7sT\r\n"
                             "a=ssrc:1709874232 cname:hVbX2k9fLq0pR7sT\r\n"),
                 "without a=ssrc-group:FID");
}

Test(sdp_answer_error, m_lines_swapped)
{
    expect_error(replace_all(chromium(), "m=audio 9", "m=video 9"), "must be audio");
}

Test(sdp_answer_error, one_m_line_missing)
{
    char *s = chromium();
    *strstr(s, "m=video") = '\0';
    expect_error(s, "has 1 m-lines");
}

Test(sdp_answer_error, both_ice_lite)
{
    expect_error(
        replace_all(chromium(), "a=group:BUNDLE 0 1\r\n", "a=group:BUNDLE 0 1\r\na=ice-lite\r\n"),
        "both sides are ICE-lite");
}

Test(sdp_answer_error, oversized)
{
    size_t len = SDP_MAX_SIZE + 1;
    char *big = malloc(len);
    memset(big, 'x', len);
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    cr_expect_eq(sdp_parse_answer(big, len, &p, &a, err, sizeof(err)), -EMSGSIZE);
    cr_expect_not_null(strstr(err, "limit"), "%s", err);
    free(big);
}

/* Pads a valid answer with ignored attribute lines up to exactly `total` bytes. */
static char *padded_answer(size_t total)
{
    size_t base_len;
    char *base = load_corpus("chromium_answer.sdp", &base_len);
    char *out = malloc(total);
    memcpy(out, base, base_len);
    size_t pos = base_len;
    while (total - pos > 0) {
        size_t line = total - pos > 1000 ? 1000 : total - pos;
        if (total - pos - line > 0 && total - pos - line < 8)
            line -= 8; /* never leave a remainder too short to be a line */
        memcpy(out + pos, "a=x:", 4);
        memset(out + pos + 4, 'p', line - 6);
        memcpy(out + pos + line - 2, "\r\n", 2);
        pos += line;
    }
    free(base);
    return out;
}

Test(sdp_answer, exactly_64_kib_is_accepted)
{
    char *sdp = padded_answer(SDP_MAX_SIZE);
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    cr_expect_eq(sdp_parse_answer(sdp, SDP_MAX_SIZE, &p, &a, err, sizeof(err)), 0, "%s", err);
    free(sdp);
    sdp = padded_answer(SDP_MAX_SIZE + 1);
    cr_expect_eq(sdp_parse_answer(sdp, SDP_MAX_SIZE + 1, &p, &a, err, sizeof(err)), -EMSGSIZE);
    free(sdp);
}

Test(sdp_answer_error, line_too_long)
{
    char line[SDP_MAX_LINE + 8];
    memset(line, 'y', sizeof(line));
    memcpy(line, "a=x:", 4);
    strcpy(line + SDP_MAX_LINE + 1, "\r\n"); /* 1025 bytes before the CRLF */
    char *s1 = chromium();
    char *s2 = malloc(strlen(s1) + sizeof(line) + 1);
    strcpy(s2, s1);
    strcat(s2, line);
    free(s1);
    expect_error(s2, "longer than 1024");
}

Test(sdp_answer_error, truncated_mid_line)
{
    size_t len;
    char *sdp = load_corpus("chromium_answer.sdp", &len);
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    /* Every cut that is not at a line end is refused; every cut is parsed without a read past
     * its end (ASan watches the exact-size copy). */
    for (size_t cut = 1; cut < len; cut++) {
        char *prefix = malloc(cut);
        memcpy(prefix, sdp, cut);
        int rc = sdp_parse_answer(prefix, cut, &p, &a, err, sizeof(err));
        if (sdp[cut - 1] != '\n') {
            cr_assert_lt(rc, 0, "a cut at %zu was accepted", cut);
            cr_assert_not_null(strstr(err, "truncated"), "cut %zu: %s", cut, err);
        }
        free(prefix);
    }
    free(sdp);
}

Test(sdp_answer_error, garbage_bytes)
{
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    uint32_t x = 2463534242u; /* xorshift32: the same bytes on every run */
    unsigned char buf[2048];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (unsigned char)x;
        }
        size_t len = 1 + x % sizeof(buf);
        cr_assert_lt(sdp_parse_answer((const char *)buf, len, &p, &a, err, sizeof(err)), 0);
        cr_assert_gt(strlen(err), 0);
    }
    expect_error(replace_all(chromium(), "s=-\r\n", "s=-\r\n\x01\x02\x7f\r\n"),
                 "control character");
    expect_error(replace_all(chromium(), "t=0 0\r\n", "t=0 0\r\nx=unknown\r\n"),
                 "unknown line type");
    expect_error(replace_all(chromium(), "t=0 0\r\n", "t=0 0\r\nnot sdp at all\r\n"),
                 "not an SDP line");
    expect_error(replace_all(chromium(), "a=rtcp-mux\r\n", "a=rtcp-mux\rx\r\n"), "CR");
}

Test(sdp_answer_error, nul_bytes)
{
    size_t len;
    char *sdp = load_corpus("chromium_answer.sdp", &len);
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    char *copy = malloc(len + 1);
    memcpy(copy, sdp, len);
    copy[len / 2] = '\0';
    cr_expect_lt(sdp_parse_answer(copy, len, &p, &a, err, sizeof(err)), 0);
    cr_expect_not_null(strstr(err, "NUL"), "%s", err);
    /* A NUL after the last line counts too: the length is what the caller says. */
    memcpy(copy, sdp, len);
    copy[len] = '\0';
    cr_expect_lt(sdp_parse_answer(copy, len + 1, &p, &a, err, sizeof(err)), 0);
    cr_expect_not_null(strstr(err, "NUL"), "%s", err);
    free(copy);
    free(sdp);
}

Test(sdp_answer_error, version_and_order)
{
    expect_error(replace_all(chromium(), "v=0", "v=1"), "version");
    expect_error(remove_lines(chromium(), "o="), "expected o=");
    expect_error(remove_lines(chromium(), "t="), "no t= line");
    expect_error(replace_all(chromium(), "t=0 0\r\n", "t=0 0\r\ns=again\r\n"), "only once");
}

Test(sdp_answer_error, rejects_bad_arguments)
{
    struct sdp_offer_params p;
    offer_params(&p);
    struct sdp_answer a;
    cr_expect_lt(sdp_parse_answer("", 0, &p, &a, err, sizeof(err)), 0);
    cr_expect_lt(sdp_parse_answer(NULL, 10, &p, &a, NULL, 0), 0);
    cr_expect_lt(sdp_parse_answer("v=0\r\n", 5, &p, NULL, NULL, 0), 0);
    p.ice_pwd[0] = '\0';
    char *s = chromium();
    cr_expect_lt(sdp_parse_answer(s, strlen(s), &p, &a, err, sizeof(err)), 0);
    cr_expect_not_null(strstr(err, "offer parameters"), "%s", err);
    /* A tiny error buffer is truncated, never overrun. */
    char tiny[4] = {1, 1, 1, 1};
    offer_params(&p);
    cr_expect_lt(sdp_parse_answer("v=0\r\n", 5, &p, &a, tiny, 3), 0);
    cr_expect_eq(tiny[2], '\0');
    cr_expect_eq(tiny[3], 1);
    free(s);
}

/* ---- trickled candidates ---- */

Test(sdp_candidate, chromium_host_ipv4)
{
    struct sdp_candidate c;
    cr_assert_eq(sdp_parse_candidate("candidate:842163049 1 udp 2122260223 192.0.2.1 54400 typ "
                                     "host generation 0 ufrag Xq3b network-id 1 network-cost 10",
                                     &c),
                 0);
    cr_expect_str_eq(c.foundation, "842163049");
    cr_expect_eq(c.component, 1);
    cr_expect_eq(c.transport, SDP_TRANSPORT_UDP);
    cr_expect_eq(c.priority, 2122260223u);
    cr_expect_eq(c.address_kind, SDP_ADDRESS_IPV4);
    cr_expect_str_eq(c.address, "192.0.2.1");
    cr_expect_eq(c.port, 54400);
    cr_expect_eq(c.type, SDP_CANDIDATE_HOST);
    cr_expect_not(c.has_related);
}

Test(sdp_candidate, srflx_with_related_address)
{
    struct sdp_candidate c;
    cr_assert_eq(sdp_parse_candidate("a=candidate:1853887674 1 udp 1677729535 198.51.100.7 61665 "
                                     "typ srflx raddr 0.0.0.0 rport 0 generation 0",
                                     &c),
                 0);
    cr_expect_eq(c.type, SDP_CANDIDATE_SRFLX);
    cr_expect(c.has_related);
    cr_expect_str_eq(c.related_address, "0.0.0.0");
    cr_expect_eq(c.related_port, 0);
}

Test(sdp_candidate, ipv6_and_firefox_relay)
{
    struct sdp_candidate c;
    cr_assert_eq(sdp_parse_candidate("candidate:2 1 UDP 2122187007 2001:db8:85a3::8a2e:370:7334 "
                                     "49203 typ host",
                                     &c),
                 0);
    cr_expect_eq(c.address_kind, SDP_ADDRESS_IPV6);
    cr_expect_str_eq(c.address, "2001:db8:85a3::8a2e:370:7334");
    cr_assert_eq(sdp_parse_candidate("candidate:5 1 UDP 8265727 203.0.113.9 58451 typ relay raddr "
                                     "203.0.113.9 rport 58451",
                                     &c),
                 0);
    cr_expect_eq(c.type, SDP_CANDIDATE_RELAY);
    cr_expect_eq(c.related_port, 58451);
}

Test(sdp_candidate, mdns_names_are_flagged)
{
    struct sdp_candidate c;
    cr_assert_eq(sdp_parse_candidate("candidate:3317195036 1 udp 2122260223 "
                                     "4c1e3b2a-9d8f-4e7a-b6c5-0d1e2f3a4b5c.local 54400 typ host "
                                     "generation 0",
                                     &c),
                 0);
    cr_expect_eq(c.address_kind, SDP_ADDRESS_MDNS);
    cr_expect_str_eq(c.address, "4c1e3b2a-9d8f-4e7a-b6c5-0d1e2f3a4b5c.local");
    cr_assert_eq(sdp_parse_candidate("candidate:1 1 udp 1 media.example.org 3478 typ host", &c), 0);
    cr_expect_eq(c.address_kind, SDP_ADDRESS_FQDN);
    cr_assert_eq(sdp_parse_candidate("candidate:1 1 udp 1 HOST.LOCAL 3478 typ host", &c), 0);
    cr_expect_eq(c.address_kind, SDP_ADDRESS_MDNS);
}

Test(sdp_candidate, tcp)
{
    struct sdp_candidate c;
    cr_assert_eq(sdp_parse_candidate("candidate:1 1 TCP 2105458943 2001:db8::7 9 typ host tcptype "
                                     "active",
                                     &c),
                 0);
    cr_expect_eq(c.transport, SDP_TRANSPORT_TCP);
    cr_expect_eq(c.tcp_type, SDP_TCP_TYPE_ACTIVE);
    cr_expect_eq(c.port, 9);
}

Test(sdp_candidate, end_of_candidates)
{
    struct sdp_candidate c;
    cr_expect_eq(sdp_parse_candidate("", &c), -ENODATA);
}

Test(sdp_candidate, malformed)
{
    static const char *const bad[] = {
        "842163049 1 udp 2122260223 192.0.2.1 54400 typ host", /* no "candidate:" */
        "candidate:",
        "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ",
        "candidate:1 1 udp 2122260223 192.0.2.1 54400 host",
        "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ lan",
        "candidate:1 0 udp 2122260223 192.0.2.1 54400 typ host",
        "candidate:1 257 udp 2122260223 192.0.2.1 54400 typ host",
        "candidate:1 1 udp 0 192.0.2.1 54400 typ host",
        "candidate:1 1 udp 2147483648 192.0.2.1 54400 typ host",
        "candidate:1 1 udp -5 192.0.2.1 54400 typ host",
        "candidate:123456789012345678901234567890123 1 udp 1 192.0.2.1 1 typ host",
        "candidate:a-b 1 udp 1 192.0.2.1 1 typ host",
        "candidate:1 1 sctp 1 192.0.2.1 1 typ host",
        "candidate:1 1 udp 1 999.0.2.1 1 typ host",
        "candidate:1 1 udp 1 192.0.2 1 typ host",
        "candidate:1 1 udp 1 fe80::1%eth0 1 typ host",
        "candidate:1 1 udp 1 bad_name.local 1 typ host",
        "candidate:1 1 udp 1 -bad.local 1 typ host",
        "candidate:1 1 udp 1 192.0.2.1 65536 typ host",
        "candidate:1 1 udp 1 192.0.2.1 1 typ srflx raddr 192.0.2.2",
        "candidate:1 1 udp 1 192.0.2.1 1 typ srflx rport 5",
        "candidate:1 1 udp 1 192.0.2.1 1 typ host generation",
        "candidate:1 1 udp 1 192.0.2.1 1 typ host ",
        "candidate:1  1 udp 1 192.0.2.1 1 typ host",
        "candidate:1 1 tcp 1 192.0.2.1 9 typ host",
        "candidate:1 1 udp 1 192.0.2.1 9 typ host tcptype active",
        "candidate:1 1 tcp 1 192.0.2.1 9 typ host tcptype sideways",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sdp_candidate c;
        cr_expect_eq(sdp_parse_candidate(bad[i], &c), -EINVAL, "accepted: '%s'", bad[i]);
    }
    struct sdp_candidate c;
    cr_expect_eq(sdp_parse_candidate(NULL, &c), -EINVAL);
    char longest[SDP_MAX_LINE + 64];
    strcpy(longest, "candidate:1 1 udp 1 192.0.2.1 1 typ host");
    size_t n = strlen(longest);
    while (n + 3 < sizeof(longest) - 1) {
        memcpy(longest + n, " x y", 4);
        n += 4;
    }
    longest[n] = '\0';
    cr_expect_eq(sdp_parse_candidate(longest, &c), -EINVAL);
}

Test(sdp_answer_error, malformed_candidate_in_answer)
{
    expect_error(replace_all(load_corpus("aiortc_answer.sdp", NULL), "typ srflx", "typ bogus"),
                 "malformed a=candidate");
}
