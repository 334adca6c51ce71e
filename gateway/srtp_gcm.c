#include "srtp_gcm.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/bytes.h"

#define RTCP_HEADER_LEN 8
#define IV_LEN 12

_Static_assert(SRTP_GCM_SALT_LEN == IV_LEN, "RFC 7714 §8.1: the salt is XORed over the IV");

int srtp_gcm_kdf(const uint8_t master_key[SRTP_GCM_KEY_LEN],
                 const uint8_t master_salt[SRTP_GCM_SALT_LEN], enum srtp_gcm_label label,
                 uint8_t *out, size_t out_len)
{
    static const uint8_t zeros[32];
    if (out_len > sizeof(zeros))
        return -EIO;
    /* RFC 3711 §4.3.1: x = (label || r) XOR master_salt, with key_id right-aligned in the
     * 112-bit salt, r = 0 (key_derivation_rate 0) and the 96-bit salt of RFC 7714 §11 padded
     * with two zero octets as libsrtp does; then IV = x * 2^16 (§4.3.3). */
    uint8_t iv[16] = {0};
    memcpy(iv, master_salt, SRTP_GCM_SALT_LEN);
    iv[7] ^= (uint8_t)label;

    int rc = -EIO;
    int n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, master_key, iv) == 1 &&
        EVP_EncryptUpdate(c, out, &n, zeros, (int)out_len) == 1 && (size_t)n == out_len)
        rc = 0;
    EVP_CIPHER_CTX_free(c); /* NULL is fine; the freed context's key schedule is cleansed */
    OPENSSL_cleanse(iv, sizeof(iv));
    if (rc < 0)
        OPENSSL_cleanse(out, out_len);
    return rc;
}

int srtp_gcm_derive(const uint8_t master_key[SRTP_GCM_KEY_LEN],
                    const uint8_t master_salt[SRTP_GCM_SALT_LEN], struct srtp_gcm_keys *out)
{
    int rc = srtp_gcm_kdf(master_key, master_salt, SRTP_GCM_LABEL_RTP_KEY, out->rtp_key,
                          sizeof(out->rtp_key));
    if (rc == 0)
        rc = srtp_gcm_kdf(master_key, master_salt, SRTP_GCM_LABEL_RTP_SALT, out->rtp_salt,
                          sizeof(out->rtp_salt));
    if (rc == 0)
        rc = srtp_gcm_kdf(master_key, master_salt, SRTP_GCM_LABEL_RTCP_KEY, out->rtcp_key,
                          sizeof(out->rtcp_key));
    if (rc == 0)
        rc = srtp_gcm_kdf(master_key, master_salt, SRTP_GCM_LABEL_RTCP_SALT, out->rtcp_salt,
                          sizeof(out->rtcp_salt));
    if (rc < 0)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

static EVP_CIPHER_CTX *keyed_context(const uint8_t key[SRTP_GCM_KEY_LEN], bool encrypt)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return NULL;
    /* The 12-octet IV is GCM's default length; each packet sets its own (RFC 7714 §8.1). */
    if (EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, key, NULL, encrypt ? 1 : 0) != 1) {
        EVP_CIPHER_CTX_free(c);
        return NULL;
    }
    return c;
}

int srtp_gcm_dir_init(struct srtp_gcm_dir *d, const struct srtp_gcm_keys *k, bool outbound)
{
    memset(d, 0, sizeof(*d));
    d->rtp = keyed_context(k->rtp_key, outbound);
    d->rtcp = keyed_context(k->rtcp_key, outbound);
    if (!d->rtp || !d->rtcp) {
        srtp_gcm_dir_free(d);
        return -EIO;
    }
    memcpy(d->rtp_salt, k->rtp_salt, sizeof(d->rtp_salt));
    memcpy(d->rtcp_salt, k->rtcp_salt, sizeof(d->rtcp_salt));
    d->outbound = outbound;
    return 0;
}

void srtp_gcm_dir_free(struct srtp_gcm_dir *d)
{
    if (!d)
        return;
    EVP_CIPHER_CTX_free(d->rtp);
    EVP_CIPHER_CTX_free(d->rtcp);
    OPENSSL_cleanse(d, sizeof(*d));
}

/* Linear: a leg has a handful of SSRCs, and the table is a few cache lines of them. */
static struct srtp_gcm_stream *find_stream(struct srtp_gcm_dir *d, uint32_t ssrc)
{
    for (size_t i = 0; i < d->n_streams; i++)
        if (d->streams[i].ssrc == ssrc)
            return &d->streams[i];
    return NULL;
}

/* Called only after the packet authenticated (or was protected), so a forger cannot fill the
 * table; the caller checked that there is room. */
static struct srtp_gcm_stream *add_stream(struct srtp_gcm_dir *d, uint32_t ssrc)
{
    struct srtp_gcm_stream *st = &d->streams[d->n_streams++];
    memset(st, 0, sizeof(*st));
    st->ssrc = ssrc;
    return st;
}

/* The stream's replay state, or an empty one for an SSRC not seen yet (-EPROTO when there is
 * no room for it). */
static int lookup(struct srtp_gcm_dir *d, uint32_t ssrc, struct srtp_gcm_stream **st)
{
    *st = find_stream(d, ssrc);
    if (!*st && d->n_streams == SRTP_GCM_MAX_STREAMS)
        return -EPROTO;
    return 0;
}

static const struct srtp_replay no_packets_yet;

/* RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt; ROC || SEQ is the 48-bit index. */
static void rtp_iv(uint8_t iv[IV_LEN], const uint8_t salt[IV_LEN], uint32_t ssrc, uint64_t index)
{
    iv[0] = 0;
    iv[1] = 0;
    bytes_put32(iv + 2, ssrc);
    bytes_put16(iv + 6, (uint16_t)(index >> 32));
    bytes_put32(iv + 8, (uint32_t)index);
    for (size_t i = 0; i < IV_LEN; i++)
        iv[i] ^= salt[i];
}

/* RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. The E flag is
 * not in the IV (it is in the AAD); §17's vectors confirm it. */
static void rtcp_iv(uint8_t iv[IV_LEN], const uint8_t salt[IV_LEN], uint32_t ssrc, uint32_t index)
{
    iv[0] = 0;
    iv[1] = 0;
    bytes_put32(iv + 2, ssrc);
    iv[6] = 0;
    iv[7] = 0;
    bytes_put32(iv + 8, index & 0x7fffffffu);
    for (size_t i = 0; i < IV_LEN; i++)
        iv[i] ^= salt[i];
}

/* What one AEAD pass reads and writes: the AAD is `aad` then `aad2` (SRTCP's E||index), `data`
 * is transformed in place, `tag` is written (encrypting) or checked (decrypting). */
struct aead_op {
    const uint8_t *aad;
    size_t aad_len;
    const uint8_t *aad2;
    size_t aad2_len;
    uint8_t *data;
    size_t data_len;
    uint8_t *tag;
};

/* One AEAD pass over a keyed context. Decrypting checks the tag in EVP's final step, which
 * compares in constant time and leaves nothing in OpenSSL's error queue on a mismatch.
 * Lengths fit an int: packets are at most SRTP_SESSION_MAX_PACKET bytes. */
static int aead(EVP_CIPHER_CTX *c, bool encrypt, const uint8_t iv[IV_LEN], const struct aead_op *op)
{
    int n = 0;
    /* Cipher and key NULL: only the IV changes; -1 keeps the direction. */
    if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, -1) != 1)
        return -EPROTO;
    if (EVP_CipherUpdate(c, NULL, &n, op->aad, (int)op->aad_len) != 1)
        return -EPROTO;
    if (op->aad2_len && EVP_CipherUpdate(c, NULL, &n, op->aad2, (int)op->aad2_len) != 1)
        return -EPROTO;
    if (op->data_len) {
        if (EVP_CipherUpdate(c, op->data, &n, op->data, (int)op->data_len) != 1 ||
            (size_t)n != op->data_len)
            return -EPROTO;
    }
    if (encrypt) {
        if (EVP_CipherFinal_ex(c, op->data + op->data_len, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SRTP_GCM_TAG_LEN, op->tag) != 1)
            return -EPROTO;
        return 0;
    }
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SRTP_GCM_TAG_LEN, op->tag) != 1)
        return -EPROTO;
    return EVP_CipherFinal_ex(c, op->data + op->data_len, &n) == 1 ? 0 : -EBADMSG;
}

/* The packet's SSRC stream (NULL when not seen yet), and its index (RFC 3711 §3.3.1) when that
 * index was neither sent nor accepted before and is inside the window. */
static int rtp_index(struct srtp_gcm_dir *d, const uint8_t *buf, struct srtp_gcm_stream **st,
                     uint64_t *index)
{
    int rc = lookup(d, bytes_get32(buf + 8), st);
    if (rc < 0)
        return rc;
    const struct srtp_replay *r = *st ? &(*st)->rtp : &no_packets_yet;
    rc = srtp_replay_estimate(r, bytes_get16(buf + 2), index);
    return rc < 0 ? rc : srtp_replay_check(r, *index);
}

int srtp_gcm_protect_rtp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len, size_t hdr_len)
{
    uint32_t ssrc = bytes_get32(buf + 8);
    struct srtp_gcm_stream *st;
    uint64_t index;
    /* Protecting an index twice would reuse the nonce (RFC 7714 §8.1, Security
     * Considerations): refused like a replay. */
    int rc = rtp_index(d, buf, &st, &index);
    if (rc < 0)
        return rc;

    uint8_t iv[IV_LEN];
    rtp_iv(iv, d->rtp_salt, ssrc, index);
    /* RFC 7714 §8.2: AAD is the header with CSRCs and extension; the payload is encrypted;
     * the tag follows it. */
    struct aead_op op = {.aad = buf,
                         .aad_len = hdr_len,
                         .data = buf + hdr_len,
                         .data_len = *len - hdr_len,
                         .tag = buf + *len};
    rc = aead(d->rtp, true, iv, &op);
    if (rc < 0)
        return rc;
    if (!st)
        st = add_stream(d, ssrc);
    srtp_replay_add(&st->rtp, index);
    *len += SRTP_GCM_TAG_LEN;
    return 0;
}

int srtp_gcm_unprotect_rtp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len, size_t hdr_len)
{
    /* RFC 7714 §8.3: a packet too short for its tag cannot authenticate. */
    if (*len < hdr_len || *len - hdr_len < SRTP_GCM_TAG_LEN)
        return -EINVAL;
    uint32_t ssrc = bytes_get32(buf + 8);
    struct srtp_gcm_stream *st;
    uint64_t index;
    int rc = rtp_index(d, buf, &st, &index); /* RFC 3711 §3.3: before the tag, cheap */
    if (rc < 0)
        return rc;

    uint8_t iv[IV_LEN];
    rtp_iv(iv, d->rtp_salt, ssrc, index);
    size_t body = *len - SRTP_GCM_TAG_LEN;
    struct aead_op op = {.aad = buf,
                         .aad_len = hdr_len,
                         .data = buf + hdr_len,
                         .data_len = body - hdr_len,
                         .tag = buf + body};
    rc = aead(d->rtp, false, iv, &op);
    if (rc < 0)
        return rc;
    /* Only an authenticated packet moves the ROC, the window, or takes a table slot. */
    if (!st)
        st = add_stream(d, ssrc);
    srtp_replay_add(&st->rtp, index);
    *len = body;
    return 0;
}

int srtp_gcm_protect_rtcp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len)
{
    /* RFC 3711 §3.4: 31-bit index; at its end a new key is needed, never a repeat. */
    if (d->rtcp_index >= 0x7fffffffu)
        return -EPROTO;
    uint32_t index = d->rtcp_index + 1;
    uint8_t trailer[SRTP_GCM_RTCP_TRAILER];
    bytes_put32(trailer, 0x80000000u | index); /* E = 1: we always encrypt */

    uint8_t iv[IV_LEN];
    rtcp_iv(iv, d->rtcp_salt, bytes_get32(buf + 4), index);
    /* RFC 7714 §9.2: AAD = the first 8 octets || E || index; the rest is encrypted; the tag,
     * then E || index, follow. */
    struct aead_op op = {.aad = buf,
                         .aad_len = RTCP_HEADER_LEN,
                         .aad2 = trailer,
                         .aad2_len = sizeof(trailer),
                         .data = buf + RTCP_HEADER_LEN,
                         .data_len = *len - RTCP_HEADER_LEN,
                         .tag = buf + *len};
    int rc = aead(d->rtcp, true, iv, &op);
    if (rc < 0)
        return rc;
    memcpy(buf + *len + SRTP_GCM_TAG_LEN, trailer, sizeof(trailer));
    d->rtcp_index = index;
    *len += SRTP_GCM_TAG_LEN + SRTP_GCM_RTCP_TRAILER;
    return 0;
}

int srtp_gcm_unprotect_rtcp(struct srtp_gcm_dir *d, uint8_t *buf, size_t *len)
{
    if (*len < RTCP_HEADER_LEN + SRTP_GCM_TAG_LEN + SRTP_GCM_RTCP_TRAILER)
        return -EINVAL;
    uint32_t ssrc = bytes_get32(buf + 4);
    struct srtp_gcm_stream *st;
    int rc = lookup(d, ssrc, &st);
    if (rc < 0)
        return rc;
    size_t body = *len - SRTP_GCM_TAG_LEN - SRTP_GCM_RTCP_TRAILER;
    uint8_t *trailer = buf + *len - SRTP_GCM_RTCP_TRAILER;
    uint32_t word = bytes_get32(trailer);
    uint32_t index = word & 0x7fffffffu;
    const struct srtp_replay *seen = st ? &st->rtcp : &no_packets_yet;
    rc = srtp_replay_check(seen, index);
    if (rc < 0)
        return rc;

    uint8_t iv[IV_LEN];
    rtcp_iv(iv, d->rtcp_salt, ssrc, index);
    struct aead_op op = {
        .aad = buf, .aad2 = trailer, .aad2_len = SRTP_GCM_RTCP_TRAILER, .tag = buf + body};
    if (word & 0x80000000u) {
        op.aad_len = RTCP_HEADER_LEN; /* §9.2: encrypted */
        op.data = buf + RTCP_HEADER_LEN;
        op.data_len = body - RTCP_HEADER_LEN;
    } else {
        op.aad_len = body; /* §9.3: E = 0, authenticated only: the whole packet is AAD */
        op.data = buf + body;
        op.data_len = 0;
    }
    rc = aead(d->rtcp, false, iv, &op);
    if (rc < 0)
        return rc;
    if (!st)
        st = add_stream(d, ssrc);
    srtp_replay_add(&st->rtcp, index);
    *len = body;
    return 0;
}
