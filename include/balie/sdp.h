/* The gateway's SDP: it builds the offer and checks the browser's answer (DESIGN.md §3).
 *
 * The gateway always offers and browsers always answer (JSEP, RFC 8829). The offer is fixed
 * in shape: one BUNDLEd transport (RFC 8843) with rtcp-mux (RFC 5761), ICE-lite host
 * candidates (RFC 8839), DTLS-SRTP with `setup:actpass` (RFC 5763, RFC 8842), one audio m-line
 * (Opus 48000/2, payload type 111) and one video m-line (VP8, payload type 96). Because the
 * relay rewrites SSRCs and never codecs, the offer fixes the payload types and header extension
 * ids, and the answer parser refuses an answer that changes them.
 *
 * Everything here is sans-IO and allocation-free: strings in, structs and strings out. The
 * parsers never read past the length they are given and never need a NUL terminator, except
 * sdp_parse_candidate(), whose argument is the C string a browser's RTCIceCandidate carries. */
#ifndef BALIE_SDP_H
#define BALIE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_SIZE 65536      /* an answer larger than this is refused */
#define SDP_MAX_LINE 1024       /* a line longer than this (without CRLF) is refused */
#define SDP_MAX_CANDIDATES 8    /* host candidates in an offer */
#define SDP_OFFER_MAX 4096      /* the longest offer is 3.7 KiB: 8 IPv6 candidates, 256-char ICE */
#define SDP_ICE_UFRAG_MIN 4     /* RFC 8839 §5.4 */
#define SDP_ICE_UFRAG_MAX 256   /* RFC 8839 §5.4 */
#define SDP_ICE_PWD_MIN 22      /* RFC 8839 §5.4 */
#define SDP_ICE_PWD_MAX 256     /* RFC 8839 §5.4 */
#define SDP_FINGERPRINT_LEN 32  /* SHA-256 */
#define SDP_FINGERPRINT_TEXT 95 /* "AB:CD:…", 32 pairs and 31 colons */
#define SDP_CNAME_MAX 64
#define SDP_IP_TEXT_MAX 45   /* INET6_ADDRSTRLEN - 1 */
#define SDP_HOSTNAME_MAX 253 /* RFC 1035 §2.3.4, without the trailing dot */
#define SDP_MID_MAX 32
#define SDP_MAX_PAYLOAD_TYPES 4

/* The offer's fixed media shape. The answer parser checks an answer against these. */
#define SDP_MID_AUDIO "0"
#define SDP_MID_VIDEO "1"
#define SDP_PT_OPUS 111
#define SDP_PT_VP8 96
#define SDP_EXT_ID_AUDIO_LEVEL 1 /* urn:ietf:params:rtp-hdrext:ssrc-audio-level */
#define SDP_EXT_ID_ABS_SEND_TIME                                                                   \
    3                           /* http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time      \
                                 */
#define SDP_MSID_STREAM "balie" /* a=msid stream id; track ids are balie-audio, balie-video */

/* RTCP feedback types the offer proposes for VP8 (RFC 4585, RFC 5104, goog-remb). */
#define SDP_RTCP_FB_NACK 0x1u
#define SDP_RTCP_FB_NACK_PLI 0x2u
#define SDP_RTCP_FB_CCM_FIR 0x4u
#define SDP_RTCP_FB_GOOG_REMB 0x8u

/* Header extensions the offer proposes; indexes into sdp_answer_media.ext_id. */
enum sdp_rtp_ext { SDP_EXT_AUDIO_LEVEL = 0, SDP_EXT_ABS_SEND_TIME, SDP_EXT_COUNT };

enum sdp_media_kind { SDP_MEDIA_AUDIO = 0, SDP_MEDIA_VIDEO };

/* The answerer's direction, from the answerer's point of view (RFC 3264 §6.1). */
enum sdp_direction {
    SDP_DIR_SENDRECV = 0,
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE,
};

/* The answerer's DTLS role (RFC 4145, RFC 8842 §5.3). An answer may not say actpass. */
enum sdp_setup { SDP_SETUP_ACTIVE = 0, SDP_SETUP_PASSIVE };

struct sdp_host_candidate {
    char address[SDP_IP_TEXT_MAX + 1]; /* an IPv4 or IPv6 literal, no zone, no brackets */
    uint16_t port;                     /* 1..65535 */
};

struct sdp_offer_params {
    /* o= line. JSEP (RFC 8829 §5.2.1) wants the id below 2^63 - 1; a larger one is refused. */
    uint64_t session_id;
    uint64_t session_version; /* bump it for every re-offer (RFC 3264 §8) */
    char ice_ufrag[SDP_ICE_UFRAG_MAX + 1];
    char ice_pwd[SDP_ICE_PWD_MAX + 1];
    /* Our certificate's SHA-256 fingerprint, "AB:CD:…" in upper-case hex. */
    char fingerprint[SDP_FINGERPRINT_TEXT + 1];
    uint32_t audio_ssrc; /* non-zero, and different from video_ssrc */
    uint32_t video_ssrc;
    char cname[SDP_CNAME_MAX + 1]; /* 1..64 visible ASCII characters, no spaces */
    /* In order of preference: the first one is also the default in m= and c=. */
    struct sdp_host_candidate candidates[SDP_MAX_CANDIDATES];
    size_t candidate_count; /* 1..SDP_MAX_CANDIDATES */
    bool ice_lite;          /* the gateway is ICE-lite (RFC 8445 §2.5): always true today */
};

struct sdp_answer_media {
    enum sdp_media_kind kind;
    char mid[SDP_MID_MAX + 1];
    /* Port 0 without a=bundle-only (RFC 3264 §6, RFC 8843 §7.3.3). Nothing below is set. */
    bool rejected;
    bool bundled; /* listed in the answer's BUNDLE group */
    enum sdp_direction direction;
    uint8_t payload_types[SDP_MAX_PAYLOAD_TYPES]; /* accepted, all of them offered */
    size_t payload_type_count;
    unsigned rtcp_fb;              /* SDP_RTCP_FB_* accepted for VP8; 0 for audio */
    uint8_t ext_id[SDP_EXT_COUNT]; /* accepted header extension ids; 0 = not accepted */
    uint32_t ssrc;     /* the answerer's media SSRC; 0 when it sends none (recvonly, inactive) */
    uint32_t rtx_ssrc; /* second SSRC of a=ssrc-group:FID; 0 when absent */
    bool rtcp_rsize;   /* RFC 5506 */
};

struct sdp_answer {
    uint64_t session_id; /* from the answer's o= line */
    uint64_t session_version;
    char ice_ufrag[SDP_ICE_UFRAG_MAX + 1];
    char ice_pwd[SDP_ICE_PWD_MAX + 1];
    uint8_t fingerprint[SDP_FINGERPRINT_LEN]; /* the answerer's sha-256 certificate fingerprint */
    enum sdp_setup setup;
    bool ice_lite;          /* the answerer said a=ice-lite (never both sides: it is refused) */
    bool bundle;            /* a BUNDLE group with every accepted m-line was negotiated */
    size_t candidate_count; /* a=candidate lines in the answer; an ICE-lite gateway ignores them */
    bool end_of_candidates;
    struct sdp_answer_media media[2]; /* [0] audio (mid 0), [1] video (mid 1), as offered */
};

/* Writes the offer into `out` (NUL-terminated, CRLF line endings). Returns its length without
 * the NUL, -EINVAL when `p` is invalid (see the field comments), or -ENOSPC when `cap` is too
 * small; SDP_OFFER_MAX always suffices. Never writes past `cap`. */
int sdp_build_offer(const struct sdp_offer_params *p, char *out, size_t cap);

/* Parses and checks the browser's answer to the offer built from `offer` (whose fingerprint
 * the answer may not repeat, and whose ICE-lite flag the answer may not share: RFC 8445
 * §6.1.1). `sdp` need not be NUL-terminated. Returns 0 and fills `out`, or a negative errno
 * (-EMSGSIZE when `len` is over SDP_MAX_SIZE, -EINVAL for everything else) with a short English
 * reason in `err` (which may be NULL). The reason never quotes addresses or credentials from the
 * answer.
 *
 * Strict on purpose: every line must end in CRLF or LF (an unterminated last line means the
 * answer was cut), lines are at most SDP_MAX_LINE bytes, NUL bytes and unknown line types are
 * refused, and the answer must keep the offer's m-lines, mids, payload types and extension ids.
 * Unknown attributes are ignored. */
int sdp_parse_answer(const char *sdp, size_t len, const struct sdp_offer_params *offer,
                     struct sdp_answer *out, char *err, size_t err_len);

enum sdp_transport { SDP_TRANSPORT_UDP = 0, SDP_TRANSPORT_TCP };
enum sdp_candidate_type {
    SDP_CANDIDATE_HOST = 0,
    SDP_CANDIDATE_SRFLX,
    SDP_CANDIDATE_PRFLX,
    SDP_CANDIDATE_RELAY,
};
enum sdp_address_kind {
    SDP_ADDRESS_IPV4 = 0,
    SDP_ADDRESS_IPV6,
    /* A ".local" name (draft-ietf-mmusic-mdns-ice-candidates): browsers hide host addresses
     * behind these. Accepted, but only an mDNS resolver could use it. */
    SDP_ADDRESS_MDNS,
    SDP_ADDRESS_FQDN, /* any other host name (RFC 8839 §5.1 allows one) */
};
enum sdp_tcp_type {
    SDP_TCP_TYPE_NONE = 0,
    SDP_TCP_TYPE_ACTIVE,
    SDP_TCP_TYPE_PASSIVE,
    SDP_TCP_TYPE_SO
};

struct sdp_candidate {
    char foundation[33]; /* 1..32 ice-chars */
    uint16_t component;  /* 1..256 */
    enum sdp_transport transport;
    uint32_t priority; /* 1..2^31-1 (RFC 8445 §5.1.2.1) */
    enum sdp_address_kind address_kind;
    char address[SDP_HOSTNAME_MAX + 1];
    uint16_t port;
    enum sdp_candidate_type type;
    bool has_related; /* raddr and rport were both given */
    char related_address[SDP_HOSTNAME_MAX + 1];
    uint16_t related_port;
    enum sdp_tcp_type tcp_type; /* RFC 6544 tcptype; NONE for UDP */
};

/* Parses a trickled candidate, as in RTCIceCandidate.candidate: "candidate:…" (an "a=" in
 * front is allowed). Unknown extension attributes (generation, ufrag, network-id, …) are
 * skipped. Returns 0, -ENODATA for the empty string (a browser's end-of-candidates), or
 * -EINVAL when malformed. `out` is only meaningful after 0. */
int sdp_parse_candidate(const char *attr, struct sdp_candidate *out);

/* The same on a slice that need not be NUL-terminated. */
int sdp_parse_candidate_n(const char *attr, size_t len, struct sdp_candidate *out);

#endif
