#include "balie/bytes.h"
#include "balie/stun.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* RFC 8489 §14.3: USERNAME is "fewer than 509 bytes" after OpaqueString, but RFC 8839 allows
 * ufrags of up to 256 characters each, so "ufrag:ufrag" can reach 513 bytes. We accept the
 * larger bound (RFC 5389's), which every real ICE peer fits in. */
#define USERNAME_MAX 513
/* RFC 8489 §14.8: a reason phrase may be up to 763 bytes when decoding, 509 when encoding. */
#define REASON_MAX_DECODE 763
#define REASON_MAX_ENCODE 509
#define MESSAGE_LEN_MAX 0xFFFF

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* A nibble-at-a-time table for the reflected CRC-32 polynomial 0xEDB88320 (ISO 3309, which
 * RFC 8489 §14.7 names): small enough to read, fast enough for messages of ~100 bytes. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t stun_crc32(const uint8_t *buf, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
    }
    return crc ^ 0xFFFFFFFFu;
}

/* HMAC-SHA1 over `head` then `body`, so the caller can hash a header whose length field was
 * rewritten (RFC 8489 §14.5) without copying the message. The EVP_MAC is fetched once per
 * process; a context costs one small allocation per STUN check, which arrive a few times a
 * second per leg, not on the media path. */
static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
}

static int hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *head, size_t head_len,
                     const uint8_t *body, size_t body_len, uint8_t out[STUN_HMAC_LEN])
{
    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac_alg)
        return -EIO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
    if (!ctx)
        return -ENOMEM;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t out_len = 0;
    int ok = EVP_MAC_init(ctx, key, key_len, params) && EVP_MAC_update(ctx, head, head_len) &&
             EVP_MAC_update(ctx, body, body_len) &&
             EVP_MAC_final(ctx, out, &out_len, STUN_HMAC_LEN) && out_len == STUN_HMAC_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

bool stun_looks_like(const uint8_t *buf, size_t len)
{
    /* RFC 7983 §7: a first byte of 0..3 is STUN; 20..63 DTLS, 128..191 RTP/RTCP. */
    if (!buf || len < STUN_HEADER_LEN || buf[0] > 3)
        return false;
    size_t body = bytes_get16(buf + 2);
    return bytes_get32(buf + 4) == STUN_MAGIC_COOKIE && body % 4 == 0 &&
           body == len - STUN_HEADER_LEN;
}

static int parse_header(const uint8_t *buf, size_t len, struct stun_msg *m)
{
    if (len < STUN_HEADER_LEN)
        return -EMSGSIZE;
    /* RFC 8489 §5: the two most significant bits are zero, then the magic cookie. */
    if ((buf[0] & 0xC0) != 0 || bytes_get32(buf + 4) != STUN_MAGIC_COOKIE)
        return -ENOMSG;
    size_t body = bytes_get16(buf + 2);
    /* RFC 8489 §5: the length is a multiple of 4 and, over UDP, covers the whole datagram. */
    if (body % 4 != 0 || body != len - STUN_HEADER_LEN)
        return -EMSGSIZE;
    uint16_t type = bytes_get16(buf);
    m->type = type;
    /* RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0. */
    m->cls = (enum stun_class)(((type >> 7) & 0x2) | ((type >> 4) & 0x1));
    m->method = (uint16_t)(((type >> 2) & 0xF80) | ((type >> 1) & 0x70) | (type & 0xF));
    memcpy(m->txid, buf + 8, STUN_TXID_LEN);
    return 0;
}

/* RFC 8489 §14.2: the port is XORed with the cookie's top half, an IPv4 address with the
 * cookie, an IPv6 address with the cookie followed by the transaction ID. */
static int parse_xor_address(const uint8_t *val, size_t vlen, const uint8_t *header,
                             struct sockaddr_storage *out)
{
    if (vlen < 4)
        return -EBADMSG;
    uint16_t port = bytes_get16(val + 2) ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16);
    memset(out, 0, sizeof(*out));
    if (val[1] == 0x01 && vlen == 8) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        uint8_t *ip = (uint8_t *)&sin->sin_addr.s_addr;
        for (size_t i = 0; i < 4; i++)
            ip[i] = val[4 + i] ^ header[4 + i];
        return 0;
    }
    if (val[1] == 0x02 && vlen == 20) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        /* Bytes 4..19 of the header are exactly cookie || transaction ID. */
        for (size_t i = 0; i < 16; i++)
            sin6->sin6_addr.s6_addr[i] = val[4 + i] ^ header[4 + i];
        return 0;
    }
    return -EBADMSG;
}

static int parse_error_code(const uint8_t *val, size_t vlen, struct stun_msg *m)
{
    if (vlen < 4 || vlen - 4 > REASON_MAX_DECODE)
        return -EBADMSG;
    int cls = val[2] & 0x07;
    int number = val[3];
    /* RFC 8489 §14.8: the class is 3..6 and the number 0..99. */
    if (cls < 3 || cls > 6 || number > 99)
        return -EBADMSG;
    m->has_error = true;
    m->error_code = cls * 100 + number;
    m->error_reason = val + 4;
    m->error_reason_len = vlen - 4;
    return 0;
}

/* Types that we recognise but do not interpret: they must not provoke a 420. */
static bool is_known_passive(uint16_t type)
{
    switch (type) {
    case STUN_ATTR_MAPPED_ADDRESS:
    case STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case STUN_ATTR_REALM:
    case STUN_ATTR_NONCE:
    case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case STUN_ATTR_PASSWORD_ALGORITHM:
    case STUN_ATTR_USERHASH:
        return true;
    default:
        return false;
    }
}

static int parse_role(const uint8_t *val, size_t vlen, struct stun_msg *m, bool controlling)
{
    /* RFC 8445 §16.1: both carry a 64-bit tie-breaker. */
    if (vlen != 8)
        return -EBADMSG;
    if (!m->ice_controlling && !m->ice_controlled)
        m->tie_breaker = bytes_get64(val);
    if (controlling)
        m->ice_controlling = true;
    else
        m->ice_controlled = true;
    return 0;
}

/* One attribute before MESSAGE-INTEGRITY. RFC 8489 §14: only the first of a repeated
 * attribute is processed, so a later copy is checked for length but otherwise ignored. */
static int parse_attr(uint16_t type, const uint8_t *val, size_t vlen, const uint8_t *buf,
                      struct stun_msg *m)
{
    switch (type) {
    case STUN_ATTR_USERNAME:
        if (vlen > USERNAME_MAX)
            return -EBADMSG;
        if (!m->username) {
            m->username = val;
            m->username_len = vlen;
        }
        return 0;
    case STUN_ATTR_PRIORITY:
        if (vlen != 4)
            return -EBADMSG;
        if (!m->has_priority) {
            m->has_priority = true;
            m->priority = bytes_get32(val);
        }
        return 0;
    case STUN_ATTR_USE_CANDIDATE:
        if (vlen != 0)
            return -EBADMSG;
        m->use_candidate = true;
        return 0;
    case STUN_ATTR_ICE_CONTROLLING:
    case STUN_ATTR_ICE_CONTROLLED:
        return parse_role(val, vlen, m, type == STUN_ATTR_ICE_CONTROLLING);
    case STUN_ATTR_ERROR_CODE:
        return m->has_error ? 0 : parse_error_code(val, vlen, m);
    case STUN_ATTR_XOR_MAPPED_ADDRESS:
        if (m->has_xor_mapped)
            return 0;
        m->has_xor_mapped = true;
        return parse_xor_address(val, vlen, buf, &m->xor_mapped);
    default:
        break;
    }
    /* RFC 8489 §14: 0x0000-0x7FFF are comprehension-required. */
    if (type < 0x8000 && !is_known_passive(type)) {
        if (m->unknown_count < STUN_MAX_UNKNOWN)
            m->unknown[m->unknown_count] = type;
        m->unknown_count++;
    }
    return 0;
}

/* RFC 8489 §14.7: FINGERPRINT is the last attribute, and its CRC covers everything before it
 * with the header length already counting it, which is the length as received. */
static int check_fingerprint(const uint8_t *buf, size_t len, size_t off, const uint8_t *val,
                             size_t vlen)
{
    if (vlen != 4 || off + 8 != len)
        return -EBADMSG;
    if ((stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR) != bytes_get32(val))
        return -EILSEQ;
    return 0;
}

int stun_parse(const uint8_t *buf, size_t len, struct stun_msg *out)
{
    if (!buf || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    int rc = parse_header(buf, len, out);
    if (rc < 0)
        return rc;
    size_t off = STUN_HEADER_LEN;
    while (off < len) {
        if (len - off < 4)
            return -EBADMSG;
        uint16_t type = bytes_get16(buf + off);
        size_t vlen = bytes_get16(buf + off + 2);
        if (pad4(vlen) > len - off - 4)
            return -EBADMSG;
        const uint8_t *val = buf + off + 4;
        if (type == STUN_ATTR_FINGERPRINT) {
            rc = check_fingerprint(buf, len, off, val, vlen);
            if (rc < 0)
                return rc;
            out->has_fingerprint = true;
        } else if (out->has_integrity) {
            /* RFC 8489 §14.5: ignore what follows MESSAGE-INTEGRITY (but FINGERPRINT). */
        } else if (type == STUN_ATTR_MESSAGE_INTEGRITY) {
            if (vlen != STUN_HMAC_LEN)
                return -EBADMSG;
            out->has_integrity = true;
            out->integrity_offset = off;
        } else {
            rc = parse_attr(type, val, vlen, buf, out);
            if (rc < 0)
                return rc;
        }
        off += 4 + pad4(vlen);
    }
    return 0;
}

int stun_check_integrity(const uint8_t *buf, size_t len, const struct stun_msg *m,
                         const uint8_t *key, size_t key_len)
{
    if (!buf || !m || !key || key_len == 0)
        return -EINVAL;
    if (!m->has_integrity)
        return -ENOENT;
    size_t off = m->integrity_offset;
    if (off < STUN_HEADER_LEN || off % 4 != 0 || off > len || len - off < 4 + STUN_HMAC_LEN)
        return -EINVAL;
    /* RFC 8489 §14.5: the HMAC covers the message up to MESSAGE-INTEGRITY, with the header's
     * length set as if MESSAGE-INTEGRITY were the last attribute. */
    uint8_t head[STUN_HEADER_LEN];
    memcpy(head, buf, STUN_HEADER_LEN);
    bytes_put16(head + 2, (uint16_t)(off - STUN_HEADER_LEN + 4 + STUN_HMAC_LEN));
    uint8_t mac[STUN_HMAC_LEN];
    int rc = hmac_sha1(key, key_len, head, sizeof(head), buf + STUN_HEADER_LEN,
                       off - STUN_HEADER_LEN, mac);
    if (rc < 0)
        return rc;
    return CRYPTO_memcmp(mac, buf + off + 4, STUN_HMAC_LEN) == 0 ? 0 : -EACCES;
}

int stun_local_ufrag(const struct stun_msg *m, char *out, size_t cap)
{
    if (!m || !out || cap == 0)
        return -EINVAL;
    if (!m->username)
        return -ENOENT;
    const uint8_t *colon = memchr(m->username, ':', m->username_len);
    if (!colon || colon == m->username || colon == m->username + m->username_len - 1)
        return -EBADMSG;
    size_t n = (size_t)(colon - m->username);
    /* A NUL inside would make the C string name a different (shorter) ufrag. */
    if (memchr(m->username, '\0', n))
        return -EBADMSG;
    if (n + 1 > cap)
        return -ENOSPC;
    memcpy(out, m->username, n);
    out[n] = '\0';
    return (int)n;
}

void stun_builder_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
                       const uint8_t txid[STUN_TXID_LEN])
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->err = 0;
    if (!buf || !txid || type > 0x3FFF) {
        b->err = -EINVAL;
        return;
    }
    if (cap < STUN_HEADER_LEN) {
        b->err = -ENOBUFS;
        return;
    }
    bytes_put16(buf, type);
    bytes_put16(buf + 2, 0);
    bytes_put32(buf + 4, STUN_MAGIC_COOKIE);
    memcpy(buf + 8, txid, STUN_TXID_LEN);
    b->len = STUN_HEADER_LEN;
}

/* Appends an attribute header and zeroed, padded room for `vlen` bytes, and updates the
 * header's length so that integrity and fingerprint see their own attribute counted.
 * Returns the value's address, or NULL with b->err set. */
static uint8_t *reserve(struct stun_builder *b, uint16_t type, size_t vlen)
{
    if (b->err)
        return NULL;
    size_t need = 4 + pad4(vlen);
    if (vlen > 0xFFFF || b->len - STUN_HEADER_LEN + need > MESSAGE_LEN_MAX ||
        need > b->cap - b->len) {
        b->err = vlen > 0xFFFF ? -EINVAL : -ENOBUFS;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    bytes_put16(p, type);
    bytes_put16(p + 2, (uint16_t)vlen);
    memset(p + 4, 0, pad4(vlen));
    b->len += need;
    bytes_put16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
    return p + 4;
}

int stun_add_attr(struct stun_builder *b, uint16_t type, const void *value, size_t len)
{
    if (len > 0 && !value && !b->err)
        b->err = -EINVAL;
    uint8_t *p = reserve(b, type, len);
    if (!p)
        return b->err;
    if (len > 0)
        memcpy(p, value, len);
    return 0;
}

int stun_add_u32(struct stun_builder *b, uint16_t type, uint32_t value)
{
    uint8_t *p = reserve(b, type, 4);
    if (!p)
        return b->err;
    bytes_put32(p, value);
    return 0;
}

int stun_add_u64(struct stun_builder *b, uint16_t type, uint64_t value)
{
    uint8_t *p = reserve(b, type, 8);
    if (!p)
        return b->err;
    bytes_put32(p, (uint32_t)(value >> 32));
    bytes_put32(p + 4, (uint32_t)value);
    return 0;
}

int stun_add_xor_mapped_address(struct stun_builder *b, const struct sockaddr *addr)
{
    if (!b->err && (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)))
        b->err = -EINVAL;
    if (b->err)
        return b->err;
    bool v6 = addr->sa_family == AF_INET6;
    uint8_t *p = reserve(b, STUN_ATTR_XOR_MAPPED_ADDRESS, v6 ? 20 : 8);
    if (!p)
        return b->err;
    const uint8_t *ip;
    uint16_t port;
    if (v6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
        ip = sin6->sin6_addr.s6_addr;
        port = ntohs(sin6->sin6_port);
    } else {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        ip = (const uint8_t *)&sin->sin_addr.s_addr;
        port = ntohs(sin->sin_port);
    }
    p[1] = v6 ? 0x02 : 0x01;
    bytes_put16(p + 2, port ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
    /* Bytes 4..19 of our header are cookie || transaction ID (RFC 8489 §14.2). */
    for (size_t i = 0; i < (v6 ? 16u : 4u); i++)
        p[4 + i] = ip[i] ^ b->buf[4 + i];
    return 0;
}

int stun_add_error_code(struct stun_builder *b, int code, const char *reason)
{
    size_t rlen = reason ? strlen(reason) : 0;
    if (!b->err && (code < 300 || code > 699 || rlen > REASON_MAX_ENCODE))
        b->err = -EINVAL;
    uint8_t *p = reserve(b, STUN_ATTR_ERROR_CODE, 4 + rlen);
    if (!p)
        return b->err;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    /* The reason phrase is length-delimited on the wire, not NUL-terminated. */
    for (size_t i = 0; i < rlen; i++)
        p[4 + i] = (uint8_t)reason[i];
    return 0;
}

int stun_add_unknown_attributes(struct stun_builder *b, const uint16_t *types, size_t n)
{
    if (!b->err && n > 0 && !types)
        b->err = -EINVAL;
    uint8_t *p = reserve(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
    if (!p)
        return b->err;
    for (size_t i = 0; i < n; i++)
        bytes_put16(p + 2 * i, types[i]);
    return 0;
}

int stun_add_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len)
{
    if (!b->err && (!key || key_len == 0))
        b->err = -EINVAL;
    size_t off = b->len;
    /* reserve() sets the header length to include this attribute, as §14.5 wants. */
    uint8_t *p = reserve(b, STUN_ATTR_MESSAGE_INTEGRITY, STUN_HMAC_LEN);
    if (!p)
        return b->err;
    int rc = hmac_sha1(key, key_len, b->buf, STUN_HEADER_LEN, b->buf + STUN_HEADER_LEN,
                       off - STUN_HEADER_LEN, p);
    if (rc < 0)
        b->err = rc;
    return rc;
}

int stun_add_fingerprint(struct stun_builder *b)
{
    size_t off = b->len;
    uint8_t *p = reserve(b, STUN_ATTR_FINGERPRINT, 4);
    if (!p)
        return b->err;
    bytes_put32(p, stun_crc32(b->buf, off) ^ STUN_FINGERPRINT_XOR);
    return 0;
}

int stun_builder_finish(struct stun_builder *b)
{
    return b->err ? b->err : (int)b->len;
}

int stun_build_binding_request(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
                               const struct stun_binding_params *p)
{
    if (!p || !p->username)
        return -EINVAL;
    struct stun_builder b;
    stun_builder_init(&b, buf, cap, STUN_BINDING_REQUEST, txid);
    stun_add_attr(&b, STUN_ATTR_USERNAME, p->username, strlen(p->username));
    stun_add_u32(&b, STUN_ATTR_PRIORITY, p->priority);
    stun_add_u64(&b, p->controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
                 p->tie_breaker);
    if (p->use_candidate)
        stun_add_attr(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
    stun_add_integrity(&b, p->key, p->key_len);
    stun_add_fingerprint(&b);
    return stun_builder_finish(&b);
}
