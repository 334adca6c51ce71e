/* One media leg: the path between the gateway and one browser (DESIGN.md §3).
 *
 * A leg holds the ICE-lite agent, the DTLS connection, the SRTP session, the receive
 * statistics of what the browser sends, and the rewriters of what we send it. It is sans-IO:
 * datagrams and time go in, and what comes out (datagrams to send, state changes, addresses to
 * bind) goes through the caller's struct leg_io callbacks, during the call that caused it.
 *
 * Lifetime: the worker creates a leg on WORKER_CMD_LEG_CREATE, gives it the browser's answer
 * (leg_answer), bridges it with relay_bridge() (relay.h), ticks it (leg_tick) and frees it on
 * WORKER_CMD_LEG_CLOSE (leg_close, then leg_free). A failed leg stays until then: it drops
 * everything and reports nothing more. One leg belongs to one thread.
 *
 * The struct is public so that the relay and the tests can read it; only leg.c and relay.c
 * write it. */
#ifndef BALIE_LEG_H
#define BALIE_LEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "balie/holdmedia.h"
#include "balie/ice.h"
#include "balie/media.h"
#include "balie/rtp.h"
#include "balie/srtp_session.h"
#include "balie/timer_heap.h"

struct dtls_conn;
struct dtls_identity;
struct leg;

/* Everything a leg says to the world. Each callback is called during the leg call that
 * caused it; pointers it gets are valid for that callback only. */
struct leg_io {
    void *ctx;
    /* Sends one datagram. */
    void (*send)(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
                 socklen_t to_len);
    /* A state change for the control thread (media.h: WORKER_EVT_LEG_STATE). */
    void (*state)(void *ctx, struct leg *leg, enum media_leg_state state,
                  enum media_fail_stage stage);
    /* A valid check came from `addr` (bound = true): DTLS and SRTP from it belong to this leg
     * from now on; or ICE forgot it (bound = false). */
    void (*bind)(void *ctx, struct leg *leg, const struct ice_addr *addr, bool bound);
};

/* How many DTLS datagrams from a validated address are kept while the answer is still on its
 * way (DESIGN.md §3: a ClientHello is never dropped). A browser's first flight is one
 * datagram; the rest is room for its retransmissions. */
#define LEG_EARLY_DTLS 4
#define LEG_EARLY_DTLS_MAX 1500

/* Without a finished DTLS handshake this long after ICE connected, the leg fails (DTLS). */
#define LEG_DTLS_TIMEOUT_US 30000000u

/* Our receiver reports, and the keyframe request's repeat. */
#define LEG_REPORT_INTERVAL_US 1000000u
#define LEG_KEYFRAME_REPEAT_US 1000000u

enum leg_kind { LEG_AUDIO = 0, LEG_VIDEO = 1, LEG_KINDS = 2 };

/* Why packets were dropped; each is also summed into media_leg_stats.dropped. */
struct leg_counters {
    uint64_t stun_rejected;     /* checks answered with an error (bad credentials, …) */
    uint64_t stun_dropped;      /* not answered at all (replay, malformed) */
    uint64_t dtls_early_queued; /* kept until the answer came */
    uint64_t dtls_early_dropped;
    uint64_t dtls_dropped;       /* after the leg failed or closed */
    uint64_t srtp_not_ready;     /* RTP/RTCP before SRTP keys */
    uint64_t srtp_auth_failed;   /* unprotect failed: forged, damaged or replayed */
    uint64_t rtp_malformed;      /* authenticated but not parseable */
    uint64_t unknown_ssrc;       /* neither the answered audio nor video SSRC */
    uint64_t no_peer;            /* not bridged, or the peer is not ready */
    uint64_t rewrite_dropped;    /* older than its source's first forwarded packet */
    uint64_t retransmit_dropped; /* protect refused a sequence number sent before (NACK) */
    uint64_t protect_failed;     /* any other protect failure */
    uint64_t rtcp_malformed;     /* authenticated RTCP that rtcp_translate() refused */
    uint64_t rtcp_unmapped;      /* feedback about an SSRC we do not send */
    uint64_t failed_input;       /* anything that reached the leg after it failed */
};

/* What we sent the browser in SRs, to match the LSR in its reports (RFC 3550 §6.4.1). */
#define LEG_SR_HISTORY 4
struct leg_sr_sent {
    uint32_t ntp_mid;
    uint64_t sent_us;
};

/* Fields go from the widest alignment to the narrowest, so the struct carries no padding. */
struct leg {
    struct media_leg_params params;
    struct media_answer answer;
    const struct dtls_identity *identity;
    struct dtls_conn *dtls;
    struct leg *peer;         /* relay.h; both legs point at each other or at nothing */
    struct leg *next, *prev;  /* the worker's list */
    struct timer_entry timer; /* in the worker's timer heap while it has a deadline */

    struct ice_agent ice;
    struct srtp_session srtp;
    /* Where DTLS goes before nomination: the last address a DTLS datagram or check came from. */
    struct sockaddr_storage dtls_to;

    /* What this browser sends us, and its last SR (for the LSR of our reports). */
    struct rtp_recv_stats in_stats[LEG_KINDS];
    uint64_t in_sr_arrival_us[LEG_KINDS];

    /* What we send this browser: the peer's media with our SSRCs. */
    struct rtp_rewriter out[LEG_KINDS];
    uint64_t out_packets[LEG_KINDS], out_bytes[LEG_KINDS], out_payload_bytes[LEG_KINDS];
    struct leg_sr_sent sr_sent[LEG_SR_HISTORY];

    struct leg_counters counters;
    /* Hold (relay_hold): while `held`, neither the peer's media reaches this browser nor this
     * browser's the peer; the player sends the hold media instead. Packets set aside for it
     * are counted in `held_discarded`, which is not a drop (media_leg_stats.dropped). */
    struct holdmedia_player hold;
    uint64_t held_discarded;
    /* After a resume: video to this browser waits for a key frame from the peer until this
     * time (the hold video goes on meanwhile); 0 when not waiting. */
    uint64_t keyframe_wait_us;
    uint64_t ice_connected_us; /* first valid check; 0 before */
    uint64_t rtcp_in, rtcp_out;
    uint64_t next_report_us;
    uint64_t keyframe_repeat_us; /* 0: none pending */
    size_t early_len[LEG_EARLY_DTLS];

    struct ice_addr bound[ICE_MAX_VALIDATED]; /* what the worker's table maps to this leg */
    /* Answered SSRCs, or, when the answer named none for a kind, the first SSRC seen with that
     * kind's payload type. */
    uint32_t in_ssrc[LEG_KINDS];
    uint32_t in_sr_ntp_mid[LEG_KINDS];
    unsigned bound_count, early_count, sr_next;
    socklen_t dtls_to_len;
    enum media_fail_stage failed; /* MEDIA_FAIL_NONE while alive */
    uint32_t rtt_ms;
    uint32_t keyframe_requests; /* PLI/FIR we sent this browser about its video (relay.c) */
    /* The VP8 PictureIDs we send it (RFC 7741 §4.2), continuous across sources like the
     * sequence numbers (relay.c): the source, its offset, the newest sent. */
    uint32_t picture_src;
    uint16_t picture_offset, picture_max;
    bool picture_started;
    bool held;

    /* ICE restart (leg_restart): the ufrag the worker's table still maps to this leg until the
     * leg closes or restarts again, and whether the browser's new answer is awaited. */
    char previous_ufrag[ICE_UFRAG_LEN + 1];
    bool restarting;
    bool quiet_reported; /* MEDIA_LEG_DISCONNECTED sent; cleared by the next valid check */

    bool have_answer, srtp_ready, closed;
    bool reported_ice, reported_dtls, reported_flowing;
    bool keyframe_seen; /* a keyframe from it was forwarded since the last request */
    uint8_t fir_seq;
    uint8_t early[LEG_EARLY_DTLS][LEG_EARLY_DTLS_MAX]; /* DTLS kept until the answer */
};

/* Makes a leg with our ICE credentials and SSRCs from `p` (copied). Our ufrag and password
 * must fit struct ice_agent: at most ICE_UFRAG_LEN and ICE_PWD_LEN characters. `identity`
 * must outlive the leg. Returns 0, -EINVAL, -ENOMEM or -EIO (random generator). */
int leg_create(struct leg **out, const struct media_leg_params *p,
               const struct dtls_identity *identity, uint64_t now_us);

/* Frees the leg without telling anyone; call leg_close() first for a goodbye. Safe with NULL.
 * The caller removes the leg's ufrag from its table; leg_close() unbinds the addresses. */
void leg_free(struct leg *l);

/* The browser's answer: remote ICE credentials, its fingerprint and DTLS role, its SSRCs.
 * Creates the DTLS connection and feeds it the datagrams kept so far. A second answer (a
 * renegotiation) updates SSRCs and feedback only. Returns 0, or a negative errno after which
 * the leg has failed (and said so through io->state). */
int leg_answer(struct leg *l, const struct leg_io *io, const struct media_answer *a,
               uint64_t now_us);

/* Input, one datagram each; the caller demultiplexed it (udp_mux_dispatch). Never fail: what
 * cannot be used is dropped and counted. `from` is the datagram's source. leg_input_srtp()
 * works in place: `buf` holds `len` bytes and has room for `cap`. */
void leg_input_stun(struct leg *l, const struct leg_io *io, uint64_t now_us, const uint8_t *buf,
                    size_t len, const struct sockaddr *from, socklen_t from_len);
void leg_input_dtls(struct leg *l, const struct leg_io *io, uint64_t now_us, const uint8_t *buf,
                    size_t len, const struct sockaddr *from, socklen_t from_len);
void leg_input_srtp(struct leg *l, const struct leg_io *io, uint64_t now_us, uint8_t *buf,
                    size_t len, size_t cap);

/* Timers: DTLS retransmission, the ICE and DTLS deadlines, consent (RFC 7675), our receiver
 * reports and keyframe repeats. Call it at leg_next_timeout_us() or later. */
void leg_tick(struct leg *l, const struct leg_io *io, uint64_t now_us);

/* The earliest time leg_tick() has something to do; UINT64_MAX for a failed or closed leg. */
uint64_t leg_next_timeout_us(const struct leg *l, uint64_t now_us);

/* Sends DTLS close_notify when connected, unbridges, and unbinds every address through
 * io->bind. The caller then reports MEDIA_LEG_CLOSED and frees the leg. */
void leg_close(struct leg *l, const struct leg_io *io, uint64_t now_us);

/* ICE restart (RFC 8445 §9): `p` carries the new local credentials (the rest of it is ignored).
 * The old ones are still answered until a check with the new ones validates; the next
 * leg_answer() takes the browser's new credentials. DTLS and SRTP are kept. The previous ufrag
 * is left in l->previous_ufrag for the caller's table. Returns 0, -EINVAL or -ENOTCONN. */
int leg_restart(struct leg *l, const struct media_leg_params *p);

/* True once SRTP keys are in place (MEDIA_LEG_DTLS_CONNECTED was reported) and not failed. */
bool leg_media_ready(const struct leg *l);

/* Where media (and DTLS) for this browser goes: the nominated address, or before nomination
 * the last validated address it spoke from (RFC 8445 §12.1), or NULL. `len` may be NULL. */
const struct sockaddr *leg_media_address(const struct leg *l, socklen_t *len);

/* Fills `out` for WORKER_EVT_LEG_STATS. */
void leg_stats(const struct leg *l, struct media_leg_stats *out);

/* Marks the leg failed at `stage` and reports MEDIA_LEG_FAILED once; later calls do nothing. */
void leg_fail(struct leg *l, const struct leg_io *io, enum media_fail_stage stage);

/* Sends one packet of ours (RTCP, already built) to the browser, protected. Returns 0, or a
 * negative errno when it could not (not ready, no address, protect failed). `buf` has room for
 * `cap` bytes. */
int leg_send_rtcp(struct leg *l, const struct leg_io *io, uint8_t *buf, size_t len, size_t cap);

#endif
