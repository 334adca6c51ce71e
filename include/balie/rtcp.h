/* RTCP as a sans-IO core: walking compound packets (RFC 3550 §6), parsing reports and the
 * feedback a WebRTC relay cares about (RFC 4585 NACK/PLI, RFC 5104 FIR, REMB from
 * draft-alvestrand-rmcat-remb), building them, and translating one leg's feedback so that it
 * can be sent to the other leg's sender.
 *
 * Parsed structures point into the caller's buffer. Nothing allocates or reads a clock. */
#ifndef BALIE_RTCP_H
#define BALIE_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/rtp.h"

enum rtcp_type {
    RTCP_SR = 200,
    RTCP_RR = 201,
    RTCP_SDES = 202,
    RTCP_BYE = 203,
    RTCP_APP = 204,
    RTCP_RTPFB = 205, /* RFC 4585 §6.2: transport layer feedback */
    RTCP_PSFB = 206,  /* RFC 4585 §6.3: payload-specific feedback */
    RTCP_XR = 207,
};

/* Feedback message types (the FMT field). */
#define RTCP_RTPFB_NACK 1
#define RTCP_PSFB_PLI 1
#define RTCP_PSFB_FIR 4
#define RTCP_PSFB_AFB 15 /* application layer feedback; REMB is one */

#define RTCP_MAX_BLOCKS 31 /* the 5-bit report count */

enum rtcp_error {
    RTCP_ERR_SHORT = -1,   /* fewer bytes than a header or a fixed part needs */
    RTCP_ERR_VERSION = -2, /* not version 2 */
    RTCP_ERR_LENGTH = -3,  /* a length field points past the end, or leaves bytes unaccounted */
    RTCP_ERR_PADDING = -4, /* padding on a packet that is not last, or a bad padding count */
    RTCP_ERR_FORMAT = -5,  /* the body does not fit its packet type (count, FCI, identifier) */
    RTCP_ERR_NOSPACE = -6, /* a builder's output buffer is too small */
    RTCP_ERR_INVALID = -7, /* a builder's argument is out of range */
};

/* One packet of a compound packet. `body` follows the 4-byte common header and excludes
 * padding; `data`/`len` span the whole packet, header and padding included. */
struct rtcp_packet {
    uint8_t type;
    uint8_t count; /* RC, SC or FMT, by type */
    bool padding;
    const uint8_t *data;
    size_t len;
    const uint8_t *body;
    size_t body_len;
};

/* Validates the whole compound packet first (RFC 3550 A.2: version 2 everywhere, lengths that
 * add up to `len`, padding only on the last packet), then calls `cb` for each packet in order,
 * so a malformed packet never reaches the callback half-way. The first packet need not be an SR
 * or RR: RFC 5506 reduced-size RTCP, which browsers send, allows a lone feedback packet.
 * `cb` returns 0 to go on or a negative value, which rtcp_walk() returns at once. Returns the
 * number of packets, or a negative enum rtcp_error. `cb` may be NULL to validate only. */
int rtcp_walk(const uint8_t *buf, size_t len, int (*cb)(const struct rtcp_packet *p, void *arg),
              void *arg);

/* RFC 3550 §6.4.1: a reception report block. */
struct rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost; /* 24-bit signed on the wire */
    uint32_t ext_high_seq;
    uint32_t jitter;
    uint32_t lsr;  /* middle 32 bits of the NTP time of the last SR received from `ssrc` */
    uint32_t dlsr; /* delay since that SR, in 1/65536 s */
};

struct rtcp_sender_info {
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count; /* payload octets */
};

struct rtcp_sr {
    uint32_t ssrc;
    struct rtcp_sender_info info;
    size_t block_count;
    struct rtcp_report_block blocks[RTCP_MAX_BLOCKS];
};

struct rtcp_rr {
    uint32_t ssrc;
    size_t block_count;
    struct rtcp_report_block blocks[RTCP_MAX_BLOCKS];
};

/* RFC 3550 §6.5: the CNAME item of the first chunk that has one; other items are skipped. */
struct rtcp_sdes {
    size_t chunk_count;
    uint32_t cname_ssrc;
    const uint8_t *cname; /* NULL when no chunk carries one; not NUL-terminated */
    size_t cname_len;
};

/* RFC 3550 §6.6. */
struct rtcp_bye {
    size_t ssrc_count;
    uint32_t ssrcs[RTCP_MAX_BLOCKS];
    const uint8_t *reason; /* NULL when absent */
    size_t reason_len;
};

/* RFC 4585 §6.2.1: Generic NACK. Item i is read with rtcp_nack_item(). */
struct rtcp_nack {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    size_t item_count;
    const uint8_t *items;
};

struct rtcp_nack_item {
    uint16_t pid; /* a lost packet */
    uint16_t blp; /* bit i set: pid + i + 1 lost too */
};

/* RFC 4585 §6.3.1: Picture Loss Indication. */
struct rtcp_pli {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
};

/* RFC 5104 §4.3.1: Full Intra Request; entry i is read with rtcp_fir_entry(). */
struct rtcp_fir {
    uint32_t sender_ssrc;
    size_t entry_count;
    const uint8_t *entries;
};

struct rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq;
};

/* draft-alvestrand-rmcat-remb §2.2: Receiver Estimated Maximum Bitrate. */
#define RTCP_REMB_MAX_SSRC 255
struct rtcp_remb {
    uint32_t sender_ssrc;
    uint64_t bitrate_bps; /* mantissa << exponent */
    size_t ssrc_count;
    uint32_t ssrcs[RTCP_REMB_MAX_SSRC];
};

/* Each parser takes a packet that rtcp_walk() produced and returns 0 or a negative
 * enum rtcp_error (RTCP_ERR_FORMAT for the wrong type or a body that does not fit it). */
int rtcp_parse_sr(const struct rtcp_packet *p, struct rtcp_sr *out);
int rtcp_parse_rr(const struct rtcp_packet *p, struct rtcp_rr *out);
int rtcp_parse_sdes(const struct rtcp_packet *p, struct rtcp_sdes *out);
int rtcp_parse_bye(const struct rtcp_packet *p, struct rtcp_bye *out);
int rtcp_parse_nack(const struct rtcp_packet *p, struct rtcp_nack *out);
int rtcp_parse_pli(const struct rtcp_packet *p, struct rtcp_pli *out);
int rtcp_parse_fir(const struct rtcp_packet *p, struct rtcp_fir *out);
/* Returns RTCP_ERR_FORMAT also for an application feedback packet that is not REMB. */
int rtcp_parse_remb(const struct rtcp_packet *p, struct rtcp_remb *out);

/* `i` must be below the count; never fails. */
struct rtcp_nack_item rtcp_nack_item(const struct rtcp_nack *n, size_t i);
struct rtcp_fir_entry rtcp_fir_entry(const struct rtcp_fir *f, size_t i);

/* Builders write one packet at `out` and return its length, or RTCP_ERR_NOSPACE /
 * RTCP_ERR_INVALID. Concatenate their outputs to make a compound packet. */
int rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, const struct rtcp_sender_info *info,
                  const struct rtcp_report_block *blocks, size_t n);
int rtcp_build_rr(uint8_t *out, size_t cap, uint32_t our_ssrc,
                  const struct rtcp_report_block *blocks, size_t n);
/* One chunk with a CNAME item (RFC 3550 §6.5.1); `cname_len` at most 255. */
int rtcp_build_sdes_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                          size_t cname_len);
int rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* RFC 5104 §4.3.1.1: `seq` goes up by one for each new request to the same media sender. */
int rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                   uint8_t seq);
/* Packs `seqs` into PID/BLP items: a number within 16 after the current item's PID joins it,
 * any other starts a new item, so pass them in ascending order for the shortest packet. */
int rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t n);
/* `n` at most RTCP_REMB_MAX_SSRC; the bitrate is rounded down to 18 bits of mantissa. */
int rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, size_t n);

/* A report block about the source `st` counts, for our next SR or RR (RFC 3550 §6.4.1).
 * `lsr` is rtcp_ntp_mid() of the last SR received from that source (0 if none) and `dlsr`
 * rtcp_dlsr() of its arrival. Starts the next loss interval (see rtp_stats_report()). */
void rtcp_report_block_from_stats(struct rtp_recv_stats *st, uint32_t lsr, uint32_t dlsr,
                                  struct rtcp_report_block *out);

/* NTP time (RFC 3550 §4) from microseconds since the Unix epoch. */
uint64_t rtcp_ntp_from_unix_us(uint64_t unix_us);
/* The middle 32 bits, as LSR and RTT arithmetic use them. */
uint32_t rtcp_ntp_mid(uint64_t ntp);
/* Delay between an SR's arrival and now, in 1/65536 s; 0 when `sr_arrival_us` is 0. */
uint32_t rtcp_dlsr(uint64_t sr_arrival_us, uint64_t now_us);
/* RFC 3550 §6.4.1: RTT = A − LSR − DLSR, where A is rtcp_ntp_mid() of the arrival of the report
 * block `b`. Returns false when the block has no LSR or the result is negative (clock skew). */
bool rtcp_rtt_us(uint32_t arrival_ntp_mid, const struct rtcp_report_block *b, uint64_t *rtt_us);

/* Translation of feedback from the browser on one leg to the sender on the other. */
struct rtcp_ssrc_map {
    uint32_t from; /* the SSRC the browser on this side knows (our outgoing SSRC) */
    uint32_t to;   /* the original sender's SSRC */
    /* Optional: the rewriter of the outgoing stream `from`. When set, NACKed sequence numbers
     * are mapped back to the sender's (rtp_rewriter_map_seq_back()), and ones that were not
     * sent from `to` are dropped. When NULL, sequence numbers pass through unchanged, which is
     * right only if the relay does not renumber that stream. */
    const struct rtp_rewriter *rewriter;
};

#define RTCP_INFO_MAX_BLOCKS 8

/* What rtcp_translate() saw. Report blocks describe our outgoing streams as this side's
 * browser receives them (their SSRCs are ours): use them for loss and RTT to that browser. */
struct rtcp_info {
    unsigned sr, rr, sdes, bye, app, xr, nack, pli, fir, remb, other;
    unsigned dropped;          /* feedback packets (or FIR entries) with no mapping */
    unsigned nack_seq_dropped; /* NACKed numbers that the current sender never sent */
    unsigned malformed;        /* packets whose body does not fit their type; skipped */
    bool have_sr;
    uint32_t sr_ssrc;
    uint32_t sr_ntp_mid; /* LSR for our next report block about sr_ssrc; record the arrival */
    struct rtcp_sender_info sr_info;
    size_t block_count;   /* from SRs and RRs, up to RTCP_INFO_MAX_BLOCKS */
    unsigned blocks_lost; /* blocks beyond that */
    struct rtcp_report_block blocks[RTCP_INFO_MAX_BLOCKS];
    bool have_remb;
    uint64_t remb_bps;
};

/* Rewrites the feedback in `in` (a compound or reduced-size RTCP packet from one browser) for
 * the original senders: PLI, FIR, Generic NACK and REMB whose SSRCs appear in `map` as `from`
 * are re-issued from `our_ssrc` to `to`; REMB SSRC lists and FIR entries keep only mapped
 * SSRCs and are dropped when none remain. SR, RR, SDES, BYE, APP, XR and unknown feedback are
 * consumed and summarised in `info`, never forwarded. The output is a compound packet that
 * starts with an empty RR from `our_ssrc` (RFC 3550 §6.1). Returns its length, 0 when there is
 * nothing to forward, or a negative enum rtcp_error (malformed input: nothing is forwarded).
 * `out_cap` of in_len + 8 always suffices; below 8 is RTCP_ERR_NOSPACE. `info` may be NULL.
 * FIR sequence numbers pass through as the browser chose them (RFC 5104 §4.3.1.2 counts them
 * per requester), so a relay that also sends its own FIRs from `our_ssrc` to the same sender
 * should take its next number from the last one forwarded. */
int rtcp_translate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                   const struct rtcp_ssrc_map *map, size_t map_len, uint32_t our_ssrc,
                   struct rtcp_info *info);

#endif
