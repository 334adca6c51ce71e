/* Hold media encoded once at start (DESIGN.md §3: the only use of codecs on the server). The
 * frames are kept as RTP payloads; holdmedia_player.c packetizes them per held leg. */
#include "balie/holdmedia.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "balie/log.h"

/* RFC 7587 §4.2 / RFC 6716 §3.4: one Opus packet is at most 1275 bytes. */
#define OPUS_PACKET_MAX 1275
#define AUDIO_BITRATE 24000
/* Bits for the slate: enough that the text is sharp in the key frame; the delta frames of a
 * still picture cost next to nothing. */
#define VIDEO_BITRATE_KBPS 600

/* Grows the storage as frames come; the frames' pointers are set when it stops moving. */
struct sink {
    uint8_t *buf;
    size_t len, cap;
    size_t offset[HOLDMEDIA_AUDIO_FRAMES + HOLDMEDIA_VIDEO_FRAMES];
};

static int sink_put(struct sink *s, const void *data, size_t len)
{
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *grown = realloc(s->buf, cap);
        if (!grown)
            return -ENOMEM;
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

/* The loop is encoded twice and the second pass kept: at its first frame the encoder has just
 * heard the loop's end, so the decoder's state joins up when the loop starts over. */
static int encode_audio(struct holdmedia *hm, struct sink *s)
{
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
    if (!enc || err != OPUS_OK) {
        log_error("holdmedia", "opus_encoder_create: %s", opus_strerror(err));
        return -EIO;
    }
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(AUDIO_BITRATE));
    opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(10));
    opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_MUSIC));
    int rc = 0;
    for (uint32_t pass = 0; pass < 2 && rc == 0; pass++) {
        for (uint32_t f = 0; f < HOLDMEDIA_AUDIO_FRAMES; f++) {
            opus_int16 pcm[HOLDMEDIA_AUDIO_FRAME_SAMPLES];
            for (uint32_t i = 0; i < HOLDMEDIA_AUDIO_FRAME_SAMPLES; i++)
                pcm[i] = holdmedia_chime_sample(f * HOLDMEDIA_AUDIO_FRAME_SAMPLES + i);
            unsigned char packet[OPUS_PACKET_MAX];
            opus_int32 n =
                opus_encode(enc, pcm, (int)HOLDMEDIA_AUDIO_FRAME_SAMPLES, packet, sizeof(packet));
            if (n <= 0) {
                log_error("holdmedia", "opus_encode: %s", opus_strerror(n));
                rc = -EIO;
                break;
            }
            if (pass == 0)
                continue;
            s->offset[f] = s->len;
            hm->audio[f].len = (uint32_t)n;
            hm->audio_bytes += (size_t)n;
            rc = sink_put(s, packet, (size_t)n);
            if (rc != 0)
                break;
        }
    }
    opus_encoder_destroy(enc);
    return rc;
}

static int vp8_open(vpx_codec_ctx_t *codec)
{
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
        return -EIO;
    cfg.g_w = HOLDMEDIA_WIDTH;
    cfg.g_h = HOLDMEDIA_HEIGHT;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = (int)HOLDMEDIA_VIDEO_FPS;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;                             /* every frame comes out as it goes in */
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT; /* a lost delta frame stays local */
    cfg.rc_end_usage = VPX_VBR;
    cfg.rc_target_bitrate = VIDEO_BITRATE_KBPS;
    cfg.rc_min_quantizer = 4;
    cfg.rc_max_quantizer = 40;
    cfg.kf_mode = VPX_KF_DISABLED; /* key frames where we force them */
    if (vpx_codec_enc_init(codec, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
        log_error("holdmedia", "vpx_codec_enc_init: %s", vpx_codec_error(codec));
        return -EIO;
    }
    vpx_codec_control(codec, VP8E_SET_CPUUSED, 0);
    return 0;
}

/* Takes the encoder's output for frame `f`: exactly one compressed frame. */
static int take_vp8(vpx_codec_ctx_t *codec, struct holdmedia *hm, struct sink *s, unsigned f)
{
    vpx_codec_iter_t iter = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    bool got = false;
    while ((pkt = vpx_codec_get_cx_data(codec, &iter)) != NULL) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT || got)
            continue;
        s->offset[HOLDMEDIA_AUDIO_FRAMES + f] = s->len;
        hm->video[f].len = (uint32_t)pkt->data.frame.sz;
        hm->video[f].keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
        hm->video_bytes += pkt->data.frame.sz;
        if (sink_put(s, pkt->data.frame.buf, pkt->data.frame.sz) != 0)
            return -ENOMEM;
        got = true;
    }
    return got ? 0 : -EIO;
}

static int encode_video(struct holdmedia *hm, struct sink *s)
{
    vpx_codec_ctx_t codec;
    if (vp8_open(&codec) != 0)
        return -EIO;
    vpx_image_t img;
    int rc = -ENOMEM;
    if (!vpx_img_alloc(&img, VPX_IMG_FMT_I420, HOLDMEDIA_WIDTH, HOLDMEDIA_HEIGHT, 1))
        goto out;
    /* holdmedia_draw_slate() writes tightly packed planes; the image's strides may be wider. */
    uint8_t *planes = malloc((size_t)HOLDMEDIA_WIDTH * HOLDMEDIA_HEIGHT * 3 / 2);
    if (!planes)
        goto out_img;
    rc = 0;
    for (unsigned f = 0; f < HOLDMEDIA_VIDEO_FRAMES && rc == 0; f++) {
        uint8_t *y = planes, *u = y + HOLDMEDIA_WIDTH * HOLDMEDIA_HEIGHT;
        uint8_t *v = u + HOLDMEDIA_WIDTH * HOLDMEDIA_HEIGHT / 4;
        holdmedia_draw_slate(y, u, v, f);
        for (int row = 0; row < HOLDMEDIA_HEIGHT; row++)
            memcpy(img.planes[0] + row * img.stride[0], y + row * HOLDMEDIA_WIDTH, HOLDMEDIA_WIDTH);
        for (int row = 0; row < HOLDMEDIA_HEIGHT / 2; row++) {
            memcpy(img.planes[1] + row * img.stride[1], u + row * (HOLDMEDIA_WIDTH / 2),
                   HOLDMEDIA_WIDTH / 2);
            memcpy(img.planes[2] + row * img.stride[2], v + row * (HOLDMEDIA_WIDTH / 2),
                   HOLDMEDIA_WIDTH / 2);
        }
        vpx_enc_frame_flags_t flags = f % HOLDMEDIA_KEYFRAME_INTERVAL == 0 ? VPX_EFLAG_FORCE_KF : 0;
        if (vpx_codec_encode(&codec, &img, f, 1, flags, VPX_DL_BEST_QUALITY) != VPX_CODEC_OK) {
            log_error("holdmedia", "vpx_codec_encode: %s", vpx_codec_error(&codec));
            rc = -EIO;
            break;
        }
        rc = take_vp8(&codec, hm, s, f);
    }
    free(planes);
out_img:
    vpx_img_free(&img);
out:
    vpx_codec_destroy(&codec);
    return rc;
}

int holdmedia_create(struct holdmedia **out)
{
    struct holdmedia *hm = calloc(1, sizeof(*hm));
    if (!hm)
        return -ENOMEM;
    struct sink s = {0};
    int rc = encode_audio(hm, &s);
    if (rc == 0)
        rc = encode_video(hm, &s);
    if (rc != 0) {
        free(s.buf);
        free(hm);
        return rc;
    }
    /* The storage has stopped moving: point the frames into it. */
    hm->storage = s.buf;
    for (unsigned f = 0; f < HOLDMEDIA_AUDIO_FRAMES; f++)
        hm->audio[f].data = s.buf + s.offset[f];
    for (unsigned f = 0; f < HOLDMEDIA_VIDEO_FRAMES; f++)
        hm->video[f].data = s.buf + s.offset[HOLDMEDIA_AUDIO_FRAMES + f];
    *out = hm;
    return 0;
}

void holdmedia_free(struct holdmedia *hm)
{
    if (!hm)
        return;
    free(hm->storage);
    free(hm);
}
