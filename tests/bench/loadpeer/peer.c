/* The media side of every peer: ICE as the controlling agent (RFC 8445 §7.2, with
 * USE-CANDIDATE on every check: regular nomination as a lite peer expects), DTLS-SRTP through
 * Balie's own sans-IO cores, and the send and receive loops with their measurements.
 *
 * Each media thread owns the peers of the calls whose index modulo the thread count is its own,
 * an epoll set with their sockets, and its own latency histogram: no locks on the media path. */
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "balie/rtp.h"
#include "balie/stun.h"
#include "loadpeer.h"
#include "peer_internal.h"

uint64_t lp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lp_realtime_offset_ns;

void lp_clock_init(void)
{
    /* The pair read closest together of a few tries: the offset is good to a microsecond. */
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 16; i++) {
        struct timespec a, r, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_REALTIME, &r);
        clock_gettime(CLOCK_MONOTONIC, &b);
        uint64_t ma = (uint64_t)a.tv_sec * 1000000000ull + (uint64_t)a.tv_nsec;
        uint64_t mb = (uint64_t)b.tv_sec * 1000000000ull + (uint64_t)b.tv_nsec;
        uint64_t rt = (uint64_t)r.tv_sec * 1000000000ull + (uint64_t)r.tv_nsec;
        if (mb - ma < best) {
            best = mb - ma;
            lp_realtime_offset_ns = rt - (ma + (mb - ma) / 2);
        }
    }
}

static const char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void random_ice(char *out, size_t n)
{
    uint8_t raw[64];
    RAND_bytes(raw, (int)n);
    for (size_t i = 0; i < n; i++)
        out[i] = ice_chars[raw[i] & 63];
    out[n] = '\0';
}

void lp_peer_credentials(struct lp_peer *p)
{
    random_ice(p->local_ufrag, 8);
    random_ice(p->local_pwd, 24);
    uint32_t s[2];
    RAND_bytes((uint8_t *)s, sizeof(s));
    p->audio_ssrc = s[0] | 1u;
    p->video_ssrc = (s[1] | 1u) ^ 0x2u;
    RAND_bytes((uint8_t *)&p->audio_seq, sizeof(p->audio_seq));
    RAND_bytes((uint8_t *)&p->video_seq, sizeof(p->video_seq));
    p->audio_pt = 111;
    p->video_pt = 96;
}

int lp_peer_socket(struct lp_peer *p)
{
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return -1;
    int sz = 1 << 20;
    if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
        setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
        setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    int on = 1;
    setsockopt(p->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(p->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(p->fd);
        p->fd = -1;
        return -1;
    }
    p->local_port = lp_peer_port(p);
    return 0;
}

uint16_t lp_peer_port(const struct lp_peer *p)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(p->fd, (struct sockaddr *)&a, &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

static void fail(struct lp_peer *p, const char *why)
{
    p->fail = why;
    atomic_store(&p->phase, PEER_FAILED);
}

static void send_raw(struct lp_peer *p, const uint8_t *buf, size_t len)
{
    if (send(p->fd, buf, len, 0) < 0)
        p->send_errors++;
}

static void send_check(struct lp_peer *p, uint64_t now_us)
{
    char user[2 * LP_UFRAG_MAX + 2];
    snprintf(user, sizeof(user), "%s:%s", p->remote_ufrag, p->local_ufrag);
    RAND_bytes(p->ice_txid, sizeof(p->ice_txid));
    uint64_t tie;
    RAND_bytes((uint8_t *)&tie, sizeof(tie));
    struct stun_binding_params bp = {
        .username = user,
        .key = (const uint8_t *)p->remote_pwd,
        .key_len = strlen(p->remote_pwd),
        .priority = 0x7E7F00FFu, /* host, RFC 8445 §5.1.2.1 */
        .controlling = true,
        .tie_breaker = tie,
        .use_candidate = true,
    };
    uint8_t buf[512];
    int n = stun_build_binding_request(buf, sizeof(buf), p->ice_txid, &bp);
    if (n > 0)
        send_raw(p, buf, (size_t)n);
    p->checks_sent++;
    (void)now_us;
}

/* A full-ICE server checks us too (RFC 8445 §7.3): answer with our password. */
static void answer_check(struct lp_peer *p, const uint8_t *buf, size_t len,
                         const struct stun_msg *m)
{
    if (stun_check_integrity(buf, len, m, (const uint8_t *)p->local_pwd, strlen(p->local_pwd)))
        return;
    uint8_t out[256];
    struct stun_builder b;
    stun_builder_init(&b, out, sizeof(out), STUN_BINDING_SUCCESS, m->txid);
    stun_add_xor_mapped_address(&b, (const struct sockaddr *)&p->remote);
    stun_add_integrity(&b, (const uint8_t *)p->local_pwd, strlen(p->local_pwd));
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    if (n > 0)
        send_raw(p, out, (size_t)n);
}

static void flush_dtls(struct lp_peer *p)
{
    uint8_t buf[DTLS_MTU + 64];
    size_t n;
    while ((n = dtls_conn_poll(p->dtls, buf, sizeof(buf))) > 0) {
        send_raw(p, buf, n);
        p->dtls_out++;
    }
}

static void on_stun(struct lp_peer *p, uint64_t now_us, const uint8_t *buf, size_t len)
{
    struct stun_msg m;
    if (stun_parse(buf, len, &m) != 0)
        return;
    if (m.cls == STUN_CLASS_REQUEST) {
        answer_check(p, buf, len, &m);
        return;
    }
    if (m.cls != STUN_CLASS_SUCCESS || atomic_load(&p->phase) != PEER_ICE ||
        memcmp(m.txid, p->ice_txid, sizeof(p->ice_txid)) != 0)
        return;
    if (stun_check_integrity(buf, len, &m, (const uint8_t *)p->remote_pwd, strlen(p->remote_pwd)) !=
        0)
        return;
    enum dtls_role role = p->dtls_server ? DTLS_ROLE_SERVER : DTLS_ROLE_CLIENT;
    if (dtls_conn_create(&p->dtls, lp_identity, role, p->remote_fp) != 0) {
        fail(p, "dtls_conn_create");
        return;
    }
    atomic_store(&p->phase, PEER_DTLS);
    p->ice_ns = lp_now_ns();
    p->next_consent_us = now_us + 5000000;
    flush_dtls(p);
}

static void on_dtls(struct lp_peer *p, uint64_t now_us, const uint8_t *buf, size_t len)
{
    if (!p->dtls) {
        p->dtls_early++;
        return;
    }
    p->dtls_in++;
    dtls_conn_input(p->dtls, now_us, buf, len);
    flush_dtls(p);
    enum dtls_state st = dtls_conn_state(p->dtls);
    if (st == DTLS_FAILED) {
        fail(p, "DTLS failed");
        return;
    }
    if (st != DTLS_CONNECTED || p->srtp_ready)
        return;
    struct srtp_keys k;
    if (dtls_conn_srtp_keys(p->dtls, &k) != 0 || srtp_session_init(&p->srtp, &k) != 0) {
        fail(p, "SRTP keys");
        return;
    }
    p->srtp_profile = k.profile;
    p->srtp_ready = true;
    uint64_t now = lp_now_ns();
    p->keyed_ns = now;
    p->media_start_ns = now;
    p->next_audio_ns = now;
    p->next_video_ns = now;
    atomic_store(&p->phase, PEER_MEDIA);
}

void lp_peer_input(struct lp_thread *t, struct lp_peer *p, uint8_t *buf, size_t len,
                   uint64_t arrival_ns)
{
    uint64_t now_us = lp_now_ns() / 1000;
    if (len < 1)
        return;
    uint8_t b0 = buf[0];
    if (b0 <= 3)
        on_stun(p, now_us, buf, len);
    else if (b0 >= 20 && b0 <= 63)
        on_dtls(p, now_us, buf, len);
    else if (b0 >= 128 && b0 <= 191 && p->srtp_ready)
        lp_peer_media_input(t, p, buf, len, arrival_ns);
    else
        p->foreign++;
}

/* Everything time-driven for one peer: checks, DTLS retransmissions, consent, media. */
void lp_peer_tick(struct lp_thread *t, struct lp_peer *p, uint64_t now_ns)
{
    uint64_t now_us = now_ns / 1000;
    switch (atomic_load_explicit(&p->phase, memory_order_acquire)) {
    case PEER_START:
        if (connect(p->fd, (struct sockaddr *)&p->remote, sizeof(p->remote)) != 0) {
            fail(p, "connect");
            return;
        }
        atomic_store(&p->phase, PEER_ICE);
        p->next_check_us = now_us;
        /* fall through */
    case PEER_ICE:
        if (now_us >= p->next_check_us) {
            if (p->checks_sent >= 200) {
                fail(p, "no ICE answer");
                return;
            }
            send_check(p, now_us);
            p->next_check_us = now_us + 50000;
        }
        return;
    case PEER_DTLS:
        if (dtls_conn_next_timeout_us(p->dtls, now_us) <= now_us) {
            dtls_conn_handle_timeout(p->dtls, now_us);
            flush_dtls(p);
            if (dtls_conn_state(p->dtls) == DTLS_FAILED)
                fail(p, "DTLS timed out");
        }
        return;
    case PEER_MEDIA:
        /* RFC 7675 §5.1: consent is refreshed by a check at least every 30 s. */
        if (now_us >= p->next_consent_us) {
            send_check(p, now_us);
            p->next_consent_us = now_us + 5000000;
        }
        lp_peer_send_due(t, p, now_ns);
        return;
    default:
        return;
    }
}
