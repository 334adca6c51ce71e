/* AEAD_AES_128_GCM for SRTP and SRTCP (RFC 7714) on OpenSSL's EVP interface: the key
 * derivation of RFC 3711 §4.3 and one cipher context per direction and per protocol, keyed once,
 * so that a packet costs an IV reset and the AES-GCM pass: no allocation, lock or log.
 * Not a public face: gateway/srtp_session.c (balie/srtp_session.h) and its tests only. */
#ifndef BALIE_GATEWAY_SRTP_GCM_H
#define BALIE_GATEWAY_SRTP_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "srtp_replay.h"

#define SRTP_GCM_KEY_LEN 16     /* AES-128 (RFC 7714 §14.2) */
#define SRTP_GCM_SALT_LEN 12    /* 96-bit master and session salts (RFC 7714 §14.2) */
#define SRTP_GCM_TAG_LEN 16     /* RFC 7714 §14.2: 16-octet tag for SRTP and SRTCP */
#define SRTP_GCM_RTCP_TRAILER 4 /* E flag and 31-bit SRTCP index (RFC 7714 §9) */

/* SSRCs per direction. A leg sends and receives audio, video and their RTCP: a handful. A new
 * SSRC beyond this many is refused (-EPROTO) rather than evicting one whose replay state
 * would then be lost (an evicted inbound stream could be replayed from its start). */
#define SRTP_GCM_MAX_STREAMS 16

/* RFC 3711 §4.3.1 key derivation labels. */
enum srtp_gcm_label {
    SRTP_GCM_LABEL_RTP_KEY = 0x00,
    SRTP_GCM_LABEL_RTP_SALT = 0x02,
    SRTP_GCM_LABEL_RTCP_KEY = 0x03,
    SRTP_GCM_LABEL_RTCP_SALT = 0x05,
};

/* The session keys and salts of one direction. */
struct srtp_gcm_keys {
    uint8_t rtp_key[SRTP_GCM_KEY_LEN];
    uint8_t rtp_salt[SRTP_GCM_SALT_LEN];
    uint8_t rtcp_key[SRTP_GCM_KEY_LEN];
    uint8_t rtcp_salt[SRTP_GCM_SALT_LEN];
};

struct srtp_gcm_stream {
    uint32_t ssrc;
    struct srtp_replay rtp;  /* SRTP indexes protected (outbound) or accepted (inbound) */
    struct srtp_replay rtcp; /* SRTCP indexes accepted (inbound only) */
};

/* One direction: what we protect with (outbound), or what we unprotect with (inbound). */
struct srtp_gcm_dir {
    EVP_CIPHER_CTX *rtp;  /* keyed with the SRTP session key, encrypting or decrypting */
    EVP_CIPHER_CTX *rtcp; /* keyed with the SRTCP session key */
    uint8_t rtp_salt[SRTP_GCM_SALT_LEN];
    uint8_t rtcp_salt[SRTP_GCM_SALT_LEN];
    bool outbound;
    uint32_t rtcp_index; /* outbound: the last SRTCP index sent (the first sent is 1) */
    size_t n_streams;
    struct srtp_gcm_stream streams[SRTP_GCM_MAX_STREAMS];
};

/* Both directions of a session (balie/srtp_session.h), allocated once at init. */
struct srtp_gcm_session {
    struct srtp_gcm_dir out; /* our keys */
    struct srtp_gcm_dir in;  /* the peer's keys */
};

/* RFC 3711 §4.3.1 with key_derivation_rate 0: `out_len` bytes of AES-128-CM keystream under
 * the master key, IV = (label at octet 7 XOR master salt padded to 14 octets) || 0x0000.
 * Returns 0 or -EIO (OpenSSL failed). */
int srtp_gcm_kdf(const uint8_t master_key[SRTP_GCM_KEY_LEN],
                 const uint8_t master_salt[SRTP_GCM_SALT_LEN], enum srtp_gcm_label label,
                 uint8_t *out, size_t out_len);

/* The four session keys and salts of a direction. Returns 0 or -EIO; on failure `out` is
 * wiped. */
int srtp_gcm_derive(const uint8_t master_key[SRTP_GCM_KEY_LEN],
                    const uint8_t master_salt[SRTP_GCM_SALT_LEN], struct srtp_gcm_keys *out);

/* Keys both cipher contexts of `d` from session keys (copied). Returns 0 or -EIO; on failure
 * `d` holds nothing to free. */
int srtp_gcm_dir_init(struct srtp_gcm_dir *d, const struct srtp_gcm_keys *k, bool outbound);

/* Frees the contexts and wipes the salts. Safe on a zeroed or freed direction. */
void srtp_gcm_dir_free(struct srtp_gcm_dir *d);

/* Packet functions, in place. The caller has checked what balie/srtp_session.h promises:
 * `*len` ≤ SRTP_SESSION_MAX_PACKET, the RTP header is `hdr_len` bytes (CSRCs and extension
 * included, hdr_len ≤ *len, version 2) or the RTCP packet has its 8-byte header, and protect
 * has SRTP_GCM_TAG_LEN (+ 4 for SRTCP) bytes of room after `*len`. Return codes as in
 * balie/srtp_session.h. */
int srtp_gcm_protect_rtp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len, size_t hdr_len);
int srtp_gcm_unprotect_rtp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len, size_t hdr_len);
int srtp_gcm_protect_rtcp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len);
int srtp_gcm_unprotect_rtcp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len);

#endif
