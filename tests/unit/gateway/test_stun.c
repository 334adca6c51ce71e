#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>

#include "balie/stun.h"

/* RFC 5769 (April 2010) test vectors, as printed in the RFC. Their MESSAGE-INTEGRITY and
 * FINGERPRINT values are checked below, so a mistyped byte would fail the tests. */
static const char *const RFC5769_REQUEST =
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff"
    "80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf";

static const char *const RFC5769_IPV4_RESPONSE =
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96";

static const char *const RFC5769_IPV6_RESPONSE =
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c";

static const char *const RFC5769_LONG_TERM =
    "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
    "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34"
    "73 41"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66";

static const char SHORT_TERM_PWD[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t VECTOR_TXID[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                        0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            cr_assert_lt(n, cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    cr_assert_eq(hi, -1, "odd number of hex digits");
    return n;
}

static const uint8_t *pwd_bytes(void)
{
    return (const uint8_t *)SHORT_TERM_PWD;
}

/* Rewrites FINGERPRINT after a test edited the message, so that only the edit is under test. */
static void refresh_fingerprint(uint8_t *buf, size_t len)
{
    size_t off = len - 8;
    cr_assert_eq(buf[off], 0x80);
    cr_assert_eq(buf[off + 1], 0x28);
    uint32_t crc = stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR;
    buf[off + 4] = (uint8_t)(crc >> 24);
    buf[off + 5] = (uint8_t)(crc >> 16);
    buf[off + 6] = (uint8_t)(crc >> 8);
    buf[off + 7] = (uint8_t)crc;
}

Test(stun, crc32_check_value)
{
    /* The standard CRC-32 check value (ISO 3309 / ITU-T V.42). */
    cr_assert_eq(stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

Test(stun, rfc5769_sample_request)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    cr_assert_eq(len, 108);
    cr_assert(stun_looks_like(buf, len));

    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    cr_assert_eq(m.type, STUN_BINDING_REQUEST);
    cr_assert_eq(m.method, STUN_METHOD_BINDING);
    cr_assert_eq(m.cls, STUN_CLASS_REQUEST);
    cr_assert_arr_eq(m.txid, VECTOR_TXID, 12);
    cr_assert_eq(m.username_len, 9);
    cr_assert_arr_eq(m.username, "evtj:h6vY", 9);
    cr_assert(m.has_priority);
    cr_assert_eq(m.priority, 0x6e0001ffu);
    cr_assert(m.ice_controlled);
    cr_assert_not(m.ice_controlling);
    cr_assert_eq(m.tie_breaker, 0x932ff9b151263b36ull);
    cr_assert_not(m.use_candidate);
    cr_assert(m.has_integrity);
    cr_assert_eq(m.integrity_offset, 76);
    cr_assert(m.has_fingerprint);
    cr_assert_eq(m.unknown_count, 0);

    cr_assert_eq(stun_check_integrity(buf, len, &m, pwd_bytes(), strlen(SHORT_TERM_PWD)), 0);
    cr_assert_eq(stun_check_integrity(buf, len, &m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22),
                 -EACCES);

    char ufrag[16];
    cr_assert_eq(stun_local_ufrag(&m, ufrag, sizeof(ufrag)), 4);
    cr_assert_str_eq(ufrag, "evtj");
}

static void check_vector_response(const char *hex, int family)
{
    uint8_t buf[256];
    size_t len = unhex(hex, buf, sizeof(buf));
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    cr_assert_eq(m.type, STUN_BINDING_SUCCESS);
    cr_assert_eq(m.cls, STUN_CLASS_SUCCESS);
    cr_assert_arr_eq(m.txid, VECTOR_TXID, 12);
    cr_assert(m.has_fingerprint);
    cr_assert(m.has_xor_mapped);
    cr_assert_eq(m.xor_mapped.ss_family, family);
    cr_assert_eq(stun_check_integrity(buf, len, &m, pwd_bytes(), strlen(SHORT_TERM_PWD)), 0);

    /* Our builder writes the same XOR-MAPPED-ADDRESS bytes for the address we parsed. */
    uint8_t out[128];
    struct stun_builder b;
    stun_builder_init(&b, out, sizeof(out), STUN_BINDING_SUCCESS, VECTOR_TXID);
    cr_assert_eq(stun_add_xor_mapped_address(&b, (const struct sockaddr *)&m.xor_mapped), 0);
    int n = stun_builder_finish(&b);
    size_t attr_len = family == AF_INET ? 12 : 24;
    cr_assert_eq(n, 20 + (int)attr_len);
    /* In both vectors XOR-MAPPED-ADDRESS follows a 16-byte SOFTWARE attribute. */
    cr_assert_arr_eq(out + 20, buf + 36, attr_len);
}

Test(stun, rfc5769_ipv4_response)
{
    check_vector_response(RFC5769_IPV4_RESPONSE, AF_INET);
    uint8_t buf[256];
    size_t len = unhex(RFC5769_IPV4_RESPONSE, buf, sizeof(buf));
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&m.xor_mapped;
    char text[INET_ADDRSTRLEN];
    cr_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)), "192.0.2.1");
    cr_assert_eq(ntohs(sin->sin_port), 32853);
}

Test(stun, rfc5769_ipv6_response)
{
    check_vector_response(RFC5769_IPV6_RESPONSE, AF_INET6);
    uint8_t buf[256];
    size_t len = unhex(RFC5769_IPV6_RESPONSE, buf, sizeof(buf));
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&m.xor_mapped;
    char text[INET6_ADDRSTRLEN];
    cr_assert_str_eq(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)),
                     "2001:db8:1234:5678:11:2233:4455:6677");
    cr_assert_eq(ntohs(sin6->sin6_port), 32853);
}

/* RFC 8489 §9.2.2: the long-term key is MD5(username ":" realm ":" password). */
static void long_term_key(uint8_t key[16])
{
    static const char input[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                "\xe3\x82\xb9:example.org:TheMatrIX";
    unsigned int n = 0;
    cr_assert(EVP_Digest(input, strlen(input), key, &n, EVP_md5(), NULL));
    cr_assert_eq(n, 16);
}

Test(stun, rfc5769_long_term_request)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_LONG_TERM, buf, sizeof(buf));
    cr_assert_eq(len, 116);
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    cr_assert_eq(m.type, STUN_BINDING_REQUEST);
    cr_assert_eq(m.username_len, 18);
    cr_assert_arr_eq(m.username, "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83", 12);
    cr_assert(m.has_integrity);
    cr_assert_not(m.has_fingerprint);
    cr_assert_eq(m.unknown_count, 0, "NONCE and REALM are known attributes");

    uint8_t key[16];
    long_term_key(key);
    cr_assert_eq(stun_check_integrity(buf, len, &m, key, sizeof(key)), 0);
    key[0] ^= 1;
    cr_assert_eq(stun_check_integrity(buf, len, &m, key, sizeof(key)), -EACCES);
}

Test(stun, builder_reproduces_rfc5769_long_term_request)
{
    uint8_t want[256];
    size_t want_len = unhex(RFC5769_LONG_TERM, want, sizeof(want));
    static const char username[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                   "\xe3\x82\xb9";
    static const char nonce[] = "f//499k954d6OL34oL9FSTvy64sA";
    uint8_t key[16];
    long_term_key(key);

    uint8_t out[256];
    struct stun_builder b;
    stun_builder_init(&b, out, sizeof(out), STUN_BINDING_REQUEST, want + 8);
    stun_add_attr(&b, STUN_ATTR_USERNAME, username, strlen(username));
    stun_add_attr(&b, STUN_ATTR_NONCE, nonce, strlen(nonce));
    stun_add_attr(&b, STUN_ATTR_REALM, "example.org", 11);
    stun_add_integrity(&b, key, sizeof(key));
    cr_assert_eq(stun_builder_finish(&b), (int)want_len);
    cr_assert_arr_eq(out, want, want_len);
}

Test(stun, binding_request_round_trip)
{
    static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const struct stun_binding_params p = {
        .username = "abcdEFGH:remoteUfrag",
        .key = (const uint8_t *)"0123456789abcdefghijklmn",
        .key_len = 24,
        .priority = 0x7e7f00ff,
        .controlling = true,
        .tie_breaker = 0x0102030405060708ull,
        .use_candidate = true,
    };
    uint8_t buf[256];
    int n = stun_build_binding_request(buf, sizeof(buf), txid, &p);
    /* header + USERNAME(4+20) + PRIORITY(8) + ICE-CONTROLLING(12) + USE-CANDIDATE(4) +
     * MESSAGE-INTEGRITY(24) + FINGERPRINT(8) */
    cr_assert_eq(n, 20 + 24 + 8 + 12 + 4 + 24 + 8);
    cr_assert(stun_looks_like(buf, (size_t)n));

    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), 0);
    cr_assert_eq(m.type, STUN_BINDING_REQUEST);
    cr_assert_arr_eq(m.txid, txid, 12);
    cr_assert_eq(m.username_len, 20);
    cr_assert_arr_eq(m.username, "abcdEFGH:remoteUfrag", 20);
    cr_assert_eq(m.priority, 0x7e7f00ffu);
    cr_assert(m.ice_controlling);
    cr_assert_not(m.ice_controlled);
    cr_assert_eq(m.tie_breaker, 0x0102030405060708ull);
    cr_assert(m.use_candidate);
    cr_assert(m.has_fingerprint);
    cr_assert_eq(stun_check_integrity(buf, (size_t)n, &m, p.key, p.key_len), 0);
    cr_assert_eq(stun_check_integrity(buf, (size_t)n, &m, p.key, p.key_len - 1), -EACCES);

    char ufrag[9];
    cr_assert_eq(stun_local_ufrag(&m, ufrag, sizeof(ufrag)), 8);
    cr_assert_str_eq(ufrag, "abcdEFGH");
    cr_assert_eq(stun_local_ufrag(&m, ufrag, 8), -ENOSPC);
}

static void check_error_response(int code, const char *reason, bool with_integrity)
{
    uint8_t buf[256];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_ERROR, VECTOR_TXID);
    cr_assert_eq(stun_add_error_code(&b, code, reason), 0);
    if (with_integrity)
        stun_add_integrity(&b, pwd_bytes(), strlen(SHORT_TERM_PWD));
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    cr_assert_gt(n, 0);

    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), 0);
    cr_assert_eq(m.cls, STUN_CLASS_ERROR);
    cr_assert_eq(m.method, STUN_METHOD_BINDING);
    cr_assert(m.has_error);
    cr_assert_eq(m.error_code, code);
    cr_assert_eq(m.error_reason_len, strlen(reason));
    cr_assert_arr_eq(m.error_reason, reason, strlen(reason));
    /* RFC 8489 §14.8: class in the low 3 bits of byte 2, number in byte 3. */
    cr_assert_eq(buf[26], code / 100);
    cr_assert_eq(buf[27], code % 100);
    cr_assert(m.has_fingerprint);
    cr_assert_eq(m.has_integrity, with_integrity);
    if (with_integrity)
        cr_assert_eq(stun_check_integrity(buf, (size_t)n, &m, pwd_bytes(), strlen(SHORT_TERM_PWD)),
                     0);
}

Test(stun, error_responses_400_401_487)
{
    check_error_response(400, "Bad Request", false);
    check_error_response(401, "Unauthorized", false);
    check_error_response(487, "Role Conflict", true);
    check_error_response(420, "", true);
}

Test(stun, error_code_out_of_range_is_refused)
{
    uint8_t buf[64];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_ERROR, VECTOR_TXID);
    cr_assert_eq(stun_add_error_code(&b, 299, "x"), -EINVAL);
    cr_assert_eq(stun_builder_finish(&b), -EINVAL, "errors are sticky");
}

Test(stun, unknown_attributes_response)
{
    static const uint16_t types[] = {0x0003, 0x7001, 0x0004};
    uint8_t buf[128];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_ERROR, VECTOR_TXID);
    stun_add_error_code(&b, 420, "Unknown Attribute");
    stun_add_unknown_attributes(&b, types, 3);
    int n = stun_builder_finish(&b);
    cr_assert_gt(n, 0);
    /* 3 types = 6 bytes, padded to 8. */
    cr_assert_eq(n, 20 + 4 + 24 + 4 + 8);
    cr_assert_eq(buf[n - 12 + 1], 0x0A);
    cr_assert_eq(buf[n - 12 + 3], 6);
    cr_assert_eq(buf[n - 8 + 2], 0x70);
    cr_assert_eq(buf[n - 8 + 3], 0x01);
}

Test(stun, every_truncation_is_refused)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    for (size_t cut = 0; cut < len; cut++) {
        struct stun_msg m;
        int rc = stun_parse(buf, cut, &m);
        cr_assert_lt(rc, 0, "prefix of %zu bytes parsed", cut);
        cr_assert_not(stun_looks_like(buf, cut));
    }
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, 19, &m), -EMSGSIZE);
    cr_assert_eq(stun_parse(buf, len - 4, &m), -EMSGSIZE);
}

Test(stun, truncated_header_length_is_refused)
{
    /* The header claims less than the datagram holds, and the attribute then overruns. */
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[3] = 0x08;
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, 28, &m), -EBADMSG, "SOFTWARE overruns an 8-byte body");
    cr_assert_eq(stun_parse(buf, len, &m), -EMSGSIZE);
}

Test(stun, oversized_datagram_is_refused)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    memset(buf + len, 0, 4);
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len + 4, &m), -EMSGSIZE, "trailing bytes beyond the length");
    cr_assert_not(stun_looks_like(buf, len + 4));
    buf[3] = 0x5a;
    cr_assert_eq(stun_parse(buf, len, &m), -EMSGSIZE, "length not a multiple of 4");
    buf[3] = 0x5c;
    cr_assert_eq(stun_parse(buf, len, &m), -EMSGSIZE, "length beyond the datagram");
}

Test(stun, not_stun_is_refused)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    struct stun_msg m;
    buf[0] = 0x80; /* RTP */
    cr_assert_not(stun_looks_like(buf, len));
    cr_assert_eq(stun_parse(buf, len, &m), -ENOMSG);
    buf[0] = 0x00;
    buf[4] = 0x22; /* magic cookie */
    cr_assert_not(stun_looks_like(buf, len));
    cr_assert_eq(stun_parse(buf, len, &m), -ENOMSG);
    cr_assert_eq(stun_parse(NULL, len, &m), -EINVAL);
}

Test(stun, wrong_attribute_lengths_are_refused)
{
    uint8_t buf[256];
    struct stun_msg m;
    size_t len;

    len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[43] = 3; /* PRIORITY length 3 */
    refresh_fingerprint(buf, len);
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);

    len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[51] = 4; /* ICE-CONTROLLED length 4 */
    refresh_fingerprint(buf, len);
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);

    len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[79] = 0x10; /* MESSAGE-INTEGRITY length 16 */
    refresh_fingerprint(buf, len);
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);

    len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[63] = 0x40; /* USERNAME runs past the end */
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);

    len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[103] = 8; /* FINGERPRINT length 8 */
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);
}

Test(stun, bad_xor_mapped_address_is_refused)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_IPV4_RESPONSE, buf, sizeof(buf));
    struct stun_msg m;
    buf[41] = 0x03; /* family */
    refresh_fingerprint(buf, len);
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);
    buf[41] = 0x02; /* IPv6 family with an IPv4-sized value */
    refresh_fingerprint(buf, len);
    cr_assert_eq(stun_parse(buf, len, &m), -EBADMSG);
}

Test(stun, bad_fingerprint_is_a_parse_error)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    struct stun_msg m;
    buf[len - 1] ^= 0x01;
    cr_assert_eq(stun_parse(buf, len, &m), -EILSEQ);
    buf[len - 1] ^= 0x01;
    buf[30] ^= 0x20; /* inside SOFTWARE */
    cr_assert_eq(stun_parse(buf, len, &m), -EILSEQ);
}

Test(stun, wrong_integrity_is_refused)
{
    uint8_t buf[256];
    size_t len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[30] ^= 0x20; /* inside SOFTWARE, covered by the HMAC */
    refresh_fingerprint(buf, len);
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    cr_assert_eq(stun_check_integrity(buf, len, &m, pwd_bytes(), strlen(SHORT_TERM_PWD)), -EACCES);

    len = unhex(RFC5769_REQUEST, buf, sizeof(buf));
    buf[90] ^= 0x01; /* the HMAC itself */
    refresh_fingerprint(buf, len);
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    cr_assert_eq(stun_check_integrity(buf, len, &m, pwd_bytes(), strlen(SHORT_TERM_PWD)), -EACCES);

    len = unhex(RFC5769_IPV4_RESPONSE, buf, sizeof(buf));
    cr_assert_eq(stun_parse(buf, len, &m), 0);
    m.has_integrity = false;
    cr_assert_eq(stun_check_integrity(buf, len, &m, pwd_bytes(), strlen(SHORT_TERM_PWD)), -ENOENT);
}

Test(stun, attributes_after_integrity_are_ignored)
{
    /* RFC 8489 §14.5: a USE-CANDIDATE slipped in after MESSAGE-INTEGRITY is not authenticated
     * and must not count, yet the HMAC still verifies. */
    static const uint8_t txid[12] = {9};
    const uint8_t *key = pwd_bytes();
    uint8_t buf[256];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, txid);
    stun_add_attr(&b, STUN_ATTR_USERNAME, "aaaa:bbbb", 9);
    stun_add_integrity(&b, key, strlen(SHORT_TERM_PWD));
    stun_add_attr(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
    stun_add_u32(&b, STUN_ATTR_PRIORITY, 7);
    stun_add_attr(&b, 0x0003, "x", 1); /* unknown comprehension-required */
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    cr_assert_gt(n, 0);

    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), 0);
    cr_assert_not(m.use_candidate);
    cr_assert_not(m.has_priority);
    cr_assert_eq(m.unknown_count, 0);
    cr_assert(m.has_fingerprint);
    cr_assert_eq(stun_check_integrity(buf, (size_t)n, &m, key, strlen(SHORT_TERM_PWD)), 0);
}

Test(stun, attribute_after_fingerprint_is_refused)
{
    static const uint8_t txid[12] = {3};
    uint8_t buf[128];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, txid);
    stun_add_fingerprint(&b);
    stun_add_u32(&b, STUN_ATTR_PRIORITY, 1);
    int n = stun_builder_finish(&b);
    cr_assert_eq(n, 20 + 8 + 8);
    struct stun_msg m;
    cr_assert_lt(stun_parse(buf, (size_t)n, &m), 0);
}

Test(stun, unknown_comprehension_required_attributes_are_listed)
{
    static const uint8_t txid[12] = {4};
    uint8_t buf[512];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, txid);
    stun_add_attr(&b, 0x8055, "opt", 3); /* comprehension-optional: ignored */
    for (uint16_t t = 0x7000; t < 0x7000 + STUN_MAX_UNKNOWN + 2; t++)
        stun_add_attr(&b, t, NULL, 0);
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    cr_assert_gt(n, 0);
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), 0);
    cr_assert_eq(m.unknown_count, STUN_MAX_UNKNOWN + 2);
    for (size_t i = 0; i < STUN_MAX_UNKNOWN; i++)
        cr_assert_eq(m.unknown[i], 0x7000 + i);
}

Test(stun, first_of_repeated_attributes_counts)
{
    static const uint8_t txid[12] = {5};
    uint8_t buf[128];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, txid);
    stun_add_attr(&b, STUN_ATTR_USERNAME, "first:one", 9);
    stun_add_attr(&b, STUN_ATTR_USERNAME, "second:two", 10);
    stun_add_u32(&b, STUN_ATTR_PRIORITY, 1);
    stun_add_u32(&b, STUN_ATTR_PRIORITY, 2);
    int n = stun_builder_finish(&b);
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), 0);
    cr_assert_arr_eq(m.username, "first:one", 9);
    cr_assert_eq(m.priority, 1);
    cr_assert_not(m.has_fingerprint);
}

Test(stun, builder_overflow_is_sticky)
{
    static const uint8_t txid[12] = {6};
    uint8_t buf[40];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, txid);
    cr_assert_eq(stun_add_u32(&b, STUN_ATTR_PRIORITY, 1), 0);
    cr_assert_eq(stun_add_integrity(&b, pwd_bytes(), 22), -ENOBUFS);
    cr_assert_eq(stun_add_u32(&b, STUN_ATTR_PRIORITY, 1), -ENOBUFS);
    cr_assert_eq(stun_builder_finish(&b), -ENOBUFS);

    stun_builder_init(&b, buf, 19, STUN_BINDING_REQUEST, txid);
    cr_assert_eq(stun_builder_finish(&b), -ENOBUFS);

    const struct stun_binding_params p = {.username = "a:b", .key = pwd_bytes(), .key_len = 22};
    cr_assert_eq(stun_build_binding_request(buf, sizeof(buf), txid, &p), -ENOBUFS);
}

Test(stun, error_code_parse_checks_class)
{
    static const uint8_t txid[12] = {7};
    uint8_t buf[64];
    struct stun_builder b;
    stun_builder_init(&b, buf, sizeof(buf), STUN_BINDING_ERROR, txid);
    stun_add_error_code(&b, 401, "x");
    int n = stun_builder_finish(&b);
    buf[26] = 2; /* class 2 is not an error */
    struct stun_msg m;
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), -EBADMSG);
    buf[26] = 4;
    buf[27] = 100; /* number 0..99 */
    cr_assert_eq(stun_parse(buf, (size_t)n, &m), -EBADMSG);
}

Test(stun, local_ufrag_needs_a_colon)
{
    struct stun_msg m;
    memset(&m, 0, sizeof(m));
    char out[32];
    cr_assert_eq(stun_local_ufrag(&m, out, sizeof(out)), -ENOENT);
    m.username = (const uint8_t *)"nocolon";
    m.username_len = 7;
    cr_assert_eq(stun_local_ufrag(&m, out, sizeof(out)), -EBADMSG);
    m.username = (const uint8_t *)":remote";
    cr_assert_eq(stun_local_ufrag(&m, out, sizeof(out)), -EBADMSG);
    m.username = (const uint8_t *)"local:";
    m.username_len = 6;
    cr_assert_eq(stun_local_ufrag(&m, out, sizeof(out)), -EBADMSG);
    m.username = (const uint8_t *)"lo\0cal:remote";
    m.username_len = 13;
    cr_assert_eq(stun_local_ufrag(&m, out, sizeof(out)), -EBADMSG);
}
