/* The hold media player: the loops of struct holdmedia as RTP packets, due in real time. */
#include "balie/holdmedia.h"

#include <string.h>

#include "balie/bytes.h"

#define VIDEO_FRAME_US (1000000u / HOLDMEDIA_VIDEO_FPS)
#define VIDEO_TS_STEP (90000u / HOLDMEDIA_VIDEO_FPS)
/* Further behind than this, the player jumps to now instead of sending what it missed. */
#define MAX_BEHIND_US 200000u

static uint64_t period_us(enum holdmedia_kind kind)
{
    return kind == HOLDMEDIA_AUDIO ? HOLDMEDIA_AUDIO_FRAME_US : VIDEO_FRAME_US;
}

static uint32_t ts_step(enum holdmedia_kind kind)
{
    return kind == HOLDMEDIA_AUDIO ? HOLDMEDIA_AUDIO_FRAME_SAMPLES : VIDEO_TS_STEP;
}

static uint32_t loop_frames(enum holdmedia_kind kind)
{
    return kind == HOLDMEDIA_AUDIO ? HOLDMEDIA_AUDIO_FRAMES : HOLDMEDIA_VIDEO_FRAMES;
}

void holdmedia_player_init(struct holdmedia_player *p, const struct holdmedia *media,
                           uint32_t audio_ssrc, uint32_t video_ssrc, uint32_t seed)
{
    *p = (struct holdmedia_player){.media = media};
    p->ssrc[HOLDMEDIA_AUDIO] = audio_ssrc;
    p->ssrc[HOLDMEDIA_VIDEO] = video_ssrc;
    for (int k = 0; k < HOLDMEDIA_KINDS; k++) {
        p->seq[k] = (uint16_t)(seed >> (8 * k));
        p->ts[k] = seed * 2654435761u + (uint32_t)k;
    }
    p->picture_id = (uint16_t)(seed & 0x7FFF);
}

void holdmedia_player_start(struct holdmedia_player *p, enum holdmedia_kind kind, uint64_t now_us)
{
    if (!p->media || p->playing[kind])
        return;
    p->playing[kind] = true;
    p->index[kind] = 0;
    p->next_us[kind] = now_us;
    if (kind == HOLDMEDIA_VIDEO)
        p->sent = 0;
    /* The receiver's clock ran on while we were away: a fresh frame's worth at least. */
    p->ts[kind] += ts_step(kind);
}

void holdmedia_player_stop(struct holdmedia_player *p, enum holdmedia_kind kind)
{
    p->playing[kind] = false;
}

uint64_t holdmedia_player_next_us(const struct holdmedia_player *p)
{
    uint64_t next = UINT64_MAX;
    for (int k = 0; k < HOLDMEDIA_KINDS; k++)
        if (p->playing[k] && p->next_us[k] < next)
            next = p->next_us[k];
    return next;
}

/* Moves on to the next frame of the loop, one period later. */
static void advance(struct holdmedia_player *p, enum holdmedia_kind kind)
{
    p->index[kind] = (p->index[kind] + 1) % loop_frames(kind);
    p->next_us[kind] += period_us(kind);
    p->ts[kind] += ts_step(kind);
    if (kind == HOLDMEDIA_VIDEO) {
        p->sent = 0;
        p->picture_id = (uint16_t)((p->picture_id + 1) & 0x7FFF);
    }
}

/* A stalled caller: skip whole periods rather than burst them out. Video skips to the next
 * key frame only at the top of the loop, so a skip never breaks the reference chain: it keeps
 * its place and only its clock moves on. */
static void catch_up(struct holdmedia_player *p, enum holdmedia_kind kind, uint64_t now_us)
{
    if (now_us - p->next_us[kind] <= MAX_BEHIND_US || (kind == HOLDMEDIA_VIDEO && p->sent))
        return;
    uint64_t periods = (now_us - p->next_us[kind]) / period_us(kind);
    p->next_us[kind] += periods * period_us(kind);
    p->ts[kind] += (uint32_t)(periods * ts_step(kind));
    if (kind == HOLDMEDIA_AUDIO)
        p->index[kind] = (uint32_t)((p->index[kind] + periods) % loop_frames(kind));
}

static void put_header(struct holdmedia_player *p, enum holdmedia_kind kind, uint8_t *buf,
                       bool marker)
{
    buf[0] = 0x80; /* RFC 3550 §5.1: version 2, no padding, no extension, no CSRC */
    buf[1] = (uint8_t)((marker ? 0x80 : 0) |
                       (kind == HOLDMEDIA_AUDIO ? HOLDMEDIA_PT_OPUS : HOLDMEDIA_PT_VP8));
    bytes_put16(buf + 2, p->seq[kind]++);
    bytes_put32(buf + 4, p->ts[kind]);
    bytes_put32(buf + 8, p->ssrc[kind]);
}

static int poll_audio(struct holdmedia_player *p, uint8_t *buf)
{
    const struct holdmedia_frame *f = &p->media->audio[p->index[HOLDMEDIA_AUDIO]];
    /* RFC 7587 §4.1: one Opus packet is the whole payload; the marker bit is left clear (it
     * only marks the first packet after DTX silence). */
    put_header(p, HOLDMEDIA_AUDIO, buf, false);
    memcpy(buf + 12, f->data, f->len);
    advance(p, HOLDMEDIA_AUDIO);
    return 12 + (int)f->len;
}

static int poll_video(struct holdmedia_player *p, uint8_t *buf)
{
    const struct holdmedia_frame *f = &p->media->video[p->index[HOLDMEDIA_VIDEO]];
    uint32_t left = f->len - p->sent;
    uint32_t n = left > HOLDMEDIA_VP8_FRAGMENT ? HOLDMEDIA_VP8_FRAGMENT : left;
    bool last = n == left;
    put_header(p, HOLDMEDIA_VIDEO, buf, last); /* RFC 7741 §4.1: M on a frame's last packet */
    uint8_t *d = buf + 12;
    /* RFC 7741 §4.2: X = 1 (an extension byte), S = 1 at the start of the frame (partition 0),
     * N = 0 (every frame is a reference); I = 1 with a 15-bit PictureID (M = 1). */
    d[0] = (uint8_t)(0x80 | (p->sent == 0 ? 0x10 : 0));
    d[1] = 0x80;
    d[2] = (uint8_t)(0x80 | (p->picture_id >> 8));
    d[3] = (uint8_t)(p->picture_id & 0xFF);
    memcpy(d + HOLDMEDIA_VP8_DESCRIPTOR, f->data + p->sent, n);
    p->sent += n;
    if (last)
        advance(p, HOLDMEDIA_VIDEO);
    return 12 + (int)HOLDMEDIA_VP8_DESCRIPTOR + (int)n;
}

int holdmedia_player_poll(struct holdmedia_player *p, enum holdmedia_kind kind, uint64_t now_us,
                          uint8_t *buf, size_t cap)
{
    if ((unsigned)kind >= HOLDMEDIA_KINDS || !p->playing[kind] || now_us < p->next_us[kind])
        return 0;
    if (cap < HOLDMEDIA_PACKET_MAX)
        return -1;
    catch_up(p, kind, now_us);
    return kind == HOLDMEDIA_AUDIO ? poll_audio(p, buf) : poll_video(p, buf);
}
