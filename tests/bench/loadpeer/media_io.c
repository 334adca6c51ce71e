/* Sending the pre-encoded frames as RTP (RFC 3550; VP8 payload per RFC 7741) with the
 * measurement trailer, and measuring what arrives. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "balie/rtp.h"
#include "loadpeer.h"
#include "peer_internal.h"

#define AUDIO_PERIOD_NS 20000000ull
#define CATCH_UP_NS 200000000ull /* behind by more than this: skip, do not burst */

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put64(uint8_t *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *b)
{
    return (uint64_t)get32(b) << 32 | get32(b + 4);
}

#ifndef SOL_UDP
#define SOL_UDP 17 /* IPPROTO_UDP */
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h */
#endif

/* Whether the kernel took UDP_SEGMENT on this machine; cleared for good at the first refusal. */
static _Atomic bool gso_ok = true;

/* Sends the batch. A run of packets of one size (and a shorter last one) goes as one UDP GSO
 * message (UDP_SEGMENT): the kernel builds and routes it once and cuts it into the same
 * datagrams on the way out, so the wire and the server see exactly what separate sends would
 * give, and the load peer spends less of the CPU it shares with the server. */
static void flush_batch(struct lp_thread *t, struct lp_peer *p)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl[LP_BATCH];
    unsigned first[LP_BATCH], count[LP_BATCH], nm = 0;
    bool gso = atomic_load_explicit(&gso_ok, memory_order_relaxed);
    for (unsigned i = 0; i < t->nout; nm++) {
        size_t seg = t->iov[i].iov_len, total = seg;
        unsigned j = i + 1;
        while (gso && j < t->nout && t->iov[j].iov_len <= seg &&
               total + t->iov[j].iov_len < 65000) {
            bool shorter = t->iov[j].iov_len < seg;
            total += t->iov[j++].iov_len;
            if (shorter)
                break;
        }
        struct msghdr *h = &t->msgs[nm].msg_hdr;
        *h = (struct msghdr){.msg_iov = &t->iov[i], .msg_iovlen = j - i};
        if (j - i > 1) {
            h->msg_control = ctl[nm].buf;
            h->msg_controllen = sizeof(ctl[nm].buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t size = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &size, sizeof(size));
        }
        first[nm] = i;
        count[nm] = j - i;
        i = j;
    }
    unsigned done = 0;
    while (done < nm) {
        int n = sendmmsg(p->fd, t->msgs + done, nm - done, 0);
        if (n > 0) {
            done += (unsigned)n;
            continue;
        }
        if (count[done] > 1 && (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT)) {
            /* No GSO here: send this run and everything after it one datagram each. */
            atomic_store(&gso_ok, false);
            for (unsigned k = first[done]; k < t->nout; k++) {
                struct msghdr one = {.msg_iov = &t->iov[k], .msg_iovlen = 1};
                if (sendmsg(p->fd, &one, 0) < 0)
                    p->send_errors++;
            }
            break;
        }
        p->send_errors += count[done++]; /* this message is lost; try the rest */
    }
    t->nout = 0;
}

/* Builds one RTP packet in the batch: header, `pre` (the VP8 descriptor), the payload bytes,
 * the trailer; protects it. */
static void queue_packet(struct lp_thread *t, struct lp_peer *p, enum lp_kind kind, bool marker,
                         const uint8_t *pre, size_t pre_len, const uint8_t *data, size_t len)
{
    uint8_t *b = t->out[t->nout];
    bool video = kind == LP_VIDEO;
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | (video ? p->video_pt : p->audio_pt));
    uint16_t seq = video ? p->video_seq++ : p->audio_seq++;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    put32(b + 4, video ? p->video_ts : p->audio_ts);
    put32(b + 8, video ? p->video_ssrc : p->audio_ssrc);
    size_t off = 12;
    if (pre_len)
        memcpy(b + off, pre, pre_len);
    off += pre_len;
    memcpy(b + off, data, len);
    off += len;
    put32(b + off, LP_TRAILER_MAGIC);
    put32(b + off + 4, p->call->index);
    put32(b + off + 8, (uint32_t)kind | (uint32_t)p->role << 8);
    put32(b + off + 12, p->sent_seq[kind]++);
    put64(b + off + 16, lp_now_ns());
    off += LP_TRAILER_LEN;
    if (srtp_session_protect_rtp(&p->srtp, b, &off, sizeof(t->out[0])) != 0) {
        p->send_errors++;
        return;
    }
    t->iov[t->nout] = (struct iovec){.iov_base = b, .iov_len = off};
    p->sent_packets++;
    p->sent_bytes += off;
    if (++t->nout == LP_BATCH)
        flush_batch(t, p);
}

static void send_audio(struct lp_thread *t, struct lp_peer *p)
{
    const struct lp_media *m = &t->run->media;
    const struct lp_frame *f = &m->audio[p->audio_idx];
    p->audio_idx = (p->audio_idx + 1) % m->audio_count;
    queue_packet(t, p, LP_AUDIO, false, NULL, 0, f->data, f->len);
    p->audio_ts += 960;
}

/* RFC 7741 §4.2: X and S (first fragment), I with a 15-bit PictureID. Sends at most `budget`
 * packets of the current frame; a browser's pacer spreads a frame the same way instead of
 * bursting it, and a burst of every call's keyframe at once would only measure socket buffers. */
static void send_video_packets(struct lp_thread *t, struct lp_peer *p, unsigned budget)
{
    const struct lp_frame *f = p->frame;
    while (f && budget-- > 0) {
        size_t n = f->len - p->frame_off;
        if (n > LP_RTP_PAYLOAD_MAX)
            n = LP_RTP_PAYLOAD_MAX;
        uint16_t pid = p->frame_pid;
        uint8_t desc[4] = {(uint8_t)(0x80 | (p->frame_off == 0 ? 0x10 : 0)), 0x80,
                           (uint8_t)(0x80 | (pid >> 8)), (uint8_t)pid};
        bool last = p->frame_off + n == f->len;
        queue_packet(t, p, LP_VIDEO, last, desc, sizeof(desc), f->data + p->frame_off, n);
        p->frame_off += n;
        if (last) {
            f = p->frame = NULL;
            p->video_ts += 90000 / t->run->media.fps;
        }
    }
}

static void start_video_frame(struct lp_thread *t, struct lp_peer *p)
{
    if (p->frame) /* the pacer is a frame behind: the rest goes now */
        send_video_packets(t, p, UINT32_MAX);
    const struct lp_media *m = &t->run->media;
    p->frame = &m->video[p->video_idx];
    p->video_idx = (p->video_idx + 1) % m->video_count;
    p->frame_off = 0;
    p->frame_pid = p->picture_id++ & 0x7FFF;
}

/* Packets a millisecond: 2 × 1.1 kB a millisecond is about 18 Mbit/s, well above the video
 * rate (as a browser's pacer runs at a multiple of it) and yet no burst. Each tick of
 * --pace-ms milliseconds sends that many milliseconds' worth, as libwebrtc's pacer sends what
 * its budget allows every few milliseconds. */
#define PACE_PER_MS 2

void lp_peer_send_due(struct lp_thread *t, struct lp_peer *p, uint64_t now_ns)
{
    if (!atomic_load_explicit(&t->run->sending, memory_order_relaxed))
        return;
    uint64_t vperiod = 1000000000ull / t->run->media.fps;
    if (now_ns > p->next_audio_ns + CATCH_UP_NS)
        p->next_audio_ns = now_ns;
    if (now_ns > p->next_video_ns + CATCH_UP_NS)
        p->next_video_ns = now_ns;
    while (p->next_audio_ns <= now_ns) {
        send_audio(t, p);
        p->next_audio_ns += AUDIO_PERIOD_NS;
    }
    while (p->next_video_ns <= now_ns) {
        start_video_frame(t, p);
        p->next_video_ns += vperiod;
    }
    send_video_packets(t, p, PACE_PER_MS * t->run->opt.pace_ms);
    if (t->nout)
        flush_batch(t, p);
}

/* RTCP (RFC 4585 §6.3.1 PLI, RFC 5104 §4.3.1 FIR): a keyframe request restarts the replay at
 * the first frame, which is the keyframe. */
static void on_rtcp(struct lp_peer *p, uint8_t *buf, size_t len)
{
    if (srtp_session_unprotect_rtcp(&p->srtp, buf, &len) != 0) {
        p->srtp_errors++;
        return;
    }
    size_t off = 0;
    while (off + 4 <= len) {
        uint8_t fmt = buf[off] & 0x1F, pt = buf[off + 1];
        size_t plen = ((size_t)buf[off + 2] << 8 | buf[off + 3]) * 4 + 4;
        if ((pt == 206 && fmt == 1) || (pt == 206 && fmt == 4)) {
            p->video_idx = 0; /* the next frame started is the keyframe */
            p->plis++;
        }
        off += plen;
    }
}

/* Whether a VP8 packet starts a keyframe (RFC 7741 §4.3: S bit, partition 0, P bit clear). */
static bool vp8_starts_key(const uint8_t *pl, size_t len)
{
    if (len < 1 || !(pl[0] & 0x10) || (pl[0] & 0x07) != 0)
        return false;
    size_t off = 1;
    if (pl[0] & 0x80) {
        if (len < 2)
            return false;
        uint8_t x = pl[1];
        off = 2;
        if (x & 0x80)
            off += (off < len && (pl[off] & 0x80)) ? 2 : 1;
        if (x & 0x40)
            off++;
        if (x & 0x30)
            off++;
    }
    return off < len && (pl[off] & 0x01) == 0;
}

static void account(struct lp_thread *t, struct lp_peer *p, struct lp_rx *rx, uint32_t seq,
                    uint64_t sent_ns, uint64_t now_ns, size_t bytes)
{
    rx->packets++;
    rx->bytes += bytes;
    if (!rx->started) {
        rx->started = true;
        rx->first_seq = seq;
        rx->max_seq = seq;
    } else if ((int32_t)(seq - rx->max_seq) > 0) {
        rx->max_seq = seq;
    } else if ((int32_t)(seq - rx->first_seq) < 0) {
        rx->first_seq = seq;
    }
    int64_t transit = (int64_t)(now_ns - sent_ns);
    if (rx->packets > 1) {
        int64_t d = transit - rx->last_transit_ns;
        if (d < 0)
            d = -d;
        rx->jitter_ns += ((double)d - rx->jitter_ns) / 16.0;
    }
    rx->last_transit_ns = transit;
    if (atomic_load_explicit(&t->run->measuring, memory_order_relaxed))
        lp_hist_add(&t->hist, now_ns > sent_ns ? now_ns - sent_ns : 0);
    if (!p->first_media_ns)
        p->first_media_ns = now_ns;
}

void lp_peer_media_input(struct lp_thread *t, struct lp_peer *p, uint8_t *buf, size_t len,
                         uint64_t arrival_ns)
{
    if (rtp_is_rtcp(buf, len)) {
        on_rtcp(p, buf, len);
        return;
    }
    uint64_t now_ns = arrival_ns;
    if (srtp_session_unprotect_rtp(&p->srtp, buf, &len) != 0) {
        p->srtp_errors++;
        return;
    }
    struct rtp_header h;
    if (rtp_parse(buf, len, &h) != 0 || h.payload_len < LP_TRAILER_LEN) {
        p->foreign++;
        return;
    }
    const uint8_t *tr = h.payload + h.payload_len - LP_TRAILER_LEN;
    uint32_t kind = get32(tr + 8) & 0xFF;
    if (get32(tr) != LP_TRAILER_MAGIC || get32(tr + 4) != p->call->index || kind > LP_VIDEO) {
        p->foreign++;
        return;
    }
    account(t, p, &p->rx[kind], get32(tr + 12), get64(tr + 16), now_ns, len);
    if (kind == LP_VIDEO && !p->first_key_ns &&
        vp8_starts_key(h.payload, h.payload_len - LP_TRAILER_LEN))
        p->first_key_ns = now_ns;
}
