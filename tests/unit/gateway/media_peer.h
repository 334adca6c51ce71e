/* Test helpers for the media plane: an in-test "browser" (STUN checks with USE-CANDIDATE, a
 * DTLS endpoint of its own identity, an SRTP session from its exported keys, RTP and RTCP
 * senders and a record of what it received), and a sans-IO gateway harness that routes
 * datagrams between browsers and legs through a real udp_mux, with time passed in.
 * Not a test file: no Test() here. */
#ifndef BALIE_TEST_MEDIA_PEER_H
#define BALIE_TEST_MEDIA_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "balie/dtls.h"
#include "balie/leg.h"
#include "balie/media.h"
#include "balie/srtp_session.h"
#include "balie/udp_mux.h"

#define PEER_MAX_RTP 2048
#define PEER_DG_MAX 1700

struct peer_rtp_seen {
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint8_t pt;
    size_t payload_len;
    uint8_t payload0; /* first payload byte */
    uint8_t head[4];  /* the first four payload bytes (a VP8 descriptor), zero-padded */
    bool marker;
};

struct media_peer {
    struct sockaddr_storage addr; /* where it sends from */
    socklen_t addr_len;
    char ufrag[16];
    char pwd[32];
    char gw_ufrag[MEDIA_UFRAG_MAX]; /* the leg's credentials, from the "offer" */
    char gw_pwd[MEDIA_UFRAG_MAX];
    bool dtls_client; /* the browser's DTLS role: true = it answered setup:active */
    struct dtls_identity *id;
    struct dtls_conn *dtls;
    struct srtp_session srtp;
    bool srtp_ready;
    unsigned video_rtcp_fb;
    uint32_t ssrc[LEG_KINDS]; /* what it sends, as its "answer" declares */
    uint16_t seq[LEG_KINDS];
    uint32_t ts[LEG_KINDS];
    uint8_t txid;
    bool vp8_picture_id; /* its video carries a 15-bit PictureID, one frame a packet */
    uint16_t picture_id;
    uint64_t now_us;

    /* What it received from the gateway. */
    size_t stun_success, stun_error, dtls_in, srtp_failed;
    struct peer_rtp_seen rtp[PEER_MAX_RTP];
    size_t rtp_count;
    size_t pli, fir, sr, rr, nack, remb;
    uint32_t pli_media, fir_media, sr_ssrc, nack_media;
    uint32_t rr_block_ssrc[2];
    size_t rr_blocks;

    /* How it reaches the gateway. */
    void (*send)(struct media_peer *p, const uint8_t *buf, size_t len);
    void *ctx;
};

/* A browser at 127.0.0.1:`port` (or [::1]:`port` with `ipv6`), sending `audio_ssrc` and
 * `video_ssrc`, playing DTLS client when `dtls_client`. */
void peer_init(struct media_peer *p, uint16_t port, bool ipv6, uint32_t audio_ssrc,
               uint32_t video_ssrc, bool dtls_client);
void peer_free(struct media_peer *p);

/* Learns the leg's credentials and makes the DTLS endpoint that expects `gw_fp`. */
void peer_offer(struct media_peer *p, const struct media_leg_params *leg, const uint8_t *gw_fp);

/* Its answer for the leg `leg_id` (what sdp_parse_answer would make of it). */
void peer_answer(const struct media_peer *p, uint64_t leg_id, struct media_answer *a);

/* A Binding request to the leg; `pwd` NULL means the right password. Returns its length. */
size_t peer_build_check(struct media_peer *p, uint8_t *buf, size_t cap, bool use_candidate,
                        const char *pwd);
void peer_check(struct media_peer *p, bool use_candidate);

/* Sends whatever its DTLS endpoint has queued (the ClientHello of a client). */
void peer_flush_dtls(struct media_peer *p);

/* One datagram from the gateway. */
void peer_receive(struct media_peer *p, const uint8_t *buf, size_t len);

/* Sends one SRTP packet of `kind`; for video `keyframe` sets the VP8 key-frame bits. Returns 0
 * or the protect error. `ssrc` 0 means its own SSRC for the kind. */
int peer_send_rtp(struct media_peer *p, enum leg_kind kind, bool keyframe, uint32_t ssrc);
/* Sends a PLI about `media_ssrc` (what it knows as the gateway's video SSRC). */
int peer_send_pli(struct media_peer *p, uint32_t media_ssrc);
/* Sends an SR for its own stream of `kind`. */
int peer_send_sr(struct media_peer *p, enum leg_kind kind, uint64_t ntp);

/* How many received packets had `ssrc`; and whether their sequence numbers were consecutive. */
size_t peer_count_ssrc(const struct media_peer *p, uint32_t ssrc, bool *consecutive);

/* ---- The sans-IO gateway ------------------------------------------------------------------ */

#define GW_MAX_OUT 1024
#define GW_MAX_EVENTS 128
#define GW_MAX_PEERS 4

struct gw_datagram {
    uint8_t data[PEER_DG_MAX];
    size_t len;
    struct sockaddr_storage to;
    socklen_t to_len;
};

struct gw_event {
    uint64_t leg_id;
    enum media_leg_state state;
    enum media_fail_stage stage;
};

struct gw_harness {
    struct udp_mux mux;
    struct leg_io io;
    uint64_t now_us;
    struct dtls_identity *id;
    struct gw_datagram *out;
    size_t out_count;
    struct gw_event events[GW_MAX_EVENTS];
    size_t n_events;
    struct media_peer *peers[GW_MAX_PEERS];
    size_t n_peers;
    size_t undeliverable;
    bool hold; /* keep outgoing datagrams instead of delivering them in gw_pump */
};

void gw_init(struct gw_harness *g, uint64_t now_us);
void gw_free(struct gw_harness *g);

/* A leg with id `leg_id`, ufrag "L<id>uf", the given SSRCs towards its browser. */
struct leg *gw_add_leg(struct gw_harness *g, uint64_t leg_id, uint32_t audio_ssrc,
                       uint32_t video_ssrc);
void gw_remove_leg(struct gw_harness *g, struct leg *l);

/* Routes the browser's datagrams into the harness's mux (from its address, at g->now_us). */
void gw_attach(struct gw_harness *g, struct media_peer *p);

/* Feeds raw bytes as if `p` had sent them. */
void gw_inject(struct gw_harness *g, const struct media_peer *p, const uint8_t *buf, size_t len);

/* Delivers every datagram the gateway sent to the browser it was addressed to, and the replies
 * those cause, until nothing moves. */
void gw_pump(struct gw_harness *g);

/* Ticks every leg listed at `now_us`. */
void gw_tick(struct gw_harness *g, struct leg **legs, size_t n, uint64_t now_us);

/* How many times the leg reported `state` (and, unless MEDIA_FAIL_NONE, `stage`). */
size_t gw_count_events(const struct gw_harness *g, uint64_t leg_id, enum media_leg_state state,
                       enum media_fail_stage stage);

/* Answer, check with USE-CANDIDATE, DTLS handshake: until both ends have SRTP keys. */
void gw_connect(struct gw_harness *g, struct leg *l, struct media_peer *p);

#endif
