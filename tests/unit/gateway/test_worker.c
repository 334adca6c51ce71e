#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "balie/worker.h"

struct collector {
    atomic_uint notified;
    uint64_t pongs[4];
    uint64_t next_arg[4];
    bool in_order;
    uint64_t stats;
};

static void notify(void *arg)
{
    struct collector *c = arg;
    atomic_fetch_add(&c->notified, 1);
}

static void on_event(const struct worker_event *evt, void *arg)
{
    struct collector *c = arg;
    if (evt->type == WORKER_EVT_PONG) {
        if (evt->arg != c->next_arg[evt->worker] || evt->id != evt->worker)
            c->in_order = false;
        c->next_arg[evt->worker]++;
        c->pongs[evt->worker]++;
    } else if (evt->type == WORKER_EVT_STATS) {
        c->stats++;
    }
}

Test(worker, rejects_bad_config)
{
    struct worker_pool *pool = NULL;
    struct worker_pool_config cfg = {.count = 0, .bind = "127.0.0.1"};
    cr_assert_eq(worker_pool_start(&pool, &cfg), -EINVAL);
    cfg.count = 1;
    cfg.bind = "not-an-address";
    cr_assert_eq(worker_pool_start(&pool, &cfg), -EINVAL);
    cr_assert_null(pool);
}

Test(worker, port_in_use_fails_cleanly)
{
    struct worker_pool *a = NULL, *b = NULL;
    struct worker_pool_config cfg = {.count = 1, .bind = "127.0.0.1", .port_base = 0};
    cr_assert_eq(worker_pool_start(&a, &cfg), 0);
    cfg.port_base = worker_pool_port(a, 0);
    cr_assert_eq(worker_pool_start(&b, &cfg), -EADDRINUSE);
    cr_assert_null(b);
    worker_pool_stop(a);
}

/* Many commands to two workers while the control side drains events: every ping is answered
 * once, in order per worker, and the notify callback fired. */
Test(worker, many_commands_and_events_both_ways, .timeout = 60)
{
    struct collector c = {.in_order = true};
    struct worker_pool *pool = NULL;
    struct worker_pool_config cfg = {
        .count = 2, .bind = "127.0.0.1", .queue_capacity = 256, .notify = notify, .notify_arg = &c};
    cr_assert_eq(worker_pool_start(&pool, &cfg), 0);
    const uint64_t per_worker = 200000;
    uint64_t sent[2] = {0, 0};
    while (c.pongs[0] < per_worker || c.pongs[1] < per_worker) {
        for (int w = 0; w < 2; w++) {
            while (sent[w] < per_worker) {
                struct worker_cmd cmd = {
                    .type = WORKER_CMD_PING, .id = (uint64_t)w, .arg = sent[w]};
                if (worker_send(pool, w, &cmd) == -EAGAIN)
                    break;
                sent[w]++;
            }
        }
        worker_pool_drain(pool, on_event, &c);
    }
    cr_assert(c.in_order, "pongs arrived out of order or with the wrong worker id");
    cr_assert_eq(c.pongs[0], per_worker);
    cr_assert_eq(c.pongs[1], per_worker);
    cr_assert_gt(atomic_load(&c.notified), 0);
    struct worker_totals t;
    worker_pool_totals(pool, 0, &t);
    cr_assert_eq(t.commands, per_worker);
    /* Only the once-a-second stats event may be dropped when the control side is behind;
     * every command's answer arrived (in_order above), so drops are at most one a second. */
    cr_assert_leq(t.events_dropped, 60, "%lu events dropped", (unsigned long)t.events_dropped);
    struct worker_cmd bad = {.type = WORKER_CMD_PING};
    cr_assert_eq(worker_send(pool, 2, &bad), -EINVAL);
    worker_pool_stop(pool);
}

Test(worker, counts_datagrams_and_reports_stats, .timeout = 30)
{
    struct collector c = {.in_order = true};
    struct worker_pool *pool = NULL;
    struct worker_pool_config cfg = {
        .count = 1, .bind = "127.0.0.1", .notify = notify, .notify_arg = &c};
    cr_assert_eq(worker_pool_start(&pool, &cfg), 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)worker_pool_port(pool, 0))};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
    close(fd);
    struct worker_totals t = {0};
    for (int i = 0; i < 300 && (t.datagrams < 100 || c.stats == 0); i++) {
        usleep(10000);
        worker_pool_drain(pool, on_event, &c);
        worker_pool_totals(pool, 0, &t);
    }
    cr_assert_eq(t.datagrams, 100);
    cr_assert_gt(c.stats, 0, "a stats event comes every second");
    worker_pool_stop(pool);
}
