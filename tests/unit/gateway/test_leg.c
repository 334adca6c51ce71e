/* One leg driven by an in-test browser through the real demultiplexer, without sockets:
 * ICE-lite checks, DTLS in both roles, the early ClientHello, failures, timers and close. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <string.h>

#include "balie/leg.h"
#include "balie/relay.h"
#include "balie/sdp.h"
#include "balie/udp_mux.h"
#include "media_peer.h"

#define SEC 1000000ull
#define T0 (5000 * SEC)

struct fixture {
    struct gw_harness g;
    struct media_peer p;
    struct leg *leg;
};

static void setup_one(struct fixture *f, bool browser_dtls_client, bool ipv6)
{
    gw_init(&f->g, T0);
    peer_init(&f->p, 5001, ipv6, 0x11110001, 0x11110002, browser_dtls_client);
    gw_attach(&f->g, &f->p);
    f->leg = gw_add_leg(&f->g, 1, 0xA0A0A001, 0xA0A0A002);
}

static void teardown_one(struct fixture *f)
{
    gw_remove_leg(&f->g, f->leg);
    peer_free(&f->p);
    gw_free(&f->g);
}

static void set_now(struct fixture *f, uint64_t now)
{
    f->g.now_us = now;
    f->p.now_us = now;
}

Test(leg, create_checks_credentials)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct media_leg_params p = {.leg_id = 9, .audio_ssrc = 1, .video_ssrc = 2};
    strcpy(p.ice_ufrag, "abcd");
    strcpy(p.ice_pwd, "0123456789abcdefghijkl");
    struct leg *l = NULL;
    cr_assert_eq(leg_create(&l, &p, NULL, T0), -EINVAL);
    cr_assert_eq(leg_create(&l, &p, id, T0), 0);
    cr_assert_str_eq(l->ice.local_ufrag, "abcd");
    cr_assert_str_eq(l->ice.local_pwd, "0123456789abcdefghijkl");
    leg_free(l);
    strcpy(p.ice_ufrag, "abc"); /* RFC 8839: at least 4 */
    cr_assert_eq(leg_create(&l, &p, id, T0), -EINVAL);
    strcpy(p.ice_ufrag, "abcdefghi"); /* more than struct ice_agent holds */
    cr_assert_eq(leg_create(&l, &p, id, T0), -EINVAL);
    strcpy(p.ice_ufrag, "abcd");
    strcpy(p.ice_pwd, "short");
    cr_assert_eq(leg_create(&l, &p, id, T0), -EINVAL);
    dtls_identity_free(id);
}

static void connect_and_check(bool browser_dtls_client, bool ipv6)
{
    struct fixture f;
    setup_one(&f, browser_dtls_client, ipv6);
    gw_connect(&f.g, f.leg, &f.p);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_DTLS_CONNECTED, 0), 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 0);
    /* The browser's address is bound: its DTLS and SRTP find the leg. */
    struct ice_addr a;
    cr_assert_eq(udp_mux_addr_from_sockaddr((struct sockaddr *)&f.p.addr, f.p.addr_len, &a), 0);
    cr_assert_eq(udp_mux_find_addr(&f.g.mux, &a), f.leg);
    cr_assert_eq(f.leg->srtp.profile, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    cr_assert_eq(f.g.undeliverable, 0);
    teardown_one(&f);
}

Test(leg, connects_as_dtls_server)
{
    connect_and_check(true, false);
}

Test(leg, connects_as_dtls_client)
{
    connect_and_check(false, false);
}

Test(leg, connects_over_ipv6)
{
    connect_and_check(true, true);
}

/* DESIGN.md §3: the browser can check and send its ClientHello before our control thread has
 * passed its answer on. The ClientHello is kept and answered when the answer comes, with no
 * retransmission (no timer runs in this test). */
Test(leg, early_client_hello_is_kept)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    peer_check(&f.p, true);
    gw_pump(&f.g);
    cr_assert_eq(f.p.stun_success, 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 1);
    peer_flush_dtls(&f.p); /* the ClientHello, right after the nominating check */
    cr_assert_eq(f.leg->counters.dtls_early_queued, 1);
    cr_assert_eq(f.leg->early_count, 1);
    gw_pump(&f.g);
    cr_assert_eq(f.p.dtls_in, 0, "nothing can answer before the answer");

    struct media_answer a;
    peer_answer(&f.p, 1, &a);
    cr_assert_eq(leg_answer(f.leg, &f.g.io, &a, f.g.now_us), 0);
    gw_pump(&f.g);
    cr_assert(f.p.srtp_ready);
    cr_assert(leg_media_ready(f.leg));
    cr_assert_eq(f.leg->early_count, 0);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_DTLS_CONNECTED, 0), 1);
    teardown_one(&f);
}

Test(leg, early_queue_is_bounded)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    peer_check(&f.p, true);
    gw_pump(&f.g);
    uint8_t junk[100];
    memset(junk, 22, sizeof(junk));
    for (int i = 0; i < LEG_EARLY_DTLS + 3; i++)
        gw_inject(&f.g, &f.p, junk, sizeof(junk));
    cr_assert_eq(f.leg->counters.dtls_early_queued, LEG_EARLY_DTLS);
    cr_assert_eq(f.leg->counters.dtls_early_dropped, 3);
    teardown_one(&f);
}

Test(leg, wrong_password_is_rejected_and_binds_nothing)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    uint8_t buf[700];
    size_t n = peer_build_check(&f.p, buf, sizeof(buf), true, "notthepasswordnotthepassword");
    gw_inject(&f.g, &f.p, buf, n);
    gw_pump(&f.g);
    cr_assert_eq(f.p.stun_error, 1, "RFC 8489 §9.1.3: a 401 goes back");
    cr_assert_eq(f.p.stun_success, 0);
    cr_assert_eq(f.leg->counters.stun_rejected, 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 0);
    cr_assert_eq(f.g.mux.addrs.count, 0);
    /* DTLS from the address is not the leg's business yet. */
    peer_flush_dtls(&f.p);
    cr_assert_eq(f.g.mux.counters.unknown_address, 1);
    cr_assert_eq(f.leg->counters.dtls_early_queued, 0);
    teardown_one(&f);
}

/* The first valid check binds the address even without USE-CANDIDATE, and media may go there
 * at once (RFC 8445 §12.1: any valid pair before nomination); nomination reports ICE
 * connected. */
Test(leg, first_valid_check_binds_before_nomination)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    peer_check(&f.p, false);
    gw_pump(&f.g);
    cr_assert_eq(f.g.mux.addrs.count, 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 0);
    socklen_t len = 0;
    const struct sockaddr *to = leg_media_address(f.leg, &len);
    cr_assert_not_null(to, "a validated address carries media before nomination");
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(ntohs(((const struct sockaddr_in *)to)->sin_port), 5001);
    peer_check(&f.p, true);
    gw_pump(&f.g);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 1);
    cr_assert_not_null(leg_media_address(f.leg, NULL));
    teardown_one(&f);
}

Test(leg, fingerprint_mismatch_fails_dtls)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    struct media_answer a;
    peer_answer(&f.p, 1, &a);
    a.fingerprint[5] ^= 0x20; /* not the certificate the browser will show */
    cr_assert_eq(leg_answer(f.leg, &f.g.io, &a, f.g.now_us), 0);
    peer_check(&f.p, true);
    gw_pump(&f.g);
    peer_flush_dtls(&f.p);
    gw_pump(&f.g);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, MEDIA_FAIL_DTLS), 1);
    cr_assert_not(leg_media_ready(f.leg));
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_DTLS_CONNECTED, 0), 0);
    /* A failed leg drops everything and says nothing more. */
    peer_check(&f.p, true);
    gw_pump(&f.g);
    cr_assert_gt(f.leg->counters.failed_input, 0);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 1);
    cr_assert_eq(leg_next_timeout_us(f.leg, f.g.now_us), UINT64_MAX);
    teardown_one(&f);
}

Test(leg, consent_expiry_fails_with_consent)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    struct leg *legs[] = {f.leg};
    /* Checks keep consent (RFC 7675 §5.1) … */
    for (int i = 1; i <= 3; i++) {
        set_now(&f, T0 + (uint64_t)i * 20 * SEC);
        peer_check(&f.p, true);
        gw_tick(&f.g, legs, 1, f.g.now_us);
    }
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 0);
    uint64_t last = T0 + 60 * SEC;
    cr_assert_eq(leg_next_timeout_us(f.leg, last) <= last + 30 * SEC, true);
    gw_tick(&f.g, legs, 1, last + 29 * SEC);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 0);
    /* … and 30 s without one end it. */
    gw_tick(&f.g, legs, 1, last + 30 * SEC);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, MEDIA_FAIL_CONSENT), 1);
    gw_tick(&f.g, legs, 1, last + 40 * SEC);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 1, "reported once");
    peer_send_rtp(&f.p, LEG_AUDIO, false, 0);
    cr_assert_eq(f.leg->counters.failed_input, 1);
    teardown_one(&f);
}

Test(leg, no_check_in_30s_fails_ice)
{
    struct fixture f;
    setup_one(&f, true, false);
    struct leg *legs[] = {f.leg};
    cr_assert_eq(leg_next_timeout_us(f.leg, T0), T0 + 30 * SEC);
    gw_tick(&f.g, legs, 1, T0 + 29 * SEC);
    cr_assert_eq(f.g.n_events, 0);
    gw_tick(&f.g, legs, 1, T0 + 30 * SEC);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, MEDIA_FAIL_ICE), 1);
    teardown_one(&f);
}

Test(leg, no_dtls_in_30s_fails_dtls)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    struct leg *legs[] = {f.leg};
    for (int i = 0; i <= 6; i++) { /* consent stays fresh; DTLS never starts */
        set_now(&f, T0 + (uint64_t)i * 5 * SEC);
        peer_check(&f.p, true);
        gw_tick(&f.g, legs, 1, f.g.now_us);
    }
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, MEDIA_FAIL_DTLS), 1);
    teardown_one(&f);
}

Test(leg, media_before_dtls_is_dropped)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    peer_check(&f.p, true);
    gw_pump(&f.g);
    uint8_t rtp[60] = {0x80, SDP_PT_OPUS, 0, 1, 0, 0, 0, 1, 0x11, 0x11, 0, 1};
    gw_inject(&f.g, &f.p, rtp, sizeof(rtp));
    cr_assert_eq(f.leg->counters.srtp_not_ready, 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FLOWING, 0), 0);
    teardown_one(&f);
}

Test(leg, flowing_once_and_stats)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(peer_send_rtp(&f.p, LEG_AUDIO, false, 0), 0);
        cr_assert_eq(peer_send_rtp(&f.p, LEG_VIDEO, i == 0, 0), 0);
    }
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FLOWING, 0), 1);
    struct media_leg_stats st;
    leg_stats(f.leg, &st);
    cr_assert_eq(st.leg_id, 1);
    cr_assert_eq(st.audio_packets_in, 5);
    cr_assert_eq(st.video_packets_in, 5);
    cr_assert_eq(st.audio_bytes_in, 5 * (12 + 40));
    cr_assert_eq(st.video_bytes_in, 5 * (12 + 42));
    cr_assert_eq(st.dropped, 10, "not bridged: every packet had nowhere to go");
    cr_assert_eq(f.leg->counters.no_peer, 10);
    cr_assert_eq(st.lost, 0);
    teardown_one(&f);
}

/* Once a second the browser gets our receiver report about what it sends (RFC 3550 §6.4.2). */
Test(leg, receiver_reports_once_a_second)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    cr_assert_eq(peer_send_rtp(&f.p, LEG_AUDIO, false, 0), 0);
    cr_assert_eq(peer_send_rtp(&f.p, LEG_VIDEO, true, 0), 0);
    struct leg *legs[] = {f.leg};
    gw_tick(&f.g, legs, 1, T0 + SEC / 2);
    cr_assert_eq(f.p.rr, 0);
    gw_tick(&f.g, legs, 1, T0 + SEC);
    cr_assert_eq(f.p.rr, 1);
    cr_assert_eq(f.p.rr_blocks, 2);
    cr_assert_eq(f.p.rr_block_ssrc[0], 0x11110001);
    cr_assert_eq(f.p.rr_block_ssrc[1], 0x11110002);
    gw_tick(&f.g, legs, 1, T0 + 2 * SEC);
    cr_assert_eq(f.p.rr, 2);
    teardown_one(&f);
}

Test(leg, close_says_goodbye_and_unbinds)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    cr_assert_eq(f.g.mux.addrs.count, 1);
    leg_close(f.leg, &f.g.io, f.g.now_us);
    gw_pump(&f.g);
    cr_assert_eq(dtls_conn_state(f.p.dtls), DTLS_CLOSED, "close_notify reached the browser");
    cr_assert_eq(f.g.mux.addrs.count, 0);
    cr_assert_not(leg_media_ready(f.leg));
    teardown_one(&f);
}

/* A browser that closes DTLS ends its media: the leg fails at the DTLS stage. */
Test(leg, browser_close_notify_fails_the_leg)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    dtls_conn_close(f.p.dtls);
    peer_flush_dtls(&f.p);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, MEDIA_FAIL_DTLS), 1);
    teardown_one(&f);
}

/* A second answer (renegotiation) changes the streams, not ICE or DTLS. */
Test(leg, second_answer_updates_ssrcs)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    struct media_answer a;
    peer_answer(&f.p, 1, &a);
    a.video_ssrc = 0x22220002;
    cr_assert_eq(leg_answer(f.leg, &f.g.io, &a, f.g.now_us), 0);
    cr_assert_eq(f.leg->in_ssrc[LEG_VIDEO], 0x22220002);
    cr_assert(leg_media_ready(f.leg));
    teardown_one(&f);
}

/* Without a=ssrc in the answer, the first SSRC with our payload type is taken. */
Test(leg, answer_without_ssrcs_latches_by_payload_type)
{
    struct fixture f;
    setup_one(&f, true, false);
    peer_offer(&f.p, &f.leg->params, dtls_identity_fingerprint_bytes(f.g.id));
    struct media_answer a;
    peer_answer(&f.p, 1, &a);
    a.audio_ssrc = 0;
    a.video_ssrc = 0;
    cr_assert_eq(leg_answer(f.leg, &f.g.io, &a, f.g.now_us), 0);
    peer_check(&f.p, true);
    gw_pump(&f.g);
    peer_flush_dtls(&f.p);
    gw_pump(&f.g);
    cr_assert(leg_media_ready(f.leg));
    cr_assert_eq(peer_send_rtp(&f.p, LEG_VIDEO, true, 0), 0);
    cr_assert_eq(peer_send_rtp(&f.p, LEG_AUDIO, false, 0), 0);
    cr_assert_eq(f.leg->in_ssrc[LEG_VIDEO], 0x11110002);
    cr_assert_eq(f.leg->in_ssrc[LEG_AUDIO], 0x11110001);
    cr_assert_eq(peer_send_rtp(&f.p, LEG_AUDIO, false, 0x5555), 0);
    cr_assert_eq(f.leg->counters.unknown_ssrc, 1, "only one SSRC per kind is latched");
    teardown_one(&f);
}

/* A browser whose path goes quiet is reported once; an ICE restart with new credentials keeps
 * DTLS and SRTP, answers the old credentials until the new ones validate, and media goes on. */
Test(leg, quiet_path_then_ice_restart_keeps_media)
{
    struct fixture f;
    setup_one(&f, true, false);
    gw_connect(&f.g, f.leg, &f.p);
    struct leg *legs[] = {f.leg};
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 1);
    cr_assert_eq(peer_send_rtp(&f.p, LEG_AUDIO, false, 0), 0);

    /* Two missed consent refreshes: disconnected, reported once, long before consent lapses. */
    uint64_t quiet = T0 + MEDIA_QUIET_MS_DEFAULT * 1000ull;
    gw_tick(&f.g, legs, 1, quiet - 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_DISCONNECTED, 0), 0);
    gw_tick(&f.g, legs, 1, quiet);
    gw_tick(&f.g, legs, 1, quiet + SEC);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_DISCONNECTED, 0), 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 0);

    /* The control thread's new offer: new local credentials for the leg. */
    struct media_leg_params np = f.leg->params;
    snprintf(np.ice_ufrag, sizeof(np.ice_ufrag), "NewUfrag");
    snprintf(np.ice_pwd, sizeof(np.ice_pwd), "NewPasswordForRestart24");
    char old_ufrag[sizeof(f.p.gw_ufrag)], old_pwd[sizeof(f.p.gw_pwd)];
    snprintf(old_ufrag, sizeof(old_ufrag), "%s", f.p.gw_ufrag);
    snprintf(old_pwd, sizeof(old_pwd), "%s", f.p.gw_pwd);
    cr_assert_eq(leg_restart(f.leg, &np), 0);
    cr_assert_str_eq(f.leg->previous_ufrag, old_ufrag);
    cr_assert_eq(udp_mux_add_ufrag(&f.g.mux, np.ice_ufrag, strlen(np.ice_ufrag), f.leg), 0);

    /* The old path comes back before the browser answers: still answered, reconnected. */
    set_now(&f, quiet + 2 * SEC);
    unsigned ok = f.p.stun_success;
    peer_check(&f.p, true);
    gw_pump(&f.g);
    cr_assert_eq(f.p.stun_success, ok + 1, "the old credentials must still be answered");
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_ICE_CONNECTED, 0), 2);

    /* The browser's answer with its own new credentials; checks with the new ones validate. */
    snprintf(f.p.ufrag, sizeof(f.p.ufrag), "brw2");
    snprintf(f.p.pwd, sizeof(f.p.pwd), "browserPasswordNumber2xx");
    snprintf(f.p.gw_ufrag, sizeof(f.p.gw_ufrag), "%s", np.ice_ufrag);
    snprintf(f.p.gw_pwd, sizeof(f.p.gw_pwd), "%s", np.ice_pwd);
    struct media_answer a;
    peer_answer(&f.p, 1, &a);
    cr_assert_eq(leg_answer(f.leg, &f.g.io, &a, f.g.now_us), 0);
    cr_assert_not(f.leg->restarting);
    ok = f.p.stun_success;
    peer_check(&f.p, true);
    gw_pump(&f.g);
    cr_assert_eq(f.p.stun_success, ok + 1, "a check with the new credentials must validate");

    /* The old credentials are no longer good once the new ones validated (RFC 8445 §9). */
    snprintf(f.p.gw_ufrag, sizeof(f.p.gw_ufrag), "%s", old_ufrag);
    snprintf(f.p.gw_pwd, sizeof(f.p.gw_pwd), "%s", old_pwd);
    ok = f.p.stun_success;
    peer_check(&f.p, true);
    gw_pump(&f.g);
    cr_assert_eq(f.p.stun_success, ok, "the old credentials must be refused after the restart");

    /* DTLS and SRTP were kept: media from the browser is still authenticated and counted. */
    struct media_leg_stats before, after;
    leg_stats(f.leg, &before);
    cr_assert_eq(peer_send_rtp(&f.p, LEG_AUDIO, false, 0), 0);
    leg_stats(f.leg, &after);
    cr_assert_eq(after.audio_packets_in, before.audio_packets_in + 1);
    cr_assert_eq(gw_count_events(&f.g, 1, MEDIA_LEG_FAILED, 0), 0);
    teardown_one(&f);
}

Test(leg, restart_refuses_bad_credentials)
{
    struct fixture f;
    setup_one(&f, true, false);
    struct media_leg_params np = f.leg->params;
    snprintf(np.ice_ufrag, sizeof(np.ice_ufrag), "ab");
    cr_assert_eq(leg_restart(f.leg, &np), -EINVAL);
    cr_assert_not(f.leg->restarting);
    teardown_one(&f);
}
