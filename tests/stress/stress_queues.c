/* A stress run of the only memory two threads share: the SPSC rings between the control thread
 * and the media workers. Built without Criterion so it can run under ThreadSanitizer (whose
 * memory layout Criterion's shared arena does not survive). Exits non-zero on any failure and
 * prints the plain closing line. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>

#include "balie/msgq.h"
#include "balie/worker.h"

#define MESSAGES 500000u

struct msg {
    uint64_t seq, check;
};

static void *producer(void *arg)
{
    struct msgq *q = arg;
    for (uint64_t i = 0; i < MESSAGES; i++) {
        struct msg m = {i, ~i};
        while (!msgq_push(q, &m))
            sched_yield();
    }
    return NULL;
}

static int stress_msgq(void)
{
    struct msgq q;
    if (msgq_init(&q, 64, sizeof(struct msg)) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, producer, &q);
    uint64_t next = 0;
    int bad = 0;
    while (next < MESSAGES) {
        struct msg m;
        if (!msgq_pop(&q, &m)) {
            sched_yield();
            continue;
        }
        bad |= m.seq != next || m.check != ~next;
        next++;
    }
    pthread_join(t, NULL);
    msgq_free(&q);
    return bad;
}

struct counts {
    uint64_t pongs[2];
    int bad;
};

static void on_event(const struct worker_event *e, void *arg)
{
    struct counts *c = arg;
    if (e->type != WORKER_EVT_PONG)
        return;
    c->bad |= e->arg != c->pongs[e->worker];
    c->pongs[e->worker]++;
}

static int stress_workers(void)
{
    struct worker_pool *pool;
    struct worker_pool_config cfg = {.count = 2, .bind = "127.0.0.1", .queue_capacity = 64};
    if (worker_pool_start(&pool, &cfg) != 0)
        return 1;
    struct counts c = {{0, 0}, 0};
    uint64_t sent[2] = {0, 0};
    const uint64_t total = MESSAGES / 5;
    while (c.pongs[0] < total || c.pongs[1] < total) {
        for (int w = 0; w < 2; w++) {
            while (sent[w] < total) {
                struct worker_cmd cmd = {.type = WORKER_CMD_PING, .arg = sent[w]};
                if (worker_send(pool, w, &cmd) == -EAGAIN)
                    break;
                sent[w]++;
            }
        }
        if (worker_pool_drain(pool, on_event, &c) == 0)
            sched_yield();
    }
    worker_pool_stop(pool);
    return c.bad;
}

int main(void)
{
    int failed = 0;
    int r = stress_msgq();
    printf("msgq: two threads, %u messages: %s\n", MESSAGES, r ? "FAILED" : "ok");
    failed += r != 0;
    r = stress_workers();
    printf("workers: two workers, ping/pong both ways: %s\n", r ? "FAILED" : "ok");
    failed += r != 0;
    printf("%d passed, %d failed\n", 2 - failed, failed);
    return failed != 0;
}
