#include "balie/srtp_session.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "srtp_gcm.h"

_Static_assert(SRTP_SESSION_RTP_TRAILER_ROOM == SRTP_MAX_TRAILER_LEN,
               "trailer room must follow libsrtp2's contract");
_Static_assert(SRTP_SESSION_RTCP_TRAILER_ROOM == SRTP_MAX_TRAILER_LEN + 4,
               "SRTCP adds the E flag and index");
_Static_assert(SRTP_SESSION_MAX_PACKET <= INT_MAX - SRTP_SESSION_RTCP_TRAILER_ROOM,
               "lengths must fit libsrtp2's and OpenSSL's int");
_Static_assert(SRTP_SESSION_RTP_TRAILER_ROOM >= SRTP_GCM_TAG_LEN &&
                   SRTP_SESSION_RTCP_TRAILER_ROOM >= SRTP_GCM_TAG_LEN + SRTP_GCM_RTCP_TRAILER,
               "the GCM trailer fits the room callers keep");

/* The same window as the GCM backend's (srtp_replay.h); libsrtp2's default of 128 refuses late
 * packets of a large key frame. */
#define REPLAY_WINDOW SRTP_REPLAY_WINDOW

#define RTP_HEADER_LEN 12
#define RTCP_HEADER_LEN 8

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t library_status = srtp_err_status_fail;

static void library_init(void)
{
    library_status = srtp_init();
}

static int status_to_errno(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        return -EBADMSG;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return -EALREADY;
    default:
        return -EPROTO;
    }
}

static int salt_len_for(enum srtp_session_profile profile)
{
    switch (profile) {
    case SRTP_SESSION_PROFILE_AES128_CM_SHA1_80:
        return 14; /* RFC 5764 §4.1.2: cipher_salt_length 112 bits */
    case SRTP_SESSION_PROFILE_AEAD_AES_128_GCM:
        return 12; /* RFC 7714 §14.2: 96-bit master salt */
    default:
        return -1;
    }
}

/* A libsrtp2 context for AES128_CM_HMAC_SHA1_80 (GCM is done in srtp_gcm.c). */
static srtp_err_status_t create_context(struct srtp_ctx_t_ **out, const uint8_t *key,
                                        const uint8_t *salt, size_t salt_len, bool outbound)
{
    /* libsrtp2 takes the master key and the master salt as one concatenated buffer. */
    uint8_t master[SRTP_SESSION_KEY_LEN + SRTP_SESSION_MAX_SALT_LEN];
    memcpy(master, key, SRTP_SESSION_KEY_LEN);
    memcpy(master + SRTP_SESSION_KEY_LEN, salt, salt_len);

    srtp_policy_t policy;
    memset(&policy, 0, sizeof(policy));
    /* RFC 5764 §4.1.2: SRTCP uses the same transform and an 80-bit tag too. */
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = master;
    policy.window_size = REPLAY_WINDOW;
    policy.allow_repeat_tx = 0; /* as with GCM (see the header) */
    policy.next = NULL;

    srtp_t ctx = NULL;
    srtp_err_status_t st = srtp_create(&ctx, &policy);
    explicit_bzero(master, sizeof(master));
    *out = st == srtp_err_status_ok ? ctx : NULL;
    return st;
}

/* Both GCM directions: session keys derived from each master key (RFC 3711 §4.3), then wiped. */
static int gcm_init(struct srtp_session *s, const struct srtp_keys *k)
{
    s->gcm = calloc(1, sizeof(*s->gcm));
    if (!s->gcm)
        return -EIO;
    struct srtp_gcm_keys out, in;
    int rc = srtp_gcm_derive(k->local_key, k->local_salt, &out);
    if (rc == 0)
        rc = srtp_gcm_derive(k->remote_key, k->remote_salt, &in);
    if (rc == 0)
        rc = srtp_gcm_dir_init(&s->gcm->out, &out, true);
    if (rc == 0) {
        rc = srtp_gcm_dir_init(&s->gcm->in, &in, false);
        if (rc < 0)
            srtp_gcm_dir_free(&s->gcm->out);
    }
    OPENSSL_cleanse(&out, sizeof(out));
    OPENSSL_cleanse(&in, sizeof(in));
    if (rc < 0) {
        free(s->gcm);
        s->gcm = NULL;
        return -EIO;
    }
    return 0;
}

static int cm_init(struct srtp_session *s, const struct srtp_keys *k)
{
    pthread_once(&library_once, library_init);
    if (library_status != srtp_err_status_ok)
        return -EIO;
    if (create_context(&s->outbound, k->local_key, k->local_salt, k->salt_len, true) !=
            srtp_err_status_ok ||
        create_context(&s->inbound, k->remote_key, k->remote_salt, k->salt_len, false) !=
            srtp_err_status_ok) {
        srtp_session_free(s);
        return -EIO;
    }
    return 0;
}

int srtp_session_init(struct srtp_session *s, const struct srtp_keys *k)
{
    if (!s || !k)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    int salt_len = salt_len_for(k->profile);
    if (salt_len < 0 || k->key_len != SRTP_SESSION_KEY_LEN || k->salt_len != (size_t)salt_len)
        return -EINVAL;
    int rc = k->profile == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM ? gcm_init(s, k) : cm_init(s, k);
    if (rc == 0)
        s->profile = k->profile;
    return rc;
}

void srtp_session_free(struct srtp_session *s)
{
    if (!s)
        return;
    if (s->gcm) {
        srtp_gcm_dir_free(&s->gcm->out);
        srtp_gcm_dir_free(&s->gcm->in);
        free(s->gcm);
    }
    /* srtp_dealloc only fails on a NULL context, which is checked here. */
    if (s->outbound)
        (void)srtp_dealloc(s->outbound);
    if (s->inbound)
        (void)srtp_dealloc(s->inbound);
    memset(s, 0, sizeof(*s));
}

/* RFC 3550 §5.1: version 2, then 12 fixed bytes, CC contributing sources, and with X set a
 * 4-byte extension header whose length counts 32-bit words. Returns the header's length, or 0
 * when the packet is shorter than its header says or not version 2. */
static size_t rtp_header_len(const uint8_t *buf, size_t len)
{
    if (len < RTP_HEADER_LEN || (buf[0] >> 6) != 2)
        return 0;
    size_t need = RTP_HEADER_LEN + 4u * (buf[0] & 0x0f);
    if (buf[0] & 0x10) {
        if (len < need + 4)
            return 0;
        size_t words = ((size_t)buf[need + 2] << 8) | buf[need + 3];
        need += 4 + 4 * words;
    }
    return len >= need ? need : 0;
}

/* RFC 3550 §6.4: every RTCP packet starts with version 2 and an 8-byte header (with the SSRC
 * that finds the stream). */
static bool rtcp_header_ok(const uint8_t *buf, size_t len)
{
    return len >= RTCP_HEADER_LEN && (buf[0] >> 6) == 2;
}

static int check_args(struct srtp_session *s, const uint8_t *buf, const size_t *len)
{
    if (!s || !(s->gcm || (s->outbound && s->inbound)) || !buf || !len ||
        *len > SRTP_SESSION_MAX_PACKET)
        return -EINVAL;
    return 0;
}

int srtp_session_protect_rtp(struct srtp_session *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = check_args(s, buf, len);
    if (rc < 0)
        return rc;
    size_t hdr_len = rtp_header_len(buf, *len);
    if (hdr_len == 0)
        return -EINVAL;
    if (cap < *len || cap - *len < SRTP_SESSION_RTP_TRAILER_ROOM)
        return -ENOSPC;
    if (s->gcm)
        return srtp_gcm_protect_rtp(&s->gcm->out, buf, len, hdr_len);
    int n = (int)*len;
    rc = status_to_errno(srtp_protect(s->outbound, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int srtp_session_unprotect_rtp(struct srtp_session *s, uint8_t *buf, size_t *len)
{
    int rc = check_args(s, buf, len);
    if (rc < 0)
        return rc;
    size_t hdr_len = rtp_header_len(buf, *len);
    if (hdr_len == 0)
        return -EINVAL;
    if (s->gcm)
        return srtp_gcm_unprotect_rtp(&s->gcm->in, buf, len, hdr_len);
    int n = (int)*len;
    rc = status_to_errno(srtp_unprotect(s->inbound, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int srtp_session_protect_rtcp(struct srtp_session *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = check_args(s, buf, len);
    if (rc < 0)
        return rc;
    if (!rtcp_header_ok(buf, *len))
        return -EINVAL;
    if (cap < *len || cap - *len < SRTP_SESSION_RTCP_TRAILER_ROOM)
        return -ENOSPC;
    if (s->gcm)
        return srtp_gcm_protect_rtcp(&s->gcm->out, buf, len);
    int n = (int)*len;
    rc = status_to_errno(srtp_protect_rtcp(s->outbound, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int srtp_session_unprotect_rtcp(struct srtp_session *s, uint8_t *buf, size_t *len)
{
    int rc = check_args(s, buf, len);
    if (rc < 0)
        return rc;
    if (!rtcp_header_ok(buf, *len))
        return -EINVAL;
    if (s->gcm)
        return srtp_gcm_unprotect_rtcp(&s->gcm->in, buf, len);
    int n = (int)*len;
    rc = status_to_errno(srtp_unprotect_rtcp(s->inbound, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}
