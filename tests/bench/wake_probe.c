/* balie-wake-probe: what a wake-up costs on this machine, the floor under the relay latency.
 *
 * One thread sends a datagram carrying its send time (CLOCK_MONOTONIC) every 2 ms over
 * loopback; another reads it, either sleeping in epoll_wait as a media worker does between
 * packets, or spinning on a non-blocking recv. The difference between the two is the price of
 * waking a sleeping thread; the spinning figure is the price of the send and the receive.
 *
 *   balie-wake-probe [COUNT]      (default 3000 datagrams per way) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct probe {
    int rx, tx;
    bool spin;
    size_t count;
    uint64_t *delay_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *receiver(void *arg)
{
    struct probe *p = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p->rx, &ev) != 0)
        return NULL;
    for (size_t i = 0; i < p->count; i++) {
        uint64_t sent;
        if (!p->spin)
            (void)epoll_wait(ep, &ev, 1, -1);
        while (recv(p->rx, &sent, sizeof(sent), MSG_DONTWAIT) != (ssize_t)sizeof(sent))
            ;
        p->delay_ns[i] = now_ns() - sent;
    }
    close(ep);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run(struct probe *p, const struct sockaddr_in *to)
{
    pthread_t th;
    if (pthread_create(&th, NULL, receiver, p) != 0)
        return -1;
    usleep(10000);
    for (size_t i = 0; i < p->count; i++) {
        uint64_t t = now_ns();
        if (sendto(p->tx, &t, sizeof(t), 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
            return -1;
        usleep(2000);
    }
    pthread_join(th, NULL);
    qsort(p->delay_ns, p->count, sizeof(uint64_t), by_value);
    printf("%-11s send → receive µs: p50 %6.1f  p90 %6.1f  p99 %6.1f\n",
           p->spin ? "spinning" : "epoll_wait", (double)p->delay_ns[p->count / 2] / 1e3,
           (double)p->delay_ns[p->count * 9 / 10] / 1e3,
           (double)p->delay_ns[p->count * 99 / 100] / 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    struct probe p = {.count = argc > 1 ? (size_t)atol(argv[1]) : 3000};
    if (p.count < 100 || p.count > 1000000) {
        fprintf(stderr, "usage: balie-wake-probe [COUNT 100..1000000]\n");
        return 2;
    }
    p.delay_ns = calloc(p.count, sizeof(uint64_t));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    p.rx = socket(AF_INET, SOCK_DGRAM, 0);
    p.tx = socket(AF_INET, SOCK_DGRAM, 0);
    if (!p.delay_ns || p.rx < 0 || p.tx < 0 || bind(p.rx, (struct sockaddr *)&addr, len) != 0 ||
        getsockname(p.rx, (struct sockaddr *)&addr, &len) != 0) {
        perror("balie-wake-probe");
        return 1;
    }
    int rc = 0;
    for (int spin = 0; spin <= 1 && rc == 0; spin++) {
        p.spin = spin;
        rc = run(&p, &addr);
    }
    free(p.delay_ns);
    close(p.rx);
    close(p.tx);
    return rc == 0 ? 0 : 1;
}
