/* Real media, encoded once at start and replayed at the real rate: Opus 20 ms frames of a tone
 * and VP8 frames of a synthetic moving picture, so the servers carry what a browser would send
 * (sizes, keyframes, fragmentation) without the load peer paying for encoding per call. */
#include <math.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "loadpeer.h"

#define AUDIO_FRAMES 50 /* one second, looped */
#define OPUS_MAX 400

static int encode_audio(struct lp_media *m)
{
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_VOIP, &err);
    if (!enc || err != OPUS_OK) {
        fprintf(stderr, "loadpeer: opus_encoder_create: %s\n", opus_strerror(err));
        return -1;
    }
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
    m->audio = calloc(AUDIO_FRAMES, sizeof(*m->audio));
    if (!m->audio) {
        opus_encoder_destroy(enc);
        return -1;
    }
    int16_t pcm[960 * 2];
    for (size_t f = 0; f < AUDIO_FRAMES; f++) {
        for (size_t i = 0; i < 960; i++) {
            double t = (double)(f * 960 + i) / 48000.0;
            int16_t s = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * t));
            pcm[2 * i] = s;
            pcm[2 * i + 1] = s;
        }
        uint8_t buf[OPUS_MAX];
        opus_int32 n = opus_encode(enc, pcm, 960, buf, sizeof(buf));
        if (n <= 0 || !(m->audio[f].data = malloc((size_t)n))) {
            opus_encoder_destroy(enc);
            return -1;
        }
        memcpy(m->audio[f].data, buf, (size_t)n);
        m->audio[f].len = (size_t)n;
        m->audio_count++;
    }
    opus_encoder_destroy(enc);
    return 0;
}

/* A picture that moves everywhere: diagonal stripes drifting, a bright bar sweeping across,
 * and fresh noise on a band of blocks each frame, so a 2 Mbps target is really spent. */
static void draw(vpx_image_t *img, unsigned f, uint32_t *rng)
{
    unsigned w = img->d_w, h = img->d_h;
    for (unsigned y = 0; y < h; y++) {
        uint8_t *row = img->planes[0] + (size_t)y * (size_t)img->stride[0];
        for (unsigned x = 0; x < w; x++)
            row[x] = (uint8_t)((x + y + f * 6) * 2);
    }
    unsigned bar = (f * 24) % w;
    for (unsigned y = 0; y < h; y++)
        memset(img->planes[0] + (size_t)y * (size_t)img->stride[0] + bar, 235,
               bar + 32 < w ? 32 : w - bar);
    unsigned band = (f * 16) % (h > 32 ? h - 32 : 1);
    for (unsigned y = band; y < band + 32 && y < h; y++) {
        uint8_t *row = img->planes[0] + (size_t)y * (size_t)img->stride[0];
        for (unsigned x = 0; x < w; x++) {
            *rng = *rng * 1103515245u + 12345u;
            row[x] = (uint8_t)(row[x] ^ ((*rng >> 24) & 0x3F));
        }
    }
    for (int p = 1; p < 3; p++)
        for (unsigned y = 0; y < (h + 1) / 2; y++)
            memset(img->planes[p] + (size_t)y * (size_t)img->stride[p],
                   (int)(p == 1 ? 128 + (f % 64) : 160 - (f % 48)), (w + 1) / 2);
}

static int keep_packets(struct lp_media *m, vpx_codec_ctx_t *codec, size_t *bytes)
{
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    while ((pkt = vpx_codec_get_cx_data(codec, &it))) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        struct lp_frame *fr = &m->video[m->video_count];
        if (!(fr->data = malloc(pkt->data.frame.sz)))
            return -1;
        memcpy(fr->data, pkt->data.frame.buf, pkt->data.frame.sz);
        fr->len = pkt->data.frame.sz;
        fr->key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
        *bytes += fr->len;
        m->video_count++;
    }
    return 0;
}

static int encode_video(struct lp_media *m, const struct lp_options *o)
{
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    cfg.g_w = o->width;
    cfg.g_h = o->height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = (int)o->fps;
    cfg.rc_target_bitrate = o->video_kbps;
    cfg.rc_end_usage = VPX_CBR;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = 1;
    cfg.kf_mode = VPX_KF_DISABLED; /* one keyframe, the first; the replay loops back to it */
    cfg.g_threads = 2;
    cfg.rc_min_quantizer = 4;
    cfg.rc_max_quantizer = 56;
    vpx_codec_ctx_t codec;
    if (vpx_codec_enc_init(&codec, vpx_codec_vp8_cx(), &cfg, 0)) {
        fprintf(stderr, "loadpeer: vpx_codec_enc_init failed\n");
        return -1;
    }
    vpx_codec_control(&codec, VP8E_SET_CPUUSED, 16);
    vpx_image_t img;
    int rc = -1;
    size_t bytes = 0;
    uint32_t rng = 0x5EED;
    if (!vpx_img_alloc(&img, VPX_IMG_FMT_I420, o->width, o->height, 16))
        goto out_codec;
    if (!(m->video = calloc(o->video_frames + 8, sizeof(*m->video))))
        goto out_img;
    for (unsigned f = 0; f < o->video_frames; f++) {
        draw(&img, f, &rng);
        vpx_enc_frame_flags_t flags = f == 0 ? VPX_EFLAG_FORCE_KF : 0;
        if (vpx_codec_encode(&codec, &img, f, 1, flags, VPX_DL_REALTIME) ||
            keep_packets(m, &codec, &bytes))
            goto out_img;
    }
    if (m->video_count == 0 || !m->video[0].key)
        goto out_img;
    rc = 0;
out_img:
    vpx_img_free(&img);
out_codec:
    vpx_codec_destroy(&codec);
    return rc;
}

/* The cache file: a version and the encoding parameters, then each frame as key, length, bytes.
 * Encoding 720p VP8 takes tens of seconds on a busy machine; a benchmark runs the load peer
 * a dozen times with the same frames. */
static int cache_rw(struct lp_media *m, const struct lp_options *o, const char *path, bool write)
{
    uint32_t want[6] = {1, o->width, o->height, o->fps, o->video_kbps, o->video_frames};
    FILE *f = fopen(path, write ? "wb" : "rb");
    if (!f)
        return -1;
    uint32_t head[6];
    int rc = -1;
    if (write) {
        fwrite(want, sizeof(want), 1, f);
        uint32_t counts[2] = {(uint32_t)m->audio_count, (uint32_t)m->video_count};
        fwrite(counts, sizeof(counts), 1, f);
        for (size_t i = 0; i < m->audio_count + m->video_count; i++) {
            struct lp_frame *fr = i < m->audio_count ? &m->audio[i] : &m->video[i - m->audio_count];
            uint32_t meta[2] = {fr->key, (uint32_t)fr->len};
            fwrite(meta, sizeof(meta), 1, f);
            fwrite(fr->data, 1, fr->len, f);
        }
        rc = ferror(f) ? -1 : 0;
        fclose(f);
        return rc;
    }
    uint32_t counts[2];
    if (fread(head, sizeof(head), 1, f) != 1 || memcmp(head, want, sizeof(want)) != 0 ||
        fread(counts, sizeof(counts), 1, f) != 1 || counts[0] == 0 || counts[0] > 1000 ||
        counts[1] == 0 || counts[1] > 100000)
        goto out;
    m->audio = calloc(counts[0], sizeof(*m->audio));
    m->video = calloc(counts[1], sizeof(*m->video));
    if (!m->audio || !m->video)
        goto out;
    for (size_t i = 0; i < (size_t)counts[0] + counts[1]; i++) {
        struct lp_frame *fr = i < counts[0] ? &m->audio[i] : &m->video[i - counts[0]];
        uint32_t meta[2];
        if (fread(meta, sizeof(meta), 1, f) != 1 || meta[1] == 0 || meta[1] > (1u << 22) ||
            !(fr->data = malloc(meta[1])) || fread(fr->data, 1, meta[1], f) != meta[1])
            goto out;
        fr->key = meta[0] != 0;
        fr->len = meta[1];
        if (i < counts[0])
            m->audio_count++;
        else
            m->video_count++;
    }
    rc = m->video[0].key ? 0 : -1;
out:
    fclose(f);
    return rc;
}

static void measure_rate(struct lp_media *m, unsigned fps)
{
    size_t bytes = 0;
    for (size_t i = 0; i < m->video_count; i++)
        bytes += m->video[i].len;
    m->fps = fps;
    m->video_kbps = (double)bytes * 8.0 * fps / (double)m->video_count / 1000.0;
}

int lp_media_encode(struct lp_media *m, const struct lp_options *o)
{
    memset(m, 0, sizeof(*m));
    if (o->media_cache && cache_rw(m, o, o->media_cache, false) == 0) {
        measure_rate(m, o->fps);
        return 0;
    }
    lp_media_free(m);
    if (encode_audio(m) != 0) {
        fprintf(stderr, "loadpeer: Opus encoding failed\n");
        return -1;
    }
    if (encode_video(m, o) != 0) {
        fprintf(stderr, "loadpeer: VP8 encoding failed\n");
        return -1;
    }
    measure_rate(m, o->fps);
    if (o->media_cache && cache_rw(m, o, o->media_cache, true) != 0)
        fprintf(stderr, "loadpeer: could not write %s\n", o->media_cache);
    return 0;
}

void lp_media_free(struct lp_media *m)
{
    for (size_t i = 0; i < m->audio_count; i++)
        free(m->audio[i].data);
    for (size_t i = 0; i < m->video_count; i++)
        free(m->video[i].data);
    free(m->audio);
    free(m->video);
    memset(m, 0, sizeof(*m));
}
