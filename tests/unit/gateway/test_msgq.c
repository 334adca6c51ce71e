#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "balie/msgq.h"

struct msg {
    uint64_t seq;
    uint64_t check;
};

Test(msgq, rejects_bad_capacity)
{
    struct msgq q;
    cr_assert_eq(msgq_init(&q, 3, 8), -EINVAL);
    cr_assert_eq(msgq_init(&q, 0, 8), -EINVAL);
    cr_assert_eq(msgq_init(&q, 4, 0), -EINVAL);
}

Test(msgq, fifo_and_full)
{
    struct msgq q;
    cr_assert_eq(msgq_init(&q, 4, sizeof(struct msg)), 0);
    struct msg m = {0};
    for (uint64_t i = 0; i < 4; i++) {
        m.seq = i;
        cr_assert(msgq_push(&q, &m));
    }
    m.seq = 99;
    cr_assert_not(msgq_push(&q, &m), "a full queue must refuse");
    cr_assert_eq(msgq_length(&q), 4);
    for (uint64_t i = 0; i < 4; i++) {
        cr_assert(msgq_pop(&q, &m));
        cr_assert_eq(m.seq, i);
    }
    cr_assert_not(msgq_pop(&q, &m));
    msgq_free(&q);
}

#define MANY 2000000u

static void *producer(void *arg)
{
    struct msgq *q = arg;
    for (uint64_t i = 0; i < MANY; i++) {
        struct msg m = {i, i * 2654435761u};
        while (!msgq_push(q, &m))
            sched_yield();
    }
    return NULL;
}

/* Two threads, millions of messages: every message arrives once, in order, intact. */
Test(msgq, two_threads_keep_order_and_content, .timeout = 60)
{
    struct msgq q;
    cr_assert_eq(msgq_init(&q, 1024, sizeof(struct msg)), 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, &q);
    uint64_t next = 0;
    while (next < MANY) {
        struct msg m;
        if (!msgq_pop(&q, &m)) {
            sched_yield();
            continue;
        }
        cr_assert_eq(m.seq, next, "out of order: got %lu, wanted %lu", (unsigned long)m.seq,
                     (unsigned long)next);
        cr_assert_eq(m.check, m.seq * 2654435761u, "corrupted message %lu", (unsigned long)next);
        next++;
    }
    pthread_join(t, NULL);
    cr_assert_eq(msgq_length(&q), 0);
    msgq_free(&q);
}
