#include "balie/bytes.h"
#include "balie/rtp.h"

#include <string.h>

/* RFC 8285 §4.2 and §4.3: the profile words of the two extension element forms. */
#define EXT_ONE_BYTE 0xBEDEu
#define EXT_TWO_BYTE_MASK 0xFFF0u
#define EXT_TWO_BYTE 0x1000u

bool rtp_is_rtcp(const uint8_t *buf, size_t len)
{
    return len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

bool rtp_looks_like(const uint8_t *buf, size_t len)
{
    return len >= 1 && buf[0] >= 128 && buf[0] <= 191;
}

/* Reads the extension block that starts at buf[off] (RFC 3550 §5.3.1). */
static int parse_extension(const uint8_t *buf, size_t len, size_t *off, struct rtp_header *h)
{
    if (len - *off < 4)
        return RTP_ERR_SHORT;
    h->ext_profile = bytes_get16(buf + *off);
    size_t words = bytes_get16(buf + *off + 2);
    *off += 4;
    if (len - *off < words * 4)
        return RTP_ERR_SHORT;
    h->ext_data = buf + *off;
    h->ext_len = words * 4;
    *off += words * 4;
    return 0;
}

int rtp_parse(const uint8_t *buf, size_t len, struct rtp_header *h)
{
    memset(h, 0, sizeof(*h));
    if (len < RTP_HEADER_MIN)
        return RTP_ERR_SHORT;
    h->version = buf[0] >> 6;
    if (h->version != 2)
        return RTP_ERR_VERSION;
    h->padding = (buf[0] & 0x20) != 0;
    h->extension = (buf[0] & 0x10) != 0;
    h->csrc_count = buf[0] & 0x0F;
    h->marker = (buf[1] & 0x80) != 0;
    h->payload_type = buf[1] & 0x7F;
    h->seq = bytes_get16(buf + 2);
    h->timestamp = bytes_get32(buf + 4);
    h->ssrc = bytes_get32(buf + 8);

    size_t off = RTP_HEADER_MIN;
    if (len - off < (size_t)h->csrc_count * 4)
        return RTP_ERR_SHORT;
    for (unsigned i = 0; i < h->csrc_count; i++, off += 4)
        h->csrc[i] = bytes_get32(buf + off);
    if (h->extension) {
        int rc = parse_extension(buf, len, &off, h);
        if (rc < 0)
            return rc;
    }
    h->header_len = off;

    size_t end = len;
    if (h->padding) {
        /* RFC 3550 §5.1: the last octet counts the padding, itself included, so it is at least
         * one and the padding cannot reach into the header (A.1's validity check). */
        size_t pad = buf[len - 1];
        if (pad == 0 || pad > len - off)
            return RTP_ERR_PADDING;
        h->padding_len = pad;
        end = len - pad;
    }
    h->payload = buf + off;
    h->payload_len = end - off;

    /* Validate the elements now so that a header we accept iterates without error. */
    struct rtp_ext_iter it = {0};
    uint8_t id;
    const uint8_t *data;
    size_t dlen;
    int rc;
    while ((rc = rtp_ext_next(h, &it, &id, &data, &dlen)) > 0) {
    }
    return rc;
}

/* RFC 8285 §4.2: the one-byte form. ID 0 is a padding byte; ID 15 ends processing. */
static int next_one_byte(const struct rtp_header *h, struct rtp_ext_iter *it, uint8_t *id,
                         const uint8_t **data, size_t *len)
{
    while (it->offset < h->ext_len) {
        uint8_t b = h->ext_data[it->offset];
        uint8_t eid = b >> 4;
        if (eid == 0) {
            it->offset++;
            continue;
        }
        if (eid == 15) {
            it->offset = h->ext_len;
            return 0;
        }
        size_t elen = (size_t)(b & 0x0F) + 1;
        if (h->ext_len - it->offset - 1 < elen)
            return RTP_ERR_EXTENSION;
        *id = eid;
        *data = h->ext_data + it->offset + 1;
        *len = elen;
        it->offset += 1 + elen;
        return 1;
    }
    return 0;
}

/* RFC 8285 §4.3: the two-byte form. A zero byte is padding; a length of 0 is allowed. */
static int next_two_byte(const struct rtp_header *h, struct rtp_ext_iter *it, uint8_t *id,
                         const uint8_t **data, size_t *len)
{
    while (it->offset < h->ext_len) {
        uint8_t eid = h->ext_data[it->offset];
        if (eid == 0) {
            it->offset++;
            continue;
        }
        if (h->ext_len - it->offset < 2)
            return RTP_ERR_EXTENSION;
        size_t elen = h->ext_data[it->offset + 1];
        if (h->ext_len - it->offset - 2 < elen)
            return RTP_ERR_EXTENSION;
        *id = eid;
        *data = h->ext_data + it->offset + 2;
        *len = elen;
        it->offset += 2 + elen;
        return 1;
    }
    return 0;
}

int rtp_ext_next(const struct rtp_header *h, struct rtp_ext_iter *it, uint8_t *id,
                 const uint8_t **data, size_t *len)
{
    if (!h->extension || h->ext_len == 0)
        return 0;
    if (h->ext_profile == EXT_ONE_BYTE)
        return next_one_byte(h, it, id, data, len);
    if ((h->ext_profile & EXT_TWO_BYTE_MASK) == EXT_TWO_BYTE)
        return next_two_byte(h, it, id, data, len);
    return 0;
}

int rtp_ext_find(const struct rtp_header *h, uint8_t id, const uint8_t **data, size_t *len)
{
    struct rtp_ext_iter it = {0};
    uint8_t eid;
    int rc;
    while ((rc = rtp_ext_next(h, &it, &eid, data, len)) > 0) {
        if (eid == id)
            return 0;
    }
    return rc < 0 ? rc : RTP_ERR_NOT_FOUND;
}

/* ---- Rewriting ---------------------------------------------------------------------------- */

/* RFC 3550 A.1 arithmetic: `a` is newer than `b` when it is less than half the space ahead. */
static bool seq_newer(uint16_t a, uint16_t b)
{
    return a != b && (uint16_t)(a - b) < 0x8000;
}

/* Half the sequence space: beyond it, older and newer cannot be told apart anyway. */
#define SPAN_MAX 0x7FFFu
/* Longer gaps count as an hour: that still shows the receiver a gap, and keeps the arithmetic
 * in range. */
#define MAX_GAP_US (3600ull * 1000000u)

void rtp_rewriter_init(struct rtp_rewriter *rw, uint32_t out_ssrc)
{
    memset(rw, 0, sizeof(*rw));
    rw->out_ssrc = out_ssrc;
}

/* Chooses offsets so `h` continues the output after its last packet. */
static void switch_source(struct rtp_rewriter *rw, const struct rtp_header *h, uint64_t now_us,
                          uint32_t clock_rate)
{
    uint16_t out_seq = h->seq;
    uint32_t out_ts = h->timestamp;
    if (rw->started) {
        uint64_t elapsed_us = now_us > rw->max_out_us ? now_us - rw->max_out_us : 0;
        if (elapsed_us > MAX_GAP_US)
            elapsed_us = MAX_GAP_US;
        uint64_t ticks = elapsed_us * clock_rate / 1000000u;
        /* At least one packet's worth, so the first packet does not overlap the last one
         * (same timestamp would merge two video frames, or overlap audio samples). */
        if (ticks < rw->ts_step)
            ticks = rw->ts_step;
        if (ticks == 0)
            ticks = 1;
        out_seq = (uint16_t)(rw->max_out_seq + 1);
        out_ts = rw->max_out_ts + (uint32_t)ticks;
    }
    rw->in_ssrc = h->ssrc;
    rw->seq_offset = (uint16_t)(out_seq - h->seq);
    rw->ts_offset = out_ts - h->timestamp;
    rw->max_in_seq = h->seq;
    rw->span = 0;
    rw->max_out_seq = out_seq;
    rw->max_out_ts = out_ts;
    rw->max_out_us = now_us;
    rw->started = true;
}

bool rtp_rewrite(struct rtp_rewriter *rw, uint8_t *pkt, const struct rtp_header *h, uint64_t now_us,
                 uint32_t clock_rate)
{
    if (!rw->started || h->ssrc != rw->in_ssrc || rw->resync) {
        rw->resync = false;
        switch_source(rw, h, now_us, clock_rate);
    } else if (seq_newer(h->seq, rw->max_in_seq)) {
        uint16_t out_seq = (uint16_t)(h->seq + rw->seq_offset);
        uint32_t out_ts = h->timestamp + rw->ts_offset;
        uint32_t step = out_ts - rw->max_out_ts;
        if (step > 0 && step <= clock_rate)
            rw->ts_step = step; /* a plausible packet or frame duration, not a jump */
        uint32_t span = (uint32_t)rw->span + (uint16_t)(out_seq - rw->max_out_seq);
        rw->span = span > SPAN_MAX ? SPAN_MAX : (uint16_t)span;
        rw->max_in_seq = h->seq;
        rw->max_out_seq = out_seq;
        rw->max_out_ts = out_ts;
        rw->max_out_us = now_us;
    } else if ((uint16_t)(rw->max_out_seq - (uint16_t)(h->seq + rw->seq_offset)) > rw->span) {
        return false; /* older than this source's first packet */
    }
    bytes_put16(pkt + 2, (uint16_t)(h->seq + rw->seq_offset));
    bytes_put32(pkt + 4, h->timestamp + rw->ts_offset);
    bytes_put32(pkt + 8, rw->out_ssrc);
    return true;
}

void rtp_rewriter_resync(struct rtp_rewriter *rw)
{
    rw->resync = rw->started;
}

bool rtp_rewriter_map_seq_back(const struct rtp_rewriter *rw, uint16_t out_seq, uint16_t *in_seq)
{
    if (!rw->started)
        return false;
    /* Sent from this source means: not newer than the newest, not older than the first. */
    if ((uint16_t)(rw->max_out_seq - out_seq) > rw->span)
        return false;
    *in_seq = (uint16_t)(out_seq - rw->seq_offset);
    return true;
}

/* ---- Receive statistics (RFC 3550 A.1, A.3, A.8) ---------------------------------------- */

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define SEQ_MOD 0x10000u

void rtp_stats_init(struct rtp_recv_stats *st)
{
    memset(st, 0, sizeof(*st));
}

/* A.1 init_seq(). */
static void stats_restart(struct rtp_recv_stats *st, uint16_t seq)
{
    st->base_seq = seq;
    st->max_seq = seq;
    st->bad_seq = SEQ_MOD + 1; /* so seq == bad_seq is false */
    st->cycles = 0;
    st->received = 0;
    st->received_prior = 0;
    st->expected_prior = 0;
}

/* A.1 update_seq() without probation. Returns false for a packet it sets aside. */
static bool stats_update_seq(struct rtp_recv_stats *st, uint16_t seq)
{
    uint16_t udelta = (uint16_t)(seq - st->max_seq);
    if (udelta < MAX_DROPOUT) {
        if (seq < st->max_seq)
            st->cycles += SEQ_MOD; /* in order with a permissible gap, and it wrapped */
        st->max_seq = seq;
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
        /* A very large jump: believe it only when the next packet follows it, which is how a
         * sender that restarted looks, as opposed to a stray packet. */
        if (seq != st->bad_seq) {
            st->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
            return false;
        }
        stats_restart(st, seq);
    }
    /* Otherwise a duplicate or reordered packet: counted, no change to max_seq. */
    st->received++;
    return true;
}

/* A.8: J += (|D| - J) / 16, kept scaled by 16 in integers. */
static void stats_update_jitter(struct rtp_recv_stats *st, uint32_t rtp_ts, uint32_t arrival,
                                bool first)
{
    uint32_t transit = arrival - rtp_ts;
    if (!first) {
        int32_t d = (int32_t)(transit - st->transit);
        uint32_t ad = d < 0 ? (uint32_t)0 - (uint32_t)d : (uint32_t)d;
        st->jitter = st->jitter + ad - ((st->jitter + 8) >> 4);
    }
    st->transit = transit;
}

bool rtp_stats_update(struct rtp_recv_stats *st, const struct rtp_header *h, uint32_t arrival)
{
    bool first = !st->started || st->ssrc != h->ssrc;
    if (first) {
        rtp_stats_init(st);
        st->started = true;
        st->ssrc = h->ssrc;
        stats_restart(st, h->seq);
    }
    st->packets++;
    st->bytes += h->header_len + h->payload_len + h->padding_len;
    st->payload_bytes += h->payload_len;
    if (first) {
        st->received = 1;
    } else if (!stats_update_seq(st, h->seq)) {
        return false;
    }
    stats_update_jitter(st, h->timestamp, arrival, first);
    return true;
}

void rtp_stats_report(struct rtp_recv_stats *st, struct rtp_loss_report *out)
{
    memset(out, 0, sizeof(*out));
    if (!st->started)
        return;
    uint32_t ext_max = st->cycles + st->max_seq;
    uint32_t expected = ext_max - st->base_seq + 1;
    /* A.3: the difference may be negative when duplicates arrive; clamp to 24-bit signed. */
    int64_t lost = (int64_t)expected - (int64_t)st->received;
    if (lost > 0x7FFFFF)
        lost = 0x7FFFFF;
    if (lost < -0x800000)
        lost = -0x800000;

    uint32_t expected_interval = expected - st->expected_prior;
    uint32_t received_interval = st->received - st->received_prior;
    st->expected_prior = expected;
    st->received_prior = st->received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    uint8_t fraction = 0;
    if (expected_interval != 0 && lost_interval > 0)
        fraction = (uint8_t)((lost_interval << 8) / expected_interval);

    out->ext_max_seq = ext_max;
    out->expected = expected;
    out->cumulative_lost = (int32_t)lost;
    out->fraction_lost = fraction;
    out->jitter = st->jitter >> 4;
}
