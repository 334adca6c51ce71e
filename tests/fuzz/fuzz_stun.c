/* libFuzzer harness for gateway/stun.c and gateway/ice.c.
 *
 * Every input is used twice:
 * 1. as a datagram: stun_parse, stun_check_integrity, stun_local_ufrag and ice_handle_stun;
 * 2. as a recipe for a check that we sign with the agent's password, so that the fuzzer also
 *    reaches what lies behind MESSAGE-INTEGRITY (unknown attributes, roles, nomination,
 *    replays, restarts), which it could never reach by forging an HMAC.
 * Whatever the agent answers must itself parse and verify; anything else is a bug (trap). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "balie/ice.h"
#include "balie/stun.h"

#define LOCAL_UFRAG "LiteUfrg"
#define LOCAL_PWD "LitePasswordLitePassword"
#define REMOTE_UFRAG "Brws"
#define REMOTE_PWD "BrowserPasswordBrowser+/"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

enum recipe_flags {
    R_USERNAME = 1 << 0,    /* add a correct USERNAME first */
    R_INTEGRITY = 1 << 1,   /* sign with the local password */
    R_FINGERPRINT = 1 << 2, /* add FINGERPRINT */
    R_IPV6 = 1 << 3,        /* come from an IPv6 address */
    R_SECOND = 1 << 4,      /* deliver again, from another address, with another txid */
    R_RESTART = 1 << 5,     /* restart the agent first (the check then uses old credentials) */
    R_RETRANSMIT = 1 << 6,  /* deliver the very same bytes from another address too */
    R_NO_REMOTE = 1 << 7,   /* remote credentials not known yet */
};

static void agent_setup(struct ice_agent *a, bool remote)
{
    CHECK(ice_agent_init(a, 1000) == 0);
    memcpy(a->local_ufrag, LOCAL_UFRAG, sizeof(LOCAL_UFRAG));
    memcpy(a->local_pwd, LOCAL_PWD, sizeof(LOCAL_PWD));
    if (remote)
        CHECK(ice_set_remote_credentials(a, REMOTE_UFRAG, REMOTE_PWD) == 0);
}

/* Our own responses must be well-formed, carry FINGERPRINT, and be signed when they say so. */
static void check_response(const uint8_t *resp, size_t len, const char *pwd)
{
    if (len == 0)
        return;
    struct stun_msg m;
    CHECK(len <= ICE_RESPONSE_MAX);
    CHECK(stun_looks_like(resp, len));
    CHECK(stun_parse(resp, len, &m) == 0);
    CHECK(m.has_fingerprint);
    CHECK(m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR);
    if (m.cls == STUN_CLASS_SUCCESS) {
        CHECK(m.has_xor_mapped && m.has_integrity);
        CHECK(stun_check_integrity(resp, len, &m, (const uint8_t *)pwd, strlen(pwd)) == 0);
    }
}

static void deliver(struct ice_agent *a, uint64_t now, const uint8_t *buf, size_t len,
                    const struct sockaddr *from, socklen_t from_len)
{
    uint8_t resp[ICE_RESPONSE_MAX];
    size_t resp_len = 0;
    unsigned events = 0;
    int rc =
        ice_handle_stun(a, now, buf, len, from, from_len, resp, sizeof(resp), &resp_len, &events);
    CHECK(rc <= 0);
    CHECK(rc == 0 || resp_len == 0);
    check_response(resp, resp_len, LOCAL_PWD);
    if (events & (ICE_EVT_NOMINATED | ICE_EVT_ADDRESS_CHANGED))
        CHECK(ice_selected_address(a, NULL) != NULL);
    (void)ice_consent_expired(a, now);
}

static void fuzz_datagram(const uint8_t *data, size_t size)
{
    struct stun_msg m;
    bool looks = stun_looks_like(data, size);
    int rc = stun_parse(data, size, &m);
    if (rc == 0) {
        /* RFC 7983 narrows STUN to a first byte of 0..3; RFC 8489 only clears the top bits. */
        CHECK(looks == (data[0] <= 3));
        CHECK(!m.username || (m.username >= data && m.username + m.username_len <= data + size));
        CHECK(!m.has_integrity || m.integrity_offset + 24 <= size);
        (void)stun_check_integrity(data, size, &m, (const uint8_t *)LOCAL_PWD, strlen(LOCAL_PWD));
        char ufrag[64];
        int n = stun_local_ufrag(&m, ufrag, sizeof(ufrag));
        CHECK(n < 0 || (size_t)n == strlen(ufrag));
    }
    struct ice_agent a;
    agent_setup(&a, true);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5000)};
    from.sin_addr.s_addr = htonl(0xC0000207);
    deliver(&a, 2000, data, size, (const struct sockaddr *)&from, sizeof(from));
}

/* Turns the rest of the input into attributes: type (2 bytes), length (1), value. */
static void add_fuzzed_attrs(struct stun_builder *b, const uint8_t *p, size_t n)
{
    while (n >= 3) {
        uint16_t type = (uint16_t)(p[0] << 8 | p[1]);
        size_t len = p[2];
        p += 3;
        n -= 3;
        if (len > n)
            len = n;
        stun_add_attr(b, type, p, len);
        p += len;
        n -= len;
    }
}

/* `txid_xor` changes the transaction ID, for a second, distinct check from the same recipe. */
static size_t build_recipe(const uint8_t *data, size_t size, uint8_t txid_xor, uint8_t *buf,
                           size_t cap)
{
    uint8_t flags = data[0];
    uint8_t txid[STUN_TXID_LEN] = {0};
    size_t t = size - 1 < sizeof(txid) ? size - 1 : sizeof(txid);
    memcpy(txid, data + 1, t);
    txid[STUN_TXID_LEN - 1] ^= txid_xor;
    struct stun_builder b;
    stun_builder_init(&b, buf, cap, STUN_BINDING_REQUEST, txid);
    if (flags & R_USERNAME)
        stun_add_attr(&b, STUN_ATTR_USERNAME, LOCAL_UFRAG ":" REMOTE_UFRAG,
                      strlen(LOCAL_UFRAG ":" REMOTE_UFRAG));
    add_fuzzed_attrs(&b, data + 1 + t, size - 1 - t);
    if (flags & R_INTEGRITY)
        stun_add_integrity(&b, (const uint8_t *)LOCAL_PWD, strlen(LOCAL_PWD));
    if (flags & R_FINGERPRINT)
        stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

static void fuzz_recipe(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    uint8_t flags = data[0];
    uint8_t buf[2048];
    size_t len = build_recipe(data, size, 0, buf, sizeof(buf));
    if (len == 0)
        return;

    struct ice_agent a;
    agent_setup(&a, !(flags & R_NO_REMOTE));
    if (flags & R_RESTART)
        CHECK(ice_restart(&a) == 0);
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(5000)};
    v4.sin_addr.s_addr = htonl(0xC0000207);
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(6000)};
    inet_pton(AF_INET6, "2001:db8::9", &v6.sin6_addr);
    const struct sockaddr *first =
        (flags & R_IPV6) ? (const struct sockaddr *)&v6 : (const struct sockaddr *)&v4;
    socklen_t first_len = (flags & R_IPV6) ? sizeof(v6) : sizeof(v4);
    const struct sockaddr *other =
        (flags & R_IPV6) ? (const struct sockaddr *)&v4 : (const struct sockaddr *)&v6;
    socklen_t other_len = (flags & R_IPV6) ? sizeof(v4) : sizeof(v6);

    deliver(&a, 2000, buf, len, first, first_len);
    if (flags & R_RETRANSMIT)
        deliver(&a, 3000, buf, len, other, other_len);
    if (flags & R_SECOND) {
        /* Later than the consent timeout, from the other address: a network change. */
        len = build_recipe(data, size, 0x5A, buf, sizeof(buf));
        if (len > 0)
            deliver(&a, 40000000, buf, len, other, other_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_datagram(data, size);
    fuzz_recipe(data, size);
    return 0;
}
