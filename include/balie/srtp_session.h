/* SRTP and SRTCP protection for one leg (RFC 3711), keyed by DTLS-SRTP (RFC 5764).
 *
 * A session has two directions: outbound (our key, any SSRC we send) and inbound (the peer's
 * key, any SSRC it sends). Profiles:
 *   AEAD_AES_128_GCM (RFC 7714 §14.2), done here on OpenSSL's EVP interface
 *     (gateway/srtp_gcm.c): no allocation, lock or log per packet;
 *   AES128_CM_HMAC_SHA1_80 (RFC 5764 §4.1.2), kept on libsrtp2 for peers without GCM.
 * Replay protection is on in both directions, with a window of 1024 packets.
 *
 * GCM keeps state for at most SRTP_GCM_MAX_STREAMS (16) SSRCs per direction; a packet from a
 * further SSRC is refused with -EPROTO (an inbound SSRC takes a slot only once one of its
 * packets authenticated).
 *
 * Threads: a session belongs to one thread (the media worker that owns the leg); libsrtp2's
 * process-wide initialisation is done once, on first use, behind pthread_once. */
#ifndef BALIE_SRTP_SESSION_H
#define BALIE_SRTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The DTLS-SRTP protection profile identifiers registered with IANA (RFC 5764 §4.1.2,
 * RFC 7714 §14.2); the values are the ones carried in the use_srtp extension. */
enum srtp_session_profile {
    SRTP_SESSION_PROFILE_NONE = 0,
    SRTP_SESSION_PROFILE_AES128_CM_SHA1_80 = 0x0001,
    SRTP_SESSION_PROFILE_AEAD_AES_128_GCM = 0x0007,
};

#define SRTP_SESSION_KEY_LEN 16      /* both profiles use AES-128 master keys */
#define SRTP_SESSION_MAX_SALT_LEN 14 /* 14 for CM_SHA1_80, 12 for GCM */

/* Room libsrtp2 may write past the end of a packet when protecting it: its documented
 * SRTP_MAX_TRAILER_LEN (tag and MKI), plus the 4-byte E flag and index for SRTCP. The buffer
 * given to the protect functions must hold `*len` plus this many bytes, whatever the profile
 * (GCM writes 16 bytes, 20 for SRTCP). */
#define SRTP_SESSION_RTP_TRAILER_ROOM 144
#define SRTP_SESSION_RTCP_TRAILER_ROOM 148

/* Longest packet accepted, before protection (a UDP payload cannot be longer). */
#define SRTP_SESSION_MAX_PACKET 65507

/* Master keys and salts for both directions, as DTLS-SRTP derives them (RFC 5764 §4.2).
 * "local" is what we protect with; "remote" is what the peer protects with. */
struct srtp_keys {
    enum srtp_session_profile profile;
    size_t key_len;  /* SRTP_SESSION_KEY_LEN */
    size_t salt_len; /* 14 (CM_SHA1_80) or 12 (GCM) */
    uint8_t local_key[SRTP_SESSION_KEY_LEN];
    uint8_t local_salt[SRTP_SESSION_MAX_SALT_LEN];
    uint8_t remote_key[SRTP_SESSION_KEY_LEN];
    uint8_t remote_salt[SRTP_SESSION_MAX_SALT_LEN];
    bool local_is_client; /* we were the DTLS client: local = client_write_* */
};

struct srtp_ctx_t_;      /* libsrtp2's session type (srtp_t), kept out of this header */
struct srtp_gcm_session; /* gateway/srtp_gcm.h */

/* One backend is in use, as `profile` says: `gcm` for AEAD_AES_128_GCM, the two libsrtp2
 * contexts for AES128_CM_HMAC_SHA1_80. */
struct srtp_session {
    struct srtp_ctx_t_ *outbound;
    struct srtp_ctx_t_ *inbound;
    struct srtp_gcm_session *gcm;
    enum srtp_session_profile profile;
};

/* Creates both directions from `k` (copied; the caller may wipe it afterwards). Returns 0, or
 * -EINVAL (unknown profile or lengths that do not match it), -EIO (libsrtp2 or OpenSSL refused
 * to start or to create a context, or no memory). On failure `s` holds nothing to free. */
int srtp_session_init(struct srtp_session *s, const struct srtp_keys *k);

/* Frees both directions and wipes their keys. Safe on a zeroed or already freed session. */
void srtp_session_free(struct srtp_session *s);

/* Packet functions. Each works in place on `buf`, which holds `*len` bytes and has room for
 * `cap` (see the TRAILER_ROOM constants); on success `*len` is the new length. Returns 0, or:
 *   -EINVAL    malformed packet (shorter than its header says, not version 2, too long)
 *   -ENOSPC    `cap` leaves less than the trailer room (protect only)
 *   -EBADMSG   authentication failed: the packet must be dropped, its bytes are not plaintext
 *   -EALREADY  replay: a packet with this index was already accepted (or, on protect, sent),
 *              or it is older than the replay window
 *   -EPROTO    any other failure: a new SSRC when the GCM table is full (see above), keys
 *              exhausted (2^48 SRTP or 2^31 SRTCP packets), a libsrtp2 or OpenSSL error
 * On failure the contents of `buf` are undefined and must not be used.
 *
 * Retransmissions: protecting a sequence number twice is refused (-EALREADY). With GCM a repeat
 * whose header differs (a rewritten header extension, say) would reuse the nonce with other
 * data and expose the authentication key (RFC 7714, Security Considerations), so a relay must give
 * every packet it sends a fresh sequence number (or use RTX, RFC 4588). */
int srtp_session_protect_rtp(struct srtp_session *s, uint8_t *buf, size_t *len, size_t cap);
int srtp_session_unprotect_rtp(struct srtp_session *s, uint8_t *buf, size_t *len);
int srtp_session_protect_rtcp(struct srtp_session *s, uint8_t *buf, size_t *len, size_t cap);
int srtp_session_unprotect_rtcp(struct srtp_session *s, uint8_t *buf, size_t *len);

#endif
