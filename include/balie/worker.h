/* Media workers: one thread, one epoll loop and one UDP socket each (DESIGN.md §2).
 *
 * The control thread sends commands with worker_send(); a worker answers with events that
 * the control thread collects with worker_pool_drain(). After pushing events a worker calls
 * the pool's `notify` callback (the daemon passes one that calls lws_cancel_service()). */
#ifndef BALIE_WORKER_H
#define BALIE_WORKER_H

#include <stdint.h>
#include <stddef.h>

struct dtls_identity;
struct holdmedia;

/* The call commands and events (LEG_*, BRIDGE) are described in balie/media.h. */
enum worker_cmd_type {
    WORKER_CMD_PING = 1, /* answered by WORKER_EVT_PONG with the same id and arg */
    WORKER_CMD_LEG_CREATE,
    WORKER_CMD_LEG_ANSWER,
    WORKER_CMD_BRIDGE,
    WORKER_CMD_LEG_CLOSE,
    WORKER_CMD_LEG_RESTART,
    WORKER_CMD_HOLD,
    WORKER_CMD_RESUME,
};

enum worker_evt_type {
    WORKER_EVT_PONG = 1,
    WORKER_EVT_STATS, /* once a second: arg = datagrams received since start */
    WORKER_EVT_LEG_STATE,
    WORKER_EVT_LEG_STATS,
};

struct worker_cmd {
    uint32_t type;
    uint32_t flags;
    uint64_t id;
    uint64_t arg;
    void *ptr; /* ownership passes to the worker when set */
};

struct worker_event {
    uint32_t type;
    uint32_t worker;
    uint64_t id;
    uint64_t arg;
    void *ptr; /* ownership passes to the control thread when set */
};

struct worker_pool_config {
    int count;             /* >= 1 */
    const char *bind;      /* address every worker's UDP socket binds to */
    int port_base;         /* worker i binds port_base + i; 0 binds an ephemeral port */
    size_t queue_capacity; /* power of two; 0 = 4096 */
    int socket_buffer_kb;  /* UDP receive buffer asked for; 0 = 16384 */
    /* Our DTLS certificate, shared read-only by every worker; must outlive the pool. */
    const struct dtls_identity *dtls_identity;
    /* What a held leg plays (WORKER_CMD_HOLD), shared read-only by every worker; must outlive
     * the pool. NULL: a held leg gets nothing. */
    const struct holdmedia *hold_media;
    void (*notify)(void *arg);
    void *notify_arg;
};

struct worker_pool;

/* Binds every socket before any thread starts, so a port in use fails the start cleanly.
 * Returns 0, or a negative errno; on failure nothing is left running. */
int worker_pool_start(struct worker_pool **out, const struct worker_pool_config *cfg);

/* Stops and joins every worker, then frees the pool. Safe with NULL. */
void worker_pool_stop(struct worker_pool *pool);

int worker_pool_count(const struct worker_pool *pool);

/* The DTLS identity the pool was started with (its fingerprint goes into every offer). */
const struct dtls_identity *worker_pool_dtls_identity(const struct worker_pool *pool);

/* The UDP port worker `index` is bound to. */
int worker_pool_port(const struct worker_pool *pool, int index);

/* Queues a command for worker `index` and wakes it. Control thread only.
 * Returns 0, -EINVAL for a bad index, or -EAGAIN when that worker's queue is full. */
int worker_send(struct worker_pool *pool, int index, const struct worker_cmd *cmd);

/* Calls `fn` for every pending event of every worker. Control thread only.
 * Returns the number of events handled. */
size_t worker_pool_drain(struct worker_pool *pool,
                         void (*fn)(const struct worker_event *evt, void *arg), void *arg);

/* Totals for /metrics (relaxed reads; good enough for counters). */
struct worker_totals {
    uint64_t commands;
    uint64_t events;
    uint64_t events_dropped; /* event queue full */
    uint64_t datagrams;
    /* Media (balie/media.h), published after every receive batch and timer pass. */
    uint64_t legs;           /* legs alive now (a gauge) */
    uint64_t legs_created;   /* WORKER_CMD_LEG_CREATE that made a leg */
    uint64_t legs_failed;    /* MEDIA_LEG_FAILED reported */
    uint64_t datagrams_sent; /* STUN, DTLS, SRTP and SRTCP we sent */
    uint64_t send_errors;    /* datagrams sendmmsg refused (buffer full, unreachable) */
    uint64_t unrouted;       /* received datagrams no leg claimed (udp_mux counters) */
    uint64_t media_dropped;  /* dropped by legs: media_leg_stats.dropped, summed */
};
void worker_pool_totals(const struct worker_pool *pool, int index, struct worker_totals *out);

#endif
