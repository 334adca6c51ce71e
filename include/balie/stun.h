/* STUN messages (RFC 8489): a sans-IO parser, integrity and fingerprint checks, and a builder.
 *
 * Only what ICE-lite needs is interpreted (DESIGN.md §3): Binding requests and responses with
 * short-term credentials. The parser never allocates and never copies attribute values: a parsed
 * `struct stun_msg` points into the caller's buffer, which must outlive it. The builder writes
 * into a caller-supplied buffer and never allocates either. */
#ifndef BALIE_STUN_H
#define BALIE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN 12
#define STUN_HMAC_LEN 20
#define STUN_FINGERPRINT_XOR 0x5354554Eu

/* Message classes (RFC 8489 §5): the C1 C0 bits. */
enum stun_class {
    STUN_CLASS_REQUEST = 0,
    STUN_CLASS_INDICATION = 1,
    STUN_CLASS_SUCCESS = 2,
    STUN_CLASS_ERROR = 3,
};

#define STUN_METHOD_BINDING 0x001

/* Message types with class and method already interleaved (RFC 8489 §5, figure 3). */
#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_INDICATION 0x0011
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR 0x0111

/* Attribute types (RFC 8489 §18.3, RFC 8445 §16.1). */
#define STUN_ATTR_MAPPED_ADDRESS 0x0001
#define STUN_ATTR_USERNAME 0x0006
#define STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define STUN_ATTR_ERROR_CODE 0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define STUN_ATTR_REALM 0x0014
#define STUN_ATTR_NONCE 0x0015
#define STUN_ATTR_MESSAGE_INTEGRITY_SHA256 0x001C
#define STUN_ATTR_PASSWORD_ALGORITHM 0x001D
#define STUN_ATTR_USERHASH 0x001E
#define STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define STUN_ATTR_PRIORITY 0x0024
#define STUN_ATTR_USE_CANDIDATE 0x0025
#define STUN_ATTR_SOFTWARE 0x8022
#define STUN_ATTR_FINGERPRINT 0x8028
#define STUN_ATTR_ICE_CONTROLLED 0x8029
#define STUN_ATTR_ICE_CONTROLLING 0x802A

/* Error codes used by ICE (RFC 8489 §14.8, RFC 8445 §7.3.1.1). */
#define STUN_ERR_BAD_REQUEST 400
#define STUN_ERR_UNAUTHORIZED 401
#define STUN_ERR_UNKNOWN_ATTRIBUTE 420
#define STUN_ERR_ROLE_CONFLICT 487

/* How many unknown comprehension-required attribute types a parse remembers for a 420. */
#define STUN_MAX_UNKNOWN 8

struct stun_msg {
    uint16_t type;   /* the raw 14-bit message type */
    uint16_t method; /* e.g. STUN_METHOD_BINDING */
    enum stun_class cls;
    uint8_t txid[STUN_TXID_LEN];

    const uint8_t *username; /* into the parsed buffer, not NUL-terminated; NULL if absent */
    size_t username_len;

    bool has_integrity;
    size_t integrity_offset; /* offset of the MESSAGE-INTEGRITY attribute's header */

    bool has_fingerprint; /* present, and verified: a wrong one fails the parse */

    bool has_priority;
    uint32_t priority;
    bool use_candidate;
    bool ice_controlling;
    bool ice_controlled;
    uint64_t tie_breaker; /* from whichever of the two role attributes is present */

    bool has_error;
    int error_code; /* 300..699 */
    const uint8_t *error_reason;
    size_t error_reason_len;

    bool has_xor_mapped;
    struct sockaddr_storage xor_mapped; /* AF_INET or AF_INET6 */

    /* Comprehension-required attributes (type < 0x8000) this parser does not know, in order,
     * for a 420 (RFC 8489 §6.3.1.1). `unknown_count` may exceed STUN_MAX_UNKNOWN; only the
     * first STUN_MAX_UNKNOWN types are kept. */
    uint16_t unknown[STUN_MAX_UNKNOWN];
    size_t unknown_count;
};

/* RFC 7983 §7 demultiplexing plus the STUN header rules (RFC 8489 §6): first byte 0..3, magic
 * cookie, length a multiple of 4 and equal to `len` - 20. Reads at most 8 bytes. */
bool stun_looks_like(const uint8_t *buf, size_t len);

/* Parses one STUN message that fills the whole datagram. Fills `out` and returns 0, or:
 *   -EINVAL   a NULL argument
 *   -ENOMSG   not STUN (the top two bits or the magic cookie)
 *   -EMSGSIZE shorter than a header, or the header's length disagrees with `len`
 *   -EBADMSG  an attribute overruns the message, has the wrong length for its type, or holds
 *             an invalid value; or an attribute follows FINGERPRINT
 *   -EILSEQ   FINGERPRINT present but wrong (RFC 8489 §14.7: the message is not STUN)
 * Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are skipped, as RFC 8489 §14.5
 * requires: they are not covered by the HMAC. Of a repeated attribute only the first counts
 * (RFC 8489 §14). Never reads outside buf[0..len). */
int stun_parse(const uint8_t *buf, size_t len, struct stun_msg *out);

/* Checks MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) of a message `m` parsed from `buf`.
 * For short-term credentials (ICE) the key is the password itself. Returns 0 when it matches,
 * -EACCES when it does not, -ENOENT without MESSAGE-INTEGRITY, -EINVAL for bad arguments.
 * The comparison is constant-time. */
int stun_check_integrity(const uint8_t *buf, size_t len, const struct stun_msg *m,
                         const uint8_t *key, size_t key_len);

/* Copies the part of USERNAME before the first ':' into `out` with a NUL. For a request sent to
 * us that is our own ufrag (RFC 8445 §7.2.2), which is how a worker finds the leg. Returns its
 * length, or -ENOENT (no USERNAME), -EBADMSG (no ':', an empty part, or a NUL), -ENOSPC (too long).
 */
int stun_local_ufrag(const struct stun_msg *m, char *out, size_t cap);

/* The CRC-32 used by FINGERPRINT, before the XOR with STUN_FINGERPRINT_XOR. */
uint32_t stun_crc32(const uint8_t *buf, size_t len);

/* Writes one message into a caller buffer. Errors are sticky: after the first one every call
 * does nothing and stun_builder_finish() returns it, so callers may check only at the end. */
struct stun_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
};

/* Writes the header. `cap` below STUN_HEADER_LEN makes the builder fail with -ENOBUFS. */
void stun_builder_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
                       const uint8_t txid[STUN_TXID_LEN]);

/* Each returns 0, or -ENOBUFS when the buffer is full, or -EINVAL for a bad value. */
int stun_add_attr(struct stun_builder *b, uint16_t type, const void *value, size_t len);
int stun_add_u32(struct stun_builder *b, uint16_t type, uint32_t value);
int stun_add_u64(struct stun_builder *b, uint16_t type, uint64_t value);
/* `addr` is a struct sockaddr_in or sockaddr_in6. */
int stun_add_xor_mapped_address(struct stun_builder *b, const struct sockaddr *addr);
/* `code` 300..699; `reason` may be NULL. */
int stun_add_error_code(struct stun_builder *b, int code, const char *reason);
int stun_add_unknown_attributes(struct stun_builder *b, const uint16_t *types, size_t n);
/* MESSAGE-INTEGRITY over everything written so far; add FINGERPRINT after it, nothing else. */
int stun_add_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len);
/* FINGERPRINT; must be the last attribute. */
int stun_add_fingerprint(struct stun_builder *b);

/* Returns the message length, or the first error. */
int stun_builder_finish(struct stun_builder *b);

/* What an ICE agent puts in a connectivity check (RFC 8445 §7.1). */
struct stun_binding_params {
    const char *username; /* "<receiver's ufrag>:<sender's ufrag>" */
    const uint8_t *key;   /* the receiver's password */
    size_t key_len;
    uint32_t priority;
    bool controlling; /* ICE-CONTROLLING, else ICE-CONTROLLED */
    uint64_t tie_breaker;
    bool use_candidate;
};

/* Builds a Binding request with USERNAME, PRIORITY, the role attribute, USE-CANDIDATE if asked,
 * MESSAGE-INTEGRITY and FINGERPRINT. Returns its length or a negative error as the builder. */
int stun_build_binding_request(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
                               const struct stun_binding_params *p);

#endif
