#include "balie/leg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/dtls.h"
#include "balie/relay.h"
#include "balie/sdp.h"

/* ---- Lifecycle ---------------------------------------------------------------------------- */

int leg_create(struct leg **out, const struct media_leg_params *p,
               const struct dtls_identity *identity, uint64_t now_us)
{
    if (!out || !p || !identity)
        return -EINVAL;
    size_t ufrag_len = strnlen(p->ice_ufrag, sizeof(p->ice_ufrag));
    size_t pwd_len = strnlen(p->ice_pwd, sizeof(p->ice_pwd));
    /* RFC 8839 §5.4 minimums; the maximums are what struct ice_agent holds. */
    if (ufrag_len < 4 || ufrag_len > ICE_UFRAG_LEN || pwd_len < 22 || pwd_len > ICE_PWD_LEN)
        return -EINVAL;
    struct leg *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    timer_entry_init(&l->timer);
    if (ice_agent_init(&l->ice, now_us) != 0) {
        free(l);
        return -EIO;
    }
    /* The control thread chose our credentials, since they are in the offer it already sent. */
    memcpy(l->ice.local_ufrag, p->ice_ufrag, ufrag_len + 1);
    memcpy(l->ice.local_pwd, p->ice_pwd, pwd_len + 1);
    l->params = *p;
    l->identity = identity;
    rtp_rewriter_init(&l->out[LEG_AUDIO], p->audio_ssrc);
    rtp_rewriter_init(&l->out[LEG_VIDEO], p->video_ssrc);
    for (int k = 0; k < LEG_KINDS; k++)
        rtp_stats_init(&l->in_stats[k]);
    *out = l;
    return 0;
}

void leg_free(struct leg *l)
{
    if (!l)
        return;
    dtls_conn_free(l->dtls);
    srtp_session_free(&l->srtp);
    OPENSSL_cleanse(&l->ice, sizeof(l->ice));
    OPENSSL_cleanse(&l->params, sizeof(l->params));
    OPENSSL_cleanse(&l->answer, sizeof(l->answer));
    free(l);
}

void leg_fail(struct leg *l, const struct leg_io *io, enum media_fail_stage stage)
{
    if (l->failed != MEDIA_FAIL_NONE || l->closed)
        return;
    l->failed = stage;
    l->srtp_ready = false;
    io->state(io->ctx, l, MEDIA_LEG_FAILED, stage);
}

bool leg_media_ready(const struct leg *l)
{
    return l->srtp_ready && l->failed == MEDIA_FAIL_NONE && !l->closed;
}

/* RFC 8445 §12.1: before a pair is nominated, media may go out on any valid pair. Chromium
 * nominates up to seconds after its first valid check, so waiting for nomination would leave
 * one direction silent that long; we send where DTLS goes, the last validated address the
 * browser spoke from (l->dtls_to is only ever set from a validated source). */
const struct sockaddr *leg_media_address(const struct leg *l, socklen_t *len)
{
    const struct sockaddr *sel = ice_selected_address(&l->ice, len);
    if (sel)
        return sel;
    if (l->dtls_to_len == 0)
        return NULL;
    if (len)
        *len = l->dtls_to_len;
    return (const struct sockaddr *)&l->dtls_to;
}

static bool leg_dead(const struct leg *l)
{
    return l->failed != MEDIA_FAIL_NONE || l->closed;
}

/* ---- ICE ---------------------------------------------------------------------------------- */

static bool addr_in(const struct ice_addr *list, unsigned n, const struct ice_addr *a)
{
    for (unsigned i = 0; i < n; i++)
        if (memcmp(&list[i], a, sizeof(*a)) == 0)
            return true;
    return false;
}

/* Keeps the worker's address table equal to the agent's validated addresses: every address a
 * valid check came from is bound (so a ClientHello right after the first check finds the leg,
 * DESIGN.md §3), and one the agent forgot is unbound. */
static void sync_bindings(struct leg *l, const struct leg_io *io)
{
    const struct ice_agent *a = &l->ice;
    unsigned kept = 0;
    for (unsigned i = 0; i < l->bound_count; i++) {
        if (addr_in(a->validated, a->validated_count, &l->bound[i]))
            l->bound[kept++] = l->bound[i];
        else
            io->bind(io->ctx, l, &l->bound[i], false);
    }
    l->bound_count = kept;
    for (unsigned i = 0; i < a->validated_count; i++) {
        if (addr_in(l->bound, l->bound_count, &a->validated[i]))
            continue;
        l->bound[l->bound_count++] = a->validated[i];
        io->bind(io->ctx, l, &a->validated[i], true);
    }
}

static void remember_dtls_peer(struct leg *l, const struct sockaddr *from, socklen_t from_len)
{
    if (from_len > (socklen_t)sizeof(l->dtls_to))
        return;
    memcpy(&l->dtls_to, from, (size_t)from_len);
    l->dtls_to_len = from_len;
}

static void flush_dtls(struct leg *l, const struct leg_io *io);

void leg_input_stun(struct leg *l, const struct leg_io *io, uint64_t now_us, const uint8_t *buf,
                    size_t len, const struct sockaddr *from, socklen_t from_len)
{
    if (leg_dead(l)) {
        l->counters.failed_input++;
        return;
    }
    uint8_t resp[ICE_RESPONSE_MAX];
    size_t resp_len = 0;
    unsigned events = 0;
    int rc = ice_handle_stun(&l->ice, now_us, buf, len, from, from_len, resp, sizeof(resp),
                             &resp_len, &events);
    if (rc < 0) {
        l->counters.stun_dropped++;
        return;
    }
    /* RFC 8445 §7.3.1.4: the response goes back to the request's source. */
    if (resp_len > 0)
        io->send(io->ctx, resp, resp_len, from, from_len);
    if (events & ICE_EVT_REJECTED)
        l->counters.stun_rejected++;
    if (!(events & ICE_EVT_CHECK_OK))
        return;
    if (l->ice_connected_us == 0)
        l->ice_connected_us = now_us;
    if (l->quiet_reported) {
        /* The browser is back (its old path recovered, or a restart completed). Both decoders
         * lost packets while the path was dead: ask both browsers for a keyframe at once, so
         * the picture returns within a round trip instead of at the next periodic keyframe. */
        l->quiet_reported = false;
        io->state(io->ctx, l, MEDIA_LEG_ICE_CONNECTED, MEDIA_FAIL_NONE);
        if (l->srtp_ready && l->peer && leg_media_ready(l->peer)) {
            (void)relay_request_keyframe(l, io, now_us, false);
            (void)relay_request_keyframe(l->peer, io, now_us, false);
        }
    }
    sync_bindings(l, io);
    if (l->dtls_to_len == 0)
        remember_dtls_peer(l, from, from_len);
    if ((events & ICE_EVT_NOMINATED) && !l->reported_ice) {
        l->reported_ice = true;
        io->state(io->ctx, l, MEDIA_LEG_ICE_CONNECTED, MEDIA_FAIL_NONE);
    }
    /* A DTLS client's ClientHello waits in the connection until there is somewhere to go. */
    if (l->dtls)
        flush_dtls(l, io);
}

/* ---- DTLS --------------------------------------------------------------------------------- */

/* DTLS goes where the browser talks to us from: the nominated address, or before nomination
 * the last validated address DTLS (or a check) came from. */
/* DTLS goes where media goes (leg_media_address). */
static const struct sockaddr *dtls_destination(const struct leg *l, socklen_t *len)
{
    return leg_media_address(l, len);
}

static void flush_dtls(struct leg *l, const struct leg_io *io)
{
    socklen_t to_len = 0;
    const struct sockaddr *to = dtls_destination(l, &to_len);
    if (!to)
        return; /* kept inside the connection (or retransmitted) until we know */
    uint8_t dg[DTLS_MTU + 300];
    size_t n;
    while ((n = dtls_conn_poll(l->dtls, dg, sizeof(dg))) > 0)
        io->send(io->ctx, dg, n, to, to_len);
}

/* RFC 5764 §4.2: the exported keys make the SRTP session. */
static void on_dtls_connected(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    struct srtp_keys keys;
    int rc = dtls_conn_srtp_keys(l->dtls, &keys);
    if (rc == 0)
        rc = srtp_session_init(&l->srtp, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));
    if (rc != 0) {
        leg_fail(l, io, MEDIA_FAIL_MEDIA);
        return;
    }
    l->srtp_ready = true;
    l->reported_dtls = true;
    l->next_report_us = now_us + LEG_REPORT_INTERVAL_US;
    io->state(io->ctx, l, MEDIA_LEG_DTLS_CONNECTED, MEDIA_FAIL_NONE);
    relay_leg_ready(l, io, now_us);
}

/* After anything that may have moved the DTLS state: send what it wrote, act on the state. */
static void after_dtls(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    flush_dtls(l, io);
    switch (dtls_conn_state(l->dtls)) {
    case DTLS_CONNECTED:
        if (!l->reported_dtls)
            on_dtls_connected(l, io, now_us);
        break;
    case DTLS_FAILED: /* fingerprint mismatch (RFC 5763 §5), an alert, or a timeout */
    case DTLS_CLOSED: /* the browser sent close_notify: its media ends with it */
        leg_fail(l, io, MEDIA_FAIL_DTLS);
        break;
    case DTLS_HANDSHAKING:
        break;
    }
}

void leg_input_dtls(struct leg *l, const struct leg_io *io, uint64_t now_us, const uint8_t *buf,
                    size_t len, const struct sockaddr *from, socklen_t from_len)
{
    if (leg_dead(l)) {
        l->counters.dtls_dropped++;
        l->counters.failed_input++;
        return;
    }
    /* The worker only routes bound addresses here; the check costs little and keeps the leg
     * safe when driven directly. */
    if (!ice_address_validated(&l->ice, from, from_len)) {
        l->counters.dtls_dropped++;
        return;
    }
    remember_dtls_peer(l, from, from_len);
    if (!l->dtls) {
        /* DESIGN.md §3: the answer is still on its way; keep the ClientHello, never drop it. */
        if (l->early_count < LEG_EARLY_DTLS && len <= LEG_EARLY_DTLS_MAX) {
            memcpy(l->early[l->early_count], buf, len);
            l->early_len[l->early_count++] = len;
            l->counters.dtls_early_queued++;
        } else {
            l->counters.dtls_early_dropped++;
        }
        return;
    }
    (void)dtls_conn_input(l->dtls, now_us, buf, len);
    after_dtls(l, io, now_us);
}

static void take_answer_ssrcs(struct leg *l, const struct media_answer *a)
{
    l->answer.audio_ssrc = a->audio_ssrc;
    l->answer.video_ssrc = a->video_ssrc;
    l->answer.video_rtcp_fb = a->video_rtcp_fb;
    if (a->audio_ssrc)
        l->in_ssrc[LEG_AUDIO] = a->audio_ssrc;
    if (a->video_ssrc)
        l->in_ssrc[LEG_VIDEO] = a->video_ssrc;
}

int leg_answer(struct leg *l, const struct leg_io *io, const struct media_answer *a,
               uint64_t now_us)
{
    if (!l || !a)
        return -EINVAL;
    if (leg_dead(l))
        return -ENOTCONN;
    if (l->have_answer) {
        /* A renegotiation keeps DTLS; after an ICE restart it brings new remote credentials. */
        if (l->restarting) {
            if (ice_set_remote_credentials(&l->ice, a->ice_ufrag, a->ice_pwd) != 0) {
                leg_fail(l, io, MEDIA_FAIL_ICE);
                return -EINVAL;
            }
            l->restarting = false;
        }
        take_answer_ssrcs(l, a);
        return 0;
    }
    if (ice_set_remote_credentials(&l->ice, a->ice_ufrag, a->ice_pwd) != 0) {
        leg_fail(l, io, MEDIA_FAIL_ICE);
        return -EINVAL;
    }
    /* RFC 5763 §5: setup:active in the answer makes us the server, passive the client. */
    enum dtls_role role = a->dtls_client ? DTLS_ROLE_CLIENT : DTLS_ROLE_SERVER;
    int rc = dtls_conn_create(&l->dtls, l->identity, role, a->fingerprint);
    if (rc != 0) {
        leg_fail(l, io, MEDIA_FAIL_DTLS);
        return rc;
    }
    l->answer = *a;
    l->have_answer = true;
    take_answer_ssrcs(l, a);
    for (unsigned i = 0; i < l->early_count; i++)
        (void)dtls_conn_input(l->dtls, now_us, l->early[i], l->early_len[i]);
    l->early_count = 0;
    after_dtls(l, io, now_us);
    return 0;
}

/* ---- SRTP --------------------------------------------------------------------------------- */

/* Which of the browser's streams a packet belongs to. An answer without a=ssrc for a kind
 * (RFC 8830 makes them optional) latches the first SSRC that carries that kind's payload
 * type; browsers adopt ours (DESIGN.md §3), so the type is a reliable hint. */
static int classify(struct leg *l, const struct rtp_header *h)
{
    for (int k = 0; k < LEG_KINDS; k++)
        if (l->in_ssrc[k] != 0 && h->ssrc == l->in_ssrc[k])
            return k;
    if (l->answer.audio_ssrc == 0 && l->in_ssrc[LEG_AUDIO] == 0 && h->payload_type == SDP_PT_OPUS) {
        l->in_ssrc[LEG_AUDIO] = h->ssrc;
        return LEG_AUDIO;
    }
    if (l->answer.video_ssrc == 0 && l->in_ssrc[LEG_VIDEO] == 0 && h->payload_type == SDP_PT_VP8) {
        l->in_ssrc[LEG_VIDEO] = h->ssrc;
        return LEG_VIDEO;
    }
    return -1;
}

static uint32_t clock_rate(enum leg_kind kind)
{
    return kind == LEG_AUDIO ? 48000u : 90000u;
}

static void input_rtp(struct leg *l, const struct leg_io *io, uint64_t now_us, uint8_t *buf,
                      size_t len, size_t cap)
{
    /* RFC 3711 §3.3: nothing of a packet that fails authentication is used. */
    if (srtp_session_unprotect_rtp(&l->srtp, buf, &len) != 0) {
        l->counters.srtp_auth_failed++;
        return;
    }
    struct rtp_header h;
    if (rtp_parse(buf, len, &h) != 0) {
        l->counters.rtp_malformed++;
        return;
    }
    if (!l->reported_flowing) {
        l->reported_flowing = true;
        io->state(io->ctx, l, MEDIA_LEG_FLOWING, MEDIA_FAIL_NONE);
    }
    int kind = classify(l, &h);
    if (kind < 0) {
        l->counters.unknown_ssrc++;
        return;
    }
    uint32_t arrival = (uint32_t)(now_us * clock_rate((enum leg_kind)kind) / 1000000u);
    (void)rtp_stats_update(&l->in_stats[kind], &h, arrival);
    relay_rtp(l, io, now_us, buf, len, cap, &h, (enum leg_kind)kind);
}

void leg_input_srtp(struct leg *l, const struct leg_io *io, uint64_t now_us, uint8_t *buf,
                    size_t len, size_t cap)
{
    if (leg_dead(l)) {
        l->counters.failed_input++;
        return;
    }
    if (!l->srtp_ready) {
        l->counters.srtp_not_ready++;
        return;
    }
    /* RFC 5761 §4: rtcp-mux; the packet type tells RTCP from RTP. */
    if (rtp_is_rtcp(buf, len)) {
        if (srtp_session_unprotect_rtcp(&l->srtp, buf, &len) != 0) {
            l->counters.srtp_auth_failed++;
            return;
        }
        l->rtcp_in++;
        relay_rtcp(l, io, now_us, buf, len);
        return;
    }
    input_rtp(l, io, now_us, buf, len, cap);
}

int leg_send_rtcp(struct leg *l, const struct leg_io *io, uint8_t *buf, size_t len, size_t cap)
{
    if (!leg_media_ready(l))
        return -ENOTCONN;
    socklen_t to_len = 0;
    const struct sockaddr *to = leg_media_address(l, &to_len);
    if (!to)
        return -EHOSTUNREACH;
    int rc = srtp_session_protect_rtcp(&l->srtp, buf, &len, cap);
    if (rc != 0)
        return rc;
    io->send(io->ctx, buf, len, to, to_len);
    l->rtcp_out++;
    return 0;
}

/* ---- Timers ------------------------------------------------------------------------------- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t quiet_us(const struct leg *l)
{
    return (uint64_t)(l->params.quiet_ms ? l->params.quiet_ms : MEDIA_QUIET_MS_DEFAULT) * 1000u;
}

int leg_restart(struct leg *l, const struct media_leg_params *p)
{
    if (!l || !p)
        return -EINVAL;
    if (leg_dead(l))
        return -ENOTCONN;
    size_t ufrag_len = strnlen(p->ice_ufrag, sizeof(p->ice_ufrag));
    size_t pwd_len = strnlen(p->ice_pwd, sizeof(p->ice_pwd));
    if (ufrag_len < 4 || ufrag_len > ICE_UFRAG_LEN || pwd_len < 22 || pwd_len > ICE_PWD_LEN)
        return -EINVAL;
    if (ice_restart(&l->ice) != 0)
        return -EIO;
    /* As at creation, the credentials are the control thread's: they are in its new offer. */
    memcpy(l->ice.local_ufrag, p->ice_ufrag, ufrag_len + 1);
    memcpy(l->ice.local_pwd, p->ice_pwd, pwd_len + 1);
    memcpy(l->previous_ufrag, l->params.ice_ufrag, sizeof(l->previous_ufrag));
    l->previous_ufrag[sizeof(l->previous_ufrag) - 1] = '\0';
    memcpy(l->params.ice_ufrag, p->ice_ufrag, ufrag_len + 1);
    memcpy(l->params.ice_pwd, p->ice_pwd, pwd_len + 1);
    l->restarting = true;
    return 0;
}

uint64_t leg_next_timeout_us(const struct leg *l, uint64_t now_us)
{
    if (leg_dead(l))
        return UINT64_MAX;
    const struct ice_agent *a = &l->ice;
    uint64_t next = a->connected ? a->last_consent_us + a->consent_timeout_us
                                 : a->created_us + a->initial_timeout_us;
    if (a->connected && !l->quiet_reported)
        next = min_u64(next, a->last_consent_us + quiet_us(l));
    if (l->dtls)
        next = min_u64(next, dtls_conn_next_timeout_us(l->dtls, now_us));
    if (!l->srtp_ready && l->ice_connected_us != 0)
        next = min_u64(next, l->ice_connected_us + LEG_DTLS_TIMEOUT_US);
    if (l->srtp_ready)
        next = min_u64(next, relay_next_timeout_us(l));
    return next;
}

void leg_tick(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    if (leg_dead(l))
        return;
    /* RFC 7675 §5.1: consent lapses 30 s after the last valid check; before any check, the
     * same 30 s from creation mean ICE never connected. */
    if (ice_consent_expired(&l->ice, now_us)) {
        leg_fail(l, io, l->ice.connected ? MEDIA_FAIL_CONSENT : MEDIA_FAIL_ICE);
        return;
    }
    if (l->ice.connected && !l->quiet_reported && now_us - l->ice.last_consent_us >= quiet_us(l)) {
        l->quiet_reported = true;
        io->state(io->ctx, l, MEDIA_LEG_DISCONNECTED, MEDIA_FAIL_NONE);
    }
    if (l->dtls && dtls_conn_state(l->dtls) != DTLS_FAILED &&
        dtls_conn_next_timeout_us(l->dtls, now_us) <= now_us) {
        dtls_conn_handle_timeout(l->dtls, now_us);
        after_dtls(l, io, now_us);
        if (leg_dead(l))
            return;
    }
    if (!l->srtp_ready && l->ice_connected_us != 0 &&
        now_us - l->ice_connected_us >= LEG_DTLS_TIMEOUT_US) {
        leg_fail(l, io, MEDIA_FAIL_DTLS);
        return;
    }
    if (l->srtp_ready)
        relay_tick(l, io, now_us);
}

void leg_close(struct leg *l, const struct leg_io *io, uint64_t now_us)
{
    (void)now_us;
    if (l->dtls && dtls_conn_state(l->dtls) == DTLS_CONNECTED) {
        dtls_conn_close(l->dtls); /* RFC 5246 §7.2.1: close_notify */
        flush_dtls(l, io);
    }
    relay_unbridge(l);
    for (unsigned i = 0; i < l->bound_count; i++)
        io->bind(io->ctx, l, &l->bound[i], false);
    l->bound_count = 0;
    l->closed = true;
    l->srtp_ready = false;
}

/* ---- Stats -------------------------------------------------------------------------------- */

static uint32_t cumulative_lost(const struct rtp_recv_stats *st)
{
    if (!st->started)
        return 0;
    uint32_t expected = st->cycles + st->max_seq - st->base_seq + 1;
    return expected > st->received ? expected - st->received : 0;
}

static uint64_t dropped_total(const struct leg_counters *c)
{
    return c->stun_dropped + c->dtls_early_dropped + c->dtls_dropped + c->srtp_not_ready +
           c->srtp_auth_failed + c->rtp_malformed + c->unknown_ssrc + c->no_peer +
           c->rewrite_dropped + c->retransmit_dropped + c->protect_failed + c->rtcp_malformed;
}

void leg_stats(const struct leg *l, struct media_leg_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->leg_id = l->params.leg_id;
    out->audio_packets_in = l->in_stats[LEG_AUDIO].packets;
    out->audio_bytes_in = l->in_stats[LEG_AUDIO].bytes;
    out->video_packets_in = l->in_stats[LEG_VIDEO].packets;
    out->video_bytes_in = l->in_stats[LEG_VIDEO].bytes;
    out->audio_packets_out = l->out_packets[LEG_AUDIO];
    out->audio_bytes_out = l->out_bytes[LEG_AUDIO];
    out->video_packets_out = l->out_packets[LEG_VIDEO];
    out->video_bytes_out = l->out_bytes[LEG_VIDEO];
    out->rtcp_in = l->rtcp_in;
    out->rtcp_out = l->rtcp_out;
    out->dropped = dropped_total(&l->counters);
    out->lost = cumulative_lost(&l->in_stats[LEG_AUDIO]) + cumulative_lost(&l->in_stats[LEG_VIDEO]);
    /* RFC 3550 A.8 keeps jitter scaled by 16, in 90 kHz units for video. */
    out->jitter_ms = (l->in_stats[LEG_VIDEO].jitter >> 4) / 90u;
    out->rtt_ms = l->rtt_ms;
    out->keyframe_requests = l->keyframe_requests;
}
