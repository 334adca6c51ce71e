#include "balie/dtls.h"
#include "balie/srtp_session.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* The connections ignore the caller's clock except to add OpenSSL's remaining time to it. */
#define NOW 5000000u

struct pair {
    struct dtls_identity *client_id;
    struct dtls_identity *server_id;
    struct dtls_conn *client;
    struct dtls_conn *server;
};

/* Each side gets its own identity and the other's fingerprint (one byte wrong on request). */
static void pair_create(struct pair *p, uint32_t rto_us, bool client_expects_wrong,
                        bool server_expects_wrong)
{
    memset(p, 0, sizeof(*p));
    cr_assert_eq(dtls_identity_create(&p->client_id), 0);
    cr_assert_eq(dtls_identity_create(&p->server_id), 0);
    dtls_identity_set_initial_rto_us(p->client_id, rto_us);
    dtls_identity_set_initial_rto_us(p->server_id, rto_us);
    uint8_t server_fp[DTLS_FINGERPRINT_LEN], client_fp[DTLS_FINGERPRINT_LEN];
    memcpy(server_fp, dtls_identity_fingerprint_bytes(p->server_id), sizeof(server_fp));
    memcpy(client_fp, dtls_identity_fingerprint_bytes(p->client_id), sizeof(client_fp));
    if (client_expects_wrong)
        server_fp[17] ^= 0x01;
    if (server_expects_wrong)
        client_fp[31] ^= 0x80;
    cr_assert_eq(dtls_conn_create(&p->server, p->server_id, DTLS_ROLE_SERVER, client_fp), 0);
    cr_assert_eq(dtls_conn_create(&p->client, p->client_id, DTLS_ROLE_CLIENT, server_fp), 0);
}

static void pair_free(struct pair *p)
{
    dtls_conn_free(p->client);
    dtls_conn_free(p->server);
    dtls_identity_free(p->client_id);
    dtls_identity_free(p->server_id);
}

/* Moves every datagram `from` has queued into `to`; returns how many. */
static int deliver(struct dtls_conn *from, struct dtls_conn *to)
{
    uint8_t dg[2048];
    size_t n;
    int count = 0;
    while ((n = dtls_conn_poll(from, dg, sizeof(dg))) > 0) {
        cr_assert_leq(n, DTLS_MTU, "a datagram of %zu bytes exceeds the MTU", n);
        cr_assert(dg[0] >= 20 && dg[0] <= 63, "RFC 7983: a DTLS datagram starts with 20..63");
        (void)dtls_conn_input(to, NOW, dg, n);
        count++;
    }
    return count;
}

static int drop_all(struct dtls_conn *c)
{
    uint8_t dg[2048];
    int count = 0;
    while (dtls_conn_poll(c, dg, sizeof(dg)) > 0)
        count++;
    return count;
}

/* Exchanges datagrams until neither side has anything to say. */
static void pump(struct pair *p)
{
    for (int round = 0; round < 20; round++) {
        if (deliver(p->client, p->server) + deliver(p->server, p->client) == 0)
            return;
    }
    cr_assert_fail("the two sides kept talking");
}

static void assert_connected(struct pair *p)
{
    cr_assert_eq(dtls_conn_state(p->client), DTLS_CONNECTED, "client: %s",
                 dtls_conn_error(p->client));
    cr_assert_eq(dtls_conn_state(p->server), DTLS_CONNECTED, "server: %s",
                 dtls_conn_error(p->server));
}

Test(dtls, fingerprint_text_is_sdp_form)
{
    struct dtls_identity *a, *b;
    cr_assert_eq(dtls_identity_create(&a), 0);
    cr_assert_eq(dtls_identity_create(&b), 0);
    const char *text = dtls_identity_fingerprint(a);
    cr_assert_eq(strlen(text), DTLS_FINGERPRINT_TEXT_LEN);
    for (size_t i = 0; i < DTLS_FINGERPRINT_TEXT_LEN; i++) {
        if (i % 3 == 2)
            cr_assert_eq(text[i], ':');
        else
            cr_assert(strchr("0123456789ABCDEF", text[i]) != NULL, "'%c' at %zu", text[i], i);
    }
    uint8_t parsed[DTLS_FINGERPRINT_LEN];
    cr_assert_eq(dtls_fingerprint_parse(text, strlen(text), parsed), 0);
    cr_assert_eq(memcmp(parsed, dtls_identity_fingerprint_bytes(a), DTLS_FINGERPRINT_LEN), 0);
    cr_assert_neq(memcmp(dtls_identity_fingerprint_bytes(a), dtls_identity_fingerprint_bytes(b),
                         DTLS_FINGERPRINT_LEN),
                  0, "two identities share a certificate");
    dtls_identity_free(a);
    dtls_identity_free(b);
}

Test(dtls, fingerprint_parse_checks_its_input)
{
    const char *upper = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    const char *lower = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
                        "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
    uint8_t a[DTLS_FINGERPRINT_LEN], b[DTLS_FINGERPRINT_LEN];
    cr_assert_eq(dtls_fingerprint_parse(upper, strlen(upper), a), 0);
    cr_assert_eq(a[10], 0xaa);
    cr_assert_eq(a[31], 0xff);
    cr_assert_eq(dtls_fingerprint_parse(lower, strlen(lower), b), 0);
    cr_assert_eq(memcmp(a, b, sizeof(a)), 0);

    char bad[DTLS_FINGERPRINT_TEXT_LEN + 1];
    cr_assert_eq(dtls_fingerprint_parse(upper, strlen(upper) - 1, a), -EINVAL);
    memcpy(bad, upper, sizeof(bad));
    bad[2] = '-';
    cr_assert_eq(dtls_fingerprint_parse(bad, DTLS_FINGERPRINT_TEXT_LEN, a), -EINVAL);
    memcpy(bad, upper, sizeof(bad));
    bad[94] = 'G';
    cr_assert_eq(dtls_fingerprint_parse(bad, DTLS_FINGERPRINT_TEXT_LEN, a), -EINVAL);
    cr_assert_eq(dtls_fingerprint_parse(NULL, 95, a), -EINVAL);
}

Test(dtls, handshake_connects_with_gcm_and_keys_match_crosswise)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    cr_assert_eq(dtls_conn_state(p.client), DTLS_HANDSHAKING);
    pump(&p);
    assert_connected(&p);
    cr_assert_str_empty(dtls_conn_error(p.client));
    cr_assert_str_empty(dtls_conn_error(p.server));

    struct srtp_keys ck, sk;
    cr_assert_eq(dtls_conn_srtp_keys(p.client, &ck), 0);
    cr_assert_eq(dtls_conn_srtp_keys(p.server, &sk), 0);
    cr_assert_eq(ck.profile, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    cr_assert_eq(sk.profile, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM);
    cr_assert_eq(ck.key_len, 16);
    cr_assert_eq(ck.salt_len, 12);
    cr_assert(ck.local_is_client);
    cr_assert_not(sk.local_is_client);
    cr_assert_eq(memcmp(ck.local_key, sk.remote_key, 16), 0);
    cr_assert_eq(memcmp(ck.remote_key, sk.local_key, 16), 0);
    cr_assert_eq(memcmp(ck.local_salt, sk.remote_salt, 12), 0);
    cr_assert_eq(memcmp(ck.remote_salt, sk.local_salt, 12), 0);
    cr_assert_neq(memcmp(ck.local_key, ck.remote_key, 16), 0, "both directions share a key");
    pair_free(&p);
}

/* The BIO packs each flight into one datagram while it fits DTLS_MTU: ClientHello;
 * ServerHello … ServerHelloDone; Certificate … Finished; ChangeCipherSpec, Finished. */
Test(dtls, each_flight_is_one_datagram)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    cr_assert_eq(deliver(p.client, p.server), 1);
    cr_assert_eq(deliver(p.server, p.client), 1);
    cr_assert_eq(deliver(p.client, p.server), 1);
    cr_assert_eq(deliver(p.server, p.client), 1);
    assert_connected(&p);
    cr_assert_eq(deliver(p.client, p.server) + deliver(p.server, p.client), 0);
    pair_free(&p);
}

Test(dtls, exported_keys_drive_srtp_sessions)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    pump(&p);
    assert_connected(&p);
    struct srtp_keys ck, sk;
    cr_assert_eq(dtls_conn_srtp_keys(p.client, &ck), 0);
    cr_assert_eq(dtls_conn_srtp_keys(p.server, &sk), 0);
    struct srtp_session cs, ss;
    cr_assert_eq(srtp_session_init(&cs, &ck), 0);
    cr_assert_eq(srtp_session_init(&ss, &sk), 0);

    uint8_t buf[1500] = {0x80, 111, 0, 1, 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe};
    memset(buf + 12, 0x55, 100);
    size_t len = 112;
    cr_assert_eq(srtp_session_protect_rtp(&cs, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(srtp_session_unprotect_rtp(&ss, buf, &len), 0);
    cr_assert_eq(len, 112);
    cr_assert_eq(buf[60], 0x55);
    cr_assert_eq(srtp_session_protect_rtp(&ss, buf, &len, sizeof(buf)), 0);
    cr_assert_eq(srtp_session_unprotect_rtp(&cs, buf, &len), 0);
    srtp_session_free(&cs);
    srtp_session_free(&ss);
    pair_free(&p);
}

Test(dtls, keys_need_a_connection)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    struct srtp_keys k;
    cr_assert_eq(dtls_conn_srtp_keys(p.client, &k), -ENOTCONN);
    cr_assert_eq(dtls_conn_srtp_keys(p.server, &k), -ENOTCONN);
    cr_assert_eq(dtls_conn_input(p.server, NOW, NULL, 10), -EINVAL);
    uint8_t one = 22;
    cr_assert_eq(dtls_conn_input(p.server, NOW, &one, 0), -EINVAL);
    pair_free(&p);
}

Test(dtls, wrong_fingerprint_fails_at_the_client)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, true, false);
    pump(&p);
    cr_assert_eq(dtls_conn_state(p.client), DTLS_FAILED);
    cr_assert_str_eq(dtls_conn_error(p.client), "fingerprint mismatch");
    /* The client's bad_certificate alert tells the server at once. */
    cr_assert_eq(dtls_conn_state(p.server), DTLS_FAILED);
    cr_assert(strstr(dtls_conn_error(p.server), "alert") != NULL, "server: %s",
              dtls_conn_error(p.server));
    struct srtp_keys k;
    cr_assert_eq(dtls_conn_srtp_keys(p.client, &k), -ENOTCONN);
    uint8_t dg[16] = {22};
    cr_assert_eq(dtls_conn_input(p.client, NOW, dg, sizeof(dg)), -ENOTCONN);
    cr_assert_eq(dtls_conn_next_timeout_us(p.client, NOW), UINT64_MAX);
    pair_free(&p);
}

Test(dtls, wrong_fingerprint_fails_at_the_server)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, true);
    pump(&p);
    cr_assert_eq(dtls_conn_state(p.server), DTLS_FAILED);
    cr_assert_str_eq(dtls_conn_error(p.server), "fingerprint mismatch");
    cr_assert_eq(dtls_conn_state(p.client), DTLS_FAILED, "client: %s", dtls_conn_error(p.client));
    cr_assert(strstr(dtls_conn_error(p.client), "alert") != NULL, "client: %s",
              dtls_conn_error(p.client));
    pair_free(&p);
}

/* The handshake type of the first record of a datagram (RFC 6347 §4.1 and §4.2.2: a 13-byte
 * record header, then the handshake header), or -1 when it is not a handshake record. */
static int first_handshake_type(const uint8_t *dg, size_t len)
{
    if (len < 14 || dg[0] != 22)
        return -1;
    return dg[13];
}

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The event loop's part, with the shortest timeout OpenSSL allows: OpenSSL 3.0 keeps the
 * retransmission timer on its own wall clock, so this waits (about 20 ms at most) until the
 * deadline the connection reports, then hands it the timeout. */
static void run_timer(struct dtls_conn *c)
{
    uint64_t now = monotonic_us();
    uint64_t due = dtls_conn_next_timeout_us(c, now);
    cr_assert_neq(due, UINT64_MAX, "no retransmission timer runs");
    cr_assert_leq(due, now + DTLS_MIN_RTO_US, "the deadline is %llu us away",
                  (unsigned long long)(due - now));
    if (due > now) {
        struct timespec ts = {0, (long)(due - now) * 1000};
        nanosleep(&ts, NULL);
    }
    dtls_conn_handle_timeout(c, due);
}

Test(dtls, lost_client_hello_is_retransmitted_by_the_timer)
{
    struct pair p;
    pair_create(&p, DTLS_MIN_RTO_US, false, false);
    cr_assert_eq(drop_all(p.client), 1, "the ClientHello is lost");
    uint8_t dg[2048];
    cr_assert_eq(dtls_conn_poll(p.client, dg, sizeof(dg)), 0, "nothing without the timer");
    run_timer(p.client);
    size_t n = dtls_conn_poll(p.client, dg, sizeof(dg));
    cr_assert_gt(n, 0, "the timer retransmitted nothing");
    cr_assert_eq(first_handshake_type(dg, n), 1, "a ClientHello again");
    cr_assert_eq(dtls_conn_input(p.server, NOW, dg, n), 0);
    pump(&p);
    assert_connected(&p);
    pair_free(&p);
}

Test(dtls, lost_server_flight_is_retransmitted_by_the_timer)
{
    struct pair p;
    pair_create(&p, DTLS_MIN_RTO_US, false, false);
    cr_assert_gt(deliver(p.client, p.server), 0);
    cr_assert_gt(drop_all(p.server), 0, "ServerHello … ServerHelloDone are lost");
    cr_assert_eq(dtls_conn_state(p.server), DTLS_HANDSHAKING);
    run_timer(p.server);
    uint8_t dg[2048];
    size_t n = dtls_conn_poll(p.server, dg, sizeof(dg));
    cr_assert_gt(n, 0, "the timer retransmitted nothing");
    cr_assert_eq(first_handshake_type(dg, n), 2, "a ServerHello again");
    cr_assert_eq(dtls_conn_input(p.client, NOW, dg, n), 0);
    pump(&p);
    assert_connected(&p);
    pair_free(&p);
}

/* The client's last flight (Certificate … Finished) is lost: the server never answers, so only
 * the client's timer can bring it back. */
Test(dtls, lost_client_finished_is_retransmitted_by_the_timer)
{
    struct pair p;
    pair_create(&p, DTLS_MIN_RTO_US, false, false);
    cr_assert_gt(deliver(p.client, p.server), 0);
    cr_assert_gt(deliver(p.server, p.client), 0);
    cr_assert_gt(drop_all(p.client), 0);
    cr_assert_eq(dtls_conn_state(p.client), DTLS_HANDSHAKING);
    run_timer(p.client);
    cr_assert_gt(deliver(p.client, p.server), 0, "the timer retransmitted nothing");
    pump(&p);
    assert_connected(&p);
    pair_free(&p);
}

/* The server's last flight (ChangeCipherSpec, Finished) is lost after the server is connected
 * and has given its idle buffers back: the client's retransmitted Finished must still get an
 * answer, and the connection must still close cleanly. */
Test(dtls, lost_server_finished_is_answered_by_an_idle_server)
{
    struct pair p;
    pair_create(&p, DTLS_MIN_RTO_US, false, false);
    cr_assert_gt(deliver(p.client, p.server), 0);
    cr_assert_gt(deliver(p.server, p.client), 0);
    cr_assert_gt(deliver(p.client, p.server), 0);
    cr_assert_eq(dtls_conn_state(p.server), DTLS_CONNECTED);
    cr_assert_gt(drop_all(p.server), 0, "the server's Finished is lost");
    cr_assert_eq(dtls_conn_state(p.client), DTLS_HANDSHAKING);
    run_timer(p.client);
    cr_assert_gt(deliver(p.client, p.server), 0, "the client's timer retransmitted nothing");
    cr_assert_gt(deliver(p.server, p.client), 0, "the idle server did not answer");
    assert_connected(&p);
    dtls_conn_close(p.server);
    cr_assert_gt(deliver(p.server, p.client), 0, "no close_notify from the idle server");
    cr_assert_eq(dtls_conn_state(p.client), DTLS_CLOSED);
    pair_free(&p);
}

Test(dtls, initial_rto_has_a_floor)
{
    struct pair p;
    pair_create(&p, 0, false, false);
    cr_assert_eq(drop_all(p.client), 1, "one ClientHello, not a burst of retransmissions");
    cr_assert_eq(dtls_conn_state(p.client), DTLS_HANDSHAKING, "%s", dtls_conn_error(p.client));
    pair_free(&p);
}

/* With the real 1 s timeout the deadline is about a second after `now`, and a call before the
 * deadline sends nothing. */
Test(dtls, timer_reports_the_deadline_in_the_callers_timebase)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    cr_assert_gt(drop_all(p.client), 0);
    uint64_t due = dtls_conn_next_timeout_us(p.client, NOW);
    cr_assert_gt(due, NOW + 800000u, "due at %llu", (unsigned long long)due);
    cr_assert_leq(due, NOW + DTLS_INITIAL_RTO_US);
    dtls_conn_handle_timeout(p.client, NOW);
    uint8_t dg[2048];
    cr_assert_eq(dtls_conn_poll(p.client, dg, sizeof(dg)), 0, "retransmitted too early");
    cr_assert_eq(dtls_conn_next_timeout_us(p.server, NOW), UINT64_MAX, "an idle server waits");
    pair_free(&p);
}

Test(dtls, no_timer_once_connected)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    pump(&p);
    assert_connected(&p);
    cr_assert_eq(dtls_conn_next_timeout_us(p.client, NOW), UINT64_MAX);
    cr_assert_eq(dtls_conn_next_timeout_us(p.server, NOW), UINT64_MAX);
    pair_free(&p);
}

/* Captures the client's first flight so it can be cut up. */
static size_t take_client_hello(struct pair *p, uint8_t *out, size_t cap)
{
    size_t n = dtls_conn_poll(p->client, out, cap);
    cr_assert_gt(n, 13);
    cr_assert_eq(first_handshake_type(out, n), 1);
    return n;
}

Test(dtls, truncated_records_are_dropped_and_the_handshake_goes_on)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    uint8_t hello[2048];
    size_t n = take_client_hello(&p, hello, sizeof(hello));
    for (size_t cut = 1; cut < n; cut++) {
        cr_assert_eq(dtls_conn_input(p.server, NOW, hello, cut), 0);
        cr_assert_eq(dtls_conn_state(p.server), DTLS_HANDSHAKING, "cut at %zu: %s", cut,
                     dtls_conn_error(p.server));
        uint8_t dg[2048];
        cr_assert_eq(dtls_conn_poll(p.server, dg, sizeof(dg)), 0, "answered a cut record");
    }
    /* A record whose length field claims more than the datagram holds. */
    uint8_t lying[64];
    memcpy(lying, hello, sizeof(lying));
    lying[11] = 0xff, lying[12] = 0xff;
    cr_assert_eq(dtls_conn_input(p.server, NOW, lying, sizeof(lying)), 0);
    cr_assert_eq(dtls_conn_state(p.server), DTLS_HANDSHAKING);

    cr_assert_eq(dtls_conn_input(p.server, NOW, hello, n), 0);
    pump(&p);
    assert_connected(&p);
    pair_free(&p);
}

Test(dtls, garbage_does_not_crash_or_connect)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    uint8_t hello[2048];
    size_t hello_len = take_client_hello(&p, hello, sizeof(hello));
    srand(1234);
    uint8_t junk[1500];
    for (int i = 0; i < 300; i++) {
        size_t len = 1 + (size_t)rand() % sizeof(junk);
        for (size_t j = 0; j < len; j++)
            junk[j] = (uint8_t)rand();
        junk[0] = (uint8_t)(20 + i % 44); /* past the caller's demultiplexing */
        if (i % 3 == 0 && len > 13) {
            /* A well-formed DTLS 1.2 header over random contents. */
            junk[0] = 22, junk[1] = 0xfe, junk[2] = 0xfd;
            junk[11] = (uint8_t)((len - 13) >> 8), junk[12] = (uint8_t)(len - 13);
        }
        (void)dtls_conn_input(p.server, NOW, junk, len);
        cr_assert_neq(dtls_conn_state(p.server), DTLS_CONNECTED);
        drop_all(p.server);
    }
    /* A server that failed on junk stays failed; one that dropped it still connects. */
    if (dtls_conn_state(p.server) == DTLS_HANDSHAKING) {
        cr_assert_eq(dtls_conn_input(p.server, NOW, hello, hello_len), 0);
        pump(&p);
        assert_connected(&p);
    }
    pair_free(&p);
}

Test(dtls, garbage_after_the_handshake_is_dropped)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    pump(&p);
    assert_connected(&p);
    srand(99);
    uint8_t junk[300];
    for (int i = 0; i < 200; i++) {
        for (size_t j = 0; j < sizeof(junk); j++)
            junk[j] = (uint8_t)rand();
        junk[0] = (uint8_t)(20 + i % 4); /* CCS, alert, handshake, application data */
        junk[1] = 0xfe, junk[2] = 0xfd;
        junk[11] = (uint8_t)((sizeof(junk) - 13) >> 8), junk[12] = (uint8_t)(sizeof(junk) - 13);
        cr_assert_eq(dtls_conn_input(p.client, NOW, junk, sizeof(junk)), 0);
        cr_assert_eq(dtls_conn_state(p.client), DTLS_CONNECTED, "%s", dtls_conn_error(p.client));
    }
    pair_free(&p);
}

Test(dtls, close_notify_closes_the_peer)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    pump(&p);
    assert_connected(&p);
    dtls_conn_close(p.client);
    cr_assert_eq(dtls_conn_state(p.client), DTLS_CLOSED);
    uint8_t dg[2048];
    size_t n = dtls_conn_poll(p.client, dg, sizeof(dg));
    cr_assert_gt(n, 0, "no close_notify sent");
    cr_assert_eq(dg[0], 21, "an alert record");
    cr_assert_eq(dtls_conn_input(p.server, NOW, dg, n), 0);
    cr_assert_eq(dtls_conn_state(p.server), DTLS_CLOSED, "server: %s", dtls_conn_error(p.server));
    cr_assert_str_eq(dtls_conn_error(p.server), "closed by peer");
    /* The server answers with its own close_notify; the closed client ignores it. */
    n = dtls_conn_poll(p.server, dg, sizeof(dg));
    cr_assert_gt(n, 0);
    cr_assert_eq(dtls_conn_input(p.client, NOW, dg, n), -ENOTCONN);
    struct srtp_keys k;
    cr_assert_eq(dtls_conn_srtp_keys(p.server, &k), -ENOTCONN);
    pair_free(&p);
}

Test(dtls, poll_drops_a_datagram_that_does_not_fit)
{
    struct pair p;
    pair_create(&p, DTLS_INITIAL_RTO_US, false, false);
    uint8_t small[8];
    cr_assert_eq(dtls_conn_poll(p.client, small, sizeof(small)), 0);
    uint8_t dg[2048];
    cr_assert_eq(dtls_conn_poll(p.client, dg, sizeof(dg)), 0, "the ClientHello was dropped");
    struct dtls_conn_stats st;
    dtls_conn_stats(p.client, &st);
    cr_assert_eq(st.dropped_datagrams, 1);
    pair_free(&p);
}

/* Two identities made once, shared by connections on several threads at the same time. */
struct shared_ids {
    struct dtls_identity *client_id;
    struct dtls_identity *server_id;
    int connected;
};

static void *handshakes_on_shared_identities(void *arg)
{
    struct shared_ids *ids = arg;
    for (int i = 0; i < 5; i++) {
        struct pair p = {.client_id = ids->client_id, .server_id = ids->server_id};
        if (dtls_conn_create(&p.server, p.server_id, DTLS_ROLE_SERVER,
                             dtls_identity_fingerprint_bytes(p.client_id)) != 0 ||
            dtls_conn_create(&p.client, p.client_id, DTLS_ROLE_CLIENT,
                             dtls_identity_fingerprint_bytes(p.server_id)) != 0)
            return NULL;
        for (int round = 0; round < 10; round++) {
            uint8_t dg[2048];
            size_t n;
            while ((n = dtls_conn_poll(p.client, dg, sizeof(dg))) > 0)
                (void)dtls_conn_input(p.server, NOW, dg, n);
            while ((n = dtls_conn_poll(p.server, dg, sizeof(dg))) > 0)
                (void)dtls_conn_input(p.client, NOW, dg, n);
        }
        if (dtls_conn_state(p.client) == DTLS_CONNECTED &&
            dtls_conn_state(p.server) == DTLS_CONNECTED)
            __atomic_add_fetch(&ids->connected, 1, __ATOMIC_RELAXED);
        dtls_conn_free(p.client);
        dtls_conn_free(p.server);
    }
    return NULL;
}

Test(dtls, identities_are_shared_across_threads)
{
    struct shared_ids ids = {0};
    cr_assert_eq(dtls_identity_create(&ids.client_id), 0);
    cr_assert_eq(dtls_identity_create(&ids.server_id), 0);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&threads[i], NULL, handshakes_on_shared_identities, &ids), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    cr_assert_eq(ids.connected, 15);
    dtls_identity_free(ids.client_id);
    dtls_identity_free(ids.server_id);
}

/* ---- An independent DTLS client, as a browser would be ----
 *
 * Plain OpenSSL with memory BIOs, its own key and certificate, and its own checks: nothing of
 * gateway/dtls.c is used on this side. */

struct plain_client {
    EVP_PKEY *key;
    X509 *cert;
    uint8_t fp[DTLS_FINGERPRINT_LEN];
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio;
    BIO *wbio;
    size_t largest_write; /* what OpenSSL handed its BIO at once, i.e. a datagram */
    size_t writes;
};

static long record_write_size(BIO *bio, int oper, const char *argp, size_t len, int argi, long argl,
                              int ret, size_t *processed)
{
    struct plain_client *pc = (struct plain_client *)BIO_get_callback_arg(bio);
    if (oper != (BIO_CB_WRITE | BIO_CB_RETURN) || ret <= 0 || !processed)
        return ret;
    pc->writes++;
    if (*processed > pc->largest_write)
        pc->largest_write = *processed;
    return ret;
}

static int accept_any_certificate(int ok, X509_STORE_CTX *store)
{
    return 1;
}

/* `rsa`: a 3072-bit RSA key, whose certificate makes the client's second flight longer than
 * one datagram, as some browsers' do. */
static void plain_client_init(struct plain_client *pc, const char *srtp_profiles, bool rsa)
{
    memset(pc, 0, sizeof(*pc));
    pc->key = rsa ? EVP_RSA_gen(3072) : EVP_EC_gen("P-256");
    cr_assert_not_null(pc->key);
    pc->cert = X509_new();
    cr_assert_not_null(pc->cert);
    ASN1_INTEGER_set(X509_get_serialNumber(pc->cert), 4242);
    X509_gmtime_adj(X509_getm_notBefore(pc->cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(pc->cert), 3600);
    X509_NAME *name = X509_get_subject_name(pc->cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"browser", -1, -1,
                               0);
    X509_set_issuer_name(pc->cert, name);
    X509_set_pubkey(pc->cert, pc->key);
    cr_assert_gt(X509_sign(pc->cert, pc->key, EVP_sha256()), 0);
    unsigned int n = 0;
    cr_assert_eq(X509_digest(pc->cert, EVP_sha256(), pc->fp, &n), 1);

    pc->ctx = SSL_CTX_new(DTLS_client_method());
    cr_assert_not_null(pc->ctx);
    cr_assert_eq(SSL_CTX_use_certificate(pc->ctx, pc->cert), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey(pc->ctx, pc->key), 1);
    if (srtp_profiles)
        cr_assert_eq(SSL_CTX_set_tlsext_use_srtp(pc->ctx, srtp_profiles), 0);
    SSL_CTX_set_verify(pc->ctx, SSL_VERIFY_PEER, accept_any_certificate);
    pc->ssl = SSL_new(pc->ctx);
    pc->rbio = BIO_new(BIO_s_mem());
    pc->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(pc->rbio, -1);
    BIO_set_callback_arg(pc->wbio, (char *)pc);
    BIO_set_callback_ex(pc->wbio, record_write_size);
    SSL_set_bio(pc->ssl, pc->rbio, pc->wbio);
    SSL_set_options(pc->ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(pc->ssl, 1200);
    SSL_set_connect_state(pc->ssl);
}

static void plain_client_free(struct plain_client *pc)
{
    SSL_free(pc->ssl);
    SSL_CTX_free(pc->ctx);
    X509_free(pc->cert);
    EVP_PKEY_free(pc->key);
    ERR_clear_error();
}

/* A memory BIO glues records together; a browser sends them as datagrams. Each record goes to
 * the server as its own datagram. Returns how many. */
static int plain_client_send(struct plain_client *pc, struct dtls_conn *server)
{
    uint8_t buf[16384];
    int n = BIO_read(pc->wbio, buf, sizeof(buf));
    if (n <= 0)
        return 0;
    size_t off = 0, total = (size_t)n;
    int count = 0;
    while (off + 13 <= total) {
        size_t rec = 13 + (((size_t)buf[off + 11] << 8) | buf[off + 12]);
        cr_assert_leq(off + rec, total);
        (void)dtls_conn_input(server, NOW, buf + off, rec);
        off += rec;
        count++;
    }
    cr_assert_eq(off, total);
    return count;
}

/* Runs the handshake until it settles; returns SSL_do_handshake's last result. */
static int plain_client_pump(struct plain_client *pc, struct dtls_conn *server)
{
    int rc = 0;
    for (int round = 0; round < 20; round++) {
        rc = SSL_do_handshake(pc->ssl);
        int moved = plain_client_send(pc, server);
        uint8_t dg[2048];
        size_t n;
        while ((n = dtls_conn_poll(server, dg, sizeof(dg))) > 0) {
            cr_assert_leq(n, DTLS_MTU);
            cr_assert_eq(BIO_write(pc->rbio, dg, (int)n), (int)n);
            moved++;
        }
        if (moved == 0)
            break;
    }
    return rc;
}

/* The server as the client sees it: fingerprint recomputed here, and the certificate that
 * dtls_identity_create promised (ECDSA P-256, SHA-256, CN "balie", 30 days, random serial). */
static void check_server_certificate(struct plain_client *pc, const struct dtls_identity *id)
{
    X509 *cert = SSL_get0_peer_certificate(pc->ssl);
    cr_assert_not_null(cert);
    uint8_t fp[DTLS_FINGERPRINT_LEN];
    unsigned int n = 0;
    cr_assert_eq(X509_digest(cert, EVP_sha256(), fp, &n), 1);
    cr_assert_eq(memcmp(fp, dtls_identity_fingerprint_bytes(id), sizeof(fp)), 0);

    EVP_PKEY *pub = X509_get0_pubkey(cert);
    cr_assert_eq(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    char group[32];
    size_t group_len = 0;
    cr_assert_eq(EVP_PKEY_get_group_name(pub, group, sizeof(group), &group_len), 1);
    cr_assert_str_eq(group, "prime256v1");
    cr_assert_eq(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);

    char cn[32];
    cr_assert_gt(
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)), 0);
    cr_assert_str_eq(cn, "balie");

    int days = 0, secs = 0;
    cr_assert_eq(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)), 1);
    cr_assert(days == 29 || days == 30, "valid for %d more days", days);
    cr_assert_lt(X509_cmp_current_time(X509_get0_notBefore(cert)), 0, "not valid yet");

    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    cr_assert_not_null(serial);
    cr_assert_not(BN_is_negative(serial));
    cr_assert_geq(BN_num_bits(serial), 64, "serial of %d bits", BN_num_bits(serial));
    BN_free(serial);
}

/* Compares our server's keys with what the independent client exports itself. */
static void check_keys_against_client(struct plain_client *pc, struct dtls_conn *server,
                                      enum srtp_session_profile profile, size_t salt_len)
{
    struct srtp_keys sk;
    cr_assert_eq(dtls_conn_srtp_keys(server, &sk), 0);
    cr_assert_eq(sk.profile, profile);
    cr_assert_eq(sk.salt_len, salt_len);
    cr_assert_not(sk.local_is_client);
    const SRTP_PROTECTION_PROFILE *chosen = SSL_get_selected_srtp_profile(pc->ssl);
    cr_assert_not_null(chosen);
    cr_assert_eq(chosen->id, (unsigned long)profile);

    uint8_t m[60];
    size_t total = 2 * (16 + salt_len);
    cr_assert_eq(
        SSL_export_keying_material(pc->ssl, m, total, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0), 1);
    /* RFC 5764 §4.2: client key, server key, client salt, server salt. */
    cr_assert_eq(memcmp(sk.remote_key, m, 16), 0);
    cr_assert_eq(memcmp(sk.local_key, m + 16, 16), 0);
    cr_assert_eq(memcmp(sk.remote_salt, m + 32, salt_len), 0);
    cr_assert_eq(memcmp(sk.local_salt, m + 32 + salt_len, salt_len), 0);
}

static void run_plain_client(const char *profiles, enum srtp_session_profile expected,
                             size_t salt_len)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct plain_client pc;
    plain_client_init(&pc, profiles, false);
    struct dtls_conn *server;
    cr_assert_eq(dtls_conn_create(&server, id, DTLS_ROLE_SERVER, pc.fp), 0);
    cr_assert_eq(plain_client_pump(&pc, server), 1, "client handshake did not finish");
    cr_assert_eq(dtls_conn_state(server), DTLS_CONNECTED, "%s", dtls_conn_error(server));
    check_server_certificate(&pc, id);
    check_keys_against_client(&pc, server, expected, salt_len);
    dtls_conn_free(server);
    plain_client_free(&pc);
    dtls_identity_free(id);
}

Test(dtls, plain_openssl_client_with_cm_sha1_80_only)
{
    run_plain_client("SRTP_AES128_CM_SHA1_80", SRTP_SESSION_PROFILE_AES128_CM_SHA1_80, 14);
}

/* RFC 5764 §4.1.1: the server picks; ours prefers GCM even when the client lists it second. */
Test(dtls, plain_openssl_client_gets_gcm_by_server_preference)
{
    run_plain_client("SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM",
                     SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, 12);
}

Test(dtls, plain_openssl_client_without_use_srtp_is_refused)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct plain_client pc;
    plain_client_init(&pc, NULL, false);
    struct dtls_conn *server;
    cr_assert_eq(dtls_conn_create(&server, id, DTLS_ROLE_SERVER, pc.fp), 0);
    (void)plain_client_pump(&pc, server);
    cr_assert_eq(dtls_conn_state(server), DTLS_FAILED);
    cr_assert_str_eq(dtls_conn_error(server), "no SRTP profile agreed");
    dtls_conn_free(server);
    plain_client_free(&pc);
    dtls_identity_free(id);
}

Test(dtls, plain_openssl_client_with_an_unexpected_certificate_is_refused)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct plain_client pc;
    plain_client_init(&pc, "SRTP_AEAD_AES_128_GCM", false);
    uint8_t other[DTLS_FINGERPRINT_LEN];
    memcpy(other, pc.fp, sizeof(other));
    other[0] ^= 0xff; /* the SDP announced another certificate */
    struct dtls_conn *server;
    cr_assert_eq(dtls_conn_create(&server, id, DTLS_ROLE_SERVER, other), 0);
    cr_assert_neq(plain_client_pump(&pc, server), 1, "the client thinks it connected");
    cr_assert_eq(dtls_conn_state(server), DTLS_FAILED);
    cr_assert_str_eq(dtls_conn_error(server), "fingerprint mismatch");
    dtls_conn_free(server);
    plain_client_free(&pc);
    dtls_identity_free(id);
}

/* The client's Certificate … Finished flight no longer fits one datagram: OpenSSL cuts it at
 * the MTU (the behaviour our BIO relies on for our own flights), and our server puts the
 * fragments back together. */
Test(dtls, plain_openssl_client_with_a_flight_longer_than_the_mtu)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct plain_client pc;
    plain_client_init(&pc, "SRTP_AEAD_AES_128_GCM", true);
    struct dtls_conn *server;
    cr_assert_eq(dtls_conn_create(&server, id, DTLS_ROLE_SERVER, pc.fp), 0);
    cr_assert_eq(plain_client_pump(&pc, server), 1, "client handshake did not finish");
    cr_assert_eq(dtls_conn_state(server), DTLS_CONNECTED, "%s", dtls_conn_error(server));
    cr_assert_leq(pc.largest_write, 1200, "OpenSSL wrote %zu bytes at once", pc.largest_write);
    /* The ClientHello, then the long flight in at least two pieces. */
    cr_assert_geq(pc.writes, 3, "%zu writes", pc.writes);
    check_keys_against_client(&pc, server, SRTP_SESSION_PROFILE_AEAD_AES_128_GCM, 12);
    dtls_conn_free(server);
    plain_client_free(&pc);
    dtls_identity_free(id);
}
