/* libFuzzer harness for gateway/dtls.c, and for the leg and demultiplexer around it.
 *
 * Input: one flags byte, then datagrams, each preceded by a 2-byte big-endian length.
 *   bit 0: the connection plays DTLS client (else server)
 *   bit 1: run the retransmission timer after every datagram
 *   bit 2: also hand every datagram to a leg through udp_mux_dispatch, from an address a valid
 *          check bound, so the leg's DTLS, early queue and SRTP paths see junk too
 * Nothing may crash, leak or write a datagram larger than the DTLS MTU; junk must never
 * complete a handshake (it cannot show a certificate with our fingerprint and sign for it). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "balie/dtls.h"
#include "balie/leg.h"
#include "balie/srtp_session.h"
#include "balie/stun.h"
#include "balie/udp_mux.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define NOW 1000000000ull

static struct dtls_identity *identity;

static void io_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
                    socklen_t to_len)
{
    (void)ctx;
    (void)to;
    (void)to_len;
    CHECK(len > 0 && len <= DTLS_MTU + 300);
    (void)buf;
}

static void io_state(void *ctx, struct leg *leg, enum media_leg_state state,
                     enum media_fail_stage stage)
{
    (void)ctx;
    (void)leg;
    CHECK(state != MEDIA_LEG_DTLS_CONNECTED);
    (void)stage;
}

static void io_bind(void *ctx, struct leg *leg, const struct ice_addr *addr, bool bound)
{
    struct udp_mux *m = ctx;
    if (bound)
        CHECK(udp_mux_bind_addr(m, addr, leg) == 0);
    else
        udp_mux_unbind_addr(m, addr, leg);
}

/* A leg with an answer whose browser validated 192.0.2.1:5000 with a nominating check. */
static struct leg *leg_setup(struct udp_mux *m, const struct leg_io *io, bool client,
                             struct sockaddr_in *from)
{
    struct media_leg_params p = {.leg_id = 1, .audio_ssrc = 11, .video_ssrc = 12};
    strcpy(p.ice_ufrag, "FuzzUfrg");
    strcpy(p.ice_pwd, "FuzzPasswordFuzzPassword");
    struct leg *l = NULL;
    CHECK(leg_create(&l, &p, identity, NOW) == 0);
    CHECK(udp_mux_add_ufrag(m, p.ice_ufrag, strlen(p.ice_ufrag), l) == 0);
    memset(from, 0, sizeof(*from));
    from->sin_family = AF_INET;
    from->sin_port = htons(5000);
    from->sin_addr.s_addr = htonl(0xC0000201);
    uint8_t check[256];
    const uint8_t txid[STUN_TXID_LEN] = {1, 2, 3};
    struct stun_binding_params bp = {.username = "FuzzUfrg:Brws",
                                     .key = (const uint8_t *)p.ice_pwd,
                                     .key_len = strlen(p.ice_pwd),
                                     .priority = 1,
                                     .controlling = true,
                                     .use_candidate = true};
    int n = stun_build_binding_request(check, sizeof(check), txid, &bp);
    CHECK(n > 0);
    udp_mux_dispatch(m, io, NOW, check, (size_t)n, sizeof(check), (struct sockaddr *)from,
                     sizeof(*from));
    CHECK(l->ice.nominated);
    struct media_answer a = {.leg_id = 1, .dtls_client = client, .audio_ssrc = 21};
    strcpy(a.ice_ufrag, "Brws");
    strcpy(a.ice_pwd, "BrowserPasswordBrowser+/");
    memset(a.fingerprint, 0xAB, sizeof(a.fingerprint));
    CHECK(leg_answer(l, io, &a, NOW) == 0);
    return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!identity && dtls_identity_create(&identity) != 0)
        return 0;
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    bool client = flags & 1;
    uint8_t fp[DTLS_FINGERPRINT_LEN];
    memcpy(fp, dtls_identity_fingerprint_bytes(identity), sizeof(fp));
    struct dtls_conn *c = NULL;
    CHECK(dtls_conn_create(&c, identity, client ? DTLS_ROLE_CLIENT : DTLS_ROLE_SERVER, fp) == 0);

    struct udp_mux m;
    udp_mux_init(&m);
    struct leg_io io = {.ctx = &m, .send = io_send, .state = io_state, .bind = io_bind};
    struct sockaddr_in from;
    struct leg *l = (flags & 4) ? leg_setup(&m, &io, client, &from) : NULL;

    size_t off = 1;
    uint8_t out[2048];
    static uint8_t dg[65536 + SRTP_SESSION_RTP_TRAILER_ROOM];
    while (off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        if (len > 0) {
            (void)dtls_conn_input(c, NOW, data + off, len);
            if (l) {
                memcpy(dg, data + off, len);
                udp_mux_dispatch(&m, &io, NOW, dg, len, sizeof(dg), (struct sockaddr *)&from,
                                 sizeof(from));
            }
        }
        off += len;
        size_t n;
        while ((n = dtls_conn_poll(c, out, sizeof(out))) > 0)
            CHECK(n <= DTLS_MTU);
        if (flags & 2) {
            dtls_conn_handle_timeout(c, NOW);
            if (l)
                leg_tick(l, &io, NOW + 2000000);
        }
        CHECK(dtls_conn_state(c) != DTLS_CONNECTED);
    }
    dtls_conn_free(c);
    if (l) {
        leg_close(l, &io, NOW);
        udp_mux_remove_ufrag(&m, "FuzzUfrg", 8, l);
        leg_free(l);
    }
    udp_mux_free(&m);
    return 0;
}
