/* Hold and resume in the relay (gateway/relay_hold.c), with two in-test browsers and no socket:
 * the held browser gets the hold media in real time on the SSRCs it knows, with sequence
 * numbers, timestamps and PictureIDs continuous across hold → resume → hold; nothing crosses
 * between the browsers while on hold; on resume both are asked for a key frame and each one's
 * video goes live at that key frame. */
#include <criterion/criterion.h>

#include <string.h>

#include "balie/holdmedia.h"
#include "balie/leg.h"
#include "balie/relay.h"
#include "balie/sdp.h"
#include "media_peer.h"

#define SEC 1000000ull
#define MS 1000ull
#define T0 (9000 * SEC)

#define A_AUDIO 0x0A000001u /* the agent's browser */
#define A_VIDEO 0x0A000002u
#define B_AUDIO 0x0B000001u /* the citizen's */
#define B_VIDEO 0x0B000002u
#define TO_A_AUDIO 0xCA000001u
#define TO_A_VIDEO 0xCA000002u
#define TO_B_AUDIO 0xCB000001u
#define TO_B_VIDEO 0xCB000002u
#define ALL_FB (SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI | SDP_RTCP_FB_CCM_FIR)

static struct holdmedia *hm;

static void setup(void)
{
    cr_assert_eq(holdmedia_create(&hm), 0);
}

static void teardown(void)
{
    holdmedia_free(hm);
}

TestSuite(relay_hold, .init = setup, .fini = teardown, .timeout = 30);

struct call {
    struct gw_harness g;
    struct media_peer a, b;
    struct leg *la, *lb;
};

static void call_setup(struct call *c)
{
    gw_init(&c->g, T0);
    peer_init(&c->a, 6101, false, A_AUDIO, A_VIDEO, true);
    peer_init(&c->b, 6102, false, B_AUDIO, B_VIDEO, false);
    c->a.video_rtcp_fb = c->b.video_rtcp_fb = ALL_FB;
    /* Both send PictureIDs, far from each other's and from the hold media's. */
    c->a.vp8_picture_id = c->b.vp8_picture_id = true;
    c->a.picture_id = 20000;
    c->b.picture_id = 32760; /* wraps soon */
    gw_attach(&c->g, &c->a);
    gw_attach(&c->g, &c->b);
    c->la = gw_add_leg(&c->g, 1, TO_A_AUDIO, TO_A_VIDEO);
    c->lb = gw_add_leg(&c->g, 2, TO_B_AUDIO, TO_B_VIDEO);
    gw_connect(&c->g, c->la, &c->a);
    gw_connect(&c->g, c->lb, &c->b);
    cr_assert_eq(relay_bridge(c->la, c->lb, &c->g.io, c->g.now_us), 0);
    gw_pump(&c->g);
}

static void call_teardown(struct call *c)
{
    gw_remove_leg(&c->g, c->la);
    gw_remove_leg(&c->g, c->lb);
    peer_free(&c->a);
    peer_free(&c->b);
    gw_free(&c->g);
}

/* Both browsers send `n` audio packets (and video, the first a key frame when `key`), 20 ms
 * apart, the legs ticked as time goes. */
static void talk(struct call *c, int n, bool key)
{
    struct leg *legs[] = {c->la, c->lb};
    for (int i = 0; i < n; i++) {
        cr_assert_eq(peer_send_rtp(&c->a, LEG_AUDIO, false, 0), 0);
        cr_assert_eq(peer_send_rtp(&c->a, LEG_VIDEO, key && i == 0, 0), 0);
        cr_assert_eq(peer_send_rtp(&c->b, LEG_AUDIO, false, 0), 0);
        cr_assert_eq(peer_send_rtp(&c->b, LEG_VIDEO, key && i == 0, 0), 0);
        gw_pump(&c->g);
        gw_tick(&c->g, legs, 2, c->g.now_us + 20 * MS);
    }
}

/* Time passes in 5 ms steps with the legs ticked, as the worker's timer does. */
static void wait_us(struct call *c, uint64_t us)
{
    struct leg *legs[] = {c->la, c->lb};
    uint64_t end = c->g.now_us + us;
    while (c->g.now_us < end)
        gw_tick(&c->g, legs, 2, c->g.now_us + 5 * MS);
}

/* Every packet `p` got on `ssrc`: consecutive sequence numbers, timestamps that never go back,
 * and the VP8 PictureIDs (where a descriptor has one) never going back either. */
static void assert_continuous(const struct media_peer *p, uint32_t ssrc, size_t min_count)
{
    bool consecutive = false;
    size_t n = peer_count_ssrc(p, ssrc, &consecutive);
    cr_assert_geq(n, min_count, "%zu packets on %08x", n, ssrc);
    cr_assert(consecutive, "sequence numbers on %08x have a gap", ssrc);
    bool have_ts = false, have_pid = false;
    uint32_t ts = 0;
    uint16_t pid = 0;
    for (size_t i = 0; i < p->rtp_count; i++) {
        const struct peer_rtp_seen *s = &p->rtp[i];
        if (s->ssrc != ssrc)
            continue;
        if (have_ts)
            cr_assert_lt(s->ts - ts, 0x80000000u, "timestamp went back at packet %zu", i);
        ts = s->ts;
        have_ts = true;
        if (s->pt == SDP_PT_VP8 && (s->head[0] & 0x80) && (s->head[1] & 0x80) &&
            (s->head[2] & 0x80)) {
            uint16_t v = (uint16_t)(((s->head[2] & 0x7F) << 8) | s->head[3]);
            if (have_pid)
                cr_assert(v == pid || v == ((pid + 1) & 0x7FFF), "PictureID %u after %u", v, pid);
            pid = v;
            have_pid = true;
        }
    }
}

/* Packets `p` got on `ssrc` from index `from` on. */
static size_t count_since(const struct media_peer *p, uint32_t ssrc, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < p->rtp_count; i++)
        n += p->rtp[i].ssrc == ssrc;
    return n;
}

Test(relay_hold, hold_resume_hold_keeps_every_stream_continuous)
{
    struct call c;
    call_setup(&c);
    talk(&c, 10, true);
    cr_assert_eq(count_since(&c.b, TO_B_AUDIO, 0), 10);

    /* On hold: the agent's media stops reaching the citizen, and the citizen's the agent. */
    relay_hold(c.lb, hm, c.g.now_us);
    size_t a_before = c.a.rtp_count, b_mark = c.b.rtp_count;
    talk(&c, 5, false);
    cr_assert_eq(c.a.rtp_count, a_before, "the agent gets nothing while on hold");
    cr_assert_eq(c.lb->held_discarded + c.la->held_discarded, 20);
    wait_us(&c, SEC);
    /* 50 hold audio packets a second, and video that starts with a key frame. */
    size_t audio = count_since(&c.b, TO_B_AUDIO, b_mark);
    cr_assert(audio >= 54 && audio <= 57, "%zu hold audio packets in 1.1 s", audio);
    size_t first_video = b_mark;
    while (c.b.rtp[first_video].ssrc != TO_B_VIDEO)
        first_video++;
    cr_assert_eq(c.b.rtp[first_video].head[0] & 0x10, 0x10, "the hold video starts a frame");
    cr_assert_gt(c.b.rtp[first_video].payload_len, HOLDMEDIA_VP8_FRAGMENT, "a key frame");
    cr_assert_eq(c.a.rtp_count, a_before);

    /* Resume: both browsers are asked for a key frame. */
    size_t pli_a = c.a.pli, pli_b = c.b.pli;
    relay_resume(c.lb, &c.g.io, c.g.now_us);
    gw_pump(&c.g);
    cr_assert_eq(c.a.pli, pli_a + 1);
    cr_assert_eq(c.b.pli, pli_b + 1);
    b_mark = c.b.rtp_count;
    size_t a_mark = c.a.rtp_count;
    /* Delta frames before the key frame do not go through; the hold video runs on. */
    talk(&c, 5, false);
    cr_assert_eq(count_since(&c.b, TO_B_AUDIO, b_mark), 5, "audio is live at once");
    cr_assert_eq(count_since(&c.a, TO_A_AUDIO, a_mark), 5, "both ways");
    cr_assert_eq(count_since(&c.a, TO_A_VIDEO, a_mark), 0, "the agent waits for a key frame");
    size_t video_before_key = count_since(&c.b, TO_B_VIDEO, b_mark);
    cr_assert_geq(video_before_key, 1, "the hold video went on until the key frame");
    talk(&c, 5, true);
    size_t mark2 = c.b.rtp_count;
    wait_us(&c, 500 * MS);
    cr_assert_eq(count_since(&c.b, TO_B_VIDEO, mark2), 0, "the hold video stopped");
    cr_assert_eq(count_since(&c.a, TO_A_VIDEO, a_mark), 5, "the agent sees the citizen again");

    /* And on hold once more, then back. */
    relay_hold(c.lb, hm, c.g.now_us);
    wait_us(&c, 500 * MS);
    relay_resume(c.lb, &c.g.io, c.g.now_us);
    talk(&c, 5, true);

    /* Every stream each browser got is one continuous stream. */
    assert_continuous(&c.b, TO_B_AUDIO, 100);
    assert_continuous(&c.b, TO_B_VIDEO, 30);
    assert_continuous(&c.a, TO_A_AUDIO, 25);
    assert_continuous(&c.a, TO_A_VIDEO, 15);
    struct media_leg_stats st;
    leg_stats(c.lb, &st);
    cr_assert_eq(st.dropped, 0, "holding is not dropping");
    call_teardown(&c);
}

Test(relay_hold, timestamps_move_on_with_the_wall_clock_across_the_switch)
{
    struct call c;
    call_setup(&c);
    talk(&c, 3, true);
    uint32_t last_ts = c.b.rtp[c.b.rtp_count - 1].ts;
    for (size_t i = c.b.rtp_count; i-- > 0;)
        if (c.b.rtp[i].ssrc == TO_B_AUDIO) {
            last_ts = c.b.rtp[i].ts;
            break;
        }
    wait_us(&c, 300 * MS); /* a pause before the hold: nothing sent meanwhile */
    size_t mark = c.b.rtp_count;
    relay_hold(c.lb, hm, c.g.now_us);
    wait_us(&c, 5 * MS);
    cr_assert_eq(c.b.rtp[mark].ssrc, TO_B_AUDIO);
    uint32_t step = c.b.rtp[mark].ts - last_ts;
    /* 320 ms of wall time since the last packet (at 48 kHz), give or take a tick. */
    cr_assert(step >= 48 * 300 && step <= 48 * 340, "audio timestamp moved %u", step);
    call_teardown(&c);
}

Test(relay_hold, without_hold_media_a_held_call_is_silent_both_ways)
{
    struct call c;
    call_setup(&c);
    relay_hold(c.lb, NULL, c.g.now_us);
    relay_hold(c.lb, NULL, c.g.now_us); /* twice: no change */
    size_t a = c.a.rtp_count, b = c.b.rtp_count;
    talk(&c, 5, true);
    wait_us(&c, 200 * MS);
    cr_assert_eq(c.a.rtp_count, a);
    cr_assert_eq(c.b.rtp_count, b);
    relay_resume(c.lb, &c.g.io, c.g.now_us);
    relay_resume(c.lb, &c.g.io, c.g.now_us); /* not held any more: no-op */
    talk(&c, 5, true);
    assert_continuous(&c.b, TO_B_AUDIO, 5);
    assert_continuous(&c.b, TO_B_VIDEO, 5);
    call_teardown(&c);
}

Test(relay_hold, video_goes_live_after_the_wait_when_no_key_frame_comes)
{
    struct call c;
    call_setup(&c);
    talk(&c, 3, true);
    relay_hold(c.lb, hm, c.g.now_us);
    wait_us(&c, 200 * MS);
    relay_resume(c.lb, &c.g.io, c.g.now_us);
    wait_us(&c, RELAY_KEYFRAME_WAIT_US + 10 * MS);
    cr_assert_eq(c.lb->keyframe_wait_us, 0);
    cr_assert_eq(c.lb->hold.playing[HOLDMEDIA_VIDEO], false, "the hold video stopped");
    size_t mark = c.b.rtp_count;
    talk(&c, 3, false);
    cr_assert_eq(count_since(&c.b, TO_B_VIDEO, mark), 3, "delta frames pass after the wait");
    call_teardown(&c);
}
