/* The hold media (gateway/holdmedia.c, holdmedia_slate.c, holdmedia_player.c): what the encoders
 * made decodes with the reference decoders, the loop has its key frames where a browser needs
 * them, the slate shows something, the chime is soft; and the player's packets are paced and
 * numbered without a gap. */
#include <criterion/criterion.h>

#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "balie/bytes.h"
#include "balie/holdmedia.h"
#include "balie/relay.h"
#include "balie/rtp.h"

static struct holdmedia *hm;

static void setup(void)
{
    cr_assert_eq(holdmedia_create(&hm), 0);
}

static void teardown(void)
{
    holdmedia_free(hm);
    hm = NULL;
}

TestSuite(holdmedia, .init = setup, .fini = teardown);

/* -20 dBFS of a 16-bit full scale. */
#define PEAK_20DBFS 3277

Test(holdmedia, chime_is_soft_and_loops_without_a_click)
{
    int peak = 0;
    uint32_t loop = HOLDMEDIA_AUDIO_FRAMES * HOLDMEDIA_AUDIO_FRAME_SAMPLES;
    for (uint32_t n = 0; n < loop; n++) {
        int v = abs(holdmedia_chime_sample(n));
        if (v > peak)
            peak = v;
    }
    cr_assert_leq(peak, PEAK_20DBFS, "peak %d above -20 dBFS", peak);
    cr_assert_geq(peak, PEAK_20DBFS / 2, "peak %d: the chime should be audible", peak);
    /* The loop joins silence to silence: its ends are (nearly) zero. */
    cr_assert_leq(abs(holdmedia_chime_sample(0)), 2);
    cr_assert_leq(abs(holdmedia_chime_sample(loop - 1)), 2);
    cr_assert_eq(holdmedia_chime_sample(loop), holdmedia_chime_sample(0));
}

Test(holdmedia, every_opus_frame_decodes_to_20_ms_of_soft_sound)
{
    int err = 0;
    OpusDecoder *dec = opus_decoder_create(48000, 2, &err);
    cr_assert_eq(err, OPUS_OK);
    int peak = 0;
    /* Twice round the loop, as a browser hears it. */
    for (unsigned i = 0; i < 2 * HOLDMEDIA_AUDIO_FRAMES; i++) {
        const struct holdmedia_frame *f = &hm->audio[i % HOLDMEDIA_AUDIO_FRAMES];
        cr_assert(f->len > 0 && f->len <= 1275);
        cr_assert_eq(opus_packet_get_nb_channels(f->data), 1, "mono: our offer has no stereo=1");
        opus_int16 pcm[2 * 5760];
        int n = opus_decode(dec, f->data, (opus_int32)f->len, pcm, 5760, 0);
        cr_assert_eq(n, (int)HOLDMEDIA_AUDIO_FRAME_SAMPLES, "frame %u: %d samples", i, n);
        for (int s = 0; s < 2 * n; s++)
            if (abs(pcm[s]) > peak)
                peak = abs(pcm[s]);
    }
    opus_decoder_destroy(dec);
    /* The codec may overshoot a little; it stays well under -17 dBFS and is not silence. */
    cr_assert_lt(peak, PEAK_20DBFS * 14 / 10, "decoded peak %d", peak);
    cr_assert_gt(peak, PEAK_20DBFS / 3, "decoded peak %d", peak);
}

/* RFC 6386 §9.1: a key frame's header has P = 0 and the start code 9d 01 2a, then the size. */
Test(holdmedia, the_video_loop_starts_with_a_key_frame_and_has_one_every_interval)
{
    for (unsigned i = 0; i < HOLDMEDIA_VIDEO_FRAMES; i++) {
        const struct holdmedia_frame *f = &hm->video[i];
        bool want = i % HOLDMEDIA_KEYFRAME_INTERVAL == 0;
        cr_assert_eq(f->keyframe, want, "frame %u", i);
        cr_assert_geq(f->len, 3);
        cr_assert_eq((f->data[0] & 1) == 0, want, "frame %u: the P bit", i);
        if (want) {
            cr_assert_geq(f->len, 10);
            cr_assert(f->data[3] == 0x9d && f->data[4] == 0x01 && f->data[5] == 0x2a);
            cr_assert_eq((f->data[6] | (f->data[7] & 0x3F) << 8), HOLDMEDIA_WIDTH);
            cr_assert_eq((f->data[8] | (f->data[9] & 0x3F) << 8), HOLDMEDIA_HEIGHT);
        }
    }
    /* 2 s of loop at most between key frames (a browser that joins mid-loop waits that long). */
    cr_assert_leq(HOLDMEDIA_KEYFRAME_INTERVAL * 1000 / HOLDMEDIA_VIDEO_FPS, 2000);
}

/* The share of luma samples in rows [top, bottom) brighter than `level`, in per mille. */
static unsigned bright_permille(const vpx_image_t *img, int top, int bottom, int level)
{
    unsigned bright = 0, total = 0;
    for (int y = top; y < bottom; y++) {
        const uint8_t *row = img->planes[0] + (size_t)y * (size_t)img->stride[0];
        for (unsigned x = 0; x < img->d_w; x++, total++)
            bright += row[x] > level;
    }
    return total ? bright * 1000 / total : 0;
}

Test(holdmedia, every_vp8_frame_decodes_and_the_slate_shows_text_and_moving_dots)
{
    vpx_codec_ctx_t dec;
    cr_assert_eq(vpx_codec_dec_init(&dec, vpx_codec_vp8_dx(), NULL, 0), VPX_CODEC_OK);
    unsigned text_band = 0, dots_lit[2] = {0, 0}, background = 0;
    for (unsigned i = 0; i < 2 * HOLDMEDIA_VIDEO_FRAMES; i++) {
        const struct holdmedia_frame *f = &hm->video[i % HOLDMEDIA_VIDEO_FRAMES];
        cr_assert_eq(vpx_codec_decode(&dec, f->data, f->len, NULL, 0), VPX_CODEC_OK, "frame %u: %s",
                     i, vpx_codec_error(&dec));
        vpx_codec_iter_t it = NULL;
        vpx_image_t *img = vpx_codec_get_frame(&dec, &it);
        cr_assert_not_null(img, "frame %u gave no picture", i);
        cr_assert_eq(img->d_w, HOLDMEDIA_WIDTH);
        cr_assert_eq(img->d_h, HOLDMEDIA_HEIGHT);
        if (i == 0) {
            /* The text: white letters in the band of the two lines; none at the top. */
            text_band =
                bright_permille(img, HOLDMEDIA_HEIGHT * 33 / 100, HOLDMEDIA_HEIGHT * 55 / 100, 180);
            background = bright_permille(img, 0, HOLDMEDIA_HEIGHT / 5, 180);
        }
        /* The dots: the left one is lit in the first third of the loop, not in the last. */
        if (i == 1 || i == HOLDMEDIA_VIDEO_FRAMES - 1) {
            int cy = HOLDMEDIA_HEIGHT * 64 / 100 + 7, cx = HOLDMEDIA_WIDTH / 2 - 32;
            dots_lit[i == 1 ? 0 : 1] =
                img->planes[0][(size_t)cy * (size_t)img->stride[0] + (size_t)cx];
        }
    }
    vpx_codec_destroy(&dec);
    cr_assert_gt(text_band, 20, "text band: %u per mille bright", text_band);
    cr_assert_lt(text_band, 400, "text band: %u per mille bright (a blank white slate?)",
                 text_band);
    cr_assert_eq(background, 0, "the background is calm and dark");
    cr_assert_gt(dots_lit[0], dots_lit[1] + 60, "left dot: lit %u, unlit %u", dots_lit[0],
                 dots_lit[1]);
}

/* ---- The player --------------------------------------------------------------------------- */

#define T0 5000000000ull

static int poll(struct holdmedia_player *p, enum holdmedia_kind kind, uint64_t now, uint8_t *buf,
                struct rtp_header *h)
{
    int n = holdmedia_player_poll(p, kind, now, buf, HOLDMEDIA_PACKET_MAX);
    if (n > 0)
        cr_assert_eq(rtp_parse(buf, (size_t)n, h), 0);
    return n;
}

Test(holdmedia, player_paces_audio_every_20_ms_with_consecutive_numbers)
{
    struct holdmedia_player p;
    holdmedia_player_init(&p, hm, 0x1111, 0x2222, 77);
    uint8_t buf[HOLDMEDIA_PACKET_MAX];
    struct rtp_header h;
    cr_assert_eq(poll(&p, HOLDMEDIA_AUDIO, T0, buf, &h), 0, "stopped: nothing");
    cr_assert_eq(holdmedia_player_next_us(&p), UINT64_MAX);
    holdmedia_player_start(&p, HOLDMEDIA_AUDIO, T0);
    uint16_t seq = 0;
    uint32_t ts = 0;
    for (unsigned i = 0; i < 3 * HOLDMEDIA_AUDIO_FRAMES; i++) {
        uint64_t now = T0 + (uint64_t)i * HOLDMEDIA_AUDIO_FRAME_US;
        cr_assert_eq(holdmedia_player_next_us(&p), now);
        cr_assert_gt(poll(&p, HOLDMEDIA_AUDIO, now, buf, &h), 12);
        cr_assert_eq(poll(&p, HOLDMEDIA_AUDIO, now, buf, &h), 0, "one packet per 20 ms");
        cr_assert_eq(h.ssrc, 0x1111);
        cr_assert_eq(h.payload_type, HOLDMEDIA_PT_OPUS);
        cr_assert_eq(h.payload_len, hm->audio[i % HOLDMEDIA_AUDIO_FRAMES].len);
        if (i > 0) {
            cr_assert_eq(h.seq, (uint16_t)(seq + 1));
            cr_assert_eq(h.timestamp, ts + HOLDMEDIA_AUDIO_FRAME_SAMPLES);
        }
        seq = h.seq;
        ts = h.timestamp;
    }
    /* Stopped and started again: the numbers go on, the loop starts over. */
    holdmedia_player_stop(&p, HOLDMEDIA_AUDIO);
    cr_assert_eq(poll(&p, HOLDMEDIA_AUDIO, T0 + 99 * 1000000ull, buf, &h), 0);
    holdmedia_player_start(&p, HOLDMEDIA_AUDIO, T0 + 100 * 1000000ull);
    cr_assert_gt(poll(&p, HOLDMEDIA_AUDIO, T0 + 100 * 1000000ull, buf, &h), 0);
    cr_assert_eq(h.seq, (uint16_t)(seq + 1));
    cr_assert(h.timestamp - ts > 0 && h.timestamp - ts < 0x80000000u);
    cr_assert_eq(h.payload_len, hm->audio[0].len);
}

Test(holdmedia, player_fragments_video_frames_with_descriptor_and_marker)
{
    struct holdmedia_player p;
    holdmedia_player_init(&p, hm, 0x1111, 0x2222, 0x12345678);
    holdmedia_player_start(&p, HOLDMEDIA_VIDEO, T0);
    uint8_t buf[HOLDMEDIA_PACKET_MAX];
    struct rtp_header h;
    uint16_t seq = 0, picture = 0;
    uint32_t ts = 0;
    bool first = true;
    for (unsigned f = 0; f < 2 * HOLDMEDIA_VIDEO_FRAMES; f++) {
        uint64_t now = T0 + (uint64_t)f * (1000000u / HOLDMEDIA_VIDEO_FPS);
        const struct holdmedia_frame *frame = &hm->video[f % HOLDMEDIA_VIDEO_FRAMES];
        size_t got = 0;
        unsigned packets = 0;
        int n;
        while ((n = poll(&p, HOLDMEDIA_VIDEO, now, buf, &h)) > 0) {
            cr_assert_eq(h.ssrc, 0x2222);
            cr_assert_eq(h.payload_type, HOLDMEDIA_PT_VP8);
            cr_assert_leq((size_t)n, HOLDMEDIA_PACKET_MAX);
            if (!first)
                cr_assert_eq(h.seq, (uint16_t)(seq + 1));
            const uint8_t *d = h.payload;
            /* RFC 7741 §4.2: X, S only on the first packet, I with a 15-bit PictureID. */
            cr_assert_eq(d[0] & 0x80, 0x80);
            cr_assert_eq((d[0] & 0x10) != 0, packets == 0);
            cr_assert_eq(d[0] & 0x07, 0, "partition 0");
            cr_assert_eq(d[1], 0x80);
            uint16_t pid = (uint16_t)(((d[2] & 0x7F) << 8) | d[3]);
            cr_assert_eq(d[2] & 0x80, 0x80);
            if (packets == 0) {
                cr_assert_eq(relay_vp8_is_keyframe(d, h.payload_len), frame->keyframe);
                if (!first) {
                    cr_assert_eq(pid, (uint16_t)((picture + 1) & 0x7FFF));
                    cr_assert_eq(h.timestamp, ts + 90000u / HOLDMEDIA_VIDEO_FPS);
                }
                picture = pid;
                ts = h.timestamp;
            } else {
                cr_assert_eq(pid, picture, "one PictureID per frame");
                cr_assert_eq(h.timestamp, ts, "one timestamp per frame");
            }
            cr_assert_eq(memcmp(d + HOLDMEDIA_VP8_DESCRIPTOR, frame->data + got,
                                h.payload_len - HOLDMEDIA_VP8_DESCRIPTOR),
                         0);
            got += h.payload_len - HOLDMEDIA_VP8_DESCRIPTOR;
            cr_assert_eq(h.marker, got == frame->len, "M on the frame's last packet only");
            seq = h.seq;
            first = false;
            packets++;
        }
        cr_assert_eq(got, frame->len, "frame %u complete", f);
        if (frame->len > HOLDMEDIA_VP8_FRAGMENT)
            cr_assert_gt(packets, 1);
    }
}

Test(holdmedia, a_stalled_player_skips_ahead_instead_of_bursting)
{
    struct holdmedia_player p;
    holdmedia_player_init(&p, hm, 1, 2, 3);
    holdmedia_player_start(&p, HOLDMEDIA_AUDIO, T0);
    uint8_t buf[HOLDMEDIA_PACKET_MAX];
    struct rtp_header h;
    cr_assert_gt(poll(&p, HOLDMEDIA_AUDIO, T0, buf, &h), 0);
    uint32_t ts = h.timestamp;
    /* A second late: one packet now, its timestamp a second on; then the next at its time. */
    uint64_t late = T0 + 1000000u + HOLDMEDIA_AUDIO_FRAME_US;
    cr_assert_gt(poll(&p, HOLDMEDIA_AUDIO, late, buf, &h), 0);
    cr_assert_eq(h.timestamp - ts, 48000u + HOLDMEDIA_AUDIO_FRAME_SAMPLES);
    cr_assert_eq(poll(&p, HOLDMEDIA_AUDIO, late, buf, &h), 0, "no burst");
    cr_assert_eq(holdmedia_player_next_us(&p), late + HOLDMEDIA_AUDIO_FRAME_US);
    cr_assert_eq(holdmedia_player_poll(&p, HOLDMEDIA_AUDIO, late + 1000000u, buf, 100), -1,
                 "a buffer too small is refused");
}
