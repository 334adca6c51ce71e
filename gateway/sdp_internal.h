/* Internal to the SDP module (gateway/sdp*.c): length-bounded text slices and the offer's
 * fixed media shape, which the builder writes and the answer parser checks against.
 *
 * Wire text is never NUL-terminated here: every helper takes a pointer and a length and
 * reads nothing outside them. */
#ifndef BALIE_SDP_INTERNAL_H
#define BALIE_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "balie/sdp.h"

struct span {
    const char *p;
    size_t n;
};

static inline bool span_is(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static inline bool span_is_nocase(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s.p[i], b = lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

static inline bool span_starts_with(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Takes the text up to the next space off the front of `rest`, and that one space with it.
 * SDP separates fields with exactly one space (RFC 8866 §5), so two spaces give an empty word,
 * which every caller refuses where a word is required. */
static inline struct span span_word(struct span *rest)
{
    size_t i = 0;
    while (i < rest->n && rest->p[i] != ' ')
        i++;
    struct span w = {rest->p, i};
    if (i < rest->n)
        i++;
    rest->p += i;
    rest->n -= i;
    return w;
}

/* Decimal digits only (no sign, no space), at most `max_digits` of them, value <= `max`. */
static inline bool span_u64(struct span s, size_t max_digits, uint64_t max, uint64_t *out)
{
    if (s.n == 0 || s.n > max_digits)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
static inline bool sdp_is_ice_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static inline bool span_all_ice_chars(struct span s)
{
    for (size_t i = 0; i < s.n; i++)
        if (!sdp_is_ice_char(s.p[i]))
            return false;
    return true;
}

/* RFC 8866 §9: token-char, the characters allowed in attribute names and most values. */
static inline bool sdp_is_token_char(char c)
{
    unsigned char u = (unsigned char)c;
    return u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D ||
           u == 0x2E || (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) ||
           (u >= 0x5E && u <= 0x7E);
}

static inline bool span_is_token(struct span s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!sdp_is_token_char(s.p[i]))
            return false;
    return true;
}

/* Classifies an address as an IPv4 or IPv6 literal or a host name, for c= lines and
 * candidates. Returns the enum sdp_address_kind value, or -1 when it is none of them.
 * Defined in gateway/sdp_candidate.c. */
int sdp_address_kind(struct span s);

/* The offer's fixed media shape, defined once in gateway/sdp.c. */
struct sdp_codec_def {
    enum sdp_media_kind kind;
    uint8_t pt;
    const char *name; /* compared case-insensitively (RFC 4855 §3) */
    uint32_t clock;
    uint8_t channels; /* 0: the rtpmap has no channel count (video) */
    const char *fmtp; /* NULL: no a=fmtp */
    unsigned rtcp_fb; /* SDP_RTCP_FB_* offered */
};

struct sdp_ext_def {
    enum sdp_media_kind kind;
    enum sdp_rtp_ext ext;
    uint8_t id;
    const char *uri;
    const char *label; /* short name for error messages */
};

struct sdp_rtcp_fb_def {
    unsigned bit;
    const char *type;
    const char *param; /* NULL: none */
};

extern const struct sdp_codec_def sdp_codecs[];
extern const size_t sdp_codec_count;
extern const struct sdp_ext_def sdp_exts[];
extern const size_t sdp_ext_count;
extern const struct sdp_rtcp_fb_def sdp_rtcp_fbs[];
extern const size_t sdp_rtcp_fb_count;
extern const char *const sdp_kind_names[2]; /* "audio", "video" */
extern const char *const sdp_mids[2];       /* SDP_MID_AUDIO, SDP_MID_VIDEO */

/* True when every field of `p` is what sdp.h documents. */
bool sdp_offer_params_valid(const struct sdp_offer_params *p);

/* Parses "AB:CD:…" (32 hex pairs, either case) into 32 bytes. */
bool sdp_parse_fingerprint_hex(struct span s, uint8_t out[SDP_FINGERPRINT_LEN]);

static inline bool span_eq(struct span a, struct span b)
{
    /* An absent value is {NULL, 0}, and memcmp() may not be given NULL even for 0 bytes. */
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ---- the answer parser's state (gateway/sdp_answer.c, gateway/sdp_media.c) ---- */

#define SDP_MAX_FORMATS 32
#define SDP_MAX_SSRCS 4
#define SDP_MAX_BUNDLE_MIDS 4

struct sdp_transport_attrs {
    bool has_ufrag, has_pwd, has_fingerprint, has_setup;
    struct span ufrag, pwd;
    uint8_t fingerprint[SDP_FINGERPRINT_LEN];
    char other_hash[16]; /* the first non-sha-256 hash function named, for the message */
    enum sdp_setup setup;
};

struct sdp_section {
    enum sdp_media_kind kind;
    uint16_t port;
    bool has_c, has_mid, has_direction, bundle_only, rtcp_mux, rtcp_rsize, has_fid;
    struct span mid;
    enum sdp_direction direction;
    uint8_t formats[SDP_MAX_FORMATS];
    bool has_rtpmap[SDP_MAX_FORMATS];
    size_t format_count;
    unsigned rtcp_fb;
    uint8_t ext_id[SDP_EXT_COUNT];
    bool ext_id_used[256];
    uint32_t ssrcs[SDP_MAX_SSRCS];
    size_t ssrc_count;
    uint32_t fid[2];
    struct sdp_transport_attrs transport;
    char deferred[160]; /* the first problem found while the m-line might be rejected */
};

struct sdp_parser {
    const struct sdp_offer_params *offer;
    char *err;
    size_t err_len;
    size_t line;      /* 1-based, counting every line */
    size_t sdp_lines; /* non-empty lines so far */
    struct span attr; /* the current a= line without "a=", for a=candidate */
    uint64_t session_id, session_version;
    bool has_t, has_c, has_direction, ice_lite, has_bundle, end_of_candidates;
    enum sdp_direction direction;
    struct sdp_transport_attrs transport;
    struct span bundle[SDP_MAX_BUNDLE_MIDS];
    size_t bundle_count;
    struct sdp_section sections[2];
    size_t section_count;
    size_t candidate_count;
};

/* Each writes a reason into the parser's error buffer and returns -EINVAL. sdp_fail_line()
 * starts it with the current line number. */
int sdp_fail(struct sdp_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sdp_fail_line(struct sdp_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails now in an m-line with a port; in a port-0 m-line keeps the first problem for
 * sdp_close_section(), since it only matters if that m-line turns out to be bundle-only. */
int sdp_section_fail(struct sdp_parser *p, struct sdp_section *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool sdp_parse_direction(struct span s, enum sdp_direction *out);
/* An m= line: starts the next m-section. */
int sdp_parse_media_line(struct sdp_parser *p, struct span v);
/* True for attributes that only make sense inside an m-line. */
bool sdp_is_media_attribute(struct span name);
int sdp_parse_media_attribute(struct sdp_parser *p, struct sdp_section *s, struct span name,
                              struct span v, bool has_value);
/* After the last line: decides whether m-line `i` was accepted and, if so, checks it and
 * fills `m`. Needs the BUNDLE group, which the session level has given by then. */
int sdp_close_section(struct sdp_parser *p, size_t i, struct sdp_answer_media *m);

#endif
