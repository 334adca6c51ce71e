/* The media threads' loop (epoll over the peers' sockets plus a 1 ms tick) and the latency
 * histogram they fill. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loadpeer.h"
#include "peer_internal.h"

#define RECV_BATCH 32

void lp_hist_add(struct lp_hist *h, uint64_t ns)
{
    uint64_t us = ns / 1000;
    size_t i;
    if (us < LP_HIST_FINE)
        i = (size_t)us;
    else if (us < LP_HIST_FINE + (uint64_t)LP_HIST_COARSE * 100)
        i = LP_HIST_FINE + (size_t)((us - LP_HIST_FINE) / 100);
    else
        i = LP_HIST_BUCKETS - 1;
    h->bucket[i]++;
    h->count++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void lp_hist_merge(struct lp_hist *into, const struct lp_hist *from)
{
    for (size_t i = 0; i < LP_HIST_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

double lp_hist_quantile_us(const struct lp_hist *h, double q)
{
    if (h->count == 0)
        return -1;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if (want >= h->count)
        want = h->count - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < LP_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen > want) {
            if (i < LP_HIST_FINE)
                return (double)i + 0.5;
            if (i < LP_HIST_BUCKETS - 1)
                return LP_HIST_FINE + (double)(i - LP_HIST_FINE) * 100.0 + 50.0;
            return (double)h->max_ns / 1000.0;
        }
    }
    return (double)h->max_ns / 1000.0;
}

/* The kernel's receive time of a datagram (SO_TIMESTAMPNS, CLOCK_REALTIME) on the monotonic
 * clock, or now when it is missing. Using the arrival in the socket, not the moment this
 * thread got to it, keeps the load peer's own scheduling delays out of the relay latency. */
static uint64_t arrival_ns(struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            uint64_t rt = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
            return rt - lp_realtime_offset_ns;
        }
    }
    return lp_now_ns();
}

static void drain(struct lp_thread *t, struct lp_peer *p)
{
    static __thread uint8_t bufs[RECV_BATCH][LP_PKT_MAX + 64];
    static __thread uint8_t ctl[RECV_BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];
    struct iovec iov[RECV_BATCH];
    struct mmsghdr msgs[RECV_BATCH];
    for (;;) {
        for (unsigned i = 0; i < RECV_BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof(bufs[i])};
            msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
                                              .msg_iovlen = 1,
                                              .msg_control = ctl[i],
                                              .msg_controllen = sizeof(ctl[i])};
        }
        int n = recvmmsg(p->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            lp_peer_input(t, p, bufs[i], msgs[i].msg_len, arrival_ns(&msgs[i].msg_hdr));
        if (n < RECV_BATCH)
            return;
    }
}

/* One round per --pace-ms: sleep to the tick, read every socket that has something (the
 * kernel stamped each datagram's arrival, so reading late does not change what is measured),
 * then send what is due. Reading in rounds instead of waking for each datagram keeps the load
 * peer's own cost per packet low, so that on a shared machine the server, not the load peer,
 * is what runs out of CPU. */
static void *thread_main(void *arg)
{
    struct lp_thread *t = arg;
    struct epoll_event ev[128];
    uint64_t tick_ns = (uint64_t)t->run->opt.pace_ms * 1000000u;
    uint64_t next = lp_now_ns();
    while (!atomic_load(&t->run->quit)) {
        uint64_t now = lp_now_ns();
        if (next > now) {
            struct timespec ts = {.tv_sec = (time_t)((next - now) / 1000000000u),
                                  .tv_nsec = (long)((next - now) % 1000000000u)};
            nanosleep(&ts, NULL);
        }
        int n;
        do {
            n = epoll_wait(t->epfd, ev, 128, 0);
            for (int i = 0; i < n; i++)
                drain(t, ev[i].data.ptr);
        } while (n == 128);
        now = lp_now_ns();
        for (size_t i = 0; i < t->npeers; i++)
            lp_peer_tick(t, t->peers[i], now);
        next += tick_ns;
        if (next < now) /* behind by more than a tick: do not try to catch up in a burst */
            next = now + tick_ns;
    }
    return NULL;
}

int lp_threads_start(struct lp_run *r)
{
    unsigned nt = r->opt.threads ? r->opt.threads : 1;
    r->threads = calloc(nt, sizeof(*r->threads));
    if (!r->threads)
        return -1;
    for (unsigned i = 0; i < nt; i++) {
        struct lp_thread *t = &r->threads[i];
        t->run = r;
        t->index = i;
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        t->peers = calloc(2 * (r->ncalls / nt + 1), sizeof(*t->peers));
        if (t->epfd < 0 || !t->peers)
            return -1;
    }
    for (unsigned c = 0; c < r->ncalls; c++) {
        struct lp_thread *t = &r->threads[c % nt];
        for (int k = 0; k < 2; k++) {
            struct lp_peer *p = &r->calls[c].peer[k];
            p->thread = t->index;
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
            if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, p->fd, &ev) != 0)
                return -1;
            t->peers[t->npeers++] = p;
        }
    }
    for (unsigned i = 0; i < nt; i++)
        if (pthread_create(&r->threads[i].tid, NULL, thread_main, &r->threads[i]) != 0)
            return -1;
    return 0;
}

void lp_threads_join(struct lp_run *r)
{
    unsigned nt = r->opt.threads ? r->opt.threads : 1;
    atomic_store(&r->quit, 1);
    for (unsigned i = 0; i < nt; i++) {
        pthread_join(r->threads[i].tid, NULL);
        close(r->threads[i].epfd);
        free(r->threads[i].peers);
    }
}

void lp_threads_hist(struct lp_run *r, struct lp_hist *out)
{
    unsigned nt = r->opt.threads ? r->opt.threads : 1;
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < nt; i++)
        lp_hist_merge(out, &r->threads[i].hist);
}
