/* Tests the load peer's own pieces that its numbers depend on: the latency histogram, and its
 * SDP against the gateway's real offer builder and answer parser. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "balie/dtls.h"
#include "balie/sdp.h"
#include "loadpeer.h"

struct dtls_identity *lp_identity;

Test(hist, quantiles_of_known_values)
{
    static struct lp_hist h;
    memset(&h, 0, sizeof(h));
    /* 1..1000 µs: p50 is in the 500 µs bucket, p99 in the 990 µs one. */
    for (uint64_t us = 1; us <= 1000; us++)
        lp_hist_add(&h, us * 1000 + 300);
    cr_assert_eq(h.count, 1000);
    cr_assert_float_eq(lp_hist_quantile_us(&h, 0.5), 501.5, 0.01);
    cr_assert_float_eq(lp_hist_quantile_us(&h, 0.99), 991.5, 0.01);
    cr_assert_float_eq(lp_hist_quantile_us(&h, 1.0), 1000.5, 0.01);
}

Test(hist, coarse_buckets_and_overflow)
{
    static struct lp_hist h;
    memset(&h, 0, sizeof(h));
    lp_hist_add(&h, 25ull * 1000 * 1000);   /* 25 ms: a 100 µs bucket */
    lp_hist_add(&h, 5ull * 1000 * 1000000); /* 5 s: past the last bucket */
    cr_assert_float_eq(lp_hist_quantile_us(&h, 0.0), 25050.0, 0.01);
    cr_assert_float_eq(lp_hist_quantile_us(&h, 1.0), 5e6, 0.01, "overflow reports the maximum");
    struct lp_hist empty;
    memset(&empty, 0, sizeof(empty));
    cr_assert_eq(lp_hist_quantile_us(&empty, 0.5), -1);
}

static void offer_params(struct sdp_offer_params *p)
{
    memset(p, 0, sizeof(*p));
    p->session_id = 4962303333179871722ull;
    p->session_version = 1;
    strcpy(p->ice_ufrag, "bAl1e+Gw");
    strcpy(p->ice_pwd, "Zq8/W3vLmN5pQ7rT2sX9kY4c");
    strcpy(p->fingerprint, dtls_identity_fingerprint(lp_identity));
    p->audio_ssrc = 11111111;
    p->video_ssrc = 22222222;
    strcpy(p->cname, "balie");
    strcpy(p->candidates[0].address, "127.0.0.1");
    p->candidates[0].port = 40123;
    p->candidate_count = 1;
    p->ice_lite = true;
}

/* The gateway's own offer is read, and the answer written from it passes the gateway's own
 * answer parser: what the load peer does is what a browser does. */
Test(sdp, answers_the_gateways_offer_as_the_gateway_expects)
{
    cr_assert_eq(dtls_identity_create(&lp_identity), 0);
    struct sdp_offer_params op;
    offer_params(&op);
    char offer[SDP_OFFER_MAX];
    cr_assert_gt(sdp_build_offer(&op, offer, sizeof(offer)), 0);

    static struct lp_peer p;
    memset(&p, 0, sizeof(p));
    lp_peer_credentials(&p);
    cr_assert_eq(lp_peer_socket(&p), 0);
    struct sockaddr_in addr;
    cr_assert_eq(lp_sdp_read_remote(&p, offer, &addr), 0);
    cr_assert_str_eq(p.remote_ufrag, "bAl1e+Gw");
    cr_assert_str_eq(p.remote_pwd, "Zq8/W3vLmN5pQ7rT2sX9kY4c");
    cr_assert_eq(ntohs(addr.sin_port), 40123);
    cr_assert_eq(ntohl(addr.sin_addr.s_addr), 0x7F000001u);
    cr_assert_not(p.dtls_server,
                  "an actpass offer is answered active: the load peer is the client");
    cr_assert_eq(p.audio_pt, SDP_PT_OPUS);
    cr_assert_eq(p.video_pt, SDP_PT_VP8);
    cr_assert_eq(
        memcmp(p.remote_fp, dtls_identity_fingerprint_bytes(lp_identity), DTLS_FINGERPRINT_LEN), 0);

    static struct lp_run run;
    char answer[8192];
    int n = lp_sdp_write(&p, &run, false, answer, sizeof(answer));
    cr_assert_gt(n, 0);
    /* The gateway refuses an answer that repeats its own fingerprint; a fresh identity stands
     * in for the load peer's. */
    struct dtls_identity *gateway_id = lp_identity;
    cr_assert_eq(dtls_identity_create(&lp_identity), 0);
    n = lp_sdp_write(&p, &run, false, answer, sizeof(answer));
    struct sdp_answer a;
    char err[128] = "";
    int rc = sdp_parse_answer(answer, (size_t)n, &op, &a, err, sizeof(err));
    cr_assert_eq(rc, 0, "the gateway refused the answer: %s", err);
    cr_assert(a.bundle);
    cr_assert_eq(a.setup, SDP_SETUP_ACTIVE);
    cr_assert_str_eq(a.ice_ufrag, p.local_ufrag);
    cr_assert_eq(a.media[0].ssrc, p.audio_ssrc);
    cr_assert_eq(a.media[1].ssrc, p.video_ssrc);
    cr_assert_eq(
        memcmp(a.fingerprint, dtls_identity_fingerprint_bytes(lp_identity), DTLS_FINGERPRINT_LEN),
        0);
    close(p.fd);
    dtls_identity_free(lp_identity);
    dtls_identity_free(gateway_id);
}

Test(sdp, refuses_an_offer_without_a_usable_candidate)
{
    cr_assert_eq(dtls_identity_create(&lp_identity), 0);
    struct sdp_offer_params op;
    offer_params(&op);
    strcpy(op.candidates[0].address, "::1");
    char offer[SDP_OFFER_MAX];
    cr_assert_gt(sdp_build_offer(&op, offer, sizeof(offer)), 0);
    static struct lp_peer p;
    memset(&p, 0, sizeof(p));
    struct sockaddr_in addr;
    cr_assert_eq(lp_sdp_read_remote(&p, offer, &addr), -1, "only IPv4 UDP candidates are used");
    dtls_identity_free(lp_identity);
}
