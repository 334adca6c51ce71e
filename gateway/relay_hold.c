/* Hold and resume (relay.h): the relay stops forwarding between the two browsers and plays the
 * hold media to the citizen's instead; on resume it switches back at key frames. */
#include "balie/holdmedia.h"
#include "balie/relay.h"
#include "balie/srtp_session.h"
#include "relay_internal.h"

/* The most hold packets one tick sends per kind: a key frame's fragments, with room to spare.
 * The player itself skips ahead when it falls far behind. */
#define HOLD_BURST_MAX 64

_Static_assert((int)HOLDMEDIA_AUDIO == (int)LEG_AUDIO && (int)HOLDMEDIA_VIDEO == (int)LEG_VIDEO,
               "the hold player's kinds are the leg's");

/* The input SSRC of the hold media towards `l`: one its peer's browser does not send, so the
 * rewriter sees a change of source both when the hold starts and when it ends. */
static uint32_t hold_ssrc(const struct leg *l, enum leg_kind kind)
{
    uint32_t s = ~(kind == LEG_AUDIO ? l->params.audio_ssrc : l->params.video_ssrc);
    const struct leg *p = l->peer;
    while (s == 0 || (p && (s == p->in_ssrc[LEG_AUDIO] || s == p->in_ssrc[LEG_VIDEO])))
        s++;
    return s;
}

void relay_hold(struct leg *l, const struct holdmedia *media, uint64_t now_us)
{
    if (l->held)
        return;
    l->held = true;
    l->keyframe_wait_us = 0;
    if (!media)
        return;
    if (l->hold.media != media)
        holdmedia_player_init(&l->hold, media, hold_ssrc(l, LEG_AUDIO), hold_ssrc(l, LEG_VIDEO),
                              l->params.audio_ssrc ^ l->params.video_ssrc);
    if (l->params.audio_ssrc)
        holdmedia_player_start(&l->hold, HOLDMEDIA_AUDIO, now_us);
    /* Still playing when a resume's key frame wait is cut short: it simply goes on. */
    if (l->params.video_ssrc)
        holdmedia_player_start(&l->hold, HOLDMEDIA_VIDEO, now_us);
}

void relay_resume(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    if (!l->held)
        return;
    l->held = false;
    holdmedia_player_stop(&l->hold, HOLDMEDIA_AUDIO);
    struct leg *peer = l->peer;
    if (peer && peer->in_ssrc[LEG_VIDEO] != 0 && l->hold.playing[HOLDMEDIA_VIDEO])
        l->keyframe_wait_us = now_us + RELAY_KEYFRAME_WAIT_US;
    else
        holdmedia_player_stop(&l->hold, HOLDMEDIA_VIDEO);
    if (!peer)
        return;
    (void)relay_request_keyframe(peer, io, now_us, false);
    /* Towards the peer nothing was sent during the hold, while this browser's numbers ran on:
     * carry on from the last ones sent rather than show the peer a gap it would try to repair. */
    rtp_rewriter_resync(&peer->out[LEG_AUDIO]);
    rtp_rewriter_resync(&peer->out[LEG_VIDEO]);
    if (l->in_ssrc[LEG_VIDEO] != 0 && relay_request_keyframe(l, io, now_us, false) == 0)
        peer->keyframe_wait_us = now_us + RELAY_KEYFRAME_WAIT_US;
}

void relay_hold_keyframe_came(struct leg *l)
{
    l->keyframe_wait_us = 0;
    if (!l->held)
        holdmedia_player_stop(&l->hold, HOLDMEDIA_VIDEO);
}

void relay_hold_tick(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    if (l->keyframe_wait_us != 0 && now_us >= l->keyframe_wait_us)
        relay_hold_keyframe_came(l); /* none came: live video from its next key frame, then */
    if (!l->hold.media)
        return;
    for (int k = 0; k < LEG_KINDS; k++) {
        for (int i = 0; i < HOLD_BURST_MAX; i++) {
            uint8_t buf[HOLDMEDIA_PACKET_MAX + SRTP_SESSION_RTP_TRAILER_ROOM];
            int n =
                holdmedia_player_poll(&l->hold, (enum holdmedia_kind)k, now_us, buf, sizeof(buf));
            if (n <= 0)
                break;
            struct rtp_header h;
            if (rtp_parse(buf, (size_t)n, &h) != 0)
                break;
            (void)relay_forward(l, io, now_us, buf, (size_t)n, sizeof(buf), &h, (enum leg_kind)k);
        }
    }
}

uint64_t relay_hold_next_us(const struct leg *l)
{
    uint64_t next = l->hold.media ? holdmedia_player_next_us(&l->hold) : UINT64_MAX;
    if (l->keyframe_wait_us != 0 && l->keyframe_wait_us < next)
        next = l->keyframe_wait_us;
    return next;
}
