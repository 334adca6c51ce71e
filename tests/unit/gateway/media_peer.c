#include "media_peer.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balie/rtcp.h"
#include "balie/rtp.h"
#include "balie/sdp.h"
#include "balie/stun.h"

/* ---- The browser -------------------------------------------------------------------------- */

void peer_init(struct media_peer *p, uint16_t port, bool ipv6, uint32_t audio_ssrc,
               uint32_t video_ssrc, bool dtls_client)
{
    memset(p, 0, sizeof(*p));
    if (ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&p->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        p->addr_len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&p->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        p->addr_len = sizeof(*a);
    }
    snprintf(p->ufrag, sizeof(p->ufrag), "br%u", (unsigned)port);
    snprintf(p->pwd, sizeof(p->pwd), "browserpassword%07u", (unsigned)port);
    p->dtls_client = dtls_client;
    p->ssrc[LEG_AUDIO] = audio_ssrc;
    p->ssrc[LEG_VIDEO] = video_ssrc;
    p->seq[LEG_AUDIO] = (uint16_t)(port * 7);
    p->seq[LEG_VIDEO] = 65530; /* wraps early: continuity across the wrap is checked too */
    p->ts[LEG_AUDIO] = 1000u * port;
    p->ts[LEG_VIDEO] = 0xFFFF0000u;
    p->video_rtcp_fb = SDP_RTCP_FB_NACK | SDP_RTCP_FB_NACK_PLI | SDP_RTCP_FB_CCM_FIR;
    cr_assert_eq(dtls_identity_create(&p->id), 0);
}

void peer_free(struct media_peer *p)
{
    dtls_conn_free(p->dtls);
    srtp_session_free(&p->srtp);
    dtls_identity_free(p->id);
    p->dtls = NULL;
    p->id = NULL;
}

void peer_offer(struct media_peer *p, const struct media_leg_params *leg, const uint8_t *gw_fp)
{
    snprintf(p->gw_ufrag, sizeof(p->gw_ufrag), "%s", leg->ice_ufrag);
    snprintf(p->gw_pwd, sizeof(p->gw_pwd), "%s", leg->ice_pwd);
    dtls_conn_free(p->dtls);
    cr_assert_eq(dtls_conn_create(&p->dtls, p->id,
                                  p->dtls_client ? DTLS_ROLE_CLIENT : DTLS_ROLE_SERVER, gw_fp),
                 0);
}

void peer_answer(const struct media_peer *p, uint64_t leg_id, struct media_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->leg_id = leg_id;
    snprintf(a->ice_ufrag, sizeof(a->ice_ufrag), "%s", p->ufrag);
    snprintf(a->ice_pwd, sizeof(a->ice_pwd), "%s", p->pwd);
    memcpy(a->fingerprint, dtls_identity_fingerprint_bytes(p->id), sizeof(a->fingerprint));
    a->dtls_client = !p->dtls_client; /* the browser passive: we connect */
    a->audio_ssrc = p->ssrc[LEG_AUDIO];
    a->video_ssrc = p->ssrc[LEG_VIDEO];
    a->video_rtcp_fb = p->video_rtcp_fb;
}

size_t peer_build_check(struct media_peer *p, uint8_t *buf, size_t cap, bool use_candidate,
                        const char *pwd)
{
    char username[600];
    snprintf(username, sizeof(username), "%s:%s", p->gw_ufrag, p->ufrag);
    uint8_t txid[STUN_TXID_LEN] = {0xB1, 0x0E};
    txid[10] = (uint8_t)p->addr.ss_family;
    txid[11] = ++p->txid;
    txid[9] = (uint8_t)p->ufrag[2];
    const char *key = pwd ? pwd : p->gw_pwd;
    struct stun_binding_params bp = {.username = username,
                                     .key = (const uint8_t *)key,
                                     .key_len = strlen(key),
                                     .priority = 0x6e7f1eff,
                                     .controlling = true,
                                     .tie_breaker = 0x0102030405060708ull,
                                     .use_candidate = use_candidate};
    int n = stun_build_binding_request(buf, cap, txid, &bp);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

void peer_check(struct media_peer *p, bool use_candidate)
{
    uint8_t buf[700];
    size_t n = peer_build_check(p, buf, sizeof(buf), use_candidate, NULL);
    p->send(p, buf, n);
}

void peer_flush_dtls(struct media_peer *p)
{
    uint8_t dg[PEER_DG_MAX];
    size_t n;
    while (p->dtls && (n = dtls_conn_poll(p->dtls, dg, sizeof(dg))) > 0)
        p->send(p, dg, n);
}

static int on_rtcp(const struct rtcp_packet *pk, void *arg)
{
    struct media_peer *p = arg;
    if (pk->type == RTCP_PSFB && pk->count == RTCP_PSFB_PLI) {
        struct rtcp_pli pli;
        if (rtcp_parse_pli(pk, &pli) == 0) {
            p->pli++;
            p->pli_media = pli.media_ssrc;
        }
    } else if (pk->type == RTCP_PSFB && pk->count == RTCP_PSFB_FIR) {
        struct rtcp_fir fir;
        if (rtcp_parse_fir(pk, &fir) == 0 && fir.entry_count > 0) {
            p->fir++;
            p->fir_media = rtcp_fir_entry(&fir, 0).ssrc;
        }
    } else if (pk->type == RTCP_PSFB && pk->count == RTCP_PSFB_AFB) {
        p->remb++;
    } else if (pk->type == RTCP_RTPFB && pk->count == RTCP_RTPFB_NACK) {
        struct rtcp_nack nack;
        if (rtcp_parse_nack(pk, &nack) == 0) {
            p->nack++;
            p->nack_media = nack.media_ssrc;
        }
    } else if (pk->type == RTCP_SR) {
        struct rtcp_sr sr;
        if (rtcp_parse_sr(pk, &sr) == 0) {
            p->sr++;
            p->sr_ssrc = sr.ssrc;
        }
    } else if (pk->type == RTCP_RR) {
        static struct rtcp_rr rr;
        if (rtcp_parse_rr(pk, &rr) == 0) {
            p->rr++;
            if (rr.block_count > 0) {
                p->rr_blocks = rr.block_count;
                for (size_t i = 0; i < rr.block_count && i < 2; i++)
                    p->rr_block_ssrc[i] = rr.blocks[i].ssrc;
            }
        }
    }
    return 0;
}

static void peer_receive_srtp(struct media_peer *p, uint8_t *buf, size_t len)
{
    if (!p->srtp_ready) {
        p->srtp_failed++;
        return;
    }
    if (rtp_is_rtcp(buf, len)) {
        if (srtp_session_unprotect_rtcp(&p->srtp, buf, &len) != 0) {
            p->srtp_failed++;
            return;
        }
        cr_assert_geq(rtcp_walk(buf, len, on_rtcp, p), 1, "the gateway sent bad RTCP");
        return;
    }
    if (srtp_session_unprotect_rtp(&p->srtp, buf, &len) != 0) {
        p->srtp_failed++;
        return;
    }
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0, "the gateway sent bad RTP");
    if (p->rtp_count < PEER_MAX_RTP) {
        struct peer_rtp_seen *s = &p->rtp[p->rtp_count++];
        s->ssrc = h.ssrc;
        s->seq = h.seq;
        s->ts = h.timestamp;
        s->pt = h.payload_type;
        s->payload_len = h.payload_len;
        s->payload0 = h.payload_len ? h.payload[0] : 0;
        memset(s->head, 0, sizeof(s->head));
        memcpy(s->head, h.payload, h.payload_len < 4 ? h.payload_len : 4);
        s->marker = h.marker;
    }
}

void peer_receive(struct media_peer *p, const uint8_t *in, size_t len)
{
    uint8_t buf[PEER_DG_MAX + SRTP_SESSION_RTP_TRAILER_ROOM];
    cr_assert_leq(len, PEER_DG_MAX);
    cr_assert_gt(len, 0);
    memcpy(buf, in, len);
    if (buf[0] <= 3) {
        struct stun_msg m;
        cr_assert_eq(stun_parse(buf, len, &m), 0, "the gateway sent bad STUN");
        if (m.cls == STUN_CLASS_SUCCESS) {
            cr_assert_eq(
                stun_check_integrity(buf, len, &m, (const uint8_t *)p->gw_pwd, strlen(p->gw_pwd)),
                0);
            p->stun_success++;
        } else {
            p->stun_error++;
        }
    } else if (buf[0] >= 20 && buf[0] <= 63) {
        p->dtls_in++;
        if (!p->dtls)
            return;
        (void)dtls_conn_input(p->dtls, p->now_us, buf, len);
        peer_flush_dtls(p);
        if (!p->srtp_ready && dtls_conn_state(p->dtls) == DTLS_CONNECTED) {
            struct srtp_keys k;
            cr_assert_eq(dtls_conn_srtp_keys(p->dtls, &k), 0);
            cr_assert_eq(srtp_session_init(&p->srtp, &k), 0);
            p->srtp_ready = true;
        }
    } else if (buf[0] >= 128 && buf[0] <= 191) {
        peer_receive_srtp(p, buf, len);
    } else {
        cr_assert_fail("the gateway sent a datagram starting with %u", buf[0]);
    }
}

int peer_send_rtp(struct media_peer *p, enum leg_kind kind, bool keyframe, uint32_t ssrc)
{
    uint8_t buf[200 + SRTP_SESSION_RTP_TRAILER_ROOM];
    memset(buf, 0, sizeof(buf));
    uint16_t seq = p->seq[kind]++;
    uint32_t ts = p->ts[kind];
    p->ts[kind] += kind == LEG_AUDIO ? 960u : 3000u;
    uint32_t s = ssrc ? ssrc : p->ssrc[kind];
    buf[0] = 0x80;
    buf[1] = kind == LEG_AUDIO ? SDP_PT_OPUS : SDP_PT_VP8;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        buf[8 + i] = (uint8_t)(s >> (24 - 8 * i));
    }
    size_t len = 12;
    if (kind == LEG_VIDEO && p->vp8_picture_id) {
        buf[len++] = 0x90; /* VP8 descriptor: X = 1, S = 1; I = 1, M = 1 (RFC 7741 §4.2) */
        buf[len++] = 0x80;
        buf[len++] = (uint8_t)(0x80 | (p->picture_id >> 8));
        buf[len++] = (uint8_t)p->picture_id;
        p->picture_id = (uint16_t)((p->picture_id + 1) & 0x7FFF);
        buf[len++] = keyframe ? 0x00 : 0x01;
    } else if (kind == LEG_VIDEO) {
        buf[len++] = 0x10;                   /* VP8 descriptor: S = 1, partition 0 */
        buf[len++] = keyframe ? 0x00 : 0x01; /* VP8 payload header: P = 0 for a key frame */
    }
    for (int i = 0; i < 40; i++)
        buf[len++] = (uint8_t)(0xA0 + i);
    int rc = srtp_session_protect_rtp(&p->srtp, buf, &len, sizeof(buf));
    if (rc == 0)
        p->send(p, buf, len);
    return rc;
}

static int send_rtcp(struct media_peer *p, uint8_t *buf, size_t len, size_t cap)
{
    int rc = srtp_session_protect_rtcp(&p->srtp, buf, &len, cap);
    if (rc == 0)
        p->send(p, buf, len);
    return rc;
}

int peer_send_pli(struct media_peer *p, uint32_t media_ssrc)
{
    uint8_t buf[64 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    int n = rtcp_build_pli(buf, 64, p->ssrc[LEG_VIDEO], media_ssrc);
    cr_assert_gt(n, 0);
    return send_rtcp(p, buf, (size_t)n, sizeof(buf));
}

int peer_send_sr(struct media_peer *p, enum leg_kind kind, uint64_t ntp)
{
    uint8_t buf[64 + SRTP_SESSION_RTCP_TRAILER_ROOM];
    struct rtcp_sender_info si = {
        .ntp = ntp, .rtp_ts = p->ts[kind], .packet_count = 10, .octet_count = 400};
    int n = rtcp_build_sr(buf, 64, p->ssrc[kind], &si, NULL, 0);
    cr_assert_gt(n, 0);
    return send_rtcp(p, buf, (size_t)n, sizeof(buf));
}

size_t peer_count_ssrc(const struct media_peer *p, uint32_t ssrc, bool *consecutive)
{
    size_t count = 0;
    bool ok = true;
    uint16_t last = 0;
    for (size_t i = 0; i < p->rtp_count; i++) {
        if (p->rtp[i].ssrc != ssrc)
            continue;
        if (count > 0 && p->rtp[i].seq != (uint16_t)(last + 1))
            ok = false;
        last = p->rtp[i].seq;
        count++;
    }
    if (consecutive)
        *consecutive = ok;
    return count;
}

/* ---- The sans-IO gateway ------------------------------------------------------------------ */

static void h_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
                   socklen_t to_len)
{
    struct gw_harness *g = ctx;
    cr_assert_lt(g->out_count, GW_MAX_OUT, "the gateway sent too much");
    cr_assert_leq(len, PEER_DG_MAX);
    struct gw_datagram *d = &g->out[g->out_count++];
    memcpy(d->data, buf, len);
    d->len = len;
    memcpy(&d->to, to, (size_t)to_len);
    d->to_len = to_len;
}

static void h_state(void *ctx, struct leg *leg, enum media_leg_state state,
                    enum media_fail_stage stage)
{
    struct gw_harness *g = ctx;
    cr_assert_lt(g->n_events, GW_MAX_EVENTS);
    g->events[g->n_events++] = (struct gw_event){leg->params.leg_id, state, stage};
}

static void h_bind(void *ctx, struct leg *leg, const struct ice_addr *addr, bool bound)
{
    struct gw_harness *g = ctx;
    if (bound)
        cr_assert_eq(udp_mux_bind_addr(&g->mux, addr, leg), 0);
    else
        udp_mux_unbind_addr(&g->mux, addr, leg);
}

void gw_init(struct gw_harness *g, uint64_t now_us)
{
    memset(g, 0, sizeof(*g));
    udp_mux_init(&g->mux);
    g->io = (struct leg_io){.ctx = g, .send = h_send, .state = h_state, .bind = h_bind};
    g->now_us = now_us;
    g->out = calloc(GW_MAX_OUT, sizeof(*g->out));
    cr_assert_not_null(g->out);
    cr_assert_eq(dtls_identity_create(&g->id), 0);
}

void gw_free(struct gw_harness *g)
{
    udp_mux_free(&g->mux);
    free(g->out);
    dtls_identity_free(g->id);
}

struct leg *gw_add_leg(struct gw_harness *g, uint64_t leg_id, uint32_t audio_ssrc,
                       uint32_t video_ssrc)
{
    struct media_leg_params p;
    memset(&p, 0, sizeof(p));
    p.leg_id = leg_id;
    snprintf(p.call_id, sizeof(p.call_id), "call-1");
    snprintf(p.ice_ufrag, sizeof(p.ice_ufrag), "L%uuf", (unsigned)leg_id);
    snprintf(p.ice_pwd, sizeof(p.ice_pwd), "legpassword%u+legpassword/", (unsigned)leg_id);
    p.ice_pwd[ICE_PWD_LEN] = '\0';
    p.audio_ssrc = audio_ssrc;
    p.video_ssrc = video_ssrc;
    struct leg *l = NULL;
    cr_assert_eq(leg_create(&l, &p, g->id, g->now_us), 0);
    cr_assert_eq(udp_mux_add_ufrag(&g->mux, p.ice_ufrag, strlen(p.ice_ufrag), l), 0);
    return l;
}

void gw_remove_leg(struct gw_harness *g, struct leg *l)
{
    udp_mux_remove_ufrag(&g->mux, l->params.ice_ufrag, strlen(l->params.ice_ufrag), l);
    leg_free(l);
}

void gw_inject(struct gw_harness *g, const struct media_peer *p, const uint8_t *buf, size_t len)
{
    uint8_t copy[PEER_DG_MAX + SRTP_SESSION_RTP_TRAILER_ROOM];
    cr_assert_leq(len, PEER_DG_MAX);
    memcpy(copy, buf, len);
    (void)udp_mux_dispatch(&g->mux, &g->io, g->now_us, copy, len, sizeof(copy),
                           (const struct sockaddr *)&p->addr, p->addr_len);
}

static void h_peer_send(struct media_peer *p, const uint8_t *buf, size_t len)
{
    gw_inject(p->ctx, p, buf, len);
}

void gw_attach(struct gw_harness *g, struct media_peer *p)
{
    cr_assert_lt(g->n_peers, GW_MAX_PEERS);
    g->peers[g->n_peers++] = p;
    p->send = h_peer_send;
    p->ctx = g;
    p->now_us = g->now_us;
}

void gw_pump(struct gw_harness *g)
{
    if (g->hold)
        return;
    /* Delivery may make the gateway send more: the loop sees those as they are appended. */
    for (size_t i = 0; i < g->out_count; i++) {
        struct gw_datagram d = g->out[i];
        struct media_peer *to = NULL;
        for (size_t k = 0; k < g->n_peers; k++)
            if (g->peers[k]->addr_len == d.to_len &&
                memcmp(&g->peers[k]->addr, &d.to, d.to_len) == 0)
                to = g->peers[k];
        if (!to) {
            g->undeliverable++;
            continue;
        }
        to->now_us = g->now_us;
        peer_receive(to, d.data, d.len);
    }
    g->out_count = 0;
}

void gw_tick(struct gw_harness *g, struct leg **legs, size_t n, uint64_t now_us)
{
    g->now_us = now_us;
    for (size_t i = 0; i < g->n_peers; i++)
        g->peers[i]->now_us = now_us;
    for (size_t i = 0; i < n; i++)
        leg_tick(legs[i], &g->io, now_us);
    gw_pump(g);
}

size_t gw_count_events(const struct gw_harness *g, uint64_t leg_id, enum media_leg_state state,
                       enum media_fail_stage stage)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_events; i++)
        if (g->events[i].leg_id == leg_id && g->events[i].state == state &&
            (stage == MEDIA_FAIL_NONE || g->events[i].stage == stage))
            n++;
    return n;
}

void gw_connect(struct gw_harness *g, struct leg *l, struct media_peer *p)
{
    peer_offer(p, &l->params, dtls_identity_fingerprint_bytes(g->id));
    struct media_answer a;
    peer_answer(p, l->params.leg_id, &a);
    cr_assert_eq(leg_answer(l, &g->io, &a, g->now_us), 0);
    peer_check(p, true);
    gw_pump(g);
    cr_assert_geq(p->stun_success, 1, "the check was not answered");
    peer_flush_dtls(p);
    gw_pump(g);
    cr_assert(p->srtp_ready, "the browser's DTLS did not finish");
    cr_assert(leg_media_ready(l), "the leg's DTLS did not finish: %zu events", g->n_events);
}
