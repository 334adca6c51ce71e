/* Hold media (DESIGN.md §3): what a citizen hears and sees while the agent has put the call on
 * hold. Encoded once at start with libopus (a soft chime) and libvpx (a slate that says "Een
 * moment geduld alstublieft / Please hold"), then looped by a player per held leg.
 *
 * struct holdmedia is made once by the daemon and shared read-only by every media worker; it
 * must outlive them. struct holdmedia_player is sans-IO: it turns the loop into RTP packets
 * when the caller's clock says one is due, and never allocates. */
#ifndef BALIE_HOLDMEDIA_H
#define BALIE_HOLDMEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The two streams, in the order of enum leg_kind (leg.h). */
enum holdmedia_kind { HOLDMEDIA_AUDIO = 0, HOLDMEDIA_VIDEO = 1, HOLDMEDIA_KINDS = 2 };

/* Audio: Opus (RFC 7587), one 20 ms frame a packet, mono (our offer has no "stereo=1",
 * RFC 7587 §7.1), 48 kHz RTP clock; a 4 s loop. */
#define HOLDMEDIA_AUDIO_FRAME_US 20000u
#define HOLDMEDIA_AUDIO_FRAME_SAMPLES 960u
#define HOLDMEDIA_AUDIO_FRAMES 200u
#define HOLDMEDIA_AUDIO_PEAK_DBFS (-20)

/* Video: VP8 (RFC 7741) at 768×432 (16:9, and not a size a browser scales a 720p camera to, so
 * a test can tell the slate from the agent's picture), 10 frames a second, a 2 s loop that starts
 * with a key frame; key frames every HOLDMEDIA_KEYFRAME_INTERVAL frames. 90 kHz RTP clock. */
#define HOLDMEDIA_WIDTH 768
#define HOLDMEDIA_HEIGHT 432
#define HOLDMEDIA_VIDEO_FPS 10u
#define HOLDMEDIA_VIDEO_FRAMES 20u
#define HOLDMEDIA_KEYFRAME_INTERVAL 20u

/* Largest VP8 data in one RTP packet, after the 4-byte payload descriptor: with the RTP header
 * and the SRTP tag a packet stays well under a 1200-byte path MTU. */
#define HOLDMEDIA_VP8_FRAGMENT 1100u
#define HOLDMEDIA_VP8_DESCRIPTOR 4u
/* The largest packet holdmedia_player_poll() writes: RTP header + payload. */
#define HOLDMEDIA_PACKET_MAX (12u + HOLDMEDIA_VP8_DESCRIPTOR + HOLDMEDIA_VP8_FRAGMENT)

/* Payload types: the ones our offer fixes (sdp.h). */
#define HOLDMEDIA_PT_OPUS 111
#define HOLDMEDIA_PT_VP8 96

struct holdmedia_frame {
    const uint8_t *data; /* into the holdmedia's own storage */
    uint32_t len;
    bool keyframe; /* video only */
};

struct holdmedia {
    struct holdmedia_frame audio[HOLDMEDIA_AUDIO_FRAMES];
    struct holdmedia_frame video[HOLDMEDIA_VIDEO_FRAMES];
    size_t audio_bytes, video_bytes; /* the sum of the frames, for the log */
    uint8_t *storage;
};

/* Encodes both loops. Takes a few hundred milliseconds of CPU, once. Returns 0, -ENOMEM, or
 * -EIO when an encoder refuses (the log says which). */
int holdmedia_create(struct holdmedia **out);

/* Safe with NULL. */
void holdmedia_free(struct holdmedia *hm);

/* The slate's frame `index` of the loop, as I420 planes of HOLDMEDIA_WIDTH × HOLDMEDIA_HEIGHT
 * (strides: width for Y, width / 2 for U and V). Only a few dots change from frame to frame. */
void holdmedia_draw_slate(uint8_t *y, uint8_t *u, uint8_t *v, unsigned index);

/* Sample `n` (0 .. HOLDMEDIA_AUDIO_FRAMES × HOLDMEDIA_AUDIO_FRAME_SAMPLES − 1) of the chime, as
 * 16-bit PCM. It fades in and out, so that the loop joins without a click. */
int16_t holdmedia_chime_sample(uint32_t n);

/* ---- The player: one per held leg --------------------------------------------------------- */

struct holdmedia_player {
    const struct holdmedia *media;
    uint64_t next_us[HOLDMEDIA_KINDS]; /* when the next packet (frame) is due */
    uint32_t ssrc[HOLDMEDIA_KINDS];    /* our input SSRCs: the relay's rewriter sees a source */
    uint32_t ts[HOLDMEDIA_KINDS];
    uint32_t index[HOLDMEDIA_KINDS]; /* the frame within the loop */
    uint32_t sent;                   /* bytes of the current video frame already packetized */
    uint16_t seq[HOLDMEDIA_KINDS];
    uint16_t picture_id; /* RFC 7741 §4.2: 15 bits */
    bool playing[HOLDMEDIA_KINDS];
};

/* A stopped player of `media` whose packets carry `audio_ssrc` and `video_ssrc`, and sequence
 * numbers and timestamps that start from `seed` (any value). */
void holdmedia_player_init(struct holdmedia_player *p, const struct holdmedia *media,
                           uint32_t audio_ssrc, uint32_t video_ssrc, uint32_t seed);

/* Starts `kind` from the top of its loop (video: a key frame), first packet due at `now_us`.
 * Its sequence numbers and timestamps go on from where they stopped. No-op when playing. */
void holdmedia_player_start(struct holdmedia_player *p, enum holdmedia_kind kind, uint64_t now_us);
void holdmedia_player_stop(struct holdmedia_player *p, enum holdmedia_kind kind);

/* Writes the next packet of `kind` that is due at `now_us` into `buf` (RTP header and payload,
 * not yet protected). Returns its length, 0 when nothing is due (or `kind` is stopped), or -1
 * when `cap` < HOLDMEDIA_PACKET_MAX. Call it until it returns 0: a video frame larger than one
 * packet comes out as several, all due at once, the last one with the marker bit (RFC 7741
 * §4.1). A player far behind its clock (a stalled loop) skips ahead instead of bursting, and
 * its timestamps jump by the time skipped. */
int holdmedia_player_poll(struct holdmedia_player *p, enum holdmedia_kind kind, uint64_t now_us,
                          uint8_t *buf, size_t cap);

/* The earliest time poll has a packet; UINT64_MAX when both kinds are stopped. */
uint64_t holdmedia_player_next_us(const struct holdmedia_player *p);

#endif
