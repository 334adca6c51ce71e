/* ICE-lite (RFC 8445 §2.5) for one media leg, with consent freshness (RFC 7675).
 *
 * Pure state: no sockets, no clock, no allocation. The worker hands every STUN datagram of the
 * leg to ice_handle_stun() with the current time, sends the response it writes (if any) back to
 * the source address, and sends media only to ice_selected_address(). The browser is always the
 * controlling agent (RFC 8445 §6.1.1: a lite agent is controlled); a lite agent never sends
 * checks of its own (§7.3), so the remote password is kept only for completeness. */
#ifndef BALIE_ICE_H
#define BALIE_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ICE_UFRAG_LEN 8                 /* ours: 48 random bits (RFC 8445 §5.3: at least 24) */
#define ICE_PWD_LEN 24                  /* ours: 144 random bits (§5.3: at least 128) */
#define ICE_REMOTE_UFRAG_MAX 256        /* RFC 8839 §5.4 */
#define ICE_REMOTE_PWD_MAX 256          /* RFC 8839 §5.4 */
#define ICE_MAX_VALIDATED 4             /* remote addresses remembered as validated */
#define ICE_TXID_HISTORY 16             /* answered transaction IDs remembered (replays) */
#define ICE_CONSENT_TIMEOUT_US 30000000 /* RFC 7675 §5.1: 30 s */
#define ICE_RESPONSE_MAX 128            /* room enough for any response ice_handle_stun writes */

/* Bits of `*events` from ice_handle_stun(). */
enum ice_event {
    ICE_EVT_CHECK_OK = 1u << 0,        /* a valid check was answered; consent refreshed */
    ICE_EVT_NOMINATED = 1u << 1,       /* the first nomination: media may flow */
    ICE_EVT_ADDRESS_CHANGED = 1u << 2, /* a later nomination moved the selected address */
    ICE_EVT_REJECTED = 1u << 3,        /* an error response was written (400/401/420/487) */
    ICE_EVT_RESTART_DONE = 1u << 4,    /* the first valid check with restarted credentials */
};

/* A transport address in a form that compares with memcmp. */
struct ice_addr {
    uint16_t family; /* AF_INET or AF_INET6; 0 for none */
    uint16_t port;   /* host order */
    uint8_t ip[16];  /* IPv4 in the first 4 bytes */
    uint32_t scope_id;
};

struct ice_txid_seen {
    uint8_t txid[12];
    struct ice_addr from;
};

struct ice_agent {
    char local_ufrag[ICE_UFRAG_LEN + 1];
    char local_pwd[ICE_PWD_LEN + 1];
    char remote_ufrag[ICE_REMOTE_UFRAG_MAX + 1]; /* "" until the answer arrives */
    char remote_pwd[ICE_REMOTE_PWD_MAX + 1];

    /* After ice_restart(): the credentials that were current, still answered (so consent of
     * the running session holds) until a check with the new ones validates (RFC 8445 §9). */
    bool has_previous;
    char previous_ufrag[ICE_UFRAG_LEN + 1];
    char previous_pwd[ICE_PWD_LEN + 1];
    char previous_remote_ufrag[ICE_REMOTE_UFRAG_MAX + 1];

    uint64_t created_us;
    uint64_t last_consent_us; /* time of the last valid check */
    bool connected;           /* at least one valid check */
    uint64_t initial_timeout_us;
    uint64_t consent_timeout_us;

    bool nominated;
    struct ice_addr selected;
    struct sockaddr_storage selected_sa;
    socklen_t selected_sa_len;

    struct ice_addr validated[ICE_MAX_VALIDATED];
    unsigned validated_count;
    unsigned validated_next;

    struct ice_txid_seen recent[ICE_TXID_HISTORY];
    unsigned recent_count;
    unsigned recent_next;

    /* Counters for /metrics; never reset. */
    uint64_t checks_ok;
    uint64_t checks_rejected;
    uint64_t checks_dropped;
};

/* Fresh random local credentials (RAND_bytes); consent timers start at `now_us` with the
 * default timeouts (30 s before a first check and 30 s between checks). Returns 0, or -EIO
 * when the random generator fails (the agent must not be used then). */
int ice_agent_init(struct ice_agent *a, uint64_t now_us);

/* The browser's ufrag and password from its answer (RFC 8839 ice-char, 4..256 and 22..256
 * characters). Returns 0 or -EINVAL. Until this is called, checks are accepted on our ufrag and
 * password alone (a browser may check before its answer reaches us, RFC 8445 §7.3). */
int ice_set_remote_credentials(struct ice_agent *a, const char *ufrag, const char *pwd);

/* ICE restart (RFC 8445 §9): new local credentials, remote ones cleared until the new answer.
 * The selected address stays until a nomination moves it; the old credentials keep being
 * answered until the first valid check with the new ones. Returns 0 or -EIO. */
int ice_restart(struct ice_agent *a);

/* Handles one datagram that came from `from`. Writes a response of up to `resp_cap` bytes into
 * `resp` and its length into `*resp_len` (0 when nothing is to be sent) and ORs enum ice_event
 * bits into `*events` (cleared first). Returns 0, or a negative error when the datagram was
 * dropped: a stun_parse() error, -EAFNOSUPPORT for an unusable `from`, -EALREADY for a check
 * replayed from another address, -ENOBUFS if `resp_cap` is too small (ICE_RESPONSE_MAX always
 * does). */
int ice_handle_stun(struct ice_agent *a, uint64_t now_us, const uint8_t *buf, size_t len,
                    const struct sockaddr *from, socklen_t from_len, uint8_t *resp, size_t resp_cap,
                    size_t *resp_len, unsigned *events);

/* RFC 7675 §5.1: true once consent_timeout_us passed since the last valid check, or, before any
 * check, once initial_timeout_us passed since init. The leg should then be closed. */
bool ice_consent_expired(const struct ice_agent *a, uint64_t now_us);

/* Fills `out` from a socket address in the memcmp-comparable form the agent keeps; an
 * IPv4-mapped IPv6 address is kept as IPv6. Returns 0, or -EAFNOSUPPORT. */
int ice_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct ice_addr *out);

/* Where media goes: the last nominated address; NULL until the first nomination. */
const struct sockaddr *ice_selected_address(const struct ice_agent *a, socklen_t *len);

/* Whether a valid check came from `addr` (the worker may accept DTLS/SRTP from it). */
bool ice_address_validated(const struct ice_agent *a, const struct sockaddr *addr,
                           socklen_t addr_len);

#endif
