/* DTLS 1.2 for DTLS-SRTP (RFC 5763, RFC 5764) as a sans-IO core: no socket, no thread, no
 * timer of its own. Datagrams go in with dtls_conn_input(), come out with dtls_conn_poll(), and
 * the caller's event loop asks dtls_conn_next_timeout_us() when to call
 * dtls_conn_handle_timeout().
 *
 * Trust: the peer's certificate is self-signed, as WebRTC's always are. It is trusted when, and
 * only when, its SHA-256 fingerprint equals the one the peer announced in its SDP
 * (RFC 5763 §5; RFC 8122 §5).
 *
 * Threads: an identity is made once at start and then shared, read-only, by connections on any
 * number of threads (its SSL_CTX is never changed after dtls_identity_create returns, which is
 * what OpenSSL requires for sharing one). A connection belongs to one thread at a time. */
#ifndef BALIE_DTLS_H
#define BALIE_DTLS_H

#include <stddef.h>
#include <stdint.h>

struct srtp_keys; /* balie/srtp_session.h */

#define DTLS_FINGERPRINT_LEN 32      /* SHA-256 */
#define DTLS_FINGERPRINT_TEXT_LEN 95 /* "AB:CD:…": 32 hex pairs and 31 colons, no NUL */

/* Largest datagram dtls_conn_poll() produces. Handshake flights are cut to fit it, so a flight
 * crosses any path that carries a 1280-byte IPv6 packet. */
#define DTLS_MTU 1200

/* Initial retransmission timeout; it doubles on every retransmission up to 60 s
 * (RFC 6347 §4.2.4.1). */
#define DTLS_INITIAL_RTO_US 1000000u

/* OpenSSL counts a timer with less than 15 ms left as expired, and checks it whenever a read
 * finds no data: a shorter timeout would retransmit on every read until OpenSSL gives up. */
#define DTLS_MIN_RTO_US 20000u

/* setup:active in the browser's answer makes us the server; setup:passive makes us the client
 * (RFC 5763 §5). */
enum dtls_role { DTLS_ROLE_CLIENT, DTLS_ROLE_SERVER };

enum dtls_state {
    DTLS_HANDSHAKING,
    DTLS_CONNECTED, /* handshake done, fingerprint checked, SRTP profile agreed */
    DTLS_CLOSED,    /* close_notify sent or received */
    DTLS_FAILED,    /* see dtls_conn_error() */
};

struct dtls_identity;
struct dtls_conn;

/* Makes an ECDSA P-256 key and a self-signed certificate for it (CN "balie", random serial,
 * valid from an hour ago for 30 days), and the SSL_CTX every connection of this identity uses.
 * Returns 0, or -ENOMEM / -EIO (OpenSSL failed). */
int dtls_identity_create(struct dtls_identity **out);

/* Connections made from `id` keep what they need, so it may be freed before them. */
void dtls_identity_free(struct dtls_identity *id);

/* "AB:CD:…", upper-case as RFC 8122 §5 writes it, for a=fingerprint:sha-256. Lives as long as
 * the identity. */
const char *dtls_identity_fingerprint(const struct dtls_identity *id);

/* The same fingerprint as DTLS_FINGERPRINT_LEN raw bytes. */
const uint8_t *dtls_identity_fingerprint_bytes(const struct dtls_identity *id);

/* Sets the initial retransmission timeout of the connections made from now on; values below
 * DTLS_MIN_RTO_US are raised to it. Not synchronised: call it before sharing the identity. */
void dtls_identity_set_initial_rto_us(struct dtls_identity *id, uint32_t rto_us);

/* Parses the value of an SDP fingerprint in the "AB:CD:…" form (either case), exactly
 * DTLS_FINGERPRINT_TEXT_LEN characters. Returns 0, or -EINVAL. */
int dtls_fingerprint_parse(const char *text, size_t len, uint8_t out[DTLS_FINGERPRINT_LEN]);

/* Makes a connection that will accept only a peer whose certificate has the SHA-256
 * fingerprint `expected_peer_fp` (copied). A client queues its ClientHello at once: poll it.
 * Returns 0, or -EINVAL / -ENOMEM / -EIO. */
int dtls_conn_create(struct dtls_conn **out, const struct dtls_identity *id, enum dtls_role role,
                     const uint8_t expected_peer_fp[DTLS_FINGERPRINT_LEN]);

void dtls_conn_free(struct dtls_conn *c);

/* Feeds one received datagram: one or more DTLS records, the caller having demultiplexed on the
 * first byte (20..63, RFC 7983 §7). `buf` is read during the call only. Records that do not
 * parse or authenticate are dropped, as DTLS does (RFC 6347 §4.1.2.7), without changing the
 * state. Afterwards, poll for what to send. Returns 0; -EINVAL for a NULL or empty buffer;
 * -ENOTCONN when the connection was already closed or failed (the datagram is ignored);
 * -EPROTO when this datagram made it fail (dtls_conn_error() says why). */
int dtls_conn_input(struct dtls_conn *c, uint64_t now_us, const uint8_t *buf, size_t len);

/* Copies the next datagram to send into `out` and returns its length, or 0 when there is none.
 * `cap` should be at least DTLS_MTU; a datagram that does not fit is dropped (DTLS recovers it
 * as a lost packet) and the next one is tried. Keep polling until it returns 0. */
size_t dtls_conn_poll(struct dtls_conn *c, uint8_t *out, size_t cap);

/* When dtls_conn_handle_timeout() should next be called, in the timebase of `now_us`, or
 * UINT64_MAX when no timer runs.
 *
 * OpenSSL 3.0 keeps its retransmission timer on the wall clock (gettimeofday) and offers no way
 * to give it another one. This function reads how much time OpenSSL thinks is left and adds it
 * to `now_us`; with a monotonic `now_us` the two clocks move together, so the deadline is right
 * to within the 15 ms OpenSSL itself allows. */
uint64_t dtls_conn_next_timeout_us(const struct dtls_conn *c, uint64_t now_us);

/* Retransmits the last flight if its timer has run out (by OpenSSL's clock: an early call does
 * nothing). After too many retransmissions the connection fails with "handshake timed out". */
void dtls_conn_handle_timeout(struct dtls_conn *c, uint64_t now_us);

enum dtls_state dtls_conn_state(const struct dtls_conn *c);

/* Why the connection failed or closed ("fingerprint mismatch", "peer sent alert: …", …), or
 * "" while nothing went wrong. Lives as long as the connection. */
const char *dtls_conn_error(const struct dtls_conn *c);

/* Counters for /metrics; nothing here is logged per packet. */
struct dtls_conn_stats {
    uint64_t dropped_datagrams; /* outgoing: queue full, or larger than the poll buffer */
    uint64_t ignored_app_data;  /* incoming application-data records (DTLS-SRTP has none) */
};

void dtls_conn_stats(const struct dtls_conn *c, struct dtls_conn_stats *out);

/* Sends close_notify (RFC 5246 §7.2.1) when connected, and moves to DTLS_CLOSED. Poll
 * afterwards to get the alert out. */
void dtls_conn_close(struct dtls_conn *c);

/* Fills `out` with the SRTP master keys and salts (RFC 5764 §4.2) for the negotiated profile:
 * AEAD_AES_128_GCM is offered first, then AES128_CM_SHA1_80. Returns 0, or -ENOTCONN before
 * DTLS_CONNECTED, -EIO if OpenSSL cannot export. */
int dtls_conn_srtp_keys(const struct dtls_conn *c, struct srtp_keys *out);

#endif
