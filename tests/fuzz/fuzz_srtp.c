/* libFuzzer harness for gateway/srtp_session.c and its GCM backend (gateway/srtp_gcm.c,
 * gateway/srtp_replay.c).
 *
 * Input: one byte choosing the profile (bit 0: AES128_CM_HMAC_SHA1_80 on libsrtp2, else
 * AEAD_AES_128_GCM), then records [flags][2-byte big-endian length][bytes], fed in order to a
 * fixed-key pair of sessions:
 *   flags bit 0: RTCP (else RTP)
 *   flags bit 1: protect the bytes with the sender first (a genuine packet)
 *   flags bit 2: then flip one byte of it (at a position taken from the upper flag bits)
 * Every packet, junk or genuine, goes to the receiver's unprotect. Invariants: nothing crashes
 * or reads outside the packet (each is copied into a buffer of its exact size); a genuine,
 * untouched packet comes back as its plaintext (forged packets change no receiver state), for
 * RTP as long as no genuine RTP packet was lost to a flip (a loss may move the sender's ROC
 * guess away from the receiver's, RFC 3711 §3.3.1); a flipped one never passes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/srtp_session.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define MAX_RECORD 2048

static struct srtp_keys keys(enum srtp_session_profile profile, uint8_t local, uint8_t remote)
{
    struct srtp_keys k;
    memset(&k, 0, sizeof(k));
    k.profile = profile;
    k.key_len = SRTP_SESSION_KEY_LEN;
    k.salt_len = profile == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM ? 12 : 14;
    memset(k.local_key, local, sizeof(k.local_key));
    memset(k.remote_key, remote, sizeof(k.remote_key));
    memset(k.local_salt, local ^ 0x55, k.salt_len);
    memset(k.remote_salt, remote ^ 0x55, k.salt_len);
    return k;
}

static int unprotect(struct srtp_session *s, bool rtcp, const uint8_t *pkt, size_t len,
                     uint8_t *plain_out, size_t *plain_len)
{
    uint8_t *exact = malloc(len ? len : 1);
    CHECK(exact);
    memcpy(exact, pkt, len);
    size_t n = len;
    int rc =
        rtcp ? srtp_session_unprotect_rtcp(s, exact, &n) : srtp_session_unprotect_rtp(s, exact, &n);
    CHECK(rc == 0 || rc == -EINVAL || rc == -EBADMSG || rc == -EALREADY || rc == -EPROTO);
    if (rc == 0) {
        CHECK(n < len);
        memcpy(plain_out, exact, n);
        *plain_len = n;
    }
    free(exact);
    return rc;
}

static void one_record(struct srtp_session *tx, struct srtp_session *rx, bool *rtp_lost,
                       uint8_t flags, const uint8_t *data, size_t len)
{
    bool rtcp = flags & 1;
    static uint8_t pkt[MAX_RECORD + SRTP_SESSION_RTCP_TRAILER_ROOM];
    static uint8_t plain[MAX_RECORD + SRTP_SESSION_RTCP_TRAILER_ROOM];
    memcpy(pkt, data, len);
    size_t n = len;
    bool genuine = false, flipped = false;
    if (flags & 2) {
        int rc = rtcp ? srtp_session_protect_rtcp(tx, pkt, &n, sizeof(pkt))
                      : srtp_session_protect_rtp(tx, pkt, &n, sizeof(pkt));
        CHECK(rc == 0 || rc == -EINVAL || rc == -EALREADY || rc == -EPROTO);
        if (rc != 0)
            return;
        CHECK(n > len && n - len <= SRTP_SESSION_RTCP_TRAILER_ROOM);
        genuine = true;
        if (flags & 4) {
            pkt[((size_t)(flags >> 3) * 7) % n] ^= 0x01;
            genuine = false;
            flipped = true;
            if (!rtcp)
                *rtp_lost = true;
        }
    }
    size_t plain_len = 0;
    int rc = unprotect(rx, rtcp, pkt, n, plain, &plain_len);
    if (genuine && (rtcp || !*rtp_lost)) {
        CHECK(rc == 0);
        CHECK(plain_len == len && memcmp(plain, data, len) == 0);
    } else if (flipped) {
        CHECK(rc != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum srtp_session_profile profile = (data[0] & 1) ? SRTP_SESSION_PROFILE_AES128_CM_SHA1_80
                                                      : SRTP_SESSION_PROFILE_AEAD_AES_128_GCM;
    struct srtp_keys ka = keys(profile, 0x11, 0x22), kb = keys(profile, 0x22, 0x11);
    struct srtp_session tx, rx;
    CHECK(srtp_session_init(&tx, &ka) == 0);
    CHECK(srtp_session_init(&rx, &kb) == 0);
    size_t off = 1;
    bool rtp_lost = false;
    while (size - off >= 3) {
        uint8_t flags = data[off];
        size_t len = ((size_t)data[off + 1] << 8) | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        if (len > MAX_RECORD)
            len = MAX_RECORD;
        one_record(&tx, &rx, &rtp_lost, flags, data + off, len);
        off += len;
    }
    srtp_session_free(&tx);
    srtp_session_free(&rx);
    return 0;
}
