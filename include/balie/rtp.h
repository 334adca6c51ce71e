/* RTP (RFC 3550) as a sans-IO core: demultiplexing, header parsing with RFC 8285 header
 * extensions, SSRC/sequence/timestamp rewriting for the relay, and receive statistics.
 *
 * Nothing here allocates, blocks or reads a clock: time comes in as arguments. A parsed
 * `struct rtp_header` points into the caller's buffer and is valid only as long as it is. */
#ifndef BALIE_RTP_H
#define BALIE_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HEADER_MIN 12
#define RTP_MAX_CSRC 15

/* Negative results of rtp_parse() and the extension functions. */
enum rtp_error {
    RTP_ERR_SHORT = -1,     /* the buffer ends before a field or length says it should */
    RTP_ERR_VERSION = -2,   /* not RTP version 2 */
    RTP_ERR_PADDING = -3,   /* padding bit set with a padding count of 0 or past the header */
    RTP_ERR_EXTENSION = -4, /* an extension element runs past the extension block */
    RTP_ERR_NOT_FOUND = -5, /* rtp_ext_find(): no element with that id */
};

/* RFC 5761 §4: in an rtcp-mux stream, a second byte of 192..223 (RTCP packet types 64..95 with
 * the marker bit) is RTCP. Only the first two bytes are looked at; false when len < 2. */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/* RFC 7983 §7: a first byte of 128..191 is RTP or RTCP (version 2), as opposed to STUN (0..3),
 * DTLS (20..63) or TURN channels (64..79). Use rtp_is_rtcp() to tell the two apart. */
bool rtp_looks_like(const uint8_t *buf, size_t len);

struct rtp_header {
    uint8_t version;
    bool padding;
    bool extension;
    bool marker;
    uint8_t csrc_count;
    uint8_t payload_type;
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    uint32_t csrc[RTP_MAX_CSRC];
    /* When `extension`: the 16-bit profile word (0xBEDE one-byte form, 0x100X two-byte form,
     * anything else opaque) and the extension data after the 4-byte extension header. */
    uint16_t ext_profile;
    const uint8_t *ext_data;
    size_t ext_len;
    size_t header_len; /* fixed header + CSRCs + extension block */
    const uint8_t *payload;
    size_t payload_len; /* excludes padding */
    size_t padding_len; /* 0 unless `padding` */
};

/* Parses and validates an RTP packet (RFC 3550 §5.1, §5.3.1; RFC 8285 for the element forms).
 * Returns 0, or a negative enum rtp_error; `h` is unspecified on error. Extension elements
 * are validated too, so rtp_ext_next() never fails on a header this accepted. */
int rtp_parse(const uint8_t *buf, size_t len, struct rtp_header *h);

/* Iterates RFC 8285 extension elements. Start with `struct rtp_ext_iter it = {0};`. */
struct rtp_ext_iter {
    size_t offset;
};

/* Returns 1 and sets id/data/len for the next element, 0 at the end (also when the profile is
 * neither RFC 8285 form), or RTP_ERR_EXTENSION. Padding bytes are skipped. */
int rtp_ext_next(const struct rtp_header *h, struct rtp_ext_iter *it, uint8_t *id,
                 const uint8_t **data, size_t *len);

/* Finds the first element with `id`. Returns 0, RTP_ERR_NOT_FOUND, or RTP_ERR_EXTENSION. */
int rtp_ext_find(const struct rtp_header *h, uint8_t id, const uint8_t **data, size_t *len);

/* Rewrites one outgoing stream so it stays continuous while its input source changes (a live
 * stream replaced by hold media and back). Within one input source the output keeps the input's
 * sequence and timestamp offsets, so reordering and retransmission survive; on a source change
 * the next sequence number is the last one sent plus one, and the timestamp moves on from the
 * last one sent by the elapsed wall time (at least one packet's worth). The first source's
 * numbers pass through unchanged: its sender already chose random starting values. */
struct rtp_rewriter {
    uint32_t out_ssrc;
    uint32_t in_ssrc; /* the source being forwarded */
    bool started;     /* a packet has been rewritten */
    uint16_t seq_offset;
    uint32_t ts_offset;
    uint16_t max_in_seq;  /* newest input sequence number of this source */
    uint16_t span;        /* how far max_out_seq moved on within this source, up to 0x7FFF */
    uint32_t ts_step;     /* last positive timestamp step between newest packets */
    uint16_t max_out_seq; /* newest output sequence number, over all sources */
    uint32_t max_out_ts;  /* its timestamp */
    uint64_t max_out_us;  /* when it was written */
    bool resync;          /* rtp_rewriter_resync(): the next packet starts a new source */
};

void rtp_rewriter_init(struct rtp_rewriter *rw, uint32_t out_ssrc);

/* Rewrites SSRC, sequence number and timestamp of `pkt` in place; `h` must be rtp_parse()'s
 * result for `pkt`. `clock_rate` is the payload's RTP clock (48000 for Opus, 90000 for video).
 * Returns false, leaving `pkt` unchanged, for a packet of the current source older than the
 * first one forwarded from it: its output number would collide with the previous source's, so
 * the caller must drop it. Callers stop feeding a source once they switch away from it. */
bool rtp_rewrite(struct rtp_rewriter *rw, uint8_t *pkt, const struct rtp_header *h, uint64_t now_us,
                 uint32_t clock_rate);

/* The current source resumes after a gap in which its packets were not forwarded (a call on
 * hold): its next packet is treated as a new source's, so the output goes on from the last
 * number sent instead of jumping over everything left out. */
void rtp_rewriter_resync(struct rtp_rewriter *rw);

/* Maps an output sequence number (as a NACK names it) back to the input's. Returns false when
 * that number was not sent from the current source (it belongs to an earlier source, or has
 * not been sent yet); such a packet cannot be retransmitted by the current sender. */
bool rtp_rewriter_map_seq_back(const struct rtp_rewriter *rw, uint16_t out_seq, uint16_t *in_seq);

/* Receive statistics for one source, per RFC 3550 A.1 (sequence tracking), A.3 (loss) and A.8
 * (jitter). Unlike A.1 there is no probation period: SRTP authentication has already shown the
 * packets genuine, and probation would discard the first packet from the counts. */
struct rtp_recv_stats {
    uint32_t ssrc;
    bool started;
    uint16_t max_seq;
    uint32_t cycles; /* sequence number wraps, shifted left by 16 */
    uint32_t base_seq;
    uint32_t bad_seq; /* after a big jump: the number that confirms a restart */
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    uint32_t transit; /* last relative transit time, clock units */
    uint32_t jitter;  /* scaled by 16, as in RFC 3550 A.8 */
    uint64_t packets; /* every packet seen, including ones the sequence logic discarded */
    uint64_t bytes;   /* whole packets */
    uint64_t payload_bytes;
};

void rtp_stats_init(struct rtp_recv_stats *st);

/* Accounts one packet. `arrival` is the arrival time in the stream's RTP clock units (any
 * origin). A packet of another SSRC restarts the statistics for that source. Returns false for
 * a packet the A.1 logic sets aside (a large sequence jump not yet confirmed by its successor). */
bool rtp_stats_update(struct rtp_recv_stats *st, const struct rtp_header *h, uint32_t arrival);

struct rtp_loss_report {
    uint32_t ext_max_seq;    /* cycles + highest sequence number */
    uint32_t expected;       /* since the first packet */
    int32_t cumulative_lost; /* clamped to the 24-bit signed range of a report block */
    uint8_t fraction_lost;   /* since the previous report, in 1/256 */
    uint32_t jitter;         /* interarrival jitter, clock units */
};

/* Fills `out` and starts the next reporting interval (RFC 3550 A.3): call it once per report. */
void rtp_stats_report(struct rtp_recv_stats *st, struct rtp_loss_report *out);

#endif
