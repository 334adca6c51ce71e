#include "balie/relay.h"

#include <errno.h>
#include <string.h>

#include "balie/rtcp.h"
#include "balie/sdp.h"
#include "balie/srtp_session.h"
#include "relay_internal.h"

#define SR_LEN 28 /* RFC 3550 §6.4.1: header, SSRC and sender info, no report blocks */
#define CNAME "balie"

static uint32_t clock_rate(enum leg_kind kind)
{
    return kind == LEG_AUDIO ? 48000u : 90000u;
}

/* The SSRCs we send to a browser, as offered to it. */
static uint32_t our_ssrc(const struct leg *l, enum leg_kind kind)
{
    return kind == LEG_AUDIO ? l->params.audio_ssrc : l->params.video_ssrc;
}

/* The sender SSRC of RTCP we originate towards a browser: one it knows as ours. */
static uint32_t rtcp_ssrc(const struct leg *l)
{
    return l->params.video_ssrc ? l->params.video_ssrc : l->params.audio_ssrc;
}

int relay_bridge(struct leg *a, struct leg *b, const struct leg_io *io, uint64_t now_us)
{
    if (!a || !b || a == b)
        return -EINVAL;
    if (a->peer == b && b->peer == a)
        return 0;
    if (a->peer || b->peer)
        return -EBUSY;
    a->peer = b;
    b->peer = a;
    /* Both were up before the bridge: each one's first picture must come now. */
    if (leg_media_ready(a) && leg_media_ready(b)) {
        relay_request_keyframe(a, io, now_us, false);
        relay_request_keyframe(b, io, now_us, false);
    }
    return 0;
}

void relay_unbridge(struct leg *l)
{
    if (l->peer)
        l->peer->peer = NULL;
    l->peer = NULL;
}

void relay_leg_ready(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    if (l->peer && leg_media_ready(l->peer))
        relay_request_keyframe(l->peer, io, now_us, false);
}

int relay_request_keyframe(struct leg *l, const struct leg_io *io, uint64_t now_us, bool repeat)
{
    uint32_t media = l->in_ssrc[LEG_VIDEO];
    if (media == 0 || !leg_media_ready(l))
        return -ENOENT; /* it sends no video (or we have not seen it yet) */
    uint8_t buf[64 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    int n;
    unsigned fb = l->answer.video_rtcp_fb;
    if (fb & SDP_RTCP_FB_NACK_PLI)
        n = rtcp_build_pli(buf, sizeof(buf), rtcp_ssrc(l), media);
    else if (fb & SDP_RTCP_FB_CCM_FIR)
        n = rtcp_build_fir(buf, sizeof(buf), rtcp_ssrc(l), media, ++l->fir_seq);
    else
        return -ENOTSUP;
    if (n < 0)
        return -EINVAL;
    int rc = leg_send_rtcp(l, io, buf, (size_t)n, sizeof(buf));
    if (rc != 0)
        return rc;
    l->keyframe_requests++;
    l->keyframe_seen = false;
    /* One repeat a second later, in case the request or the keyframe was lost. */
    l->keyframe_repeat_us = repeat ? 0 : now_us + LEG_KEYFRAME_REPEAT_US;
    return 0;
}

/* RFC 7741 §4.2 (payload descriptor) and §4.3 (the P bit of the VP8 payload header, RFC 6386
 * §9.1): a key frame starts in a packet with S = 1 and partition index 0. */
bool relay_vp8_is_keyframe(const uint8_t *p, size_t len)
{
    if (len < 1 || !(p[0] & 0x10) || (p[0] & 0x07) != 0)
        return false;
    size_t off = 1;
    if (p[0] & 0x80) { /* X: an extension byte follows */
        if (len < 2)
            return false;
        uint8_t x = p[1];
        off = 2;
        if (x & 0x80) { /* I: PictureID, 15 bits when its M bit is set */
            if (len <= off)
                return false;
            off += (p[off] & 0x80) ? 2 : 1;
        }
        if (x & 0x40) /* L: TL0PICIDX */
            off++;
        if (x & 0x30) /* T or K: TID/Y/KEYIDX */
            off++;
    }
    return len > off && (p[off] & 0x01) == 0;
}

/* RFC 7741 §4.2: the 15-bit PictureID of a payload descriptor carries on across a change of
 * source like the sequence number does, so the browser's frame bookkeeping (it orders frames by
 * PictureID) sees one stream, not an old one starting over. Descriptors with a 7-bit PictureID
 * or none pass unchanged. `switching`: this packet starts a new source. */
static void rewrite_picture_id(struct leg *to, uint32_t src, bool switching, uint8_t *p, size_t len)
{
    if (len < 4 || !(p[0] & 0x80) || !(p[1] & 0x80) || !(p[2] & 0x80))
        return;
    uint16_t in = (uint16_t)(((p[2] & 0x7F) << 8) | p[3]);
    if (!to->picture_started || switching || src != to->picture_src) {
        uint16_t first = to->picture_started ? (uint16_t)((to->picture_max + 1) & 0x7FFF) : in;
        to->picture_offset = (uint16_t)((first - in) & 0x7FFF);
        to->picture_src = src;
        to->picture_max = first;
        to->picture_started = true;
    }
    uint16_t out = (uint16_t)((in + to->picture_offset) & 0x7FFF);
    if (((out - to->picture_max) & 0x7FFF) < 0x4000) /* newer, within half the space */
        to->picture_max = out;
    p[2] = (uint8_t)(0x80 | (out >> 8));
    p[3] = (uint8_t)(out & 0xFF);
}

int relay_forward(struct leg *to, const struct leg_io *io, uint64_t now_us, uint8_t *buf,
                  size_t len, size_t cap, const struct rtp_header *h, enum leg_kind kind)
{
    socklen_t to_len = 0;
    const struct sockaddr *dest = leg_media_address(to, &to_len);
    if (!leg_media_ready(to) || !dest || our_ssrc(to, kind) == 0)
        return -ENOTCONN;
    struct rtp_rewriter *rw = &to->out[kind];
    bool switching = !rw->started || rw->resync || rw->in_ssrc != h->ssrc;
    if (!rtp_rewrite(rw, buf, h, now_us, clock_rate(kind)))
        return -ESTALE;
    if (kind == LEG_VIDEO && h->payload_type == SDP_PT_VP8)
        rewrite_picture_id(to, h->ssrc, switching, buf + (h->payload - buf), h->payload_len);
    size_t out_len = len;
    int rc = srtp_session_protect_rtp(&to->srtp, buf, &out_len, cap);
    if (rc != 0)
        return rc;
    io->send(io->ctx, buf, out_len, dest, to_len);
    to->out_packets[kind]++;
    to->out_bytes[kind] += len;
    to->out_payload_bytes[kind] += h->payload_len;
    return 0;
}

void relay_rtp(struct leg *from, const struct leg_io *io, uint64_t now_us, uint8_t *buf, size_t len,
               size_t cap, const struct rtp_header *h, enum leg_kind kind)
{
    struct leg *to = from->peer;
    if (!to) {
        from->counters.no_peer++;
        return;
    }
    /* On hold, neither browser hears or sees the other (relay_hold). */
    if (from->held || to->held) {
        from->held_discarded++;
        return;
    }
    /* Look before protecting: the payload is ciphertext afterwards. */
    bool keyframe = kind == LEG_VIDEO && (to->keyframe_wait_us || from->keyframe_repeat_us) &&
                    h->payload_type == SDP_PT_VP8 &&
                    relay_vp8_is_keyframe(h->payload, h->payload_len);
    if (kind == LEG_VIDEO && to->keyframe_wait_us != 0) {
        if (!keyframe) {
            from->held_discarded++; /* a delta frame would be decoded on the wrong picture */
            return;
        }
        relay_hold_keyframe_came(to);
    }
    if (keyframe && from->keyframe_repeat_us != 0)
        from->keyframe_seen = true;
    int rc = relay_forward(to, io, now_us, buf, len, cap, h, kind);
    if (rc == -ENOTCONN)
        from->counters.no_peer++;
    else if (rc == -ESTALE)
        from->counters.rewrite_dropped++;
    /* A NACKed packet the browser sends again has the sequence number it had: protecting it
     * twice is refused (RFC 7714 nonce reuse; srtp_session.h). Retransmission needs RTX (RFC
     * 4588), which we do not offer yet, so it is dropped and counted. */
    else if (rc == -EALREADY)
        from->counters.retransmit_dropped++;
    else if (rc != 0)
        from->counters.protect_failed++;
}

/* ---- RTCP --------------------------------------------------------------------------------- */

/* RFC 3550 §6.4.1: a block about one of our streams to `l`, whose LSR is an SR we sent, gives
 * the round trip: now − when we sent that SR − the browser's delay since it got it. */
static void note_rtt(struct leg *l, const struct rtcp_info *info, uint64_t now_us)
{
    for (size_t i = 0; i < info->block_count; i++) {
        const struct rtcp_report_block *b = &info->blocks[i];
        if (b->lsr == 0 || (b->ssrc != l->params.audio_ssrc && b->ssrc != l->params.video_ssrc))
            continue;
        for (unsigned j = 0; j < LEG_SR_HISTORY; j++) {
            const struct leg_sr_sent *s = &l->sr_sent[j];
            if (s->sent_us == 0 || s->ntp_mid != b->lsr)
                continue;
            uint64_t delay_us = ((uint64_t)b->dlsr * 1000000u) >> 16;
            uint64_t elapsed = now_us - s->sent_us;
            if (elapsed > delay_us)
                l->rtt_ms = (uint32_t)((elapsed - delay_us) / 1000u);
            break;
        }
    }
}

/* The kind whose stream `ssrc` is, among what `l`'s browser sends; -1 when neither. */
static int kind_of_in(const struct leg *l, uint32_t ssrc)
{
    for (int k = 0; k < LEG_KINDS; k++)
        if (ssrc != 0 && l->in_ssrc[k] == ssrc)
            return k;
    return -1;
}

/* An SR from `from`'s browser, restated for `to` with our SSRC and the rewritten timestamp
 * base, so the other browser can keep lip sync (RFC 3550 §6.4.1: NTP and RTP timestamps of one
 * instant) and, through the LSR in its reports, gives us the round trip. Returns SR_LEN, or 0
 * when the SR is not about a stream we forward to `to` from this source. */
static int restate_sr(struct leg *to, const struct rtcp_info *info, int kind, uint8_t *out,
                      uint64_t now_us)
{
    const struct rtp_rewriter *rw = &to->out[kind];
    if (!rw->started || rw->in_ssrc != info->sr_ssrc || our_ssrc(to, kind) == 0)
        return 0;
    struct rtcp_sender_info si = info->sr_info;
    si.rtp_ts += rw->ts_offset;
    si.packet_count = (uint32_t)to->out_packets[kind];
    si.octet_count = (uint32_t)to->out_payload_bytes[kind];
    int n = rtcp_build_sr(out, SR_LEN, our_ssrc(to, kind), &si, NULL, 0);
    if (n != SR_LEN)
        return 0;
    struct leg_sr_sent *slot = &to->sr_sent[to->sr_next];
    slot->ntp_mid = rtcp_ntp_mid(si.ntp);
    slot->sent_us = now_us;
    to->sr_next = (to->sr_next + 1) % LEG_SR_HISTORY;
    return SR_LEN;
}

void relay_rtcp(struct leg *from, const struct leg_io *io, uint64_t now_us, const uint8_t *buf,
                size_t len)
{
    if (len > RELAY_RTCP_MAX) {
        from->counters.rtcp_malformed++;
        return;
    }
    struct leg *to = from->peer;
    /* Feedback `from` sends is about what it receives from us: our SSRCs towards it, which
     * carry `to`'s media. Map them to `to`'s own SSRCs (RFC 4585 §6.1 media source). */
    struct rtcp_ssrc_map map[LEG_KINDS];
    size_t n_map = 0;
    for (int k = 0; to && k < LEG_KINDS; k++) {
        if (our_ssrc(from, (enum leg_kind)k) != 0 && to->in_ssrc[k] != 0)
            map[n_map++] = (struct rtcp_ssrc_map){our_ssrc(from, (enum leg_kind)k), to->in_ssrc[k],
                                                  &from->out[k]};
    }
    uint8_t out[SR_LEN + RELAY_RTCP_MAX + 8 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    uint8_t *xl = out + SR_LEN;
    struct rtcp_info info;
    int n =
        rtcp_translate(buf, len, xl, RELAY_RTCP_MAX + 8, map, n_map, to ? rtcp_ssrc(to) : 0, &info);
    if (n < 0) {
        from->counters.rtcp_malformed++;
        return;
    }
    from->counters.rtcp_unmapped += info.dropped;
    note_rtt(from, &info, now_us);
    int sr_kind = info.have_sr ? kind_of_in(from, info.sr_ssrc) : -1;
    if (sr_kind >= 0) {
        from->in_sr_ntp_mid[sr_kind] = info.sr_ntp_mid;
        from->in_sr_arrival_us[sr_kind] = now_us;
    }
    if (!to || !leg_media_ready(to)) {
        if (n > 0)
            from->counters.no_peer++;
        return;
    }
    uint8_t *start = xl;
    size_t total = (size_t)n;
    if (sr_kind >= 0 && restate_sr(to, &info, sr_kind, out, now_us) == SR_LEN) {
        /* The SR opens the compound instead of translate's empty RR (RFC 3550 §6.1). */
        if (n > 8)
            memmove(out + SR_LEN, xl + 8, (size_t)n - 8);
        start = out;
        total = SR_LEN + (n > 8 ? (size_t)n - 8 : 0);
    }
    if (total == 0)
        return;
    if (leg_send_rtcp(to, io, start, total, sizeof(out) - (size_t)(start - out)) != 0)
        from->counters.no_peer++;
}

/* Our receiver report to `l`'s browser about what it sends us (RFC 3550 §6.4.2), with the
 * LSR/DLSR of its last SR so it can measure the round trip, and our CNAME (§6.1). */
static void send_report(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    struct rtcp_report_block blocks[LEG_KINDS];
    size_t n_blocks = 0;
    for (int k = 0; k < LEG_KINDS; k++) {
        if (!l->in_stats[k].started)
            continue;
        uint32_t dlsr = rtcp_dlsr(l->in_sr_arrival_us[k], now_us);
        rtcp_report_block_from_stats(&l->in_stats[k], l->in_sr_ntp_mid[k], dlsr,
                                     &blocks[n_blocks++]);
    }
    uint8_t buf[128 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    int n = rtcp_build_rr(buf, 128, rtcp_ssrc(l), blocks, n_blocks);
    if (n < 0)
        return;
    int m = rtcp_build_sdes_cname(buf + n, 128 - (size_t)n, rtcp_ssrc(l), CNAME, strlen(CNAME));
    if (m > 0)
        n += m;
    (void)leg_send_rtcp(l, io, buf, (size_t)n, sizeof(buf));
}

void relay_tick(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    if (!leg_media_ready(l))
        return;
    relay_hold_tick(l, io, now_us);
    if (l->keyframe_repeat_us != 0 && now_us >= l->keyframe_repeat_us) {
        l->keyframe_repeat_us = 0;
        if (!l->keyframe_seen)
            relay_request_keyframe(l, io, now_us, true);
    }
    if (now_us >= l->next_report_us) {
        send_report(l, io, now_us);
        l->next_report_us = now_us + LEG_REPORT_INTERVAL_US;
    }
}

uint64_t relay_next_timeout_us(const struct leg *l)
{
    uint64_t next = l->next_report_us;
    if (l->keyframe_repeat_us != 0 && l->keyframe_repeat_us < next)
        next = l->keyframe_repeat_us;
    uint64_t hold = relay_hold_next_us(l);
    return hold < next ? hold : next;
}
