/* A stress run of the HTTP client's hand-over between the control thread and its worker:
 * rounds of requests against a local server, some cancelled at random moments (also while they
 * finish), and clients freed with requests in flight. Built without Criterion so that it runs
 * under ThreadSanitizer. Exits non-zero on any failure and prints the plain closing line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balie/httpc.h"

#define ROUNDS 20
#define PER_ROUND 48

static int listen_fd;
static unsigned port;
static atomic_bool stopping;

static void *server(void *unused)
{
    char buf[4096];
    static const char reply[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    while (!atomic_load(&stopping)) {
        struct pollfd p = {.fd = listen_fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            if (strstr(buf, "GET /slow"))
                usleep(20 * 1000);
            (void)send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
        }
        close(fd);
    }
    return NULL;
}

struct slot {
    int calls;
    long status;
    bool cancelled;
};

static void on_done(void *arg, const struct httpc_response *resp)
{
    struct slot *s = arg;
    s->calls++;
    s->status = resp->status;
}

static void on_wake(void *arg)
{
    uint64_t one = 1;
    if (write(*(int *)arg, &one, sizeof(one)) != (ssize_t)sizeof(one))
        abort();
}

/* One client: submits, cancels every third request at a varying moment, collects. */
static int round_trip(int efd, unsigned seed, bool free_early)
{
    struct httpc *hc = httpc_new(on_wake, &efd);
    if (!hc)
        return 1;
    struct slot slots[PER_ROUND] = {0};
    long ids[PER_ROUND];
    char url[64];
    for (int i = 0; i < PER_ROUND; i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/%s", port, i % 5 ? "fast" : "slow");
        struct httpc_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
        ids[i] = httpc_submit(hc, &req, on_done, &slots[i]);
        if (ids[i] < 0)
            return 1;
        seed = seed * 1103515245u + 12345u;
        if (seed % 3 == 0) {
            usleep(seed % 2000);
            httpc_cancel(hc, ids[i]);
            slots[i].cancelled = true;
        }
    }
    int bad = 0, done = 0, wanted = 0;
    for (int i = 0; i < PER_ROUND; i++)
        wanted += !slots[i].cancelled;
    for (int spins = 0; !free_early && done < wanted && spins < 1000; spins++) {
        struct pollfd p = {.fd = efd, .events = POLLIN};
        uint64_t n;
        if (poll(&p, 1, 20) > 0 && read(efd, &n, sizeof(n)) != (ssize_t)sizeof(n))
            bad = 1;
        done += (int)httpc_poll(hc);
    }
    httpc_free(hc);
    for (int i = 0; i < PER_ROUND; i++) {
        if (slots[i].cancelled || free_early)
            bad |= slots[i].calls != 0;
        else
            bad |= slots[i].calls != 1 || slots[i].status != 200;
    }
    return bad;
}

int main(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(listen_fd, 256) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return 1;
    port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, server, NULL);
    int efd = eventfd(0, EFD_CLOEXEC), bad = 0;
    for (unsigned r = 0; r < ROUNDS && efd >= 0; r++)
        bad |= round_trip(efd, r * 7919u + 1, r % 4 == 3);
    atomic_store(&stopping, true);
    pthread_join(t, NULL);
    close(listen_fd);
    close(efd);
    printf("stress_httpc: %d rounds of %d requests: %s\n", ROUNDS, PER_ROUND, bad ? "FAIL" : "ok");
    return bad || efd < 0;
}
