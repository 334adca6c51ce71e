/* What the media files of the load peer share: a media thread and the per-peer steps. */
#ifndef BALIE_LOADPEER_PEER_INTERNAL_H
#define BALIE_LOADPEER_PEER_INTERNAL_H

#include <pthread.h>
#include <sys/socket.h>

#include "loadpeer.h"

#define LP_BATCH 64

struct lp_thread {
    struct lp_run *run;
    unsigned index;
    pthread_t tid;
    int epfd;
    struct lp_peer **peers;
    size_t npeers;
    struct lp_hist hist; /* one-way latency of every packet received while measuring */
    /* Outgoing batch for sendmmsg: all of one peer's due packets leave in one call. */
    uint8_t out[LP_BATCH][LP_PKT_MAX + SRTP_SESSION_RTP_TRAILER_ROOM];
    struct iovec iov[LP_BATCH];
    struct mmsghdr msgs[LP_BATCH];
    unsigned nout;
};

uint16_t lp_peer_port(const struct lp_peer *p);
void lp_peer_input(struct lp_thread *t, struct lp_peer *p, uint8_t *buf, size_t len,
                   uint64_t arrival_ns);
void lp_peer_tick(struct lp_thread *t, struct lp_peer *p, uint64_t now_ns);
void lp_peer_send_due(struct lp_thread *t, struct lp_peer *p, uint64_t now_ns);
void lp_peer_media_input(struct lp_thread *t, struct lp_peer *p, uint8_t *buf, size_t len,
                         uint64_t arrival_ns);

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, measured once at start (lp_clock_init). */
extern uint64_t lp_realtime_offset_ns;
void lp_clock_init(void);

#endif
