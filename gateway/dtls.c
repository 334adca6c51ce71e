#include "balie/dtls.h"

#include "balie/srtp_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* RFC 6347 §4.2.4.1: double on every retransmission, up to at least RFC 6298's 60 s. */
#define RTO_MAX_US 60000000u

/* Datagrams waiting for dtls_conn_poll(). A flight fills one datagram (two with a large
 * certificate), and a retransmitted flight one per handshake message (five at most), so eight
 * hold a flight and an alert. When the caller does not poll and the queue is full, further
 * datagrams are dropped: the peer sees a lost packet and DTLS retransmits. SLOT_CAP is above
 * DTLS_MTU only so that a record OpenSSL did not cut is carried rather than lost. */
#define OUT_SLOTS 8
#define SLOT_CAP 1500

/* SRTP profiles in our order of preference (RFC 7714 §14.2 adds the GCM one). */
#define SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

/* ECDHE with AEAD only. Our own certificate is ECDSA; RSA suites are there for a peer that
 * plays server with an RSA certificate. */
#define CIPHERS                                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"   \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp" /* RFC 5764 §4.2 */

struct dtls_identity {
    SSL_CTX *ctx;
    uint32_t initial_rto_us;
    uint8_t fingerprint[DTLS_FINGERPRINT_LEN];
    char fingerprint_text[DTLS_FINGERPRINT_TEXT_LEN + 1];
};

struct datagram {
    size_t len;
    uint8_t data[SLOT_CAP];
};

struct dtls_conn {
    SSL *ssl;
    enum dtls_role role;
    enum dtls_state state;
    uint32_t initial_rto_us;
    uint8_t expected_fp[DTLS_FINGERPRINT_LEN];
    bool fingerprint_mismatch;

    /* The datagram being fed to OpenSSL, valid only inside dtls_conn_input(). */
    const uint8_t *in_buf;
    size_t in_len;

    /* Ring of outgoing datagrams, oldest at out_head. Allocated while there is something to
     * send: once connected a leg sends a record only at its end, and 12 kB per leg add up. */
    struct datagram *out;
    unsigned out_head;
    unsigned out_count;

    uint64_t dropped_datagrams;
    uint64_t ignored_app_data;
    char peer_alert[64];
    char error[160];
};

/* ---- Fingerprints ---- */

static void fingerprint_format(const uint8_t fp[DTLS_FINGERPRINT_LEN], char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < DTLS_FINGERPRINT_LEN; i++) {
        text[3 * i] = hex[fp[i] >> 4];
        text[3 * i + 1] = hex[fp[i] & 0x0f];
        text[3 * i + 2] = i + 1 < DTLS_FINGERPRINT_LEN ? ':' : '\0';
    }
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int dtls_fingerprint_parse(const char *text, size_t len, uint8_t out[DTLS_FINGERPRINT_LEN])
{
    if (!text || !out || len != DTLS_FINGERPRINT_TEXT_LEN)
        return -EINVAL;
    uint8_t fp[DTLS_FINGERPRINT_LEN];
    for (size_t i = 0; i < DTLS_FINGERPRINT_LEN; i++) {
        int hi = hex_value(text[3 * i]);
        int lo = hex_value(text[3 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        if (i + 1 < DTLS_FINGERPRINT_LEN && text[3 * i + 2] != ':')
            return -EINVAL;
        fp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, fp, sizeof(fp));
    return 0;
}

static bool cert_fingerprint(X509 *cert, uint8_t fp[DTLS_FINGERPRINT_LEN])
{
    unsigned int n = 0;
    return cert && X509_digest(cert, EVP_sha256(), fp, &n) == 1 && n == DTLS_FINGERPRINT_LEN;
}

/* Constant time, so a peer probing fingerprints learns nothing from timing. */
static bool fingerprint_matches(const struct dtls_conn *c, X509 *cert)
{
    uint8_t fp[DTLS_FINGERPRINT_LEN];
    return cert_fingerprint(cert, fp) &&
           CRYPTO_memcmp(fp, c->expected_fp, DTLS_FINGERPRINT_LEN) == 0;
}

/* ---- Identity ---- */

static X509 *make_certificate(EVP_PKEY *key)
{
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    uint8_t rnd[16];
    bool ok = cert && serial && RAND_bytes(rnd, sizeof(rnd)) == 1;
    if (ok) {
        rnd[0] &= 0x7f; /* RFC 5280 §4.1.2.2: positive, at most 20 octets */
        rnd[0] |= 0x40; /* and never so short that a reader pads it */
        ok = BN_bin2bn(rnd, sizeof(rnd), serial) &&
             BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) &&
             X509_set_version(cert, X509_VERSION_3) == 1;
    }
    /* An hour in the past absorbs a peer whose clock runs behind ours. */
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) &&
         X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
    X509_NAME *name = ok ? X509_get_subject_name(cert) : NULL;
    ok = ok && name &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"balie", -1,
                                    -1, 0) == 1 &&
         X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1 &&
         X509_sign(cert, key, EVP_sha256()) > 0;
    BN_free(serial);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

static int verify_peer(int preverify_ok, X509_STORE_CTX *store);
static void info_callback(const SSL *ssl, int where, int ret);

static SSL_CTX *make_context(EVP_PKEY *key, X509 *cert)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx)
        return NULL;
    /* SSL_CTX_set_tlsext_use_srtp returns 0 on success. */
    bool ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
              SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
              SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
              SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set_cipher_list(ctx, CIPHERS) == 1 &&
              SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1 &&
              SSL_CTX_set_tlsext_use_srtp(ctx, SRTP_PROFILES) == 0;
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* No resumption in WebRTC, and a session cache would be state shared across threads. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    /* After the handshake a connection only ever carries an alert: its 16 kB read and write
     * buffers go back between records instead of staying with every leg of every call. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* A certificate is demanded from the peer either way (RFC 5763 §5: both sides prove
     * their fingerprint), and verify_peer decides by the fingerprint alone. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
    SSL_CTX_set_info_callback(ctx, info_callback);
    return ctx;
}

int dtls_identity_create(struct dtls_identity **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    struct dtls_identity *id = calloc(1, sizeof(*id));
    if (!id)
        return -ENOMEM;
    int rc = -EIO;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? make_certificate(key) : NULL;
    if (!cert || !cert_fingerprint(cert, id->fingerprint))
        goto err;
    id->ctx = make_context(key, cert);
    if (!id->ctx)
        goto err;
    fingerprint_format(id->fingerprint, id->fingerprint_text);
    id->initial_rto_us = DTLS_INITIAL_RTO_US;
    /* The context holds its own references to both. */
    X509_free(cert);
    EVP_PKEY_free(key);
    *out = id;
    return 0;
err:
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    free(id);
    return rc;
}

void dtls_identity_free(struct dtls_identity *id)
{
    if (!id)
        return;
    SSL_CTX_free(id->ctx);
    free(id);
}

const char *dtls_identity_fingerprint(const struct dtls_identity *id)
{
    return id->fingerprint_text;
}

const uint8_t *dtls_identity_fingerprint_bytes(const struct dtls_identity *id)
{
    return id->fingerprint;
}

void dtls_identity_set_initial_rto_us(struct dtls_identity *id, uint32_t rto_us)
{
    id->initial_rto_us = rto_us < DTLS_MIN_RTO_US ? DTLS_MIN_RTO_US : rto_us;
}

/* ---- The datagram BIO ----
 *
 * OpenSSL 3.0 has no in-memory datagram BIO (BIO_s_dgram_pair came in 3.2), and a memory BIO
 * would glue datagrams together. This one behaves like a UDP socket: a read hands OpenSSL
 * exactly the datagram being input, and every write becomes one datagram. During the handshake
 * OpenSSL collects a flight in its own buffering BIO and writes it out in pieces that fit the
 * MTU, so each write is already a whole datagram; afterwards each record (an alert) is one. */

static pthread_once_t bio_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *bio_method; /* made once, never changed, lives as long as the process */

static int bio_write(BIO *bio, const char *data, int len)
{
    struct dtls_conn *c = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (len <= 0)
        return 0;
    size_t n = (size_t)len;
    /* Claiming the write when the queue is full (or the datagram absurd) is what a full socket
     * buffer does to UDP: the datagram is lost, and the retransmission timer brings it back. */
    if (!c->out)
        c->out = calloc(OUT_SLOTS, sizeof(*c->out));
    if (!c->out || n > SLOT_CAP || c->out_count == OUT_SLOTS) {
        c->dropped_datagrams++;
        return len;
    }
    struct datagram *d = &c->out[(c->out_head + c->out_count) % OUT_SLOTS];
    memcpy(d->data, data, n);
    d->len = n;
    c->out_count++;
    return len;
}

static int bio_read(BIO *bio, char *buf, int size)
{
    struct dtls_conn *c = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (!c->in_buf || size <= 0) {
        BIO_set_retry_read(bio);
        return -1;
    }
    /* One datagram per read; a datagram longer than OpenSSL's buffer is cut, as recvfrom
     * would cut it, and its broken last record is then dropped. */
    size_t n = c->in_len < (size_t)size ? c->in_len : (size_t)size;
    memcpy(buf, c->in_buf, n);
    c->in_buf = NULL;
    c->in_len = 0;
    return (int)n;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    struct dtls_conn *c = BIO_get_data(bio);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* every write was a datagram already */
    case BIO_CTRL_WPENDING:
        return 0; /* nothing waits to be sent together with the next record */
    case BIO_CTRL_PENDING:
        return (long)c->in_len;
    case BIO_CTRL_DGRAM_QUERY_MTU:
        return DTLS_MTU;
    default:
        /* Timeouts, peer addresses, MTU discovery: nothing to do without a socket. */
        return 0;
    }
}

static int bio_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

static void bio_method_init(void)
{
    int index = BIO_get_new_index();
    if (index < 0)
        return;
    BIO_METHOD *m = BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "balie-dtls-datagram");
    if (m && BIO_meth_set_write(m, bio_write) == 1 && BIO_meth_set_read(m, bio_read) == 1 &&
        BIO_meth_set_ctrl(m, bio_ctrl) == 1 && BIO_meth_set_create(m, bio_create) == 1) {
        bio_method = m;
        return;
    }
    BIO_meth_free(m);
}

/* ---- Callbacks ---- */

/* The peer's chain means nothing in WebRTC: the leaf's fingerprint, pinned by the signalled
 * SDP, is the whole trust decision (RFC 5763 §5). So chain errors (self-signed, no issuer,
 * expired) are waved through, and the leaf stands or falls by its fingerprint alone. A
 * refusal here makes OpenSSL send bad_certificate, so the peer learns at once. */
static int verify_peer(int preverify_ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct dtls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!c)
        return 0;
    if (X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    if (fingerprint_matches(c, X509_STORE_CTX_get_current_cert(store))) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
    }
    c->fingerprint_mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* Remembers the first fatal alert the peer sends, to say why the connection ended. Warnings
 * (no_renegotiation, say) end nothing and would only mislead. */
static void info_callback(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_READ) || (ret >> 8) != SSL3_AL_FATAL)
        return;
    struct dtls_conn *c = SSL_get_app_data(ssl);
    if (c && c->peer_alert[0] == '\0')
        snprintf(c->peer_alert, sizeof(c->peer_alert), "%s", SSL_alert_desc_string_long(ret));
}

/* OpenSSL asks for the first timeout with 0, then passes the one that just ran out. */
static unsigned int timer_callback(SSL *ssl, unsigned int previous_us)
{
    const struct dtls_conn *c = SSL_get_app_data(ssl);
    if (previous_us == 0)
        return c->initial_rto_us;
    uint64_t next = (uint64_t)previous_us * 2;
    return next > RTO_MAX_US ? RTO_MAX_US : (unsigned int)next;
}

/* ---- Connection ---- */

static void conn_fail(struct dtls_conn *c, const char *reason)
{
    if (c->state == DTLS_FAILED)
        return; /* the first reason is the one that explains */
    c->state = DTLS_FAILED;
    snprintf(c->error, sizeof(c->error), "%s", reason);
}

/* RFC 5246 §7.2.1: answer close_notify with our own. */
static void conn_closed_by_peer(struct dtls_conn *c)
{
    c->state = DTLS_CLOSED;
    snprintf(c->error, sizeof(c->error), "closed by peer");
    (void)SSL_shutdown(c->ssl);
}

/* Sorts out why an SSL call returned `rc` <= 0. The OpenSSL error queue is per thread and
 * shared by every connection on it, so it is emptied before returning, whatever happened. */
static void conn_after_error(struct dtls_conn *c, int rc)
{
    int err = SSL_get_error(c->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        conn_closed_by_peer(c);
        ERR_clear_error();
        return;
    }
    char reason[sizeof(c->error)];
    unsigned long code = ERR_peek_error();
    if (c->fingerprint_mismatch)
        snprintf(reason, sizeof(reason), "fingerprint mismatch");
    else if (c->peer_alert[0])
        snprintf(reason, sizeof(reason), "peer sent alert: %s", c->peer_alert);
    else if (code && ERR_reason_error_string(code))
        snprintf(reason, sizeof(reason), "%s", ERR_reason_error_string(code));
    else
        snprintf(reason, sizeof(reason), "DTLS error %d", err);
    ERR_clear_error();
    conn_fail(c, reason);
}

static enum srtp_session_profile negotiated_profile(SSL *ssl)
{
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(ssl);
    if (!p)
        return SRTP_SESSION_PROFILE_NONE;
    switch (p->id) {
    case SRTP_AEAD_AES_128_GCM:
        return SRTP_SESSION_PROFILE_AEAD_AES_128_GCM;
    case SRTP_AES128_CM_SHA1_80:
        return SRTP_SESSION_PROFILE_AES128_CM_SHA1_80;
    default:
        return SRTP_SESSION_PROFILE_NONE;
    }
}

static void conn_on_handshake_done(struct dtls_conn *c)
{
    /* verify_peer already refused a wrong leaf during the handshake; this is the check of
     * record, and it also catches a handshake in which no certificate reached verify_peer. */
    if (!fingerprint_matches(c, SSL_get0_peer_certificate(c->ssl))) {
        conn_fail(c, "fingerprint mismatch");
        (void)SSL_shutdown(c->ssl);
        return;
    }
    /* RFC 5764 §4.1.1: without an agreed profile there are no SRTP keys to use. */
    if (negotiated_profile(c->ssl) == SRTP_SESSION_PROFILE_NONE) {
        conn_fail(c, "no SRTP profile agreed");
        (void)SSL_shutdown(c->ssl);
        return;
    }
    c->state = DTLS_CONNECTED;
}

/* DTLS-SRTP carries no application data (a data channel would, over SCTP, which we do not
 * offer), so any is counted and dropped. Reading still matters: it processes alerts, and a
 * retransmitted Finished makes OpenSSL send our last flight again (RFC 6347 §4.2.4). */
static void conn_read_records(struct dtls_conn *c)
{
    uint8_t scratch[2048];
    for (;;) {
        int n = SSL_read(c->ssl, scratch, sizeof(scratch));
        if (n <= 0) {
            conn_after_error(c, n);
            return;
        }
        c->ignored_app_data++;
    }
}

static void conn_step(struct dtls_conn *c)
{
    ERR_clear_error();
    if (c->state == DTLS_HANDSHAKING) {
        int rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            conn_after_error(c, rc);
            return;
        }
        conn_on_handshake_done(c);
    }
    /* Also right after the handshake: records behind the last Finished in the same datagram. */
    if (c->state == DTLS_CONNECTED)
        conn_read_records(c);
    ERR_clear_error();
}

int dtls_conn_create(struct dtls_conn **out, const struct dtls_identity *id, enum dtls_role role,
                     const uint8_t expected_peer_fp[DTLS_FINGERPRINT_LEN])
{
    if (!out || !id || !expected_peer_fp || (role != DTLS_ROLE_CLIENT && role != DTLS_ROLE_SERVER))
        return -EINVAL;
    *out = NULL;
    pthread_once(&bio_once, bio_method_init);
    if (!bio_method)
        return -EIO;
    struct dtls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->role = role;
    c->state = DTLS_HANDSHAKING;
    c->initial_rto_us = id->initial_rto_us;
    memcpy(c->expected_fp, expected_peer_fp, DTLS_FINGERPRINT_LEN);

    ERR_clear_error();
    c->ssl = SSL_new(id->ctx);
    BIO *bio = c->ssl ? BIO_new(bio_method) : NULL;
    if (!bio)
        goto err;
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio); /* the SSL owns the BIO from here */
    if (SSL_set_app_data(c->ssl, c) != 1 || SSL_set_mtu(c->ssl, DTLS_MTU) <= 0)
        goto err;
    DTLS_set_timer_cb(c->ssl, timer_callback);
    if (role == DTLS_ROLE_SERVER) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        conn_step(c); /* queues the ClientHello */
        if (c->state != DTLS_HANDSHAKING)
            goto err;
    }
    *out = c;
    return 0;
err:
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c);
    return -EIO;
}

void dtls_conn_free(struct dtls_conn *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    free(c->out);
    free(c);
}

/* After the handshake a connection is idle for the rest of the call: its outgoing ring and
 * OpenSSL's record buffers (SSL_free_buffers keeps them while they hold data) go back, and
 * come again for the one alert at the end. About 28 kB per leg. */
static void release_idle(struct dtls_conn *c)
{
    if (c->state == DTLS_HANDSHAKING || c->out_count > 0)
        return;
    free(c->out);
    c->out = NULL;
    c->out_head = 0;
    (void)SSL_free_buffers(c->ssl);
}

/* Gives a connection its record buffers back before OpenSSL reads or writes a record again:
 * OpenSSL 3.0 sets up a DTLS read buffer by itself, but not the one an alert is written in.
 * False when there is no memory for them. */
static bool take_buffers(struct dtls_conn *c)
{
    return c->state == DTLS_HANDSHAKING || SSL_alloc_buffers(c->ssl) == 1;
}

int dtls_conn_input(struct dtls_conn *c, uint64_t now_us, const uint8_t *buf, size_t len)
{
    (void)now_us; /* OpenSSL reads its own clock; see dtls_conn_next_timeout_us */
    if (!c || !buf || len == 0)
        return -EINVAL;
    if (c->state == DTLS_CLOSED || c->state == DTLS_FAILED)
        return -ENOTCONN;
    if (!take_buffers(c))
        return -ENOMEM;
    c->in_buf = buf;
    c->in_len = len;
    conn_step(c);
    c->in_buf = NULL;
    c->in_len = 0;
    return c->state == DTLS_FAILED ? -EPROTO : 0;
}

size_t dtls_conn_poll(struct dtls_conn *c, uint8_t *out, size_t cap)
{
    if (!c || !out)
        return 0;
    while (c->out_count > 0) {
        struct datagram *d = &c->out[c->out_head];
        c->out_head = (c->out_head + 1) % OUT_SLOTS;
        c->out_count--;
        if (d->len <= cap) {
            memcpy(out, d->data, d->len);
            return d->len;
        }
        c->dropped_datagrams++;
    }
    release_idle(c);
    return 0;
}

uint64_t dtls_conn_next_timeout_us(const struct dtls_conn *c, uint64_t now_us)
{
    if (!c || c->state == DTLS_CLOSED || c->state == DTLS_FAILED)
        return UINT64_MAX;
    struct timeval left;
    if (DTLSv1_get_timeout(c->ssl, &left) != 1)
        return UINT64_MAX;
    uint64_t left_us = (uint64_t)left.tv_sec * 1000000u + (uint64_t)left.tv_usec;
    return now_us > UINT64_MAX - 1 - left_us ? UINT64_MAX - 1 : now_us + left_us;
}

void dtls_conn_handle_timeout(struct dtls_conn *c, uint64_t now_us)
{
    (void)now_us;
    if (!c || (c->state != DTLS_HANDSHAKING && c->state != DTLS_CONNECTED))
        return;
    if (!take_buffers(c))
        return;
    ERR_clear_error();
    /* 0: not yet due by OpenSSL's clock; 1: the flight went out again; -1: OpenSSL gave up
     * after its limit of retransmissions. */
    if (DTLSv1_handle_timeout(c->ssl) < 0)
        conn_fail(c, "handshake timed out");
    ERR_clear_error();
}

enum dtls_state dtls_conn_state(const struct dtls_conn *c)
{
    return c->state;
}

const char *dtls_conn_error(const struct dtls_conn *c)
{
    return c->error;
}

void dtls_conn_stats(const struct dtls_conn *c, struct dtls_conn_stats *out)
{
    out->dropped_datagrams = c->dropped_datagrams;
    out->ignored_app_data = c->ignored_app_data;
}

void dtls_conn_close(struct dtls_conn *c)
{
    if (!c || c->state == DTLS_CLOSED || c->state == DTLS_FAILED)
        return;
    /* During the handshake OpenSSL has no close_notify to send; the peer times out. */
    if (c->state == DTLS_CONNECTED && take_buffers(c)) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
    c->state = DTLS_CLOSED;
    snprintf(c->error, sizeof(c->error), "closed locally");
}

int dtls_conn_srtp_keys(const struct dtls_conn *c, struct srtp_keys *out)
{
    if (!c || !out)
        return -EINVAL;
    if (c->state != DTLS_CONNECTED)
        return -ENOTCONN;
    enum srtp_session_profile profile = negotiated_profile(c->ssl);
    const size_t key_len = SRTP_SESSION_KEY_LEN;
    const size_t salt_len = profile == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM ? 12 : 14;
    uint8_t material[2 * (SRTP_SESSION_KEY_LEN + SRTP_SESSION_MAX_SALT_LEN)];
    const size_t total = 2 * (key_len + salt_len);
    ERR_clear_error();
    if (SSL_export_keying_material(c->ssl, material, total, EXPORTER_LABEL, strlen(EXPORTER_LABEL),
                                   NULL, 0, 0) != 1) {
        ERR_clear_error();
        return -EIO;
    }
    /* RFC 5764 §4.2: client_write_SRTP_master_key | server_write_SRTP_master_key |
     * client_write_SRTP_master_salt | server_write_SRTP_master_salt. */
    const uint8_t *client_key = material;
    const uint8_t *server_key = material + key_len;
    const uint8_t *client_salt = material + 2 * key_len;
    const uint8_t *server_salt = client_salt + salt_len;
    bool client = c->role == DTLS_ROLE_CLIENT;
    memset(out, 0, sizeof(*out));
    out->profile = profile;
    out->key_len = key_len;
    out->salt_len = salt_len;
    out->local_is_client = client;
    memcpy(out->local_key, client ? client_key : server_key, key_len);
    memcpy(out->local_salt, client ? client_salt : server_salt, salt_len);
    memcpy(out->remote_key, client ? server_key : client_key, key_len);
    memcpy(out->remote_salt, client ? server_salt : client_salt, salt_len);
    explicit_bzero(material, sizeof(material));
    return 0;
}
