/* Two legs bridged by the relay, each driven by an in-test browser through the real
 * demultiplexer, with no socket and no sleep: media and feedback cross with the right SSRCs,
 * and what must be dropped is dropped without disturbing the flow. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "balie/leg.h"
#include "balie/relay.h"
#include "balie/rtcp.h"
#include "balie/sdp.h"
#include "media_peer.h"

#define SEC 1000000ull
#define T0 (7000 * SEC)

/* What each browser sends (its answer) and what we offered each (our SSRCs towards it). */
#define A_AUDIO 0x0A000001u
#define A_VIDEO 0x0A000002u
#define B_AUDIO 0x0B000001u
#define B_VIDEO 0x0B000002u
#define TO_A_AUDIO 0xCA000001u
#define TO_A_VIDEO 0xCA000002u
#define TO_B_AUDIO 0xCB000001u
#define TO_B_VIDEO 0xCB000002u

struct call {
    struct gw_harness g;
    struct media_peer a, b;
    struct leg *la, *lb;
};

static void call_setup(struct call *c, unsigned a_fb, unsigned b_fb, bool bridge_first)
{
    gw_init(&c->g, T0);
    peer_init(&c->a, 6001, false, A_AUDIO, A_VIDEO, true);
    peer_init(&c->b, 6002, false, B_AUDIO, B_VIDEO, false);
    c->a.video_rtcp_fb = a_fb;
    c->b.video_rtcp_fb = b_fb;
    gw_attach(&c->g, &c->a);
    gw_attach(&c->g, &c->b);
    c->la = gw_add_leg(&c->g, 1, TO_A_AUDIO, TO_A_VIDEO);
    c->lb = gw_add_leg(&c->g, 2, TO_B_AUDIO, TO_B_VIDEO);
    if (bridge_first)
        cr_assert_eq(relay_bridge(c->la, c->lb, &c->g.io, c->g.now_us), 0);
    gw_connect(&c->g, c->la, &c->a);
    gw_connect(&c->g, c->lb, &c->b);
    if (!bridge_first) {
        cr_assert_eq(relay_bridge(c->la, c->lb, &c->g.io, c->g.now_us), 0);
        gw_pump(&c->g);
    }
}

#define ALL_FB (SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI | SDP_RTCP_FB_CCM_FIR)

static void call_teardown(struct call *c)
{
    gw_remove_leg(&c->g, c->la);
    gw_remove_leg(&c->g, c->lb);
    peer_free(&c->a);
    peer_free(&c->b);
    gw_free(&c->g);
}

static void send_both_kinds(struct media_peer *p, int n)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(peer_send_rtp(p, LEG_AUDIO, false, 0), 0);
        cr_assert_eq(peer_send_rtp(p, LEG_VIDEO, i == 0, 0), 0);
    }
}

/* The key test: media from A reaches B decrypted, with the SSRCs offered to B and
 * continuous sequence numbers, and the other way round. */
Test(relay, media_crosses_with_rewritten_ssrcs)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    send_both_kinds(&c.a, 20);
    send_both_kinds(&c.b, 20);
    gw_pump(&c.g);
    bool consecutive;
    cr_assert_eq(peer_count_ssrc(&c.b, TO_B_AUDIO, &consecutive), 20);
    cr_assert(consecutive);
    cr_assert_eq(peer_count_ssrc(&c.b, TO_B_VIDEO, &consecutive), 20);
    cr_assert(consecutive, "continuity across the sequence number wrap");
    cr_assert_eq(peer_count_ssrc(&c.a, TO_A_AUDIO, &consecutive), 20);
    cr_assert(consecutive);
    cr_assert_eq(peer_count_ssrc(&c.a, TO_A_VIDEO, &consecutive), 20);
    cr_assert_eq(peer_count_ssrc(&c.b, A_AUDIO, NULL), 0, "the browser's own SSRC never leaks");
    /* Payloads arrive intact: the first bytes are what the sender wrote. */
    for (size_t i = 0; i < c.b.rtp_count; i++) {
        const struct peer_rtp_seen *s = &c.b.rtp[i];
        if (s->ssrc == TO_B_AUDIO) {
            cr_assert_eq(s->pt, SDP_PT_OPUS);
            cr_assert_eq(s->payload_len, 40);
            cr_assert_eq(s->payload0, 0xA0);
        } else {
            cr_assert_eq(s->pt, SDP_PT_VP8);
            cr_assert_eq(s->payload_len, 42);
            cr_assert_eq(s->payload0, 0x10);
        }
    }
    struct media_leg_stats sa, sb;
    leg_stats(c.la, &sa);
    leg_stats(c.lb, &sb);
    cr_assert_eq(sa.audio_packets_in, 20);
    cr_assert_eq(sb.audio_packets_out, 20);
    cr_assert_eq(sb.video_packets_out, 20);
    cr_assert_eq(sa.dropped, 0);
    cr_assert_eq(gw_count_events(&c.g, 1, MEDIA_LEG_FLOWING, 0), 1);
    cr_assert_eq(gw_count_events(&c.g, 2, MEDIA_LEG_FLOWING, 0), 1);
    call_teardown(&c);
}

/* A PLI B sends about its incoming video (our SSRC towards B) reaches A about A's own video
 * SSRC (RFC 4585 §6.3.1). */
Test(relay, pli_is_mapped_to_the_original_sender)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    send_both_kinds(&c.a, 3);
    gw_pump(&c.g);
    size_t before = c.a.pli;
    cr_assert_eq(peer_send_pli(&c.b, TO_B_VIDEO), 0);
    gw_pump(&c.g);
    cr_assert_eq(c.a.pli, before + 1);
    cr_assert_eq(c.a.pli_media, A_VIDEO);
    /* A PLI about an SSRC we do not send B is dropped, not forwarded. */
    cr_assert_eq(peer_send_pli(&c.b, 0x99999999), 0);
    gw_pump(&c.g);
    cr_assert_eq(c.a.pli, before + 1);
    cr_assert_eq(c.lb->counters.rtcp_unmapped, 1);
    call_teardown(&c);
}

/* A NACK names our output sequence numbers; A must hear its own. */
Test(relay, nack_is_mapped_back)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    send_both_kinds(&c.a, 5);
    gw_pump(&c.g);
    uint16_t out_seq = c.b.rtp[c.b.rtp_count - 1].seq;
    uint8_t buf[64 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    int n = rtcp_build_nack(buf, 64, B_VIDEO, TO_B_VIDEO, &out_seq, 1);
    cr_assert_gt(n, 0);
    size_t len = (size_t)n;
    cr_assert_eq(srtp_session_protect_rtcp(&c.b.srtp, buf, &len, sizeof(buf)), 0);
    gw_inject(&c.g, &c.b, buf, len);
    gw_pump(&c.g);
    cr_assert_eq(c.a.nack, 1);
    cr_assert_eq(c.a.nack_media, A_VIDEO);
    call_teardown(&c);
}

/* When the bridge forms with both legs up, both browsers are asked for a keyframe, by PLI
 * when they accepted it, else by FIR, else not at all. */
Test(relay, keyframe_requests_follow_the_answer)
{
    struct call c;
    call_setup(&c, SDP_RTCP_FB_NACK_PLI, SDP_RTCP_FB_CCM_FIR, false);
    cr_assert_eq(c.a.pli, 1);
    cr_assert_eq(c.a.pli_media, A_VIDEO);
    cr_assert_eq(c.b.fir, 1);
    cr_assert_eq(c.b.pli, 0);
    cr_assert_eq(c.b.fir_media, B_VIDEO);
    cr_assert_eq(c.la->keyframe_requests, 1);
    call_teardown(&c);

    call_setup(&c, 0, SDP_RTCP_FB_NACK, false);
    cr_assert_eq(c.a.pli + c.a.fir + c.b.pli + c.b.fir, 0);
    call_teardown(&c);
}

/* Bridged before DTLS: the leg that comes up second makes the first one's browser send a
 * keyframe, and its own browser is asked when the other side is ready. */
Test(relay, keyframe_request_when_the_second_leg_comes_up)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, true);
    cr_assert_eq(c.a.pli, 1, "A is asked when B becomes ready");
    cr_assert_eq(c.b.pli, 0);
    call_teardown(&c);
}

/* One repeat after a second, unless a keyframe came in between. */
Test(relay, keyframe_request_repeats_once_without_a_keyframe)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    struct leg *legs[] = {c.la, c.lb};
    cr_assert_eq(c.a.pli, 1);
    cr_assert_eq(c.b.pli, 1);
    /* A sends a keyframe, B only delta frames. */
    cr_assert_eq(peer_send_rtp(&c.a, LEG_VIDEO, true, 0), 0);
    cr_assert_eq(peer_send_rtp(&c.b, LEG_VIDEO, false, 0), 0);
    gw_tick(&c.g, legs, 2, T0 + SEC / 2);
    cr_assert_eq(c.a.pli + c.b.pli, 2);
    gw_tick(&c.g, legs, 2, T0 + SEC);
    cr_assert_eq(c.a.pli, 1, "A's keyframe came: no repeat");
    cr_assert_eq(c.b.pli, 2, "B's did not: one repeat");
    gw_tick(&c.g, legs, 2, T0 + 3 * SEC);
    cr_assert_eq(c.b.pli, 2, "only once");
    cr_assert_eq(c.lb->keyframe_requests, 2);
    call_teardown(&c);
}

Test(relay, vp8_keyframe_detection)
{
    const uint8_t key[] = {0x10, 0x00, 0x9d};
    const uint8_t delta[] = {0x10, 0x01};
    const uint8_t not_start[] = {0x00, 0x00};
    const uint8_t partition1[] = {0x11, 0x00};
    /* X, I with a 15-bit picture id, L, T: four descriptor bytes more. */
    const uint8_t ext_key[] = {0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0x00};
    const uint8_t ext_short[] = {0x90, 0xE0, 0x81, 0x23, 0x05, 0x40};
    const uint8_t ext_7bit[] = {0x90, 0x80, 0x12, 0x01};
    cr_assert(relay_vp8_is_keyframe(key, sizeof(key)));
    cr_assert_not(relay_vp8_is_keyframe(delta, sizeof(delta)));
    cr_assert_not(relay_vp8_is_keyframe(not_start, sizeof(not_start)));
    cr_assert_not(relay_vp8_is_keyframe(partition1, sizeof(partition1)));
    cr_assert(relay_vp8_is_keyframe(ext_key, sizeof(ext_key)));
    cr_assert_not(relay_vp8_is_keyframe(ext_short, sizeof(ext_short)));
    cr_assert_not(relay_vp8_is_keyframe(ext_7bit, sizeof(ext_7bit)));
    cr_assert_not(relay_vp8_is_keyframe(key, 1));
    cr_assert_not(relay_vp8_is_keyframe(key, 0));
}

/* Everything that must not pass is dropped and counted, and the flow goes on unharmed. */
Test(relay, junk_is_dropped_without_disturbing_the_flow)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    send_both_kinds(&c.a, 5);
    gw_pump(&c.g);

    /* An SSRC A never declared. */
    cr_assert_eq(peer_send_rtp(&c.a, LEG_AUDIO, false, 0x77777777), 0);
    cr_assert_eq(c.la->counters.unknown_ssrc, 1);
    c.a.seq[LEG_AUDIO]--; /* that number was not forwarded: keep A's stream gapless */

    /* Unauthenticated: an RTP-looking datagram, and a real one with a flipped bit. */
    uint8_t fake[80] = {0x80, SDP_PT_OPUS, 0x12, 0x34, 0, 0, 0, 1};
    memcpy(fake + 8, (uint8_t[]){0x0A, 0x00, 0x00, 0x01}, 4);
    gw_inject(&c.g, &c.a, fake, sizeof(fake));
    cr_assert_eq(c.la->counters.srtp_auth_failed, 1);

    /* STUN with a wrong password, DTLS junk, random bytes, a TURN channel, and an address
     * nobody validated. */
    uint8_t stun[700];
    size_t n = peer_build_check(&c.a, stun, sizeof(stun), true, "wrongpasswordwrongpassword");
    gw_inject(&c.g, &c.a, stun, n);
    cr_assert_eq(c.la->counters.stun_rejected, 1);
    uint8_t dtls_junk[60];
    memset(dtls_junk, 0x17, sizeof(dtls_junk));
    gw_inject(&c.g, &c.a, dtls_junk, sizeof(dtls_junk));
    uint8_t random[200];
    for (size_t i = 0; i < sizeof(random); i++)
        random[i] = (uint8_t)(i * 37 + 11);
    random[0] = 0x07;
    gw_inject(&c.g, &c.a, random, sizeof(random));
    random[0] = 0x40;
    gw_inject(&c.g, &c.a, random, sizeof(random));
    random[0] = 0x02; /* STUN range, not STUN */
    gw_inject(&c.g, &c.a, random, sizeof(random));
    cr_assert_eq(c.g.mux.counters.not_demultiplexed, 2);
    cr_assert_eq(c.g.mux.counters.malformed_stun, 1);
    struct media_peer stranger;
    peer_init(&stranger, 6099, false, 1, 2, true);
    gw_inject(&c.g, &stranger, fake, sizeof(fake));
    cr_assert_eq(c.g.mux.counters.unknown_address, 1);
    peer_free(&stranger);
    gw_pump(&c.g);

    cr_assert(leg_media_ready(c.la));
    cr_assert(leg_media_ready(c.lb));
    cr_assert_eq(gw_count_events(&c.g, 1, MEDIA_LEG_FAILED, 0), 0);
    cr_assert_eq(gw_count_events(&c.g, 2, MEDIA_LEG_FAILED, 0), 0);
    send_both_kinds(&c.a, 5);
    gw_pump(&c.g);
    bool consecutive;
    cr_assert_eq(peer_count_ssrc(&c.b, TO_B_AUDIO, &consecutive), 10);
    cr_assert(consecutive);
    cr_assert_eq(peer_count_ssrc(&c.b, TO_B_VIDEO, &consecutive), 10);
    cr_assert(consecutive);
    cr_assert_eq(c.b.srtp_failed, 0);
    call_teardown(&c);
}

/* An SRTP packet the leg already accepted is a replay (RFC 3711 §3.3.2): dropped. */
Test(relay, replayed_srtp_is_dropped)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    uint8_t buf[200 + SRTP_SESSION_RTP_TRAILER_ROOM];
    memset(buf, 0, sizeof(buf));
    buf[0] = 0x80;
    buf[1] = SDP_PT_OPUS;
    buf[3] = 9;
    memcpy(buf + 8, (uint8_t[]){0x0A, 0x00, 0x00, 0x01}, 4);
    size_t len = 60;
    cr_assert_eq(srtp_session_protect_rtp(&c.a.srtp, buf, &len, sizeof(buf)), 0);
    gw_inject(&c.g, &c.a, buf, len);
    gw_inject(&c.g, &c.a, buf, len);
    gw_pump(&c.g);
    cr_assert_eq(peer_count_ssrc(&c.b, TO_B_AUDIO, NULL), 1);
    cr_assert_eq(c.la->counters.srtp_auth_failed, 1);
    call_teardown(&c);
}

Test(relay, unbridged_media_is_dropped)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    relay_unbridge(c.lb);
    cr_assert_null(c.la->peer);
    send_both_kinds(&c.a, 2);
    gw_pump(&c.g);
    cr_assert_eq(c.la->counters.no_peer, 4);
    cr_assert_eq(c.b.rtp_count, 0);
    call_teardown(&c);
}

Test(relay, bridge_checks_its_legs)
{
    struct gw_harness g;
    gw_init(&g, T0);
    struct leg *a = gw_add_leg(&g, 1, 1, 2), *b = gw_add_leg(&g, 2, 3, 4),
               *x = gw_add_leg(&g, 3, 5, 6);
    cr_assert_eq(relay_bridge(a, a, &g.io, T0), -EINVAL);
    cr_assert_eq(relay_bridge(a, b, &g.io, T0), 0);
    cr_assert_eq(relay_bridge(b, a, &g.io, T0), 0, "the same pair again");
    cr_assert_eq(relay_bridge(a, x, &g.io, T0), -EBUSY);
    cr_assert_eq(relay_bridge(x, b, &g.io, T0), -EBUSY);
    leg_close(a, &g.io, T0);
    cr_assert_null(b->peer, "closing a leg unbridges its peer");
    cr_assert_eq(relay_bridge(x, b, &g.io, T0), 0);
    gw_remove_leg(&g, a);
    gw_remove_leg(&g, b);
    gw_remove_leg(&g, x);
    gw_free(&g);
}

/* A's SR reaches B restated for B's stream (lip sync), and B's report on it gives B's RTT. */
Test(relay, sender_reports_are_restated_and_give_rtt)
{
    struct call c;
    call_setup(&c, ALL_FB, ALL_FB, false);
    send_both_kinds(&c.a, 3);
    gw_pump(&c.g);
    uint64_t ntp = 0x0000DEAD12345678ull << 8;
    cr_assert_eq(peer_send_sr(&c.a, LEG_VIDEO, ntp), 0);
    gw_pump(&c.g);
    cr_assert_eq(c.b.sr, 1);
    cr_assert_eq(c.b.sr_ssrc, TO_B_VIDEO);

    /* B reports on it 150 ms later, having held it 100 ms: RTT 50 ms. */
    c.g.now_us += 150000;
    struct rtcp_report_block rb = {.ssrc = TO_B_VIDEO,
                                   .lsr = rtcp_ntp_mid(ntp),
                                   .dlsr = (uint32_t)((100000ull << 16) / 1000000u)};
    uint8_t buf[128 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    int n = rtcp_build_rr(buf, 128, B_VIDEO, &rb, 1);
    cr_assert_gt(n, 0);
    size_t len = (size_t)n;
    cr_assert_eq(srtp_session_protect_rtcp(&c.b.srtp, buf, &len, sizeof(buf)), 0);
    gw_inject(&c.g, &c.b, buf, len);
    cr_assert(c.lb->rtt_ms >= 49 && c.lb->rtt_ms <= 51, "rtt %u ms", c.lb->rtt_ms);
    struct media_leg_stats st;
    leg_stats(c.lb, &st);
    cr_assert_eq(st.rtt_ms, c.lb->rtt_ms);

    /* Our next receiver report to A answers A's SR: LSR set. */
    struct leg *legs[] = {c.la};
    gw_tick(&c.g, legs, 1, T0 + SEC);
    cr_assert_geq(c.a.rr, 1);
    call_teardown(&c);
}
