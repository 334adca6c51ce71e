#include "balie/srtp_session.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

/* Master key and salt of RFC 3711 Appendix B.3 (the GCM profile takes the salt's first 12
 * bytes). The expected packets below were computed for this test with an implementation
 * written separately from libsrtp2 (Python: the RFC 3711 §4.3.1 key derivation, checked
 * against the session keys of Appendix B.3; AES-CM and HMAC-SHA1-80 per RFC 3711 §4.1.1,
 * §4.2 and §3.4; AES-GCM per RFC 7714 §8.1 and §9.1 with the 96-bit salt padded per §11). */
static const uint8_t rfc3711_key[16] = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                        0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39};
static const uint8_t rfc3711_salt[14] = {0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                         0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};

/* V=2 PT=96 seq=0x1234 ts=0xabcd ssrc=0xdeadbeef, payload 00..13. */
static const uint8_t kat_rtp_plain[32] = {
    0x80, 0x60, 0x12, 0x34, 0x00, 0x00, 0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef, 0,  1,  2,  3,
    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,   16, 17, 18, 19};
/* An SR header for ssrc 0xdeadbeef, then 64..77 hex (100..119). */
static const uint8_t kat_rtcp_plain[28] = {0x80, 0xc8, 0x00, 0x06, 0xde, 0xad, 0xbe, 0xef, 100, 101,
                                           102,  103,  104,  105,  106,  107,  108,  109,  110, 111,
                                           112,  113,  114,  115,  116,  117,  118,  119};

static const uint8_t kat_rtp_cm[42] = {
    0x80, 0x60, 0x12, 0x34, 0x00, 0x00, 0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef, 0x1e, 0x16,
    0x2d, 0xed, 0x72, 0x0b, 0x40, 0x3a, 0x2a, 0x24, 0x1e, 0x30, 0x87, 0x09, 0xea, 0x43,
    0xd8, 0x08, 0x8b, 0xc5, 0x74, 0x3f, 0xab, 0x20, 0xfc, 0x6c, 0x54, 0x37, 0xff, 0x63};
/* SRTCP index 1: libsrtp2 counts from 1. */
static const uint8_t kat_rtcp_cm[42] = {
    0x80, 0xc8, 0x00, 0x06, 0xde, 0xad, 0xbe, 0xef, 0x7b, 0x9f, 0x73, 0xf2, 0xef, 0x66,
    0xe7, 0xe7, 0x9d, 0x9c, 0xe7, 0x79, 0xdc, 0xa1, 0x94, 0x01, 0x86, 0x5a, 0x87, 0x41,
    0x80, 0x00, 0x00, 0x01, 0x01, 0xb2, 0xfe, 0x87, 0x80, 0x8a, 0x31, 0x0d, 0xc2, 0xae};
static const uint8_t kat_rtp_gcm[48] = {
    0x80, 0x60, 0x12, 0x34, 0x00, 0x00, 0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef, 0x78, 0xd2, 0xe7, 0x94,
    0xc8, 0xa4, 0x15, 0x5e, 0xec, 0x1f, 0x5d, 0x4f, 0x02, 0x2d, 0x79, 0x79, 0xf1, 0x86, 0xf4, 0x5e,
    0xc3, 0x99, 0xac, 0xc3, 0x76, 0x5b, 0x82, 0x83, 0x34, 0x50, 0x40, 0xc9, 0x47, 0x89, 0xa5, 0x50};
static const uint8_t kat_rtcp_gcm[48] = {
    0x80, 0xc8, 0x00, 0x06, 0xde, 0xad, 0xbe, 0xef, 0xaa, 0x3c, 0x36, 0x84, 0xea, 0x00, 0x7e, 0x30,
    0x40, 0x95, 0xaa, 0x3a, 0x98, 0x5a, 0xc5, 0xcf, 0xcc, 0x28, 0x7f, 0x6c, 0x4a, 0x9e, 0xe3, 0x2d,
    0x39, 0xfc, 0xad, 0x12, 0x6d, 0x24, 0x7e, 0x8b, 0x61, 0xd2, 0x5f, 0x48, 0x80, 0x00, 0x00, 0x01};

#define BUF_CAP 1500

/* Two ends of one leg: `a` protects with key 1 and expects key 2; `b` is the mirror. */
struct pair {
    struct srtp_session a;
    struct srtp_session b;
};

static struct srtp_keys make_keys(enum srtp_session_profile profile, uint8_t local_seed,
                                  uint8_t remote_seed)
{
    struct srtp_keys k;
    memset(&k, 0, sizeof(k));
    k.profile = profile;
    k.key_len = SRTP_SESSION_KEY_LEN;
    k.salt_len = profile == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM ? 12 : 14;
    for (size_t i = 0; i < sizeof(k.local_key); i++) {
        k.local_key[i] = (uint8_t)(local_seed + 3 * i);
        k.remote_key[i] = (uint8_t)(remote_seed + 3 * i);
    }
    for (size_t i = 0; i < k.salt_len; i++) {
        k.local_salt[i] = (uint8_t)(local_seed ^ (0x5a + i));
        k.remote_salt[i] = (uint8_t)(remote_seed ^ (0x5a + i));
    }
    return k;
}

static void pair_init(struct pair *p, enum srtp_session_profile profile)
{
    struct srtp_keys ka = make_keys(profile, 1, 2);
    struct srtp_keys kb = make_keys(profile, 2, 1);
    cr_assert_eq(srtp_session_init(&p->a, &ka), 0);
    cr_assert_eq(srtp_session_init(&p->b, &kb), 0);
}

static void pair_free(struct pair *p)
{
    srtp_session_free(&p->a);
    srtp_session_free(&p->b);
}

static size_t tag_len(enum srtp_session_profile profile)
{
    return profile == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM ? 16 : 10;
}

/* An RTP packet of `len` bytes: V=2, PT=96, the given sequence number, ssrc 0x11223344. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, size_t len)
{
    memset(buf, 0, len);
    buf[0] = 0x80;
    buf[1] = 96;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    buf[7] = (uint8_t)seq; /* timestamp */
    buf[8] = 0x11, buf[9] = 0x22, buf[10] = 0x33, buf[11] = 0x44;
    for (size_t i = 12; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + seq);
    return len;
}

/* A receiver report with one report block (RFC 3550 §6.4.2), 32 bytes. */
static size_t make_rtcp(uint8_t *buf)
{
    memset(buf, 0, 32);
    buf[0] = 0x81;
    buf[1] = 201;
    buf[3] = 7;
    buf[4] = 0x11, buf[5] = 0x22, buf[6] = 0x33, buf[7] = 0x44;
    for (size_t i = 8; i < 32; i++)
        buf[i] = (uint8_t)(i * 11);
    return 32;
}

static void check_rtp_roundtrip(enum srtp_session_profile profile)
{
    struct pair p;
    pair_init(&p, profile);
    uint8_t plain[BUF_CAP], buf[BUF_CAP];
    for (uint16_t seq = 100; seq < 110; seq++) {
        size_t len = make_rtp(plain, seq, 200);
        memcpy(buf, plain, len);
        cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, sizeof(buf)), 0);
        cr_assert_eq(len, 200 + tag_len(profile));
        cr_assert_eq(memcmp(buf, plain, 12), 0, "the header stays in the clear");
        cr_assert_neq(memcmp(buf + 12, plain + 12, 188), 0, "the payload is encrypted");
        cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &len), 0);
        cr_assert_eq(len, 200);
        cr_assert_eq(memcmp(buf, plain, len), 0);
    }
    /* And the other way. */
    size_t len = make_rtp(plain, 7, 60);
    memcpy(buf, plain, len);
    cr_assert_eq(srtp_session_protect_rtp(&p.b, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.a, buf, &len), 0);
    cr_assert_eq(memcmp(buf, plain, 60), 0);
    pair_free(&p);
}

Test(srtp_session, rtp_roundtrip_gcm)
{
    check_rtp_roundtrip(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
}

Test(srtp_session, rtp_roundtrip_cm_sha1_80)
{
    check_rtp_roundtrip(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80);
}

static void check_rtcp_roundtrip(enum srtp_session_profile profile)
{
    struct pair p;
    pair_init(&p, profile);
    uint8_t plain[64], buf[BUF_CAP];
    for (int i = 0; i < 5; i++) {
        size_t len = make_rtcp(plain);
        plain[20] = (uint8_t)i;
        memcpy(buf, plain, len);
        cr_assert_eq(srtp_session_protect_rtcp(&p.a, buf, &len, sizeof(buf)), 0);
        /* RFC 3711 §3.4: E flag and 31-bit index, then the tag. */
        cr_assert_eq(len, 32 + 4 + tag_len(profile));
        cr_assert_neq(memcmp(buf + 8, plain + 8, 24), 0, "SRTCP encrypts by default");
        cr_assert_eq(srtp_session_unprotect_rtcp(&p.b, buf, &len), 0);
        cr_assert_eq(len, 32);
        cr_assert_eq(memcmp(buf, plain, len), 0);
    }
    pair_free(&p);
}

Test(srtp_session, rtcp_roundtrip_gcm)
{
    check_rtcp_roundtrip(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
}

Test(srtp_session, rtcp_roundtrip_cm_sha1_80)
{
    check_rtcp_roundtrip(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80);
}

/* Keys from the known-answer vectors: `local` and `remote` the same, so one session can both
 * protect (and be compared) and unprotect. */
static void kat_session(struct srtp_session *s, enum srtp_session_profile profile)
{
    struct srtp_keys k;
    memset(&k, 0, sizeof(k));
    k.profile = profile;
    k.key_len = 16;
    k.salt_len = profile == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM ? 12 : 14;
    memcpy(k.local_key, rfc3711_key, 16);
    memcpy(k.remote_key, rfc3711_key, 16);
    memcpy(k.local_salt, rfc3711_salt, k.salt_len);
    memcpy(k.remote_salt, rfc3711_salt, k.salt_len);
    cr_assert_eq(srtp_session_init(s, &k), 0);
}

static void check_known_answer(enum srtp_session_profile profile, const uint8_t *rtp_expected,
                               size_t rtp_len, const uint8_t *rtcp_expected, size_t rtcp_len)
{
    struct srtp_session s;
    kat_session(&s, profile);
    uint8_t buf[BUF_CAP];
    size_t len = sizeof(kat_rtp_plain);
    memcpy(buf, kat_rtp_plain, len);
    cr_assert_eq(srtp_session_protect_rtp(&s, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(len, rtp_len);
    cr_assert_eq(memcmp(buf, rtp_expected, rtp_len), 0, "SRTP differs from the reference");
    cr_assert_eq(srtp_session_unprotect_rtp(&s, buf, &len), 0);
    cr_assert_eq(memcmp(buf, kat_rtp_plain, sizeof(kat_rtp_plain)), 0);

    len = sizeof(kat_rtcp_plain);
    memcpy(buf, kat_rtcp_plain, len);
    cr_assert_eq(srtp_session_protect_rtcp(&s, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(len, rtcp_len);
    cr_assert_eq(memcmp(buf, rtcp_expected, rtcp_len), 0, "SRTCP differs from the reference");
    cr_assert_eq(srtp_session_unprotect_rtcp(&s, buf, &len), 0);
    cr_assert_eq(memcmp(buf, kat_rtcp_plain, sizeof(kat_rtcp_plain)), 0);
    srtp_session_free(&s);
}

Test(srtp_session, known_answer_cm_sha1_80)
{
    check_known_answer(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, kat_rtp_cm, sizeof(kat_rtp_cm),
                       kat_rtcp_cm, sizeof(kat_rtcp_cm));
}

Test(srtp_session, known_answer_gcm)
{
    check_known_answer(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, kat_rtp_gcm, sizeof(kat_rtp_gcm),
                       kat_rtcp_gcm, sizeof(kat_rtcp_gcm));
}

/* Every byte of a protected packet is covered: header and payload by the tag, and the tag by
 * itself. Flipping any one must make unprotect refuse it. */
static void check_tamper(enum srtp_session_profile profile, bool rtcp)
{
    struct pair p;
    pair_init(&p, profile);
    uint8_t protected_pkt[BUF_CAP], buf[BUF_CAP];
    size_t len = rtcp ? make_rtcp(protected_pkt) : make_rtp(protected_pkt, 500, 100);
    int rc = rtcp ? srtp_session_protect_rtcp(&p.a, protected_pkt, &len, BUF_CAP)
                  : srtp_session_protect_rtp(&p.a, protected_pkt, &len, BUF_CAP);
    cr_assert_eq(rc, 0);
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, protected_pkt, len);
        buf[i] ^= 0x01;
        size_t n = len;
        rc = rtcp ? srtp_session_unprotect_rtcp(&p.b, buf, &n)
                  : srtp_session_unprotect_rtp(&p.b, buf, &n);
        cr_assert_lt(rc, 0, "byte %zu flipped and still accepted", i);
    }
    /* The untouched packet still passes: the failures above left no trace. */
    memcpy(buf, protected_pkt, len);
    size_t n = len;
    rc = rtcp ? srtp_session_unprotect_rtcp(&p.b, buf, &n)
              : srtp_session_unprotect_rtp(&p.b, buf, &n);
    cr_assert_eq(rc, 0);
    pair_free(&p);
}

Test(srtp_session, modified_byte_fails_gcm)
{
    check_tamper(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, false);
    check_tamper(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, true);
}

Test(srtp_session, modified_byte_fails_cm_sha1_80)
{
    check_tamper(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, false);
    check_tamper(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, true);
}

Test(srtp_session, modified_payload_is_an_auth_failure)
{
    struct pair p;
    pair_init(&p, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 100);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, sizeof(buf)), 0);
    buf[50] ^= 0x80;
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &len), -EBADMSG);
    pair_free(&p);
}

static void check_replay(enum srtp_session_profile profile)
{
    struct pair p;
    pair_init(&p, profile);
    uint8_t pkt[BUF_CAP], buf[BUF_CAP];
    size_t len = make_rtp(pkt, 42, 120);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, pkt, &len, sizeof(pkt)), 0);
    size_t n = len;
    memcpy(buf, pkt, len);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), 0);
    n = len;
    memcpy(buf, pkt, len);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), -EALREADY);

    len = make_rtcp(pkt);
    cr_assert_eq(srtp_session_protect_rtcp(&p.a, pkt, &len, sizeof(pkt)), 0);
    n = len;
    memcpy(buf, pkt, len);
    cr_assert_eq(srtp_session_unprotect_rtcp(&p.b, buf, &n), 0);
    n = len;
    memcpy(buf, pkt, len);
    cr_assert_eq(srtp_session_unprotect_rtcp(&p.b, buf, &n), -EALREADY);
    pair_free(&p);
}

Test(srtp_session, replay_is_refused)
{
    check_replay(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    check_replay(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80);
}

/* A sequence number is protected once (see the header on GCM nonce reuse). */
Test(srtp_session, protecting_a_sequence_number_twice_is_refused)
{
    struct pair p;
    pair_init(&p, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 9, 80);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, sizeof(buf)), 0);
    len = make_rtp(buf, 9, 80);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, sizeof(buf)), -EALREADY);
    pair_free(&p);
}

/* The window is 1024 packets: a packet 1000 behind the newest is still taken (libsrtp2's
 * default of 128 would refuse it), one 1100 behind is not. */
Test(srtp_session, replay_window_is_1024)
{
    struct pair p;
    pair_init(&p, SRTP_SESSION_PROFILE_AES128_CM_SHA1_80);
    static uint8_t protected_pkts[1200][200];
    size_t lens[1200];
    for (uint16_t seq = 0; seq < 1200; seq++) {
        lens[seq] = make_rtp(protected_pkts[seq], seq, 40);
        cr_assert_eq(srtp_session_protect_rtp(&p.a, protected_pkts[seq], &lens[seq], 200), 0);
    }
    uint8_t buf[BUF_CAP];
    size_t n = lens[1199];
    memcpy(buf, protected_pkts[1199], n);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), 0);
    n = lens[199];
    memcpy(buf, protected_pkts[199], n);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), 0, "1000 behind is in the window");
    n = lens[99];
    memcpy(buf, protected_pkts[99], n);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), -EALREADY);
    pair_free(&p);
}

static void check_wrong_keys(enum srtp_session_profile profile)
{
    struct srtp_session sender, wrong;
    struct srtp_keys ks = make_keys(profile, 1, 2);
    struct srtp_keys kw = make_keys(profile, 2, 3); /* expects key 3, gets key 1 */
    cr_assert_eq(srtp_session_init(&sender, &ks), 0);
    cr_assert_eq(srtp_session_init(&wrong, &kw), 0);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 100);
    cr_assert_eq(srtp_session_protect_rtp(&sender, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(srtp_session_unprotect_rtp(&wrong, buf, &len), -EBADMSG);
    len = make_rtcp(buf);
    cr_assert_eq(srtp_session_protect_rtcp(&sender, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(srtp_session_unprotect_rtcp(&wrong, buf, &len), -EBADMSG);

    /* Right key, wrong salt: also refused. */
    struct srtp_session salted;
    struct srtp_keys kz = make_keys(profile, 2, 1);
    kz.remote_salt[3] ^= 0x40;
    cr_assert_eq(srtp_session_init(&salted, &kz), 0);
    len = make_rtp(buf, 2, 100);
    cr_assert_eq(srtp_session_protect_rtp(&sender, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(srtp_session_unprotect_rtp(&salted, buf, &len), -EBADMSG);
    srtp_session_free(&sender);
    srtp_session_free(&wrong);
    srtp_session_free(&salted);
}

Test(srtp_session, wrong_keys_fail)
{
    check_wrong_keys(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    check_wrong_keys(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80);
}

Test(srtp_session, profiles_do_not_mix)
{
    struct srtp_session gcm, cm;
    struct srtp_keys kg = make_keys(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, 1, 2);
    struct srtp_keys kc = make_keys(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, 2, 1);
    cr_assert_eq(srtp_session_init(&gcm, &kg), 0);
    cr_assert_eq(srtp_session_init(&cm, &kc), 0);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 100);
    cr_assert_eq(srtp_session_protect_rtp(&gcm, buf, &len, sizeof(buf)), 0);
    cr_assert_lt(srtp_session_unprotect_rtp(&cm, buf, &len), 0);
    srtp_session_free(&gcm);
    srtp_session_free(&cm);
}

Test(srtp_session, malformed_packets_are_refused_before_libsrtp)
{
    struct pair p;
    pair_init(&p, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 100);

    size_t n = 11; /* shorter than the fixed header */
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &n, sizeof(buf)), -EINVAL);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), -EINVAL);

    buf[0] = 0x8f; /* 15 CSRCs = 72 bytes of header in a 40-byte packet */
    n = 40;
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &n, sizeof(buf)), -EINVAL);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), -EINVAL);

    buf[0] = 0x90; /* an extension header claiming 255 words */
    buf[12] = 0xbe, buf[13] = 0xde, buf[14] = 0x00, buf[15] = 0xff;
    n = len;
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &n, sizeof(buf)), -EINVAL);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), -EINVAL);

    buf[0] = 0x40; /* version 1 */
    n = len;
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &n, sizeof(buf)), -EINVAL);

    n = 7; /* shorter than an RTCP header */
    cr_assert_eq(srtp_session_protect_rtcp(&p.a, buf, &n, sizeof(buf)), -EINVAL);
    cr_assert_eq(srtp_session_unprotect_rtcp(&p.b, buf, &n), -EINVAL);

    n = SRTP_SESSION_MAX_PACKET + 1;
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &n), -EINVAL);
    pair_free(&p);
}

Test(srtp_session, valid_extension_header_roundtrips)
{
    struct pair p;
    pair_init(&p, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    uint8_t plain[BUF_CAP], buf[BUF_CAP];
    size_t len = make_rtp(plain, 3, 100);
    plain[0] = 0x91; /* one CSRC and an extension of one word */
    plain[16] = 0xbe, plain[17] = 0xde, plain[18] = 0x00, plain[19] = 0x01;
    memcpy(buf, plain, len);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(memcmp(buf, plain, 24), 0, "header, CSRC and extension stay readable");
    cr_assert_eq(srtp_session_unprotect_rtp(&p.b, buf, &len), 0);
    cr_assert_eq(len, 100);
    cr_assert_eq(memcmp(buf, plain, len), 0);
    pair_free(&p);
}

Test(srtp_session, protect_needs_trailer_room)
{
    struct pair p;
    pair_init(&p, SRTP_SESSION_PROFILE_AES128_CM_SHA1_80);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 100);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, 100 + SRTP_SESSION_RTP_TRAILER_ROOM - 1),
                 -ENOSPC);
    cr_assert_eq(len, 100);
    cr_assert_eq(srtp_session_protect_rtp(&p.a, buf, &len, 100 + SRTP_SESSION_RTP_TRAILER_ROOM), 0);
    len = make_rtcp(buf);
    cr_assert_eq(srtp_session_protect_rtcp(&p.a, buf, &len, 32 + SRTP_SESSION_RTP_TRAILER_ROOM),
                 -ENOSPC);
    pair_free(&p);
}

Test(srtp_session, init_refuses_bad_keys)
{
    struct srtp_session s;
    struct srtp_keys k = make_keys(SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, 1, 2);
    k.salt_len = 14; /* GCM's salt is 12 bytes */
    cr_assert_eq(srtp_session_init(&s, &k), -EINVAL);
    k = make_keys(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, 1, 2);
    k.salt_len = 12;
    cr_assert_eq(srtp_session_init(&s, &k), -EINVAL);
    k.profile = SRTP_SESSION_PROFILE_NONE;
    cr_assert_eq(srtp_session_init(&s, &k), -EINVAL);
    k = make_keys(SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, 1, 2);
    k.key_len = 32;
    cr_assert_eq(srtp_session_init(&s, &k), -EINVAL);
    cr_assert_eq(srtp_session_init(&s, NULL), -EINVAL);
    srtp_session_free(&s); /* zeroed by the failed init: nothing to free */
    cr_assert_null(s.outbound);
}
