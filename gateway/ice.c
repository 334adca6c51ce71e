#include "balie/ice.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "balie/stun.h"

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/": 64 characters, so one random byte
 * masked to 6 bits picks one without bias. */
static const char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int random_ice_string(char *out, size_t n)
{
    uint8_t rnd[ICE_PWD_LEN];
    if (n > sizeof(rnd) || RAND_bytes(rnd, (int)n) != 1)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = ice_chars[rnd[i] & 0x3F];
    out[n] = '\0';
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return 0;
}

static int new_local_credentials(struct ice_agent *a)
{
    int rc = random_ice_string(a->local_ufrag, ICE_UFRAG_LEN);
    if (rc == 0)
        rc = random_ice_string(a->local_pwd, ICE_PWD_LEN);
    return rc;
}

int ice_agent_init(struct ice_agent *a, uint64_t now_us)
{
    if (!a)
        return -EINVAL;
    memset(a, 0, sizeof(*a));
    a->created_us = now_us;
    a->initial_timeout_us = ICE_CONSENT_TIMEOUT_US;
    a->consent_timeout_us = ICE_CONSENT_TIMEOUT_US;
    return new_local_credentials(a);
}

static bool valid_ice_string(const char *s, size_t min, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return false;
    return strspn(s, ice_chars) == n;
}

int ice_set_remote_credentials(struct ice_agent *a, const char *ufrag, const char *pwd)
{
    if (!a || !ufrag || !pwd || !valid_ice_string(ufrag, 4, ICE_REMOTE_UFRAG_MAX) ||
        !valid_ice_string(pwd, 22, ICE_REMOTE_PWD_MAX))
        return -EINVAL;
    /* Both were measured above: they fit with their NUL. */
    memcpy(a->remote_ufrag, ufrag, strlen(ufrag) + 1);
    memcpy(a->remote_pwd, pwd, strlen(pwd) + 1);
    return 0;
}

int ice_restart(struct ice_agent *a)
{
    if (!a)
        return -EINVAL;
    /* A second restart before the first completed: the browser's running session still uses
     * the credentials that last validated a check, so those stay the previous ones. */
    if (!a->has_previous) {
        memcpy(a->previous_ufrag, a->local_ufrag, sizeof(a->previous_ufrag));
        memcpy(a->previous_pwd, a->local_pwd, sizeof(a->previous_pwd));
        memcpy(a->previous_remote_ufrag, a->remote_ufrag, sizeof(a->previous_remote_ufrag));
        a->has_previous = true;
    }
    a->remote_ufrag[0] = '\0';
    OPENSSL_cleanse(a->remote_pwd, sizeof(a->remote_pwd));
    return new_local_credentials(a);
}

/* Fills `out` from a socket address; an IPv4-mapped IPv6 address (a dual-stack socket) is
 * kept as IPv6 so that it compares equal to what the same socket reports next time. */
int ice_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct ice_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return -EAFNOSUPPORT;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        out->family = AF_INET;
        out->port = ntohs(sin->sin_port);
        memcpy(out->ip, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        out->family = AF_INET6;
        out->port = ntohs(sin6->sin6_port);
        memcpy(out->ip, &sin6->sin6_addr, 16);
        out->scope_id = sin6->sin6_scope_id;
        return 0;
    }
    return -EAFNOSUPPORT;
}

static bool addr_equal(const struct ice_addr *x, const struct ice_addr *y)
{
    return memcmp(x, y, sizeof(*x)) == 0;
}

/* The address the browser should learn in XOR-MAPPED-ADDRESS: an IPv4-mapped IPv6 address
 * from a dual-stack socket is reported as the IPv4 address the browser actually used. */
static const struct sockaddr *reflexive_address(const struct sockaddr *from,
                                                struct sockaddr_in *scratch)
{
    if (from->sa_family != AF_INET6)
        return from;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;
    if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
        return from;
    memset(scratch, 0, sizeof(*scratch));
    scratch->sin_family = AF_INET;
    scratch->sin_port = sin6->sin6_port;
    memcpy(&scratch->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
    return (const struct sockaddr *)scratch;
}

/* Which of our credential sets a USERNAME "<ours>:<theirs>" names (RFC 8445 §7.3). When the
 * remote ufrag is not known yet (the answer is still on its way, or after a restart) any
 * non-empty remote part is accepted: MESSAGE-INTEGRITY with our password is what
 * authenticates the check. Returns the password to verify with, or NULL. */
static const char *match_username(const struct ice_agent *a, const struct stun_msg *m,
                                  bool *previous)
{
    const uint8_t *colon = memchr(m->username, ':', m->username_len);
    if (!colon)
        return NULL;
    size_t local_len = (size_t)(colon - m->username);
    const uint8_t *remote = colon + 1;
    size_t remote_len = m->username_len - local_len - 1;
    if (remote_len == 0)
        return NULL;

    const char *sets[2][3] = {
        {a->local_ufrag, a->remote_ufrag, a->local_pwd},
        {a->previous_ufrag, a->previous_remote_ufrag, a->previous_pwd},
    };
    for (int i = 0; i < (a->has_previous ? 2 : 1); i++) {
        const char *ufrag = sets[i][0], *their = sets[i][1];
        if (local_len != strlen(ufrag) || memcmp(m->username, ufrag, local_len) != 0)
            continue;
        if (their[0] != '\0' &&
            (remote_len != strlen(their) || memcmp(remote, their, remote_len) != 0))
            continue;
        *previous = i == 1;
        return sets[i][2];
    }
    return NULL;
}

static const char *reason_phrase(int code)
{
    switch (code) {
    case STUN_ERR_BAD_REQUEST:
        return "Bad Request";
    case STUN_ERR_UNAUTHORIZED:
        return "Unauthorized";
    case STUN_ERR_UNKNOWN_ATTRIBUTE:
        return "Unknown Attribute";
    default:
        return "Role Conflict";
    }
}

/* An error response. `pwd` is NULL for 400 and 401: RFC 8489 §9.1.3 forbids
 * MESSAGE-INTEGRITY when the request could not be authenticated. FINGERPRINT is always added
 * (RFC 8445 §7.3: ICE messages carry it). */
static int write_error(const struct stun_msg *m, int code, const char *pwd, uint8_t *resp,
                       size_t cap, size_t *resp_len)
{
    struct stun_builder b;
    stun_builder_init(&b, resp, cap, STUN_BINDING_ERROR, m->txid);
    stun_add_error_code(&b, code, reason_phrase(code));
    if (code == STUN_ERR_UNKNOWN_ATTRIBUTE) {
        size_t n = m->unknown_count < STUN_MAX_UNKNOWN ? m->unknown_count : STUN_MAX_UNKNOWN;
        stun_add_unknown_attributes(&b, m->unknown, n);
    }
    if (pwd)
        stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    if (n < 0)
        return n;
    *resp_len = (size_t)n;
    return 0;
}

/* RFC 8445 §7.3.1: a success response with XOR-MAPPED-ADDRESS (the source of the request),
 * MESSAGE-INTEGRITY with the password that authenticated it, and FINGERPRINT. */
static int write_success(const struct stun_msg *m, const struct sockaddr *from, const char *pwd,
                         uint8_t *resp, size_t cap, size_t *resp_len)
{
    struct sockaddr_in scratch;
    struct stun_builder b;
    stun_builder_init(&b, resp, cap, STUN_BINDING_SUCCESS, m->txid);
    stun_add_xor_mapped_address(&b, reflexive_address(from, &scratch));
    stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    if (n < 0)
        return n;
    *resp_len = (size_t)n;
    return 0;
}

/* A check whose transaction ID we already answered from another address is a copy of the
 * browser's packet sent by someone else: it must not move the selected address or refresh
 * consent on their behalf. A retransmission from the same address is answered again. */
static bool is_replay(const struct ice_agent *a, const struct stun_msg *m,
                      const struct ice_addr *from)
{
    for (unsigned i = 0; i < a->recent_count; i++) {
        const struct ice_txid_seen *seen = &a->recent[i];
        if (memcmp(seen->txid, m->txid, sizeof(seen->txid)) == 0)
            return !addr_equal(&seen->from, from);
    }
    return false;
}

static void remember_check(struct ice_agent *a, const struct stun_msg *m,
                           const struct ice_addr *from)
{
    struct ice_txid_seen *slot = &a->recent[a->recent_next];
    memcpy(slot->txid, m->txid, sizeof(slot->txid));
    slot->from = *from;
    a->recent_next = (a->recent_next + 1) % ICE_TXID_HISTORY;
    if (a->recent_count < ICE_TXID_HISTORY)
        a->recent_count++;

    for (unsigned i = 0; i < a->validated_count; i++)
        if (addr_equal(&a->validated[i], from))
            return;
    a->validated[a->validated_next] = *from;
    a->validated_next = (a->validated_next + 1) % ICE_MAX_VALIDATED;
    if (a->validated_count < ICE_MAX_VALIDATED)
        a->validated_count++;
}

/* RFC 8445 §7.3.1.5 (lite: §8.2): USE-CANDIDATE on a valid check nominates its pair. A browser
 * that moves to another pair (a network change) nominates again, and media follows. */
static void nominate(struct ice_agent *a, const struct ice_addr *peer, const struct sockaddr *from,
                     unsigned *events)
{
    if (a->nominated && addr_equal(&a->selected, peer))
        return;
    *events |= a->nominated ? ICE_EVT_ADDRESS_CHANGED : ICE_EVT_NOMINATED;
    a->nominated = true;
    a->selected = *peer;
    memset(&a->selected_sa, 0, sizeof(a->selected_sa));
    a->selected_sa_len = peer->family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                                                 : (socklen_t)sizeof(struct sockaddr_in6);
    memcpy(&a->selected_sa, from, a->selected_sa_len);
}

/* State changes of a valid check, once its success response is written. */
static void accept_check(struct ice_agent *a, uint64_t now_us, const struct stun_msg *m,
                         const struct ice_addr *peer, const struct sockaddr *from, bool previous,
                         unsigned *events)
{
    remember_check(a, m, peer);
    /* RFC 7675 §5.1: every valid check refreshes consent. */
    a->last_consent_us = now_us;
    a->connected = true;
    a->checks_ok++;
    *events |= ICE_EVT_CHECK_OK;
    if (a->has_previous && !previous) {
        /* RFC 8445 §9: the restarted session is live; retire the old credentials. */
        a->has_previous = false;
        OPENSSL_cleanse(a->previous_pwd, sizeof(a->previous_pwd));
        *events |= ICE_EVT_RESTART_DONE;
    }
    if (m->use_candidate)
        nominate(a, peer, from, events);
}

static int reject(struct ice_agent *a, const struct stun_msg *m, int code, const char *pwd,
                  uint8_t *resp, size_t cap, size_t *resp_len, unsigned *events)
{
    int rc = write_error(m, code, pwd, resp, cap, resp_len);
    if (rc < 0)
        return rc;
    a->checks_rejected++;
    *events |= ICE_EVT_REJECTED;
    return 0;
}

/* Error responses, and why we send rather than drop them:
 * - 400 without USERNAME or MESSAGE-INTEGRITY and 401 for an unknown USERNAME or a wrong
 *   MESSAGE-INTEGRITY, as RFC 8489 §9.1.3 requires. They carry no MESSAGE-INTEGRITY and are at
 *   most 48 bytes. The worker only hands us packets that name our ufrag or come from an
 *   address this leg already validated, so they do not make us a reflector for strangers, and
 *   they let a browser with stale credentials (a restart race) fail fast instead of timing out.
 * - 420 and 487 follow a check that did authenticate, so they carry MESSAGE-INTEGRITY.
 * Anything that is not a well-formed Binding request is dropped silently (RFC 8489 §6.3:
 * indications and responses get no answer; a lite agent sends no checks, RFC 8445 §7.3). */
int ice_handle_stun(struct ice_agent *a, uint64_t now_us, const uint8_t *buf, size_t len,
                    const struct sockaddr *from, socklen_t from_len, uint8_t *resp, size_t resp_cap,
                    size_t *resp_len, unsigned *events)
{
    if (!a || !buf || !resp || !resp_len || !events)
        return -EINVAL;
    *resp_len = 0;
    *events = 0;
    struct stun_msg m;
    struct ice_addr peer;
    int rc = stun_parse(buf, len, &m);
    if (rc == 0)
        rc = ice_addr_from_sockaddr(from, from_len, &peer);
    if (rc != 0) {
        a->checks_dropped++;
        return rc;
    }
    if (m.method != STUN_METHOD_BINDING || m.cls != STUN_CLASS_REQUEST)
        return 0;
    if (!m.username || !m.has_integrity)
        return reject(a, &m, STUN_ERR_BAD_REQUEST, NULL, resp, resp_cap, resp_len, events);
    bool previous = false;
    const char *pwd = match_username(a, &m, &previous);
    if (!pwd)
        return reject(a, &m, STUN_ERR_UNAUTHORIZED, NULL, resp, resp_cap, resp_len, events);
    rc = stun_check_integrity(buf, len, &m, (const uint8_t *)pwd, strlen(pwd));
    if (rc == -EACCES)
        return reject(a, &m, STUN_ERR_UNAUTHORIZED, NULL, resp, resp_cap, resp_len, events);
    if (rc < 0)
        return rc;
    if (is_replay(a, &m, &peer)) {
        a->checks_dropped++;
        return -EALREADY;
    }
    /* RFC 8489 §6.3.1.1: unknown comprehension-required attributes, once authenticated. */
    if (m.unknown_count > 0)
        return reject(a, &m, STUN_ERR_UNKNOWN_ATTRIBUTE, pwd, resp, resp_cap, resp_len, events);
    /* RFC 8445 §7.3.1.1: a controlled agent that gets ICE-CONTROLLED answers 487 or switches
     * role; a lite agent cannot be controlling (§6.1.1), so it always answers 487, as if its
     * tie-breaker were the larger one. */
    if (m.ice_controlled)
        return reject(a, &m, STUN_ERR_ROLE_CONFLICT, pwd, resp, resp_cap, resp_len, events);
    rc = write_success(&m, from, pwd, resp, resp_cap, resp_len);
    if (rc < 0)
        return rc;
    accept_check(a, now_us, &m, &peer, from, previous, events);
    return 0;
}

bool ice_consent_expired(const struct ice_agent *a, uint64_t now_us)
{
    uint64_t since = a->connected ? a->last_consent_us : a->created_us;
    uint64_t limit = a->connected ? a->consent_timeout_us : a->initial_timeout_us;
    return now_us >= since && now_us - since >= limit;
}

const struct sockaddr *ice_selected_address(const struct ice_agent *a, socklen_t *len)
{
    if (!a->nominated)
        return NULL;
    if (len)
        *len = a->selected_sa_len;
    return (const struct sockaddr *)&a->selected_sa;
}

bool ice_address_validated(const struct ice_agent *a, const struct sockaddr *addr,
                           socklen_t addr_len)
{
    struct ice_addr x;
    if (ice_addr_from_sockaddr(addr, addr_len, &x) < 0)
        return false;
    for (unsigned i = 0; i < a->validated_count; i++)
        if (addr_equal(&a->validated[i], &x))
            return true;
    return false;
}
