#include "balie/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "balie/log.h"
#include "balie/msgq.h"

#define WORKER_BATCH 32
#define WORKER_MTU 1500

struct worker {
    struct worker_pool *pool;
    int index;
    pthread_t thread;
    bool started;
    int epoll_fd;
    int wake_fd; /* eventfd: the control thread writes after pushing commands */
    int udp_fd;
    int port;
    struct msgq commands;
    struct msgq events;
    atomic_bool stop;
    atomic_uint_fast64_t n_commands, n_events, n_events_dropped, n_datagrams;
    /* Receive buffers for one recvmmsg batch; owned by the worker thread. */
    unsigned char bufs[WORKER_BATCH][WORKER_MTU];
};

struct worker_pool {
    int count;
    void (*notify)(void *arg);
    void *notify_arg;
    struct worker *workers;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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

/* Handles queued commands while there is room for the events they may cause. A command is
 * left in its queue rather than have its answer dropped: the control thread is behind, and
 * *backlog is set so the loop polls again soon instead of sleeping. */
static bool worker_handle_commands(struct worker *w, bool *backlog)
{
    bool emitted = false;
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
        switch (cmd.type) {
        case WORKER_CMD_PING: {
            struct worker_event evt = {.type = WORKER_EVT_PONG,
                                       .worker = (uint32_t)w->index,
                                       .id = cmd.id,
                                       .arg = cmd.arg};
            emitted |= worker_emit(w, &evt);
            break;
        }
        default:
            log_warn("worker", "worker %d: unknown command type %u ignored", w->index, cmd.type);
            break;
        }
    }
    return emitted;
}

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
        if (n < WORKER_BATCH)
            return;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t next_stats = now_ms() + 1000;
    bool backlog = false;
    while (!atomic_load(&w->stop)) {
        uint64_t now = now_ms();
        int timeout = next_stats > now ? (int)(next_stats - now) : 0;
        if (backlog && timeout > 1)
            timeout = 1;
        struct epoll_event evs[4];
        int n = epoll_wait(w->epoll_fd, evs, 4, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("worker", "worker %d: epoll_wait: %s", w->index, strerror(errno));
            break;
        }
        bool emitted = false;
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
        emitted |= worker_handle_commands(w, &backlog);
        if (now_ms() >= next_stats) {
            next_stats += 1000;
            struct worker_event evt = {
                .type = WORKER_EVT_STATS,
                .worker = (uint32_t)w->index,
                .arg = atomic_load_explicit(&w->n_datagrams, memory_order_relaxed)};
            emitted |= worker_emit(w, &evt);
        }
        if (emitted && w->pool->notify)
            w->pool->notify(w->pool->notify_arg);
    }
    return NULL;
}

static int bind_udp(const char *bind_addr, int port, int *port_out)
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
    int size = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
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

static void worker_close(struct worker *w)
{
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
    w->epoll_fd = w->wake_fd = w->udp_fd = -1;
    int err = msgq_init(&w->commands, cap, sizeof(struct worker_cmd));
    if (err == 0)
        err = msgq_init(&w->events, cap, sizeof(struct worker_event));
    if (err != 0)
        return err;
    int port = cfg->port_base ? cfg->port_base + index : 0;
    w->udp_fd = bind_udp(cfg->bind, port, &w->port);
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
}
