/* gateway/srtp_gcm.c: RFC 7714's own vectors (§16.1, §17), the RFC 3711 §4.3 key derivation,
 * and, through balie/srtp_session.h, what the GCM backend does with indexes, replays, forged
 * packets and malformed input. Interop with libsrtp2 is in test_srtp_interop.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <openssl/err.h>

#include "balie/srtp_session.h"
#include "srtp_gcm.h"

/* Parses hex with optional spaces (as the RFC prints it) into `out`; returns the length. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int half = -1;
    for (; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else
            continue;
        if (half < 0) {
            half = v;
        } else {
            cr_assert_lt(n, cap);
            out[n++] = (uint8_t)(half << 4 | v);
            half = -1;
        }
    }
    cr_assert_eq(half, -1, "odd number of hex digits");
    return n;
}

/* RFC 7714 §16 and §17 give session keys, not master keys: key 00..0f, salt "Quid pro quo",
 * the same for SRTP and SRTCP. */
static void rfc_dir(struct srtp_gcm_dir *d, bool outbound)
{
    struct srtp_gcm_keys k;
    for (size_t i = 0; i < 16; i++)
        k.rtp_key[i] = k.rtcp_key[i] = (uint8_t)i;
    memcpy(k.rtp_salt, "Quid pro quo", 12);
    memcpy(k.rtcp_salt, "Quid pro quo", 12);
    cr_assert_eq(srtp_gcm_dir_init(d, &k, outbound), 0);
}

/* §16.1: "Gallia est omnis divisa in partes tres" under SSRC 0x5501a0b2, SEQ 0xf17b, ROC 0. */
static const char *rfc_rtp_plain = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f"
                                   "6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";
static const char *rfc_rtp_protected = "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c"
                                       "9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf"
                                       "8833899d 7f27beb1 6a9152cf 765ee439 0cce";
/* §17: an SR with SSRC 0x4d617273, SRTCP index 0x5d4. */
static const char *rfc_rtcp_plain = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a"
                                    "0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef"
                                    "deadbeef";
static const char *rfc_rtcp_protected = "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99"
                                        "7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded"
                                        "0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4";
/* §17.3: the same with E = 0, authenticated only. */
static const char *rfc_rtcp_tagged = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a"
                                     "0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef"
                                     "deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4";

Test(srtp_gcm, rfc7714_16_1_1_rtp_encryption)
{
    struct srtp_gcm_dir d;
    rfc_dir(&d, true);
    uint8_t buf[256], want[256];
    size_t len = unhex(rfc_rtp_plain, buf, sizeof(buf));
    size_t want_len = unhex(rfc_rtp_protected, want, sizeof(want));
    cr_assert_eq(srtp_gcm_protect_rtp(&d, buf, &len, 12), 0);
    cr_assert_eq(len, want_len);
    cr_assert_eq(memcmp(buf, want, len), 0, "§16.1.1's encrypted and tagged packet");
    srtp_gcm_dir_free(&d);
}

Test(srtp_gcm, rfc7714_16_1_2_rtp_decryption)
{
    struct srtp_gcm_dir d;
    rfc_dir(&d, false);
    uint8_t buf[256], plain[256], pkt[256];
    size_t plain_len = unhex(rfc_rtp_plain, plain, sizeof(plain));
    size_t pkt_len = unhex(rfc_rtp_protected, pkt, sizeof(pkt));

    /* A flipped tag bit first: refused, and it leaves no trace for the real packet. */
    memcpy(buf, pkt, pkt_len);
    buf[pkt_len - 1] ^= 0x01;
    size_t len = pkt_len;
    ERR_clear_error();
    cr_assert_eq(srtp_gcm_unprotect_rtp(&d, buf, &len, 12), -EBADMSG);
    cr_assert_eq(d.n_streams, 0, "a forged packet takes no SSRC slot");
    /* Nor an entry in OpenSSL's error queue, which would allocate for every forgery. */
    cr_assert_eq(ERR_peek_error(), 0);

    memcpy(buf, pkt, pkt_len);
    len = pkt_len;
    cr_assert_eq(srtp_gcm_unprotect_rtp(&d, buf, &len, 12), 0);
    cr_assert_eq(len, plain_len);
    cr_assert_eq(memcmp(buf, plain, len), 0, "§16.1.2's plaintext");

    memcpy(buf, pkt, pkt_len);
    len = pkt_len;
    cr_assert_eq(srtp_gcm_unprotect_rtp(&d, buf, &len, 12), -EALREADY);
    srtp_gcm_dir_free(&d);
}

Test(srtp_gcm, rfc7714_17_1_rtcp_encryption)
{
    struct srtp_gcm_dir d;
    rfc_dir(&d, true);
    d.rtcp_index = 0x5d3; /* the next index sent is the vector's 0x5d4 */
    uint8_t buf[256], want[256];
    size_t len = unhex(rfc_rtcp_plain, buf, sizeof(buf));
    size_t want_len = unhex(rfc_rtcp_protected, want, sizeof(want));
    cr_assert_eq(srtp_gcm_protect_rtcp(&d, buf, &len), 0);
    cr_assert_eq(len, want_len);
    cr_assert_eq(memcmp(buf, want, len), 0, "§17.1's encrypted and tagged packet");
    cr_assert_eq(d.rtcp_index, 0x5d4);
    srtp_gcm_dir_free(&d);
}

static void check_rtcp_decrypts(const char *protected_hex)
{
    struct srtp_gcm_dir d;
    rfc_dir(&d, false);
    uint8_t buf[256], plain[256];
    size_t plain_len = unhex(rfc_rtcp_plain, plain, sizeof(plain));
    size_t len = unhex(protected_hex, buf, sizeof(buf));
    cr_assert_eq(srtp_gcm_unprotect_rtcp(&d, buf, &len), 0);
    cr_assert_eq(len, plain_len);
    cr_assert_eq(memcmp(buf, plain, len), 0);
    len = unhex(protected_hex, buf, sizeof(buf));
    cr_assert_eq(srtp_gcm_unprotect_rtcp(&d, buf, &len), -EALREADY);
    srtp_gcm_dir_free(&d);
}

Test(srtp_gcm, rfc7714_17_rtcp_decryption_encrypted_and_authenticated_only)
{
    check_rtcp_decrypts(rfc_rtcp_protected);
    check_rtcp_decrypts(rfc_rtcp_tagged);
}

/* Flipping the E flag moves the payload between AAD and ciphertext: it must not verify. */
Test(srtp_gcm, rtcp_e_flag_is_authenticated)
{
    struct srtp_gcm_dir d;
    rfc_dir(&d, false);
    const char *vectors[] = {rfc_rtcp_protected, rfc_rtcp_tagged};
    for (size_t v = 0; v < 2; v++) {
        uint8_t buf[256];
        size_t len = unhex(vectors[v], buf, sizeof(buf));
        buf[len - 4] ^= 0x80;
        cr_assert_eq(srtp_gcm_unprotect_rtcp(&d, buf, &len), -EBADMSG);
    }
    srtp_gcm_dir_free(&d);
}

/* RFC 3711 §4.3.1 with the 96-bit salt padded as libsrtp2 pads it. Expected values computed for
 * this test with Python's `cryptography` AES-CTR (IV = salt || 00 00, label at octet 7, then
 * 00 00), independent of this code; test_srtp_interop.c shows libsrtp2 derives the same. */
Test(srtp_gcm, key_derivation_known_answer)
{
    uint8_t key[16], salt[12], want[16];
    unhex("e1f97a0d3e018be0d64fa32c06de4139", key, sizeof(key));
    unhex("0ec675ad498afeebb6960b3a", salt, sizeof(salt));
    struct srtp_gcm_keys k;
    cr_assert_eq(srtp_gcm_derive(key, salt, &k), 0);
    unhex("238c882f36f000301573e69383502d9d", want, sizeof(want));
    cr_assert_eq(memcmp(k.rtp_key, want, 16), 0, "label 0x00");
    unhex("f2fee04070fc3f65d706e2e4", want, sizeof(want));
    cr_assert_eq(memcmp(k.rtp_salt, want, 12), 0, "label 0x02");
    unhex("8bd2cdf1fc9db302554e0fc9a5ccb4a6", want, sizeof(want));
    cr_assert_eq(memcmp(k.rtcp_key, want, 16), 0, "label 0x03");
    unhex("9bb741139a5207f61f898db2", want, sizeof(want));
    cr_assert_eq(memcmp(k.rtcp_salt, want, 12), 0, "label 0x05");
}

/* --- Through the public API ------------------------------------------------------------- */

#define BUF_CAP 1600

static struct srtp_keys gcm_keys(uint8_t local_seed, uint8_t remote_seed)
{
    struct srtp_keys k;
    memset(&k, 0, sizeof(k));
    k.profile = SRTP_SESSION_PROFILE_AEAD_AES_128_GCM;
    k.key_len = SRTP_SESSION_KEY_LEN;
    k.salt_len = 12;
    for (size_t i = 0; i < 16; i++) {
        k.local_key[i] = (uint8_t)(local_seed * 7 + i);
        k.remote_key[i] = (uint8_t)(remote_seed * 7 + i);
    }
    for (size_t i = 0; i < 12; i++) {
        k.local_salt[i] = (uint8_t)(local_seed ^ (0xa0 + i));
        k.remote_salt[i] = (uint8_t)(remote_seed ^ (0xa0 + i));
    }
    return k;
}

struct pair {
    struct srtp_session tx; /* protects with key 1 */
    struct srtp_session rx; /* unprotects key 1 */
};

static void pair_init(struct pair *p)
{
    struct srtp_keys a = gcm_keys(1, 2), b = gcm_keys(2, 1);
    cr_assert_eq(srtp_session_init(&p->tx, &a), 0);
    cr_assert_eq(srtp_session_init(&p->rx, &b), 0);
}

static void pair_free(struct pair *p)
{
    srtp_session_free(&p->tx);
    srtp_session_free(&p->rx);
}

static size_t make_rtp(uint8_t *buf, uint32_t ssrc, uint16_t seq, size_t len)
{
    memset(buf, 0, len);
    buf[0] = 0x80;
    buf[1] = 111;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    buf[8] = (uint8_t)(ssrc >> 24), buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8), buf[11] = (uint8_t)ssrc;
    for (size_t i = 12; i < len; i++)
        buf[i] = (uint8_t)(i + seq);
    return len;
}

/* A protected packet kept aside, to deliver later or twice. */
struct sent {
    uint8_t b[256];
    size_t len;
};

static void protect(struct pair *p, struct sent *out, uint32_t ssrc, uint16_t seq)
{
    out->len = make_rtp(out->b, ssrc, seq, 60);
    cr_assert_eq(srtp_session_protect_rtp(&p->tx, out->b, &out->len, sizeof(out->b)), 0,
                 "protect seq %u", seq);
}

static int deliver(struct pair *p, const struct sent *in)
{
    uint8_t buf[256];
    memcpy(buf, in->b, in->len);
    size_t len = in->len;
    int rc = srtp_session_unprotect_rtp(&p->rx, buf, &len);
    if (rc == 0) {
        /* The header is in the clear: rebuild the plaintext it was made from. */
        uint32_t ssrc = (uint32_t)in->b[8] << 24 | (uint32_t)in->b[9] << 16 |
                        (uint32_t)in->b[10] << 8 | in->b[11];
        uint8_t plain[256];
        make_rtp(plain, ssrc, (uint16_t)(in->b[2] << 8 | in->b[3]), 60);
        cr_assert_eq(len, 60);
        cr_assert_eq(memcmp(buf, plain, 60), 0);
    }
    return rc;
}

/* RFC 3711 §3.3.1: sequence numbers wrap, the ROC counts the wraps, and a late packet from
 * before the wrap is still placed under the old ROC. */
Test(srtp_gcm, rollover_and_late_packets_across_the_wrap)
{
    struct pair p;
    pair_init(&p);
    static struct sent s[12];
    for (int i = 0; i < 12; i++)
        protect(&p, &s[i], 0xabcd, (uint16_t)(65530 + i)); /* 65530..65535, 0..5 */
    for (int i = 0; i < 12; i++)
        if (i != 4 && i != 5)
            cr_assert_eq(deliver(&p, &s[i]), 0, "packet %d", i);
    cr_assert_eq(deliver(&p, &s[5]), 0, "65535 after the wrap: ROC 0 still");
    cr_assert_eq(deliver(&p, &s[4]), 0);
    cr_assert_eq(deliver(&p, &s[4]), -EALREADY, "once");
    cr_assert_eq(deliver(&p, &s[11]), -EALREADY);
    /* The sender's ROC moved too: the next packet only authenticates under ROC 1. */
    struct sent next;
    protect(&p, &next, 0xabcd, 6);
    cr_assert_eq(deliver(&p, &next), 0);
    pair_free(&p);
}

/* RFC 3711 §3.3.2 with a window of 1024: late inside it is taken once, older is refused. */
Test(srtp_gcm, replay_window)
{
    struct pair p;
    pair_init(&p);
    static struct sent s[1100];
    for (int i = 0; i < 1100; i++)
        protect(&p, &s[i], 7, (uint16_t)(1000 + i));
    cr_assert_eq(deliver(&p, &s[1099]), 0);
    cr_assert_eq(deliver(&p, &s[1099 - 1023]), 0, "1023 behind: the window's oldest");
    cr_assert_eq(deliver(&p, &s[1099 - 1023]), -EALREADY);
    cr_assert_eq(deliver(&p, &s[1099 - 1024]), -EALREADY, "1024 behind: too old");
    cr_assert_eq(deliver(&p, &s[0]), -EALREADY);
    cr_assert_eq(deliver(&p, &s[600]), 0);
    cr_assert_eq(deliver(&p, &s[600]), -EALREADY);
    cr_assert_eq(deliver(&p, &s[1098]), 0);
    pair_free(&p);
}

/* A packet whose tag fails must change nothing: not the window, not the ROC. Here a forgery
 * that claims the next ROC (seq far ahead) and one that replays a future index. */
Test(srtp_gcm, failed_authentication_changes_no_state)
{
    struct pair p;
    pair_init(&p);
    struct sent a, b, far;
    protect(&p, &a, 9, 40000);
    protect(&p, &b, 9, 40001);
    cr_assert_eq(deliver(&p, &a), 0);

    /* Seq 100 after 40000 is estimated as ROC 1 (RFC 3711 Appendix A). */
    far.len = make_rtp(far.b, 9, 100, 60 + 16);
    cr_assert_eq(deliver(&p, &far), -EBADMSG);
    struct sent forged = b;
    forged.b[20] ^= 0x04;
    cr_assert_eq(deliver(&p, &forged), -EBADMSG);
    cr_assert_eq(deliver(&p, &b), 0, "the genuine 40001 after its forgery, under ROC 0");
    pair_free(&p);
}

Test(srtp_gcm, outbound_refuses_an_index_twice_or_too_old)
{
    struct pair p;
    pair_init(&p);
    struct sent s;
    protect(&p, &s, 3, 5000);
    s.len = make_rtp(s.b, 3, 5000, 60);
    cr_assert_eq(srtp_session_protect_rtp(&p.tx, s.b, &s.len, sizeof(s.b)), -EALREADY);
    s.len = make_rtp(s.b, 3, 3000, 60);
    cr_assert_eq(srtp_session_protect_rtp(&p.tx, s.b, &s.len, sizeof(s.b)), -EALREADY);
    protect(&p, &s, 3, 4990); /* late but inside the window: never sent, so allowed */
    protect(&p, &s, 4, 5000); /* another SSRC: another nonce */
    pair_free(&p);
}

/* Sixteen SSRCs per direction; the seventeenth is refused. Forged packets from new SSRCs take
 * no slot. */
Test(srtp_gcm, ssrc_table_limit)
{
    struct pair p;
    pair_init(&p);
    struct sent s;
    for (uint32_t ssrc = 100; ssrc < 140; ssrc++) {
        s.len = make_rtp(s.b, ssrc, 1, 60 + 16);
        cr_assert_eq(deliver(&p, &s), -EBADMSG);
    }
    for (uint32_t ssrc = 1; ssrc <= 16; ssrc++) {
        protect(&p, &s, ssrc, 1);
        cr_assert_eq(deliver(&p, &s), 0, "ssrc %u", ssrc);
    }
    s.len = make_rtp(s.b, 17, 1, 60);
    cr_assert_eq(srtp_session_protect_rtp(&p.tx, s.b, &s.len, sizeof(s.b)), -EPROTO);
    s.len = make_rtp(s.b, 17, 1, 60 + 16);
    cr_assert_eq(deliver(&p, &s), -EPROTO);
    protect(&p, &s, 16, 2);
    cr_assert_eq(deliver(&p, &s), 0, "known SSRCs go on");
    pair_free(&p);
}

static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
    memset(buf, 0, 32);
    buf[0] = 0x81;
    buf[1] = 201;
    buf[3] = 7;
    buf[4] = (uint8_t)(ssrc >> 24), buf[5] = (uint8_t)(ssrc >> 16);
    buf[6] = (uint8_t)(ssrc >> 8), buf[7] = (uint8_t)ssrc;
    for (size_t i = 8; i < 32; i++)
        buf[i] = (uint8_t)(i * 13);
    return 32;
}

/* SRTCP: indexes count per session on our side; on the receiving side each SSRC has its own
 * window, since a peer (libsrtp2) counts per SSRC and two SSRCs may send the same index. */
Test(srtp_gcm, rtcp_indexes_and_replay)
{
    struct pair p;
    pair_init(&p);
    struct sent s[6];
    for (int i = 0; i < 6; i++) {
        s[i].len = make_rtcp(s[i].b, 50 + (uint32_t)(i % 2));
        cr_assert_eq(srtp_session_protect_rtcp(&p.tx, s[i].b, &s[i].len, sizeof(s[i].b)), 0);
        cr_assert_eq(s[i].len, 32 + 16 + 4);
        uint8_t *t = s[i].b + s[i].len - 4;
        cr_assert_eq(t[0], 0x80, "E = 1");
        cr_assert_eq(t[3], i + 1, "index %d", i + 1);
    }
    int order[] = {1, 0, 5, 3, 2, 4};
    for (int k = 0; k < 6; k++) {
        uint8_t buf[256];
        size_t len = s[order[k]].len;
        memcpy(buf, s[order[k]].b, len);
        cr_assert_eq(srtp_session_unprotect_rtcp(&p.rx, buf, &len), 0, "index %d", order[k]);
        cr_assert_eq(len, 32);
        len = s[order[k]].len;
        memcpy(buf, s[order[k]].b, len);
        cr_assert_eq(srtp_session_unprotect_rtcp(&p.rx, buf, &len), -EALREADY);
    }
    pair_free(&p);
}

Test(srtp_gcm, short_packets_are_invalid)
{
    struct pair p;
    pair_init(&p);
    uint8_t buf[BUF_CAP];
    for (size_t n = 0; n < 12 + 16; n++) {
        make_rtp(buf, 1, 1, 60);
        size_t len = n;
        cr_assert_eq(srtp_session_unprotect_rtp(&p.rx, buf, &len), -EINVAL, "%zu bytes", n);
    }
    for (size_t n = 0; n < 8 + 16 + 4; n++) {
        make_rtcp(buf, 1);
        size_t len = n;
        cr_assert_eq(srtp_session_unprotect_rtcp(&p.rx, buf, &len), -EINVAL, "%zu bytes", n);
    }
    /* A header of 12 + 4 CSRCs and a 2-word extension (40 bytes) needs 56 to carry a tag. */
    make_rtp(buf, 1, 1, 60);
    buf[0] = 0x94;
    buf[28] = 0xbe, buf[29] = 0xde, buf[30] = 0, buf[31] = 2;
    size_t len = 55;
    cr_assert_eq(srtp_session_unprotect_rtp(&p.rx, buf, &len), -EINVAL);
    len = 56;
    cr_assert_eq(srtp_session_unprotect_rtp(&p.rx, buf, &len), -EBADMSG);
    pair_free(&p);
}

/* An empty payload is legal RTP: only the header is authenticated. */
Test(srtp_gcm, empty_payload_roundtrips)
{
    struct pair p;
    pair_init(&p);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 1, 12);
    cr_assert_eq(srtp_session_protect_rtp(&p.tx, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(len, 28);
    cr_assert_eq(srtp_session_unprotect_rtp(&p.rx, buf, &len), 0);
    cr_assert_eq(len, 12);
    pair_free(&p);
}

Test(srtp_gcm, free_wipes_and_is_idempotent)
{
    struct pair p;
    pair_init(&p);
    cr_assert_not_null(p.tx.gcm);
    cr_assert_null(p.tx.outbound, "GCM does not use libsrtp2");
    pair_free(&p);
    cr_assert_null(p.tx.gcm);
    pair_free(&p);
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 1, 60);
    cr_assert_eq(srtp_session_protect_rtp(&p.tx, buf, &len, sizeof(buf)), -EINVAL);
}

/* RFC 7714 §8.2, §9.2: header (AAD), payload (ciphertext), tag and SRTCP trailer are all
 * authenticated: a flip in any of them is an authentication failure, not a parse error. */
Test(srtp_gcm, tampered_header_payload_or_tag_is_ebadmsg)
{
    struct pair p;
    pair_init(&p);
    struct sent s;
    protect(&p, &s, 21, 300);
    const size_t rtp_spots[] = {1, 5, 9, 12, 40, 59, 60, 75}; /* PT, ts, SSRC, payload, tag */
    for (size_t i = 0; i < sizeof(rtp_spots) / sizeof(rtp_spots[0]); i++) {
        struct sent t = s;
        t.b[rtp_spots[i]] ^= 0x10;
        cr_assert_eq(deliver(&p, &t), -EBADMSG, "RTP byte %zu", rtp_spots[i]);
    }
    cr_assert_eq(deliver(&p, &s), 0);

    uint8_t pkt[256], buf[256];
    size_t len = make_rtcp(pkt, 21);
    cr_assert_eq(srtp_session_protect_rtcp(&p.tx, pkt, &len, sizeof(pkt)), 0);
    const size_t rtcp_spots[] = {1, 3, 6, 8, 31, 32, 47, 48, 51}; /* header, body, tag, index */
    for (size_t i = 0; i < sizeof(rtcp_spots) / sizeof(rtcp_spots[0]); i++) {
        memcpy(buf, pkt, len);
        buf[rtcp_spots[i]] ^= 0x01;
        size_t n = len;
        cr_assert_eq(srtp_session_unprotect_rtcp(&p.rx, buf, &n), -EBADMSG, "RTCP byte %zu",
                     rtcp_spots[i]);
    }
    memcpy(buf, pkt, len);
    cr_assert_eq(srtp_session_unprotect_rtcp(&p.rx, buf, &len), 0);
    pair_free(&p);
}
