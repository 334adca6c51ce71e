#include "balie/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "balie/leg.h"
#include "balie/log.h"
#include "balie/media.h"
#include "balie/msgq.h"
#include "balie/relay.h"
#include "balie/srtp_session.h"
#include "balie/timer_heap.h"
#include "balie/udp_mux.h"

#define WORKER_BATCH 32
#define WORKER_MTU 1500
/* Receive buffers keep room past the datagram: SRTP is re-protected in place for the peer. */
#define WORKER_BUF (WORKER_MTU + SRTP_SESSION_RTP_TRAILER_ROOM)
#define WORKER_SEND_BATCH 64
#define STATS_INTERVAL_US 1000000u

/* One datagram waiting for sendmmsg. */
struct out_slot {
    size_t len;
    socklen_t addr_len;
    struct sockaddr_storage addr;
    unsigned char data[WORKER_BUF];
};

/* Fields go from the widest alignment to the narrowest, so the struct carries little padding. */
struct worker {
    struct msgq commands;
    struct msgq events;
    struct worker_pool *pool;
    pthread_t thread;
    atomic_uint_fast64_t n_commands, n_events, n_events_dropped, n_datagrams;
    atomic_uint_fast64_t n_legs, n_legs_created, n_legs_failed, n_sent, n_send_errors, n_unrouted,
        n_media_dropped;

    /* From here on, the worker thread's own. */
    const struct dtls_identity *identity;
    const struct holdmedia *hold_media;
    struct udp_mux mux;
    struct leg *legs;         /* every leg of this worker, newest first */
    struct timer_heap timers; /* the legs by their next deadline */
    struct leg_io io;
    uint64_t leg_count;
    uint64_t legs_created, legs_failed, sent, send_errors, dropped_by_freed_legs;
    struct out_slot out[WORKER_SEND_BATCH];

    int index;
    int epoll_fd;
    int wake_fd; /* eventfd: the control thread writes after pushing commands */
    int udp_fd;
    int port;
    unsigned out_count;
    atomic_bool stop;
    bool started;
    bool emitted; /* an event was pushed since the last notify */
    /* Receive buffers for one recvmmsg batch. */
    unsigned char bufs[WORKER_BATCH][WORKER_BUF];
};

struct worker_pool {
    int count;
    const struct dtls_identity *identity;
    void (*notify)(void *arg);
    void *notify_arg;
    struct worker *workers;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Pushes an event for the control thread. A full queue drops the event and counts it:
 * the worker must never block on the control thread. Returns true when queued. */
static bool worker_emit(struct worker *w, const struct worker_event *evt)
{
    if (!msgq_push(&w->events, evt)) {
        atomic_fetch_add_explicit(&w->n_events_dropped, 1, memory_order_relaxed);
        return false;
    }
    atomic_fetch_add_explicit(&w->n_events, 1, memory_order_relaxed);
    return true;
}

/* ---- Sending ------------------------------------------------------------------------------ */

/* Sends the queued datagrams with as few system calls as the kernel allows. A datagram the
 * socket refuses (its buffer full, an ICMP error pending) is dropped and counted: media is
 * better late than blocked, and DTLS and STUN retransmit. */
static void worker_flush(struct worker *w)
{
    unsigned done = 0;
    while (done < w->out_count) {
        struct mmsghdr msgs[WORKER_SEND_BATCH];
        struct iovec iovs[WORKER_SEND_BATCH];
        unsigned n = w->out_count - done;
        for (unsigned i = 0; i < n; i++) {
            struct out_slot *s = &w->out[done + i];
            iovs[i].iov_base = s->data;
            iovs[i].iov_len = s->len;
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &s->addr;
            msgs[i].msg_hdr.msg_namelen = s->addr_len;
        }
        int sent = sendmmsg(w->udp_fd, msgs, n, MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            w->send_errors++; /* the first one failed: skip it, try the rest */
            done++;
            continue;
        }
        w->sent += (uint64_t)sent;
        done += (unsigned)sent;
    }
    w->out_count = 0;
}

static void io_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
                    socklen_t to_len)
{
    struct worker *w = ctx;
    if (len > WORKER_BUF || to_len > (socklen_t)sizeof(struct sockaddr_storage)) {
        w->send_errors++;
        return;
    }
    if (w->out_count == WORKER_SEND_BATCH)
        worker_flush(w);
    struct out_slot *s = &w->out[w->out_count++];
    memcpy(s->data, buf, len);
    s->len = len;
    memcpy(&s->addr, to, (size_t)to_len);
    s->addr_len = to_len;
}

/* ---- Legs --------------------------------------------------------------------------------- */

static void emit_state(struct worker *w, uint64_t leg_id, enum media_leg_state state,
                       enum media_fail_stage stage)
{
    struct worker_event evt = {.type = WORKER_EVT_LEG_STATE,
                               .worker = (uint32_t)w->index,
                               .id = leg_id,
                               .arg = media_state_arg(state, stage)};
    w->emitted |= worker_emit(w, &evt);
}

static void io_state(void *ctx, struct leg *leg, enum media_leg_state state,
                     enum media_fail_stage stage)
{
    struct worker *w = ctx;
    if (state == MEDIA_LEG_FAILED) {
        w->legs_failed++;
        log_info("worker", "worker %d: leg %llu failed (stage %d)", w->index,
                 (unsigned long long)leg->params.leg_id, (int)stage);
    }
    emit_state(w, leg->params.leg_id, state, stage);
}

static void io_bind(void *ctx, struct leg *leg, const struct ice_addr *addr, bool bound)
{
    struct worker *w = ctx;
    if (!bound)
        udp_mux_unbind_addr(&w->mux, addr, leg);
    else if (udp_mux_bind_addr(&w->mux, addr, leg) != 0)
        log_warn("worker", "worker %d: out of memory binding an address", w->index);
}

static struct leg *find_leg(const struct worker *w, uint64_t leg_id)
{
    for (struct leg *l = w->legs; l; l = l->next)
        if (l->params.leg_id == leg_id)
            return l;
    return NULL;
}

/* Files the leg under its next deadline (or takes it out when it has none). Room was reserved
 * when the leg was made, so this cannot fail. */
static void note_timer(struct worker *w, struct leg *l, uint64_t now)
{
    uint64_t next = leg_next_timeout_us(l, now);
    if (next == UINT64_MAX)
        timer_heap_remove(&w->timers, &l->timer);
    else
        (void)timer_heap_set(&w->timers, &l->timer, next);
}

static void cmd_leg_create(struct worker *w, struct media_leg_params *p, uint64_t now)
{
    if (find_leg(w, p->leg_id)) {
        log_warn("worker", "worker %d: leg %llu exists already", w->index,
                 (unsigned long long)p->leg_id);
        return;
    }
    struct leg *l = NULL;
    int rc = timer_heap_reserve(&w->timers, (size_t)w->leg_count + 1);
    if (rc == 0)
        rc = leg_create(&l, p, w->identity, now);
    if (rc == 0) {
        rc = udp_mux_add_ufrag(&w->mux, p->ice_ufrag, strlen(p->ice_ufrag), l);
        if (rc != 0)
            leg_free(l);
    }
    if (rc != 0) {
        log_warn("worker", "worker %d: cannot create leg %llu: %s", w->index,
                 (unsigned long long)p->leg_id, strerror(-rc));
        w->legs_failed++;
        emit_state(w, p->leg_id, MEDIA_LEG_FAILED, MEDIA_FAIL_ICE);
        return;
    }
    l->next = w->legs;
    if (w->legs)
        w->legs->prev = l;
    w->legs = l;
    w->leg_count++;
    w->legs_created++;
    note_timer(w, l, now);
}

static void cmd_leg_answer(struct worker *w, const struct media_answer *a, uint64_t now)
{
    struct leg *l = find_leg(w, a->leg_id);
    if (!l)
        return; /* closed meanwhile */
    (void)leg_answer(l, &w->io, a, now);
    note_timer(w, l, now);
}

static void cmd_bridge(struct worker *w, uint64_t a_id, uint64_t b_id, uint64_t now)
{
    struct leg *a = find_leg(w, a_id), *b = find_leg(w, b_id);
    int rc = a && b ? relay_bridge(a, b, &w->io, now) : -ENOENT;
    if (rc != 0)
        log_warn("worker", "worker %d: cannot bridge legs %llu and %llu: %s", w->index,
                 (unsigned long long)a_id, (unsigned long long)b_id, strerror(-rc));
    else {
        /* Both may now wait for a keyframe repeat. */
        note_timer(w, a, now);
        note_timer(w, b, now);
    }
}

static void cmd_leg_restart(struct worker *w, const struct media_leg_params *p, uint64_t now)
{
    struct leg *l = find_leg(w, p->leg_id);
    if (!l)
        return;
    /* Two ufrags map to a restarting leg: the one the browser still uses and the new one. A
     * ufrag from before the previous restart is no longer answered, so it goes. */
    if (l->previous_ufrag[0])
        udp_mux_remove_ufrag(&w->mux, l->previous_ufrag, strlen(l->previous_ufrag), l);
    int rc = leg_restart(l, p);
    if (rc == 0)
        rc = udp_mux_add_ufrag(&w->mux, p->ice_ufrag, strlen(p->ice_ufrag), l);
    if (rc != 0) {
        log_warn("worker", "worker %d: ICE restart of leg %llu failed: %s", w->index,
                 (unsigned long long)p->leg_id, strerror(-rc));
        leg_fail(l, &w->io, MEDIA_FAIL_ICE);
    }
    note_timer(w, l, now);
}

static void cmd_hold(struct worker *w, uint64_t leg_id, bool hold, uint64_t now)
{
    struct leg *l = find_leg(w, leg_id);
    if (!l)
        return;
    if (hold)
        relay_hold(l, w->hold_media, now);
    else
        relay_resume(l, &w->io, now);
    /* The hold player's first packet, or the key frame wait, is due now. */
    note_timer(w, l, now);
    if (l->peer)
        note_timer(w, l->peer, now);
}

static void leg_destroy(struct worker *w, struct leg *l)
{
    struct media_leg_stats st;
    leg_stats(l, &st);
    w->dropped_by_freed_legs += st.dropped;
    timer_heap_remove(&w->timers, &l->timer);
    udp_mux_remove_ufrag(&w->mux, l->params.ice_ufrag, strlen(l->params.ice_ufrag), l);
    if (l->previous_ufrag[0])
        udp_mux_remove_ufrag(&w->mux, l->previous_ufrag, strlen(l->previous_ufrag), l);
    if (l->prev)
        l->prev->next = l->next;
    else
        w->legs = l->next;
    if (l->next)
        l->next->prev = l->prev;
    w->leg_count--;
    leg_free(l);
}

static void cmd_leg_close(struct worker *w, uint64_t leg_id, uint64_t now)
{
    struct leg *l = find_leg(w, leg_id);
    if (!l)
        return;
    enum media_fail_stage stage = l->failed;
    leg_close(l, &w->io, now);
    leg_destroy(w, l);
    emit_state(w, leg_id, MEDIA_LEG_CLOSED, stage);
}

static void handle_command(struct worker *w, struct worker_cmd *cmd)
{
    uint64_t now = now_us();
    switch (cmd->type) {
    case WORKER_CMD_PING: {
        struct worker_event evt = {
            .type = WORKER_EVT_PONG, .worker = (uint32_t)w->index, .id = cmd->id, .arg = cmd->arg};
        w->emitted |= worker_emit(w, &evt);
        break;
    }
    case WORKER_CMD_LEG_CREATE:
        if (cmd->ptr)
            cmd_leg_create(w, cmd->ptr, now);
        break;
    case WORKER_CMD_LEG_ANSWER:
        if (cmd->ptr)
            cmd_leg_answer(w, cmd->ptr, now);
        break;
    case WORKER_CMD_BRIDGE:
        cmd_bridge(w, cmd->id, cmd->arg, now);
        break;
    case WORKER_CMD_LEG_CLOSE:
        cmd_leg_close(w, cmd->id, now);
        break;
    case WORKER_CMD_LEG_RESTART:
        if (cmd->ptr)
            cmd_leg_restart(w, cmd->ptr, now);
        break;
    case WORKER_CMD_HOLD:
    case WORKER_CMD_RESUME:
        cmd_hold(w, cmd->id, cmd->type == WORKER_CMD_HOLD, now);
        break;
    default:
        log_warn("worker", "worker %d: unknown command type %u ignored", w->index, cmd->type);
        break;
    }
    if (cmd->ptr) {
        /* Credentials and keys material: wipe before the memory goes back. */
        size_t size = cmd->type == WORKER_CMD_LEG_CREATE || cmd->type == WORKER_CMD_LEG_RESTART
                          ? sizeof(struct media_leg_params)
                      : cmd->type == WORKER_CMD_LEG_ANSWER ? sizeof(struct media_answer)
                                                           : 0;
        if (size)
            memset(cmd->ptr, 0, size);
        free(cmd->ptr);
    }
}

/* Handles queued commands while there is room for the events they may cause. A command is
 * left in its queue rather than have its answer dropped: the control thread is behind, and
 * *backlog is set so the loop polls again soon instead of sleeping. */
static void worker_handle_commands(struct worker *w, bool *backlog)
{
    struct worker_cmd cmd;
    *backlog = false;
    for (;;) {
        if (!msgq_has_room(&w->events)) {
            *backlog = msgq_length(&w->commands) > 0;
            break;
        }
        if (!msgq_pop(&w->commands, &cmd))
            break;
        atomic_fetch_add_explicit(&w->n_commands, 1, memory_order_relaxed);
        handle_command(w, &cmd);
    }
    worker_flush(w);
}

/* ---- Receiving and timers ----------------------------------------------------------------- */

static void worker_receive(struct worker *w)
{
    struct mmsghdr msgs[WORKER_BATCH];
    struct iovec iovs[WORKER_BATCH];
    struct sockaddr_storage addrs[WORKER_BATCH];
    for (;;) {
        for (int i = 0; i < WORKER_BATCH; i++) {
            iovs[i].iov_base = w->bufs[i];
            iovs[i].iov_len = WORKER_MTU;
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
        }
        int n = recvmmsg(w->udp_fd, msgs, WORKER_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return; /* EAGAIN, or an error the next epoll round will show again */
        atomic_fetch_add_explicit(&w->n_datagrams, (uint64_t)n, memory_order_relaxed);
        uint64_t now = now_us();
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &msgs[i].msg_hdr;
            if (h->msg_flags & MSG_TRUNC) { /* larger than any path we serve carries */
                w->mux.counters.not_demultiplexed++;
                continue;
            }
            struct leg *l = udp_mux_dispatch(&w->mux, &w->io, now, w->bufs[i], msgs[i].msg_len,
                                             WORKER_BUF, h->msg_name, h->msg_namelen);
            /* STUN and DTLS move timers (consent, retransmission; a leg that becomes ready
             * asks its peer for a keyframe and starts the peer's repeat timer); media does
             * not. */
            if (l && msgs[i].msg_len > 0 && w->bufs[i][0] < 128) {
                note_timer(w, l, now);
                if (l->peer)
                    note_timer(w, l->peer, now);
            }
        }
        worker_flush(w);
        if (n < WORKER_BATCH)
            return;
    }
}

/* Ticks the legs whose deadline has come, each once, and files them under their next one. */
static void worker_timers(struct worker *w, uint64_t now)
{
    struct timer_entry *e;
    bool ticked = false;
    while ((e = timer_heap_first(&w->timers)) && e->due_us <= now) {
        struct leg *l = (struct leg *)((char *)e - offsetof(struct leg, timer));
        leg_tick(l, &w->io, now);
        ticked = true;
        uint64_t next = leg_next_timeout_us(l, now);
        if (next == UINT64_MAX) {
            timer_heap_remove(&w->timers, e);
            continue;
        }
        /* Never spin: a timer OpenSSL does not yet count as expired is looked at in 1 ms. */
        (void)timer_heap_set(&w->timers, e, next > now ? next : now + 1000);
        /* A tick may start the peer's timers too (a keyframe request, hold playback). */
        if (l->peer)
            note_timer(w, l->peer, now);
    }
    if (ticked)
        worker_flush(w);
}

/* The earliest leg deadline, or never. */
static uint64_t next_timer_us(const struct worker *w)
{
    const struct timer_entry *e = timer_heap_first(&w->timers);
    return e ? e->due_us : UINT64_MAX;
}

/* Once a second: WORKER_EVT_STATS, a WORKER_EVT_LEG_STATS per connected leg, and the totals. */
static void worker_stats(struct worker *w)
{
    struct worker_event evt = {.type = WORKER_EVT_STATS,
                               .worker = (uint32_t)w->index,
                               .arg = atomic_load_explicit(&w->n_datagrams, memory_order_relaxed)};
    w->emitted |= worker_emit(w, &evt);
    uint64_t dropped = w->dropped_by_freed_legs;
    /* Per-leg figures are for /metrics and may skip a second; the other half of the queue is
     * kept for state changes and answers to commands, which may not be lost. */
    bool room = msgq_length(&w->events) < (w->events.mask + 1) / 2;
    for (struct leg *l = w->legs; l; l = l->next) {
        struct media_leg_stats st;
        leg_stats(l, &st);
        dropped += st.dropped;
        if (!room || !leg_media_ready(l))
            continue;
        struct media_leg_stats *copy = malloc(sizeof(*copy));
        if (!copy)
            continue;
        *copy = st;
        struct worker_event le = {.type = WORKER_EVT_LEG_STATS,
                                  .worker = (uint32_t)w->index,
                                  .id = st.leg_id,
                                  .ptr = copy};
        if (worker_emit(w, &le))
            w->emitted = true;
        else
            free(copy);
    }
    atomic_store_explicit(&w->n_media_dropped, dropped, memory_order_relaxed);
}

static void worker_publish(struct worker *w)
{
    const struct udp_mux_counters *c = &w->mux.counters;
    atomic_store_explicit(&w->n_legs, w->leg_count, memory_order_relaxed);
    atomic_store_explicit(&w->n_legs_created, w->legs_created, memory_order_relaxed);
    atomic_store_explicit(&w->n_legs_failed, w->legs_failed, memory_order_relaxed);
    atomic_store_explicit(&w->n_sent, w->sent, memory_order_relaxed);
    atomic_store_explicit(&w->n_send_errors, w->send_errors, memory_order_relaxed);
    atomic_store_explicit(&w->n_unrouted,
                          c->unknown_ufrag + c->unknown_address + c->not_demultiplexed +
                              c->malformed_stun,
                          memory_order_relaxed);
}

static int epoll_timeout_ms(uint64_t now, uint64_t deadline)
{
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999) / 1000; /* round up: waking early only spins */
    return ms > 1000 ? 1000 : (int)ms;
}

static void free_all_legs(struct worker *w)
{
    while (w->legs)
        leg_destroy(w, w->legs);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->io = (struct leg_io){.ctx = w, .send = io_send, .state = io_state, .bind = io_bind};
    uint64_t next_stats = now_us() + STATS_INTERVAL_US;
    bool backlog = false;
    while (!atomic_load(&w->stop)) {
        uint64_t now = now_us();
        uint64_t next_tick = next_timer_us(w);
        uint64_t deadline = next_tick < next_stats ? next_tick : next_stats;
        int timeout = epoll_timeout_ms(now, deadline);
        if (backlog && timeout > 1)
            timeout = 1;
        struct epoll_event evs[4];
        int n = epoll_wait(w->epoll_fd, evs, 4, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("worker", "worker %d: epoll_wait: %s", w->index, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == w->wake_fd) {
                uint64_t count;
                ssize_t r = read(w->wake_fd, &count, sizeof(count));
                (void)r;
            } else if (evs[i].data.fd == w->udp_fd) {
                worker_receive(w);
            }
        }
        /* Commands are checked on every wake-up: a wake may be coalesced with another one. */
        worker_handle_commands(w, &backlog);
        now = now_us();
        worker_timers(w, now);
        if (now >= next_stats) {
            next_stats += STATS_INTERVAL_US;
            if (next_stats <= now)
                next_stats = now + STATS_INTERVAL_US;
            worker_stats(w);
        }
        worker_publish(w);
        if (w->emitted && w->pool->notify)
            w->pool->notify(w->pool->notify_arg);
        w->emitted = false;
    }
    free_all_legs(w);
    return NULL;
}

static int bind_udp(const char *bind_addr, int port, int buffer_kb, int *port_out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bind_addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, bind_addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        len = sizeof(*a6);
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* The receive buffer is what carries a worker through a moment without CPU (another
     * process, a burst of DTLS handshakes): 16 MB hold about 60 ms of 300 calls. The kernel
     * caps SO_RCVBUF at net.core.rmem_max; with CAP_NET_ADMIN the cap does not apply. What
     * the socket got is logged, so an operator sees a cap that is too low. */
    int size = (buffer_kb > 0 ? buffer_kb : 16384) * 1024;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    int got = 0;
    socklen_t got_len = sizeof(got);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len) == 0 && got / 2 < size)
        log_warn("worker",
                 "UDP receive buffer is %d kB, not the %d kB asked for: raise "
                 "net.core.rmem_max (or give the gateway CAP_NET_ADMIN)",
                 got / 2 / 1024, size / 1024);
    size = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        *port_out = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    return fd;
}

/* Payloads still queued at stop belong to nobody else any more (media.h). */
static void free_queued_payloads(struct worker *w)
{
    struct worker_cmd cmd;
    while (w->commands.slots && msgq_pop(&w->commands, &cmd))
        free(cmd.ptr);
    struct worker_event evt;
    while (w->events.slots && msgq_pop(&w->events, &evt))
        free(evt.ptr);
}

static void worker_close(struct worker *w)
{
    free_queued_payloads(w);
    timer_heap_free(&w->timers);
    udp_mux_free(&w->mux);
    if (w->epoll_fd >= 0)
        close(w->epoll_fd);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    if (w->udp_fd >= 0)
        close(w->udp_fd);
    msgq_free(&w->commands);
    msgq_free(&w->events);
}

static int worker_open(struct worker *w, const struct worker_pool_config *cfg, int index)
{
    size_t cap = cfg->queue_capacity ? cfg->queue_capacity : 4096;
    w->index = index;
    w->identity = cfg->dtls_identity;
    w->hold_media = cfg->hold_media;
    udp_mux_init(&w->mux);
    timer_heap_init(&w->timers);
    w->epoll_fd = w->wake_fd = w->udp_fd = -1;
    int err = msgq_init(&w->commands, cap, sizeof(struct worker_cmd));
    if (err == 0)
        err = msgq_init(&w->events, cap, sizeof(struct worker_event));
    if (err != 0)
        return err;
    int port = cfg->port_base ? cfg->port_base + index : 0;
    w->udp_fd = bind_udp(cfg->bind, port, cfg->socket_buffer_kb, &w->port);
    if (w->udp_fd < 0) {
        err = w->udp_fd;
        log_error("worker", "cannot bind UDP %s port %d: %s", cfg->bind, port, strerror(-err));
        return err;
    }
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->wake_fd < 0 || w->epoll_fd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->wake_fd};
    if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) != 0)
        return -errno;
    ev.data.fd = w->udp_fd;
    if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->udp_fd, &ev) != 0)
        return -errno;
    return 0;
}

int worker_pool_start(struct worker_pool **out, const struct worker_pool_config *cfg)
{
    if (!out || !cfg || cfg->count < 1 || !cfg->bind)
        return -EINVAL;
    struct worker_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    pool->identity = cfg->dtls_identity;
    pool->notify = cfg->notify;
    pool->notify_arg = cfg->notify_arg;
    pool->workers = calloc((size_t)cfg->count, sizeof(struct worker));
    if (!pool->workers) {
        free(pool);
        return -ENOMEM;
    }
    int err = 0;
    /* Open every socket first: a port in use fails the start before any thread runs. */
    for (int i = 0; i < cfg->count && err == 0; i++) {
        pool->workers[i].pool = pool;
        pool->count = i + 1;
        err = worker_open(&pool->workers[i], cfg, i);
    }
    for (int i = 0; i < pool->count && err == 0; i++) {
        err = -pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]);
        pool->workers[i].started = err == 0;
    }
    if (err != 0) {
        worker_pool_stop(pool);
        return err;
    }
    *out = pool;
    return 0;
}

void worker_pool_stop(struct worker_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->count; i++) {
        struct worker *w = &pool->workers[i];
        atomic_store(&w->stop, true);
        if (w->wake_fd >= 0) {
            uint64_t one = 1;
            ssize_t r = write(w->wake_fd, &one, sizeof(one));
            (void)r;
        }
    }
    for (int i = 0; i < pool->count; i++) {
        if (pool->workers[i].started)
            pthread_join(pool->workers[i].thread, NULL);
        worker_close(&pool->workers[i]);
    }
    free(pool->workers);
    free(pool);
}

int worker_pool_count(const struct worker_pool *pool)
{
    return pool->count;
}

const struct dtls_identity *worker_pool_dtls_identity(const struct worker_pool *pool)
{
    return pool->identity;
}

int worker_pool_port(const struct worker_pool *pool, int index)
{
    return index >= 0 && index < pool->count ? pool->workers[index].port : -1;
}

int worker_send(struct worker_pool *pool, int index, const struct worker_cmd *cmd)
{
    if (index < 0 || index >= pool->count)
        return -EINVAL;
    struct worker *w = &pool->workers[index];
    if (!msgq_push(&w->commands, cmd))
        return -EAGAIN;
    uint64_t one = 1;
    ssize_t r = write(w->wake_fd, &one, sizeof(one));
    (void)r; /* EAGAIN means the counter is already non-zero: the worker will wake anyway */
    return 0;
}

size_t worker_pool_drain(struct worker_pool *pool,
                         void (*fn)(const struct worker_event *evt, void *arg), void *arg)
{
    size_t handled = 0;
    struct worker_event evt;
    for (int i = 0; i < pool->count; i++) {
        while (msgq_pop(&pool->workers[i].events, &evt)) {
            fn(&evt, arg);
            handled++;
        }
    }
    return handled;
}

void worker_pool_totals(const struct worker_pool *pool, int index, struct worker_totals *out)
{
    const struct worker *w = &pool->workers[index];
    out->commands = atomic_load_explicit(&w->n_commands, memory_order_relaxed);
    out->events = atomic_load_explicit(&w->n_events, memory_order_relaxed);
    out->events_dropped = atomic_load_explicit(&w->n_events_dropped, memory_order_relaxed);
    out->datagrams = atomic_load_explicit(&w->n_datagrams, memory_order_relaxed);
    out->legs = atomic_load_explicit(&w->n_legs, memory_order_relaxed);
    out->legs_created = atomic_load_explicit(&w->n_legs_created, memory_order_relaxed);
    out->legs_failed = atomic_load_explicit(&w->n_legs_failed, memory_order_relaxed);
    out->datagrams_sent = atomic_load_explicit(&w->n_sent, memory_order_relaxed);
    out->send_errors = atomic_load_explicit(&w->n_send_errors, memory_order_relaxed);
    out->unrouted = atomic_load_explicit(&w->n_unrouted, memory_order_relaxed);
    out->media_dropped = atomic_load_explicit(&w->n_media_dropped, memory_order_relaxed);
}
