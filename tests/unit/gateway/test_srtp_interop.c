/* AEAD_AES_128_GCM (gateway/srtp_gcm.c) against libsrtp2's own GCM, both ways and byte for
 * byte: what a browser's libsrtp sends, we read; what we send, it reads. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "balie/srtp_session.h"

#define CAP 1600

/* Our session and a libsrtp2 peer on the other end: the peer protects with `peer_key` (our
 * remote) and unprotects `our_key` (our local). `twin` protects with our key too, to compare
 * our output with libsrtp2's byte for byte. */
struct link {
    struct srtp_session ours;
    srtp_t peer_tx;
    srtp_t peer_rx;
    srtp_t twin;
};

static void fill_keys(struct srtp_keys *k)
{
    memset(k, 0, sizeof(*k));
    k->profile = SRTP_SESSION_PROFILE_AEAD_AES_128_GCM;
    k->key_len = 16;
    k->salt_len = 12;
    for (size_t i = 0; i < 16; i++) {
        k->local_key[i] = (uint8_t)(0x31 * i + 5);
        k->remote_key[i] = (uint8_t)(0x17 * i + 9);
    }
    for (size_t i = 0; i < 12; i++) {
        k->local_salt[i] = (uint8_t)(0xc3 ^ (i * 29));
        k->remote_salt[i] = (uint8_t)(0x5e ^ (i * 41));
    }
}

static srtp_t libsrtp_context(const uint8_t *key, const uint8_t *salt, bool outbound)
{
    uint8_t master[28];
    memcpy(master, key, 16);
    memcpy(master + 16, salt, 12);
    srtp_policy_t policy;
    memset(&policy, 0, sizeof(policy));
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = master;
    policy.window_size = 1024;
    srtp_t ctx = NULL;
    cr_assert_eq(srtp_create(&ctx, &policy), srtp_err_status_ok);
    return ctx;
}

static void link_init(struct link *l)
{
    cr_assert_eq(srtp_init(), srtp_err_status_ok);
    struct srtp_keys k;
    fill_keys(&k);
    cr_assert_eq(srtp_session_init(&l->ours, &k), 0);
    l->peer_tx = libsrtp_context(k.remote_key, k.remote_salt, true);
    l->peer_rx = libsrtp_context(k.local_key, k.local_salt, false);
    l->twin = libsrtp_context(k.local_key, k.local_salt, true);
}

static void link_free(struct link *l)
{
    srtp_session_free(&l->ours);
    srtp_dealloc(l->peer_tx);
    srtp_dealloc(l->peer_rx);
    srtp_dealloc(l->twin);
}

/* RTP with `ncsrc` CSRCs and, when `ext`, a one-byte header extension of two words
 * (RFC 8285), then a payload: the AAD covers all of the header. */
static size_t make_rtp(uint8_t *b, uint32_t ssrc, uint16_t seq, int ncsrc, bool ext, size_t payload)
{
    size_t n = 0;
    b[n++] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | ncsrc);
    b[n++] = (uint8_t)(96 | (seq % 7 == 0 ? 0x80 : 0));
    b[n++] = (uint8_t)(seq >> 8);
    b[n++] = (uint8_t)seq;
    for (int i = 0; i < 4; i++)
        b[n++] = (uint8_t)(seq * 3 + i);
    b[n++] = (uint8_t)(ssrc >> 24), b[n++] = (uint8_t)(ssrc >> 16);
    b[n++] = (uint8_t)(ssrc >> 8), b[n++] = (uint8_t)ssrc;
    for (int i = 0; i < ncsrc * 4; i++)
        b[n++] = (uint8_t)(0xc0 + i);
    if (ext) {
        const uint8_t e[12] = {0xbe, 0xde, 0, 2, 0x10, 0x55, 0x22, 0x01, 0x02, 0x03, 0, 0};
        memcpy(b + n, e, sizeof(e));
        n += sizeof(e);
    }
    for (size_t i = 0; i < payload; i++)
        b[n++] = (uint8_t)(i * 31 + seq);
    return n;
}

struct shape {
    int ncsrc;
    bool ext;
    size_t payload;
};

static const struct shape shapes[] = {
    {0, false, 160}, {2, true, 1200}, {0, true, 1}, {15, false, 80}, {1, false, 0}};

/* Ours → libsrtp2, and the same packets from libsrtp2's own protect must be identical. */
static void rtp_ours_to_libsrtp(struct link *l, uint32_t ssrc, uint16_t seq, const struct shape *sh)
{
    uint8_t plain[CAP], a[CAP], b[CAP];
    size_t len = make_rtp(plain, ssrc, seq, sh->ncsrc, sh->ext, sh->payload);
    memcpy(a, plain, len);
    memcpy(b, plain, len);
    size_t alen = len;
    int blen = (int)len;
    cr_assert_eq(srtp_session_protect_rtp(&l->ours, a, &alen, sizeof(a)), 0);
    cr_assert_eq(srtp_protect(l->twin, b, &blen), srtp_err_status_ok);
    cr_assert_eq(alen, (size_t)blen);
    cr_assert_eq(memcmp(a, b, alen), 0, "ssrc %08x seq %u: same bytes as libsrtp2", ssrc, seq);
    int n = (int)alen;
    cr_assert_eq(srtp_unprotect(l->peer_rx, a, &n), srtp_err_status_ok, "seq %u", seq);
    cr_assert_eq((size_t)n, len);
    cr_assert_eq(memcmp(a, plain, len), 0);
}

static void rtp_libsrtp_to_ours(struct link *l, uint32_t ssrc, uint16_t seq, const struct shape *sh)
{
    uint8_t plain[CAP], a[CAP];
    size_t len = make_rtp(plain, ssrc, seq, sh->ncsrc, sh->ext, sh->payload);
    memcpy(a, plain, len);
    int n = (int)len;
    cr_assert_eq(srtp_protect(l->peer_tx, a, &n), srtp_err_status_ok);
    size_t alen = (size_t)n;
    cr_assert_eq(srtp_session_unprotect_rtp(&l->ours, a, &alen), 0, "ssrc %08x seq %u", ssrc, seq);
    cr_assert_eq(alen, len);
    cr_assert_eq(memcmp(a, plain, len), 0);
}

/* Several SSRCs, each crossing 65535 → 0 (ROC 0 → 1), with every header shape. */
Test(srtp_interop, rtp_both_ways_across_the_rollover)
{
    struct link l;
    link_init(&l);
    const uint32_t ssrcs[] = {0x11111111, 0xdeadbeef, 1, 0xfffffffe};
    for (int i = 0; i < 300; i++) {
        for (size_t s = 0; s < 4; s++) {
            uint16_t seq = (uint16_t)(65400 + 37 * s + i); /* wraps inside the loop */
            const struct shape *sh = &shapes[(i + s) % (sizeof(shapes) / sizeof(shapes[0]))];
            rtp_ours_to_libsrtp(&l, ssrcs[s], seq, sh);
            rtp_libsrtp_to_ours(&l, ssrcs[s], seq, sh);
        }
    }
    link_free(&l);
}

/* Packets protected by libsrtp2 and delivered out of order across the wrap: our index estimate
 * must match the sender's ROC. */
Test(srtp_interop, reordered_around_the_rollover)
{
    struct link l;
    link_init(&l);
    static uint8_t pkt[40][256];
    static size_t len[40];
    for (int i = 0; i < 40; i++) {
        len[i] = make_rtp(pkt[i], 77, (uint16_t)(65516 + i), 0, false, 100);
        int n = (int)len[i];
        cr_assert_eq(srtp_protect(l.peer_tx, pkt[i], &n), srtp_err_status_ok);
        len[i] = (size_t)n;
    }
    const int order[] = {0, 2, 1, 5, 25, 24, 19, 20, 3, 4, 39, 30, 18, 6, 21, 22, 23, 38};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        uint8_t buf[256];
        memcpy(buf, pkt[order[k]], len[order[k]]);
        size_t n = len[order[k]];
        cr_assert_eq(srtp_session_unprotect_rtp(&l.ours, buf, &n), 0, "packet %d", order[k]);
    }
    link_free(&l);
}

/* A compound RTCP packet: an SR, an RR and an SDES (RFC 3550 §6.1). */
static size_t make_compound(uint8_t *b, uint32_t ssrc, uint8_t fill)
{
    size_t n = 0;
    const uint8_t sr_hdr[4] = {0x80, 200, 0, 6};
    memcpy(b + n, sr_hdr, 4);
    n += 4;
    b[n++] = (uint8_t)(ssrc >> 24), b[n++] = (uint8_t)(ssrc >> 16);
    b[n++] = (uint8_t)(ssrc >> 8), b[n++] = (uint8_t)ssrc;
    for (int i = 0; i < 20; i++)
        b[n++] = (uint8_t)(fill + i);
    const uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0, 0, 9};
    memcpy(b + n, rr, 8);
    n += 8;
    const uint8_t sdes[12] = {0x81, 202, 0, 2, 0, 0, 0, 9, 1, 2, 'h', 'i'};
    memcpy(b + n, sdes, 12);
    n += 12;
    return n;
}

/* With one SSRC our per-session SRTCP index and libsrtp2's per-stream one agree, so the bytes
 * must be the same; with several, libsrtp2 must still read ours and we theirs. */
Test(srtp_interop, rtcp_compound_both_ways)
{
    struct link l;
    link_init(&l);
    for (int i = 0; i < 50; i++) {
        uint8_t plain[CAP], a[CAP], b[CAP];
        size_t len = make_compound(plain, 0x0badcafe, (uint8_t)i);
        memcpy(a, plain, len);
        memcpy(b, plain, len);
        size_t alen = len;
        int blen = (int)len;
        cr_assert_eq(srtp_session_protect_rtcp(&l.ours, a, &alen, sizeof(a)), 0);
        cr_assert_eq(srtp_protect_rtcp(l.twin, b, &blen), srtp_err_status_ok);
        cr_assert_eq(alen, (size_t)blen);
        cr_assert_eq(memcmp(a, b, alen), 0, "SRTCP %d: same bytes as libsrtp2", i);
        int n = (int)alen;
        cr_assert_eq(srtp_unprotect_rtcp(l.peer_rx, a, &n), srtp_err_status_ok);
        cr_assert_eq(memcmp(a, plain, len), 0);
    }
    const uint32_t ssrcs[] = {1, 0x0badcafe, 0x12345678};
    for (int i = 0; i < 60; i++) {
        uint8_t plain[CAP], a[CAP];
        size_t len = make_compound(plain, ssrcs[i % 3], (uint8_t)(i * 5));
        memcpy(a, plain, len);
        size_t alen = len;
        cr_assert_eq(srtp_session_protect_rtcp(&l.ours, a, &alen, sizeof(a)), 0);
        int n = (int)alen;
        cr_assert_eq(srtp_unprotect_rtcp(l.peer_rx, a, &n), srtp_err_status_ok, "ours %d", i);
        cr_assert_eq(memcmp(a, plain, len), 0);

        memcpy(a, plain, len);
        n = (int)len;
        cr_assert_eq(srtp_protect_rtcp(l.peer_tx, a, &n), srtp_err_status_ok);
        alen = (size_t)n;
        cr_assert_eq(srtp_session_unprotect_rtcp(&l.ours, a, &alen), 0, "theirs %d", i);
        cr_assert_eq(alen, len);
        cr_assert_eq(memcmp(a, plain, len), 0);
    }
    link_free(&l);
}

/* A replay of libsrtp2's packet and a tampered one are refused as libsrtp2 would refuse them. */
Test(srtp_interop, libsrtp_packets_replayed_or_tampered)
{
    struct link l;
    link_init(&l);
    uint8_t pkt[CAP], buf[CAP];
    size_t len = make_rtp(pkt, 5, 1000, 1, true, 300);
    int n = (int)len;
    cr_assert_eq(srtp_protect(l.peer_tx, pkt, &n), srtp_err_status_ok);
    for (size_t i = 0; i < (size_t)n; i += 7) {
        memcpy(buf, pkt, (size_t)n);
        buf[i] ^= 0x20;
        len = (size_t)n;
        int rc = srtp_session_unprotect_rtp(&l.ours, buf, &len);
        /* Flipping bits of the header's length fields may make it malformed instead. */
        cr_assert(rc == -EBADMSG || rc == -EINVAL, "byte %zu: %d", i, rc);
    }
    memcpy(buf, pkt, (size_t)n);
    len = (size_t)n;
    cr_assert_eq(srtp_session_unprotect_rtp(&l.ours, buf, &len), 0);
    memcpy(buf, pkt, (size_t)n);
    len = (size_t)n;
    cr_assert_eq(srtp_session_unprotect_rtp(&l.ours, buf, &len), -EALREADY);
    link_free(&l);
}
