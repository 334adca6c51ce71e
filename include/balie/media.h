/* What the control thread and the media workers say to each other about calls.
 *
 * The control thread decides everything an offer needs (ICE credentials, our SSRCs; the DTLS
 * fingerprint is the pool's identity and the candidates are the worker's port on the
 * configured addresses), so it can send the offer without a round trip to a worker. It then
 * tells the worker of the citizen's leg to create both legs of the call (DESIGN.md §2: both
 * legs of a call live on the same worker), passes each browser's answer, and bridges them.
 *
 * Commands carry a heap payload in `ptr` where noted; ownership passes to the worker, which
 * frees it. Events carry a heap payload in `ptr` where noted; ownership passes to the control
 * thread. Neither side ever touches the other's structures. */
#ifndef BALIE_MEDIA_H
#define BALIE_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#define MEDIA_UFRAG_MAX 257 /* RFC 8839 §5.4: up to 256 ice-chars, plus NUL */
#define MEDIA_CALL_ID_MAX 24

/* WORKER_CMD_LEG_CREATE: ptr = struct media_leg_params (worker frees). */
struct media_leg_params {
    uint64_t leg_id; /* unique in the process; events name the leg by it */
    char call_id[MEDIA_CALL_ID_MAX];
    /* Our credentials, as in the offer: 4..ICE_UFRAG_LEN (8) and 22..ICE_PWD_LEN (24) ice-chars,
     * what struct ice_agent holds; longer ones fail the leg at once (FAILED, MEDIA_FAIL_ICE). */
    char ice_ufrag[MEDIA_UFRAG_MAX];
    char ice_pwd[MEDIA_UFRAG_MAX];
    uint32_t audio_ssrc; /* the SSRCs we send to this browser, as in the offer */
    uint32_t video_ssrc;
    /* No valid check for this long while connected: MEDIA_LEG_DISCONNECTED (the browser's
     * path died, e.g. it moved from Wi-Fi to 4G). 0: MEDIA_QUIET_MS_DEFAULT. */
    uint32_t quiet_ms;
};

/* Browsers refresh consent every 4-6 s (RFC 7675 §5.1); two missed refreshes mean the path is
 * gone, long before consent itself lapses at 30 s. */
#define MEDIA_QUIET_MS_DEFAULT 9000

/* WORKER_CMD_LEG_RESTART: ptr = struct media_leg_params (worker frees) with new local ICE
 * credentials for the leg `leg_id` (RFC 8445 §9 ICE restart). The control thread has sent the
 * browser a new offer with them; the browser's answer follows as WORKER_CMD_LEG_ANSWER with its
 * new credentials. DTLS and SRTP stay; the old credentials are answered until a check with the
 * new ones validates, so media keeps flowing if the old path still works. */

/* WORKER_CMD_LEG_ANSWER: ptr = struct media_answer (worker frees). The browser's answer, as
 * parsed and checked by sdp_parse_answer() on the control thread. */
struct media_answer {
    uint64_t leg_id;
    char ice_ufrag[MEDIA_UFRAG_MAX];
    char ice_pwd[MEDIA_UFRAG_MAX];
    uint8_t fingerprint[32]; /* the browser's certificate, SHA-256 */
    bool dtls_client;        /* the browser answered setup:passive, so we connect */
    uint32_t audio_ssrc;     /* the browser's sender SSRCs; 0 when it sends none */
    uint32_t video_ssrc;
    unsigned video_rtcp_fb; /* SDP_RTCP_FB_* the browser accepted for VP8 */
};

/* WORKER_CMD_BRIDGE: id = leg A, arg = leg B. Media flows between them once both are up.
 * WORKER_CMD_LEG_CLOSE: id = leg. Sends DTLS close_notify, frees the leg, answers with
 *   WORKER_EVT_LEG_STATE / MEDIA_LEG_CLOSED. Unknown ids are ignored. */

/* WORKER_CMD_HOLD: id = the citizen's leg. Neither browser's media reaches the other any more;
 *   the hold media (balie/holdmedia.h) is played to this leg's browser instead, in real time,
 *   on the same SSRCs, with sequence numbers, timestamps and VP8 PictureIDs continuous with
 *   what it got before, so its decoders never stall. The peer's browser gets nothing: its
 *   picture stands still and the console says why. Holding a held leg changes nothing.
 * WORKER_CMD_RESUME: id = the held leg. Audio flows both ways again at once, numbers continuous
 *   again; both browsers are asked for a key frame (PLI/FIR), and each side's video goes live
 *   at that key frame (the hold video runs on until then, at most RELAY_KEYFRAME_WAIT_US).
 * Both are answered by nothing: unknown ids are ignored, and the control thread tells the
 * browsers itself. */

enum media_leg_state {
    MEDIA_LEG_ICE_CONNECTED = 1, /* a check validated and nominated an address */
    MEDIA_LEG_DTLS_CONNECTED,    /* keys exported: SRTP ready */
    MEDIA_LEG_FLOWING,           /* first media packet from this browser authenticated */
    MEDIA_LEG_FAILED,            /* see enum media_fail_stage in the event's flags */
    MEDIA_LEG_CLOSED,
    /* No valid check for quiet_ms: the control thread restarts ICE with a new offer. When a
     * valid check arrives again, MEDIA_LEG_ICE_CONNECTED is reported once more. */
    MEDIA_LEG_DISCONNECTED,
};

enum media_fail_stage {
    MEDIA_FAIL_NONE = 0,
    MEDIA_FAIL_ICE,     /* no valid check in time */
    MEDIA_FAIL_DTLS,    /* handshake failed (fingerprint mismatch, alert, timeout), or the
                         * browser closed DTLS (close_notify) */
    MEDIA_FAIL_MEDIA,   /* SRTP could not be set up */
    MEDIA_FAIL_CONSENT, /* RFC 7675: no valid check for 30 s */
};

/* WORKER_EVT_LEG_STATE: id = leg, ptr = NULL, arg = the state in the low 32 bits and, for
 * MEDIA_LEG_FAILED and MEDIA_LEG_CLOSED, the enum media_fail_stage in the high 32 bits. */
static inline uint64_t media_state_arg(enum media_leg_state state, enum media_fail_stage stage)
{
    return (uint64_t)state | ((uint64_t)stage << 32);
}
static inline enum media_leg_state media_state_of(uint64_t arg)
{
    return (enum media_leg_state)(arg & 0xffffffffu);
}
static inline enum media_fail_stage media_stage_of(uint64_t arg)
{
    return (enum media_fail_stage)(arg >> 32);
}

/* WORKER_EVT_LEG_STATS: id = leg, ptr = struct media_leg_stats (control frees). Once a second
 * per connected leg. "in" is what this browser sent us, "out" what we sent it. */
struct media_leg_stats {
    uint64_t leg_id;
    uint64_t audio_packets_in, audio_bytes_in, video_packets_in, video_bytes_in;
    uint64_t audio_packets_out, audio_bytes_out, video_packets_out, video_bytes_out;
    uint64_t rtcp_in, rtcp_out;
    uint64_t dropped;           /* not authenticated, unknown SSRC, no peer yet, … */
    uint32_t lost;              /* cumulative, from our receive statistics */
    uint32_t jitter_ms;         /* video receive jitter */
    uint32_t rtt_ms;            /* from RTCP receiver reports; 0 when unknown */
    uint32_t keyframe_requests; /* PLI/FIR we sent to this browser */
};

#endif
